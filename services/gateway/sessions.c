/* sessions: signing in and out, and finding the worker behind a bearer token. The gateway keeps
 * only a hash of each token; accounts checks the password. */
#include <inttypes.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.pb-c.h"
#include "gateway.h"
#include "tsr_envelope.h"
#include "tsr_log.h"
#include "tsr_prerequisites.h"
#include "tsr_text.h"

#define SESSION_TOKEN_BYTES 32

/* Read once at start (gw_sessions_configure). */
static long session_cache_ms = 1000;
static long session_ttl_s = 28800;
static long session_keep_days = 30;

int gw_sessions_configure(const tsr_config_t *config, tsr_error_t *err)
{
    if (tsr_config_get_long(config, "gateway.session_ttl_s", 28800, 60, 7 * 86400, &session_ttl_s, err) !=
            0 ||
        tsr_config_get_long(config, "gateway.session_keep_days", 30, 1, 3650, &session_keep_days, err) != 0)
        return -1;
    return tsr_config_get_long(config, "gateway.session_cache_ms", 1000, 0, 10000, &session_cache_ms, err);
}

int gw_sessions_forget(PGconn *conn, void *arg, tsr_error_t *err)
{
    (void)arg;
    /* A session stops at its sign-out or its expiry, whichever came first (least passes over a NULL). */
    long gone = tsr_db_delete_past(
        conn,
        "DELETE FROM sessions WHERE least(ended_at, expires_at) < now() - make_interval(days => $1::int)",
        session_keep_days, err);
    if (gone < 0)
        return -1;
    if (gone > 0)
        tsr_log_info(NULL, "forgot %ld sessions that stopped more than %ld days ago", gone,
                     session_keep_days);
    return 0;
}

static void session__hash(const char *token, char out[65])
{
    unsigned char hash[32];
    crypto_generichash(hash, sizeof(hash), (const unsigned char *)token, strlen(token), NULL, 0);
    sodium_bin2hex(out, 65, hash, sizeof(hash));
}

/* ------------------------------------------------------------------------------------------------
 * Signing in: accounts checks the password, then the session is stored here
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    gw_call_t *call;
    Tsr__Accounts__Worker *worker;
    char token[64];
    char hash[65];
    long ttl_s;
} session_new_t;

static int session__insert(PGconn *conn, void *arg, tsr_error_t *err)
{
    session_new_t *s = arg;
    Tsr__Accounts__Worker *w = s->worker;
    char id[32], ttl[32];
    snprintf(id, sizeof(id), "%" PRIu64, w->id);
    snprintf(ttl, sizeof(ttl), "%ld", s->ttl_s);
    json_t *roles = json_array(), *teams = json_array(), *team_names = json_array();
    for (size_t i = 0; i < w->n_roles; i++)
        json_array_append_new(roles, json_string(w->roles[i]));
    for (size_t i = 0; i < w->n_teams; i++) {
        json_array_append_new(teams, json_integer((json_int_t)w->teams[i]->id));
        json_array_append_new(team_names, json_string(w->teams[i]->name));
    }
    char *roles_text = json_dumps(roles, JSON_COMPACT);
    char *teams_text = json_dumps(teams, JSON_COMPACT);
    char *team_names_text = json_dumps(team_names, JSON_COMPACT);
    json_decref(roles);
    json_decref(teams);
    json_decref(team_names);
    const char *params[11] = {s->hash,
                              id,
                              w->username,
                              w->name,
                              roles_text,
                              teams_text,
                              ttl,
                              team_names_text,
                              w->contract_end_date[0] ? w->contract_name : NULL,
                              w->contract_end_date[0] ? w->contract_end_date : NULL,
                              w->dbs_renewal_due[0] ? w->dbs_renewal_due : NULL};
    PGresult *res = tsr_db_exec(
        conn,
        "INSERT INTO sessions (token_hash, worker_id, username, display_name, roles, team_ids, expires_at,"
        " team_names, contract_name, contract_end_date, dbs_renewal_due) VALUES (decode($1, 'hex'),"
        " $2::bigint, $3, $4, ARRAY(SELECT jsonb_array_elements_text($5::jsonb)),"
        " ARRAY(SELECT jsonb_array_elements_text($6::jsonb)::bigint),"
        " now() + make_interval(secs => $7::int), ARRAY(SELECT jsonb_array_elements_text($8::jsonb)),"
        " $9, $10::date, $11::date)",
        11, params, err);
    free(roles_text);
    free(teams_text);
    free(team_names_text);
    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

static void session__inserted(void *arg, int rc, const tsr_error_t *err)
{
    session_new_t *s = arg;
    gw_call_t *call = s->call;
    if (rc != 0) {
        gw_reply_error(call, err);
    } else {
        Tsr__Accounts__Worker *w = s->worker;
        json_t *roles = json_array(), *teams = json_array();
        for (size_t i = 0; i < w->n_roles; i++)
            json_array_append_new(roles, json_string(w->roles[i]));
        for (size_t i = 0; i < w->n_teams; i++)
            json_array_append_new(
                teams, json_pack("{s:o, s:s}", "id", gw_json_id(w->teams[i]->id), "name", w->teams[i]->name));
        json_t *worker = json_pack("{s:o, s:s, s:s, s:o, s:o}", "id", gw_json_id(w->id), "name", w->name,
                                   "username", w->username, "roles", roles, "teams", teams);
        gw_reply_json(call, 201, json_pack("{s:s, s:o}", "token", s->token, "worker", worker));
    }
    tsr__accounts__worker__free_unpacked(s->worker, NULL);
    sodium_memzero(s->token, sizeof(s->token));
    free(s);
}

static void session__authenticated(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                   const tsr_error_t *err)
{
    (void)daemon;
    if (err != NULL) {
        gw_reply_error(call, err);
        return;
    }
    Tsr__Accounts__Worker *worker =
        tsr__accounts__worker__unpack(NULL, reply->payload.len, reply->payload.data);
    session_new_t *s = calloc(1, sizeof(*s));
    if (worker == NULL || s == NULL) {
        if (worker)
            tsr__accounts__worker__free_unpacked(worker, NULL);
        free(s);
        gw_fail(call, TSR_E_INTERNAL, "internal", NULL, "The sign-in could not be completed; try again.");
        return;
    }
    unsigned char raw[SESSION_TOKEN_BYTES];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(s->token, sizeof(s->token), raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
    session__hash(s->token, s->hash);
    s->call = call;
    s->worker = worker;
    s->ttl_s = session_ttl_s;
    if (tsr_daemon_txn(gateway_daemon(call->gateway), session__insert, session__inserted, s) != 0) {
        tsr__accounts__worker__free_unpacked(worker, NULL);
        free(s);
        gw_fail(call, TSR_E_UNAVAILABLE, "shutting_down", NULL,
                "The service is shutting down; try again shortly.");
    }
}

void gw_session_begin(gw_call_t *call)
{
    static const char *const fields[] = {"username", "password", NULL};
    const char *username, *password;
    if (gw_json_check_object(call, fields) != 0 || gw_json_string(call, "username", 1, &username) != 0 ||
        gw_json_string(call, "password", 1, &password) != 0)
        return;
    Tsr__Accounts__AuthenticateRequest req = TSR__ACCOUNTS__AUTHENTICATE_REQUEST__INIT;
    req.username = (char *)username;
    req.password = (char *)password;
    /* Argon2id takes a while by design: give accounts longer than an ordinary call. */
    gw_call_daemon_timeout(call, "accounts", "accounts.authenticate", &req.base, 15000,
                           session__authenticated);
}

/* ------------------------------------------------------------------------------------------------
 * Finding the session of a request
 * ---------------------------------------------------------------------------------------------- */

/* The session and worker a token stands for, as found: what a call's actor is made from. */
typedef struct {
    uint64_t id, worker_id;
    char *username, *name, *roles, *teams, *team_names;
} session_worker_t;

static void session__worker_free(session_worker_t *w)
{
    free(w->username);
    free(w->name);
    free(w->roles);
    free(w->teams);
    free(w->team_names);
    memset(w, 0, sizeof(*w));
}

/* A copy of from in to (empty before); 0, or -1 out of memory with to left empty. */
static int session__worker_copy(session_worker_t *to, const session_worker_t *from)
{
    memset(to, 0, sizeof(*to));
    if (!from->username || !from->name || !from->roles || !from->teams || !from->team_names)
        return -1;
    *to = (session_worker_t){from->id,
                             from->worker_id,
                             strdup(from->username),
                             strdup(from->name),
                             strdup(from->roles),
                             strdup(from->teams),
                             strdup(from->team_names)};
    if (to->username && to->name && to->roles && to->teams && to->team_names)
        return 0;
    session__worker_free(to);
    return -1;
}

typedef struct {
    gw_call_t *call;
    int64_t began_ms;
    int found;
    session_worker_t w;
    /* Why the account may not be used now, as signing in would say ("" when it may): a third
     * party's contract over, or an access prerequisite that no longer holds. */
    char refusal[32];
    char contract_name[210];
    char contract_end[16];
    char dbs_due[16];
    /* A lapsed prerequisite's refusal in accounts' words, those signing in answers with. */
    char words[512];
} session_lookup_t;

/* Sessions found lately, so that a worker's next calls within gateway.session_cache_ms (1 s by default;
 * 0 turns it off) cost the database nothing: on a busy front door the lookup was a thread hop and a
 * round trip for every call. Touched on the loop thread only. Any change that could end a session or
 * alter what it may do (an account change or a leaver applied, a sign-out) moves the generation on,
 * which empties the cache at once; and a lookup that began within the cache's time of such a change
 * is not kept, in case it read the account before the change committed. So what a call is allowed
 * is never older than the cache's time. */
#define SESSION_CACHE_SLOTS 512
typedef struct {
    char token_hash[65];
    uint64_t generation;
    int64_t until_ms;
    session_worker_t w;
} session_cached_t;

static session_cached_t session_cache[SESSION_CACHE_SLOTS];
static atomic_uint_fast64_t session_generation = 1;
static atomic_int_fast64_t session_changed_at_ms;

/* Called from any thread: an account was changed or a session ended. */
static void session__cache_forget_all(void)
{
    atomic_store(&session_changed_at_ms, tsr_now_ms());
    atomic_fetch_add(&session_generation, 1);
}

/* The token's slot, from the first 32 bits of its hash (a SHA-256, in hex: evenly spread). */
static session_cached_t *session__cache_slot(const char *token_hash)
{
    char prefix[9];
    memcpy(prefix, token_hash, 8);
    prefix[8] = '\0';
    return &session_cache[strtoul(prefix, NULL, 16) % SESSION_CACHE_SLOTS];
}

static void session__cache_clear_slot(session_cached_t *c)
{
    session__worker_free(&c->w);
    memset(c, 0, sizeof(*c));
}

/* Keeps a session just found, unless it was looked up within the cache's time of a change. The
 * generation is read before the time of the last change: a change made meanwhile either shows in
 * that time (and nothing is kept) or moved the generation on after it was read (and what is kept is
 * already out of date). */
static void session__cache_keep(const session_lookup_t *s)
{
    uint64_t generation = atomic_load(&session_generation);
    if (session_cache_ms == 0 || s->began_ms < atomic_load(&session_changed_at_ms) + session_cache_ms)
        return;
    session_cached_t *c = session__cache_slot(s->call->token_hash);
    session__cache_clear_slot(c);
    if (session__worker_copy(&c->w, &s->w) != 0)
        return;
    snprintf(c->token_hash, sizeof(c->token_hash), "%s", s->call->token_hash);
    c->generation = generation;
    c->until_ms = s->began_ms + session_cache_ms;
}

/* Fills s from the cache: 1 when the session was there and is still good to use. */
static int session__cache_find(session_lookup_t *s)
{
    session_cached_t *c = session__cache_slot(s->call->token_hash);
    if (c->token_hash[0] == '\0' || strcmp(c->token_hash, s->call->token_hash) != 0)
        return 0;
    if (c->generation != atomic_load(&session_generation) || tsr_now_ms() >= c->until_ms) {
        session__cache_clear_slot(c);
        return 0;
    }
    s->found = session__worker_copy(&s->w, &c->w) == 0;
    return s->found;
}

/* A session's account is judged by the days accounts published of it (x below), reckoned as accounts
 * reckons them when it refuses a sign-in (tsr_prerequisites.h): the two stop on the same day. */
#define SESSION_CONTRACT_OVER_SQL TSR_PREREQ_CONTRACT_OVER_SQL("x.end_date")
#define SESSION_DBS_DUE_HAS_COME_SQL TSR_PREREQ_HAS_COME_SQL("x.dbs_due")
/* Whether accounts last announced the account (a) with a prerequisite recorded as lapsed. */
#define SESSION_LAPSED_SQL                                                                                   \
    "a.state IN ('dbs_out_of_date', 'dbs_barred_list_missing', 'training_not_done', 'aup_not_signed',"       \
    " 'conflicts_not_declared')"

static int session__lookup(PGconn *conn, void *arg, tsr_error_t *err)
{
    session_lookup_t *s = arg;
    const char *params[1] = {s->call->token_hash};
    /* A read on every request; last_seen_at (what idle expiry and the dormant-accounts audit use)
     * is written at most once a minute, so that most requests cost the database no commit.
     * The worker's roles, teams and contract are the account's as last heard from accounts
     * (worker_accounts), or the sign-in's when nothing has been heard since. A contract's end is
     * checked here, on use, against today's date: nothing has to happen on the day for a
     * third-party session to stop. So are the access prerequisites (seed 002): a lapse recorded by
     * system support (the account's state), and the day the DBS check runs out. */
    PGresult *res = tsr_db_exec(
        conn,
        "SELECT s.id, s.worker_id, s.username, coalesce(a.display_name, s.display_name),"
        " array_to_string(coalesce(a.roles, s.roles), E'\\n'),"
        " array_to_string(coalesce(a.team_ids, s.team_ids), ','),"
        " s.last_seen_at < now() - interval '1 minute',"
        " array_to_string(coalesce(a.team_names, s.team_names), E'\\n'),"
        " CASE WHEN " SESSION_CONTRACT_OVER_SQL " THEN 'contract_ended'"
        "  WHEN " SESSION_LAPSED_SQL " THEN a.state"
        "  WHEN " SESSION_DBS_DUE_HAS_COME_SQL " THEN 'dbs_out_of_date' ELSE '' END,"
        " coalesce(x.name, ''), coalesce(to_char(x.end_date, 'DD/MM/YYYY'), ''),"
        " coalesce(to_char(x.dbs_due, 'DD/MM/YYYY'), ''), CASE WHEN " SESSION_LAPSED_SQL " THEN a.refusal"
        "  ELSE '' END"
        " FROM sessions s LEFT JOIN worker_accounts a ON a.worker_id = s.worker_id,"
        " LATERAL (SELECT CASE WHEN a.worker_id IS NULL THEN s.contract_name ELSE a.contract_name END,"
        "                 CASE WHEN a.worker_id IS NULL THEN s.contract_end_date ELSE a.contract_end_date "
        "END,"
        "                 CASE WHEN a.worker_id IS NULL THEN s.dbs_renewal_due ELSE a.dbs_renewal_due END)"
        "  AS x (name, end_date, dbs_due)"
        " WHERE s.token_hash = decode($1, 'hex') AND s.ended_at IS NULL AND s.expires_at > now()"
        "   AND NOT coalesce(a.ended, false)",
        1, params, err);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 1) {
        s->found = 1;
        s->w.id = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        s->w.worker_id = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
        s->w.username = strdup(PQgetvalue(res, 0, 2));
        s->w.name = strdup(PQgetvalue(res, 0, 3));
        s->w.roles = strdup(PQgetvalue(res, 0, 4));
        s->w.teams = strdup(PQgetvalue(res, 0, 5));
        s->w.team_names = strdup(PQgetvalue(res, 0, 7));
        snprintf(s->refusal, sizeof(s->refusal), "%s", PQgetvalue(res, 0, 8));
        snprintf(s->contract_name, sizeof(s->contract_name), "%s", PQgetvalue(res, 0, 9));
        snprintf(s->contract_end, sizeof(s->contract_end), "%s", PQgetvalue(res, 0, 10));
        snprintf(s->dbs_due, sizeof(s->dbs_due), "%s", PQgetvalue(res, 0, 11));
        snprintf(s->words, sizeof(s->words), "%s", PQgetvalue(res, 0, 12));
        if (strcmp(PQgetvalue(res, 0, 6), "t") == 0) {
            const char *id[1] = {PQgetvalue(res, 0, 0)};
            PGresult *touched = tsr_db_exec(
                conn, "UPDATE sessions SET last_seen_at = now() WHERE id = $1::bigint", 1, id, err);
            if (touched == NULL) {
                PQclear(res);
                return -1;
            }
            PQclear(touched);
        }
    }
    PQclear(res);
    return 0;
}

static void session__fill_actor(gw_call_t *call, session_lookup_t *s)
{
    call->session_id = s->w.id;
    snprintf(call->session_id_text, sizeof(call->session_id_text), "%" PRIu64, s->w.id);
    call->username = s->w.username;
    call->display_name = s->w.name;
    call->roles_buf = s->w.roles;
    s->w.username = s->w.name = s->w.roles = NULL;
    size_t n = 0;
    call->roles = calloc(32, sizeof(char *));
    for (char *tok = call->roles ? strtok(call->roles_buf, "\n") : NULL; tok && n < 32;
         tok = strtok(NULL, "\n"))
        call->roles[n++] = tok;
    size_t teams = 0;
    call->team_ids = calloc(64, sizeof(uint64_t));
    for (char *p = s->w.teams; call->team_ids && p && *p && teams < 64;) {
        call->team_ids[teams++] = strtoull(p, &p, 10);
        if (*p == ',')
            p++;
    }
    call->actor.worker_id = s->w.worker_id;
    call->actor.username = call->username;
    call->actor.display_name = call->display_name;
    call->actor.session_id = call->session_id_text;
    if (call->access_reason != NULL)
        call->actor.access_reason = call->access_reason;
    call->actor.n_roles = call->roles ? n : 0;
    call->actor.roles = call->roles;
    call->actor.n_team_ids = call->team_ids ? teams : 0;
    call->actor.team_ids = call->team_ids;
    call->team_names_buf = s->w.team_names;
    s->w.team_names = NULL;
    size_t names = 0;
    call->team_names = calloc(64, sizeof(char *));
    for (char *tok = call->team_names ? strtok(call->team_names_buf, "\n") : NULL; tok && names < 64;
         tok = strtok(NULL, "\n"))
        call->team_names[names++] = tok;
    call->actor.n_team_names = call->team_names ? names : 0;
    call->actor.team_names = call->team_names;
}

/* Service accounts (a machine signing in with its own credential, such as the spine poller) may
 * call only the routes their role exists for, and signing out. */
static const struct {
    const char *role;
    const char *method;
    const char *pattern;
} session_service_routes[] = {
    {"cpis-service", "POST", "/api/v1/cpis/notifications"},
    /* The Spine connection also carries the plan files out and their responses back. */
    {"cpis-service", "GET", "/api/v1/cpis/uploads"},
    {"cpis-service", "GET", "/api/v1/cpis/uploads/{id}"},
    {"cpis-service", "POST", "/api/v1/cpis/uploads/{id}/response"},
};
#define SESSION_SERVICE_ROUTES (sizeof(session_service_routes) / sizeof(session_service_routes[0]))

/* Whether the call's route is open to the actor, who may be a service account; answers 403 if not. */
static int session__service_may(gw_call_t *call)
{
    int service = 0;
    for (size_t i = 0; i < SESSION_SERVICE_ROUTES; i++) {
        if (!tsr_actor_has_role(&call->actor, session_service_routes[i].role))
            continue;
        service = 1;
        if (strcmp(call->route->method, session_service_routes[i].method) == 0 &&
            strcmp(call->route->pattern, session_service_routes[i].pattern) == 0)
            return 1;
    }
    if (!service || strcmp(call->route->pattern, "/api/v1/session") == 0)
        return 1;
    gw_fail(call, TSR_E_FORBIDDEN, "forbidden", NULL,
            "This is a service account: it may only make the calls of its service (%s %s is not one).",
            call->route->method, call->route->pattern);
    return 0;
}

/* A session whose account may no longer be used: the sign-in's refusal. A prerequisite recorded as
 * lapsed is answered in accounts' own words for it (what stops the account, why, and whom to ask),
 * the very words signing in now gets; a contract past its end and a DBS check whose day has come, which
 * the gateway judges by the day, in its own. The session is not ended: once the prerequisite is
 * recorded again (a new DBS check, the contract extended) its calls go through again. */
static void session__refuse(gw_call_t *call, const session_lookup_t *s)
{
    if (strcmp(s->refusal, "contract_ended") == 0)
        gw_fail(call, TSR_E_FORBIDDEN, "contract_ended", NULL,
                "This account was for the contract '%s', which ended on %s, so it can no longer be used. "
                "If the contract has been extended, ask system support to record its new end date.",
                s->contract_name, s->contract_end);
    else if (s->words[0] != '\0')
        gw_fail(call, TSR_E_FORBIDDEN, s->refusal, NULL, "%s", s->words);
    else if (strcmp(s->refusal, "dbs_out_of_date") == 0 && s->dbs_due[0] != '\0')
        gw_fail(call, TSR_E_FORBIDDEN, "dbs_out_of_date", NULL,
                "Your enhanced DBS check was due for renewal on %s, so this account cannot be used until a "
                "new one is recorded. Ask your manager to have it renewed and sent to system support, or to "
                "have HR approve a risk assessment while the new check is pending.",
                s->dbs_due);
    else
        /* Announced before accounts gave its words (tessera accounts republish brings them). */
        gw_fail(call, TSR_E_FORBIDDEN, s->refusal, NULL,
                "This account cannot be used while an access prerequisite is not recorded as met (%s). Ask "
                "system support what is missing.",
                s->refusal);
}

static void session__looked_up(void *arg, int rc, const tsr_error_t *err)
{
    session_lookup_t *s = arg;
    gw_call_t *call = s->call;
    if (rc != 0) {
        gw_reply_error(call, err);
    } else if (!s->found) {
        gw_fail(call, TSR_E_UNAUTHENTICATED, "unauthenticated", NULL,
                "Your session has ended or the token is not valid; sign in again.");
    } else if (s->refusal[0] != '\0') {
        /* The same answer as signing in would now get, so the worker learns why, not just that. */
        session__refuse(call, s);
    } else {
        if (s->began_ms > 0) /* found in the database, not in the cache */
            session__cache_keep(s);
        session__fill_actor(call, s);
        if (session__service_may(call))
            gw_keys_route(call);
    }
    session__worker_free(&s->w);
    free(s);
}

void gw_session_authenticate(gw_call_t *call)
{
    const char *auth = gw_header(call, H2O_TOKEN_AUTHORIZATION);
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0 || auth[7] == '\0') {
        gw_fail(call, TSR_E_UNAUTHENTICATED, "unauthenticated", NULL,
                "Sign in first, and send the token as 'Authorization: Bearer <token>'.");
        return;
    }
    session__hash(auth + 7, call->token_hash);
    session_lookup_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        gw_fail(call, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
        return;
    }
    s->call = call;
    if (session__cache_find(s)) {
        session__looked_up(s, 0, NULL);
        return;
    }
    s->began_ms = tsr_now_ms();
    if (tsr_daemon_autocommit(gateway_daemon(call->gateway), session__lookup, session__looked_up, s) != 0) {
        free(s);
        gw_fail(call, TSR_E_UNAVAILABLE, "shutting_down", NULL,
                "The service is shutting down; try again shortly.");
    }
}

/* ------------------------------------------------------------------------------------------------
 * Signing out
 * ---------------------------------------------------------------------------------------------- */

static int session__end(PGconn *conn, void *arg, tsr_error_t *err)
{
    gw_call_t *call = arg;
    char id[32];
    snprintf(id, sizeof(id), "%" PRIu64, call->session_id);
    const char *params[1] = {id};
    PGresult *res =
        tsr_db_exec(conn, "UPDATE sessions SET ended_at = now() WHERE id = $1::bigint", 1, params, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

static void session__ended(void *arg, int rc, const tsr_error_t *err)
{
    gw_call_t *call = arg;
    session__cache_forget_all();
    if (rc != 0)
        gw_reply_error(call, err);
    else
        gw_reply_no_content(call);
}

void gw_session_end(gw_call_t *call)
{
    if (tsr_daemon_txn(gateway_daemon(call->gateway), session__end, session__ended, call) != 0)
        gw_fail(call, TSR_E_UNAVAILABLE, "shutting_down", NULL,
                "The service is shutting down; try again shortly.");
}

/* ------------------------------------------------------------------------------------------------
 * Movers and leavers: what accounts says of a worker reaches their sessions
 * ---------------------------------------------------------------------------------------------- */

static char *sessions__json_dump(json_t *value)
{
    char *text = value ? json_dumps(value, JSON_COMPACT) : NULL;
    json_decref(value);
    return text;
}

/* A mover's sessions carry the new roles and teams from their next call; they are not ended. Ending
 * them would take the old access away no sooner (either way it is gone once the account is recorded
 * here), but would throw the worker out mid-task, perhaps mid-way through recording a visit, for a
 * change someone else made, and for every change, even one that widens access or only names a
 * manager. So the account as it now stands is kept in worker_accounts and every session lookup
 * reads it. A leaver's sessions do end, here and on accounts.worker.ended. */
int gw_sessions_remember_account(PGconn *conn, const gw_account_t *account, tsr_error_t *err)
{
    session__cache_forget_all();
    json_t *roles = json_array(), *team_ids = json_array(), *team_names = json_array();
    for (size_t i = 0; roles && i < account->n_roles; i++)
        json_array_append_new(roles, json_string(account->roles[i]));
    for (size_t i = 0; team_ids && team_names && i < account->n_teams; i++) {
        json_array_append_new(team_ids, json_integer((json_int_t)account->teams[i]->id));
        json_array_append_new(team_names, json_string(account->teams[i]->name));
    }
    char id[32], version[32];
    snprintf(id, sizeof(id), "%" PRIu64, account->worker_id);
    snprintf(version, sizeof(version), "%" PRIu64, account->version);
    char *roles_text = sessions__json_dump(roles), *ids_text = sessions__json_dump(team_ids),
         *names_text = sessions__json_dump(team_names);
    int rc = -1;
    if (roles_text == NULL || ids_text == NULL || names_text == NULL) {
        tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory recording an account.");
        goto done;
    }
    const char *params[12] = {
        id,
        account->name,
        roles_text,
        ids_text,
        names_text,
        account->ended ? "t" : "f",
        account->contract_name,
        account->contract_end_date,
        version,
        account->state ? account->state : "",
        account->dbs_renewal_due && account->dbs_renewal_due[0] ? account->dbs_renewal_due : NULL,
        account->refusal ? account->refusal : ""};
    /* Team ids and names are kept in step: element i of each is the same team. The reply to a change
     * and its event may arrive in either order; the older of the two changes nothing. */
    PGresult *res = tsr_db_exec(
        conn,
        "INSERT INTO worker_accounts (worker_id, display_name, roles, team_ids, team_names, ended,"
        " contract_name, contract_end_date, version, state, dbs_renewal_due, refusal) VALUES ($1::bigint, $2,"
        " ARRAY(SELECT e FROM jsonb_array_elements_text($3::jsonb) WITH ORDINALITY AS x (e, n) ORDER BY n),"
        " ARRAY(SELECT e::bigint FROM jsonb_array_elements_text($4::jsonb) WITH ORDINALITY AS x (e, n)"
        "       ORDER BY n),"
        " ARRAY(SELECT e FROM jsonb_array_elements_text($5::jsonb) WITH ORDINALITY AS x (e, n) ORDER BY n),"
        " $6::boolean, $7, $8::date, $9::bigint, $10, $11::date, $12)"
        " ON CONFLICT (worker_id) DO UPDATE SET display_name = EXCLUDED.display_name, roles = EXCLUDED.roles,"
        " team_ids = EXCLUDED.team_ids, team_names = EXCLUDED.team_names, ended = EXCLUDED.ended,"
        " contract_name = EXCLUDED.contract_name, contract_end_date = EXCLUDED.contract_end_date,"
        " version = EXCLUDED.version, state = EXCLUDED.state, dbs_renewal_due = EXCLUDED.dbs_renewal_due,"
        " refusal = EXCLUDED.refusal, changed_at = now() WHERE worker_accounts.version < EXCLUDED.version",
        12, params, err);
    if (res == NULL)
        goto done;
    PQclear(res);
    if (account->ended) {
        const char *by_worker[1] = {id};
        res = tsr_db_exec(
            conn, "UPDATE sessions SET ended_at = now() WHERE worker_id = $1::bigint AND ended_at IS NULL", 1,
            by_worker, err);
        if (res == NULL)
            goto done;
        PQclear(res);
    }
    rc = 0;
done:
    free(roles_text);
    free(ids_text);
    free(names_text);
    return rc;
}

static int sessions__apply_changed(tsr_event_t *ev, tsr_error_t *err)
{
    Tsr__Accounts__WorkerChanged *c = (Tsr__Accounts__WorkerChanged *)tsr_unpack(
        &tsr__accounts__worker_changed__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (c == NULL)
        return -1;
    if (c->third_party && tsr_text_check_date(c->contract_end_date, 0, "contract_end_date", err) != 0) {
        uint64_t worker = c->worker_id;
        tsr__accounts__worker_changed__free_unpacked(c, NULL);
        return tsr_error_set(err, TSR_E_INVALID, "bad_message", NULL,
                             "accounts.worker.changed for worker %" PRIu64 " has no valid contract end date.",
                             worker);
    }
    gw_account_t account = {.worker_id = c->worker_id,
                            .version = c->version,
                            .name = c->name,
                            .roles = c->roles,
                            .n_roles = c->n_roles,
                            .teams = c->teams,
                            .n_teams = c->n_teams,
                            .ended = c->ended,
                            .contract_name = c->third_party ? c->contract_name : NULL,
                            .contract_end_date = c->third_party ? c->contract_end_date : NULL,
                            .state = c->state,
                            .dbs_renewal_due = c->dbs_renewal_due,
                            .refusal = c->refusal};
    int rc = gw_sessions_remember_account(ev->conn, &account, err);
    tsr__accounts__worker_changed__free_unpacked(c, NULL);
    return rc;
}

/* A password changed or reset: every session of the worker ends but the one it was changed from. */
static int sessions__apply_password_changed(tsr_event_t *ev, tsr_error_t *err)
{
    Tsr__Accounts__PasswordChanged *c = (Tsr__Accounts__PasswordChanged *)tsr_unpack(
        &tsr__accounts__password_changed__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (c == NULL)
        return -1;
    char id[32], keep[32];
    snprintf(id, sizeof(id), "%" PRIu64, c->worker_id);
    snprintf(keep, sizeof(keep), "%" PRIu64, c->keep_session_id);
    tsr__accounts__password_changed__free_unpacked(c, NULL);
    session__cache_forget_all();
    const char *params[2] = {id, keep};
    PGresult *res = tsr_db_exec(ev->conn,
                                "UPDATE sessions SET ended_at = now() WHERE worker_id = $1::bigint"
                                " AND id <> $2::bigint AND ended_at IS NULL",
                                2, params, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

int gw_sessions_apply_accounts_event(tsr_event_t *ev, tsr_error_t *err)
{
    if (strcmp(ev->event->type, "accounts.worker.changed") == 0)
        return sessions__apply_changed(ev, err);
    if (strcmp(ev->event->type, "accounts.password.changed") == 0)
        return sessions__apply_password_changed(ev, err);
    if (strcmp(ev->event->type, "accounts.worker.ended") != 0)
        return 0;
    session__cache_forget_all();
    Tsr__Accounts__WorkerEnded *ended = (Tsr__Accounts__WorkerEnded *)tsr_unpack(
        &tsr__accounts__worker_ended__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (ended == NULL)
        return -1;
    char id[32];
    snprintf(id, sizeof(id), "%" PRIu64, ended->worker_id);
    tsr__accounts__worker_ended__free_unpacked(ended, NULL);
    const char *params[1] = {id};
    PGresult *res = tsr_db_exec(ev->conn,
                                "UPDATE sessions SET ended_at = now() WHERE worker_id = $1::bigint"
                                " AND ended_at IS NULL",
                                1, params, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}
