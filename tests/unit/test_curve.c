/* tsr_curve: the bus's CURVE security. Off without keys; on, a daemon's ROUTER answers a peer with one
 * of the suite's keys and hears nothing from a peer with another key or none; the settings' faults
 * are named. Real ZeroMQ sockets over tcp:// on loopback. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "tsr_config.h"
#include "tsr_curve.h"

static const char *const peers[] = {"accounts",  "records",       "audit", "workflow", "consultations",
                                    "reporting", "notifications", "cpis",  "gateway",  "tessera"};
#define PEERS (sizeof(peers) / sizeof(peers[0]))

static char dir[64];
static char public_keys[PEERS][41];
static char secret_files[PEERS][128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/tsr-curve-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    for (size_t i = 0; i < PEERS; i++) {
        char secret[41];
        tsr_error_t err;
        if (tsr_curve_keypair(public_keys[i], secret, &err) != 0)
            return -1;
        snprintf(secret_files[i], sizeof(secret_files[i]), "%s/%s.key", dir, peers[i]);
        FILE *f = fopen(secret_files[i], "w");
        if (f == NULL)
            return -1;
        fprintf(f, "%s\n", secret);
        fclose(f);
        chmod(secret_files[i], 0600);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A configuration with every peer's public key (but `skip`'s, when given) and each one's secret
 * key file; `extra` appended. */
static tsr_config_t *config_with(const char *skip, const char *extra)
{
    char path[128], text[8192] = "";
    size_t len = 0;
    for (size_t i = 0; i < PEERS; i++) {
        len += (size_t)snprintf(text + len, sizeof(text) - len, "[%s]\n", peers[i]);
        if (skip == NULL || strcmp(skip, peers[i]) != 0)
            len +=
                (size_t)snprintf(text + len, sizeof(text) - len, "curve_public_key = %s\n", public_keys[i]);
        len +=
            (size_t)snprintf(text + len, sizeof(text) - len, "curve_secret_key_file = %s\n", secret_files[i]);
    }
    snprintf(text + len, sizeof(text) - len, "%s", extra ? extra : "");
    snprintf(path, sizeof(path), "%s/tessera.conf", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    tsr_error_t err;
    tsr_config_t *c = tsr_config_load(path, &err);
    assert_non_null(c);
    return c;
}

static void test_without_keys_curve_is_off_and_sockets_are_left_alone(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof(path), "%s/plain.conf", dir);
    FILE *f = fopen(path, "w");
    fputs("[records]\nrpc = ipc:///tmp/x\n", f);
    fclose(f);
    tsr_error_t err;
    tsr_config_t *config = tsr_config_load(path, &err);
    tsr_curve_t *curve = (tsr_curve_t *)1;
    assert_int_equal(tsr_curve_load(config, "records", &curve, &err), 0);
    assert_null(curve);
    tsr_curve_use(NULL);
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_ROUTER);
    assert_int_equal(tsr_curve_serve(s, &err), 0);
    int mechanism = -1;
    size_t size = sizeof(mechanism);
    zmq_getsockopt(s, ZMQ_MECHANISM, &mechanism, &size);
    assert_int_equal(mechanism, ZMQ_NULL);
    zmq_close(s);
    zmq_ctx_term(ctx);
    tsr_config_destroy(&config);
}

/* Sends "ping" from a DEALER on client_ctx to the ROUTER on server_ctx; whether it arrived in time. */
static int ping_arrives(void *router, void *dealer)
{
    zmq_send(dealer, "ping", 4, ZMQ_DONTWAIT);
    zmq_pollitem_t item = {router, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, 1500) <= 0)
        return 0;
    char id[256], body[16];
    int n = zmq_recv(router, id, sizeof(id), 0);
    assert_true(n > 0);
    n = zmq_recv(router, body, sizeof(body), 0);
    return n == 4 && memcmp(body, "ping", 4) == 0;
}

static void test_a_daemon_hears_the_suites_keys_and_no_other(void **state)
{
    (void)state;
    tsr_error_t err;
    /* The server: records, with the authenticator. */
    tsr_config_t *config = config_with(NULL, NULL);
    tsr_curve_t *records = NULL;
    assert_int_equal(tsr_curve_load(config, "records", &records, &err), 0);
    assert_non_null(records);
    void *server_ctx = zmq_ctx_new();
    assert_int_equal(tsr_curve_authenticate(records, server_ctx, &err), 0);
    tsr_curve_use(records);
    void *router = zmq_socket(server_ctx, ZMQ_ROUTER);
    int zero = 0;
    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof(zero));
    assert_int_equal(tsr_curve_serve(router, &err), 0);
    assert_int_equal(zmq_bind(router, "tcp://127.0.0.1:*"), 0);
    char endpoint[128];
    size_t size = sizeof(endpoint);
    zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &size);

    /* The gateway, one of the suite: heard. */
    tsr_curve_t *gateway = NULL;
    assert_int_equal(tsr_curve_load(config, "gateway", &gateway, &err), 0);
    tsr_curve_use(gateway);
    void *client_ctx = zmq_ctx_new();
    void *dealer = zmq_socket(client_ctx, ZMQ_DEALER);
    zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof(zero));
    assert_int_equal(tsr_curve_connect(dealer, "records", &err), 0);
    assert_int_equal(zmq_connect(dealer, endpoint), 0);
    assert_true(ping_arrives(router, dealer));
    zmq_close(dealer);

    /* A valid key pair that is not one of the suite's: refused by the authenticator. */
    char stranger_public[41], stranger_secret[41];
    assert_int_equal(tsr_curve_keypair(stranger_public, stranger_secret, &err), 0);
    dealer = zmq_socket(client_ctx, ZMQ_DEALER);
    zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(dealer, ZMQ_CURVE_SERVERKEY, public_keys[1], 40);
    zmq_setsockopt(dealer, ZMQ_CURVE_PUBLICKEY, stranger_public, 40);
    zmq_setsockopt(dealer, ZMQ_CURVE_SECRETKEY, stranger_secret, 40);
    assert_int_equal(zmq_connect(dealer, endpoint), 0);
    assert_false(ping_arrives(router, dealer));
    zmq_close(dealer);

    /* No CURVE at all: nothing gets through either. */
    dealer = zmq_socket(client_ctx, ZMQ_DEALER);
    zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof(zero));
    assert_int_equal(zmq_connect(dealer, endpoint), 0);
    assert_false(ping_arrives(router, dealer));
    zmq_close(dealer);

    zmq_ctx_term(client_ctx);
    zmq_close(router);
    tsr_curve_stop(records, server_ctx);
    zmq_ctx_term(server_ctx);
    tsr_curve_use(NULL);
    tsr_curve_destroy(&records);
    tsr_curve_destroy(&gateway);
    tsr_curve_destroy(&gateway); /* safe twice */
    tsr_config_destroy(&config);
}

/* Loading as `self` fails, and the message holds `words`. */
static void assert_refused(tsr_config_t *config, const char *self, const char *words)
{
    tsr_error_t err;
    tsr_curve_t *curve = NULL;
    assert_int_equal(tsr_curve_load(config, self, &curve, &err), -1);
    assert_null(curve);
    if (strstr(err.message, words) == NULL)
        fail_msg("expected \"%s\" in: %s", words, err.message);
    tsr_config_destroy(&config);
}

static void test_each_fault_of_the_keys_is_named(void **state)
{
    (void)state;
    assert_refused(config_with("audit", NULL), "records", "audit.curve_public_key is missing");
    setenv("TESSERA_WORKFLOW_CURVE_PUBLIC_KEY", "not-a-key", 1);
    assert_refused(config_with(NULL, NULL), "records", "workflow.curve_public_key is not a public key");
    unsetenv("TESSERA_WORKFLOW_CURVE_PUBLIC_KEY");
    /* A secret key another user could read, or that is missing, or someone else's. */
    chmod(secret_files[1], 0644);
    assert_refused(config_with(NULL, NULL), "records", "can be read by other users");
    chmod(secret_files[1], 0600);
    char other[160];
    snprintf(other, sizeof(other), "%s/none.key", dir);
    setenv("TESSERA_RECORDS_CURVE_SECRET_KEY_FILE", other, 1);
    assert_refused(config_with(NULL, NULL), "records", "cannot read");
    setenv("TESSERA_RECORDS_CURVE_SECRET_KEY_FILE", secret_files[2], 1);
    assert_refused(config_with(NULL, NULL), "records",
                   "does not hold the secret key of records.curve_public_key");
    unsetenv("TESSERA_RECORDS_CURVE_SECRET_KEY_FILE");
    assert_refused(config_with(NULL, NULL), "stranger", "not one of the suite's processes");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_without_keys_curve_is_off_and_sockets_are_left_alone),
        cmocka_unit_test(test_a_daemon_hears_the_suites_keys_and_no_other),
        cmocka_unit_test(test_each_fault_of_the_keys_is_named),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
