/* ingest: CP-IS access notifications in. Each notification of a batch is validated (a reason in
 * words for each fault), dropped when its id was already received, matched to the child through
 * records (one question per batch), and either accepted (asking the workflow daemon, through the
 * outbox in the same transaction, for a CPIS Follow up step for the CP-IS Worker) or put in the
 * error queue that system support works. */
#ifndef CPIS_INGEST_H
#define CPIS_INGEST_H

#include "tsr_daemon.h"

/* cpis.notifications.ingest: only the cpis-service role (the spine poller) or the system. */
int cpis_notifications_ingest(tsr_call_t *call, tsr_error_t *err);
/* cpis.errors.list: the open error queue, newest first, for system support. */
int cpis_errors_list(tsr_call_t *call, tsr_error_t *err);
/* cpis.errors.retry: a queued notification judged again (system support), answered as a batch. */
int cpis_errors_retry(tsr_call_t *call, tsr_error_t *err);
/* cpis.errors.close: an open entry taken out of the queue by system support, with their reason. */
int cpis_errors_close(tsr_call_t *call, tsr_error_t *err);
/* Sets the error queue's gauges (open entries and the oldest's age, by source) and, until a batch
 * comes, when the last one came; a tsr_daemon_every job (cpis.metrics_ms). */
int cpis_errors_metrics(PGconn *conn, void *arg, tsr_error_t *err);
/* Follows records' events: a key worker allocated to a child with an open no_key_worker entry is asked
 * for the new NHS number and the entry leaves the queue; so does it when a new number is recorded. */
int cpis_records_wants(const Tsr__Envelope *event);
int cpis_records_apply(tsr_event_t *ev, tsr_error_t *err);

#endif
