/* The audit trail is tamper-evident and append-only (seed 002, issue 7): each entry says who, in
 * which teams, read what and why (the reason given in X-Access-Reason); the audit daemon's own
 * database role cannot change or remove an entry; and `tessera audit verify` holds on an untouched
 * trail and names the first entry a superuser changed or removed behind its back. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tsr_testenv.h"

/* Runs `tessera audit verify`; its exit status, and its output in out. */
static int audit_verify(char *out, size_t size)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s/tessera --config %s audit verify 2>&1", TSR_BIN_DIR, testenv->config);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char person[32];

/* A person read with a reason given, by a worker in a team; the trail has it, reason and teams. */
static void test_an_entry_says_who_in_which_team_read_what_and_why(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char *auditor = testenv_login(testenv, "auditor");
    testenv_add_person(testenv, sw, "Tamsin", "Verrall", "2014-03-02", person);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/people/%s", person);
    testenv_response_t r =
        testenv_http(testenv, "GET", path, sw, NULL, "X-Access-Reason: Strategy discussion on 2 December");
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);

    snprintf(path, sizeof(path), "/api/v1/audit/events?person_id=%s", person);
    r = testenv_http(testenv, "GET", path, auditor, NULL, NULL);
    assert_int_equal(r.status, 200);
    json_t *items = json_object_get(r.json, "items");
    json_t *view = NULL;
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        if (strcmp(json_string_value(json_object_get(item, "action")), "view") == 0)
            view = item;
    }
    if (view == NULL)
        fail_msg("no view of person %s in the trail: %s", person, r.body);
    assert_string_equal(json_string_value(json_object_get(view, "reason")),
                        "Strategy discussion on 2 December");
    assert_string_equal(json_string_value(json_object_get(json_object_get(view, "worker"), "username")),
                        "mash.sw");
    assert_true(json_array_size(json_object_get(view, "teams")) > 0);
    testenv_response_free(&r);
    free(sw);
    free(auditor);
}

/* The audit daemon's own role may add entries and read them, and nothing more. */
static void test_the_audit_role_can_neither_change_nor_remove_an_entry(void **state)
{
    (void)state;
    long before = testenv_sql_long(testenv, "SELECT count(*) FROM audit.entries");
    assert_true(before > 0);
    const char *refused[] = {
        "UPDATE audit.entries SET summary = 'changed' WHERE id = (SELECT min(id) FROM audit.entries)",
        "DELETE FROM audit.entries WHERE id = (SELECT max(id) FROM audit.entries)", "TRUNCATE audit.entries"};
    for (size_t i = 0; i < 3; i++) {
        char out[1024];
        int rc = testenv_psql(testenv, "audit", refused[i], out, sizeof(out));
        if (rc == 0)
            fail_msg("the audit role was allowed: %s", refused[i]);
        assert_non_null(strstr(out, "permission denied"));
    }
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM audit.entries"), before);
    char out[8192];
    int rc = audit_verify(out, sizeof(out));
    if (rc != 0)
        fail_msg("verify of an untouched trail: %d %s", rc, out);
    assert_non_null(strstr(out, "intact"));
}

/* A superuser gets round the privileges and the trigger; the chain still shows what they did. */
static void test_verify_names_the_first_entry_changed_or_removed_behind_its_back(void **state)
{
    (void)state;
    char out[8192];
    long changed =
        testenv_sql_long(testenv, "SELECT min(id) FROM audit.entries WHERE record_kind = 'person'");
    assert_true(changed > 0);
    char sql[512], expected[64];
    snprintf(sql, sizeof(sql),
             "SET session_replication_role = replica;"
             " UPDATE audit.entries SET reason = 'routine check' WHERE id = %ld",
             changed);
    assert_int_equal(testenv_psql(testenv, NULL, sql, out, sizeof(out)), 0);
    assert_int_equal(audit_verify(out, sizeof(out)), 1);
    snprintf(expected, sizeof(expected), "entry %ld:", changed);
    if (strstr(out, expected) == NULL || strstr(out, "contents do not match") == NULL)
        fail_msg("verify after entry %ld was changed said: %s", changed, out);

    /* Put back, the chain holds again. */
    snprintf(sql, sizeof(sql),
             "SET session_replication_role = replica;"
             " UPDATE audit.entries SET reason = '' WHERE id = %ld",
             changed);
    assert_int_equal(testenv_psql(testenv, NULL, sql, out, sizeof(out)), 0);
    assert_int_equal(audit_verify(out, sizeof(out)), 0);

    /* An entry removed from the middle: the one after it no longer follows on. */
    long removed = testenv_sql_long(
        testenv, "SELECT min(id) FROM audit.entries WHERE id > (SELECT min(id) FROM audit.entries)");
    long next = testenv_sql_long(testenv, "SELECT min(id) FROM audit.entries WHERE id > (SELECT min(id) FROM "
                                          "audit.entries WHERE id > (SELECT min(id) FROM audit.entries))");
    assert_true(removed > 0 && next > removed);
    snprintf(sql, sizeof(sql),
             "SET session_replication_role = replica; DELETE FROM audit.entries WHERE id = %ld", removed);
    assert_int_equal(testenv_psql(testenv, NULL, sql, out, sizeof(out)), 0);
    assert_int_equal(audit_verify(out, sizeof(out)), 1);
    snprintf(expected, sizeof(expected), "entry %ld:", next);
    if (strstr(out, expected) == NULL || strstr(out, "does not follow") == NULL)
        fail_msg("verify after entry %ld was removed said: %s", removed, out);
}

/* The reason's limit is 500 characters, as the contract says, in any script: 500 two-byte
 * characters are taken and kept whole, 501 are refused (bytes were counted, refusing 251). */
static void test_a_reason_of_500_characters_in_any_script_is_kept_and_501_refused(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char *auditor = testenv_login(testenv, "auditor");
    char someone[32];
    testenv_add_person(testenv, sw, "Ieuan", "Prydderch", "2013-05-09", someone);
    static char header[1200], reason[1100];
    reason[0] = '\0';
    for (int i = 0; i < 500; i++)
        strcat(reason, "\xc5\xb5"); /* w with circumflex, as Welsh writes it */
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/people/%s", someone);
    snprintf(header, sizeof(header), "X-Access-Reason: %s\xc5\xb5", reason);
    testenv_response_t r = testenv_http(testenv, "GET", path, sw, NULL, header);
    testenv_assert_error(&r, 400, "invalid_access_reason");
    testenv_response_free(&r);
    snprintf(header, sizeof(header), "X-Access-Reason: %s", reason);
    r = testenv_http(testenv, "GET", path, sw, NULL, header);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    snprintf(path, sizeof(path), "/api/v1/audit/events?person_id=%s", someone);
    r = testenv_http(testenv, "GET", path, auditor, NULL, NULL);
    assert_int_equal(r.status, 200);
    int views = 0;
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(r.json, "items"), i, item)
    {
        if (strcmp(json_string_value(json_object_get(item, "action")), "view") == 0) {
            views++;
            assert_string_equal(json_string_value(json_object_get(item, "reason")), reason);
        }
    }
    assert_int_equal(views, 1); /* the refused call read nothing */
    testenv_response_free(&r);
    free(sw);
    free(auditor);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_entry_says_who_in_which_team_read_what_and_why),
        cmocka_unit_test(test_a_reason_of_500_characters_in_any_script_is_kept_and_501_refused),
        cmocka_unit_test(test_the_audit_role_can_neither_change_nor_remove_an_entry),
        cmocka_unit_test(test_verify_names_the_first_entry_changed_or_removed_behind_its_back),
    };
    return cmocka_run_group_tests(tests, testenv_group_setup, testenv_group_teardown);
}
