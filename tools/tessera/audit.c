/* tessera audit verify: the audit trail checked against its hash chain by the audit daemon, for a
 * nightly job or an auditor. Exit status 0 when the trail is intact, 1 when an entry was changed or
 * removed (the first one found is named), 2 when it could not be checked. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "audit.pb-c.h"
#include "cli.h"
#include "tsr_text.h"

/* A long trail takes a while to walk. */
#define VERIFY_TIMEOUT_MS 600000

int cli_audit_verify(cli_context_t *ctx, int argc, char **argv)
{
    (void)argv;
    if (argc != 0) {
        fprintf(stderr, "usage: tessera audit verify\n");
        return 2;
    }
    Tsr__Audit__VerifyRequest req = TSR__AUDIT__VERIFY_REQUEST__INIT;
    Tsr__Envelope *reply = NULL;
    tsr_error_t err;
    if (cli_call_timeout(ctx, "audit", "audit.trail.verify", &req.base, VERIFY_TIMEOUT_MS, &reply, &err) !=
        0) {
        fprintf(stderr, "tessera: the audit trail could not be verified: %s\n", err.message);
        return 2;
    }
    Tsr__Audit__VerifyReply *v =
        tsr__audit__verify_reply__unpack(NULL, reply->payload.len, reply->payload.data);
    tsr__envelope__free_unpacked(reply, NULL);
    if (v == NULL) {
        fprintf(stderr, "tessera: the audit daemon's answer could not be read\n");
        return 2;
    }
    int rc = 0;
    if (v->intact) {
        printf("The audit trail is intact: %" PRIu64 " entries checked against their hash chain.\n",
               v->entries_checked);
    } else {
        printf("The audit trail has been tampered with: entry %" PRIu64 ": %s. (%" PRIu64
               " entries before it hold.)\n",
               v->first_bad_id, v->problem, v->entries_checked);
        rc = 1;
    }
    tsr__audit__verify_reply__free_unpacked(v, NULL);
    return rc;
}

static int audit__report_usage(void)
{
    fprintf(stderr,
            "usage: tessera audit report unallocated-access|own-or-connected-records|third-party-access|"
            "leavers|dormant-accounts --from YYYY-MM-DD --to YYYY-MM-DD --format csv|json "
            "[--output FILE]\n");
    return 2;
}

/* A date as Unix ms at the start of that day (UTC), as the API reads a date alone; 0 or -1. */
static int audit__date_ms(const char *option, const char *text, int64_t *ms)
{
    tsr_error_t err;
    if (tsr_text_check_date(text, 0, option, &err) != 0) {
        fprintf(stderr, "tessera: %s: %s\n", option, err.message);
        return -1;
    }
    char stamp[32];
    snprintf(stamp, sizeof(stamp), "%.10sT00:00:00Z", text);
    *ms = tsr_text_datetime_ms(stamp);
    return 0;
}

int cli_audit_report(cli_context_t *ctx, int argc, char **argv)
{
    if (argc < 1 || argv[0][0] == '-')
        return audit__report_usage();
    const char *kind = argv[0], *from = NULL, *to = NULL, *format = NULL, *output = NULL;
    cli_option_t options[] = {
        {"--from", &from, 1}, {"--to", &to, 1}, {"--format", &format, 1}, {"--output", &output, 0}};
    if (cli_read_options(argc - 1, argv + 1, options, sizeof(options) / sizeof(options[0])) != 0)
        return audit__report_usage();
    Tsr__Audit__UseReportQuery q = TSR__AUDIT__USE_REPORT_QUERY__INIT;
    if (audit__date_ms("--from", from, &q.from_ms) != 0 || audit__date_ms("--to", to, &q.to_ms) != 0)
        return 2;
    q.to_ms += 86400000; /* --to names the last day taken in */
    q.kind = (char *)kind;
    q.format = (char *)format;
    Tsr__Envelope *reply = NULL;
    tsr_error_t err;
    if (cli_call_timeout(ctx, "audit", "audit.reports.run", &q.base, VERIFY_TIMEOUT_MS, &reply, &err) != 0) {
        fprintf(stderr, "tessera: %s%s%s%s\n", err.message, err.field[0] ? " (--" : "", err.field,
                err.field[0] ? ")" : "");
        return 2;
    }
    Tsr__Audit__UseReportOutput *out =
        tsr__audit__use_report_output__unpack(NULL, reply->payload.len, reply->payload.data);
    tsr__envelope__free_unpacked(reply, NULL);
    if (out == NULL) {
        fprintf(stderr, "tessera: the audit daemon's answer could not be read\n");
        return 2;
    }
    int rc = cli_write_output(output, out->body.data, out->body.len);
    if (rc == 0 && cli_output_is_file(output))
        fprintf(stderr, "tessera: %u finding%s written to %s\n", out->findings, out->findings == 1 ? "" : "s",
                output);
    tsr__audit__use_report_output__free_unpacked(out, NULL);
    return rc;
}
