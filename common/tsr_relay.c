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

struct tsr_relay {
    uv_loop_t *loop;
    tsr_db_t *db;
    void *pub;
    char *producer;
    uv_timer_t timer;
    uv_timer_t gather;
    int running;
    int again;
    int closing;
    int timers_closed;
    tsr_outbox_batch_t batch;
    tsr_error_t err;
    int rc;
    tsr_metric_t *published;
    tsr_metric_t *head;
};

static void relay__maybe_free(tsr_relay_t *self)
{
    if (self->closing && self->timers_closed == 2 && !self->running) {
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
    self->rc = tsr_outbox_assign(conn, self->producer, RELAY_BATCH, &self->batch, &self->err);
    tsr_db_release(db, conn);
}

static void relay__done(void *arg)
{
    tsr_relay_t *self = arg;
    self->running = 0;
    int more = 0;
    if (self->rc != 0) {
        tsr_log_warn(NULL, "outbox relay: %s (will retry)", self->err.message);
    } else {
        for (size_t i = 0; i < self->batch.count; i++) {
            /* PUB never blocks; a subscriber that misses this gets it by replay. */
            zmq_send(self->pub, self->batch.events[i], self->batch.lens[i], ZMQ_DONTWAIT);
        }
        tsr_metric_add(self->published, (double)self->batch.count);
        if (self->batch.count > 0)
            tsr_metric_set(self->head, (double)self->batch.head);
        more = self->batch.count == RELAY_BATCH;
        tsr_outbox_batch_free(&self->batch);
    }
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
    if (tsr_db_submit(self->db, relay__work, relay__done, self) != 0)
        self->running = 0;
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
    self->closing = 1;
    uv_close((uv_handle_t *)&self->timer, relay__on_timer_closed);
    uv_close((uv_handle_t *)&self->gather, relay__on_timer_closed);
}
