/* The Front Door Consultation end to end (seed 000), through the HTTP API of the real suite, as the
 * demo workers: MASH admin records section 1 against the referring organisation or the dummy
 * 'Consultation' organisation and passes it on; the MASH Manager (or, for early help, the Early
 * Help team) resumes it from Incoming requests, records section 2, completes or returns the
 * request, and finishes the step. Each stage checks the request's status history and the workview
 * folders; the form lands in the consultations daemon's typed columns, and the finished step in the
 * 'Consultations in period' report within a second, counted once even across a crash of the
 * reporting daemon. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tsr_client.h"
#include "tsr_config.h"
#include "tsr_testenv.h"
#include "workflow.pb-c.h"
#include <zmq.h>

#define HAMPDEN "7500065"
#define CONSULTATION_ORG "7504989"

/* A call that must answer `status`; its JSON body (new reference). */
static long sql_long(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long sql_long(const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    return testenv_sql_long(testenv, sql);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void today(char out[11])
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

static json_t *find_request(json_t *step, const char *type)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(step, "requests"), i, r)
    {
        if (strcmp(testenv_str(r, "type"), type) == 0)
            return r;
    }
    return NULL;
}

/* Whether a workview folder lists the item (key step_id or request_id). */
static int in_folder(const char *token, const char *query, const char *folder, const char *key,
                     const char *id)
{
    return testenv_in_folder(testenv, token, query, folder, key, id);
}

/* The request's status history as "action>worker or team>by whom" joined by commas. */
static void history_of(const char *token, const char *step_id, const char *type, char *out, size_t size)
{
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/steps/%s", step_id);
    json_t *step = testenv_call_json(testenv, token, "GET", path, NULL, 200);
    json_t *req = find_request(step, type);
    assert_non_null(req);
    size_t n = 0, i;
    json_t *h;
    out[0] = '\0';
    json_array_foreach(json_object_get(req, "history"), i, h)
    {
        n +=
            (size_t)snprintf(out + n, size - n, "%s%s>%s>%s", i ? "," : "", testenv_str(h, "action"),
                             testenv_str(h, "worker_or_team"), testenv_str(json_object_get(h, "by"), "name"));
    }
    json_decref(step);
}

/* One journey of seed 000: who passes it on, to whom, and how the request ends. */
typedef struct {
    const char *organisation;
    const char *organisation_name;
    const char *variant;
    const char *request;  /* the request type raised after section 1 */
    const char *team;     /* the team it goes to by default */
    const char *reviewer; /* the demo worker of that team who picks it up */
    const char *reviewer_name;
    const char *source;
    const char *source_title;
    const char *outcomes; /* JSON list */
    int returned;         /* the reviewer returns the request rather than completing it */
    int social_worker;    /* 'Pass to MASH Social Worker' before finishing */
} journey_t;

static long id_of_team(const char *name)
{
    return sql_long("SELECT id FROM accounts.teams WHERE name = '%s'", name);
}

static long id_of_worker(const char *username)
{
    return sql_long("SELECT id FROM accounts.workers WHERE username = '%s'", username);
}

/* Drives a journey; returns the finished step's id in id_out. */
static void run_journey(const journey_t *j, char id_out[32])
{
    char *admin = testenv_login(testenv, "mash.admin");
    char *reviewer = testenv_login(testenv, j->reviewer);
    char path[160], body[1024], team_query[64], history[512];
    snprintf(team_query, sizeof(team_query), "?team_id=%ld", id_of_team(j->team));

    /* 1-2. MASH admin starts the step from the organisation's summary page. */
    snprintf(
        body, sizeof(body),
        "{\"type\":\"front-door-consultation\",\"variant\":\"%s\",\"subject\":{\"kind\":\"organisation\","
        "\"id\":\"%s\"}}",
        j->variant, j->organisation);
    json_t *step = testenv_call_json(testenv, admin, "POST", "/api/v1/steps", body, 201);
    char id[32], title[64], heading[160];
    snprintf(id, sizeof(id), "%s", testenv_str(step, "id"));
    snprintf(title, sizeof(title), "Consultation (%s)", j->variant);
    snprintf(heading, sizeof(heading), "%s : %s (%s)", title, j->organisation_name, j->organisation);
    assert_string_equal(testenv_str(step, "title"), title);
    assert_string_equal(testenv_str(step, "heading"), heading);
    json_decref(step);
    assert_true(in_folder(admin, NULL, "current_work", "step_id", id));

    /* 3. Section 1, the details of the consultation. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", id);
    snprintf(body, sizeof(body),
             "{\"data\":{\"consulted_at\":\"2022-11-25T13:57:00Z\",\"source\":\"%s\","
             "\"contact_name\":\"Robin Ellery\",\"contact_telephone\":\"020 7974 4444\","
             "\"contact_email\":\"robin.ellery@example.org\",\"contact_relationship\":\"Centre manager\","
             "\"details\":\"Concerned about a family who use the centre.\"},\"completed\":true}",
             j->source);
    step = testenv_call_json(testenv, admin, "PUT", path, body, 200);
    json_t *s1 = json_array_get(json_object_get(step, "sections"), 0);
    assert_true(json_is_true(json_object_get(s1, "completed")));
    char admin_id[24];
    snprintf(admin_id, sizeof(admin_id), "%ld", id_of_worker("mash.admin"));
    assert_string_equal(testenv_str(json_object_get(s1, "data"), "duty_worker"), admin_id);
    json_decref(step);
    /* Kept by the consultations daemon, in typed columns, with the source's title. */
    assert_int_equal(
        sql_long("SELECT count(*) FROM consultations.consultations WHERE step_id = %s"
                 " AND consulted_at = '2022-11-25T13:57:00Z' AND duty_worker_id = %s"
                 " AND source = '%s' AND source_title = '%s' AND contact_email = 'robin.ellery@example.org'"
                 " AND organisation_id = %s AND step_title = '%s' AND section_1_completed",
                 id, admin_id, j->source, j->source_title, j->organisation, title),
        1);

    /* 4. The request, to its team by default: sent, and in the team's Incoming requests. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", id);
    snprintf(body, sizeof(body), "{\"type\":\"%s\",\"note\":\"Please review.\"}", j->request);
    step = testenv_call_json(testenv, admin, "POST", path, body, 201);
    json_t *req = find_request(step, j->request);
    assert_non_null(req);
    char rid[32];
    snprintf(rid, sizeof(rid), "%s", testenv_str(req, "id"));
    assert_string_equal(testenv_str(req, "status"), "sent");
    json_decref(step);
    history_of(admin, id, j->request, history, sizeof(history));
    char expected[512];
    snprintf(expected, sizeof(expected), "sent>%s>Morgan Ashby", j->team);
    assert_string_equal(history, expected);
    assert_true(in_folder(reviewer, team_query, "incoming_requests", "request_id", rid));
    assert_true(in_folder(admin, NULL, "current_work", "step_id", id));

    /* 5-6. The reviewer resumes it from Incoming requests: it leaves the admin's Current work. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/resume", id);
    json_decref(testenv_call_json(testenv, reviewer, "POST", path, NULL, 200));
    assert_true(in_folder(reviewer, NULL, "current_work", "step_id", id));
    assert_false(in_folder(admin, NULL, "current_work", "step_id", id));

    /* 7. Section 2, the advice given and the decision made. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/2", id);
    snprintf(
        body, sizeof(body),
        "{\"data\":{\"advice\":\"Advised the centre on next steps.\",\"outcomes\":%s},\"completed\":true}",
        j->outcomes);
    json_decref(testenv_call_json(testenv, reviewer, "PUT", path, body, 200));
    assert_int_equal(sql_long("SELECT count(*) FROM consultations.consultations WHERE step_id = %s"
                              " AND section_2_completed AND completed_by_id = %ld"
                              " AND array_to_json(outcomes)::text = '%s'",
                              id, id_of_worker(j->reviewer), j->outcomes),
                     1);

    /* 8. The request completed (or returned to the admin, who acknowledges it). */
    snprintf(path, sizeof(path), "/api/v1/requests/%s/%s", rid, j->returned ? "return" : "complete");
    json_decref(testenv_call_json(testenv, reviewer, "POST", path, "{\"note\":\"Advice given.\"}", 200));
    assert_false(in_folder(reviewer, team_query, "incoming_requests", "request_id", rid));
    history_of(admin, id, j->request, history, sizeof(history));
    if (j->returned) {
        snprintf(expected, sizeof(expected), "sent>%s>Morgan Ashby,returned>%s>%s", j->team, j->team,
                 j->reviewer_name);
        assert_string_equal(history, expected);
        assert_true(in_folder(admin, NULL, "incoming_requests", "request_id", rid));
        snprintf(path, sizeof(path), "/api/v1/requests/%s/acknowledge", rid);
        json_decref(testenv_call_json(testenv, admin, "POST", path, NULL, 200));
        assert_false(in_folder(admin, NULL, "incoming_requests", "request_id", rid));
        history_of(admin, id, j->request, history, sizeof(history));
        snprintf(expected, sizeof(expected),
                 "sent>%s>Morgan Ashby,returned>%s>%s,acknowledged>%s>Morgan Ashby", j->team, j->team,
                 j->reviewer_name, j->team);
        assert_string_equal(history, expected);
    } else {
        snprintf(expected, sizeof(expected), "sent>%s>Morgan Ashby,completed>%s>%s", j->team, j->team,
                 j->reviewer_name);
        assert_string_equal(history, expected);
    }

    /* 9. Optionally, 'Pass to MASH Social Worker', to a named social worker. */
    if (j->social_worker) {
        char *sw = testenv_login(testenv, "mash.sw");
        snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", id);
        snprintf(body, sizeof(body),
                 "{\"type\":\"pass-to-mash-social-worker\",\"to\":{\"worker_id\":\"%ld\"}}",
                 id_of_worker("mash.sw"));
        step = testenv_call_json(testenv, reviewer, "POST", path, body, 201);
        char swid[32];
        snprintf(swid, sizeof(swid), "%s",
                 testenv_str(find_request(step, "pass-to-mash-social-worker"), "id"));
        json_decref(step);
        assert_true(in_folder(sw, NULL, "incoming_requests", "request_id", swid));
        snprintf(path, sizeof(path), "/api/v1/requests/%s/complete", swid);
        json_decref(testenv_call_json(testenv, sw, "POST", path, "{\"note\":\"Seen.\"}", 200));
        assert_false(in_folder(sw, NULL, "incoming_requests", "request_id", swid));
        history_of(sw, id, "pass-to-mash-social-worker", history, sizeof(history));
        snprintf(expected, sizeof(expected), "sent>Sam Whitfield>%s,completed>>Sam Whitfield",
                 j->reviewer_name);
        assert_string_equal(history, expected);
        free(sw);
    }

    /* 10. Section 3: 'Consultation complete' finishes the step and starts nothing. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/finish", id);
    step = testenv_call_json(testenv, reviewer, "POST", path,
                             "{\"next_actions\":[{\"action\":\"consultation-complete\"}]}", 200);
    assert_string_equal(testenv_str(step, "state"), "completed");
    assert_null(json_object_get(json_array_get(json_object_get(step, "next_actions"), 0), "started_step_id"));
    json_decref(step);
    assert_false(in_folder(reviewer, NULL, "current_work", "step_id", id));
    assert_false(in_folder(admin, NULL, "current_work", "step_id", id));
    snprintf(id_out, 32, "%s", id);
    free(admin);
    free(reviewer);
}

/* The report's row for a step today, or NULL (new reference). */
static json_t *report_row(const char *token, const char *step_id)
{
    char day[11], path[200];
    today(day);
    snprintf(path, sizeof(path), "/api/v1/reports/consultations-in-period?start=%s&end=%s&limit=1000", day,
             day);
    json_t *report = testenv_call_json(testenv, token, "GET", path, NULL, 200);
    json_t *found = NULL;
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(json_object_get(report, "rows"), "items"), i, row)
    {
        if (strcmp(testenv_str(row, "step_id"), step_id) == 0)
            found = json_incref(row);
    }
    json_decref(report);
    return found;
}

static void wait_for_row(const char *token, const char *step_id)
{
    json_t *row = NULL;
    for (int i = 0; i < 100 && row == NULL; i++) {
        row = report_row(token, step_id);
        if (row == NULL)
            usleep(50 * 1000);
    }
    if (row == NULL)
        fail_msg("step %s did not reach the report", step_id);
    json_decref(row);
}

static void test_each_route_and_variant_runs_the_seeds_journey_and_reaches_the_report(void **state)
{
    (void)state;
    static const journey_t journeys[] = {
        {HAMPDEN, "Hampden Children Centre", "CSSW", "pass-to-mash-manager", "MASH Manager", "mash.manager",
         "Priya Mannering", "schools", "SCHOOLS", "[\"further-information-given\",\"referral-to-mash\"]", 0,
         1},
        {CONSULTATION_ORG, "Consultation", "CSSW", "pass-to-mash-manager", "MASH Manager", "mash.manager",
         "Priya Mannering", "police", "POLICE", "[\"referral-to-mash\"]", 1, 0},
        {HAMPDEN, "Hampden Children Centre", "CSEW", "please-review-information-and-confirm-next-action",
         "Early Help", "eh.worker", "Elliot Hale", "la-services-early-help", "LA SERVICES - early help",
         "[\"further-information-given\"]", 0, 0},
        {CONSULTATION_ORG, "Consultation", "CSEW", "please-review-information-and-confirm-next-action",
         "Early Help", "eh.worker", "Elliot Hale", "other",
         "OTHER - including children''s centres, independent agency providers or voluntary organisations",
         "[]", 1, 0},
    };
    char *manager = testenv_login(testenv, "mash.manager");
    for (size_t k = 0; k < sizeof(journeys) / sizeof(journeys[0]); k++) {
        const journey_t *j = &journeys[k];
        char id[32];
        run_journey(j, id);
        wait_for_row(manager, id);
        json_t *row = report_row(manager, id);
        char title[64], day[11];
        snprintf(title, sizeof(title), "Consultation (%s)", j->variant);
        today(day);
        assert_string_equal(testenv_str(row, "organisation_id"), j->organisation);
        assert_string_equal(testenv_str(row, "organisation_name"), j->organisation_name);
        assert_string_equal(testenv_str(row, "step_type"), title);
        assert_string_equal(testenv_str(row, "step_started_on"), day);
        assert_string_equal(testenv_str(row, "step_completed_on"), day);
        assert_string_equal(testenv_str(row, "consulted_on"), "2022-11-25");
        assert_string_equal(testenv_str(row, "consulted_at"), "2022-11-25T13:57:00Z");
        assert_string_equal(testenv_str(row, "source"), j->source);
        assert_string_equal(testenv_str(row, "referrer_name"), "Robin Ellery");
        assert_string_equal(testenv_str(row, "referrer_relationship"), "Centre manager");
        char *outcomes = json_dumps(json_object_get(row, "outcomes"), JSON_COMPACT);
        assert_string_equal(outcomes, j->outcomes);
        free(outcomes);
        json_decref(row);
    }
    /* The referrer's name goes out in the consultations daemon's events; their telephone, e-mail and
     * the free text of the form stay in its schema. */
    const char *published = "SELECT count(*) FROM consultations.outbox"
                            " WHERE position(convert_to('%s', 'UTF8') in envelope) > 0";
    assert_true(sql_long(published, "Robin Ellery") >= 4);
    assert_int_equal(sql_long(published, "robin.ellery@example.org"), 0);
    assert_int_equal(sql_long(published, "020 7974 4444"), 0);
    assert_int_equal(sql_long(published, "Concerned about a family"), 0);
    free(manager);
}

static void
test_the_form_refuses_a_bad_email_telephone_future_date_or_unknown_source_and_keeps_nothing(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "mash.admin");
    char body[400], path[128];
    snprintf(
        body, sizeof(body),
        "{\"type\":\"front-door-consultation\",\"variant\":\"CSSW\",\"subject\":{\"kind\":\"organisation\","
        "\"id\":\"" HAMPDEN "\"}}");
    json_t *step = testenv_call_json(testenv, admin, "POST", "/api/v1/steps", body, 201);
    char id[32];
    snprintf(id, sizeof(id), "%s", testenv_str(step, "id"));
    json_decref(step);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", id);
    long events = sql_long("SELECT count(*) FROM consultations.outbox");
    testenv_call_error(testenv, admin, "PUT", path,
                       "{\"data\":{\"source\":\"schools\",\"contact_email\":\"robin at example\"}}", 400,
                       "invalid_email", "data.contact_email");
    testenv_call_error(testenv, admin, "PUT", path,
                       "{\"data\":{\"source\":\"schools\",\"contact_telephone\":\"ring the office\"}}", 400,
                       "invalid_telephone", "data.contact_telephone");
    /* Addresses and numbers that were let through: nobody could write or ring back to them. */
    static const char *const bad_emails[] = {
        "robin@example.org,", "robin,ellery@example.org", "<script>@example.org", "robin@exa_mple.org",
        ".robin@example.org", "robin@example.c",          "robin@-example.org"};
    static const char *const bad_telephones[] = {
        "123456", "12345678901234567890", "()()()123456", "----------1234567", "7974 4444", "+44 20 7974"};
    for (size_t i = 0; i < sizeof(bad_emails) / sizeof(bad_emails[0]); i++) {
        snprintf(body, sizeof(body), "{\"data\":{\"source\":\"schools\",\"contact_email\":\"%s\"}}",
                 bad_emails[i]);
        testenv_call_error(testenv, admin, "PUT", path, body, 400, "invalid_email", "data.contact_email");
    }
    for (size_t i = 0; i < sizeof(bad_telephones) / sizeof(bad_telephones[0]); i++) {
        snprintf(body, sizeof(body), "{\"data\":{\"source\":\"schools\",\"contact_telephone\":\"%s\"}}",
                 bad_telephones[i]);
        testenv_call_error(testenv, admin, "PUT", path, body, 400, "invalid_telephone",
                           "data.contact_telephone");
    }
    /* A referrer's name holding U+FFFE (pasted from another program) was kept, and the report's XLSX
     * made from it would not open: text that is not text is refused, naming the field and what it
     * holds, whether sent raw or escaped. */
    static const struct {
        const char *data, *field, *says;
    } not_text[] = {
        {"\"contact_name\":\"Kai\\ufffeMorgan\"", "data.contact_name",
         "Name holds U+FFFE, which is not a character: take it out."},
        {"\"contact_relationship\":\"Aunt\xef\xbf\xbf\"", "data.contact_relationship",
         "Relationship with subject(s) holds U+FFFF, which is not a character: take it out."},
        {"\"details\":\"Seen twice\\n\\ufdd0\"", "data.details",
         "Details about this consultation holds U+FDD0, which is not a character: take it out."},
        {"\"contact_name\":\"Kai\\u001bMorgan\"", "data.contact_name",
         "Name holds a control character (U+001B): take it out."},
    };
    for (size_t i = 0; i < sizeof(not_text) / sizeof(not_text[0]); i++) {
        snprintf(body, sizeof(body), "{\"data\":{\"source\":\"schools\",%s}}", not_text[i].data);
        testenv_response_t refused = testenv_http(testenv, "PUT", path, admin, body, NULL);
        testenv_assert_error(&refused, 400, "invalid_characters");
        const json_t *error = json_object_get(refused.json, "error");
        assert_string_equal(testenv_str(error, "field"), not_text[i].field);
        assert_string_equal(testenv_str(error, "message"), not_text[i].says);
        testenv_response_free(&refused);
    }
    testenv_call_error(testenv, admin, "PUT", path, "{\"data\":{\"consulted_at\":\"2999-01-01T09:00:00Z\"}}",
                       400, "date_in_future", "data.consulted_at");
    testenv_call_error(testenv, admin, "PUT", path, "{\"data\":{\"consulted_at\":\"25/11/2022 13:57\"}}", 400,
                       "invalid_datetime", "data.consulted_at");
    testenv_call_error(testenv, admin, "PUT", path, "{\"data\":{\"source\":\"SCHOOLS\"}}", 400,
                       "unknown_option", "data.source");
    testenv_call_error(testenv, admin, "PUT", path, "{\"data\":{\"source\":\"schools\"},\"completed\":true}",
                       422, "required_field", "data.consulted_at");
    /* A worker's id past bigint's range reached PostgreSQL, which refused it: a 500. */
    testenv_call_error(testenv, admin, "PUT", path, "{\"data\":{\"duty_worker\":\"99999999999999999999\"}}",
                       400, "invalid_value", "data.duty_worker");
    /* Every fault of the form in one answer, in the form's order, each naming its field: the worker
     * puts them all right at once. The status is bad input's. */
    testenv_response_t r =
        testenv_http(testenv, "PUT", path, admin,
                     "{\"data\":{\"contact_email\":\"robin at example\",\"source\":\"schools\","
                     "\"contact_telephone\":\"ring the office\","
                     "\"consulted_at\":\"2999-01-01T09:00:00Z\"}}",
                     NULL);
    testenv_assert_error(&r, 400, "date_in_future");
    const json_t *faults = json_object_get(r.json, "errors");
    if (json_array_size(faults) != 3)
        fail_msg("the faults: %s", r.body);
    const char *want[3][2] = {{"date_in_future", "data.consulted_at"},
                              {"invalid_telephone", "data.contact_telephone"},
                              {"invalid_email", "data.contact_email"}};
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(testenv_str(json_array_get(faults, i), "code"), want[i][0]);
        assert_string_equal(testenv_str(json_array_get(faults, i), "field"), want[i][1]);
        assert_true(strlen(testenv_str(json_array_get(faults, i), "message")) > 10);
    }
    testenv_response_free(&r);
    /* A key that is no field is one fault among the others, not the only one told. */
    r = testenv_http(
        testenv, "PUT", path, admin,
        "{\"data\":{\"colour\":\"blue\",\"source\":\"schools\",\"contact_email\":\"robin at example\"}}",
        NULL);
    testenv_assert_error(&r, 400, "unknown_field");
    faults = json_object_get(r.json, "errors");
    if (json_array_size(faults) != 2 ||
        strcmp(testenv_str(json_array_get(faults, 1), "field"), "data.contact_email"))
        fail_msg("the faults: %s", r.body);
    testenv_response_free(&r);
    /* One fault alone is the one item of the list. */
    r = testenv_http(testenv, "PUT", path, admin, "{\"data\":{\"source\":\"SCHOOLS\"}}", NULL);
    testenv_assert_error(&r, 400, "unknown_option");
    assert_int_equal(json_array_size(json_object_get(r.json, "errors")), 1);
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/2", id);
    testenv_call_error(testenv, admin, "PUT", path,
                       "{\"data\":{\"outcomes\":[\"referral-to-mash\",\"referral-to-mash\"]}}", 400,
                       "duplicate_option", "data.outcomes");
    testenv_call_error(testenv, admin, "PUT", path, "{\"data\":{\"outcomes\":[\"strategy-meeting\"]}}", 400,
                       "unknown_option", "data.outcomes");
    /* Nothing kept, nothing published. */
    assert_int_equal(sql_long("SELECT count(*) FROM consultations.consultations WHERE step_id = %s", id), 0);
    assert_int_equal(sql_long("SELECT count(*) FROM consultations.outbox"), events);
    /* A save without the optional fields keeps what it has, and empties what it no longer has. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", id);
    json_decref(testenv_call_json(testenv, admin, "PUT", path,
                                  "{\"data\":{\"source\":\"schools\",\"contact_name\":\"  Robin Ellery  \"}}",
                                  200));
    assert_int_equal(sql_long("SELECT count(*) FROM consultations.consultations WHERE step_id = %s"
                              " AND contact_name = 'Robin Ellery' AND NOT section_1_completed",
                              id),
                     1);
    json_decref(testenv_call_json(testenv, admin, "PUT", path, "{\"data\":{\"source\":\"police\"}}", 200));
    assert_int_equal(sql_long("SELECT count(*) FROM consultations.consultations WHERE step_id = %s"
                              " AND contact_name IS NULL AND source_title = 'POLICE'",
                              id),
                     1);
    /* A consultation long ago is a slip of the keyboard (1026 for 2026), refused naming the earliest
     * date the form takes; the report showed one before 1970 with no date at all. */
    static const char *const too_early[] = {"1026-11-25T13:57:00Z", "1989-12-31T23:59:59Z"};
    for (size_t i = 0; i < sizeof(too_early) / sizeof(too_early[0]); i++) {
        snprintf(body, sizeof(body), "{\"data\":{\"source\":\"police\",\"consulted_at\":\"%s\"}}",
                 too_early[i]);
        testenv_call_error(testenv, admin, "PUT", path, body, 400, "date_too_early", "data.consulted_at");
    }
    json_decref(testenv_call_json(
        testenv, admin, "PUT", path,
        "{\"data\":{\"source\":\"police\",\"consulted_at\":\"1990-01-01T00:00:00Z\"}}", 200));
    assert_int_equal(sql_long("SELECT count(*) FROM consultations.consultations WHERE step_id = %s"
                              " AND consulted_at = '1990-01-01T00:00:00Z'",
                              id),
                     1);
    /* A save without 'data' emptied the whole section ("its fields stay as they are", the gateway
     * said): it is refused, and the section keeps what it has. */
    testenv_call_error(testenv, admin, "PUT", path, "{\"completed\":false}", 400, "missing_field", "data");
    testenv_call_error(testenv, admin, "PUT", path, "{\"completed\":true}", 400, "missing_field", "data");
    assert_int_equal(sql_long("SELECT count(*) FROM consultations.consultations WHERE step_id = %s"
                              " AND source = 'police'",
                              id),
                     1);
    /* The ways a UK number is written, from here and from abroad, with an extension. */
    static const char *const telephones[] = {"020 7974 4444",     "+44 (0)20 7974 4444",
                                             "+44 7700 900123",   "(020) 7974-4444",
                                             "0044 20 7974 4444", "020 7974 4444 ext 123"};
    for (size_t i = 0; i < sizeof(telephones) / sizeof(telephones[0]); i++) {
        snprintf(body, sizeof(body),
                 "{\"data\":{\"source\":\"schools\",\"contact_telephone\":\"%s\","
                 "\"contact_email\":\"o'neil+front.door@mail.example.co.uk\"}}",
                 telephones[i]);
        json_decref(testenv_call_json(testenv, admin, "PUT", path, body, 200));
        assert_int_equal(sql_long("SELECT count(*) FROM consultations.consultations WHERE step_id = %s"
                                  " AND contact_telephone = '%s'",
                                  id, telephones[i]),
                         1);
    }
    /* Outcomes chosen the other way round are kept in the form's order, as an import keeps them: the
     * report's row read 'Referral to Mash, Further information given' for one and the other way for
     * the other. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/2", id);
    json_decref(testenv_call_json(
        testenv, admin, "PUT", path,
        "{\"data\":{\"outcomes\":[\"referral-to-mash\",\"further-information-given\"]}}", 200));
    assert_int_equal(sql_long("SELECT count(*) FROM consultations.consultations WHERE step_id = %s"
                              " AND outcome_titles = ARRAY['Further information given', 'Referral to Mash']",
                              id),
                     1);
    /* The next actions take only next actions, each once: section 3 kept whatever it was given, and
     * 'Consultation complete' listed twice was recorded twice. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/3", id);
    testenv_call_error(testenv, admin, "PUT", path, "{\"data\":{\"source\":\"schools\"}}", 400,
                       "unknown_field", "data.source");
    testenv_call_error(testenv, admin, "PUT", path,
                       "{\"data\":{\"next_actions\":[{\"action\":\"consultation-complete\"},"
                       "{\"action\":\"consultation-complete\"}]}}",
                       422, "duplicate_next_action", "next_actions[1].action");
    free(admin);
}

/* A whole journey quickly, by the manager alone, for the timing and restart tests. */
static void quick_consultation(const char *token, const char *source, char id_out[32])
{
    char body[600], path[128];
    json_t *step = testenv_call_json(testenv, token, "POST", "/api/v1/steps",
                                     "{\"type\":\"front-door-consultation\",\"variant\":\"CSSW\","
                                     "\"subject\":{\"kind\":\"organisation\",\"id\":\"" HAMPDEN "\"}}",
                                     201);
    snprintf(id_out, 32, "%s", testenv_str(step, "id"));
    json_decref(step);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", id_out);
    snprintf(body, sizeof(body),
             "{\"data\":{\"consulted_at\":\"2022-11-25T13:57:00Z\",\"source\":\"%s\"},\"completed\":true}",
             source);
    json_decref(testenv_call_json(testenv, token, "PUT", path, body, 200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/2", id_out);
    json_decref(testenv_call_json(testenv, token, "PUT", path,
                                  "{\"data\":{\"outcomes\":[\"referral-to-mash\"]},\"completed\":true}",
                                  200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/finish", id_out);
    json_decref(testenv_call_json(testenv, token, "POST", path,
                                  "{\"next_actions\":[{\"action\":\"consultation-complete\"}]}", 200));
}

static void test_a_finished_step_is_in_the_report_within_a_second(void **state)
{
    (void)state;
    char *manager = testenv_login(testenv, "mash.manager");
    for (int k = 0; k < 3; k++) {
        char id[32];
        quick_consultation(manager, "housing", id);
        long finished = now_ms();
        json_t *row = NULL;
        long seen = 0;
        /* The row whole: the workflow daemon's finish and the consultations daemon's form data come
         * on two streams, and either may reach the reporting daemon first. */
        while ((seen = now_ms()) - finished < 3000) {
            row = report_row(manager, id);
            if (row != NULL && testenv_str(row, "source_title")[0] != '\0')
                break;
            json_decref(row);
            row = NULL;
            usleep(20 * 1000);
        }
        if (row == NULL || seen - finished > 1000) {
            free(manager);
            fail_msg("step %s reached the report whole %ld ms after it finished (at most 1000 allowed)", id,
                     seen - finished);
        }
        assert_string_equal(testenv_str(row, "source_title"), "HOUSING - LA housing or housing association");
        json_decref(row);
    }
    free(manager);
}

/* The counts of today's report: total, and the housing source's. */
static void report_counts(const char *token, long *total, long *by_source_sum, long *rows)
{
    char day[11], path[200];
    today(day);
    snprintf(path, sizeof(path), "/api/v1/reports/consultations-in-period?start=%s&end=%s&limit=1000", day,
             day);
    json_t *report = testenv_call_json(testenv, token, "GET", path, NULL, 200);
    *total = (long)json_integer_value(json_object_get(json_object_get(report, "by_outcome"), "total"));
    *by_source_sum = 0;
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(json_object_get(report, "by_source"), "items"), i, item)
    {
        *by_source_sum += (long)json_integer_value(json_object_get(item, "count"));
    }
    *rows = (long)json_array_size(json_object_get(json_object_get(report, "rows"), "items"));
    json_decref(report);
}

static void test_the_report_survives_a_crash_of_the_reporting_daemon_and_counts_each_event_once(void **state)
{
    (void)state;
    char *manager = testenv_login(testenv, "mash.manager");
    char id[32];
    quick_consultation(manager, "police", id);
    wait_for_row(manager, id);
    /* Killed outright: nothing is drained, and the consumer's position is only what it committed. */
    testenv_kill(testenv, "reporting", SIGKILL);
    for (int k = 0; k < 3; k++)
        quick_consultation(manager, "police", id);
    testenv_restart(testenv, "reporting");
    wait_for_row(manager, id);
    /* Its inbox rewound to nothing, as if it had lost track: every event comes again in the replay.
     * Each carries its step or form as it stands, so applying one twice still counts it once. */
    testenv_kill(testenv, "reporting", SIGKILL);
    char out[256];
    assert_int_equal(testenv_psql(testenv, NULL, "UPDATE reporting.inbox SET last_seq = 0", out, sizeof(out)),
                     0);
    testenv_restart(testenv, "reporting");
    usleep(1500 * 1000);
    long total = 0, by_source = 0, rows = 0;
    report_counts(manager, &total, &by_source, &rows);
    /* The truth, from the workflow daemon's own record of what it finished today. */
    long finished =
        sql_long("SELECT count(*) FROM workflow.steps WHERE type = 'front-door-consultation'"
                 " AND state = 'completed' AND (completed_at AT TIME ZONE 'Europe/London')::date ="
                 " (now() AT TIME ZONE 'Europe/London')::date");
    assert_true(finished >= 4);
    assert_int_equal(total, finished);
    assert_int_equal(by_source, finished);
    assert_int_equal(rows, finished);
    /* The day and month counts agree with the rows they count. */
    assert_int_equal(
        sql_long("SELECT (SELECT coalesce(sum(n), 0) FROM reporting.counts_total WHERE grain = 'm')"
                 " - (SELECT count(*) FROM reporting.consultations WHERE completed_on IS NOT NULL)"),
        0);
    assert_int_equal(
        sql_long("SELECT (SELECT coalesce(sum(n), 0) FROM reporting.counts_total WHERE grain = 'd')"
                 " - (SELECT count(*) FROM reporting.consultations WHERE completed_on IS NOT NULL)"),
        0);
    assert_int_equal(sql_long("SELECT count(*) FROM reporting.inbox_dead"), 0);
    free(manager);
}

static void test_a_reopened_step_leaves_the_report_until_it_is_finished_again(void **state)
{
    (void)state;
    char *manager = testenv_login(testenv, "mash.manager");
    char id[32], path[128];
    quick_consultation(manager, "anonymous", id);
    wait_for_row(manager, id);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/reopen", id);
    json_decref(testenv_call_json(testenv, manager, "POST", path, NULL, 200));
    json_t *row = NULL;
    for (int i = 0; i < 100; i++) {
        row = report_row(manager, id);
        if (row == NULL)
            break;
        json_decref(row);
        usleep(50 * 1000);
    }
    assert_null(row);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/finish", id);
    json_decref(testenv_call_json(testenv, manager, "POST", path,
                                  "{\"next_actions\":[{\"action\":\"consultation-complete\"}]}", 200));
    wait_for_row(manager, id);
    free(manager);
}

/* A save sent to the consultations daemon on the bus, as a worker: its error code, or "" when it was
 * kept. The daemon checks what it keeps whoever calls it, not only what the workflow daemon checked. */
static void bus_save(const char *section, const char *data, const char *section_json, const char *kind,
                     int completed, char code[64], char field[128])
{
    tsr_error_t err;
    tsr_config_t *config = tsr_config_load(testenv->config, &err);
    assert_non_null(config);
    const char *endpoint = tsr_config_get(config, "consultations.rpc", NULL);
    assert_non_null(endpoint);
    void *zmq = zmq_ctx_new();
    static char *roles[] = {"mash-admin"};
    Tsr__Actor actor = TSR__ACTOR__INIT;
    actor.worker_id = 424242;
    actor.username = "bus.caller";
    actor.roles = roles;
    actor.n_roles = 1;
    Tsr__Workflow__Subject subject = TSR__WORKFLOW__SUBJECT__INIT;
    subject.kind = (char *)kind;
    subject.id = 7500065;
    Tsr__Workflow__OwnedSectionSave q = TSR__WORKFLOW__OWNED_SECTION_SAVE__INIT;
    q.step_id = 99000001;
    q.step_type = "front-door-consultation";
    q.variant = "CSSW";
    q.step_title = "Consultation (CSSW)";
    q.subject = &subject;
    q.subject_name = "Hampden Children Centre";
    q.section = (char *)section;
    q.data_json = (char *)data;
    q.section_json = (char *)section_json;
    q.completed = completed;
    tsr_call_opts_t opts = {.type = "consultations.section.save", .actor = &actor, .timeout_ms = 10000};
    Tsr__Envelope *reply = NULL;
    tsr_error_clear(&err);
    int rc = tsr_client_call_sync(zmq, endpoint, &opts, &q.base, &reply, &err);
    snprintf(code, 64, "%s", rc == 0 ? "" : err.code);
    snprintf(field, 128, "%s", rc == 0 ? "" : err.field);
    if (reply)
        tsr__envelope__free_unpacked(reply, NULL);
    zmq_ctx_term(zmq);
    tsr_config_destroy(&config);
}

static void test_the_consultations_daemon_checks_a_save_whoever_sends_it_and_keeps_nothing_bad(void **state)
{
    (void)state;
    /* Section 1 of the definition, as the workflow daemon passes it with a save. */
    char *admin = testenv_login(testenv, "mash.admin");
    json_t *defs = testenv_call_json(testenv, admin, "GET",
                                     "/api/v1/workflow/definitions?type=front-door-consultation", NULL, 200);
    free(admin);
    json_t *def = json_array_get(json_object_get(defs, "items"), 0);
    char *s1 = json_dumps(json_array_get(json_object_get(def, "sections"), 0), JSON_COMPACT);
    char *s2 = json_dumps(json_array_get(json_object_get(def, "sections"), 1), JSON_COMPACT);
    json_decref(defs);
    struct {
        const char *section, *data, *kind;
        int completed;
        const char *code, *field;
    } cases[] = {
        {"1", "{\"source\":\"schools\",\"contact_email\":\"nobody\"}", "organisation", 0, "invalid_email",
         "data.contact_email"},
        {"1", "{\"contact_telephone\":\"0\"}", "organisation", 0, "invalid_telephone",
         "data.contact_telephone"},
        {"1", "{\"consulted_at\":\"2999-12-31T00:00:00Z\"}", "organisation", 0, "date_in_future",
         "data.consulted_at"},
        {"1", "{\"consulted_at\":\"yesterday\"}", "organisation", 0, "invalid_datetime", "data.consulted_at"},
        {"1", "{\"source\":\"carrier-pigeon\"}", "organisation", 0, "unknown_option", "data.source"},
        {"1", "{\"source\":\"schools\"}", "organisation", 1, "required_field", "data.consulted_at"},
        {"1", "{\"advice\":\"x\"}", "organisation", 0, "unknown_field", "data.advice"},
        {"1", "{\"duty_worker\":\"Sam\"}", "organisation", 0, "invalid_value", "data.duty_worker"},
        {"1", "{\"contact_name\":\"Kai\\ufffeMorgan\"}", "organisation", 0, "invalid_characters",
         "data.contact_name"},
        {"2", "{\"outcomes\":\"referral-to-mash\"}", "organisation", 0, "invalid_value", "data.outcomes"},
        {"2", "{\"outcomes\":[\"referral-to-mash\"]}", "person", 0, "wrong_subject", "subject.kind"},
        {"3", "{}", "organisation", 0, "unknown_section", "section"},
    };
    char code[64], field[128];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bus_save(cases[i].section, cases[i].data, strcmp(cases[i].section, "2") == 0 ? s2 : s1, cases[i].kind,
                 cases[i].completed, code, field);
        if (strcmp(code, cases[i].code) != 0 || strcmp(field, cases[i].field) != 0)
            fail_msg("case %zu (%s): expected %s at %s, got '%s' at '%s'", i, cases[i].data, cases[i].code,
                     cases[i].field, code, field);
    }
    /* Without the section's definition there is nothing to check against. */
    bus_save("1", "{\"source\":\"schools\"}", "", "organisation", 0, code, field);
    assert_string_equal(code, "missing_definition");
    assert_int_equal(sql_long("SELECT count(*) FROM consultations.consultations WHERE step_id = 99000001"),
                     0);
    /* A good one is kept, with its source's title from the definition it came with. */
    bus_save("1", "{\"consulted_at\":\"2022-11-25T13:57:00+00:00\",\"source\":\"schools\"}", s1,
             "organisation", 1, code, field);
    assert_string_equal(code, "");
    assert_int_equal(
        sql_long("SELECT count(*) FROM consultations.consultations WHERE step_id = 99000001"
                 " AND source_title = 'SCHOOLS' AND section_1_completed AND duty_worker_id IS NULL"),
        1);
    free(s1);
    free(s2);
}

/* A manager who returns 'Pass to MASH Manager' hands the consultation back: before, the admin saw the
 * returned request but could neither resume the step nor act on it, and only the manager could
 * assign it back. */
static void test_a_returned_request_lets_its_sender_take_the_consultation_back(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "mash.admin");
    char *manager = testenv_login(testenv, "mash.manager");
    char *sw = testenv_login(testenv, "mash.sw");
    json_t *step =
        testenv_call_json(testenv, admin, "POST", "/api/v1/steps",
                          "{\"type\":\"front-door-consultation\",\"variant\":\"CSSW\",\"subject\":{\"kind\":"
                          "\"organisation\",\"id\":\"" HAMPDEN "\"}}",
                          201);
    char id[32], path[160], rid[32];
    snprintf(id, sizeof(id), "%s", testenv_str(step, "id"));
    json_decref(step);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", id);
    json_decref(testenv_call_json(
        testenv, admin, "PUT", path,
        "{\"data\":{\"consulted_at\":\"2022-11-25T13:57:00Z\",\"source\":\"schools\"},\"completed\":true}",
        200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", id);
    step = testenv_call_json(testenv, admin, "POST", path, "{\"type\":\"pass-to-mash-manager\"}", 201);
    snprintf(rid, sizeof(rid), "%s", testenv_str(find_request(step, "pass-to-mash-manager"), "id"));
    json_decref(step);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/resume", id);
    json_decref(testenv_call_json(testenv, manager, "POST", path, NULL, 200));
    snprintf(path, sizeof(path), "/api/v1/requests/%s/return", rid);
    json_decref(testenv_call_json(testenv, manager, "POST", path,
                                  "{\"note\":\"The referrer's telephone, please.\"}", 200));

    /* Another worker of the front door has no reason to take it. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/resume", id);
    testenv_response_t r = testenv_http(testenv, "POST", path, sw, NULL, NULL);
    testenv_assert_error(&r, 403, "not_your_work");
    testenv_response_free(&r);

    /* The admin it was returned to resumes it, before acknowledging the return or after. */
    assert_true(in_folder(admin, NULL, "incoming_requests", "request_id", rid));
    snprintf(path, sizeof(path), "/api/v1/requests/%s/acknowledge", rid);
    json_decref(testenv_call_json(testenv, admin, "POST", path, NULL, 200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/resume", id);
    json_decref(testenv_call_json(testenv, admin, "POST", path, NULL, 200));
    assert_true(in_folder(admin, NULL, "current_work", "step_id", id));
    assert_false(in_folder(manager, NULL, "current_work", "step_id", id));

    /* And puts it right and passes it on again. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", id);
    json_decref(testenv_call_json(testenv, admin, "PUT", path,
                                  "{\"data\":{\"consulted_at\":\"2022-11-25T13:57:00Z\",\"source\":"
                                  "\"schools\",\"contact_telephone\":\"020 7974 4444\"},\"completed\":true}",
                                  200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", id);
    json_decref(testenv_call_json(testenv, admin, "POST", path, "{\"type\":\"pass-to-mash-manager\"}", 201));
    free(admin);
    free(manager);
    free(sw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_route_and_variant_runs_the_seeds_journey_and_reaches_the_report),
        cmocka_unit_test(
            test_the_form_refuses_a_bad_email_telephone_future_date_or_unknown_source_and_keeps_nothing),
        cmocka_unit_test(test_the_consultations_daemon_checks_a_save_whoever_sends_it_and_keeps_nothing_bad),
        cmocka_unit_test(test_a_returned_request_lets_its_sender_take_the_consultation_back),
        cmocka_unit_test(test_a_finished_step_is_in_the_report_within_a_second),
        cmocka_unit_test(test_a_reopened_step_leaves_the_report_until_it_is_finished_again),
        cmocka_unit_test(test_the_report_survives_a_crash_of_the_reporting_daemon_and_counts_each_event_once),
    };
    return cmocka_run_group_tests(tests, testenv_group_setup, testenv_group_teardown);
}
