#include "ingest.h"
#include "plans.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cpis.pb-c.h"
#include "notifications.pb-c.h"
#include "records.pb-c.h"
#include "tsr_envelope.h"
#include "tsr_json.h"
#include "tsr_log.h"
#include "tsr_metrics.h"
#include "tsr_nhs.h"
#include "tsr_text.h"
#include "workflow.pb-c.h"

/* A batch larger than this is refused whole: the poller sends feed files in smaller parts. */
#define INGEST_BATCH_MAX 5000
#define INGEST_TEXT_MAX 200
/* A notification's clock may run a little ahead of ours. */
#define INGEST_CLOCK_SKEW_MS (5 * 60 * 1000)
#define INGEST_REASON_MAX 900
/* The earliest date a notification's times may fall on, as a consultation's (the form's
 * not_before): CP-IS began decades after it, and an earlier date is a fault of the sender's. */
#define INGEST_NOT_BEFORE "1990-01-01"

static const char *const ingest_senders[] = {"cpis-service", "system", NULL};
static const char *const errors_readers[] = {"system-support", NULL};

/* The care settings of the feed, and how the follow-up step's comment names them. */
static const struct {
    const char *key;
    const char *title;
} ingest_settings[] = {
    {"emergency-department", "an emergency department"},
    {"minor-injury-unit", "a minor injury unit"},
    {"nhs-111", "NHS 111"},
    {"other", "an unscheduled care setting"},
};
#define INGEST_SETTINGS (sizeof(ingest_settings) / sizeof(ingest_settings[0]))

typedef struct {
    const Tsr__Records__NhsHolder *items[16];
    size_t n;
} ingest_people_t;

/* One notification of the batch, as read and judged. Strings point into obj. */
typedef struct {
    const char *raw; /* its own text, when the batch came as notifications_json */
    json_t *obj;
    const char *id;
    const char *kind;
    const char *nhs_text;
    char nhs[11];
    int64_t created_ms;
    int64_t accessed_ms;
    const char *created_at;
    const char *accessed_at;
    const char *setting;
    const char *ods_code;
    const char *organisation;
    const char *hp_name;
    const char *hp_role;
    int valid;
    const char *source;       /* the error queue's source of its entry: NULL for 'notification' */
    ingest_people_t subjects; /* the children it is about, once matched */
    uint64_t person_id;       /* whom its error queue entry names, when it names one of our people */
    char code[48];
    char reason[INGEST_REASON_MAX];
} ingest_note_t;

static int ingest__fault(ingest_note_t *n, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int ingest__fault(ingest_note_t *n, const char *code, const char *fmt, ...)
{
    n->valid = 0;
    snprintf(n->code, sizeof(n->code), "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->reason, sizeof(n->reason), fmt, ap);
    va_end(ap);
    /* A text quoted in part (%.40s) or the reason cut at its size can end inside a character; the
     * error queue (and the reply) take only UTF-8. */
    if (!tsr_text_is_utf8(n->reason, strlen(n->reason))) {
        char *whole = tsr_text_utf8_repair(n->reason, strlen(n->reason), sizeof(n->reason) - 1);
        if (whole != NULL)
            snprintf(n->reason, sizeof(n->reason), "%s", whole);
        free(whole);
    }
    return -1;
}

/* The first control character of s in words, at named: "a tab", "U+001B". */
static const char *ingest__control_named(const char *s, char named[16])
{
    int code = tsr_text_first_control(s, 0);
    if (code == '\t')
        return "a tab";
    snprintf(named, 16, "U+%04X", (unsigned)code);
    return named;
}

/* A required (or optional) text member of obj, one line of at most INGEST_TEXT_MAX characters and
 * no other control character (a tab, an escape, a bell): each fault said as it is, so that system
 * support reading the entry knows what the national service sent. */
static int ingest__text(ingest_note_t *n, const json_t *obj, const char *key, const char *path, int required,
                        const char **out)
{
    *out = NULL;
    const json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v)) {
        if (required)
            return ingest__fault(n, "missing_field", "The notification has no %s.", path);
        return 0;
    }
    if (!json_is_string(v))
        return ingest__fault(n, "invalid_field", "%s must be text.", path);
    const char *s = json_string_value(v);
    if (required && tsr_text_trimmed_length(s) == 0)
        return ingest__fault(n, "missing_field", "The notification's %s is empty.", path);
    if (tsr_text_length(s) > INGEST_TEXT_MAX)
        return ingest__fault(n, "invalid_field", "%s must be at most %d characters; it has %zu.", path,
                             INGEST_TEXT_MAX, tsr_text_length(s));
    if (strpbrk(s, "\r\n") != NULL)
        return ingest__fault(n, "invalid_field", "%s must be one line; it holds a line break.", path);
    char named[16];
    if (tsr_text_has_control(s, 0))
        return ingest__fault(n, "invalid_characters",
                             "%s must not hold control characters (a tab, an escape, a bell and the like); "
                             "it holds %s.",
                             path, ingest__control_named(s, named));
    *out = s;
    return 0;
}

static int ingest__time(ingest_note_t *n, const json_t *obj, const char *key, int64_t now, const char **text,
                        int64_t *ms)
{
    if (ingest__text(n, obj, key, key, 1, text) != 0)
        return -1;
    /* RFC 3339 has the seconds, which tsr_text_check_datetime would let go. A time before
     * INGEST_NOT_BEFORE is read as one (said so, not called unreadable): no notification of the
     * national service can be that old, and the follow-up would show a date no one could act on. */
    tsr_error_t err;
    err.code[0] = '\0';
    char title[80];
    snprintf(title, sizeof(title), "%s '%.40s'", key, *text);
    int rc = strlen(*text) >= 20 && (*text)[16] == ':'
                 ? tsr_text_check_datetime(*text, 0, INGEST_NOT_BEFORE, key, title, &err)
                 : -1;
    if (rc != 0 && strcmp(err.code, "date_too_early") == 0)
        return ingest__fault(n, "date_too_early",
                             "%s No CP-IS notification is that old: the national service sent it wrong.",
                             err.message);
    if (rc != 0 || tsr_text_datetime_parse(*text, ms) != 0)
        return ingest__fault(
            n, "invalid_date",
            "%s '%.40s' is not an RFC 3339 date and time with seconds and an offset, such as "
            "2026-03-14T10:21:00Z or 2026-03-14T11:21:00+01:00.",
            key, *text);
    if (*ms > now + INGEST_CLOCK_SKEW_MS)
        return ingest__fault(n, "date_in_future", "%s '%.40s' is in the future.", key, *text);
    return 0;
}

/* A member that must be an object: missing, or there but another kind of value, each said so. */
static int ingest__object(ingest_note_t *n, const json_t *v, const char *key, const char *members)
{
    if (v == NULL || json_is_null(v))
        return ingest__fault(n, "missing_field", "The notification has no %s object (with its %s).", key,
                             members);
    if (!json_is_object(v))
        return ingest__fault(n, "invalid_field", "%s must be an object with its %s, not %s.", key, members,
                             json_is_string(v)  ? "text"
                             : json_is_array(v) ? "a list"
                                                : "a number or true/false");
    return 0;
}

/* The feed's NHS number as docs/cpis-feed.md gives it: ten digits, or three groups of 3, 3 and 4
 * digits with a space or a hyphen between them ("943 476 5919", "943-476-5919"). */
static int ingest__nhs_layout(const char *s)
{
    size_t len = strlen(s);
    for (size_t i = 0; len == 10 && i < 10; i++)
        if (s[i] < '0' || s[i] > '9')
            return -1;
    if (len == 10)
        return 0;
    if (len != 12)
        return -1;
    for (size_t i = 0; i < 12; i++) {
        int separator = i == 3 || i == 7;
        if (separator ? (s[i] != ' ' && s[i] != '-') : (s[i] < '0' || s[i] > '9'))
            return -1;
    }
    return 0;
}

/* Reads and checks one notification; n->valid says whether it passed, n->reason why not. */
static void ingest__validate(ingest_note_t *n, int64_t now)
{
    tsr_error_t unread = {0};
    n->valid = 1;
    /* Read with its batch (batch_json), or alone from its own text. */
    if (n->obj == NULL)
        n->obj = tsr_json_load(n->raw, strlen(n->raw), "The notification", &unread);
    if (n->obj == NULL) {
        ingest__fault(n, "not_an_object", "%s", unread.message);
        return;
    }
    if (!json_is_object(n->obj)) {
        ingest__fault(n, "not_an_object",
                      "The notification is not a JSON object: it is another kind of value.");
        return;
    }
    const json_t *o = n->obj;
    /* What the spine poller could not read, sent in its place (docs/cpis-feed.md): into the error
     * queue with the poller's account of the fault, under the notification's id when it gave one. */
    const json_t *unreadable = json_object_get(o, "tessera_unreadable");
    if (unreadable != NULL) {
        const char *id = NULL;
        if (ingest__text(n, o, "notification_id", "notification_id", 0, &id) == 0)
            n->id = id;
        const char *scope = json_string_value(json_object_get(unreadable, "scope"));
        const char *file = json_string_value(json_object_get(unreadable, "file"));
        const char *fault = json_string_value(json_object_get(unreadable, "fault"));
        /* The poller's fault is a sentence of its own, perhaps ending in a full stop. */
        char said[320];
        snprintf(said, sizeof(said), "%.300s", fault ? fault : "no reason given");
        size_t said_len = strlen(said);
        while (said_len > 0 && said[said_len - 1] == '.')
            said[--said_len] = '\0';
        if (scope != NULL && strcmp(scope, "response") == 0) {
            n->source = "response";
            ingest__fault(
                n, "unreadable_response",
                "The spool file '%.200s' is the national service's response to an upload file, and "
                "was not read: %s. It was moved to rejected/ in the spool directory (fix it and put "
                "it back to read it).",
                file ? file : "?", said);
        } else if (scope != NULL && strcmp(scope, "file") == 0)
            ingest__fault(
                n, "unreadable_file",
                "The spool file '%.200s' is not a batch of CP-IS notifications: %s. Nothing in it "
                "was sent; it was moved to rejected/ in the spool directory (fix it and put it back "
                "to send it).",
                file ? file : "?", said);
        else
            ingest__fault(
                n, "unreadable_notification",
                "A notification in the spool file '%.200s' could not be read: %.300s. The file's other "
                "notifications were sent; this one is kept here as far as it could be read (bytes "
                "that are not UTF-8 shown as \xef\xbf\xbd).",
                file ? file : "?", said);
        return;
    }
    /* The id first, so that every later fault is reported against it. */
    if (ingest__text(n, o, "notification_id", "notification_id", 1, &n->id) != 0)
        return;
    if (ingest__text(n, o, "type", "type", 0, &n->kind) != 0)
        return;
    if (n->kind == NULL)
        n->kind = "access";
    if (strcmp(n->kind, "access") != 0 && strcmp(n->kind, "inactive-nhs-number") != 0) {
        ingest__fault(n, "invalid_type", "type '%.40s' is not one of access, inactive-nhs-number.", n->kind);
        return;
    }
    if (ingest__time(n, o, "created_at", now, &n->created_at, &n->created_ms) != 0)
        return;
    if (ingest__text(n, o, "nhs_number", "nhs_number", 1, &n->nhs_text) != 0)
        return;
    tsr_error_t err;
    if (tsr_nhs_number_normalise(n->nhs_text, n->nhs, "nhs_number", &err) != 0) {
        /* Ten zeros pass the check digit; records' words for them are advice to whoever types a number
         * in, and this one came from the national service, which never holds a plan on it. */
        int zeros = strcmp(n->nhs, "0000000000") == 0;
        n->nhs[0] = '\0';
        if (zeros)
            ingest__fault(
                n, "invalid_nhs_number",
                "nhs_number '%.40s' is not a valid NHS number: 0000000000 stands for a number not "
                "known, and the national service holds no plan on it, so the notification cannot "
                "be matched to a child and no follow-up was started. Ask the national service "
                "(CP-IS) which child notification %.200s is about; if it is a child of ours, follow "
                "it up by hand, then close this entry saying what was done.",
                n->nhs_text, n->id);
        else
            ingest__fault(n, "invalid_nhs_number", "%s", err.message);
        return;
    }
    if (ingest__nhs_layout(n->nhs_text) != 0) {
        ingest__fault(
            n, "invalid_nhs_number",
            "nhs_number '%.40s' is not written as an NHS number: 10 digits, alone or in groups of 3, "
            "3 and 4 with a space or a hyphen between them (943 476 5919).",
            n->nhs_text);
        return;
    }
    if (strcmp(n->kind, "access") != 0)
        return;
    if (ingest__time(n, o, "accessed_at", now, &n->accessed_at, &n->accessed_ms) != 0)
        return;
    if (n->accessed_ms > n->created_ms) {
        ingest__fault(n, "invalid_date", "accessed_at (%s) is after the notification was created (%s).",
                      n->accessed_at, n->created_at);
        return;
    }
    const json_t *setting = json_object_get(o, "care_setting");
    if (ingest__object(n, setting, "care_setting", "type, ods_code and name") != 0)
        return;
    if (ingest__text(n, setting, "type", "care_setting.type", 1, &n->setting) != 0 ||
        ingest__text(n, setting, "ods_code", "care_setting.ods_code", 1, &n->ods_code) != 0 ||
        ingest__text(n, setting, "name", "care_setting.name", 1, &n->organisation) != 0)
        return;
    size_t i = 0;
    while (i < INGEST_SETTINGS && strcmp(ingest_settings[i].key, n->setting) != 0)
        i++;
    if (i == INGEST_SETTINGS) {
        ingest__fault(n, "invalid_care_setting",
                      "care_setting.type '%.40s' is not one of emergency-department, minor-injury-unit, "
                      "nhs-111, other.",
                      n->setting);
        return;
    }
    const json_t *hp = json_object_get(o, "health_professional");
    if (ingest__object(n, hp, "health_professional", "name and role") != 0)
        return;
    if (ingest__text(n, hp, "name", "health_professional.name", 1, &n->hp_name) != 0 ||
        ingest__text(n, hp, "role", "health_professional.role", 1, &n->hp_role) != 0)
        return;
}

/* ------------------------------------------------------------------------------------------------
 * The error queue
 * ---------------------------------------------------------------------------------------------- */

/* Queues the batch's rejected notifications (n of them, each with its rejection r already filled
 * but for error_id) in one statement, and fills in each r->error_id. A notification id sent again
 * (in an earlier batch, or earlier in this one) counts up its row instead of queuing twice, and the
 * row keeps what the latest copy said; one without an id cannot be told apart and gets a row each.
 * A conflicting duplicate has a row of its own beside the notification's (errors_conflict): the
 * notification's entry (refused before, or accepted and waiting for a key worker) is not the
 * conflict's to overwrite. Rows are numbered in the batch's order, as one insert a notification
 * numbered them, and written in the order of their ids, so that parts in flight at once that share
 * ids lock them in the same order. */
static int ingest__queue_errors(tsr_call_t *call, ingest_note_t *const *notes, Tsr__Cpis__Rejection *const *r,
                                size_t n, tsr_error_t *err)
{
    if (n == 0)
        return 0;
    json_t *rows = json_array();
    for (size_t i = 0; rows != NULL && i < n; i++) {
        const ingest_note_t *note = notes[i];
        /* The notification as it came, as JSON even when it was not (then as a JSON string). */
        json_t *kept = note->obj ? json_incref(note->obj) : json_string(note->raw);
        /* The number as it came even when a fault before it stopped the reading: system support see
         * at a glance whose it is. */
        const char *nhs = note->nhs[0] ? note->nhs : note->nhs_text;
        if (nhs == NULL && json_is_object(note->obj))
            nhs = json_string_value(json_object_get(note->obj, "nhs_number"));
        json_t *row = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o*}", "i", (json_int_t)i, "notification_id",
                                note->id ? note->id : "", "nhs_number", nhs ? nhs : "", "code", note->code,
                                "reason", note->reason, "source",
                                note->source ? note->source : "notification", "notification", kept);
        /* The person the reason names, so that the entry is theirs: seen and closed in their audit
         * trail, moved with a merge and forgotten with their record. */
        if (row != NULL && note->person_id != 0)
            json_object_set_new(row, "person_id", json_integer((json_int_t)note->person_id));
        json_array_append_new(rows, row);
    }
    char *text = rows ? json_dumps(rows, JSON_COMPACT) : NULL;
    json_decref(rows);
    if (text == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    const char *params[1] = {text};
    PGresult *res = tsr_db_exec(
        call->conn,
        "WITH x AS (SELECT *, code = 'conflicting_duplicate' AS conflict,"
        "  CASE WHEN notification_id = '' THEN '#' || i WHEN code = 'conflicting_duplicate'"
        "  THEN 'conflict:' || notification_id ELSE 'id:' || notification_id END AS k"
        "  FROM json_to_recordset($1::json)"
        "  AS x(i int, notification_id text, nhs_number text, code text, reason text, source text,"
        "  notification json, person_id bigint)),"
        " g AS MATERIALIZED (SELECT nextval('errors_id_seq') AS new_id, * FROM"
        "  (SELECT DISTINCT ON (k) k, conflict, notification_id, nhs_number, code, reason, source, "
        "notification, person_id,"
        "   count(*) OVER (PARTITION BY k) AS times, min(i) OVER (PARTITION BY k) AS first_i"
        "   FROM x ORDER BY k, i DESC) last ORDER BY first_i),"
        " q AS (INSERT INTO errors"
        "  (id, notification_id, nhs_number, code, reason, source, notification, times_received, person_id)"
        "  SELECT new_id, notification_id, left(nhs_number, 40), code, reason, source, notification::jsonb,"
        "  times, person_id FROM g WHERE NOT conflict ORDER BY notification_id, first_i"
        "  ON CONFLICT (notification_id) WHERE notification_id <> '' AND code <> 'conflicting_duplicate'"
        "  DO UPDATE SET"
        "  nhs_number = EXCLUDED.nhs_number, code = EXCLUDED.code, reason = EXCLUDED.reason,"
        "  person_id = EXCLUDED.person_id,"
        "  notification = EXCLUDED.notification, last_received_at = now(),"
        "  times_received = errors.times_received + EXCLUDED.times_received, resolved_at = NULL"
        "  RETURNING id, notification_id, false AS conflict),"
        " c AS (INSERT INTO errors"
        "  (id, notification_id, nhs_number, code, reason, source, notification, times_received)"
        "  SELECT new_id, notification_id, left(nhs_number, 40), code, reason, source, notification::jsonb,"
        "  times FROM g WHERE conflict ORDER BY notification_id, first_i"
        "  ON CONFLICT (notification_id) WHERE notification_id <> '' AND code = 'conflicting_duplicate'"
        "  DO UPDATE SET"
        "  nhs_number = EXCLUDED.nhs_number, reason = EXCLUDED.reason,"
        "  notification = EXCLUDED.notification, last_received_at = now(),"
        "  times_received = errors.times_received + EXCLUDED.times_received, resolved_at = NULL"
        "  RETURNING id, notification_id, true AS conflict),"
        " w AS (SELECT * FROM q UNION ALL SELECT * FROM c)"
        " SELECT x.i, w.id FROM x JOIN g ON g.k = x.k"
        "  JOIN w ON (x.notification_id <> '' AND w.notification_id = x.notification_id"
        "  AND w.conflict = x.conflict) OR w.id = g.new_id"
        " ORDER BY x.i",
        1, params, err);
    free(text);
    if (res == NULL)
        return -1;
    if ((size_t)PQntuples(res) != n) {
        PQclear(res);
        return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL,
                             "The error queue did not take every rejection.");
    }
    for (int row = 0; row < PQntuples(res); row++)
        r[strtoul(PQgetvalue(res, row, 0), NULL, 10)]->error_id = strtoull(PQgetvalue(res, row, 1), NULL, 10);
    PQclear(res);
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * Accepting
 * ---------------------------------------------------------------------------------------------- */

static const char *ingest__gender_title(const char *g)
{
    if (strcmp(g, "female") == 0)
        return "Female";
    if (strcmp(g, "male") == 0)
        return "Male";
    if (strcmp(g, "indeterminate") == 0)
        return "Indeterminate";
    return "Not known";
}

/* Whole years from YYYY-MM-DD to today; -1 when the date is not one. */
static int ingest__age(const char *dob, const struct tm *today)
{
    int y, m, d;
    if (tsr_text_date_parts(dob, &y, &m, &d) != 0)
        return -1;
    int age = today->tm_year + 1900 - y;
    if (today->tm_mon + 1 < m || (today->tm_mon + 1 == m && today->tm_mday < d))
        age--;
    return age < 0 ? 0 : age;
}

static const char *ingest__setting_title(const char *key)
{
    for (size_t i = 0; i < INGEST_SETTINGS; i++)
        if (strcmp(ingest_settings[i].key, key) == 0)
            return ingest_settings[i].title;
    return key;
}

/* One CPIS Follow up asked of the workflow daemon, with what its message points to. */
typedef struct {
    Tsr__Workflow__StepRequested ev;
    Tsr__Workflow__Subject subject;
    Tsr__Workflow__Recipient to;
    Tsr__Workflow__SectionValues section;
    Tsr__Workflow__SectionValues *sections[1];
    char *data_text;
    /* The dedupe key, "cpis:<notification id>:<person id>": room for an id at its longest (200
     * characters of up to four bytes), so that no two notifications share one (a key cut short
     * made two long ids that differ near their end one step). */
    char key[INGEST_TEXT_MAX * 4 + 32];
} ingest_step_t;

/* The steps a batch asks for, sent as one cpis.steps.requested event (one outbox row a batch, not
 * one a notification: the workflow and notifications daemons read every row). */
typedef struct {
    ingest_step_t **items;
    size_t n;
    size_t cap;
} ingest_steps_t;

static void ingest__steps_free(ingest_steps_t *steps)
{
    for (size_t i = 0; i < steps->n; i++) {
        free(steps->items[i]->data_text);
        free(steps->items[i]);
    }
    free(steps->items);
    memset(steps, 0, sizeof(*steps));
}

static int ingest__steps_emit(tsr_call_t *call, ingest_steps_t *steps, tsr_error_t *err)
{
    if (steps->n == 0)
        return 0;
    Tsr__Workflow__StepRequested **ptrs = calloc(steps->n, sizeof(*ptrs));
    if (ptrs == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    for (size_t i = 0; i < steps->n; i++)
        ptrs[i] = &steps->items[i]->ev;
    Tsr__Workflow__StepsRequested all = TSR__WORKFLOW__STEPS_REQUESTED__INIT;
    all.steps = ptrs;
    all.n_steps = steps->n;
    int rc = tsr_call_emit(call, "cpis.steps.requested", &all.base, err);
    free(ptrs);
    return rc;
}

/* Appends s as a JSON string (quoted; ", \ and control characters escaped, the rest as it is: the
 * text is UTF-8 already) at o, which has room for 6 bytes a byte of s and 2; returns the end. */
static char *ingest__json_string(char *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    *o++ = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            *o++ = '\\';
            *o++ = (char)*p;
        } else if (*p < 0x20) {
            memcpy(o, "\\u00", 4);
            o[4] = hex[*p >> 4];
            o[5] = hex[*p & 15];
            o += 6;
        } else {
            *o++ = (char)*p;
        }
    }
    *o++ = '"';
    return o;
}

/* A JSON object of n text members, written directly: a follow-up's section is made for every
 * notification, and building it as a jansson object to print it cost more than the rest of the
 * step. The caller frees it; NULL when out of memory. */
static char *ingest__json_object(const char *const (*fields)[2], size_t n)
{
    size_t len = 3;
    for (size_t i = 0; i < n; i++)
        len += strlen(fields[i][0]) * 6 + strlen(fields[i][1]) * 6 + 6;
    char *out = malloc(len), *o = out;
    if (out == NULL)
        return NULL;
    *o++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            *o++ = ',';
        o = ingest__json_string(o, fields[i][0]);
        *o++ = ':';
        o = ingest__json_string(o, fields[i][1]);
    }
    *o++ = '}';
    *o = '\0';
    return out;
}

/* Asks the workflow daemon (in the batch's event) for the CPIS Follow up step about the child. */
static int ingest__request_step(ingest_steps_t *steps, const ingest_note_t *n,
                                const Tsr__Records__NhsHolder *child, tsr_error_t *err)
{
    time_t now = time(NULL);
    struct tm today;
    localtime_r(&now, &today);
    char when[64], age[64] = "";
    tsr_text_local_time(n->accessed_ms, "%-d %B %Y at %H:%M", when, sizeof(when));
    if (child->date_of_birth[0]) {
        int years = ingest__age(child->date_of_birth, &today);
        if (years >= 0)
            snprintf(age, sizeof(age), "%d", years);
    } else if (child->unborn) {
        /* Shown as the step's other dates are (dd/mm/yyyy), not as records keeps it. */
        char expected[11];
        if (tsr_text_date_display(child->expected_delivery_date, expected) != 0)
            snprintf(expected, sizeof(expected), "%.10s", child->expected_delivery_date);
        snprintf(age, sizeof(age), "Unborn (expected %s)", expected);
    }
    /* The key worker reads here what the desk's note would have told them (seed 003): a CP-IS Follow
     * Up case note for A&E and the like, but from NHS 111 only if they have concerns. */
    const char *restricted =
        !child->restricted ? ""
        : !child->key_worker_id
            ? " The child's record is restricted, which the CP-IS desk cannot open, and the child has no "
              "key worker: this follow-up goes to those who keep access to restricted records, to pass "
              "to someone who can open the record."
        : strcmp(n->setting, "nhs-111") == 0
            ? " The child's record is restricted, which the CP-IS desk cannot open: this follow-up is "
              "sent to the child's key worker. No further action is needed unless you have concerns; if "
              "so, record a CP-IS Follow Up case note on the child's record for the action taken."
            : " The child's record is restricted, which the CP-IS desk cannot open: this follow-up is "
              "sent to the child's key worker. Record a CP-IS Follow Up case note on the child's record "
              "for the action taken.";
    /* Room for its five texts at their longest (200 characters of up to four bytes each): cut short,
     * a character could be cut in two and the section would not be UTF-8. */
    char comment[5 * INGEST_TEXT_MAX * 4 + 768];
    snprintf(comment, sizeof(comment),
             "CP-IS notification %s: on %s, %s (%s) accessed the child's CP-IS information at %s (ODS %s), "
             "%s.%s%s",
             n->id, when, n->hp_name, n->hp_role, n->organisation, n->ods_code,
             ingest__setting_title(n->setting),
             child->via_mother ? " The notification came on the mother's NHS number (unborn child)." : "",
             restricted);
    /* When the health professional looked, as well as where: with the setting, what tells one of a
     * child's follow-ups from another in the CP-IS Worker queue (the definition's summary). */
    char accessed_at[TSR_TEXT_UTC_MS_LEN + 1];
    tsr_text_utc_ms(n->accessed_ms, accessed_at);
    const char *const fields[][2] = {{"child_name", child->display_name},
                                     {"gender", ingest__gender_title(child->gender)},
                                     {"date_of_birth", child->date_of_birth},
                                     {"age", age},
                                     {"setting", n->setting},
                                     {"location", n->organisation},
                                     {"accessed_at", accessed_at},
                                     {"health_professional", n->hp_name},
                                     {"comments", comment}};
    char *data_text = ingest__json_object(fields, sizeof(fields) / sizeof(fields[0]));
    if (steps->n == steps->cap) {
        size_t cap = steps->cap ? steps->cap * 2 : 64;
        ingest_step_t **grown = realloc(steps->items, cap * sizeof(*grown));
        if (grown != NULL) {
            steps->items = grown;
            steps->cap = cap;
        }
    }
    ingest_step_t *s = steps->n < steps->cap ? calloc(1, sizeof(*s)) : NULL;
    if (data_text == NULL || s == NULL) {
        free(data_text);
        free(s);
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    }
    tsr__workflow__step_requested__init(&s->ev);
    tsr__workflow__subject__init(&s->subject);
    tsr__workflow__recipient__init(&s->to);
    tsr__workflow__section_values__init(&s->section);
    s->data_text = data_text;
    s->sections[0] = &s->section;
    s->subject.kind = "person";
    s->subject.id = child->person_id;
    /* Seed 003: the desk opens the step and tells the allocated worker. A restricted record is closed
     * to the desk (seed 002 keeps it open to the allocated workers, their managers and system
     * support, among others), and a follow-up left where no one who works it can open it would be a
     * notification lost: it goes to the key worker, told by ingest__notice_restricted, or with none
     * to the queue the workflow's virtual workers name for restricted records (system support). */
    if (child->restricted && child->key_worker_id)
        s->to.worker_id = child->key_worker_id;
    else
        s->to.virtual_worker = "cp-is-worker";
    s->ev.subject_restricted = child->restricted;
    s->section.number = "1";
    s->section.data_json = data_text;
    snprintf(s->key, sizeof(s->key), "cpis:%s:%" PRIu64, n->id, child->person_id);
    s->ev.type = "cpis-follow-up";
    s->ev.variant = "";
    s->ev.subject = &s->subject;
    /* The strings below live in the records reply, which outlives the event's emission. */
    s->ev.subject_name = child->display_name;
    s->ev.assign_to = &s->to;
    s->ev.sections = s->sections;
    s->ev.n_sections = 1;
    s->ev.dedupe_key = s->key;
    steps->items[steps->n++] = s;
    return 0;
}

/* A notice to the child's key worker (from the notifications daemon; e-mailed too when email),
 * once for the dedupe prefix and the child. No personal data in the title; the link opens the
 * record. Nothing when the child has no key worker. */
static int ingest__notice_key_worker(tsr_call_t *call, const Tsr__Records__NhsHolder *child, const char *kind,
                                     const char *title, const char *dedupe, int email, tsr_error_t *err)
{
    if (child->key_worker_id == 0)
        return 0;
    Tsr__Notifications__NoticeRequested ev = TSR__NOTIFICATIONS__NOTICE_REQUESTED__INIT;
    uint64_t workers[1] = {child->key_worker_id};
    /* Room for a prefix and a notification id at its longest (200 characters of up to four bytes). */
    char link[64], key[INGEST_TEXT_MAX * 4 + 96];
    snprintf(link, sizeof(link), "/people/%" PRIu64, child->person_id);
    snprintf(key, sizeof(key), "%s:%" PRIu64, dedupe, child->person_id);
    ev.worker_ids = workers;
    ev.n_worker_ids = 1;
    ev.kind = (char *)kind;
    ev.title = (char *)title;
    ev.link = link;
    ev.dedupe_key = key;
    ev.email = email;
    return tsr_call_emit(call, "cpis.notice.requested", &ev.base, err);
}

/* A task for the child's key worker: the child's NHS number must be recorded. E-mailed as well (the
 * title names no one): until it is, the child's plan is not shared with the NHS, and a worker who does
 * not open Tessera's notices would not know. */
static int ingest__notice_record_number(tsr_call_t *call, const Tsr__Records__NhsHolder *child,
                                        const char *why, const char *dedupe, tsr_error_t *err)
{
    char title[200];
    snprintf(title, sizeof(title), "CP-IS: record the child's NHS number (%s)", why);
    return ingest__notice_key_worker(call, child, "cpis-nhs-number-needed", title, dedupe, 1, err);
}

/* The columns ingest__record writes, one array each (the rows' values at the same places). */
enum {
    REC_ID,
    REC_KIND,
    REC_NHS,
    REC_CREATED,
    REC_ACCESSED,
    REC_SETTING,
    REC_ODS,
    REC_ORGANISATION,
    REC_HP_NAME,
    REC_HP_ROLE,
    REC_PERSON_IDS,
    REC_COLUMNS
};

/* Records the accepted notifications in one statement, each once, when another request may have
 * recorded some of them meanwhile: *fresh is the ids that were not already received. The rows go as
 * one array a column (unnest), not a JSON object a row: neither side builds or parses a document for
 * them. They are written in the order of their ids, so that two parts in flight at once that share
 * ids take their locks in the same order (one waits for the other, neither deadlocks). */
static int ingest__record_merge(tsr_call_t *call, ingest_note_t **accepted, size_t n_accepted,
                                PGresult **fresh, tsr_error_t *err)
{
    /* Room for each row's two times and its person ids as text. */
    enum { NUMBERS = 2 * 24 + 16 * 22 + 4 };
    const char **cells = calloc(n_accepted * REC_COLUMNS + 1, sizeof(*cells));
    char *numbers = malloc(n_accepted * NUMBERS + 1);
    char *arrays[REC_COLUMNS] = {0};
    int ok = cells != NULL && numbers != NULL;
    for (size_t i = 0; ok && i < n_accepted; i++) {
        const ingest_note_t *n = accepted[i];
        const char **row = cells + i;
        char *o = numbers + i * NUMBERS;
        int access = strcmp(n->kind, "access") == 0;
        row[REC_ID * n_accepted] = n->id;
        row[REC_KIND * n_accepted] = n->kind;
        row[REC_NHS * n_accepted] = n->nhs;
        row[REC_CREATED * n_accepted] = o;
        o += sprintf(o, "%" PRId64, n->created_ms) + 1;
        if (access) {
            row[REC_ACCESSED * n_accepted] = o;
            o += sprintf(o, "%" PRId64, n->accessed_ms) + 1;
        }
        row[REC_SETTING * n_accepted] = n->setting;
        row[REC_ODS * n_accepted] = n->ods_code;
        row[REC_ORGANISATION * n_accepted] = n->organisation;
        row[REC_HP_NAME * n_accepted] = n->hp_name;
        row[REC_HP_ROLE * n_accepted] = n->hp_role;
        row[REC_PERSON_IDS * n_accepted] = o;
        *o++ = '{';
        for (size_t k = 0; k < n->subjects.n; k++)
            o += sprintf(o, "%s%" PRIu64, k ? "," : "", n->subjects.items[k]->person_id);
        *o++ = '}';
        *o = '\0';
    }
    ok = ok && tsr_text_array_columns(cells, n_accepted, REC_COLUMNS, arrays) == 0;
    free(cells);
    free(numbers);
    if (!ok)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    /* A notification once queued as an error and now accepted (its child's number since recorded)
     * leaves the queue, in the same statement: the rows are read once. Only its own entry, which an
     * earlier batch queued (a copy refused in this batch is a conflict, ingest__batch): a conflicting
     * copy stays for system support. (An accepted notification has an id; saying so lets the error
     * queue's index on ids find its row.) */
    *fresh = tsr_db_exec(
        call->conn,
        "WITH x AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[],"
        " $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])"
        " AS x(notification_id, kind, nhs_number, created_ms, accessed_ms, setting, ods_code,"
        " organisation_name, professional_name, professional_role, person_ids)),"
        " resolved AS (UPDATE errors SET resolved_at = now() WHERE resolved_at IS NULL"
        " AND notification_id <> '' AND code <> 'conflicting_duplicate'"
        " AND notification_id IN (SELECT notification_id FROM x))"
        " INSERT INTO notifications (notification_id, kind, nhs_number, created_at, accessed_at,"
        " setting, ods_code, organisation_name, professional_name, professional_role, person_ids)"
        " SELECT notification_id, kind, nhs_number, to_timestamp(created_ms / 1000.0),"
        " to_timestamp(accessed_ms / 1000.0), setting, ods_code, organisation_name,"
        " professional_name, professional_role, person_ids::bigint[] FROM x ORDER BY notification_id"
        " ON CONFLICT (notification_id) DO NOTHING RETURNING notification_id",
        REC_COLUMNS, (const char *const *)arrays, err);
    for (int c = 0; c < REC_COLUMNS; c++)
        free(arrays[c]);
    return *fresh ? 0 : -1;
}

static int ingest__compare_ids(const void *a, const void *b)
{
    return strcmp((*(ingest_note_t *const *)a)->id, (*(ingest_note_t *const *)b)->id);
}

/* The accepted notifications as COPY rows, in the order of their ids (see ingest__record_merge). */
static char *ingest__copy_rows(ingest_note_t **sorted, size_t n, size_t *len)
{
    size_t cap = 1;
    for (size_t i = 0; i < n; i++) {
        const ingest_note_t *r = sorted[i];
        const char *texts[] = {r->id,       r->kind,         r->nhs,     r->setting,
                               r->ods_code, r->organisation, r->hp_name, r->hp_role};
        for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++)
            cap += texts[k] ? 2 * strlen(texts[k]) : 2;
        cap += 2 * 32 + 2 + r->subjects.n * 22 + 11;
    }
    char *out = malloc(cap), *o = out;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const ingest_note_t *r = sorted[i];
        o = tsr_db_copy_field(o, r->id);
        *o++ = '\t';
        o = tsr_db_copy_field(o, r->kind);
        *o++ = '\t';
        o = tsr_db_copy_field(o, r->nhs);
        *o++ = '\t';
        o += tsr_text_utc_ms(r->created_ms, o);
        *o++ = '\t';
        if (strcmp(r->kind, "access") == 0)
            o += tsr_text_utc_ms(r->accessed_ms, o);
        else
            o = tsr_db_copy_field(o, NULL);
        const char *texts[] = {r->setting, r->ods_code, r->organisation, r->hp_name, r->hp_role};
        for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
            *o++ = '\t';
            o = tsr_db_copy_field(o, texts[k]);
        }
        *o++ = '\t';
        *o++ = '{';
        for (size_t k = 0; k < r->subjects.n; k++)
            o += sprintf(o, "%s%" PRIu64, k ? "," : "", r->subjects.items[k]->person_id);
        *o++ = '}';
        *o++ = '\n';
    }
    *len = (size_t)(o - out);
    return out;
}

/* Records the accepted notifications, each once; fresh gets the ids that were not already received
 * (pointing into the notes, or into *merged), n_fresh their number. Their ids were looked up in this
 * transaction, so almost always none is there: the rows go by COPY, which the server reads at a
 * fraction of the cost of an INSERT that checks each row for a conflict. Only when another request
 * recorded one of them since (a unique index refuses the COPY) does the part go again through
 * ingest__record_merge, from a savepoint. */
static int ingest__record(tsr_call_t *call, ingest_note_t **accepted, size_t n_accepted, PGresult **merged,
                          char **fresh, size_t *n_fresh, tsr_error_t *err)
{
    *n_fresh = 0;
    ingest_note_t **sorted = malloc(n_accepted * sizeof(*sorted));
    if (sorted == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    memcpy(sorted, accepted, n_accepted * sizeof(*sorted));
    qsort(sorted, n_accepted, sizeof(*sorted), ingest__compare_ids);
    size_t len = 0;
    char *rows = ingest__copy_rows(sorted, n_accepted, &len);
    const char **ids = calloc(n_accepted + 1, sizeof(*ids));
    char *id_list = NULL;
    int rc = -1;
    if (rows == NULL || ids == NULL) {
        tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
        goto done;
    }
    for (size_t i = 0; i < n_accepted; i++)
        ids[i] = sorted[i]->id;
    if ((id_list = tsr_text_array_literal(ids, n_accepted)) == NULL) {
        tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
        goto done;
    }
    if (tsr_db_command(call->conn, "SAVEPOINT ingest_copy", err) != 0)
        goto done;
    tsr_error_t refused = {0};
    if (tsr_db_copy_in(
            call->conn,
            "COPY notifications (notification_id, kind, nhs_number, created_at, accessed_at, setting,"
            " ods_code, organisation_name, professional_name, professional_role, person_ids)"
            " FROM STDIN",
            rows, len, &refused) == 0) {
        /* A notification once queued as an error and now accepted (its child's number since
         * recorded) leaves the queue: its own entry, not a conflicting copy's (as in
         * ingest__record_merge). (An accepted notification has an id; saying so lets the error
         * queue's index on ids find its row.) */
        const char *params[1] = {id_list};
        if (tsr_db_defer(call->conn, "RELEASE SAVEPOINT ingest_copy", 0, NULL, NULL, NULL, err) != 0 ||
            tsr_db_defer(call->conn,
                         "UPDATE errors SET resolved_at = now() WHERE resolved_at IS NULL"
                         " AND notification_id <> '' AND code <> 'conflicting_duplicate'"
                         " AND notification_id = ANY($1::text[])",
                         1, params, NULL, NULL, err) != 0)
            goto done;
        for (size_t i = 0; i < n_accepted; i++)
            fresh[i] = (char *)sorted[i]->id;
        *n_fresh = n_accepted;
        rc = 0;
        goto done;
    }
    if (strcmp(refused.sqlstate, "23505") != 0) {
        *err = refused;
        goto done;
    }
    if (tsr_db_command(call->conn, "ROLLBACK TO SAVEPOINT ingest_copy", err) != 0 ||
        tsr_db_defer(call->conn, "RELEASE SAVEPOINT ingest_copy", 0, NULL, NULL, NULL, err) != 0 ||
        ingest__record_merge(call, accepted, n_accepted, merged, err) != 0)
        goto done;
    for (int r = 0; r < PQntuples(*merged); r++)
        fresh[(*n_fresh)++] = PQgetvalue(*merged, r, 0);
    qsort(fresh, *n_fresh, sizeof(fresh[0]), tsr_text_compare_ptrs);
    rc = 0;
done:
    free(id_list);
    free(ids);
    free(rows);
    free(sorted);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * The batch
 * ---------------------------------------------------------------------------------------------- */

static void ingest__add(ingest_people_t *list, const Tsr__Records__NhsHolder *h)
{
    if (list->n < sizeof(list->items) / sizeof(list->items[0]))
        list->items[list->n++] = h;
}

static char *ingest__ids(const ingest_people_t *list)
{
    char *out = malloc(list->n * 22 + 3), *o = out;
    if (out == NULL)
        return NULL;
    *o++ = '{';
    for (size_t i = 0; i < list->n; i++)
        o += sprintf(o, "%s%" PRIu64, i ? "," : "", list->items[i]->person_id);
    *o++ = '}';
    *o = '\0';
    return out;
}

/* Which of a person's plans count: a child's own (child protection, in care), an unborn child
 * protection plan (held against the mother's number), or either. */
enum { INGEST_PLAN_OWN = 0, INGEST_PLAN_UNBORN = 1, INGEST_PLAN_ANY = -1 };

/* A plan of one of the batch's holders, as recorded here. */
typedef struct {
    uint64_t person_id;
    uint64_t id;
    int unborn;     /* an unborn child protection plan, held against the mother's number */
    int end_loaded; /* the national service has loaded its end */
    char type[32];
    char start[11];
    char end[11]; /* "" while open */
} ingest_plan_t;

/* The records reply's holders in the order of their NHS numbers (and among one number's, in the
 * reply's order), so that each notification finds its own by binary search rather than reading
 * every holder of the batch; and their plans. */
typedef struct {
    struct ingest_holder {
        const Tsr__Records__NhsHolder *holder;
        size_t at;
    } * items;
    size_t n;
    ingest_plan_t *plans; /* by person, then start */
    size_t n_plans;
    char today[11]; /* the office's day */
} ingest_holders_t;

/* Fills index->plans with every plan of the batch's holders, open or ended: a notification is
 * followed up only for a child on a plan (seed 003: the NHS is told of a child on a child protection
 * plan or in care, and of an unborn child on an unborn child protection plan, against the mother's
 * number), judged on the day of the access. One query a batch. */
static int ingest__plans_of_holders(tsr_call_t *call, ingest_holders_t *index, tsr_error_t *err)
{
    tsr_text_today(index->today);
    if (index->n == 0)
        return 0;
    char *ids = malloc(index->n * 22 + 3), *o = ids;
    if (ids == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    *o++ = '{';
    for (size_t i = 0; i < index->n; i++)
        o += sprintf(o, "%s%" PRIu64, i ? "," : "", index->items[i].holder->person_id);
    *o++ = '}';
    *o = '\0';
    const char *params[1] = {ids};
    PGresult *res =
        tsr_db_exec(call->conn,
                    "SELECT person_id, id, plan_type, start_date::text, coalesce(end_date::text, ''),"
                    " end_loaded FROM plans WHERE person_id = ANY($1::bigint[])"
                    " ORDER BY person_id, start_date, id",
                    1, params, err);
    free(ids);
    if (res == NULL)
        return -1;
    index->plans = calloc((size_t)PQntuples(res) + 1, sizeof(*index->plans));
    if (index->plans == NULL) {
        PQclear(res);
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    }
    for (int i = 0; i < PQntuples(res); i++) {
        ingest_plan_t *p = &index->plans[index->n_plans++];
        p->person_id = strtoull(PQgetvalue(res, i, 0), NULL, 10);
        p->id = strtoull(PQgetvalue(res, i, 1), NULL, 10);
        snprintf(p->type, sizeof(p->type), "%s", PQgetvalue(res, i, 2));
        p->unborn = strcmp(p->type, "unborn-child-protection-plan") == 0;
        snprintf(p->start, sizeof(p->start), "%s", PQgetvalue(res, i, 3));
        snprintf(p->end, sizeof(p->end), "%s", PQgetvalue(res, i, 4));
        p->end_loaded = PQgetvalue(res, i, 5)[0] == 't';
    }
    PQclear(res);
    return 0;
}

/* The first of person_id's plans (index->plans is sorted by person), or the end when none. */
static size_t ingest__plans_from(const ingest_holders_t *holders, uint64_t person_id)
{
    size_t lo = 0, hi = holders->n_plans;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (holders->plans[mid].person_id < person_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* person_id's plan of the kind (INGEST_PLAN_UNBORN, INGEST_PLAN_OWN for a child's own, or
 * INGEST_PLAN_ANY) current for an access on day, or NULL. Current: begun (by today, as the upload files share
 * a plan) and not ended before the day of the access. A plan ended on that day or since still counts: the
 * child was on it when seen, and the NHS holds a plan until an upload file carries its end and the national
 * service loads it, so a notification can come some hours after the end was recorded. One ended before the
 * day does not, whether or not the NHS has loaded its end yet: the child was on no plan when seen. */
static const ingest_plan_t *ingest__current_plan(const ingest_holders_t *holders, uint64_t person_id,
                                                 int kind, const char *day)
{
    for (size_t i = ingest__plans_from(holders, person_id);
         i < holders->n_plans && holders->plans[i].person_id == person_id; i++) {
        const ingest_plan_t *p = &holders->plans[i];
        if ((kind == INGEST_PLAN_ANY || p->unborn == kind) && strcmp(p->start, holders->today) <= 0 &&
            (p->end[0] == '\0' || strcmp(p->end, day) >= 0))
            return p;
    }
    return NULL;
}

/* person_id's plan of the kind (as ingest__current_plan's) that ended last, or NULL. */
static const ingest_plan_t *ingest__ended_plan(const ingest_holders_t *holders, uint64_t person_id, int kind)
{
    const ingest_plan_t *last = NULL;
    for (size_t i = ingest__plans_from(holders, person_id);
         i < holders->n_plans && holders->plans[i].person_id == person_id; i++) {
        const ingest_plan_t *p = &holders->plans[i];
        if ((kind == INGEST_PLAN_ANY || p->unborn == kind) && p->end[0] &&
            (last == NULL || strcmp(p->end, last->end) > 0))
            last = p;
    }
    return last;
}

static const char *ingest__plan_title(const char *type)
{
    return strcmp(type, "child-in-care") == 0                  ? "child-in-care plan"
           : strcmp(type, "unborn-child-protection-plan") == 0 ? "unborn child protection plan"
                                                               : "child protection plan";
}

static int ingest__holder_compare(const void *a, const void *b)
{
    const struct ingest_holder *x = a, *y = b;
    int c = strcmp(x->holder->nhs_number, y->holder->nhs_number);
    return c != 0 ? c : (x->at > y->at) - (x->at < y->at);
}

static int ingest__index_holders(const Tsr__Records__NhsMatchReply *reply, ingest_holders_t *out,
                                 tsr_error_t *err)
{
    out->n = reply->n_holders;
    out->items = calloc(out->n + 1, sizeof(*out->items));
    if (out->items == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    for (size_t i = 0; i < out->n; i++)
        out->items[i] = (struct ingest_holder){reply->holders[i], i};
    qsort(out->items, out->n, sizeof(*out->items), ingest__holder_compare);
    return 0;
}

/* An access on a number whose holders are known here but none on a current plan (off_plan, the
 * direct holder first): no follow-up, for there is no plan to follow up, and a key worker asked about
 * an adult as 'the child' would be misled. System support are told why in words, and whether the NHS
 * may still hold a plan that has ended. */
static void ingest__fault_off_plan(ingest_note_t *n, const ingest_holders_t *holders,
                                   const ingest_people_t *off_plan, const char *day)
{
    const Tsr__Records__NhsHolder *who = off_plan->items[0];
    const Tsr__Records__NhsHolder *whose = NULL;
    const ingest_plan_t *ended = NULL;
    for (size_t i = 0; i < off_plan->n; i++) {
        const ingest_plan_t *p =
            ingest__ended_plan(holders, off_plan->items[i]->person_id,
                               off_plan->items[i]->via_mother ? INGEST_PLAN_UNBORN : INGEST_PLAN_ANY);
        if (p != NULL && (ended == NULL || strcmp(p->end, ended->end) > 0)) {
            ended = p;
            whose = off_plan->items[i];
        }
    }
    char held[400];
    if (ended == NULL)
        snprintf(held, sizeof(held),
                 "The NHS may still hold a plan for this number that has ended or was never recorded here: "
                 "check the last upload file.");
    else
        snprintf(held, sizeof(held),
                 "%s's %s (plan %" PRIu64 ") ended on %s; the NHS holds a plan until an upload file carries "
                 "its end and the national service loads it, %s.",
                 whose->display_name, ingest__plan_title(ended->type), ended->id, ended->end,
                 ended->end_loaded
                     ? "which it has done: ask the national service why it still holds it"
                     : "which it has not yet done: check the last upload file and its response");
    n->person_id = who->person_id;
    ingest__fault(n, "no_current_plan",
                  "NHS number %s is %s's (person %" PRIu64
                  "), who had no child protection or child-in-care plan here on %s, the day of the access "
                  "(nor, on the mother's number, an unborn child protection plan): no follow-up was started. "
                  "%s If a current plan is missing here, record it and retry this entry; otherwise close it "
                  "saying what you found.",
                  n->nhs, who->display_name, who->person_id, day, held);
}

/* Which children the notification is about, by the rules of seed 003: the holder of the number on a
 * current plan of their own; but a number held by a mother whose unborn child is recorded against
 * her, with an unborn child protection plan, is the child's until the expected date of delivery, after
 * which the child's own number is required. Fills n's fault when none applies (and *missing with the
 * children whose own number is now required). */
static void ingest__match(ingest_note_t *n, const ingest_holders_t *holders, ingest_people_t *subjects,
                          ingest_people_t *missing)
{
    ingest_people_t direct = {0}, unborn = {0}, off_plan = {0};
    size_t children_numbered = 0; /* of the mother's, those with their own number */
    int access = strcmp(n->kind, "access") == 0;
    /* An access is judged on its own day (the office's), a number reported inactive on today. */
    char day[16];
    snprintf(day, sizeof(day), "%s", holders->today);
    if (access)
        tsr_text_local_time(n->accessed_ms, "%Y-%m-%d", day, sizeof(day));
    /* The first holder of the number, then each after it while the number is the same. */
    size_t lo = 0, hi = holders->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(holders->items[mid].holder->nhs_number, n->nhs) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < holders->n && strcmp(holders->items[i].holder->nhs_number, n->nhs) == 0; i++) {
        const Tsr__Records__NhsHolder *h = holders->items[i].holder;
        if (!h->via_mother) {
            ingest__add(&direct, h);
            /* An adult, or a child whose plan has ended, is no one the NHS shares a plan of. A mother
             * on a plan of her own holds it on the number beside her unborn child's: followed up too.
             * A child whose own number is recorded while still unborn past the date is protected by
             * the unborn plan on their own record until the birth and their own plan are recorded. */
            if (access)
                ingest__add(ingest__current_plan(holders, h->person_id, INGEST_PLAN_ANY, day) ? subjects
                                                                                              : &off_plan,
                            h);
        }
        /* An inactive number stops only the plans still held against it: not a child's with their own. */
        else if (!access) {
            if (h->own_nhs_number[0] == '\0')
                ingest__add(&unborn, h);
            else
                children_numbered++;
        }
        /* Only an unborn child protection plan is held against the mother's number. */
        else if (ingest__current_plan(holders, h->person_id, INGEST_PLAN_UNBORN, day) == NULL)
            ingest__add(&off_plan, h);
        /* An access while the child was unborn is about them, whatever was recorded since; after the
         * date, one on the mother's number asks for the child's own number while it is not recorded,
         * and once it is, is theirs while their unborn plan, which the NHS holds against her number,
         * is current; after that it is hers alone. */
        else if (strcmp(day, h->expected_delivery_date) <= 0 || h->own_nhs_number[0])
            ingest__add(subjects, h);
        else
            ingest__add(missing, h);
    }
    if (access) {
        if (subjects->n > 0)
            return;
        if (missing->n > 0) {
            const Tsr__Records__NhsHolder *c = missing->items[0];
            char when[64];
            if (c->unborn)
                snprintf(when, sizeof(when), "was expected on %s", c->expected_delivery_date);
            else
                snprintf(when, sizeof(when), "has been born");
            n->person_id = c->person_id;
            ingest__fault(n, "child_nhs_number_required",
                          "NHS number %s is the mother's. Her child (person %" PRIu64
                          ") %s, so a notification after that date needs the child's own NHS number, which "
                          "is not recorded. %s",
                          n->nhs, c->person_id, when,
                          c->key_worker_id ? "The child's key worker has been asked to record it."
                                           : "The child has no key worker to record it: allocate one.");
            return;
        }
        if (off_plan.n > 0)
            ingest__fault_off_plan(n, holders, &off_plan, day);
        else
            ingest__fault(n, "unknown_nhs_number",
                          "No one in the system has NHS number %s. Check the NHS number recorded on the "
                          "child's record, then send the notification again.",
                          n->nhs);
        return;
    }
    if (direct.n == 0) {
        ingest__fault(n, "unknown_nhs_number",
                      "No one in the system has NHS number %s. Check the NHS number recorded on the child's "
                      "record, then send the notification again.",
                      n->nhs);
        return;
    }
    /* A number no longer active stops the plans held against it: an unborn child's too, held against
     * its mother's number, whose key worker is asked for the new number as any child's is. The mother
     * herself only when she is on a plan of her own: otherwise no plan of hers stops, and no key
     * worker of hers is there to be asked. */
    if (unborn.n == 0 && children_numbered == 0) {
        *subjects = direct;
        return;
    }
    for (size_t d = 0; d < direct.n; d++)
        if (ingest__current_plan(holders, direct.items[d]->person_id, INGEST_PLAN_OWN, day) != NULL)
            ingest__add(subjects, direct.items[d]);
    for (size_t u = 0; u < unborn.n; u++)
        ingest__add(subjects, unborn.items[u]);
    if (subjects->n == 0) /* nothing held against the number but what is the mother's own */
        *subjects = direct;
}

/* Whether note n says something other than the notification under its id received before (row
 * of known, from ingest__known_ids) or earlier in the batch (first): 0 when it is the same
 * notification sent again; else 1, with n's fault naming the first difference. */
static int ingest__conflicts(ingest_note_t *n, const PGresult *known, int row, const ingest_note_t *first)
{
    char was_created[32] = "", now_created[32] = "", was_accessed[32] = "", now_accessed[32] = "";
    const char *when = known ? PQgetvalue(known, row, 10) : NULL;
    if (n->valid) {
        int64_t created = known ? strtoll(PQgetvalue(known, row, 3), NULL, 10) : first->created_ms;
        int64_t accessed = known ? strtoll(PQgetvalue(known, row, 4), NULL, 10)
                                 : (strcmp(first->kind, "access") == 0 ? first->accessed_ms : 0);
        tsr_text_utc_ms(created, was_created);
        tsr_text_utc_ms(n->created_ms, now_created);
        if (accessed)
            tsr_text_utc_ms(accessed, was_accessed);
        if (strcmp(n->kind, "access") == 0)
            tsr_text_utc_ms(n->accessed_ms, now_accessed);
    }
#define INGEST_WAS(col, field) (known ? PQgetvalue(known, row, col) : (first->field ? first->field : ""))
    const struct {
        const char *name, *was, *now;
    } fields[] = {
        {"type", INGEST_WAS(1, kind), n->kind},
        {"nhs_number", INGEST_WAS(2, nhs), n->nhs},
        {"created_at", was_created, now_created},
        {"accessed_at", was_accessed, now_accessed},
        {"care_setting.type", INGEST_WAS(5, setting), n->setting},
        {"care_setting.ods_code", INGEST_WAS(6, ods_code), n->ods_code},
        {"care_setting.name", INGEST_WAS(7, organisation), n->organisation},
        {"health_professional.name", INGEST_WAS(8, hp_name), n->hp_name},
        {"health_professional.role", INGEST_WAS(9, hp_role), n->hp_role},
    };
#undef INGEST_WAS
    /* The copy stored is the one accepted, which is not always the one received first: a copy refused
     * earlier in its batch and judged again by system support (a retry) meets the later copy that
     * was accepted in its place. */
    const char *before = when ? "accepted on " : "received earlier in this batch and accepted";
    const char *stands = when ? "The copy accepted stands" : "The copy received first stands";
    if (!n->valid) {
        /* The copy stored was accepted; this one is not even a valid notification. */
        char fault[INGEST_REASON_MAX];
        snprintf(fault, sizeof(fault), "%s", n->reason);
        ingest__fault(n, "conflicting_duplicate",
                      "Notification %s was %s%s, and this copy under the same id differs from it: %s %s; ask "
                      "the national service which is right.",
                      n->id, before, when ? when : "", fault, stands);
        return 1;
    }
    for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
        const char *now = fields[f].now ? fields[f].now : "";
        if (strcmp(fields[f].was, now) == 0)
            continue;
        ingest__fault(n, "conflicting_duplicate",
                      "Notification %s was %s%s with other content: its %s was '%.200s', this copy's is "
                      "'%.200s'. %s; ask the national service which is right.",
                      n->id, before, when ? when : "", fields[f].name, fields[f].was, now, stands);
        return 1;
    }
    return 0;
}

/* Note n, refused, and a copy under its id later in the batch accepted: a conflicting duplicate,
 * with what was wrong with it. */
static void ingest__conflicts_later(ingest_note_t *n)
{
    char fault[INGEST_REASON_MAX];
    snprintf(fault, sizeof(fault), "%s", n->reason);
    ingest__fault(
        n, "conflicting_duplicate",
        "Notification %s came more than once in this batch, and this copy could not be accepted: "
        "%s A later copy under the same id, which differs from it, was accepted and stands; ask the "
        "national service which is right.",
        n->id, fault);
}

/* The notifications already received under the ids of the count notes (with an id) at notes[i] or,
 * when notes is NULL, at *some[i]. */
static int ingest__known_ids(tsr_call_t *call, ingest_note_t *notes, ingest_note_t *const *some, size_t count,
                             PGresult **res, tsr_error_t *err)
{
    const char **ids = calloc(count + 1, sizeof(*ids));
    size_t n = 0;
    for (size_t i = 0; ids != NULL && i < count; i++) {
        const ingest_note_t *note = notes ? &notes[i] : some[i];
        if (note->id)
            ids[n++] = note->id;
    }
    char *list = ids ? tsr_text_array_literal(ids, n) : NULL;
    free(ids);
    if (list == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    const char *params[1] = {list};
    /* An array, not a set from JSON: the planner took the set for 100 rows and read the whole table
     * for each part, a part costing more with every notification ever received. */
    /* With what each said, to tell a copy sent again from another notification under the same id;
     * in byte order, the order of strcmp, so that the rows themselves are the sorted list. */
    *res = tsr_db_exec(
        call->conn,
        "SELECT notification_id, kind, nhs_number, (extract(epoch FROM created_at) * 1000)::bigint,"
        " coalesce((extract(epoch FROM accessed_at) * 1000)::bigint, 0), coalesce(setting, ''),"
        " coalesce(ods_code, ''), coalesce(organisation_name, ''),"
        " coalesce(professional_name, ''), coalesce(professional_role, ''),"
        " to_char(received_at, 'YYYY-MM-DD') FROM notifications"
        " WHERE notification_id = ANY($1::text[]) ORDER BY notification_id COLLATE \"C\"",
        1, params, err);
    free(list);
    return *res ? 0 : -1;
}

static int ingest__ask_records(tsr_call_t *call, ingest_note_t *notes, size_t count,
                               Tsr__Records__NhsMatchReply **reply, tsr_error_t *err)
{
    char **numbers = calloc(count + 1, sizeof(*numbers));
    if (numbers == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    Tsr__Records__NhsMatch q = TSR__RECORDS__NHS_MATCH__INIT;
    for (size_t i = 0; i < count; i++)
        if (notes[i].valid)
            numbers[q.n_nhs_numbers++] = notes[i].nhs;
    q.nhs_numbers = numbers;
    ProtobufCMessage *msg = NULL;
    int rc = tsr_call_ask(call, "records", "records.person.match_nhs", &q.base,
                          &tsr__records__nhs_match_reply__descriptor, &msg, err);
    free(numbers);
    *reply = (Tsr__Records__NhsMatchReply *)msg;
    return rc;
}

/* An inactive number held by a child with no key worker: no one would be asked for a new number
 * while the child's plan uploads stop, so the notification is queued for system support as
 * no_key_worker (accepted all the same: the poller must not send it again). It leaves the queue by
 * itself once a key worker is allocated (who is then asked) or a new number recorded
 * (cpis_records_apply); or system support close it with a reason. */
static int ingest__queue_unowned(tsr_call_t *call, const ingest_note_t *n, tsr_error_t *err)
{
    char children[INGEST_REASON_MAX / 4] = "", person[24] = "";
    size_t used = 0;
    for (size_t i = 0; i < n->subjects.n; i++) {
        const Tsr__Records__NhsHolder *child = n->subjects.items[i];
        if (child->key_worker_id != 0)
            continue;
        if (person[0] == '\0')
            snprintf(person, sizeof(person), "%" PRIu64, child->person_id);
        if (used < sizeof(children))
            used += (size_t)snprintf(children + used, sizeof(children) - used, "%s%s (person %" PRIu64 ")",
                                     used ? ", " : "", child->display_name, child->person_id);
    }
    if (person[0] == '\0')
        return 0;
    char reason[INGEST_REASON_MAX];
    snprintf(reason, sizeof(reason),
             "The national service reported NHS number %s inactive: plan uploads for %s stop until a new "
             "number is recorded, and no key worker is allocated to be asked for it. Allocate a key worker "
             "(who is then asked for the new number) or record the child's new NHS number: this entry then "
             "leaves the queue by itself.",
             n->nhs, children);
    /* A name cut at the buffer's end can end inside a character; the queue takes only UTF-8. */
    char *text = tsr_text_utf8_repair(reason, strlen(reason), sizeof(reason) - 1);
    char *kept = n->obj ? json_dumps(n->obj, JSON_COMPACT) : strdup(n->raw);
    int rc = -1;
    if (text == NULL || kept == NULL) {
        tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    } else {
        const char *params[5] = {n->id, n->nhs, text, kept, person};
        /* Its id may hold a row already (refused before, accepted now): the row says what is to do now. */
        rc = tsr_db_defer(
            call->conn,
            "INSERT INTO errors (notification_id, nhs_number, code, reason, notification, person_id)"
            " VALUES ($1, $2, 'no_key_worker', $3, $4::jsonb, $5::bigint)"
            " ON CONFLICT (notification_id) WHERE notification_id <> '' AND code <> 'conflicting_duplicate'"
            " DO UPDATE SET code = EXCLUDED.code, reason = EXCLUDED.reason, person_id = EXCLUDED.person_id,"
            " last_received_at = now(), resolved_at = NULL, closed_by = NULL, close_reason = NULL",
            5, params, NULL, NULL, err);
    }
    free(text);
    free(kept);
    return rc;
}

/* The key worker of a restricted child, whose follow-up is sent to them rather than to the CP-IS desk
 * (ingest__request_step): a step started for a worker tells no one, and this one is a child seen by
 * a health service. E-mailed too, as the request the desk would otherwise have sent them is. */
static int ingest__notice_restricted(tsr_call_t *call, const ingest_note_t *n,
                                     const Tsr__Records__NhsHolder *child, tsr_error_t *err)
{
    if (!child->restricted)
        return 0;
    char dedupe[INGEST_TEXT_MAX * 4 + 32];
    snprintf(dedupe, sizeof(dedupe), "cpis-restricted:%s", n->id);
    return ingest__notice_key_worker(call, child, "cpis-follow-up-to-key-worker",
                                     "CP-IS: a health service has seen a child you are key worker for, whose "
                                     "record is restricted: the CPIS Follow Up is in your Incoming work",
                                     dedupe, 1, err);
}

/* What an accepted notification, newly recorded, asks for: the follow-up steps (access), or the
 * number marked inactive and the key workers asked for a new one. */
static int ingest__apply(tsr_call_t *call, const ingest_note_t *n, ingest_steps_t *steps, tsr_error_t *err)
{
    const ingest_people_t *subjects = &n->subjects;
    if (strcmp(n->kind, "access") == 0) {
        for (size_t i = 0; i < subjects->n; i++)
            if (ingest__request_step(steps, n, subjects->items[i], err) != 0 ||
                ingest__notice_restricted(call, n, subjects->items[i], err) != 0)
                return -1;
        return 0;
    }
    char *ids = ingest__ids(subjects);
    if (ids == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    const char *params[3] = {n->nhs, ids, n->id};
    int rc = tsr_db_defer(call->conn,
                          "INSERT INTO inactive_numbers (nhs_number, person_ids, notification_id)"
                          " VALUES ($1, $2::bigint[], $3) ON CONFLICT (nhs_number) DO UPDATE SET"
                          " person_ids = EXCLUDED.person_ids, notification_id = EXCLUDED.notification_id,"
                          " marked_at = now()",
                          3, params, NULL, NULL, err);
    free(ids);
    for (size_t i = 0; rc == 0 && i < subjects->n; i++)
        rc = subjects->items[i]->via_mother
                 ? ingest__notice_key_worker(
                       call, subjects->items[i], "cpis-nhs-number-needed",
                       "CP-IS: record the mother's new NHS number (an unborn child's plan "
                       "is held against it, and it is no longer active)",
                       "cpis-inactive", 1, err)
                 : ingest__notice_record_number(call, subjects->items[i],
                                                "the NHS number is no longer active", "cpis-inactive", err);
    return rc == 0 ? ingest__queue_unowned(call, n, err) : rc;
}

/* The accepted notes whose ids another request recorded after this part looked them up (not in
 * fresh): each the same notification sent again (a duplicate) or another one under a taken id,
 * which is refused as conflicting_duplicate and queued, like one found when the part began. */
static int ingest__judge_late(tsr_call_t *call, const ingest_note_t *notes, ingest_note_t *const *accepted,
                              size_t n_accepted, char *const *fresh, size_t n_fresh,
                              Tsr__Cpis__IngestReply *out, Tsr__Cpis__Rejection *rejections,
                              Tsr__Cpis__Rejection **rejection_ptrs, ingest_note_t **rejected,
                              char **duplicate_ids, tsr_error_t *err)
{
    ingest_note_t **late = calloc(n_accepted - n_fresh + 1, sizeof(*late));
    char **stored = NULL;
    PGresult *known = NULL;
    int rc = -1;
    if (late == NULL) {
        tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
        goto done;
    }
    size_t n_late = 0;
    for (size_t i = 0; i < n_accepted; i++)
        if (!tsr_text_sorted_has(fresh, n_fresh, accepted[i]->id))
            late[n_late++] = accepted[i];
    if (ingest__known_ids(call, NULL, late, n_late, &known, err) != 0)
        goto done;
    size_t n_stored = (size_t)PQntuples(known);
    if ((stored = calloc(n_stored + 1, sizeof(*stored))) == NULL) {
        tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
        goto done;
    }
    for (size_t k = 0; k < n_stored; k++)
        stored[k] = PQgetvalue(known, (int)k, 0);
    size_t first_late_error = out->n_errors;
    for (size_t i = 0; i < n_late; i++) {
        ingest_note_t *n = late[i];
        char **row = bsearch(&n->id, stored, n_stored, sizeof(stored[0]), tsr_text_compare_ptrs);
        if (row == NULL || !ingest__conflicts(n, known, (int)(row - stored), NULL)) {
            duplicate_ids[out->duplicates++] = (char *)n->id;
            continue;
        }
        Tsr__Cpis__Rejection *r = &rejections[out->n_errors];
        tsr__cpis__rejection__init(r);
        r->index = (uint32_t)(n - notes);
        r->notification_id = (char *)n->id;
        r->code = n->code;
        r->reason = n->reason;
        rejected[out->n_errors] = n;
        rejection_ptrs[out->n_errors++] = r;
    }
    rc = ingest__queue_errors(call, rejected + first_late_error, rejection_ptrs + first_late_error,
                              out->n_errors - first_late_error, err);
done:
    PQclear(known);
    free(stored);
    free(late);
    return rc;
}

/* The request body as it came through the gateway ({"notifications": [...]}), read once, whole; its
 * faults answered as the gateway answers any body's. *list is the notifications, inside *batch. */
static int ingest__read_batch(const char *text, json_t **batch, const json_t **list, tsr_error_t *err)
{
    *batch = tsr_json_load(text, strlen(text), "The body", err);
    if (*batch == NULL)
        return -1;
    if (!json_is_object(*batch))
        return tsr_error_set(err, TSR_E_INVALID, "invalid_body", NULL, "The body must be a JSON object.");
    const char *key;
    json_t *value;
    json_object_foreach(*batch, key, value)
    {
        if (strcmp(key, "notifications") != 0)
            return tsr_error_set(err, TSR_E_INVALID, "unknown_field", key,
                                 "'%s' is not a field of this request.", key);
    }
    *list = json_object_get(*batch, "notifications");
    if (!json_is_array(*list) || json_array_size(*list) == 0)
        return tsr_error_set(err, TSR_E_INVALID, *list ? "invalid_value" : "missing_field", "notifications",
                             "notifications must be a non-empty list of CP-IS notifications (see "
                             "docs/cpis-feed.md).");
    return 0;
}

/* Judges, records and answers a batch: batch_json ({"notifications": [...]}) when given, else the
 * n_raw notifications' own texts. */
static int ingest__batch(tsr_call_t *call, const char *batch_json, char *const *raw, size_t n_raw,
                         tsr_error_t *err)
{
    json_t *batch = NULL;
    const json_t *list = NULL;
    if (batch_json != NULL && batch_json[0] != '\0' &&
        ingest__read_batch(batch_json, &batch, &list, err) != 0) {
        json_decref(batch);
        return -1;
    }
    size_t count = list ? json_array_size(list) : n_raw;
    if (count == 0)
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", "notifications",
                             "The batch has no notifications.");
    if (count > INGEST_BATCH_MAX) {
        json_decref(batch);
        return tsr_error_set(err, TSR_E_INVALID, "batch_too_large", "notifications",
                             "A batch holds at most %d notifications; this one has %zu. Send it in parts.",
                             INGEST_BATCH_MAX, count);
    }
    ingest_note_t *notes = calloc(count, sizeof(*notes));
    ingest_note_t **accepted = calloc(count, sizeof(*accepted));
    char **accepted_ids = calloc(count, sizeof(*accepted_ids));
    char **fresh_ids = calloc(count, sizeof(*fresh_ids));
    Tsr__Cpis__Rejection *rejections = calloc(count, sizeof(*rejections));
    Tsr__Cpis__Rejection **rejection_ptrs = calloc(count, sizeof(*rejection_ptrs));
    char **duplicate_ids = calloc(count, sizeof(*duplicate_ids));
    ingest_note_t **rejected = calloc(count, sizeof(*rejected));
    Tsr__Records__NhsMatchReply *holders = NULL;
    ingest_holders_t index = {0};
    char **known_ids = NULL;
    PGresult *known = NULL, *fresh = NULL;
    ingest_steps_t steps = {0};
    int rc = -1;
    if (notes == NULL || accepted == NULL || accepted_ids == NULL || fresh_ids == NULL ||
        rejections == NULL || rejection_ptrs == NULL || duplicate_ids == NULL || rejected == NULL) {
        tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
        goto done;
    }
    int64_t now = tsr_now_ms();
    for (size_t i = 0; i < count; i++) {
        if (list != NULL)
            notes[i].obj = json_incref(json_array_get(list, i));
        else
            notes[i].raw = raw[i];
        ingest__validate(&notes[i], now);
    }
    if (ingest__known_ids(call, notes, NULL, count, &known, err) != 0)
        goto done;
    /* Sorted, so that a batch sent again (every id known) is not a search of the whole list for each. */
    size_t n_known = (size_t)PQntuples(known);
    known_ids = calloc(n_known + 1, sizeof(*known_ids));
    if (known_ids == NULL) {
        tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
        goto done;
    }
    for (size_t k = 0; k < n_known; k++)
        known_ids[k] = PQgetvalue(known, (int)k, 0);
    if (ingest__ask_records(call, notes, count, &holders, err) != 0 ||
        ingest__index_holders(holders, &index, err) != 0 || ingest__plans_of_holders(call, &index, err) != 0)
        goto done;
    Tsr__Cpis__IngestReply out = TSR__CPIS__INGEST_REPLY__INIT;
    size_t n_accepted = 0;
    /* Judged in the batch's order: an id seen earlier in the batch is a duplicate too. */
    for (size_t i = 0; i < count; i++) {
        ingest_note_t *n = &notes[i];
        /* Sent again after it was accepted: dropped, whatever the record now says; but another
         * notification under an id already taken goes to the error queue, not silently away. */
        char **seen = n->id && n_known > 0
                          ? bsearch(&n->id, known_ids, n_known, sizeof(known_ids[0]), tsr_text_compare_ptrs)
                          : NULL;
        const ingest_note_t *first = NULL;
        if (seen == NULL && n->id != NULL && tsr_text_sorted_has(accepted_ids, n_accepted, n->id))
            for (size_t k = 0; k < n_accepted && first == NULL; k++)
                if (strcmp(accepted[k]->id, n->id) == 0)
                    first = accepted[k];
        if ((seen != NULL && !ingest__conflicts(n, known, (int)(seen - known_ids), NULL)) ||
            (first != NULL && !ingest__conflicts(n, NULL, 0, first))) {
            duplicate_ids[out.duplicates++] = (char *)n->id;
            continue;
        }
        ingest_people_t missing = {0};
        if (n->valid)
            ingest__match(n, &index, &n->subjects, &missing);
        for (size_t m = 0; m < missing.n; m++)
            if (ingest__notice_record_number(call, missing.items[m],
                                             "its expected date of delivery has passed",
                                             "cpis-after-delivery", err) != 0)
                goto done;
        if (!n->valid) {
            Tsr__Cpis__Rejection *r = &rejections[out.n_errors];
            tsr__cpis__rejection__init(r);
            r->index = (uint32_t)i;
            r->notification_id = (char *)(n->id ? n->id : "");
            r->code = n->code;
            r->reason = n->reason;
            rejected[out.n_errors] = n;
            rejection_ptrs[out.n_errors++] = r;
            continue;
        }
        accepted[n_accepted] = n;
        tsr_text_sorted_insert(accepted_ids, n_accepted++, n->id);
    }
    /* A copy refused earlier in the batch whose id a later copy took is a conflict between the two,
     * as one refused after it would be: its entry stays for system support, where the acceptance
     * would otherwise resolve it as a notification refused before and accepted now. */
    for (size_t e = 0; e < out.n_errors; e++)
        if (rejected[e]->id != NULL && strcmp(rejected[e]->code, "conflicting_duplicate") != 0 &&
            tsr_text_sorted_has(accepted_ids, n_accepted, rejected[e]->id))
            ingest__conflicts_later(rejected[e]);
    if (ingest__queue_errors(call, rejected, rejection_ptrs, out.n_errors, err) != 0)
        goto done;
    size_t n_fresh = 0;
    if (n_accepted > 0 && ingest__record(call, accepted, n_accepted, &fresh, fresh_ids, &n_fresh, err) != 0)
        goto done;
    /* Received meanwhile through another request: a duplicate after all, or, when that copy says
     * something else, a conflict for the error queue as when it was received before. */
    if (n_fresh < n_accepted &&
        ingest__judge_late(call, notes, accepted, n_accepted, fresh_ids, n_fresh, &out, rejections,
                           rejection_ptrs, rejected, duplicate_ids, err) != 0)
        goto done;
    for (size_t i = 0; i < n_accepted; i++) {
        const ingest_note_t *n = accepted[i];
        if (!tsr_text_sorted_has(fresh_ids, n_fresh, n->id))
            continue;
        if (ingest__apply(call, n, &steps, err) != 0)
            goto done;
        if (strcmp(n->kind, "access") == 0)
            out.accepted++;
        else
            out.inactive_marked++;
    }
    if (ingest__steps_emit(call, &steps, err) != 0)
        goto done;
    out.errors = rejection_ptrs;
    out.duplicate_ids = duplicate_ids;
    out.n_duplicate_ids = out.duplicates;
    tsr_call_reply(call, &out.base);
    rc = 0;
done:
    ingest__steps_free(&steps);
    free(index.items);
    free(index.plans);
    free(known_ids);
    PQclear(known);
    PQclear(fresh);
    if (holders)
        tsr__records__nhs_match_reply__free_unpacked(holders, NULL);
    for (size_t i = 0; notes && i < count; i++)
        json_decref(notes[i].obj);
    json_decref(batch);
    free(notes);
    free(accepted);
    free(accepted_ids);
    free(fresh_ids);
    free(rejections);
    free(rejection_ptrs);
    free(duplicate_ids);
    free(rejected);
    return rc;
}

/* When the spine poller last delivered a batch: the feed's pulse, for ops (a poller stopped, or its
 * account locked, leaves notifications unread at the NHS's end with nothing else to show for it). */
static tsr_metric_t *ingest__last_batch_metric(void)
{
    return tsr_metrics_gauge("tessera_cpis_last_batch_received_timestamp_seconds",
                             "When the spine poller last delivered a batch of notifications (Unix time; 0 "
                             "when none has come).",
                             NULL);
}

int cpis_notifications_ingest(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Cpis__NotificationsIngest *in = (const Tsr__Cpis__NotificationsIngest *)call->payload;
    if (tsr_actor_require_role(call->actor, ingest_senders, "send CP-IS notifications", err) != 0)
        return -1;
    tsr_metric_set(ingest__last_batch_metric(), (double)time(NULL));
    return ingest__batch(call, in->batch_json, in->notifications_json, in->n_notifications_json, err);
}

int cpis_errors_metrics(PGconn *conn, void *arg, tsr_error_t *err)
{
    (void)arg;
    /* Every source has its pair, at 0 when its queue is empty, so that an alert never meets a gap. */
    PGresult *res = tsr_db_exec(
        conn,
        "SELECT s.source, count(e.id), coalesce(extract(epoch FROM now() - min(e.received_at)), 0)"
        " FROM unnest(ARRAY['notification', 'plan-export', 'response']) s (source)"
        " LEFT JOIN errors e ON e.source = s.source AND e.resolved_at IS NULL GROUP BY s.source",
        0, NULL, err);
    if (res == NULL)
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        char labels[64];
        snprintf(labels, sizeof(labels), "source=\"%s\"", PQgetvalue(res, i, 0));
        tsr_metric_set(tsr_metrics_gauge("tessera_cpis_error_queue_items",
                                         "Open entries in the CP-IS error queue, by where they came from.",
                                         labels),
                       atof(PQgetvalue(res, i, 1)));
        tsr_metric_set(
            tsr_metrics_gauge("tessera_cpis_error_queue_oldest_age_seconds",
                              "How long the oldest open entry in the CP-IS error queue has waited.", labels),
            atof(PQgetvalue(res, i, 2)));
    }
    PQclear(res);
    tsr_metric_t *last = ingest__last_batch_metric();
    if (tsr_metric_value(last) > 0)
        return 0;
    /* Since the daemon started, nothing came: the newest notification or queued one says when the
     * last did (by id, which the primary keys answer without reading the tables). */
    res = tsr_db_exec(conn,
                      "SELECT coalesce(extract(epoch FROM max(at)), 0) FROM"
                      " ((SELECT received_at AS at FROM notifications ORDER BY id DESC LIMIT 1)"
                      "  UNION ALL (SELECT last_received_at FROM errors WHERE source = 'notification'"
                      "  ORDER BY id DESC LIMIT 1)) newest",
                      0, NULL, err);
    if (res == NULL)
        return -1;
    if (tsr_metric_value(last) == 0)
        tsr_metric_set(last, atof(PQgetvalue(res, 0, 0)));
    PQclear(res);
    return 0;
}

/* A queued notification judged again as it came, once what was wrong is put right on our side (the
 * child's NHS number recorded, the unborn child's own number, the child added): the national service
 * does not send it again, and the feed file has left the spool. Accepted, it leaves the queue; refused
 * again, its entry counts up with the new reason. Answered as a batch of one. */
int cpis_errors_retry(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Cpis__ErrorRetry *in = (const Tsr__Cpis__ErrorRetry *)call->payload;
    if (tsr_actor_require_role(call->actor, errors_readers, "retry CP-IS notifications", err) != 0)
        return -1;
    char id[32];
    snprintf(id, sizeof(id), "%" PRIu64, in->id);
    const char *params[1] = {id};
    PGresult *res = tsr_db_exec(call->conn,
                                "SELECT source, notification_id, coalesce(notification::text, ''),"
                                " notification ? 'tessera_unreadable', code FROM errors"
                                " WHERE id = $1::bigint AND resolved_at IS NULL FOR UPDATE",
                                1, params, err);
    if (res == NULL)
        return -1;
    int rc = -1;
    if (PQntuples(res) == 0)
        tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", NULL,
                      "There is no open entry %s in the CP-IS error queue.", id);
    else if (strcmp(PQgetvalue(res, 0, 0), "notification") != 0)
        tsr_error_set(err, TSR_E_CONFLICT, "not_retriable", NULL,
                      "Entry %s is about a plan upload, not a notification: the next upload file checks the "
                      "plan again.",
                      id);
    else if (strcmp(PQgetvalue(res, 0, 4), "no_key_worker") == 0)
        tsr_error_set(err, TSR_E_CONFLICT, "not_retriable", NULL,
                      "Entry %s's notification was accepted; it waits for a person: allocate the child a key "
                      "worker (who is then asked for the new number) or record their new NHS number, and the "
                      "entry leaves the queue by itself.",
                      id);
    else if (PQgetvalue(res, 0, 1)[0] == '\0' || PQgetvalue(res, 0, 3)[0] == 't')
        tsr_error_set(err, TSR_E_CONFLICT, "not_retriable", NULL,
                      "Entry %s cannot be judged again as it stands (it has no notification id, or could not "
                      "be read): put a corrected copy in the spool directory.",
                      id);
    else {
        char *one = NULL;
        if (asprintf(&one, "{\"notifications\":[%s]}", PQgetvalue(res, 0, 2)) < 0)
            tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
        else
            rc = ingest__batch(call, one, NULL, 0, err);
        free(one);
    }
    PQclear(res);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * Reading the error queue
 * ---------------------------------------------------------------------------------------------- */

#define ERRORS_PAGE_DEFAULT 50
#define ERRORS_PAGE_MAX 200
/* A close's reason is a sentence or a short paragraph, kept with the entry. */
#define ERRORS_CLOSE_REASON_MAX 1000

/* An entry's columns, in the order errors__fill reads them. */
#define ERRORS_COLUMNS                                                                                       \
    "id, notification_id, nhs_number, code, reason, (extract(epoch FROM last_received_at) * 1000)::bigint,"  \
    " coalesce(notification::text, ''), times_received, source, coalesce(plan_id, 0),"                       \
    " coalesce(person_id, 0), coalesce(file_sequence_number, 0), coalesce(record_number, 0),"                \
    " CASE WHEN closed_by IS NULL THEN 0 ELSE (extract(epoch FROM resolved_at) * 1000)::bigint END,"         \
    " coalesce(closed_by, 0), coalesce(close_reason, '')"

/* e as row i of res (selected as ERRORS_COLUMNS); its strings point into res. */
static void errors__fill(Tsr__Cpis__QueuedError *e, const PGresult *res, int i)
{
    tsr__cpis__queued_error__init(e);
    e->id = strtoull(PQgetvalue(res, i, 0), NULL, 10);
    e->notification_id = PQgetvalue(res, i, 1);
    e->nhs_number = PQgetvalue(res, i, 2);
    e->code = PQgetvalue(res, i, 3);
    e->reason = PQgetvalue(res, i, 4);
    e->received_at_ms = strtoll(PQgetvalue(res, i, 5), NULL, 10);
    e->notification_json = PQgetvalue(res, i, 6);
    e->times_received = (uint32_t)strtoul(PQgetvalue(res, i, 7), NULL, 10);
    e->source = PQgetvalue(res, i, 8);
    e->plan_id = strtoull(PQgetvalue(res, i, 9), NULL, 10);
    e->person_id = strtoull(PQgetvalue(res, i, 10), NULL, 10);
    e->file_sequence_number = strtoull(PQgetvalue(res, i, 11), NULL, 10);
    e->record_number = (uint32_t)strtoul(PQgetvalue(res, i, 12), NULL, 10);
    e->closed_at_ms = strtoll(PQgetvalue(res, i, 13), NULL, 10);
    e->closed_by = strtoull(PQgetvalue(res, i, 14), NULL, 10);
    e->close_reason = PQgetvalue(res, i, 15);
}

int cpis_errors_list(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Cpis__ErrorQuery *q = (const Tsr__Cpis__ErrorQuery *)call->payload;
    if (tsr_actor_require_role(call->actor, errors_readers, "read the CP-IS error queue", err) != 0)
        return -1;
    tsr_text_page_t page;
    if (tsr_text_page(q->limit, q->cursor, ERRORS_PAGE_DEFAULT, ERRORS_PAGE_MAX, &page, err) != 0)
        return -1;
    /* Closed entries stay, with who closed them, when and why, or why they left by themselves: system
     * support read them back too. */
    const char *state = q->state && q->state[0] ? q->state : "open";
    if (strcmp(state, "open") != 0 && strcmp(state, "closed") != 0 && strcmp(state, "all") != 0)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_value", "state",
                             "state must be open, closed or all.");
    uint32_t limit = page.limit;
    const char *params[3] = {page.before_text, page.fetch_text, state};
    PGresult *res = tsr_db_exec(call->conn,
                                "SELECT " ERRORS_COLUMNS " FROM errors"
                                " WHERE ($3 = 'all' OR (resolved_at IS NULL) = ($3 = 'open'))"
                                " AND ($1::bigint IS NULL OR id < $1::bigint)"
                                " ORDER BY id DESC LIMIT $2::int",
                                3, params, err);
    if (res == NULL)
        return -1;
    int rows = PQntuples(res);
    int shown = rows > (int)limit ? (int)limit : rows;
    Tsr__Cpis__QueuedError *items = calloc((size_t)shown + 1, sizeof(*items));
    Tsr__Cpis__QueuedError **ptrs = calloc((size_t)shown + 1, sizeof(*ptrs));
    if (items == NULL || ptrs == NULL) {
        free(items);
        free(ptrs);
        PQclear(res);
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    }
    /* An entry about one of our people shows something of their record (a name, a number): each
     * such entry shown is a read of that record for the audit trail. */
    json_t *audit = json_array();
    for (int i = 0; i < shown; i++) {
        errors__fill(&items[i], res, i);
        ptrs[i] = &items[i];
        if (items[i].person_id != 0)
            cpis_audit_add(audit, items[i].person_id, "CP-IS error queue entry %" PRIu64 " viewed (%s)",
                           items[i].id, items[i].code);
    }
    if (audit == NULL || cpis_audit_people(call, "errors-listed", audit, err) != 0) {
        json_decref(audit);
        free(items);
        free(ptrs);
        PQclear(res);
        return audit == NULL ? tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.")
                             : -1;
    }
    json_decref(audit);
    char next[24] = "";
    if (rows > (int)limit)
        snprintf(next, sizeof(next), "%" PRIu64, items[shown - 1].id);
    Tsr__Cpis__ErrorList out = TSR__CPIS__ERROR_LIST__INIT;
    out.items = ptrs;
    out.n_items = (size_t)shown;
    out.next_cursor = next;
    tsr_call_reply(call, &out.base);
    free(items);
    free(ptrs);
    PQclear(res);
    return 0;
}

/* Some entries no change on our side settles: a child the national service knows and this council
 * does not, one the team has dealt with by telephone, an inactive number with no key worker to
 * record a new one. System support close them, saying why; who and why stay with the entry. A plan
 * held back and closed is checked again by the next upload file, and queued again if it still fails. */
int cpis_errors_close(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Cpis__ErrorClose *in = (const Tsr__Cpis__ErrorClose *)call->payload;
    if (tsr_actor_require_role(call->actor, errors_readers, "close entries of the CP-IS error queue", err) !=
        0)
        return -1;
    const char *reason = in->reason ? in->reason : "";
    if (tsr_text_trimmed_length(reason) == 0)
        return tsr_error_set(
            err, TSR_E_INVALID, "missing_field", "reason",
            "Say why the entry is closed: the reason is kept with it for whoever reads it next.");
    if (tsr_text_length(reason) > ERRORS_CLOSE_REASON_MAX)
        return tsr_error_set(err, TSR_E_INVALID, "too_long", "reason",
                             "The reason is %zu characters; at most %d are kept.", tsr_text_length(reason),
                             ERRORS_CLOSE_REASON_MAX);
    if (tsr_text_has_control(reason, 1))
        return tsr_error_set(err, TSR_E_INVALID, "invalid_value", "reason",
                             "The reason holds a control character; write it as plain text.");
    char *trimmed = tsr_text_trim_dup(reason);
    if (trimmed == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    char id[24], by[24];
    snprintf(id, sizeof(id), "%" PRIu64, in->id);
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    const char *params[3] = {id, by, trimmed};
    PGresult *res = tsr_db_exec(call->conn,
                                "UPDATE errors SET resolved_at = now(), closed_by = $2::bigint,"
                                " close_reason = $3 WHERE id = $1::bigint AND resolved_at IS NULL"
                                " RETURNING " ERRORS_COLUMNS,
                                3, params, err);
    free(trimmed);
    if (res == NULL)
        return -1;
    int rc = -1;
    if (PQntuples(res) == 1) {
        Tsr__Cpis__QueuedError out;
        errors__fill(&out, res, 0);
        json_t *audit = json_array();
        if (out.person_id != 0)
            cpis_audit_add(audit, out.person_id, "CP-IS error queue entry %" PRIu64 " closed (%s): %s",
                           out.id, out.code, out.close_reason);
        if (audit != NULL && cpis_audit_people(call, "error-closed", audit, err) == 0) {
            tsr_call_reply(call, &out.base);
            rc = 0;
        }
        json_decref(audit);
    } else {
        /* Not open: say whether it is gone from the queue already or was never in it. */
        PQclear(res);
        res = tsr_db_exec(call->conn, "SELECT closed_by IS NOT NULL FROM errors WHERE id = $1::bigint", 1,
                          params, err);
        if (res == NULL)
            return -1;
        if (PQntuples(res) == 0)
            tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", NULL,
                          "There is no entry %s in the CP-IS error queue.", id);
        else
            tsr_error_set(
                err, TSR_E_CONFLICT, "already_closed", NULL,
                PQgetvalue(res, 0, 0)[0] == 't'
                    ? "Entry %s was closed already."
                    : "Entry %s left the queue already: its notification was accepted when received again.",
                id);
    }
    PQclear(res);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * A no_key_worker entry settled by what records tells (records.person.* events)
 * ---------------------------------------------------------------------------------------------- */

int cpis_records_wants(const Tsr__Envelope *event)
{
    return event->type != NULL && (strcmp(event->type, "records.person.allocated") == 0 ||
                                   strcmp(event->type, "records.person.nhs-number-recorded") == 0 ||
                                   strcmp(event->type, "records.person.disposed") == 0 ||
                                   strcmp(event->type, "records.person.merged") == 0);
}

typedef struct {
    const char *sql;
    int nparams; /* how many of the parameters it takes, from the first */
} ingest_statement_t;

/* Runs each statement in turn, in the event's transaction; 0, or -1 at the first that fails. */
static int ingest__run(PGconn *conn, const ingest_statement_t *statements, size_t n,
                       const char *const *params, tsr_error_t *err)
{
    for (size_t i = 0; i < n; i++) {
        PGresult *res = tsr_db_exec(conn, statements[i].sql, statements[i].nparams, params, err);
        if (res == NULL)
            return -1;
        PQclear(res);
    }
    return 0;
}

/* A duplicate merged into the record that goes forward (seed 002): its plans, and the error queue's
 * open entries about it, move with it, so that the plan is seen, ended and shared from that record;
 * a plan left on the duplicate could not be ended from any page. The notifications received and the
 * inactive numbers name it among their people. What each upload said stays as it was sent. ($1 the
 * record that goes forward, $2 the duplicate.) */
static const ingest_statement_t ingest_merge_statements[] = {
    {"UPDATE plans SET person_id = $1::bigint WHERE person_id = $2::bigint", 2},
    {"UPDATE errors SET person_id = $1::bigint WHERE person_id = $2::bigint AND resolved_at IS NULL", 2},
    {"UPDATE notifications SET person_ids = array_replace(person_ids, $2::bigint, $1::bigint)"
     " WHERE person_ids @> ARRAY[$2::bigint]",
     2},
    {"UPDATE inactive_numbers SET person_ids = array_replace(person_ids, $2::bigint, $1::bigint)"
     " WHERE person_ids @> ARRAY[$2::bigint]",
     2},
};

static int ingest__merge(tsr_event_t *ev, const Tsr__Records__PersonAccessed *p, tsr_error_t *err)
{
    if (p->merged_from == 0)
        return 0;
    char survivor[24], duplicate[24];
    snprintf(survivor, sizeof(survivor), "%" PRIu64, p->person_id);
    snprintf(duplicate, sizeof(duplicate), "%" PRIu64, p->merged_from);
    const char *params[2] = {survivor, duplicate};
    return ingest__run(ev->conn, ingest_merge_statements,
                       sizeof(ingest_merge_statements) / sizeof(ingest_merge_statements[0]), params, err);
}

/* What is held here about records disposed of at the end of their retention (seed 002), and under
 * their NHS numbers: plans and what each upload said of them, notifications, error queue entries,
 * traced demographics, inactive numbers. ($1 the records, $2 their numbers.) The upload files, as
 * sent byte for byte, stay: they are the record of what the council told the NHS. */
static const ingest_statement_t ingest_forget_statements[] = {
    {"DELETE FROM upload_records WHERE person_id = ANY ($1::bigint[])"
     " OR plan_id IN (SELECT id FROM plans WHERE person_id = ANY ($1::bigint[]))",
     1},
    {"DELETE FROM errors WHERE person_id = ANY ($1::bigint[])"
     " OR plan_id IN (SELECT id FROM plans WHERE person_id = ANY ($1::bigint[]))"
     " OR (nhs_number <> '' AND nhs_number = ANY ($2::text[]))",
     2},
    {"DELETE FROM plans WHERE person_id = ANY ($1::bigint[])", 1},
    {"DELETE FROM notifications WHERE person_ids && $1::bigint[] OR nhs_number::text = ANY ($2::text[])", 2},
    {"DELETE FROM nhs_demographics WHERE $1::bigint[] IS NOT NULL AND nhs_number::text = ANY ($2::text[])",
     2},
    {"DELETE FROM inactive_numbers WHERE person_ids && $1::bigint[] OR nhs_number::text = ANY ($2::text[])",
     2},
};

static int ingest__forget(tsr_event_t *ev, const Tsr__Records__PersonAccessed *p, tsr_error_t *err)
{
    char ids[64 * 24], numbers[64 * 12] = "{";
    tsr_db_id_array(p->disposed_ids, p->n_disposed_ids, ids, sizeof(ids));
    size_t used = 1;
    for (size_t i = 0; i < p->n_disposed_nhs_numbers && used + 12 < sizeof(numbers); i++)
        if (tsr_nhs_number_is_valid(p->disposed_nhs_numbers[i]))
            used += (size_t)snprintf(numbers + used, sizeof(numbers) - used, "%s%s", used > 1 ? "," : "",
                                     p->disposed_nhs_numbers[i]);
    snprintf(numbers + used, sizeof(numbers) - used, "}");
    const char *params[2] = {ids, numbers};
    if (ingest__run(ev->conn, ingest_forget_statements,
                    sizeof(ingest_forget_statements) / sizeof(ingest_forget_statements[0]), params, err) != 0)
        return -1;
    tsr_log_info(NULL, "forgot what CP-IS held about person %" PRIu64 ", whose record was disposed of",
                 p->person_id);
    return 0;
}

/* The child's open no_key_worker entries, queued before the event happened, leave the queue with
 * why; a key worker allocated is asked for the new number as the notification would have asked
 * them. Only entries queued before the event: an allocation made earlier had ended, or its worker
 * had left, by the time the entry was queued (else there would be no entry), and a replay of
 * records' history must not hand the child back to them. (The two times come from two clocks,
 * records' daemon and this database; on one host they agree, as the suite is run.) */
int cpis_records_apply(tsr_event_t *ev, tsr_error_t *err)
{
    Tsr__Records__PersonAccessed *p = (Tsr__Records__PersonAccessed *)tsr_unpack(
        &tsr__records__person_accessed__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (p == NULL)
        return -1;
    if (strcmp(ev->event->type, "records.person.disposed") == 0) {
        int forgot = ingest__forget(ev, p, err);
        tsr__records__person_accessed__free_unpacked(p, NULL);
        return forgot;
    }
    if (strcmp(ev->event->type, "records.person.merged") == 0) {
        int moved = ingest__merge(ev, p, err);
        tsr__records__person_accessed__free_unpacked(p, NULL);
        return moved;
    }
    const Tsr__Records__Allocation *a = p->allocation;
    int allocated = strcmp(ev->event->type, "records.person.allocated") == 0;
    if (allocated &&
        (a == NULL || strcmp(a->role, "key-worker") != 0 || a->worker_id == 0 || a->end_date[0])) {
        tsr__records__person_accessed__free_unpacked(p, NULL);
        return 0; /* a team allocation, or one already ended: no one to ask */
    }
    char person[24], when[24], reason[300];
    snprintf(person, sizeof(person), "%" PRIu64, p->person_id);
    snprintf(when, sizeof(when), "%" PRId64, ev->event->occurred_at_ms);
    if (allocated)
        snprintf(reason, sizeof(reason),
                 "A key worker (worker %" PRIu64 ") was allocated, and was asked to record the child's new "
                 "NHS number.",
                 a->worker_id);
    else
        snprintf(reason, sizeof(reason), "A new NHS number was recorded on the child's record.");
    const char *params[3] = {person, when, reason};
    PGresult *res =
        tsr_db_exec(ev->conn,
                    "UPDATE errors SET resolved_at = now(), close_reason = $3"
                    " WHERE code = 'no_key_worker' AND resolved_at IS NULL AND person_id = $1::bigint"
                    "   AND last_received_at <= to_timestamp($2::bigint / 1000.0) RETURNING id",
                    3, params, err);
    int rc = res ? 0 : -1;
    if (rc == 0 && allocated && PQntuples(res) > 0) {
        Tsr__Records__NhsHolder child = TSR__RECORDS__NHS_HOLDER__INIT;
        child.person_id = p->person_id;
        child.key_worker_id = a->worker_id;
        /* The notice is the allocation's doing: told as the worker who allocated. */
        Tsr__Actor nobody = TSR__ACTOR__INIT;
        tsr_call_t call = tsr_call_for_event(ev, &nobody);
        rc = ingest__notice_record_number(&call, &child, "the NHS number is no longer active",
                                          "cpis-inactive", err);
    }
    if (rc == 0 && res != NULL && PQntuples(res) > 0)
        tsr_log_info(NULL, "CP-IS error queue entry %s (no_key_worker) left the queue: %s",
                     PQgetvalue(res, 0, 0), reason);
    PQclear(res);
    tsr__records__person_accessed__free_unpacked(p, NULL);
    return rc;
}
