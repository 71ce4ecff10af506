/* tessera-cpis: CP-IS (Child Protection - Information Sharing): access notifications in, the
 * error queue, and the follow-up work they start; the plan data out to the NHS and its responses. */
#include <stdlib.h>
#include <time.h>

#include "cpis.pb-c.h"
#include "ingest.h"
#include "plans.h"
#include "tsr_log.h"
#include "tsr_daemon.h"

extern const tsr_migration_t cpis_migrations[];
extern const size_t cpis_migrations_count;

static const tsr_handler_def_t cpis_handlers[] = {
    {"cpis.notifications.ingest", cpis_notifications_ingest, &tsr__cpis__notifications_ingest__descriptor},
    {"cpis.errors.list", cpis_errors_list, &tsr__cpis__error_query__descriptor},
    {"cpis.errors.retry", cpis_errors_retry, &tsr__cpis__error_retry__descriptor},
    {"cpis.errors.close", cpis_errors_close, &tsr__cpis__error_close__descriptor},
    {"cpis.plans.record", cpis_plans_record, &tsr__cpis__plan_record__descriptor},
    {"cpis.plans.end", cpis_plans_end, &tsr__cpis__plan_end__descriptor},
    {"cpis.plans.list", cpis_plans_list, &tsr__cpis__plan_query__descriptor},
    {"cpis.plans.states", cpis_plans_states, &tsr__cpis__plan_states_query__descriptor},
    {"cpis.demographics.record", cpis_demographics_record, &tsr__cpis__demographics__descriptor},
    {"cpis.uploads.create", cpis_uploads_create, &tsr__cpis__upload_create__descriptor},
    {"cpis.uploads.list", cpis_uploads_list, &tsr__cpis__upload_query__descriptor},
    {"cpis.uploads.get", cpis_uploads_get, &tsr__cpis__upload_get__descriptor},
    {"cpis.uploads.response", cpis_uploads_response, &tsr__cpis__response_read__descriptor},
    {"cpis.uploads.renumber", cpis_uploads_renumber, &tsr__cpis__upload_renumber__descriptor},
};

int main(int argc, char **argv)
{
    tsr_daemon_t *daemon = tsr_daemon_new("cpis", argc, argv);
    if (daemon == NULL)
        return TSR_EXIT_CONFIG;
    int rc = 1;
    /* The follow-up step's comment gives the time of access on the office's clock. */
    if (tsr_daemon_use_timezone(daemon, "cpis.timezone") != 0) {
        rc = TSR_EXIT_CONFIG;
        goto done;
    }
    tsr_error_t err;
    long metrics_ms = 30000;
    if (cpis_plans_configure(daemon, &err) != 0 ||
        tsr_config_get_long(tsr_daemon_config(daemon), "cpis.metrics_ms", 30000, 50, 3600000, &metrics_ms,
                            &err) != 0) {
        rc = tsr_daemon_config_error(daemon, &err);
        goto done;
    }
    if (tsr_daemon_migrate(daemon, cpis_migrations, cpis_migrations_count) != 0)
        goto done;
    /* The error queue's gauges from the start, not a metrics_ms later: an alert on them meets no gap
     * after a restart. */
    if (tsr_daemon_txn_now(daemon, cpis_errors_metrics, NULL, &err) != 0)
        tsr_log_warn(NULL,
                     "the error queue's gauges could not be set at start-up (every cpis.metrics_ms sets "
                     "them): %s",
                     err.message);
    tsr_daemon_handle(daemon, cpis_handlers, sizeof(cpis_handlers) / sizeof(cpis_handlers[0]));
    if (tsr_daemon_subscribe_only(daemon, "records", cpis_records_wants, cpis_records_apply) != 0)
        goto done;
    if (cpis_plans_schedule(daemon) != 0 ||
        tsr_daemon_every(daemon, "CP-IS error queue gauges", metrics_ms, cpis_errors_metrics, NULL) != 0)
        goto done;
    rc = tsr_daemon_run(daemon);
done:
    tsr_daemon_destroy(&daemon);
    return rc;
}
