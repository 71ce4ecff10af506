#include "tsr_log.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "tsr_text.h"

static pthread_mutex_t log__lock = PTHREAD_MUTEX_INITIALIZER;
static char log__component[64] = "tessera";
static tsr_log_level_t log__threshold = TSR_LOG_INFO;

static const char *const log__names[] = {"debug", "info", "warn", "error"};

int tsr_log_open(const char *component, const char *level)
{
    snprintf(log__component, sizeof(log__component), "%s", component);
    if (level == NULL)
        return 0;
    for (int i = 0; i < 4; i++) {
        if (strcmp(level, log__names[i]) == 0) {
            log__threshold = (tsr_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

void tsr_log_new_trace_id(char *buf)
{
    unsigned char raw[16];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(buf, 33, raw, sizeof(raw));
}

void tsr_log_write(tsr_log_level_t level, const char *trace_id, const char *fmt, ...)
{
    if (level < log__threshold)
        return;
    char message[2048];
    va_list ap;
    va_start(ap, fmt);
    int full = vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    /* Cut to fit, perhaps inside a character: dropped, so the rest of the message is logged rather
     * than the not-valid-UTF-8 placeholder. */
    if (full >= (int)sizeof(message))
        tsr_text_utf8_clean(message);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    char ts[TSR_TEXT_UTC_MS_LEN + 1];
    tsr_text_utc_ms((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000, ts);

    json_t *line = json_object();
    json_object_set_new(line, "ts", json_string(ts));
    json_object_set_new(line, "level", json_string(log__names[level]));
    json_object_set_new(line, "daemon", json_string(log__component));
    if (trace_id != NULL && *trace_id != '\0')
        json_object_set_new(line, "trace_id", json_string(trace_id));
    /* Messages can carry bytes from outside (a bad request): json_stringn_nocheck would emit invalid
     * UTF-8, so invalid input is logged as a placeholder instead. */
    json_t *msg = json_string(message);
    json_object_set_new(line, "msg", msg ? msg : json_string("(message was not valid UTF-8)"));
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (text == NULL)
        return;
    pthread_mutex_lock(&log__lock);
    fputs(text, stderr);
    fputc('\n', stderr);
    fflush(stderr);
    pthread_mutex_unlock(&log__lock);
    free(text);
}
