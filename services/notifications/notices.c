#include "notices.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.pb-c.h"
#include "notifications.pb-c.h"
#include "records.pb-c.h"
#include "workflow.pb-c.h"
#include "tsr_envelope.h"
#include "tsr_log.h"
#include "tsr_metrics.h"
#include "tsr_text.h"

#define NOTICE_SUFFIX ".notice.requested"
#define NOTICES_PAGE_DEFAULT 50
#define NOTICES_PAGE_MAX 200

int notifications_wants_notice(const Tsr__Envelope *ev)
{
    size_t len = strlen(ev->type), suffix = strlen(NOTICE_SUFFIX);
    return len > suffix && strcmp(ev->type + len - suffix, NOTICE_SUFFIX) == 0;
}

/* A bigint[] literal of the ids. */
static char *notices__ids(const uint64_t *ids, size_t n)
{
    char *out = malloc(n * 21 + 3), *o = out;
    if (out == NULL)
        return NULL;
    *o++ = '{';
    for (size_t i = 0; i < n; i++)
        o += sprintf(o, "%s%" PRIu64, i ? "," : "", ids[i]);
    *o++ = '}';
    *o = '\0';
    return out;
}

/* Role names as a text[] literal, "{a,b}" (malloc'd); a name that is not one of the suite's plain
 * role keys (letters, digits, '-') is left out rather than quoted. */
static char *notices__names(char *const *names, size_t n)
{
    size_t size = 3;
    for (size_t i = 0; i < n; i++)
        size += strlen(names[i]) + 1;
    char *out = malloc(size), *o = out;
    if (out == NULL)
        return NULL;
    *o++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (names[i][0] == '\0' ||
            strspn(names[i], "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(names[i]))
            continue;
        o += sprintf(o, "%s%s", o - out > 1 ? "," : "", names[i]);
    }
    *o++ = '}';
    *o = '\0';
    return out;
}

/* The kinds of the workflow's notices, those notifications.email_kinds may name. */
static const char *const notices__kinds[] = {"request-received",  "request-overdue", "request-copied",
                                             "request-escalated", "step-received",   "step-overdue",
                                             "step-escalated"};
#define NOTICES_KINDS (sizeof(notices__kinds) / sizeof(notices__kinds[0]))

/* Every item of notifications.email_kinds is a kind of notice: a misspelt one ('request-recieved')
 * would have its notices not e-mailed, in silence. */
static int notices__check_kinds(const char *list, tsr_error_t *err)
{
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[64];
        snprintf(item, sizeof(item), "%.*s", (int)(len < sizeof(item) ? len : sizeof(item) - 1), p);
        char *word = item;
        while (*word == ' ')
            word++;
        for (size_t wl = strlen(word); wl > 0 && word[wl - 1] == ' ';)
            word[--wl] = '\0';
        int known = word[0] == '\0'; /* an empty item (a trailing comma) names nothing */
        for (size_t i = 0; !known && i < NOTICES_KINDS; i++)
            known = strcmp(word, notices__kinds[i]) == 0;
        if (!known) {
            const char *near = tsr_text_nearest(word, notices__kinds, NOTICES_KINDS);
            return tsr_error_set(
                err, TSR_E_INVALID, "bad_config", "notifications.email_kinds",
                "notifications.email_kinds lists '%s', which is no kind of notice%s%s%s: the "
                "kinds are request-received, request-overdue, request-copied, "
                "request-escalated, step-received, step-overdue and step-escalated.",
                word, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
        }
        p += len + (end != NULL);
    }
    return 0;
}

/* What the deployment asks of notices (notifications_configure). */
static struct {
    int email_on;                  /* smtp.url is set */
    const char *email_kinds;       /* the kinds of the workflow's notices that also go by e-mail */
    const char *escalate_types;    /* request types escalated to the line manager when overdue */
    const char *escalate_steps;    /* step types escalated likewise when a worker holds one overdue */
    tsr_metric_t *no_address;      /* notices whose worker has no e-mail address */
    long read_keep_days;           /* notifications.read_notice_keep_days */
    const char *notify_queues;     /* queues whose requests and arriving steps tell those who work them */
    const char *escalate_fallback; /* roles told of an escalation when the worker has no manager */
} notices__config = {.email_kinds = "",
                     .escalate_fallback = "",
                     .escalate_types = "",
                     .escalate_steps = "",
                     .read_keep_days = 180,
                     .notify_queues = ""};

int notifications_configure(const tsr_config_t *config, tsr_error_t *err)
{
    notices__config.email_on = tsr_config_get(config, "smtp.url", "")[0] != '\0';
    notices__config.email_kinds =
        tsr_config_get(config, "notifications.email_kinds",
                       "request-received,request-overdue,request-escalated,step-overdue,step-escalated,"
                       "step-received");
    if (notices__check_kinds(notices__config.email_kinds, err) != 0)
        return -1;
    notices__config.escalate_types = tsr_config_get(config, "notifications.escalate_request_types",
                                                    "cs-notification-to-allocated-worker-cpis-follow-up");
    /* A restricted child's CPIS Follow up goes to their key worker as a step, not as that request
     * (the CP-IS desk cannot open the record): left undone, it is escalated as the request is. */
    notices__config.escalate_steps =
        tsr_config_get(config, "notifications.escalate_step_types", "cpis-follow-up");
    /* The CP-IS Worker's queue is worked in service hours from its workview and its metric: a notice
     * for each of a batch's follow-ups would bury the rest. */
    notices__config.notify_queues = tsr_config_get(config, "notifications.notify_queues", "system-support");
    /* A key worker who is their team's only manager, or whose team has none, has no one above them
     * here: an overdue CP-IS notification told no one. System support can see who should hear. */
    notices__config.escalate_fallback =
        tsr_config_get(config, "notifications.escalate_fallback_roles", "system-support");
    notices__config.no_address = tsr_metrics_counter(
        "tessera_notifications_emails_no_address_total",
        "E-mail notices not sent because the worker has no e-mail address on their account.", NULL);
    return tsr_config_get_long(config, "notifications.read_notice_keep_days", 180, 1, 3650,
                               &notices__config.read_keep_days, err);
}

int notifications_forget_read(PGconn *conn, void *arg, tsr_error_t *err)
{
    (void)arg;
    long gone =
        tsr_db_delete_past(conn,
                           "DELETE FROM notices WHERE read_at < now() - make_interval(days => $1::int)"
                           " AND email_status <> 'pending'",
                           notices__config.read_keep_days, err);
    if (gone < 0)
        return -1;
    if (gone > 0)
        tsr_log_info(NULL, "removed %ld notices read more than %ld days ago", gone,
                     notices__config.read_keep_days);
    return 0;
}

/* Whether the comma list (spaces around an item are no part of it) names item. */
static int notices__listed(const char *list, const char *item)
{
    size_t n = strlen(item);
    for (const char *p = list; n > 0 && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *word = p;
        size_t word_len = len;
        while (word_len > 0 && *word == ' ') {
            word++;
            word_len--;
        }
        while (word_len > 0 && word[word_len - 1] == ' ')
            word_len--;
        if (word_len == n && strncmp(word, item, n) == 0)
            return 1;
        p += len + (end != NULL);
    }
    return 0;
}

typedef struct {
    const uint64_t *worker_ids;
    size_t n_worker_ids;
    uint64_t team_id;       /* and every current member of this team */
    const char *team_roles; /* of whom only those holding one of these roles (a text[] literal; NULL: all) */
    uint64_t managers_of;   /* and the line manager of this worker (else their teams' managers, else the
                             * holders of notifications.escalate_fallback_roles) */
    const char *roles;      /* and every current holder of one of these roles (a text[] literal) */
    uint64_t but;           /* except this worker (who sent the request to the queue they work) */
    const char *kind, *title, *link, *dedupe_key;
    int email;
    int count_repeats; /* the same key again: one occurrence more, and unread again */
} notices_new_t;

/* One notice to each recipient, never twice for the same key (a replayed event, or a producer
 * asking again). An e-mail is queued for each recipient with an address; one without is marked
 * failed with the reason, so that the delivery status says why nothing arrived. A producer that
 * counts repeats (count_repeats) asks again for each occurrence of the same thing under one key: the
 * notice counts it and is unread again, its e-mail not sent again. (A replayed event is never applied
 * twice: the inbox passes over what it has applied.) */
static int notices__insert(PGconn *conn, const char *producer, const notices_new_t *n, tsr_error_t *err)
{
    if (n->kind[0] == '\0' || n->title[0] == '\0' || n->dedupe_key[0] == '\0')
        return tsr_error_set(err, TSR_E_INVALID, "bad_event", NULL,
                             "A notice needs a kind, a title and a dedupe key.");
    char *ids = notices__ids(n->worker_ids, n->n_worker_ids);
    if (ids == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    char team[32], manager_of[32];
    snprintf(team, sizeof(team), "%" PRIu64, n->team_id);
    snprintf(manager_of, sizeof(manager_of), "%" PRIu64, n->managers_of);
    char but[32];
    snprintf(but, sizeof(but), "%" PRIu64, n->but);
    const char *p[14] = {ids,
                         n->team_id ? team : NULL,
                         n->kind,
                         n->title,
                         n->link,
                         n->dedupe_key,
                         producer,
                         n->email && notices__config.email_on ? "true" : "false",
                         n->managers_of ? manager_of : NULL,
                         n->roles,
                         but,
                         notices__config.escalate_fallback,
                         n->count_repeats ? "true" : "false",
                         n->team_roles};
    PGresult *res =
        tsr_db_exec(conn,
                    "INSERT INTO notices (worker_id, kind, title, link, dedupe_key, producer, email_status,"
                    " email_to, email_error, email_next_at)"
                    " SELECT r.w, $3, $4, $5, $6, $7,"
                    "  CASE WHEN NOT $8::boolean THEN 'none'"
                    "   WHEN coalesce(m.email, '') = '' THEN 'failed' ELSE 'pending' END,"
                    "  CASE WHEN $8::boolean THEN coalesce(m.email, '') ELSE '' END,"
                    "  CASE WHEN $8::boolean AND coalesce(m.email, '') = ''"
                    "   THEN 'The worker has no e-mail address on their account.' ELSE '' END,"
                    "  CASE WHEN $8::boolean AND coalesce(m.email, '') <> '' THEN now() END"
                    " FROM (WITH managers AS (SELECT l.worker_id AS w FROM members x JOIN members l"
                    "     ON l.worker_id = x.manager_id AND NOT l.ended WHERE x.worker_id = $9::bigint"
                    /* No current line manager: the managers of the worker's teams instead. */
                    "   UNION SELECT t.worker_id FROM members w JOIN members t"
                    "     ON t.managed_team_ids && w.team_ids AND NOT t.ended AND t.worker_id <> w.worker_id"
                    "     WHERE w.worker_id = $9::bigint AND NOT EXISTS (SELECT 1 FROM members l"
                    "       WHERE l.worker_id = w.manager_id AND NOT l.ended))"
                    "   SELECT unnest($1::bigint[]) AS w"
                    "   UNION SELECT worker_id FROM members"
                    "     WHERE $2::bigint IS NOT NULL AND $2::bigint = ANY (team_ids) AND NOT ended"
                    "     AND ($14::text[] IS NULL OR roles && $14::text[])"
                    "   UNION SELECT w FROM managers"
                    "   UNION SELECT worker_id FROM members WHERE roles && $10::text[] AND NOT ended"
                    /* Neither: those the deployment names, rather than no one. */
                    "   UNION SELECT worker_id FROM members WHERE $9::bigint IS NOT NULL"
                    "     AND roles && string_to_array($12, ',') AND NOT ended AND worker_id <> $9::bigint"
                    "     AND NOT EXISTS (SELECT 1 FROM managers)) r"
                    " LEFT JOIN members m ON m.worker_id = r.w"
                    " WHERE r.w <> 0 AND r.w <> $11::bigint AND NOT coalesce(m.ended, false)"
                    " ON CONFLICT (dedupe_key, worker_id) DO UPDATE"
                    "  SET occurrences = notices.occurrences + 1, read_at = NULL WHERE $13::boolean"
                    /* A notice counted again is not new: its missing address was told of already. */
                    " RETURNING worker_id, email_status = 'failed' AND occurrences = 1",
                    14, p, err);
    free(ids);
    if (res == NULL)
        return -1;
    /* Ops are told of a worker whose notices cannot be e-mailed, as of e-mails given up: a key worker
     * not e-mailed about a child's CP-IS notification is the same harm either way. */
    int no_address = 0;
    for (int i = 0; i < PQntuples(res); i++)
        if (strcmp(PQgetvalue(res, i, 1), "t") == 0) {
            no_address++;
            tsr_log_warn(NULL, "notice '%s' for worker %s not e-mailed: the worker has no e-mail address",
                         n->kind, PQgetvalue(res, i, 0));
        }
    tsr_metric_add(notices__config.no_address, no_address);
    PQclear(res);
    return 0;
}

static int notices__apply_requested(tsr_event_t *ev, tsr_error_t *err)
{
    Tsr__Notifications__NoticeRequested *n = (Tsr__Notifications__NoticeRequested *)tsr_unpack(
        &tsr__notifications__notice_requested__descriptor, ev->event->payload.data, ev->event->payload.len,
        err);
    if (n == NULL)
        return -1;
    char *roles = n->n_roles > 0 ? notices__names(n->roles, n->n_roles) : NULL;
    if (n->n_roles > 0 && roles == NULL) {
        tsr__notifications__notice_requested__free_unpacked(n, NULL);
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    }
    notices_new_t add = {.worker_ids = n->worker_ids,
                         .n_worker_ids = n->n_worker_ids,
                         .team_id = n->team_id,
                         .roles = roles,
                         .but = n->except_worker_id,
                         .kind = n->kind,
                         .title = n->title,
                         .link = n->link,
                         .dedupe_key = n->dedupe_key,
                         .email = n->email,
                         .count_repeats = n->count_repeats};
    int rc = notices__insert(ev->conn, ev->event->producer, &add, err);
    free(roles);
    tsr__notifications__notice_requested__free_unpacked(n, NULL);
    return rc;
}

/* About a request or a step ("request" or "step", its id and title), a notice (kind) to the line
 * manager of worker `of`, else the managers of their teams: "PREFIX: the title", once (what, the
 * id and suffix its key). */
static int notices__tell_managers(tsr_event_t *ev, const char *what, uint64_t id, const char *what_title,
                                  uint64_t of, const char *kind, const char *prefix, const char *suffix,
                                  const char *link, tsr_error_t *err)
{
    char title[400], key[80];
    snprintf(title, sizeof(title), "%s: %s", prefix, what_title);
    snprintf(key, sizeof(key), "%s-%" PRIu64 "-%s", what, id, suffix);
    notices_new_t up = {.managers_of = of, .kind = kind, .title = title, .link = link, .dedupe_key = key};
    up.email = notices__listed(notices__config.email_kinds, up.kind);
    return notices__insert(ev->conn, ev->event->producer, &up, err);
}

/* The roles that work a queue (a comma list for notices_new_t.roles, malloc'd) when the deployment
 * announces the queue (notify_queues): those who hold one hear of work there. *roles NULL otherwise;
 * -1 only when out of memory. */
static int notices__queue_roles(const char *queue, char *const *worked_by, size_t n, char **roles,
                                tsr_error_t *err)
{
    *roles = NULL;
    if (queue == NULL || queue[0] == '\0' || n == 0 || !notices__listed(notices__config.notify_queues, queue))
        return 0;
    if ((*roles = notices__names(worked_by, n)) == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    return 0;
}

/* A request sent to a worker or a team tells them (seed 003: the key worker hears of a CP-IS
 * notification); one not acknowledged in time tells them again and, for the request types the
 * deployment names, their line manager. The title is the request's, which names no one: the notice
 * and its e-mail carry no personal data, only a link to the step. */
static int notices__apply_request(tsr_event_t *ev, tsr_error_t *err)
{
    Tsr__Workflow__RequestEvent *r = (Tsr__Workflow__RequestEvent *)tsr_unpack(
        &tsr__workflow__request_event__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (r == NULL)
        return -1;
    int overdue = strcmp(r->action, "overdue") == 0;
    uint64_t worker = r->to ? r->to->worker_id : 0;
    char title[400], link[64], key[80];
    snprintf(title, sizeof(title), "%s: %s", overdue ? "Overdue request" : "New request", r->title);
    snprintf(link, sizeof(link), "/steps/%" PRIu64, r->step_id);
    snprintf(key, sizeof(key), "request-%" PRIu64 "-%s", r->request_id, overdue ? "overdue" : "sent");
    char *roles = NULL, *team_roles = NULL;
    if (notices__queue_roles(r->to ? r->to->virtual_worker : NULL, r->worked_by_roles, r->n_worked_by_roles,
                             &roles, err) != 0) {
        tsr__workflow__request_event__free_unpacked(r, NULL);
        return -1;
    }
    /* Sent to a team, it is for those of its members whose roles act on its type: the MASH team's
     * admin is not told of a 'Pass to MASH Social Worker', which only its social workers may act on.
     * A type that names no roles is every member's. */
    if (r->to && r->to->team_id && r->n_acted_on_by_roles > 0 &&
        (team_roles = notices__names(r->acted_on_by_roles, r->n_acted_on_by_roles)) == NULL) {
        free(roles);
        tsr__workflow__request_event__free_unpacked(r, NULL);
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    }
    notices_new_t add = {.worker_ids = &worker,
                         .n_worker_ids = worker ? 1 : 0,
                         .team_id = r->to ? r->to->team_id : 0,
                         .team_roles = team_roles,
                         .roles = roles,
                         .but = roles ? r->sender_id : 0,
                         .kind = overdue ? "request-overdue" : "request-received",
                         .title = title,
                         .link = link,
                         .dedupe_key = key};
    add.email = notices__listed(notices__config.email_kinds, add.kind);
    int rc = notices__insert(ev->conn, ev->event->producer, &add, err);
    free(roles);
    free(team_roles);
    /* Seed 001: "CC your senior/TM": the sender's manager is told what was asked. */
    if (rc == 0 && !overdue && r->copy_to_sender_manager && r->sender_id != 0)
        rc = notices__tell_managers(ev, "request", r->request_id, r->title, r->sender_id, "request-copied",
                                    "Copied to you", "copied", link, err);
    if (rc == 0 && overdue && worker != 0 && notices__listed(notices__config.escalate_types, r->type))
        rc = notices__tell_managers(ev, "request", r->request_id, r->title, worker, "request-escalated",
                                    "Not acknowledged in time", "escalated", link, err);
    tsr__workflow__request_event__free_unpacked(r, NULL);
    return rc;
}

/* What the workflow says of a step, told to those who should act on it. The title is the step's,
 * which names no one; each notice is delivered once, told apart from a second raising or arrival by
 * the event's place in the producer's sequence.
 * - Overdue (workflow.step.overdue), for the step types the deployment names: held by a worker, they
 *   are reminded and their line manager hears of it (else their teams' managers); held in a queue the
 *   deployment announces (notify_queues: System Support's), those who work it are reminded. Other
 *   queues' steps, and teams', are watched by the queues' metrics and the workviews' overdue marks.
 * - Started in, or assigned to, an announced queue (as a request sent there): those who work it hear
 *   of it, but the worker who sent it there (seed 002: work about a restricted child with no key
 *   worker waits in the System Support queue). */
static int notices__apply_step(tsr_event_t *ev, tsr_error_t *err)
{
    Tsr__Workflow__StepEvent *m = (Tsr__Workflow__StepEvent *)tsr_unpack(
        &tsr__workflow__step_event__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (m == NULL)
        return -1;
    int overdue = strcmp(ev->event->type, "workflow.step.overdue") == 0;
    uint64_t worker = overdue ? m->assigned_worker_id : 0;
    char *roles = NULL;
    int rc = notices__queue_roles(m->assigned_virtual, m->worked_by_roles, m->n_worked_by_roles, &roles, err);
    int told = overdue ? (worker != 0 || roles != NULL) && m->type != NULL &&
                             notices__listed(notices__config.escalate_steps, m->type)
                       : roles != NULL;
    if (rc == 0 && told) {
        char title[400], link[64], key[80], suffix[40];
        snprintf(title, sizeof(title), "%s: %s", overdue ? "Overdue work" : "New work", m->title);
        snprintf(link, sizeof(link), "/steps/%" PRIu64, m->step_id);
        snprintf(key, sizeof(key), "step-%" PRIu64 "-%s-%" PRIu64, m->step_id,
                 overdue ? "overdue" : "arrived", ev->event->seq);
        snprintf(suffix, sizeof(suffix), "escalated-%" PRIu64, ev->event->seq);
        notices_new_t add = {.worker_ids = &worker,
                             .n_worker_ids = worker ? 1 : 0,
                             .roles = roles,
                             .but = !overdue && ev->event->actor ? ev->event->actor->worker_id : 0,
                             .kind = overdue ? "step-overdue" : "step-received",
                             .title = title,
                             .link = link,
                             .dedupe_key = key};
        add.email = notices__listed(notices__config.email_kinds, add.kind);
        rc = notices__insert(ev->conn, ev->event->producer, &add, err);
        if (rc == 0 && worker != 0)
            rc = notices__tell_managers(ev, "step", m->step_id, m->title, worker, "step-escalated",
                                        "Not done in time", suffix, link, err);
    }
    free(roles);
    tsr__workflow__step_event__free_unpacked(m, NULL);
    return rc;
}

int notifications_wants_event(const Tsr__Envelope *ev)
{
    return notifications_wants_notice(ev) || strcmp(ev->type, "workflow.request.sent") == 0 ||
           strcmp(ev->type, "workflow.step.started") == 0 ||
           strcmp(ev->type, "workflow.step.assigned") == 0 ||
           strcmp(ev->type, "workflow.request.overdue") == 0 ||
           strcmp(ev->type, "workflow.step.overdue") == 0 || strcmp(ev->type, "workflow.step.deleted") == 0 ||
           strcmp(ev->type, "records.person.disposed") == 0;
}

/* A step deleted as recorded in error (seed 002): the notices that point at it go too, read or not;
 * their titles name what was recorded in error, and their link would lead nowhere. */
static int notices__apply_step_deleted(tsr_event_t *ev, tsr_error_t *err)
{
    Tsr__Workflow__StepEvent *m = (Tsr__Workflow__StepEvent *)tsr_unpack(
        &tsr__workflow__step_event__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (m == NULL)
        return -1;
    char link[48];
    snprintf(link, sizeof(link), "/steps/%" PRIu64, m->step_id);
    tsr__workflow__step_event__free_unpacked(m, NULL);
    const char *params[1] = {link};
    PGresult *res = tsr_db_exec(ev->conn, "DELETE FROM notices WHERE link = $1", 1, params, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

/* A record disposed of at the end of its retention (seed 002): the notices that point at it, or at a
 * duplicate merged into it, go; what they asked (an NHS number to record, a plan held back, an
 * attempt on a restricted record) is about a record that is no more. */
static int notices__apply_person_disposed(tsr_event_t *ev, tsr_error_t *err)
{
    Tsr__Records__PersonAccessed *m = (Tsr__Records__PersonAccessed *)tsr_unpack(
        &tsr__records__person_accessed__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (m == NULL)
        return -1;
    size_t size = 3 + m->n_disposed_ids * 32;
    char *links = malloc(size);
    if (links == NULL) {
        tsr__records__person_accessed__free_unpacked(m, NULL);
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    }
    size_t used = (size_t)snprintf(links, size, "{");
    for (size_t i = 0; i < m->n_disposed_ids; i++)
        used += (size_t)snprintf(links + used, size - used, "%s/people/%" PRIu64, i ? "," : "",
                                 m->disposed_ids[i]);
    snprintf(links + used, size - used, "}");
    tsr__records__person_accessed__free_unpacked(m, NULL);
    const char *params[1] = {links};
    PGresult *res =
        tsr_db_exec(ev->conn, "DELETE FROM notices WHERE link = ANY ($1::text[])", 1, params, err);
    free(links);
    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

int notifications_apply_event(tsr_event_t *ev, tsr_error_t *err)
{
    if (notifications_wants_notice(ev->event))
        return notices__apply_requested(ev, err);
    if (strcmp(ev->event->type, "workflow.step.deleted") == 0)
        return notices__apply_step_deleted(ev, err);
    if (strcmp(ev->event->type, "records.person.disposed") == 0)
        return notices__apply_person_disposed(ev, err);
    if (strcmp(ev->event->type, "workflow.step.overdue") == 0 ||
        strcmp(ev->event->type, "workflow.step.started") == 0 ||
        strcmp(ev->event->type, "workflow.step.assigned") == 0)
        return notices__apply_step(ev, err);
    return notices__apply_request(ev, err);
}

int notifications_wants_accounts_event(const Tsr__Envelope *ev)
{
    return strcmp(ev->type, "accounts.worker.changed") == 0 || notifications_wants_notice(ev);
}

int notifications_apply_accounts_event(tsr_event_t *ev, tsr_error_t *err)
{
    if (notifications_wants_notice(ev->event))
        return notices__apply_requested(ev, err);
    Tsr__Accounts__WorkerChanged *w = (Tsr__Accounts__WorkerChanged *)tsr_unpack(
        &tsr__accounts__worker_changed__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (w == NULL)
        return -1;
    uint64_t team_ids[64];
    size_t n = w->n_teams < 64 ? w->n_teams : 64;
    for (size_t i = 0; i < n; i++)
        team_ids[i] = w->teams[i]->id;
    char *teams = notices__ids(team_ids, n);
    char id[32], version[32];
    snprintf(id, sizeof(id), "%" PRIu64, w->worker_id);
    snprintf(version, sizeof(version), "%" PRIu64, w->version);
    char *managed = notices__ids(w->managed_team_ids, w->n_managed_team_ids);
    char manager[32];
    snprintf(manager, sizeof(manager), "%" PRIu64, w->manager_id);
    char *roles = notices__names(w->roles, w->n_roles);
    const char *p[8] = {id, teams, w->ended ? "true" : "false", version, w->email, manager, managed, roles};
    int built = teams && managed && roles;
    PGresult *res =
        built ? tsr_db_exec(ev->conn,
                            "INSERT INTO members (worker_id, team_ids, ended, version, email, manager_id,"
                            " managed_team_ids, roles)"
                            " VALUES ($1::bigint, $2::bigint[], $3::boolean, $4::bigint, $5, $6::bigint,"
                            " $7::bigint[], $8::text[])"
                            " ON CONFLICT (worker_id) DO UPDATE SET team_ids = EXCLUDED.team_ids,"
                            " ended = EXCLUDED.ended, version = EXCLUDED.version, email = EXCLUDED.email,"
                            " manager_id = EXCLUDED.manager_id, managed_team_ids = EXCLUDED.managed_team_ids,"
                            " roles = EXCLUDED.roles WHERE members.version <= EXCLUDED.version",
                            8, p, err)
              : NULL;
    int rc = res     ? 0
             : built ? -1
                     : tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    PQclear(res);
    free(teams);
    free(managed);
    free(roles);
    tsr__accounts__worker_changed__free_unpacked(w, NULL);
    return rc;
}

int notifications_notices_list(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Notifications__NoticeQuery *q = (const Tsr__Notifications__NoticeQuery *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    uint32_t limit;
    uint64_t before;
    if (tsr_text_page_limit(q->limit, NOTICES_PAGE_DEFAULT, NOTICES_PAGE_MAX, &limit, err) != 0 ||
        tsr_text_cursor_id(q->cursor, &before, err) != 0)
        return -1;
    char worker[32], cursor[32], lim[16];
    snprintf(worker, sizeof(worker), "%" PRIu64, call->actor->worker_id);
    snprintf(cursor, sizeof(cursor), "%" PRIu64, before);
    snprintf(lim, sizeof(lim), "%u", limit + 1);
    const char *p[4] = {worker, q->unread_only ? "true" : "false", before ? cursor : NULL, lim};
    PGresult *res =
        tsr_db_exec(call->conn,
                    "SELECT id, kind, title, link, (extract(epoch FROM created_at) * 1000)::bigint,"
                    " coalesce((extract(epoch FROM read_at) * 1000)::bigint, 0), email_status,"
                    " (SELECT count(*) FROM notices u WHERE u.worker_id = $1::bigint"
                    "   AND u.read_at IS NULL), occurrences"
                    " FROM notices WHERE worker_id = $1::bigint"
                    " AND (NOT $2::boolean OR read_at IS NULL)"
                    " AND ($3::bigint IS NULL OR id < $3::bigint)"
                    " ORDER BY id DESC LIMIT $4::int",
                    4, p, err);
    if (res == NULL)
        return -1;
    int rows = PQntuples(res);
    int shown = rows > (int)limit ? (int)limit : rows;
    Tsr__Notifications__Notice *items = calloc(shown ? (size_t)shown : 1, sizeof(*items));
    Tsr__Notifications__Notice **ptrs = calloc(shown ? (size_t)shown : 1, sizeof(*ptrs));
    if (items == NULL || ptrs == NULL) {
        free(items);
        free(ptrs);
        PQclear(res);
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    }
    for (int i = 0; i < shown; i++) {
        tsr__notifications__notice__init(&items[i]);
        items[i].id = strtoull(PQgetvalue(res, i, 0), NULL, 10);
        items[i].kind = PQgetvalue(res, i, 1);
        items[i].title = PQgetvalue(res, i, 2);
        items[i].link = PQgetvalue(res, i, 3);
        items[i].created_at_ms = strtoll(PQgetvalue(res, i, 4), NULL, 10);
        items[i].read_at_ms = strtoll(PQgetvalue(res, i, 5), NULL, 10);
        items[i].email_status = PQgetvalue(res, i, 6);
        items[i].occurrences = (uint32_t)strtoul(PQgetvalue(res, i, 8), NULL, 10);
        ptrs[i] = &items[i];
    }
    char next[32] = "";
    if (rows > (int)limit)
        snprintf(next, sizeof(next), "%" PRIu64, items[shown - 1].id);
    Tsr__Notifications__Notices out = TSR__NOTIFICATIONS__NOTICES__INIT;
    out.items = ptrs;
    out.n_items = (size_t)shown;
    out.next_cursor = next;
    /* The unread count rides on every row; with no rows, count it apart. */
    if (rows > 0) {
        out.unread = (uint32_t)strtoul(PQgetvalue(res, 0, 7), NULL, 10);
    } else {
        PQclear(res);
        const char *w[1] = {worker};
        res = tsr_db_exec(call->conn,
                          "SELECT count(*) FROM notices WHERE worker_id = $1::bigint AND read_at IS NULL", 1,
                          w, err);
        if (res == NULL) {
            free(items);
            free(ptrs);
            return -1;
        }
        out.unread = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
    }
    tsr_call_reply(call, &out.base);
    free(items);
    free(ptrs);
    PQclear(res);
    return 0;
}

int notifications_notice_mark_read(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Notifications__NoticeMarkRead *in = (const Tsr__Notifications__NoticeMarkRead *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    char id[32], worker[32];
    snprintf(id, sizeof(id), "%" PRIu64, in->id);
    snprintf(worker, sizeof(worker), "%" PRIu64, call->actor->worker_id);
    const char *p[2] = {id, worker};
    /* Another worker's notice is as absent as one that does not exist. */
    PGresult *res = tsr_db_exec(call->conn,
                                "UPDATE notices SET read_at = coalesce(read_at, now())"
                                " WHERE id = $1::bigint AND worker_id = $2::bigint RETURNING id",
                                2, p, err);
    if (res == NULL)
        return -1;
    int found = PQntuples(res);
    PQclear(res);
    if (!found)
        return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", NULL, "You have no notice %s.", id);
    return 0;
}
