/* tsr_client: calls another daemon over ZeroMQ (DEALER to its ROUTER) and gets the reply back on
 * the loop. Each call has an id, a deadline and the acting worker; a call not answered by its
 * deadline completes with unavailable, and a late reply is dropped. */
#ifndef TSR_CLIENT_H
#define TSR_CLIENT_H

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>
#include <uv.h>

#include "envelope.pb-c.h"
#include "tsr_error.h"

typedef struct tsr_client tsr_client_t;

typedef struct {
    const char *type;            /* e.g. "records.organisation.get" */
    const Tsr__Actor *actor;     /* may be NULL */
    const char *trace_id;        /* may be NULL: a new one is made */
    const char *idempotency_key; /* commands: may be NULL */
    int timeout_ms;              /* 0: the client's default */
    int demo_load;               /* sent by `tessera demo load`: refused by a daemon not in demo mode */
    /* The daemon called, whose CURVE key the call is made to; NULL: the type's first part, which is
     * not a daemon's for the built-ins every daemon answers (tsr.health). */
    const char *server;
} tsr_call_opts_t;

/* reply is NULL when err is set (transport failure or timeout; err->not_sent when the request never
 * left, so that the daemon cannot have acted on it); when the daemon answered with an error, reply
 * is set and err holds its error. reply is freed after the callback returns. */
typedef void (*tsr_client_cb)(void *arg, const Tsr__Envelope *reply, const tsr_error_t *err);

/* name is the daemon called, for messages and metrics ("records"). */
tsr_client_t *tsr_client_new(uv_loop_t *loop, void *zmq_ctx, const char *name, const char *endpoint,
                             int default_timeout_ms);
void tsr_client_destroy(tsr_client_t **self_p);

/* payload may be NULL (an empty request). Returns 0, or -1 when the call could not be sent, in
 * which case cb is not called. */
int tsr_client_call(tsr_client_t *self, const tsr_call_opts_t *opts, const ProtobufCMessage *payload,
                    tsr_client_cb cb, void *arg);
int tsr_client_in_flight(const tsr_client_t *self);
/* Completes every call in flight at once with err (a drain running out of time gives its callers an
 * answer rather than none). The client stays usable. */
void tsr_client_fail_all(tsr_client_t *self, const tsr_error_t *err);
const char *tsr_client_name(const tsr_client_t *self);

/* A blocking call for command-line tools, outside any loop. On success *reply is set and the
 * caller frees it with tsr__envelope__free_unpacked; on failure (including an error reply) err
 * says why and *reply is NULL. */
int tsr_client_call_sync(void *zmq_ctx, const char *endpoint, const tsr_call_opts_t *opts,
                         const ProtobufCMessage *payload, Tsr__Envelope **reply, tsr_error_t *err);
/* The same from a daemon's thread-pool thread: the connection is kept for the thread's next call to
 * that endpoint (a new one only after a failure). tsr_client_close_kept closes every kept socket of
 * a context; the daemon calls it once no call can run, before ending the context. */
int tsr_client_call_kept(void *zmq_ctx, const char *endpoint, const tsr_call_opts_t *opts,
                         const ProtobufCMessage *payload, Tsr__Envelope **reply, tsr_error_t *err);
void tsr_client_close_kept(void *zmq_ctx);

#endif
