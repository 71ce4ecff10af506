/* fields: a section's data checked against its definition's fields (type, required, picklist), and
 * next actions against the step type's list. The same checks hold for every step type. */
#ifndef WF_FIELDS_H
#define WF_FIELDS_H

#include <jansson.h>

#include "wf.h"

/* Checks data (an object) against fields; fills defaults ("current-worker"). When completing, every
 * required field must have a value. 0, or -1 with err naming data.<field>. */
int wf_fields_check(tsr_call_t *call, const json_t *fields, json_t *data, int completing, tsr_error_t *err);
/* Checks a list of next actions {action, reason, note, priority}: each one the step type allows for
 * its variant, a reason from the list where one is required, a known priority; finishing needs at
 * least one when the step has a required next-actions section (the caller checks that). */
int wf_fields_check_next_actions(tsr_call_t *call, const wf_step_t *step, const json_t *actions,
                                 int completing, tsr_error_t *err);

#endif
