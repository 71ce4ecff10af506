#include "plans.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cpis.pb-c.h"
#include "demographic_match.h"
#include "notifications.pb-c.h"
#include "records.pb-c.h"
#include "tsr_envelope.h"
#include "tsr_json.h"
#include "tsr_log.h"
#include "tsr_nhs.h"
#include "tsr_outbox.h"
#include "tsr_text.h"

/* records.person.demographics answers for at most this many people at once. */
#define PLANS_ASK_MAX 20000
#define PLANS_PAGE_DEFAULT 50
#define PLANS_PAGE_MAX 500
#define PLANS_NAME_MAX 100
/* records.people.access_check answers for at most this many people at once. */
#define PLANS_ACCESS_ASK_MAX 1000
/* How long before the caller's deadline records must have said who may open what. */
#define PLANS_ANSWER_MARGIN_MS 1000
/* The version of this file format, which the national service may refuse (CPF06). */
#define PLANS_FILE_VERSION "tessera-cpis-1"

static const char *const plan_writers[] = {"social-worker",   "senior-practitioner",
                                           "team-manager",    "mash-manager",
                                           "head-of-service", "safeguarding-admin",
                                           "admin",           "system-support",
                                           "system",          NULL};
static const char *const upload_makers[] = {"safeguarding-admin", "system-support", "admin",
                                            "cpis-service",       "system",         NULL};
static const char *const response_readers[] = {"system-support", "admin", "cpis-service", "system", NULL};

static const struct {
    const char *key;
    const char *title;
} plan_types[] = {
    {"child-protection-plan", "Child protection plan"},
    {"child-in-care", "Child in care"},
    {"unborn-child-protection-plan", "Unborn child protection plan"},
};
static const char *const legal_statuses[] = {"s31-full-care-order", "s38-interim-care-order", "s20-voluntary",
                                             NULL};

/* The national service's answers (NHS Digital's CP-IS specification), in words. */
static const struct {
    const char *code;
    int failed;
    const char *meaning;
} response_codes[] = {
    {"CPR01", 1, "No match: the national service found no person with this NHS number and these details."},
    {"CPR02", 1,
     "Sensitive record: the NHS number belongs to a record marked sensitive on the Spine, so the plan was "
     "not loaded."},
    {"CPR03", 1, "Not verified: the NHS number is not verified on the Spine."},
    {"CPR04", 1, "Old-style NHS number: record the child's current (new-style) NHS number."},
    {"CPR05", 1, "Superseded: the NHS number has been replaced by another; record the child's new number."},
    {"CPR06", 0, "Success: the plan was loaded."},
    {"CPR07", 1, "Unsuccessful: the national service could not load the plan."},
    {"CPF01", 1, "Corrupt file: the national service could not read the file, so nothing in it was loaded."},
    {"CPF02", 0, "All records loaded."},
    {"CPF03", 1, "Partially loaded: some records of the file were not loaded (each has its own response)."},
    {"CPF04", 1, "None loaded: no record of the file was loaded."},
    {"CPF05", 1,
     "Spine unavailable: the file was not processed; its plans go again in the next upload (or make one "
     "now)."},
    {"CPF06", 1,
     "Client version unsupported: the national service does not accept this file format's version."},
};
#define RESPONSE_CODES (sizeof(response_codes) / sizeof(response_codes[0]))

static struct {
    char *la_name;
    char *ods_code;
    char *office_telephone;
    char *edt_telephone;
    char *upload_dir;
    long upload_every_ms;
    long write_every_ms;
    long upload_keep_days;
} plans_config;

/* Where plan work runs: a request's handler, or the daemon's own schedule. */
typedef struct {
    tsr_daemon_t *daemon;
    PGconn *conn;
    const Tsr__Actor *actor;
    const char *trace_id;
    int64_t deadline_ms;
} plans_ctx_t;

static plans_ctx_t plans__ctx(tsr_call_t *call)
{
    return (plans_ctx_t){call->daemon, call->conn, call->actor, call->trace_id, call->request->deadline_ms};
}

static int plans__oom(tsr_error_t *err)
{
    return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
}

static void plans__reply_json(tsr_call_t *call, const char *text)
{
    Tsr__Cpis__JsonReply out = TSR__CPIS__JSON_REPLY__INIT;
    out.json = (char *)text;
    tsr_call_reply(call, &out.base);
}

/* Replies with a JSON value; steals it. */
static int plans__reply_value(tsr_call_t *call, json_t *value, tsr_error_t *err)
{
    char *text = value ? json_dumps(value, JSON_COMPACT) : NULL;
    json_decref(value);
    if (text == NULL)
        return plans__oom(err);
    plans__reply_json(call, text);
    free(text);
    return 0;
}

static const char *plans__type_title(const char *key)
{
    for (size_t i = 0; i < sizeof(plan_types) / sizeof(plan_types[0]); i++)
        if (strcmp(plan_types[i].key, key) == 0)
            return plan_types[i].title;
    return NULL;
}

/* ------------------------------------------------------------------------------------------------
 * Configuration and schedule
 * ---------------------------------------------------------------------------------------------- */

static int plans__setting(const tsr_config_t *config, const char *key, int telephone, char **out,
                          tsr_error_t *err)
{
    const char *v = tsr_config_require(config, key, err);
    if (v == NULL)
        return -1;
    if (tsr_text_trimmed_length(v) == 0 || tsr_text_length(v) > PLANS_NAME_MAX || tsr_text_has_control(v, 0))
        return tsr_error_set(
            err, TSR_E_INVALID, "bad_config", key,
            "%s must be one line of 1 to %d characters (it goes in every CP-IS plan record).", key,
            PLANS_NAME_MAX);
    if (telephone && !tsr_text_is_telephone(v))
        return tsr_error_set(err, TSR_E_INVALID, "bad_config", key, "%s '%.40s' is not a telephone number.",
                             key, v);
    *out = strdup(v);
    return *out ? 0 : plans__oom(err);
}

int cpis_plans_configure(tsr_daemon_t *daemon, tsr_error_t *err)
{
    const tsr_config_t *config = tsr_daemon_config(daemon);
    if (plans__setting(config, "cpis.la_name", 0, &plans_config.la_name, err) != 0 ||
        plans__setting(config, "cpis.la_ods_code", 0, &plans_config.ods_code, err) != 0 ||
        plans__setting(config, "cpis.office_hours_telephone", 1, &plans_config.office_telephone, err) != 0 ||
        plans__setting(config, "cpis.emergency_duty_telephone", 1, &plans_config.edt_telephone, err) != 0)
        return -1;
    /* An ODS code is three to six letters and digits (a council's is e.g. 'E0801'). */
    size_t n = strlen(plans_config.ods_code);
    int ok = n >= 3 && n <= 6;
    for (size_t i = 0; ok && i < n; i++)
        ok = (plans_config.ods_code[i] >= 'A' && plans_config.ods_code[i] <= 'Z') ||
             (plans_config.ods_code[i] >= '0' && plans_config.ods_code[i] <= '9');
    if (!ok)
        return tsr_error_set(
            err, TSR_E_INVALID, "bad_config", "cpis.la_ods_code",
            "cpis.la_ods_code '%.20s' is not an ODS code (3 to 6 capital letters and digits).",
            plans_config.ods_code);
    /* Four files a day by default; 0 turns the schedule off (files on demand only). */
    if (tsr_config_get_long(config, "cpis.upload_every_ms", 6L * 3600 * 1000, 0, 7L * 24 * 3600 * 1000,
                            &plans_config.upload_every_ms, err) != 0 ||
        tsr_config_get_long(config, "cpis.upload_write_ms", 10000, 100, 3600000, &plans_config.write_every_ms,
                            err) != 0 ||
        tsr_config_get_long(config, "cpis.upload_keep_days", 30, 1, 3650, &plans_config.upload_keep_days,
                            err) != 0)
        return -1;
    if (plans_config.upload_every_ms > 0 && plans_config.upload_every_ms < 1000)
        return tsr_error_set(err, TSR_E_INVALID, "bad_config", "cpis.upload_every_ms",
                             "cpis.upload_every_ms must be 0 (no schedule) or at least 1000 (a second).");
    const char *dir = tsr_config_get(config, "cpis.upload_dir", "");
    if (dir[0] != '\0') {
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return tsr_error_set(err, TSR_E_INVALID, "bad_config", "cpis.upload_dir",
                                 "cpis.upload_dir %s cannot be made: %s.", dir, strerror(errno));
        if (access(dir, W_OK | X_OK) != 0)
            return tsr_error_set(err, TSR_E_INVALID, "bad_config", "cpis.upload_dir",
                                 "cpis.upload_dir %s is not a directory this daemon can write to.", dir);
    }
    plans_config.upload_dir = strdup(dir);
    return plans_config.upload_dir ? 0 : plans__oom(err);
}

/* ------------------------------------------------------------------------------------------------
 * Asking records, and telling the audit trail
 * ---------------------------------------------------------------------------------------------- */

/* The demographics of people (and the mothers of the unborn among them), sorted by person_id. */
typedef struct {
    Tsr__Records__NhsMatchReply **replies;
    size_t n_replies;
    const Tsr__Records__NhsHolder **items;
    size_t n;
} plans_people_t;

static void plans__people_free(plans_people_t *p)
{
    for (size_t i = 0; i < p->n_replies; i++)
        tsr__records__nhs_match_reply__free_unpacked(p->replies[i], NULL);
    free(p->replies);
    free(p->items);
    memset(p, 0, sizeof(*p));
}

static int plans__by_id(const void *a, const void *b)
{
    uint64_t x = (*(const Tsr__Records__NhsHolder *const *)a)->person_id;
    uint64_t y = (*(const Tsr__Records__NhsHolder *const *)b)->person_id;
    return x < y ? -1 : x > y;
}

static const Tsr__Records__NhsHolder *plans__person(const plans_people_t *p, uint64_t id)
{
    Tsr__Records__NhsHolder key = TSR__RECORDS__NHS_HOLDER__INIT;
    key.person_id = id;
    const Tsr__Records__NhsHolder *k = &key;
    const Tsr__Records__NhsHolder **hit = bsearch(&k, p->items, p->n, sizeof(*p->items), plans__by_id);
    return hit ? *hit : NULL;
}

/* The system's actor, for cpis's own questions and the schedule's work. */
static void plans__system(Tsr__Actor *actor)
{
    static char *system_roles[] = {"system"};
    tsr__actor__init(actor);
    actor->roles = system_roles;
    actor->n_roles = 1;
}

/* Whether the calling worker may open the person's record (a restricted one only on its access
 * list): 0, or -1 with not_found or restricted. The system may. */
static int plans__may_open(plans_ctx_t *c, uint64_t person_id, const char *what, tsr_error_t *err)
{
    Tsr__Records__AccessCheck q = TSR__RECORDS__ACCESS_CHECK__INIT;
    uint64_t me = c->actor->worker_id;
    q.person_id = person_id;
    q.worker_ids = &me;
    q.n_worker_ids = me ? 1 : 0;
    ProtobufCMessage *msg = NULL;
    if (tsr_daemon_ask(c->daemon, c->actor, c->trace_id, c->deadline_ms, "records",
                       "records.person.access_check", &q.base, &tsr__records__access_check_reply__descriptor,
                       &msg, err) != 0)
        return -1;
    Tsr__Records__AccessCheckReply *r = (Tsr__Records__AccessCheckReply *)msg;
    int rc = 0;
    if (!r->exists) {
        rc = tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", "person_id", "There is no person %" PRIu64 ".",
                           person_id);
    } else if (me != 0) {
        int allowed = 0;
        for (size_t i = 0; i < r->n_allowed_worker_ids; i++)
            allowed |= r->allowed_worker_ids[i] == me;
        if (!allowed)
            rc = tsr_error_set(err, TSR_E_FORBIDDEN, "restricted", "person_id",
                               "%s's record is restricted and you are not on its access list, so you cannot "
                               "%s it.",
                               r->display_name, what);
    }
    tsr__records__access_check_reply__free_unpacked(r, NULL);
    return rc;
}

static int plans__ask_people(plans_ctx_t *c, const uint64_t *ids, size_t n, plans_people_t *out,
                             tsr_error_t *err)
{
    memset(out, 0, sizeof(*out));
    size_t parts = (n + PLANS_ASK_MAX - 1) / PLANS_ASK_MAX;
    out->replies = calloc(parts + 1, sizeof(*out->replies));
    if (out->replies == NULL)
        return plans__oom(err);
    for (size_t at = 0; at < n; at += PLANS_ASK_MAX) {
        Tsr__Records__PeopleDemographics q = TSR__RECORDS__PEOPLE_DEMOGRAPHICS__INIT;
        q.person_ids = (uint64_t *)(ids + at);
        q.n_person_ids = n - at < PLANS_ASK_MAX ? n - at : PLANS_ASK_MAX;
        ProtobufCMessage *msg = NULL;
        /* cpis's own question (records shows nothing of it to the worker): asked as the system. */
        Tsr__Actor system;
        plans__system(&system);
        if (tsr_daemon_ask(c->daemon, &system, c->trace_id, c->deadline_ms, "records",
                           "records.person.demographics", &q.base, &tsr__records__nhs_match_reply__descriptor,
                           &msg, err) != 0) {
            plans__people_free(out);
            return -1;
        }
        out->replies[out->n_replies++] = (Tsr__Records__NhsMatchReply *)msg;
    }
    size_t total = 0;
    for (size_t i = 0; i < out->n_replies; i++)
        total += out->replies[i]->n_holders;
    out->items = calloc(total + 1, sizeof(*out->items));
    if (out->items == NULL) {
        plans__people_free(out);
        return plans__oom(err);
    }
    for (size_t i = 0; i < out->n_replies; i++)
        for (size_t j = 0; j < out->replies[i]->n_holders; j++)
            out->items[out->n++] = out->replies[i]->holders[j];
    qsort(out->items, out->n, sizeof(*out->items), plans__by_id);
    return 0;
}

/* One event for the audit trail: what was done with whose plans. people is a JSON array of
 * [person_id, summary] pairs. */
static int plans__tell_audit(plans_ctx_t *c, const char *action, json_t *people, tsr_error_t *err)
{
    size_t n = json_array_size(people);
    if (n == 0)
        return 0;
    Tsr__Cpis__PlanAccess *items = calloc(n, sizeof(*items));
    Tsr__Cpis__PlanAccess **ptrs = calloc(n, sizeof(*ptrs));
    if (items == NULL || ptrs == NULL) {
        free(items);
        free(ptrs);
        return plans__oom(err);
    }
    for (size_t i = 0; i < n; i++) {
        json_t *pair = json_array_get(people, i);
        tsr__cpis__plan_access__init(&items[i]);
        items[i].person_id = (uint64_t)json_integer_value(json_array_get(pair, 0));
        items[i].summary = (char *)json_string_value(json_array_get(pair, 1));
        ptrs[i] = &items[i];
    }
    Tsr__Cpis__PlansAccessed ev = TSR__CPIS__PLANS_ACCESSED__INIT;
    ev.action = (char *)action;
    ev.people = ptrs;
    ev.n_people = n;
    int rc = tsr_outbox_append(c->conn, "cpis.plans.accessed", c->actor, c->trace_id, &ev.base, err);
    free(items);
    free(ptrs);
    return rc;
}

int cpis_audit_people(tsr_call_t *call, const char *action, json_t *people, tsr_error_t *err)
{
    plans_ctx_t c = plans__ctx(call);
    return plans__tell_audit(&c, action, people, err);
}

void cpis_audit_add(json_t *people, uint64_t person_id, const char *fmt, ...)
{
    char summary[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(summary, sizeof(summary), fmt, ap);
    va_end(ap);
    json_array_append_new(people, json_pack("[I, s]", (json_int_t)person_id, summary));
}

/* ------------------------------------------------------------------------------------------------
 * What a list shows of a child whose record the caller cannot open
 * ---------------------------------------------------------------------------------------------- */

/* Which of the people a list shows the calling worker may open (records.people.access_check). */
typedef struct {
    uint64_t *open; /* sorted: those records said the caller may open */
    size_t n;
    int all;      /* the caller may open every one (the system, or a list already checked) */
    int answered; /* records said; when it did not, only a record known not to be restricted is open */
} plans_access_t;

static int plans__id_order(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Asks records once (in parts of PLANS_ACCESS_ASK_MAX) which of people the caller may open; people
 * is sorted in place and may hold a person twice (NULL: out of memory, none known). Records not
 * answering is no error: the list is then shown as plans__opens says, restricted and unknown
 * records by the ids only. */
static void plans__ask_access(plans_ctx_t *c, uint64_t *people, size_t n, plans_access_t *out)
{
    memset(out, 0, sizeof(*out));
    if (tsr_actor_is_system(c->actor)) {
        out->all = 1;
        return;
    }
    if (people == NULL)
        return;
    qsort(people, n, sizeof(*people), plans__id_order);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        if (distinct == 0 || people[distinct - 1] != people[i])
            people[distinct++] = people[i];
    out->open = calloc(distinct + 1, sizeof(*out->open));
    out->answered = out->open != NULL;
    /* Asked to answer a second before the caller gives up, so that a records daemon that does not
     * answer leaves time to answer with the ids only. */
    int64_t deadline = c->deadline_ms > 0 ? c->deadline_ms - PLANS_ANSWER_MARGIN_MS : 0;
    tsr_error_t err = {0};
    for (size_t at = 0; out->answered && at < distinct; at += PLANS_ACCESS_ASK_MAX) {
        Tsr__Records__PeopleAccessCheck q = TSR__RECORDS__PEOPLE_ACCESS_CHECK__INIT;
        q.worker_id = c->actor->worker_id;
        q.person_ids = people + at;
        q.n_person_ids = distinct - at < PLANS_ACCESS_ASK_MAX ? distinct - at : PLANS_ACCESS_ASK_MAX;
        ProtobufCMessage *msg = NULL;
        if (tsr_daemon_ask(c->daemon, c->actor, c->trace_id, deadline, "records",
                           "records.people.access_check", &q.base,
                           &tsr__records__people_access_check_reply__descriptor, &msg, &err) != 0) {
            out->answered = 0;
            break;
        }
        const Tsr__Records__PeopleAccessCheckReply *r = (const Tsr__Records__PeopleAccessCheckReply *)msg;
        for (size_t i = 0; i < r->n_allowed_person_ids && out->n < distinct; i++)
            out->open[out->n++] = r->allowed_person_ids[i];
        protobuf_c_message_free_unpacked(msg, NULL);
    }
    if (!out->answered) {
        tsr_log_warn(c->trace_id,
                     "cpis: who may open %zu records not known (%s): restricted ones shown by id only",
                     distinct, err.message[0] ? err.message : "out of memory");
        out->n = 0;
    }
    if (out->n > 1)
        qsort(out->open, out->n, sizeof(*out->open), plans__id_order);
}

/* Whether the caller may see person's record in a list; known_unrestricted: cpis knows the record
 * is not restricted (records.person.demographics said so), which is enough when records did not
 * answer. */
static int plans__opens(const plans_access_t *a, uint64_t person, int known_unrestricted)
{
    if (a->all)
        return 1;
    if (!a->answered)
        return known_unrestricted;
    return bsearch(&person, a->open, a->n, sizeof(*a->open), plans__id_order) != NULL;
}

static void plans__access_free(plans_access_t *a)
{
    free(a->open);
    memset(a, 0, sizeof(*a));
}

/* What an item about a child whose record the caller cannot open keeps: no more than any list
 * shows of them (the ids named in keep), marked restricted. */
static void plans__restrict_item(json_t *item, const char *const *keep)
{
    const char *key;
    json_t *value;
    void *tmp;
    json_object_foreach_safe(item, tmp, key, value)
    {
        int kept = 0;
        for (const char *const *k = keep; *k && !kept; k++)
            kept = strcmp(*k, key) == 0;
        if (!kept)
            json_object_del(item, key);
    }
    json_object_set_new(item, "restricted", json_true());
}

/* ------------------------------------------------------------------------------------------------
 * Plans
 * ---------------------------------------------------------------------------------------------- */

/* A plan as the API shows it, with the last file that carried it and why it is held back, if it is. */
#define PLAN_JSON                                                                                            \
    "json_build_object('id', p.id::text, 'person_id', p.person_id::text, 'plan_type', p.plan_type,"          \
    " 'plan_type_title', CASE p.plan_type WHEN 'child-protection-plan' THEN 'Child protection plan'"         \
    "   WHEN 'child-in-care' THEN 'Child in care' ELSE 'Unborn child protection plan' END,"                  \
    " 'legal_status', p.legal_status, 'legal_status_title', CASE p.legal_status"                             \
    "   WHEN 's31-full-care-order' THEN 'Full care order (s31)'"                                             \
    "   WHEN 's38-interim-care-order' THEN 'Interim care order (s38)'"                                       \
    "   WHEN 's20-voluntary' THEN 'Voluntary accommodation (s20)' END,"                                      \
    " 'start_date', p.start_date, 'end_date', p.end_date, 'recorded_at', p.recorded_at,"                     \
    " 'last_file', (SELECT json_build_object('file_sequence_number', r.file_sequence_number::text,"          \
    "     'record_number', r.record_number, 'nhs_number', r.nhs_number, 'response_code', r.response_code)"   \
    "   FROM upload_records r WHERE r.plan_id = p.id ORDER BY r.file_sequence_number DESC LIMIT 1),"         \
    " 'held_back', (SELECT coalesce(json_agg(json_build_object('error_id', e.id::text, 'code', e.code,"      \
    "     'reason', e.reason) ORDER BY e.id), '[]') FROM errors e"                                           \
    "   WHERE e.plan_id = p.id AND e.source = 'plan-export' AND e.resolved_at IS NULL))"

static int plans__reply_plan(tsr_call_t *call, const char *id, tsr_error_t *err)
{
    const char *params[1] = {id};
    PGresult *res =
        tsr_db_exec(call->conn, "SELECT " PLAN_JSON " FROM plans p WHERE p.id = $1::bigint", 1, params, err);
    if (res == NULL)
        return -1;
    plans__reply_json(call, PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

int cpis_plans_record(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Cpis__PlanRecord *in = (const Tsr__Cpis__PlanRecord *)call->payload;
    if (tsr_actor_require_role(call->actor, plan_writers, "record a CP-IS plan", err) != 0)
        return -1;
    /* Every fault of the plan named at once, in the form's order. */
    tsr_error_clear(err);
    const char *type_title = plans__type_title(in->plan_type);
    if (type_title == NULL)
        tsr_error_add(err, TSR_E_INVALID, "invalid_value", "plan_type",
                      "plan_type must be one of child-protection-plan, child-in-care, "
                      "unborn-child-protection-plan.");
    int in_care = type_title != NULL && strcmp(in->plan_type, "child-in-care") == 0;
    int legal_known = 0;
    for (size_t i = 0; legal_statuses[i]; i++)
        legal_known |= strcmp(legal_statuses[i], in->legal_status) == 0;
    if (in_care && !legal_known)
        tsr_error_add(err, TSR_E_INVALID, in->legal_status[0] ? "invalid_value" : "missing_field",
                      "legal_status",
                      "A child in care's legal_status must be one of s31-full-care-order, "
                      "s38-interim-care-order, s20-voluntary (the legal statuses CP-IS shares).");
    if (type_title != NULL && !in_care && in->legal_status[0])
        tsr_error_add(err, TSR_E_INVALID, "invalid_value", "legal_status",
                      "Only a child-in-care plan has a legal_status.");
    tsr_error_t one;
    int dates_ok = 1;
    if (in->start_date[0] == '\0') {
        tsr_error_add(err, TSR_E_INVALID, "missing_field", "start_date", "A plan needs its start_date.");
        dates_ok = 0;
    } else if (tsr_text_check_date(in->start_date, 1, "start_date", &one) != 0) {
        tsr_error_gather(err, &one);
        dates_ok = 0;
    }
    if (in->end_date[0] && tsr_text_check_date(in->end_date, 1, "end_date", &one) != 0) {
        tsr_error_gather(err, &one);
        dates_ok = 0;
    }
    if (dates_ok && in->end_date[0] && strcmp(in->end_date, in->start_date) < 0)
        tsr_error_add(err, TSR_E_INVALID, "invalid_date", "end_date",
                      "end_date (%s) is before start_date (%s).", in->end_date, in->start_date);
    if (in->person_id == 0)
        tsr_error_add(err, TSR_E_INVALID, "missing_field", "person_id",
                      "A plan needs the child's person_id.");
    if (tsr_error_gathered(err) != 0)
        return -1;
    plans_ctx_t c = plans__ctx(call);
    plans_people_t people;
    if (plans__may_open(&c, in->person_id, "record a plan on", err) != 0 ||
        plans__ask_people(&c, &in->person_id, 1, &people, err) != 0)
        return -1;
    const Tsr__Records__NhsHolder *child = plans__person(&people, in->person_id);
    int rc = -1;
    if (child == NULL) {
        tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", "person_id", "There is no person %" PRIu64 ".",
                      in->person_id);
        goto done;
    }
    int unborn_plan = strcmp(in->plan_type, "unborn-child-protection-plan") == 0;
    if (unborn_plan != (int)child->unborn) {
        tsr_error_set(err, TSR_E_UNPROCESSABLE, unborn_plan ? "not_unborn" : "unborn", "plan_type",
                      unborn_plan
                          ? "%s is not recorded as an unborn child: an unborn child protection plan is "
                            "recorded on the unborn child's record."
                          : "%s is recorded as an unborn child: an unborn child's plan is an "
                            "unborn-child-protection-plan (shared against the mother's NHS number).",
                      child->display_name);
        goto done;
    }
    /* A child's plan begins once the child is born (records' date of birth, which the upload sends
     * the NHS beside it); protection before the birth is the unborn child protection plan, on the
     * unborn child's record, which has none. */
    if (!unborn_plan && child->date_of_birth[0] != '\0' && strcmp(in->start_date, child->date_of_birth) < 0) {
        tsr_error_set(err, TSR_E_INVALID, "before_date_of_birth", "start_date",
                      "%s was born on %s: a CP-IS plan (%s) cannot start before the date of birth. Before "
                      "the birth, protection is an unborn child protection plan.",
                      child->display_name, child->date_of_birth, type_title);
        goto done;
    }
    char person[24];
    snprintf(person, sizeof(person), "%" PRIu64, in->person_id);
    const char *params[6] = {person,
                             in->plan_type,
                             legal_known ? in->legal_status : NULL,
                             in->start_date,
                             in->end_date[0] ? in->end_date : NULL,
                             NULL};
    /* A child has one plan of a kind at a time: a second that overlaps it is a mistake. */
    PGresult *res =
        tsr_db_exec(call->conn,
                    "SELECT id, start_date FROM plans WHERE person_id = $1::bigint AND plan_type = $2"
                    " AND start_date <= coalesce($4::date, 'infinity')"
                    " AND (end_date IS NULL OR end_date >= $3::date) LIMIT 1",
                    4, (const char *const[]){person, in->plan_type, in->start_date, params[4]}, err);
    if (res == NULL)
        goto done;
    if (PQntuples(res) > 0) {
        tsr_error_set(err, TSR_E_CONFLICT, "overlapping_plan", "start_date",
                      "%s already has a %s (plan %s, from %s) over these dates.", child->display_name,
                      type_title, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
        PQclear(res);
        goto done;
    }
    PQclear(res);
    char by[24];
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    params[5] = by;
    res = tsr_db_exec(
        call->conn,
        "INSERT INTO plans (person_id, plan_type, legal_status, start_date, end_date, recorded_by,"
        " ended_by) VALUES ($1::bigint, $2, $3, $4::date, $5::date, $6::bigint,"
        " CASE WHEN $5 IS NULL THEN NULL ELSE $6::bigint END) RETURNING id",
        6, params, err);
    if (res == NULL)
        goto done;
    char id[24];
    snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    json_t *audit = json_array();
    cpis_audit_add(audit, in->person_id, "%s from %s recorded for CP-IS (plan %s)", type_title,
                   in->start_date, id);
    rc = plans__tell_audit(&c, "recorded", audit, err);
    json_decref(audit);
    if (rc == 0)
        rc = plans__reply_plan(call, id, err);
done:
    plans__people_free(&people);
    return rc;
}

int cpis_plans_end(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Cpis__PlanEnd *in = (const Tsr__Cpis__PlanEnd *)call->payload;
    if (tsr_actor_require_role(call->actor, plan_writers, "end a CP-IS plan", err) != 0)
        return -1;
    char today[11];
    tsr_text_today(today);
    const char *end = in->end_date[0] ? in->end_date : today;
    if (tsr_text_check_date(end, 1, "end_date", err) != 0)
        return -1;
    char id[24], by[24];
    snprintf(id, sizeof(id), "%" PRIu64, in->plan_id);
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    const char *params[3] = {id, end, by};
    PGresult *res = tsr_db_exec(call->conn,
                                "SELECT person_id, plan_type, start_date::text, coalesce(end_date::text, '')"
                                " FROM plans WHERE id = $1::bigint FOR UPDATE",
                                1, params, err);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", "plan_id", "There is no plan %s.", id);
    }
    uint64_t person = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    const char *title = plans__type_title(PQgetvalue(res, 0, 1));
    plans_ctx_t c = plans__ctx(call);
    int rc = -1;
    if (plans__may_open(&c, person, "end a plan of", err) != 0) {
        /* err says why */
    } else if (PQgetvalue(res, 0, 3)[0]) {
        tsr_error_set(err, TSR_E_CONFLICT, "already_ended", "plan_id", "Plan %s already ended on %s.", id,
                      PQgetvalue(res, 0, 3));
    } else if (strcmp(end, PQgetvalue(res, 0, 2)) < 0) {
        tsr_error_set(err, TSR_E_INVALID, "invalid_date", "end_date",
                      "end_date (%s) is before the plan's start (%s).", end, PQgetvalue(res, 0, 2));
    } else {
        PGresult *upd =
            tsr_db_exec(call->conn,
                        "UPDATE plans SET end_date = $2::date, ended_by = $3::bigint, end_loaded = false"
                        " WHERE id = $1::bigint",
                        3, params, err);
        if (upd != NULL) {
            PQclear(upd);
            json_t *audit = json_array();
            cpis_audit_add(audit, person, "%s ended on %s for CP-IS (plan %s)", title ? title : "Plan", end,
                           id);
            rc = plans__tell_audit(&c, "ended", audit, err);
            json_decref(audit);
            if (rc == 0)
                rc = plans__reply_plan(call, id, err);
        }
    }
    PQclear(res);
    return rc;
}

int cpis_plans_list(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Cpis__PlanQuery *q = (const Tsr__Cpis__PlanQuery *)call->payload;
    plans_ctx_t c = plans__ctx(call);
    /* One child's plans to whoever may open the child's record; everyone's only to those who run
     * the uploads (the list passes over restrictions, as the files do). */
    if (q->person_id != 0
            ? tsr_actor_require_role(call->actor, plan_writers, "read a child's CP-IS plans", err) != 0 ||
                  plans__may_open(&c, q->person_id, "read the CP-IS plans of", err) != 0
            : tsr_actor_require_role(call->actor, upload_makers, "read every child's CP-IS plans", err) != 0)
        return -1;
    tsr_text_page_t page;
    if (tsr_text_page(q->limit, q->cursor, PLANS_PAGE_DEFAULT, PLANS_PAGE_MAX, &page, err) != 0)
        return -1;
    uint32_t limit = page.limit;
    char person[24];
    snprintf(person, sizeof(person), "%" PRIu64, q->person_id);
    const char *params[3] = {q->person_id ? person : NULL, page.before_text, page.fetch_text};
    PGresult *res =
        tsr_db_exec(call->conn,
                    "SELECT p.id, p.person_id, p.plan_type, " PLAN_JSON " FROM plans p"
                    " WHERE ($1::bigint IS NULL OR p.person_id = $1::bigint)"
                    " AND ($2::bigint IS NULL OR p.id < $2::bigint) ORDER BY p.id DESC LIMIT $3::int",
                    3, params, err);
    if (res == NULL)
        return -1;
    int rows = PQntuples(res);
    int shown = rows > (int)limit ? (int)limit : rows;
    /* Everyone's plans pass over restrictions as the files do, but a plan of a child whose record
     * the caller cannot open is shown by its ids only: records is asked once for the page. */
    uint64_t *people = calloc((size_t)shown + 1, sizeof(*people));
    for (int i = 0; people && i < shown; i++)
        people[i] = strtoull(PQgetvalue(res, i, 1), NULL, 10);
    plans_access_t access = {.all = q->person_id != 0};
    if (q->person_id == 0)
        plans__ask_access(&c, people, (size_t)shown, &access);
    free(people);
    static const char *const plan_ids[] = {"id", "person_id", NULL};
    json_t *items = json_array(), *audit = json_array();
    for (int i = 0; i < shown; i++) {
        json_t *item = json_loads(PQgetvalue(res, i, 3), 0, NULL);
        uint64_t person = strtoull(PQgetvalue(res, i, 1), NULL, 10);
        if (plans__opens(&access, person, 0))
            cpis_audit_add(audit, person, "CP-IS plan %s (%s) viewed", PQgetvalue(res, i, 0),
                           PQgetvalue(res, i, 2));
        else
            plans__restrict_item(item, plan_ids);
        json_array_append_new(items, item);
    }
    plans__access_free(&access);
    char next[24] = "";
    if (rows > (int)limit)
        snprintf(next, sizeof(next), "%s", PQgetvalue(res, shown - 1, 0));
    PQclear(res);
    int rc = plans__tell_audit(&c, "listed", audit, err);
    json_decref(audit);
    if (rc != 0) {
        json_decref(items);
        return -1;
    }
    return plans__reply_value(
        call, json_pack("{s:o, s:s?}", "items", items, "next_cursor", next[0] ? next : NULL), err);
}

/* For records' retention: the plans of the children named (the record and the duplicates merged
 * into it), or, naming none, each child with a plan and whether one of theirs is open. Ids, types
 * and dates only: the caller shows a worker at most that a plan keeps the record open. */
int cpis_plans_states(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Cpis__PlanStatesQuery *q = (const Tsr__Cpis__PlanStatesQuery *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    if (q->n_person_ids > PLANS_ACCESS_ASK_MAX)
        return tsr_error_set(err, TSR_E_INVALID, "too_many", "person_ids",
                             "Ask about at most %d children at once.", PLANS_ACCESS_ASK_MAX);
    char ids[PLANS_ACCESS_ASK_MAX * 24];
    tsr_db_id_array(q->person_ids, q->n_person_ids, ids, sizeof(ids));
    const char *params[1] = {ids};
    PGresult *res =
        q->n_person_ids > 0
            ? tsr_db_exec(
                  call->conn,
                  "SELECT person_id, id, plan_type, start_date::text, coalesce(end_date::text, '')"
                  " FROM plans WHERE person_id = ANY ($1::bigint[]) ORDER BY person_id, start_date, id",
                  1, params, err)
            : tsr_db_exec(call->conn,
                          "SELECT person_id, 0, '', min(start_date)::text,"
                          " CASE WHEN bool_or(end_date IS NULL) THEN '' ELSE max(end_date)::text END"
                          " FROM plans GROUP BY person_id ORDER BY person_id",
                          0, NULL, err);
    if (res == NULL)
        return -1;
    int rows = PQntuples(res);
    Tsr__Cpis__PlanState *items = calloc((size_t)rows + 1, sizeof(*items));
    Tsr__Cpis__PlanState **ptrs = calloc((size_t)rows + 1, sizeof(*ptrs));
    if (items == NULL || ptrs == NULL) {
        free(items);
        free(ptrs);
        PQclear(res);
        return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
    }
    for (int i = 0; i < rows; i++) {
        tsr__cpis__plan_state__init(&items[i]);
        items[i].person_id = strtoull(PQgetvalue(res, i, 0), NULL, 10);
        items[i].plan_id = strtoull(PQgetvalue(res, i, 1), NULL, 10);
        items[i].plan_type = PQgetvalue(res, i, 2);
        items[i].start_date = PQgetvalue(res, i, 3);
        items[i].end_date = PQgetvalue(res, i, 4);
        ptrs[i] = &items[i];
    }
    Tsr__Cpis__PlanStates out = TSR__CPIS__PLAN_STATES__INIT;
    out.plans = ptrs;
    out.n_plans = (size_t)rows;
    tsr_call_reply(call, &out.base);
    free(items);
    free(ptrs);
    PQclear(res);
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * The NHS's demographics (a PDS trace)
 * ---------------------------------------------------------------------------------------------- */

static int plans__name(const char *value, const char *field, tsr_error_t *err)
{
    if (tsr_text_trimmed_length(value) == 0)
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", field, "%s is empty.", field);
    if (tsr_text_length(value) > PLANS_NAME_MAX || tsr_text_has_control(value, 0))
        return tsr_error_set(err, TSR_E_INVALID, "invalid_value", field,
                             "%s must be one line of at most %d characters.", field, PLANS_NAME_MAX);
    return 0;
}

int cpis_demographics_record(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Cpis__Demographics *in = (const Tsr__Cpis__Demographics *)call->payload;
    if (tsr_actor_require_role(call->actor, upload_makers, "record the NHS's demographics", err) != 0)
        return -1;
    char nhs[11];
    if (tsr_nhs_number_normalise(in->nhs_number, nhs, "nhs_number", err) != 0 ||
        plans__name(in->family_name, "family_name", err) != 0)
        return -1;
    if (in->n_given_names == 0 || in->n_given_names > 10)
        return tsr_error_set(err, TSR_E_INVALID, in->n_given_names ? "invalid_value" : "missing_field",
                             "given_names", "given_names must list 1 to 10 given names, the first first.");
    json_t *given = json_array();
    for (size_t i = 0; i < in->n_given_names; i++) {
        char field[48];
        snprintf(field, sizeof(field), "given_names[%zu]", i);
        if (plans__name(in->given_names[i], field, err) != 0) {
            json_decref(given);
            return -1;
        }
        json_array_append_new(given, json_string(in->given_names[i]));
    }
    if (in->date_of_birth[0] == '\0') {
        json_decref(given);
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", "date_of_birth",
                             "date_of_birth is missing.");
    }
    if (tsr_text_check_date(in->date_of_birth, 1, "date_of_birth", err) != 0) {
        json_decref(given);
        return -1;
    }
    char *given_text = json_dumps(given, JSON_COMPACT);
    json_decref(given);
    char by[24];
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    const char *params[5] = {nhs, in->family_name, given_text, in->date_of_birth, by};
    PGresult *res = tsr_db_exec(
        call->conn,
        "INSERT INTO nhs_demographics (nhs_number, family_name, given_names, date_of_birth, recorded_by)"
        " VALUES ($1, $2, ARRAY(SELECT json_array_elements_text($3::json)), $4::date, $5::bigint)"
        " ON CONFLICT (nhs_number) DO UPDATE SET family_name = EXCLUDED.family_name,"
        " given_names = EXCLUDED.given_names, date_of_birth = EXCLUDED.date_of_birth, traced_at = now(),"
        " recorded_by = EXCLUDED.recorded_by"
        " RETURNING json_build_object('nhs_number', nhs_number, 'family_name', family_name, 'given_names',"
        " given_names, 'date_of_birth', date_of_birth, 'traced_at', traced_at)",
        5, params, err);
    free(given_text);
    if (res == NULL)
        return -1;
    plans__reply_json(call, PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * Upload files
 * ---------------------------------------------------------------------------------------------- */

/* A plan that is due to go in a file, and what the check found. */
typedef struct {
    uint64_t id;
    uint64_t person_id;
    const char *plan_type;
    const char *legal_status;
    const char *start_date;
    const char *end_date;
    const char *earlier_plan;               /* an open plan of the same kind begun before it: "id date" */
    const char *child_plan;                 /* an unborn plan's child's own open plan: "id", or "" */
    const Tsr__Records__NhsHolder *subject; /* whose details are sent: the child, or the mother */
    uint64_t key_worker_id;                 /* the child's, told of a fault on the record; 0 if none */
    int child_restricted;                   /* the child's record is restricted, or not known */
} plans_due_t;

/* A held-back entry names the child's plan, and also (for plans__show_held_back) the mother whose
 * record its reason quotes for an unborn child's plan, and whether either record is restricted. */
static void plans__hold_back(json_t *held, const plans_due_t *d, const char *nhs, const char *code,
                             const char *reason)
{
    const Tsr__Records__NhsHolder *s = d->subject;
    uint64_t subject = s && s->person_id != d->person_id ? s->person_id : 0;
    json_array_append_new(
        held, json_pack("{s:I, s:I, s:s, s:s, s:s, s:I, s:b, s:I}", "plan_id", (json_int_t)d->id, "person_id",
                        (json_int_t)d->person_id, "nhs_number", nhs ? nhs : "", "code", code, "reason",
                        reason, "key_worker_id", (json_int_t)d->key_worker_id, "restricted",
                        d->child_restricted || (s && s->restricted), "subject_id", (json_int_t)subject));
}

/* As plans__hold_back, with the title of the key worker's notice chosen for what is recorded (""
 * for none: nothing on the record is theirs to put right). */
static void plans__hold_back_telling(json_t *held, const plans_due_t *d, const char *nhs, const char *code,
                                     const char *reason, const char *notice)
{
    plans__hold_back(held, d, nhs, code, reason);
    json_object_set_new(json_array_get(held, json_array_size(held) - 1), "notice", json_string(notice));
}

/* Seed 001: system support report "any CP-IS errors in matching with NHS records to Social Workers
 * (e.g. mismatch of names and date of birth)". A plan held back for what the child's key worker
 * puts right on the record (the legal name or date of birth as the NHS holds them, the child's own
 * NHS number) is told to them once, when first held back: a notice with no personal data in its
 * title, linking to the record. What only system support can mend (an untraced number, an inactive
 * one, which has its own task) stays with the error queue. */
static int plans__tell_key_workers(plans_ctx_t *c, json_t *held_out, tsr_error_t *err)
{
    static const char *const for_the_key_worker[] = {"family_name_mismatch",
                                                     "given_name_mismatch",
                                                     "date_of_birth_mismatch",
                                                     "date_of_birth_missing",
                                                     "no_nhs_number",
                                                     "invalid_nhs_number",
                                                     "expected_delivery_date_passed",
                                                     "child_born",
                                                     "duplicate_plan",
                                                     NULL};
    size_t i;
    json_t *e;
    json_array_foreach(held_out, i, e)
    {
        const char *code = json_string_value(json_object_get(e, "code"));
        uint64_t worker = strtoull(json_string_value(json_object_get(e, "key_worker_id")), NULL, 10);
        const char *notice = json_string_value(json_object_get(e, "notice"));
        if (!json_is_true(json_object_get(e, "first")) || worker == 0 || code == NULL ||
            (notice != NULL && notice[0] == '\0'))
            continue;
        int theirs = 0;
        for (const char *const *k = for_the_key_worker; *k && !theirs; k++)
            theirs = strcmp(*k, code) == 0;
        if (!theirs)
            continue;
        char link[64], key[96];
        snprintf(link, sizeof(link), "/people/%s", json_string_value(json_object_get(e, "person_id")));
        snprintf(key, sizeof(key), "cpis-plan-held-back:%s",
                 json_string_value(json_object_get(e, "error_id")));
        uint64_t workers[1] = {worker};
        Tsr__Notifications__NoticeRequested ev = TSR__NOTIFICATIONS__NOTICE_REQUESTED__INIT;
        ev.worker_ids = workers;
        ev.n_worker_ids = 1;
        ev.kind = "cpis-plan-held-back";
        ev.title =
            notice != NULL ? (char *)notice
            : strcmp(code, "duplicate_plan") == 0
                ? "CP-IS: a child has two open plans of one kind: end the one recorded in error"
            : strcmp(code, "child_born") == 0 ? "CP-IS: a child's unborn child protection plan is not shared "
                                                "with the NHS since their birth: "
                                                "record their child protection plan"
            : strstr(code, "nhs_number")
                ? "CP-IS: a child's plan is not shared with the NHS until their NHS number is recorded"
                : "CP-IS: a child's plan is not shared with the NHS: their name or date of birth differs "
                  "from the NHS's";
        ev.link = link;
        ev.dedupe_key = key;
        /* By e-mail too (the title names no one): the plan stays unshared until they act. */
        ev.email = 1;
        if (tsr_outbox_append(c->conn, "cpis.notice.requested", c->actor, c->trace_id, &ev.base, err) != 0)
            return -1;
    }
    /* Who was told, and whether it was the first time, are not the file's business. */
    json_array_foreach(held_out, i, e)
    {
        json_object_del(e, "first");
        json_object_del(e, "key_worker_id");
        json_object_del(e, "notice");
    }
    return 0;
}

/* Judges one due plan: 0 and the NHS number to send it against, or -1 having held it back. */
static int plans__judge(plans_due_t *d, const plans_people_t *people, json_t *inactive, json_t *traced,
                        const char *today, json_t *held, char nhs_out[11])
{
    char reason[1200], code[48];
    const Tsr__Records__NhsHolder *child = plans__person(people, d->person_id);
    d->key_worker_id = child ? child->key_worker_id : 0;
    d->child_restricted = child == NULL || child->restricted;
    if (child == NULL) {
        snprintf(reason, sizeof(reason), "Person %" PRIu64 " has no record any more.", d->person_id);
        plans__hold_back(held, d, "", "no_record", reason);
        return -1;
    }
    d->subject = child;
    if (d->earlier_plan[0]) {
        /* Recording a plan refuses one over another of its kind, so two open at once come of two
         * records of the child merged (seed 002). The NHS is told of one: the one begun first. */
        char earlier_id[24] = "", earlier_start[16] = "";
        sscanf(d->earlier_plan, "%23s %15s", earlier_id, earlier_start);
        snprintf(reason, sizeof(reason),
                 "%s has two open plans of one kind (%s): plan %s, from %s, and plan %" PRIu64
                 ", from %s, as when two "
                 "records of one child are merged. Only plan %s is shared with the NHS: end the one "
                 "recorded in error.",
                 child->display_name, plans__type_title(d->plan_type), earlier_id, earlier_start, d->id,
                 d->start_date, earlier_id);
        plans__hold_back(held, d, "", "duplicate_plan", reason);
        return -1;
    }
    if (strcmp(d->plan_type, "unborn-child-protection-plan") == 0) {
        /* No information about the unborn child is sent: the plan is held against the mother. Once
         * the birth is recorded there is no unborn child to hold it for; its end is still told
         * against her number, so that the NHS learns it has ended. */
        if (!child->unborn && d->end_date[0] == '\0') {
            /* What is left to do, in order: the number (the birth may be recorded without it), the
             * child's own plan, then the unborn plan's end. */
            int numbered = child->own_nhs_number[0] != '\0', planned = d->child_plan[0] != '\0';
            char left[200];
            if (planned)
                snprintf(left, sizeof(left),
                         "The child's own plan is recorded (plan %s): end the unborn child protection plan.",
                         d->child_plan);
            else
                snprintf(
                    left, sizeof(left),
                    "%sRecord a child protection plan for the child, and end the unborn child protection "
                    "plan.",
                    numbered ? "" : "Record the child's own NHS number. ");
            snprintf(reason, sizeof(reason),
                     "%s's birth has been recorded: an unborn child protection plan is no longer shared "
                     "against the mother's NHS number. %s",
                     child->display_name, left);
            plans__hold_back_telling(
                held, d, "", "child_born", reason,
                planned    ? "CP-IS: a child's own plan is recorded: end their unborn child protection plan"
                : numbered ? "CP-IS: a child's unborn child protection plan is not shared with the NHS since "
                             "their birth: record their child protection plan"
                           : "CP-IS: a child's unborn child protection plan is not shared with the NHS since "
                             "their birth: record their own NHS number, then their child protection plan");
            return -1;
        }
        if (child->expected_delivery_date[0] && strcmp(today, child->expected_delivery_date) > 0) {
            /* The child's own plan cannot be recorded while the record is unborn (records refuses it
             * 'unborn'): the birth comes first, with the number if it is not recorded yet. */
            int numbered = child->own_nhs_number[0] != '\0';
            snprintf(reason, sizeof(reason),
                     "%s's expected date of delivery (%s) has passed: the plan can no longer be shared "
                     "against the mother's NHS number. %s then record a child protection plan for the child "
                     "and end the unborn child protection plan.",
                     child->display_name, child->expected_delivery_date,
                     numbered
                         ? "The child's own NHS number is recorded: record the birth (the child's name "
                           "and date of birth, on the child's record);"
                         : "Record the birth (the child's name, date of birth and own NHS number, on the "
                           "child's record);");
            plans__hold_back_telling(held, d, "", "expected_delivery_date_passed", reason,
                                     numbered
                                         ? "CP-IS: an unborn child's plan is not shared with the NHS since "
                                           "their expected date of delivery: record the birth (name and date "
                                           "of birth), then their child protection plan"
                                         : "CP-IS: an unborn child's plan is not shared with the NHS since "
                                           "their expected date of delivery: record the birth (name, date of "
                                           "birth and NHS number), then their child protection plan");
            return -1;
        }
        d->subject = child->mother_id ? plans__person(people, child->mother_id) : NULL;
        if (d->subject == NULL) {
            snprintf(reason, sizeof(reason),
                     "%s has no mother recorded, whose NHS number the plan is shared against.",
                     child->display_name);
            plans__hold_back(held, d, "", "no_mother", reason);
            return -1;
        }
    }
    const Tsr__Records__NhsHolder *s = d->subject;
    snprintf(nhs_out, 11, "%s", s->own_nhs_number);
    if (s->own_nhs_number[0] && json_object_get(inactive, s->own_nhs_number) != NULL) {
        snprintf(reason, sizeof(reason),
                 "NHS number %s was reported inactive by the national service on %s: uploads for %s stop "
                 "until a new number is recorded.",
                 s->own_nhs_number, json_string_value(json_object_get(inactive, s->own_nhs_number)),
                 s->display_name);
        plans__hold_back(held, d, s->own_nhs_number, "inactive_nhs_number", reason);
        return -1;
    }
    json_t *nhs = s->own_nhs_number[0] ? json_object_get(traced, s->own_nhs_number) : NULL;
    const char *given[10];
    size_t n_given = 0;
    json_t *names = json_object_get(nhs, "given_names");
    for (size_t i = 0; i < json_array_size(names) && n_given < 10; i++)
        given[n_given++] = json_string_value(json_array_get(names, i));
    demographic_nhs_t held_by_nhs = {json_string_value(json_object_get(nhs, "family_name")), given, n_given,
                                     json_string_value(json_object_get(nhs, "date_of_birth"))};
    demographic_record_t record = {s->own_nhs_number, s->family_name, s->given_name, s->date_of_birth};
    if (demographic_match_check(&record, nhs ? &held_by_nhs : NULL, code, reason, sizeof(reason)) < 0) {
        char whose[1400];
        snprintf(whose, sizeof(whose), "%s%s%s", s == child ? "" : "The mother's record: ", reason,
                 s == child ? "" : " (an unborn child's plan is shared against the mother's NHS number)");
        plans__hold_back(held, d, s->own_nhs_number, code, whose);
        return -1;
    }
    return 0;
}

/* A plan that passed its check, and the NHS number it would be sent against. */
typedef struct {
    const char *nhs;
    plans_due_t *d;
    int *passes;
} plans_sent_t;

static int plans__sent_order(const void *a, const void *b)
{
    const plans_sent_t *x = a, *y = b;
    int c = strcmp(x->nhs, y->nhs);
    if (c == 0)
        c = strcmp(x->d->plan_type, y->d->plan_type);
    if (c == 0)
        c = strcmp(x->d->start_date, y->d->start_date);
    return c != 0 ? c : (x->d->id > y->d->id) - (x->d->id < y->d->id);
}

/* Two open plans of one kind sent against one NHS number: the unborn child protection plans of a
 * mother's two unborn children (twins), both held against her number. The national service would
 * get two records of one plan (the same number, type and start); as for two plans of a kind on one
 * child (plans__judge), the one begun first is shared and the other held back as duplicate_plan. No
 * key worker is told: nothing on either record is wrong, and the other is shared once the first
 * ends. sent[i] is plan i's number, passes[i] whether it passed its check (cleared for those held). */
static int plans__hold_back_shared_numbers(plans_due_t *plans, int *passes, char (*sent)[11], int rows,
                                           const plans_people_t *people, json_t *held)
{
    plans_sent_t *open = calloc((size_t)rows + 1, sizeof(*open));
    if (open == NULL)
        return -1;
    size_t n = 0;
    for (int i = 0; i < rows; i++)
        if (passes[i] && plans[i].end_date[0] == '\0')
            open[n++] = (plans_sent_t){sent[i], &plans[i], &passes[i]};
    qsort(open, n, sizeof(*open), plans__sent_order);
    for (size_t k = 1, first = 0; k < n; k++) {
        if (strcmp(open[k].nhs, open[first].nhs) != 0 ||
            strcmp(open[k].d->plan_type, open[first].d->plan_type) != 0) {
            first = k;
            continue;
        }
        const plans_due_t *d = open[k].d, *f = open[first].d;
        const Tsr__Records__NhsHolder *child = plans__person(people, d->person_id);
        const Tsr__Records__NhsHolder *other = plans__person(people, f->person_id);
        int unborn = strcmp(d->plan_type, "unborn-child-protection-plan") == 0;
        char reason[1200];
        snprintf(reason, sizeof(reason),
                 "%s's %s (plan %" PRIu64 ", from %s) and %s's (plan %" PRIu64
                 ", from %s) are both open on NHS number %s%s, and the NHS holds one plan of a kind on a "
                 "number: only plan %" PRIu64 " is shared. This one is shared in its place once that one "
                 "ends%s.",
                 child ? child->display_name : "The child", plans__type_title(d->plan_type), d->id,
                 d->start_date, other ? other->display_name : "another child", f->id, f->start_date,
                 open[k].nhs, unborn ? " (the mother's, against which each unborn child's plan is held)" : "",
                 f->id, unborn ? "; if one unborn child was recorded twice, merge the two records" : "");
        plans__hold_back_telling(held, d, open[k].nhs, "duplicate_plan", reason, "");
        *open[k].passes = 0;
    }
    free(open);
    return 0;
}

/* number -> value of a two-column query over the numbers asked, as a JSON object. */
static json_t *plans__lookup(PGconn *conn, const char *sql, json_t *numbers, tsr_error_t *err)
{
    char *text = json_dumps(numbers, JSON_COMPACT);
    if (text == NULL) {
        plans__oom(err);
        return NULL;
    }
    const char *params[1] = {text};
    PGresult *res = tsr_db_exec(conn, sql, 1, params, err);
    free(text);
    if (res == NULL)
        return NULL;
    json_t *out = json_object();
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *v = json_loads(PQgetvalue(res, i, 1), JSON_DECODE_ANY, NULL);
        json_object_set_new(out, PQgetvalue(res, i, 0), v ? v : json_null());
    }
    PQclear(res);
    return out;
}

static json_t *plans__local_authority(void)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "name", plans_config.la_name, "ods_code", plans_config.ods_code,
                     "office_hours_telephone", plans_config.office_telephone, "emergency_duty_telephone",
                     plans_config.edt_telephone);
}

/* Makes the next upload file: every plan due (open, or ended with the end not yet loaded
 * nationally), each checked; the file and its records stored, the held-back ones in the error
 * queue (a plan that now passes has its earlier entries resolved). *summary says what was done;
 * its held_back entries are for plans__show_held_back to judge before anyone sees them. */
static int plans__export(plans_ctx_t *c, const char *trigger, json_t **summary, tsr_error_t *err)
{
    *summary = NULL;
    /* One file at a time: the sequence numbers go out in the order the files are made. */
    PGresult *res = tsr_db_exec(c->conn, "LOCK TABLE uploads IN SHARE ROW EXCLUSIVE MODE", 0, NULL, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    PGresult *due =
        tsr_db_exec(c->conn,
                    "SELECT id, person_id, plan_type, coalesce(legal_status, ''), start_date::text,"
                    " coalesce(end_date::text, ''), office_today()::text,"
                    " coalesce((SELECT o.id || ' ' || o.start_date FROM plans o"
                    "   WHERE plans.end_date IS NULL AND o.end_date IS NULL AND o.person_id = plans.person_id"
                    "   AND o.plan_type = plans.plan_type AND o.start_date <= office_today()"
                    "   AND (o.start_date, o.id) < (plans.start_date, plans.id)"
                    "   ORDER BY o.start_date, o.id LIMIT 1), ''),"
                    /* An unborn plan's child's own plan, recorded once the birth is. */
                    " CASE WHEN plan_type = 'unborn-child-protection-plan' THEN coalesce((SELECT o.id::text"
                    "   FROM plans o WHERE o.person_id = plans.person_id"
                    "   AND o.plan_type <> 'unborn-child-protection-plan' AND o.end_date IS NULL"
                    "   ORDER BY o.start_date, o.id LIMIT 1), '') ELSE '' END FROM plans"
                    " WHERE start_date <= office_today() AND (end_date IS NULL OR (NOT end_loaded"
                    /* An ended plan never sent needs no end told. */
                    "   AND EXISTS (SELECT 1 FROM upload_records r WHERE r.plan_id = plans.id)))"
                    " ORDER BY id",
                    0, NULL, err);
    if (due == NULL)
        return -1;
    int rows = PQntuples(due);
    plans_due_t *plans = calloc((size_t)rows + 1, sizeof(*plans));
    uint64_t *ids = calloc((size_t)rows + 1, sizeof(*ids));
    int *passes = calloc((size_t)rows + 1, sizeof(*passes));
    char(*sent)[11] = calloc((size_t)rows + 1, sizeof(*sent));
    plans_people_t people = {0};
    json_t *held = json_array(), *records = json_array(), *stored = json_array(), *audit = json_array();
    json_t *numbers = json_array(), *inactive = NULL, *traced = NULL, *file = NULL;
    char *file_text = NULL, *records_text = NULL, *held_text = NULL;
    int rc = -1;
    if (plans == NULL || ids == NULL || passes == NULL || sent == NULL) {
        plans__oom(err);
        goto done;
    }
    for (int i = 0; i < rows; i++) {
        plans[i] = (plans_due_t){strtoull(PQgetvalue(due, i, 0), NULL, 10),
                                 strtoull(PQgetvalue(due, i, 1), NULL, 10),
                                 PQgetvalue(due, i, 2),
                                 PQgetvalue(due, i, 3),
                                 PQgetvalue(due, i, 4),
                                 PQgetvalue(due, i, 5),
                                 PQgetvalue(due, i, 7),
                                 PQgetvalue(due, i, 8),
                                 NULL,
                                 0,
                                 1};
        ids[i] = plans[i].person_id;
    }
    if (rows > 0 && plans__ask_people(c, ids, (size_t)rows, &people, err) != 0)
        goto done;
    for (size_t i = 0; i < people.n; i++)
        if (people.items[i]->own_nhs_number[0])
            json_array_append_new(numbers, json_string(people.items[i]->own_nhs_number));
    inactive = plans__lookup(c->conn,
                             "SELECT nhs_number, to_json(marked_at::date)::text FROM inactive_numbers"
                             " WHERE nhs_number IN (SELECT json_array_elements_text($1::json))",
                             numbers, err);
    traced =
        inactive
            ? plans__lookup(c->conn,
                            "SELECT nhs_number, json_build_object('family_name', family_name, 'given_names',"
                            " given_names, 'date_of_birth', date_of_birth)::text FROM nhs_demographics"
                            " WHERE nhs_number IN (SELECT json_array_elements_text($1::json))",
                            numbers, err)
            : NULL;
    if (traced == NULL)
        goto done;
    const char *today = rows > 0 ? PQgetvalue(due, 0, 6) : "";
    res = tsr_db_exec(c->conn,
                      "SELECT nextval('upload_sequence'),"
                      " to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
                      0, NULL, err);
    if (res == NULL)
        goto done;
    uint64_t seq = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    char created[32];
    snprintf(created, sizeof(created), "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    for (int i = 0; i < rows; i++)
        passes[i] = plans__judge(&plans[i], &people, inactive, traced, today, held, sent[i]) == 0;
    if (plans__hold_back_shared_numbers(plans, passes, sent, rows, &people, held) != 0) {
        plans__oom(err);
        goto done;
    }
    for (int i = 0; i < rows; i++) {
        if (!passes[i])
            continue;
        const char *nhs = sent[i];
        plans_due_t *d = &plans[i];
        size_t number = json_array_size(records) + 1;
        json_t *rec =
            json_pack("{s:I, s:s, s:s, s:s?, s:s, s:s?, s:o}", "record_number", (json_int_t)number,
                      "nhs_number", nhs, "plan_type", d->plan_type, "legal_status",
                      d->legal_status[0] ? d->legal_status : NULL, "start_date", d->start_date, "end_date",
                      d->end_date[0] ? d->end_date : NULL, "local_authority", plans__local_authority());
        json_array_append_new(records, rec);
        json_array_append_new(stored,
                              json_pack("{s:I, s:I, s:I, s:s, s:s?}", "record_number", (json_int_t)number,
                                        "plan_id", (json_int_t)d->id, "person_id", (json_int_t)d->person_id,
                                        "nhs_number", nhs, "end_date", d->end_date[0] ? d->end_date : NULL));
        cpis_audit_add(audit, d->person_id,
                       "%s (plan %" PRIu64 ") shared with the NHS in CP-IS file %" PRIu64,
                       plans__type_title(d->plan_type), d->id, seq);
    }
    file = json_pack("{s:{s:I, s:s, s:I, s:s, s:o}, s:O}", "header", "file_sequence_number", (json_int_t)seq,
                     "created_at", created, "record_count", (json_int_t)json_array_size(records),
                     "client_version", PLANS_FILE_VERSION, "local_authority", plans__local_authority(),
                     "records", records);
    file_text = file ? json_dumps(file, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
    records_text = json_dumps(stored, JSON_COMPACT);
    held_text = json_dumps(held, JSON_COMPACT);
    if (file_text == NULL || records_text == NULL || held_text == NULL) {
        plans__oom(err);
        goto done;
    }
    char seq_text[24], by[24], count[16], held_count[16];
    snprintf(seq_text, sizeof(seq_text), "%" PRIu64, seq);
    snprintf(by, sizeof(by), "%" PRIu64, c->actor->worker_id);
    snprintf(count, sizeof(count), "%zu", json_array_size(records));
    snprintf(held_count, sizeof(held_count), "%zu", json_array_size(held));
    const char *up[7] = {seq_text, created, trigger, by, count, held_count, file_text};
    res = tsr_db_exec(
        c->conn,
        "INSERT INTO uploads (file_sequence_number, created_at, trigger, requested_by, record_count,"
        " held_back, file) VALUES ($1::bigint, $2::timestamptz, $3, $4::bigint, $5::int, $6::int, $7)",
        7, up, err);
    if (res == NULL)
        goto done;
    PQclear(res);
    const char *recs[2] = {seq_text, records_text};
    res = tsr_db_exec(c->conn,
                      "INSERT INTO upload_records (file_sequence_number, record_number, plan_id, person_id,"
                      " nhs_number, end_date) SELECT $1::bigint, r.record_number, r.plan_id, r.person_id,"
                      " r.nhs_number, r.end_date FROM json_to_recordset($2::json) AS r(record_number int,"
                      " plan_id bigint, person_id bigint, nhs_number text, end_date date)",
                      2, recs, err);
    if (res == NULL)
        goto done;
    PQclear(res);
    /* The held-back plans in the error queue (a repeat counts up its open entry); every other open
     * entry of the check resolved: its plan now passes, fails for another reason, or is no longer
     * due (ended and loaded), as every due plan was judged just now. */
    const char *errs[1] = {held_text};
    res = tsr_db_exec(
        c->conn,
        "WITH f AS (SELECT * FROM json_to_recordset($1::json) AS f(plan_id bigint, person_id bigint,"
        "   nhs_number text, code text, reason text, key_worker_id bigint, restricted boolean,"
        "   subject_id bigint, notice text)),"
        " settled AS (UPDATE errors e SET resolved_at = now() WHERE e.source = 'plan-export'"
        "   AND e.resolved_at IS NULL"
        "   AND NOT EXISTS (SELECT 1 FROM f WHERE f.plan_id = e.plan_id AND f.code = e.code)),"
        " ins AS (INSERT INTO errors (notification_id, nhs_number, code, reason, source, plan_id, person_id)"
        "   SELECT '', f.nhs_number, f.code, f.reason, 'plan-export', f.plan_id, f.person_id FROM f"
        "   ON CONFLICT (plan_id, code) WHERE source = 'plan-export' AND resolved_at IS NULL DO UPDATE SET"
        "   reason = EXCLUDED.reason, nhs_number = EXCLUDED.nhs_number, last_received_at = now(),"
        /* xmax = 0: the entry was made now (first held back), not counted up. */
        "   times_received = errors.times_received + 1 RETURNING plan_id, code, id, xmax = 0 AS first)"
        " SELECT coalesce(json_agg(json_build_object('plan_id', f.plan_id::text, 'person_id', "
        "f.person_id::text,"
        "   'nhs_number', f.nhs_number, 'code', f.code, 'reason', f.reason, 'error_id', ins.id::text,"
        "   'first', ins.first, 'key_worker_id', f.key_worker_id::text, 'restricted', f.restricted,"
        "   'subject_id', f.subject_id::text, 'notice', f.notice)"
        "   ORDER BY f.plan_id), '[]') FROM f JOIN ins USING (plan_id, code)",
        1, errs, err);
    if (res == NULL)
        goto done;
    json_t *held_out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    if (plans__tell_key_workers(c, held_out, err) != 0 || plans__tell_audit(c, "shared", audit, err) != 0) {
        json_decref(held_out);
        goto done;
    }
    *summary = json_pack(
        "{s:s, s:s, s:s, s:I, s:I, s:o, s:O}", "file_sequence_number", seq_text, "created_at", created,
        "trigger", trigger, "record_count", (json_int_t)json_array_size(records), "held_back_count",
        (json_int_t)json_array_size(held), "held_back", held_out ? held_out : json_array(), "file", file);
    rc = *summary ? 0 : plans__oom(err);
done:
    PQclear(due);
    free(plans);
    free(ids);
    free(passes);
    free(sent);
    plans__people_free(&people);
    json_decref(held);
    json_decref(records);
    json_decref(stored);
    json_decref(audit);
    json_decref(numbers);
    json_decref(inactive);
    json_decref(traced);
    json_decref(file);
    free(file_text);
    free(records_text);
    free(held_text);
    return rc;
}

static uint64_t plans__json_id(const json_t *obj, const char *key)
{
    const char *text = json_string_value(json_object_get(obj, key));
    return text ? strtoull(text, NULL, 10) : 0;
}

/* The plans an upload held back, as the caller who made it sees them: one about a child whose
 * record the caller cannot open (or, for an unborn child's plan, the mother's, whose record its
 * reason quotes) by its ids only, marked restricted, as the plan list shows it; records is asked
 * once for them all. Each shown in full is an access to the child's record, told to the audit trail
 * as the plan list's are. The file itself carries every plan that passed, restricted or not: the
 * NHS must know of every child. */
static int plans__show_held_back(plans_ctx_t *c, json_t *held, const char *seq, tsr_error_t *err)
{
    size_t n = json_array_size(held), i, asked = 0;
    uint64_t *people = calloc(2 * n + 1, sizeof(*people));
    json_t *e;
    json_array_foreach(held, i, e)
    {
        if (people == NULL)
            break;
        people[asked++] = plans__json_id(e, "person_id");
        if (plans__json_id(e, "subject_id") != 0)
            people[asked++] = plans__json_id(e, "subject_id");
    }
    plans_access_t access;
    plans__ask_access(c, people, asked, &access);
    free(people);
    static const char *const held_ids[] = {"plan_id", "person_id", "error_id", NULL};
    json_t *audit = json_array();
    json_array_foreach(held, i, e)
    {
        uint64_t person = plans__json_id(e, "person_id"), subject = plans__json_id(e, "subject_id");
        int known_unrestricted = json_is_false(json_object_get(e, "restricted"));
        json_object_del(e, "restricted");
        json_object_del(e, "subject_id");
        if (plans__opens(&access, person, known_unrestricted) &&
            (subject == 0 || plans__opens(&access, subject, known_unrestricted)))
            cpis_audit_add(audit, person, "CP-IS plan %s held back from upload file %s (%s) viewed",
                           json_string_value(json_object_get(e, "plan_id")), seq,
                           json_string_value(json_object_get(e, "code")));
        else
            plans__restrict_item(e, held_ids);
    }
    plans__access_free(&access);
    int rc = plans__tell_audit(c, "listed", audit, err);
    json_decref(audit);
    return rc;
}

int cpis_uploads_create(tsr_call_t *call, tsr_error_t *err)
{
    if (tsr_actor_require_role(call->actor, upload_makers, "make a CP-IS upload file", err) != 0)
        return -1;
    plans_ctx_t c = plans__ctx(call);
    json_t *summary;
    if (plans__export(&c, "on-demand", &summary, err) != 0)
        return -1;
    if (plans__show_held_back(&c, json_object_get(summary, "held_back"),
                              json_string_value(json_object_get(summary, "file_sequence_number")),
                              err) != 0) {
        json_decref(summary);
        return -1;
    }
    return plans__reply_value(call, summary, err);
}

static const char *const upload_renumberers[] = {"admin", "system", NULL};

int cpis_uploads_renumber(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Cpis__UploadRenumber *in = (const Tsr__Cpis__UploadRenumber *)call->payload;
    if (tsr_actor_require_role(call->actor, upload_renumberers, "renumber the CP-IS upload files", err) != 0)
        return -1;
    if (in->next_file_sequence_number == 0 || in->next_file_sequence_number > INT64_MAX)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_value", "next_file_sequence_number",
                             "The next file sequence number must be a whole number from 1 to %" PRId64 ".",
                             INT64_MAX);
    /* As a file being made takes it: no file gets a number between the check and the change. */
    PGresult *res = tsr_db_exec(call->conn, "LOCK TABLE uploads IN SHARE ROW EXCLUSIVE MODE", 0, NULL, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    res = tsr_db_exec(call->conn,
                      "SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END,"
                      " coalesce((SELECT max(file_sequence_number) FROM uploads), 0) FROM upload_sequence",
                      0, NULL, err);
    if (res == NULL)
        return -1;
    uint64_t next = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    uint64_t last = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    uint64_t wanted = in->next_file_sequence_number;
    if (wanted <= last)
        return tsr_error_set(err, TSR_E_CONFLICT, "file_number_used", "next_file_sequence_number",
                             "File %" PRIu64 " has been made already (the last was %" PRIu64
                             "): the next file's number must be above it.",
                             wanted, last);
    if (wanted < next)
        return tsr_error_set(err, TSR_E_CONFLICT, "file_number_given", "next_file_sequence_number",
                             "The next file is number %" PRIu64 " already: its number is only ever moved on, "
                             "never back.",
                             next);
    char text[24];
    snprintf(text, sizeof(text), "%" PRIu64, wanted);
    res = tsr_db_exec(call->conn, "SELECT setval('upload_sequence', $1::bigint, false)", 1,
                      (const char *const[]){text}, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    tsr_log_info(call->trace_id,
                 "the next CP-IS upload file is number %" PRIu64 " (it was %" PRIu64 "), set by %s", wanted,
                 next, call->actor->username);
    return plans__reply_value(call,
                              json_pack("{s:s, s:I, s:I}", "next_file_sequence_number", text, "was",
                                        (json_int_t)next, "last_made", (json_int_t)last),
                              err);
}

int cpis_uploads_list(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Cpis__UploadQuery *q = (const Tsr__Cpis__UploadQuery *)call->payload;
    if (tsr_actor_require_role(call->actor, upload_makers, "list the CP-IS upload files", err) != 0)
        return -1;
    tsr_text_page_t page;
    if (tsr_text_page(q->limit, q->cursor, PLANS_PAGE_DEFAULT, PLANS_PAGE_MAX, &page, err) != 0)
        return -1;
    uint32_t limit = page.limit;
    const char *params[2] = {page.before_text, page.fetch_text};
    PGresult *res = tsr_db_exec(
        call->conn,
        "SELECT u.file_sequence_number, json_build_object('file_sequence_number', "
        "u.file_sequence_number::text,"
        " 'created_at', u.created_at, 'trigger', u.trigger, 'record_count', u.record_count, "
        "'held_back_count',"
        " u.held_back, 'written_at', u.written_at, 'response_status', u.response_status, 'response_at',"
        " u.response_at, 'records_loaded', (SELECT count(*) FROM upload_records r"
        "   WHERE r.file_sequence_number = u.file_sequence_number AND r.response_code = 'CPR06'))"
        " FROM uploads u WHERE ($1::bigint IS NULL OR u.file_sequence_number < $1::bigint)"
        " ORDER BY u.file_sequence_number DESC LIMIT $2::int",
        2, params, err);
    if (res == NULL)
        return -1;
    int rows = PQntuples(res);
    int shown = rows > (int)limit ? (int)limit : rows;
    json_t *items = json_array();
    for (int i = 0; i < shown; i++)
        json_array_append_new(items, json_loads(PQgetvalue(res, i, 1), 0, NULL));
    char next[24] = "";
    if (rows > (int)limit)
        snprintf(next, sizeof(next), "%s", PQgetvalue(res, shown - 1, 0));
    PQclear(res);
    return plans__reply_value(
        call, json_pack("{s:o, s:s?}", "items", items, "next_cursor", next[0] ? next : NULL), err);
}

int cpis_uploads_get(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Cpis__UploadGet *in = (const Tsr__Cpis__UploadGet *)call->payload;
    if (tsr_actor_require_role(call->actor, upload_makers, "read a CP-IS upload file", err) != 0)
        return -1;
    char seq[24];
    snprintf(seq, sizeof(seq), "%" PRIu64, in->file_sequence_number);
    const char *params[1] = {seq};
    PGresult *res = tsr_db_exec(
        call->conn, "SELECT file FROM uploads WHERE file_sequence_number = $1::bigint", 1, params, err);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", "file_sequence_number",
                             "There is no CP-IS upload file %s.", seq);
    }
    PGresult *who =
        tsr_db_exec(call->conn,
                    "SELECT person_id, plan_id FROM upload_records WHERE file_sequence_number = $1::bigint"
                    " ORDER BY record_number",
                    1, params, err);
    if (who == NULL) {
        PQclear(res);
        return -1;
    }
    json_t *audit = json_array();
    for (int i = 0; i < PQntuples(who); i++)
        cpis_audit_add(audit, strtoull(PQgetvalue(who, i, 0), NULL, 10),
                       "CP-IS plan %s read in upload file %s", PQgetvalue(who, i, 1), seq);
    PQclear(who);
    plans_ctx_t c = plans__ctx(call);
    int rc = plans__tell_audit(&c, "listed", audit, err);
    json_decref(audit);
    if (rc == 0)
        plans__reply_json(call, PQgetvalue(res, 0, 0));
    PQclear(res);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * The national service's response
 * ---------------------------------------------------------------------------------------------- */

static int plans__code(const char *code, const char *prefix)
{
    for (size_t i = 0; code && i < RESPONSE_CODES; i++)
        if (strncmp(response_codes[i].code, prefix, 3) == 0 && strcmp(response_codes[i].code, code) == 0)
            return (int)i;
    return -1;
}

int cpis_uploads_response(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Cpis__ResponseRead *in = (const Tsr__Cpis__ResponseRead *)call->payload;
    if (tsr_actor_require_role(call->actor, response_readers, "read back a CP-IS response", err) != 0)
        return -1;
    const char *text = in->response_json ? in->response_json : "";
    json_t *body = tsr_json_load(text, strlen(text), "The response", err);
    json_t *failures = json_array(), *updates = json_array(), *seen = json_object();
    PGresult *recs = NULL;
    int rc = -1;
    if (body == NULL)
        goto done;
    if (!json_is_object(body)) {
        tsr_error_set(err, TSR_E_INVALID, "invalid_json", NULL, "The response is not a JSON object.");
        goto done;
    }
    const char *key;
    json_t *value;
    json_object_foreach(body, key, value)
    {
        if (strcmp(key, "file_sequence_number") != 0 && strcmp(key, "status") != 0 &&
            strcmp(key, "records") != 0) {
            tsr_error_set(
                err, TSR_E_INVALID, "unknown_field", key,
                "The response has a field '%.40s' that is not file_sequence_number, status or records.", key);
            goto done;
        }
    }
    json_t *seq_value = json_object_get(body, "file_sequence_number");
    char seq[24];
    snprintf(seq, sizeof(seq), "%" PRIu64, in->file_sequence_number);
    if (seq_value != NULL) {
        const char *given = json_string_value(seq_value);
        char number[24] = "";
        if (json_is_integer(seq_value))
            snprintf(number, sizeof(number), "%" JSON_INTEGER_FORMAT, json_integer_value(seq_value));
        else if (given)
            snprintf(number, sizeof(number), "%.20s", given);
        if (strcmp(number, seq) != 0) {
            tsr_error_set(err, TSR_E_INVALID, "invalid_value", "file_sequence_number",
                          "The response is for file %s, not file %s.", number[0] ? number : "(not a number)",
                          seq);
            goto done;
        }
    }
    const char *status = json_string_value(json_object_get(body, "status"));
    int file_code = plans__code(status, "CPF");
    if (file_code < 0) {
        tsr_error_set(err, TSR_E_INVALID, status ? "invalid_value" : "missing_field", "status",
                      "status must be a file response code, CPF01 to CPF06.");
        goto done;
    }
    json_t *list = json_object_get(body, "records");
    if (list != NULL && !json_is_array(list)) {
        tsr_error_set(err, TSR_E_INVALID, "invalid_value", "records", "records must be a list.");
        goto done;
    }
    const char *params[1] = {seq};
    PGresult *up = tsr_db_exec(
        call->conn,
        "SELECT coalesce(response_status, '') FROM uploads WHERE file_sequence_number = $1::bigint"
        " FOR UPDATE",
        1, params, err);
    if (up == NULL)
        goto done;
    if (PQntuples(up) == 0 || PQgetvalue(up, 0, 0)[0]) {
        if (PQntuples(up) == 0)
            tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", "file_sequence_number",
                          "There is no CP-IS upload file %s.", seq);
        else
            tsr_error_set(err, TSR_E_CONFLICT, "already_read", "file_sequence_number",
                          "The response to file %s was already read (%s).", seq, PQgetvalue(up, 0, 0));
        PQclear(up);
        goto done;
    }
    PQclear(up);
    recs = tsr_db_exec(call->conn,
                       "SELECT record_number, plan_id, person_id, nhs_number FROM upload_records"
                       " WHERE file_sequence_number = $1::bigint ORDER BY record_number",
                       1, params, err);
    if (recs == NULL)
        goto done;
    int n_recs = PQntuples(recs);
    size_t loaded = 0;
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *r = json_array_get(list, i);
        char where[48];
        snprintf(where, sizeof(where), "records[%zu]", i);
        json_t *num = json_object_get(r, "record_number");
        const char *nhs = json_string_value(json_object_get(r, "nhs_number"));
        const char *code = json_string_value(json_object_get(r, "status"));
        if (!json_is_object(r) || !json_is_integer(num) || nhs == NULL || code == NULL) {
            tsr_error_set(err, TSR_E_INVALID, "invalid_value", where,
                          "%s must be an object with record_number, nhs_number and status.", where);
            goto done;
        }
        json_object_foreach(r, key, value)
        {
            if (strcmp(key, "record_number") != 0 && strcmp(key, "nhs_number") != 0 &&
                strcmp(key, "status") != 0) {
                tsr_error_set(err, TSR_E_INVALID, "unknown_field", where,
                              "%s (record %" JSON_INTEGER_FORMAT
                              ") has a field '%.40s' that is not record_number, nhs_number or status.",
                              where, json_integer_value(num), key);
                goto done;
            }
        }
        json_int_t n = json_integer_value(num);
        if (n < 1 || n > n_recs) {
            tsr_error_set(err, TSR_E_INVALID, "invalid_value", where,
                          "%s: file %s has no record %" JSON_INTEGER_FORMAT " (it has %d).", where, seq, n,
                          n_recs);
            goto done;
        }
        char digits[11];
        tsr_error_t nerr;
        const char *ours = PQgetvalue(recs, (int)n - 1, 3);
        /* Compared whole: a number with more digits than ours, or another check digit, is not ours. */
        if (tsr_nhs_number_normalise(nhs, digits, "nhs_number", &nerr) != 0) {
            tsr_error_set(err, TSR_E_INVALID, "invalid_nhs_number", where,
                          "%s: the nhs_number of record %" JSON_INTEGER_FORMAT
                          " is not a valid NHS number: %s",
                          where, n, nerr.message);
            goto done;
        }
        if (strcmp(digits, ours) != 0) {
            tsr_error_set(err, TSR_E_INVALID, "invalid_value", where,
                          "%s: record %" JSON_INTEGER_FORMAT " of file %s is about NHS number %s, not %.20s.",
                          where, n, seq, ours, nhs);
            goto done;
        }
        int rcode = plans__code(code, "CPR");
        if (rcode < 0) {
            tsr_error_set(err, TSR_E_INVALID, "invalid_value", where,
                          "%s: status '%.20s' is not a record response code, CPR01 to CPR07.", where, code);
            goto done;
        }
        char nkey[16];
        snprintf(nkey, sizeof(nkey), "%" JSON_INTEGER_FORMAT, n);
        if (json_object_get(seen, nkey) != NULL) {
            tsr_error_set(err, TSR_E_INVALID, "invalid_value", where,
                          "%s: record %" JSON_INTEGER_FORMAT " is answered twice.", where, n);
            goto done;
        }
        if (response_codes[rcode].failed && !response_codes[file_code].failed) {
            tsr_error_set(
                err, TSR_E_INVALID, "invalid_value", where,
                "%s: status %s says every record of file %s was loaded, but record %" JSON_INTEGER_FORMAT
                " is answered %s.",
                where, status, seq, n, code);
            goto done;
        }
        json_object_set_new(seen, nkey, json_true());
        json_array_append_new(updates, json_pack("{s:I, s:s}", "record_number", n, "code", code));
        if (!response_codes[rcode].failed) {
            loaded++;
            continue;
        }
        char reason[600];
        snprintf(reason, sizeof(reason),
                 "%s: %s (record %" JSON_INTEGER_FORMAT " of file %s, plan %s, NHS number %s)", code,
                 response_codes[rcode].meaning, n, seq, PQgetvalue(recs, (int)n - 1, 1), ours);
        json_array_append_new(failures,
                              json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "code", code, "reason", reason,
                                        "record_number", n, "plan_id", PQgetvalue(recs, (int)n - 1, 1),
                                        "person_id", PQgetvalue(recs, (int)n - 1, 2), "nhs_number", ours));
    }
    /* The records the response does not list. CPF02 says every record of the file was loaded, so each
     * is (an ended plan's end among them, which otherwise went out in every file). Under CPF03 each
     * record has its own answer: one without is not known to be loaded, and system support is told. */
    int all_loaded = !response_codes[file_code].failed, partly = strcmp(status, "CPF03") == 0;
    for (int k = 1; (all_loaded || partly) && k <= n_recs; k++) {
        char nkey[16];
        snprintf(nkey, sizeof(nkey), "%d", k);
        if (json_object_get(seen, nkey) != NULL)
            continue;
        if (all_loaded) {
            json_array_append_new(updates, json_pack("{s:i, s:s}", "record_number", k, "code", "CPR06"));
            loaded++;
            continue;
        }
        char reason[600];
        snprintf(reason, sizeof(reason),
                 "Not answered: the national service's response to file %s (%s, partially loaded) has no "
                 "response for record %d (plan %s, NHS number %s), so whether it was loaded is not known. "
                 "The plan goes again in the next file while it is open or its end is not loaded; ask the "
                 "national service if it does not show on the Spine.",
                 seq, status, k, PQgetvalue(recs, k - 1, 1), PQgetvalue(recs, k - 1, 3));
        json_array_append_new(
            failures, json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "code", "not_answered", "reason", reason,
                                "record_number", k, "plan_id", PQgetvalue(recs, k - 1, 1), "person_id",
                                PQgetvalue(recs, k - 1, 2), "nhs_number", PQgetvalue(recs, k - 1, 3)));
    }
    if (response_codes[file_code].failed) {
        char reason[600];
        snprintf(reason, sizeof(reason), "%s: %s (file %s)", status, response_codes[file_code].meaning, seq);
        json_array_append_new(failures,
                              json_pack("{s:s, s:s, s:n, s:n, s:n, s:s}", "code", status, "reason", reason,
                                        "record_number", "plan_id", "person_id", "nhs_number", ""));
    }
    char *updates_text = json_dumps(updates, JSON_COMPACT),
         *failures_text = json_dumps(failures, JSON_COMPACT);
    const char *apply[4] = {seq, status, updates_text, failures_text};
    /* The file's status; each record's; an ended plan whose end is now loaded stops being sent; the
     * failures in the error queue. */
    PGresult *res = tsr_db_exec(
        call->conn,
        "WITH u AS (UPDATE uploads SET response_status = $2, response_at = now()"
        "   WHERE file_sequence_number = $1::bigint),"
        " r AS (UPDATE upload_records ur SET response_code = x.code FROM json_to_recordset($3::json)"
        "   AS x(record_number int, code text) WHERE ur.file_sequence_number = $1::bigint"
        "   AND ur.record_number = x.record_number RETURNING ur.plan_id, ur.end_date, x.code),"
        " p AS (UPDATE plans SET end_loaded = true FROM r WHERE plans.id = r.plan_id AND r.code = 'CPR06'"
        "   AND r.end_date IS NOT NULL AND plans.end_date = r.end_date),"
        " e AS (INSERT INTO errors (notification_id, nhs_number, code, reason, source, plan_id, person_id,"
        "   file_sequence_number, record_number) SELECT '', f.nhs_number, f.code, f.reason, 'response',"
        "   f.plan_id, f.person_id, $1::bigint, f.record_number FROM json_to_recordset($4::json)"
        "   AS f(code text, reason text, record_number int, plan_id bigint, person_id bigint, nhs_number "
        "text)"
        "   RETURNING id, code, reason, record_number, plan_id, person_id)"
        " SELECT coalesce(json_agg(json_build_object('error_id', id::text, 'code', code, 'reason', reason,"
        "   'record_number', record_number, 'plan_id', plan_id::text, 'person_id', person_id::text)"
        "   ORDER BY record_number NULLS FIRST), '[]') FROM e",
        4, apply, err);
    free(updates_text);
    free(failures_text);
    if (res == NULL)
        goto done;
    json_t *errors = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    rc = plans__reply_value(call,
                            json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:o}", "file_sequence_number", seq,
                                      "status", status, "status_meaning", response_codes[file_code].meaning,
                                      "records_answered", (json_int_t)json_array_size(updates),
                                      "records_loaded", (json_int_t)loaded, "records_failed",
                                      (json_int_t)(json_array_size(updates) - loaded), "errors",
                                      errors ? errors : json_array()),
                            err);
done:
    PQclear(recs);
    json_decref(body);
    json_decref(failures);
    json_decref(updates);
    json_decref(seen);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * The schedule
 * ---------------------------------------------------------------------------------------------- */

static int plans__scheduled_export(PGconn *conn, void *arg, tsr_error_t *err)
{
    Tsr__Actor system;
    plans__system(&system);
    plans_ctx_t c = {(tsr_daemon_t *)arg, conn, &system, NULL, 0};
    json_t *summary;
    if (plans__export(&c, "schedule", &summary, err) != 0)
        return -1;
    tsr_log_info(NULL,
                 "CP-IS upload file %s made: %" JSON_INTEGER_FORMAT " records, %" JSON_INTEGER_FORMAT
                 " held back",
                 json_string_value(json_object_get(summary, "file_sequence_number")),
                 json_integer_value(json_object_get(summary, "record_count")),
                 json_integer_value(json_object_get(summary, "held_back_count")));
    json_decref(summary);
    return 0;
}

/* Writes the files made since the last run to cpis.upload_dir, each whole (written aside, then
 * renamed), for the Spine connection to send. A file is marked written in the same transaction: a
 * run that fails to commit writes the same file again, under the same name, next time. */
static int plans__write_files(PGconn *conn, void *arg, tsr_error_t *err)
{
    (void)arg;
    PGresult *res = tsr_db_exec(conn,
                                "SELECT file_sequence_number, file FROM uploads WHERE written_at IS NULL"
                                " ORDER BY file_sequence_number LIMIT 20 FOR UPDATE SKIP LOCKED",
                                0, NULL, err);
    if (res == NULL)
        return -1;
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        char path[1024], tmp[1100];
        snprintf(path, sizeof(path), "%s/CPIS-%s-%06llu.json", plans_config.upload_dir, plans_config.ods_code,
                 strtoull(PQgetvalue(res, i, 0), NULL, 10));
        snprintf(tmp, sizeof(tmp), "%s.part", path);
        FILE *f = fopen(tmp, "w");
        size_t len = (size_t)PQgetlength(res, i, 1);
        int ok = f != NULL && fwrite(PQgetvalue(res, i, 1), 1, len, f) == len;
        ok = f != NULL && fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
        if (f != NULL && fclose(f) != 0)
            ok = 0;
        if (!ok || rename(tmp, path) != 0) {
            rc = tsr_error_set(err, TSR_E_INTERNAL, "write_failed", "cpis.upload_dir",
                               "Could not write %s: %s.", path, strerror(errno));
            break;
        }
        const char *params[1] = {PQgetvalue(res, i, 0)};
        PGresult *done =
            tsr_db_exec(conn, "UPDATE uploads SET written_at = now() WHERE file_sequence_number = $1::bigint",
                        1, params, err);
        if (done == NULL)
            rc = -1;
        PQclear(done);
    }
    PQclear(res);
    return rc;
}

/* Removes from cpis.upload_dir the files the national service answered more than
 * cpis.upload_keep_days ago: by then the Spine connection has long sent them, and a file there is only
 * a second copy of children's NHS numbers (this schema keeps each byte for byte). A file never
 * answered stays for a person to look into; one already gone (taken by the Spine connection) is
 * simply marked. */
static int plans__remove_answered_files(PGconn *conn, void *arg, tsr_error_t *err)
{
    (void)arg;
    char days[24];
    snprintf(days, sizeof(days), "%ld", plans_config.upload_keep_days);
    const char *params[1] = {days};
    PGresult *res = tsr_db_exec(conn,
                                "SELECT file_sequence_number FROM uploads WHERE written_at IS NOT NULL"
                                " AND file_removed_at IS NULL AND response_at < now() - make_interval(days =>"
                                " $1::int) ORDER BY file_sequence_number LIMIT 100 FOR UPDATE SKIP LOCKED",
                                1, params, err);
    if (res == NULL)
        return -1;
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/CPIS-%s-%06llu.json", plans_config.upload_dir, plans_config.ods_code,
                 strtoull(PQgetvalue(res, i, 0), NULL, 10));
        if (unlink(path) != 0 && errno != ENOENT) {
            rc = tsr_error_set(err, TSR_E_INTERNAL, "remove_failed", "cpis.upload_dir",
                               "Could not remove %s: %s.", path, strerror(errno));
            break;
        }
        const char *done_params[1] = {PQgetvalue(res, i, 0)};
        PGresult *done = tsr_db_exec(
            conn, "UPDATE uploads SET file_removed_at = now() WHERE file_sequence_number = $1::bigint", 1,
            done_params, err);
        if (done == NULL)
            rc = -1;
        PQclear(done);
        if (rc == 0)
            tsr_log_info(NULL, "removed %s, answered more than %ld days ago (cpis.upload_keep_days)", path,
                         plans_config.upload_keep_days);
    }
    PQclear(res);
    return rc;
}

int cpis_plans_schedule(tsr_daemon_t *daemon)
{
    if (plans_config.upload_every_ms > 0 &&
        tsr_daemon_every(daemon, "CP-IS plan upload", plans_config.upload_every_ms, plans__scheduled_export,
                         daemon) != 0)
        return -1;
    if (plans_config.upload_dir[0] != '\0' &&
        (tsr_daemon_every(daemon, "CP-IS upload files", plans_config.write_every_ms, plans__write_files,
                          NULL) != 0 ||
         tsr_daemon_housekeeping(daemon, "CP-IS upload files answered", plans__remove_answered_files, NULL) !=
             0))
        return -1;
    return 0;
}
