#include "merges.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "people.h"
#include "records.pb-c.h"
#include "tsr_envelope.h"

static const char *const mergers[] = {"admin", "system-support", "system", NULL};

/* Each statement moves one kind of reference from the duplicate ($2) to the survivor ($1). */
static const char *const merge_statements[] = {
    /* An allocation both records have open (the same key worker or team for the same service) is
     * ended on the duplicate's side today: the survivor would otherwise list it twice. */
    "UPDATE allocations d SET end_date = office_today() WHERE d.person_id = $2::bigint AND d.end_date IS NULL"
    " AND EXISTS (SELECT 1 FROM allocations s WHERE s.person_id = $1::bigint AND s.end_date IS NULL"
    "   AND s.role = d.role AND s.service = d.service AND s.worker_id IS NOT DISTINCT FROM d.worker_id"
    "   AND s.team_id IS NOT DISTINCT FROM d.team_id)",
    "UPDATE allocations SET person_id = $1::bigint WHERE person_id = $2::bigint",
    "UPDATE case_notes SET person_id = $1::bigint WHERE person_id = $2::bigint",
    "UPDATE case_note_removals SET person_id = $1::bigint WHERE person_id = $2::bigint",
    "UPDATE involvements SET person_id = $1::bigint WHERE person_id = $2::bigint",
    "UPDATE addresses SET person_id = $1::bigint WHERE person_id = $2::bigint",
    "UPDATE people SET mother_id = $1::bigint WHERE mother_id = $2::bigint",
    /* The other services' Family Context rows tied by the duplicate's case ID: a case ID is the
     * record it went into, as a load after the merge ties them (docs/family-context-sources.md). */
    "UPDATE fc_records SET person_id = $1::bigint WHERE person_id = $2::bigint",
    /* Relationships both ways, except one between the two records being merged. */
    "INSERT INTO relationships (person_id, related_id, type, created_by)"
    " SELECT $1::bigint, related_id, type, created_by FROM relationships"
    " WHERE person_id = $2::bigint AND related_id <> $1::bigint ON CONFLICT DO NOTHING",
    "INSERT INTO relationships (person_id, related_id, type, created_by)"
    " SELECT person_id, $1::bigint, type, created_by FROM relationships"
    " WHERE related_id = $2::bigint AND person_id <> $1::bigint ON CONFLICT DO NOTHING",
    "DELETE FROM relationships WHERE (person_id = $2::bigint OR related_id = $2::bigint) AND $1::bigint IS "
    "NOT NULL",
    "INSERT INTO conflicts (worker_id, person_id) SELECT worker_id, $1::bigint FROM conflicts"
    " WHERE person_id = $2::bigint ON CONFLICT DO NOTHING",
    /* No restriction is lost (merge__restrictions has refused two that differ): a restricted
     * duplicate makes the survivor restricted, with its reason, review date and access list; a
     * survivor restricted alike keeps its own, reviewed by the earlier of the two dates. */
    "WITH restricted AS (INSERT INTO restrictions (person_id, reason, review_date, created_by)"
    "  SELECT $1::bigint, reason, review_date, created_by FROM restrictions WHERE person_id = $2::bigint"
    "  ON CONFLICT (person_id) DO NOTHING RETURNING person_id)"
    " INSERT INTO restriction_access (person_id, worker_id) SELECT r.person_id, a.worker_id"
    " FROM restricted r JOIN restriction_access a ON a.person_id = $2::bigint",
    "UPDATE restrictions s SET review_date = d.review_date FROM restrictions d"
    " WHERE s.person_id = $1::bigint AND d.person_id = $2::bigint AND d.review_date < s.review_date",
    /* Retention: for each service the flag kept longer; a hold on either holds the survivor. */
    "INSERT INTO retention_flags (person_id, service, criterion, criterion_title, closed_on, keep_until,"
    " flagged_by, flagged_at) SELECT $1::bigint, service, criterion, criterion_title, closed_on, keep_until,"
    " flagged_by, flagged_at FROM retention_flags WHERE person_id = $2::bigint"
    " ON CONFLICT (person_id, service) DO UPDATE SET criterion = EXCLUDED.criterion,"
    " criterion_title = EXCLUDED.criterion_title, closed_on = EXCLUDED.closed_on,"
    " keep_until = EXCLUDED.keep_until, flagged_by = EXCLUDED.flagged_by, flagged_at = EXCLUDED.flagged_at"
    " WHERE retention_flags.keep_until < EXCLUDED.keep_until",
    "DELETE FROM retention_flags WHERE person_id = $2::bigint AND $1::bigint IS NOT NULL",
    "INSERT INTO retention_holds (person_id, reason, review_date, held_by, held_at)"
    " SELECT $1::bigint, reason, review_date, held_by, held_at FROM retention_holds WHERE person_id = "
    "$2::bigint"
    " ON CONFLICT (person_id) DO NOTHING",
    "DELETE FROM retention_holds WHERE person_id = $2::bigint AND $1::bigint IS NOT NULL",
    /* What the survivor lacks, the duplicate supplies; its legal name becomes another name. */
    "UPDATE people s SET date_of_birth = coalesce(s.date_of_birth, d.date_of_birth),"
    " other_names = s.other_names || CASE WHEN btrim(d.given_name || ' ' || d.family_name)"
    "   <> btrim(s.given_name || ' ' || s.family_name)"
    "   THEN ARRAY[btrim(d.given_name || ' ' || d.family_name)] ELSE '{}' END || d.other_names,"
    " search_names = s.search_names || ' ' || d.search_names"
    " FROM people d WHERE s.id = $1::bigint AND d.id = $2::bigint",
};

/* One person lives at one main address at a time. Of the two records' main addresses current now,
 * each but the one begun last ends the day before the next began (not before its own start), as a
 * move recorded on one record would have ended it; the survivor's comes after the duplicate's begun
 * the same day. Run before the duplicate's addresses move, while it can be told whose each is. The
 * addresses ended, for the merge's audit entry. */
static const char merge_main_addresses[] =
    "UPDATE addresses a SET end_date = greatest(a.start_date, n.next_start - 1)"
    " FROM (SELECT id, lead(start_date) OVER (ORDER BY start_date, person_id = $1::bigint, id) AS next_start"
    "       FROM addresses WHERE person_id IN ($1::bigint, $2::bigint) AND type = 'main'"
    "        AND (end_date IS NULL OR end_date >= office_today())) n"
    " WHERE a.id = n.id AND n.next_start IS NOT NULL AND (a.end_date IS NULL OR a.end_date >= n.next_start)"
    " RETURNING a.id, a.end_date::text";

/* The names of the workers on a restriction's access list (restriction_access a), three at most and
 * how many more: for system support, who act on them. A worker not heard of since records kept names
 * is shown by id. */
#define MERGE_NAMED(filter)                                                                                  \
    "coalesce((SELECT string_agg(n, ', ') FROM (SELECT coalesce(nullif(w.name, ''), 'worker ' || "           \
    "a.worker_id)"                                                                                           \
    " AS n FROM restriction_access a LEFT JOIN workers w ON w.id = a.worker_id WHERE " filter                \
    " ORDER BY a.worker_id LIMIT 3) l), '') || coalesce((SELECT ' and ' || (count(*) - 3) || ' more'"        \
    " FROM restriction_access a WHERE " filter " HAVING count(*) > 3), '')"

/* A record holds one restriction (one reason, review date and access list), so a merge of two
 * restricted records would keep one and lose the other: a child known to MAPPA would be remembered
 * only as under case review, and the workers the duplicate's list named would lose the child. Which
 * reason stands and who keeps access is system support's decision on a restriction request (seed
 * 002), not the merge's: two restrictions that differ are refused, naming both, until system support
 * restrict the records alike (the same reason, the survivor's list naming everyone the duplicate's
 * does). What the merge does to each restriction is put in words for the audit entry. */
static int merge__restrictions(tsr_call_t *call, const char *const params[2], const char *survivor,
                               const char *duplicate, char *words, size_t size, tsr_error_t *err)
{
    words[0] = '\0';
    PGresult *res = tsr_db_exec(
        call->conn,
        "SELECT r.person_id = $1::bigint, r.reason, r.review_date::text,"
        " (SELECT count(*) FROM restriction_access a WHERE a.person_id = r.person_id),"
        " " MERGE_NAMED(
            "a.person_id = r.person_id") ","
                                         " " MERGE_NAMED(
                                             "a.person_id = r.person_id AND r.person_id = $2::bigint AND NOT "
                                             "EXISTS (SELECT 1 FROM"
                                             " restriction_access s WHERE s.person_id = $1::bigint AND "
                                             "s.worker_id = a.worker_id)") " FROM restrictions r WHERE "
                                                                           "r.person_id IN ($1::bigint, "
                                                                           "$2::bigint) ORDER BY r.person_id "
                                                                           "= $2::bigint",
        2, params, err);
    if (res == NULL)
        return -1;
    int rows = PQntuples(res), rc = 0;
    int survivors = rows > 0 && PQgetvalue(res, 0, 0)[0] == 't';
    if (rows == 1 && survivors)
        snprintf(words, size,
                 "; %s (%s) was restricted (%s, review by %s, %s named on its access list): its restriction "
                 "now covers what the duplicate held, which was not restricted",
                 survivor, params[0], PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3));
    else if (rows == 1)
        snprintf(words, size,
                 "; the duplicate was restricted (%s, review by %s, %s named on its access list): its "
                 "restriction now restricts %s (%s), which was not",
                 PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3), survivor, params[0]);
    else if (rows == 2 && strcmp(PQgetvalue(res, 0, 1), PQgetvalue(res, 1, 1)) != 0)
        rc = tsr_error_set(
            err, TSR_E_CONFLICT, "both_restricted", "duplicate_id",
            "Both records are restricted and a record holds one restriction, so the merge would "
            "lose one: agree which reason stands and who keeps access, restrict both alike (the "
            "same reason; this record's list naming everyone the duplicate's does), then merge. "
            "%s (%s): %s, review by %s, naming %s. Duplicate %s (%s): %s, review by %s, naming "
            "%s.",
            survivor, params[0], PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
            PQgetvalue(res, 0, 4)[0] ? PQgetvalue(res, 0, 4) : "no one", duplicate, params[1],
            PQgetvalue(res, 1, 1), PQgetvalue(res, 1, 2),
            PQgetvalue(res, 1, 4)[0] ? PQgetvalue(res, 1, 4) : "no one");
    else if (rows == 2 && PQgetvalue(res, 1, 5)[0] != '\0')
        rc = tsr_error_set(
            err, TSR_E_CONFLICT, "both_restricted", "duplicate_id",
            "Both records are restricted for %s, and the duplicate %s (%s) gives access to %s, "
            "whom the restriction of %s (%s) does not name: add them to this record's "
            "restriction, or take them off the duplicate's, then merge.",
            PQgetvalue(res, 0, 1), duplicate, params[1], PQgetvalue(res, 1, 5), survivor, params[0]);
    else if (rows == 2)
        snprintf(words, size,
                 "; both were restricted for %s: the restriction of %s (%s) stands, %s named on its access "
                 "list (every one the duplicate's named), review by %s",
                 PQgetvalue(res, 0, 1), survivor, params[0], PQgetvalue(res, 0, 3),
                 strcmp(PQgetvalue(res, 1, 2), PQgetvalue(res, 0, 2)) < 0 ? PQgetvalue(res, 1, 2)
                                                                          : PQgetvalue(res, 0, 2));
    PQclear(res);
    return rc;
}

int records_person_merge(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__PersonMerge *in = (const Tsr__Records__PersonMerge *)call->payload;
    if (tsr_actor_require_role(call->actor, mergers, "merge records", err) != 0)
        return -1;
    if (in->survivor_id == in->duplicate_id)
        return tsr_error_set(err, TSR_E_INVALID, "same_record", "duplicate_id",
                             "A record cannot be merged into itself.");
    char s[32], d[32];
    snprintf(s, sizeof(s), "%" PRIu64, in->survivor_id);
    snprintf(d, sizeof(d), "%" PRIu64, in->duplicate_id);
    const char *params[2] = {s, d};
    /* Lock both and check neither has been merged already (before their names are read, which a
     * merged record refuses). */
    PGresult *res = tsr_db_exec(
        call->conn,
        "SELECT id, coalesce(merged_into::text, '') FROM people WHERE id IN ($1::bigint, $2::bigint)"
        " ORDER BY id FOR UPDATE",
        2, params, err);
    if (res == NULL)
        return -1;
    for (int i = 0; i < PQntuples(res); i++)
        if (PQgetvalue(res, i, 1)[0] != '\0') {
            tsr_error_set(err, TSR_E_CONFLICT, "already_merged", NULL,
                          "Record %s has already been merged into record %s; merge into the record that "
                          "went forward.",
                          PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
            PQclear(res);
            return -1;
        }
    PQclear(res);
    char survivor[256], duplicate[256];
    if (records_person_display(call, in->survivor_id, survivor, sizeof(survivor), err) != 0)
        return -1;
    if (records_person_display(call, in->duplicate_id, duplicate, sizeof(duplicate), err) != 0) {
        snprintf(err->field, sizeof(err->field), "duplicate_id");
        return -1;
    }
    char restricted[600];
    if (merge__restrictions(call, params, survivor, duplicate, restricted, sizeof(restricted), err) != 0)
        return -1;
    /* The duplicate's NHS number moves only if the survivor has none (it is unique: free it first). */
    res = tsr_db_exec(call->conn,
                      "SELECT (SELECT nhs_number FROM people WHERE id = $1::bigint) IS NULL,"
                      " coalesce((SELECT nhs_number FROM people WHERE id = $2::bigint), '')",
                      2, params, err);
    if (res == NULL)
        return -1;
    char nhs[16] = "";
    if (strcmp(PQgetvalue(res, 0, 0), "t") == 0)
        snprintf(nhs, sizeof(nhs), "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    if (nhs[0] != '\0') {
        res = tsr_db_exec(call->conn,
                          "UPDATE people SET nhs_number = NULL WHERE id = $2::bigint AND $1::bigint > 0", 2,
                          params, err);
        if (res == NULL)
            return -1;
        PQclear(res);
        const char *move[2] = {s, nhs};
        res =
            tsr_db_exec(call->conn, "UPDATE people SET nhs_number = $2 WHERE id = $1::bigint", 2, move, err);
        if (res == NULL)
            return -1;
        PQclear(res);
    }
    char ended[256] = "";
    res = tsr_db_exec(call->conn, merge_main_addresses, 2, params, err);
    if (res == NULL)
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        size_t n = strlen(ended);
        snprintf(ended + n, sizeof(ended) - n, "; main address %s ended %s, as a later one began",
                 PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
    }
    PQclear(res);
    for (size_t i = 0; i < sizeof(merge_statements) / sizeof(merge_statements[0]); i++) {
        res = tsr_db_exec(call->conn, merge_statements[i], 2, params, err);
        if (res == NULL)
            return -1;
        PQclear(res);
    }
    res = tsr_db_exec(call->conn,
                      "UPDATE people SET merged_into = $1::bigint, merged_at = now() WHERE id = $2::bigint",
                      2, params, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    char summary[2048];
    snprintf(summary, sizeof(summary), "Merged duplicate record %s (%s) into %s (%s)%s%s", duplicate, d,
             survivor, s, restricted, ended);
    if (records_person_audit_merge(call, in->survivor_id, survivor, in->duplicate_id, summary, err) != 0 ||
        records_person_audit(call, in->duplicate_id, duplicate, "merged", summary, err) != 0)
        return -1;
    return records_person_reply_changed(call, in->survivor_id, err);
}
