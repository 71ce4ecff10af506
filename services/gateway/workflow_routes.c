#include "workflow_routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workflow.pb-c.h"
#include "tsr_text.h"

#define WORKFLOW_ASSIGN_MAX 500
/* Workers a recipients query may name to be offered first. */
#define WORKFLOW_ROUTES_MAX_NAMED 20

/* Every workflow reply carries its view as JSON text in a View; it is passed on as it is. */
static void workflow__pass(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                           const tsr_error_t *err, int status)
{
    Tsr__Workflow__View *view =
        (Tsr__Workflow__View *)gw_reply_unpack(call, daemon, reply, err, &tsr__workflow__view__descriptor);
    if (view == NULL)
        return;
    /* The daemon's JSON is passed on as it is: parsing and printing it again would only cost time. */
    gw_reply_text(call, status, "application/json", view->json, strlen(view->json));
    tsr__workflow__view__free_unpacked(view, NULL);
}

static void workflow__ok(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                         const tsr_error_t *err)
{
    workflow__pass(call, daemon, reply, err, 200);
}

static void workflow__created(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                              const tsr_error_t *err)
{
    workflow__pass(call, daemon, reply, err, 201);
}

/* One step's assignment (POST /steps/{id}/assign) is the daemon's assignment of a list of one: a
 * fault of that list is the step's, in the path, not a field of a body that has none. */
static void workflow__assigned_one(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                   const tsr_error_t *err)
{
    tsr_error_t own;
    if (err != NULL && err->status != TSR_OK && strcmp(err->field, "step_ids") == 0) {
        own = *err;
        own.field[0] = '\0';
        for (size_t i = 0; i < own.n_faults; i++)
            if (strcmp(own.faults[i].field, "step_ids") == 0)
                own.faults[i].field[0] = '\0';
        err = &own;
    }
    workflow__pass(call, daemon, reply, err, 200);
}

/* The worker, team or virtual worker a step or request goes to: obj is its member (faults named
 * "to.worker_id" and so on, as the workflow daemon names them, for a step's assign_to too), or the
 * body itself, name NULL (an assignment: "worker_id"). */
static int workflow__recipient(gw_call_t *call, json_t *obj, const char *name, Tsr__Workflow__Recipient *to)
{
    static const char *const fields[] = {"worker_id", "team_id", "virtual_worker", NULL};
    const char *virtual_worker = NULL;
    if (obj == NULL)
        return 0;
    if (!json_is_object(obj))
        return gw_fail(call, TSR_E_INVALID, "invalid_type", name ? name : "",
                       "'%s' must be an object: {worker_id}, {team_id} or {virtual_worker}.",
                       name ? name : "");
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        int known = 0;
        for (size_t i = 0; fields[i]; i++)
            known |= strcmp(key, fields[i]) == 0;
        if (!known) {
            char field[96];
            snprintf(field, sizeof(field), "%s%s%.60s", name ? name : "", name ? "." : "", key);
            return gw_fail(call, TSR_E_INVALID, "unknown_field", field, "'%s' has no member '%.60s'.",
                           name ? name : "The body", key);
        }
    }
    char worker_path[32], team_path[32], virtual_path[40];
    snprintf(worker_path, sizeof(worker_path), "%s%sworker_id", name ? name : "", name ? "." : "");
    snprintf(team_path, sizeof(team_path), "%s%steam_id", name ? name : "", name ? "." : "");
    snprintf(virtual_path, sizeof(virtual_path), "%s%svirtual_worker", name ? name : "", name ? "." : "");
    if (gw_json_member_id_at(call, obj, "worker_id", worker_path, 0, &to->worker_id) != 0 ||
        gw_json_member_id_at(call, obj, "team_id", team_path, 0, &to->team_id) != 0 ||
        gw_json_member_string(call, obj, "virtual_worker", virtual_path, 0, &virtual_worker) != 0)
        return -1;
    to->virtual_worker = (char *)virtual_worker;
    return 0;
}

void gw_step_start(gw_call_t *call)
{
    static const char *const fields[] = {"type", "variant", "subject", "assign_to", NULL};
    if (gw_json_check_object(call, fields) != 0)
        return;
    Tsr__Workflow__StepStart req = TSR__WORKFLOW__STEP_START__INIT;
    Tsr__Workflow__Subject subject = TSR__WORKFLOW__SUBJECT__INIT;
    Tsr__Workflow__Recipient to = TSR__WORKFLOW__RECIPIENT__INIT;
    const char *type, *variant, *kind = NULL;
    if (gw_json_string(call, "type", 1, &type) != 0 || gw_json_string(call, "variant", 0, &variant) != 0)
        return;
    json_t *s = json_object_get(call->body, "subject");
    if (s != NULL && !json_is_null(s)) {
        if (!json_is_object(s)) {
            gw_fail(call, TSR_E_INVALID, "invalid_type", "subject",
                    "'subject' must be an object {kind, id}.");
            return;
        }
        if (gw_json_member_string(call, s, "kind", "subject.kind", 1, &kind) != 0 ||
            gw_json_member_id_at(call, s, "id", "subject.id", 0, &subject.id) != 0)
            return;
        subject.kind = (char *)kind;
        req.subject = &subject;
    }
    if (workflow__recipient(call, json_object_get(call->body, "assign_to"), "to", &to) != 0)
        return;
    req.type = (char *)type;
    req.variant = (char *)variant;
    req.assign_to = &to;
    gw_call_daemon(call, "workflow", "workflow.step.start", &req.base, workflow__created);
}

static void workflow__step_ref(gw_call_t *call, const char *type)
{
    Tsr__Workflow__StepRef req = TSR__WORKFLOW__STEP_REF__INIT;
    if (gw_path_id(call, 0, &req.step_id) != 0)
        return;
    gw_call_daemon(call, "workflow", type, &req.base, workflow__ok);
}

void gw_step_get(gw_call_t *call)
{
    workflow__step_ref(call, "workflow.step.get");
}

void gw_step_resume(gw_call_t *call)
{
    static const char *const fields[] = {NULL};
    if (gw_json_check_object(call, fields) != 0)
        return;
    workflow__step_ref(call, "workflow.step.resume");
}

void gw_step_reopen(gw_call_t *call)
{
    static const char *const fields[] = {NULL};
    if (gw_json_check_object(call, fields) != 0)
        return;
    workflow__step_ref(call, "workflow.step.reopen");
}

void gw_steps_by_subject(gw_call_t *call)
{
    Tsr__Workflow__StepsQuery req = TSR__WORKFLOW__STEPS_QUERY__INIT;
    const char *kind = gw_param(call, "subject_kind");
    if (kind == NULL || kind[0] == '\0') {
        gw_fail(call, TSR_E_INVALID, "missing_field", "subject_kind",
                "Say whose steps to list: subject_kind (organisation, person) and subject_id.");
        return;
    }
    if (gw_param_id(call, "subject_id", &req.id) != 0)
        return;
    if (req.id == 0) {
        gw_fail(call, TSR_E_INVALID, "missing_field", "subject_id", "subject_id is required.");
        return;
    }
    if (gw_param_limit(call, &req.limit) != 0)
        return;
    req.kind = (char *)kind;
    req.cursor = (char *)(gw_param(call, "cursor") ? gw_param(call, "cursor") : "");
    gw_call_daemon(call, "workflow", "workflow.steps.by_subject", &req.base, workflow__ok);
}

void gw_section_save(gw_call_t *call)
{
    static const char *const fields[] = {"data", "completed", "revision", NULL};
    if (gw_json_check_object(call, fields) != 0)
        return;
    Tsr__Workflow__SectionSave req = TSR__WORKFLOW__SECTION_SAVE__INIT;
    if (gw_path_id(call, 0, &req.step_id) != 0)
        return;
    json_t *data = json_object_get(call->body, "data");
    /* A save replaces the section's fields with those sent: without 'data' it would empty them all
     * (a '{"completed": false}' lost a whole section 1), so it is refused instead. */
    if (data == NULL) {
        gw_fail(call, TSR_E_INVALID, "missing_field", "data",
                "Send the section's fields as 'data' (an object, {} for none): a save replaces them "
                "all.");
        return;
    }
    if (!json_is_object(data)) {
        gw_fail(call, TSR_E_INVALID, "invalid_type", "data",
                "'data' must be an object of the section's fields.");
        return;
    }
    int completed = 0, revision_given = 0;
    if (gw_json_member_bool(call, NULL, "completed", &completed) != 0 ||
        gw_json_member_count(call, NULL, "revision", &revision_given, &req.revision) != 0)
        return;
    req.revision_given = revision_given;
    char *text = json_dumps(data, JSON_COMPACT);
    if (text == NULL) {
        gw_fail(call, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
        return;
    }
    req.section = call->path_vars[1];
    req.data_json = text;
    req.completed = completed;
    gw_call_daemon(call, "workflow", "workflow.section.save", &req.base, workflow__ok);
    free(text);
}

void gw_request_raise(gw_call_t *call)
{
    static const char *const fields[] = {"type", "to", "note", NULL};
    if (gw_json_check_object(call, fields) != 0)
        return;
    Tsr__Workflow__RequestRaise req = TSR__WORKFLOW__REQUEST_RAISE__INIT;
    Tsr__Workflow__Recipient to = TSR__WORKFLOW__RECIPIENT__INIT;
    const char *type, *note;
    if (gw_path_id(call, 0, &req.step_id) != 0 || gw_json_string(call, "type", 1, &type) != 0 ||
        gw_json_string(call, "note", 0, &note) != 0 ||
        workflow__recipient(call, json_object_get(call->body, "to"), "to", &to) != 0)
        return;
    req.type = (char *)type;
    req.note = (char *)note;
    req.to = &to;
    gw_call_daemon(call, "workflow", "workflow.request.raise", &req.base, workflow__created);
}

void gw_recipients(gw_call_t *call)
{
    Tsr__Workflow__RecipientsQuery req = TSR__WORKFLOW__RECIPIENTS_QUERY__INIT;
    if (gw_path_id(call, 0, &req.step_id) != 0)
        return;
    req.type = (char *)(gw_param(call, "type") ? gw_param(call, "type") : "");
    req.q = (char *)(gw_param(call, "q") ? gw_param(call, "q") : "");
    uint64_t ids[WORKFLOW_ROUTES_MAX_NAMED];
    const char *named = gw_param(call, "worker_ids");
    for (const char *p = named; p != NULL && *p != '\0';) {
        size_t len = strcspn(p, ",");
        char text[24] = "";
        if (len < sizeof(text))
            memcpy(text, p, len);
        if (!tsr_text_is_id(text) || (ids[req.n_worker_ids] = strtoull(text, NULL, 10)) == 0) {
            gw_fail(call, TSR_E_INVALID, "invalid_id", "worker_ids",
                    "'worker_ids' must be worker ids separated by commas, e.g. 1001,1002.");
            return;
        }
        if (++req.n_worker_ids == WORKFLOW_ROUTES_MAX_NAMED && p[len] != '\0') {
            gw_fail(call, TSR_E_INVALID, "too_many", "worker_ids", "'worker_ids' names more than %d workers.",
                    WORKFLOW_ROUTES_MAX_NAMED);
            return;
        }
        p += len + (p[len] == ',');
    }
    req.worker_ids = ids;
    gw_call_daemon(call, "workflow", "workflow.recipients", &req.base, workflow__ok);
}

static void workflow__request_act(gw_call_t *call, const char *type)
{
    static const char *const fields[] = {"note", "case_note", NULL};
    if (gw_json_check_object(call, fields) != 0)
        return;
    Tsr__Workflow__RequestAct req = TSR__WORKFLOW__REQUEST_ACT__INIT;
    const char *note, *case_note;
    if (gw_path_id(call, 0, &req.request_id) != 0 || gw_json_string(call, "note", 0, &note) != 0 ||
        gw_json_string(call, "case_note", 0, &case_note) != 0)
        return;
    req.note = (char *)note;
    req.case_note = (char *)case_note;
    gw_call_daemon(call, "workflow", type, &req.base, workflow__ok);
}

void gw_request_complete(gw_call_t *call)
{
    workflow__request_act(call, "workflow.request.complete");
}

void gw_request_return(gw_call_t *call)
{
    workflow__request_act(call, "workflow.request.return");
}

void gw_request_acknowledge(gw_call_t *call)
{
    workflow__request_act(call, "workflow.request.acknowledge");
}

void gw_step_assign(gw_call_t *call)
{
    static const char *const fields[] = {"worker_id", "team_id", "virtual_worker", NULL};
    if (gw_json_check_object(call, fields) != 0)
        return;
    Tsr__Workflow__StepAssign req = TSR__WORKFLOW__STEP_ASSIGN__INIT;
    Tsr__Workflow__Recipient to = TSR__WORKFLOW__RECIPIENT__INIT;
    uint64_t id;
    if (gw_path_id(call, 0, &id) != 0 || workflow__recipient(call, call->body, NULL, &to) != 0)
        return;
    req.step_ids = &id;
    req.n_step_ids = 1;
    req.to = &to;
    gw_call_daemon(call, "workflow", "workflow.step.assign", &req.base, workflow__assigned_one);
}

void gw_steps_assign(gw_call_t *call)
{
    static const char *const fields[] = {"step_ids", "worker_id", "team_id", "virtual_worker", NULL};
    if (gw_json_check_object(call, fields) != 0)
        return;
    json_t *ids = json_object_get(call->body, "step_ids");
    if (!json_is_array(ids) || json_array_size(ids) == 0) {
        gw_fail(call, TSR_E_INVALID, ids ? "invalid_type" : "missing_field", "step_ids",
                "'step_ids' must be a list of step ids.");
        return;
    }
    if (json_array_size(ids) > WORKFLOW_ASSIGN_MAX) {
        gw_fail(call, TSR_E_INVALID, "too_many", "step_ids", "Assign at most %d steps at a time.",
                WORKFLOW_ASSIGN_MAX);
        return;
    }
    uint64_t step_ids[WORKFLOW_ASSIGN_MAX];
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        const char *text = json_string_value(v);
        step_ids[i] = text && tsr_text_is_id(text) ? strtoull(text, NULL, 10) : 0;
        if (step_ids[i] == 0) {
            gw_fail(call, TSR_E_INVALID, "invalid_id", "step_ids",
                    "step_ids[%zu] must be an id: a string of digits.", i);
            return;
        }
    }
    Tsr__Workflow__StepAssign req = TSR__WORKFLOW__STEP_ASSIGN__INIT;
    Tsr__Workflow__Recipient to = TSR__WORKFLOW__RECIPIENT__INIT;
    /* The recipient is the body's other members; the strings stay owned by the call's body. */
    json_t *recipient = json_object();
    const char *key;
    json_t *member;
    json_object_foreach(call->body, key, member)
    {
        if (strcmp(key, "step_ids") != 0)
            json_object_set(recipient, key, member);
    }
    int bad = workflow__recipient(call, recipient, NULL, &to);
    json_decref(recipient);
    if (bad != 0)
        return;
    req.step_ids = step_ids;
    req.n_step_ids = json_array_size(ids);
    req.to = &to;
    gw_call_daemon(call, "workflow", "workflow.step.assign", &req.base, workflow__ok);
}

void gw_step_finish(gw_call_t *call)
{
    static const char *const fields[] = {"next_actions", "revision", NULL};
    if (gw_json_check_object(call, fields) != 0)
        return;
    Tsr__Workflow__StepFinish req = TSR__WORKFLOW__STEP_FINISH__INIT;
    int revision_given = 0;
    if (gw_path_id(call, 0, &req.step_id) != 0 ||
        gw_json_member_count(call, NULL, "revision", &revision_given, &req.revision) != 0)
        return;
    req.revision_given = revision_given;
    json_t *list = json_object_get(call->body, "next_actions");
    if (list != NULL && !json_is_array(list)) {
        gw_fail(call, TSR_E_INVALID, "invalid_type", "next_actions",
                "'next_actions' must be a list of {action, reason, note, priority, case_note}.");
        return;
    }
    size_t n = json_array_size(list);
    if (n > 20) {
        gw_fail(call, TSR_E_INVALID, "too_many", "next_actions", "A step ends with at most 20 next actions.");
        return;
    }
    Tsr__Workflow__NextAction actions[20], *ptrs[20];
    static const char *const action_fields[] = {"action", "reason", "note", "priority", "case_note", NULL};
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(list, i);
        char path[64];
        tsr__workflow__next_action__init(&actions[i]);
        ptrs[i] = &actions[i];
        if (!json_is_object(a)) {
            gw_fail(call, TSR_E_INVALID, "invalid_type", "next_actions",
                    "next_actions[%zu] must be an object {action, reason, note, priority, case_note}.", i);
            return;
        }
        const char *key;
        json_t *v;
        json_object_foreach(a, key, v)
        {
            int known = 0;
            for (size_t k = 0; action_fields[k]; k++)
                known |= strcmp(key, action_fields[k]) == 0;
            if (!known) {
                snprintf(path, sizeof(path), "next_actions[%zu]", i);
                gw_fail(call, TSR_E_INVALID, "unknown_field", path, "A next action has no member '%.40s'.",
                        key);
                return;
            }
        }
        const char *action, *reason, *note, *priority;
        snprintf(path, sizeof(path), "next_actions[%zu].action", i);
        if (gw_json_member_string(call, a, "action", path, 1, &action) != 0)
            return;
        snprintf(path, sizeof(path), "next_actions[%zu].reason", i);
        if (gw_json_member_string(call, a, "reason", path, 0, &reason) != 0)
            return;
        snprintf(path, sizeof(path), "next_actions[%zu].note", i);
        if (gw_json_member_string(call, a, "note", path, 0, &note) != 0)
            return;
        snprintf(path, sizeof(path), "next_actions[%zu].priority", i);
        if (gw_json_member_string(call, a, "priority", path, 0, &priority) != 0)
            return;
        const char *case_note;
        snprintf(path, sizeof(path), "next_actions[%zu].case_note", i);
        if (gw_json_member_string(call, a, "case_note", path, 0, &case_note) != 0)
            return;
        actions[i].case_note = (char *)case_note;
        actions[i].action = (char *)action;
        actions[i].reason = (char *)reason;
        actions[i].note = (char *)note;
        actions[i].priority = (char *)priority;
    }
    req.next_actions = ptrs;
    req.n_next_actions = n;
    gw_call_daemon(call, "workflow", "workflow.step.finish", &req.base, workflow__ok);
}

void gw_step_cancel(gw_call_t *call)
{
    static const char *const fields[] = {"reason", NULL};
    if (gw_json_check_object(call, fields) != 0)
        return;
    Tsr__Workflow__StepCancel req = TSR__WORKFLOW__STEP_CANCEL__INIT;
    const char *reason;
    if (gw_path_id(call, 0, &req.step_id) != 0 || gw_json_string(call, "reason", 0, &reason) != 0)
        return;
    req.reason = (char *)reason;
    gw_call_daemon(call, "workflow", "workflow.step.cancel", &req.base, workflow__ok);
}

static void workflow__deleted(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                              const tsr_error_t *err)
{
    Tsr__Workflow__StepDeletion *m = (Tsr__Workflow__StepDeletion *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__workflow__step_deletion__descriptor);
    if (m == NULL)
        return;
    json_t *subject = json_pack("{s:s, s:o}", "kind", m->subject ? m->subject->kind : "none", "id",
                                gw_json_id(m->subject ? m->subject->id : 0));
    json_t *body =
        json_pack("{s:o, s:s, s:s, s:o, s:s, s:s, s:s, s:o, s:o}", "step_id", gw_json_id(m->step_id), "type",
                  m->type, "variant", m->variant, "subject", subject, "state", m->state, "reason", m->reason,
                  "explanation", m->explanation, "deleted_at", gw_json_time(m->deleted_at_ms), "deleted_by",
                  gw_json_id(m->deleted_by));
    tsr__workflow__step_deletion__free_unpacked(m, NULL);
    gw_reply_json(call, 200, body);
}

void gw_step_delete(gw_call_t *call)
{
    static const char *const fields[] = {"reason", "explanation", NULL};
    Tsr__Workflow__StepDelete req = TSR__WORKFLOW__STEP_DELETE__INIT;
    const char *reason, *explanation;
    /* Both optional here: the workflow daemon names every fault of the request at once. */
    if (gw_path_id(call, 0, &req.step_id) != 0 || gw_json_check_object(call, fields) != 0 ||
        gw_json_string(call, "reason", 0, &reason) != 0 ||
        gw_json_string(call, "explanation", 0, &explanation) != 0)
        return;
    req.reason = (char *)reason;
    req.explanation = (char *)explanation;
    gw_call_daemon(call, "workflow", "workflow.step.delete", &req.base, workflow__deleted);
}

void gw_workview(gw_call_t *call)
{
    Tsr__Workflow__WorkviewQuery req = TSR__WORKFLOW__WORKVIEW_QUERY__INIT;
    if (gw_param_id(call, "worker_id", &req.worker_id) != 0 ||
        gw_param_id(call, "team_id", &req.team_id) != 0 || gw_param_limit(call, &req.limit) != 0)
        return;
    req.virtual_worker = (char *)(gw_param(call, "queue") ? gw_param(call, "queue") : "");
    req.folder = (char *)(gw_param(call, "folder") ? gw_param(call, "folder") : "");
    req.cursor = (char *)(gw_param(call, "cursor") ? gw_param(call, "cursor") : "");
    req.order = (char *)(gw_param(call, "order") ? gw_param(call, "order") : "");
    gw_call_daemon(call, "workflow", "workflow.workview", &req.base, workflow__ok);
}

void gw_leavers(gw_call_t *call)
{
    Tsr__Workflow__LeaversQuery req = TSR__WORKFLOW__LEAVERS_QUERY__INIT;
    gw_call_daemon(call, "workflow", "workflow.leavers.list", &req.base, workflow__ok);
}

void gw_definitions(gw_call_t *call)
{
    Tsr__Workflow__DefinitionsQuery req = TSR__WORKFLOW__DEFINITIONS_QUERY__INIT;
    req.type = (char *)(gw_param(call, "type") ? gw_param(call, "type") : "");
    gw_call_daemon(call, "workflow", "workflow.definitions.list", &req.base, workflow__ok);
}

static void workflow__steps_for_page(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                     const tsr_error_t *err)
{
    (void)daemon;
    json_t *body = call->partial;
    call->partial = NULL;
    int status = (int)json_integer_value(json_object_get(body, "_status"));
    json_object_del(body, "_status");
    json_t *steps = NULL, *next = NULL;
    if (err == NULL && reply != NULL) {
        Tsr__Workflow__View *view =
            tsr__workflow__view__unpack(NULL, reply->payload.len, reply->payload.data);
        json_t *list = view ? json_loads(view->json, 0, NULL) : NULL;
        if (list != NULL) {
            steps = json_incref(json_object_get(list, "items"));
            next = json_incref(json_object_get(list, "next_cursor"));
        }
        json_decref(list);
        if (view)
            tsr__workflow__view__free_unpacked(view, NULL);
    }
    /* The newest steps; when there are more, the cursor that GET /api/v1/steps carries on from. */
    json_object_set_new(body, "steps_next_cursor",
                        next && json_is_string(next) ? json_incref(next) : json_null());
    json_decref(next);
    if (steps != NULL) {
        json_object_set_new(body, "steps", steps);
    } else {
        json_object_set_new(body, "steps", json_null());
        json_object_set_new(
            body, "steps_unavailable",
            json_string(err ? err->message : "The workflow daemon's answer could not be read."));
    }
    gw_reply_json(call, status, body);
}

void gw_reply_with_steps(gw_call_t *call, json_t *body, const char *kind, uint64_t id, int status)
{
    Tsr__Workflow__StepsQuery req = TSR__WORKFLOW__STEPS_QUERY__INIT;
    req.kind = (char *)kind;
    req.id = id;
    json_object_set_new(body, "_status", json_integer(status));
    json_decref(call->partial);
    call->partial = body;
    gw_call_daemon(call, "workflow", "workflow.steps.for_summary", &req.base, workflow__steps_for_page);
}
