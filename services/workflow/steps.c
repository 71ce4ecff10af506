/* Work steps: start, read, sections, assign and resume, finish with next actions, cancel, reopen. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "definitions.h"
#include "fields.h"
#include "tsr_envelope.h"
#include "tsr_text.h"
#include "wf.h"

#define STEP_COLUMNS                                                                                         \
    "id, type, version, variant, title, subject_kind, subject_id, subject_name, state, owner,"               \
    " coalesce(folder, ''), started_by, " WF_MS("started_at") ", " WF_MS("completed_at") ", " WF_MS(         \
        "due_at")

/* Why a step recorded in error was deleted (seeds 001, 002): the API's codes and their words. */
static const tsr_reason_t step_deletion_reasons[] = {
    {"wrong-record", "recorded against the wrong person or organisation"},
    {"inaccurate", "found to be inaccurate"},
    {"duplicate", "a duplicate of another step"},
    {"other", "recorded in error"},
    {NULL, NULL},
};

/* A step that is not there: one deleted as recorded in error is answered so (when, why), not as one
 * that never was. Always -1. */
static int step__not_found(tsr_call_t *call, const char *id, tsr_error_t *err)
{
    const char *params[1] = {id};
    tsr_error_t ignored = {0};
    PGresult *res = tsr_db_exec(
        call->conn, "SELECT " WF_MS("deleted_at") ", reason FROM step_deletions WHERE step_id = $1::bigint",
        1, params, &ignored);
    if (res == NULL || PQntuples(res) == 0) {
        PQclear(res);
        return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", NULL, "There is no work step %s.", id);
    }
    char when[32];
    tsr_text_local_time(strtoll(PQgetvalue(res, 0, 0), NULL, 10), "%d/%m/%Y %H:%M", when, sizeof(when));
    if (strcmp(PQgetvalue(res, 0, 1), WF_STEP_DISPOSED) == 0)
        tsr_error_set(
            err, TSR_E_NOT_FOUND, "step_deleted", NULL,
            "Work step %s was deleted on %s with the record it was about, disposed of at the end of "
            "its retention.",
            id, when);
    else
        tsr_error_set(err, TSR_E_NOT_FOUND, "step_deleted", NULL,
                      "Work step %s was deleted on %s by system support, as %s.", id, when,
                      tsr_text_reason_words(step_deletion_reasons, PQgetvalue(res, 0, 1)));
    PQclear(res);
    return -1;
}

/* Loads a step with sql, whose first columns are STEP_COLUMNS and whose one parameter is its id. */
static int step__load(tsr_call_t *call, const char *sql, uint64_t step_id, wf_step_t *step, tsr_error_t *err)
{
    memset(step, 0, sizeof(*step));
    char id[24];
    snprintf(id, sizeof(id), "%" PRIu64, step_id);
    const char *params[1] = {id};
    PGresult *res = tsr_db_exec(call->conn, sql, 1, params, err);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return step__not_found(call, id, err);
    }
    step->res = res;
    step->id = step_id;
    step->type = PQgetvalue(res, 0, 1);
    step->version = atoi(PQgetvalue(res, 0, 2));
    step->variant = PQgetvalue(res, 0, 3);
    step->title = PQgetvalue(res, 0, 4);
    step->subject_kind = PQgetvalue(res, 0, 5);
    step->subject_id = strtoull(PQgetvalue(res, 0, 6), NULL, 10);
    step->subject_name = PQgetvalue(res, 0, 7);
    step->state = PQgetvalue(res, 0, 8);
    step->owner = PQgetvalue(res, 0, 9);
    step->folder = PQgetvalue(res, 0, 10);
    step->started_by = strtoull(PQgetvalue(res, 0, 11), NULL, 10);
    step->started_at_ms = strtoll(PQgetvalue(res, 0, 12), NULL, 10);
    step->completed_at_ms = strtoll(PQgetvalue(res, 0, 13), NULL, 10);
    step->due_at_ms = strtoll(PQgetvalue(res, 0, 14), NULL, 10);
    step->def = wf_definition_get(call->conn, step->type, step->version, err);
    if (step->def == NULL) {
        wf_step_free(step);
        return -1;
    }
    return 0;
}

int wf_step_load(tsr_call_t *call, uint64_t step_id, int for_update, wf_step_t *step, tsr_error_t *err)
{
    return step__load(call,
                      for_update ? "SELECT " STEP_COLUMNS " FROM steps WHERE id = $1::bigint FOR UPDATE"
                                 : "SELECT " STEP_COLUMNS " FROM steps WHERE id = $1::bigint",
                      step_id, step, err);
}

void wf_step_free(wf_step_t *step)
{
    PQclear(step->res);
    json_decref(step->def);
    memset(step, 0, sizeof(*step));
}

char *wf_subject_title(const char *kind, uint64_t id, const char *name)
{
    char *title = NULL;
    if (strcmp(kind, "none") == 0)
        title = strdup("");
    else if (asprintf(&title, "%s (%" PRIu64 ")", name, id) < 0)
        title = NULL;
    return title;
}

static int step__is_open(const wf_step_t *step)
{
    return step->folder[0] != '\0';
}

int wf_step_history(tsr_call_t *call, uint64_t step_id, const char *action, const char *detail,
                    tsr_error_t *err)
{
    char id[24], by[24];
    snprintf(id, sizeof(id), "%" PRIu64, step_id);
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    const char *params[5] = {id, action, by, wf_actor_name(call->actor), detail ? detail : ""};
    /* Nothing reads its result: it goes with the command's next statement, in one round trip. */
    return tsr_db_defer(call->conn,
                        "INSERT INTO step_history (step_id, action, by_worker_id, by_name, detail)"
                        " VALUES ($1::bigint, $2, $3::bigint, $4, $5)",
                        5, params, NULL, NULL, err);
}

void wf_step_event_set_owner(Tsr__Workflow__StepEvent *ev, const char *owner)
{
    if (owner[0] == 'w')
        ev->assigned_worker_id = strtoull(owner + 2, NULL, 10);
    else if (owner[0] == 't')
        ev->assigned_team_id = strtoull(owner + 2, NULL, 10);
    else {
        ev->assigned_virtual = (char *)owner + 2;
        const wf_virtual_worker_t *v = wf_virtual_worker(ev->assigned_virtual);
        if (v != NULL) {
            ev->worked_by_roles = v->role_names;
            ev->n_worked_by_roles = v->n_role_names;
        }
    }
}

int wf_step_changed(tsr_call_t *call, uint64_t step_id, const char *action, const char *detail,
                    tsr_error_t *err)
{
    if (wf_step_history(call, step_id, action, detail, err) != 0)
        return -1;
    return wf_step_emit(call, step_id, action, err);
}

/* Publishes what happened to a step, as it now stands. */
static int step__emit(tsr_call_t *call, const wf_step_t *loaded, const char *action, const char *reason,
                      tsr_error_t *err)
{
    const wf_step_t step = *loaded;
    Tsr__Workflow__StepEvent ev = TSR__WORKFLOW__STEP_EVENT__INIT;
    Tsr__Workflow__Subject subject = TSR__WORKFLOW__SUBJECT__INIT;
    subject.kind = (char *)step.subject_kind;
    subject.id = step.subject_id;
    ev.step_id = step.id;
    ev.type = (char *)step.type;
    ev.version = (uint32_t)step.version;
    ev.variant = (char *)step.variant;
    ev.title = (char *)step.title;
    ev.subject = &subject;
    ev.subject_name = (char *)step.subject_name;
    ev.state = (char *)step.state;
    ev.action = (char *)action;
    ev.started_at_ms = step.started_at_ms;
    ev.completed_at_ms = step.completed_at_ms;
    ev.reason = (char *)(reason ? reason : "");
    wf_step_event_set_owner(&ev, step.owner);
    /* A finished step tells what it ended with (the reports count on it). */
    PGresult *na = NULL;
    Tsr__Workflow__NextAction *actions = NULL, **action_ptrs = NULL;
    if (strcmp(action, "finished") == 0) {
        char id[24];
        snprintf(id, sizeof(id), "%" PRIu64, step.id);
        const char *params[1] = {id};
        na = tsr_db_exec(call->conn,
                         "SELECT action, reason, note, priority FROM next_actions WHERE step_id = $1::bigint"
                         " ORDER BY position",
                         1, params, err);
        if (na == NULL) {
            return -1;
        }
        int n = PQntuples(na);
        actions = calloc((size_t)n + 1, sizeof(*actions));
        action_ptrs = calloc((size_t)n + 1, sizeof(*action_ptrs));
        for (int i = 0; i < n; i++) {
            tsr__workflow__next_action__init(&actions[i]);
            actions[i].action = PQgetvalue(na, i, 0);
            actions[i].reason = PQgetvalue(na, i, 1);
            actions[i].note = PQgetvalue(na, i, 2);
            actions[i].priority = PQgetvalue(na, i, 3);
            action_ptrs[i] = &actions[i];
        }
        ev.next_actions = action_ptrs;
        ev.n_next_actions = (size_t)n;
    }
    char type[64];
    snprintf(type, sizeof(type), "workflow.step.%s", action);
    int rc = tsr_call_emit(call, type, &ev.base, err);
    PQclear(na);
    free(actions);
    free(action_ptrs);
    return rc;
}

int wf_step_emit(tsr_call_t *call, uint64_t step_id, const char *action, tsr_error_t *err)
{
    wf_step_t step;
    if (wf_step_load(call, step_id, 0, &step, err) != 0)
        return -1;
    int rc = step__emit(call, &step, action, NULL, err);
    wf_step_free(&step);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * The step as the API shows it
 * ---------------------------------------------------------------------------------------------- */

/* The name of a step's worker or team, in the same statement as the step ('' for a virtual worker,
 * whose name is in its definition). */
#define STEP_OWNER_NAME                                                                                      \
    "coalesce(CASE left(owner, 1) WHEN 'w' THEN (SELECT name FROM workers WHERE id = substr(owner, "         \
    "3)::bigint)"                                                                                            \
    " WHEN 't' THEN (SELECT name FROM teams WHERE id = substr(owner, 3)::bigint) END, '')"

/* The whole view of a step in one statement: the step's row, its owner's name, and each list already
 * in the API's shape (sections as saved, requests with their status history, next actions, the
 * step's history). One round trip instead of eight: every command answers with this view, and on
 * a busy front door the round trips were most of a command's cost. */
#define STEP_VIEW_SQL                                                                                        \
    "SELECT " STEP_COLUMNS ","                                                                               \
    " " WF_TS("started_at") ", coalesce(" WF_TS("completed_at") ", ''), coalesce(" WF_TS(                    \
        "due_at") ", ''),"                                                                                   \
                  " due_at < now() AND folder IS NOT NULL, coalesce(cancelled_reason, ''),"                  \
                  " " STEP_OWNER_NAME ","                                                                    \
                  " (SELECT json_agg(json_build_object('number', number, 'data', data, 'completed', "        \
                  "completed,"                                                                               \
                  "   'saved_at', " WF_TS(                                                                   \
                      "saved_at") ", 'saved_by', saved_by::text, 'saved_by_name', (SELECT w.name FROM "      \
                                  "workers w WHERE w.id = sections.saved_by), 'revision', revision))"        \
                                  "  FROM sections WHERE step_id = s.id),"                                   \
                                  " (SELECT json_agg(json_build_object('id', r.id::text, 'type', r.type, "   \
                                  "'title', r.title,"                                                        \
                                  "   'required', r.required, 'to', json_build_object('kind', CASE "         \
                                  "left(r.recipient, 1) WHEN 'w'"                                            \
                                  "   THEN 'worker' WHEN 't' THEN 'team' ELSE 'virtual_worker' END, "        \
                                  "'name', r.recipient_name,"                                                \
                                  "   CASE WHEN left(r.recipient, 1) = 'v' THEN 'key' ELSE 'id' END, "       \
                                  "substr(r.recipient, 3)),"                                                 \
                                  "   'note', r.note, 'status', r.status, 'from', json_build_object('id', "  \
                                  "r.sender_id::text, 'name',"                                               \
                                  "   r.sender_name), 'sent_at', " WF_TS("r.sent_at") ", 'due_at', " WF_TS(  \
                                      "r.due_at") ","                                                        \
                                                  "   'overdue', coalesce(r.due_at < now() AND r.inbox IS "  \
                                                  "NOT NULL, false),"                                        \
                                                  "   'history', coalesce((SELECT "                          \
                                                  "json_agg(json_build_object('at', " WF_TS(                 \
                                                      "h.at") ", 'action', h.action,"                        \
                                                              "     'by', json_build_object('id', "          \
                                                              "h.by_worker_id::text, 'name', h.by_name), "   \
                                                              "'worker_or_team',"                            \
                                                              "     h.to_name, 'note', h.note) ORDER BY "    \
                                                              "h.at, h.action) FROM request_history h"       \
                                                              "     WHERE h.request_id = r.id), '[]')) "     \
                                                              "ORDER BY r.id)"                               \
                                                              "  FROM requests r WHERE r.step_id = s.id),"   \
                                                              " (SELECT "                                    \
                                                              "json_agg(json_strip_nulls(json_build_object(" \
                                                              "'action', action, 'title', title, 'reason',"  \
                                                              "   reason, 'reason_title', reason_title, "    \
                                                              "'note', note, 'priority', priority, "         \
                                                              "'started_step_id',"                           \
                                                              "   started_step_id::text, "                   \
                                                              "'added_at', " WF_TS(                          \
                                                                  "added_at") ")) ORDER BY position)"        \
                                                                              "  FROM next_actions WHERE "   \
                                                                              "step_id = s.id),"             \
                                                                              " (SELECT "                    \
                                                                              "json_agg(json_build_object('" \
                                                                              "at', " WF_TS(                 \
                                                                                  "at") ", 'action', "       \
                                                                                        "action, 'by',"      \
                                                                                        "   "                \
                                                                                        "json_build_object(" \
                                                                                        "'id', "             \
                                                                                        "by_worker_id::"     \
                                                                                        "text, 'name', "     \
                                                                                        "by_name), "         \
                                                                                        "'detail', detail) " \
                                                                                        "ORDER BY at)"       \
                                                                                        "  FROM "            \
                                                                                        "step_history "      \
                                                                                        "WHERE step_id = "   \
                                                                                        "s.id)"              \
                                                                                        " FROM steps s "     \
                                                                                        "WHERE id = "        \
                                                                                        "$1::bigint"

static json_t *step__time(const char *text)
{
    return text && text[0] ? json_string(text) : json_null();
}

/* A json_agg column: its array, or an empty one when the step has no such rows. */
static json_t *step__list(PGresult *res, int column)
{
    json_t *list = PQgetisnull(res, 0, column) ? NULL : json_loads(PQgetvalue(res, 0, column), 0, NULL);
    return list ? list : json_array();
}

static json_t *step__request_types(const wf_step_t *step)
{
    json_t *list = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(step->def, "requests"), i, r)
    {
        if (wf_def_applies_to_variant(r, step->variant))
            json_array_append(list, r);
    }
    return list;
}

static json_t *step__owner_json(const char *owner, const char *stored_name)
{
    const char *kind = owner[0] == 'w' ? "worker" : owner[0] == 't' ? "team" : "virtual_worker";
    const char *name = owner + 2;
    if (owner[0] == 'v') {
        const wf_virtual_worker_t *v = wf_virtual_worker(owner + 2);
        if (v != NULL)
            name = v->name;
    } else if (stored_name[0]) {
        name = stored_name;
    }
    json_t *o = json_pack("{s:s, s:s}", "kind", kind, "name", name);
    json_object_set_new(o, owner[0] == 'v' ? "key" : "id", json_string(owner + 2));
    return o;
}

/* The step as the API shows it, from a row of STEP_VIEW_SQL. */
static json_t *step__view(const wf_step_t *step, PGresult *res)
{
    char *subject_title = wf_subject_title(step->subject_kind, step->subject_id, step->subject_name);
    char *heading = NULL;
    if (asprintf(&heading, "%s%s%s", step->title, subject_title[0] ? " : " : "", subject_title) < 0)
        heading = NULL;
    json_t *subject = json_pack("{s:s, s:s, s:s}", "kind", step->subject_kind, "name", step->subject_name,
                                "title", subject_title);
    if (strcmp(step->subject_kind, "none") != 0)
        json_object_set_new(subject, "id", wf_json_id(step->subject_id));
    json_t *view = json_pack(
        "{s:o, s:s, s:s, s:s, s:s, s:{s:s, s:i}, s:o, s:s, s:s, s:o, s:o, s:s, s:o, s:o, s:b}", "id",
        wf_json_id(step->id), "type", step->type, "type_title",
        json_string_value(json_object_get(step->def, "title")), "variant", step->variant, "title",
        step->title, "definition", "type", step->type, "version", step->version, "subject", subject,
        "heading", heading ? heading : step->title, "state", step->state, "assigned_to",
        step__owner_json(step->owner, PQgetvalue(res, 0, 20)), "started_by", wf_json_id(step->started_by),
        "started_at", PQgetvalue(res, 0, 15), "completed_at", step__time(PQgetvalue(res, 0, 16)), "due_at",
        step__time(PQgetvalue(res, 0, 17)), "overdue", PQgetvalue(res, 0, 18)[0] == 't');
    if (strcmp(step->state, "cancelled") == 0)
        json_object_set_new(view, "cancelled_reason", json_string(PQgetvalue(res, 0, 19)));
    free(heading);
    free(subject_title);

    /* Sections: the definition's, with what has been saved in each. */
    json_t *saved = step__list(res, 21);
    json_t *sections = json_array();
    size_t i, j;
    json_t *s, *row;
    json_array_foreach(json_object_get(step->def, "sections"), i, s)
    {
        const char *number = json_string_value(json_object_get(s, "number"));
        const char *kind = json_string_value(json_object_get(s, "kind"));
        json_t *out = json_pack("{s:s, s:s, s:s, s:b, s:b}", "number", number, "title",
                                json_string_value(json_object_get(s, "title")), "kind", kind ? kind : "form",
                                "required", json_is_true(json_object_get(s, "required")), "completed", 0);
        if (json_object_get(s, "fields"))
            json_object_set(out, "fields", json_object_get(s, "fields"));
        json_object_set_new(out, "data", json_object());
        /* A section never saved is at revision 0: a save from it is refused once another has saved. */
        json_object_set_new(out, "revision", json_integer(0));
        json_array_foreach(saved, j, row)
        {
            if (strcmp(json_string_value(json_object_get(row, "number")), number) != 0)
                continue;
            json_t *data = json_object_get(row, "data");
            json_object_set(out, "data", json_is_object(data) ? data : json_object());
            json_object_set(out, "completed", json_object_get(row, "completed"));
            json_object_set(out, "saved_at", json_object_get(row, "saved_at"));
            json_object_set(out, "saved_by", json_object_get(row, "saved_by"));
            json_object_set(out, "saved_by_name", json_object_get(row, "saved_by_name"));
            json_object_set(out, "revision", json_object_get(row, "revision"));
        }
        json_array_append_new(sections, out);
    }
    json_decref(saved);
    json_object_set_new(view, "sections", sections);
    json_object_set_new(view, "requests", step__list(res, 22));
    json_object_set_new(view, "request_types", step__request_types(step));
    json_object_set_new(view, "next_actions", step__list(res, 23));
    json_t *types = json_array();
    json_t *a;
    json_array_foreach(json_object_get(step->def, "next_actions"), i, a)
    {
        if (wf_def_applies_to_variant(a, step->variant))
            json_array_append(types, a);
    }
    json_object_set_new(view, "next_action_types", types);
    json_object_set_new(view, "history", step__list(res, 24));
    return view;
}

void wf_reply_json(tsr_call_t *call, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    Tsr__Workflow__View reply = TSR__WORKFLOW__VIEW__INIT;
    reply.json = text;
    tsr_call_reply(call, &reply.base);
    free(text);
}

int wf_reply_step(tsr_call_t *call, uint64_t step_id, tsr_error_t *err)
{
    wf_step_t step;
    if (step__load(call, STEP_VIEW_SQL, step_id, &step, err) != 0)
        return -1;
    json_t *view = step__view(&step, step.res);
    wf_step_free(&step);
    if (view == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "view_failed", NULL, "The work step could not be shown.");
    wf_reply_json(call, view);
    return 0;
}

int wf_step_changed_reply(tsr_call_t *call, uint64_t step_id, const char *action, const char *detail,
                          tsr_error_t *err)
{
    if (wf_step_history(call, step_id, action, detail, err) != 0)
        return -1;
    wf_step_t step;
    if (step__load(call, STEP_VIEW_SQL, step_id, &step, err) != 0)
        return -1;
    int rc = step__emit(call, &step, action, NULL, err);
    json_t *view = rc == 0 ? step__view(&step, step.res) : NULL;
    wf_step_free(&step);
    if (rc != 0)
        return -1;
    if (view == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "view_failed", NULL, "The work step could not be shown.");
    wf_reply_json(call, view);
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * Starting a step
 * ---------------------------------------------------------------------------------------------- */

int wf_step_start_internal(tsr_call_t *call, const char *type, const char *variant, const char *subject_kind,
                           uint64_t subject_id, const char *subject_name, const char *assign_owner,
                           uint64_t *step_id, tsr_error_t *err)
{
    int version = 0;
    const json_t *def = wf_definition_current(type, &version);
    if (def == NULL)
        return tsr_error_set(err, TSR_E_INVALID, "unknown_step_type", "type", "There is no step type \"%s\".",
                             type);
    if (version == 0 && wf_definitions_register(call->conn, err) != 0)
        return -1;
    wf_definition_current(type, &version);
    char *title = wf_def_title(def, variant);
    int64_t now = tsr_now_ms();
    int64_t due = wf_def_due(json_object_get(def, "due"), now);
    char me[WF_OWNER_MAX];
    wf_actor_owner(call->actor, me);
    const char *owner = assign_owner ? assign_owner : me;
    /* Work started by you is in your Current work; work started for someone else arrives as Incoming. */
    int incoming = assign_owner != NULL && strcmp(assign_owner, me) != 0;
    char v[16], sid[24], by[24], due_text[32];
    snprintf(v, sizeof(v), "%d", version);
    snprintf(sid, sizeof(sid), "%" PRIu64, subject_id);
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    snprintf(due_text, sizeof(due_text), "%" PRId64, due);
    const char *params[11] = {type,
                              v,
                              variant,
                              title,
                              subject_kind,
                              sid,
                              subject_name,
                              incoming ? "incoming" : "started",
                              owner,
                              by,
                              due ? due_text : NULL};
    PGresult *res = tsr_db_exec(call->conn,
                                "INSERT INTO steps (type, version, variant, title, subject_kind, subject_id,"
                                " subject_name, state, owner, folder, started_by, due_at)"
                                " VALUES ($1, $2::int, $3, $4, $5, $6::bigint, $7, $8, $9,"
                                " CASE WHEN $8 = 'incoming' THEN 'incoming' ELSE 'current' END, $10::bigint,"
                                " to_timestamp($11::bigint / 1000.0)) RETURNING id",
                                11, params, err);
    free(title);
    if (res == NULL)
        return -1;
    *step_id = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    char *owner_name = wf_owner_name(call->conn, owner);
    char detail[WF_DETAIL_MAX];
    snprintf(detail, sizeof(detail), "%s %s", incoming ? "Sent to" : "Started by", owner_name);
    tsr_text_utf8_clean(detail);
    free(owner_name);
    return wf_step_changed(call, *step_id, "started", detail, err);
}

/* The subject's name, checking that it exists (and, for a person, that the caller may see them). */
/* The subject's name for the step. A person's record must be one the starter may open, unless the
 * step asks for nothing of it (name_only: a request for access to a restricted record). */
static int step__subject_name(tsr_call_t *call, const char *kind, uint64_t id, int name_only, char **name,
                              int *restricted, tsr_error_t *err)
{
    *name = NULL;
    *restricted = 0;
    if (strcmp(kind, "none") == 0) {
        *name = strdup("");
        return 0;
    }
    if (id == 0)
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", "subject.id",
                             "Say which %s this work is about.", kind);
    char sid[24];
    snprintf(sid, sizeof(sid), "%" PRIu64, id);
    if (strcmp(kind, "organisation") == 0) {
        Tsr__Records__OrganisationGet q = TSR__RECORDS__ORGANISATION_GET__INIT;
        q.id = id;
        ProtobufCMessage *msg = NULL;
        if (tsr_call_ask(call, "records", "records.organisation.get", &q.base,
                         &tsr__records__organisation__descriptor, &msg, err) != 0) {
            if (err->status == TSR_E_NOT_FOUND)
                snprintf(err->field, sizeof(err->field), "subject.id");
            return -1;
        }
        *name = strdup(((Tsr__Records__Organisation *)msg)->name);
        protobuf_c_message_free_unpacked(msg, NULL);
        return 0;
    }
    if (strcmp(kind, "worker") == 0) {
        const char *params[1] = {sid};
        PGresult *res =
            tsr_db_exec(call->conn, "SELECT name FROM workers WHERE id = $1::bigint", 1, params, err);
        if (res == NULL)
            return -1;
        if (PQntuples(res) == 1)
            *name = strdup(PQgetvalue(res, 0, 0));
        PQclear(res);
        if (*name == NULL)
            return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", "subject.id", "There is no worker %s.",
                                 sid);
        return 0;
    }
    uint64_t me = call->actor->worker_id;
    Tsr__Records__AccessCheckReply *reply = NULL;
    if (wf_person_access(call, id, &me, me ? 1 : 0, NULL, 0, &reply, err) != 0)
        return -1;
    int exists = reply->exists;
    *restricted = reply->restricted;
    int allowed = tsr_actor_is_system(call->actor) || name_only || (reply->n_allowed_worker_ids == 1);
    *name = strdup(reply->display_name ? reply->display_name : "");
    tsr__records__access_check_reply__free_unpacked(reply, NULL);
    if (!exists) {
        free(*name);
        *name = NULL;
        return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", "subject.id", "There is no person %s.", sid);
    }
    if (!allowed) {
        free(*name);
        *name = NULL;
        return tsr_error_set(
            err, TSR_E_FORBIDDEN, "restricted_record", "subject.id",
            "This person's record is restricted and you do not have access to it, so you cannot "
            "start work about them.");
    }
    return 0;
}

int wf_handle_step_start(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Workflow__StepStart *in = (const Tsr__Workflow__StepStart *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    if (in->type == NULL || in->type[0] == '\0')
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", "type",
                             "Choose the kind of work to start.");
    const json_t *def = wf_definition_current(in->type, NULL);
    if (def == NULL)
        return tsr_error_set(err, TSR_E_INVALID, "unknown_step_type", "type", "There is no step type \"%s\".",
                             in->type);
    const char *variant = in->variant ? in->variant : "";
    if (!wf_def_has_variant(def, variant))
        return tsr_error_set(err, TSR_E_INVALID, variant[0] ? "unknown_variant" : "missing_field", "variant",
                             variant[0] ? "%s has no variant \"%s\"." : "%s needs a variant%s.",
                             json_string_value(json_object_get(def, "title")), variant);
    const char *kind = in->subject && in->subject->kind && in->subject->kind[0] ? in->subject->kind : "none";
    uint64_t subject_id = in->subject ? in->subject->id : 0;
    if (!wf_def_allows_subject(def, kind))
        return tsr_error_set(err, TSR_E_INVALID, "wrong_subject", "subject.kind",
                             "%s cannot be started against %s%s.",
                             json_string_value(json_object_get(def, "title")),
                             strcmp(kind, "none") == 0 ? "nothing: say what it is about" : "a ",
                             strcmp(kind, "none") == 0 ? "" : kind);
    const json_t *start = json_object_get(def, "start");
    const json_t *roles = json_object_get(start, "roles");
    if (!tsr_actor_is_system(call->actor) && roles != NULL &&
        !wf_def_roles_match(roles, call->actor->roles, call->actor->n_roles))
        return tsr_error_set(err, TSR_E_FORBIDDEN, "forbidden", NULL,
                             "Your role does not allow you to start %s.",
                             json_string_value(json_object_get(def, "title")));
    char *subject_name = NULL;
    int restricted = 0;
    if (step__subject_name(call, kind, subject_id, wf_def_name_only_subject(def), &subject_name, &restricted,
                           err) != 0)
        return -1;
    /* Where it goes: the caller's choice, else where the definition starts it, else the caller. */
    char owner[WF_OWNER_MAX];
    char *owner_name = NULL;
    const char *assign = NULL;
    int rc = -1;
    int chosen = in->assign_to && (in->assign_to->worker_id || in->assign_to->team_id ||
                                   (in->assign_to->virtual_worker && in->assign_to->virtual_worker[0]));
    const json_t *default_to = json_object_get(start, "assign_to");
    if (chosen || default_to) {
        if (wf_recipient_resolve(call, chosen ? in->assign_to : NULL, default_to, NULL, owner, &owner_name,
                                 err) != 0)
            goto done;
        /* Where the definition starts it, unless its workers cannot open this restricted record: then
         * where such work goes (restricted_records_to), as for a step another daemon asks for. Chosen
         * by the caller, such a queue is refused, saying where to send it. */
        const wf_virtual_worker_t *queue = !chosen && owner[0] == 'v' ? wf_virtual_worker(owner + 2) : NULL;
        const wf_virtual_worker_t *instead =
            restricted && queue && queue->restricted_to && wf_subject_guarded(def, kind)
                ? wf_virtual_worker(queue->restricted_to)
                : NULL;
        if (instead != NULL) {
            snprintf(owner, sizeof(owner), "v:%s", instead->key);
            free(owner_name);
            owner_name = strdup(instead->name);
        }
        if (wf_subject_check_recipient(call, def, kind, subject_id, owner, owner_name, err) != 0)
            goto done;
        assign = owner;
    } else if (call->actor->worker_id == 0) {
        tsr_error_set(err, TSR_E_INVALID, "missing_field", "assign_to", "Say whose work this step is.");
        goto done;
    }
    uint64_t step_id = 0;
    if (wf_step_start_internal(call, in->type, variant, kind, subject_id, subject_name, assign, &step_id,
                               err) != 0)
        goto done;
    rc = wf_reply_step(call, step_id, err);
done:
    free(subject_name);
    free(owner_name);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * Reading
 * ---------------------------------------------------------------------------------------------- */

static int step__remember_view(tsr_call_t *call, uint64_t step_id, tsr_error_t *err)
{
    if (call->actor->worker_id == 0)
        return 0;
    char w[24], s[24];
    snprintf(w, sizeof(w), "%" PRIu64, call->actor->worker_id);
    snprintf(s, sizeof(s), "%" PRIu64, step_id);
    const char *params[2] = {w, s};
    PGresult *res = tsr_db_exec(
        call->conn,
        "WITH seen AS (INSERT INTO recent_views (worker_id, step_id) VALUES ($1::bigint, $2::bigint)"
        " ON CONFLICT (worker_id, step_id) DO UPDATE SET viewed_at = now())"
        " DELETE FROM recent_views WHERE worker_id = $1::bigint AND step_id IN"
        " (SELECT step_id FROM recent_views WHERE worker_id = $1::bigint"
        "  ORDER BY viewed_at DESC OFFSET 19)",
        2, params, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

int wf_handle_step_get(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Workflow__StepRef *in = (const Tsr__Workflow__StepRef *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    wf_step_t step;
    if (step__load(call, STEP_VIEW_SQL, in->step_id, &step, err) != 0)
        return -1;
    int rc = -1;
    if (wf_step_check_reader(call, &step, err) != 0)
        goto done;
    if (step__remember_view(call, step.id, err) != 0)
        goto done;
    if (strcmp(step.subject_kind, "person") == 0 && step__emit(call, &step, "viewed", NULL, err) != 0)
        goto done;
    json_t *view = step__view(&step, step.res);
    if (view == NULL) {
        tsr_error_set(err, TSR_E_INTERNAL, "view_failed", NULL, "The work step could not be shown.");
        goto done;
    }
    wf_reply_json(call, view);
    rc = 0;
done:
    wf_step_free(&step);
    return rc;
}

/* A workflow.step.<action> event about a person's list of steps (no one step: step_id 0). */
static int step__emit_list(tsr_call_t *call, uint64_t person_id, const char *name, const char *action,
                           tsr_error_t *err)
{
    Tsr__Workflow__StepEvent ev = TSR__WORKFLOW__STEP_EVENT__INIT;
    Tsr__Workflow__Subject subject = TSR__WORKFLOW__SUBJECT__INIT;
    subject.kind = "person";
    subject.id = person_id;
    ev.subject = &subject;
    ev.subject_name = (char *)name;
    ev.action = (char *)action;
    ev.title = "work steps";
    char type[64];
    snprintf(type, sizeof(type), "workflow.step.%s", action);
    return tsr_call_emit(call, type, &ev.base, err);
}

/* A page of the steps about a subject, newest first (a record's, or the 'Consultation' organisation's,
 * passes any fixed number), with the cursor to the next while more remain. */
#define STEP_LIST_LIMIT_DEFAULT 50
#define STEP_LIST_LIMIT_MAX 200

static int step__list_by_subject(tsr_call_t *call, int within_summary, tsr_error_t *err)
{
    const Tsr__Workflow__StepsQuery *in = (const Tsr__Workflow__StepsQuery *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    if (in->kind == NULL || (strcmp(in->kind, "organisation") != 0 && strcmp(in->kind, "person") != 0 &&
                             strcmp(in->kind, "worker") != 0))
        return tsr_error_set(err, TSR_E_INVALID, "invalid_value", "subject_kind",
                             "subject_kind is organisation, person or worker.");
    char ts[WF_CURSOR_TS_LEN + 1] = "", after[24] = "", order[8] = "";
    if (in->cursor && in->cursor[0] && (wf_cursor_parse(in->cursor, ts, after, order) != 0 || order[0]))
        return tsr_error_set(err, TSR_E_INVALID, "invalid_cursor", "cursor",
                             "The cursor is not one this list of steps gave out.");
    uint32_t limit = in->limit ? in->limit : STEP_LIST_LIMIT_DEFAULT;
    if (limit > STEP_LIST_LIMIT_MAX)
        limit = STEP_LIST_LIMIT_MAX;
    int person = strcmp(in->kind, "person") == 0;
    if (person && !tsr_actor_is_system(call->actor)) {
        uint64_t me = call->actor->worker_id;
        Tsr__Records__AccessCheckReply *reply = NULL;
        if (wf_person_access(call, in->id, &me, 1, NULL, 0, &reply, err) != 0)
            return -1;
        int ok = reply->n_allowed_worker_ids == 1;
        /* The whole name, as records keeps it: it goes into an event that other daemons store. */
        char *name = strdup(reply->display_name ? reply->display_name : "");
        tsr__records__access_check_reply__free_unpacked(reply, NULL);
        if (name == NULL)
            return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
        int rc = 0;
        if (!ok) {
            /* The refused attempt is kept for the trail while the caller gets the refusal. */
            if (step__emit_list(call, in->id, name, "refused", err) == 0) {
                call->commit_refusal = 1;
                tsr_error_set(err, TSR_E_FORBIDDEN, "restricted_record", NULL,
                              "This person's record is restricted and you do not have access to it.");
            }
            rc = -1;
        } else if (!within_summary) {
            /* Reading the list of work about a person is a read of their record; on their summary
             * page it is part of the one read the records daemon audits as the view. */
            rc = step__emit_list(call, in->id, name, "listed", err);
        }
        free(name);
        if (rc != 0)
            return -1;
    }
    char id[24], lim[16];
    snprintf(id, sizeof(id), "%" PRIu64, in->id);
    snprintf(lim, sizeof(lim), "%u", limit + 1);
    const char *params[5] = {in->kind, id, ts[0] ? ts : NULL, ts[0] ? after : NULL, lim};
    PGresult *res = tsr_db_exec(
        call->conn,
        "SELECT id, type, variant, title, state, owner, " WF_TS("started_at") ", coalesce(" WF_TS(
            "completed_at") ", ''), folder IS NOT NULL, " STEP_OWNER_NAME
                            ", " WF_SORT_KEY("started_at") " FROM steps WHERE subject_kind = $1 AND "
                                                           "subject_id = $2::bigint"
                                                           " AND ($3::timestamptz IS NULL OR (started_at, "
                                                           "id) < ($3::timestamptz, $4::bigint))"
                                                           " ORDER BY started_at DESC, id DESC LIMIT $5::int",
        5, params, err);
    if (res == NULL)
        return -1;
    json_t *items = json_array();
    int n = PQntuples(res);
    for (int i = 0; i < n && i < (int)limit; i++) {
        json_t *item = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:b}", "id", PQgetvalue(res, i, 0),
                                 "type", PQgetvalue(res, i, 1), "variant", PQgetvalue(res, i, 2), "title",
                                 PQgetvalue(res, i, 3), "state", PQgetvalue(res, i, 4), "assigned_to",
                                 step__owner_json(PQgetvalue(res, i, 5), PQgetvalue(res, i, 9)), "started_at",
                                 PQgetvalue(res, i, 6), "completed_at", step__time(PQgetvalue(res, i, 7)),
                                 "open", PQgetvalue(res, i, 8)[0] == 't');
        json_array_append_new(items, item);
    }
    char *next = NULL;
    if (n > (int)limit &&
        asprintf(&next, "%s~%s", PQgetvalue(res, (int)limit - 1, 10), PQgetvalue(res, (int)limit - 1, 0)) < 0)
        next = NULL;
    PQclear(res);
    json_t *body =
        json_pack("{s:o, s:o}", "items", items, "next_cursor", next ? json_string(next) : json_null());
    free(next);
    wf_reply_json(call, body);
    return 0;
}

int wf_handle_steps_by_subject(tsr_call_t *call, tsr_error_t *err)
{
    return step__list_by_subject(call, 0, err);
}

int wf_handle_steps_for_summary(tsr_call_t *call, tsr_error_t *err)
{
    return step__list_by_subject(call, 1, err);
}

/* ------------------------------------------------------------------------------------------------
 * Changing a step: only by the worker whose Current work it is
 * ---------------------------------------------------------------------------------------------- */

/* Loads the step for a change by the caller: it must be open and in their Current work. */
static int step__load_for_work(tsr_call_t *call, uint64_t step_id, wf_step_t *step, tsr_error_t *err)
{
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    if (wf_step_load(call, step_id, 1, step, err) != 0)
        return -1;
    if (wf_step_check_reader(call, step, err) != 0)
        goto fail;
    if (!step__is_open(step)) {
        tsr_error_set(err, TSR_E_CONFLICT, "step_closed", NULL, "This step is %s: it cannot be changed%s.",
                      step->state, strcmp(step->state, "completed") == 0 ? " unless it is reopened" : "");
        goto fail;
    }
    char me[WF_OWNER_MAX];
    wf_actor_owner(call->actor, me);
    if (strcmp(step->owner, me) != 0 || strcmp(step->folder, "current") != 0) {
        char *name = wf_owner_name(call->conn, step->owner);
        if (strcmp(step->owner, me) == 0)
            tsr_error_set(err, TSR_E_CONFLICT, "not_resumed", NULL,
                          "This step is in your Incoming work: resume it before changing it.");
        else
            tsr_error_set(err, TSR_E_CONFLICT, "not_your_work", NULL,
                          "This step is in %s's work: resume it (it then moves to your Current work) before "
                          "changing it.",
                          name);
        free(name);
        goto fail;
    }
    return 0;
fail:
    wf_step_free(step);
    return -1;
}

/* Passes a section's save to the daemon that owns its data; *data becomes what the owner kept, and
 * *completed its answer. The owner commits on its own first: if this transaction then fails, the
 * worker's retry saves the same data again, which the owner takes as it is. */
static int step__save_owned(tsr_call_t *call, const wf_step_t *step, const char *owner, const char *section,
                            const json_t *section_def, json_t **data, int *completed, tsr_error_t *err)
{
    Tsr__Workflow__OwnedSectionSave q = TSR__WORKFLOW__OWNED_SECTION_SAVE__INIT;
    Tsr__Workflow__Subject subject = TSR__WORKFLOW__SUBJECT__INIT;
    subject.kind = (char *)step->subject_kind;
    subject.id = step->subject_id;
    char *text = json_dumps(*data, JSON_COMPACT);
    char *section_text = json_dumps(section_def, JSON_COMPACT);
    q.step_id = step->id;
    q.step_type = (char *)step->type;
    q.variant = (char *)step->variant;
    q.step_title = (char *)step->title;
    q.subject = &subject;
    q.subject_name = (char *)step->subject_name;
    q.section = (char *)section;
    q.data_json = text;
    q.completed = *completed;
    q.step_started_at_ms = step->started_at_ms;
    q.definition_version = (uint32_t)step->version;
    q.section_json = section_text;
    char type[96];
    snprintf(type, sizeof(type), "%s.section.save", owner);
    ProtobufCMessage *msg = NULL;
    int rc =
        tsr_call_ask(call, owner, type, &q.base, &tsr__workflow__owned_section_saved__descriptor, &msg, err);
    free(text);
    free(section_text);
    if (rc != 0)
        return -1;
    const Tsr__Workflow__OwnedSectionSaved *saved = (const Tsr__Workflow__OwnedSectionSaved *)msg;
    json_t *kept = json_loads(saved->data_json, 0, NULL);
    *completed = saved->completed;
    protobuf_c_message_free_unpacked(msg, NULL);
    if (!json_is_object(kept)) {
        json_decref(kept);
        return tsr_error_set(err, TSR_E_INTERNAL, "bad_reply", NULL,
                             "The %s daemon's answer could not be read.", owner);
    }
    json_decref(*data);
    *data = kept;
    return 0;
}

/* A section's read-only fields (seed 003: a CPIS Follow up's child and the notification's facts) keep
 * the values they were recorded with: a save may leave them out, or send them as they are, but not
 * change them (400 read_only_field). */
static int step__keep_read_only(tsr_call_t *call, const wf_step_t *step, const json_t *section, json_t *data,
                                tsr_error_t *err)
{
    const json_t *fields = json_object_get(section, "fields"), *f;
    size_t i;
    int any = 0;
    json_array_foreach(fields, i, f)
    {
        any |= json_is_true(json_object_get(f, "read_only"));
    }
    if (!any)
        return 0;
    char id[24];
    snprintf(id, sizeof(id), "%" PRIu64, step->id);
    const char *params[2] = {id, json_string_value(json_object_get(section, "number"))};
    PGresult *res =
        tsr_db_exec(call->conn, "SELECT data::text FROM sections WHERE step_id = $1::bigint AND number = $2",
                    2, params, err);
    if (res == NULL)
        return -1;
    json_t *stored = PQntuples(res) == 1 ? json_loads(PQgetvalue(res, 0, 0), 0, NULL) : NULL;
    PQclear(res);
    int rc = 0;
    json_array_foreach(fields, i, f)
    {
        if (!json_is_true(json_object_get(f, "read_only")))
            continue;
        const char *name = json_string_value(json_object_get(f, "name"));
        json_t *was = json_object_get(stored, name), *sent = json_object_get(data, name);
        /* A step started by hand (a notification that came by telephone) has nothing recorded: its
         * first save records it, and from then it is fixed as a notification's would be. */
        int recorded =
            was != NULL && !json_is_null(was) && !(json_is_string(was) && json_string_length(was) == 0);
        if (!recorded)
            continue;
        if (sent != NULL && !json_is_null(sent) && !json_equal(sent, was)) {
            char field[96];
            snprintf(field, sizeof(field), "data.%s", name);
            rc = tsr_error_set(err, TSR_E_INVALID, "read_only_field", field,
                               "%s is recorded when the step starts and cannot be changed.",
                               json_string_value(json_object_get(f, "title")));
            break;
        }
        json_object_set(data, name, was);
    }
    json_decref(stored);
    return rc;
}

/* A section's revision, and who saved it last (id, name) and when (ms). */
#define STEP_SECTION_SAVED_SQL                                                                               \
    "SELECT revision, saved_by, " WF_MS(                                                                     \
        "saved_at") ", coalesce((SELECT w.name FROM workers w"                                               \
                    " WHERE w.id = sections.saved_by), '')"                                                  \
                    " FROM sections WHERE step_id = $1::bigint AND number = $2"

/* A save of a section as it stood at a revision (the step's view gives each section's): refused, 409
 * section_changed, when the section has been saved since, by someone else or by the same worker in
 * another tab, naming who and when, so that what they recorded is never saved over unseen. The step
 * is locked (step__load_for_work), so no other save of it can come between this and the caller's. */
static int step__check_revision(tsr_call_t *call, const wf_step_t *step, const json_t *section,
                                uint32_t revision, tsr_error_t *err)
{
    char id[24];
    snprintf(id, sizeof(id), "%" PRIu64, step->id);
    const char *number = json_string_value(json_object_get(section, "number"));
    const char *params[2] = {id, number};
    PGresult *res = tsr_db_exec(call->conn, STEP_SECTION_SAVED_SQL, 2, params, err);
    if (res == NULL)
        return -1;
    uint32_t current = PQntuples(res) == 1 ? (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    if (current == revision) {
        PQclear(res);
        return 0;
    }
    const char *title = json_string_value(json_object_get(section, "title"));
    if (current == 0) {
        tsr_error_set(err, TSR_E_CONFLICT, "section_changed", "revision",
                      "Section %s '%s' has not been saved yet, so there is no revision %u of it: nothing was "
                      "saved. Open the step again and save from there.",
                      number, title, revision);
        PQclear(res);
        return -1;
    }
    /* When, on the office clock (the daemon runs in workflow.timezone). */
    time_t at = (time_t)(strtoll(PQgetvalue(res, 0, 2), NULL, 10) / 1000);
    struct tm tm;
    char when[40] = "";
    if (localtime_r(&at, &tm) != NULL)
        strftime(when, sizeof(when), "%H:%M on %d/%m/%Y", &tm);
    uint64_t by = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
    const char *name = PQgetvalue(res, 0, 3);
    char who[220];
    if (by == call->actor->worker_id)
        snprintf(who, sizeof(who), "you, in another tab or window,");
    else
        snprintf(who, sizeof(who), "%.200s", name[0] ? name : "another worker");
    tsr_error_set(err, TSR_E_CONFLICT, "section_changed", "revision",
                  "Section %s '%s' was saved by %s at %s, after the copy you are saving from was opened: "
                  "nothing was saved. Open the step again to see what was recorded, then make your "
                  "changes to it.",
                  number, title, who, when);
    PQclear(res);
    return -1;
}

/* Keeps a section's data and whether it is completed, saved by the caller (deferred: with the call's
 * other statements, or none of them). The revision counts the saves. */
static int step__section_keep(tsr_call_t *call, uint64_t step_id, const char *number, const json_t *data,
                              int completed, tsr_error_t *err)
{
    char *text = json_dumps(data, JSON_COMPACT);
    if (text == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
    char id[24], by[24];
    snprintf(id, sizeof(id), "%" PRIu64, step_id);
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    const char *params[5] = {id, number, text, completed ? "true" : "false", by};
    int rc = tsr_db_defer(call->conn,
                          "INSERT INTO sections (step_id, number, data, completed, saved_by)"
                          " VALUES ($1::bigint, $2, $3::jsonb, $4::boolean, $5::bigint)"
                          " ON CONFLICT (step_id, number) DO UPDATE SET data = EXCLUDED.data,"
                          " completed = EXCLUDED.completed, saved_at = now(), saved_by = EXCLUDED.saved_by,"
                          " revision = sections.revision + 1",
                          5, params, NULL, NULL, err);
    free(text);
    return rc;
}

int wf_handle_section_save(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Workflow__SectionSave *in = (const Tsr__Workflow__SectionSave *)call->payload;
    wf_step_t step;
    if (step__load_for_work(call, in->step_id, &step, err) != 0)
        return -1;
    int rc = -1;
    json_t *data = NULL;
    const json_t *section = wf_def_section(step.def, in->section ? in->section : "");
    if (section == NULL) {
        tsr_error_set(err, TSR_E_NOT_FOUND, "unknown_section", "section", "%s has no section \"%s\".",
                      step.title, in->section ? in->section : "");
        goto done;
    }
    /* Before anything is checked or passed to the section's owner: a refused save changes nothing. */
    if (in->revision_given && step__check_revision(call, &step, section, in->revision, err) != 0)
        goto done;
    json_error_t jerr;
    data =
        json_loads(in->data_json && in->data_json[0] ? in->data_json : "{}", JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(data)) {
        tsr_error_set(err, TSR_E_INVALID, "invalid_value", "data",
                      "data must be a JSON object of the section's fields.");
        goto done;
    }
    if (step__keep_read_only(call, &step, section, data, err) != 0)
        goto done;
    const char *kind = json_string_value(json_object_get(section, "kind"));
    if (kind != NULL && strcmp(kind, "next-actions") == 0) {
        /* What is not next_actions would be kept with them and shown to no one. */
        const char *key;
        json_t *value;
        json_object_foreach(data, key, value)
        {
            if (strcmp(key, "next_actions") != 0) {
                char field[128];
                snprintf(field, sizeof(field), "data.%.100s", key);
                tsr_error_set(err, TSR_E_INVALID, "unknown_field", field,
                              "This section takes only next_actions, not \"%.100s\".", key);
                goto done;
            }
        }
        if (wf_fields_check_next_actions(call, &step, json_object_get(data, "next_actions"), in->completed,
                                         err) != 0)
            goto done;
    } else if (wf_fields_check(call, json_object_get(section, "fields"), data, in->completed, err) != 0)
        goto done;
    int completed = in->completed;
    const char *owner = json_string_value(json_object_get(section, "owner"));
    if (owner != NULL &&
        step__save_owned(call, &step, owner, in->section, section, &data, &completed, err) != 0)
        goto done;
    if (step__section_keep(call, step.id, json_string_value(json_object_get(section, "number")), data,
                           completed, err) != 0)
        goto done;
    char detail[200];
    snprintf(detail, sizeof(detail), "Section %s %s", in->section, completed ? "completed" : "saved");
    if (wf_step_changed_reply(call, step.id, "section-saved", detail, err) != 0)
        goto done;
    rc = 0;
done:
    json_decref(data);
    wf_step_free(&step);
    return rc;
}

/* Moves a step into owner's folder ("incoming" or "current"). */
/* Moves a step to owner's folder. One already past its due time, and so raised as overdue, that
 * changes hands gives its new holder the time its type allows from now (remind_at) before the
 * overdue scan raises it again: taken from a queue where it waited too long, then left, it would
 * otherwise never be raised again, nor the new holder's manager told. */
static int step__move(tsr_call_t *call, const wf_step_t *step, const char *owner, const char *state,
                      const char *folder, tsr_error_t *err)
{
    char id[24], remind[24];
    snprintf(id, sizeof(id), "%" PRIu64, step->id);
    snprintf(remind, sizeof(remind), "%" PRId64, wf_def_due(json_object_get(step->def, "due"), tsr_now_ms()));
    const char *params[5] = {id, owner, state, folder, remind};
    return tsr_db_defer(call->conn,
                        "UPDATE steps SET owner = $2, state = $3, folder = $4, sort_at = now(),"
                        " overdue_notified = overdue_notified AND NOT (owner <> $2 AND $5::bigint > 0),"
                        " remind_at = CASE WHEN overdue_notified AND owner <> $2 AND $5::bigint > 0"
                        "  THEN to_timestamp($5::bigint / 1000.0) ELSE remind_at END"
                        " WHERE id = $1::bigint",
                        5, params, NULL, NULL, err);
}

/* Whether the caller holds an open request about the step, or sent one that was returned to them
 * (acknowledged or not), so may pick it up: a manager who returns a 'Pass to MASH Manager' is
 * handing the consultation back to the admin who sent it. */
static int step__holds_request(tsr_call_t *call, uint64_t step_id, int *holds, tsr_error_t *err)
{
    *holds = 0;
    char id[24];
    snprintf(id, sizeof(id), "%" PRIu64, step_id);
    const char *params[1] = {id};
    PGresult *res = tsr_db_exec(call->conn,
                                "SELECT inbox FROM requests WHERE step_id = $1::bigint AND status = 'sent'"
                                " AND inbox IS NOT NULL"
                                " UNION ALL SELECT 'w:' || r.sender_id FROM requests r"
                                " WHERE r.step_id = $1::bigint AND r.status IN ('returned', 'acknowledged')"
                                " AND EXISTS (SELECT 1 FROM request_history h WHERE h.request_id = r.id"
                                " AND h.action = 'returned')",
                                1, params, err);
    if (res == NULL)
        return -1;
    for (int i = 0; i < PQntuples(res) && !*holds; i++)
        *holds = wf_actor_works(call->actor, PQgetvalue(res, i, 0));
    PQclear(res);
    return 0;
}

int wf_handle_step_resume(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Workflow__StepRef *in = (const Tsr__Workflow__StepRef *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    if (call->actor->worker_id == 0)
        return tsr_error_set(err, TSR_E_FORBIDDEN, "forbidden", NULL, "Only a worker can resume work.");
    wf_step_t step;
    if (wf_step_load(call, in->step_id, 1, &step, err) != 0)
        return -1;
    int rc = -1, holds = 0;
    if (wf_step_check_reader(call, &step, err) != 0)
        goto done;
    if (!step__is_open(&step)) {
        tsr_error_set(err, TSR_E_CONFLICT, "step_closed", NULL,
                      "This step is %s: there is nothing to resume.", step.state);
        goto done;
    }
    if (step__holds_request(call, step.id, &holds, err) != 0)
        goto done;
    if (!wf_actor_works(call->actor, step.owner) && !holds && !wf_actor_is_manager(call->actor)) {
        tsr_error_set(
            err, TSR_E_FORBIDDEN, "not_your_work", NULL,
            "This step is not in your work, your team's, or a queue you work, and no request about it "
            "was sent to you or returned to you.");
        goto done;
    }
    char me[WF_OWNER_MAX];
    wf_actor_owner(call->actor, me);
    const char *state = strcmp(step.state, "incoming") == 0 ? "started" : step.state;
    if (step__move(call, &step, me, state, "current", err) != 0 ||
        wf_step_changed_reply(call, step.id, "resumed", "Moved to Current work", err) != 0)
        goto done;
    rc = 0;
done:
    wf_step_free(&step);
    return rc;
}

int wf_step_assign(tsr_call_t *call, const wf_step_t *step, const char *owner, const char *detail,
                   tsr_error_t *err)
{
    /* Assigned work arrives in the worker's Incoming work; a started step stays started. */
    const char *state = strcmp(step->state, "reopened") == 0 ? "reopened" : "incoming";
    if (step__move(call, step, owner, strcmp(step->state, "started") == 0 ? "incoming" : state, "incoming",
                   err) != 0)
        return -1;
    return wf_step_changed(call, step->id, "assigned", detail, err);
}

int wf_handle_step_assign(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Workflow__StepAssign *in = (const Tsr__Workflow__StepAssign *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    if (in->n_step_ids == 0)
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", "step_ids", "Choose the work to assign.");
    if (in->n_step_ids > 500)
        return tsr_error_set(err, TSR_E_INVALID, "too_many", "step_ids",
                             "Assign at most 500 steps at a time.");
    char owner[WF_OWNER_MAX];
    char *owner_name = NULL;
    if (wf_recipient_resolve(call, in->to, NULL, NULL, owner, &owner_name, err) != 0)
        return -1;
    int rc = -1;
    for (size_t i = 0; i < in->n_step_ids; i++) {
        wf_step_t step;
        if (wf_step_load(call, in->step_ids[i], 1, &step, err) != 0)
            goto done;
        int ok = -1;
        if (wf_step_check_reader(call, &step, err) != 0)
            goto next;
        if (!step__is_open(&step)) {
            tsr_error_set(err, TSR_E_CONFLICT, "step_closed", "step_ids",
                          "Step %" PRIu64 " is %s: it cannot be assigned.", step.id, step.state);
            goto next;
        }
        if (!wf_actor_works(call->actor, step.owner) && !wf_actor_is_manager(call->actor)) {
            tsr_error_set(err, TSR_E_FORBIDDEN, "not_your_work", "step_ids",
                          "Step %" PRIu64
                          " is not in your work or a queue you work; a manager can assign it.",
                          step.id);
            goto next;
        }
        if (wf_subject_check_recipient(call, step.def, step.subject_kind, step.subject_id, owner, owner_name,
                                       err) != 0)
            goto next;
        char detail[WF_DETAIL_MAX];
        snprintf(detail, sizeof(detail), "Assigned to %s", owner_name);
        tsr_text_utf8_clean(detail);
        if (wf_step_assign(call, &step, owner, detail, err) != 0)
            goto next;
        ok = 0;
    next:
        wf_step_free(&step);
        if (ok != 0)
            goto done;
    }
    rc = wf_reply_step(call, in->step_ids[0], err);
done:
    free(owner_name);
    return rc;
}

int wf_handle_step_cancel(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Workflow__StepCancel *in = (const Tsr__Workflow__StepCancel *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    if (in->reason == NULL || tsr_text_trimmed_length(in->reason) == 0)
        return tsr_error_set(err, TSR_E_UNPROCESSABLE, "reason_required", "reason",
                             "Give the reason for cancelling.");
    if (tsr_text_length(in->reason) > 1000)
        return tsr_error_set(err, TSR_E_INVALID, "too_long", "reason",
                             "The reason must be 1000 characters or fewer.");
    wf_step_t step;
    if (wf_step_load(call, in->step_id, 1, &step, err) != 0)
        return -1;
    int rc = -1;
    if (wf_step_check_reader(call, &step, err) != 0)
        goto done;
    if (!step__is_open(&step)) {
        tsr_error_set(err, TSR_E_CONFLICT, "step_closed", NULL, "This step is already %s.", step.state);
        goto done;
    }
    if (!wf_actor_works(call->actor, step.owner) && !wf_actor_is_manager(call->actor)) {
        tsr_error_set(err, TSR_E_FORBIDDEN, "not_your_work", NULL,
                      "Only the worker whose work it is, or a manager, can cancel it.");
        goto done;
    }
    char id[24];
    snprintf(id, sizeof(id), "%" PRIu64, step.id);
    const char *params[2] = {id, in->reason};
    PGresult *res =
        tsr_db_exec(call->conn,
                    "WITH s AS (UPDATE steps SET state = 'cancelled', folder = NULL, cancelled_reason = $2,"
                    " completed_at = now() WHERE id = $1::bigint)"
                    " UPDATE requests SET inbox = NULL WHERE step_id = $1::bigint AND inbox IS NOT NULL",
                    2, params, err);
    if (res == NULL)
        goto done;
    PQclear(res);
    if (wf_step_changed_reply(call, step.id, "cancelled", in->reason, err) != 0)
        goto done;
    rc = 0;
done:
    wf_step_free(&step);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * Deleting a step recorded in error (seed 002: the worker asks IT, who delete it)
 * ---------------------------------------------------------------------------------------------- */

static const char *const step_deleters[] = {"system-support", NULL};

/* Children first, then the step: each statement leaves nothing that refers to what the next one
 * deletes. The queue counts follow by their triggers. */
static const char *const step_delete_statements[] = {
    "DELETE FROM recent_views WHERE step_id = $1::bigint",
    "DELETE FROM next_actions WHERE step_id = $1::bigint",
    "DELETE FROM step_history WHERE step_id = $1::bigint",
    "DELETE FROM sections WHERE step_id = $1::bigint",
    "DELETE FROM request_history WHERE request_id IN (SELECT id FROM requests WHERE step_id = $1::bigint)",
    "DELETE FROM requests WHERE step_id = $1::bigint",
    "DELETE FROM steps WHERE id = $1::bigint",
};

int wf_step_delete(tsr_call_t *call, const wf_step_t *step, const char *reason, const char *explanation,
                   int64_t *deleted_at, tsr_error_t *err)
{
    char id[24], by[24];
    snprintf(id, sizeof(id), "%" PRIu64, step->id);
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    /* The event first, while the step is there to describe: the daemons that keep copies (the
     * consultation's form, the reports, the notices) drop theirs when it arrives. */
    if (step__emit(call, step, "deleted", reason, err) != 0)
        return -1;
    const char *kept[4] = {id, reason, explanation, by};
    PGresult *res =
        tsr_db_exec(call->conn,
                    "INSERT INTO step_deletions (step_id, type, variant, subject_kind, subject_id,"
                    " state, started_at, started_by, reason, explanation, deleted_by)"
                    " SELECT id, type, variant, subject_kind, subject_id, state, started_at,"
                    " started_by, $2, $3, $4::bigint FROM steps WHERE id = $1::bigint"
                    " RETURNING " WF_MS("deleted_at"),
                    4, kept, err);
    if (res == NULL)
        return -1;
    *deleted_at = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    const char *params[1] = {id};
    for (size_t i = 0; i < sizeof(step_delete_statements) / sizeof(step_delete_statements[0]); i++) {
        res = tsr_db_exec(call->conn, step_delete_statements[i], 1, params, err);
        if (res == NULL)
            return -1;
        PQclear(res);
    }
    return 0;
}

int wf_handle_step_delete(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Workflow__StepDelete *in = (const Tsr__Workflow__StepDelete *)call->payload;
    if (tsr_actor_require_role(call->actor, step_deleters, "delete work steps: ask system support", err) != 0)
        return -1;
    /* Every fault of the request named at once. */
    tsr_error_clear(err);
    const char *reason = in->reason ? in->reason : "";
    const char *explanation = in->explanation ? in->explanation : "";
    tsr_text_check_reason(reason, step_deletion_reasons, explanation, "step", err);
    if (tsr_error_gathered(err) != 0)
        return -1;
    wf_step_t step;
    if (wf_step_load(call, in->step_id, 1, &step, err) != 0)
        return -1;
    int rc = -1;
    char *trimmed = tsr_text_trim_dup(explanation);
    int64_t deleted_at = 0;
    if (wf_step_delete(call, &step, reason, trimmed ? trimmed : "", &deleted_at, err) != 0)
        goto done;
    Tsr__Workflow__Subject subject = TSR__WORKFLOW__SUBJECT__INIT;
    subject.kind = (char *)step.subject_kind;
    subject.id = step.subject_id;
    Tsr__Workflow__StepDeletion out = TSR__WORKFLOW__STEP_DELETION__INIT;
    out.step_id = step.id;
    out.type = (char *)step.type;
    out.variant = (char *)step.variant;
    out.subject = &subject;
    out.state = (char *)step.state;
    out.reason = (char *)reason;
    out.explanation = trimmed ? trimmed : "";
    out.deleted_at_ms = deleted_at;
    out.deleted_by = call->actor->worker_id;
    tsr_call_reply(call, &out.base);
    rc = 0;
done:
    free(trimmed);
    wf_step_free(&step);
    return rc;
}

int wf_handle_step_reopen(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Workflow__StepRef *in = (const Tsr__Workflow__StepRef *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    wf_step_t step;
    if (wf_step_load(call, in->step_id, 1, &step, err) != 0)
        return -1;
    int rc = -1;
    if (wf_step_check_reader(call, &step, err) != 0)
        goto done;
    if (strcmp(step.state, "completed") != 0) {
        tsr_error_set(err, TSR_E_CONFLICT, "not_completed", NULL,
                      strcmp(step.state, "cancelled") == 0
                          ? "A cancelled step is final: it cannot be reopened."
                          : "Only a completed step can be reopened; this one is %s.",
                      step.state);
        goto done;
    }
    if (!wf_actor_works(call->actor, step.owner) && !wf_actor_is_manager(call->actor)) {
        tsr_error_set(err, TSR_E_FORBIDDEN, "forbidden", NULL,
                      "Only the worker who finished it, or a manager, can reopen a step.");
        goto done;
    }
    char me[WF_OWNER_MAX];
    wf_actor_owner(call->actor, me);
    char id[24];
    snprintf(id, sizeof(id), "%" PRIu64, step.id);
    const char *params[2] = {id, me};
    PGresult *res = tsr_db_exec(call->conn,
                                "UPDATE steps SET state = 'reopened', folder = 'current', owner = $2,"
                                " completed_at = NULL, sort_at = now() WHERE id = $1::bigint",
                                2, params, err);
    if (res == NULL)
        goto done;
    PQclear(res);
    if (wf_step_changed_reply(call, step.id, "reopened", "", err) != 0)
        goto done;
    rc = 0;
done:
    wf_step_free(&step);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * Finishing
 * ---------------------------------------------------------------------------------------------- */

/* The case note ({type, title, optional_when}) a next action's reason records on the person, or NULL. */
static const json_t *step__case_note_taken(const wf_step_t *step, const json_t *action)
{
    const json_t *def_action =
        wf_def_next_action(step->def, json_string_value(json_object_get(action, "action")));
    return json_object_get(wf_fields_reason(def_action, json_string_value(json_object_get(action, "reason"))),
                           "case_note");
}

/* A next action whose reason records a case note on the person (a restricted child's CPIS Follow up
 * finished by the key worker, who does there what an acknowledgement does: seed 003's 'Please
 * create a CP-IS case note re action taken') must have one, unless the step's sections say it is
 * needed only if there are concerns (optional_when: the DHU 111 notifications). */
static int step__check_case_notes(tsr_call_t *call, const wf_step_t *step, const json_t *actions,
                                  tsr_error_t *err)
{
    size_t i;
    const json_t *a;
    json_array_foreach(actions, i, a)
    {
        const json_t *takes = step__case_note_taken(step, a);
        const char *text = json_string_value(json_object_get(a, "case_note"));
        if (takes == NULL || (text != NULL && tsr_text_trimmed_length(text) > 0))
            continue;
        const json_t *optional = json_object_get(takes, "optional_when");
        int matched = optional ? wf_fields_step_matches(call->conn, step->id, optional, err) : 0;
        if (matched < 0)
            return -1;
        if (matched)
            continue;
        char field[64];
        snprintf(field, sizeof(field), "next_actions[%zu].case_note", i);
        return tsr_error_set(err, TSR_E_UNPROCESSABLE, "case_note_required", field,
                             "Record what was done in a %s case note: this notification asks for one.",
                             json_string_value(json_object_get(takes, "title")));
    }
    return 0;
}

/* A reason for a restricted person's work only (requires_restricted_subject: 'Restricted record:
 * followed up by the key worker', which the key worker, not the CP-IS desk, gives) is taken only
 * when the step's person is restricted: otherwise the desk could end an unrestricted child's
 * follow-up with it, no request sent, and the key worker never told. */
static int step__check_restricted_subject(tsr_call_t *call, const wf_step_t *step, const json_t *reason,
                                          size_t i, tsr_error_t *err)
{
    if (!json_is_true(json_object_get(reason, "requires_restricted_subject")))
        return 0;
    int restricted = 0;
    if (strcmp(step->subject_kind, "person") == 0) {
        char person[24];
        snprintf(person, sizeof(person), "%" PRIu64, step->subject_id);
        const char *params[1] = {person};
        PGresult *res = tsr_db_exec(
            call->conn, "SELECT 1 FROM restricted_people WHERE person_id = $1::bigint", 1, params, err);
        if (res == NULL)
            return -1;
        restricted = PQntuples(res) > 0;
        PQclear(res);
    }
    if (restricted)
        return 0;
    char field[64];
    snprintf(field, sizeof(field), "next_actions[%zu].reason", i);
    return tsr_error_set(err, TSR_E_UNPROCESSABLE, "subject_not_restricted", field,
                         "The reason '%s' is for a restricted record's follow-up, and this record is not "
                         "restricted: send the notification to the key worker, or choose another reason.",
                         json_string_value(json_object_get(reason, "title")));
}

/* A reason that says a request was sent (requires_request: seed 003's 'Select CS No Further Action
 * if you are sending a notification to a Key Worker', reason 'Notification sent to allocated
 * worker') is taken only when the step has such a request that was not returned: otherwise the step
 * would end saying the key worker was told when no one was. So is one for restricted records only
 * (step__check_restricted_subject). */
static int step__check_requests_sent(tsr_call_t *call, const wf_step_t *step, const json_t *actions,
                                     tsr_error_t *err)
{
    char id[24];
    snprintf(id, sizeof(id), "%" PRIu64, step->id);
    size_t i;
    const json_t *a;
    json_array_foreach(actions, i, a)
    {
        const json_t *def_action =
            wf_def_next_action(step->def, json_string_value(json_object_get(a, "action")));
        const json_t *reason = wf_fields_reason(def_action, json_string_value(json_object_get(a, "reason")));
        if (step__check_restricted_subject(call, step, reason, i, err) != 0)
            return -1;
        const char *type = json_string_value(json_object_get(reason, "requires_request"));
        if (type == NULL)
            continue;
        const char *params[2] = {id, type};
        PGresult *res = tsr_db_exec(call->conn,
                                    "SELECT 1 FROM requests r WHERE r.step_id = $1::bigint AND r.type = $2"
                                    " AND NOT EXISTS (SELECT 1 FROM request_history h"
                                    "  WHERE h.request_id = r.id AND h.action = 'returned')",
                                    2, params, err);
        if (res == NULL)
            return -1;
        int sent = PQntuples(res) > 0;
        PQclear(res);
        if (sent)
            continue;
        const json_t *def_request = wf_def_request(step->def, type, step->variant);
        char field[64];
        snprintf(field, sizeof(field), "next_actions[%zu].reason", i);
        return tsr_error_set(err, TSR_E_UNPROCESSABLE, "request_not_sent", field,
                             "The reason '%s' says a '%s' was sent, and none has been sent on this step (or "
                             "it came back returned): send it first, or choose another reason.",
                             json_string_value(json_object_get(reason, "title")),
                             def_request ? json_string_value(json_object_get(def_request, "title")) : type);
    }
    return 0;
}

int wf_handle_step_finish(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Workflow__StepFinish *in = (const Tsr__Workflow__StepFinish *)call->payload;
    wf_step_t step;
    if (step__load_for_work(call, in->step_id, &step, err) != 0)
        return -1;
    int rc = -1;
    json_t *actions = NULL;
    char id[24];
    snprintf(id, sizeof(id), "%" PRIu64, step.id);
    const char *params[1] = {id};
    /* The next actions the finish keeps (given, or those saved) are its next-actions section's: with
     * a revision, as a save of that section would be, they are refused once it has been saved since. */
    if (in->revision_given) {
        size_t k;
        json_t *sec;
        json_array_foreach(json_object_get(step.def, "sections"), k, sec)
        {
            const char *kind = json_string_value(json_object_get(sec, "kind"));
            if (kind != NULL && strcmp(kind, "next-actions") == 0 &&
                step__check_revision(call, &step, sec, in->revision, err) != 0)
                goto done;
        }
    }
    PGresult *res = tsr_db_exec(
        call->conn, "SELECT number, completed, data::text FROM sections WHERE step_id = $1::bigint", 1,
        params, err);
    if (res == NULL)
        goto done;
    tsr_error_clear(err);
    /* The next actions given now, or else those saved in a next-actions section. */
    if (in->n_next_actions > 0) {
        actions = json_array();
        for (size_t i = 0; i < in->n_next_actions; i++) {
            const Tsr__Workflow__NextAction *a = in->next_actions[i];
            json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "action", a->action ? a->action : "", "reason",
                                  a->reason ? a->reason : "", "note", a->note ? a->note : "", "priority",
                                  a->priority && a->priority[0] ? a->priority : "normal");
            if (a->case_note && a->case_note[0])
                json_object_set_new(o, "case_note", json_string(a->case_note));
            json_array_append_new(actions, o);
        }
    }
    size_t i;
    json_t *s;
    const char *actions_section = NULL;
    json_array_foreach(json_object_get(step.def, "sections"), i, s)
    {
        const char *number = json_string_value(json_object_get(s, "number"));
        const char *kind = json_string_value(json_object_get(s, "kind"));
        int is_actions = kind && strcmp(kind, "next-actions") == 0;
        int completed = 0;
        if (is_actions)
            actions_section = number;
        for (int r = 0; r < PQntuples(res); r++)
            if (strcmp(PQgetvalue(res, r, 0), number) == 0) {
                completed = PQgetvalue(res, r, 1)[0] == 't';
                if (is_actions && actions == NULL) {
                    json_t *data = json_loads(PQgetvalue(res, r, 2), 0, NULL);
                    actions = json_incref(json_object_get(data, "next_actions"));
                    json_decref(data);
                }
            }
        if (is_actions)
            continue;
        /* Every section still to complete named at once, not one a try. */
        if (json_is_true(json_object_get(s, "required")) && !completed)
            tsr_error_add(err, TSR_E_UNPROCESSABLE, "section_incomplete", "sections",
                          "Complete section %s '%s' before finishing.", number,
                          json_string_value(json_object_get(s, "title")));
    }
    PQclear(res);
    if (tsr_error_gathered(err) != 0)
        goto done;
    if (actions == NULL)
        actions = json_array();
    json_array_foreach(json_object_get(step.def, "sections"), i, s)
    {
        const char *kind = json_string_value(json_object_get(s, "kind"));
        if (kind && strcmp(kind, "next-actions") == 0 && json_is_true(json_object_get(s, "required")) &&
            json_array_size(actions) == 0) {
            tsr_error_set(err, TSR_E_UNPROCESSABLE, "next_action_required", "next_actions",
                          "Add a next action in section %s '%s' before finishing.",
                          json_string_value(json_object_get(s, "number")),
                          json_string_value(json_object_get(s, "title")));
            goto done;
        }
    }
    if (wf_fields_check_next_actions(call, &step, actions, 1, err) != 0 ||
        step__check_case_notes(call, &step, actions, err) != 0 ||
        step__check_requests_sent(call, &step, actions, err) != 0)
        goto done;
    /* A required request must have been sent and completed. */
    json_t *r;
    json_array_foreach(json_object_get(step.def, "requests"), i, r)
    {
        if (!json_is_true(json_object_get(r, "required")) || !wf_def_applies_to_variant(r, step.variant))
            continue;
        const char *p2[2] = {id, json_string_value(json_object_get(r, "type"))};
        PGresult *q = tsr_db_exec(
            call->conn,
            "SELECT 1 FROM requests WHERE step_id = $1::bigint AND type = $2 AND status = 'completed'", 2, p2,
            err);
        if (q == NULL)
            goto done;
        int done_ok = PQntuples(q) > 0;
        PQclear(q);
        if (!done_ok) {
            tsr_error_set(err, TSR_E_UNPROCESSABLE, "required_request_incomplete", "requests",
                          "The required request '%s' must be sent and completed before this step can finish.",
                          json_string_value(json_object_get(r, "title")));
            goto done;
        }
    }
    /* Record the actions, and start what they start. A reopened step finishing again keeps the
     * actions it ended with before: the new ones are numbered after them. */
    res = tsr_db_exec(call->conn,
                      "SELECT coalesce(max(position) + 1, 0) FROM next_actions WHERE step_id = $1::bigint", 1,
                      params, err);
    if (res == NULL)
        goto done;
    size_t first_position = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    json_t *a;
    json_array_foreach(actions, i, a)
    {
        const json_t *def_action =
            wf_def_next_action(step.def, json_string_value(json_object_get(a, "action")));
        const char *reason = json_string_value(json_object_get(a, "reason"));
        const char *reason_title = "";
        size_t k;
        json_t *opt;
        json_array_foreach(json_object_get(def_action, "reasons"), k, opt)
        {
            if (reason && strcmp(json_string_value(json_object_get(opt, "value")), reason) == 0)
                reason_title = json_string_value(json_object_get(opt, "title"));
        }
        char started[24] = "";
        const json_t *starts = json_object_get(def_action, "starts");
        if (json_is_object(starts)) {
            const char *start_type = json_string_value(json_object_get(starts, "type"));
            const char *start_variant = json_string_value(json_object_get(starts, "variant"));
            char owner[WF_OWNER_MAX];
            char *owner_name = NULL;
            const json_t *to = json_object_get(starts, "assign_to");
            const char *assign = NULL;
            if (to != NULL) {
                if (wf_recipient_resolve(call, NULL, to, NULL, owner, &owner_name, err) != 0)
                    goto done;
                int bad =
                    wf_subject_check_recipient(call, wf_definition_current(start_type, NULL),
                                               step.subject_kind, step.subject_id, owner, owner_name, err);
                free(owner_name);
                if (bad)
                    goto done;
                assign = owner;
            }
            uint64_t new_id = 0;
            if (wf_step_start_internal(call, start_type, start_variant ? start_variant : "",
                                       step.subject_kind, step.subject_id, step.subject_name, assign, &new_id,
                                       err) != 0)
                goto done;
            snprintf(started, sizeof(started), "%" PRIu64, new_id);
        }
        char pos[24], by[24];
        snprintf(pos, sizeof(pos), "%zu", first_position + i);
        snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
        const char *p[10] = {id,
                             pos,
                             json_string_value(json_object_get(a, "action")),
                             json_string_value(json_object_get(def_action, "title")),
                             reason ? reason : "",
                             reason_title,
                             json_string_value(json_object_get(a, "note"))
                                 ? json_string_value(json_object_get(a, "note"))
                                 : "",
                             json_string_value(json_object_get(a, "priority"))
                                 ? json_string_value(json_object_get(a, "priority"))
                                 : "normal",
                             started[0] ? started : NULL,
                             by};
        if (tsr_db_defer(call->conn,
                         "INSERT INTO next_actions (step_id, position, action, title, reason, reason_title,"
                         " note, priority, started_step_id, added_by)"
                         " VALUES ($1::bigint, $2::int, $3, $4, $5, $6, $7, $8, $9::bigint, $10::bigint)",
                         10, p, NULL, NULL, err) != 0)
            goto done;
    }
    /* Next actions given with the finish are its next-actions section's, completed, as a save of the
     * section before it would have made them: here they are kept only when the step finishes. */
    if (in->n_next_actions > 0 && actions_section != NULL) {
        json_t *data = json_pack("{s:O}", "next_actions", actions);
        int kept = step__section_keep(call, step.id, actions_section, data, 1, err);
        json_decref(data);
        if (kept != 0)
            goto done;
    }
    if (tsr_db_defer(call->conn,
                     "UPDATE steps SET state = 'completed', folder = NULL, completed_at = now() WHERE id = "
                     "$1::bigint",
                     1, params, NULL, NULL, err) != 0)
        goto done;
    /* Last, as an acknowledgement's: records commits the case note before this command does. */
    json_array_foreach(actions, i, a)
    {
        const char *text = json_string_value(json_object_get(a, "case_note"));
        if (text == NULL || tsr_text_trimmed_length(text) == 0)
            continue;
        const json_t *takes = step__case_note_taken(&step, a);
        char prefix[80], field[64];
        snprintf(prefix, sizeof(prefix), "workflow.step.finished:%s:%zu", id, first_position + i);
        snprintf(field, sizeof(field), "next_actions[%zu].case_note", i);
        if (wf_case_note_record(call, &step, takes, text, prefix, field, err) != 0)
            goto done;
    }
    if (wf_step_changed_reply(call, step.id, "finished", "", err) != 0)
        goto done;
    rc = 0;
done:
    json_decref(actions);
    wf_step_free(&step);
    return rc;
}
