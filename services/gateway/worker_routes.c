/* worker_routes: the API's calls on workers' accounts, mapped to the accounts daemon. Who may do
 * what, and every rule of an account (known roles, existing teams, a starter's DBS check, a
 * contract's end), is the accounts daemon's; this file checks the shape of the JSON and shapes the
 * replies. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.pb-c.h"
#include "gateway.h"
#include "tsr_log.h"
#include "worker_routes.h"
#include "tsr_text.h"

#define WORKER_ROUTES_MAX_LIST 32
#define WORKER_ROUTES_MAX_PEOPLE 1000

/* ------------------------------------------------------------------------------------------------
 * Replies
 * ---------------------------------------------------------------------------------------------- */

static json_t *worker_routes__teams(Tsr__Accounts__Team *const *teams, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            list, json_pack("{s:o, s:s}", "id", gw_json_id(teams[i]->id), "name", teams[i]->name));
    return list;
}

/* A text member, null when "" (a date or a choice not recorded). */
static json_t *worker_routes__or_null(const char *text)
{
    return text[0] ? json_string(text) : json_null();
}

/* An account as JSON. What a colleague may see (id, name, roles, teams) unless accounts sent the
 * detailed account, which only administrators get. */
static json_t *worker_routes__account(const Tsr__Accounts__WorkerAccount *a)
{
    json_t *roles = json_array();
    for (size_t i = 0; i < a->n_roles; i++)
        json_array_append_new(roles, json_string(a->roles[i]));
    json_t *o = json_pack("{s:o, s:s, s:o, s:o, s:o}", "id", gw_json_id(a->id), "name", a->name, "title",
                          gw_json_title(a->name, a->id), "roles", roles, "teams",
                          worker_routes__teams(a->teams, a->n_teams));
    if (o == NULL || !a->detailed)
        return o;
    json_object_set_new(o, "username", json_string(a->username));
    json_object_set_new(o, "email", json_string(a->email));
    json_object_set_new(o, "state", json_string(a->state));
    json_object_set_new(
        o, "manager",
        a->manager_id ? json_pack("{s:o, s:s}", "id", gw_json_id(a->manager_id), "name", a->manager_name)
                      : json_null());
    json_object_set_new(o, "managed_teams", worker_routes__teams(a->managed_teams, a->n_managed_teams));
    json_object_set_new(o, "third_party", json_boolean(a->contract != NULL));
    if (a->contract != NULL) {
        json_t *people = json_array();
        for (size_t i = 0; i < a->contract->n_person_ids; i++)
            json_array_append_new(people, gw_json_id(a->contract->person_ids[i]));
        json_object_set_new(o, "contract",
                            json_pack("{s:s, s:s, s:o}", "name", a->contract->name, "end_date",
                                      a->contract->end_date, "person_ids", people));
    } else {
        json_object_set_new(o, "contract", json_null());
    }
    const Tsr__Accounts__WorkerPrerequisites *p = a->prerequisites;
    if (p != NULL)
        json_object_set_new(o, "prerequisites",
                            json_pack("{s:o, s:o, s:b, s:o, s:o, s:o, s:o}", "dbs_checked_on",
                                      worker_routes__or_null(p->dbs_checked_on), "dbs_barred_lists",
                                      worker_routes__or_null(p->dbs_barred_lists), "risk_assessment_approved",
                                      p->risk_assessment_approved, "dbs_renewal_due",
                                      worker_routes__or_null(a->dbs_renewal_due), "training_completed_on",
                                      worker_routes__or_null(p->training_completed_on), "aup_signed_on",
                                      worker_routes__or_null(p->aup_signed_on), "returned_from_leave_on",
                                      worker_routes__or_null(p->returned_from_leave_on)));
    if (p != NULL) {
        /* A risk assessment covers a pending DBS check for 3 months from its approval. */
        json_t *pre = json_object_get(o, "prerequisites");
        json_object_set_new(pre, "risk_assessment_approved_on",
                            worker_routes__or_null(p->risk_assessment_approved_on));
        json_object_set_new(pre, "risk_assessment_until", worker_routes__or_null(a->risk_assessment_until));
        json_object_set_new(pre, "conflicts_declared_on", worker_routes__or_null(p->conflicts_declared_on));
    }
    json_object_set_new(o, "created_at", gw_json_time(a->created_at_ms));
    json_object_set_new(o, "last_login_at",
                        a->last_login_at_ms ? gw_json_time(a->last_login_at_ms) : json_null());
    json_object_set_new(o, "ended_at", a->ended_at_ms ? gw_json_time(a->ended_at_ms) : json_null());
    json_object_set_new(o, "ended_reason", a->ended_at_ms ? json_string(a->ended_reason) : json_null());
    json_object_set_new(o, "sign_in_paused_until",
                        a->sign_in_paused_until_ms ? gw_json_time(a->sign_in_paused_until_ms) : json_null());
    return o;
}

static void worker_routes__one(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                               const tsr_error_t *err, int status)
{
    Tsr__Accounts__WorkerAccount *a = (Tsr__Accounts__WorkerAccount *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__accounts__worker_account__descriptor);
    if (a == NULL)
        return;
    json_t *body = worker_routes__account(a);
    tsr__accounts__worker_account__free_unpacked(a, NULL);
    gw_reply_json(call, status, body);
}

static void worker_routes__unpaused(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                    const tsr_error_t *err)
{
    worker_routes__one(call, daemon, reply, err, 200);
}

void gw_worker_sign_in_unpause(gw_call_t *call)
{
    Tsr__Accounts__SignInUnpause req = TSR__ACCOUNTS__SIGN_IN_UNPAUSE__INIT;
    if (gw_path_id(call, 0, &req.worker_id) != 0)
        return;
    gw_call_daemon(call, "accounts", "accounts.sign_in.unpause", &req.base, worker_routes__unpaused);
}

static void worker_routes__created(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                   const tsr_error_t *err)
{
    worker_routes__one(call, daemon, reply, err, 201);
}

static void worker_routes__read(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                const tsr_error_t *err)
{
    worker_routes__one(call, daemon, reply, err, 200);
}

/* ------------------------------------------------------------------------------------------------
 * A change takes effect at once: the worker's sessions are given the account as the reply describes
 * it before the change is acknowledged, so a mover's very next call carries the new roles and teams.
 * The event (accounts.worker.changed) brings the same account a moment later, and brings changes
 * made elsewhere (the system's import); the version keeps the newer of the two.
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    gw_call_t *call;
    Tsr__Accounts__WorkerAccount *account;
} worker_routes_change_t;

static int worker_routes__remember(PGconn *conn, void *arg, tsr_error_t *err)
{
    const Tsr__Accounts__WorkerAccount *a = ((worker_routes_change_t *)arg)->account;
    gw_account_t account = {.worker_id = a->id,
                            .version = a->version,
                            .name = a->name,
                            .roles = a->roles,
                            .n_roles = a->n_roles,
                            .teams = a->teams,
                            .n_teams = a->n_teams,
                            .ended = a->state != NULL && strcmp(a->state, "ended") == 0,
                            .contract_name = a->contract ? a->contract->name : NULL,
                            .contract_end_date = a->contract ? a->contract->end_date : NULL,
                            .state = a->state,
                            .dbs_renewal_due = a->dbs_cover_ends,
                            .refusal = a->refusal};
    return gw_sessions_remember_account(conn, &account, err);
}

static void worker_routes__remembered(void *arg, int rc, const tsr_error_t *err)
{
    worker_routes_change_t *change = arg;
    /* The change is committed in accounts whatever happened here: it is acknowledged, and its event
     * brings it to the sessions if this write failed. */
    if (rc != 0)
        tsr_log_warn(change->call->trace_id, "worker %" PRIu64 "'s sessions wait for the event: %s",
                     change->account->id, err->message);
    json_t *body = worker_routes__account(change->account);
    tsr__accounts__worker_account__free_unpacked(change->account, NULL);
    gw_reply_json(change->call, 200, body);
    free(change);
}

static void worker_routes__changed(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                   const tsr_error_t *err)
{
    Tsr__Accounts__WorkerAccount *a = (Tsr__Accounts__WorkerAccount *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__accounts__worker_account__descriptor);
    if (a == NULL)
        return;
    worker_routes_change_t *change = calloc(1, sizeof(*change));
    if (change != NULL) {
        change->call = call;
        change->account = a;
        if (tsr_daemon_txn(gateway_daemon(call->gateway), worker_routes__remember, worker_routes__remembered,
                           change) == 0)
            return;
        free(change);
    }
    json_t *body = worker_routes__account(a);
    tsr__accounts__worker_account__free_unpacked(a, NULL);
    gw_reply_json(call, 200, body);
}

static void worker_routes__listed(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                  const tsr_error_t *err)
{
    Tsr__Accounts__WorkerList *list = (Tsr__Accounts__WorkerList *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__accounts__worker_list__descriptor);
    if (list == NULL)
        return;
    json_t *items = json_array();
    for (size_t i = 0; i < list->n_items; i++)
        json_array_append_new(items, worker_routes__account(list->items[i]));
    json_t *body = gw_list_body(items, list->next_cursor);
    tsr__accounts__worker_list__free_unpacked(list, NULL);
    gw_reply_json(call, 200, body);
}

/* ------------------------------------------------------------------------------------------------
 * Reading request bodies
 * ---------------------------------------------------------------------------------------------- */

/* Checks that obj has only allowed keys, each named in an error after prefix ("contract." for a
 * nested object, "" for the body itself); 0 or answers 400. */
static int worker_routes__check_keys(gw_call_t *call, json_t *obj, const char *prefix,
                                     const char *const *allowed)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        int known = 0;
        for (const char *const *a = allowed; *a != NULL && !known; a++)
            known = strcmp(*a, key) == 0;
        if (!known) {
            char field[160];
            snprintf(field, sizeof(field), "%s%.100s", prefix, key);
            return gw_fail(call, TSR_E_INVALID, "unknown_field", field,
                           "'%s' is not a field of this request.", field);
        }
    }
    return 0;
}

/* A nested object member: 0 absent (or null), 1 present in *out, -1 having answered 400. */
static int worker_routes__object(gw_call_t *call, const char *key, const char *what, json_t **out)
{
    json_t *value = json_object_get(call->body, key);
    *out = NULL;
    if (value == NULL || json_is_null(value))
        return 0;
    if (!json_is_object(value))
        return gw_fail(call, TSR_E_INVALID, "invalid_type", key, "'%s' must be an object with %s.", key,
                       what);
    *out = value;
    return 1;
}

/* A list of strings of the body: *present says whether it was given (null counts as not given). */
static int worker_routes__strings(gw_call_t *call, const char *key, char **out, size_t *n, int *present)
{
    json_t *value = json_object_get(call->body, key);
    *present = value != NULL && !json_is_null(value);
    return gw_json_member_strings(call, NULL, key, out, WORKER_ROUTES_MAX_LIST, n);
}

/* contract: {name, end_date, person_ids}; 0 absent, 1 filled (*ids malloc'd), -1 answered 400. */
static int worker_routes__contract(gw_call_t *call, Tsr__Accounts__WorkerContract *c, uint64_t **ids)
{
    static const char *const fields[] = {"name", "end_date", "person_ids", NULL};
    json_t *obj;
    *ids = NULL;
    int rc = worker_routes__object(call, "contract", "name, end_date and person_ids", &obj);
    if (rc <= 0)
        return rc;
    const char *name, *end_date;
    if (worker_routes__check_keys(call, obj, "contract.", fields) != 0 ||
        gw_json_member_string(call, obj, "name", "contract.name", 1, &name) != 0 ||
        gw_json_member_string(call, obj, "end_date", "contract.end_date", 1, &end_date) != 0)
        return -1;
    json_t *people = json_object_get(obj, "person_ids");
    size_t n = people && !json_is_null(people) ? json_array_size(people) : 0;
    if (people && !json_is_null(people) && !json_is_array(people))
        return gw_fail(call, TSR_E_INVALID, "invalid_type", "contract.person_ids",
                       "'contract.person_ids' must be a list of person ids.");
    if (n > WORKER_ROUTES_MAX_PEOPLE)
        return gw_fail(call, TSR_E_INVALID, "too_many", "contract.person_ids",
                       "'contract.person_ids' has more than %d entries.", WORKER_ROUTES_MAX_PEOPLE);
    *ids = calloc(n ? n : 1, sizeof(uint64_t));
    if (*ids == NULL)
        return gw_fail(call, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
    for (size_t i = 0; i < n; i++) {
        const char *text = json_string_value(json_array_get(people, i));
        (*ids)[i] = text && tsr_text_is_id(text) ? strtoull(text, NULL, 10) : 0;
        if ((*ids)[i] == 0) {
            free(*ids);
            *ids = NULL;
            return gw_fail(call, TSR_E_INVALID, "invalid_id", "contract.person_ids",
                           "Each of 'contract.person_ids' must be a person id: a string of digits.");
        }
    }
    c->name = (char *)name;
    c->end_date = (char *)end_date;
    c->n_person_ids = n;
    c->person_ids = *ids;
    return 1;
}

/* A worker's access prerequisites from obj (the body itself for PUT .../prerequisites), each field
 * named in an error after prefix ("prerequisites." or ""); 0, or -1 having answered 400. The strings
 * point into the request's JSON. */
static int worker_routes__prerequisites_read(gw_call_t *call, json_t *obj, const char *prefix,
                                             Tsr__Accounts__WorkerPrerequisites *p)
{
    static const char *const fields[] = {"dbs_checked_on",
                                         "dbs_barred_lists",
                                         "risk_assessment_approved",
                                         "training_completed_on",
                                         "aup_signed_on",
                                         "returned_from_leave_on",
                                         "risk_assessment_approved_on",
                                         "conflicts_declared_on",
                                         NULL};
    char **targets[] = {&p->dbs_checked_on,       &p->dbs_barred_lists,       &p->training_completed_on,
                        &p->aup_signed_on,        &p->returned_from_leave_on, &p->risk_assessment_approved_on,
                        &p->conflicts_declared_on};
    static const char *const text_names[] = {"dbs_checked_on",         "dbs_barred_lists",
                                             "training_completed_on",  "aup_signed_on",
                                             "returned_from_leave_on", "risk_assessment_approved_on",
                                             "conflicts_declared_on"};
    if (worker_routes__check_keys(call, obj, prefix, fields) != 0)
        return -1;
    char path[96];
    for (size_t i = 0; i < sizeof(text_names) / sizeof(text_names[0]); i++) {
        snprintf(path, sizeof(path), "%s%s", prefix, text_names[i]);
        const char *value;
        if (gw_json_member_string(call, obj, text_names[i], path, 0, &value) != 0)
            return -1;
        *targets[i] = (char *)value; /* protobuf-c's strings are char *; the request only reads them */
    }
    snprintf(path, sizeof(path), "%srisk_assessment_approved", prefix);
    json_t *approved = json_object_get(obj, "risk_assessment_approved");
    if (approved != NULL && !json_is_null(approved) && !json_is_boolean(approved))
        return gw_fail(call, TSR_E_INVALID, "invalid_type", path, "'%s' must be true or false.", path);
    p->risk_assessment_approved = json_is_true(approved);
    return 0;
}

/* prerequisites, as worker_routes__prerequisites_read reads them; 0 absent, 1 filled, -1 answered 400. */
static int worker_routes__prerequisites(gw_call_t *call, Tsr__Accounts__WorkerPrerequisites *p)
{
    json_t *obj;
    int rc = worker_routes__object(call, "prerequisites",
                                   "dbs_checked_on, dbs_barred_lists, risk_assessment_approved, "
                                   "training_completed_on, aup_signed_on, conflicts_declared_on and "
                                   "returned_from_leave_on",
                                   &obj);
    if (rc <= 0)
        return rc;
    return worker_routes__prerequisites_read(call, obj, "prerequisites.", p) == 0 ? 1 : -1;
}

/* manager_id: an id sets the line manager, null clears it. 0 absent, 1 given, -1 answered 400. */
static int worker_routes__manager(gw_call_t *call, uint64_t *manager_id)
{
    json_t *value = json_object_get(call->body, "manager_id");
    *manager_id = 0;
    if (value == NULL)
        return 0;
    if (json_is_null(value))
        return 1;
    if (gw_json_member_id(call, NULL, "manager_id", 1, manager_id) != 0)
        return -1;
    return 1;
}

/* ------------------------------------------------------------------------------------------------
 * The calls
 * ---------------------------------------------------------------------------------------------- */

void gw_worker_search(gw_call_t *call)
{
    Tsr__Accounts__WorkerSearch req = TSR__ACCOUNTS__WORKER_SEARCH__INIT;
    const char *q = gw_param(call, "q"), *team = gw_param(call, "team"), *cursor = gw_param(call, "cursor");
    if (gw_param_limit(call, &req.limit) != 0)
        return;
    req.q = (char *)(q ? q : "");
    req.team = (char *)(team ? team : "");
    req.cursor = (char *)(cursor ? cursor : "");
    gw_call_daemon(call, "accounts", "accounts.worker.search", &req.base, worker_routes__listed);
}

void gw_worker_get(gw_call_t *call)
{
    Tsr__Accounts__WorkerGet req = TSR__ACCOUNTS__WORKER_GET__INIT;
    if (gw_path_id(call, 0, &req.worker_id) != 0)
        return;
    gw_call_daemon(call, "accounts", "accounts.worker.get", &req.base, worker_routes__read);
}

/* A new account goes through accounts.worker.import, the one way accounts come into being (the
 * demo data and a legacy system's accounts arrive the same way). */
void gw_worker_create(gw_call_t *call)
{
    static const char *const fields[] = {"username",   "name",          "password",      "roles",    "teams",
                                         "manager_id", "managed_teams", "prerequisites", "contract", "email",
                                         NULL};
    Tsr__Accounts__WorkerImport req = TSR__ACCOUNTS__WORKER_IMPORT__INIT;
    Tsr__Accounts__WorkerPrerequisites pre = TSR__ACCOUNTS__WORKER_PREREQUISITES__INIT;
    Tsr__Accounts__WorkerContract contract = TSR__ACCOUNTS__WORKER_CONTRACT__INIT;
    const char *username, *name, *password, *email;
    char *roles[WORKER_ROUTES_MAX_LIST], *teams[WORKER_ROUTES_MAX_LIST], *managed[WORKER_ROUTES_MAX_LIST];
    int present;
    uint64_t *people = NULL;
    if (gw_json_check_object(call, fields) != 0 || gw_json_string(call, "username", 1, &username) != 0 ||
        gw_json_string(call, "name", 1, &name) != 0 || gw_json_string(call, "password", 1, &password) != 0 ||
        gw_json_string(call, "email", 0, &email) != 0 ||
        worker_routes__strings(call, "roles", roles, &req.n_roles, &present) != 0 ||
        worker_routes__strings(call, "teams", teams, &req.n_teams, &present) != 0 ||
        worker_routes__strings(call, "managed_teams", managed, &req.n_managed_teams, &present) != 0 ||
        worker_routes__manager(call, &req.manager_id) < 0)
        return;
    int has_pre = worker_routes__prerequisites(call, &pre);
    if (has_pre < 0)
        return;
    int has_contract = worker_routes__contract(call, &contract, &people);
    if (has_contract < 0)
        return;
    req.username = (char *)username;
    req.name = (char *)name;
    req.password = (char *)password;
    req.email = (char *)email;
    req.roles = roles;
    req.teams = teams;
    req.managed_teams = managed;
    req.prerequisites = has_pre ? &pre : NULL;
    req.contract = has_contract ? &contract : NULL;
    /* Argon2id takes a while by design, as when signing in. */
    gw_call_daemon_timeout(call, "accounts", "accounts.worker.import", &req.base, 15000,
                           worker_routes__created);
    free(people);
}

void gw_worker_update(gw_call_t *call)
{
    static const char *const fields[] = {"roles",    "teams", "manager_id", "managed_teams",
                                         "contract", "email", NULL};
    Tsr__Accounts__WorkerUpdate req = TSR__ACCOUNTS__WORKER_UPDATE__INIT;
    const char *email;
    Tsr__Accounts__WorkerContract contract = TSR__ACCOUNTS__WORKER_CONTRACT__INIT;
    char *roles[WORKER_ROUTES_MAX_LIST], *teams[WORKER_ROUTES_MAX_LIST], *managed[WORKER_ROUTES_MAX_LIST];
    int set_roles, set_teams, set_managed;
    uint64_t *people = NULL;
    if (gw_path_id(call, 0, &req.worker_id) != 0 || gw_json_check_object(call, fields) != 0 ||
        worker_routes__strings(call, "roles", roles, &req.n_roles, &set_roles) != 0 ||
        worker_routes__strings(call, "teams", teams, &req.n_teams, &set_teams) != 0 ||
        worker_routes__strings(call, "managed_teams", managed, &req.n_managed_teams, &set_managed) != 0 ||
        gw_json_string(call, "email", 0, &email) != 0)
        return;
    int set_manager = worker_routes__manager(call, &req.manager_id);
    if (set_manager < 0)
        return;
    int has_contract = worker_routes__contract(call, &contract, &people);
    if (has_contract < 0)
        return;
    req.set_roles = set_roles;
    req.roles = roles;
    req.set_teams = set_teams;
    req.teams = teams;
    req.set_manager = set_manager;
    req.set_managed_teams = set_managed;
    req.managed_teams = managed;
    req.contract = has_contract ? &contract : NULL;
    /* Present (null or "" clear it) or absent (no change). */
    req.set_email = json_object_get(call->body, "email") != NULL;
    req.email = (char *)email;
    gw_call_daemon(call, "accounts", "accounts.worker.update", &req.base, worker_routes__changed);
    free(people);
}

/* Prerequisites recorded as lapsed, or met again, and a leaver's end take effect as a mover's change
 * does (worker_routes__changed): the gateway holds the account as accounts now has it before the
 * call is answered, so the leaver's very next call with an old token is refused. Left to the event,
 * a call made at once still went through in two tries of four. */
void gw_worker_prerequisites(gw_call_t *call)
{
    Tsr__Accounts__WorkerPrerequisites req = TSR__ACCOUNTS__WORKER_PREREQUISITES__INIT;
    if (gw_path_id(call, 0, &req.worker_id) != 0 ||
        worker_routes__prerequisites_read(call, call->body, "", &req) != 0)
        return;
    gw_call_daemon(call, "accounts", "accounts.worker.prerequisites", &req.base, worker_routes__changed);
}

void gw_worker_end(gw_call_t *call)
{
    static const char *const fields[] = {"reason", NULL};
    Tsr__Accounts__WorkerEnd req = TSR__ACCOUNTS__WORKER_END__INIT;
    const char *reason;
    if (gw_path_id(call, 0, &req.worker_id) != 0 || gw_json_check_object(call, fields) != 0 ||
        gw_json_member_string(call, NULL, "reason", "reason", 1, &reason) != 0)
        return;
    req.reason = (char *)reason;
    gw_call_daemon(call, "accounts", "accounts.worker.end", &req.base, worker_routes__changed);
}
