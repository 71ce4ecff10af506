/* organisations: the records daemon's organisations: referrers (schools, children's centres,
 * police, health) and the dummy 'Consultation' organisation. Every creation and every view is an
 * event in the outbox, so that the audit trail learns of it. */
#ifndef RECORDS_ORGANISATIONS_H
#define RECORDS_ORGANISATIONS_H

#include "tsr_daemon.h"

int records_organisation_create(tsr_call_t *call, tsr_error_t *err);
int records_organisation_get(tsr_call_t *call, tsr_error_t *err);
int records_organisation_search(tsr_call_t *call, tsr_error_t *err);

#endif
