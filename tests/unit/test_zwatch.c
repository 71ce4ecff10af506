/* tsr_zwatch: ZeroMQ on libuv with no stalled messages. ZMQ_FD is edge-triggered, so a burst that
 * arrives at once, messages queued before the watch began, and sends made from inside a receive
 * callback (which consume the edge) are the cases that stall a naive integration. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
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
    long sent;
    uv_timer_t sender;
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
    unlink(endpoint + strlen("ipc://"));
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
    /* Looking at the socket (as a send on it would) takes the edge for these before anyone
     * watches: only reading ZMQ_EVENTS at the start finds them. */
    int events = 0;
    size_t events_len = sizeof(events);
    zmq_getsockopt(a, ZMQ_EVENTS, &events, &events_len);
    assert_true(events & ZMQ_POLLIN);
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

/* Requests sent from a timer, outside any receive callback, to a peer on another thread, with a
 * window of them in flight: a send can consume the edge of replies that arrived meanwhile, and
 * nothing else on the loop would wake it. Only tsr_zwatch_kick makes the loop look again before it
 * blocks. */
#define WINDOW 64

typedef struct {
    void *router;
    atomic_int stop;
} echo_thread_t;

static void *echo_server(void *arg)
{
    echo_thread_t *e = arg;
    while (!atomic_load(&e->stop)) {
        zmq_pollitem_t item = {e->router, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 50) <= 0)
            continue;
        char id[256], empty[8], body[64];
        int idlen = zmq_recv(e->router, id, sizeof(id), 0);
        zmq_recv(e->router, empty, sizeof(empty), 0);
        int len = zmq_recv(e->router, body, sizeof(body), 0);
        zmq_send(e->router, id, (size_t)idlen, ZMQ_SNDMORE);
        zmq_send(e->router, "", 0, ZMQ_SNDMORE);
        zmq_send(e->router, body, (size_t)len, 0);
    }
    return NULL;
}

static void send_window(uv_timer_t *t)
{
    fixture_t *f = t->data;
    while (f->sent - f->received < WINDOW && f->sent < f->expected) {
        zmq_send(f->watch.socket, "", 0, ZMQ_SNDMORE);
        zmq_send(f->watch.socket, "ping", 4, 0);
        f->sent++;
    }
    tsr_zwatch_kick(&f->watch);
}

static int dealer_count(tsr_zwatch_t *w, int budget)
{
    fixture_t *f = w->data;
    int n = 0;
    while (n < budget) {
        char empty[8], body[64];
        if (zmq_recv(w->socket, empty, sizeof(empty), ZMQ_DONTWAIT) < 0)
            break;
        zmq_recv(w->socket, body, sizeof(body), 0);
        n++;
        f->received++;
    }
    if (f->received >= f->expected)
        uv_stop(&f->loop);
    else if (!uv_is_active((uv_handle_t *)&f->sender))
        uv_timer_start(&f->sender, send_window, 0, 0);
    return n;
}

static void test_sends_from_outside_the_callback_with_a_kick_never_stall(void **state)
{
    (void)state;
    fixture_t f;
    fixture_init(&f, 20000);
    echo_thread_t echo = {zmq_socket(f.ctx, ZMQ_ROUTER), 0};
    void *dealer = zmq_socket(f.ctx, ZMQ_DEALER);
    assert_int_equal(zmq_bind(echo.router, "inproc://window"), 0);
    assert_int_equal(zmq_connect(dealer, "inproc://window"), 0);
    pthread_t t;
    pthread_create(&t, NULL, echo_server, &echo);
    f.watch.data = &f;
    assert_int_equal(tsr_zwatch_init(&f.loop, &f.watch, dealer, dealer_count), 0);
    uv_timer_init(&f.loop, &f.sender);
    f.sender.data = &f;
    uv_timer_start(&f.sender, send_window, 0, 0);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    atomic_store(&echo.stop, 1);
    pthread_join(t, NULL);
    assert_false(f.timed_out);
    assert_int_equal(f.received, 20000);
    assert_int_equal(f.sent, 20000);
    tsr_zwatch_close(&f.watch, NULL);
    fixture_done(&f);
    zmq_close(echo.router);
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

static int take_ten_then_close(tsr_zwatch_t *w, int budget)
{
    fixture_t *f = w->data;
    int n = drain_count(w, budget < 10 ? budget : 10);
    if (f->received >= 10)
        tsr_zwatch_close(w, on_closed);
    return n;
}

static void test_close_from_inside_the_callback_stops_delivery(void **state)
{
    (void)state;
    fixture_t f;
    fixture_init(&f, 1000000); /* never reached: the loop must end because the watch closed */
    void *a = zmq_socket(f.ctx, ZMQ_PAIR), *b = zmq_socket(f.ctx, ZMQ_PAIR);
    zmq_bind(a, "inproc://close-inside");
    zmq_connect(b, "inproc://close-inside");
    for (int i = 0; i < 100; i++)
        zmq_send(b, "x", 1, 0);
    f.watch.data = &f;
    tsr_zwatch_init(&f.loop, &f.watch, a, take_ten_then_close);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_false(f.timed_out);
    assert_int_equal(f.received, 10);
    assert_int_equal(f.closed, 1);
    /* The socket stays the caller's, with the rest still queued on it. */
    char buf[4];
    assert_int_equal(zmq_recv(a, buf, sizeof(buf), ZMQ_DONTWAIT), 1);
    fixture_done(&f);
    zmq_close(a);
    zmq_close(b);
    zmq_ctx_term(f.ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_burst_of_200000_messages_arrives_without_stalling),
        cmocka_unit_test(test_messages_queued_before_the_watch_began_are_delivered),
        cmocka_unit_test(test_a_budget_of_one_still_drains_everything),
        cmocka_unit_test(test_20000_round_trips_on_one_loop_complete),
        cmocka_unit_test(test_sends_from_outside_the_callback_with_a_kick_never_stall),
        cmocka_unit_test(test_close_calls_back_once_and_the_loop_ends),
        cmocka_unit_test(test_close_from_inside_the_callback_stops_delivery),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
