/* tsr_client: calls matched to replies by id, deadlines that complete a call with 503, a peer that
 * is not there failing at once, and errors carried whole from the daemon to the caller. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "tsr_client.h"
#include "tsr_envelope.h"
#include "tsr_zwatch.h"

#define HELD_MAX 16

typedef struct {
    uv_loop_t loop;
    void *ctx;
    void *router;
    tsr_zwatch_t watch;
    tsr_client_t *client;
    /* Requests the fake daemon holds before answering, in the order they came. */
    zmq_msg_t held_id[HELD_MAX];
    Tsr__Envelope *held[HELD_MAX];
    int n_held;
    Tsr__Envelope *seen; /* the last request that came, as the daemon saw it */
    int hold_until;      /* answer once this many are held, in reverse order */
    int answer_with_error;
    int silent;
    /* What the callbacks saw. */
    int done;
    char order[64];
    tsr_error_t last_err;
    int last_had_reply;
} fixture_t;

static fixture_t f;

static void server_answer(int index)
{
    Tsr__Envelope reply = TSR__ENVELOPE__INIT;
    tsr_envelope_error_t error;
    tsr_error_t err; /* the reply's error points into it until packed */
    reply.kind = TSR__ENVELOPE__KIND__REPLY;
    reply.correlation_id = f.held[index]->id;
    reply.type = f.held[index]->type;
    reply.payload = f.held[index]->payload; /* echo */
    if (f.answer_with_error) {
        tsr_error_set(&err, TSR_E_INVALID, "invalid_telephone", "telephone", "Enter a telephone number.");
        tsr_envelope_set_error(&reply, &error, &err);
    }
    size_t len;
    uint8_t *buf = tsr_pack(&reply.base, &len);
    zmq_send(f.router, zmq_msg_data(&f.held_id[index]), zmq_msg_size(&f.held_id[index]), ZMQ_SNDMORE);
    zmq_send(f.router, "", 0, ZMQ_SNDMORE);
    zmq_send(f.router, buf, len, 0);
    free(buf);
    zmq_msg_close(&f.held_id[index]);
    tsr__envelope__free_unpacked(f.held[index], NULL);
}

static int server_on_readable(tsr_zwatch_t *w, int budget)
{
    int n = 0;
    while (n < budget) {
        zmq_msg_t id, empty, body;
        zmq_msg_init(&id);
        if (zmq_msg_recv(&id, w->socket, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&id);
            break;
        }
        zmq_msg_init(&empty);
        zmq_msg_init(&body);
        zmq_msg_recv(&empty, w->socket, 0);
        zmq_msg_recv(&body, w->socket, 0);
        n++;
        Tsr__Envelope *req = tsr__envelope__unpack(NULL, zmq_msg_size(&body), zmq_msg_data(&body));
        if (f.seen != NULL)
            tsr__envelope__free_unpacked(f.seen, NULL);
        f.seen = tsr__envelope__unpack(NULL, zmq_msg_size(&body), zmq_msg_data(&body));
        zmq_msg_close(&empty);
        zmq_msg_close(&body);
        if (f.silent || req == NULL) {
            zmq_msg_close(&id);
            if (req)
                tsr__envelope__free_unpacked(req, NULL);
            continue;
        }
        zmq_msg_init(&f.held_id[f.n_held]);
        zmq_msg_move(&f.held_id[f.n_held], &id);
        zmq_msg_close(&id);
        f.held[f.n_held++] = req;
        if (f.n_held >= f.hold_until) {
            for (int i = f.n_held - 1; i >= 0; i--)
                server_answer(i);
            f.n_held = 0;
        }
    }
    return n;
}

static void on_reply(void *arg, const Tsr__Envelope *reply, const tsr_error_t *err)
{
    char tag = (char)(intptr_t)arg;
    size_t len = strlen(f.order);
    f.order[len] = tag;
    f.order[len + 1] = '\0';
    f.last_had_reply = reply != NULL;
    if (err != NULL)
        f.last_err = *err;
    else
        tsr_error_clear(&f.last_err);
    /* The echoed payload is the tag: a reply went to the call that made it. */
    if (reply != NULL && err == NULL && reply->payload.len > 0)
        assert_int_equal(reply->payload.data[reply->payload.len - 1], (uint8_t)tag);
    f.done++;
}

static const char *endpoint(void)
{
    static char e[64];
    snprintf(e, sizeof(e), "ipc:///tmp/tsr-client-test-%d", getpid());
    return e;
}

static int setup(void **state)
{
    (void)state;
    memset(&f, 0, sizeof(f));
    uv_loop_init(&f.loop);
    f.ctx = zmq_ctx_new();
    f.router = zmq_socket(f.ctx, ZMQ_ROUTER);
    assert_int_equal(zmq_bind(f.router, endpoint()), 0);
    f.watch.data = &f;
    tsr_zwatch_init(&f.loop, &f.watch, f.router, server_on_readable);
    f.client = tsr_client_new(&f.loop, f.ctx, "records", endpoint(), 5000);
    assert_non_null(f.client);
    f.hold_until = 1;
    return 0;
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static int teardown(void **state)
{
    (void)state;
    if (f.client)
        tsr_client_destroy(&f.client);
    tsr_zwatch_close(&f.watch, NULL);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    uv_walk(&f.loop, close_walk, NULL);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    uv_loop_close(&f.loop);
    for (int i = 0; i < f.n_held; i++) {
        zmq_msg_close(&f.held_id[i]);
        tsr__envelope__free_unpacked(f.held[i], NULL);
    }
    if (f.seen != NULL)
        tsr__envelope__free_unpacked(f.seen, NULL);
    zmq_close(f.router);
    zmq_ctx_term(f.ctx);
    unlink(endpoint() + strlen("ipc://"));
    return 0;
}

static void call(char tag, int timeout_ms)
{
    tsr_call_opts_t opts = {.type = "records.organisation.get", .timeout_ms = timeout_ms};
    Tsr__MetricsReply payload = TSR__METRICS_REPLY__INIT;
    char text[2] = {tag, '\0'};
    payload.text = text;
    assert_int_equal(tsr_client_call(f.client, &opts, &payload.base, on_reply, (void *)(intptr_t)tag), 0);
}

static void run_until(int done)
{
    while (f.done < done)
        uv_run(&f.loop, UV_RUN_ONCE);
}

static void test_replies_answered_out_of_order_reach_their_calls(void **state)
{
    (void)state;
    f.hold_until = 3;
    call('a', 0);
    call('b', 0);
    call('c', 0);
    run_until(3);
    assert_string_equal(f.order, "cba");
    assert_int_equal(tsr_client_in_flight(f.client), 0);
}

static void test_a_request_carries_type_actor_trace_deadline_and_key(void **state)
{
    (void)state;
    char *roles[] = {"mash-admin"};
    Tsr__Actor actor = TSR__ACTOR__INIT;
    actor.worker_id = 1002;
    actor.n_roles = 1;
    actor.roles = roles;
    tsr_call_opts_t opts = {.type = "records.organisation.create",
                            .actor = &actor,
                            .trace_id = "0123456789abcdef0123456789abcdef",
                            .idempotency_key = "create-1",
                            .timeout_ms = 3000};
    int64_t before = tsr_now_ms();
    assert_int_equal(tsr_client_call(f.client, &opts, NULL, on_reply, (void *)(intptr_t)'x'), 0);
    assert_int_equal(tsr_client_in_flight(f.client), 1);
    run_until(1);
    assert_non_null(f.seen);
    assert_int_equal(f.seen->kind, TSR__ENVELOPE__KIND__REQUEST);
    assert_string_equal(f.seen->type, "records.organisation.create");
    assert_int_equal(f.seen->actor->worker_id, 1002);
    assert_string_equal(f.seen->actor->roles[0], "mash-admin");
    assert_string_equal(f.seen->trace_id, "0123456789abcdef0123456789abcdef");
    assert_string_equal(f.seen->idempotency_key, "create-1");
    /* The daemon learns when the caller stops waiting, so that it can drop work nobody awaits. */
    assert_true(f.seen->deadline_ms >= before + 3000 && f.seen->deadline_ms <= tsr_now_ms() + 3000);
    assert_int_equal(f.seen->payload.len, 0);
    /* Without a trace id the client makes one, so that the call can still be followed. */
    tsr_call_opts_t bare = {.type = "records.organisation.get"};
    assert_int_equal(tsr_client_call(f.client, &bare, NULL, on_reply, (void *)(intptr_t)'y'), 0);
    run_until(2);
    assert_int_equal(strlen(f.seen->trace_id), 32);
    assert_int_equal(f.seen->actor, NULL);
    assert_string_equal(tsr_client_name(f.client), "records");
}

static void test_an_unanswered_call_completes_with_503_at_its_deadline(void **state)
{
    (void)state;
    f.silent = 1;
    uint64_t start = uv_hrtime();
    call('a', 200);
    run_until(1);
    double waited = (double)(uv_hrtime() - start) / 1e6;
    assert_false(f.last_had_reply);
    assert_int_equal(f.last_err.status, TSR_E_UNAVAILABLE);
    assert_non_null(strstr(f.last_err.message, "records"));
    assert_true(waited >= 190 && waited < 2000);
    /* Sent, and perhaps acted on: the caller may not take it as not done. */
    assert_false(f.last_err.not_sent);
}

static void test_an_error_reply_reaches_the_caller_whole(void **state)
{
    (void)state;
    f.answer_with_error = 1;
    call('a', 0);
    run_until(1);
    assert_true(f.last_had_reply);
    assert_int_equal(f.last_err.status, TSR_E_INVALID);
    assert_string_equal(f.last_err.code, "invalid_telephone");
    assert_string_equal(f.last_err.field, "telephone");
    assert_string_equal(f.last_err.message, "Enter a telephone number.");
}

static void test_a_daemon_that_is_not_there_fails_within_the_connect_grace(void **state)
{
    (void)state;
    tsr_client_t *nobody = tsr_client_new(&f.loop, f.ctx, "audit", "ipc:///tmp/tsr-client-test-nobody", 5000);
    tsr_call_opts_t opts = {.type = "audit.events.query"};
    uint64_t start = uv_hrtime();
    assert_int_equal(tsr_client_call(nobody, &opts, NULL, on_reply, (void *)(intptr_t)'z'), 0);
    run_until(1);
    uint64_t waited_ms = (uv_hrtime() - start) / 1000000;
    assert_true(waited_ms >= 900 && waited_ms < 2000); /* not its 5 s deadline */
    assert_int_equal(f.last_err.status, TSR_E_UNAVAILABLE);
    assert_non_null(strstr(f.last_err.message, "audit"));
    /* Never sent: nothing it asked was done (the gateway frees the call's Idempotency-Key). */
    assert_true(f.last_err.not_sent);
    tsr_client_destroy(&nobody);
}

static void test_a_call_made_before_the_connection_is_up_is_still_delivered(void **state)
{
    (void)state;
    /* A client created this instant has no connection yet; the call waits for it. */
    tsr_client_t *fresh = tsr_client_new(&f.loop, f.ctx, "records", endpoint(), 5000);
    tsr_call_opts_t opts = {.type = "records.organisation.get"};
    Tsr__MetricsReply payload = TSR__METRICS_REPLY__INIT;
    payload.text = "q";
    assert_int_equal(tsr_client_call(fresh, &opts, &payload.base, on_reply, (void *)(intptr_t)'q'), 0);
    run_until(1);
    assert_true(f.last_had_reply);
    assert_int_equal(f.last_err.status, TSR_OK);
    tsr_client_destroy(&fresh);
}

static void test_calls_made_while_the_connection_comes_up_reach_the_daemon_in_order(void **state)
{
    (void)state;
    /* 'a' is made before the connection is up and waits; 'b' is made once it is up (the loop not
     * yet run, so 'a' is still waiting): 'b' must not overtake 'a'. The server answers the two in
     * the reverse of the order it got them. */
    tsr_client_t *fresh = tsr_client_new(&f.loop, f.ctx, "records", endpoint(), 5000);
    f.hold_until = 2;
    tsr_call_opts_t opts = {.type = "records.organisation.get"};
    Tsr__MetricsReply payload = TSR__METRICS_REPLY__INIT;
    payload.text = "a";
    assert_int_equal(tsr_client_call(fresh, &opts, &payload.base, on_reply, (void *)(intptr_t)'a'), 0);
    usleep(300 * 1000);
    payload.text = "b";
    assert_int_equal(tsr_client_call(fresh, &opts, &payload.base, on_reply, (void *)(intptr_t)'b'), 0);
    run_until(2);
    assert_string_equal(f.order, "ba");
    tsr_client_destroy(&fresh);
}

static void test_deadlines_expire_while_other_calls_keep_coming(void **state)
{
    (void)state;
    f.silent = 1;
    call('a', 100);
    /* New calls every 10 ms must not hold back the sweep that expires the first. */
    uint64_t start = uv_hrtime();
    while (f.done == 0 && (uv_hrtime() - start) / 1000000 < 3000) {
        call('b', 5000);
        uv_run(&f.loop, UV_RUN_NOWAIT);
        usleep(10 * 1000);
    }
    assert_true(f.done >= 1);
    assert_true((uv_hrtime() - start) / 1000000 < 1000);
}

static void test_a_reply_after_the_deadline_is_dropped(void **state)
{
    (void)state;
    f.hold_until = 2; /* the daemon answers a's call only once b's has come too */
    call('a', 100);
    run_until(1);
    assert_string_equal(f.order, "a");
    assert_int_equal(f.last_err.status, TSR_E_UNAVAILABLE);
    call('b', 0);
    run_until(2);
    /* b's answer came first (reverse order), then a's, late: a's callback ran once, at its deadline. */
    uint64_t start = uv_hrtime();
    while ((uv_hrtime() - start) / 1000000 < 100)
        uv_run(&f.loop, UV_RUN_NOWAIT);
    assert_string_equal(f.order, "ab");
    assert_int_equal(f.done, 2);
    assert_int_equal(tsr_client_in_flight(f.client), 0);
}

static void test_destroy_completes_every_call_in_flight_once(void **state)
{
    (void)state;
    f.silent = 1;
    call('a', 200);
    call('b', 0);
    tsr_client_destroy(&f.client);
    assert_null(f.client);
    assert_int_equal(f.done, 2);
    assert_string_equal(f.order, "ab");
    assert_false(f.last_had_reply);
    assert_int_equal(f.last_err.status, TSR_E_UNAVAILABLE);
    assert_string_equal(f.last_err.code, "shutting_down");
    /* Past every deadline, with the client's handles closed: no callback runs a second time. */
    uint64_t start = uv_hrtime();
    while ((uv_hrtime() - start) / 1000000 < 300)
        uv_run(&f.loop, UV_RUN_NOWAIT);
    assert_int_equal(f.done, 2);
    tsr_client_destroy(&f.client); /* safe twice */
}

/* ------------------------------------------------------------------------------------------------
 * tsr_client_call_sync, for command-line tools: a daemon on its own thread
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    void *router;
    int answer;     /* 0: stay silent */
    int with_error; /* answer with an error */
    int stray;      /* answer first with a reply to another call */
} sync_server_t;

static void sync_reply(void *router, zmq_msg_t *id, uint64_t correlation_id,
                       const ProtobufCBinaryData *payload, int with_error)
{
    Tsr__Envelope reply = TSR__ENVELOPE__INIT;
    tsr_envelope_error_t error;
    tsr_error_t err;
    reply.kind = TSR__ENVELOPE__KIND__REPLY;
    reply.correlation_id = correlation_id;
    reply.payload = *payload;
    if (with_error) {
        tsr_error_set(&err, TSR_E_NOT_FOUND, "organisation_not_found", "id", "No organisation has id 9.");
        tsr_envelope_set_error(&reply, &error, &err);
    }
    size_t len;
    uint8_t *buf = tsr_pack(&reply.base, &len);
    zmq_send(router, zmq_msg_data(id), zmq_msg_size(id), ZMQ_SNDMORE);
    zmq_send(router, "", 0, ZMQ_SNDMORE);
    zmq_send(router, buf, len, 0);
    free(buf);
}

/* A request as a ROUTER takes it: its sender's id (in id, for the caller to close) and the envelope
 * (NULL if unreadable). */
static Tsr__Envelope *take_request(void *router, zmq_msg_t *id)
{
    zmq_msg_t empty, body;
    zmq_msg_init(id);
    zmq_msg_init(&empty);
    zmq_msg_init(&body);
    zmq_msg_recv(id, router, 0);
    zmq_msg_recv(&empty, router, 0);
    zmq_msg_recv(&body, router, 0);
    Tsr__Envelope *req = tsr__envelope__unpack(NULL, zmq_msg_size(&body), zmq_msg_data(&body));
    zmq_msg_close(&empty);
    zmq_msg_close(&body);
    return req;
}

static void *sync_server(void *arg)
{
    sync_server_t *s = arg;
    zmq_pollitem_t item = {s->router, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, 5000) <= 0)
        return NULL;
    zmq_msg_t id;
    Tsr__Envelope *req = take_request(s->router, &id);
    if (req != NULL && s->answer) {
        if (s->stray)
            sync_reply(s->router, &id, req->id + 100, &req->payload, 0);
        sync_reply(s->router, &id, req->id, &req->payload, s->with_error);
    }
    if (req != NULL)
        tsr__envelope__free_unpacked(req, NULL);
    zmq_msg_close(&id);
    return NULL;
}

static int call_sync(sync_server_t *server, int timeout_ms, Tsr__Envelope **reply, tsr_error_t *err,
                     double *waited_ms)
{
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "ipc:///tmp/tsr-client-sync-%d", getpid());
    void *ctx = zmq_ctx_new();
    server->router = zmq_socket(ctx, ZMQ_ROUTER);
    int zero = 0;
    zmq_setsockopt(server->router, ZMQ_LINGER, &zero, sizeof(zero));
    assert_int_equal(zmq_bind(server->router, endpoint), 0);
    pthread_t t;
    pthread_create(&t, NULL, sync_server, server);
    tsr_call_opts_t opts = {.type = "records.organisation.get", .timeout_ms = timeout_ms};
    Tsr__MetricsReply payload = TSR__METRICS_REPLY__INIT;
    payload.text = "sync";
    uint64_t start = uv_hrtime();
    int rc = tsr_client_call_sync(ctx, endpoint, &opts, &payload.base, reply, err);
    *waited_ms = (double)(uv_hrtime() - start) / 1e6;
    pthread_join(t, NULL);
    zmq_close(server->router);
    zmq_ctx_term(ctx);
    unlink(endpoint + strlen("ipc://"));
    return rc;
}

static void test_a_sync_call_gets_its_reply(void **state)
{
    (void)state;
    sync_server_t server = {.answer = 1, .stray = 1};
    Tsr__Envelope *reply = NULL;
    tsr_error_t err;
    tsr_error_clear(&err);
    double waited;
    assert_int_equal(call_sync(&server, 2000, &reply, &err, &waited), 0);
    assert_non_null(reply);
    /* The stray reply to another call was passed over. */
    assert_int_equal(reply->correlation_id, 1);
    Tsr__MetricsReply *echo = tsr__metrics_reply__unpack(NULL, reply->payload.len, reply->payload.data);
    assert_string_equal(echo->text, "sync");
    tsr__metrics_reply__free_unpacked(echo, NULL);
    tsr__envelope__free_unpacked(reply, NULL);
}

static void test_a_sync_call_answered_with_an_error_gives_the_error(void **state)
{
    (void)state;
    sync_server_t server = {.answer = 1, .with_error = 1};
    Tsr__Envelope *reply = (Tsr__Envelope *)&server; /* must be reset */
    tsr_error_t err;
    double waited;
    assert_int_equal(call_sync(&server, 2000, &reply, &err, &waited), -1);
    assert_null(reply);
    assert_int_equal(err.status, TSR_E_NOT_FOUND);
    assert_string_equal(err.code, "organisation_not_found");
    assert_string_equal(err.field, "id");
    assert_string_equal(err.message, "No organisation has id 9.");
}

static void test_a_sync_call_nobody_answers_times_out_cleanly(void **state)
{
    (void)state;
    sync_server_t server = {.answer = 0};
    Tsr__Envelope *reply = NULL;
    tsr_error_t err;
    double waited;
    assert_int_equal(call_sync(&server, 200, &reply, &err, &waited), -1);
    assert_null(reply);
    assert_int_equal(err.status, TSR_E_UNAVAILABLE);
    assert_non_null(strstr(err.message, "200 ms"));
    /* The service, in words; its endpoint is for the operator's log. */
    assert_non_null(strstr(err.message, "The records service"));
    assert_null(strstr(err.message, "tsr-client-sync"));
    assert_true(waited >= 190 && waited < 2000);
}

static void test_a_sync_call_to_an_endpoint_nobody_binds_times_out_cleanly(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    tsr_call_opts_t opts = {.type = "audit.events.query", .timeout_ms = 200};
    Tsr__Envelope *reply = NULL;
    tsr_error_t err;
    uint64_t start = uv_hrtime();
    assert_int_equal(
        tsr_client_call_sync(ctx, "ipc:///tmp/tsr-client-sync-nobody", &opts, NULL, &reply, &err), -1);
    double waited = (double)(uv_hrtime() - start) / 1e6;
    assert_null(reply);
    assert_int_equal(err.status, TSR_E_UNAVAILABLE);
    assert_true(waited >= 190 && waited < 2000);
    /* A malformed endpoint is the caller's mistake, said as such. */
    assert_int_equal(tsr_client_call_sync(ctx, "nonsense://x", &opts, NULL, &reply, &err), -1);
    assert_string_equal(err.code, "bad_endpoint");
    zmq_ctx_term(ctx);
}

/* A daemon's questions from its thread pool: the thread keeps its connection from one call to the
 * next, and a call that timed out is not left to answer the next one. */
typedef struct {
    void *router;
    int requests;      /* to take */
    int ignore;        /* the request (1-based) left unanswered */
    char peers[4][16]; /* each request's routing id */
    size_t peer_len[4];
} kept_server_t;

static void *kept_server(void *arg)
{
    kept_server_t *s = arg;
    for (int n = 1; n <= s->requests; n++) {
        zmq_pollitem_t item = {s->router, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 5000) <= 0)
            return NULL;
        zmq_msg_t id;
        Tsr__Envelope *req = take_request(s->router, &id);
        s->peer_len[n - 1] = zmq_msg_size(&id) < 16 ? zmq_msg_size(&id) : 16;
        memcpy(s->peers[n - 1], zmq_msg_data(&id), s->peer_len[n - 1]);
        if (req != NULL && n != s->ignore)
            sync_reply(s->router, &id, req->id, &req->payload, 0);
        if (req != NULL)
            tsr__envelope__free_unpacked(req, NULL);
        zmq_msg_close(&id);
    }
    return NULL;
}

static int call_kept(void *ctx, const char *endpoint, const char *text, int timeout_ms, char *echoed)
{
    tsr_call_opts_t opts = {.type = "records.organisation.get", .timeout_ms = timeout_ms};
    Tsr__MetricsReply payload = TSR__METRICS_REPLY__INIT;
    payload.text = (char *)text;
    Tsr__Envelope *reply = NULL;
    tsr_error_t err;
    int rc = tsr_client_call_kept(ctx, endpoint, &opts, &payload.base, &reply, &err);
    if (rc == 0) {
        Tsr__MetricsReply *echo = tsr__metrics_reply__unpack(NULL, reply->payload.len, reply->payload.data);
        snprintf(echoed, 32, "%s", echo ? echo->text : "");
        tsr__metrics_reply__free_unpacked(echo, NULL);
        tsr__envelope__free_unpacked(reply, NULL);
    }
    return rc;
}

static void test_kept_calls_reuse_the_connection_and_start_clean_after_a_timeout(void **state)
{
    (void)state;
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "ipc:///tmp/tsr-client-kept-%d", getpid());
    void *ctx = zmq_ctx_new();
    kept_server_t server = {.requests = 4, .ignore = 3};
    server.router = zmq_socket(ctx, ZMQ_ROUTER);
    int zero = 0;
    zmq_setsockopt(server.router, ZMQ_LINGER, &zero, sizeof(zero));
    assert_int_equal(zmq_bind(server.router, endpoint), 0);
    pthread_t t;
    pthread_create(&t, NULL, kept_server, &server);
    char echoed[32];
    assert_int_equal(call_kept(ctx, endpoint, "first", 2000, echoed), 0);
    assert_string_equal(echoed, "first");
    assert_int_equal(call_kept(ctx, endpoint, "second", 2000, echoed), 0);
    assert_string_equal(echoed, "second");
    assert_int_equal(call_kept(ctx, endpoint, "third", 200, echoed), -1); /* never answered */
    assert_int_equal(call_kept(ctx, endpoint, "fourth", 2000, echoed), 0);
    assert_string_equal(echoed, "fourth");
    pthread_join(t, NULL);
    /* One connection for the first two calls; a new one after the timeout. */
    assert_memory_equal(server.peers[0], server.peers[1], server.peer_len[0]);
    assert_memory_equal(server.peers[1], server.peers[2], server.peer_len[1]);
    assert_memory_not_equal(server.peers[2], server.peers[3], server.peer_len[2]);
    /* Closing the kept sockets lets the context end (it would wait for them forever). */
    tsr_client_close_kept(ctx);
    zmq_close(server.router);
    zmq_ctx_term(ctx);
    unlink(endpoint + strlen("ipc://"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replies_answered_out_of_order_reach_their_calls, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_an_unanswered_call_completes_with_503_at_its_deadline, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_an_error_reply_reaches_the_caller_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_daemon_that_is_not_there_fails_within_the_connect_grace, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_call_made_before_the_connection_is_up_is_still_delivered,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_calls_made_while_the_connection_comes_up_reach_the_daemon_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadlines_expire_while_other_calls_keep_coming, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_request_carries_type_actor_trace_deadline_and_key, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_reply_after_the_deadline_is_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_completes_every_call_in_flight_once, setup, teardown),
        cmocka_unit_test(test_a_sync_call_gets_its_reply),
        cmocka_unit_test(test_a_sync_call_answered_with_an_error_gives_the_error),
        cmocka_unit_test(test_a_sync_call_nobody_answers_times_out_cleanly),
        cmocka_unit_test(test_a_sync_call_to_an_endpoint_nobody_binds_times_out_cleanly),
        cmocka_unit_test(test_kept_calls_reuse_the_connection_and_start_clean_after_a_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
