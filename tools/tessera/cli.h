/* cli: what every command of the tessera tool shares: the configuration and a way to call a
 * daemon on the bus as the system. */
#ifndef TESSERA_CLI_H
#define TESSERA_CLI_H

#include <protobuf-c/protobuf-c.h>

#include <stdint.h>

#include "accounts.pb-c.h"
#include "envelope.pb-c.h"
#include "tsr_config.h"
#include "tsr_curve.h"
#include "tsr_error.h"

typedef struct {
    tsr_config_t *config;
    void *zmq;
    tsr_curve_t *curve; /* the tool's keys on the bus ([tessera]); NULL when CURVE is off */
    int demo_load;      /* every call says it carries demo data: a daemon not in demo mode refuses it */
} cli_context_t;

typedef struct {
    const char *group;
    const char *verb;
    const char *usage;
    int (*run)(cli_context_t *ctx, int argc, char **argv);
    int standalone; /* reads no configuration and calls no daemon: run with ctx NULL */
} cli_command_t;

int cli_context_open(cli_context_t *ctx, const char *config_path);
void cli_context_close(cli_context_t *ctx);

/* Calls daemon (by its "<daemon>.rpc" endpoint) as the system actor; on success *reply holds the
 * reply (free with tsr__envelope__free_unpacked). Prints the error and returns -1 on failure. */
int cli_call(cli_context_t *ctx, const char *daemon, const char *type, const char *idempotency_key,
             const ProtobufCMessage *payload, Tsr__Envelope **reply);

/* The same, but an error with code `tolerated` counts as success (and prints nothing). */
int cli_call_quiet(cli_context_t *ctx, const char *daemon, const char *type, const ProtobufCMessage *payload,
                   Tsr__Envelope **reply, const char *tolerated);

/* The same, for long batch jobs: waits up to timeout_ms and prints nothing, leaving err to the
 * command (which knows what to say about it). */
int cli_call_timeout(cli_context_t *ctx, const char *daemon, const char *type,
                     const ProtobufCMessage *payload, int timeout_ms, Tsr__Envelope **reply,
                     tsr_error_t *err);

/* An option a command takes, with the slot its value goes in. */
typedef struct {
    const char *name; /* "--from" */
    const char **value;
    int required;
} cli_option_t;

/* Reads "--name value" pairs into the options' slots (at most 64 options); 0, or -1 having said
 * what is wrong (an unknown option, one without its value or given twice, a required one missing
 * or empty). */
int cli_read_options(int argc, char **argv, cli_option_t *options, size_t n);

/* Writes a command's output to standard output ("-" too), or to FILE whole or not at all (a
 * temporary file renamed into place): a new FILE readable by its owner alone, one written over
 * keeping its permissions, and a path that is not a plain file refused. 0, or 1 having said why. */
int cli_write_output(const char *output, const uint8_t *data, size_t len);

/* Whether --output names a file (given, and not "-"), for the line saying what was written. */
int cli_output_is_file(const char *output);

int cli_demo_load(cli_context_t *ctx, int argc, char **argv);
/* tessera cpis export-plans [--output FILE] · tessera cpis read-response SEQ FILE */
int cli_cpis_export_plans(cli_context_t *ctx, int argc, char **argv);
int cli_cpis_read_response(cli_context_t *ctx, int argc, char **argv);
int cli_cpis_renumber_files(cli_context_t *ctx, int argc, char **argv);
/* tessera report consultations-in-period --start --end --format [--output FILE] */
int cli_report_consultations_in_period(cli_context_t *ctx, int argc, char **argv);
/* tessera import consultations FILE.csv */
int cli_import_consultations(cli_context_t *ctx, int argc, char **argv);
/* tessera import family-context SOURCE FILE.csv --coverage-from --coverage-to [--contact-...] */
int cli_import_family_context(cli_context_t *ctx, int argc, char **argv);
/* tessera audit verify */
int cli_audit_verify(cli_context_t *ctx, int argc, char **argv);
/* tessera audit report KIND --from --to --format [--output FILE] */
int cli_audit_report(cli_context_t *ctx, int argc, char **argv);
/* Adds (or, as the system, updates) a worker's account through accounts.worker.import; their id in
 * *id. -1 having said why. */
/* ended (or NULL): set when the username's account has ended, which the import leaves as it is. */
int cli_worker_import(cli_context_t *ctx, const Tsr__Accounts__WorkerImport *in, uint64_t *id, int *ended);
/* tessera accounts add-administrator --username --name --password-file --dbs-checked-on ... (accounts.c) */
int cli_accounts_republish(cli_context_t *ctx, int argc, char **argv);
int cli_accounts_add_administrator(cli_context_t *ctx, int argc, char **argv);
/* tessera curve keypair SECRET_FILE (curve.c) */
int cli_curve_keypair(cli_context_t *ctx, int argc, char **argv);
/* retention.c */
int cli_retention_due(cli_context_t *ctx, int argc, char **argv);

#endif
