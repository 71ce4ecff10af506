/* demographic_match: the check a plan record passes before it goes in an upload file, made the way
 * the national CP-IS service matches a record to the NHS's demographics (NHS Digital's CP-IS
 * specification): the NHS number valid, the family name equal, the given names by the cascade (all
 * given names exact, else the first forename equal to the first given name, else the first
 * forename equal to any given name), the date of birth equal. A mismatch caught here goes to the
 * error queue instead of failing silently at the national service. Names compare without regard to
 * letter case or runs of spaces. */
#ifndef CPIS_DEMOGRAPHIC_MATCH_H
#define CPIS_DEMOGRAPHIC_MATCH_H

#include <stddef.h>

/* What the child's record says. */
typedef struct {
    const char *nhs_number;
    const char *family_name;
    const char *given_names;   /* as recorded, space-separated; the first is the first forename */
    const char *date_of_birth; /* YYYY-MM-DD, or "" when not recorded */
} demographic_record_t;

/* What the NHS holds for the number (a PDS trace). */
typedef struct {
    const char *family_name;
    const char *const *given_names; /* in order; each may hold several words */
    size_t n_given_names;
    const char *date_of_birth;
} demographic_nhs_t;

typedef enum {
    DEMOGRAPHIC_MATCH_ALL_GIVEN_NAMES = 1,
    DEMOGRAPHIC_MATCH_FIRST_FORENAME = 2,
    DEMOGRAPHIC_MATCH_FORENAME_IN_GIVEN_NAMES = 3,
} demographic_rule_t;

/* The rule the given names matched by (> 0), or -1 with code (e.g. family_name_mismatch) and a
 * reason in words naming both sides. nhs may be NULL (no trace held): not_traced. */
int demographic_match_check(const demographic_record_t *record, const demographic_nhs_t *nhs, char code[48],
                            char *reason, size_t reason_size);

#endif
