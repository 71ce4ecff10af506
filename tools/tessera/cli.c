#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "accounts.pb-c.h"
#include "tsr_client.h"

int cli_context_open(cli_context_t *ctx, const char *config_path)
{
    tsr_error_t err;
    tsr_error_clear(&err);
    ctx->config = tsr_config_load(config_path ? config_path : getenv("TESSERA_CONFIG"), &err);
    if (ctx->config == NULL) {
        fprintf(stderr, "tessera: %s\n", err.message);
        return -1;
    }
    if (tsr_curve_load(ctx->config, "tessera", &ctx->curve, &err) != 0) {
        fprintf(stderr, "tessera: %s\n", err.message);
        tsr_config_destroy(&ctx->config);
        return -1;
    }
    tsr_curve_use(ctx->curve);
    ctx->zmq = zmq_ctx_new();
    return 0;
}

void cli_context_close(cli_context_t *ctx)
{
    zmq_ctx_term(ctx->zmq);
    tsr_curve_use(NULL);
    tsr_curve_destroy(&ctx->curve);
    tsr_config_destroy(&ctx->config);
}

int cli_call_timeout(cli_context_t *ctx, const char *daemon, const char *type,
                     const ProtobufCMessage *payload, int timeout_ms, Tsr__Envelope **reply, tsr_error_t *err)
{
    tsr_error_clear(err);
    char key[128];
    snprintf(key, sizeof(key), "%s.rpc", daemon);
    const char *endpoint = tsr_config_require(ctx->config, key, err);
    if (endpoint == NULL)
        return -1;
    static char *system_roles[] = {"system"};
    Tsr__Actor actor = TSR__ACTOR__INIT;
    actor.username = "system";
    actor.display_name = "Tessera batch job";
    actor.n_roles = 1;
    actor.roles = system_roles;
    tsr_call_opts_t opts = {.type = type, .actor = &actor, .timeout_ms = timeout_ms};
    return tsr_client_call_sync(ctx->zmq, endpoint, &opts, payload, reply, err);
}

static int cli__call(cli_context_t *ctx, const char *daemon, const char *type, const char *idempotency_key,
                     const ProtobufCMessage *payload, Tsr__Envelope **reply, const char *tolerated)
{
    tsr_error_t err;
    tsr_error_clear(&err);
    char key[128];
    snprintf(key, sizeof(key), "%s.rpc", daemon);
    const char *endpoint = tsr_config_require(ctx->config, key, &err);
    if (endpoint == NULL) {
        fprintf(stderr, "tessera: %s\n", err.message);
        return -1;
    }
    static char *system_roles[] = {"system"};
    Tsr__Actor actor = TSR__ACTOR__INIT;
    actor.username = "system";
    actor.display_name = "Tessera batch job";
    actor.n_roles = 1;
    actor.roles = system_roles;
    tsr_call_opts_t opts = {
        .type = type, .actor = &actor, .idempotency_key = idempotency_key, .timeout_ms = 30000};
    if (tsr_client_call_sync(ctx->zmq, endpoint, &opts, payload, reply, &err) != 0) {
        if (tolerated != NULL && strcmp(err.code, tolerated) == 0)
            return 0;
        fprintf(stderr, "tessera: %s: %s%s%s\n", type, err.message, err.field[0] ? " (field " : "",
                err.field[0] ? err.field : "");
        if (err.field[0])
            fputs(")\n", stderr);
        return -1;
    }
    return 0;
}

int cli_call(cli_context_t *ctx, const char *daemon, const char *type, const char *idempotency_key,
             const ProtobufCMessage *payload, Tsr__Envelope **reply)
{
    return cli__call(ctx, daemon, type, idempotency_key, payload, reply, NULL);
}

int cli_call_quiet(cli_context_t *ctx, const char *daemon, const char *type, const ProtobufCMessage *payload,
                   Tsr__Envelope **reply, const char *tolerated)
{
    return cli__call(ctx, daemon, type, NULL, payload, reply, tolerated);
}

int cli_write_output(const char *output, const uint8_t *data, size_t len)
{
    if (output == NULL) {
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
            fprintf(stderr, "tessera: could not write the report to standard output: %s\n", strerror(errno));
            return 1;
        }
        return 0;
    }
    size_t n = strlen(output) + 16;
    char *tmp = malloc(n);
    if (tmp == NULL)
        return 1;
    snprintf(tmp, n, "%s.partial", output);
    FILE *f = fopen(tmp, "wb");
    int ok = f != NULL && fwrite(data, 1, len, f) == len;
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    if (!ok || rename(tmp, output) != 0) {
        fprintf(stderr, "tessera: could not write %s: %s\n", output, strerror(errno));
        unlink(tmp);
        free(tmp);
        return 1;
    }
    free(tmp);
    return 0;
}

static cli_option_t *cli__option(const char *arg, cli_option_t *options, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(arg, options[k].name) == 0)
            return &options[k];
    return NULL;
}

int cli_read_options(int argc, char **argv, cli_option_t *options, size_t n)
{
    unsigned long long given = 0; /* which options were given, by index (a command has a few) */
    for (int i = 0; i < argc; i++) {
        cli_option_t *option = cli__option(argv[i], options, n);
        /* "--start --end 2022-12-01": --start was left without its value, rather than being
         * "--end" and 2022-12-01 a stray word. */
        if (option == NULL || i + 1 >= argc || cli__option(argv[i + 1], options, n) != NULL) {
            fprintf(stderr, "tessera: %s %s\n", argv[i],
                    option ? "needs a value" : "is not an option of this command");
            return -1;
        }
        /* Given twice, one of the two would be dropped without a word. */
        unsigned long long bit = 1ULL << (size_t)(option - options);
        if (given & bit) {
            fprintf(stderr, "tessera: %s is given twice\n", argv[i]);
            return -1;
        }
        given |= bit;
        *option->value = argv[++i];
    }
    for (size_t k = 0; k < n; k++)
        if (options[k].required && (*options[k].value == NULL || (*options[k].value)[0] == '\0')) {
            fprintf(stderr, "tessera: %s is required\n", options[k].name);
            return -1;
        }
    return 0;
}

int cli_worker_import(cli_context_t *ctx, const Tsr__Accounts__WorkerImport *in, uint64_t *id)
{
    Tsr__Envelope *reply = NULL;
    if (cli_call(ctx, "accounts", "accounts.worker.import", NULL, &in->base, &reply) != 0)
        return -1;
    Tsr__Accounts__WorkerAccount *account =
        tsr__accounts__worker_account__unpack(NULL, reply->payload.len, reply->payload.data);
    tsr__envelope__free_unpacked(reply, NULL);
    if (account == NULL) {
        fprintf(stderr, "tessera: the accounts service's reply for %s cannot be read\n", in->username);
        return -1;
    }
    *id = account->id;
    tsr__accounts__worker_account__free_unpacked(account, NULL);
    return 0;
}
