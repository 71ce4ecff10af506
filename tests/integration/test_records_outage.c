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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tsr_testenv.h"

#define CLIENTS 4
#define MAX_PER_CLIENT 5000

static testenv_t *env;
static char *token;
static volatile int stop_clients;

typedef struct {
    int client;
    char ids[MAX_PER_CLIENT][24];
    int acknowledged;
    int retries;
    int refused; /* answers that were neither 201 nor worth a retry */
} client_t;

static void *client_run(void *arg)
{
    client_t *c = arg;
    /* Keeps adding until told to stop, so the kills land while requests are in flight. */
    for (int i = 0; i < MAX_PER_CLIENT && !stop_clients; i++) {
        char body[128], key[96];
        snprintf(body, sizeof(body), "{\"name\":\"Records Outage C%d-%03d\"}", c->client, i);
        snprintf(key, sizeof(key), "Idempotency-Key: records-outage-%d-%03d", c->client, i);
        for (int attempt = 0; attempt < 400; attempt++) {
            testenv_response_t r = testenv_http(env, "POST", "/api/v1/organisations", token, body, key);
            long status = r.status;
            if (status == 201)
                snprintf(c->ids[i], sizeof(c->ids[i]), "%s",
                         json_string_value(json_object_get(r.json, "id")));
            testenv_response_free(&r);
            if (status == 201) {
                c->acknowledged++;
                break;
            }
            if (status != 503 && status != 0) {
                c->refused++;
                break;
            }
            c->retries++;
            usleep(50 * 1000);
        }
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
    for (int i = 0; i < CLIENTS; i++) {
        clients[i].client = i;
        pthread_create(&threads[i], NULL, client_run, &clients[i]);
    }
    for (int round = 0; round < 2; round++) {
        usleep(300 * 1000);
        testenv_kill(env, "records", SIGKILL);
        usleep(300 * 1000);
        testenv_restart(env, "records");
    }
    usleep(300 * 1000);
    stop_clients = 1;
    int acknowledged = 0, retries = 0, refused = 0;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(threads[i], NULL);
        acknowledged += clients[i].acknowledged;
        retries += clients[i].retries;
        refused += clients[i].refused;
    }
    fprintf(stderr, "acknowledged %d, retried %d times, refused %d\n", acknowledged, retries, refused);
    assert_int_equal(refused, 0);
    /* The outages must have been felt, or this test showed nothing. */
    assert_true(retries > 0);

    /* Every acknowledged organisation is there, under the id the client was given. */
    for (int c = 0; c < CLIENTS; c++) {
        /* Keeps adding until told to stop, so the kills land while requests are in flight. */
        for (int i = 0; i < MAX_PER_CLIENT && !stop_clients; i++) {
            char path[96], name[64];
            snprintf(path, sizeof(path), "/api/v1/organisations/%s", clients[c].ids[i]);
            snprintf(name, sizeof(name), "Records Outage C%d-%03d", c, i);
            testenv_response_t r = testenv_http(env, "GET", path, token, NULL, NULL);
            assert_int_equal(r.status, 200);
            assert_string_equal(json_string_value(json_object_get(r.json, "name")), name);
            testenv_response_free(&r);
        }
    }
    /* And nothing exists twice for one key. */
    assert_int_equal(testenv_sql_long(env, "SELECT count(*) FROM records.organisations"
                                           " WHERE name LIKE 'Records Outage C%'"),
                     acknowledged);
    assert_int_equal(testenv_sql_long(env, "SELECT count(*) FROM (SELECT name FROM records.organisations"
                                           " WHERE name LIKE 'Records Outage C%' GROUP BY name"
                                           " HAVING count(*) > 1) AS twice"),
                     0);
    /* The audit trail catches up with exactly one creation each. */
    long audited = 0;
    for (int i = 0; i < 300 && audited < acknowledged; i++) {
        audited = testenv_sql_long(env, "SELECT count(*) FROM audit.entries WHERE action = 'create'"
                                        " AND summary LIKE 'Added organisation Records Outage C%'");
        usleep(100 * 1000);
    }
    assert_int_equal(audited, acknowledged);
    assert_int_equal(
        testenv_sql_long(env, "SELECT count(DISTINCT record_id) FROM audit.entries WHERE action = 'create'"
                              " AND summary LIKE 'Added organisation Records Outage C%'"),
        acknowledged);
    free(clients);
    free(token);
    testenv_stop(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_acknowledged_organisation_exists_once_across_records_restarts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
