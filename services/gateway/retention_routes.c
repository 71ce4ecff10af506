#include "retention_routes.h"

#include <stdio.h>
#include <string.h>

static json_t *retention__flag(const Tsr__Records__RetentionFlag *f)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "service", f->service, "criterion", f->criterion,
                     "criterion_title", f->criterion_title, "closed_on", f->closed_on, "keep_until",
                     f->keep_until, "flagged_by", gw_json_id(f->flagged_by), "flagged_at",
                     gw_json_time(f->flagged_at_ms));
}

static json_t *retention__strings(char **items, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(items[i]));
    return a;
}

json_t *gw_retention_json(const Tsr__Records__Retention *r)
{
    json_t *flags = json_array();
    for (size_t i = 0; i < r->n_flags; i++)
        json_array_append_new(flags, retention__flag(r->flags[i]));
    json_t *hold = json_null();
    if (r->hold != NULL)
        hold = json_pack("{s:s, s:o, s:o, s:o}", "reason", r->hold->reason, "review_date",
                         r->hold->review_date[0] ? json_string(r->hold->review_date) : json_null(), "held_by",
                         gw_json_id(r->hold->held_by), "held_at", gw_json_time(r->hold->held_at_ms));
    return json_pack("{s:o, s:o, s:o, s:o, s:o}", "flags", flags, "keep_until",
                     r->keep_until[0] ? json_string(r->keep_until) : json_null(), "hold", hold,
                     "open_services", retention__strings(r->open_services, r->n_open_services),
                     "unflagged_services",
                     retention__strings(r->unflagged_services, r->n_unflagged_services));
}

static void retention__replied(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                               const tsr_error_t *err)
{
    Tsr__Records__Retention *r = (Tsr__Records__Retention *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__records__retention__descriptor);
    if (r == NULL)
        return;
    json_t *body = gw_retention_json(r);
    tsr__records__retention__free_unpacked(r, NULL);
    gw_reply_json(call, 200, body);
}

static void retention__schedule_replied(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                        const tsr_error_t *err)
{
    Tsr__Records__RetentionSchedule *s = (Tsr__Records__RetentionSchedule *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__records__retention_schedule__descriptor);
    if (s == NULL)
        return;
    json_t *criteria = json_array();
    for (size_t i = 0; i < s->n_criteria; i++) {
        const Tsr__Records__RetentionCriterion *c = s->criteria[i];
        json_array_append_new(criteria, json_pack("{s:s, s:s, s:s, s:i, s:s}", "code", c->code, "title",
                                                  c->title, "service", c->service, "keep_years",
                                                  (int)c->keep_years, "from", c->from));
    }
    tsr__records__retention_schedule__free_unpacked(s, NULL);
    gw_reply_json(call, 200, json_pack("{s:o}", "criteria", criteria));
}

void gw_retention_schedule(gw_call_t *call)
{
    Tsr__Records__RetentionScheduleGet req = TSR__RECORDS__RETENTION_SCHEDULE_GET__INIT;
    gw_call_daemon(call, "records", "records.retention.schedule", &req.base, retention__schedule_replied);
}

/* The service of the path: one of the three, or 404 (a path that names no service names nothing). */
static int retention__path_service(gw_call_t *call, const char **out)
{
    const char *service = call->n_path_vars > 1 ? call->path_vars[1] : "";
    if (strcmp(service, "CSSW") != 0 && strcmp(service, "EH") != 0 && strcmp(service, "ASC") != 0) {
        gw_fail(call, TSR_E_NOT_FOUND, "not_found", "service",
                "There is no service '%.20s' to flag: the services are CSSW, EH and ASC.", service);
        return -1;
    }
    *out = service;
    return 0;
}

void gw_retention_flag(gw_call_t *call)
{
    static const char *const fields[] = {"criterion", "closed_on", "reason", NULL};
    Tsr__Records__RetentionFlagSet req = TSR__RECORDS__RETENTION_FLAG_SET__INIT;
    const char *service, *criterion = NULL, *closed_on = NULL, *reason = NULL;
    if (gw_path_id(call, 0, &req.person_id) != 0 || retention__path_service(call, &service) != 0 ||
        gw_json_check_object(call, fields) != 0 ||
        gw_json_member_string(call, NULL, "criterion", "criterion", 0, &criterion) != 0 ||
        gw_json_member_string(call, NULL, "closed_on", "closed_on", 0, &closed_on) != 0 ||
        gw_json_member_string(call, NULL, "reason", "reason", 0, &reason) != 0)
        return;
    req.service = (char *)service;
    req.criterion = (char *)(criterion ? criterion : "");
    req.closed_on = (char *)(closed_on ? closed_on : "");
    req.reason = (char *)(reason ? reason : "");
    gw_call_daemon(call, "records", "records.retention.flag", &req.base, retention__replied);
}

void gw_retention_unflag(gw_call_t *call)
{
    static const char *const fields[] = {"reason", NULL};
    Tsr__Records__RetentionFlagRemove req = TSR__RECORDS__RETENTION_FLAG_REMOVE__INIT;
    const char *service, *reason = NULL;
    if (gw_path_id(call, 0, &req.person_id) != 0 || retention__path_service(call, &service) != 0 ||
        gw_json_check_object(call, fields) != 0 ||
        gw_json_member_string(call, NULL, "reason", "reason", 0, &reason) != 0)
        return;
    req.service = (char *)service;
    req.reason = (char *)(reason ? reason : "");
    gw_call_daemon(call, "records", "records.retention.unflag", &req.base, gw_replied_no_content);
}

void gw_retention_hold(gw_call_t *call)
{
    static const char *const fields[] = {"reason", "review_date", NULL};
    Tsr__Records__RetentionHoldSet req = TSR__RECORDS__RETENTION_HOLD_SET__INIT;
    const char *reason = NULL, *review = NULL;
    if (gw_path_id(call, 0, &req.person_id) != 0 || gw_json_check_object(call, fields) != 0 ||
        gw_json_member_string(call, NULL, "reason", "reason", 0, &reason) != 0 ||
        gw_json_member_string(call, NULL, "review_date", "review_date", 0, &review) != 0)
        return;
    req.reason = (char *)(reason ? reason : "");
    req.review_date = (char *)(review ? review : "");
    gw_call_daemon(call, "records", "records.retention.hold", &req.base, retention__replied);
}

void gw_retention_release(gw_call_t *call)
{
    Tsr__Records__RetentionHoldRelease req = TSR__RECORDS__RETENTION_HOLD_RELEASE__INIT;
    if (gw_path_id(call, 0, &req.person_id) != 0)
        return;
    gw_call_daemon(call, "records", "records.retention.release", &req.base, gw_replied_no_content);
}

static void retention__due_replied(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                   const tsr_error_t *err)
{
    Tsr__Records__RetentionDueList *list = (Tsr__Records__RetentionDueList *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__records__retention_due_list__descriptor);
    if (list == NULL)
        return;
    json_t *items = json_array();
    for (size_t i = 0; i < list->n_items; i++) {
        const Tsr__Records__RetentionDue *d = list->items[i];
        json_t *o = json_pack("{s:o, s:s, s:b, s:o}", "person_id", gw_json_id(d->person_id), "display_name",
                              d->display_name, "restricted", d->restricted, "keep_until",
                              d->keep_until[0] ? json_string(d->keep_until) : json_null());
        if (d->name_only) {
            json_object_set_new(o, "name_only", json_true());
        } else {
            json_t *flags = json_array();
            for (size_t j = 0; j < d->n_flags; j++)
                json_array_append_new(flags, retention__flag(d->flags[j]));
            json_object_set_new(o, "flags", flags);
        }
        json_array_append_new(items, o);
    }
    json_t *body = gw_list_body(items, list->next_cursor);
    json_object_set_new(body, "on", json_string(list->on));
    tsr__records__retention_due_list__free_unpacked(list, NULL);
    gw_reply_json(call, 200, body);
}

void gw_retention_due(gw_call_t *call)
{
    Tsr__Records__RetentionDueQuery req = TSR__RECORDS__RETENTION_DUE_QUERY__INIT;
    const char *on = gw_param(call, "on"), *cursor = gw_param(call, "cursor");
    if (gw_param_limit(call, &req.limit) != 0 || gw_param_id(call, "person_id", &req.person_id) != 0)
        return;
    req.on = (char *)(on ? on : "");
    req.cursor = (char *)(cursor ? cursor : "");
    gw_call_daemon(call, "records", "records.retention.due", &req.base, retention__due_replied);
}

static void retention__disposed(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                const tsr_error_t *err)
{
    Tsr__Records__PersonDisposal *d = (Tsr__Records__PersonDisposal *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__records__person_disposal__descriptor);
    if (d == NULL)
        return;
    json_t *ids = json_array();
    for (size_t i = 0; i < d->n_disposed_ids; i++)
        json_array_append_new(ids, gw_json_id(d->disposed_ids[i]));
    json_t *body = json_pack("{s:o, s:o, s:s, s:o, s:s, s:o, s:o}", "person_id", gw_json_id(d->person_id),
                             "disposed_ids", ids, "keep_until", d->keep_until, "criteria",
                             retention__strings(d->criteria, d->n_criteria), "note", d->note, "disposed_at",
                             gw_json_time(d->disposed_at_ms), "disposed_by", gw_json_id(d->disposed_by));
    tsr__records__person_disposal__free_unpacked(d, NULL);
    gw_reply_json(call, 200, body);
}

void gw_retention_dispose(gw_call_t *call)
{
    static const char *const fields[] = {"note", NULL};
    Tsr__Records__PersonDispose req = TSR__RECORDS__PERSON_DISPOSE__INIT;
    const char *note = NULL;
    if (gw_path_id(call, 0, &req.person_id) != 0 || gw_json_check_object(call, fields) != 0 ||
        gw_json_member_string(call, NULL, "note", "note", 0, &note) != 0)
        return;
    req.note = (char *)(note ? note : "");
    gw_call_daemon(call, "records", "records.person.dispose", &req.base, retention__disposed);
}
