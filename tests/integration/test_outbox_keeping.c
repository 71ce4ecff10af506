/* How long a daemon's outbox keeps its published events (tessera.outbox_keep_days), and what a
 * consumer does when it was away for longer. The records daemon is the producer, the audit daemon
 * the consumer (the trail of every person added). Past keeping, published events go; the numbering
 * carries on from where it was, and consumers that kept up see nothing change. A consumer that had
 * not applied events when they went is told, stops there, and says so, rather than going on without
 * them; docs/OPERATIONS.md's way on, once an operator decides, lets it go on. */
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

/* The last seq records has given its events, once its relay has numbered every event committed so
 * far: an event is numbered after its write is acknowledged, so reading last_seq straight after a
 * write can see the number before it (waits 10 s at most). */
static long records_head(void)
{
    for (int i = 0; i < 100; i++, usleep(100 * 1000))
        if (testenv_sql_long(testenv, "SELECT count(*) FROM records.outbox WHERE seq IS NULL") == 0)
            break;
    return testenv_sql_long(testenv, "SELECT last_seq FROM records.relay_state");
}

static long audit_applied(void)
{
    return testenv_sql_long(testenv,
                            "SELECT coalesce(max(last_seq), 0) FROM audit.inbox WHERE producer = 'records'");
}

/* Waits (10 s at most) until the audit daemon has applied records' events up to seq. */
static int audit_reaches(long seq)
{
    for (int i = 0; i < 100; i++, usleep(100 * 1000))
        if (audit_applied() >= seq)
            return 1;
    return 0;
}

/* Dates records' published events up to seq 100 days back (and those after it 89 days back, younger
 * than the 90 days kept), and waits until records' housekeeping has removed the old ones. */
static void age_and_forget_records_events(long up_to_seq)
{
    char sql[300], out[128];
    snprintf(sql, sizeof(sql),
             "UPDATE records.outbox SET created_at = now() - CASE WHEN seq <= %ld THEN interval '100 days'"
             " ELSE interval '89 days' END WHERE seq IS NOT NULL",
             up_to_seq);
    assert_int_equal(testenv_psql(testenv, NULL, sql, out, sizeof(out)), 0);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM records.outbox WHERE seq <= %ld", up_to_seq);
    long left = -1;
    for (int i = 0; i < 100 && left != 0; i++, usleep(100 * 1000))
        left = testenv_sql_long(testenv, sql);
    assert_int_equal(left, 0);
    assert_true(testenv_log_has(testenv, "records", "published events older than 90 days from the outbox"));
}

/* A metric of the audit daemon about its events from records, from the gateway's /metrics. */
static long audit_metric(const char *name)
{
    testenv_response_t r = testenv_http(testenv, "GET", "/metrics", NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    long value = -1;
    for (char *line = strtok(r.body, "\n"); line != NULL; line = strtok(NULL, "\n"))
        if (strncmp(line, name, strlen(name)) == 0 && line[strlen(name)] == '{' &&
            strstr(line, "daemon=\"audit\"") && strstr(line, "producer=\"records\"") &&
            strrchr(line, ' ') != NULL)
            value = atol(strrchr(line, ' ') + 1);
    testenv_response_free(&r);
    return value;
}

static void test_published_events_past_keeping_go_and_the_numbering_carries_on(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char id[32];
    testenv_add_person(testenv, admin, "Kept", "Before", "2015-05-05", id);
    long old_head = records_head();
    testenv_add_person(testenv, admin, "Young", "Enough", "2015-06-06", id);
    long head = records_head();
    assert_true(head > old_head);
    assert_true(audit_reaches(head));
    /* A round of housekeeping every 200 ms, while every daemon is up: a restart waits until the
     * suite is ready. */
    testenv_restart_with(testenv, "records", "TESSERA_TESSERA_HOUSEKEEPING_MS", "200");
    age_and_forget_records_events(old_head);
    /* Those younger than the keeping stay, and a replay still gives them. */
    assert_int_equal(testenv_sql_long(testenv, "SELECT min(seq) FROM records.outbox WHERE seq IS NOT NULL"),
                     old_head + 1);

    /* The next event is numbered after the last one published, and reaches the trail as before. */
    testenv_add_person(testenv, admin, "Added", "After", "2016-06-06", id);
    long next = records_head();
    assert_true(next > head);
    assert_true(audit_reaches(next));
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_id = '%s' AND action = 'create'", id);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    assert_int_equal(audit_metric("tsr_inbox_unavailable"), 0);
    free(admin);
}

static void
test_a_consumer_away_for_longer_than_the_keeping_stops_there_until_an_operator_decides(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char missed[32], later[32];
    /* A round of housekeeping every 200 ms, while every daemon is up: a restart waits until the
     * suite is ready. */
    testenv_restart_with(testenv, "records", "TESSERA_TESSERA_HOUSEKEEPING_MS", "200");
    assert_true(audit_reaches(records_head()));
    long applied = audit_applied();
    testenv_kill(testenv, "audit", SIGTERM);
    assert_int_equal(testenv_wait_exit(testenv, "audit", 15000), 0);
    testenv_add_person(testenv, admin, "Missed", "Whileaway", "2012-02-02", missed);
    long removed_to = records_head();
    assert_true(removed_to > applied);
    age_and_forget_records_events(removed_to);
    testenv_restart(testenv, "audit");

    /* The audit daemon is told that what it missed is gone: it says so and goes no further. */
    int told = 0;
    for (int i = 0; i < 100 && !told; i++, usleep(100 * 1000))
        told = testenv_log_has(testenv, "audit", "were removed from its outbox");
    assert_true(told);
    assert_int_equal(audit_metric("tsr_inbox_unavailable"), removed_to - applied);
    testenv_add_person(testenv, admin, "Later", "Stillwaiting", "2012-03-03", later);
    usleep(1500 * 1000);
    assert_int_equal(audit_applied(), applied);

    /* The operator accepts the loss for this consumer (docs/OPERATIONS.md): its inbox is moved on to
     * the last event removed, and it carries on from the oldest still held. */
    char sql[300], out[64];
    snprintf(sql, sizeof(sql), "UPDATE audit.inbox SET last_seq = %ld WHERE producer = 'records'",
             removed_to);
    assert_int_equal(testenv_psql(testenv, NULL, sql, out, sizeof(out)), 0);
    testenv_kill(testenv, "audit", SIGTERM);
    assert_int_equal(testenv_wait_exit(testenv, "audit", 15000), 0);
    testenv_restart(testenv, "audit");
    assert_true(audit_reaches(records_head()));
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_id = '%s' AND action = 'create'", later);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    assert_int_equal(audit_metric("tsr_inbox_unavailable"), 0);
    free(admin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_published_events_past_keeping_go_and_the_numbering_carries_on),
        cmocka_unit_test(
            test_a_consumer_away_for_longer_than_the_keeping_stops_there_until_an_operator_decides),
    };
    return cmocka_run_group_tests(tests, testenv_group_setup, testenv_group_teardown);
}
