/* Workers' accounts (seed 002): system support adds accounts under the starter's rules, changes a
 * mover's roles and teams with effect on the sessions already open, keeps line managers and the
 * teams they manage, and gives staff outside the council accounts that stop with their contract.
 * Every change is published as accounts.worker.changed with the account as it now stands. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accounts.pb-c.h"
#include "envelope.pb-c.h"
#include "tsr_testenv.h"

/* ------------------------------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------------------------------- */

/* A date from the database's own clock (the one the daemons judge by), as YYYY-MM-DD. */
static void sql_date(const char *expression, char out[16])
{
    char sql[256], result[64];
    snprintf(sql, sizeof(sql), "SELECT to_char((%s)::date, 'YYYY-MM-DD')", expression);
    assert_int_equal(testenv_psql(testenv, NULL, sql, result, sizeof(result)), 0);
    snprintf(out, 16, "%.15s", result);
}

/* DD/MM/YYYY of a YYYY-MM-DD date, as messages write dates. */
static void uk_date(const char *iso, char out[16])
{
    snprintf(out, 16, "%.2s/%.2s/%.4s", iso + 8, iso + 5, iso);
}

static const char *error_field(const testenv_response_t *r)
{
    return json_string_value(json_object_get(json_object_get(r->json, "error"), "field"));
}

static const char *error_message(const testenv_response_t *r)
{
    return json_string_value(json_object_get(json_object_get(r->json, "error"), "message"));
}

static void assert_refused(const testenv_response_t *r, long status, const char *code, const char *field)
{
    if (r->status != status)
        fail_msg("expected %ld %s, got %ld %s", status, code, r->status, r->body ? r->body : "");
    testenv_assert_error(r, status, code);
    if (field != NULL) {
        const char *got = error_field(r);
        if (got == NULL || strcmp(got, field) != 0)
            fail_msg("expected the error to name '%s': %s", field, r->body);
    }
}

/* A prerequisites object that a starter meets today. */
static void prerequisites_today(char *out, size_t size)
{
    char today[16];
    sql_date("current_date", today);
    snprintf(out, size,
             "\"prerequisites\":{\"dbs_checked_on\":\"%s\",\"training_completed_on\":\"%s\","
             "\"aup_signed_on\":\"%s\",\"conflicts_declared_on\":\"%s\"}",
             today, today, today, today);
}

/* Adds an account as admin (password tessera-demo, prerequisites met today) and returns its id. */
static void add_worker(const char *admin, const char *username, const char *name, const char *rest,
                       char id[32])
{
    testenv_add_worker(testenv, admin, username, name, rest, id);
}

static testenv_response_t put_worker(const char *token, const char *id, const char *body)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/workers/%s", id);
    return testenv_http(testenv, "PUT", path, token, body, NULL);
}

static testenv_response_t get_worker(const char *token, const char *id)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/workers/%s", id);
    return testenv_http(testenv, "GET", path, token, NULL, NULL);
}

/* Calls path with token until it answers want, for up to 2 s (the gateway hears of a change
 * through the accounts daemon's events, within moments); the last status. */
static long wait_for_status(const char *token, const char *path, long want, testenv_response_t *last)
{
    long status = 0;
    for (int i = 0; i < 40; i++) {
        *last = testenv_http(testenv, "GET", path, token, NULL, NULL);
        status = last->status;
        if (status == want)
            return status;
        testenv_response_free(last);
        usleep(50 * 1000);
    }
    *last = testenv_http(testenv, "GET", path, token, NULL, NULL);
    return last->status;
}

static int has_team(json_t *teams, const char *name)
{
    size_t i;
    json_t *t;
    json_array_foreach(teams, i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "name")), name) == 0)
            return 1;
    }
    return 0;
}

static long changed_events(void)
{
    return testenv_sql_long(testenv,
                            "SELECT count(*) FROM accounts.outbox WHERE type = 'accounts.worker.changed'");
}

static unsigned char *hex_decode(const char *hex, size_t *len)
{
    size_t n = strlen(hex) / 2;
    unsigned char *out = malloc(n ? n : 1);
    for (size_t i = 0; out && i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (unsigned char)v;
    }
    *len = n;
    return out;
}

/* The last event of type published for the worker, unpacked as desc (worker_id first in both
 * WorkerChanged and WorkerEnded); *created_at gets the outbox row's time, which is the time of the
 * transaction that wrote it. NULL when there is none. */
static ProtobufCMessage *last_event(const char *type, const ProtobufCMessageDescriptor *desc,
                                    const char *worker, char created_at[64])
{
    static char out[1 << 20];
    char sql[256];
    snprintf(
        sql, sizeof(sql),
        "SELECT encode(envelope, 'hex') || ' ' || created_at::text FROM accounts.outbox WHERE type = '%s'"
        " ORDER BY id DESC LIMIT 50",
        type);
    assert_int_equal(testenv_psql(testenv, NULL, sql, out, sizeof(out)), 0);
    uint64_t want = strtoull(worker, NULL, 10);
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *space = strchr(line, ' ');
        assert_non_null(space);
        *space = '\0';
        size_t len;
        unsigned char *bytes = hex_decode(line, &len);
        Tsr__Envelope *env = tsr__envelope__unpack(NULL, len, bytes);
        free(bytes);
        assert_non_null(env);
        ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, env->payload.len, env->payload.data);
        tsr__envelope__free_unpacked(env, NULL);
        assert_non_null(msg);
        uint64_t id = desc == &tsr__accounts__worker_changed__descriptor
                          ? ((Tsr__Accounts__WorkerChanged *)msg)->worker_id
                          : ((Tsr__Accounts__WorkerEnded *)msg)->worker_id;
        if (id == want) {
            if (created_at)
                snprintf(created_at, 64, "%s", space + 1);
            return msg;
        }
        protobuf_c_message_free_unpacked(msg, NULL);
    }
    return NULL;
}

static Tsr__Accounts__WorkerChanged *last_changed(const char *worker)
{
    Tsr__Accounts__WorkerChanged *c = (Tsr__Accounts__WorkerChanged *)last_event(
        "accounts.worker.changed", &tsr__accounts__worker_changed__descriptor, worker, NULL);
    assert_non_null(c);
    return c;
}

static char *restricted_person(const char *admin, const char *family)
{
    char body[256];
    snprintf(body, sizeof(body),
             "{\"legal_name\":{\"given\":\"Rowan\",\"family\":\"%s\"},\"gender\":\"not-known\","
             "\"date_of_birth\":\"2014-05-05\"}",
             family);
    testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/people", admin, body, NULL);
    assert_int_equal(r.status, 201);
    char *path = malloc(128);
    snprintf(path, 128, "/api/v1/people/%s", json_string_value(json_object_get(r.json, "id")));
    testenv_response_free(&r);
    char restriction[160];
    snprintf(restriction, sizeof(restriction), "%s/restriction", path);
    r = testenv_http(testenv, "PUT", restriction, admin,
                     "{\"reason\":\"high-risk\",\"review_date\":\"2099-06-30\"}", NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    return path;
}

/* ------------------------------------------------------------------------------------------------
 * Adding accounts
 * ---------------------------------------------------------------------------------------------- */

static void test_system_support_adds_an_account_that_signs_in_with_its_roles_and_teams(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char pre[256], body[1024], id[32];
    prerequisites_today(pre, sizeof(pre));
    snprintf(body, sizeof(body),
             "{\"username\":\"nadia.starter\",\"name\":\"Nadia Starter\",\"password\":\"tessera-demo\","
             "\"roles\":[\"social-worker\"],\"teams\":[\"Children in Need 1\"],%s}",
             pre);
    testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/workers", admin, body, NULL);
    assert_int_equal(r.status, 201);
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(r.json, "id")));
    assert_string_equal(json_string_value(json_object_get(r.json, "username")), "nadia.starter");
    assert_string_equal(json_string_value(json_object_get(r.json, "state")), "active");
    assert_string_equal(json_string_value(json_array_get(json_object_get(r.json, "roles"), 0)),
                        "social-worker");
    assert_true(has_team(json_object_get(r.json, "teams"), "Children in Need 1"));
    assert_true(json_is_false(json_object_get(r.json, "third_party")));
    assert_true(json_is_null(json_object_get(r.json, "contract")));
    assert_true(json_is_null(json_object_get(r.json, "manager")));
    assert_non_null(
        json_string_value(json_object_get(json_object_get(r.json, "prerequisites"), "dbs_renewal_due")));
    testenv_response_free(&r);

    /* The new worker signs in at once, with the roles and teams given. */
    r = testenv_http(testenv, "POST", "/api/v1/session", NULL,
                     "{\"username\":\"nadia.starter\",\"password\":\"tessera-demo\"}", NULL);
    assert_int_equal(r.status, 201);
    json_t *worker = json_object_get(r.json, "worker");
    assert_string_equal(json_string_value(json_object_get(worker, "id")), id);
    assert_true(has_team(json_object_get(worker, "teams"), "Children in Need 1"));
    testenv_response_free(&r);
    r = get_worker(admin, id);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "name")), "Nadia Starter");
    testenv_response_free(&r);

    /* A username is one person's: the same again is a conflict. */
    r = testenv_http(testenv, "POST", "/api/v1/workers", admin, body, NULL);
    assert_refused(&r, 409, "username_taken", "username");
    testenv_response_free(&r);

    /* Unknown roles and teams are refused, naming the field, and leave nothing behind. */
    snprintf(body, sizeof(body),
             "{\"username\":\"refused.starter\",\"name\":\"Refused Starter\",\"password\":\"tessera-demo\","
             "\"roles\":[\"wizard\"],%s}",
             pre);
    r = testenv_http(testenv, "POST", "/api/v1/workers", admin, body, NULL);
    assert_refused(&r, 400, "unknown_role", "roles");
    testenv_response_free(&r);
    snprintf(body, sizeof(body),
             "{\"username\":\"refused.starter\",\"name\":\"Refused Starter\",\"password\":\"tessera-demo\","
             "\"teams\":[\"Nowhere Team\"],%s}",
             pre);
    r = testenv_http(testenv, "POST", "/api/v1/workers", admin, body, NULL);
    assert_refused(&r, 422, "unknown_team", "teams");
    testenv_response_free(&r);
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM accounts.workers WHERE username = "
                                               "'refused.starter'"),
                     0);
    assert_int_equal(
        testenv_sql_long(testenv, "SELECT count(*) FROM accounts.teams WHERE name = 'Nowhere Team'"), 0);

    /* Only admin and system support add accounts, and only an admin makes an admin. */
    char *sw = testenv_login(testenv, "mash.sw");
    snprintf(
        body, sizeof(body),
        "{\"username\":\"refused.starter\",\"name\":\"Refused Starter\",\"password\":\"tessera-demo\",%s}",
        pre);
    r = testenv_http(testenv, "POST", "/api/v1/workers", sw, body, NULL);
    assert_refused(&r, 403, "forbidden", NULL);
    testenv_response_free(&r);
    char support_id[32];
    add_worker(admin, "support.only", "Sol Porter",
               "\"roles\":[\"system-support\"],\"teams\":[\"System Support\"]", support_id);
    char *support = testenv_login(testenv, "support.only");
    snprintf(body, sizeof(body),
             "{\"username\":\"refused.starter\",\"name\":\"Refused Starter\",\"password\":\"tessera-demo\","
             "\"roles\":[\"admin\"],%s}",
             pre);
    r = testenv_http(testenv, "POST", "/api/v1/workers", support, body, NULL);
    assert_refused(&r, 403, "forbidden", "roles");
    testenv_response_free(&r);
    r = put_worker(support, support_id, "{\"roles\":[\"system-support\",\"admin\"]}");
    assert_refused(&r, 403, "forbidden", "roles");
    testenv_response_free(&r);
    free(support);
    free(sw);
    free(admin);
}

static void
test_a_new_account_needs_a_dbs_check_at_most_2_years_old_unless_a_risk_assessment_is_approved(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char today[16], too_old[16], just_in[16], too_old_uk[16], body[1024];
    sql_date("current_date", today);
    sql_date("current_date - interval '2 years' - interval '1 day'", too_old);
    sql_date("current_date - interval '2 years'", just_in);
    uk_date(too_old, too_old_uk);

    /* Valid for less than 12 months more: refused, saying which check and why. */
    snprintf(body, sizeof(body),
             "{\"username\":\"dbs.starter\",\"name\":\"Dee Bess\",\"password\":\"tessera-demo\","
             "\"prerequisites\":{\"dbs_checked_on\":\"%s\",\"training_completed_on\":\"%s\","
             "\"aup_signed_on\":\"%s\",\"conflicts_declared_on\":\"%s\"}}",
             too_old, today, today, today);
    testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/workers", admin, body, NULL);
    assert_refused(&r, 422, "dbs_too_old", "prerequisites.dbs_checked_on");
    assert_non_null(strstr(error_message(&r), too_old_uk));
    assert_non_null(strstr(error_message(&r), "12 months"));
    testenv_response_free(&r);

    /* No check at all: refused too. */
    r = testenv_http(testenv, "POST", "/api/v1/workers", admin,
                     "{\"username\":\"dbs.starter\",\"name\":\"Dee Bess\",\"password\":\"tessera-demo\"}",
                     NULL);
    assert_refused(&r, 422, "dbs_required", "prerequisites.dbs_checked_on");
    testenv_response_free(&r);

    /* An HR-approved risk assessment covers the wait for a new check; the refusals above left the
     * username free. */
    snprintf(body, sizeof(body),
             "{\"username\":\"dbs.starter\",\"name\":\"Dee Bess\",\"password\":\"tessera-demo\","
             "\"prerequisites\":{\"dbs_checked_on\":\"%s\",\"risk_assessment_approved\":true,"
             "\"training_completed_on\":\"%s\",\"aup_signed_on\":\"%s\",\"conflicts_declared_on\":\"%s\"}}",
             too_old, today, today, today);
    r = testenv_http(testenv, "POST", "/api/v1/workers", admin, body, NULL);
    assert_int_equal(r.status, 201);
    assert_true(
        json_is_true(json_object_get(json_object_get(r.json, "prerequisites"), "risk_assessment_approved")));
    testenv_response_free(&r);
    char *starter = testenv_login(testenv, "dbs.starter");
    free(starter);

    /* Exactly 2 years old is still valid for 12 months. */
    snprintf(body, sizeof(body),
             "{\"username\":\"dbs.edge\",\"name\":\"Eddie Edge\",\"password\":\"tessera-demo\","
             "\"prerequisites\":{\"dbs_checked_on\":\"%s\"}}",
             just_in);
    r = testenv_http(testenv, "POST", "/api/v1/workers", admin, body, NULL);
    assert_int_equal(r.status, 201);
    const char *id = json_string_value(json_object_get(r.json, "id"));
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/workers/%s/prerequisites", id);
    testenv_response_free(&r);

    /* The starter's rule is for new accounts: an existing account's check runs its 3 years. */
    snprintf(body, sizeof(body),
             "{\"dbs_checked_on\":\"%s\",\"training_completed_on\":\"%s\",\"aup_signed_on\":\"%s\","
             "\"conflicts_declared_on\":\"%s\"}",
             too_old, today, today, today);
    r = testenv_http(testenv, "PUT", path, admin, body, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    char *edge = testenv_login(testenv, "dbs.edge");
    free(edge);
    free(admin);
}

/* ------------------------------------------------------------------------------------------------
 * Movers
 * ---------------------------------------------------------------------------------------------- */

static void test_a_mover_loses_the_old_roles_at_once(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char mover_id[32], other_id[32];
    add_worker(admin, "mover.support", "Mo Verity",
               "\"roles\":[\"system-support\"],\"teams\":[\"System Support\"]", mover_id);
    add_worker(admin, "mover.other", "Otto Other", "\"roles\":[\"social-worker\"]", other_id);
    char *mover = testenv_login(testenv, "mover.support");
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/workers/%s", other_id);
    testenv_response_t r = testenv_http(testenv, "GET", path, mover, NULL, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);

    /* System support becomes a social worker in another service. */
    r = put_worker(admin, mover_id, "{\"roles\":[\"social-worker\"],\"teams\":[\"Children in Need 1\"]}");
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_array_get(json_object_get(r.json, "roles"), 0)),
                        "social-worker");
    testenv_response_free(&r);

    /* At once: the very next call with the token from before the move no longer reaches what
     * system support could. */
    r = testenv_http(testenv, "GET", path, mover, NULL, NULL);
    assert_refused(&r, 403, "forbidden", NULL);
    testenv_response_free(&r);
    r = testenv_http(testenv, "PUT", path, mover, "{\"roles\":[\"social-worker\"]}", NULL);
    testenv_assert_error(&r, 403, "forbidden");
    testenv_response_free(&r);
    /* The session itself goes on: the worker is not thrown out mid-task. */
    r = testenv_http(testenv, "GET", "/api/v1/organisations/7500065", mover, NULL, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);

    /* Team access too: a MASH worker moved out of MASH loses what the MASH team keeps. */
    char mash_id[32];
    add_worker(admin, "mover.mash", "Mina Ashcroft", "\"roles\":[\"social-worker\"],\"teams\":[\"MASH\"]",
               mash_id);
    char *mash = testenv_login(testenv, "mover.mash");
    char *person = restricted_person(admin, "Moverrestricted");
    r = testenv_http(testenv, "GET", person, mash, NULL, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    r = put_worker(admin, mash_id, "{\"teams\":[\"Early Help\"]}");
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", person, mash, NULL, NULL);
    assert_refused(&r, 403, "restricted_record", NULL);
    testenv_response_free(&r);
    free(person);
    free(mash);
    free(mover);
    free(admin);
}

static void test_a_mover_reaches_what_the_new_team_allows_without_signing_in_again(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char id[32];
    add_worker(admin, "mover.in", "Ines Inward",
               "\"roles\":[\"social-worker\"],\"teams\":[\"Children in Need 1\"]", id);
    char *worker = testenv_login(testenv, "mover.in");
    char *person = restricted_person(admin, "Moverinward");
    testenv_response_t r = testenv_http(testenv, "GET", person, worker, NULL, NULL);
    testenv_assert_error(&r, 403, "restricted_record");
    testenv_response_free(&r);
    r = put_worker(admin, id, "{\"teams\":[\"MASH\"]}");
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", person, worker, NULL, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    free(person);
    free(worker);
    free(admin);
}

/* Writes a one-worker file for `tessera demo load` (the system's import) and runs it. */
static void import_worker(const char *username, const char *role, const char *team)
{
    char path[400], cmd[1400];
    snprintf(path, sizeof(path), "%s/import-%s.json", testenv->dir, username);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"password\":\"tessera-demo\",\"organisations\":[],\"workers\":[{\"username\":\"%s\","
            "\"name\":\"Imogen Porter\",\"roles\":[\"%s\"],\"teams\":[\"%s\"]}]}",
            username, role, team);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "%s/tessera --config %s demo load %s > %s.log 2>&1", TSR_BIN_DIR,
             testenv->config, path, path);
    assert_int_equal(system(cmd), 0);
}

static void test_a_change_made_outside_the_api_reaches_open_sessions_through_the_event(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    import_worker("import.mover", "system-support", "System Support");
    char *worker = testenv_login(testenv, "import.mover");
    testenv_response_t r = testenv_http(testenv, "GET", "/api/v1/workers?q=import.mover", admin, NULL, NULL);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/workers/%s",
             json_string_value(json_object_get(json_array_get(json_object_get(r.json, "items"), 0), "id")));
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", path, worker, NULL, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    /* The system's import moves the worker: only accounts.worker.changed tells the gateway. */
    import_worker("import.mover", "social-worker", "Early Help");
    assert_int_equal(wait_for_status(worker, path, 403, &r), 403);
    testenv_assert_error(&r, 403, "forbidden");
    testenv_response_free(&r);
    free(worker);
    free(admin);
}

static void test_an_older_description_of_an_account_never_replaces_a_newer_one(void **state)
{
    (void)state;
    /* The gateway hears of a change twice, from the reply and from the event, in either order, and
     * an event delayed behind a later change could otherwise bring old roles back. Here the gateway
     * is made to hold a description newer than any change about to be made: the reply and the event
     * of that change are older, and must change nothing. */
    char *admin = testenv_login(testenv, "admin");
    char id[32], other[32], sql[512], out[256];
    add_worker(admin, "versioned.one", "Vera Sion", "\"roles\":[\"system-support\"]", id);
    add_worker(admin, "versioned.other", "Otis Sion", "\"roles\":[\"social-worker\"]", other);
    char *token = testenv_login(testenv, "versioned.one");
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM gateway.worker_accounts WHERE worker_id = %s", id);
    for (int i = 0; i < 40 && testenv_sql_long(testenv, sql) == 0; i++)
        usleep(50 * 1000);
    snprintf(sql, sizeof(sql), "UPDATE gateway.worker_accounts SET version = 1000000 WHERE worker_id = %s",
             id);
    assert_int_equal(testenv_psql(testenv, NULL, sql, out, sizeof(out)), 0);
    testenv_response_t r = put_worker(admin, id, "{\"roles\":[\"social-worker\"]}");
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    /* Wait until the gateway has applied every event accounts has committed, this change's too. */
    const char *caught_up = "SELECT count(*) FROM accounts.relay_state r, gateway.inbox i"
                            " WHERE i.producer = 'accounts' AND i.last_seq >= r.last_seq"
                            " AND NOT EXISTS (SELECT 1 FROM accounts.outbox WHERE seq IS NULL)";
    for (int i = 0; i < 100 && testenv_sql_long(testenv, caught_up) != 1; i++)
        usleep(50 * 1000);
    assert_int_equal(testenv_sql_long(testenv, caught_up), 1);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/workers/%s", other);
    r = testenv_http(testenv, "GET", path, token, NULL, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    free(token);
    free(admin);
}

/* ------------------------------------------------------------------------------------------------
 * Managers
 * ---------------------------------------------------------------------------------------------- */

static void test_a_line_manager_and_the_teams_they_manage_are_kept_on_the_account(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char lead[32], worker[32], body[256];
    add_worker(admin, "team.lead", "Tess Leadbetter",
               "\"roles\":[\"team-manager\"],\"teams\":[\"Children in Need 1\"]", lead);
    add_worker(admin, "case.worker", "Cass Worthy",
               "\"roles\":[\"social-worker\"],\"teams\":[\"Children in Need 1\"]", worker);

    snprintf(body, sizeof(body), "{\"manager_id\":\"%s\"}", lead);
    testenv_response_t r = put_worker(admin, worker, body);
    assert_int_equal(r.status, 200);
    json_t *manager = json_object_get(r.json, "manager");
    assert_string_equal(json_string_value(json_object_get(manager, "id")), lead);
    assert_string_equal(json_string_value(json_object_get(manager, "name")), "Tess Leadbetter");
    testenv_response_free(&r);
    r = put_worker(admin, lead, "{\"managed_teams\":[\"Children in Need 1\"]}");
    assert_int_equal(r.status, 200);
    assert_true(has_team(json_object_get(r.json, "managed_teams"), "Children in Need 1"));
    testenv_response_free(&r);
    r = get_worker(admin, worker);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "manager"), "id")), lead);
    testenv_response_free(&r);

    /* Nobody manages themselves, or their own manager; a manager is someone who exists. */
    snprintf(body, sizeof(body), "{\"manager_id\":\"%s\"}", worker);
    r = put_worker(admin, lead, body);
    assert_refused(&r, 422, "manager_loop", "manager_id");
    testenv_response_free(&r);
    r = put_worker(admin, worker, body);
    assert_refused(&r, 422, "invalid_manager", "manager_id");
    testenv_response_free(&r);
    r = put_worker(admin, worker, "{\"manager_id\":\"999999\"}");
    assert_refused(&r, 422, "unknown_worker", "manager_id");
    testenv_response_free(&r);
    r = put_worker(admin, lead, "{\"managed_teams\":[\"Children in Need 1\",\"No Such Team\"]}");
    assert_refused(&r, 422, "unknown_team", "managed_teams");
    testenv_response_free(&r);
    /* A refused call changes nothing, not even the parts of it that were right. */
    r = put_worker(admin, worker, "{\"teams\":[\"Early Help\"],\"roles\":[\"wizard\"]}");
    assert_refused(&r, 400, "unknown_role", "roles");
    testenv_response_free(&r);
    r = get_worker(admin, lead);
    assert_true(json_is_null(json_object_get(r.json, "manager")));
    assert_int_equal(json_array_size(json_object_get(r.json, "managed_teams")), 1);
    testenv_response_free(&r);
    r = get_worker(admin, worker);
    assert_true(has_team(json_object_get(r.json, "teams"), "Children in Need 1"));
    assert_false(has_team(json_object_get(r.json, "teams"), "Early Help"));
    testenv_response_free(&r);

    r = put_worker(admin, worker, "{}");
    assert_refused(&r, 400, "nothing_to_change", NULL);
    testenv_response_free(&r);
    r = put_worker(admin, "999999", "{\"roles\":[]}");
    assert_refused(&r, 404, "not_found", NULL);
    testenv_response_free(&r);

    /* Only admin and system support read or change accounts. */
    char *sw = testenv_login(testenv, "mash.sw");
    r = put_worker(sw, worker, "{\"manager_id\":null}");
    assert_refused(&r, 403, "forbidden", NULL);
    testenv_response_free(&r);
    r = get_worker(sw, worker);
    assert_refused(&r, 403, "forbidden", NULL);
    testenv_response_free(&r);
    free(sw);

    /* null takes the line manager away. */
    r = put_worker(admin, worker, "{\"manager_id\":null}");
    assert_int_equal(r.status, 200);
    assert_true(json_is_null(json_object_get(r.json, "manager")));
    testenv_response_free(&r);
    free(admin);
}

/* ------------------------------------------------------------------------------------------------
 * Finding colleagues
 * ---------------------------------------------------------------------------------------------- */

static void test_workers_find_colleagues_by_name_and_team_and_see_only_names_roles_and_teams(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *sw = testenv_login(testenv, "mash.sw");
    testenv_response_t r = testenv_http(testenv, "GET", "/api/v1/workers?q=whitf", sw, NULL, NULL);
    assert_int_equal(r.status, 200);
    json_t *items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 1);
    json_t *item = json_array_get(items, 0);
    assert_string_equal(json_string_value(json_object_get(item, "name")), "Sam Whitfield");
    /* A colleague sees id, name (and its title), roles and teams; nothing of the account itself. */
    const char *key;
    json_t *value;
    json_object_foreach(item, key, value)
    {
        if (strcmp(key, "id") && strcmp(key, "name") && strcmp(key, "title") && strcmp(key, "roles") &&
            strcmp(key, "teams"))
            fail_msg("a colleague is shown '%s': %s", key, r.body);
    }
    assert_true(has_team(json_object_get(item, "teams"), "MASH"));
    testenv_response_free(&r);

    /* Usernames are not for colleagues to probe: only administrators find an account by one. */
    r = testenv_http(testenv, "GET", "/api/v1/workers?q=mash.manager", sw, NULL, NULL);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", "/api/v1/workers?q=mash.manager", admin, NULL, NULL);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    testenv_response_free(&r);

    /* By team: the MASH team's members and nobody else. */
    r = testenv_http(testenv, "GET", "/api/v1/workers?team=MASH", sw, NULL, NULL);
    assert_int_equal(r.status, 200);
    size_t i;
    json_array_foreach(json_object_get(r.json, "items"), i, item)
    {
        assert_true(has_team(json_object_get(item, "teams"), "MASH"));
    }
    assert_true(json_array_size(json_object_get(r.json, "items")) >= 2);
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", "/api/v1/workers?team=No%20Such%20Team", sw, NULL, NULL);
    assert_refused(&r, 422, "unknown_team", "team");
    testenv_response_free(&r);

    /* A leaver is not offered to colleagues; system support still finds the account. */
    char gone[32];
    add_worker(admin, "gone.soon", "Gwen Gonering", "\"roles\":[\"social-worker\"]", gone);
    testenv_end_worker(testenv, admin, gone, "Left the council");
    r = testenv_http(testenv, "GET", "/api/v1/workers?q=gonering", sw, NULL, NULL);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", "/api/v1/workers?q=gonering", admin, NULL, NULL);
    item = json_array_get(json_object_get(r.json, "items"), 0);
    assert_non_null(item);
    assert_string_equal(json_string_value(json_object_get(item, "state")), "ended");
    assert_string_equal(json_string_value(json_object_get(item, "username")), "gone.soon");
    testenv_response_free(&r);

    /* Pages follow each other without overlap. */
    r = testenv_http(testenv, "GET", "/api/v1/workers?limit=2", sw, NULL, NULL);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 2);
    const char *cursor = json_string_value(json_object_get(r.json, "next_cursor"));
    assert_non_null(cursor);
    char first_ids[2][32], next[512];
    for (size_t k = 0; k < 2; k++)
        snprintf(
            first_ids[k], 32, "%s",
            json_string_value(json_object_get(json_array_get(json_object_get(r.json, "items"), k), "id")));
    snprintf(next, sizeof(next), "/api/v1/workers?limit=2&cursor=%s", cursor);
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", next, sw, NULL, NULL);
    assert_int_equal(r.status, 200);
    json_array_foreach(json_object_get(r.json, "items"), i, item)
    {
        const char *id = json_string_value(json_object_get(item, "id"));
        assert_string_not_equal(id, first_ids[0]);
        assert_string_not_equal(id, first_ids[1]);
    }
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", "/api/v1/workers?cursor=zz", sw, NULL, NULL);
    assert_refused(&r, 400, "invalid_cursor", "cursor");
    testenv_response_free(&r);
    free(sw);
    free(admin);
}

/* ------------------------------------------------------------------------------------------------
 * Events
 * ---------------------------------------------------------------------------------------------- */

static void test_every_change_to_an_account_is_published_with_the_account_as_it_now_stands(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char lead[32], id[32], end_date[16], body[512];
    add_worker(admin, "pub.lead", "Paula Leeds", "\"roles\":[\"team-manager\"],\"teams\":[\"Early Help\"]",
               lead);
    sql_date("current_date + 90", end_date);
    snprintf(body, sizeof(body),
             "\"roles\":[\"early-help-worker\"],\"teams\":[\"Early Help\"],\"manager_id\":\"%s\","
             "\"contract\":{\"name\":\"Family support (invented agency)\",\"end_date\":\"%s\","
             "\"person_ids\":[\"101\",\"102\"]}",
             lead, end_date);
    add_worker(admin, "pub.worker", "Pat Published", body, id);

    /* Created: everything the account is made of. */
    Tsr__Accounts__WorkerChanged *c = last_changed(id);
    assert_string_equal(c->username, "pub.worker");
    assert_string_equal(c->name, "Pat Published");
    assert_int_equal(c->n_roles, 1);
    assert_string_equal(c->roles[0], "early-help-worker");
    assert_int_equal(c->n_teams, 1);
    assert_string_equal(c->teams[0]->name, "Early Help");
    assert_true(c->teams[0]->id > 0);
    assert_int_equal(c->manager_id, strtoull(lead, NULL, 10));
    assert_true(c->third_party);
    assert_string_equal(c->contract_name, "Family support (invented agency)");
    assert_string_equal(c->contract_end_date, end_date);
    assert_int_equal(c->n_contract_person_ids, 2);
    assert_int_equal(c->contract_person_ids[0], 101);
    assert_int_equal(c->contract_person_ids[1], 102);
    assert_false(c->ended);
    tsr__accounts__worker_changed__free_unpacked(c, NULL);

    /* A mover: roles and teams. */
    testenv_response_t r = put_worker(admin, id, "{\"roles\":[\"social-worker\"],\"teams\":[\"MASH\"]}");
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    c = last_changed(id);
    assert_string_equal(c->roles[0], "social-worker");
    assert_string_equal(c->teams[0]->name, "MASH");
    assert_int_equal(c->manager_id, strtoull(lead, NULL, 10));
    tsr__accounts__worker_changed__free_unpacked(c, NULL);

    /* Managed teams, on the manager's own account. */
    r = put_worker(admin, lead, "{\"managed_teams\":[\"Early Help\"]}");
    assert_int_equal(r.status, 200);
    uint64_t early_help = strtoull(
        json_string_value(json_object_get(json_array_get(json_object_get(r.json, "managed_teams"), 0), "id")),
        NULL, 10);
    testenv_response_free(&r);
    c = last_changed(lead);
    assert_int_equal(c->n_managed_team_ids, 1);
    assert_int_equal(c->managed_team_ids[0], early_help);
    assert_false(c->third_party);
    tsr__accounts__worker_changed__free_unpacked(c, NULL);

    /* The manager taken away; the contract changed. */
    sql_date("current_date + 10", end_date);
    snprintf(body, sizeof(body),
             "{\"manager_id\":null,\"contract\":{\"name\":\"Family support (renewed)\",\"end_date\":\"%s\"}}",
             end_date);
    r = put_worker(admin, id, body);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    c = last_changed(id);
    assert_int_equal(c->manager_id, 0);
    assert_string_equal(c->contract_name, "Family support (renewed)");
    assert_string_equal(c->contract_end_date, end_date);
    assert_int_equal(c->n_contract_person_ids, 0);
    tsr__accounts__worker_changed__free_unpacked(c, NULL);

    /* The gateway holds the account at its latest version, whichever of the reply and the event
     * came first. */
    c = last_changed(id);
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT version FROM gateway.worker_accounts WHERE worker_id = %s", id);
    long held = 0;
    for (int i = 0; i < 40 && (held = testenv_sql_long(testenv, sql)) != (long)c->version; i++)
        usleep(50 * 1000);
    assert_int_equal(held, c->version);
    assert_true(c->version >= 3);
    tsr__accounts__worker_changed__free_unpacked(c, NULL);

    /* A refused change publishes nothing. */
    long before = changed_events();
    r = put_worker(admin, id, "{\"teams\":[\"No Such Team\"]}");
    assert_refused(&r, 422, "unknown_team", "teams");
    testenv_response_free(&r);
    assert_int_equal(changed_events(), before);

    /* A leaver: ended, in the same transaction as accounts.worker.ended. */
    char changed_at[64], ended_at[64];
    testenv_end_worker(testenv, admin, id, "Contract work finished");
    c = (Tsr__Accounts__WorkerChanged *)last_event(
        "accounts.worker.changed", &tsr__accounts__worker_changed__descriptor, id, changed_at);
    assert_non_null(c);
    assert_true(c->ended);
    assert_string_equal(c->username, "pub.worker");
    tsr__accounts__worker_changed__free_unpacked(c, NULL);
    ProtobufCMessage *ended =
        last_event("accounts.worker.ended", &tsr__accounts__worker_ended__descriptor, id, ended_at);
    assert_non_null(ended);
    protobuf_c_message_free_unpacked(ended, NULL);
    assert_string_equal(changed_at, ended_at);

    /* A change to a leaver's account is refused. */
    r = put_worker(admin, id, "{\"roles\":[\"social-worker\"]}");
    assert_refused(&r, 409, "account_ended", NULL);
    testenv_response_free(&r);
    free(admin);
}

/* ------------------------------------------------------------------------------------------------
 * Third-party accounts
 * ---------------------------------------------------------------------------------------------- */

static void test_a_third_party_account_stops_after_its_contract_ends(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char id[32], future[16], yesterday[16], yesterday_uk[16], body[512];
    sql_date("current_date + 30", future);
    sql_date("current_date - 1", yesterday);
    uk_date(yesterday, yesterday_uk);
    snprintf(body, sizeof(body),
             "\"roles\":[\"auditor\"],\"teams\":[\"Information Governance\"],"
             "\"contract\":{\"name\":\"External audit (invented firm)\",\"end_date\":\"%s\"}",
             future);
    add_worker(admin, "external.auditor", "Ezra Audley", body, id);
    testenv_response_t r = get_worker(admin, id);
    assert_true(json_is_true(json_object_get(r.json, "third_party")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "contract"), "end_date")),
                        future);
    assert_string_equal(json_string_value(json_object_get(r.json, "state")), "active");
    testenv_response_free(&r);
    char *token = testenv_login(testenv, "external.auditor");
    r = testenv_http(testenv, "GET", "/api/v1/organisations/7500065", token, NULL, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);

    /* The contract is ended early: the session in hand stops, saying why and since when. */
    snprintf(body, sizeof(body),
             "{\"contract\":{\"name\":\"External audit (invented firm)\",\"end_date\":\"%s\"}}", yesterday);
    r = put_worker(admin, id, body);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "state")), "contract_ended");
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", "/api/v1/organisations/7500065", token, NULL, NULL);
    assert_refused(&r, 403, "contract_ended", NULL);
    assert_non_null(strstr(error_message(&r), yesterday_uk));
    testenv_response_free(&r);
    /* Signing in again is refused the same way. */
    r = testenv_http(testenv, "POST", "/api/v1/session", NULL,
                     "{\"username\":\"external.auditor\",\"password\":\"tessera-demo\"}", NULL);
    assert_refused(&r, 403, "contract_ended", NULL);
    assert_non_null(strstr(error_message(&r), yesterday_uk));
    assert_non_null(strstr(error_message(&r), "External audit (invented firm)"));
    testenv_response_free(&r);
    /* A wrong password still learns nothing about the account. */
    r = testenv_http(testenv, "POST", "/api/v1/session", NULL,
                     "{\"username\":\"external.auditor\",\"password\":\"not-the-password\"}", NULL);
    assert_refused(&r, 401, "invalid_credentials", NULL);
    testenv_response_free(&r);

    /* Extended: the account works again. */
    snprintf(body, sizeof(body),
             "{\"contract\":{\"name\":\"External audit (extended)\",\"end_date\":\"%s\"}}", future);
    r = put_worker(admin, id, body);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    char *again = testenv_login(testenv, "external.auditor");
    free(again);

    /* No account starts under a contract that is over, and council accounts have no contract. */
    char pre[256];
    prerequisites_today(pre, sizeof(pre));
    snprintf(body, sizeof(body),
             "{\"username\":\"late.contractor\",\"name\":\"Lee Tardy\",\"password\":\"tessera-demo\",%s,"
             "\"contract\":{\"name\":\"Over already\",\"end_date\":\"%s\"}}",
             pre, yesterday);
    r = testenv_http(testenv, "POST", "/api/v1/workers", admin, body, NULL);
    assert_refused(&r, 422, "contract_ended", "contract.end_date");
    testenv_response_free(&r);
    snprintf(body, sizeof(body),
             "{\"username\":\"late.contractor\",\"name\":\"Lee Tardy\",\"password\":\"tessera-demo\",%s,"
             "\"contract\":{\"end_date\":\"%s\"}}",
             pre, future);
    r = testenv_http(testenv, "POST", "/api/v1/workers", admin, body, NULL);
    assert_refused(&r, 400, "missing_field", "contract.name");
    testenv_response_free(&r);
    char staff[32];
    add_worker(admin, "council.staff", "Cora Council", "\"roles\":[\"social-worker\"]", staff);
    snprintf(body, sizeof(body), "{\"contract\":{\"name\":\"Anything\",\"end_date\":\"%s\"}}", future);
    r = put_worker(admin, staff, body);
    assert_refused(&r, 422, "not_third_party", "contract");
    testenv_response_free(&r);
    free(token);
    free(admin);
}

static void
test_a_third_party_session_stops_the_day_after_the_contract_ends_with_nothing_else_happening(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char id[32], today[16], body[512], sql[512];
    sql_date("current_date", today);
    snprintf(body, sizeof(body),
             "\"roles\":[\"social-worker\"],\"contract\":{\"name\":\"Last day today\",\"end_date\":\"%s\"}",
             today);
    add_worker(admin, "last.day", "Lena Dayton", body, id);
    /* The end date is the last day the account works. */
    char *token = testenv_login(testenv, "last.day");
    testenv_response_t r = testenv_http(testenv, "GET", "/api/v1/organisations/7500065", token, NULL, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    /* Wait until the gateway has heard of the account, so that what it holds is moved on too. */
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM gateway.worker_accounts WHERE worker_id = %s", id);
    for (int i = 0; i < 40 && testenv_sql_long(testenv, sql) == 0; i++)
        usleep(50 * 1000);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);

    /* Midnight passes: every stored date moves a day into the past, as the calendar would move on,
     * with no event and no call to any daemon. */
    char out[256];
    snprintf(
        sql, sizeof(sql),
        "UPDATE accounts.worker_contracts SET end_date = end_date - 1 WHERE worker_id = %s;"
        "UPDATE gateway.worker_accounts SET contract_end_date = contract_end_date - 1 WHERE worker_id = %s;"
        "UPDATE gateway.sessions SET contract_end_date = contract_end_date - 1 WHERE worker_id = %s;",
        id, id, id);
    assert_int_equal(testenv_psql(testenv, NULL, sql, out, sizeof(out)), 0);
    r = testenv_http(testenv, "GET", "/api/v1/organisations/7500065", token, NULL, NULL);
    assert_refused(&r, 403, "contract_ended", NULL);
    testenv_response_free(&r);
    r = testenv_http(testenv, "POST", "/api/v1/session", NULL,
                     "{\"username\":\"last.day\",\"password\":\"tessera-demo\"}", NULL);
    assert_refused(&r, 403, "contract_ended", NULL);
    testenv_response_free(&r);
    free(token);
    free(admin);
}

static void test_the_demo_has_a_third_party_worker_whose_contract_runs_on(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *carer = testenv_login(testenv, "carers.worker");
    char today[16];
    sql_date("current_date", today);
    testenv_response_t r = testenv_http(testenv, "GET", "/api/v1/workers?q=carers.worker", admin, NULL, NULL);
    json_t *item = json_array_get(json_object_get(r.json, "items"), 0);
    assert_non_null(item);
    assert_true(json_is_true(json_object_get(item, "third_party")));
    const char *end = json_string_value(json_object_get(json_object_get(item, "contract"), "end_date"));
    assert_non_null(end);
    assert_true(strcmp(end, today) > 0);
    testenv_response_free(&r);
    free(carer);
    free(admin);
}

/* The roles the Workers page offers (ui/public/app/pages/workers.js) are the suite's: an account can
 * be given each of them, so that no tick on the page is answered with unknown_role. The page offered
 * 'Performance analyst' (the report's role) while accounts refused it. */
static void test_every_role_the_workers_page_offers_can_be_given_to_an_account(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    FILE *page = fopen(TSR_SOURCE_DIR "/ui/public/app/pages/workers.js", "r");
    assert_non_null(page);
    char line[512], roles[2048] = "", id[32];
    size_t offered = 0;
    int in_list = 0;
    while (fgets(line, sizeof(line), page) != NULL) {
        if (strstr(line, "const ROLES = [") != NULL)
            in_list = 1;
        else if (in_list && strstr(line, "].map(") != NULL)
            break;
        else if (in_list) {
            char role[64];
            if (sscanf(line, " ['%63[a-z-]'", role) == 1) {
                size_t used = strlen(roles);
                snprintf(roles + used, sizeof(roles) - used, "%s\"%s\"", offered ? "," : "", role);
                offered++;
            }
        }
    }
    fclose(page);
    assert_true(offered >= 10); /* the list was read, not missed */
    char rest[2200];
    snprintf(rest, sizeof(rest), "\"roles\":[%s]", roles);
    add_worker(admin, "every.role", "Every Role", rest, id);
    testenv_response_t r = get_worker(admin, id);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "roles")), offered);
    testenv_response_free(&r);
    free(admin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_system_support_adds_an_account_that_signs_in_with_its_roles_and_teams),
        cmocka_unit_test(
            test_a_new_account_needs_a_dbs_check_at_most_2_years_old_unless_a_risk_assessment_is_approved),
        cmocka_unit_test(test_a_mover_loses_the_old_roles_at_once),
        cmocka_unit_test(test_a_mover_reaches_what_the_new_team_allows_without_signing_in_again),
        cmocka_unit_test(test_a_change_made_outside_the_api_reaches_open_sessions_through_the_event),
        cmocka_unit_test(test_an_older_description_of_an_account_never_replaces_a_newer_one),
        cmocka_unit_test(test_a_line_manager_and_the_teams_they_manage_are_kept_on_the_account),
        cmocka_unit_test(test_workers_find_colleagues_by_name_and_team_and_see_only_names_roles_and_teams),
        cmocka_unit_test(test_every_change_to_an_account_is_published_with_the_account_as_it_now_stands),
        cmocka_unit_test(test_a_third_party_account_stops_after_its_contract_ends),
        cmocka_unit_test(
            test_a_third_party_session_stops_the_day_after_the_contract_ends_with_nothing_else_happening),
        cmocka_unit_test(test_the_demo_has_a_third_party_worker_whose_contract_runs_on),
        cmocka_unit_test(test_every_role_the_workers_page_offers_can_be_given_to_an_account),
    };
    return cmocka_run_group_tests(tests, testenv_group_setup, testenv_group_teardown);
}
