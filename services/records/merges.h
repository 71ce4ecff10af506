/* merges: merging a duplicate person record into the one that goes forward (seed 002: "there is
 * only a single record going forward"). Everything recorded against the duplicate follows it. */
#ifndef RECORDS_MERGES_H
#define RECORDS_MERGES_H

#include "tsr_daemon.h"

int records_person_merge(tsr_call_t *call, tsr_error_t *err);

#endif
