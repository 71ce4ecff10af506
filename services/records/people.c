#include "people.h"

#include "involvements.h"
#include "relations.h"

#include <inttypes.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access.h"
#include "notifications.pb-c.h"
#include "records.pb-c.h"
#include "tsr_envelope.h"
#include "addresses.h"
#include "disposals.h"
#include "retention.h"
#include "tsr_log.h"
#include "tsr_nhs.h"
#include "tsr_text.h"

#define PERSON_NAME_MAX 100
/* The earliest a child can be born before the expected date of delivery, as SQL (24 weeks). */
#define PERSON_BIRTH_EARLIEST_DAYS "168"
/* Seed 003: CP-IS matches the mother's NHS number to her unborn child until the expected date of
 * delivery, so a date typed wrong sends her notifications to the child's record (2036 for 2026: ten
 * years of them), and one long past asks at once for the child's own NHS number. A pregnancy lasts
 * at most about 42 weeks: the date is at most 44 weeks after the day the unborn child is recorded.
 * One already passed that day is a birth not yet recorded, which is real for a few weeks (a birth is
 * registered within 42 days) but not for years: it is at most 6 weeks before that day. */
#define PERSON_EDD_AHEAD_DAYS 308
#define PERSON_EDD_PASSED_DAYS 42

const char *const records_person_writers[] = {"admin",
                                              "system-support",
                                              "mash-admin",
                                              "mash-manager",
                                              "social-worker",
                                              "senior-practitioner",
                                              "team-manager",
                                              "early-help-worker",
                                              "safeguarding-admin",
                                              "emergency-duty",
                                              "business-information-admin",
                                              "head-of-service",
                                              "system",
                                              NULL};
static const char *const allocators[] = {
    "admin", "system-support", "team-manager", "mash-manager", "head-of-service", "system", NULL};

#define PERSON_DISPLAY RECORDS_PERSON_DISPLAY

/* Every name a person is found by (search_names): the legal name and the other names (a JSON list),
 * lower-cased, as added and as corrected. */
#define PERSON_SEARCH_NAMES(given, family, others)                                                           \
    "lower(" given " || ' ' || " family " || ' ' || coalesce((SELECT string_agg(n, ' ') FROM "               \
    "jsonb_array_elements_text(" others "::jsonb) n), ''))"

#define PERSON_COLUMNS                                                                                       \
    "p.id, p.given_name, p.family_name, array_to_string(p.other_names, E'\\n'),"                             \
    " coalesce(p.date_of_birth::text, ''), p.gender, coalesce(p.nhs_number, ''), p.unborn,"                  \
    " coalesce(p.mother_id, 0), coalesce(p.expected_delivery_date::text, ''),"                               \
    " (extract(epoch FROM p.created_at) * 1000)::bigint, " PERSON_DISPLAY ","                                \
    " r.reason IS NOT NULL, coalesce(r.reason, ''), coalesce(r.review_date::text, ''),"                      \
    " coalesce((SELECT string_agg(worker_id::text, ',') FROM restriction_access a WHERE a.person_id = "      \
    "p.id), '')"

/* ------------------------------------------------------------------------------------------------
 * Reading rows and writing audit events
 * ---------------------------------------------------------------------------------------------- */

/* Holds what a Person message points into: freed with person__release. */
typedef struct {
    Tsr__Records__Person person;
    Tsr__Records__PersonName name;
    char *other_names_buf;
    char *other_names[32];
    uint64_t workers[64];
} person_row_t;

static void person__from_row(const PGresult *res, int row, int full, person_row_t *out)
{
    memset(out, 0, sizeof(*out));
    Tsr__Records__Person *p = &out->person;
    tsr__records__person__init(p);
    tsr__records__person_name__init(&out->name);
    p->id = strtoull(PQgetvalue(res, row, 0), NULL, 10);
    p->display_name = PQgetvalue(res, row, 11);
    p->restricted = strcmp(PQgetvalue(res, row, 12), "t") == 0;
    if (!full) {
        /* Name only: nothing else of a restricted record leaves this daemon. */
        p->name_only = 1;
        return;
    }
    out->name.given = PQgetvalue(res, row, 1);
    out->name.family = PQgetvalue(res, row, 2);
    p->legal_name = &out->name;
    out->other_names_buf = strdup(PQgetvalue(res, row, 3));
    size_t n = 0;
    for (char *tok = out->other_names_buf ? strtok(out->other_names_buf, "\n") : NULL; tok && n < 32;
         tok = strtok(NULL, "\n"))
        out->other_names[n++] = tok;
    p->n_other_names = n;
    p->other_names = out->other_names;
    p->date_of_birth = PQgetvalue(res, row, 4);
    p->gender = PQgetvalue(res, row, 5);
    p->nhs_number = PQgetvalue(res, row, 6);
    p->unborn = strcmp(PQgetvalue(res, row, 7), "t") == 0;
    p->mother_id = strtoull(PQgetvalue(res, row, 8), NULL, 10);
    p->expected_delivery_date = PQgetvalue(res, row, 9);
    p->created_at_ms = strtoll(PQgetvalue(res, row, 10), NULL, 10);
    p->restriction_reason = PQgetvalue(res, row, 13);
    p->restriction_review_date = PQgetvalue(res, row, 14);
    size_t w = 0;
    for (char *s = PQgetvalue(res, row, 15); *s && w < 64;) {
        out->workers[w++] = strtoull(s, &s, 10);
        if (*s == ',')
            s++;
    }
    p->n_restriction_workers = w;
    p->restriction_workers = out->workers;
}

static void person__release(person_row_t *row)
{
    free(row->other_names_buf);
}

static int person__audit_merged(tsr_call_t *call, uint64_t person_id, const char *display_name,
                                const char *action, const char *summary,
                                const Tsr__Records__Allocation *allocation, uint64_t merged_from,
                                tsr_error_t *err)
{
    Tsr__Records__PersonAccessed ev = TSR__RECORDS__PERSON_ACCESSED__INIT;
    ev.person_id = person_id;
    ev.display_name = (char *)display_name;
    ev.action = (char *)action;
    ev.summary = (char *)summary;
    ev.allocation = (Tsr__Records__Allocation *)allocation;
    ev.merged_from = merged_from;
    char type[64];
    snprintf(type, sizeof(type), "records.person.%s", action);
    return tsr_call_emit(call, type, &ev.base, err);
}

int records_person_audit_restricted(tsr_call_t *call, uint64_t person_id, const char *display_name,
                                    const char *reason, const char *summary, tsr_error_t *err)
{
    Tsr__Records__PersonAccessed ev = TSR__RECORDS__PERSON_ACCESSED__INIT;
    ev.person_id = person_id;
    ev.display_name = (char *)display_name;
    ev.action = "restricted";
    ev.summary = (char *)summary;
    ev.restriction_reason = (char *)reason;
    return tsr_call_emit(call, "records.person.restricted", &ev.base, err);
}

static int person__audit(tsr_call_t *call, uint64_t person_id, const char *display_name, const char *action,
                         const char *summary, const Tsr__Records__Allocation *allocation, tsr_error_t *err)
{
    return person__audit_merged(call, person_id, display_name, action, summary, allocation, 0, err);
}

int records_person_audit_merge(tsr_call_t *call, uint64_t survivor_id, const char *display_name,
                               uint64_t duplicate_id, const char *summary, tsr_error_t *err)
{
    return person__audit_merged(call, survivor_id, display_name, "merged", summary, NULL, duplicate_id, err);
}

int records_day_list_page(uint32_t asked_limit, const char *on, const char *cursor, unsigned long depth,
                          uint32_t *limit, unsigned long *offset, tsr_error_t *err)
{
    *limit = asked_limit == 0 ? 50 : asked_limit;
    *offset = 0;
    if (*limit > 200)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_limit", "limit", "limit must be from 1 to 200.");
    if (on[0] != '\0' && tsr_text_check_date(on, 0, "on", err) != 0)
        return -1;
    return tsr_text_cursor_offset(cursor, depth, offset, err);
}

/* One event naming every record a list showed in full (a search, the records due for disposal, the
 * restrictions to review): the audit daemon makes it one entry a record. Nothing when none. */
int records_people_listed(tsr_call_t *call, const char *type, Tsr__Records__PersonAccessed **people, size_t n,
                          const char *terms, tsr_error_t *err)
{
    if (n == 0)
        return 0;
    Tsr__Records__PeopleFound ev = TSR__RECORDS__PEOPLE_FOUND__INIT;
    ev.people = people;
    ev.n_people = n;
    ev.terms = (char *)terms;
    return tsr_call_emit(call, type, &ev.base, err);
}

int records_listed_init(records_listed_t *l, size_t cap, tsr_error_t *err)
{
    memset(l, 0, sizeof(*l));
    l->items = calloc(cap + 1, sizeof(*l->items));
    l->ptrs = calloc(cap + 1, sizeof(*l->ptrs));
    l->summaries = calloc(cap + 1, sizeof(*l->summaries));
    if (l->items == NULL || l->ptrs == NULL || l->summaries == NULL) {
        records_listed_free(l);
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    }
    return 0;
}

void records_listed_add(records_listed_t *l, uint64_t person_id, const char *display_name, const char *action,
                        const char *fmt, ...)
{
    Tsr__Records__PersonAccessed *p = &l->items[l->n];
    tsr__records__person_accessed__init(p);
    p->person_id = person_id;
    p->display_name = (char *)display_name;
    p->action = (char *)action;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->summaries[l->n], sizeof(l->summaries[l->n]), fmt, ap);
    va_end(ap);
    p->summary = l->summaries[l->n];
    l->ptrs[l->n] = p;
    l->n++;
}

int records_listed_emit(tsr_call_t *call, const records_listed_t *l, const char *type, const char *terms,
                        tsr_error_t *err)
{
    return records_people_listed(call, type, l->ptrs, l->n, terms, err);
}

void records_listed_free(records_listed_t *l)
{
    free(l->items);
    free(l->ptrs);
    free(l->summaries);
    memset(l, 0, sizeof(*l));
}

/* Appends the audit event of an access to a person. */
int records_person_audit(tsr_call_t *call, uint64_t person_id, const char *display_name, const char *action,
                         const char *summary, tsr_error_t *err)
{
    return person__audit(call, person_id, display_name, action, summary, NULL, err);
}

static PGresult *person__select(tsr_call_t *call, uint64_t id, tsr_error_t *err)
{
    char text[32];
    snprintf(text, sizeof(text), "%" PRIu64, id);
    const char *params[1] = {text};
    return tsr_db_exec(call->conn,
                       "SELECT " PERSON_COLUMNS
                       " FROM people p LEFT JOIN restrictions r ON r.person_id = p.id"
                       " WHERE p.id = $1::bigint",
                       1, params, err);
}

/* Refuses a read of a record the actor may not see, and keeps the refusal in the audit trail. */
/* Seed 002: the managers of a restricted record (the line managers of its allocated workers and the
 * managers of its allocated teams; failing those, whoever restricted it) hear of anyone outside its
 * access list trying to open it, through the notifications daemon. The notice names no one. One
 * notice a worker, record and day (UTC), counting the attempts (count_repeats): a notice an attempt
 * let one worker's 510 refused reads bury their managers' and system support's real work (a CP-IS
 * follow-up, an overdue escalation) under 510 unread notices, each to be e-mailed. Every attempt is
 * still in the audit trail (records.person.refused). */
static int person__alert_managers(tsr_call_t *call, uint64_t id, tsr_error_t *err)
{
    char text[32];
    snprintf(text, sizeof(text), "%" PRIu64, id);
    const char *params[1] = {text};
    PGresult *res = tsr_db_exec(
        call->conn,
        "WITH managers AS ("
        "  SELECT w.manager_id AS id FROM allocations a JOIN workers w ON w.id = a.worker_id"
        "   WHERE a.person_id = $1::bigint AND a.end_date IS NULL AND w.manager_id IS NOT NULL"
        "  UNION SELECT m.id FROM allocations a JOIN workers m ON a.team_id = ANY (m.managed_team_ids)"
        "   WHERE a.person_id = $1::bigint AND a.end_date IS NULL AND NOT m.ended)"
        " SELECT id FROM managers"
        " UNION ALL SELECT created_by FROM restrictions"
        "  WHERE person_id = $1::bigint AND NOT EXISTS (SELECT 1 FROM managers)",
        1, params, err);
    if (res == NULL)
        return -1;
    char link[64], key[128], day[16];
    snprintf(link, sizeof(link), "/people/%" PRIu64, id);
    time_t now = (time_t)(tsr_now_ms() / 1000);
    struct tm utc;
    strftime(day, sizeof(day), "%Y-%m-%d", gmtime_r(&now, &utc));
    snprintf(key, sizeof(key), "restricted-record-access-attempt:%" PRIu64 ":%" PRIu64 ":%s", id,
             call->actor->worker_id, day);
    int rc = records_notice_tell(call, res, "restricted-record-access-attempt",
                                 "Someone outside its access list tried to open a restricted record", link,
                                 key, 1, err);
    PQclear(res);
    return rc;
}

int records_notice_tell(tsr_call_t *call, const PGresult *workers, const char *kind, const char *title,
                        const char *link, const char *dedupe_key, int count_repeats, tsr_error_t *err)
{
    int n = PQntuples(workers);
    if (n == 0)
        return 0;
    uint64_t *ids = calloc((size_t)n, sizeof(uint64_t));
    if (ids == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    for (int i = 0; i < n; i++)
        ids[i] = strtoull(PQgetvalue(workers, i, 0), NULL, 10);
    Tsr__Notifications__NoticeRequested notice = TSR__NOTIFICATIONS__NOTICE_REQUESTED__INIT;
    notice.worker_ids = ids;
    notice.n_worker_ids = (size_t)n;
    notice.kind = (char *)kind;
    notice.title = (char *)title;
    notice.link = (char *)link;
    notice.dedupe_key = (char *)dedupe_key;
    notice.count_repeats = count_repeats != 0;
    int rc = tsr_call_emit(call, "records.notice.requested", &notice.base, err);
    free(ids);
    return rc;
}

int records_person_refuse(tsr_call_t *call, uint64_t id, const char *display, const char *what,
                          tsr_error_t *err)
{
    /* A worker kept out by their own declared conflict of interest is told so: the record may not be
     * restricted at all, and no one will give them access while the declaration stands. */
    char person[32], worker[32];
    snprintf(person, sizeof(person), "%" PRIu64, id);
    snprintf(worker, sizeof(worker), "%" PRIu64, call->actor->worker_id);
    const char *params[2] = {person, worker};
    PGresult *res = tsr_db_exec(call->conn,
                                "SELECT EXISTS (SELECT 1 FROM conflicts WHERE person_id = $1::bigint"
                                "   AND worker_id = $2::bigint),"
                                " EXISTS (SELECT 1 FROM restrictions WHERE person_id = $1::bigint)",
                                2, params, err);
    if (res == NULL)
        return -1;
    int conflict = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    int restricted = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    PQclear(res);
    char summary[512];
    if (conflict)
        snprintf(summary, sizeof(summary),
                 "Refused: %s of %s (%" PRIu64 "), with whom the worker declared a conflict of interest",
                 what, display, id);
    else
        snprintf(summary, sizeof(summary), "Refused: %s of restricted record %s (%" PRIu64 ")", what, display,
                 id);
    if (records_person_audit(call, id, display, "refused", summary, err) != 0 ||
        (restricted && person__alert_managers(call, id, err) != 0))
        return -1;
    call->commit_refusal = 1;
    if (conflict)
        return tsr_error_set(err, TSR_E_FORBIDDEN, "conflict_of_interest", NULL,
                             "You have declared a conflict of interest with %s, so their record is kept from "
                             "you. Work about them is for a colleague: ask your manager to pass it on.",
                             display);
    return tsr_error_set(err, TSR_E_FORBIDDEN, "restricted_record", NULL,
                         "%s's record is restricted and you are not on its access list. If you need access, "
                         "contact system support.",
                         display);
}

static int person__load_allocations(tsr_call_t *call, uint64_t id, Tsr__Records__Person *p,
                                    Tsr__Records__Allocation **storage, PGresult **holder, tsr_error_t *err)
{
    char text[32];
    snprintf(text, sizeof(text), "%" PRIu64, id);
    const char *params[1] = {text};
    PGresult *res = tsr_db_exec(call->conn,
                                "SELECT id, coalesce(worker_id, 0), coalesce(team_id, 0), role, service,"
                                " start_date::text, coalesce(end_date::text, '') FROM allocations"
                                " WHERE person_id = $1::bigint AND end_date IS NULL ORDER BY id",
                                1, params, err);
    if (res == NULL)
        return -1;
    int n = PQntuples(res);
    Tsr__Records__Allocation *all = calloc(n ? (size_t)n : 1, sizeof(*all));
    Tsr__Records__Allocation **ptrs = calloc(n ? (size_t)n : 1, sizeof(*ptrs));
    for (int i = 0; all && ptrs && i < n; i++) {
        tsr__records__allocation__init(&all[i]);
        all[i].id = strtoull(PQgetvalue(res, i, 0), NULL, 10);
        all[i].person_id = id;
        all[i].worker_id = strtoull(PQgetvalue(res, i, 1), NULL, 10);
        all[i].team_id = strtoull(PQgetvalue(res, i, 2), NULL, 10);
        all[i].role = PQgetvalue(res, i, 3);
        all[i].service = PQgetvalue(res, i, 4);
        all[i].start_date = PQgetvalue(res, i, 5);
        all[i].end_date = PQgetvalue(res, i, 6);
        ptrs[i] = &all[i];
    }
    p->n_allocations = all && ptrs ? (size_t)n : 0;
    p->allocations = ptrs;
    *storage = all;
    *holder = res;
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * Adding a person
 * ---------------------------------------------------------------------------------------------- */

/* A change's details (PersonDetailsSet, PersonBirth) as the PersonCreate they are checked as. */
#define PERSON_DETAILS_CHECKED(check, in)                                                                    \
    do {                                                                                                     \
        (check).legal_name = (in)->legal_name;                                                               \
        (check).n_other_names = (in)->n_other_names;                                                         \
        (check).other_names = (in)->other_names;                                                             \
        (check).date_of_birth = (in)->date_of_birth;                                                         \
        (check).gender = (in)->gender;                                                                       \
    } while (0)

/* A name that looks right but holds what no one can see would hide the person from search, from the
 * duplicate check and from the NHS's match of their name. */
#define PERSON_INVISIBLE                                                                                     \
    "A name must not contain a zero-width space or a mark of the text's direction, which cannot be seen: "   \
    "type the name again."

/* An unborn child's expected date of delivery (a real date) against the days a pregnancy allows,
 * counted from recorded_on: today when the child is added (from_today), the day the record was added
 * when the date is corrected, since it is that pregnancy's. Each fault is added to err. */
static void person__gather_edd_faults(const char *edd, const char *recorded_on, int from_today,
                                      tsr_error_t *err)
{
    char latest[11], earliest[11], since[64];
    if (tsr_text_date_add_days(recorded_on, PERSON_EDD_AHEAD_DAYS, latest) != 0 ||
        tsr_text_date_add_days(recorded_on, -PERSON_EDD_PASSED_DAYS, earliest) != 0)
        return;
    if (from_today)
        snprintf(since, sizeof(since), "today");
    else
        snprintf(since, sizeof(since), "the day the unborn child was recorded (%s)", recorded_on);
    if (strcmp(edd, latest) > 0)
        tsr_error_add(
            err, TSR_E_INVALID, "date_too_late", "expected_delivery_date",
            "The expected date of delivery cannot be more than 44 weeks after %s, %s at the latest: "
            "no pregnancy is longer. Check the year.",
            since, latest);
    else if (strcmp(edd, earliest) < 0)
        tsr_error_add(err, TSR_E_INVALID, "date_too_early", "expected_delivery_date",
                      "The expected date of delivery cannot be more than 6 weeks before %s, %s at the "
                      "earliest: a child born before then %s.",
                      since, earliest,
                      from_today ? "is added with their date of birth, not as unborn"
                                 : "has their birth recorded");
}

/* Adds every fault of a person's details to err, in the form's order, for the caller to end the
 * gathering (tsr_error_gathered) once it has added its own. An unborn child's expected date of
 * delivery is judged from edd_from (person__gather_edd_faults; NULL: only that it is a real date). */
static void person__gather_faults(const Tsr__Records__PersonCreate *in, char nhs[11], const char *edd_from,
                                  int edd_from_today, tsr_error_t *err)
{
    const char *given = in->legal_name ? in->legal_name->given : "";
    const char *family = in->legal_name ? in->legal_name->family : "";
    if (!in->unborn && tsr_text_trimmed_length(given) == 0)
        tsr_error_add(err, TSR_E_INVALID, "missing_field", "legal_name.given", "Enter the given name.");
    else if (tsr_text_length(given) > PERSON_NAME_MAX)
        tsr_error_add(err, TSR_E_INVALID, "too_long", "legal_name.given",
                      "A name must be %d characters or fewer.", PERSON_NAME_MAX);
    else if (tsr_text_has_control(given, 0))
        tsr_error_add(err, TSR_E_INVALID, "invalid_characters", "legal_name.given",
                      "A name must not contain control characters.");
    else if (tsr_text_has_invisible(given))
        tsr_error_add(err, TSR_E_INVALID, "invalid_characters", "legal_name.given", PERSON_INVISIBLE);
    if (tsr_text_trimmed_length(family) == 0)
        tsr_error_add(err, TSR_E_INVALID, "missing_field", "legal_name.family", "Enter the family name.");
    else if (tsr_text_length(family) > PERSON_NAME_MAX)
        tsr_error_add(err, TSR_E_INVALID, "too_long", "legal_name.family",
                      "A name must be %d characters or fewer.", PERSON_NAME_MAX);
    else if (tsr_text_has_control(family, 0))
        tsr_error_add(err, TSR_E_INVALID, "invalid_characters", "legal_name.family",
                      "A name must not contain control characters.");
    else if (tsr_text_has_invisible(family))
        tsr_error_add(err, TSR_E_INVALID, "invalid_characters", "legal_name.family", PERSON_INVISIBLE);
    if (in->n_other_names > 32)
        tsr_error_add(err, TSR_E_INVALID, "too_many", "other_names", "Record at most 32 other names.");
    for (size_t i = 0; in->n_other_names <= 32 && i < in->n_other_names; i++)
        if (tsr_text_trimmed_length(in->other_names[i]) == 0 || tsr_text_length(in->other_names[i]) > 200) {
            tsr_error_add(err, TSR_E_INVALID, "invalid_name", "other_names",
                          "Each other name must be 1 to 200 characters.");
            break;
        } else if (tsr_text_has_control(in->other_names[i], 0) ||
                   tsr_text_has_invisible(in->other_names[i])) {
            tsr_error_add(err, TSR_E_INVALID, "invalid_characters", "other_names",
                          "An other name must not contain control characters, zero-width spaces or marks of "
                          "the text's direction.");
            break;
        }
    static const char *const genders[] = {"female", "male", "indeterminate", "not-known", NULL};
    int gender_ok = 0;
    for (const char *const *g = genders; *g && !gender_ok; g++)
        gender_ok = strcmp(*g, in->gender) == 0;
    if (!gender_ok)
        tsr_error_add(err, TSR_E_INVALID, "invalid_gender", "gender",
                      "Gender must be one of female, male, indeterminate or not-known.");
    tsr_error_t one;
    nhs[0] = '\0';
    if (in->nhs_number[0] != '\0' && tsr_nhs_number_normalise(in->nhs_number, nhs, "nhs_number", &one) != 0) {
        tsr_error_gather(err, &one);
        nhs[0] = '\0';
    }
    if (in->unborn) {
        if (in->date_of_birth[0] != '\0')
            tsr_error_add(err, TSR_E_INVALID, "unborn_with_birth_date", "date_of_birth",
                          "An unborn child has no date of birth; give the expected date of delivery.");
        if (in->expected_delivery_date[0] == '\0')
            tsr_error_add(err, TSR_E_INVALID, "missing_field", "expected_delivery_date",
                          "Enter the expected date of delivery of the unborn child.");
        else if (tsr_text_check_date(in->expected_delivery_date, 0, "expected_delivery_date", &one) != 0)
            tsr_error_gather(err, &one);
        else if (edd_from != NULL)
            person__gather_edd_faults(in->expected_delivery_date, edd_from, edd_from_today, err);
        if (in->mother_id == 0)
            tsr_error_add(err, TSR_E_INVALID, "missing_field", "mother_id",
                          "An unborn child is recorded against the mother: give the mother's person id.");
        if (nhs[0] != '\0')
            tsr_error_add(err, TSR_E_INVALID, "unborn_with_nhs_number", "nhs_number",
                          "An unborn child has no NHS number of its own until birth.");
    } else {
        if (in->expected_delivery_date[0] != '\0')
            tsr_error_add(err, TSR_E_INVALID, "not_unborn", "expected_delivery_date",
                          "Only an unborn child has an expected date of delivery.");
        /* No one living was born before 1900: such a date is a slip (1800 for 2008) that would make
         * the person an adult to every age rule. */
        if (in->date_of_birth[0] != '\0' &&
            (tsr_text_check_date(in->date_of_birth, 1, "date_of_birth", &one) != 0 ||
             tsr_text_check_not_before(in->date_of_birth, "1900-01-01", "date_of_birth", "A date of birth",
                                       &one) != 0))
            tsr_error_gather(err, &one);
    }
}

/* Every fault of the new person's details, gathered in the form's order (tsr_error_gathered). */
static int person__validate(const Tsr__Records__PersonCreate *in, char nhs[11], const char *edd_from,
                            int edd_from_today, tsr_error_t *err)
{
    tsr_error_clear(err);
    person__gather_faults(in, nhs, edd_from, edd_from_today, err);
    return tsr_error_gathered(err);
}

/* An unborn child is due after the mother was born: 0, or -1 with before_date_of_birth. Her date is
 * not said: the caller may not be allowed to open her record. */
static int person__check_edd_after_mother(tsr_call_t *call, uint64_t mother_id, const char *edd,
                                          tsr_error_t *err)
{
    char mother[24];
    snprintf(mother, sizeof(mother), "%" PRIu64, mother_id);
    const char *params[2] = {mother, edd};
    PGresult *res = tsr_db_exec(call->conn,
                                "SELECT date_of_birth >= $2::date FROM people WHERE id = $1::bigint"
                                " AND date_of_birth IS NOT NULL",
                                2, params, err);
    if (res == NULL)
        return -1;
    int before = PQntuples(res) > 0 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (before)
        return tsr_error_set(
            err, TSR_E_INVALID, "before_date_of_birth", "expected_delivery_date",
            "The expected date of delivery (%s) is not after the mother's date of birth: check "
            "the date, and the mother's record.",
            edd);
    return 0;
}

/* 0 when no one but except_id holds the NHS number; else 409 duplicate_nhs_number naming the holder,
 * with what to do. A holder whose record the caller may not open (restricted, or a declared conflict)
 * is not named: neither its id nor, through a search by that id, its name (seed 002). */
static int person__check_nhs_free(tsr_call_t *call, const char *nhs, uint64_t except_id,
                                  const char *what_to_do, tsr_error_t *err)
{
    char worker[32], teams[1024], except[24];
    const char *override;
    records_access_params(call, worker, teams, sizeof(teams), &override);
    snprintf(except, sizeof(except), "%" PRIu64, except_id);
    const char *params[5] = {worker, teams, override, nhs, except};
    char sql[2048];
    /* A holder the caller may open first: naming it tells nothing of one they may not. */
    snprintf(sql, sizeof(sql),
             "SELECT p.id, %s AS full_access FROM people p WHERE p.nhs_number = $4 AND p.id <> $5::bigint"
             " ORDER BY full_access DESC, p.id LIMIT 1",
             records_access_sql);
    PGresult *res = tsr_db_exec(call->conn, sql, 5, params, err);
    if (res == NULL)
        return -1;
    int rc = 0;
    if (PQntuples(res) > 0 && strcmp(PQgetvalue(res, 0, 1), "t") == 0)
        rc = tsr_error_set(err, TSR_E_CONFLICT, "duplicate_nhs_number", "nhs_number",
                           "A person with NHS number %s is already recorded (id %s): %s.", nhs,
                           PQgetvalue(res, 0, 0), what_to_do);
    else if (PQntuples(res) > 0)
        rc = tsr_error_set(err, TSR_E_CONFLICT, "duplicate_nhs_number", "nhs_number",
                           "NHS number %s is already recorded on a record you cannot open. Check the "
                           "number; if it is right, ask system support about the record that holds it.",
                           nhs);
    PQclear(res);
    return rc;
}

int records_person_create(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__PersonCreate *in = (const Tsr__Records__PersonCreate *)call->payload;
    if (tsr_actor_require_role(call->actor, records_person_writers, "add people", err) != 0)
        return -1;
    char nhs[11], today[11];
    tsr_text_today(today);
    if (person__validate(in, nhs, today, 1, err) != 0)
        return -1;
    if (in->mother_id != 0) {
        records_access_t access;
        if (records_access_person(call, in->mother_id, &access, err) != 0)
            return -1;
        if (access == RECORDS_ACCESS_NONE)
            return tsr_error_set(err, TSR_E_INVALID, "unknown_mother", "mother_id",
                                 "There is no person with id %" PRIu64 " to record as the mother.",
                                 in->mother_id);
        if (in->unborn &&
            person__check_edd_after_mother(call, in->mother_id, in->expected_delivery_date, err) != 0)
            return -1;
    }
    if (nhs[0] != '\0' &&
        person__check_nhs_free(call, nhs, 0, "open that record instead of adding another", err) != 0)
        return -1;
    char *given = tsr_text_trim_dup(in->legal_name ? in->legal_name->given : "");
    char *family = tsr_text_trim_dup(in->legal_name ? in->legal_name->family : "");
    /* Other names as a text[] literal built by PostgreSQL from a JSON list: no quoting by hand. */
    json_t *others = json_array();
    for (size_t i = 0; i < in->n_other_names; i++)
        json_array_append_new(others, json_string(in->other_names[i]));
    char *others_json = json_dumps(others, JSON_COMPACT);
    json_decref(others);
    char by[32], mother[32];
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    snprintf(mother, sizeof(mother), "%" PRIu64, in->mother_id);
    const char *params[10] = {given,
                              family,
                              others_json,
                              in->date_of_birth[0] ? in->date_of_birth : NULL,
                              in->gender,
                              nhs[0] ? nhs : NULL,
                              in->unborn ? "t" : "f",
                              in->mother_id ? mother : NULL,
                              in->expected_delivery_date[0] ? in->expected_delivery_date : NULL,
                              by};
    PGresult *res = tsr_db_exec(
        call->conn,
        "INSERT INTO people (given_name, family_name, other_names, date_of_birth, gender, nhs_number, unborn,"
        " mother_id, expected_delivery_date, created_by, search_names)"
        " VALUES ($1, $2, ARRAY(SELECT jsonb_array_elements_text($3::jsonb)), $4::date, $5, $6, $7::boolean,"
        " $8::bigint, $9::date, $10::bigint, " PERSON_SEARCH_NAMES("$1", "$2", "$3") ")"
                                                                                     " RETURNING id",
        10, params, err);
    free(given);
    free(family);
    free(others_json);
    if (res == NULL)
        return -1;
    uint64_t id = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    res = person__select(call, id, err);
    if (res == NULL)
        return -1;
    person_row_t row;
    person__from_row(res, 0, 1, &row);
    char summary[512];
    snprintf(summary, sizeof(summary), "Added person %s (%" PRIu64 ")", row.person.display_name, id);
    int rc = records_person_audit(call, id, row.person.display_name, "created", summary, err);
    if (rc == 0)
        tsr_call_reply(call, &row.person.base);
    person__release(&row);
    PQclear(res);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * Reading and finding people
 * ---------------------------------------------------------------------------------------------- */

/* Replies with the person as the actor may see them. As a read in its own right (a view), the read
 * is audited and a refusal is one; as the answer to a change (restrict, merge), whose own entry
 * covers the call, nothing more is audited and a record the actor may no longer open comes back as
 * its display name. */
/* records.audit_person_views: on (always, for a council) or, on a demo instance only, off, to measure
 * what auditing a read costs (bench/audit.sh). */
static int people_audit_views = 1;

int records_people_configure(const tsr_config_t *config, tsr_error_t *err)
{
    int demo = 0;
    if (tsr_config_get_bool(config, "records.audit_person_views", 1, &people_audit_views, err) != 0 ||
        tsr_config_get_bool(config, "tessera.demo", 0, &demo, err) != 0)
        return -1;
    if (people_audit_views)
        return 0;
    if (!demo)
        return tsr_error_set(err, TSR_E_INVALID, "bad_config", "records.audit_person_views",
                             "records.audit_person_views = false is allowed on a demo instance only "
                             "(tessera.demo = true): every read of a person's record is audited.");
    tsr_log_warn(NULL, "reads of a person's record are NOT audited (records.audit_person_views = false, "
                       "for measuring; demo instance)");
    return 0;
}

static int person__reply(tsr_call_t *call, const Tsr__Records__PersonGet *in, int as_view, tsr_error_t *err)
{
    records_access_t access;
    if (records_access_person(call, in->id, &access, err) != 0)
        return -1;
    if (access == RECORDS_ACCESS_NONE)
        return records_person_not_found(call, in->id, err);
    char id_text[32];
    snprintf(id_text, sizeof(id_text), "%" PRIu64, in->id);
    const char *merged_params[1] = {id_text};
    PGresult *res =
        tsr_db_exec(call->conn, "SELECT coalesce(merged_into, 0) FROM people WHERE id = $1::bigint", 1,
                    merged_params, err);
    if (res == NULL)
        return -1;
    uint64_t merged_into = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (merged_into != 0)
        return tsr_error_set(err, TSR_E_NOT_FOUND, "merged", NULL,
                             "Record %" PRIu64 " was a duplicate and has been merged into record %" PRIu64
                             "; open that one.",
                             in->id, merged_into);
    res = person__select(call, in->id, err);
    if (res == NULL)
        return -1;
    person_row_t row;
    person__from_row(res, 0, access == RECORDS_ACCESS_FULL, &row);
    int rc;
    if (access != RECORDS_ACCESS_FULL && !as_view) {
        tsr_call_reply(call, &row.person.base);
        rc = 0;
    } else if (access != RECORDS_ACCESS_FULL) {
        rc = records_person_refuse(call, in->id, row.person.display_name, "view", err);
    } else {
        Tsr__Records__Allocation *allocations = NULL;
        PGresult *alloc_res = NULL;
        char summary[512];
        snprintf(summary, sizeof(summary), "Viewed person %s (%" PRIu64 ")", row.person.display_name, in->id);
        PGresult *rel_res = NULL;
        PGresult *inv_res = NULL;
        rc = person__load_allocations(call, in->id, &row.person, &allocations, &alloc_res, err);
        if (rc == 0)
            rc = records_relationships_load(call, &row.person, &rel_res, err);
        if (rc == 0)
            rc = records_involvements_load(call, &row.person, &inv_res, err);
        PGresult *notes_res = NULL;
        if (rc == 0)
            rc = records_case_notes_latest(call, &row.person, &notes_res, err);
        records_retention_t retention = {0};
        if (rc == 0 && (rc = records_retention_load(call, in->id, &retention, err)) == 0)
            row.person.retention = &retention.retention;
        records_addresses_t addresses = {0};
        if (rc == 0)
            rc = records_addresses_load(call, &row.person, &addresses, err);
        if (rc == 0 && as_view && people_audit_views)
            rc = records_person_audit(call, in->id, row.person.display_name, "viewed", summary, err);
        if (rc == 0)
            tsr_call_reply(call, &row.person.base);
        free(allocations);
        free(row.person.allocations);
        PQclear(alloc_res);
        records_relationships_release(&row.person, rel_res);
        records_involvements_release(&row.person, inv_res);
        records_case_notes_release(&row.person, notes_res);
        records_retention_release(&retention);
        records_addresses_release(&addresses);
    }
    person__release(&row);
    PQclear(res);
    return rc;
}

int records_person_get(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__PersonGet *in = (const Tsr__Records__PersonGet *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    return person__reply(call, in, 1, err);
}

int records_person_reply_changed(tsr_call_t *call, uint64_t person_id, tsr_error_t *err)
{
    Tsr__Records__PersonGet get = TSR__RECORDS__PERSON_GET__INIT;
    get.id = person_id;
    return person__reply(call, &get, 0, err);
}

int records_person_search(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__PersonSearch *in = (const Tsr__Records__PersonSearch *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    uint32_t limit = in->limit == 0 ? 20 : in->limit;
    if (limit > 100)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_limit", "limit", "limit must be from 1 to 100.");
    char *name = tsr_text_trim_dup(in->name);
    int rc = -1;
    if (name[0] == '\0' && in->date_of_birth[0] == '\0') {
        rc = tsr_error_set(err, TSR_E_INVALID, "missing_field", "name",
                           "Search by name, date of birth or person id.");
        goto done;
    }
    if (in->date_of_birth[0] != '\0' && tsr_text_check_date(in->date_of_birth, 0, "dob", err) != 0)
        goto done;
    for (char *p = name; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    /* A page's cursor is where it starts among the matches, best first; the first 1,000 matches are
     * as far as anyone reads a ranked list (a search that finds more needs more to go on). */
    unsigned long offset = 0;
    if (tsr_text_cursor_offset(in->cursor, RECORDS_SEARCH_DEPTH, &offset, err) != 0)
        goto done;
    int by_id = name[0] != '\0' && strspn(name, "0123456789") == strlen(name) && strlen(name) <= 18;
    char worker[32], teams[1024], lim[16], from[16];
    const char *override;
    records_access_params(call, worker, teams, sizeof(teams), &override);
    /* One more than the page, to know whether another follows. */
    snprintf(lim, sizeof(lim), "%u", limit + 1);
    snprintf(from, sizeof(from), "%lu", offset);
    const char *params[9] = {
        worker, teams, override, name, in->date_of_birth[0] ? in->date_of_birth : NULL, by_id ? name : NULL,
        lim,    from,  NULL};
    /* A person id is a direct match; a name is ranked by trigram word similarity (any order, small
     * misspellings), nearest first straight from the GiST index so that only the rows shown are
     * read; a date of birth narrows exactly. Access and the restriction are looked at for those
     * rows only. A person the caller sees by name only is found by that name alone (seed 002: a
     * restricted person appears in search by display name only): not by their other names, and not
     * at all when a date of birth is given, so that the answer is the same whether the date they
     * cannot see is right or wrong. Those few are read apart, off the restrictions and the caller's
     * conflicts. dist orders the matches. */
    char candidates[8192], sql[12288];
    if (by_id)
        snprintf(candidates, sizeof(candidates),
                 "SELECT p.*, 0 AS dist, false AS unsure FROM people p WHERE p.merged_into IS NULL"
                 " AND p.id = $6::bigint AND ($5::date IS NULL OR (p.date_of_birth = $5::date AND %s))"
                 " LIMIT $7::int OFFSET $8::int",
                 records_access_sql);
    else if (name[0] != '\0')
        snprintf(candidates, sizeof(candidates),
                 "WITH k AS MATERIALIZED ("
                 "SELECT p.*, $4 OPERATOR(public.<<->) p.search_names AS dist FROM people p"
                 "  WHERE p.merged_into IS NULL AND $4 OPERATOR(public.<%%) p.search_names"
                 "  AND ($5::date IS NULL OR p.date_of_birth = $5::date) AND %s"
                 "  ORDER BY $4 OPERATOR(public.<<->) p.search_names LIMIT $9::int)"
                 " SELECT m.*, m.dist >= (SELECT max(dist) FROM k) AND (SELECT count(*) FROM k) >= $9::int"
                 " AS unsure FROM (SELECT * FROM k"
                 " UNION ALL"
                 " SELECT p.*, $4 OPERATOR(public.<<->) lower(" PERSON_DISPLAY ") FROM people p"
                 "  WHERE %s AND p.merged_into IS NULL AND $5::date IS NULL"
                 "  AND $4 OPERATOR(public.<%%) lower(" PERSON_DISPLAY ") AND NOT %s) AS m"
                 " ORDER BY dist, family_name, given_name, id LIMIT $7::int OFFSET $8::int",
                 records_access_sql, records_access_maybe_name_only_sql, records_access_sql);
    else
        snprintf(candidates, sizeof(candidates),
                 "SELECT p.*, 0 AS dist, false AS unsure FROM people p WHERE p.merged_into IS NULL"
                 " AND p.date_of_birth = $5::date AND %s ORDER BY p.family_name, p.given_name, p.id"
                 " LIMIT $7::int OFFSET $8::int",
                 records_access_sql);
    /* rank: a match's place in the candidates' order, by which the one past the page is known
     * wherever the order shown puts it. (The CASE names $4 and $6 in every mode, as PostgreSQL must
     * know each parameter's type; dist is 0 when either says so.) */
    snprintf(sql, sizeof(sql),
             "SELECT " PERSON_COLUMNS ", %s AS full_access, p.rank,"
             " coalesce(p.unsure AND $9::int IS NOT NULL, false)"
             " FROM (SELECT c.*, row_number() OVER () AS rank FROM (%s) AS c) AS p"
             " LEFT JOIN restrictions r ON r.person_id = p.id"
             " ORDER BY CASE WHEN $4 = '' OR $6::bigint IS NOT NULL THEN 0 ELSE p.dist END, p.family_name,"
             " p.given_name, p.id",
             records_access_sql, candidates);
    /* 0.5 finds one or two letters wrong in a name ('babtunde' for Babatunde) without flooding the
     * list; local to this transaction. */
    PGresult *res = tsr_db_exec(
        call->conn, "SELECT set_config('pg_trgm.word_similarity_threshold', '0.5', true)", 0, NULL, err);
    if (res == NULL)
        goto done;
    PQclear(res);
    /* The index gives the nearest names first but ties (every Quill is as near to 'quill') in no
     * set order, so the nearest reach read may cut a tie in two, and another page another way: a
     * person shown twice, another never. A page is kept only when no row of it is as far as the
     * farthest read (unsure); else more are read, and at last all, so that each match is on one
     * page of one order (dist, family name, given name, id). */
    unsigned long reach = offset + limit + 1;
    char reach_text[24];
    for (int attempt = 0;; attempt++) {
        snprintf(reach_text, sizeof(reach_text), "%lu", reach);
        params[8] = attempt < 2 ? reach_text : NULL;
        res = tsr_db_exec(call->conn, sql, 9, params, err);
        if (res == NULL)
            goto done;
        int unsure = 0;
        for (int k = 0; k < PQntuples(res) && !unsure; k++)
            unsure = strcmp(PQgetvalue(res, k, 18), "t") == 0;
        if (!unsure || params[8] == NULL)
            break;
        PQclear(res);
        reach *= 16;
    }
    int matched = PQntuples(res), rows = 0;
    int more = matched > (int)limit && offset + limit < RECORDS_SEARCH_DEPTH;
    char next_cursor[16] = "";
    if (more)
        snprintf(next_cursor, sizeof(next_cursor), "%lu", offset + limit);
    person_row_t *people = calloc(matched ? (size_t)matched : 1, sizeof(*people));
    Tsr__Records__Person **items = calloc(matched ? (size_t)matched : 1, sizeof(*items));
    rc = 0;
    /* Each record shown in full is a read of it: one event for the search names them all. */
    Tsr__Records__PersonAccessed *found = calloc(matched ? (size_t)matched : 1, sizeof(*found));
    Tsr__Records__PersonAccessed **found_ptrs = calloc(matched ? (size_t)matched : 1, sizeof(*found_ptrs));
    char(*summaries)[200] = calloc(matched ? (size_t)matched : 1, sizeof(*summaries));
    size_t n_found = 0;
    for (int k = 0; k < matched; k++) {
        if (strtoul(PQgetvalue(res, k, 17), NULL, 10) > limit)
            continue; /* the first of the next page */
        int i = rows++;
        int full = strcmp(PQgetvalue(res, k, 16), "t") == 0;
        person__from_row(res, k, full, &people[i]);
        items[i] = &people[i].person;
        if (!full)
            continue;
        tsr__records__person_accessed__init(&found[n_found]);
        found[n_found].person_id = people[i].person.id;
        found[n_found].display_name = people[i].person.display_name;
        found[n_found].action = "found";
        snprintf(summaries[n_found], sizeof(summaries[n_found]), "Found person %s (%" PRIu64 ") in a search",
                 people[i].person.display_name, people[i].person.id);
        found[n_found].summary = summaries[n_found];
        found_ptrs[n_found] = &found[n_found];
        n_found++;
    }
    if (n_found > 0) {
        char terms[300];
        snprintf(terms, sizeof(terms), "name '%.100s' date of birth '%.10s'", in->name ? in->name : "",
                 in->date_of_birth ? in->date_of_birth : "");
        rc = records_people_listed(call, "records.people.found", found_ptrs, n_found, terms, err);
    }
    free(found);
    free(found_ptrs);
    free(summaries);
    if (rc == 0) {
        Tsr__Records__PersonList list = TSR__RECORDS__PERSON_LIST__INIT;
        list.n_items = (size_t)rows;
        list.items = items;
        list.next_cursor = next_cursor;
        tsr_call_reply(call, &list.base);
    }
    for (int i = 0; i < rows; i++)
        person__release(&people[i]);
    free(people);
    free(items);
    PQclear(res);
done:
    free(name);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * Restrictions
 * ---------------------------------------------------------------------------------------------- */

/* A duplicate merged into another record holds nothing any more: every call about it answers as
 * GET /people/{id} does, naming the record that went forward, so that nothing written to it is lost
 * from sight and nothing is linked to it. */
static int person__merged(uint64_t id, const char *merged_into, tsr_error_t *err)
{
    return tsr_error_set(err, TSR_E_NOT_FOUND, "merged", NULL,
                         "Record %" PRIu64
                         " was a duplicate and has been merged into record %s; use that one.",
                         id, merged_into);
}

int records_person_display(tsr_call_t *call, uint64_t id, char *out, size_t size, tsr_error_t *err)
{
    char text[32];
    snprintf(text, sizeof(text), "%" PRIu64, id);
    const char *params[1] = {text};
    PGresult *res = tsr_db_exec(call->conn,
                                "SELECT " PERSON_DISPLAY ", coalesce(p.merged_into::text, '')"
                                " FROM people p WHERE p.id = $1::bigint",
                                1, params, err);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return records_person_not_found(call, id, err);
    }
    int rc = PQgetvalue(res, 0, 1)[0] != '\0' ? person__merged(id, PQgetvalue(res, 0, 1), err) : 0;
    if (rc == 0)
        snprintf(out, size, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return rc;
}

/* Seed 003: "it is vital that all children within Mosaic have the correct NHS number recorded". A
 * number the national service reported inactive stops the child's plan uploads until a new one is
 * recorded, and an unborn child's notifications need the child's own number once the expected date
 * of delivery has passed: both are recorded here, by a worker who may see the record in full. */
int records_person_set_nhs_number(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__NhsNumberSet *in = (const Tsr__Records__NhsNumberSet *)call->payload;
    if (tsr_actor_require_role(call->actor, records_person_writers, "record NHS numbers", err) != 0)
        return -1;
    if (tsr_text_trimmed_length(in->nhs_number) == 0)
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", "nhs_number", "Enter the NHS number.");
    char nhs[11];
    if (tsr_nhs_number_normalise(in->nhs_number, nhs, "nhs_number", err) != 0)
        return -1;
    char display[256];
    if (records_person_require_access(call, in->person_id, "record", display, sizeof(display), err) != 0)
        return -1;
    char id[32];
    snprintf(id, sizeof(id), "%" PRIu64, in->person_id);
    const char *params[2] = {id, nhs};
    /* Locked, so that two recordings of a number at once are told apart below. */
    PGresult *res =
        tsr_db_exec(call->conn,
                    "SELECT coalesce(nhs_number, ''), merged_into IS NOT NULL, unborn AND"
                    " expected_delivery_date > office_today(), coalesce(expected_delivery_date::text, '')"
                    " FROM people p WHERE id = $1::bigint FOR UPDATE",
                    1, params, err);
    if (res == NULL)
        return -1;
    char was[16], edd[16];
    snprintf(was, sizeof(was), "%s", PQgetvalue(res, 0, 0));
    int merged = PQgetvalue(res, 0, 1)[0] == 't', before_birth = PQgetvalue(res, 0, 2)[0] == 't';
    snprintf(edd, sizeof(edd), "%s", PQgetvalue(res, 0, 3));
    PQclear(res);
    if (merged)
        return tsr_error_set(err, TSR_E_CONFLICT, "already_merged", NULL,
                             "This record was merged into another; record the number on the record that went "
                             "forward.");
    if (before_birth)
        return tsr_error_set(err, TSR_E_INVALID, "unborn_with_nhs_number", "nhs_number",
                             "An unborn child has no NHS number of its own until birth (expected on %s).",
                             edd);
    if (person__check_nhs_free(call, nhs, in->person_id, "check the number, or merge the two records", err) !=
        0)
        return -1;
    if (strcmp(was, nhs) == 0)
        return records_person_reply_changed(call, in->person_id, err);
    res = tsr_db_exec(call->conn, "UPDATE people SET nhs_number = $2 WHERE id = $1::bigint", 2, params, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    char summary[512];
    snprintf(summary, sizeof(summary), "Recorded NHS number %s on the record of %s (%" PRIu64 ")%s%s", nhs,
             display, in->person_id, was[0] ? ", replacing " : "", was);
    if (records_person_audit(call, in->person_id, display, "nhs-number-recorded", summary, err) != 0)
        return -1;
    return records_person_reply_changed(call, in->person_id, err);
}

/* "Given Family", or the family name alone (an unborn child's given name is not yet known). */
static void person__name_text(char *out, size_t size, const char *given, const char *family)
{
    snprintf(out, size, "%s%s%s", given, given[0] ? " " : "", family);
}

/* Appends "; <what> <was> to <now>" to the summary of a change of details when the two differ. */
static void person__summary_change(char *summary, size_t size, const char *what, const char *was,
                                   const char *now)
{
    if (strcmp(was, now) == 0)
        return;
    size_t used = strlen(summary);
    if (used < size)
        snprintf(summary + used, size - used, "; %s %s to %s", what, was[0] ? was : "(none)",
                 now[0] ? now : "(none)");
}

/* Other names, trimmed, as a JSON array for the statement (malloc'd; NULL when out of memory) and
 * as words for the audit entry ("A, B"). */
static char *person__other_names_json(char **names, size_t n, char *words, size_t size)
{
    json_t *others = json_array();
    words[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char *one = tsr_text_trim_dup(names[i]);
        json_array_append_new(others, json_string(one ? one : ""));
        size_t used = strlen(words);
        if (used < size)
            snprintf(words + used, size - used, "%s%s", i ? ", " : "", one ? one : "");
        free(one);
    }
    char *text = json_dumps(others, JSON_COMPACT);
    json_decref(others);
    return text;
}

/* Seed 003: "The child's legal name should be recorded exactly as it appears on their birth
 * certificate ... Any other or alternative names should be added under Other Names within Person
 * Details". CP-IS matches a child on the legal name and date of birth, so a plan held back for a
 * name the NHS would not match is put right here (and passes at the next upload). The details are
 * replaced as a whole, checked as when the person was added; the audit entry says what each was. */
int records_person_update_details(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__PersonDetailsSet *in = (const Tsr__Records__PersonDetailsSet *)call->payload;
    if (tsr_actor_require_role(call->actor, records_person_writers, "change people's details", err) != 0)
        return -1;
    char display[256];
    if (records_person_require_access(call, in->person_id, "change", display, sizeof(display), err) != 0)
        return -1;
    char id[32];
    snprintf(id, sizeof(id), "%" PRIu64, in->person_id);
    const char *lock_params[1] = {id};
    /* Locked, so that two corrections at once follow each other and each entry says what was there. */
    PGresult *res =
        tsr_db_exec(call->conn,
                    "SELECT merged_into IS NOT NULL, unborn, coalesce(mother_id, 0), given_name,"
                    " family_name, array_to_string(other_names, ', '), coalesce(date_of_birth::text, ''),"
                    " gender, coalesce(expected_delivery_date::text, ''),"
                    " (extract(epoch FROM created_at) * 1000)::bigint"
                    " FROM people WHERE id = $1::bigint FOR UPDATE",
                    1, lock_params, err);
    if (res == NULL)
        return -1;
    int merged = PQgetvalue(res, 0, 0)[0] == 't';
    Tsr__Records__PersonCreate check = TSR__RECORDS__PERSON_CREATE__INIT;
    PERSON_DETAILS_CHECKED(check, in);
    check.unborn = PQgetvalue(res, 0, 1)[0] == 't';
    check.mother_id = strtoull(PQgetvalue(res, 0, 2), NULL, 10);
    check.expected_delivery_date = in->expected_delivery_date;
    char was_name[220], was_others[1024], was_dob[16], was_gender[32], was_edd[16];
    person__name_text(was_name, sizeof(was_name), PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4));
    snprintf(was_others, sizeof(was_others), "%s", PQgetvalue(res, 0, 5));
    snprintf(was_dob, sizeof(was_dob), "%s", PQgetvalue(res, 0, 6));
    snprintf(was_gender, sizeof(was_gender), "%s", PQgetvalue(res, 0, 7));
    snprintf(was_edd, sizeof(was_edd), "%s", PQgetvalue(res, 0, 8));
    /* A new expected date of delivery is judged as it would have been when the unborn child was
     * recorded; one left as it was is not judged again (the days since take nothing from it). */
    char recorded_on[32];
    tsr_text_local_time(strtoll(PQgetvalue(res, 0, 9), NULL, 10), "%Y-%m-%d", recorded_on,
                        sizeof(recorded_on));
    int edd_changed = check.unborn && strcmp(was_edd, in->expected_delivery_date) != 0;
    PQclear(res);
    if (merged)
        return tsr_error_set(err, TSR_E_CONFLICT, "already_merged", NULL,
                             "This record was merged into another; correct the details on the record that "
                             "went forward.");
    char nhs[11];
    if (person__validate(&check, nhs, edd_changed ? recorded_on : NULL, 0, err) != 0)
        return -1;
    if (edd_changed && check.mother_id != 0 &&
        person__check_edd_after_mother(call, check.mother_id, in->expected_delivery_date, err) != 0)
        return -1;
    char *given = tsr_text_trim_dup(in->legal_name ? in->legal_name->given : "");
    char *family = tsr_text_trim_dup(in->legal_name ? in->legal_name->family : "");
    char now_others[1024];
    char *others_json =
        person__other_names_json(in->other_names, in->n_other_names, now_others, sizeof(now_others));
    char now_name[220];
    person__name_text(now_name, sizeof(now_name), given ? given : "", family ? family : "");
    const char *params[7] = {id,
                             given ? given : "",
                             family ? family : "",
                             others_json ? others_json : "[]",
                             in->date_of_birth[0] ? in->date_of_birth : NULL,
                             in->gender,
                             in->expected_delivery_date[0] ? in->expected_delivery_date : NULL};
    /* Nothing is written, and nothing audited, when the same details are sent again. */
    res = tsr_db_exec(
        call->conn,
        "UPDATE people SET given_name = $2, family_name = $3,"
        " other_names = ARRAY(SELECT jsonb_array_elements_text($4::jsonb)), date_of_birth = $5::date,"
        " gender = $6, expected_delivery_date = $7::date,"
        " search_names = " PERSON_SEARCH_NAMES(
            "$2", "$3",
            "$4") " WHERE id = $1::bigint"
                  " AND (given_name, family_name, other_names, date_of_birth, gender, expected_delivery_date)"
                  " IS DISTINCT FROM ($2, $3, ARRAY(SELECT jsonb_array_elements_text($4::jsonb)), $5::date, "
                  "$6,"
                  " $7::date)",
        7, params, err);
    free(given);
    free(family);
    free(others_json);
    if (res == NULL)
        return -1;
    int changed = atoi(PQcmdTuples(res)) > 0;
    PQclear(res);
    if (!changed)
        return records_person_reply_changed(call, in->person_id, err);
    char now_display[256];
    if (records_person_display(call, in->person_id, now_display, sizeof(now_display), err) != 0)
        return -1;
    char summary[2048];
    snprintf(summary, sizeof(summary), "Changed the details of %s (%" PRIu64 ")", display, in->person_id);
    person__summary_change(summary, sizeof(summary), "legal name", was_name, now_name);
    person__summary_change(summary, sizeof(summary), "other names", was_others, now_others);
    person__summary_change(summary, sizeof(summary), "date of birth", was_dob, in->date_of_birth);
    person__summary_change(summary, sizeof(summary), "gender", was_gender, in->gender);
    person__summary_change(summary, sizeof(summary), "expected date of delivery", was_edd,
                           in->expected_delivery_date);
    if (records_person_audit(call, in->person_id, now_display, "details-changed", summary, err) != 0)
        return -1;
    return records_person_reply_changed(call, in->person_id, err);
}

/* An unborn child born (seed 003): the record stops being unborn, with the child's legal name as on
 * the birth certificate, date of birth, gender and, when known, their own NHS number; from then on
 * CP-IS matches the child on their own number, name and date of birth, not on the mother's number.
 * The expected date of delivery goes (the audit entry keeps it); the link to the mother stays. */
int records_person_record_birth(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__PersonBirth *in = (const Tsr__Records__PersonBirth *)call->payload;
    if (tsr_actor_require_role(call->actor, records_person_writers, "record births", err) != 0)
        return -1;
    char display[256];
    if (records_person_require_access(call, in->person_id, "change", display, sizeof(display), err) != 0)
        return -1;
    char id[32];
    snprintf(id, sizeof(id), "%" PRIu64, in->person_id);
    const char *lock_params[1] = {id};
    /* Locked, so that a birth recorded twice at once is recorded once and the second is told so. */
    PGresult *res =
        tsr_db_exec(call->conn,
                    "SELECT merged_into IS NOT NULL, unborn, coalesce(expected_delivery_date::text, ''),"
                    " coalesce((expected_delivery_date - " PERSON_BIRTH_EARLIEST_DAYS ")::text, '')"
                    " FROM people WHERE id = $1::bigint FOR UPDATE",
                    1, lock_params, err);
    if (res == NULL)
        return -1;
    int merged = PQgetvalue(res, 0, 0)[0] == 't', unborn = PQgetvalue(res, 0, 1)[0] == 't';
    char edd[16], earliest[16];
    snprintf(edd, sizeof(edd), "%s", PQgetvalue(res, 0, 2));
    snprintf(earliest, sizeof(earliest), "%s", PQgetvalue(res, 0, 3));
    PQclear(res);
    if (merged)
        return tsr_error_set(err, TSR_E_CONFLICT, "already_merged", NULL,
                             "This record was merged into another; record the birth on the record that went "
                             "forward.");
    if (!unborn)
        return tsr_error_set(err, TSR_E_CONFLICT, "not_unborn", NULL,
                             "%s is not recorded as an unborn child: correct their details instead.",
                             display);
    Tsr__Records__PersonCreate check = TSR__RECORDS__PERSON_CREATE__INIT;
    PERSON_DETAILS_CHECKED(check, in);
    check.nhs_number = in->nhs_number;
    char nhs[11];
    tsr_error_t ignored; /* a malformed date is among the details' faults already */
    tsr_error_clear(err);
    person__gather_faults(&check, nhs, NULL, 0, err);
    if (in->date_of_birth[0] == '\0')
        tsr_error_add(err, TSR_E_INVALID, "missing_field", "date_of_birth", "Enter the date of birth.");
    else if (tsr_text_check_date(in->date_of_birth, 1, "date_of_birth", &ignored) == 0 && earliest[0] &&
             strcmp(in->date_of_birth, earliest) < 0)
        tsr_error_add(err, TSR_E_INVALID, "invalid_date", "date_of_birth",
                      "The date of birth must be no more than 24 weeks before the expected date of delivery "
                      "(%s).",
                      edd);
    if (tsr_error_gathered(err) != 0)
        return -1;
    if (nhs[0] != '\0' && person__check_nhs_free(call, nhs, in->person_id,
                                                 "check the number, or merge the two records", err) != 0)
        return -1;
    char *given = tsr_text_trim_dup(in->legal_name ? in->legal_name->given : "");
    char *family = tsr_text_trim_dup(in->legal_name ? in->legal_name->family : "");
    char now_others[1024];
    char *others_json =
        person__other_names_json(in->other_names, in->n_other_names, now_others, sizeof(now_others));
    const char *params[7] = {id,
                             given ? given : "",
                             family ? family : "",
                             others_json ? others_json : "[]",
                             in->date_of_birth,
                             in->gender,
                             nhs[0] ? nhs : NULL};
    res = tsr_db_exec(call->conn,
                      "UPDATE people SET unborn = false, expected_delivery_date = NULL, given_name = $2,"
                      " family_name = $3, other_names = ARRAY(SELECT jsonb_array_elements_text($4::jsonb)),"
                      " date_of_birth = $5::date, gender = $6, nhs_number = coalesce($7, nhs_number),"
                      " search_names = " PERSON_SEARCH_NAMES("$2", "$3", "$4") " WHERE id = $1::bigint",
                      7, params, err);
    free(given);
    free(family);
    free(others_json);
    if (res == NULL)
        return -1;
    PQclear(res);
    char now_display[256];
    if (records_person_display(call, in->person_id, now_display, sizeof(now_display), err) != 0)
        return -1;
    char summary[1024];
    snprintf(summary, sizeof(summary),
             "Recorded the birth of %s (%" PRIu64 "), recorded as %s: born on %s (expected on %s)%s%s",
             now_display, in->person_id, display, in->date_of_birth, edd,
             nhs[0] ? ", NHS number " : ", no NHS number yet", nhs);
    if (records_person_audit(call, in->person_id, now_display, "birth-recorded", summary, err) != 0)
        return -1;
    return records_person_reply_changed(call, in->person_id, err);
}

/* ------------------------------------------------------------------------------------------------
 * Allocations
 * ---------------------------------------------------------------------------------------------- */

int records_person_lock_born(tsr_call_t *call, const char *id, char born[16], tsr_error_t *err)
{
    const char *params[1] = {id};
    born[0] = '\0';
    PGresult *res = tsr_db_exec(call->conn,
                                "SELECT coalesce(merged_into::text, ''), coalesce(date_of_birth::text, '')"
                                " FROM people WHERE id = $1::bigint FOR UPDATE",
                                1, params, err);
    if (res == NULL)
        return -1;
    /* Merged while this call was on its way: refused as if it had been merged before. */
    int rc = PQntuples(res) > 0 && PQgetvalue(res, 0, 0)[0] != '\0'
                 ? person__merged(strtoull(id, NULL, 10), PQgetvalue(res, 0, 0), err)
                 : 0;
    if (rc == 0 && PQntuples(res) > 0)
        snprintf(born, 16, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    return rc;
}

int records_person_lock(tsr_call_t *call, const char *id, tsr_error_t *err)
{
    char born[16];
    return records_person_lock_born(call, id, born, err);
}

/* Refuses an allocation the person already has open (the same worker or team, role and service: an
 * Allocate pressed twice, or two workers allocating at once, which the lock on the person's row
 * puts one after the other), a key worker who has left the council, who would be told of nothing
 * (CP-IS work goes to the current key worker), and a worker id no account has: a child whose key
 * worker is no one. Records knows the accounts from their events, moments after each change, as
 * the workflow daemon does when a step is assigned. params: person, worker, team, role, service. */
static int allocation__check_new(tsr_call_t *call, const char *const params[5], const char *display,
                                 tsr_error_t *err)
{
    if (records_person_lock(call, params[0], err) != 0)
        return -1;
    PGresult *res = tsr_db_exec(
        call->conn,
        "SELECT (SELECT start_date::text FROM allocations WHERE person_id = $1::bigint"
        "   AND end_date IS NULL AND role = $4 AND service = $5"
        "   AND worker_id IS NOT DISTINCT FROM $2::bigint AND team_id IS NOT DISTINCT FROM $3::bigint"
        "   ORDER BY start_date LIMIT 1),"
        " EXISTS (SELECT 1 FROM workers WHERE id = $2::bigint AND ended),"
        " $2::bigint IS NULL OR EXISTS (SELECT 1 FROM workers WHERE id = $2::bigint)",
        5, params, err);
    if (res == NULL)
        return -1;
    int rc = 0;
    if (!PQgetisnull(res, 0, 0))
        rc = tsr_error_set(err, TSR_E_CONFLICT, "already_allocated", NULL,
                           "%s already has this %s %s for %s, since %s.", display,
                           params[1] ? "worker" : "team", params[1] ? "as key worker" : "allocated",
                           params[4], PQgetvalue(res, 0, 0));
    else if (strcmp(PQgetvalue(res, 0, 1), "t") == 0)
        rc = tsr_error_set(err, TSR_E_UNPROCESSABLE, "worker_left", "worker_id",
                           "Worker %s has left the council: allocate a current worker.", params[1]);
    else if (strcmp(PQgetvalue(res, 0, 2), "t") != 0)
        rc = tsr_error_set(err, TSR_E_UNPROCESSABLE, "unknown_worker", "worker_id",
                           "There is no worker %s: allocate a worker who has an account. (An account made "
                           "in the last few seconds may not be known here yet: try again.)",
                           params[1]);
    PQclear(res);
    return rc;
}

int records_allocation_add(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__Allocation *in = (const Tsr__Records__Allocation *)call->payload;
    if (tsr_actor_require_role(call->actor, allocators, "allocate workers", err) != 0)
        return -1;
    if (strcmp(in->role, "key-worker") != 0 && strcmp(in->role, "team") != 0)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_role", "role",
                             "The role must be key-worker or team.");
    if (strcmp(in->role, "key-worker") == 0 && in->worker_id == 0)
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", "worker_id",
                             "A key worker allocation names the worker.");
    if (strcmp(in->role, "team") == 0 && in->team_id == 0)
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", "team_id",
                             "A team allocation names the team.");
    const char *service = in->service;
    if (strcmp(service, "Early Help") == 0)
        service = "EH";
    if (strcmp(service, "CSSW") != 0 && strcmp(service, "ASC") != 0 && strcmp(service, "EH") != 0)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_service", "service",
                             "The service must be CSSW, ASC or EH (Early Help).");
    records_access_t access;
    if (records_access_person(call, in->person_id, &access, err) != 0)
        return -1;
    char display[256];
    if (records_person_display(call, in->person_id, display, sizeof(display), err) != 0)
        return -1;
    if (access != RECORDS_ACCESS_FULL)
        return records_person_refuse(call, in->person_id, display, "allocation", err);
    char person[32], worker[32], team[32], by[32];
    snprintf(person, sizeof(person), "%" PRIu64, in->person_id);
    snprintf(worker, sizeof(worker), "%" PRIu64, in->worker_id);
    snprintf(team, sizeof(team), "%" PRIu64, in->team_id);
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    const char *params[6] = {
        person, in->worker_id ? worker : NULL, in->team_id ? team : NULL, in->role, service, by};
    if (allocation__check_new(call, params, display, err) != 0)
        return -1;
    PGresult *res =
        tsr_db_exec(call->conn,
                    "INSERT INTO allocations (person_id, worker_id, team_id, role, service, created_by)"
                    " VALUES ($1::bigint, $2::bigint, $3::bigint, $4, $5, $6::bigint)"
                    " RETURNING id, start_date::text",
                    6, params, err);
    if (res == NULL)
        return -1;
    Tsr__Records__Allocation out = *in;
    out.id = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    out.service = (char *)service;
    out.start_date = PQgetvalue(res, 0, 1);
    out.end_date = "";
    char summary[512];
    snprintf(summary, sizeof(summary), "Allocated %s %s%s to %s (%" PRIu64 ") for %s", in->role,
             in->worker_id ? "worker " : "team ", in->worker_id ? worker : team, display, in->person_id,
             service);
    int rc = person__audit(call, in->person_id, display, "allocated", summary, &out, err);
    if (rc == 0)
        tsr_call_reply(call, &out.base);
    PQclear(res);
    return rc;
}

/* At most this many are listed at once: a manager reallocates them, then asks again. */
#define LEAVERS_ALLOCATIONS_MAX 500

#define LEAVERS_ALLOCATIONS_WHERE                                                                            \
    " FROM allocations a JOIN workers w ON w.id = a.worker_id AND w.ended"                                   \
    " JOIN people p ON p.id = a.person_id AND p.merged_into IS NULL"                                         \
    " WHERE a.end_date IS NULL AND a.role = 'key-worker'"

int records_allocations_to_leavers(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__LeaverAllocationsQuery *in =
        (const Tsr__Records__LeaverAllocationsQuery *)call->payload;
    if (tsr_actor_require_role(call->actor, allocators, "see the allocations of workers who have left",
                               err) != 0)
        return -1;
    if (in->count_only) {
        PGresult *res = tsr_db_exec(call->conn, "SELECT count(*)" LEAVERS_ALLOCATIONS_WHERE, 0, NULL, err);
        if (res == NULL)
            return -1;
        Tsr__Records__LeaverAllocations out = TSR__RECORDS__LEAVER_ALLOCATIONS__INIT;
        out.count = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
        out.more = out.count > 0;
        tsr_call_reply(call, &out.base);
        PQclear(res);
        return 0;
    }
    char lim[16];
    snprintf(lim, sizeof(lim), "%d", LEAVERS_ALLOCATIONS_MAX + 1);
    const char *params[1] = {lim};
    PGresult *res = tsr_db_exec(
        call->conn,
        "SELECT a.id, p.id, " RECORDS_PERSON_DISPLAY
        ", w.id, w.name, a.service, a.start_date::text, count(*) OVER ()" LEAVERS_ALLOCATIONS_WHERE
        " ORDER BY w.name, w.id, " RECORDS_PERSON_DISPLAY ", p.id LIMIT $1::int",
        1, params, err);
    if (res == NULL)
        return -1;
    size_t rows =
        (size_t)PQntuples(res) > LEAVERS_ALLOCATIONS_MAX ? LEAVERS_ALLOCATIONS_MAX : (size_t)PQntuples(res);
    Tsr__Records__LeaverAllocation *items = calloc(rows + 1, sizeof(*items));
    Tsr__Records__LeaverAllocation **item_ptrs = calloc(rows + 1, sizeof(*item_ptrs));
    /* Each person listed is a read of their record's allocation: one event names them all. */
    records_listed_t listed;
    int rc = records_listed_init(&listed, rows, err);
    if (rc == 0 && (items == NULL || item_ptrs == NULL))
        rc = tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    for (size_t k = 0; rc == 0 && k < rows; k++) {
        Tsr__Records__LeaverAllocation *it = &items[k];
        tsr__records__leaver_allocation__init(it);
        it->allocation_id = strtoull(PQgetvalue(res, (int)k, 0), NULL, 10);
        it->person_id = strtoull(PQgetvalue(res, (int)k, 1), NULL, 10);
        it->display_name = PQgetvalue(res, (int)k, 2);
        it->worker_id = strtoull(PQgetvalue(res, (int)k, 3), NULL, 10);
        it->worker_name = PQgetvalue(res, (int)k, 4);
        it->service = PQgetvalue(res, (int)k, 5);
        it->start_date = PQgetvalue(res, (int)k, 6);
        item_ptrs[k] = it;
        records_listed_add(&listed, it->person_id, it->display_name, "allocations-listed",
                           "Listed %s (%" PRIu64 ") among the allocations to key workers who have left (%s)",
                           it->display_name, it->person_id, it->service);
    }
    if (rc == 0)
        rc = records_listed_emit(call, &listed, "records.allocations.listed",
                                 "allocations to key workers who have left", err);
    if (rc == 0) {
        Tsr__Records__LeaverAllocations out = TSR__RECORDS__LEAVER_ALLOCATIONS__INIT;
        out.items = item_ptrs;
        out.n_items = rows;
        out.more = PQntuples(res) > LEAVERS_ALLOCATIONS_MAX;
        out.count = PQntuples(res) > 0 ? (uint32_t)strtoul(PQgetvalue(res, 0, 7), NULL, 10) : 0;
        tsr_call_reply(call, &out.base);
    }
    free(items);
    free(item_ptrs);
    records_listed_free(&listed);
    PQclear(res);
    return rc;
}

int records_allocation_end(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__AllocationEnd *in = (const Tsr__Records__AllocationEnd *)call->payload;
    if (tsr_actor_require_role(call->actor, allocators, "end allocations", err) != 0)
        return -1;
    /* As adding one: a record the caller may not open is refused (audited) before anything says
     * whether the allocation is there, so that its allocations are neither ended nor learnt. */
    char display[256];
    if (records_person_require_access(call, in->person_id, "ending an allocation", display, sizeof(display),
                                      err) != 0)
        return -1;
    char person[32], allocation[32];
    snprintf(person, sizeof(person), "%" PRIu64, in->person_id);
    snprintf(allocation, sizeof(allocation), "%" PRIu64, in->allocation_id);
    const char *params[2] = {person, allocation};
    PGresult *res = tsr_db_exec(call->conn,
                                "UPDATE allocations SET end_date = office_today()"
                                " WHERE id = $2::bigint AND person_id = $1::bigint AND end_date IS NULL"
                                " RETURNING coalesce(worker_id, 0), coalesce(team_id, 0), role, service,"
                                " start_date::text, end_date::text",
                                2, params, err);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", NULL, "%s has no open allocation %s.",
                             display, allocation);
    }
    Tsr__Records__Allocation ended = TSR__RECORDS__ALLOCATION__INIT;
    ended.id = in->allocation_id;
    ended.person_id = in->person_id;
    ended.worker_id = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    ended.team_id = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
    ended.role = PQgetvalue(res, 0, 2);
    ended.service = PQgetvalue(res, 0, 3);
    ended.start_date = PQgetvalue(res, 0, 4);
    ended.end_date = PQgetvalue(res, 0, 5);
    char summary[512];
    snprintf(summary, sizeof(summary), "Ended allocation %s of %s (%" PRIu64 ")", allocation, display,
             in->person_id);
    int rc = person__audit(call, in->person_id, display, "deallocated", summary, &ended, err);
    PQclear(res);
    return rc;
}
