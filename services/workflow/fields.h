/* fields: a section's data checked against its definition's fields (type, required, picklist), and
 * next actions against the step type's list. The same checks hold for every step type. */
#ifndef WF_FIELDS_H
#define WF_FIELDS_H

#include <jansson.h>

#include "wf.h"

/* Checks data (an object) against fields; fills defaults ("current-worker"). When completing, every
 * required field must have a value. 0, or -1 with err naming data.<field>. */
int wf_fields_check(tsr_call_t *call, const json_t *fields, json_t *data, int completing, tsr_error_t *err);
/* Checks a list of next actions {action, reason, note, priority, case_note}: each one the step type
 * allows for its variant, a reason from the list where one is required, a known priority, a case
 * note only with a reason that takes one; finishing needs at least one when the step has a required
 * next-actions section (the caller checks that). */
int wf_fields_check_next_actions(tsr_call_t *call, const wf_step_t *step, const json_t *actions,
                                 int completing, tsr_error_t *err);

/* The option of a next action's reasons whose value is reason, or NULL. */
const json_t *wf_fields_reason(const json_t *def_action, const char *reason);
/* Whether the step's sections hold, in when's field, one of when's values ({field, values}: the
 * first section that has the field). 1 or 0, or -1 with err. */
int wf_fields_step_matches(PGconn *conn, uint64_t step_id, const json_t *when, tsr_error_t *err);
/* What tells a step of def apart from others of its type in a workview: its summary fields' values
 * in data (the summary section's, as JSON text), each as the step page shows it (a picklist's title,
 * a date and time on the office clock, dd/mm/yyyy HH:MM), joined by ", ": "Emergency department,
 * 05/01/2026 10:12". NULL when the type has no summary or none of its fields holds a value; caller
 * frees. */
char *wf_fields_summary(const json_t *def, const char *data_text);

#endif
