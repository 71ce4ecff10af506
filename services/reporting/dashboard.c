#include "dashboard.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readmodel.h"
#include "render.h"
#include "report.h"
#include "reporting.pb-c.h"
#include "tsr_envelope.h"
#include "tsr_text.h"

#define DASHBOARD_NAME "front-door-dashboard"
#define DASHBOARD_TITLE "Front door dashboard"
/* The virtual worker whose queue the CPIS Follow up steps start in (seed 003). */
#define DASHBOARD_CPIS_QUEUE "cp-is-worker"
/* An instant as RFC 3339 in UTC: to_char(x AT TIME ZONE 'UTC', DASHBOARD_RFC3339). */
#define DASHBOARD_RFC3339 "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'"
/* Open: neither finished nor cancelled (a reopened one is open again); not one loaded from the old
 * system, and not one kept from before the dashboard whose state is not known (see migration 002). */
#define DASHBOARD_OPEN "c.state NOT IN ('completed', 'cancelled', 'unknown') AND NOT c.imported"

/* Where an open consultation waits, first match first: its decision made (section 2 complete) it
 * waits only to be finished; else on the recipient of an open request; else with whoever records
 * it, section 1 complete or not. */
static const struct {
    const char *stage;
    const char *title;
} dashboard_stages[] = {
    {"awaiting-mash-manager", "Awaiting the MASH Manager"},
    {"with-mash-social-worker", "With a MASH social worker"},
    {"awaiting-early-help-review", "Awaiting early help review"},
    {"decision-made", "Decision made, to be finished"},
    {"details-recorded", "Details recorded, not passed on"},
    {"details-being-recorded", "Details being recorded"},
};
#define DASHBOARD_STAGES (sizeof(dashboard_stages) / sizeof(dashboard_stages[0]))

/* The stage in SQL: an open request of the three types, in that order of precedence (the table
 * keeps only the consultation's own request types). */
#define DASHBOARD_STAGE                                                                                      \
    "CASE WHEN c.section_2_completed THEN 'decision-made'"                                                   \
    " ELSE coalesce((SELECT CASE r.type WHEN 'pass-to-mash-manager' THEN 'awaiting-mash-manager'"            \
    "  WHEN 'pass-to-mash-social-worker' THEN 'with-mash-social-worker'"                                     \
    "  ELSE 'awaiting-early-help-review' END"                                                                \
    "  FROM consultation_requests r WHERE r.step_id = c.step_id AND r.status = 'sent'"                       \
    "  ORDER BY CASE r.type WHEN 'pass-to-mash-manager' THEN 1"                                              \
    "  WHEN 'pass-to-mash-social-worker' THEN 2 ELSE 3 END LIMIT 1),"                                        \
    "  CASE WHEN c.section_1_completed THEN 'details-recorded' ELSE 'details-being-recorded' END) END"

static const char *dashboard__stage_title(const char *stage)
{
    for (size_t i = 0; i < DASHBOARD_STAGES; i++)
        if (strcmp(stage, dashboard_stages[i].stage) == 0)
            return dashboard_stages[i].title;
    return stage;
}

static json_int_t dashboard__int(PGresult *res, int row, int col)
{
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* A column that may be NULL: its text, or JSON null. */
static json_t *dashboard__text_or_null(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? json_null() : json_string(PQgetvalue(res, row, col));
}

static json_t *dashboard__int_or_null(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? json_null() : json_integer(dashboard__int(res, row, col));
}

/* The period asked for, the defaults filled from today and this week's Monday (office clock). */
static int dashboard__period(const Tsr__Reporting__DashboardQuery *in, const char *today, const char *monday,
                             char start[11], char end[11], tsr_error_t *err)
{
    const char *s = in->start && in->start[0] ? in->start : monday;
    const char *e = in->end && in->end[0] ? in->end : today;
    if (tsr_text_check_date(s, 0, "start", err) != 0 || tsr_text_check_date(e, 0, "end", err) != 0)
        return -1;
    if (strcmp(e, s) < 0) {
        /* Said of the date given (an end left out is today), the other as the seed writes a day. */
        int of_end = in->end && in->end[0];
        const char *other = of_end ? s : e;
        char day[11];
        tsr_text_date_display(other, day);
        return tsr_error_set(err, TSR_E_INVALID, "invalid_period", of_end ? "end" : "start",
                             of_end ? "The period end must be the same as or after the period start, %s."
                                    : "The period start must be the same as or before the period end, %s.",
                             day);
    }
    snprintf(start, 11, "%s", s);
    snprintf(end, 11, "%s", e);
    return 0;
}

/* Consultations started today, this week (Monday to today) and in the period. */
static json_t *dashboard__started(PGconn *conn, const char *const *p, tsr_error_t *err)
{
    PGresult *res = tsr_db_exec(conn,
                                "SELECT count(*) FILTER (WHERE started_on = $3::date),"
                                " count(*) FILTER (WHERE started_on BETWEEN $4::date AND $3::date),"
                                " count(*) FILTER (WHERE started_on BETWEEN $1::date AND $2::date)"
                                " FROM consultations WHERE started_on >= least($1::date, $4::date)",
                                4, p, err);
    if (res == NULL)
        return NULL;
    json_t *out = json_pack("{s:I, s:I, s:I}", "today", dashboard__int(res, 0, 0), "this_week",
                            dashboard__int(res, 0, 1), "in_period", dashboard__int(res, 0, 2));
    PQclear(res);
    return out;
}

/* The open consultations: how many wait where (every stage listed, in the order of the work), and
 * the oldest of them. */
static json_t *dashboard__open(PGconn *conn, tsr_error_t *err)
{
    PGresult *res = tsr_db_exec(conn,
                                "SELECT " DASHBOARD_STAGE " AS stage, count(*),"
                                " to_char(min(c.started_at) AT TIME ZONE 'UTC', " DASHBOARD_RFC3339 "),"
                                " floor(extract(epoch FROM now() - min(c.started_at)))::bigint"
                                " FROM consultations c WHERE " DASHBOARD_OPEN " GROUP BY stage",
                                0, NULL, err);
    if (res == NULL)
        return NULL;
    json_t *stages = json_array();
    json_int_t total = 0;
    for (size_t s = 0; s < DASHBOARD_STAGES; s++) {
        json_t *item =
            json_pack("{s:s, s:s, s:i, s:n, s:n}", "stage", dashboard_stages[s].stage, "title",
                      dashboard_stages[s].title, "count", 0, "oldest_started_at", "oldest_age_seconds");
        for (int i = 0; i < PQntuples(res); i++) {
            if (strcmp(PQgetvalue(res, i, 0), dashboard_stages[s].stage) != 0)
                continue;
            json_int_t n = dashboard__int(res, i, 1);
            total += n;
            json_object_set_new(item, "count", json_integer(n));
            json_object_set_new(item, "oldest_started_at", dashboard__text_or_null(res, i, 2));
            json_object_set_new(item, "oldest_age_seconds", dashboard__int_or_null(res, i, 3));
        }
        json_array_append_new(stages, item);
    }
    PQclear(res);
    res = tsr_db_exec(conn,
                      "SELECT c.step_id, c.step_title, c.organisation_id, c.organisation_name,"
                      " to_char(c.started_at AT TIME ZONE 'UTC', " DASHBOARD_RFC3339 "),"
                      " floor(extract(epoch FROM now() - c.started_at))::bigint, " DASHBOARD_STAGE
                      " FROM consultations c WHERE " DASHBOARD_OPEN
                      " ORDER BY c.started_at NULLS LAST, c.step_id LIMIT 1",
                      0, NULL, err);
    if (res == NULL) {
        json_decref(stages);
        return NULL;
    }
    json_t *oldest = json_null();
    if (PQntuples(res) == 1)
        oldest = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s}", "step_id", PQgetvalue(res, 0, 0),
                           "step_title", PQgetvalue(res, 0, 1), "organisation_id", PQgetvalue(res, 0, 2),
                           "organisation_name", PQgetvalue(res, 0, 3), "started_at",
                           dashboard__text_or_null(res, 0, 4), "age_seconds",
                           dashboard__int_or_null(res, 0, 5), "stage", PQgetvalue(res, 0, 6), "stage_title",
                           dashboard__stage_title(PQgetvalue(res, 0, 6)));
    PQclear(res);
    return json_pack("{s:I, s:o, s:o}", "total", total, "by_stage", stages, "oldest", oldest);
}

/* The consultations finished in the period: the report's sections 02 and 01, from the same counts. */
static json_t *dashboard__finished(PGconn *conn, const char *const *p, tsr_error_t *err)
{
    PGresult *res =
        tsr_db_exec(conn,
                    "SELECT '', coalesce(sum(n), 0) FROM counts_total" REPORTING_COUNTS_IN_PERIOD
                    " UNION ALL SELECT outcome, sum(n) FROM counts_by_outcome" REPORTING_COUNTS_IN_PERIOD
                    " GROUP BY outcome",
                    2, p, err);
    if (res == NULL)
        return NULL;
    json_int_t further = 0, referral = 0;
    for (int i = 1; i < PQntuples(res); i++) {
        if (strcmp(PQgetvalue(res, i, 0), "further-information-given") == 0)
            further = dashboard__int(res, i, 1);
        else if (strcmp(PQgetvalue(res, i, 0), "referral-to-mash") == 0)
            referral = dashboard__int(res, i, 1);
    }
    json_t *by_outcome =
        json_pack("[{s:s, s:s, s:I}, {s:s, s:s, s:I}]", "outcome", "further-information-given", "title",
                  "Further information given", "count", further, "outcome", "referral-to-mash", "title",
                  "Referral to MASH", "count", referral);
    json_t *out = json_pack("{s:I, s:o}", "total", dashboard__int(res, 0, 1), "by_outcome", by_outcome);
    PQclear(res);
    res = tsr_db_exec(conn,
                      "SELECT source_title, source, sum(n) FROM counts_by_source" REPORTING_COUNTS_IN_PERIOD
                      " GROUP BY source_title, source HAVING sum(n) > 0"
                      " ORDER BY sum(n) DESC, source_title COLLATE name_order, source",
                      2, p, err);
    if (res == NULL) {
        json_decref(out);
        return NULL;
    }
    json_t *by_source = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(by_source,
                              json_pack("{s:s, s:s, s:I}", "source", PQgetvalue(res, i, 1), "title",
                                        PQgetvalue(res, i, 0), "count", dashboard__int(res, i, 2)));
    PQclear(res);
    json_object_set_new(out, "by_source", by_source);
    return out;
}

/* Of the consultations finished in the period: the time from the step's start to the decision
 * (section 2 first completed) and to its finish, median and longest, in whole seconds. Consultations
 * loaded from the old system have no such times and are left out. */
static json_t *dashboard__times(PGconn *conn, const char *const *p, tsr_error_t *err)
{
    /* A span is NULL when either end is not known; count, percentile_cont and max pass over NULLs. */
    PGresult *res = tsr_db_exec(conn,
                                "WITH t AS (SELECT extract(epoch FROM decided_at - started_at) AS decision,"
                                " extract(epoch FROM completed_at - started_at) AS finish FROM consultations"
                                " WHERE completed_on BETWEEN $1::date AND $2::date)"
                                " SELECT count(decision),"
                                " round(percentile_cont(0.5) WITHIN GROUP (ORDER BY decision))::bigint,"
                                " round(max(decision))::bigint, count(finish),"
                                " round(percentile_cont(0.5) WITHIN GROUP (ORDER BY finish))::bigint,"
                                " round(max(finish))::bigint FROM t",
                                2, p, err);
    if (res == NULL)
        return NULL;
    json_t *out = json_pack("{s:{s:I, s:o, s:o}, s:{s:I, s:o, s:o}}", "to_decision", "count",
                            dashboard__int(res, 0, 0), "median_seconds", dashboard__int_or_null(res, 0, 1),
                            "longest_seconds", dashboard__int_or_null(res, 0, 2), "to_finish", "count",
                            dashboard__int(res, 0, 3), "median_seconds", dashboard__int_or_null(res, 0, 4),
                            "longest_seconds", dashboard__int_or_null(res, 0, 5));
    PQclear(res);
    return out;
}

/* The CP-IS Worker's queue: the open CPIS Follow up steps it holds, and how long the oldest has
 * waited in it. */
static json_t *dashboard__cpis_queue(PGconn *conn, tsr_error_t *err)
{
    const char *p[1] = {DASHBOARD_CPIS_QUEUE};
    PGresult *res =
        tsr_db_exec(conn,
                    "SELECT count(*), to_char(min(queued_at) AT TIME ZONE 'UTC', " DASHBOARD_RFC3339 "),"
                    " floor(extract(epoch FROM now() - min(queued_at)))::bigint"
                    " FROM cpis_follow_ups WHERE open AND queue = $1",
                    1, p, err);
    if (res == NULL)
        return NULL;
    json_t *out =
        json_pack("{s:s, s:s, s:I, s:o, s:o}", "queue", DASHBOARD_CPIS_QUEUE, "title", "CP-IS Worker",
                  "count", dashboard__int(res, 0, 0), "oldest_queued_at", dashboard__text_or_null(res, 0, 1),
                  "oldest_age_seconds", dashboard__int_or_null(res, 0, 2));
    PQclear(res);
    return out;
}

int reporting_front_door_dashboard(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Reporting__DashboardQuery *in = (const Tsr__Reporting__DashboardQuery *)call->payload;
    if (tsr_actor_require_role(call->actor, reporting_report_roles(), "see the front-door dashboard", err) !=
        0)
        return -1;
    const char *tz[1] = {reporting_readmodel_timezone()};
    PGresult *res = tsr_db_exec(call->conn,
                                "SELECT d::text, date_trunc('week', d::timestamp)::date::text,"
                                " to_char(now() AT TIME ZONE 'UTC', " DASHBOARD_RFC3339
                                ") FROM (SELECT (now() AT TIME ZONE $1)::date) AS t (d)",
                                1, tz, err);
    if (res == NULL)
        return -1;
    char today[11], monday[11], as_of[32], start[11], end[11];
    snprintf(today, sizeof(today), "%s", PQgetvalue(res, 0, 0));
    snprintf(monday, sizeof(monday), "%s", PQgetvalue(res, 0, 1));
    snprintf(as_of, sizeof(as_of), "%s", PQgetvalue(res, 0, 2));
    PQclear(res);
    if (dashboard__period(in, today, monday, start, end, err) != 0)
        return -1;
    const char *p[4] = {start, end, today, monday};
    char heading[300];
    snprintf(heading, sizeof(heading), "%s%s" DASHBOARD_TITLE, reporting_report_authority(),
             reporting_report_authority()[0] ? " - " : "");
    json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "dashboard", DASHBOARD_NAME,
                             "title", DASHBOARD_TITLE, "heading", heading, "as_of", as_of, "today", today,
                             "week_start", monday, "parameters", "start", start, "end", end);
    json_t *part;
    int rc = -1;
    char *text = NULL;
    if ((part = dashboard__started(call->conn, p, err)) == NULL)
        goto done;
    json_object_set_new(body, "started", part);
    if ((part = dashboard__open(call->conn, err)) == NULL)
        goto done;
    json_object_set_new(body, "open", part);
    if ((part = dashboard__finished(call->conn, p, err)) == NULL)
        goto done;
    json_object_set_new(body, "finished", part);
    if ((part = dashboard__times(call->conn, p, err)) == NULL)
        goto done;
    json_object_set_new(body, "times", part);
    if ((part = dashboard__cpis_queue(call->conn, err)) == NULL)
        goto done;
    json_object_set_new(body, "cpis_queue", part);
    text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text == NULL) {
        tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL, "The dashboard could not be written.");
        goto done;
    }
    Tsr__Reporting__ReportOutput out = TSR__REPORTING__REPORT_OUTPUT__INIT;
    out.content_type = (char *)reporting_render_content_type("json");
    out.filename = (char *)"";
    out.body.data = (uint8_t *)text;
    out.body.len = strlen(text);
    tsr_call_reply(call, &out.base);
    rc = 0;
done:
    free(text);
    json_decref(body);
    return rc;
}
