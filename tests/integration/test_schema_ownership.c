/* Each daemon's database role can use its own schema and no other: the records daemon cannot read
 * the audit trail, audit cannot read records, and nobody can create objects outside their schema. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "tsr_testenv.h"

static void assert_denied(const char *role, const char *sql)
{
    char out[1024];
    int rc = testenv_psql(testenv, role, sql, out, sizeof(out));
    if (rc == 0 || strstr(out, "permission denied") == NULL)
        fprintf(stderr, "%s ran '%s': rc %d, %s\n", role, sql, rc, out);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "permission denied"));
}

static void test_records_role_cannot_read_the_audit_schema(void **state)
{
    (void)state;
    assert_denied("records", "SELECT count(*) FROM audit.entries");
    assert_denied("records", "INSERT INTO audit.entries (id) VALUES (1)");
    assert_denied("records", "SELECT count(*) FROM accounts.workers");
    assert_denied("records", "SELECT count(*) FROM gateway.sessions");
}

static void test_audit_role_cannot_read_records_or_accounts(void **state)
{
    (void)state;
    assert_denied("audit", "SELECT count(*) FROM records.organisations");
    assert_denied("audit", "SELECT password_hash FROM accounts.workers");
    assert_denied("gateway", "SELECT password_hash FROM accounts.workers");
}

static void test_each_role_uses_its_own_schema(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(
        testenv_psql(testenv, "records", "SELECT count(*) > 0 FROM records.organisations", out, sizeof(out)),
        0);
    assert_string_equal(out, "t");
    assert_int_equal(
        testenv_psql(testenv, "audit", "SELECT count(*) >= 0 FROM audit.entries", out, sizeof(out)), 0);
    assert_string_equal(out, "t");
}

static void test_no_daemon_role_can_create_in_public(void **state)
{
    (void)state;
    for (int i = 0; i < TESTENV_DAEMONS; i++)
        assert_denied(testenv_daemon_name(i), "CREATE TABLE public.intruder (id int)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_role_cannot_read_the_audit_schema),
        cmocka_unit_test(test_audit_role_cannot_read_records_or_accounts),
        cmocka_unit_test(test_each_role_uses_its_own_schema),
        cmocka_unit_test(test_no_daemon_role_can_create_in_public),
    };
    return cmocka_run_group_tests(tests, testenv_group_setup, testenv_group_teardown);
}
