/* Fuzz target: the spine poller's reading of a spool file (poller_batch_check) is held to jansson's
 * reading of the same bytes. The scan is what decides which text goes to the gateway as each
 * notification, so a scan that split a file differently from its JSON would send notifications
 * cut in two, joined, or lost. Whatever the bytes:
 *  - every span lies inside the list, in order, without overlapping;
 *  - when jansson reads the whole file as a batch, the scan found as many notifications as the list
 *    holds, each equal to jansson's, and none needed a stand-in;
 *  - when the scan accepts a file jansson refuses, at least one notification has a stand-in, and
 *    every stand-in is a JSON object naming its fault (it goes to the error queue). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "poller_batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const json_t *feed__list(const json_t *root)
{
    if (json_is_array(root))
        return root;
    const json_t *list = json_object_get(root, "notifications");
    return json_is_array(list) ? list : NULL;
}

static void feed__check_standin(const char *standin)
{
    json_t *read = json_loads(standin, 0, NULL);
    const json_t *unreadable = json_object_get(read, "tessera_unreadable");
    if (!json_is_string(json_object_get(unreadable, "fault")) ||
        !json_is_string(json_object_get(unreadable, "text")))
        abort();
    json_decref(read);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The poller reads a file NUL-terminated; so does this. */
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    poller_spans_t spans = {0};
    if (poller_batch_check("fuzz.json", text, size, &spans) == 0) {
        size_t at = spans.open;
        for (size_t k = 0; k < spans.n; k++) {
            if (spans.starts[k] <= at || spans.ends[k] < spans.starts[k] || spans.ends[k] > spans.close)
                abort();
            at = spans.ends[k];
        }
        if (spans.close >= size || text[spans.open] != '[' || text[spans.close] != ']')
            abort();
        json_t *whole = json_loadb(text, size, JSON_REJECT_DUPLICATES, NULL);
        const json_t *list = feed__list(whole);
        size_t standins = 0;
        for (size_t k = 0; k < spans.n; k++)
            if (spans.standins[k] != NULL) {
                feed__check_standin(spans.standins[k]);
                standins++;
            }
        if (whole != NULL) {
            if (list == NULL || json_array_size(list) != spans.n || standins > 0)
                abort();
            for (size_t k = 0; k < spans.n; k++) {
                json_t *one = json_loadb(text + spans.starts[k], spans.ends[k] - spans.starts[k],
                                         JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
                if (!json_equal(one, json_array_get(list, k)))
                    abort();
                json_decref(one);
            }
        } else if (standins == 0) {
            abort();
        }
        json_decref(whole);
    }
    poller_batch_spans_free(&spans);
    free(text);
    return 0;
}
