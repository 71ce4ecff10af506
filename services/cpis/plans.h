/* plans: CP-IS plan data out (seed 003). The plans the NHS must know of (child protection plans,
 * children in care under s31, s38 or s20, unborn child protection plans shared against the mother's
 * NHS number), recorded here; the NHS's demographics for a number (a PDS trace); the numbered upload
 * files, made on a schedule and on demand, each record checked first the way the national service
 * matches it (demographic_match), a record that would not match held back in the error queue; and
 * the national service's responses read back, per file (CPF01..CPF06) and per record
 * (CPR01..CPR07), each failure in the error queue with its meaning in words. Every plan recorded,
 * ended, listed or shared is told to the audit trail (event cpis.plans.accessed), as is what the
 * error queue shows or closes of a person. */
#ifndef CPIS_PLANS_H
#define CPIS_PLANS_H

#include <jansson.h>
#include <stdint.h>

#include "tsr_daemon.h"

/* Reads the [cpis] settings the files need (la_name, la_ods_code, office_hours_telephone,
 * emergency_duty_telephone, upload_every_ms, upload_dir, upload_write_ms); -1 naming the bad key. */
int cpis_plans_configure(tsr_daemon_t *daemon, tsr_error_t *err);
/* Adds the scheduled upload and the writing of files to cpis.upload_dir; 0 or -1. */
int cpis_plans_schedule(tsr_daemon_t *daemon);

int cpis_plans_record(tsr_call_t *call, tsr_error_t *err);
int cpis_plans_end(tsr_call_t *call, tsr_error_t *err);
int cpis_plans_list(tsr_call_t *call, tsr_error_t *err);
/* cpis.plans.states: for records' retention, the plans of some children (ids, types, dates), or
 * each child with a plan and whether one is open; any worker or the system, not audited (nothing
 * is shown to a worker but that a plan keeps a record open). */
int cpis_plans_states(tsr_call_t *call, tsr_error_t *err);
int cpis_demographics_record(tsr_call_t *call, tsr_error_t *err);
int cpis_uploads_create(tsr_call_t *call, tsr_error_t *err);
int cpis_uploads_list(tsr_call_t *call, tsr_error_t *err);
int cpis_uploads_get(tsr_call_t *call, tsr_error_t *err);
int cpis_uploads_response(tsr_call_t *call, tsr_error_t *err);
/* cpis.uploads.renumber: the next file's sequence number moved on (system administrators and batch
 * jobs), for a restore to an earlier point, after which the numbers the national service has
 * received would be given again; never back to a number given. */
int cpis_uploads_renumber(tsr_call_t *call, tsr_error_t *err);

/* For the error queue (ingest.c): tells the audit trail, in the call's transaction, that the calling
 * worker saw or changed what the queue holds of these people (people: [[person_id, summary], ...],
 * as cpis_audit_add makes them); action is one the audit daemon knows (errors-listed, error-closed). */
int cpis_audit_people(tsr_call_t *call, const char *action, json_t *people, tsr_error_t *err);
void cpis_audit_add(json_t *people, uint64_t person_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
