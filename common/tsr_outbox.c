#include "tsr_outbox.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsr_db.h"
#include "tsr_envelope.h"

/* Events removed by one round of housekeeping at most: an hour's round keeps up with far more than a
 * council writes in an hour, and no round holds a long lock on the outbox. */
#define OUTBOX_FORGET_PAGE "100000"

uint8_t *tsr_outbox_pack(const char *type, const Tsr__Actor *actor, const char *trace_id,
                         const ProtobufCMessage *payload, size_t *len, tsr_error_t *err)
{
    size_t payload_len = 0;
    uint8_t *payload_buf = tsr_pack(payload, &payload_len);
    if (payload_buf == NULL) {
        tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory writing an event.");
        return NULL;
    }
    Tsr__Envelope env = TSR__ENVELOPE__INIT;
    env.kind = TSR__ENVELOPE__KIND__EVENT;
    env.type = (char *)type;
    env.trace_id = (char *)(trace_id ? trace_id : "");
    env.actor = (Tsr__Actor *)actor;
    env.occurred_at_ms = tsr_now_ms();
    env.payload.data = payload_buf;
    env.payload.len = payload_len;
    uint8_t *env_buf = tsr_pack(&env.base, len);
    free(payload_buf);
    if (env_buf == NULL)
        tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory writing an event.");
    return env_buf;
}

int tsr_outbox_append(PGconn *conn, const char *type, const Tsr__Actor *actor, const char *trace_id,
                      const ProtobufCMessage *payload, tsr_error_t *err)
{
    size_t env_len = 0;
    uint8_t *env_buf = tsr_outbox_pack(type, actor, trace_id, payload, &env_len, err);
    if (env_buf == NULL)
        return -1;
    const char *values[2] = {type, (const char *)env_buf};
    int lengths[2] = {0, (int)env_len};
    int formats[2] = {0, 1};
    /* Its result tells nothing: the row goes with the transaction's next statement or COMMIT. */
    int rc = tsr_db_defer(conn, "INSERT INTO outbox (type, envelope) VALUES ($1, $2)", 2, values, lengths,
                          formats, err);
    free(env_buf);
    return rc;
}

/* The events' types and envelopes as two binary array parameters (text[] and bytea[]). */
typedef struct {
    uint8_t *types;
    uint8_t *envelopes;
    const char *values[2];
    int lengths[2];
    int formats[2];
} outbox_arrays_t;

static int outbox__arrays(const tsr_outbox_event_t *events, size_t count, outbox_arrays_t *a,
                          tsr_error_t *err)
{
    memset(a, 0, sizeof(*a));
    const uint8_t **types = calloc(count, sizeof(*types)), **envelopes = calloc(count, sizeof(*envelopes));
    size_t *type_lens = calloc(count, sizeof(*type_lens)),
           *envelope_lens = calloc(count, sizeof(*envelope_lens));
    size_t type_len = 0, envelope_len = 0;
    if (types != NULL && envelopes != NULL && type_lens != NULL && envelope_lens != NULL) {
        for (size_t i = 0; i < count; i++) {
            types[i] = (const uint8_t *)events[i].type;
            type_lens[i] = strlen(events[i].type);
            envelopes[i] = events[i].envelope;
            envelope_lens[i] = events[i].len;
        }
        a->types = tsr_db_binary_array(TSR_DB_TEXT_OID, types, type_lens, count, &type_len);
        a->envelopes = tsr_db_binary_array(TSR_DB_BYTEA_OID, envelopes, envelope_lens, count, &envelope_len);
    }
    free(types);
    free(envelopes);
    free(type_lens);
    free(envelope_lens);
    if (a->types == NULL || a->envelopes == NULL) {
        free(a->types);
        free(a->envelopes);
        memset(a, 0, sizeof(*a));
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory writing events.");
    }
    a->values[0] = (const char *)a->types;
    a->values[1] = (const char *)a->envelopes;
    a->lengths[0] = (int)type_len;
    a->lengths[1] = (int)envelope_len;
    a->formats[0] = a->formats[1] = 1;
    return 0;
}

static void outbox__arrays_free(outbox_arrays_t *a)
{
    free(a->types);
    free(a->envelopes);
    memset(a, 0, sizeof(*a));
}

int tsr_outbox_append_packed(PGconn *conn, const tsr_outbox_event_t *events, size_t count, tsr_error_t *err)
{
    if (count == 0)
        return 0;
    outbox_arrays_t a;
    if (outbox__arrays(events, count, &a, err) != 0)
        return -1;
    /* One statement however many, in the given order so that the relay numbers them so; sent with
     * the transaction's next statement or COMMIT. */
    int rc = tsr_db_defer(conn,
                          "INSERT INTO outbox (type, envelope) SELECT t, e"
                          " FROM unnest($1::text[], $2::bytea[]) WITH ORDINALITY AS u(t, e, o) ORDER BY o",
                          2, a.values, a.lengths, a.formats, err);
    outbox__arrays_free(&a);
    return rc;
}

int tsr_outbox_append_many(PGconn *conn, const char *type, const Tsr__Actor *actor, const char *trace_id,
                           const ProtobufCMessage *const *payloads, size_t n, tsr_error_t *err)
{
    if (n == 0)
        return 0;
    tsr_outbox_event_t *events = calloc(n, sizeof(*events));
    if (events == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory writing events.");
    int rc = 0;
    size_t packed = 0;
    for (; packed < n && rc == 0; packed++) {
        events[packed].type = type;
        events[packed].envelope =
            tsr_outbox_pack(type, actor, trace_id, payloads[packed], &events[packed].len, err);
        if (events[packed].envelope == NULL)
            rc = -1;
    }
    if (rc == 0)
        rc = tsr_outbox_append_packed(conn, events, n, err);
    for (size_t i = 0; i < packed; i++)
        free((uint8_t *)events[i].envelope);
    free(events);
    return rc;
}

/* Fills producer and seq into a stored envelope and packs it again. */
static uint8_t *outbox__stamp(const unsigned char *stored, size_t len, const char *producer, uint64_t seq,
                              size_t *out_len)
{
    Tsr__Envelope *env = tsr__envelope__unpack(NULL, len, stored);
    if (env == NULL)
        return NULL;
    char *old_producer = env->producer;
    env->producer = (char *)producer;
    env->seq = seq;
    uint8_t *buf = tsr_pack(&env->base, out_len);
    env->producer = old_producer;
    tsr__envelope__free_unpacked(env, NULL);
    return buf;
}

static int outbox__collect(PGresult *res, const char *producer, tsr_outbox_batch_t *batch, tsr_error_t *err)
{
    int rows = PQntuples(res);
    batch->events = calloc(rows ? (size_t)rows : 1, sizeof(uint8_t *));
    batch->lens = calloc(rows ? (size_t)rows : 1, sizeof(size_t));
    if (batch->events == NULL || batch->lens == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory reading events.");
    for (int i = 0; i < rows; i++) {
        uint64_t seq = tsr_db_get_int8(res, i, 0);
        uint8_t *packed = outbox__stamp((const uint8_t *)PQgetvalue(res, i, 1),
                                        (size_t)PQgetlength(res, i, 1), producer, seq, &batch->lens[i]);
        if (packed == NULL)
            return tsr_error_set(err, TSR_E_INTERNAL, "bad_outbox_event", NULL,
                                 "Outbox event %" PRIu64 " of %s cannot be read back.", seq, producer);
        batch->events[batch->count++] = packed;
    }
    return 0;
}

/* The relay's numbering, as one transaction of prepared statements in two round trips (the relay
 * runs every few tens of milliseconds on a busy daemon, and planning the numbering cost the server
 * more than running it): BEGIN and the lock on relay_state go with the numbering, then COMMIT. In
 * READ COMMITTED each statement takes its own snapshot, so the rows numbered are those committed
 * once the lock is held: a transaction still open gets a later number when it commits, and a
 * published sequence never has a hole filled in behind it. The head comes back on every row (one
 * row with no event when nothing was waiting). */
static const char outbox__assign_sql[] =
    "WITH picked AS ("
    "  SELECT id, row_number() OVER (ORDER BY id) AS n FROM ("
    "    SELECT id FROM outbox WHERE seq IS NULL ORDER BY id LIMIT $1::int) AS unnumbered)"
    " , numbered AS ("
    "  UPDATE outbox o SET seq = (SELECT last_seq FROM relay_state) + picked.n FROM picked"
    "  WHERE o.id = picked.id RETURNING o.seq, o.envelope)"
    " , head AS ("
    "  UPDATE relay_state SET last_seq = greatest(last_seq, coalesce((SELECT max(seq) FROM numbered), 0))"
    "  RETURNING last_seq)"
    " SELECT n.seq, n.envelope, h.last_seq FROM head h LEFT JOIN numbered n ON true ORDER BY n.seq";

int tsr_outbox_assign(PGconn *conn, const char *producer, int limit, tsr_outbox_batch_t *batch,
                      tsr_error_t *err)
{
    memset(batch, 0, sizeof(*batch));
    char lim[16];
    snprintf(lim, sizeof(lim), "%d", limit);
    const char *params[1] = {lim};
    PGresult *res = NULL;
    if (tsr_db_begin(conn, err) != 0 ||
        tsr_db_defer(conn, "SELECT last_seq FROM relay_state FOR UPDATE", 0, NULL, NULL, NULL, err) != 0 ||
        (res = tsr_db_exec_binary_result(conn, outbox__assign_sql, 1, params, err)) == NULL)
        goto failed;
    int rows = PQntuples(res);
    if (rows < 1) {
        tsr_error_set(err, TSR_E_INTERNAL, "outbox_numbering", NULL,
                      "The outbox numbering returned no head.");
        goto failed;
    }
    batch->head = tsr_db_get_int8(res, 0, 2);
    /* The row of an empty numbering has no event. */
    if (!PQgetisnull(res, 0, 0) && outbox__collect(res, producer, batch, err) != 0)
        goto failed;
    PQclear(res);
    res = NULL;
    if (tsr_db_command(conn, "COMMIT", err) != 0)
        goto failed;
    return 0;
failed:
    PQclear(res);
    /* Also drops a BEGIN or the lock still waiting to be sent. */
    tsr_db_command(conn, "ROLLBACK", NULL);
    tsr_outbox_batch_free(batch);
    return -1;
}

/* The group commit's numbering: its events take the next numbers under the relay's lock, in the
 * statement that writes them, and the head moves with them. The lock is held until COMMIT (sent in the
 * same round trip), so no number is given behind a commit that has not happened yet. */
static const char outbox__commit_numbered_sql[] =
    "WITH numbered AS ("
    "  INSERT INTO outbox (type, envelope, seq)"
    "  SELECT t, e, (SELECT last_seq FROM relay_state) + o"
    "  FROM unnest($1::text[], $2::bytea[]) WITH ORDINALITY AS u(t, e, o) ORDER BY o RETURNING seq)"
    " UPDATE relay_state SET last_seq = (SELECT max(seq) FROM numbered) RETURNING last_seq";

int tsr_outbox_commit_numbered(PGconn *conn, const char *producer, const tsr_outbox_event_t *events,
                               size_t count, tsr_outbox_batch_t *batch, tsr_error_t *err)
{
    memset(batch, 0, sizeof(*batch));
    if (count == 0)
        return tsr_db_command(conn, "COMMIT", err);
    outbox_arrays_t a;
    if (outbox__arrays(events, count, &a, err) != 0)
        return -1;
    PGresult *res = NULL;
    if (tsr_db_defer(conn, "SELECT last_seq FROM relay_state FOR UPDATE", 0, NULL, NULL, NULL, err) == 0)
        res =
            tsr_db_exec_and_commit(conn, outbox__commit_numbered_sql, 2, a.values, a.lengths, a.formats, err);
    outbox__arrays_free(&a);
    if (res == NULL)
        return -1;
    uint64_t head = tsr_db_get_int8(res, 0, 0);
    PQclear(res);
    /* Committed: from here on only what to publish is at stake, and the relay reads back from the
     * outbox whatever this cannot give it. */
    batch->head = head;
    batch->events = calloc(count, sizeof(uint8_t *));
    batch->lens = calloc(count, sizeof(size_t));
    if (batch->events == NULL || batch->lens == NULL) {
        tsr_outbox_batch_free(batch);
        batch->head = head;
        return 0;
    }
    for (size_t i = 0; i < count; i++) {
        batch->events[i] =
            outbox__stamp(events[i].envelope, events[i].len, producer, head - count + 1 + i, &batch->lens[i]);
        if (batch->events[i] == NULL) {
            tsr_outbox_batch_free(batch);
            batch->head = head;
            return 0;
        }
        batch->count++;
    }
    return 0;
}

int tsr_outbox_read(PGconn *conn, const char *producer, uint64_t after_seq, int limit,
                    tsr_outbox_batch_t *batch, tsr_error_t *err)
{
    memset(batch, 0, sizeof(*batch));
    char after[32], lim[16];
    snprintf(after, sizeof(after), "%" PRIu64, after_seq);
    snprintf(lim, sizeof(lim), "%d", limit);
    const char *params[2] = {after, lim};
    PGresult *res = tsr_db_exec_binary_result(
        conn, "SELECT seq, envelope FROM outbox WHERE seq > $1::bigint ORDER BY seq LIMIT $2::int", 2, params,
        err);
    if (res == NULL)
        return -1;
    int rc = outbox__collect(res, producer, batch, err);
    PQclear(res);
    if (rc != 0) {
        tsr_outbox_batch_free(batch);
        return -1;
    }
    /* The events kept are the numbered ones from the oldest to the head, with no hole: those before
     * the oldest were removed whole (tsr_outbox_forget). */
    res = tsr_db_exec(conn,
                      "SELECT r.last_seq, coalesce((SELECT min(seq) FROM outbox WHERE seq IS NOT NULL),"
                      " r.last_seq + 1) FROM relay_state r",
                      0, NULL, err);
    if (res == NULL) {
        tsr_outbox_batch_free(batch);
        return -1;
    }
    batch->head = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    batch->oldest = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    return 0;
}

long tsr_outbox_forget(PGconn *conn, long keep_days, tsr_error_t *err)
{
    /* The oldest page by number, up to its last event past keeping: what is left is the newest run,
     * whole, so that a replay can tell what it can no longer give. Numbers follow commits, so an
     * event a little younger that commits between two older ones goes with them. */
    return tsr_db_delete_past(
        conn,
        "DELETE FROM outbox WHERE seq IS NOT NULL AND seq <= (SELECT max(seq) FROM"
        " (SELECT seq, created_at FROM outbox WHERE seq IS NOT NULL ORDER BY seq LIMIT " OUTBOX_FORGET_PAGE
        ") page WHERE created_at < now() - make_interval(days => $1::int))",
        keep_days, err);
}

void tsr_outbox_batch_free(tsr_outbox_batch_t *batch)
{
    for (size_t i = 0; batch->events && i < batch->count; i++)
        free(batch->events[i]);
    free(batch->events);
    free(batch->lens);
    memset(batch, 0, sizeof(*batch));
}
