#include "tsr_batch.h"

#include <stdlib.h>
#include <string.h>

#define BATCH_FLUSHES_MAX 16

/* A running flush: its own array of items, so that several may run at once. */
typedef struct {
    void **items; /* NULL when the slot is free */
    size_t count;
} batch_flush_t;

struct tsr_batch {
    size_t max_items;
    int max_flushes;
    tsr_batch_flush_fn flush;
    tsr_batch_done_fn done;
    void *arg;
    /* Items waiting for the next flush, in arrival order. */
    void **waiting;
    size_t waiting_count;
    size_t waiting_capacity;
    batch_flush_t running[BATCH_FLUSHES_MAX];
    int running_count;
    size_t in_flight; /* items of the running flushes */
    int in_start;     /* batch__start is on the stack: a flushed() inside flush must not recurse */
    size_t flushes;   /* started so far */
    uint64_t gather_ms;
    tsr_batch_gather_t gather;
    uint64_t last_start_ms; /* when the last flush started (gathering only) */
    int started_any;
};

tsr_batch_t *tsr_batch_new(size_t max_items, int max_flushes, tsr_batch_flush_fn flush,
                           tsr_batch_done_fn done, void *arg)
{
    if (max_items == 0 || max_flushes < 1 || max_flushes > BATCH_FLUSHES_MAX || flush == NULL || done == NULL)
        return NULL;
    tsr_batch_t *self = calloc(1, sizeof(*self));
    if (self == NULL)
        return NULL;
    self->max_items = max_items;
    self->max_flushes = max_flushes;
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
    for (int i = 0; i < BATCH_FLUSHES_MAX; i++)
        free(self->running[i].items);
    free(self);
    *self_p = NULL;
}

/* Starts flushes while fewer than max_flushes run and items wait. A loop, not recursion: a flush
 * that reports its end at once (a failed hand-over) would otherwise nest one call per flush. */
static void batch__start(tsr_batch_t *self)
{
    if (self->in_start)
        return;
    self->in_start = 1;
    while (self->running_count < self->max_flushes && self->waiting_count > 0) {
        if (self->gather_ms > 0) {
            uint64_t now = self->gather.now_ms(self->arg);
            if (self->started_any && self->waiting_count < self->max_items &&
                now < self->last_start_ms + self->gather_ms && self->gather.on_way(self->arg) > 0) {
                self->gather.wake(self->last_start_ms + self->gather_ms - now, self->arg);
                break;
            }
            self->last_start_ms = now;
            self->started_any = 1;
        }
        size_t n = self->waiting_count < self->max_items ? self->waiting_count : self->max_items;
        void **items = malloc(n * sizeof(void *));
        if (items == NULL && self->running_count > 0)
            break; /* they wait for a running flush to end, and try again */
        if (items == NULL) {
            /* Nothing running would ever try again: the waiting items are told now. */
            tsr_error_t err;
            tsr_error_set(&err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory starting a commit.");
            while (self->waiting_count > 0)
                self->done(self->waiting[--self->waiting_count], -1, &err, self->arg);
            break;
        }
        int slot = 0;
        while (self->running[slot].items != NULL)
            slot++;
        memcpy(items, self->waiting, n * sizeof(void *));
        memmove(self->waiting, self->waiting + n, (self->waiting_count - n) * sizeof(void *));
        self->waiting_count -= n;
        self->running[slot] = (batch_flush_t){items, n};
        self->running_count++;
        self->in_flight += n;
        self->flushes++;
        self->flush(self, items, n, self->arg);
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

void tsr_batch_flushed(tsr_batch_t *self, void *const *items, int rc, const tsr_error_t *err)
{
    int slot = 0;
    while (slot < BATCH_FLUSHES_MAX && (items == NULL || self->running[slot].items != items))
        slot++;
    if (slot == BATCH_FLUSHES_MAX)
        return;
    batch_flush_t flush = self->running[slot];
    self->running[slot] = (batch_flush_t){NULL, 0};
    /* While the dones run, an item they add (the next request of a caller) only waits: every item
     * of this flush is told before anything else starts. */
    int nested = self->in_start;
    self->in_start = 1;
    for (size_t i = 0; i < flush.count; i++)
        self->done(flush.items[i], rc == 0 ? 0 : -1, rc == 0 ? NULL : err, self->arg);
    self->in_flight -= flush.count;
    self->running_count--;
    free(flush.items);
    self->in_start = nested;
    batch__start(self);
}

void tsr_batch_set_gather(tsr_batch_t *self, uint64_t gather_ms, const tsr_batch_gather_t *hooks)
{
    int usable = hooks != NULL && hooks->now_ms != NULL && hooks->on_way != NULL && hooks->wake != NULL;
    self->gather_ms = usable ? gather_ms : 0;
    if (usable)
        self->gather = *hooks;
    self->started_any = 0;
}

void tsr_batch_resume(tsr_batch_t *self)
{
    batch__start(self);
}

size_t tsr_batch_pending(const tsr_batch_t *self)
{
    return self->waiting_count + self->in_flight;
}

size_t tsr_batch_flushes(const tsr_batch_t *self)
{
    return self->flushes;
}
