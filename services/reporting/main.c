/* tessera-reporting: read models kept from other daemons' events, and the reports built on them. */
#include "dashboard.h"
#include "readmodel.h"
#include "report.h"
#include "reporting.pb-c.h"
#include "tsr_daemon.h"
#include "tsr_log.h"

extern const tsr_migration_t reporting_migrations[];
extern const size_t reporting_migrations_count;

static const tsr_handler_def_t reporting_handlers[] = {
    {"reporting.consultations_in_period", reporting_consultations_in_period,
     &tsr__reporting__report_query__descriptor},
    {"reporting.front_door_dashboard", reporting_front_door_dashboard,
     &tsr__reporting__dashboard_query__descriptor},
    {"reporting.imported_counted", reporting_imported_counted, &tsr__reporting__imported_query__descriptor},
};

int main(int argc, char **argv)
{
    tsr_daemon_t *daemon = tsr_daemon_new("reporting", argc, argv);
    if (daemon == NULL)
        return TSR_EXIT_CONFIG;
    int rc = 1;
    tsr_error_t err;
    if (reporting_readmodel_configure(tsr_daemon_config(daemon), &err) != 0 ||
        reporting_report_configure(tsr_daemon_config(daemon), &err) != 0) {
        rc = tsr_daemon_config_error(daemon, &err);
        goto done;
    }
    if (tsr_daemon_migrate(daemon, reporting_migrations, reporting_migrations_count) != 0)
        goto done;
    tsr_daemon_handle(daemon, reporting_handlers, sizeof(reporting_handlers) / sizeof(reporting_handlers[0]));
    if (tsr_daemon_subscribe_only(daemon, "workflow", reporting_wants_workflow_event,
                                  reporting_apply_workflow_event) != 0 ||
        tsr_daemon_subscribe_only(daemon, "consultations", reporting_wants_consultations_event,
                                  reporting_apply_consultations_event) != 0)
        goto done;
    rc = tsr_daemon_run(daemon);
done:
    tsr_daemon_destroy(&daemon);
    reporting_report_free();
    return rc;
}
