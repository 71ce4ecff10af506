/* tessera report consultations-in-period: the report of seed 000 for a batch job, built and
 * rendered by the reporting daemon exactly as the API gives it, written to standard output or to a
 * file (whole or not at all: a temporary file renamed into place). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "reporting.pb-c.h"

/* Long periods make big reports: a batch job waits longer than an interactive call. */
#define REPORT_TIMEOUT_MS 300000

static int report__usage(void)
{
    fprintf(stderr, "usage: tessera report consultations-in-period --start YYYY-MM-DD --end YYYY-MM-DD "
                    "--format csv|json|html|xlsx [--output FILE]\n");
    return 2;
}

int cli_report_consultations_in_period(cli_context_t *ctx, int argc, char **argv)
{
    const char *start = NULL, *end = NULL, *format = NULL, *output = NULL;
    cli_option_t options[] = {
        {"--start", &start, 1}, {"--end", &end, 1}, {"--format", &format, 1}, {"--output", &output, 0}};
    if (cli_read_options(argc, argv, options, sizeof(options) / sizeof(options[0])) != 0)
        return report__usage();
    Tsr__Reporting__ReportQuery q = TSR__REPORTING__REPORT_QUERY__INIT;
    q.start = (char *)start;
    q.end = (char *)end;
    q.format = (char *)format;
    Tsr__Envelope *reply = NULL;
    tsr_error_t err;
    if (cli_call_timeout(ctx, "reporting", "reporting.consultations_in_period", &q.base, REPORT_TIMEOUT_MS,
                         &reply, &err) != 0) {
        fprintf(stderr, "tessera: %s%s%s%s\n", err.message, err.field[0] ? " (--" : "", err.field,
                err.field[0] ? ")" : "");
        return err.status == TSR_E_INVALID ? 2 : 1;
    }
    Tsr__Reporting__ReportOutput *out =
        tsr__reporting__report_output__unpack(NULL, reply->payload.len, reply->payload.data);
    tsr__envelope__free_unpacked(reply, NULL);
    if (out == NULL) {
        fprintf(stderr, "tessera: the reporting service's answer could not be read\n");
        return 1;
    }
    int rc = cli_write_output(output, out->body.data, out->body.len);
    if (rc == 0 && cli_output_is_file(output))
        fprintf(stderr, "Wrote %s (%zu bytes).\n", output, out->body.len);
    tsr__reporting__report_output__free_unpacked(out, NULL);
    return rc;
}
