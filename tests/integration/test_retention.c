/* Retention of a record (seed 002): flagged at a case's closure with the criterion of the council's
 * schedule, the longest period applying to the whole record, held longer for an ongoing inquiry,
 * listed as due for disposal only once nothing keeps it, and then disposed of; each change in the
 * audit trail. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tsr_testenv.h"

/* A person with an early help involvement from 2019-04-01, ended on `ended` (NULL: still open). */
static void add_person_with_involvement(const char *token, const char *family, const char *dob,
                                        const char *service, const char *ended, char id[32],
                                        char involvement[32])
{
    testenv_add_person(testenv, token, "Robin", family, dob, id);
    char path[96], body[256];
    snprintf(path, sizeof(path), "/api/v1/people/%s/involvements", id);
    snprintf(body, sizeof(body), "{\"service\":\"%s\",\"kind\":\"%s\",\"start_date\":\"2019-04-01\"%s%s%s}",
             service, strcmp(service, "EH") == 0 ? "early-help" : "child-in-need",
             ended ? ",\"end_date\":\"" : "", ended ? ended : "", ended ? "\"" : "");
    json_t *inv = testenv_call_json(testenv, token, "POST", path, body, 201);
    snprintf(involvement, 32, "%s", testenv_str(inv, "id"));
    json_decref(inv);
}

static json_t *flag(const char *token, const char *person, const char *service, const char *body, long status)
{
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/people/%s/retention/%s", person, service);
    return testenv_call_json(testenv, token, "PUT", path, body, status);
}

/* The ids of the due list on a day, as the auditor sees it, comma-separated into out. */
static void due_ids(const char *token, const char *on, char *out, size_t size)
{
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/retention/due?on=%s&limit=200", on);
    json_t *list = testenv_call_json(testenv, token, "GET", path, NULL, 200);
    assert_string_equal(testenv_str(list, "on"), on);
    size_t used = 0, i;
    json_t *item;
    out[0] = '\0';
    json_array_foreach(json_object_get(list, "items"), i, item)
    {
        used += (size_t)snprintf(out + used, size - used, ",%s", testenv_str(item, "person_id"));
    }
    if (used < size)
        snprintf(out + used, size - used, ",");
    json_decref(list);
}

static int listed(const char *ids, const char *person)
{
    char needle[40];
    snprintf(needle, sizeof(needle), ",%s,", person);
    return strstr(ids, needle) != NULL;
}

static void test_a_closed_case_is_flagged_by_the_schedule_and_the_longest_period_is_the_records(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    json_t *schedule = testenv_call_json(testenv, sw, "GET", "/api/v1/retention/schedule", NULL, 200);
    assert_true(json_array_size(json_object_get(schedule, "criteria")) > 0);
    json_decref(schedule);
    char person[32], eh[32], path[128];
    add_person_with_involvement(sw, "Flagg", "2012-02-29", "EH", NULL, person, eh);
    long before = testenv_sql_long(testenv, "SELECT count(*) FROM records.retention_flags");
    /* Still open: not yet. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/retention/EH", person);
    testenv_call_error(testenv, sw, "PUT", path, "{\"criterion\":\"eh-contact-only\"}", 409, "case_open",
                       "service");
    /* Every fault of the form at once, and nothing kept. */
    testenv_response_t r =
        testenv_http(testenv, "PUT", path, sw,
                     "{\"criterion\":\"asc-adult-social-care\",\"closed_on\":\"2999-01-01\"}", NULL);
    testenv_assert_error(&r, 400, "date_in_future");
    assert_int_equal(json_array_size(json_object_get(r.json, "errors")), 2);
    assert_string_equal(testenv_str(json_array_get(json_object_get(r.json, "errors"), 0), "code"),
                        "unknown_criterion");
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/people/%s/retention/XYZ", person);
    testenv_call_error(testenv, sw, "PUT", path, "{\"criterion\":\"eh-contact-only\"}", 404, "not_found",
                       "service");
    /* A message quoting the caller's text cut inside a letter still says what was wrong. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/retention/ABCDEFGHIJKLMNOPQRS%%C5%%BC", person);
    r = testenv_http(testenv, "PUT", path, sw, "{}", NULL);
    testenv_assert_error(&r, 404, "not_found");
    assert_non_null(strstr(r.body, "There is no service 'ABCDEFGHIJKLMNOPQRS'"));
    testenv_response_free(&r);
    /* Nothing on the record says who worked an adult social care case: system support flag it, and
     * without an ended involvement they give the closure. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/retention/ASC", person);
    testenv_call_error(testenv, sw, "PUT", path, "{\"criterion\":\"asc-adult-social-care\"}", 403,
                       "not_on_the_case", "service");
    char *admin = testenv_login(testenv, "admin");
    testenv_call_error(testenv, admin, "PUT", path, "{\"criterion\":\"asc-adult-social-care\"}", 400,
                       "missing_field", "closed_on");
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM records.retention_flags"), before);

    /* Closed: the closure date is the involvement's end, the period counted from it. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/involvements/%s/end", person, eh);
    json_decref(testenv_call_json(testenv, sw, "POST", path, "{\"end_date\":\"2021-06-30\"}", 200));
    json_t *ret = flag(sw, person, "EH", "{\"criterion\":\"eh-contact-only\"}", 200);
    assert_string_equal(testenv_str(ret, "keep_until"), "2027-06-30");
    json_t *f = json_array_get(json_object_get(ret, "flags"), 0);
    assert_string_equal(testenv_str(f, "closed_on"), "2021-06-30");
    assert_string_equal(testenv_str(f, "criterion_title"), "Early help contact only");
    json_decref(ret);
    /* A second service's flag counted from the date of birth (29 February: 28 February in a common
     * year) and longer: the whole record's date is the later. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/involvements", person);
    json_decref(testenv_call_json(
        testenv, sw, "POST", path,
        "{\"service\":\"CSSW\",\"kind\":\"other\",\"start_date\":\"2021-01-04\",\"end_date\":\"2021-02-01\"}",
        201));
    ret =
        flag(sw, person, "CSSW", "{\"criterion\":\"cssw-child-in-need\",\"closed_on\":\"2022-01-10\"}", 200);
    assert_string_equal(testenv_str(ret, "keep_until"), "2037-02-28");
    assert_int_equal(json_array_size(json_object_get(ret, "flags")), 2);
    json_decref(ret);
    /* Flagged again with a shorter criterion (by a manager, saying why), the record's date follows
     * the flags it has. */
    char *manager = testenv_login(testenv, "mash.manager");
    ret = flag(manager, person, "CSSW",
               "{\"criterion\":\"cssw-contact-only\",\"closed_on\":\"2022-01-10\",\"reason\":\"Contact only: "
               "the child in need assessment was never opened\"}",
               200);
    assert_string_equal(testenv_str(ret, "keep_until"), "2028-01-10");
    json_decref(ret);
    /* The summary page shows it. */
    snprintf(path, sizeof(path), "/api/v1/people/%s", person);
    json_t *p = testenv_call_json(testenv, sw, "GET", path, NULL, 200);
    json_t *retention = json_object_get(p, "retention");
    assert_string_equal(testenv_str(retention, "keep_until"), "2028-01-10");
    assert_true(json_is_null(json_object_get(retention, "hold")));
    json_decref(p);
    /* A criterion counted from a date of birth the record does not have is refused. */
    json_t *no_dob = testenv_call_json(testenv, sw, "POST", "/api/v1/people",
                                       "{\"legal_name\":{\"given\":\"Sam\",\"family\":\"Nobirth\"},"
                                       "\"gender\":\"not-known\"}",
                                       201);
    char unknown_dob[32];
    snprintf(unknown_dob, sizeof(unknown_dob), "%s", testenv_str(no_dob, "id"));
    json_decref(no_dob);
    testenv_call_error(testenv, admin, "PUT",
                       (snprintf(path, sizeof(path), "/api/v1/people/%s/retention/CSSW", unknown_dob), path),
                       "{\"criterion\":\"cssw-looked-after\",\"closed_on\":\"2020-01-01\"}", 422,
                       "no_date_of_birth", "criterion");
    /* Removing a flag (by a manager, saying why). */
    snprintf(path, sizeof(path), "/api/v1/people/%s/retention/CSSW", person);
    json_decref(
        testenv_call_json(testenv, manager, "DELETE", path, "{\"reason\":\"Flagged in error\"}", 204));
    testenv_call_error(testenv, manager, "DELETE", path, "{\"reason\":\"Flagged in error\"}", 404,
                       "not_found", "service");
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_kind = 'person' AND record_id = %s"
             " AND action IN ('flag-retention', 'unflag-retention')",
             person);
    assert_int_equal(testenv_sql_long(testenv, sql), 4);
    free(manager);
    free(admin);
    free(sw);
}

static void test_a_record_is_due_only_when_its_time_has_come_and_nothing_keeps_it(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char *auditor = testenv_login(testenv, "auditor");
    char due[32], held[32], open[32], unflagged[32], allocated[32], inv[32], path[128], ids[8192];
    add_person_with_involvement(sw, "Due", "2010-01-01", "EH", "2019-05-01", due, inv);
    json_decref(flag(sw, due, "EH", "{\"criterion\":\"eh-contact-only\"}", 200)); /* 2025-05-01 */
    add_person_with_involvement(sw, "Held", "2010-01-01", "EH", "2019-05-01", held, inv);
    json_decref(flag(sw, held, "EH", "{\"criterion\":\"eh-contact-only\"}", 200));
    /* Reopened after flagging: a new involvement is open. */
    add_person_with_involvement(sw, "Reopened", "2010-01-01", "EH", "2019-05-01", open, inv);
    json_decref(flag(sw, open, "EH", "{\"criterion\":\"eh-contact-only\"}", 200));
    snprintf(path, sizeof(path), "/api/v1/people/%s/involvements", open);
    json_decref(
        testenv_call_json(testenv, sw, "POST", path,
                          "{\"service\":\"EH\",\"kind\":\"early-help\",\"start_date\":\"2024-01-01\"}", 201));
    /* Involved with a second service, closed but never flagged. */
    add_person_with_involvement(sw, "Unflagged", "2010-01-01", "EH", "2019-05-01", unflagged, inv);
    json_decref(flag(sw, unflagged, "EH", "{\"criterion\":\"eh-contact-only\"}", 200));
    snprintf(path, sizeof(path), "/api/v1/people/%s/involvements", unflagged);
    json_decref(testenv_call_json(testenv, sw, "POST", path,
                                  "{\"service\":\"CSSW\",\"kind\":\"child-in-need\",\"start_date\":\"2019-01-"
                                  "01\",\"end_date\":\"2019-02-01\"}",
                                  201));
    /* Allocated to a key worker still. */
    add_person_with_involvement(sw, "Allocated", "2010-01-01", "EH", "2019-05-01", allocated, inv);
    json_decref(flag(sw, allocated, "EH", "{\"criterion\":\"eh-contact-only\"}", 200));
    char *manager = testenv_login(testenv, "mash.manager");
    char key_worker[32];
    {
        testenv_response_t s =
            testenv_http(testenv, "POST", "/api/v1/session", NULL,
                         "{\"username\":\"key.worker\",\"password\":\"tessera-demo\"}", NULL);
        snprintf(key_worker, sizeof(key_worker), "%s",
                 json_string_value(json_object_get(json_object_get(s.json, "worker"), "id")));
        testenv_response_free(&s);
    }
    char body[160];
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations", allocated);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%s\",\"role\":\"key-worker\",\"service\":\"EH\"}",
             key_worker);
    json_decref(testenv_call_json(testenv, manager, "POST", path, body, 201));
    /* The person view says why each is not closed. */
    snprintf(path, sizeof(path), "/api/v1/people/%s", unflagged);
    json_t *p = testenv_call_json(testenv, sw, "GET", path, NULL, 200);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(p, "retention"), "unflagged_services"), 0)),
                        "CSSW");
    json_decref(p);
    snprintf(path, sizeof(path), "/api/v1/people/%s", allocated);
    p = testenv_call_json(testenv, sw, "GET", path, NULL, 200);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(p, "retention"), "open_services"), 0)),
                        "EH");
    json_decref(p);

    /* The hold: information governance only, with a reason. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/retention-hold", held);
    testenv_call_error(testenv, sw, "PUT", path, "{\"reason\":\"Inquiry\"}", 403, "forbidden", NULL);
    testenv_call_error(testenv, auditor, "PUT", path, "{\"reason\":\"  \"}", 400, "missing_field", "reason");
    json_t *ret =
        testenv_call_json(testenv, auditor, "PUT", path,
                          "{\"reason\":\"Independent inquiry into the Held family\",\"review_date\":"
                          "\"2027-06-30\"}",
                          200);
    assert_string_equal(testenv_str(json_object_get(ret, "hold"), "reason"),
                        "Independent inquiry into the Held family");
    json_decref(ret);

    /* The day before the date nothing; on it only the record nothing keeps. */
    testenv_call_error(testenv, sw, "GET", "/api/v1/retention/due", NULL, 403, "forbidden", NULL);
    due_ids(auditor, "2025-04-30", ids, sizeof(ids));
    assert_false(listed(ids, due));
    due_ids(auditor, "2025-05-01", ids, sizeof(ids));
    assert_true(listed(ids, due));
    assert_false(listed(ids, held));
    assert_false(listed(ids, open));
    assert_false(listed(ids, unflagged));
    assert_false(listed(ids, allocated));
    /* The hold released, the record is due again. */
    json_decref(testenv_call_json(testenv, auditor, "DELETE", path, NULL, 204));
    due_ids(auditor, "2025-05-01", ids, sizeof(ids));
    assert_true(listed(ids, held));
    testenv_call_error(testenv, auditor, "GET", "/api/v1/retention/due?on=2025-13-01", NULL, 400,
                       "invalid_date", NULL);
    /* Listing the records is a read of each, in the trail. */
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_kind = 'person' AND record_id = %s"
             " AND action IN ('hold-retention', 'release-retention-hold', 'list-retention-due')",
             held);
    assert_int_equal(testenv_sql_long(testenv, sql), 3);
    /* The nightly job's list: a line per flag, the service's own records with --service. */
    char out[16384], line[256];
    assert_int_equal(testenv_run_tool(testenv, "retention due --on 2025-05-01 --service EH --format csv", out,
                                      sizeof(out)),
                     0);
    assert_non_null(strstr(out,
                           "Person ID,Name,Restricted,Record kept until,Service,Criterion,Case closed on,"
                           "Flag kept until\r\n"));
    snprintf(line, sizeof(line),
             "\n%s,Robin Due,no,2025-05-01,EH,Early help contact only,2019-05-01,2025-05-01\r\n", due);
    if (strstr(out, line) == NULL)
        fail_msg("%s is not in the list: %s", line + 1, out);
    assert_int_equal(testenv_run_tool(testenv, "retention due --on 2025-05-01 --service CSSW --format csv",
                                      out, sizeof(out)),
                     0);
    assert_null(strstr(out, "Robin Due"));
    assert_int_equal(
        testenv_run_tool(testenv, "retention due --on 2025-05-01 --format json", out, sizeof(out)), 0);
    json_t *doc = json_loads(out, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(testenv_str(doc, "on"), "2025-05-01");
    json_decref(doc);
    assert_int_equal(testenv_run_tool(testenv, "retention due --service XX --format csv", out, sizeof(out)),
                     2);
    assert_non_null(strstr(out, "--service must be CSSW, EH or ASC"));
    assert_int_equal(
        testenv_run_tool(testenv, "retention due --on 2025-02-30 --format csv", out, sizeof(out)), 2);
    assert_non_null(strstr(out, "(--on)"));
    free(manager);
    free(auditor);
    free(sw);
}

/* A worker who may not open a restricted record may not flag it either; the refusal is kept. */
static void test_a_restricted_record_is_flagged_only_by_those_who_may_open_it(void **state)
{
    (void)state;
    char *eh = testenv_login(testenv, "eh.worker"); /* not on the list, nor by policy */
    char *admin = testenv_login(testenv, "admin");
    char person[32], inv[32], path[128];
    add_person_with_involvement(admin, "Private", "2011-03-03", "EH", "2020-03-03", person, inv);
    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", person);
    json_decref(testenv_call_json(
        testenv, admin, "PUT", path,
        "{\"reason\":\"conflict-of-interest\",\"review_date\":\"2099-01-01\",\"workers\":[]}", 200));
    snprintf(path, sizeof(path), "/api/v1/people/%s/retention/EH", person);
    testenv_call_error(testenv, eh, "PUT", path, "{\"criterion\":\"eh-contact-only\"}", 403,
                       "restricted_record", NULL);
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM records.retention_flags WHERE person_id = %s", person);
    assert_int_equal(testenv_sql_long(testenv, sql), 0);
    /* Flagged by one who may open it and due, it is listed to the auditor, who may not, by its display
     * name only: not when it is kept until, which tells when it was closed. */
    json_decref(flag(admin, person, "EH", "{\"criterion\":\"eh-contact-only\"}", 200));
    char *auditor = testenv_login(testenv, "auditor");
    json_t *list = testenv_call_json(testenv, auditor, "GET", "/api/v1/retention/due?on=2099-01-01&limit=200",
                                     NULL, 200);
    size_t i;
    json_t *item;
    int seen = 0;
    json_array_foreach(json_object_get(list, "items"), i, item)
    {
        if (strcmp(testenv_str(item, "person_id"), person) != 0)
            continue;
        seen = 1;
        assert_true(json_is_true(json_object_get(item, "name_only")));
        assert_true(json_is_null(json_object_get(item, "keep_until")));
        assert_null(json_object_get(item, "flags"));
    }
    assert_true(seen);
    json_decref(list);
    free(auditor);
    free(admin);
    free(eh);
}

/* Two records of one person merged: for each service the flag keeping the record longer, and the
 * duplicate's hold, go with the survivor. */
static void test_a_merge_keeps_the_longer_flag_and_the_hold(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char *admin = testenv_login(testenv, "admin");
    char survivor[32], duplicate[32], inv[32], path[128], body[64];
    add_person_with_involvement(sw, "Merge", "2012-05-05", "EH", "2020-01-31", survivor, inv);
    add_person_with_involvement(sw, "Merge", "2012-05-05", "EH", "2020-01-31", duplicate, inv);
    json_decref(flag(sw, survivor, "EH", "{\"criterion\":\"eh-contact-only\"}", 200)); /* 2026-01-31 */
    json_decref(flag(sw, duplicate, "EH", "{\"criterion\":\"eh-early-help\"}", 200));  /* 2037-05-05 */
    snprintf(path, sizeof(path), "/api/v1/people/%s/retention-hold", duplicate);
    json_decref(testenv_call_json(testenv, admin, "PUT", path, "{\"reason\":\"Serious case review\"}", 200));
    snprintf(path, sizeof(path), "/api/v1/people/%s/merge", survivor);
    snprintf(body, sizeof(body), "{\"duplicate_id\":\"%s\"}", duplicate);
    json_decref(testenv_call_json(testenv, admin, "POST", path, body, 200));
    snprintf(path, sizeof(path), "/api/v1/people/%s", survivor);
    json_t *p = testenv_call_json(testenv, sw, "GET", path, NULL, 200);
    json_t *retention = json_object_get(p, "retention");
    assert_string_equal(testenv_str(retention, "keep_until"), "2037-05-05");
    assert_int_equal(json_array_size(json_object_get(retention, "flags")), 1);
    assert_string_equal(testenv_str(json_object_get(retention, "hold"), "reason"), "Serious case review");
    json_decref(p);
    free(admin);
    free(sw);
}

/* A reason as long as a hold's may be, in letters of two bytes: its audit entry, cut to the
 * trail's size, is cut between letters, and the trail goes on (a cut inside one was refused by
 * PostgreSQL, and every later entry waited behind it). */
static void test_a_long_reason_in_another_script_reaches_the_trail(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char *auditor = testenv_login(testenv, "auditor");
    char person[32], inv[32], path[128];
    add_person_with_involvement(sw, "Zolkiewska", "2013-07-07", "EH", "2020-07-07", person, inv);
    /* Held twice, "Z" and "Zz" before the letters: the cut falls inside a letter one of the times. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/retention-hold", person);
    for (int parity = 0; parity < 2; parity++) {
        char body[2400];
        size_t n = (size_t)snprintf(body, sizeof(body), "{\"reason\":\"%s", parity ? "Zz" : "Z");
        for (int i = 0; i < 998; i++)
            n += (size_t)snprintf(body + n, sizeof(body) - n, "\xc5\xbc"); /* z with a dot above */
        snprintf(body + n, sizeof(body) - n, "\"}");
        json_decref(testenv_call_json(testenv, auditor, "PUT", path, body, 200));
    }
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_kind = 'person' AND record_id = %s"
             " AND action = 'hold-retention'",
             person);
    assert_int_equal(testenv_sql_long(testenv, sql), 2);
    free(auditor);
    free(sw);
}

static void test_the_records_daemon_refuses_a_schedule_with_a_fault_naming_it(void **state)
{
    (void)state;
    char *bad = testenv_write_file(
        testenv, "bad-schedule.json",
        "{\"criteria\": [{\"code\": \"cssw-cin\", \"title\": \"Child in need\", \"service\": \"CSSW\","
        " \"keep_years\": 25, \"from\": \"date_of_birth\"}, {\"code\": \"asc\", \"title\": \"Adults\","
        " \"service\": \"ASC\", \"keep_years\": 0, \"from\": \"closure\"}]}");
    char setting[512];
    snprintf(setting, sizeof(setting), "TESSERA_RECORDS_RETENTION_SCHEDULE_FILE=%s", bad);
    testenv_assert_refuses_to_start(testenv, "records", setting, "criteria[1].keep_years (asc)", NULL);
    char *not_json = testenv_write_file(testenv, "not-json.json", "{\"criteria\": [\n  {\"code\": }\n]}");
    snprintf(setting, sizeof(setting), "TESSERA_RECORDS_RETENTION_SCHEDULE_FILE=%s", not_json);
    testenv_assert_refuses_to_start(testenv, "records", setting, "line 2", NULL);
    /* A file that is not there is said so, not put at line -1, column -1. */
    testenv_assert_refuses_to_start(
        testenv, "records", "TESSERA_RECORDS_RETENTION_SCHEDULE_FILE=/nonexistent/schedule.json",
        "/nonexistent/schedule.json (records.retention_schedule_file): it cannot be "
        "read: unable to open",
        NULL);
    /* A criterion for a kind of case there is not (a typo would leave the case unguarded). */
    char *bad_kind = testenv_write_file(
        testenv, "bad-kind.json",
        "{\"criteria\": [{\"code\": \"cssw-cp\", \"title\": \"Child protection\", \"service\": \"CSSW\","
        " \"keep_years\": 35, \"from\": \"closure\", \"kinds\": [\"child-protectoin\"]}]}");
    snprintf(setting, sizeof(setting), "TESSERA_RECORDS_RETENTION_SCHEDULE_FILE=%s", bad_kind);
    testenv_assert_refuses_to_start(testenv, "records", setting, "criteria[0].kinds[0] (cssw-cp)", NULL);
    free(bad);
    free(not_json);
    free(bad_kind);
}

/* Polls sql (a count) until it is want, for up to five seconds: the daemons following records'
 * events delete what they keep. */
static void wait_count(const char *sql, long want)
{
    long got = -1;
    for (int attempt = 0; attempt < 100 && got != want; attempt++) {
        got = testenv_sql_long(testenv, sql);
        if (got != want)
            usleep(50 * 1000);
    }
    if (got != want)
        fail_msg("%s: %ld, not %ld", sql, got, want);
}

/* Seed 002: "Once the retention period has been reached ... records are deleted appropriately", the
 * longest period applying to the whole record, and kept longer for an inquiry. A record due goes,
 * with the duplicate merged into it, its work and what CP-IS held under it; its id is answered
 * "disposed of"; the trail says so without the name. A record not due stays, with every reason. */
static void test_a_record_due_is_disposed_of_with_its_duplicate_work_and_cp_is_data(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char *auditor = testenv_login(testenv, "auditor");
    char *admin = testenv_login(testenv, "admin");
    char person[32], duplicate[32], sibling[32], inv[32], path[160], body[300], sql[1024], nhs[11], step[32];
    add_person_with_involvement(sw, "Disposable", "1980-01-01", "EH", "2019-05-01", person, inv);
    testenv_add_person(testenv, sw, "Robyn", "Disposable", "1980-01-01", duplicate);
    testenv_add_person(testenv, sw, "Sidney", "Keptsibling", "2012-03-04", sibling);
    testenv_new_nhs_number(nhs);
    snprintf(path, sizeof(path), "/api/v1/people/%s/nhs-number", person);
    snprintf(body, sizeof(body), "{\"nhs_number\":\"%s\"}", nhs);
    json_decref(testenv_call_json(testenv, sw, "PUT", path, body, 200));
    snprintf(path, sizeof(path), "/api/v1/people/%s/relationships", person);
    snprintf(body, sizeof(body), "{\"person_id\":\"%s\",\"type\":\"sibling\"}", sibling);
    json_decref(testenv_call_json(testenv, sw, "POST", path, body, 201));
    /* A child protection plan, long ended (an open one keeps the record). */
    snprintf(body, sizeof(body),
             "{\"person_id\":\"%s\",\"plan_type\":\"child-protection-plan\","
             "\"start_date\":\"1990-01-01\",\"end_date\":\"1990-12-31\"}",
             person);
    json_decref(testenv_call_json(testenv, sw, "POST", "/api/v1/cpis/plans", body, 201));
    snprintf(body, sizeof(body),
             "{\"type\":\"cpis-follow-up\",\"subject\":{\"kind\":\"person\",\"id\":\"%s\"}}", duplicate);
    json_t *started = testenv_call_json(testenv, admin, "POST", "/api/v1/steps", body, 201);
    snprintf(step, sizeof(step), "%s", testenv_str(started, "id"));
    json_decref(started);
    snprintf(path, sizeof(path), "/api/v1/people/%s/merge", person);
    snprintf(body, sizeof(body), "{\"duplicate_id\":\"%s\"}", duplicate);
    json_decref(testenv_call_json(testenv, admin, "POST", path, body, 200));
    json_decref(flag(sw, person, "EH", "{\"criterion\":\"eh-contact-only\"}", 200)); /* 2025-05-01 */
    /* The plan was a child protection case of CSSW's, flagged too: by system support, since nothing on
     * the record names a worker of that case. */
    json_decref(
        flag(admin, person, "CSSW", "{\"criterion\":\"cssw-child-protection\"}", 200)); /* 2025-12-31 */

    /* Not before its time, nor while held, nor by those who only see what is due. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/disposal", person);
    testenv_call_error(testenv, auditor, "POST", path, "{}", 403, "forbidden", NULL);
    testenv_call_error(testenv, sw, "POST", path, "{}", 403, "forbidden", NULL);
    char hold[96];
    snprintf(hold, sizeof(hold), "/api/v1/people/%s/retention-hold", person);
    json_decref(
        testenv_call_json(testenv, auditor, "PUT", hold, "{\"reason\":\"Inquiry into the family\"}", 200));
    testenv_response_t r = testenv_http(testenv, "POST", path, admin, "{}", NULL);
    testenv_assert_error(&r, 409, "not_due");
    assert_non_null(strstr(r.body, "Inquiry into the family"));
    testenv_response_free(&r);
    json_decref(testenv_call_json(testenv, auditor, "DELETE", hold, NULL, 204));
    snprintf(body, sizeof(body), "/api/v1/people/%s/disposal", duplicate);
    testenv_call_error(testenv, admin, "POST", body, "{}", 409, "merged", NULL);
    testenv_call_error(testenv, admin, "POST", path, "{\"note\":\"a\\u0007b\"}", 400, "invalid_value",
                       "note");
    testenv_call_error(testenv, admin, "POST", path, "{\"notes\":\"x\"}", 400, "unknown_field", "notes");

    /* Asked about alone, it is due, and no other record is listed. */
    snprintf(body, sizeof(body), "/api/v1/retention/due?person_id=%s", person);
    json_t *alone = testenv_call_json(testenv, admin, "GET", body, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(alone, "items")), 1);
    assert_string_equal(testenv_str(json_array_get(json_object_get(alone, "items"), 0), "person_id"), person);
    json_decref(alone);
    testenv_call_error(testenv, admin, "GET", "/api/v1/retention/due?person_id=x1", NULL, 400, "invalid_id",
                       "person_id");

    /* Notices that point at the duplicate and at the sibling, as the notifications daemon holds them
     * (a key worker asked to record an NHS number). */
    snprintf(sql, sizeof(sql),
             "INSERT INTO notifications.notices (worker_id, kind, title, link, dedupe_key, producer)"
             " VALUES (1, 'cpis-nhs-number-needed', 'CP-IS: record the child''s NHS number', '/people/%s',"
             " 'disposal-test:%s', 'cpis'), (1, 'cpis-nhs-number-needed', 'CP-IS: record the child''s NHS"
             " number', '/people/%s', 'disposal-test:%s', 'cpis')",
             duplicate, duplicate, sibling, sibling);
    char out[128];
    assert_int_equal(testenv_psql(testenv, NULL, sql, out, sizeof(out)), 0);

    /* Due: it goes, with its duplicate. */
    json_t *d =
        testenv_call_json(testenv, admin, "POST", path, "{\"note\":\"Disposal list EH-2026-11\"}", 200);
    assert_string_equal(testenv_str(d, "person_id"), person);
    assert_string_equal(testenv_str(d, "keep_until"), "2025-12-31");
    assert_string_equal(testenv_str(d, "note"), "Disposal list EH-2026-11");
    assert_int_equal(json_array_size(json_object_get(d, "disposed_ids")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(d, "disposed_ids"), 1)), duplicate);
    assert_string_equal(json_string_value(json_array_get(json_object_get(d, "criteria"), 0)),
                        "CSSW: Child protection");
    assert_string_equal(json_string_value(json_array_get(json_object_get(d, "criteria"), 1)),
                        "EH: Early help contact only");
    json_decref(d);
    snprintf(body, sizeof(body), "/api/v1/people/%s", person);
    r = testenv_http(testenv, "GET", body, admin, NULL, NULL);
    testenv_assert_error(&r, 404, "record_disposed");
    assert_non_null(strstr(r.body, "disposed of on"));
    testenv_response_free(&r);
    snprintf(body, sizeof(body), "/api/v1/people/%s", duplicate);
    testenv_call_error(testenv, sw, "GET", body, NULL, 404, "record_disposed", NULL);
    testenv_call_error(testenv, admin, "POST", path, "{}", 404, "record_disposed", NULL);
    char ids[8192];
    due_ids(auditor, "2026-01-01", ids, sizeof(ids));
    assert_false(listed(ids, person));
    /* Nothing of them is left in records, the sibling's record stays without them. */
    snprintf(sql, sizeof(sql),
             "SELECT (SELECT count(*) FROM records.people WHERE id IN (%s, %s))"
             " + (SELECT count(*) FROM records.relationships WHERE person_id IN (%s, %s) OR related_id IN "
             "(%s, %s))"
             " + (SELECT count(*) FROM records.retention_flags WHERE person_id = %s)"
             " + (SELECT count(*) FROM records.involvements WHERE person_id = %s)",
             person, duplicate, person, duplicate, person, duplicate, person, person);
    assert_int_equal(testenv_sql_long(testenv, sql), 0);
    snprintf(body, sizeof(body), "/api/v1/people/%s", sibling);
    json_decref(testenv_call_json(testenv, sw, "GET", body, NULL, 200));
    /* The work about the duplicate went with it, answered so; CP-IS forgot the plan and the number. */
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM workflow.steps WHERE id = %s", step);
    wait_count(sql, 0);
    snprintf(body, sizeof(body), "/api/v1/steps/%s", step);
    r = testenv_http(testenv, "GET", body, admin, NULL, NULL);
    testenv_assert_error(&r, 404, "step_deleted");
    assert_non_null(strstr(r.body, "disposed of at the end of its retention"));
    testenv_response_free(&r);
    snprintf(sql, sizeof(sql),
             "SELECT (SELECT count(*) FROM cpis.plans WHERE person_id = %s)"
             " + (SELECT count(*) FROM cpis.upload_records WHERE nhs_number = '%s')",
             person, nhs);
    wait_count(sql, 0);
    /* The notices about it went; the sibling's stays. */
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM notifications.notices WHERE dedupe_key = 'disposal-test:%s'", duplicate);
    wait_count(sql, 0);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM notifications.notices WHERE dedupe_key = 'disposal-test:%s'", sibling);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    /* The trail: disposed of, by whom, under what; the name not in it. */
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_kind = 'person' AND record_id = %s"
             " AND action = 'dispose' AND summary LIKE '%%Early help contact only%%'"
             " AND summary LIKE '%%EH-2026-11%%' AND summary NOT LIKE '%%Disposable%%'",
             person);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    free(admin);
    free(auditor);
    free(sw);
}

/* An unborn child's record names its mother, whose NHS number CP-IS uses until the birth: the
 * mother's record is not disposed of from under it. */
static void test_a_mother_named_by_an_unborn_childs_record_is_not_disposed_of(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char *admin = testenv_login(testenv, "admin");
    char mother[32], inv[32], path[96], body[300], edd[16];
    add_person_with_involvement(sw, "Mothering", "1990-01-01", "EH", "2019-05-01", mother, inv);
    json_decref(flag(sw, mother, "EH", "{\"criterion\":\"eh-contact-only\"}", 200));
    testenv_sql_date(testenv, "current_date + 60", edd);
    snprintf(body, sizeof(body),
             "{\"legal_name\":{\"given\":\"\",\"family\":\"Mothering\"},\"gender\":\"not-known\","
             "\"unborn\":true,\"mother_id\":\"%s\",\"expected_delivery_date\":\"%s\"}",
             mother, edd);
    json_t *unborn = testenv_call_json(testenv, sw, "POST", "/api/v1/people", body, 201);
    snprintf(path, sizeof(path), "/api/v1/people/%s/disposal", mother);
    testenv_response_t r = testenv_http(testenv, "POST", path, admin, "{}", NULL);
    testenv_assert_error(&r, 409, "unborn_child");
    assert_non_null(strstr(r.body, testenv_str(unborn, "id")));
    testenv_response_free(&r);
    json_decref(unborn);
    snprintf(path, sizeof(path), "/api/v1/people/%s", mother);
    json_decref(testenv_call_json(testenv, sw, "GET", path, NULL, 200));
    free(admin);
    free(sw);
}

/* The error a call answers, whose body must hold `words`. */
static void refused_saying(const char *token, const char *method, const char *path, const char *body,
                           long status, const char *code, const char *field, const char *words)
{
    testenv_response_t r = testenv_http(testenv, method, path, token, body, NULL);
    testenv_assert_error(&r, status, code);
    if (field != NULL)
        assert_string_equal(testenv_str(json_object_get(r.json, "error"), "field"), field);
    if (strstr(r.body, words) == NULL)
        fail_msg("%s %s: '%s' is not in %s", method, path, words, r.body);
    testenv_response_free(&r);
}

static size_t due_count_of(const char *token, const char *person, const char *on)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/retention/due?person_id=%s&on=%s", person, on);
    json_t *list = testenv_call_json(testenv, token, "GET", path, NULL, 200);
    size_t n = json_array_size(json_object_get(list, "items"));
    json_decref(list);
    return n;
}

/* Seed 002 keeps a record until its case is closed: a child on a child protection plan or in care
 * (the plan recorded for CP-IS, in the cpis daemon) has an open children's social work case whatever
 * the involvements say. The record is not due, is not disposed of (the plan with it), and CSSW is not
 * flagged while the plan is open; once it ends, the old flag is not the case's closure, and the case
 * is a child protection one. */
static void test_a_child_on_an_open_cp_is_plan_is_neither_due_nor_flagged_nor_disposed_of(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char *admin = testenv_login(testenv, "admin");
    char *auditor = testenv_login(testenv, "auditor");
    char child[32], plan[32], path[160], body[300], sql[256], nhs[11], started[16], today[16], kept[16];
    testenv_add_person(testenv, sw, "Cora", "Linden", "2009-01-15", child);
    testenv_new_nhs_number(nhs);
    snprintf(path, sizeof(path), "/api/v1/people/%s/nhs-number", child);
    snprintf(body, sizeof(body), "{\"nhs_number\":\"%s\"}", nhs);
    json_decref(testenv_call_json(testenv, sw, "PUT", path, body, 200));
    /* An old contact, closed and flagged long ago: kept until 2017. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/involvements", child);
    json_decref(testenv_call_json(testenv, sw, "POST", path,
                                  "{\"service\":\"CSSW\",\"kind\":\"other\",\"start_date\":\"2010-01-01\","
                                  "\"end_date\":\"2011-01-01\"}",
                                  201));
    json_t *ret = flag(sw, child, "CSSW", "{\"criterion\":\"cssw-contact-only\"}", 200);
    assert_string_equal(testenv_str(ret, "keep_until"), "2017-01-01");
    json_decref(ret);
    /* Now on a child protection plan. */
    testenv_sql_date(testenv, "current_date - 30", started);
    snprintf(body, sizeof(body),
             "{\"person_id\":\"%s\",\"plan_type\":\"child-protection-plan\",\"start_date\":\"%s\"}", child,
             started);
    json_t *p = testenv_call_json(testenv, sw, "POST", "/api/v1/cpis/plans", body, 201);
    snprintf(plan, sizeof(plan), "%s", testenv_str(p, "id"));
    json_decref(p);

    /* Not due, not disposed of, not flagged: each saying it is the plan. */
    assert_int_equal(due_count_of(auditor, child, "2099-01-01"), 0);
    snprintf(path, sizeof(path), "/api/v1/people/%s/disposal", child);
    refused_saying(admin, "POST", path, "{}", 409, "not_due", NULL, "A CP-IS plan is open");
    snprintf(path, sizeof(path), "/api/v1/people/%s/retention/CSSW", child);
    refused_saying(sw, "PUT", path, "{\"criterion\":\"cssw-child-protection\"}", 409, "case_open", "service",
                   "child protection plan");
    snprintf(sql, sizeof(sql),
             "SELECT (SELECT count(*) FROM cpis.plans WHERE person_id = %s)"
             " + (SELECT count(*) FROM records.people WHERE id = %s)",
             child, child);
    assert_int_equal(testenv_sql_long(testenv, sql), 2);
    /* An early help flag (system support's: nothing names an early help worker) is no CSSW closure:
     * the record stays open with CSSW. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/retention/EH", child);
    ret = testenv_call_json(testenv, admin, "PUT", path,
                            "{\"criterion\":\"eh-contact-only\",\"closed_on\":\"2012-01-01\"}", 200);
    assert_string_equal(json_string_value(json_array_get(json_object_get(ret, "open_services"), 0)), "CSSW");
    json_decref(ret);
    assert_int_equal(due_count_of(auditor, child, "2099-01-01"), 0);

    /* The plan ends today: the flag of 2011 is not this closure's, so the record is still not due. */
    snprintf(path, sizeof(path), "/api/v1/cpis/plans/%s/end", plan);
    json_decref(testenv_call_json(testenv, sw, "POST", path, "{}", 200));
    assert_int_equal(due_count_of(auditor, child, "2099-01-01"), 0);
    snprintf(path, sizeof(path), "/api/v1/people/%s/disposal", child);
    refused_saying(admin, "POST", path, "{}", 409, "not_due", NULL, "CSSW was involved with the person");
    /* Flagged at this closure, as the child protection case it was: not 'contact only'. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/retention/CSSW", child);
    refused_saying(sw, "PUT", path, "{\"criterion\":\"cssw-contact-only\"}", 422, "unsuitable_criterion",
                   "criterion", "'Child protection' keeps it until");
    testenv_sql_date(testenv, "current_date", today);
    testenv_sql_date(testenv, "(current_date + interval '35 years')::date", kept);
    ret = flag(sw, child, "CSSW", "{\"criterion\":\"cssw-child-protection\"}", 200);
    assert_string_equal(testenv_str(ret, "keep_until"), kept);
    assert_string_equal(testenv_str(json_array_get(json_object_get(ret, "flags"), 0), "closed_on"), today);
    assert_int_equal(json_array_size(json_object_get(ret, "unflagged_services")), 0);
    json_decref(ret);
    assert_int_equal(due_count_of(auditor, child, kept), 1);
    free(auditor);
    free(admin);
    free(sw);
}

/* A closure cannot be before the case ended (a typo of a year would make a child protection record
 * closed last week due at once), and a case is not flagged with a criterion that keeps its record
 * less long than its kind of case needs: each refused, naming the field, and nothing kept. */
static void
test_a_flag_closing_before_the_case_ended_or_unsuited_to_it_is_refused_naming_the_field(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char *auditor = testenv_login(testenv, "auditor");
    char child[32], path[160], sql[160];
    testenv_add_person(testenv, sw, "Ivo", "Marchetti", "2012-08-08", child);
    snprintf(path, sizeof(path), "/api/v1/people/%s/involvements", child);
    json_decref(testenv_call_json(testenv, sw, "POST", path,
                                  "{\"service\":\"CSSW\",\"kind\":\"child-protection\",\"start_date\":"
                                  "\"2024-03-01\",\"end_date\":\"2025-11-30\"}",
                                  201));
    snprintf(path, sizeof(path), "/api/v1/people/%s/retention/CSSW", child);
    refused_saying(sw, "PUT", path, "{\"criterion\":\"cssw-child-protection\",\"closed_on\":\"2016-11-30\"}",
                   422, "closed_before_case_ended", "closed_on", "ended on 2025-11-30");
    refused_saying(sw, "PUT", path, "{\"criterion\":\"cssw-contact-only\"}", 422, "unsuitable_criterion",
                   "criterion", "'Child protection' keeps it until 2060-11-30");
    refused_saying(sw, "PUT", path, "{\"criterion\":\"cssw-child-in-need\"}", 422, "unsuitable_criterion",
                   "criterion", "child-protection");
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM records.retention_flags WHERE person_id = %s", child);
    assert_int_equal(testenv_sql_long(testenv, sql), 0);
    assert_int_equal(due_count_of(auditor, child, "2099-01-01"), 0);
    /* The right criterion, from the end or a later closure; a longer one is the service's choice. */
    json_t *ret = flag(sw, child, "CSSW", "{\"criterion\":\"cssw-child-protection\"}", 200);
    assert_string_equal(testenv_str(ret, "keep_until"), "2060-11-30");
    json_decref(ret);
    ret = flag(sw, child, "CSSW", "{\"criterion\":\"cssw-child-protection\",\"closed_on\":\"2025-12-15\"}",
               200);
    assert_string_equal(testenv_str(ret, "keep_until"), "2060-12-15");
    json_decref(ret);
    ret = flag(sw, child, "CSSW", "{\"criterion\":\"cssw-looked-after\"}", 200);
    assert_string_equal(testenv_str(ret, "keep_until"), "2087-08-08");
    json_decref(ret);
    free(auditor);
    free(sw);
}

/* A service the person had a key worker with is one of the record's services even once the
 * allocation has ended: it must flag the record too, from the allocation's end, before the record
 * is due (seed 002: the longest period applies to the whole record). */
static void test_a_service_with_an_ended_allocation_must_flag_the_record_before_it_is_due(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char *manager = testenv_login(testenv, "mash.manager");
    char *auditor = testenv_login(testenv, "auditor");
    char child[32], allocation[32], key_worker[32], path[160], body[160], today[16];
    testenv_add_person(testenv, sw, "Wren", "Halloway", "2018-03-03", child);
    {
        testenv_response_t s =
            testenv_http(testenv, "POST", "/api/v1/session", NULL,
                         "{\"username\":\"key.worker\",\"password\":\"tessera-demo\"}", NULL);
        snprintf(key_worker, sizeof(key_worker), "%s",
                 json_string_value(json_object_get(json_object_get(s.json, "worker"), "id")));
        testenv_response_free(&s);
    }
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations", child);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%s\",\"role\":\"key-worker\",\"service\":\"EH\"}",
             key_worker);
    json_t *a = testenv_call_json(testenv, manager, "POST", path, body, 201);
    snprintf(allocation, sizeof(allocation), "%s", testenv_str(a, "id"));
    json_decref(a);
    snprintf(path, sizeof(path), "/api/v1/people/%s/involvements", child);
    json_decref(testenv_call_json(testenv, sw, "POST", path,
                                  "{\"service\":\"CSSW\",\"kind\":\"child-in-need\",\"start_date\":"
                                  "\"2025-01-01\",\"end_date\":\"2025-11-30\"}",
                                  201));
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations/%s", child, allocation);
    json_decref(testenv_call_json(testenv, manager, "DELETE", path, NULL, 204));
    /* CSSW flags: Early Help has not, so the record is not due even long after CSSW's date. */
    json_t *ret = flag(sw, child, "CSSW", "{\"criterion\":\"cssw-child-in-need\"}", 200);
    assert_string_equal(testenv_str(ret, "keep_until"), "2043-03-03");
    assert_int_equal(json_array_size(json_object_get(ret, "unflagged_services")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(ret, "unflagged_services"), 0)),
                        "EH");
    json_decref(ret);
    assert_int_equal(due_count_of(auditor, child, "2099-01-01"), 0);
    /* Early Help's case closed when its allocation ended (today), not before; its key worker flags
     * it. */
    char *kw = testenv_login(testenv, "key.worker");
    snprintf(path, sizeof(path), "/api/v1/people/%s/retention/EH", child);
    refused_saying(kw, "PUT", path, "{\"criterion\":\"eh-contact-only\",\"closed_on\":\"2025-01-01\"}", 422,
                   "closed_before_case_ended", "closed_on", "allocation");
    testenv_sql_date(testenv, "current_date", today);
    ret = flag(kw, child, "EH", "{\"criterion\":\"eh-early-help\"}", 200);
    assert_string_equal(testenv_str(json_array_get(json_object_get(ret, "flags"), 1), "closed_on"), today);
    assert_string_equal(testenv_str(ret, "keep_until"), "2043-03-03");
    assert_int_equal(json_array_size(json_object_get(ret, "unflagged_services")), 0);
    json_decref(ret);
    assert_int_equal(due_count_of(auditor, child, "2099-01-01"), 1);
    free(kw);
    free(auditor);
    free(manager);
    free(sw);
}

/* The service's flag of a person as it stands: "CRITERION until KEEP_UNTIL by WORKER", or "none". */
static void flag_of(const char *token, const char *person, const char *service, char *out, size_t size)
{
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/people/%s", person);
    json_t *p = testenv_call_json(testenv, token, "GET", path, NULL, 200);
    size_t i;
    json_t *f;
    snprintf(out, size, "none");
    json_array_foreach(json_object_get(json_object_get(p, "retention"), "flags"), i, f)
    {
        if (strcmp(testenv_str(f, "service"), service) == 0)
            snprintf(out, size, "%s until %s by %s", testenv_str(f, "criterion"),
                     testenv_str(f, "keep_until"), testenv_str(f, "flagged_by"));
    }
    json_decref(p);
}

/* Seed 002: "practitioners are responsible for ensuring the record is flagged with the appropriate
 * retention criteria", and the flag decides when the record is deleted. A service's flag is set by
 * those who worked its case (a worker an involvement names, a member of a team it names), not by
 * another service's worker; it is shortened or removed only by the managers of the case's workers
 * and teams, or system support, saying why, which the trail keeps. Each refusal says why and whom
 * to ask, and changes nothing. */
static void test_a_services_flag_is_set_by_its_workers_and_cut_or_removed_only_by_its_managers(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *kw = testenv_login(testenv, "key.worker");
    char *eh = testenv_login(testenv, "eh.worker");
    char *carers = testenv_login(testenv, "carers.worker");
    char *manager = testenv_login(testenv, "cin.manager");
    char kw_id[32], manager_id[32], person[32], path[128], body[256], now[160], entries[4096];
    testenv_worker_id(testenv, "key.worker", kw_id);
    testenv_worker_id(testenv, "cin.manager", manager_id);
    testenv_add_person(testenv, admin, "Abena", "Quarshie", "1988-07-14", person);
    /* Her adult social care, worked by the key worker, closed on 31/03/2025. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/involvements", person);
    snprintf(body, sizeof(body),
             "{\"service\":\"ASC\",\"kind\":\"adult-social-care\",\"start_date\":\"2023-02-01\","
             "\"end_date\":\"2025-03-31\",\"worker_id\":\"%s\"}",
             kw_id);
    json_decref(testenv_call_json(testenv, admin, "POST", path, body, 201));
    json_t *ret = flag(kw, person, "ASC", "{\"criterion\":\"asc-adult-social-care\"}", 200);
    assert_string_equal(testenv_str(ret, "keep_until"), "2033-03-31");
    json_decref(ret);
    char kept[160];
    snprintf(kept, sizeof(kept), "asc-adult-social-care until 2033-03-31 by %s", kw_id);

    /* Early Help, not involved, neither sets nor removes it; nor does the carers' service. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/retention/ASC", person);
    refused_saying(eh, "PUT", path, "{\"criterion\":\"asc-safeguarding-adults\"}", 403, "not_on_the_case",
                   "service", "ask Kai Worrall, or system support");
    refused_saying(eh, "DELETE", path, "{\"reason\":\"Not needed\"}", 403, "manager_needed", "service",
                   "is for the managers of the ASC case (Noor Bradwell) or system support");
    refused_saying(carers, "DELETE", path, NULL, 403, "manager_needed", "service", "Noor Bradwell");
    flag_of(admin, person, "ASC", now, sizeof(now));
    assert_string_equal(now, kept);

    /* Its worker keeps it longer; only a manager shortens it again, and saying why. */
    ret = flag(kw, person, "ASC", "{\"criterion\":\"asc-safeguarding-adults\"}", 200);
    assert_string_equal(testenv_str(ret, "keep_until"), "2040-03-31");
    json_decref(ret);
    snprintf(kept, sizeof(kept), "asc-safeguarding-adults until 2040-03-31 by %s", kw_id);
    refused_saying(kw, "PUT", path, "{\"criterion\":\"asc-adult-social-care\"}", 403, "manager_needed",
                   "service", "'Adult social care' would keep the record until 2033-03-31");
    refused_saying(manager, "PUT", path, "{\"criterion\":\"asc-adult-social-care\",\"reason\":\"  \"}", 400,
                   "missing_field", "reason", "Enter why the ASC flag is shortened");
    flag_of(admin, person, "ASC", now, sizeof(now));
    assert_string_equal(now, kept);
    ret = flag(manager, person, "ASC",
               "{\"criterion\":\"asc-adult-social-care\",\"reason\":\"No safeguarding enquiry was opened\"}",
               200);
    assert_string_equal(testenv_str(ret, "keep_until"), "2033-03-31");
    json_decref(ret);
    snprintf(kept, sizeof(kept), "asc-adult-social-care until 2033-03-31 by %s", manager_id);
    flag_of(admin, person, "ASC", now, sizeof(now));
    assert_string_equal(now, kept);

    /* Removed by a manager only, saying why. */
    refused_saying(kw, "DELETE", path, "{\"reason\":\"Reopened\"}", 403, "manager_needed", "service",
                   "Removing Abena Quarshie's ASC retention flag");
    refused_saying(manager, "DELETE", path, NULL, 400, "missing_field", "reason", "Enter why");
    flag_of(admin, person, "ASC", now, sizeof(now));
    assert_string_equal(now, kept);
    json_decref(testenv_call_json(testenv, manager, "DELETE", path,
                                  "{\"reason\":\"Flagged on the wrong record\"}", 204));
    flag_of(admin, person, "ASC", now, sizeof(now));
    assert_string_equal(now, "none");
    testenv_audit_summaries(testenv, person, "flag-retention,unflag-retention", entries, sizeof(entries));
    assert_non_null(strstr(entries, "shortened from 'Safeguarding adults enquiry' by Kai Worrall, kept until "
                                    "2040-03-31, because: No safeguarding enquiry was opened"));
    assert_non_null(strstr(entries, "kept until 2033-03-31), because: Flagged on the wrong record"));

    /* A service nothing on the record names a worker for is system support's to flag. */
    refused_saying(eh, "PUT", (snprintf(path, sizeof(path), "/api/v1/people/%s/retention/EH", person), path),
                   "{\"criterion\":\"eh-contact-only\",\"closed_on\":\"2025-03-31\"}", 403, "not_on_the_case",
                   "service", "ask system support");
    /* A team's case is its members': an early help involvement naming the Early Help team. */
    char team[32];
    snprintf(team, sizeof(team), "%ld",
             testenv_sql_long(testenv, "SELECT id FROM records.teams WHERE name = 'Early Help'"));
    snprintf(path, sizeof(path), "/api/v1/people/%s/involvements", person);
    snprintf(body, sizeof(body),
             "{\"service\":\"EH\",\"kind\":\"early-help\",\"start_date\":\"2024-01-08\","
             "\"end_date\":\"2024-06-28\",\"team_id\":\"%s\"}",
             team);
    json_decref(testenv_call_json(testenv, admin, "POST", path, body, 201));
    ret = flag(eh, person, "EH", "{\"criterion\":\"eh-contact-only\"}", 200);
    assert_string_equal(testenv_str(ret, "keep_until"), "2030-06-28");
    json_decref(ret);
    free(manager);
    free(carers);
    free(eh);
    free(kw);
    free(admin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_closed_case_is_flagged_by_the_schedule_and_the_longest_period_is_the_records),
        cmocka_unit_test(test_a_record_is_due_only_when_its_time_has_come_and_nothing_keeps_it),
        cmocka_unit_test(test_a_restricted_record_is_flagged_only_by_those_who_may_open_it),
        cmocka_unit_test(test_a_merge_keeps_the_longer_flag_and_the_hold),
        cmocka_unit_test(test_a_long_reason_in_another_script_reaches_the_trail),
        cmocka_unit_test(test_the_records_daemon_refuses_a_schedule_with_a_fault_naming_it),
        cmocka_unit_test(test_a_record_due_is_disposed_of_with_its_duplicate_work_and_cp_is_data),
        cmocka_unit_test(test_a_mother_named_by_an_unborn_childs_record_is_not_disposed_of),
        cmocka_unit_test(test_a_child_on_an_open_cp_is_plan_is_neither_due_nor_flagged_nor_disposed_of),
        cmocka_unit_test(
            test_a_flag_closing_before_the_case_ended_or_unsuited_to_it_is_refused_naming_the_field),
        cmocka_unit_test(test_a_service_with_an_ended_allocation_must_flag_the_record_before_it_is_due),
        cmocka_unit_test(test_a_services_flag_is_set_by_its_workers_and_cut_or_removed_only_by_its_managers),
    };
    return cmocka_run_group_tests(tests, testenv_group_setup, testenv_group_teardown);
}
