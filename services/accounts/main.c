/* tessera-accounts: workers, teams, roles and credentials. */
#include "account.h"
#include "accounts.pb-c.h"
#include "tsr_log.h"
#include "changes.h"
#include "tsr_daemon.h"
#include "workers.h"

extern const tsr_migration_t accounts_migrations[];
extern const size_t accounts_migrations_count;

static const tsr_handler_def_t accounts_handlers[] = {
    {"accounts.authenticate", accounts_authenticate, &tsr__accounts__authenticate_request__descriptor},
    {"accounts.password.change", accounts_password_change, &tsr__accounts__password_change__descriptor},
    {"accounts.password.reset", accounts_password_reset, &tsr__accounts__password_reset__descriptor},
    {"accounts.sign_in.unpause", accounts_sign_in_unpause, &tsr__accounts__sign_in_unpause__descriptor},
    {"accounts.worker.import", accounts_worker_import, &tsr__accounts__worker_import__descriptor},
    {"accounts.worker.prerequisites", accounts_worker_prerequisites,
     &tsr__accounts__worker_prerequisites__descriptor},
    {"accounts.worker.end", accounts_worker_end, &tsr__accounts__worker_end__descriptor},
    {"accounts.worker.update", accounts_worker_update, &tsr__accounts__worker_update__descriptor},
    {"accounts.worker.get", accounts_worker_get, &tsr__accounts__worker_get__descriptor},
    {"accounts.workers.republish", accounts_workers_republish, &tsr__accounts__workers_republish__descriptor},
    {"accounts.worker.search", accounts_worker_search, &tsr__accounts__worker_search__descriptor},
    {"accounts.conflict.declare", accounts_conflict_declare, &tsr__accounts__conflict_declare__descriptor},
};

int main(int argc, char **argv)
{
    tsr_daemon_t *daemon = tsr_daemon_new("accounts", argc, argv);
    if (daemon == NULL)
        return TSR_EXIT_CONFIG;
    int rc = 1;
    tsr_error_t err;
    if (accounts_configure(tsr_daemon_config(daemon), &err) != 0) {
        rc = tsr_daemon_config_error(daemon, &err);
        goto done;
    }
    /* The office's day: a DBS check dated today is not in the future, and one is due, or a contract
     * over, from the office's midnight, in C and in SQL alike. */
    if (tsr_daemon_use_timezone(daemon, "accounts.timezone") != 0) {
        rc = TSR_EXIT_CONFIG;
        goto done;
    }
    if (tsr_daemon_migrate(daemon, accounts_migrations, accounts_migrations_count) != 0)
        goto done;
    tsr_daemon_handle(daemon, accounts_handlers, sizeof(accounts_handlers) / sizeof(accounts_handlers[0]));
    rc = tsr_daemon_run(daemon);
done:
    tsr_daemon_destroy(&daemon);
    return rc;
}
