/* Work about a person follows their record when system support merge it into another (seed 002:
 * "only a single record going forward"). records, which owns people, says so with the survivor's
 * records.person.merged (merged_from: the duplicate); the duplicate's steps then name the survivor,
 * so their requests can still be opened and acknowledged (records refuses every read of a record
 * merged away) and they show on the survivor's page. Each step's history says why its subject
 * changed. A name corrected on the record is followed the same way, and a record disposed of takes
 * its steps with it. A record restricted moves the work about it out of the queues whose workers do
 * not keep access (virtual_workers' restricted_records_to), and is kept in restricted_people until
 * the restriction is lifted, for work asked for about the person later. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "definitions.h"
#include "accounts.pb-c.h"
#include "records.pb-c.h"
#include "tsr_envelope.h"
#include "tsr_text.h"
#include "wf.h"

int wf_wants_person_event(const Tsr__Envelope *ev)
{
    return ev->type != NULL && (strcmp(ev->type, "records.person.merged") == 0 ||
                                strcmp(ev->type, "records.person.details-changed") == 0 ||
                                strcmp(ev->type, "records.person.birth-recorded") == 0 ||
                                strcmp(ev->type, "records.person.disposed") == 0 ||
                                strcmp(ev->type, "records.person.restricted") == 0 ||
                                strcmp(ev->type, "records.person.deallocated") == 0 ||
                                strcmp(ev->type, "records.person.unrestricted") == 0);
}

/* What is done at a person event's doing, as the worker who caused it (no one, when it names none). */
static tsr_call_t merges__call(tsr_event_t *ev)
{
    static const Tsr__Actor nobody = TSR__ACTOR__INIT;
    return tsr_call_for_event(ev, &nobody);
}

/* Runs one statement of one parameter (a person's id, or an array of them): the rows it touched, or
 * -1. */
static long merges__run(PGconn *conn, const char *sql, const char *param, tsr_error_t *err)
{
    const char *params[1] = {param};
    PGresult *res = tsr_db_exec(conn, sql, 1, params, err);
    if (res == NULL)
        return -1;
    long n = atol(PQcmdTuples(res));
    PQclear(res);
    return n;
}

/* The queue that work about a restricted person goes to when no one it is with can open the record:
 * the one virtual_workers' restricted_records_to names (System Support), the first named if several
 * are. NULL when none is. */
static const wf_virtual_worker_t *merges__restricted_queue(void)
{
    for (size_t v = 0; v < wf_virtual_workers_count(); v++) {
        const wf_virtual_worker_t *from = wf_virtual_worker_at(v);
        const wf_virtual_worker_t *to = from->restricted_to ? wf_virtual_worker(from->restricted_to) : NULL;
        if (to != NULL)
            return to;
    }
    return NULL;
}

/* A request about the person in the Incoming requests of a named worker who cannot open the record
 * (sent to them, or returned to them as its sender) moves to the queue: its history and its step's
 * say why, and its workflow.request.sent tells those who work the queue. Read again under its lock:
 * one acted on meanwhile stays where it is. */
static int merges__move_request(tsr_call_t *call, const char *request_id, const char *inbox,
                                const wf_virtual_worker_t *to, const char *why, tsr_error_t *err)
{
    char to_owner[WF_OWNER_MAX];
    snprintf(to_owner, sizeof(to_owner), "v:%s", to->key);
    const char *params[4] = {request_id, inbox, to_owner, to->name};
    PGresult *res = tsr_db_exec(call->conn,
                                "UPDATE requests SET inbox = $3,"
                                " recipient = CASE WHEN status = 'sent' THEN $3 ELSE recipient END,"
                                " recipient_name = CASE WHEN status = 'sent' THEN $4 ELSE recipient_name END"
                                " WHERE id = $1::bigint AND inbox = $2 RETURNING step_id",
                                4, params, err);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return 0;
    }
    uint64_t step_id = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    char by[24], detail[WF_DETAIL_MAX + 200];
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    snprintf(detail, sizeof(detail), "Request %s moved to %s: %s", request_id, to->name, why);
    tsr_text_utf8_clean(detail);
    const char *history[5] = {request_id, by, wf_actor_name(call->actor), to->name, why};
    res = tsr_db_exec(call->conn,
                      "INSERT INTO request_history (request_id, action, by_worker_id, by_name, to_name, note)"
                      " VALUES ($1::bigint, 'moved', $2::bigint, $3, $4, $5)",
                      5, history, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    if (wf_step_history(call, step_id, "request-moved", detail, err) != 0)
        return -1;
    /* Sent on or returned, it waits in the queue now: those who work it are told. */
    return wf_request_emit(call, request_id, "sent", 0, 1, err);
}

/* The open work about a person with named workers or teams whose owner matches the regular
 * expression owners ('^[wt]:' every worker and team, '^w:ID$' one worker): rows of (kind, id, step
 * id, owner), kind 's' a step in its owner's Incoming or Current work, 'r' a request in the Incoming
 * requests of owner. */
static PGresult *merges__named_work(PGconn *conn, const char *person, const char *owners, tsr_error_t *err)
{
    const char *params[2] = {person, owners};
    return tsr_db_exec(conn,
                       "SELECT 's', id, id, owner FROM steps WHERE subject_kind = 'person'"
                       " AND subject_id = $1::bigint AND folder IS NOT NULL AND owner ~ $2"
                       " UNION ALL SELECT 'r', r.id, r.step_id, r.inbox FROM requests r"
                       " JOIN steps s ON s.id = r.step_id WHERE s.subject_kind = 'person'"
                       " AND s.subject_id = $1::bigint AND r.inbox ~ $2 ORDER BY 1, 2",
                       2, params, err);
}

/* Adds the id of owner ("w:ID" or "t:ID") to the workers or the teams, each once. */
static void merges__add_owner(const char *owner, uint64_t *workers, size_t *n_workers, uint64_t *teams,
                              size_t *n_teams)
{
    uint64_t id = strtoull(owner + 2, NULL, 10);
    uint64_t *ids = owner[0] == 'w' ? workers : teams;
    size_t *n = owner[0] == 'w' ? n_workers : n_teams;
    if (!wf_ids_include(ids, *n, id))
        ids[(*n)++] = id;
}

/* Moves row i of merges__named_work to the queue to, why saying so in each history. A step that asks
 * for nothing of the record (a request for access to it) stays; so does one taken meanwhile (read
 * again under its lock). */
static int merges__move_named(tsr_call_t *call, const PGresult *work, int i, const wf_virtual_worker_t *to,
                              const char *why, tsr_error_t *err)
{
    const char *owner = PQgetvalue(work, i, 3);
    char to_owner[WF_OWNER_MAX];
    snprintf(to_owner, sizeof(to_owner), "v:%s", to->key);
    wf_step_t step;
    int is_step = PQgetvalue(work, i, 0)[0] == 's';
    int rc = wf_step_load(call, strtoull(PQgetvalue(work, i, 2), NULL, 10), is_step, &step, err);
    if (rc != 0)
        return rc;
    if (wf_subject_guarded(step.def, step.subject_kind)) {
        if (!is_step)
            rc = merges__move_request(call, PQgetvalue(work, i, 1), owner, to, why, err);
        else if (strcmp(step.owner, owner) == 0 && step.folder[0] != '\0') {
            char detail[WF_DETAIL_MAX + 200];
            snprintf(detail, sizeof(detail), "Moved to %s: %s", to->name, why);
            tsr_text_utf8_clean(detail);
            rc = wf_step_assign(call, &step, to_owner, detail, err);
        }
    }
    wf_step_free(&step);
    return rc;
}

/* Work about the person with a named worker or a team who cannot open the record now it is
 * restricted: their open steps (in Incoming or Current work) and the requests in their Incoming
 * requests. Left there, no one there could open nor pass it on, and it would fall overdue unseen; it
 * moves to the queue whose workers keep access, as queued work does, each step's history and each
 * request's saying why. Records is asked once for all the workers and teams it is with. Replayed,
 * nothing is left to move. */
static int merges__restricted_named(tsr_event_t *ev, tsr_call_t *call, uint64_t person_id, const char *cause,
                                    tsr_error_t *err)
{
    const wf_virtual_worker_t *to = merges__restricted_queue();
    if (to == NULL)
        return 0;
    char person[24];
    snprintf(person, sizeof(person), "%" PRIu64, person_id);
    PGresult *work = merges__named_work(ev->conn, person, "^[wt]:", err);
    if (work == NULL)
        return -1;
    int n = PQntuples(work), rc = 0;
    if (n == 0) {
        PQclear(work);
        return 0;
    }
    uint64_t *workers = calloc((size_t)n, sizeof(uint64_t)), *teams = calloc((size_t)n, sizeof(uint64_t));
    size_t n_workers = 0, n_teams = 0;
    for (int i = 0; workers && teams && i < n; i++)
        merges__add_owner(PQgetvalue(work, i, 3), workers, &n_workers, teams, &n_teams);
    Tsr__Records__AccessCheckReply *reply = NULL;
    if (workers == NULL || teams == NULL)
        rc = tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    else
        rc = wf_person_access(call, person_id, workers, n_workers, teams, n_teams, &reply, err);
    free(workers);
    free(teams);
    for (int i = 0; rc == 0 && i < n; i++) {
        const char *owner = PQgetvalue(work, i, 3);
        uint64_t id = strtoull(owner + 2, NULL, 10);
        if (owner[0] == 'w' ? wf_ids_include(reply->allowed_worker_ids, reply->n_allowed_worker_ids, id)
                            : wf_ids_include(reply->allowed_team_ids, reply->n_allowed_team_ids, id))
            continue;
        char *name = wf_owner_name(ev->conn, owner), why[WF_DETAIL_MAX];
        snprintf(why, sizeof(why), "%s, and %s cannot open it", cause, name);
        tsr_text_utf8_clean(why);
        free(name);
        rc = merges__move_named(call, work, i, to, why, err);
    }
    if (reply)
        tsr__records__access_check_reply__free_unpacked(reply, NULL);
    PQclear(work);
    return rc;
}

/* A conflict of interest a worker declared with a person (seed 002): records keeps the record from
 * them from then on, whatever their allocation, so the work about the person with them moves to the
 * queue whose workers keep access to restricted records, each history saying why. Asking records
 * would race its own applying of the same event, and the answer is known: no. */
static int merges__conflicted_named(tsr_call_t *call, uint64_t person_id, uint64_t worker_id,
                                    tsr_error_t *err)
{
    const wf_virtual_worker_t *to = merges__restricted_queue();
    if (to == NULL)
        return 0;
    char person[24], owner[WF_OWNER_MAX];
    snprintf(person, sizeof(person), "%" PRIu64, person_id);
    char pattern[WF_OWNER_MAX + 4];
    snprintf(owner, sizeof(owner), "w:%" PRIu64, worker_id);
    snprintf(pattern, sizeof(pattern), "^%s$", owner);
    PGresult *work = merges__named_work(call->conn, person, pattern, err);
    if (work == NULL)
        return -1;
    int rc = 0;
    if (PQntuples(work) > 0) {
        char *name = wf_owner_name(call->conn, owner), why[WF_DETAIL_MAX];
        snprintf(why, sizeof(why), "%s declared a conflict of interest with this person", name);
        tsr_text_utf8_clean(why);
        free(name);
        for (int i = 0; rc == 0 && i < PQntuples(work); i++)
            rc = merges__move_named(call, work, i, to, why, err);
    }
    PQclear(work);
    return rc;
}

int wf_apply_conflict_declared(tsr_event_t *ev, tsr_error_t *err)
{
    Tsr__Accounts__ConflictDeclared *c = (Tsr__Accounts__ConflictDeclared *)tsr_unpack(
        &tsr__accounts__conflict_declared__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (c == NULL)
        return -1;
    uint64_t person_id = c->person_id, worker_id = c->worker_id;
    tsr__accounts__conflict_declared__free_unpacked(c, NULL);
    char person[24], worker[24];
    snprintf(person, sizeof(person), "%" PRIu64, person_id);
    snprintf(worker, sizeof(worker), "%" PRIu64, worker_id);
    const char *params[2] = {person, worker};
    PGresult *res = tsr_db_exec(ev->conn,
                                "INSERT INTO conflicts (person_id, worker_id) VALUES ($1::bigint, $2::bigint)"
                                " ON CONFLICT DO NOTHING",
                                2, params, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    tsr_call_t call = merges__call(ev);
    return merges__conflicted_named(&call, person_id, worker_id, err);
}

/* A record restricted (records.person.restricted, seed 002; or by a merge with a restricted
 * duplicate) is kept in restricted_people, for work asked for about the person later
 * (requested.c). Work already waiting in a queue whose workers do not keep access (a CPIS Follow up
 * for the CP-IS desk) moves to the queue the definitions name, whose workers do (system support),
 * to pass on to someone who can open the record. Left where it was, no one who works the queue
 * could open it. So does work with a named worker who cannot open the record
 * (merges__restricted_named). Told as the worker who restricted the record.
 *
 * The row is written first: its lock (ROW EXCLUSIVE) and requested.c's (SHARE) make a step asked
 * for meanwhile either wait for this commit, and see the row, or commit first, and be moved here. */
static int merges__restricted(tsr_event_t *ev, uint64_t person_id, tsr_error_t *err)
{
    tsr_call_t call = merges__call(ev);
    char person[24];
    snprintf(person, sizeof(person), "%" PRIu64, person_id);
    if (merges__run(ev->conn,
                    "INSERT INTO restricted_people (person_id) VALUES ($1::bigint)"
                    " ON CONFLICT (person_id) DO NOTHING",
                    person, err) < 0)
        return -1;
    for (size_t v = 0; v < wf_virtual_workers_count(); v++) {
        const wf_virtual_worker_t *from = wf_virtual_worker_at(v);
        const wf_virtual_worker_t *to = from->restricted_to ? wf_virtual_worker(from->restricted_to) : NULL;
        if (to == NULL)
            continue;
        char from_owner[WF_OWNER_MAX], to_owner[WF_OWNER_MAX], detail[300];
        snprintf(from_owner, sizeof(from_owner), "v:%s", from->key);
        snprintf(to_owner, sizeof(to_owner), "v:%s", to->key);
        snprintf(detail, sizeof(detail),
                 "Moved to %s: the record was restricted, and the %s queue's workers cannot open it",
                 to->name, from->name);
        const char *params[2] = {person, from_owner};
        PGresult *res =
            tsr_db_exec(ev->conn,
                        "SELECT id FROM steps WHERE subject_kind = 'person' AND subject_id = $1::bigint"
                        " AND owner = $2 AND folder IS NOT NULL ORDER BY id",
                        2, params, err);
        if (res == NULL)
            return -1;
        int rc = 0;
        for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
            wf_step_t step;
            rc = wf_step_load(&call, strtoull(PQgetvalue(res, i, 0), NULL, 10), 1, &step, err);
            if (rc != 0)
                break;
            /* Read again under its lock: a worker who took it meanwhile keeps it. */
            if (strcmp(step.owner, from_owner) == 0 && step.folder[0] != '\0')
                rc = wf_step_assign(&call, &step, to_owner, detail, err);
            wf_step_free(&step);
        }
        PQclear(res);
        if (rc != 0)
            return -1;
    }
    return merges__restricted_named(ev, &call, person_id, "the record was restricted", err);
}

/* An allocation of a restricted person's record ended (records.person.deallocated): the key worker
 * (and their managers, let in by it) may no longer open the record, and the work about the person
 * with them would wait there unopened; it moves as on the restriction. Records has committed the
 * end before telling of it, so its answer counts it. */
static int merges__deallocated(tsr_event_t *ev, uint64_t person_id, tsr_error_t *err)
{
    char person[24];
    snprintf(person, sizeof(person), "%" PRIu64, person_id);
    long restricted =
        merges__run(ev->conn, "SELECT 1 FROM restricted_people WHERE person_id = $1::bigint", person, err);
    if (restricted <= 0)
        return (int)restricted;
    tsr_call_t call = merges__call(ev);
    return merges__restricted_named(ev, &call, person_id, "an allocation of the restricted record ended",
                                    err);
}

/* A name corrected (records.person.details-changed), or an unborn child's given at birth
 * (.birth-recorded): the steps about the person show it, in every
 * workview and on every request, from now on. What a step's sections recorded at the time (a CPIS
 * Follow up's child's details) stays as it was. */
static int merges__rename(tsr_event_t *ev, const Tsr__Records__PersonAccessed *p, tsr_error_t *err)
{
    char person[24];
    snprintf(person, sizeof(person), "%" PRIu64, p->person_id);
    const char *params[2] = {person, p->display_name ? p->display_name : ""};
    PGresult *res = tsr_db_exec(ev->conn,
                                "UPDATE steps SET subject_name = $2"
                                " WHERE subject_kind = 'person' AND subject_id = $1::bigint"
                                " AND subject_name IS DISTINCT FROM $2",
                                2, params, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

/* A record disposed of at the end of its retention (records.person.disposed, seed 002): every step
 * about it, or about a duplicate merged into it, goes with it, each as a deletion ('disposed') that
 * the daemons keeping copies (forms, reports, notices) follow. Told as the worker who disposed. */
static int merges__dispose(tsr_event_t *ev, const Tsr__Records__PersonAccessed *p, tsr_error_t *err)
{
    char ids[64 * 24];
    tsr_db_id_array(p->disposed_ids, p->n_disposed_ids, ids, sizeof(ids));
    const char *params[1] = {ids};
    PGresult *res = tsr_db_exec(ev->conn,
                                "SELECT id FROM steps WHERE subject_kind = 'person'"
                                " AND subject_id = ANY ($1::bigint[]) ORDER BY id",
                                1, params, err);
    if (res == NULL)
        return -1;
    tsr_call_t call = merges__call(ev);
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        wf_step_t step;
        int64_t deleted_at = 0;
        rc = wf_step_load(&call, strtoull(PQgetvalue(res, i, 0), NULL, 10), 1, &step, err);
        if (rc != 0)
            break;
        rc = wf_step_delete(&call, &step, WF_STEP_DISPOSED, "", &deleted_at, err);
        wf_step_free(&step);
    }
    PQclear(res);
    if (rc != 0)
        return -1;
    long gone =
        merges__run(ev->conn, "DELETE FROM restricted_people WHERE person_id = ANY ($1::bigint[])", ids, err);
    if (gone >= 0)
        gone = merges__run(ev->conn, "DELETE FROM conflicts WHERE person_id = ANY ($1::bigint[])", ids, err);
    return gone < 0 ? -1 : 0;
}

/* The conflicts declared with a duplicate follow it into the survivor, as records' do: the work
 * about the survivor (its own, and the duplicate's moved to it) with a worker who declared one moves
 * off them. Replayed, nothing is left to move. */
static int merges__conflicts_merged(tsr_event_t *ev, const char *survivor, const char *duplicate,
                                    tsr_error_t *err)
{
    const char *params[2] = {survivor, duplicate};
    PGresult *res = tsr_db_exec(ev->conn,
                                "WITH gone AS (DELETE FROM conflicts WHERE person_id = $2::bigint"
                                "  RETURNING worker_id, since)"
                                " INSERT INTO conflicts (person_id, worker_id, since)"
                                " SELECT $1::bigint, worker_id, since FROM gone ON CONFLICT DO NOTHING",
                                2, params, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    res = tsr_db_exec(ev->conn, "SELECT worker_id FROM conflicts WHERE person_id = $1::bigint ORDER BY 1", 1,
                      params, err);
    if (res == NULL)
        return -1;
    tsr_call_t call = merges__call(ev);
    uint64_t survivor_id = strtoull(survivor, NULL, 10);
    int rc = 0;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++)
        rc = merges__conflicted_named(&call, survivor_id, strtoull(PQgetvalue(res, i, 0), NULL, 10), err);
    PQclear(res);
    return rc;
}

int wf_apply_person_event(tsr_event_t *ev, tsr_error_t *err)
{
    Tsr__Records__PersonAccessed *p = (Tsr__Records__PersonAccessed *)tsr_unpack(
        &tsr__records__person_accessed__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (p == NULL)
        return -1;
    int renamed = strcmp(ev->event->type, "records.person.details-changed") == 0 ||
                  strcmp(ev->event->type, "records.person.birth-recorded") == 0;
    if (strcmp(ev->event->type, "records.person.restricted") == 0) {
        int rc = merges__restricted(ev, p->person_id, err);
        tsr__records__person_accessed__free_unpacked(p, NULL);
        return rc;
    }
    if (strcmp(ev->event->type, "records.person.deallocated") == 0) {
        int rc = merges__deallocated(ev, p->person_id, err);
        tsr__records__person_accessed__free_unpacked(p, NULL);
        return rc;
    }
    if (strcmp(ev->event->type, "records.person.unrestricted") == 0) {
        char person[24];
        snprintf(person, sizeof(person), "%" PRIu64, p->person_id);
        tsr__records__person_accessed__free_unpacked(p, NULL);
        long lifted =
            merges__run(ev->conn, "DELETE FROM restricted_people WHERE person_id = $1::bigint", person, err);
        return lifted < 0 ? -1 : 0;
    }
    if (renamed || strcmp(ev->event->type, "records.person.disposed") == 0) {
        int rc = renamed ? merges__rename(ev, p, err) : merges__dispose(ev, p, err);
        tsr__records__person_accessed__free_unpacked(p, NULL);
        return rc;
    }
    if (p->merged_from == 0) { /* the duplicate's own event: nothing moves from it */
        tsr__records__person_accessed__free_unpacked(p, NULL);
        return 0;
    }
    char survivor[24], duplicate[24], by[24], detail[WF_DETAIL_MAX];
    snprintf(survivor, sizeof(survivor), "%" PRIu64, p->person_id);
    snprintf(duplicate, sizeof(duplicate), "%" PRIu64, p->merged_from);
    const Tsr__Actor *actor = ev->event->actor;
    snprintf(by, sizeof(by), "%" PRIu64, actor ? actor->worker_id : 0);
    snprintf(detail, sizeof(detail), "Moved from person %s, merged into %s (%s)", duplicate,
             p->display_name ? p->display_name : "", survivor);
    tsr_text_utf8_clean(detail);
    const char *params[6] = {survivor, p->display_name ? p->display_name : "", duplicate,
                             by,       actor ? wf_actor_name(actor) : "",      detail};
    PGresult *res = tsr_db_exec(ev->conn,
                                "WITH moved AS (UPDATE steps SET subject_id = $1::bigint, subject_name = $2"
                                "  WHERE subject_kind = 'person' AND subject_id = $3::bigint RETURNING id)"
                                " INSERT INTO step_history (step_id, action, by_worker_id, by_name, detail)"
                                " SELECT id, 'subject-merged', $4::bigint, $5, $6 FROM moved",
                                6, params, err);
    uint64_t survivor_id = p->person_id;
    tsr__records__person_accessed__free_unpacked(p, NULL);
    if (res == NULL)
        return -1;
    PQclear(res);
    /* records makes the survivor of a restricted duplicate restricted (the more protective wins),
     * telling only of the merge: this daemon does the same. */
    long was_restricted =
        merges__run(ev->conn, "DELETE FROM restricted_people WHERE person_id = $1::bigint", duplicate, err);
    if (was_restricted < 0)
        return -1;
    if (was_restricted > 0 && merges__restricted(ev, survivor_id, err) != 0)
        return -1;
    return merges__conflicts_merged(ev, survivor, duplicate, err);
}
