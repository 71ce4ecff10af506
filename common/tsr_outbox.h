/* tsr_outbox: the producer's half of "nothing lost".
 *
 * An event is written to the daemon's outbox table in the same transaction as the change that
 * caused it. The relay gives committed events a gap-free publication sequence in the order it finds
 * them, then publishes them on PUB. Sequence numbers are given at relay time, not insert time,
 * because transactions commit out of insert order: a consumer that saw 7 must never later find a 6
 * committed behind it. The one exception is the group commit of reads' events, which numbers its
 * own as it writes them, holding the same lock until its COMMIT (tsr_outbox_commit_numbered), and
 * hands them to the relay to publish in their turn. Consumers that miss a message ask for a replay
 * (tsr.replay) from the last sequence they hold. */
#ifndef TSR_OUTBOX_H
#define TSR_OUTBOX_H

#include <libpq-fe.h>
#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "envelope.pb-c.h"
#include "tsr_error.h"

/* Appends an event to the outbox inside the caller's open transaction (on a pool connection, sent
 * with the transaction's next statement or COMMIT). */
int tsr_outbox_append(PGconn *conn, const char *type, const Tsr__Actor *actor, const char *trace_id,
                      const ProtobufCMessage *payload, tsr_error_t *err);

/* Appends n events of one type, in that order, in one statement (on a pool connection, sent with
 * the transaction's next statement or COMMIT): what a change of many rows at once emits. */
int tsr_outbox_append_many(PGconn *conn, const char *type, const Tsr__Actor *actor, const char *trace_id,
                           const ProtobufCMessage *const *payloads, size_t n, tsr_error_t *err);
/* The same in two steps, for events kept in memory until a later transaction writes them (a read's
 * audit events, written with other reads' in one commit: tsr_daemon's group commit). pack builds the
 * event's Envelope, timed now (malloc'd; NULL and err on failure); append_packed writes count of
 * them in one INSERT, sent with the transaction's next statement or COMMIT. */
typedef struct {
    const char *type;
    const uint8_t *envelope;
    size_t len;
} tsr_outbox_event_t;
uint8_t *tsr_outbox_pack(const char *type, const Tsr__Actor *actor, const char *trace_id,
                         const ProtobufCMessage *payload, size_t *len, tsr_error_t *err);
int tsr_outbox_append_packed(PGconn *conn, const tsr_outbox_event_t *events, size_t count, tsr_error_t *err);

/* A list of packed Envelopes, each with producer and seq filled, in sequence order. */
typedef struct {
    uint8_t **events;
    size_t *lens;
    size_t count;
    uint64_t head;   /* the highest sequence given so far */
    uint64_t oldest; /* tsr_outbox_read: the lowest still held (head + 1 when none) */
} tsr_outbox_batch_t;

/* The group commit's end (after BEGIN and nothing else written): writes count events numbered at
 * once, under the relay's lock, and commits, in one round trip. On success batch holds them ready to
 * publish (producer and seq filled), head their last number; if they cannot be made ready (out of
 * memory), batch is empty but for head, and the relay reads them back. On failure nothing was
 * numbered unless the commit's outcome is unknown (then the relay finds them there). */
int tsr_outbox_commit_numbered(PGconn *conn, const char *producer, const tsr_outbox_event_t *events,
                               size_t count, tsr_outbox_batch_t *batch, tsr_error_t *err);

/* Relay step, in its own transaction: numbers up to limit committed, unnumbered events and returns
 * them in batch, ready to publish. batch->count is 0 when there was nothing to number. */
int tsr_outbox_assign(PGconn *conn, const char *producer, int limit, tsr_outbox_batch_t *batch,
                      tsr_error_t *err);

/* Published events with after_seq < seq, at most limit: what a replay answers. */
int tsr_outbox_read(PGconn *conn, const char *producer, uint64_t after_seq, int limit,
                    tsr_outbox_batch_t *batch, tsr_error_t *err);
void tsr_outbox_batch_free(tsr_outbox_batch_t *batch);

/* Removes published events older than keep_days, oldest first and at most a page at a time (the
 * daemon's housekeeping calls it each round). Kept that long, a consumer stopped for less still
 * catches up by replay; one stopped for longer is told what it can no longer have (oldest in the
 * replay's answer), and stops there for an operator, rather than going on without it. The number of
 * events removed, or -1. */
long tsr_outbox_forget(PGconn *conn, long keep_days, tsr_error_t *err);

#endif
