/* csv_read: the import commands' reading of a CSV file, and what it refuses with the line named. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "csv_read.h"

/* Reads text (len bytes) to its end or first fault: the records read, msg the fault if any. */
static int read_all(const char *text, size_t len, char msg[200], unsigned lines[8])
{
    csv_reader_t reader = {text, text + len, 1};
    char *fields[CSV_FIELDS_MAX];
    size_t n;
    unsigned line;
    int got, records = 0;
    msg[0] = '\0';
    while ((got = csv_read_record(&reader, fields, &n, &line, msg, 200)) > 0) {
        if (records < 8)
            lines[records] = line;
        records++;
        csv_free_fields(fields, n);
    }
    return got < 0 ? -1 : records;
}

static void test_quoted_fields_keep_commas_quotes_and_line_breaks(void **state)
{
    (void)state;
    const char *text = "a,\"Oak \"\"Primary\"\", School\"\r\n\"two\nlines\",x\n\"\",last";
    csv_reader_t reader = {text, text + strlen(text), 1};
    char *fields[CSV_FIELDS_MAX], msg[200];
    size_t n;
    unsigned line;
    assert_int_equal(csv_read_record(&reader, fields, &n, &line, msg, sizeof(msg)), 1);
    assert_int_equal(n, 2);
    assert_string_equal(fields[1], "Oak \"Primary\", School");
    csv_free_fields(fields, n);
    assert_int_equal(csv_read_record(&reader, fields, &n, &line, msg, sizeof(msg)), 1);
    assert_int_equal(line, 2);
    assert_string_equal(fields[0], "two\nlines");
    csv_free_fields(fields, n);
    assert_int_equal(csv_read_record(&reader, fields, &n, &line, msg, sizeof(msg)), 1);
    assert_int_equal(line, 4);
    assert_string_equal(fields[0], "");
    assert_string_equal(fields[1], "last");
    csv_free_fields(fields, n);
    assert_int_equal(csv_read_record(&reader, fields, &n, &line, msg, sizeof(msg)), 0);
}

/* "Smith, J"unk would read as one name, Smith, Junk, that no one typed. */
static void test_text_after_a_closing_quote_is_refused_naming_the_line(void **state)
{
    (void)state;
    char msg[200];
    unsigned lines[8];
    const char *text = "a,b\n\"Smith, J\"unk,c\n";
    assert_int_equal(read_all(text, strlen(text), msg, lines), -1);
    assert_string_equal(msg, "line 2 has text after a quoted field's closing quote");
}

/* A NUL byte would end the field's text there, dropping the rest without a word. */
static void test_a_nul_byte_is_refused_naming_the_line(void **state)
{
    (void)state;
    char msg[200];
    unsigned lines[8];
    static const char text[] = "a,b\nc,d\ne,f\0g\n";
    assert_int_equal(read_all(text, sizeof(text) - 1, msg, lines), -1);
    assert_string_equal(msg, "line 3 has a NUL byte: the file is not text");
    static const char quoted[] = "a,\"b\0\"\n";
    assert_int_equal(read_all(quoted, sizeof(quoted) - 1, msg, lines), -1);
    assert_string_equal(msg, "line 1 has a NUL byte: the file is not text");
}

static void test_other_faults_name_their_line(void **state)
{
    (void)state;
    char msg[200];
    unsigned lines[8];
    const char *open = "a,b\nc,\"d\ne\n";
    assert_int_equal(read_all(open, strlen(open), msg, lines), -1);
    assert_string_equal(msg, "a quoted field that starts on line 2 is never closed");
    const char *inner = "a,b\nc,d\"e\n";
    assert_int_equal(read_all(inner, strlen(inner), msg, lines), -1);
    assert_string_equal(msg, "line 2 has a quote inside a field that is not quoted");
    char many[200] = "";
    for (int i = 0; i <= CSV_FIELDS_MAX; i++)
        strcat(many, i ? ",x" : "x");
    assert_int_equal(read_all(many, strlen(many), msg, lines), -1);
    assert_string_equal(msg, "line 1 has more than 32 fields");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quoted_fields_keep_commas_quotes_and_line_breaks),
        cmocka_unit_test(test_text_after_a_closing_quote_is_refused_naming_the_line),
        cmocka_unit_test(test_a_nul_byte_is_refused_naming_the_line),
        cmocka_unit_test(test_other_faults_name_their_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
