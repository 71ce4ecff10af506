/* gateway: the HTTP/JSON front of the suite. A call (gw_call_t) is one HTTP request on its way:
 * authenticated from its session, turned into a bus request to the owning daemon, and answered
 * when that daemon replies. The client may go away meanwhile; the call then finishes quietly. */
#ifndef GATEWAY_H
#define GATEWAY_H

#include <h2o.h>
#include <jansson.h>

#include "accounts.pb-c.h"
#include "envelope.pb-c.h"
#include "tsr_daemon.h"

typedef struct gateway gateway_t;
typedef struct gw_call gw_call_t;
typedef struct gw_route gw_route_t;

#define GW_MAX_PARAMS 16
#define GW_MAX_PATH_VARS 4

struct gw_call {
    gateway_t *gateway;
    h2o_req_t *req;   /* NULL once the client has gone */
    gw_call_t **slot; /* lives in req's pool; cleared when the request is answered or h2o frees it */
    const gw_route_t *route;
    char trace_id[33];
    uint64_t started_ns;
    /* The signed-in worker, once the session is found. */
    Tsr__Actor actor;
    char *roles_buf;
    char **roles;
    uint64_t *team_ids;
    char *team_names_buf;
    char **team_names;
    uint64_t session_id;
    char session_id_text[24];
    char *username;
    char *display_name;
    char token_hash[65];
    /* Request pieces, copied out of h2o's buffers. */
    char *path_vars[GW_MAX_PATH_VARS];
    size_t n_path_vars;
    char *param_names[GW_MAX_PARAMS];
    char *param_values[GW_MAX_PARAMS];
    size_t n_params;
    /* The parameters the route's handler asked for (names it reads, given or not) and which of the
     * given ones it read: one given that no one read is refused before any daemon is called. */
    const char *params_asked[GW_MAX_PARAMS];
    size_t n_params_asked;
    uint32_t params_read;
    int params_checked;
    json_t *body;
    char *raw_body; /* GW_BODY_RAW: the body as it came, NUL-terminated, unread */
    size_t raw_body_len;
    char *idempotency_key;
    /* The key's claim (keys.c): held once the key is known to be this call's (claimed by it, or by a
     * twin or an earlier try of the same call); owned when this call made it. */
    int key_held;
    int key_owned;
    /* Whether a daemon this call asked may have made a change: it answered success, or did not answer
     * after the request had left. An error answer then does not free the key (keys.c). */
    int maybe_changed;
    char *access_reason; /* X-Access-Reason, checked; travels in the actor to the audit trail */
    /* A reply built from more than one daemon's answer: the part already in hand. */
    json_t *partial;
    /* Fan-out (/metrics). */
    int pending;
    char *text;
    size_t text_len;
};

typedef void (*gw_handler_fn)(gw_call_t *call);

struct gw_route {
    const char *method;
    const char *pattern; /* "/api/v1/organisations/{id}" */
    gw_handler_fn fn;
    int needs_session;
    int has_body; /* 0 none, 1 required, GW_BODY_OPTIONAL: a JSON object or nothing, GW_BODY_RAW */
};
#define GW_BODY_OPTIONAL 2
/* Required, and passed on to the daemon as it came, unread: the daemon reads it (once) and answers
 * for its faults as the gateway would (malformed_json, invalid_body, unknown_field). For a large
 * body only read there, e.g. a CP-IS batch. */
#define GW_BODY_RAW 3

/* http.c: the settings of [http] checked (before the daemon claims anything), then the server
 * started on them (once the bus is bound). */
int gateway_http_configure(gateway_t *gw, tsr_error_t *err);
int gateway_http_start(gateway_t *gw);
void gateway_http_stop(gateway_t *gw);
int gateway_http_busy(gateway_t *gw);
/* Closes the server's handles on the loop; gateway_http_destroy frees it after the loop has ended. */
void gateway_http_release(gateway_t *gw);
void gateway_http_destroy(gateway_t *gw);
tsr_daemon_t *gateway_daemon(gateway_t *gw);
gateway_t *gateway_new(tsr_daemon_t *daemon);

void gw_reply_json(gw_call_t *call, int status, json_t *body); /* steals body */
void gw_reply_text(gw_call_t *call, int status, const char *content_type, const char *text, size_t len);
void gw_reply_error(gw_call_t *call, const tsr_error_t *err);
int gw_fail(gw_call_t *call, tsr_status_t status, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void gw_reply_no_content(gw_call_t *call);
/* A query parameter, or NULL when absent. */
/* A query parameter's value, or NULL; asking counts it as one this call takes (gw_params_check). */
const char *gw_param(gw_call_t *call, const char *name);
/* Refuses (400 unknown_parameter, naming it and the ones the call takes) a query parameter the
 * handler never asked for: a mistyped ?queu= would otherwise be dropped, and the caller given
 * their own workview, say, without a word. Once a call; 0, or -1 having answered. */
int gw_params_check(gw_call_t *call);
const char *gw_header(const gw_call_t *call, const h2o_token_t *token);
/* A header that h2o has no token for (e.g. Idempotency-Key), by its lower-case name. */
const char *gw_header_by_name(const gw_call_t *call, const char *name);

/* Calls a daemon with the call's actor and trace id; cb gets the daemon's name and its reply (NULL
 * on failure) with the call still alive. The call is answered by cb. */
typedef void (*gw_reply_cb)(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                            const tsr_error_t *err);
void gw_call_daemon(gw_call_t *call, const char *daemon, const char *type, const ProtobufCMessage *payload,
                    gw_reply_cb cb);
/* A gw_reply_cb for a change the API answers with 204: the daemon's error, or no content. */
void gw_replied_no_content(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                           const tsr_error_t *err);
void gw_call_daemon_timeout(gw_call_t *call, const char *daemon, const char *type,
                            const ProtobufCMessage *payload, int timeout_ms, gw_reply_cb cb);

/* The reply's payload as desc; NULL when the call failed or the reply cannot be read, in which case
 * the call has been answered with the error. Free with protobuf_c_message_free_unpacked. */
ProtobufCMessage *gw_reply_unpack(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                                  const tsr_error_t *err, const ProtobufCMessageDescriptor *desc);
/* {"items": items, "next_cursor": cursor or null}, the shape of every list; steals items. */
json_t *gw_list_body(json_t *items, const char *next_cursor);

/* routes.c */
extern const gw_route_t gw_routes[];
extern const size_t gw_routes_count;
/* Connects to every daemon the routes call, so that the first request does not wait for it. */
void gw_routes_connect(tsr_daemon_t *daemon);

/* sessions.c */
/* Reads the sessions' settings (gateway.session_ttl_s, gateway.session_cache_ms,
 * gateway.session_keep_days); -1 naming the bad one. */
int gw_sessions_configure(const tsr_config_t *config, tsr_error_t *err);
/* Housekeeping (tsr_daemon_housekeeping): deletes the sessions that stopped (signed out or expired)
 * more than gateway.session_keep_days ago. Such a row signs nobody in and the audit trail keeps the
 * sign-ins; kept for ever, it is every worker's name and roles at every sign-in, for no purpose. */
int gw_sessions_forget(PGconn *conn, void *arg, tsr_error_t *err);
void gw_session_begin(gw_call_t *call);
/* keys.c */
/* Reads tessera.idempotency_keep_days, how long a key's first call is kept; -1 naming it if bad. */
int gw_keys_configure(const tsr_config_t *config, tsr_error_t *err);
/* Housekeeping: forgets the keys first used more than tessera.idempotency_keep_days ago. */
int gw_keys_forget(PGconn *conn, void *arg, tsr_error_t *err);
/* Runs the signed-in call's route, once its Idempotency-Key (if any, on a command) is known to have
 * been used for this call or for none: a key first used for another is answered 409
 * idempotency_key_reused. */
void gw_keys_route(gw_call_t *call);
/* Before a call that holds its key's claim is answered (http.c): a call that ends in an error and
 * changed nothing frees the key it claimed, so that the key may be used again ("a rejected call
 * changes nothing"); a call that succeeded on a claim another try made takes it over (that try may
 * still free it). 1 when the answer is held until that is done (then sent with gw_reply_text), 0 when
 * it goes now. */
int gw_keys_settle(gw_call_t *call, int status, const char *content_type, const char *body, size_t len);
void gw_session_end(gw_call_t *call);
/* people_routes.c: PUT /api/v1/session/password (the worker's own, the current one given; the
 * worker's other sessions end) and PUT /api/v1/workers/{id}/password (support's reset). */
void gw_session_password(gw_call_t *call);
void gw_worker_password_reset(gw_call_t *call);
/* worker_routes.c: DELETE /api/v1/workers/{id}/sign-in-pause (support lift a pause). */
void gw_worker_sign_in_unpause(gw_call_t *call);
/* Applies an accounts event: a mover's sessions carry the account as it now stands; a leaver's end. */
int gw_sessions_apply_accounts_event(tsr_event_t *ev, tsr_error_t *err);
/* A worker's account as accounts last described it: what the worker's sessions act with. */
typedef struct {
    uint64_t worker_id;
    uint64_t version;
    const char *name;
    char *const *roles;
    size_t n_roles;
    Tsr__Accounts__Team *const *teams;
    size_t n_teams;
    int ended;
    const char *contract_name;     /* NULL for council staff */
    const char *contract_end_date; /* YYYY-MM-DD, NULL for council staff */
    const char *state;             /* what signing in would meet now ("" or NULL: not known) */
    const char *dbs_renewal_due;   /* YYYY-MM-DD: the DBS check out of date from then; "" or NULL none */
    const char *refusal;           /* why it may not be used, in sign-in's words; "" or NULL: none */
} gw_account_t;
/* Records the account for the worker's sessions, unless a newer version is already held; a
 * leaver's sessions end. For the accounts events and for the reply to a change made through the
 * gateway, whichever comes first. */
int gw_sessions_remember_account(PGconn *conn, const gw_account_t *account, tsr_error_t *err);
/* Finds the session of the call's bearer token, then runs the route's handler (or answers 401). */
void gw_session_authenticate(gw_call_t *call);

/* json.c: building replies and reading request bodies and parameters. */
json_t *gw_json_id(uint64_t id);
json_t *gw_json_time(int64_t ms);
/* A record's title for display, "name (id)"; NULL when out of memory. */
json_t *gw_json_title(const char *name, uint64_t id);
/* Checks that body is an object whose keys are all in allowed (NULL-terminated); 0 or answers 400. */
int gw_json_check_object(gw_call_t *call, const char *const *allowed);
/* A string member: required ones answer 400 when missing; any non-string answers 400. 0 or -1. */
int gw_json_string(gw_call_t *call, const char *key, int required, const char **out);
/* Members of a JSON object obj (the body when NULL), named path for errors ("legal_name.given"):
 * an id (a string of digits), a boolean, a list of strings. 0, or -1 having answered 400. */
int gw_json_member_string(gw_call_t *call, json_t *obj, const char *key, const char *path, int required,
                          const char **out);
int gw_json_member_id(gw_call_t *call, json_t *obj, const char *key, int required, uint64_t *out);
/* The same for a member of a nested object, its faults naming path (e.g. "subject.id"). */
int gw_json_member_id_at(gw_call_t *call, json_t *obj, const char *key, const char *path, int required,
                         uint64_t *out);
int gw_json_member_bool(gw_call_t *call, json_t *obj, const char *key, int *out);
/* An optional whole number of 0 or more (a section's revision): *given says whether it was sent. */
int gw_json_member_count(gw_call_t *call, json_t *obj, const char *key, int *given, uint32_t *out);
/* Fills out (up to max) with the strings of a list member; *n is how many. */
int gw_json_member_strings(gw_call_t *call, json_t *obj, const char *key, char **out, size_t max, size_t *n);
/* A path variable that is an id (the dispatcher has checked its shape: http__check_path_ids). */
int gw_path_id(gw_call_t *call, size_t index, uint64_t *out);
/* An optional unsigned id parameter (digits); 0 when absent. 0 or answers 400. */
int gw_param_id(gw_call_t *call, const char *name, uint64_t *out);
int gw_param_limit(gw_call_t *call, uint32_t *out);
/* An optional true/false parameter; false when absent. 0 or answers 400 naming it. */
int gw_param_bool(gw_call_t *call, const char *name, protobuf_c_boolean *out);
/* An optional date or RFC 3339 date-time parameter, in Unix ms (0 when absent). A date alone is the
 * start of that day (UTC); *date_only says which it was (date_only may be NULL). */
int gw_param_time(gw_call_t *call, const char *name, int64_t *out, int *date_only);
/* Parses YYYY-MM-DD or an RFC 3339 date-time; 0 or -1. */
int gw_parse_time(const char *text, int64_t *ms);

#endif
