/* tsr_log: one JSON object a line, with the trace id, even for messages that carry bad bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tsr_log.h"

/* Runs fn with stderr sent to a file, and returns what it wrote. */
static char *capture(void (*fn)(void))
{
    char path[] = "/tmp/tsr-log-XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(2);
    fflush(stderr);
    dup2(fd, 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    static char buf[8192];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return buf;
}

static void write_two(void)
{
    tsr_log_info("0123456789abcdef0123456789abcdef", "added organisation %d", 7500065);
    tsr_log_debug(NULL, "not shown at info");
    tsr_log_error(NULL, "bad bytes \xff\xfe here");
}

static void test_each_line_is_one_json_object_with_trace_id(void **state)
{
    (void)state;
    assert_int_equal(tsr_log_open("records", "info"), 0);
    char *out = capture(write_two);
    char *second = strchr(out, '\n');
    assert_non_null(second);
    *second++ = '\0';
    json_t *line = json_loads(out, 0, NULL);
    assert_non_null(line);
    assert_string_equal(json_string_value(json_object_get(line, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(line, "daemon")), "records");
    assert_string_equal(json_string_value(json_object_get(line, "msg")), "added organisation 7500065");
    assert_string_equal(json_string_value(json_object_get(line, "trace_id")),
                        "0123456789abcdef0123456789abcdef");
    assert_non_null(json_string_value(json_object_get(line, "ts")));
    json_decref(line);
    /* The debug line is below the threshold; the error line with invalid UTF-8 is still valid JSON. */
    json_t *error = json_loads(second, 0, NULL);
    assert_non_null(error);
    assert_string_equal(json_string_value(json_object_get(error, "level")), "error");
    assert_null(json_object_get(error, "trace_id"));
    json_decref(error);
}

static void test_unknown_level_is_refused(void **state)
{
    (void)state;
    assert_int_equal(tsr_log_open("records", "verbose"), -1);
    assert_int_equal(tsr_log_open("records", "warn"), 0);
}

static void test_trace_ids_are_32_hex_and_differ(void **state)
{
    (void)state;
    char a[33], b[33];
    tsr_log_new_trace_id(a);
    tsr_log_new_trace_id(b);
    assert_int_equal(strlen(a), 32);
    assert_int_equal(strspn(a, "0123456789abcdef"), 32);
    assert_string_not_equal(a, b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_line_is_one_json_object_with_trace_id),
        cmocka_unit_test(test_unknown_level_is_refused),
        cmocka_unit_test(test_trace_ids_are_32_hex_and_differ),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
