/* Requests from a step to a worker, a team or a virtual worker, with the history of every action. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "definitions.h"
#include "fields.h"
#include "tsr_envelope.h"
#include "tsr_text.h"
#include "wf.h"

#define REQUEST_NOTE_MAX 4000
/* Workers a recipients query may name to be offered first (the gateway refuses more; a caller that
 * sends more has the rest left out). */
#define REQUEST_RECIPIENTS_MAX_NAMED 20

static int request__history(tsr_call_t *call, const char *request_id, const char *action, const char *to_name,
                            const char *note, tsr_error_t *err)
{
    char by[24];
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    const char *params[6] = {request_id,      action, by, wf_actor_name(call->actor), to_name ? to_name : "",
                             note ? note : ""};
    /* Nothing reads its result: it goes with the command's next statement, in one round trip. */
    return tsr_db_defer(
        call->conn,
        "INSERT INTO request_history (request_id, action, by_worker_id, by_name, to_name, note)"
        " VALUES ($1::bigint, $2, $3::bigint, $4, $5, $6)",
        6, params, NULL, NULL, err);
}

void wf_request_event_fill(const PGresult *res, int row, const char *action, Tsr__Workflow__RequestEvent *ev,
                           Tsr__Workflow__Recipient *to, Tsr__Workflow__Subject *subject,
                           wf_request_roles_t *roles)
{
    const char *recipient = PQgetvalue(res, row, 4);
    if (recipient[0] == 'w')
        to->worker_id = strtoull(recipient + 2, NULL, 10);
    else if (recipient[0] == 't')
        to->team_id = strtoull(recipient + 2, NULL, 10);
    else {
        to->virtual_worker = (char *)recipient + 2;
        const wf_virtual_worker_t *v = wf_virtual_worker(to->virtual_worker);
        if (v != NULL) {
            ev->worked_by_roles = v->role_names;
            ev->n_worked_by_roles = v->n_role_names;
        }
    }
    subject->kind = PQgetvalue(res, row, 6);
    subject->id = strtoull(PQgetvalue(res, row, 7), NULL, 10);
    ev->request_id = strtoull(PQgetvalue(res, row, 0), NULL, 10);
    ev->step_id = strtoull(PQgetvalue(res, row, 1), NULL, 10);
    ev->type = PQgetvalue(res, row, 2);
    ev->title = PQgetvalue(res, row, 3);
    ev->to = to;
    ev->note = PQgetvalue(res, row, 5);
    ev->action = (char *)action;
    ev->subject = subject;
    ev->subject_name = PQgetvalue(res, row, 8);
    ev->sender_id = strtoull(PQgetvalue(res, row, 9), NULL, 10);
    ev->due_at_ms = strtoll(PQgetvalue(res, row, 10), NULL, 10);
    /* Role keys are letters, digits and '-' (checked at load), so a comma parts them. */
    snprintf(roles->text, sizeof(roles->text), "%s", PQgetvalue(res, row, 11));
    size_t n = 0;
    char *save = NULL;
    for (char *name = strtok_r(roles->text, ",", &save); name != NULL && n < WF_REQUEST_ROLES_MAX;
         name = strtok_r(NULL, ",", &save))
        roles->names[n++] = name;
    ev->acted_on_by_roles = roles->names;
    ev->n_acted_on_by_roles = n;
}

int wf_request_emit(tsr_call_t *call, const char *request_id, const char *action, int copy, int to_inbox,
                    tsr_error_t *err)
{
    const char *params[2] = {request_id, to_inbox ? "true" : "false"};
    PGresult *res = tsr_db_exec(
        call->conn,
        "SELECT r.id, r.step_id, r.type, r.title, CASE WHEN $2::boolean THEN r.inbox ELSE r.recipient END,"
        " r.note, s.subject_kind, s.subject_id, s.subject_name, r.sender_id, " WF_MS(
            "r.due_at") ", " WF_SQL_REQUEST_ROLES " FROM requests r JOIN steps s ON s.id = r.step_id"
                        " WHERE r.id = $1::bigint",
        2, params, err);
    if (res == NULL)
        return -1;
    Tsr__Workflow__RequestEvent ev = TSR__WORKFLOW__REQUEST_EVENT__INIT;
    Tsr__Workflow__Recipient to = TSR__WORKFLOW__RECIPIENT__INIT;
    Tsr__Workflow__Subject subject = TSR__WORKFLOW__SUBJECT__INIT;
    wf_request_roles_t roles;
    wf_request_event_fill(res, 0, action, &ev, &to, &subject, &roles);
    ev.copy_to_sender_manager = copy;
    char type[64];
    snprintf(type, sizeof(type), "workflow.request.%s", action);
    int rc = tsr_call_emit(call, type, &ev.base, err);
    PQclear(res);
    return rc;
}

/* The definition's note template for what the step's sections hold (seed 003: the DHU 111 text or
 * the A&E text, by the care setting), else its default; *chosen NULL for none. */
static int request__template(PGconn *conn, uint64_t step_id, const json_t *def_request, const json_t **chosen,
                             tsr_error_t *err)
{
    *chosen = NULL;
    const json_t *templates = json_object_get(def_request, "note_templates"), *t, *fallback = NULL;
    size_t i;
    json_array_foreach(templates, i, t)
    {
        if (json_is_true(json_object_get(t, "default")))
            fallback = t;
        const json_t *when = json_object_get(t, "when");
        if (when == NULL)
            continue;
        int matched = wf_fields_step_matches(conn, step_id, when, err);
        if (matched < 0)
            return -1;
        if (matched) {
            fallback = t;
            break;
        }
    }
    *chosen = fallback;
    return 0;
}

/* The note a request goes with when its sender writes none: its template's text; NULL for none. The
 * sender may always write their own instead. */
static int request__suggested_note(PGconn *conn, uint64_t step_id, const json_t *def_request, char **note,
                                   tsr_error_t *err)
{
    *note = NULL;
    const json_t *chosen;
    if (request__template(conn, step_id, def_request, &chosen, err) != 0)
        return -1;
    if (chosen != NULL && (*note = strdup(json_string_value(json_object_get(chosen, "text")))) == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    return 0;
}

/* Acknowledging a request whose type records a case note then (seed 003: 'Please create a CP-IS case
 * note re action taken'): the case note is required unless the note it went with says it is needed
 * only if there are concerns (the DHU 111 text), and goes on the step's person as the worker's own,
 * through records (which checks their access and audits it). records commits first: it is asked last,
 * so that nothing of this command is left to fail after it but the commit. */
static int request__case_note(tsr_call_t *call, const char *rid, const wf_step_t *step,
                              const json_t *def_request, const char *text, tsr_error_t *err)
{
    const json_t *takes = json_object_get(def_request, "acknowledgement_case_note");
    int given = text != NULL && tsr_text_trimmed_length(text) > 0;
    if (takes == NULL) {
        if (given)
            return tsr_error_set(err, TSR_E_INVALID, "case_note_not_taken", "case_note",
                                 "A %s is not acknowledged with a case note: record one on the person's "
                                 "record instead.",
                                 json_string_value(json_object_get(def_request, "title")));
        return 0;
    }
    const char *title = json_string_value(json_object_get(takes, "title"));
    if (!given) {
        const json_t *chosen;
        if (request__template(call->conn, step->id, def_request, &chosen, err) != 0)
            return -1;
        const char *rule = json_string_value(json_object_get(chosen, "case_note"));
        if (rule != NULL && strcmp(rule, "if-concerns") == 0)
            return 0;
        return tsr_error_set(err, TSR_E_UNPROCESSABLE, "case_note_required", "case_note",
                             "Record what was done in a %s case note: this notification asks for one.",
                             title);
    }
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "workflow.request.acknowledged:%s", rid);
    return wf_case_note_record(call, step, takes, text, prefix, "case_note", err);
}

int wf_case_note_record(tsr_call_t *call, const wf_step_t *step, const json_t *takes, const char *text,
                        const char *key_prefix, const char *field, tsr_error_t *err)
{
    const char *title = json_string_value(json_object_get(takes, "title"));
    if (strcmp(step->subject_kind, "person") != 0)
        return tsr_error_set(err, TSR_E_UNPROCESSABLE, "case_note_not_taken", field,
                             "%s is not about a person, so there is no record for a case note.", step->title);
    Tsr__Records__CaseNote q = TSR__RECORDS__CASE_NOTE__INIT;
    q.person_id = step->subject_id;
    q.type = (char *)json_string_value(json_object_get(takes, "type"));
    q.title = (char *)title;
    q.body = (char *)text;
    /* records commits the note before this command does: if this command's commit then fails, or
     * records answered after we gave up, the worker tries again, and the same command with the same
     * words must find the note already there rather than add it twice. Words changed before the
     * retry are a note of their own. The same command again must be the same bytes (the key is
     * refused for another), so records stamps the note's time (occurred_at 0: now) rather than this
     * call. */
    q.occurred_at_ms = 0;
    unsigned char hash[16];
    crypto_generichash(hash, sizeof(hash), (const unsigned char *)text, strlen(text), NULL, 0);
    char key[160], hex[2 * sizeof(hash) + 1];
    sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
    snprintf(key, sizeof(key), "%s:%s", key_prefix, hex);
    ProtobufCMessage *msg = NULL;
    if (tsr_call_command(call, key, "records", "records.case_note.add", &q.base,
                         &tsr__records__case_note__descriptor, &msg, err) != 0) {
        /* Its faults are the case note's: the body too long, say. */
        if (strcmp(err->field, "body") == 0)
            snprintf(err->field, sizeof(err->field), "%s", field);
        return -1;
    }
    protobuf_c_message_free_unpacked(msg, NULL);
    return 0;
}

/* The sections a request's type needs completed first (gate: its definition's sent_after_sections,
 * or completed_after_sections): 422 section_not_completed naming the first that is not, doing being
 * "sending" or "completing". Seed 000: section 1 is completed, then 'Pass to MASH Manager' sent; the
 * manager completes section 2, then the request, which otherwise says a decision was made that was
 * not recorded. */
static int request__check_sections(tsr_call_t *call, const wf_step_t *step, const json_t *def_request,
                                   const char *gate, const char *doing, tsr_error_t *err)
{
    const json_t *numbers = json_object_get(def_request, gate), *number;
    if (json_array_size(numbers) == 0)
        return 0;
    char sid[24];
    snprintf(sid, sizeof(sid), "%" PRIu64, step->id);
    const char *params[1] = {sid};
    PGresult *res = tsr_db_exec(
        call->conn, "SELECT number FROM sections WHERE step_id = $1::bigint AND completed", 1, params, err);
    if (res == NULL)
        return -1;
    size_t k;
    int rc = 0;
    json_array_foreach(numbers, k, number)
    {
        int done = 0;
        for (int i = 0; i < PQntuples(res) && !done; i++)
            done = strcmp(PQgetvalue(res, i, 0), json_string_value(number)) == 0;
        if (done)
            continue;
        const json_t *section = wf_def_section(step->def, json_string_value(number));
        char field[32];
        snprintf(field, sizeof(field), "sections.%s", json_string_value(number));
        rc = tsr_error_set(err, TSR_E_UNPROCESSABLE, "section_not_completed", field,
                           "Complete section %s '%s' before %s the '%s' request.", json_string_value(number),
                           json_string_value(json_object_get(section, "title")), doing,
                           json_string_value(json_object_get(def_request, "title")));
        break;
    }
    PQclear(res);
    return rc;
}

/* Whether the actor holds one of the request type's acted_on_by_roles; 1 when it names none. */
static int request__actor_acts(const json_t *def_request, const Tsr__Actor *actor)
{
    const json_t *by = json_object_get(def_request, "acted_on_by_roles"), *role;
    if (by == NULL)
        return 1;
    size_t k;
    json_array_foreach(by, k, role)
    {
        if (tsr_actor_has_role(actor, json_string_value(role)))
            return 1;
    }
    return 0;
}

/* The roles of acted_on_by_roles, for a message: "mash-manager or team-manager". */
static void request__roles_text(const json_t *def_request, char *out, size_t size)
{
    const json_t *by = json_object_get(def_request, "acted_on_by_roles"), *role;
    size_t k, n = json_array_size(by);
    out[0] = '\0';
    json_array_foreach(by, k, role)
    {
        snprintf(out + strlen(out), size - strlen(out), "%s%s",
                 k == 0       ? ""
                 : k + 1 == n ? " or "
                              : ", ",
                 json_string_value(role));
    }
}

/* A request goes only where someone may act on it: to a named worker whose roles act on its type (a
 * 'Pass to MASH Manager' is not sent to a social worker), or to a team with a current member who
 * does (nor to a team of social workers alone, where it would wait with no one told of it). 422
 * recipient_role. The recipients offered leave out the same (wf_handle_recipients). */
static int request__check_recipient_role(tsr_call_t *call, const json_t *def_request, const char *owner,
                                         const char *owner_name, tsr_error_t *err)
{
    int team = strncmp(owner, "t:", 2) == 0;
    if (json_object_get(def_request, "acted_on_by_roles") == NULL || (strncmp(owner, "w:", 2) != 0 && !team))
        return 0;
    char *roles_json = json_dumps(json_object_get(def_request, "acted_on_by_roles"), JSON_COMPACT);
    if (roles_json == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    const char *params[2] = {owner + 2, roles_json};
    PGresult *res =
        tsr_db_exec(call->conn,
                    team ? "SELECT 1 FROM workers WHERE $1::bigint = ANY (team_ids) AND NOT ended"
                           " AND roles && ARRAY(SELECT jsonb_array_elements_text($2::jsonb)) LIMIT 1"
                         : "SELECT 1 FROM workers WHERE id = $1::bigint"
                           " AND roles && ARRAY(SELECT jsonb_array_elements_text($2::jsonb))",
                    2, params, err);
    free(roles_json);
    if (res == NULL)
        return -1;
    int acts = PQntuples(res) == 1;
    PQclear(res);
    if (acts)
        return 0;
    char roles[200];
    request__roles_text(def_request, roles, sizeof(roles));
    if (team)
        return tsr_error_set(err, TSR_E_UNPROCESSABLE, "recipient_role", "to",
                             "A '%s' goes to a team with a member whose role is %s; %s has none.",
                             json_string_value(json_object_get(def_request, "title")), roles, owner_name);
    return tsr_error_set(err, TSR_E_UNPROCESSABLE, "recipient_role", "to",
                         "A '%s' goes to a worker whose role is %s; %s's is not.",
                         json_string_value(json_object_get(def_request, "title")), roles, owner_name);
}

/* A request of the type still open with the same recipient: sent again (a double click, a retry
 * without an Idempotency-Key) it would wait twice in their Incoming requests. 409
 * request_already_sent. */
static int request__check_not_open(tsr_call_t *call, const wf_step_t *step, const char *type,
                                   const json_t *def_request, const char *owner, const char *owner_name,
                                   tsr_error_t *err)
{
    char sid[24];
    snprintf(sid, sizeof(sid), "%" PRIu64, step->id);
    const char *params[3] = {sid, type, owner};
    PGresult *res = tsr_db_exec(call->conn,
                                "SELECT id FROM requests WHERE step_id = $1::bigint AND type = $2"
                                " AND recipient = $3 AND status = 'sent' LIMIT 1",
                                3, params, err);
    if (res == NULL)
        return -1;
    int open = PQntuples(res) > 0;
    char rid[24] = "";
    if (open)
        snprintf(rid, sizeof(rid), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!open)
        return 0;
    return tsr_error_set(err, TSR_E_CONFLICT, "request_already_sent", "type",
                         "A '%s' sent to %s is still open (request %s): wait for it to be completed or "
                         "returned before sending another.",
                         json_string_value(json_object_get(def_request, "title")), owner_name, rid);
}

int wf_handle_request_raise(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Workflow__RequestRaise *in = (const Tsr__Workflow__RequestRaise *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    if (in->type == NULL || in->type[0] == '\0')
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", "type", "Choose the request type.");
    if (in->note && tsr_text_length(in->note) > REQUEST_NOTE_MAX)
        return tsr_error_set(err, TSR_E_INVALID, "too_long", "note",
                             "The note must be %d characters or fewer.", REQUEST_NOTE_MAX);
    if (in->note && tsr_text_has_control(in->note, 1))
        return tsr_error_set(err, TSR_E_INVALID, "invalid_characters", "note",
                             "The note contains control characters.");
    wf_step_t step;
    if (wf_step_load(call, in->step_id, 1, &step, err) != 0)
        return -1;
    int rc = -1;
    char *owner_name = NULL, *suggested = NULL;
    if (wf_step_check_reader(call, &step, err) != 0)
        goto done;
    char me[WF_OWNER_MAX];
    wf_actor_owner(call->actor, me);
    if (step.folder[0] == '\0') {
        tsr_error_set(err, TSR_E_CONFLICT, "step_closed", NULL,
                      "This step is %s: no request can be raised from it.", step.state);
        goto done;
    }
    if (strcmp(step.owner, me) != 0 && !tsr_actor_is_system(call->actor)) {
        tsr_error_set(err, TSR_E_CONFLICT, "not_your_work", NULL,
                      "Requests are raised from your Current work: resume this step first.");
        goto done;
    }
    const json_t *def_request = wf_def_request(step.def, in->type, step.variant);
    if (def_request == NULL) {
        tsr_error_set(err, TSR_E_UNPROCESSABLE, "request_not_allowed", "type",
                      "%s cannot raise a request of type \"%s\".", step.title, in->type);
        goto done;
    }
    char owner[WF_OWNER_MAX];
    if (wf_recipient_resolve(call, in->to, json_object_get(def_request, "to"),
                             json_object_get(def_request, "may_send_to"), owner, &owner_name, err) != 0)
        goto done;
    if (wf_subject_check_recipient(call, step.def, step.subject_kind, step.subject_id, owner, owner_name,
                                   err) != 0 ||
        request__check_recipient_role(call, def_request, owner, owner_name, err) != 0 ||
        request__check_sections(call, &step, def_request, "sent_after_sections", "sending", err) != 0 ||
        request__check_not_open(call, &step, in->type, def_request, owner, owner_name, err) != 0)
        goto done;
    const char *note = in->note ? in->note : "";
    if (note[0] == '\0') {
        if (request__suggested_note(call->conn, step.id, def_request, &suggested, err) != 0)
            goto done;
        if (suggested != NULL)
            note = suggested;
    }
    int64_t due = wf_def_due(json_object_get(def_request, "due"), tsr_now_ms());
    char sid[24], sender[24], due_text[32];
    snprintf(sid, sizeof(sid), "%" PRIu64, step.id);
    snprintf(sender, sizeof(sender), "%" PRIu64, call->actor->worker_id);
    snprintf(due_text, sizeof(due_text), "%" PRId64, due);
    const char *params[10] = {sid,
                              in->type,
                              json_string_value(json_object_get(def_request, "title")),
                              json_is_true(json_object_get(def_request, "required")) ? "true" : "false",
                              owner,
                              owner_name,
                              note,
                              sender,
                              wf_actor_name(call->actor),
                              due ? due_text : NULL};
    /* Over the API a call is a save: the request goes at once (the UI holds a new request until its
     * user saves the step, as the seed describes). */
    PGresult *res =
        tsr_db_exec(call->conn,
                    "INSERT INTO requests (step_id, type, title, required, recipient, recipient_name, note,"
                    " status, inbox, sender_id, sender_name, due_at)"
                    " VALUES ($1::bigint, $2, $3, $4::boolean, $5, $6, $7, 'sent', $5, $8::bigint, $9,"
                    " to_timestamp($10::bigint / 1000.0)) RETURNING id",
                    10, params, err);
    if (res == NULL)
        goto done;
    char rid[24];
    snprintf(rid, sizeof(rid), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    char detail[WF_DETAIL_MAX];
    snprintf(detail, sizeof(detail), "%s sent to %s",
             json_string_value(json_object_get(def_request, "title")), owner_name);
    tsr_text_utf8_clean(detail);
    if (request__history(call, rid, "sent", owner_name, note, err) != 0 ||
        wf_step_history(call, step.id, "request-sent", detail, err) != 0 ||
        wf_request_emit(call, rid, "sent", json_is_string(json_object_get(def_request, "copy_to")), 0, err) !=
            0)
        goto done;
    rc = wf_reply_step(call, step.id, err);
done:
    free(owner_name);
    free(suggested);
    wf_step_free(&step);
    return rc;
}

/* complete / return / acknowledge: only by the one it was sent to (a returned request is
 * acknowledged by its sender). */
static int request__act(tsr_call_t *call, const char *action, tsr_error_t *err)
{
    const Tsr__Workflow__RequestAct *in = (const Tsr__Workflow__RequestAct *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    if (in->note && tsr_text_length(in->note) > REQUEST_NOTE_MAX)
        return tsr_error_set(err, TSR_E_INVALID, "too_long", "note",
                             "The note must be %d characters or fewer.", REQUEST_NOTE_MAX);
    if (in->note && tsr_text_has_control(in->note, 1))
        return tsr_error_set(err, TSR_E_INVALID, "invalid_characters", "note",
                             "The note contains control characters.");
    char rid[24];
    snprintf(rid, sizeof(rid), "%" PRIu64, in->request_id);
    const char *params[1] = {rid};
    PGresult *res = tsr_db_exec(
        call->conn,
        "SELECT step_id, status, coalesce(inbox, ''), recipient, recipient_name, sender_id, title,"
        " type, sender_name FROM requests WHERE id = $1::bigint FOR UPDATE",
        1, params, err);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", NULL, "There is no request %s.", rid);
    }
    uint64_t step_id = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    char status[16], inbox[WF_OWNER_MAX], recipient[WF_OWNER_MAX], type[96];
    snprintf(status, sizeof(status), "%s", PQgetvalue(res, 0, 1));
    snprintf(type, sizeof(type), "%s", PQgetvalue(res, 0, 7));
    snprintf(inbox, sizeof(inbox), "%s", PQgetvalue(res, 0, 2));
    snprintf(recipient, sizeof(recipient), "%s", PQgetvalue(res, 0, 3));
    char *recipient_name = strdup(PQgetvalue(res, 0, 4));
    uint64_t sender_id = strtoull(PQgetvalue(res, 0, 5), NULL, 10);
    char *sender_name = strdup(PQgetvalue(res, 0, 8)), *title = strdup(PQgetvalue(res, 0, 6));
    PQclear(res);
    int rc = -1;
    wf_step_t step;
    if (wf_step_load(call, step_id, 0, &step, err) != 0)
        goto out;
    if (wf_step_check_reader(call, &step, err) != 0)
        goto done;
    int returned_to_me = strcmp(status, "returned") == 0 && strcmp(action, "acknowledged") == 0 && inbox[0] &&
                         wf_actor_works(call->actor, inbox);
    if (!returned_to_me && !wf_actor_works(call->actor, recipient)) {
        /* Its sender, acting again on one they acknowledged back: it is closed, not someone else's. */
        if (strcmp(status, "sent") != 0 && strcmp(status, "returned") != 0 &&
            sender_id == call->actor->worker_id)
            tsr_error_set(err, TSR_E_CONFLICT, "request_closed", NULL, "This request is already %s.", status);
        else
            tsr_error_set(err, TSR_E_FORBIDDEN, "not_addressed_to_you", NULL,
                          "This request was sent to %s, not to you: only they can act on it.",
                          recipient_name);
        goto done;
    }
    if (strcmp(status, "sent") != 0 && !returned_to_me) {
        tsr_error_set(err, TSR_E_CONFLICT, "request_closed", NULL, "This request is already %s.", status);
        goto done;
    }
    const char *new_status = returned_to_me ? "acknowledged" : action;
    const json_t *def_request = NULL, *r;
    size_t k;
    json_array_foreach(json_object_get(step.def, "requests"), k, r)
    {
        if (strcmp(json_string_value(json_object_get(r, "type")), type) == 0)
            def_request = r;
    }
    /* What the one it was sent to may do with it, as its type says (seed 000: 'You may complete or
     * return the request'; a CP-IS notification is acknowledged); a return comes back to its sender
     * to acknowledge, whatever the type. */
    const json_t *actions = json_object_get(def_request, "actions"), *allowed;
    const char *verb = strcmp(action, "completed") == 0  ? "complete"
                       : strcmp(action, "returned") == 0 ? "return"
                                                         : "acknowledge";
    int may = actions == NULL || returned_to_me;
    json_array_foreach(actions, k, allowed)
    {
        may |= strcmp(json_string_value(allowed), verb) == 0;
    }
    if (!may) {
        char ways[64] = "";
        size_t n = json_array_size(actions);
        json_array_foreach(actions, k, allowed)
        {
            snprintf(ways + strlen(ways), sizeof(ways) - strlen(ways), "%s%s",
                     k == 0       ? ""
                     : k + 1 == n ? " or "
                                  : ", ",
                     json_string_value(allowed));
        }
        tsr_error_set(err, TSR_E_UNPROCESSABLE, "action_not_allowed", NULL, "A %s cannot be %s: %s it.",
                      json_string_value(json_object_get(def_request, "title")), action, ways);
        goto done;
    }
    /* Sent to a team, it is acted on by those of its members whose roles the type names (the MASH
     * team's social workers, not its admin); returned, by its sender whatever their role. */
    if (!returned_to_me && !request__actor_acts(def_request, call->actor)) {
        char roles[200];
        request__roles_text(def_request, roles, sizeof(roles));
        tsr_error_set(err, TSR_E_FORBIDDEN, "role_not_allowed", NULL,
                      "A '%s' is %s by a worker whose role is %s; yours is not.",
                      json_string_value(json_object_get(def_request, "title")), action, roles);
        goto done;
    }
    /* A request goes back to its sender with the note as its reason, and that is all they are told
     * of it ("Returned by NAME"): a return that says nothing, or only spaces, leaves them to guess
     * what to put right. Completing needs no note: the step shows what was done. */
    if (strcmp(action, "returned") == 0 && (in->note == NULL || tsr_text_trimmed_length(in->note) == 0)) {
        tsr_error_set(err, TSR_E_UNPROCESSABLE, "note_required", "note",
                      "Enter why you are returning the '%s': it goes back to %s with your note as the "
                      "reason.",
                      title ? title : "request", sender_name && sender_name[0] ? sender_name : "its sender");
        goto done;
    }
    if (strcmp(action, "completed") == 0 &&
        request__check_sections(call, &step, def_request, "completed_after_sections", "completing", err) != 0)
        goto done;
    /* A case note goes with the acknowledgement of the one it was sent to, and with nothing else. */
    int noting = strcmp(action, "acknowledged") == 0 && !returned_to_me;
    if (!noting && in->case_note != NULL && in->case_note[0] != '\0') {
        tsr_error_set(err, TSR_E_INVALID, "case_note_not_taken", "case_note",
                      "A case note goes only with the acknowledgement of a request sent to you.");
        goto done;
    }
    char back[WF_OWNER_MAX] = "";
    if (strcmp(action, "returned") == 0) {
        /* A returned request goes back to its sender's Incoming requests. */
        const char *p[1] = {rid};
        PGresult *s = tsr_db_exec(call->conn, "SELECT 'w:' || sender_id FROM requests WHERE id = $1::bigint",
                                  1, p, err);
        if (s == NULL)
            goto done;
        snprintf(back, sizeof(back), "%s", PQgetvalue(s, 0, 0));
        PQclear(s);
    }
    const char *p3[3] = {rid, new_status, back[0] ? back : NULL};
    if (tsr_db_defer(call->conn, "UPDATE requests SET status = $2, inbox = $3 WHERE id = $1::bigint", 3, p3,
                     NULL, NULL, err) != 0)
        goto done;
    char *by_team = NULL;
    if (recipient[0] != 'w')
        by_team = strdup(recipient_name);
    int bad = request__history(call, rid, new_status, by_team ? by_team : "", in->note, err);
    free(by_team);
    if (bad || wf_request_emit(call, rid, new_status, 0, 0, err) != 0)
        goto done;
    char detail[200];
    snprintf(detail, sizeof(detail), "Request %s %s", rid, new_status);
    if (wf_step_history(call, step.id, "request-updated", detail, err) != 0)
        goto done;
    if (noting && request__case_note(call, rid, &step, def_request, in->case_note, err) != 0)
        goto done;
    rc = wf_reply_step(call, step.id, err);
done:
    wf_step_free(&step);
out:
    free(recipient_name);
    free(sender_name);
    free(title);
    return rc;
}

int wf_handle_request_complete(tsr_call_t *call, tsr_error_t *err)
{
    return request__act(call, "completed", err);
}

int wf_handle_request_return(tsr_call_t *call, tsr_error_t *err)
{
    return request__act(call, "returned", err);
}

int wf_handle_request_acknowledge(tsr_call_t *call, tsr_error_t *err)
{
    return request__act(call, "acknowledged", err);
}

/* Appends the candidates (rows of id, name) that may be sent work: all of them, or when the work
 * needs the subject's record (guarded) only those records allows. */
static void request__offer(json_t *items, const char *kind, const PGresult *rows, const uint64_t *ids,
                           size_t n, int guarded, const uint64_t *allowed, size_t n_allowed)
{
    for (size_t i = 0; i < n; i++) {
        int ok = !guarded;
        for (size_t k = 0; k < n_allowed; k++)
            ok |= allowed[k] == ids[i];
        if (ok)
            json_array_append_new(items, json_pack("{s:s, s:s, s:s}", "kind", kind, "id",
                                                   PQgetvalue(rows, (int)i, 0), "name",
                                                   PQgetvalue(rows, (int)i, 1)));
    }
}

/* Whether a request type may be sent to recipients of kind ("worker", "team"): its may_send_to, or
 * any when it names none. */
static int request__may_send_to(const json_t *def_request, const char *kind)
{
    const json_t *kinds = json_object_get(def_request, "may_send_to"), *k;
    if (kinds == NULL)
        return 1;
    size_t i;
    json_array_foreach(kinds, i, k)
    {
        if (strcmp(json_string_value(k), kind) == 0)
            return 1;
    }
    return 0;
}

/* Who a request of this type may be sent to, about this step's subject: workers and teams whose
 * names match q, leaving out anyone the subject's restriction keeps out. With a type (one the step
 * may raise), only whom it may be sent to as the server will take it: the kinds of its may_send_to,
 * and, where it names acted_on_by_roles, the workers holding one and the teams with a current member
 * who does (a 'Pass to MASH Manager' offers neither the auditor nor a team of social workers). */
int wf_handle_recipients(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Workflow__RecipientsQuery *in = (const Tsr__Workflow__RecipientsQuery *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    wf_step_t step;
    if (wf_step_load(call, in->step_id, 0, &step, err) != 0)
        return -1;
    int rc = -1;
    PGresult *workers = NULL, *teams = NULL;
    Tsr__Records__AccessCheckReply *access = NULL;
    char *roles_json = NULL;
    if (wf_step_check_reader(call, &step, err) != 0)
        goto done;
    const json_t *def_request = NULL;
    if (in->type != NULL && in->type[0] != '\0' &&
        (def_request = wf_def_request(step.def, in->type, step.variant)) == NULL) {
        tsr_error_set(err, TSR_E_UNPROCESSABLE, "request_not_allowed", "type",
                      "%s cannot raise a request of type \"%s\".", step.title, in->type);
        goto done;
    }
    const json_t *by = json_object_get(def_request, "acted_on_by_roles");
    if (by != NULL && (roles_json = json_dumps(by, JSON_COMPACT)) == NULL) {
        tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
        goto done;
    }
    const char *q = in->q ? in->q : "";
    char *pattern = tsr_text_like_pattern(q);
    /* The workers named (the subject's key workers, say) first, whatever q matches; then the
     * first 50 that q matches by name. */
    char named[(REQUEST_RECIPIENTS_MAX_NAMED + 1) * 24] = "{";
    for (size_t i = 0; i < in->n_worker_ids && i < REQUEST_RECIPIENTS_MAX_NAMED; i++)
        snprintf(named + strlen(named), sizeof(named) - strlen(named), "%s%" PRIu64, i ? "," : "",
                 in->worker_ids[i]);
    snprintf(named + strlen(named), sizeof(named) - strlen(named), "}");
    const char *params[4] = {pattern, named, roles_json,
                             request__may_send_to(def_request, "worker") ? "true" : "false"};
    /* $3: the roles that act on the type (NULL: any); $4: whether it may go to a worker at all. */
    workers = tsr_db_exec(
        call->conn,
        "SELECT id, name, roles FROM ("
        " SELECT 0 AS k, id, name, roles FROM workers WHERE NOT ended AND NOT " WF_SQL_SERVICE_ACCOUNT
        "  AND id = ANY ($2::bigint[]) AND $4::boolean"
        "  AND ($3::jsonb IS NULL OR roles && ARRAY(SELECT jsonb_array_elements_text($3::jsonb)))"
        " UNION ALL"
        " (SELECT 1, id, name, roles FROM workers WHERE NOT ended AND NOT " WF_SQL_SERVICE_ACCOUNT
        "  AND name ILIKE $1 AND id <> ALL ($2::bigint[]) AND $4::boolean"
        "  AND ($3::jsonb IS NULL OR roles && ARRAY(SELECT jsonb_array_elements_text($3::jsonb)))"
        "  ORDER BY name, id LIMIT 50)"
        ") w ORDER BY k, name, id",
        4, params, err);
    /* A team is offered when one of its current members acts on the type (the workers' copy holds
     * who is in which team: one pass over it, as the workers' own search makes). */
    const char *team_params[3] = {pattern, roles_json,
                                  request__may_send_to(def_request, "team") ? "true" : "false"};
    teams = workers
                ? tsr_db_exec(
                      call->conn,
                      "SELECT id, name FROM teams WHERE name ILIKE $1 AND $3::boolean"
                      " AND ($2::jsonb IS NULL OR id IN (SELECT unnest(team_ids) FROM workers"
                      "  WHERE NOT ended AND roles && ARRAY(SELECT jsonb_array_elements_text($2::jsonb))))"
                      " ORDER BY name LIMIT 50",
                      3, team_params, err)
                : NULL;
    free(pattern);
    if (teams == NULL)
        goto done;
    size_t nw = (size_t)PQntuples(workers), nt = (size_t)PQntuples(teams);
    uint64_t *wids = calloc(nw + 1, sizeof(uint64_t)), *tids = calloc(nt + 1, sizeof(uint64_t));
    for (size_t i = 0; i < nw; i++)
        wids[i] = strtoull(PQgetvalue(workers, (int)i, 0), NULL, 10);
    for (size_t i = 0; i < nt; i++)
        tids[i] = strtoull(PQgetvalue(teams, (int)i, 0), NULL, 10);
    int guarded = wf_subject_guarded(step.def, step.subject_kind);
    if (guarded && wf_person_access(call, step.subject_id, wids, nw, tids, nt, &access, err) != 0) {
        free(wids);
        free(tids);
        goto done;
    }
    json_t *items = json_array();
    request__offer(items, "worker", workers, wids, nw, guarded, access ? access->allowed_worker_ids : NULL,
                   access ? access->n_allowed_worker_ids : 0);
    request__offer(items, "team", teams, tids, nt, guarded, access ? access->allowed_team_ids : NULL,
                   access ? access->n_allowed_team_ids : 0);
    free(wids);
    free(tids);
    json_t *body = json_pack("{s:o, s:n}", "items", items, "next_cursor");
    wf_reply_json(call, body);
    rc = 0;
done:
    if (access)
        tsr__records__access_check_reply__free_unpacked(access, NULL);
    PQclear(workers);
    PQclear(teams);
    free(roles_json);
    wf_step_free(&step);
    return rc;
}
