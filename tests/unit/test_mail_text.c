/* A notice's title in an e-mail (services/notifications/mail_text.c): the body carries it as it
 * reads, and the Subject header in encoded words a mail program can read when it is not plain ASCII,
 * as seed 003 spells the CP-IS request (with an en dash). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sodium.h>
#include <string.h>

#include "mail_text.h"

static void test_a_plain_title_is_the_subject_and_the_body_as_it_is(void **state)
{
    (void)state;
    char plain[400], subject[900];
    notifications_mail_title("New request: CS Notification\r\n to Allocated Worker", plain, sizeof(plain),
                             subject, sizeof(subject));
    assert_string_equal(plain, "New request: CS Notification to Allocated Worker");
    assert_string_equal(subject, plain);
}

/* The body showed the encoded subject, and the subject was one word of over 100 characters. */
static void test_a_title_with_an_en_dash_reads_in_the_body_and_is_encoded_in_short_words(void **state)
{
    (void)state;
    const char *title = "New request: CS Notification to Allocated Worker \xe2\x80\x93 CPIS Follow Up "
                        "\xe2\x80\x93 \xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";
    char plain[400], subject[900];
    notifications_mail_title(title, plain, sizeof(plain), subject, sizeof(subject));
    assert_string_equal(plain, title);
    /* Each word at most 75 characters, on a line of its own; decoded and joined, the title. */
    char decoded[400] = "";
    size_t got = 0;
    for (char *line = subject; line;) {
        char *next = strstr(line, "\r\n ");
        size_t len = next ? (size_t)(next - line) : strlen(line);
        assert_true(len <= 75);
        assert_true(len > 12 && strncmp(line, "=?UTF-8?B?", 10) == 0 &&
                    strncmp(line + len - 2, "?=", 2) == 0);
        char b64[80];
        snprintf(b64, sizeof(b64), "%.*s", (int)(len - 12), line + 10);
        size_t n = 0;
        assert_int_equal(sodium_base642bin((unsigned char *)decoded + got, sizeof(decoded) - got - 1, b64,
                                           strlen(b64), NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL),
                         0);
        /* Whole characters in each: no word ends inside one. */
        assert_true(n > 0 && ((unsigned char)decoded[got + n - 1] < 0x80 ||
                              ((unsigned char)decoded[got + n - 1] & 0xC0) == 0x80));
        got += n;
        line = next ? next + 3 : NULL;
    }
    decoded[got] = '\0';
    assert_string_equal(decoded, title);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_plain_title_is_the_subject_and_the_body_as_it_is),
        cmocka_unit_test(test_a_title_with_an_en_dash_reads_in_the_body_and_is_encoded_in_short_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
