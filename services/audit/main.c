/* tessera-audit: the tamper-evident trail of every read and write of a record. */
#include "audit.pb-c.h"
#include "trail.h"
#include "tsr_daemon.h"

extern const tsr_migration_t audit_migrations[];
extern const size_t audit_migrations_count;

static const tsr_handler_def_t audit_handlers[] = {
    {"audit.events.query", audit_events_query, &tsr__audit__audit_query__descriptor},
    {"audit.trail.verify", audit_trail_verify, &tsr__audit__verify_request__descriptor},
};

int main(int argc, char **argv)
{
    tsr_daemon_t *daemon = tsr_daemon_new("audit", argc, argv);
    if (daemon == NULL)
        return 2;
    int rc = 1;
    if (tsr_daemon_migrate(daemon, audit_migrations, audit_migrations_count) != 0)
        goto done;
    tsr_daemon_handle(daemon, audit_handlers, sizeof(audit_handlers) / sizeof(audit_handlers[0]));
    if (tsr_daemon_subscribe_only(daemon, "records", audit_trail_wants, audit_trail_apply) != 0 ||
        tsr_daemon_subscribe_only(daemon, "workflow", audit_trail_wants, audit_trail_apply) != 0)
        goto done;
    rc = tsr_daemon_run(daemon);
done:
    tsr_daemon_destroy(&daemon);
    return rc;
}
