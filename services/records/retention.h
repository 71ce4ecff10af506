/* retention: the retention flags of a person's record (seed 002: at a case's closure, flagged with
 * the criterion of the council's schedule, records.retention_schedule_file; the latest date of a
 * record's flags is the whole record's), holds that keep a record longer for an ongoing inquiry, and
 * the records due for disposal. */
#ifndef RECORDS_RETENTION_H
#define RECORDS_RETENTION_H

#include <stdint.h>

#include "cpis.pb-c.h"
#include "records.pb-c.h"
#include "tsr_daemon.h"

/* One flag per service: CSSW, EH and ASC. */
#define RECORDS_RETENTION_SERVICES 3

/* A record's retention as loaded for its summary page: what the Retention message points into. */
typedef struct {
    Tsr__Records__Retention retention;
    Tsr__Records__RetentionHold hold;
    Tsr__Records__RetentionFlag flags[RECORDS_RETENTION_SERVICES];
    Tsr__Records__RetentionFlag *flag_ptrs[RECORDS_RETENTION_SERVICES];
    size_t n_flags;
    char *open[RECORDS_RETENTION_SERVICES];
    size_t n_open;
    char *unflagged[RECORDS_RETENTION_SERVICES];
    size_t n_unflagged;
    /* A CP-IS plan still open (it keeps CSSW open), and whether it alone does. */
    const Tsr__Cpis__PlanState *open_plan;
    int open_by_plan_only;
    PGresult *res;
} records_retention_t;

/* Reads the schedule file (records.retention_schedule_file; none: nothing can be flagged yet). A
 * fault in it stops the daemon, naming the file and the criterion. */
int records_retention_configure(const tsr_config_t *config, tsr_error_t *err);
int records_retention_load(tsr_call_t *call, uint64_t person_id, records_retention_t *out, tsr_error_t *err);
/* The same, counting the record's CP-IS plans (plans: as records_retention_plans answered; NULL when
 * not known): an open one keeps CSSW open, an ended one makes CSSW a service to flag. out points
 * into plans, which must outlive it. */
int records_retention_load_plans(tsr_call_t *call, uint64_t person_id, const Tsr__Cpis__PlanStates *plans,
                                 records_retention_t *out, tsr_error_t *err);
/* Asks the cpis daemon for the CP-IS plans of the record and of the duplicates merged into it
 * (cpis.plans.states); -1 with 503 when it does not answer. Free with records_retention_plans_free. */
int records_retention_plans(tsr_call_t *call, uint64_t person_id, Tsr__Cpis__PlanStates **out,
                            tsr_error_t *err);
void records_retention_plans_free(Tsr__Cpis__PlanStates **plans);
void records_retention_release(records_retention_t *r);

int records_retention_schedule(tsr_call_t *call, tsr_error_t *err);
int records_retention_flag(tsr_call_t *call, tsr_error_t *err);
int records_retention_unflag(tsr_call_t *call, tsr_error_t *err);
int records_retention_hold(tsr_call_t *call, tsr_error_t *err);
int records_retention_release_hold(tsr_call_t *call, tsr_error_t *err);
int records_retention_due(tsr_call_t *call, tsr_error_t *err);

#endif
