#include "tsr_db.h"

#include <libpq-events.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsr_log.h"

/* ------------------------------------------------------------------------------------------------
 * Prepared statements
 *
 * A daemon runs the same few dozen statements again and again; sent with PQexecParams, each is
 * parsed and planned every time, which costs the server more than running most of them. Each
 * connection of the pool prepares a statement the first time it runs it and executes the prepared
 * one after that. The cache lives with the connection (libpq instance data), so it goes when the
 * connection goes; a connection that was not opened by the pool simply runs statements unprepared.
 * ---------------------------------------------------------------------------------------------- */

#define DB_PREPARED_MAX 512

typedef struct {
    char *sql;
    uint64_t hash;
    int nparams;
} db_prepared_t;

/* A batch handler emits an event per item (cpis: one per notification of a part of up to a few
 * thousand); each beyond this many would cost a round trip of its own. */
#define DB_DEFERRED_MAX 1024

/* A statement whose result nobody reads, kept to go with the next one (tsr_db_defer). */
typedef struct {
    char name[24]; /* its prepared statement ("" when it runs unprepared) */
    char *sql;
    int nparams;
    char **values;
    int *lengths;
    int *formats;
} db_deferred_t;

typedef struct {
    db_prepared_t entries[DB_PREPARED_MAX];
    int count;
    int begin_pending; /* tsr_db_begin was asked (2: read only); BEGIN goes with the next statement */
    db_deferred_t deferred[DB_DEFERRED_MAX];
    int deferred_count;
} db_statements_t;

static void db__deferred_clear(db_statements_t *st)
{
    for (int i = 0; i < st->deferred_count; i++) {
        db_deferred_t *d = &st->deferred[i];
        for (int k = 0; k < d->nparams; k++)
            free(d->values[k]);
        free(d->values);
        free(d->lengths);
        free(d->formats);
        free(d->sql);
    }
    st->deferred_count = 0;
}

static int db__events(PGEventId id, void *info, void *pass_through);

static uint64_t db__hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void db__statements_free(db_statements_t *st)
{
    if (st == NULL)
        return;
    db__deferred_clear(st);
    for (int i = 0; i < st->count; i++)
        free(st->entries[i].sql);
    free(st);
}

static int db__events(PGEventId id, void *info, void *pass_through)
{
    (void)pass_through;
    if (id == PGEVT_CONNDESTROY) {
        PGEventConnDestroy *e = info;
        db__statements_free(PQinstanceData(e->conn, db__events));
    } else if (id == PGEVT_CONNRESET) {
        /* A reset connection is a new session: what it had prepared is gone. */
        PGEventConnReset *e = info;
        db_statements_t *st = PQinstanceData(e->conn, db__events);
        for (int i = 0; st && i < st->count; i++)
            free(st->entries[i].sql);
        if (st) {
            st->count = 0;
            st->begin_pending = 0;
            db__deferred_clear(st);
        }
    }
    return 1;
}

/* The name of sql's prepared statement on conn, preparing it the first time; NULL when the
 * connection keeps no cache (or it is full), and the statement then runs unprepared. On a failed
 * prepare, *failed holds the server's answer. */
static const char *db__prepared(PGconn *conn, const char *sql, int nparams, char name[24], PGresult **failed)
{
    *failed = NULL;
    db_statements_t *st = PQinstanceData(conn, db__events);
    if (st == NULL)
        return NULL;
    uint64_t h = db__hash(sql);
    for (int i = 0; i < st->count; i++) {
        if (st->entries[i].hash == h && st->entries[i].nparams == nparams &&
            strcmp(st->entries[i].sql, sql) == 0) {
            snprintf(name, 24, "tsr_%d", i);
            return name;
        }
    }
    if (st->count == DB_PREPARED_MAX)
        return NULL;
    snprintf(name, 24, "tsr_%d", st->count);
    PGresult *res = PQprepare(conn, name, sql, nparams, NULL);
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
        *failed = res;
        return NULL;
    }
    PQclear(res);
    char *copy = strdup(sql);
    if (copy == NULL)
        return NULL;
    st->entries[st->count++] = (db_prepared_t){copy, h, nparams};
    return name;
}

struct tsr_db {
    uv_loop_t *loop;
    char *conninfo;
    char *schema;
    char timezone[64]; /* tsr_db_set_timezone: "" for none */
    pthread_mutex_t lock;
    pthread_cond_t available;
    PGconn **idle;  /* connections free for use (NULL slots are not yet opened) */
    int idle_count; /* entries in idle, opened or not */
    int size;
    int in_flight; /* touched on the loop thread only */
    /* An outage of the database, as the log tells it (under lock): since when (monotonic ms, 0 while
     * it answers), how many connections failed, and when it was last told. */
    int64_t outage_since_ms;
    int64_t outage_told_ms;
    long outage_failures;
};

/* While the database cannot be reached, every call tries to connect and fails: one warning each
 * filled the log with a thousand lines a minute, none of them an error to alert on. The first
 * failure is an error, then one line every DB_OUTAGE_TELL_MS saying for how long, and one when
 * the database answers again. */
#define DB_OUTAGE_TELL_MS 30000

static int64_t db__monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void db__outage_failed(tsr_db_t *self, const char *why)
{
    int64_t now = db__monotonic_ms();
    pthread_mutex_lock(&self->lock);
    int first = self->outage_since_ms == 0;
    if (first)
        self->outage_since_ms = now;
    self->outage_failures++;
    int tell = first || now - self->outage_told_ms >= DB_OUTAGE_TELL_MS;
    if (tell)
        self->outage_told_ms = now;
    int64_t since = self->outage_since_ms;
    long failures = self->outage_failures;
    pthread_mutex_unlock(&self->lock);
    if (first)
        tsr_log_error(NULL, "the %s database cannot be reached: %s", self->schema, why);
    else if (tell)
        tsr_log_error(NULL,
                      "the %s database still cannot be reached after %lld s (%ld connections failed): %s",
                      self->schema, (long long)((now - since) / 1000), failures, why);
}

static void db__outage_over(tsr_db_t *self)
{
    pthread_mutex_lock(&self->lock);
    int64_t since = self->outage_since_ms;
    long failures = self->outage_failures;
    self->outage_since_ms = 0;
    self->outage_failures = 0;
    pthread_mutex_unlock(&self->lock);
    if (since != 0)
        tsr_log_info(NULL, "the %s database answers again, after %lld s (%ld connections failed)",
                     self->schema, (long long)((db__monotonic_ms() - since) / 1000), failures);
}

typedef struct {
    uv_work_t req;
    tsr_db_t *db;
    tsr_db_work_fn work;
    tsr_db_done_fn done;
    void *arg;
} db_job_t;

tsr_db_t *tsr_db_new(uv_loop_t *loop, const char *conninfo, const char *schema, int pool_size,
                     tsr_error_t *err)
{
    tsr_db_t *self = calloc(1, sizeof(*self));
    if (self == NULL) {
        tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL,
                      "Out of memory creating the database pool.");
        return NULL;
    }
    self->loop = loop;
    self->conninfo = strdup(conninfo);
    self->schema = strdup(schema);
    self->size = pool_size > 0 ? pool_size : 4;
    self->idle = calloc((size_t)self->size, sizeof(PGconn *));
    self->idle_count = self->size;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->available, NULL);
    /* libuv reads this once, at its first queued work: give it a thread per connection plus room
     * for other blocking work, so that no database job waits for a thread while holding a slot. */
    if (getenv("UV_THREADPOOL_SIZE") == NULL) {
        char n[16];
        snprintf(n, sizeof(n), "%d", self->size + 2);
        setenv("UV_THREADPOOL_SIZE", n, 0);
    }
    return self;
}

void tsr_db_set_timezone(tsr_db_t *self, const char *zone)
{
    snprintf(self->timezone, sizeof(self->timezone), "%s", zone ? zone : "");
}

void tsr_db_destroy(tsr_db_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    tsr_db_t *self = *self_p;
    for (int i = 0; i < self->idle_count; i++)
        if (self->idle[i] != NULL)
            PQfinish(self->idle[i]);
    free(self->idle);
    free(self->conninfo);
    free(self->schema);
    pthread_mutex_destroy(&self->lock);
    pthread_cond_destroy(&self->available);
    free(self);
    *self_p = NULL;
}

static void db__notice(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* NOTICEs such as "relation already exists, skipping" are not worth a log line. */
}

static PGconn *db__connect(tsr_db_t *self, tsr_error_t *err)
{
    PGconn *conn = PQconnectdb(self->conninfo);
    if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
        /* The server's words (a socket path, a host, a role) are for the operator's log, not for
         * the person whose call it was. */
        db__outage_failed(self, conn ? PQerrorMessage(conn) : "out of memory");
        tsr_error_set(err, TSR_E_UNAVAILABLE, "database_unavailable", NULL,
                      "The %s service cannot reach its database; try again shortly.", self->schema);
        if (conn)
            PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, db__notice, NULL);
    db_statements_t *st = calloc(1, sizeof(*st));
    if (st == NULL || !PQregisterEventProc(conn, db__events, "tsr_db", NULL) ||
        !PQsetInstanceData(conn, db__events, st)) {
        free(st);
        tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL,
                      "Out of memory opening a database connection.");
        PQfinish(conn);
        return NULL;
    }
    const char *params[2] = {self->schema, self->timezone};
    /* client_connection_check_interval: a statement left waiting (on a lock, say) by a daemon that
     * has gone is cancelled within seconds, its transaction rolled back and its locks let go, rather
     * than holding them until it next writes to the socket (a restarted daemon waited at start-up
     * behind its former self's session). tessera.timezone: the office's clock, for office_today();
     * PostgreSQL's own TimeZone (current_date, and how a timestamp is written) stays the server's. */
    PGresult *res = tsr_db_exec(conn,
                                "SELECT set_config('search_path', $1, false),"
                                " set_config('client_connection_check_interval', '5s', false),"
                                " set_config('tessera.timezone', $2, false)",
                                2, params, err);
    if (res == NULL) {
        PQfinish(conn);
        return NULL;
    }
    PQclear(res);
    db__outage_over(self);
    return conn;
}

/* Whether a pooled connection, idle since its last job, can still be used. PQstatus alone says OK
 * until a statement fails: a server restarted (or failed over) since leaves every idle connection
 * closed at its end, and the next call on each would fail with 503 though the database is back.
 * An idle connection is told nothing unprompted but that it is ending (we never LISTEN), so
 * anything to read, or a hang-up, means open a fresh one: one poll(2), no round trip. */
static int db__idle_connection_alive(PGconn *conn)
{
    if (PQstatus(conn) != CONNECTION_OK)
        return 0;
    struct pollfd fd = {.fd = PQsocket(conn), .events = POLLIN};
    if (fd.fd < 0)
        return 0;
    int ready = poll(&fd, 1, 0);
    if (ready == 0)
        return 1;
    if (ready < 0)
        return errno == EINTR;
    PQconsumeInput(conn); /* the server's parting message, for libpq to note, then let go */
    return 0;
}

PGconn *tsr_db_acquire(tsr_db_t *self, tsr_error_t *err)
{
    pthread_mutex_lock(&self->lock);
    while (self->idle_count == 0)
        pthread_cond_wait(&self->available, &self->lock);
    PGconn *conn = self->idle[--self->idle_count];
    pthread_mutex_unlock(&self->lock);

    if (conn != NULL && !db__idle_connection_alive(conn)) {
        PQfinish(conn);
        conn = NULL;
    }
    if (conn == NULL) {
        conn = db__connect(self, err);
        if (conn == NULL) {
            /* Give the slot back unopened, so that a later call tries again. */
            tsr_db_release(self, NULL);
            return NULL;
        }
    }
    return conn;
}

void tsr_db_release(tsr_db_t *self, PGconn *conn)
{
    db_statements_t *st = conn ? PQinstanceData(conn, db__events) : NULL;
    if (st != NULL) {
        st->begin_pending = 0;
        db__deferred_clear(st);
    }
    /* A connection left inside a transaction (a job that failed half-way) must not leak its state
     * into the next job. */
    if (conn != NULL && PQtransactionStatus(conn) != PQTRANS_IDLE) {
        PGresult *res = PQexec(conn, "ROLLBACK");
        PQclear(res);
        if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
            PQfinish(conn);
            conn = NULL;
        }
    }
    pthread_mutex_lock(&self->lock);
    self->idle[self->idle_count++] = conn;
    pthread_cond_signal(&self->available);
    pthread_mutex_unlock(&self->lock);
}

static void db__work(uv_work_t *req)
{
    db_job_t *job = req->data;
    job->work(job->db, job->arg);
}

static void db__after(uv_work_t *req, int status)
{
    (void)status;
    db_job_t *job = req->data;
    job->db->in_flight--;
    if (job->done != NULL)
        job->done(job->arg);
    free(job);
}

int tsr_db_submit(tsr_db_t *self, tsr_db_work_fn work, tsr_db_done_fn done, void *arg)
{
    db_job_t *job = calloc(1, sizeof(*job));
    if (job == NULL)
        return -1;
    job->db = self;
    job->work = work;
    job->done = done;
    job->arg = arg;
    job->req.data = job;
    if (uv_queue_work(self->loop, &job->req, db__work, db__after) != 0) {
        free(job);
        return -1;
    }
    self->in_flight++;
    return 0;
}

int tsr_db_in_flight(const tsr_db_t *self)
{
    return self->in_flight;
}

static PGresult *db__check(PGconn *conn, PGresult *res, tsr_error_t *err)
{
    ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
        return res;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (PQstatus(conn) != CONNECTION_OK) {
        tsr_log_warn(NULL, "the database connection was lost: %s", PQerrorMessage(conn));
        tsr_error_set(err, TSR_E_UNAVAILABLE, "database_unavailable", NULL,
                      "The database connection was lost; try again shortly.");
    } else {
        tsr_error_set(err, TSR_E_INTERNAL, "database_error", NULL, "The database refused the statement: %s",
                      primary ? primary : PQerrorMessage(conn));
    }
    if (err != NULL && state != NULL)
        snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", state);
    PQclear(res);
    return NULL;
}

PGresult *tsr_db_exec(PGconn *conn, const char *sql, int nparams, const char *const *params, tsr_error_t *err)
{
    return tsr_db_exec_bin(conn, sql, nparams, params, NULL, NULL, err);
}

/* Whether anything waits to go with the next statement. */
static int db__pending(const db_statements_t *st)
{
    return st != NULL && (st->begin_pending || st->deferred_count > 0);
}

/* Reads one query's result in pipeline mode, and the NULL that ends it. */
static PGresult *db__pipeline_result(PGconn *conn)
{
    PGresult *res = PQgetResult(conn);
    if (res != NULL) {
        PGresult *end;
        while ((end = PQgetResult(conn)) != NULL)
            PQclear(end);
    }
    return res;
}

/* Sends what waits (BEGIN, deferred statements) and then the statement (none when sql is NULL), in
 * one round trip (libpq's pipeline mode). Returns the first failure among them, or else the last
 * result, as PQexecParams would. */
static PGresult *db__pipeline(PGconn *conn, db_statements_t *st, const char *prepared, const char *sql,
                              int nparams, const char *const *values, const int *lengths, const int *formats,
                              int result_format, const char *trailer)
{
    if (!PQenterPipelineMode(conn))
        return NULL;
    int sent = 1, queries = 0;
    if (st->begin_pending) {
        sent = PQsendQueryParams(conn, st->begin_pending == 2 ? "BEGIN READ ONLY" : "BEGIN", 0, NULL, NULL,
                                 NULL, NULL, 0);
        queries++;
    }
    for (int i = 0; sent && i < st->deferred_count; i++, queries++) {
        const db_deferred_t *d = &st->deferred[i];
        sent = d->name[0] ? PQsendQueryPrepared(conn, d->name, d->nparams, (const char *const *)d->values,
                                                d->lengths, d->formats, 0)
                          : PQsendQueryParams(conn, d->sql, d->nparams, NULL, (const char *const *)d->values,
                                              d->lengths, d->formats, 0);
    }
    if (sent && sql != NULL) {
        sent = prepared
                   ? PQsendQueryPrepared(conn, prepared, nparams, values, lengths, formats, result_format)
                   : PQsendQueryParams(conn, sql, nparams, NULL, values, lengths, formats, result_format);
        queries++;
    }
    int result_at = queries - 1; /* the statement's own result (or the last deferred one's) */
    if (sent && trailer != NULL) {
        sent = PQsendQueryParams(conn, trailer, 0, NULL, NULL, NULL, NULL, 0);
        queries++;
    }
    st->begin_pending = 0;
    db__deferred_clear(st);
    PGresult *outcome = NULL;
    if (sent && PQpipelineSync(conn)) {
        int failed = 0;
        for (int q = 0; q < queries; q++) {
            PGresult *res = db__pipeline_result(conn);
            ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
            int ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
            if (!ok && !failed) {
                /* The first failure, even the trailer's after the statement's result. */
                PQclear(outcome);
                outcome = res;
                failed = 1;
                continue;
            }
            if (!failed && q == result_at) {
                outcome = res;
                continue;
            }
            PQclear(res);
        }
        PGresult *res;
        while ((res = PQgetResult(conn)) != NULL) {
            int synced = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
            PQclear(res);
            if (synced)
                break;
        }
    }
    PQexitPipelineMode(conn);
    return outcome;
}

/* trailer (COMMIT, say), when given, goes in the same round trip after the statement. */
static PGresult *db__exec(PGconn *conn, const char *sql, int nparams, const char *const *values,
                          const int *lengths, const int *formats, int result_format, const char *trailer,
                          tsr_error_t *err)
{
    char name[24];
    PGresult *failed = NULL;
    const char *prepared = db__prepared(conn, sql, nparams, name, &failed);
    if (failed != NULL)
        return db__check(conn, failed, err);
    db_statements_t *st = PQinstanceData(conn, db__events);
    if (db__pending(st) || (st != NULL && trailer != NULL))
        return db__check(
            conn,
            db__pipeline(conn, st, prepared, sql, nparams, values, lengths, formats, result_format, trailer),
            err);
    PGresult *res =
        db__check(conn,
                  prepared ? PQexecPrepared(conn, prepared, nparams, values, lengths, formats, result_format)
                           : PQexecParams(conn, sql, nparams, NULL, values, lengths, formats, result_format),
                  err);
    if (res != NULL && trailer != NULL && tsr_db_command(conn, trailer, err) != 0) {
        PQclear(res);
        return NULL;
    }
    return res;
}

PGresult *tsr_db_exec_bin(PGconn *conn, const char *sql, int nparams, const char *const *values,
                          const int *lengths, const int *formats, tsr_error_t *err)
{
    return db__exec(conn, sql, nparams, values, lengths, formats, 0, NULL, err);
}

PGresult *tsr_db_exec_and_commit(PGconn *conn, const char *sql, int nparams, const char *const *values,
                                 const int *lengths, const int *formats, tsr_error_t *err)
{
    return db__exec(conn, sql, nparams, values, lengths, formats, 0, "COMMIT", err);
}

PGresult *tsr_db_exec_binary_result(PGconn *conn, const char *sql, int nparams, const char *const *values,
                                    tsr_error_t *err)
{
    return db__exec(conn, sql, nparams, values, NULL, NULL, 1, NULL, err);
}

uint64_t tsr_db_get_int8(const PGresult *res, int row, int col)
{
    if (PQfformat(res, col) == 0)
        return strtoull(PQgetvalue(res, row, col), NULL, 10);
    const unsigned char *b = (const unsigned char *)PQgetvalue(res, row, col);
    uint64_t v = 0;
    for (int i = 0; i < 8 && i < PQgetlength(res, row, col); i++)
        v = v << 8 | b[i];
    return v;
}

int tsr_db_defer(PGconn *conn, const char *sql, int nparams, const char *const *values, const int *lengths,
                 const int *formats, tsr_error_t *err)
{
    db_statements_t *st = PQinstanceData(conn, db__events);
    if (st == NULL || st->deferred_count == DB_DEFERRED_MAX) {
        PGresult *res = tsr_db_exec_bin(conn, sql, nparams, values, lengths, formats, err);
        PQclear(res);
        return res ? 0 : -1;
    }
    db_deferred_t *d = &st->deferred[st->deferred_count];
    memset(d, 0, sizeof(*d));
    PGresult *failed = NULL;
    if (db__prepared(conn, sql, nparams, d->name, &failed) == NULL)
        d->name[0] = '\0';
    if (failed != NULL)
        return db__check(conn, failed, err) ? 0 : -1;
    d->sql = strdup(sql);
    d->values = calloc(nparams ? (size_t)nparams : 1, sizeof(char *));
    d->lengths = calloc(nparams ? (size_t)nparams : 1, sizeof(int));
    d->formats = calloc(nparams ? (size_t)nparams : 1, sizeof(int));
    d->nparams = nparams;
    st->deferred_count++; /* counted now, so that a failure below is cleared with it */
    if (d->sql == NULL || d->values == NULL || d->lengths == NULL || d->formats == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    for (int k = 0; k < nparams; k++) {
        if (values[k] == NULL)
            continue;
        int binary = formats != NULL && formats[k] == 1;
        size_t len = binary ? (size_t)lengths[k] : strlen(values[k]) + 1;
        d->values[k] = malloc(len ? len : 1);
        if (d->values[k] == NULL)
            return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
        memcpy(d->values[k], values[k], len);
        d->lengths[k] = lengths ? lengths[k] : 0;
        d->formats[k] = formats ? formats[k] : 0;
    }
    return 0;
}

int tsr_db_begin(PGconn *conn, tsr_error_t *err)
{
    db_statements_t *st = PQinstanceData(conn, db__events);
    if (st == NULL)
        return tsr_db_command(conn, "BEGIN", err);
    st->begin_pending = 1;
    return 0;
}

int tsr_db_begin_read_only(PGconn *conn, tsr_error_t *err)
{
    db_statements_t *st = PQinstanceData(conn, db__events);
    if (st == NULL)
        return tsr_db_command(conn, "BEGIN READ ONLY", err);
    st->begin_pending = 2;
    return 0;
}

int tsr_db_command(PGconn *conn, const char *sql, tsr_error_t *err)
{
    db_statements_t *st = PQinstanceData(conn, db__events);
    if (db__pending(st)) {
        if (strcmp(sql, "ROLLBACK") == 0 || (strcmp(sql, "COMMIT") == 0 && st->deferred_count == 0)) {
            /* A transaction that ran nothing ends with nothing to send; one rolled back drops what
             * waited. */
            int opened = !st->begin_pending;
            st->begin_pending = 0;
            db__deferred_clear(st);
            if (!opened)
                return 0;
        } else if (strchr(sql, ';') == NULL) {
            /* A single command (COMMIT, SAVEPOINT ...) goes in the pipeline with what waits. */
            PGresult *res =
                db__check(conn, db__pipeline(conn, st, NULL, sql, 0, NULL, NULL, NULL, 0, NULL), err);
            PQclear(res);
            return res ? 0 : -1;
        } else {
            /* Several commands in one string cannot go in a pipeline: what waits goes first. */
            PGresult *res =
                db__check(conn, db__pipeline(conn, st, NULL, NULL, 0, NULL, NULL, NULL, 0, NULL), err);
            if (res == NULL)
                return -1;
            PQclear(res);
        }
    }
    PGresult *res = db__check(conn, PQexec(conn, sql), err);
    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

int tsr_db_copy_in(PGconn *conn, const char *sql, const char *data, size_t len, tsr_error_t *err)
{
    db_statements_t *st = PQinstanceData(conn, db__events);
    if (db__pending(st)) {
        PGresult *sent =
            db__check(conn, db__pipeline(conn, st, NULL, NULL, 0, NULL, NULL, NULL, 0, NULL), err);
        if (sent == NULL)
            return -1;
        PQclear(sent);
    }
    PGresult *res = PQexec(conn, sql);
    if (res == NULL || PQresultStatus(res) != PGRES_COPY_IN) {
        ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
            PQclear(res);
            return tsr_error_set(err, TSR_E_INTERNAL, "database_error", NULL, "%s is not a COPY FROM STDIN.",
                                 sql);
        }
        /* A failure: db__check fills err (and its sqlstate) and frees res. */
        db__check(conn, res, err);
        return -1;
    }
    PQclear(res);
    /* In pieces: PQputCopyData takes an int's worth at most. */
    int sent = 1;
    for (size_t at = 0; sent && at < len; at += 1 << 20) {
        size_t piece = len - at < (size_t)1 << 20 ? len - at : (size_t)1 << 20;
        sent = PQputCopyData(conn, data + at, (int)piece) == 1;
    }
    PQputCopyEnd(conn, sent ? NULL : "the rows could not be sent");
    res = db__check(conn, PQgetResult(conn), err);
    PGresult *left;
    while ((left = PQgetResult(conn)) != NULL)
        PQclear(left);
    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

char *tsr_db_copy_field(char *out, const char *value)
{
    if (value == NULL) {
        memcpy(out, "\\N", 2);
        return out + 2;
    }
    for (const char *p = value; *p; p++) {
        switch (*p) {
        case '\\':
            *out++ = '\\';
            *out++ = '\\';
            break;
        case '\t':
            *out++ = '\\';
            *out++ = 't';
            break;
        case '\n':
            *out++ = '\\';
            *out++ = 'n';
            break;
        case '\r':
            *out++ = '\\';
            *out++ = 'r';
            break;
        default:
            *out++ = *p;
        }
    }
    return out;
}

int tsr_db_is_connection_error(PGconn *conn)
{
    return conn == NULL || PQstatus(conn) != CONNECTION_OK;
}

static void db__put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void tsr_db_id_array(const uint64_t *ids, size_t n, char *out, size_t size)
{
    size_t used = (size_t)snprintf(out, size, "{");
    for (size_t i = 0; i < n && used + 23 < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%" PRIu64, i ? "," : "", ids[i]);
    snprintf(out + used, size - used, "}");
}

uint8_t *tsr_db_binary_array(uint32_t element_oid, const uint8_t *const *items, const size_t *lens, size_t n,
                             size_t *len)
{
    /* A header (one dimension, no nulls, the element type, n elements from 1), then each element's
     * length and bytes. */
    size_t total = 20;
    for (size_t i = 0; i < n; i++) {
        if (lens[i] > INT32_MAX)
            return NULL;
        total += 4 + lens[i];
    }
    uint8_t *array = total <= INT32_MAX ? malloc(total) : NULL;
    if (array == NULL)
        return NULL;
    db__put32(array, 1);
    db__put32(array + 4, 0);
    db__put32(array + 8, element_oid);
    db__put32(array + 12, (uint32_t)n);
    db__put32(array + 16, 1);
    size_t at = 20;
    for (size_t i = 0; i < n; i++) {
        db__put32(array + at, (uint32_t)lens[i]);
        if (lens[i] > 0)
            memcpy(array + at + 4, items[i], lens[i]);
        at += 4 + lens[i];
    }
    *len = total;
    return array;
}

unsigned char *tsr_db_get_bytes(const PGresult *res, int row, int col, size_t *len)
{
    unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, col), len);
    if (raw == NULL)
        return NULL;
    /* PQunescapeBytea's buffer must go back through PQfreemem; callers expect free(). */
    unsigned char *buf = malloc(*len ? *len : 1);
    if (buf != NULL)
        memcpy(buf, raw, *len);
    PQfreemem(raw);
    return buf;
}

long tsr_db_delete_past(PGconn *conn, const char *sql, long days, tsr_error_t *err)
{
    char text[24];
    snprintf(text, sizeof(text), "%ld", days);
    const char *params[1] = {text};
    PGresult *res = tsr_db_exec(conn, sql, 1, params, err);
    if (res == NULL)
        return -1;
    long gone = atol(PQcmdTuples(res));
    PQclear(res);
    return gone;
}
