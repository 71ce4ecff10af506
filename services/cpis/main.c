/* tessera-cpis: CP-IS (Child Protection - Information Sharing): access notifications in, the
 * error queue, and the follow-up work they start. */
#include <stdlib.h>
#include <time.h>

#include "cpis.pb-c.h"
#include "ingest.h"
#include "tsr_daemon.h"

extern const tsr_migration_t cpis_migrations[];
extern const size_t cpis_migrations_count;

static const tsr_handler_def_t cpis_handlers[] = {
    {"cpis.notifications.ingest", cpis_notifications_ingest, &tsr__cpis__notifications_ingest__descriptor},
    {"cpis.errors.list", cpis_errors_list, &tsr__cpis__error_query__descriptor},
};

int main(int argc, char **argv)
{
    tsr_daemon_t *daemon = tsr_daemon_new("cpis", argc, argv);
    if (daemon == NULL)
        return 2;
    int rc = 1;
    /* The follow-up step's comment gives the time of access on the office's clock. */
    setenv("TZ", tsr_config_get(tsr_daemon_config(daemon), "cpis.timezone", "Europe/London"), 1);
    tzset();
    if (tsr_daemon_migrate(daemon, cpis_migrations, cpis_migrations_count) != 0)
        goto done;
    tsr_daemon_handle(daemon, cpis_handlers, sizeof(cpis_handlers) / sizeof(cpis_handlers[0]));
    rc = tsr_daemon_run(daemon);
done:
    tsr_daemon_destroy(&daemon);
    return rc;
}
