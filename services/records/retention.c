#include "retention.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "access.h"
#include "cpis.pb-c.h"
#include "involvements.h"
#include "people.h"
#include "relations.h"
#include "tsr_envelope.h"
#include "tsr_log.h"
#include "tsr_json.h"
#include "tsr_text.h"

#define RETENTION_CRITERIA_MAX 100
#define RETENTION_CODE_MAX 60
#define RETENTION_TITLE_MAX 200
#define RETENTION_REASON_MAX 1000
/* The kinds of involvement a criterion is for, at most. */
#define RETENTION_KINDS_MAX 8
/* A record and the duplicates merged into it, asked about together: a council merges a handful. */
#define RETENTION_IDS_MAX 64
/* How far into the due list a page may start: a council disposes of records in thousands a year. */
#define RETENTION_DUE_DEPTH 1000000

typedef struct {
    char code[RETENTION_CODE_MAX + 1];
    char title[RETENTION_TITLE_MAX * 4 + 1]; /* UTF-8: up to 4 bytes a character */
    char service[5];
    unsigned keep_years;
    int from_birth;
    /* The kinds of case it is for (involvement kinds; a CP-IS plan counts as its kind): a case of
     * one of these is not flagged with a criterion that keeps the record less long than one of them. */
    const char *kinds[RETENTION_KINDS_MAX + 1];
    size_t n_kinds;
} retention_criterion_t;

static retention_criterion_t retention_schedule[RETENTION_CRITERIA_MAX];
static size_t retention_schedule_count;
static char retention_schedule_file[512];

/* Information governance and system support keep records past their time, and see what is due. */
static const char *const retention_keepers[] = {"admin", "system-support", "auditor", "system", NULL};
static const char *const retention_services[] = {"CSSW", "EH", "ASC", NULL};
/* The service a CP-IS plan is a case of, as a Retention message's list item. */
static char retention_cssw[] = "CSSW";

static int retention__service(const char *s)
{
    for (size_t i = 0; retention_services[i]; i++)
        if (strcmp(s, retention_services[i]) == 0)
            return 1;
    return 0;
}

static int retention__code_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > RETENTION_CODE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-')
            return 0;
    return 1;
}

/* One criterion of the file, checked; the fault names the file and where in it. */
static int retention__criterion(const char *file, size_t index, json_t *c, retention_criterion_t *out,
                                tsr_error_t *err)
{
    static const char *const keys[] = {"code", "title", "service", "keep_years", "from", "kinds", NULL};
    const char *key;
    json_t *value;
    if (!json_is_object(c))
        return tsr_error_set(err, TSR_E_INVALID, "bad_config", "records.retention_schedule_file",
                             "%s: criteria[%zu] must be an object.", file, index);
    json_object_foreach(c, key, value)
    {
        int known = 0;
        for (size_t i = 0; keys[i]; i++)
            known |= strcmp(key, keys[i]) == 0;
        if (!known)
            return tsr_error_set(err, TSR_E_INVALID, "bad_config", "records.retention_schedule_file",
                                 "%s: criteria[%zu] has '%.40s', which is not one of code, title, service, "
                                 "keep_years, from, kinds.",
                                 file, index, key);
    }
    const char *code = json_string_value(json_object_get(c, "code"));
    const char *title = json_string_value(json_object_get(c, "title"));
    const char *service = json_string_value(json_object_get(c, "service"));
    const char *from = json_string_value(json_object_get(c, "from"));
    json_t *years = json_object_get(c, "keep_years");
    if (code == NULL || !retention__code_ok(code))
        return tsr_error_set(err, TSR_E_INVALID, "bad_config", "records.retention_schedule_file",
                             "%s: criteria[%zu].code must be 1 to %d of a-z, 0-9 and '-'.", file, index,
                             RETENTION_CODE_MAX);
    if (title == NULL || title[0] == '\0' || tsr_text_length(title) > RETENTION_TITLE_MAX ||
        tsr_text_has_control(title, 0))
        return tsr_error_set(err, TSR_E_INVALID, "bad_config", "records.retention_schedule_file",
                             "%s: criteria[%zu].title (%s) must be one line of 1 to %d characters.", file,
                             index, code, RETENTION_TITLE_MAX);
    if (service == NULL || !retention__service(service))
        return tsr_error_set(err, TSR_E_INVALID, "bad_config", "records.retention_schedule_file",
                             "%s: criteria[%zu].service (%s) must be CSSW, EH or ASC.", file, index, code);
    if (!json_is_integer(years) || json_integer_value(years) < 1 || json_integer_value(years) > 150)
        return tsr_error_set(
            err, TSR_E_INVALID, "bad_config", "records.retention_schedule_file",
            "%s: criteria[%zu].keep_years (%s) must be a whole number of years from 1 to 150.", file, index,
            code);
    if (from == NULL || (strcmp(from, "closure") != 0 && strcmp(from, "date_of_birth") != 0))
        return tsr_error_set(err, TSR_E_INVALID, "bad_config", "records.retention_schedule_file",
                             "%s: criteria[%zu].from (%s) must be closure or date_of_birth.", file, index,
                             code);
    json_t *kinds = json_object_get(c, "kinds");
    if (kinds != NULL && (!json_is_array(kinds) || json_array_size(kinds) > RETENTION_KINDS_MAX))
        return tsr_error_set(err, TSR_E_INVALID, "bad_config", "records.retention_schedule_file",
                             "%s: criteria[%zu].kinds (%s) must be a list of up to %d kinds of involvement.",
                             file, index, code, RETENTION_KINDS_MAX);
    out->n_kinds = 0;
    for (size_t k = 0; k < json_array_size(kinds); k++) {
        const char *kind = json_string_value(json_array_get(kinds, k));
        const char *known = NULL;
        for (size_t i = 0; kind != NULL && known == NULL && records_involvement_kinds[i]; i++)
            if (strcmp(kind, records_involvement_kinds[i]) == 0)
                known = records_involvement_kinds[i];
        if (known == NULL)
            return tsr_error_set(err, TSR_E_INVALID, "bad_config", "records.retention_schedule_file",
                                 "%s: criteria[%zu].kinds[%zu] (%s) must be a kind of involvement: "
                                 "child-in-need, child-protection, child-looked-after, care-leaver, "
                                 "early-help, adult-social-care, safeguarding-adults or other.",
                                 file, index, k, code);
        out->kinds[out->n_kinds++] = known;
    }
    out->kinds[out->n_kinds] = NULL;
    for (size_t i = 0; i < index; i++)
        if (strcmp(retention_schedule[i].code, code) == 0)
            return tsr_error_set(err, TSR_E_INVALID, "bad_config", "records.retention_schedule_file",
                                 "%s: criteria[%zu].code %s is also criteria[%zu]'s.", file, index, code, i);
    snprintf(out->code, sizeof(out->code), "%s", code);
    snprintf(out->title, sizeof(out->title), "%s", title);
    snprintf(out->service, sizeof(out->service), "%s", service);
    out->keep_years = (unsigned)json_integer_value(years);
    out->from_birth = strcmp(from, "date_of_birth") == 0;
    return 0;
}

int records_retention_configure(const tsr_config_t *config, tsr_error_t *err)
{
    retention_schedule_count = 0;
    const char *file = tsr_config_get(config, "records.retention_schedule_file", "");
    snprintf(retention_schedule_file, sizeof(retention_schedule_file), "%s", file);
    if (file[0] == '\0') {
        tsr_log_warn(NULL, "no retention schedule (records.retention_schedule_file): records cannot be "
                           "flagged for retention until the council's schedule is configured");
        return 0;
    }
    json_error_t jerr;
    json_t *doc = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        char fault[sizeof(jerr.text) + 64];
        tsr_json_error_words(&jerr, fault, sizeof(fault));
        return tsr_error_set(err, TSR_E_INVALID, "bad_config", "records.retention_schedule_file",
                             "%s (records.retention_schedule_file): %s.", file, fault);
    }
    json_t *criteria = json_object_get(doc, "criteria");
    int rc = 0;
    if (!json_is_object(doc) || !json_is_array(criteria) || json_array_size(criteria) == 0 ||
        json_array_size(criteria) > RETENTION_CRITERIA_MAX || json_object_size(doc) != 1)
        rc = tsr_error_set(err, TSR_E_INVALID, "bad_config", "records.retention_schedule_file",
                           "%s must be an object holding only \"criteria\": a list of 1 to %d criteria.",
                           file, RETENTION_CRITERIA_MAX);
    for (size_t i = 0; rc == 0 && i < json_array_size(criteria); i++) {
        rc = retention__criterion(file, i, json_array_get(criteria, i), &retention_schedule[i], err);
        if (rc == 0)
            retention_schedule_count = i + 1;
    }
    json_decref(doc);
    if (rc != 0)
        retention_schedule_count = 0;
    return rc;
}

static const retention_criterion_t *retention__find(const char *code)
{
    for (size_t i = 0; i < retention_schedule_count; i++)
        if (strcmp(retention_schedule[i].code, code) == 0)
            return &retention_schedule[i];
    return NULL;
}

int records_retention_schedule(tsr_call_t *call, tsr_error_t *err)
{
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    Tsr__Records__RetentionCriterion items[RETENTION_CRITERIA_MAX];
    Tsr__Records__RetentionCriterion *ptrs[RETENTION_CRITERIA_MAX];
    for (size_t i = 0; i < retention_schedule_count; i++) {
        tsr__records__retention_criterion__init(&items[i]);
        items[i].code = retention_schedule[i].code;
        items[i].title = retention_schedule[i].title;
        items[i].service = retention_schedule[i].service;
        items[i].keep_years = retention_schedule[i].keep_years;
        items[i].from = retention_schedule[i].from_birth ? "date_of_birth" : "closure";
        ptrs[i] = &items[i];
    }
    Tsr__Records__RetentionSchedule out = TSR__RECORDS__RETENTION_SCHEDULE__INIT;
    out.criteria = ptrs;
    out.n_criteria = retention_schedule_count;
    tsr_call_reply(call, &out.base);
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * CP-IS plans: a child protection plan or a child in care is a children's social work (CSSW) case,
 * whatever the involvements say. The cpis daemon keeps the plans; records asks it
 * (cpis.plans.states) at the moment it judges, rather than keeping a copy that could lag behind a
 * plan just recorded or miss one recorded before the copy began.
 * ---------------------------------------------------------------------------------------------- */

int records_retention_plans(tsr_call_t *call, uint64_t person_id, Tsr__Cpis__PlanStates **out,
                            tsr_error_t *err)
{
    *out = NULL;
    char person[24];
    snprintf(person, sizeof(person), "%" PRIu64, person_id);
    const char *params[1] = {person};
    /* The record and every duplicate merged into it: cpis moves a duplicate's plans when it hears of
     * the merge, which may not have happened yet. */
    PGresult *res = tsr_db_exec(call->conn,
                                "WITH RECURSIVE gone AS (SELECT id FROM people WHERE id = $1::bigint"
                                "  UNION ALL SELECT p.id FROM people p JOIN gone g ON p.merged_into = g.id)"
                                " SELECT id FROM gone ORDER BY id LIMIT 64", /* RETENTION_IDS_MAX */
                                1, params, err);
    if (res == NULL)
        return -1;
    uint64_t ids[RETENTION_IDS_MAX];
    Tsr__Cpis__PlanStatesQuery q = TSR__CPIS__PLAN_STATES_QUERY__INIT;
    q.person_ids = ids;
    for (int i = 0; i < PQntuples(res) && i < RETENTION_IDS_MAX; i++)
        ids[q.n_person_ids++] = strtoull(PQgetvalue(res, i, 0), NULL, 10);
    PQclear(res);
    if (q.n_person_ids == 0)
        ids[q.n_person_ids++] = person_id;
    ProtobufCMessage *reply = NULL;
    if (tsr_call_ask(call, "cpis", "cpis.plans.states", &q.base, &tsr__cpis__plan_states__descriptor, &reply,
                     err) != 0) {
        if (err->status == TSR_E_UNAVAILABLE)
            snprintf(err->message, sizeof(err->message),
                     "Tessera cannot tell now whether a CP-IS plan keeps the record open (the CP-IS service "
                     "did not answer): try again in a moment.");
        return -1;
    }
    *out = (Tsr__Cpis__PlanStates *)reply;
    return 0;
}

void records_retention_plans_free(Tsr__Cpis__PlanStates **plans)
{
    if (*plans != NULL)
        protobuf_c_message_free_unpacked(&(*plans)->base, NULL);
    *plans = NULL;
}

/* The first open plan, or NULL. */
static const Tsr__Cpis__PlanState *retention__open_plan(const Tsr__Cpis__PlanStates *plans)
{
    for (size_t i = 0; plans != NULL && i < plans->n_plans; i++)
        if (plans->plans[i]->end_date[0] == '\0')
            return plans->plans[i];
    return NULL;
}

/* The kind of case a plan is (as an involvement's kind), and its words. */
static const char *retention__plan_kind(const char *plan_type)
{
    return strcmp(plan_type, "child-in-care") == 0 ? "child-looked-after" : "child-protection";
}

static const char *retention__plan_title(const char *plan_type)
{
    if (strcmp(plan_type, "child-in-care") == 0)
        return "child in care";
    if (strcmp(plan_type, "unborn-child-protection-plan") == 0)
        return "unborn child protection plan";
    return "child protection plan";
}

/* The day a criterion keeps a record until, from the closure or the date of birth (YYYY-MM-DD): 29
 * February becomes 28 February in a common year, as PostgreSQL counts years. */
static void retention__until(const retention_criterion_t *c, const char *closed_on, const char *born,
                             char out[16])
{
    int y = 0, m = 0, d = 0;
    if (sscanf(c->from_birth ? born : closed_on, "%4d-%2d-%2d", &y, &m, &d) != 3) {
        out[0] = '\0';
        return;
    }
    y += (int)c->keep_years;
    if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        d = 28;
    snprintf(out, 16, "%04d-%02d-%02d", y % 10000, m % 100, d % 100);
}

static int retention__for_kind(const retention_criterion_t *c, const char *kind)
{
    for (size_t i = 0; i < c->n_kinds; i++)
        if (strcmp(c->kinds[i], kind) == 0)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * A record's retention as it stands
 * ---------------------------------------------------------------------------------------------- */

#define RETENTION_FLAG_COLUMNS                                                                               \
    "service, criterion, criterion_title, closed_on::text, keep_until::text, flagged_by::text,"              \
    " (extract(epoch FROM flagged_at) * 1000)::bigint::text"

static void retention__flag_from_row(const PGresult *res, int row, int col, Tsr__Records__RetentionFlag *f)
{
    tsr__records__retention_flag__init(f);
    f->service = PQgetvalue(res, row, col);
    f->criterion = PQgetvalue(res, row, col + 1);
    f->criterion_title = PQgetvalue(res, row, col + 2);
    f->closed_on = PQgetvalue(res, row, col + 3);
    f->keep_until = PQgetvalue(res, row, col + 4);
    f->flagged_by = strtoull(PQgetvalue(res, row, col + 5), NULL, 10);
    f->flagged_at_ms = strtoll(PQgetvalue(res, row, col + 6), NULL, 10);
}

/* Whether the service flagged the record at its case's last closure (ended: the day its last
 * involvement, allocation or plan ended, "" none): a flag from before a case reopened and closed
 * again counts from a closure that was not the last, and the service must flag the record again. */
static int retention__flagged_since(const records_retention_t *r, const char *service, const char *ended)
{
    for (size_t i = 0; i < r->n_flags; i++)
        if (strcmp(r->flags[i].service, service) == 0 && strcmp(r->flags[i].closed_on, ended) >= 0)
            return 1;
    return 0;
}

int records_retention_load(tsr_call_t *call, uint64_t person_id, records_retention_t *out, tsr_error_t *err)
{
    return records_retention_load_plans(call, person_id, NULL, out, err);
}

int records_retention_load_plans(tsr_call_t *call, uint64_t person_id, const Tsr__Cpis__PlanStates *plans,
                                 records_retention_t *out, tsr_error_t *err)
{
    memset(out, 0, sizeof(*out));
    tsr__records__retention__init(&out->retention);
    tsr__records__retention_hold__init(&out->hold);
    out->retention.person_id = person_id;
    out->retention.keep_until = "";
    char person[24];
    snprintf(person, sizeof(person), "%" PRIu64, person_id);
    const char *params[1] = {person};
    /* Flags, the hold, and each service's state (open: an involvement or an allocation not ended; an
     * allocation ended still makes its service one that was involved with the person). */
    out->res = tsr_db_exec(
        call->conn,
        "SELECT 1, " RETENTION_FLAG_COLUMNS " FROM retention_flags WHERE person_id = $1::bigint"
        " UNION ALL SELECT 2, reason, coalesce(review_date::text, ''), held_by::text,"
        "  (extract(epoch FROM held_at) * 1000)::bigint::text, '', '', ''"
        "  FROM retention_holds WHERE person_id = $1::bigint"
        " UNION ALL SELECT 3, service, bool_or(end_date IS NULL)::text, coalesce(max(end_date)::text, ''),"
        "  '', '', '', '' FROM ("
        "  SELECT service, end_date FROM involvements WHERE person_id = $1::bigint"
        "  UNION ALL SELECT service, end_date FROM allocations WHERE person_id = $1::bigint"
        " ) AS s GROUP BY service"
        " ORDER BY 1, 2",
        1, params, err);
    if (out->res == NULL)
        return -1;
    int rows = PQntuples(out->res);
    for (int r = 0; r < rows; r++) {
        int kind = atoi(PQgetvalue(out->res, r, 0));
        if (kind == 1 && out->n_flags < RECORDS_RETENTION_SERVICES) {
            Tsr__Records__RetentionFlag *f = &out->flags[out->n_flags];
            retention__flag_from_row(out->res, r, 1, f);
            out->flag_ptrs[out->n_flags++] = f;
            if (strcmp(f->keep_until, out->retention.keep_until) > 0)
                out->retention.keep_until = f->keep_until;
        } else if (kind == 2) {
            out->hold.reason = PQgetvalue(out->res, r, 1);
            out->hold.review_date = PQgetvalue(out->res, r, 2);
            out->hold.held_by = strtoull(PQgetvalue(out->res, r, 3), NULL, 10);
            out->hold.held_at_ms = strtoll(PQgetvalue(out->res, r, 4), NULL, 10);
            out->retention.hold = &out->hold;
        } else if (kind == 3) {
            char *service = PQgetvalue(out->res, r, 1);
            if (strcmp(PQgetvalue(out->res, r, 2), "true") == 0) {
                out->open[out->n_open++] = service;
                continue;
            }
            if (!retention__flagged_since(out, service, PQgetvalue(out->res, r, 3)))
                out->unflagged[out->n_unflagged++] = service;
        }
    }
    /* A CP-IS plan is a CSSW case: open, it keeps CSSW open; ended, CSSW must flag the record. */
    if (plans != NULL && plans->n_plans > 0) {
        int cssw_open = 0, cssw_unflagged = 0;
        const char *last_end = "";
        for (size_t i = 0; i < out->n_open; i++)
            cssw_open |= strcmp(out->open[i], "CSSW") == 0;
        for (size_t i = 0; i < plans->n_plans; i++)
            if (strcmp(plans->plans[i]->end_date, last_end) > 0)
                last_end = plans->plans[i]->end_date;
        int cssw_flagged = retention__flagged_since(out, "CSSW", last_end);
        out->open_plan = retention__open_plan(plans);
        if (out->open_plan != NULL && !cssw_open) {
            size_t kept = 0;
            for (size_t i = 0; i < out->n_unflagged; i++)
                if (strcmp(out->unflagged[i], "CSSW") != 0)
                    out->unflagged[kept++] = out->unflagged[i];
            out->n_unflagged = kept;
            out->open[out->n_open++] = retention_cssw;
            out->open_by_plan_only = 1;
        }
        for (size_t i = 0; i < out->n_unflagged; i++)
            cssw_unflagged |= strcmp(out->unflagged[i], "CSSW") == 0;
        if (out->open_plan == NULL && !cssw_open && !cssw_flagged && !cssw_unflagged &&
            out->n_unflagged < RECORDS_RETENTION_SERVICES)
            out->unflagged[out->n_unflagged++] = retention_cssw;
    }
    out->retention.flags = out->flag_ptrs;
    out->retention.n_flags = out->n_flags;
    out->retention.open_services = out->open;
    out->retention.n_open_services = out->n_open;
    out->retention.unflagged_services = out->unflagged;
    out->retention.n_unflagged_services = out->n_unflagged;
    return 0;
}

void records_retention_release(records_retention_t *r)
{
    PQclear(r->res);
    r->res = NULL;
}

/* Replies with the record's retention as it now stands; flags only to a reader who may see them.
 * plans: the record's CP-IS plans, or NULL to ask cpis for them here (to one who sees the flags),
 * the reply leaving them out when it does not answer. */
static int retention__reply(tsr_call_t *call, uint64_t person_id, int full,
                            const Tsr__Cpis__PlanStates *plans, tsr_error_t *err)
{
    Tsr__Cpis__PlanStates *asked = NULL;
    tsr_error_t unasked;
    if (plans == NULL && full && records_retention_plans(call, person_id, &asked, &unasked) == 0)
        plans = asked;
    records_retention_t r;
    if (records_retention_load_plans(call, person_id, plans, &r, err) != 0) {
        records_retention_plans_free(&asked);
        return -1;
    }
    if (!full) {
        r.retention.n_flags = r.retention.n_open_services = r.retention.n_unflagged_services = 0;
        r.retention.keep_until = "";
    }
    tsr_call_reply(call, &r.retention.base);
    records_retention_release(&r);
    records_retention_plans_free(&asked);
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * Flags: set by those who worked the service's case, at its closure
 * ---------------------------------------------------------------------------------------------- */

/* Who the caller is to a service's case with the person (seed 002: "practitioners are responsible for
 * ensuring the record is flagged with the appropriate retention criteria"). Accounts keep no service
 * for a team, so the record says who worked the case: its workers (allocated to it for the service,
 * named on or recording an involvement there) and its teams (allocated, or named on an involvement),
 * whose members are its practitioners; their line managers and the managers of its teams are its
 * managers. Otherwise another service's worker could set, shorten or remove the flag that decides when
 * the record is deleted. System support (and a system administrator, and the system) stand for any
 * service. */
typedef struct {
    int practitioner;   /* may flag the service: one of the case's workers, or a manager */
    int manager;        /* may also shorten or remove its flag (with a reason) */
    char workers[240];  /* whom to ask to flag it, in words ("" none) */
    char managers[240]; /* whom to ask to shorten or remove it */
} retention_part_t;

/* The case's workers and teams: $1 the person, $2 the service. */
#define RETENTION_CASE                                                                                       \
    "WITH case_workers AS (SELECT worker_id AS id FROM allocations WHERE person_id = $1::bigint"             \
    "   AND service = $2 AND worker_id IS NOT NULL"                                                          \
    "  UNION SELECT worker_id FROM involvements WHERE person_id = $1::bigint AND service = $2"               \
    "   AND worker_id IS NOT NULL"                                                                           \
    "  UNION SELECT created_by FROM involvements WHERE person_id = $1::bigint AND service = $2),"            \
    " case_teams AS (SELECT team_id AS id FROM allocations WHERE person_id = $1::bigint AND service = $2"    \
    "   AND team_id IS NOT NULL"                                                                             \
    "  UNION SELECT team_id FROM involvements WHERE person_id = $1::bigint AND service = $2"                 \
    "   AND team_id IS NOT NULL),"                                                                           \
    " case_managers AS (SELECT m.id FROM workers w JOIN workers m ON m.id = w.manager_id"                    \
    "   WHERE w.id IN (SELECT id FROM case_workers)"                                                         \
    "  UNION SELECT k.id FROM workers k WHERE k.managed_team_ids && ARRAY(SELECT id FROM case_teams))"

/* Up to three names of the current workers among ids (a query of one column, id), and of the teams
 * among team_ids, for a refusal's "ask ...": not system support, whom the refusal names anyway (they
 * record involvements for others). */
#define RETENTION_NAMES(ids, team_ids)                                                                       \
    "coalesce((SELECT string_agg(n, ', ') FROM (SELECT n FROM"                                               \
    "  (SELECT w.name AS n, 0 AS k, w.id FROM workers w WHERE w.id IN (" ids ") AND NOT w.ended"             \
    "    AND w.name <> '' AND NOT w.roles && ARRAY['admin', 'system-support']"                               \
    "   UNION ALL SELECT t.name || ' (team)', 1, t.id FROM teams t WHERE t.id IN (" team_ids ")) c"          \
    "  ORDER BY k, id LIMIT 3) l), '')"

/* $3 the caller, $4 their teams: whether they worked the case, whether they manage it, and whom to ask
 * to flag it and to shorten or remove its flag. */
#define RETENTION_ASK_WORKERS RETENTION_NAMES("SELECT id FROM case_workers", "SELECT id FROM case_teams")
#define RETENTION_ASK_MANAGERS RETENTION_NAMES("SELECT id FROM case_managers", "SELECT NULL::bigint")
static const char retention_part_sql[] = RETENTION_CASE
    " SELECT $3::bigint IN (SELECT id FROM case_workers)"
    "  OR EXISTS (SELECT 1 FROM case_teams WHERE id = ANY ($4::bigint[])),"
    " $3::bigint IN (SELECT id FROM case_managers), " RETENTION_ASK_WORKERS ", " RETENTION_ASK_MANAGERS;

static int retention__part(tsr_call_t *call, const char *person, const char *service, retention_part_t *out,
                           tsr_error_t *err)
{
    memset(out, 0, sizeof(*out));
    char worker[32], teams[1024];
    const char *override;
    records_access_params(call, worker, teams, sizeof(teams), &override);
    const char *params[4] = {person, service, worker, teams};
    PGresult *res = tsr_db_exec(call->conn, retention_part_sql, 4, params, err);
    if (res == NULL)
        return -1;
    int stands_for_all = tsr_actor_is_system(call->actor) ||
                         tsr_actor_has_role(call->actor, "system-support") ||
                         tsr_actor_has_role(call->actor, "admin");
    out->manager = stands_for_all || PQgetvalue(res, 0, 1)[0] == 't';
    out->practitioner = out->manager || PQgetvalue(res, 0, 0)[0] == 't';
    snprintf(out->workers, sizeof(out->workers), "%s", PQgetvalue(res, 0, 2));
    snprintf(out->managers, sizeof(out->managers), "%s", PQgetvalue(res, 0, 3));
    tsr_text_utf8_clean(out->workers);
    tsr_text_utf8_clean(out->managers);
    PQclear(res);
    return 0;
}

/* Refuses a flag to one who did not work the service's case, saying whom to ask. */
static int retention__refuse_flag(const retention_part_t *part, const char *display, const char *service,
                                  tsr_error_t *err)
{
    if (part->workers[0] == '\0')
        return tsr_error_set(
            err, TSR_E_FORBIDDEN, "not_on_the_case", "service",
            "Nothing on %s's record says who worked its %s case (no involvement or allocation "
            "there names a worker or team): ask system support to flag it for %s.",
            display, service, service);
    return tsr_error_set(
        err, TSR_E_FORBIDDEN, "not_on_the_case", "service",
        "A record is flagged for %s by those who worked its %s case, their managers or system "
        "support, and you are not on %s's: ask %s, or system support.",
        service, service, display, part->workers);
}

/* Refuses shortening (what) or removing a service's flag to one who is not a manager of its case. */
static int retention__refuse_change(const retention_part_t *part, const char *display, const char *service,
                                    const char *what, tsr_error_t *err)
{
    return tsr_error_set(
        err, TSR_E_FORBIDDEN, "manager_needed", "service",
        "%s %s's %s retention flag is for the managers of the %s case%s%s%s or system support: "
        "ask one of them, saying why.",
        what, display, service, service, part->managers[0] ? " (" : "", part->managers,
        part->managers[0] ? ")" : "");
}

/* A reason given for shortening or removing a flag, trimmed into *out ("" when none; the caller
 * frees); its fault gathered in err, -1 only when out of memory. */
static int retention__reason(const char *given, char **out, tsr_error_t *err)
{
    *out = tsr_text_trim_dup(given);
    if (*out == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
    if (tsr_text_length(*out) > RETENTION_REASON_MAX || tsr_text_has_control(*out, 1))
        tsr_error_add(err, TSR_E_INVALID, "invalid_value", "reason",
                      "A reason is up to %d characters of text.", RETENTION_REASON_MAX);
    return 0;
}

int records_retention_flag(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__RetentionFlagSet *in = (const Tsr__Records__RetentionFlagSet *)call->payload;
    if (tsr_actor_require_role(call->actor, records_person_writers, "flag records for retention", err) != 0)
        return -1;
    if (!retention__service(in->service))
        return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", "service",
                             "There is no service '%.20s': the services are CSSW, EH and ASC.", in->service);
    tsr_error_clear(err);
    const retention_criterion_t *criterion = NULL;
    if (retention_schedule_count == 0)
        return tsr_error_set(err, TSR_E_CONFLICT, "no_retention_schedule", NULL,
                             "Tessera has no retention schedule yet: system support set "
                             "records.retention_schedule_file to the council's schedule.");
    if (in->criterion[0] == '\0')
        tsr_error_add(err, TSR_E_INVALID, "missing_field", "criterion",
                      "Choose the retention criterion of the schedule that applies.");
    else if ((criterion = retention__find(in->criterion)) == NULL ||
             strcmp(criterion->service, in->service) != 0)
        tsr_error_add(err, TSR_E_UNPROCESSABLE, "unknown_criterion", "criterion",
                      "'%.60s' is not a retention criterion of the schedule for %s.", in->criterion,
                      in->service);
    tsr_error_t why;
    if (in->closed_on[0] != '\0' && tsr_text_check_date(in->closed_on, 1, "closed_on", &why) != 0)
        tsr_error_add(err, TSR_E_INVALID, why.code, "closed_on",
                      strcmp(why.code, "date_in_future") == 0
                          ? "The case cannot have closed after today."
                          : "Enter the day the case closed as a real date, like 2026-11-25.");
    char *reason = NULL;
    if (retention__reason(in->reason, &reason, err) != 0)
        return -1;
    char display[256];
    if (tsr_error_gathered(err) != 0 || records_person_require_access(call, in->person_id, "retention flag",
                                                                      display, sizeof(display), err) != 0) {
        free(reason);
        return -1;
    }
    char person[24], by[24];
    snprintf(person, sizeof(person), "%" PRIu64, in->person_id);
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    /* The person's row locked first, then the state judged and the flag written: an involvement or
     * allocation added at the same moment (its foreign key's lock waits on this one) is either seen
     * here or begins after the flag. */
    /* CP-IS plans are children's social work's: a CSSW flag waits for cpis's answer (none: 503);
     * another service's reply shows them only when cpis answers. Asked before the person's row is
     * locked: held while cpis answers, the lock would keep every case note and allocation of the
     * child waiting on another daemon. */
    Tsr__Cpis__PlanStates *plans = NULL;
    int cssw = strcmp(in->service, "CSSW") == 0;
    tsr_error_t unasked;
    if (records_retention_plans(call, in->person_id, &plans, cssw ? err : &unasked) != 0 && cssw) {
        free(reason);
        return -1;
    }
    int rc = -1;
    retention_part_t part;
    if (records_person_lock(call, person, err) != 0 ||
        retention__part(call, person, in->service, &part, err) != 0)
        goto done;
    if (!part.practitioner) {
        retention__refuse_flag(&part, display, in->service, err);
        goto done;
    }
    const char *params[2] = {person, in->service};
    PGresult *res = tsr_db_exec(
        call->conn,
        "SELECT EXISTS (SELECT 1 FROM involvements WHERE person_id = $1::bigint AND service = $2"
        "   AND end_date IS NULL)"
        "  OR EXISTS (SELECT 1 FROM allocations WHERE person_id = $1::bigint AND service = $2"
        "   AND end_date IS NULL),"
        " coalesce((SELECT max(d)::text FROM (SELECT end_date AS d FROM involvements"
        "   WHERE person_id = $1::bigint AND service = $2 UNION ALL SELECT end_date FROM allocations"
        "   WHERE person_id = $1::bigint AND service = $2) AS ended), ''),"
        " coalesce((SELECT date_of_birth::text FROM people WHERE id = $1::bigint), ''),"
        " coalesce((SELECT string_agg(DISTINCT kind, ',') FROM involvements WHERE person_id = $1::bigint"
        "   AND service = $2), '')",
        2, params, err);
    if (res == NULL)
        goto done;
    int open = PQgetvalue(res, 0, 0)[0] == 't';
    char last_end[16], born[16], kinds[256];
    snprintf(last_end, sizeof(last_end), "%s", PQgetvalue(res, 0, 1));
    snprintf(born, sizeof(born), "%s", PQgetvalue(res, 0, 2));
    snprintf(kinds, sizeof(kinds), "%s", PQgetvalue(res, 0, 3));
    PQclear(res);
    const Tsr__Cpis__PlanState *open_plan = cssw ? retention__open_plan(plans) : NULL;
    if (open) {
        tsr_error_set(err, TSR_E_CONFLICT, "case_open", "service",
                      "%s's %s case is still open (an involvement or an allocation has not ended): a record "
                      "is flagged for retention when the case closes.",
                      display, in->service);
        goto done;
    }
    if (open_plan != NULL) {
        tsr_error_set(err, TSR_E_CONFLICT, "case_open", "service",
                      "%s's %s case is still open: the %s from %s (CP-IS plan %" PRIu64
                      ") has not ended. A record is flagged for retention when the case closes.",
                      display, in->service, retention__plan_title(open_plan->plan_type),
                      open_plan->start_date, open_plan->plan_id);
        goto done;
    }
    /* The case ended when the last of its involvements, allocations and (CSSW) plans did. */
    const char *last_what = "involvement or allocation";
    for (size_t i = 0; cssw && plans != NULL && i < plans->n_plans; i++) {
        const Tsr__Cpis__PlanState *plan = plans->plans[i];
        if (strcmp(plan->end_date, last_end) > 0) {
            snprintf(last_end, sizeof(last_end), "%s", plan->end_date);
            last_what = retention__plan_title(plan->plan_type);
        }
        size_t used = strlen(kinds);
        snprintf(kinds + used, sizeof(kinds) - used, "%s%s", used ? "," : "",
                 retention__plan_kind(plan->plan_type));
    }
    const char *closed_on = in->closed_on[0] ? in->closed_on : last_end;
    if (closed_on[0] == '\0') {
        tsr_error_set(
            err, TSR_E_INVALID, "missing_field", "closed_on",
            "Enter the day the case closed: %s has no ended %s involvement or allocation to take it "
            "from.",
            display, in->service);
        goto done;
    }
    if (strcmp(closed_on, last_end) < 0) {
        tsr_error_set(err, TSR_E_UNPROCESSABLE, "closed_before_case_ended", "closed_on",
                      "%s's %s case cannot have closed on %s: its last %s ended on %s. Enter that day or "
                      "the later day the case closed.",
                      display, in->service, closed_on, last_what, last_end);
        goto done;
    }
    if (criterion->from_birth && born[0] == '\0') {
        tsr_error_set(err, TSR_E_UNPROCESSABLE, "no_date_of_birth", "criterion",
                      "'%s' counts from the date of birth, which %s's record does not have: record it first, "
                      "or choose a criterion that counts from the closure.",
                      criterion->title, display);
        goto done;
    }
    char keep_until[16];
    retention__until(criterion, closed_on, born, keep_until);
    /* The criterion suits the case: not one that keeps the record less long than any criterion for
     * a kind of case the service had (a child protection case is not 'contact only'). */
    const retention_criterion_t *longest = NULL;
    char floor_until[16] = "", floor_kind[40] = "";
    for (char *kind = kinds, *next; kind && *kind; kind = next) {
        next = strchr(kind, ',');
        if (next != NULL)
            *next++ = '\0';
        const retention_criterion_t *least = NULL;
        char least_until[16] = "";
        for (size_t c = 0; c < retention_schedule_count; c++) {
            const retention_criterion_t *candidate = &retention_schedule[c];
            char until[16];
            if (strcmp(candidate->service, in->service) != 0 || !retention__for_kind(candidate, kind) ||
                (candidate->from_birth && born[0] == '\0'))
                continue;
            retention__until(candidate, closed_on, born, until);
            if (least == NULL || strcmp(until, least_until) < 0) {
                least = candidate;
                snprintf(least_until, sizeof(least_until), "%s", until);
            }
        }
        if (least != NULL && strcmp(least_until, floor_until) > 0) {
            longest = least;
            snprintf(floor_until, sizeof(floor_until), "%s", least_until);
            snprintf(floor_kind, sizeof(floor_kind), "%.39s", kind);
        }
    }
    if (longest != NULL && strcmp(keep_until, floor_until) < 0) {
        tsr_error_set(err, TSR_E_UNPROCESSABLE, "unsuitable_criterion", "criterion",
                      "'%s' would keep %s's record until %s, but the %s case was %s: '%s' keeps it until %s. "
                      "Choose the criterion for the case as it was; the longest period applies.",
                      criterion->title, display, keep_until, in->service, floor_kind, longest->title,
                      floor_until);
        goto done;
    }
    /* The flag it replaces: one kept less long than before is for the case's managers and system
     * support, with the reason, as a removal is (the record would be deleted sooner). */
    res = tsr_db_exec(
        call->conn,
        "SELECT f.criterion_title, f.keep_until::text, coalesce(nullif(w.name, ''),"
        " 'worker ' || f.flagged_by) FROM retention_flags f LEFT JOIN workers w ON w.id = f.flagged_by"
        " WHERE f.person_id = $1::bigint AND f.service = $2",
        2, params, err);
    if (res == NULL)
        goto done;
    char replaced[600] = "";
    int shortened = PQntuples(res) == 1 && strcmp(keep_until, PQgetvalue(res, 0, 1)) < 0;
    if (shortened && !part.manager) {
        char what[400];
        snprintf(what, sizeof(what),
                 "'%.120s' would keep the record until %s; its flag, '%.120s' by %.60s, keeps it "
                 "until %s. Shortening",
                 criterion->title, keep_until, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 2),
                 PQgetvalue(res, 0, 1));
        PQclear(res);
        retention__refuse_change(&part, display, in->service, what, err);
        goto done;
    }
    if (shortened && reason[0] == '\0') {
        tsr_error_set(
            err, TSR_E_INVALID, "missing_field", "reason",
            "Enter why the %s flag is shortened: it keeps %s's record until %s ('%.120s'), and '%.120s' "
            "would keep it until %s.",
            in->service, display, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 0), criterion->title, keep_until);
        PQclear(res);
        goto done;
    }
    if (PQntuples(res) == 1)
        snprintf(replaced, sizeof(replaced), "; %s '%.120s' by %.60s, kept until %s%s%s",
                 shortened ? "shortened from" : "replacing", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 2),
                 PQgetvalue(res, 0, 1), reason[0] ? ", because: " : "", reason);
    PQclear(res);
    const char *ins[7] = {person, in->service, criterion->code, criterion->title, closed_on, keep_until, by};
    res =
        tsr_db_exec(call->conn,
                    "INSERT INTO retention_flags (person_id, service, criterion, criterion_title, closed_on,"
                    " keep_until, flagged_by) VALUES ($1::bigint, $2, $3, $4, $5::date, $6::date, $7::bigint)"
                    " ON CONFLICT (person_id, service) DO UPDATE SET criterion = EXCLUDED.criterion,"
                    " criterion_title = EXCLUDED.criterion_title, closed_on = EXCLUDED.closed_on,"
                    " keep_until = EXCLUDED.keep_until, flagged_by = EXCLUDED.flagged_by, flagged_at = now()",
                    7, ins, err);
    if (res == NULL)
        goto done;
    PQclear(res);
    char summary[1200];
    snprintf(summary, sizeof(summary),
             "Flagged %.200s (%" PRIu64 ") for retention: %s case closed %s, '%.120s', kept until %s%s",
             display, in->person_id, in->service, closed_on, criterion->title, keep_until, replaced);
    if (records_person_audit(call, in->person_id, display, "retention-flagged", summary, err) == 0)
        rc = retention__reply(call, in->person_id, 1, plans, err);
done:
    records_retention_plans_free(&plans);
    free(reason);
    return rc;
}

int records_retention_unflag(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__RetentionFlagRemove *in = (const Tsr__Records__RetentionFlagRemove *)call->payload;
    if (tsr_actor_require_role(call->actor, records_person_writers, "change retention flags", err) != 0)
        return -1;
    tsr_error_clear(err);
    char *reason = NULL;
    if (retention__reason(in->reason, &reason, err) != 0)
        return -1;
    int rc = -1;
    char display[256];
    if (tsr_error_gathered(err) != 0 || records_person_require_access(call, in->person_id, "retention flag",
                                                                      display, sizeof(display), err) != 0)
        goto done;
    char person[24];
    snprintf(person, sizeof(person), "%" PRIu64, in->person_id);
    const char *params[2] = {person, in->service};
    retention_part_t part;
    if (records_person_lock(call, person, err) != 0)
        goto done;
    PGresult *res = tsr_db_exec(call->conn,
                                "SELECT criterion_title, keep_until::text FROM retention_flags"
                                " WHERE person_id = $1::bigint AND service = $2",
                                2, params, err);
    if (res == NULL)
        goto done;
    if (PQntuples(res) == 0) {
        PQclear(res);
        tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", "service",
                      "%s's record has no retention flag for %.20s.", display, in->service);
        goto done;
    }
    char summary[1600];
    snprintf(summary, sizeof(summary),
             "Removed the %s retention flag of %s (%" PRIu64 ") ('%s', kept until %s), because: %s",
             in->service, display, in->person_id, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), reason);
    PQclear(res);
    /* Without its flag the record is not due until the service flags it again, but a flag removed in
     * error and never set again leaves it kept for ever, or a shorter one set in its place deletes it
     * sooner: the case's managers decide, saying why. */
    if (retention__part(call, person, in->service, &part, err) != 0)
        goto done;
    if (!part.manager) {
        retention__refuse_change(&part, display, in->service, "Removing", err);
        goto done;
    }
    if (reason[0] == '\0') {
        tsr_error_set(err, TSR_E_INVALID, "missing_field", "reason",
                      "Enter why the %s retention flag is removed (the case reopened, or it was flagged in "
                      "error).",
                      in->service);
        goto done;
    }
    res = tsr_db_exec(call->conn, "DELETE FROM retention_flags WHERE person_id = $1::bigint AND service = $2",
                      2, params, err);
    if (res == NULL)
        goto done;
    PQclear(res);
    if (records_person_audit(call, in->person_id, display, "retention-unflagged", summary, err) == 0)
        rc = retention__reply(call, in->person_id, 1, NULL, err);
done:
    free(reason);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * Holds: information governance keeps a record past its time for an ongoing inquiry
 * ---------------------------------------------------------------------------------------------- */

/* Whether the actor may see the record in full: a keeper need not be on a restricted record's
 * access list to hold it, and then sees no more of it than its name. */
static int retention__full(tsr_call_t *call, uint64_t person_id, int *full, tsr_error_t *err)
{
    records_access_t access;
    if (records_access_person(call, person_id, &access, err) != 0)
        return -1;
    *full = access == RECORDS_ACCESS_FULL;
    return 0;
}

int records_retention_hold(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__RetentionHoldSet *in = (const Tsr__Records__RetentionHoldSet *)call->payload;
    if (tsr_actor_require_role(call->actor, retention_keepers, "hold records past their retention", err) != 0)
        return -1;
    tsr_error_clear(err);
    char *reason = tsr_text_trim_dup(in->reason);
    if (reason == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
    if (reason[0] == '\0')
        tsr_error_add(err, TSR_E_INVALID, "missing_field", "reason",
                      "Enter why the record is kept: the inquiry it is kept for.");
    else if (tsr_text_length(reason) > RETENTION_REASON_MAX || tsr_text_has_control(reason, 1))
        tsr_error_add(err, TSR_E_INVALID, "invalid_value", "reason",
                      "A reason is up to %d characters of text.", RETENTION_REASON_MAX);
    tsr_error_t why;
    if (in->review_date[0] != '\0' && tsr_text_check_date(in->review_date, 0, "review_date", &why) != 0)
        tsr_error_add(err, TSR_E_INVALID, why.code, "review_date",
                      "Enter the review date as a real date, like 2027-06-30.");
    int rc = -1, full = 0;
    char display[256];
    if (tsr_error_gathered(err) != 0 ||
        records_person_display(call, in->person_id, display, sizeof(display), err) != 0 ||
        retention__full(call, in->person_id, &full, err) != 0)
        goto done;
    char person[24], by[24];
    snprintf(person, sizeof(person), "%" PRIu64, in->person_id);
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    const char *params[4] = {person, reason, in->review_date[0] ? in->review_date : NULL, by};
    PGresult *res = tsr_db_exec(
        call->conn,
        "INSERT INTO retention_holds (person_id, reason, review_date, held_by) VALUES ($1::bigint, $2,"
        " $3::date, $4::bigint) ON CONFLICT (person_id) DO UPDATE SET reason = EXCLUDED.reason,"
        " review_date = EXCLUDED.review_date, held_by = EXCLUDED.held_by, held_at = now()",
        4, params, err);
    if (res == NULL)
        goto done;
    PQclear(res);
    char summary[1400];
    snprintf(summary, sizeof(summary), "Held the record of %s (%" PRIu64 ") past its retention: %s%s%s",
             display, in->person_id, reason, in->review_date[0] ? "; review on " : "", in->review_date);
    if (records_person_audit(call, in->person_id, display, "retention-held", summary, err) == 0)
        rc = retention__reply(call, in->person_id, full, NULL, err);
done:
    free(reason);
    return rc;
}

int records_retention_release_hold(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__RetentionHoldRelease *in = (const Tsr__Records__RetentionHoldRelease *)call->payload;
    if (tsr_actor_require_role(call->actor, retention_keepers, "release retention holds", err) != 0)
        return -1;
    char display[256];
    int full = 0;
    if (records_person_display(call, in->person_id, display, sizeof(display), err) != 0 ||
        retention__full(call, in->person_id, &full, err) != 0)
        return -1;
    char person[24];
    snprintf(person, sizeof(person), "%" PRIu64, in->person_id);
    const char *params[1] = {person};
    PGresult *res =
        tsr_db_exec(call->conn, "DELETE FROM retention_holds WHERE person_id = $1::bigint RETURNING reason",
                    1, params, err);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", NULL, "%s's record is not held.", display);
    }
    char summary[1400];
    snprintf(summary, sizeof(summary), "Released the retention hold on %s (%" PRIu64 ") (%s)", display,
             in->person_id, PQgetvalue(res, 0, 0));
    PQclear(res);
    if (records_person_audit(call, in->person_id, display, "retention-released", summary, err) != 0)
        return -1;
    return retention__reply(call, in->person_id, full, NULL, err);
}

/* ------------------------------------------------------------------------------------------------
 * Records due for disposal
 * ---------------------------------------------------------------------------------------------- */

int records_retention_due(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__RetentionDueQuery *in = (const Tsr__Records__RetentionDueQuery *)call->payload;
    if (tsr_actor_require_role(call->actor, retention_keepers, "see the records due for disposal", err) != 0)
        return -1;
    uint32_t limit;
    unsigned long offset;
    if (records_day_list_page(in->limit, in->on, in->cursor, RETENTION_DUE_DEPTH, &limit, &offset, err) != 0)
        return -1;
    char worker[32], teams[1024], lim[16], from[16];
    const char *override;
    records_access_params(call, worker, teams, sizeof(teams), &override);
    snprintf(lim, sizeof(lim), "%u", limit + 1);
    snprintf(from, sizeof(from), "%lu", offset);
    char only[24];
    snprintf(only, sizeof(only), "%" PRIu64, in->person_id);
    /* The children with CP-IS plans, and whether one of each's is open: asked of cpis (none: 503). */
    Tsr__Cpis__PlanStatesQuery q = TSR__CPIS__PLAN_STATES_QUERY__INIT;
    ProtobufCMessage *answer = NULL;
    if (tsr_call_ask(call, "cpis", "cpis.plans.states", &q.base, &tsr__cpis__plan_states__descriptor, &answer,
                     err) != 0) {
        if (err->status == TSR_E_UNAVAILABLE)
            snprintf(err->message, sizeof(err->message),
                     "Tessera cannot tell now which records a CP-IS plan keeps open (the CP-IS service did "
                     "not answer), so it cannot list the records due: try again in a moment.");
        return -1;
    }
    Tsr__Cpis__PlanStates *plans = (Tsr__Cpis__PlanStates *)answer;
    size_t n_plans = plans->n_plans;
    char *planned = malloc(n_plans * 24 + 3), *planned_open = malloc(n_plans * 2 + 3);
    char *planned_end = malloc(n_plans * 12 + 3);
    if (planned == NULL || planned_open == NULL || planned_end == NULL) {
        free(planned);
        free(planned_open);
        free(planned_end);
        records_retention_plans_free(&plans);
        return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
    }
    {
        size_t a = 0, b = 0, c = 0;
        planned[a++] = planned_open[b++] = planned_end[c++] = '{';
        for (size_t i = 0; i < n_plans; i++) {
            const Tsr__Cpis__PlanState *plan = plans->plans[i];
            a += (size_t)snprintf(planned + a, 24, "%s%" PRIu64, i ? "," : "", plan->person_id);
            b += (size_t)snprintf(planned_open + b, 3, "%s%c", i ? "," : "", plan->end_date[0] ? 'f' : 't');
            c += (size_t)snprintf(planned_end + c, 12, "%s%.10s", i ? "," : "",
                                  plan->end_date[0] ? plan->end_date : "NULL");
        }
        snprintf(planned + a, 2, "}");
        snprintf(planned_open + b, 2, "}");
        snprintf(planned_end + c, 2, "}");
    }
    records_retention_plans_free(&plans);
    const char *params[10] = {
        worker,  teams,        override,   in->on[0] ? in->on : NULL, lim, from, in->person_id ? only : NULL,
        planned, planned_open, planned_end};
    char sql[8192];
    /* Due: the latest flag's date reached, no hold, nothing open, and every service the person was
     * involved with (an involvement or allocation, ended or not; CSSW for a CP-IS plan) flagged at
     * or after its last end (the longest period applies to the whole record; a flag from before a
     * case reopened and closed again is not the closure's). A plan on a duplicate merged into the
     * record, which cpis moves when it hears of the merge, counts as the record's. */
    snprintf(sql, sizeof(sql),
             "WITH RECURSIVE day AS (SELECT coalesce($4::date, office_today()) AS on_day),"
             " planned(id, open, ended) AS (SELECT u.id, u.open, u.ended"
             "  FROM unnest($8::bigint[], $9::bool[], $10::date[]) AS u(id, open, ended)"
             "  UNION SELECT m.merged_into, planned.open, planned.ended FROM people m"
             "   JOIN planned ON m.id = planned.id WHERE m.merged_into IS NOT NULL),"
             " due AS (SELECT f.person_id, max(f.keep_until) AS keep_until FROM retention_flags f"
             "  WHERE $7::bigint IS NULL OR f.person_id = $7::bigint"
             "  GROUP BY f.person_id HAVING max(f.keep_until) <= (SELECT on_day FROM day))"
             " SELECT p.id, " RECORDS_PERSON_DISPLAY ", r.reason IS NOT NULL, d.keep_until::text, %s,"
             "  (SELECT on_day::text FROM day)"
             " FROM due d JOIN people p ON p.id = d.person_id AND p.merged_into IS NULL"
             " LEFT JOIN restrictions r ON r.person_id = p.id"
             " LEFT JOIN (SELECT id, bool_or(open) AS open, max(ended) AS ended FROM planned GROUP BY id) pl"
             "  ON pl.id = p.id"
             " WHERE NOT EXISTS (SELECT 1 FROM retention_holds h WHERE h.person_id = p.id)"
             "  AND NOT EXISTS (SELECT 1 FROM allocations a WHERE a.person_id = p.id AND (a.end_date IS NULL"
             "   OR NOT EXISTS (SELECT 1 FROM retention_flags f WHERE f.person_id = p.id"
             "    AND f.service = a.service AND f.closed_on >= a.end_date)))"
             "  AND NOT EXISTS (SELECT 1 FROM involvements i WHERE i.person_id = p.id AND (i.end_date IS NULL"
             "   OR NOT EXISTS (SELECT 1 FROM retention_flags f WHERE f.person_id = p.id"
             "    AND f.service = i.service AND f.closed_on >= i.end_date)))"
             "  AND (pl.id IS NULL OR (NOT pl.open AND EXISTS (SELECT 1 FROM retention_flags f"
             "   WHERE f.person_id = p.id AND f.service = 'CSSW' AND f.closed_on >= pl.ended)))"
             " ORDER BY d.keep_until, p.id LIMIT $5::int OFFSET $6::bigint",
             records_access_sql);
    PGresult *res = tsr_db_exec(call->conn, sql, 10, params, err);
    free(planned);
    free(planned_open);
    free(planned_end);
    if (res == NULL)
        return -1;
    int rows = PQntuples(res) > (int)limit ? (int)limit : PQntuples(res);
    char next_cursor[24] = "";
    if (PQntuples(res) > (int)limit && offset + limit < RETENTION_DUE_DEPTH)
        snprintf(next_cursor, sizeof(next_cursor), "%lu", offset + limit);
    /* The flags of the records the reader may see, one statement for the page. */
    char *ids = calloc((size_t)rows + 1, 24);
    size_t used = 0;
    ids[used++] = '{';
    for (int k = 0; k < rows; k++)
        if (PQgetvalue(res, k, 4)[0] == 't')
            used += (size_t)snprintf(ids + used, 24, "%s%s", used > 1 ? "," : "", PQgetvalue(res, k, 0));
    snprintf(ids + used, 2, "}");
    const char *flag_params[1] = {ids};
    PGresult *flags = tsr_db_exec(call->conn,
                                  "SELECT person_id::text, " RETENTION_FLAG_COLUMNS " FROM retention_flags"
                                  " WHERE person_id = ANY($1::bigint[]) ORDER BY person_id, service",
                                  1, flag_params, err);
    free(ids);
    if (flags == NULL) {
        PQclear(res);
        return -1;
    }
    int n_flags = PQntuples(flags);
    Tsr__Records__RetentionDue *items = calloc((size_t)rows + 1, sizeof(*items));
    Tsr__Records__RetentionDue **item_ptrs = calloc((size_t)rows + 1, sizeof(*item_ptrs));
    Tsr__Records__RetentionFlag *flag_items = calloc((size_t)n_flags + 1, sizeof(*flag_items));
    Tsr__Records__RetentionFlag **flag_ptrs = calloc((size_t)n_flags + 1, sizeof(*flag_ptrs));
    /* Each record shown in full is a read of it: one event names them all, as a search's does. */
    records_listed_t listed;
    if (records_listed_init(&listed, (size_t)rows, err) != 0) {
        free(items);
        free(item_ptrs);
        free(flag_items);
        free(flag_ptrs);
        PQclear(flags);
        PQclear(res);
        return -1;
    }
    int f = 0;
    for (int k = 0; k < rows; k++) {
        Tsr__Records__RetentionDue *it = &items[k];
        tsr__records__retention_due__init(it);
        it->person_id = strtoull(PQgetvalue(res, k, 0), NULL, 10);
        it->display_name = PQgetvalue(res, k, 1);
        it->restricted = PQgetvalue(res, k, 2)[0] == 't';
        it->keep_until = PQgetvalue(res, k, 3);
        it->name_only = PQgetvalue(res, k, 4)[0] != 't';
        item_ptrs[k] = it;
        /* A record the reader may not open shows its display name only: not when it was closed (the
         * date kept until is that and the criterion's years), nor its flags. */
        if (it->name_only) {
            it->keep_until = "";
            continue;
        }
        it->flags = &flag_ptrs[f];
        for (int j = 0; j < n_flags; j++) {
            if (strtoull(PQgetvalue(flags, j, 0), NULL, 10) != it->person_id)
                continue;
            retention__flag_from_row(flags, j, 1, &flag_items[f]);
            flag_ptrs[f] = &flag_items[f];
            it->n_flags++;
            f++;
        }
        records_listed_add(&listed, it->person_id, it->display_name, "retention-listed",
                           "Listed %s (%" PRIu64 ") among the records due for disposal (kept until %s)",
                           it->display_name, it->person_id, it->keep_until);
    }
    int rc = 0;
    if (listed.n > 0) {
        char terms[64];
        snprintf(terms, sizeof(terms), "records due for disposal on %s", PQgetvalue(res, 0, 5));
        rc = records_listed_emit(call, &listed, "records.retention.listed", terms, err);
    }
    if (rc == 0) {
        Tsr__Records__RetentionDueList out = TSR__RECORDS__RETENTION_DUE_LIST__INIT;
        PGresult *today = NULL;
        out.on = rows > 0 ? PQgetvalue(res, 0, 5) : in->on;
        if (out.on[0] == '\0' &&
            (today = tsr_db_exec(call->conn, "SELECT office_today()::text", 0, NULL, err)) != NULL)
            out.on = PQgetvalue(today, 0, 0);
        out.items = item_ptrs;
        out.n_items = (size_t)rows;
        out.next_cursor = next_cursor;
        if (out.on[0] == '\0')
            rc = -1;
        else
            tsr_call_reply(call, &out.base);
        PQclear(today);
    }
    free(items);
    free(item_ptrs);
    free(flag_items);
    free(flag_ptrs);
    records_listed_free(&listed);
    PQclear(flags);
    PQclear(res);
    return rc;
}
