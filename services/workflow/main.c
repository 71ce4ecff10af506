/* tessera-workflow: work steps, requests, next actions and workviews, driven by definitions. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "definitions.h"
#include "due.h"
#include "tsr_daemon.h"
#include "tsr_log.h"
#include "wf.h"
#include "workflow.pb-c.h"

extern const tsr_migration_t workflow_migrations[];
extern const size_t workflow_migrations_count;

static const tsr_handler_def_t workflow_handlers[] = {
    {"workflow.step.start", wf_handle_step_start, &tsr__workflow__step_start__descriptor},
    {"workflow.step.get", wf_handle_step_get, &tsr__workflow__step_ref__descriptor},
    {"workflow.steps.by_subject", wf_handle_steps_by_subject, &tsr__workflow__steps_query__descriptor},
    {"workflow.steps.for_summary", wf_handle_steps_for_summary, &tsr__workflow__steps_query__descriptor},
    {"workflow.section.save", wf_handle_section_save, &tsr__workflow__section_save__descriptor},
    {"workflow.step.assign", wf_handle_step_assign, &tsr__workflow__step_assign__descriptor},
    {"workflow.step.resume", wf_handle_step_resume, &tsr__workflow__step_ref__descriptor},
    {"workflow.step.finish", wf_handle_step_finish, &tsr__workflow__step_finish__descriptor},
    {"workflow.step.cancel", wf_handle_step_cancel, &tsr__workflow__step_cancel__descriptor},
    {"workflow.step.delete", wf_handle_step_delete, &tsr__workflow__step_delete__descriptor},
    {"workflow.step.reopen", wf_handle_step_reopen, &tsr__workflow__step_ref__descriptor},
    {"workflow.request.raise", wf_handle_request_raise, &tsr__workflow__request_raise__descriptor},
    {"workflow.request.complete", wf_handle_request_complete, &tsr__workflow__request_act__descriptor},
    {"workflow.request.return", wf_handle_request_return, &tsr__workflow__request_act__descriptor},
    {"workflow.request.acknowledge", wf_handle_request_acknowledge, &tsr__workflow__request_act__descriptor},
    {"workflow.recipients", wf_handle_recipients, &tsr__workflow__recipients_query__descriptor},
    {"workflow.workview", wf_handle_workview, &tsr__workflow__workview_query__descriptor},
    {"workflow.definitions.list", wf_handle_definitions, &tsr__workflow__definitions_query__descriptor},
    {"workflow.leavers.list", wf_handle_leavers, &tsr__workflow__leavers_query__descriptor},
};

/* The daemons that ask for steps to be started (<producer>.step.requested). */
static const char *const workflow_step_requesters[] = {"cpis"};

/* The gauges: the queues' and the closed days'. */
static int workflow__gauges(PGconn *conn, void *arg, tsr_error_t *err)
{
    (void)arg;
    wf_due_metrics();
    return wf_queue_metrics(conn, err);
}

/* The overdue scan and the gauges, on a timer (workflow.overdue_check_ms). */
static int workflow__scan(PGconn *conn, void *arg, tsr_error_t *err)
{
    int raised = 0;
    if (wf_overdue_scan(conn, &raised, err) != 0)
        return -1;
    if (raised > 0)
        tsr_log_info(NULL, "raised %d overdue notices", raised);
    return workflow__gauges(conn, arg, err);
}

/* The definitions shipped with the suite: installed beside the program, else in the source tree. */
static const char *workflow__shipped_definitions(void)
{
    static char installed[4200];
    const char *dir = tsr_daemon_installed_path("definitions", installed, sizeof(installed));
    return dir ? dir : TSR_WORKFLOW_DEFINITIONS_DIR;
}

int main(int argc, char **argv)
{
    long overdue_check_ms = 30000;
    tsr_daemon_t *daemon = tsr_daemon_new("workflow", argc, argv);
    if (daemon == NULL)
        return TSR_EXIT_CONFIG;
    int rc = 1;
    tsr_error_t err;
    const tsr_config_t *config = tsr_daemon_config(daemon);
    /* Working hours are read on the office's clock. */
    if (tsr_daemon_use_timezone(daemon, "workflow.timezone") != 0) {
        rc = TSR_EXIT_CONFIG;
        goto done;
    }
    wf_configure(config);
    if (wf_due_configure(config, &err) != 0 ||
        tsr_config_get_long(config, "workflow.overdue_check_ms", 30000, 50, 86400000, &overdue_check_ms,
                            &err) != 0 ||
        wf_definitions_load(
            tsr_config_get(config, "workflow.definitions_dirs", workflow__shipped_definitions()), &err) !=
            0) {
        rc = tsr_daemon_config_error(daemon, &err);
        goto done;
    }
    if (tsr_daemon_migrate(daemon, workflow_migrations, workflow_migrations_count) != 0)
        goto done;
    PGconn *conn = tsr_db_acquire(tsr_daemon_db(daemon), &err);
    if (conn == NULL || wf_definitions_register(conn, &err) != 0) {
        if (conn)
            tsr_db_release(tsr_daemon_db(daemon), conn);
        tsr_log_error(NULL, "%s", err.message);
        goto done;
    }
    tsr_db_release(tsr_daemon_db(daemon), conn);
    /* The gauges from the start, not an overdue_check_ms later (up to a day): an alert on a queue, or
     * on closed days running out, meets no gap after a restart. */
    if (tsr_daemon_txn_now(daemon, workflow__gauges, NULL, &err) != 0)
        tsr_log_warn(NULL, "the queue gauges could not be set at start-up (the overdue scan sets them): %s",
                     err.message);
    tsr_daemon_handle(daemon, workflow_handlers, sizeof(workflow_handlers) / sizeof(workflow_handlers[0]));
    if (tsr_daemon_subscribe(daemon, "accounts", wf_directory_apply_accounts_event) != 0)
        goto done;
    for (size_t i = 0; i < sizeof(workflow_step_requesters) / sizeof(workflow_step_requesters[0]); i++)
        if (tsr_daemon_subscribe_only(daemon, workflow_step_requesters[i], wf_wants_step_requested,
                                      wf_apply_step_requested) != 0)
            goto done;
    if (tsr_daemon_subscribe_only(daemon, "records", wf_wants_person_event, wf_apply_person_event) != 0)
        goto done;
    if (tsr_daemon_every(daemon, "overdue scan", overdue_check_ms, workflow__scan, NULL) != 0)
        goto done;
    rc = tsr_daemon_run(daemon);
done:
    tsr_daemon_destroy(&daemon);
    wf_definitions_free();
    wf_due_free();
    return rc;
}
