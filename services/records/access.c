#include "access.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.pb-c.h"
#include "tsr_envelope.h"

#define ACCESS_MAX 32

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
    "            AND (al.worker_id = $1::bigint OR al.team_id = ANY ($2::bigint[])))))";

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

int records_access_apply_accounts_event(tsr_event_t *ev, tsr_error_t *err)
{
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
