/* tessera-gateway: the HTTP/JSON API and the web UI's files, in front of the other daemons. */
#include "gateway.h"
#include "tsr_daemon.h"
#include "tsr_log.h"

extern const tsr_migration_t gateway_migrations[];
extern const size_t gateway_migrations_count;

static int gateway_start(tsr_daemon_t *d, void *arg)
{
    gw_routes_connect(d);
    return gateway_http_start(arg);
}

static void gateway_stop(tsr_daemon_t *d, void *arg)
{
    (void)d;
    gateway_http_stop(arg);
}

static int gateway_busy(tsr_daemon_t *d, void *arg)
{
    (void)d;
    return gateway_http_busy(arg);
}

static void gateway_release(tsr_daemon_t *d, void *arg)
{
    (void)d;
    gateway_http_release(arg);
}

int main(int argc, char **argv)
{
    tsr_daemon_t *daemon = tsr_daemon_new("gateway", argc, argv);
    if (daemon == NULL)
        return TSR_EXIT_CONFIG;
    int rc = 1;
    tsr_error_t err;
    gateway_t *gateway = gateway_new(daemon);
    if (gateway == NULL)
        goto done;
    /* Every setting checked before the daemon claims its endpoints: a bad one is the configuration's
     * exit status, and a second gateway started with one says so rather than that the first runs. */
    if (gw_sessions_configure(tsr_daemon_config(daemon), &err) != 0 ||
        gw_keys_configure(tsr_daemon_config(daemon), &err) != 0 ||
        gateway_http_configure(gateway, &err) != 0) {
        rc = tsr_daemon_config_error(daemon, &err);
        goto done;
    }
    /* The office's day, as accounts has it: a session's calls stop on the day its DBS check is due or
     * its contract is over from the office's midnight, the moment signing in stops. */
    if (tsr_daemon_use_timezone(daemon, "gateway.timezone") != 0) {
        rc = TSR_EXIT_CONFIG;
        goto done;
    }
    if (tsr_daemon_migrate(daemon, gateway_migrations, gateway_migrations_count) != 0)
        goto done;
    if (tsr_daemon_subscribe(daemon, "accounts", gw_sessions_apply_accounts_event) != 0 ||
        tsr_daemon_housekeeping(daemon, "sessions past keeping", gw_sessions_forget, NULL) != 0 ||
        tsr_daemon_housekeeping(daemon, "idempotency keys past keeping", gw_keys_forget, NULL) != 0)
        goto done;
    tsr_daemon_hooks_t hooks = {gateway_start, gateway_stop, gateway_busy, gateway_release, gateway};
    tsr_daemon_set_hooks(daemon, &hooks);
    rc = tsr_daemon_run(daemon);
done:
    tsr_daemon_destroy(&daemon);
    gateway_http_destroy(gateway);
    return rc;
}
