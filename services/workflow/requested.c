/* Steps asked for by other daemons: <producer>.step.requested from their outbox (a CP-IS access
 * notification asks for a CPIS Follow up for the CP-IS Worker). Started once per dedupe key, with
 * the sections' first values saved (not completed), as the producer's actor. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "definitions.h"
#include "tsr_envelope.h"
#include "wf.h"

#include "tsr_log.h"

static int requested__ends_with(const char *type, const char *suffix)
{
    size_t len = strlen(type), n = strlen(suffix);
    return len > n && strcmp(type + len - n, suffix) == 0;
}

int wf_wants_step_requested(const Tsr__Envelope *ev)
{
    return requested__ends_with(ev->type, ".step.requested") ||
           requested__ends_with(ev->type, ".steps.requested");
}

/* Saves a section's first values as given by the producer; the section's fields are its own. */
static int requested__section(tsr_call_t *call, uint64_t step_id, const json_t *def,
                              const Tsr__Workflow__SectionValues *s, tsr_error_t *err)
{
    if (s->number == NULL || wf_def_section(def, s->number) == NULL)
        return tsr_error_set(err, TSR_E_INVALID, "unknown_section", "sections",
                             "The step asked for has no section \"%s\".", s->number ? s->number : "");
    json_t *data = json_loads(s->data_json ? s->data_json : "", JSON_REJECT_DUPLICATES, NULL);
    int object = json_is_object(data);
    json_decref(data);
    if (!object)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_value", "sections",
                             "Section %s's values are not a JSON object.", s->number);
    char id[24], by[24];
    snprintf(id, sizeof(id), "%" PRIu64, step_id);
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    const char *params[4] = {id, s->number, s->data_json, by};
    PGresult *res = tsr_db_exec(call->conn,
                                "INSERT INTO sections (step_id, number, data, completed, saved_by)"
                                " VALUES ($1::bigint, $2, $3::jsonb, false, $4::bigint)",
                                4, params, err);
    PQclear(res);
    return res ? 0 : -1;
}

/* Starts one requested step, unless its dedupe key already started one. */
static int requested__one(tsr_event_t *ev, const Tsr__Workflow__StepRequested *in, tsr_error_t *err)
{
    /* The producer's actor starts the step (the CP-IS service account); the system when none. */
    static char *system_roles[] = {"system"};
    Tsr__Actor system = TSR__ACTOR__INIT;
    system.roles = system_roles;
    system.n_roles = 1;
    tsr_call_t call = {.daemon = ev->daemon,
                       .conn = ev->conn,
                       .request = ev->event,
                       .actor = ev->event->actor ? ev->event->actor : &system,
                       .trace_id = ev->event->trace_id};
    int rc = -1;
    char *owner_name = NULL;
    const json_t *def = in->type ? wf_definition_current(in->type, NULL) : NULL;
    const char *kind = in->subject && in->subject->kind && in->subject->kind[0] ? in->subject->kind : "none";
    if (in->dedupe_key == NULL || in->dedupe_key[0] == '\0') {
        tsr_error_set(err, TSR_E_INVALID, "bad_event", NULL, "A requested step needs a dedupe key.");
        goto done;
    }
    if (def == NULL || !wf_def_allows_subject(def, kind)) {
        tsr_error_set(err, TSR_E_INVALID, "unknown_step_type", "type",
                      "There is no step type \"%s\" about a %s.", in->type ? in->type : "", kind);
        goto done;
    }
    const char *params[1] = {in->dedupe_key};
    PGresult *res =
        tsr_db_exec(ev->conn, "SELECT step_id FROM requested_steps WHERE dedupe_key = $1", 1, params, err);
    if (res == NULL)
        goto done;
    int started = PQntuples(res) > 0;
    PQclear(res);
    if (started) {
        rc = 0;
        goto done;
    }
    char owner[WF_OWNER_MAX];
    if (wf_recipient_resolve(&call, in->assign_to,
                             json_object_get(json_object_get(def, "start"), "assign_to"), NULL, owner,
                             &owner_name, err) != 0)
        goto done;
    uint64_t step_id = 0;
    if (wf_step_start_internal(&call, in->type, in->variant ? in->variant : "", kind,
                               in->subject ? in->subject->id : 0, in->subject_name ? in->subject_name : "",
                               owner, &step_id, err) != 0)
        goto done;
    for (size_t i = 0; i < in->n_sections; i++)
        if (requested__section(&call, step_id, def, in->sections[i], err) != 0)
            goto done;
    char sid[24];
    snprintf(sid, sizeof(sid), "%" PRIu64, step_id);
    const char *p3[3] = {in->dedupe_key, ev->event->producer ? ev->event->producer : "", sid};
    res = tsr_db_exec(
        ev->conn, "INSERT INTO requested_steps (dedupe_key, producer, step_id) VALUES ($1, $2, $3::bigint)",
        3, p3, err);
    PQclear(res);
    rc = res ? 0 : -1;
done:
    free(owner_name);
    return rc;
}

int wf_apply_step_requested(tsr_event_t *ev, tsr_error_t *err)
{
    if (!requested__ends_with(ev->event->type, ".steps.requested")) {
        Tsr__Workflow__StepRequested *in = (Tsr__Workflow__StepRequested *)tsr_unpack(
            &tsr__workflow__step_requested__descriptor, ev->event->payload.data, ev->event->payload.len, err);
        if (in == NULL)
            return -1;
        int rc = requested__one(ev, in, err);
        tsr__workflow__step_requested__free_unpacked(in, NULL);
        return rc;
    }
    Tsr__Workflow__StepsRequested *all = (Tsr__Workflow__StepsRequested *)tsr_unpack(
        &tsr__workflow__steps_requested__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (all == NULL)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < all->n_steps; i++) {
        tsr_error_t one;
        tsr_error_clear(&one);
        if (requested__one(ev, all->steps[i], &one) == 0)
            continue;
        /* One step that cannot be started must not keep the others of the event from starting: it
         * is logged and passed over; a failure of the database retries the whole event. */
        if (one.status == TSR_E_INVALID || one.status == TSR_E_NOT_FOUND || one.status == TSR_E_UNPROCESSABLE)
            tsr_log_error(ev->event->trace_id, "step %s (%s) asked for by %s cannot be started: %s",
                          all->steps[i]->dedupe_key, all->steps[i]->type, ev->event->producer, one.message);
        else {
            *err = one;
            rc = -1;
        }
    }
    tsr__workflow__steps_requested__free_unpacked(all, NULL);
    return rc;
}
