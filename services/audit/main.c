/* tessera-audit: the tamper-evident trail of every read and write of a record, and the audits of use
 * run over it. */
#include "audit.pb-c.h"
#include "trail.h"
#include "tsr_daemon.h"
#include "tsr_log.h"
#include "uses.h"

extern const tsr_migration_t audit_migrations[];
extern const size_t audit_migrations_count;

static const tsr_handler_def_t audit_handlers[] = {
    {"audit.events.query", audit_events_query, &tsr__audit__audit_query__descriptor},
    {"audit.trail.verify", audit_trail_verify, &tsr__audit__verify_request__descriptor},
    {"audit.reports.run", audit_uses_report, &tsr__audit__use_report_query__descriptor},
};

/* Accounts' events feed the audits of use (their copies of accounts) and the trail (who changed,
 * ended or set the password of an account). */
static int audit__wants_accounts_event(const Tsr__Envelope *ev)
{
    return audit_uses_wants_accounts_event(ev) || audit_trail_wants(ev);
}

static int audit__apply_accounts_event(tsr_event_t *ev, tsr_error_t *err)
{
    if (audit_uses_apply_accounts_event(ev, err) != 0)
        return -1;
    return audit_trail_apply(ev, err);
}

int main(int argc, char **argv)
{
    tsr_daemon_t *daemon = tsr_daemon_new("audit", argc, argv);
    if (daemon == NULL)
        return TSR_EXIT_CONFIG;
    int rc = 1;
    tsr_error_t err;
    tsr_error_clear(&err);
    if (audit_uses_configure(tsr_daemon_config(daemon), &err) != 0) {
        rc = tsr_daemon_config_error(daemon, &err);
        goto done;
    }
    if (tsr_daemon_migrate(daemon, audit_migrations, audit_migrations_count) != 0)
        goto done;
    tsr_daemon_handle(daemon, audit_handlers, sizeof(audit_handlers) / sizeof(audit_handlers[0]));
    if (tsr_daemon_subscribe_batched(daemon, "records", audit_trail_wants, audit_trail_apply,
                                     audit_trail_flush) != 0 ||
        tsr_daemon_subscribe_batched(daemon, "workflow", audit_trail_wants, audit_trail_apply,
                                     audit_trail_flush) != 0 ||
        tsr_daemon_subscribe_batched(daemon, "cpis", audit_trail_wants, audit_trail_apply,
                                     audit_trail_flush) != 0 ||
        tsr_daemon_subscribe_batched(daemon, "accounts", audit__wants_accounts_event,
                                     audit__apply_accounts_event, audit_trail_flush) != 0)
        goto done;
    rc = tsr_daemon_run(daemon);
done:
    tsr_daemon_destroy(&daemon);
    return rc;
}
