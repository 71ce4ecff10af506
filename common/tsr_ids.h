/* ids: where the suite's own numbering starts, so that ids loaded from the old system (which the
 * customer's documents quote, e.g. step 13011373 in seed 000) never meet one of ours. */
#ifndef TSR_IDS_H
#define TSR_IDS_H

/* The workflow daemon's first step id (its migration's step_ids sequence starts here; a test checks
 * that they agree). An old-system step id loaded into Tessera must be below it. */
#define TSR_STEP_ID_FIRST 14000000ULL

#endif
