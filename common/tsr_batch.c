#include "tsr_batch.h"

#include <stdlib.h>
#include <string.h>

struct tsr_batch {
    size_t max_items;
    tsr_batch_flush_fn flush;
    tsr_batch_done_fn done;
    void *arg;
    /* Items waiting for the next flush, in arrival order. */
    void **waiting;
    size_t waiting_count;
    size_t waiting_capacity;
    /* The running flush's items. */
    void **flushing;
    size_t flushing_count;
    int running;    /* a flush has started and not yet been reported */
    int in_start;   /* batch__start is on the stack: a flushed() inside flush must not recurse */
    size_t flushes; /* started so far */
};

tsr_batch_t *tsr_batch_new(size_t max_items, tsr_batch_flush_fn flush, tsr_batch_done_fn done, void *arg)
{
    if (max_items == 0 || flush == NULL || done == NULL)
        return NULL;
    tsr_batch_t *self = calloc(1, sizeof(*self));
    if (self == NULL)
        return NULL;
    self->flushing = calloc(max_items, sizeof(void *));
    if (self->flushing == NULL) {
        free(self);
        return NULL;
    }
    self->max_items = max_items;
    self->flush = flush;
    self->done = done;
    self->arg = arg;
    return self;
}

void tsr_batch_destroy(tsr_batch_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    tsr_batch_t *self = *self_p;
    free(self->waiting);
    free(self->flushing);
    free(self);
    *self_p = NULL;
}

/* Starts flushes while none runs and items wait. A loop, not recursion: a flush that reports its
 * end at once (a failed submit) would otherwise nest one call per batch. */
static void batch__start(tsr_batch_t *self)
{
    if (self->in_start)
        return;
    self->in_start = 1;
    while (!self->running && self->waiting_count > 0) {
        size_t n = self->waiting_count < self->max_items ? self->waiting_count : self->max_items;
        memcpy(self->flushing, self->waiting, n * sizeof(void *));
        memmove(self->waiting, self->waiting + n, (self->waiting_count - n) * sizeof(void *));
        self->waiting_count -= n;
        self->flushing_count = n;
        self->running = 1;
        self->flushes++;
        self->flush(self, self->flushing, n, self->arg);
    }
    self->in_start = 0;
}

int tsr_batch_add(tsr_batch_t *self, void *item)
{
    if (self->waiting_count == self->waiting_capacity) {
        size_t capacity = self->waiting_capacity ? self->waiting_capacity * 2 : 16;
        void **bigger = realloc(self->waiting, capacity * sizeof(void *));
        if (bigger == NULL)
            return -1;
        self->waiting = bigger;
        self->waiting_capacity = capacity;
    }
    self->waiting[self->waiting_count++] = item;
    batch__start(self);
    return 0;
}

void tsr_batch_flushed(tsr_batch_t *self, int rc, const tsr_error_t *err)
{
    if (!self->running)
        return;
    /* While the dones run, an item they add (the next request of a caller) only waits: the next
     * flush must not start, and reuse the array, before every item of this one has been told. */
    int nested = self->in_start;
    self->in_start = 1;
    for (size_t i = 0; i < self->flushing_count; i++)
        self->done(self->flushing[i], rc == 0 ? 0 : -1, rc == 0 ? NULL : err, self->arg);
    self->flushing_count = 0;
    self->running = 0;
    self->in_start = nested;
    batch__start(self);
}

size_t tsr_batch_pending(const tsr_batch_t *self)
{
    return self->waiting_count + self->flushing_count;
}

size_t tsr_batch_flushes(const tsr_batch_t *self)
{
    return self->flushes;
}
