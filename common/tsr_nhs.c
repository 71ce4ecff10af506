#include "tsr_nhs.h"

#include <ctype.h>
#include <string.h>

int tsr_nhs_number_normalise(const char *text, char out[11], const char *field, tsr_error_t *err)
{
    size_t n = 0;
    for (const char *p = text; *p; p++) {
        if (isdigit((unsigned char)*p)) {
            if (n == 10)
                return tsr_error_set(err, TSR_E_INVALID, "invalid_nhs_number", field,
                                     "An NHS number has 10 digits; '%.40s' has more.", text);
            out[n++] = *p;
        } else if (*p != ' ' && *p != '-') {
            return tsr_error_set(err, TSR_E_INVALID, "invalid_nhs_number", field,
                                 "An NHS number is 10 digits, like 943 476 5919; '%.40s' is not.", text);
        }
    }
    out[n] = '\0';
    if (n != 10)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_nhs_number", field,
                             "An NHS number has 10 digits; '%.40s' has %zu.", text, n);
    /* Ten zeros pass the check digit (a weighted sum of 0), but no NHS number is all zeros: it is what
     * a system writes for a person whose number it does not have, and it would match every such
     * record as one person. */
    if (strcmp(out, "0000000000") == 0)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_nhs_number", field,
                             "0000000000 is not an NHS number: it stands for a number not known. Record "
                             "the person's NHS number from their NHS letter or GP record, or leave it out.");
    int sum = 0;
    for (int i = 0; i < 9; i++)
        sum += (out[i] - '0') * (10 - i);
    int check = 11 - sum % 11;
    if (check == 11)
        check = 0;
    if (check == 10)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_nhs_number", field,
                             "%s is not an NHS number: no NHS number has these first nine digits (the check "
                             "digit would be 10). Check it against the person's NHS letter or GP record.",
                             out);
    if (check != out[9] - '0')
        return tsr_error_set(
            err, TSR_E_INVALID, "invalid_nhs_number", field,
            "%s is not a valid NHS number: its last digit should be %d. Check for a mistyped "
            "digit.",
            out, check);
    return 0;
}

int tsr_nhs_number_is_valid(const char *text)
{
    char digits[11];
    return tsr_nhs_number_normalise(text, digits, NULL, NULL) == 0;
}
