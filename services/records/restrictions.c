/* Restrictions (seed 002): a record restricted for one of six reasons, kept from everyone outside
 * the groups that keep access and the workers named on its access list (the rule itself is
 * access.c's); lifted; and the restrictions whose review date has come ("Restriction will be
 * reviewed for validity on a regular basis"), for system support to keep with a new date or lift. */
#include "restrictions.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "people.h"
#include "records.pb-c.h"
#include "tsr_envelope.h"
#include "tsr_text.h"

static const char *const restriction_managers[] = {"admin", "system-support", "system", NULL};
/* Those who review restrictions: system support, who keep access to every restricted record. */
static const char *const restriction_reviewers[] = {"system-support", "system", NULL};

/* The most workers one access list names: a restriction keeps a record to a few people. */
#define RESTRICTION_NAMED_MAX 64

/* How far the review list pages (a council has hundreds of restrictions, not millions). */
#define RESTRICTION_DUE_DEPTH 100000

/* A review date already past would put the restriction on the review list the day it is made:
 * today (the council's) is the earliest. */
static int restriction__check_review_date(tsr_call_t *call, const char *review_date, tsr_error_t *err)
{
    const char *params[1] = {review_date};
    PGresult *res = tsr_db_exec(call->conn, "SELECT $1::date < office_today()", 1, params, err);
    if (res == NULL)
        return -1;
    int past = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (past)
        return tsr_error_set(err, TSR_E_INVALID, "review_date_past", "review_date",
                             "The review date %s has passed: enter today or a later date.", review_date);
    return 0;
}

/* Each worker named on the access list is a worker who has not left, named once. An id no worker
 * has would let in whoever is given it next, and a typo would leave the worker meant without access
 * (seed 002: access is kept only by those the request names). */
static int restriction__check_workers(tsr_call_t *call, const uint64_t *ids, size_t n, tsr_error_t *err)
{
    char field[32];
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < i; k++)
            if (ids[k] == ids[i]) {
                snprintf(field, sizeof(field), "workers[%zu]", i);
                return tsr_error_set(err, TSR_E_INVALID, "duplicate_worker", field,
                                     "Worker %" PRIu64 " is named twice on the access list.", ids[i]);
            }
    if (n == 0)
        return 0;
    char array[RESTRICTION_NAMED_MAX * 24];
    if (n > RESTRICTION_NAMED_MAX)
        return tsr_error_set(err, TSR_E_INVALID, "too_many_workers", "workers",
                             "Name at most %d workers on the access list; give the rest access by team.",
                             RESTRICTION_NAMED_MAX);
    tsr_db_id_array(ids, n, array, sizeof(array));
    const char *params[1] = {array};
    PGresult *res =
        tsr_db_exec(call->conn,
                    "SELECT u.i - 1, u.w, w.id IS NOT NULL FROM unnest($1::bigint[]) WITH ORDINALITY"
                    " AS u(w, i) LEFT JOIN workers w ON w.id = u.w"
                    " WHERE w.id IS NULL OR w.ended ORDER BY u.i LIMIT 1",
                    1, params, err);
    if (res == NULL)
        return -1;
    int rc = 0;
    if (PQntuples(res) == 1) {
        snprintf(field, sizeof(field), "workers[%s]", PQgetvalue(res, 0, 0));
        if (PQgetvalue(res, 0, 2)[0] == 't')
            rc = tsr_error_set(err, TSR_E_UNPROCESSABLE, "worker_ended", field,
                               "Worker %s has left, so cannot be given access to the record.",
                               PQgetvalue(res, 0, 1));
        else
            rc = tsr_error_set(err, TSR_E_UNPROCESSABLE, "unknown_worker", field,
                               "No worker has the id %s: check it. (A worker added a moment ago may not "
                               "be known here yet; try again shortly.)",
                               PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return rc;
}

int records_restriction_set(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__RestrictionSet *in = (const Tsr__Records__RestrictionSet *)call->payload;
    if (tsr_actor_require_role(call->actor, restriction_managers, "restrict records", err) != 0)
        return -1;
    static const char *const reasons[] = {
        "conflict-of-interest", "high-risk",          "case-review", "high-profile",
        "mappa-marac-lado",     "adoption-fostering", NULL};
    int known = 0;
    for (const char *const *r = reasons; *r && !known; r++)
        known = strcmp(*r, in->reason) == 0;
    if (!known)
        return tsr_error_set(
            err, TSR_E_INVALID, "invalid_reason", "reason",
            "The reason must be one of conflict-of-interest, high-risk, case-review, high-profile, "
            "mappa-marac-lado or adoption-fostering.");
    if (in->review_date[0] == '\0')
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", "review_date",
                             "Enter the date the restriction is next reviewed.");
    if (tsr_text_check_date(in->review_date, 0, "review_date", err) != 0)
        return -1;
    char display[256];
    if (records_person_display(call, in->person_id, display, sizeof(display), err) != 0)
        return -1;
    if (restriction__check_review_date(call, in->review_date, err) != 0 ||
        restriction__check_workers(call, in->worker_ids, in->n_worker_ids, err) != 0)
        return -1;
    char id[32], by[32];
    snprintf(id, sizeof(id), "%" PRIu64, in->person_id);
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    const char *params[4] = {id, in->reason, in->review_date, by};
    PGresult *res =
        tsr_db_exec(call->conn,
                    "INSERT INTO restrictions (person_id, reason, review_date, created_by)"
                    " VALUES ($1::bigint, $2, $3::date, $4::bigint) ON CONFLICT (person_id) DO UPDATE"
                    " SET reason = EXCLUDED.reason, review_date = EXCLUDED.review_date",
                    4, params, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    res = tsr_db_exec(call->conn, "DELETE FROM restriction_access WHERE person_id = $1::bigint", 1, params,
                      err);
    if (res == NULL)
        return -1;
    PQclear(res);
    for (size_t i = 0; i < in->n_worker_ids; i++) {
        char worker[32];
        snprintf(worker, sizeof(worker), "%" PRIu64, in->worker_ids[i]);
        const char *pw[2] = {id, worker};
        res = tsr_db_exec(
            call->conn,
            "INSERT INTO restriction_access (person_id, worker_id) VALUES ($1::bigint, $2::bigint)"
            " ON CONFLICT DO NOTHING",
            2, pw, err);
        if (res == NULL)
            return -1;
        PQclear(res);
    }
    char summary[512];
    snprintf(summary, sizeof(summary),
             "Restricted the record of %s (%" PRIu64 "): %s, review by %s, %zu named workers", display,
             in->person_id, in->reason, in->review_date, in->n_worker_ids);
    if (records_person_audit_restricted(call, in->person_id, display, in->reason, summary, err) != 0)
        return -1;
    return records_person_reply_changed(call, in->person_id, err);
}

int records_restriction_lift(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__RestrictionLift *in = (const Tsr__Records__RestrictionLift *)call->payload;
    if (tsr_actor_require_role(call->actor, restriction_managers, "lift restrictions", err) != 0)
        return -1;
    char display[256];
    if (records_person_display(call, in->person_id, display, sizeof(display), err) != 0)
        return -1;
    char id[32];
    snprintf(id, sizeof(id), "%" PRIu64, in->person_id);
    const char *params[1] = {id};
    PGresult *res =
        tsr_db_exec(call->conn, "DELETE FROM restrictions WHERE person_id = $1::bigint", 1, params, err);
    if (res == NULL)
        return -1;
    int lifted = atoi(PQcmdTuples(res));
    PQclear(res);
    if (!lifted)
        return tsr_error_set(err, TSR_E_CONFLICT, "not_restricted", NULL, "%s's record is not restricted.",
                             display);
    char summary[512];
    snprintf(summary, sizeof(summary), "Lifted the restriction on %s (%" PRIu64 ")", display, in->person_id);
    return records_person_audit(call, in->person_id, display, "unrestricted", summary, err);
}

int records_restriction_due(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__RestrictionDueQuery *in = (const Tsr__Records__RestrictionDueQuery *)call->payload;
    if (tsr_actor_require_role(call->actor, restriction_reviewers, "review restrictions", err) != 0)
        return -1;
    uint32_t limit;
    unsigned long offset;
    if (records_day_list_page(in->limit, in->on, in->cursor, RESTRICTION_DUE_DEPTH, &limit, &offset, err) !=
        0)
        return -1;
    char lim[16], from[16];
    snprintf(lim, sizeof(lim), "%u", limit + 1);
    snprintf(from, sizeof(from), "%lu", offset);
    /* The day first (the office's calendar, as the review dates are), so that even an empty list says
     * which day it is of. */
    const char *day_params[1] = {in->on[0] ? in->on : NULL};
    PGresult *day =
        tsr_db_exec(call->conn, "SELECT coalesce($1::date, office_today())::text", 1, day_params, err);
    if (day == NULL)
        return -1;
    const char *params[3] = {PQgetvalue(day, 0, 0), lim, from};
    PGresult *res =
        tsr_db_exec(call->conn,
                    "SELECT p.id, " RECORDS_PERSON_DISPLAY ", r.reason, r.review_date::text,"
                    "  (SELECT count(*) FROM restriction_access a WHERE a.person_id = p.id),"
                    "  (extract(epoch FROM r.created_at) * 1000)::bigint"
                    " FROM restrictions r JOIN people p ON p.id = r.person_id AND p.merged_into IS NULL"
                    " WHERE r.review_date <= $1::date"
                    " ORDER BY r.review_date, p.id LIMIT $2::int OFFSET $3::bigint",
                    3, params, err);
    if (res == NULL) {
        PQclear(day);
        return -1;
    }
    int rows = PQntuples(res) > (int)limit ? (int)limit : PQntuples(res);
    char next_cursor[24] = "";
    if (PQntuples(res) > (int)limit && offset + limit < RESTRICTION_DUE_DEPTH)
        snprintf(next_cursor, sizeof(next_cursor), "%lu", offset + limit);
    Tsr__Records__RestrictionDue *items = calloc((size_t)rows + 1, sizeof(*items));
    Tsr__Records__RestrictionDue **item_ptrs = calloc((size_t)rows + 1, sizeof(*item_ptrs));
    /* Each record listed is a read of it (its reason is not for everyone): one event names them all. */
    records_listed_t listed;
    int rc = records_listed_init(&listed, (size_t)rows, err);
    if (rc == 0 && (items == NULL || item_ptrs == NULL))
        rc = tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    for (int k = 0; rc == 0 && k < rows; k++) {
        Tsr__Records__RestrictionDue *it = &items[k];
        tsr__records__restriction_due__init(it);
        it->person_id = strtoull(PQgetvalue(res, k, 0), NULL, 10);
        it->display_name = PQgetvalue(res, k, 1);
        it->reason = PQgetvalue(res, k, 2);
        it->review_date = PQgetvalue(res, k, 3);
        it->named_workers = (uint32_t)strtoul(PQgetvalue(res, k, 4), NULL, 10);
        it->restricted_at_ms = strtoll(PQgetvalue(res, k, 5), NULL, 10);
        item_ptrs[k] = it;
        records_listed_add(&listed, it->person_id, it->display_name, "restrictions-listed",
                           "Listed %s (%" PRIu64 ") among the restrictions to review (review by %s)",
                           it->display_name, it->person_id, it->review_date);
    }
    char terms[64];
    snprintf(terms, sizeof(terms), "restrictions to review on %s", PQgetvalue(day, 0, 0));
    if (rc == 0)
        rc = records_listed_emit(call, &listed, "records.restrictions.listed", terms, err);
    if (rc == 0) {
        Tsr__Records__RestrictionDueList out = TSR__RECORDS__RESTRICTION_DUE_LIST__INIT;
        out.on = PQgetvalue(day, 0, 0);
        out.items = item_ptrs;
        out.n_items = (size_t)rows;
        out.next_cursor = next_cursor;
        tsr_call_reply(call, &out.base);
    }
    free(items);
    free(item_ptrs);
    records_listed_free(&listed);
    PQclear(res);
    PQclear(day);
    return rc;
}
