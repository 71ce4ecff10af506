/* Who work can go to, and who may see work about whom. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.pb-c.h"
#include "definitions.h"
#include "tsr_envelope.h"
#include "wf.h"

#define WF_MANAGER_ROLES_MAX 16

static char *manager_roles[WF_MANAGER_ROLES_MAX];
static size_t manager_roles_count;

void wf_configure(const tsr_config_t *config)
{
    const char *list = tsr_config_get(config, "workflow.manager_roles",
                                      "team-manager,mash-manager,head-of-service,director,system-support");
    char *copy = strdup(list), *save = NULL;
    for (char *tok = strtok_r(copy, ", ", &save); tok && manager_roles_count < WF_MANAGER_ROLES_MAX;
         tok = strtok_r(NULL, ", ", &save))
        manager_roles[manager_roles_count++] = strdup(tok);
    free(copy);
}

json_t *wf_json_id(uint64_t id)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%" PRIu64, id);
    return json_string(buf);
}

void wf_actor_owner(const Tsr__Actor *actor, char owner[WF_OWNER_MAX])
{
    snprintf(owner, WF_OWNER_MAX, "w:%" PRIu64, actor->worker_id);
}

const char *wf_actor_name(const Tsr__Actor *actor)
{
    if (actor->display_name && actor->display_name[0])
        return actor->display_name;
    if (actor->username && actor->username[0])
        return actor->username;
    return tsr_actor_is_system(actor) ? "Tessera" : "";
}

int wf_actor_is_manager(const Tsr__Actor *actor)
{
    for (size_t i = 0; i < manager_roles_count; i++)
        if (tsr_actor_has_role(actor, manager_roles[i]))
            return 1;
    return 0;
}

int wf_actor_works(const Tsr__Actor *actor, const char *owner)
{
    if (owner == NULL || strlen(owner) < 3)
        return 0;
    if (owner[0] == 'w')
        return actor->worker_id != 0 && strtoull(owner + 2, NULL, 10) == actor->worker_id;
    if (owner[0] == 't') {
        uint64_t team = strtoull(owner + 2, NULL, 10);
        for (size_t i = 0; i < actor->n_team_ids; i++)
            if (actor->team_ids[i] == team)
                return 1;
        return 0;
    }
    const wf_virtual_worker_t *v = wf_virtual_worker(owner + 2);
    return v != NULL && wf_def_roles_match(v->roles, actor->roles, actor->n_roles);
}

char *wf_owner_name(PGconn *conn, const char *owner)
{
    if (owner[0] == 'v') {
        const wf_virtual_worker_t *v = wf_virtual_worker(owner + 2);
        return strdup(v ? v->name : owner + 2);
    }
    const char *params[1] = {owner + 2};
    PGresult *res = tsr_db_exec(conn,
                                owner[0] == 'w' ? "SELECT name FROM workers WHERE id = $1::bigint"
                                                : "SELECT name FROM teams WHERE id = $1::bigint",
                                1, params, NULL);
    char *name = strdup(res && PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : owner);
    PQclear(res);
    return name;
}

static int directory__kind_allowed(const json_t *may_send_to, const char *kind)
{
    if (may_send_to == NULL)
        return 1;
    size_t i;
    const json_t *v;
    json_array_foreach(may_send_to, i, v)
    {
        if (strcmp(json_string_value(v), kind) == 0)
            return 1;
    }
    return 0;
}

int wf_recipient_resolve(tsr_call_t *call, const Tsr__Workflow__Recipient *to, const json_t *default_to,
                         const json_t *may_send_to, char owner[WF_OWNER_MAX], char **name, tsr_error_t *err)
{
    *name = NULL;
    int given = (to != NULL) + 0;
    int n_set =
        given ? (to->worker_id != 0) + (to->team_id != 0) + (to->virtual_worker && to->virtual_worker[0]) : 0;
    if (n_set > 1)
        return tsr_error_set(err, TSR_E_INVALID, "ambiguous_recipient", "to",
                             "Send it to one worker, one team or one virtual worker, not more than one.");
    char id[24];
    if (n_set == 1 && to->worker_id != 0) {
        if (!directory__kind_allowed(may_send_to, "worker"))
            return tsr_error_set(err, TSR_E_UNPROCESSABLE, "recipient_not_allowed", "to.worker_id",
                                 "This can be sent to a team, not to a single worker.");
        snprintf(id, sizeof(id), "%" PRIu64, to->worker_id);
        const char *params[1] = {id};
        PGresult *res = tsr_db_exec(
            call->conn, "SELECT name, ended, " WF_SQL_SERVICE_ACCOUNT " FROM workers WHERE id = $1::bigint",
            1, params, err);
        if (res == NULL)
            return -1;
        int found = PQntuples(res) == 1, ended = found && PQgetvalue(res, 0, 1)[0] == 't';
        int machine = found && PQgetvalue(res, 0, 2)[0] == 't';
        if (found && !ended && !machine)
            *name = strdup(PQgetvalue(res, 0, 0));
        PQclear(res);
        if (!found)
            return tsr_error_set(err, TSR_E_NOT_FOUND, "worker_not_found", "to.worker_id",
                                 "There is no worker %s.", id);
        if (machine)
            return tsr_error_set(err, TSR_E_UNPROCESSABLE, "not_a_person", "to.worker_id",
                                 "Worker %s is a service account (the spine poller's): work goes to people.",
                                 id);
        if (ended)
            return tsr_error_set(err, TSR_E_UNPROCESSABLE, "worker_ended", "to.worker_id",
                                 "Worker %s has left: their account has ended. Send it to someone else.", id);
        snprintf(owner, WF_OWNER_MAX, "w:%s", id);
        return 0;
    }
    const char *team_name = NULL, *virtual_key = NULL;
    if (n_set == 1 && to->team_id != 0) {
        if (!directory__kind_allowed(may_send_to, "team"))
            return tsr_error_set(err, TSR_E_UNPROCESSABLE, "recipient_not_allowed", "to.team_id",
                                 "This is sent to a named worker, not to a team.");
        snprintf(id, sizeof(id), "%" PRIu64, to->team_id);
        const char *params[1] = {id};
        PGresult *res =
            tsr_db_exec(call->conn, "SELECT name FROM teams WHERE id = $1::bigint", 1, params, err);
        if (res == NULL)
            return -1;
        if (PQntuples(res) == 1)
            *name = strdup(PQgetvalue(res, 0, 0));
        PQclear(res);
        if (*name == NULL)
            return tsr_error_set(err, TSR_E_NOT_FOUND, "team_not_found", "to.team_id", "There is no team %s.",
                                 id);
        snprintf(owner, WF_OWNER_MAX, "t:%s", id);
        return 0;
    }
    if (n_set == 1)
        virtual_key = to->virtual_worker;
    else if (default_to != NULL) {
        team_name = json_string_value(json_object_get(default_to, "team"));
        virtual_key = json_string_value(json_object_get(default_to, "virtual"));
    } else
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", "to", "Choose who to send it to.");
    if (virtual_key != NULL) {
        const wf_virtual_worker_t *v = wf_virtual_worker(virtual_key);
        if (v == NULL)
            return tsr_error_set(err, TSR_E_NOT_FOUND, "virtual_worker_not_found", "to.virtual_worker",
                                 "There is no virtual worker \"%s\".", virtual_key);
        if (n_set == 1 && !directory__kind_allowed(may_send_to, "virtual"))
            return tsr_error_set(err, TSR_E_UNPROCESSABLE, "recipient_not_allowed", "to.virtual_worker",
                                 "This cannot be sent to a virtual worker.");
        snprintf(owner, WF_OWNER_MAX, "v:%s", v->key);
        *name = strdup(v->name);
        return 0;
    }
    const char *params[1] = {team_name};
    PGresult *res = tsr_db_exec(call->conn, "SELECT id FROM teams WHERE name = $1", 1, params, err);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 1) {
        snprintf(owner, WF_OWNER_MAX, "t:%s", PQgetvalue(res, 0, 0));
        *name = strdup(team_name);
    }
    PQclear(res);
    if (*name == NULL)
        return tsr_error_set(
            err, TSR_E_UNPROCESSABLE, "team_not_found", "to",
            "The team \"%s\" that this goes to has no members yet; choose who to send it to.", team_name);
    return 0;
}

int wf_person_access(tsr_call_t *call, uint64_t person_id, const uint64_t *workers, size_t n_workers,
                     const uint64_t *teams, size_t n_teams, Tsr__Records__AccessCheckReply **reply,
                     tsr_error_t *err)
{
    Tsr__Records__AccessCheck q = TSR__RECORDS__ACCESS_CHECK__INIT;
    q.person_id = person_id;
    q.worker_ids = (uint64_t *)workers;
    q.n_worker_ids = n_workers;
    q.team_ids = (uint64_t *)teams;
    q.n_team_ids = n_teams;
    ProtobufCMessage *msg = NULL;
    if (tsr_call_ask(call, "records", "records.person.access_check", &q.base,
                     &tsr__records__access_check_reply__descriptor, &msg, err) != 0)
        return -1;
    *reply = (Tsr__Records__AccessCheckReply *)msg;
    return 0;
}

int wf_ids_include(const uint64_t *ids, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return 1;
    return 0;
}

int wf_subject_guarded(const json_t *def, const char *subject_kind)
{
    return strcmp(subject_kind, "person") == 0 && !wf_def_name_only_subject(def);
}

int wf_subject_check_recipient(tsr_call_t *call, const json_t *def, const char *subject_kind,
                               uint64_t subject_id, const char *owner, const char *owner_name,
                               tsr_error_t *err)
{
    if (!wf_subject_guarded(def, subject_kind))
        return 0;
    /* A virtual worker is a queue worked by a role; its worker is checked when they open the step.
     * But a queue whose workers do not keep access to restricted records is no place for one. */
    if (owner[0] == 'v') {
        const wf_virtual_worker_t *queue = wf_virtual_worker(owner + 2);
        if (queue == NULL || queue->restricted_to == NULL)
            return 0;
        Tsr__Records__AccessCheckReply *reply = NULL;
        if (wf_person_access(call, subject_id, NULL, 0, NULL, 0, &reply, err) != 0)
            return -1;
        int restricted = reply->restricted;
        tsr__records__access_check_reply__free_unpacked(reply, NULL);
        const wf_virtual_worker_t *to = wf_virtual_worker(queue->restricted_to);
        if (restricted)
            return tsr_error_set(err, TSR_E_UNPROCESSABLE, "recipient_has_no_access", "to.virtual_worker",
                                 "The %s queue's workers cannot open this person's record (it is "
                                 "restricted), so it cannot be sent work about them. Send it to %s, or to "
                                 "someone with access.",
                                 owner_name, to ? to->name : "someone with access");
        return 0;
    }
    uint64_t id = strtoull(owner + 2, NULL, 10);
    Tsr__Records__AccessCheckReply *reply = NULL;
    if (wf_person_access(call, subject_id, owner[0] == 'w' ? &id : NULL, owner[0] == 'w',
                         owner[0] == 't' ? &id : NULL, owner[0] == 't', &reply, err) != 0)
        return -1;
    int ok = owner[0] == 'w' ? wf_ids_include(reply->allowed_worker_ids, reply->n_allowed_worker_ids, id)
                             : wf_ids_include(reply->allowed_team_ids, reply->n_allowed_team_ids, id);
    tsr__records__access_check_reply__free_unpacked(reply, NULL);
    if (!ok)
        return tsr_error_set(
            err, TSR_E_UNPROCESSABLE, "recipient_has_no_access",
            owner[0] == 'w' ? "to.worker_id" : "to.team_id",
            "%s cannot open this person's record (it is restricted), so cannot be sent work about "
            "them. Choose someone with access.",
            owner_name);
    return 0;
}

int wf_step_check_reader(tsr_call_t *call, const wf_step_t *step, tsr_error_t *err)
{
    /* A step that asks for nothing of the record (a request for access to it) shows only the
     * person's name, which everyone may see. */
    if (!wf_subject_guarded(step->def, step->subject_kind) || tsr_actor_is_system(call->actor))
        return 0;
    uint64_t me = call->actor->worker_id;
    Tsr__Records__AccessCheckReply *reply = NULL;
    if (wf_person_access(call, step->subject_id, &me, 1, NULL, 0, &reply, err) != 0)
        return -1;
    int ok = wf_ids_include(reply->allowed_worker_ids, reply->n_allowed_worker_ids, me);
    tsr__records__access_check_reply__free_unpacked(reply, NULL);
    if (ok)
        return 0;
    /* The refused attempt is kept (the trail must show it) while the caller gets the refusal. */
    if (wf_step_emit(call, step->id, "refused", err) != 0)
        return -1;
    call->commit_refusal = 1;
    return tsr_error_set(err, TSR_E_FORBIDDEN, "restricted_record", NULL,
                         "This work is about a restricted record that you do not have access to. Ask system "
                         "support if you need it.");
}

int wf_directory_apply_accounts_event(tsr_event_t *ev, tsr_error_t *err)
{
    if (strcmp(ev->event->type, "accounts.conflict.declared") == 0)
        return wf_apply_conflict_declared(ev, err);
    if (strcmp(ev->event->type, "accounts.worker.changed") != 0)
        return 0;
    Tsr__Accounts__WorkerChanged *w = (Tsr__Accounts__WorkerChanged *)tsr_unpack(
        &tsr__accounts__worker_changed__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (w == NULL)
        return -1;
    int rc = -1;
    char id[24], roles[2048], teams[1024];
    snprintf(id, sizeof(id), "%" PRIu64, w->worker_id);
    size_t n = (size_t)snprintf(roles, sizeof(roles), "{");
    for (size_t i = 0; i < w->n_roles && n + 100 < sizeof(roles); i++)
        n += (size_t)snprintf(roles + n, sizeof(roles) - n, "%s\"%s\"", i ? "," : "", w->roles[i]);
    snprintf(roles + n, sizeof(roles) - n, "}");
    n = (size_t)snprintf(teams, sizeof(teams), "{");
    for (size_t i = 0; i < w->n_teams && n + 24 < sizeof(teams); i++)
        n += (size_t)snprintf(teams + n, sizeof(teams) - n, "%s%" PRIu64, i ? "," : "", w->teams[i]->id);
    snprintf(teams + n, sizeof(teams) - n, "}");
    const char *params[5] = {id, w->name, roles, teams, w->ended ? "true" : "false"};
    PGresult *res =
        tsr_db_exec(ev->conn,
                    "INSERT INTO workers (id, name, roles, team_ids, ended)"
                    " VALUES ($1::bigint, $2, $3::text[], $4::bigint[], $5::boolean)"
                    " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, roles = EXCLUDED.roles,"
                    " team_ids = EXCLUDED.team_ids, ended = EXCLUDED.ended",
                    5, params, err);
    if (res == NULL)
        goto done;
    PQclear(res);
    for (size_t i = 0; i < w->n_teams; i++) {
        char tid[24];
        snprintf(tid, sizeof(tid), "%" PRIu64, w->teams[i]->id);
        const char *tp[2] = {tid, w->teams[i]->name};
        res = tsr_db_exec(ev->conn,
                          "INSERT INTO teams (id, name) VALUES ($1::bigint, $2)"
                          " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
                          2, tp, err);
        if (res == NULL)
            goto done;
        PQclear(res);
    }
    rc = 0;
done:
    tsr__accounts__worker_changed__free_unpacked(w, NULL);
    return rc;
}
