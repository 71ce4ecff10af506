#include "cpis_routes.h"

#include <stdlib.h>
#include <string.h>

#include "cpis.pb-c.h"

static void cpis__ingested(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                           const tsr_error_t *err)
{
    Tsr__Cpis__IngestReply *r = (Tsr__Cpis__IngestReply *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__cpis__ingest_reply__descriptor);
    if (r == NULL)
        return;
    json_t *errors = json_array(), *duplicates = json_array();
    for (size_t i = 0; i < r->n_errors; i++) {
        const Tsr__Cpis__Rejection *e = r->errors[i];
        json_array_append_new(errors, json_pack("{s:i, s:s, s:s, s:s, s:o}", "index", (json_int_t)e->index,
                                                "notification_id", e->notification_id, "code", e->code,
                                                "reason", e->reason, "error_id", gw_json_id(e->error_id)));
    }
    for (size_t i = 0; i < r->n_duplicate_ids; i++)
        json_array_append_new(duplicates, json_string(r->duplicate_ids[i]));
    json_t *body = json_pack("{s:i, s:i, s:i, s:o, s:o}", "accepted", (json_int_t)r->accepted, "duplicates",
                             (json_int_t)r->duplicates, "inactive_marked", (json_int_t)r->inactive_marked,
                             "duplicate_ids", duplicates, "errors", errors);
    tsr__cpis__ingest_reply__free_unpacked(r, NULL);
    gw_reply_json(call, 200, body);
}

void gw_cpis_notifications_post(gw_call_t *call)
{
    static const char *const fields[] = {"notifications", NULL};
    if (gw_json_check_object(call, fields) != 0)
        return;
    json_t *list = json_object_get(call->body, "notifications");
    if (!json_is_array(list) || json_array_size(list) == 0) {
        gw_fail(call, TSR_E_INVALID, list ? "invalid_value" : "missing_field", "notifications",
                "notifications must be a non-empty list of CP-IS notifications (see docs/cpis-feed.md).");
        return;
    }
    /* Each notification goes on as its own JSON text: cpis judges every one and keeps the faulty
     * ones as they came in its error queue. */
    size_t n = json_array_size(list);
    char **texts = calloc(n, sizeof(*texts));
    if (texts == NULL) {
        gw_fail(call, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
        return;
    }
    for (size_t i = 0; i < n; i++)
        texts[i] = json_dumps(json_array_get(list, i), JSON_COMPACT | JSON_ENCODE_ANY);
    Tsr__Cpis__NotificationsIngest req = TSR__CPIS__NOTIFICATIONS_INGEST__INIT;
    req.notifications_json = texts;
    req.n_notifications_json = n;
    gw_call_daemon(call, "cpis", "cpis.notifications.ingest", &req.base, cpis__ingested);
    for (size_t i = 0; i < n; i++)
        free(texts[i]);
    free(texts);
}

static void cpis__errors_listed(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                const tsr_error_t *err)
{
    Tsr__Cpis__ErrorList *list =
        (Tsr__Cpis__ErrorList *)gw_reply_unpack(call, daemon, reply, err, &tsr__cpis__error_list__descriptor);
    if (list == NULL)
        return;
    json_t *items = json_array();
    for (size_t i = 0; i < list->n_items; i++) {
        const Tsr__Cpis__QueuedError *e = list->items[i];
        json_t *notification = json_loads(e->notification_json, JSON_DECODE_ANY, NULL);
        json_array_append_new(items, json_pack("{s:o, s:s, s:s, s:s, s:s, s:o, s:i, s:o}", "id",
                                               gw_json_id(e->id), "notification_id", e->notification_id,
                                               "nhs_number", e->nhs_number, "code", e->code, "reason",
                                               e->reason, "received_at", gw_json_time(e->received_at_ms),
                                               "times_received", (json_int_t)e->times_received,
                                               "notification", notification ? notification : json_null()));
    }
    json_t *body = gw_list_body(items, list->next_cursor);
    tsr__cpis__error_list__free_unpacked(list, NULL);
    gw_reply_json(call, 200, body);
}

void gw_cpis_errors(gw_call_t *call)
{
    Tsr__Cpis__ErrorQuery req = TSR__CPIS__ERROR_QUERY__INIT;
    const char *cursor = gw_param(call, "cursor");
    if (gw_param_limit(call, &req.limit) != 0)
        return;
    req.cursor = (char *)(cursor ? cursor : "");
    gw_call_daemon(call, "cpis", "cpis.errors.list", &req.base, cpis__errors_listed);
}
