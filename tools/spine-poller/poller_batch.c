/* A spool file's text: where each notification is, and the stand-in for what cannot be read. */
#include "poller_batch.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsr_json.h"
#include "tsr_text.h"

void poller_batch_spans_free(poller_spans_t *s)
{
    for (size_t k = 0; s->standins != NULL && k < s->n; k++)
        free(s->standins[k]);
    free(s->standins);
    free(s->starts);
    free(s->ends);
    memset(s, 0, sizeof(*s));
}

char *poller_batch_standin(const char *scope, const char *file, const char *fault, const char *text,
                           size_t len)
{
    char *shown = tsr_text_utf8_repair(text, len, POLLER_SHOWN_MAX);
    char *fault_shown = tsr_text_utf8_repair(fault, strlen(fault), POLLER_SHOWN_MAX);
    char *file_shown = tsr_text_utf8_repair(file, strlen(file), 1000);
    json_t *out = shown && fault_shown && file_shown
                      ? json_pack("{s:{s:s, s:s, s:s, s:s}}", "tessera_unreadable", "scope", scope, "file",
                                  file_shown, "fault", fault_shown, "text", shown)
                      : NULL;
    if (out != NULL && strcmp(scope, "notification") == 0) {
        /* Read as it is (too large, or a member given twice), else with its bad bytes replaced. */
        json_t *read = json_loadb(text, len, JSON_DECODE_ANY, NULL);
        if (read == NULL) {
            char *whole = tsr_text_utf8_repair(text, len, len * 3);
            read = whole ? json_loads(whole, JSON_DECODE_ANY, NULL) : NULL;
            free(whole);
        }
        json_t *id = json_object_get(read, "notification_id");
        if (json_is_string(id))
            json_object_set(out, "notification_id", id);
        json_decref(read);
    }
    char *standin = out ? json_dumps(out, JSON_COMPACT) : NULL;
    json_decref(out);
    free(shown);
    free(fault_shown);
    free(file_shown);
    return standin;
}

/* ------------------------------------------------------------------------------------------------
 * Where each notification is in the file's text
 * ---------------------------------------------------------------------------------------------- */

/* A scan that follows only strings and nesting finds where each value ends; it judges nothing
 * (poller_batch_check has jansson read the frame and each notification it found, and a file whose
 * text the scan cannot lay out is read whole by jansson). Each part is then sent as the file's own
 * text of its notifications, not printed again from the parsed file (printing cost the poller as much
 * as parsing). */
static size_t batch__skip_ws(const char *t, size_t len, size_t i)
{
    while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
        i++;
    return i;
}

/* t[i] is '"': the index after the closing quote. */
static size_t batch__skip_string(const char *t, size_t len, size_t i)
{
    for (i++; i < len && t[i] != '"'; i++)
        if (t[i] == '\\')
            i++;
    return i + 1;
}

/* The index just after the value that starts at t[i]; *deepest is raised to its nesting. */
static size_t batch__skip_value(const char *t, size_t len, size_t i, int *deepest)
{
    if (i < len && t[i] == '"')
        return batch__skip_string(t, len, i);
    if (i < len && (t[i] == '{' || t[i] == '[')) {
        int depth = 0;
        while (i < len) {
            if (t[i] == '"') {
                i = batch__skip_string(t, len, i);
                continue;
            }
            if (t[i] == '{' || t[i] == '[') {
                if (++depth > *deepest)
                    *deepest = depth;
            } else if ((t[i] == '}' || t[i] == ']') && --depth == 0) {
                return i + 1;
            }
            i++;
        }
        return len;
    }
    while (i < len && strchr(",}] \t\r\n", t[i]) == NULL)
        i++;
    return i;
}

int poller_batch_depth(const char *text, size_t len)
{
    int deepest = 0;
    batch__skip_value(text, len, batch__skip_ws(text, len, 0), &deepest);
    return deepest;
}

/* Finds the list of notifications in t (the whole file, or its member "notifications" at the top)
 * and each notification in it, with exactly one comma between two; -1 when the text is not laid out
 * so (or the list's key is spelt with escapes, or a notification nests deeper than jansson reads):
 * the file is then read whole by jansson, which is the judge. */
static int batch__locate(const char *t, size_t len, poller_spans_t *s)
{
    int deepest = 0;
    size_t i = batch__skip_ws(t, len, 0);
    if (i < len && t[i] == '{') {
        /* The object's members, to the one named notifications. */
        i = batch__skip_ws(t, len, i + 1);
        for (;;) {
            if (i >= len || t[i] != '"')
                return -1;
            size_t key = i + 1, after = batch__skip_string(t, len, i);
            int found = after - key - 1 == strlen("notifications") &&
                        memcmp(t + key, "notifications", strlen("notifications")) == 0;
            i = batch__skip_ws(t, len, after);
            if (i >= len || t[i] != ':')
                return -1;
            i = batch__skip_ws(t, len, i + 1);
            if (found)
                break;
            i = batch__skip_ws(t, len, batch__skip_value(t, len, i, &deepest));
            if (i >= len || t[i] != ',')
                return -1;
            i = batch__skip_ws(t, len, i + 1);
        }
    }
    if (i >= len || t[i] != '[')
        return -1;
    s->open = i;
    i = batch__skip_ws(t, len, i + 1);
    while (i < len && t[i] != ']') {
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 1024;
            size_t *starts = realloc(s->starts, cap * sizeof(*starts));
            if (starts != NULL)
                s->starts = starts;
            size_t *ends = starts ? realloc(s->ends, cap * sizeof(*ends)) : NULL;
            if (ends == NULL)
                return -1;
            s->ends = ends;
            s->cap = cap;
        }
        s->starts[s->n] = i;
        i = batch__skip_value(t, len, i, &deepest);
        s->ends[s->n++] = i;
        i = batch__skip_ws(t, len, i);
        if (i < len && t[i] == ',') {
            i = batch__skip_ws(t, len, i + 1);
            if (i >= len || t[i] == ']')
                return -1;
        } else if (i >= len || t[i] != ']') {
            return -1;
        }
    }
    if (i >= len || deepest > 1000)
        return -1;
    s->close = i;
    return 0;
}

/* One half of a file's notifications, each read by jansson on its own; one it cannot read gets its
 * stand-in (poller_batch_standin), so that the rest of the file goes on. */
typedef struct {
    const char *text;
    const char *name;
    const poller_spans_t *spans;
    size_t from, to;
    int ok;
} batch_check_t;

static void *batch__check(void *arg)
{
    batch_check_t *c = arg;
    c->ok = 1;
    for (size_t k = c->from; k < c->to && c->ok; k++) {
        json_error_t jerr;
        const char *at = c->text + c->spans->starts[k];
        size_t len = c->spans->ends[k] - c->spans->starts[k];
        json_t *v = json_loadb(at, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
        if (v == NULL) {
            char words[300], fault[400];
            tsr_json_error_words(&jerr, words, sizeof(words));
            snprintf(fault, sizeof(fault),
                     "notification %zu of the file is not JSON: %s, counted from its start", k + 1, words);
            c->spans->standins[k] = poller_batch_standin("notification", c->name, fault, at, len);
            c->ok = c->spans->standins[k] != NULL;
        }
        json_decref(v);
    }
    return NULL;
}

/* Whether the file is valid JSON and a list of notifications, judged without building it whole: its
 * frame (the file with the list emptied) and each notification read by jansson, the notifications
 * in two halves at once. Reading a large file whole took the poller about a second before the first
 * part could go, with the server idle; then as long again to free. 0 when it is (spans filled), -1
 * when it must be read whole (not laid out so, or not valid: jansson then says why). */
int poller_batch_check(const char *name, const char *text, size_t len, poller_spans_t *spans)
{
    if (batch__locate(text, len, spans) != 0)
        return -1;
    spans->standins = calloc(spans->n + 1, sizeof(*spans->standins));
    if (spans->standins == NULL)
        return -1;
    size_t tail = len - spans->close;
    char *frame = malloc(spans->open + 1 + tail + 1);
    if (frame == NULL)
        return -1;
    memcpy(frame, text, spans->open + 1);
    memcpy(frame + spans->open + 1, text + spans->close, tail);
    json_error_t jerr;
    json_t *root = json_loadb(frame, spans->open + 1 + tail, JSON_REJECT_DUPLICATES, &jerr);
    free(frame);
    int ok = root != NULL && (json_is_array(root) || json_is_array(json_object_get(root, "notifications")));
    json_decref(root);
    if (!ok)
        return -1;
    batch_check_t halves[2] = {{text, name, spans, 0, spans->n / 2, 0},
                               {text, name, spans, spans->n / 2, spans->n, 0}};
    pthread_t other;
    int started = pthread_create(&other, NULL, batch__check, &halves[1]) == 0;
    batch__check(&halves[0]);
    if (started)
        pthread_join(other, NULL);
    else
        batch__check(&halves[1]);
    return halves[0].ok && halves[1].ok ? 0 : -1;
}
