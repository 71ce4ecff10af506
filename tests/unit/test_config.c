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
    assert_string_equal(tsr_config_get(c, "http.nothing", "fallback"), "fallback");
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
    c = tsr_config_load(write_file("[http]\naddr = a\n[smtp]\naddr = b\n"), &err);
    assert_non_null(c);
    assert_string_equal(tsr_config_get(c, "smtp.addr", NULL), "b");
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
    assert_int_equal(tsr_config_get_bool(c, "records.absent", 1, &on, &err), 0);
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
        {"[a]\nkey value\n", ":2: expected 'key = value'"},
        {"key = 1\n", ":1: key 'key' comes before any [section]"},
        {"[a]\n[b\n", ":2: a section header"},
        {"[a b]\n", ":1: section name 'a b'"},
        {"[a]\nbad key = 1\n", ":2: key 'bad key'"},
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
    strcpy(text, "[a]\nkey = ");
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
    tsr_config_t *c = tsr_config_load(write_file("[records]\ndb_pool = 500\nother = 12abc\n"), &err);
    long n = 0;
    assert_int_equal(tsr_config_get_long(c, "records.db_pool", 4, 1, 64, &n, &err), -1);
    assert_non_null(strstr(err.message, "records.db_pool"));
    assert_non_null(strstr(err.message, "1 to 64"));
    assert_string_equal(err.field, "records.db_pool");
    assert_string_equal(err.code, "config_bad_number");
    assert_int_equal(tsr_config_get_long(c, "records.other", 4, 1, 64, &n, &err), -1);
    assert_non_null(strstr(err.message, "records.other"));
    assert_non_null(strstr(err.message, "'12abc'"));
    assert_int_equal(tsr_config_get_long(c, "records.absent", 4, 1, 64, &n, &err), 0);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
