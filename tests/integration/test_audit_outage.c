/* Nothing lost: with the audit daemon killed, 200 organisations are added, and 1,000 reads of a
 * person are made; once it is back, the trail has each exactly once, in order. */
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

/* The organisation ids added, in order, and how often the API's trail showed each one's creation. */
static char ids[ORGANISATIONS][24];
static int seen[ORGANISATIONS];

static int index_of(const char *id)
{
    for (int i = 0; i < ORGANISATIONS; i++)
        if (strcmp(ids[i], id) == 0)
            return i;
    return -1;
}

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
        if (r.status != 201)
            fail_msg("organisation %d while audit is down: %ld %s", i, r.status, r.body);
        snprintf(ids[i], sizeof(ids[i]), "%s", json_string_value(json_object_get(r.json, "id")));
        testenv_response_free(&r);
    }
    /* While audit is away the trail cannot be read, and says so. */
    testenv_response_t r = testenv_http(env, "GET", "/api/v1/audit/events", auditor, NULL, NULL);
    testenv_assert_error(&r, 503, "service_unavailable");
    testenv_response_free(&r);
    testenv_restart(env, "audit");

    /* The restarted audit daemon asks records to replay what it missed. */
    const char *count_sql = "SELECT count(*) FROM audit.entries WHERE action = 'create'"
                            " AND summary LIKE 'Added organisation Outage Test Organisation %'";
    long audited = 0;
    for (int i = 0; i < 200 && audited < ORGANISATIONS; i++) {
        audited = testenv_sql_long(env, count_sql);
        usleep(100 * 1000);
    }
    assert_int_equal(audited, ORGANISATIONS);
    assert_int_equal(testenv_wait_audit_caught_up(env, 10000), 0);
    /* None twice, counted again once everything is applied: one entry per organisation and one per
     * event of the producer. */
    assert_int_equal(testenv_sql_long(env, count_sql), ORGANISATIONS);
    assert_int_equal(
        testenv_sql_long(env, "SELECT count(DISTINCT record_id) FROM audit.entries WHERE action = 'create'"
                              " AND summary LIKE 'Added organisation Outage Test Organisation %'"),
        ORGANISATIONS);
    assert_int_equal(
        testenv_sql_long(env,
                         "SELECT count(*) - count(DISTINCT (producer, producer_seq)) FROM audit.entries"),
        0);
    assert_int_equal(testenv_sql_long(env, "SELECT count(*) FROM audit.inbox_dead"), 0);
    /* In order: the trail's order follows the producer's sequence. */
    assert_int_equal(
        testenv_sql_long(env,
                         "SELECT count(*) FROM (SELECT producer_seq, lag(producer_seq) OVER (ORDER BY id)"
                         " AS prev FROM audit.entries WHERE producer = 'records') s"
                         " WHERE prev IS NOT NULL AND producer_seq <= prev"),
        0);

    /* The same through the API: page through the auditor's view with the cursor, and find each
     * organisation's creation exactly once, by the admin. */
    char path[256] = "/api/v1/audit/events?limit=75";
    int pages = 0, entries = 0;
    for (;;) {
        r = testenv_http(env, "GET", path, auditor, NULL, NULL);
        assert_int_equal(r.status, 200);
        pages++;
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(r.json, "items"), i, e)
        {
            entries++;
            json_t *record = json_object_get(e, "record");
            int at = index_of(json_string_value(json_object_get(record, "id")));
            if (at < 0 || strcmp(json_string_value(json_object_get(e, "action")), "create") != 0)
                continue;
            assert_string_equal(json_string_value(json_object_get(record, "kind")), "organisation");
            assert_string_equal(json_string_value(json_object_get(json_object_get(e, "worker"), "username")),
                                "admin");
            seen[at]++;
        }
        const char *next = json_string_value(json_object_get(r.json, "next_cursor"));
        if (next == NULL || *next == '\0') {
            testenv_response_free(&r);
            break;
        }
        assert_true(pages < 100);
        snprintf(path, sizeof(path), "/api/v1/audit/events?limit=75&cursor=%s", next);
        testenv_response_free(&r);
    }
    assert_true(pages >= 3);
    assert_int_equal(entries, testenv_sql_long(env, "SELECT count(*) FROM audit.entries"));
    for (int i = 0; i < ORGANISATIONS; i++)
        if (seen[i] != 1)
            fail_msg("organisation %s (number %d) is in the trail %d times", ids[i], i, seen[i]);
    free(admin);
    free(auditor);
    testenv_stop(env);
}

#define READS 1000

/* Issue 7: with the audit daemon killed for the length of 1,000 audited reads of a person's record,
 * afterwards all 1,000 are in the trail, in the order they were made, none twice. Each read gives
 * its number as the reason, so the order can be seen. */
static void test_a_thousand_reads_while_audit_is_down_reach_the_trail_in_order_once(void **state)
{
    (void)state;
    testenv_t *env = testenv_start();
    char *sw = testenv_login(env, "mash.sw");
    char person[32], path[64];
    testenv_add_person(env, sw, "Orla", "Outagehurst", "2013-09-09", person);
    testenv_response_t r;
    snprintf(path, sizeof(path), "/api/v1/people/%s", person);

    testenv_kill(env, "audit", SIGKILL);
    for (int i = 0; i < READS; i++) {
        char reason[64];
        snprintf(reason, sizeof(reason), "X-Access-Reason: outage read %04d", i);
        r = testenv_http(env, "GET", path, sw, NULL, reason);
        if (r.status != 200)
            fail_msg("read %d while audit is down: %ld %s", i, r.status, r.body);
        testenv_response_free(&r);
    }
    testenv_restart(env, "audit");
    char count_sql[256];
    snprintf(count_sql, sizeof(count_sql),
             "SELECT count(*) FROM audit.entries WHERE action = 'view' AND record_kind = 'person'"
             " AND record_id = %s AND reason LIKE 'outage read %%'",
             person);
    long audited = 0;
    for (int i = 0; i < 300 && audited < READS; i++) {
        audited = testenv_sql_long(env, count_sql);
        usleep(100 * 1000);
    }
    assert_int_equal(audited, READS);
    assert_int_equal(testenv_wait_audit_caught_up(env, 10000), 0);
    assert_int_equal(testenv_sql_long(env, count_sql), READS);
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT count(DISTINCT reason) FROM audit.entries WHERE action = 'view' AND record_id = %s"
             " AND reason LIKE 'outage read %%'",
             person);
    assert_int_equal(testenv_sql_long(env, sql), READS);
    /* In order: read n comes before read n + 1 in the trail. */
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM (SELECT reason, lag(reason) OVER (ORDER BY id) AS prev FROM audit.entries"
             " WHERE action = 'view' AND record_id = %s AND reason LIKE 'outage read %%') s"
             " WHERE prev IS NOT NULL AND reason <= prev",
             person);
    assert_int_equal(testenv_sql_long(env, sql), 0);
    free(sw);
    testenv_stop(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_creations_made_while_audit_is_down_all_reach_the_trail_once),
        cmocka_unit_test(test_a_thousand_reads_while_audit_is_down_reach_the_trail_in_order_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
