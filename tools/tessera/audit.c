/* tessera audit verify: the audit trail checked against its hash chain by the audit daemon, for a
 * nightly job or an auditor. Exit status 0 when the trail is intact, 1 when an entry was changed or
 * removed (the first one found is named), 2 when it could not be checked. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit.pb-c.h"
#include "cli.h"

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
