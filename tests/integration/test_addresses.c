/* A person's addresses (seed 001: system support add addresses by hand): recorded with every fault
 * of the form at once, a move keeping the address before as history, ended, read only by those who
 * may open the record, and each read and change in the audit trail. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsr_testenv.h"

static json_t *add_address(const char *token, const char *person, const char *body, long status)
{
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/people/%s/addresses", person);
    return testenv_call_json(testenv, token, "POST", path, body, status);
}

static void test_a_move_keeps_the_address_before_as_history(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char person[32], path[128];
    testenv_add_person(testenv, sw, "Rowan", "Mover", "2014-04-04", person);
    long before = testenv_sql_long(testenv, "SELECT count(*) FROM records.addresses");
    /* Every fault of the form at once, nothing kept. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/addresses", person);
    testenv_response_t r =
        testenv_http(testenv, "POST", path, sw,
                     "{\"type\":\"main\",\"lines\":[\"  \"],\"town\":\"\",\"postcode\":\"NW1 2A\","
                     "\"start_date\":\"2999-01-01\"}",
                     NULL);
    testenv_assert_error(&r, 400, "missing_field");
    const char *want[][2] = {{"lines", "missing_field"},
                             {"town", "missing_field"},
                             {"postcode", "invalid_postcode"},
                             {"start_date", "date_in_future"}};
    json_t *errors = json_object_get(r.json, "errors");
    assert_int_equal(json_array_size(errors), 4);
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(testenv_str(json_array_get(errors, i), "field"), want[i][0]);
        assert_string_equal(testenv_str(json_array_get(errors, i), "code"), want[i][1]);
    }
    testenv_response_free(&r);
    testenv_call_error(testenv, sw, "POST", path,
                       "{\"type\":\"holiday\",\"lines\":[\"1 Road\"],\"town\":\"Leeds\","
                       "\"start_date\":\"2020-01-01\"}",
                       400, "invalid_value", "type");
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM records.addresses"), before);

    /* The postcode as it is written, whatever the case and spacing. */
    json_t *first = add_address(sw, person,
                                "{\"type\":\"main\",\"lines\":[\"Flat 3\",\"12 Example Road\",\"\"],\"town\":"
                                "\"London\",\"postcode\":\"nw12ab\",\"start_date\":\"2019-09-01\"}",
                                201);
    assert_string_equal(testenv_str(first, "postcode"), "NW1 2AB");
    assert_int_equal(json_array_size(json_object_get(first, "lines")), 2);
    char first_id[32];
    snprintf(first_id, sizeof(first_id), "%s", testenv_str(first, "id"));
    json_decref(first);
    json_decref(
        add_address(sw, person,
                    "{\"type\":\"correspondence\",\"lines\":[\"c/o Grandparent, 1 Post Lane\"],\"town\":"
                    "\"Leeds\",\"postcode\":\"LS1 1UR\",\"start_date\":\"2020-01-01\"}",
                    201));
    /* Moving: the main address before ends the day before; the correspondence one is untouched. */
    json_t *moved =
        add_address(sw, person,
                    "{\"type\":\"main\",\"lines\":[\"4 New Street\"],\"town\":\"London\",\"postcode\":"
                    "\"E1 6AN\",\"start_date\":\"2024-03-15\"}",
                    201);
    json_decref(moved);
    /* One that would begin before the current main address is not a move. */
    testenv_call_error(
        testenv, sw, "POST", path,
        "{\"type\":\"main\",\"lines\":[\"9 Old Lane\"],\"town\":\"London\",\"start_date\":\"2024-03-01\"}",
        409, "address_overlap", "start_date");
    snprintf(path, sizeof(path), "/api/v1/people/%s", person);
    json_t *p = testenv_call_json(testenv, sw, "GET", path, NULL, 200);
    json_t *current = json_object_get(p, "addresses");
    assert_int_equal(json_array_size(current), 2);
    assert_string_equal(testenv_str(json_array_get(current, 0), "postcode"), "E1 6AN");
    assert_string_equal(testenv_str(json_array_get(current, 1), "type"), "correspondence");
    json_decref(p);
    snprintf(path, sizeof(path), "/api/v1/people/%s/addresses", person);
    json_t *history = testenv_call_json(testenv, sw, "GET", path, NULL, 200);
    json_t *items = json_object_get(history, "items");
    assert_int_equal(json_array_size(items), 3);
    json_t *old = json_array_get(items, 2);
    assert_string_equal(testenv_str(old, "id"), first_id);
    assert_string_equal(testenv_str(old, "end_date"), "2024-03-14");
    json_decref(history);

    /* Ending: not before it began, not one already past. */
    char corr[32];
    {
        p = testenv_call_json(testenv, sw, "GET",
                              (snprintf(path, sizeof(path), "/api/v1/people/%s", person), path), NULL, 200);
        snprintf(corr, sizeof(corr), "%s",
                 testenv_str(json_array_get(json_object_get(p, "addresses"), 1), "id"));
        json_decref(p);
    }
    snprintf(path, sizeof(path), "/api/v1/people/%s/addresses/%s/end", person, corr);
    testenv_call_error(testenv, sw, "POST", path, "{\"end_date\":\"2019-12-31\"}", 400, "end_before_start",
                       "end_date");
    json_t *ended = testenv_call_json(testenv, sw, "POST", path, "{\"end_date\":\"2025-01-31\"}", 200);
    assert_string_equal(testenv_str(ended, "end_date"), "2025-01-31");
    json_decref(ended);
    testenv_call_error(testenv, sw, "POST", path, NULL, 404, "not_found", NULL);
    snprintf(path, sizeof(path), "/api/v1/people/%s/addresses/%s/end", person, first_id);
    testenv_call_error(testenv, sw, "POST", path, NULL, 404, "not_found", NULL);

    /* Each change and the history's read in the trail. */
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    char sql[400];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FILTER (WHERE action = 'add-address') || ' '"
             " || count(*) FILTER (WHERE action = 'end-address') || ' '"
             " || count(*) FILTER (WHERE action = 'view-addresses')"
             " FROM audit.entries WHERE record_kind = 'person' AND record_id = %s",
             person);
    char out[64];
    assert_int_equal(testenv_psql(testenv, NULL, sql, out, sizeof(out)), 0);
    assert_string_equal(out, "3 1 1");
    free(sw);
}

/* An address is kept from a worker who may not open the record: not shown, not changed, and the
 * attempt kept. */
static void test_a_restricted_records_address_is_kept_from_those_without_access(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *eh = testenv_login(testenv, "eh.worker");
    char person[32], path[128];
    testenv_add_person(testenv, admin, "Sheltered", "Family", "2016-06-06", person);
    json_decref(
        add_address(admin, person,
                    "{\"type\":\"temporary\",\"lines\":[\"Refuge, address withheld\"],\"town\":\"Camden\","
                    "\"start_date\":\"2025-02-01\"}",
                    201));
    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", person);
    json_decref(testenv_call_json(testenv, admin, "PUT", path,
                                  "{\"reason\":\"high-risk\",\"review_date\":\"2099-01-01\",\"workers\":[]}",
                                  200));
    snprintf(path, sizeof(path), "/api/v1/people/%s", person);
    testenv_response_t r = testenv_http(testenv, "GET", path, eh, NULL, NULL);
    assert_null(strstr(r.body, "Refuge"));
    assert_null(json_object_get(r.json, "addresses"));
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/people/%s/addresses", person);
    testenv_call_error(testenv, eh, "GET", path, NULL, 403, "restricted_record", NULL);
    testenv_call_error(
        testenv, eh, "POST", path,
        "{\"type\":\"main\",\"lines\":[\"1 Found Road\"],\"town\":\"Camden\",\"start_date\":\"2025-03-01\"}",
        403, "restricted_record", NULL);
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM records.addresses WHERE person_id = %s", person);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    free(eh);
    free(admin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_move_keeps_the_address_before_as_history),
        cmocka_unit_test(test_a_restricted_records_address_is_kept_from_those_without_access),
    };
    return cmocka_run_group_tests(tests, testenv_group_setup, testenv_group_teardown);
}
