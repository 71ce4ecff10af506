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
    TSR_E_UNSUPPORTED_MEDIA = 10, /* a body not sent as JSON */
} tsr_status_t;

/* One fault of an input checked whole: a form's field, say. */
#define TSR_ERROR_FAULTS_MAX 8
typedef struct {
    tsr_status_t status;
    char code[64];
    char message[512];
    char field[128];
} tsr_fault_t;

typedef struct {
    tsr_status_t status;
    char code[64];     /* snake_case, stable */
    char message[512]; /* a sentence a person can act on */
    char field[128];   /* the field at fault, or "" */
    char sqlstate[6];  /* the database's SQLSTATE when it caused the failure, or "" */
    /* A call to another daemon that failed before its request left (the daemon down, the caller
     * stopping): nothing it asked can have been done. 0 for every other error, including a call that
     * went unanswered, whose daemon may have done it. Set by tsr_client; not sent over the bus. */
    int not_sent;
    /* Where an input checked whole had several faults (tsr_error_gather): every one of them, in the
     * order found, the error above being one of them. 0 when that error is the only fault. A person
     * correcting a form is told of each field at once, not one a try. */
    size_t n_faults;
    tsr_fault_t faults[TSR_ERROR_FAULTS_MAX];
} tsr_error_t;

/* Fills err (if not NULL) and returns -1, so callers can `return tsr_error_set(...)`. */
int tsr_error_set(tsr_error_t *err, tsr_status_t status, const char *code, const char *field, const char *fmt,
                  ...) __attribute__((format(printf, 5, 6)));
void tsr_error_clear(tsr_error_t *err);
/* Adds the fault one holds (its error, as tsr_error_set left it) to those gathered in all, after
 * the TSR_ERROR_FAULTS_MAX first only. all starts cleared (tsr_error_clear). */
void tsr_error_gather(tsr_error_t *all, const tsr_error_t *one);
/* The same for a fault stated here (tsr_error_set's arguments). */
void tsr_error_add(tsr_error_t *all, tsr_status_t status, const char *code, const char *field,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Ends a gathering: all's error becomes the first fault of bad input (400), else the first fault,
 * with every fault kept in faults when there were several. -1 when any was gathered, else 0. */
int tsr_error_gathered(tsr_error_t *all);
int tsr_status_http(tsr_status_t status);
const char *tsr_status_reason(tsr_status_t status);

#endif
