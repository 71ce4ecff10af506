#include "family_context_routes.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "records.pb-c.h"
#include "tsr_text.h"

/* A person as Family Context shows them: who they are, never more of a restricted record than its
 * display name. */
static json_t *fc__person(const Tsr__Records__Person *p, int date_of_birth_missing)
{
    json_t *o = json_pack("{s:o, s:s, s:o, s:b}", "id", gw_json_id(p->id), "display_name", p->display_name,
                          "title", gw_json_title(p->display_name, p->id), "restricted", p->restricted);
    if (p->name_only) {
        json_object_set_new(o, "name_only", json_true());
        return o;
    }
    json_object_set_new(o, "legal_name",
                        json_pack("{s:s, s:s}", "given", p->legal_name ? p->legal_name->given : "", "family",
                                  p->legal_name ? p->legal_name->family : ""));
    json_object_set_new(o, "date_of_birth",
                        p->date_of_birth[0] ? json_string(p->date_of_birth) : json_null());
    json_object_set_new(o, "date_of_birth_missing", json_boolean(date_of_birth_missing));
    json_object_set_new(o, "gender", json_string(p->gender));
    json_object_set_new(o, "nhs_number", p->nhs_number[0] ? json_string(p->nhs_number) : json_null());
    json_object_set_new(o, "unborn", json_boolean(p->unborn));
    return o;
}

static json_t *fc__text_or_null(const char *s)
{
    return s != NULL && s[0] ? json_string(s) : json_null();
}

static json_t *fc__age(int32_t age)
{
    return age >= 0 ? json_integer(age) : json_null();
}

static json_t *fc__source(const Tsr__Records__FamilyContextSource *s)
{
    json_t *records = json_array();
    for (size_t i = 0; i < s->n_records; i++) {
        const Tsr__Records__FamilyContextRecord *r = s->records[i];
        json_array_append_new(records,
                              json_pack("{s:s, s:s, s:o, s:o, s:s}", "title", r->title, "detail", r->detail,
                                        "start_date", fc__text_or_null(r->start_date), "end_date",
                                        fc__text_or_null(r->end_date), "matched_by", r->matched_by));
    }
    json_t *o = json_pack("{s:s, s:s, s:b}", "key", s->key, "title", s->title, "external", s->external);
    json_object_set_new(o, "contact",
                        s->external
                            ? json_pack("{s:o, s:o, s:o, s:o}", "name", fc__text_or_null(s->contact_name),
                                        "role", fc__text_or_null(s->contact_role), "telephone",
                                        fc__text_or_null(s->contact_telephone), "email",
                                        fc__text_or_null(s->contact_email))
                            : json_null());
    json_object_set_new(o, "last_synchronised", fc__text_or_null(s->last_synchronised));
    json_object_set_new(o, "coverage",
                        json_pack("{s:o, s:o}", "from", fc__text_or_null(s->coverage_from), "to",
                                  fc__text_or_null(s->coverage_to)));
    json_object_set_new(o, "age_rule",
                        json_pack("{s:o, s:o}", "min", fc__age(s->min_age), "max", fc__age(s->max_age)));
    json_object_set_new(o, "withheld", fc__text_or_null(s->withheld));
    json_object_set_new(o, "records", records);
    return o;
}

static json_t *fc__candidate(const Tsr__Records__FamilyContextCandidate *c)
{
    json_t *o = fc__person(c->person, c->date_of_birth_missing);
    if (c->person->name_only)
        return o;
    json_t *known = json_array();
    for (size_t i = 0; i < c->n_known_to; i++)
        json_array_append_new(known, json_string(c->known_to[i]));
    json_object_set_new(o, "known_to", known);
    return o;
}

static void fc__searched(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                         const tsr_error_t *err)
{
    Tsr__Records__FamilyContextSearchReply *r = (Tsr__Records__FamilyContextSearchReply *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__records__family_context_search_reply__descriptor);
    if (r == NULL)
        return;
    json_t *body;
    if (strcmp(r->match, "direct") == 0 && r->n_items == 1) {
        /* A case ID is a direct match: no list to choose from. */
        body = json_pack("{s:s, s:s, s:o}", "match", "direct", "journey", r->journey, "person",
                         fc__candidate(r->items[0]));
    } else {
        json_t *items = json_array();
        for (size_t i = 0; i < r->n_items; i++)
            json_array_append_new(items, fc__candidate(r->items[i]));
        body = gw_list_body(items, r->next_cursor);
        json_object_set_new(body, "match", json_string("candidates"));
        json_object_set_new(body, "journey", json_string(r->journey));
    }
    tsr__records__family_context_search_reply__free_unpacked(r, NULL);
    gw_reply_json(call, 200, body);
}

void gw_family_context_search(gw_call_t *call)
{
    Tsr__Records__FamilyContextSearch req = TSR__RECORDS__FAMILY_CONTEXT_SEARCH__INIT;
    const char *name = gw_param(call, "name");
    const char *dob = gw_param(call, "dob");
    const char *case_id = gw_param(call, "case_id");
    const char *limit = gw_param(call, "limit");
    if (case_id != NULL) {
        req.case_id = tsr_text_is_id(case_id) ? strtoull(case_id, NULL, 10) : 0;
        if (req.case_id == 0) {
            gw_fail(call, TSR_E_INVALID, "invalid_case_id", "case_id",
                    "A case ID is the person's id in records: a string of digits.");
            return;
        }
    }
    /* Absent: the records daemon's 20; above 100 it says so. */
    if (limit != NULL && gw_param_limit(call, &req.limit) != 0)
        return;
    req.name = (char *)(name ? name : "");
    req.date_of_birth = (char *)(dob ? dob : "");
    const char *cursor = gw_param(call, "cursor");
    req.cursor = (char *)(cursor ? cursor : "");
    gw_call_daemon(call, "records", "records.family_context.search", &req.base, fc__searched);
}

static void fc__viewed(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                       const tsr_error_t *err)
{
    Tsr__Records__FamilyContextPerson *p = (Tsr__Records__FamilyContextPerson *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__records__family_context_person__descriptor);
    if (p == NULL)
        return;
    json_t *sources = json_array();
    for (size_t i = 0; i < p->n_sources; i++)
        json_array_append_new(sources, fc__source(p->sources[i]));
    json_t *body = json_pack("{s:s, s:o, s:b, s:o}", "journey", p->journey, "person",
                             fc__person(p->person, p->date_of_birth_missing), "on_caseload", p->on_caseload,
                             "sources", sources);
    if (strcmp(p->journey, "linked-individuals") == 0) {
        json_t *linked = json_array();
        for (size_t i = 0; i < p->n_linked; i++) {
            const Tsr__Records__FamilyContextLinked *l = p->linked[i];
            json_t *o = fc__person(l->person, l->person->date_of_birth[0] == '\0' && !l->person->unborn);
            json_object_set_new(o, "relationship", json_string(l->relationship));
            json_array_append_new(linked, o);
        }
        json_object_set_new(body, "linked_individuals", linked);
    }
    tsr__records__family_context_person__free_unpacked(p, NULL);
    gw_reply_json(call, 200, body);
}

void gw_family_context_person(gw_call_t *call)
{
    Tsr__Records__FamilyContextGet req = TSR__RECORDS__FAMILY_CONTEXT_GET__INIT;
    if (gw_path_id(call, 0, &req.person_id) != 0)
        return;
    gw_call_daemon(call, "records", "records.family_context.get", &req.base, fc__viewed);
}
