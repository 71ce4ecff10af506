#include "access.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.pb-c.h"
#include "people.h"
#include "records.pb-c.h"
#include "tsr_envelope.h"

#define ACCESS_MAX 32
/* The people one records.people.access_check may ask about: more than a workview's pages hold. */
#define ACCESS_PEOPLE_MAX 1000

static char *access_roles[ACCESS_MAX];
static size_t access_roles_count;
static char *access_teams[ACCESS_MAX];
static size_t access_teams_count;

const char records_access_sql[] =
    "(NOT EXISTS (SELECT 1 FROM conflicts c WHERE c.person_id = p.id AND c.worker_id = $1::bigint) AND"
    "(NOT EXISTS (SELECT 1 FROM restrictions r WHERE r.person_id = p.id)"
    " OR $3::boolean"
    " OR EXISTS (SELECT 1 FROM restriction_access ra WHERE ra.person_id = p.id AND ra.worker_id = $1::bigint)"
    " OR EXISTS (SELECT 1 FROM allocations al WHERE al.person_id = p.id AND al.end_date IS NULL"
    /* The allocated worker, or the team when the person is allocated to the team itself: a key
     * worker's allocation naming their team does not open the record to everyone in it (seed
     * 002: "the allocated worker(s) & their manager(s)"). */
    "            AND (al.worker_id = $1::bigint OR (al.role = 'team' AND al.team_id = ANY ($2::bigint[]))"
    /* The allocated workers' managers, and the managers of allocated teams (seed 002). */
    "                 OR al.worker_id IN (SELECT m.id FROM workers m WHERE m.manager_id = $1::bigint)"
    "                 OR al.team_id = ANY (SELECT unnest(k.managed_team_ids) FROM workers k"
    "                                      WHERE k.id = $1::bigint)))))";

const char records_access_maybe_name_only_sql[] =
    "p.id IN (SELECT r.person_id FROM restrictions r"
    "         UNION ALL SELECT c.person_id FROM conflicts c WHERE c.worker_id = $1::bigint)";

static size_t access__split(const char *list, char **out)
{
    size_t n = 0;
    char *copy = strdup(list);
    for (char *tok = strtok(copy, ","); tok && n < ACCESS_MAX; tok = strtok(NULL, ",")) {
        while (*tok == ' ')
            tok++;
        char *end = tok + strlen(tok);
        while (end > tok && end[-1] == ' ')
            *--end = '\0';
        if (*tok)
            out[n++] = strdup(tok);
    }
    free(copy);
    return n;
}

int records_access_configure(const tsr_config_t *config, tsr_error_t *err)
{
    (void)err;
    access_roles_count =
        access__split(tsr_config_get(config, "records.restricted_access_roles",
                                     "mash-admin,mash-manager,emergency-duty,head-of-service,director,"
                                     "business-information-admin,system-support"),
                      access_roles);
    access_teams_count = access__split(
        tsr_config_get(config, "records.restricted_access_teams", "MASH,MASH Manager,Emergency Duty"),
        access_teams);
    return 0;
}

/* Whether the actor keeps access to every restricted record by role or team. */
static int access__by_policy(const Tsr__Actor *actor)
{
    if (tsr_actor_is_system(actor))
        return 1;
    for (size_t i = 0; i < access_roles_count; i++)
        if (tsr_actor_has_role(actor, access_roles[i]))
            return 1;
    for (size_t t = 0; t < actor->n_team_names; t++)
        for (size_t i = 0; i < access_teams_count; i++)
            if (strcmp(actor->team_names[t], access_teams[i]) == 0)
                return 1;
    return 0;
}

void records_access_params(const tsr_call_t *call, char worker[32], char *teams, size_t teams_size,
                           const char **override)
{
    snprintf(worker, 32, "%" PRIu64, call->actor->worker_id);
    size_t n = (size_t)snprintf(teams, teams_size, "{");
    for (size_t i = 0; i < call->actor->n_team_ids && n + 24 < teams_size; i++)
        n +=
            (size_t)snprintf(teams + n, teams_size - n, "%s%" PRIu64, i ? "," : "", call->actor->team_ids[i]);
    snprintf(teams + n, teams_size - n, "}");
    *override = access__by_policy(call->actor) ? "true" : "false";
}

int records_access_person(tsr_call_t *call, uint64_t person_id, records_access_t *access, tsr_error_t *err)
{
    char worker[32], teams[1024], person[32];
    const char *override;
    records_access_params(call, worker, teams, sizeof(teams), &override);
    snprintf(person, sizeof(person), "%" PRIu64, person_id);
    const char *params[4] = {worker, teams, override, person};
    char sql[1024];
    snprintf(sql, sizeof(sql), "SELECT %s FROM people p WHERE p.id = $4::bigint", records_access_sql);
    PGresult *res = tsr_db_exec(call->conn, sql, 4, params, err);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 0)
        *access = RECORDS_ACCESS_NONE;
    else
        *access = strcmp(PQgetvalue(res, 0, 0), "t") == 0 ? RECORDS_ACCESS_FULL : RECORDS_ACCESS_NAME_ONLY;
    PQclear(res);
    return 0;
}

/* A text[] literal of strings, each quoted ("MASH Manager"). Caller frees. */
static char *access__text_array(char *const *items, size_t n)
{
    size_t len = 3;
    for (size_t i = 0; i < n; i++)
        len += 2 * strlen(items[i]) + 3;
    char *out = malloc(len), *o = out;
    *o++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *o++ = ',';
        *o++ = '"';
        for (const char *c = items[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                *o++ = '\\';
            *o++ = *c;
        }
        *o++ = '"';
    }
    *o++ = '}';
    *o = '\0';
    return out;
}

static char *access__id_array(const uint64_t *ids, size_t n)
{
    char *out = malloc(n * 21 + 3);
    size_t len = (size_t)sprintf(out, "{");
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(out + len, "%s%" PRIu64, i ? "," : "", ids[i]);
    sprintf(out + len, "}");
    return out;
}

/* When a key worker leaves with people still allocated to them, their line manager (else the managers
 * of their teams) is told: those children's CP-IS work goes to no one until they are reallocated
 * (the leavers' caseloads). Once per leaver; nothing about the people in the notice. */
static int access__tell_of_leaver_caseload(tsr_event_t *ev, const char *id, const char *manager,
                                           const char *teams, tsr_error_t *err)
{
    const char *params[3] = {id, manager, teams};
    PGresult *res =
        tsr_db_exec(ev->conn,
                    "SELECT w.id FROM workers w"
                    " WHERE NOT w.ended AND w.id <> $1::bigint"
                    " AND (w.id = $2::bigint OR ($2::bigint IS NULL AND w.managed_team_ids && $3::bigint[]))"
                    " AND EXISTS (SELECT 1 FROM allocations a WHERE a.worker_id = $1::bigint"
                    "   AND a.role = 'key-worker' AND a.end_date IS NULL)",
                    3, params, err);
    if (res == NULL)
        return -1;
    char key[64];
    snprintf(key, sizeof(key), "leaver-caseload:%s", id);
    Tsr__Actor system = TSR__ACTOR__INIT;
    tsr_call_t call = tsr_call_for_event(ev, &system);
    int rc = records_notice_tell(&call, res, "leaver-caseload",
                                 "A key worker who has left still has people allocated to them",
                                 "/leavers/caseloads", key, 0, err);
    PQclear(res);
    return rc;
}

static int access__worker_changed(tsr_event_t *ev, tsr_error_t *err)
{
    Tsr__Accounts__WorkerChanged *w = (Tsr__Accounts__WorkerChanged *)tsr_unpack(
        &tsr__accounts__worker_changed__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (w == NULL)
        return -1;
    uint64_t *team_ids = calloc(w->n_teams + 1, sizeof(uint64_t));
    char **team_names = calloc(w->n_teams + 1, sizeof(char *));
    for (size_t i = 0; i < w->n_teams; i++) {
        team_ids[i] = w->teams[i]->id;
        team_names[i] = w->teams[i]->name;
    }
    char id[24], manager[24];
    snprintf(id, sizeof(id), "%" PRIu64, w->worker_id);
    snprintf(manager, sizeof(manager), "%" PRIu64, w->manager_id);
    char *roles = access__text_array(w->roles, w->n_roles);
    char *teams = access__id_array(team_ids, w->n_teams);
    char *names = access__text_array(team_names, w->n_teams);
    char *managed = access__id_array(w->managed_team_ids, w->n_managed_team_ids);
    const char *params[8] = {
        id,     roles, teams, names, w->manager_id ? manager : NULL, managed, w->ended ? "true" : "false",
        w->name};
    /* Whether this change is the worker's leaving (not a later change to a leaver's account). */
    int rc = 0;
    if (w->ended) {
        PGresult *before = tsr_db_exec(
            ev->conn, "SELECT NOT coalesce((SELECT ended FROM workers WHERE id = $1::bigint), false)", 1,
            params, err);
        rc = before == NULL ? -1 : 0;
        if (rc == 0 && strcmp(PQgetvalue(before, 0, 0), "t") == 0)
            rc = access__tell_of_leaver_caseload(ev, id, params[4], teams, err);
        PQclear(before);
    }
    PGresult *res =
        rc != 0 ? NULL
                : tsr_db_exec(
                      ev->conn,
                      "INSERT INTO workers (id, roles, team_ids, team_names, manager_id, managed_team_ids,"
                      " ended, name) VALUES ($1::bigint, $2::text[], $3::bigint[], $4::text[], $5::bigint,"
                      " $6::bigint[], $7::boolean, $8)"
                      " ON CONFLICT (id) DO UPDATE SET roles = EXCLUDED.roles, team_ids = EXCLUDED.team_ids,"
                      " team_names = EXCLUDED.team_names, manager_id = EXCLUDED.manager_id,"
                      " managed_team_ids = EXCLUDED.managed_team_ids, ended = EXCLUDED.ended, name = "
                      "EXCLUDED.name",
                      8, params, err);
    rc = res == NULL ? -1 : 0;
    PQclear(res);
    for (size_t i = 0; rc == 0 && i < w->n_teams; i++) {
        char tid[24];
        snprintf(tid, sizeof(tid), "%" PRIu64, team_ids[i]);
        const char *tp[2] = {tid, team_names[i]};
        res = tsr_db_exec(ev->conn,
                          "INSERT INTO teams (id, name) VALUES ($1::bigint, $2)"
                          " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
                          2, tp, err);
        rc = res == NULL ? -1 : 0;
        PQclear(res);
    }
    free(roles);
    free(teams);
    free(names);
    free(managed);
    free(team_ids);
    free(team_names);
    tsr__accounts__worker_changed__free_unpacked(w, NULL);
    return rc;
}

/* The rule of records_access_sql for a worker known from accounts' events (a row of workers
 * aliased k, or none: a worker unknown here is allowed an unrestricted record only) rather than for
 * the caller, as SQL over the person and worker expressions given; $3 is the policy's roles
 * (text[]), $4 its teams' names (text[]). */
/* clang-format off */
#define ACCESS__WORKER_MAY_OPEN(person, worker)                                                          \
    "NOT EXISTS (SELECT 1 FROM conflicts c WHERE c.person_id = " person " AND c.worker_id = " worker ")" \
    " AND coalesce(NOT k.ended, true)"                                                                   \
    " AND (NOT EXISTS (SELECT 1 FROM restrictions r WHERE r.person_id = " person ")"                     \
    "  OR k.roles && $3::text[] OR k.team_names && $4::text[]"                                           \
    "  OR EXISTS (SELECT 1 FROM restriction_access ra WHERE ra.person_id = " person                      \
    "   AND ra.worker_id = " worker ")"                                                                  \
    "  OR EXISTS (SELECT 1 FROM allocations al WHERE al.person_id = " person " AND al.end_date IS NULL"  \
    "   AND (al.worker_id = " worker " OR (al.role = 'team' AND al.team_id = ANY (k.team_ids))"          \
    "        OR al.team_id = ANY (k.managed_team_ids)"                                                   \
    "        OR al.worker_id IN (SELECT m.id FROM workers m WHERE m.manager_id = " worker "))))"
/* clang-format on */

int records_access_check(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__AccessCheck *in = (const Tsr__Records__AccessCheck *)call->payload;
    if (!tsr_actor_is_system(call->actor) && tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    char person[24];
    snprintf(person, sizeof(person), "%" PRIu64, in->person_id);
    const char *p1[1] = {person};
    PGresult *res = tsr_db_exec(call->conn,
                                "SELECT " RECORDS_PERSON_DISPLAY ", EXISTS (SELECT 1 FROM restrictions r"
                                " WHERE r.person_id = p.id) FROM people p WHERE p.id = $1::bigint"
                                " AND p.merged_into IS NULL",
                                1, p1, err);
    if (res == NULL)
        return -1;
    Tsr__Records__AccessCheckReply reply = TSR__RECORDS__ACCESS_CHECK_REPLY__INIT;
    if (PQntuples(res) == 0) {
        PQclear(res);
        tsr_call_reply(call, &reply.base);
        return 0;
    }
    reply.exists = 1;
    reply.display_name = PQgetvalue(res, 0, 0);
    reply.restricted = PQgetvalue(res, 0, 1)[0] == 't';
    char *workers = access__id_array(in->worker_ids, in->n_worker_ids);
    char *teams = access__id_array(in->team_ids, in->n_team_ids);
    char *roles = access__text_array(access_roles, access_roles_count);
    char *policy_teams = access__text_array(access_teams, access_teams_count);
    const char *params[4] = {person, workers, roles, policy_teams};
    /* The same rule as records_access_sql, for workers known from accounts' events rather than for
     * the caller: a worker unknown here is allowed an unrestricted record only. */
    PGresult *w =
        tsr_db_exec(call->conn,
                    "SELECT q.id FROM unnest($2::bigint[]) AS q(id) LEFT JOIN workers k ON k.id = q.id"
                    " WHERE " ACCESS__WORKER_MAY_OPEN("$1::bigint", "q.id"),
                    4, params, err);
    const char *team_params[3] = {person, policy_teams, teams};
    PGresult *t =
        w ? tsr_db_exec(call->conn,
                        "SELECT q.id FROM unnest($3::bigint[]) AS q(id) LEFT JOIN teams tm ON tm.id = q.id"
                        " WHERE NOT EXISTS (SELECT 1 FROM restrictions r WHERE r.person_id = $1::bigint)"
                        "  OR tm.name = ANY ($2::text[])"
                        "  OR EXISTS (SELECT 1 FROM allocations al WHERE al.person_id = $1::bigint"
                        "   AND al.end_date IS NULL AND al.role = 'team' AND al.team_id = q.id)",
                        3, team_params, err)
          : NULL;
    free(workers);
    free(teams);
    free(roles);
    free(policy_teams);
    int rc = -1;
    if (t != NULL) {
        size_t nw = (size_t)PQntuples(w), nt = (size_t)PQntuples(t);
        reply.allowed_worker_ids = calloc(nw + 1, sizeof(uint64_t));
        reply.allowed_team_ids = calloc(nt + 1, sizeof(uint64_t));
        for (size_t i = 0; i < nw; i++)
            reply.allowed_worker_ids[i] = strtoull(PQgetvalue(w, (int)i, 0), NULL, 10);
        for (size_t i = 0; i < nt; i++)
            reply.allowed_team_ids[i] = strtoull(PQgetvalue(t, (int)i, 0), NULL, 10);
        reply.n_allowed_worker_ids = nw;
        reply.n_allowed_team_ids = nt;
        tsr_call_reply(call, &reply.base);
        free(reply.allowed_worker_ids);
        free(reply.allowed_team_ids);
        rc = 0;
    }
    PQclear(w);
    PQclear(t);
    PQclear(res);
    return rc;
}

int records_access_check_people(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__PeopleAccessCheck *in = (const Tsr__Records__PeopleAccessCheck *)call->payload;
    if (!tsr_actor_is_system(call->actor) && tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    if (in->n_person_ids > ACCESS_PEOPLE_MAX)
        return tsr_error_set(err, TSR_E_INVALID, "too_many", "person_ids",
                             "Ask about at most %d people at a time.", ACCESS_PEOPLE_MAX);
    char worker[24];
    snprintf(worker, sizeof(worker), "%" PRIu64, in->worker_id);
    char *people = access__id_array(in->person_ids, in->n_person_ids);
    char *roles = access__text_array(access_roles, access_roles_count);
    char *policy_teams = access__text_array(access_teams, access_teams_count);
    const char *params[4] = {people, worker, roles, policy_teams};
    PGresult *res = tsr_db_exec(call->conn,
                                "SELECT DISTINCT q.id FROM unnest($1::bigint[]) AS q(id)"
                                " JOIN people p ON p.id = q.id AND p.merged_into IS NULL"
                                " LEFT JOIN workers k ON k.id = $2::bigint"
                                " WHERE " ACCESS__WORKER_MAY_OPEN("q.id", "$2::bigint"),
                                4, params, err);
    free(people);
    free(roles);
    free(policy_teams);
    if (res == NULL)
        return -1;
    Tsr__Records__PeopleAccessCheckReply reply = TSR__RECORDS__PEOPLE_ACCESS_CHECK_REPLY__INIT;
    size_t n = (size_t)PQntuples(res);
    reply.allowed_person_ids = calloc(n + 1, sizeof(uint64_t));
    for (size_t i = 0; i < n; i++)
        reply.allowed_person_ids[i] = strtoull(PQgetvalue(res, (int)i, 0), NULL, 10);
    reply.n_allowed_person_ids = n;
    tsr_call_reply(call, &reply.base);
    free(reply.allowed_person_ids);
    PQclear(res);
    return 0;
}

int records_access_apply_accounts_event(tsr_event_t *ev, tsr_error_t *err)
{
    if (strcmp(ev->event->type, "accounts.worker.changed") == 0)
        return access__worker_changed(ev, err);
    if (strcmp(ev->event->type, "accounts.conflict.declared") != 0)
        return 0;
    Tsr__Accounts__ConflictDeclared *c = (Tsr__Accounts__ConflictDeclared *)tsr_unpack(
        &tsr__accounts__conflict_declared__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (c == NULL)
        return -1;
    char worker[32], person[32];
    snprintf(worker, sizeof(worker), "%" PRIu64, c->worker_id);
    snprintf(person, sizeof(person), "%" PRIu64, c->person_id);
    tsr__accounts__conflict_declared__free_unpacked(c, NULL);
    const char *params[2] = {worker, person};
    PGresult *res = tsr_db_exec(ev->conn,
                                "INSERT INTO conflicts (worker_id, person_id) VALUES ($1::bigint, $2::bigint)"
                                " ON CONFLICT DO NOTHING",
                                2, params, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}
