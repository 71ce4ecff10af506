/* tsr_zwatch: ZeroMQ on libuv with no stalled messages. ZMQ_FD is edge-triggered, so a burst that
 * arrives at once, messages queued before the watch began, and sends made from inside a receive
 * callback (which consume the edge) are the cases that stall a naive integration. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "tsr_zwatch.h"

typedef struct {
    uv_loop_t loop;
    void *ctx;
    tsr_zwatch_t watch;
    tsr_zwatch_t watch2;
    uv_timer_t watchdog;
    long received;
    long expected;
    int timed_out;
    int closed;
} fixture_t;

static void on_watchdog(uv_timer_t *t)
{
    fixture_t *f = t->data;
    f->timed_out = 1;
    uv_stop(&f->loop);
}

static void fixture_init(fixture_t *f, long expected)
{
    memset(f, 0, sizeof(*f));
    uv_loop_init(&f->loop);
    f->ctx = zmq_ctx_new();
    f->expected = expected;
    uv_timer_init(&f->loop, &f->watchdog);
    f->watchdog.data = f;
    uv_timer_start(&f->watchdog, on_watchdog, 10000, 0);
    uv_unref((uv_handle_t *)&f->watchdog);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void fixture_done(fixture_t *f)
{
    uv_walk(&f->loop, close_walk, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

static int drain_count(tsr_zwatch_t *w, int budget)
{
    fixture_t *f = w->data;
    int n = 0;
    char buf[64];
    while (n < budget && zmq_recv(w->socket, buf, sizeof(buf), ZMQ_DONTWAIT) >= 0)
        n++;
    f->received += n;
    if (f->received >= f->expected)
        uv_stop(&f->loop);
    return n;
}

typedef struct {
    void *ctx;
    const char *endpoint;
    long count;
} sender_t;

static void *send_burst(void *arg)
{
    sender_t *s = arg;
    void *push = zmq_socket(s->ctx, ZMQ_PUSH);
    int hwm = 0; /* no high-water mark: the whole burst queues up at once */
    zmq_setsockopt(push, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_connect(push, s->endpoint);
    for (long i = 0; i < s->count; i++)
        zmq_send(push, "message", 7, 0);
    int linger = 5000;
    zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_close(push);
    return NULL;
}

static void test_a_burst_of_200000_messages_arrives_without_stalling(void **state)
{
    (void)state;
    fixture_t f;
    fixture_init(&f, 200000);
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "ipc:///tmp/tsr-zwatch-%d", getpid());
    void *pull = zmq_socket(f.ctx, ZMQ_PULL);
    int hwm = 0;
    zmq_setsockopt(pull, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    assert_int_equal(zmq_bind(pull, endpoint), 0);
    f.watch.data = &f;
    assert_int_equal(tsr_zwatch_init(&f.loop, &f.watch, pull, drain_count), 0);
    sender_t s = {f.ctx, endpoint, 200000};
    pthread_t t;
    pthread_create(&t, NULL, send_burst, &s);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    pthread_join(t, NULL);
    assert_false(f.timed_out);
    assert_int_equal(f.received, 200000);
    tsr_zwatch_close(&f.watch, NULL);
    fixture_done(&f);
    zmq_close(pull);
    zmq_ctx_term(f.ctx);
}

static void test_messages_queued_before_the_watch_began_are_delivered(void **state)
{
    (void)state;
    fixture_t f;
    fixture_init(&f, 1000);
    void *a = zmq_socket(f.ctx, ZMQ_PAIR), *b = zmq_socket(f.ctx, ZMQ_PAIR);
    zmq_bind(a, "inproc://queued");
    zmq_connect(b, "inproc://queued");
    for (int i = 0; i < 1000; i++)
        zmq_send(b, "early", 5, 0);
    /* The edge for these fired before anyone watched: only reading ZMQ_EVENTS finds them. */
    f.watch.data = &f;
    tsr_zwatch_init(&f.loop, &f.watch, a, drain_count);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_false(f.timed_out);
    assert_int_equal(f.received, 1000);
    tsr_zwatch_close(&f.watch, NULL);
    fixture_done(&f);
    zmq_close(a);
    zmq_close(b);
    zmq_ctx_term(f.ctx);
}

static void test_a_budget_of_one_still_drains_everything(void **state)
{
    (void)state;
    fixture_t f;
    fixture_init(&f, 20000);
    void *a = zmq_socket(f.ctx, ZMQ_PAIR), *b = zmq_socket(f.ctx, ZMQ_PAIR);
    int unlimited = 0; /* queue all 20000 before the loop runs */
    zmq_setsockopt(a, ZMQ_RCVHWM, &unlimited, sizeof(unlimited));
    zmq_setsockopt(b, ZMQ_SNDHWM, &unlimited, sizeof(unlimited));
    zmq_bind(a, "inproc://budget");
    zmq_connect(b, "inproc://budget");
    for (int i = 0; i < 20000; i++)
        zmq_send(b, "x", 1, 0);
    f.watch.data = &f;
    f.watch.budget = 1;
    tsr_zwatch_init(&f.loop, &f.watch, a, drain_count);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_false(f.timed_out);
    assert_int_equal(f.received, 20000);
    tsr_zwatch_close(&f.watch, NULL);
    fixture_done(&f);
    zmq_close(a);
    zmq_close(b);
    zmq_ctx_term(f.ctx);
}

/* ROUTER and DEALER on one loop, each answering from inside its own receive callback. */
static int router_echo(tsr_zwatch_t *w, int budget)
{
    int n = 0;
    while (n < budget) {
        char id[256], empty[8], body[64];
        int idlen = zmq_recv(w->socket, id, sizeof(id), ZMQ_DONTWAIT);
        if (idlen < 0)
            break;
        zmq_recv(w->socket, empty, sizeof(empty), 0);
        int len = zmq_recv(w->socket, body, sizeof(body), 0);
        zmq_send(w->socket, id, (size_t)idlen, ZMQ_SNDMORE);
        zmq_send(w->socket, "", 0, ZMQ_SNDMORE);
        zmq_send(w->socket, body, (size_t)len, 0);
        n++;
    }
    return n;
}

static int dealer_ping(tsr_zwatch_t *w, int budget)
{
    fixture_t *f = w->data;
    int n = 0;
    while (n < budget) {
        char empty[8], body[64];
        if (zmq_recv(w->socket, empty, sizeof(empty), ZMQ_DONTWAIT) < 0)
            break;
        zmq_recv(w->socket, body, sizeof(body), 0);
        n++;
        if (++f->received >= f->expected) {
            uv_stop(&f->loop);
            break;
        }
        zmq_send(w->socket, "", 0, ZMQ_SNDMORE);
        zmq_send(w->socket, "ping", 4, 0);
    }
    return n;
}

static void test_20000_round_trips_on_one_loop_complete(void **state)
{
    (void)state;
    fixture_t f;
    fixture_init(&f, 20000);
    void *router = zmq_socket(f.ctx, ZMQ_ROUTER), *dealer = zmq_socket(f.ctx, ZMQ_DEALER);
    zmq_bind(router, "inproc://pingpong");
    zmq_connect(dealer, "inproc://pingpong");
    f.watch.data = &f;
    f.watch2.data = &f;
    tsr_zwatch_init(&f.loop, &f.watch, router, router_echo);
    tsr_zwatch_init(&f.loop, &f.watch2, dealer, dealer_ping);
    zmq_send(dealer, "", 0, ZMQ_SNDMORE);
    zmq_send(dealer, "ping", 4, 0);
    tsr_zwatch_kick(&f.watch2);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_false(f.timed_out);
    assert_int_equal(f.received, 20000);
    tsr_zwatch_close(&f.watch, NULL);
    tsr_zwatch_close(&f.watch2, NULL);
    fixture_done(&f);
    zmq_close(router);
    zmq_close(dealer);
    zmq_ctx_term(f.ctx);
}

static void on_closed(tsr_zwatch_t *w)
{
    ((fixture_t *)w->data)->closed++;
}

static void test_close_calls_back_once_and_the_loop_ends(void **state)
{
    (void)state;
    fixture_t f;
    fixture_init(&f, 1);
    void *pull = zmq_socket(f.ctx, ZMQ_PULL);
    zmq_bind(pull, "inproc://closing");
    f.watch.data = &f;
    tsr_zwatch_init(&f.loop, &f.watch, pull, drain_count);
    tsr_zwatch_close(&f.watch, on_closed);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_int_equal(f.closed, 1);
    assert_false(f.timed_out);
    fixture_done(&f);
    zmq_close(pull);
    zmq_ctx_term(f.ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_burst_of_200000_messages_arrives_without_stalling),
        cmocka_unit_test(test_messages_queued_before_the_watch_began_are_delivered),
        cmocka_unit_test(test_a_budget_of_one_still_drains_everything),
        cmocka_unit_test(test_20000_round_trips_on_one_loop_complete),
        cmocka_unit_test(test_close_calls_back_once_and_the_loop_ends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
