#include "involvements.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "people.h"
#include "relations.h"
#include "tsr_envelope.h"
#include "tsr_text.h"

#define INVOLVEMENT_COLUMNS                                                                                  \
    "id, person_id, service, kind, start_date::text, coalesce(end_date::text, ''), coalesce(team_id, 0),"    \
    " coalesce(worker_id, 0), note"

static const char *const involvement_services[] = {"CSSW", "EH", "ASC", NULL};
const char *const records_involvement_kinds[] = {"child-in-need",
                                                 "child-protection",
                                                 "child-looked-after",
                                                 "care-leaver",
                                                 "early-help",
                                                 "adult-social-care",
                                                 "safeguarding-adults",
                                                 "other",
                                                 NULL};

static int involvement__in(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

static void involvement__from_row(const PGresult *res, int row, Tsr__Records__Involvement *out)
{
    tsr__records__involvement__init(out);
    out->id = strtoull(PQgetvalue(res, row, 0), NULL, 10);
    out->person_id = strtoull(PQgetvalue(res, row, 1), NULL, 10);
    out->service = PQgetvalue(res, row, 2);
    out->kind = PQgetvalue(res, row, 3);
    out->start_date = PQgetvalue(res, row, 4);
    out->end_date = PQgetvalue(res, row, 5);
    out->team_id = strtoull(PQgetvalue(res, row, 6), NULL, 10);
    out->worker_id = strtoull(PQgetvalue(res, row, 7), NULL, 10);
    out->note = PQgetvalue(res, row, 8);
}

int records_involvement_add(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__Involvement *in = (const Tsr__Records__Involvement *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    if (!involvement__in(in->service, involvement_services))
        return tsr_error_set(
            err, TSR_E_INVALID, in->service[0] ? "invalid_service" : "missing_field", "service",
            "The service is CSSW (children's social work), EH (early help) or ASC (adult social "
            "care).");
    if (!involvement__in(in->kind, records_involvement_kinds))
        return tsr_error_set(
            err, TSR_E_INVALID, in->kind[0] ? "invalid_kind" : "missing_field", "kind",
            "The kind of involvement is child-in-need, child-protection, child-looked-after, "
            "care-leaver, early-help, adult-social-care, safeguarding-adults or other.");
    if (in->start_date[0] == '\0')
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", "start_date",
                             "Enter when the involvement began.");
    if (tsr_text_check_date(in->start_date, 1, "start_date", err) != 0)
        return -1;
    /* An involvement ended is one that has ended: an end to come would close the case on paper (its
     * retention counted from that day) while it is still open. */
    if (in->end_date[0] != '\0' && (tsr_text_check_date(in->end_date, 1, "end_date", err) != 0 ||
                                    strcmp(in->end_date, in->start_date) < 0))
        return err->code[0] ? -1
                            : tsr_error_set(err, TSR_E_INVALID, "end_before_start", "end_date",
                                            "An involvement cannot end before it begins.");
    if (tsr_text_length(in->note) > 2000 || tsr_text_has_control(in->note, 1))
        return tsr_error_set(err, TSR_E_INVALID, "invalid_note", "note",
                             "A note is up to 2,000 characters of text.");
    char display[256];
    if (records_person_require_access(call, in->person_id, "involvement", display, sizeof(display), err) != 0)
        return -1;
    char person[24], team[24], worker[24], by[24];
    snprintf(person, sizeof(person), "%" PRIu64, in->person_id);
    snprintf(team, sizeof(team), "%" PRIu64, in->team_id);
    snprintf(worker, sizeof(worker), "%" PRIu64, in->worker_id);
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    /* Locked, so that a merge under way is waited for and the involvement never lands on a duplicate. */
    char born[16];
    if (records_person_lock_born(call, person, born, err) != 0)
        return -1;
    /* Work with a child before the birth is recorded while the child is unborn (no date of birth yet),
     * and stays when the birth is recorded; one added once the person has a date of birth begins on
     * or after it. */
    if (born[0] != '\0' && strcmp(in->start_date, born) < 0)
        return tsr_error_set(err, TSR_E_INVALID, "before_date_of_birth", "start_date",
                             "%s was born on %s: an involvement cannot begin before the date of birth.",
                             display, born);
    const char *params[9] = {person,
                             in->service,
                             in->kind,
                             in->start_date,
                             in->end_date[0] ? in->end_date : NULL,
                             in->team_id ? team : NULL,
                             in->worker_id ? worker : NULL,
                             in->note,
                             by};
    PGresult *res =
        tsr_db_exec(call->conn,
                    "INSERT INTO involvements (person_id, service, kind, start_date, end_date, team_id,"
                    " worker_id, note, created_by) VALUES ($1::bigint, $2, $3, $4::date, $5::date,"
                    " $6::bigint, $7::bigint, $8, $9::bigint) RETURNING " INVOLVEMENT_COLUMNS,
                    9, params, err);
    if (res == NULL)
        return -1;
    Tsr__Records__Involvement out;
    involvement__from_row(res, 0, &out);
    char summary[512];
    snprintf(summary, sizeof(summary), "Recorded a %s involvement (%s) for %s (%" PRIu64 ")", in->service,
             in->kind, display, in->person_id);
    int rc = records_person_audit(call, in->person_id, display, "involvement-added", summary, err);
    if (rc == 0)
        tsr_call_reply(call, &out.base);
    PQclear(res);
    return rc;
}

int records_involvement_end(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__InvolvementEnd *in = (const Tsr__Records__InvolvementEnd *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    /* Ended on a day that has come: see records_involvement_add. */
    if (in->end_date[0] != '\0' && tsr_text_check_date(in->end_date, 1, "end_date", err) != 0)
        return -1;
    char display[256];
    if (records_person_require_access(call, in->person_id, "involvement", display, sizeof(display), err) != 0)
        return -1;
    char person[24], id[24], today[11];
    snprintf(person, sizeof(person), "%" PRIu64, in->person_id);
    snprintf(id, sizeof(id), "%" PRIu64, in->involvement_id);
    tsr_text_today(today);
    const char *end = in->end_date[0] ? in->end_date : today;
    const char *params[3] = {person, id, end};
    PGresult *res = tsr_db_exec(call->conn,
                                "SELECT start_date::text FROM involvements WHERE person_id = $1::bigint"
                                " AND id = $2::bigint AND end_date IS NULL FOR UPDATE",
                                2, params, err);
    if (res == NULL)
        return -1;
    char start[16] = "";
    int open = PQntuples(res) > 0;
    if (open)
        snprintf(start, sizeof(start), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!open)
        return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", NULL, "%s has no open involvement %s.",
                             display, id);
    if (strcmp(end, start) < 0)
        return tsr_error_set(err, TSR_E_INVALID, "end_before_start", "end_date",
                             "Involvement %s began on %s: it cannot end before it begins.", id, start);
    res = tsr_db_exec(
        call->conn,
        "UPDATE involvements SET end_date = $3::date WHERE person_id = $1::bigint AND id = $2::bigint"
        " RETURNING " INVOLVEMENT_COLUMNS,
        3, params, err);
    if (res == NULL)
        return -1;
    Tsr__Records__Involvement out;
    involvement__from_row(res, 0, &out);
    char summary[512];
    snprintf(summary, sizeof(summary), "Ended %s involvement %s of %s (%" PRIu64 ")", out.service, id,
             display, in->person_id);
    int rc = records_person_audit(call, in->person_id, display, "involvement-ended", summary, err);
    if (rc == 0)
        tsr_call_reply(call, &out.base);
    PQclear(res);
    return rc;
}

static int involvement__select(tsr_call_t *call, uint64_t person_id, int open_only, PGresult **res,
                               Tsr__Records__Involvement **items, Tsr__Records__Involvement ***ptrs,
                               size_t *n, tsr_error_t *err)
{
    char person[24];
    snprintf(person, sizeof(person), "%" PRIu64, person_id);
    const char *params[1] = {person};
    *res = tsr_db_exec(call->conn,
                       open_only
                           ? "SELECT " INVOLVEMENT_COLUMNS " FROM involvements WHERE person_id = $1::bigint"
                             " AND end_date IS NULL ORDER BY start_date DESC, id DESC LIMIT 100"
                           : "SELECT " INVOLVEMENT_COLUMNS " FROM involvements WHERE person_id = $1::bigint"
                             " ORDER BY start_date DESC, id DESC LIMIT 500",
                       1, params, err);
    if (*res == NULL)
        return -1;
    *n = (size_t)PQntuples(*res);
    *items = calloc(*n + 1, sizeof(**items));
    *ptrs = calloc(*n + 1, sizeof(**ptrs));
    for (size_t i = 0; i < *n; i++) {
        involvement__from_row(*res, (int)i, &(*items)[i]);
        (*ptrs)[i] = &(*items)[i];
    }
    return 0;
}

int records_involvement_list(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__PersonGet *in = (const Tsr__Records__PersonGet *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    char display[256];
    if (records_person_require_access(call, in->id, "involvements", display, sizeof(display), err) != 0)
        return -1;
    PGresult *res = NULL;
    Tsr__Records__Involvement *items = NULL, **ptrs = NULL;
    size_t n = 0;
    if (involvement__select(call, in->id, 0, &res, &items, &ptrs, &n, err) != 0)
        return -1;
    char summary[512];
    snprintf(summary, sizeof(summary), "Read the service involvements of %s (%" PRIu64 ")", display, in->id);
    int rc = records_person_audit(call, in->id, display, "involvements-viewed", summary, err);
    if (rc == 0) {
        Tsr__Records__InvolvementList list = TSR__RECORDS__INVOLVEMENT_LIST__INIT;
        list.person_id = in->id;
        list.items = ptrs;
        list.n_items = n;
        tsr_call_reply(call, &list.base);
    }
    free(items);
    free(ptrs);
    PQclear(res);
    return rc;
}

int records_involvements_load(tsr_call_t *call, Tsr__Records__Person *person, PGresult **holder,
                              tsr_error_t *err)
{
    Tsr__Records__Involvement *items = NULL;
    if (involvement__select(call, person->id, 1, holder, &items, &person->involvements,
                            &person->n_involvements, err) != 0)
        return -1;
    /* The array of pointers owns the items through its first element's address. */
    if (person->n_involvements == 0) {
        free(items);
        free(person->involvements);
        person->involvements = NULL;
    }
    return 0;
}

void records_involvements_release(Tsr__Records__Person *person, PGresult *holder)
{
    if (person->n_involvements > 0)
        free(person->involvements[0]);
    free(person->involvements);
    person->involvements = NULL;
    person->n_involvements = 0;
    PQclear(holder);
}
