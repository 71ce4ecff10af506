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
#include "records.pb-c.h"
#include "tsr_envelope.h"
#include "wf.h"

int wf_wants_person_event(const Tsr__Envelope *ev)
{
    return ev->type != NULL && (strcmp(ev->type, "records.person.merged") == 0 ||
                                strcmp(ev->type, "records.person.details-changed") == 0 ||
                                strcmp(ev->type, "records.person.birth-recorded") == 0 ||
                                strcmp(ev->type, "records.person.disposed") == 0 ||
                                strcmp(ev->type, "records.person.restricted") == 0 ||
                                strcmp(ev->type, "records.person.unrestricted") == 0);
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

/* A record restricted (records.person.restricted, seed 002; or by a merge with a restricted
 * duplicate) is kept in restricted_people, for work asked for about the person later
 * (requested.c). Work already waiting in a queue whose workers do not keep access (a CPIS Follow up
 * for the CP-IS desk) moves to the queue the definitions name, whose workers do (system support),
 * to pass on to someone who can open the record. Left where it was, no one who works the queue
 * could open it. Told as the worker who restricted the record.
 *
 * The row is written first: its lock (ROW EXCLUSIVE) and requested.c's (SHARE) make a step asked
 * for meanwhile either wait for this commit, and see the row, or commit first, and be moved here. */
static int merges__restricted(tsr_event_t *ev, uint64_t person_id, tsr_error_t *err)
{
    Tsr__Actor nobody = TSR__ACTOR__INIT;
    tsr_call_t call = tsr_call_for_event(ev, ev->event->actor ? ev->event->actor : &nobody);
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
    return 0;
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
    Tsr__Actor nobody = TSR__ACTOR__INIT;
    tsr_call_t call = tsr_call_for_event(ev, &nobody);
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
    return gone < 0 ? -1 : 0;
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
    char survivor[24], duplicate[24], by[24], detail[300];
    snprintf(survivor, sizeof(survivor), "%" PRIu64, p->person_id);
    snprintf(duplicate, sizeof(duplicate), "%" PRIu64, p->merged_from);
    const Tsr__Actor *actor = ev->event->actor;
    snprintf(by, sizeof(by), "%" PRIu64, actor ? actor->worker_id : 0);
    snprintf(detail, sizeof(detail), "Moved from person %s, merged into %s (%s)", duplicate,
             p->display_name ? p->display_name : "", survivor);
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
    return was_restricted > 0 ? merges__restricted(ev, survivor_id, err) : 0;
}
