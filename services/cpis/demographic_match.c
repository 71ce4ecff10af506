#include "demographic_match.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tsr_error.h"
#include "tsr_nhs.h"

#define MATCH_WORDS 24
#define MATCH_WORD_MAX 101

/* The lower case of a letter of the Latin-1 Supplement or Latin Extended-A (U+00C0-U+017F), the
 * accented capitals of names in the UK (the NHS's demographics often hold names in capitals:
 * 'ZOË', 'ŁUKASZ'); any other code point as it is. */
static unsigned match__fold(unsigned cp)
{
    if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)
        return cp + 0x20;
    if (cp == 0x178)
        return 0xFF;
    if (((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177)) && cp % 2 == 0)
        return cp + 1;
    if (((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E)) && cp % 2 == 1)
        return cp + 1;
    return cp;
}

/* Up to MATCH_WORDS words of text, each lower-cased (ASCII letters, and the two-byte Latin letters
 * of match__fold; other bytes as they are). */
typedef struct {
    char words[MATCH_WORDS][MATCH_WORD_MAX];
    size_t n;
} match_words_t;

static void match__words(const char *text, match_words_t *out)
{
    for (const char *p = text ? text : ""; *p;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (*p == '\0' || out->n == MATCH_WORDS)
            break;
        size_t len = 0;
        while (*p && !isspace((unsigned char)*p)) {
            unsigned char c = (unsigned char)*p, next = (unsigned char)p[1];
            if (c >= 0xC3 && c <= 0xC5 && (next & 0xC0) == 0x80) {
                unsigned cp = match__fold(((unsigned)(c & 0x1F) << 6) | (next & 0x3F));
                if (len + 2 < MATCH_WORD_MAX) {
                    out->words[out->n][len++] = (char)(0xC0 | (cp >> 6));
                    out->words[out->n][len++] = (char)(0x80 | (cp & 0x3F));
                }
                p += 2;
                continue;
            }
            if (len + 1 < MATCH_WORD_MAX)
                out->words[out->n][len++] = (char)tolower(c);
            p++;
        }
        out->words[out->n][len] = '\0';
        out->n++;
    }
}

/* Two names equal as the national service compares them: case and spacing aside. */
static int match__same(const char *a, const char *b)
{
    match_words_t wa = {.n = 0}, wb = {.n = 0};
    match__words(a, &wa);
    match__words(b, &wb);
    if (wa.n != wb.n)
        return 0;
    for (size_t i = 0; i < wa.n; i++)
        if (strcmp(wa.words[i], wb.words[i]) != 0)
            return 0;
    return 1;
}

static int match__fail(char code[48], char *reason, size_t size, const char *c, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int match__fail(char code[48], char *reason, size_t size, const char *c, const char *fmt, ...)
{
    snprintf(code, 48, "%s", c);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, size, fmt, ap);
    va_end(ap);
    return -1;
}

int demographic_match_check(const demographic_record_t *record, const demographic_nhs_t *nhs, char code[48],
                            char *reason, size_t reason_size)
{
    char number[11];
    tsr_error_t err;
    if (record->nhs_number == NULL || record->nhs_number[0] == '\0')
        return match__fail(code, reason, reason_size, "no_nhs_number",
                           "The record has no NHS number, so the national service cannot match the plan.");
    if (tsr_nhs_number_normalise(record->nhs_number, number, "NHS number", &err) != 0)
        return match__fail(code, reason, reason_size, "invalid_nhs_number", "%s", err.message);
    if (nhs == NULL)
        return match__fail(code, reason, reason_size, "not_traced",
                           "No NHS demographics (a trace on the Personal Demographics Service) are held for "
                           "NHS number %s, so the record cannot be checked before it is sent: trace it and "
                           "record the result.",
                           number);
    if (!match__same(record->family_name, nhs->family_name))
        return match__fail(code, reason, reason_size, "family_name_mismatch",
                           "The family name on the record ('%s') is not the NHS's ('%s') for NHS number %s: "
                           "the national service would not match the plan. Record the legal name as on the "
                           "birth certificate (other names go under Other Names).",
                           record->family_name, nhs->family_name, number);
    match_words_t forenames = {.n = 0}, given = {.n = 0};
    match__words(record->given_names, &forenames);
    for (size_t i = 0; i < nhs->n_given_names; i++)
        match__words(nhs->given_names[i], &given);
    int rule = 0;
    if (forenames.n > 0 && forenames.n == given.n) {
        rule = DEMOGRAPHIC_MATCH_ALL_GIVEN_NAMES;
        for (size_t i = 0; i < given.n && rule; i++)
            if (strcmp(forenames.words[i], given.words[i]) != 0)
                rule = 0;
    }
    if (!rule && forenames.n > 0 && given.n > 0 && strcmp(forenames.words[0], given.words[0]) == 0)
        rule = DEMOGRAPHIC_MATCH_FIRST_FORENAME;
    for (size_t i = 0; !rule && forenames.n > 0 && i < given.n; i++)
        if (strcmp(forenames.words[0], given.words[i]) == 0)
            rule = DEMOGRAPHIC_MATCH_FORENAME_IN_GIVEN_NAMES;
    if (!rule) {
        char nhs_given[512] = "";
        size_t used = 0;
        for (size_t i = 0; i < nhs->n_given_names && used < sizeof(nhs_given); i++)
            used += (size_t)snprintf(nhs_given + used, sizeof(nhs_given) - used, "%s%s", i ? " " : "",
                                     nhs->given_names[i]);
        return match__fail(
            code, reason, reason_size, "given_name_mismatch",
            "The given names on the record ('%s') do not match the NHS's ('%s') for NHS number "
            "%s: neither all given names, nor the first forename as the first given name, nor "
            "the first forename as any given name. Record the legal name as on the birth "
            "certificate.",
            record->given_names ? record->given_names : "", nhs_given, number);
    }
    if (record->date_of_birth == NULL || record->date_of_birth[0] == '\0')
        return match__fail(code, reason, reason_size, "date_of_birth_missing",
                           "The record has no date of birth; the NHS has %s for NHS number %s.",
                           nhs->date_of_birth, number);
    if (strcmp(record->date_of_birth, nhs->date_of_birth) != 0)
        return match__fail(code, reason, reason_size, "date_of_birth_mismatch",
                           "The date of birth on the record (%s) is not the NHS's (%s) for NHS number %s.",
                           record->date_of_birth, nhs->date_of_birth, number);
    code[0] = '\0';
    reason[0] = '\0';
    return rule;
}
