/* tsr_migrate, tsr_outbox and tsr_consumer's inbox against a real PostgreSQL: a private cluster
 * made by scripts/instance.sh in a temporary directory, stopped and removed at the end.
 *
 * The outbox numbers events in the order they become visible, never in insert order, so that a
 * consumer never finds a hole filled in behind it; the inbox applies each event once, in order,
 * whatever duplicates, gaps and restarts come its way. Skipped only where PostgreSQL's server
 * programs are not installed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "records.pb-c.h"
#include "tsr_client.h"
#include "tsr_config.h"
#include "tsr_consumer.h"
#include "tsr_daemon.h"
#include "tsr_db.h"
#include "tsr_envelope.h"
#include "tsr_migrate.h"
#include "tsr_outbox.h"
#include "tsr_relay.h"
#include "tsr_zwatch.h"

static int have_postgres;
static char dir[64];
static char config_path[128];
static char conninfo[512];

#define NEED_POSTGRES()                                                                                      \
    do {                                                                                                     \
        if (!have_postgres)                                                                                  \
            skip();                                                                                          \
    } while (0)

/* The same places scripts/instance.sh looks for initdb. */
static int postgres_installed(void)
{
    return system("{ d=$(pg_config --bindir 2>/dev/null) && [ -x \"$d/initdb\" ]; } ||"
                  " ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1") == 0;
}

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* "relation already exists, skipping" and the like */
}

static PGconn *connect_quiet(void)
{
    PGconn *conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK) {
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, ignore_notice, NULL);
    PGresult *res = PQexec(conn, "SET search_path TO records");
    PQclear(res);
    return conn;
}

static PGconn *connect_records(void)
{
    PGconn *conn = connect_quiet();
    assert_non_null(conn);
    return conn;
}

static int group_setup(void **state)
{
    (void)state;
    if (!postgres_installed()) {
        fprintf(stderr, "PostgreSQL's server programs (initdb, pg_ctl) are not installed: the tests that "
                        "need a database are skipped. 'make deps' installs them.\n");
        return 0;
    }
    have_postgres = 1;
    snprintf(dir, sizeof(dir), "/tmp/tsr-unit-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s/scripts/instance.sh init %s > %s.log 2>&1", TSR_SOURCE_DIR, dir, dir);
    int rc = system(cmd);
    if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
        snprintf(cmd, sizeof(cmd), "cat %s.log >&2", dir);
        rc = system(cmd);
        fail_msg("scripts/instance.sh init %s failed", dir);
    }
    snprintf(config_path, sizeof(config_path), "%s/tessera.conf", dir);
    tsr_error_t err;
    tsr_config_t *config = tsr_config_load(config_path, &err);
    assert_non_null(config);
    snprintf(conninfo, sizeof(conninfo), "%s", tsr_config_get(config, "records.db_url", ""));
    tsr_config_destroy(&config);
    PGconn *conn = connect_records();
    assert_int_equal(tsr_migrate_apply(conn, "records", "common", tsr_common_migrations,
                                       tsr_common_migrations_count, &err),
                     0);
    PQfinish(conn);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (!have_postgres)
        return 0;
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s/scripts/instance.sh stop %s >/dev/null 2>&1; rm -rf %s %s.log",
             TSR_SOURCE_DIR, dir, dir, dir);
    return system(cmd) == 0 ? 0 : -1;
}

static PGresult *query(PGconn *conn, const char *sql)
{
    tsr_error_t err;
    PGresult *res = tsr_db_exec(conn, sql, 0, NULL, &err);
    if (res == NULL)
        fail_msg("%s: %s", sql, err.message);
    return res;
}

static long query_long(PGconn *conn, const char *sql)
{
    PGresult *res = query(conn, sql);
    long n = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    return n;
}

/* ------------------------------------------------------------------------------------------------
 * Migrations
 * ---------------------------------------------------------------------------------------------- */

static void test_migrations_apply_once_and_record_each_version(void **state)
{
    (void)state;
    NEED_POSTGRES();
    PGconn *conn = connect_records();
    tsr_error_t err;
    tsr_migration_t v1[] = {
        {1, "001_first.sql", "CREATE TABLE once (n int); INSERT INTO once VALUES (1);"},
        {2, "002_second.sql", "INSERT INTO once VALUES (2);"},
    };
    assert_int_equal(tsr_migrate_apply(conn, "records", "once", v1, 2, &err), 0);
    /* A restart applies nothing again: a CREATE TABLE run twice would fail, an INSERT would repeat. */
    assert_int_equal(tsr_migrate_apply(conn, "records", "once", v1, 2, &err), 0);
    assert_int_equal(query_long(conn, "SELECT count(*) FROM once"), 2);
    /* A new release applies its new migration only. */
    tsr_migration_t v2[] = {v1[0], v1[1], {3, "003_third.sql", "INSERT INTO once VALUES (3);"}};
    assert_int_equal(tsr_migrate_apply(conn, "records", "once", v2, 3, &err), 0);
    assert_int_equal(query_long(conn, "SELECT count(*) FROM once"), 3);
    PGresult *res = query(conn, "SELECT version, name FROM schema_migrations WHERE component = 'once'"
                                " ORDER BY version");
    assert_int_equal(PQntuples(res), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(atoi(PQgetvalue(res, i, 0)), v2[i].version);
        assert_string_equal(PQgetvalue(res, i, 1), v2[i].name);
    }
    PQclear(res);
    /* The common migrations the group set-up applied are recorded under their own component. */
    assert_int_equal(query_long(conn, "SELECT count(*) FROM schema_migrations WHERE component = 'common'"),
                     (long)tsr_common_migrations_count);
    PQfinish(conn);
}

static void test_a_failed_migration_is_rolled_back_and_named(void **state)
{
    (void)state;
    NEED_POSTGRES();
    PGconn *conn = connect_records();
    tsr_migration_t bad[] = {
        {1, "001_ok.sql", "CREATE TABLE half_done (id int);"},
        {2, "002_broken.sql", "CREATE TABLE two (id int); SELECT * FROM missing_table;"}};
    tsr_error_t err;
    assert_int_equal(tsr_migrate_apply(conn, "records", "broken", bad, 2, &err), -1);
    assert_string_equal(err.code, "migration_failed");
    assert_non_null(strstr(err.message, "002_broken.sql"));
    assert_non_null(strstr(err.message, "missing_table"));
    /* Nothing of the failed one stays, and it is not recorded: the next start tries it again. */
    assert_int_equal(query_long(conn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'records'"
                                      " AND tablename = 'two'"),
                     0);
    assert_int_equal(query_long(conn, "SELECT count(*) FROM schema_migrations WHERE component = 'broken'"),
                     1);
    /* The advisory lock was let go: another applier is not left waiting for it. */
    PGconn *other = connect_records();
    assert_int_equal(tsr_migrate_apply(other, "records", "broken", bad, 1, &err), 0);
    PQfinish(other);
    PQfinish(conn);
}

typedef struct {
    pthread_barrier_t *start;
    int rc;
    tsr_error_t err;
} applier_t;

static const tsr_migration_t race_migrations[] = {
    {1, "001_race.sql", "CREATE TABLE race (n int); INSERT INTO race VALUES (1); SELECT pg_sleep(0.3);"},
    {2, "002_race.sql", "INSERT INTO race VALUES (2);"},
};

static void *apply_race(void *arg)
{
    applier_t *a = arg;
    PGconn *conn = connect_quiet();
    pthread_barrier_wait(a->start);
    a->rc = conn ? tsr_migrate_apply(conn, "records", "race", race_migrations, 2, &a->err) : -1;
    PQfinish(conn);
    return NULL;
}

static void test_two_appliers_at_once_apply_each_migration_once(void **state)
{
    (void)state;
    NEED_POSTGRES();
    /* Two instances of a daemon starting together: one applies, the other waits for it, then
     * finds everything recorded. */
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2);
    applier_t a = {&start, -1, {0}}, b = {&start, -1, {0}};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, apply_race, &a);
    pthread_create(&tb, NULL, apply_race, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&start);
    if (a.rc != 0 || b.rc != 0)
        fail_msg("an applier failed: '%s' '%s'", a.err.message, b.err.message);
    PGconn *conn = connect_records();
    assert_int_equal(query_long(conn, "SELECT count(*) FROM race"), 2);
    assert_int_equal(query_long(conn, "SELECT count(*) FROM schema_migrations WHERE component = 'race'"), 2);
    PQfinish(conn);
}

/* ------------------------------------------------------------------------------------------------
 * Outbox
 * ---------------------------------------------------------------------------------------------- */

static void append(PGconn *conn, const char *name)
{
    Tsr__Records__OrganisationCreated ev = TSR__RECORDS__ORGANISATION_CREATED__INIT;
    Tsr__Records__Organisation org = TSR__RECORDS__ORGANISATION__INIT;
    org.name = (char *)name;
    ev.organisation = &org;
    tsr_error_t err;
    assert_int_equal(tsr_outbox_append(conn, "records.organisation.created", NULL, "trace", &ev.base, &err),
                     0);
}

static const char *name_of(const tsr_outbox_batch_t *batch, size_t i, char *buf, size_t size)
{
    Tsr__Envelope *env = tsr__envelope__unpack(NULL, batch->lens[i], batch->events[i]);
    assert_non_null(env);
    Tsr__Records__OrganisationCreated *ev =
        tsr__records__organisation_created__unpack(NULL, env->payload.len, env->payload.data);
    assert_non_null(ev);
    snprintf(buf, size, "%s", ev->organisation->name);
    tsr__records__organisation_created__free_unpacked(ev, NULL);
    tsr__envelope__free_unpacked(env, NULL);
    return buf;
}

static uint64_t seq_of(const tsr_outbox_batch_t *batch, size_t i)
{
    Tsr__Envelope *env = tsr__envelope__unpack(NULL, batch->lens[i], batch->events[i]);
    assert_non_null(env);
    uint64_t seq = env->seq;
    tsr__envelope__free_unpacked(env, NULL);
    return seq;
}

/* Numbers whatever is waiting, so that a test starts from a known head. */
static uint64_t assign_all(PGconn *conn)
{
    tsr_error_t err;
    tsr_outbox_batch_t batch;
    uint64_t head;
    do {
        assert_int_equal(tsr_outbox_assign(conn, "records", 1000, &batch, &err), 0);
        head = batch.head;
        tsr_outbox_batch_free(&batch);
    } while (batch.count > 0);
    return head;
}

static void test_a_rolled_back_event_is_never_numbered(void **state)
{
    (void)state;
    NEED_POSTGRES();
    PGconn *conn = connect_records();
    uint64_t start = assign_all(conn);
    tsr_error_t err;
    tsr_db_command(conn, "BEGIN", &err);
    append(conn, "rolled back");
    tsr_db_command(conn, "ROLLBACK", &err);
    append(conn, "kept"); /* autocommit */
    tsr_outbox_batch_t batch;
    assert_int_equal(tsr_outbox_assign(conn, "records", 100, &batch, &err), 0);
    char buf[64];
    assert_int_equal(batch.count, 1);
    assert_string_equal(name_of(&batch, 0, buf, sizeof(buf)), "kept");
    /* The rolled-back event took no number: the next is the very next one. */
    assert_int_equal(seq_of(&batch, 0), start + 1);
    assert_int_equal(batch.head, start + 1);
    tsr_outbox_batch_free(&batch);
    PQfinish(conn);
}

static void test_a_later_commit_gets_a_later_number_whatever_its_insert_order(void **state)
{
    (void)state;
    NEED_POSTGRES();
    PGconn *first = connect_records(), *second = connect_records(), *relay = connect_records();
    tsr_error_t err;
    uint64_t start = assign_all(relay);
    tsr_outbox_batch_t batch;

    /* 'slow' inserts first but commits last. */
    assert_int_equal(tsr_db_command(first, "BEGIN", &err), 0);
    append(first, "slow");
    assert_int_equal(tsr_db_command(second, "BEGIN", &err), 0);
    append(second, "quick");
    assert_int_equal(tsr_db_command(second, "COMMIT", &err), 0);
    assert_int_equal(tsr_outbox_assign(relay, "records", 1000, &batch, &err), 0);
    char buf[64];
    assert_int_equal(batch.count, 1);
    assert_string_equal(name_of(&batch, 0, buf, sizeof(buf)), "quick");
    assert_int_equal(seq_of(&batch, 0), start + 1);
    assert_int_equal(batch.head, start + 1);
    tsr_outbox_batch_free(&batch);

    /* Nothing new is committed: the open transaction's event is not numbered behind our back. */
    assert_int_equal(tsr_outbox_assign(relay, "records", 1000, &batch, &err), 0);
    assert_int_equal(batch.count, 0);
    assert_int_equal(batch.head, start + 1);
    tsr_outbox_batch_free(&batch);

    assert_int_equal(tsr_db_command(first, "COMMIT", &err), 0);
    assert_int_equal(tsr_outbox_assign(relay, "records", 1000, &batch, &err), 0);
    assert_int_equal(batch.count, 1);
    assert_string_equal(name_of(&batch, 0, buf, sizeof(buf)), "slow");
    assert_int_equal(seq_of(&batch, 0), start + 2);
    assert_int_equal(batch.head, start + 2);
    tsr_outbox_batch_free(&batch);

    /* A replay from before both gives them in sequence, stamped with producer and seq. */
    assert_int_equal(tsr_outbox_read(relay, "records", start, 100, &batch, &err), 0);
    assert_int_equal(batch.count, 2);
    assert_int_equal(batch.head, start + 2);
    for (size_t i = 0; i < 2; i++) {
        Tsr__Envelope *env = tsr__envelope__unpack(NULL, batch.lens[i], batch.events[i]);
        assert_int_equal(env->kind, TSR__ENVELOPE__KIND__EVENT);
        assert_string_equal(env->type, "records.organisation.created");
        assert_string_equal(env->producer, "records");
        assert_int_equal(env->seq, start + 1 + i);
        assert_string_equal(env->trace_id, "trace");
        assert_true(env->occurred_at_ms > 0);
        tsr__envelope__free_unpacked(env, NULL);
    }
    assert_string_equal(name_of(&batch, 0, buf, sizeof(buf)), "quick");
    assert_string_equal(name_of(&batch, 1, buf, sizeof(buf)), "slow");
    tsr_outbox_batch_free(&batch);
    PQfinish(first);
    PQfinish(second);
    PQfinish(relay);
}

static void test_numbers_are_gap_free_across_many_batches(void **state)
{
    (void)state;
    NEED_POSTGRES();
    PGconn *conn = connect_records();
    tsr_error_t err;
    tsr_outbox_batch_t batch;
    uint64_t start = assign_all(conn);
    tsr_db_command(conn, "BEGIN", &err);
    for (int i = 0; i < 250; i++)
        append(conn, "many");
    tsr_db_command(conn, "COMMIT", &err);
    uint64_t expected = start + 1;
    for (int round = 0; round < 3; round++) {
        assert_int_equal(tsr_outbox_assign(conn, "records", 100, &batch, &err), 0);
        assert_int_equal(batch.count, round < 2 ? 100 : 50);
        for (size_t i = 0; i < batch.count; i++)
            assert_int_equal(seq_of(&batch, i), expected++);
        assert_int_equal(batch.head, expected - 1);
        tsr_outbox_batch_free(&batch);
    }
    assert_int_equal(expected, start + 251);
    /* A replay from the middle, a page at a time. */
    assert_int_equal(tsr_outbox_read(conn, "records", start + 100, 20, &batch, &err), 0);
    assert_int_equal(batch.count, 20);
    assert_int_equal(seq_of(&batch, 0), start + 101);
    assert_int_equal(seq_of(&batch, 19), start + 120);
    assert_int_equal(batch.head, start + 250);
    tsr_outbox_batch_free(&batch);
    /* From the head: nothing more, and the head says so. */
    assert_int_equal(tsr_outbox_read(conn, "records", start + 250, 20, &batch, &err), 0);
    assert_int_equal(batch.count, 0);
    assert_int_equal(batch.head, start + 250);
    tsr_outbox_batch_free(&batch);
    PQfinish(conn);
}

/* Two relays (as during a fail-over) and a writer, all at once. */
#define RACE_EVENTS 300

typedef struct {
    pthread_barrier_t *start;
    atomic_int *writing;
    uint64_t seqs[RACE_EVENTS * 2];
    size_t count;
    int in_order; /* each batch's numbers rise, and each batch starts after the previous one */
    int failed;
    char error[512];
} race_relay_t;

static void *race_writer(void *arg)
{
    race_relay_t *r = arg;
    PGconn *conn = connect_quiet();
    pthread_barrier_wait(r->start);
    for (int i = 0; conn && i < RACE_EVENTS / 3; i++) {
        Tsr__Records__OrganisationCreated ev = TSR__RECORDS__ORGANISATION_CREATED__INIT;
        tsr_error_t err;
        tsr_db_command(conn, "BEGIN", &err);
        for (int j = 0; j < 3; j++)
            if (tsr_outbox_append(conn, "records.organisation.created", NULL, "", &ev.base, &err) != 0)
                r->failed = 1;
        tsr_db_command(conn, "COMMIT", &err);
    }
    atomic_fetch_sub(r->writing, 1);
    PQfinish(conn);
    return NULL;
}

/* Keeps a batch's numbers; each must come after the one before (last). */
static void race_note(race_relay_t *r, const tsr_outbox_batch_t *batch, uint64_t *last)
{
    for (size_t i = 0; i < batch->count && r->count < RACE_EVENTS * 2; i++) {
        Tsr__Envelope *env = tsr__envelope__unpack(NULL, batch->lens[i], batch->events[i]);
        uint64_t seq = env ? env->seq : 0;
        tsr__envelope__free_unpacked(env, NULL);
        if (seq <= *last)
            r->in_order = 0;
        *last = seq;
        r->seqs[r->count++] = seq;
    }
}

static uint64_t batch_last_seq(const tsr_outbox_batch_t *batch)
{
    return batch->count > 0 ? seq_of(batch, batch->count - 1) : 0;
}

/* Events of one type named names[0..n), packed as a read's events are held for the group commit. */
static tsr_outbox_event_t *pack_named(const char *const *names, size_t n)
{
    tsr_outbox_event_t *events = calloc(n, sizeof(*events));
    assert_non_null(events);
    for (size_t i = 0; i < n; i++) {
        Tsr__Records__OrganisationCreated ev = TSR__RECORDS__ORGANISATION_CREATED__INIT;
        Tsr__Records__Organisation org = TSR__RECORDS__ORGANISATION__INIT;
        org.name = (char *)names[i];
        ev.organisation = &org;
        tsr_error_t err;
        events[i].type = "records.organisation.created";
        events[i].envelope = tsr_outbox_pack(events[i].type, NULL, "trace", &ev.base, &events[i].len, &err);
        assert_non_null(events[i].envelope);
    }
    return events;
}

static void free_packed(tsr_outbox_event_t *events, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((uint8_t *)events[i].envelope);
    free(events);
}

/* What the group commit does: BEGIN, then the events numbered and committed at once. */
static int commit_numbered(PGconn *conn, const char *const *names, size_t n, tsr_outbox_batch_t *batch,
                           tsr_error_t *err)
{
    tsr_outbox_event_t *events = pack_named(names, n);
    int rc = tsr_db_begin(conn, err);
    if (rc == 0)
        rc = tsr_outbox_commit_numbered(conn, "records", events, n, batch, err);
    if (rc != 0)
        tsr_db_command(conn, "ROLLBACK", NULL);
    free_packed(events, n);
    return rc;
}

/* A group commit numbering its own events, two at a time, while others are being numbered. */
static void *race_group(void *arg)
{
    race_relay_t *r = arg;
    r->in_order = 1;
    PGconn *conn = connect_quiet();
    pthread_barrier_wait(r->start);
    uint64_t last = 0;
    static const char *const names[2] = {"read one", "read two"};
    for (int i = 0; conn && i < RACE_EVENTS / 2 && !r->failed; i++) {
        tsr_outbox_batch_t batch;
        tsr_error_t err;
        if (commit_numbered(conn, names, 2, &batch, &err) != 0) {
            r->failed = 1;
            snprintf(r->error, sizeof(r->error), "%s", err.message);
            break;
        }
        if (batch.count != 2 || batch.head != batch_last_seq(&batch))
            r->failed = 1;
        race_note(r, &batch, &last);
        tsr_outbox_batch_free(&batch);
    }
    atomic_fetch_sub(r->writing, 1);
    PQfinish(conn);
    return NULL;
}

static void *race_relay(void *arg)
{
    race_relay_t *r = arg;
    r->in_order = 1;
    PGconn *conn = connect_quiet();
    pthread_barrier_wait(r->start);
    uint64_t last = 0;
    for (;;) {
        int writing = atomic_load(r->writing);
        tsr_outbox_batch_t batch;
        tsr_error_t err;
        if (conn == NULL || tsr_outbox_assign(conn, "records", 7, &batch, &err) != 0) {
            r->failed = 1;
            snprintf(r->error, sizeof(r->error), "%s", conn ? err.message : "no connection");
            break;
        }
        race_note(r, &batch, &last);
        size_t n = batch.count;
        tsr_outbox_batch_free(&batch);
        if (n == 0 && !writing)
            break;
    }
    PQfinish(conn);
    return NULL;
}

static int compare_seq(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_two_relays_at_once_never_give_a_number_twice(void **state)
{
    (void)state;
    NEED_POSTGRES();
    PGconn *conn = connect_records();
    uint64_t start = assign_all(conn);
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 3);
    atomic_int writing = 1;
    static race_relay_t writer, a, b;
    writer = (race_relay_t){.start = &barrier, .writing = &writing};
    a = writer;
    b = writer;
    pthread_t tw, ta, tb;
    pthread_create(&tw, NULL, race_writer, &writer);
    pthread_create(&ta, NULL, race_relay, &a);
    pthread_create(&tb, NULL, race_relay, &b);
    pthread_join(tw, NULL);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&barrier);
    assert_false(writer.failed);
    if (a.failed || b.failed)
        fail_msg("a relay failed: '%s' '%s'", a.error, b.error);
    assert_true(a.in_order && b.in_order);
    /* Between them, every event exactly once, numbered start+1 .. start+300 without a hole. */
    assert_int_equal(a.count + b.count, RACE_EVENTS);
    static uint64_t all[RACE_EVENTS * 2];
    memcpy(all, a.seqs, a.count * sizeof(uint64_t));
    memcpy(all + a.count, b.seqs, b.count * sizeof(uint64_t));
    qsort(all, RACE_EVENTS, sizeof(uint64_t), compare_seq);
    for (size_t i = 0; i < RACE_EVENTS; i++)
        assert_int_equal(all[i], start + 1 + i);
    assert_int_equal(query_long(conn, "SELECT last_seq FROM relay_state"), (long)(start + RACE_EVENTS));
    assert_int_equal(query_long(conn, "SELECT count(*) FROM outbox WHERE seq IS NULL"), 0);
    PQfinish(conn);
}

static void test_numbers_given_at_commit_and_by_the_relays_never_collide_or_leave_a_hole(void **state)
{
    (void)state;
    NEED_POSTGRES();
    PGconn *conn = connect_records();
    uint64_t start = assign_all(conn);
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 4);
    atomic_int writing = 2;
    static race_relay_t writer, group, a, b;
    writer = (race_relay_t){.start = &barrier, .writing = &writing};
    group = writer;
    a = writer;
    b = writer;
    pthread_t tw, tg, ta, tb;
    pthread_create(&tw, NULL, race_writer, &writer);
    pthread_create(&tg, NULL, race_group, &group);
    pthread_create(&ta, NULL, race_relay, &a);
    pthread_create(&tb, NULL, race_relay, &b);
    pthread_join(tw, NULL);
    pthread_join(tg, NULL);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&barrier);
    assert_false(writer.failed);
    if (group.failed || a.failed || b.failed)
        fail_msg("failed: '%s' '%s' '%s'", group.error, a.error, b.error);
    assert_true(group.in_order && a.in_order && b.in_order);
    /* The writer's 300 numbered by the relays, the group's 300 at commit: 600 numbers, each once. */
    size_t total = a.count + b.count + group.count;
    assert_int_equal(total, RACE_EVENTS * 2);
    static uint64_t all[RACE_EVENTS * 6];
    memcpy(all, a.seqs, a.count * sizeof(uint64_t));
    memcpy(all + a.count, b.seqs, b.count * sizeof(uint64_t));
    memcpy(all + a.count + b.count, group.seqs, group.count * sizeof(uint64_t));
    qsort(all, total, sizeof(uint64_t), compare_seq);
    for (size_t i = 0; i < total; i++)
        assert_int_equal(all[i], start + 1 + i);
    assert_int_equal(query_long(conn, "SELECT last_seq FROM relay_state"), (long)(start + total));
    assert_int_equal(query_long(conn, "SELECT count(*) FROM outbox WHERE seq IS NULL"), 0);
    PQfinish(conn);
}

/* The relay on a loop, publishing on PUB; a SUB hears what it publishes. */
typedef struct {
    uv_loop_t loop;
    tsr_db_t *db;
    void *ctx, *pub, *sub;
    tsr_relay_t *relay;
    uint64_t seqs[32];
    char names[32][32];
    int heard;
} relay_rig_t;

/* Runs the loop until the relay's run in progress is over. */
static void rig_settle(relay_rig_t *rig)
{
    for (int i = 0; i < 2000 && tsr_relay_busy(rig->relay); i++) {
        uv_run(&rig->loop, UV_RUN_NOWAIT);
        usleep(5000);
    }
    assert_false(tsr_relay_busy(rig->relay));
}

/* Runs the loop until want events were heard in all (or max_ms). */
static void rig_hear(relay_rig_t *rig, int want, int max_ms)
{
    for (int i = 0; i < max_ms / 5 && rig->heard < want; i++) {
        uv_run(&rig->loop, UV_RUN_NOWAIT);
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        while (zmq_msg_recv(&msg, rig->sub, ZMQ_DONTWAIT) >= 0 && rig->heard < 32) {
            Tsr__Envelope *env = tsr__envelope__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
            assert_non_null(env);
            Tsr__Records__OrganisationCreated *ev =
                tsr__records__organisation_created__unpack(NULL, env->payload.len, env->payload.data);
            assert_non_null(ev);
            rig->seqs[rig->heard] = env->seq;
            snprintf(rig->names[rig->heard], sizeof(rig->names[0]), "%s",
                     ev->organisation ? ev->organisation->name : "");
            rig->heard++;
            tsr__records__organisation_created__free_unpacked(ev, NULL);
            tsr__envelope__free_unpacked(env, NULL);
        }
        zmq_msg_close(&msg);
        usleep(5000);
    }
}

static void rig_start(relay_rig_t *rig)
{
    memset(rig, 0, sizeof(*rig));
    assert_int_equal(uv_loop_init(&rig->loop), 0);
    tsr_error_t err;
    rig->db = tsr_db_new(&rig->loop, conninfo, "records", 2, &err);
    assert_non_null(rig->db);
    rig->ctx = zmq_ctx_new();
    rig->pub = zmq_socket(rig->ctx, ZMQ_PUB);
    rig->sub = zmq_socket(rig->ctx, ZMQ_SUB);
    assert_int_equal(zmq_bind(rig->pub, "inproc://relay-test"), 0);
    assert_int_equal(zmq_connect(rig->sub, "inproc://relay-test"), 0);
    assert_int_equal(zmq_setsockopt(rig->sub, ZMQ_SUBSCRIBE, "", 0), 0);
    rig->relay = tsr_relay_new(&rig->loop, rig->db, rig->pub, "records", 600000);
    assert_non_null(rig->relay);
    /* Its first run (at once) learns the head as it stands: what is published from then on. */
    for (int i = 0; i < 2000 && !tsr_relay_busy(rig->relay); i++)
        uv_run(&rig->loop, UV_RUN_NOWAIT);
    assert_true(tsr_relay_busy(rig->relay));
    rig_settle(rig);
}

static void rig_stop(relay_rig_t *rig)
{
    tsr_relay_close(rig->relay);
    while (tsr_relay_busy(rig->relay))
        uv_run(&rig->loop, UV_RUN_NOWAIT);
    uv_run(&rig->loop, UV_RUN_DEFAULT); /* the relay's timers close, and it frees itself */
    tsr_db_destroy(&rig->db);
    uv_run(&rig->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&rig->loop), 0);
    int zero = 0;
    zmq_setsockopt(rig->pub, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(rig->sub, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_close(rig->pub);
    zmq_close(rig->sub);
    zmq_ctx_term(rig->ctx);
}

static void test_events_numbered_at_commit_are_published_in_sequence_whatever_order_they_come(void **state)
{
    (void)state;
    NEED_POSTGRES();
    PGconn *conn = connect_records();
    uint64_t start = assign_all(conn);
    static relay_rig_t rig;
    rig_start(&rig);
    tsr_error_t err;
    tsr_outbox_batch_t first, second;
    static const char *const one[2] = {"one", "two"}, *const two[1] = {"three"};
    assert_int_equal(commit_numbered(conn, one, 2, &first, &err), 0);
    assert_int_equal(commit_numbered(conn, two, 1, &second, &err), 0);
    assert_int_equal(first.head, start + 2);
    assert_int_equal(second.head, start + 3);
    /* The later commit's events are handed over first: they wait for the earlier ones. */
    tsr_relay_publish_numbered(rig.relay, &second);
    tsr_relay_publish_numbered(rig.relay, &first);
    rig_hear(&rig, 3, 10000);
    assert_int_equal(rig.heard, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(rig.seqs[i], start + 1 + (uint64_t)i);
    assert_string_equal(rig.names[0], "one");
    assert_string_equal(rig.names[2], "three");

    /* A commit whose events never reach the relay (its outcome was lost on the way): once a later
     * number shows the gap, the relay reads them back from the outbox, in their place. */
    tsr_outbox_batch_t lost, after;
    static const char *const four[2] = {"four", "five"}, *const six[1] = {"six"};
    assert_int_equal(commit_numbered(conn, four, 2, &lost, &err), 0);
    tsr_outbox_batch_free(&lost);
    assert_int_equal(commit_numbered(conn, six, 1, &after, &err), 0);
    tsr_relay_publish_numbered(rig.relay, &after);
    rig_hear(&rig, 6, 10000);
    assert_int_equal(rig.heard, 6);
    for (int i = 3; i < 6; i++)
        assert_int_equal(rig.seqs[i], start + 1 + (uint64_t)i);
    assert_string_equal(rig.names[3], "four");
    assert_string_equal(rig.names[4], "five");
    assert_string_equal(rig.names[5], "six");

    /* The relay's own numbering (a write's events) and a commit's, in either order, still in turn. */
    append(conn, "seven");
    tsr_outbox_batch_t eight;
    static const char *const eighth[1] = {"eight"};
    tsr_relay_kick(rig.relay); /* numbers 'seven' before 'eight' is committed */
    rig_settle(&rig);
    assert_int_equal(commit_numbered(conn, eighth, 1, &eight, &err), 0);
    tsr_relay_publish_numbered(rig.relay, &eight);
    rig_hear(&rig, 8, 10000);
    assert_int_equal(rig.heard, 8);
    assert_string_equal(rig.names[6], "seven");
    assert_string_equal(rig.names[7], "eight");
    assert_int_equal(rig.seqs[7], start + 8);
    rig_stop(&rig);
    PQfinish(conn);
}

/* ------------------------------------------------------------------------------------------------
 * Inbox: tsr_consumer on a daemon's loop, fed by a fake producer (a PUB for live events and a
 * ROUTER that answers tsr.replay from a list) on the same loop.
 * ---------------------------------------------------------------------------------------------- */

#define INBOX_EVENTS 16
#define POISON_SEQ 11

typedef struct {
    tsr_daemon_t *daemon;
    uv_loop_t *loop;
    void *pub;
    void *router;
    tsr_zwatch_t router_watch;
    tsr_client_t *rpc;
    tsr_consumer_t *consumer;
    uint8_t *events[INBOX_EVENTS + 1]; /* packed Envelopes, by seq */
    size_t lens[INBOX_EVENTS + 1];
    uint64_t head; /* what a replay may give: 1 .. head */
    uint64_t replay_after[64];
    int replays;
    /* Written by apply on the thread pool. */
    pthread_mutex_t lock;
    uint64_t last_applied;
} inbox_t;

static inbox_t ib;

static int apply_event(tsr_event_t *ev, tsr_error_t *err)
{
    Tsr__Records__OrganisationCreated *created =
        tsr__records__organisation_created__unpack(NULL, ev->event->payload.len, ev->event->payload.data);
    if (created == NULL)
        return tsr_error_set(err, TSR_E_INVALID, "bad_event", NULL, "Not an organisation.");
    int rc = 0;
    if (strcmp(created->organisation->name, "poison") == 0) {
        rc = tsr_error_set(err, TSR_E_INVALID, "bad_event", NULL, "Event %" PRIu64 " is poison.",
                           ev->event->seq);
    } else {
        char seq[32];
        snprintf(seq, sizeof(seq), "%" PRIu64, ev->event->seq);
        const char *params[3] = {seq, ev->event->producer, created->organisation->name};
        PGresult *res = tsr_db_exec(ev->conn, "INSERT INTO applied (seq, producer, name) VALUES ($1, $2, $3)",
                                    3, params, err);
        rc = res ? 0 : -1;
        PQclear(res);
    }
    tsr__records__organisation_created__free_unpacked(created, NULL);
    if (rc == 0) {
        pthread_mutex_lock(&ib.lock);
        ib.last_applied = ev->event->seq;
        pthread_mutex_unlock(&ib.lock);
    }
    return rc;
}

static int producer_on_replay(tsr_zwatch_t *w, int budget)
{
    int n = 0;
    while (n < budget) {
        zmq_msg_t id, empty, body;
        zmq_msg_init(&id);
        if (zmq_msg_recv(&id, w->socket, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&id);
            break;
        }
        n++;
        zmq_msg_init(&empty);
        zmq_msg_init(&body);
        zmq_msg_recv(&empty, w->socket, 0);
        zmq_msg_recv(&body, w->socket, 0);
        Tsr__Envelope *req = tsr__envelope__unpack(NULL, zmq_msg_size(&body), zmq_msg_data(&body));
        Tsr__ReplayRequest *ask =
            req ? tsr__replay_request__unpack(NULL, req->payload.len, req->payload.data) : NULL;
        if (ask != NULL && strcmp(req->type, "tsr.replay") == 0) {
            if (ib.replays < 64)
                ib.replay_after[ib.replays] = ask->after_seq;
            ib.replays++;
            ProtobufCBinaryData events[INBOX_EVENTS];
            Tsr__ReplayReply answer = TSR__REPLAY_REPLY__INIT;
            answer.events = events;
            for (uint64_t seq = ask->after_seq + 1; seq <= ib.head && answer.n_events < ask->limit; seq++)
                events[answer.n_events++] = (ProtobufCBinaryData){ib.lens[seq], ib.events[seq]};
            answer.head_seq = ib.head;
            size_t payload_len = 0;
            uint8_t *payload = tsr_pack(&answer.base, &payload_len);
            Tsr__Envelope reply = TSR__ENVELOPE__INIT;
            reply.kind = TSR__ENVELOPE__KIND__REPLY;
            reply.correlation_id = req->id;
            reply.payload.data = payload;
            reply.payload.len = payload_len;
            size_t len = 0;
            uint8_t *buf = tsr_pack(&reply.base, &len);
            zmq_send(w->socket, zmq_msg_data(&id), zmq_msg_size(&id), ZMQ_SNDMORE);
            zmq_send(w->socket, "", 0, ZMQ_SNDMORE);
            zmq_send(w->socket, buf, len, 0);
            free(buf);
            free(payload);
        }
        if (ask)
            tsr__replay_request__free_unpacked(ask, NULL);
        if (req)
            tsr__envelope__free_unpacked(req, NULL);
        zmq_msg_close(&id);
        zmq_msg_close(&empty);
        zmq_msg_close(&body);
    }
    return n;
}

static void publish(const uint64_t *seqs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        zmq_send(ib.pub, ib.events[seqs[i]], ib.lens[seqs[i]], ZMQ_DONTWAIT);
}

static uint64_t last_applied(void)
{
    pthread_mutex_lock(&ib.lock);
    uint64_t seq = ib.last_applied;
    pthread_mutex_unlock(&ib.lock);
    return seq;
}

/* Runs the daemon's loop until the consumer has committed up to seq (or fails after 15 s). */
static void run_until_applied(uint64_t seq)
{
    uint64_t start = uv_hrtime();
    while (last_applied() < seq || tsr_consumer_busy(ib.consumer)) {
        if ((uv_hrtime() - start) / 1000000 > 15000)
            fail_msg("the inbox stopped at %" PRIu64 ", waiting for %" PRIu64 " (%d replays asked)",
                     last_applied(), seq, ib.replays);
        uv_run(ib.loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

static void run_for_ms(int ms)
{
    uint64_t start = uv_hrtime();
    while ((uv_hrtime() - start) / 1000000 < (uint64_t)ms) {
        uv_run(ib.loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

static void start_consumer_wanting(tsr_wants_fn wants)
{
    /* A long idle timer: replays come from start-up and from gaps only, which is what is tested. */
    ib.consumer = tsr_consumer_new(ib.daemon, tsr_daemon_zmq_context(ib.daemon), "accounts",
                                   "inproc://accounts.events", ib.rpc, wants, apply_event, NULL, 600000);
    assert_non_null(ib.consumer);
}

static void start_consumer(void)
{
    start_consumer_wanting(NULL);
}

/* Runs the loop until the producer has answered count replays (or fails after 15 s). */
static void run_until_replays(int count)
{
    uint64_t start = uv_hrtime();
    while (ib.replays < count) {
        if ((uv_hrtime() - start) / 1000000 > 15000)
            fail_msg("%d replays asked, waiting for %d", ib.replays, count);
        uv_run(ib.loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

static int wants_odd_events(const Tsr__Envelope *event)
{
    return event->seq % 2 == 1;
}

static int inbox_setup(void **state)
{
    (void)state;
    if (!have_postgres)
        return 0;
    memset(&ib, 0, sizeof(ib));
    pthread_mutex_init(&ib.lock, NULL);
    char *argv[] = {"test_outbox_inbox", "--config", config_path, NULL};
    ib.daemon = tsr_daemon_new("records", 3, argv);
    assert_non_null(ib.daemon);
    assert_int_equal(tsr_daemon_migrate(ib.daemon, NULL, 0), 0);
    ib.loop = tsr_daemon_loop(ib.daemon);
    PGconn *conn = connect_records();
    PQclear(query(conn, "DROP TABLE IF EXISTS applied"));
    PQclear(query(conn, "CREATE TABLE applied (id bigserial, seq bigint, producer text, name text)"));
    PQclear(query(conn, "DELETE FROM inbox"));
    PQclear(query(conn, "DELETE FROM inbox_dead"));
    PQfinish(conn);

    for (uint64_t seq = 1; seq <= INBOX_EVENTS; seq++) {
        char name[32];
        snprintf(name, sizeof(name), seq == POISON_SEQ ? "poison" : "event %" PRIu64, seq);
        Tsr__Records__Organisation org = TSR__RECORDS__ORGANISATION__INIT;
        org.name = name;
        Tsr__Records__OrganisationCreated created = TSR__RECORDS__ORGANISATION_CREATED__INIT;
        created.organisation = &org;
        size_t payload_len = 0;
        uint8_t *payload = tsr_pack(&created.base, &payload_len);
        Tsr__Envelope env = TSR__ENVELOPE__INIT;
        env.kind = TSR__ENVELOPE__KIND__EVENT;
        env.type = "accounts.thing.happened";
        env.producer = "accounts";
        env.seq = seq;
        env.payload.data = payload;
        env.payload.len = payload_len;
        ib.events[seq] = tsr_pack(&env.base, &ib.lens[seq]);
        free(payload);
    }
    void *ctx = tsr_daemon_zmq_context(ib.daemon);
    int zero = 0;
    ib.pub = zmq_socket(ctx, ZMQ_PUB);
    ib.router = zmq_socket(ctx, ZMQ_ROUTER);
    zmq_setsockopt(ib.pub, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(ib.router, ZMQ_LINGER, &zero, sizeof(zero));
    assert_int_equal(zmq_bind(ib.pub, "inproc://accounts.events"), 0);
    assert_int_equal(zmq_bind(ib.router, "inproc://accounts.rpc"), 0);
    ib.router_watch.data = &ib;
    assert_int_equal(tsr_zwatch_init(ib.loop, &ib.router_watch, ib.router, producer_on_replay), 0);
    ib.rpc = tsr_client_new(ib.loop, ctx, "accounts", "inproc://accounts.rpc", 2000);
    assert_non_null(ib.rpc);
    return 0;
}

static int inbox_teardown(void **state)
{
    (void)state;
    if (!have_postgres || ib.daemon == NULL)
        return 0;
    /* The consumer frees itself once its handles are closed and its job and replay are done. */
    if (ib.consumer)
        tsr_consumer_close(ib.consumer);
    tsr_client_destroy(&ib.rpc);
    tsr_zwatch_close(&ib.router_watch, NULL);
    run_for_ms(100);
    zmq_close(ib.pub);
    zmq_close(ib.router);
    tsr_daemon_destroy(&ib.daemon); /* runs the loop until every handle is closed */
    for (int seq = 1; seq <= INBOX_EVENTS; seq++)
        free(ib.events[seq]);
    pthread_mutex_destroy(&ib.lock);
    return 0;
}

/* Each seq of the producer is in the applied table once, and the table's order is seq order. */
static void assert_applied_once_in_order(PGconn *conn, uint64_t through, uint64_t skipped)
{
    PGresult *res = query(conn, "SELECT seq, producer FROM applied ORDER BY id");
    uint64_t expected = 1;
    for (int i = 0; i < PQntuples(res); i++, expected++) {
        if (expected == skipped)
            expected++;
        assert_int_equal(strtoull(PQgetvalue(res, i, 0), NULL, 10), expected);
        assert_string_equal(PQgetvalue(res, i, 1), "accounts");
    }
    assert_int_equal(expected - 1, through);
    PQclear(res);
    assert_int_equal(query_long(conn, "SELECT last_seq FROM inbox WHERE producer = 'accounts'"),
                     (long)through);
}

static void test_the_inbox_applies_each_event_once_in_order_through_duplicates_and_gaps(void **state)
{
    (void)state;
    NEED_POSTGRES();
    /* The consumer starts, finds its inbox empty, and asks for a replay: there is nothing yet. */
    start_consumer();
    uint64_t start = uv_hrtime();
    while (ib.replays < 1 && (uv_hrtime() - start) / 1000000 < 15000) {
        uv_run(ib.loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    assert_int_equal(ib.replays, 1);
    assert_int_equal(ib.replay_after[0], 0);
    run_for_ms(50);

    /* Ten events are published; the subscriber gets them duplicated, out of order, and without 4. */
    ib.head = 10;
    const uint64_t live[] = {1, 2, 3, 3, 2, 5, 6, 8, 7, 9, 10, 1};
    publish(live, sizeof(live) / sizeof(live[0]));
    run_until_applied(10);
    /* The hole after 3 was noticed and filled by a replay from 3. */
    int asked_from_3 = 0;
    for (int i = 1; i < ib.replays && i < 64; i++)
        asked_from_3 |= ib.replay_after[i] == 3;
    assert_true(asked_from_3);
    PGconn *conn = connect_records();
    assert_applied_once_in_order(conn, 10, 0);

    /* Redelivery of what is applied has no second effect. */
    const uint64_t again[] = {10, 9, 1, 5};
    publish(again, 4);
    run_for_ms(100);
    assert_applied_once_in_order(conn, 10, 0);
    PQfinish(conn);
}

/* While the producer's events keep arriving, the idle timer asks for no replay: one would only fetch
 * again what is on its way (under load, a CP-IS part's event of some 470 KB, from each follower). A
 * tail lost with nothing after it is still fetched once the producer has gone quiet. */
static void test_a_consumer_hearing_events_asks_no_replay_and_a_lost_tail_is_still_fetched(void **state)
{
    (void)state;
    NEED_POSTGRES();
    ib.consumer = tsr_consumer_new(ib.daemon, tsr_daemon_zmq_context(ib.daemon), "accounts",
                                   "inproc://accounts.events", ib.rpc, NULL, apply_event, NULL, 100);
    assert_non_null(ib.consumer);
    run_until_replays(1); /* the one at start-up */
    run_for_ms(50);
    int replays_before = ib.replays;
    /* Seven events, one every 40 ms, over nearly three of the idle timer's periods. */
    for (uint64_t seq = 1; seq <= 7; seq++) {
        ib.head = seq;
        publish(&seq, 1);
        run_for_ms(40);
    }
    run_until_applied(7);
    assert_int_equal(ib.replays, replays_before);
    /* The eighth is published but lost, and nothing follows it: the quiet is noticed. */
    ib.head = 8;
    run_until_applied(8);
    assert_true(ib.replays > replays_before);
    assert_int_equal(ib.replay_after[replays_before], 7);
    PGconn *conn = connect_records();
    assert_applied_once_in_order(conn, 8, 0);
    PQfinish(conn);
}

static void test_an_event_that_cannot_be_applied_is_set_aside_and_the_rest_go_on(void **state)
{
    (void)state;
    NEED_POSTGRES();
    start_consumer();
    ib.head = 13; /* 11 is poison */
    run_until_applied(13);
    PGconn *conn = connect_records();
    assert_applied_once_in_order(conn, 13, POISON_SEQ);
    PGresult *res = query(conn, "SELECT producer, seq, type, error FROM inbox_dead");
    assert_int_equal(PQntuples(res), 1);
    assert_string_equal(PQgetvalue(res, 0, 0), "accounts");
    assert_int_equal(atoi(PQgetvalue(res, 0, 1)), POISON_SEQ);
    assert_string_equal(PQgetvalue(res, 0, 2), "accounts.thing.happened");
    assert_non_null(strstr(PQgetvalue(res, 0, 3), "poison"));
    PQclear(res);
    PQfinish(conn);
}

static void test_a_restarted_consumer_applies_nothing_twice(void **state)
{
    (void)state;
    NEED_POSTGRES();
    ib.head = 12;
    start_consumer();
    run_until_applied(12);
    /* A restart: the new consumer knows where it was only from the inbox. */
    tsr_consumer_close(ib.consumer);
    run_for_ms(50);
    start_consumer();
    run_for_ms(50);
    const uint64_t everything[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    publish(everything, 12);
    ib.head = INBOX_EVENTS;
    const uint64_t next[] = {13};
    publish(next, 1); /* 14 to 16 are lost on the way: nothing shows that gap until the next start */
    run_until_applied(13);
    tsr_consumer_close(ib.consumer);
    run_for_ms(50);
    start_consumer(); /* start-up asks for a replay from 13 */
    run_until_applied(INBOX_EVENTS);
    PGconn *conn = connect_records();
    assert_applied_once_in_order(conn, INBOX_EVENTS, POISON_SEQ);
    assert_int_equal(query_long(conn, "SELECT count(*) FROM inbox_dead"), 1);
    PQfinish(conn);
}

/* One pool connection of a tsr_db (conn), a plain one to look with (check), and an event to write
 * (created, about an organisation named as given). */
typedef struct {
    uv_loop_t loop;
    tsr_db_t *db;
    PGconn *conn;
    PGconn *check;
    Tsr__Records__Organisation org;
    Tsr__Records__OrganisationCreated created;
} pool_rig_t;

static void pool_rig_open(pool_rig_t *rig, const char *name)
{
    tsr__records__organisation__init(&rig->org);
    rig->org.name = (char *)name;
    tsr__records__organisation_created__init(&rig->created);
    rig->created.organisation = &rig->org;
    uv_loop_init(&rig->loop);
    tsr_error_t err;
    tsr_error_clear(&err);
    rig->db = tsr_db_new(&rig->loop, conninfo, "records", 1, &err);
    assert_non_null(rig->db);
    rig->conn = tsr_db_acquire(rig->db, &err);
    assert_non_null(rig->conn);
    rig->check = connect_records();
}

static void pool_rig_close(pool_rig_t *rig)
{
    PQfinish(rig->check);
    tsr_db_release(rig->db, rig->conn);
    tsr_db_destroy(&rig->db);
    uv_run(&rig->loop, UV_RUN_DEFAULT);
    uv_loop_close(&rig->loop);
}

/* A pool connection sends BEGIN with its first statement and an outbox row with its next statement
 * or COMMIT: still all or nothing, and a failure is the failure of the statement it went with. */
static void test_deferred_outbox_rows_commit_with_their_change_or_not_at_all(void **state)
{
    (void)state;
    NEED_POSTGRES();
    pool_rig_t rig;
    pool_rig_open(&rig, "deferred");
    PGconn *conn = rig.conn, *check = rig.check;
    tsr_error_t err;
    tsr_error_clear(&err);
    PQclear(query(check, "CREATE TABLE IF NOT EXISTS deferred_changes (n int PRIMARY KEY)"));
    PQclear(query(check, "DELETE FROM deferred_changes"));
    long before = query_long(check, "SELECT count(*) FROM outbox");
    const char *one[1] = {"1"};

    /* Committed: the change and its event together. */
    assert_int_equal(tsr_db_begin(conn, &err), 0);
    PGresult *res = tsr_db_exec(conn, "INSERT INTO deferred_changes (n) VALUES ($1::int)", 1, one, &err);
    assert_non_null(res);
    PQclear(res);
    assert_int_equal(tsr_outbox_append(conn, "records.test.deferred", NULL, NULL, &rig.created.base, &err),
                     0);
    assert_int_equal(query_long(check, "SELECT count(*) FROM outbox"), before); /* not sent yet */
    assert_int_equal(tsr_db_command(conn, "COMMIT", &err), 0);
    assert_int_equal(query_long(check, "SELECT count(*) FROM outbox"), before + 1);
    assert_int_equal(query_long(check, "SELECT count(*) FROM deferred_changes"), 1);

    /* Rolled back: the event waiting for COMMIT goes with the change. */
    assert_int_equal(tsr_db_begin(conn, &err), 0);
    const char *two[1] = {"2"};
    res = tsr_db_exec(conn, "INSERT INTO deferred_changes (n) VALUES ($1::int)", 1, two, &err);
    PQclear(res);
    assert_int_equal(tsr_outbox_append(conn, "records.test.deferred", NULL, NULL, &rig.created.base, &err),
                     0);
    assert_int_equal(tsr_db_command(conn, "ROLLBACK", &err), 0);
    assert_int_equal(query_long(check, "SELECT count(*) FROM outbox"), before + 1);
    assert_int_equal(query_long(check, "SELECT count(*) FROM deferred_changes"), 1);

    /* The statement the event went with fails: the commit never happens, and the error is that
     * statement's (a duplicate key here). */
    assert_int_equal(tsr_db_begin(conn, &err), 0);
    assert_int_equal(tsr_outbox_append(conn, "records.test.deferred", NULL, NULL, &rig.created.base, &err),
                     0);
    res = tsr_db_exec(conn, "INSERT INTO deferred_changes (n) VALUES ($1::int)", 1, one, &err);
    assert_null(res);
    assert_string_equal(err.sqlstate, "23505");
    tsr_error_clear(&err);
    assert_int_equal(tsr_db_command(conn, "ROLLBACK", &err), 0);
    assert_int_equal(query_long(check, "SELECT count(*) FROM outbox"), before + 1);

    /* Several commands in one string (as a consumer ends its batch) take what waits with them. */
    assert_int_equal(tsr_db_begin(conn, &err), 0);
    assert_int_equal(tsr_outbox_append(conn, "records.test.deferred", NULL, NULL, &rig.created.base, &err),
                     0);
    assert_int_equal(tsr_db_command(conn, "UPDATE deferred_changes SET n = n; COMMIT", &err), 0);
    assert_int_equal(query_long(check, "SELECT count(*) FROM outbox"), before + 2);

    /* A transaction that ran nothing sends nothing and leaves the connection idle. */
    assert_int_equal(tsr_db_begin(conn, &err), 0);
    assert_int_equal(tsr_db_command(conn, "COMMIT", &err), 0);
    assert_int_equal(PQtransactionStatus(conn), PQTRANS_IDLE);
    PQclear(query(check, "DELETE FROM outbox WHERE type = 'records.test.deferred'"));
    PQclear(query(check, "DROP TABLE deferred_changes"));
    pool_rig_close(&rig);
}

/* Rows loaded by COPY go with what waits (BEGIN, a deferred event) and commit with it; text comes
 * back as written, escapes and nulls included; a row that breaks a unique index fails the COPY with
 * its sqlstate, and a savepoint taken before it keeps the rest of the transaction. */
static void test_rows_copied_in_commit_with_the_transaction_and_read_back_as_written(void **state)
{
    (void)state;
    NEED_POSTGRES();
    pool_rig_t rig;
    pool_rig_open(&rig, "copied");
    PGconn *conn = rig.conn, *check = rig.check;
    tsr_error_t err;
    tsr_error_clear(&err);
    PQclear(query(check, "CREATE TABLE IF NOT EXISTS copied_rows (k text PRIMARY KEY, v text)"));
    PQclear(query(check, "DELETE FROM copied_rows"));
    long before = query_long(check, "SELECT count(*) FROM outbox");

    const char *values[] = {"a\tb", "line\nbreak\r", "back\\slash \\N", NULL, "plain"};
    char rows[512], *o = rows;
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        o += sprintf(o, "k%zu\t", i);
        o = tsr_db_copy_field(o, values[i]);
        *o++ = '\n';
    }
    assert_int_equal(tsr_db_begin(conn, &err), 0);
    assert_int_equal(tsr_outbox_append(conn, "records.test.copied", NULL, NULL, &rig.created.base, &err), 0);
    assert_int_equal(
        tsr_db_copy_in(conn, "COPY copied_rows (k, v) FROM STDIN", rows, (size_t)(o - rows), &err), 0);
    assert_int_equal(query_long(check, "SELECT count(*) FROM copied_rows"), 0); /* not committed yet */
    assert_int_equal(tsr_db_command(conn, "COMMIT", &err), 0);
    assert_int_equal(query_long(check, "SELECT count(*) FROM outbox"), before + 1);
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char sql[64];
        snprintf(sql, sizeof(sql), "SELECT v FROM copied_rows WHERE k = 'k%zu'", i);
        PGresult *res = query(check, sql);
        assert_int_equal(PQntuples(res), 1);
        if (values[i] == NULL)
            assert_true(PQgetisnull(res, 0, 0));
        else
            assert_string_equal(PQgetvalue(res, 0, 0), values[i]);
        PQclear(res);
    }

    /* A row already there: the COPY fails naming the unique index's sqlstate; rolled back to the
     * savepoint, the transaction goes on and commits what came before it. */
    assert_int_equal(tsr_db_begin(conn, &err), 0);
    const char *fresh[1] = {"k-before"};
    assert_int_equal(
        tsr_db_defer(conn, "INSERT INTO copied_rows (k) VALUES ($1)", 1, fresh, NULL, NULL, &err), 0);
    assert_int_equal(tsr_db_command(conn, "SAVEPOINT copying", &err), 0);
    const char again[] = "k-new\tx\nk4\ty\n";
    assert_int_equal(tsr_db_copy_in(conn, "COPY copied_rows (k, v) FROM STDIN", again, strlen(again), &err),
                     -1);
    assert_string_equal(err.sqlstate, "23505");
    tsr_error_clear(&err);
    assert_int_equal(tsr_db_command(conn, "ROLLBACK TO SAVEPOINT copying", &err), 0);
    assert_int_equal(tsr_db_command(conn, "COMMIT", &err), 0);
    assert_int_equal(query_long(check, "SELECT count(*) FROM copied_rows WHERE k IN ('k-before', 'k-new')"),
                     1);
    assert_int_equal(query_long(check, "SELECT count(*) FROM copied_rows WHERE k = 'k4' AND v = 'plain'"), 1);

    /* Not a COPY: refused before anything is sent. */
    assert_int_equal(tsr_db_copy_in(conn, "SELECT 1", "", 0, &err), -1);
    assert_string_equal(err.code, "database_error");
    assert_int_equal(PQtransactionStatus(conn), PQTRANS_IDLE);
    PQclear(query(check, "DELETE FROM outbox WHERE type = 'records.test.copied'"));
    PQclear(query(check, "DROP TABLE copied_rows"));
    pool_rig_close(&rig);
}

static void test_events_not_wanted_are_passed_over_and_never_applied_later(void **state)
{
    (void)state;
    NEED_POSTGRES();
    ib.head = INBOX_EVENTS;
    start_consumer_wanting(wants_odd_events);
    uint64_t last_odd = INBOX_EVENTS % 2 ? INBOX_EVENTS : INBOX_EVENTS - 1;
    run_until_applied(last_odd);
    PGconn *conn = connect_records();
    PGresult *res = query(conn, "SELECT seq FROM applied ORDER BY id");
    uint64_t expected = 1;
    for (int i = 0; i < PQntuples(res); i++, expected += 2) {
        if (expected == POISON_SEQ)
            expected += 2;
        assert_int_equal(strtoull(PQgetvalue(res, i, 0), NULL, 10), expected);
    }
    assert_int_equal(expected - 2, last_odd);
    PQclear(res);
    long held = query_long(conn, "SELECT last_seq FROM inbox WHERE producer = 'accounts'");
    assert_true(held >= (long)last_odd);
    /* Once quiet, the inbox records the even ones passed over too: the consumer is not behind. */
    run_for_ms(300);
    assert_int_equal(query_long(conn, "SELECT last_seq FROM inbox WHERE producer = 'accounts'"),
                     INBOX_EVENTS);
    /* After a restart the replay brings the even ones back: still passed over, nothing twice. */
    tsr_consumer_close(ib.consumer);
    run_for_ms(50);
    start_consumer_wanting(wants_odd_events);
    run_for_ms(300);
    assert_int_equal(query_long(conn, "SELECT count(*) FROM applied"), (long)((last_odd + 1) / 2 - 1));
    assert_int_equal(query_long(conn, "SELECT count(*) FROM applied WHERE seq % 2 = 0"), 0);
    PQfinish(conn);
}

/* A consumer that gathers what its applies see and writes it all at the flush, in one statement, as
 * the audit daemon does with its entries. */
static _Thread_local struct {
    uint64_t txn;
    size_t n;
    char seqs[INBOX_EVENTS][24];
    char names[INBOX_EVENTS][32];
} gathered;
static size_t gathered_most; /* the most events one flush wrote (under ib.lock) */
static int gathered_flushes;

static int apply_gathering(tsr_event_t *ev, tsr_error_t *err)
{
    Tsr__Records__OrganisationCreated *created =
        tsr__records__organisation_created__unpack(NULL, ev->event->payload.len, ev->event->payload.data);
    if (created == NULL)
        return tsr_error_set(err, TSR_E_INVALID, "bad_event", NULL, "Not an organisation.");
    if (gathered.txn != ev->txn) {
        gathered.txn = ev->txn;
        gathered.n = 0;
    }
    snprintf(gathered.seqs[gathered.n], sizeof(gathered.seqs[0]), "%" PRIu64, ev->event->seq);
    snprintf(gathered.names[gathered.n], sizeof(gathered.names[0]), "%s", created->organisation->name);
    gathered.n++;
    tsr__records__organisation_created__free_unpacked(created, NULL);
    return 0;
}

static int flush_gathered(tsr_event_t *ev, tsr_error_t *err)
{
    assert_null(ev->event);
    size_t n = gathered.txn == ev->txn ? gathered.n : 0;
    gathered.n = 0;
    if (n == 0)
        return 0;
    const uint8_t *seqs[INBOX_EVENTS], *names[INBOX_EVENTS];
    size_t seq_lens[INBOX_EVENTS], name_lens[INBOX_EVENTS];
    for (size_t i = 0; i < n; i++) {
        seqs[i] = (const uint8_t *)gathered.seqs[i];
        seq_lens[i] = strlen(gathered.seqs[i]);
        names[i] = (const uint8_t *)gathered.names[i];
        name_lens[i] = strlen(gathered.names[i]);
    }
    size_t lens[2];
    uint8_t *arrays[2] = {tsr_db_binary_array(TSR_DB_TEXT_OID, seqs, seq_lens, n, &lens[0]),
                          tsr_db_binary_array(TSR_DB_TEXT_OID, names, name_lens, n, &lens[1])};
    assert_non_null(arrays[0]);
    assert_non_null(arrays[1]);
    const char *values[2] = {(const char *)arrays[0], (const char *)arrays[1]};
    int lengths[2] = {(int)lens[0], (int)lens[1]}, formats[2] = {1, 1};
    PGresult *res =
        tsr_db_exec_bin(ev->conn,
                        "INSERT INTO applied (seq, producer, name) SELECT s::bigint, 'accounts', n"
                        " FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(s, n, o) ORDER BY o",
                        2, values, lengths, formats, err);
    free(arrays[0]);
    free(arrays[1]);
    if (res == NULL)
        return -1;
    PQclear(res);
    pthread_mutex_lock(&ib.lock);
    ib.last_applied = strtoull(gathered.seqs[n - 1], NULL, 10);
    if (n > gathered_most)
        gathered_most = n;
    gathered_flushes++;
    pthread_mutex_unlock(&ib.lock);
    return 0;
}

static void test_a_batch_gathered_by_its_applies_is_written_once_and_a_bad_event_still_set_aside(void **state)
{
    (void)state;
    NEED_POSTGRES();
    PGconn *conn = connect_records();
    /* The write of event 11 fails, at the flush, not at its apply. */
    PQclear(query(conn, "ALTER TABLE applied ADD CHECK (name <> 'poison')"));
    gathered_most = 0;
    gathered_flushes = 0;
    ib.head = 10;
    ib.consumer =
        tsr_consumer_new(ib.daemon, tsr_daemon_zmq_context(ib.daemon), "accounts", "inproc://accounts.events",
                         ib.rpc, NULL, apply_gathering, flush_gathered, 600000);
    assert_non_null(ib.consumer);
    run_until_applied(10);
    assert_applied_once_in_order(conn, 10, 0);
    /* The replay's ten events came as one batch: one statement wrote them all. */
    assert_int_equal(gathered_most, 10);
    assert_int_equal(gathered_flushes, 1);

    /* A batch whose write fails for one event is done again event by event: only that one is set
     * aside, with the reason the database gave. */
    ib.head = 13;
    const uint64_t next[] = {11, 12, 13};
    publish(next, 3);
    run_until_applied(13);
    assert_applied_once_in_order(conn, 13, POISON_SEQ);
    PGresult *res = query(conn, "SELECT seq, error FROM inbox_dead");
    assert_int_equal(PQntuples(res), 1);
    assert_int_equal(atoi(PQgetvalue(res, 0, 0)), POISON_SEQ);
    assert_non_null(strstr(PQgetvalue(res, 0, 1), "check constraint"));
    PQclear(res);
    PQfinish(conn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrations_apply_once_and_record_each_version),
        cmocka_unit_test(test_a_failed_migration_is_rolled_back_and_named),
        cmocka_unit_test(test_two_appliers_at_once_apply_each_migration_once),
        cmocka_unit_test(test_a_rolled_back_event_is_never_numbered),
        cmocka_unit_test(test_a_later_commit_gets_a_later_number_whatever_its_insert_order),
        cmocka_unit_test(test_numbers_are_gap_free_across_many_batches),
        cmocka_unit_test(test_two_relays_at_once_never_give_a_number_twice),
        cmocka_unit_test(test_numbers_given_at_commit_and_by_the_relays_never_collide_or_leave_a_hole),
        cmocka_unit_test(test_events_numbered_at_commit_are_published_in_sequence_whatever_order_they_come),
        cmocka_unit_test_setup_teardown(
            test_the_inbox_applies_each_event_once_in_order_through_duplicates_and_gaps, inbox_setup,
            inbox_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_consumer_hearing_events_asks_no_replay_and_a_lost_tail_is_still_fetched, inbox_setup,
            inbox_teardown),
        cmocka_unit_test_setup_teardown(test_an_event_that_cannot_be_applied_is_set_aside_and_the_rest_go_on,
                                        inbox_setup, inbox_teardown),
        cmocka_unit_test_setup_teardown(test_a_restarted_consumer_applies_nothing_twice, inbox_setup,
                                        inbox_teardown),
        cmocka_unit_test(test_deferred_outbox_rows_commit_with_their_change_or_not_at_all),
        cmocka_unit_test(test_rows_copied_in_commit_with_the_transaction_and_read_back_as_written),
        cmocka_unit_test_setup_teardown(test_events_not_wanted_are_passed_over_and_never_applied_later,
                                        inbox_setup, inbox_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_batch_gathered_by_its_applies_is_written_once_and_a_bad_event_still_set_aside, inbox_setup,
            inbox_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
