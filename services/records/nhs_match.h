/* nhs_match: who holds an NHS number, for the cpis daemon's matching of CP-IS notifications to the
 * children they are about, and the demographics of the children whose plans cpis shares. Records owns people,
 * so the rule for what a number can match lives here; which match applies on a given day (the mother's number
 * for an unborn child until the expected date of delivery) is cpis's rule. */
#ifndef RECORDS_NHS_MATCH_H
#define RECORDS_NHS_MATCH_H

#include "tsr_daemon.h"

/* records.person.match_nhs: for a batch of NHS numbers, the people holding each, in one statement.
 * Only the cpis service (role cpis-service) or the system may ask. */
int records_person_match_nhs(tsr_call_t *call, tsr_error_t *err);
/* records.person.demographics: for a set of people, the demographics CP-IS shares and checks (each
 * person, and the mother of each unborn one), in one statement; for the cpis plan export. */
int records_person_demographics(tsr_call_t *call, tsr_error_t *err);

#endif
