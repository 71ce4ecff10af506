#include "uses.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "accounts.pb-c.h"
#include "audit.pb-c.h"
#include "records.pb-c.h"
#include "tsr_envelope.h"
#include "tsr_text.h"

/* The thresholds of the audits, from the [audit] section of the configuration. */
static struct {
    char timezone[64];
    long working_days;      /* bit d-1 for ISO day d (Monday 1) */
    long day_starts_minute; /* working hours, minutes after midnight, on working days */
    long day_ends_minute;
    long burst_records; /* this many different records read ... */
    long burst_minutes; /* ... within this many minutes is unusual */
    long dormant_days;
} uses_config = {"Europe/London", 0x1f, 7 * 60, 19 * 60, 20, 10, 183};

/* "mon,tue,wed,thu,fri" as a bit mask of ISO days; 0 or -1 naming the fault. */
static int uses__days(const tsr_config_t *config, tsr_error_t *err)
{
    static const char *const names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    const char *text = tsr_config_get(config, "audit.working_days", "mon,tue,wed,thu,fri");
    long mask = 0;
    const char *p = text;
    while (*p) {
        size_t len = strcspn(p, ",");
        int found = -1;
        for (int d = 0; d < 7; d++)
            if (len == 3 && strncmp(p, names[d], 3) == 0)
                found = d;
        if (found < 0)
            return tsr_error_set(
                err, TSR_E_INVALID, "bad_config", "audit.working_days",
                "audit.working_days must list days as mon,tue,wed,thu,fri,sat,sun, not \"%s\".", text);
        mask |= 1L << found;
        p += len;
        if (*p == ',')
            p++;
    }
    if (mask == 0)
        return tsr_error_set(err, TSR_E_INVALID, "bad_config", "audit.working_days",
                             "audit.working_days must name at least one day.");
    uses_config.working_days = mask;
    return 0;
}

static int uses__minutes(const tsr_config_t *config, const char *key, const char *fallback, long *out,
                         tsr_error_t *err)
{
    const char *text = tsr_config_get(config, key, fallback);
    int h = -1, m = -1;
    char end = 0;
    if (sscanf(text, "%d:%d%c", &h, &m, &end) != 2 || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m))
        return tsr_error_set(err, TSR_E_INVALID, "bad_config", key,
                             "%s must be a time of day as HH:MM, not \"%s\".", key, text);
    *out = h * 60L + m;
    return 0;
}

int audit_uses_configure(const tsr_config_t *config, tsr_error_t *err)
{
    const char *tz = tsr_config_get_timezone(config, "audit.timezone", "Europe/London", err);
    if (tz == NULL)
        return -1;
    if (strlen(tz) >= sizeof(uses_config.timezone))
        return tsr_error_set(err, TSR_E_INVALID, "bad_config", "audit.timezone",
                             "audit.timezone must name a time zone, like Europe/London.");
    snprintf(uses_config.timezone, sizeof(uses_config.timezone), "%s", tz);
    if (uses__days(config, err) != 0 ||
        uses__minutes(config, "audit.working_day_starts", "07:00", &uses_config.day_starts_minute, err) !=
            0 ||
        uses__minutes(config, "audit.working_day_ends", "19:00", &uses_config.day_ends_minute, err) != 0)
        return -1;
    if (uses_config.day_ends_minute <= uses_config.day_starts_minute)
        return tsr_error_set(err, TSR_E_INVALID, "bad_config", "audit.working_day_ends",
                             "audit.working_day_ends must come after audit.working_day_starts.");
    return tsr_config_get_long(config, "audit.burst_records", 20, 2, 100000, &uses_config.burst_records,
                               err) ||
                   tsr_config_get_long(config, "audit.burst_minutes", 10, 1, 1440, &uses_config.burst_minutes,
                                       err) ||
                   tsr_config_get_long(config, "audit.dormant_days", 183, 1, 3650, &uses_config.dormant_days,
                                       err)
               ? -1
               : 0;
}

/* ------------------------------------------------------------------------------------------------
 * What the audits need, kept from events
 * ---------------------------------------------------------------------------------------------- */

static int uses__exec(PGconn *conn, const char *sql, int n, const char *const *params, tsr_error_t *err)
{
    PGresult *res = tsr_db_exec(conn, sql, n, params, err);
    PQclear(res);
    return res ? 0 : -1;
}

/* A text[] or bigint[] literal of n items given as strings. */
static char *uses__array(char *const *items, const uint64_t *ids, size_t n)
{
    size_t len = 3;
    for (size_t i = 0; i < n; i++)
        len += (items ? strlen(items[i]) * 2 : 20) + 3;
    char *out = malloc(len), *o = out;
    if (out == NULL)
        return NULL;
    *o++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            *o++ = ',';
        if (items == NULL) {
            o += snprintf(o, 24, "%" PRIu64, ids[i]);
            continue;
        }
        *o++ = '"';
        for (const char *c = items[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                *o++ = '\\';
            *o++ = *c;
        }
        *o++ = '"';
    }
    *o++ = '}';
    *o = '\0';
    return out;
}

static int uses__worker_changed(tsr_event_t *ev, tsr_error_t *err)
{
    Tsr__Accounts__WorkerChanged *w = (Tsr__Accounts__WorkerChanged *)tsr_unpack(
        &tsr__accounts__worker_changed__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (w == NULL)
        return -1;
    uint64_t team_ids[64];
    char *team_names[64];
    size_t n_teams = w->n_teams < 64 ? w->n_teams : 64;
    for (size_t i = 0; i < n_teams; i++) {
        team_ids[i] = w->teams[i]->id;
        team_names[i] = w->teams[i]->name;
    }
    char *roles = uses__array(w->roles, NULL, w->n_roles);
    char *ids = uses__array(NULL, team_ids, n_teams);
    char *names = uses__array(team_names, NULL, n_teams);
    char *cases = uses__array(NULL, w->contract_person_ids, w->n_contract_person_ids);
    char id[32], at[32], version[32];
    snprintf(id, sizeof(id), "%" PRIu64, w->worker_id);
    snprintf(at, sizeof(at), "%" PRId64, ev->event->occurred_at_ms);
    snprintf(version, sizeof(version), "%" PRIu64, w->version);
    const char *p[13] = {id,
                         w->username,
                         w->name,
                         roles,
                         ids,
                         names,
                         w->ended ? "true" : "false",
                         w->third_party ? "true" : "false",
                         w->contract_name,
                         w->contract_end_date[0] ? w->contract_end_date : NULL,
                         cases,
                         at,
                         version};
    int rc = roles && ids && names && cases
                 ? uses__exec(
                       ev->conn,
                       "WITH up AS (INSERT INTO workers (worker_id, username, name, roles, team_ids,"
                       " team_names, ended, ended_at, third_party, contract_name, contract_end_date,"
                       " contract_person_ids, first_seen_at, version)"
                       " VALUES ($1::bigint, $2, $3, $4::text[], $5::bigint[], $6::text[], $7::boolean,"
                       " CASE WHEN $7::boolean THEN to_timestamp($12::bigint / 1000.0) END, $8::boolean, $9,"
                       " $10::date, $11::bigint[], to_timestamp($12::bigint / 1000.0), $13::bigint)"
                       " ON CONFLICT (worker_id) DO UPDATE SET username = EXCLUDED.username,"
                       " name = EXCLUDED.name, roles = EXCLUDED.roles, team_ids = EXCLUDED.team_ids,"
                       " team_names = EXCLUDED.team_names, ended = EXCLUDED.ended,"
                       " ended_at = CASE WHEN NOT EXCLUDED.ended THEN NULL"
                       "   ELSE coalesce(workers.ended_at, EXCLUDED.ended_at) END,"
                       " third_party = EXCLUDED.third_party, contract_name = EXCLUDED.contract_name,"
                       " contract_end_date = EXCLUDED.contract_end_date,"
                       " contract_person_ids = EXCLUDED.contract_person_ids, version = EXCLUDED.version"
                       " WHERE workers.version <= EXCLUDED.version RETURNING 1),"
                       /* A newer description whose teams or roles differ closes the period they were
                        * held and opens the next (a replayed or older one changes nothing). */
                       " held AS (SELECT team_ids, roles, from_at FROM worker_teams"
                       "   WHERE worker_id = $1::bigint AND to_at IS NULL),"
                       " moved AS (UPDATE worker_teams SET to_at = to_timestamp($12::bigint / 1000.0)"
                       "   WHERE worker_id = $1::bigint AND to_at IS NULL AND EXISTS (SELECT 1 FROM up)"
                       "   AND NOT (team_ids @> $5::bigint[] AND team_ids <@ $5::bigint[]"
                       "     AND roles @> $4::text[] AND roles <@ $4::text[])"
                       "   AND from_at < to_timestamp($12::bigint / 1000.0) RETURNING 1),"
                       /* Two changes in the same millisecond: the later one stands for the period. */
                       " same_moment AS (UPDATE worker_teams SET team_ids = $5::bigint[],"
                       "   team_names = $6::text[], roles = $4::text[]"
                       "   WHERE worker_id = $1::bigint AND to_at IS NULL AND EXISTS (SELECT 1 FROM up)"
                       "   AND from_at >= to_timestamp($12::bigint / 1000.0) RETURNING 1)"
                       " INSERT INTO worker_teams (worker_id, team_ids, team_names, roles, from_at)"
                       " SELECT $1::bigint, $5::bigint[], $6::text[], $4::text[],"
                       "   to_timestamp($12::bigint / 1000.0)"
                       " WHERE EXISTS (SELECT 1 FROM up)"
                       "   AND (NOT EXISTS (SELECT 1 FROM held) OR EXISTS (SELECT 1 FROM moved))",
                       13, p, err)
                 : tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    if (rc == 0) {
        /* A newer description whose contract differs (its cases, its end date, its name; or no longer
         * a contract) closes the period the one before was in force and opens the next. */
        const char *c[7] = {id,
                            w->third_party ? "true" : "false",
                            w->contract_name,
                            w->contract_end_date[0] ? w->contract_end_date : NULL,
                            cases,
                            at,
                            version};
        rc = uses__exec(
            ev->conn,
            "WITH applied AS (SELECT 1 FROM workers WHERE worker_id = $1::bigint AND version = $7::bigint),"
            " held AS (SELECT 1 FROM contract_periods WHERE worker_id = $1::bigint AND to_at IS NULL),"
            " differs AS (SELECT 1 FROM applied WHERE ($2::boolean OR EXISTS (SELECT 1 FROM held))"
            "   AND NOT EXISTS (SELECT 1 FROM contract_periods h WHERE h.worker_id = $1::bigint"
            "     AND h.to_at IS NULL AND $2::boolean AND h.contract_name = $3"
            "     AND h.contract_end_date IS NOT DISTINCT FROM $4::date"
            "     AND h.contract_person_ids = $5::bigint[])),"
            " closed AS (UPDATE contract_periods SET to_at = to_timestamp($6::bigint / 1000.0)"
            "   WHERE worker_id = $1::bigint AND to_at IS NULL AND EXISTS (SELECT 1 FROM differs)"
            "   AND from_at < to_timestamp($6::bigint / 1000.0) RETURNING 1),"
            /* Two changes in the same millisecond: the later one stands for the period. */
            " same_moment AS (UPDATE contract_periods SET contract_name = $3, contract_end_date = $4::date,"
            "   contract_person_ids = $5::bigint[], to_at = CASE WHEN $2::boolean THEN NULL ELSE from_at END"
            "   WHERE worker_id = $1::bigint AND to_at IS NULL AND EXISTS (SELECT 1 FROM differs)"
            "   AND from_at >= to_timestamp($6::bigint / 1000.0) RETURNING 1)"
            " INSERT INTO contract_periods (worker_id, contract_name, contract_end_date, contract_person_ids,"
            " from_at) SELECT $1::bigint, $3, $4::date, $5::bigint[], to_timestamp($6::bigint / 1000.0)"
            " WHERE $2::boolean AND EXISTS (SELECT 1 FROM differs)"
            "   AND (NOT EXISTS (SELECT 1 FROM held) OR EXISTS (SELECT 1 FROM closed))",
            7, c, err);
    }
    free(roles);
    free(ids);
    free(names);
    free(cases);
    tsr__accounts__worker_changed__free_unpacked(w, NULL);
    return rc;
}

static int uses__signed_in(tsr_event_t *ev, tsr_error_t *err)
{
    Tsr__Accounts__WorkerSignedIn *s = (Tsr__Accounts__WorkerSignedIn *)tsr_unpack(
        &tsr__accounts__worker_signed_in__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (s == NULL)
        return -1;
    char id[32], at[32];
    snprintf(id, sizeof(id), "%" PRIu64, s->worker_id);
    snprintf(at, sizeof(at), "%" PRId64, ev->event->occurred_at_ms);
    const char *p[2] = {id, at};
    int rc = uses__exec(ev->conn,
                        "UPDATE workers SET last_sign_in_at = greatest(last_sign_in_at,"
                        " to_timestamp($2::bigint / 1000.0)) WHERE worker_id = $1::bigint",
                        2, p, err);
    tsr__accounts__worker_signed_in__free_unpacked(s, NULL);
    return rc;
}

static int uses__conflict(tsr_event_t *ev, tsr_error_t *err)
{
    Tsr__Accounts__ConflictDeclared *c = (Tsr__Accounts__ConflictDeclared *)tsr_unpack(
        &tsr__accounts__conflict_declared__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (c == NULL)
        return -1;
    char worker[32], person[32], at[32];
    snprintf(worker, sizeof(worker), "%" PRIu64, c->worker_id);
    snprintf(person, sizeof(person), "%" PRIu64, c->person_id);
    snprintf(at, sizeof(at), "%" PRId64, ev->event->occurred_at_ms);
    const char *p[3] = {worker, person, at};
    int rc = uses__exec(ev->conn,
                        "INSERT INTO conflicts (worker_id, person_id, declared_at)"
                        " VALUES ($1::bigint, $2::bigint, to_timestamp($3::bigint / 1000.0))"
                        " ON CONFLICT DO NOTHING",
                        3, p, err);
    tsr__accounts__conflict_declared__free_unpacked(c, NULL);
    return rc;
}

/* Why an account was ended, as system support gave it, for the audit of leavers (who ended it and
 * when are the trail's end-account entry). accounts.worker.changed, which says it ended, follows. */
static int uses__ended(tsr_event_t *ev, tsr_error_t *err)
{
    Tsr__Accounts__WorkerEnded *m = (Tsr__Accounts__WorkerEnded *)tsr_unpack(
        &tsr__accounts__worker_ended__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (m == NULL)
        return -1;
    char id[32];
    snprintf(id, sizeof(id), "%" PRIu64, m->worker_id);
    const char *p[2] = {id, m->reason};
    int rc =
        uses__exec(ev->conn, "UPDATE workers SET ended_reason = $2 WHERE worker_id = $1::bigint", 2, p, err);
    tsr__accounts__worker_ended__free_unpacked(m, NULL);
    return rc;
}

int audit_uses_wants_accounts_event(const Tsr__Envelope *ev)
{
    return strcmp(ev->type, "accounts.worker.changed") == 0 ||
           strcmp(ev->type, "accounts.worker.signed-in") == 0 ||
           strcmp(ev->type, "accounts.worker.ended") == 0 ||
           strcmp(ev->type, "accounts.conflict.declared") == 0;
}

int audit_uses_apply_accounts_event(tsr_event_t *ev, tsr_error_t *err)
{
    if (strcmp(ev->event->type, "accounts.worker.changed") == 0)
        return uses__worker_changed(ev, err);
    if (strcmp(ev->event->type, "accounts.worker.signed-in") == 0)
        return uses__signed_in(ev, err);
    if (strcmp(ev->event->type, "accounts.worker.ended") == 0)
        return uses__ended(ev, err);
    if (strcmp(ev->event->type, "accounts.conflict.declared") == 0)
        return uses__conflict(ev, err);
    return 0;
}

/* The display names seen in the transaction txn names, in the order seen, for one upsert at the
 * flush. txn 0: none. */
static _Thread_local struct {
    uint64_t txn;
    char **ids;
    char **names;
    size_t count;
    size_t capacity;
} uses__people;

static void uses__people_clear(void)
{
    for (size_t i = 0; i < uses__people.count; i++) {
        free(uses__people.ids[i]);
        free(uses__people.names[i]);
    }
    uses__people.count = 0;
}

static int uses__people_gather(uint64_t txn, const char *person, const char *name, tsr_error_t *err)
{
    if (uses__people.txn != txn) {
        /* What an earlier transaction gathered was undone with it. */
        uses__people_clear();
        uses__people.txn = txn;
    }
    if (uses__people.count == uses__people.capacity) {
        size_t capacity = uses__people.capacity ? uses__people.capacity * 2 : 64;
        char **ids = realloc(uses__people.ids, capacity * sizeof(*ids));
        if (ids != NULL)
            uses__people.ids = ids;
        char **names = ids ? realloc(uses__people.names, capacity * sizeof(*names)) : NULL;
        if (names == NULL)
            return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory keeping a name.");
        uses__people.names = names;
        uses__people.capacity = capacity;
    }
    char *id = strdup(person), *copy = strdup(name);
    if (id == NULL || copy == NULL) {
        free(id);
        free(copy);
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory keeping a name.");
    }
    uses__people.ids[uses__people.count] = id;
    uses__people.names[uses__people.count] = copy;
    uses__people.count++;
    return 0;
}

int audit_uses_flush_people(tsr_event_t *ev, tsr_error_t *err)
{
    int rc = 0;
    if (uses__people.txn == ev->txn && uses__people.count > 0) {
        size_t n = uses__people.count;
        size_t *id_lens = calloc(n, sizeof(size_t)), *name_lens = calloc(n, sizeof(size_t));
        uint8_t *ids = NULL, *names = NULL;
        size_t ids_len = 0, names_len = 0;
        if (id_lens != NULL && name_lens != NULL) {
            for (size_t i = 0; i < n; i++) {
                id_lens[i] = strlen(uses__people.ids[i]);
                name_lens[i] = strlen(uses__people.names[i]);
            }
            ids = tsr_db_binary_array(TSR_DB_TEXT_OID, (const uint8_t *const *)uses__people.ids, id_lens, n,
                                      &ids_len);
            names = tsr_db_binary_array(TSR_DB_TEXT_OID, (const uint8_t *const *)uses__people.names,
                                        name_lens, n, &names_len);
        }
        if (ids == NULL || names == NULL) {
            rc = tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory keeping names.");
        } else {
            const char *values[2] = {(const char *)ids, (const char *)names};
            int lengths[2] = {(int)ids_len, (int)names_len}, formats[2] = {1, 1};
            /* One row a person, the name seen last (an upsert may not touch a row twice). */
            PGresult *res =
                tsr_db_exec_bin(ev->conn,
                                "INSERT INTO people (person_id, display_name)"
                                " SELECT DISTINCT ON (p::bigint) p::bigint, n"
                                " FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(p, n, o) ORDER BY "
                                "p::bigint, o DESC"
                                " ON CONFLICT (person_id) DO UPDATE SET display_name = EXCLUDED.display_name"
                                " WHERE people.display_name IS DISTINCT FROM EXCLUDED.display_name",
                                2, values, lengths, formats, err);
            rc = res != NULL ? 0 : -1;
            PQclear(res);
        }
        free(id_lens);
        free(name_lens);
        free(ids);
        free(names);
    }
    uses__people_clear();
    uses__people.txn = 0;
    return rc;
}

/* A duplicate merged into survivor (the event about the record that went forward). Records moves
 * the duplicate's allocations, conflicts and restriction to the survivor; so does this copy, from the
 * merge on, without changing what was the duplicate's before it: a read of either record before the
 * merge is judged as it was. */
static int uses__merged(tsr_event_t *ev, uint64_t survivor_id, uint64_t duplicate_id, tsr_error_t *err)
{
    char survivor[32], duplicate[32], at[32];
    snprintf(survivor, sizeof(survivor), "%" PRIu64, survivor_id);
    snprintf(duplicate, sizeof(duplicate), "%" PRIu64, duplicate_id);
    snprintf(at, sizeof(at), "%" PRId64, ev->event->occurred_at_ms);
    const char *p[3] = {survivor, duplicate, at};
    static const char *const statements[] = {
        /* The duplicate, and whatever was merged into it before, are the survivor's from now. */
        "INSERT INTO merges (survivor_id, duplicate_id, merged_at)"
        " SELECT $1::bigint, $2::bigint, to_timestamp($3::bigint / 1000.0)"
        " UNION SELECT $1::bigint, duplicate_id, to_timestamp($3::bigint / 1000.0) FROM merges"
        "   WHERE survivor_id = $2::bigint AND duplicate_id <> $1::bigint"
        " ON CONFLICT DO NOTHING",
        /* An allocation both held alike (the same worker or team, role and service) is ended on the
         * duplicate's side, as records ends it: the survivor's goes on. */
        "UPDATE allocations d SET ended_at = to_timestamp($3::bigint / 1000.0)"
        " WHERE d.person_id = $2::bigint AND d.ended_at IS NULL AND EXISTS (SELECT 1 FROM allocations s"
        "   WHERE s.person_id = $1::bigint AND s.ended_at IS NULL AND s.id <> d.id"
        "   AND s.role IS NOT DISTINCT FROM d.role AND s.service IS NOT DISTINCT FROM d.service"
        "   AND s.worker_id IS NOT DISTINCT FROM d.worker_id AND s.team_id IS NOT DISTINCT FROM d.team_id)",
        /* A conflict declared about the duplicate is one about the survivor. */
        "INSERT INTO conflicts (worker_id, person_id, declared_at)"
        " SELECT worker_id, $1::bigint, to_timestamp($3::bigint / 1000.0) FROM conflicts"
        " WHERE person_id = $2::bigint ON CONFLICT DO NOTHING",
        /* A restricted duplicate restricts the survivor (if it was not already), for the same reason. */
        "INSERT INTO restriction_periods (person_id, reason, from_at)"
        " SELECT $1::bigint, d.reason, to_timestamp($3::bigint / 1000.0) FROM restriction_periods d"
        " WHERE d.person_id = $2::bigint AND d.to_at IS NULL AND NOT EXISTS (SELECT 1 FROM "
        "restriction_periods s"
        "   WHERE s.person_id = $1::bigint AND s.to_at IS NULL)"
        " ON CONFLICT DO NOTHING",
    };
    for (size_t i = 0; i < sizeof(statements) / sizeof(statements[0]); i++)
        if (tsr_db_defer(ev->conn, statements[i], 3, p, NULL, NULL, err) != 0)
            return -1;
    return 0;
}

int audit_uses_keep_person(tsr_event_t *ev, tsr_error_t *err)
{
    if (strncmp(ev->event->type, "records.person.", 15) != 0)
        return 0;
    Tsr__Records__PersonAccessed *m = (Tsr__Records__PersonAccessed *)tsr_unpack(
        &tsr__records__person_accessed__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (m == NULL)
        return -1;
    char person[32], at[32];
    snprintf(person, sizeof(person), "%" PRIu64, m->person_id);
    snprintf(at, sizeof(at), "%" PRId64, ev->event->occurred_at_ms);
    int rc = 0;
    /* A refusal shows the display name only, which is what this keeps anyway. Gathered, and written
     * for the whole batch by audit_uses_flush_people. */
    if (m->display_name[0] != '\0')
        rc = uses__people_gather(ev->txn, person, m->display_name, err);
    const Tsr__Records__Allocation *a = m->allocation;
    if (rc == 0 && a != NULL && a->id != 0) {
        char id[32], worker[32], team[32];
        snprintf(id, sizeof(id), "%" PRIu64, a->id);
        snprintf(worker, sizeof(worker), "%" PRIu64, a->worker_id);
        snprintf(team, sizeof(team), "%" PRIu64, a->team_id);
        int ended = a->end_date[0] != '\0';
        const char *p[8] = {id,
                            person,
                            a->worker_id ? worker : NULL,
                            a->team_id ? team : NULL,
                            at,
                            ended ? "true" : "false",
                            a->role[0] ? a->role : NULL,
                            a->service[0] ? a->service : NULL};
        /* An allocation moved by a merge keeps the record it was made on: the merge says from when
         * it is the other's too (uses__merged). */
        rc = tsr_db_defer(ev->conn,
                          "INSERT INTO allocations (id, person_id, worker_id, team_id, started_at, ended_at,"
                          " role, service)"
                          " VALUES ($1::bigint, $2::bigint, $3::bigint, $4::bigint,"
                          " to_timestamp($5::bigint / 1000.0),"
                          " CASE WHEN $6::boolean THEN to_timestamp($5::bigint / 1000.0) END, $7, $8)"
                          " ON CONFLICT (id) DO UPDATE SET ended_at = EXCLUDED.ended_at,"
                          " role = coalesce(allocations.role, EXCLUDED.role),"
                          " service = coalesce(allocations.service, EXCLUDED.service)",
                          8, p, NULL, NULL, err);
    }
    if (rc == 0 && strcmp(m->action, "merged") == 0 && m->merged_from != 0)
        rc = uses__merged(ev, m->person_id, m->merged_from, err);
    int restricted = strcmp(m->action, "restricted") == 0;
    if (rc == 0 && (restricted || strcmp(m->action, "unrestricted") == 0)) {
        /* A restriction set again (a new reason) ends the period of the one before. */
        const char *p[3] = {person, at, restricted ? m->restriction_reason : ""};
        rc = tsr_db_defer(
            ev->conn,
            "WITH closed AS (UPDATE restriction_periods SET to_at = to_timestamp($2::bigint / 1000.0)"
            "   WHERE person_id = $1::bigint AND to_at IS NULL"
            "   AND from_at < to_timestamp($2::bigint / 1000.0) RETURNING 1)"
            " INSERT INTO restriction_periods (person_id, reason, from_at)"
            " SELECT $1::bigint, $3, to_timestamp($2::bigint / 1000.0) WHERE $3 <> ''"
            " ON CONFLICT (person_id, from_at) DO UPDATE SET reason = EXCLUDED.reason",
            3, p, NULL, NULL, err);
    }
    tsr__records__person_accessed__free_unpacked(m, NULL);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * The five audits
 * ---------------------------------------------------------------------------------------------- */

/* An access to a person's record, as every audit counts it: each entry of the trail about a person
 * (entry e) that a person made, whatever its action: a read, a change, a search or a list that
 * showed them, a CP-IS plan read or recorded, work about them, a try refused. The trail says what
 * each entry is about; a list of actions here missed every one added after it (addresses, CP-IS
 * plans, Family Context, case notes added, retention flags, steps started), so that a third party's
 * use of unrelated cases went unseen (seed 002). The system's own entries (worker 0) and a machine
 * account's (the CP-IS feed starting a follow-up) are no one's use of a record. */
#define USES_PERSON_ACCESS                                                                                   \
    " e.record_kind = 'person' AND e.worker_id <> 0 AND NOT " TSR_SQL_SERVICE_ACCOUNT("e.roles")
/* A finding's words for entry e: what was done, then what (an SQL text expression), then the
 * action: "Accessed a record not allocated to them or their team (add-case-note)", or for a try
 * refused "Tried to open ... (refused)". */
#define USES_SAYS(what)                                                                                      \
    "CASE WHEN e.action = 'refused' THEN 'Tried to open ' ELSE 'Accessed ' END || " what                     \
    " || ' (' || e.action || ')'"

/* Columns every query returns, in UseFinding's order from finding on. */
#define USES_ENTRY_COLUMNS                                                                                   \
    " e.worker_id, e.username, coalesce(w.name, ''), e.id,"                                                  \
    " (extract(epoch FROM e.occurred_at) * 1000)::bigint, e.action, e.record_kind, e.record_id, e.summary,"  \
    " e.reason"
/* The teams of the reader of entry e when they read (a mover is judged by the team they were in). */
#define USES_TEAMS_AT_READ                                                                                   \
    "coalesce((SELECT h.team_ids FROM worker_teams h WHERE h.worker_id = e.worker_id"                        \
    " AND h.from_at <= e.occurred_at ORDER BY h.from_at DESC LIMIT 1), w.team_ids, '{}')"
/* The record of entry e and the duplicates merged into it by the time of the access: what was made on
 * a duplicate (an allocation, a contract naming it) counts for the record from the merge on. */
#define USES_RECORD_IDS                                                                                      \
    "ARRAY(SELECT e.record_id UNION ALL SELECT m.duplicate_id FROM merges m"                                 \
    " WHERE m.survivor_id = e.record_id AND m.merged_at <= e.occurred_at)"
#define USES_PERIOD_OF(at)                                                                                   \
    " ($1::bigint = 0 OR " at " >= to_timestamp($1::bigint / 1000.0))"                                       \
    " AND ($2::bigint = 0 OR " at " < to_timestamp($2::bigint / 1000.0))"
#define USES_PERIOD USES_PERIOD_OF("e.occurred_at")
/* An allocation a in force when entry e was made. */
#define USES_IN_FORCE "a.started_at <= e.occurred_at AND (a.ended_at IS NULL OR a.ended_at > e.occurred_at)"
/* Whether the record of entry e, or a duplicate merged into it by then, was allocated when e was made
 * to a worker or team such that (over allocations a): the record's own allocations and the
 * duplicates' are two index probes, which cost a quarter of one over an array of both. */
#define USES_ALLOCATED_ON_RECORD(such_that)                                                                  \
    "EXISTS (SELECT 1 FROM allocations a WHERE a.person_id = e.record_id AND " USES_IN_FORCE                 \
    " AND " such_that ")"
#define USES_ALLOCATED_ON_DUPLICATE(such_that)                                                               \
    "EXISTS (SELECT 1 FROM merges m JOIN allocations a ON a.person_id = m.duplicate_id"                      \
    " WHERE m.survivor_id = e.record_id AND m.merged_at <= e.occurred_at AND " USES_IN_FORCE                 \
    " AND " such_that ")"
#define USES_ALLOCATED(such_that)                                                                            \
    "(" USES_ALLOCATED_ON_RECORD(such_that) " OR " USES_ALLOCATED_ON_DUPLICATE(such_that) ")"
/* Its negation as two anti-joins, which the planner can make of NOT EXISTS at the top of a WHERE. */
#define USES_NOT_ALLOCATED(such_that)                                                                        \
    "NOT " USES_ALLOCATED_ON_RECORD(such_that) " AND NOT " USES_ALLOCATED_ON_DUPLICATE(such_that)
/* The last entry of its event: a search or a list shows many people in one event, an entry each. */
#define USES_LAST_OF_EVENT                                                                                   \
    "NOT EXISTS (SELECT 1 FROM entries s WHERE s.producer = e.producer AND s.producer_seq = e.producer_seq"  \
    " AND s.producer_item > e.producer_item)"

/* clang-format would break the statements mid-clause around the macros inside them. */
/* clang-format off */
static const char uses_unallocated_sql[] =
    /* Accesses to people allocated neither to the worker nor to a team of theirs at the time. */
    "SELECT 'not-allocated', " USES_SAYS("'a record not allocated to them or their team'") ","
    USES_ENTRY_COLUMNS
    " FROM entries e LEFT JOIN workers w ON w.worker_id = e.worker_id"
    " WHERE" USES_PERIOD " AND" USES_PERSON_ACCESS
    " AND " USES_NOT_ALLOCATED("(a.worker_id = e.worker_id OR a.team_id = ANY (" USES_TEAMS_AT_READ "))")
    " UNION ALL"
    /* Any access outside working hours (local time, Monday to Friday). */
    " SELECT 'out-of-hours', " USES_SAYS("'a record out of hours, at ' ||"
    "   to_char(e.occurred_at AT TIME ZONE $3, 'Dy DD Mon HH24:MI')") "," USES_ENTRY_COLUMNS
    " FROM entries e LEFT JOIN workers w ON w.worker_id = e.worker_id"
    " WHERE" USES_PERIOD " AND" USES_PERSON_ACCESS
    " AND ((($9::int >> (extract(isodow FROM e.occurred_at AT TIME ZONE $3)::int - 1)) & 1) = 0"
    "   OR extract(hour FROM e.occurred_at AT TIME ZONE $3) * 60"
    "      + extract(minute FROM e.occurred_at AT TIME ZONE $3) NOT BETWEEN $4::int AND $5::int - 1)"
    " UNION ALL"
    /* Many different records in a short time: each access that completes such a run, once an event
     * (a search that shows many people at once is one finding, not one a person). A run needs as
     * many accesses as records: the accesses of each worker's last minutes, counted by one sort (a
     * window, c), leave the few whose different records are worth counting. */
    " SELECT 'many-records', 'Accessed ' || b.records || ' different records within ' || $7::int"
    "   || ' minutes (' || e.action || ')'," USES_ENTRY_COLUMNS
    " FROM (SELECT e.id, (SELECT count(DISTINCT x.record_id) FROM entries x"
    "         WHERE x.worker_id = e.worker_id AND x.record_kind = 'person'"
    "         AND x.occurred_at > e.occurred_at - make_interval(mins => $7::int)"
    "         AND x.occurred_at <= e.occurred_at) AS records"
    "       FROM (SELECT y.id, count(*) OVER (PARTITION BY y.worker_id ORDER BY y.occurred_at"
    "               RANGE BETWEEN make_interval(mins => $7::int) PRECEDING AND CURRENT ROW) AS accesses"
    "             FROM entries y WHERE y.record_kind = 'person' AND ($1::bigint = 0"
    "               OR y.occurred_at >= to_timestamp($1::bigint / 1000.0) - make_interval(mins => $7::int))"
    "             AND ($2::bigint = 0 OR y.occurred_at < to_timestamp($2::bigint / 1000.0))) c"
    "       JOIN entries e ON e.id = c.id"
    "       WHERE c.accesses >= $6::int AND" USES_PERIOD " AND" USES_PERSON_ACCESS " AND " USES_LAST_OF_EVENT ") b"
    " JOIN entries e ON e.id = b.id LEFT JOIN workers w ON w.worker_id = e.worker_id"
    " WHERE b.records >= $6::int"
    " ORDER BY 7, 6";

static const char uses_own_sql[] =
    /* A declared conflict keeps the record from the worker: a try refused counts as much as a read. */
    "SELECT 'declared-conflict',"
    USES_SAYS("'the record of someone they declared a conflict of interest about'") "," USES_ENTRY_COLUMNS
    " FROM entries e JOIN conflicts c ON c.worker_id = e.worker_id AND c.person_id = e.record_id"
    " LEFT JOIN workers w ON w.worker_id = e.worker_id"
    " WHERE" USES_PERIOD " AND" USES_PERSON_ACCESS
    " UNION ALL"
    " SELECT 'same-family-name', " USES_SAYS("'the record of someone with their own family name, ' ||"
    "   lower(substring(w.name FROM '([^ ]+)$'))") "," USES_ENTRY_COLUMNS
    " FROM entries e JOIN workers w ON w.worker_id = e.worker_id JOIN people p ON p.person_id = e.record_id"
    " WHERE" USES_PERIOD " AND" USES_PERSON_ACCESS
    " AND lower(substring(w.name FROM '([^ ]+)$')) = lower(substring(p.display_name FROM '([^ ]+)$'))"
    " AND NOT EXISTS (SELECT 1 FROM conflicts c WHERE c.worker_id = e.worker_id AND c.person_id = e.record_id)"
    " UNION ALL"
    /* Celebrities: the record of someone restricted as high-profile at the time, opened (or tried) by
     * a worker it was allocated neither to nor to a team of theirs. Restricting it is no access made
     * while it was restricted. */
    " SELECT 'high-profile', " USES_SAYS("'the record of a high-profile person, not allocated to them'") ","
    USES_ENTRY_COLUMNS
    " FROM entries e JOIN restriction_periods r ON r.person_id = e.record_id AND r.reason = 'high-profile'"
    "   AND r.from_at < e.occurred_at AND (r.to_at IS NULL OR r.to_at > e.occurred_at)"
    " LEFT JOIN workers w ON w.worker_id = e.worker_id"
    " WHERE" USES_PERIOD " AND" USES_PERSON_ACCESS
    " AND " USES_NOT_ALLOCATED("(a.worker_id = e.worker_id OR a.team_id = ANY (" USES_TEAMS_AT_READ "))")
    " ORDER BY 7, 6";

/* Each access judged by the contract in force when it was made: its cases, and its end date. */
#define USES_AFTER_CONTRACT                                                                                  \
    "c.contract_end_date IS NOT NULL AND (e.occurred_at AT TIME ZONE $3)::date > c.contract_end_date"
static const char uses_third_party_sql[] =
    "SELECT CASE WHEN " USES_AFTER_CONTRACT " THEN 'after-contract' ELSE 'outside-contract' END,"
    " CASE WHEN " USES_AFTER_CONTRACT
    "   THEN " USES_SAYS("'a record after the contract ''' || c.contract_name || ''' ended on '"
    "     || to_char(c.contract_end_date, 'DD/MM/YYYY')")
    "   ELSE " USES_SAYS("'a record outside the cases of the contract ''' || c.contract_name || ''''") " END,"
    USES_ENTRY_COLUMNS
    " FROM entries e JOIN contract_periods c ON c.worker_id = e.worker_id AND c.from_at <= e.occurred_at"
    "   AND (c.to_at IS NULL OR c.to_at > e.occurred_at)"
    " LEFT JOIN workers w ON w.worker_id = e.worker_id"
    " WHERE" USES_PERIOD " AND" USES_PERSON_ACCESS
    " AND (NOT c.contract_person_ids && " USES_RECORD_IDS " OR " USES_AFTER_CONTRACT ")"
    " ORDER BY 7, 6";

/* Whether two arrays hold the same items, in whatever order: roles re-sent in another order are no
 * change of role. */
#define USES_SAME_ITEMS(a, b) "(" a " @> " b " AND " a " <@ " b ")"
/* Accounts rather than accesses: the entry columns are those of the last use, if any. Movers: each
 * change of an account's teams or roles in the period, for the auditor to see that what the old ones
 * gave has ended; and each access, after a move, to a record then allocated to a team the worker had
 * left and to none of their teams now, nor to them. Leavers: each account ended in the period, who
 * ended it (the trail's end-account entry, the finding's entry), when and why; each use of an account
 * after it ended; each third party's account still open after its contract ended. */
static const char uses_leavers_sql[] =
    "SELECT 'moved', CASE WHEN NOT " USES_SAME_ITEMS("o.team_ids", "h.team_ids") " THEN 'Moved on '"
    "   || to_char(h.from_at AT TIME ZONE $3, 'DD/MM/YYYY') || ' from '"
    "   || coalesce(nullif(array_to_string(o.team_names, ', '), ''), 'no team') || ' to '"
    "   || coalesce(nullif(array_to_string(h.team_names, ', '), ''), 'no team')"
    "   || CASE WHEN NOT " USES_SAME_ITEMS("o.roles", "h.roles") " THEN '; roles '"
    "     || array_to_string(o.roles, ', ') || ' to ' || array_to_string(h.roles, ', ') ELSE '' END"
    "   ELSE 'Roles changed on ' || to_char(h.from_at AT TIME ZONE $3, 'DD/MM/YYYY') || ' from '"
    "     || array_to_string(o.roles, ', ') || ' to ' || array_to_string(h.roles, ', ') END,"
    " w.worker_id, w.username, w.name, 0::bigint, (extract(epoch FROM h.from_at) * 1000)::bigint,"
    " '', '', 0::bigint, '', ''"
    " FROM worker_teams h JOIN worker_teams o ON o.worker_id = h.worker_id AND o.to_at = h.from_at"
    " JOIN workers w ON w.worker_id = h.worker_id"
    " WHERE" USES_PERIOD_OF("h.from_at")
    " AND NOT (" USES_SAME_ITEMS("o.team_ids", "h.team_ids") " AND " USES_SAME_ITEMS("o.roles", "h.roles") ")"
    " UNION ALL"
    " SELECT 'old-team-after-moving', " USES_SAYS("'a record of ' || (SELECT string_agg(n, ', ')"
    "   FROM unnest(o.team_ids, o.team_names) AS t(id, n) WHERE t.id IN (SELECT a.team_id FROM allocations a"
    "   WHERE a.person_id = ANY (" USES_RECORD_IDS ") AND " USES_IN_FORCE "))"
    "   || ', a team they left on ' || to_char(h.from_at AT TIME ZONE $3, 'DD/MM/YYYY')") ","
    USES_ENTRY_COLUMNS
    " FROM entries e JOIN workers w ON w.worker_id = e.worker_id"
    " JOIN worker_teams h ON h.worker_id = e.worker_id AND h.from_at <= e.occurred_at"
    "   AND (h.to_at IS NULL OR h.to_at > e.occurred_at)"
    " JOIN worker_teams o ON o.worker_id = h.worker_id AND o.to_at = h.from_at"
    " WHERE" USES_PERIOD " AND" USES_PERSON_ACCESS
    " AND " USES_ALLOCATED("a.team_id = ANY (o.team_ids) AND NOT a.team_id = ANY (h.team_ids)")
    " AND " USES_NOT_ALLOCATED("(a.worker_id = e.worker_id OR a.team_id = ANY (h.team_ids))")
    " UNION ALL"
    /* The account's last end-account entry says who ended it; the reason is kept from the event. */
    " SELECT 'ended', 'Account ended on ' || to_char(w.ended_at AT TIME ZONE $3, 'DD/MM/YYYY \"at\" HH24:MI')"
    "   || coalesce(' by ' || coalesce(nullif(b.name, ''), e.username) || ' (' || e.username || ')', '')"
    "   || CASE WHEN w.ended_reason <> '' THEN ': ' || w.ended_reason ELSE '' END,"
    " w.worker_id, w.username, w.name, coalesce(e.id, 0), (extract(epoch FROM w.ended_at) * 1000)::bigint,"
    " coalesce(e.action, ''), coalesce(e.record_kind, ''), coalesce(e.record_id, 0), coalesce(e.summary, ''),"
    " coalesce(e.reason, '')"
    " FROM workers w LEFT JOIN LATERAL (SELECT x.* FROM entries x WHERE x.record_kind = 'worker'"
    "   AND x.record_id = w.worker_id AND x.action = 'end-account' ORDER BY x.id DESC LIMIT 1) e ON true"
    " LEFT JOIN workers b ON b.worker_id = e.worker_id"
    " WHERE w.ended AND" USES_PERIOD_OF("w.ended_at")
    " UNION ALL"
    " SELECT 'used-after-leaving', 'Account ended on ' || to_char(w.ended_at AT TIME ZONE $3, 'DD/MM/YYYY')"
    "   || ' and used after it'," USES_ENTRY_COLUMNS
    " FROM workers w JOIN entries e ON e.worker_id = w.worker_id"
    " WHERE" USES_PERIOD " AND w.ended AND e.occurred_at > w.ended_at"
    " UNION ALL"
    " SELECT 'contract-over-account-open', 'The contract ''' || w.contract_name || ''' ended on '"
    "   || to_char(w.contract_end_date, 'DD/MM/YYYY') || ' but the account has not been ended',"
    " w.worker_id, w.username, w.name, 0::bigint, 0::bigint, '', '', 0::bigint, '', ''"
    " FROM workers w WHERE w.third_party AND NOT w.ended AND w.contract_end_date IS NOT NULL"
    " AND w.contract_end_date < (CASE WHEN $2::bigint = 0 THEN now() ELSE to_timestamp($2::bigint / 1000.0) END"
    "   AT TIME ZONE $3)::date"
    " ORDER BY 5, 3";
/* clang-format on */

static const char uses_dormant_sql[] =
    "SELECT 'dormant', CASE WHEN last_use IS NULL THEN 'Never used since the account was opened on '"
    "   || to_char(w.first_seen_at AT TIME ZONE $3, 'DD/MM/YYYY')"
    "   ELSE 'Not used since ' || to_char(last_use AT TIME ZONE $3, 'DD/MM/YYYY') END,"
    " w.worker_id, w.username, w.name, 0::bigint, coalesce((extract(epoch FROM last_use) * 1000)::bigint, 0),"
    " '', '', 0::bigint, '', ''"
    " FROM (SELECT w.*, greatest(w.last_sign_in_at, (SELECT max(occurred_at) FROM entries e"
    "   WHERE e.worker_id = w.worker_id)) AS last_use FROM workers w) w"
    " WHERE NOT w.ended AND coalesce(last_use, w.first_seen_at)"
    "   < (CASE WHEN $2::bigint = 0 THEN now() ELSE to_timestamp($2::bigint / 1000.0) END)"
    "     - make_interval(days => $8::int)"
    " ORDER BY 7, 4";

static const struct {
    const char *kind;
    const char *title;
    const char *sql;
} uses_reports[] = {
    {"unallocated-access",
     "Unusual activity: records not allocated to the worker, out of hours, many at once",
     uses_unallocated_sql},
    {"own-or-connected-records", "Workers' access to their own records or those of people connected to them",
     uses_own_sql},
    {"third-party-access", "Third-party accounts' access to records outside their contract",
     uses_third_party_sql},
    {"leavers", "Movers and leavers: accounts changed, ended, or used after leaving", uses_leavers_sql},
    {"dormant-accounts", "Accounts not used for six months", uses_dormant_sql},
};

static const char *const uses_readers[] = {"auditor", "admin", "system", NULL};

/* Unix ms as RFC 3339 UTC, "" for 0. */
static void uses__time(int64_t ms, char out[32])
{
    out[0] = '\0';
    if (ms == 0)
        return;
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The file's name: the audit and its period's first and last days (UTC days, as its dates are
 * read), as the report's is (consultations-in-period_2022-11-14_2022-12-01.csv), so that the
 * downloads of several periods are told apart: audit-leavers_2026-01-01_2026-03-31.csv. With no
 * first day the period runs from the trail's beginning (audit-leavers_to_2026-03-31.csv); with no
 * last it runs to now, and today is its last day. */
static void uses__filename(const char *kind, int64_t from_ms, int64_t to_ms, const char *ext, char *out,
                           size_t size)
{
    int64_t last_ms = (to_ms ? to_ms : (int64_t)time(NULL) * 1000) - 1; /* 'to' is not in the period */
    char first[32] = "to", last[32];
    struct tm tm;
    time_t t = (time_t)(from_ms / 1000);
    if (from_ms != 0 && gmtime_r(&t, &tm) != NULL)
        strftime(first, sizeof(first), "%Y-%m-%d", &tm);
    t = (time_t)(last_ms / 1000);
    if (gmtime_r(&t, &tm) == NULL || strftime(last, sizeof(last), "%Y-%m-%d", &tm) == 0)
        snprintf(last, sizeof(last), "now");
    snprintf(out, size, "audit-%s_%s_%s.%s", kind, first, last, ext);
}

/* The columns of a finding, in the CSV's order; JSON names them the same. */
static const char *const uses_columns[] = {
    "finding", "detail",      "worker_id", "username", "worker_name", "entry_id", "occurred_at",
    "action",  "record_kind", "record_id", "summary",  "reason",      NULL};

static char *uses__csv(const PGresult *res, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (f == NULL)
        return NULL;
    fputs(TSR_TEXT_CSV_BOM, f);
    for (int c = 0; uses_columns[c]; c++)
        fprintf(f, "%s%s", c ? "," : "", uses_columns[c]);
    fputs("\r\n", f);
    int ok = 1;
    for (int i = 0; i < PQntuples(res); i++) {
        for (int c = 0; uses_columns[c]; c++) {
            char when[32];
            const char *value = PQgetvalue(res, i, c);
            if (c == 5 || c == 9)
                value = strcmp(value, "0") == 0 ? "" : value; /* an account, not an access */
            if (c == 6) {
                uses__time(strtoll(value, NULL, 10), when);
                value = when;
            }
            char *field = tsr_text_csv_field(value);
            ok = ok && field != NULL;
            fprintf(f, "%s%s", c ? "," : "", field ? field : "");
            free(field);
        }
        fputs("\r\n", f);
    }
    if (fclose(f) != 0 || !ok) {
        free(buf);
        return NULL;
    }
    return buf;
}

static char *uses__json(const PGresult *res, const char *kind, const char *title, int64_t from_ms,
                        int64_t to_ms, size_t *len)
{
    json_t *findings = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        char when[32];
        uses__time(strtoll(PQgetvalue(res, i, 6), NULL, 10), when);
        json_t *f = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "finding", PQgetvalue(res, i, 0), "detail",
                              PQgetvalue(res, i, 1), "worker", "id", PQgetvalue(res, i, 2), "username",
                              PQgetvalue(res, i, 3), "name", PQgetvalue(res, i, 4));
        if (f == NULL)
            continue;
        if (strcmp(PQgetvalue(res, i, 5), "0") != 0) {
            json_object_set_new(f, "entry_id", json_string(PQgetvalue(res, i, 5)));
            json_object_set_new(f, "action", json_string(PQgetvalue(res, i, 7)));
            json_object_set_new(
                f, "record",
                json_pack("{s:s, s:s}", "kind", PQgetvalue(res, i, 8), "id", PQgetvalue(res, i, 9)));
            json_object_set_new(f, "summary", json_string(PQgetvalue(res, i, 10)));
            json_object_set_new(f, "reason", json_string(PQgetvalue(res, i, 11)));
        }
        /* For an access, when it happened; for an account, its last use (none when never used). */
        json_object_set_new(f, "occurred_at", when[0] ? json_string(when) : json_null());
        json_array_append_new(findings, f);
    }
    char from[32], to[32];
    uses__time(from_ms, from);
    uses__time(to_ms, to);
    json_t *body = json_pack("{s:s, s:s, s:o, s:o, s:o}", "kind", kind, "title", title, "from",
                             from[0] ? json_string(from) : json_null(), "to",
                             to[0] ? json_string(to) : json_null(), "findings", findings);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    *len = text ? strlen(text) : 0;
    return text;
}

int audit_uses_report(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Audit__UseReportQuery *q = (const Tsr__Audit__UseReportQuery *)call->payload;
    if (tsr_actor_require_role(call->actor, uses_readers, "run the audits of use", err) != 0)
        return -1;
    size_t k = 0;
    while (k < sizeof(uses_reports) / sizeof(uses_reports[0]) && strcmp(uses_reports[k].kind, q->kind) != 0)
        k++;
    if (k == sizeof(uses_reports) / sizeof(uses_reports[0]))
        return tsr_error_set(err, TSR_E_NOT_FOUND, "unknown_report", "kind",
                             "There is no audit of use called \"%.40s\"; the audits are unallocated-access, "
                             "own-or-connected-records, third-party-access, leavers and dormant-accounts.",
                             q->kind);
    const char *format = q->format[0] ? q->format : "json";
    if (strcmp(format, "json") != 0 && strcmp(format, "csv") != 0)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_format", "format",
                             "The format must be json or csv, not \"%.20s\".", format);
    if (q->from_ms && q->to_ms && q->to_ms <= q->from_ms)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_period", "to", "'to' must come after 'from'.");
    char from[32], to[32], starts[16], ends[16], burst[16], minutes[16], dormant[16], days[16];
    snprintf(from, sizeof(from), "%" PRId64, q->from_ms);
    snprintf(to, sizeof(to), "%" PRId64, q->to_ms);
    snprintf(starts, sizeof(starts), "%ld", uses_config.day_starts_minute);
    snprintf(ends, sizeof(ends), "%ld", uses_config.day_ends_minute);
    snprintf(burst, sizeof(burst), "%ld", uses_config.burst_records);
    snprintf(minutes, sizeof(minutes), "%ld", uses_config.burst_minutes);
    snprintf(dormant, sizeof(dormant), "%ld", uses_config.dormant_days);
    snprintf(days, sizeof(days), "%ld", uses_config.working_days);
    const char *p[9] = {from, to, uses_config.timezone, starts, ends, burst, minutes, dormant, days};
    /* Each query uses the parameters it needs; the unused CTE gives every one of the nine its type. */
    char sql[8192];
    snprintf(
        sql, sizeof(sql),
        "WITH parameters AS (SELECT $1::bigint, $2::bigint, $3::text, $4::int, $5::int, $6::int, $7::int,"
        " $8::int, $9::int) %s",
        uses_reports[k].sql);
    PGresult *res = tsr_db_exec(call->conn, sql, 9, p, err);
    if (res == NULL)
        return -1;
    size_t len = 0;
    int csv = strcmp(format, "csv") == 0;
    char *body =
        csv ? uses__csv(res, &len)
            : uses__json(res, uses_reports[k].kind, uses_reports[k].title, q->from_ms, q->to_ms, &len);
    Tsr__Audit__UseReportOutput out = TSR__AUDIT__USE_REPORT_OUTPUT__INIT;
    char filename[128];
    uses__filename(uses_reports[k].kind, q->from_ms, q->to_ms, csv ? "csv" : "json", filename,
                   sizeof(filename));
    out.content_type = csv ? "text/csv; charset=utf-8" : "application/json";
    out.filename = filename;
    out.body.data = (uint8_t *)body;
    out.body.len = len;
    out.findings = (uint32_t)PQntuples(res);
    PQclear(res);
    if (body == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory writing the audit.");
    tsr_call_reply(call, &out.base);
    free(body);
    return 0;
}
