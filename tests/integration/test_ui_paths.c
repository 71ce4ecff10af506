/* The gateway serves the web UI's page for the UI's own paths (a notice's link /people/1000001, which
 * the e-mail carries as notifications.link_base + link), so that such a link opens the page rather
 * than a 404; real files are still served as themselves, a missing file with an extension is still a
 * 404, and the API's paths are never answered with the page. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tsr_testenv.h"

#define UI_SCRIPT "<script type=\"module\" src=\"/app/main.js\"></script>"

/* The UI's page, as / serves it. */
static char *index_page(void)
{
    testenv_response_t r = testenv_http(testenv, "GET", "/", NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, UI_SCRIPT));
    char *page = strdup(r.body);
    testenv_response_free(&r);
    return page;
}

static void test_a_path_of_the_ui_is_answered_with_its_page(void **state)
{
    (void)state;
    char *page = index_page();
    static const char *const paths[] = {"/people/1000001", "/steps/14000000", "/reports/front-door-dashboard",
                                        "/reports/consultations-in-period?start=2022-11-14&end=2022-12-01",
                                        "/notices/"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        testenv_response_t r = testenv_http(testenv, "GET", paths[i], NULL, NULL, NULL);
        if (r.status != 200 || r.body == NULL || strcmp(r.body, page) != 0)
            fail_msg("GET %s answered %ld, not the UI's page: %.200s", paths[i], r.status,
                     r.body ? r.body : "");
        char type[64];
        assert_non_null(testenv_response_header(&r, "content-type", type, sizeof(type)));
        assert_non_null(strstr(type, "text/html"));
        testenv_response_free(&r);
    }
    testenv_response_t r = testenv_http(testenv, "HEAD", "/people/1000001", NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    free(page);
}

static void test_files_missing_files_and_the_api_are_not_the_page(void **state)
{
    (void)state;
    /* A real file is itself. */
    testenv_response_t r = testenv_http(testenv, "GET", "/app/main.js", NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "function route"));
    assert_null(strstr(r.body, UI_SCRIPT));
    testenv_response_free(&r);
    /* A missing script or image is a 404, not HTML in its place. */
    static const char *const missing[] = {"/app/missing.js", "/assets/images/none.png",
                                          "/people/1000001.json"};
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        r = testenv_http(testenv, "GET", missing[i], NULL, NULL, NULL);
        if (r.status != 404)
            fail_msg("GET %s answered %ld, not 404", missing[i], r.status);
        testenv_response_free(&r);
    }
    /* Only GET and HEAD: another method on a UI path is not answered with the page. */
    r = testenv_http(testenv, "POST", "/people/1000001", NULL, "{}", NULL);
    assert_int_not_equal(r.status, 200);
    testenv_response_free(&r);
    /* The API's unknown paths stay the API's JSON errors. */
    static const char *const api[] = {"/api/v1/nothing-here", "/api", "/api/people/1000001"};
    for (size_t i = 0; i < sizeof(api) / sizeof(api[0]); i++) {
        r = testenv_http(testenv, "GET", api[i], NULL, NULL, NULL);
        if (r.status != 404 && r.status != 401)
            fail_msg("GET %s answered %ld", api[i], r.status);
        assert_non_null(json_object_get(r.json, "error"));
        testenv_response_free(&r);
    }
}

/* A path with a NUL or another control character in it, raw or percent-encoded, is refused with 400
 * invalid_path before any file is looked up: h2o opened the decoded path as a C string, which ends at
 * the NUL, and typed the answer by the whole path's extension, so /app/main.js%00.html was main.js
 * served as text/html, /index.html%00.js the page served as a script, and /..%00 a redirect to
 * /..%00/. Sent as written (no client's dot-segment tidying). */
static void test_a_path_with_a_nul_or_a_control_character_is_refused(void **state)
{
    (void)state;
    static const char *const paths[] = {"/app/main.js%00.html",
                                        "/index.html%00.js",
                                        "/..%00",
                                        "/%00",
                                        "/app/main.js%0a",
                                        "/people/1000001%0d%0aSet-Cookie:%20x=1",
                                        "/app%1f/main.js",
                                        "/app/main.js%7f",
                                        "/api/v1/people/1000001%00",
                                        "/healthz%00"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char request[256];
        snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                 paths[i]);
        char *answer = testenv_raw_http(testenv, request);
        const char *body = strstr(answer, "\r\n\r\n");
        json_t *json = body ? json_loads(body + 4, 0, NULL) : NULL;
        const char *code = json_string_value(json_object_get(json_object_get(json, "error"), "code"));
        if (strncmp(answer, "HTTP/1.1 400 ", 13) != 0 || code == NULL || strcmp(code, "invalid_path") != 0 ||
            strcasestr(answer, "\r\nlocation:") != NULL || strstr(answer, "function route") != NULL ||
            strstr(answer, UI_SCRIPT) != NULL)
            fail_msg("GET %s: %.400s", paths[i], answer);
        const char *message = json_string_value(json_object_get(json_object_get(json, "error"), "message"));
        assert_non_null(strstr(message, "control character"));
        json_decref(json);
        free(answer);
    }
    /* The files themselves are still served, and a percent-encoded ordinary character is still itself. */
    char *answer =
        testenv_raw_http(testenv, "GET /app/main%2ejs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    if (strncmp(answer, "HTTP/1.1 200 ", 13) != 0 || strstr(answer, "function route") == NULL)
        fail_msg("GET /app/main%%2ejs: %.300s", answer);
    free(answer);
}

/* The UI's page, its files and the API's answers all carry the security headers:
 * (h2o's own errors too: integration_bad_input) they carried none, so any site could frame the UI
 * (clickjacking), a file could be sniffed as another type, and an address with a person's id left in the
 * Referer. The UI's policy lets in only the gateway's own scripts, styles, fonts and images; the API's lets
 * in nothing to load. */
static void test_every_answer_carries_the_security_headers(void **state)
{
    (void)state;
    static const char *const paths[] = {"/",
                                        "/people/1000001",
                                        "/app/main.js",
                                        "/vendor/govuk-frontend.min.css",
                                        "/app/missing.js",
                                        "/healthz",
                                        "/api/v1/nothing-here",
                                        "/api/v1/people/1000001"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        testenv_response_t r = testenv_http(testenv, "GET", paths[i], NULL, NULL, NULL);
        const char *what = paths[i];
        char csp[400], frame[32], nosniff[32], referrer[32];
        if (testenv_response_header(&r, "content-security-policy", csp, sizeof(csp)) == NULL ||
            testenv_response_header(&r, "x-frame-options", frame, sizeof(frame)) == NULL ||
            testenv_response_header(&r, "x-content-type-options", nosniff, sizeof(nosniff)) == NULL ||
            testenv_response_header(&r, "referrer-policy", referrer, sizeof(referrer)) == NULL)
            fail_msg("%s (%ld) lacks a security header: %.*s", what, r.status, (int)r.headers_len, r.headers);
        assert_string_equal(frame, "DENY");
        assert_string_equal(nosniff, "nosniff");
        assert_string_equal(referrer, "no-referrer");
        assert_non_null(strstr(csp, "frame-ancestors 'none'"));
        assert_null(strstr(csp, "unsafe-eval"));
        if (strncmp(what, "/api", 4) == 0)
            assert_non_null(strstr(csp, "default-src 'none'"));
        else {
            assert_non_null(strstr(csp, "default-src 'self'"));
            assert_null(strstr(csp, "unsafe-inline"));
        }
        testenv_response_free(&r);
    }
    /* The page has no inline script for the policy to refuse. */
    char *page = index_page();
    assert_null(strstr(page, "<script>"));
    assert_null(strstr(page, "style="));
    free(page);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_path_of_the_ui_is_answered_with_its_page),
        cmocka_unit_test(test_files_missing_files_and_the_api_are_not_the_page),
        cmocka_unit_test(test_every_answer_carries_the_security_headers),
        cmocka_unit_test(test_a_path_with_a_nul_or_a_control_character_is_refused),
    };
    return cmocka_run_group_tests(tests, testenv_group_setup, testenv_group_teardown);
}
