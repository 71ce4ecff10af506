#include "tsr_curve.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>
#include <zmq.h>

#include "tsr_log.h"

/* The suite's processes, each a section of the configuration with its own key pair: a daemon added
 * to the suite is added here (as to scripts/instance.sh). "tessera" is the command-line tool. */
static const char *const curve_peers[] = {"accounts",  "records",       "audit", "workflow", "consultations",
                                          "reporting", "notifications", "cpis",  "gateway",  "tessera"};
#define CURVE_PEERS (sizeof(curve_peers) / sizeof(curve_peers[0]))
#define CURVE_Z85_LEN 40
#define CURVE_KEY_LEN 32

struct tsr_curve {
    char self[32];
    char public_keys[CURVE_PEERS][CURVE_Z85_LEN + 1];
    uint8_t public_raw[CURVE_PEERS][CURVE_KEY_LEN];
    char secret_key[CURVE_Z85_LEN + 1];
    void *zap;
    pthread_t zap_thread;
    int zap_running;
};

static tsr_curve_t *curve__current;

static int curve__peer(const char *name)
{
    for (size_t i = 0; i < CURVE_PEERS; i++)
        if (strcmp(curve_peers[i], name) == 0)
            return (int)i;
    return -1;
}

/* A Z85 key of 40 characters, decoded into raw (32 bytes). */
static int curve__decode(const char *text, uint8_t raw[CURVE_KEY_LEN])
{
    return strlen(text) == CURVE_Z85_LEN && zmq_z85_decode(raw, text) != NULL ? 0 : -1;
}

/* The secret key in path: one line of 40 Z85 characters, in a file its owner alone can read. */
static int curve__read_secret(const char *key, const char *path, char out[CURVE_Z85_LEN + 1],
                              tsr_error_t *err)
{
    char line[128] = "";
    if (tsr_config_read_secret_file(key, path, line, sizeof(line), err) != 0)
        return -1;
    uint8_t raw[CURVE_KEY_LEN];
    if (curve__decode(line, raw) != 0) {
        sodium_memzero(line, sizeof(line));
        return tsr_error_set(err, TSR_E_INVALID, "bad_config", key,
                             "%s: %s does not hold a secret key (one line of 40 Z85 characters, as `tessera "
                             "curve keypair` writes).",
                             key, path);
    }
    memcpy(out, line, CURVE_Z85_LEN + 1);
    sodium_memzero(line, sizeof(line));
    return 0;
}

int tsr_curve_load(const tsr_config_t *config, const char *self, tsr_curve_t **out, tsr_error_t *err)
{
    *out = NULL;
    int me = curve__peer(self);
    const char *any = NULL;
    for (size_t i = 0; i < CURVE_PEERS && any == NULL; i++) {
        char key[64];
        snprintf(key, sizeof(key), "%s.curve_public_key", curve_peers[i]);
        if (tsr_config_get(config, key, NULL) != NULL)
            any = curve_peers[i];
    }
    if (any == NULL)
        return 0;
    if (me < 0)
        return tsr_error_set(err, TSR_E_INVALID, "bad_config", NULL,
                             "CURVE is on, and '%s' is not one of the suite's processes with a key pair.",
                             self);
    tsr_curve_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    snprintf(c->self, sizeof(c->self), "%s", self);
    for (size_t i = 0; i < CURVE_PEERS; i++) {
        char key[64];
        snprintf(key, sizeof(key), "%s.curve_public_key", curve_peers[i]);
        const char *text = tsr_config_get(config, key, NULL);
        if (text == NULL) {
            tsr_error_set(
                err, TSR_E_INVALID, "bad_config", key,
                "CURVE is on ([%s] has a curve_public_key), so every process of the suite needs one: "
                "%s is missing.",
                any, key);
            goto fail;
        }
        if (curve__decode(text, c->public_raw[i]) != 0) {
            tsr_error_set(err, TSR_E_INVALID, "bad_config", key,
                          "%s is not a public key (40 Z85 characters, as `tessera curve keypair` prints).",
                          key);
            goto fail;
        }
        memcpy(c->public_keys[i], text, CURVE_Z85_LEN + 1);
    }
    char key[64];
    snprintf(key, sizeof(key), "%s.curve_secret_key_file", self);
    const char *path = tsr_config_get(config, key, NULL);
    if (path == NULL) {
        tsr_error_set(err, TSR_E_INVALID, "bad_config", key, "CURVE is on, and %s is not set.", key);
        goto fail;
    }
    if (curve__read_secret(key, path, c->secret_key, err) != 0)
        goto fail;
    /* The secret must be the one of self's public key: else every peer would refuse this process. */
    char derived[CURVE_Z85_LEN + 1];
    if (zmq_curve_public(derived, c->secret_key) != 0 || strcmp(derived, c->public_keys[me]) != 0) {
        tsr_error_set(err, TSR_E_INVALID, "bad_config", key,
                      "%s (%s) does not hold the secret key of %s.curve_public_key.", key, path, self);
        goto fail;
    }
    *out = c;
    return 0;
fail:
    free(c);
    return -1;
}

void tsr_curve_use(tsr_curve_t *curve)
{
    curve__current = curve;
}

tsr_curve_t *tsr_curve_current(void)
{
    return curve__current;
}

int tsr_curve_serve(void *socket, tsr_error_t *err)
{
    const tsr_curve_t *c = curve__current;
    if (c == NULL)
        return 0;
    int one = 1;
    /* The domain makes ZeroMQ ask the authenticator about every peer. */
    if (zmq_setsockopt(socket, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, c->secret_key, CURVE_Z85_LEN) != 0 ||
        zmq_setsockopt(socket, ZMQ_ZAP_DOMAIN, "tessera", strlen("tessera")) != 0)
        return tsr_error_set(err, TSR_E_INTERNAL, "zmq_error", NULL, "Cannot set CURVE on a socket: %s",
                             zmq_strerror(errno));
    return 0;
}

int tsr_curve_connect(void *socket, const char *server, tsr_error_t *err)
{
    const tsr_curve_t *c = curve__current;
    if (c == NULL)
        return 0;
    int peer = curve__peer(server), me = curve__peer(c->self);
    if (peer < 0)
        return tsr_error_set(err, TSR_E_INVALID, "bad_config", NULL,
                             "CURVE is on, and '%s' is not one of the suite's daemons with a key.", server);
    if (zmq_setsockopt(socket, ZMQ_CURVE_SERVERKEY, c->public_keys[peer], CURVE_Z85_LEN) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_PUBLICKEY, c->public_keys[me], CURVE_Z85_LEN) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, c->secret_key, CURVE_Z85_LEN) != 0)
        return tsr_error_set(err, TSR_E_INTERNAL, "zmq_error", NULL, "Cannot set CURVE on a socket: %s",
                             zmq_strerror(errno));
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * The authenticator (ZeroMQ RFC 27, ZAP)
 * ---------------------------------------------------------------------------------------------- */

/* A request's frames: version, request id, domain, address, routing id, mechanism, credentials. */
#define ZAP_FRAMES 7

/* The answer to a request (request id: frame 1 of it, empty when it had none). */
static void curve__zap_reply(void *zap, const zmq_msg_t *request_id, const char *status, const char *text,
                             const char *user)
{
    zmq_send(zap, "1.0", 3, ZMQ_SNDMORE);
    if (request_id != NULL)
        zmq_send(zap, zmq_msg_data((zmq_msg_t *)request_id), zmq_msg_size((zmq_msg_t *)request_id),
                 ZMQ_SNDMORE);
    else
        zmq_send(zap, "", 0, ZMQ_SNDMORE);
    zmq_send(zap, status, strlen(status), ZMQ_SNDMORE);
    zmq_send(zap, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(zap, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(zap, "", 0, 0);
}

/* The peer a request is about, when its mechanism is CURVE and its key one of the suite's; else -1. */
static int curve__zap_peer(const tsr_curve_t *c, zmq_msg_t *frames, size_t n)
{
    if (n != ZAP_FRAMES || zmq_msg_size(&frames[5]) != 5 ||
        memcmp(zmq_msg_data(&frames[5]), "CURVE", 5) != 0 || zmq_msg_size(&frames[6]) != CURVE_KEY_LEN)
        return -1;
    for (size_t i = 0; i < CURVE_PEERS; i++)
        if (memcmp(zmq_msg_data(&frames[6]), c->public_raw[i], CURVE_KEY_LEN) == 0)
            return (int)i;
    return -1;
}

static void *curve__zap_main(void *arg)
{
    tsr_curve_t *c = arg;
    for (;;) {
        zmq_msg_t frames[ZAP_FRAMES + 1];
        size_t n = 0;
        int more = 1;
        while (more) {
            zmq_msg_t part;
            zmq_msg_init(&part);
            if (zmq_msg_recv(&part, c->zap, 0) < 0) {
                int why = errno;
                zmq_msg_close(&part);
                if (why == EINTR) /* a signal for another thread: read on */
                    continue;
                /* Broken off inside a request: it is answered all the same, or REP stays stuck. */
                if (why != ETERM && n > 0)
                    curve__zap_reply(c->zap, n >= 2 ? &frames[1] : NULL, "500", "Broken request", "");
                for (size_t i = 0; i < n; i++)
                    zmq_msg_close(&frames[i]);
                if (why == ETERM)
                    return NULL;
                n = 0;
                more = -1;
                break;
            }
            more = zmq_msg_more(&part);
            if (n < ZAP_FRAMES + 1)
                frames[n++] = part;
            else
                zmq_msg_close(&part);
        }
        if (more < 0)
            continue;
        /* Every request is answered (REP takes no second request before): one that is not a suite's
         * CURVE key is refused. */
        int peer = curve__zap_peer(c, frames, n);
        if (peer >= 0) {
            curve__zap_reply(c->zap, n >= 2 ? &frames[1] : NULL, "200", "OK", curve_peers[peer]);
        } else {
            char address[64] = "";
            if (n >= 4)
                snprintf(address, sizeof(address), "%.*s", (int)zmq_msg_size(&frames[3]),
                         (const char *)zmq_msg_data(&frames[3]));
            tsr_log_warn(NULL, "refused a peer on the bus from %s: its key is not one of the suite's",
                         address[0] ? address : "an unknown address");
            curve__zap_reply(c->zap, n >= 2 ? &frames[1] : NULL, "400", "Not one of the suite's keys", "");
        }
        for (size_t i = 0; i < n; i++)
            zmq_msg_close(&frames[i]);
    }
}

int tsr_curve_authenticate(tsr_curve_t *self, void *zmq_ctx, tsr_error_t *err)
{
    if (self == NULL)
        return 0;
    self->zap = zmq_socket(zmq_ctx, ZMQ_REP);
    int zero = 0;
    if (self->zap == NULL || zmq_setsockopt(self->zap, ZMQ_LINGER, &zero, sizeof(zero)) != 0 ||
        zmq_bind(self->zap, "inproc://zeromq.zap.01") != 0) {
        tsr_error_set(err, TSR_E_INTERNAL, "zmq_error", NULL, "Cannot start the bus's authenticator: %s",
                      zmq_strerror(errno));
        if (self->zap)
            zmq_close(self->zap);
        self->zap = NULL;
        return -1;
    }
    /* From here the socket is the thread's alone (pthread_create is the memory barrier ZeroMQ asks
     * for when a socket moves between threads). */
    if (pthread_create(&self->zap_thread, NULL, curve__zap_main, self) != 0) {
        zmq_close(self->zap);
        self->zap = NULL;
        return tsr_error_set(err, TSR_E_INTERNAL, "thread_error", NULL,
                             "Cannot start the bus's authenticator's thread.");
    }
    self->zap_running = 1;
    return 0;
}

void tsr_curve_stop(tsr_curve_t *self, void *zmq_ctx)
{
    if (self == NULL || !self->zap_running)
        return;
    zmq_ctx_shutdown(zmq_ctx);
    pthread_join(self->zap_thread, NULL);
    zmq_close(self->zap);
    self->zap = NULL;
    self->zap_running = 0;
}

void tsr_curve_destroy(tsr_curve_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    tsr_curve_t *self = *self_p;
    if (curve__current == self)
        curve__current = NULL;
    /* The context is the caller's: a handler still running here was not stopped, a mistake. */
    if (self->zap_running)
        tsr_log_error(NULL, "tsr_curve_destroy: the authenticator was not stopped first");
    sodium_memzero(self->secret_key, sizeof(self->secret_key));
    free(self);
    *self_p = NULL;
}

int tsr_curve_keypair(char public_key[41], char secret_key[41], tsr_error_t *err)
{
    if (zmq_curve_keypair(public_key, secret_key) != 0)
        return tsr_error_set(err, TSR_E_INTERNAL, "zmq_error", NULL,
                             "This ZeroMQ cannot make CURVE keys (%s): it was built without CURVE.",
                             zmq_strerror(errno));
    return 0;
}
