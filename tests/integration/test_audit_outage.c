/* Nothing lost: with the audit daemon killed, 200 organisations are added; once it is back, the
 * trail has exactly 200 creation entries for them, none twice. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tsr_testenv.h"

#define ORGANISATIONS 200

static void test_creations_made_while_audit_is_down_all_reach_the_trail_once(void **state)
{
    (void)state;
    testenv_t *env = testenv_start();
    char *admin = testenv_login(env, "admin");
    char *auditor = testenv_login(env, "auditor");

    testenv_kill(env, "audit", SIGKILL);
    for (int i = 0; i < ORGANISATIONS; i++) {
        char body[128];
        snprintf(body, sizeof(body), "{\"name\":\"Outage Test Organisation %03d\"}", i);
        testenv_response_t r = testenv_http(env, "POST", "/api/v1/organisations", admin, body, NULL);
        assert_int_equal(r.status, 201);
        testenv_response_free(&r);
    }
    testenv_restart(env, "audit");

    /* The restarted audit daemon asks records to replay what it missed. */
    const char *count_sql = "SELECT count(*) FROM audit.entries WHERE action = 'create'"
                            " AND summary LIKE 'Added organisation Outage Test Organisation %'";
    long audited = 0;
    for (int i = 0; i < 300 && audited < ORGANISATIONS; i++) {
        audited = testenv_sql_long(env, count_sql);
        usleep(100 * 1000);
    }
    assert_int_equal(audited, ORGANISATIONS);
    /* None twice: one entry per organisation and per event of the producer. */
    assert_int_equal(
        testenv_sql_long(env, "SELECT count(DISTINCT record_id) FROM audit.entries WHERE action = 'create'"
                              " AND summary LIKE 'Added organisation Outage Test Organisation %'"),
        ORGANISATIONS);
    assert_int_equal(
        testenv_sql_long(env,
                         "SELECT count(*) - count(DISTINCT (producer, producer_seq)) FROM audit.entries"),
        0);
    /* In order: the trail's order follows the producer's sequence. */
    assert_int_equal(
        testenv_sql_long(env,
                         "SELECT count(*) FROM (SELECT producer_seq, lag(producer_seq) OVER (ORDER BY id)"
                         " AS prev FROM audit.entries WHERE producer = 'records') s"
                         " WHERE prev IS NOT NULL AND producer_seq <= prev"),
        0);

    /* The same through the API: page through the auditor's view with the cursor. */
    int seen = 0;
    char path[256] = "/api/v1/audit/events?limit=75";
    for (;;) {
        testenv_response_t r = testenv_http(env, "GET", path, auditor, NULL, NULL);
        assert_int_equal(r.status, 200);
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(r.json, "items"), i, e)
        {
            const char *summary = json_string_value(json_object_get(e, "summary"));
            if (strstr(summary, "Outage Test Organisation") != NULL)
                seen++;
        }
        const char *next = json_string_value(json_object_get(r.json, "next_cursor"));
        if (next == NULL) {
            testenv_response_free(&r);
            break;
        }
        snprintf(path, sizeof(path), "/api/v1/audit/events?limit=75&cursor=%s", next);
        testenv_response_free(&r);
    }
    assert_int_equal(seen, ORGANISATIONS);
    free(admin);
    free(auditor);
    testenv_stop(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_creations_made_while_audit_is_down_all_reach_the_trail_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
