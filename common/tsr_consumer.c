#include "tsr_consumer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "tsr_curve.h"
#include "tsr_envelope.h"
#include "tsr_log.h"
#include "tsr_metrics.h"
#include "tsr_zwatch.h"

#define CONSUMER_QUEUE_MAX 10000
#define CONSUMER_REPLAY_LIMIT 500
/* How long events passed over may go unrecorded in the inbox when nothing else is applied. */
#define CONSUMER_FLUSH_MS 100

typedef struct {
    uint64_t seq;
    uint8_t *data;
    size_t len;
    int wanted; /* what wants said, asked once, when the event arrived already unpacked */
} queued_event_t;

struct tsr_consumer {
    tsr_daemon_t *daemon;
    tsr_db_t *db;
    char *producer;
    void *sub;
    tsr_zwatch_t watch;
    uv_timer_t idle;
    uv_timer_t flush;   /* writes the inbox up to events passed over, once things are quiet */
    uint64_t persisted; /* the inbox's last_seq as last written */
    int flush_due;
    tsr_client_t *rpc;
    tsr_wants_fn wants;
    tsr_apply_fn apply;
    tsr_flush_fn write_gathered; /* tsr_flush_fn, or NULL */
    char *producer_literal;      /* the producer as an SQL literal, for the inbox's simple queries */
    /* applied and loaded are written by the apply job on a pool thread and read on the loop (a stale
     * applied only lets a redelivered event into the queue, which the batch passes over): atomic, so
     * that the read is never torn. */
    _Atomic uint64_t applied; /* last sequence known applied (the inbox is the truth) */
    uint64_t txn;             /* the batch transaction's state, as tsr_event_t.txn tells applies */
    _Atomic int loaded;       /* applied was read from the inbox */
    queued_event_t *queue;
    size_t queued;
    size_t capacity;
    int started; /* the first replay after loading has been asked for */
    /* The job in flight takes the queue; new arrivals wait in queue for the next one. */
    queued_event_t *working;
    size_t working_count;
    int applying;
    int gap;         /* the job found a hole: ask for a replay */
    int retry_later; /* the database failed: try the same events again after a pause */
    int replay_in_flight;
    int replay_more;
    /* An event came live since the idle timer last looked: the producer is not quiet, so the tail
     * cannot have been lost unseen (a later event shows a hole), and a replay now would only fetch
     * again what is still on its way on the socket. */
    int heard;
    uint64_t heard_seq; /* the highest sequence heard live, for the lag between replays */
    int closing;
    int handles_open;
    tsr_metric_t *m_applied;
    tsr_metric_t *m_dead;
    tsr_metric_t *m_lag;
    tsr_metric_t *m_unavailable;
    uint64_t replay_from;      /* the replay in flight asked for the events after this one */
    uint64_t unavailable_told; /* the oldest the producer still held when last said in the log */
};

static void consumer__schedule(tsr_consumer_t *self);
static void consumer__request_replay(tsr_consumer_t *self);

static void consumer__maybe_free(tsr_consumer_t *self)
{
    if (!self->closing || self->handles_open > 0 || self->applying || self->replay_in_flight)
        return;
    for (size_t i = 0; i < self->queued; i++)
        free(self->queue[i].data);
    free(self->queue);
    zmq_close(self->sub);
    free(self->producer_literal);
    free(self->producer);
    free(self);
}

/* Keeps the queue sorted by seq and free of duplicates, so a job applies in order. */
static void consumer__enqueue(tsr_consumer_t *self, uint64_t seq, const uint8_t *data, size_t len, int wanted)
{
    if (seq <= self->applied)
        return;
    if (self->queued >= CONSUMER_QUEUE_MAX) {
        /* Too far behind to hold more in memory: the replay will bring these back. */
        self->gap = 1;
        return;
    }
    size_t pos = self->queued;
    while (pos > 0 && self->queue[pos - 1].seq > seq)
        pos--;
    if (pos > 0 && self->queue[pos - 1].seq == seq)
        return;
    if (self->queued == self->capacity) {
        size_t capacity = self->capacity ? self->capacity * 2 : 64;
        queued_event_t *bigger = realloc(self->queue, capacity * sizeof(*bigger));
        if (bigger == NULL)
            return;
        self->queue = bigger;
        self->capacity = capacity;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return;
    memcpy(copy, data, len);
    memmove(&self->queue[pos + 1], &self->queue[pos], (self->queued - pos) * sizeof(queued_event_t));
    self->queue[pos] = (queued_event_t){seq, copy, len, wanted};
    self->queued++;
}

static int consumer__retryable(const tsr_error_t *err)
{
    /* Connection, resource and concurrency failures pass; anything else is the event's own fault. */
    static const char *const classes[] = {"08", "40", "53", "57", "58"};
    if (err->status == TSR_E_UNAVAILABLE)
        return 1;
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
        if (strncmp(err->sqlstate, classes[i], 2) == 0)
            return 1;
    return 0;
}

static int consumer__bury(tsr_consumer_t *self, PGconn *conn, const Tsr__Envelope *ev,
                          const queued_event_t *q, const tsr_error_t *why, tsr_error_t *err)
{
    char seq[32];
    snprintf(seq, sizeof(seq), "%" PRIu64, q->seq);
    const char *values[5] = {self->producer, seq, ev->type, (const char *)q->data, why->message};
    int lengths[5] = {0, 0, 0, (int)q->len, 0};
    int formats[5] = {0, 0, 0, 1, 0};
    PGresult *res = tsr_db_exec_bin(conn,
                                    "INSERT INTO inbox_dead (producer, seq, type, envelope, error)"
                                    " VALUES ($1, $2::bigint, $3, $4, $5) ON CONFLICT DO NOTHING",
                                    5, values, lengths, formats, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

#define CONSUMER_BATCH 200

/* A number no other batch of any consumer in the process has had (see tsr_event_t.txn). */
static uint64_t consumer__next_txn(void)
{
    static atomic_uint_fast64_t serial;
    return (uint64_t)atomic_fetch_add(&serial, 1) + 1;
}

/* Whether the consumer applies an event (tsr_wants_fn), asked of the event as it arrives, unpacked
 * for its sequence anyway, rather than unpacked again for the question in the job. */
static int consumer__wants(const tsr_consumer_t *self, const Tsr__Envelope *ev)
{
    return self->wants == NULL || self->wants(ev);
}

/* Writes what the applies of the batch's transaction gathered (tsr_flush_fn); 0 or -1. */
static int consumer__write_gathered(tsr_consumer_t *self, PGconn *conn, tsr_error_t *err)
{
    if (self->write_gathered == NULL)
        return 0;
    tsr_event_t event = {self->daemon, conn, NULL, self->txn};
    return self->write_gathered(&event, err);
}

/* Applies one event inside the batch's transaction, under a savepoint so that an event that cannot
 * be applied is set aside in inbox_dead without undoing the others. 1 applied or buried, -1 retry. */
static int consumer__apply_one(tsr_consumer_t *self, PGconn *conn, const queued_event_t *q, tsr_error_t *err)
{
    if (tsr_db_command(conn, "SAVEPOINT tsr_event", err) != 0)
        return -1;
    Tsr__Envelope *ev = tsr__envelope__unpack(NULL, q->len, q->data);
    int rc = -1;
    if (ev == NULL) {
        tsr_error_set(err, TSR_E_INVALID, "bad_message", NULL, "The event is not a valid Envelope.");
    } else {
        tsr_event_t event = {self->daemon, conn, ev, self->txn};
        rc = self->apply(&event, err);
        /* What the apply gathered is written inside this event's savepoint, so that a failure of it
         * is this event's. */
        if (rc == 0)
            rc = consumer__write_gathered(self, conn, err);
    }
    if (rc == 0) {
        tsr__envelope__free_unpacked(ev, NULL);
        return tsr_db_command(conn, "RELEASE SAVEPOINT tsr_event", err) == 0 ? 1 : -1;
    }
    if (consumer__retryable(err)) {
        tsr__envelope__free_unpacked(ev, NULL);
        return -1;
    }
    /* The event itself cannot be applied: keep it in inbox_dead and move on, rather than stop every
     * later event behind it. */
    char seq[32];
    snprintf(seq, sizeof(seq), "%" PRIu64, q->seq);
    tsr_log_error(ev ? ev->trace_id : NULL, "event %s #%s from %s cannot be applied: %s", ev ? ev->type : "?",
                  seq, self->producer, err->message);
    tsr_error_t why = *err;
    tsr_error_clear(err);
    Tsr__Envelope placeholder = TSR__ENVELOPE__INIT;
    placeholder.type = "";
    self->txn = consumer__next_txn();
    int buried = tsr_db_command(conn, "ROLLBACK TO SAVEPOINT tsr_event", err) == 0 &&
                 consumer__bury(self, conn, ev ? ev : &placeholder, q, &why, err) == 0;
    tsr__envelope__free_unpacked(ev, NULL);
    if (!buried)
        return -1;
    tsr_metric_add(self->m_dead, 1);
    return 1;
}

/* Applies one event with no savepoint: nearly every event applies, and a savepoint is two more round
 * trips. 1 applied, -1 retry, 0 the event itself failed (the batch is done again with savepoints). */
static int consumer__apply_fast(tsr_consumer_t *self, PGconn *conn, const queued_event_t *q, tsr_error_t *err)
{
    Tsr__Envelope *ev = tsr__envelope__unpack(NULL, q->len, q->data);
    if (ev == NULL)
        return 0;
    tsr_event_t event = {self->daemon, conn, ev, self->txn};
    int rc = self->apply(&event, err);
    tsr__envelope__free_unpacked(ev, NULL);
    if (rc == 0)
        return 1;
    return consumer__retryable(err) ? -1 : 0;
}

/* Opens the batch's transaction and locks the inbox row in one round trip. The inbox may be behind
 * the consumer's count by events passed over; it is never ahead unless another consumer of the same
 * producer applied them, in which case the count moves up to it. */
static int consumer__begin(tsr_consumer_t *self, PGconn *conn, tsr_error_t *err)
{
    self->txn = consumer__next_txn();
    char sql[256];
    snprintf(sql, sizeof(sql), "BEGIN; SELECT last_seq FROM inbox WHERE producer = %s FOR UPDATE",
             self->producer_literal);
    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        tsr_error_set(err, TSR_E_UNAVAILABLE, "database", NULL, "Reading the inbox of %s failed: %s",
                      self->producer,
                      PQresultStatus(res) == PGRES_TUPLES_OK ? "no row" : PQerrorMessage(conn));
        PQclear(res);
        return -1;
    }
    uint64_t held = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (held > self->applied)
        self->applied = held;
    return 0;
}

/* Applies the events in order, up to CONSUMER_BATCH in one transaction with the inbox advanced to
 * the last of them: one commit for many events, and still all or nothing. Returns 1 when all were
 * handled, 0 at a gap, -1 when the database failed (nothing of this batch is kept). */
static int consumer__apply_batch(tsr_consumer_t *self, PGconn *conn, size_t from, size_t *next)
{
    tsr_error_t err;
    tsr_error_clear(&err);
    int careful = 0;
again:;
    uint64_t start = self->applied, last = start;
    int gap = 0, open = 0;
    size_t i = from;
    for (; i < self->working_count && i - from < CONSUMER_BATCH; i++) {
        const queued_event_t *q = &self->working[i];
        if (q->seq <= last)
            continue; /* already applied: a redelivery has no second effect */
        if (q->seq != last + 1) {
            gap = 1;
            break;
        }
        if (!q->wanted) {
            last = q->seq;
            continue;
        }
        if (!open) {
            if (consumer__begin(self, conn, &err) != 0)
                goto retry;
            open = 1;
            if (self->applied > last) { /* applied elsewhere: count again from there */
                tsr_db_command(conn, "ROLLBACK", NULL);
                goto again;
            }
        }
        int rc =
            careful ? consumer__apply_one(self, conn, q, &err) : consumer__apply_fast(self, conn, q, &err);
        if (rc < 0)
            goto retry;
        if (rc == 0) {
            /* An event that cannot be applied: undo the batch and do it again one savepoint an event,
             * so that the event is set aside and the others kept. */
            tsr_db_command(conn, "ROLLBACK", NULL);
            tsr_error_clear(&err);
            careful = 1;
            goto again;
        }
        last = q->seq;
    }
    if (open && !careful) {
        int rc = consumer__write_gathered(self, conn, &err);
        if (rc != 0 && consumer__retryable(&err))
            goto retry;
        if (rc != 0) {
            /* One of the events cannot be written: do the batch again one savepoint an event (each
             * written on its own), so that it is set aside and the others kept. */
            tsr_db_command(conn, "ROLLBACK", NULL);
            tsr_error_clear(&err);
            careful = 1;
            goto again;
        }
    }
    if (open) {
        char sql[256];
        snprintf(sql, sizeof(sql), "UPDATE inbox SET last_seq = %" PRIu64 " WHERE producer = %s; COMMIT",
                 last, self->producer_literal);
        if (tsr_db_command(conn, sql, &err) != 0)
            goto retry;
    }
    tsr_metric_add(self->m_applied, (double)(last - start));
    self->applied = last;
    if (open)
        self->persisted = last;
    *next = i;
    return gap ? 0 : 1;
retry:
    tsr_log_warn(NULL, "applying events from %s paused: %s", self->producer, err.message);
    if (open)
        tsr_db_command(conn, "ROLLBACK", NULL);
    return -1;
}

static void consumer__work(tsr_db_t *db, void *arg)
{
    tsr_consumer_t *self = arg;
    tsr_error_t err;
    tsr_error_clear(&err);
    PGconn *conn = tsr_db_acquire(db, &err);
    if (conn == NULL) {
        self->retry_later = 1;
        return;
    }
    if (!self->loaded) {
        const char *params[1] = {self->producer};
        PGresult *res = tsr_db_exec(conn,
                                    "INSERT INTO inbox (producer, last_seq) VALUES ($1, 0)"
                                    " ON CONFLICT (producer) DO UPDATE SET last_seq = inbox.last_seq"
                                    " RETURNING last_seq",
                                    1, params, &err);
        if (res == NULL) {
            self->retry_later = 1;
            tsr_db_release(db, conn);
            return;
        }
        self->applied = PQntuples(res) ? strtoull(PQgetvalue(res, 0, 0), NULL, 10) : 0;
        self->persisted = self->applied;
        self->loaded = 1;
        PQclear(res);
    }
    size_t i = 0;
    while (i < self->working_count) {
        int rc = consumer__apply_batch(self, conn, i, &i);
        if (rc == 0) {
            self->gap = 1;
            break;
        }
        if (rc < 0) {
            self->retry_later = 1;
            break;
        }
    }
    if (self->flush_due && self->applied > self->persisted) {
        /* Events passed over since the last commit: the inbox shows the consumer is not behind
         * (what monitoring and a waiting test read), in one statement. */
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "UPDATE inbox SET last_seq = greatest(last_seq, %" PRIu64 ") WHERE producer = %s",
                 self->applied, self->producer_literal);
        if (tsr_db_command(conn, sql, NULL) == 0)
            self->persisted = self->applied;
    }
    self->flush_due = 0;
    tsr_db_release(db, conn);
}

static void consumer__on_flush(uv_timer_t *timer)
{
    tsr_consumer_t *self = timer->data;
    if (self->applying || self->closing)
        return; /* the job's end arms the timer again */
    self->flush_due = 1;
    consumer__schedule(self);
}

static void consumer__done(void *arg)
{
    tsr_consumer_t *self = arg;
    self->applying = 0;
    /* What the job did not get to goes back in the queue; applied ones are dropped there. */
    for (size_t i = 0; i < self->working_count; i++) {
        if (!self->closing && self->working[i].seq > self->applied)
            consumer__enqueue(self, self->working[i].seq, self->working[i].data, self->working[i].len,
                              self->working[i].wanted);
        free(self->working[i].data);
    }
    free(self->working);
    self->working = NULL;
    self->working_count = 0;
    if (self->closing) {
        consumer__maybe_free(self);
        return;
    }
    if (self->applied > self->persisted && !uv_is_active((uv_handle_t *)&self->flush))
        uv_timer_start(&self->flush, consumer__on_flush, CONSUMER_FLUSH_MS, 0);
    if (self->retry_later) {
        /* Leave it to the idle timer: the database is down or busy. */
        self->retry_later = 0;
        return;
    }
    if (self->gap || (!self->started && self->loaded)) {
        self->gap = 0;
        self->started = 1;
        consumer__request_replay(self);
    }
    consumer__schedule(self);
}

static void consumer__schedule(tsr_consumer_t *self)
{
    if (self->applying || self->closing || (self->queued == 0 && self->loaded && !self->flush_due))
        return;
    self->working = self->queue;
    self->working_count = self->queued;
    self->queue = NULL;
    self->queued = 0;
    self->capacity = 0;
    self->applying = 1;
    if (tsr_db_submit(self->db, consumer__work, consumer__done, self) != 0) {
        self->applying = 0;
        self->queue = self->working;
        self->queued = self->capacity = self->working_count;
        self->working = NULL;
        self->working_count = 0;
    }
}

static void consumer__on_replay(void *arg, const Tsr__Envelope *reply, const tsr_error_t *err)
{
    tsr_consumer_t *self = arg;
    self->replay_in_flight = 0;
    if (self->closing) {
        consumer__maybe_free(self);
        return;
    }
    if (err != NULL) {
        tsr_log_debug(NULL, "replay from %s not answered: %s", self->producer, err->message);
        return;
    }
    Tsr__ReplayReply *batch = tsr__replay_reply__unpack(NULL, reply->payload.len, reply->payload.data);
    if (batch == NULL) {
        tsr_log_warn(NULL, "malformed replay reply from %s", self->producer);
        return;
    }
    /* The producer removed events this daemon has not applied (stopped for longer than the outbox
     * keeps them): going on past them would lose them unseen, so it stops here, and says so, until
     * an operator decides (docs/OPERATIONS.md: "A consumer behind the outbox"). */
    if (batch->oldest_seq > self->replay_from + 1) {
        uint64_t missing = batch->oldest_seq - self->replay_from - 1;
        tsr_metric_set(self->m_unavailable, (double)missing);
        if (self->unavailable_told != batch->oldest_seq)
            tsr_log_error(NULL,
                          "events %" PRIu64 " to %" PRIu64 " of %s were removed from its outbox "
                          "(tessera.outbox_keep_days) before they were applied here; this daemon applies "
                          "nothing more from %s until an operator decides",
                          self->replay_from + 1, batch->oldest_seq - 1, self->producer, self->producer);
        self->unavailable_told = batch->oldest_seq;
        tsr__replay_reply__free_unpacked(batch, NULL);
        return;
    }
    tsr_metric_set(self->m_unavailable, 0);
    uint64_t last_seq = 0;
    for (size_t i = 0; i < batch->n_events; i++) {
        Tsr__Envelope *ev = tsr__envelope__unpack(NULL, batch->events[i].len, batch->events[i].data);
        if (ev == NULL)
            continue;
        consumer__enqueue(self, ev->seq, batch->events[i].data, batch->events[i].len,
                          consumer__wants(self, ev));
        last_seq = ev->seq;
        tsr__envelope__free_unpacked(ev, NULL);
    }
    tsr_metric_set(self->m_lag,
                   batch->head_seq > self->applied ? (double)(batch->head_seq - self->applied) : 0);
    self->replay_more = batch->n_events == CONSUMER_REPLAY_LIMIT && last_seq < batch->head_seq;
    tsr__replay_reply__free_unpacked(batch, NULL);
    consumer__schedule(self);
    if (self->replay_more)
        consumer__request_replay(self);
}

static void consumer__request_replay(tsr_consumer_t *self)
{
    if (self->replay_in_flight || self->closing || !self->loaded)
        return;
    /* Ask from the highest sequence held, applied or queued, so a long catch-up pages forward. */
    uint64_t from = self->applied;
    if (self->queued > 0 && self->queue[0].seq == self->applied + 1) {
        from = self->queue[0].seq;
        for (size_t i = 1; i < self->queued && self->queue[i].seq == from + 1; i++)
            from = self->queue[i].seq;
    }
    Tsr__ReplayRequest req = TSR__REPLAY_REQUEST__INIT;
    req.after_seq = from;
    req.limit = CONSUMER_REPLAY_LIMIT;
    tsr_call_opts_t opts = {.type = "tsr.replay"};
    if (tsr_client_call(self->rpc, &opts, &req.base, consumer__on_replay, self) == 0) {
        self->replay_in_flight = 1;
        self->replay_from = from;
    }
}

static int consumer__on_readable(tsr_zwatch_t *watch, int budget)
{
    tsr_consumer_t *self = watch->data;
    int taken = 0;
    while (taken < budget) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, self->sub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            break;
        }
        taken++;
        Tsr__Envelope *ev = tsr__envelope__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
        if (ev != NULL && ev->kind == TSR__ENVELOPE__KIND__EVENT && ev->seq > 0) {
            self->heard = 1;
            if (ev->seq > self->heard_seq)
                self->heard_seq = ev->seq;
            consumer__enqueue(self, ev->seq, zmq_msg_data(&msg), zmq_msg_size(&msg),
                              consumer__wants(self, ev));
        } else
            tsr_log_warn(NULL, "dropped a malformed event from %s", self->producer);
        if (ev)
            tsr__envelope__free_unpacked(ev, NULL);
        zmq_msg_close(&msg);
    }
    consumer__schedule(self);
    return taken;
}

static void consumer__on_idle(uv_timer_t *timer)
{
    tsr_consumer_t *self = timer->data;
    if (self->heard && self->started && !self->gap) {
        self->heard = 0;
        tsr_metric_set(self->m_lag,
                       self->heard_seq > self->applied ? (double)(self->heard_seq - self->applied) : 0);
    } else {
        consumer__request_replay(self);
    }
    consumer__schedule(self);
}

tsr_consumer_t *tsr_consumer_new(tsr_daemon_t *daemon, void *zmq_ctx, const char *producer,
                                 const char *events_endpoint, tsr_client_t *producer_rpc, tsr_wants_fn wants,
                                 tsr_apply_fn apply, tsr_flush_fn flush, int idle_ms)
{
    tsr_consumer_t *self = calloc(1, sizeof(*self));
    if (self == NULL)
        return NULL;
    self->daemon = daemon;
    self->db = tsr_daemon_db(daemon);
    /* Producer names are the daemons' own ([a-z0-9_-]); quoted as a literal once, here. */
    for (const char *c = producer; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-')) {
            tsr_log_error(NULL, "cannot subscribe to \"%s\": not a daemon's name", producer);
            free(self);
            return NULL;
        }
    self->producer = strdup(producer);
    size_t literal_len = strlen(producer) + 3;
    self->producer_literal = malloc(literal_len);
    if (self->producer == NULL || self->producer_literal == NULL) {
        free(self->producer_literal);
        free(self->producer);
        free(self);
        return NULL;
    }
    snprintf(self->producer_literal, literal_len, "'%s'", producer);
    self->rpc = producer_rpc;
    self->wants = wants;
    self->apply = apply;
    self->write_gathered = flush;
    self->sub = zmq_socket(zmq_ctx, ZMQ_SUB);
    int zero = 0, hwm = 100000;
    zmq_setsockopt(self->sub, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(self->sub, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(self->sub, ZMQ_SUBSCRIBE, "", 0);
    tsr_error_t curve_err;
    int curve_ok = tsr_curve_connect(self->sub, producer, &curve_err) == 0;
    if (!curve_ok || zmq_connect(self->sub, events_endpoint) != 0) {
        tsr_log_error(NULL, "cannot subscribe to %s at %s: %s", producer, events_endpoint,
                      curve_ok ? zmq_strerror(errno) : curve_err.message);
        zmq_close(self->sub);
        free(self->producer_literal);
        free(self->producer);
        free(self);
        return NULL;
    }
    self->watch.data = self;
    tsr_zwatch_init(tsr_daemon_loop(daemon), &self->watch, self->sub, consumer__on_readable);
    uv_timer_init(tsr_daemon_loop(daemon), &self->idle);
    self->idle.data = self;
    uv_timer_start(&self->idle, consumer__on_idle, 0, (uint64_t)idle_ms);
    uv_timer_init(tsr_daemon_loop(daemon), &self->flush);
    self->flush.data = self;
    self->handles_open = 3;
    char labels[128];
    snprintf(labels, sizeof(labels), "producer=\"%s\"", producer);
    self->m_applied =
        tsr_metrics_counter("tsr_inbox_applied_total", "Events applied from a producer.", labels);
    self->m_dead = tsr_metrics_counter("tsr_inbox_dead_total", "Events that could not be applied.", labels);
    self->m_lag =
        tsr_metrics_gauge("tsr_inbox_lag", "Events published by a producer and not yet applied.", labels);
    self->m_unavailable = tsr_metrics_gauge(
        "tsr_inbox_unavailable",
        "Events of a producer this daemon had not applied when they were removed from its outbox: "
        "nothing more is applied from it until an operator decides.",
        labels);
    return self;
}

int tsr_consumer_busy(const tsr_consumer_t *self)
{
    return self->applying;
}

static void consumer__on_closed(tsr_zwatch_t *watch)
{
    tsr_consumer_t *self = watch->data;
    self->handles_open--;
    consumer__maybe_free(self);
}

static void consumer__on_timer_closed(uv_handle_t *handle)
{
    tsr_consumer_t *self = handle->data;
    self->handles_open--;
    consumer__maybe_free(self);
}

void tsr_consumer_close(tsr_consumer_t *self)
{
    self->closing = 1;
    tsr_zwatch_close(&self->watch, consumer__on_closed);
    uv_close((uv_handle_t *)&self->idle, consumer__on_timer_closed);
    uv_close((uv_handle_t *)&self->flush, consumer__on_timer_closed);
}
