/* tsr_outbox and tsr_migrate against a real PostgreSQL (a private cluster made by
 * scripts/instance.sh in a temporary directory): events are numbered in the order they become
 * visible, never in insert order, so a consumer never finds a hole filled in behind it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "records.pb-c.h"
#include "tsr_config.h"
#include "tsr_db.h"
#include "tsr_envelope.h"
#include "tsr_migrate.h"
#include "tsr_outbox.h"

static char dir[64];
static char conninfo[512];

static PGconn *connect_records(void)
{
    PGconn *conn = PQconnectdb(conninfo);
    assert_int_equal(PQstatus(conn), CONNECTION_OK);
    tsr_error_t err;
    assert_int_equal(tsr_db_command(conn, "SET search_path TO records", &err), 0);
    return conn;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/tsr-unit-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s/scripts/instance.sh init %s > %s.log 2>&1", TSR_SOURCE_DIR, dir, dir);
    int rc = system(cmd);
    if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
        snprintf(cmd, sizeof(cmd), "cat %s.log >&2", dir);
        rc = system(cmd);
        fail_msg("scripts/instance.sh init failed");
    }
    char path[128];
    snprintf(path, sizeof(path), "%s/tessera.conf", dir);
    tsr_error_t err;
    tsr_config_t *config = tsr_config_load(path, &err);
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

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s/scripts/instance.sh stop %s >/dev/null 2>&1; rm -rf %s %s.log",
             TSR_SOURCE_DIR, dir, dir, dir);
    return system(cmd) == 0 ? 0 : -1;
}

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
    Tsr__Records__OrganisationCreated *ev =
        tsr__records__organisation_created__unpack(NULL, env->payload.len, env->payload.data);
    snprintf(buf, size, "%s", ev->organisation->name);
    tsr__records__organisation_created__free_unpacked(ev, NULL);
    tsr__envelope__free_unpacked(env, NULL);
    return buf;
}

static void test_migrations_apply_once(void **state)
{
    (void)state;
    PGconn *conn = connect_records();
    tsr_error_t err;
    assert_int_equal(tsr_migrate_apply(conn, "records", "common", tsr_common_migrations,
                                       tsr_common_migrations_count, &err),
                     0);
    PGresult *res =
        tsr_db_exec(conn, "SELECT count(*) FROM schema_migrations WHERE component = 'common'", 0, NULL, &err);
    assert_int_equal(atoi(PQgetvalue(res, 0, 0)), (int)tsr_common_migrations_count);
    PQclear(res);
    PQfinish(conn);
}

static void test_a_failed_migration_is_rolled_back_and_named(void **state)
{
    (void)state;
    PGconn *conn = connect_records();
    tsr_migration_t bad[] = {
        {1, "001_ok.sql", "CREATE TABLE half_done (id int);"},
        {2, "002_broken.sql", "CREATE TABLE two (id int); SELECT * FROM missing_table;"}};
    tsr_error_t err;
    assert_int_equal(tsr_migrate_apply(conn, "records", "broken", bad, 2, &err), -1);
    assert_non_null(strstr(err.message, "002_broken.sql"));
    PGresult *res = tsr_db_exec(conn, "SELECT to_regclass('records.two') IS NULL", 0, NULL, &err);
    assert_string_equal(PQgetvalue(res, 0, 0), "t");
    PQclear(res);
    PQfinish(conn);
}

static void test_a_rolled_back_event_is_never_numbered(void **state)
{
    (void)state;
    PGconn *conn = connect_records();
    tsr_error_t err;
    tsr_db_command(conn, "BEGIN", &err);
    append(conn, "rolled back");
    tsr_db_command(conn, "ROLLBACK", &err);
    tsr_outbox_batch_t batch;
    assert_int_equal(tsr_outbox_assign(conn, "records", 100, &batch, &err), 0);
    char buf[64];
    for (size_t i = 0; i < batch.count; i++)
        assert_string_not_equal(name_of(&batch, i, buf, sizeof(buf)), "rolled back");
    tsr_outbox_batch_free(&batch);
    PQfinish(conn);
}

static void test_a_later_commit_gets_a_later_number_whatever_its_insert_order(void **state)
{
    (void)state;
    PGconn *first = connect_records(), *second = connect_records(), *relay = connect_records();
    tsr_error_t err;
    tsr_outbox_batch_t batch;
    assert_int_equal(tsr_outbox_assign(relay, "records", 1000, &batch, &err), 0);
    uint64_t start = batch.head;
    tsr_outbox_batch_free(&batch);

    /* 'slow' inserts first but commits last. */
    tsr_db_command(first, "BEGIN", &err);
    append(first, "slow");
    tsr_db_command(second, "BEGIN", &err);
    append(second, "quick");
    tsr_db_command(second, "COMMIT", &err);
    assert_int_equal(tsr_outbox_assign(relay, "records", 1000, &batch, &err), 0);
    char buf[64];
    assert_int_equal(batch.count, 1);
    assert_string_equal(name_of(&batch, 0, buf, sizeof(buf)), "quick");
    assert_int_equal(batch.head, start + 1);
    tsr_outbox_batch_free(&batch);

    tsr_db_command(first, "COMMIT", &err);
    assert_int_equal(tsr_outbox_assign(relay, "records", 1000, &batch, &err), 0);
    assert_int_equal(batch.count, 1);
    assert_string_equal(name_of(&batch, 0, buf, sizeof(buf)), "slow");
    assert_int_equal(batch.head, start + 2);
    tsr_outbox_batch_free(&batch);

    /* A replay from before both gives them in sequence, stamped with producer and seq. */
    assert_int_equal(tsr_outbox_read(relay, "records", start, 100, &batch, &err), 0);
    assert_int_equal(batch.count, 2);
    for (size_t i = 0; i < 2; i++) {
        Tsr__Envelope *env = tsr__envelope__unpack(NULL, batch.lens[i], batch.events[i]);
        assert_string_equal(env->producer, "records");
        assert_int_equal(env->seq, start + 1 + i);
        assert_string_equal(env->trace_id, "trace");
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
    PGconn *conn = connect_records();
    tsr_error_t err;
    tsr_outbox_batch_t batch;
    assert_int_equal(tsr_outbox_assign(conn, "records", 1000, &batch, &err), 0);
    uint64_t start = batch.head;
    tsr_outbox_batch_free(&batch);
    for (int i = 0; i < 250; i++)
        append(conn, "many");
    uint64_t expected = start + 1;
    for (int round = 0; round < 3; round++) {
        assert_int_equal(tsr_outbox_assign(conn, "records", 100, &batch, &err), 0);
        for (size_t i = 0; i < batch.count; i++) {
            Tsr__Envelope *env = tsr__envelope__unpack(NULL, batch.lens[i], batch.events[i]);
            assert_int_equal(env->seq, expected++);
            tsr__envelope__free_unpacked(env, NULL);
        }
        tsr_outbox_batch_free(&batch);
    }
    assert_int_equal(expected, start + 251);
    PQfinish(conn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrations_apply_once),
        cmocka_unit_test(test_a_failed_migration_is_rolled_back_and_named),
        cmocka_unit_test(test_a_rolled_back_event_is_never_numbered),
        cmocka_unit_test(test_a_later_commit_gets_a_later_number_whatever_its_insert_order),
        cmocka_unit_test(test_numbers_are_gap_free_across_many_batches),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
