/* routes: the API's calls, each a line in gw_routes, mapped to a request to the owning daemon. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.pb-c.h"
#include "cpis_routes.h"
#include "notifications.pb-c.h"
#include "family_context_routes.h"
#include "gateway.h"
#include "addresses_routes.h"
#include "people_routes.h"
#include "retention_routes.h"
#include "report_routes.h"
#include "workflow_routes.h"
#include "promtext.h"
#include "records.pb-c.h"
#include "tsr_envelope.h"
#include "tsr_metrics.h"
#include "worker_routes.h"

/* The daemons /readyz and /metrics ask. */
static const char *const routes_daemons[] = {"accounts",      "records",   "audit",         "workflow",
                                             "consultations", "reporting", "notifications", "cpis"};
#define ROUTES_DAEMONS (sizeof(routes_daemons) / sizeof(routes_daemons[0]))

/* ------------------------------------------------------------------------------------------------
 * Organisations
 * ---------------------------------------------------------------------------------------------- */

static json_t *routes__organisation(const Tsr__Records__Organisation *o)
{
    return json_pack("{s:o, s:s, s:s, s:s, s:o, s:o}", "id", gw_json_id(o->id), "name", o->name, "address",
                     o->address, "telephone", o->telephone, "title", gw_json_title(o->name, o->id),
                     "created_at", gw_json_time(o->created_at_ms));
}

static void routes__organisation_reply(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                       const tsr_error_t *err, int status, int summary)
{
    Tsr__Records__Organisation *o = (Tsr__Records__Organisation *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__records__organisation__descriptor);
    if (o == NULL)
        return;
    json_t *body = routes__organisation(o);
    uint64_t id = o->id;
    tsr__records__organisation__free_unpacked(o, NULL);
    /* The summary page lists the organisation's work steps, from the workflow daemon. */
    if (summary)
        gw_reply_with_steps(call, body, "organisation", id, status);
    else
        gw_reply_json(call, status, body);
}

static void routes__organisation_created(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                         const tsr_error_t *err)
{
    routes__organisation_reply(call, daemon, reply, err, 201, 0);
}

static void routes__organisation_read(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                      const tsr_error_t *err)
{
    routes__organisation_reply(call, daemon, reply, err, 200, 1);
}

static void routes_organisation_create(gw_call_t *call)
{
    static const char *const fields[] = {"name", "address", "telephone", NULL};
    Tsr__Records__OrganisationCreate req = TSR__RECORDS__ORGANISATION_CREATE__INIT;
    const char *name, *address, *telephone;
    if (gw_json_check_object(call, fields) != 0 || gw_json_string(call, "name", 1, &name) != 0 ||
        gw_json_string(call, "address", 0, &address) != 0 ||
        gw_json_string(call, "telephone", 0, &telephone) != 0)
        return;
    req.name = (char *)name;
    req.address = (char *)address;
    req.telephone = (char *)telephone;
    gw_call_daemon(call, "records", "records.organisation.create", &req.base, routes__organisation_created);
}

static void routes_organisation_get(gw_call_t *call)
{
    Tsr__Records__OrganisationGet req = TSR__RECORDS__ORGANISATION_GET__INIT;
    if (gw_path_id(call, 0, &req.id) != 0)
        return;
    gw_call_daemon(call, "records", "records.organisation.get", &req.base, routes__organisation_read);
}

static void routes__organisation_listed(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                        const tsr_error_t *err)
{
    Tsr__Records__OrganisationList *list = (Tsr__Records__OrganisationList *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__records__organisation_list__descriptor);
    if (list == NULL)
        return;
    json_t *items = json_array();
    for (size_t i = 0; i < list->n_items; i++)
        json_array_append_new(items, routes__organisation(list->items[i]));
    json_t *body = gw_list_body(items, list->next_cursor);
    tsr__records__organisation_list__free_unpacked(list, NULL);
    gw_reply_json(call, 200, body);
}

static void routes_organisation_search(gw_call_t *call)
{
    Tsr__Records__OrganisationSearch req = TSR__RECORDS__ORGANISATION_SEARCH__INIT;
    const char *q = gw_param(call, "q");
    const char *cursor = gw_param(call, "cursor");
    if (gw_param_limit(call, &req.limit) != 0)
        return;
    req.q = (char *)(q ? q : "");
    req.cursor = (char *)(cursor ? cursor : "");
    gw_call_daemon(call, "records", "records.organisation.search", &req.base, routes__organisation_listed);
}

/* ------------------------------------------------------------------------------------------------
 * Audit
 * ---------------------------------------------------------------------------------------------- */

static void routes__audit_listed(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                 const tsr_error_t *err)
{
    Tsr__Audit__AuditEntries *list = (Tsr__Audit__AuditEntries *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__audit__audit_entries__descriptor);
    if (list == NULL)
        return;
    json_t *items = json_array();
    for (size_t i = 0; i < list->n_items; i++) {
        const Tsr__Audit__AuditEntry *e = list->items[i];
        json_t *roles = json_array();
        for (size_t r = 0; r < e->n_roles; r++)
            json_array_append_new(roles, json_string(e->roles[r]));
        json_t *teams = json_array();
        for (size_t t = 0; t < e->n_teams; t++)
            json_array_append_new(teams, json_string(e->teams[t]));
        json_t *item = json_pack(
            "{s:o, s:o, s:o, s:{s:o, s:s, s:s}, s:o, s:o, s:s, s:{s:s, s:o}, s:s, s:s, s:s, s:s, s:s}", "id",
            gw_json_id(e->id), "occurred_at", gw_json_time(e->occurred_at_ms), "recorded_at",
            gw_json_time(e->recorded_at_ms), "worker", "id", gw_json_id(e->worker_id), "username",
            e->username, "contract", e->contract, "roles", roles, "teams", teams, "action", e->action,
            "record", "kind", e->record_kind, "id", gw_json_id(e->record_id), "summary", e->summary, "reason",
            e->reason, "trace_id", e->trace_id, "session_id", e->session_id, "hash", e->hash);
        if (item != NULL)
            json_array_append_new(items, item);
    }
    json_t *body = gw_list_body(items, list->next_cursor);
    tsr__audit__audit_entries__free_unpacked(list, NULL);
    gw_reply_json(call, 200, body);
}

static void routes__audit_report_rendered(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                          const tsr_error_t *err)
{
    Tsr__Audit__UseReportOutput *out = (Tsr__Audit__UseReportOutput *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__audit__use_report_output__descriptor);
    if (out == NULL)
        return;
    gw_reply_rendered(call, out->content_type, out->filename, out->body.data, out->body.len);
    tsr__audit__use_report_output__free_unpacked(out, NULL);
}

/* ------------------------------------------------------------------------------------------------
 * Notices
 * ---------------------------------------------------------------------------------------------- */

static void routes__notices_listed(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                   const tsr_error_t *err)
{
    Tsr__Notifications__Notices *list = (Tsr__Notifications__Notices *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__notifications__notices__descriptor);
    if (list == NULL)
        return;
    json_t *items = json_array();
    for (size_t i = 0; i < list->n_items; i++) {
        const Tsr__Notifications__Notice *n = list->items[i];
        json_t *item =
            json_pack("{s:o, s:s, s:s, s:s, s:o, s:o, s:s, s:I}", "id", gw_json_id(n->id), "kind", n->kind,
                      "title", n->title, "link", n->link, "created_at", gw_json_time(n->created_at_ms),
                      "read_at", n->read_at_ms ? gw_json_time(n->read_at_ms) : json_null(), "email_status",
                      n->email_status, "occurrences", (json_int_t)(n->occurrences ? n->occurrences : 1));
        if (item != NULL)
            json_array_append_new(items, item);
    }
    json_t *body = gw_list_body(items, list->next_cursor);
    json_object_set_new(body, "unread", json_integer(list->unread));
    tsr__notifications__notices__free_unpacked(list, NULL);
    gw_reply_json(call, 200, body);
}

/* GET /api/v1/notices?unread_only=true&limit=&cursor=: the worker's own notices, newest first. */
static void routes_notices(gw_call_t *call)
{
    Tsr__Notifications__NoticeQuery req = TSR__NOTIFICATIONS__NOTICE_QUERY__INIT;
    const char *cursor = gw_param(call, "cursor");
    if (gw_param_bool(call, "unread_only", &req.unread_only) != 0 || gw_param_limit(call, &req.limit) != 0)
        return;
    req.cursor = (char *)(cursor ? cursor : "");
    gw_call_daemon(call, "notifications", "notifications.notices.list", &req.base, routes__notices_listed);
}

static void routes__notice_read(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                const tsr_error_t *err)
{
    (void)daemon;
    (void)reply;
    if (err != NULL) {
        gw_reply_error(call, err);
        return;
    }
    gw_reply_no_content(call);
}

/* POST /api/v1/notices/{id}/read */
static void routes_notice_read(gw_call_t *call)
{
    Tsr__Notifications__NoticeMarkRead req = TSR__NOTIFICATIONS__NOTICE_MARK_READ__INIT;
    if (gw_path_id(call, 0, &req.id) != 0)
        return;
    gw_call_daemon(call, "notifications", "notifications.notice.mark_read", &req.base, routes__notice_read);
}

/* GET /api/v1/audit/reports/{kind}?from=&to=&format=json|csv: one of the five audits of use. */
static void routes_audit_report(gw_call_t *call)
{
    Tsr__Audit__UseReportQuery req = TSR__AUDIT__USE_REPORT_QUERY__INIT;
    int to_is_date = 0;
    if (gw_param_time(call, "from", &req.from_ms, NULL) != 0 ||
        gw_param_time(call, "to", &req.to_ms, &to_is_date) != 0)
        return;
    /* As for the trail: a date alone as 'to' takes in the whole of that day. */
    if (to_is_date && req.to_ms)
        req.to_ms += 86400000;
    const char *format = gw_param(call, "format");
    req.kind = call->path_vars[0];
    req.format = (char *)(format ? format : "json");
    gw_call_daemon(call, "audit", "audit.reports.run", &req.base, routes__audit_report_rendered);
}

static void routes_audit_events(gw_call_t *call)
{
    Tsr__Audit__AuditQuery req = TSR__AUDIT__AUDIT_QUERY__INIT;
    const char *cursor = gw_param(call, "cursor");
    int to_is_date = 0;
    if (gw_param_id(call, "person_id", &req.person_id) != 0 ||
        gw_param_id(call, "organisation_id", &req.organisation_id) != 0 ||
        gw_param_id(call, "account_id", &req.account_id) != 0 ||
        gw_param_id(call, "worker_id", &req.worker_id) != 0 ||
        gw_param_time(call, "from", &req.from_ms, NULL) != 0 ||
        gw_param_time(call, "to", &req.to_ms, &to_is_date) != 0 || gw_param_limit(call, &req.limit) != 0)
        return;
    /* The trail ends before 'to'; a date alone means the whole of that day, as an auditor asking
     * for 14 to 14 November means. */
    if (to_is_date && req.to_ms)
        req.to_ms += 86400000;
    if (req.from_ms && req.to_ms && req.to_ms <= req.from_ms) {
        gw_fail(call, TSR_E_INVALID, "invalid_period", "to", "'to' must come after 'from'.");
        return;
    }
    req.cursor = (char *)(cursor ? cursor : "");
    gw_call_daemon(call, "audit", "audit.events.query", &req.base, routes__audit_listed);
}

/* ------------------------------------------------------------------------------------------------
 * Health, readiness and metrics
 * ---------------------------------------------------------------------------------------------- */

#define ROUTES_READY_TIMEOUT_MS 1000

static void routes_healthz(gw_call_t *call)
{
    gw_reply_json(call, 200, json_pack("{s:s}", "status", "ok"));
}

static void routes__daemon_up(const char *daemon, int up)
{
    char labels[64];
    snprintf(labels, sizeof(labels), "target=\"%s\"", daemon);
    tsr_metric_set(
        tsr_metrics_gauge("tsr_daemon_up", "Whether the daemon answered the gateway's last call.", labels),
        up);
}

/* A readiness check in flight. The call is answered when every check is in or at the deadline,
 * whichever comes first; a check that answers later (a database that hangs) then frees only this. */
typedef struct routes_ready routes_ready_t;
typedef struct {
    routes_ready_t *ready;
    const char *name;
} routes_ready_check_t;

struct routes_ready {
    gw_call_t *call; /* NULL once answered */
    json_t *checks;
    int waiting; /* checks not yet in */
    int refs;    /* checks not yet in, and the timer until it has closed */
    uv_timer_t timer;
    routes_ready_check_t daemons[ROUTES_DAEMONS];
    char lockdown[640]; /* the database_lockdown check, filled with the database's */
};

static void routes__ready_unref(routes_ready_t *ready)
{
    if (--ready->refs > 0)
        return;
    json_decref(ready->checks);
    free(ready);
}

static void routes__ready_timer_closed(uv_handle_t *handle)
{
    routes__ready_unref(handle->data);
}

static void routes__ready_answer(routes_ready_t *ready)
{
    gw_call_t *call = ready->call;
    if (call == NULL)
        return;
    ready->call = NULL;
    uv_timer_stop(&ready->timer);
    uv_close((uv_handle_t *)&ready->timer, routes__ready_timer_closed);
    /* The body names every check, "ok" or what is wrong, in a fixed order. */
    json_t *checks = json_object();
    int ok = 1;
    for (size_t i = 0; i < ROUTES_DAEMONS + 2; i++) {
        const char *name = i == 0 ? "database" : i == 1 ? "database_lockdown" : routes_daemons[i - 2];
        const char *state = json_string_value(json_object_get(ready->checks, name));
        if (state == NULL)
            state = "no answer within 1 s";
        ok = ok && strcmp(state, "ok") == 0;
        json_object_set_new(checks, name, json_string(state));
    }
    gw_reply_json(call, ok ? 200 : 503,
                  json_pack("{s:s, s:o}", "status", ok ? "ready" : "not_ready", "checks", checks));
}

static void routes__ready_in(routes_ready_t *ready, const char *name, const char *state)
{
    json_object_set_new(ready->checks, name, json_string(state));
    if (--ready->waiting == 0)
        routes__ready_answer(ready);
    routes__ready_unref(ready);
}

static void routes__ready_timeout(uv_timer_t *timer)
{
    routes__ready_answer(timer->data);
}

/* The database answers, and is locked down as docs/OPERATIONS.md, section 9, says: PUBLIC may not
 * connect to it or make temporary tables in it, nor use or create in schema public. The grants are
 * the database's own, which a restore into a new database (section 8) does not bring back: then
 * every role of the cluster may connect again, and this check says what to run. */
static int routes__ready_db(PGconn *conn, void *arg, tsr_error_t *err)
{
    routes_ready_t *ready = arg;
    PGresult *res = tsr_db_exec(conn,
                                "SELECT current_database(),"
                                " has_database_privilege('public', current_database(), 'CONNECT'),"
                                " has_database_privilege('public', current_database(), 'TEMPORARY'),"
                                " has_schema_privilege('public', 'public', 'CREATE'),"
                                " has_schema_privilege('public', 'public', 'USAGE')",
                                0, NULL, err);
    if (res == NULL)
        return -1;
    /* What PUBLIC may do of the four, in words. */
    char granted[240] = "", one[120];
    for (int i = 1; i <= 4; i++) {
        if (strcmp(PQgetvalue(res, 0, i), "t") != 0)
            continue;
        if (i == 1)
            snprintf(one, sizeof(one), "connect to database %s", PQgetvalue(res, 0, 0));
        else
            snprintf(one, sizeof(one), "%s",
                     i == 2   ? "make temporary tables in it"
                     : i == 3 ? "create in schema public"
                              : "use schema public");
        size_t len = strlen(granted);
        snprintf(granted + len, sizeof(granted) - len, "%s%s", len ? ", " : "", one);
    }
    if (granted[0] == '\0')
        snprintf(ready->lockdown, sizeof(ready->lockdown), "ok");
    else
        snprintf(
            ready->lockdown, sizeof(ready->lockdown),
            "PUBLIC (every role of the cluster) may %s: not locked down, as after a restore into a new "
            "database. Run share/tessera/database-lockdown.sql on it as a superuser (docs/OPERATIONS.md, "
            "section 8)",
            granted);
    PQclear(res);
    return 0;
}

static void routes__ready_db_done(void *arg, int rc, const tsr_error_t *err)
{
    routes_ready_t *ready = arg;
    routes__ready_in(ready, "database_lockdown",
                     rc == 0 ? ready->lockdown : "not checked: the database did not answer");
    routes__ready_in(ready, "database", rc == 0 ? "ok" : err->message);
}

static void routes__ready_daemon(void *arg, const Tsr__Envelope *reply, const tsr_error_t *err)
{
    routes_ready_check_t *check = arg;
    Tsr__HealthReply *health =
        reply && !err ? tsr__health_reply__unpack(NULL, reply->payload.len, reply->payload.data) : NULL;
    const char *state = err                   ? err->message
                        : health == NULL      ? "unreadable reply"
                        : health->database_ok ? "ok"
                        : health->detail[0]   ? health->detail
                                              : "its database does not answer";
    routes__daemon_up(check->name, err == NULL);
    routes__ready_in(check->ready, check->name, state);
    if (health)
        tsr__health_reply__free_unpacked(health, NULL);
}

static void routes_readyz(gw_call_t *call)
{
    routes_ready_t *ready = calloc(1, sizeof(*ready));
    json_t *checks = json_object();
    if (ready == NULL || checks == NULL) {
        free(ready);
        json_decref(checks);
        gw_fail(call, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
        return;
    }
    tsr_daemon_t *daemon = gateway_daemon(call->gateway);
    /* The call may be answered before this function returns (every check failing at once). */
    char trace_id[sizeof(call->trace_id)];
    memcpy(trace_id, call->trace_id, sizeof(trace_id));
    ready->call = call;
    ready->checks = checks;
    ready->waiting = 2 + (int)ROUTES_DAEMONS; /* the database, its lock-down and each daemon */
    ready->refs = ready->waiting + 1;
    uv_timer_init(tsr_daemon_loop(daemon), &ready->timer);
    ready->timer.data = ready;
    uv_timer_start(&ready->timer, routes__ready_timeout, ROUTES_READY_TIMEOUT_MS, 0);
    for (size_t i = 0; i < ROUTES_DAEMONS; i++) {
        routes_ready_check_t *check = &ready->daemons[i];
        check->ready = ready;
        check->name = routes_daemons[i];
        tsr_client_t *client = tsr_daemon_client(daemon, check->name);
        tsr_call_opts_t opts = {
            .type = "tsr.health", .trace_id = trace_id, .timeout_ms = ROUTES_READY_TIMEOUT_MS};
        if (client == NULL)
            routes__ready_in(ready, check->name, "not configured");
        else if (tsr_client_call(client, &opts, NULL, routes__ready_daemon, check) != 0)
            routes__ready_in(ready, check->name, "shutting down");
    }
    if (tsr_daemon_autocommit(daemon, routes__ready_db, routes__ready_db_done, ready) != 0) {
        routes__ready_in(ready, "database_lockdown", "shutting down");
        routes__ready_in(ready, "database", "shutting down");
    }
}

static void routes__metrics_append(gw_call_t *call, const char *text)
{
    size_t len = strlen(text);
    char *bigger = realloc(call->text, call->text_len + len + 2);
    if (bigger == NULL)
        return;
    memcpy(bigger + call->text_len, text, len);
    call->text = bigger;
    call->text_len += len;
    if (len > 0 && text[len - 1] != '\n')
        call->text[call->text_len++] = '\n';
    call->text[call->text_len] = '\0';
}

static void routes__metrics_done(gw_call_t *call)
{
    if (--call->pending > 0)
        return;
    /* The gateway's own metrics last, so that tsr_daemon_up tells of this scrape's answers; the
     * merge puts them first and gives every family one HELP and TYPE. */
    char *own = tsr_metrics_render();
    const char *texts[2] = {own, call->text};
    char *merged = gw_promtext_merge(texts, 2);
    free(own);
    if (merged == NULL) {
        gw_fail(call, TSR_E_INTERNAL, "internal", NULL, "The metrics could not be gathered.");
        return;
    }
    gw_reply_text(call, 200, "text/plain; version=0.0.4; charset=utf-8", merged, strlen(merged));
    free(merged);
}

static void routes__metrics_daemon(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                   const tsr_error_t *err)
{
    routes__daemon_up(daemon, err == NULL);
    if (err == NULL && reply != NULL) {
        Tsr__MetricsReply *m = tsr__metrics_reply__unpack(NULL, reply->payload.len, reply->payload.data);
        if (m != NULL) {
            routes__metrics_append(call, m->text);
            tsr__metrics_reply__free_unpacked(m, NULL);
        }
    }
    routes__metrics_done(call);
}

static void routes_metrics(gw_call_t *call)
{
    call->pending = (int)ROUTES_DAEMONS;
    for (size_t i = 0; i < ROUTES_DAEMONS; i++)
        gw_call_daemon_timeout(call, routes_daemons[i], "tsr.metrics", NULL, ROUTES_READY_TIMEOUT_MS,
                               routes__metrics_daemon);
}

void gw_routes_connect(tsr_daemon_t *daemon)
{
    for (size_t i = 0; i < ROUTES_DAEMONS; i++)
        tsr_daemon_client(daemon, routes_daemons[i]);
}

/* ------------------------------------------------------------------------------------------------
 * The table
 * ---------------------------------------------------------------------------------------------- */

const gw_route_t gw_routes[] = {
    /* method  pattern                           handler                       session  body */
    {"POST", "/api/v1/session", gw_session_begin, 0, 1},
    {"DELETE", "/api/v1/session", gw_session_end, 1, 0},
    {"PUT", "/api/v1/session/password", gw_session_password, 1, 1},
    {"GET", "/api/v1/organisations", routes_organisation_search, 1, 0},
    {"POST", "/api/v1/organisations", routes_organisation_create, 1, 1},
    {"GET", "/api/v1/organisations/{id}", routes_organisation_get, 1, 0},
    {"GET", "/api/v1/people", gw_person_search, 1, 0},
    {"POST", "/api/v1/people", gw_person_create, 1, 1},
    {"GET", "/api/v1/people/{id}", gw_person_get, 1, 0},
    {"PUT", "/api/v1/people/{id}/restriction", gw_person_restrict, 1, 1},
    {"DELETE", "/api/v1/people/{id}/restriction", gw_person_unrestrict, 1, 0},
    {"PUT", "/api/v1/people/{id}/nhs-number", gw_person_nhs_number_set, 1, 1},
    {"PUT", "/api/v1/people/{id}/details", gw_person_details_set, 1, 1},
    {"PUT", "/api/v1/people/{id}/birth", gw_person_birth_record, 1, 1},
    {"PUT", "/api/v1/people/{id}/retention/{service}", gw_retention_flag, 1, 1},
    {"DELETE", "/api/v1/people/{id}/retention/{service}", gw_retention_unflag, 1, GW_BODY_OPTIONAL},
    {"PUT", "/api/v1/people/{id}/retention-hold", gw_retention_hold, 1, 1},
    {"DELETE", "/api/v1/people/{id}/retention-hold", gw_retention_release, 1, 0},
    {"GET", "/api/v1/retention/schedule", gw_retention_schedule, 1, 0},
    {"GET", "/api/v1/retention/due", gw_retention_due, 1, 0},
    {"POST", "/api/v1/people/{id}/disposal", gw_retention_dispose, 1, GW_BODY_OPTIONAL},
    {"GET", "/api/v1/restrictions/due", gw_restrictions_due, 1, 0},
    {"POST", "/api/v1/people/{id}/allocations", gw_allocation_add, 1, 1},
    {"DELETE", "/api/v1/people/{id}/allocations/{aid}", gw_allocation_end, 1, 0},
    {"POST", "/api/v1/people/{id}/relationships", gw_relationship_add, 1, 1},
    {"POST", "/api/v1/people/{id}/merge", gw_person_merge, 1, 1},
    {"POST", "/api/v1/people/{id}/case-notes", gw_case_note_add, 1, 1},
    {"GET", "/api/v1/people/{id}/case-notes", gw_case_note_list, 1, 0},
    {"POST", "/api/v1/people/{id}/case-notes/{nid}/remove", gw_case_note_remove, 1, 1},
    {"POST", "/api/v1/people/{id}/involvements", gw_involvement_add, 1, 1},
    {"GET", "/api/v1/people/{id}/involvements", gw_involvement_list, 1, 0},
    {"POST", "/api/v1/people/{id}/involvements/{iid}/end", gw_involvement_end, 1, GW_BODY_OPTIONAL},
    {"POST", "/api/v1/people/{id}/addresses", gw_address_add, 1, 1},
    {"GET", "/api/v1/people/{id}/addresses", gw_address_list, 1, 0},
    {"POST", "/api/v1/people/{id}/addresses/{aid}/end", gw_address_end, 1, GW_BODY_OPTIONAL},
    {"PUT", "/api/v1/workers/{id}/prerequisites", gw_worker_prerequisites, 1, 1},
    {"POST", "/api/v1/workers/{id}/end", gw_worker_end, 1, 1},
    {"PUT", "/api/v1/workers/{id}/password", gw_worker_password_reset, 1, 1},
    {"DELETE", "/api/v1/workers/{id}/sign-in-pause", gw_worker_sign_in_unpause, 1, 0},
    {"POST", "/api/v1/workers/{id}/conflicts", gw_conflict_declare, 1, 1},
    {"GET", "/api/v1/workers", gw_worker_search, 1, 0},
    {"POST", "/api/v1/workers", gw_worker_create, 1, 1},
    {"GET", "/api/v1/workers/{id}", gw_worker_get, 1, 0},
    {"PUT", "/api/v1/workers/{id}", gw_worker_update, 1, 1},
    {"POST", "/api/v1/steps", gw_step_start, 1, 1},
    {"GET", "/api/v1/steps", gw_steps_by_subject, 1, 0},
    {"POST", "/api/v1/steps/assign", gw_steps_assign, 1, 1},
    {"GET", "/api/v1/steps/{id}", gw_step_get, 1, 0},
    {"PUT", "/api/v1/steps/{id}/sections/{section}", gw_section_save, 1, 1},
    {"POST", "/api/v1/steps/{id}/requests", gw_request_raise, 1, 1},
    {"GET", "/api/v1/steps/{id}/recipients", gw_recipients, 1, 0},
    {"POST", "/api/v1/steps/{id}/assign", gw_step_assign, 1, 1},
    {"POST", "/api/v1/steps/{id}/resume", gw_step_resume, 1, GW_BODY_OPTIONAL},
    {"POST", "/api/v1/steps/{id}/reopen", gw_step_reopen, 1, GW_BODY_OPTIONAL},
    {"POST", "/api/v1/steps/{id}/finish", gw_step_finish, 1, GW_BODY_OPTIONAL},
    {"POST", "/api/v1/steps/{id}/cancel", gw_step_cancel, 1, 1},
    {"POST", "/api/v1/steps/{id}/delete", gw_step_delete, 1, 1},
    {"POST", "/api/v1/requests/{id}/complete", gw_request_complete, 1, GW_BODY_OPTIONAL},
    {"POST", "/api/v1/requests/{id}/return", gw_request_return, 1, GW_BODY_OPTIONAL},
    {"POST", "/api/v1/requests/{id}/acknowledge", gw_request_acknowledge, 1, GW_BODY_OPTIONAL},
    {"GET", "/api/v1/workview", gw_workview, 1, 0},
    {"GET", "/api/v1/leavers", gw_leavers, 1, 0},
    {"GET", "/api/v1/leavers/allocations", gw_leavers_allocations, 1, 0},
    {"GET", "/api/v1/workflow/definitions", gw_definitions, 1, 0},
    {"GET", "/api/v1/audit/events", routes_audit_events, 1, 0},
    {"GET", "/api/v1/audit/reports/{kind}", routes_audit_report, 1, 0},
    {"GET", "/api/v1/notices", routes_notices, 1, 0},
    {"POST", "/api/v1/notices/{id}/read", routes_notice_read, 1, GW_BODY_OPTIONAL},
    {"GET", "/api/v1/reports/consultations-in-period", gw_report_consultations_in_period, 1, 0},
    {"GET", "/api/v1/reports/front-door-dashboard", gw_report_front_door_dashboard, 1, 0},
    {"POST", "/api/v1/cpis/notifications", gw_cpis_notifications_post, 1, GW_BODY_RAW},
    {"GET", "/api/v1/cpis/errors", gw_cpis_errors, 1, 0},
    {"POST", "/api/v1/cpis/errors/{id}/retry", gw_cpis_error_retry, 1, GW_BODY_OPTIONAL},
    {"POST", "/api/v1/cpis/errors/{id}/close", gw_cpis_error_close, 1, 1},
    {"GET", "/api/v1/cpis/plans", gw_cpis_plans_list, 1, 0},
    {"POST", "/api/v1/cpis/plans", gw_cpis_plan_record, 1, 1},
    {"POST", "/api/v1/cpis/plans/{id}/end", gw_cpis_plan_end, 1, GW_BODY_OPTIONAL},
    {"POST", "/api/v1/cpis/demographics", gw_cpis_demographics_record, 1, 1},
    {"GET", "/api/v1/cpis/uploads", gw_cpis_uploads_list, 1, 0},
    {"POST", "/api/v1/cpis/uploads", gw_cpis_upload_create, 1, GW_BODY_OPTIONAL},
    {"GET", "/api/v1/cpis/uploads/{id}", gw_cpis_upload_get, 1, 0},
    {"POST", "/api/v1/cpis/uploads/{id}/response", gw_cpis_upload_response, 1, 1},
    {"GET", "/api/v1/family-context/search", gw_family_context_search, 1, 0},
    {"GET", "/api/v1/family-context/people/{id}", gw_family_context_person, 1, 0},
    {"GET", "/healthz", routes_healthz, 0, 0},
    {"GET", "/readyz", routes_readyz, 0, 0},
    {"GET", "/metrics", routes_metrics, 0, 0},
};
const size_t gw_routes_count = sizeof(gw_routes) / sizeof(gw_routes[0]);
