/* A daemon's start, as an operator meets it beside a running suite: a second copy of a daemon
 * refuses to start and leaves the first's sockets alone; an option or a setting it does not know
 * stops it with the configuration's exit status, naming the file, the line or the variable, and the
 * setting meant; a bad value names where it was set; the gauges of periodic jobs are there from the
 * start; a start that fails says so, and not that a signal came. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tsr_testenv.h"

/* Runs a shell command line (its errors too into out); its exit status, or -1 when it did not exit. */
static int run(const char *cmdline, char *out, size_t size)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "%s 2>&1", cmdline);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    int rc = pclose(p);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Starts another tessera-<daemon> on the suite's configuration, settings (NAME=value ..., or "")
 * in its environment and args after --config; its exit status (124 when it was still running after
 * 30 s: it started), what it said in out. */
static int start_another(const char *daemon, const char *settings, const char *args, char *out, size_t size)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "%s timeout 30 %s/tessera-%s --config %s %s", settings, TSR_BIN_DIR, daemon,
             testenv->config, args);
    return run(cmd, out, size);
}

static void expect_says(const char *out, const char *text)
{
    if (strstr(out, text) == NULL)
        fail_msg("expected \"%s\" in:\n%s", text, out);
}

/* The inode of the suite's run/<name>: a socket made again (taken over) is a new one. */
static ino_t inode_of(const char *name)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/run/%s", testenv->dir, name);
    struct stat st;
    if (stat(path, &st) != 0)
        fail_msg("%s is gone", path);
    return st.st_ino;
}

static int pid_of(const char *daemon)
{
    for (int i = 0; i < TESTENV_DAEMONS; i++)
        if (strcmp(testenv_daemon_name(i), daemon) == 0)
            return testenv->pids[i];
    fail_msg("no daemon %s", daemon);
    return -1;
}

/* The running reporting daemon answers the tool's report, through its own socket. */
static void reporting_answers(void)
{
    char out[8192];
    int rc = testenv_run_tool(
        testenv, "report consultations-in-period --start 2026-01-01 --end 2026-01-31 --format json", out,
        sizeof(out));
    if (rc != 0)
        fail_msg("tessera report failed (%d): %s", rc, out);
}

/* A second tessera-reporting on the same instance started "ready", made run/reporting.rpc and
 * .events again and took the first's requests; stopped, it removed them, and the first ran on cut
 * off while `tessera report` failed and /readyz said 200. It now refuses, naming the first, and the
 * first's sockets are the same files and answer. The same for a gateway whose HTTP address is taken
 * (by the first): it used to make the gateway's sockets again before it failed. */
static void test_a_second_copy_refuses_to_start_and_the_first_still_answers(void **state)
{
    (void)state;
    ino_t rpc = inode_of("reporting.rpc"), events = inode_of("reporting.events");
    char out[8192], text[600];
    assert_int_equal(start_another("reporting", "", "", out, sizeof(out)), 1);
    snprintf(text, sizeof(text),
             "another copy of tessera-reporting is running on reporting.rpc (ipc://%s/run/reporting.rpc): "
             "process %d (tessera-reporting)",
             testenv->dir, pid_of("reporting"));
    expect_says(out, text);
    expect_says(out, "This one does not start");
    assert_null(strstr(out, "\"ready\""));
    assert_true(inode_of("reporting.rpc") == rpc);
    assert_true(inode_of("reporting.events") == events);
    reporting_answers();

    char addr[160], settings[200];
    testenv_response_t r = testenv_http(testenv, "GET", "/readyz", NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    char path[400];
    snprintf(path, sizeof(path), "%s/run/gateway.addr", testenv->dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(addr, sizeof(addr), f));
    fclose(f);
    addr[strcspn(addr, "\r\n")] = '\0';
    rpc = inode_of("gateway.rpc");
    events = inode_of("gateway.events");
    snprintf(settings, sizeof(settings), "TESSERA_HTTP_ADDR=%s", addr);
    assert_int_equal(start_another("gateway", settings, "", out, sizeof(out)), 1);
    expect_says(out, "another copy of tessera-gateway is running on gateway.rpc");
    assert_true(inode_of("gateway.rpc") == rpc);
    assert_true(inode_of("gateway.events") == events);
    r = testenv_http(testenv, "GET", "/readyz", NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
}

/* Daemons started on any option they did not know: `tessera-records --version` with a configuration
 * was a second records daemon. */
static void test_an_unknown_option_is_refused_with_usage_and_version_answers(void **state)
{
    (void)state;
    ino_t rpc = inode_of("records.rpc");
    char out[4096];
    assert_int_equal(start_another("records", "", "-v", out, sizeof(out)), 2);
    expect_says(out, "tessera-records: unknown option '-v'");
    expect_says(out, "usage: tessera-records --config FILE");
    assert_int_equal(start_another("records", "", "extra", out, sizeof(out)), 2);
    expect_says(out, "unknown option 'extra'");
    assert_int_equal(start_another("records", "", "--version", out, sizeof(out)), 0);
    expect_says(out, "tessera-records 0.");
    assert_null(strstr(out, "another copy"));
    assert_int_equal(start_another("records", "", "--help", out, sizeof(out)), 0);
    expect_says(out, "usage: tessera-records --config FILE");
    assert_true(inode_of("records.rpc") == rpc);
}

/* A copy of the suite's configuration with more lines at its end; its malloc'd path. */
static char *config_with(const char *name, const char *more)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/%s", testenv->dir, name);
    char cmd[1200], out[256];
    snprintf(cmd, sizeof(cmd), "cp %s %s && chmod 600 %s", testenv->config, path, path);
    assert_int_equal(run(cmd, out, sizeof(out)), 0);
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs(more, f);
    fclose(f);
    return strdup(path);
}

static int lines_of(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* A misspelt key or section was passed over and its default applied, curve_publc_key leaving the
 * bus unencrypted: every program of the suite (a daemon, the tool, the poller) now stops, exit 2,
 * naming the file, the line, the section, the key and the one meant; a variable of no setting too. */
static void test_an_unknown_setting_stops_every_program_naming_it(void **state)
{
    (void)state;
    char *bad = config_with("misspelt.conf",
                            "\n[records]\ncurve_publc_key = rq:rC^7F(9a)Z4W*B!wLnwbvb2=1R$Oq)jA1rFa)@\n");
    int line = lines_of(bad);
    char out[8192], text[600], cmd[1200];
    snprintf(text, sizeof(text),
             "%s:%d: [records] has no setting 'curve_publc_key' (did you mean 'curve_public_key'?)", bad,
             line);
    snprintf(cmd, sizeof(cmd), "timeout 30 %s/tessera-records --config %s", TSR_BIN_DIR, bad);
    assert_int_equal(run(cmd, out, sizeof(out)), 2);
    expect_says(out, text);
    snprintf(cmd, sizeof(cmd), "timeout 30 %s/tessera --config %s audit verify", TSR_BIN_DIR, bad);
    assert_int_equal(run(cmd, out, sizeof(out)), 2);
    expect_says(out, text);
    snprintf(cmd, sizeof(cmd), "timeout 30 %s/tessera-spine-poller --config %s --once", TSR_BIN_DIR, bad);
    assert_int_equal(run(cmd, out, sizeof(out)), 2);
    expect_says(out, text);
    free(bad);

    bad = config_with("section.conf", "\n[recrods]\ndb_pool = 4\n");
    snprintf(cmd, sizeof(cmd), "timeout 30 %s/tessera-workflow --config %s", TSR_BIN_DIR, bad);
    assert_int_equal(run(cmd, out, sizeof(out)), 2);
    snprintf(text, sizeof(text),
             "%s:%d: there is no section [recrods] in Tessera's configuration (did you mean [records]?)", bad,
             lines_of(bad) - 1);
    expect_says(out, text);
    free(bad);

    assert_int_equal(start_another("records", "TESSERA_RECORDS_DB_POL=4", "", out, sizeof(out)), 2);
    expect_says(out,
                "The environment variable TESSERA_RECORDS_DB_POL names no setting: [records] has no setting "
                "'db_pol' (did you mean TESSERA_RECORDS_DB_POOL?)");
    assert_int_equal(start_another("notifications",
                                   "TESSERA_NOTIFICATIONS_EMAIL_KINDS=request-recieved,step-overdue", "", out,
                                   sizeof(out)),
                     2);
    expect_says(
        out, "notifications.email_kinds lists 'request-recieved', which is no kind of notice (did you mean "
             "'request-received'?)");
    expect_says(out, "Its value comes from the environment variable TESSERA_NOTIFICATIONS_EMAIL_KINDS.");
    /* None of them touched the running daemons. */
    reporting_answers();
}

/* 'The setting records.db_pool is abc' did not say the environment set it. */
static void test_a_bad_value_names_where_it_was_set(void **state)
{
    (void)state;
    char out[8192];
    assert_int_equal(start_another("records", "TESSERA_RECORDS_DB_POOL=abc", "", out, sizeof(out)), 2);
    expect_says(out,
                "The setting 'records.db_pool' is 'abc': it must be a whole number from 1 to 64. Its value "
                "comes from the environment variable TESSERA_RECORDS_DB_POOL.");
    assert_int_equal(start_another("cpis", "TESSERA_CPIS_LA_ODS_CODE='not an ods'", "", out, sizeof(out)), 2);
    expect_says(out, "Its value comes from the environment variable TESSERA_CPIS_LA_ODS_CODE.");
    char *bad = config_with("range.conf", "\n[gateway]\nsession_ttl_s = 5\n");
    char cmd[1200], text[600];
    snprintf(cmd, sizeof(cmd), "timeout 30 %s/tessera-gateway --config %s", TSR_BIN_DIR, bad);
    assert_int_equal(run(cmd, out, sizeof(out)), 2);
    snprintf(text, sizeof(text), "Its value comes from line %d of %s.", lines_of(bad), bad);
    expect_says(out, "'gateway.session_ttl_s' is '5'");
    expect_says(out, text);
    free(bad);
}

/* The queue gauges appeared only at the first overdue scan (30 s, up to a day, after a start) and the
 * CP-IS error queue's at the first metrics_ms: an alert on them met a gap after every restart. */
static void test_the_gauges_are_set_from_the_start(void **state)
{
    (void)state;
    testenv_restart_with(testenv, "workflow", "TESSERA_WORKFLOW_OVERDUE_CHECK_MS", "86400000");
    testenv_restart_with(testenv, "cpis", "TESSERA_CPIS_METRICS_MS", "3600000");
    testenv_response_t r = testenv_http(testenv, "GET", "/metrics", NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    const char *gauges[][2] = {
        {"tessera_workflow_queue_items", "queue=\"cp-is-worker\""},
        {"tessera_workflow_queue_oldest_age_seconds", "queue=\"system-support\""},
        {"tessera_workflow_queue_overdue_items", "queue=\"cp-is-worker\""},
        {"tessera_workflow_closed_days_ahead", NULL},
        {"tessera_cpis_error_queue_items", "source=\"notification\""},
        {"tessera_cpis_error_queue_oldest_age_seconds", "source=\"response\""},
    };
    for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++)
        if (testenv_metric_in(r.body, gauges[i][0], gauges[i][1]) < 0)
            fail_msg("/metrics has no %s{%s} after a restart", gauges[i][0],
                     gauges[i][1] ? gauges[i][1] : "");
    testenv_response_free(&r);
}

/* A gateway whose HTTP address was taken logged "SIGTERM received; draining" though no signal came. */
static void test_a_gateway_that_cannot_listen_says_so_and_exits_1(void **state)
{
    (void)state;
    int holder = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(holder >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(holder, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(holder, 1), 0);
    assert_int_equal(getsockname(holder, (struct sockaddr *)&a, &len), 0);
    testenv_kill(testenv, "gateway", SIGTERM);
    assert_int_equal(testenv_wait_exit(testenv, "gateway", 15000), 0);
    char settings[64], out[8192], text[128];
    snprintf(settings, sizeof(settings), "TESSERA_HTTP_ADDR=127.0.0.1:%d", ntohs(a.sin_port));
    assert_int_equal(start_another("gateway", settings, "", out, sizeof(out)), 1);
    snprintf(text, sizeof(text), "cannot listen on http.addr 127.0.0.1:%d", ntohs(a.sin_port));
    expect_says(out, text);
    expect_says(out, "start-up failed (above); stopping");
    assert_null(strstr(out, "SIGTERM"));
    close(holder);
    testenv_restart(testenv, "gateway");
    reporting_answers();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_second_copy_refuses_to_start_and_the_first_still_answers),
        cmocka_unit_test(test_an_unknown_option_is_refused_with_usage_and_version_answers),
        cmocka_unit_test(test_an_unknown_setting_stops_every_program_naming_it),
        cmocka_unit_test(test_a_bad_value_names_where_it_was_set),
        cmocka_unit_test(test_the_gauges_are_set_from_the_start),
        cmocka_unit_test(test_a_gateway_that_cannot_listen_says_so_and_exits_1),
    };
    return cmocka_run_group_tests(tests, testenv_group_setup, testenv_group_teardown);
}
