#include "mail_text.h"

#include <sodium.h>
#include <stdio.h>

/* The title as one line (CR and LF dropped), for the body, and as the Subject header: in RFC 2047
 * encoded words when it is not plain ASCII, each at most 75 characters and of whole characters,
 * folded onto lines of their own (a title with an en dash, as seed 003 spells the CP-IS request, went
 * as one word of over 100). */
void notifications_mail_title(const char *title, char *plain, size_t plain_size, char *out, size_t size)
{
    size_t n = 0;
    int ascii = 1;
    for (const unsigned char *p = (const unsigned char *)title; *p && n < plain_size - 1; p++) {
        if (*p == '\r' || *p == '\n')
            continue;
        ascii &= *p < 0x80;
        plain[n++] = (char)*p;
    }
    /* Never a character cut in two at the end. */
    while (n > 0 && (unsigned char)plain[n - 1] >= 0x80) {
        size_t start = n - 1;
        while (start > 0 && ((unsigned char)plain[start] & 0xC0) == 0x80)
            start--;
        unsigned char lead = (unsigned char)plain[start];
        size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        if (n - start >= want)
            break;
        n = start;
    }
    plain[n] = '\0';
    if (ascii) {
        snprintf(out, size, "%s", plain);
        return;
    }
    /* 45 bytes make 60 of base64: with =?UTF-8?B? and ?=, 72. */
    size_t used = 0, at = 0;
    out[0] = '\0';
    while (at < n && used + 80 < size) {
        size_t take = n - at > 45 ? 45 : n - at;
        while (take > 1 && at + take < n && ((unsigned char)plain[at + take] & 0xC0) == 0x80)
            take--;
        char b64[64];
        sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)plain + at, take,
                          sodium_base64_VARIANT_ORIGINAL);
        used += (size_t)snprintf(out + used, size - used, "%s=?UTF-8?B?%s?=", at ? "\r\n " : "", b64);
        at += take;
    }
}
