/* restrictions: restricting a record and lifting it (system support; seed 002), and the
 * restrictions whose review date has come. Who may open a restricted record is access.c's. */
#ifndef RECORDS_RESTRICTIONS_H
#define RECORDS_RESTRICTIONS_H

#include "tsr_daemon.h"

/* records.person.restrict: the reason, the review date and the workers named on the access list. */
int records_restriction_set(tsr_call_t *call, tsr_error_t *err);
/* records.person.unrestrict */
int records_restriction_lift(tsr_call_t *call, tsr_error_t *err);
/* records.restriction.due: the restrictions to review on a day, the longest overdue first; a read,
 * audited as records.restrictions.listed. */
int records_restriction_due(tsr_call_t *call, tsr_error_t *err);

#endif
