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
    /* The batch goes on unread (the route is GW_BODY_RAW): cpis reads it once, judges every
     * notification and keeps the faulty ones as they came in its error queue. Read here as well, a
     * part of a feed file was parsed twice and printed once more on its way. */
    Tsr__Cpis__NotificationsIngest req = TSR__CPIS__NOTIFICATIONS_INGEST__INIT;
    req.batch_json = call->raw_body;
    gw_call_daemon(call, "cpis", "cpis.notifications.ingest", &req.base, cpis__ingested);
}

void gw_cpis_error_retry(gw_call_t *call)
{
    Tsr__Cpis__ErrorRetry req = TSR__CPIS__ERROR_RETRY__INIT;
    if (gw_path_id(call, 0, &req.id) != 0)
        return;
    gw_call_daemon(call, "cpis", "cpis.errors.retry", &req.base, cpis__ingested);
}

/* An entry of the error queue as the API gives it. */
static json_t *cpis__error_json(const Tsr__Cpis__QueuedError *e)
{
    json_t *notification = json_loads(e->notification_json, JSON_DECODE_ANY, NULL);
    json_t *item = json_pack("{s:o, s:s, s:s, s:s, s:s, s:s, s:o, s:i, s:o}", "id", gw_json_id(e->id),
                             "source", e->source, "notification_id", e->notification_id, "nhs_number",
                             e->nhs_number, "code", e->code, "reason", e->reason, "received_at",
                             gw_json_time(e->received_at_ms), "times_received", (json_int_t)e->times_received,
                             "notification", notification ? notification : json_null());
    /* Plan export and response errors name the plan, the child and the file. */
    json_object_set_new(item, "plan_id", e->plan_id ? gw_json_id(e->plan_id) : json_null());
    json_object_set_new(item, "person_id", e->person_id ? gw_json_id(e->person_id) : json_null());
    json_object_set_new(item, "file_sequence_number",
                        e->file_sequence_number ? gw_json_id(e->file_sequence_number) : json_null());
    json_object_set_new(item, "record_number",
                        e->record_number ? json_integer(e->record_number) : json_null());
    /* A closed entry: when, by whom and why. */
    json_object_set_new(item, "closed_at", e->closed_by ? gw_json_time(e->closed_at_ms) : json_null());
    json_object_set_new(item, "closed_by", e->closed_by ? gw_json_id(e->closed_by) : json_null());
    json_object_set_new(item, "close_reason", e->closed_by ? json_string(e->close_reason) : json_null());
    return item;
}

static void cpis__errors_listed(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                const tsr_error_t *err)
{
    Tsr__Cpis__ErrorList *list =
        (Tsr__Cpis__ErrorList *)gw_reply_unpack(call, daemon, reply, err, &tsr__cpis__error_list__descriptor);
    if (list == NULL)
        return;
    json_t *items = json_array();
    for (size_t i = 0; i < list->n_items; i++)
        json_array_append_new(items, cpis__error_json(list->items[i]));
    json_t *body = gw_list_body(items, list->next_cursor);
    tsr__cpis__error_list__free_unpacked(list, NULL);
    gw_reply_json(call, 200, body);
}

static void cpis__error_closed(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                               const tsr_error_t *err)
{
    Tsr__Cpis__QueuedError *e = (Tsr__Cpis__QueuedError *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__cpis__queued_error__descriptor);
    if (e == NULL)
        return;
    json_t *body = cpis__error_json(e);
    tsr__cpis__queued_error__free_unpacked(e, NULL);
    gw_reply_json(call, 200, body);
}

void gw_cpis_error_close(gw_call_t *call)
{
    static const char *const fields[] = {"reason", NULL};
    Tsr__Cpis__ErrorClose req = TSR__CPIS__ERROR_CLOSE__INIT;
    const char *reason = NULL;
    if (gw_path_id(call, 0, &req.id) != 0 || gw_json_check_object(call, fields) != 0 ||
        gw_json_string(call, "reason", 1, &reason) != 0)
        return;
    req.reason = (char *)reason;
    gw_call_daemon(call, "cpis", "cpis.errors.close", &req.base, cpis__error_closed);
}

void gw_cpis_errors(gw_call_t *call)
{
    Tsr__Cpis__ErrorQuery req = TSR__CPIS__ERROR_QUERY__INIT;
    const char *cursor = gw_param(call, "cursor"), *state = gw_param(call, "state");
    if (gw_param_limit(call, &req.limit) != 0)
        return;
    req.cursor = (char *)(cursor ? cursor : "");
    req.state = (char *)(state ? state : "");
    gw_call_daemon(call, "cpis", "cpis.errors.list", &req.base, cpis__errors_listed);
}

/* ------------------------------------------------------------------------------------------------
 * Plan data out: the cpis daemon answers with the JSON the API gives (an upload file byte for byte).
 * ---------------------------------------------------------------------------------------------- */

static void cpis__json_replied(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                               const tsr_error_t *err, int status)
{
    Tsr__Cpis__JsonReply *r =
        (Tsr__Cpis__JsonReply *)gw_reply_unpack(call, daemon, reply, err, &tsr__cpis__json_reply__descriptor);
    if (r == NULL)
        return;
    gw_reply_text(call, status, "application/json", r->json, strlen(r->json));
    tsr__cpis__json_reply__free_unpacked(r, NULL);
}

static void cpis__json_ok(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                          const tsr_error_t *err)
{
    cpis__json_replied(call, daemon, reply, err, 200);
}

static void cpis__json_created(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                               const tsr_error_t *err)
{
    cpis__json_replied(call, daemon, reply, err, 201);
}

void gw_cpis_plans_list(gw_call_t *call)
{
    Tsr__Cpis__PlanQuery req = TSR__CPIS__PLAN_QUERY__INIT;
    const char *cursor = gw_param(call, "cursor");
    if (gw_param_id(call, "person_id", &req.person_id) != 0 || gw_param_limit(call, &req.limit) != 0)
        return;
    req.cursor = (char *)(cursor ? cursor : "");
    gw_call_daemon(call, "cpis", "cpis.plans.list", &req.base, cpis__json_ok);
}

void gw_cpis_plan_record(gw_call_t *call)
{
    static const char *const fields[] = {"person_id",  "plan_type", "legal_status",
                                         "start_date", "end_date",  NULL};
    Tsr__Cpis__PlanRecord req = TSR__CPIS__PLAN_RECORD__INIT;
    const char *type = NULL, *legal = NULL, *start = NULL, *end = NULL;
    if (gw_json_check_object(call, fields) != 0 ||
        gw_json_member_id(call, NULL, "person_id", 1, &req.person_id) != 0 ||
        gw_json_string(call, "plan_type", 1, &type) != 0 ||
        gw_json_string(call, "legal_status", 0, &legal) != 0 ||
        gw_json_string(call, "start_date", 1, &start) != 0 || gw_json_string(call, "end_date", 0, &end) != 0)
        return;
    req.plan_type = (char *)type;
    req.legal_status = (char *)(legal ? legal : "");
    req.start_date = (char *)start;
    req.end_date = (char *)(end ? end : "");
    gw_call_daemon(call, "cpis", "cpis.plans.record", &req.base, cpis__json_created);
}

void gw_cpis_plan_end(gw_call_t *call)
{
    static const char *const fields[] = {"end_date", NULL};
    Tsr__Cpis__PlanEnd req = TSR__CPIS__PLAN_END__INIT;
    const char *end = NULL;
    if (gw_path_id(call, 0, &req.plan_id) != 0)
        return;
    if (call->body != NULL &&
        (gw_json_check_object(call, fields) != 0 || gw_json_string(call, "end_date", 0, &end) != 0))
        return;
    req.end_date = (char *)(end ? end : "");
    gw_call_daemon(call, "cpis", "cpis.plans.end", &req.base, cpis__json_ok);
}

void gw_cpis_demographics_record(gw_call_t *call)
{
    static const char *const fields[] = {"nhs_number", "family_name", "given_names", "date_of_birth", NULL};
    Tsr__Cpis__Demographics req = TSR__CPIS__DEMOGRAPHICS__INIT;
    const char *nhs = NULL, *family = NULL, *dob = NULL;
    char *given[11];
    size_t n_given = 0;
    if (gw_json_check_object(call, fields) != 0 || gw_json_string(call, "nhs_number", 1, &nhs) != 0 ||
        gw_json_string(call, "family_name", 1, &family) != 0 ||
        gw_json_member_strings(call, NULL, "given_names", given, 11, &n_given) != 0 ||
        gw_json_string(call, "date_of_birth", 1, &dob) != 0)
        return;
    req.nhs_number = (char *)nhs;
    req.family_name = (char *)family;
    req.given_names = given;
    req.n_given_names = n_given;
    req.date_of_birth = (char *)dob;
    gw_call_daemon(call, "cpis", "cpis.demographics.record", &req.base, cpis__json_ok);
}

void gw_cpis_upload_create(gw_call_t *call)
{
    static const char *const fields[] = {NULL};
    if (call->body != NULL && gw_json_check_object(call, fields) != 0)
        return;
    Tsr__Cpis__UploadCreate req = TSR__CPIS__UPLOAD_CREATE__INIT;
    gw_call_daemon(call, "cpis", "cpis.uploads.create", &req.base, cpis__json_created);
}

void gw_cpis_uploads_list(gw_call_t *call)
{
    Tsr__Cpis__UploadQuery req = TSR__CPIS__UPLOAD_QUERY__INIT;
    const char *cursor = gw_param(call, "cursor");
    if (gw_param_limit(call, &req.limit) != 0)
        return;
    req.cursor = (char *)(cursor ? cursor : "");
    gw_call_daemon(call, "cpis", "cpis.uploads.list", &req.base, cpis__json_ok);
}

void gw_cpis_upload_get(gw_call_t *call)
{
    Tsr__Cpis__UploadGet req = TSR__CPIS__UPLOAD_GET__INIT;
    if (gw_path_id(call, 0, &req.file_sequence_number) != 0)
        return;
    gw_call_daemon(call, "cpis", "cpis.uploads.get", &req.base, cpis__json_ok);
}

void gw_cpis_upload_response(gw_call_t *call)
{
    Tsr__Cpis__ResponseRead req = TSR__CPIS__RESPONSE_READ__INIT;
    if (gw_path_id(call, 0, &req.file_sequence_number) != 0)
        return;
    /* The response goes on whole: cpis judges each field and record of it. */
    char *text = json_dumps(call->body, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text == NULL) {
        gw_fail(call, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
        return;
    }
    req.response_json = text;
    gw_call_daemon(call, "cpis", "cpis.uploads.response", &req.base, cpis__json_ok);
    free(text);
}
