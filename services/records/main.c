/* tessera-records: people, organisations and everything recorded about them. */
#include "organisations.h"
#include "records.pb-c.h"
#include "tsr_daemon.h"

extern const tsr_migration_t records_migrations[];
extern const size_t records_migrations_count;

static const tsr_handler_def_t records_handlers[] = {
    {"records.organisation.create", records_organisation_create,
     &tsr__records__organisation_create__descriptor},
    {"records.organisation.get", records_organisation_get, &tsr__records__organisation_get__descriptor},
    {"records.organisation.search", records_organisation_search,
     &tsr__records__organisation_search__descriptor},
};

int main(int argc, char **argv)
{
    tsr_daemon_t *daemon = tsr_daemon_new("records", argc, argv);
    if (daemon == NULL)
        return 2;
    int rc = 1;
    if (tsr_daemon_migrate(daemon, records_migrations, records_migrations_count) != 0)
        goto done;
    tsr_daemon_handle(daemon, records_handlers, sizeof(records_handlers) / sizeof(records_handlers[0]));
    rc = tsr_daemon_run(daemon);
done:
    tsr_daemon_destroy(&daemon);
    return rc;
}
