/* Every read of a person's record is audited exactly once, and no read's data leaves before its audit
 * event is committed (issue 7). The records daemon writes the audit events of concurrent reads in one
 * transaction (group commit): many reads at once must each still be in the trail once, and a commit
 * that fails must fail every read it carried, with no record in the reply. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsr_testenv.h"

#define READERS 8
#define READS_EACH 30

static char person[32];
static char *reader_token;

typedef struct {
    char path[128];
    int reads;
    long status[READS_EACH];
    char trace[READS_EACH][64];
    int leaked; /* a failed read whose body still named the person */
} reader_t;

static void *reader_run(void *arg)
{
    reader_t *r = arg;
    for (int i = 0; i < r->reads; i++) {
        testenv_response_t res = testenv_http(testenv, "GET", r->path, reader_token, NULL, NULL);
        r->status[i] = res.status;
        snprintf(r->trace[i], sizeof(r->trace[i]), "%s", res.trace_id);
        if (res.status != 200 && res.body != NULL && strstr(res.body, "Quennell") != NULL)
            r->leaked = 1;
        testenv_response_free(&res);
    }
    return NULL;
}

/* Runs READERS threads of reads reads each of the person; fills readers. */
static void read_concurrently(reader_t readers[READERS], int reads)
{
    pthread_t threads[READERS];
    for (int t = 0; t < READERS; t++) {
        memset(&readers[t], 0, sizeof(readers[t]));
        snprintf(readers[t].path, sizeof(readers[t].path), "/api/v1/people/%s", person);
        readers[t].reads = reads;
        assert_int_equal(pthread_create(&threads[t], NULL, reader_run, &readers[t]), 0);
    }
    for (int t = 0; t < READERS; t++)
        pthread_join(threads[t], NULL);
}

/* The trace ids of the reads that answered (200) or not, as an SQL text[] literal. */
static char *traces_where(reader_t readers[READERS], int reads, int answered, int *count)
{
    size_t size = (size_t)READERS * (size_t)reads * 70 + 8;
    char *out = malloc(size);
    assert_non_null(out);
    size_t n = (size_t)snprintf(out, size, "'{");
    *count = 0;
    for (int t = 0; t < READERS; t++) {
        for (int i = 0; i < reads; i++) {
            if ((readers[t].status[i] == 200) != answered)
                continue;
            assert_string_not_equal(readers[t].trace[i], "");
            n += (size_t)snprintf(out + n, size - n, "%s\"%s\"", *count ? "," : "", readers[t].trace[i]);
            (*count)++;
        }
    }
    snprintf(out + n, size - n, "}'::text[]");
    return out;
}

/* The value of a counter in /metrics for the records daemon. */
static double records_metric(const char *name)
{
    testenv_response_t r = testenv_http(testenv, "GET", "/metrics", NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    double value = -1;
    for (const char *line = r.body; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, name, strlen(name)) == 0 && line[strlen(name)] == '{' &&
            strstr(line, "daemon=\"records\"") != NULL &&
            strstr(line, "daemon=\"records\"") < strchr(line, '}')) {
            value = strtod(strchr(line, '}') + 1, NULL);
            break;
        }
    }
    testenv_response_free(&r);
    return value < 0 ? 0 : value; /* a counter not yet rendered has counted nothing */
}

static void test_concurrent_reads_are_each_audited_exactly_once(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    testenv_add_person(testenv, sw, "Orla", "Quennell", "2015-06-07", person);
    reader_token = sw;
    double commits_before = records_metric("tsr_read_group_commits_total");
    double events_before = records_metric("tsr_read_group_events_total");

    static reader_t readers[READERS];
    read_concurrently(readers, READS_EACH);
    for (int t = 0; t < READERS; t++)
        for (int i = 0; i < READS_EACH; i++)
            if (readers[t].status[i] != 200)
                fail_msg("read %d of reader %d answered %ld", i, t, readers[t].status[i]);
    int answered = 0;
    char *traces = traces_where(readers, READS_EACH, 1, &answered);
    assert_int_equal(answered, READERS * READS_EACH);
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 20000), 0);

    /* One view entry per read, each read's trace exactly once, and nothing more. */
    char sql[64 * 1024];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_kind = 'person' AND record_id = %s"
             " AND action = 'view'",
             person);
    assert_int_equal(testenv_sql_long(testenv, sql), answered);
    snprintf(sql, sizeof(sql),
             "SELECT count(DISTINCT trace_id) FROM audit.entries WHERE record_kind = 'person'"
             " AND record_id = %s AND action = 'view' AND trace_id = ANY (%s)",
             person, traces);
    assert_int_equal(testenv_sql_long(testenv, sql), answered);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM (SELECT trace_id FROM audit.entries WHERE record_id = %s"
             " AND action = 'view' GROUP BY trace_id HAVING count(*) > 1) twice",
             person);
    assert_int_equal(testenv_sql_long(testenv, sql), 0);
    free(traces);

    /* The reads' events were written in groups: fewer commits than events. */
    double commits = records_metric("tsr_read_group_commits_total") - commits_before;
    double events = records_metric("tsr_read_group_events_total") - events_before;
    assert_true(events >= answered);
    if (!(commits > 0 && commits < events))
        fail_msg("%.0f group commits for %.0f events of concurrent reads", commits, events);
}

static void test_a_failed_audit_commit_fails_the_reads_and_shows_no_record(void **state)
{
    (void)state;
    char out[4096];
    /* The outbox refuses view events at COMMIT (a deferred trigger): the group commit itself fails,
     * after its INSERT was accepted. */
    int rc = testenv_psql(
        testenv, NULL,
        "CREATE FUNCTION records.test_refuse_views() RETURNS trigger LANGUAGE plpgsql AS"
        " $$BEGIN RAISE EXCEPTION 'test: the audit event cannot be kept'; END$$;"
        " CREATE CONSTRAINT TRIGGER test_refuse_views AFTER INSERT ON records.outbox"
        " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
        " WHEN (NEW.type = 'records.person.viewed') EXECUTE FUNCTION records.test_refuse_views();",
        out, sizeof(out));
    if (rc != 0)
        fail_msg("could not add the trigger: %s", out);

    static reader_t readers[READERS];
    read_concurrently(readers, 4);
    int refused = 0;
    char *traces = traces_where(readers, 4, 0, &refused);
    for (int t = 0; t < READERS; t++) {
        assert_false(readers[t].leaked);
        for (int i = 0; i < 4; i++)
            if (readers[t].status[i] != 500)
                fail_msg("read %d of reader %d answered %ld while its audit event could not be committed", i,
                         t, readers[t].status[i]);
    }
    assert_int_equal(refused, READERS * 4);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/people/%s", person);
    testenv_response_t r = testenv_http(testenv, "GET", path, reader_token, NULL, NULL);
    testenv_assert_error(&r, 500, "database_error");
    assert_null(strstr(r.body, "Quennell"));
    /* The database's words are for the operator's log: the person gets a sentence and a trace. */
    assert_null(strstr(r.body, "audit event cannot be kept"));
    assert_non_null(strstr(r.body, "trace "));
    assert_true(testenv_log_has(testenv, "records", "audit event cannot be kept"));
    testenv_response_free(&r);

    /* Other events still go: a change's own transaction is not a read's group. */
    char other[32];
    testenv_add_person(testenv, reader_token, "Piers", "Quennell", "2016-08-09", other);

    rc = testenv_psql(testenv, NULL,
                      "DROP TRIGGER test_refuse_views ON records.outbox;"
                      " DROP FUNCTION records.test_refuse_views();",
                      out, sizeof(out));
    if (rc != 0)
        fail_msg("could not drop the trigger: %s", out);
    r = testenv_http(testenv, "GET", path, reader_token, NULL, NULL);
    assert_int_equal(r.status, 200);
    char answered_trace[64];
    snprintf(answered_trace, sizeof(answered_trace), "%s", r.trace_id);
    testenv_response_free(&r);
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 20000), 0);

    /* The refused reads left nothing in the outbox or the trail; the read after has its entry. */
    char sql[16 * 1024];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit.entries WHERE trace_id = ANY (%s)", traces);
    assert_int_equal(testenv_sql_long(testenv, sql), 0);
    snprintf(
        sql, sizeof(sql),
        "SELECT count(*) FROM audit.entries WHERE record_id = %s AND action = 'view' AND trace_id = '%s'",
        person, answered_trace);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit.entries WHERE record_id = %s AND action = 'view'",
             person);
    assert_int_equal(testenv_sql_long(testenv, sql), READERS * READS_EACH + 1);
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM audit.inbox_dead"), 0);
    free(traces);
}

#define WRITES 24

/* Adds WRITES people, one after another: changes, whose events the relay numbers after their commit. */
static void *writer_run(void *arg)
{
    char(*ids)[32] = arg;
    for (int i = 0; i < WRITES; i++) {
        char family[32];
        snprintf(family, sizeof(family), "Quarrie%c", 'a' + i);
        testenv_add_person(testenv, reader_token, "Tamsin", family, "2012-03-04", ids[i]);
    }
    return NULL;
}

static void test_reads_and_changes_at_once_reach_the_trail_once_and_in_order(void **state)
{
    (void)state;
    char sql[4096];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit.entries WHERE record_id = %s AND action = 'view'",
             person);
    long views_before = testenv_sql_long(testenv, sql);
    /* The reads' events are numbered by their group commits as they are written, the changes' by
     * the relay after theirs: both at once, published in one sequence. */
    static char ids[WRITES][32];
    pthread_t writer;
    assert_int_equal(pthread_create(&writer, NULL, writer_run, ids), 0);
    static reader_t readers[READERS];
    read_concurrently(readers, 10);
    pthread_join(writer, NULL);
    for (int t = 0; t < READERS; t++)
        for (int i = 0; i < 10; i++)
            if (readers[t].status[i] != 200)
                fail_msg("read %d of reader %d answered %ld", i, t, readers[t].status[i]);
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 20000), 0);

    assert_int_equal(testenv_sql_long(testenv, sql), views_before + READERS * 10);
    snprintf(sql, sizeof(sql),
             "SELECT count(DISTINCT record_id) FROM audit.entries WHERE record_kind = 'person'"
             " AND action = 'create' AND record_id IN (%s",
             ids[0]);
    for (int i = 1; i < WRITES; i++)
        snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), ", %s", ids[i]);
    snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), ")");
    assert_int_equal(testenv_sql_long(testenv, sql), WRITES);
    /* Applied in sequence order, each event once: the trail's order is the outbox's. */
    assert_int_equal(
        testenv_sql_long(testenv, "SELECT count(*) FROM (SELECT producer_seq, lag(producer_seq) OVER"
                                  " (ORDER BY id) AS before FROM audit.entries WHERE producer = 'records')"
                                  " AS e WHERE producer_seq < before"),
        0);
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM records.outbox WHERE seq IS NULL"), 0);
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM audit.inbox_dead"), 0);
}

/* A "yes" was taken for the default, silently: for audit_person_views, true; for demo, false. */
static void test_the_records_daemon_refuses_a_bad_gather_or_true_false_setting(void **state)
{
    (void)state;
    testenv_assert_refuses_to_start(testenv, "records", "TESSERA_RECORDS_AUDIT_PERSON_VIEWS=no",
                                    "'records.audit_person_views' is 'no': it must be true or false", NULL);
    testenv_assert_refuses_to_start(testenv, "records", "TESSERA_TESSERA_DEMO=maybe",
                                    "'tessera.demo' is 'maybe': it must be true or false", NULL);
    testenv_assert_refuses_to_start(testenv, "records", "TESSERA_TESSERA_GROUP_COMMIT_GATHER_MS=-1",
                                    "tessera.group_commit_gather_ms", NULL);
    testenv_assert_refuses_to_start(testenv, "records", "TESSERA_TESSERA_GROUP_COMMIT_GATHER_MS=soon",
                                    "tessera.group_commit_gather_ms", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_reads_are_each_audited_exactly_once),
        cmocka_unit_test(test_a_failed_audit_commit_fails_the_reads_and_shows_no_record),
        cmocka_unit_test(test_reads_and_changes_at_once_reach_the_trail_once_and_in_order),
        cmocka_unit_test(test_the_records_daemon_refuses_a_bad_gather_or_true_false_setting),
    };
    return cmocka_run_group_tests(tests, testenv_group_setup, testenv_group_teardown);
}
