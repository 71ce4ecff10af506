#include "workers.h"

#include <inttypes.h>
#include <pthread.h>
#include <pwquality.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "accounts.pb-c.h"
#include "changes.h"
#include "notifications.pb-c.h"
#include "tsr_envelope.h"
#include "tsr_log.h"
#include "tsr_metrics.h"
#include "tsr_text.h"

#define PASSWORD_MIN 12
#define PASSWORD_MAX 200

/* The roles of the suite. What each may do is decided by the daemon that owns the data.
 * cpis-service is a machine account's: the spine poller's (CP-IS), which may only post notifications. */
static const char *const accounts_roles[] = {"admin",
                                             "system-support",
                                             "mash-admin",
                                             "mash-manager",
                                             "social-worker",
                                             "senior-practitioner",
                                             "team-manager",
                                             "early-help-worker",
                                             "safeguarding-admin",
                                             "auditor",
                                             "head-of-service",
                                             "director",
                                             "performance-analyst",
                                             "business-information-admin",
                                             "emergency-duty",
                                             "cpis-service",
                                             NULL};

/* The roles of machine accounts, each signing in with its own credential (the gateway lets one make
 * only its service's calls, sessions.c). An account whose every role is one of these is a service
 * account: its password is a generated secret of at least WORKERS_SERVICE_PASSWORD_MIN characters,
 * which no one finds by trying, so wrong passwords do not pause it (a stranger's could stop its
 * service: the CP-IS feed). The roles are tsr_envelope.h's TSR_SERVICE_ROLES, which account.h's
 * ACCOUNTS_SERVICE_ACCOUNT_SQL reads too. */
#define WORKERS_SERVICE_PASSWORD_MIN 32

/* Whether roles (n of them) make a service account: every one is in TSR_SERVICE_ROLES. */
static int workers__service_only(char *const *roles, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(roles[i]);
        int service = 0;
        for (const char *r = TSR_SERVICE_ROLES; !service && *r != '\0';) {
            size_t item = strcspn(r, ",");
            service = item == len && strncmp(r, roles[i], len) == 0;
            r += item + (r[item] == ',');
        }
        if (!service)
            return 0;
    }
    return n > 0;
}

/* A service account's password (service set) must be a generated secret: no pause guards it. */
static int workers__check_service_password(const char *password, int service, const char *field,
                                           tsr_error_t *err)
{
    if (!service || strlen(password) >= WORKERS_SERVICE_PASSWORD_MIN)
        return 0;
    return tsr_error_set(err, TSR_E_INVALID, "weak_password", field,
                         "A service account's password must be a generated secret of at least %d characters "
                         "(such as the output of 'openssl rand -base64 32'): wrong passwords do not pause a "
                         "service account, so its password must be one no one can find by trying.",
                         WORKERS_SERVICE_PASSWORD_MIN);
}

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
    PGresult *w = tsr_db_exec(call->conn,
                              "SELECT w.id, w.username, w.name, w.roles, coalesce(c.name, ''),"
                              " coalesce(to_char(c.end_date, 'YYYY-MM-DD'), ''),"
                              " coalesce(to_char(" ACCOUNTS_DBS_COVER_ENDS_SQL ", 'YYYY-MM-DD'), '')"
                              " FROM workers w LEFT JOIN worker_contracts c ON c.worker_id = w.id"
                              " WHERE w.id = $1::bigint",
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
    Tsr__Accounts__Worker worker = TSR__ACCOUNTS__WORKER__INIT;
    worker.id = strtoull(PQgetvalue(w, 0, 0), NULL, 10);
    worker.username = PQgetvalue(w, 0, 1);
    worker.name = PQgetvalue(w, 0, 2);
    worker.contract_name = PQgetvalue(w, 0, 4);
    worker.contract_end_date = PQgetvalue(w, 0, 5);
    worker.dbs_renewal_due = PQgetvalue(w, 0, 6);
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

/* Read once at start (accounts_configure). */
static long workers__sign_in_attempts = 10;
static long workers__pause_minutes = 15;
static tsr_metric_t *workers__failures_metric, *workers__pauses_metric, *workers__service_failures_metric;
/* libpwquality's checks (a dictionary word, a simple pattern, the username, too like the old one),
 * with the suite's minimum length. cracklib behind it keeps state between calls, so one check at a
 * time. */
static pwquality_settings_t *workers__pwquality;
static pthread_mutex_t workers__pwquality_lock = PTHREAD_MUTEX_INITIALIZER;

int accounts_configure(const tsr_config_t *config, tsr_error_t *err)
{
    if (tsr_config_get_long(config, "accounts.sign_in_attempts", 10, 1, 100, &workers__sign_in_attempts,
                            err) != 0)
        return -1;
    workers__failures_metric =
        tsr_metrics_counter("tessera_accounts_sign_in_failures_total",
                            "Sign-ins refused for a wrong username or password.", NULL);
    workers__pauses_metric = tsr_metrics_counter(
        "tessera_accounts_sign_in_pauses_total",
        "Usernames whose sign-in was paused after too many wrong passwords in a row.", NULL);
    workers__service_failures_metric = tsr_metrics_counter(
        "tessera_accounts_service_sign_in_failures_total",
        "Wrong passwords under service accounts, which do not pause them: a service given the wrong one, "
        "or someone trying to stop it.",
        NULL);
    if (tsr_config_get_long(config, "accounts.sign_in_pause_minutes", 15, 1, 1440, &workers__pause_minutes,
                            err) != 0)
        return -1;
    workers__pwquality = pwquality_default_settings();
    if (workers__pwquality == NULL ||
        pwquality_set_int_value(workers__pwquality, PWQ_SETTING_MIN_LENGTH, PASSWORD_MIN) != 0)
        return tsr_error_set(err, TSR_E_INTERNAL, "pwquality", NULL, "libpwquality could not be set up.");
    /* A word every dictionary has must fail its check; if the dictionary cannot be read, every
     * password would pass it, so the daemon does not start. */
    void *aux = NULL;
    char why[256] = "";
    int rc = pwquality_check(workers__pwquality, "international", NULL, NULL, &aux);
    if (rc == PWQ_ERROR_CRACKLIB_CHECK)
        pwquality_strerror(why, sizeof(why), rc, aux);
    if (rc >= 0 || strstr(why, "error loading dictionary") != NULL)
        return tsr_error_set(
            err, TSR_E_INTERNAL, "password_dictionary", NULL,
            "The password dictionary cannot be read (%s): install cracklib-runtime, which builds "
            "it in /var/cache/cracklib ('make deps' does).",
            rc >= 0 ? "'international' passed its check" : why);
    return 0;
}

/* A password's faults that libpwquality finds, as err (field named); 0 when none. old (or NULL)
 * is the password it replaces. */
static int workers__password_quality(const char *password, const char *old, const char *username,
                                     const char *field, tsr_error_t *err)
{
    void *aux = NULL;
    char why[256] = "";
    pthread_mutex_lock(&workers__pwquality_lock);
    int rc = pwquality_check(workers__pwquality, password, old, username[0] ? username : NULL, &aux);
    if (rc < 0)
        pwquality_strerror(why, sizeof(why), rc, aux);
    pthread_mutex_unlock(&workers__pwquality_lock);
    if (rc >= 0)
        return 0;
    return tsr_error_set(err, TSR_E_INVALID, "weak_password", field,
                         "Choose another password: %s. A few unrelated words together make a strong one.",
                         why);
}

/* A wrong password under username, counted (kept although the call is refused: commit_refusal);
 * the one that makes sign_in_attempts in a row pauses sign-in under it, unless the username is a
 * service account's with a generated secret (unpausable): its wrong passwords are counted, logged
 * at every sign_in_attempts in a row and counted in a metric of their own, and pause nothing. 1
 * when it paused, 0 when not, -1 with err when the count could not be kept. */
static int workers__password_failed(tsr_call_t *call, const char *username, int unpausable, tsr_error_t *err)
{
    char attempts[24], minutes[24];
    snprintf(attempts, sizeof(attempts), "%ld", workers__sign_in_attempts);
    snprintf(minutes, sizeof(minutes), "%ld", workers__pause_minutes);
    const char *params[4] = {username, attempts, minutes, unpausable ? "t" : "f"};
    /* Failures further apart than a pause are not in a row: the count starts again. */
    PGresult *res = tsr_db_exec(
        call->conn,
        "WITH counted AS (SELECT CASE WHEN last_failed_at IS NULL OR last_failed_at <"
        "   now() - make_interval(mins => $3::int) THEN 1 ELSE failures + 1 END AS n,"
        "   $4::boolean AS unpausable FROM sign_in_failures WHERE username = $1)"
        " UPDATE sign_in_failures f SET last_failed_at = now(),"
        "  failures = CASE WHEN c.n >= $2::int AND NOT c.unpausable THEN 0 ELSE c.n END,"
        "  locked_until = CASE WHEN c.n >= $2::int AND NOT c.unpausable"
        "   THEN now() + make_interval(mins => $3::int) ELSE f.locked_until END"
        " FROM counted c WHERE f.username = $1 RETURNING c.n >= $2::int AND NOT c.unpausable, c.n",
        4, params, err);
    if (res == NULL)
        return -1;
    int paused = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    long in_a_row = PQntuples(res) == 1 ? atol(PQgetvalue(res, 0, 1)) : 0;
    PQclear(res);
    call->commit_refusal = 1;
    tsr_metric_add(workers__failures_metric, 1);
    if (unpausable) {
        tsr_metric_add(workers__service_failures_metric, 1);
        if (in_a_row > 0 && in_a_row % workers__sign_in_attempts == 0)
            tsr_log_warn(call->trace_id,
                         "%ld wrong passwords in a row under service account '%.100s', which they do not "
                         "pause (its password is a generated secret): its service may have the wrong one, "
                         "or someone is trying to stop it",
                         in_a_row, username);
    }
    if (paused) {
        tsr_metric_add(workers__pauses_metric, 1);
        tsr_log_warn(
            call->trace_id,
            "sign-in under username '%.100s' paused for %ld minutes after %ld wrong passwords in a row",
            username, workers__pause_minutes, workers__sign_in_attempts);
    }
    return paused;
}

/* Takes username's row of wrong passwords for this transaction (attempts under one username are
 * judged one after another, so that many at once cannot all slip in before the count). 0; or -1
 * with err sign_in_paused while sign-in under it is paused (no password is then even checked). */
static int workers__password_turn(tsr_call_t *call, const char *username, tsr_error_t *err)
{
    const char *params[1] = {username};
    PGresult *res = tsr_db_exec(call->conn,
                                "INSERT INTO sign_in_failures (username) VALUES ($1) ON CONFLICT (username)"
                                " DO UPDATE SET username = EXCLUDED.username"
                                " RETURNING ceil(extract(epoch FROM locked_until - now()) / 60)::int",
                                1, params, err);
    if (res == NULL)
        return -1;
    int minutes = PQgetisnull(res, 0, 0) ? 0 : atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (minutes > 0)
        return tsr_error_set(
            err, TSR_E_FORBIDDEN, "sign_in_paused", NULL,
            "Signing in under this username is paused for %d more minute%s after too many wrong "
            "passwords in a row. Try again then; if it was not you trying, tell system support.",
            minutes, minutes == 1 ? "" : "s");
    return 0;
}

/* A right password: whatever went before under the username was not a guess that came near. */
static int workers__password_right(tsr_call_t *call, const char *username, tsr_error_t *err)
{
    const char *params[1] = {username};
    PGresult *res =
        tsr_db_exec(call->conn, "DELETE FROM sign_in_failures WHERE username = $1", 1, params, err);
    PQclear(res);
    return res ? 0 : -1;
}

int accounts_authenticate(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Accounts__AuthenticateRequest *in = (const Tsr__Accounts__AuthenticateRequest *)call->payload;
    pthread_once(&workers__decoy_once, workers__make_decoy);
    if (in->username[0] == '\0' || in->password[0] == '\0')
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", in->username[0] ? "password" : "username",
                             "Enter your username and password.");
    char *username = tsr_text_trim_dup(in->username);
    if (username == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    for (char *p = username; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    const char *params[1] = {username};
    if (workers__password_turn(call, username, err) != 0) {
        free(username);
        return -1;
    }
    /* The facts of a refusal from column 2; whether a service account's, and its password long, after. */
    PGresult *res = tsr_db_exec(call->conn,
                                "SELECT w.id, w.password_hash, " ACCOUNTS_REFUSAL_FACTS_SQL
                                ", " ACCOUNTS_SERVICE_ACCOUNT_SQL ", w.long_password"
                                " FROM workers w LEFT JOIN worker_contracts c ON c.worker_id = w.id"
                                " WHERE w.username = $1",
                                1, params, err);
    if (res == NULL) {
        free(username);
        return -1;
    }
    int found = PQntuples(res) > 0;
    const char *hash = found ? PQgetvalue(res, 0, 1) : workers__decoy;
    int verified = crypto_pwhash_str_verify(hash, in->password, strlen(in->password)) == 0;
    /* A service account whose password was set a generated secret is not paused: guessing it is no
     * risk, and a stranger's wrong passwords would otherwise stop its service. */
    int service = found && strcmp(PQgetvalue(res, 0, 2 + ACCOUNTS_REFUSAL_FACTS), "t") == 0;
    int unpausable = service && strcmp(PQgetvalue(res, 0, 3 + ACCOUNTS_REFUSAL_FACTS), "t") == 0;
    if (!found || !verified) {
        PQclear(res);
        int paused = workers__password_failed(call, username, unpausable, err);
        free(username);
        if (paused < 0)
            return -1;
        if (!paused)
            return tsr_error_set(err, TSR_E_UNAUTHENTICATED, "invalid_credentials", NULL,
                                 "The username or password is not right. Check them and try again.");
        return tsr_error_set(
            err, TSR_E_UNAUTHENTICATED, "invalid_credentials", NULL,
            "The username or password is not right. After %ld wrong passwords in a row, signing "
            "in under this username is paused for %ld minutes. If it was not you trying, tell "
            "system support.",
            workers__sign_in_attempts, workers__pause_minutes);
    }
    if (service && !unpausable)
        tsr_log_warn(call->trace_id,
                     "service account '%.100s' has a password shorter than %d characters, so wrong passwords "
                     "pause it as a worker's would, and a stranger can stop its service: set it a generated "
                     "secret (PUT /api/v1/workers/{id}/password)",
                     username, WORKERS_SERVICE_PASSWORD_MIN);
    int cleared = workers__password_right(call, username, err);
    free(username);
    if (cleared != 0) {
        PQclear(res);
        return -1;
    }
    /* The password was right: now, and only now, say why the account may not be used. */
    char words[ACCOUNTS_REFUSAL_WORDS_MAX];
    const char *code;
    if (accounts_refusal_words(res, 0, 2, words, sizeof(words), &code)) {
        tsr_error_set(err, TSR_E_FORBIDDEN, code, NULL, "%s", words);
        PQclear(res);
        return -1;
    }
    char id[32];
    snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    const char *by_id[1] = {id};
    res = tsr_db_exec(call->conn,
                      "UPDATE workers SET last_login_at = now() WHERE id = $1::bigint RETURNING username", 1,
                      by_id, err);
    if (res == NULL)
        return -1;
    Tsr__Accounts__WorkerSignedIn signed_in = TSR__ACCOUNTS__WORKER_SIGNED_IN__INIT;
    signed_in.worker_id = strtoull(id, NULL, 10);
    signed_in.username = PQgetvalue(res, 0, 0);
    int rc = tsr_call_emit(call, "accounts.worker.signed-in", &signed_in.base, err);
    PQclear(res);
    if (rc != 0)
        return -1;
    return workers__reply(call, id, err);
}

/* Records a worker's prerequisites; each date must be a real date not in the future. prefix goes
 * before the field named in an error ("prerequisites." when they are part of a new account). */
static int accounts__set_prerequisites(tsr_call_t *call, const char *id,
                                       const Tsr__Accounts__WorkerPrerequisites *p, const char *prefix,
                                       tsr_error_t *err)
{
    const char *dates[][2] = {{p->dbs_checked_on, "dbs_checked_on"},
                              {p->training_completed_on, "training_completed_on"},
                              {p->aup_signed_on, "aup_signed_on"},
                              {p->conflicts_declared_on, "conflicts_declared_on"}};
    for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
        if (dates[i][0][0] == '\0')
            continue;
        char field[64];
        snprintf(field, sizeof(field), "%s%s", prefix, dates[i][1]);
        if (tsr_text_check_date(dates[i][0], 1, field, err) != 0)
            return -1;
    }
    const char *lists = p->dbs_barred_lists;
    if (strcmp(lists, "") != 0 && strcmp(lists, "both") != 0 && strcmp(lists, "children") != 0 &&
        strcmp(lists, "adults") != 0) {
        char field[64];
        snprintf(field, sizeof(field), "%sdbs_barred_lists", prefix);
        return tsr_error_set(err, TSR_E_INVALID, "invalid_value", field,
                             "The barred lists the DBS check included are both, children or adults.");
    }
    if (p->returned_from_leave_on[0] != '\0') {
        char field[64];
        snprintf(field, sizeof(field), "%sreturned_from_leave_on", prefix);
        if (tsr_text_check_date(p->returned_from_leave_on, 1, field, err) != 0)
            return -1;
    }
    if (p->risk_assessment_approved_on[0] != '\0') {
        char field[64];
        snprintf(field, sizeof(field), "%srisk_assessment_approved_on", prefix);
        if (!p->risk_assessment_approved)
            return tsr_error_set(err, TSR_E_INVALID, "invalid_value", field,
                                 "A risk assessment's date goes with risk_assessment_approved: true.");
        if (tsr_text_check_date(p->risk_assessment_approved_on, 1, field, err) != 0)
            return -1;
    }
    const char *params[9] = {id,
                             p->dbs_checked_on[0] ? p->dbs_checked_on : NULL,
                             p->risk_assessment_approved ? "t" : "f",
                             p->training_completed_on[0] ? p->training_completed_on : NULL,
                             p->aup_signed_on[0] ? p->aup_signed_on : NULL,
                             lists,
                             p->returned_from_leave_on[0] ? p->returned_from_leave_on : NULL,
                             p->risk_assessment_approved_on[0] ? p->risk_assessment_approved_on : NULL,
                             p->conflicts_declared_on[0] ? p->conflicts_declared_on : NULL};
    /* A risk assessment recorded again without its date keeps the one it had: recording the set again
     * does not make an old approval new. */
    PGresult *res = tsr_db_exec(
        call->conn,
        "UPDATE workers SET dbs_checked_on = $2::date, risk_assessment_approved = $3::boolean,"
        " training_completed_on = $4::date, aup_signed_on = $5::date, dbs_barred_lists = $6,"
        " returned_from_leave_on = $7::date, risk_assessment_approved_on = CASE WHEN $3::boolean"
        "   THEN coalesce($8::date, CASE WHEN risk_assessment_approved THEN risk_assessment_approved_on END,"
        "   office_today()) END, conflicts_declared_on = $9::date WHERE id = $1::bigint",
        9, params, err);
    if (res == NULL)
        return -1;
    int updated = atoi(PQcmdTuples(res));
    PQclear(res);
    if (!updated)
        return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", NULL, "There is no worker with id %s.", id);
    /* For the audit trail: who recorded what, and whether the account may now be used (a DBS date
     * moved on re-opens an account, and leaves this). */
    const char *by_id[1] = {id};
    res = tsr_db_exec(
        call->conn,
        "SELECT w.username, " ACCOUNTS_STATE_SQL ","
        " coalesce(to_char(w.risk_assessment_approved_on, 'YYYY-MM-DD'), '')"
        " FROM workers w LEFT JOIN worker_contracts c ON c.worker_id = w.id WHERE w.id = $1::bigint",
        1, by_id, err);
    if (res == NULL)
        return -1;
    Tsr__Accounts__WorkerPrerequisites recorded = *p;
    recorded.worker_id = strtoull(id, NULL, 10);
    recorded.risk_assessment_approved_on = PQgetvalue(res, 0, 2);
    Tsr__Accounts__PrerequisitesRecorded ev = TSR__ACCOUNTS__PREREQUISITES_RECORDED__INIT;
    ev.prerequisites = &recorded;
    ev.username = PQgetvalue(res, 0, 0);
    ev.state = PQgetvalue(res, 0, 1);
    int rc = tsr_call_emit(call, "accounts.prerequisites.recorded", &ev.base, err);
    PQclear(res);
    return rc;
}

int accounts_worker_prerequisites(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Accounts__WorkerPrerequisites *in = (const Tsr__Accounts__WorkerPrerequisites *)call->payload;
    if (tsr_actor_require_role(call->actor, accounts_administrators, "record access prerequisites", err) != 0)
        return -1;
    char id[32];
    snprintf(id, sizeof(id), "%" PRIu64, in->worker_id);
    /* The update takes the worker's row lock; the account as it now stands goes to the gateway, which
     * refuses the calls of the worker's sessions while a prerequisite no longer holds: in the reply,
     * which it records before answering, and in the event. */
    if (accounts__set_prerequisites(call, id, in, "", err) != 0 ||
        accounts_account_publish(call, in->worker_id, err) != 0)
        return -1;
    return accounts_account_reply(call, in->worker_id, err);
}

int accounts_worker_end(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Accounts__WorkerEnd *in = (const Tsr__Accounts__WorkerEnd *)call->payload;
    if (tsr_actor_require_role(call->actor, accounts_administrators, "end accounts", err) != 0)
        return -1;
    char id[32];
    snprintf(id, sizeof(id), "%" PRIu64, in->worker_id);
    const char *params[2] = {id, in->reason};
    /* As with the admin role and an admin's password: only an admin answers for ending an admin's
     * account, which takes every role away for good (system support could otherwise remove the only
     * administrator). */
    PGresult *res = tsr_db_exec(call->conn,
                                "SELECT 'admin' = ANY (roles) FROM workers WHERE id = $1::bigint"
                                " AND ended_at IS NULL FOR UPDATE",
                                1, params, err);
    if (res == NULL)
        return -1;
    int target_admin = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (target_admin && !tsr_actor_has_role(call->actor, "admin") && !tsr_actor_is_system(call->actor))
        return tsr_error_set(err, TSR_E_FORBIDDEN, "forbidden", NULL,
                             "Only an admin may end an admin's account.");
    res = tsr_db_exec(call->conn,
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
    /* The gateway ends the worker's sessions from the reply, before it answers, and again when it
     * applies this event. */
    Tsr__Accounts__WorkerEnded ended = TSR__ACCOUNTS__WORKER_ENDED__INIT;
    ended.worker_id = in->worker_id;
    ended.username = PQgetvalue(res, 0, 0);
    ended.reason = in->reason;
    int rc = tsr_call_emit(call, "accounts.worker.ended", &ended.base, err);
    PQclear(res);
    if (rc != 0 || accounts_account_publish(call, in->worker_id, err) != 0)
        return -1;
    return accounts_account_reply(call, in->worker_id, err);
}

/* A new password's rules (a new account's, a change, a reset), named as field; old (or NULL) is the
 * password it replaces. */
static int workers__check_new_password(const char *password, const char *old, const char *username,
                                       const char *field, tsr_error_t *err)
{
    size_t n = strlen(password);
    if (n < PASSWORD_MIN || n > PASSWORD_MAX)
        return tsr_error_set(err, TSR_E_INVALID, "weak_password", field,
                             "A password must be from %d to %d characters long.", PASSWORD_MIN, PASSWORD_MAX);
    if (username[0] != '\0' && strcasestr(password, username) != NULL)
        return tsr_error_set(err, TSR_E_INVALID, "weak_password", field,
                             "A password must not contain the username.");
    return workers__password_quality(password, old, username, field, err);
}

/* Every fault of a new account's details, gathered in the form's order. */
static int workers__validate_import(const Tsr__Accounts__WorkerImport *in, tsr_error_t *err)
{
    tsr_error_clear(err);
    if (tsr_text_trimmed_length(in->name) == 0)
        tsr_error_add(err, TSR_E_INVALID, "missing_field", "name", "Enter the worker's name.");
    else if (tsr_text_length(in->name) > 200 || tsr_text_has_control(in->name, 0))
        tsr_error_add(err, TSR_E_INVALID, "invalid_text", "name",
                      "A worker's name is one line of at most 200 characters.");
    if (in->username[0] == '\0')
        tsr_error_add(err, TSR_E_INVALID, "missing_field", "username", "Enter the worker's username.");
    tsr_error_t one;
    if (accounts_email_check(in->email, "email", &one) != 0)
        tsr_error_gather(err, &one);
    int service = workers__service_only(in->roles, in->n_roles);
    if (workers__check_service_password(in->password, service, "password", &one) != 0 ||
        workers__check_new_password(in->password, NULL, in->username, "password", &one) != 0)
        tsr_error_gather(err, &one);
    return tsr_error_gathered(err);
}

/* Seed 002: staff joining or returning need an enhanced DBS check "still valid for 12 months": due
 * for renewal (every 3 years, tsr_prerequisites.h) no sooner than a year from today, about 2 years
 * old at most, unless HR has approved a risk assessment while a new check is pending. */
#define WORKERS_STARTER_DBS_DUE_SQL TSR_PREREQ_DBS_DUE_SQL("$1::date")
static int workers__check_starter_dbs(PGconn *conn, const Tsr__Accounts__WorkerPrerequisites *p,
                                      tsr_error_t *err)
{
    if (p != NULL && p->risk_assessment_approved)
        return 0;
    const char *dbs = p ? p->dbs_checked_on : "";
    if (dbs[0] == '\0')
        return tsr_error_set(err, TSR_E_UNPROCESSABLE, "dbs_required", "prerequisites.dbs_checked_on",
                             "A new account needs the date of the starter's enhanced DBS check, or an "
                             "HR-approved risk assessment while the check is pending.");
    if (tsr_text_check_date(dbs, 1, "prerequisites.dbs_checked_on", err) != 0)
        return -1;
    const char *params[1] = {dbs};
    PGresult *res = tsr_db_exec(
        conn,
        "SELECT " WORKERS_STARTER_DBS_DUE_SQL " < (office_today() + interval '1 year')::date,"
        " to_char($1::date, 'DD/MM/YYYY'), to_char(" WORKERS_STARTER_DBS_DUE_SQL ", 'DD/MM/YYYY')",
        1, params, err);
    if (res == NULL)
        return -1;
    int rc = 0;
    if (strcmp(PQgetvalue(res, 0, 0), "t") == 0)
        rc = tsr_error_set(
            err, TSR_E_UNPROCESSABLE, "dbs_too_old", "prerequisites.dbs_checked_on",
            "The enhanced DBS check dated %s is due for renewal on %s, less than 12 months from "
            "now; a starter's check must be valid for 12 months more (at most 2 years old). "
            "Renew it, or record an HR-approved risk assessment while the new check is pending.",
            PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
    PQclear(res);
    return rc;
}

/* The one way an account comes into being. The system's import (demo data, a legacy system's
 * accounts) states the whole account of a username, new or not, and brings teams with it; those
 * are existing staff, so the starter's DBS rule is not theirs. Admin and system support add a new
 * account only, under every rule of a starter. */
int accounts_worker_import(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Accounts__WorkerImport *in = (const Tsr__Accounts__WorkerImport *)call->payload;
    int system = tsr_actor_is_system(call->actor);
    if (!system &&
        tsr_actor_require_role(call->actor, accounts_administrators, "add workers' accounts", err) != 0)
        return -1;
    if (workers__validate_import(in, err) != 0)
        return -1;
    char *roles = NULL;
    if (accounts_roles_literal(call->actor, in->roles, in->n_roles, "", &roles, err) != 0)
        return -1;
    /* A service account is a machine's, held to no person's prerequisites (account.h). */
    if (!system && !workers__service_only(in->roles, in->n_roles) &&
        workers__check_starter_dbs(call->conn, in->prerequisites, err) != 0) {
        free(roles);
        return -1;
    }
    /* The system replacing an account with another password (the administrator's recovery, a
     * legacy import run again) ends the sessions opened with the old one, as a reset does. */
    int password_replaced = 0;
    if (system) {
        const char *by_name[1] = {in->username};
        PGresult *old =
            tsr_db_exec(call->conn,
                        "SELECT password_hash, id, ended_at IS NOT NULL OR NOT active FROM workers"
                        " WHERE username = $1 FOR UPDATE",
                        1, by_name, err);
        if (old == NULL) {
            free(roles);
            return -1;
        }
        /* An ended account is never opened again, nor changed (a leaver's account stays as it
         * ended): the account is answered as it stands, state ended, and the caller (the tool's
         * recovery of an administrator, a legacy import run again) says so. */
        if (PQntuples(old) == 1 && strcmp(PQgetvalue(old, 0, 2), "t") == 0) {
            uint64_t ended_id = strtoull(PQgetvalue(old, 0, 1), NULL, 10);
            PQclear(old);
            free(roles);
            tsr_log_info(call->trace_id, "account '%.64s' (worker %" PRIu64 ") has ended: left as it is",
                         in->username, ended_id);
            return accounts_account_reply(call, ended_id, err);
        }
        password_replaced =
            PQntuples(old) == 1 &&
            crypto_pwhash_str_verify(PQgetvalue(old, 0, 0), in->password, strlen(in->password)) != 0;
        PQclear(old);
    }
    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(hash, in->password, strlen(in->password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        free(roles);
        return tsr_error_set(err, TSR_E_INTERNAL, "hash_failed", NULL, "The password could not be hashed.");
    }
    char *name = tsr_text_trim_dup(in->name);
    const char *params[6] = {in->username, name,
                             hash,         roles,
                             in->email,    strlen(in->password) >= WORKERS_SERVICE_PASSWORD_MIN ? "t" : "f"};
    PGresult *res = tsr_db_exec(
        call->conn,
        system ? "INSERT INTO workers (username, name, password_hash, roles, email, long_password)"
                 " VALUES ($1, $2, $3, $4, $5, $6::boolean)"
                 " ON CONFLICT (username) DO UPDATE SET name = EXCLUDED.name,"
                 " password_hash = EXCLUDED.password_hash, roles = EXCLUDED.roles, email = EXCLUDED.email,"
                 " long_password = EXCLUDED.long_password RETURNING id"
               : "INSERT INTO workers (username, name, password_hash, roles, email, long_password)"
                 " VALUES ($1, $2, $3, $4, $5, $6::boolean) RETURNING id",
        6, params, err);
    sodium_memzero(hash, sizeof(hash));
    free(roles);
    free(name);
    if (res == NULL) {
        if (strcmp(err->sqlstate, "23505") == 0)
            return tsr_error_set(err, TSR_E_CONFLICT, "username_taken", "username",
                                 "The username '%.64s' is taken (perhaps by an account that has ended); "
                                 "choose another.",
                                 in->username);
        if (strcmp(err->sqlstate, "23514") == 0)
            return tsr_error_set(
                err, TSR_E_INVALID, "invalid_username", "username",
                "A username is lower-case letters, digits, '.', '_' or '-', up to 64 characters.");
        return -1;
    }
    char id[32];
    snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
    uint64_t worker_id = strtoull(id, NULL, 10);
    PQclear(res);
    /* A password set for the username ends a sign-in pause under it: the tool's recovery of an
     * administrator locked out (add-administrator again) signs in at once. */
    if (workers__password_right(call, in->username, err) != 0)
        return -1;
    if (password_replaced) {
        Tsr__Accounts__PasswordChanged changed = TSR__ACCOUNTS__PASSWORD_CHANGED__INIT;
        changed.worker_id = worker_id;
        if (tsr_call_emit(call, "accounts.password.changed", &changed.base, err) != 0)
            return -1;
    }
    if (accounts_teams_set(call->conn, id, ACCOUNTS_TEAMS_MEMBER, in->teams, in->n_teams, system, "teams",
                           err) != 0 ||
        accounts_teams_set(call->conn, id, ACCOUNTS_TEAMS_MANAGED, in->managed_teams, in->n_managed_teams,
                           system, "managed_teams", err) != 0)
        return -1;
    if (in->prerequisites != NULL &&
        accounts__set_prerequisites(call, id, in->prerequisites, "prerequisites.", err) != 0)
        return -1;
    if ((system || in->manager_id != 0) &&
        accounts_manager_set(call->conn, worker_id, in->manager_id, err) != 0)
        return -1;
    if (in->contract != NULL) {
        if (accounts_contract_set(call->conn, id, in->contract, !system, err) != 0)
            return -1;
    } else if (system) {
        const char *by_id[1] = {id};
        res = tsr_db_exec(call->conn, "DELETE FROM worker_contracts WHERE worker_id = $1::bigint", 1, by_id,
                          err);
        if (res == NULL)
            return -1;
        PQclear(res);
    }
    if (accounts_account_publish(call, worker_id, err) != 0)
        return -1;
    return accounts_account_reply(call, worker_id, err);
}

/* Seed 002: a conflict is declared "so that the case records can be restricted", and restricting a
 * record is system support's to do: they are told, in the web UI's notices (through the notifications
 * daemon, from the outbox in this transaction), with a link to the record and no one named. Not the
 * worker who declared it, whom the record is now kept from; once a worker and person, however often
 * the declaration is made again. */
static int workers__tell_support_of_conflict(tsr_call_t *call, uint64_t worker, uint64_t person,
                                             tsr_error_t *err)
{
    static char *support[] = {"system-support"};
    char link[48], key[80];
    snprintf(link, sizeof(link), "/people/%" PRIu64, person);
    snprintf(key, sizeof(key), "conflict-declared:%" PRIu64 ":%" PRIu64, worker, person);
    Tsr__Notifications__NoticeRequested notice = TSR__NOTIFICATIONS__NOTICE_REQUESTED__INIT;
    notice.roles = support;
    notice.n_roles = 1;
    notice.except_worker_id = worker;
    notice.kind = (char *)"conflict-of-interest-declared";
    notice.title =
        (char *)"A worker declared a conflict of interest with this record: consider restricting it";
    notice.link = link;
    notice.dedupe_key = key;
    return tsr_call_emit(call, "accounts.notice.requested", &notice.base, err);
}

int accounts_conflict_declare(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Accounts__ConflictDeclare *in = (const Tsr__Accounts__ConflictDeclare *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    /* Workers declare their own conflicts; system support records them on a worker's behalf. */
    uint64_t worker = in->worker_id ? in->worker_id : call->actor->worker_id;
    if (worker != call->actor->worker_id &&
        tsr_actor_require_role(call->actor, accounts_administrators, "record another worker's conflicts",
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
    if (tsr_call_emit(call, "accounts.conflict.declared", &ev.base, err) != 0 ||
        workers__tell_support_of_conflict(call, worker, in->person_id, err) != 0)
        return -1;
    return workers__reply(call, w, err);
}

/* ------------------------------------------------------------------------------------------------
 * Passwords: a worker's own change, and support's reset of a forgotten one
 * ---------------------------------------------------------------------------------------------- */

/* Stores password's hash for worker_id and tells the gateway to end the worker's sessions but
 * keep_session (0: all). */
static int workers__store_password(tsr_call_t *call, uint64_t worker_id, const char *password,
                                   uint64_t keep_session, tsr_error_t *err)
{
    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return tsr_error_set(err, TSR_E_INTERNAL, "hash_failed", NULL, "The password could not be hashed.");
    char id[24];
    snprintf(id, sizeof(id), "%" PRIu64, worker_id);
    const char *params[3] = {id, hash, strlen(password) >= WORKERS_SERVICE_PASSWORD_MIN ? "t" : "f"};
    PGresult *res = tsr_db_exec(call->conn,
                                "UPDATE workers SET password_hash = $2, long_password = $3::boolean"
                                " WHERE id = $1::bigint",
                                3, params, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    Tsr__Accounts__PasswordChanged ev = TSR__ACCOUNTS__PASSWORD_CHANGED__INIT;
    ev.worker_id = worker_id;
    ev.keep_session_id = keep_session;
    return tsr_call_emit(call, "accounts.password.changed", &ev.base, err);
}

int accounts_password_change(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Accounts__PasswordChange *in = (const Tsr__Accounts__PasswordChange *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    char id[24];
    snprintf(id, sizeof(id), "%" PRIu64, call->actor->worker_id);
    const char *params[1] = {id};
    PGresult *res =
        tsr_db_exec(call->conn,
                    "SELECT w.username, w.password_hash, " ACCOUNTS_SERVICE_ACCOUNT_SQL ","
                    " w.long_password FROM workers w WHERE w.id = $1::bigint AND w.ended_at IS NULL",
                    1, params, err);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return tsr_error_set(err, TSR_E_FORBIDDEN, "account_ended", NULL, "This account has ended.");
    }
    char username[256], hash[crypto_pwhash_STRBYTES];
    snprintf(username, sizeof(username), "%s", PQgetvalue(res, 0, 0));
    snprintf(hash, sizeof(hash), "%s", PQgetvalue(res, 0, 1));
    int service = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
    int unpausable = service && strcmp(PQgetvalue(res, 0, 3), "t") == 0;
    PQclear(res);
    /* The current password is a sign-in's: a wrong one counts towards the pause, so that a session
     * left open cannot be used to guess it. */
    if (workers__password_turn(call, username, err) != 0)
        return -1;
    if (crypto_pwhash_str_verify(hash, in->current_password, strlen(in->current_password)) != 0) {
        int paused = workers__password_failed(call, username, unpausable, err);
        if (paused < 0)
            return -1;
        if (!paused)
            return tsr_error_set(err, TSR_E_INVALID, "wrong_password", "current_password",
                                 "Your current password is not right.");
        return tsr_error_set(
            err, TSR_E_INVALID, "wrong_password", "current_password",
            "Your current password is not right, and after %ld wrong passwords in a row signing in "
            "under your username is paused for %ld minutes.",
            workers__sign_in_attempts, workers__pause_minutes);
    }
    if (strcmp(in->new_password, in->current_password) == 0)
        return tsr_error_set(err, TSR_E_INVALID, "same_password", "new_password",
                             "The new password is the current one: choose another.");
    if (workers__check_service_password(in->new_password, service, "new_password", err) != 0 ||
        workers__check_new_password(in->new_password, in->current_password, username, "new_password", err) !=
            0)
        return -1;
    if (workers__password_right(call, username, err) != 0 ||
        workers__store_password(call, call->actor->worker_id, in->new_password, in->keep_session_id, err) !=
            0)
        return -1;
    return workers__reply(call, id, err);
}

int accounts_password_reset(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Accounts__PasswordReset *in = (const Tsr__Accounts__PasswordReset *)call->payload;
    if (tsr_actor_require_role(call->actor, accounts_administrators, "reset workers' passwords", err) != 0)
        return -1;
    char id[24];
    snprintf(id, sizeof(id), "%" PRIu64, in->worker_id);
    const char *params[1] = {id};
    PGresult *res = tsr_db_exec(call->conn,
                                "SELECT w.username, 'admin' = ANY (w.roles), " ACCOUNTS_SERVICE_ACCOUNT_SQL
                                " FROM workers w WHERE w.id = $1::bigint AND w.ended_at IS NULL FOR UPDATE",
                                1, params, err);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", NULL,
                             "There is no open account with worker id %s.", id);
    }
    char username[256];
    snprintf(username, sizeof(username), "%s", PQgetvalue(res, 0, 0));
    int target_admin = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    int service = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
    PQclear(res);
    /* As with the admin role itself: only an admin answers for an admin's password. */
    if (target_admin && !tsr_actor_has_role(call->actor, "admin") && !tsr_actor_is_system(call->actor))
        return tsr_error_set(err, TSR_E_FORBIDDEN, "forbidden", NULL,
                             "Only an admin may reset an admin's password.");
    if (workers__check_service_password(in->new_password, service, "new_password", err) != 0 ||
        workers__check_new_password(in->new_password, NULL, username, "new_password", err) != 0)
        return -1;
    /* A reset lifts a pause too: support have just spoken to the worker. */
    if (workers__password_right(call, username, err) != 0 ||
        workers__store_password(call, in->worker_id, in->new_password, 0, err) != 0)
        return -1;
    tsr_log_info(call->trace_id, "password of worker %s reset by worker %" PRIu64, id,
                 call->actor->worker_id);
    return workers__reply(call, id, err);
}

int accounts_sign_in_unpause(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Accounts__SignInUnpause *in = (const Tsr__Accounts__SignInUnpause *)call->payload;
    if (tsr_actor_require_role(call->actor, accounts_administrators, "lift sign-in pauses", err) != 0)
        return -1;
    char id[24];
    snprintf(id, sizeof(id), "%" PRIu64, in->worker_id);
    const char *params[1] = {id};
    PGresult *res =
        tsr_db_exec(call->conn,
                    "WITH w AS (SELECT username FROM workers WHERE id = $1::bigint),"
                    " lifted AS (DELETE FROM sign_in_failures f USING w WHERE f.username = w.username"
                    "   AND f.locked_until > now() RETURNING 1)"
                    " SELECT (SELECT count(*) FROM w), (SELECT count(*) FROM lifted)",
                    1, params, err);
    if (res == NULL)
        return -1;
    int found = strcmp(PQgetvalue(res, 0, 0), "0") != 0, lifted = strcmp(PQgetvalue(res, 0, 1), "0") != 0;
    PQclear(res);
    if (!found)
        return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", NULL, "There is no worker %s.", id);
    if (!lifted)
        return tsr_error_set(err, TSR_E_CONFLICT, "not_paused", NULL,
                             "Signing in is not paused for worker %s: there is nothing to lift.", id);
    tsr_log_info(call->trace_id, "sign-in pause of worker %s lifted by worker %" PRIu64, id,
                 call->actor->worker_id);
    /* For the audit trail: who let the worker back in. */
    Tsr__Accounts__SignInUnpause ev = TSR__ACCOUNTS__SIGN_IN_UNPAUSE__INIT;
    ev.worker_id = in->worker_id;
    if (tsr_call_emit(call, "accounts.sign_in.unpaused", &ev.base, err) != 0)
        return -1;
    return accounts_account_reply(call, in->worker_id, err);
}
