#include "report.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "reporting.pb-c.h"
#include "tsr_envelope.h"
#include "tsr_text.h"

#define REPORT_ROLES_MAX 16
#define REPORT_NAME "consultations-in-period"
#define REPORT_TITLE "Consultations in period"

static struct {
    char authority[200];
    char *roles[REPORT_ROLES_MAX + 1]; /* NULL-terminated */
    long max_rows;
} report_config;

/* The report's outcome columns, as seed 000's section 02 heads them. */
static const struct {
    const char *outcome; /* the outcome's key in the definition */
    const char *member;  /* its member in the JSON */
    const char *column;
} report_outcomes[] = {
    {"further-information-given", "further_information_given", "Further information given"},
    {"referral-to-mash", "referral_to_mash", "Referral to MASH"},
};
#define REPORT_OUTCOMES (sizeof(report_outcomes) / sizeof(report_outcomes[0]))

/* Section 04's columns, as the seed names them. */
static const char *const report_row_columns[] = {"Organisation ID",
                                                 "Organisation name",
                                                 "Step ID",
                                                 "Step type",
                                                 "Step started on",
                                                 "Step completed on",
                                                 "Date and time of consult",
                                                 "Source of contact",
                                                 "Referrer name",
                                                 "Relationship with subject(s)",
                                                 "Outcome(s)",
                                                 NULL};

int reporting_report_configure(const tsr_config_t *config, tsr_error_t *err)
{
    snprintf(report_config.authority, sizeof(report_config.authority), "%s",
             tsr_config_get(config, "reporting.local_authority", ""));
    /* Referrers' names are personal data: by default the front door's managers, senior managers, the
     * performance team, and the administrators; the batch tool runs as the system. */
    const char *roles =
        tsr_config_get(config, "reporting.report_roles",
                       "mash-manager,team-manager,head-of-service,director,performance-analyst,"
                       "admin,system-support");
    reporting_report_free();
    char *copy = strdup(roles), *save = NULL;
    size_t n = 0;
    for (char *tok = strtok_r(copy, ", ", &save); tok && n < REPORT_ROLES_MAX - 1;
         tok = strtok_r(NULL, ", ", &save))
        report_config.roles[n++] = strdup(tok);
    report_config.roles[n++] = strdup("system");
    report_config.roles[n] = NULL;
    free(copy);
    return tsr_config_get_long(config, "reporting.max_rows", 100000, 1, 10000000, &report_config.max_rows,
                               err);
}

const char *const *reporting_report_roles(void)
{
    return (const char *const *)report_config.roles;
}

const char *reporting_report_authority(void)
{
    return report_config.authority;
}

void reporting_report_free(void)
{
    for (size_t i = 0; report_config.roles[i]; i++) {
        free(report_config.roles[i]);
        report_config.roles[i] = NULL;
    }
}

/* A page's key: the period it pages through (so that a cursor used with another period is refused,
 * not read as a place in it, skipping rows), and the last row's organisation name and step id, as
 * hex so that any name survives a URL. */
#define REPORT_CURSOR_PERIOD 20 /* YYYY-MM-DDYYYY-MM-DD */
static char *report__cursor(const char *start, const char *end, const char *name, const char *step_id)
{
    size_t n = REPORT_CURSOR_PERIOD + strlen(name) + 1 + strlen(step_id);
    char *plain = malloc(n + 1), *hex = malloc(n * 2 + 1);
    if (plain == NULL || hex == NULL) {
        free(plain);
        free(hex);
        return NULL;
    }
    snprintf(plain, n + 1, "%.10s%.10s%s\x1f%s", start, end, name, step_id);
    for (size_t i = 0; i < n; i++)
        snprintf(hex + i * 2, 3, "%02x", (unsigned char)plain[i]);
    free(plain);
    return hex;
}

static int report__read_cursor(const char *cursor, const char *start, const char *end, char **name,
                               char step_id[24], tsr_error_t *err)
{
    *name = NULL;
    size_t n = strlen(cursor) / 2;
    char *plain = tsr_text_is_hex(cursor) && n < 2048 ? malloc(n + 1) : NULL;
    for (size_t i = 0; plain && i < n; i++) {
        unsigned v = 0;
        sscanf(cursor + i * 2, "%2x", &v);
        plain[i] = (char)v;
    }
    char *sep = plain ? (plain[n] = '\0', strrchr(plain, '\x1f')) : NULL;
    char period[REPORT_CURSOR_PERIOD + 1];
    snprintf(period, sizeof(period), "%.10s%.10s", start, end);
    int ok = sep != NULL && strlen(plain) == n && sep[1] != '\0' && strlen(sep + 1) < 20 &&
             strspn(sep + 1, "0123456789") == strlen(sep + 1) && sep - plain >= REPORT_CURSOR_PERIOD &&
             tsr_text_is_utf8(plain, (size_t)(sep - plain));
    if (!ok) {
        free(plain);
        return tsr_error_set(err, TSR_E_INVALID, "invalid_cursor", "cursor",
                             "cursor must be the next_cursor of the page before.");
    }
    if (strncmp(plain, period, REPORT_CURSOR_PERIOD) != 0) {
        free(plain);
        return tsr_error_set(err, TSR_E_INVALID, "invalid_cursor", "cursor",
                             "This cursor pages through another period: start again without it, or ask for "
                             "its period.");
    }
    *sep = '\0';
    snprintf(step_id, 24, "%s", sep + 1);
    *name = strdup(plain + REPORT_CURSOR_PERIOD);
    free(plain);
    if (*name == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
    return 0;
}

static json_t *report__id(const char *digits)
{
    return json_string(digits);
}

/* What one run of the report is asked for and builds. */
typedef struct {
    const char *start, *end, *format;
    int json;
    uint32_t limit; /* json rows per page; 0: all */
    char *after_name;
    char after_step[24];
    json_t *body;   /* json */
    json_t *layout; /* csv, html, xlsx */
} report_run_t;

static json_t *report__table(json_t *layout, const char *title, const char *const *columns, size_t n)
{
    json_t *cols = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(cols, json_string(columns[i]));
    json_t *table = json_pack("{s:s, s:o, s:[]}", "title", title, "columns", cols, "rows");
    json_array_append_new(json_object_get(layout, "tables"), table);
    return json_object_get(table, "rows");
}

static int report__by_source(tsr_call_t *call, report_run_t *run, const char *const *p, tsr_error_t *err)
{
    PGresult *res =
        tsr_db_exec(call->conn,
                    "SELECT source_title, source, sum(n) FROM counts_by_source" REPORTING_COUNTS_IN_PERIOD
                    " GROUP BY source_title, source"
                    " HAVING sum(n) > 0 ORDER BY source_title COLLATE name_order, source",
                    2, p, err);
    if (res == NULL)
        return -1;
    static const char *const columns[] = {"Source of contact", "Count"};
    const char *title = "01 Grouped by source of referral";
    json_t *items = json_array();
    json_t *rows = run->layout ? report__table(run->layout, title, columns, 2) : NULL;
    for (int i = 0; i < PQntuples(res); i++) {
        json_int_t n = strtoll(PQgetvalue(res, i, 2), NULL, 10);
        if (rows)
            json_array_append_new(rows, json_pack("[s, I]", PQgetvalue(res, i, 0), n));
        else
            json_array_append_new(items, json_pack("{s:s, s:s, s:I}", "source", PQgetvalue(res, i, 1),
                                                   "title", PQgetvalue(res, i, 0), "count", n));
    }
    PQclear(res);
    if (run->body)
        json_object_set_new(run->body, "by_source",
                            json_pack("{s:s, s:[s, s], s:o}", "title", title, "columns", columns[0],
                                      columns[1], "items", items));
    else
        json_decref(items);
    return 0;
}

static int report__by_outcome(tsr_call_t *call, report_run_t *run, const char *const *p, json_int_t *total,
                              tsr_error_t *err)
{
    PGresult *res =
        tsr_db_exec(call->conn,
                    "SELECT '', coalesce(sum(n), 0) FROM counts_total" REPORTING_COUNTS_IN_PERIOD
                    " UNION ALL SELECT outcome, sum(n) FROM counts_by_outcome" REPORTING_COUNTS_IN_PERIOD
                    " GROUP BY outcome",
                    2, p, err);
    if (res == NULL)
        return -1;
    json_int_t counts[REPORT_OUTCOMES] = {0};
    *total = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    for (int i = 1; i < PQntuples(res); i++)
        for (size_t o = 0; o < REPORT_OUTCOMES; o++)
            if (strcmp(PQgetvalue(res, i, 0), report_outcomes[o].outcome) == 0)
                counts[o] = strtoll(PQgetvalue(res, i, 1), NULL, 10);
    PQclear(res);
    const char *title = "02 Grouped by outcome";
    const char *columns[1 + REPORT_OUTCOMES] = {"Total number of Consultations"};
    for (size_t o = 0; o < REPORT_OUTCOMES; o++)
        columns[1 + o] = report_outcomes[o].column;
    if (run->layout) {
        json_t *row = json_pack("[I]", *total);
        for (size_t o = 0; o < REPORT_OUTCOMES; o++)
            json_array_append_new(row, json_integer(counts[o]));
        json_array_append_new(report__table(run->layout, title, columns, 1 + REPORT_OUTCOMES), row);
    }
    if (run->body) {
        json_t *cols = json_array();
        for (size_t c = 0; c < 1 + REPORT_OUTCOMES; c++)
            json_array_append_new(cols, json_string(columns[c]));
        json_t *section = json_pack("{s:s, s:o, s:I}", "title", title, "columns", cols, "total", *total);
        for (size_t o = 0; o < REPORT_OUTCOMES; o++)
            json_object_set_new(section, report_outcomes[o].member, json_integer(counts[o]));
        json_object_set_new(run->body, "by_outcome", section);
    }
    return 0;
}

static int report__by_organisation(tsr_call_t *call, report_run_t *run, const char *const *p,
                                   tsr_error_t *err)
{
    /* By organisation, under the name it was last counted with (of two in one day or month, the first
     * in the alphabet): an old system's name for it, or a renaming, is not another organisation. In
     * the alphabet as a person reads it (name_order, migration 004), as section 04. */
    PGresult *res = tsr_db_exec(
        call->conn,
        "SELECT name, organisation_id, n FROM (SELECT (array_agg(organisation_name"
        " ORDER BY start DESC, organisation_name COLLATE name_order) FILTER (WHERE n > 0))[1] AS name,"
        " organisation_id, sum(n) AS n FROM counts_by_organisation" REPORTING_COUNTS_IN_PERIOD
        " GROUP BY organisation_id HAVING sum(n) > 0) o ORDER BY name COLLATE name_order, organisation_id",
        2, p, err);
    if (res == NULL)
        return -1;
    /* The seed heads the section 'Grouped by team'; its rows are the organisations. */
    static const char *const columns[] = {"Organisation name", "Count"};
    const char *title = "03 Grouped by team";
    json_t *items = json_array();
    json_t *rows = run->layout ? report__table(run->layout, title, columns, 2) : NULL;
    for (int i = 0; i < PQntuples(res); i++) {
        json_int_t n = strtoll(PQgetvalue(res, i, 2), NULL, 10);
        if (rows)
            json_array_append_new(rows, json_pack("[s, I]", PQgetvalue(res, i, 0), n));
        else
            json_array_append_new(items, json_pack("{s:o, s:s, s:I}", "organisation_id",
                                                   report__id(PQgetvalue(res, i, 1)), "name",
                                                   PQgetvalue(res, i, 0), "count", n));
    }
    PQclear(res);
    if (run->body)
        json_object_set_new(run->body, "by_organisation",
                            json_pack("{s:s, s:[s, s], s:o}", "title", title, "columns", columns[0],
                                      columns[1], "items", items));
    else
        json_decref(items);
    return 0;
}

#define REPORT_ROW_COLUMNS                                                                                   \
    "SELECT step_id, organisation_id, organisation_name, step_title, coalesce(started_on::text, ''),"        \
    " completed_on::text, coalesce(to_char(consulted_at AT TIME ZONE 'UTC',"                                 \
    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), coalesce(consulted_on::text, ''), source, source_title,"       \
    " referrer_name, referrer_relationship, array_to_json(outcomes)::text,"                                  \
    " array_to_string(outcome_titles, ', '), imported"                                                       \
    " FROM consultations WHERE completed_on BETWEEN $1::date AND $2::date"

static int report__rows(tsr_call_t *call, report_run_t *run, const char *const *period, tsr_error_t *err)
{
    char limit[24];
    /* One more than the page, to know whether there is a next one. */
    snprintf(limit, sizeof(limit), "%" PRIu32,
             run->limit ? run->limit + 1 : (uint32_t)report_config.max_rows + 1);
    const char *p[5] = {period[0], period[1], limit, run->after_name, run->after_step};
    /* Organisations in the alphabet as a person reads it (name_order, migration 004), and the next
     * page after the cursor's place in that same order: compared in another, a page would repeat
     * rows or skip them. */
    PGresult *res =
        run->after_name
            ? tsr_db_exec(call->conn,
                          REPORT_ROW_COLUMNS
                          " AND (organisation_name COLLATE name_order, step_id) > ($4, $5::bigint)"
                          " ORDER BY organisation_name COLLATE name_order, step_id LIMIT $3::bigint",
                          5, p, err)
            : tsr_db_exec(call->conn,
                          REPORT_ROW_COLUMNS
                          " ORDER BY organisation_name COLLATE name_order, step_id LIMIT $3::bigint",
                          3, p, err);
    if (res == NULL)
        return -1;
    int n = PQntuples(res);
    int more = run->limit && (uint32_t)n > run->limit;
    if (more)
        n = (int)run->limit;
    json_t *items = run->body ? json_array() : NULL;
    json_t *rows = run->layout ? report__table(run->layout, "04 Data", report_row_columns,
                                               sizeof(report_row_columns) / sizeof(report_row_columns[0]) - 1)
                               : NULL;
    if (rows) /* Step started on, Step completed on, Date and time of consult: dates in a spreadsheet */
        json_object_set_new(json_array_get(json_object_get(run->layout, "tables"),
                                           json_array_size(json_object_get(run->layout, "tables")) - 1),
                            "dates", json_pack("[i, i, i]", 4, 5, 6));
    for (int i = 0; i < n; i++) {
        const char *v[15];
        for (int c = 0; c < 15; c++)
            v[c] = PQgetvalue(res, i, c);
        if (rows) {
            json_array_append_new(rows, json_pack("[s, s, s, s, s, s, s, s, s, s, s]", v[1], v[2], v[0], v[3],
                                                  v[4], v[5], v[7], v[9], v[10], v[11], v[13]));
            continue;
        }
        json_t *outcomes = json_loads(v[12], 0, NULL);
        json_t *item = json_pack("{s:o, s:s, s:o, s:s, s:o, s:s, s:o, s:o, s:s, s:s, s:s, s:s, s:o, s:s}",
                                 "organisation_id", report__id(v[1]), "organisation_name", v[2], "step_id",
                                 report__id(v[0]), "step_type", v[3], "step_started_on",
                                 v[4][0] ? json_string(v[4]) : json_null(), "step_completed_on", v[5],
                                 "consulted_at", v[6][0] ? json_string(v[6]) : json_null(), "consulted_on",
                                 v[7][0] ? json_string(v[7]) : json_null(), "source", v[8], "source_title",
                                 v[9], "referrer_name", v[10], "referrer_relationship", v[11], "outcomes",
                                 outcomes ? outcomes : json_array(), "outcomes_title", v[13]);
        /* A consultation of the old system (tessera import consultations) has no work step here. */
        json_object_set_new(item, "imported", json_boolean(v[14][0] == 't'));
        json_array_append_new(items, item);
    }
    if (run->body) {
        char *next =
            more ? report__cursor(run->start, run->end, PQgetvalue(res, n - 1, 2), PQgetvalue(res, n - 1, 0))
                 : NULL;
        json_t *cols = json_array();
        for (size_t c = 0; report_row_columns[c]; c++)
            json_array_append_new(cols, json_string(report_row_columns[c]));
        json_object_set_new(run->body, "rows",
                            json_pack("{s:s, s:o, s:o, s:o}", "title", "04 Data", "columns", cols, "items",
                                      items, "next_cursor", next ? json_string(next) : json_null()));
        free(next);
    }
    PQclear(res);
    return 0;
}

/* Checks the query; fills run. */
static int report__read_query(const Tsr__Reporting__ReportQuery *in, report_run_t *run, tsr_error_t *err)
{
    run->start = in->start ? in->start : "";
    run->end = in->end ? in->end : "";
    run->format = in->format && in->format[0] ? in->format : "json";
    if (run->start[0] == '\0')
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", "start",
                             "Give the period's start, a date like 2022-11-14.");
    if (run->end[0] == '\0')
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", "end",
                             "Give the period's end, a date like 2022-12-01.");
    if (tsr_text_check_date(run->start, 0, "start", err) != 0 ||
        tsr_text_check_date(run->end, 0, "end", err) != 0)
        return -1;
    if (strcmp(run->end, run->start) < 0) {
        char start[11];
        tsr_text_date_display(run->start, start);
        return tsr_error_set(err, TSR_E_INVALID, "invalid_period", "end",
                             "The period end must be the same as or after the period start, %s.", start);
    }
    if (strcmp(run->format, "json") && strcmp(run->format, "csv") && strcmp(run->format, "html") &&
        strcmp(run->format, "xlsx"))
        return tsr_error_set(err, TSR_E_INVALID, "invalid_format", "format",
                             "format must be json, csv, html or xlsx, not \"%.20s\".", run->format);
    run->json = strcmp(run->format, "json") == 0;
    if (!run->json && ((in->cursor && in->cursor[0]) || in->limit))
        return tsr_error_set(err, TSR_E_INVALID, "not_paged", in->limit ? "limit" : "cursor",
                             "Only the JSON report comes in pages; a %s report is the whole period.",
                             run->format);
    run->limit = run->json ? in->limit : 0;
    if (in->cursor && in->cursor[0] &&
        report__read_cursor(in->cursor, run->start, run->end, &run->after_name, run->after_step, err) != 0)
        return -1;
    return 0;
}

int reporting_imported_counted(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Reporting__ImportedQuery *in = (const Tsr__Reporting__ImportedQuery *)call->payload;
    if (tsr_actor_require_role(call->actor, (const char *const *)report_config.roles, "run this report",
                               err) != 0)
        return -1;
    if (in->n_step_ids > 100000)
        return tsr_error_set(err, TSR_E_TOO_LARGE, "too_many_steps", "step_ids",
                             "Ask about at most 100000 steps at a time.");
    /* {1,2,3}: the ids as an array literal, one parameter whatever their number. */
    size_t size = in->n_step_ids * 21 + 3, used = 0;
    char *ids = malloc(size);
    if (ids == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
    used += (size_t)snprintf(ids, size, "{");
    for (size_t i = 0; i < in->n_step_ids; i++)
        used += (size_t)snprintf(ids + used, size - used, "%s%" PRIu64, i ? "," : "", in->step_ids[i]);
    snprintf(ids + used, size - used, "}");
    const char *params[1] = {ids};
    PGresult *res = tsr_db_exec(
        call->conn, "SELECT count(*) FROM consultations WHERE step_id = ANY($1::bigint[]) AND imported", 1,
        params, err);
    free(ids);
    if (res == NULL)
        return -1;
    Tsr__Reporting__ImportedCounted out = TSR__REPORTING__IMPORTED_COUNTED__INIT;
    out.counted = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    tsr_call_reply(call, &out.base);
    return 0;
}

int reporting_consultations_in_period(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Reporting__ReportQuery *in = (const Tsr__Reporting__ReportQuery *)call->payload;
    if (tsr_actor_require_role(call->actor, (const char *const *)report_config.roles, "run this report",
                               err) != 0)
        return -1;
    report_run_t run;
    memset(&run, 0, sizeof(run));
    if (report__read_query(in, &run, err) != 0)
        return -1;
    int rc = -1;
    unsigned char *bytes = NULL;
    size_t len = 0;
    const char *period[2] = {run.start, run.end};
    char start_day[11], end_day[11], heading[300], start_line[40], end_line[40];
    tsr_text_date_display(run.start, start_day);
    tsr_text_date_display(run.end, end_day);
    snprintf(heading, sizeof(heading), "%s%s" REPORT_TITLE, report_config.authority,
             report_config.authority[0] ? " - " : "");
    snprintf(start_line, sizeof(start_line), "Period start: %s", start_day);
    snprintf(end_line, sizeof(end_line), "Period end: %s", end_day);
    if (run.json)
        run.body = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s}}", "report", REPORT_NAME,
                             "title", REPORT_TITLE, "heading", heading, "subheading",
                             "Consultations completed in period", "parameters", "start", run.start, "end",
                             run.end, "period", "start", start_day, "end", end_day);
    else
        run.layout = json_pack("{s:s, s:[s, s, s, s], s:[]}", "sheet", REPORT_TITLE, "heading", heading,
                               "Consultations completed in period", start_line, end_line, "tables");
    json_int_t total = 0;
    if (report__by_source(call, &run, period, err) != 0 ||
        report__by_outcome(call, &run, period, &total, err) != 0 ||
        report__by_organisation(call, &run, period, err) != 0)
        goto done;
    /* A whole report is built in memory: past max_rows it is refused rather than run out of it. */
    if (run.limit == 0 && total > report_config.max_rows) {
        tsr_error_set(
            err, TSR_E_TOO_LARGE, "report_too_large", "end",
            "The period has %" JSON_INTEGER_FORMAT " consultations, more than the %ld a whole report may "
            "list: choose a shorter period%s.",
            total, report_config.max_rows, run.json ? ", or ask for the JSON in pages (limit, cursor)" : "");
        goto done;
    }
    if (report__rows(call, &run, period, err) != 0)
        goto done;
    if (run.json) {
        json_object_set_new(json_object_get(run.body, "rows"), "total", json_integer(total));
        char *text = json_dumps(run.body, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (text == NULL) {
            tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL, "The report could not be written.");
            goto done;
        }
        bytes = (unsigned char *)text;
        len = strlen(text);
    } else if (reporting_render(run.layout, run.format, &bytes, &len, err) != 0) {
        goto done;
    }
    char filename[128];
    snprintf(filename, sizeof(filename), REPORT_NAME "_%s_%s.%s", run.start, run.end, run.format);
    Tsr__Reporting__ReportOutput out = TSR__REPORTING__REPORT_OUTPUT__INIT;
    out.content_type = (char *)reporting_render_content_type(run.format);
    out.filename = filename;
    out.body.data = bytes;
    out.body.len = len;
    tsr_call_reply(call, &out.base);
    rc = 0;
done:
    free(bytes);
    free(run.after_name);
    json_decref(run.body);
    json_decref(run.layout);
    return rc;
}
