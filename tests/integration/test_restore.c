/* Backup and restore (docs/OPERATIONS.md, section 8), followed as an operator would, with the
 * standard PostgreSQL tools on the suite's own server: the restored database is locked down again
 * (section 9), and the gateway's /readyz says when it is not. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tsr_testenv.h"

/* Runs a PostgreSQL client program (psql, pg_dump, pg_dumpall, pg_restore) as the server's superuser
 * through its socket, with args (a shell's words, redirections too); its exit status, and what it
 * said in out. As root, the programs run as the postgres user, who owns the cluster. */
static int pg_run(const char *program, const char *args, char *out, size_t size)
{
    char cmd[3000], log[400];
    snprintf(log, sizeof(log), "%s/restore-step.log", testenv->dir);
    snprintf(
        cmd, sizeof(cmd),
        "bin=$(pg_config --bindir 2>/dev/null); [ -x \"$bin/pg_restore\" ] || bin=/usr/lib/postgresql/15/bin;"
        " %s \"$bin/%s\" -h %s/pg/sock -p $(cat %s/pg/port) -U postgres %s > %s 2>&1",
        getuid() == 0 ? "runuser -u postgres --" : "", program, testenv->dir, testenv->dir, args, log);
    /* bash -c with the command as one argument, not through a second layer of quoting. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/bin/bash", "bash", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    FILE *f = fopen(log, "r");
    size_t n = f ? fread(out, 1, size - 1, f) : 0;
    out[n] = '\0';
    if (f)
        fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* /readyz's answer once every check but database_lockdown says "ok" (the daemons have started), or
 * after 60 s; its status, and the lock-down check's text in lockdown. */
static long readiness_but_lockdown(char *lockdown, size_t size)
{
    long status = 0;
    for (int i = 0; i < 600; i++) {
        testenv_response_t r = testenv_http(testenv, "GET", "/readyz", NULL, NULL, NULL);
        status = r.status;
        const json_t *checks = json_object_get(r.json, "checks");
        int others_ok = checks != NULL;
        const char *key;
        const json_t *value;
        json_object_foreach((json_t *)checks, key, value)
        {
            if (strcmp(key, "database_lockdown") == 0)
                snprintf(lockdown, size, "%s", json_string_value(value));
            else
                others_ok = others_ok && strcmp(json_string_value(value), "ok") == 0;
        }
        testenv_response_free(&r);
        if (others_ok)
            return status;
        usleep(100 * 1000);
    }
    return status;
}

/* The count sql gives, once it reaches want or after 10 s. */
static long wait_count(const char *sql, long want)
{
    long n = 0;
    for (int i = 0; i < 100 && (n = testenv_sql_long(testenv, sql)) < want; i++)
        usleep(100 * 1000);
    return n;
}

static long sign_in_status(const char *username)
{
    char body[128];
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"tessera-demo\"}", username);
    testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/session", NULL, body, NULL);
    long status = r.status;
    testenv_response_free(&r);
    return status;
}

/* Section 8's restore, done exactly as it said (pg_dump -Fc, pg_dumpall --globals-only, a new empty
 * UTF8 database, pg_restore), left the database with no grants of its own: PUBLIC, every role of
 * the server, could connect and make temporary tables again, where section 9 says everything is
 * revoked from PUBLIC, and nothing showed it. The restored suite now answers /readyz 503, its
 * database_lockdown check naming what PUBLIC may do and the file to run; the step section 8 now has
 * (share/tessera/database-lockdown.sql) puts it right, and the restored suite is ready, its data
 * and its audit trail whole. A restore to an earlier point undoes what was done to accounts since:
 * a leaver ended after the backup could sign in again, and their session signed out was open again.
 * Section 8's queries find the change in the database kept aside and end every session restored;
 * the change made again, the leaver is out. */
static void test_the_documented_restore_locks_the_database_down_again(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char id[32], out[8192], args[1200], backup[400], sql[600];
    testenv_add_worker(testenv, admin, "restore.rita", "Rita Restorewell", "\"roles\":[\"social-worker\"]",
                       id);
    char *rita = testenv_login(testenv, "restore.rita");
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 20000), 0);

    /* The backup, as section 8 takes it (into a directory the server's owner may write). */
    snprintf(backup, sizeof(backup), "%s/backup", testenv->dir);
    assert_int_equal(mkdir(backup, 0700), 0);
    assert_int_equal(chmod(backup, 0777), 0);
    snprintf(args, sizeof(args), "-Fc -d tessera -f %s/tessera.dump", backup);
    if (pg_run("pg_dump", args, out, sizeof(out)) != 0)
        fail_msg("pg_dump: %s", out);
    snprintf(args, sizeof(args), "--globals-only -f %s/globals.sql", backup);
    if (pg_run("pg_dumpall", args, out, sizeof(out)) != 0)
        fail_msg("pg_dumpall: %s", out);
    /* The backup's time, as section 8 finds it. */
    snprintf(args, sizeof(args), "-l %s/tessera.dump", backup);
    assert_int_equal(pg_run("pg_restore", args, out, sizeof(out)), 0);
    const char *created = strstr(out, "; Archive created at ");
    assert_non_null(created);
    char backup_time[64];
    snprintf(backup_time, sizeof(backup_time), "%.*s", (int)strcspn(created + 21, "\n"), created + 21);

    /* After the backup, Rita leaves: her account is ended, and her session with it. */
    testenv_end_worker(testenv, admin, id, "Left the council");
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_kind = 'worker' AND record_id = %s"
             " AND action = 'end-account'",
             id);
    assert_int_equal(wait_count(sql, 1), 1);
    assert_int_equal(wait_count("SELECT count(*) FROM gateway.sessions WHERE username = 'restore.rita'"
                                " AND ended_at IS NOT NULL",
                                1),
                     1);
    free(admin);

    /* The restore: every daemon stopped, the database replaced kept aside, the roles, a new empty
     * database, pg_restore. */
    for (int i = TESTENV_DAEMONS - 1; i >= 0; i--) {
        testenv_kill(testenv, testenv_daemon_name(i), SIGTERM);
        assert_int_equal(testenv_wait_exit(testenv, testenv_daemon_name(i), 15000), 0);
    }
    if (pg_run("psql", "-X -d postgres -c \"ALTER DATABASE tessera RENAME TO tessera_replaced\"", out,
               sizeof(out)) != 0)
        fail_msg("renaming the database replaced: %s", out);
    snprintf(args, sizeof(args), "-X -q -d postgres -f %s/globals.sql", backup);
    pg_run("psql", args, out, sizeof(out)); /* the roles are there already: each says so, harmlessly */
    if (pg_run("psql", "-X -d postgres -c \"CREATE DATABASE tessera ENCODING 'UTF8' TEMPLATE template0\"",
               out, sizeof(out)) != 0)
        fail_msg("creating the new database: %s", out);
    snprintf(args, sizeof(args), "-d tessera %s/tessera.dump", backup);
    if (pg_run("pg_restore", args, out, sizeof(out)) != 0)
        fail_msg("pg_restore: %s", out);
    /* Rita's session is open again in what was restored: section 8 ends every one before the gateway
     * starts. */
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM gateway.sessions WHERE username ="
                                               " 'restore.rita' AND ended_at IS NULL"),
                     1);
    if (pg_run("psql",
               "-X -d tessera -c 'UPDATE gateway.sessions SET ended_at = now() WHERE ended_at IS NULL'", out,
               sizeof(out)) != 0)
        fail_msg("ending the sessions restored: %s", out);
    assert_int_equal(testenv_sql_long(testenv,
                                      "SELECT has_database_privilege('public', 'tessera', 'CONNECT')::int"
                                      " + has_database_privilege('public', 'tessera', 'TEMPORARY')::int"),
                     2);

    /* Started so, the suite is not ready, and says why and what to run. */
    for (int i = 0; i < TESTENV_DAEMONS; i++)
        testenv_start_alone(testenv, testenv_daemon_name(i));
    assert_int_not_equal(testenv_wait_answering(testenv), 0);
    char lockdown[600] = "";
    assert_int_equal(readiness_but_lockdown(lockdown, sizeof(lockdown)), 503);
    if (strstr(lockdown, "may connect to database tessera, make temporary tables in it") == NULL ||
        strstr(lockdown, "database-lockdown.sql") == NULL)
        fail_msg("database_lockdown does not say what PUBLIC may do and what to run: %s", lockdown);

    /* Section 8's step 5. */
    snprintf(args, sizeof(args), "-X -At -v ON_ERROR_STOP=1 -d tessera < %s/deploy/database-lockdown.sql",
             TSR_SOURCE_DIR);
    if (pg_run("psql", args, out, sizeof(out)) != 0)
        fail_msg("database-lockdown.sql: %s", out);
    assert_non_null(strstr(out, "f|f|f|f"));
    testenv_wait_ready(testenv);
    assert_int_equal(testenv_sql_long(testenv,
                                      "SELECT has_database_privilege('public', 'tessera', 'CONNECT')::int"
                                      " + has_database_privilege('public', 'tessera', 'TEMPORARY')::int"
                                      " + has_schema_privilege('public', 'public', 'CREATE')::int"
                                      " + has_schema_privilege('public', 'public', 'USAGE')::int"),
                     0);
    /* Each daemon's role may still connect (they all did: /readyz), and a role of the server that is
     * not one of them may not. */
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'tsr\\_%'"
                                               " AND has_database_privilege(rolname, 'tessera', 'CONNECT')"),
                     TESTENV_DAEMONS);
    assert_int_equal(testenv_psql(testenv, NULL, "CREATE ROLE restore_outsider LOGIN", out, sizeof(out)), 0);
    assert_int_equal(testenv_sql_long(testenv, "SELECT has_database_privilege('restore_outsider', 'tessera',"
                                               " 'CONNECT')::int"),
                     0);

    /* The trail holds. */
    if (testenv_run_tool(testenv, "audit verify", out, sizeof(out)) != 0)
        fail_msg("audit verify after the restore: %s", out);
    /* Rita's old session is refused; but her account, ended after the backup, is open again. */
    testenv_response_t r = testenv_http(testenv, "GET", "/api/v1/workview", rita, NULL, NULL);
    assert_int_equal(r.status, 401);
    testenv_response_free(&r);
    assert_int_equal(sign_in_status("restore.rita"), 201);
    /* Section 8's query of the database kept aside finds her end, since the backup's time. */
    snprintf(args, sizeof(args),
             "-X -At -d tessera_replaced -c \"SELECT occurred_at, username AS by_whom, action, record_id AS"
             " worker_id, summary FROM audit.entries WHERE record_kind = 'worker' AND occurred_at >= '%s'"
             " ORDER BY occurred_at\"",
             backup_time);
    if (pg_run("psql", args, out, sizeof(out)) != 0)
        fail_msg("the query of the database kept aside: %s", out);
    char found[64];
    snprintf(found, sizeof(found), "|admin|end-account|%s|", id);
    if (strstr(out, found) == NULL)
        fail_msg("the account changes since the backup do not show Rita's end: %s", out);
    /* Made again, it holds. */
    admin = testenv_login(testenv, "admin");
    testenv_end_worker(testenv, admin, id, "Left the council (made again after the restore)");
    assert_int_not_equal(sign_in_status("restore.rita"), 201);
    free(admin);
    free(rita);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_documented_restore_locks_the_database_down_again),
    };
    return cmocka_run_group_tests(tests, testenv_group_setup, testenv_group_teardown);
}
