/* tessera-consultations: the Front Door Consultation's form data, its checks, and the consultations
 * of the old system; a form leaves with its step when the step is deleted as recorded in error. */
#include <stdlib.h>
#include <time.h>

#include "consultations.h"
#include "consultations.pb-c.h"
#include "tsr_daemon.h"
#include "workflow.pb-c.h"

extern const tsr_migration_t consultations_migrations[];
extern const size_t consultations_migrations_count;

static const tsr_handler_def_t consultations_handlers[] = {
    {"consultations.section.save", consultations_section_save,
     &tsr__workflow__owned_section_save__descriptor},
    {"consultations.import", consultations_import, &tsr__consultations__import__descriptor},
};

int main(int argc, char **argv)
{
    tsr_daemon_t *daemon = tsr_daemon_new("consultations", argc, argv);
    if (daemon == NULL)
        return TSR_EXIT_CONFIG;
    /* "In the future" is of the office's day: an old system's step completed today in London is not
     * refused between midnight and one in the morning of summer time by a server that keeps UTC. */
    int rc = 1;
    if (tsr_daemon_use_timezone(daemon, "consultations.timezone") != 0) {
        rc = TSR_EXIT_CONFIG;
        goto done;
    }
    if (tsr_daemon_migrate(daemon, consultations_migrations, consultations_migrations_count) != 0)
        goto done;
    tsr_daemon_handle(daemon, consultations_handlers,
                      sizeof(consultations_handlers) / sizeof(consultations_handlers[0]));
    if (tsr_daemon_subscribe_only(daemon, "workflow", consultations_wants_workflow_event,
                                  consultations_apply_workflow_event) != 0)
        goto done;
    rc = tsr_daemon_run(daemon);
done:
    tsr_daemon_destroy(&daemon);
    return rc;
}
