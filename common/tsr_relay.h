/* tsr_relay: publishes a daemon's outbox on its PUB socket (see tsr_outbox.h for the sequence).
 * Kicked after every commit that wrote events, and on a timer for anything a kick missed. */
#ifndef TSR_RELAY_H
#define TSR_RELAY_H

#include "tsr_db.h"

typedef struct tsr_relay tsr_relay_t;

tsr_relay_t *tsr_relay_new(uv_loop_t *loop, tsr_db_t *db, void *pub_socket, const char *producer,
                           int interval_ms);
void tsr_relay_kick(tsr_relay_t *self);
/* The same after a commit, a moment later, so that the commits of a busy moment share one numbering. */
void tsr_relay_kick_soon(tsr_relay_t *self);
int tsr_relay_busy(const tsr_relay_t *self);
/* Stops the timer; a job already running completes. Frees once closed and idle. */
void tsr_relay_close(tsr_relay_t *self);

#endif
