/* SIGTERM drains: a daemon stopped while requests are in flight finishes them and exits 0, and
 * every request that was acknowledged is committed. */
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
#define MAX_PER_CLIENT 2000

static testenv_t *env;
static char *token;
static volatile int stop_clients;

typedef struct {
    int client;
    int acknowledged;
    int unavailable;
    int other;
} client_t;

static void *client_run(void *arg)
{
    client_t *c = arg;
    for (int i = 0; i < MAX_PER_CLIENT && !stop_clients; i++) {
        char body[128];
        snprintf(body, sizeof(body), "{\"name\":\"Shutdown Test C%d-%04d\"}", c->client, i);
        testenv_response_t r = testenv_http(env, "POST", "/api/v1/organisations", token, body, NULL);
        if (r.status == 201)
            c->acknowledged++;
        else if (r.status == 503 || r.status == 0)
            c->unavailable++;
        else
            c->other++;
        testenv_response_free(&r);
    }
    return NULL;
}

static void test_sigterm_drains_in_flight_work_and_exits_zero(void **state)
{
    (void)state;
    env = testenv_start();
    token = testenv_login(env, "admin");
    pthread_t threads[CLIENTS];
    client_t clients[CLIENTS];
    memset(clients, 0, sizeof(clients));
    for (int i = 0; i < CLIENTS; i++) {
        clients[i].client = i;
        pthread_create(&threads[i], NULL, client_run, &clients[i]);
    }
    usleep(400 * 1000);
    /* The records daemon first: requests in its hands finish and are answered. */
    testenv_kill(env, "records", SIGTERM);
    assert_int_equal(testenv_wait_exit(env, "records", 15000), 0);
    testenv_restart(env, "records");
    usleep(300 * 1000);
    stop_clients = 1;
    int acknowledged = 0, other = 0;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(threads[i], NULL);
        acknowledged += clients[i].acknowledged;
        other += clients[i].other;
    }
    fprintf(stderr, "acknowledged %d\n", acknowledged);
    assert_int_equal(other, 0);
    assert_true(acknowledged > 0);
    /* Every 201 is committed (a request refused with 503 may or may not have been). */
    assert_true(testenv_sql_long(
                    env, "SELECT count(*) FROM records.organisations WHERE name LIKE 'Shutdown Test C%'") >=
                acknowledged);
    free(token);
    /* testenv_stop sends SIGTERM to every daemon and fails unless each exits 0 in time. */
    testenv_stop(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigterm_drains_in_flight_work_and_exits_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
