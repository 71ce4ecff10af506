/* people_routes: the API's calls for people, their restriction and their allocations, mapped to
 * the records daemon. Access rules are the records daemon's; this file only shapes JSON. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "addresses_routes.h"
#include "people_routes.h"
#include "retention_routes.h"
#include "workflow_routes.h"
#include "accounts.pb-c.h"
#include "records.pb-c.h"
#include "tsr_text.h"

static json_t *people__allocation(const Tsr__Records__Allocation *a)
{
    json_t *o = json_pack("{s:o, s:s, s:s, s:s}", "id", gw_json_id(a->id), "role", a->role, "service",
                          a->service, "start_date", a->start_date);
    json_object_set_new(o, "worker_id", a->worker_id ? gw_json_id(a->worker_id) : json_null());
    json_object_set_new(o, "team_id", a->team_id ? gw_json_id(a->team_id) : json_null());
    json_object_set_new(o, "end_date", a->end_date[0] ? json_string(a->end_date) : json_null());
    return o;
}

static json_t *people__involvement(const Tsr__Records__Involvement *v)
{
    json_t *o = json_pack("{s:o, s:o, s:s, s:s, s:s, s:s}", "id", gw_json_id(v->id), "person_id",
                          gw_json_id(v->person_id), "service", v->service, "kind", v->kind, "start_date",
                          v->start_date, "note", v->note);
    json_object_set_new(o, "end_date", v->end_date[0] ? json_string(v->end_date) : json_null());
    json_object_set_new(o, "team_id", v->team_id ? gw_json_id(v->team_id) : json_null());
    json_object_set_new(o, "worker_id", v->worker_id ? gw_json_id(v->worker_id) : json_null());
    return o;
}

static json_t *people__case_note(const Tsr__Records__CaseNote *n);

static json_t *people__person(const Tsr__Records__Person *p)
{
    json_t *o = json_pack("{s:o, s:s, s:o, s:b}", "id", gw_json_id(p->id), "display_name", p->display_name,
                          "title", gw_json_title(p->display_name, p->id), "restricted", p->restricted);
    if (p->name_only) {
        /* Restricted and not on its access list: the display name is all there is. */
        json_object_set_new(o, "name_only", json_true());
        return o;
    }
    json_t *others = json_array();
    for (size_t i = 0; i < p->n_other_names; i++)
        json_array_append_new(others, json_string(p->other_names[i]));
    json_object_set_new(o, "legal_name",
                        json_pack("{s:s, s:s}", "given", p->legal_name ? p->legal_name->given : "", "family",
                                  p->legal_name ? p->legal_name->family : ""));
    json_object_set_new(o, "other_names", others);
    json_object_set_new(o, "date_of_birth",
                        p->date_of_birth[0] ? json_string(p->date_of_birth) : json_null());
    json_object_set_new(o, "gender", json_string(p->gender));
    json_object_set_new(o, "nhs_number", p->nhs_number[0] ? json_string(p->nhs_number) : json_null());
    json_object_set_new(o, "unborn", json_boolean(p->unborn));
    json_object_set_new(o, "mother_id", p->mother_id ? gw_json_id(p->mother_id) : json_null());
    json_object_set_new(o, "expected_delivery_date",
                        p->expected_delivery_date[0] ? json_string(p->expected_delivery_date) : json_null());
    json_object_set_new(o, "created_at", gw_json_time(p->created_at_ms));
    if (p->restricted) {
        json_t *workers = json_array();
        for (size_t i = 0; i < p->n_restriction_workers; i++)
            json_array_append_new(workers, gw_json_id(p->restriction_workers[i]));
        json_object_set_new(o, "restriction",
                            json_pack("{s:s, s:s, s:o}", "reason", p->restriction_reason, "review_date",
                                      p->restriction_review_date, "workers", workers));
    }
    json_t *allocations = json_array();
    for (size_t i = 0; i < p->n_allocations; i++)
        json_array_append_new(allocations, people__allocation(p->allocations[i]));
    json_object_set_new(o, "allocations", allocations);
    json_t *relationships = json_array();
    for (size_t i = 0; i < p->n_relationships; i++)
        json_array_append_new(relationships, json_pack("{s:o, s:s, s:s}", "person_id",
                                                       gw_json_id(p->relationships[i]->related_id), "type",
                                                       p->relationships[i]->type, "display_name",
                                                       p->relationships[i]->related_display_name));
    json_object_set_new(o, "relationships", relationships);
    json_t *involvements = json_array();
    for (size_t i = 0; i < p->n_involvements; i++)
        json_array_append_new(involvements, people__involvement(p->involvements[i]));
    json_object_set_new(o, "involvements", involvements);
    json_t *notes = json_array();
    for (size_t i = 0; i < p->n_case_notes; i++)
        json_array_append_new(notes, people__case_note(p->case_notes[i]));
    json_object_set_new(o, "case_notes", notes);
    json_object_set_new(o, "case_notes_total", json_integer(p->case_notes_total));
    json_t *addresses = json_array();
    for (size_t i = 0; i < p->n_addresses; i++)
        json_array_append_new(addresses, gw_address_json(p->addresses[i]));
    json_object_set_new(o, "addresses", addresses);
    if (p->retention != NULL)
        json_object_set_new(o, "retention", gw_retention_json(p->retention));
    return o;
}

static void people__one(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                        const tsr_error_t *err, int status)
{
    Tsr__Records__Person *p =
        (Tsr__Records__Person *)gw_reply_unpack(call, daemon, reply, err, &tsr__records__person__descriptor);
    if (p == NULL)
        return;
    json_t *body = people__person(p);
    tsr__records__person__free_unpacked(p, NULL);
    gw_reply_json(call, status, body);
}

static void people__created(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                            const tsr_error_t *err)
{
    people__one(call, daemon, reply, err, 201);
}

/* A person's summary page: the record from records and, for a reader who may see it, the work
 * steps about the person from the workflow daemon (each with whether it is still open). */
/* A person as the caller sees them, with the steps about them. A restriction or a merge answers with
 * the record too, read in the change's own transaction (one call, one audit entry). */
static void people__read(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                         const tsr_error_t *err)
{
    Tsr__Records__Person *p =
        (Tsr__Records__Person *)gw_reply_unpack(call, daemon, reply, err, &tsr__records__person__descriptor);
    if (p == NULL)
        return;
    json_t *body = people__person(p);
    int name_only = p->name_only;
    uint64_t id = p->id;
    tsr__records__person__free_unpacked(p, NULL);
    if (name_only)
        gw_reply_json(call, 200, body);
    else
        gw_reply_with_steps(call, body, "person", id, 200);
}

/* A person's details as a request gives them, when adding a person or correcting their details; the
 * strings point into the request's body. */
typedef struct {
    Tsr__Records__PersonName name;
    char *others[40];
    size_t n_others;
    const char *date_of_birth, *gender, *expected_delivery_date;
} people_details_t;

/* The details into a request of any of the messages that carry them (PersonCreate, PersonDetailsSet,
 * PersonBirth: the same field names). */
#define PEOPLE_DETAILS_FILL(req, d)                                                                          \
    do {                                                                                                     \
        (req).legal_name = &(d).name;                                                                        \
        (req).n_other_names = (d).n_others;                                                                  \
        (req).other_names = (d).others;                                                                      \
        (req).date_of_birth = (char *)(d).date_of_birth;                                                     \
        (req).gender = (char *)(d).gender;                                                                   \
    } while (0)

static int people__details_parse(gw_call_t *call, people_details_t *d)
{
    json_t *legal = json_object_get(call->body, "legal_name");
    if (legal == NULL || !json_is_object(legal))
        return gw_fail(call, TSR_E_INVALID, legal ? "invalid_type" : "missing_field", "legal_name",
                       "'legal_name' must be an object with 'given' and 'family'.");
    tsr__records__person_name__init(&d->name);
    const char *given, *family;
    if (gw_json_member_string(call, legal, "given", "legal_name.given", 0, &given) != 0 ||
        gw_json_member_string(call, legal, "family", "legal_name.family", 1, &family) != 0 ||
        gw_json_member_strings(call, NULL, "other_names", d->others, 40, &d->n_others) != 0 ||
        gw_json_member_string(call, NULL, "date_of_birth", "date_of_birth", 0, &d->date_of_birth) != 0 ||
        gw_json_member_string(call, NULL, "gender", "gender", 1, &d->gender) != 0 ||
        gw_json_member_string(call, NULL, "expected_delivery_date", "expected_delivery_date", 0,
                              &d->expected_delivery_date) != 0)
        return -1;
    d->name.given = (char *)given;
    d->name.family = (char *)family;
    return 0;
}

void gw_person_create(gw_call_t *call)
{
    static const char *const fields[] = {
        "legal_name", "other_names", "date_of_birth",          "gender", "nhs_number",
        "unborn",     "mother_id",   "expected_delivery_date", NULL};
    if (gw_json_check_object(call, fields) != 0)
        return;
    Tsr__Records__PersonCreate req = TSR__RECORDS__PERSON_CREATE__INIT;
    people_details_t d;
    const char *nhs;
    int unborn = 0;
    if (people__details_parse(call, &d) != 0 ||
        gw_json_member_string(call, NULL, "nhs_number", "nhs_number", 0, &nhs) != 0 ||
        gw_json_member_bool(call, NULL, "unborn", &unborn) != 0 ||
        gw_json_member_id(call, NULL, "mother_id", 0, &req.mother_id) != 0)
        return;
    PEOPLE_DETAILS_FILL(req, d);
    req.nhs_number = (char *)nhs;
    req.unborn = unborn;
    req.expected_delivery_date = (char *)d.expected_delivery_date;
    gw_call_daemon(call, "records", "records.person.create", &req.base, people__created);
}

void gw_person_get(gw_call_t *call)
{
    Tsr__Records__PersonGet req = TSR__RECORDS__PERSON_GET__INIT;
    if (gw_path_id(call, 0, &req.id) != 0)
        return;
    gw_call_daemon(call, "records", "records.person.get", &req.base, people__read);
}

static void people__listed(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                           const tsr_error_t *err)
{
    Tsr__Records__PersonList *list = (Tsr__Records__PersonList *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__records__person_list__descriptor);
    if (list == NULL)
        return;
    json_t *items = json_array();
    for (size_t i = 0; i < list->n_items; i++)
        json_array_append_new(items, people__person(list->items[i]));
    json_t *body = gw_list_body(items, list->next_cursor);
    tsr__records__person_list__free_unpacked(list, NULL);
    gw_reply_json(call, 200, body);
}

void gw_person_search(gw_call_t *call)
{
    Tsr__Records__PersonSearch req = TSR__RECORDS__PERSON_SEARCH__INIT;
    const char *name = gw_param(call, "name");
    const char *dob = gw_param(call, "dob");
    const char *limit = gw_param(call, "limit");
    if (limit != NULL) {
        char *end = NULL;
        unsigned long n = strtoul(limit, &end, 10);
        if (*limit == '\0' || *end != '\0' || n < 1 || n > 100) {
            gw_fail(call, TSR_E_INVALID, "invalid_limit", "limit", "limit must be a number from 1 to 100.");
            return;
        }
        req.limit = (uint32_t)n;
    }
    req.name = (char *)(name ? name : "");
    req.date_of_birth = (char *)(dob ? dob : "");
    const char *cursor = gw_param(call, "cursor");
    req.cursor = (char *)(cursor ? cursor : "");
    gw_call_daemon(call, "records", "records.person.search", &req.base, people__listed);
}

void gw_person_restrict(gw_call_t *call)
{
    static const char *const fields[] = {"reason", "review_date", "workers", NULL};
    Tsr__Records__RestrictionSet req = TSR__RECORDS__RESTRICTION_SET__INIT;
    const char *reason, *review;
    char *workers_text[64];
    size_t n_workers = 0;
    if (gw_path_id(call, 0, &req.person_id) != 0 || gw_json_check_object(call, fields) != 0 ||
        gw_json_member_string(call, NULL, "reason", "reason", 1, &reason) != 0 ||
        gw_json_member_string(call, NULL, "review_date", "review_date", 1, &review) != 0 ||
        gw_json_member_strings(call, NULL, "workers", workers_text, 64, &n_workers) != 0)
        return;
    uint64_t workers[64];
    for (size_t i = 0; i < n_workers; i++) {
        workers[i] = tsr_text_is_id(workers_text[i]) ? strtoull(workers_text[i], NULL, 10) : 0;
        if (workers[i] == 0) {
            gw_fail(call, TSR_E_INVALID, "invalid_id", "workers", "Each of 'workers' must be a worker id.");
            return;
        }
    }
    req.reason = (char *)reason;
    req.review_date = (char *)review;
    req.n_worker_ids = n_workers;
    req.worker_ids = workers;
    gw_call_daemon(call, "records", "records.person.restrict", &req.base, people__read);
}

void gw_person_unrestrict(gw_call_t *call)
{
    Tsr__Records__RestrictionLift req = TSR__RECORDS__RESTRICTION_LIFT__INIT;
    if (gw_path_id(call, 0, &req.person_id) != 0)
        return;
    gw_call_daemon(call, "records", "records.person.unrestrict", &req.base, gw_replied_no_content);
}

static void people__restrictions_due(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                     const tsr_error_t *err)
{
    Tsr__Records__RestrictionDueList *list = (Tsr__Records__RestrictionDueList *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__records__restriction_due_list__descriptor);
    if (list == NULL)
        return;
    json_t *items = json_array();
    for (size_t i = 0; i < list->n_items; i++) {
        const Tsr__Records__RestrictionDue *d = list->items[i];
        json_array_append_new(items,
                              json_pack("{s:o, s:s, s:o, s:s, s:s, s:i, s:o}", "person_id",
                                        gw_json_id(d->person_id), "display_name", d->display_name, "title",
                                        gw_json_title(d->display_name, d->person_id), "reason", d->reason,
                                        "review_date", d->review_date, "named_workers", (int)d->named_workers,
                                        "restricted_at", gw_json_time(d->restricted_at_ms)));
    }
    json_t *body = gw_list_body(items, list->next_cursor);
    json_object_set_new(body, "on", json_string(list->on));
    tsr__records__restriction_due_list__free_unpacked(list, NULL);
    gw_reply_json(call, 200, body);
}

void gw_restrictions_due(gw_call_t *call)
{
    Tsr__Records__RestrictionDueQuery req = TSR__RECORDS__RESTRICTION_DUE_QUERY__INIT;
    const char *on = gw_param(call, "on"), *cursor = gw_param(call, "cursor");
    if (gw_param_limit(call, &req.limit) != 0)
        return;
    req.on = (char *)(on ? on : "");
    req.cursor = (char *)(cursor ? cursor : "");
    gw_call_daemon(call, "records", "records.restriction.due", &req.base, people__restrictions_due);
}

void gw_person_nhs_number_set(gw_call_t *call)
{
    static const char *const fields[] = {"nhs_number", NULL};
    Tsr__Records__NhsNumberSet req = TSR__RECORDS__NHS_NUMBER_SET__INIT;
    const char *nhs;
    if (gw_path_id(call, 0, &req.person_id) != 0 || gw_json_check_object(call, fields) != 0 ||
        gw_json_member_string(call, NULL, "nhs_number", "nhs_number", 1, &nhs) != 0)
        return;
    req.nhs_number = (char *)nhs;
    gw_call_daemon(call, "records", "records.person.set_nhs_number", &req.base, people__read);
}

/* The whole of a person's details, replaced: every key must be there (null for a date of birth not
 * known, [] for no other names), so that a client that left one out by mistake clears nothing. */
void gw_person_details_set(gw_call_t *call)
{
    static const char *const fields[] = {
        "legal_name", "other_names", "date_of_birth", "gender", "expected_delivery_date", NULL};
    static const char *const required[] = {"legal_name", "other_names", "date_of_birth", "gender", NULL};
    Tsr__Records__PersonDetailsSet req = TSR__RECORDS__PERSON_DETAILS_SET__INIT;
    if (gw_path_id(call, 0, &req.person_id) != 0 || gw_json_check_object(call, fields) != 0)
        return;
    for (const char *const *key = required; *key; key++)
        if (json_object_get(call->body, *key) == NULL) {
            gw_fail(call, TSR_E_INVALID, "missing_field", *key,
                    "'%s' is required: the details are replaced as a whole (null for a date of birth not "
                    "known, [] for no other names).",
                    *key);
            return;
        }
    people_details_t d;
    if (people__details_parse(call, &d) != 0)
        return;
    PEOPLE_DETAILS_FILL(req, d);
    req.expected_delivery_date = (char *)d.expected_delivery_date;
    gw_call_daemon(call, "records", "records.person.update_details", &req.base, people__read);
}

/* PUT /api/v1/people/{id}/birth: an unborn child born (seed 003). */
void gw_person_birth_record(gw_call_t *call)
{
    static const char *const fields[] = {"legal_name", "other_names", "date_of_birth",
                                         "gender",     "nhs_number",  NULL};
    Tsr__Records__PersonBirth req = TSR__RECORDS__PERSON_BIRTH__INIT;
    people_details_t d;
    const char *nhs;
    if (gw_path_id(call, 0, &req.person_id) != 0 || gw_json_check_object(call, fields) != 0 ||
        people__details_parse(call, &d) != 0 ||
        gw_json_member_string(call, NULL, "nhs_number", "nhs_number", 0, &nhs) != 0)
        return;
    PEOPLE_DETAILS_FILL(req, d);
    req.nhs_number = (char *)nhs;
    gw_call_daemon(call, "records", "records.person.record_birth", &req.base, people__read);
}

static void people__allocated(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                              const tsr_error_t *err)
{
    Tsr__Records__Allocation *a = (Tsr__Records__Allocation *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__records__allocation__descriptor);
    if (a == NULL)
        return;
    json_t *body = people__allocation(a);
    tsr__records__allocation__free_unpacked(a, NULL);
    gw_reply_json(call, 201, body);
}

void gw_allocation_add(gw_call_t *call)
{
    static const char *const fields[] = {"worker_id", "team_id", "role", "service", NULL};
    Tsr__Records__Allocation req = TSR__RECORDS__ALLOCATION__INIT;
    const char *role, *service;
    if (gw_path_id(call, 0, &req.person_id) != 0 || gw_json_check_object(call, fields) != 0 ||
        gw_json_member_id(call, NULL, "worker_id", 0, &req.worker_id) != 0 ||
        gw_json_member_id(call, NULL, "team_id", 0, &req.team_id) != 0 ||
        gw_json_member_string(call, NULL, "role", "role", 1, &role) != 0 ||
        gw_json_member_string(call, NULL, "service", "service", 1, &service) != 0)
        return;
    req.role = (char *)role;
    req.service = (char *)service;
    gw_call_daemon(call, "records", "records.allocation.add", &req.base, people__allocated);
}

static void people__leavers_allocations(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                        const tsr_error_t *err)
{
    Tsr__Records__LeaverAllocations *list = (Tsr__Records__LeaverAllocations *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__records__leaver_allocations__descriptor);
    if (list == NULL)
        return;
    json_t *items = json_array();
    for (size_t i = 0; i < list->n_items; i++) {
        const Tsr__Records__LeaverAllocation *a = list->items[i];
        json_array_append_new(items,
                              json_pack("{s:o, s:o, s:s, s:o, s:o, s:s, s:s, s:s}", "allocation_id",
                                        gw_json_id(a->allocation_id), "person_id", gw_json_id(a->person_id),
                                        "display_name", a->display_name, "title",
                                        gw_json_title(a->display_name, a->person_id), "worker_id",
                                        gw_json_id(a->worker_id), "worker_name", a->worker_name, "service",
                                        a->service, "start_date", a->start_date));
    }
    json_t *body =
        json_pack("{s:o, s:b, s:i}", "items", items, "more", list->more, "count", (int)list->count);
    tsr__records__leaver_allocations__free_unpacked(list, NULL);
    gw_reply_json(call, 200, body);
}

void gw_leavers_allocations(gw_call_t *call)
{
    Tsr__Records__LeaverAllocationsQuery req = TSR__RECORDS__LEAVER_ALLOCATIONS_QUERY__INIT;
    if (gw_param_bool(call, "count_only", &req.count_only) != 0)
        return;
    gw_call_daemon(call, "records", "records.allocations.to_leavers", &req.base, people__leavers_allocations);
}

void gw_allocation_end(gw_call_t *call)
{
    Tsr__Records__AllocationEnd req = TSR__RECORDS__ALLOCATION_END__INIT;
    if (gw_path_id(call, 0, &req.person_id) != 0 || gw_path_id(call, 1, &req.allocation_id) != 0)
        return;
    gw_call_daemon(call, "records", "records.allocation.end", &req.base, gw_replied_no_content);
}

/* ------------------------------------------------------------------------------------------------
 * Workers: passwords and conflicts of interest (the accounts daemon)
 * ---------------------------------------------------------------------------------------------- */

static void workers__done(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                          const tsr_error_t *err)
{
    Tsr__Accounts__Worker *w = (Tsr__Accounts__Worker *)gw_reply_unpack(call, daemon, reply, err,
                                                                        &tsr__accounts__worker__descriptor);
    if (w == NULL)
        return;
    json_t *roles = json_array();
    for (size_t i = 0; i < w->n_roles; i++)
        json_array_append_new(roles, json_string(w->roles[i]));
    json_t *body = json_pack("{s:o, s:s, s:s, s:o}", "id", gw_json_id(w->id), "name", w->name, "username",
                             w->username, "roles", roles);
    tsr__accounts__worker__free_unpacked(w, NULL);
    gw_reply_json(call, 200, body);
}

void gw_worker_password_reset(gw_call_t *call)
{
    static const char *const fields[] = {"new_password", NULL};
    Tsr__Accounts__PasswordReset req = TSR__ACCOUNTS__PASSWORD_RESET__INIT;
    const char *password;
    if (gw_path_id(call, 0, &req.worker_id) != 0 || gw_json_check_object(call, fields) != 0 ||
        gw_json_member_string(call, NULL, "new_password", "new_password", 1, &password) != 0)
        return;
    req.new_password = (char *)password;
    /* Argon2id takes a while by design, as when signing in. */
    gw_call_daemon_timeout(call, "accounts", "accounts.password.reset", &req.base, 15000, workers__done);
}

void gw_session_password(gw_call_t *call)
{
    static const char *const fields[] = {"current_password", "new_password", NULL};
    Tsr__Accounts__PasswordChange req = TSR__ACCOUNTS__PASSWORD_CHANGE__INIT;
    const char *current, *password;
    if (gw_json_check_object(call, fields) != 0 ||
        gw_json_member_string(call, NULL, "current_password", "current_password", 1, &current) != 0 ||
        gw_json_member_string(call, NULL, "new_password", "new_password", 1, &password) != 0)
        return;
    req.current_password = (char *)current;
    req.new_password = (char *)password;
    /* This session goes on; the worker's others end once accounts' event is applied. */
    req.keep_session_id = call->session_id;
    gw_call_daemon_timeout(call, "accounts", "accounts.password.change", &req.base, 15000, workers__done);
}

/* ------------------------------------------------------------------------------------------------
 * Relationships and case notes
 * ---------------------------------------------------------------------------------------------- */

static void people__related(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                            const tsr_error_t *err)
{
    Tsr__Records__Relationship *r = (Tsr__Records__Relationship *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__records__relationship__descriptor);
    if (r == NULL)
        return;
    json_t *body =
        json_pack("{s:o, s:o, s:s, s:s}", "person_id", gw_json_id(r->person_id), "related_id",
                  gw_json_id(r->related_id), "type", r->type, "display_name", r->related_display_name);
    tsr__records__relationship__free_unpacked(r, NULL);
    gw_reply_json(call, 201, body);
}

void gw_relationship_add(gw_call_t *call)
{
    static const char *const fields[] = {"person_id", "type", NULL};
    Tsr__Records__Relationship req = TSR__RECORDS__RELATIONSHIP__INIT;
    const char *type;
    if (gw_path_id(call, 0, &req.person_id) != 0 || gw_json_check_object(call, fields) != 0 ||
        gw_json_member_id(call, NULL, "person_id", 1, &req.related_id) != 0 ||
        gw_json_member_string(call, NULL, "type", "type", 1, &type) != 0)
        return;
    req.type = (char *)type;
    gw_call_daemon(call, "records", "records.relationship.add", &req.base, people__related);
}

static json_t *people__case_note(const Tsr__Records__CaseNote *n)
{
    return json_pack("{s:o, s:o, s:s, s:s, s:s, s:o, s:o, s:o}", "id", gw_json_id(n->id), "person_id",
                     gw_json_id(n->person_id), "type", n->type, "title", n->title, "body", n->body,
                     "occurred_at", gw_json_time(n->occurred_at_ms), "recorded_at",
                     gw_json_time(n->recorded_at_ms), "recorded_by", gw_json_id(n->recorded_by));
}

static void people__case_noted(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                               const tsr_error_t *err)
{
    Tsr__Records__CaseNote *n = (Tsr__Records__CaseNote *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__records__case_note__descriptor);
    if (n == NULL)
        return;
    json_t *body = people__case_note(n);
    tsr__records__case_note__free_unpacked(n, NULL);
    gw_reply_json(call, 201, body);
}

void gw_case_note_add(gw_call_t *call)
{
    static const char *const fields[] = {"type", "title", "body", "occurred_at", NULL};
    Tsr__Records__CaseNote req = TSR__RECORDS__CASE_NOTE__INIT;
    const char *type, *title, *body, *occurred;
    if (gw_path_id(call, 0, &req.person_id) != 0 || gw_json_check_object(call, fields) != 0 ||
        gw_json_member_string(call, NULL, "type", "type", 1, &type) != 0 ||
        gw_json_member_string(call, NULL, "title", "title", 1, &title) != 0 ||
        gw_json_member_string(call, NULL, "body", "body", 0, &body) != 0 ||
        gw_json_member_string(call, NULL, "occurred_at", "occurred_at", 0, &occurred) != 0)
        return;
    /* A date-time with its offset (API.md), never a bare date: 2026-06-01 alone says no time of day
     * and no zone, and was kept as midnight UTC (1 a.m. in the office in summer). */
    if (occurred[0] != '\0' && tsr_text_datetime_parse(occurred, &req.occurred_at_ms) != 0) {
        gw_fail(call, TSR_E_INVALID, "invalid_date", "occurred_at",
                "'occurred_at' must be a date-time with offset, like 2026-11-20T14:30:00Z.");
        return;
    }
    /* 0 on the bus is a note left undated (now): 1 January 1970 itself goes as the millisecond
     * before, which records refuses as the long-ago time it is. */
    if (occurred[0] != '\0' && req.occurred_at_ms == 0)
        req.occurred_at_ms = -1;
    req.type = (char *)type;
    req.title = (char *)title;
    req.body = (char *)body;
    gw_call_daemon(call, "records", "records.case_note.add", &req.base, people__case_noted);
}

static void people__case_notes(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                               const tsr_error_t *err)
{
    Tsr__Records__CaseNoteList *list = (Tsr__Records__CaseNoteList *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__records__case_note_list__descriptor);
    if (list == NULL)
        return;
    json_t *items = json_array();
    for (size_t i = 0; i < list->n_items; i++)
        json_array_append_new(items, people__case_note(list->items[i]));
    json_t *body = gw_list_body(items, list->next_cursor);
    tsr__records__case_note_list__free_unpacked(list, NULL);
    gw_reply_json(call, 200, body);
}

void gw_case_note_list(gw_call_t *call)
{
    Tsr__Records__CaseNotesGet req = TSR__RECORDS__CASE_NOTES_GET__INIT;
    if (gw_path_id(call, 0, &req.person_id) != 0 || gw_param_limit(call, &req.limit) != 0)
        return;
    const char *cursor = gw_param(call, "cursor");
    req.cursor = (char *)(cursor ? cursor : "");
    gw_call_daemon(call, "records", "records.case_note.list", &req.base, people__case_notes);
}

static void people__case_note_removed(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                      const tsr_error_t *err)
{
    Tsr__Records__CaseNoteRemoval *m = (Tsr__Records__CaseNoteRemoval *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__records__case_note_removal__descriptor);
    if (m == NULL)
        return;
    json_t *body =
        json_pack("{s:o, s:o, s:s, s:o, s:o, s:s, s:s, s:o, s:o}", "case_note_id",
                  gw_json_id(m->case_note_id), "person_id", gw_json_id(m->person_id), "type", m->type,
                  "occurred_at", gw_json_time(m->occurred_at_ms), "recorded_by", gw_json_id(m->recorded_by),
                  "reason", m->reason, "explanation", m->explanation, "removed_at",
                  gw_json_time(m->removed_at_ms), "removed_by", gw_json_id(m->removed_by));
    tsr__records__case_note_removal__free_unpacked(m, NULL);
    gw_reply_json(call, 200, body);
}

void gw_case_note_remove(gw_call_t *call)
{
    static const char *const fields[] = {"reason", "explanation", NULL};
    Tsr__Records__CaseNoteRemove req = TSR__RECORDS__CASE_NOTE_REMOVE__INIT;
    const char *reason, *explanation;
    /* Both optional here: the records daemon names every fault of the request at once. */
    if (gw_path_id(call, 0, &req.person_id) != 0 || gw_path_id(call, 1, &req.case_note_id) != 0 ||
        gw_json_check_object(call, fields) != 0 || gw_json_string(call, "reason", 0, &reason) != 0 ||
        gw_json_string(call, "explanation", 0, &explanation) != 0)
        return;
    req.reason = (char *)reason;
    req.explanation = (char *)explanation;
    gw_call_daemon(call, "records", "records.case_note.remove", &req.base, people__case_note_removed);
}

void gw_conflict_declare(gw_call_t *call)
{
    static const char *const fields[] = {"person_id", "relationship", NULL};
    Tsr__Accounts__ConflictDeclare req = TSR__ACCOUNTS__CONFLICT_DECLARE__INIT;
    const char *relationship;
    if (gw_path_id(call, 0, &req.worker_id) != 0 || gw_json_check_object(call, fields) != 0 ||
        gw_json_member_id(call, NULL, "person_id", 1, &req.person_id) != 0 ||
        gw_json_member_string(call, NULL, "relationship", "relationship", 1, &relationship) != 0)
        return;
    req.relationship = (char *)relationship;
    gw_call_daemon(call, "accounts", "accounts.conflict.declare", &req.base, workers__done);
}

void gw_person_merge(gw_call_t *call)
{
    static const char *const fields[] = {"duplicate_id", NULL};
    Tsr__Records__PersonMerge req = TSR__RECORDS__PERSON_MERGE__INIT;
    if (gw_path_id(call, 0, &req.survivor_id) != 0 || gw_json_check_object(call, fields) != 0 ||
        gw_json_member_id(call, NULL, "duplicate_id", 1, &req.duplicate_id) != 0)
        return;
    gw_call_daemon(call, "records", "records.person.merge", &req.base, people__read);
}

static void people__involvement_reply(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                      const tsr_error_t *err, int status)
{
    Tsr__Records__Involvement *v = (Tsr__Records__Involvement *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__records__involvement__descriptor);
    if (v == NULL)
        return;
    json_t *body = people__involvement(v);
    tsr__records__involvement__free_unpacked(v, NULL);
    gw_reply_json(call, status, body);
}

static void people__involvement_added(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                      const tsr_error_t *err)
{
    people__involvement_reply(call, daemon, reply, err, 201);
}

static void people__involvement_ended(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                      const tsr_error_t *err)
{
    people__involvement_reply(call, daemon, reply, err, 200);
}

void gw_involvement_add(gw_call_t *call)
{
    static const char *const fields[] = {"service", "kind",      "start_date", "end_date",
                                         "team_id", "worker_id", "note",       NULL};
    Tsr__Records__Involvement req = TSR__RECORDS__INVOLVEMENT__INIT;
    const char *service, *kind, *start, *end, *note;
    if (gw_path_id(call, 0, &req.person_id) != 0 || gw_json_check_object(call, fields) != 0 ||
        gw_json_string(call, "service", 1, &service) != 0 || gw_json_string(call, "kind", 1, &kind) != 0 ||
        gw_json_string(call, "start_date", 1, &start) != 0 ||
        gw_json_string(call, "end_date", 0, &end) != 0 || gw_json_string(call, "note", 0, &note) != 0 ||
        gw_json_member_id(call, NULL, "team_id", 0, &req.team_id) != 0 ||
        gw_json_member_id(call, NULL, "worker_id", 0, &req.worker_id) != 0)
        return;
    req.service = (char *)service;
    req.kind = (char *)kind;
    req.start_date = (char *)start;
    req.end_date = (char *)end;
    req.note = (char *)note;
    gw_call_daemon(call, "records", "records.involvement.add", &req.base, people__involvement_added);
}

void gw_involvement_end(gw_call_t *call)
{
    static const char *const fields[] = {"end_date", NULL};
    Tsr__Records__InvolvementEnd req = TSR__RECORDS__INVOLVEMENT_END__INIT;
    const char *end;
    if (gw_path_id(call, 0, &req.person_id) != 0 || gw_path_id(call, 1, &req.involvement_id) != 0 ||
        gw_json_check_object(call, fields) != 0 || gw_json_string(call, "end_date", 0, &end) != 0)
        return;
    req.end_date = (char *)end;
    gw_call_daemon(call, "records", "records.involvement.end", &req.base, people__involvement_ended);
}

static void people__involvements(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                 const tsr_error_t *err)
{
    Tsr__Records__InvolvementList *list = (Tsr__Records__InvolvementList *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__records__involvement_list__descriptor);
    if (list == NULL)
        return;
    json_t *items = json_array();
    for (size_t i = 0; i < list->n_items; i++)
        json_array_append_new(items, people__involvement(list->items[i]));
    tsr__records__involvement_list__free_unpacked(list, NULL);
    gw_reply_json(call, 200, gw_list_body(items, NULL));
}

void gw_involvement_list(gw_call_t *call)
{
    Tsr__Records__PersonGet req = TSR__RECORDS__PERSON_GET__INIT;
    if (gw_path_id(call, 0, &req.id) != 0)
        return;
    gw_call_daemon(call, "records", "records.involvement.list", &req.base, people__involvements);
}
