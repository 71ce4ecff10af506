#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "accounts.pb-c.h"
#include "tsr_client.h"

int cli_context_open(cli_context_t *ctx, const char *config_path)
{
    tsr_error_t err;
    tsr_error_clear(&err);
    ctx->demo_load = 0;
    ctx->config = tsr_config_load(config_path ? config_path : getenv("TESSERA_CONFIG"), &err);
    if (ctx->config == NULL) {
        fprintf(stderr, "tessera: %s\n", err.message);
        return -1;
    }
    for (size_t i = 0; tsr_config_warning(ctx->config, i) != NULL; i++)
        fprintf(stderr, "tessera: warning: %s\n", tsr_config_warning(ctx->config, i));
    if (tsr_curve_load(ctx->config, "tessera", &ctx->curve, &err) != 0) {
        tsr_config_name_source(ctx->config, &err);
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
    tsr_call_opts_t opts = {.type = type,
                            .actor = &actor,
                            .timeout_ms = timeout_ms,
                            .demo_load = ctx->demo_load,
                            .server = daemon};
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
    tsr_call_opts_t opts = {.type = type,
                            .actor = &actor,
                            .idempotency_key = idempotency_key,
                            .timeout_ms = 30000,
                            .demo_load = ctx->demo_load,
                            .server = daemon};
    if (tsr_client_call_sync(ctx->zmq, endpoint, &opts, payload, reply, &err) != 0) {
        if (tolerated != NULL && strcmp(err.code, tolerated) == 0)
            return 0;
        fprintf(stderr, "tessera: %s: %s%s%s%s\n", type, err.message, err.field[0] ? " (field " : "",
                err.field, err.field[0] ? ")" : "");
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

int cli_output_is_file(const char *output)
{
    return output != NULL && strcmp(output, "-") != 0;
}

/* Writes all of data to fd: 0, or -1 with errno. */
static int cli__write_all(int fd, const uint8_t *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* A report holds people's personal data, and a batch job often runs as a privileged account into a
 * shared directory. So the file is written whole or not at all (a temporary file of a name no one
 * can guess, created only if it is not there, renamed into place); a new file is readable by its
 * owner alone; a file written over keeps its permissions and, where we may, its owner and group;
 * and a path that is not a plain file (a symbolic link someone planted, a FIFO, a device) is
 * refused rather than replaced or written through. "-" is standard output. */
int cli_write_output(const char *output, const uint8_t *data, size_t len)
{
    if (output == NULL || strcmp(output, "-") == 0) {
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
            fprintf(stderr, "tessera: could not write the report to standard output: %s\n", strerror(errno));
            return 1;
        }
        return 0;
    }
    struct stat was;
    int existed = lstat(output, &was) == 0;
    if (!existed && errno != ENOENT) {
        fprintf(stderr, "tessera: could not write %s: %s\n", output, strerror(errno));
        return 1;
    }
    if (existed && !S_ISREG(was.st_mode)) {
        fprintf(stderr,
                "tessera: could not write %s: it is %s, not a plain file; give the path of a file to "
                "write (a report holds personal data, so it is not sent through links or to devices)\n",
                output,
                S_ISLNK(was.st_mode)    ? "a symbolic link"
                : S_ISDIR(was.st_mode)  ? "a directory"
                : S_ISFIFO(was.st_mode) ? "a FIFO"
                                        : "a device or socket");
        return 1;
    }
    size_t n = strlen(output) + 16;
    char *tmp = malloc(n);
    if (tmp == NULL)
        return 1;
    snprintf(tmp, n, "%s.XXXXXX", output);
    int fd = mkstemp(tmp); /* O_EXCL, mode 0600 */
    int ok = fd >= 0 && cli__write_all(fd, data, len) == 0 && fsync(fd) == 0;
    if (ok && existed) {
        ok = fchmod(fd, was.st_mode & 07777) == 0;
        /* Only a privileged account may give a file away; anyone else keeps their own. */
        if (ok && fchown(fd, was.st_uid, was.st_gid) != 0 && errno != EPERM)
            ok = 0;
    }
    int saved = errno;
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    if (ok && rename(tmp, output) != 0) {
        ok = 0;
        saved = errno;
    }
    if (!ok) {
        fprintf(stderr, "tessera: could not write %s: %s\n", output, strerror(saved));
        if (fd >= 0)
            unlink(tmp);
    }
    free(tmp);
    return ok ? 0 : 1;
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

int cli_worker_import(cli_context_t *ctx, const Tsr__Accounts__WorkerImport *in, uint64_t *id, int *ended)
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
    if (ended != NULL)
        *ended = account->state != NULL && strcmp(account->state, "ended") == 0;
    tsr__accounts__worker_account__free_unpacked(account, NULL);
    return 0;
}
