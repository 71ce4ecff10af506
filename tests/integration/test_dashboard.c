/* The front-door dashboard (seed 000): consultations planted through the API, each left at another
 * point of the work (details being recorded, details recorded, with the MASH Manager, with a MASH
 * social worker, with Early Help, decision made, finished, cancelled), and a CP-IS access notification
 * that puts a CPIS Follow up in the CP-IS Worker's queue, give exactly the figures they should;
 * the figures move as the work does; the dashboard checks its period and who asks; a step deleted as
 * recorded in error leaves every figure and every copy kept of it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tsr_testenv.h"

#define HAMPDEN "7500065"
#define DASHBOARD "/api/v1/reports/front-door-dashboard"

static char *admin, *mash_admin, *manager, *sw, *service, *safeguarding;

static long num(const json_t *obj, const char *key)
{
    return (long)json_integer_value(json_object_get(obj, key));
}

/* Starts a Front Door Consultation against Hampden Children Centre as the MASH admin. */
static void start_consultation(const char *variant, char id[32])
{
    char body[200];
    snprintf(body, sizeof(body),
             "{\"type\":\"front-door-consultation\",\"variant\":\"%s\","
             "\"subject\":{\"kind\":\"organisation\",\"id\":\"" HAMPDEN "\"}}",
             variant);
    json_t *step = testenv_call_json(testenv, mash_admin, "POST", "/api/v1/steps", body, 201);
    snprintf(id, 32, "%s", testenv_str(step, "id"));
    json_decref(step);
}

static void save_section(const char *token, const char *id, const char *section, const char *body)
{
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/%s", id, section);
    json_decref(testenv_call_json(testenv, token, "PUT", path, body, 200));
}

static void save_details(const char *id, const char *source, int completed)
{
    char body[300];
    snprintf(body, sizeof(body),
             "{\"data\":{\"consulted_at\":\"2026-01-05T10:00:00Z\",\"source\":\"%s\","
             "\"contact_name\":\"Rowan Ashby\"},\"completed\":%s}",
             source, completed ? "true" : "false");
    save_section(mash_admin, id, "1", body);
}

/* Sends a request of the step (to its default recipient); the request's id. */
static void send_request(const char *id, const char *type, char rid[32])
{
    char path[96], body[160];
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", id);
    snprintf(body, sizeof(body), "{\"type\":\"%s\"}", type);
    json_t *step = testenv_call_json(testenv, mash_admin, "POST", path, body, 201);
    size_t i;
    json_t *r;
    rid[0] = '\0';
    json_array_foreach(json_object_get(step, "requests"), i, r)
    {
        if (strcmp(testenv_str(r, "type"), type) == 0)
            snprintf(rid, 32, "%s", testenv_str(r, "id"));
    }
    json_decref(step);
    assert_true(rid[0] != '\0');
}

/* The MASH Manager takes it, records the decision with these outcomes (a JSON array). */
static void decide(const char *id, const char *outcomes)
{
    char path[96], body[200];
    snprintf(path, sizeof(path), "/api/v1/steps/%s/resume", id);
    json_decref(testenv_call_json(testenv, manager, "POST", path, NULL, 200));
    snprintf(body, sizeof(body),
             "{\"data\":{\"advice\":\"Advice given.\",\"outcomes\":%s},\"completed\":true}", outcomes);
    save_section(manager, id, "2", body);
}

static void finish(const char *id)
{
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/steps/%s/finish", id);
    json_decref(testenv_call_json(testenv, manager, "POST", path,
                                  "{\"next_actions\":[{\"action\":\"consultation-complete\"}]}", 200));
}

/* The dashboard once its figures show `open` open consultations, `finished` finished today and
 * `queued` in the CP-IS Worker's queue (events reach the reporting daemon within moments). */
static json_t *dashboard_when(const char *query, long open, long finished, long queued)
{
    char path[200];
    snprintf(path, sizeof(path), DASHBOARD "%s", query);
    json_t *d = NULL;
    for (int i = 0; i < 200; i++) {
        json_decref(d);
        d = testenv_call_json(testenv, manager, "GET", path, NULL, 200);
        if (num(json_object_get(d, "open"), "total") == open &&
            num(json_object_get(d, "finished"), "total") == finished &&
            num(json_object_get(d, "cpis_queue"), "count") == queued)
            return d;
        usleep(50 * 1000);
    }
    fail_msg("the dashboard never showed %ld open, %ld finished, %ld queued: %s", open, finished, queued,
             json_dumps(d, JSON_COMPACT));
    return NULL;
}

static json_t *stage(json_t *d, const char *key)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(json_object_get(d, "open"), "by_stage"), i, s)
    {
        if (strcmp(testenv_str(s, "stage"), key) == 0)
            return s;
    }
    fail_msg("no stage %s", key);
    return NULL;
}

/* A new valid NHS number (modulus 11 check digit). */
static void test_the_dashboard_shows_exactly_where_the_front_doors_work_is(void **state)
{
    (void)state;
    time_t began = time(NULL);
    /* Nothing yet: every stage listed, at nought. */
    json_t *d = dashboard_when("", 0, 0, 0);
    assert_string_equal(testenv_str(d, "dashboard"), "front-door-dashboard");
    assert_int_equal(json_array_size(json_object_get(json_object_get(d, "open"), "by_stage")), 6);
    assert_true(json_is_null(json_object_get(json_object_get(d, "open"), "oldest")));
    assert_int_equal(num(json_object_get(d, "started"), "today"), 0);
    char today[11];
    snprintf(today, sizeof(today), "%s", testenv_str(d, "today"));
    /* The default period is this week, Monday to today. */
    assert_string_equal(testenv_str(json_object_get(d, "parameters"), "start"), testenv_str(d, "week_start"));
    assert_string_equal(testenv_str(json_object_get(d, "parameters"), "end"), today);
    json_decref(d);

    char a[32], b[32], c[32], dd[32], e[32], f[32], g[32], h[32], x[32], rid[32], rid_g[32];
    start_consultation("CSSW", a); /* started only: details being recorded; the oldest open */
    sleep(1);                      /* so that the oldest is told apart by its start */
    start_consultation("CSSW", b); /* section 1 complete, nothing sent */
    save_details(b, "schools", 1);
    start_consultation("CSSW", c); /* with the MASH Manager */
    save_details(c, "police", 1);
    send_request(c, "pass-to-mash-manager", rid);
    start_consultation("CSSW", dd); /* with a MASH social worker */
    save_details(dd, "police", 1);
    send_request(dd, "pass-to-mash-social-worker", rid);
    start_consultation("CSEW", e); /* with Early Help */
    save_details(e, "la-services-early-help", 1);
    send_request(e, "please-review-information-and-confirm-next-action", rid);
    start_consultation("CSSW", g); /* decision made, its request still open: to be finished */
    save_details(g, "schools", 1);
    send_request(g, "pass-to-mash-manager", rid_g);
    decide(g, "[\"referral-to-mash\"]");
    start_consultation("CSSW", f); /* finished, both outcomes */
    save_details(f, "schools", 1);
    send_request(f, "pass-to-mash-manager", rid);
    decide(f, "[\"further-information-given\",\"referral-to-mash\"]");
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/requests/%s/complete", rid);
    json_decref(testenv_call_json(testenv, manager, "POST", path, "{\"note\":\"Advice given.\"}", 200));
    finish(f);
    start_consultation("CSSW", h); /* finished, no outcome */
    save_details(h, "police", 1);
    send_request(h, "pass-to-mash-manager", rid);
    decide(h, "[]");
    snprintf(path, sizeof(path), "/api/v1/requests/%s/complete", rid);
    json_decref(testenv_call_json(testenv, manager, "POST", path, NULL, 200));
    finish(h);
    start_consultation("CSSW", x); /* cancelled: started today, never open or finished */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/cancel", x);
    json_decref(
        testenv_call_json(testenv, mash_admin, "POST", path, "{\"reason\":\"Started in error.\"}", 200));

    /* A CP-IS access notification about a known child: a CPIS Follow up in the CP-IS Worker's queue. */
    char nhs[11], body[900], child[32], yesterday[16];
    testenv_sql_date(testenv, "current_date - 1", yesterday);
    testenv_new_nhs_number(nhs);
    snprintf(body, sizeof(body),
             "{\"legal_name\":{\"given\":\"Ellis\",\"family\":\"Quarrington\"},\"gender\":\"female\","
             "\"date_of_birth\":\"2019-04-02\",\"nhs_number\":\"%s\"}",
             nhs);
    json_t *p = testenv_call_json(testenv, admin, "POST", "/api/v1/people", body, 201);
    snprintf(child, sizeof(child), "%s", testenv_str(p, "id"));
    json_decref(p);
    /* On a child protection plan: a notification is followed up only for a child on a plan. */
    snprintf(body, sizeof(body),
             "{\"person_id\":\"%s\",\"plan_type\":\"child-protection-plan\",\"start_date\":\"2025-01-06\"}",
             child);
    json_decref(testenv_call_json(testenv, admin, "POST", "/api/v1/cpis/plans", body, 201));
    snprintf(body, sizeof(body),
             "{\"notifications\":[{\"notification_id\":\"N-DASH-1\",\"type\":\"access\","
             "\"created_at\":\"%sT10:20:00Z\",\"nhs_number\":\"%s\",\"accessed_at\":\"%sT10:12:00Z\","
             "\"care_setting\":{\"type\":\"emergency-department\",\"ods_code\":\"RX1\","
             "\"name\":\"Northgate Hospital A&E\"},\"health_professional\":{\"name\":\"Sam Ortiz\","
             "\"role\":\"Staff Nurse\"}}]}",
             yesterday, nhs, yesterday);
    json_t *accepted = testenv_call_json(testenv, service, "POST", "/api/v1/cpis/notifications", body, 200);
    if (num(accepted, "accepted") != 1)
        fail_msg("the notification was not accepted: %s", json_dumps(accepted, JSON_COMPACT));
    json_decref(accepted);

    d = dashboard_when("", 6, 2, 1);
    json_t *started = json_object_get(d, "started");
    assert_int_equal(num(started, "today"), 9);
    assert_int_equal(num(started, "this_week"), 9);
    assert_int_equal(num(started, "in_period"), 9);
    /* Where the six open ones wait, in the order of the work. */
    static const char *const stages[][2] = {
        {"awaiting-mash-manager", "1"}, {"with-mash-social-worker", "1"}, {"awaiting-early-help-review", "1"},
        {"decision-made", "1"},         {"details-recorded", "1"},        {"details-being-recorded", "1"}};
    json_t *by_stage = json_object_get(json_object_get(d, "open"), "by_stage");
    for (size_t i = 0; i < 6; i++) {
        json_t *s = json_array_get(by_stage, i);
        assert_string_equal(testenv_str(s, "stage"), stages[i][0]);
        assert_int_equal(num(s, "count"), atoi(stages[i][1]));
        assert_true(json_is_string(json_object_get(s, "oldest_started_at")));
    }
    assert_string_equal(testenv_str(stage(d, "awaiting-mash-manager"), "title"), "Awaiting the MASH Manager");
    json_t *oldest = json_object_get(json_object_get(d, "open"), "oldest");
    assert_string_equal(testenv_str(oldest, "step_id"), a);
    assert_string_equal(testenv_str(oldest, "organisation_name"), "Hampden Children Centre");
    assert_string_equal(testenv_str(oldest, "step_title"), "Consultation (CSSW)");
    assert_string_equal(testenv_str(oldest, "stage"), "details-being-recorded");
    long age = num(oldest, "age_seconds");
    assert_true(age >= 1 && age <= (long)(time(NULL) - began) + 1);
    /* Finished today: f with both outcomes, h with none; by source, most first, then by title. */
    json_t *fin = json_object_get(d, "finished");
    json_t *outcomes = json_object_get(fin, "by_outcome");
    assert_string_equal(testenv_str(json_array_get(outcomes, 0), "outcome"), "further-information-given");
    assert_int_equal(num(json_array_get(outcomes, 0), "count"), 1);
    assert_string_equal(testenv_str(json_array_get(outcomes, 1), "outcome"), "referral-to-mash");
    assert_int_equal(num(json_array_get(outcomes, 1), "count"), 1);
    json_t *sources = json_object_get(fin, "by_source");
    assert_int_equal(json_array_size(sources), 2);
    assert_string_equal(testenv_str(json_array_get(sources, 0), "title"), "POLICE");
    assert_int_equal(num(json_array_get(sources, 0), "count"), 1);
    assert_string_equal(testenv_str(json_array_get(sources, 1), "title"), "SCHOOLS");
    assert_int_equal(num(json_array_get(sources, 1), "count"), 1);
    /* Both were decided and finished within this test. */
    json_t *times = json_object_get(d, "times");
    long took = (long)(time(NULL) - began) + 1;
    json_t *to_decision = json_object_get(times, "to_decision"),
           *to_finish = json_object_get(times, "to_finish");
    assert_int_equal(num(to_decision, "count"), 2);
    assert_int_equal(num(to_finish, "count"), 2);
    assert_true(num(to_decision, "median_seconds") >= 0 && num(to_decision, "median_seconds") <= took);
    assert_true(num(to_finish, "median_seconds") >= num(to_decision, "median_seconds") - 1);
    assert_true(num(to_finish, "longest_seconds") <= took);
    /* The CP-IS Worker's queue. */
    json_t *queue = json_object_get(d, "cpis_queue");
    assert_string_equal(testenv_str(queue, "title"), "CP-IS Worker");
    assert_true(num(queue, "oldest_age_seconds") >= 0 && num(queue, "oldest_age_seconds") <= took);
    json_decref(d);

    /* The same finished consultations as 'Consultations in period' counts for today. */
    snprintf(path, sizeof(path), "/api/v1/reports/consultations-in-period?start=%s&end=%s", today, today);
    json_t *report = testenv_call_json(testenv, manager, "GET", path, NULL, 200);
    assert_int_equal(num(json_object_get(report, "by_outcome"), "total"), 2);
    json_decref(report);

    /* The work moves on: g is finished, and the safeguarding admin takes the CP-IS step from the
     * queue. */
    snprintf(path, sizeof(path), "/api/v1/requests/%s/complete", rid_g);
    json_decref(testenv_call_json(testenv, manager, "POST", path, NULL, 200));
    finish(g);
    json_t *wv =
        testenv_call_json(testenv, safeguarding, "GET", "/api/v1/workview?queue=cp-is-worker", NULL, 200);
    json_t *item = json_array_get(
        json_object_get(json_object_get(json_object_get(wv, "folders"), "incoming_work"), "items"), 0);
    assert_non_null(item);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/resume", testenv_str(item, "step_id"));
    json_decref(wv);
    json_decref(testenv_call_json(testenv, safeguarding, "POST", path, NULL, 200));
    d = dashboard_when("", 5, 3, 0);
    assert_int_equal(num(stage(d, "decision-made"), "count"), 0);
    assert_true(json_is_null(json_object_get(stage(d, "decision-made"), "oldest_started_at")));
    assert_int_equal(
        num(json_array_get(json_object_get(json_object_get(d, "finished"), "by_outcome"), 1), "count"), 2);
    assert_true(json_is_null(json_object_get(json_object_get(d, "cpis_queue"), "oldest_queued_at")));
    json_decref(d);

    /* Another period: nothing of today's finished or started in it; the live figures are the same. */
    d = dashboard_when("?start=2022-11-14&end=2022-12-01", 5, 0, 0);
    assert_int_equal(num(json_object_get(d, "started"), "in_period"), 0);
    assert_int_equal(num(json_object_get(d, "started"), "today"), 9);
    assert_int_equal(num(json_object_get(json_object_get(d, "times"), "to_decision"), "count"), 0);
    assert_true(json_is_null(
        json_object_get(json_object_get(json_object_get(d, "times"), "to_decision"), "median_seconds")));
    assert_int_equal(json_array_size(json_object_get(json_object_get(d, "finished"), "by_source")), 0);
    json_decref(d);
}

static void test_the_dashboard_checks_its_period_and_who_asks(void **state)
{
    (void)state;
    struct {
        const char *query;
        const char *code;
        const char *field;
    } cases[] = {
        {"?start=2022-11-31&end=2022-12-01", "invalid_date", "start"},
        {"?start=2022-12-01&end=yesterday", "invalid_date", "end"},
        {"?start=2022-12-01&end=2022-11-14", "invalid_period", "end"},
        {"?start=2999-01-01", "invalid_period", "start"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[200];
        snprintf(path, sizeof(path), DASHBOARD "%s", cases[i].query);
        testenv_response_t r = testenv_http(testenv, "GET", path, manager, NULL, NULL);
        testenv_assert_error(&r, 400, cases[i].code);
        assert_string_equal(testenv_str(json_object_get(r.json, "error"), "field"), cases[i].field);
        testenv_response_free(&r);
    }
    /* The same roles as the report: not a social worker, nor the MASH admin. */
    testenv_response_t r = testenv_http(testenv, "GET", DASHBOARD, sw, NULL, NULL);
    testenv_assert_error(&r, 403, "forbidden");
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", DASHBOARD, mash_admin, NULL, NULL);
    testenv_assert_error(&r, 403, "forbidden");
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", DASHBOARD, NULL, NULL, NULL);
    assert_int_equal(r.status, 401);
    testenv_response_free(&r);
}

/* Polls sql until it counts want, for up to ten seconds (each daemon applies the deletion's event in
 * its own time); the last count. */
static long count_when(const char *sql, long want)
{
    long n = -1;
    for (int i = 0; i < 200 && n != want; i++) {
        n = testenv_sql_long(testenv, sql);
        if (n != want)
            usleep(50 * 1000);
    }
    return n;
}

/* Seed 002: a step recorded in error is deleted by system support at the worker's request, with the
 * reason. It goes from the work, the figures and the report; its form, its requests and the notices
 * that pointed at it go from every daemon that kept them; the deletion is in the audit trail; and its
 * id is answered "deleted", with when and why. */
static void test_a_step_deleted_as_recorded_in_error_leaves_the_work_the_figures_and_every_copy(void **state)
{
    (void)state;
    json_t *d = testenv_call_json(testenv, manager, "GET", DASHBOARD, NULL, 200);
    long open = num(json_object_get(d, "open"), "total"),
         finished = num(json_object_get(d, "finished"), "total");
    long queued = num(json_object_get(d, "cpis_queue"), "count");
    char today[11];
    snprintf(today, sizeof(today), "%s", testenv_str(d, "today"));
    json_decref(d);

    char done[32], open_one[32], rid[32], sql[512], path[128];
    start_consultation("CSSW", done);
    save_details(done, "schools", 1);
    send_request(done, "pass-to-mash-manager", rid);
    decide(done, "[\"referral-to-mash\"]");
    finish(done);
    start_consultation("CSSW", open_one);
    save_details(open_one, "police", 0);
    json_decref(dashboard_when("", open + 1, finished + 1, queued));
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM notifications.notices WHERE link = '/steps/%s'", done);
    long notices = 0;
    for (int i = 0; i < 200 && notices == 0; i++) {
        notices = testenv_sql_long(testenv, sql);
        if (notices == 0)
            usleep(50 * 1000);
    }
    assert_true(notices >= 1);
    char report[160];
    snprintf(report, sizeof(report), "/api/v1/reports/consultations-in-period?start=%s&end=%s", today, today);
    testenv_response_t r = testenv_http(testenv, "GET", report, manager, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, done));
    testenv_response_free(&r);

    /* Only system support deletes; every fault of the request at once. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/delete", done);
    r = testenv_http(testenv, "POST", path, manager, "{\"reason\":\"duplicate\"}", NULL);
    testenv_assert_error(&r, 403, "forbidden");
    testenv_response_free(&r);
    r = testenv_http(testenv, "POST", path, admin, "{}", NULL);
    testenv_assert_error(&r, 400, "missing_field");
    testenv_response_free(&r);
    r = testenv_http(testenv, "POST", path, admin, "{\"reason\":\"other\"}", NULL);
    testenv_assert_error(&r, 400, "missing_field");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "error"), "field")),
                        "explanation");
    testenv_response_free(&r);
    r = testenv_http(testenv, "POST", path, admin, "{\"reason\":\"typo\",\"explanation\":\"x\"}", NULL);
    testenv_assert_error(&r, 400, "invalid_reason");
    testenv_response_free(&r);

    r = testenv_http(testenv, "POST", path, admin,
                     "{\"reason\":\"duplicate\",\"explanation\":\"The school's call was recorded twice.\"}",
                     NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(testenv_str(r.json, "step_id"), done);
    assert_string_equal(testenv_str(r.json, "state"), "completed");
    assert_string_equal(testenv_str(r.json, "reason"), "duplicate");
    assert_string_equal(testenv_str(json_object_get(r.json, "subject"), "id"), HAMPDEN);
    testenv_response_free(&r);
    /* Its id is answered "deleted", with when and why, to a reader and to a second deletion. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s", done);
    r = testenv_http(testenv, "GET", path, manager, NULL, NULL);
    testenv_assert_error(&r, 404, "step_deleted");
    assert_non_null(strstr(r.body, "duplicate"));
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/delete", done);
    r = testenv_http(testenv, "POST", path, admin, "{\"reason\":\"duplicate\"}", NULL);
    testenv_assert_error(&r, 404, "step_deleted");
    testenv_response_free(&r);

    /* An open one, recorded against the wrong organisation, leaves its worker's work. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/delete", open_one);
    json_decref(testenv_call_json(testenv, admin, "POST", path, "{\"reason\":\"wrong-record\"}", 200));
    json_t *work = testenv_call_json(testenv, mash_admin, "GET", "/api/v1/workview", NULL, 200);
    char *text = json_dumps(work, JSON_COMPACT);
    char quoted[40];
    snprintf(quoted, sizeof(quoted), "\"%s\"", open_one);
    assert_null(strstr(text, quoted));
    free(text);
    json_decref(work);

    /* The figures and the report, as before the two were recorded. */
    json_decref(dashboard_when("", open, finished, queued));
    r = testenv_http(testenv, "GET", report, manager, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.body, done));
    testenv_response_free(&r);

    /* Every copy gone: the step's rows, the consultation's form, the notices; the deletion kept. */
    snprintf(sql, sizeof(sql),
             "SELECT (SELECT count(*) FROM workflow.steps WHERE id = %s) + (SELECT count(*) FROM"
             " workflow.sections WHERE step_id = %s) + (SELECT count(*) FROM workflow.requests WHERE step_id "
             "= %s)",
             done, done, done);
    assert_int_equal(testenv_sql_long(testenv, sql), 0);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM workflow.step_deletions WHERE step_id IN (%s, %s)", done,
             open_one);
    assert_int_equal(testenv_sql_long(testenv, sql), 2);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM consultations.consultations WHERE step_id IN (%s, %s)",
             done, open_one);
    assert_int_equal(count_when(sql, 0), 0);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM notifications.notices WHERE link = '/steps/%s'", done);
    assert_int_equal(count_when(sql, 0), 0);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM reporting.consultations WHERE step_id IN (%s, %s)", done,
             open_one);
    assert_int_equal(count_when(sql, 0), 0);
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    snprintf(
        sql, sizeof(sql),
        "SELECT count(*) FROM audit.entries WHERE action = 'delete-step' AND record_kind = 'organisation'"
        " AND record_id = " HAMPDEN " AND summary LIKE '%%(step %s)%%'",
        done);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
}

static int setup(void **state)
{
    if (testenv_group_setup(state) != 0)
        return -1;
    admin = testenv_login(testenv, "admin");
    char id[32];
    testenv_add_service_account(testenv, admin, "cpis.poller", "CP-IS Spine Poller", "cpis-service", id);
    mash_admin = testenv_login(testenv, "mash.admin");
    manager = testenv_login(testenv, "mash.manager");
    sw = testenv_login(testenv, "mash.sw");
    service = testenv_login_with(testenv, "cpis.poller", TESTENV_SERVICE_PASSWORD);
    safeguarding = testenv_login(testenv, "safeguarding.admin");
    return 0;
}

static int teardown(void **state)
{
    free(admin);
    free(mash_admin);
    free(manager);
    free(sw);
    free(service);
    free(safeguarding);
    return testenv_group_teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_dashboard_shows_exactly_where_the_front_doors_work_is),
        cmocka_unit_test(test_the_dashboard_checks_its_period_and_who_asks),
        cmocka_unit_test(test_a_step_deleted_as_recorded_in_error_leaves_the_work_the_figures_and_every_copy),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
