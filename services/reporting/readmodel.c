#include "readmodel.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consultations.pb-c.h"
#include "tsr_envelope.h"
#include "workflow.pb-c.h"

#define READMODEL_STEP_TYPE "front-door-consultation"
#define READMODEL_FOLLOW_UP_TYPE "cpis-follow-up"

static char readmodel_timezone[64] = "Europe/London";

int reporting_readmodel_configure(const tsr_config_t *config, tsr_error_t *err)
{
    const char *tz = tsr_config_get_timezone(config, "reporting.timezone", "Europe/London", err);
    if (tz == NULL)
        return -1;
    if (strlen(tz) >= sizeof(readmodel_timezone))
        return tsr_error_set(err, TSR_E_INVALID, "bad_config", "reporting.timezone",
                             "reporting.timezone must name a time zone, like Europe/London.");
    snprintf(readmodel_timezone, sizeof(readmodel_timezone), "%s", tz);
    return 0;
}

const char *reporting_readmodel_timezone(void)
{
    return readmodel_timezone;
}

/* The two consumers (workflow's events and consultations') change the same rows and day counts:
 * one at a time, so that they never wait on each other in opposite orders. The lock goes with the
 * first change, in its round trip (nothing reads its result, and the server takes it first). */
static int readmodel__lock(PGconn *conn, tsr_error_t *err)
{
    return tsr_db_defer(conn, "SELECT pg_advisory_xact_lock(hashtext('reporting.consultations'))", 0, NULL,
                        NULL, NULL, err);
}

/* The step events that change what the read model keeps of a step (its title, organisation, start and
 * completion); a save, an assignment, a view or a refusal changes none of it. */
static int readmodel__step_action(const char *type)
{
    static const char *const actions[] = {"started", "finished", "cancelled", "reopened", "deleted"};
    const char *prefix = "workflow.step.";
    if (strncmp(type, prefix, strlen(prefix)) != 0)
        return 0;
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        if (strcmp(type + strlen(prefix), actions[i]) == 0)
            return 1;
    return 0;
}

/* The request types of a Front Door Consultation: where an open one waits (the dashboard). */
static int readmodel__front_door_request(const char *type)
{
    static const char *const types[] = {"pass-to-mash-manager", "pass-to-mash-social-worker",
                                        "please-review-information-and-confirm-next-action"};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(type, types[i]) == 0)
            return 1;
    return 0;
}

/* The request events that change whether a request still waits on its recipient. */
static int readmodel__request_action(const char *type)
{
    return strcmp(type, "workflow.request.sent") == 0 || strcmp(type, "workflow.request.completed") == 0 ||
           strcmp(type, "workflow.request.returned") == 0;
}

/* The step events that change who holds a CPIS Follow up (the CP-IS Worker's queue) or whether it is
 * open. */
static int readmodel__follow_up_action(const char *type)
{
    return readmodel__step_action(type) || strcmp(type, "workflow.step.assigned") == 0 ||
           strcmp(type, "workflow.step.resumed") == 0;
}

int reporting_wants_workflow_event(const Tsr__Envelope *ev)
{
    if (readmodel__request_action(ev->type)) {
        Tsr__Workflow__RequestEvent *r =
            tsr__workflow__request_event__unpack(NULL, ev->payload.len, ev->payload.data);
        if (r == NULL)
            return 1; /* the apply sets it aside with its reason */
        int wanted = r->type != NULL && readmodel__front_door_request(r->type);
        tsr__workflow__request_event__free_unpacked(r, NULL);
        return wanted;
    }
    if (!readmodel__follow_up_action(ev->type))
        return 0;
    Tsr__Workflow__StepEvent *m = tsr__workflow__step_event__unpack(NULL, ev->payload.len, ev->payload.data);
    if (m == NULL)
        return 1; /* the apply sets it aside with its reason */
    int wanted =
        m->type != NULL &&
        ((readmodel__step_action(ev->type) && strcmp(m->type, READMODEL_STEP_TYPE) == 0 &&
          m->subject != NULL && m->subject->kind != NULL && strcmp(m->subject->kind, "organisation") == 0) ||
         strcmp(m->type, READMODEL_FOLLOW_UP_TYPE) == 0);
    tsr__workflow__step_event__free_unpacked(m, NULL);
    return wanted;
}

int reporting_wants_consultations_event(const Tsr__Envelope *ev)
{
    return strcmp(ev->type, "consultations.consultation.imported") == 0 ||
           strcmp(ev->type, "consultations.consultation.saved") == 0;
}

/* A request of a Front Door Consultation: sent (waiting on its recipient), completed or returned. */
static int readmodel__apply_request(tsr_event_t *ev, tsr_error_t *err)
{
    Tsr__Workflow__RequestEvent *r = (Tsr__Workflow__RequestEvent *)tsr_unpack(
        &tsr__workflow__request_event__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (r == NULL)
        return -1;
    int rc = 0;
    if (r->type == NULL || !readmodel__front_door_request(r->type))
        goto done;
    char id[24], step[24], at[24];
    snprintf(id, sizeof(id), "%" PRIu64, r->request_id);
    snprintf(step, sizeof(step), "%" PRIu64, r->step_id);
    snprintf(at, sizeof(at), "%" PRId64, ev->event->occurred_at_ms);
    const char *status = ev->event->type + strlen("workflow.request.");
    const char *p[5] = {id, step, r->type, status, at};
    PGresult *res =
        tsr_db_exec(ev->conn,
                    "INSERT INTO consultation_requests (request_id, step_id, type, status, sent_at)"
                    " VALUES ($1::bigint, $2::bigint, $3, $4,"
                    " CASE WHEN $4 = 'sent' THEN to_timestamp($5::bigint / 1000.0) END)"
                    " ON CONFLICT (request_id) DO UPDATE SET status = EXCLUDED.status,"
                    " sent_at = coalesce(EXCLUDED.sent_at, consultation_requests.sent_at)",
                    5, p, err);
    if (res == NULL)
        rc = -1;
    PQclear(res);
done:
    tsr__workflow__request_event__free_unpacked(r, NULL);
    return rc;
}

/* A CPIS Follow up as it stands: open or not, and the virtual worker whose queue holds it (since
 * when it came into that queue). */
static int readmodel__apply_follow_up(tsr_event_t *ev, const Tsr__Workflow__StepEvent *m, tsr_error_t *err)
{
    char step[24], started[24], at[24];
    snprintf(step, sizeof(step), "%" PRIu64, m->step_id);
    snprintf(started, sizeof(started), "%" PRId64, m->started_at_ms);
    snprintf(at, sizeof(at), "%" PRId64, ev->event->occurred_at_ms);
    int open = strcmp(m->state, "completed") != 0 && strcmp(m->state, "cancelled") != 0;
    const char *queue = m->assigned_virtual ? m->assigned_virtual : "";
    const char *p[5] = {step, open ? "true" : "false", queue, started, at};
    PGresult *res =
        tsr_db_exec(ev->conn,
                    "INSERT INTO cpis_follow_ups AS f (step_id, open, queue, started_at, queued_at)"
                    " VALUES ($1::bigint, $2::boolean, $3,"
                    " CASE WHEN $4::bigint > 0 THEN to_timestamp($4::bigint / 1000.0) END,"
                    " CASE WHEN $3 <> '' THEN to_timestamp($5::bigint / 1000.0) END)"
                    " ON CONFLICT (step_id) DO UPDATE SET open = EXCLUDED.open, queue = EXCLUDED.queue,"
                    " started_at = coalesce(EXCLUDED.started_at, f.started_at),"
                    " queued_at = CASE WHEN EXCLUDED.queue = '' THEN NULL WHEN EXCLUDED.queue = f.queue"
                    "  THEN coalesce(f.queued_at, EXCLUDED.queued_at) ELSE EXCLUDED.queued_at END",
                    5, p, err);
    PQclear(res);
    return res ? 0 : -1;
}

/* A step deleted as recorded in error: its consultation (never an imported one, which has no step),
 * its requests and its follow-up leave every figure, and the step is remembered as deleted. */
static int readmodel__apply_deleted(tsr_event_t *ev, const Tsr__Workflow__StepEvent *m, tsr_error_t *err)
{
    static const char *const statements[] = {
        "INSERT INTO deleted_steps (step_id) VALUES ($1::bigint) ON CONFLICT DO NOTHING",
        "DELETE FROM consultations WHERE step_id = $1::bigint AND NOT imported",
        "DELETE FROM consultation_requests WHERE step_id = $1::bigint",
        "DELETE FROM cpis_follow_ups WHERE step_id = $1::bigint",
    };
    char step[24];
    snprintf(step, sizeof(step), "%" PRIu64, m->step_id);
    const char *p[1] = {step};
    if (readmodel__lock(ev->conn, err) != 0)
        return -1;
    for (size_t i = 0; i < sizeof(statements) / sizeof(statements[0]); i++) {
        PGresult *res = tsr_db_exec(ev->conn, statements[i], 1, p, err);
        if (res == NULL)
            return -1;
        PQclear(res);
    }
    return 0;
}

int reporting_apply_workflow_event(tsr_event_t *ev, tsr_error_t *err)
{
    if (readmodel__request_action(ev->event->type))
        return readmodel__apply_request(ev, err);
    if (!readmodel__follow_up_action(ev->event->type))
        return 0;
    Tsr__Workflow__StepEvent *m = (Tsr__Workflow__StepEvent *)tsr_unpack(
        &tsr__workflow__step_event__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (m == NULL)
        return -1;
    int rc = 0;
    if (strcmp(ev->event->type, "workflow.step.deleted") == 0) {
        rc = readmodel__apply_deleted(ev, m, err);
        goto done;
    }
    if (strcmp(m->type, READMODEL_FOLLOW_UP_TYPE) == 0) {
        rc = readmodel__apply_follow_up(ev, m, err);
        goto done;
    }
    if (!readmodel__step_action(ev->event->type) || strcmp(m->type, READMODEL_STEP_TYPE) != 0 ||
        m->subject == NULL || strcmp(m->subject->kind, "organisation") != 0)
        goto done;
    char step[24], org[24], started[24], completed[24];
    snprintf(step, sizeof(step), "%" PRIu64, m->step_id);
    snprintf(org, sizeof(org), "%" PRIu64, m->subject->id);
    snprintf(started, sizeof(started), "%" PRId64, m->started_at_ms);
    snprintf(completed, sizeof(completed), "%" PRId64,
             strcmp(m->state, "completed") == 0 ? m->completed_at_ms : (int64_t)0);
    const char *p[8] = {step,      m->title,           org,     m->subject_name, started,
                        completed, readmodel_timezone, m->state};
    rc = readmodel__lock(ev->conn, err);
    PGresult *res =
        rc != 0 ? NULL
                : tsr_db_exec(
                      ev->conn,
                      "INSERT INTO consultations (step_id, step_title, organisation_id, organisation_name,"
                      " started_on, completed_on, state, started_at, completed_at)"
                      " VALUES ($1::bigint, $2, $3::bigint, $4,"
                      " CASE WHEN $5::bigint > 0 THEN (to_timestamp($5::bigint / 1000.0) AT TIME ZONE "
                      "$7)::date END,"
                      " CASE WHEN $6::bigint > 0 THEN (to_timestamp($6::bigint / 1000.0) AT TIME ZONE "
                      "$7)::date END, $8,"
                      " CASE WHEN $5::bigint > 0 THEN to_timestamp($5::bigint / 1000.0) END,"
                      " CASE WHEN $6::bigint > 0 THEN to_timestamp($6::bigint / 1000.0) END)"
                      " ON CONFLICT (step_id) DO UPDATE SET step_title = EXCLUDED.step_title,"
                      " organisation_id = EXCLUDED.organisation_id,"
                      " organisation_name = EXCLUDED.organisation_name,"
                      " started_on = coalesce(EXCLUDED.started_on, consultations.started_on),"
                      " completed_on = EXCLUDED.completed_on, state = EXCLUDED.state,"
                      " started_at = coalesce(EXCLUDED.started_at, consultations.started_at),"
                      " completed_at = EXCLUDED.completed_at"
                      " WHERE NOT consultations.imported",
                      8, p, err);
    if (rc == 0 && res == NULL)
        rc = -1;
    PQclear(res);
done:
    tsr__workflow__step_event__free_unpacked(m, NULL);
    return rc;
}

/* The choices' member ("value" or "title") as a JSON array, for unnesting in SQL. */
static char *readmodel__choices(Tsr__Consultations__Choice **choices, size_t n, int titles)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_string(titles ? choices[i]->title : choices[i]->value));
    char *text = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    return text;
}

int reporting_apply_consultations_event(tsr_event_t *ev, tsr_error_t *err)
{
    const char *type = ev->event->type;
    int imported = strcmp(type, "consultations.consultation.imported") == 0;
    if (!imported && strcmp(type, "consultations.consultation.saved") != 0)
        return 0;
    Tsr__Consultations__Consultation *m = (Tsr__Consultations__Consultation *)tsr_unpack(
        &tsr__consultations__consultation__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (m == NULL)
        return -1;
    char step[24], org[24], consulted[24], step_started[24], at[24];
    snprintf(step, sizeof(step), "%" PRIu64, m->step_id);
    snprintf(step_started, sizeof(step_started), "%" PRId64, m->step_started_at_ms);
    snprintf(at, sizeof(at), "%" PRId64, ev->event->occurred_at_ms);
    snprintf(org, sizeof(org), "%" PRIu64, m->organisation_id);
    snprintf(consulted, sizeof(consulted), "%" PRId64, m->consulted_at_ms);
    char *outcomes = readmodel__choices(m->outcomes, m->n_outcomes, 0);
    char *titles = readmodel__choices(m->outcomes, m->n_outcomes, 1);
    const char *p[20] = {step,
                         m->step_title,
                         org,
                         m->organisation_name,
                         consulted,
                         m->consulted_on,
                         m->source ? m->source->value : "",
                         m->source ? m->source->title : "",
                         m->referrer_name,
                         m->referrer_relationship,
                         outcomes,
                         titles,
                         imported ? "true" : "false",
                         imported ? m->step_started_on : "",
                         imported ? m->step_completed_on : "",
                         readmodel_timezone,
                         m->section_1_completed ? "true" : "false",
                         m->section_2_completed ? "true" : "false",
                         step_started,
                         at};
    /* The step's own columns come from the workflow daemon's events, which know it best; a
     * consultation saved before its step's first event has been applied fills them meanwhile. An
     * imported consultation has no step events: its own say everything. */
    int rc = readmodel__lock(ev->conn, err);
    PGresult *res =
        rc != 0
            ? NULL
            : tsr_db_exec(
                  ev->conn,
                  "INSERT INTO consultations AS c (step_id, step_title, organisation_id, organisation_name,"
                  " consulted_at, consulted_on, source, source_title, referrer_name, referrer_relationship,"
                  " outcomes, outcome_titles, imported, started_on, completed_on, state,"
                  " section_1_completed, section_2_completed, started_at, decided_at)"
                  " SELECT $1::bigint, $2, $3::bigint, $4,"
                  " CASE WHEN $5::bigint > 0 THEN to_timestamp($5::bigint / 1000.0) END,"
                  " coalesce(nullif($6, '')::date,"
                  "  CASE WHEN $5::bigint > 0 THEN (to_timestamp($5::bigint / 1000.0) AT TIME ZONE "
                  "$16)::date END),"
                  " $7, $8, $9, $10,"
                  " ARRAY(SELECT json_array_elements_text($11::json)),"
                  " ARRAY(SELECT json_array_elements_text($12::json)),"
                  " $13::boolean, nullif($14, '')::date, nullif($15, '')::date,"
                  " CASE WHEN $13::boolean THEN 'completed' ELSE '' END, $17::boolean, $18::boolean,"
                  " CASE WHEN $19::bigint > 0 THEN to_timestamp($19::bigint / 1000.0) END,"
                  " CASE WHEN $18::boolean AND NOT $13::boolean THEN to_timestamp($20::bigint / 1000.0) END"
                  /* A save still on its way when its step was deleted brings nothing back. */
                  " WHERE NOT EXISTS (SELECT 1 FROM deleted_steps WHERE step_id = $1::bigint)"
                  " ON CONFLICT (step_id) DO UPDATE SET consulted_at = EXCLUDED.consulted_at,"
                  " consulted_on = EXCLUDED.consulted_on, source = EXCLUDED.source,"
                  " source_title = EXCLUDED.source_title, referrer_name = EXCLUDED.referrer_name,"
                  " referrer_relationship = EXCLUDED.referrer_relationship, outcomes = EXCLUDED.outcomes,"
                  " outcome_titles = EXCLUDED.outcome_titles,"
                  " step_title = CASE WHEN EXCLUDED.imported OR c.step_title = '' THEN EXCLUDED.step_title"
                  "  ELSE c.step_title END,"
                  " organisation_id = CASE WHEN EXCLUDED.imported OR c.organisation_id = 0"
                  "  THEN EXCLUDED.organisation_id ELSE c.organisation_id END,"
                  " organisation_name = CASE WHEN EXCLUDED.imported OR c.organisation_name = ''"
                  "  THEN EXCLUDED.organisation_name ELSE c.organisation_name END,"
                  " imported = c.imported OR EXCLUDED.imported,"
                  " started_on = CASE WHEN EXCLUDED.imported THEN EXCLUDED.started_on ELSE c.started_on END,"
                  " completed_on = CASE WHEN EXCLUDED.imported THEN EXCLUDED.completed_on"
                  "  ELSE c.completed_on END,"
                  " state = CASE WHEN EXCLUDED.imported THEN 'completed' ELSE c.state END,"
                  " section_1_completed = EXCLUDED.section_1_completed,"
                  " section_2_completed = EXCLUDED.section_2_completed,"
                  " started_at = coalesce(c.started_at, EXCLUDED.started_at),"
                  /* The decision is when section 2 was first completed; saved again as not complete,
                   * it is not made yet. */
                  " decided_at = CASE WHEN EXCLUDED.section_2_completed AND NOT EXCLUDED.imported"
                  "  THEN coalesce(c.decided_at, EXCLUDED.decided_at) END",
                  20, p, err);
    if (rc == 0 && res == NULL)
        rc = -1;
    PQclear(res);
    free(outcomes);
    free(titles);
    tsr__consultations__consultation__free_unpacked(m, NULL);
    return rc;
}
