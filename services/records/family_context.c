#include "family_context.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "people.h"
#include "records.pb-c.h"
#include "tsr_envelope.h"
#include "tsr_log.h"
#include "tsr_nhs.h"
#include "tsr_text.h"

/* ------------------------------------------------------------------------------------------------
 * Configuration: the journey, the search modes and the age rules
 * ---------------------------------------------------------------------------------------------- */

/* The sources, ours first. Adult social care is both: our own allocations and involvements, and
 * another system's file; one age rule covers both. */
typedef struct {
    const char *key;
    const char *title;
    int external;
} fc_source_def_t;

static const fc_source_def_t fc_sources[] = {
    {"childrens-social-care", "Children's social care", 0},
    {"early-help", "Early help", 0},
    {"adult-social-care", "Adult social care (this system)", 0},
    {"school", "School", 1},
    {"housing", "Housing", 1},
    {"police", "Police", 1},
    {"adult-social-care", "Adult social care (other system)", 1},
};
#define FC_SOURCES (sizeof(fc_sources) / sizeof(fc_sources[0]))

static const char *const fc_rule_keys[] = {
    "childrens-social-care", "early-help", "adult-social-care", "school", "housing", "police"};
#define FC_RULES (sizeof(fc_rule_keys) / sizeof(fc_rule_keys[0]))

/* The defaults of issue 9: police 18 and over, housing 16 and over, adult social care 15 and over,
 * school 4 to 20. A deployment's age_rules name the sources it changes ("housing:-" lifts one). */
#define FC_DEFAULT_AGE_RULES "police:18-,housing:16-,adult-social-care:15-,school:4-20"

static struct {
    int linked;     /* journey = linked-individuals */
    int by_name;    /* search_modes allows name and date of birth */
    int by_case_id; /* search_modes allows case ID */
    int min_age[FC_RULES];
    int max_age[FC_RULES];
} fc = {0, 1, 1, {-1, -1, -1, -1, -1, -1}, {-1, -1, -1, -1, -1, -1}};

static int fc__rule_index(const char *key)
{
    for (size_t i = 0; i < FC_RULES; i++)
        if (strcmp(fc_rule_keys[i], key) == 0)
            return (int)i;
    return -1;
}

/* An age bound: "" for none, else 0 to 150. */
static int fc__age_bound(const char *text, int *out)
{
    if (*text == '\0') {
        *out = -1;
        return 0;
    }
    if (strspn(text, "0123456789") != strlen(text) || strlen(text) > 3 || atoi(text) > 150)
        return -1;
    *out = atoi(text);
    return 0;
}

/* Applies "key:MIN-MAX,..." over the rules held. */
static int fc__parse_age_rules(const char *text, tsr_error_t *err)
{
    char *copy = strdup(text), *save = NULL;
    if (copy == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    int rc = 0;
    for (char *item = strtok_r(copy, ",", &save); item != NULL && rc == 0;
         item = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*item))
            item++;
        size_t len = strlen(item);
        while (len > 0 && isspace((unsigned char)item[len - 1]))
            item[--len] = '\0';
        if (len == 0)
            continue;
        char *colon = strchr(item, ':');
        char *dash = colon ? strchr(colon + 1, '-') : NULL;
        if (colon == NULL || dash == NULL) {
            rc = tsr_error_set(err, TSR_E_INVALID, "bad_config", "family_context.age_rules",
                               "family_context.age_rules: \"%s\" is not SOURCE:MIN-MAX (e.g. police:18- or "
                               "school:4-20).",
                               item);
            break;
        }
        *colon = '\0';
        *dash = '\0';
        int index = fc__rule_index(item), min, max;
        if (index < 0) {
            rc = tsr_error_set(
                err, TSR_E_INVALID, "bad_config", "family_context.age_rules",
                "family_context.age_rules: \"%s\" is not a source; the sources are "
                "childrens-social-care, early-help, adult-social-care, school, housing and police.",
                item);
        } else if (fc__age_bound(colon + 1, &min) != 0 || fc__age_bound(dash + 1, &max) != 0 ||
                   (min >= 0 && max >= 0 && min > max)) {
            rc = tsr_error_set(err, TSR_E_INVALID, "bad_config", "family_context.age_rules",
                               "family_context.age_rules: the ages of %s must be whole years from 0 to 150, "
                               "the lower first (e.g. school:4-20).",
                               item);
        } else {
            fc.min_age[index] = min;
            fc.max_age[index] = max;
        }
    }
    free(copy);
    return rc;
}

int records_family_context_configure(const tsr_config_t *config, tsr_error_t *err)
{
    const char *journey = tsr_config_get(config, "family_context.journey", "any-individual");
    if (strcmp(journey, "any-individual") != 0 && strcmp(journey, "linked-individuals") != 0)
        return tsr_error_set(
            err, TSR_E_INVALID, "bad_config", "family_context.journey",
            "family_context.journey must be any-individual (search for any relevant "
            "individual) or linked-individuals (a child on the worker's caseload and the individuals "
            "linked to the child in records), not \"%s\".",
            journey);
    fc.linked = strcmp(journey, "linked-individuals") == 0;
    const char *modes = tsr_config_get(config, "family_context.search_modes", "either");
    if (strcmp(modes, "name-and-dob") != 0 && strcmp(modes, "case-id") != 0 && strcmp(modes, "either") != 0)
        return tsr_error_set(err, TSR_E_INVALID, "bad_config", "family_context.search_modes",
                             "family_context.search_modes must be name-and-dob, case-id or either, not "
                             "\"%s\".",
                             modes);
    fc.by_name = strcmp(modes, "case-id") != 0;
    fc.by_case_id = strcmp(modes, "name-and-dob") != 0;
    for (size_t i = 0; i < FC_RULES; i++)
        fc.min_age[i] = fc.max_age[i] = -1;
    if (fc__parse_age_rules(FC_DEFAULT_AGE_RULES, err) != 0)
        return -1;
    return fc__parse_age_rules(tsr_config_get(config, "family_context.age_rules", ""), err);
}

static const char *fc__journey(void)
{
    return fc.linked ? "linked-individuals" : "any-individual";
}

/* ------------------------------------------------------------------------------------------------
 * People as Family Context shows them
 * ---------------------------------------------------------------------------------------------- */

/* A child on the searching worker's caseload (seed 004: "search for any child on their case load"):
 * allocated in children's social care or early help to them, to one of their teams, or to a worker
 * or team they manage; or with an open involvement there held by them or one of their teams. The
 * worker is $1 and their teams $2, as for the access rule. */
#define FC_CASELOAD(a)                                                                                       \
    "(EXISTS (SELECT 1 FROM allocations ca WHERE ca.person_id = " a ".id AND ca.end_date IS NULL"            \
    "         AND ca.service IN ('CSSW', 'EH')"                                                              \
    "         AND (ca.worker_id = $1::bigint OR ca.team_id = ANY ($2::bigint[])"                             \
    "              OR ca.worker_id IN (SELECT m.id FROM workers m WHERE m.manager_id = $1::bigint)"          \
    "              OR ca.team_id = ANY (SELECT unnest(k.managed_team_ids) FROM workers k"                    \
    "                                   WHERE k.id = $1::bigint)))"                                          \
    " OR EXISTS (SELECT 1 FROM involvements ci WHERE ci.person_id = " a ".id"                                \
    "         AND (ci.end_date IS NULL OR ci.end_date >= current_date) AND ci.service IN ('CSSW', 'EH')"     \
    "         AND (ci.worker_id = $1::bigint OR ci.team_id = ANY ($2::bigint[]))))"

/* Columns 0-11 of a person row (aliased p); the access expression takes $1-$3. */
#define FC_PERSON_COLUMNS                                                                                    \
    "p.id, p.given_name, p.family_name, coalesce(p.date_of_birth::text, ''), p.gender,"                      \
    " coalesce(p.nhs_number, ''), " RECORDS_PERSON_DISPLAY ","                                               \
    " EXISTS (SELECT 1 FROM restrictions rr WHERE rr.person_id = p.id), %s,"                                 \
    " coalesce(date_part('year', age(current_date, p.date_of_birth))::int, -1), " FC_CASELOAD(               \
        "p") ", p.unborn"

typedef struct {
    Tsr__Records__Person person;
    Tsr__Records__PersonName name;
    int full;
    int age; /* whole years today; -1 unknown */
    int on_caseload;
} fc_person_t;

static void fc__person_from_row(const PGresult *res, int row, fc_person_t *out)
{
    memset(out, 0, sizeof(*out));
    Tsr__Records__Person *p = &out->person;
    tsr__records__person__init(p);
    tsr__records__person_name__init(&out->name);
    p->id = strtoull(PQgetvalue(res, row, 0), NULL, 10);
    p->display_name = PQgetvalue(res, row, 6);
    p->restricted = strcmp(PQgetvalue(res, row, 7), "t") == 0;
    out->full = strcmp(PQgetvalue(res, row, 8), "t") == 0;
    out->age = atoi(PQgetvalue(res, row, 9));
    out->on_caseload = strcmp(PQgetvalue(res, row, 10), "t") == 0;
    p->unborn = strcmp(PQgetvalue(res, row, 11), "t") == 0;
    if (!out->full) {
        /* Name only: nothing else of a restricted record leaves this daemon. */
        p->name_only = 1;
        return;
    }
    out->name.given = PQgetvalue(res, row, 1);
    out->name.family = PQgetvalue(res, row, 2);
    p->legal_name = &out->name;
    p->date_of_birth = PQgetvalue(res, row, 3);
    p->gender = PQgetvalue(res, row, 4);
    p->nhs_number = PQgetvalue(res, row, 5);
}

/* Runs "SELECT FC_PERSON_COLUMNS<extra> FROM <from>" with the access parameters as $1-$3 and the
 * caller's parameters after them. */
static PGresult *fc__people(tsr_call_t *call, const char *extra, const char *from, int n,
                            const char *const *more, tsr_error_t *err)
{
    char worker[32], teams[1024];
    const char *override;
    records_access_params(call, worker, teams, sizeof(teams), &override);
    const char *params[8] = {worker, teams, override};
    for (int i = 0; i < n && i < 5; i++)
        params[3 + i] = more[i];
    char columns[4096], sql[16384];
    snprintf(columns, sizeof(columns), FC_PERSON_COLUMNS, records_access_sql);
    snprintf(sql, sizeof(sql), "SELECT %s%s FROM %s", columns, extra, from);
    return tsr_db_exec(call->conn, sql, 3 + (n < 5 ? n : 5), params, err);
}

/* ------------------------------------------------------------------------------------------------
 * Service involvement, source by source
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    PGresult *meta, *own, *ext;
    Tsr__Records__FamilyContextSource sources[FC_SOURCES];
    Tsr__Records__FamilyContextSource *source_ptrs[FC_SOURCES];
    Tsr__Records__FamilyContextRecord *records;
    Tsr__Records__FamilyContextRecord **record_ptrs;
} fc_view_t;

static void fc__view_release(fc_view_t *v)
{
    PQclear(v->own);
    PQclear(v->ext);
    free(v->records);
    free(v->record_ptrs);
    v->own = v->ext = NULL;
    v->records = NULL;
    v->record_ptrs = NULL;
}

/* The external sources' contacts, last load and coverage: once per call. */
static PGresult *fc__load_meta(tsr_call_t *call, tsr_error_t *err)
{
    return tsr_db_exec(
        call->conn,
        "SELECT key, contact_name, contact_role, contact_telephone, contact_email,"
        " coalesce(to_char(last_synchronised AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
        " ''), coalesce(coverage_from::text, ''), coalesce(coverage_to::text, '') FROM fc_sources",
        0, NULL, err);
}

/* Our own rows: source, title, detail, start, end, age of the record (-1: ours carry none). */
static const char fc_own_sql[] =
    "SELECT CASE a.service WHEN 'CSSW' THEN 'childrens-social-care' WHEN 'EH' THEN 'early-help'"
    "       ELSE 'adult-social-care' END,"
    " CASE a.role WHEN 'key-worker' THEN 'Allocated key worker' ELSE 'Allocated team' END,"
    " CASE WHEN a.worker_id IS NULL"
    "      THEN coalesce((SELECT t.name FROM teams t WHERE t.id = a.team_id), 'Team ' || a.team_id)"
    "      ELSE coalesce((SELECT nullif(w.name, '') FROM workers w WHERE w.id = a.worker_id),"
    "                    'Worker ' || a.worker_id)"
    "           || coalesce(' (' || (SELECT t.name FROM teams t WHERE t.id = a.team_id) || ')', '') END,"
    " a.start_date::text, coalesce(a.end_date::text, ''), 'records', -1"
    " FROM allocations a WHERE a.person_id = $1::bigint"
    " UNION ALL"
    " SELECT CASE v.service WHEN 'CSSW' THEN 'childrens-social-care' WHEN 'EH' THEN 'early-help'"
    "       ELSE 'adult-social-care' END,"
    " initcap(replace(v.kind, '-', ' ')),"
    " btrim(coalesce((SELECT 'Team ' || t.name FROM teams t WHERE t.id = v.team_id), '') || ' ' || v.note),"
    " v.start_date::text, coalesce(v.end_date::text, ''), 'records', -1"
    " FROM involvements v WHERE v.person_id = $1::bigint"
    " ORDER BY 1, 4 DESC";

/* A name-and-date-of-birth row (r) is tied to the person only when no one else in records has that
 * name and date of birth: with two (two people, or a duplicate not yet merged) which one it is would
 * be a guess, and it is tied to neither. Nothing says so to the worker, as that would tell them that
 * someone, perhaps a restricted record they may not see, shares this person's name and date of birth. */
#define FC_NAME_AND_BIRTH_ONLY_THEIRS(id, dob)                                                               \
    "NOT EXISTS (SELECT 1 FROM people o WHERE o.date_of_birth = " dob " AND o.id <> " id                     \
    " AND o.merged_into IS NULL AND fc_name_key(o.given_name, o.family_name) = r.name_key)"
#define FC_ONLY_THEIRS_VIEWED FC_NAME_AND_BIRTH_ONLY_THEIRS("$1::bigint", "$5::date")
#define FC_ONLY_THEIRS_FOUND FC_NAME_AND_BIRTH_ONLY_THEIRS("c.id", "c.dob")

/* The other services' rows tied to the person. A row is tied by the strongest identifier it gives,
 * and by that one only: the case ID, else the NHS number, else the exact name and date of birth.
 * The person's identifiers come as parameters ($2 NHS number, $3 given, $4 family, $5 date of
 * birth; NULL when unknown), so that each branch is planned on its own index. */
static const char fc_ext_sql[] =
    "SELECT source, title, detail, coalesce(start_date::text, ''), coalesce(end_date::text, ''), matched_by,"
    " coalesce(date_part('year', age(current_date, date_of_birth))::int, -1)"
    " FROM (SELECT r.*, 'case-id' AS matched_by FROM fc_records r WHERE r.person_id = $1::bigint"
    "  UNION ALL SELECT r.*, 'nhs-number' FROM fc_records r"
    "   WHERE r.nhs_number = $2 AND r.person_id IS NULL"
    "  UNION ALL SELECT r.*, 'name-and-date-of-birth' FROM fc_records r"
    "   WHERE r.name_key = fc_name_key($3, $4) AND r.date_of_birth = $5::date AND r.person_id IS NULL"
    "     AND r.nhs_number IS NULL AND " FC_ONLY_THEIRS_VIEWED ") AS hits"
    " ORDER BY source, start_date DESC NULLS LAST, id";

/* Whether a source's age rule lets its rows be shown for a person of that age (-1 unknown). */
static int fc__outside_rule(int rule, int age)
{
    return (fc.min_age[rule] >= 0 && age < fc.min_age[rule]) ||
           (fc.max_age[rule] >= 0 && age > fc.max_age[rule]);
}

/* Whether a row may be shown: by the person's age when records has their date of birth, else by the
 * age the source's own date of birth for the row gives; with neither, not under a rule. */
static int fc__row_shown(int rule, int person_age, int row_age)
{
    int bounded = fc.min_age[rule] >= 0 || fc.max_age[rule] >= 0;
    int age = person_age >= 0 ? person_age : row_age;
    return !bounded || (age >= 0 && !fc__outside_rule(rule, age));
}

/* Fills the view's sources for the person, age rules applied. */
static int fc__view_load(tsr_call_t *call, PGresult *meta, const fc_person_t *person, fc_view_t *v,
                         tsr_error_t *err)
{
    memset(v, 0, sizeof(*v));
    v->meta = meta;
    char id[32];
    snprintf(id, sizeof(id), "%" PRIu64, person->person.id);
    const Tsr__Records__Person *p = &person->person;
    const char *params[5] = {id, p->nhs_number[0] ? p->nhs_number : NULL, person->name.given,
                             person->name.family, p->date_of_birth[0] ? p->date_of_birth : NULL};
    v->own = tsr_db_exec(call->conn, fc_own_sql, 1, params, err);
    if (v->own == NULL)
        return -1;
    v->ext = tsr_db_exec(call->conn, fc_ext_sql, 5, params, err);
    if (v->ext == NULL)
        return -1;
    int n_own = PQntuples(v->own), n_ext = PQntuples(v->ext);
    size_t total = (size_t)(n_own + n_ext) + 1;
    v->records = calloc(total, sizeof(*v->records));
    v->record_ptrs = calloc(total, sizeof(*v->record_ptrs));
    if (v->records == NULL || v->record_ptrs == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    size_t used = 0;
    for (size_t s = 0; s < FC_SOURCES; s++) {
        const fc_source_def_t *def = &fc_sources[s];
        Tsr__Records__FamilyContextSource *src = &v->sources[s];
        tsr__records__family_context_source__init(src);
        v->source_ptrs[s] = src;
        src->key = (char *)def->key;
        src->title = (char *)def->title;
        src->external = def->external;
        int rule = fc__rule_index(def->key);
        src->min_age = fc.min_age[rule];
        src->max_age = fc.max_age[rule];
        for (int m = 0; def->external && meta && m < PQntuples(meta); m++)
            if (strcmp(PQgetvalue(meta, m, 0), def->key) == 0) {
                src->contact_name = PQgetvalue(meta, m, 1);
                src->contact_role = PQgetvalue(meta, m, 2);
                src->contact_telephone = PQgetvalue(meta, m, 3);
                src->contact_email = PQgetvalue(meta, m, 4);
                src->last_synchronised = PQgetvalue(meta, m, 5);
                src->coverage_from = PQgetvalue(meta, m, 6);
                src->coverage_to = PQgetvalue(meta, m, 7);
            }
        int bounded = src->min_age >= 0 || src->max_age >= 0;
        int age = person->age;
        if (bounded && age >= 0 && fc__outside_rule(rule, age)) {
            /* Outside the rule: nothing of the source, not even whether it has anything. */
            src->withheld = "outside-age-rule";
            continue;
        }
        src->records = v->record_ptrs + used;
        PGresult *rows = def->external ? v->ext : v->own;
        for (int i = 0; i < PQntuples(rows); i++) {
            if (strcmp(PQgetvalue(rows, i, 0), def->key) != 0)
                continue;
            if (!fc__row_shown(rule, age, atoi(PQgetvalue(rows, i, 6))))
                continue;
            Tsr__Records__FamilyContextRecord *r = &v->records[used];
            tsr__records__family_context_record__init(r);
            r->title = PQgetvalue(rows, i, 1);
            r->detail = PQgetvalue(rows, i, 2);
            r->start_date = PQgetvalue(rows, i, 3);
            r->end_date = PQgetvalue(rows, i, 4);
            r->matched_by = PQgetvalue(rows, i, 5);
            v->record_ptrs[used++] = r;
            src->n_records++;
        }
        if (bounded && age < 0 && src->n_records == 0)
            src->withheld = "age-unknown";
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * Search
 * ---------------------------------------------------------------------------------------------- */

/* Which sources have something to show for each candidate shown in full (age rules applied), in
 * one query for the whole list ($1: [{i, id, nhs, given, family, dob}]), so that a search does not
 * cost a query per candidate. */
static const char fc_known_sql[] =
    "WITH c AS (SELECT * FROM jsonb_to_recordset($1::jsonb)"
    "           AS c(i int, id bigint, nhs char(10), given text, family text, dob date))"
    " SELECT c.i, x.source, x.age FROM c CROSS JOIN LATERAL ("
    "  SELECT r.source, coalesce(date_part('year', age(current_date, r.date_of_birth))::int, -1) AS age"
    "   FROM fc_records r WHERE r.person_id = c.id"
    "  UNION ALL SELECT r.source, coalesce(date_part('year', age(current_date, r.date_of_birth))::int, -1)"
    "   FROM fc_records r WHERE r.nhs_number = c.nhs AND r.person_id IS NULL"
    "  UNION ALL SELECT r.source, coalesce(date_part('year', age(current_date, r.date_of_birth))::int, -1)"
    "   FROM fc_records r WHERE r.name_key = fc_name_key(c.given, c.family) AND r.date_of_birth = c.dob"
    "     AND r.person_id IS NULL AND r.nhs_number IS NULL AND " FC_ONLY_THEIRS_FOUND ") AS x"
    " UNION ALL SELECT c.i, CASE a.service WHEN 'CSSW' THEN 'childrens-social-care' WHEN 'EH' THEN "
    "'early-help'"
    "  ELSE 'adult-social-care' END, -1 FROM c JOIN allocations a ON a.person_id = c.id"
    " UNION ALL SELECT c.i, CASE v.service WHEN 'CSSW' THEN 'childrens-social-care' WHEN 'EH' THEN "
    "'early-help'"
    "  ELSE 'adult-social-care' END, -1 FROM c JOIN involvements v ON v.person_id = c.id";

/* Fills each full candidate's known_to (room for FC_SOURCES each) with the keys of its sources. */
static int fc__known_to(tsr_call_t *call, const fc_person_t *people,
                        Tsr__Records__FamilyContextCandidate *cands, int rows, tsr_error_t *err)
{
    json_t *list = json_array();
    for (int i = 0; i < rows; i++) {
        if (!people[i].full)
            continue;
        const Tsr__Records__Person *p = &people[i].person;
        json_t *o = json_pack("{s:i, s:I, s:s, s:s}", "i", i, "id", (json_int_t)p->id, "given",
                              people[i].name.given, "family", people[i].name.family);
        json_object_set_new(o, "nhs", p->nhs_number[0] ? json_string(p->nhs_number) : json_null());
        json_object_set_new(o, "dob", p->date_of_birth[0] ? json_string(p->date_of_birth) : json_null());
        json_array_append_new(list, o);
    }
    if (json_array_size(list) == 0) {
        json_decref(list);
        return 0;
    }
    char *text = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    if (text == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    const char *params[1] = {text};
    PGresult *res = tsr_db_exec(call->conn, fc_known_sql, 1, params, err);
    free(text);
    if (res == NULL)
        return -1;
    for (int r = 0; r < PQntuples(res); r++) {
        int i = atoi(PQgetvalue(res, r, 0));
        const char *key = PQgetvalue(res, r, 1);
        if (i < 0 || i >= rows ||
            !fc__row_shown(fc__rule_index(key), people[i].age, atoi(PQgetvalue(res, r, 2))))
            continue;
        Tsr__Records__FamilyContextCandidate *c = &cands[i];
        int dup = 0;
        for (size_t k = 0; k < c->n_known_to && !dup; k++)
            dup = strcmp(c->known_to[k], key) == 0;
        for (size_t s = 0; !dup && s < FC_SOURCES; s++)
            if (strcmp(fc_sources[s].key, key) == 0) {
                c->known_to[c->n_known_to++] = (char *)fc_sources[s].key;
                break;
            }
    }
    PQclear(res);
    return 0;
}

static int fc__allowed_mode(int by_case_id, tsr_error_t *err)
{
    if (by_case_id && !fc.by_case_id)
        return tsr_error_set(err, TSR_E_INVALID, "search_mode_not_allowed", "case_id",
                             "This council searches Family Context by name and date of birth, not by case ID "
                             "(family_context.search_modes = name-and-dob).");
    if (!by_case_id && !fc.by_name)
        return tsr_error_set(err, TSR_E_INVALID, "search_mode_not_allowed", "name",
                             "This council searches Family Context by case ID, not by name and date of birth "
                             "(family_context.search_modes = case-id).");
    return 0;
}

/* Whether a row of a search's matches (u, with the part read nearest first as k, as far as $6) is
 * as far as the farthest read: names tied with it may not all have been read. */
#define FC_UNSURE "u.rank >= (SELECT max(rank) FROM k) AND (SELECT count(*) FROM k) >= $6::int AS unsure"

/* Candidates for a name (lower-case, trimmed) and maybe a date of birth: those born that day and
 * those with no date of birth recorded (found by name alone, a little below), nearest name first;
 * a page of page rows (one more than is shown, to know whether another follows) from the offset-th.
 * Each part reads its own index: the day's few people, or the undated ones' trigram index. Where
 * the planner would otherwise walk the whole population's trigram index (a thousand times slower
 * over a million people), the name is tested or ordered by the function rather than the operator. */
static PGresult *fc__search_name(tsr_call_t *call, const char *name, const char *dob, unsigned long page,
                                 unsigned long offset, tsr_error_t *err)
{
    const char *caseload = fc.linked ? " AND " FC_CASELOAD("p") : "";
    /* A person the worker sees by name only is found by that name alone, as in records.person.search:
     * not by their other names, and not at all when a date of birth is given (not even as one with
     * no date recorded), so that the answer is the same whether the date they cannot see is right
     * or wrong. Those few are read apart, off the restrictions and the worker's conflicts. */
    char from[12288];
    /* The part read nearest first (k) is read only as far as reach, and names tied with the
     * farthest read may be cut in two there, and elsewhere for another page: each row says whether
     * it is as far as that (unsure), and then more are read (below). */
    if (dob != NULL)
        snprintf(from, sizeof(from),
                 "(WITH k AS MATERIALIZED ("
                 "SELECT p.*, ($4 OPERATOR(public.<<->) p.search_names) + 0.2 AS rank FROM people p"
                 "  WHERE p.date_of_birth IS NULL AND p.merged_into IS NULL"
                 "    AND $4 OPERATOR(public.<%%) p.search_names AND %s%s"
                 "  ORDER BY 1 - public.word_similarity($4, p.search_names) LIMIT $6::int)"
                 " SELECT u.*, " FC_UNSURE " FROM ("
                 " SELECT p.*, $4 OPERATOR(public.<<->) p.search_names AS rank FROM people p"
                 "  WHERE p.date_of_birth = $5::date AND p.merged_into IS NULL"
                 "    AND public.word_similarity($4, p.search_names) >= 0.5 AND %s%s"
                 "  UNION ALL SELECT * FROM k) AS u) AS p"
                 " ORDER BY p.rank, p.family_name, p.given_name, p.id LIMIT $7::int OFFSET $8::int",
                 records_access_sql, caseload, records_access_sql, caseload);
    else
        snprintf(from, sizeof(from),
                 "(WITH k AS MATERIALIZED ("
                 "SELECT p.*, $4 OPERATOR(public.<<->) p.search_names AS rank FROM people p"
                 "  WHERE p.merged_into IS NULL AND $5::date IS NULL"
                 "    AND $4 OPERATOR(public.<%%) p.search_names AND %s%s"
                 "  ORDER BY $4 OPERATOR(public.<<->) p.search_names LIMIT $6::int)"
                 " SELECT u.*, " FC_UNSURE " FROM (SELECT * FROM k"
                 "  UNION ALL"
                 "  SELECT p.*, $4 OPERATOR(public.<<->) lower(" RECORDS_PERSON_DISPLAY ") FROM people p"
                 "  WHERE %s AND p.merged_into IS NULL"
                 "    AND $4 OPERATOR(public.<%%) lower(" RECORDS_PERSON_DISPLAY ") AND NOT %s%s) AS u) AS p"
                 " ORDER BY p.rank, p.family_name, p.given_name, p.id LIMIT $7::int OFFSET $8::int",
                 records_access_sql, caseload, records_access_maybe_name_only_sql, records_access_sql,
                 caseload);
    /* As records.person.search: 0.5 finds a letter or two wrong, and a missing part, without
     * flooding the list. A plan for these very name and date: a generic plan of the prepared
     * statement cannot tell a date's few people from a common name's thousands (measured: a
     * second instead of milliseconds over a million people). Both local to this transaction. */
    PGresult *res = tsr_db_exec(call->conn,
                                "SELECT set_config('pg_trgm.word_similarity_threshold', '0.5', true),"
                                " set_config('plan_cache_mode', 'force_custom_plan', true)",
                                0, NULL, err);
    if (res == NULL)
        return NULL;
    PQclear(res);
    /* Each part reads as far as the page's end: what comes before it is skipped in their order.
     * When the page reaches names tied with the farthest read, further, and at last all. */
    char reach[24], rows[24], skip[24];
    unsigned long far = offset + page;
    snprintf(rows, sizeof(rows), "%lu", page);
    snprintf(skip, sizeof(skip), "%lu", offset);
    for (int attempt = 0;; attempt++) {
        snprintf(reach, sizeof(reach), "%lu", far);
        const char *more[5] = {name, dob, attempt < 2 ? reach : NULL, rows, skip};
        res = fc__people(call, ", coalesce(p.unsure, false)", from, 5, more, err);
        if (res == NULL || attempt == 2)
            return res;
        int unsure = 0;
        for (int i = 0; i < PQntuples(res) && !unsure; i++)
            unsure = strcmp(PQgetvalue(res, i, 12), "t") == 0;
        if (!unsure)
            return res;
        PQclear(res);
        far *= 16;
    }
}

/* No current person has case ID id: a merged duplicate's id answers merged, naming the record it went
 * into, and a disposed-of record's record_disposed, as GET /people/{id} does; else not_found. */
static int fc__no_one(tsr_call_t *call, uint64_t id, const char *field, tsr_error_t *err)
{
    char display[256];
    if (records_person_display(call, id, display, sizeof(display), err) == 0 ||
        strcmp(err->code, "not_found") == 0)
        return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", field, "No one has case ID %" PRIu64 ".", id);
    if (field != NULL)
        snprintf(err->field, sizeof(err->field), "%s", field);
    return -1;
}

int records_family_context_search(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__FamilyContextSearch *in = (const Tsr__Records__FamilyContextSearch *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    int by_case_id = in->case_id != 0;
    char *name = tsr_text_trim_dup(in->name ? in->name : "");
    int rc = -1;
    PGresult *res = NULL;
    if (name == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    uint32_t limit = in->limit == 0 ? 20 : in->limit;
    if (by_case_id && (name[0] != '\0' || in->date_of_birth[0] != '\0')) {
        tsr_error_set(err, TSR_E_INVALID, "conflicting_search", "case_id",
                      "Search by case ID, or by name and date of birth, not both at once.");
        goto done;
    }
    if (fc__allowed_mode(by_case_id, err) != 0)
        goto done;
    if (limit > 100) {
        tsr_error_set(err, TSR_E_INVALID, "invalid_limit", "limit", "limit must be from 1 to 100.");
        goto done;
    }
    if (!by_case_id && name[0] == '\0') {
        tsr_error_set(err, TSR_E_INVALID, "missing_field", "name", "Enter a name to search for%s.",
                      fc.by_case_id ? ", or a case ID" : "");
        goto done;
    }
    if (tsr_text_length(name) > 200) {
        tsr_error_set(err, TSR_E_INVALID, "too_long", "name",
                      "A name to search for is 200 characters or fewer.");
        goto done;
    }
    if (in->date_of_birth[0] != '\0' && tsr_text_check_date(in->date_of_birth, 1, "dob", err) != 0)
        goto done;
    unsigned long offset = 0;
    if (tsr_text_cursor_offset(in->cursor, RECORDS_SEARCH_DEPTH, &offset, err) != 0)
        goto done;
    for (char *c = name; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    if (by_case_id) {
        char id[32];
        snprintf(id, sizeof(id), "%" PRIu64, in->case_id);
        const char *more[1] = {id};
        res =
            fc__people(call, "", "people p WHERE p.id = $4::bigint AND p.merged_into IS NULL", 1, more, err);
    } else {
        res = fc__search_name(call, name, in->date_of_birth[0] ? in->date_of_birth : NULL, limit + 1, offset,
                              err);
    }
    if (res == NULL)
        goto done;
    int rows = PQntuples(res);
    /* The row past the page (the last, in the order shown) says another page follows. */
    char next_cursor[24] = "";
    if (!by_case_id && rows > (int)limit) {
        rows = (int)limit;
        if (offset + limit < RECORDS_SEARCH_DEPTH)
            snprintf(next_cursor, sizeof(next_cursor), "%lu", offset + limit);
    }
    if (by_case_id && (rows == 0 || (fc.linked && strcmp(PQgetvalue(res, 0, 10), "t") != 0))) {
        if (rows == 0)
            fc__no_one(call, in->case_id, "case_id", err);
        else
            tsr_error_set(err, TSR_E_NOT_FOUND, "not_on_caseload", "case_id",
                          "Case ID %" PRIu64
                          " is not a child on your caseload: Family Context here starts from "
                          "a child allocated to you or your team in children's social care or early help.",
                          in->case_id);
        goto done;
    }
    size_t cap = (size_t)rows + 1;
    fc_person_t *people = calloc(cap, sizeof(*people));
    Tsr__Records__FamilyContextCandidate *cands = calloc(cap, sizeof(*cands));
    Tsr__Records__FamilyContextCandidate **cand_ptrs = calloc(cap, sizeof(*cand_ptrs));
    char **known = calloc(cap * FC_SOURCES, sizeof(char *));
    Tsr__Records__PersonAccessed *found = calloc(cap, sizeof(*found));
    Tsr__Records__PersonAccessed **found_ptrs = calloc(cap, sizeof(*found_ptrs));
    char(*summaries)[300] = calloc(cap, sizeof(*summaries));
    if (!people || !cands || !cand_ptrs || !known || !found || !found_ptrs || !summaries) {
        tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
        rows = 0;
    } else {
        rc = 0;
    }
    size_t n_found = 0;
    for (int i = 0; i < rows && rc == 0; i++) {
        fc__person_from_row(res, i, &people[i]);
        Tsr__Records__FamilyContextCandidate *c = &cands[i];
        tsr__records__family_context_candidate__init(c);
        c->person = &people[i].person;
        cand_ptrs[i] = c;
        if (!people[i].full)
            continue;
        c->date_of_birth_missing = people[i].person.date_of_birth[0] == '\0' && !people[i].person.unborn;
        c->known_to = known + (size_t)i * FC_SOURCES;
        tsr__records__person_accessed__init(&found[n_found]);
        found[n_found].person_id = people[i].person.id;
        found[n_found].display_name = people[i].person.display_name;
        found[n_found].action = "found";
        snprintf(summaries[n_found], sizeof(summaries[n_found]),
                 "Found person %s (%" PRIu64 ") in a Family Context search", people[i].person.display_name,
                 people[i].person.id);
        found[n_found].summary = summaries[n_found];
        found_ptrs[n_found] = &found[n_found];
        n_found++;
    }
    /* Which sources have something to show, so the worker can tell candidates apart. */
    if (rc == 0)
        rc = fc__known_to(call, people, cands, rows, err);
    if (rc == 0 && n_found > 0) {
        Tsr__Records__PeopleFound ev = TSR__RECORDS__PEOPLE_FOUND__INIT;
        ev.people = found_ptrs;
        ev.n_people = n_found;
        char terms[300];
        if (by_case_id)
            snprintf(terms, sizeof(terms), "Family Context case ID %" PRIu64, in->case_id);
        else
            snprintf(terms, sizeof(terms), "Family Context name '%.100s' date of birth '%.10s'", name,
                     in->date_of_birth);
        ev.terms = terms;
        rc = tsr_call_emit(call, "records.people.found", &ev.base, err);
    }
    if (rc == 0) {
        Tsr__Records__FamilyContextSearchReply reply = TSR__RECORDS__FAMILY_CONTEXT_SEARCH_REPLY__INIT;
        reply.match = by_case_id ? "direct" : "candidates";
        reply.journey = (char *)fc__journey();
        reply.items = cand_ptrs;
        reply.n_items = (size_t)rows;
        reply.next_cursor = next_cursor;
        tsr_call_reply(call, &reply.base);
    }
    free(people);
    free(cands);
    free(cand_ptrs);
    free(known);
    free(found);
    free(found_ptrs);
    free(summaries);
done:
    PQclear(res);
    free(name);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * A person's service involvement
 * ---------------------------------------------------------------------------------------------- */

/* Whether the person (p) is linked to a child on the worker's caseload: by a relationship, or as the
 * mother an unborn child is recorded against (mother_id, kept after the birth). */
/* clang-format off */
#define FC_LINKED_TO_CHILD                                                                                   \
    "(EXISTS (SELECT 1 FROM relationships lr JOIN people c ON c.id = lr.related_id"                          \
    "         WHERE lr.person_id = p.id AND c.merged_into IS NULL AND " FC_CASELOAD("c") ")"                 \
    " OR EXISTS (SELECT 1 FROM people c WHERE c.mother_id = p.id AND c.merged_into IS NULL"                  \
    "            AND " FC_CASELOAD("c") "))"
/* clang-format on */

int records_family_context_get(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__FamilyContextGet *in = (const Tsr__Records__FamilyContextGet *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    char id[32];
    snprintf(id, sizeof(id), "%" PRIu64, in->person_id);
    const char *more[1] = {id};
    PGresult *res = fc__people(call, ", " FC_LINKED_TO_CHILD,
                               "people p WHERE p.id = $4::bigint AND p.merged_into IS NULL", 1, more, err);
    if (res == NULL)
        return -1;
    PGresult *meta = NULL, *linked = NULL;
    fc_view_t view;
    memset(&view, 0, sizeof(view));
    Tsr__Records__FamilyContextLinked *links = NULL, **link_ptrs = NULL;
    fc_person_t *linked_people = NULL;
    int rc = -1;
    if (PQntuples(res) == 0) {
        fc__no_one(call, in->person_id, NULL, err);
        goto done;
    }
    fc_person_t person;
    fc__person_from_row(res, 0, &person);
    int linked_to_child = strcmp(PQgetvalue(res, 0, 12), "t") == 0;
    if (fc.linked && !person.on_caseload && !linked_to_child) {
        tsr_error_set(
            err, TSR_E_FORBIDDEN, "not_linked", NULL,
            "%s is neither a child on your caseload nor linked to one in records. To see their service "
            "involvement, link them to the child in records first.",
            person.person.display_name);
        goto done;
    }
    if (!person.full) {
        rc = records_person_refuse(call, in->person_id, person.person.display_name, "Family Context view",
                                   err);
        goto done;
    }
    meta = fc__load_meta(call, err);
    if (meta == NULL || fc__view_load(call, meta, &person, &view, err) != 0)
        goto done;
    Tsr__Records__FamilyContextPerson out = TSR__RECORDS__FAMILY_CONTEXT_PERSON__INIT;
    out.person = &person.person;
    out.date_of_birth_missing = person.person.date_of_birth[0] == '\0' && !person.person.unborn;
    out.journey = (char *)fc__journey();
    out.on_caseload = person.on_caseload;
    out.sources = view.source_ptrs;
    out.n_sources = FC_SOURCES;
    if (fc.linked && person.on_caseload) {
        /* The child's links as records holds them now: a link made a moment ago is here. An
         * unborn child is recorded against the mother (mother_id), a link too, and stays so after
         * the birth: she is among them as the mother of the unborn child, or a parent, unless a
         * relationship already links the two. */
        linked = fc__people(
            call, ", lr.type",
            "(SELECT l.related_id AS id, l.type FROM relationships l WHERE l.person_id = $4::bigint"
            "  UNION ALL SELECT c.mother_id, CASE WHEN c.unborn THEN 'mother-of-unborn'"
            "   ELSE 'parent' END FROM people c WHERE c.id = $4::bigint AND c.mother_id IS NOT NULL"
            "   AND NOT EXISTS (SELECT 1 FROM relationships x WHERE x.person_id = c.id"
            "                   AND x.related_id = c.mother_id)) AS lr"
            " JOIN people p ON p.id = lr.id WHERE p.merged_into IS NULL"
            " ORDER BY lr.type, p.family_name, p.given_name, p.id",
            1, more, err);
        if (linked == NULL)
            goto done;
        int n = PQntuples(linked);
        links = calloc((size_t)n + 1, sizeof(*links));
        link_ptrs = calloc((size_t)n + 1, sizeof(*link_ptrs));
        linked_people = calloc((size_t)n + 1, sizeof(*linked_people));
        if (!links || !link_ptrs || !linked_people) {
            tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
            goto done;
        }
        /* Each linked individual shown in full (name, date of birth, NHS number) is a read of their
         * record, as a search's candidates are: one event names them all. */
        records_listed_t listed;
        if (records_listed_init(&listed, (size_t)n, err) != 0)
            goto done;
        for (int i = 0; i < n; i++) {
            fc__person_from_row(linked, i, &linked_people[i]);
            tsr__records__family_context_linked__init(&links[i]);
            links[i].person = &linked_people[i].person;
            links[i].relationship = PQgetvalue(linked, i, 12);
            link_ptrs[i] = &links[i];
            if (linked_people[i].full)
                records_listed_add(&listed, linked_people[i].person.id, linked_people[i].person.display_name,
                                   "found",
                                   "Shown %s (%" PRIu64 ") in Family Context as linked to %s (%" PRIu64 ")",
                                   linked_people[i].person.display_name, linked_people[i].person.id,
                                   person.person.display_name, in->person_id);
        }
        char terms[300];
        snprintf(terms, sizeof(terms), "Family Context individuals linked to %s (%" PRIu64 ")",
                 person.person.display_name, in->person_id);
        int listed_rc = records_listed_emit(call, &listed, "records.people.found", terms, err);
        records_listed_free(&listed);
        if (listed_rc != 0)
            goto done;
        out.linked = link_ptrs;
        out.n_linked = (size_t)n;
    }
    char summary[400];
    snprintf(summary, sizeof(summary), "Viewed the Family Context service involvement of %s (%" PRIu64 ")",
             person.person.display_name, in->person_id);
    rc = records_person_audit(call, in->person_id, person.person.display_name, "viewed", summary, err);
    if (rc == 0)
        tsr_call_reply(call, &out.base);
done:
    fc__view_release(&view);
    free(links);
    free(link_ptrs);
    free(linked_people);
    PQclear(linked);
    PQclear(meta);
    PQclear(res);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * Loading a source's batch file
 * ---------------------------------------------------------------------------------------------- */

static const char *const fc_loaders[] = {"admin", "system-support", "business-information-admin", "system",
                                         NULL};

#define FC_FAULTS_MAX 1000

typedef struct {
    char **items;
    size_t n, more;
} fc_faults_t;

static void fc__fault(fc_faults_t *f, unsigned line, const char *fmt, const char *what)
{
    if (f->n == FC_FAULTS_MAX) {
        f->more++;
        return;
    }
    char text[400], message[360];
    snprintf(message, sizeof(message), fmt, what);
    if (line > 0)
        snprintf(text, sizeof(text), "line %u: %s", line, message);
    else
        snprintf(text, sizeof(text), "%s", message);
    f->items[f->n] = strdup(text);
    if (f->items[f->n] != NULL)
        f->n++;
}

/* Faults of the whole file first, then by line. */
static int fc__fault_order(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    unsigned long lx = strncmp(x, "line ", 5) == 0 ? strtoul(x + 5, NULL, 10) : 0;
    unsigned long ly = strncmp(y, "line ", 5) == 0 ? strtoul(y + 5, NULL, 10) : 0;
    return lx < ly ? -1 : lx > ly ? 1 : 0;
}

/* A date field of a row: "" or a real YYYY-MM-DD. */
static int fc__date_ok(const char *text, int not_future)
{
    tsr_error_t ignored;
    return text[0] == '\0' || tsr_text_check_date(text, not_future, "date", &ignored) == 0;
}

/* Checks a row; appends its faults and, when good, its JSON for the load. */
static void fc__check_row(const Tsr__Records__FamilyContextImportRow *row, fc_faults_t *faults, json_t *out)
{
    size_t before = faults->n + faults->more;
    unsigned line = row->line;
    char nhs[11] = "";
    uint64_t case_id = 0;
    if (row->case_id[0] != '\0') {
        char *end = NULL;
        case_id = strtoull(row->case_id, &end, 10);
        if (strspn(row->case_id, "0123456789") != strlen(row->case_id) || strlen(row->case_id) > 18 ||
            case_id == 0)
            fc__fault(faults, line, "the case ID '%.40s' is not a person id (digits only)", row->case_id);
    }
    if (row->nhs_number[0] != '\0') {
        tsr_error_t e;
        if (tsr_nhs_number_normalise(row->nhs_number, nhs, "nhs_number", &e) != 0)
            fc__fault(faults, line, "the NHS number '%.40s' is not a valid NHS number", row->nhs_number);
    }
    int named = tsr_text_trimmed_length(row->given_name) > 0 && tsr_text_trimmed_length(row->family_name) > 0;
    if (row->case_id[0] == '\0' && row->nhs_number[0] == '\0' && (!named || row->date_of_birth[0] == '\0'))
        fc__fault(
            faults, line, "%s",
            "the row names no one: give the case ID, the NHS number, or the given name, family name and "
            "date of birth");
    if (tsr_text_length(row->given_name) > 100 || tsr_text_length(row->family_name) > 100)
        fc__fault(faults, line, "%s", "a name is longer than 100 characters");
    if (!fc__date_ok(row->date_of_birth, 1))
        fc__fault(faults, line, "the date of birth '%.40s' is not a past date as YYYY-MM-DD",
                  row->date_of_birth);
    if (tsr_text_trimmed_length(row->title) == 0)
        fc__fault(faults, line, "%s", "the title (what the record is) is empty");
    else if (tsr_text_length(row->title) > 200)
        fc__fault(faults, line, "%s", "the title is longer than 200 characters");
    if (tsr_text_length(row->detail) > 2000)
        fc__fault(faults, line, "%s", "the detail is longer than 2000 characters");
    if (tsr_text_has_control(row->title, 0) || tsr_text_has_control(row->detail, 1) ||
        tsr_text_has_control(row->given_name, 0) || tsr_text_has_control(row->family_name, 0))
        fc__fault(faults, line, "%s", "a field has control characters");
    if (!fc__date_ok(row->start_date, 0))
        fc__fault(faults, line, "the start date '%.40s' is not a date as YYYY-MM-DD", row->start_date);
    if (!fc__date_ok(row->end_date, 0))
        fc__fault(faults, line, "the end date '%.40s' is not a date as YYYY-MM-DD", row->end_date);
    else if (row->start_date[0] && row->end_date[0] && strcmp(row->end_date, row->start_date) < 0)
        fc__fault(faults, line, "the end date %.10s is before the start date", row->end_date);
    if (faults->n + faults->more != before)
        return;
    json_t *o = json_pack("{s:i, s:s, s:s, s:s, s:s}", "line", (json_int_t)line, "given", row->given_name,
                          "family", row->family_name, "title", row->title, "detail", row->detail);
    json_object_set_new(o, "person_id", case_id ? json_integer((json_int_t)case_id) : json_null());
    json_object_set_new(o, "nhs_number", nhs[0] ? json_string(nhs) : json_null());
    json_object_set_new(o, "date_of_birth",
                        row->date_of_birth[0] ? json_string(row->date_of_birth) : json_null());
    json_object_set_new(o, "start_date", row->start_date[0] ? json_string(row->start_date) : json_null());
    json_object_set_new(o, "end_date", row->end_date[0] ? json_string(row->end_date) : json_null());
    json_array_append_new(out, o);
}

/* The source's contact and coverage; faults appended. */
static void fc__check_source(const Tsr__Records__FamilyContextImport *in, int known, fc_faults_t *faults)
{
    if (in->coverage_from[0] == '\0' || in->coverage_to[0] == '\0')
        fc__fault(faults, 0, "%s", "give the dates the file covers (--coverage-from and --coverage-to)");
    else if (!fc__date_ok(in->coverage_from, 0) || !fc__date_ok(in->coverage_to, 0) ||
             strcmp(in->coverage_to, in->coverage_from) < 0)
        fc__fault(faults, 0, "%s", "the coverage dates must be YYYY-MM-DD, the start first");
    int contact =
        in->contact_name[0] || in->contact_role[0] || in->contact_telephone[0] || in->contact_email[0];
    if (!known || contact) {
        if (tsr_text_trimmed_length(in->contact_name) == 0 || tsr_text_trimmed_length(in->contact_role) == 0)
            fc__fault(
                faults, 0, "%s",
                "give the source's contact: --contact-name and --contact-role, with --contact-telephone "
                "and --contact-email");
        if (in->contact_telephone[0] && !tsr_text_is_telephone(in->contact_telephone))
            fc__fault(faults, 0, "the contact telephone '%.40s' is not a telephone number",
                      in->contact_telephone);
        if (in->contact_email[0] && !tsr_text_is_email(in->contact_email))
            fc__fault(faults, 0, "the contact e-mail '%.80s' is not an e-mail address", in->contact_email);
        if (in->contact_telephone[0] == '\0' && in->contact_email[0] == '\0')
            fc__fault(faults, 0, "%s", "give the contact's telephone or e-mail (or both)");
    }
}

/* The record each row's case ID now is (table r, with person_id): itself, or the record a duplicate
 * was merged into, following a merge of that one in turn (now_is.id where merged_into IS NULL). */
#define FC_CASE_ID_NOW_IS                                                                                    \
    "now_is(asked, id, merged_into) AS (SELECT p.id, p.id, p.merged_into FROM people p"                      \
    "   WHERE p.id IN (SELECT person_id FROM r)"                                                             \
    "  UNION ALL SELECT n.asked, p.id, p.merged_into FROM now_is n JOIN people p ON p.id = n.merged_into)"

/* Rows whose case ID is no one's: each a fault. A merged duplicate's case ID is the record it went
 * into, as it is everywhere else (the load ties the row to that one): each a note, so that the source
 * gives that id next time. */
static int fc__check_case_ids(tsr_call_t *call, json_t *rows, fc_faults_t *faults, fc_faults_t *notes,
                              tsr_error_t *err)
{
    char *text = json_dumps(rows, JSON_COMPACT);
    if (text == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    const char *params[1] = {text};
    PGresult *res =
        tsr_db_exec(call->conn,
                    "WITH RECURSIVE r AS (SELECT * FROM jsonb_to_recordset($1::jsonb)"
                    "  AS r(line int, person_id bigint) WHERE person_id IS NOT NULL), " FC_CASE_ID_NOW_IS
                    " SELECT r.line, r.person_id, coalesce(n.id::text, '') FROM r"
                    " LEFT JOIN now_is n ON n.asked = r.person_id AND n.merged_into IS NULL"
                    " WHERE n.id IS DISTINCT FROM r.person_id ORDER BY r.line",
                    1, params, err);
    free(text);
    if (res == NULL)
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        char what[200];
        const char *now_is = PQgetvalue(res, i, 2);
        if (now_is[0]) {
            snprintf(what, sizeof(what),
                     "the case ID %s is a duplicate merged into %s: the row is tied to %s; give %s next time",
                     PQgetvalue(res, i, 1), now_is, now_is, now_is);
            fc__fault(notes, (unsigned)atoi(PQgetvalue(res, i, 0)), "%s", what);
        } else {
            snprintf(what, sizeof(what), "the case ID %s is no one's in records", PQgetvalue(res, i, 1));
            fc__fault(faults, (unsigned)atoi(PQgetvalue(res, i, 0)), "%s", what);
        }
    }
    PQclear(res);
    return 0;
}

int records_family_context_import(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__FamilyContextImport *in = (const Tsr__Records__FamilyContextImport *)call->payload;
    if (tsr_actor_require_role(call->actor, fc_loaders, "load Family Context sources", err) != 0)
        return -1;
    if (strcmp(in->source, "school") != 0 && strcmp(in->source, "housing") != 0 &&
        strcmp(in->source, "police") != 0 && strcmp(in->source, "adult-social-care") != 0)
        return tsr_error_set(
            err, TSR_E_INVALID, "unknown_source", "source",
            "'%s' is not a Family Context source; the sources fed by file are school, housing, "
            "police and adult-social-care.",
            in->source);
    const char *key[1] = {in->source};
    PGresult *res = tsr_db_exec(call->conn, "SELECT 1 FROM fc_sources WHERE key = $1", 1, key, err);
    if (res == NULL)
        return -1;
    int known = PQntuples(res) > 0;
    PQclear(res);
    fc_faults_t faults = {calloc(FC_FAULTS_MAX + 1, sizeof(char *)), 0, 0};
    fc_faults_t notes = {calloc(FC_FAULTS_MAX + 1, sizeof(char *)), 0, 0};
    json_t *rows = json_array();
    int rc = -1;
    if (faults.items == NULL || notes.items == NULL || rows == NULL) {
        tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
        goto done;
    }
    fc__check_source(in, known, &faults);
    if (in->n_rows == 0)
        fc__fault(&faults, 0, "%s",
                  "the file has no rows: a source is replaced by its whole file, never emptied");
    for (size_t i = 0; i < in->n_rows; i++)
        fc__check_row(in->rows[i], &faults, rows);
    if (fc__check_case_ids(call, rows, &faults, &notes, err) != 0)
        goto done;
    Tsr__Records__FamilyContextImportResult result = TSR__RECORDS__FAMILY_CONTEXT_IMPORT_RESULT__INIT;
    if (faults.n + faults.more > 0) {
        /* Nothing is written: the reply names every fault in the file's order, and the source keeps
         * its data. */
        qsort(faults.items, faults.n, sizeof(char *), fc__fault_order);
        char more[80];
        snprintf(more, sizeof(more), "and %zu more faults", faults.more);
        if (faults.more > 0 && (faults.items[faults.n] = strdup(more)) != NULL)
            faults.n++;
        result.faults = faults.items;
        result.n_faults = faults.n;
        tsr_call_reply(call, &result.base);
        rc = 0;
        goto done;
    }
    char by[32];
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    const char *src_params[9] = {in->source,
                                 in->contact_name,
                                 in->contact_role,
                                 in->contact_telephone,
                                 in->contact_email,
                                 in->coverage_from,
                                 in->coverage_to,
                                 in->file,
                                 by};
    res = tsr_db_exec(
        call->conn,
        "INSERT INTO fc_sources AS s (key, contact_name, contact_role, contact_telephone, contact_email,"
        " last_synchronised, coverage_from, coverage_to, file, loaded_by)"
        " VALUES ($1, $2, $3, $4, $5, now(), $6::date, $7::date, $8, $9::bigint)"
        " ON CONFLICT (key) DO UPDATE SET last_synchronised = now(), coverage_from = $6::date,"
        " coverage_to = $7::date, file = $8, loaded_by = $9::bigint,"
        " contact_name = CASE WHEN $2 = '' THEN s.contact_name ELSE $2 END,"
        " contact_role = CASE WHEN $2 = '' THEN s.contact_role ELSE $3 END,"
        " contact_telephone = CASE WHEN $2 = '' THEN s.contact_telephone ELSE $4 END,"
        " contact_email = CASE WHEN $2 = '' THEN s.contact_email ELSE $5 END",
        9, src_params, err);
    if (res == NULL)
        goto done;
    PQclear(res);
    res = tsr_db_exec(call->conn, "DELETE FROM fc_records WHERE source = $1", 1, key, err);
    if (res == NULL)
        goto done;
    result.replaced = (uint32_t)strtoul(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    char *text = json_dumps(rows, JSON_COMPACT);
    const char *load_params[2] = {in->source, text};
    res = tsr_db_exec(
        call->conn,
        "WITH RECURSIVE r AS (SELECT * FROM jsonb_to_recordset($2::jsonb) AS r(line int, person_id bigint,"
        " nhs_number text, given text, family text, date_of_birth date, title text, detail text,"
        " start_date date, end_date date)), " FC_CASE_ID_NOW_IS
        " INSERT INTO fc_records (source, line, person_id, nhs_number, name_key, date_of_birth, title,"
        " detail, start_date, end_date)"
        " SELECT $1, r.line, coalesce(n.id, r.person_id), r.nhs_number, fc_name_key(r.given, r.family),"
        " r.date_of_birth, btrim(r.title), r.detail, r.start_date, r.end_date"
        " FROM r LEFT JOIN now_is n ON n.asked = r.person_id AND n.merged_into IS NULL",
        2, load_params, err);
    free(text);
    if (res == NULL)
        goto done;
    result.loaded = (uint32_t)strtoul(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    tsr_log_info(NULL, "family context: loaded %u %s records from %s (replacing %u)", result.loaded,
                 in->source, in->file, result.replaced);
    char more_notes[80];
    snprintf(more_notes, sizeof(more_notes), "and %zu more notes", notes.more);
    if (notes.more > 0 && (notes.items[notes.n] = strdup(more_notes)) != NULL)
        notes.n++;
    result.notes = notes.items;
    result.n_notes = notes.n;
    tsr_call_reply(call, &result.base);
    rc = 0;
done:
    for (size_t i = 0; i < faults.n; i++)
        free(faults.items[i]);
    free(faults.items);
    for (size_t i = 0; i < notes.n; i++)
        free(notes.items[i]);
    free(notes.items);
    json_decref(rows);
    return rc;
}
