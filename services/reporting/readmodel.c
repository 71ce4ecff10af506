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

static char readmodel_timezone[64] = "Europe/London";

int reporting_readmodel_configure(const tsr_config_t *config, tsr_error_t *err)
{
    const char *tz = tsr_config_get(config, "reporting.timezone", "Europe/London");
    if (strlen(tz) >= sizeof(readmodel_timezone) || tz[0] == '\0')
        return tsr_error_set(err, TSR_E_INVALID, "bad_config", "reporting.timezone",
                             "reporting.timezone must name a time zone, like Europe/London.");
    snprintf(readmodel_timezone, sizeof(readmodel_timezone), "%s", tz);
    return 0;
}

/* The two consumers (workflow's events and consultations') change the same rows and day counts:
 * one at a time, so that they never wait on each other in opposite orders. */
static int readmodel__lock(PGconn *conn, tsr_error_t *err)
{
    PGresult *res =
        tsr_db_exec(conn, "SELECT pg_advisory_xact_lock(hashtext('reporting.consultations'))", 0, NULL, err);
    PQclear(res);
    return res ? 0 : -1;
}

/* The step events that change what the read model keeps of a step (its title, organisation, start and
 * completion); a save, an assignment, a view or a refusal changes none of it. */
static int readmodel__step_action(const char *type)
{
    static const char *const actions[] = {"started", "finished", "cancelled", "reopened"};
    const char *prefix = "workflow.step.";
    if (strncmp(type, prefix, strlen(prefix)) != 0)
        return 0;
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        if (strcmp(type + strlen(prefix), actions[i]) == 0)
            return 1;
    return 0;
}

int reporting_wants_workflow_event(const Tsr__Envelope *ev)
{
    if (!readmodel__step_action(ev->type))
        return 0;
    Tsr__Workflow__StepEvent *m = tsr__workflow__step_event__unpack(NULL, ev->payload.len, ev->payload.data);
    if (m == NULL)
        return 1; /* the apply sets it aside with its reason */
    int wanted = m->type != NULL && strcmp(m->type, READMODEL_STEP_TYPE) == 0 && m->subject != NULL &&
                 m->subject->kind != NULL && strcmp(m->subject->kind, "organisation") == 0;
    tsr__workflow__step_event__free_unpacked(m, NULL);
    return wanted;
}

int reporting_wants_consultations_event(const Tsr__Envelope *ev)
{
    return strcmp(ev->type, "consultations.consultation.imported") == 0 ||
           strcmp(ev->type, "consultations.consultation.saved") == 0;
}

int reporting_apply_workflow_event(tsr_event_t *ev, tsr_error_t *err)
{
    if (!readmodel__step_action(ev->event->type))
        return 0;
    Tsr__Workflow__StepEvent *m = (Tsr__Workflow__StepEvent *)tsr_unpack(
        &tsr__workflow__step_event__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (m == NULL)
        return -1;
    int rc = 0;
    if (strcmp(m->type, READMODEL_STEP_TYPE) != 0 || m->subject == NULL ||
        strcmp(m->subject->kind, "organisation") != 0)
        goto done;
    char step[24], org[24], started[24], completed[24];
    snprintf(step, sizeof(step), "%" PRIu64, m->step_id);
    snprintf(org, sizeof(org), "%" PRIu64, m->subject->id);
    snprintf(started, sizeof(started), "%" PRId64, m->started_at_ms);
    snprintf(completed, sizeof(completed), "%" PRId64,
             strcmp(m->state, "completed") == 0 ? m->completed_at_ms : (int64_t)0);
    const char *p[7] = {step, m->title, org, m->subject_name, started, completed, readmodel_timezone};
    rc = readmodel__lock(ev->conn, err);
    PGresult *res =
        rc != 0 ? NULL
                : tsr_db_exec(
                      ev->conn,
                      "INSERT INTO consultations (step_id, step_title, organisation_id, organisation_name,"
                      " started_on, completed_on)"
                      " VALUES ($1::bigint, $2, $3::bigint, $4,"
                      " CASE WHEN $5::bigint > 0 THEN (to_timestamp($5::bigint / 1000.0) AT TIME ZONE "
                      "$7)::date END,"
                      " CASE WHEN $6::bigint > 0 THEN (to_timestamp($6::bigint / 1000.0) AT TIME ZONE "
                      "$7)::date END)"
                      " ON CONFLICT (step_id) DO UPDATE SET step_title = EXCLUDED.step_title,"
                      " organisation_id = EXCLUDED.organisation_id,"
                      " organisation_name = EXCLUDED.organisation_name,"
                      " started_on = coalesce(EXCLUDED.started_on, consultations.started_on),"
                      " completed_on = EXCLUDED.completed_on"
                      " WHERE NOT consultations.imported",
                      7, p, err);
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
    char step[24], org[24], consulted[24];
    snprintf(step, sizeof(step), "%" PRIu64, m->step_id);
    snprintf(org, sizeof(org), "%" PRIu64, m->organisation_id);
    snprintf(consulted, sizeof(consulted), "%" PRId64, m->consulted_at_ms);
    char *outcomes = readmodel__choices(m->outcomes, m->n_outcomes, 0);
    char *titles = readmodel__choices(m->outcomes, m->n_outcomes, 1);
    const char *p[16] = {step,
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
                         readmodel_timezone};
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
                  " outcomes, outcome_titles, imported, started_on, completed_on)"
                  " VALUES ($1::bigint, $2, $3::bigint, $4,"
                  " CASE WHEN $5::bigint > 0 THEN to_timestamp($5::bigint / 1000.0) END,"
                  " coalesce(nullif($6, '')::date,"
                  "  CASE WHEN $5::bigint > 0 THEN (to_timestamp($5::bigint / 1000.0) AT TIME ZONE "
                  "$16)::date END),"
                  " $7, $8, $9, $10,"
                  " ARRAY(SELECT json_array_elements_text($11::json)),"
                  " ARRAY(SELECT json_array_elements_text($12::json)),"
                  " $13::boolean, nullif($14, '')::date, nullif($15, '')::date)"
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
                  "  ELSE c.completed_on END",
                  16, p, err);
    if (rc == 0 && res == NULL)
        rc = -1;
    PQclear(res);
    free(outcomes);
    free(titles);
    tsr__consultations__consultation__free_unpacked(m, NULL);
    return rc;
}
