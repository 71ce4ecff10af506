#include "tsr_text.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The length of the well-formed UTF-8 sequence at p (not a NUL, no overlong, no surrogate), or 0;
 * its code point at *code_point. */
static size_t tsr_text__utf8_sequence(const unsigned char *p, const unsigned char *end, unsigned *code_point)
{
    unsigned c = *p++;
    *code_point = c;
    if (c == 0)
        return 0;
    if (c < 0x80)
        return 1;
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
    if ((more == 2 && cp < 0x800) || (more == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    *code_point = cp;
    return (size_t)more + 1;
}

int tsr_text_is_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    unsigned cp;
    while (p < end) {
        size_t n = tsr_text__utf8_sequence(p, end, &cp);
        if (n == 0)
            return 0;
        p += n;
    }
    return 1;
}

/* Whether cp is a Unicode noncharacter: U+FDD0 to U+FDEF, and the last two code points of every plane
 * (U+FFFE, U+FFFF, U+1FFFE, ... U+10FFFF). Unicode keeps them for a program's own use, never for
 * text that is passed on: XML refuses U+FFFE and U+FFFF, so one in a spreadsheet's cell leaves the
 * whole workbook unreadable. */
static int text__is_noncharacter(unsigned cp)
{
    return (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;
}

/* A character that is never text (a C0 control, DEL, a C1 control, a noncharacter); allow_newlines
 * lets \n, \r and \t through. */
static int text__is_non_text(unsigned cp, int allow_newlines)
{
    if (allow_newlines && (cp == '\n' || cp == '\r' || cp == '\t'))
        return 0;
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || text__is_noncharacter(cp);
}

/* The len bytes of s, each byte that is not part of well-formed UTF-8 (and, with non_text, each
 * character that is never text but a tab or a line break) as U+FFFD, cut on a character's boundary
 * to at most max_bytes; malloc'd, NULL when out of memory. */
static char *text__repair(const char *s, size_t len, size_t max_bytes, int non_text)
{
    /* Each replaced byte or character becomes three bytes at most (U+FFFD is EF BF BD). */
    size_t cap = (len < max_bytes ? len : max_bytes) * 3 + 1;
    char *out = malloc(cap), *o = out;
    if (out == NULL)
        return NULL;
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned cp;
        size_t n = tsr_text__utf8_sequence(p, end, &cp);
        int keep = n > 0 && !(non_text && text__is_non_text(cp, 1));
        size_t w = keep ? n : 3;
        if ((size_t)(o - out) + w > max_bytes)
            break;
        if (keep)
            memcpy(o, p, n);
        else
            memcpy(o, "\xEF\xBF\xBD", 3);
        p += n ? n : 1;
        o += w;
    }
    *o = '\0';
    return out;
}

char *tsr_text_utf8_repair(const char *s, size_t len, size_t max_bytes)
{
    return text__repair(s, len, max_bytes, 0);
}

char *tsr_text_replace_non_text(const char *s)
{
    size_t len = strlen(s);
    return text__repair(s, len, len * 3, 1);
}

void tsr_text_utf8_clean(char *s)
{
    unsigned char *p = (unsigned char *)s, *end = p + strlen(s), *o = p;
    unsigned cp;
    while (p < end) {
        size_t n = tsr_text__utf8_sequence(p, end, &cp);
        if (n == 0) {
            p++;
            continue;
        }
        memmove(o, p, n);
        o += n;
        p += n;
    }
    *o = '\0';
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

int tsr_text_first_control(const char *s, int allow_newlines)
{
    const unsigned char *p = (const unsigned char *)(s ? s : ""), *end = p + strlen((const char *)p);
    while (p < end) {
        unsigned cp;
        size_t n = tsr_text__utf8_sequence(p, end, &cp);
        /* A byte that is not UTF-8 is tsr_text_is_utf8's to refuse; the bytes after it are read on. */
        if (n > 0 && text__is_non_text(cp, allow_newlines))
            return (int)cp;
        p += n ? n : 1;
    }
    return -1;
}

int tsr_text_has_control(const char *s, int allow_newlines)
{
    return tsr_text_first_control(s, allow_newlines) >= 0;
}

const char *tsr_text_control_words(int cp, char *buf, size_t size)
{
    if (cp == '\t')
        return "a tab";
    if (cp == '\n' || cp == '\r')
        return "a line break";
    if (cp >= 0 && text__is_noncharacter((unsigned)cp))
        snprintf(buf, size, "U+%04X, which is not a character", (unsigned)cp);
    else
        snprintf(buf, size, "a control character (U+%04X)", (unsigned)cp);
    return buf;
}

int tsr_text_check_characters(const char *s, int allow_newlines, const char *field, const char *title,
                              tsr_error_t *err)
{
    int cp = tsr_text_first_control(s, allow_newlines);
    if (cp < 0)
        return 0;
    char buf[48];
    return tsr_error_set(err, TSR_E_INVALID, "invalid_characters", field, "%s holds %s: take it out.", title,
                         tsr_text_control_words(cp, buf, sizeof(buf)));
}

int tsr_text_has_invisible(const char *s)
{
    /* As UTF-8: U+061C, U+200B, U+200E and U+200F, U+202A to U+202E, U+2060, U+2066 to U+2069, U+FEFF.
     * The zero-width joiners (U+200C, U+200D) some scripts spell names with are let through. */
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        if (p[0] == 0xD8 && p[1] == 0x9C)
            return 1;
        if (p[0] == 0xE2 && p[1] == 0x80 &&
            (p[2] == 0x8B || p[2] == 0x8E || p[2] == 0x8F || (p[2] >= 0xAA && p[2] <= 0xAE)))
            return 1;
        if (p[0] == 0xE2 && p[1] == 0x81 && (p[2] == 0xA0 || (p[2] >= 0xA6 && p[2] <= 0xA9)))
            return 1;
        if (p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
            return 1;
    }
    return 0;
}

void tsr_text_check_reason(const char *reason, const tsr_reason_t *reasons, const char *explanation,
                           const char *what, tsr_error_t *err)
{
    /* The codes as a sentence ends them: "a, b or c". */
    char choices[256] = "";
    size_t n = 0, count = 0;
    int known = 0;
    while (reasons[count].code != NULL)
        count++;
    for (size_t i = 0; i < count; i++) {
        known = known || strcmp(reasons[i].code, reason) == 0;
        n += (size_t)snprintf(choices + n, n < sizeof(choices) ? sizeof(choices) - n : 0, "%s%s",
                              i == 0           ? ""
                              : i + 1 == count ? " or "
                                               : ", ",
                              reasons[i].code);
        if (n >= sizeof(choices))
            n = sizeof(choices) - 1;
    }
    if (reason[0] == '\0')
        tsr_error_add(err, TSR_E_INVALID, "missing_field", "reason", "Say why the %s is being taken out: %s.",
                      what, choices);
    else if (!known)
        tsr_error_add(err, TSR_E_INVALID, "invalid_reason", "reason",
                      "'%.60s' is not a reason to take out a %s: use %s.", reason, what, choices);
    if (tsr_text_length(explanation) > 1000)
        tsr_error_add(err, TSR_E_INVALID, "too_long", "explanation",
                      "The explanation must be 1,000 characters or fewer.");
    else if (tsr_text_has_control(explanation, 1))
        tsr_error_add(err, TSR_E_INVALID, "invalid_text", "explanation",
                      "The explanation holds a control character; type it again.");
    else if (strcmp(reason, "other") == 0 && tsr_text_trimmed_length(explanation) == 0)
        tsr_error_add(err, TSR_E_INVALID, "missing_field", "explanation",
                      "Explain how the %s was recorded in error.", what);
}

const char *tsr_text_reason_words(const tsr_reason_t *reasons, const char *code)
{
    for (const tsr_reason_t *r = reasons; r->code != NULL; r++)
        if (strcmp(r->code, code) == 0)
            return r->words;
    return "recorded in error";
}

void tsr_text_local_time(int64_t ms, const char *fmt, char *out, size_t size)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    if (strftime(out, size, fmt, &tm) == 0 && size > 0)
        out[0] = '\0';
}

/* The length of an extension written after a number (" ext 123", " ext. 123", " extension 123",
 * " x123"), from its leading space to the end; 0 when s does not end in one. */
static size_t text__extension(const char *s)
{
    size_t n = strlen(s), i = n;
    while (i > 0 && isdigit((unsigned char)s[i - 1]))
        i--;
    if (i == n || n - i > 6)
        return 0;
    while (i > 0 && s[i - 1] == ' ')
        i--;
    static const char *const words[] = {"extension", "ext.", "ext", "x"};
    for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
        size_t len = strlen(words[w]);
        if (i > len && strncasecmp(s + i - len, words[w], len) == 0 && s[i - len - 1] == ' ')
            return n - (i - len - 1);
    }
    return 0;
}

int tsr_text_is_telephone(const char *s)
{
    /* A UK number with its area code (10 or 11 digits from its 0), the same as +44 or 0044 (9 or 10
     * digits after the 44, an optional (0) before them), or another country's with its + or 00
     * (E.164: at most 15 digits); grouped by single spaces or hyphens, one pair of brackets, an
     * extension at the end. Anything else is a number a person could not ring back. */
    size_t len = strlen(s);
    if (len == 0 || len > 60)
        return 0;
    len -= text__extension(s);
    char digits[61];
    size_t n = 0, trunk = 0; /* trunk: digits in the number where a "(0)" was written */
    int open = 0, brackets = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i], prev = i > 0 ? s[i - 1] : '\0';
        if (isdigit((unsigned char)c)) {
            digits[n++] = c;
        } else if (c == '+') {
            if (i != 0)
                return 0;
        } else if (c == '(') {
            if (open || brackets++)
                return 0;
            open = 1;
            if (strncmp(s + i, "(0)", 3) == 0)
                trunk = n + 1;
        } else if (c == ')') {
            if (!open || !isdigit((unsigned char)prev))
                return 0;
            open = 0;
        } else if (c == ' ' || c == '-') {
            if (i == 0 || !(isdigit((unsigned char)prev) || prev == ')' || (c == ' ' && prev == ' ')))
                return 0;
        } else {
            return 0;
        }
    }
    if (open || n == 0 || !isdigit((unsigned char)s[len - 1]))
        return 0;
    digits[n] = '\0';
    const char *d = digits;
    int international = s[0] == '+';
    if (!international && strncmp(d, "00", 2) == 0) {
        international = 1;
        d += 2;
    }
    if (!international)
        return d[0] == '0' && (n == 10 || n == 11);
    size_t rest = strlen(d);
    if (strncmp(d, "44", 2) == 0) {
        /* +44 (0)20 7974 4444: the trunk 0 is written in brackets, or not at all. */
        size_t skip = 2;
        if (trunk != 0) {
            if (trunk != (size_t)(d - digits) + 3)
                return 0;
            skip = 3;
        }
        return d[skip] != '0' && (rest - skip == 9 || rest - skip == 10);
    }
    /* +33 (0)1 23 45 67 89: a trunk 0 after the country code is not dialled from abroad. */
    if (trunk != 0 && trunk - 1 <= (size_t)(d - digits))
        return 0;
    if (trunk != 0)
        rest--;
    return d[0] != '0' && rest >= 7 && rest <= 15;
}

/* A character allowed in an address's local part unquoted (RFC 5322 atext), or any byte of a
 * non-ASCII character (RFC 6531). */
static int text__email_local_char(unsigned char c)
{
    return isalnum(c) || c >= 0x80 || strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL;
}

/* Whether s holds a character that shows as nothing or as a space: a no-break space (U+00A0), a
 * soft hyphen (U+00AD), the zero-widths and directional marks (U+200B..U+200F), the line and paragraph
 * separators and embeddings (U+2028..U+202F), the word joiner and invisible operators
 * (U+2060..U+206F), and the byte-order mark (U+FEFF). An address pasted with one looks right and
 * cannot be used. */
static int text__has_invisible(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (p[0] == 0xC2 && (p[1] == 0xA0 || p[1] == 0xAD))
            return 1;
        if (p[0] == 0xE2 && p[1] == 0x80 && p[2] != 0 &&
            ((p[2] >= 0x8B && p[2] <= 0x8F) || (p[2] >= 0xA8 && p[2] <= 0xAF)))
            return 1;
        if (p[0] == 0xE2 && p[1] == 0x81 && p[2] >= 0xA0 && p[2] <= 0xAF)
            return 1;
        if (p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
            return 1;
    }
    return 0;
}

int tsr_text_is_email(const char *s)
{
    /* The addresses a person types: local@domain, the local part of atext characters in dotted
     * words (no quoted forms), the domain of labels of letters, digits and hyphens (not at a label's
     * ends), the last of them not all digits. */
    const char *at = strchr(s, '@');
    if (at == NULL || at == s || (size_t)(at - s) > 64 || strlen(s) > 254)
        return 0;
    for (const char *p = s; p < at; p++) {
        if (*p == '.') {
            if (p == s || p[1] == '.' || p + 1 == at)
                return 0;
        } else if (!text__email_local_char((unsigned char)*p)) {
            return 0;
        }
    }
    const char *label = at + 1;
    int labels = 0, all_digits = 1;
    for (const char *p = label;; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '.' || c == '\0') {
            size_t n = (size_t)(p - label);
            if (n == 0 || n > 63 || label[0] == '-' || p[-1] == '-')
                return 0;
            labels++;
            if (c == '\0')
                break;
            label = p + 1;
            all_digits = 1;
        } else if (isalnum(c) || c == '-' || c >= 0x80) {
            all_digits &= isdigit(c) != 0;
        } else {
            return 0;
        }
    }
    /* The top-level domain: at least two characters, not a number; written in ASCII, letters only
     * (x@y.c0m is a slip) unless it is an internationalised one's xn-- form. */
    if (labels < 2 || all_digits || strlen(label) < 2)
        return 0;
    int ascii = 1;
    for (const char *p = label; *p; p++)
        ascii &= (*p & 0x80) == 0;
    if (ascii && strncasecmp(label, "xn--", 4) != 0)
        for (const char *p = label; *p; p++)
            if (!isalpha((unsigned char)*p))
                return 0;
    return !text__has_invisible(at + 1);
}

int tsr_text_is_id(const char *s)
{
    size_t n = strspn(s, "0123456789");
    if (n == 0 || n != strlen(s) || n > 19 || strspn(s, "0") == n)
        return 0;
    /* 19 digits: no more than bigint's largest, compared as text of the same length. */
    return n < 19 || strcmp(s, "9223372036854775807") <= 0;
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

char *tsr_text_array_literal(const char *const *items, size_t n)
{
    size_t len = 3;
    for (size_t i = 0; i < n; i++)
        len += items[i] ? strlen(items[i]) * 2 + 3 : 5;
    char *out = malloc(len);
    if (out == NULL)
        return NULL;
    char *o = out;
    *o++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            *o++ = ',';
        if (items[i] == NULL) {
            memcpy(o, "NULL", 4);
            o += 4;
            continue;
        }
        *o++ = '"';
        for (const char *p = items[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                *o++ = '\\';
            *o++ = *p;
        }
        *o++ = '"';
    }
    *o++ = '}';
    *o = '\0';
    return out;
}

int tsr_text_array_columns(const char *const *cells, size_t rows, size_t columns, char **out)
{
    for (size_t c = 0; c < columns; c++) {
        out[c] = tsr_text_array_literal(cells + c * rows, rows);
        if (out[c] == NULL) {
            while (c > 0)
                free(out[--c]);
            return -1;
        }
    }
    return 0;
}

int tsr_text_digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i]))
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

int tsr_text_date_parts(const char *text, int *y, int *m, int *d)
{
    static const int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strnlen(text, 10) < 10 || text[4] != '-' || text[7] != '-')
        return -1;
    *y = tsr_text_digits(text, 4);
    *m = tsr_text_digits(text + 5, 2);
    *d = tsr_text_digits(text + 8, 2);
    /* There is no year 0 (1 BC precedes AD 1): PostgreSQL refuses 0000-01-01. */
    if (*y < 1 || *m < 1 || *m > 12 || *d < 1 || *d > month_days[*m - 1])
        return -1;
    int leap = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
    return *m == 2 && *d == 29 && !leap ? -1 : 0;
}

/* A field's name as a person reads it in a message: "legal_name.date_of_birth" as "Date of birth". */
static void text__field_words(const char *field, char *out, size_t size)
{
    static const char *const said_otherwise[][2] = {
        {"dob", "Date of birth"}, {"on", "The date"}, {"dbs_checked_on", "The date of the DBS check"}};
    const char *last = strrchr(field, '.');
    last = last ? last + 1 : field;
    for (size_t i = 0; i < sizeof(said_otherwise) / sizeof(said_otherwise[0]); i++)
        if (strcmp(last, said_otherwise[i][0]) == 0) {
            snprintf(out, size, "%s", said_otherwise[i][1]);
            return;
        }
    snprintf(out, size, "%s", last);
    for (char *c = out; *c; c++)
        if (*c == '_')
            *c = ' ';
    if (out[0] >= 'a' && out[0] <= 'z')
        out[0] = (char)(out[0] - 'a' + 'A');
}

static char *text__put_digits(char *o, int value, int n)
{
    for (int i = n - 1; i >= 0; i--, value /= 10)
        o[i] = (char)('0' + value % 10);
    return o + n;
}

/* YYYY-MM-DD, or with day_first DD/MM/YYYY, of a day of the years 1 to 9999, at out. */
static void text__date_write(int y, int m, int d, int day_first, char out[11])
{
    char sep = day_first ? '/' : '-';
    char *o = day_first ? text__put_digits(out, d, 2) : text__put_digits(out, y, 4);
    *o++ = sep;
    o = text__put_digits(o, m, 2);
    *o++ = sep;
    o = day_first ? text__put_digits(o, y, 4) : text__put_digits(o, d, 2);
    *o = '\0';
}

void tsr_text_today(char out[11])
{
    time_t now = time(NULL);
    struct tm today;
    localtime_r(&now, &today);
    text__date_write(today.tm_year + 1900, today.tm_mon + 1, today.tm_mday, 0, out);
}

int tsr_text_date_add_days(const char *date, int days, char out[11])
{
    int y, m, d;
    out[0] = '\0';
    if (strlen(date) != 10 || tsr_text_date_parts(date, &y, &m, &d) != 0)
        return -1;
    /* Counted in UTC, where no day is shortened or lengthened by a change of the clocks: timegm carries
     * a day of the month past its end into the months after (or, below 1, before). */
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d + days;
    time_t t = timegm(&tm);
    struct tm day;
    if (gmtime_r(&t, &day) == NULL || day.tm_year + 1900 < 1 || day.tm_year + 1900 > 9999)
        return -1;
    text__date_write(day.tm_year + 1900, day.tm_mon + 1, day.tm_mday, 0, out);
    return 0;
}

int tsr_text_date_display(const char *date, char out[11])
{
    int y, m, d;
    out[0] = '\0';
    if (strlen(date) != 10 || tsr_text_date_parts(date, &y, &m, &d) != 0)
        return -1;
    text__date_write(y, m, d, 1, out);
    return 0;
}

void tsr_text_in_sentence(const char *title, char *out, size_t size)
{
    static const char *const no_article[] = {"a",    "an",    "the",  "their", "his",   "her",
                                             "its",  "our",   "your", "what",  "which", "who",
                                             "whom", "whose", "why",  "when",  "where", "how"};
    size_t word = strcspn(title, " /(-,:");
    int article = word > 0;
    for (size_t i = 0; i < sizeof(no_article) / sizeof(no_article[0]); i++)
        if (strlen(no_article[i]) == word && strncasecmp(title, no_article[i], word) == 0)
            article = 0;
    int lower = isupper((unsigned char)title[0]) && islower((unsigned char)title[1]);
    snprintf(out, size, "%s%c%s", article ? "the " : "", lower ? tolower((unsigned char)title[0]) : title[0],
             title[0] ? title + 1 : "");
}

void tsr_text_ask_for(const char *type, const char *title, char *out, size_t size)
{
    static const char *const choices[] = {"picklist", "multi-picklist", "worker", "boolean"};
    const char *verb = "Enter";
    for (size_t i = 0; i < sizeof(choices) / sizeof(choices[0]); i++)
        if (type && strcmp(type, choices[i]) == 0)
            verb = "Select";
    char named[400];
    tsr_text_in_sentence(title, named, sizeof(named));
    snprintf(out, size, "%s %s", verb, named);
}

int tsr_text_check_date(const char *text, int not_future, const char *field, tsr_error_t *err)
{
    int y, m, d;
    char words[64];
    text__field_words(field, words, sizeof(words));
    if (strlen(text) != 10 || tsr_text_date_parts(text, &y, &m, &d) != 0)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_date", field,
                             "%s must be a real date like 2015-03-21.", words);
    char today[11];
    tsr_text_today(today);
    if (not_future && strcmp(text, today) > 0)
        return tsr_error_set(err, TSR_E_INVALID, "date_in_future", field, "%s must be today or in the past.",
                             words);
    return 0;
}

int tsr_text_check_not_before(const char *iso, const char *not_before, const char *field, const char *title,
                              tsr_error_t *err)
{
    if (not_before == NULL || strncmp(iso, not_before, 10) >= 0)
        return 0;
    int y, m, d;
    static const char *const months[] = {"January",   "February", "March",    "April",
                                         "May",       "June",     "July",     "August",
                                         "September", "October",  "November", "December"};
    if (tsr_text_date_parts(not_before, &y, &m, &d) != 0)
        return tsr_error_set(err, TSR_E_INVALID, "date_too_early", field, "%s is too long ago.", title);
    return tsr_error_set(err, TSR_E_INVALID, "date_too_early", field, "%s cannot be before %d %s %d.", title,
                         d, months[m - 1], y);
}

int tsr_text_check_datetime(const char *text, int not_future, const char *not_before, const char *field,
                            const char *title, tsr_error_t *err)
{
    int64_t ms;
    if (tsr_text_datetime_parse(text, &ms) != 0)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_datetime", field,
                             "%s must be a date and time such as 2022-11-25T13:57:00Z.", title);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (not_future && ms > (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 + 60000)
        return tsr_error_set(err, TSR_E_INVALID, "date_in_future", field, "%s must be in the past.", title);
    char utc[TSR_TEXT_UTC_MS_LEN + 1];
    tsr_text_utc_ms(ms, utc);
    return tsr_text_check_not_before(utc, not_before, field, title, err);
}

size_t tsr_text_utc_ms(int64_t ms, char *out)
{
    /* Floor division: a time before 1970 is the second before it plus a positive fraction. */
    int64_t seconds = ms >= 0 ? ms / 1000 : -((999 - ms) / 1000);
    time_t t = (time_t)seconds;
    struct tm tm;
    gmtime_r(&t, &tm);
    char *o = text__put_digits(out, tm.tm_year + 1900, 4);
    *o++ = '-';
    o = text__put_digits(o, tm.tm_mon + 1, 2);
    *o++ = '-';
    o = text__put_digits(o, tm.tm_mday, 2);
    *o++ = 'T';
    o = text__put_digits(o, tm.tm_hour, 2);
    *o++ = ':';
    o = text__put_digits(o, tm.tm_min, 2);
    *o++ = ':';
    o = text__put_digits(o, tm.tm_sec, 2);
    *o++ = '.';
    o = text__put_digits(o, (int)(ms - seconds * 1000), 3);
    *o++ = 'Z';
    *o = '\0';
    return (size_t)(o - out);
}

int tsr_text_datetime_parse(const char *text, int64_t *ms)
{
    /* Read by position: a CP-IS part has two of these a notification, and sscanf cost more than the
     * rest of the notification's checks. */
    int y, mo, d;
    if (strnlen(text, 16) < 16 || (text[10] != 'T' && text[10] != 't') || text[13] != ':' ||
        tsr_text_date_parts(text, &y, &mo, &d) != 0)
        return -1;
    int h = tsr_text_digits(text + 11, 2), mi = tsr_text_digits(text + 14, 2), s = 0;
    if (h < 0 || h > 23 || mi < 0 || mi > 59)
        return -1;
    const char *p = text + 16;
    if (*p == ':') {
        if ((s = tsr_text_digits(p + 1, 2)) < 0 || s > 60)
            return -1;
        p += 3;
        if (*p == '.') {
            p++;
            if (!isdigit((unsigned char)*p))
                return -1;
            while (isdigit((unsigned char)*p))
                p++;
        }
    }
    int offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && strnlen(p, 7) == 6 && p[3] == ':') {
        int oh = tsr_text_digits(p + 1, 2), om = tsr_text_digits(p + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return -1;
        offset_min = (*p == '-' ? -1 : 1) * (oh * 60 + om);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    /* Days from the civil date (Howard Hinnant's algorithm), so no time zone of the process is used. */
    int yy = mo <= 2 ? y - 1 : y;
    int era = (yy >= 0 ? yy : yy - 399) / 400;
    int yoe = yy - era * 400;
    int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = (int64_t)era * 146097 + doe - 719468;
    *ms = ((days * 86400) + h * 3600 + mi * 60 + s - offset_min * 60) * 1000;
    return 0;
}

int64_t tsr_text_datetime_ms(const char *text)
{
    int64_t ms;
    return tsr_text_datetime_parse(text, &ms) == 0 && ms >= 0 ? ms : -1;
}

char *tsr_text_csv_field(const char *s)
{
    /* A cell that a spreadsheet would take for a formula (=, +, -, @) is written as text, so that a
     * name typed into a form can never run as one when the file is opened. */
    int formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r';
    int quote =
        formula || strpbrk(s, ",\"\r\n") != NULL || (s[0] == ' ' || (s[0] && s[strlen(s) - 1] == ' '));
    if (!quote)
        return strdup(s);
    size_t len = strlen(s);
    char *out = malloc(len * 2 + 4), *o = out;
    if (out == NULL)
        return NULL;
    *o++ = '"';
    if (formula)
        *o++ = '\'';
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            *o++ = '"';
        *o++ = *p;
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

int tsr_text_page_limit(uint32_t asked, uint32_t fallback, uint32_t max, uint32_t *limit, tsr_error_t *err)
{
    *limit = asked ? asked : fallback;
    if (*limit > max)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_limit", "limit", "limit must be from 1 to %u.",
                             max);
    return 0;
}

int tsr_text_page(uint32_t asked, const char *cursor, uint32_t fallback, uint32_t max, tsr_text_page_t *page,
                  tsr_error_t *err)
{
    uint64_t before;
    memset(page, 0, sizeof(*page));
    if (tsr_text_page_limit(asked, fallback, max, &page->limit, err) != 0 ||
        tsr_text_cursor_id(cursor, &before, err) != 0)
        return -1;
    snprintf(page->before, sizeof(page->before), "%" PRIu64, before);
    page->before_text = before ? page->before : NULL;
    snprintf(page->fetch_text, sizeof(page->fetch_text), "%u", page->limit + 1);
    return 0;
}

int tsr_text_cursor_id(const char *cursor, uint64_t *after, tsr_error_t *err)
{
    *after = 0;
    if (cursor == NULL || cursor[0] == '\0')
        return 0;
    if (!tsr_text_is_id(cursor))
        return tsr_error_set(err, TSR_E_INVALID, "invalid_cursor", "cursor",
                             "The cursor is not one this service gave out; start again without it.");
    *after = strtoull(cursor, NULL, 10);
    return 0;
}

int tsr_text_cursor_offset(const char *cursor, unsigned long max, unsigned long *offset, tsr_error_t *err)
{
    *offset = 0;
    if (cursor == NULL || cursor[0] == '\0')
        return 0;
    if (strspn(cursor, "0123456789") != strlen(cursor) || strlen(cursor) > 9 ||
        (*offset = strtoul(cursor, NULL, 10)) == 0 || *offset >= max) {
        *offset = 0;
        return tsr_error_set(err, TSR_E_INVALID, "invalid_cursor", "cursor",
                             "The cursor is not one this service gave out; start again without it.");
    }
    return 0;
}

int tsr_text_compare_ptrs(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int tsr_text_sorted_has(char *const *items, size_t n, const char *key)
{
    return n > 0 && bsearch(&key, items, n, sizeof(items[0]), tsr_text_compare_ptrs) != NULL;
}

void tsr_text_sorted_insert(char **items, size_t n, const char *key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(items[mid], key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(&items[lo + 1], &items[lo], (n - lo) * sizeof(items[0]));
    items[lo] = (char *)key;
}

/* The optimal string alignment distance (Levenshtein's, with two neighbours swapped counting as one
 * edit), letters compared in either case; words of up to 63 bytes, longer ones are far from all. */
static size_t text__distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return SIZE_MAX;
    size_t d[64][64];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int same = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]);
            size_t best = d[i - 1][j - 1] + !same;
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == tolower((unsigned char)b[j - 1]) &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

const char *tsr_text_nearest(const char *word, const char *const *choices, size_t n)
{
    /* Two edits at most, and fewer than a third of the word: 'db' is not a slip for 'dir'. */
    size_t limit = strlen(word) / 3;
    if (limit > 2)
        limit = 2;
    const char *nearest = NULL;
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t d = text__distance(word, choices[i]);
        if (d < best) {
            best = d;
            nearest = choices[i];
        }
    }
    return best <= limit ? nearest : NULL;
}
