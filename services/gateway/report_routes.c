#include "report_routes.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reporting.pb-c.h"

/* A whole report over a long period takes longer than a call usually may. */
#define REPORT_TIMEOUT_MS 60000
#define REPORT_PAGE_DEFAULT 200
#define REPORT_PAGE_MAX 1000

void gw_reply_rendered(gw_call_t *call, const char *type, const char *filename, const uint8_t *body,
                       size_t len)
{
    /* A spreadsheet or CSV is a file to keep: the browser saves it under the report's own name. */
    int download = strncmp(type, "text/csv", 8) == 0 || strstr(type, "spreadsheetml") != NULL;
    int page = strncmp(type, "text/html", 9) == 0;
    /* The daemons name their files from dates and ids; a name that would not fit the header's value
     * whole, or would need quoting, is left out (the browser names the file) rather than cut. */
    int plain = filename[0] != '\0' && strspn(filename, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                        "0123456789._-") == strlen(filename);
    char value[300];
    int n = plain ? snprintf(value, sizeof(value), "%s; filename=\"%s\"", download ? "attachment" : "inline",
                             filename)
                  : -1;
    if (call->req != NULL && (download || page) && n > 0 && (size_t)n < sizeof(value)) {
        h2o_iovec_t copy = h2o_strdup(&call->req->pool, value, (size_t)n);
        h2o_add_header(&call->req->pool, &call->req->res.headers, H2O_TOKEN_CONTENT_DISPOSITION, NULL,
                       copy.base, copy.len);
    }
    gw_reply_text(call, 200, type, (const char *)body, len);
}

static void report__rendered(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                             const tsr_error_t *err)
{
    Tsr__Reporting__ReportOutput *out = (Tsr__Reporting__ReportOutput *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__reporting__report_output__descriptor);
    if (out == NULL)
        return;
    gw_reply_rendered(call, out->content_type, out->filename, out->body.data, out->body.len);
    tsr__reporting__report_output__free_unpacked(out, NULL);
}

void gw_report_consultations_in_period(gw_call_t *call)
{
    Tsr__Reporting__ReportQuery req = TSR__REPORTING__REPORT_QUERY__INIT;
    const char *start = gw_param(call, "start"), *end = gw_param(call, "end");
    const char *format = gw_param(call, "format"), *cursor = gw_param(call, "cursor");
    const char *limit = gw_param(call, "limit");
    req.start = (char *)(start ? start : "");
    req.end = (char *)(end ? end : "");
    req.format = (char *)(format && format[0] ? format : "json");
    req.cursor = (char *)(cursor ? cursor : "");
    /* JSON comes in pages, as every list of the API does; the other formats are the whole period. */
    if (limit != NULL) {
        char *stop = NULL;
        unsigned long n = strtoul(limit, &stop, 10);
        if (!isdigit((unsigned char)limit[0]) || *stop != '\0' || n < 1 || n > REPORT_PAGE_MAX) {
            gw_fail(call, TSR_E_INVALID, "invalid_limit", "limit", "limit must be a number from 1 to %d.",
                    REPORT_PAGE_MAX);
            return;
        }
        req.limit = (uint32_t)n;
    } else if (strcmp(req.format, "json") == 0) {
        req.limit = REPORT_PAGE_DEFAULT;
    }
    gw_call_daemon_timeout(call, "reporting", "reporting.consultations_in_period", &req.base,
                           REPORT_TIMEOUT_MS, report__rendered);
}

void gw_report_front_door_dashboard(gw_call_t *call)
{
    Tsr__Reporting__DashboardQuery req = TSR__REPORTING__DASHBOARD_QUERY__INIT;
    const char *start = gw_param(call, "start"), *end = gw_param(call, "end");
    req.start = (char *)(start ? start : "");
    req.end = (char *)(end ? end : "");
    gw_call_daemon(call, "reporting", "reporting.front_door_dashboard", &req.base, report__rendered);
}
