/* people: the records daemon's people (children, adults, unborn children), their restrictions and
 * their allocations. Every read and every refused attempt is an event for the audit trail, written
 * in the same transaction as the read. */
#ifndef RECORDS_PEOPLE_H
#define RECORDS_PEOPLE_H

#include "tsr_daemon.h"

int records_person_create(tsr_call_t *call, tsr_error_t *err);
int records_person_get(tsr_call_t *call, tsr_error_t *err);
int records_person_search(tsr_call_t *call, tsr_error_t *err);
int records_person_restrict(tsr_call_t *call, tsr_error_t *err);
int records_person_unrestrict(tsr_call_t *call, tsr_error_t *err);
int records_allocation_add(tsr_call_t *call, tsr_error_t *err);
int records_allocation_end(tsr_call_t *call, tsr_error_t *err);

#endif
