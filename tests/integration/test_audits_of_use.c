/* The five audits of use of seed 002, through the API and the batch tool: each finds the cases
 * planted here and nothing else. The suite runs with every day a working day round the clock (so
 * nothing is out of hours until the test says so), and four different records within an hour as
 * "many at once".
 *
 * Time cannot be made to pass in a test: a leaver's leaving date, an expired contract and six
 * months without use are planted by moving the dates the audit daemon holds back, as time would. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tsr_testenv.h"

static char *admin;

static void read_person(const char *token, const char *id)
{
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/people/%s", id);
    testenv_response_t r = testenv_http(testenv, "GET", path, token, NULL, NULL);
    if (r.status != 200)
        fail_msg("reading person %s: %ld %s", id, r.status, r.body);
    testenv_response_free(&r);
}

static void post(const char *path, const char *body, long status)
{
    testenv_response_t r = testenv_http(testenv, "POST", path, admin, body, NULL);
    if (r.status != status)
        fail_msg("POST %s %s: %ld %s", path, body, r.status, r.body);
    testenv_response_free(&r);
}

/* Waits until the audit daemon holds n accounts matching where (its copy comes from events). */
static void wait_audit_sql(const char *sql, long want)
{
    for (int i = 0; i < 200; i++) {
        if (testenv_sql_long(testenv, sql) == want)
            return;
        usleep(50 * 1000);
    }
    fail_msg("the audit daemon never got to %ld for: %s (it has %ld)", want, sql,
             testenv_sql_long(testenv, sql));
}

/* An audit through the API, as the auditor runs it (the caller releases it). */
static json_t *report(const char *kind, const char *query)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/audit/reports/%s?%s", kind, query);
    char *auditor = testenv_login(testenv, "auditor");
    json_t *body = testenv_call_json(testenv, auditor, "GET", path, NULL, 200);
    free(auditor);
    assert_true(json_is_array(json_object_get(body, "findings")));
    return body;
}

/* The findings of an audit through the API, as "finding username record" lines, sorted. */
static char *findings(const char *kind, const char *query)
{
    json_t *body = report(kind, query);
    json_t *list = json_object_get(body, "findings");
    size_t n = json_array_size(list);
    char **lines = calloc(n + 1, sizeof(char *));
    size_t total = 1;
    for (size_t i = 0; i < n; i++) {
        json_t *f = json_array_get(list, i);
        const char *record = json_string_value(json_object_get(json_object_get(f, "record"), "id"));
        char line[256];
        snprintf(line, sizeof(line), "%s %s %s", json_string_value(json_object_get(f, "finding")),
                 json_string_value(json_object_get(json_object_get(f, "worker"), "username")),
                 record ? record : "-");
        lines[i] = strdup(line);
        total += strlen(line) + 1;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(lines[j], lines[i]) < 0) {
                char *t = lines[i];
                lines[i] = lines[j];
                lines[j] = t;
            }
    char *out = calloc(total, 1);
    for (size_t i = 0; i < n; i++) {
        strcat(out, lines[i]);
        strcat(out, "\n");
        free(lines[i]);
    }
    free(lines);
    json_decref(body);
    return out;
}

static void expect_findings(const char *kind, const char *query, const char *expected)
{
    char *got = findings(kind, query);
    if (strcmp(got, expected) != 0)
        fail_msg("%s found:\n%s\nexpected:\n%s", kind, got, expected);
    free(got);
}

/* Only the lines of text that start with prefix. */
static char *lines_starting(const char *text, const char *prefix)
{
    char *out = calloc(strlen(text) + 1, 1);
    for (const char *p = text; *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p + 1) : strlen(p);
        if (strncmp(p, prefix, strlen(prefix)) == 0)
            strncat(out, p, len);
        p += len;
    }
    return out;
}

static void test_each_audit_finds_what_was_planted_and_nothing_else(void **state)
{
    (void)state;
    admin = testenv_login(testenv, "admin");
    char period[128], today[16], tomorrow[16];
    testenv_sql_date(testenv, "current_date", today);
    testenv_sql_date(testenv, "current_date + 1", tomorrow);
    snprintf(period, sizeof(period), "from=%s&to=%s", today, tomorrow);

    char p1[32], p2[32], p3[32], p4[32], p5[32], p6[32], p7[32];
    testenv_add_person(testenv, admin, "Alfie", "Hartnell", "2015-06-01", p1);
    testenv_add_person(testenv, admin, "Bella", "Osei", "2015-06-01", p2);
    testenv_add_person(testenv, admin, "Cara", "Lind", "2015-06-01", p3);
    testenv_add_person(testenv, admin, "Dev", "Ashworth", "2015-06-01", p4);
    testenv_add_person(testenv, admin, "Tamsin", "Verrall", "2015-06-01", p5);
    testenv_add_person(testenv, admin, "Mina", "Teamwell", "2015-06-01", p6);
    testenv_add_person(testenv, admin, "Marlowe", "Starling", "1990-01-01", p7);

    char key_worker[32], body[512], path[128];
    char carl[32], sam[32], bea[32], ann[32], lee[32], eve[32], dora[32], mo[32], ended_on[16];
    testenv_add_worker(testenv, admin, "conn.carl", "Carl Connolly",
                       "\"roles\":[\"social-worker\"],\"teams\":[\"MASH\"]", carl);
    testenv_add_worker(testenv, admin, "sam.verrall", "Sam Verrall",
                       "\"roles\":[\"social-worker\"],\"teams\":[\"MASH\"]", sam);
    testenv_add_worker(testenv, admin, "busy.bea", "Bea Busby",
                       "\"roles\":[\"social-worker\"],\"teams\":[\"MASH\"]", bea);
    testenv_add_worker(testenv, admin, "leaver.lee", "Lee Leaver",
                       "\"roles\":[\"social-worker\"],\"teams\":[\"MASH\"]", lee);
    testenv_add_worker(testenv, admin, "mover.mo", "Mo Mover",
                       "\"roles\":[\"social-worker\"],\"teams\":[\"MASH\"]", mo);
    testenv_add_worker(testenv, admin, "dormant.dora", "Dora Dormer",
                       "\"roles\":[\"social-worker\"],\"teams\":[\"Early Help\"]", dora);
    testenv_sql_date(testenv, "current_date + 30", ended_on);
    snprintf(body, sizeof(body),
             "\"roles\":[\"social-worker\"],\"teams\":[\"MASH\"],\"contract\":{\"name\":\"Family support "
             "(invented agency)\",\"end_date\":\"%s\",\"person_ids\":[\"%s\"]}",
             ended_on, p1);
    testenv_add_worker(testenv, admin, "agency.ann", "Ann Agency", body, ann);
    snprintf(body, sizeof(body),
             "\"roles\":[\"social-worker\"],\"teams\":[\"MASH\"],\"contract\":{\"name\":\"Research (invented "
             "university)\",\"end_date\":\"%s\",\"person_ids\":[]}",
             ended_on);
    testenv_add_worker(testenv, admin, "expired.eve", "Eve Expiry", body, eve);

    /* key.worker is allocated Cara; Carl declares that he knows Dev. */
    testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/session", NULL,
                                        "{\"username\":\"key.worker\",\"password\":\"tessera-demo\"}", NULL);
    snprintf(key_worker, sizeof(key_worker), "%s",
             json_string_value(json_object_get(json_object_get(r.json, "worker"), "id")));
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations", p3);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%s\",\"role\":\"key-worker\",\"service\":\"CSSW\"}",
             key_worker);
    post(path, body, 201);
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations", p6);
    snprintf(body, sizeof(body), "{\"team_id\":\"%ld\",\"role\":\"team\",\"service\":\"CSSW\"}",
             testenv_sql_long(testenv, "SELECT id FROM accounts.teams WHERE name = 'MASH'"));
    post(path, body, 201);
    /* Marlowe is well known: the record is restricted as high-profile, with no one named. */
    char review[16];
    testenv_sql_date(testenv, "current_date + 90", review);
    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", p7);
    snprintf(body, sizeof(body), "{\"reason\":\"high-profile\",\"review_date\":\"%s\",\"workers\":[]}",
             review);
    r = testenv_http(testenv, "PUT", path, admin, body, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/workers/%s/conflicts", carl);
    snprintf(body, sizeof(body), "{\"person_id\":\"%s\",\"relationship\":\"neighbour\"}", p4);
    post(path, body, 200);

    /* The reads. */
    char *kw = testenv_login(testenv, "key.worker");
    char *sw = testenv_login(testenv, "mash.sw");
    char *t_carl = testenv_login(testenv, "conn.carl");
    char *t_sam = testenv_login(testenv, "sam.verrall");
    char *t_bea = testenv_login(testenv, "busy.bea");
    char *t_ann = testenv_login(testenv, "agency.ann");
    char *t_lee = testenv_login(testenv, "leaver.lee");
    char *t_mo = testenv_login(testenv, "mover.mo");
    read_person(kw, p3); /* allocated: nothing to see */
    read_person(sw, p3); /* not allocated */
    /* Declaring the conflict kept Dev's record from Carl: his try is refused, and still audited. */
    snprintf(path, sizeof(path), "/api/v1/people/%s", p4);
    r = testenv_http(testenv, "GET", path, t_carl, NULL, NULL);
    testenv_assert_error(&r, 403, "conflict_of_interest");
    testenv_response_free(&r);
    read_person(t_sam, p5); /* the same family name */
    /* Curiosity about someone famous: refused, and still audited. */
    char *eh = testenv_login(testenv, "eh.worker");
    snprintf(path, sizeof(path), "/api/v1/people/%s", p7);
    r = testenv_http(testenv, "GET", path, eh, NULL, NULL);
    testenv_assert_error(&r, 403, "restricted_record");
    testenv_response_free(&r);
    free(eh);
    read_person(t_ann, p1); /* in the contract */
    read_person(t_ann, p2); /* outside it */
    read_person(t_bea, p1);
    read_person(t_bea, p2);
    read_person(t_bea, p3);
    read_person(t_bea, p5); /* the fourth in an hour */
    read_person(t_lee, p1);
    /* Mo reads Mina's record, allocated to Mo's team, then moves to Early Help and reads it again:
     * the first read is no finding (judged by the team at the time), the second two. */
    read_person(t_mo, p6);
    snprintf(path, sizeof(path), "/api/v1/workers/%s", mo);
    r = testenv_http(testenv, "PUT", path, admin, "{\"teams\":[\"Early Help\"]}", NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    read_person(t_mo, p6);
    testenv_end_worker(testenv, admin, lee, "Left the council");
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    wait_audit_sql("SELECT count(*) FROM audit.workers WHERE username = 'leaver.lee' AND ended", 1);
    wait_audit_sql("SELECT count(*) FROM audit.conflicts", 1);
    /* This test's two (the demo data has allocations of its own). */
    char allocations_sql[200];
    snprintf(allocations_sql, sizeof(allocations_sql),
             "SELECT count(*) FROM audit.allocations WHERE ended_at IS NULL AND person_id IN (%s, %s)", p3,
             p6);
    wait_audit_sql(allocations_sql, 2);
    wait_audit_sql("SELECT count(*) FROM audit.worker_teams h JOIN audit.workers w USING (worker_id)"
                   " WHERE w.username = 'mover.mo'",
                   2);

    /* Time passing: Lee's leaving date was the day before yesterday (the account was ended late);
     * Eve's contract ended yesterday; Dora's account has not been used since it was opened. */
    char out[512];
    assert_int_equal(testenv_psql(testenv, NULL,
                                  "UPDATE audit.workers SET ended_at = now() - interval '2 days'"
                                  " WHERE username = 'leaver.lee';"
                                  " UPDATE audit.workers SET contract_end_date = current_date - 1"
                                  " WHERE username = 'expired.eve';"
                                  " UPDATE audit.workers SET first_seen_at = now() - interval '200 days'"
                                  " WHERE username = 'dormant.dora'",
                                  out, sizeof(out)),
                     0);

    /* Every access to a person counts, writes and tries refused as much as reads: the administrator
     * adding the seven people, allocating Cara and Mina and restricting Marlowe (the fourth of them
     * within the hour, and each after, "many at once"); Carl's and the early help worker's tries. */
    char expected[4096];
    snprintf(expected, sizeof(expected),
             "many-records admin %s\nmany-records admin %s\nmany-records admin %s\n"
             "many-records admin %s\nmany-records admin %s\nmany-records admin %s\n"
             "many-records admin %s\n"
             "many-records busy.bea %s\n"
             "not-allocated admin %s\nnot-allocated admin %s\nnot-allocated admin %s\n"
             "not-allocated admin %s\nnot-allocated admin %s\nnot-allocated admin %s\n"
             "not-allocated admin %s\nnot-allocated admin %s\nnot-allocated admin %s\n"
             "not-allocated admin %s\n"
             "not-allocated agency.ann %s\nnot-allocated agency.ann %s\n"
             "not-allocated busy.bea %s\nnot-allocated busy.bea %s\nnot-allocated busy.bea %s\n"
             "not-allocated busy.bea %s\n"
             "not-allocated conn.carl %s\nnot-allocated eh.worker %s\n"
             "not-allocated leaver.lee %s\nnot-allocated mash.sw %s\nnot-allocated mover.mo %s\n"
             "not-allocated sam.verrall %s\n",
             p3, p4, p5, p6, p6, p7, p7, p5, p1, p2, p3, p3, p4, p5, p6, p6, p7, p7, p1, p2, p1, p2, p3, p5,
             p4, p7, p1, p3, p6, p5);
    expect_findings("unallocated-access", period, expected);
    snprintf(expected, sizeof(expected),
             "declared-conflict conn.carl %s\nhigh-profile eh.worker %s\nsame-family-name sam.verrall %s\n",
             p4, p7, p5);
    expect_findings("own-or-connected-records", period, expected);
    snprintf(expected, sizeof(expected), "outside-contract agency.ann %s\n", p2);
    expect_findings("third-party-access", period, expected);
    /* The trail itself says whose contract a third party read under. */
    char *auditor_t = testenv_login(testenv, "auditor");
    snprintf(path, sizeof(path), "/api/v1/audit/events?person_id=%s&worker_id=%s", p2, ann);
    r = testenv_http(testenv, "GET", path, auditor_t, NULL, NULL);
    assert_int_equal(r.status, 200);
    json_t *entry = json_array_get(json_object_get(r.json, "items"), 0);
    assert_non_null(entry);
    assert_string_equal(json_string_value(json_object_get(json_object_get(entry, "worker"), "contract")),
                        "Family support (invented agency)");
    testenv_response_free(&r);
    free(auditor_t);
    snprintf(expected, sizeof(expected),
             "contract-over-account-open expired.eve -\nmoved mover.mo -\nold-team-after-moving mover.mo %s\n"
             "used-after-leaving leaver.lee %s\n",
             p6, p1);
    expect_findings("leavers", period, expected);
    expect_findings("dormant-accounts", period, "dormant dormant.dora -\n");
    /* The mover's findings say from which team to which, and which old team's record was read. */
    char uk_today[16], moved[128], old_team[128];
    snprintf(uk_today, sizeof(uk_today), "%.2s/%.2s/%.4s", today + 8, today + 5, today);
    snprintf(moved, sizeof(moved), "\"Moved on %s from MASH to Early Help\"", uk_today);
    snprintf(old_team, sizeof(old_team), "\"Accessed a record of MASH, a team they left on %s (view)\"",
             uk_today);
    char *auditor_l = testenv_login(testenv, "auditor");
    char leavers[256];
    snprintf(leavers, sizeof(leavers), "/api/v1/audit/reports/leavers?%s", period);
    r = testenv_http(testenv, "GET", leavers, auditor_l, NULL, NULL);
    assert_int_equal(r.status, 200);
    if (strstr(r.body, moved) == NULL || strstr(r.body, old_team) == NULL)
        fail_msg("the mover's findings do not say %s and %s: %s", moved, old_team, r.body);
    testenv_response_free(&r);
    free(auditor_l);

    /* A period before any of it finds none of the accesses. */
    char *none = findings("unallocated-access", "from=2020-01-01&to=2020-01-31");
    assert_string_equal(none, "");
    free(none);

    /* The batch tool: the same audit as CSV, a header and one line a finding. */
    char cmd[1024], csv[16384];
    snprintf(cmd, sizeof(cmd),
             "%s/tessera --config %s audit report third-party-access --from %s --to %s --format csv",
             TSR_BIN_DIR, testenv->config, today, today);
    FILE *p = popen(cmd, "r");
    size_t n = fread(csv, 1, sizeof(csv) - 1, p);
    csv[n] = '\0';
    assert_int_equal(WEXITSTATUS(pclose(p)), 0);
    /* UTF-8, as its byte-order mark tells Excel: without one, a double-click on Windows showed
     * "ZoÃ«" for "Zoë". */
    assert_memory_equal(csv,
                        "\xef\xbb\xbf"
                        "finding,detail,worker_id,username",
                        36);
    char *rows = lines_starting(csv, "outside-contract,");
    assert_non_null(strstr(rows, "agency.ann"));
    assert_null(strchr(strchr(rows, '\n') + 1, '\n')); /* one row */
    free(rows);
    /* The same download from the API, for the web UI's 'Download CSV'. */
    char *auditor_csv = testenv_login(testenv, "auditor");
    char csv_path[512];
    snprintf(csv_path, sizeof(csv_path), "/api/v1/audit/reports/third-party-access?from=%s&to=%s&format=csv",
             today, today);
    r = testenv_http(testenv, "GET", csv_path, auditor_csv, NULL, NULL);
    assert_int_equal(r.status, 200);
    char value[200];
    assert_string_equal(testenv_response_header(&r, "content-type", value, sizeof(value)),
                        "text/csv; charset=utf-8");
    assert_memory_equal(r.body,
                        "\xef\xbb\xbf"
                        "finding,detail,worker_id,username",
                        36);
    assert_non_null(strstr(r.body, "\noutside-contract,"));
    /* Named for the audit and its period, as the report's file is: an auditor keeps a file a
     * period, where each was audit-third-party-access.csv. */
    char named[200];
    snprintf(named, sizeof(named), "attachment; filename=\"audit-third-party-access_%s_%s.csv\"", today,
             today);
    assert_string_equal(testenv_response_header(&r, "content-disposition", value, sizeof(value)), named);
    testenv_response_free(&r);
    /* A period given to the minute is named by its days; one with no first day runs from the trail's
     * beginning. */
    char queries[2][128], names[2][200];
    snprintf(queries[0], sizeof(queries[0]), "from=%sT08:00:00Z&to=%sT17:30:00Z", today, today);
    snprintf(names[0], sizeof(names[0]), "attachment; filename=\"audit-third-party-access_%s_%s.csv\"", today,
             today);
    snprintf(queries[1], sizeof(queries[1]), "to=%s", today);
    snprintf(names[1], sizeof(names[1]), "attachment; filename=\"audit-third-party-access_to_%s.csv\"",
             today);
    for (size_t i = 0; i < 2; i++) {
        snprintf(csv_path, sizeof(csv_path), "/api/v1/audit/reports/third-party-access?%s&format=csv",
                 queries[i]);
        r = testenv_http(testenv, "GET", csv_path, auditor_csv, NULL, NULL);
        assert_int_equal(r.status, 200);
        assert_string_equal(testenv_response_header(&r, "content-disposition", value, sizeof(value)),
                            names[i]);
        testenv_response_free(&r);
    }
    free(auditor_csv);
    snprintf(cmd, sizeof(cmd),
             "%s/tessera --config %s audit report nosuch --from %s --to %s --format csv 2>&1", TSR_BIN_DIR,
             testenv->config, today, today);
    p = popen(cmd, "r");
    n = fread(csv, 1, sizeof(csv) - 1, p);
    csv[n] = '\0';
    assert_int_equal(WEXITSTATUS(pclose(p)), 2);
    assert_non_null(strstr(csv, "unallocated-access"));

    /* Out of hours: with no working day today, every read of the day is one. */
    static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char other[8];
    snprintf(other, sizeof(other), "%s", days[(tm.tm_wday + 3) % 7]);
    setenv("TESSERA_AUDIT_WORKING_DAYS", other, 1);
    testenv_kill(testenv, "audit", SIGTERM);
    assert_int_equal(testenv_wait_exit(testenv, "audit", 15000), 0);
    testenv_restart(testenv, "audit");
    char *all = findings("unallocated-access", period);
    char *late = lines_starting(all, "out-of-hours ");
    snprintf(expected, sizeof(expected), "out-of-hours key.worker %s\n", p3);
    assert_non_null(strstr(late, expected));
    snprintf(expected, sizeof(expected), "out-of-hours mash.sw %s\n", p3);
    assert_non_null(strstr(late, expected));
    free(all);
    free(late);

    /* Bad input changes nothing and says what is wrong. */
    char *auditor = testenv_login(testenv, "auditor");
    r = testenv_http(testenv, "GET", "/api/v1/audit/reports/nosuch", auditor, NULL, NULL);
    testenv_assert_error(&r, 404, "unknown_report");
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", "/api/v1/audit/reports/leavers?format=pdf", auditor, NULL, NULL);
    testenv_assert_error(&r, 400, "invalid_format");
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", "/api/v1/audit/reports/leavers", sw, NULL, NULL);
    testenv_assert_error(&r, 403, "forbidden");
    testenv_response_free(&r);
    free(auditor);
    free(kw);
    free(sw);
    free(t_carl);
    free(t_sam);
    free(t_bea);
    free(t_ann);
    free(t_lee);
    free(t_mo);
    free(admin);
}

/* Now on the database's clock, as an RFC 3339 instant for an audit's 'from'. */
static void instant_now(char out[32])
{
    char text[32];
    assert_int_equal(
        testenv_psql(testenv, NULL,
                     "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')", text,
                     sizeof(text)),
        0);
    snprintf(out, 32, "%s", text);
}

/* The lines of an audit's findings (as findings() gives them) about record, of the kind given. */
static char *findings_about(const char *kind, const char *query, const char *finding, const char *record)
{
    char *all = findings(kind, query);
    char *out = calloc(strlen(all) + 1, 1);
    size_t record_len = strlen(record), finding_len = strlen(finding);
    for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n")) {
        size_t len = strlen(line);
        if (strncmp(line, finding, finding_len) == 0 && line[finding_len] == ' ' && len > record_len &&
            strcmp(line + len - record_len, record) == 0 && line[len - record_len - 1] == ' ') {
            strcat(out, line);
            strcat(out, "\n");
        }
    }
    free(all);
    return out;
}

static void allocate(const char *person, const char *body)
{
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations", person);
    post(path, body, 201);
}

/* F2: the audit kept the duplicate's allocations under the duplicate's id after a merge, so the
 * worker allocated on it, reading the record that went forward, was reported as reading a record not
 * allocated to them; so was a member of a team allocated on it, and a third party whose contract named
 * it. A read before the merge is judged as the records then stood. */
static void test_after_a_merge_the_workers_allocated_on_the_duplicate_are_not_reported(void **state)
{
    (void)state;
    char *admin_t = testenv_login(testenv, "admin");
    admin = admin_t;
    char from[32], query[64], survivor[32], duplicate[32], body[512], path[128], tp[32];
    instant_now(from);
    snprintf(query, sizeof(query), "from=%s", from);
    testenv_add_person(testenv, admin, "Tobias", "Merrowfield", "2014-01-01", survivor);
    testenv_add_person(testenv, admin, "Toby", "Merrowfield", "2014-01-01", duplicate);
    long kw = testenv_sql_long(testenv, "SELECT id FROM accounts.workers WHERE username = 'key.worker'");
    long sw = testenv_sql_long(testenv, "SELECT id FROM accounts.workers WHERE username = 'mash.sw'");
    long eh = testenv_sql_long(testenv, "SELECT id FROM accounts.teams WHERE name = 'Early Help'");
    snprintf(body, sizeof(body), "{\"worker_id\":\"%ld\",\"role\":\"key-worker\",\"service\":\"CSSW\"}", kw);
    allocate(survivor, body);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%ld\",\"role\":\"key-worker\",\"service\":\"CSSW\"}", sw);
    allocate(duplicate, body);
    snprintf(body, sizeof(body), "{\"team_id\":\"%ld\",\"role\":\"team\",\"service\":\"EH\"}", eh);
    allocate(duplicate, body);
    snprintf(body, sizeof(body),
             "\"roles\":[\"social-worker\"],\"contract\":{\"name\":\"Merged case support (invented)\","
             "\"end_date\":\"2099-01-01\",\"person_ids\":[\"%s\"]}",
             duplicate);
    testenv_add_worker(testenv, admin, "merge.tp", "Tess Partridge", body, tp);

    char *t_sw = testenv_login(testenv, "mash.sw");
    char *t_kw = testenv_login(testenv, "key.worker");
    char *t_eh = testenv_login(testenv, "eh.worker");
    char *t_tp = testenv_login(testenv, "merge.tp");
    read_person(t_sw, survivor); /* before the merge: not allocated to them then */
    snprintf(path, sizeof(path), "/api/v1/people/%s/merge", survivor);
    snprintf(body, sizeof(body), "{\"duplicate_id\":\"%s\"}", duplicate);
    post(path, body, 200);
    read_person(t_sw, survivor);
    read_person(t_kw, survivor);
    read_person(t_eh, survivor);
    read_person(t_tp, survivor);
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE action = 'merge' AND record_kind = 'person'"
             " AND record_id = %s",
             survivor);
    wait_audit_sql(sql, 1);

    /* The administrator's adding, allocating and merging it are accesses too. */
    char expected[512];
    snprintf(expected, sizeof(expected),
             "not-allocated admin %s\nnot-allocated admin %s\nnot-allocated admin %s\n"
             "not-allocated mash.sw %s\nnot-allocated merge.tp %s\n",
             survivor, survivor, survivor, survivor, survivor);
    char *got = findings_about("unallocated-access", query, "not-allocated", survivor);
    if (strcmp(got, expected) != 0)
        fail_msg("after the merge, not-allocated found:\n%sexpected:\n%s", got, expected);
    free(got);
    got = findings_about("third-party-access", query, "outside-contract", survivor);
    assert_string_equal(got, "");
    free(got);
    free(t_sw);
    free(t_kw);
    free(t_eh);
    free(t_tp);
    free(admin_t);
    admin = NULL;
}

/* The findings of third-party-access in query by username, waiting until the audit daemon has the
 * account's contract as sql says it now stands. */
static char *contract_findings(const char *query, const char *username, const char *sql)
{
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    wait_audit_sql(sql, 1);
    char *all = findings("third-party-access", query);
    char *out = calloc(strlen(all) + 1, 1);
    char who[80];
    snprintf(who, sizeof(who), " %s ", username);
    for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n"))
        if (strstr(line, who) != NULL) {
            strcat(out, line);
            strcat(out, "\n");
        }
    free(all);
    return out;
}

/* F6: the audit judged a third party's past reads by the contract as it stands now: a contract varied
 * to cover the case read outside it lost the finding and accused the read that was inside it, and a
 * contract ended early made every read before the new end date "after the contract". Each read is
 * judged by the contract in force when it was made, so the same period gives the same answer. */
static void test_a_third_partys_reads_are_judged_by_the_contract_in_force_when_they_read(void **state)
{
    (void)state;
    char *admin_t = testenv_login(testenv, "admin");
    admin = admin_t;
    char from[32], query[64], inside[32], outside[32], worker[32], body[512], path[96], sql[300];
    char ended[16], expected[128];
    testenv_add_person(testenv, admin, "Wynn", "Carrowmore", "2011-02-02", inside);
    testenv_add_person(testenv, admin, "Ottilie", "Brackwater", "2011-02-02", outside);
    snprintf(body, sizeof(body),
             "\"roles\":[\"social-worker\"],\"contract\":{\"name\":\"Carers support (invented)\","
             "\"end_date\":\"2099-01-01\",\"person_ids\":[\"%s\"]}",
             inside);
    testenv_add_worker(testenv, admin, "varied.val", "Val Varley", body, worker);
    instant_now(from);
    snprintf(query, sizeof(query), "from=%s", from);
    char *t_val = testenv_login(testenv, "varied.val");
    read_person(t_val, inside);
    read_person(t_val, outside);
    free(t_val);
    snprintf(expected, sizeof(expected), "outside-contract varied.val %s\n", outside);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit.workers WHERE username = 'varied.val'");
    char *got = contract_findings(query, "varied.val", sql);
    assert_string_equal(got, expected);
    free(got);

    /* The contract is varied to cover the other case instead: the reads made before stay as found. */
    snprintf(path, sizeof(path), "/api/v1/workers/%s", worker);
    snprintf(body, sizeof(body),
             "{\"contract\":{\"name\":\"Carers support (invented)\",\"end_date\":\"2099-01-01\","
             "\"person_ids\":[\"%s\"]}}",
             outside);
    json_decref(testenv_call_json(testenv, admin, "PUT", path, body, 200));
    snprintf(
        sql, sizeof(sql),
        "SELECT count(*) FROM audit.workers WHERE username = 'varied.val' AND contract_person_ids = '{%s}'",
        outside);
    got = contract_findings(query, "varied.val", sql);
    if (strcmp(got, expected) != 0)
        fail_msg("after the contract was varied, found:\n%sexpected:\n%s", got, expected);
    free(got);

    /* Then ended early, on a day before the reads: they were within the contract when made. */
    testenv_sql_date(testenv, "current_date - 6", ended);
    snprintf(body, sizeof(body),
             "{\"contract\":{\"name\":\"Carers support (invented)\",\"end_date\":\"%s\","
             "\"person_ids\":[\"%s\"]}}",
             ended, outside);
    json_decref(testenv_call_json(testenv, admin, "PUT", path, body, 200));
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.workers WHERE username = 'varied.val' AND contract_end_date = '%s'",
             ended);
    got = contract_findings(query, "varied.val", sql);
    if (strcmp(got, expected) != 0)
        fail_msg("after the contract was ended early, found:\n%sexpected:\n%s", got, expected);
    free(got);
    free(admin_t);
    admin = NULL;
}

/* F14: the audit of movers reported a change of role when only the order of a worker's roles was
 * sent again: roles and teams are compared as sets. */
static void test_roles_sent_again_in_another_order_are_not_a_move(void **state)
{
    (void)state;
    char *admin_t = testenv_login(testenv, "admin");
    char from[32], query[64], path[96];
    long sp =
        testenv_sql_long(testenv, "SELECT id FROM accounts.workers WHERE username = 'senior.practitioner'");
    instant_now(from);
    snprintf(query, sizeof(query), "from=%s", from);
    snprintf(path, sizeof(path), "/api/v1/workers/%ld", sp);
    json_decref(testenv_call_json(testenv, admin_t, "PUT", path,
                                  "{\"roles\":[\"senior-practitioner\",\"social-worker\"]}", 200));
    wait_audit_sql("SELECT count(*) FROM audit.workers WHERE username = 'senior.practitioner'"
                   " AND roles = '{senior-practitioner,social-worker}'",
                   1);
    char *got = findings("leavers", query);
    if (strstr(got, " senior.practitioner ") != NULL)
        fail_msg("roles re-ordered were reported as a move:\n%s", got);
    free(got);
    /* A role really given is one. */
    json_decref(testenv_call_json(testenv, admin_t, "PUT", path,
                                  "{\"roles\":[\"senior-practitioner\",\"social-worker\",\"team-manager\"]}",
                                  200));
    wait_audit_sql(
        "SELECT count(*) FROM audit.worker_teams h JOIN audit.workers w USING (worker_id)"
        " WHERE w.username = 'senior.practitioner' AND h.to_at IS NULL AND 'team-manager' = ANY (h.roles)",
        1);
    got = findings("leavers", query);
    if (strstr(got, "moved senior.practitioner -\n") == NULL)
        fail_msg("a role given was not reported:\n%s", got);
    free(got);
    free(admin_t);
}

/* The entries of the trail about people that worker made since from, as "entry-id action record"
 * lines, as the auditor reads them (GET /api/v1/audit/events?worker_id=). */
static char *trail_of(const char *worker, const char *from)
{
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/audit/events?worker_id=%s&from=%s&limit=200", worker, from);
    char *auditor = testenv_login(testenv, "auditor");
    json_t *body = testenv_call_json(testenv, auditor, "GET", path, NULL, 200);
    free(auditor);
    assert_string_equal(testenv_str(body, "next_cursor"), "");
    json_t *items = json_object_get(body, "items");
    char *out = calloc(json_array_size(items) * 80 + 1, 1);
    size_t i;
    json_t *e;
    json_array_foreach(items, i, e)
    {
        json_t *record = json_object_get(e, "record");
        if (strcmp(testenv_str(record, "kind"), "person") != 0)
            continue;
        char line[80];
        snprintf(line, sizeof(line), "%s %s %s\n", testenv_str(e, "id"), testenv_str(e, "action"),
                 testenv_str(record, "id"));
        strcat(out, line);
    }
    json_decref(body);
    return out;
}

/* Checks that an audit has wanted (0 or 1) findings of that kind about the trail's entry (an "entry-id
 * action record" line of trail_of), whose words say its action; fails naming the entry if not. */
static void expect_entry_found(json_t *audit, const char *finding, const char *line, int wanted)
{
    char id[32], action[48], record[32];
    assert_int_equal(sscanf(line, "%31s %47s %31s", id, action, record), 3);
    char says[64];
    snprintf(says, sizeof(says), "(%s)", action);
    int found = 0;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(audit, "findings"), i, f)
    {
        if (strcmp(testenv_str(f, "entry_id"), id) != 0 || strcmp(testenv_str(f, "finding"), finding) != 0)
            continue;
        assert_string_equal(testenv_str(f, "action"), action);
        assert_string_equal(testenv_str(json_object_get(f, "record"), "id"), record);
        const char *detail = testenv_str(f, "detail");
        if (strstr(detail, says) == NULL)
            fail_msg("the finding about %s does not say so: %s", action, detail);
        found++;
    }
    if (found != wanted)
        fail_msg("%s: the %s of record %s (entry %s) is found %d times, not %d",
                 json_string_value(json_object_get(audit, "kind")), action, record, id, found, wanted);
}

/* The audits of third-party access and of unallocated access counted four kinds of read alone
 * (view, view-case-notes, view-involvements, view-step). A contracted carers' service account read an
 * unrelated case's addresses and CP-IS plans, found it in Family Context, added a case note and an
 * address, flagged and unflagged its retention and started a step about it: all of it was in the
 * trail, none of it in either audit. Every access to a person's record is in both now, reads and
 * writes alike, each finding saying its action; the case the contract covers is no third-party
 * finding. */
static void test_every_access_of_a_third_party_to_an_unrelated_case_is_found(void **state)
{
    (void)state;
    char *admin_t = testenv_login(testenv, "admin");
    admin = admin_t;
    char inside[32], outside[32], kept[32], worker[32], body[512], path[160], from[32], query[64], id[32];
    testenv_add_person(testenv, admin, "Ines", "Carrickfold", "2012-03-03", inside);
    testenv_add_person(testenv, admin, "Oswin", "Unrelatedby", "2012-03-03", outside);
    testenv_add_person(testenv, admin, "Kesha", "Restrictwell", "2012-03-03", kept);
    /* The unrelated case had early help, now ended: its retention may be flagged. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/involvements", outside);
    json_decref(testenv_call_json(testenv, admin, "POST", path,
                                  "{\"service\":\"EH\",\"kind\":\"early-help\",\"start_date\":\"2024-01-08\","
                                  "\"end_date\":\"2024-06-28\"}",
                                  201));
    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", kept);
    json_decref(
        testenv_call_json(testenv, admin, "PUT", path,
                          "{\"reason\":\"case-review\",\"review_date\":\"2098-01-01\",\"workers\":[]}", 200));
    snprintf(body, sizeof(body),
             "\"roles\":[\"social-worker\"],\"contract\":{\"name\":\"Carers' support (invented provider)\","
             "\"end_date\":\"2099-01-01\",\"person_ids\":[\"%s\"]}",
             inside);
    testenv_add_worker(testenv, admin, "carer.cal", "Cal Carrow", body, worker);
    instant_now(from);
    snprintf(query, sizeof(query), "from=%s", from);

    /* The case the contract covers: read. */
    char *tp = testenv_login(testenv, "carer.cal");
    read_person(tp, inside);
    snprintf(path, sizeof(path), "/api/v1/people/%s/addresses", inside);
    json_decref(testenv_call_json(testenv, tp, "GET", path, NULL, 200));
    /* The unrelated case: every kind of access a worker has to a record. */
    read_person(tp, outside);
    json_decref(testenv_call_json(testenv, tp, "GET", "/api/v1/people?name=Oswin%20Unrelatedby", NULL, 200));
    snprintf(path, sizeof(path), "/api/v1/people/%s/addresses", outside);
    json_decref(testenv_call_json(testenv, tp, "POST", path,
                                  "{\"type\":\"main\",\"lines\":[\"2 Contract "
                                  "Row\"],\"town\":\"London\",\"start_date\":\"2025-01-06\"}",
                                  201));
    json_decref(testenv_call_json(testenv, tp, "GET", path, NULL, 200));
    snprintf(path, sizeof(path), "/api/v1/people/%s/case-notes", outside);
    json_decref(testenv_call_json(
        testenv, tp, "POST", path,
        "{\"type\":\"contact\",\"title\":\"Carer called\",\"body\":\"Asked about respite.\"}", 201));
    json_decref(testenv_call_json(testenv, tp, "GET", path, NULL, 200));
    snprintf(path, sizeof(path), "/api/v1/people/%s/involvements", outside);
    json_decref(testenv_call_json(testenv, tp, "GET", path, NULL, 200));
    /* A retention flag is set only by those who worked the service's case (1f54809): refused. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/retention/EH", outside);
    testenv_call_error(testenv, tp, "PUT", path, "{\"criterion\":\"eh-contact-only\"}", 403,
                       "not_on_the_case", NULL);
    snprintf(body, sizeof(body),
             "{\"person_id\":\"%s\",\"plan_type\":\"child-protection-plan\",\"start_date\":\"2025-02-03\"}",
             outside);
    json_decref(testenv_call_json(testenv, tp, "POST", "/api/v1/cpis/plans", body, 201));
    snprintf(path, sizeof(path), "/api/v1/cpis/plans?person_id=%s", outside);
    json_decref(testenv_call_json(testenv, tp, "GET", path, NULL, 200));
    snprintf(path, sizeof(path), "/api/v1/family-context/search?case_id=%s", outside);
    json_decref(testenv_call_json(testenv, tp, "GET", path, NULL, 200));
    snprintf(path, sizeof(path), "/api/v1/family-context/people/%s", outside);
    json_decref(testenv_call_json(testenv, tp, "GET", path, NULL, 200));
    snprintf(body, sizeof(body), "{\"type\":\"add-address\",\"subject\":{\"kind\":\"person\",\"id\":\"%s\"}}",
             outside);
    json_t *step = testenv_call_json(testenv, tp, "POST", "/api/v1/steps", body, 201);
    snprintf(id, sizeof(id), "%s", testenv_str(step, "id"));
    json_decref(step);
    snprintf(path, sizeof(path), "/api/v1/steps/%s", id);
    json_decref(testenv_call_json(testenv, tp, "GET", path, NULL, 200));
    /* And a try at a restricted record, refused. */
    snprintf(path, sizeof(path), "/api/v1/people/%s", kept);
    testenv_call_error(testenv, tp, "GET", path, NULL, 403, "restricted_record", NULL);
    free(tp);
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);

    /* The trail has each of them. */
    char *trail = trail_of(worker, from);
    static const char *const actions[] = {
        "view",          "search",          "add-address",       "view-addresses",
        "add-case-note", "view-case-notes", "view-involvements", "record-plan",
        "view-plans",    "start-step",      "view-step",         "refused"};
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        char want[64];
        snprintf(want, sizeof(want), " %s %s\n", actions[i],
                 strcmp(actions[i], "refused") == 0 ? kept : outside);
        if (strstr(trail, want) == NULL)
            fail_msg("the trail has no%s; it has:\n%s", want, trail);
    }

    /* Each is in both audits, but what the contract covers is no third party's finding. */
    json_t *third = report("third-party-access", query);
    json_t *unallocated = report("unallocated-access", query);
    int lines = 0;
    for (char *line = strtok(trail, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        int covered = strcmp(strrchr(line, ' ') + 1, inside) == 0;
        expect_entry_found(third, "outside-contract", line, covered ? 0 : 1);
        expect_entry_found(unallocated, "not-allocated", line, 1);
    }
    assert_true(lines >= 16);
    /* The words say what was done. */
    size_t i;
    json_t *f;
    int said = 0;
    json_array_foreach(json_object_get(third, "findings"), i, f)
    {
        if (strcmp(testenv_str(f, "action"), "add-case-note") == 0)
            said += strcmp(testenv_str(f, "detail"),
                           "Accessed a record outside the cases of the contract "
                           "'Carers' support (invented provider)' (add-case-note)") == 0;
        if (strcmp(testenv_str(f, "action"), "refused") == 0)
            said +=
                strcmp(testenv_str(f, "detail"), "Tried to open a record outside the cases of the contract "
                                                 "'Carers' support (invented provider)' (refused)") == 0;
    }
    assert_int_equal(said, 2);
    json_decref(third);
    json_decref(unallocated);
    free(trail);
    free(admin_t);
    admin = NULL;
}

/* The audit of movers and leavers listed no account ended in the period: six accounts ended through
 * POST /api/v1/workers/{id}/end left it with one mover. Every account ended in the period is a finding
 * now, saying when, who ended it and why, beside the movers. */
static void test_every_account_ended_in_the_period_is_listed_with_who_ended_it_and_why(void **state)
{
    (void)state;
    char *admin_t = testenv_login(testenv, "admin");
    admin = admin_t;
    char from[32], query[64], gail[32], gus[32], mia[32], sid[32], path[96], today[16], uk_today[16];
    testenv_add_worker(testenv, admin, "gone.gail", "Gail Goodbody",
                       "\"roles\":[\"social-worker\"],\"teams\":[\"MASH\"]", gail);
    testenv_add_worker(testenv, admin, "gone.gus", "Gus Gadabout",
                       "\"roles\":[\"social-worker\"],\"teams\":[\"MASH\"]", gus);
    testenv_add_worker(testenv, admin, "moving.mia", "Mia Movewell",
                       "\"roles\":[\"social-worker\"],\"teams\":[\"MASH\"]", mia);
    testenv_add_worker(testenv, admin, "support.sid", "Sid Supportman", "\"roles\":[\"system-support\"]",
                       sid);
    instant_now(from);
    snprintf(query, sizeof(query), "from=%s", from);
    /* A period before it all lists none of them. */
    char *before = findings("leavers", "from=2020-01-01&to=2020-01-31");
    assert_string_equal(before, "");
    free(before);

    snprintf(path, sizeof(path), "/api/v1/workers/%s", mia);
    json_decref(testenv_call_json(testenv, admin, "PUT", path, "{\"teams\":[\"Early Help\"]}", 200));
    testenv_end_worker(testenv, admin, gail, "Left the council");
    char *t_sid = testenv_login(testenv, "support.sid");
    testenv_end_worker(testenv, t_sid, gus, "Moved to another council");
    free(t_sid);
    wait_audit_sql("SELECT count(*) FROM audit.workers WHERE username IN ('gone.gail', 'gone.gus') AND ended",
                   2);
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);

    /* Theirs (the accounts of the tests before whose contract is over are still open). */
    char expected[256];
    snprintf(expected, sizeof(expected), "ended gone.gail %s\nended gone.gus %s\nmoved moving.mia -\n", gail,
             gus);
    char *all = findings("leavers", query), *theirs = calloc(strlen(all) + 1, 1);
    for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n"))
        if (strstr(line, " gone.") != NULL || strstr(line, " moving.mia ") != NULL ||
            strstr(line, " support.sid ") != NULL) {
            strcat(theirs, line);
            strcat(theirs, "\n");
        }
    if (strcmp(theirs, expected) != 0)
        fail_msg("leavers found:\n%s\nexpected:\n%s", theirs, expected);
    free(all);
    free(theirs);
    /* Each says when, who and why, and points at the trail's entry of the ending. */
    testenv_sql_date(testenv, "current_date", today);
    snprintf(uk_today, sizeof(uk_today), "%.2s/%.2s/%.4s", today + 8, today + 5, today);
    json_t *leavers = report("leavers", query);
    size_t i;
    json_t *f;
    int ended = 0;
    json_array_foreach(json_object_get(leavers, "findings"), i, f)
    {
        if (strcmp(testenv_str(f, "finding"), "ended") != 0)
            continue;
        const char *username = testenv_str(json_object_get(f, "worker"), "username");
        int is_gail = strcmp(username, "gone.gail") == 0;
        char who[128], on[64];
        snprintf(who, sizeof(who), "%s",
                 is_gail ? " by Alex Admin (admin): Left the council"
                         : " by Sid Supportman (support.sid): Moved to another council");
        snprintf(on, sizeof(on), "Account ended on %s at ", uk_today);
        const char *detail = testenv_str(f, "detail");
        if (strncmp(detail, on, strlen(on)) != 0 || strstr(detail, who) == NULL ||
            strcmp(detail + strlen(detail) - strlen(who), who) != 0)
            fail_msg("the ending of %s says: %s", username, detail);
        assert_string_equal(testenv_str(f, "action"), "end-account");
        assert_string_equal(testenv_str(json_object_get(f, "record"), "kind"), "worker");
        assert_true(testenv_str(f, "entry_id")[0] != '\0');
        assert_true(json_is_string(json_object_get(f, "occurred_at")));
        ended++;
    }
    assert_int_equal(ended, 2);
    json_decref(leavers);

    /* The batch tool's CSV has a line each. */
    char args[256], csv[16384];
    snprintf(args, sizeof(args), "audit report leavers --from %s --to %s --format csv", today, today);
    assert_int_equal(testenv_run_tool(testenv, args, csv, sizeof(csv)), 0);
    char *rows = lines_starting(csv, "ended,");
    if (strstr(rows, "gone.gail") == NULL || strstr(rows, "gone.gus") == NULL ||
        strstr(rows, "Left the council") == NULL)
        fail_msg("the CSV's endings:\n%s", rows);
    free(rows);
    free(admin_t);
    admin = NULL;
}

static int setup(void **state)
{
    setenv("TESSERA_AUDIT_TIMEZONE", "UTC", 1);
    setenv("TESSERA_AUDIT_WORKING_DAYS", "mon,tue,wed,thu,fri,sat,sun", 1);
    setenv("TESSERA_AUDIT_WORKING_DAY_STARTS", "00:00", 1);
    setenv("TESSERA_AUDIT_WORKING_DAY_ENDS", "24:00", 1);
    setenv("TESSERA_AUDIT_BURST_RECORDS", "4", 1);
    setenv("TESSERA_AUDIT_BURST_MINUTES", "60", 1);
    return testenv_group_setup(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_audit_finds_what_was_planted_and_nothing_else),
        cmocka_unit_test(test_after_a_merge_the_workers_allocated_on_the_duplicate_are_not_reported),
        cmocka_unit_test(test_a_third_partys_reads_are_judged_by_the_contract_in_force_when_they_read),
        cmocka_unit_test(test_roles_sent_again_in_another_order_are_not_a_move),
        cmocka_unit_test(test_every_access_of_a_third_party_to_an_unrelated_case_is_found),
        cmocka_unit_test(test_every_account_ended_in_the_period_is_listed_with_who_ended_it_and_why),
    };
    return cmocka_run_group_tests(tests, setup, testenv_group_teardown);
}
