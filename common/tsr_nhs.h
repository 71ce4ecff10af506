/* tsr_nhs: NHS numbers: ten digits whose last is a modulus-11 check digit over the first nine.
 * Used wherever one enters the system (a person's record, a CP-IS notification). */
#ifndef TSR_NHS_H
#define TSR_NHS_H

#include <stddef.h>

#include "tsr_error.h"

/* Writes the ten digits of text (spaces and hyphens between groups allowed) to out (11 bytes)
 * and returns 0; or fills err naming field with what is wrong (not ten digits, all zeros, a check
 * digit of 10, a check digit that does not match) and returns -1. */
int tsr_nhs_number_normalise(const char *text, char out[11], const char *field, tsr_error_t *err);
int tsr_nhs_number_is_valid(const char *text);

#endif
