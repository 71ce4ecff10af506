/* tsr_config: settings from a file, with the environment over it, and errors that name the fault. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsr_config.h"
#include "tsr_settings.h"

static char path[64];

static const char *write_file(const char *text)
{
    snprintf(path, sizeof(path), "/tmp/tsr-config-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_sections_keys_and_comments_are_read(void **state)
{
    (void)state;
    tsr_error_t err;
    tsr_config_t *c =
        tsr_config_load(write_file("# comment\n; another\n[records]\n  db_url = host=/tmp port=5 \n"
                                   "\n[http]\naddr=127.0.0.1:8080\n"),
                        &err);
    assert_non_null(c);
    assert_string_equal(tsr_config_get(c, "records.db_url", NULL), "host=/tmp port=5");
    assert_string_equal(tsr_config_get(c, "http.addr", NULL), "127.0.0.1:8080");
    assert_string_equal(tsr_config_get(c, "http.ui_dir", "fallback"), "fallback");
    tsr_config_destroy(&c);
    assert_null(c);
    tsr_config_destroy(&c); /* safe twice */
    unlink(path);
}

static void test_env_overrides_file_value(void **state)
{
    (void)state;
    tsr_error_t err;
    tsr_config_t *c = tsr_config_load(write_file("[http]\naddr = 127.0.0.1:8080\n"), &err);
    setenv("TESSERA_HTTP_ADDR", "127.0.0.1:9999", 1);
    assert_string_equal(tsr_config_get(c, "http.addr", NULL), "127.0.0.1:9999");
    unsetenv("TESSERA_HTTP_ADDR");
    assert_string_equal(tsr_config_get(c, "http.addr", NULL), "127.0.0.1:8080");
    char name[64];
    tsr_config_env_name("records.db_url", name, sizeof(name));
    assert_string_equal(name, "TESSERA_RECORDS_DB_URL");
    tsr_config_destroy(&c);
    unlink(path);
}

static void test_env_sets_a_key_the_file_does_not_have(void **state)
{
    (void)state;
    tsr_error_t err;
    tsr_config_t *c = tsr_config_load(NULL, &err); /* no file: the environment alone */
    assert_non_null(c);
    assert_null(tsr_config_get(c, "records.db_pool", NULL));
    setenv("TESSERA_RECORDS_DB_POOL", "8", 1);
    assert_string_equal(tsr_config_get(c, "records.db_pool", NULL), "8");
    long n = 0;
    assert_int_equal(tsr_config_get_long(c, "records.db_pool", 4, 1, 64, &n, &err), 0);
    assert_int_equal(n, 8);
    /* A value set in the environment is checked like one from the file. */
    setenv("TESSERA_RECORDS_DB_POOL", "", 1);
    assert_int_equal(tsr_config_get_long(c, "records.db_pool", 4, 1, 64, &n, &err), -1);
    assert_string_equal(err.field, "records.db_pool");
    unsetenv("TESSERA_RECORDS_DB_POOL");
    tsr_config_destroy(&c);
}

static void test_windows_line_endings_are_not_part_of_a_value(void **state)
{
    (void)state;
    tsr_error_t err;
    tsr_config_t *c = tsr_config_load(write_file("[http]\r\naddr = 127.0.0.1:1\r\n\r\n"), &err);
    assert_non_null(c);
    assert_string_equal(tsr_config_get(c, "http.addr", NULL), "127.0.0.1:1");
    tsr_config_destroy(&c);
    unlink(path);
}

/* The last of two settings of a key won: an operator who added a second db_url below the first had the
 * daemon connect where they did not look. */
static void test_a_key_set_twice_is_refused_naming_both_lines(void **state)
{
    (void)state;
    tsr_error_t err;
    tsr_error_clear(&err);
    tsr_config_t *c = tsr_config_load(
        write_file(
            "[http]\naddr = 127.0.0.1:1\n[records]\ndb_url = a\n[http]\n# again\naddr = 127.0.0.1:2\n"),
        &err);
    assert_null(c);
    assert_string_equal(err.code, "config_duplicate_key");
    assert_string_equal(err.field, "http.addr");
    assert_non_null(strstr(err.message, ":7: 'http.addr' is set already, on line 2"));
    unlink(path);
    /* The same name in two sections is two keys. */
    c = tsr_config_load(write_file("[audit]\ntimezone = a\n[cpis]\ntimezone = b\n"), &err);
    assert_non_null(c);
    assert_string_equal(tsr_config_get(c, "cpis.timezone", NULL), "b");
    tsr_config_destroy(&c);
    unlink(path);
}

static void test_a_true_or_false_setting_refuses_anything_else(void **state)
{
    (void)state;
    tsr_error_t err;
    tsr_error_clear(&err);
    tsr_config_t *c = tsr_config_load(write_file("[tessera]\ndemo = true\n[smtp]\nstarttls = yes\n"), &err);
    assert_non_null(c);
    int on = 0;
    assert_int_equal(tsr_config_get_bool(c, "tessera.demo", 0, &on, &err), 0);
    assert_int_equal(on, 1);
    assert_int_equal(tsr_config_get_bool(c, "records.audit_person_views", 1, &on, &err), 0);
    assert_int_equal(on, 1);
    assert_int_equal(tsr_config_get_bool(c, "smtp.starttls", 0, &on, &err), -1);
    assert_string_equal(err.field, "smtp.starttls");
    assert_non_null(strstr(err.message, "'smtp.starttls' is 'yes': it must be true or false"));
    setenv("TESSERA_TESSERA_DEMO", "false", 1);
    assert_int_equal(tsr_config_get_bool(c, "tessera.demo", 1, &on, &err), 0);
    assert_int_equal(on, 0);
    unsetenv("TESSERA_TESSERA_DEMO");
    tsr_config_destroy(&c);
    unlink(path);
}

static void test_bad_line_is_rejected_with_file_and_line(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"[http]\naddr value\n", ":2: expected 'key = value'"},
        {"addr = 1\n", ":1: key 'addr' comes before any [section]"},
        {"[http]\n[b\n", ":2: a section header"},
        {"[a b]\n", ":1: section name 'a b'"},
        {"[http]\nbad key = 1\n", ":2: key 'bad key'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tsr_error_t err;
        tsr_config_t *c = tsr_config_load(write_file(cases[i][0]), &err);
        assert_null(c);
        assert_non_null(strstr(err.message, path));
        if (strstr(err.message, cases[i][1]) == NULL)
            fail_msg("'%s' does not say '%s'", err.message, cases[i][1]);
        unlink(path);
    }
}

static void test_missing_file_is_named(void **state)
{
    (void)state;
    tsr_error_t err;
    assert_null(tsr_config_load("/nonexistent/tessera.conf", &err));
    assert_non_null(strstr(err.message, "/nonexistent/tessera.conf"));
    assert_non_null(strstr(err.message, "No such file"));
    assert_string_equal(err.code, "config_unreadable");
}

static void test_an_overlong_line_is_rejected_with_file_and_line(void **state)
{
    (void)state;
    static char text[6000];
    strcpy(text, "[http]\naddr = ");
    memset(text + strlen(text), 'x', 5000);
    tsr_error_t err;
    assert_null(tsr_config_load(write_file(text), &err));
    assert_non_null(strstr(err.message, path));
    assert_non_null(strstr(err.message, ":2: the line is longer than"));
    unlink(path);
}

static void test_numbers_out_of_range_name_the_key(void **state)
{
    (void)state;
    tsr_error_t err;
    tsr_config_t *c =
        tsr_config_load(write_file("[records]\ndb_pool = 500\n[reporting]\nmax_rows = 12abc\n"), &err);
    long n = 0;
    assert_int_equal(tsr_config_get_long(c, "records.db_pool", 4, 1, 64, &n, &err), -1);
    assert_non_null(strstr(err.message, "records.db_pool"));
    assert_non_null(strstr(err.message, "1 to 64"));
    assert_string_equal(err.field, "records.db_pool");
    assert_string_equal(err.code, "config_bad_number");
    assert_int_equal(tsr_config_get_long(c, "reporting.max_rows", 4, 1, 64, &n, &err), -1);
    assert_non_null(strstr(err.message, "reporting.max_rows"));
    assert_non_null(strstr(err.message, "'12abc'"));
    assert_int_equal(tsr_config_get_long(c, "audit.burst_records", 4, 1, 64, &n, &err), 0);
    assert_int_equal(n, 4);
    /* The bounds themselves are allowed. */
    setenv("TESSERA_RECORDS_DB_POOL", "64", 1);
    assert_int_equal(tsr_config_get_long(c, "records.db_pool", 4, 1, 64, &n, &err), 0);
    assert_int_equal(n, 64);
    setenv("TESSERA_RECORDS_DB_POOL", "99999999999999999999999", 1);
    assert_int_equal(tsr_config_get_long(c, "records.db_pool", 4, 1, 64, &n, &err), -1);
    unsetenv("TESSERA_RECORDS_DB_POOL");
    tsr_config_destroy(&c);
    unlink(path);
}

static void test_required_setting_names_its_variable(void **state)
{
    (void)state;
    tsr_error_t err;
    tsr_config_t *c = tsr_config_load(NULL, &err);
    assert_null(tsr_config_require(c, "audit.db_url", &err));
    assert_non_null(strstr(err.message, "TESSERA_AUDIT_DB_URL"));
    assert_non_null(strstr(err.message, "'audit.db_url'"));
    assert_string_equal(err.field, "audit.db_url");
    assert_string_equal(err.code, "config_missing");
    /* Set but empty is as good as missing. */
    setenv("TESSERA_AUDIT_DB_URL", "", 1);
    assert_null(tsr_config_require(c, "audit.db_url", &err));
    setenv("TESSERA_AUDIT_DB_URL", "host=/tmp", 1);
    assert_string_equal(tsr_config_require(c, "audit.db_url", &err), "host=/tmp");
    unsetenv("TESSERA_AUDIT_DB_URL");
    tsr_config_destroy(&c);
}

static void test_a_time_zone_must_be_one_of_the_tz_database(void **state)
{
    (void)state;
    tsr_error_t err;
    tsr_config_t *c =
        tsr_config_load(write_file("[workflow]\ntimezone = Europe/London\n"
                                   "[audit]\ntimezone = Europe/Lodnon\n"
                                   "[cpis]\ntimezone = ../../etc/passwd\n[reporting]\ntimezone =\n"),
                        &err);
    assert_non_null(c);
    assert_string_equal(tsr_config_get_timezone(c, "workflow.timezone", "UTC", &err), "Europe/London");
    assert_string_equal(tsr_config_get_timezone(c, "consultations.timezone", "UTC", &err), "UTC");
    assert_null(tsr_config_get_timezone(c, "audit.timezone", "Europe/London", &err));
    assert_non_null(strstr(err.message, "'audit.timezone' is 'Europe/Lodnon'"));
    assert_string_equal(err.field, "audit.timezone");
    assert_null(tsr_config_get_timezone(c, "cpis.timezone", "Europe/London", &err));
    assert_null(tsr_config_get_timezone(c, "reporting.timezone", "Europe/London", &err));
    tsr_config_destroy(&c);
    unlink(path);
}

static void test_a_secret_file_is_read_only_when_its_owner_alone_can_read_it(void **state)
{
    (void)state;
    tsr_error_t err;
    char out[64];
    write_file("s3cret-of-the-poller\nsecond line\n");
    chmod(path, 0600);
    assert_int_equal(tsr_config_read_secret_file("spine_poller.password_file", path, out, sizeof(out), &err),
                     0);
    assert_string_equal(out, "s3cret-of-the-poller");
    chmod(path, 0640);
    assert_int_equal(tsr_config_read_secret_file("spine_poller.password_file", path, out, sizeof(out), &err),
                     -1);
    assert_non_null(strstr(err.message, "can be read by other users"));
    assert_string_equal(err.field, "spine_poller.password_file");
    unlink(path);
    write_file("\n");
    chmod(path, 0600);
    assert_int_equal(tsr_config_read_secret_file("spine_poller.password_file", path, out, sizeof(out), &err),
                     -1);
    assert_non_null(strstr(err.message, "is empty"));
    unlink(path);
    assert_int_equal(tsr_config_read_secret_file("spine_poller.password_file", path, out, sizeof(out), &err),
                     -1);
    assert_non_null(strstr(err.message, "cannot read"));
}

/* A misspelt key was passed over and its default applied in silence: curve_publc_key left the bus
 * unencrypted, log_levle the log at info. Now the file names where it is, and the key meant. */
static void test_an_unknown_key_is_refused_naming_file_line_section_and_the_key_meant(void **state)
{
    (void)state;
    const char *cases[][3] = {
        {"[tessera]\ndemo = true\nlog_levle = debug\n", "tessera.log_levle",
         ":3: [tessera] has no setting 'log_levle' (did you mean 'log_level'?)"},
        {"[records]\ndb_pol = 4\n", "records.db_pol",
         ":2: [records] has no setting 'db_pol' (did you mean 'db_pool'?)"},
        {"[records]\nDB_POOL = 99\n", "records.DB_POOL",
         "[records] has no setting 'DB_POOL' (did you mean 'db_pool'?)"},
        {"[cpis]\ncurve_publc_key = x\n", "cpis.curve_publc_key", "(did you mean 'curve_public_key'?)"},
        {"[notifications]\nemail_kind = step-overdue\n", "notifications.email_kind",
         "(did you mean 'email_kinds'?)"},
        /* A key of another section is no key of this one. */
        {"[http]\nsession_ttl_s = 60\n", "http.session_ttl_s", ":2: [http] has no setting 'session_ttl_s':"},
        {"[spine_poller]\nfrobnicate = 1\n", "spine_poller.frobnicate", "docs/OPERATIONS.md, section 2"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tsr_error_t err;
        tsr_error_clear(&err);
        assert_null(tsr_config_load(write_file(cases[i][0]), &err));
        assert_string_equal(err.code, "config_unknown_key");
        assert_string_equal(err.field, cases[i][1]);
        assert_non_null(strstr(err.message, path));
        if (strstr(err.message, cases[i][2]) == NULL)
            fail_msg("'%s' does not say '%s'", err.message, cases[i][2]);
        unlink(path);
    }
}

static void test_an_unknown_section_is_refused_naming_the_section_meant(void **state)
{
    (void)state;
    tsr_error_t err;
    tsr_error_clear(&err);
    assert_null(tsr_config_load(write_file("[tessera]\ndemo = true\n\n[recrods]\ndb_pool = 4\n"), &err));
    assert_string_equal(err.code, "config_unknown_section");
    assert_non_null(strstr(err.message, path));
    assert_non_null(strstr(err.message, ":4: there is no section [recrods]"));
    assert_non_null(strstr(err.message, "(did you mean [records]?)"));
    unlink(path);
    /* Refused even with nothing in it. */
    assert_null(tsr_config_load(write_file("[spine-poller]\n"), &err));
    assert_string_equal(err.code, "config_bad_section");
    unlink(path);
    assert_null(tsr_config_load(write_file("[poller]\n"), &err));
    assert_string_equal(err.code, "config_unknown_section");
    assert_non_null(strstr(err.message, "docs/OPERATIONS.md"));
    unlink(path);
}

/* Every setting some program reads loads, in one file: the list every program checks against is one
 * list, the same for the daemons, the tool and the poller. */
static void test_a_file_with_every_setting_of_every_section_loads(void **state)
{
    (void)state;
    static char text[16384];
    size_t n = 0;
    char key[300], last[64] = "";
    for (size_t i = 0; tsr_settings_key_at(i, key, sizeof(key)) != NULL; i++) {
        char *dot = strchr(key, '.');
        *dot = '\0';
        if (strcmp(key, last) != 0)
            n += (size_t)snprintf(text + n, sizeof(text) - n, "[%s]\n", key);
        snprintf(last, sizeof(last), "%.63s", key);
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%s = x\n", dot + 1);
        assert_true(n < sizeof(text));
    }
    tsr_error_t err;
    tsr_error_clear(&err);
    tsr_config_t *c = tsr_config_load(write_file(text), &err);
    if (c == NULL)
        fail_msg("%s", err.message);
    assert_string_equal(tsr_config_get(c, "spine_poller.metrics_file", NULL), "x");
    assert_string_equal(tsr_config_get(c, "gateway.db_pool", NULL), "x");
    assert_string_equal(tsr_config_get(c, "tessera.curve_public_key", NULL), "x");
    tsr_config_destroy(&c);
    unlink(path);
    /* A daemon's section has a daemon's keys; the others do not. */
    assert_true(tsr_settings_has_key("notifications.rpc"));
    assert_true(tsr_settings_has_key("family_context.age_rules"));
    assert_false(tsr_settings_has_key("family_context.rpc"));
    assert_false(tsr_settings_has_key("smtp.db_url"));
    assert_false(tsr_settings_has_key("tessera.db_pool"));
}

/* docs/OPERATIONS.md's tables of keys (section 2) name every setting there is. */
static void test_every_setting_is_in_the_operations_manual(void **state)
{
    (void)state;
    FILE *f = fopen(TSR_SOURCE_DIR "/docs/OPERATIONS.md", "r");
    assert_non_null(f);
    static char doc[262144];
    size_t len = fread(doc, 1, sizeof(doc) - 1, f);
    fclose(f);
    doc[len] = '\0';
    char key[300];
    for (size_t i = 0; tsr_settings_key_at(i, key, sizeof(key)) != NULL; i++) {
        char whole[320], name[320];
        snprintf(whole, sizeof(whole), "`%s`", key);
        snprintf(name, sizeof(name), "`%s`", strchr(key, '.') + 1);
        if (strstr(doc, whole) == NULL && strstr(doc, name) == NULL)
            fail_msg("docs/OPERATIONS.md does not name the setting %s", key);
    }
}

/* TESSERA_RECORDS_DB_POL was passed over as TESSERA_RECORDS_DB_POOL would not have been. */
static void test_an_environment_variable_of_no_setting_is_refused_or_warned_of(void **state)
{
    (void)state;
    tsr_error_t err;
    tsr_error_clear(&err);
    setenv("TESSERA_RECORDS_DB_POL", "4", 1);
    assert_null(tsr_config_load(NULL, &err));
    assert_string_equal(err.code, "config_unknown_variable");
    assert_string_equal(err.field, "TESSERA_RECORDS_DB_POL");
    assert_non_null(
        strstr(err.message, "[records] has no setting 'db_pol' (did you mean TESSERA_RECORDS_DB_POOL?)"));
    unsetenv("TESSERA_RECORDS_DB_POL");
    setenv("TESSERA_SPINE_POLLER_PASSWORD_FLIE", "x", 1);
    assert_null(tsr_config_load(NULL, &err));
    assert_non_null(strstr(err.message, "(did you mean TESSERA_SPINE_POLLER_PASSWORD_FILE?)"));
    unsetenv("TESSERA_SPINE_POLLER_PASSWORD_FLIE");
    /* Named like no section's: perhaps another program's; a warning, with the one it may misspell. */
    setenv("TESSERA_RECRODS_DB_POOL", "4", 1);
    setenv("TESSERA_CONFIG", "/etc/tessera/tessera.conf", 1);
    tsr_config_t *c = tsr_config_load(NULL, &err);
    assert_non_null(c);
    int warned = 0;
    for (size_t i = 0; tsr_config_warning(c, i) != NULL; i++) {
        assert_null(strstr(tsr_config_warning(c, i), "TESSERA_CONFIG"));
        warned |= strstr(tsr_config_warning(c, i), "TESSERA_RECRODS_DB_POOL is named like no section's "
                                                   "settings, and is ignored (did you mean "
                                                   "TESSERA_RECORDS_DB_POOL?)") != NULL;
    }
    assert_true(warned);
    tsr_config_destroy(&c);
    unsetenv("TESSERA_RECRODS_DB_POOL");
    unsetenv("TESSERA_CONFIG");
    /* A setting's own variable is as good as the file. */
    setenv("TESSERA_FAMILY_CONTEXT_AGE_RULES", "police:18-", 1);
    c = tsr_config_load(NULL, &err);
    assert_non_null(c);
    assert_string_equal(tsr_config_get(c, "family_context.age_rules", NULL), "police:18-");
    tsr_config_destroy(&c);
    unsetenv("TESSERA_FAMILY_CONTEXT_AGE_RULES");
}

/* 'The setting records.db_pool is abc' did not say whether the file or the environment set it. */
static void test_a_bad_value_names_where_it_was_set(void **state)
{
    (void)state;
    tsr_error_t err;
    tsr_error_clear(&err);
    tsr_config_t *c = tsr_config_load(
        write_file("[tessera]\ndemo = maybe\n[records]\n\ndb_pool = 500\ntimezone = Mars/Base\n"), &err);
    assert_non_null(c);
    char line[400];
    long n = 0;
    int on = 0;
    assert_int_equal(tsr_config_get_long(c, "records.db_pool", 4, 1, 64, &n, &err), -1);
    snprintf(line, sizeof(line), "Its value comes from line 5 of %s.", path);
    if (strstr(err.message, line) == NULL)
        fail_msg("'%s' does not say '%s'", err.message, line);
    assert_non_null(strstr(err.message, "it must be a whole number from 1 to 64"));
    assert_int_equal(tsr_config_get_bool(c, "tessera.demo", 0, &on, &err), -1);
    snprintf(line, sizeof(line), "Its value comes from line 2 of %s.", path);
    assert_non_null(strstr(err.message, line));
    assert_null(tsr_config_get_timezone(c, "records.timezone", "Europe/London", &err));
    snprintf(line, sizeof(line), "Its value comes from line 6 of %s.", path);
    assert_non_null(strstr(err.message, line));

    setenv("TESSERA_RECORDS_DB_POOL", "abc", 1);
    assert_int_equal(tsr_config_get_long(c, "records.db_pool", 4, 1, 64, &n, &err), -1);
    assert_non_null(strstr(err.message, "'records.db_pool' is 'abc'"));
    assert_non_null(
        strstr(err.message, "Its value comes from the environment variable TESSERA_RECORDS_DB_POOL."));
    assert_null(strstr(err.message, path));
    unsetenv("TESSERA_RECORDS_DB_POOL");
    setenv("TESSERA_RECORDS_DB_URL", "", 1);
    assert_null(tsr_config_require(c, "records.db_url", &err));
    assert_non_null(strstr(err.message, "is required, and it is empty. Its value comes from the environment "
                                        "variable TESSERA_RECORDS_DB_URL."));
    unsetenv("TESSERA_RECORDS_DB_URL");

    /* A program's own check of a value, said once, with the source added. */
    tsr_error_set(&err, TSR_E_INVALID, "bad_config", "records.timezone", "records.timezone is wrong.");
    tsr_config_name_source(c, &err);
    tsr_config_name_source(c, &err);
    snprintf(line, sizeof(line), "records.timezone is wrong. Its value comes from line 6 of %s.", path);
    assert_string_equal(err.message, line);
    /* Nothing to add for a setting left at its default, or an error that names none. */
    tsr_error_set(&err, TSR_E_INVALID, "bad_config", "records.retention_schedule_file", "Unset.");
    tsr_config_name_source(c, &err);
    assert_string_equal(err.message, "Unset.");
    tsr_error_set(&err, TSR_E_INVALID, "bad_config", NULL, "No field.");
    tsr_config_name_source(c, &err);
    assert_string_equal(err.message, "No field.");
    char where[400];
    assert_null(tsr_config_source(c, "records.retention_schedule_file", where, sizeof(where)));
    tsr_config_destroy(&c);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_time_zone_must_be_one_of_the_tz_database),
        cmocka_unit_test(test_a_secret_file_is_read_only_when_its_owner_alone_can_read_it),
        cmocka_unit_test(test_sections_keys_and_comments_are_read),
        cmocka_unit_test(test_env_overrides_file_value),
        cmocka_unit_test(test_env_sets_a_key_the_file_does_not_have),
        cmocka_unit_test(test_windows_line_endings_are_not_part_of_a_value),
        cmocka_unit_test(test_a_key_set_twice_is_refused_naming_both_lines),
        cmocka_unit_test(test_a_true_or_false_setting_refuses_anything_else),
        cmocka_unit_test(test_bad_line_is_rejected_with_file_and_line),
        cmocka_unit_test(test_missing_file_is_named),
        cmocka_unit_test(test_an_overlong_line_is_rejected_with_file_and_line),
        cmocka_unit_test(test_numbers_out_of_range_name_the_key),
        cmocka_unit_test(test_required_setting_names_its_variable),
        cmocka_unit_test(test_an_unknown_key_is_refused_naming_file_line_section_and_the_key_meant),
        cmocka_unit_test(test_an_unknown_section_is_refused_naming_the_section_meant),
        cmocka_unit_test(test_a_file_with_every_setting_of_every_section_loads),
        cmocka_unit_test(test_every_setting_is_in_the_operations_manual),
        cmocka_unit_test(test_an_environment_variable_of_no_setting_is_refused_or_warned_of),
        cmocka_unit_test(test_a_bad_value_names_where_it_was_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
