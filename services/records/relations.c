#include "relations.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "people.h"
#include "tsr_envelope.h"
#include "tsr_text.h"

/* The earliest day a case note can have happened on. */
#define CASE_NOTE_NOT_BEFORE "1990-01-01"

/* Each type with its inverse: what the other person is to the first. */
static const char *const relationship_types[][2] = {
    {"parent", "child"},
    {"child", "parent"},
    {"sibling", "sibling"},
    {"half-sibling", "half-sibling"},
    {"step-parent", "step-child"},
    {"step-child", "step-parent"},
    {"grandparent", "grandchild"},
    {"grandchild", "grandparent"},
    {"carer", "cared-for"},
    {"cared-for", "carer"},
    {"foster-carer", "foster-child"},
    {"foster-child", "foster-carer"},
    {"partner", "partner"},
    {"ex-partner", "ex-partner"},
    {"aunt-uncle", "niece-nephew"},
    {"niece-nephew", "aunt-uncle"},
    {"mother-of-unborn", "unborn-child"},
    {"unborn-child", "mother-of-unborn"},
    {"household-member", "household-member"},
};

static const char *const case_note_types[] = {
    "contact", "visit",       "telephone-call",       "meeting",         "email",
    "letter",  "supervision", "management-oversight", "cp-is-follow-up", "other",
    NULL};

static const char *relations__inverse(const char *type)
{
    for (size_t i = 0; i < sizeof(relationship_types) / sizeof(relationship_types[0]); i++)
        if (strcmp(relationship_types[i][0], type) == 0)
            return relationship_types[i][1];
    return NULL;
}

/* Full access to a person, or a refusal (audited) / not found. */
int records_person_require_access(tsr_call_t *call, uint64_t id, const char *what, char *display, size_t size,
                                  tsr_error_t *err)
{
    if (records_person_display(call, id, display, size, err) != 0)
        return -1;
    records_access_t access;
    if (records_access_person(call, id, &access, err) != 0)
        return -1;
    if (access != RECORDS_ACCESS_FULL)
        return records_person_refuse(call, id, display, what, err);
    return 0;
}

int records_relationship_add(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__Relationship *in = (const Tsr__Records__Relationship *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    const char *inverse = relations__inverse(in->type);
    if (inverse == NULL)
        return tsr_error_set(
            err, TSR_E_INVALID, "invalid_relationship_type", "type",
            "'%s' is not a relationship type: use parent, child, sibling, half-sibling, "
            "step-parent, step-child, grandparent, grandchild, carer, cared-for, foster-carer, "
            "foster-child, partner, ex-partner, aunt-uncle, niece-nephew, mother-of-unborn, "
            "unborn-child or household-member.",
            in->type);
    if (in->related_id == in->person_id)
        return tsr_error_set(err, TSR_E_INVALID, "self_relationship", "person_id",
                             "A person cannot be related to themselves.");
    char display[256], related[256];
    if (records_person_require_access(call, in->person_id, "link", display, sizeof(display), err) != 0)
        return -1;
    if (records_person_display(call, in->related_id, related, sizeof(related), err) != 0) {
        /* The person to link to is the request's field: a merged duplicate is linked to no one. */
        err->status = strcmp(err->code, "merged") == 0 ? TSR_E_CONFLICT : TSR_E_INVALID;
        snprintf(err->field, sizeof(err->field), "person_id");
        return -1;
    }
    records_access_t access;
    if (records_access_person(call, in->related_id, &access, err) != 0)
        return -1;
    if (access != RECORDS_ACCESS_FULL)
        return records_person_refuse(call, in->related_id, related, "link", err);
    char a[32], b[32], by[32];
    snprintf(a, sizeof(a), "%" PRIu64, in->person_id);
    snprintf(b, sizeof(b), "%" PRIu64, in->related_id);
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    /* Both rows locked, in the order a merge locks them, so that neither is merged away meanwhile. */
    const char *first = in->person_id < in->related_id ? a : b, *second = first == a ? b : a;
    const char *locking = first;
    if (records_person_lock(call, first, err) != 0 ||
        records_person_lock(call, (locking = second), err) != 0) {
        if (locking == b && strcmp(err->code, "merged") == 0) {
            err->status = TSR_E_CONFLICT; /* the person to link to, as above */
            snprintf(err->field, sizeof(err->field), "person_id");
        }
        return -1;
    }
    /* related_id is <type> of person_id; so person_id is <inverse> of related_id. */
    const char *params[5] = {a, b, in->type, inverse, by};
    PGresult *res = tsr_db_exec(call->conn,
                                "INSERT INTO relationships (person_id, related_id, type, created_by)"
                                " VALUES ($1::bigint, $2::bigint, $3, $5::bigint),"
                                "        ($2::bigint, $1::bigint, $4, $5::bigint) ON CONFLICT DO NOTHING",
                                5, params, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    char summary[640];
    snprintf(summary, sizeof(summary), "Recorded %s (%" PRIu64 ") as %s of %s (%" PRIu64 ")", related,
             in->related_id, in->type, display, in->person_id);
    if (records_person_audit(call, in->person_id, display, "related", summary, err) != 0 ||
        records_person_audit(call, in->related_id, related, "related", summary, err) != 0)
        return -1;
    Tsr__Records__Relationship out = *in;
    out.related_display_name = related;
    tsr_call_reply(call, &out.base);
    return 0;
}

int records_relationships_load(tsr_call_t *call, Tsr__Records__Person *person, PGresult **holder,
                               tsr_error_t *err)
{
    char id[32];
    snprintf(id, sizeof(id), "%" PRIu64, person->id);
    const char *params[1] = {id};
    /* A related person's display name is shown even when their record is restricted, as in search. */
    PGresult *res =
        tsr_db_exec(call->conn,
                    "SELECT r.related_id, r.type, CASE WHEN p.unborn AND p.given_name = ''"
                    " THEN 'Unborn baby ' || p.family_name ELSE btrim(p.given_name || ' ' || p.family_name)"
                    " END FROM relationships r JOIN people p ON p.id = r.related_id"
                    " WHERE r.person_id = $1::bigint ORDER BY r.type, p.family_name, p.id",
                    1, params, err);
    if (res == NULL)
        return -1;
    int n = PQntuples(res);
    Tsr__Records__Relationship *items = calloc(n ? (size_t)n : 1, sizeof(*items));
    Tsr__Records__Relationship **ptrs = calloc(n ? (size_t)n : 1, sizeof(*ptrs));
    for (int i = 0; items && ptrs && i < n; i++) {
        tsr__records__relationship__init(&items[i]);
        items[i].person_id = person->id;
        items[i].related_id = strtoull(PQgetvalue(res, i, 0), NULL, 10);
        items[i].type = PQgetvalue(res, i, 1);
        items[i].related_display_name = PQgetvalue(res, i, 2);
        ptrs[i] = &items[i];
    }
    if (n == 0)
        free(items); /* nothing for release to find through relationships[0] */
    person->n_relationships = items && ptrs ? (size_t)n : 0;
    person->relationships = ptrs;
    *holder = res;
    return 0;
}

void records_relationships_release(Tsr__Records__Person *person, PGresult *holder)
{
    if (person->relationships != NULL && person->n_relationships > 0)
        free(person->relationships[0]);
    free(person->relationships);
    person->relationships = NULL;
    person->n_relationships = 0;
    PQclear(holder);
}

int records_case_note_add(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__CaseNote *in = (const Tsr__Records__CaseNote *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    /* Every fault of the note named at once, in the form's order. */
    tsr_error_clear(err);
    int known = 0;
    for (const char *const *t = case_note_types; *t && !known; t++)
        known = strcmp(*t, in->type) == 0;
    if (!known)
        tsr_error_add(err, TSR_E_INVALID, "invalid_case_note_type", "type",
                      "'%s' is not a case note type: use contact, visit, telephone-call, meeting, email, "
                      "letter, supervision, management-oversight, cp-is-follow-up or other.",
                      in->type);
    if (tsr_text_trimmed_length(in->title) == 0)
        tsr_error_add(err, TSR_E_INVALID, "missing_field", "title", "Give the case note a title.");
    else if (tsr_text_length(in->title) > 200)
        tsr_error_add(err, TSR_E_INVALID, "too_long", "title", "A title must be 200 characters or fewer.");
    else if (tsr_text_has_control(in->title, 0))
        tsr_error_add(err, TSR_E_INVALID, "invalid_value", "title",
                      "A title is one line of text: take out the tab, line break or control character.");
    if (tsr_text_length(in->body) > 20000)
        tsr_error_add(err, TSR_E_INVALID, "too_long", "body",
                      "A case note must be 20,000 characters or fewer.");
    else if (tsr_text_has_control(in->body, 1))
        tsr_error_add(err, TSR_E_INVALID, "invalid_value", "body",
                      "The case note holds a control character (not a line break or a tab): take it out.");
    /* occurred_at 0 is now (a note left undated); any other time is one that has come, and not one
     * before 1990, as far back as any date Tessera believes (a consultation's, a CP-IS
     * notification's): 1026 is a slip of the keyboard. */
    char utc[TSR_TEXT_UTC_MS_LEN + 1] = "";
    tsr_error_t one;
    if (in->occurred_at_ms != 0)
        tsr_text_utc_ms(in->occurred_at_ms, utc);
    if (in->occurred_at_ms > tsr_now_ms() + 60000)
        tsr_error_add(err, TSR_E_INVALID, "date_in_future", "occurred_at",
                      "A case note records what has happened: 'occurred_at' cannot be in the future.");
    else if (in->occurred_at_ms != 0 &&
             tsr_text_check_not_before(utc, CASE_NOTE_NOT_BEFORE, "occurred_at", "'occurred_at'", &one) != 0)
        tsr_error_gather(err, &one);
    if (tsr_error_gathered(err) != 0)
        return -1;
    char display[256];
    if (records_person_require_access(call, in->person_id, "case note", display, sizeof(display), err) != 0)
        return -1;
    char person[32], at[32], by[32];
    snprintf(person, sizeof(person), "%" PRIu64, in->person_id);
    snprintf(at, sizeof(at), "%" PRId64, in->occurred_at_ms ? in->occurred_at_ms : tsr_now_ms());
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    /* Locked, so that a merge under way is waited for and the note never lands on a duplicate. */
    char born[16];
    if (records_person_lock_born(call, person, born, err) != 0)
        return -1;
    /* Nothing happened to a person before they were born: the day, in the office's time zone, is on
     * or after the date of birth (an unborn child has none yet). */
    char day[32] = "";
    if (in->occurred_at_ms != 0)
        tsr_text_local_time(in->occurred_at_ms, "%Y-%m-%d", day, sizeof(day));
    if (born[0] != '\0' && day[0] != '\0' && strcmp(day, born) < 0)
        return tsr_error_set(
            err, TSR_E_INVALID, "before_date_of_birth", "occurred_at",
            "%s was born on %s: a case note about them cannot have happened on %s, before the "
            "date of birth.",
            display, born, day);
    char *title = tsr_text_trim_dup(in->title);
    const char *params[6] = {person, in->type, title, in->body, at, by};
    PGresult *res =
        tsr_db_exec(call->conn,
                    "INSERT INTO case_notes (person_id, type, title, body, occurred_at, recorded_by)"
                    " VALUES ($1::bigint, $2, $3, $4, to_timestamp($5::bigint / 1000.0), $6::bigint)"
                    " RETURNING id, (extract(epoch FROM recorded_at) * 1000)::bigint",
                    6, params, err);
    free(title);
    if (res == NULL)
        return -1;
    Tsr__Records__CaseNote out = *in;
    out.id = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    out.recorded_at_ms = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    out.occurred_at_ms = strtoll(at, NULL, 10);
    out.recorded_by = call->actor->worker_id;
    PQclear(res);
    char summary[512];
    snprintf(summary, sizeof(summary), "Added a %s case note to %s (%" PRIu64 ")", in->type, display,
             in->person_id);
    if (records_person_audit(call, in->person_id, display, "case-note-added", summary, err) != 0)
        return -1;
    tsr_call_reply(call, &out.base);
    return 0;
}

/* Who takes out a case note recorded in error: IT's system support, at the request of a senior or
 * team manager (seed 001's 'Case note deletion' support request; seed 002's deletion process). */
static const char *const case_note_removers[] = {"system-support", NULL};

static const tsr_reason_t case_note_removal_reasons[] = {
    {"wrong-person", "recorded on the wrong person's record"},
    {"inaccurate", "found to be inaccurate"},
    {"other", "recorded in error"},
    {NULL, NULL},
};

/* Always -1: a note already taken out is answered 409 with when and why it went; one the record
 * never held, 404. */
static int case_note__already_removed(tsr_call_t *call, const char *person, const char *id,
                                      const char *display, tsr_error_t *err)
{
    const char *params[2] = {person, id};
    PGresult *res =
        tsr_db_exec(call->conn,
                    "SELECT (extract(epoch FROM removed_at) * 1000)::bigint, reason"
                    " FROM case_note_removals WHERE person_id = $1::bigint AND case_note_id = $2::bigint",
                    2, params, err);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", NULL, "%s has no case note %s.", display, id);
    }
    char when[32];
    tsr_text_local_time(strtoll(PQgetvalue(res, 0, 0), NULL, 10), "%d/%m/%Y %H:%M", when, sizeof(when));
    tsr_error_set(err, TSR_E_CONFLICT, "case_note_already_removed", NULL,
                  "Case note %s was removed on %s, as %s.", id, when,
                  tsr_text_reason_words(case_note_removal_reasons, PQgetvalue(res, 0, 1)));
    PQclear(res);
    return -1;
}

int records_case_note_remove(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__CaseNoteRemove *in = (const Tsr__Records__CaseNoteRemove *)call->payload;
    if (tsr_actor_require_role(call->actor, case_note_removers,
                               "remove case notes: a senior or team manager asks system support", err) != 0)
        return -1;
    /* Every fault of the request named at once. */
    tsr_error_clear(err);
    const char *reason = in->reason ? in->reason : "";
    const char *explanation = in->explanation ? in->explanation : "";
    tsr_text_check_reason(reason, case_note_removal_reasons, explanation, "case note", err);
    if (tsr_error_gathered(err) != 0)
        return -1;
    char display[256];
    if (records_person_require_access(call, in->person_id, "case note", display, sizeof(display), err) != 0)
        return -1;
    char person[24], id[24], by[24];
    snprintf(person, sizeof(person), "%" PRIu64, in->person_id);
    snprintf(id, sizeof(id), "%" PRIu64, in->case_note_id);
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    char *trimmed = tsr_text_trim_dup(explanation);
    const char *removal[5] = {person, id, reason, trimmed ? trimmed : "", by};
    /* The note and its text go; the removal keeps only that it was there, and why it went. No note
     * deleted: it was removed before, or never here. */
    PGresult *res = tsr_db_exec(
        call->conn,
        "WITH gone AS (DELETE FROM case_notes WHERE person_id = $1::bigint AND id = $2::bigint"
        " RETURNING id, person_id, type, occurred_at, recorded_at, recorded_by)"
        " INSERT INTO case_note_removals (case_note_id, person_id, type, occurred_at, recorded_at,"
        "  recorded_by, reason, explanation, removed_by)"
        " SELECT id, person_id, type, occurred_at, recorded_at, recorded_by, $3, $4, $5::bigint"
        " FROM gone RETURNING type, (extract(epoch FROM occurred_at) * 1000)::bigint,"
        " (extract(epoch FROM removed_at) * 1000)::bigint, recorded_by",
        5, removal, err);
    if (res == NULL || PQntuples(res) == 0) {
        free(trimmed);
        int failed = res == NULL;
        PQclear(res);
        return failed ? -1 : case_note__already_removed(call, person, id, display, err);
    }
    Tsr__Records__CaseNoteRemoval out = TSR__RECORDS__CASE_NOTE_REMOVAL__INIT;
    out.case_note_id = in->case_note_id;
    out.person_id = in->person_id;
    out.type = PQgetvalue(res, 0, 0);
    out.occurred_at_ms = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    out.recorded_by = strtoull(PQgetvalue(res, 0, 3), NULL, 10);
    out.reason = (char *)reason;
    out.explanation = trimmed ? trimmed : "";
    out.removed_at_ms = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    out.removed_by = call->actor->worker_id;
    /* The trail says which note went and why, never what it said: the point is that it is gone. */
    char day[16], summary[512];
    tsr_text_local_time(out.occurred_at_ms, "%d/%m/%Y", day, sizeof(day));
    snprintf(summary, sizeof(summary), "Removed %s case note %s of %s from %.200s (%" PRIu64 "), %s",
             out.type, id, day, display, in->person_id,
             tsr_text_reason_words(case_note_removal_reasons, reason));
    int rc = records_person_audit(call, in->person_id, display, "case-note-removed", summary, err);
    if (rc == 0)
        tsr_call_reply(call, &out.base);
    PQclear(res);
    free(trimmed);
    return rc;
}

int records_case_notes_latest(tsr_call_t *call, Tsr__Records__Person *person, PGresult **holder,
                              tsr_error_t *err)
{
    char id[24];
    snprintf(id, sizeof(id), "%" PRIu64, person->id);
    const char *params[1] = {id};
    *holder = tsr_db_exec(call->conn,
                          "SELECT id, type, title, body, (extract(epoch FROM occurred_at) * 1000)::bigint,"
                          " (extract(epoch FROM recorded_at) * 1000)::bigint, recorded_by,"
                          " count(*) OVER () FROM case_notes WHERE person_id = $1::bigint"
                          " ORDER BY occurred_at DESC, id DESC LIMIT 10",
                          1, params, err);
    if (*holder == NULL)
        return -1;
    int n = PQntuples(*holder);
    if (n == 0)
        return 0;
    Tsr__Records__CaseNote *notes = calloc((size_t)n, sizeof(*notes));
    person->case_notes = calloc((size_t)n, sizeof(*person->case_notes));
    for (int i = 0; i < n; i++) {
        tsr__records__case_note__init(&notes[i]);
        notes[i].id = strtoull(PQgetvalue(*holder, i, 0), NULL, 10);
        notes[i].person_id = person->id;
        notes[i].type = PQgetvalue(*holder, i, 1);
        notes[i].title = PQgetvalue(*holder, i, 2);
        notes[i].body = PQgetvalue(*holder, i, 3);
        notes[i].occurred_at_ms = strtoll(PQgetvalue(*holder, i, 4), NULL, 10);
        notes[i].recorded_at_ms = strtoll(PQgetvalue(*holder, i, 5), NULL, 10);
        notes[i].recorded_by = strtoull(PQgetvalue(*holder, i, 6), NULL, 10);
        person->case_notes[i] = &notes[i];
    }
    person->n_case_notes = (size_t)n;
    /* count(*) OVER () counts every note, not only the ten shown. The window runs before LIMIT. */
    person->case_notes_total = (uint32_t)strtoul(PQgetvalue(*holder, 0, 7), NULL, 10);
    return 0;
}

void records_case_notes_release(Tsr__Records__Person *person, PGresult *holder)
{
    if (person->n_case_notes > 0)
        free(person->case_notes[0]);
    free(person->case_notes);
    person->case_notes = NULL;
    person->n_case_notes = 0;
    PQclear(holder);
}

int records_case_note_list(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__CaseNotesGet *in = (const Tsr__Records__CaseNotesGet *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    uint32_t limit = in->limit == 0 ? 50 : in->limit;
    if (limit > 200)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_limit", "limit", "limit must be from 1 to 200.");
    /* The cursor is the last note shown: its time to the microsecond and its id ("<us>_<id>"), the
     * order the notes are read in. */
    long long after_us = 0;
    unsigned long long after_id = 0;
    const char *cursor = in->cursor ? in->cursor : "";
    if (cursor[0] != '\0') {
        char tail;
        if (sscanf(cursor, "%lld_%llu%c", &after_us, &after_id, &tail) != 2 || after_id == 0 ||
            strspn(cursor, "-0123456789_") != strlen(cursor) || strlen(cursor) > 48)
            return tsr_error_set(err, TSR_E_INVALID, "invalid_cursor", "cursor",
                                 "The cursor is not one this service gave out; start again without it.");
    }
    char display[256];
    if (records_person_require_access(call, in->person_id, "case notes", display, sizeof(display), err) != 0)
        return -1;
    char person[32], lim[16], us[32], id[32];
    snprintf(person, sizeof(person), "%" PRIu64, in->person_id);
    snprintf(lim, sizeof(lim), "%u", limit + 1); /* one more: whether another page follows */
    snprintf(us, sizeof(us), "%lld", after_us);
    snprintf(id, sizeof(id), "%llu", after_id);
    const char *params[4] = {person, lim, cursor[0] ? us : NULL, cursor[0] ? id : NULL};
    PGresult *res =
        tsr_db_exec(call->conn,
                    "SELECT id, type, title, body, (extract(epoch FROM occurred_at) * 1000)::bigint,"
                    " (extract(epoch FROM recorded_at) * 1000)::bigint, recorded_by,"
                    " (extract(epoch FROM occurred_at) * 1000000)::bigint"
                    " FROM case_notes WHERE person_id = $1::bigint"
                    "  AND ($3::bigint IS NULL OR (occurred_at, id) <"
                    "   ('epoch'::timestamptz + $3::bigint * interval '1 microsecond', $4::bigint))"
                    " ORDER BY occurred_at DESC, id DESC LIMIT $2::int",
                    4, params, err);
    if (res == NULL)
        return -1;
    int n = PQntuples(res);
    char next_cursor[64] = "";
    if (n > (int)limit) {
        n = (int)limit;
        snprintf(next_cursor, sizeof(next_cursor), "%s_%s", PQgetvalue(res, n - 1, 7),
                 PQgetvalue(res, n - 1, 0));
    }
    Tsr__Records__CaseNote *notes = calloc(n ? (size_t)n : 1, sizeof(*notes));
    Tsr__Records__CaseNote **ptrs = calloc(n ? (size_t)n : 1, sizeof(*ptrs));
    for (int i = 0; notes && ptrs && i < n; i++) {
        tsr__records__case_note__init(&notes[i]);
        notes[i].id = strtoull(PQgetvalue(res, i, 0), NULL, 10);
        notes[i].person_id = in->person_id;
        notes[i].type = PQgetvalue(res, i, 1);
        notes[i].title = PQgetvalue(res, i, 2);
        notes[i].body = PQgetvalue(res, i, 3);
        notes[i].occurred_at_ms = strtoll(PQgetvalue(res, i, 4), NULL, 10);
        notes[i].recorded_at_ms = strtoll(PQgetvalue(res, i, 5), NULL, 10);
        notes[i].recorded_by = strtoull(PQgetvalue(res, i, 6), NULL, 10);
        ptrs[i] = &notes[i];
    }
    char summary[512];
    snprintf(summary, sizeof(summary), "Read the case notes of %s (%" PRIu64 ")", display, in->person_id);
    int rc = records_person_audit(call, in->person_id, display, "case-notes-viewed", summary, err);
    if (rc == 0) {
        Tsr__Records__CaseNoteList list = TSR__RECORDS__CASE_NOTE_LIST__INIT;
        list.person_id = in->person_id;
        list.n_items = notes && ptrs ? (size_t)n : 0;
        list.items = ptrs;
        list.next_cursor = next_cursor;
        tsr_call_reply(call, &list.base);
    }
    free(notes);
    free(ptrs);
    PQclear(res);
    return rc;
}
