/* SIGTERM drains: each daemon in turn, stopped while requests are in flight, finishes them and
 * exits 0 within the drain time; every request that was acknowledged is committed, and the audit
 * trail loses nothing across the restarts. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tsr_testenv.h"

#define WRITERS 4
#define MAX_PER_WRITER 6000
#define MAX_TOKENS 200

static testenv_t *env;
static char *admin;
static char *auditor;
static atomic_int stop_clients;

typedef struct {
    int client;
    int acknowledged;
    int unavailable;
    int other;
    long slowest_ms; /* the longest wait for an answer */
    char first_other[256];
    /* What each 201 answered: id and name, to find every one committed afterwards. */
    char (*ids)[24];
    char (*names)[40];
} writer_t;

typedef struct {
    int acknowledged;
    int unavailable;
    int other;
    long slowest_ms;
    char first_other[256];
    char *tokens[MAX_TOKENS]; /* sessions acknowledged with 201 */
} reader_t;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void note_other(int *other, char *first, size_t size, const char *what, const testenv_response_t *r)
{
    if ((*other)++ == 0)
        snprintf(first, size, "%s: %ld %s", what, r->status, r->body ? r->body : "");
}

static void pause_if_refused(const testenv_response_t *r)
{
    /* Connection refused while the gateway restarts: do not spin. */
    if (r->status == 0)
        usleep(20 * 1000);
}

static void *writer_run(void *arg)
{
    writer_t *w = arg;
    for (int i = 0; i < MAX_PER_WRITER && !atomic_load(&stop_clients); i++) {
        char name[40], body[96];
        snprintf(name, sizeof(name), "Shutdown Test C%d-%05d", w->client, i);
        snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
        long started = now_ms();
        testenv_response_t r = testenv_http(env, "POST", "/api/v1/organisations", admin, body, NULL);
        if (now_ms() - started > w->slowest_ms)
            w->slowest_ms = now_ms() - started;
        const char *id = json_string_value(json_object_get(r.json, "id"));
        if (r.status == 201 && id != NULL) {
            snprintf(w->ids[w->acknowledged], sizeof(w->ids[0]), "%s", id);
            snprintf(w->names[w->acknowledged], sizeof(w->names[0]), "%s", name);
            w->acknowledged++;
        } else if (r.status == 503 || r.status == 0) {
            w->unavailable++;
        } else {
            note_other(&w->other, w->first_other, sizeof(w->first_other), name, &r);
        }
        pause_if_refused(&r);
        testenv_response_free(&r);
    }
    return NULL;
}

/* Signs in (accounts), reads the trail (audit) and reads an organisation (records), in turn. */
static void *reader_run(void *arg)
{
    reader_t *rd = arg;
    static const char *const users[] = {"mash.admin", "mash.sw", "eh.worker", "key.worker"};
    for (int i = 0; !atomic_load(&stop_clients); i++) {
        testenv_response_t r;
        long ok;
        const char *what;
        long started = now_ms();
        if (i % 3 == 0) {
            char body[128];
            snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"tessera-demo\"}", users[i % 4]);
            r = testenv_http(env, "POST", "/api/v1/session", NULL, body, NULL);
            ok = 201;
            what = "sign-in";
            const char *token = json_string_value(json_object_get(r.json, "token"));
            if (r.status == 201 && token != NULL && rd->acknowledged < MAX_TOKENS)
                rd->tokens[rd->acknowledged] = strdup(token);
        } else if (i % 3 == 1) {
            r = testenv_http(env, "GET", "/api/v1/audit/events?limit=5", auditor, NULL, NULL);
            ok = 200;
            what = "audit events";
        } else {
            r = testenv_http(env, "GET", "/api/v1/organisations/7500065", auditor, NULL, NULL);
            ok = 200;
            what = "organisation";
        }
        if (now_ms() - started > rd->slowest_ms)
            rd->slowest_ms = now_ms() - started;
        if (r.status == ok && ok == 201)
            rd->acknowledged += rd->acknowledged < MAX_TOKENS;
        else if (r.status == 503 || r.status == 0)
            rd->unavailable++;
        else if (r.status != ok)
            note_other(&rd->other, rd->first_other, sizeof(rd->first_other), what, &r);
        pause_if_refused(&r);
        testenv_response_free(&r);
    }
    return NULL;
}

static void test_sigterm_drains_in_flight_work_and_exits_zero(void **state)
{
    (void)state;
    env = testenv_start();
    admin = testenv_login(env, "admin");
    auditor = testenv_login(env, "auditor");
    pthread_t threads[WRITERS + 1];
    writer_t writers[WRITERS];
    reader_t *reader = calloc(1, sizeof(*reader));
    memset(writers, 0, sizeof(writers));
    for (int i = 0; i < WRITERS; i++) {
        writers[i].client = i;
        writers[i].ids = calloc(MAX_PER_WRITER, sizeof(writers[i].ids[0]));
        writers[i].names = calloc(MAX_PER_WRITER, sizeof(writers[i].names[0]));
        assert_non_null(writers[i].ids);
        assert_non_null(writers[i].names);
        assert_int_equal(pthread_create(&threads[i], NULL, writer_run, &writers[i]), 0);
    }
    assert_int_equal(pthread_create(&threads[WRITERS], NULL, reader_run, reader), 0);

    /* Each daemon in turn, with the burst going on: drained, exit 0, well within the 15 s allowed.
     * The gateway goes first, so that its drain is not spent waiting out a call lost in transit to
     * a daemon restarted just before (test_gateway_drain covers that case on its own). */
    static const char *const order[] = {"gateway", "records", "audit", "accounts"};
    char failure[300] = "";
    for (size_t d = 0; d < sizeof(order) / sizeof(order[0]) && failure[0] == '\0'; d++) {
        usleep(500 * 1000);
        testenv_kill(env, order[d], SIGTERM);
        int rc = testenv_wait_exit(env, order[d], 3000);
        if (rc == -1) {
            /* Slow: show what the database is doing for whoever reads the failure. */
            char activity[8192];
            testenv_psql(env, NULL,
                         "SELECT pid, usename, state, wait_event_type || ':' || wait_event,"
                         " now() - xact_start, left(query, 100) FROM pg_stat_activity"
                         " WHERE datname = 'tessera' AND state <> 'idle'",
                         activity, sizeof(activity));
            fprintf(stderr, "tessera-%s still draining after 3 s; busy connections:\n%s\n", order[d],
                    activity);
            rc = testenv_wait_exit(env, order[d], 12000);
        }
        if (rc != 0)
            snprintf(failure, sizeof(failure),
                     "tessera-%s, sent SIGTERM under load, ended with %d (-1: still running after 15 s)",
                     order[d], rc);
        else if (!testenv_log_has(env, order[d], "drained"))
            snprintf(failure, sizeof(failure), "tessera-%s exited 0 but did not say it drained", order[d]);
        else
            testenv_restart(env, order[d]);
    }
    usleep(500 * 1000);
    atomic_store(&stop_clients, 1);
    int acknowledged = 0, unavailable = 0;
    long slowest = 0;
    for (int i = 0; i <= WRITERS; i++)
        pthread_join(threads[i], NULL);
    /* Failed only now, with the clients stopped: they use this frame's memory. */
    if (failure[0] != '\0')
        fail_msg("%s", failure);
    for (int i = 0; i < WRITERS; i++) {
        acknowledged += writers[i].acknowledged;
        unavailable += writers[i].unavailable;
        slowest = writers[i].slowest_ms > slowest ? writers[i].slowest_ms : slowest;
        if (writers[i].other)
            fprintf(stderr, "writer %d: %d unexpected answers, first %s\n", i, writers[i].other,
                    writers[i].first_other);
        assert_int_equal(writers[i].other, 0);
    }
    fprintf(stderr,
            "organisations acknowledged %d, refused as unavailable %d, slowest answer %ld ms; sign-ins %d,"
            " reader refused %d, slowest answer %ld ms\n",
            acknowledged, unavailable, slowest, reader->acknowledged, reader->unavailable,
            reader->slowest_ms);
    if (reader->other)
        fprintf(stderr, "reader: %d unexpected answers, first %s\n", reader->other, reader->first_other);
    assert_int_equal(reader->other, 0);
    assert_true(acknowledged > 0);
    assert_true(reader->acknowledged > 0);

    /* Every 201 is committed, under the id it answered with (a 503 may or may not have been). */
    size_t cap = (size_t)acknowledged * 48 + 256;
    char *sql = malloc(cap);
    assert_non_null(sql);
    size_t n = (size_t)snprintf(sql, cap, "SELECT count(*) FROM records.organisations o JOIN (VALUES ");
    for (int i = 0, first = 1; i < WRITERS; i++)
        for (int k = 0; k < writers[i].acknowledged; k++, first = 0)
            n += (size_t)snprintf(sql + n, cap - n, "%s(%s,'%s')", first ? "" : ",", writers[i].ids[k],
                                  writers[i].names[k]);
    snprintf(sql + n, cap - n, ") AS a(id, name) ON o.id = a.id AND o.name = a.name");
    assert_int_equal(testenv_sql_long(env, sql), acknowledged);
    free(sql);
    /* Every session acknowledged works. */
    for (int i = 0; i < reader->acknowledged; i++) {
        testenv_response_t r =
            testenv_http(env, "GET", "/api/v1/organisations/7500065", reader->tokens[i], NULL, NULL);
        if (r.status != 200)
            fail_msg("a session acknowledged with 201 does not work: %ld %s", r.status, r.body);
        testenv_response_free(&r);
        free(reader->tokens[i]);
    }
    /* And the suite works again: an addition now is acknowledged and audited. */
    testenv_response_t r =
        testenv_http(env, "POST", "/api/v1/organisations", admin, "{\"name\":\"Shutdown Test After\"}", NULL);
    assert_int_equal(r.status, 201);
    testenv_response_free(&r);

    /* Nothing lost by the audit daemon's own drain and restart either: one creation entry for each
     * organisation records committed, acknowledged or not. */
    assert_int_equal(testenv_wait_audit_caught_up(env, 30000), 0);
    long committed =
        testenv_sql_long(env, "SELECT count(*) FROM records.organisations WHERE name LIKE 'Shutdown Test %'");
    assert_true(committed >= acknowledged + 1);
    assert_int_equal(testenv_sql_long(env, "SELECT count(DISTINCT record_id) FROM audit.entries"
                                           " WHERE action = 'create' AND record_kind = 'organisation'"
                                           " AND summary LIKE 'Added organisation Shutdown Test %'"),
                     committed);
    assert_int_equal(testenv_sql_long(env, "SELECT count(*) FROM audit.entries WHERE action = 'create'"
                                           " AND summary LIKE 'Added organisation Shutdown Test %'"),
                     committed);
    assert_int_equal(testenv_sql_long(env, "SELECT count(*) FROM audit.inbox_dead"), 0);

    for (int i = 0; i < WRITERS; i++) {
        free(writers[i].ids);
        free(writers[i].names);
    }
    free(reader);
    free(admin);
    free(auditor);
    /* testenv_stop sends SIGTERM to every daemon and fails unless each exits 0 in time. */
    testenv_stop(env);
}

/* Holds the audit trail's head row for 4 s, so that audit's next apply waits in the database. */
static void *hold_the_trail(void *arg)
{
    char out[256];
    testenv_psql(arg, NULL, "BEGIN; SELECT 1 FROM audit.chain_head FOR UPDATE; SELECT pg_sleep(4); COMMIT;",
                 out, sizeof(out));
    return NULL;
}

static void wait_for_one(testenv_t *e, const char *sql)
{
    for (int i = 0; i < 100; i++) {
        if (testenv_sql_long(e, sql) == 1)
            return;
        usleep(50 * 1000);
    }
    fail_msg("waited 5 s in vain for: %s", sql);
}

static void test_a_draining_consumer_finishes_its_batch_and_takes_no_new_events(void **state)
{
    (void)state;
    testenv_t *e = testenv_start();
    char *token = testenv_login(e, "admin");
    assert_int_equal(testenv_wait_audit_caught_up(e, 10000), 0);
    pthread_t holder;
    assert_int_equal(pthread_create(&holder, NULL, hold_the_trail, e), 0);
    wait_for_one(e, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(4)%'"
                    " AND pid <> pg_backend_pid()");

    /* One creation, which audit starts to apply and then waits on the held row. */
    testenv_response_t r =
        testenv_http(e, "POST", "/api/v1/organisations", token, "{\"name\":\"Drain Test 00\"}", NULL);
    assert_int_equal(r.status, 201);
    testenv_response_free(&r);
    wait_for_one(e, "SELECT count(*) FROM pg_stat_activity WHERE usename = 'tsr_audit'"
                    " AND wait_event_type = 'Lock'");
    long first = testenv_sql_long(e, "SELECT last_seq FROM records.relay_state");

    /* SIGTERM while that apply is in flight; more creations arrive during the drain. */
    testenv_kill(e, "audit", SIGTERM);
    for (int i = 1; i <= 20; i++) {
        char body[64];
        snprintf(body, sizeof(body), "{\"name\":\"Drain Test %02d\"}", i);
        r = testenv_http(e, "POST", "/api/v1/organisations", token, body, NULL);
        assert_int_equal(r.status, 201);
        testenv_response_free(&r);
    }
    pthread_join(holder, NULL);
    assert_int_equal(testenv_wait_exit(e, "audit", 15000), 0);
    /* It finished the batch it had and took nothing that came after. */
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT last_seq FROM audit.inbox WHERE producer = 'records'");
    assert_int_equal(testenv_sql_long(e, sql), first);
    /* The rest comes by replay once it is back: each creation once. */
    testenv_restart(e, "audit");
    assert_int_equal(testenv_wait_audit_caught_up(e, 15000), 0);
    assert_int_equal(testenv_sql_long(e, "SELECT count(DISTINCT record_id) FROM audit.entries WHERE action ="
                                         " 'create' AND summary LIKE 'Added organisation Drain Test %'"),
                     21);
    assert_int_equal(testenv_sql_long(e, "SELECT count(*) FROM audit.entries WHERE action = 'create'"
                                         " AND summary LIKE 'Added organisation Drain Test %'"),
                     21);
    free(token);
    testenv_stop(e);
}

static void *hold_the_organisations(void *arg)
{
    char out[256];
    testenv_psql(arg, NULL,
                 "BEGIN; LOCK TABLE records.organisations IN SHARE MODE; SELECT pg_sleep(12); COMMIT;", out,
                 sizeof(out));
    return NULL;
}

static void *add_the_held_organisation(void *arg)
{
    char *token = testenv_login(arg, "admin");
    testenv_response_t r = testenv_http(arg, "POST", "/api/v1/organisations", token,
                                        "{\"name\":\"Drain Timeout Nursery\"}", NULL);
    testenv_response_free(&r);
    free(token);
    return NULL;
}

/* A job that outlasts the drain (here, an addition waiting on a lock someone holds): when the time
 * is up the daemon stops at once with status 1, and the job's work is rolled back, not committed
 * later. The daemon went on running, the loop waiting for the job, until someone killed it. */
static void test_a_drain_that_runs_out_stops_the_daemon_at_once_and_its_work_is_rolled_back(void **state)
{
    (void)state;
    testenv_t *e = testenv_start();
    testenv_restart_with(e, "records", "TESSERA_TESSERA_DRAIN_TIMEOUT_MS", "1000");
    pthread_t holder, adder;
    assert_int_equal(pthread_create(&holder, NULL, hold_the_organisations, e), 0);
    wait_for_one(e, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(12)%'"
                    " AND pid <> pg_backend_pid()");
    assert_int_equal(pthread_create(&adder, NULL, add_the_held_organisation, e), 0);
    wait_for_one(e, "SELECT count(*) FROM pg_stat_activity WHERE usename = 'tsr_records'"
                    " AND wait_event_type = 'Lock'");

    testenv_kill(e, "records", SIGTERM);
    int status = testenv_wait_exit(e, "records", 5000);
    pthread_join(adder, NULL);
    pthread_join(holder, NULL);
    if (status != 1)
        fail_msg("tessera-records %s", status == -1 ? "still ran 5 s after its 1 s drain ran out"
                                                    : "exited with another status than 1");
    assert_true(testenv_log_has(e, "records", "drain timed out with"));
    assert_int_equal(testenv_sql_long(e, "SELECT count(*) FROM records.organisations"
                                         " WHERE name = 'Drain Timeout Nursery'"),
                     0);
    testenv_restart(e, "records");
    testenv_stop(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigterm_drains_in_flight_work_and_exits_zero),
        cmocka_unit_test(test_a_draining_consumer_finishes_its_batch_and_takes_no_new_events),
        cmocka_unit_test(test_a_drain_that_runs_out_stops_the_daemon_at_once_and_its_work_is_rolled_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
