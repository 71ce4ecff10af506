/* trail: the audit daemon's append-only, hash-chained trail of who read or changed which record,
 * fed by the events of the daemons that own the records, and the queries over it. */
#ifndef AUDIT_TRAIL_H
#define AUDIT_TRAIL_H

#include "tsr_daemon.h"

/* Whether an event is an access to a person's or organisation's record (the rest pass by). */
int audit_trail_wants(const Tsr__Envelope *ev);
/* Applies one event from another daemon's outbox: an entry for each access it describes, chained
 * and kept in memory until audit_trail_flush. */
int audit_trail_apply(tsr_event_t *ev, tsr_error_t *err);
/* Writes the entries the applies of the transaction gathered, in one statement, with the chain's
 * head (and the names audit_uses_keep_person gathered); before the batch commits (tsr_flush_fn). */
int audit_trail_flush(tsr_event_t *ev, tsr_error_t *err);
/* audit.events.query: the trail, newest first, for auditors. */
int audit_events_query(tsr_call_t *call, tsr_error_t *err);

/* audit.trail.verify: the whole trail checked against its hash chain, for auditors and batch jobs. */
int audit_trail_verify(tsr_call_t *call, tsr_error_t *err);

#endif
