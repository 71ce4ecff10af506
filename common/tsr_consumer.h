/* tsr_consumer: the consumer's half of "nothing lost". Events arrive live on SUB; each is applied
 * and recorded in the inbox (producer, seq) in one transaction, strictly in sequence order, so a
 * redelivered event has no second effect. On a gap, at start-up and when idle, the consumer asks
 * the producer to replay from the last sequence it holds. Events the consumer does not want (wants
 * says 0) are passed over without a transaction; the inbox catches up with them at the next event
 * applied or 100 ms after the last, and a replay after a restart passes over them again. flush
 * (may be NULL) is called where tsr_daemon_subscribe_batched says. */
#ifndef TSR_CONSUMER_H
#define TSR_CONSUMER_H

#include "tsr_client.h"
#include "tsr_daemon.h"
#include "tsr_db.h"

typedef struct tsr_consumer tsr_consumer_t;

tsr_consumer_t *tsr_consumer_new(tsr_daemon_t *daemon, void *zmq_ctx, const char *producer,
                                 const char *events_endpoint, tsr_client_t *producer_rpc, tsr_wants_fn wants,
                                 tsr_apply_fn apply, tsr_flush_fn flush, int idle_ms);
int tsr_consumer_busy(const tsr_consumer_t *self);
/* Stops listening; frees once closed and idle. */
void tsr_consumer_close(tsr_consumer_t *self);

#endif
