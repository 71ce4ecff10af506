/* tessera-spine-poller: brings CP-IS access notifications from the spool directory where the Spine
 * connection leaves them (*.json batch files, docs/cpis-feed.md) to the gateway, on a schedule.
 *
 *   tessera-spine-poller --config FILE [--once]
 *
 * Each file is posted in parts of batch_size notifications, signed in as a service account (role
 * cpis-service). A file leaves the spool for done/ only once the gateway has acknowledged every
 * part; parts that failed (gateway down, refused) stay in the spool file, rewritten atomically
 * with only them, for the next run. Killed at any moment, nothing is lost: the spool file is
 * replaced only by rename, and a part posted twice is harmless because cpis drops a notification
 * whose id it already has. Notifications cpis judged faulty are acknowledged too (they are in its
 * error queue, for system support): posting them again would change nothing.
 *
 * A file that is not a batch (not JSON, no list of notifications) goes to rejected/ with a
 * <name>.error beside it saying why: it would fail the same way on every run, and kept in the
 * spool it would hide among the files still to send. Fixed, it can be put back in the spool.
 *
 * The national service's responses to the council's plan upload files ({"file_sequence_number",
 * "status": "CPF..", "records": [...]}) come through the same spool: each is posted to
 * /api/v1/cpis/uploads/{n}/response, to done/ once read (or read before), to rejected/ when the
 * gateway refuses it as it stands. */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tsr_config.h"
#include "tsr_error.h"

#define POLLER_FILES_MAX 4096

typedef struct {
    const char *spool_dir;
    const char *gateway_url;
    const char *username;
    char *password;
    long interval_minutes;
    long batch_size;
    long timeout_s;
    char *token;
    CURL *curl;
} poller_t;

static volatile sig_atomic_t poller_stopping;

static void poller__on_signal(int sig)
{
    (void)sig;
    poller_stopping = 1;
}

static void poller__log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void poller__log(const char *level, const char *fmt, ...)
{
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(stderr, "%s tessera-spine-poller %s: ", when, level);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ------------------------------------------------------------------------------------------------
 * Files: written whole to a temporary name, synced, then renamed over (all or nothing)
 * ---------------------------------------------------------------------------------------------- */

static int poller__write_atomic(const char *dir, const char *name, const char *text)
{
    char tmp[4096], path[4096];
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return -1;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    /* The rename itself survives a crash once the directory is synced. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* A name in dir not yet taken: name, else name.1, name.2, ... */
static void poller__free_name(const char *dir, const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s", name);
    struct stat st;
    char path[4096];
    for (int i = 1; i < 10000; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, out);
        if (stat(path, &st) != 0)
            return;
        snprintf(out, size, "%s.%d", name, i);
    }
}

static int poller__move(const poller_t *p, const char *name, const char *to)
{
    char dir[4096], target[1024], from[4096], dest[8192];
    snprintf(dir, sizeof(dir), "%s/%s", p->spool_dir, to);
    poller__free_name(dir, name, target, sizeof(target));
    snprintf(from, sizeof(from), "%s/%s", p->spool_dir, name);
    snprintf(dest, sizeof(dest), "%s/%s", dir, target);
    if (rename(from, dest) != 0) {
        poller__log("error", "could not move %s to %s: %s", from, dest, strerror(errno));
        return -1;
    }
    return 0;
}

static void poller__reject(const poller_t *p, const char *name, const char *why)
{
    poller__log("error", "%s/%s is not a CP-IS batch and was moved to rejected/: %s", p->spool_dir, name,
                why);
    char dir[4096], target[1024], note[1100];
    snprintf(dir, sizeof(dir), "%s/rejected", p->spool_dir);
    poller__free_name(dir, name, target, sizeof(target));
    snprintf(note, sizeof(note), "%s.error", target);
    char text[1200];
    snprintf(text, sizeof(text), "%s: %s\n", name, why);
    poller__write_atomic(dir, note, text);
    char from[4096], dest[8192];
    snprintf(from, sizeof(from), "%s/%s", p->spool_dir, name);
    snprintf(dest, sizeof(dest), "%s/%s", dir, target);
    if (rename(from, dest) != 0)
        poller__log("error", "could not move %s to %s: %s", from, dest, strerror(errno));
}

/* ------------------------------------------------------------------------------------------------
 * The gateway
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len;
} poller_buf_t;

static size_t poller__collect(char *ptr, size_t size, size_t nmemb, void *arg)
{
    poller_buf_t *b = arg;
    size_t n = size * nmemb;
    char *grown = realloc(b->data, b->len + n + 1);
    if (grown == NULL)
        return 0;
    b->data = grown;
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* One HTTP call; *status 0 when the gateway could not be reached. The reply body in *reply. */
static void poller__http(poller_t *p, const char *method, const char *path, const char *body, long *status,
                         json_t **reply)
{
    char url[2048], auth[600];
    snprintf(url, sizeof(url), "%s%s", p->gateway_url, path);
    poller_buf_t b = {0};
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (p->token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", p->token);
        headers = curl_slist_append(headers, auth);
    }
    curl_easy_reset(p->curl);
    curl_easy_setopt(p->curl, CURLOPT_URL, url);
    curl_easy_setopt(p->curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(p->curl, CURLOPT_WRITEFUNCTION, poller__collect);
    curl_easy_setopt(p->curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(p->curl, CURLOPT_TIMEOUT, p->timeout_s);
    curl_easy_setopt(p->curl, CURLOPT_NOSIGNAL, 1L);
    *status = 0;
    *reply = NULL;
    CURLcode rc = curl_easy_perform(p->curl);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, status);
        *reply = b.data ? json_loads(b.data, 0, NULL) : NULL;
    } else {
        poller__log("warn", "%s %s: %s", method, url, curl_easy_strerror(rc));
    }
    curl_slist_free_all(headers);
    free(b.data);
}

static const char *poller__error_message(const json_t *reply)
{
    const char *m = json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
    return m ? m : "no reason given";
}

static int poller__sign_in(poller_t *p)
{
    free(p->token);
    p->token = NULL;
    json_t *body = json_pack("{s:s, s:s}", "username", p->username, "password", p->password);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    long status;
    json_t *reply;
    poller__http(p, "POST", "/api/v1/session", text, &status, &reply);
    free(text);
    const char *token = json_string_value(json_object_get(reply, "token"));
    if (status == 201 && token)
        p->token = strdup(token);
    else if (status != 0)
        poller__log("error", "signing in to %s as %s failed (%ld): %s", p->gateway_url, p->username, status,
                    poller__error_message(reply));
    json_decref(reply);
    return p->token ? 0 : -1;
}

/* Posts one part; 0 when the gateway acknowledged it (every notification accepted, dropped as a
 * duplicate, or queued as an error), -1 to keep it for the next run. */
static int poller__post(poller_t *p, const char *name, json_t *part)
{
    json_t *body = json_pack("{s:O}", "notifications", part);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    int rc = -1;
    for (int attempt = 0; attempt < 2 && rc != 0; attempt++) {
        if (p->token == NULL && poller__sign_in(p) != 0)
            break;
        long status;
        json_t *reply;
        poller__http(p, "POST", "/api/v1/cpis/notifications", text, &status, &reply);
        if (status == 200) {
            json_t *errors = json_object_get(reply, "errors");
            poller__log(
                "info", "%s: %zu notifications sent: %lld accepted, %lld duplicates, %zu errors", name,
                json_array_size(part), (long long)json_integer_value(json_object_get(reply, "accepted")),
                (long long)json_integer_value(json_object_get(reply, "duplicates")), json_array_size(errors));
            size_t i;
            json_t *e;
            json_array_foreach(errors, i, e)
            {
                poller__log("warn", "%s: notification %s went to the CP-IS error queue: %s", name,
                            json_string_value(json_object_get(e, "notification_id")),
                            json_string_value(json_object_get(e, "reason")));
            }
            rc = 0;
        } else if (status == 401) {
            /* The session ended (expired, or the gateway was restarted without it): sign in again. */
            free(p->token);
            p->token = NULL;
        } else {
            if (status != 0)
                poller__log("error",
                            "%s: the gateway refused %zu notifications (%ld): %s; kept for the next run",
                            name, json_array_size(part), status, poller__error_message(reply));
            json_decref(reply);
            break;
        }
        json_decref(reply);
    }
    free(text);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * One spool file
 * ---------------------------------------------------------------------------------------------- */

/* A response of the national service to one of the council's plan upload files: read back by the
 * cpis daemon once. 0 when it was (now or before: moved to done/) or cannot be (moved to rejected/
 * with the reason), -1 when it waits for the next run. */
static int poller__response(poller_t *p, const char *name, json_t *root)
{
    json_t *seq = json_object_get(root, "file_sequence_number");
    if (!json_is_integer(seq) || json_integer_value(seq) < 1) {
        poller__reject(p, name, "a CP-IS response whose file_sequence_number is not a file's number");
        return 0;
    }
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/cpis/uploads/%" JSON_INTEGER_FORMAT "/response",
             json_integer_value(seq));
    char *text = json_dumps(root, JSON_COMPACT);
    int rc = -1;
    for (int attempt = 0; attempt < 2 && text != NULL; attempt++) {
        if (p->token == NULL && poller__sign_in(p) != 0)
            break;
        long status;
        json_t *reply;
        poller__http(p, "POST", path, text, &status, &reply);
        const char *code = json_string_value(json_object_get(json_object_get(reply, "error"), "code"));
        if (status == 401) {
            free(p->token);
            p->token = NULL;
            json_decref(reply);
            continue;
        }
        if (status == 200 || (status == 409 && code && strcmp(code, "already_read") == 0)) {
            if (status == 200)
                poller__log("info",
                            "%s: the response to upload file %" JSON_INTEGER_FORMAT
                            " was read: %s; %lld records "
                            "loaded, %lld failed",
                            name, json_integer_value(seq),
                            json_string_value(json_object_get(reply, "status_meaning")),
                            (long long)json_integer_value(json_object_get(reply, "records_loaded")),
                            (long long)json_integer_value(json_object_get(reply, "records_failed")));
            else
                poller__log("info",
                            "%s: the response to upload file %" JSON_INTEGER_FORMAT " was read before", name,
                            json_integer_value(seq));
            rc = poller__move(p, name, "done") == 0 ? 0 : -1;
        } else if (status == 400 || status == 404) {
            /* It would be refused the same way on every run. */
            char why[600];
            snprintf(why, sizeof(why), "the gateway refused the response (%ld): %s", status,
                     poller__error_message(reply));
            poller__reject(p, name, why);
            rc = 0;
        } else if (status != 0) {
            poller__log("error", "%s: the gateway refused the response (%ld): %s; kept for the next run",
                        name, status, poller__error_message(reply));
        }
        json_decref(reply);
        break;
    }
    free(text);
    return rc;
}

/* 0 when the whole file was acknowledged (and moved to done/), -1 when some is kept for later. */
static int poller__file(poller_t *p, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", p->spool_dir, name);
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        char why[400];
        snprintf(why, sizeof(why), "not JSON (line %d, column %d: %s)", jerr.line, jerr.column, jerr.text);
        poller__reject(p, name, why);
        return 0;
    }
    /* The national service's response to an upload file comes through the same spool. */
    if (json_is_object(root) && json_object_get(root, "status") != NULL &&
        json_object_get(root, "notifications") == NULL) {
        int rc = poller__response(p, name, root);
        json_decref(root);
        return rc;
    }
    json_t *list = json_is_array(root) ? root : json_object_get(root, "notifications");
    if (!json_is_array(list)) {
        json_decref(root);
        poller__reject(p, name,
                       "neither a list of notifications nor an object with a \"notifications\" list");
        return 0;
    }
    json_t *kept = json_array();
    size_t n = json_array_size(list), sent = 0;
    int reachable = 1;
    for (size_t at = 0; at < n && !poller_stopping; at += (size_t)p->batch_size) {
        json_t *part = json_array();
        for (size_t i = at; i < n && i < at + (size_t)p->batch_size; i++)
            json_array_append(part, json_array_get(list, i));
        if (!reachable || poller__post(p, name, part) != 0) {
            /* Once the gateway fails, the rest of the file waits for the next run too. */
            reachable = 0;
            json_array_extend(kept, part);
        } else {
            sent += json_array_size(part);
        }
        json_decref(part);
    }
    /* Stopped part-way: what was not sent stays. */
    for (size_t i = sent + json_array_size(kept); i < n; i++)
        json_array_append(kept, json_array_get(list, i));
    int rc = 0;
    if (json_array_size(kept) == 0) {
        if (poller__move(p, name, "done") != 0)
            rc = -1;
        else
            poller__log("info", "%s: all %zu notifications acknowledged; moved to done/", name, n);
    } else if (sent == 0) {
        rc = -1; /* nothing changed: the file stays as it is */
    } else {
        /* Partly sent: the file keeps only what is still to send (replaced by rename, so a crash
         * leaves either the old file, sent again harmlessly, or the new one). */
        json_t *rest = json_pack("{s:O}", "notifications", kept);
        char *text = json_dumps(rest, JSON_COMPACT);
        json_decref(rest);
        if (text == NULL || poller__write_atomic(p->spool_dir, name, text) != 0)
            poller__log("error", "%s: could not rewrite it with the %zu notifications still to send: %s",
                        name, json_array_size(kept), strerror(errno));
        else
            poller__log("warn", "%s: %zu of %zu notifications kept for the next run", name,
                        json_array_size(kept), n);
        free(text);
        rc = -1;
    }
    json_decref(kept);
    json_decref(root);
    return rc;
}

static int poller__compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One pass over the spool, oldest name first; 0 when every file was sent whole. */
static int poller__run_once(poller_t *p)
{
    DIR *d = opendir(p->spool_dir);
    if (d == NULL) {
        poller__log("error", "cannot read the spool directory %s: %s", p->spool_dir, strerror(errno));
        return -1;
    }
    char *names[POLLER_FILES_MAX] = {0};
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < POLLER_FILES_MAX) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] != '.' && len > 5 && strcmp(e->d_name + len - 5, ".json") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), poller__compare);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (!poller_stopping && poller__file(p, names[i]) != 0)
            rc = -1;
        free(names[i]);
    }
    return poller_stopping ? -1 : rc;
}

static int poller__mkdirs(const poller_t *p)
{
    const char *subs[2] = {"done", "rejected"};
    char path[4096];
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", p->spool_dir, subs[i]);
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            poller__log("error", "cannot create %s: %s", path, strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* The password from the configuration, or from the file password_file names (kept out of the
 * main configuration, readable by the poller's user only). */
static char *poller__password(const tsr_config_t *config, tsr_error_t *err)
{
    const char *file = tsr_config_get(config, "spine_poller.password_file", NULL);
    if (file == NULL) {
        const char *pw = tsr_config_require(config, "spine_poller.password", err);
        return pw ? strdup(pw) : NULL;
    }
    FILE *f = fopen(file, "r");
    char buf[512] = "";
    if (f == NULL || fgets(buf, sizeof(buf), f) == NULL) {
        tsr_error_set(err, TSR_E_INVALID, "bad_config", "spine_poller.password_file",
                      "spine_poller.password_file %s cannot be read: %s", file,
                      f ? "it is empty" : strerror(errno));
        if (f)
            fclose(f);
        return NULL;
    }
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    return strdup(buf);
}

int main(int argc, char **argv)
{
    const char *config_path = getenv("TESSERA_CONFIG");
    int once = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--once") == 0)
            once = 1;
        else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config_path = argv[++i];
        else {
            fprintf(stderr, "usage: tessera-spine-poller --config FILE [--once]\n");
            return 2;
        }
    }
    if (config_path == NULL) {
        fprintf(stderr,
                "tessera-spine-poller: give the configuration file with --config FILE (or TESSERA_CONFIG)\n");
        return 2;
    }
    tsr_error_t err;
    tsr_config_t *config = tsr_config_load(config_path, &err);
    if (config == NULL) {
        fprintf(stderr, "tessera-spine-poller: %s\n", err.message);
        return 2;
    }
    poller_t p = {0};
    int rc = 2;
    p.spool_dir = tsr_config_require(config, "spine_poller.spool_dir", &err);
    p.gateway_url = p.spool_dir ? tsr_config_require(config, "spine_poller.gateway_url", &err) : NULL;
    p.username = p.gateway_url ? tsr_config_require(config, "spine_poller.username", &err) : NULL;
    p.password = p.username ? poller__password(config, &err) : NULL;
    if (p.password == NULL ||
        tsr_config_get_long(config, "spine_poller.interval_minutes", 360, 1, 1440, &p.interval_minutes,
                            &err) != 0 ||
        tsr_config_get_long(config, "spine_poller.batch_size", 500, 1, 5000, &p.batch_size, &err) != 0 ||
        tsr_config_get_long(config, "spine_poller.timeout_s", 120, 1, 3600, &p.timeout_s, &err) != 0) {
        fprintf(stderr, "tessera-spine-poller: %s\n", err.message);
        goto done;
    }
    if (poller__mkdirs(&p) != 0)
        goto done;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    p.curl = curl_easy_init();
    struct sigaction sa = {0};
    sa.sa_handler = poller__on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (once) {
        rc = poller__run_once(&p) == 0 ? 0 : 1;
    } else {
        poller__log("info", "polling %s every %ld minutes", p.spool_dir, p.interval_minutes);
        while (!poller_stopping) {
            poller__run_once(&p);
            for (long s = 0; s < p.interval_minutes * 60 && !poller_stopping; s++)
                sleep(1);
        }
        rc = 0;
    }
    curl_easy_cleanup(p.curl);
    curl_global_cleanup();
done:
    free(p.token);
    free(p.password);
    tsr_config_destroy(&config);
    return rc;
}
