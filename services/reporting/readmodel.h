/* readmodel: the reporting daemon's copy of what its reports need, kept from events only (the
 * daemon never reads another daemon's schema). Each apply runs in the consumer's transaction that
 * also records the event in the inbox, so an event redelivered after a restart has no second
 * effect. */
#ifndef REPORTING_READMODEL_H
#define REPORTING_READMODEL_H

#include "tsr_daemon.h"

/* reporting.timezone: the office clock on which a step's days are counted (Europe/London). */
int reporting_readmodel_configure(const tsr_config_t *config, tsr_error_t *err);
const char *reporting_readmodel_timezone(void);
/* workflow.step.*: a Front Door Consultation step as it now stands, and a CPIS Follow up's (open, and
 * the virtual worker's queue holding it); workflow.request.*: a Front Door Consultation's requests
 * (where an open one waits). Other steps and requests are not this model's. */
int reporting_wants_workflow_event(const Tsr__Envelope *ev);
int reporting_apply_workflow_event(tsr_event_t *ev, tsr_error_t *err);
/* consultations.consultation.saved / .imported: its form as it now stands (and when section 2, the
 * decision, was first completed). */
int reporting_wants_consultations_event(const Tsr__Envelope *ev);
int reporting_apply_consultations_event(tsr_event_t *ev, tsr_error_t *err);

#endif
