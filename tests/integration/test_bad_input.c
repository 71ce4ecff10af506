/* Bad input of every kind gets the API's error shape, the right status and a message a person can
 * act on, and changes nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsr_testenv.h"

static char *admin;

static int setup(void **state)
{
    testenv_group_setup(state);
    admin = testenv_login(testenv, "admin");
    return 0;
}

static int teardown(void **state)
{
    free(admin);
    return testenv_group_teardown(state);
}

static long organisations(void)
{
    return testenv_sql_long(testenv, "SELECT count(*) FROM records.organisations");
}

static long outbox_events(void)
{
    return testenv_sql_long(testenv, "SELECT count(*) FROM records.outbox");
}

/* What a rejected call must leave as it was: the organisations, the events records emitted, and
 * the audit trail once audit has applied everything records committed. */
typedef struct {
    long organisations, events, trail;
} snapshot_t;

static snapshot_t snapshot(void)
{
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 15000), 0);
    snapshot_t s = {organisations(), outbox_events(),
                    testenv_sql_long(testenv, "SELECT count(*) FROM audit.entries")};
    assert_true(s.organisations > 0 && s.events > 0 && s.trail > 0);
    return s;
}

/* Nothing changed since before, but for `views` reads of organisations that were expected. */
static void assert_unchanged_but_views(snapshot_t before, long views)
{
    snapshot_t after = snapshot();
    assert_int_equal(after.organisations, before.organisations);
    assert_int_equal(after.events, before.events + views);
    assert_int_equal(after.trail, before.trail + views);
}

/* POSTs body and expects status and code, with nothing added anywhere. */
static void post_is_refused(const char *body, long status, const char *code, const char *field)
{
    long before = organisations(), events = outbox_events();
    testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/organisations", admin, body, NULL);
    testenv_assert_error(&r, status, code);
    if (field != NULL)
        assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "error"), "field")),
                            field);
    testenv_response_free(&r);
    assert_int_equal(organisations(), before);
    assert_int_equal(outbox_events(), events);
}

static void test_malformed_json_is_refused_naming_where(void **state)
{
    (void)state;
    snapshot_t before = snapshot();
    testenv_response_t r =
        testenv_http(testenv, "POST", "/api/v1/organisations", admin, "{\"name\": \"A\",", NULL);
    testenv_assert_error(&r, 400, "malformed_json");
    assert_non_null(
        strstr(json_string_value(json_object_get(json_object_get(r.json, "error"), "message")), "line 1"));
    testenv_response_free(&r);
    assert_unchanged_but_views(before, 0);
}

/* A string with a NUL in it (\u0000) is refused naming the field and saying what is wrong, and no
 * fault of JSON is told in jansson's words: "\u0000 is not allowed without JSON_ALLOW_NUL" and
 * "'[' or '{' expected near end of file" reached callers as they were. */
static void test_a_nul_in_a_string_or_broken_json_is_told_in_words_naming_the_field(void **state)
{
    (void)state;
    snapshot_t before = snapshot();
    static const struct {
        const char *path, *body, *code, *field, *words;
    } cases[] = {
        {"/api/v1/organisations", "{\"name\":\"Hampden\\u0000 Centre\"}", "invalid_characters", "name",
         "name may not contain a NUL character"},
        {"/api/v1/people",
         "{\"legal_name\":{\"given\":\"A\\u0000nn\",\"family\":\"Nulling\"},\"gender\":\"female\"}",
         "invalid_characters", "legal_name.given", "legal_name.given may not contain a NUL character"},
        {"/api/v1/people",
         "{\"legal_name\":{\"given\":\"Ann\",\"family\":\"Nulling\"},\"other_names\":[\"A\",\"\\u0000\"]}",
         "invalid_characters", "other_names[1]", "other_names[1] may not contain a NUL character"},
        {"/api/v1/organisations", "{\"na\\u0000me\":\"x\"}", "invalid_characters", NULL, "NUL character"},
        {"/api/v1/organisations", "{\"name\":\"A\"} {}", "malformed_json", NULL, "more after the JSON value"},
        {"/api/v1/organisations", "{\"name\":tru}", "malformed_json", NULL, "true, false and null"},
        {"/api/v1/organisations", "{\"name\" \"A\"}", "malformed_json", NULL, "':' is missing"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        testenv_response_t r = testenv_http(testenv, "POST", cases[i].path, admin, cases[i].body, NULL);
        testenv_assert_error(&r, 400, cases[i].code);
        const json_t *error = json_object_get(r.json, "error");
        const char *message = json_string_value(json_object_get(error, "message"));
        if (strstr(message, cases[i].words) == NULL || strstr(message, "JSON_") != NULL ||
            strstr(message, "expected near") != NULL || strstr(message, "token") != NULL)
            fail_msg("%s: %s", cases[i].body, message);
        if (cases[i].field != NULL)
            assert_string_equal(json_string_value(json_object_get(error, "field")), cases[i].field);
        else
            assert_null(json_object_get(error, "field"));
        testenv_response_free(&r);
    }
    assert_int_equal(
        testenv_sql_long(testenv, "SELECT count(*) FROM records.people WHERE family_name = 'Nulling'"), 0);
    assert_unchanged_but_views(before, 0);
}

static void test_missing_and_mistyped_fields_name_the_field(void **state)
{
    (void)state;
    snapshot_t before = snapshot();
    post_is_refused("{\"address\":\"1 Example Street\"}", 400, "missing_field", "name");
    post_is_refused("{\"name\":5}", 400, "invalid_type", "name");
    post_is_refused("{\"name\":\"Ok\",\"telephone\":[\"020\"]}", 400, "invalid_type", "telephone");
    post_is_refused("{\"name\":\"Ok\",\"colour\":\"blue\"}", 400, "unknown_field", "colour");
    post_is_refused("[\"name\"]", 400, "invalid_body", NULL);
    post_is_refused("{\"name\":\"   \"}", 400, "missing_field", "name");
    post_is_refused("{\"name\":\"Ok\",\"telephone\":\"call me\"}", 400, "invalid_telephone", "telephone");
    post_is_refused("{\"name\":\"Ok\",\"name\":\"Twice\"}", 400, "malformed_json", NULL);
    /* A blank name and a bad telephone: both named in one answer, in the form's order. */
    post_is_refused("{\"name\":\" \",\"telephone\":\"call me\"}", 400, "missing_field", "name");
    testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/organisations", admin,
                                        "{\"name\":\" \",\"telephone\":\"call me\"}", NULL);
    const json_t *faults = json_object_get(r.json, "errors");
    assert_int_equal(json_array_size(faults), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(faults, 1), "code")),
                        "invalid_telephone");
    assert_string_equal(json_string_value(json_object_get(json_array_get(faults, 1), "field")), "telephone");
    testenv_response_free(&r);
    assert_unchanged_but_views(before, 0);
}

static void test_a_name_over_200_characters_is_refused(void **state)
{
    (void)state;
    snapshot_t before = snapshot();
    char body[400];
    char name[202];
    memset(name, 'a', 201);
    name[201] = '\0';
    snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
    post_is_refused(body, 400, "too_long", "name");
    assert_unchanged_but_views(before, 0);
}

/* A name that looks right but holds what no one sees: a zero-width space hid a duplicate from search
 * and the NHS's match; a right-to-left override showed the name reversed. A C1 control is no text. */
static void test_a_name_with_invisible_or_control_characters_is_refused(void **state)
{
    (void)state;
    snapshot_t before = snapshot();
    post_is_refused("{\"name\":\"Hampden\\u200b Children Centre\"}", 400, "invalid_characters", "name");
    post_is_refused("{\"name\":\"\\u202eertneC nerdlihC\"}", 400, "invalid_characters", "name");
    post_is_refused("{\"name\":\"Hampden\\u0085\"}", 400, "invalid_characters", "name");
    static const char *const people[] = {
        "{\"legal_name\":{\"given\":\"Ann\\u200b\",\"family\":\"Quill\"},\"gender\":\"female\"}",
        "{\"legal_name\":{\"given\":\"Ann\",\"family\":\"\\ufeffQuill\"},\"gender\":\"female\"}",
        "{\"legal_name\":{\"given\":\"Ann\",\"family\":\"Quill\"},\"other_names\":[\"A\\u2066nn\"],"
        "\"gender\":\"female\"}",
    };
    static const char *const fields[] = {"legal_name.given", "legal_name.family", "other_names"};
    for (size_t i = 0; i < sizeof(people) / sizeof(people[0]); i++) {
        testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/people", admin, people[i], NULL);
        testenv_assert_error(&r, 400, "invalid_characters");
        assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "error"), "field")),
                            fields[i]);
        testenv_response_free(&r);
    }
    assert_int_equal(
        testenv_sql_long(testenv, "SELECT count(*) FROM records.people WHERE family_name LIKE '%Quill'"), 0);
    assert_unchanged_but_views(before, 0);
    /* A name spelt with a zero-width non-joiner, as Persian names are, is a name. */
    testenv_response_t ok = testenv_http(testenv, "POST", "/api/v1/people", admin,
                                         "{\"legal_name\":{\"given\":\"\\u0645\\u0647\\u200c\\u0633\\u0627\","
                                         "\"family\":\"Quillan\"},\"gender\":"
                                         "\"female\"}",
                                         NULL);
    assert_int_equal(ok.status, 201);
    testenv_response_free(&ok);
}

static void test_a_body_over_1_mib_is_refused_with_413(void **state)
{
    (void)state;
    size_t size = 2 * 1024 * 1024;
    char *body = malloc(size + 32);
    strcpy(body, "{\"name\":\"");
    memset(body + 9, 'x', size);
    strcpy(body + 9 + size, "\"}");
    snapshot_t before = snapshot();
    testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/organisations", admin, body, NULL);
    testenv_assert_error(&r, 413, "body_too_large");
    testenv_response_free(&r);
    free(body);
    assert_unchanged_but_views(before, 0);
}

/* h2o answered a body over its limit, a Content-Length that is no number, broken chunked framing and
 * an unknown Transfer-Encoding itself, before the gateway's handler ran, in plain text ("request entity
 * is too large", "broken chunked-encoding"): they are the API's JSON errors now, naming the header. */
static void test_framing_h2o_refuses_is_answered_in_json(void **state)
{
    (void)state;
    static const struct {
        const char *request;
        const char *status, *code, *field;
    } cases[] = {
        {"POST /api/v1/organisations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         "Content-Length: 999999999999\r\n\r\n{}",
         "HTTP/1.1 413 ", "body_too_large", NULL},
        {"POST /api/v1/organisations HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{}", "HTTP/1.1 400 ",
         "invalid_content_length", "Content-Length"},
        {"POST /api/v1/organisations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
         "chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
         "HTTP/1.1 400 ", "malformed_body", "Transfer-Encoding"},
        {"POST /api/v1/organisations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n{}",
         "HTTP/1.1 400 ", "unsupported_transfer_encoding", "Transfer-Encoding"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *answer = testenv_raw_http(testenv, cases[i].request);
        if (strncmp(answer, cases[i].status, strlen(cases[i].status)) != 0 ||
            strcasestr(answer, "\r\ncontent-type: application/json") == NULL ||
            strcasestr(answer, "\r\ncontent-security-policy: default-src 'none'") == NULL ||
            strcasestr(answer, "\r\nx-frame-options: DENY") == NULL)
            fail_msg("case %zu: %s", i, answer);
        const char *body = strstr(answer, "\r\n\r\n");
        assert_non_null(body);
        json_error_t jerr;
        json_t *json = json_loads(body + 4, 0, &jerr);
        if (json == NULL)
            fail_msg("case %zu: the body is not JSON: %s", i, body + 4);
        json_t *error = json_object_get(json, "error");
        assert_string_equal(json_string_value(json_object_get(error, "code")), cases[i].code);
        assert_non_null(json_string_value(json_object_get(error, "message")));
        if (cases[i].field != NULL)
            assert_string_equal(json_string_value(json_object_get(error, "field")), cases[i].field);
        json_decref(json);
        free(answer);
    }
    /* A request line that cannot be parsed is answered by h2o before anything else can be: its plain
     * 400, which no filter sees (lib/http1.c send_bad_request). */
    char *answer = testenv_raw_http(testenv, "NOT A REQUEST\r\n\r\n");
    assert_non_null(strstr(answer, "HTTP/1.1 400 "));
    free(answer);
    /* And the gateway carries on. */
    testenv_response_t r = testenv_http(testenv, "GET", "/api/v1/organisations/7500065", admin, NULL, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
}

/* An id of the wrong shape in the path is bad input, not a record that is not there: it answered 404
 * not_found, as if some record might have had it. */
static void test_unknown_ids_are_not_found_and_malformed_ones_are_invalid(void **state)
{
    (void)state;
    snapshot_t before = snapshot();
    testenv_response_t r = testenv_http(testenv, "GET", "/api/v1/organisations/99999999", admin, NULL, NULL);
    testenv_assert_error(&r, 404, "not_found");
    testenv_response_free(&r);
    /* Negative, a float, an Arabic-Indic one, zero, more digits than any id has, and 19 digits past
     * bigint's largest (PostgreSQL refused those: each read was a 500). */
    static const struct {
        const char *method, *path, *field;
    } malformed[] = {
        {"GET", "/api/v1/organisations/abc", "id"},
        {"GET", "/api/v1/people/-1", "id"},
        {"GET", "/api/v1/people/1e5", "id"},
        {"GET", "/api/v1/people/%D9%A1", "id"},
        {"GET", "/api/v1/people/0", "id"},
        {"GET", "/api/v1/people/+1", "id"},
        {"GET", "/api/v1/organisations/99999999999999999999999", "id"},
        {"GET", "/api/v1/organisations/9223372036854775808", "id"},
        {"GET", "/api/v1/people/9999999999999999999", "id"},
        {"GET", "/api/v1/steps/9999999999999999999", "id"},
        {"DELETE", "/api/v1/people/7500065/allocations/x", "aid"},
        {"POST", "/api/v1/requests/1.0/acknowledge", "id"},
    };
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        r = testenv_http(testenv, malformed[i].method, malformed[i].path, admin, NULL, NULL);
        if (r.status != 400)
            fail_msg("%s %s: %ld %s", malformed[i].method, malformed[i].path, r.status, r.body);
        testenv_assert_error(&r, 400, "invalid_id");
        assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "error"), "field")),
                            malformed[i].field);
        testenv_response_free(&r);
    }
    r = testenv_http(testenv, "GET", "/api/v1/nothing-here", admin, NULL, NULL);
    testenv_assert_error(&r, 404, "not_found");
    testenv_response_free(&r);
    r = testenv_http(testenv, "PATCH", "/api/v1/organisations", admin, "{}", NULL);
    testenv_assert_error(&r, 405, "method_not_allowed");
    testenv_response_free(&r);
    /* The one read that finds something is the one view the trail gains. */
    r = testenv_http(testenv, "GET", "/api/v1/organisations/7500065", admin, NULL, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    assert_unchanged_but_views(before, 1);
}

static void test_no_token_or_a_bad_token_is_unauthenticated(void **state)
{
    (void)state;
    snapshot_t before = snapshot();
    testenv_response_t r =
        testenv_http(testenv, "POST", "/api/v1/organisations", NULL, "{\"name\":\"No Token\"}", NULL);
    testenv_assert_error(&r, 401, "unauthenticated");
    testenv_response_free(&r);
    r = testenv_http(testenv, "POST", "/api/v1/organisations", "not-a-real-token", "{\"name\":\"Bad Token\"}",
                     NULL);
    testenv_assert_error(&r, 401, "unauthenticated");
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", "/api/v1/organisations/7500065", NULL, NULL, NULL);
    testenv_assert_error(&r, 401, "unauthenticated");
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", "/api/v1/audit/events", NULL, NULL, NULL);
    testenv_assert_error(&r, 401, "unauthenticated");
    testenv_response_free(&r);
    assert_unchanged_but_views(before, 0);
}

static void test_bad_query_parameters_name_the_parameter(void **state)
{
    (void)state;
    snapshot_t before = snapshot();
    char *auditor = testenv_login(testenv, "auditor");
    struct {
        const char *path;
        const char *token;
        const char *code;
        const char *field;
    } cases[] = {
        {"/api/v1/organisations?limit=0", admin, "invalid_limit", "limit"},
        {"/api/v1/organisations?limit=abc", admin, "invalid_limit", "limit"},
        {"/api/v1/organisations?limit=201", admin, "invalid_limit", "limit"},
        {"/api/v1/organisations?cursor=not-hex", admin, "invalid_cursor", "cursor"},
        {"/api/v1/organisations?cursor=abcd", admin, "invalid_cursor", "cursor"},
        {"/api/v1/organisations?q=%ZZ", admin, "malformed_query", NULL},
        {"/api/v1/organisations?q=a&limit=5&q=b", admin, "repeated_parameter", "q"},
        {"/api/v1/workview?queu=cpis-worker", admin, "unknown_parameter", "queu"},
        {"/api/v1/leavers?worker_id=1", admin, "unknown_parameter", "worker_id"},
        {"/api/v1/reports/consultations-in-period?start=2022-11-14&end=2022-12-01&fromat=csv", admin,
         "unknown_parameter", "fromat"},
        {"/api/v1/audit/events?from=yesterday", auditor, "invalid_date", "from"},
        {"/api/v1/audit/events?from=2022-02-30", auditor, "invalid_date", "from"},
        {"/api/v1/audit/events?to=2022-11-14T10:00:00", auditor, "invalid_date", "to"},
        {"/api/v1/audit/events?from=2022-12-01&to=2022-11-14", auditor, "invalid_period", "to"},
        {"/api/v1/audit/events?worker_id=x1", auditor, "invalid_id", "worker_id"},
        {"/api/v1/audit/events?cursor=x", auditor, "invalid_cursor", "cursor"},
        {"/api/v1/audit/events?worker_id=9223372036854775808", auditor, "invalid_id", "worker_id"},
        {"/api/v1/workview?worker_id=9999999999999999999", admin, "invalid_id", "worker_id"},
        {"/api/v1/organisations?cursor=9999999999999999999", admin, "invalid_cursor", "cursor"},
        {"/api/v1/family-context/search?case_id=9999999999999999999", admin, "invalid_case_id", "case_id"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        testenv_response_t r = testenv_http(testenv, "GET", cases[i].path, cases[i].token, NULL, NULL);
        if (r.status != 400)
            fprintf(stderr, "%s: %ld %s\n", cases[i].path, r.status, r.body);
        testenv_assert_error(&r, 400, cases[i].code);
        if (cases[i].field != NULL)
            assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "error"), "field")),
                                cases[i].field);
        testenv_response_free(&r);
    }
    /* A mistyped parameter was dropped without a word, and the caller shown their own workview for the
     * queue they asked for: the refusal names what the call takes. */
    testenv_response_t r =
        testenv_http(testenv, "GET", "/api/v1/workview?queu=cpis-worker", admin, NULL, NULL);
    testenv_assert_error(&r, 400, "unknown_parameter");
    assert_non_null(strstr(r.body, "'queu' is not a parameter of this call, which takes: worker_id, team_id, "
                                   "limit, queue, folder, cursor, order."));
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", "/api/v1/leavers?x=1", admin, NULL, NULL);
    assert_non_null(strstr(r.body, "which takes none"));
    testenv_response_free(&r);
    free(auditor);
    assert_unchanged_but_views(before, 0);
}

/* A body sent as a form or as text was read as JSON all the same; one in another charset too. */
static void test_a_body_not_sent_as_json_is_refused(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    const char *body =
        "{\"name\":\"Larkspur Family Hub\",\"address\":\"1 Vale Road\",\"telephone\":\"020 7974 4444\"}";
    static const char *const refused[] = {"Content-Type: application/x-www-form-urlencoded",
                                          "Content-Type: text/plain",
                                          "Content-Type: application/json; charset=latin1"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        testenv_response_t r =
            testenv_http(testenv, "POST", "/api/v1/organisations", admin, body, refused[i]);
        testenv_assert_error(&r, 415, "unsupported_media_type");
        assert_non_null(strstr(r.body, "sent as Content-Type: application/json"));
        testenv_response_free(&r);
    }
    assert_int_equal(
        testenv_sql_long(testenv,
                         "SELECT count(*) FROM records.organisations WHERE name = 'Larkspur Family Hub'"),
        0);
    /* A call that takes no body dropped one without a word. */
    testenv_response_t r =
        testenv_http(testenv, "GET", "/api/v1/organisations?q=Larkspur", admin, body, NULL);
    testenv_assert_error(&r, 400, "unexpected_body");
    assert_non_null(strstr(r.body, "GET /api/v1/organisations takes no request body"));
    testenv_response_free(&r);
    /* JSON's own type with its charset, in any case, or none at all, is read. */
    static const char *const taken[] = {"Content-Type: Application/JSON; charset=\"UTF-8\"", "Content-Type:"};
    for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
        testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/organisations", admin, body, taken[i]);
        if (r.status != 201)
            fail_msg("%s: %ld %s", taken[i], r.status, r.body);
        testenv_response_free(&r);
    }
    free(admin);
}

static void test_sign_in_with_missing_fields_is_bad_input(void **state)
{
    (void)state;
    snapshot_t before = snapshot();
    testenv_response_t r =
        testenv_http(testenv, "POST", "/api/v1/session", NULL, "{\"username\":\"admin\"}", NULL);
    testenv_assert_error(&r, 400, "missing_field");
    testenv_response_free(&r);
    r = testenv_http(testenv, "POST", "/api/v1/session", NULL, "not json", NULL);
    testenv_assert_error(&r, 400, "malformed_json");
    testenv_response_free(&r);
    r = testenv_http(testenv, "POST", "/api/v1/session", NULL, NULL, NULL);
    testenv_assert_error(&r, 400, "missing_body");
    testenv_response_free(&r);
    assert_unchanged_but_views(before, 0);
}

/* A fault inside a nested member is named by its path, and one of the step in the path by none:
 * subject.id was named "id", and one step's assignment named the bulk call's step_ids. */
static void test_a_nested_member_or_the_step_in_the_path_is_named_as_the_caller_sent_it(void **state)
{
    (void)state;
    char *mash_admin = testenv_login(testenv, "mash.admin");
    char *key_worker = testenv_login(testenv, "key.worker");
    testenv_call_error(testenv, mash_admin, "POST", "/api/v1/steps",
                       "{\"type\":\"front-door-consultation\",\"variant\":\"CSSW\","
                       "\"subject\":{\"kind\":\"organisation\",\"id\":7500065}}",
                       400, "invalid_type", "subject.id");
    testenv_call_error(
        testenv, mash_admin, "POST", "/api/v1/steps",
        "{\"type\":\"front-door-consultation\",\"variant\":\"CSSW\","
        "\"subject\":{\"kind\":\"organisation\",\"id\":\"7500065\"},\"assign_to\":{\"worker_id\":\"x\"}}",
        400, "invalid_id", "to.worker_id");
    json_t *step = testenv_call_json(testenv, mash_admin, "POST", "/api/v1/steps",
                                     "{\"type\":\"front-door-consultation\",\"variant\":\"CSSW\","
                                     "\"subject\":{\"kind\":\"organisation\",\"id\":\"7500065\"}}",
                                     201);
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/steps/%s/assign", testenv_str(step, "id"));
    json_decref(step);
    testenv_response_t r = testenv_http(testenv, "POST", path, key_worker, "{\"team_id\":\"1\"}", NULL);
    testenv_assert_error(&r, 403, "not_your_work");
    assert_null(json_object_get(json_object_get(r.json, "error"), "field"));
    testenv_response_free(&r);
    free(mash_admin);
    free(key_worker);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_json_is_refused_naming_where),
        cmocka_unit_test(test_a_nul_in_a_string_or_broken_json_is_told_in_words_naming_the_field),
        cmocka_unit_test(test_missing_and_mistyped_fields_name_the_field),
        cmocka_unit_test(test_a_nested_member_or_the_step_in_the_path_is_named_as_the_caller_sent_it),
        cmocka_unit_test(test_a_name_over_200_characters_is_refused),
        cmocka_unit_test(test_a_name_with_invisible_or_control_characters_is_refused),
        cmocka_unit_test(test_a_body_over_1_mib_is_refused_with_413),
        cmocka_unit_test(test_framing_h2o_refuses_is_answered_in_json),
        cmocka_unit_test(test_unknown_ids_are_not_found_and_malformed_ones_are_invalid),
        cmocka_unit_test(test_no_token_or_a_bad_token_is_unauthenticated),
        cmocka_unit_test(test_bad_query_parameters_name_the_parameter),
        cmocka_unit_test(test_sign_in_with_missing_fields_is_bad_input),
        cmocka_unit_test(test_a_body_not_sent_as_json_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
