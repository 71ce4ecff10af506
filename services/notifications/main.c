/* tessera-notifications: notices to workers, asked for by any daemon through its outbox. */
#include "notices.h"
#include "notifications.pb-c.h"
#include "tsr_daemon.h"

extern const tsr_migration_t notifications_migrations[];
extern const size_t notifications_migrations_count;

static const tsr_handler_def_t notifications_handlers[] = {
    {"notifications.notices.list", notifications_notices_list, &tsr__notifications__notice_query__descriptor},
    {"notifications.notice.mark_read", notifications_notice_mark_read,
     &tsr__notifications__notice_mark_read__descriptor},
};

/* The daemons that ask for notices. */
static const char *const notifications_producers[] = {"records", "workflow", "cpis"};

int main(int argc, char **argv)
{
    tsr_daemon_t *daemon = tsr_daemon_new("notifications", argc, argv);
    if (daemon == NULL)
        return 2;
    int rc = 1;
    if (tsr_daemon_migrate(daemon, notifications_migrations, notifications_migrations_count) != 0)
        goto done;
    tsr_daemon_handle(daemon, notifications_handlers,
                      sizeof(notifications_handlers) / sizeof(notifications_handlers[0]));
    for (size_t i = 0; i < sizeof(notifications_producers) / sizeof(notifications_producers[0]); i++)
        if (tsr_daemon_subscribe_only(daemon, notifications_producers[i], notifications_wants_notice,
                                      notifications_apply_notice) != 0)
            goto done;
    if (tsr_daemon_subscribe_only(daemon, "accounts", notifications_wants_accounts_event,
                                  notifications_apply_accounts_event) != 0)
        goto done;
    rc = tsr_daemon_run(daemon);
done:
    tsr_daemon_destroy(&daemon);
    return rc;
}
