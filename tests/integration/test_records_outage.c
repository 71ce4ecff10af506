/* Nothing lost, nothing twice: clients keep adding organisations, each with its own
 * Idempotency-Key and retried with the same key until acknowledged, while the records daemon is
 * killed and restarted under them. */
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tsr_testenv.h"

#define CLIENTS 4
#define MAX_PER_CLIENT 2000
#define MIN_PER_CLIENT 50
#define ATTEMPTS 600 /* about a minute of retries for one organisation */

static testenv_t *env;
static char *token;
static atomic_int stop_clients;

typedef struct {
    int client;
    char ids[MAX_PER_CLIENT][24]; /* the id each organisation was acknowledged with */
    int added;                    /* organisations 0 .. added-1 were acknowledged with 201 */
    int retries;
    int gave_up;       /* an organisation that ATTEMPTS tries did not add */
    int refused;       /* answers that were neither 201 nor worth a retry */
    char refusal[256]; /* the first of them */
} client_t;

static void organisation_name(char *out, size_t size, int client, int i)
{
    snprintf(out, size, "Records Outage C%d-%04d", client, i);
}

/* Adds organisation i, retrying with the same key on 503 and on a lost connection: 0 once
 * acknowledged. */
static int client_add(client_t *c, int i)
{
    char name[64], body[128], key[96];
    organisation_name(name, sizeof(name), c->client, i);
    snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
    snprintf(key, sizeof(key), "Idempotency-Key: records-outage-%d-%04d", c->client, i);
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        testenv_response_t r = testenv_http(env, "POST", "/api/v1/organisations", token, body, key);
        long status = r.status;
        if (status == 201) {
            const char *id = json_string_value(json_object_get(r.json, "id"));
            const char *got = json_string_value(json_object_get(r.json, "name"));
            if (id == NULL || got == NULL || strcmp(got, name) != 0) {
                snprintf(c->refusal, sizeof(c->refusal), "201 with a wrong body: %s", r.body);
                c->refused++;
                testenv_response_free(&r);
                return -1;
            }
            snprintf(c->ids[i], sizeof(c->ids[i]), "%s", id);
        } else if (status != 503 && status != 0 && c->refused++ == 0) {
            snprintf(c->refusal, sizeof(c->refusal), "%s: %ld %s", name, status, r.body ? r.body : "");
        }
        testenv_response_free(&r);
        if (status == 201)
            return 0;
        if (status != 503 && status != 0)
            return -1;
        c->retries++;
        usleep(100 * 1000);
    }
    c->gave_up++;
    return -1;
}

static void *client_run(void *arg)
{
    client_t *c = arg;
    /* Keeps adding until told to stop, so the kills land while requests are in flight. */
    for (int i = 0; i < MAX_PER_CLIENT && (i < MIN_PER_CLIENT || !atomic_load(&stop_clients)); i++) {
        if (client_add(c, i) != 0)
            break;
        c->added = i + 1;
    }
    return NULL;
}

static void test_every_acknowledged_organisation_exists_once_across_records_restarts(void **state)
{
    (void)state;
    env = testenv_start();
    token = testenv_login(env, "admin");
    pthread_t threads[CLIENTS];
    client_t *clients = calloc(CLIENTS, sizeof(client_t));
    assert_non_null(clients);
    for (int i = 0; i < CLIENTS; i++) {
        clients[i].client = i;
        assert_int_equal(pthread_create(&threads[i], NULL, client_run, &clients[i]), 0);
    }
    for (int round = 0; round < 2; round++) {
        usleep(400 * 1000);
        testenv_kill(env, "records", SIGKILL);
        usleep(300 * 1000);
        testenv_restart(env, "records");
    }
    usleep(400 * 1000);
    atomic_store(&stop_clients, 1);
    int added = 0, retries = 0, refused = 0, gave_up = 0;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(threads[i], NULL);
        added += clients[i].added;
        retries += clients[i].retries;
        refused += clients[i].refused;
        gave_up += clients[i].gave_up;
        if (clients[i].refused)
            fprintf(stderr, "client %d: %s\n", i, clients[i].refusal);
    }
    fprintf(stderr, "acknowledged %d, retried %d times, refused %d, gave up %d\n", added, retries, refused,
            gave_up);
    assert_int_equal(refused, 0);
    assert_int_equal(gave_up, 0);
    assert_true(added >= CLIENTS * MIN_PER_CLIENT);
    /* The outages must have been felt, or this test showed nothing. */
    assert_true(retries > 0);

    /* Every acknowledged organisation is there, under the id and the name the client was given. */
    for (int c = 0; c < CLIENTS; c++) {
        for (int i = 0; i < clients[c].added; i++) {
            char path[96], name[64];
            snprintf(path, sizeof(path), "/api/v1/organisations/%s", clients[c].ids[i]);
            organisation_name(name, sizeof(name), c, i);
            testenv_response_t r = testenv_http(env, "GET", path, token, NULL, NULL);
            if (r.status != 200)
                fail_msg("%s (acknowledged as %s): %ld %s", name, clients[c].ids[i], r.status, r.body);
            assert_string_equal(json_string_value(json_object_get(r.json, "name")), name);
            testenv_response_free(&r);
        }
    }
    /* Each name once: no retry added a second organisation, and nothing unacknowledged was added
     * beyond the one organisation a client was retrying when told to stop (it retries to the end). */
    char out[4096];
    assert_int_equal(testenv_psql(env, NULL,
                                  "SELECT name, count(*) FROM records.organisations"
                                  " WHERE name LIKE 'Records Outage C%' GROUP BY name HAVING count(*) > 1",
                                  out, sizeof(out)),
                     0);
    assert_string_equal(out, "");
    assert_int_equal(testenv_sql_long(env, "SELECT count(*) FROM records.organisations"
                                           " WHERE name LIKE 'Records Outage C%'"),
                     added);
    /* And no organisation without its acknowledgement's idempotency record. */
    assert_int_equal(testenv_sql_long(env, "SELECT count(*) FROM records.idempotency"
                                           " WHERE key LIKE 'records-outage-%'"),
                     added);

    /* The audit trail catches up with exactly one creation each. */
    assert_int_equal(testenv_wait_audit_caught_up(env, 30000), 0);
    assert_int_equal(testenv_sql_long(env, "SELECT count(*) FROM audit.entries WHERE action = 'create'"
                                           " AND summary LIKE 'Added organisation Records Outage C%'"),
                     added);
    assert_int_equal(
        testenv_sql_long(env, "SELECT count(DISTINCT record_id) FROM audit.entries WHERE action = 'create'"
                              " AND record_kind = 'organisation'"
                              " AND record_id IN (SELECT id FROM records.organisations"
                              "                    WHERE name LIKE 'Records Outage C%')"),
        added);
    assert_int_equal(testenv_sql_long(env, "SELECT count(*) FROM audit.inbox_dead"), 0);
    free(clients);
    free(token);
    testenv_stop(env);
}

/* Reads that reach every daemon's database: records, workflow, accounts, notifications, cpis. */
static const char *const restart_paths[] = {"/api/v1/organisations?q=outage", "/api/v1/workview",
                                            "/api/v1/workers?limit=5", "/api/v1/notices",
                                            "/api/v1/cpis/errors"};
#define RESTART_PATHS (sizeof(restart_paths) / sizeof(restart_paths[0]))
#define RESTART_THREADS 4
#define RESTART_ROUNDS 6

static atomic_int restart_failures;
static char restart_failure[512];

static void *restart_reader(void *arg)
{
    (void)arg;
    for (int round = 0; round < RESTART_ROUNDS; round++) {
        for (size_t i = 0; i < RESTART_PATHS; i++) {
            testenv_response_t r = testenv_http(env, "GET", restart_paths[i], token, NULL, NULL);
            if (r.status != 200 && atomic_fetch_add(&restart_failures, 1) == 0)
                snprintf(restart_failure, sizeof(restart_failure), "GET %s: %ld %s", restart_paths[i],
                         r.status, r.body ? r.body : "");
            testenv_response_free(&r);
        }
    }
    return NULL;
}

/* Several readers at once, so that each daemon's pool has more than one connection open. */
static int restart_read_in_parallel(void)
{
    atomic_store(&restart_failures, 0);
    pthread_t threads[RESTART_THREADS];
    for (int i = 0; i < RESTART_THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, restart_reader, NULL), 0);
    for (int i = 0; i < RESTART_THREADS; i++)
        pthread_join(threads[i], NULL);
    return atomic_load(&restart_failures);
}

/* PostgreSQL restarted under running daemons (maintenance, a fail-over): once it is back, the calls
 * are served. Each daemon's idle pooled connections were closed at the server's end, and each was
 * used for one more call that failed with 503 'The database connection was lost', though the
 * database was up; a CP-IS part refused so waited for the spine poller's next run. */
static void test_calls_are_served_at_once_after_postgresql_restarts(void **state)
{
    (void)state;
    env = testenv_start();
    token = testenv_login(env, "admin");
    if (restart_read_in_parallel() != 0)
        fail_msg("before the restart: %s", restart_failure);
    char cmd[700];
    snprintf(
        cmd, sizeof(cmd),
        "%s/scripts/instance.sh stop %s > /dev/null 2>&1 && %s/scripts/instance.sh start %s > /dev/null 2>&1",
        TSR_SOURCE_DIR, env->dir, TSR_SOURCE_DIR, env->dir);
    int rc = system(cmd);
    assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
    int failures = restart_read_in_parallel();
    if (failures != 0)
        fail_msg("%d of %d calls after the restart failed, the first: %s", failures,
                 (int)(RESTART_THREADS * RESTART_ROUNDS * RESTART_PATHS), restart_failure);
    free(token);
    testenv_stop(env);
}

/* PostgreSQL down: every call tried to connect, and each failure was a warning of its own, a
 * thousand lines a minute and none at error, so log-based alerting never heard of the outage. Now
 * the first failure is an error, later ones are told at most every 30 s, and the return is told. */
static void test_a_database_outage_is_logged_once_at_error_and_its_end_told(void **state)
{
    (void)state;
    env = testenv_start();
    token = testenv_login(env, "admin");
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "%s/scripts/instance.sh stop %s > /dev/null 2>&1", TSR_SOURCE_DIR, env->dir);
    int rc = system(cmd);
    assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
    for (int i = 0; i < 30; i++) {
        testenv_response_t r = testenv_http(env, "GET", "/api/v1/organisations?q=Hampden", token, NULL, NULL);
        assert_int_equal(r.status, 503);
        testenv_response_free(&r);
    }
    assert_int_equal(
        testenv_log_count(env, "records", "the records database cannot be reached", "\"level\":\"error\""),
        1);
    assert_int_equal(testenv_log_count(env, "records", "database cannot be reached", "\"level\":\"warn\""),
                     0);
    assert_int_equal(testenv_log_count(env, "records", "the records database still cannot be reached", NULL),
                     0);
    snprintf(cmd, sizeof(cmd), "%s/scripts/instance.sh start %s > /dev/null 2>&1", TSR_SOURCE_DIR, env->dir);
    rc = system(cmd);
    assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
    testenv_response_t r = testenv_http(env, "GET", "/api/v1/organisations?q=Hampden", token, NULL, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    assert_int_equal(
        testenv_log_count(env, "records", "the records database answers again", "connections failed"), 1);
    free(token);
    testenv_stop(env);
}

static long elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

/* A daemon that is down: a call that needs it fails within the connect grace (a second), naming it,
 * and a batch job fails as soon. A call from one daemon to another waited for the whole deadline,
 * holding its thread (so an unrelated workview waited behind it), and the 503 blamed the daemon
 * called first ('The workflow service did not answer in time') though records was the one down;
 * `tessera report` waited five minutes for a stopped reporting daemon. */
static void test_a_call_needing_a_daemon_that_is_down_fails_at_once_naming_it(void **state)
{
    (void)state;
    env = testenv_start();
    char *admin = testenv_login(env, "mash.admin");
    testenv_response_t r =
        testenv_http(env, "GET", "/api/v1/organisations?q=Consultation", admin, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_true(json_array_size(json_object_get(r.json, "items")) > 0);
    char org[32], body[256];
    snprintf(org, sizeof(org), "%s",
             json_string_value(json_object_get(json_array_get(json_object_get(r.json, "items"), 0), "id")));
    testenv_response_free(&r);
    snprintf(
        body, sizeof(body),
        "{\"type\":\"front-door-consultation\",\"variant\":\"CSSW\",\"subject\":{\"kind\":\"organisation\","
        "\"id\":\"%s\"}}",
        org);
    r = testenv_http(env, "POST", "/api/v1/steps", admin, body, NULL);
    assert_int_equal(r.status, 201); /* the workflow daemon's connection to records is up */
    testenv_response_free(&r);

    testenv_kill(env, "records", SIGKILL);
    for (int i = 0; i < 3; i++) {
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        r = testenv_http(env, "POST", "/api/v1/steps", admin, body, NULL);
        long ms = elapsed_ms(&t0);
        testenv_assert_error(&r, 503, "service_unavailable");
        if (strstr(r.body, "records") == NULL || strstr(r.body, "ipc://") != NULL)
            fail_msg("the 503 does not name the records service, or shows its endpoint: %s", r.body);
        testenv_response_free(&r);
        if (ms > 3000)
            fail_msg("the call waited %ld ms for a daemon that is down", ms);
    }
    testenv_restart(env, "records"); /* it waits for every daemon: reporting is stopped after */
    char cmd[700], out[2048] = "";
    snprintf(cmd, sizeof(cmd),
             "%s/tessera --config %s report consultations-in-period --start 2026-01-01 --end 2026-01-31 "
             "--format csv 2>&1",
             TSR_BIN_DIR, env->config);
    testenv_kill(env, "reporting", SIGKILL);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    long ms = elapsed_ms(&t0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    if (strstr(out, "reporting service is not reachable") == NULL)
        fail_msg("tessera report against a stopped reporting daemon said: %s", out);
    if (ms > 5000)
        fail_msg("tessera report waited %ld ms for a daemon that is down", ms);

    testenv_restart(env, "reporting");
    r = testenv_http(env, "POST", "/api/v1/steps", admin, body, NULL);
    assert_int_equal(r.status, 201);
    testenv_response_free(&r);
    free(admin);
    testenv_stop(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_acknowledged_organisation_exists_once_across_records_restarts),
        cmocka_unit_test(test_calls_are_served_at_once_after_postgresql_restarts),
        cmocka_unit_test(test_a_database_outage_is_logged_once_at_error_and_its_end_told),
        cmocka_unit_test(test_a_call_needing_a_daemon_that_is_down_fails_at_once_naming_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
