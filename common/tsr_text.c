#include "tsr_text.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int tsr_text_is_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned c = *p++;
        if (c == 0)
            return 0;
        if (c < 0x80)
            continue;
        int more;
        unsigned cp;
        if (c >= 0xC2 && c <= 0xDF) {
            more = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            more = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            more = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (end - p < more)
            return 0;
        for (int i = 0; i < more; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        p += more;
        if ((more == 2 && cp < 0x800) || (more == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
    }
    return 1;
}

size_t tsr_text_length(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static void text__bounds(const char *s, const char **start, const char **end)
{
    *start = s ? s : "";
    while (**start && isspace((unsigned char)**start))
        (*start)++;
    *end = *start + strlen(*start);
    while (*end > *start && isspace((unsigned char)(*end)[-1]))
        (*end)--;
}

size_t tsr_text_trimmed_length(const char *s)
{
    const char *start, *end;
    text__bounds(s, &start, &end);
    return (size_t)(end - start);
}

char *tsr_text_trim_dup(const char *s)
{
    const char *start, *end;
    text__bounds(s, &start, &end);
    return strndup(start, (size_t)(end - start));
}

int tsr_text_has_control(const char *s, int allow_newlines)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (allow_newlines && (c == '\n' || c == '\r' || c == '\t'))
            continue;
        if (c < 0x20 || c == 0x7F)
            return 1;
    }
    return 0;
}

int tsr_text_is_telephone(const char *s)
{
    int digits = 0;
    for (const char *p = s; *p; p++) {
        if (isdigit((unsigned char)*p))
            digits++;
        else if (*p == '+' && p != s)
            return 0;
        else if (!strchr(" +()-", *p))
            return 0;
    }
    return digits >= 6 && digits <= 20;
}

int tsr_text_is_email(const char *s)
{
    const char *at = strchr(s, '@');
    if (at == NULL || at == s || strchr(at + 1, '@') != NULL || strlen(s) > 254)
        return 0;
    for (const char *p = s; *p; p++)
        if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
            return 0;
    const char *domain = at + 1;
    const char *dot = strrchr(domain, '.');
    return dot != NULL && dot != domain && dot[1] != '\0' && strstr(domain, "..") == NULL && domain[0] != '.';
}

int tsr_text_is_hex(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!isxdigit((unsigned char)s[n]))
            return 0;
    return n > 0 && n % 2 == 0;
}

char *tsr_text_like_pattern(const char *s)
{
    size_t len = strlen(s);
    char *out = malloc(len * 2 + 3);
    if (out == NULL)
        return NULL;
    char *o = out;
    *o++ = '%';
    for (const char *p = s; *p; p++) {
        if (*p == '%' || *p == '_' || *p == '\\')
            *o++ = '\\';
        *o++ = *p;
    }
    *o++ = '%';
    *o = '\0';
    return out;
}

int tsr_text_check_date(const char *text, int not_future, const char *field, tsr_error_t *err)
{
    int y = 0, m = 0, d = 0;
    int shape = strlen(text) == 10 && text[4] == '-' && text[7] == '-';
    for (int i = 0; shape && i < 10; i++)
        shape = i == 4 || i == 7 || isdigit((unsigned char)text[i]);
    if (shape) {
        y = atoi(text);
        m = atoi(text + 5);
        d = atoi(text + 8);
    }
    /* A date that does not exist (31 February) comes back from timegm as another day. */
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12};
    time_t t = timegm(&tm);
    struct tm back;
    gmtime_r(&t, &back);
    if (!shape || m < 1 || m > 12 || back.tm_mday != d || back.tm_mon != m - 1 || back.tm_year != y - 1900)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_date", field,
                             "'%s' must be a real date like 2015-03-21.", field);
    if (not_future) {
        time_t now = time(NULL);
        struct tm today;
        localtime_r(&now, &today);
        if (y * 10000 + m * 100 + d >
            (today.tm_year + 1900) * 10000 + (today.tm_mon + 1) * 100 + today.tm_mday)
            return tsr_error_set(err, TSR_E_INVALID, "date_in_future", field, "'%s' cannot be in the future.",
                                 field);
    }
    return 0;
}
