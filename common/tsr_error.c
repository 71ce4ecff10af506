#include "tsr_error.h"

#include "tsr_text.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

int tsr_error_set(tsr_error_t *err, tsr_status_t status, const char *code, const char *field, const char *fmt,
                  ...)
{
    if (err == NULL)
        return -1;
    err->status = status;
    err->n_faults = 0; /* a new error replaces whatever was gathered */
    snprintf(err->code, sizeof(err->code), "%s", code ? code : "");
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    err->sqlstate[0] = '\0';
    err->not_sent = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    tsr_text_utf8_clean(err->message); /* a person's text cut short inside a character */
    return -1;
}

void tsr_error_clear(tsr_error_t *err)
{
    /* The faults' room is left as it is: n_faults says how much of it holds anything. */
    if (err != NULL)
        memset(err, 0, offsetof(tsr_error_t, faults));
}

void tsr_error_gather(tsr_error_t *all, const tsr_error_t *one)
{
    if (all == NULL || one == NULL || one->status == TSR_OK || all->n_faults == TSR_ERROR_FAULTS_MAX)
        return;
    tsr_fault_t *f = &all->faults[all->n_faults++];
    f->status = one->status;
    snprintf(f->code, sizeof(f->code), "%s", one->code);
    snprintf(f->message, sizeof(f->message), "%s", one->message);
    tsr_text_utf8_clean(f->message);
    snprintf(f->field, sizeof(f->field), "%s", one->field);
}

void tsr_error_add(tsr_error_t *all, tsr_status_t status, const char *code, const char *field,
                   const char *fmt, ...)
{
    tsr_error_t one;
    tsr_error_set(&one, status, code, field, "%s", "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(one.message, sizeof(one.message), fmt, ap);
    va_end(ap);
    tsr_text_utf8_clean(one.message);
    tsr_error_gather(all, &one);
}

int tsr_error_gathered(tsr_error_t *all)
{
    if (all == NULL || all->n_faults == 0)
        return 0;
    size_t lead = 0;
    for (size_t i = 0; i < all->n_faults; i++)
        if (all->faults[i].status == TSR_E_INVALID) {
            lead = i;
            break;
        }
    const tsr_fault_t *f = &all->faults[lead];
    size_t n = all->n_faults;
    tsr_error_set(all, f->status, f->code, f->field, "%s", f->message);
    all->n_faults = n > 1 ? n : 0;
    return -1;
}

int tsr_status_http(tsr_status_t status)
{
    switch (status) {
    case TSR_OK:
        return 200;
    case TSR_E_INVALID:
        return 400;
    case TSR_E_UNAUTHENTICATED:
        return 401;
    case TSR_E_FORBIDDEN:
        return 403;
    case TSR_E_NOT_FOUND:
        return 404;
    case TSR_E_CONFLICT:
        return 409;
    case TSR_E_TOO_LARGE:
        return 413;
    case TSR_E_UNSUPPORTED_MEDIA:
        return 415;
    case TSR_E_UNPROCESSABLE:
        return 422;
    case TSR_E_UNAVAILABLE:
        return 503;
    case TSR_E_INTERNAL:
        break;
    }
    return 500;
}

const char *tsr_status_reason(tsr_status_t status)
{
    switch (tsr_status_http(status)) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 503:
        return "Service Unavailable";
    }
    return "Internal Server Error";
}
