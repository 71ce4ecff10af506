/* retention: the retention flags of a person's record (seed 002: at a case's closure, flagged with
 * the criterion of the council's schedule, records.retention_schedule_file; the latest date of a
 * record's flags is the whole record's), holds that keep a record longer for an ongoing inquiry, and
 * the records due for disposal. */
#ifndef RECORDS_RETENTION_H
#define RECORDS_RETENTION_H

#include <stdint.h>

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
    PGresult *res;
} records_retention_t;

/* Reads the schedule file (records.retention_schedule_file; none: nothing can be flagged yet). A
 * fault in it stops the daemon, naming the file and the criterion. */
int records_retention_configure(const tsr_config_t *config, tsr_error_t *err);
int records_retention_load(tsr_call_t *call, uint64_t person_id, records_retention_t *out, tsr_error_t *err);
void records_retention_release(records_retention_t *r);

int records_retention_schedule(tsr_call_t *call, tsr_error_t *err);
int records_retention_flag(tsr_call_t *call, tsr_error_t *err);
int records_retention_unflag(tsr_call_t *call, tsr_error_t *err);
int records_retention_hold(tsr_call_t *call, tsr_error_t *err);
int records_retention_release_hold(tsr_call_t *call, tsr_error_t *err);
int records_retention_due(tsr_call_t *call, tsr_error_t *err);

#endif
