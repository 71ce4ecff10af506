/* Completed consultations from the old system: every row checked against the Front Door
 * Consultation's definition (its variants and picklists, asked of the workflow daemon) before any
 * is loaded, then all of them loaded in one transaction, each published as a consultation. */
#include "consultations.h"

#include <ctype.h>
#include <inttypes.h>
#include <search.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "consultations.pb-c.h"
#include "tsr_envelope.h"
#include "tsr_ids.h"
#include "tsr_text.h"
#include "workflow.pb-c.h"

#define IMPORT_ROWS_MAX 100000
#define IMPORT_TEXT_MAX 500
#define IMPORT_STEP_TYPE "front-door-consultation"

/* The parts of the definition a row is checked against. */
typedef struct {
    json_t *def;
    int version;
    const json_t *source; /* the field 'source' of section 1 */
    const json_t *outcomes;
    const char *not_before; /* consulted_at's earliest believable date, for every date of a row */
} import_def_t;

/* A row, checked: the trimmed text of each column and what it stands for. */
typedef struct {
    uint32_t line;
    char *organisation_id, *organisation_name, *step_id, *step_type, *started_on, *completed_on;
    char *consulted, *source_text, *referrer_name, *relationship, *outcomes_text;
    const char *variant;
    const json_t *source;
    json_t *outcomes;
    int consulted_has_time;
} import_row_t;

static void import__row_free(import_row_t *r)
{
    char **texts[] = {&r->organisation_id, &r->organisation_name, &r->step_id,      &r->step_type,
                      &r->started_on,      &r->completed_on,      &r->consulted,    &r->source_text,
                      &r->referrer_name,   &r->relationship,      &r->outcomes_text};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        free(*texts[i]);
    json_decref(r->outcomes);
    memset(r, 0, sizeof(*r));
}

static char *import__trim(const char *s)
{
    return tsr_text_trim_dup(s ? s : "");
}

static const json_t *import__field(const json_t *def, const char *name)
{
    size_t i, j;
    const json_t *s, *f;
    json_array_foreach(json_object_get(def, "sections"), i, s)
    {
        json_array_foreach(json_object_get(s, "fields"), j, f)
        {
            if (strcmp(json_string_value(json_object_get(f, "name")), name) == 0)
                return f;
        }
    }
    return NULL;
}

/* The current Front Door Consultation definition, from the workflow daemon: the one list of its
 * variants and picklists. */
static int import__definition(tsr_call_t *call, import_def_t *d, tsr_error_t *err)
{
    memset(d, 0, sizeof(*d));
    Tsr__Workflow__DefinitionsQuery q = TSR__WORKFLOW__DEFINITIONS_QUERY__INIT;
    q.type = IMPORT_STEP_TYPE;
    ProtobufCMessage *msg = NULL;
    if (tsr_call_ask(call, "workflow", "workflow.definitions.list", &q.base, &tsr__workflow__view__descriptor,
                     &msg, err) != 0)
        return -1;
    json_t *view = json_loads(((Tsr__Workflow__View *)msg)->json, 0, NULL);
    protobuf_c_message_free_unpacked(msg, NULL);
    d->def = json_incref(json_array_get(json_object_get(view, "items"), 0));
    json_decref(view);
    d->version = (int)json_integer_value(json_object_get(d->def, "version"));
    d->source = import__field(d->def, "source");
    d->outcomes = import__field(d->def, "outcomes");
    d->not_before = json_string_value(json_object_get(import__field(d->def, "consulted_at"), "not_before"));
    if (d->def == NULL || d->source == NULL || d->outcomes == NULL) {
        json_decref(d->def);
        d->def = NULL;
        return tsr_error_set(err, TSR_E_INTERNAL, "bad_definition", NULL,
                             "The workflow service's Front Door Consultation has no source or outcome "
                             "fields to check the file against.");
    }
    return 0;
}

static int import__is_id(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return n > 0 && n <= 18 && strtoull(s, NULL, 10) > 0;
}

/* An id as its number is written (leading zeros dropped), in place: 012000106 and 12000106 are one
 * step, to the check for a step twice in a file as to the database. s is import__is_id's. */
static void import__canonical_id(char *s)
{
    size_t zeros = strspn(s, "0");
    memmove(s, s + zeros, strlen(s + zeros) + 1);
}

/* The variant whose title the step type is ("Consultation (CSSW)" is CSSW), or NULL. */
static const char *import__variant(const json_t *def, const char *step_type)
{
    const char *pattern = json_string_value(json_object_get(def, "title_pattern"));
    const char *slot = pattern ? strstr(pattern, "{variant}") : NULL;
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(def, "variants"), i, v)
    {
        const char *key = json_string_value(json_object_get(v, "key"));
        char title[160];
        if (slot == NULL)
            snprintf(title, sizeof(title), "%s", json_string_value(json_object_get(def, "title")));
        else
            snprintf(title, sizeof(title), "%.*s%s%s", (int)(slot - pattern), pattern, key, slot + 9);
        if (strcasecmp(title, step_type) == 0)
            return key;
    }
    return NULL;
}

/* A text column: one line of at most IMPORT_TEXT_MAX characters, nothing in it that is not text (a
 * control character, a noncharacter such as U+FFFE); required ones given. */
static int import__text(const import_row_t *r, const char *text, const char *column, const char *field,
                        int required, tsr_error_t *err)
{
    if (required && text[0] == '\0')
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", field, "Line %u: %s is missing.", r->line,
                             column);
    if (tsr_text_length(text) > IMPORT_TEXT_MAX || strpbrk(text, "\r\n") != NULL)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_value", field,
                             "Line %u: %s must be one line of at most %d characters.", r->line, column,
                             IMPORT_TEXT_MAX);
    int cp = tsr_text_first_control(text, 0);
    char words[48];
    if (cp >= 0)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_characters", field,
                             "Line %u: %s holds %s: take it out.", r->line, column,
                             tsr_text_control_words(cp, words, sizeof(words)));
    return 0;
}

/* The date at the start of text as an old system's export or a spreadsheet saving it writes one:
 * 2022-11-25, or the United Kingdom's 25/11/2022 (day first, never month first: a spreadsheet here
 * saves a date so). Its ISO form at iso and how much of text it took, or 0 when it is neither. Whether
 * the day exists is checked on the ISO form. */
static size_t import__read_date(const char *text, char iso[11])
{
    if (tsr_text_digits(text, 4) >= 0 && text[4] == '-' && tsr_text_digits(text + 5, 2) >= 0 &&
        text[7] == '-' && tsr_text_digits(text + 8, 2) >= 0) {
        memcpy(iso, text, 10);
        iso[10] = '\0';
        return 10;
    }
    int part[3];
    const char *p = text;
    for (int i = 0; i < 3; i++) {
        int width = i == 2 ? 4 : isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) ? 2 : 1;
        part[i] = tsr_text_digits(p, width);
        if (part[i] < 0 || isdigit((unsigned char)p[width]) || (i < 2 && p[width] != '/'))
            return 0;
        p += width + (i < 2);
    }
    snprintf(iso, 11, "%04d-%02d-%02d", part[2], part[1], part[0]);
    return (size_t)(p - text);
}

/* A date column, kept in its ISO form in *text. */
static int import__date(const import_row_t *r, char **text, const char *column, const char *field,
                        tsr_error_t *err)
{
    char iso[11];
    size_t used = import__read_date(*text, iso);
    tsr_error_t why;
    if (used == 0 || (*text)[used] != '\0' || tsr_text_check_date(iso, 1, field, &why) != 0)
        return tsr_error_set(err, TSR_E_INVALID, used && (*text)[used] == '\0' ? why.code : "invalid_date",
                             field, "Line %u: %s '%.40s' %s", r->line, column, *text,
                             used && (*text)[used] == '\0' && strcmp(why.code, "date_in_future") == 0
                                 ? "is in the future."
                                 : "must be a real date like 2022-11-25 or 25/11/2022.");
    char *kept = strdup(iso);
    if (kept == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
    free(*text);
    *text = kept;
    return 0;
}

/* A time of day after a date (10:15 or 10:15:30), as the office's clock (consultations.timezone, the
 * process's zone) showed it: Unix ms at *ms. -1 when it is not one; -2 when the office's clock never
 * showed it (the hour skipped when the clocks go forward). The hour the clocks go back over is shown
 * twice; it is read as the second (GMT), as the C library's mktime reads it here. */
static int import__local_time(const char *iso_date, const char *text, int64_t *ms)
{
    int hour_width = isdigit((unsigned char)text[0]) && isdigit((unsigned char)text[1]) ? 2 : 1;
    int hour = tsr_text_digits(text, hour_width), second = 0;
    const char *p = text + hour_width;
    if (hour < 0 || p[0] != ':' || tsr_text_digits(p + 1, 2) < 0)
        return -1;
    int minute = tsr_text_digits(p + 1, 2);
    p += 3;
    if (p[0] == ':') {
        second = tsr_text_digits(p + 1, 2);
        if (second < 0)
            return -1;
        p += 3;
    }
    if (p[0] != '\0' || hour > 23 || minute > 59 || second > 59)
        return -1;
    int y, m, d;
    if (tsr_text_date_parts(iso_date, &y, &m, &d) != 0)
        return -1;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = m - 1,
                    .tm_mday = d,
                    .tm_hour = hour,
                    .tm_min = minute,
                    .tm_sec = second,
                    .tm_isdst = -1};
    struct tm asked = tm;
    time_t t = mktime(&tm);
    if (t == (time_t)-1 || tm.tm_hour != hour || tm.tm_min != minute || tm.tm_mday != d)
        return -2;
    /* glibc reads an hour shown twice as its first showing (summer time); the standard-time reading,
     * when the clock showed it too, is the second. */
    struct tm standard = asked;
    standard.tm_isdst = 0;
    time_t later = mktime(&standard);
    if (later != (time_t)-1 && later > t && standard.tm_isdst == 0 && standard.tm_hour == hour &&
        standard.tm_min == minute && standard.tm_mday == d)
        t = later;
    *ms = (int64_t)t * 1000;
    return 0;
}

/* 'Date and time of consult': a date, or a date and time, with its offset (2022-11-25T13:57:00Z) or as
 * the office's clock showed it (2022-11-25 13:57, 25/11/2022 13:57). Kept in *text as the ISO date, or
 * as the time in UTC with has_time set. */
static int import__consulted(const import_row_t *r, char **text, int *has_time, tsr_error_t *err)
{
    const char *column = "Date and time of consult";
    char iso[11];
    size_t used = import__read_date(*text, iso);
    *has_time = 0;
    if (used != 0 && (*text)[used] == '\0')
        return import__date(r, text, column, "consulted_at", err);
    int64_t ms = 0;
    int rc = -1;
    tsr_error_t why;
    if (used != 0 && ((*text)[used] == ' ' || (*text)[used] == 'T') &&
        tsr_text_check_date(iso, 0, "consulted_at", &why) == 0) {
        const char *clock = *text + used + 1;
        char with_offset[64];
        if (strlen(clock) < sizeof(with_offset) - sizeof(iso) - 1) {
            snprintf(with_offset, sizeof(with_offset), "%sT%s", iso, clock);
            rc = strpbrk(clock, "Zz+-") ? tsr_text_datetime_parse(with_offset, &ms)
                                        : import__local_time(iso, clock, &ms);
        }
    }
    if (rc == -2)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_datetime", "consulted_at",
                             "Line %u: %s '%.40s' is not a time the office's clock showed: the clocks "
                             "went forward over it.",
                             r->line, column, *text);
    if (rc != 0)
        return tsr_error_set(err, TSR_E_INVALID, (*text)[0] ? "invalid_datetime" : "missing_field",
                             "consulted_at",
                             "Line %u: %s '%.40s' must be a date (2022-11-25 or 25/11/2022) or a date and "
                             "time (2022-11-25 13:57, 25/11/2022 13:57, or with its offset, "
                             "2022-11-25T13:57:00Z).",
                             r->line, column, *text);
    if (ms > tsr_now_ms() + 60000)
        return tsr_error_set(err, TSR_E_INVALID, "date_in_future", "consulted_at",
                             "Line %u: %s '%.40s' is in the future.", r->line, column, *text);
    char utc[TSR_TEXT_UTC_MS_LEN + 1];
    tsr_text_utc_ms(ms, utc);
    char *kept = strdup(utc);
    if (kept == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
    free(*text);
    *text = kept;
    *has_time = 1;
    return 0;
}

/* A date of the row (ISO, or a UTC date and time) no earlier than the form allows. */
static int import__not_before(const import_row_t *r, const char *iso, const char *column, const char *field,
                              const char *not_before, tsr_error_t *err)
{
    tsr_error_t why;
    if (tsr_text_check_not_before(iso, not_before, field, column, &why) == 0)
        return 0;
    return tsr_error_set(err, why.status, why.code, field, "Line %u: %s", r->line, why.message);
}

/* Checks one row and fills what it stands for. */
static int import__check(const import_def_t *d, const Tsr__Consultations__ImportRow *in, import_row_t *r,
                         tsr_error_t *err)
{
    r->line = in->line;
    r->organisation_id = import__trim(in->organisation_id);
    r->organisation_name = import__trim(in->organisation_name);
    r->step_id = import__trim(in->step_id);
    r->step_type = import__trim(in->step_type);
    r->started_on = import__trim(in->step_started_on);
    r->completed_on = import__trim(in->step_completed_on);
    r->consulted = import__trim(in->consulted_at);
    r->source_text = import__trim(in->source);
    r->referrer_name = import__trim(in->referrer_name);
    r->relationship = import__trim(in->referrer_relationship);
    r->outcomes_text = import__trim(in->outcomes);
    r->outcomes = json_array();
    if (r->outcomes_text == NULL || r->organisation_id == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
    if (!import__is_id(r->organisation_id))
        return tsr_error_set(err, TSR_E_INVALID, "invalid_value", "organisation_id",
                             "Line %u: Organisation ID '%.40s' must be a number, like 7500065.", r->line,
                             r->organisation_id);
    import__canonical_id(r->organisation_id);
    if (import__text(r, r->organisation_name, "Organisation name", "organisation_name", 1, err) != 0)
        return -1;
    if (!import__is_id(r->step_id))
        return tsr_error_set(err, TSR_E_INVALID, "invalid_value", "step_id",
                             "Line %u: Step ID '%.40s' must be a number, like 13011373.", r->line,
                             r->step_id);
    import__canonical_id(r->step_id);
    /* One of ours, now or later: the report and the form would take the two for one step. */
    if (strtoull(r->step_id, NULL, 10) >= TSR_STEP_ID_FIRST)
        return tsr_error_set(
            err, TSR_E_INVALID, "invalid_value", "step_id",
            "Line %u: Step ID %s is in the range Tessera numbers its own steps in (from %llu); "
            "an old-system step ID is below it. Check the column holds the old system's step ID.",
            r->line, r->step_id, (unsigned long long)TSR_STEP_ID_FIRST);
    r->variant = import__variant(d->def, r->step_type);
    if (r->variant == NULL)
        return tsr_error_set(err, TSR_E_INVALID, "unknown_step_type", "step_type",
                             "Line %u: Step type '%.60s' is not a Front Door Consultation, such as "
                             "'Consultation (CSSW)' or 'Consultation (CSEW)'.",
                             r->line, r->step_type);
    if (import__date(r, &r->started_on, "Step started on", "step_started_on", err) != 0 ||
        import__date(r, &r->completed_on, "Step completed on", "step_completed_on", err) != 0)
        return -1;
    if (strcmp(r->completed_on, r->started_on) < 0)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_period", "step_completed_on",
                             "Line %u: the step was completed (%s) before it started (%s).", r->line,
                             r->completed_on, r->started_on);
    if (import__consulted(r, &r->consulted, &r->consulted_has_time, err) != 0 ||
        import__not_before(r, r->started_on, "Step started on", "step_started_on", d->not_before, err) != 0 ||
        import__not_before(r, r->consulted, "Date and time of consult", "consulted_at", d->not_before, err) !=
            0)
        return -1;
    /* The consultation was recorded in the step, so it happened by the day the step was completed
     * (as the office's clock showed it): a later one is a column put in the wrong place. */
    char consulted_on[11];
    if (r->consulted_has_time)
        tsr_text_local_time(tsr_text_datetime_ms(r->consulted), "%Y-%m-%d", consulted_on,
                            sizeof(consulted_on));
    else
        snprintf(consulted_on, sizeof(consulted_on), "%s", r->consulted);
    if (strcmp(consulted_on, r->completed_on) > 0)
        return tsr_error_set(
            err, TSR_E_INVALID, "invalid_period", "consulted_at",
            "Line %u: the consultation (%s) is after the step recording it was completed (%s).", r->line,
            consulted_on, r->completed_on);
    if (r->source_text[0] == '\0')
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", "source",
                             "Line %u: Source of contact is missing.", r->line);
    r->source = consultations_option(d->source, r->source_text, 1);
    if (r->source == NULL)
        return tsr_error_set(err, TSR_E_INVALID, "unknown_option", "source",
                             "Line %u: Source of contact '%.80s' is not one of the sources of referral.",
                             r->line, r->source_text);
    if (import__text(r, r->referrer_name, "Referrer name", "referrer_name", 0, err) != 0 ||
        import__text(r, r->relationship, "Relationship with subject(s)", "referrer_relationship", 0, err) !=
            0)
        return -1;
    char *save = NULL;
    for (char *tok = strtok_r(r->outcomes_text, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *name = tsr_text_trim_dup(tok);
        const json_t *option = name && name[0] ? consultations_option(d->outcomes, name, 1) : NULL;
        size_t i;
        const json_t *seen;
        int twice = 0;
        json_array_foreach(r->outcomes, i, seen)
        {
            twice |= seen == option;
        }
        if (option == NULL || twice) {
            tsr_error_set(err, TSR_E_INVALID, option ? "duplicate_option" : "unknown_option", "outcomes",
                          option ? "Line %u: Outcome(s) lists '%.60s' twice."
                                 : "Line %u: Outcome(s) '%.60s' is not an outcome of a consultation "
                                   "(Further information given, Referral to Mash).",
                          r->line, name ? name : "");
            free(name);
            return -1;
        }
        json_array_append(r->outcomes, (json_t *)option);
        free(name);
    }
    /* In the form's order, whatever the file's: a re-export listing the same outcomes the other way
     * round is the same consultation, not one with other details. */
    json_t *ordered = consultations_options_in_order(d->outcomes, r->outcomes);
    json_decref(r->outcomes);
    r->outcomes = ordered;
    return 0;
}

/* Loads a checked row: 1 loaded, 0 loaded before with the same details, -1 error (a different
 * consultation under the same step id is one: the file or the system is wrong, and a person decides). */
static int import__load(tsr_call_t *call, const import_def_t *d, const import_row_t *r, tsr_error_t *err)
{
    char version[16], step_title[160];
    snprintf(version, sizeof(version), "%d", d->version);
    const char *pattern = json_string_value(json_object_get(d->def, "title_pattern"));
    const char *slot = pattern ? strstr(pattern, "{variant}") : NULL;
    if (slot)
        snprintf(step_title, sizeof(step_title), "%.*s%s%s", (int)(slot - pattern), pattern, r->variant,
                 slot + 9);
    else
        snprintf(step_title, sizeof(step_title), "%s", r->step_type);
    char *outcomes = consultations_array_literal(r->outcomes, "value");
    char *titles = consultations_array_literal(r->outcomes, "title");
    const char *p[17] = {r->step_id,
                         IMPORT_STEP_TYPE,
                         r->variant,
                         step_title,
                         version,
                         r->organisation_id,
                         r->organisation_name,
                         r->consulted_has_time ? r->consulted : NULL,
                         r->consulted_has_time ? NULL : r->consulted,
                         json_string_value(json_object_get(r->source, "value")),
                         json_string_value(json_object_get(r->source, "title")),
                         r->referrer_name,
                         r->relationship,
                         outcomes,
                         titles,
                         r->started_on,
                         r->completed_on};
    PGresult *res = tsr_db_exec(
        call->conn,
        "WITH ins AS (INSERT INTO consultations (step_id, step_type, variant, step_title, definition_version,"
        " organisation_id, organisation_name, consulted_at, consulted_on, source, source_title, contact_name,"
        " contact_relationship, outcomes, outcome_titles, section_1_completed, section_2_completed, imported,"
        " imported_at, step_started_on, step_completed_on)"
        " VALUES ($1::bigint, $2, $3, $4, $5::int, $6::bigint, $7, $8::timestamptz, $9::date, $10, $11,"
        " nullif($12, ''), nullif($13, ''), $14::text[], $15::text[], true, true, true, now(), $16::date,"
        " $17::date) ON CONFLICT (step_id) DO NOTHING RETURNING 1)"
        " SELECT (SELECT count(*) FROM ins),"
        " coalesce((SELECT imported AND organisation_id = $6::bigint AND organisation_name = $7"
        "  AND step_title = $4 AND consulted_at IS NOT DISTINCT FROM $8::timestamptz"
        "  AND consulted_on IS NOT DISTINCT FROM $9::date AND source = $10"
        "  AND coalesce(contact_name, '') = $12 AND coalesce(contact_relationship, '') = $13"
        "  AND outcomes = $14::text[] AND step_started_on = $16::date AND step_completed_on = $17::date"
        "  FROM consultations WHERE step_id = $1::bigint), false)",
        17, p, err);
    free(outcomes);
    free(titles);
    if (res == NULL)
        return -1;
    int loaded = strcmp(PQgetvalue(res, 0, 0), "1") == 0;
    int same = PQgetvalue(res, 0, 1)[0] == 't';
    PQclear(res);
    if (loaded)
        return consultations_emit(call, r->step_id, "imported", NULL, err) == 0 ? 1 : -1;
    if (same)
        return 0;
    return tsr_error_set(err, TSR_E_CONFLICT, "step_exists", "step_id",
                         "Line %u: step %s is already on the system with other details; correct the row or "
                         "leave it out.",
                         r->line, r->step_id);
}

/* The import's answer when rows have faults: the first row's, every fault gathered (the first
 * TSR_ERROR_FAULTS_MAX), and how many rows have one. */
static void import__faults(tsr_error_t *err, const tsr_error_t *first, const tsr_error_t *all, size_t bad)
{
    *err = *first;
    err->n_faults = bad > 1 ? all->n_faults : 0;
    memcpy(err->faults, all->faults, sizeof(err->faults));
    size_t len = strlen(err->message);
    if (bad > 2)
        snprintf(err->message + len, sizeof(err->message) - len,
                 " %zu other rows have faults too. Nothing was loaded.", bad - 1);
    else if (bad == 2)
        snprintf(err->message + len, sizeof(err->message) - len,
                 " 1 other row has a fault too. Nothing was loaded.");
    else
        snprintf(err->message + len, sizeof(err->message) - len, " Nothing was loaded.");
}

int consultations_import(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Consultations__Import *in = (const Tsr__Consultations__Import *)call->payload;
    if (!tsr_actor_is_system(call->actor))
        return tsr_error_set(err, TSR_E_FORBIDDEN, "forbidden", NULL,
                             "Consultations are loaded from the old system by the batch tool only "
                             "(tessera import consultations).");
    if (in->n_rows == 0)
        return tsr_error_set(err, TSR_E_INVALID, "empty_file", "rows",
                             "The file has no consultations in it.");
    if (in->n_rows > IMPORT_ROWS_MAX)
        return tsr_error_set(err, TSR_E_TOO_LARGE, "too_many_rows", "rows",
                             "The file has %zu consultations; load at most %d at a time (split the file).",
                             in->n_rows, IMPORT_ROWS_MAX);
    import_def_t d;
    if (import__definition(call, &d, err) != 0)
        return -1;
    import_row_t *rows = calloc(in->n_rows, sizeof(*rows));
    if (rows == NULL) {
        json_decref(d.def);
        return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
    }
    /* Every row is checked, so that one run tells of the faults of the first rows that have one
     * (TSR_ERROR_FAULTS_MAX of them, each naming its line) and how many rows have one. */
    size_t bad = 0;
    tsr_error_t first, all;
    tsr_error_clear(&first);
    tsr_error_clear(&all);
    /* Each step id's first row, found by hashing: comparing every row with every earlier one was
     * five billion comparisons for a file at IMPORT_ROWS_MAX. */
    struct hsearch_data first_rows;
    memset(&first_rows, 0, sizeof(first_rows));
    if (!hcreate_r(in->n_rows * 2, &first_rows)) {
        free(rows);
        json_decref(d.def);
        return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
    }
    for (size_t i = 0; i < in->n_rows; i++) {
        tsr_error_t e;
        tsr_error_clear(&e);
        int fault = import__check(&d, in->rows[i], &rows[i], &e) != 0;
        ENTRY row = {.key = rows[i].step_id, .data = (void *)(uintptr_t)i}, *seen = NULL;
        if (rows[i].step_id != NULL && hsearch_r(row, ENTER, &seen, &first_rows) && !fault &&
            (uintptr_t)seen->data != i) {
            tsr_error_set(&e, TSR_E_INVALID, "duplicate_step", "step_id",
                          "Line %u: step %s is on line %u too.", rows[i].line, rows[i].step_id,
                          rows[(uintptr_t)seen->data].line);
            fault = 1;
        }
        if (fault && bad++ == 0)
            first = e;
        if (fault)
            tsr_error_gather(&all, &e);
    }
    hdestroy_r(&first_rows);
    int rc = -1;
    if (bad > 0) {
        import__faults(err, &first, &all, bad);
        goto done;
    }
    /* Two runs of one file at once would each find the other's rows half-written and call them
     * other details; one after the other, the second finds them loaded. */
    if (tsr_db_command(call->conn, "SELECT pg_advisory_xact_lock(hashtext('consultations.import'))", err) !=
        0)
        goto done;
    /* A row clashing with a step loaded before is told of with the others that clash, as the
     * check's faults are; anything else stops the load there. */
    Tsr__Consultations__ImportResult result = TSR__CONSULTATIONS__IMPORT_RESULT__INIT;
    tsr_error_clear(&first);
    tsr_error_clear(&all);
    for (size_t i = 0; i < in->n_rows; i++) {
        tsr_error_t e;
        tsr_error_clear(&e);
        int loaded = import__load(call, &d, &rows[i], &e);
        if (loaded < 0 && strcmp(e.code, "step_exists") != 0) {
            *err = e;
            goto done;
        }
        if (loaded < 0) {
            if (bad++ == 0)
                first = e;
            tsr_error_gather(&all, &e);
        } else if (loaded) {
            result.loaded++;
        } else {
            result.already_loaded++;
        }
    }
    if (bad > 0) {
        import__faults(err, &first, &all, bad);
        goto done;
    }
    tsr_call_reply(call, &result.base);
    rc = 0;
done:
    for (size_t i = 0; i < in->n_rows; i++)
        import__row_free(&rows[i]);
    free(rows);
    json_decref(d.def);
    return rc;
}
