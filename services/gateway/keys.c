/* keys: an Idempotency-Key's first use by each worker, and the call it was used for. Each daemon
 * keeps the replies to the keys it was sent, and refuses one used again for another kind of request
 * of its own; a key used first for one daemon's call and then for another's (an organisation added,
 * then a worker) reached two daemons that had each seen it once, and both changes were made. The
 * gateway sees every call, so it keeps which call each key is for and refuses the second. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "tsr_log.h"

#define KEYS_CALL_MAX 600

typedef struct {
    gw_call_t *call;
    char worker[24];
    char used_for[KEYS_CALL_MAX]; /* "POST /api/v1/steps/{id}/requests 14000032" */
    char first[KEYS_CALL_MAX];    /* what the key was first used for, as kept */
} keys_claim_t;

static long keys_keep_days = 30;

int gw_keys_configure(const tsr_config_t *config, tsr_error_t *err)
{
    /* As long as the daemons keep the replies the keys were for. */
    return tsr_config_get_long(config, "tessera.idempotency_keep_days", 30, 1, 3650, &keys_keep_days, err);
}

int gw_keys_forget(PGconn *conn, void *arg, tsr_error_t *err)
{
    (void)arg;
    long gone = tsr_db_delete_past(
        conn, "DELETE FROM idempotency_calls WHERE first_used_at < now() - make_interval(days => $1::int)",
        keys_keep_days, err);
    if (gone < 0)
        return -1;
    if (gone > 0)
        tsr_log_info(NULL, "forgot %ld idempotency keys first used more than %ld days ago", gone,
                     keys_keep_days);
    return 0;
}

static int keys__claim(PGconn *conn, void *arg, tsr_error_t *err)
{
    keys_claim_t *k = arg;
    const char *params[3] = {k->worker, k->call->idempotency_key, k->used_for};
    /* In a transaction of its own whose commit does not wait for the WAL's flush: the UI sends a key
     * with every command, and a synchronous commit here would add a flush to each. A claim lost in
     * a crash only lets a later misuse of the key through, as before the claims were kept. Sent with
     * the INSERT, in its round trip. */
    if (tsr_db_defer(conn, "SET LOCAL synchronous_commit TO off", 0, NULL, NULL, NULL, err) != 0)
        return -1;
    /* The key's first call, kept now or before. The update that changes nothing makes a twin sent
     * at the same moment wait for the first row's commit and read it, where DO NOTHING would return
     * nothing and let both calls through. */
    PGresult *res = tsr_db_exec(conn,
                                "INSERT INTO idempotency_calls (worker_id, idempotency_key, used_for)"
                                " VALUES ($1::bigint, $2, $3) ON CONFLICT (worker_id, idempotency_key)"
                                " DO UPDATE SET used_for = idempotency_calls.used_for RETURNING used_for",
                                3, params, err);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 1)
        snprintf(k->first, sizeof(k->first), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

static void keys__claimed(void *arg, int rc, const tsr_error_t *err)
{
    keys_claim_t *k = arg;
    gw_call_t *call = k->call;
    if (rc != 0)
        gw_reply_error(call, err);
    else if (k->first[0] != '\0' && strcmp(k->first, k->used_for) != 0)
        gw_fail(call, TSR_E_CONFLICT, "idempotency_key_reused", "Idempotency-Key",
                "This Idempotency-Key was already used for a different request (%s). A key stands for one "
                "request: send a new key with a new request.",
                k->first);
    else
        call->route->fn(call);
    free(k);
}

void gw_keys_route(gw_call_t *call)
{
    if (call->idempotency_key == NULL || strcmp(call->route->method, "GET") == 0 ||
        call->actor.worker_id == 0) {
        call->route->fn(call);
        return;
    }
    keys_claim_t *k = calloc(1, sizeof(*k));
    if (k == NULL) {
        gw_fail(call, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
        return;
    }
    k->call = call;
    snprintf(k->worker, sizeof(k->worker), "%" PRIu64, call->actor.worker_id);
    size_t used = (size_t)snprintf(k->used_for, sizeof(k->used_for), "%s %s", call->route->method,
                                   call->route->pattern);
    for (size_t i = 0; i < call->n_path_vars && used < sizeof(k->used_for); i++)
        used += (size_t)snprintf(k->used_for + used, sizeof(k->used_for) - used, " %s", call->path_vars[i]);
    if (tsr_daemon_txn(gateway_daemon(call->gateway), keys__claim, keys__claimed, k) != 0) {
        free(k);
        gw_fail(call, TSR_E_UNAVAILABLE, "shutting_down", NULL,
                "The service is shutting down; try again shortly.");
    }
}
