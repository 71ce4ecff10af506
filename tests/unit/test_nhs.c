/* tsr_nhs: the modulus-11 check that NHS numbers are entered with. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "tsr_nhs.h"

static void test_valid_numbers_are_accepted_and_normalised(void **state)
{
    (void)state;
    char out[11];
    tsr_error_t err;
    assert_int_equal(tsr_nhs_number_normalise("943 476 5919", out, "nhs_number", &err), 0);
    assert_string_equal(out, "9434765919");
    assert_int_equal(tsr_nhs_number_normalise("401-023-2137", out, "nhs_number", &err), 0);
    assert_true(tsr_nhs_number_is_valid("9876543210"));
    /* Remainder 0 gives 11, which counts as check digit 0. */
    assert_true(tsr_nhs_number_is_valid("2000000010")); /* 2*10 + 1*2 = 22 */
}

static void test_a_wrong_check_digit_is_refused_saying_which_it_should_be(void **state)
{
    (void)state;
    char out[11];
    tsr_error_t err;
    assert_int_equal(tsr_nhs_number_normalise("9434765918", out, "nhs_number", &err), -1);
    assert_string_equal(err.code, "invalid_nhs_number");
    assert_string_equal(err.field, "nhs_number");
    assert_non_null(strstr(err.message, "should be 9"));
}

static void test_check_digit_10_is_refused(void **state)
{
    (void)state;
    /* 1000000030: weighted sum 1*10 + 3*2 = 16 -> 11 - 5 = 6; 1000000010: 10 + 1*2 = 12 -> 10. */
    char out[11];
    tsr_error_t err;
    assert_int_equal(tsr_nhs_number_normalise("1000000010", out, "nhs_number", &err), -1);
    assert_non_null(strstr(err.message, "would be 10"));
    assert_false(tsr_nhs_number_is_valid("1000000011"));
}

static void test_ten_zeros_are_refused_though_their_check_digit_fits(void **state)
{
    (void)state;
    /* The weighted sum of nine zeros is 0, whose check digit is 0: the modulus-11 check passes. */
    static const char *const zeros[] = {"0000000000", "000 000 0000", "000-000-0000"};
    for (size_t i = 0; i < sizeof(zeros) / sizeof(zeros[0]); i++) {
        char out[11];
        tsr_error_t err;
        assert_int_equal(tsr_nhs_number_normalise(zeros[i], out, "nhs_number", &err), -1);
        assert_string_equal(err.code, "invalid_nhs_number");
        assert_non_null(strstr(err.message, "0000000000 is not an NHS number"));
        assert_false(tsr_nhs_number_is_valid(zeros[i]));
    }
}

static void test_wrong_lengths_and_letters_are_refused(void **state)
{
    (void)state;
    assert_false(tsr_nhs_number_is_valid("943476591"));
    assert_false(tsr_nhs_number_is_valid("94347659190"));
    assert_false(tsr_nhs_number_is_valid("94347659A9"));
    assert_false(tsr_nhs_number_is_valid(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_numbers_are_accepted_and_normalised),
        cmocka_unit_test(test_a_wrong_check_digit_is_refused_saying_which_it_should_be),
        cmocka_unit_test(test_check_digit_10_is_refused),
        cmocka_unit_test(test_ten_zeros_are_refused_though_their_check_digit_fits),
        cmocka_unit_test(test_wrong_lengths_and_letters_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
