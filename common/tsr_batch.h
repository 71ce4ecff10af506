/* tsr_batch: group commit, on the event loop.
 *
 * Items (each waiting for something to be made durable) arrive one at a time. While fewer than
 * max_flushes flushes run, an item starts one at once, alone: an idle daemon adds no wait. Once that
 * many run, the items that arrive wait, and the next flush to start takes all of them (at most
 * max_items) together, so that under load one transaction and one commit to disk serve every
 * request of that moment. When a flush completes, done is called for each of its items with the
 * flush's outcome, success or failure alike: an item is never told it is done before its flush has
 * completed.
 *
 * flush starts the work (on another thread, say) and the owner reports its end with
 * tsr_batch_flushed, on the loop, exactly once, passing back the items array flush was given; flush
 * may do so before it returns (a hand-over that fails at once). Everything here runs on the loop
 * thread; nothing locks. */
#ifndef TSR_BATCH_H
#define TSR_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "tsr_error.h"

typedef struct tsr_batch tsr_batch_t;

/* Starts a flush of items[0..n) (n >= 1). The array stays valid until tsr_batch_flushed. */
typedef void (*tsr_batch_flush_fn)(tsr_batch_t *batch, void *const *items, size_t n, void *arg);
/* Called once for each item when its flush has ended: rc 0 (err NULL) or -1 with the flush's error. */
typedef void (*tsr_batch_done_fn)(void *item, int rc, const tsr_error_t *err, void *arg);

/* NULL when out of memory or given 0. max_items bounds a flush; max_flushes (at most 16) how many run
 * at once. */
tsr_batch_t *tsr_batch_new(size_t max_items, int max_flushes, tsr_batch_flush_fn flush,
                           tsr_batch_done_fn done, void *arg);
/* Frees the batch; items still waiting are dropped without their done (call only once idle). */
void tsr_batch_destroy(tsr_batch_t **self_p);

/* Queues an item and starts a flush if fewer than max_flushes run. 0, or -1 when out of memory (the
 * item was not taken: the caller answers it itself). */
int tsr_batch_add(tsr_batch_t *self, void *item);
/* Ends the flush that was given items: done for each of them, then the next flush if items wait. An
 * array that names no running flush is ignored. */
void tsr_batch_flushed(tsr_batch_t *self, void *const *items, int rc, const tsr_error_t *err);

/* Under load, one flush for the items of a moment, not one each. While other items are on their way
 * (on_way says how many: requests still being handled that will add one) a flush starts no sooner
 * than gather_ms after the one before it started, unless max_items wait; it starts at once when the
 * last of them has come. So at a steady flow flushes come every gather_ms with all that came
 * meanwhile, and an item with nothing on its way behind it (an idle daemon, a lone caller) never
 * waits. The owner gives its clock (now_ms, in ms) and a wake: asked to call tsr_batch_resume after
 * delay_ms (on the loop, a one-shot timer; a new ask replaces the one before). gather_ms 0: off. */
typedef struct {
    uint64_t (*now_ms)(void *arg);
    size_t (*on_way)(void *arg);
    void (*wake)(uint64_t delay_ms, void *arg);
} tsr_batch_gather_t;
void tsr_batch_set_gather(tsr_batch_t *self, uint64_t gather_ms, const tsr_batch_gather_t *hooks);
/* Starts the flush a wake asked for, if it is still due. */
void tsr_batch_resume(tsr_batch_t *self);

/* Items waiting or in a running flush: what a drain waits for. */
size_t tsr_batch_pending(const tsr_batch_t *self);
/* Flushes started so far (for metrics and tests). */
size_t tsr_batch_flushes(const tsr_batch_t *self);

#endif
