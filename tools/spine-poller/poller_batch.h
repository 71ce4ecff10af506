/* What a spool file's text holds, judged without building it whole: where each notification of a
 * batch is (poller_batch_check), and the stand-in sent in place of what cannot be read
 * (poller_batch_standin). Kept apart from the poller's files and HTTP so that the fuzz target
 * (tests/fuzz/fuzz_feed.c) can hold the scan to jansson's reading of the same bytes. */
#ifndef POLLER_BATCH_H
#define POLLER_BATCH_H

#include <stddef.h>

/* How much of an unreadable notification or file is shown to system support in the error queue. */
#define POLLER_SHOWN_MAX 4000

/* Where a file's notifications are in its text. */
typedef struct {
    size_t n, cap;
    size_t *starts, *ends; /* the k-th notification is text[starts[k], ends[k]) */
    size_t open, close;    /* the list's '[' and ']' */
    char **standins;       /* for each notification jansson cannot read, what is sent instead */
} poller_spans_t;

void poller_batch_spans_free(poller_spans_t *s);

/* Whether text is valid JSON and a list of notifications (the file itself, or its member
 * "notifications"): 0 when it is, with spans filled and a stand-in for each notification jansson
 * cannot read; -1 when the file must be read whole by jansson (not laid out so, or not valid:
 * jansson then says why). */
int poller_batch_check(const char *name, const char *text, size_t len, poller_spans_t *spans);

/* How deep the JSON value at the start of text nests (1 for an object of plain members): a part of a
 * file puts each notification two levels down ({"notifications": [...]}), which jansson, and so the
 * cpis daemon, reads to JSON_PARSER_MAX_DEPTH levels only. */
int poller_batch_depth(const char *text, size_t len);

/* The stand-in for what could not be read (scope "notification": one of the file's notifications;
 * "file": the file as a whole), as JSON text: the fault, the file's name and the text as far as it
 * can be shown, and the notification's id when the text, its bad bytes replaced, still gives one
 * (so that the same notification sent again counts up its entry in the error queue). NULL when out
 * of memory. */
char *poller_batch_standin(const char *scope, const char *file, const char *fault, const char *text,
                           size_t len);

#endif
