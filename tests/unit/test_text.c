/* tsr_text: the checks that user-typed text goes through. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "tsr_text.h"

static void test_telephone_numbers_are_uk_numbers_with_area_codes_or_international(void **state)
{
    (void)state;
    const char *const good[] = {"020 7974 4444",
                                "+44 (0)20 7974-4444",
                                "+44(0)20 7974 4444",
                                "(020) 7974 4444",
                                "0207-974-4444",
                                "07700 900123",
                                "+447700900123",
                                "0044 20 7974 4444",
                                "01697 73456",
                                "020 7974 4444 ext 123",
                                "020 7974 4444 ext. 12",
                                "020 7974 4444 x123",
                                "020 7974 4444 extension 5",
                                "+1 202 555 0123",
                                "+33 (0)1 23 45 67 89"};
    const char *const bad[] = {"123456",
                               "12345678901234567890",
                               "()()()123456",
                               "----------1234567",
                               "020 + 7974",
                               "call me",
                               "020.7974.4444",
                               "",
                               "7974 4444",
                               "+44 020 7974 4444",
                               "+44 20 7974",
                               "020 7974 44444 4",
                               "(020 7974 4444",
                               "020) 7974",
                               "020 7974 4444 ext",
                               "020 7974 4444 ext 1234567",
                               "++44 20 7974 4444",
                               " 020 7974 4444",
                               "020 7974 4444-",
                               "x123",
                               "123456789012345678901"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!tsr_text_is_telephone(good[i]))
            fail_msg("'%s' is a telephone number", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (tsr_text_is_telephone(bad[i]))
            fail_msg("'%s' is not a telephone number", bad[i]);
}

static void test_email_addresses_need_one_at_and_a_dotted_domain(void **state)
{
    (void)state;
    assert_true(tsr_text_is_email("duty.worker@example.gov.uk"));
    assert_true(tsr_text_is_email("o'neil+tag@sub-domain.example.co.uk"));
    assert_true(tsr_text_is_email("Jos\xc3\xa9@example.org"));
    assert_true(tsr_text_is_email("duty@example.xn--p1ai")); /* an internationalised TLD */
    assert_true(tsr_text_is_email("duty@b\xc3\xbc"
                                  "cher.example.de")); /* a domain in Unicode */
    const char *const bad[] = {"no-at-sign.example.org",
                               "x@y.c0m",             /* a slip: no TLD has a digit */
                               "x@y.com\xe2\x80\x8b", /* a zero-width space, pasted */
                               "x@exam\xc2\xad"
                               "ple.org",                   /* a soft hyphen */
                               "x@example.org\xef\xbb\xbf", /* a byte-order mark */
                               "x@example\xe2\x81\xa0.org", /* a word joiner */
                               "x@y.com ",
                               "two@@example.org",
                               "a b@example.org",
                               "x@localhost",
                               "x@.example.org",
                               "x@example..org",
                               "@example.org",
                               "x@example.org.",
                               "x@example.org\n",
                               "",
                               "js@example.org,",
                               "a,b@example.org",
                               "<script>@example.org",
                               "js@exa_mple.org",
                               ".js@example.org",
                               "js.@example.org",
                               "a..b@example.org",
                               "js@-example.org",
                               "js@example-.org",
                               "js@example.c",
                               "x@127.0.0.1",
                               "\"a b\"@example.org",
                               "a@b@example.org"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (tsr_text_is_email(bad[i]))
            fail_msg("'%s' is not an e-mail address", bad[i]);
    char long_local[300];
    memset(long_local, 'a', 250);
    strcpy(long_local + 250, "@example.org");
    assert_false(tsr_text_is_email(long_local)); /* over 254 characters */
}

static void test_utf8_refuses_overlongs_surrogates_truncation_and_nul(void **state)
{
    (void)state;
    const char ok[] = "Zo\xc3\xab \xe2\x80\x94 \xf0\x9f\x98\x80";
    assert_true(tsr_text_is_utf8(ok, strlen(ok)));
    assert_false(tsr_text_is_utf8("\xff", 1));
    assert_false(tsr_text_is_utf8("\xc0\xaf", 2));         /* overlong '/' */
    assert_false(tsr_text_is_utf8("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(tsr_text_is_utf8("\xe2\x80", 2));         /* cut short */
    assert_false(tsr_text_is_utf8("a\0b", 3));             /* NUL */
    assert_false(tsr_text_is_utf8("\xe0\x80\xaf", 3));     /* overlong in three bytes */
    assert_false(tsr_text_is_utf8("\xf4\x90\x80\x80", 4)); /* beyond U+10FFFF */
    assert_true(tsr_text_is_utf8("", 0));
}

/* An audit entry's summary or an error's message cut short by snprintf inside a name in another
 * script ("%.20s", or the buffer's end) is stored and sent, not refused by PostgreSQL or jansson. */
static void test_utf8_clean_drops_characters_cut_short_anywhere(void **state)
{
    (void)state;
    char whole[] = "Zo\xc5\xbc";
    tsr_text_utf8_clean(whole);
    assert_string_equal(whole, "Zo\xc5\xbc");
    char cut[] = "Zo\xc5"; /* what snprintf leaves of "Zo\xc5\xbc" in 4 bytes */
    tsr_text_utf8_clean(cut);
    assert_string_equal(cut, "Zo");
    char middle[] = "Service 'ABC\xc5' is unknown, \xe2\x82 costs \xe2\x82\xac"
                    "1"; /* "%.4s" and a cut euro sign */
    tsr_text_utf8_clean(middle);
    assert_string_equal(middle, "Service 'ABC' is unknown,  costs \xe2\x82\xac"
                                "1");
    char four[] = "a\xf0\x9f\x98\x80";
    tsr_text_utf8_clean(four);
    assert_string_equal(four, "a\xf0\x9f\x98\x80");
    char four_cut[] = "a\xf0\x9f\x98";
    tsr_text_utf8_clean(four_cut);
    assert_string_equal(four_cut, "a");
    char empty[] = "";
    tsr_text_utf8_clean(empty);
    assert_string_equal(empty, "");
}

static void test_utf8_repair_shows_each_ill_formed_byte_as_a_replacement_and_cuts_on_a_boundary(void **state)
{
    (void)state;
    char *r = tsr_text_utf8_repair("Zo\xeb \xc3\xab", 6, 100); /* Latin-1 e-diaeresis, then UTF-8's */
    assert_string_equal(r, "Zo\xef\xbf\xbd \xc3\xab");
    assert_true(tsr_text_is_utf8(r, strlen(r)));
    free(r);
    r = tsr_text_utf8_repair("a\0b\xe2\x80", 5, 100); /* a NUL, a sequence cut short */
    assert_string_equal(r, "a\xef\xbf\xbd"
                           "b\xef\xbf\xbd\xef\xbf\xbd");
    free(r);
    r = tsr_text_utf8_repair("ab\xc3\xab", 4, 3); /* the two-byte character would pass the limit */
    assert_string_equal(r, "ab");
    free(r);
    r = tsr_text_utf8_repair("", 0, 10);
    assert_string_equal(r, "");
    free(r);
}

static void test_lengths_count_characters_trim_and_control_characters(void **state)
{
    (void)state;
    assert_int_equal(tsr_text_length("Zo\xc3\xab"), 3);
    assert_int_equal(tsr_text_length("\xe2\x80\x94\xf0\x9f\x98\x80"), 2); /* em dash, emoji */
    assert_int_equal(tsr_text_length(""), 0);
    assert_int_equal(tsr_text_trimmed_length(" \t\r\n "), 0);
    assert_int_equal(tsr_text_trimmed_length("  a b \n"), 3);
    char *t = tsr_text_trim_dup("\t Hampden Children Centre  ");
    assert_string_equal(t, "Hampden Children Centre");
    free(t);
    assert_true(tsr_text_has_control("a\x01", 1));
    assert_true(tsr_text_has_control("a\nb", 0));
    assert_false(tsr_text_has_control("a\nb", 1));
    assert_false(tsr_text_has_control("tab\there\r\n", 1));
    assert_true(tsr_text_has_control("tab\there", 0));
    assert_true(tsr_text_has_control("delete\x7f", 1));
    assert_true(tsr_text_has_control("\x1b[31mred", 1)); /* a terminal escape */
    assert_false(tsr_text_has_control("Zo\xc3\xab \xe2\x80\x94", 0));
    assert_true(tsr_text_has_control("next line\xc2\x85", 1));              /* U+0085, a C1 control */
    assert_false(tsr_text_has_control("\xc2\xa0non-breaking \xc2\xa3", 0)); /* U+00A0, U+00A3 */
    /* The one found, to name it: a C1 control by its code point, not its UTF-8 lead byte. */
    assert_int_equal(tsr_text_first_control("ok \x1b[0m", 0), 0x1b);
    assert_int_equal(tsr_text_first_control("tab\there\x07", 1), 0x07);
    assert_int_equal(tsr_text_first_control("next line\xc2\x85", 0), 0x85);
    assert_int_equal(tsr_text_first_control("Zo\xc3\xab", 0), -1);
    assert_true(tsr_text_has_invisible("Ann\xe2\x80\x8b")); /* zero-width space */
    assert_true(tsr_text_has_invisible("Ann\xe2\x80\xae"
                                       "evil")); /* right-to-left override */
    assert_true(tsr_text_has_invisible("\xef\xbb\xbf"
                                       "Ann")); /* byte order mark */
    assert_true(tsr_text_has_invisible("a\xe2\x81\xa6"
                                       "b\xe2\x81\xa9")); /* an isolate */
    assert_true(tsr_text_has_invisible("a\xe2\x80\x8f")); /* right-to-left mark */
    assert_false(tsr_text_has_invisible("\xd9\x85\xd9\x8a\xe2\x80\x8c\xd8\xb1\xd8\xa7")); /* a ZWNJ */
    assert_false(tsr_text_has_invisible("Zo\xc3\xab \xe2\x80\x94 O'Brien-Sm\xc3\xadth"));
    char *empty = tsr_text_trim_dup("   ");
    assert_string_equal(empty, "");
    free(empty);
}

/* U+FFFE in a referrer's name, typed or imported, was kept and written into the report's XLSX, whose
 * XML may not hold it: Excel said the workbook had a problem and LibreOffice dropped every row after
 * it. A noncharacter is refused as a control character is, named in the message, and a file's writer
 * shows what is already kept as U+FFFD. */
static void test_a_noncharacter_is_not_text_and_is_named_refused_and_replaced(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int code_point; /* the first character that is not text, or -1 */
    } cases[] = {
        {"Kai\xef\xbf\xbeMorgan", 0xFFFE},
        {"Kai\xef\xbf\xbf", 0xFFFF},
        {"\xef\xb7\x90", 0xFDD0},
        {"\xef\xb7\xaf", 0xFDEF},
        {"\xf0\x9f\xbf\xbe", 0x1FFFE},
        {"\xf4\x8f\xbf\xbf", 0x10FFFF},
        {"Kai\xef\xbf\xbdMorgan", -1},             /* U+FFFD, the replacement character, is text */
        {"\xef\xb7\x8f \xef\xb7\xb0", -1},         /* U+FDCF and U+FDF0, either side of the block */
        {"\xf0\x9f\xbf\xbd \xf0\x9f\x98\x80", -1}, /* U+1FFFD, an emoji */
        {"Zo\xc3\xab \xe2\x80\x94", -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (tsr_text_first_control(cases[i].text, 1) != cases[i].code_point)
            fail_msg("case %zu: expected %d, got %d", i, cases[i].code_point,
                     tsr_text_first_control(cases[i].text, 1));
        assert_int_equal(tsr_text_has_control(cases[i].text, 0), cases[i].code_point >= 0);
    }
    char words[48];
    assert_string_equal(tsr_text_control_words(0xFFFE, words, sizeof(words)),
                        "U+FFFE, which is not a character");
    assert_string_equal(tsr_text_control_words(0x1B, words, sizeof(words)), "a control character (U+001B)");
    assert_string_equal(tsr_text_control_words('\t', words, sizeof(words)), "a tab");
    assert_string_equal(tsr_text_control_words('\n', words, sizeof(words)), "a line break");

    /* A form's field: refused naming the field and saying what it holds; one without is let through. */
    tsr_error_t err;
    memset(&err, 0, sizeof(err));
    assert_int_equal(tsr_text_check_characters("Kai\xef\xbf\xbeMorgan", 0, "data.contact_name", "Name", &err),
                     -1);
    assert_string_equal(err.code, "invalid_characters");
    assert_string_equal(err.field, "data.contact_name");
    assert_string_equal(err.message, "Name holds U+FFFE, which is not a character: take it out.");
    assert_int_equal(tsr_text_check_characters("line\nby line", 0, "data.contact_name", "Name", &err), -1);
    assert_string_equal(err.message, "Name holds a line break: take it out.");
    assert_int_equal(tsr_text_check_characters("line\r\nby\tline", 1, "data.details", "Details", &err), 0);
    assert_int_equal(tsr_text_check_characters("Zo\xc3\xab O'Brien", 0, "data.contact_name", "Name", &err),
                     0);

    /* What a file is written with: each character that is not text (but a tab or a line break) and
     * each byte that is not UTF-8 is U+FFFD, the rest as it was. */
    static const struct {
        const char *kept, *written;
    } written[] = {
        {"Kai\xef\xbf\xbeMorgan", "Kai\xef\xbf\xbdMorgan"},
        {"\xef\xbf\xbf\xef\xb7\x90\xf4\x8f\xbf\xbf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"\x1b[31mred\x7f", "\xef\xbf\xbd[31mred\xef\xbf\xbd"},
        {"next line\xc2\x85", "next line\xef\xbf\xbd"},
        {"cut \xe2\x80", "cut \xef\xbf\xbd\xef\xbf\xbd"},
        {"a\tb\r\nc", "a\tb\r\nc"},
        {"Zo\xc3\xab \xe2\x80\x94 \xf0\x9f\x98\x80", "Zo\xc3\xab \xe2\x80\x94 \xf0\x9f\x98\x80"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(written) / sizeof(written[0]); i++) {
        char *out = tsr_text_replace_non_text(written[i].kept);
        assert_non_null(out);
        if (strcmp(out, written[i].written) != 0)
            fail_msg("case %zu: '%s' was written '%s'", i, written[i].kept, out);
        free(out);
    }
}

static void test_like_pattern_escapes_wildcards(void **state)
{
    (void)state;
    char *p = tsr_text_like_pattern("50%_off\\");
    assert_string_equal(p, "%50\\%\\_off\\\\%");
    free(p);
    /* Plain text matches itself anywhere; an empty search matches everything. */
    p = tsr_text_like_pattern("Hampden");
    assert_string_equal(p, "%Hampden%");
    free(p);
    p = tsr_text_like_pattern("");
    assert_string_equal(p, "%%");
    free(p);
    p = tsr_text_like_pattern("%%%");
    assert_string_equal(p, "%\\%\\%\\%%");
    free(p);
}

static void test_an_array_literal_quotes_every_item(void **state)
{
    (void)state;
    const char *items[] = {"cpis:N-1:7", "a \"quoted\" b", "back\\slash", "", "{,}"};
    char *a = tsr_text_array_literal(items, 5);
    assert_string_equal(a, "{\"cpis:N-1:7\",\"a \\\"quoted\\\" b\",\"back\\\\slash\",\"\",\"{,}\"}");
    free(a);
    a = tsr_text_array_literal(items, 0);
    assert_string_equal(a, "{}");
    free(a);
    /* A missing item is an SQL null, not the text 'NULL'. */
    const char *gaps[] = {NULL, "NULL", NULL};
    a = tsr_text_array_literal(gaps, 3);
    assert_string_equal(a, "{NULL,\"NULL\",NULL}");
    free(a);
}

static void test_hex_needs_whole_bytes_of_hex_digits(void **state)
{
    (void)state;
    assert_true(tsr_text_is_hex("0a1F"));
    assert_false(tsr_text_is_hex("abc"));
    assert_false(tsr_text_is_hex(""));
    assert_false(tsr_text_is_hex("zz"));
}

static void test_dates_must_be_real_and_not_in_the_future_when_asked(void **state)
{
    (void)state;
    tsr_error_t err;
    assert_int_equal(tsr_text_check_date("2016-02-29", 1, "date_of_birth", &err), 0);
    assert_int_equal(tsr_text_check_date("2015-02-29", 0, "date_of_birth", &err), -1);
    assert_string_equal(err.code, "invalid_date");
    assert_string_equal(err.field, "date_of_birth");
    /* The message names the field in words a person reads (it is shown next to the field). */
    assert_string_equal(err.message, "Date of birth must be a real date like 2015-03-21.");
    assert_int_equal(tsr_text_check_date("2015-3-21", 0, "d", &err), -1);
    assert_int_equal(tsr_text_check_date("2015-13-01", 0, "d", &err), -1);
    assert_int_equal(tsr_text_check_date("21/03/2015", 0, "d", &err), -1);
    /* There is no year 0: PostgreSQL refuses it, so it must not get as far as a query. */
    assert_int_equal(tsr_text_check_date("0000-01-01", 0, "d", &err), -1);
    assert_int_equal(tsr_text_check_date("0001-01-01", 0, "d", &err), 0);
    assert_int_equal(tsr_text_check_date("2999-01-01", 0, "review_date", &err), 0);
    assert_int_equal(tsr_text_check_date("2999-01-01", 1, "prerequisites.dbs_checked_on", &err), -1);
    assert_string_equal(err.code, "date_in_future");
    assert_string_equal(err.field, "prerequisites.dbs_checked_on");
    assert_string_equal(err.message, "The date of the DBS check must be today or in the past.");
    assert_int_equal(tsr_text_check_date("2999-01-01", 1, "start_date", &err), -1);
    assert_string_equal(err.message, "Start date must be today or in the past.");
}

static void test_a_field_left_empty_is_asked_for_in_the_design_systems_words(void **state)
{
    (void)state;
    char out[200];
    tsr_text_ask_for("datetime", "Date and time of consultation", out, sizeof(out));
    assert_string_equal(out, "Enter the date and time of consultation");
    tsr_text_ask_for("picklist", "Source of consultation", out, sizeof(out));
    assert_string_equal(out, "Select the source of consultation");
    tsr_text_ask_for("multi-picklist", "Outcome of consultation", out, sizeof(out));
    assert_string_equal(out, "Select the outcome of consultation");
    /* A title that is a question, or has its own determiner, takes no "the". */
    tsr_text_ask_for("long-text", "Which workers require access to the record", out, sizeof(out));
    assert_string_equal(out, "Enter which workers require access to the record");
    tsr_text_ask_for("text", "Their user role, or what they used it for", out, sizeof(out));
    assert_string_equal(out, "Enter their user role, or what they used it for");
    tsr_text_ask_for("long-text", "The workflows or functions to go through", out, sizeof(out));
    assert_string_equal(out, "Enter the workflows or functions to go through");
    /* An abbreviation keeps its capitals. */
    tsr_text_ask_for("text", "IDs of the records to be merged", out, sizeof(out));
    assert_string_equal(out, "Enter the IDs of the records to be merged");
    tsr_text_in_sentence("NHS number", out, sizeof(out));
    assert_string_equal(out, "the NHS number");
    tsr_text_in_sentence("", out, sizeof(out));
    assert_string_equal(out, "");
}

static void test_days_are_added_across_months_years_and_leap_days_and_shown_day_first(void **state)
{
    (void)state;
    char out[11];
    assert_int_equal(tsr_text_date_add_days("2026-12-07", 308, out), 0);
    assert_string_equal(out, "2027-10-11");
    assert_int_equal(tsr_text_date_add_days("2026-03-01", -42, out), 0);
    assert_string_equal(out, "2026-01-18");
    assert_int_equal(tsr_text_date_add_days("2024-02-28", 1, out), 0);
    assert_string_equal(out, "2024-02-29");
    assert_int_equal(tsr_text_date_add_days("2023-02-28", 1, out), 0);
    assert_string_equal(out, "2023-03-01");
    assert_int_equal(tsr_text_date_add_days("2026-03-29", 0, out), 0); /* the clocks go forward */
    assert_string_equal(out, "2026-03-29");
    assert_int_equal(tsr_text_date_add_days("2026-02-30", 1, out), -1);
    assert_string_equal(out, "");
    assert_int_equal(tsr_text_date_add_days("9999-12-31", 1, out), -1);
    char today[11], tomorrow[11];
    tsr_text_today(today);
    assert_int_equal(tsr_text_check_date(today, 1, "d", &(tsr_error_t){0}), 0);
    assert_int_equal(tsr_text_date_add_days(today, 1, tomorrow), 0);
    assert_int_equal(tsr_text_check_date(tomorrow, 1, "d", &(tsr_error_t){0}), -1);
    assert_int_equal(tsr_text_date_display("2036-01-01", out), 0);
    assert_string_equal(out, "01/01/2036");
    assert_int_equal(tsr_text_date_display("2036-1-1", out), -1);
    assert_string_equal(out, "");
}

static void test_a_table_goes_as_one_array_literal_a_column(void **state)
{
    (void)state;
    /* Two rows of three columns, a column's cells together; a NULL cell is an SQL null. */
    const char *cells[] = {"1", "2", "a \"b\"", NULL, "x", "y"};
    char *out[3] = {0};
    assert_int_equal(tsr_text_array_columns(cells, 2, 3, out), 0);
    assert_string_equal(out[0], "{\"1\",\"2\"}");
    assert_string_equal(out[1], "{\"a \\\"b\\\"\",NULL}");
    assert_string_equal(out[2], "{\"x\",\"y\"}");
    for (int c = 0; c < 3; c++)
        free(out[c]);
    /* No rows: each column an empty array. */
    assert_int_equal(tsr_text_array_columns(cells, 0, 2, out), 0);
    assert_string_equal(out[0], "{}");
    assert_string_equal(out[1], "{}");
    free(out[0]);
    free(out[1]);
}

static void test_date_times_need_an_offset_and_are_read_without_the_local_time_zone(void **state)
{
    (void)state;
    assert_int_equal(tsr_text_datetime_ms("2022-11-25T13:57:00Z"), 1669384620000LL);
    assert_int_equal(tsr_text_datetime_ms("2022-11-25T13:57Z"), 1669384620000LL);
    assert_int_equal(tsr_text_datetime_ms("2022-11-25T14:57:00.250+01:00"), 1669384620000LL);
    assert_int_equal(tsr_text_datetime_ms("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(tsr_text_datetime_ms("2022-11-25T13:57:00"), -1);
    assert_int_equal(tsr_text_datetime_ms("2022-11-25 13:57:00Z"), -1);
    assert_int_equal(tsr_text_datetime_ms("2022-02-30T10:00:00Z"), -1);
    assert_int_equal(tsr_text_datetime_ms("2022-11-25T24:00:00Z"), -1);
    assert_int_equal(tsr_text_datetime_ms("2022-11-25T13:57:00+1:00"), -1);
    assert_int_equal(tsr_text_datetime_ms("2022-11-25"), -1);
    assert_int_equal(tsr_text_datetime_ms(""), -1);
    /* Digits where digits go: no sign, no spaces, no short fields. */
    assert_int_equal(tsr_text_datetime_ms("+022-11-25T13:57:00Z"), -1);
    assert_int_equal(tsr_text_datetime_ms(" 2022-11-25T13:57:00Z"), -1);
    assert_int_equal(tsr_text_datetime_ms("2022-11-25T13:57:00+ 1:00"), -1);
    assert_int_equal(tsr_text_datetime_ms("2022-11-25T13:57:00+01:0"), -1);
    assert_int_equal(tsr_text_datetime_ms("2022-11-25T13:57:0Z"), -1);
    assert_int_equal(tsr_text_datetime_ms("2022-11-25T13:57:00+01"), -1);
    /* 29 February only in a leap year (2000 was one, 1900 was not). */
    assert_int_equal(tsr_text_datetime_ms("2024-02-29T00:00Z"), 1709164800000LL);
    assert_int_equal(tsr_text_datetime_ms("2000-02-29T00:00Z"), 951782400000LL);
    assert_int_equal(tsr_text_datetime_ms("1900-02-29T00:00Z"), -1);
    assert_int_equal(tsr_text_datetime_ms("2023-02-29T00:00Z"), -1);
    assert_int_equal(tsr_text_datetime_ms("2023-04-31T00:00Z"), -1);
}

static void test_a_date_time_before_1970_is_read_as_one_not_as_a_fault(void **state)
{
    (void)state;
    int64_t ms = 0;
    assert_int_equal(tsr_text_datetime_parse("1969-12-31T23:59:59Z", &ms), 0);
    assert_int_equal(ms, -1000);
    assert_int_equal(tsr_text_datetime_parse("1955-06-01T12:00+01:00", &ms), 0);
    assert_int_equal(ms, -460299600000LL);
    assert_int_equal(tsr_text_datetime_parse("2022-11-25T13:57:00Z", &ms), 0);
    assert_int_equal(ms, 1669384620000LL);
    /* RFC 3339 allows the T and the Z in lower case. */
    assert_int_equal(tsr_text_datetime_parse("2022-11-25t13:57:00z", &ms), 0);
    assert_int_equal(ms, 1669384620000LL);
    assert_int_equal(tsr_text_datetime_parse("1955-06-31T12:00Z", &ms), -1);
    assert_int_equal(tsr_text_datetime_parse("1955-06-01T12:00", &ms), -1);
    /* As a return value, where -1 is the fault, an instant before 1970 is one too. */
    assert_int_equal(tsr_text_datetime_ms("1969-12-31T23:59:59Z"), -1);
}

static void test_a_ranked_list_cursor_is_a_place_below_its_depth(void **state)
{
    (void)state;
    tsr_error_t err;
    unsigned long offset = 7;
    assert_int_equal(tsr_text_cursor_offset(NULL, 1000, &offset, &err), 0);
    assert_int_equal(offset, 0);
    assert_int_equal(tsr_text_cursor_offset("", 1000, &offset, &err), 0);
    assert_int_equal(tsr_text_cursor_offset("20", 1000, &offset, &err), 0);
    assert_int_equal(offset, 20);
    assert_int_equal(tsr_text_cursor_offset("999", 1000, &offset, &err), 0);
    const char *bad[] = {"0", "1000", "-2", "2x", " 2", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tsr_error_clear(&err);
        assert_int_equal(tsr_text_cursor_offset(bad[i], 1000, &offset, &err), -1);
        assert_string_equal(err.code, "invalid_cursor");
        assert_int_equal(offset, 0);
    }
}

static void test_an_id_is_a_positive_bigint_in_digits(void **state)
{
    (void)state;
    assert_true(tsr_text_is_id("1"));
    assert_true(tsr_text_is_id("14000001"));
    assert_true(tsr_text_is_id("9223372036854775807"));
    assert_false(tsr_text_is_id("9223372036854775808"));
    assert_false(tsr_text_is_id("99999999999999999999"));
    assert_false(tsr_text_is_id("0"));
    assert_false(tsr_text_is_id("000"));
    assert_false(tsr_text_is_id(""));
    assert_false(tsr_text_is_id("-1"));
    assert_false(tsr_text_is_id("12a"));
    assert_false(tsr_text_is_id(" 12"));
}

static void test_a_time_is_written_in_utc_with_milliseconds_and_reads_back_to_the_second(void **state)
{
    (void)state;
    char out[TSR_TEXT_UTC_MS_LEN + 1];
    const struct {
        int64_t ms;
        const char *text;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {1669384620000LL, "2022-11-25T13:57:00.000Z"},
        {1669384620250LL, "2022-11-25T13:57:00.250Z"},
        {1709164800007LL, "2024-02-29T00:00:00.007Z"},
        /* Before 1970: the second before, and a fraction after it. */
        {-1, "1969-12-31T23:59:59.999Z"},
        {-1000, "1969-12-31T23:59:59.000Z"},
        {253402300799999LL, "9999-12-31T23:59:59.999Z"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(tsr_text_utc_ms(cases[i].ms, out), TSR_TEXT_UTC_MS_LEN);
        assert_string_equal(out, cases[i].text);
        /* Read back to the second (tsr_text_datetime_ms takes whole seconds, as the forms give). */
        if (cases[i].ms >= 0)
            assert_int_equal(tsr_text_datetime_ms(out), cases[i].ms - cases[i].ms % 1000);
    }
}

static void test_an_id_cursor_is_a_positive_number_or_nothing(void **state)
{
    (void)state;
    tsr_error_t err;
    uint64_t after = 99;
    assert_int_equal(tsr_text_cursor_id("", &after, &err), 0);
    assert_int_equal(after, 0);
    assert_int_equal(tsr_text_cursor_id("1234", &after, &err), 0);
    assert_int_equal(after, 1234);
    const char *bad[] = {"0", "-5", "12x", " 12", "abc"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(tsr_text_cursor_id(bad[i], &after, &err), -1);
        assert_string_equal(err.code, "invalid_cursor");
        assert_string_equal(err.field, "cursor");
    }
}

static void test_csv_fields_are_quoted_when_they_must_be_and_never_read_as_formulas(void **state)
{
    (void)state;
    char *f = tsr_text_csv_field("plain");
    assert_string_equal(f, "plain");
    free(f);
    f = tsr_text_csv_field("a, \"b\"");
    assert_string_equal(f, "\"a, \"\"b\"\"\"");
    free(f);
    f = tsr_text_csv_field("=HYPERLINK(1)");
    assert_string_equal(f, "\"'=HYPERLINK(1)\"");
    free(f);
}

static void test_a_page_size_defaults_when_not_asked_and_is_refused_above_its_maximum(void **state)
{
    (void)state;
    tsr_error_t err;
    uint32_t limit = 0;
    assert_int_equal(tsr_text_page_limit(0, 20, 100, &limit, &err), 0);
    assert_int_equal(limit, 20);
    assert_int_equal(tsr_text_page_limit(100, 20, 100, &limit, &err), 0);
    assert_int_equal(limit, 100);
    assert_int_equal(tsr_text_page_limit(101, 20, 100, &limit, &err), -1);
    assert_string_equal(err.code, "invalid_limit");
    assert_string_equal(err.field, "limit");
    assert_non_null(strstr(err.message, "1 to 100"));
}

static void test_a_page_gives_its_statement_the_cursor_and_one_row_more_than_it_shows(void **state)
{
    (void)state;
    tsr_error_t err;
    tsr_text_page_t page;
    assert_int_equal(tsr_text_page(0, "", 50, 200, &page, &err), 0);
    assert_int_equal(page.limit, 50);
    assert_null(page.before_text);
    assert_string_equal(page.fetch_text, "51");
    assert_int_equal(tsr_text_page(10, "1234", 50, 200, &page, &err), 0);
    assert_string_equal(page.before_text, "1234");
    assert_string_equal(page.fetch_text, "11");
    assert_int_equal(tsr_text_page(10, "12x", 50, 200, &page, &err), -1);
    assert_string_equal(err.code, "invalid_cursor");
    assert_int_equal(tsr_text_page(201, NULL, 50, 200, &page, &err), -1);
    assert_string_equal(err.code, "invalid_limit");
}

static void test_a_sorted_list_finds_its_keys_and_takes_new_ones_in_order(void **state)
{
    (void)state;
    char *keys[8] = {0};
    size_t n = 0;
    const char *in[] = {"m", "c", "x", "a"};
    for (size_t i = 0; i < 4; i++) {
        assert_false(tsr_text_sorted_has(keys, n, in[i]));
        tsr_text_sorted_insert(keys, n++, in[i]);
    }
    assert_string_equal(keys[0], "a");
    assert_string_equal(keys[1], "c");
    assert_string_equal(keys[2], "m");
    assert_string_equal(keys[3], "x");
    assert_true(tsr_text_sorted_has(keys, n, "m"));
    assert_false(tsr_text_sorted_has(keys, n, "b"));
    char *unsorted[] = {"b", "a", "c"};
    qsort(unsorted, 3, sizeof(unsorted[0]), tsr_text_compare_ptrs);
    assert_string_equal(unsorted[0], "a");
    assert_true(tsr_text_sorted_has(unsorted, 3, "c"));
}

/* Taking out something recorded in error: the reason from the list, and an explanation when it is
 * "other"; each fault named with its field, all at once. */
static void test_a_reason_to_take_out_is_one_of_the_list_and_other_is_explained(void **state)
{
    (void)state;
    static const tsr_reason_t codes[] = {{"wrong-person", "on the wrong person's record"},
                                         {"inaccurate", "inaccurate"},
                                         {"other", "in error"},
                                         {NULL, NULL}};
    tsr_error_t err;
    tsr_error_clear(&err);
    tsr_text_check_reason("inaccurate", codes, "", "case note", &err);
    assert_int_equal(tsr_error_gathered(&err), 0);
    tsr_text_check_reason("other", codes, "On her brother's record by mistake.", "case note", &err);
    assert_int_equal(tsr_error_gathered(&err), 0);

    tsr_text_check_reason("", codes, "", "case note", &err);
    assert_int_equal(tsr_error_gathered(&err), -1);
    assert_string_equal(err.field, "reason");
    assert_non_null(strstr(err.message, "wrong-person, inaccurate or other"));

    tsr_error_clear(&err);
    tsr_text_check_reason("other", codes, "  \n ", "case note", &err);
    assert_int_equal(tsr_error_gathered(&err), -1);
    assert_string_equal(err.code, "missing_field");
    assert_string_equal(err.field, "explanation");

    /* Two faults at once: an unknown reason and an explanation too long. */
    char longer[1102];
    memset(longer, 'x', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    tsr_error_clear(&err);
    tsr_text_check_reason("gossip", codes, longer, "step", &err);
    assert_int_equal(tsr_error_gathered(&err), -1);
    assert_string_equal(err.code, "invalid_reason");
    assert_int_equal(err.n_faults, 2);
    assert_string_equal(err.faults[1].field, "explanation");

    tsr_error_clear(&err);
    tsr_text_check_reason("inaccurate", codes, "line\x01", "step", &err);
    assert_int_equal(tsr_error_gathered(&err), -1);
    assert_string_equal(err.code, "invalid_text");

    assert_string_equal(tsr_text_reason_words(codes, "wrong-person"), "on the wrong person's record");
    assert_string_equal(tsr_text_reason_words(codes, "unheard-of"), "recorded in error");
}

/* A date before a field's earliest is refused naming the day in words; no bound takes any date. */
static void test_a_date_before_the_earliest_believable_is_refused_in_words(void **state)
{
    (void)state;
    tsr_error_t err;
    assert_int_equal(tsr_text_check_not_before("1990-01-01", "1990-01-01", "f", "Date", &err), 0);
    assert_int_equal(tsr_text_check_not_before("1990-01-01T00:00:00.000Z", "1990-01-01", "f", "Date", &err),
                     0);
    assert_int_equal(tsr_text_check_not_before("1026-11-25", NULL, "f", "Date", &err), 0);
    assert_int_equal(
        tsr_text_check_not_before("1989-12-31T23:59:59.000Z", "1990-01-01", "data.when", "When", &err), -1);
    assert_string_equal(err.code, "date_too_early");
    assert_string_equal(err.field, "data.when");
    assert_string_equal(err.message, "When cannot be before 1 January 1990.");
}

/* For "did you mean": a letter left out, added, changed or two swapped, in any case; nothing far. */
static void test_the_nearest_word_is_suggested_only_when_near(void **state)
{
    (void)state;
    const char *keys[] = {"db_url", "db_pool", "log_level", "curve_public_key", "records", "rpc"};
    size_t n = sizeof(keys) / sizeof(keys[0]);
    assert_string_equal(tsr_text_nearest("db_pol", keys, n), "db_pool");
    assert_string_equal(tsr_text_nearest("DB_POOL", keys, n), "db_pool");
    assert_string_equal(tsr_text_nearest("log_levle", keys, n), "log_level");
    assert_string_equal(tsr_text_nearest("curve_publc_key", keys, n), "curve_public_key");
    assert_string_equal(tsr_text_nearest("recrods", keys, n), "records");
    assert_string_equal(tsr_text_nearest("rpcs", keys, n), "rpc");
    assert_null(tsr_text_nearest("events", keys, n));
    assert_null(tsr_text_nearest("db", keys, n));
    assert_null(tsr_text_nearest("", keys, n));
    assert_null(tsr_text_nearest("x", keys, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates_must_be_real_and_not_in_the_future_when_asked),
        cmocka_unit_test(test_days_are_added_across_months_years_and_leap_days_and_shown_day_first),
        cmocka_unit_test(test_a_field_left_empty_is_asked_for_in_the_design_systems_words),
        cmocka_unit_test(test_telephone_numbers_are_uk_numbers_with_area_codes_or_international),
        cmocka_unit_test(test_email_addresses_need_one_at_and_a_dotted_domain),
        cmocka_unit_test(test_utf8_refuses_overlongs_surrogates_truncation_and_nul),
        cmocka_unit_test(test_utf8_clean_drops_characters_cut_short_anywhere),
        cmocka_unit_test(test_utf8_repair_shows_each_ill_formed_byte_as_a_replacement_and_cuts_on_a_boundary),
        cmocka_unit_test(test_lengths_count_characters_trim_and_control_characters),
        cmocka_unit_test(test_a_noncharacter_is_not_text_and_is_named_refused_and_replaced),
        cmocka_unit_test(test_like_pattern_escapes_wildcards),
        cmocka_unit_test(test_an_array_literal_quotes_every_item),
        cmocka_unit_test(test_a_table_goes_as_one_array_literal_a_column),
        cmocka_unit_test(test_hex_needs_whole_bytes_of_hex_digits),
        cmocka_unit_test(test_date_times_need_an_offset_and_are_read_without_the_local_time_zone),
        cmocka_unit_test(test_a_date_time_before_1970_is_read_as_one_not_as_a_fault),
        cmocka_unit_test(test_an_id_is_a_positive_bigint_in_digits),
        cmocka_unit_test(test_a_ranked_list_cursor_is_a_place_below_its_depth),
        cmocka_unit_test(test_a_time_is_written_in_utc_with_milliseconds_and_reads_back_to_the_second),
        cmocka_unit_test(test_an_id_cursor_is_a_positive_number_or_nothing),
        cmocka_unit_test(test_a_page_size_defaults_when_not_asked_and_is_refused_above_its_maximum),
        cmocka_unit_test(test_a_page_gives_its_statement_the_cursor_and_one_row_more_than_it_shows),
        cmocka_unit_test(test_a_sorted_list_finds_its_keys_and_takes_new_ones_in_order),
        cmocka_unit_test(test_csv_fields_are_quoted_when_they_must_be_and_never_read_as_formulas),
        cmocka_unit_test(test_a_reason_to_take_out_is_one_of_the_list_and_other_is_explained),
        cmocka_unit_test(test_a_date_before_the_earliest_believable_is_refused_in_words),
        cmocka_unit_test(test_the_nearest_word_is_suggested_only_when_near),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
