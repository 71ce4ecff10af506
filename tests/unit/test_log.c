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
#include <sys/stat.h>
#include <unistd.h>

#include "tsr_log.h"

#define TRACE "0123456789abcdef0123456789abcdef"

/* Runs fn with stderr sent to a file, and returns what it wrote (the caller frees it). */
static char *capture(void (*fn)(void))
{
    char path[] = "/tmp/tsr-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    int saved = dup(2);
    fflush(stderr);
    dup2(fd, 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    char *buf = malloc((size_t)st.st_size + 1);
    assert_non_null(buf);
    ssize_t n = pread(fd, buf, (size_t)st.st_size, 0);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
    return buf;
}

/* Splits text into lines and parses each as a JSON object with ts, level, daemon and msg, as a log
 * shipper would; fails the test on a line that is not. Returns how many lines were parsed. */
static int parse_lines(char *text, json_t **lines, int max)
{
    int n = 0;
    for (char *line = text, *end; *line != '\0'; line = end + 1) {
        end = strchr(line, '\n');
        if (end == NULL)
            fail_msg("the last line has no newline: '%s'", line);
        *end = '\0';
        json_error_t error;
        json_t *obj = json_loads(line, JSON_REJECT_DUPLICATES, &error);
        if (obj == NULL || !json_is_object(obj))
            fail_msg("line %d is not a JSON object (%s): %s", n + 1, error.text, line);
        const char *ts = json_string_value(json_object_get(obj, "ts"));
        assert_non_null(ts); /* 2026-01-31T12:34:56.789Z */
        assert_int_equal(strlen(ts), 24);
        assert_true(ts[10] == 'T' && ts[23] == 'Z');
        assert_non_null(json_string_value(json_object_get(obj, "level")));
        assert_non_null(json_string_value(json_object_get(obj, "daemon")));
        assert_non_null(json_string_value(json_object_get(obj, "msg")));
        assert_true(n < max);
        lines[n++] = obj;
    }
    return n;
}

static const char *field(json_t *line, const char *key)
{
    return json_string_value(json_object_get(line, key));
}

static void write_levels(void)
{
    tsr_log_debug(TRACE, "debug line");
    tsr_log_info(TRACE, "added organisation %d", 7500065);
    tsr_log_warn(NULL, "warn line");
    tsr_log_error("", "error line");
}

static void test_each_line_is_one_json_object_with_ts_level_daemon_msg_and_trace_id(void **state)
{
    (void)state;
    assert_int_equal(tsr_log_open("records", "debug"), 0);
    char *out = capture(write_levels);
    json_t *lines[8];
    assert_int_equal(parse_lines(out, lines, 8), 4);
    assert_string_equal(field(lines[0], "level"), "debug");
    assert_string_equal(field(lines[1], "level"), "info");
    assert_string_equal(field(lines[1], "daemon"), "records");
    assert_string_equal(field(lines[1], "msg"), "added organisation 7500065");
    assert_string_equal(field(lines[1], "trace_id"), TRACE);
    /* Work that belongs to no request has no trace_id, rather than an empty one. */
    assert_string_equal(field(lines[2], "level"), "warn");
    assert_null(json_object_get(lines[2], "trace_id"));
    assert_string_equal(field(lines[3], "level"), "error");
    assert_null(json_object_get(lines[3], "trace_id"));
    for (int i = 0; i < 4; i++)
        json_decref(lines[i]);
    free(out);
}

static void test_lines_below_the_threshold_are_not_written(void **state)
{
    (void)state;
    assert_int_equal(tsr_log_open("audit", "warn"), 0);
    char *out = capture(write_levels);
    json_t *lines[8];
    assert_int_equal(parse_lines(out, lines, 8), 2);
    assert_string_equal(field(lines[0], "msg"), "warn line");
    assert_string_equal(field(lines[0], "daemon"), "audit");
    assert_string_equal(field(lines[1], "msg"), "error line");
    json_decref(lines[0]);
    json_decref(lines[1]);
    free(out);
}

static void test_an_unknown_level_is_refused(void **state)
{
    (void)state;
    assert_int_equal(tsr_log_open("records", "verbose"), -1);
    assert_int_equal(tsr_log_open("records", "INFO"), -1);
    assert_int_equal(tsr_log_open("records", ""), -1);
    assert_int_equal(tsr_log_open("records", "error"), 0);
}

static void write_awkward(void)
{
    tsr_log_error(NULL, "bad bytes \xff\xfe here");
    tsr_log_error(NULL, "a name that is cut short: \xc3");
    tsr_log_error(NULL, "two\nlines and a \"quote\" and a \x01 control");
}

static void test_invalid_utf8_and_newlines_still_give_one_valid_object_a_line(void **state)
{
    (void)state;
    assert_int_equal(tsr_log_open("gateway", "info"), 0);
    char *out = capture(write_awkward);
    json_t *lines[8];
    assert_int_equal(parse_lines(out, lines, 8), 3);
    /* Bytes that are not UTF-8 cannot go into JSON: the line says so instead. */
    assert_non_null(strstr(field(lines[0], "msg"), "not valid UTF-8"));
    assert_non_null(strstr(field(lines[1], "msg"), "not valid UTF-8"));
    assert_string_equal(field(lines[2], "msg"), "two\nlines and a \"quote\" and a \x01 control");
    for (int i = 0; i < 3; i++)
        json_decref(lines[i]);
    free(out);
}

static void write_long(void)
{
    /* 2046 ASCII characters then an e-acute (2 bytes): the 2047-byte limit falls inside it. */
    char text[2100];
    memset(text, 'a', 2046);
    strcpy(text + 2046, "\xc3\xa9 and more");
    tsr_log_info(NULL, "%s", text);
}

static void test_a_long_message_cut_inside_a_character_keeps_its_text(void **state)
{
    (void)state;
    assert_int_equal(tsr_log_open("records", "info"), 0);
    char *out = capture(write_long);
    json_t *lines[2];
    assert_int_equal(parse_lines(out, lines, 2), 1);
    const char *msg = field(lines[0], "msg");
    assert_int_equal(strlen(msg), 2046);
    assert_int_equal(strspn(msg, "a"), 2046);
    json_decref(lines[0]);
    free(out);
}

static void test_trace_ids_are_32_hex_digits_and_differ(void **state)
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
        cmocka_unit_test(test_each_line_is_one_json_object_with_ts_level_daemon_msg_and_trace_id),
        cmocka_unit_test(test_lines_below_the_threshold_are_not_written),
        cmocka_unit_test(test_an_unknown_level_is_refused),
        cmocka_unit_test(test_invalid_utf8_and_newlines_still_give_one_valid_object_a_line),
        cmocka_unit_test(test_a_long_message_cut_inside_a_character_keeps_its_text),
        cmocka_unit_test(test_trace_ids_are_32_hex_digits_and_differ),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
