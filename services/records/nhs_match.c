#include "nhs_match.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "people.h"
#include "records.pb-c.h"
#include "tsr_envelope.h"

/* At most this many numbers in one question: a feed batch is split by the poller well below it. */
#define NHS_MATCH_MAX 20000

/* system-support: when it asks cpis to judge a queued notification again (cpis.errors.retry). */
static const char *const nhs_match_askers[] = {"cpis-service", "system-support", "system", NULL};

/* Replies with res's rows as NhsHolder items (the columns of the queries below, in their order), and
 * clears res. */
static int nhs_match__reply(tsr_call_t *call, PGresult *res, tsr_error_t *err)
{
    int rows = PQntuples(res);
    Tsr__Records__NhsHolder *items = calloc((size_t)rows + 1, sizeof(*items));
    Tsr__Records__NhsHolder **ptrs = calloc((size_t)rows + 1, sizeof(*ptrs));
    if (items == NULL || ptrs == NULL) {
        free(items);
        free(ptrs);
        PQclear(res);
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    }
    for (int i = 0; i < rows; i++) {
        Tsr__Records__NhsHolder *h = &items[i];
        tsr__records__nhs_holder__init(h);
        h->nhs_number = PQgetvalue(res, i, 0);
        h->person_id = strtoull(PQgetvalue(res, i, 1), NULL, 10);
        h->given_name = PQgetvalue(res, i, 2);
        h->family_name = PQgetvalue(res, i, 3);
        h->gender = PQgetvalue(res, i, 4);
        h->date_of_birth = PQgetvalue(res, i, 5);
        h->unborn = PQgetvalue(res, i, 6)[0] == 't';
        h->mother_id = strtoull(PQgetvalue(res, i, 7), NULL, 10);
        h->expected_delivery_date = PQgetvalue(res, i, 8);
        h->via_mother = PQgetvalue(res, i, 9)[0] == 't';
        h->key_worker_id = strtoull(PQgetvalue(res, i, 10), NULL, 10);
        h->own_nhs_number = PQgetvalue(res, i, 11);
        h->display_name = PQgetvalue(res, i, 12);
        h->restricted = PQgetvalue(res, i, 13)[0] == 't';
        ptrs[i] = h;
    }
    Tsr__Records__NhsMatchReply out = TSR__RECORDS__NHS_MATCH_REPLY__INIT;
    out.holders = ptrs;
    out.n_holders = (size_t)rows;
    tsr_call_reply(call, &out.base);
    free(items);
    free(ptrs);
    PQclear(res);
    return 0;
}

/* The person's current key worker, 0 when none (the worker told of CP-IS work about the child). A key
 * worker who has left the council is no one to tell: the child counts as having none. */
#define NHS_MATCH_KEY_WORKER(person)                                                                         \
    "coalesce((SELECT a.worker_id FROM allocations a WHERE a.person_id = " #person                           \
    "   AND a.role = 'key-worker' AND a.end_date IS NULL AND a.worker_id IS NOT NULL"                        \
    "   AND NOT EXISTS (SELECT 1 FROM workers w WHERE w.id = a.worker_id AND w.ended)"                       \
    "   ORDER BY a.start_date DESC, a.id DESC LIMIT 1), 0)"

/* Whether the person's record is restricted: CP-IS work about them goes to someone who can open it. */
#define NHS_MATCH_RESTRICTED(person) "EXISTS (SELECT 1 FROM restrictions r WHERE r.person_id = " #person ")"

int records_person_match_nhs(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__NhsMatch *in = (const Tsr__Records__NhsMatch *)call->payload;
    if (tsr_actor_require_role(call->actor, nhs_match_askers, "match NHS numbers for CP-IS", err) != 0)
        return -1;
    if (in->n_nhs_numbers > NHS_MATCH_MAX)
        return tsr_error_set(err, TSR_E_INVALID, "too_many", "nhs_numbers",
                             "Ask about at most %d NHS numbers at once.", NHS_MATCH_MAX);
    json_t *numbers = json_array();
    for (size_t i = 0; i < in->n_nhs_numbers; i++)
        json_array_append_new(numbers, json_string(in->nhs_numbers[i]));
    char *text = json_dumps(numbers, JSON_COMPACT);
    json_decref(numbers);
    if (text == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    const char *params[1] = {text};
    /* The holder of each number, and the children recorded against a holder as mother with an
     * expected date of delivery (people_mother index), their own number too once recorded (cpis
     * decides by the date of the access whose the notification is); merged-away records never
     * match. */
    PGresult *res = tsr_db_exec(
        call->conn,
        "WITH n AS (SELECT DISTINCT jsonb_array_elements_text($1::jsonb) AS nhs),"
        " m AS ("
        "   SELECT n.nhs, p.*, false AS via_mother FROM n JOIN people p ON p.nhs_number = n.nhs"
        "     WHERE p.merged_into IS NULL"
        "   UNION ALL"
        "   SELECT n.nhs, c.*, true FROM n JOIN people mo ON mo.nhs_number = n.nhs"
        "     JOIN people c ON c.mother_id = mo.id"
        "     WHERE c.expected_delivery_date IS NOT NULL"
        "       AND c.merged_into IS NULL AND mo.merged_into IS NULL)"
        " SELECT p.nhs, p.id, p.given_name, p.family_name, p.gender, coalesce(p.date_of_birth::text, ''),"
        " p.unborn, coalesce(p.mother_id, 0), coalesce(p.expected_delivery_date::text, ''), p.via_mother,"
        " " NHS_MATCH_KEY_WORKER(p.id) ", coalesce(p.nhs_number, ''), " RECORDS_PERSON_DISPLAY
                                       ", " NHS_MATCH_RESTRICTED(
                                           p.id) " FROM m p ORDER BY p.nhs, p.via_mother, p.id",
        1, params, err);
    free(text);
    if (res == NULL)
        return -1;
    return nhs_match__reply(call, res, err);
}

int records_person_demographics(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__PeopleDemographics *in = (const Tsr__Records__PeopleDemographics *)call->payload;
    if (tsr_actor_require_role(call->actor, nhs_match_askers, "read demographics for CP-IS", err) != 0)
        return -1;
    if (in->n_person_ids > NHS_MATCH_MAX)
        return tsr_error_set(err, TSR_E_INVALID, "too_many", "person_ids",
                             "Ask about at most %d people at once.", NHS_MATCH_MAX);
    size_t cap = in->n_person_ids * 21 + 3;
    char *ids = malloc(cap);
    if (ids == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    size_t used = (size_t)snprintf(ids, cap, "{");
    for (size_t i = 0; i < in->n_person_ids; i++)
        used += (size_t)snprintf(ids + used, cap - used, "%s%" PRIu64, i ? "," : "", in->person_ids[i]);
    snprintf(ids + used, cap - used, "}");
    const char *params[1] = {ids};
    /* The record each asked-for person now is (one merged away answers as the one it went into),
     * and the mother of each child among them recorded with one (an unborn child's plan is shared
     * against her number and checked against her details, and so is its end once the child is born). */
    PGresult *res =
        tsr_db_exec(call->conn,
                    "WITH ask AS (SELECT DISTINCT unnest($1::bigint[]) AS asked),"
                    " now_is AS (SELECT ask.asked, coalesce(x.merged_into, x.id) AS id FROM ask JOIN people "
                    "x ON x.id = ask.asked),"
                    " m AS (SELECT now_is.asked, p.* FROM now_is JOIN people p ON p.id = now_is.id"
                    "   UNION SELECT mo.id, mo.* FROM now_is JOIN people c ON c.id = now_is.id"
                    "   JOIN people mo ON mo.id = c.mother_id)"
                    " SELECT coalesce(p.nhs_number, ''), p.asked, p.given_name, p.family_name, p.gender,"
                    " coalesce(p.date_of_birth::text, ''), p.unborn, coalesce(p.mother_id, 0),"
                    " coalesce(p.expected_delivery_date::text, ''), false, " NHS_MATCH_KEY_WORKER(
                        p.id) ", coalesce(p.nhs_number, ''), " RECORDS_PERSON_DISPLAY
                              ", " NHS_MATCH_RESTRICTED(p.id) " FROM m p ORDER BY p.asked",
                    1, params, err);
    free(ids);
    if (res == NULL)
        return -1;
    return nhs_match__reply(call, res, err);
}
