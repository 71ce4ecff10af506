/* The gateway's drain is bounded by its drain time even when a daemon it is waiting on never
 * answers (hung, or its host cut off): SIGTERM still ends in exit 0 within the drain time, and the
 * caller waiting on the silent daemon gets an answer (503), not a dropped connection. And a caller
 * that leaves before its answer (an HTTP/2 stream given up) leaves the gateway serving the others. */
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
#include <time.h>
#include <unistd.h>

#include "tsr_testenv.h"

#define DRAIN_MS 10000 /* tessera.drain_timeout_ms's default */

static void *sign_in(void *arg)
{
    testenv_response_t *r = arg;
    *r = testenv_http(testenv, "POST", "/api/v1/session", NULL,
                      "{\"username\":\"mash.admin\",\"password\":\"tessera-demo\"}", NULL);
    return NULL;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void test_sigterm_ends_the_gateway_in_its_drain_time_while_accounts_is_silent(void **state)
{
    (void)state;
    testenv_t *env = testenv;
    /* accounts stops answering, but its socket stays open: requests reach it and wait. */
    testenv_kill(env, "accounts", SIGSTOP);
    testenv_response_t r;
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, sign_in, &r), 0);
    usleep(500 * 1000);

    long started = now_ms();
    testenv_kill(env, "gateway", SIGTERM);
    int rc = testenv_wait_exit(env, "gateway", 15000);
    long took = now_ms() - started;
    pthread_join(thread, NULL);
    testenv_kill(env, "accounts", SIGCONT);
    fprintf(stderr, "gateway exit %d after %ld ms; the waiting sign-in got %ld %s\n", rc, took, r.status,
            r.body ? r.body : "");
    assert_int_equal(rc, 0);
    assert_true(took < DRAIN_MS + 1000);
    testenv_assert_error(&r, 503, "shutting_down");
    testenv_response_free(&r);
    testenv_restart(env, "gateway");
}

/* An HTTP/2 client (h2c, upgraded from HTTP/1 as curl does) that gives up while the gateway waits on
 * a daemon: h2o frees the request at once, and the answer that comes later must touch nothing of it.
 * It once wrote into the request's freed memory (the sanitizer build's log shows it; testenv_stop
 * fails on that), and a busy gateway could crash on it. */
static void test_a_client_that_leaves_before_its_answer_leaves_the_gateway_serving(void **state)
{
    (void)state;
    testenv_t *env = testenv;
    char url[256];
    pthread_mutex_lock(&env->lock);
    snprintf(url, sizeof(url), "%s/api/v1/workview", env->base_url);
    pthread_mutex_unlock(&env->lock);
    char *token = testenv_login(env, "mash.admin");
    /* workflow is silent: the workview waits on it. */
    testenv_kill(env, "workflow", SIGSTOP);
    char cmd[900];
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof(cmd),
                 "curl -s -o /dev/null --http2 --max-time 1 -H 'Authorization: Bearer %s' '%s'", token, url);
        assert_int_not_equal(system(cmd), 0); /* curl gave up: the gateway had not answered */
    }
    /* workflow answers now; the gateway's answers find their requests gone. */
    testenv_kill(env, "workflow", SIGCONT);
    testenv_wait_ready(env);
    testenv_response_t r = testenv_http(env, "GET", "/api/v1/workview", token, NULL, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    free(token);
    assert_int_equal(testenv_wait_exit(env, "gateway", 0), -1); /* still running */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_client_that_leaves_before_its_answer_leaves_the_gateway_serving),
        cmocka_unit_test(test_sigterm_ends_the_gateway_in_its_drain_time_while_accounts_is_silent),
    };
    /* The group teardown stops the suite even when the test fails. */
    return cmocka_run_group_tests(tests, testenv_group_setup, testenv_group_teardown);
}
