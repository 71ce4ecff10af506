/* tsr_db: a daemon's PostgreSQL connections, used without blocking the event loop.
 *
 * Work that needs the database runs on libuv's thread pool with a connection taken from a small
 * pool; its completion runs back on the loop, where sockets may be touched. A job's work function
 * writes plain sequential libpq code, always parameterised. */
#ifndef TSR_DB_H
#define TSR_DB_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "tsr_error.h"

typedef struct tsr_db tsr_db_t;

/* conninfo is a libpq URL or key=value string; schema becomes the search_path. */
tsr_db_t *tsr_db_new(uv_loop_t *loop, const char *conninfo, const char *schema, int pool_size,
                     tsr_error_t *err);
void tsr_db_destroy(tsr_db_t **self_p);
/* The office's time zone (a tz database name, or "" for none), given to every connection the pool
 * opens from now on as its setting tessera.timezone, which the SQL function office_today() reads
 * (common migration 004). Set before the pool is first used. */
void tsr_db_set_timezone(tsr_db_t *self, const char *zone);

/* A connection for the calling thread, waiting for a free one; reconnects a broken one.
 * NULL (and err filled with database_unavailable) when the server cannot be reached. */
PGconn *tsr_db_acquire(tsr_db_t *self, tsr_error_t *err);
void tsr_db_release(tsr_db_t *self, PGconn *conn);

typedef void (*tsr_db_work_fn)(tsr_db_t *db, void *arg);
typedef void (*tsr_db_done_fn)(void *arg);
/* Runs work(arg) on the thread pool, then done(arg) on the loop. Returns -1 if the pool is
 * stopping. */
int tsr_db_submit(tsr_db_t *self, tsr_db_work_fn work, tsr_db_done_fn done, void *arg);
/* Jobs submitted and not yet done: what a drain waits for. */
int tsr_db_in_flight(const tsr_db_t *self);

/* Runs sql with params (NULL-terminated text values) and checks the result's status; on failure
 * fills err (database_error, naming the server's message) and returns NULL. */
PGresult *tsr_db_exec(PGconn *conn, const char *sql, int nparams, const char *const *params,
                      tsr_error_t *err);
/* Housekeeping's deletion of what is past keeping: runs sql, whose $1 is a number of days (days), and
 * returns how many rows it deleted, or -1 with err filled. */
long tsr_db_delete_past(PGconn *conn, const char *sql, long days, tsr_error_t *err);
/* Same with binary params (lengths and formats as in PQexecParams); results stay in text form. */
PGresult *tsr_db_exec_bin(PGconn *conn, const char *sql, int nparams, const char *const *values,
                          const int *lengths, const int *formats, tsr_error_t *err);
/* Same with text params, but every column of the result in PostgreSQL's binary form: a bytea is its
 * bytes as they are (no hex to write and read back, twice the size), a bigint 8 bytes in network
 * order (tsr_db_get_int8). For results with large byte columns, such as the relay's events. */
PGresult *tsr_db_exec_binary_result(PGconn *conn, const char *sql, int nparams, const char *const *values,
                                    tsr_error_t *err);
/* Runs the statement and then COMMIT, with what waits, in one round trip (binary params as
 * tsr_db_exec_bin): the statement's result once the commit has succeeded, or NULL and err when either
 * failed (ROLLBACK then, as after any failure). For a transaction whose last statement's result is
 * only good once committed, such as the sequence numbers it gave. */
PGresult *tsr_db_exec_and_commit(PGconn *conn, const char *sql, int nparams, const char *const *values,
                                 const int *lengths, const int *formats, tsr_error_t *err);
/* A bigint column, from a text or a binary result. */
uint64_t tsr_db_get_int8(const PGresult *res, int row, int col);
/* Opens a transaction on a pool connection: BEGIN is sent with the next statement, in the same round
 * trip, and a transaction that runs nothing sends nothing. */
int tsr_db_begin(PGconn *conn, tsr_error_t *err);
/* The same for a transaction that may only read: a write in it fails (SQLSTATE 25006), and its
 * COMMIT waits for no disk. */
int tsr_db_begin_read_only(PGconn *conn, tsr_error_t *err);
/* Keeps a statement whose result nobody reads (an outbox row, say) to be sent with the connection's
 * next statement or COMMIT in one round trip; its failure is that statement's failure. */
int tsr_db_defer(PGconn *conn, const char *sql, int nparams, const char *const *values, const int *lengths,
                 const int *formats, tsr_error_t *err);
/* Runs a statement that returns no rows; 0 or -1. A pool connection's COMMIT or ROLLBACK takes what
 * waits with it. */
int tsr_db_command(PGconn *conn, const char *sql, tsr_error_t *err);
/* Loads rows with COPY ... FROM STDIN (sql), data being the rows in COPY's text form, after what
 * waits (BEGIN, deferred statements): for many rows of one table, which the server then reads
 * without planning or parsing an array a column. 0, or -1 with err (its sqlstate filled: 23505 when
 * a row broke a unique index, for a caller that then takes another way under a savepoint). */
int tsr_db_copy_in(PGconn *conn, const char *sql, const char *data, size_t len, tsr_error_t *err);
/* value as one field of a row in COPY's text form, at out (room for 2 * strlen(value) + 1 bytes):
 * backslash, tab, newline and carriage return escaped, NULL written \N. Returns the end of what
 * was written (not NUL-terminated). */
char *tsr_db_copy_field(char *out, const char *value);
/* Whether a failure means the server went away (so the caller answers 503, not 500). */
int tsr_db_is_connection_error(PGconn *conn);

/* n items as one array parameter in PostgreSQL's binary array form (pass it with format 1): one
 * dimension, no nulls, elements of type element_oid (25 text, 17 bytea), each given as its bytes.
 * One statement can then take any number of rows (unnest). malloc'd; NULL when out of memory or too
 * large for a parameter. */
#define TSR_DB_TEXT_OID 25
#define TSR_DB_BYTEA_OID 17
uint8_t *tsr_db_binary_array(uint32_t element_oid, const uint8_t *const *items, const size_t *lens, size_t n,
                             size_t *len);

/* ids as a bigint[] parameter's text ("{1,2,3}") into out; those that do not fit are left out (size
 * 24 a id holds them all). */
void tsr_db_id_array(const uint64_t *ids, size_t n, char *out, size_t size);

/* A bytea column of a text-format result, unescaped into a malloc'd buffer. */
unsigned char *tsr_db_get_bytes(const PGresult *res, int row, int col, size_t *len);

#endif
