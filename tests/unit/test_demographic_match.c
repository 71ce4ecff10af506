/* The check a CP-IS plan record passes before it is sent: the national service's matching of the
 * record to the NHS's demographics (NHS number valid, family name, the given-name cascade, date of
 * birth), each mismatch with its code and a reason naming both sides. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "demographic_match.h"

/* 9434765919 has a valid check digit; 9434765918 does not. */
#define GOOD_NHS "9434765919"

static int check(const char *given, const char *family, const char *dob, const char *const *nhs_given,
                 size_t n_given, const char *nhs_family, const char *nhs_dob, char code[48], char reason[600])
{
    demographic_record_t record = {GOOD_NHS, family, given, dob};
    demographic_nhs_t nhs = {nhs_family, nhs_given, n_given, nhs_dob};
    return demographic_match_check(&record, &nhs, code, reason, 600);
}

static void test_the_given_names_match_by_the_cascade(void **state)
{
    (void)state;
    char code[48], reason[600];
    const char *amy_louise[] = {"Amy", "Louise"};
    assert_int_equal(
        check("Amy Louise", "Able", "2015-01-02", amy_louise, 2, "ABLE", "2015-01-02", code, reason),
        DEMOGRAPHIC_MATCH_ALL_GIVEN_NAMES);
    /* Given names held as one item with several words, and odd spacing and case, are the same. */
    const char *one_item[] = {"amy  louise"};
    assert_int_equal(
        check(" Amy Louise ", "Able", "2015-01-02", one_item, 1, "Able", "2015-01-02", code, reason),
        DEMOGRAPHIC_MATCH_ALL_GIVEN_NAMES);
    const char *amy_jane[] = {"Amy", "Jane"};
    assert_int_equal(
        check("Amy Louise", "Able", "2015-01-02", amy_jane, 2, "Able", "2015-01-02", code, reason),
        DEMOGRAPHIC_MATCH_FIRST_FORENAME);
    const char *rob_ben[] = {"Robert", "Ben"};
    assert_int_equal(check("Ben", "Baker", "2014-03-04", rob_ben, 2, "Baker", "2014-03-04", code, reason),
                     DEMOGRAPHIC_MATCH_FORENAME_IN_GIVEN_NAMES);
    /* A later forename found among the given names is not enough: only the first forename counts. */
    const char *louise[] = {"Louise"};
    assert_int_equal(check("Amy Louise", "Able", "2015-01-02", louise, 1, "Able", "2015-01-02", code, reason),
                     -1);
    assert_string_equal(code, "given_name_mismatch");
    assert_non_null(strstr(reason, "Amy Louise"));
    assert_non_null(strstr(reason, "Louise"));
}

/* The NHS often holds names in capitals: accented capitals are the same letters as the record's. */
static void test_accented_names_match_whatever_their_case(void **state)
{
    (void)state;
    char code[48], reason[600];
    const char *zoe[] = {"ZO\xc3\x8b", "\xc3\x89LODIE"}; /* ZOË ÉLODIE */
    assert_int_equal(check("Zo\xc3\xab \xc3\xa9lodie", "\xc5\x81ukasiewicz", "2015-01-02", zoe, 2,
                           "\xc5\x81UKASIEWICZ", "2015-01-02", code, reason),
                     DEMOGRAPHIC_MATCH_ALL_GIVEN_NAMES);
    const char *zoe_only[] = {"ZOE"}; /* another letter, not another case */
    assert_int_equal(
        check("Zo\xc3\xab", "Able", "2015-01-02", zoe_only, 1, "Able", "2015-01-02", code, reason), -1);
    assert_string_equal(code, "given_name_mismatch");
    const char *yves[] = {"\xc5\xb8VES"}; /* Ÿ folds to ÿ, outside Latin Extended-A */
    assert_int_equal(check("\xc3\xbfves", "Able", "2015-01-02", yves, 1, "ABLE", "2015-01-02", code, reason),
                     DEMOGRAPHIC_MATCH_ALL_GIVEN_NAMES);
}

static void test_each_mismatch_names_its_fault(void **state)
{
    (void)state;
    char code[48], reason[600];
    const char *dan[] = {"Dan"};
    assert_int_equal(
        check("Dan", "Deering", "2013-07-08", dan, 1, "Deering-Smith", "2013-07-08", code, reason), -1);
    assert_string_equal(code, "family_name_mismatch");
    assert_non_null(strstr(reason, "'Deering'"));
    assert_non_null(strstr(reason, "'Deering-Smith'"));
    assert_non_null(strstr(reason, GOOD_NHS));
    assert_int_equal(check("Dan", "Deering", "2013-07-08", dan, 1, "Deering", "2013-08-07", code, reason),
                     -1);
    assert_string_equal(code, "date_of_birth_mismatch");
    assert_non_null(strstr(reason, "2013-08-07"));
    assert_int_equal(check("Dan", "Deering", "", dan, 1, "Deering", "2013-08-07", code, reason), -1);
    assert_string_equal(code, "date_of_birth_missing");

    demographic_record_t bad = {"9434765918", "Deering", "Dan", "2013-07-08"};
    demographic_nhs_t nhs = {"Deering", dan, 1, "2013-07-08"};
    assert_int_equal(demographic_match_check(&bad, &nhs, code, reason, sizeof(reason)), -1);
    assert_string_equal(code, "invalid_nhs_number");
    demographic_record_t none = {"", "Deering", "Dan", "2013-07-08"};
    assert_int_equal(demographic_match_check(&none, &nhs, code, reason, sizeof(reason)), -1);
    assert_string_equal(code, "no_nhs_number");
    demographic_record_t good = {GOOD_NHS, "Deering", "Dan", "2013-07-08"};
    assert_int_equal(demographic_match_check(&good, NULL, code, reason, sizeof(reason)), -1);
    assert_string_equal(code, "not_traced");
    assert_int_equal(demographic_match_check(&good, &nhs, code, reason, sizeof(reason)),
                     DEMOGRAPHIC_MATCH_ALL_GIVEN_NAMES);
    assert_string_equal(code, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_given_names_match_by_the_cascade),
        cmocka_unit_test(test_each_mismatch_names_its_fault),
        cmocka_unit_test(test_accented_names_match_whatever_their_case),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
