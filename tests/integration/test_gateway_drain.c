/* The gateway's drain is bounded by its drain time even when a daemon it is waiting on never
 * answers (hung, or its host cut off): SIGTERM still ends in exit 0 within the drain time, and the
 * caller waiting on the silent daemon gets an answer (503), not a dropped connection. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigterm_ends_the_gateway_in_its_drain_time_while_accounts_is_silent),
    };
    /* The group teardown stops the suite even when the test fails. */
    return cmocka_run_group_tests(tests, testenv_group_setup, testenv_group_teardown);
}
