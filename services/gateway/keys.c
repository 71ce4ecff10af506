/* keys: an Idempotency-Key's first use by each worker, and the call it was used for. Each daemon
 * keeps the replies to the keys it was sent, and refuses one used again for another kind of request
 * of its own; a key used first for one daemon's call and then for another's (an organisation added,
 * then a worker) reached two daemons that had each seen it once, and both changes were made. The
 * gateway sees every call, so it keeps which call each key is for and refuses the second.
 *
 * A rejected call changes nothing, its key's claim included: a call refused (403 restricted_record,
 * 422, 400) or failed with nothing done (its daemon down, 503) frees the key it claimed before it is
 * answered, so the key may be used again, for this call or another; a daemon keeps no reply for a
 * call that failed, so this call sent again runs again. The key stays claimed when something may have
 * been done: a daemon answered the call with success (a reply built from several answers, one failing
 * after another succeeded), or did not answer once the request had left (it may yet commit). A call
 * frees only a claim it made (claimed_by): a retry refused in its turn leaves the first's. A twin that
 * succeeded on a claim its first made takes the claim over, so that the first's error cannot free
 * the key of the twin's change. */
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
    int owned;                    /* the claim is this call's own */
} keys_claim_t;

/* A claim freed or taken over before the call's answer is sent, and that answer meanwhile. */
typedef struct {
    gw_call_t *call;
    char worker[24];
    char key[256 * 4]; /* up to 200 characters of UTF-8 */
    char used_for[KEYS_CALL_MAX];
    char trace_id[33];
    int release; /* free the claim (else take it over) */
    int status;
    char *content_type;
    char *body;
    size_t len;
} keys_settle_t;

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

/* The call a key stands for: its route and its path's ids. */
static void keys__used_for(const gw_call_t *call, char *out, size_t size)
{
    size_t used = (size_t)snprintf(out, size, "%s %s", call->route->method, call->route->pattern);
    for (size_t i = 0; i < call->n_path_vars && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, " %s", call->path_vars[i]);
}

static int keys__claim(PGconn *conn, void *arg, tsr_error_t *err)
{
    keys_claim_t *k = arg;
    const char *params[4] = {k->worker, k->call->idempotency_key, k->used_for, k->call->trace_id};
    /* In a transaction of its own whose commit does not wait for the WAL's flush: the UI sends a key
     * with every command, and a synchronous commit here would add a flush to each. A claim lost in
     * a crash only lets a later misuse of the key through, as before the claims were kept. Sent with
     * the INSERT, in its round trip. */
    if (tsr_db_defer(conn, "SET LOCAL synchronous_commit TO off", 0, NULL, NULL, NULL, err) != 0)
        return -1;
    /* The key's first call, kept now or before. The update that changes nothing makes a twin sent
     * at the same moment wait for the first row's commit and read it, where DO NOTHING would return
     * nothing and let both calls through. */
    PGresult *res =
        tsr_db_exec(conn,
                    "INSERT INTO idempotency_calls (worker_id, idempotency_key, used_for, claimed_by)"
                    " VALUES ($1::bigint, $2, $3, $4) ON CONFLICT (worker_id, idempotency_key)"
                    " DO UPDATE SET used_for = idempotency_calls.used_for"
                    " RETURNING used_for, claimed_by = $4",
                    4, params, err);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 1) {
        snprintf(k->first, sizeof(k->first), "%s", PQgetvalue(res, 0, 0));
        k->owned = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    }
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
    else {
        call->key_held = 1;
        call->key_owned = k->owned;
        call->maybe_changed = 0;
        call->route->fn(call);
    }
    free(k);
}

static int keys__settle(PGconn *conn, void *arg, tsr_error_t *err)
{
    keys_settle_t *s = arg;
    const char *params[4] = {s->worker, s->key, s->used_for, s->trace_id};
    if (tsr_db_defer(conn, "SET LOCAL synchronous_commit TO off", 0, NULL, NULL, NULL, err) != 0)
        return -1;
    /* Freed only if still this call's own claim; taken over only if still for this call (a claim
     * freed meanwhile is made again: the change this call made is the key's). */
    PGresult *res =
        s->release
            ? tsr_db_exec(
                  conn,
                  "DELETE FROM idempotency_calls WHERE worker_id = $1::bigint AND idempotency_key = $2"
                  " AND used_for = $3 AND claimed_by = $4",
                  4, params, err)
            : tsr_db_exec(conn,
                          "INSERT INTO idempotency_calls (worker_id, idempotency_key, used_for, claimed_by)"
                          " VALUES ($1::bigint, $2, $3, $4) ON CONFLICT (worker_id, idempotency_key)"
                          " DO UPDATE SET claimed_by = EXCLUDED.claimed_by"
                          " WHERE idempotency_calls.used_for = EXCLUDED.used_for",
                          4, params, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

static void keys__settled(void *arg, int rc, const tsr_error_t *err)
{
    keys_settle_t *s = arg;
    /* The answer is the call's either way: a key left claimed is the safe side of a failure here. */
    if (rc != 0)
        tsr_log_warn(s->trace_id, "the Idempotency-Key's claim could not be %s: %s",
                     s->release ? "freed" : "taken over", err ? err->message : "");
    gw_reply_text(s->call, s->status, s->content_type, s->body, s->len);
    free(s->content_type);
    free(s->body);
    free(s);
}

int gw_keys_settle(gw_call_t *call, int status, const char *content_type, const char *body, size_t len)
{
    int release = status >= 400 && call->key_owned && !call->maybe_changed;
    int take_over = status < 400 && !call->key_owned;
    call->key_held = 0; /* settled once: the answer below goes straight out */
    if (!release && !take_over)
        return 0;
    keys_settle_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return 0;
    s->call = call;
    s->release = release;
    s->status = status;
    snprintf(s->worker, sizeof(s->worker), "%" PRIu64, call->actor.worker_id);
    snprintf(s->key, sizeof(s->key), "%s", call->idempotency_key);
    keys__used_for(call, s->used_for, sizeof(s->used_for));
    snprintf(s->trace_id, sizeof(s->trace_id), "%s", call->trace_id);
    s->content_type = content_type ? strdup(content_type) : NULL;
    s->body = malloc(len ? len : 1);
    if ((content_type != NULL && s->content_type == NULL) || s->body == NULL) {
        free(s->content_type);
        free(s->body);
        free(s);
        return 0;
    }
    if (len > 0)
        memcpy(s->body, body, len);
    s->len = len;
    if (tsr_daemon_txn(gateway_daemon(call->gateway), keys__settle, keys__settled, s) != 0) {
        free(s->content_type);
        free(s->body);
        free(s);
        return 0;
    }
    return 1;
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
    keys__used_for(call, k->used_for, sizeof(k->used_for));
    if (tsr_daemon_txn(gateway_daemon(call->gateway), keys__claim, keys__claimed, k) != 0) {
        free(k);
        gw_fail(call, TSR_E_UNAVAILABLE, "shutting_down", NULL,
                "The service is shutting down; try again shortly.");
    }
}
