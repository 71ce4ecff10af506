/* tsr_json: JSON read from people and other systems, its faults in words a person can act on and never
 * in jansson's ("\u0000 is not allowed without JSON_ALLOW_NUL" reached the API's callers as it was). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "tsr_json.h"

/* Loads text, expecting it refused with code (and field, "" for none); the message it gave. */
static const char *refused(const char *text, const char *code, const char *field)
{
    static tsr_error_t err;
    tsr_error_clear(&err);
    json_t *value = tsr_json_load(text, strlen(text), "The body", &err);
    if (value != NULL)
        fail_msg("%s was read", text);
    assert_int_equal(err.status, TSR_E_INVALID);
    assert_string_equal(err.code, code);
    assert_string_equal(err.field, field);
    /* None of jansson's own words: its flags, its parser's names for what it expected. */
    static const char *const internals[] = {"JSON_",         "expected near",    "near end of file",
                                            "invalid token", "unexpected token", "not supported",
                                            "decode byte",   "object key"};
    for (size_t i = 0; i < sizeof(internals) / sizeof(internals[0]); i++)
        if (strstr(err.message, internals[i]) != NULL)
            fail_msg("%s: the message has jansson's words (%s): %s", text, internals[i], err.message);
    if (strcmp(code, "malformed_json") == 0)
        assert_non_null(strstr(err.message, "The body is not valid JSON: "));
    return err.message;
}

static void test_a_nul_in_a_string_is_refused_naming_its_field(void **state)
{
    (void)state;
    const char *m = refused("{\"legal_name\":{\"given\":\"A\\u0000nn\",\"family\":\"Q\"}}",
                            "invalid_characters", "legal_name.given");
    assert_non_null(strstr(m, "legal_name.given may not contain a NUL character"));
    refused("{\"other_names\":[\"Ann\",\"B\\u0000\"]}", "invalid_characters", "other_names[1]");
    refused("{\"next_actions\":[{\"action\":\"x\",\"note\":\"\\u0000\"}]}", "invalid_characters",
            "next_actions[0].note");
    refused("[\"\\u0000\"]", "invalid_characters", "[0]");
    /* In a member's name there is no field to name: where it is, then. */
    m = refused("{\"na\\u0000me\":\"x\"}", "invalid_characters", "");
    assert_non_null(strstr(m, "NUL character"));
    assert_non_null(strstr(m, "line 1, column"));
}

static void test_each_fault_of_syntax_is_said_in_words_with_where(void **state)
{
    (void)state;
    static const struct {
        const char *text, *words;
    } cases[] = {
        {"{\"name\":", "ends too soon"},
        {"{\"name\" 1}", "':' is missing"},
        {"{\"a\":1 \"b\":2}", "'}' that ends the object"},
        {"[1,2", "ends too soon"},
        {"[1 2]", "']' that ends the list"},
        {"{\"a\":tru}", "double quotes, and true, false and null"},
        {"{\"a\":\"x\ny\"}", "past the end of its line"},
        {"{\"a\":\"x\ty\"}", "control character"},
        {"{\"a\":\"\\x\"}", "escape JSON does not have"},
        {"{\"a\":\"\\ud800\"}", "not a character"},
        {"{\"a\":1}x", "more after the JSON value"},
        {"1", "not a JSON object"},
        {"", "ends too soon"},
        {"{\"a\":99999999999999999999999}", "too large"},
        {"\xff", "the byte 0xff is not UTF-8"},
        {"{'a':1}", "name is missing or not in double quotes"},
        {"{\"a\":[1,]}", "missing or out of place"},
        {"{\"a\":1,\"a\":2}", "same member twice"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *m = refused(cases[i].text, "malformed_json", "");
        if (strstr(m, cases[i].words) == NULL || strstr(m, "(line 1, column ") == NULL)
            fail_msg("%s: %s", cases[i].text, m);
    }
    /* The caller's own text it stopped at is shown (jansson keeps a short one only). */
    const char *m = refused("{\"a\":tru}", "malformed_json", "");
    assert_non_null(strstr(m, "(line 1, column 8, near 'tru')"));
}

static void test_good_json_is_read_as_it_is(void **state)
{
    (void)state;
    tsr_error_t err = {0};
    const char *text = "{\"name\":\"Ann \\u00e9\",\"list\":[1,{\"b\":null}]}";
    json_t *value = tsr_json_load(text, strlen(text), "The body", &err);
    assert_non_null(value);
    assert_string_equal(json_string_value(json_object_get(value, "name")), "Ann \xc3\xa9");
    json_decref(value);
    /* The length is the text's: no NUL at its end is needed. */
    value = tsr_json_load("{}garbage", 2, "The body", &err);
    assert_non_null(value);
    json_decref(value);
}

/* A file json_load_file could not open has no place in it (jansson says line -1): the words say it
 * cannot be read, not "line -1, column -1". */
static void test_a_file_that_cannot_be_opened_is_said_to_be_unreadable(void **state)
{
    (void)state;
    json_error_t jerr;
    assert_null(json_load_file("/nonexistent/x.json", 0, &jerr));
    char out[300];
    tsr_json_error_words(&jerr, out, sizeof(out));
    assert_string_equal(out,
                        "it cannot be read: unable to open /nonexistent/x.json: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_nul_in_a_string_is_refused_naming_its_field),
        cmocka_unit_test(test_each_fault_of_syntax_is_said_in_words_with_where),
        cmocka_unit_test(test_good_json_is_read_as_it_is),
        cmocka_unit_test(test_a_file_that_cannot_be_opened_is_said_to_be_unreadable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
