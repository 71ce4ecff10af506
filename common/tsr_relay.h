/* tsr_relay: publishes a daemon's outbox on its PUB socket (see tsr_outbox.h for the sequence).
 * Kicked after every commit that wrote events, and on a timer for anything a kick missed. Events
 * numbered elsewhere (the group commit's) are handed to it to publish; it publishes every event
 * strictly in sequence order, holding back what comes before a lower number, and reads back from
 * the outbox any number that was committed but not handed over within a moment. */
#ifndef TSR_RELAY_H
#define TSR_RELAY_H

#include "tsr_db.h"
#include "tsr_outbox.h"

typedef struct tsr_relay tsr_relay_t;

tsr_relay_t *tsr_relay_new(uv_loop_t *loop, tsr_db_t *db, void *pub_socket, const char *producer,
                           int interval_ms);
void tsr_relay_kick(tsr_relay_t *self);
/* The same after a commit, a moment later, so that the commits of a busy moment share one numbering. */
void tsr_relay_kick_soon(tsr_relay_t *self);
/* Publishes events numbered and committed elsewhere (tsr_outbox_commit_numbered), in their turn;
 * takes batch (its events, or only its head when they could not be made ready). */
void tsr_relay_publish_numbered(tsr_relay_t *self, tsr_outbox_batch_t *batch);
int tsr_relay_busy(const tsr_relay_t *self);
/* Stops the timer; a job already running completes. Frees once closed and idle. */
void tsr_relay_close(tsr_relay_t *self);

#endif
