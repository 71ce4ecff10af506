#include "tsr_client.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "tsr_curve.h"
#include "tsr_envelope.h"
#include "tsr_log.h"
#include "tsr_metrics.h"
#include "tsr_zwatch.h"

/* How long a call waits for a connection to its daemon before failing with 503. */
#define CLIENT_CONNECT_GRACE_MS 1000
/* How often deadlines are checked and unsent calls retried. */
#define CLIENT_SWEEP_MS 20

typedef struct client_call {
    uint64_t id;
    int64_t deadline_ms;
    tsr_client_cb cb;
    void *arg;
    int failed;      /* completes with error at the next sweep */
    uint8_t *unsent; /* packed request still to send: the peer is not connected (yet) */
    size_t unsent_len;
    int64_t send_by_ms; /* give up sending then: the peer is down, not just connecting */
    tsr_error_t error;
    struct client_call *prev, *next;
} client_call_t;

struct tsr_client {
    uv_loop_t *loop;
    void *socket;
    char *name;
    char *endpoint;
    int default_timeout_ms;
    uint64_t next_id;
    int in_flight;
    int unsent_calls; /* calls still to send: a newer call waits behind them, to go in order */
    int closing;
    client_call_t *calls; /* oldest first */
    client_call_t *last;
    tsr_zwatch_t watch;
    uv_timer_t sweep;
    int handles_open;
    tsr_metric_t *timeouts;
};

static void client__unlink(tsr_client_t *self, client_call_t *call)
{
    if (call->prev)
        call->prev->next = call->next;
    else
        self->calls = call->next;
    if (call->next)
        call->next->prev = call->prev;
    else
        self->last = call->prev;
    self->in_flight--;
    if (call->unsent != NULL)
        self->unsent_calls--;
}

static client_call_t *client__find(tsr_client_t *self, uint64_t id)
{
    for (client_call_t *c = self->calls; c != NULL; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

static int client__on_readable(tsr_zwatch_t *watch, int budget)
{
    tsr_client_t *self = watch->data;
    int taken = 0;
    while (taken < budget) {
        zmq_msg_t delimiter, body;
        zmq_msg_init(&delimiter);
        if (zmq_msg_recv(&delimiter, self->socket, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&delimiter);
            break;
        }
        taken++;
        int more = zmq_msg_more(&delimiter);
        zmq_msg_close(&delimiter);
        if (!more)
            continue; /* not our framing: drop it */
        zmq_msg_init(&body);
        if (zmq_msg_recv(&body, self->socket, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&body);
            break;
        }
        while (zmq_msg_more(&body)) { /* extra frames are not ours either */
            zmq_msg_t extra;
            zmq_msg_init(&extra);
            zmq_msg_recv(&extra, self->socket, ZMQ_DONTWAIT);
            int again = zmq_msg_more(&extra);
            zmq_msg_close(&extra);
            if (!again)
                break;
        }
        Tsr__Envelope *reply = tsr__envelope__unpack(NULL, zmq_msg_size(&body), zmq_msg_data(&body));
        zmq_msg_close(&body);
        if (reply == NULL) {
            tsr_log_warn(NULL, "dropped a malformed reply from %s", self->name);
            continue;
        }
        client_call_t *call = client__find(self, reply->correlation_id);
        if (call == NULL) {
            /* The caller gave up on it at its deadline; the reply is no use now. */
            tsr__envelope__free_unpacked(reply, NULL);
            continue;
        }
        client__unlink(self, call);
        tsr_error_t err;
        tsr_error_clear(&err);
        tsr_envelope_take_error(reply, &err);
        call->cb(call->arg, reply, err.status == TSR_OK ? NULL : &err);
        tsr__envelope__free_unpacked(reply, NULL);
        free(call);
    }
    return taken;
}

static int client__send(tsr_client_t *self, const uint8_t *buf, size_t len)
{
    const void *parts[2] = {"", buf};
    size_t lens[2] = {0, len};
    int rc = tsr_zmq_send_parts(self->socket, parts, lens, 2);
    tsr_zwatch_kick(&self->watch);
    return rc;
}

static void client__on_sweep(uv_timer_t *timer)
{
    tsr_client_t *self = timer->data;
    int64_t now = tsr_now_ms();
    client_call_t *call = self->calls;
    /* Unsent calls go oldest first; once one cannot go, the newer ones wait behind it. */
    int blocked = 0;
    while (call != NULL) {
        client_call_t *next = call->next;
        if (call->unsent != NULL) {
            if (!blocked && client__send(self, call->unsent, call->unsent_len) == 0) {
                free(call->unsent);
                call->unsent = NULL;
                self->unsent_calls--;
            } else {
                blocked = 1;
                if (now >= call->send_by_ms) {
                    call->failed = 1;
                    tsr_error_set(&call->error, TSR_E_UNAVAILABLE, "service_unavailable", NULL,
                                  "The %s service is not reachable; try again shortly.", self->name);
                    call->error.not_sent = 1;
                }
            }
        }
        if (call->failed || call->deadline_ms <= now) {
            client__unlink(self, call);
            if (!call->failed) {
                tsr_metric_add(self->timeouts, 1);
                tsr_error_set(&call->error, TSR_E_UNAVAILABLE, "service_unavailable", NULL,
                              "The %s service did not answer in time; try again shortly.", self->name);
                call->error.not_sent = call->unsent != NULL;
            }
            call->cb(call->arg, NULL, &call->error);
            free(call->unsent);
            free(call);
        }
        call = next;
    }
    if (self->calls == NULL)
        uv_timer_stop(&self->sweep);
}

tsr_client_t *tsr_client_new(uv_loop_t *loop, void *zmq_ctx, const char *name, const char *endpoint,
                             int default_timeout_ms)
{
    tsr_client_t *self = calloc(1, sizeof(*self));
    if (self == NULL)
        return NULL;
    self->loop = loop;
    self->name = strdup(name);
    self->endpoint = strdup(endpoint);
    self->default_timeout_ms = default_timeout_ms > 0 ? default_timeout_ms : 5000;
    self->next_id = 1;
    self->socket = zmq_socket(zmq_ctx, ZMQ_DEALER);
    if (self->socket == NULL)
        goto fail;
    int zero = 0, one = 1, hwm = 100000, ivl = 100, ivl_max = 1000;
    zmq_setsockopt(self->socket, ZMQ_LINGER, &zero, sizeof(zero));
    /* Queue nothing for a peer that is not connected: a call then fails at once with 503 rather
     * than waiting out its deadline behind a dead connection. */
    zmq_setsockopt(self->socket, ZMQ_IMMEDIATE, &one, sizeof(one));
    zmq_setsockopt(self->socket, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(self->socket, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(self->socket, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
    zmq_setsockopt(self->socket, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof(ivl_max));
    tsr_error_t curve_err;
    if (tsr_curve_connect(self->socket, name, &curve_err) != 0) {
        tsr_log_error(NULL, "cannot connect to %s: %s", name, curve_err.message);
        goto fail;
    }
    if (zmq_connect(self->socket, endpoint) != 0) {
        tsr_log_error(NULL, "cannot connect to %s at %s: %s", name, endpoint, zmq_strerror(errno));
        goto fail;
    }
    self->watch.data = self;
    if (tsr_zwatch_init(loop, &self->watch, self->socket, client__on_readable) != 0)
        goto fail;
    uv_timer_init(loop, &self->sweep);
    self->sweep.data = self;
    self->handles_open = 2;
    char labels[128];
    snprintf(labels, sizeof(labels), "target=\"%s\"", name);
    self->timeouts =
        tsr_metrics_counter("tsr_client_timeouts_total", "Calls to another daemon that timed out.", labels);
    return self;
fail:
    if (self->socket)
        zmq_close(self->socket);
    free(self->name);
    free(self->endpoint);
    free(self);
    return NULL;
}

static void client__free(tsr_client_t *self)
{
    zmq_close(self->socket);
    free(self->name);
    free(self->endpoint);
    free(self);
}

static void client__on_watch_closed(tsr_zwatch_t *watch)
{
    tsr_client_t *self = watch->data;
    if (--self->handles_open == 0)
        client__free(self);
}

static void client__on_timer_closed(uv_handle_t *handle)
{
    tsr_client_t *self = handle->data;
    if (--self->handles_open == 0)
        client__free(self);
}

void tsr_client_destroy(tsr_client_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    tsr_client_t *self = *self_p;
    *self_p = NULL;
    self->closing = 1;
    while (self->calls != NULL) {
        client_call_t *call = self->calls;
        client__unlink(self, call);
        tsr_error_set(&call->error, TSR_E_UNAVAILABLE, "shutting_down", NULL,
                      "The service is shutting down; try again shortly.");
        call->error.not_sent = call->unsent != NULL;
        call->cb(call->arg, NULL, &call->error);
        free(call->unsent);
        free(call);
    }
    tsr_zwatch_close(&self->watch, client__on_watch_closed);
    uv_close((uv_handle_t *)&self->sweep, client__on_timer_closed);
}

static int client__pack_request(const tsr_call_opts_t *opts, uint64_t id, int64_t deadline_ms,
                                const ProtobufCMessage *payload, uint8_t **buf, size_t *len)
{
    Tsr__Envelope env = TSR__ENVELOPE__INIT;
    env.kind = TSR__ENVELOPE__KIND__REQUEST;
    env.type = (char *)opts->type;
    env.id = id;
    char trace[33];
    if (opts->trace_id != NULL && *opts->trace_id != '\0') {
        env.trace_id = (char *)opts->trace_id;
    } else {
        tsr_log_new_trace_id(trace);
        env.trace_id = trace;
    }
    env.actor = (Tsr__Actor *)opts->actor;
    env.deadline_ms = deadline_ms;
    env.idempotency_key = (char *)(opts->idempotency_key ? opts->idempotency_key : "");
    env.demo_load = opts->demo_load != 0;
    uint8_t *payload_buf = NULL;
    if (payload != NULL) {
        size_t payload_len = 0;
        payload_buf = tsr_pack(payload, &payload_len);
        if (payload_buf == NULL)
            return -1;
        env.payload.data = payload_buf;
        env.payload.len = payload_len;
    }
    *buf = tsr_pack(&env.base, len);
    free(payload_buf);
    return *buf ? 0 : -1;
}

int tsr_client_call(tsr_client_t *self, const tsr_call_opts_t *opts, const ProtobufCMessage *payload,
                    tsr_client_cb cb, void *arg)
{
    if (self->closing)
        return -1;
    client_call_t *call = calloc(1, sizeof(*call));
    if (call == NULL)
        return -1;
    int timeout = opts->timeout_ms > 0 ? opts->timeout_ms : self->default_timeout_ms;
    call->id = self->next_id++;
    call->deadline_ms = tsr_now_ms() + timeout;
    call->cb = cb;
    call->arg = arg;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (client__pack_request(opts, call->id, call->deadline_ms, payload, &buf, &len) != 0) {
        free(call);
        return -1;
    }
    /* Behind a call still waiting to be sent, this one waits too: calls reach the daemon in the
     * order they were made. */
    if (self->unsent_calls == 0 && client__send(self, buf, len) == 0) {
        free(buf);
    } else {
        /* ZMQ_IMMEDIATE refuses while no connection is up: a daemon that is starting (or a client
         * just created) is given a moment to connect; one that is down fails within it. */
        call->unsent = buf;
        call->unsent_len = len;
        self->unsent_calls++;
        call->send_by_ms =
            tsr_now_ms() + (timeout < CLIENT_CONNECT_GRACE_MS ? timeout : CLIENT_CONNECT_GRACE_MS);
    }
    call->prev = self->last;
    if (self->last)
        self->last->next = call;
    else
        self->calls = call;
    self->last = call;
    self->in_flight++;
    /* The sweep retries unsent calls and expires deadlines; cb is never called from inside this
     * function. Started only when idle: restarting it on every call would starve it under load. */
    if (!uv_is_active((uv_handle_t *)&self->sweep))
        uv_timer_start(&self->sweep, client__on_sweep, CLIENT_SWEEP_MS, CLIENT_SWEEP_MS);
    return 0;
}

void tsr_client_fail_all(tsr_client_t *self, const tsr_error_t *err)
{
    while (self->calls != NULL) {
        client_call_t *call = self->calls;
        client__unlink(self, call);
        call->error = *err;
        call->error.not_sent = call->unsent != NULL;
        call->cb(call->arg, NULL, &call->error);
        free(call->unsent);
        free(call);
    }
}

int tsr_client_in_flight(const tsr_client_t *self)
{
    return self->in_flight;
}

const char *tsr_client_name(const tsr_client_t *self)
{
    return self->name;
}

/* One request and its answer on a connected DEALER: sends, then waits for the reply with this id,
 * dropping any other (the late answer to an earlier call that gave up). 0 with *reply set, or -1
 * with err filled; *broken says the socket must not be used again (a send failed or time ran out). */
/* The daemon a call goes to: its type's first word ("records.person.get"), as every handler is named. */
static void client__server_of(const tsr_call_opts_t *opts, char server[64])
{
    if (opts && opts->server) {
        snprintf(server, 64, "%s", opts->server);
        return;
    }
    const char *type = opts && opts->type ? opts->type : "";
    size_t n = strcspn(type, ".");
    snprintf(server, 64, "%.*s", (int)(n < 63 ? n : 63), type);
}

static int client__exchange(void *socket, const char *endpoint, const tsr_call_opts_t *opts, uint64_t id,
                            const ProtobufCMessage *payload, Tsr__Envelope **reply, int *broken,
                            tsr_error_t *err)
{
    *reply = NULL;
    *broken = 1;
    int timeout = opts->timeout_ms > 0 ? opts->timeout_ms : 10000;
    int64_t deadline = tsr_now_ms() + timeout;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (client__pack_request(opts, id, deadline, payload, &buf, &len) != 0)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL,
                             "Out of memory packing the request.");
    /* ZMQ_IMMEDIATE: the socket takes a message only once a connection is up. A daemon that is
     * starting (or a socket just made) is given a moment to connect; one that is down fails within
     * it, naming itself, rather than holding the caller (a thread-pool thread, with its transaction
     * open, and the calls queued behind it) until the deadline, the gateway then blaming its caller. */
    long grace = timeout < CLIENT_CONNECT_GRACE_MS ? timeout : CLIENT_CONNECT_GRACE_MS;
    char server[64];
    client__server_of(opts, server);
    zmq_pollitem_t out = {socket, 0, ZMQ_POLLOUT, 0};
    if (zmq_poll(&out, 1, grace) <= 0 || !(out.revents & ZMQ_POLLOUT)) {
        free(buf);
        /* The endpoint is for the operator's log, not for the person whose call it was. */
        tsr_log_warn(NULL, "the %s service is not reachable at %s", server, endpoint);
        return tsr_error_set(err, TSR_E_UNAVAILABLE, "service_unavailable", NULL,
                             "The %s service is not reachable; try again shortly.", server);
    }
    int sent = zmq_send(socket, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
               zmq_send(socket, buf, len, ZMQ_DONTWAIT) >= 0;
    free(buf);
    if (!sent) {
        tsr_log_warn(NULL, "cannot send to %s: %s", endpoint, zmq_strerror(errno));
        return tsr_error_set(err, TSR_E_UNAVAILABLE, "service_unavailable", NULL,
                             "The %s service could not be sent the request; try again shortly.", server);
    }
    for (;;) {
        long left = (long)(deadline - tsr_now_ms());
        zmq_pollitem_t item = {socket, 0, ZMQ_POLLIN, 0};
        if (left <= 0 || zmq_poll(&item, 1, left) <= 0) {
            tsr_log_warn(NULL, "no answer from %s within %d ms", endpoint, timeout);
            return tsr_error_set(err, TSR_E_UNAVAILABLE, "service_unavailable", NULL,
                                 "The %s service did not answer within %d ms; try again shortly.", server,
                                 timeout);
        }
        zmq_msg_t delimiter, body;
        zmq_msg_init(&delimiter);
        zmq_msg_recv(&delimiter, socket, 0);
        zmq_msg_close(&delimiter);
        zmq_msg_init(&body);
        zmq_msg_recv(&body, socket, 0);
        Tsr__Envelope *env = tsr__envelope__unpack(NULL, zmq_msg_size(&body), zmq_msg_data(&body));
        zmq_msg_close(&body);
        if (env == NULL || env->correlation_id != id) {
            if (env)
                tsr__envelope__free_unpacked(env, NULL);
            continue;
        }
        *broken = 0;
        int rc = tsr_envelope_take_error(env, err);
        if (rc == 0)
            *reply = env;
        else
            tsr__envelope__free_unpacked(env, NULL);
        return rc;
    }
}

static void *client__connect_dealer(void *zmq_ctx, const char *endpoint, const tsr_call_opts_t *opts,
                                    tsr_error_t *err)
{
    void *socket = zmq_socket(zmq_ctx, ZMQ_DEALER);
    if (socket == NULL) {
        tsr_error_set(err, TSR_E_INTERNAL, "zmq_error", NULL, "Cannot create a socket: %s",
                      zmq_strerror(errno));
        return NULL;
    }
    int zero = 0, one = 1;
    zmq_setsockopt(socket, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(socket, ZMQ_IMMEDIATE, &one, sizeof(one));
    char server[64];
    client__server_of(opts, server);
    if (tsr_curve_connect(socket, server, err) != 0) {
        zmq_close(socket);
        return NULL;
    }
    if (zmq_connect(socket, endpoint) != 0) {
        tsr_error_set(err, TSR_E_INVALID, "bad_endpoint", NULL, "Cannot connect to %s: %s", endpoint,
                      zmq_strerror(errno));
        zmq_close(socket);
        return NULL;
    }
    return socket;
}

int tsr_client_call_sync(void *zmq_ctx, const char *endpoint, const tsr_call_opts_t *opts,
                         const ProtobufCMessage *payload, Tsr__Envelope **reply, tsr_error_t *err)
{
    *reply = NULL;
    void *socket = client__connect_dealer(zmq_ctx, endpoint, opts, err);
    if (socket == NULL)
        return -1;
    int broken = 0;
    int rc = client__exchange(socket, endpoint, opts, 1, payload, reply, &broken, err);
    zmq_close(socket);
    return rc;
}

/* The sockets kept by tsr_client_call_kept: one per thread and endpoint, so that a thread-pool
 * thread asking another daemon reuses its connection instead of making (and the other daemon
 * accepting) a new one for every question. Under a lock only to find and to close them. */
typedef struct kept_socket {
    void *zmq_ctx;
    pthread_t thread;
    char *endpoint;
    void *socket;
    uint64_t next_id;
    struct kept_socket *next;
} kept_socket_t;

static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;
static kept_socket_t *kept_sockets;

static kept_socket_t *client__kept_find(void *zmq_ctx, const char *endpoint)
{
    pthread_t me = pthread_self();
    pthread_mutex_lock(&kept_lock);
    kept_socket_t *k = kept_sockets;
    while (k != NULL &&
           !(k->zmq_ctx == zmq_ctx && pthread_equal(k->thread, me) && strcmp(k->endpoint, endpoint) == 0))
        k = k->next;
    pthread_mutex_unlock(&kept_lock);
    return k;
}

static void client__kept_drop(kept_socket_t *gone)
{
    pthread_mutex_lock(&kept_lock);
    for (kept_socket_t **k = &kept_sockets; *k != NULL; k = &(*k)->next) {
        if (*k == gone) {
            *k = gone->next;
            break;
        }
    }
    pthread_mutex_unlock(&kept_lock);
    zmq_close(gone->socket);
    free(gone->endpoint);
    free(gone);
}

int tsr_client_call_kept(void *zmq_ctx, const char *endpoint, const tsr_call_opts_t *opts,
                         const ProtobufCMessage *payload, Tsr__Envelope **reply, tsr_error_t *err)
{
    *reply = NULL;
    kept_socket_t *k = client__kept_find(zmq_ctx, endpoint);
    if (k == NULL) {
        void *socket = client__connect_dealer(zmq_ctx, endpoint, opts, err);
        if (socket == NULL)
            return -1;
        k = calloc(1, sizeof(*k));
        char *copy = strdup(endpoint);
        if (k == NULL || copy == NULL) {
            free(k);
            free(copy);
            zmq_close(socket);
            return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
        }
        *k = (kept_socket_t){
            .zmq_ctx = zmq_ctx, .thread = pthread_self(), .endpoint = copy, .socket = socket, .next_id = 1};
        pthread_mutex_lock(&kept_lock);
        k->next = kept_sockets;
        kept_sockets = k;
        pthread_mutex_unlock(&kept_lock);
    }
    int broken = 0;
    int rc = client__exchange(k->socket, endpoint, opts, k->next_id++, payload, reply, &broken, err);
    /* A socket that timed out may still get the late answer, or hold a request the daemon never
     * took: a fresh one next time starts clean. */
    if (broken)
        client__kept_drop(k);
    return rc;
}

void tsr_client_close_kept(void *zmq_ctx)
{
    pthread_mutex_lock(&kept_lock);
    kept_socket_t **k = &kept_sockets;
    while (*k != NULL) {
        kept_socket_t *it = *k;
        if (it->zmq_ctx == zmq_ctx) {
            *k = it->next;
            zmq_close(it->socket);
            free(it->endpoint);
            free(it);
        } else {
            k = &it->next;
        }
    }
    pthread_mutex_unlock(&kept_lock);
}
