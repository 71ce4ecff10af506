/* Merging duplicate person records (seed 002: "to ensure there is only a single record going
 * forward"), through HTTP against the real daemons: what follows the record that goes forward, what
 * the duplicate's id answers afterwards, and that the merge never lets in anyone a restriction keeps
 * out. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsr_testenv.h"

static char *worker_id_of(const char *username, char out[32])
{
    char body[128];
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"tessera-demo\"}", username);
    json_t *session = testenv_call_json(testenv, NULL, "POST", "/api/v1/session", body, 201);
    snprintf(out, 32, "%s", testenv_str(json_object_get(session, "worker"), "id"));
    json_decref(session);
    return out;
}

/* Merges the duplicate into the survivor as system support; the survivor as it now is. */
static json_t *merge(const char *admin, const char *survivor, const char *duplicate)
{
    char path[96], body[96];
    snprintf(path, sizeof(path), "/api/v1/people/%s/merge", survivor);
    snprintf(body, sizeof(body), "{\"duplicate_id\":\"%s\"}", duplicate);
    return testenv_call_json(testenv, admin, "POST", path, body, 200);
}

static void restrict_record(const char *admin, const char *id, const char *reason, const char *workers)
{
    char path[96], body[256];
    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", id);
    snprintf(body, sizeof(body), "{\"reason\":\"%s\",\"review_date\":\"2030-01-01\",\"workers\":[%s]}",
             reason, workers);
    json_decref(testenv_call_json(testenv, admin, "PUT", path, body, 200));
}

/* Both records restricted: the survivor's restriction, naming no one, stands; the worker the
 * duplicate's list named is not let into the record that goes forward. A survivor that was not
 * restricted takes the duplicate's restriction with its list. */
static void test_a_merge_never_opens_a_restricted_survivor_to_the_duplicates_access_list(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *sw = testenv_login(testenv, "mash.sw");
    char *eh = testenv_login(testenv, "eh.worker");
    char eh_id[32], survivor[32], duplicate[32], path[96];
    worker_id_of("eh.worker", eh_id);
    testenv_add_person(testenv, sw, "Tamsin", "Vale", "2011-11-11", survivor);
    testenv_add_person(testenv, sw, "Tamsin", "Vale", "2011-11-11", duplicate);
    char quoted[40];
    snprintf(quoted, sizeof(quoted), "\"%s\"", eh_id);
    restrict_record(admin, survivor, "high-risk", "");
    restrict_record(admin, duplicate, "high-profile", quoted);
    snprintf(path, sizeof(path), "/api/v1/people/%s", survivor);
    testenv_call_error(testenv, eh, "GET", path, NULL, 403, "restricted_record", NULL);

    json_t *merged = merge(admin, survivor, duplicate);
    json_t *restriction = json_object_get(merged, "restriction");
    assert_string_equal(testenv_str(restriction, "reason"), "high-risk");
    assert_int_equal(json_array_size(json_object_get(restriction, "workers")), 0);
    json_decref(merged);
    testenv_call_error(testenv, eh, "GET", path, NULL, 403, "restricted_record", NULL);

    /* Not restricted before: the duplicate's restriction and its list go forward. */
    char open[32], restricted[32];
    testenv_add_person(testenv, sw, "Corin", "Vale", "2012-12-12", open);
    testenv_add_person(testenv, sw, "Corin", "Vale", "2012-12-12", restricted);
    restrict_record(admin, restricted, "high-profile", quoted);
    merged = merge(admin, open, restricted);
    restriction = json_object_get(merged, "restriction");
    assert_string_equal(testenv_str(restriction, "reason"), "high-profile");
    assert_int_equal(json_array_size(json_object_get(restriction, "workers")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(restriction, "workers"), 0)), eh_id);
    json_decref(merged);
    snprintf(path, sizeof(path), "/api/v1/people/%s", open);
    json_decref(testenv_call_json(testenv, eh, "GET", path, NULL, 200));
    char *kw = testenv_login(testenv, "key.worker");
    testenv_call_error(testenv, kw, "GET", path, NULL, 403, "restricted_record", NULL);
    free(kw);
    free(admin);
    free(sw);
    free(eh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_merge_never_opens_a_restricted_survivor_to_the_duplicates_access_list),
    };
    return cmocka_run_group_tests(tests, testenv_group_setup, testenv_group_teardown);
}
