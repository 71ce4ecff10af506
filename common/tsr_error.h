/* tsr_error: the error every layer fills and the gateway turns into an API error.
 * A function that fails returns -1 and fills a tsr_error_t; nothing is lost between layers. */
#ifndef TSR_ERROR_H
#define TSR_ERROR_H

#include <stddef.h>

/* Same numbering as tsr.Status in proto/envelope.proto. */
typedef enum {
    TSR_OK = 0,
    TSR_E_INVALID = 1,
    TSR_E_UNAUTHENTICATED = 2,
    TSR_E_FORBIDDEN = 3,
    TSR_E_NOT_FOUND = 4,
    TSR_E_CONFLICT = 5,
    TSR_E_UNPROCESSABLE = 6,
    TSR_E_UNAVAILABLE = 7,
    TSR_E_INTERNAL = 8,
    TSR_E_TOO_LARGE = 9,
} tsr_status_t;

typedef struct {
    tsr_status_t status;
    char code[64];     /* snake_case, stable */
    char message[512]; /* a sentence a person can act on */
    char field[128];   /* the field at fault, or "" */
    char sqlstate[6];  /* the database's SQLSTATE when it caused the failure, or "" */
} tsr_error_t;

/* Fills err (if not NULL) and returns -1, so callers can `return tsr_error_set(...)`. */
int tsr_error_set(tsr_error_t *err, tsr_status_t status, const char *code, const char *field, const char *fmt,
                  ...) __attribute__((format(printf, 5, 6)));
void tsr_error_clear(tsr_error_t *err);
int tsr_status_http(tsr_status_t status);
const char *tsr_status_reason(tsr_status_t status);

#endif
