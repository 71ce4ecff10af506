/* Access prerequisites and leavers (seed 002): an account works only while its DBS check, training
 * and acceptable-use policy hold, and a leaver's sessions end with the account. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accounts.pb-c.h"
#include "tsr_client.h"
#include "tsr_config.h"
#include "tsr_testenv.h"
#include <zmq.h>

/* The count sql gives, once it reaches want or after 10 s. */
static long wait_count(const char *sql, long want)
{
    long n = 0;
    for (int i = 0; i < 100; i++) {
        n = testenv_sql_long(testenv, sql);
        if (n >= want)
            break;
        usleep(100 * 1000);
    }
    return n;
}

/* Waits until token's calls are refused (the gateway has applied accounts' event); the status. */
static long wait_signed_out(const char *token)
{
    long status = 200;
    for (int i = 0; i < 60 && status == 200; i++) {
        testenv_response_t r = testenv_http(testenv, "GET", "/api/v1/workview", token, NULL, NULL);
        status = r.status;
        testenv_response_free(&r);
        if (status == 200)
            usleep(50 * 1000);
    }
    return status;
}

static void worker_id_of(const char *username, char out[32])
{
    char body[128];
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"tessera-demo\"}", username);
    testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/session", NULL, body, NULL);
    assert_int_equal(r.status, 201);
    snprintf(out, 32, "%s", json_string_value(json_object_get(json_object_get(r.json, "worker"), "id")));
    testenv_response_free(&r);
}

static long sign_in(const char *username, testenv_response_t *out)
{
    char body[128];
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"tessera-demo\"}", username);
    *out = testenv_http(testenv, "POST", "/api/v1/session", NULL, body, NULL);
    return out->status;
}

static void set_prerequisites(const char *admin, const char *worker, const char *body, long status)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/workers/%s/prerequisites", worker);
    testenv_response_t r = testenv_http(testenv, "PUT", path, admin, body, NULL);
    if (r.status != status)
        fail_msg("prerequisites %s: %ld %s", body, r.status, r.body);
    testenv_response_free(&r);
}

static void test_an_account_with_a_dbs_check_over_3_years_old_cannot_sign_in_and_is_told_why(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char worker[32];
    worker_id_of("eh.worker", worker);
    set_prerequisites(admin, worker,
                      "{\"dbs_checked_on\":\"2019-03-01\",\"training_completed_on\":\"2019-04-01\","
                      "\"aup_signed_on\":\"2019-04-02\",\"conflicts_declared_on\":\"2019-04-02\"}",
                      200);
    testenv_response_t r;
    sign_in("eh.worker", &r);
    testenv_assert_error(&r, 403, "dbs_out_of_date");
    const char *message = json_string_value(json_object_get(json_object_get(r.json, "error"), "message"));
    assert_non_null(strstr(message, "01/03/2019"));
    assert_non_null(strstr(message, "3 years"));
    testenv_response_free(&r);
    /* A wrong password still says only that the credentials are wrong: nothing about the account. */
    r = testenv_http(testenv, "POST", "/api/v1/session", NULL,
                     "{\"username\":\"eh.worker\",\"password\":\"wrong-one\"}", NULL);
    testenv_assert_error(&r, 401, "invalid_credentials");
    testenv_response_free(&r);
    /* An HR-approved risk assessment covers the wait for a new check. */
    set_prerequisites(admin, worker,
                      "{\"dbs_checked_on\":\"2019-03-01\",\"risk_assessment_approved\":true,"
                      "\"training_completed_on\":\"2019-04-01\",\"aup_signed_on\":\"2019-04-02\",\"conflicts_"
                      "declared_on\":\"2019-04-02\"}",
                      200);
    assert_int_equal(sign_in("eh.worker", &r), 201);
    testenv_response_free(&r);
    /* Training and the acceptable-use policy are prerequisites too (with a DBS check of today's). */
    char today[16], body[200];
    testenv_sql_date(testenv, "current_date", today);
    snprintf(body, sizeof(body),
             "{\"dbs_checked_on\":\"%s\",\"aup_signed_on\":\"%s\",\"conflicts_declared_on\":\"%s\"}", today,
             today, today);
    set_prerequisites(admin, worker, body, 200);
    sign_in("eh.worker", &r);
    testenv_assert_error(&r, 403, "training_not_done");
    testenv_response_free(&r);
    snprintf(body, sizeof(body), "{\"dbs_checked_on\":\"%s\",\"training_completed_on\":\"%s\"}", today,
             today);
    set_prerequisites(admin, worker, body, 200);
    sign_in("eh.worker", &r);
    testenv_assert_error(&r, 403, "aup_not_signed");
    testenv_response_free(&r);
    /* A date in the future is refused; only system support records prerequisites. */
    set_prerequisites(admin, worker, "{\"dbs_checked_on\":\"2999-01-01\"}", 400);
    char *sw = testenv_login(testenv, "mash.sw");
    set_prerequisites(sw, worker, "{\"dbs_checked_on\":\"2026-01-05\"}", 403);
    free(sw);
    free(admin);
}

/* The status and error code of token's call to the workview, asked once. */
static long workview_status(const char *token, char code[64])
{
    testenv_response_t r = testenv_http(testenv, "GET", "/api/v1/workview", token, NULL, NULL);
    long status = r.status;
    const char *c = json_string_value(json_object_get(json_object_get(r.json, "error"), "code"));
    snprintf(code, 64, "%s", c ? c : "");
    testenv_response_free(&r);
    return status;
}

/* The message of r's error (a copy, freed by the caller). */
static char *error_message_of(const testenv_response_t *r)
{
    const char *m = json_string_value(json_object_get(json_object_get(r->json, "error"), "message"));
    return strdup(m ? m : "");
}

/* The refusal met by token's next call once it is refused, and by signing in as username: the same
 * code and the same words, which must hold every one of want (NULL-ended). */
static void assert_refused_alike(const char *token, const char *username, const char *code,
                                 const char *const *want)
{
    char got[64];
    assert_int_equal(workview_status(token, got), 403);
    assert_string_equal(got, code);
    testenv_response_t r = testenv_http(testenv, "GET", "/api/v1/workview", token, NULL, NULL);
    char *on_call = error_message_of(&r);
    testenv_response_free(&r);
    sign_in(username, &r);
    testenv_assert_error(&r, 403, code);
    char *on_sign_in = error_message_of(&r);
    testenv_response_free(&r);
    if (strcmp(on_call, on_sign_in) != 0)
        fail_msg("a session's call and signing in said different things:\n%s\n%s", on_call, on_sign_in);
    for (const char *const *w = want; *w != NULL; w++)
        if (strstr(on_call, *w) == NULL)
            fail_msg("the refusal (%s) does not say '%s': %s", code, *w, on_call);
    free(on_call);
    free(on_sign_in);
}

/* Seed 002: staff "sign the MOSAIC acceptable use policy and declare any conflict of interest", and
 * only then are given their logon details. A starter with the policy signed signed in without ever
 * having declared anything, and nothing could record a declaration, not even "nothing to declare".
 * The declaration's date is now a prerequisite: refused until it is recorded, at sign-in and on a
 * session's calls, saying what to do; "nothing to declare" is a date with no one named. */
static void test_a_starter_signs_in_only_once_their_declaration_of_conflicts_is_recorded(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char today[16], tomorrow[16], body[600], path[128], sql[300];
    testenv_sql_date(testenv, "current_date", today);
    testenv_sql_date(testenv, "current_date + 1", tomorrow);
    snprintf(body, sizeof(body),
             "{\"username\":\"decl.dana\",\"name\":\"Dana Declan\",\"password\":\"tessera-demo\","
             "\"roles\":[\"social-worker\"],\"teams\":[\"Children in Need 1\"],\"prerequisites\":"
             "{\"dbs_checked_on\":\"%s\",\"dbs_barred_lists\":\"both\",\"training_completed_on\":\"%s\"}}",
             today, today);
    json_t *account = testenv_call_json(testenv, admin, "POST", "/api/v1/workers", body, 201);
    char worker[32];
    snprintf(worker, sizeof(worker), "%s", testenv_str(account, "id"));
    assert_string_equal(testenv_str(account, "state"), "aup_not_signed");
    assert_true(
        json_is_null(json_object_get(json_object_get(account, "prerequisites"), "conflicts_declared_on")));
    json_decref(account);
    testenv_response_t r;
    sign_in("decl.dana", &r);
    testenv_assert_error(&r, 403, "aup_not_signed");
    testenv_response_free(&r);

    /* The policy signed, nothing declared: still refused, saying what is missing and what to do. */
    snprintf(path, sizeof(path), "/api/v1/workers/%s/prerequisites", worker);
    snprintf(body, sizeof(body),
             "{\"dbs_checked_on\":\"%s\",\"dbs_barred_lists\":\"both\",\"training_completed_on\":\"%s\","
             "\"aup_signed_on\":\"%s\"}",
             today, today, today);
    account = testenv_call_json(testenv, admin, "PUT", path, body, 200);
    assert_string_equal(testenv_str(account, "state"), "conflicts_not_declared");
    json_decref(account);
    sign_in("decl.dana", &r);
    testenv_assert_error(&r, 403, "conflicts_not_declared");
    const char *message = json_string_value(json_object_get(json_object_get(r.json, "error"), "message"));
    if (strstr(message, "conflict of interest") == NULL || strstr(message, "system support") == NULL ||
        strstr(message, "no one") == NULL)
        fail_msg("the refusal does not say what to declare and to whom: %s", message);
    testenv_response_free(&r);

    /* A declaration dated tomorrow is refused and changes nothing. */
    snprintf(body, sizeof(body),
             "{\"dbs_checked_on\":\"%s\",\"dbs_barred_lists\":\"both\",\"training_completed_on\":\"%s\","
             "\"aup_signed_on\":\"%s\",\"conflicts_declared_on\":\"%s\"}",
             today, today, today, tomorrow);
    testenv_call_error(testenv, admin, "PUT", path, body, 400, "date_in_future", "conflicts_declared_on");
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM accounts.workers WHERE id = %s AND conflicts_declared_on IS NULL", worker);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);

    /* "Nothing to declare", made today: the account signs in, and shows the declaration. */
    snprintf(body, sizeof(body),
             "{\"dbs_checked_on\":\"%s\",\"dbs_barred_lists\":\"both\",\"training_completed_on\":\"%s\","
             "\"aup_signed_on\":\"%s\",\"conflicts_declared_on\":\"%s\"}",
             today, today, today, today);
    account = testenv_call_json(testenv, admin, "PUT", path, body, 200);
    assert_string_equal(testenv_str(account, "state"), "active");
    assert_string_equal(testenv_str(json_object_get(account, "prerequisites"), "conflicts_declared_on"),
                        today);
    json_decref(account);
    char *token = testenv_login(testenv, "decl.dana");
    char code[64];
    assert_int_equal(workview_status(token, code), 200);

    /* The declaration recorded as withdrawn: the open session is refused as signing in is. */
    snprintf(body, sizeof(body),
             "{\"dbs_checked_on\":\"%s\",\"dbs_barred_lists\":\"both\",\"training_completed_on\":\"%s\","
             "\"aup_signed_on\":\"%s\"}",
             today, today, today);
    set_prerequisites(admin, worker, body, 200);
    const char *declare[] = {"conflict of interest", "Tell system support", NULL};
    assert_refused_alike(token, "decl.dana", "conflicts_not_declared", declare);

    /* The audit trail says what was recorded. */
    snprintf(
        sql, sizeof(sql),
        "SELECT count(*) FROM audit.entries WHERE record_kind = 'worker' AND record_id = %s"
        " AND action = 'record-prerequisites' AND summary LIKE '%%conflicts of interest declared on %s%%'",
        worker, today);
    assert_int_equal(wait_count(sql, 1), 1);
    free(token);
    free(admin);
}

/* Records a DBS check done on dbs that included lists (both, children, adults), training and the
 * acceptable-use policy yesterday, and a return from leave on returned (NULL: none). */
static void dbs_recorded(const char *admin, const char *worker, const char *dbs, const char *lists,
                         const char *returned)
{
    char yesterday[16], body[512], back[64] = "";
    testenv_sql_date(testenv, "current_date - 1", yesterday);
    if (returned != NULL)
        snprintf(back, sizeof(back), ",\"returned_from_leave_on\":\"%s\"", returned);
    snprintf(body, sizeof(body),
             "{\"dbs_checked_on\":\"%s\",\"dbs_barred_lists\":\"%s\",\"training_completed_on\":\"%s\","
             "\"aup_signed_on\":\"%s\",\"conflicts_declared_on\":\"%s\"%s}",
             dbs, lists, yesterday, yesterday, yesterday, back);
    set_prerequisites(admin, worker, body, 200);
}

/* Seed 002: the DBS check "needs to include both the adult and child barred list check", and is
 * renewed "after parental leave or a career break". */
static void
test_a_dbs_check_of_one_barred_list_or_from_before_leave_does_not_let_an_account_be_used(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char worker[32], today[16], yesterday[16];
    testenv_add_worker(testenv, admin, "barred.bo", "Bo Barrington", "\"roles\":[\"social-worker\"]", worker);
    testenv_sql_date(testenv, "current_date", today);
    testenv_sql_date(testenv, "current_date - 1", yesterday);
    dbs_recorded(admin, worker, yesterday, "children", NULL);
    testenv_response_t r;
    sign_in("barred.bo", &r);
    testenv_assert_error(&r, 403, "dbs_barred_list_missing");
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(r.json, "error"), "message")),
                           "children's barred list only"));
    testenv_response_free(&r);
    /* Both lists checked: the account works, and shows what was recorded. */
    dbs_recorded(admin, worker, yesterday, "both", NULL);
    assert_int_equal(sign_in("barred.bo", &r), 201);
    testenv_response_free(&r);
    /* Back from parental leave today: yesterday's check no longer counts, until a new one is recorded. */
    dbs_recorded(admin, worker, yesterday, "both", today);
    sign_in("barred.bo", &r);
    testenv_assert_error(&r, 403, "dbs_out_of_date");
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(r.json, "error"), "message")),
                           "parental leave or a career break"));
    testenv_response_free(&r);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/workers/%s", worker);
    json_t *account = testenv_call_json(testenv, admin, "GET", path, NULL, 200);
    assert_string_equal(testenv_str(account, "state"), "dbs_out_of_date");
    json_t *pre = json_object_get(account, "prerequisites");
    assert_string_equal(testenv_str(pre, "dbs_barred_lists"), "both");
    assert_string_equal(testenv_str(pre, "returned_from_leave_on"), today);
    json_decref(account);
    dbs_recorded(admin, worker, today, "both", today);
    assert_int_equal(sign_in("barred.bo", &r), 201);
    testenv_response_free(&r);
    /* What is not one of the lists, or a return in the future, is refused and changes nothing. */
    snprintf(path, sizeof(path), "/api/v1/workers/%s/prerequisites", worker);
    testenv_call_error(testenv, admin, "PUT", path,
                       "{\"dbs_checked_on\":\"2026-01-05\",\"dbs_barred_lists\":\"some\"}", 400,
                       "invalid_value", "dbs_barred_lists");
    testenv_call_error(testenv, admin, "PUT", path, "{\"returned_from_leave_on\":\"2999-01-01\"}", 400,
                       "date_in_future", "returned_from_leave_on");
    assert_int_equal(sign_in("barred.bo", &r), 201);
    testenv_response_free(&r);
    free(admin);
}

static void test_a_leavers_existing_token_stops_working(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *leaver = testenv_login(testenv, "key.worker");
    char worker[32];
    worker_id_of("key.worker", worker);
    testenv_response_t r = testenv_http(testenv, "GET", "/api/v1/organisations/7500065", leaver, NULL, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    testenv_end_worker(testenv, admin, worker, "Left the council");
    /* The gateway hears of it through the accounts daemon's events: within moments. */
    long status = 200;
    for (int i = 0; i < 40 && status == 200; i++) {
        r = testenv_http(testenv, "GET", "/api/v1/organisations/7500065", leaver, NULL, NULL);
        status = r.status;
        testenv_response_free(&r);
        if (status == 200)
            usleep(50 * 1000);
    }
    assert_int_equal(status, 401);
    sign_in("key.worker", &r);
    testenv_assert_error(&r, 403, "account_ended");
    testenv_response_free(&r);
    /* The trail keeps who ended the account, and the change it made to it. */
    char sql[300], admin_id[32];
    worker_id_of("admin", admin_id);
    snprintf(
        sql, sizeof(sql),
        "SELECT count(DISTINCT action) FROM audit.entries WHERE record_kind = 'worker' AND record_id = %s"
        " AND worker_id = %s AND action IN ('end-account', 'change-account')",
        worker, admin_id);
    assert_int_equal(wait_count(sql, 2), 2);
    /* Ending it again finds no open account. */
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/workers/%s/end", worker);
    r = testenv_http(testenv, "POST", path, admin, "{\"reason\":\"again\"}", NULL);
    testenv_assert_error(&r, 404, "not_found");
    testenv_response_free(&r);
    free(admin);
    free(leaver);
}

/* A leaver's end was answered before the gateway had applied it: the leaver's next call, made at
 * once with the old token, went through in two tries of four. Now the end, and prerequisites recorded
 * as lapsed or met again, hold in the gateway before the answer, as a mover's change does: the very
 * next call meets them, with no wait. */
static void test_an_ended_or_lapsed_account_is_refused_on_its_very_next_call(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char code[64], path[128];
    for (int i = 0; i < 4; i++) {
        char username[32], worker[32];
        snprintf(username, sizeof(username), "quick.leaver%d", i);
        testenv_add_worker(testenv, admin, username, "Quinn Leaverton",
                           "\"roles\":[\"social-worker\"],\"teams\":[\"Children in Need 1\"]", worker);
        char *token = testenv_login(testenv, username);
        /* Found once, so that the gateway has the session in hand (and in its cache). */
        assert_int_equal(workview_status(token, code), 200);
        snprintf(path, sizeof(path), "/api/v1/workers/%s/end", worker);
        json_t *ended =
            testenv_call_json(testenv, admin, "POST", path, "{\"reason\":\"Left the council\"}", 200);
        assert_string_equal(testenv_str(ended, "state"), "ended");
        json_decref(ended);
        if (workview_status(token, code) != 401)
            fail_msg("try %d: the leaver's call straight after the end was not refused (%s)", i, code);
        free(token);
    }

    char worker[32], today[16], met[256], lapsed[256];
    testenv_add_worker(testenv, admin, "quick.lapse", "Quin Lapsley",
                       "\"roles\":[\"social-worker\"],\"teams\":[\"Children in Need 1\"]", worker);
    testenv_sql_date(testenv, "current_date", today);
    snprintf(met, sizeof(met),
             "{\"dbs_checked_on\":\"%s\",\"dbs_barred_lists\":\"both\",\"training_completed_on\":\"%s\","
             "\"aup_signed_on\":\"%s\",\"conflicts_declared_on\":\"%s\"}",
             today, today, today, today);
    snprintf(lapsed, sizeof(lapsed),
             "{\"dbs_checked_on\":\"%s\",\"dbs_barred_lists\":\"both\",\"aup_signed_on\":\"%s\",\"conflicts_"
             "declared_on\":\"%s\"}",
             today, today, today);
    char *token = testenv_login(testenv, "quick.lapse");
    snprintf(path, sizeof(path), "/api/v1/workers/%s/prerequisites", worker);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(workview_status(token, code), 200);
        json_t *account = testenv_call_json(testenv, admin, "PUT", path, lapsed, 200);
        assert_string_equal(testenv_str(account, "state"), "training_not_done");
        json_decref(account);
        if (workview_status(token, code) != 403 || strcmp(code, "training_not_done") != 0)
            fail_msg("try %d: the call straight after training was withdrawn was not refused (%s)", i, code);
        json_decref(testenv_call_json(testenv, admin, "PUT", path, met, 200));
        if (workview_status(token, code) != 200)
            fail_msg("try %d: the call straight after training was recorded again was refused (%s)", i, code);
    }
    free(token);
    free(admin);
}

static void test_the_first_administrator_is_made_by_the_tool_with_a_password_from_a_private_file(void **state)
{
    (void)state;
    char args[600], out[2048], date[16];
    testenv_sql_date(testenv, "current_date - 30", date);
    /* The password from a file anyone could read is refused, and nothing is made. */
    char *loose = testenv_write_file(testenv, "admin-password-loose", "Correct-Horse-Battery-9\n");
    chmod(loose, 0644);
    snprintf(args, sizeof(args),
             "accounts add-administrator --username first.admin --name 'Fern Firstwell' --password-file %s"
             " --dbs-checked-on %s --training-completed-on %s --aup-signed-on %s --conflicts-declared-on %s",
             loose, date, date, date, date);
    assert_int_equal(testenv_run_tool(testenv, args, out, sizeof(out)), 2);
    assert_non_null(strstr(out, "can be read by other users"));
    assert_int_equal(
        testenv_sql_long(testenv, "SELECT count(*) FROM accounts.workers WHERE username = 'first.admin'"), 0);
    /* From a private file: made, and it signs in as an administrator who may add workers. */
    char *private_file = testenv_write_file(testenv, "admin-password", "Correct-Horse-Battery-9\n");
    chmod(private_file, 0600);
    snprintf(args, sizeof(args),
             "accounts add-administrator --username first.admin --name 'Fern Firstwell' --password-file %s"
             " --dbs-checked-on %s --training-completed-on %s --aup-signed-on %s --conflicts-declared-on %s "
             "--dbs-barred-lists both"
             " --email fern@council.example",
             private_file, date, date, date, date);
    if (testenv_run_tool(testenv, args, out, sizeof(out)) != 0)
        fail_msg("add-administrator: %s", out);
    assert_non_null(strstr(out, "Administrator first.admin"));
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM accounts.workers WHERE username ="
                                               " 'first.admin' AND dbs_barred_lists = 'both'"),
                     1);
    testenv_response_t r =
        testenv_http(testenv, "POST", "/api/v1/session", NULL,
                     "{\"username\":\"first.admin\",\"password\":\"Correct-Horse-Battery-9\"}", NULL);
    assert_int_equal(r.status, 201);
    const json_t *roles = json_object_get(json_object_get(r.json, "worker"), "roles");
    int admin = 0;
    for (size_t k = 0; k < json_array_size(roles); k++)
        admin += strcmp(json_string_value(json_array_get(roles, k)), "admin") == 0;
    assert_int_equal(admin, 1);
    testenv_response_free(&r);
    /* Locked out (ten wrong passwords, a pause): the tool run again on the server recovers the
     * account at once, with the password from the file. */
    for (int i = 0; i < 10; i++) {
        r = testenv_http(testenv, "POST", "/api/v1/session", NULL,
                         "{\"username\":\"first.admin\",\"password\":\"what-was-it\"}", NULL);
        testenv_response_free(&r);
    }
    r = testenv_http(testenv, "POST", "/api/v1/session", NULL,
                     "{\"username\":\"first.admin\",\"password\":\"Correct-Horse-Battery-9\"}", NULL);
    testenv_assert_error(&r, 403, "sign_in_paused");
    testenv_response_free(&r);
    if (testenv_run_tool(testenv, args, out, sizeof(out)) != 0)
        fail_msg("add-administrator again: %s", out);
    r = testenv_http(testenv, "POST", "/api/v1/session", NULL,
                     "{\"username\":\"first.admin\",\"password\":\"Correct-Horse-Battery-9\"}", NULL);
    assert_int_equal(r.status, 201);
    char *opened = strdup(json_string_value(json_object_get(r.json, "token")));
    testenv_response_free(&r);
    /* Run again with another password (the account thought compromised): the sessions opened with
     * the old one end, and only the new one signs in. */
    char *other_file = testenv_write_file(testenv, "admin-password-2", "Stapled-Lantern-Orchard-4\n");
    chmod(other_file, 0600);
    snprintf(args, sizeof(args),
             "accounts add-administrator --username first.admin --name 'Fern Firstwell' --password-file %s"
             " --dbs-checked-on %s --training-completed-on %s --aup-signed-on %s --conflicts-declared-on %s",
             other_file, date, date, date, date);
    if (testenv_run_tool(testenv, args, out, sizeof(out)) != 0)
        fail_msg("add-administrator with a new password: %s", out);
    assert_int_equal(wait_signed_out(opened), 401);
    r = testenv_http(testenv, "POST", "/api/v1/session", NULL,
                     "{\"username\":\"first.admin\",\"password\":\"Stapled-Lantern-Orchard-4\"}", NULL);
    assert_int_equal(r.status, 201);
    testenv_response_free(&r);
    free(opened);
    free(other_file);
    /* Without its required dates the command says what is missing. */
    snprintf(args, sizeof(args),
             "accounts add-administrator --username second.admin --name 'Sol Secondly' --password-file %s",
             private_file);
    assert_int_equal(testenv_run_tool(testenv, args, out, sizeof(out)), 2);
    assert_non_null(strstr(out, "--dbs-checked-on"));
    /* An administrator declares conflicts of interest as any worker does (seed 002). */
    snprintf(args, sizeof(args),
             "accounts add-administrator --username second.admin --name 'Sol Secondly' --password-file %s"
             " --dbs-checked-on %s --training-completed-on %s --aup-signed-on %s",
             private_file, date, date, date);
    assert_int_equal(testenv_run_tool(testenv, args, out, sizeof(out)), 2);
    assert_non_null(strstr(out, "--conflicts-declared-on is required"));
    assert_int_equal(
        testenv_sql_long(testenv, "SELECT count(*) FROM accounts.workers WHERE username = 'second.admin'"),
        0);
    free(loose);
    free(private_file);
}

/* What the tool says to an operator: `tessera <command> --help` was "--help is not an option of this
 * command" (exit 2), the top-level usage left out add-administrator's --dbs-barred-lists, a refusal
 * naming a field broke its line inside "(field ...\n)", and a JSON file that could not be opened was
 * at "line -1, column -1". */
static void test_the_tools_usage_and_refusals_read_as_an_operator_needs(void **state)
{
    (void)state;
    char out[8192], args[800], date[16];
    const char *helps[] = {"accounts add-administrator --help", "demo load --help", "retention due -h",
                           "audit report leavers --help", "accounts --help"};
    for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++) {
        if (testenv_run_tool(testenv, helps[i], out, sizeof(out)) != 0 ||
            strstr(out, "usage: tessera [--config FILE] ") == NULL || strstr(out, "not an option") != NULL)
            fail_msg("tessera %s did not give its usage: %s", helps[i], out);
    }
    assert_int_equal(testenv_run_tool(testenv, "accounts add-administrator --help", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "[--dbs-barred-lists both|children|adults]"));
    assert_non_null(strstr(out, "--conflicts-declared-on YYYY-MM-DD"));
    assert_int_equal(testenv_run_tool(testenv, "--help", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "[--dbs-barred-lists both|children|adults]"));
    assert_non_null(strstr(out, "--conflicts-declared-on YYYY-MM-DD"));

    testenv_sql_date(testenv, "current_date - 30", date);
    char *password = testenv_write_file(testenv, "barred-password", "Correct-Horse-Battery-9\n");
    chmod(password, 0600);
    snprintf(args, sizeof(args),
             "accounts add-administrator --username barred.admin --name 'Bo Barred' --password-file %s"
             " --dbs-checked-on %s --training-completed-on %s --aup-signed-on %s --conflicts-declared-on %s "
             "--dbs-barred-lists bothh",
             password, date, date, date, date);
    assert_int_equal(testenv_run_tool(testenv, args, out, sizeof(out)), 1);
    if (strstr(out, "(field prerequisites.dbs_barred_lists)\n") == NULL)
        fail_msg("the refusal does not name its field on one line: %s", out);
    free(password);

    assert_int_equal(
        testenv_run_tool(testenv, "cpis read-response 1 /nonexistent/response.json", out, sizeof(out)), 1);
    if (strstr(out, "it cannot be read: unable to open") == NULL || strstr(out, "line -1") != NULL)
        fail_msg("a file that cannot be opened is not said so: %s", out);
}

/* accounts.worker.import of an administrator, sent straight to the accounts daemon on the bus as
 * the system, marked as demo data (demo_load) or not: the error code, "" when it was taken. */
static void import_on_the_bus(const char *username, int demo_load, char code[64])
{
    tsr_error_t err;
    tsr_config_t *config = tsr_config_load(testenv->config, &err);
    assert_non_null(config);
    const char *endpoint = tsr_config_get(config, "accounts.rpc", NULL);
    assert_non_null(endpoint);
    void *zmq = zmq_ctx_new();
    static char *system_roles[] = {"system"}, *roles[] = {"admin", "system-support"};
    Tsr__Actor actor = TSR__ACTOR__INIT;
    actor.username = "system";
    actor.roles = system_roles;
    actor.n_roles = 1;
    Tsr__Accounts__WorkerImport in = TSR__ACCOUNTS__WORKER_IMPORT__INIT;
    in.username = (char *)username;
    in.name = "Dee Intruder";
    in.password = "tessera-demo";
    in.roles = roles;
    in.n_roles = 2;
    tsr_call_opts_t opts = {
        .type = "accounts.worker.import", .actor = &actor, .timeout_ms = 10000, .demo_load = demo_load};
    Tsr__Envelope *reply = NULL;
    tsr_error_clear(&err);
    int rc = tsr_client_call_sync(zmq, endpoint, &opts, &in.base, &reply, &err);
    snprintf(code, 64, "%s", rc == 0 ? "" : err.code);
    if (reply)
        tsr__envelope__free_unpacked(reply, NULL);
    zmq_ctx_term(zmq);
    tsr_config_destroy(&config);
}

/* A production daemon took demo data: its own tessera.demo false, the tool's true (another file,
 * another environment), `tessera demo load` loaded an administrator who then signed in with the
 * published demo password. Each daemon now judges by its own setting: the one not in demo mode
 * refuses, naming itself and its setting, and nothing of the file is loaded (the tool asks each
 * daemon before it loads anything). The daemon refuses a request marked as demo data sent to it
 * directly too. */
static void test_a_daemon_not_in_demo_mode_refuses_demo_data_whatever_the_tools_setting(void **state)
{
    (void)state;
    char *file = testenv_write_file(
        testenv, "demo2.json",
        "{\"password\": \"tessera-demo\", \"workers\": [{\"username\": \"demo.intruder\", \"name\": \"Dee "
        "Intruder\", \"roles\": [\"admin\", \"system-support\"], \"teams\": [\"System Support\"]}],"
        " \"organisations\": [{\"id\": \"7999001\", \"name\": \"Intruder Surgery\", \"address\": \"1 Demo "
        "Road\", \"telephone\": \"01632 960001\"}]}");
    const char *loaded = "SELECT (SELECT count(*) FROM accounts.workers WHERE username = 'demo.intruder')"
                         " + (SELECT count(*) FROM records.organisations WHERE id = 7999001)";
    const char *daemons[] = {"accounts", "records", "cpis"};
    char args[600], out[4096], said[128], code[64];
    for (size_t d = 0; d < sizeof(daemons) / sizeof(daemons[0]); d++) {
        testenv_restart_with(testenv, daemons[d], "TESSERA_TESSERA_DEMO", "false");
        snprintf(args, sizeof(args), "demo load %s", file);
        assert_int_equal(testenv_run_tool(testenv, args, out, sizeof(out)), 1);
        snprintf(said, sizeof(said), "The %s service takes no demo data", daemons[d]);
        if (strstr(out, said) == NULL || strstr(out, "tessera.demo") == NULL)
            fail_msg("the refusal does not name the %s daemon and its tessera.demo: %s", daemons[d], out);
        assert_null(strstr(out, "Loaded"));
        assert_int_equal(testenv_sql_long(testenv, loaded), 0);
        assert_true(testenv_log_has(testenv, daemons[d], "refused demo data"));
        if (strcmp(daemons[d], "accounts") == 0) {
            /* Sent to the daemon itself, not after the tool's question: refused all the same. */
            import_on_the_bus("demo.intruder", 1, code);
            assert_string_equal(code, "not_demo_mode");
            assert_int_equal(testenv_sql_long(testenv, loaded), 0);
        }
        testenv_kill(testenv, daemons[d], SIGTERM);
        assert_int_equal(testenv_wait_exit(testenv, daemons[d], 15000), 0);
        testenv_restart(testenv, daemons[d]);
    }
    testenv_response_t r;
    assert_int_equal(sign_in("demo.intruder", &r), 401);
    testenv_response_free(&r);
    free(file);
}

/* The gateway forgets a session that stopped (signed out or expired) more than
 * gateway.session_keep_days (30) ago, at its hourly housekeeping; one that stopped more recently,
 * and one still in use, are kept, and the one in use still works. */
/* An upgrade that adds to a daemon's copy of the accounts (a worker's name in records', say) left it
 * empty until the worker's next change: the operator has every account announced again. */
static void test_every_account_announced_again_brings_the_copies_up_to_date(void **state)
{
    (void)state;
    long id = testenv_sql_long(testenv, "SELECT id FROM accounts.workers WHERE username = 'key.worker'");
    long version =
        testenv_sql_long(testenv, "SELECT version FROM accounts.workers WHERE username = 'key.worker'");
    char sql[300], out[1024];
    snprintf(sql, sizeof(sql), "UPDATE records.workers SET name = '' WHERE id = %ld", id);
    assert_int_equal(testenv_psql(testenv, NULL, sql, out, sizeof(out)), 0);
    snprintf(sql, sizeof(sql), "UPDATE workflow.workers SET name = '' WHERE id = %ld", id);
    assert_int_equal(testenv_psql(testenv, NULL, sql, out, sizeof(out)), 0);

    assert_int_equal(testenv_run_tool(testenv, "accounts republish", out, sizeof(out)), 0);
    char says[120];
    snprintf(says, sizeof(says), "Announced %ld accounts again",
             testenv_sql_long(testenv, "SELECT count(*) FROM accounts.workers"));
    assert_non_null(strstr(out, says));
    snprintf(sql, sizeof(sql),
             "SELECT ((SELECT name FROM records.workers WHERE id = %ld) = a.name"
             " AND (SELECT name FROM workflow.workers WHERE id = %ld) = a.name)::int"
             " FROM accounts.workers a WHERE a.id = %ld",
             id, id, id);
    for (int waited = 0; testenv_sql_long(testenv, sql) != 1; waited += 50) {
        if (waited > 10000)
            fail_msg("records' and workflow's copies did not learn the name again");
        usleep(50 * 1000);
    }
    snprintf(sql, sizeof(sql), "SELECT version FROM accounts.workers WHERE id = %ld", id);
    assert_true(testenv_sql_long(testenv, sql) > version);
    /* The trail says what it was: nothing changed. */
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 15000), 0);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE action = 'change-account' AND record_id = %ld"
             " AND summary LIKE '%% announced again, unchanged: %%'",
             id);
    for (int waited = 0; testenv_sql_long(testenv, sql) < 1; waited += 50) {
        if (waited > 10000)
            fail_msg("no trail entry of the account announced again");
        usleep(50 * 1000);
    }
}

static void test_sessions_that_stopped_more_than_the_days_kept_ago_are_forgotten(void **state)
{
    (void)state;
    long before = testenv_sql_long(testenv, "SELECT coalesce(max(id), 0) FROM gateway.sessions");
    char *signed_out = testenv_login(testenv, "mash.sw");
    char *expired_long_ago = testenv_login(testenv, "mash.sw");
    char *expired_lately = testenv_login(testenv, "mash.sw");
    char *in_use = testenv_login(testenv, "mash.sw");
    testenv_response_t r = testenv_http(testenv, "DELETE", "/api/v1/session", signed_out, NULL, NULL);
    assert_int_equal(r.status, 204);
    testenv_response_free(&r);
    char sql[600], out[256];
    snprintf(
        sql, sizeof(sql),
        "UPDATE gateway.sessions s SET ended_at = CASE WHEN n = 1 THEN now() - interval '31 days' END,"
        " expires_at = CASE n WHEN 2 THEN now() - interval '31 days' WHEN 3 THEN now() - interval '29 days'"
        " ELSE s.expires_at END"
        " FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM gateway.sessions"
        "       WHERE id > %ld AND username = 'mash.sw') o WHERE o.id = s.id AND o.n <= 3",
        before);
    assert_int_equal(testenv_psql(testenv, NULL, sql, out, sizeof(out)), 0);
    /* The hourly housekeeping, every 200 ms here. */
    testenv_restart_with(testenv, "gateway", "TESSERA_TESSERA_HOUSEKEEPING_MS", "200");
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM gateway.sessions WHERE id > %ld AND username = 'mash.sw'", before);
    long left = -1;
    for (int i = 0; i < 100; i++) {
        left = testenv_sql_long(testenv, sql);
        if (left == 2)
            break;
        usleep(100 * 1000);
    }
    assert_int_equal(left, 2);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM gateway.sessions WHERE id > %ld AND username = 'mash.sw'"
             " AND expires_at > now() - interval '30 days'",
             before);
    assert_int_equal(testenv_sql_long(testenv, sql), 2);
    assert_true(testenv_log_has(testenv, "gateway", "forgot 2 sessions that stopped more than 30 days ago"));
    r = testenv_http(testenv, "GET", "/api/v1/workview", in_use, NULL, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", "/api/v1/workview", expired_lately, NULL, NULL);
    assert_int_equal(r.status, 401);
    testenv_response_free(&r);
    /* Back to the hourly round. */
    testenv_kill(testenv, "gateway", SIGTERM);
    assert_int_equal(testenv_wait_exit(testenv, "gateway", 15000), 0);
    testenv_restart(testenv, "gateway");
    free(signed_out);
    free(expired_long_ago);
    free(expired_lately);
    free(in_use);
}

static long sign_in_with(const char *username, const char *password, testenv_response_t *out)
{
    char body[200];
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", username, password);
    *out = testenv_http(testenv, "POST", "/api/v1/session", NULL, body, NULL);
    return out->status;
}

/* Wrong passwords under one username: after ten in a row, signing in under it is paused for
 * fifteen minutes, whatever the password, and the worker is told so; a right password before then
 * starts the count again. A username no account has is paused the same way, so that a pause tells
 * nothing of which usernames exist. Other workers sign in as ever. */
static void test_ten_wrong_passwords_in_a_row_pause_sign_in_under_that_username(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char id[32];
    testenv_add_worker(testenv, admin, "pat.pausable", "Pat Pausable", "\"roles\":[\"social-worker\"]", id);
    testenv_response_t r;
    for (int i = 0; i < 9; i++) {
        assert_int_equal(sign_in_with("pat.pausable", "not-the-password", &r), 401);
        testenv_assert_error(&r, 401, "invalid_credentials");
        testenv_response_free(&r);
    }
    /* Nine, then the right one: signed in, and the count starts again. */
    assert_int_equal(sign_in("pat.pausable", &r), 201);
    testenv_response_free(&r);
    for (int i = 0; i < 9; i++) {
        assert_int_equal(sign_in_with("Pat.Pausable", "not-the-password", &r), 401);
        testenv_response_free(&r);
    }
    assert_int_equal(sign_in_with("pat.pausable", "still-not-it", &r), 401);
    const char *message = json_string_value(json_object_get(json_object_get(r.json, "error"), "message"));
    assert_non_null(strstr(message, "paused for 15 minutes"));
    testenv_response_free(&r);
    /* Paused: the right password too is refused, and says for how long. */
    assert_int_equal(sign_in("pat.pausable", &r), 403);
    testenv_assert_error(&r, 403, "sign_in_paused");
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(r.json, "error"), "message")),
                           "15 more minutes"));
    testenv_response_free(&r);
    assert_true(
        testenv_log_has(testenv, "accounts", "sign-in under username 'pat.pausable' paused for 15 minutes"));
    /* Support see the pause on the account, and may lift it without changing the password. */
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/workers/%s", id);
    json_t *account = testenv_call_json(testenv, admin, "GET", path, NULL, 200);
    assert_true(json_is_string(json_object_get(account, "sign_in_paused_until")));
    json_decref(account);
    snprintf(path, sizeof(path), "/api/v1/workers/%s/sign-in-pause", id);
    char *sw = testenv_login(testenv, "mash.sw");
    testenv_call_error(testenv, sw, "DELETE", path, NULL, 403, "forbidden", NULL);
    free(sw);
    account = testenv_call_json(testenv, admin, "DELETE", path, NULL, 200);
    assert_true(json_is_null(json_object_get(account, "sign_in_paused_until")));
    json_decref(account);
    testenv_call_error(testenv, admin, "DELETE", path, NULL, 409, "not_paused", NULL);
    char sql[300], admin_id[32];
    worker_id_of("admin", admin_id);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_kind = 'worker' AND record_id = %s"
             " AND worker_id = %s AND action = 'lift-sign-in-pause'",
             id, admin_id);
    assert_int_equal(wait_count(sql, 1), 1);
    assert_int_equal(sign_in("pat.pausable", &r), 201);
    testenv_response_free(&r);
    /* Paused again, for the pause's own end below. */
    for (int i = 0; i < 10; i++) {
        sign_in_with("pat.pausable", "not-the-password", &r);
        testenv_response_free(&r);
    }
    assert_int_equal(sign_in("pat.pausable", &r), 403);
    testenv_response_free(&r);
    /* Another worker is not held up. */
    assert_int_equal(sign_in("mash.admin", &r), 201);
    testenv_response_free(&r);
    /* A username no account has: the same answers. */
    for (int i = 0; i < 10; i++) {
        assert_int_equal(sign_in_with("nobody.here", "guess", &r), 401);
        testenv_response_free(&r);
    }
    assert_int_equal(sign_in_with("nobody.here", "guess", &r), 403);
    testenv_assert_error(&r, 403, "sign_in_paused");
    testenv_response_free(&r);
    /* Once the pause is over, the right password signs in and the count is gone. */
    char out[64];
    assert_int_equal(
        testenv_psql(testenv, NULL,
                     "UPDATE accounts.sign_in_failures SET locked_until = now() - interval '1 second'"
                     " WHERE username = 'pat.pausable'",
                     out, sizeof(out)),
        0);
    assert_int_equal(sign_in("pat.pausable", &r), 201);
    testenv_response_free(&r);
    assert_int_equal(
        testenv_sql_long(testenv,
                         "SELECT count(*) FROM accounts.sign_in_failures WHERE username = 'pat.pausable'"),
        0);
    free(admin);
}

static void put_password(const char *token, const char *path, const char *body, long status, const char *code,
                         const char *field)
{
    testenv_response_t r = testenv_http(testenv, "PUT", path, token, body, NULL);
    if (r.status != status)
        fail_msg("PUT %s %s: %ld %s", path, body, r.status, r.body);
    if (code != NULL) {
        testenv_assert_error(&r, status, code);
        if (field != NULL)
            assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "error"), "field")),
                                field);
    }
    testenv_response_free(&r);
}

/* A worker changes their own password, giving the current one: their other sessions end, this one
 * goes on, and only the new password signs in. System support reset a forgotten one: every session
 * of the worker ends, and a sign-in pause under the username is lifted. Only an admin resets an
 * admin's; a worker resets no one's. */
static void test_a_worker_changes_their_password_and_support_reset_a_forgotten_one(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char casey[32], support_id[32], admin_id[32];
    testenv_add_worker(testenv, admin, "casey.changer", "Casey Changer", "\"roles\":[\"social-worker\"]",
                       casey);
    testenv_add_worker(testenv, admin, "sandy.support", "Sandy Support", "\"roles\":[\"system-support\"]",
                       support_id);
    worker_id_of("admin", admin_id);
    char *here = testenv_login(testenv, "casey.changer");
    char *elsewhere = testenv_login(testenv, "casey.changer");
    const char *own = "/api/v1/session/password";
    put_password(here, own, "{\"current_password\":\"not-it\",\"new_password\":\"a-longer-pass-phrase\"}",
                 400, "wrong_password", "current_password");
    put_password(here, own, "{\"current_password\":\"tessera-demo\",\"new_password\":\"short\"}", 400,
                 "weak_password", "new_password");
    put_password(here, own,
                 "{\"current_password\":\"tessera-demo\",\"new_password\":\"I-am-Casey.Changer-1\"}", 400,
                 "weak_password", "new_password");
    put_password(here, own, "{\"current_password\":\"tessera-demo\",\"new_password\":\"tessera-demo\"}", 400,
                 "same_password", "new_password");
    put_password(here, own, "{\"current_password\":\"tessera-demo\"}", 400, "missing_field", "new_password");
    /* Long enough, but a dictionary word and digits, or a pattern: libpwquality's checks. */
    put_password(here, own, "{\"current_password\":\"tessera-demo\",\"new_password\":\"password123456\"}",
                 400, "weak_password", "new_password");
    put_password(here, own, "{\"current_password\":\"tessera-demo\",\"new_password\":\"abcdefghijklmnop\"}",
                 400, "weak_password", "new_password");
    put_password(here, own,
                 "{\"current_password\":\"tessera-demo\",\"new_password\":\"a-longer-pass-phrase\"}", 200,
                 NULL, NULL);
    /* The other session ends; this one goes on. */
    assert_int_equal(wait_signed_out(elsewhere), 401);
    testenv_response_t r = testenv_http(testenv, "GET", "/api/v1/workview", here, NULL, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    assert_int_equal(sign_in("casey.changer", &r), 401);
    testenv_response_free(&r);
    assert_int_equal(sign_in_with("casey.changer", "a-longer-pass-phrase", &r), 201);
    testenv_response_free(&r);

    /* Forgotten, and paused after ten wrong guesses: support set a new one, which lifts the pause
     * and ends every session of the worker. */
    for (int i = 0; i < 10; i++) {
        sign_in_with("casey.changer", "what-was-it-again", &r);
        testenv_response_free(&r);
    }
    assert_int_equal(sign_in_with("casey.changer", "a-longer-pass-phrase", &r), 403);
    testenv_response_free(&r);
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/workers/%s/password", casey);
    char *sw = testenv_login(testenv, "mash.sw");
    put_password(sw, path, "{\"new_password\":\"given-by-support-1\"}", 403, "forbidden", NULL);
    char *support = testenv_login(testenv, "sandy.support");
    put_password(support, path, "{\"new_password\":\"given-by-support-1\",\"current_password\":\"x\"}", 400,
                 "unknown_field", NULL);
    put_password(support, path, "{\"new_password\":\"given-by-support-1\"}", 200, NULL, NULL);
    assert_int_equal(wait_signed_out(here), 401);
    assert_int_equal(sign_in_with("casey.changer", "given-by-support-1", &r), 201);
    testenv_response_free(&r);
    /* The trail keeps who did what to the account: the worker's own change, and support's reset by
     * support's account. */
    char sql[300];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_kind = 'worker' AND record_id = %s"
             " AND ((action = 'change-own-password' AND worker_id = %s)"
             "   OR (action = 'set-password' AND worker_id = %s))",
             casey, casey, support_id);
    assert_int_equal(wait_count(sql, 2), 2);
    /* An auditor asks the trail for what was done to the account, not by it. */
    snprintf(path, sizeof(path), "/api/v1/audit/events?account_id=%s&limit=50", casey);
    json_t *about = testenv_call_json(testenv, admin, "GET", path, NULL, 200);
    int own_changes = 0, resets = 0;
    size_t k;
    const json_t *entry;
    json_array_foreach(json_object_get(about, "items"), k, entry)
    {
        const json_t *record = json_object_get(entry, "record");
        assert_string_equal(json_string_value(json_object_get(record, "kind")), "worker");
        assert_string_equal(json_string_value(json_object_get(record, "id")), casey);
        own_changes +=
            strcmp(json_string_value(json_object_get(entry, "action")), "change-own-password") == 0;
        resets += strcmp(json_string_value(json_object_get(entry, "action")), "set-password") == 0;
    }
    assert_int_equal(own_changes, 1);
    assert_int_equal(resets, 1);
    json_decref(about);
    snprintf(path, sizeof(path), "/api/v1/audit/events?account_id=%s&person_id=1", casey);
    testenv_call_error(testenv, admin, "GET", path, NULL, 400, "conflicting_filters", NULL);
    /* Only an admin resets an admin's password. */
    snprintf(path, sizeof(path), "/api/v1/workers/%s/password", admin_id);
    put_password(support, path, "{\"new_password\":\"taking-over-admin\"}", 403, "forbidden", NULL);
    snprintf(path, sizeof(path), "/api/v1/workers/999999/password");
    put_password(support, path, "{\"new_password\":\"nobody-has-this-1\"}", 404, "not_found", NULL);
    free(admin);
    free(here);
    free(elsewhere);
    free(sw);
    free(support);
}

/* The status and error code of token's next call, once it is not from (the gateway applies accounts'
 * event moments after the change); asked every 50 ms for up to 3 s. */
static long call_status_once_not(const char *token, long from, char code[64])
{
    long status = from;
    code[0] = '\0';
    for (int i = 0; i < 60 && status == from; i++) {
        testenv_response_t r =
            testenv_http(testenv, "GET", "/api/v1/organisations/7500065", token, NULL, NULL);
        status = r.status;
        const char *c = json_string_value(json_object_get(json_object_get(r.json, "error"), "code"));
        snprintf(code, 64, "%s", c ? c : "");
        testenv_response_free(&r);
        if (status == from)
            usleep(50 * 1000);
    }
    return status;
}

/* F1: a session opened before a prerequisite lapsed went on reading and writing records for the rest
 * of its 8 hours, though signing in was refused. Now each call is refused as signing in would be, from
 * the moment the lapse is recorded or the day the DBS check runs out, and goes through again once the
 * prerequisite is recorded as met. */
static void test_a_session_already_signed_in_stops_working_when_a_prerequisite_lapses(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char worker[32], today[16], three_years[16], tomorrow_due[16], body[512], code[64];
    testenv_add_worker(testenv, admin, "lapse.lou", "Lou Lapworth",
                       "\"roles\":[\"social-worker\"],\"teams\":[\"Children in Need 1\"]", worker);
    testenv_sql_date(testenv, "current_date", today);
    char *token = testenv_login(testenv, "lapse.lou");
    assert_int_equal(call_status_once_not(token, 0, code), 200);

    /* The acceptable-use policy withdrawn: refused, and the session not ended. */
    snprintf(body, sizeof(body),
             "{\"dbs_checked_on\":\"%s\",\"dbs_barred_lists\":\"both\",\"training_completed_on\":\"%s\"}",
             today, today);
    set_prerequisites(admin, worker, body, 200);
    assert_int_equal(call_status_once_not(token, 200, code), 403);
    assert_string_equal(code, "aup_not_signed");
    /* Signed again: the same session works. */
    snprintf(body, sizeof(body),
             "{\"dbs_checked_on\":\"%s\",\"dbs_barred_lists\":\"both\",\"training_completed_on\":\"%s\","
             "\"aup_signed_on\":\"%s\",\"conflicts_declared_on\":\"%s\"}",
             today, today, today, today);
    set_prerequisites(admin, worker, body, 200);
    assert_int_equal(call_status_once_not(token, 403, code), 200);

    /* A DBS check recorded as 3 years old. */
    testenv_sql_date(testenv, "current_date - interval '3 years'", three_years);
    snprintf(body, sizeof(body),
             "{\"dbs_checked_on\":\"%s\",\"dbs_barred_lists\":\"both\",\"training_completed_on\":\"%s\","
             "\"aup_signed_on\":\"%s\",\"conflicts_declared_on\":\"%s\"}",
             three_years, today, today, today);
    set_prerequisites(admin, worker, body, 200);
    assert_int_equal(call_status_once_not(token, 200, code), 403);
    assert_string_equal(code, "dbs_out_of_date");

    /* A check that runs out tomorrow works today; when the day comes (planted here by moving the
     * gateway's copy of the date back, as time would), the session stops with nothing recorded. */
    testenv_sql_date(testenv, "(current_date - interval '3 years')::date + 1", tomorrow_due);
    snprintf(body, sizeof(body),
             "{\"dbs_checked_on\":\"%s\",\"dbs_barred_lists\":\"both\",\"training_completed_on\":\"%s\","
             "\"aup_signed_on\":\"%s\",\"conflicts_declared_on\":\"%s\"}",
             tomorrow_due, today, today, today);
    set_prerequisites(admin, worker, body, 200);
    assert_int_equal(call_status_once_not(token, 403, code), 200);
    char sql[200], out[256];
    snprintf(sql, sizeof(sql),
             "UPDATE gateway.worker_accounts SET dbs_renewal_due = current_date WHERE worker_id = %s",
             worker);
    assert_int_equal(testenv_psql(testenv, NULL, sql, out, sizeof(out)), 0);
    assert_int_equal(call_status_once_not(token, 200, code), 403);
    assert_string_equal(code, "dbs_out_of_date");
    free(token);
    free(admin);
}

/* A worker back from parental leave was told by a session's calls only that "your enhanced DBS check
 * is no longer recorded as valid", not that the return was why; training not done said "this account
 * can be used once it is", with no one to ask. Each refusal now says what stops the account, why, and
 * whom to ask, in the same words at sign-in and on a session's calls (accounts words them once). */
static void test_a_refusal_says_why_and_whom_to_ask_alike_at_sign_in_and_on_a_sessions_calls(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char worker[32], today[16], yesterday[16], today_uk[16], yesterday_uk[16], body[512];
    testenv_add_worker(testenv, admin, "why.wyn", "Wyn Whyte",
                       "\"roles\":[\"social-worker\"],\"teams\":[\"Children in Need 1\"]", worker);
    testenv_sql_date(testenv, "current_date", today);
    testenv_sql_date(testenv, "current_date - 1", yesterday);
    /* As the worker reads a date: dd/mm/yyyy. */
    snprintf(today_uk, sizeof(today_uk), "%.2s/%.2s/%.4s", today + 8, today + 5, today);
    snprintf(yesterday_uk, sizeof(yesterday_uk), "%.2s/%.2s/%.4s", yesterday + 8, yesterday + 5, yesterday);
    char *token = testenv_login(testenv, "why.wyn");

    /* Back from leave today, the DBS check of yesterday: the return is the reason, and it says so. */
    dbs_recorded(admin, worker, yesterday, "both", today);
    const char *leave[] = {"came back from parental leave or a career break on",
                           today_uk,
                           yesterday_uk,
                           "renewed after such leave",
                           "Ask your manager",
                           "system support",
                           NULL};
    assert_refused_alike(token, "why.wyn", "dbs_out_of_date", leave);

    /* Training not recorded: who books it, and who records it. */
    snprintf(body, sizeof(body),
             "{\"dbs_checked_on\":\"%s\",\"dbs_barred_lists\":\"both\",\"aup_signed_on\":\"%s\",\"conflicts_"
             "declared_on\":\"%s\"}",
             today, today, today);
    set_prerequisites(admin, worker, body, 200);
    const char *training[] = {"training in the system is not recorded as done", "Learning and Development",
                              "system support record it", NULL};
    assert_refused_alike(token, "why.wyn", "training_not_done", training);

    /* The acceptable-use policy not signed: whom to ask. */
    snprintf(body, sizeof(body),
             "{\"dbs_checked_on\":\"%s\",\"dbs_barred_lists\":\"both\",\"training_completed_on\":\"%s\"}",
             today, today);
    set_prerequisites(admin, worker, body, 200);
    const char *aup[] = {"acceptable-use policy", "not recorded as signed by you", "Ask system support",
                         NULL};
    assert_refused_alike(token, "why.wyn", "aup_not_signed", aup);
    free(token);
    free(admin);
}

/* F7: system support could end an administrator's account (everything else about it is an admin's
 * to change), and the documented recovery, the tool run again with that username, said the ended
 * account "can sign in" when it could not, and took its team away. */
static void test_only_an_admin_ends_an_admins_account_and_the_tool_says_an_ended_one_stays_ended(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char support[32], other_admin[32], path[128], args[700], out[2048], date[16];
    testenv_add_worker(testenv, admin, "support.sol", "Sol Porterfield",
                       "\"roles\":[\"system-support\"],\"teams\":[\"System Support\"]", support);
    testenv_add_worker(testenv, admin, "admin.ada", "Ada Adminton",
                       "\"roles\":[\"admin\",\"system-support\"],\"teams\":[\"System Support\"]",
                       other_admin);
    char *t_support = testenv_login(testenv, "support.sol");
    snprintf(path, sizeof(path), "/api/v1/workers/%s/end", other_admin);
    testenv_call_error(testenv, t_support, "POST", path, "{\"reason\":\"x\"}", 403, "forbidden", NULL);
    testenv_response_t r;
    assert_int_equal(sign_in("admin.ada", &r), 201);
    testenv_response_free(&r);
    /* A worker who is not an admin, system support still ends. */
    char plain[32];
    testenv_add_worker(testenv, admin, "leaving.lin", "Lin Leavesley", "\"roles\":[\"social-worker\"]",
                       plain);
    testenv_end_worker(testenv, t_support, plain, "Left the council");
    /* An admin may end an admin's account. */
    testenv_end_worker(testenv, admin, other_admin, "Left the council");

    /* The tool run again under the ended username changes nothing and says so. */
    testenv_sql_date(testenv, "current_date - 30", date);
    char *file = testenv_write_file(testenv, "ada-password", "Correct-Horse-Battery-9\n");
    chmod(file, 0600);
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM accounts.worker_teams WHERE worker_id = %s",
             other_admin);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    snprintf(args, sizeof(args),
             "accounts add-administrator --username admin.ada --name 'Ada Adminton' --password-file %s"
             " --dbs-checked-on %s --training-completed-on %s --aup-signed-on %s --conflicts-declared-on %s "
             "--dbs-barred-lists both",
             file, date, date, date, date);
    assert_int_equal(testenv_run_tool(testenv, args, out, sizeof(out)), 1);
    if (strstr(out, "has ended") == NULL || strstr(out, "can sign in,") != NULL)
        fail_msg("add-administrator on an ended account said: %s", out);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    /* Not even the password was changed; the old one meets the ended account. */
    r = testenv_http(testenv, "POST", "/api/v1/session", NULL,
                     "{\"username\":\"admin.ada\",\"password\":\"Correct-Horse-Battery-9\"}", NULL);
    testenv_assert_error(&r, 401, "invalid_credentials");
    testenv_response_free(&r);
    sign_in("admin.ada", &r);
    testenv_assert_error(&r, 403, "account_ended");
    testenv_response_free(&r);
    free(file);
    free(t_support);
    free(admin);
}

/* F8: system support could give themselves the auditor role (or any other) with no one else
 * involved, and so audit their own use of the system. Seed 001: a change of role is asked for by the
 * worker's senior or team manager; no one changes their own roles, and only an admin gives or takes
 * the auditor role, as the admin role. */
static void test_no_one_changes_their_own_roles_and_only_an_admin_makes_an_auditor(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char support[32], colleague[32], admin_id[32], path[128];
    testenv_add_worker(testenv, admin, "support.sam", "Sam Supportwell",
                       "\"roles\":[\"system-support\"],\"teams\":[\"System Support\"]", support);
    testenv_add_worker(testenv, admin, "colleague.cy", "Cy Colleyman",
                       "\"roles\":[\"social-worker\"],\"teams\":[\"Children in Need 1\"]", colleague);
    char *t_support = testenv_login(testenv, "support.sam");
    snprintf(path, sizeof(path), "/api/v1/workers/%s", support);
    testenv_call_error(testenv, t_support, "PUT", path, "{\"roles\":[\"system-support\",\"auditor\"]}", 403,
                       "forbidden", "roles");
    testenv_call_error(testenv, t_support, "PUT", path, "{\"roles\":[\"system-support\",\"team-manager\"]}",
                       403, "own_roles", "roles");
    /* The audits of use stay closed to them. */
    testenv_call_error(testenv, t_support, "GET", "/api/v1/audit/reports/unallocated-access", NULL, 403,
                       "forbidden", NULL);
    /* The same roles again are no change of role. */
    json_decref(testenv_call_json(testenv, t_support, "PUT", path, "{\"roles\":[\"system-support\"]}", 200));
    /* An admin is no exception for their own account. */
    worker_id_of("admin", admin_id);
    snprintf(path, sizeof(path), "/api/v1/workers/%s", admin_id);
    testenv_call_error(testenv, admin, "PUT", path, "{\"roles\":[\"admin\",\"system-support\",\"auditor\"]}",
                       403, "own_roles", "roles");
    /* A colleague's role, asked for by their manager: system support changes it, but only an admin
     * makes an auditor. */
    snprintf(path, sizeof(path), "/api/v1/workers/%s", colleague);
    json_decref(testenv_call_json(testenv, t_support, "PUT", path,
                                  "{\"roles\":[\"social-worker\",\"senior-practitioner\"]}", 200));
    testenv_call_error(testenv, t_support, "PUT", path, "{\"roles\":[\"auditor\"]}", 403, "forbidden",
                       "roles");
    json_decref(testenv_call_json(testenv, admin, "PUT", path, "{\"roles\":[\"auditor\"]}", 200));
    testenv_call_error(testenv, t_support, "PUT", path, "{\"roles\":[\"social-worker\"]}", 403, "forbidden",
                       "roles");
    free(t_support);
    free(admin);
}

/* F9: recording a worker's access prerequisites left no entry in the audit trail (a DBS date moved
 * forward re-opened a lapsed account with no trace), and a leaver's end reason was not in it. */
static void test_recording_prerequisites_and_ending_an_account_say_who_what_and_why_in_the_trail(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char worker[32], admin_id[32], sql[400];
    worker_id_of("admin", admin_id);
    testenv_add_worker(testenv, admin, "trail.tam", "Tam Trailford", "\"roles\":[\"social-worker\"]", worker);
    set_prerequisites(admin, worker,
                      "{\"dbs_checked_on\":\"2023-01-06\",\"dbs_barred_lists\":\"both\","
                      "\"training_completed_on\":\"2023-01-07\",\"aup_signed_on\":\"2023-01-08\",\"conflicts_"
                      "declared_on\":\"2023-01-08\"}",
                      200);
    snprintf(
        sql, sizeof(sql),
        "SELECT count(*) FROM audit.entries WHERE record_kind = 'worker' AND record_id = %s"
        " AND action = 'record-prerequisites' AND worker_id = %s AND summary LIKE '%%dated 2023-01-06%%'"
        " AND summary LIKE '%%barred lists both%%' AND summary LIKE '%%cannot be used: dbs_out_of_date%%'",
        worker, admin_id);
    assert_int_equal(wait_count(sql, 1), 1);
    testenv_end_worker(testenv, admin, worker, "Left the council on 04/12");
    snprintf(
        sql, sizeof(sql),
        "SELECT count(*) FROM audit.entries WHERE record_kind = 'worker' AND record_id = %s"
        " AND action = 'end-account' AND worker_id = %s AND summary LIKE '%%Left the council on 04/12%%'",
        worker, admin_id);
    assert_int_equal(wait_count(sql, 1), 1);
    /* The auditor reads both through the API, asking for the account. */
    char *auditor = testenv_login(testenv, "auditor");
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/audit/events?account_id=%s", worker);
    json_t *list = testenv_call_json(testenv, auditor, "GET", path, NULL, 200);
    int prerequisites = 0, ended = 0;
    json_t *items = json_object_get(list, "items");
    for (size_t i = 0; i < json_array_size(items); i++) {
        const char *action = testenv_str(json_array_get(items, i), "action");
        prerequisites += strcmp(action, "record-prerequisites") == 0;
        ended += strcmp(action, "end-account") == 0;
    }
    /* Two recordings: the account's creation, and the change. */
    assert_int_equal(prerequisites, 2);
    assert_int_equal(ended, 1);
    json_decref(list);
    free(auditor);
    free(admin);
}

/* F13: an HR-approved risk assessment was a DBS waiver for ever: an account whose DBS check was 6
 * years old, or never done, stayed active indefinitely. Seed 002: the assessment covers staff "awaiting
 * a DBS check to be completed"; it now covers 3 months from its approval, and says until when. */
static void test_an_hr_approved_risk_assessment_covers_a_pending_dbs_check_for_3_months_only(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char worker[32], old_dbs[16], today[16], approved[16], until[16], lapsed[16], body[512], path[128];
    testenv_add_worker(testenv, admin, "risk.rae", "Rae Riskworth",
                       "\"roles\":[\"social-worker\"],\"teams\":[\"Children in Need 1\"]", worker);
    testenv_sql_date(testenv, "current_date - interval '6 years'", old_dbs);
    testenv_sql_date(testenv, "current_date", today);
    testenv_sql_date(testenv, "current_date - 10", approved);
    testenv_sql_date(testenv, "current_date - 10 + interval '3 months' - interval '1 day'", until);
    testenv_sql_date(testenv, "current_date - interval '4 months'", lapsed);
    snprintf(body, sizeof(body),
             "{\"dbs_checked_on\":\"%s\",\"dbs_barred_lists\":\"both\",\"risk_assessment_approved\":true,"
             "\"risk_assessment_approved_on\":\"%s\",\"training_completed_on\":\"%s\",\"aup_signed_on\":\"%"
             "s\",\"conflicts_declared_on\":\"%s\"}",
             old_dbs, approved, today, today, today);
    set_prerequisites(admin, worker, body, 200);
    testenv_response_t r;
    assert_int_equal(sign_in("risk.rae", &r), 201);
    testenv_response_free(&r);
    char *token = testenv_login(testenv, "risk.rae");
    snprintf(path, sizeof(path), "/api/v1/workers/%s", worker);
    json_t *account = testenv_call_json(testenv, admin, "GET", path, NULL, 200);
    assert_string_equal(testenv_str(account, "state"), "active");
    assert_string_equal(testenv_str(json_object_get(account, "prerequisites"), "risk_assessment_until"),
                        until);
    json_decref(account);
    /* Recorded again without its date, the approval keeps the one it had. */
    snprintf(body, sizeof(body),
             "{\"dbs_checked_on\":\"%s\",\"dbs_barred_lists\":\"both\",\"risk_assessment_approved\":true,"
             "\"training_completed_on\":\"%s\",\"aup_signed_on\":\"%s\",\"conflicts_declared_on\":\"%s\"}",
             old_dbs, today, today, today);
    set_prerequisites(admin, worker, body, 200);
    account = testenv_call_json(testenv, admin, "GET", path, NULL, 200);
    assert_string_equal(testenv_str(json_object_get(account, "prerequisites"), "risk_assessment_approved_on"),
                        approved);
    json_decref(account);
    /* Approved 4 months ago: it no longer covers the old check; signing in and the open session stop. */
    snprintf(body, sizeof(body),
             "{\"dbs_checked_on\":\"%s\",\"dbs_barred_lists\":\"both\",\"risk_assessment_approved\":true,"
             "\"risk_assessment_approved_on\":\"%s\",\"training_completed_on\":\"%s\",\"aup_signed_on\":\"%"
             "s\",\"conflicts_declared_on\":\"%s\"}",
             old_dbs, lapsed, today, today, today);
    set_prerequisites(admin, worker, body, 200);
    sign_in("risk.rae", &r);
    testenv_assert_error(&r, 403, "dbs_out_of_date");
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(r.json, "error"), "message")),
                           "risk assessment"));
    testenv_response_free(&r);
    char code[64];
    assert_int_equal(call_status_once_not(token, 200, code), 403);
    assert_string_equal(code, "dbs_out_of_date");
    /* With no DBS check at all, the same. A date without an approval is refused. */
    snprintf(body, sizeof(body),
             "{\"risk_assessment_approved\":true,\"risk_assessment_approved_on\":\"%s\","
             "\"training_completed_on\":\"%s\",\"aup_signed_on\":\"%s\",\"conflicts_declared_on\":\"%s\"}",
             lapsed, today, today, today);
    set_prerequisites(admin, worker, body, 200);
    sign_in("risk.rae", &r);
    testenv_assert_error(&r, 403, "dbs_out_of_date");
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/workers/%s/prerequisites", worker);
    testenv_call_error(testenv, admin, "PUT", path, "{\"risk_assessment_approved_on\":\"2026-01-05\"}", 400,
                       "invalid_value", "risk_assessment_approved_on");
    /* A check of today that searched one barred list only, with the assessment that covered the other
     * run out: the open session stops as signing in does. It went on working: the day the account
     * stopped being usable was taken from the check's three years, though the check never covered. */
    snprintf(body, sizeof(body),
             "{\"dbs_checked_on\":\"%s\",\"dbs_barred_lists\":\"both\",\"training_completed_on\":\"%s\","
             "\"aup_signed_on\":\"%s\",\"conflicts_declared_on\":\"%s\"}",
             today, today, today, today);
    set_prerequisites(admin, worker, body, 200);
    free(token);
    token = testenv_login(testenv, "risk.rae");
    snprintf(body, sizeof(body),
             "{\"dbs_checked_on\":\"%s\",\"dbs_barred_lists\":\"children\",\"risk_assessment_approved\":true,"
             "\"risk_assessment_approved_on\":\"%s\",\"training_completed_on\":\"%s\",\"aup_signed_on\":\"%"
             "s\",\"conflicts_declared_on\":\"%s\"}",
             today, lapsed, today, today, today);
    set_prerequisites(admin, worker, body, 200);
    sign_in("risk.rae", &r);
    testenv_assert_error(&r, 403, "dbs_barred_list_missing");
    testenv_response_free(&r);
    assert_int_equal(call_status_once_not(token, 200, code), 403);
    free(token);
    free(admin);
}

/* A date on the office's clock in zone: expr is SQL over d, the office's today there ("d + 1"). */
static void office_date(const char *zone, const char *expr, char out[16])
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT %s FROM (SELECT (now() AT TIME ZONE '%s')::date AS d) AS t", expr,
             zone);
    testenv_sql_date(testenv, sql, out);
}

/* Records prerequisites for worker: a DBS check of both barred lists dated dbs, training and the
 * acceptable-use policy on done; status is the answer expected. */
static void prerequisites_on(const char *admin, const char *worker, const char *dbs, const char *done,
                             long status)
{
    char body[256];
    snprintf(body, sizeof(body),
             "{\"dbs_checked_on\":\"%s\",\"dbs_barred_lists\":\"both\",\"training_completed_on\":\"%s\","
             "\"aup_signed_on\":\"%s\",\"conflicts_declared_on\":\"%s\"}",
             dbs, done, done, done);
    set_prerequisites(admin, worker, body, status);
}

/* A third party's contract ending on end_date; the account's state after it. */
static void contract_ends(const char *admin, const char *worker, const char *end_date, const char *state)
{
    char path[96], body[256];
    snprintf(path, sizeof(path), "/api/v1/workers/%s", worker);
    snprintf(body, sizeof(body),
             "{\"contract\":{\"name\":\"Clock audit (invented firm)\",\"end_date\":\"%s\"}}", end_date);
    json_t *account = testenv_call_json(testenv, admin, "PUT", path, body, 200);
    assert_string_equal(testenv_str(account, "state"), state);
    json_decref(account);
}

/* F: accounts and the gateway judged "today" by UTC (the C library's clock in accounts, PostgreSQL's
 * current_date in both), where the other daemons keep the office's (Europe/London): in British Summer
 * Time, from midnight to 01:00, a DBS check dated today was refused as in the future, and a DBS
 * renewal or a contract's end stopped signing in and a session's calls at 01:00. Both now count days
 * on the office clock (accounts.timezone, gateway.timezone), in C and in SQL (office_today()). The
 * office is put in a zone whose day is not UTC's as the test runs (a day ahead from 11:00 UTC, a day
 * behind before), so that each date below is judged one way by UTC and the other by the office. */
static void test_accounts_and_the_gateway_count_days_on_the_office_clock(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char dana[32], terry[32], in_a_month[16], rest[256], code[64];
    testenv_add_worker(testenv, admin, "clock.dana", "Dana Clockwell", "\"roles\":[\"social-worker\"]", dana);
    testenv_sql_date(testenv, "current_date + 30", in_a_month);
    snprintf(
        rest, sizeof(rest),
        "\"roles\":[\"auditor\"],\"contract\":{\"name\":\"Clock audit (invented firm)\",\"end_date\":\"%s\"}",
        in_a_month);
    testenv_add_worker(testenv, admin, "clock.terry", "Terry Clockson", rest, terry);
    char *dana_token = testenv_login(testenv, "clock.dana");
    char *terry_token = testenv_login(testenv, "clock.terry");

    long hour = testenv_sql_long(testenv, "SELECT extract(hour FROM now() AT TIME ZONE 'UTC')::int");
    const char *zone = hour >= 11 ? "Pacific/Kiritimati" : "Etc/GMT+12";
    testenv_restart_with(testenv, "accounts", "TESSERA_ACCOUNTS_TIMEZONE", zone);
    testenv_restart_with(testenv, "gateway", "TESSERA_GATEWAY_TIMEZONE", zone);
    char today[16], tomorrow[16], yesterday[16], due_today[16], due_tomorrow[16];
    office_date(zone, "d", today);
    office_date(zone, "d + 1", tomorrow);
    office_date(zone, "d - 1", yesterday);
    office_date(zone, "d - interval '3 years'", due_today);
    office_date(zone, "d + 1 - interval '3 years'", due_tomorrow);

    /* The office's today is not in the future; its tomorrow is. */
    prerequisites_on(admin, dana, today, today, 200);
    prerequisites_on(admin, dana, tomorrow, today, 400);
    testenv_response_t r;
    assert_int_equal(sign_in("clock.dana", &r), 201);
    testenv_response_free(&r);

    /* A DBS check due for renewal on the office's today: signing in and the open session stop alike. */
    prerequisites_on(admin, dana, due_today, today, 200);
    sign_in("clock.dana", &r);
    testenv_assert_error(&r, 403, "dbs_out_of_date");
    testenv_response_free(&r);
    assert_int_equal(call_status_once_not(dana_token, 200, code), 403);
    assert_string_equal(code, "dbs_out_of_date");
    /* Due on the office's tomorrow: both go on. */
    prerequisites_on(admin, dana, due_tomorrow, today, 200);
    assert_int_equal(sign_in("clock.dana", &r), 201);
    testenv_response_free(&r);
    assert_int_equal(call_status_once_not(dana_token, 403, code), 200);

    /* A contract that ended on the office's yesterday is over; one that ends on its today is not. */
    contract_ends(admin, terry, yesterday, "contract_ended");
    assert_int_equal(call_status_once_not(terry_token, 200, code), 403);
    assert_string_equal(code, "contract_ended");
    sign_in("clock.terry", &r);
    testenv_assert_error(&r, 403, "contract_ended");
    testenv_response_free(&r);
    contract_ends(admin, terry, today, "active");
    assert_int_equal(call_status_once_not(terry_token, 403, code), 200);
    assert_int_equal(sign_in("clock.terry", &r), 201);
    testenv_response_free(&r);

    /* A zone that is not one stops the start, naming the setting. */
    testenv_assert_refuses_to_start(testenv, "accounts", "TESSERA_ACCOUNTS_TIMEZONE=Nowhere/Atlantis",
                                    "accounts.timezone", NULL);
    testenv_assert_refuses_to_start(testenv, "gateway", "TESSERA_GATEWAY_TIMEZONE=Nowhere/Atlantis",
                                    "gateway.timezone", NULL);
    /* Back to the office's own clock, Europe/London. */
    testenv_kill(testenv, "accounts", SIGTERM);
    assert_int_equal(testenv_wait_exit(testenv, "accounts", 15000), 0);
    testenv_restart(testenv, "accounts");
    testenv_kill(testenv, "gateway", SIGTERM);
    assert_int_equal(testenv_wait_exit(testenv, "gateway", 15000), 0);
    testenv_restart(testenv, "gateway");
    free(terry_token);
    free(dana_token);
    free(admin);
}

/* office_today() in the accounts' and the gateway's schemas, the one "today" their SQL asks, made to
 * answer day, as if the office had come to it; NULL puts back the definition migration 004 gave. */
static char office_today_definition[2][1024];
static const char *const office_today_schemas[2] = {"accounts", "gateway"};

static int office_day_is(const char *day)
{
    int failed = 0;
    for (int i = 0; i < 2; i++) {
        char sql[2200], out[1100];
        if (office_today_definition[i][0] == '\0') {
            snprintf(sql, sizeof(sql), "SELECT pg_get_functiondef('%s.office_today()'::regprocedure)",
                     office_today_schemas[i]);
            failed |= testenv_psql(testenv, NULL, sql, office_today_definition[i],
                                   sizeof(office_today_definition[i])) != 0;
        }
        if (day != NULL)
            snprintf(sql, sizeof(sql),
                     "CREATE OR REPLACE FUNCTION %s.office_today() RETURNS date LANGUAGE sql STABLE"
                     " AS $$ SELECT date '%s' $$",
                     office_today_schemas[i], day);
        else
            snprintf(sql, sizeof(sql), "%s;", office_today_definition[i]);
        failed |= testenv_psql(testenv, NULL, sql, out, sizeof(out)) != 0;
    }
    return failed ? -1 : 0;
}

/* The office's own day again, whatever the test did. */
static int office_day_put_back(void **state)
{
    (void)state;
    if (office_today_definition[0][0] != '\0' && office_day_is(NULL) != 0)
        return -1;
    return 0;
}

/* The account of worker as admin reads it: its state, and the prerequisite key's value ("" for none). */
static void account_says(const char *admin, const char *worker, const char *state, const char *key,
                         const char *value)
{
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/workers/%s", worker);
    json_t *account = testenv_call_json(testenv, admin, "GET", path, NULL, 200);
    assert_string_equal(testenv_str(account, "state"), state);
    if (key != NULL)
        assert_string_equal(testenv_str(json_object_get(account, "prerequisites"), key), value);
    json_decref(account);
}

/* F: a DBS check dated 29 February 2024 was due for renewal on 28 February 2027 by the day accounts
 * published (the date plus 3 years), from which the gateway refused every call of the worker's
 * sessions ("due for renewal on 28/02/2027"), and on 1 March by accounts' own rule (the date on or
 * before today less 3 years), which let the worker sign in all 28 February; a risk assessment approved
 * on 30 November the same. Signing in and a session's calls now reckon each day one way
 * (tsr_prerequisites.h), and stop on the same day; a contract runs through its end date in both. */
static void
test_a_dbs_check_of_29_february_stops_signing_in_and_a_sessions_calls_on_the_same_day(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char lee[32], rae[32], tess[32], code[64];
    assert_int_equal(office_day_is("2027-02-27"), 0);
    testenv_add_worker(testenv, admin, "leap.lee", "Lee Leaper", "\"roles\":[\"social-worker\"]", lee);
    testenv_add_worker(testenv, admin, "leap.rae", "Rae Leaper", "\"roles\":[\"social-worker\"]", rae);
    testenv_add_worker(testenv, admin, "leap.tess", "Tess Leaper",
                       "\"roles\":[\"auditor\"],\"contract\":{\"name\":\"Leap audit (invented firm)\","
                       "\"end_date\":\"2027-02-28\"}",
                       tess);
    prerequisites_on(admin, lee, "2024-02-29", "2024-03-01", 200);
    set_prerequisites(
        admin, rae,
        "{\"dbs_checked_on\":\"2019-01-07\",\"dbs_barred_lists\":\"both\",\"risk_assessment_"
        "approved\":true,\"risk_assessment_approved_on\":\"2026-11-30\",\"training_completed_on\":"
        "\"2019-01-08\",\"aup_signed_on\":\"2019-01-08\",\"conflicts_declared_on\":\"2019-01-08\"}",
        200);
    /* On 27 February both work, and say when they stop. */
    account_says(admin, lee, "active", "dbs_renewal_due", "2027-02-28");
    account_says(admin, rae, "active", "risk_assessment_until", "2027-02-27");
    char sql[300];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM gateway.worker_accounts WHERE worker_id IN (%s, %s)"
             " AND dbs_renewal_due = '2027-02-28'",
             lee, rae);
    assert_int_equal(wait_count(sql, 2), 2);
    char *lee_token = testenv_login(testenv, "leap.lee");
    char *rae_token = testenv_login(testenv, "leap.rae");
    char *tess_token = testenv_login(testenv, "leap.tess");
    assert_int_equal(call_status_once_not(lee_token, 0, code), 200);
    assert_int_equal(call_status_once_not(rae_token, 0, code), 200);

    /* On 28 February neither signs in, and the sessions already open stop with them. */
    assert_int_equal(office_day_is("2027-02-28"), 0);
    testenv_response_t r;
    sign_in("leap.lee", &r);
    testenv_assert_error(&r, 403, "dbs_out_of_date");
    testenv_response_free(&r);
    assert_int_equal(call_status_once_not(lee_token, 200, code), 403);
    assert_string_equal(code, "dbs_out_of_date");
    account_says(admin, lee, "dbs_out_of_date", NULL, NULL);
    sign_in("leap.rae", &r);
    testenv_assert_error(&r, 403, "dbs_out_of_date");
    testenv_response_free(&r);
    assert_int_equal(call_status_once_not(rae_token, 200, code), 403);
    assert_string_equal(code, "dbs_out_of_date");
    account_says(admin, rae, "dbs_out_of_date", NULL, NULL);
    /* A contract ending on 28 February still works that day, in both; on 1 March in neither. */
    assert_int_equal(call_status_once_not(tess_token, 0, code), 200);
    assert_int_equal(sign_in("leap.tess", &r), 201);
    testenv_response_free(&r);
    assert_int_equal(office_day_is("2027-03-01"), 0);
    sign_in("leap.tess", &r);
    testenv_assert_error(&r, 403, "contract_ended");
    testenv_response_free(&r);
    assert_int_equal(call_status_once_not(tess_token, 200, code), 403);
    assert_string_equal(code, "contract_ended");
    account_says(admin, tess, "contract_ended", NULL, NULL);

    assert_int_equal(office_day_is(NULL), 0);
    free(tess_token);
    free(rae_token);
    free(lee_token);
    free(admin);
}

/* F: ten wrong passwords from anyone paused the CP-IS feed's service account (its poller refused until
 * support lifted the pause). A service account (every role a machine's: cpis-service) now has a
 * generated secret of at least 32 characters for a password, refused shorter when it is made or its
 * password set, and wrong passwords do not pause it; one whose password was set shorter (before, or a
 * worker's account turned into one by a change of roles) is paused as a worker's is, and its sign-in
 * says so in the log, until it is given such a secret. */
static void test_a_service_account_has_a_generated_secret_and_only_then_is_not_paused(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char today[16], body[512], id[32], path[128];
    testenv_sql_date(testenv, "current_date", today);
    snprintf(body, sizeof(body),
             "{\"username\":\"feed.short\",\"name\":\"Feed Short\",\"password\":\"tessera-demo\","
             "\"roles\":[\"cpis-service\"],\"prerequisites\":{\"dbs_checked_on\":\"%s\","
             "\"training_completed_on\":\"%s\",\"aup_signed_on\":\"%s\",\"conflicts_declared_on\":\"%s\"}}",
             today, today, today, today);
    testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/workers", admin, body, NULL);
    testenv_assert_error(&r, 400, "weak_password");
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(r.json, "error"), "message")),
                           "at least 32 characters"));
    testenv_response_free(&r);

    /* A worker's account turned into a service account keeps its password, and is paused as before. */
    testenv_add_worker(testenv, admin, "feed.turned", "Feed Turned", "\"roles\":[\"social-worker\"]", id);
    snprintf(path, sizeof(path), "/api/v1/workers/%s", id);
    json_decref(testenv_call_json(testenv, admin, "PUT", path, "{\"roles\":[\"cpis-service\"]}", 200));
    assert_int_equal(sign_in("feed.turned", &r), 201);
    testenv_response_free(&r);
    assert_true(testenv_log_has(testenv, "accounts",
                                "service account 'feed.turned' has a password shorter than 32 characters"));
    for (int i = 0; i < 10; i++) {
        assert_int_equal(sign_in_with("feed.turned", "not-the-password", &r), 401);
        testenv_response_free(&r);
    }
    assert_int_equal(sign_in("feed.turned", &r), 403);
    testenv_assert_error(&r, 403, "sign_in_paused");
    testenv_response_free(&r);
    /* Support set it a generated secret (a shorter one is refused): the pause is lifted, and wrong
     * passwords pause it no more. */
    snprintf(path, sizeof(path), "/api/v1/workers/%s/password", id);
    testenv_call_error(testenv, admin, "PUT", path, "{\"new_password\":\"a-longer-pass-phrase\"}", 400,
                       "weak_password", "new_password");
    json_decref(testenv_call_json(testenv, admin, "PUT", path,
                                  "{\"new_password\":\"" TESTENV_SERVICE_PASSWORD "\"}", 200));
    for (int i = 0; i < 25; i++) {
        assert_int_equal(sign_in_with("feed.turned", "not-the-password", &r), 401);
        const char *message = json_string_value(json_object_get(json_object_get(r.json, "error"), "message"));
        assert_null(strstr(message, "paused"));
        testenv_response_free(&r);
    }
    assert_int_equal(sign_in_with("feed.turned", TESTENV_SERVICE_PASSWORD, &r), 201);
    testenv_response_free(&r);
    assert_true(testenv_log_has(testenv, "accounts",
                                "20 wrong passwords in a row under service account 'feed.turned'"));
    snprintf(path, sizeof(path), "/api/v1/workers/%s", id);
    json_t *account = testenv_call_json(testenv, admin, "GET", path, NULL, 200);
    assert_true(json_is_null(json_object_get(account, "sign_in_paused_until")));
    json_decref(account);
    /* A worker's account is paused as ever, by the same ten. */
    testenv_add_worker(testenv, admin, "feed.neighbour", "Feed Neighbour", "\"roles\":[\"social-worker\"]",
                       id);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(sign_in_with("feed.neighbour", "not-the-password", &r), 401);
        testenv_response_free(&r);
    }
    assert_int_equal(sign_in("feed.neighbour", &r), 403);
    testenv_assert_error(&r, 403, "sign_in_paused");
    testenv_response_free(&r);
    free(admin);
}

/* A service account (the spine poller's) is a machine's: seed 002's prerequisites are a person's, and
 * held to them the CP-IS feed stopped the day its account's DBS date was three years old. It signs in
 * and makes its calls with none recorded, or with a DBS check long out of date; a worker's account
 * with the same check is refused. */
static void test_a_service_account_is_not_held_to_a_persons_prerequisites(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    testenv_response_t r = testenv_http(
        testenv, "POST", "/api/v1/workers", admin,
        "{\"username\":\"feed.machine\",\"name\":\"Feed Machine\",\"password\":\"" TESTENV_SERVICE_PASSWORD
        "\",\"roles\":[\"cpis-service\"]}",
        NULL);
    assert_int_equal(r.status, 201);
    char id[32];
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(r.json, "id")));
    testenv_response_free(&r);
    assert_int_equal(sign_in_with("feed.machine", TESTENV_SERVICE_PASSWORD, &r), 201);
    char *token = strdup(json_string_value(json_object_get(r.json, "token")));
    testenv_response_free(&r);
    json_decref(testenv_call_json(testenv, token, "GET", "/api/v1/cpis/uploads", NULL, 200));

    char old[16], body[256], path[128];
    testenv_sql_date(testenv, "(current_date - interval '4 years')::date", old);
    snprintf(body, sizeof(body),
             "{\"dbs_checked_on\":\"%s\",\"training_completed_on\":\"%s\",\"aup_signed_on\":\"%s\","
             "\"conflicts_declared_on\":\"%s\"}",
             old, old, old, old);
    set_prerequisites(admin, id, body, 200);
    json_decref(testenv_call_json(testenv, token, "GET", "/api/v1/cpis/uploads", NULL, 200));
    assert_int_equal(sign_in_with("feed.machine", TESTENV_SERVICE_PASSWORD, &r), 201);
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/workers/%s", id);
    json_t *account = testenv_call_json(testenv, admin, "GET", path, NULL, 200);
    assert_string_equal(json_string_value(json_object_get(account, "state")), "active");
    json_decref(account);

    char worker[32];
    testenv_add_worker(testenv, admin, "feed.person", "Feed Person", "\"roles\":[\"social-worker\"]", worker);
    set_prerequisites(admin, worker, body, 200);
    assert_int_equal(sign_in("feed.person", &r), 403);
    testenv_assert_error(&r, 403, "dbs_out_of_date");
    testenv_response_free(&r);
    free(token);
    free(admin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_account_with_a_dbs_check_over_3_years_old_cannot_sign_in_and_is_told_why),
        cmocka_unit_test(
            test_a_dbs_check_of_one_barred_list_or_from_before_leave_does_not_let_an_account_be_used),
        cmocka_unit_test(test_a_leavers_existing_token_stops_working),
        cmocka_unit_test(test_an_ended_or_lapsed_account_is_refused_on_its_very_next_call),
        cmocka_unit_test(test_a_starter_signs_in_only_once_their_declaration_of_conflicts_is_recorded),
        cmocka_unit_test(
            test_the_first_administrator_is_made_by_the_tool_with_a_password_from_a_private_file),
        cmocka_unit_test(test_a_daemon_not_in_demo_mode_refuses_demo_data_whatever_the_tools_setting),
        cmocka_unit_test(test_the_tools_usage_and_refusals_read_as_an_operator_needs),
        cmocka_unit_test(test_sessions_that_stopped_more_than_the_days_kept_ago_are_forgotten),
        cmocka_unit_test(test_every_account_announced_again_brings_the_copies_up_to_date),
        cmocka_unit_test(test_ten_wrong_passwords_in_a_row_pause_sign_in_under_that_username),
        cmocka_unit_test(test_a_worker_changes_their_password_and_support_reset_a_forgotten_one),
        cmocka_unit_test(test_a_session_already_signed_in_stops_working_when_a_prerequisite_lapses),
        cmocka_unit_test(test_a_refusal_says_why_and_whom_to_ask_alike_at_sign_in_and_on_a_sessions_calls),
        cmocka_unit_test(
            test_only_an_admin_ends_an_admins_account_and_the_tool_says_an_ended_one_stays_ended),
        cmocka_unit_test(test_no_one_changes_their_own_roles_and_only_an_admin_makes_an_auditor),
        cmocka_unit_test(test_an_hr_approved_risk_assessment_covers_a_pending_dbs_check_for_3_months_only),
        cmocka_unit_test(
            test_recording_prerequisites_and_ending_an_account_say_who_what_and_why_in_the_trail),
        cmocka_unit_test(test_a_service_account_has_a_generated_secret_and_only_then_is_not_paused),
        cmocka_unit_test(test_a_service_account_is_not_held_to_a_persons_prerequisites),
        cmocka_unit_test(test_accounts_and_the_gateway_count_days_on_the_office_clock),
        cmocka_unit_test_teardown(
            test_a_dbs_check_of_29_february_stops_signing_in_and_a_sessions_calls_on_the_same_day,
            office_day_put_back),
    };
    return cmocka_run_group_tests(tests, testenv_group_setup, testenv_group_teardown);
}
