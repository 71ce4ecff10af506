/* Workviews: a worker's (or a team's, or a virtual worker's) folders of work, and the overdue scan. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "definitions.h"
#include "fields.h"
#include "tsr_envelope.h"
#include "tsr_log.h"
#include "tsr_metrics.h"
#include "tsr_outbox.h"
#include "wf.h"

/* The first page of each folder: enough to fill a screen; more by paging one folder. */
#define WORKVIEW_LIMIT_DEFAULT 25
#define WORKVIEW_LIMIT_MAX 200
#define WORKVIEW_RECENT 20
/* How long before the caller gives up a workview stops waiting for records to say who may open the
 * restricted records in it. */
#define WORKVIEW_ANSWER_MARGIN_MS 1000
/* The definitions (type and version) kept while one workview is read. */
#define WORKVIEW_DEFS_MAX 64
static const char *const folder_keys[] = {"incoming_work", "incoming_requests", "current_work",
                                          "recently_viewed"};
static const char *const folder_titles[] = {"Incoming work", "Incoming requests", "Current work",
                                            "Recently viewed"};

int wf_cursor_parse(const char *cursor, char ts[WF_CURSOR_TS_LEN + 1], char id[24], char order[8])
{
    const char *sep = strchr(cursor, '~');
    if (sep == NULL || sep - cursor != WF_CURSOR_TS_LEN)
        return -1;
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
    for (int i = 0; i < WF_CURSOR_TS_LEN; i++)
        if (shape[i] == 'd' ? !isdigit((unsigned char)cursor[i]) : cursor[i] != shape[i])
            return -1;
    const char *p = sep + 1;
    size_t digits = strspn(p, "0123456789");
    if (digits == 0 || digits > 19 || (p[digits] != '\0' && p[digits] != '~'))
        return -1;
    const char *rest = p[digits] == '~' ? p + digits + 1 : "";
    if (p[digits] == '~' && strcmp(rest, "newest") != 0 && strcmp(rest, "oldest") != 0)
        return -1;
    memcpy(ts, cursor, WF_CURSOR_TS_LEN);
    ts[WF_CURSOR_TS_LEN] = '\0';
    memcpy(id, p, digits);
    id[digits] = '\0';
    snprintf(order, 8, "%s", rest);
    return 0;
}

static json_t *workview__subject(const char *kind, const char *id, const char *name)
{
    json_t *s = json_pack("{s:s, s:s}", "kind", kind, "name", name);
    if (strcmp(kind, "none") != 0) {
        json_object_set_new(s, "id", json_string(id));
        char *title = wf_subject_title(kind, strtoull(id, NULL, 10), name);
        json_object_set_new(s, "title", json_string(title));
        free(title);
    } else
        json_object_set_new(s, "title", json_string(""));
    return s;
}

static json_t *workview__time(const char *text)
{
    return text[0] ? json_string(text) : json_null();
}

/* ------------------------------------------------------------------------------------------------
 * Items about restricted people: what the viewer may see of them
 * ---------------------------------------------------------------------------------------------- */

/* Whether a row's subject is a person in restricted_people, or one a worker declared a conflict of
 * interest with: SQL over the steps row s. Only those rows are asked about; every other record is
 * open to every worker. */
#define WORKVIEW_RESTRICTED_SQL                                                                              \
    "(s.subject_kind = 'person' AND (EXISTS (SELECT 1 FROM restricted_people rp"                             \
    " WHERE rp.person_id = s.subject_id) OR EXISTS (SELECT 1 FROM conflicts c"                               \
    " WHERE c.person_id = s.subject_id)))"

/* The data of the section the step's definition names for its summary, as JSON text (NULL when it
 * names none): SQL over the steps row s. */
#define WORKVIEW_SUMMARY_SQL                                                                                 \
    "(SELECT sec.data::text FROM definitions d JOIN sections sec ON sec.step_id = s.id"                      \
    " AND sec.number = d.body->'summary'->>'section' WHERE d.type = s.type AND d.version = s.version)"

/* The items of a workview about restricted people, each with its person, to be checked against the
 * viewer's access once for all of them (workview__guard_apply). The items are the folders'. */
typedef struct {
    json_t **items;
    uint64_t *people;
    size_t n, cap;
    /* The definitions the items' steps were read with, each read once a workview: a type's older
     * version comes from the database, and a queue may hold a page of steps started before a change
     * of their definition. */
    struct {
        char type[96];
        int version;
        json_t *def; /* NULL: it could not be read */
    } defs[WORKVIEW_DEFS_MAX];
    size_t n_defs;
} workview__guard_t;

/* The definition at (type, version) of a row's step, borrowed from the guard; NULL when it cannot be
 * read, or when the page holds more kinds of work than are kept (never so far: a few dozen types). */
static const json_t *workview__def(PGconn *conn, workview__guard_t *guard, const char *type, int version)
{
    for (size_t i = 0; i < guard->n_defs; i++)
        if (guard->defs[i].version == version && strcmp(guard->defs[i].type, type) == 0)
            return guard->defs[i].def;
    if (guard->n_defs == WORKVIEW_DEFS_MAX || strlen(type) >= sizeof(guard->defs[0].type))
        return NULL;
    tsr_error_t ignored = {0};
    snprintf(guard->defs[guard->n_defs].type, sizeof(guard->defs[0].type), "%s", type);
    guard->defs[guard->n_defs].version = version;
    guard->defs[guard->n_defs].def = wf_definition_get(conn, type, version, &ignored);
    return guard->defs[guard->n_defs++].def;
}

/* What an item about a record the viewer may not open keeps: what a list of people shows of the
 * person (the name), where the item sits and when, and the ids to act on it or link to it. Its type
 * and title ("CPIS Follow Up", "CS Notification to allocated worker ...") said what happened to the
 * person as plainly as a note, and the sender (the CP-IS desk) and who returned it said it too, so
 * everything else goes and a neutral title stands in for the row. Marked restricted. */
#define WORKVIEW_HIDDEN_TITLE "Work about a restricted record"

static void workview__hide(json_t *item)
{
    static const char *const kept[] = {"kind",   "step_id",     "request_id", "subject", "state",
                                       "status", "received_at", "due_at",     "overdue", "viewed_at"};
    const char *key;
    json_t *value;
    void *tmp;
    json_object_foreach_safe(item, tmp, key, value)
    {
        size_t k = 0;
        while (k < sizeof(kept) / sizeof(kept[0]) && strcmp(kept[k], key) != 0)
            k++;
        if (k == sizeof(kept) / sizeof(kept[0]))
            json_object_del(item, key);
    }
    (void)value;
    json_object_set_new(item, "title", json_string(WORKVIEW_HIDDEN_TITLE));
    json_object_set_new(item, "restricted", json_true());
}

/* Keeps item for the check when its row is about a restricted person and its step's type needs
 * access to the record (wf_subject_guarded: not a request for access to it, which shows only the
 * name). A definition that cannot be read counts as needing it. */
static void workview__guard_add(PGconn *conn, workview__guard_t *guard, json_t *item, const PGresult *res,
                                int row, int type_col, int version_col, int restricted_col, int person_col)
{
    if (PQgetvalue(res, row, restricted_col)[0] != 't')
        return;
    const json_t *def =
        workview__def(conn, guard, PQgetvalue(res, row, type_col), atoi(PQgetvalue(res, row, version_col)));
    if (def != NULL && !wf_subject_guarded(def, "person"))
        return;
    if (guard->n == guard->cap) {
        size_t cap = guard->cap ? guard->cap * 2 : 16;
        json_t **items = realloc(guard->items, cap * sizeof(*items));
        uint64_t *people = items ? realloc(guard->people, cap * sizeof(*people)) : NULL;
        if (items)
            guard->items = items;
        if (people == NULL) {
            /* Out of memory: the item shows no more than the name, whatever the viewer's access. */
            workview__hide(item);
            return;
        }
        guard->people = people;
        guard->cap = cap;
    }
    guard->items[guard->n] = item;
    guard->people[guard->n++] = strtoull(PQgetvalue(res, row, person_col), NULL, 10);
}

/* What tells the row's step apart from others of its type (the definition's summary, from the data
 * of the section it names, data_col: NULL when it names none), as the item's "summary". Added before
 * the guard's check, which leaves it out of an item the caller may not open: a CPIS Follow up's care
 * setting and time tell what happened to the child as plainly as its title. */
static void workview__summarise(PGconn *conn, workview__guard_t *guard, json_t *item, const PGresult *res,
                                int row, int type_col, int version_col, int data_col)
{
    if (PQgetisnull(res, row, data_col))
        return;
    const json_t *def =
        workview__def(conn, guard, PQgetvalue(res, row, type_col), atoi(PQgetvalue(res, row, version_col)));
    char *summary = def ? wf_fields_summary(def, PQgetvalue(res, row, data_col)) : NULL;
    if (summary != NULL)
        json_object_set_new(item, "summary", json_string(summary));
    free(summary);
}

/* Asks records once which of the guarded items' people the caller may open, and leaves those the
 * caller may not with no more than the name (no request's note), marked restricted. What the
 * workview's owner may open does not matter: it is the caller who reads it (a manager looking at a
 * worker's workview). When records cannot say, every guarded item is left so. */
static void workview__guard_apply(tsr_call_t *call, workview__guard_t *guard)
{
    if (guard->n == 0 || tsr_actor_is_system(call->actor))
        return;
    uint64_t *people = calloc(guard->n, sizeof(uint64_t));
    size_t n = 0;
    for (size_t i = 0; people && i < guard->n; i++) {
        size_t k = 0;
        while (k < n && people[k] != guard->people[i])
            k++;
        if (k == n)
            people[n++] = guard->people[i];
    }
    Tsr__Records__PeopleAccessCheck q = TSR__RECORDS__PEOPLE_ACCESS_CHECK__INIT;
    q.worker_id = call->actor->worker_id;
    q.person_ids = people;
    q.n_person_ids = n;
    ProtobufCMessage *msg = NULL;
    tsr_error_t err = {0};
    /* Asked to answer a second before the caller gives up, so that a records daemon that does not
     * answer leaves time to answer with the names only rather than not at all. */
    int64_t deadline =
        call->request->deadline_ms > 0 ? call->request->deadline_ms - WORKVIEW_ANSWER_MARGIN_MS : 0;
    if (people == NULL ||
        tsr_daemon_ask(call->daemon, call->actor, call->trace_id, deadline, "records",
                       "records.people.access_check", &q.base,
                       &tsr__records__people_access_check_reply__descriptor, &msg, &err) != 0) {
        tsr_log_warn(call->trace_id,
                     "workview: who may open %zu restricted records not known (%s): shown by name only", n,
                     err.message);
        msg = NULL;
    }
    const Tsr__Records__PeopleAccessCheckReply *reply = (const Tsr__Records__PeopleAccessCheckReply *)msg;
    for (size_t i = 0; i < guard->n; i++) {
        int open =
            reply && wf_ids_include(reply->allowed_person_ids, reply->n_allowed_person_ids, guard->people[i]);
        if (!open)
            workview__hide(guard->items[i]);
    }
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
    free(people);
}

/* A folder's page, newest first (the workview's order, as Mosaic shows it) or oldest first (a queue
 * worked in turn: what came first falls due first). cmp and dir follow the order, so that the cursor,
 * the last item's (time, id), carries on in it. */
/* clang-format would break the statement mid-clause around the macros inside it. */
/* clang-format off */
#define WORKVIEW_STEPS_SQL(cmp, dir)                                                                         \
    "SELECT id, type, title, subject_kind, subject_id, subject_name, state, " WF_TS("sort_at") ","           \
    " coalesce(" WF_TS("due_at") ", ''), coalesce(due_at < now(), false), " WF_SORT_KEY("sort_at")           \
    ", version, " WORKVIEW_RESTRICTED_SQL ", " WORKVIEW_SUMMARY_SQL                                          \
    " FROM steps s WHERE owner = $1 AND folder = $2"                                                         \
    " AND ($3::timestamptz IS NULL OR (sort_at, id) " cmp " ($3::timestamptz, $4::bigint))"                  \
    " ORDER BY sort_at " dir ", id " dir " LIMIT $5::int"
/* clang-format on */

/* One page of a folder of steps ("incoming" or "current"), after the item (ts, id) when they are not
 * NULL. */
static int workview__steps(PGconn *conn, const char *owner, const char *folder, int oldest, uint32_t limit,
                           const char *ts, const char *id, workview__guard_t *guard, json_t **items,
                           char **next, tsr_error_t *err)
{
    char lim[16];
    snprintf(lim, sizeof(lim), "%u", limit + 1);
    const char *params[5] = {owner, folder, ts, id, lim};
    PGresult *res = tsr_db_exec(
        conn, oldest ? WORKVIEW_STEPS_SQL(">", "ASC") : WORKVIEW_STEPS_SQL("<", "DESC"), 5, params, err);
    if (res == NULL)
        return -1;
    *items = json_array();
    int n = PQntuples(res);
    for (int i = 0; i < n && i < (int)limit; i++) {
        json_t *item = json_pack(
            "{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:b}", "kind", "step", "step_id", PQgetvalue(res, i, 0),
            "type", PQgetvalue(res, i, 1), "title", PQgetvalue(res, i, 2), "subject",
            workview__subject(PQgetvalue(res, i, 3), PQgetvalue(res, i, 4), PQgetvalue(res, i, 5)), "state",
            PQgetvalue(res, i, 6), "received_at", PQgetvalue(res, i, 7), "due_at",
            workview__time(PQgetvalue(res, i, 8)), "overdue", PQgetvalue(res, i, 9)[0] == 't');
        json_array_append_new(*items, item);
        workview__summarise(conn, guard, item, res, i, 1, 11, 13);
        workview__guard_add(conn, guard, item, res, i, 1, 11, 12, 4);
    }
    *next = NULL;
    if (n > (int)limit && asprintf(next, "%s~%s~%s", PQgetvalue(res, (int)limit - 1, 10),
                                   PQgetvalue(res, (int)limit - 1, 0), oldest ? "oldest" : "newest") < 0)
        *next = NULL;
    PQclear(res);
    return 0;
}

/* clang-format off */
#define WORKVIEW_REQUESTS_SQL(cmp, dir)                                                                      \
    "SELECT r.id, r.step_id, r.type, r.title || ': ' || s.title, s.subject_kind, s.subject_id,"            \
    " s.subject_name, r.status, r.note, r.sender_id, r.sender_name, " WF_TS("r.sent_at") ","                \
    " coalesce(" WF_TS("r.due_at") ", ''), coalesce(r.due_at < now(), false), "                            \
    WF_SORT_KEY("r.sent_at") ", s.type, s.version, " WORKVIEW_RESTRICTED_SQL ","                           \
    " coalesce(" WF_TS("h.at") ", ''), h.by_worker_id::text, h.by_name, h.note, " WORKVIEW_SUMMARY_SQL        \
    " FROM requests r JOIN steps s ON s.id = r.step_id"                                                      \
    " LEFT JOIN LATERAL (SELECT at, by_worker_id, by_name, note FROM request_history"                        \
    "  WHERE request_id = r.id AND action = 'returned' AND r.status = 'returned'"                            \
    "  ORDER BY at DESC LIMIT 1) h ON true"                                                                  \
    " WHERE r.inbox = $1"                                                                                    \
    " AND ($2::timestamptz IS NULL OR (r.sent_at, r.id) " cmp " ($2::timestamptz, $3::bigint))"            \
    " ORDER BY r.sent_at " dir ", r.id " dir " LIMIT $4::int"
/* clang-format on */

static int workview__requests(PGconn *conn, const char *owner, int oldest, uint32_t limit, const char *ts,
                              const char *id, workview__guard_t *guard, json_t **items, char **next,
                              tsr_error_t *err)
{
    char lim[16];
    snprintf(lim, sizeof(lim), "%u", limit + 1);
    const char *params[4] = {owner, ts, id, lim};
    PGresult *res =
        tsr_db_exec(conn, oldest ? WORKVIEW_REQUESTS_SQL(">", "ASC") : WORKVIEW_REQUESTS_SQL("<", "DESC"), 4,
                    params, err);
    if (res == NULL)
        return -1;
    *items = json_array();
    int n = PQntuples(res);
    for (int i = 0; i < n && i < (int)limit; i++) {
        json_t *item = json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:{s:s, s:s}, s:s, s:o, s:b}", "kind", "request",
            "request_id", PQgetvalue(res, i, 0), "step_id", PQgetvalue(res, i, 1), "type",
            PQgetvalue(res, i, 2), "step_type", PQgetvalue(res, i, 15), "title", PQgetvalue(res, i, 3),
            "subject", workview__subject(PQgetvalue(res, i, 4), PQgetvalue(res, i, 5), PQgetvalue(res, i, 6)),
            "status", PQgetvalue(res, i, 7), "note", PQgetvalue(res, i, 8), "from", "id",
            PQgetvalue(res, i, 9), "name", PQgetvalue(res, i, 10), "received_at", PQgetvalue(res, i, 11),
            "due_at", workview__time(PQgetvalue(res, i, 12)), "overdue", PQgetvalue(res, i, 13)[0] == 't');
        /* A request returned to its sender: when, by whom and why, which its sender looks for. */
        if (PQgetvalue(res, i, 18)[0])
            json_object_set_new(item, "returned",
                                json_pack("{s:s, s:{s:s, s:s}, s:s}", "at", PQgetvalue(res, i, 18), "by",
                                          "id", PQgetvalue(res, i, 19), "name", PQgetvalue(res, i, 20),
                                          "note", PQgetvalue(res, i, 21)));
        json_array_append_new(*items, item);
        workview__summarise(conn, guard, item, res, i, 15, 16, 22);
        workview__guard_add(conn, guard, item, res, i, 15, 16, 17, 5);
    }
    *next = NULL;
    if (n > (int)limit && asprintf(next, "%s~%s~%s", PQgetvalue(res, (int)limit - 1, 14),
                                   PQgetvalue(res, (int)limit - 1, 0), oldest ? "oldest" : "newest") < 0)
        *next = NULL;
    PQclear(res);
    return 0;
}

static int workview__recent(PGconn *conn, const char *worker, workview__guard_t *guard, json_t **items,
                            tsr_error_t *err)
{
    const char *params[1] = {worker};
    PGresult *res = tsr_db_exec(
        conn,
        "SELECT s.id, s.type, s.title, s.subject_kind, s.subject_id, s.subject_name, s.state,"
        " " WF_TS("v.viewed_at") ", s.version, " WORKVIEW_RESTRICTED_SQL ", " WORKVIEW_SUMMARY_SQL
                                 " FROM recent_views v JOIN steps s ON s.id = v.step_id"
                                 " WHERE v.worker_id = $1::bigint ORDER BY v.viewed_at DESC LIMIT 20",
        1, params, err);
    if (res == NULL)
        return -1;
    *items = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *item =
            json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s}", "kind", "step", "step_id", PQgetvalue(res, i, 0),
                      "type", PQgetvalue(res, i, 1), "title", PQgetvalue(res, i, 2), "subject",
                      workview__subject(PQgetvalue(res, i, 3), PQgetvalue(res, i, 4), PQgetvalue(res, i, 5)),
                      "state", PQgetvalue(res, i, 6), "viewed_at", PQgetvalue(res, i, 7));
        json_array_append_new(*items, item);
        workview__summarise(conn, guard, item, res, i, 1, 8, 10);
        workview__guard_add(conn, guard, item, res, i, 1, 8, 9, 4);
    }
    PQclear(res);
    return 0;
}

/* Counts of the folders of owner: incoming work, incoming requests, current work. */
static int workview__counts(PGconn *conn, const char *owner, long counts[3], tsr_error_t *err)
{
    const char *params[1] = {owner};
    PGresult *res = tsr_db_exec(conn,
                                "SELECT coalesce(sum(n) FILTER (WHERE folder = 'incoming'), 0),"
                                " coalesce(sum(n) FILTER (WHERE folder = 'requests'), 0),"
                                " coalesce(sum(n) FILTER (WHERE folder = 'current'), 0)"
                                " FROM queue_counts WHERE owner = $1",
                                1, params, err);
    if (res == NULL)
        return -1;
    for (int i = 0; i < 3; i++)
        counts[i] = atol(PQgetvalue(res, 0, i));
    PQclear(res);
    return 0;
}

/* Whether the caller may see owner's workview. */
static int workview__may_view(const Tsr__Actor *actor, const char *owner)
{
    return wf_actor_works(actor, owner) || wf_actor_is_manager(actor) || tsr_actor_is_system(actor);
}

/* Whether the worker or team of owner ('w:<id>' or 't:<id>') is one the daemon has heard of. */
static int workview__owner_known(PGconn *conn, const char *owner, int *known, tsr_error_t *err)
{
    *known = 0;
    if (strtoull(owner + 2, NULL, 10) > INT64_MAX)
        return 0;
    const char *params[1] = {owner + 2};
    PGresult *res = tsr_db_exec(conn,
                                owner[0] == 'w' ? "SELECT 1 FROM workers WHERE id = $1::bigint"
                                                : "SELECT 1 FROM teams WHERE id = $1::bigint",
                                1, params, err);
    if (res == NULL)
        return -1;
    *known = PQntuples(res) > 0;
    PQclear(res);
    return 0;
}

/* The teams and virtual workers whose queues the caller works, with their counts, in one query. */
static json_t *workview__queues(tsr_call_t *call, tsr_error_t *err)
{
    size_t n = call->actor->n_team_ids + wf_virtual_workers_count();
    char **owners = calloc(n + 1, sizeof(char *));
    json_t *queues = json_array();
    size_t k = 0;
    for (size_t i = 0; i < call->actor->n_team_ids; i++) {
        if (asprintf(&owners[k], "t:%" PRIu64, call->actor->team_ids[i]) < 0)
            goto fail;
        json_array_append_new(
            queues, json_pack("{s:s, s:o, s:s}", "kind", "team", "id", wf_json_id(call->actor->team_ids[i]),
                              "name", i < call->actor->n_team_names ? call->actor->team_names[i] : ""));
        k++;
    }
    for (size_t i = 0; i < wf_virtual_workers_count(); i++) {
        const wf_virtual_worker_t *v = wf_virtual_worker_at(i);
        char owner[WF_OWNER_MAX];
        snprintf(owner, sizeof(owner), "v:%s", v->key);
        if (!wf_actor_works(call->actor, owner))
            continue;
        owners[k++] = strdup(owner);
        json_array_append_new(
            queues, json_pack("{s:s, s:s, s:s}", "kind", "virtual_worker", "key", v->key, "name", v->name));
    }
    if (k > 0) {
        /* A text[] literal of the owner keys: digits, letters, '-' and ':' only, so nothing to quote. */
        size_t len = 3;
        for (size_t i = 0; i < k; i++)
            len += strlen(owners[i]) + 1;
        char *list = calloc(len, 1);
        strcat(list, "{");
        for (size_t i = 0; i < k; i++) {
            if (i)
                strcat(list, ",");
            strcat(list, owners[i]);
        }
        strcat(list, "}");
        const char *params[1] = {list};
        PGresult *res = tsr_db_exec(call->conn,
                                    "SELECT o, coalesce(sum(c.n) FILTER (WHERE c.folder = 'incoming'), 0),"
                                    " coalesce(sum(c.n) FILTER (WHERE c.folder = 'requests'), 0),"
                                    " coalesce(sum(c.n) FILTER (WHERE c.folder = 'current'), 0)"
                                    " FROM unnest($1::text[]) WITH ORDINALITY AS q(o, pos)"
                                    " LEFT JOIN queue_counts c ON c.owner = q.o GROUP BY o, pos ORDER BY pos",
                                    1, params, err);
        free(list);
        if (res == NULL)
            goto fail;
        for (int i = 0; i < PQntuples(res) && i < (int)k; i++)
            json_object_set_new(json_array_get(queues, (size_t)i), "counts",
                                json_pack("{s:I, s:I, s:I}", "incoming_work",
                                          (json_int_t)atoll(PQgetvalue(res, i, 1)), "incoming_requests",
                                          (json_int_t)atoll(PQgetvalue(res, i, 2)), "current_work",
                                          (json_int_t)atoll(PQgetvalue(res, i, 3))));
        PQclear(res);
    }
    for (size_t i = 0; i < k; i++)
        free(owners[i]);
    free(owners);
    return queues;
fail:
    for (size_t i = 0; i < n; i++)
        free(owners[i]);
    free(owners);
    json_decref(queues);
    return NULL;
}

int wf_handle_workview(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Workflow__WorkviewQuery *in = (const Tsr__Workflow__WorkviewQuery *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    int chosen = (in->worker_id != 0) + (in->team_id != 0) + (in->virtual_worker && in->virtual_worker[0]);
    if (chosen > 1)
        return tsr_error_set(err, TSR_E_INVALID, "ambiguous_workview", "worker_id",
                             "Ask for one workview: a worker's, a team's or a virtual worker's.");
    char owner[WF_OWNER_MAX];
    if (in->team_id)
        snprintf(owner, sizeof(owner), "t:%" PRIu64, in->team_id);
    else if (in->virtual_worker && in->virtual_worker[0]) {
        if (wf_virtual_worker(in->virtual_worker) == NULL)
            return tsr_error_set(err, TSR_E_NOT_FOUND, "virtual_worker_not_found", "queue",
                                 "There is no virtual worker \"%s\".", in->virtual_worker);
        snprintf(owner, sizeof(owner), "v:%s", in->virtual_worker);
    } else if (in->worker_id)
        snprintf(owner, sizeof(owner), "w:%" PRIu64, in->worker_id);
    else if (call->actor->worker_id)
        wf_actor_owner(call->actor, owner);
    else
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", "worker_id", "Say whose workview to show.");
    if (!workview__may_view(call->actor, owner))
        return tsr_error_set(
            err, TSR_E_FORBIDDEN, "forbidden", NULL,
            "You may see your own workview, your teams', and the queues your role works; a manager "
            "may see others'.");
    /* A worker or team asked for by id must be one this daemon knows (a leaver's account too): a
     * mistyped id would show an empty workview of no one. The caller's own are theirs, known or not. */
    if (owner[0] != 'v' && !wf_actor_works(call->actor, owner)) {
        int known = 0;
        if (workview__owner_known(call->conn, owner, &known, err) != 0)
            return -1;
        if (!known)
            return owner[0] == 'w' ? tsr_error_set(err, TSR_E_NOT_FOUND, "worker_not_found", "worker_id",
                                                   "There is no worker %s.", owner + 2)
                                   : tsr_error_set(err, TSR_E_NOT_FOUND, "team_not_found", "team_id",
                                                   "There is no team %s.", owner + 2);
    }
    const char *folder = in->folder ? in->folder : "";
    int want = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(folder, folder_keys[i]) == 0)
            want = i;
    if (folder[0] && want < 0)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_value", "folder",
                             "folder is incoming_work, incoming_requests, current_work or recently_viewed.");
    const char *order = in->order && in->order[0] ? in->order : "";
    if (order[0] && strcmp(order, "newest") != 0 && strcmp(order, "oldest") != 0)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_value", "order",
                             "order is newest (the default: newest first) or oldest (oldest first).");
    /* A cursor carries on in the order it was given with, which it carries: continued in the other
     * order, from its place, it would show again what was seen and never what was not. */
    char ts[WF_CURSOR_TS_LEN + 1] = "", after[24] = "", cursor_order[8] = "";
    if (in->cursor && in->cursor[0]) {
        if (want < 0)
            return tsr_error_set(err, TSR_E_INVALID, "missing_field", "folder",
                                 "A cursor pages one folder: name it.");
        if (wf_cursor_parse(in->cursor, ts, after, cursor_order) != 0 || cursor_order[0] == '\0')
            return tsr_error_set(err, TSR_E_INVALID, "invalid_cursor", "cursor",
                                 "The cursor is not one this workview gave out.");
        if (order[0] && strcmp(order, cursor_order) != 0)
            return tsr_error_set(err, TSR_E_INVALID, "invalid_cursor", "cursor",
                                 "This cursor pages the folder %s first, not %s first: leave out order to "
                                 "carry on, or start again without the cursor.",
                                 cursor_order, order);
        order = cursor_order;
    }
    int oldest = strcmp(order, "oldest") == 0;
    uint32_t limit = in->limit ? in->limit : WORKVIEW_LIMIT_DEFAULT;
    if (limit > WORKVIEW_LIMIT_MAX)
        limit = WORKVIEW_LIMIT_MAX;
    long counts[3];
    if (workview__counts(call->conn, owner, counts, err) != 0)
        return -1;
    int own = owner[0] == 'w' && strtoull(owner + 2, NULL, 10) == call->actor->worker_id;
    char *owner_name = own ? strdup(wf_actor_name(call->actor)) : wf_owner_name(call->conn, owner);
    json_t *owner_json = json_pack("{s:s, s:s}", "kind",
                                   owner[0] == 'w'   ? "worker"
                                   : owner[0] == 't' ? "team"
                                                     : "virtual_worker",
                                   "name", owner_name);
    json_object_set_new(owner_json, owner[0] == 'v' ? "key" : "id", json_string(owner + 2));
    free(owner_name);
    json_t *folders = json_object();
    json_t *body = json_pack("{s:o, s:o}", "owner", owner_json, "folders", folders);
    workview__guard_t guard = {0};
    int rc = -1;
    for (int i = 0; i < 4; i++) {
        if (want >= 0 && want != i)
            continue;
        json_t *items = NULL;
        char *next = NULL;
        long count = 0;
        const char *at = want == i && ts[0] ? ts : NULL, *id = want == i && ts[0] ? after : NULL;
        int bad = 0;
        if (i == 0) {
            bad = workview__steps(call->conn, owner, "incoming", oldest, limit, at, id, &guard, &items, &next,
                                  err);
            count = counts[0];
        } else if (i == 1) {
            bad = workview__requests(call->conn, owner, oldest, limit, at, id, &guard, &items, &next, err);
            count = counts[1];
        } else if (i == 2) {
            bad = workview__steps(call->conn, owner, "current", oldest, limit, at, id, &guard, &items, &next,
                                  err);
            count = counts[2];
        } else if (owner[0] == 'w') {
            bad = workview__recent(call->conn, owner + 2, &guard, &items, err);
            count = bad ? 0 : (long)json_array_size(items);
        } else
            items = json_array();
        if (bad)
            goto done;
        json_t *f = json_pack("{s:s, s:i, s:o}", "title", folder_titles[i], "count", (json_int_t)count,
                              "items", items);
        json_object_set_new(f, "next_cursor", next ? json_string(next) : json_null());
        free(next);
        json_object_set_new(folders, folder_keys[i], f);
    }
    /* The caller's own workview also lists the queues they may work, with their counts. */
    if (want < 0 && own) {
        json_t *queues = workview__queues(call, err);
        if (queues == NULL)
            goto done;
        json_object_set_new(body, "queues", queues);
    }
    workview__guard_apply(call, &guard);
    wf_reply_json(call, json_incref(body));
    rc = 0;
done:
    free(guard.items);
    free(guard.people);
    for (size_t i = 0; i < guard.n_defs; i++)
        json_decref(guard.defs[i].def);
    json_decref(body);
    return rc;
}

/* Work left in a leaver's folders is seen by no one until a manager moves it (seed 001: system
 * support help senior practitioners and team managers clean up leavers' folders): the list says
 * whose, and how much, so that it can be moved. */
int wf_handle_leavers(tsr_call_t *call, tsr_error_t *err)
{
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    if (!wf_actor_is_manager(call->actor) && !tsr_actor_is_system(call->actor))
        return tsr_error_set(err, TSR_E_FORBIDDEN, "forbidden", NULL,
                             "Managers and system support see the leavers whose folders hold work.");
    PGresult *res =
        tsr_db_exec(call->conn,
                    "SELECT w.id, w.name,"
                    " coalesce(sum(q.n) FILTER (WHERE q.folder = 'incoming'), 0),"
                    " coalesce(sum(q.n) FILTER (WHERE q.folder = 'requests'), 0),"
                    " coalesce(sum(q.n) FILTER (WHERE q.folder = 'current'), 0)"
                    " FROM workers w JOIN queue_counts q ON q.owner = 'w:' || w.id"
                    " WHERE w.ended GROUP BY w.id, w.name HAVING sum(q.n) > 0 ORDER BY w.name, w.id",
                    0, NULL, err);
    if (res == NULL)
        return -1;
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(items, json_pack("{s:s, s:s, s:{s:I, s:I, s:I}}", "worker_id",
                                               PQgetvalue(res, i, 0), "name", PQgetvalue(res, i, 1), "counts",
                                               folder_keys[0], (json_int_t)atoll(PQgetvalue(res, i, 2)),
                                               folder_keys[1], (json_int_t)atoll(PQgetvalue(res, i, 3)),
                                               folder_keys[2], (json_int_t)atoll(PQgetvalue(res, i, 4))));
    PQclear(res);
    wf_reply_json(call, json_pack("{s:o}", "items", items));
    return 0;
}

int wf_handle_definitions(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Workflow__DefinitionsQuery *in = (const Tsr__Workflow__DefinitionsQuery *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    json_t *items = json_array();
    for (size_t i = 0; i < wf_definitions_count(); i++) {
        int version = 0;
        const json_t *def = wf_definition_at(i, &version);
        const char *type = json_string_value(json_object_get(def, "type"));
        if (in->type && in->type[0] && strcmp(in->type, type) != 0)
            continue;
        const json_t *roles = json_object_get(json_object_get(def, "start"), "roles");
        int may_start = roles == NULL ||
                        wf_def_roles_match(roles, call->actor->roles, call->actor->n_roles) ||
                        tsr_actor_is_system(call->actor);
        json_t *copy = json_deep_copy(def);
        json_object_del(copy, "_comment");
        json_object_set_new(copy, "version", json_integer(version));
        json_object_set_new(copy, "you_may_start", json_boolean(may_start));
        json_array_append_new(items, copy);
    }
    if (in->type && in->type[0] && json_array_size(items) == 0) {
        json_decref(items);
        return tsr_error_set(err, TSR_E_NOT_FOUND, "unknown_step_type", "type",
                             "There is no step type \"%s\".", in->type);
    }
    json_t *virtuals = json_array();
    for (size_t i = 0; i < wf_virtual_workers_count(); i++) {
        const wf_virtual_worker_t *v = wf_virtual_worker_at(i);
        json_array_append_new(virtuals, json_pack("{s:s, s:s, s:O}", "key", v->key, "name", v->name,
                                                  "worked_by_roles", v->roles));
    }
    json_t *body = json_pack("{s:o, s:o, s:n}", "items", items, "virtual_workers", virtuals, "next_cursor");
    wf_reply_json(call, body);
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * Overdue work: each item's notice is raised once, through the outbox
 * ---------------------------------------------------------------------------------------------- */

/* A run of the scan raises its notices in batches of WF_OVERDUE_BATCH, until none is left or
 * WF_OVERDUE_MOST are raised (the rest at the next run). One batch a run was not enough: when a
 * weekend's CP-IS follow-ups all fell due at 16:30 on Monday, a follow-up held by a key worker
 * waited behind the whole queue's backlog, 200 every 30 s, before its worker was reminded and
 * their manager told. */
#define WF_OVERDUE_BATCH 200
#define WF_OVERDUE_MOST 20000
#define OVERDUE__TEXT(n) #n
#define OVERDUE__LIMIT(n) " LIMIT " OVERDUE__TEXT(n)

typedef int (*overdue_batch_fn)(PGconn *conn, const Tsr__Actor *system_actor, int *raised, tsr_error_t *err);
static int overdue__scan_steps(PGconn *conn, const Tsr__Actor *system_actor, int *raised, tsr_error_t *err);
static int overdue__scan_requests(PGconn *conn, const Tsr__Actor *system_actor, int *raised,
                                  tsr_error_t *err);

/* Batch after batch of one kind, adding to *raised, until a batch is not full or the run's most. */
static int overdue__scan_all(PGconn *conn, const Tsr__Actor *system_actor, overdue_batch_fn scan_batch,
                             int *raised, tsr_error_t *err)
{
    int batch, done = 0;
    do {
        batch = 0;
        if (scan_batch(conn, system_actor, &batch, err) != 0)
            return -1;
        done += batch;
    } while (batch == WF_OVERDUE_BATCH && done < WF_OVERDUE_MOST);
    *raised += done;
    return 0;
}

int wf_overdue_scan(PGconn *conn, int *raised, tsr_error_t *err)
{
    *raised = 0;
    static Tsr__Actor system_actor = TSR__ACTOR__INIT;
    static char *system_roles[] = {"system"};
    system_actor.roles = system_roles;
    system_actor.n_roles = 1;
    if (overdue__scan_all(conn, &system_actor, overdue__scan_steps, raised, err) != 0)
        return -1;
    return overdue__scan_all(conn, &system_actor, overdue__scan_requests, raised, err);
}

/* One batch of steps past their due time, oldest first: each flagged and its notice raised. */
static int overdue__scan_steps(PGconn *conn, const Tsr__Actor *system_actor, int *raised, tsr_error_t *err)
{
    *raised = 0;
    PGresult *res = tsr_db_exec(
        conn,
        "UPDATE steps SET overdue_notified = true WHERE id IN (SELECT id FROM steps"
        " WHERE folder IS NOT NULL AND NOT overdue_notified AND due_at < now()"
        " AND (remind_at IS NULL OR remind_at < now())"
        " ORDER BY due_at" OVERDUE__LIMIT(WF_OVERDUE_BATCH) " FOR UPDATE SKIP LOCKED)"
                                                            " RETURNING id, type, version, variant, title, "
                                                            "subject_kind, subject_id, subject_name,"
                                                            " state, owner, " WF_MS("due_at"),
        0, NULL, err);
    if (res == NULL)
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        Tsr__Workflow__StepEvent ev = TSR__WORKFLOW__STEP_EVENT__INIT;
        Tsr__Workflow__Subject subject = TSR__WORKFLOW__SUBJECT__INIT;
        subject.kind = PQgetvalue(res, i, 5);
        subject.id = strtoull(PQgetvalue(res, i, 6), NULL, 10);
        ev.step_id = strtoull(PQgetvalue(res, i, 0), NULL, 10);
        ev.type = PQgetvalue(res, i, 1);
        ev.version = (uint32_t)atoi(PQgetvalue(res, i, 2));
        ev.variant = PQgetvalue(res, i, 3);
        ev.title = PQgetvalue(res, i, 4);
        ev.subject = &subject;
        ev.subject_name = PQgetvalue(res, i, 7);
        ev.state = PQgetvalue(res, i, 8);
        ev.action = "overdue";
        wf_step_event_set_owner(&ev, PQgetvalue(res, i, 9));
        if (tsr_outbox_append(conn, "workflow.step.overdue", system_actor, NULL, &ev.base, err) != 0) {
            PQclear(res);
            return -1;
        }
        (*raised)++;
    }
    PQclear(res);
    return 0;
}

/* One batch of requests past their due time, oldest first: each flagged and its notice raised. */
static int overdue__scan_requests(PGconn *conn, const Tsr__Actor *system_actor, int *raised, tsr_error_t *err)
{
    *raised = 0;
    PGresult *res = tsr_db_exec(
        conn,
        "UPDATE requests r SET overdue_notified = true FROM steps s WHERE s.id = r.step_id AND r.id IN"
        " (SELECT id FROM requests WHERE inbox IS NOT NULL AND NOT overdue_notified AND due_at < now()"
        "  ORDER BY due_at" OVERDUE__LIMIT(
            WF_OVERDUE_BATCH) " FOR UPDATE SKIP LOCKED)"
                              " RETURNING r.id, r.step_id, r.type, r.title, r.recipient, r.note, "
                              "s.subject_kind, s.subject_id,"
                              " s.subject_name, r.sender_id, " WF_MS("r.due_at") ", " WF_SQL_REQUEST_ROLES,
        0, NULL, err);
    if (res == NULL)
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        Tsr__Workflow__RequestEvent ev = TSR__WORKFLOW__REQUEST_EVENT__INIT;
        Tsr__Workflow__Recipient to = TSR__WORKFLOW__RECIPIENT__INIT;
        Tsr__Workflow__Subject subject = TSR__WORKFLOW__SUBJECT__INIT;
        wf_request_roles_t roles;
        wf_request_event_fill(res, i, "overdue", &ev, &to, &subject, &roles);
        if (tsr_outbox_append(conn, "workflow.request.overdue", system_actor, NULL, &ev.base, err) != 0) {
            PQclear(res);
            return -1;
        }
        (*raised)++;
    }
    PQclear(res);
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * Virtual workers' queues, for ops
 * ---------------------------------------------------------------------------------------------- */

#define QUEUE_METRICS_MAX 16

int wf_queue_metrics(PGconn *conn, tsr_error_t *err)
{
    /* Made on the first run, one pair a queue; runs take turns (one periodic job). */
    static tsr_metric_t *items[QUEUE_METRICS_MAX], *oldest[QUEUE_METRICS_MAX], *overdue[QUEUE_METRICS_MAX];
    size_t n = wf_virtual_workers_count();
    if (n > QUEUE_METRICS_MAX)
        n = QUEUE_METRICS_MAX;
    for (size_t i = 0; i < n; i++) {
        if (items[i] != NULL)
            continue;
        char labels[160];
        snprintf(labels, sizeof(labels), "queue=\"%s\"", wf_virtual_worker_at(i)->key);
        items[i] = tsr_metrics_gauge("tessera_workflow_queue_items", "Open work in a virtual worker's queue.",
                                     labels);
        oldest[i] = tsr_metrics_gauge("tessera_workflow_queue_oldest_age_seconds",
                                      "How long the oldest open work in a virtual worker's queue has waited.",
                                      labels);
        /* Age counts nights, weekends and bank holidays; the due time is in the queue's working hours,
         * so this is the one to alert on out of hours. */
        overdue[i] = tsr_metrics_gauge("tessera_workflow_queue_overdue_items",
                                       "Open work in a virtual worker's queue past its due time.", labels);
    }
    for (size_t i = 0; i < n; i++) {
        char owner[WF_OWNER_MAX];
        snprintf(owner, sizeof(owner), "v:%s", wf_virtual_worker_at(i)->key);
        const char *p[1] = {owner};
        /* Its work is steps held in its folders and requests waiting in its Incoming requests (the
         * System Support queue's work arrives as requests). */
        PGresult *res =
            tsr_db_exec(conn,
                        "SELECT count(*), coalesce(extract(epoch FROM now() - min(at)), 0),"
                        " count(*) FILTER (WHERE due_at < now()) FROM"
                        " (SELECT sort_at AS at, due_at FROM steps WHERE owner = $1 AND folder IS NOT NULL"
                        "  UNION ALL SELECT sent_at, due_at FROM requests WHERE inbox = $1) work",
                        1, p, err);
        if (res == NULL)
            return -1;
        tsr_metric_set(items[i], atof(PQgetvalue(res, 0, 0)));
        tsr_metric_set(oldest[i], atof(PQgetvalue(res, 0, 1)));
        tsr_metric_set(overdue[i], atof(PQgetvalue(res, 0, 2)));
        PQclear(res);
    }
    return 0;
}
