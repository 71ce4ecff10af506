/* tsr_text: the checks that user-typed text goes through. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "tsr_text.h"

static void test_telephone_numbers(void **state)
{
    (void)state;
    assert_true(tsr_text_is_telephone("020 7974 4444"));
    assert_true(tsr_text_is_telephone("+44 (0)20 7974-4444"));
    assert_false(tsr_text_is_telephone("12345"));
    assert_false(tsr_text_is_telephone("call me"));
    assert_false(tsr_text_is_telephone("020 + 7974"));
    assert_false(tsr_text_is_telephone("123456789012345678901"));
}

static void test_email_addresses(void **state)
{
    (void)state;
    assert_true(tsr_text_is_email("duty.worker@example.gov.uk"));
    assert_false(tsr_text_is_email("no-at-sign.example.org"));
    assert_false(tsr_text_is_email("two@@example.org"));
    assert_false(tsr_text_is_email("a b@example.org"));
    assert_false(tsr_text_is_email("x@localhost"));
    assert_false(tsr_text_is_email("x@.example.org"));
    assert_false(tsr_text_is_email("x@example..org"));
}

static void test_utf8_validation(void **state)
{
    (void)state;
    const char ok[] = "Zo\xc3\xab \xe2\x80\x94 \xf0\x9f\x98\x80";
    assert_true(tsr_text_is_utf8(ok, strlen(ok)));
    assert_false(tsr_text_is_utf8("\xff", 1));
    assert_false(tsr_text_is_utf8("\xc0\xaf", 2));     /* overlong '/' */
    assert_false(tsr_text_is_utf8("\xed\xa0\x80", 3)); /* surrogate */
    assert_false(tsr_text_is_utf8("\xe2\x80", 2));     /* cut short */
    assert_false(tsr_text_is_utf8("a\0b", 3));         /* NUL */
}

static void test_lengths_trim_and_control_characters(void **state)
{
    (void)state;
    assert_int_equal(tsr_text_length("Zo\xc3\xab"), 3);
    assert_int_equal(tsr_text_trimmed_length("  a b \n"), 3);
    char *t = tsr_text_trim_dup("\t Hampden Children Centre  ");
    assert_string_equal(t, "Hampden Children Centre");
    free(t);
    assert_true(tsr_text_has_control("a\x01", 1));
    assert_true(tsr_text_has_control("a\nb", 0));
    assert_false(tsr_text_has_control("a\nb", 1));
}

static void test_like_pattern_escapes_wildcards(void **state)
{
    (void)state;
    char *p = tsr_text_like_pattern("50%_off\\");
    assert_string_equal(p, "%50\\%\\_off\\\\%");
    free(p);
    assert_true(tsr_text_is_hex("0a1F"));
    assert_false(tsr_text_is_hex("abc"));
    assert_false(tsr_text_is_hex(""));
    assert_false(tsr_text_is_hex("zz"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_telephone_numbers),
        cmocka_unit_test(test_email_addresses),
        cmocka_unit_test(test_utf8_validation),
        cmocka_unit_test(test_lengths_trim_and_control_characters),
        cmocka_unit_test(test_like_pattern_escapes_wildcards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
