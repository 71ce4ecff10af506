/* tsr_daemon: the skeleton every Tessera daemon is built on, so that each reads like the others.
 *
 *   d = tsr_daemon_new("records", argc, argv)     command line, configuration and log
 *   tsr_daemon_migrate(d, migrations, n)          this copy's claim on its endpoints; database and
 *                                                 its migrations
 *   tsr_daemon_handle(d, handlers, n)             request handlers (ROUTER)
 *   tsr_daemon_subscribe(d, "records", apply)     events of another daemon (inbox)
 *   tsr_daemon_run(d)                             bind, loop, drain on SIGTERM
 *
 * A handler runs on the thread pool inside a database transaction that the skeleton opens and
 * commits; events it emits go to the outbox in that same transaction, and the reply is sent only
 * after the commit. A handler that fails leaves nothing behind: the transaction is rolled back.
 * A command with an idempotency key is applied once: a repeat gets the first reply.
 *
 * A handler named in tsr_daemon_handle_reads writes nothing but its events (a read and its audit entry): it
 * runs in a read-only transaction, and the events it emits are kept in memory, then written with the
 * events of the other reads of that moment in one transaction, one commit to disk for them all
 * (group commit, tsr_batch). Its reply is sent only once that commit has succeeded; if it fails,
 * every read of the group is answered with the error instead. */
#ifndef TSR_DAEMON_H
#define TSR_DAEMON_H

#include <libpq-fe.h>
#include <protobuf-c/protobuf-c.h>
#include <uv.h>

#include "envelope.pb-c.h"
#include "tsr_client.h"
#include "tsr_config.h"
#include "tsr_db.h"
#include "tsr_error.h"
#include "tsr_migrate.h"

typedef struct tsr_daemon tsr_daemon_t;

/* One request being handled: what a handler reads and fills. */
typedef struct {
    tsr_daemon_t *daemon;
    PGconn *conn; /* inside the open transaction */
    const Tsr__Envelope *request;
    const Tsr__Actor *actor; /* never NULL: an empty actor when the caller sent none */
    const char *trace_id;
    const ProtobufCMessage *payload; /* the request, unpacked as the handler's declared type */
    /* Filled by tsr_call_reply. */
    uint8_t *reply_payload;
    size_t reply_len;
    int events_emitted;
    /* Set by a handler that refuses but must keep what it wrote (the audit event of a refused
     * attempt): the transaction commits and the caller still gets the error. */
    int commit_refusal;
    /* The skeleton's own: where a read's events wait for the group commit (tsr_daemon_handle_reads). */
    void *held;
} tsr_call_t;

typedef int (*tsr_handler_fn)(tsr_call_t *call, tsr_error_t *err);

typedef struct {
    const char *type;
    tsr_handler_fn fn;
    const ProtobufCMessageDescriptor *request; /* the payload's type, checked before fn runs; may be NULL */
} tsr_handler_def_t;

/* The request's payload, already unpacked as the handler's declared type. */
const ProtobufCMessage *tsr_call_payload(const tsr_call_t *call);
/* Sets the reply; a handler that sets none replies with an empty payload. */
void tsr_call_reply(tsr_call_t *call, const ProtobufCMessage *msg);
/* Asks another daemon a question from inside a handler, and waits for the answer (the handler runs
 * on the thread pool, so waiting blocks no loop). The call's actor and trace go with it; it gives up
 * at the caller's own deadline (at most tessera.call_timeout_ms). On success *reply is the answer
 * unpacked as reply_desc (free with protobuf_c_message_free_unpacked); on failure err is the other
 * daemon's error as it gave it (a 404 stays a 404) or unavailable. For reads and checks: the other
 * daemon commits on its own, outside this call's transaction. */
int tsr_call_ask(tsr_call_t *call, const char *daemon, const char *type, const ProtobufCMessage *payload,
                 const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply, tsr_error_t *err);
/* The same for a command the other daemon applies and commits on its own, with key as its
 * idempotency key: the other daemon may have committed while this call's own transaction then
 * failed (its commit, or the answer came too late), and the user's retry of this call must get
 * the first answer back rather than apply it a second time. key names the one effect (the
 * acknowledgement of request 12 with this text), so that a retry asks with the same key. */
int tsr_call_command(tsr_call_t *call, const char *key, const char *daemon, const char *type,
                     const ProtobufCMessage *payload, const ProtobufCMessageDescriptor *reply_desc,
                     ProtobufCMessage **reply, tsr_error_t *err);
/* The same for a daemon's own work outside a request (a scheduled job, on the thread pool): asks as
 * actor (the system's, for a job), with trace_id (NULL: a new one) and deadline_ms (0: none but
 * tessera.call_timeout_ms). */
int tsr_daemon_ask(tsr_daemon_t *self, const Tsr__Actor *actor, const char *trace_id, int64_t deadline_ms,
                   const char *daemon, const char *type, const ProtobufCMessage *payload,
                   const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply, tsr_error_t *err);
/* Appends an event to the outbox in the call's transaction, attributed to the call's actor. */
int tsr_call_emit(tsr_call_t *call, const char *type, const ProtobufCMessage *msg, tsr_error_t *err);
/* The same for n events of one type, in that order, written in one statement. */
int tsr_call_emit_many(tsr_call_t *call, const char *type, const ProtobufCMessage *const *msgs, size_t n,
                       tsr_error_t *err);

/* One event being applied by a consumer, inside the transaction that also records it in the inbox. */
typedef struct {
    tsr_daemon_t *daemon;
    PGconn *conn;
    const Tsr__Envelope *event;
    /* Names the state of the transaction the event is applied in: the same for the events of one
     * batch, a new number, unique in the process, after anything of the batch was undone. What an
     * apply learns of its own schema (a row it locked, a value it wrote) may be kept for the next
     * event while txn stays the same, and must be read again when it changes. */
    uint64_t txn;
} tsr_event_t;
typedef int (*tsr_apply_fn)(tsr_event_t *ev, tsr_error_t *err);
/* A call for what a consumer does at an event's doing (events it emits, questions it asks): in the
 * event's transaction and trace, as the event's actor, or as fallback when the event names none. */
tsr_call_t tsr_call_for_event(tsr_event_t *ev, const Tsr__Actor *fallback);
/* Writes what the applies of one transaction gathered (ev->event is NULL; ev->txn names the
 * transaction, as for the applies): called after the last apply of a batch, before the inbox is
 * advanced and the transaction committed, so that a consumer may write a batch's rows in one
 * statement instead of one each. When it fails with the fault of an event (not a database outage),
 * the batch is done again one savepoint an event with flush called after each apply, so that the
 * event at fault is set aside as any other that cannot be applied. */
typedef int (*tsr_flush_fn)(tsr_event_t *ev, tsr_error_t *err);
/* Whether a consumer applies an event at all (1) or passes over it (0), judged from the event alone
 * before any transaction: most of a busy producer's events are of no interest to a given consumer,
 * and passing over one costs no round trip to the database. Asked once per event as it arrives, on
 * the event loop's thread, so it must use nothing but the event. */
typedef int (*tsr_wants_fn)(const Tsr__Envelope *event);

/* A daemon's exit status (docs/OPERATIONS.md, "Exit status"): 0 after a clean drain; 1 when the
 * start failed (database, migration, bind, another copy running) or a drain timed out; 2 for the
 * command line or the configuration, a setting to put right, which the systemd units do not restart
 * (only an operator's edit mends it). */
#define TSR_EXIT_OK 0
#define TSR_EXIT_FAILED 1
#define TSR_EXIT_CONFIG 2

/* Reads the command line (--config FILE, else TESSERA_CONFIG; --help and --version answer and exit
 * 0), the configuration (the file, then the environment over it) and opens the log, then checks
 * every setting of the skeleton's own (<name>.db_url, db_pool, rpc and events, and [tessera]'s);
 * NULL, having said why on stderr, on any other option or bad configuration: exit TSR_EXIT_CONFIG. */
tsr_daemon_t *tsr_daemon_new(const char *name, int argc, char **argv);
/* Logs err, a setting's fault that a daemon's own check of its configuration found (err->field
 * names the setting), saying where its value came from, and returns TSR_EXIT_CONFIG for main
 * (TSR_EXIT_FAILED when err is not a bad value, TSR_E_INVALID, but out of memory, say). */
int tsr_daemon_config_error(tsr_daemon_t *self, tsr_error_t *err);

/* Makes the allocator keep large freed blocks for reuse instead of returning them to the kernel
 * (tsr_daemon_new calls it; a tool that moves large documents, such as the spine poller, may too). */
void tsr_daemon_keep_freed_memory(void);
/* Where an installed suite keeps what it ships beside its programs: <prefix>/share/tessera/<name>
 * when the running program is <prefix>/bin/... and that path exists (cmake --install), copied into
 * out (size bytes); NULL otherwise (a program run from the build tree), so that the caller keeps its
 * build-tree default. */
const char *tsr_daemon_installed_path(const char *name, char *out, size_t size);
void tsr_daemon_destroy(tsr_daemon_t **self_p);

/* Claims the daemon's endpoints for this copy, then connects the pool and applies the common
 * migrations, then the daemon's own. The claim is a lock on each ipc:// endpoint's PATH.lock, held
 * until the process ends: while another copy of the daemon holds it, this one does nothing further
 * (it would take the other's sockets over) and fails, naming the other's pid. A tcp:// endpoint is
 * claimed by its bind, in tsr_daemon_run. 0, or -1 logged: exit TSR_EXIT_FAILED. */
int tsr_daemon_migrate(tsr_daemon_t *self, const tsr_migration_t *migrations, size_t count);
void tsr_daemon_handle(tsr_daemon_t *self, const tsr_handler_def_t *handlers, size_t count);
/* Names the handlers (of those given to tsr_daemon_handle) that only read and emit events, e.g. a
 * read and its audit event: each runs in a read-only transaction (a write in it fails) and its events
 * go to the group commit (see above). A request with an idempotency key runs as any other does (its
 * stored reply is a write). types must outlive the daemon; up to 32. 0, or -1 when too many. */
int tsr_daemon_handle_reads(tsr_daemon_t *self, const char *const *types, size_t count);
int tsr_daemon_subscribe(tsr_daemon_t *self, const char *producer, tsr_apply_fn apply);
/* The same, applying only the events wants says yes to; the others count as applied. */
int tsr_daemon_subscribe_only(tsr_daemon_t *self, const char *producer, tsr_wants_fn wants,
                              tsr_apply_fn apply);
/* The same, with flush called before each commit (see tsr_flush_fn). */
int tsr_daemon_subscribe_batched(tsr_daemon_t *self, const char *producer, tsr_wants_fn wants,
                                 tsr_apply_fn apply, tsr_flush_fn flush);

/* Optional hooks: start runs on the loop once the bus is bound; stop is asked to stop accepting
 * work at SIGTERM; busy says whether work is still in flight (the drain waits for 0); release
 * closes the hook owner's handles on the loop once drained (its memory must outlive
 * tsr_daemon_destroy, which runs the loop until every close has completed). */
typedef struct {
    int (*start)(tsr_daemon_t *d, void *arg);
    void (*stop)(tsr_daemon_t *d, void *arg);
    int (*busy)(tsr_daemon_t *d, void *arg);
    void (*release)(tsr_daemon_t *d, void *arg);
    void *arg;
} tsr_daemon_hooks_t;
void tsr_daemon_set_hooks(tsr_daemon_t *self, const tsr_daemon_hooks_t *hooks);

/* Runs until SIGTERM or SIGINT, then drains in-flight work and returns the exit status (TSR_EXIT_*). */
int tsr_daemon_run(tsr_daemon_t *self);

const char *tsr_daemon_name(const tsr_daemon_t *self);
const tsr_config_t *tsr_daemon_config(const tsr_daemon_t *self);
/* The process's clock set to the office's time zone, the setting `key` (default Europe/London): dates
 * and working hours are the office's, whatever the server keeps. The daemon's SQL has the office's
 * day too, as office_today() (a function of every daemon's schema, common migration 004), where
 * current_date is PostgreSQL's (its TimeZone, UTC on the council's servers: in British Summer Time
 * its day begins an hour after the office's). Called before tsr_daemon_migrate. A name that is not a
 * time zone is logged (with where it is set) and -1: exit TSR_EXIT_CONFIG. */
int tsr_daemon_use_timezone(tsr_daemon_t *self, const char *key);
uv_loop_t *tsr_daemon_loop(tsr_daemon_t *self);
tsr_db_t *tsr_daemon_db(tsr_daemon_t *self);
void *tsr_daemon_zmq_context(tsr_daemon_t *self);
/* A client for another daemon, from its "<name>.rpc" endpoint; created once and shared. */
tsr_client_t *tsr_daemon_client(tsr_daemon_t *self, const char *daemon_name);

/* Runs fn inside a transaction on the thread pool (committed if it returns 0), then done on the
 * loop with the outcome. For a daemon's own work outside request handling (the gateway's sessions). */
typedef int (*tsr_txn_fn)(PGconn *conn, void *arg, tsr_error_t *err);
typedef void (*tsr_txn_done_fn)(void *arg, int rc, const tsr_error_t *err);
int tsr_daemon_txn(tsr_daemon_t *self, tsr_txn_fn fn, tsr_txn_done_fn done, void *arg);
/* The same without an enclosing transaction: each statement of fn commits on its own. For work
 * that is one statement, or reads, where BEGIN and COMMIT would be two round trips for nothing. */
int tsr_daemon_autocommit(tsr_daemon_t *self, tsr_txn_fn fn, tsr_txn_done_fn done, void *arg);
/* Runs fn inside a transaction now, on the calling thread, after tsr_daemon_migrate and before
 * tsr_daemon_run: start-up work that must be done before the daemon answers anything (the gauges a
 * periodic job keeps, set before its first interval has passed). 0, or -1 with err. */
int tsr_daemon_txn_now(tsr_daemon_t *self, tsr_txn_fn fn, void *arg, tsr_error_t *err);
/* Runs fn inside a transaction on the thread pool every interval_ms, from when the daemon is ready
 * until SIGTERM; one run at a time, and the drain waits for a run in progress. what names the job
 * in the log when a run fails. Up to 5 a daemon, with those of tsr_daemon_housekeeping, added before
 * tsr_daemon_run; 0 or -1. */
int tsr_daemon_every(tsr_daemon_t *self, const char *what, long interval_ms, tsr_txn_fn fn, void *arg);
/* The same at the daemon's housekeeping interval (tessera.housekeeping_ms, an hour), with the
 * forgetting of old idempotency keys: for a job that deletes what is kept no longer than a number of
 * days. Added before tsr_daemon_run; 0 or -1. */
int tsr_daemon_housekeeping(tsr_daemon_t *self, const char *what, tsr_txn_fn fn, void *arg);

#endif
