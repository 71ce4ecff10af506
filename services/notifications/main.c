/* tessera-notifications: notices to workers, asked for by any daemon through its outbox. */
#include "mailer.h"
#include "notices.h"
#include "notifications.pb-c.h"
#include "tsr_daemon.h"
#include "tsr_log.h"

extern const tsr_migration_t notifications_migrations[];
extern const size_t notifications_migrations_count;

static const tsr_handler_def_t notifications_handlers[] = {
    {"notifications.notices.list", notifications_notices_list, &tsr__notifications__notice_query__descriptor},
    {"notifications.notice.mark_read", notifications_notice_mark_read,
     &tsr__notifications__notice_mark_read__descriptor},
};

/* The daemons that ask for notices (and the workflow's requests, which are notices too); accounts,
 * which asks for them too, is followed below with its accounts. */
static const char *const notifications_producers[] = {"records", "workflow", "cpis"};

int main(int argc, char **argv)
{
    tsr_daemon_t *daemon = tsr_daemon_new("notifications", argc, argv);
    if (daemon == NULL)
        return TSR_EXIT_CONFIG;
    int rc = 1;
    tsr_error_t err;
    notifications_mailer_t *mailer = NULL;
    if (notifications_configure(tsr_daemon_config(daemon), &err) != 0) {
        rc = tsr_daemon_config_error(daemon, &err);
        goto done;
    }
    mailer = notifications_mailer_new(daemon, &err);
    if (mailer == NULL) {
        rc = tsr_daemon_config_error(daemon, &err);
        goto done;
    }
    if (tsr_daemon_migrate(daemon, notifications_migrations, notifications_migrations_count) != 0)
        goto done;
    tsr_daemon_handle(daemon, notifications_handlers,
                      sizeof(notifications_handlers) / sizeof(notifications_handlers[0]));
    for (size_t i = 0; i < sizeof(notifications_producers) / sizeof(notifications_producers[0]); i++)
        if (tsr_daemon_subscribe_only(daemon, notifications_producers[i], notifications_wants_event,
                                      notifications_apply_event) != 0)
            goto done;
    if (tsr_daemon_subscribe_only(daemon, "accounts", notifications_wants_accounts_event,
                                  notifications_apply_accounts_event) != 0)
        goto done;
    if (tsr_daemon_housekeeping(daemon, "notices read long ago", notifications_forget_read, NULL) != 0)
        goto done;
    rc = tsr_daemon_run(daemon);
done:
    tsr_daemon_destroy(&daemon);
    /* After the daemon, whose e-mail rounds use it. */
    notifications_mailer_destroy(&mailer);
    return rc;
}
