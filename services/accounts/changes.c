#include "changes.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "tsr_envelope.h"
#include "tsr_text.h"
#include "workers.h"

#define CHANGES_MAX_ROLES 32
#define CHANGES_MAX_TEAMS 32
#define CHANGES_MAX_CONTRACT_PEOPLE 1000

/* ------------------------------------------------------------------------------------------------
 * Roles
 * ---------------------------------------------------------------------------------------------- */

/* Whether role is one of the comma-separated roles. */
static int changes__holds(const char *held, const char *role)
{
    size_t len = strlen(role);
    for (const char *p = held; p != NULL && *p;) {
        size_t item = strcspn(p, ",");
        if (item == len && strncmp(p, role, len) == 0)
            return 1;
        p += item;
        if (*p == ',')
            p++;
    }
    return 0;
}

int accounts_roles_literal(const Tsr__Actor *actor, char *const *roles, size_t n, const char *held,
                           char **out, tsr_error_t *err)
{
    *out = NULL;
    if (n > CHANGES_MAX_ROLES)
        return tsr_error_set(err, TSR_E_INVALID, "too_many", "roles", "A worker can have at most %d roles.",
                             CHANGES_MAX_ROLES);
    size_t len = 3;
    for (size_t i = 0; i < n; i++) {
        if (!accounts_role_is_known(roles[i]))
            return tsr_error_set(err, TSR_E_INVALID, "unknown_role", "roles",
                                 "'%.64s' is not a role of the suite.", roles[i]);
        len += strlen(roles[i]) + 1;
    }
    /* The roles that answer for the others: the administrators', and the auditors', who audit
     * everyone's use, system support's included (seed 002). */
    static const char *const admin_only[] = {"admin", "auditor"};
    for (size_t r = 0; r < sizeof(admin_only) / sizeof(admin_only[0]); r++) {
        int will = 0;
        for (size_t i = 0; i < n; i++)
            will |= strcmp(roles[i], admin_only[r]) == 0;
        if (will != changes__holds(held, admin_only[r]) && !tsr_actor_is_system(actor) &&
            !tsr_actor_has_role(actor, "admin"))
            return tsr_error_set(err, TSR_E_FORBIDDEN, "forbidden", "roles",
                                 "Only an admin may give or take the %s role.", admin_only[r]);
    }
    char *literal = malloc(len);
    if (literal == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory changing roles.");
    /* Known role names need no quoting inside a text[] literal. */
    size_t used = (size_t)snprintf(literal, len, "{");
    for (size_t i = 0; i < n; i++) {
        int repeated = 0;
        for (size_t j = 0; j < i && !repeated; j++)
            repeated = strcmp(roles[i], roles[j]) == 0;
        if (!repeated)
            used += (size_t)snprintf(literal + used, len - used, "%s%s", used > 1 ? "," : "", roles[i]);
    }
    snprintf(literal + used, len - used, "}");
    *out = literal;
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * Teams, as a member and as a manager
 * ---------------------------------------------------------------------------------------------- */

int accounts_teams_set(PGconn *conn, const char *worker_id, accounts_teams_kind_t kind, char *const *names,
                       size_t n, int create, const char *field, tsr_error_t *err)
{
    static const char *const clear[] = {"DELETE FROM worker_teams WHERE worker_id = $1::bigint",
                                        "DELETE FROM team_managers WHERE worker_id = $1::bigint"};
    static const char *const add[] = {"INSERT INTO worker_teams (worker_id, team_id) VALUES ($1::bigint, "
                                      "$2::bigint) ON CONFLICT DO NOTHING",
                                      "INSERT INTO team_managers (worker_id, team_id) VALUES ($1::bigint, "
                                      "$2::bigint) ON CONFLICT DO NOTHING"};
    if (n > CHANGES_MAX_TEAMS)
        return tsr_error_set(err, TSR_E_INVALID, "too_many", field, "'%s' can name at most %d teams.", field,
                             CHANGES_MAX_TEAMS);
    char ids[CHANGES_MAX_TEAMS][24];
    for (size_t i = 0; i < n; i++) {
        size_t len = tsr_text_length(names[i]);
        if (tsr_text_trimmed_length(names[i]) == 0 || len > 200 || tsr_text_has_control(names[i], 0))
            return tsr_error_set(err, TSR_E_INVALID, "invalid_team", field,
                                 "Each of '%s' must be a team's name, 1 to 200 characters.", field);
        const char *params[1] = {names[i]};
        PGresult *res =
            tsr_db_exec(conn,
                        create ? "INSERT INTO teams (name) VALUES ($1) ON CONFLICT (name) DO UPDATE"
                                 " SET name = EXCLUDED.name RETURNING id"
                               : "SELECT id FROM teams WHERE name = $1",
                        1, params, err);
        if (res == NULL)
            return -1;
        int found = PQntuples(res) == 1;
        if (found)
            snprintf(ids[i], sizeof(ids[i]), "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        if (!found)
            return tsr_error_set(err, TSR_E_UNPROCESSABLE, "unknown_team", field,
                                 "There is no team '%.100s'; check the name against the council's teams.",
                                 names[i]);
    }
    const char *by_worker[1] = {worker_id};
    PGresult *res = tsr_db_exec(conn, clear[kind], 1, by_worker, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    for (size_t i = 0; i < n; i++) {
        const char *params[2] = {worker_id, ids[i]};
        res = tsr_db_exec(conn, add[kind], 2, params, err);
        if (res == NULL)
            return -1;
        PQclear(res);
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * The line manager
 * ---------------------------------------------------------------------------------------------- */

int accounts_manager_set(PGconn *conn, uint64_t worker_id, uint64_t manager_id, tsr_error_t *err)
{
    char worker[32], manager[32];
    snprintf(worker, sizeof(worker), "%" PRIu64, worker_id);
    snprintf(manager, sizeof(manager), "%" PRIu64, manager_id);
    const char *params[2] = {worker, manager_id ? manager : NULL};
    if (manager_id == worker_id)
        return tsr_error_set(err, TSR_E_UNPROCESSABLE, "invalid_manager", "manager_id",
                             "A worker cannot be their own line manager.");
    if (manager_id > INT64_MAX)
        return tsr_error_set(err, TSR_E_UNPROCESSABLE, "unknown_worker", "manager_id",
                             "There is no worker with id %s to be the line manager.", manager);
    if (manager_id != 0) {
        /* Two changes at once could each close half of a loop without seeing the other's half:
         * changes of manager take turns. */
        if (tsr_db_command(conn, "SELECT pg_advisory_xact_lock(hashtext('accounts.worker.manager'))", err) !=
            0)
            return -1;
        const char *by_id[1] = {manager};
        PGresult *res = tsr_db_exec(
            conn, "SELECT name, ended_at IS NOT NULL OR NOT active FROM workers WHERE id = $1::bigint", 1,
            by_id, err);
        if (res == NULL)
            return -1;
        int found = PQntuples(res) == 1, ended = found && strcmp(PQgetvalue(res, 0, 1), "t") == 0;
        char name[210] = "";
        if (found)
            snprintf(name, sizeof(name), "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        if (!found)
            return tsr_error_set(err, TSR_E_UNPROCESSABLE, "unknown_worker", "manager_id",
                                 "There is no worker with id %s to be the line manager.", manager);
        if (ended)
            return tsr_error_set(err, TSR_E_UNPROCESSABLE, "manager_account_ended", "manager_id",
                                 "%s's account has ended; choose an open account as the line manager.", name);
        res = tsr_db_exec(
            conn,
            "WITH RECURSIVE up (id) AS (SELECT $2::bigint UNION SELECT w.manager_id FROM workers w"
            " JOIN up ON w.id = up.id WHERE w.manager_id IS NOT NULL)"
            " SELECT 1 FROM up WHERE id = $1::bigint",
            2, params, err);
        if (res == NULL)
            return -1;
        int loop = PQntuples(res) > 0;
        PQclear(res);
        if (loop)
            return tsr_error_set(
                err, TSR_E_UNPROCESSABLE, "manager_loop", "manager_id",
                "%s is managed by this worker, directly or down the line, so cannot be their "
                "line manager.",
                name);
    }
    PGresult *res =
        tsr_db_exec(conn, "UPDATE workers SET manager_id = $2::bigint WHERE id = $1::bigint", 2, params, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * Third-party contracts
 * ---------------------------------------------------------------------------------------------- */

/* Whether the contract just written (its end_date) is over, as signing in would judge it. */
#define CHANGES_CONTRACT_OVER_SQL TSR_PREREQ_CONTRACT_OVER_SQL("end_date")

int accounts_contract_set(PGconn *conn, const char *worker_id, const Tsr__Accounts__WorkerContract *contract,
                          int new_account, tsr_error_t *err)
{
    const char *name = contract->name;
    if (tsr_text_trimmed_length(name) == 0)
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", "contract.name",
                             "Name the contract the account works under, e.g. the carers' service.");
    if (tsr_text_length(name) > 200 || tsr_text_has_control(name, 0))
        return tsr_error_set(err, TSR_E_INVALID, "invalid_text", "contract.name",
                             "A contract's name is one line of at most 200 characters.");
    if (contract->end_date[0] == '\0')
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", "contract.end_date",
                             "Give the contract's end date: the account stops working after it.");
    if (tsr_text_check_date(contract->end_date, 0, "contract.end_date", err) != 0)
        return -1;
    if (contract->n_person_ids > CHANGES_MAX_CONTRACT_PEOPLE)
        return tsr_error_set(err, TSR_E_INVALID, "too_many", "contract.person_ids",
                             "A contract can name at most %d cases.", CHANGES_MAX_CONTRACT_PEOPLE);
    size_t cap = 3 + contract->n_person_ids * 21;
    char *people = malloc(cap);
    if (people == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL,
                             "Out of memory recording a contract.");
    size_t used = (size_t)snprintf(people, cap, "{");
    for (size_t i = 0; i < contract->n_person_ids; i++) {
        if (contract->person_ids[i] == 0 || contract->person_ids[i] > INT64_MAX) {
            free(people);
            return tsr_error_set(err, TSR_E_INVALID, "invalid_id", "contract.person_ids",
                                 "Each of 'contract.person_ids' must be a person's id.");
        }
        used +=
            (size_t)snprintf(people + used, cap - used, "%s%" PRIu64, i ? "," : "", contract->person_ids[i]);
    }
    snprintf(people + used, cap - used, "}");
    char *trimmed = tsr_text_trim_dup(name);
    const char *params[4] = {worker_id, trimmed, contract->end_date, people};
    PGresult *res =
        tsr_db_exec(conn,
                    "INSERT INTO worker_contracts (worker_id, name, end_date, person_ids)"
                    " VALUES ($1::bigint, $2, $3::date, $4::bigint[])"
                    " ON CONFLICT (worker_id) DO UPDATE SET name = EXCLUDED.name,"
                    " end_date = EXCLUDED.end_date, person_ids = EXCLUDED.person_ids, changed_at = now()"
                    " RETURNING " CHANGES_CONTRACT_OVER_SQL ", to_char(end_date, 'DD/MM/YYYY')",
                    4, params, err);
    free(people);
    free(trimmed);
    if (res == NULL)
        return -1;
    int over = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    char shown[16];
    snprintf(shown, sizeof(shown), "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    if (over && new_account)
        return tsr_error_set(
            err, TSR_E_UNPROCESSABLE, "contract_ended", "contract.end_date",
            "The contract ended on %s; an account cannot start under a contract that is over.", shown);
    return 0;
}

int accounts_email_check(const char *email, const char *field, tsr_error_t *err)
{
    if (email[0] != '\0' && (strlen(email) > 254 || !tsr_text_is_email(email)))
        return tsr_error_set(err, TSR_E_INVALID, "invalid_email", field,
                             "Enter the worker's e-mail address in the form name@example.org.");
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * accounts.worker.update
 * ---------------------------------------------------------------------------------------------- */

int accounts_worker_update(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Accounts__WorkerUpdate *in = (const Tsr__Accounts__WorkerUpdate *)call->payload;
    if (tsr_actor_require_role(call->actor, accounts_administrators, "change workers' accounts", err) != 0)
        return -1;
    if (!in->set_roles && !in->set_teams && !in->set_manager && !in->set_managed_teams &&
        in->contract == NULL && !in->set_email)
        return tsr_error_set(
            err, TSR_E_INVALID, "nothing_to_change", NULL,
            "Send at least one of roles, teams, manager_id, managed_teams, contract or email.");
    if (in->set_email && accounts_email_check(in->email, "email", err) != 0)
        return -1;
    char id[32];
    snprintf(id, sizeof(id), "%" PRIu64, in->worker_id);
    if (in->worker_id > INT64_MAX)
        return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", NULL, "There is no worker with id %s.", id);
    const char *by_id[1] = {id};
    /* The row lock makes two changes to one worker take turns, so each publishes the account as it
     * stood after its own change, and the events follow in the order of the changes. */
    PGresult *res =
        tsr_db_exec(call->conn,
                    "SELECT name, ended_at IS NOT NULL OR NOT active, array_to_string(roles, ','),"
                    " EXISTS (SELECT 1 FROM worker_contracts c WHERE c.worker_id = w.id)"
                    " FROM workers w WHERE id = $1::bigint FOR UPDATE",
                    1, by_id, err);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", NULL, "There is no worker with id %s.", id);
    }
    char name[210];
    snprintf(name, sizeof(name), "%s", PQgetvalue(res, 0, 0));
    int ended = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    char held[1024]; /* at most 32 of the suite's role names */
    snprintf(held, sizeof(held), "%s", PQgetvalue(res, 0, 2));
    int third_party = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
    PQclear(res);
    if (ended)
        return tsr_error_set(err, TSR_E_CONFLICT, "account_ended", NULL,
                             "%s's account has ended, so it cannot be changed; someone returning needs a new "
                             "account.",
                             name);
    if (in->contract != NULL && !third_party)
        return tsr_error_set(
            err, TSR_E_UNPROCESSABLE, "not_third_party", "contract",
            "%s has a council account, which has no contract. For work under a contract, end "
            "this account and add a third-party one.",
            name);
    if (in->set_roles) {
        char *roles = NULL;
        if (accounts_roles_literal(call->actor, in->roles, in->n_roles, held, &roles, err) != 0)
            return -1;
        const char *params[2] = {id, roles};
        /* Seed 001: a change of role is asked for by the worker's senior or team manager and made by
         * system support; no one changes their own (the same roles again, in any order, change
         * nothing and pass). */
        if (in->worker_id == call->actor->worker_id && !tsr_actor_is_system(call->actor)) {
            res = tsr_db_exec(call->conn,
                              "SELECT roles @> $2::text[] AND roles <@ $2::text[] FROM workers"
                              " WHERE id = $1::bigint",
                              2, params, err);
            if (res == NULL) {
                free(roles);
                return -1;
            }
            int same = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
            PQclear(res);
            if (!same) {
                free(roles);
                return tsr_error_set(err, TSR_E_FORBIDDEN, "own_roles", "roles",
                                     "You cannot change your own roles: a change of role is asked for by "
                                     "your senior or team manager and made by another member of system "
                                     "support or an admin.");
            }
        }
        res = tsr_db_exec(call->conn, "UPDATE workers SET roles = $2::text[] WHERE id = $1::bigint", 2,
                          params, err);
        free(roles);
        if (res == NULL)
            return -1;
        PQclear(res);
    }
    if (in->set_teams && accounts_teams_set(call->conn, id, ACCOUNTS_TEAMS_MEMBER, in->teams, in->n_teams, 0,
                                            "teams", err) != 0)
        return -1;
    if (in->set_manager && accounts_manager_set(call->conn, in->worker_id, in->manager_id, err) != 0)
        return -1;
    if (in->set_managed_teams && accounts_teams_set(call->conn, id, ACCOUNTS_TEAMS_MANAGED, in->managed_teams,
                                                    in->n_managed_teams, 0, "managed_teams", err) != 0)
        return -1;
    if (in->contract != NULL && accounts_contract_set(call->conn, id, in->contract, 0, err) != 0)
        return -1;
    if (in->set_email) {
        const char *params[2] = {id, in->email};
        res = tsr_db_exec(call->conn, "UPDATE workers SET email = $2 WHERE id = $1::bigint", 2, params, err);
        if (res == NULL)
            return -1;
        PQclear(res);
    }
    if (accounts_account_publish(call, in->worker_id, err) != 0)
        return -1;
    return accounts_account_reply(call, in->worker_id, err);
}
