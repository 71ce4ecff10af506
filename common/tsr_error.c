#include "tsr_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int tsr_error_set(tsr_error_t *err, tsr_status_t status, const char *code, const char *field, const char *fmt,
                  ...)
{
    if (err == NULL)
        return -1;
    err->status = status;
    snprintf(err->code, sizeof(err->code), "%s", code ? code : "");
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    err->sqlstate[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -1;
}

void tsr_error_clear(tsr_error_t *err)
{
    if (err != NULL)
        memset(err, 0, sizeof(*err));
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
    case 422:
        return "Unprocessable Entity";
    case 503:
        return "Service Unavailable";
    }
    return "Internal Server Error";
}
