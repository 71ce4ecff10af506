#include "workers.h"

#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.pb-c.h"
#include "tsr_envelope.h"
#include "tsr_text.h"

#define PASSWORD_MIN 12
#define PASSWORD_MAX 200

/* The roles of the suite. What each may do is decided by the daemon that owns the data. */
static const char *const accounts_roles[] = {"admin",
                                             "system-support",
                                             "mash-admin",
                                             "mash-manager",
                                             "social-worker",
                                             "team-manager",
                                             "early-help-worker",
                                             "safeguarding-admin",
                                             "auditor",
                                             "head-of-service",
                                             "director",
                                             "business-information-admin",
                                             "emergency-duty",
                                             NULL};

int accounts_role_is_known(const char *role)
{
    for (const char *const *r = accounts_roles; *r != NULL; r++)
        if (strcmp(*r, role) == 0)
            return 1;
    return 0;
}

/* Roles come back from PostgreSQL as a text[] literal: {a,b,c} (our role names need no quoting). */
static size_t workers__split_roles(char *literal, char **out, size_t max)
{
    size_t n = 0;
    char *s = literal;
    if (*s == '{')
        s++;
    char *end = strrchr(s, '}');
    if (end)
        *end = '\0';
    for (char *tok = strtok(s, ","); tok && n < max; tok = strtok(NULL, ","))
        out[n++] = tok;
    return n;
}

/* Fills the reply with the worker's id, names, roles and teams. */
static int workers__reply(tsr_call_t *call, const char *worker_id, tsr_error_t *err)
{
    const char *params[1] = {worker_id};
    PGresult *w = tsr_db_exec(
        call->conn, "SELECT id, username, name, roles FROM workers WHERE id = $1::bigint", 1, params, err);
    if (w == NULL)
        return -1;
    PGresult *t = tsr_db_exec(call->conn,
                              "SELECT t.id, t.name FROM worker_teams wt JOIN teams t ON t.id = wt.team_id"
                              " WHERE wt.worker_id = $1::bigint ORDER BY t.name",
                              1, params, err);
    if (t == NULL) {
        PQclear(w);
        return -1;
    }
    Tsr__Accounts__Worker worker = TSR__ACCOUNTS__WORKER__INIT;
    worker.id = strtoull(PQgetvalue(w, 0, 0), NULL, 10);
    worker.username = PQgetvalue(w, 0, 1);
    worker.name = PQgetvalue(w, 0, 2);
    char *roles_literal = strdup(PQgetvalue(w, 0, 3));
    char *roles[32];
    worker.n_roles = roles_literal ? workers__split_roles(roles_literal, roles, 32) : 0;
    worker.roles = roles;
    int n_teams = PQntuples(t);
    Tsr__Accounts__Team *teams = calloc(n_teams ? (size_t)n_teams : 1, sizeof(*teams));
    Tsr__Accounts__Team **team_ptrs = calloc(n_teams ? (size_t)n_teams : 1, sizeof(*team_ptrs));
    for (int i = 0; teams && team_ptrs && i < n_teams; i++) {
        tsr__accounts__team__init(&teams[i]);
        teams[i].id = strtoull(PQgetvalue(t, i, 0), NULL, 10);
        teams[i].name = PQgetvalue(t, i, 1);
        team_ptrs[i] = &teams[i];
    }
    worker.n_teams = teams && team_ptrs ? (size_t)n_teams : 0;
    worker.teams = team_ptrs;
    tsr_call_reply(call, &worker.base);
    free(teams);
    free(team_ptrs);
    free(roles_literal);
    PQclear(w);
    PQclear(t);
    return 0;
}

/* A hash of nothing anyone knows, verified when the user does not exist, so that the answer takes
 * as long as for a real user. Made once per process. */
static char workers__decoy[crypto_pwhash_STRBYTES];
static pthread_once_t workers__decoy_once = PTHREAD_ONCE_INIT;

static void workers__make_decoy(void)
{
    char random_password[33];
    unsigned char raw[16];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(random_password, sizeof(random_password), raw, sizeof(raw));
    if (crypto_pwhash_str_alg(workers__decoy, random_password, strlen(random_password),
                              crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        workers__decoy[0] = '\0';
}

int accounts_authenticate(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Accounts__AuthenticateRequest *in = (const Tsr__Accounts__AuthenticateRequest *)call->payload;
    pthread_once(&workers__decoy_once, workers__make_decoy);
    if (in->username[0] == '\0' || in->password[0] == '\0')
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", in->username[0] ? "password" : "username",
                             "Enter your username and password.");
    char *username = tsr_text_trim_dup(in->username);
    for (char *p = username; p && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    const char *params[1] = {username};
    PGresult *res =
        tsr_db_exec(call->conn,
                    "SELECT id, password_hash, active, ended_at IS NOT NULL,"
                    " NOT risk_assessment_approved"
                    " AND (dbs_checked_on IS NULL OR dbs_checked_on <= current_date - interval '3 years'),"
                    " coalesce(to_char(dbs_checked_on, 'DD/MM/YYYY'), ''), training_completed_on IS NULL, "
                    "aup_signed_on IS NULL"
                    " FROM workers WHERE username = $1",
                    1, params, err);
    free(username);
    if (res == NULL)
        return -1;
    int found = PQntuples(res) > 0;
    const char *hash = found ? PQgetvalue(res, 0, 1) : workers__decoy;
    int verified = crypto_pwhash_str_verify(hash, in->password, strlen(in->password)) == 0;
    if (!found || !verified) {
        PQclear(res);
        return tsr_error_set(err, TSR_E_UNAUTHENTICATED, "invalid_credentials", NULL,
                             "The username or password is not right. Check them and try again.");
    }
    /* The password was right: now, and only now, say why the account may not be used. */
    int refused = 0;
    if (strcmp(PQgetvalue(res, 0, 3), "t") == 0 || strcmp(PQgetvalue(res, 0, 2), "t") != 0) {
        refused =
            tsr_error_set(err, TSR_E_FORBIDDEN, "account_ended", NULL,
                          "This account has ended. If you have moved role or returned, ask your manager to "
                          "request a new account from system support.");
    } else if (strcmp(PQgetvalue(res, 0, 4), "t") == 0) {
        if (PQgetvalue(res, 0, 5)[0] != '\0')
            refused =
                tsr_error_set(err, TSR_E_FORBIDDEN, "dbs_out_of_date", NULL,
                              "Your enhanced DBS check (dated %s) is more than 3 years old, so this account "
                              "cannot be used. Ask your manager to renew it, or to have HR approve a risk "
                              "assessment while the new check is pending.",
                              PQgetvalue(res, 0, 5));
        else
            refused = tsr_error_set(
                err, TSR_E_FORBIDDEN, "dbs_out_of_date", NULL,
                "No enhanced DBS check is recorded for you (they are renewed every 3 years), so "
                "this account cannot be used. Ask your manager to send it to system support.");
    } else if (strcmp(PQgetvalue(res, 0, 6), "t") == 0) {
        refused = tsr_error_set(
            err, TSR_E_FORBIDDEN, "training_not_done", NULL,
            "Your training in the system is not recorded as done; this account can be used once "
            "it is.");
    } else if (strcmp(PQgetvalue(res, 0, 7), "t") == 0) {
        refused =
            tsr_error_set(err, TSR_E_FORBIDDEN, "aup_not_signed", NULL,
                          "You have not signed the acceptable-use policy; this account can be used once you "
                          "have.");
    }
    if (refused != 0) {
        PQclear(res);
        return -1;
    }
    char id[32];
    snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    const char *by_id[1] = {id};
    res = tsr_db_exec(call->conn, "UPDATE workers SET last_login_at = now() WHERE id = $1::bigint", 1, by_id,
                      err);
    if (res == NULL)
        return -1;
    PQclear(res);
    return workers__reply(call, id, err);
}

static const char *const workers_administrators[] = {"admin", "system-support", "system", NULL};

/* Records a worker's prerequisites; each date must be a real date not in the future. */
static int accounts__set_prerequisites(tsr_call_t *call, const char *id,
                                       const Tsr__Accounts__WorkerPrerequisites *p, tsr_error_t *err)
{
    const char *dates[3][2] = {{p->dbs_checked_on, "dbs_checked_on"},
                               {p->training_completed_on, "training_completed_on"},
                               {p->aup_signed_on, "aup_signed_on"}};
    for (int i = 0; i < 3; i++) {
        if (dates[i][0][0] == '\0')
            continue;
        if (tsr_text_check_date(dates[i][0], 1, dates[i][1], err) != 0)
            return -1;
    }
    const char *params[5] = {id, p->dbs_checked_on[0] ? p->dbs_checked_on : NULL,
                             p->risk_assessment_approved ? "t" : "f",
                             p->training_completed_on[0] ? p->training_completed_on : NULL,
                             p->aup_signed_on[0] ? p->aup_signed_on : NULL};
    PGresult *res =
        tsr_db_exec(call->conn,
                    "UPDATE workers SET dbs_checked_on = $2::date, risk_assessment_approved = $3::boolean,"
                    " training_completed_on = $4::date, aup_signed_on = $5::date WHERE id = $1::bigint",
                    5, params, err);
    if (res == NULL)
        return -1;
    int updated = atoi(PQcmdTuples(res));
    PQclear(res);
    if (!updated)
        return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", NULL, "There is no worker with id %s.", id);
    return 0;
}

int accounts_worker_prerequisites(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Accounts__WorkerPrerequisites *in = (const Tsr__Accounts__WorkerPrerequisites *)call->payload;
    if (tsr_actor_require_role(call->actor, workers_administrators, "record access prerequisites", err) != 0)
        return -1;
    char id[32];
    snprintf(id, sizeof(id), "%" PRIu64, in->worker_id);
    if (accounts__set_prerequisites(call, id, in, err) != 0)
        return -1;
    return workers__reply(call, id, err);
}

/* Publishes the account as it now stands (accounts.worker.changed), in the caller's transaction:
 * the workflow and records daemons keep their copies of workers and teams from it. */
static int workers__emit_changed(tsr_call_t *call, const char *id, tsr_error_t *err)
{
    const char *params[1] = {id};
    PGresult *w = tsr_db_exec(call->conn,
                              "SELECT username, name, array_to_string(roles, E'\\n'), ended_at IS NOT NULL"
                              " FROM workers WHERE id = $1::bigint",
                              1, params, err);
    if (w == NULL)
        return -1;
    PGresult *t = tsr_db_exec(call->conn,
                              "SELECT t.id, t.name FROM worker_teams wt JOIN teams t ON t.id = wt.team_id"
                              " WHERE wt.worker_id = $1::bigint ORDER BY t.name",
                              1, params, err);
    if (t == NULL) {
        PQclear(w);
        return -1;
    }
    Tsr__Accounts__WorkerChanged ev = TSR__ACCOUNTS__WORKER_CHANGED__INIT;
    ev.worker_id = strtoull(id, NULL, 10);
    ev.username = PQgetvalue(w, 0, 0);
    ev.name = PQgetvalue(w, 0, 1);
    ev.ended = PQgetvalue(w, 0, 3)[0] == 't';
    char *roles_text = strdup(PQgetvalue(w, 0, 2));
    char *roles[64];
    size_t n_roles = 0;
    char *save = NULL;
    for (char *r = strtok_r(roles_text, "\n", &save); r && n_roles < 64; r = strtok_r(NULL, "\n", &save))
        roles[n_roles++] = r;
    ev.roles = roles;
    ev.n_roles = n_roles;
    size_t n_teams = (size_t)PQntuples(t);
    Tsr__Accounts__Team *teams = calloc(n_teams + 1, sizeof(*teams));
    Tsr__Accounts__Team **team_ptrs = calloc(n_teams + 1, sizeof(*team_ptrs));
    for (size_t i = 0; i < n_teams; i++) {
        tsr__accounts__team__init(&teams[i]);
        teams[i].id = strtoull(PQgetvalue(t, (int)i, 0), NULL, 10);
        teams[i].name = PQgetvalue(t, (int)i, 1);
        team_ptrs[i] = &teams[i];
    }
    ev.teams = team_ptrs;
    ev.n_teams = n_teams;
    int rc = tsr_call_emit(call, "accounts.worker.changed", &ev.base, err);
    free(roles_text);
    free(teams);
    free(team_ptrs);
    PQclear(w);
    PQclear(t);
    return rc;
}

int accounts_worker_end(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Accounts__WorkerEnd *in = (const Tsr__Accounts__WorkerEnd *)call->payload;
    if (tsr_actor_require_role(call->actor, workers_administrators, "end accounts", err) != 0)
        return -1;
    char id[32];
    snprintf(id, sizeof(id), "%" PRIu64, in->worker_id);
    const char *params[2] = {id, in->reason};
    PGresult *res = tsr_db_exec(call->conn,
                                "UPDATE workers SET ended_at = now(), ended_reason = $2, active = false"
                                " WHERE id = $1::bigint AND ended_at IS NULL RETURNING username",
                                2, params, err);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", NULL,
                             "There is no open account with worker id %s.", id);
    }
    /* The gateway ends the worker's sessions when it applies this event. */
    Tsr__Accounts__WorkerEnded ended = TSR__ACCOUNTS__WORKER_ENDED__INIT;
    ended.worker_id = in->worker_id;
    ended.username = PQgetvalue(res, 0, 0);
    int rc = tsr_call_emit(call, "accounts.worker.ended", &ended.base, err);
    PQclear(res);
    if (rc != 0 || workers__emit_changed(call, id, err) != 0)
        return -1;
    return workers__reply(call, id, err);
}

static int workers__validate_import(const Tsr__Accounts__WorkerImport *in, tsr_error_t *err)
{
    if (in->username[0] == '\0')
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", "username", "Enter the worker's username.");
    if (tsr_text_trimmed_length(in->name) == 0)
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", "name", "Enter the worker's name.");
    size_t pw = strlen(in->password);
    if (pw < PASSWORD_MIN || pw > PASSWORD_MAX)
        return tsr_error_set(err, TSR_E_INVALID, "weak_password", "password",
                             "A password must be from %d to %d characters long.", PASSWORD_MIN, PASSWORD_MAX);
    for (size_t i = 0; i < in->n_roles; i++)
        if (!accounts_role_is_known(in->roles[i]))
            return tsr_error_set(err, TSR_E_INVALID, "unknown_role", "roles",
                                 "'%s' is not a role of the suite.", in->roles[i]);
    return 0;
}

/* Roles as a text[] literal; role names are checked against the known list, so need no quoting. */
static char *workers__roles_literal(const Tsr__Accounts__WorkerImport *in)
{
    size_t len = 3;
    for (size_t i = 0; i < in->n_roles; i++)
        len += strlen(in->roles[i]) + 1;
    char *out = malloc(len);
    if (out == NULL)
        return NULL;
    strcpy(out, "{");
    for (size_t i = 0; i < in->n_roles; i++) {
        if (i > 0)
            strcat(out, ",");
        strcat(out, in->roles[i]);
    }
    strcat(out, "}");
    return out;
}

int accounts_worker_import(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Accounts__WorkerImport *in = (const Tsr__Accounts__WorkerImport *)call->payload;
    if (!tsr_actor_is_system(call->actor))
        return tsr_error_set(err, TSR_E_FORBIDDEN, "forbidden", NULL,
                             "Only the system's import jobs may add workers this way.");
    if (workers__validate_import(in, err) != 0)
        return -1;
    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(hash, in->password, strlen(in->password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return tsr_error_set(err, TSR_E_INTERNAL, "hash_failed", NULL, "The password could not be hashed.");
    char *roles = workers__roles_literal(in);
    if (roles == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory importing a worker.");
    char *name = tsr_text_trim_dup(in->name);
    const char *params[4] = {in->username, name, hash, roles};
    PGresult *res =
        tsr_db_exec(call->conn,
                    "INSERT INTO workers (username, name, password_hash, roles) VALUES ($1, $2, $3, $4)"
                    " ON CONFLICT (username) DO UPDATE SET name = EXCLUDED.name,"
                    " password_hash = EXCLUDED.password_hash, roles = EXCLUDED.roles RETURNING id",
                    4, params, err);
    free(roles);
    free(name);
    if (res == NULL) {
        if (strcmp(err->sqlstate, "23514") == 0)
            return tsr_error_set(
                err, TSR_E_INVALID, "invalid_username", "username",
                "A username is lower-case letters, digits, '.', '_' or '-', up to 64 characters.");
        return -1;
    }
    char id[32];
    snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    const char *by_id[1] = {id};
    res = tsr_db_exec(call->conn, "DELETE FROM worker_teams WHERE worker_id = $1::bigint", 1, by_id, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    if (in->prerequisites != NULL && accounts__set_prerequisites(call, id, in->prerequisites, err) != 0)
        return -1;
    for (size_t i = 0; i < in->n_teams; i++) {
        const char *team[2] = {id, in->teams[i]};
        res = tsr_db_exec(call->conn,
                          "WITH t AS (INSERT INTO teams (name) VALUES ($2) ON CONFLICT (name) DO UPDATE"
                          " SET name = EXCLUDED.name RETURNING id)"
                          " INSERT INTO worker_teams (worker_id, team_id) SELECT $1::bigint, id FROM t"
                          " ON CONFLICT DO NOTHING",
                          2, team, err);
        if (res == NULL)
            return -1;
        PQclear(res);
    }
    if (workers__emit_changed(call, id, err) != 0)
        return -1;
    return workers__reply(call, id, err);
}

int accounts_conflict_declare(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Accounts__ConflictDeclare *in = (const Tsr__Accounts__ConflictDeclare *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    /* Workers declare their own conflicts; system support records them on a worker's behalf. */
    uint64_t worker = in->worker_id ? in->worker_id : call->actor->worker_id;
    if (worker != call->actor->worker_id &&
        tsr_actor_require_role(call->actor, workers_administrators, "record another worker's conflicts",
                               err) != 0)
        return -1;
    if (in->person_id == 0)
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", "person_id", "Name the person you know.");
    if (tsr_text_trimmed_length(in->relationship) == 0)
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", "relationship",
                             "Say how you know them (family, friend, neighbour...).");
    char w[32], p[32], by[32];
    snprintf(w, sizeof(w), "%" PRIu64, worker);
    snprintf(p, sizeof(p), "%" PRIu64, in->person_id);
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    const char *params[4] = {w, p, in->relationship, by};
    PGresult *res =
        tsr_db_exec(call->conn,
                    "INSERT INTO conflicts (worker_id, person_id, relationship, recorded_by)"
                    " VALUES ($1::bigint, $2::bigint, $3, $4::bigint)"
                    " ON CONFLICT (worker_id, person_id) DO UPDATE SET relationship = EXCLUDED.relationship",
                    4, params, err);
    if (res == NULL) {
        if (strcmp(err->sqlstate, "23503") == 0)
            return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", "worker_id",
                                 "There is no worker with id %s.", w);
        return -1;
    }
    PQclear(res);
    Tsr__Accounts__ConflictDeclared ev = TSR__ACCOUNTS__CONFLICT_DECLARED__INIT;
    ev.worker_id = worker;
    ev.person_id = in->person_id;
    if (tsr_call_emit(call, "accounts.conflict.declared", &ev.base, err) != 0)
        return -1;
    return workers__reply(call, w, err);
}
