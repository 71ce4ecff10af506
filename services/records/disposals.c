#include "disposals.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "people.h"
#include "records.pb-c.h"
#include "retention.h"
#include "tsr_envelope.h"
#include "tsr_text.h"

#define DISPOSAL_NOTE_MAX 1000
/* A record and the duplicates merged into it: a council merges a handful at most. */
#define DISPOSAL_IDS_MAX 64

/* Those who keep records past their time (information governance, system support) dispose of them
 * too; an auditor sees what is due but deletes nothing. */
static const char *const disposers[] = {"admin", "system-support", "system", NULL};

/* What is kept about the records ($1, every id that goes). A born child keeps their record without
 * its link to a mother disposed of; links the other way round go with the relationship rows. The
 * restriction's access list goes with the restriction (ON DELETE CASCADE). The people go last, in
 * one statement, so that a duplicate's link to the record it was merged into goes with both. */
static const char *const disposal_statements[] = {
    "UPDATE people SET mother_id = NULL WHERE mother_id = ANY ($1::bigint[]) AND NOT id = ANY ($1::bigint[])",
    "DELETE FROM case_note_removals WHERE person_id = ANY ($1::bigint[])",
    "DELETE FROM case_notes WHERE person_id = ANY ($1::bigint[])",
    "DELETE FROM relationships WHERE person_id = ANY ($1::bigint[]) OR related_id = ANY ($1::bigint[])",
    "DELETE FROM allocations WHERE person_id = ANY ($1::bigint[])",
    "DELETE FROM restrictions WHERE person_id = ANY ($1::bigint[])",
    "DELETE FROM involvements WHERE person_id = ANY ($1::bigint[])",
    "DELETE FROM addresses WHERE person_id = ANY ($1::bigint[])",
    "DELETE FROM retention_flags WHERE person_id = ANY ($1::bigint[])",
    "DELETE FROM retention_holds WHERE person_id = ANY ($1::bigint[])",
    "DELETE FROM conflicts WHERE person_id = ANY ($1::bigint[])",
    "DELETE FROM people WHERE id = ANY ($1::bigint[])",
};

int records_person_not_found(tsr_call_t *call, uint64_t id, tsr_error_t *err)
{
    char text[24];
    snprintf(text, sizeof(text), "%" PRIu64, id);
    const char *params[1] = {text};
    tsr_error_t ignored = {0};
    PGresult *res = tsr_db_exec(call->conn,
                                "SELECT (extract(epoch FROM disposed_at) * 1000)::bigint FROM disposals"
                                " WHERE person_id = $1::bigint OR merged_ids @> ARRAY[$1::bigint]",
                                1, params, &ignored);
    if (res == NULL || PQntuples(res) == 0) {
        PQclear(res);
        return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", NULL, "There is no person with id %s.", text);
    }
    char when[32];
    tsr_text_local_time(strtoll(PQgetvalue(res, 0, 0), NULL, 10), "%d/%m/%Y", when, sizeof(when));
    PQclear(res);
    return tsr_error_set(err, TSR_E_NOT_FOUND, "record_disposed", NULL,
                         "The record of person %s was disposed of on %s, at the end of its retention.", text,
                         when);
}

/* Whether the record is due, as records.retention.due lists it; every reason it is not, at once. */
static int disposal__check_due(tsr_call_t *call, uint64_t person_id, const char *today, tsr_error_t *err)
{
    /* An open CP-IS plan keeps the record (cpis is asked; no answer, nothing is disposed of). */
    Tsr__Cpis__PlanStates *plans = NULL;
    if (records_retention_plans(call, person_id, &plans, err) != 0)
        return -1;
    records_retention_t r;
    if (records_retention_load_plans(call, person_id, plans, &r, err) != 0) {
        records_retention_plans_free(&plans);
        return -1;
    }
    tsr_error_clear(err);
    const Tsr__Records__Retention *ret = &r.retention;
    if (ret->n_flags == 0)
        tsr_error_add(err, TSR_E_CONFLICT, "not_due", NULL,
                      "The record has no retention flag: it is flagged when its case is closed, and kept "
                      "until the flag's date.");
    else if (strcmp(ret->keep_until, today) > 0)
        tsr_error_add(err, TSR_E_CONFLICT, "not_due", NULL, "The record is kept until %s.", ret->keep_until);
    if (ret->hold != NULL)
        tsr_error_add(err, TSR_E_CONFLICT, "not_due", NULL,
                      "The record is held past its retention for an inquiry (%.200s): release the hold "
                      "first.",
                      ret->hold->reason);
    for (size_t i = 0; i < ret->n_open_services; i++)
        if (!r.open_by_plan_only || strcmp(ret->open_services[i], "CSSW") != 0)
            tsr_error_add(err, TSR_E_CONFLICT, "not_due", NULL,
                          "The record is still open with %s (an involvement or allocation not ended).",
                          ret->open_services[i]);
    if (r.open_plan != NULL)
        tsr_error_add(err, TSR_E_CONFLICT, "not_due", NULL,
                      "A CP-IS plan is open: the child's %s from %s (plan %" PRIu64
                      ") has not ended, so the CSSW case is open.",
                      strcmp(r.open_plan->plan_type, "child-in-care") == 0 ? "time in care"
                                                                           : "protection plan",
                      r.open_plan->start_date, r.open_plan->plan_id);
    for (size_t i = 0; i < ret->n_unflagged_services; i++)
        tsr_error_add(err, TSR_E_CONFLICT, "not_due", NULL,
                      "%s was involved with the person and has not flagged the record for retention since "
                      "its case last closed: the longest period applies to the whole record.",
                      ret->unflagged_services[i]);
    records_retention_release(&r);
    records_retention_plans_free(&plans);
    return tsr_error_gathered(err);
}

/* The criteria the record was kept under ("CSSW: <title>"), and the latest date of its flags. */
static int disposal__criteria(tsr_call_t *call, const char *person, PGresult **out, tsr_error_t *err)
{
    const char *params[1] = {person};
    *out = tsr_db_exec(call->conn,
                       "SELECT service || ': ' || criterion_title, max(keep_until) OVER ()::text"
                       " FROM retention_flags WHERE person_id = $1::bigint ORDER BY service",
                       1, params, err);
    return *out ? 0 : -1;
}

int records_person_dispose(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__PersonDispose *in = (const Tsr__Records__PersonDispose *)call->payload;
    if (tsr_actor_require_role(call->actor, disposers, "dispose of records", err) != 0)
        return -1;
    char *note = tsr_text_trim_dup(in->note ? in->note : "");
    if (note == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    int rc = -1;
    PGresult *lock = NULL, *gone = NULL, *criteria = NULL, *res = NULL;
    char ids[DISPOSAL_IDS_MAX * 24];
    if (tsr_text_length(note) > DISPOSAL_NOTE_MAX || tsr_text_has_control(note, 0)) {
        tsr_error_set(err, TSR_E_INVALID, "invalid_value", "note", "A note is up to %d characters of text.",
                      DISPOSAL_NOTE_MAX);
        goto done;
    }
    char person[24];
    snprintf(person, sizeof(person), "%" PRIu64, in->person_id);
    const char *one[1] = {person};
    lock =
        tsr_db_exec(call->conn,
                    "SELECT coalesce(merged_into, 0), office_today()::text FROM people WHERE id = $1::bigint"
                    " FOR UPDATE",
                    1, one, err);
    if (lock == NULL)
        goto done;
    if (PQntuples(lock) == 0) {
        records_person_not_found(call, in->person_id, err);
        goto done;
    }
    if (strcmp(PQgetvalue(lock, 0, 0), "0") != 0) {
        tsr_error_set(err, TSR_E_CONFLICT, "merged", NULL,
                      "Person %s was merged into person %s: dispose of that record, and this one goes with "
                      "it.",
                      person, PQgetvalue(lock, 0, 0));
        goto done;
    }
    if (disposal__check_due(call, in->person_id, PQgetvalue(lock, 0, 1), err) != 0)
        goto done;
    /* The record and every duplicate merged into it (or into one of those). */
    gone =
        tsr_db_exec(call->conn,
                    "WITH RECURSIVE gone AS (SELECT id, nhs_number FROM people WHERE id = $1::bigint"
                    "  UNION ALL SELECT p.id, p.nhs_number FROM people p JOIN gone g ON p.merged_into = g.id)"
                    " SELECT id::text, coalesce(nhs_number, ''),"
                    "  (SELECT min(c.id)::text FROM people c WHERE c.unborn"
                    "    AND c.mother_id IN (SELECT id FROM gone) AND c.id NOT IN (SELECT id FROM gone))"
                    " FROM gone ORDER BY id",
                    1, one, err);
    if (gone == NULL)
        goto done;
    int n = PQntuples(gone);
    if (n > DISPOSAL_IDS_MAX) {
        tsr_error_set(err, TSR_E_UNPROCESSABLE, "too_many_duplicates", NULL,
                      "%d records were merged into this one: ask system support to dispose of it.", n - 1);
        goto done;
    }
    /* An unborn child's record depends on its mother's (CP-IS uses her NHS number until the birth). */
    if (!PQgetisnull(gone, 0, 2)) {
        tsr_error_set(err, TSR_E_CONFLICT, "unborn_child", NULL,
                      "The unborn child's record (person %s) names this person as its mother: record the "
                      "birth, or dispose of that record, first.",
                      PQgetvalue(gone, 0, 2));
        goto done;
    }
    uint64_t disposed_ids[DISPOSAL_IDS_MAX];
    char *numbers[DISPOSAL_IDS_MAX];
    size_t n_numbers = 0;
    for (int i = 0; i < n; i++) {
        disposed_ids[i] = strtoull(PQgetvalue(gone, i, 0), NULL, 10);
        if (PQgetvalue(gone, i, 1)[0] != '\0')
            numbers[n_numbers++] = PQgetvalue(gone, i, 1);
    }
    tsr_db_id_array(disposed_ids, (size_t)n, ids, sizeof(ids));
    if (disposal__criteria(call, person, &criteria, err) != 0)
        goto done;
    int n_criteria = PQntuples(criteria);
    if (n_criteria > RECORDS_RETENTION_SERVICES)
        n_criteria = RECORDS_RETENTION_SERVICES;
    char *criteria_items[RECORDS_RETENTION_SERVICES];
    char words[1000] = "";
    size_t words_used = 0;
    for (int i = 0; i < n_criteria; i++) {
        criteria_items[i] = PQgetvalue(criteria, i, 0);
        if (words_used < sizeof(words))
            words_used += (size_t)snprintf(words + words_used, sizeof(words) - words_used, "%s%s",
                                           i ? "; " : "", criteria_items[i]);
    }
    const char *keep_until = n_criteria > 0 ? PQgetvalue(criteria, 0, 1) : "";
    char by[24];
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    /* The register's row first, from the flags about to go. */
    const char *kept[4] = {person, ids, note, by};
    res = tsr_db_exec(call->conn,
                      "INSERT INTO disposals (person_id, merged_ids, keep_until, criteria, note, disposed_by)"
                      " SELECT $1::bigint, array_remove($2::bigint[], $1::bigint), max(keep_until),"
                      "  array_agg(service || ': ' || criterion_title ORDER BY service), $3, $4::bigint"
                      " FROM retention_flags WHERE person_id = $1::bigint"
                      " RETURNING (extract(epoch FROM disposed_at) * 1000)::bigint",
                      4, kept, err);
    if (res == NULL)
        goto done;
    const char *all[1] = {ids};
    for (size_t i = 0; i < sizeof(disposal_statements) / sizeof(disposal_statements[0]); i++) {
        PGresult *step = tsr_db_exec(call->conn, disposal_statements[i], 1, all, err);
        if (step == NULL)
            goto done;
        PQclear(step);
    }
    /* The trail says what went, and under what, but not who the person was: the name goes too. */
    char duplicates[200] = "", summary[1600];
    for (int i = 1, d = 0; i < n && d < (int)sizeof(duplicates); i++)
        d += snprintf(duplicates + d, sizeof(duplicates) - (size_t)d, "%s%s", i > 1 ? ", " : "",
                      PQgetvalue(gone, i, 0));
    snprintf(summary, sizeof(summary),
             "Disposed of the record of person %s%s%s%s at the end of its retention (kept until %s; %s)%s%s",
             person, n > 1 ? " and of the duplicates merged into it (" : "", duplicates, n > 1 ? ")" : "",
             keep_until, words, note[0] ? ": " : "", note);
    Tsr__Records__PersonAccessed ev = TSR__RECORDS__PERSON_ACCESSED__INIT;
    ev.person_id = in->person_id;
    ev.display_name = "";
    ev.action = "disposed";
    ev.summary = summary;
    ev.disposed_ids = disposed_ids;
    ev.n_disposed_ids = (size_t)n;
    ev.disposed_nhs_numbers = numbers;
    ev.n_disposed_nhs_numbers = n_numbers;
    if (tsr_call_emit(call, "records.person.disposed", &ev.base, err) != 0)
        goto done;
    Tsr__Records__PersonDisposal out = TSR__RECORDS__PERSON_DISPOSAL__INIT;
    out.person_id = in->person_id;
    out.disposed_ids = disposed_ids;
    out.n_disposed_ids = (size_t)n;
    out.keep_until = (char *)keep_until;
    out.criteria = criteria_items;
    out.n_criteria = (size_t)n_criteria;
    out.note = note;
    out.disposed_at_ms = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    out.disposed_by = call->actor->worker_id;
    tsr_call_reply(call, &out.base);
    rc = 0;
done:
    PQclear(lock);
    PQclear(gone);
    PQclear(criteria);
    PQclear(res);
    free(note);
    return rc;
}
