#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "consultations.h"
#include "tsr_envelope.h"
#include "workflow.pb-c.h"

int consultations_wants_workflow_event(const Tsr__Envelope *ev)
{
    return strcmp(ev->type, "workflow.step.deleted") == 0;
}

int consultations_apply_workflow_event(tsr_event_t *ev, tsr_error_t *err)
{
    Tsr__Workflow__StepEvent *m = (Tsr__Workflow__StepEvent *)tsr_unpack(
        &tsr__workflow__step_event__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (m == NULL)
        return -1;
    char step[24];
    snprintf(step, sizeof(step), "%" PRIu64, m->step_id);
    tsr__workflow__step_event__free_unpacked(m, NULL);
    const char *params[1] = {step};
    /* The form goes with its step: the words recorded in error must not outlive it here. A
     * consultation loaded from the old system has no step in the workflow daemon to delete. */
    PGresult *res = tsr_db_exec(
        ev->conn, "DELETE FROM consultations WHERE step_id = $1::bigint AND NOT imported", 1, params, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}
