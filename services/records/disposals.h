/* disposals: deleting a person's record at the end of its retention (seed 002: "Once the retention
 * period has been reached ... records are deleted appropriately"). A record is disposed of only when
 * it is due as the list of records due for disposal says (every flag's date reached, no hold,
 * nothing open, every service it was involved with flagged); it goes with the duplicates merged into
 * it, and everything kept about them here. The register (disposals) keeps no personal data, and
 * answers the id "disposed of" from then on. The event records.person.disposed tells the daemons
 * that keep work (workflow) or CP-IS data (cpis) under the record to delete theirs. */
#ifndef RECORDS_DISPOSALS_H
#define RECORDS_DISPOSALS_H

#include <stdint.h>

#include "tsr_daemon.h"

int records_person_dispose(tsr_call_t *call, tsr_error_t *err);

/* The 404 of a person who is not there: "disposed of on ..." when the register says so, else "no
 * person with id". Always -1. */
int records_person_not_found(tsr_call_t *call, uint64_t id, tsr_error_t *err);

#endif
