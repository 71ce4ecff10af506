/* http: the gateway's HTTP server (h2o 2.2, libuv build) on the daemon's loop, the life of a call,
 * and the reply helpers every route uses. */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "gateway.h"
#include "tsr_envelope.h"
#include "tsr_json.h"
#include "tsr_log.h"
#include "tsr_metrics.h"
#include "tsr_text.h"

struct gateway {
    tsr_daemon_t *daemon;
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    uv_tcp_t listener;
    int listening;
    int context_ready;
    int config_ready;
    int in_flight;
    size_t max_body;
    /* http.addr and http.idle_timeout_ms, checked by gateway_http_configure */
    const char *addr;
    struct sockaddr_storage sa;
    long idle_ms;
    tsr_metric_t *m_latency;
};

/* ------------------------------------------------------------------------------------------------
 * Calls
 * ---------------------------------------------------------------------------------------------- */

/* h2o frees the request (an HTTP/2 stream the client reset, a connection closed) and the slot with
 * it, which may be before the call is answered: the call forgets both, so that its answer touches
 * neither. */
static void http__on_req_disposed(void *p)
{
    gw_call_t **slot = p;
    if (*slot != NULL) {
        (*slot)->req = NULL;
        (*slot)->slot = NULL;
    }
}

static void http__call_free(gw_call_t *call)
{
    call->gateway->in_flight--;
    if (call->slot != NULL)
        *call->slot = NULL;
    free(call->roles_buf);
    free(call->roles);
    free(call->team_ids);
    free(call->team_names_buf);
    free(call->team_names);
    free(call->username);
    free(call->display_name);
    for (size_t i = 0; i < call->n_path_vars; i++)
        free(call->path_vars[i]);
    for (size_t i = 0; i < call->n_params; i++) {
        free(call->param_names[i]);
        free(call->param_values[i]);
    }
    json_decref(call->body);
    free(call->raw_body);
    json_decref(call->partial);
    free(call->text);
    free(call->idempotency_key);
    free(call->access_reason);
    free(call);
}

static void http__count(gw_call_t *call, int status)
{
    /* The route's pattern, not the path, so that the label's values stay few. */
    char labels[200];
    if (call->route != NULL)
        snprintf(labels, sizeof(labels), "route=\"%s %s\",status=\"%d\"", call->route->method,
                 call->route->pattern, status);
    else
        snprintf(labels, sizeof(labels), "route=\"unmatched\",status=\"%d\"", status);
    tsr_metric_add(tsr_metrics_counter("gateway_http_requests_total", "HTTP requests answered.", labels), 1);
    tsr_metric_observe(call->gateway->m_latency, (double)(uv_hrtime() - call->started_ns) / 1e9);
}

static const char *http__reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 422:
        return "Unprocessable Entity";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return status < 400 ? "OK" : "Error";
    }
}

/* Sends the response if the client is still there, and ends the call either way; first, a call
 * holding its Idempotency-Key's claim settles it (keys.c), the answer waiting for that. */
static void http__respond(gw_call_t *call, int status, const char *content_type, const char *body, size_t len)
{
    if (call->key_held && gw_keys_settle(call, status, content_type, body, len))
        return;
    h2o_req_t *req = call->req;
    http__count(call, status);
    if (req != NULL) {
        *call->slot = NULL; /* the pool's dispose must not touch the call once it is freed */
        call->slot = NULL;
        req->res.status = status;
        req->res.reason = http__reason(status);
        if (content_type != NULL)
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type,
                           strlen(content_type));
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-trace-id"), 0, NULL,
                              call->trace_id, strlen(call->trace_id));
        h2o_iovec_t copy = h2o_strdup(&req->pool, body ? body : "", len);
        req->res.content_length = copy.len;
        h2o_send_inline(req, copy.base, copy.len);
    }
    http__call_free(call);
}

void gw_reply_text(gw_call_t *call, int status, const char *content_type, const char *text, size_t len)
{
    http__respond(call, status, content_type, text, len);
}

void gw_reply_json(gw_call_t *call, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    if (text == NULL) {
        http__respond(call, 500, "application/json; charset=utf-8",
                      "{\"error\":{\"code\":\"internal\",\"message\":\"The reply could not be written.\"}}",
                      73);
        return;
    }
    http__respond(call, status, "application/json; charset=utf-8", text, strlen(text));
    free(text);
}

void gw_reply_no_content(gw_call_t *call)
{
    http__respond(call, 204, NULL, "", 0);
}

void gw_replied_no_content(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                           const tsr_error_t *err)
{
    (void)daemon;
    (void)reply;
    if (err != NULL)
        gw_reply_error(call, err);
    else
        gw_reply_no_content(call);
}

/* One fault as the API gives it: {code, message, field (where there is one)}. */
static json_t *http__fault(const char *code, const char *text, const char *field)
{
    json_t *error = json_object();
    json_object_set_new(error, "code", json_string(code[0] ? code : "error"));
    json_t *message = json_string(text);
    json_object_set_new(error, "message", message ? message : json_string("The request failed."));
    if (field[0] != '\0')
        json_object_set_new(error, "field", json_string(field));
    return error;
}

void gw_reply_error(gw_call_t *call, const tsr_error_t *err)
{
    json_t *body = json_object();
    json_object_set_new(body, "error", http__fault(err->code, err->message, err->field));
    /* Every fault, so that a form's errors are all shown at once; the one above alone when it is. */
    json_t *faults = json_array();
    if (err->n_faults == 0)
        json_array_append_new(faults, http__fault(err->code, err->message, err->field));
    for (size_t i = 0; i < err->n_faults && i < TSR_ERROR_FAULTS_MAX; i++)
        json_array_append_new(faults,
                              http__fault(err->faults[i].code, err->faults[i].message, err->faults[i].field));
    json_object_set_new(body, "errors", faults);
    gw_reply_json(call, tsr_status_http(err->status), body);
}

int gw_fail(gw_call_t *call, tsr_status_t status, const char *code, const char *field, const char *fmt, ...)
{
    tsr_error_t err;
    tsr_error_clear(&err);
    err.status = status;
    snprintf(err.code, sizeof(err.code), "%s", code);
    snprintf(err.field, sizeof(err.field), "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err.message, sizeof(err.message), fmt, ap);
    va_end(ap);
    tsr_text_utf8_clean(err.message); /* the caller's text quoted, perhaps cut inside a character */
    tsr_text_utf8_clean(err.field);   /* a query parameter's name, as the caller wrote it */
    gw_reply_error(call, &err);
    return -1;
}

static int http__param_index(const gw_call_t *call, const char *name)
{
    for (size_t i = 0; i < call->n_params; i++)
        if (strcmp(call->param_names[i], name) == 0)
            return (int)i;
    return -1;
}

const char *gw_param(gw_call_t *call, const char *name)
{
    size_t a = 0;
    while (a < call->n_params_asked && strcmp(call->params_asked[a], name) != 0)
        a++;
    if (a == call->n_params_asked && a < GW_MAX_PARAMS)
        call->params_asked[call->n_params_asked++] = name;
    int i = http__param_index(call, name);
    if (i < 0)
        return NULL;
    call->params_read |= 1u << i;
    return call->param_values[i];
}

int gw_params_check(gw_call_t *call)
{
    if (call->params_checked != 0)
        return call->params_checked < 0 ? -1 : 0;
    call->params_checked = 1;
    /* The API's calls only: the monitoring endpoints are for scrapers, outside the API's contract. */
    if (call->route == NULL || strncmp(call->route->pattern, "/api/", 5) != 0)
        return 0;
    for (size_t i = 0; i < call->n_params; i++) {
        if (call->params_read & (1u << i))
            continue;
        char takes[400] = "";
        size_t used = 0;
        for (size_t a = 0; a < call->n_params_asked && used < sizeof(takes); a++)
            used += (size_t)snprintf(takes + used, sizeof(takes) - used, "%s%s", a ? ", " : "",
                                     call->params_asked[a]);
        /* Answered here: a handler that calls several daemons calls none of the others. */
        call->params_checked = -1;
        if (call->n_params_asked == 0)
            return gw_fail(call, TSR_E_INVALID, "unknown_parameter", call->param_names[i],
                           "'%.40s' is not a parameter of this call, which takes none.",
                           call->param_names[i]);
        return gw_fail(call, TSR_E_INVALID, "unknown_parameter", call->param_names[i],
                       "'%.40s' is not a parameter of this call, which takes: %s.", call->param_names[i],
                       takes);
    }
    return 0;
}

const char *gw_header(const gw_call_t *call, const h2o_token_t *token)
{
    if (call->req == NULL)
        return NULL;
    ssize_t i = h2o_find_header(&call->req->headers, token, -1);
    if (i < 0)
        return NULL;
    /* Header values are not NUL-terminated; copy into the request's pool. */
    h2o_iovec_t v = call->req->headers.entries[i].value;
    return h2o_strdup(&call->req->pool, v.base, v.len).base;
}

const char *gw_header_by_name(const gw_call_t *call, const char *name)
{
    if (call->req == NULL)
        return NULL;
    ssize_t i = h2o_find_header_by_str(&call->req->headers, name, strlen(name), -1);
    if (i < 0)
        return NULL;
    h2o_iovec_t v = call->req->headers.entries[i].value;
    return h2o_strdup(&call->req->pool, v.base, v.len).base;
}

/* ------------------------------------------------------------------------------------------------
 * Calling daemons
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    gw_call_t *call;
    gw_reply_cb cb;
    const char *daemon;
} http_pending_t;

static void http__on_daemon_reply(void *arg, const Tsr__Envelope *reply, const tsr_error_t *err)
{
    http_pending_t *p = arg;
    gw_call_t *call = p->call;
    gw_reply_cb cb = p->cb;
    const char *daemon = p->daemon;
    free(p);
    /* A daemon that answered success may have made a change; so may one that did not answer once
     * the request had left. One that answered with an error rolled back (its refused read keeps only
     * the audit of the refusal). */
    if (err == NULL || (reply == NULL && !err->not_sent))
        call->maybe_changed = 1;
    cb(call, daemon, reply, err);
}

void gw_call_daemon_timeout(gw_call_t *call, const char *daemon, const char *type,
                            const ProtobufCMessage *payload, int timeout_ms, gw_reply_cb cb)
{
    if (gw_params_check(call) != 0)
        return;
    tsr_client_t *client = tsr_daemon_client(call->gateway->daemon, daemon);
    http_pending_t *p = calloc(1, sizeof(*p));
    tsr_call_opts_t opts = {
        .type = type,
        .actor = call->actor.worker_id ? &call->actor : NULL,
        .trace_id = call->trace_id,
        .idempotency_key = call->idempotency_key,
        .timeout_ms = timeout_ms,
    };
    if (client == NULL || p == NULL) {
        free(p);
        tsr_error_t err;
        tsr_error_set(&err, TSR_E_UNAVAILABLE, "service_unavailable", NULL,
                      "The %s service is not configured or cannot be reached.", daemon);
        cb(call, daemon, NULL, &err);
        return;
    }
    p->call = call;
    p->cb = cb;
    p->daemon = tsr_client_name(client);
    if (tsr_client_call(client, &opts, payload, http__on_daemon_reply, p) != 0) {
        free(p);
        tsr_error_t err;
        tsr_error_set(&err, TSR_E_UNAVAILABLE, "shutting_down", NULL, "The gateway is shutting down.");
        cb(call, daemon, NULL, &err);
    }
}

ProtobufCMessage *gw_reply_unpack(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                  const tsr_error_t *err, const ProtobufCMessageDescriptor *desc)
{
    if (err != NULL) {
        gw_reply_error(call, err);
        return NULL;
    }
    ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, reply->payload.len, reply->payload.data);
    if (msg == NULL)
        gw_fail(call, TSR_E_INTERNAL, "internal", NULL, "The %s service sent a reply that cannot be read.",
                daemon);
    return msg;
}

json_t *gw_list_body(json_t *items, const char *next_cursor)
{
    json_t *body = json_object();
    json_object_set_new(body, "items", items);
    json_object_set_new(body, "next_cursor",
                        next_cursor && next_cursor[0] ? json_string(next_cursor) : json_null());
    return body;
}

void gw_call_daemon(gw_call_t *call, const char *daemon, const char *type, const ProtobufCMessage *payload,
                    gw_reply_cb cb)
{
    gw_call_daemon_timeout(call, daemon, type, payload, 0, cb);
}

/* ------------------------------------------------------------------------------------------------
 * Routing
 * ---------------------------------------------------------------------------------------------- */

static int http__hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes (and '+' as space in queries) into a fresh string; NULL if malformed. */
static char *http__decode(const char *s, size_t len, int plus_is_space)
{
    char *out = malloc(len + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            int hi = i + 2 < len ? http__hexval(s[i + 1]) : -1;
            int lo = i + 2 < len ? http__hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(out);
                return NULL;
            }
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (plus_is_space && s[i] == '+') {
            out[o++] = ' ';
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    if (memchr(out, '\0', o) != NULL) {
        free(out);
        return NULL;
    }
    return out;
}

/* A body is JSON in UTF-8: a Content-Type that says otherwise (a form, text, another charset) is
 * refused rather than read as JSON all the same. None at all is taken as JSON. */
static int http__check_media_type(gw_call_t *call)
{
    const char *type = gw_header(call, H2O_TOKEN_CONTENT_TYPE);
    if (type == NULL)
        return 0;
    size_t len = strcspn(type, ";");
    while (len > 0 && (type[len - 1] == ' ' || type[len - 1] == '\t'))
        len--;
    int json = len == strlen("application/json") && strncasecmp(type, "application/json", len) == 0;
    /* Parameters: only a UTF-8 charset (JSON has no other). */
    for (const char *p = strchr(type, ';'); json && p != NULL; p = strchr(p + 1, ';')) {
        const char *param = p + 1 + strspn(p + 1, " \t");
        if (strncasecmp(param, "charset=", 8) == 0) {
            const char *cs = param + 8;
            size_t n = strcspn(cs, "; \t");
            if (n >= 2 && cs[0] == '"' && cs[n - 1] == '"') {
                cs++;
                n -= 2;
            }
            json =
                (n == 5 && strncasecmp(cs, "utf-8", 5) == 0) || (n == 4 && strncasecmp(cs, "utf8", 4) == 0);
        }
    }
    if (json)
        return 0;
    return gw_fail(call, TSR_E_UNSUPPORTED_MEDIA, "unsupported_media_type", "Content-Type",
                   "The body must be JSON in UTF-8, sent as Content-Type: application/json, not '%.80s'.",
                   type);
}

static int http__parse_query(gw_call_t *call, const char *q, size_t len)
{
    size_t start = 0;
    while (start < len) {
        size_t end = start;
        while (end < len && q[end] != '&')
            end++;
        if (end > start) {
            if (call->n_params == GW_MAX_PARAMS)
                return gw_fail(call, TSR_E_INVALID, "too_many_parameters", NULL,
                               "The query has more than %d parameters.", GW_MAX_PARAMS);
            const char *eq = memchr(q + start, '=', end - start);
            size_t name_len = eq ? (size_t)(eq - (q + start)) : end - start;
            char *name = http__decode(q + start, name_len, 1);
            char *value = eq ? http__decode(eq + 1, (size_t)(q + end - (eq + 1)), 1) : strdup("");
            if (name == NULL || value == NULL || !tsr_text_is_utf8(name, strlen(name)) ||
                !tsr_text_is_utf8(value, strlen(value))) {
                free(name);
                free(value);
                return gw_fail(call, TSR_E_INVALID, "malformed_query", NULL,
                               "The query string is not valid percent-encoded UTF-8.");
            }
            /* Which of two values a route would read is a guess the caller should not have to make: a
             * report for the wrong period, or a list filtered by the wrong worker. */
            if (http__param_index(call, name) >= 0) {
                gw_fail(call, TSR_E_INVALID, "repeated_parameter", name,
                        "The query gives '%.40s' more than once: give it once.", name);
                free(name);
                free(value);
                return -1;
            }
            call->param_names[call->n_params] = name;
            call->param_values[call->n_params] = value;
            call->n_params++;
        }
        start = end + 1;
    }
    return 0;
}

/* Matches path against a route pattern, capturing {vars}; 1 on a match. */
static int http__match(gw_call_t *call, const char *pattern, const char *path, size_t path_len)
{
    const char *p = pattern, *s = path, *end = path + path_len;
    size_t vars = 0;
    char *captured[GW_MAX_PATH_VARS] = {0};
    while (*p && s < end) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            const char *seg_end = memchr(s, '/', (size_t)(end - s));
            if (seg_end == NULL)
                seg_end = end;
            if (seg_end == s || vars == GW_MAX_PATH_VARS)
                goto no;
            captured[vars] = http__decode(s, (size_t)(seg_end - s), 0);
            if (captured[vars] == NULL)
                goto no;
            vars++;
            p = close + 1;
            s = seg_end;
            continue;
        }
        if (*p != *s)
            goto no;
        p++;
        s++;
    }
    if (*p != '\0' || s != end)
        goto no;
    for (size_t i = 0; i < vars; i++)
        call->path_vars[i] = captured[i];
    call->n_path_vars = vars;
    return 1;
no:
    for (size_t i = 0; i < vars; i++)
        free(captured[i]);
    return 0;
}

/* Every path variable named id or ending in "id" ({id}, {aid}, {nid}, {iid}) is a record's id, a
 * whole number from 1 to bigint's largest in digits: one of another shape (-1, 1e5, Arabic-Indic
 * digits, more digits than any id has) is refused here for every route, 400 invalid_id naming it,
 * before any handler or daemon sees it; each handler's gw_path_id answered 404 as if no record had
 * that id. The other variables ({service}, {section}, {kind}) are words the handler checks. */
static int http__check_path_ids(gw_call_t *call)
{
    const char *p = call->route->pattern;
    for (size_t v = 0; v < call->n_path_vars; v++) {
        const char *open = strchr(p, '{');
        const char *close = open ? strchr(open, '}') : NULL;
        if (close == NULL)
            break;
        char name[32];
        snprintf(name, sizeof(name), "%.*s", (int)(close - open - 1), open + 1);
        p = close + 1;
        size_t len = strlen(name);
        if (len < 2 || strcmp(name + len - 2, "id") != 0 || tsr_text_is_id(call->path_vars[v]))
            continue;
        return gw_fail(call, TSR_E_INVALID, "invalid_id", name,
                       "'%.40s' is not an id: {%s} in the path must be a whole number from 1 to "
                       "9223372036854775807, in digits.",
                       call->path_vars[v], name);
    }
    return 0;
}

/* 405 with the methods the path does take, in an Allow header as RFC 9110 asks. */
static void http__method_not_allowed(gw_call_t *call, h2o_req_t *req, const char *path, size_t path_len)
{
    char allow[64] = "";
    size_t n = 0;
    for (size_t i = 0; i < gw_routes_count; i++) {
        gw_call_t probe = {0};
        if (!http__match(&probe, gw_routes[i].pattern, path, path_len))
            continue;
        for (size_t v = 0; v < probe.n_path_vars; v++)
            free(probe.path_vars[v]);
        if (n + strlen(gw_routes[i].method) + 3 < sizeof(allow))
            n += (size_t)snprintf(allow + n, sizeof(allow) - n, "%s%s", n ? ", " : "", gw_routes[i].method);
    }
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, allow, n);
    /* No tsr status stands for 405, so the error is built here in the same shape. */
    char message[400];
    snprintf(message, sizeof(message), "%.*s is not allowed on %.*s; use %s.",
             (int)(req->method.len > 16 ? 16 : req->method.len), req->method.base,
             (int)(path_len > 200 ? 200 : path_len), path, allow);
    json_t *body = json_object();
    json_object_set_new(body, "error", http__fault("method_not_allowed", message, ""));
    json_t *faults = json_array();
    json_array_append_new(faults, http__fault("method_not_allowed", message, ""));
    json_object_set_new(body, "errors", faults);
    gw_reply_json(call, 405, body);
}

/* Parses and checks what every route shares (query, body, Idempotency-Key), then hands the call to
 * the session check or straight to the route's handler. */
static void http__dispatch(gw_call_t *call, h2o_req_t *req)
{
    gateway_t *gw = call->gateway;
    size_t path_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    const char *path = req->path.base;
    int path_matched = 0;
    const gw_route_t *route = NULL;
    for (size_t i = 0; i < gw_routes_count && route == NULL; i++) {
        if (!http__match(call, gw_routes[i].pattern, path, path_len))
            continue;
        path_matched = 1;
        if (h2o_memis(req->method.base, req->method.len, gw_routes[i].method, strlen(gw_routes[i].method))) {
            route = &gw_routes[i];
        } else {
            for (size_t v = 0; v < call->n_path_vars; v++)
                free(call->path_vars[v]);
            call->n_path_vars = 0;
        }
    }
    if (route == NULL) {
        if (path_matched)
            http__method_not_allowed(call, req, path, path_len);
        else
            gw_fail(call, TSR_E_NOT_FOUND, "not_found", NULL, "There is nothing at %.*s.",
                    (int)(path_len > 200 ? 200 : path_len), path);
        return;
    }
    call->route = route;
    if (http__check_path_ids(call) != 0)
        return;
    /* The operational endpoints take no parameters, and /healthz must answer whatever is appended. */
    int api = strncmp(route->pattern, "/api/", 5) == 0;
    if (api && req->query_at != SIZE_MAX &&
        http__parse_query(call, req->path.base + req->query_at + 1, req->path.len - req->query_at - 1) != 0)
        return;
    /* What a call that takes no body was sent (a reason for lifting a restriction, say) would be dropped
     * without a word. */
    if (api && !route->has_body && req->entity.base != NULL && req->entity.len > 0) {
        gw_fail(call, TSR_E_INVALID, "unexpected_body", NULL, "%s %s takes no request body: send none.",
                route->method, route->pattern);
        return;
    }
    if (route->has_body) {
        if (req->entity.base != NULL && req->entity.len > gw->max_body) {
            gw_fail(call, TSR_E_TOO_LARGE, "body_too_large", NULL,
                    "The request body is %zu bytes; the most this API takes is %zu.", req->entity.len,
                    gw->max_body);
            return;
        }
        if ((req->entity.base == NULL || req->entity.len == 0) && route->has_body == GW_BODY_OPTIONAL) {
            call->body = json_object();
            goto parsed;
        }
        if (req->entity.base == NULL || req->entity.len == 0) {
            gw_fail(call, TSR_E_INVALID, "missing_body", NULL, "Send a JSON object as the request body.");
            return;
        }
        if (http__check_media_type(call) != 0)
            return;
        if (route->has_body == GW_BODY_RAW) {
            /* Passed on as text: a NUL would end it early, so it is refused here, as the parser would. */
            if (memchr(req->entity.base, '\0', req->entity.len) != NULL) {
                gw_fail(call, TSR_E_INVALID, "malformed_json", NULL,
                        "The body is not valid JSON: it holds a NUL byte.");
                return;
            }
            call->raw_body = malloc(req->entity.len + 1);
            if (call->raw_body == NULL) {
                gw_fail(call, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
                return;
            }
            memcpy(call->raw_body, req->entity.base, req->entity.len);
            call->raw_body[req->entity.len] = '\0';
            call->raw_body_len = req->entity.len;
            goto parsed;
        }
        tsr_error_t jerr;
        call->body = tsr_json_load(req->entity.base, req->entity.len, "The body", &jerr);
        if (call->body == NULL) {
            gw_reply_error(call, &jerr);
            return;
        }
        if (!json_is_object(call->body)) {
            gw_fail(call, TSR_E_INVALID, "invalid_body", NULL, "The body must be a JSON object.");
            return;
        }
    }
parsed:;
    const char *key = api ? gw_header_by_name(call, "idempotency-key") : NULL;
    if (key != NULL) {
        size_t len = strlen(key);
        if (len == 0 || !tsr_text_is_utf8(key, len) || tsr_text_length(key) > 200) {
            gw_fail(call, TSR_E_INVALID, "invalid_idempotency_key", "Idempotency-Key",
                    "An Idempotency-Key must be 1 to 200 characters, e.g. a UUID.");
            return;
        }
        call->idempotency_key = strdup(key);
    }
    const char *reason = api ? gw_header_by_name(call, "x-access-reason") : NULL;
    if (reason != NULL) {
        size_t len = strlen(reason);
        /* Characters, as the contract says: a reason in Welsh or Polish takes more bytes. */
        if (len == 0 || !tsr_text_is_utf8(reason, len) || tsr_text_length(reason) > 500) {
            gw_fail(call, TSR_E_INVALID, "invalid_access_reason", "X-Access-Reason",
                    "The reason for this access (X-Access-Reason) must be 1 to 500 characters.");
            return;
        }
        call->access_reason = strdup(reason);
    }
    if (route->needs_session)
        gw_session_authenticate(call);
    else
        route->fn(call);
}

/* Whether the path, as h2o decoded it (path_normalized: percent-escapes undone, no query), holds a
 * control character: a NUL, a line break, DEL. No path of the API or the UI has one. */
static int http__path_has_control(h2o_iovec_t path)
{
    for (size_t i = 0; i < path.len; i++) {
        unsigned char c = (unsigned char)path.base[i];
        if (c < 0x20 || c == 0x7f)
            return 1;
    }
    return 0;
}

static int http__on_req(h2o_handler_t *self, h2o_req_t *req)
{
    gateway_t *gw = *(gateway_t **)(self + 1);
    /* A path with a control character is refused here, before any route or file is looked up: h2o's
     * file handler opens the decoded path as a C string, which ends at a NUL, and takes the type from
     * the whole path's extension, so /app/main.js%00.html was main.js served as text/html (and
     * /index.html%00.js the page as a script; /..%00 a redirect to /..%00/). */
    int control = http__path_has_control(req->path_normalized);
    /* Only the API and the operational endpoints are ours; anything else is the UI's files. */
    int ours = h2o_memis(req->path_normalized.base,
                         req->path_normalized.len < 5 ? req->path_normalized.len : 5, H2O_STRLIT("/api/")) ||
               h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/api")) ||
               h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/healthz")) ||
               h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/readyz")) ||
               h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/metrics"));
    if (!ours && !control)
        return -1;
    gw_call_t *call = calloc(1, sizeof(*call));
    if (call == NULL) {
        if (!control)
            return -1;
        h2o_send_error_400(req, "Bad Request", "The path holds a control character.", 0);
        return 0;
    }
    call->gateway = gw;
    call->req = req;
    call->started_ns = uv_hrtime();
    tsr_log_new_trace_id(call->trace_id);
    tsr__actor__init(&call->actor);
    call->slot = h2o_mem_alloc_shared(&req->pool, sizeof(gw_call_t *), http__on_req_disposed);
    *call->slot = call;
    gw->in_flight++;
    if (control)
        gw_fail(call, TSR_E_INVALID, "invalid_path", NULL,
                "The path holds a control character (such as %%00 or a line break), which no address of "
                "Tessera has: check the link or the address typed.");
    else
        http__dispatch(call, req);
    return 0;
}

/* The web UI's own paths (a notice's link /people/1000001, /reports/front-door-dashboard): when no
 * file answers a GET or HEAD, the UI's page does, and its script moves the path into the fragment.
 * Only a path whose last segment has no dot: a missing script or image stays a 404, not a page of
 * HTML in its place. The API and the operational endpoints never come here (http__on_req). */
typedef struct {
    h2o_handler_t super;
    char *index; /* ui_dir/index.html */
} http_ui_fallback_t;

static int http__on_ui_fallback(h2o_handler_t *self, h2o_req_t *req)
{
    const http_ui_fallback_t *fb = (const http_ui_fallback_t *)self;
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) &&
        !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
        return -1;
    const char *path = req->path_normalized.base;
    size_t len = req->path_normalized.len;
    size_t last = len;
    while (last > 0 && path[last - 1] != '/')
        last--;
    if (memchr(path + last, '.', len - last) != NULL)
        return -1;
    return h2o_file_send(req, 200, "OK", fb->index, h2o_iovec_init(H2O_STRLIT("text/html")), 0);
}

static void http__on_ui_fallback_dispose(h2o_handler_t *self)
{
    free(((http_ui_fallback_t *)self)->index);
}

/* ------------------------------------------------------------------------------------------------
 * Every response: security headers, and h2o's own errors in the API's shape
 * ---------------------------------------------------------------------------------------------- */

/* The web UI loads its scripts, styles, fonts and images from the gateway alone and has no inline
 * script or style (its bar charts are sized from a data attribute by script). The API's answers load
 * nothing; the HTML report's one stylesheet is inline, and it runs no script. No page of either may
 * be framed (clickjacking), a body is read as the type it is sent as, and no address, which may
 * hold a person's id or name in a query, leaves in a Referer. */
#define HTTP_CSP_UI                                                                                          \
    "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
#define HTTP_CSP_API                                                                                         \
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "                   \
    "frame-ancestors 'none'"

typedef struct {
    h2o_filter_t super;
    gateway_t *gw;
    int fallback; /* the host's fallback path: h2o's own errors, answered before any handler ran */
} http_edges_t;

typedef struct {
    h2o_ostream_t super;
    gateway_t *gw;
} http_error_ostream_t;

static int http__is_api_path(h2o_iovec_t path)
{
    return path.len >= 4 && memcmp(path.base, "/api", 4) == 0 && (path.len == 4 || path.base[4] == '/');
}

/* h2o's own error (its status and plain text) as the API's {"error": {code, message, field}}. */
static void http__h2o_error(const gateway_t *gw, int status, const char *text, size_t len, char *code,
                            size_t code_size, char *message, size_t message_size, const char **field)
{
    *field = "";
    if (status == 413) {
        snprintf(code, code_size, "body_too_large");
        snprintf(message, message_size, "The request body is larger than the most this API takes, %zu bytes.",
                 gw->max_body);
    } else if (h2o_memis(text, len, H2O_STRLIT("broken chunked-encoding"))) {
        snprintf(code, code_size, "malformed_body");
        snprintf(message, message_size,
                 "The body's chunked encoding is broken: each chunk must begin with its size in hexadecimal "
                 "and a CRLF, and the body end with a chunk of size 0.");
        *field = "Transfer-Encoding";
    } else if (h2o_memis(text, len, H2O_STRLIT("broken content-length header"))) {
        snprintf(code, code_size, "invalid_content_length");
        snprintf(message, message_size, "Content-Length must be the size of the body in bytes, in digits.");
        *field = "Content-Length";
    } else if (h2o_memis(text, len, H2O_STRLIT("unknown transfer-encoding"))) {
        snprintf(code, code_size, "unsupported_transfer_encoding");
        snprintf(message, message_size, "The only Transfer-Encoding this API takes is chunked.");
        *field = "Transfer-Encoding";
    } else if (status == 417) {
        snprintf(code, code_size, "unsupported_expectation");
        snprintf(message, message_size, "The only Expect this API takes is 100-continue.");
        *field = "Expect";
    } else {
        snprintf(code, code_size, status == 400 ? "malformed_request" : "error");
        snprintf(message, message_size, "The request could not be read: %.*s.", (int)(len > 200 ? 200 : len),
                 text);
    }
}

static void http__on_error_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt,
                                h2o_send_state_t state)
{
    const http_error_ostream_t *os = (const http_error_ostream_t *)self;
    /* h2o_send_error_generic sends its text in one piece, the final one: the headers go with it. */
    h2o_iovec_t text = bufcnt > 0 ? bufs[0] : h2o_iovec_init(req->res.reason, strlen(req->res.reason));
    char code[64], message[300];
    const char *field;
    http__h2o_error(os->gw, req->res.status, text.base, text.len, code, sizeof(code), message,
                    sizeof(message), &field);
    json_t *body = json_object();
    json_object_set_new(body, "error", http__fault(code, message, field));
    json_t *faults = json_array();
    json_array_append_new(faults, http__fault(code, message, field));
    json_object_set_new(body, "errors", faults);
    char *dumped = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    h2o_iovec_t json = h2o_strdup(&req->pool, dumped ? dumped : "{}", SIZE_MAX);
    free(dumped);
    req->res.content_length = json.len;
    ssize_t i = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (i >= 0)
        req->res.headers.entries[i].value = h2o_iovec_init(H2O_STRLIT("application/json; charset=utf-8"));
    h2o_ostream_send_next(self, req, bufcnt > 0 ? &json : NULL, bufcnt > 0 ? 1 : 0, state);
}

static void http__on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    const http_edges_t *edges = (const http_edges_t *)self;
    h2o_mem_pool_t *pool = &req->pool;
    /* The path: h2o's own errors may come before it was read (a bad request line has none). */
    int api = edges->fallback || http__is_api_path(req->path_normalized);
    if (api)
        h2o_add_header_by_str(pool, &req->res.headers, H2O_STRLIT("content-security-policy"), 0, NULL,
                              H2O_STRLIT(HTTP_CSP_API));
    else
        h2o_add_header_by_str(pool, &req->res.headers, H2O_STRLIT("content-security-policy"), 0, NULL,
                              H2O_STRLIT(HTTP_CSP_UI));
    h2o_add_header_by_str(pool, &req->res.headers, H2O_STRLIT("x-frame-options"), 0, NULL,
                          H2O_STRLIT("DENY"));
    h2o_add_header_by_str(pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0, NULL,
                          H2O_STRLIT("nosniff"));
    h2o_add_header_by_str(pool, &req->res.headers, H2O_STRLIT("referrer-policy"), 0, NULL,
                          H2O_STRLIT("no-referrer"));
    /* h2o answers a body over http.max_body_bytes (by its Content-Length, or as it comes in chunks),
     * a Content-Length that is not a number, broken chunked framing and an unknown Expect itself,
     * before the request is routed: h2o_send_error_generic binds it to the host's fallback path, whose
     * filter this is, and its plain text is rewritten here. A request line or header block that
     * cannot be parsed at all gets h2o's fixed "400 Bad Request" written straight to the socket
     * (lib/http1.c send_bad_request), which passes no filter: that one stays plain text. */
    if (edges->fallback && req->res.status >= 400) {
        http_error_ostream_t *os = (http_error_ostream_t *)h2o_add_ostream(req, sizeof(*os), slot);
        os->super.do_send = http__on_error_send;
        os->gw = edges->gw;
        slot = &os->super.next;
    }
    h2o_setup_next_ostream(req, slot);
}

static void http__register_edges(gateway_t *gw, h2o_pathconf_t *pathconf, int fallback)
{
    http_edges_t *edges = (http_edges_t *)h2o_create_filter(pathconf, sizeof(*edges));
    edges->super.on_setup_ostream = http__on_setup_ostream;
    edges->gw = gw;
    edges->fallback = fallback;
}

/* ------------------------------------------------------------------------------------------------
 * Server life
 * ---------------------------------------------------------------------------------------------- */

gateway_t *gateway_new(tsr_daemon_t *daemon)
{
    gateway_t *gw = calloc(1, sizeof(*gw));
    if (gw == NULL)
        return NULL;
    gw->daemon = daemon;
    gw->m_latency =
        tsr_metrics_histogram("gateway_http_request_seconds", "Time to answer an HTTP request.", NULL);
    return gw;
}

tsr_daemon_t *gateway_daemon(gateway_t *gw)
{
    return gw->daemon;
}

static void http__on_accept(uv_stream_t *listener, int status)
{
    gateway_t *gw = listener->data;
    if (status != 0 || !gw->listening)
        return;
    uv_tcp_t *conn = h2o_mem_alloc(sizeof(*conn));
    uv_tcp_init(listener->loop, conn);
    if (uv_accept(listener, (uv_stream_t *)conn) != 0) {
        uv_close((uv_handle_t *)conn, (uv_close_cb)free);
        return;
    }
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)conn, (uv_close_cb)free);
    h2o_accept(&gw->accept_ctx, sock);
}

/* Resolves http.addr: "host:port" or "[v6 address]:port"; host may be a name (resolved once, at
 * start-up, before the loop serves anything), and an empty host or "*" means every interface. */
static int http__resolve(const char *addr, struct sockaddr_storage *out)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon[1] == '\0')
        return -1;
    char host[256];
    size_t host_len = (size_t)(colon - addr);
    const char *h = addr;
    if (host_len >= 2 && addr[0] == '[' && addr[host_len - 1] == ']') {
        h++;
        host_len -= 2;
    }
    if (host_len >= sizeof(host))
        return -1;
    memcpy(host, h, host_len);
    host[host_len] = '\0';
    for (const char *c = colon + 1; *c; c++)
        if (*c < '0' || *c > '9')
            return -1;
    if (strlen(colon + 1) > 5 || atoi(colon + 1) > 65535)
        return -1;
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    int any = host[0] == '\0' || strcmp(host, "*") == 0;
    if (getaddrinfo(any ? "0.0.0.0" : host, colon + 1, &hints, &res) != 0 || res == NULL)
        return -1;
    memset(out, 0, sizeof(*out));
    memcpy(out, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

/* "127.0.0.1:8080" or "[::1]:8080". */
static void http__format_addr(const struct sockaddr_storage *sa, char *buf, size_t size)
{
    char host[64] = "";
    if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        uv_ip6_name(in6, host, sizeof(host));
        snprintf(buf, size, "[%s]:%d", host, ntohs(in6->sin6_port));
    } else {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        uv_ip4_name(in, host, sizeof(host));
        snprintf(buf, size, "%s:%d", host, ntohs(in->sin_port));
    }
}

/* Written to a temporary file and renamed, so that a reader never sees half an address. */
static int http__write_addr_file(const char *path, const char *addr)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    int failed = fprintf(f, "%s\n", addr) < 0;
    if (fclose(f) != 0 || failed || rename(tmp, path) != 0) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
        return -1;
    }
    return 0;
}

int gateway_http_configure(gateway_t *gw, tsr_error_t *err)
{
    const tsr_config_t *config = tsr_daemon_config(gw->daemon);
    long max_body = 1048576;
    if (tsr_config_get_long(config, "http.max_body_bytes", 1048576, 1024, 64L * 1048576, &max_body, err) != 0)
        return -1;
    gw->max_body = (size_t)max_body;
    gw->addr = tsr_config_get(config, "http.addr", "127.0.0.1:8080");
    if (http__resolve(gw->addr, &gw->sa) != 0)
        return tsr_error_set(err, TSR_E_INVALID, "bad_config", "http.addr",
                             "http.addr is '%s': it must be host:port with a host this machine can resolve, "
                             "e.g. 127.0.0.1:8080 or [::1]:0.",
                             gw->addr);
    /* An idle keep-alive connection holds a drain at SIGTERM until this runs out. */
    gw->idle_ms = 5000;
    return tsr_config_get_long(config, "http.idle_timeout_ms", 5000, 100, 600000, &gw->idle_ms, err);
}

int gateway_http_start(gateway_t *gw)
{
    const tsr_config_t *config = tsr_daemon_config(gw->daemon);
    h2o_config_init(&gw->config);
    gw->config_ready = 1;
    /* Ours (max_body) answers first, naming the body's size; h2o refuses bodies over this itself,
     * before reading them, and http__on_error_send puts its answer in JSON too. */
    gw->config.max_request_entity_size = gw->max_body + 16 * 1048576;
    gw->config.http1.req_timeout = (uint64_t)gw->idle_ms;
    gw->config.server_name = h2o_iovec_init(H2O_STRLIT("tessera"));
    h2o_hostconf_t *hostconf =
        h2o_config_register_host(&gw->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pathconf = h2o_config_register_path(hostconf, "/", 0);
    http__register_edges(gw, &hostconf->fallback_path, 1);
    http__register_edges(gw, pathconf, 0);
    h2o_handler_t *handler = h2o_create_handler(pathconf, sizeof(*handler) + sizeof(gateway_t *));
    handler->on_req = http__on_req;
    *(gateway_t **)(handler + 1) = gw;
    /* The web UI: where http.ui_dir says, else the one installed beside the program. */
    char installed_ui[4200];
    const char *ui_dir = tsr_config_get(config, "http.ui_dir",
                                        tsr_daemon_installed_path("ui", installed_ui, sizeof(installed_ui)));
    if (ui_dir != NULL && access(ui_dir, R_OK) == 0) {
        static const char *index_files[] = {"index.html", NULL};
        h2o_file_register(pathconf, ui_dir, index_files, NULL, 0);
        http_ui_fallback_t *fb = (http_ui_fallback_t *)h2o_create_handler(pathconf, sizeof(*fb));
        fb->super.on_req = http__on_ui_fallback;
        fb->super.dispose = http__on_ui_fallback_dispose;
        size_t n = strlen(ui_dir) + sizeof("/index.html");
        fb->index = malloc(n);
        if (fb->index == NULL) {
            tsr_log_error(NULL, "out of memory configuring http.ui_dir");
            return -1;
        }
        snprintf(fb->index, n, "%s/index.html", ui_dir);
    }
    h2o_context_init(&gw->ctx, tsr_daemon_loop(gw->daemon), &gw->config);
    gw->context_ready = 1;
    gw->accept_ctx.ctx = &gw->ctx;
    gw->accept_ctx.hosts = gw->config.hosts;

    uv_tcp_init(tsr_daemon_loop(gw->daemon), &gw->listener);
    gw->listener.data = gw;
    int rc = uv_tcp_bind(&gw->listener, (struct sockaddr *)&gw->sa, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&gw->listener, 512, http__on_accept);
    if (rc != 0) {
        tsr_log_error(NULL, "cannot listen on http.addr %s: %s", gw->addr, uv_strerror(rc));
        uv_close((uv_handle_t *)&gw->listener, NULL);
        return -1;
    }
    gw->listening = 1;
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    uv_tcp_getsockname(&gw->listener, (struct sockaddr *)&bound, &len);
    char bound_addr[96];
    http__format_addr(&bound, bound_addr, sizeof(bound_addr));
    /* Scripts and tests wait for this file to learn the port (http.addr may ask for port 0). */
    const char *addr_file = tsr_config_get(config, "http.addr_file", NULL);
    if (addr_file != NULL && *addr_file != '\0' && http__write_addr_file(addr_file, bound_addr) != 0) {
        tsr_log_error(NULL, "cannot write the bound address to http.addr_file %s: %s", addr_file,
                      strerror(errno));
        return -1;
    }
    tsr_log_info(NULL, "listening on http://%s/", bound_addr);
    return 0;
}

void gateway_http_stop(gateway_t *gw)
{
    if (gw->listening) {
        gw->listening = 0;
        uv_close((uv_handle_t *)&gw->listener, NULL);
    }
    if (gw->context_ready)
        h2o_context_request_shutdown(&gw->ctx);
}

int gateway_http_busy(gateway_t *gw)
{
    /* Connections count too: h2o's context can only be disposed of once every one has closed, and
     * request_shutdown closes the idle ones. */
    int open = gw->context_ready && (!h2o_linklist_is_empty(&gw->ctx.http1._conns) ||
                                     !h2o_linklist_is_empty(&gw->ctx.http2._conns));
    return gw->in_flight + open;
}

void gateway_http_release(gateway_t *gw)
{
    if (gw->listening) {
        gw->listening = 0;
        uv_close((uv_handle_t *)&gw->listener, NULL);
    }
    if (gw->context_ready) {
        gw->context_ready = 0;
        /* Every connection has closed (busy waited for that), but request_shutdown leaves its own
         * timer entries behind, and h2o 2.2 asserts that timeouts are empty when disposed of. */
        h2o_timeout_t *timeouts[] = {&gw->ctx.zero_timeout,
                                     &gw->ctx.one_sec_timeout,
                                     &gw->ctx.hundred_ms_timeout,
                                     &gw->ctx.handshake_timeout,
                                     &gw->ctx.http1.req_timeout,
                                     &gw->ctx.http2.idle_timeout,
                                     &gw->ctx.http2.graceful_shutdown_timeout};
        for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
            while (!h2o_linklist_is_empty(&timeouts[i]->_entries)) {
                h2o_timeout_entry_t *entry =
                    H2O_STRUCT_FROM_MEMBER(h2o_timeout_entry_t, _link, timeouts[i]->_entries.next);
                h2o_timeout_unlink(entry);
            }
        }
        h2o_context_dispose(&gw->ctx);
    }
}

void gateway_http_destroy(gateway_t *gw)
{
    if (gw == NULL)
        return;
    if (gw->config_ready)
        h2o_config_dispose(&gw->config);
    free(gw);
}
