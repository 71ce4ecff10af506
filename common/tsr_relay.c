#include "tsr_relay.h"

#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "tsr_log.h"
#include "tsr_metrics.h"
#include "tsr_outbox.h"

#define RELAY_BATCH 500
/* After a commit, how long the relay waits for others before numbering: on a busy daemon one
 * numbering transaction then serves several commits (each is a commit of its own to disk). */
#define RELAY_GATHER_MS 25
/* How long numbers given elsewhere (a group commit) may be missing before the relay reads them back
 * from the outbox: long enough for a commit just done to hand its events over. */
#define RELAY_GAP_MS 100

/* Events numbered but not yet published, because a lower number has not been published yet. */
typedef struct {
    tsr_outbox_batch_t batch;
    uint64_t first; /* the seq of batch.events[0] */
} relay_waiting_t;

struct tsr_relay {
    uv_loop_t *loop;
    tsr_db_t *db;
    void *pub;
    char *producer;
    uv_timer_t timer;
    uv_timer_t gather;
    uv_timer_t gap;
    uv_timer_t hold; /* publishes what the group commits handed over */
    int running;
    int again;
    int closing;
    int timers_closed;
    /* The job's own (read and written by the job only while running). */
    tsr_outbox_batch_t batch;
    tsr_outbox_batch_t filled;
    uint64_t fill_after; /* 0: no read back asked; else read seq > fill_after ... */
    int fill_limit;      /* ... at most this many */
    tsr_error_t err;
    int rc;
    /* On the loop: the next seq to publish (0 until the first events or head are known), the
     * highest seq known to be committed, and what waits for a lower number. */
    uint64_t next;
    uint64_t known_head;
    relay_waiting_t *waiting;
    size_t waiting_count;
    size_t waiting_capacity;
    tsr_metric_t *published;
    tsr_metric_t *head;
};

static void relay__maybe_free(tsr_relay_t *self)
{
    if (self->closing && self->timers_closed == 4 && !self->running) {
        for (size_t i = 0; i < self->waiting_count; i++)
            tsr_outbox_batch_free(&self->waiting[i].batch);
        free(self->waiting);
        free(self->producer);
        free(self);
    }
}

static void relay__work(tsr_db_t *db, void *arg)
{
    tsr_relay_t *self = arg;
    tsr_error_clear(&self->err);
    PGconn *conn = tsr_db_acquire(db, &self->err);
    if (conn == NULL) {
        self->rc = -1;
        return;
    }
    self->rc = 0;
    if (self->fill_after > 0)
        self->rc = tsr_outbox_read(conn, self->producer, self->fill_after, self->fill_limit, &self->filled,
                                   &self->err);
    if (self->rc == 0)
        self->rc = tsr_outbox_assign(conn, self->producer, RELAY_BATCH, &self->batch, &self->err);
    tsr_db_release(db, conn);
}

static void relay__send(tsr_relay_t *self, const tsr_outbox_batch_t *batch, size_t from)
{
    for (size_t i = from; i < batch->count; i++) {
        /* PUB never blocks; a subscriber that misses this gets it by replay. */
        zmq_send(self->pub, batch->events[i], batch->lens[i], ZMQ_DONTWAIT);
    }
    tsr_metric_add(self->published, (double)(batch->count - from));
}

static void relay__check_gap(tsr_relay_t *self);

/* Keeps batch (taken) in waiting, in sequence order. */
static void relay__wait(tsr_relay_t *self, tsr_outbox_batch_t *batch, uint64_t first)
{
    if (self->waiting_count == self->waiting_capacity) {
        size_t capacity = self->waiting_capacity ? self->waiting_capacity * 2 : 8;
        relay_waiting_t *bigger = realloc(self->waiting, capacity * sizeof(*bigger));
        if (bigger == NULL) {
            /* Dropped: read back from the outbox once the gap is seen. */
            tsr_outbox_batch_free(batch);
            return;
        }
        self->waiting = bigger;
        self->waiting_capacity = capacity;
    }
    size_t at = self->waiting_count;
    while (at > 0 && self->waiting[at - 1].first > first)
        at--;
    memmove(self->waiting + at + 1, self->waiting + at, (self->waiting_count - at) * sizeof(*self->waiting));
    self->waiting[at] = (relay_waiting_t){*batch, first};
    self->waiting_count++;
    memset(batch, 0, sizeof(*batch));
}

static void relay__offer(tsr_relay_t *self, tsr_outbox_batch_t *batch, uint64_t first);

/* Offers, in order, what waits and may now go: each batch whose first number is the next to publish
 * or lower (or the first of all, before anything is known to be published). */
static void relay__publish_waiting(tsr_relay_t *self)
{
    while (self->waiting_count > 0 && (self->next == 0 || self->waiting[0].first <= self->next)) {
        relay_waiting_t w = self->waiting[0];
        memmove(self->waiting, self->waiting + 1, (self->waiting_count - 1) * sizeof(*self->waiting));
        self->waiting_count--;
        relay__offer(self, &w.batch, w.first);
    }
}

/* Takes events numbered first.. (all of batch, or none: then only its head is news) and publishes
 * what follows what is published, then whatever waited for it; the rest waits. batch is taken. */
static void relay__offer(tsr_relay_t *self, tsr_outbox_batch_t *batch, uint64_t first)
{
    uint64_t last = batch->count > 0 ? first + batch->count - 1 : batch->head;
    if (last > self->known_head)
        self->known_head = last;
    if (batch->head > self->known_head)
        self->known_head = batch->head;
    if (self->next == 0)
        self->next = batch->count > 0 ? first : batch->head + 1;
    if (batch->count == 0 || last < self->next) {
        /* Nothing new: an empty numbering, or events already published (read back twice). */
        tsr_outbox_batch_free(batch);
    } else if (first <= self->next) {
        relay__send(self, batch, (size_t)(self->next - first));
        self->next = last + 1;
        tsr_metric_set(self->head, (double)last);
        tsr_outbox_batch_free(batch);
        relay__publish_waiting(self); /* what waited for these may go now */
    } else {
        relay__wait(self, batch, first);
    }
    relay__check_gap(self);
}

/* Numbers up to known_head are committed; any not published and not waiting were given by a commit
 * that has not handed them over (yet, or ever: its outcome was lost). After RELAY_GAP_MS they are read
 * back. */
static int relay__gap(const tsr_relay_t *self)
{
    if (self->next == 0 || self->next > self->known_head)
        return 0;
    return self->waiting_count == 0 || self->waiting[0].first > self->next;
}

static void relay__on_gap(uv_timer_t *timer)
{
    tsr_relay_t *self = timer->data;
    if (relay__gap(self))
        tsr_relay_kick(self);
}

static void relay__check_gap(tsr_relay_t *self)
{
    if (self->closing)
        return;
    if (!relay__gap(self))
        uv_timer_stop(&self->gap);
    else if (!uv_is_active((uv_handle_t *)&self->gap))
        uv_timer_start(&self->gap, relay__on_gap, RELAY_GAP_MS, 0);
}

static void relay__done(void *arg)
{
    tsr_relay_t *self = arg;
    self->running = 0;
    int more = 0;
    if (self->rc != 0) {
        tsr_log_warn(NULL, "outbox relay: %s (will retry)", self->err.message);
        tsr_outbox_batch_free(&self->filled);
    } else {
        if (self->fill_after > 0 && self->filled.count == 0 && self->next == self->fill_after + 1) {
            /* Numbers committed but not in the outbox: nothing to wait for. Publishing goes on after
             * them (a consumer asks for them by replay, and the outbox has the final word). */
            uint64_t end = self->waiting_count > 0 ? self->waiting[0].first : self->known_head + 1;
            tsr_log_warn(NULL, "outbox relay: events %llu to %llu are not in the outbox; publishing goes on",
                         (unsigned long long)self->next, (unsigned long long)end - 1);
            self->next = end;
            tsr_outbox_batch_free(&self->filled);
        } else if (self->fill_after > 0) {
            tsr_log_info(NULL, "outbox relay: read back %zu events numbered from %llu", self->filled.count,
                         (unsigned long long)self->fill_after + 1);
            self->filled.head = 0; /* relay_state's head, not the end of these */
            relay__offer(self, &self->filled, self->fill_after + 1);
        }
        more = self->batch.count == RELAY_BATCH;
        relay__offer(self, &self->batch, self->batch.head - self->batch.count + 1);
    }
    self->fill_after = 0;
    if (self->closing) {
        relay__maybe_free(self);
        return;
    }
    if (more) {
        self->again = 0;
        tsr_relay_kick(self);
    } else if (self->again) {
        /* Commits came while it ran: they are numbered after another gather, not at once, so that
         * under a steady flow the relay runs every RELAY_GATHER_MS with what came meanwhile, not
         * back to back with a few events each (each run is a transaction committed to disk, and
         * each batch published is a transaction for every consumer). */
        self->again = 0;
        tsr_relay_kick_soon(self);
    }
}

void tsr_relay_kick(tsr_relay_t *self)
{
    if (self->closing)
        return;
    if (self->running) {
        self->again = 1;
        return;
    }
    self->running = 1;
    self->fill_after = 0;
    if (relay__gap(self)) {
        uint64_t end = self->waiting_count > 0 ? self->waiting[0].first - 1 : self->known_head;
        uint64_t n = end - self->next + 1;
        self->fill_after = self->next - 1;
        self->fill_limit = n > RELAY_BATCH ? RELAY_BATCH : (int)n;
    }
    if (tsr_db_submit(self->db, relay__work, relay__done, self) != 0)
        self->running = 0;
}

/* Publishes what was held back for its turn (tsr_relay_publish_numbered) and what waited behind it. */
static void relay__publish_held(tsr_relay_t *self)
{
    relay__publish_waiting(self);
    relay__check_gap(self);
}

static void relay__on_hold(uv_timer_t *timer)
{
    relay__publish_held(timer->data);
}

void tsr_relay_publish_numbered(tsr_relay_t *self, tsr_outbox_batch_t *batch)
{
    if (self->closing) {
        tsr_outbox_batch_free(batch);
        return;
    }
    if (batch->count == 0) {
        /* Only the head is news: the events are read back once the gap is seen. */
        relay__offer(self, batch, batch->head + 1);
        return;
    }
    /* Published RELAY_GATHER_MS after the first of them, with what came meanwhile, as the relay's
     * own numbering would be: each batch published is a transaction for every consumer, and group
     * commits under load come every few milliseconds. */
    uint64_t first = batch->head - batch->count + 1;
    if (batch->head > self->known_head)
        self->known_head = batch->head;
    relay__wait(self, batch, first);
    if (!uv_is_active((uv_handle_t *)&self->hold))
        uv_timer_start(&self->hold, relay__on_hold, RELAY_GATHER_MS, 0);
    relay__check_gap(self);
}

static void relay__on_timer(uv_timer_t *timer)
{
    tsr_relay_kick(timer->data);
}

void tsr_relay_kick_soon(tsr_relay_t *self)
{
    if (self->closing)
        return;
    if (self->running) {
        self->again = 1;
        return;
    }
    if (!uv_is_active((uv_handle_t *)&self->gather))
        uv_timer_start(&self->gather, relay__on_timer, RELAY_GATHER_MS, 0);
}

tsr_relay_t *tsr_relay_new(uv_loop_t *loop, tsr_db_t *db, void *pub_socket, const char *producer,
                           int interval_ms)
{
    tsr_relay_t *self = calloc(1, sizeof(*self));
    if (self == NULL)
        return NULL;
    self->loop = loop;
    self->db = db;
    self->pub = pub_socket;
    self->producer = strdup(producer);
    uv_timer_init(loop, &self->timer);
    self->timer.data = self;
    uv_timer_init(loop, &self->gather);
    self->gather.data = self;
    uv_timer_init(loop, &self->gap);
    self->gap.data = self;
    uv_timer_init(loop, &self->hold);
    self->hold.data = self;
    uv_timer_start(&self->timer, relay__on_timer, 0, (uint64_t)interval_ms);
    self->published =
        tsr_metrics_counter("tsr_outbox_published_total", "Events published from the outbox.", NULL);
    self->head = tsr_metrics_gauge("tsr_outbox_head_seq", "The highest outbox sequence published.", NULL);
    return self;
}

int tsr_relay_busy(const tsr_relay_t *self)
{
    return self->running;
}

static void relay__on_timer_closed(uv_handle_t *handle)
{
    tsr_relay_t *self = handle->data;
    self->timers_closed++;
    relay__maybe_free(self);
}

void tsr_relay_close(tsr_relay_t *self)
{
    /* What is held back goes now, not by replay after the restart (what waits for a lower number
     * that never came is left to replay). */
    relay__publish_held(self);
    self->closing = 1;
    uv_close((uv_handle_t *)&self->timer, relay__on_timer_closed);
    uv_close((uv_handle_t *)&self->gather, relay__on_timer_closed);
    uv_close((uv_handle_t *)&self->gap, relay__on_timer_closed);
    uv_close((uv_handle_t *)&self->hold, relay__on_timer_closed);
}
