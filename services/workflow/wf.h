/* wf: what the workflow daemon's modules share. A step is loaded with its definition version; work
 * lives in queues named by an owner key ('w:<worker id>', 't:<team id>', 'v:<virtual worker>'); a
 * person who is the subject of work is guarded by the records daemon's access rule, asked at the
 * moment work about them is read or sent. */
#ifndef WF_H
#define WF_H

#include <jansson.h>
#include <stdint.h>

#include "tsr_daemon.h"
#include "tsr_envelope.h"
#include "records.pb-c.h"
#include "workflow.pb-c.h"

#define WF_OWNER_MAX 96
/* A history's detail naming a worker, a team or a person: a name is up to 200 characters of up to
 * four bytes. What is written there goes through tsr_text_utf8_clean, so that a cut, if any, falls
 * between characters: PostgreSQL refuses half a one, and the command (or the event) would fail. */
#define WF_DETAIL_MAX 1024

/* A worker who is a machine account (the spine poller's, whose only role is cpis-service), to whom
 * no work or request goes: SQL over the workers table's roles. */
#define WF_SQL_SERVICE_ACCOUNT TSR_SQL_SERVICE_ACCOUNT("roles")

/* A timestamp column as RFC 3339 UTC text, and as Unix ms. */
#define WF_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define WF_MS(col) "coalesce((extract(epoch FROM " col ") * 1000)::bigint, 0)"

typedef struct {
    PGresult *res; /* owns the strings below */
    uint64_t id;
    const char *type;
    int version;
    const char *variant;
    const char *title;
    const char *subject_kind;
    uint64_t subject_id;
    const char *subject_name;
    const char *state;
    const char *owner;
    const char *folder; /* "" once closed */
    uint64_t started_by;
    int64_t started_at_ms;
    int64_t completed_at_ms;
    int64_t due_at_ms;
    json_t *def; /* the definition at the step's version */
} wf_step_t;

/* Loads a step (locked for update when for_update) and its definition: 0, or -1 (404 not_found). */
int wf_step_load(tsr_call_t *call, uint64_t step_id, int for_update, wf_step_t *step, tsr_error_t *err);
void wf_step_free(wf_step_t *step);
/* The step as the API shows it (a new reference). */
/* Replies with a view (JSON text in a View message); steals body. */
void wf_reply_json(tsr_call_t *call, json_t *body);
/* Moves an open step into owner's Incoming work (an "assigned" change, with detail in its history). */
int wf_step_assign(tsr_call_t *call, const wf_step_t *step, const char *owner, const char *detail,
                   tsr_error_t *err);
/* Appends to the step's history and emits workflow.step.<action>: what every change of a step does. */
int wf_step_changed(tsr_call_t *call, uint64_t step_id, const char *action, const char *detail,
                    tsr_error_t *err);
/* Replies with the step's view, reloaded. */
/* wf_step_changed then wf_reply_step, reading the step once for both the event and the reply. */
int wf_step_changed_reply(tsr_call_t *call, uint64_t step_id, const char *action, const char *detail,
                          tsr_error_t *err);
int wf_reply_step(tsr_call_t *call, uint64_t step_id, tsr_error_t *err);
/* The subject's title as the seed shows it: "Hampden Children Centre (7500065)". Caller frees. */
char *wf_subject_title(const char *kind, uint64_t id, const char *name);

/* The reason a step has gone when the record it was about was disposed of (records.person.disposed). */
#define WF_STEP_DISPOSED "disposed"
/* Deletes a loaded (locked) step, its sections, requests, history and next actions, keeping why in
 * step_deletions, after emitting workflow.step.deleted for the daemons that keep copies of it. */
int wf_step_delete(tsr_call_t *call, const wf_step_t *step, const char *reason, const char *explanation,
                   int64_t *deleted_at, tsr_error_t *err);

/* Records text on the step's person as the caller's case note of takes ({type, title}), through
 * records, which checks the caller's access and audits it, and commits it before this command does:
 * key_prefix (with a hash of the text) makes the same command retried find it there. A fault of the
 * text is named as field. */
int wf_case_note_record(tsr_call_t *call, const wf_step_t *step, const json_t *takes, const char *text,
                        const char *key_prefix, const char *field, tsr_error_t *err);

/* Whether the caller may read the step: a restricted person's steps only for those with access to
 * the person (the refusal is kept as an event and answered 403 restricted_record). */
int wf_step_check_reader(tsr_call_t *call, const wf_step_t *step, tsr_error_t *err);
/* Whether working a step of this definition about this kind of subject needs access to the
 * subject's record: a person's, unless the step asks only for their name (subject_access
 * name-only, as a request for access to it does). The one rule for readers, recipients and
 * whoever is offered as a recipient. */
int wf_subject_guarded(const json_t *def, const char *subject_kind);
/* Whether id is among the n ids records answered with (who, or which people, may open a record). */
int wf_ids_include(const uint64_t *ids, size_t n, uint64_t id);

/* A page's keyset cursor: the last item's sort time (UTC, microseconds) and id, then, for a workview,
 * the order it pages in: "2026-11-22T16:41:00.123456Z~14000001~oldest". WF_SORT_KEY(col) is a
 * column's time so written. wf_cursor_parse fills ts, id and order ("" when the cursor has none);
 * -1 when the cursor is not of that shape. */
#define WF_CURSOR_TS_LEN 27
#define WF_SORT_KEY(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
int wf_cursor_parse(const char *cursor, char ts[WF_CURSOR_TS_LEN + 1], char id[24], char order[8]);
/* Whether the recipient (owner key) may be sent work of def about the subject: 0 or 422. */
int wf_subject_check_recipient(tsr_call_t *call, const json_t *def, const char *subject_kind,
                               uint64_t subject_id, const char *owner, const char *owner_name,
                               tsr_error_t *err);
/* Records' access answer for a person: which of workers / teams may open the record. */
int wf_person_access(tsr_call_t *call, uint64_t person_id, const uint64_t *workers, size_t n_workers,
                     const uint64_t *teams, size_t n_teams, Tsr__Records__AccessCheckReply **reply,
                     tsr_error_t *err);

/* Turns a recipient (or, when it is empty, the definition's default {team|virtual}) into an owner
 * key and its display name; may_send_to limits the kinds. 0, or -1 (400/404/422 naming to.*). */
int wf_recipient_resolve(tsr_call_t *call, const Tsr__Workflow__Recipient *to, const json_t *default_to,
                         const json_t *may_send_to, char owner[WF_OWNER_MAX], char **name, tsr_error_t *err);
/* The display name of an owner key; caller frees. */
char *wf_owner_name(PGconn *conn, const char *owner);
/* Whether the caller works the owner's queue: the worker themself, a member of the team, or a
 * holder of a role that works the virtual worker. */
int wf_actor_works(const Tsr__Actor *actor, const char *owner);
/* Whether the caller holds a role that may manage others' work (workflow.manager_roles). */
int wf_actor_is_manager(const Tsr__Actor *actor);
void wf_configure(const tsr_config_t *config);
/* The caller's owner key ('w:<id>'). */
void wf_actor_owner(const Tsr__Actor *actor, char owner[WF_OWNER_MAX]);
const char *wf_actor_name(const Tsr__Actor *actor);

/* Appends to the step's history. */
int wf_step_history(tsr_call_t *call, uint64_t step_id, const char *action, const char *detail,
                    tsr_error_t *err);
/* Emits workflow.step.<action> for the step as it now stands. */
int wf_step_emit(tsr_call_t *call, uint64_t step_id, const char *action, tsr_error_t *err);

/* Starts a step; *step_id is the new step. Shared by the start call and next actions that start one. */
int wf_step_start_internal(tsr_call_t *call, const char *type, const char *variant, const char *subject_kind,
                           uint64_t subject_id, const char *subject_name, const char *assign_owner,
                           uint64_t *step_id, tsr_error_t *err);

/* Handlers. */
int wf_handle_step_start(tsr_call_t *call, tsr_error_t *err);
int wf_handle_step_get(tsr_call_t *call, tsr_error_t *err);
int wf_handle_section_save(tsr_call_t *call, tsr_error_t *err);
int wf_handle_step_assign(tsr_call_t *call, tsr_error_t *err);
int wf_handle_step_resume(tsr_call_t *call, tsr_error_t *err);
int wf_handle_step_finish(tsr_call_t *call, tsr_error_t *err);
int wf_handle_step_cancel(tsr_call_t *call, tsr_error_t *err);
/* Deletes a step recorded in error (system support; seed 002), keeping the deletion in step_deletions. */
int wf_handle_step_delete(tsr_call_t *call, tsr_error_t *err);
int wf_handle_step_reopen(tsr_call_t *call, tsr_error_t *err);
int wf_handle_steps_by_subject(tsr_call_t *call, tsr_error_t *err);
/* The same list for a summary page whose read the owning daemon audits already. */
int wf_handle_steps_for_summary(tsr_call_t *call, tsr_error_t *err);
int wf_handle_request_raise(tsr_call_t *call, tsr_error_t *err);
int wf_handle_request_complete(tsr_call_t *call, tsr_error_t *err);
int wf_handle_request_return(tsr_call_t *call, tsr_error_t *err);
int wf_handle_request_acknowledge(tsr_call_t *call, tsr_error_t *err);
int wf_handle_recipients(tsr_call_t *call, tsr_error_t *err);
int wf_handle_workview(tsr_call_t *call, tsr_error_t *err);
int wf_handle_definitions(tsr_call_t *call, tsr_error_t *err);
/* workflow.leavers.list: leavers whose folders still hold work, with each folder's count. */
int wf_handle_leavers(tsr_call_t *call, tsr_error_t *err);

/* <producer>.step.requested: a step another daemon asks for, started once per dedupe key. */
int wf_wants_step_requested(const Tsr__Envelope *ev);
int wf_apply_step_requested(tsr_event_t *ev, tsr_error_t *err);
/* records.person.merged: the duplicate's steps move to the record that went forward; and
 * records.person.details-changed: the steps show the corrected name (merges.c). */
int wf_wants_person_event(const Tsr__Envelope *ev);
int wf_apply_person_event(tsr_event_t *ev, tsr_error_t *err);

/* The accounts daemon's events: the workers and teams work can be sent to; and the conflicts of
 * interest workers declare (wf_apply_conflict_declared, merges.c). */
int wf_directory_apply_accounts_event(tsr_event_t *ev, tsr_error_t *err);
/* accounts.conflict.declared: kept (conflicts), and the work about the person with the worker moved
 * off them to the queue whose workers keep access to restricted records. */
int wf_apply_conflict_declared(tsr_event_t *ev, tsr_error_t *err);
/* The acted_on_by_roles of request r's type in the definition version of its step s, as a comma list
 * ('' when the type names none): SQL over the rows r (requests) and s (steps), for a request event. */
#define WF_SQL_REQUEST_ROLES                                                                                 \
    "coalesce((SELECT string_agg(role, ',') FROM definitions d, jsonb_array_elements(d.body->'requests') t," \
    " jsonb_array_elements_text(t->'acted_on_by_roles') role"                                                \
    " WHERE d.type = s.type AND d.version = s.version AND t->>'type' = r.type), '')"
/* A request event's roles (wf_request_event_fill): the names point into text. */
#define WF_REQUEST_ROLES_MAX 16
typedef struct {
    char text[512];
    char *names[WF_REQUEST_ROLES_MAX];
} wf_request_roles_t;
/* A request event from a row of (id, step_id, type, title, recipient, note, subject_kind, subject_id,
 * subject_name, sender_id, due ms, WF_SQL_REQUEST_ROLES); the strings stay in res and roles. */
void wf_request_event_fill(const PGresult *res, int row, const char *action, Tsr__Workflow__RequestEvent *ev,
                           Tsr__Workflow__Recipient *to, Tsr__Workflow__Subject *subject,
                           wf_request_roles_t *roles);
/* Emits workflow.request.<action> for the request as it now stands, addressed to its recipient, or
 * with to_inbox to the Incoming requests it waits in (one moved to a queue); copy: the sender's
 * manager is copied in (only when sent). */
int wf_request_emit(tsr_call_t *call, const char *request_id, const char *action, int copy, int to_inbox,
                    tsr_error_t *err);
/* Sets the step event's assignee from an owner key. */
void wf_step_event_set_owner(Tsr__Workflow__StepEvent *ev, const char *owner);
/* Raises the overdue notices of steps and requests past their due time. */
int wf_overdue_scan(PGconn *conn, int *raised, tsr_error_t *err);
/* Sets each virtual worker's queue gauges: the open items in it, and how long the oldest has waited
 * (seed 003: the CP-IS Worker queue is worked in service hours; its age is what ops watch). */
int wf_queue_metrics(PGconn *conn, tsr_error_t *err);

/* A JSON id (ids are strings of digits in the API). */
json_t *wf_json_id(uint64_t id);

#endif
