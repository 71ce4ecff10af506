#include "tsr_daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "tsr_batch.h"
#include "tsr_consumer.h"
#include "tsr_curve.h"
#include "tsr_envelope.h"
#include "tsr_log.h"
#include "tsr_metrics.h"
#include "tsr_outbox.h"
#include "tsr_relay.h"
#include "tsr_zwatch.h"

#define DAEMON_MAX_CLIENTS 16
#define DAEMON_MAX_CONSUMERS 16
/* The most reads whose events one group commit writes; more wait for the next. */
#define DAEMON_GROUP_MAX 256
#define DAEMON_READS_MAX 32

/* ------------------------------------------------------------------------------------------------
 * State
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    char *producer;
    tsr_wants_fn wants;
    tsr_apply_fn apply;
    tsr_flush_fn flush;
    tsr_consumer_t *consumer;
} daemon_subscription_t;

/* A job run on a timer (tsr_daemon_every). */
#define DAEMON_PERIODIC_MAX 8
typedef struct {
    tsr_daemon_t *daemon;
    const char *what;
    uv_timer_t timer;
    long interval_ms;
    tsr_txn_fn fn;
    void *arg;
    int running, started;
} daemon_periodic_t;
static void daemon__on_periodic(uv_timer_t *timer);

/* The threads that run group commits, each on a connection of its own: a group's commit never queues
 * on the thread pool or the connection pool behind the reads that wait for it. Two, so that the next
 * group is sent while one waits for the disk; it commits once that one has (both take the numbering's
 * lock, tsr_outbox_commit_numbered). */
#define DAEMON_COMMITTERS 2
typedef struct daemon_group daemon_group_t;
typedef struct {
    tsr_db_t *db; /* DAEMON_COMMITTERS connections */
    pthread_t threads[DAEMON_COMMITTERS];
    int started; /* threads started and not yet joined */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    daemon_group_t *todo; /* handed over by the loop (a list) */
    daemon_group_t *done; /* handed back, with uv_async (a list) */
    int stop;
    uv_async_t async;
    int async_open;
} daemon_committer_t;

struct tsr_daemon {
    char *name;
    tsr_config_t *config;
    uv_loop_t loop;
    void *zmq;
    tsr_curve_t *curve; /* the bus's keys: NULL when CURVE is off */
    tsr_db_t *db;
    char timezone[64]; /* tsr_daemon_use_timezone: the office's, for office_today() too; "" for none */
    const tsr_handler_def_t *handlers;
    size_t handler_count;
    daemon_subscription_t subs[DAEMON_MAX_CONSUMERS];
    size_t sub_count;
    struct {
        char *name;
        tsr_client_t *client;
    } clients[DAEMON_MAX_CLIENTS];
    size_t client_count;
    void *router;
    void *pub;
    tsr_zwatch_t router_watch;
    int router_watching;
    tsr_relay_t *relay;
    uv_signal_t sigterm;
    uv_signal_t sigint;
    uv_timer_t drain_timer;
    int draining;
    int calls_failed; /* the drain has answered calls left waiting on other daemons */
    int64_t drain_deadline_ms;
    /* The skeleton's settings, all checked by tsr_daemon_new: a bad one stops the start with the
     * configuration's exit status, not a drain or a call an hour later. */
    const char *db_url;         /* <name>.db_url */
    long db_pool;               /* <name>.db_pool */
    const char *endpoints[2];   /* <name>.rpc and <name>.events */
    long db_wait_s;             /* tessera.db_wait_s */
    long call_timeout_ms;       /* tessera.call_timeout_ms */
    long relay_ms;              /* tessera.relay_interval_ms */
    long idle_ms;               /* tessera.replay_idle_ms */
    long gather_ms;             /* tessera.group_commit_gather_ms */
    long drain_timeout_ms;      /* tessera.drain_timeout_ms */
    long idempotency_keep_days; /* tessera.idempotency_keep_days */
    long outbox_keep_days;      /* tessera.outbox_keep_days */
    long housekeeping_ms;       /* tessera.housekeeping_ms: how often what is past keeping goes */
    int locks[2];               /* this copy's hold on its ipc:// endpoints (daemon__claim), or -1 */
    int exit_code;
    tsr_daemon_hooks_t hooks;
    int hooks_released;
    int jobs; /* request jobs in flight */
    daemon_periodic_t periodic[DAEMON_PERIODIC_MAX];
    size_t periodic_count;
    tsr_metric_t *m_requests_failed;
    tsr_metric_t *m_requests_dropped;
    const char *read_types[DAEMON_READS_MAX]; /* tsr_daemon_handle_reads */
    size_t read_count;
    tsr_batch_t *reads;      /* reads waiting for their events' commit */
    uv_timer_t gather_timer; /* wakes the group commit when its gather is over */
    size_t reads_on_way;     /* reads being handled: each will bring its events to the group commit */
    int gather_open;
    daemon_committer_t committer;
    tsr_metric_t *m_group_commits;
    tsr_metric_t *m_group_events;
};

/* A read's events, packed, waiting for the group commit. */
typedef struct {
    tsr_outbox_event_t *events; /* each type and envelope malloc'd */
    size_t count;
    size_t capacity;
} daemon_held_t;

/* A request taken off the ROUTER, on its way through the thread pool. */
typedef struct {
    tsr_daemon_t *daemon;
    zmq_msg_t identity;
    Tsr__Envelope *request;
    const tsr_handler_def_t *handler;
    uint64_t started_ns;
    /* Filled by the worker thread. */
    uint8_t *reply_payload;
    size_t reply_len;
    int events_emitted;
    tsr_error_t err;
    int failed;
    daemon_held_t held; /* a read's events, committed by the group commit before the reply */
    int on_way;         /* counted in reads_on_way until its handler is done */
} daemon_job_t;

static void daemon__held_clear(daemon_held_t *held)
{
    for (size_t i = 0; i < held->count; i++) {
        free((char *)held->events[i].type);
        free((uint8_t *)held->events[i].envelope);
    }
    held->count = 0;
}

static void daemon__held_free(daemon_held_t *held)
{
    daemon__held_clear(held);
    free(held->events);
    memset(held, 0, sizeof(*held));
}

static const Tsr__Actor daemon__nobody = TSR__ACTOR__INIT;

/* ------------------------------------------------------------------------------------------------
 * Start-up
 * ---------------------------------------------------------------------------------------------- */

static void daemon__usage(FILE *out, const char *name)
{
    fprintf(out,
            "usage: tessera-%s --config FILE\n"
            "       tessera-%s --help | --version\n"
            "Settings come from FILE (or $TESSERA_CONFIG); TESSERA_<SECTION>_<KEY> overrides any.\n",
            name, name);
}

/* The command line: --config FILE (or --config=FILE), else TESSERA_CONFIG, into *path. 0 to start;
 * 1 when done already (--help, --version); -1 for anything else, said on stderr: an option a daemon
 * does not take (a -v meant as --version) must not start a second copy of the daemon. */
static int daemon__read_args(const char *name, int argc, char **argv, const char **path)
{
    *path = getenv("TESSERA_CONFIG");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            *path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            *path = argv[i] + 9;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            daemon__usage(stdout, name);
            return 1;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("tessera-%s %s\n", name, TSR_VERSION);
            return 1;
        } else {
            fprintf(stderr, "tessera-%s: %s '%s'\n", name,
                    strcmp(argv[i], "--config") == 0 ? "a file must follow" : "unknown option", argv[i]);
            daemon__usage(stderr, name);
            return -1;
        }
    }
    return 0;
}

static int daemon__key(const tsr_daemon_t *self, const char *suffix, char *buf, size_t size)
{
    return snprintf(buf, size, "%s.%s", self->name, suffix);
}

/* The skeleton's own settings, every one read and checked before anything starts. */
static int daemon__configure(tsr_daemon_t *self, tsr_error_t *err)
{
    const tsr_config_t *c = self->config;
    char key[128];
    daemon__key(self, "db_url", key, sizeof(key));
    if ((self->db_url = tsr_config_require(c, key, err)) == NULL)
        return -1;
    daemon__key(self, "db_pool", key, sizeof(key));
    if (tsr_config_get_long(c, key, 4, 1, 64, &self->db_pool, err) != 0)
        return -1;
    static const char *const suffixes[2] = {"rpc", "events"};
    for (int i = 0; i < 2; i++) {
        daemon__key(self, suffixes[i], key, sizeof(key));
        if ((self->endpoints[i] = tsr_config_require(c, key, err)) == NULL)
            return -1;
    }
    const struct {
        const char *key;
        long fallback, min, max;
        long *out;
    } numbers[] = {
        {"tessera.db_wait_s", 30, 0, 3600, &self->db_wait_s},
        {"tessera.call_timeout_ms", 5000, 10, 600000, &self->call_timeout_ms},
        {"tessera.relay_interval_ms", 1000, 10, 600000, &self->relay_ms},
        {"tessera.replay_idle_ms", 2000, 10, 600000, &self->idle_ms},
        {"tessera.group_commit_gather_ms", 10, 0, 1000, &self->gather_ms},
        {"tessera.drain_timeout_ms", 10000, 0, 600000, &self->drain_timeout_ms},
        {"tessera.idempotency_keep_days", 30, 1, 3650, &self->idempotency_keep_days},
        {"tessera.outbox_keep_days", 90, 1, 3650, &self->outbox_keep_days},
        {"tessera.housekeeping_ms", 3600000, 100, 86400000, &self->housekeeping_ms},
    };
    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
        if (tsr_config_get_long(c, numbers[i].key, numbers[i].fallback, numbers[i].min, numbers[i].max,
                                numbers[i].out, err) != 0)
            return -1;
    return 0;
}

void tsr_daemon_keep_freed_memory(void)
{
    /* glibc gives a large block back to the kernel when it is freed (mmap above 128 KiB, and the top
     * of an arena trimmed above 128 KiB), so the next request of that size faults in and zeroes fresh
     * pages. A part of CP-IS notifications (a 400 KB body, a 700 KB event) or a page of a report
     * allocates such blocks every time: perf put a quarter of the cpis daemon's CPU in those page
     * faults. Kept, the memory is reused; a daemon's resident size grows by what it once needed at
     * most, bounded by these two figures per arena. */
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 128 * 1024 * 1024);
}

const char *tsr_daemon_installed_path(const char *name, char *out, size_t size)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0 || (size_t)n >= sizeof(exe) - 1)
        return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash == NULL)
        return NULL;
    *slash = '\0'; /* the program's directory, <prefix>/bin when installed */
    int len = snprintf(out, size, "%s/../share/tessera/%s", exe, name);
    if (len < 0 || (size_t)len >= size || access(out, R_OK) != 0)
        return NULL;
    return out;
}

tsr_daemon_t *tsr_daemon_new(const char *name, int argc, char **argv)
{
    tsr_daemon_keep_freed_memory();
    const char *path = NULL;
    int args = daemon__read_args(name, argc, argv, &path);
    if (args > 0)
        exit(TSR_EXIT_OK);
    if (args < 0)
        return NULL;
    tsr_error_t err;
    tsr_error_clear(&err);
    tsr_config_t *config = tsr_config_load(path, &err);
    if (config == NULL) {
        fprintf(stderr, "tessera-%s: %s\n", name, err.message);
        return NULL;
    }
    const char *level = tsr_config_get(config, "tessera.log_level", "info");
    if (tsr_log_open(name, level) != 0) {
        char where[400];
        fprintf(stderr, "tessera-%s: tessera.log_level is '%s' (from %s); use debug, info, warn or error.\n",
                name, level, tsr_config_source(config, "tessera.log_level", where, sizeof(where)));
        tsr_config_destroy(&config);
        return NULL;
    }
    for (size_t i = 0; tsr_config_warning(config, i) != NULL; i++)
        tsr_log_warn(NULL, "%s", tsr_config_warning(config, i));
    tsr_daemon_t *self = calloc(1, sizeof(*self));
    if (self == NULL) {
        tsr_config_destroy(&config);
        return NULL;
    }
    self->name = strdup(name);
    self->config = config;
    self->locks[0] = self->locks[1] = -1;
    /* tessera.demo is read by some daemons only, but is a setting of the whole instance: every
     * daemon refuses a bad one. */
    int demo = 0;
    if (self->name == NULL || tsr_config_get_bool(config, "tessera.demo", 0, &demo, &err) != 0 ||
        daemon__configure(self, &err) != 0) {
        tsr_log_error(NULL, "%s", self->name ? err.message : "out of memory");
        tsr_config_destroy(&self->config);
        free(self->name);
        free(self);
        return NULL;
    }
    uv_loop_init(&self->loop);
    self->zmq = zmq_ctx_new();
    /* Before any socket: every one the bus opens from here is encrypted when CURVE is on. */
    if (tsr_curve_load(config, name, &self->curve, &err) != 0 ||
        tsr_curve_authenticate(self->curve, self->zmq, &err) != 0) {
        tsr_config_name_source(config, &err);
        tsr_log_error(NULL, "%s", err.message);
        tsr_curve_destroy(&self->curve);
        zmq_ctx_term(self->zmq);
        uv_loop_close(&self->loop);
        tsr_config_destroy(&self->config);
        free(self->name);
        free(self);
        return NULL;
    }
    tsr_curve_use(self->curve);
    char labels[96];
    snprintf(labels, sizeof(labels), "daemon=\"%s\"", name);
    tsr_metrics_set_constant_labels(labels);
    self->m_requests_failed =
        tsr_metrics_counter("tsr_requests_failed_total", "Requests answered with an error.", NULL);
    self->m_requests_dropped = tsr_metrics_counter(
        "tsr_requests_dropped_total", "Requests dropped: past their deadline or malformed.", NULL);
    self->m_group_commits = tsr_metrics_counter(
        "tsr_read_group_commits_total", "Transactions that wrote the events of a group of reads.", NULL);
    self->m_group_events =
        tsr_metrics_counter("tsr_read_group_events_total", "Events of reads written by group commits.", NULL);
    return self;
}

int tsr_daemon_config_error(tsr_daemon_t *self, tsr_error_t *err)
{
    if (err->status != TSR_E_INVALID) {
        tsr_log_error(NULL, "%s", err->message); /* out of memory, say: not the configuration's fault */
        return TSR_EXIT_FAILED;
    }
    tsr_config_name_source(self->config, err);
    tsr_log_error(NULL, "%s", err->message);
    return TSR_EXIT_CONFIG;
}

int tsr_daemon_use_timezone(tsr_daemon_t *self, const char *key)
{
    tsr_error_t err;
    tsr_error_clear(&err);
    const char *zone = tsr_config_get_timezone(self->config, key, "Europe/London", &err);
    if (zone == NULL) {
        tsr_log_error(NULL, "%s", err.message);
        return -1;
    }
    setenv("TZ", zone, 1);
    tzset();
    snprintf(self->timezone, sizeof(self->timezone), "%s", zone);
    return 0;
}

/* The lock file of an ipc:// endpoint, ipc://PATH's PATH.lock, beside the socket; NULL for one of
 * another kind (tcp://, whose bind fails while another process holds the port; inproc://). */
static const char *daemon__lock_path(const char *endpoint, char *buf, size_t size)
{
    if (strncmp(endpoint, "ipc://", 6) != 0 || endpoint[6] == '@' || endpoint[6] == '\0')
        return NULL;
    int n = snprintf(buf, size, "%s.lock", endpoint + 6);
    return n > 0 && (size_t)n < size ? buf : NULL;
}

/* This copy's claim on its endpoints, before it binds them or touches anything it shares: a lock on
 * each ipc:// endpoint's lock file, held until the process ends. ZeroMQ's bind of an ipc:// endpoint
 * removes the socket file it finds and makes its own, so a second copy of a daemon (a hand-started
 * one beside systemd's, a `tessera-records --version` taken for a daemon's start) took the first's
 * requests and events away from it, and removed the socket when it stopped: the first ran on, cut off,
 * while its callers failed. The second now refuses to start, naming the first. 0, or -1 logged. */
static int daemon__claim(tsr_daemon_t *self)
{
    static const char *const suffixes[2] = {"rpc", "events"};
    for (int i = 0; i < 2; i++) {
        char path[4200];
        if (daemon__lock_path(self->endpoints[i], path, sizeof(path)) == NULL)
            continue;
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            tsr_log_error(NULL, "cannot open %s, the lock of %s.%s (%s): %s", path, self->name, suffixes[i],
                          self->endpoints[i], strerror(errno));
            return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int busy = errno == EWOULDBLOCK;
            char holder[64] = "";
            ssize_t n = busy ? pread(fd, holder, sizeof(holder) - 1, 0) : -1;
            holder[n > 0 ? n : 0] = '\0';
            holder[strcspn(holder, "\n")] = '\0';
            close(fd);
            if (busy)
                tsr_log_error(NULL,
                              "another copy of tessera-%s is running on %s.%s (%s): %s%s holds its lock %s. "
                              "This one does not start: stop that one first, or give this one endpoints of "
                              "its own",
                              self->name, self->name, suffixes[i], self->endpoints[i],
                              holder[0] ? "process " : "", holder[0] ? holder : "another process", path);
            else
                tsr_log_error(NULL, "cannot lock %s, the lock of %s.%s: %s", path, self->name, suffixes[i],
                              strerror(errno));
            return -1;
        }
        /* Who holds it, for the message of a copy refused. */
        char me[64];
        int len = snprintf(me, sizeof(me), "%d (tessera-%.32s)\n", (int)getpid(), self->name);
        if (ftruncate(fd, 0) != 0 || pwrite(fd, me, (size_t)len, 0) != len)
            tsr_log_warn(NULL, "cannot write this process's id into %s: %s", path, strerror(errno));
        self->locks[i] = fd;
    }
    return 0;
}

int tsr_daemon_migrate(tsr_daemon_t *self, const tsr_migration_t *migrations, size_t count)
{
    if (daemon__claim(self) != 0)
        return -1;
    tsr_error_t err;
    tsr_error_clear(&err);
    self->db = tsr_db_new(&self->loop, self->db_url, self->name, (int)self->db_pool, &err);
    if (self->db == NULL) {
        tsr_log_error(NULL, "%s", err.message);
        return -1;
    }
    tsr_db_set_timezone(self->db, self->timezone);
    /* The database may still be starting (a whole suite comes up at once): wait for it a while. */
    PGconn *conn = NULL;
    for (long waited = 0;; waited++) {
        conn = tsr_db_acquire(self->db, &err);
        if (conn != NULL || waited >= self->db_wait_s * 4)
            break;
        usleep(250 * 1000);
    }
    if (conn == NULL) {
        tsr_log_error(NULL, "%s", err.message);
        return -1;
    }
    int rc = tsr_migrate_apply(conn, self->name, "common", tsr_common_migrations, tsr_common_migrations_count,
                               &err);
    if (rc == 0 && count > 0)
        rc = tsr_migrate_apply(conn, self->name, self->name, migrations, count, &err);
    tsr_db_release(self->db, conn);
    if (rc != 0)
        tsr_log_error(NULL, "%s", err.message);
    return rc;
}

void tsr_daemon_handle(tsr_daemon_t *self, const tsr_handler_def_t *handlers, size_t count)
{
    self->handlers = handlers;
    self->handler_count = count;
}

int tsr_daemon_handle_reads(tsr_daemon_t *self, const char *const *types, size_t count)
{
    if (self->read_count + count > DAEMON_READS_MAX)
        return -1;
    for (size_t i = 0; i < count; i++)
        self->read_types[self->read_count++] = types[i];
    return 0;
}

static int daemon__is_read(const tsr_daemon_t *self, const char *type)
{
    for (size_t i = 0; i < self->read_count; i++)
        if (strcmp(self->read_types[i], type) == 0)
            return 1;
    return 0;
}

/* Whether a request's events go to the group commit: a read's do; with an idempotency key, its
 * stored reply is a write, and it commits on its own. */
static int daemon__is_group_read(const tsr_daemon_t *self, const Tsr__Envelope *req)
{
    int keyed = req->idempotency_key != NULL && req->idempotency_key[0] != '\0';
    return !keyed && daemon__is_read(self, req->type);
}

int tsr_daemon_subscribe_batched(tsr_daemon_t *self, const char *producer, tsr_wants_fn wants,
                                 tsr_apply_fn apply, tsr_flush_fn flush)
{
    if (self->sub_count == DAEMON_MAX_CONSUMERS)
        return -1;
    self->subs[self->sub_count].producer = strdup(producer);
    self->subs[self->sub_count].wants = wants;
    self->subs[self->sub_count].apply = apply;
    self->subs[self->sub_count].flush = flush;
    self->sub_count++;
    return 0;
}

int tsr_daemon_subscribe_only(tsr_daemon_t *self, const char *producer, tsr_wants_fn wants,
                              tsr_apply_fn apply)
{
    return tsr_daemon_subscribe_batched(self, producer, wants, apply, NULL);
}

int tsr_daemon_subscribe(tsr_daemon_t *self, const char *producer, tsr_apply_fn apply)
{
    return tsr_daemon_subscribe_only(self, producer, NULL, apply);
}

void tsr_daemon_set_hooks(tsr_daemon_t *self, const tsr_daemon_hooks_t *hooks)
{
    self->hooks = *hooks;
}

const char *tsr_daemon_name(const tsr_daemon_t *self)
{
    return self->name;
}

const tsr_config_t *tsr_daemon_config(const tsr_daemon_t *self)
{
    return self->config;
}

uv_loop_t *tsr_daemon_loop(tsr_daemon_t *self)
{
    return &self->loop;
}

tsr_db_t *tsr_daemon_db(tsr_daemon_t *self)
{
    return self->db;
}

void *tsr_daemon_zmq_context(tsr_daemon_t *self)
{
    return self->zmq;
}

tsr_client_t *tsr_daemon_client(tsr_daemon_t *self, const char *daemon_name)
{
    for (size_t i = 0; i < self->client_count; i++)
        if (strcmp(self->clients[i].name, daemon_name) == 0)
            return self->clients[i].client;
    if (self->client_count == DAEMON_MAX_CLIENTS)
        return NULL;
    char key[128];
    snprintf(key, sizeof(key), "%s.rpc", daemon_name);
    tsr_error_t err;
    const char *endpoint = tsr_config_require(self->config, key, &err);
    if (endpoint == NULL) {
        tsr_log_error(NULL, "%s", err.message);
        return NULL;
    }
    tsr_client_t *client =
        tsr_client_new(&self->loop, self->zmq, daemon_name, endpoint, (int)self->call_timeout_ms);
    if (client == NULL)
        return NULL;
    self->clients[self->client_count].name = strdup(daemon_name);
    self->clients[self->client_count].client = client;
    self->client_count++;
    return client;
}

/* ------------------------------------------------------------------------------------------------
 * Handling a request: off the loop, inside one transaction
 * ---------------------------------------------------------------------------------------------- */

const ProtobufCMessage *tsr_call_payload(const tsr_call_t *call)
{
    return call->payload;
}

void tsr_call_reply(tsr_call_t *call, const ProtobufCMessage *msg)
{
    free(call->reply_payload);
    call->reply_payload = tsr_pack(msg, &call->reply_len);
}

/* Keeps a read's event for the group commit, packed now so that it is timed by the read. */
static int daemon__hold(tsr_call_t *call, const char *type, const ProtobufCMessage *msg, tsr_error_t *err)
{
    daemon_held_t *held = call->held;
    if (held->count == held->capacity) {
        size_t capacity = held->capacity ? held->capacity * 2 : 4;
        tsr_outbox_event_t *bigger = realloc(held->events, capacity * sizeof(*bigger));
        if (bigger == NULL)
            return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL,
                                 "Out of memory keeping an event.");
        held->events = bigger;
        held->capacity = capacity;
    }
    size_t len = 0;
    uint8_t *envelope = tsr_outbox_pack(type, call->actor, call->trace_id, msg, &len, err);
    char *type_copy = envelope ? strdup(type) : NULL;
    if (type_copy == NULL) {
        free(envelope);
        return envelope ? tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.") : -1;
    }
    held->events[held->count++] = (tsr_outbox_event_t){type_copy, envelope, len};
    return 0;
}

tsr_call_t tsr_call_for_event(tsr_event_t *ev, const Tsr__Actor *fallback)
{
    return (tsr_call_t){.daemon = ev->daemon,
                        .conn = ev->conn,
                        .request = ev->event,
                        .actor = ev->event->actor ? ev->event->actor : fallback,
                        .trace_id = ev->event->trace_id};
}

int tsr_call_emit(tsr_call_t *call, const char *type, const ProtobufCMessage *msg, tsr_error_t *err)
{
    if (call->held != NULL ? daemon__hold(call, type, msg, err) != 0
                           : tsr_outbox_append(call->conn, type, call->actor, call->trace_id, msg, err) != 0)
        return -1;
    call->events_emitted++;
    return 0;
}

int tsr_call_emit_many(tsr_call_t *call, const char *type, const ProtobufCMessage *const *msgs, size_t n,
                       tsr_error_t *err)
{
    if (tsr_outbox_append_many(call->conn, type, call->actor, call->trace_id, msgs, n, err) != 0)
        return -1;
    call->events_emitted += (int)n;
    return 0;
}

static int daemon__ask(tsr_daemon_t *self, const Tsr__Actor *actor, const char *trace_id, int64_t deadline_ms,
                       const char *key, const char *daemon, const char *type, const ProtobufCMessage *payload,
                       const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply,
                       tsr_error_t *err)
{
    *reply = NULL;
    char setting[128];
    snprintf(setting, sizeof(setting), "%s.rpc", daemon);
    const char *endpoint = tsr_config_require(self->config, setting, err);
    if (endpoint == NULL)
        return -1;
    long timeout = self->call_timeout_ms;
    if (deadline_ms > 0) {
        int64_t left = deadline_ms - tsr_now_ms();
        if (left < 1)
            return tsr_error_set(err, TSR_E_UNAVAILABLE, "deadline_exceeded", NULL,
                                 "The request ran out of time before %s could be asked.", daemon);
        if (left < timeout)
            timeout = (long)left;
    }
    tsr_call_opts_t opts = {.type = type,
                            .actor = actor,
                            .trace_id = trace_id,
                            .idempotency_key = key,
                            .timeout_ms = (int)timeout};
    Tsr__Envelope *env = NULL;
    if (tsr_client_call_kept(self->zmq, endpoint, &opts, payload, &env, err) != 0)
        return -1;
    ProtobufCMessage *msg = tsr_unpack(reply_desc, env->payload.data, env->payload.len, err);
    tsr__envelope__free_unpacked(env, NULL);
    if (msg == NULL)
        return -1;
    *reply = msg;
    return 0;
}

int tsr_daemon_ask(tsr_daemon_t *self, const Tsr__Actor *actor, const char *trace_id, int64_t deadline_ms,
                   const char *daemon, const char *type, const ProtobufCMessage *payload,
                   const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply, tsr_error_t *err)
{
    return daemon__ask(self, actor, trace_id, deadline_ms, NULL, daemon, type, payload, reply_desc, reply,
                       err);
}

int tsr_call_ask(tsr_call_t *call, const char *daemon, const char *type, const ProtobufCMessage *payload,
                 const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply, tsr_error_t *err)
{
    return daemon__ask(call->daemon, call->actor, call->trace_id, call->request->deadline_ms, NULL, daemon,
                       type, payload, reply_desc, reply, err);
}

int tsr_call_command(tsr_call_t *call, const char *key, const char *daemon, const char *type,
                     const ProtobufCMessage *payload, const ProtobufCMessageDescriptor *reply_desc,
                     ProtobufCMessage **reply, tsr_error_t *err)
{
    return daemon__ask(call->daemon, call->actor, call->trace_id, call->request->deadline_ms, key, daemon,
                       type, payload, reply_desc, reply, err);
}

/* A request's hash, as the idempotency table keeps it: its payload (the call's subject and what it
 * asks), which the gateway builds the same way from the same HTTP request. */
static void daemon__request_hash(const Tsr__Envelope *req, unsigned char out[crypto_generichash_BYTES])
{
    crypto_generichash(out, crypto_generichash_BYTES, req->payload.data, req->payload.len, NULL, 0);
}

/* The stored reply of an earlier command with the same key (and hash, daemon__request_hash): 1 found,
 * 0 none, -1 error. */
static int daemon__idempotent_reply(PGconn *conn, const Tsr__Envelope *req,
                                    const unsigned char hash[crypto_generichash_BYTES], uint8_t **reply,
                                    size_t *len, tsr_error_t *err)
{
    char worker[32];
    snprintf(worker, sizeof(worker), "%" PRIu64, req->actor ? req->actor->worker_id : 0);
    const char *values[3] = {worker, req->idempotency_key, (const char *)hash};
    int lengths[3] = {0, 0, crypto_generichash_BYTES};
    int formats[3] = {0, 0, 1};
    PGresult *res = tsr_db_exec_bin(conn,
                                    "SELECT type, reply, coalesce(request_hash = $3, true) FROM idempotency"
                                    " WHERE worker_id = $1::bigint AND key = $2",
                                    3, values, lengths, formats, err);
    if (res == NULL)
        return -1;
    int found = PQntuples(res) > 0;
    if (found && strcmp(PQgetvalue(res, 0, 0), req->type) != 0) {
        tsr_error_set(
            err, TSR_E_CONFLICT, "idempotency_key_reused", NULL,
            "This Idempotency-Key was already used for a different kind of request; use a new key.");
        PQclear(res);
        return -1;
    }
    if (found && strcmp(PQgetvalue(res, 0, 2), "t") != 0) {
        tsr_error_set(err, TSR_E_CONFLICT, "idempotency_key_reused", NULL,
                      "This Idempotency-Key was already used for a different request (another record, or "
                      "other details); use a new key for each request, and the same one only to retry it.");
        PQclear(res);
        return -1;
    }
    if (found)
        *reply = tsr_db_get_bytes(res, 0, 1, len);
    PQclear(res);
    return found;
}

static int daemon__remember_reply(PGconn *conn, const Tsr__Envelope *req,
                                  const unsigned char hash[crypto_generichash_BYTES], const uint8_t *reply,
                                  size_t len, tsr_error_t *err)
{
    char worker[32];
    snprintf(worker, sizeof(worker), "%" PRIu64, req->actor ? req->actor->worker_id : 0);
    const char *values[5] = {worker, req->idempotency_key, req->type,
                             (const char *)(reply ? reply : (uint8_t *)""), (const char *)hash};
    int lengths[5] = {0, 0, 0, (int)len, crypto_generichash_BYTES};
    int formats[5] = {0, 0, 0, 1, 1};
    PGresult *res = tsr_db_exec_bin(conn,
                                    "INSERT INTO idempotency (worker_id, key, type, reply, request_hash)"
                                    " VALUES ($1::bigint, $2, $3, $4, $5)",
                                    5, values, lengths, formats, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

/* Whether a concurrent twin with the same key has committed its reply since this call began: then
 * job has that reply, and its own error is dropped. */
static int daemon__twin_reply(PGconn *conn, const Tsr__Envelope *req,
                              const unsigned char hash[crypto_generichash_BYTES], daemon_job_t *job)
{
    tsr_error_t ignored = {0};
    uint8_t *reply = NULL;
    size_t len = 0;
    if (tsr_db_begin_read_only(conn, &ignored) != 0)
        return 0;
    int found = daemon__idempotent_reply(conn, req, hash, &reply, &len, &ignored);
    tsr_db_command(conn, "ROLLBACK", NULL);
    if (found != 1) {
        free(reply);
        return 0;
    }
    tsr_error_clear(&job->err);
    job->reply_payload = reply;
    job->reply_len = len;
    return 1;
}

static void daemon__run_handler(daemon_job_t *job, PGconn *conn)
{
    const Tsr__Envelope *req = job->request;
    int keyed = req->idempotency_key != NULL && req->idempotency_key[0] != '\0';
    int read = daemon__is_group_read(job->daemon, req);
    unsigned char hash[crypto_generichash_BYTES];
    if (keyed)
        daemon__request_hash(req, hash);
    ProtobufCMessage *payload = NULL;
    if (job->handler->request != NULL) {
        payload = tsr_unpack(job->handler->request, req->payload.data, req->payload.len, &job->err);
        if (payload == NULL) {
            job->failed = 1;
            return;
        }
    }
    tsr_call_t call = {
        .daemon = job->daemon,
        .conn = conn,
        .request = req,
        .actor = req->actor ? req->actor : &daemon__nobody,
        .trace_id = req->trace_id,
        .payload = payload,
        .held = read ? &job->held : NULL,
    };
    /* Two tries at most: the second only when a concurrent twin with the same key won the race. */
    for (int attempt = 0; attempt < 2; attempt++) {
        tsr_error_clear(&job->err);
        daemon__held_clear(&job->held);
        if ((read ? tsr_db_begin_read_only(conn, &job->err) : tsr_db_begin(conn, &job->err)) != 0)
            break;
        if (keyed) {
            int found =
                daemon__idempotent_reply(conn, req, hash, &job->reply_payload, &job->reply_len, &job->err);
            if (found != 0) {
                tsr_db_command(conn, "ROLLBACK", NULL);
                job->failed = found < 0;
                goto done;
            }
        }
        call.events_emitted = 0;
        call.commit_refusal = 0;
        if (job->handler->fn(&call, &job->err) != 0) {
            if (call.commit_refusal && job->err.status != TSR_E_INTERNAL &&
                job->err.status != TSR_E_UNAVAILABLE) {
                tsr_error_t refusal = job->err;
                if (tsr_db_command(conn, "COMMIT", &job->err) != 0)
                    goto rollback;
                job->err = refusal;
                job->events_emitted = call.events_emitted;
                break;
            }
            goto rollback;
        }
        if (keyed &&
            daemon__remember_reply(conn, req, hash, call.reply_payload, call.reply_len, &job->err) != 0)
            goto rollback;
        if (tsr_db_command(conn, "COMMIT", &job->err) != 0)
            goto rollback;
        job->reply_payload = call.reply_payload;
        job->reply_len = call.reply_len;
        job->events_emitted = call.events_emitted;
        call.reply_payload = NULL;
        goto done;
    rollback:
        tsr_db_command(conn, "ROLLBACK", NULL);
        daemon__held_clear(&job->held);
        free(call.reply_payload);
        call.reply_payload = NULL;
        /* A twin that waited on a lock its first committed (a step's, for a second request to it) is
         * refused by the state the first left (409 request_already_sent): asked again, it finds the
         * first's reply under the key, and answers with it. */
        if (keyed && job->err.status == TSR_E_CONFLICT && attempt == 0 &&
            daemon__twin_reply(conn, req, hash, job))
            goto done;
        if (!(keyed && strcmp(job->err.sqlstate, "23505") == 0))
            break;
    }
    job->failed = 1;
done:
    free(call.reply_payload);
    if (payload != NULL)
        protobuf_c_message_free_unpacked(payload, NULL);
}

static void daemon__builtin_replay(daemon_job_t *job, PGconn *conn)
{
    Tsr__ReplayRequest *req = (Tsr__ReplayRequest *)tsr_unpack(
        &tsr__replay_request__descriptor, job->request->payload.data, job->request->payload.len, &job->err);
    if (req == NULL) {
        job->failed = 1;
        return;
    }
    int limit = req->limit > 0 && req->limit <= 1000 ? (int)req->limit : 500;
    tsr_outbox_batch_t batch;
    if (tsr_outbox_read(conn, job->daemon->name, req->after_seq, limit, &batch, &job->err) != 0) {
        job->failed = 1;
    } else {
        Tsr__ReplayReply reply = TSR__REPLAY_REPLY__INIT;
        ProtobufCBinaryData *events = calloc(batch.count ? batch.count : 1, sizeof(*events));
        for (size_t i = 0; events && i < batch.count; i++)
            events[i] = (ProtobufCBinaryData){batch.lens[i], batch.events[i]};
        reply.n_events = events ? batch.count : 0;
        reply.events = events;
        reply.head_seq = batch.head;
        reply.oldest_seq = batch.oldest;
        job->reply_payload = tsr_pack(&reply.base, &job->reply_len);
        free(events);
        tsr_outbox_batch_free(&batch);
    }
    tsr__replay_request__free_unpacked(req, NULL);
}

static void daemon__builtin_health(daemon_job_t *job, PGconn *conn)
{
    Tsr__HealthReply reply = TSR__HEALTH_REPLY__INIT;
    PGresult *res = tsr_db_exec(conn, "SELECT 1", 0, NULL, &job->err);
    reply.database_ok = res != NULL;
    reply.detail = res != NULL ? "ok" : job->err.message;
    PQclear(res);
    tsr_error_clear(&job->err);
    job->reply_payload = tsr_pack(&reply.base, &job->reply_len);
}

static void daemon__work(tsr_db_t *db, void *arg)
{
    daemon_job_t *job = arg;
    PGconn *conn = tsr_db_acquire(db, &job->err);
    if (conn == NULL) {
        if (strcmp(job->request->type, "tsr.health") == 0) {
            /* Health answers even without a database: that is what it reports. */
            Tsr__HealthReply reply = TSR__HEALTH_REPLY__INIT;
            reply.detail = job->err.message;
            job->reply_payload = tsr_pack(&reply.base, &job->reply_len);
            tsr_error_clear(&job->err);
            return;
        }
        job->failed = 1;
        return;
    }
    if (strcmp(job->request->type, "tsr.replay") == 0)
        daemon__builtin_replay(job, conn);
    else if (strcmp(job->request->type, "tsr.health") == 0)
        daemon__builtin_health(job, conn);
    else
        daemon__run_handler(job, conn);
    tsr_db_release(db, conn);
}

/* ------------------------------------------------------------------------------------------------
 * Replies, on the loop
 * ---------------------------------------------------------------------------------------------- */

static void daemon__send_reply(tsr_daemon_t *self, zmq_msg_t *identity, const Tsr__Envelope *req,
                               const uint8_t *payload, size_t len, const tsr_error_t *err)
{
    Tsr__Envelope reply = TSR__ENVELOPE__INIT;
    tsr_envelope_error_t error_slot;
    reply.kind = TSR__ENVELOPE__KIND__REPLY;
    reply.type = req ? req->type : "";
    reply.correlation_id = req ? req->id : 0;
    reply.trace_id = req ? req->trace_id : "";
    reply.producer = self->name;
    reply.payload.data = (uint8_t *)payload;
    reply.payload.len = payload ? len : 0;
    tsr_error_t public_err;
    if (err != NULL && err->status != TSR_OK) {
        public_err = *err;
        if (err->status == TSR_E_INTERNAL) {
            /* The detail is for the operator's log, not for the caller. */
            tsr_log_error(reply.trace_id, "%s failed: %s", reply.type, err->message);
            snprintf(public_err.message, sizeof(public_err.message),
                     "Something went wrong on our side; quote trace %s to support.", reply.trace_id);
            public_err.n_faults = 0;
        }
        tsr_envelope_set_error(&reply, &error_slot, &public_err);
        tsr_metric_add(self->m_requests_failed, 1);
    }
    size_t body_len = 0;
    uint8_t *body = tsr_pack(&reply.base, &body_len);
    if (body == NULL)
        return;
    const void *parts[3] = {zmq_msg_data(identity), "", body};
    size_t lens[3] = {zmq_msg_size(identity), 0, body_len};
    if (tsr_zmq_send_parts(self->router, parts, lens, 3) != 0)
        tsr_log_warn(reply.trace_id, "reply to %s not delivered: %s", reply.type, zmq_strerror(errno));
    free(body);
    if (self->router_watching)
        tsr_zwatch_kick(&self->router_watch);
}

static void daemon__job_free(daemon_job_t *job)
{
    zmq_msg_close(&job->identity);
    tsr__envelope__free_unpacked(job->request, NULL);
    free(job->reply_payload);
    daemon__held_free(&job->held);
    free(job);
}

/* Answers a request whose work is over (and, for a read, whose events are committed). */
static void daemon__answer(daemon_job_t *job)
{
    tsr_daemon_t *self = job->daemon;
    self->jobs--;
    daemon__send_reply(self, &job->identity, job->request, job->reply_payload, job->reply_len,
                       job->failed ? &job->err : NULL);
    if (job->events_emitted > 0 && self->relay != NULL)
        tsr_relay_kick_soon(self->relay);
    char labels[160];
    snprintf(labels, sizeof(labels), "type=\"%s\"", job->request->type);
    tsr_metric_observe(tsr_metrics_histogram("tsr_request_seconds", "Time to handle a request.", labels),
                       (double)(uv_hrtime() - job->started_ns) / 1e9);
    daemon__job_free(job);
}

/* ------------------------------------------------------------------------------------------------
 * Group commit of reads' events
 *
 * A read's transaction wrote nothing: its events wait in the job. One transaction at a time writes
 * the events of every read waiting (one multi-row INSERT into the outbox) and commits them; only
 * then are those reads answered, or, when it fails, answered with its error, so that no read's data
 * leaves before its audit event is on disk. While it runs the next reads gather for the next one:
 * under load one commit to disk serves many reads, and an idle daemon waits for none.
 * ---------------------------------------------------------------------------------------------- */

struct daemon_group {
    daemon_group_t *next; /* in the committer's lists */
    tsr_daemon_t *daemon;
    void *const *jobs; /* the batch's array, valid until tsr_batch_flushed */
    size_t count;
    size_t events;
    int rc;
    tsr_error_t err;
    tsr_outbox_batch_t published; /* the events, numbered and committed, for the relay */
};

static void daemon__group_work(tsr_db_t *db, void *arg)
{
    daemon_group_t *group = arg;
    group->rc = -1;
    tsr_error_clear(&group->err);
    size_t total = 0;
    for (size_t i = 0; i < group->count; i++)
        total += ((const daemon_job_t *)group->jobs[i])->held.count;
    tsr_outbox_event_t *events = malloc(total * sizeof(*events));
    if (events == NULL) {
        tsr_error_set(&group->err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory writing events.");
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < group->count; i++) {
        const daemon_held_t *held = &((const daemon_job_t *)group->jobs[i])->held;
        memcpy(events + n, held->events, held->count * sizeof(*events));
        n += held->count;
    }
    PGconn *conn = tsr_db_acquire(db, &group->err);
    if (conn != NULL) {
        /* BEGIN, the lock on the numbering, the INSERT and COMMIT go in one round trip. The events
         * are numbered as they are written, not by the relay after: under load these are most of a
         * daemon's events, and numbering them later would write each row twice. */
        if (tsr_db_begin(conn, &group->err) == 0 &&
            tsr_outbox_commit_numbered(conn, group->daemon->name, events, total, &group->published,
                                       &group->err) == 0) {
            group->rc = 0;
            group->events = total;
        } else {
            tsr_db_command(conn, "ROLLBACK", NULL);
        }
        tsr_db_release(db, conn);
    }
    free(events);
}

static void daemon__group_done(void *arg)
{
    daemon_group_t *group = arg;
    tsr_daemon_t *self = group->daemon;
    if (group->rc == 0) {
        tsr_metric_add(self->m_group_commits, 1);
        tsr_metric_add(self->m_group_events, (double)group->events);
        if (self->relay != NULL)
            tsr_relay_publish_numbered(self->relay, &group->published);
    } else {
        tsr_log_warn(NULL,
                     "the events of %zu reads could not be committed; each is answered with the error: %s",
                     group->count, group->err.message);
    }
    tsr_error_t err = group->err;
    int rc = group->rc;
    void *const *jobs = group->jobs;
    tsr_outbox_batch_free(&group->published);
    free(group);
    tsr_batch_flushed(self->reads, jobs, rc, &err);
}

static void *daemon__committer_main(void *arg)
{
    daemon_committer_t *c = arg;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (c->todo == NULL && !c->stop)
            pthread_cond_wait(&c->wake, &c->lock);
        if (c->todo == NULL)
            break; /* stopping, and nothing left */
        daemon_group_t *group = c->todo;
        c->todo = group->next;
        pthread_mutex_unlock(&c->lock);
        daemon__group_work(c->db, group);
        pthread_mutex_lock(&c->lock);
        group->next = c->done;
        c->done = group;
        uv_async_send(&c->async);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static void daemon__committer_on_done(uv_async_t *async)
{
    daemon_committer_t *c = async->data;
    pthread_mutex_lock(&c->lock);
    daemon_group_t *group = c->done;
    c->done = NULL;
    pthread_mutex_unlock(&c->lock);
    while (group != NULL) {
        daemon_group_t *next = group->next;
        daemon__group_done(group);
        group = next;
    }
}

static int daemon__committer_start(tsr_daemon_t *self, const char *url)
{
    daemon_committer_t *c = &self->committer;
    tsr_error_t err;
    c->db = tsr_db_new(&self->loop, url, self->name, DAEMON_COMMITTERS, &err);
    if (c->db == NULL) {
        tsr_log_error(NULL, "%s", err.message);
        return -1;
    }
    tsr_db_set_timezone(c->db, self->timezone);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    uv_async_init(&self->loop, &c->async, daemon__committer_on_done);
    c->async.data = c;
    c->async_open = 1;
    for (; c->started < DAEMON_COMMITTERS; c->started++) {
        if (pthread_create(&c->threads[c->started], NULL, daemon__committer_main, c) != 0) {
            tsr_log_error(NULL, "cannot start the group commit threads");
            return -1;
        }
    }
    return 0;
}

/* Ends the threads once their groups are done (the drain waits for every read, so none is left). */
static void daemon__committer_stop(tsr_daemon_t *self)
{
    daemon_committer_t *c = &self->committer;
    if (c->started > 0) {
        pthread_mutex_lock(&c->lock);
        c->stop = 1;
        pthread_cond_broadcast(&c->wake);
        pthread_mutex_unlock(&c->lock);
        for (int i = 0; i < c->started; i++)
            pthread_join(c->threads[i], NULL);
        c->started = 0;
    }
    if (c->async_open && !uv_is_closing((uv_handle_t *)&c->async))
        uv_close((uv_handle_t *)&c->async, NULL);
}

static void daemon__group_flush(tsr_batch_t *batch, void *const *jobs, size_t count, void *arg)
{
    tsr_daemon_t *self = arg;
    tsr_error_t err;
    daemon_group_t *group = calloc(1, sizeof(*group));
    if (group == NULL || self->committer.started == 0) {
        free(group);
        tsr_error_set(&err, TSR_E_UNAVAILABLE, "shutting_down", NULL, "The %s service is shutting down.",
                      self->name);
        tsr_batch_flushed(batch, jobs, -1, &err);
        return;
    }
    *group = (daemon_group_t){.daemon = self, .jobs = jobs, .count = count};
    daemon_committer_t *c = &self->committer;
    pthread_mutex_lock(&c->lock);
    daemon_group_t **tail = &c->todo;
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = group;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
}

static uint64_t daemon__gather_now(void *arg)
{
    tsr_daemon_t *self = arg;
    return uv_now(&self->loop);
}

static void daemon__on_gather_timer(uv_timer_t *timer)
{
    tsr_daemon_t *self = timer->data;
    tsr_batch_resume(self->reads);
}

static size_t daemon__gather_on_way(void *arg)
{
    const tsr_daemon_t *self = arg;
    return self->reads_on_way;
}

static void daemon__gather_wake(uint64_t delay_ms, void *arg)
{
    tsr_daemon_t *self = arg;
    uv_timer_start(&self->gather_timer, daemon__on_gather_timer, delay_ms, 0);
}

/* tessera.group_commit_gather_ms (default 10): how long, under load, a group commit gathers the
 * reads of the moment (tsr_batch_set_gather). Each commit is a flush to disk, which on a busy
 * daemon cost more than the reads it served; a read with none behind it never waits. */
static int daemon__gather_start(tsr_daemon_t *self)
{
    uv_timer_init(&self->loop, &self->gather_timer);
    self->gather_timer.data = self;
    self->gather_open = 1;
    static const tsr_batch_gather_t hooks = {daemon__gather_now, daemon__gather_on_way, daemon__gather_wake};
    tsr_batch_set_gather(self->reads, (uint64_t)self->gather_ms, &hooks);
    return 0;
}

static void daemon__group_answered(void *item, int rc, const tsr_error_t *err, void *arg)
{
    (void)arg;
    daemon_job_t *job = item;
    if (rc != 0) {
        /* The read's audit event is not on disk: its data must not leave. */
        job->failed = 1;
        job->err = *err;
        free(job->reply_payload);
        job->reply_payload = NULL;
        job->reply_len = 0;
    }
    daemon__answer(job);
}

static void daemon__done(void *arg)
{
    daemon_job_t *job = arg;
    tsr_daemon_t *self = job->daemon;
    if (job->on_way) {
        job->on_way = 0;
        self->reads_on_way--;
    }
    if (job->held.count > 0) {
        if (tsr_batch_add(self->reads, job) == 0)
            return;
        job->failed = 1;
        tsr_error_set(&job->err, TSR_E_INTERNAL, "out_of_memory", NULL,
                      "Out of memory queueing a read's events.");
        free(job->reply_payload);
        job->reply_payload = NULL;
        job->reply_len = 0;
    }
    daemon__answer(job);
}

static const tsr_handler_def_t *daemon__find_handler(const tsr_daemon_t *self, const char *type)
{
    for (size_t i = 0; i < self->handler_count; i++)
        if (strcmp(self->handlers[i].type, type) == 0)
            return &self->handlers[i];
    return NULL;
}

/* Demo data (`tessera demo load`: invented workers who share a published password, admins among
 * them) is taken only by a daemon whose own configuration says tessera.demo = true. The tool checks
 * its own configuration too, but that may be another file, or another environment, than the
 * daemon's: a production daemon must refuse it whatever the sender believes. 0, or -1 with err. */
static int daemon__refuse_demo_load(const tsr_daemon_t *self, const Tsr__Envelope *req, tsr_error_t *err)
{
    if (!req->demo_load)
        return 0;
    int demo = 0;
    tsr_error_t bad;
    tsr_error_clear(&bad);
    if (tsr_config_get_bool(self->config, "tessera.demo", 0, &demo, &bad) == 0 && demo)
        return 0;
    tsr_log_warn(req->trace_id, "refused demo data (%s): this daemon's tessera.demo is not true", req->type);
    return tsr_error_set(err, TSR_E_FORBIDDEN, "not_demo_mode", NULL,
                         "The %s service takes no demo data: its own tessera.demo is not true (its "
                         "configuration file's [tessera] demo, or TESSERA_TESSERA_DEMO in its environment). "
                         "Demo mode is for a demo instance only, never for one holding real records "
                         "(docs/OPERATIONS.md, section 9); nothing was changed.",
                         self->name);
}

static void daemon__dispatch(tsr_daemon_t *self, zmq_msg_t *identity, Tsr__Envelope *req)
{
    tsr_error_t err;
    tsr_error_clear(&err);
    if (req->deadline_ms > 0 && req->deadline_ms < tsr_now_ms()) {
        /* The caller has stopped waiting; doing the work now could only surprise it. */
        tsr_metric_add(self->m_requests_dropped, 1);
        tsr__envelope__free_unpacked(req, NULL);
        return;
    }
    if (daemon__refuse_demo_load(self, req, &err) != 0) {
        daemon__send_reply(self, identity, req, NULL, 0, &err);
        tsr__envelope__free_unpacked(req, NULL);
        return;
    }
    if (strcmp(req->type, "tsr.metrics") == 0) {
        Tsr__MetricsReply reply = TSR__METRICS_REPLY__INIT;
        reply.text = tsr_metrics_render();
        size_t len = 0;
        uint8_t *payload = tsr_pack(&reply.base, &len);
        daemon__send_reply(self, identity, req, payload, len, NULL);
        free(payload);
        free(reply.text);
        tsr__envelope__free_unpacked(req, NULL);
        return;
    }
    const tsr_handler_def_t *handler = daemon__find_handler(self, req->type);
    int builtin = strcmp(req->type, "tsr.replay") == 0 || strcmp(req->type, "tsr.health") == 0;
    if (handler == NULL && !builtin)
        tsr_error_set(&err, TSR_E_INVALID, "unknown_request", NULL, "The %s service has no request '%s'.",
                      self->name, req->type);
    else if (self->draining)
        tsr_error_set(&err, TSR_E_UNAVAILABLE, "shutting_down", NULL,
                      "The %s service is shutting down; try again shortly.", self->name);
    if (err.status != TSR_OK) {
        daemon__send_reply(self, identity, req, NULL, 0, &err);
        tsr__envelope__free_unpacked(req, NULL);
        return;
    }
    daemon_job_t *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        tsr__envelope__free_unpacked(req, NULL);
        return;
    }
    job->daemon = self;
    job->request = req;
    job->handler = handler;
    job->started_ns = uv_hrtime();
    zmq_msg_init(&job->identity);
    zmq_msg_move(&job->identity, identity);
    if (tsr_db_submit(self->db, daemon__work, daemon__done, job) != 0) {
        tsr_error_set(&err, TSR_E_UNAVAILABLE, "shutting_down", NULL, "The %s service is shutting down.",
                      self->name);
        daemon__send_reply(self, &job->identity, req, NULL, 0, &err);
        daemon__job_free(job);
        return;
    }
    self->jobs++;
    if (daemon__is_group_read(self, req)) {
        job->on_way = 1;
        self->reads_on_way++;
    }
}

static int daemon__on_router(tsr_zwatch_t *watch, int budget)
{
    tsr_daemon_t *self = watch->data;
    int taken = 0;
    while (taken < budget) {
        zmq_msg_t identity, delimiter, body;
        zmq_msg_init(&identity);
        if (zmq_msg_recv(&identity, self->router, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&identity);
            break;
        }
        taken++;
        /* ROUTER framing: identity, empty delimiter, body. Anything else is dropped whole. */
        int ok = zmq_msg_more(&identity);
        zmq_msg_init(&delimiter);
        zmq_msg_init(&body);
        if (ok)
            ok = zmq_msg_recv(&delimiter, self->router, ZMQ_DONTWAIT) >= 0 && zmq_msg_size(&delimiter) == 0 &&
                 zmq_msg_more(&delimiter);
        if (ok)
            ok = zmq_msg_recv(&body, self->router, ZMQ_DONTWAIT) >= 0;
        int more = ok ? zmq_msg_more(&body) : zmq_msg_more(&delimiter);
        while (more) {
            zmq_msg_t extra;
            zmq_msg_init(&extra);
            if (zmq_msg_recv(&extra, self->router, ZMQ_DONTWAIT) < 0)
                more = 0;
            else
                more = zmq_msg_more(&extra);
            zmq_msg_close(&extra);
            ok = 0;
        }
        Tsr__Envelope *req =
            ok ? tsr__envelope__unpack(NULL, zmq_msg_size(&body), zmq_msg_data(&body)) : NULL;
        zmq_msg_close(&delimiter);
        zmq_msg_close(&body);
        if (req == NULL || req->kind != TSR__ENVELOPE__KIND__REQUEST) {
            tsr_metric_add(self->m_requests_dropped, 1);
            tsr_log_warn(NULL, "dropped a malformed request on the bus");
            if (req)
                tsr__envelope__free_unpacked(req, NULL);
            zmq_msg_close(&identity);
            continue;
        }
        daemon__dispatch(self, &identity, req);
        zmq_msg_close(&identity);
    }
    return taken;
}

/* ------------------------------------------------------------------------------------------------
 * Running and draining
 * ---------------------------------------------------------------------------------------------- */

static int daemon__busy(tsr_daemon_t *self)
{
    int busy = self->jobs + tsr_db_in_flight(self->db);
    if (self->relay)
        busy += tsr_relay_busy(self->relay);
    for (size_t i = 0; i < self->sub_count; i++)
        if (self->subs[i].consumer)
            busy += tsr_consumer_busy(self->subs[i].consumer);
    if (self->hooks.busy)
        busy += self->hooks.busy(self, self->hooks.arg);
    return busy;
}

static void daemon__close_walk(uv_handle_t *handle, void *arg)
{
    (void)arg;
    if (!uv_is_closing(handle))
        uv_close(handle, NULL);
}

static void daemon__finish(tsr_daemon_t *self)
{
    uv_timer_stop(&self->drain_timer);
    daemon__committer_stop(self);
    if (self->relay) {
        tsr_relay_close(self->relay);
        self->relay = NULL;
    }
    for (size_t i = 0; i < self->sub_count; i++) {
        if (self->subs[i].consumer) {
            tsr_consumer_close(self->subs[i].consumer);
            self->subs[i].consumer = NULL;
        }
    }
    for (size_t i = 0; i < self->client_count; i++)
        tsr_client_destroy(&self->clients[i].client);
    if (self->router_watching) {
        tsr_zwatch_close(&self->router_watch, NULL);
        self->router_watching = 0;
    }
    uv_close((uv_handle_t *)&self->sigterm, NULL);
    uv_close((uv_handle_t *)&self->sigint, NULL);
    uv_close((uv_handle_t *)&self->drain_timer, NULL);
    if (self->gather_open) {
        uv_close((uv_handle_t *)&self->gather_timer, NULL);
        self->gather_open = 0;
    }
    for (size_t i = 0; i < self->periodic_count; i++)
        if (self->periodic[i].started && !uv_is_closing((uv_handle_t *)&self->periodic[i].timer))
            uv_close((uv_handle_t *)&self->periodic[i].timer, NULL);
    /* On the loop, so that what the hook closes asynchronously is closed before the loop ends. */
    if (self->hooks.release && !self->hooks_released) {
        self->hooks_released = 1;
        self->hooks.release(self, self->hooks.arg);
    }
}

static void daemon__on_drain_timer(uv_timer_t *timer)
{
    tsr_daemon_t *self = timer->data;
    /* A second before the drain runs out, calls still waiting on other daemons (one that hangs, or
     * whose host is cut off) are answered with shutting_down, so that their own callers get an
     * answer and the drain can end cleanly within its time. */
    if (!self->calls_failed && tsr_now_ms() >= self->drain_deadline_ms - 1000) {
        self->calls_failed = 1;
        tsr_error_t err;
        tsr_error_set(&err, TSR_E_UNAVAILABLE, "shutting_down", NULL,
                      "The service is shutting down; try again shortly.");
        for (size_t i = 0; i < self->client_count; i++)
            if (self->clients[i].client != NULL && tsr_client_in_flight(self->clients[i].client) > 0)
                tsr_client_fail_all(self->clients[i].client, &err);
    }
    int busy = daemon__busy(self);
    if (busy == 0 || tsr_now_ms() >= self->drain_deadline_ms) {
        if (busy > 0) {
            /* The jobs still running hold the process (the loop waits for them): a job blocked on a
             * lock, or moving a hundred thousand steps, kept a daemon asked to stop running for
             * minutes, until someone killed it. Their work is abandoned, not lost: each transaction
             * is rolled back when its connection closes (client_connection_check_interval, set by
             * tsr_db, has PostgreSQL notice a wait's client gone), its caller was answered
             * shutting_down or times out, and an event being applied is applied again at the next
             * start. */
            tsr_log_warn(NULL, "drain timed out with %d jobs in flight; stopping now, their work rolled back",
                         busy);
            fflush(NULL);
            _exit(1);
        } else {
            tsr_log_info(NULL, "drained; stopping");
        }
        daemon__finish(self);
    }
}

/* Stops taking work and drains what is in flight, then stops (daemon__on_drain_timer). */
static void daemon__drain(tsr_daemon_t *self)
{
    if (self->draining)
        return;
    self->draining = 1;
    /* Take no new work, but keep reading the bus until drained: a request that arrives now is
     * refused at once with shutting_down (daemon__dispatch), so that its caller can retry
     * elsewhere instead of waiting out its deadline for a reply that would never come. Replies to
     * work in flight still go out; daemon__finish stops reading. */
    /* Consumers take no new events either: under a steady flow of events there would always be
     * a next batch, and the drain would never end. An apply in flight finishes (the pool counts
     * it); the inbox says how far it got, and the next start replays the rest. */
    for (size_t i = 0; i < self->sub_count; i++) {
        if (self->subs[i].consumer) {
            tsr_consumer_close(self->subs[i].consumer);
            self->subs[i].consumer = NULL;
        }
    }
    for (size_t i = 0; i < self->periodic_count; i++)
        if (self->periodic[i].started)
            uv_timer_stop(&self->periodic[i].timer);
    if (self->hooks.stop)
        self->hooks.stop(self, self->hooks.arg);
    self->drain_deadline_ms = tsr_now_ms() + self->drain_timeout_ms;
    uv_timer_start(&self->drain_timer, daemon__on_drain_timer, 0, 20);
}

static void daemon__on_signal(uv_signal_t *handle, int signum)
{
    tsr_daemon_t *self = handle->data;
    if (self->draining)
        return;
    tsr_log_info(NULL, "%s received; draining in-flight work", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    daemon__drain(self);
}

/* Binds socket to the endpoint of <name>.rpc (which 0) or <name>.events (1), claimed already. */
static int daemon__bind(tsr_daemon_t *self, void *socket, int which)
{
    char key[128];
    daemon__key(self, which == 0 ? "rpc" : "events", key, sizeof(key));
    const char *endpoint = self->endpoints[which];
    tsr_error_t err;
    if (tsr_curve_serve(socket, &err) != 0) {
        tsr_log_error(NULL, "cannot bind %s: %s", key, err.message);
        return -1;
    }
    if (zmq_bind(socket, endpoint) != 0) {
        int e = errno;
        /* A tcp:// endpoint has no lock file: the port taken is how a second copy learns of the first. */
        tsr_log_error(NULL, "cannot bind %s to %s: %s%s", key, endpoint, zmq_strerror(e),
                      e == EADDRINUSE
                          ? " (another process holds it: another copy of this daemon, or a daemon "
                            "given the same endpoint)"
                          : "");
        return -1;
    }
    return 0;
}

/* Every tessera.housekeeping_ms (an hour): the replies kept for idempotency keys older than
 * tessera.idempotency_keep_days. A client retries a command within minutes; kept for ever, every
 * command's answer would stay in the table. */
static int daemon__forget_replies(PGconn *conn, void *arg, tsr_error_t *err)
{
    const tsr_daemon_t *self = arg;
    long gone = tsr_db_delete_past(
        conn, "DELETE FROM idempotency WHERE created_at < now() - make_interval(days => $1::int)",
        self->idempotency_keep_days, err);
    if (gone < 0)
        return -1;
    if (gone > 0)
        tsr_log_info(NULL, "forgot %ld idempotency keys older than %ld days", gone,
                     self->idempotency_keep_days);
    return 0;
}

/* Every tessera.housekeeping_ms: the published events older than tessera.outbox_keep_days. Kept for
 * ever, the outbox would grow by every change for as long as the suite runs, and keep the personal
 * data of records long since disposed of. */
static int daemon__forget_events(PGconn *conn, void *arg, tsr_error_t *err)
{
    const tsr_daemon_t *self = arg;
    long gone = tsr_outbox_forget(conn, self->outbox_keep_days, err);
    if (gone < 0)
        return -1;
    if (gone > 0)
        tsr_log_info(NULL, "removed %ld published events older than %ld days from the outbox", gone,
                     self->outbox_keep_days);
    return 0;
}

int tsr_daemon_run(tsr_daemon_t *self)
{
    if (self->db == NULL) {
        tsr_log_error(NULL, "tsr_daemon_migrate must succeed before tsr_daemon_run");
        return 1;
    }
    int zero = 0, one = 1, hwm = 100000;
    self->router = zmq_socket(self->zmq, ZMQ_ROUTER);
    self->pub = zmq_socket(self->zmq, ZMQ_PUB);
    zmq_setsockopt(self->router, ZMQ_LINGER, &zero, sizeof(zero));
    /* Fail loudly, not silently, when a reply cannot be routed (the caller went away). */
    zmq_setsockopt(self->router, ZMQ_ROUTER_MANDATORY, &one, sizeof(one));
    zmq_setsockopt(self->router, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(self->router, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(self->pub, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(self->pub, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    /* The endpoints are this copy's: tsr_daemon_migrate claimed them. */
    if (daemon__bind(self, self->router, 0) != 0 || daemon__bind(self, self->pub, 1) != 0)
        return TSR_EXIT_FAILED;
    self->reads =
        tsr_batch_new(DAEMON_GROUP_MAX, DAEMON_COMMITTERS, daemon__group_flush, daemon__group_answered, self);
    if (self->reads == NULL)
        return 1;
    if (daemon__gather_start(self) != 0)
        return 1;
    if (self->read_count > 0 && daemon__committer_start(self, self->db_url) != 0)
        return 1;
    self->router_watch.data = self;
    if (tsr_zwatch_init(&self->loop, &self->router_watch, self->router, daemon__on_router) != 0)
        return 1;
    self->router_watching = 1;

    tsr_error_t err;
    if (tsr_daemon_housekeeping(self, "idempotency keys past keeping", daemon__forget_replies, self) != 0 ||
        tsr_daemon_housekeeping(self, "published events past keeping", daemon__forget_events, self) != 0) {
        tsr_log_error(NULL, "the housekeeping of idempotency keys and events could not be scheduled");
        return 1;
    }
    for (size_t i = 0; i < self->periodic_count; i++)
        if (self->periodic[i].interval_ms == 0)
            self->periodic[i].interval_ms = self->housekeeping_ms;
    self->relay = tsr_relay_new(&self->loop, self->db, self->pub, self->name, (int)self->relay_ms);
    for (size_t i = 0; i < self->sub_count; i++) {
        char key[128];
        snprintf(key, sizeof(key), "%s.events", self->subs[i].producer);
        const char *events = tsr_config_require(self->config, key, &err);
        tsr_client_t *rpc = tsr_daemon_client(self, self->subs[i].producer);
        if (events == NULL || rpc == NULL) {
            tsr_log_error(NULL, "cannot subscribe to %s: %s", self->subs[i].producer,
                          events ? "its rpc endpoint is not configured" : err.message);
            return TSR_EXIT_CONFIG;
        }
        self->subs[i].consumer =
            tsr_consumer_new(self, self->zmq, self->subs[i].producer, events, rpc, self->subs[i].wants,
                             self->subs[i].apply, self->subs[i].flush, (int)self->idle_ms);
        if (self->subs[i].consumer == NULL)
            return 1;
    }

    uv_signal_init(&self->loop, &self->sigterm);
    uv_signal_init(&self->loop, &self->sigint);
    uv_timer_init(&self->loop, &self->drain_timer);
    self->sigterm.data = self->sigint.data = self->drain_timer.data = self;
    uv_signal_start(&self->sigterm, daemon__on_signal, SIGTERM);
    uv_signal_start(&self->sigint, daemon__on_signal, SIGINT);
    signal(SIGPIPE, SIG_IGN);

    for (size_t i = 0; i < self->periodic_count; i++) {
        daemon_periodic_t *job = &self->periodic[i];
        uv_timer_init(&self->loop, &job->timer);
        job->timer.data = job;
        job->started = 1;
        uv_timer_start(&job->timer, daemon__on_periodic, (uint64_t)job->interval_ms,
                       (uint64_t)job->interval_ms);
    }
    if (self->hooks.start && self->hooks.start(self, self->hooks.arg) != 0) {
        /* No signal came: say what did, and stop as a drain would (nothing is in flight yet). */
        tsr_log_error(NULL, "start-up failed (above); stopping");
        self->exit_code = TSR_EXIT_FAILED;
        daemon__drain(self);
    } else {
        tsr_log_info(NULL, "ready");
    }
    uv_run(&self->loop, UV_RUN_DEFAULT);
    return self->exit_code;
}

void tsr_daemon_destroy(tsr_daemon_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    tsr_daemon_t *self = *self_p;
    *self_p = NULL;
    if (self->hooks.release && !self->hooks_released) {
        self->hooks_released = 1;
        self->hooks.release(self, self->hooks.arg);
    }
    daemon__committer_stop(self);
    /* Whatever is still open (a start-up that failed half-way) is closed before the loop goes. */
    uv_walk(&self->loop, daemon__close_walk, NULL);
    uv_run(&self->loop, UV_RUN_DEFAULT);
    uv_loop_close(&self->loop);
    if (self->router)
        zmq_close(self->router);
    if (self->pub)
        zmq_close(self->pub);
    for (size_t i = 0; i < self->client_count; i++)
        free(self->clients[i].name);
    for (size_t i = 0; i < self->sub_count; i++)
        free(self->subs[i].producer);
    tsr_db_destroy(&self->db);
    tsr_batch_destroy(&self->reads);
    tsr_db_destroy(&self->committer.db);
    if (self->committer.async_open) {
        pthread_mutex_destroy(&self->committer.lock);
        pthread_cond_destroy(&self->committer.wake);
    }
    tsr_client_close_kept(self->zmq);
    tsr_curve_stop(self->curve, self->zmq);
    zmq_ctx_term(self->zmq);
    tsr_curve_use(NULL);
    tsr_curve_destroy(&self->curve);
    /* Last: let go of the endpoints only once their sockets are closed (and their files removed). */
    for (int i = 0; i < 2; i++)
        if (self->locks[i] >= 0)
            close(self->locks[i]);
    tsr_config_destroy(&self->config);
    free(self->name);
    free(self);
}

/* ------------------------------------------------------------------------------------------------
 * A daemon's own transactions
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    tsr_daemon_t *daemon;
    tsr_txn_fn fn;
    tsr_txn_done_fn done;
    void *arg;
    int in_transaction;
    int rc;
    tsr_error_t err;
} daemon_txn_t;

static void daemon__txn_work(tsr_db_t *db, void *arg)
{
    daemon_txn_t *txn = arg;
    txn->rc = -1;
    PGconn *conn = tsr_db_acquire(db, &txn->err);
    if (conn == NULL)
        return;
    if (!txn->in_transaction) {
        txn->rc = txn->fn(conn, txn->arg, &txn->err);
    } else if (tsr_db_begin(conn, &txn->err) == 0) {
        if (txn->fn(conn, txn->arg, &txn->err) == 0 && tsr_db_command(conn, "COMMIT", &txn->err) == 0)
            txn->rc = 0;
        else
            tsr_db_command(conn, "ROLLBACK", NULL);
    }
    tsr_db_release(db, conn);
}

static void daemon__txn_done(void *arg)
{
    daemon_txn_t *txn = arg;
    txn->daemon->jobs--;
    if (txn->rc != 0 && txn->err.status == TSR_E_INTERNAL)
        tsr_log_error(NULL, "transaction failed: %s", txn->err.message);
    txn->done(txn->arg, txn->rc, txn->rc == 0 ? NULL : &txn->err);
    free(txn);
}

static int daemon__submit_txn(tsr_daemon_t *self, tsr_txn_fn fn, tsr_txn_done_fn done, void *arg,
                              int in_transaction)
{
    daemon_txn_t *txn = calloc(1, sizeof(*txn));
    if (txn == NULL)
        return -1;
    *txn =
        (daemon_txn_t){.daemon = self, .fn = fn, .done = done, .arg = arg, .in_transaction = in_transaction};
    if (tsr_db_submit(self->db, daemon__txn_work, daemon__txn_done, txn) != 0) {
        free(txn);
        return -1;
    }
    self->jobs++;
    return 0;
}

int tsr_daemon_txn(tsr_daemon_t *self, tsr_txn_fn fn, tsr_txn_done_fn done, void *arg)
{
    return daemon__submit_txn(self, fn, done, arg, 1);
}

int tsr_daemon_autocommit(tsr_daemon_t *self, tsr_txn_fn fn, tsr_txn_done_fn done, void *arg)
{
    return daemon__submit_txn(self, fn, done, arg, 0);
}

int tsr_daemon_txn_now(tsr_daemon_t *self, tsr_txn_fn fn, void *arg, tsr_error_t *err)
{
    PGconn *conn = tsr_db_acquire(self->db, err);
    if (conn == NULL)
        return -1;
    int rc = tsr_db_begin(conn, err);
    if (rc == 0 && (rc = fn(conn, arg, err)) == 0)
        rc = tsr_db_command(conn, "COMMIT", err);
    else if (rc != 0)
        tsr_db_command(conn, "ROLLBACK", NULL);
    tsr_db_release(self->db, conn);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * Periodic jobs
 * ---------------------------------------------------------------------------------------------- */

static int daemon__periodic_run(PGconn *conn, void *arg, tsr_error_t *err)
{
    daemon_periodic_t *job = arg;
    return job->fn(conn, job->arg, err);
}

static void daemon__periodic_done(void *arg, int rc, const tsr_error_t *err)
{
    daemon_periodic_t *job = arg;
    job->running = 0;
    if (rc != 0)
        tsr_log_warn(NULL, "%s failed: %s", job->what, err->message);
}

static void daemon__on_periodic(uv_timer_t *timer)
{
    daemon_periodic_t *job = timer->data;
    if (job->running || job->daemon->draining)
        return;
    job->running = 1;
    if (daemon__submit_txn(job->daemon, daemon__periodic_run, daemon__periodic_done, job, 1) != 0)
        job->running = 0;
}

int tsr_daemon_housekeeping(tsr_daemon_t *self, const char *what, tsr_txn_fn fn, void *arg)
{
    if (self->periodic_count == DAEMON_PERIODIC_MAX)
        return -1;
    /* Its interval, tessera.housekeeping_ms, is set by tsr_daemon_run once it has read it. */
    self->periodic[self->periodic_count++] =
        (daemon_periodic_t){.daemon = self, .what = what, .interval_ms = 0, .fn = fn, .arg = arg};
    return 0;
}

int tsr_daemon_every(tsr_daemon_t *self, const char *what, long interval_ms, tsr_txn_fn fn, void *arg)
{
    if (self->periodic_count == DAEMON_PERIODIC_MAX || interval_ms <= 0)
        return -1;
    daemon_periodic_t *job = &self->periodic[self->periodic_count++];
    *job =
        (daemon_periodic_t){.daemon = self, .what = what, .interval_ms = interval_ms, .fn = fn, .arg = arg};
    return 0;
}
