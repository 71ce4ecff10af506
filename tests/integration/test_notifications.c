/* Notices through the notifications daemon (issue 7, seed 002): when someone outside a restricted
 * record's access list tries to open it, the record's managers (the line manager of its allocated
 * worker) get a notice naming no one, in the web UI's notices, one a worker, record and day counting
 * the attempts; it arrives even when the notifications daemon was down at the time; each worker sees
 * and marks only their own. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tsr_testenv.h"

static char *admin;

/* The worker's notices, waiting until there are at least `at_least` (from events: not at once). */
static json_t *notices(const char *token, int at_least)
{
    for (int i = 0; i < 100; i++) {
        testenv_response_t r = testenv_http(testenv, "GET", "/api/v1/notices", token, NULL, NULL);
        assert_int_equal(r.status, 200);
        json_t *body = json_incref(r.json);
        testenv_response_free(&r);
        if ((int)json_array_size(json_object_get(body, "items")) >= at_least)
            return body;
        json_decref(body);
        usleep(100 * 1000);
    }
    fail_msg("fewer than %d notices after 10 s", at_least);
    return NULL;
}

/* The worker's notice with this link once it counts at least `occurrences` (from events: not at
 * once); a new reference to it, and in *unread how many of theirs are unread, *with_link how many of
 * theirs have the link. */
static json_t *notice_counting(const char *token, const char *link, long occurrences, long *unread,
                               size_t *with_link)
{
    for (int i = 0; i < 100; i++, usleep(100 * 1000)) {
        json_t *list = notices(token, 0);
        json_t *found = NULL, *n;
        size_t k;
        *with_link = 0;
        json_array_foreach(json_object_get(list, "items"), k, n)
        {
            if (strcmp(testenv_str(n, "link"), link) != 0)
                continue;
            (*with_link)++;
            if (found == NULL)
                found = n; /* the newest */
        }
        *unread = (long)json_integer_value(json_object_get(list, "unread"));
        if (found != NULL && json_integer_value(json_object_get(found, "occurrences")) >= occurrences) {
            json_incref(found);
            json_decref(list);
            return found;
        }
        json_decref(list);
    }
    fail_msg("no notice for %s counting %ld after 10 s", link, occurrences);
    return NULL;
}

static void try_to_open(const char *token, const char *person)
{
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/people/%s", person);
    testenv_response_t r = testenv_http(testenv, "GET", path, token, NULL, NULL);
    testenv_assert_error(&r, 403, "restricted_record");
    testenv_response_free(&r);
}

/* A team manager of team, and a social worker in it whose line manager they are. */
static void add_manager_and_worker(const char *admin_token, const char *team, const char *manager_user,
                                   const char *manager_name, char manager[32], const char *worker_user,
                                   const char *worker_name, char worker[32])
{
    char rest[256];
    snprintf(rest, sizeof(rest), "\"roles\":[\"team-manager\"],\"teams\":[\"%s\"]", team);
    testenv_add_worker(testenv, admin_token, manager_user, manager_name, rest, manager);
    snprintf(rest, sizeof(rest), "\"roles\":[\"social-worker\"],\"teams\":[\"%s\"],\"manager_id\":\"%s\"",
             team, manager);
    testenv_add_worker(testenv, admin_token, worker_user, worker_name, rest, worker);
}

static void test_the_managers_of_a_restricted_record_hear_of_an_attempt_to_open_it(void **state)
{
    (void)state;
    admin = testenv_login(testenv, "admin");
    char mona[32], kai[32], body[512], person[32], path[128];
    add_manager_and_worker(admin, "Children in Need 1", "mgr.mona", "Mona Manning", mona, "kw.kai",
                           "Kai Keeling", kai);
    testenv_add_person(testenv, admin, "Nessa", "Noticeworth", "2016-01-01", person);
    testenv_response_t r;
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations", person);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%s\",\"role\":\"key-worker\",\"service\":\"CSSW\"}", kai);
    r = testenv_http(testenv, "POST", path, admin, body, NULL);
    assert_int_equal(r.status, 201);
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", person);
    snprintf(body, sizeof(body),
             "{\"reason\":\"high-risk\",\"review_date\":\"2099-01-01\",\"workers\":[\"%s\"]}", kai);
    r = testenv_http(testenv, "PUT", path, admin, body, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);

    char *eh = testenv_login(testenv, "eh.worker");
    char *t_mona = testenv_login(testenv, "mgr.mona");
    char *t_kai = testenv_login(testenv, "kw.kai");
    try_to_open(eh, person);

    json_t *list = notices(t_mona, 1);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
    assert_int_equal(json_integer_value(json_object_get(list, "unread")), 1);
    json_t *n = json_array_get(json_object_get(list, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(n, "kind")), "restricted-record-access-attempt");
    char link[64];
    snprintf(link, sizeof(link), "/people/%s", person);
    assert_string_equal(json_string_value(json_object_get(n, "link")), link);
    /* No personal data in the notice: neither the person's name nor the worker's. */
    const char *title = json_string_value(json_object_get(n, "title"));
    assert_null(strstr(title, "Noticeworth"));
    assert_null(strstr(title, "eh.worker"));
    assert_true(json_is_null(json_object_get(n, "read_at")));
    char notice[32];
    snprintf(notice, sizeof(notice), "%s", json_string_value(json_object_get(n, "id")));
    json_decref(list);

    /* The allocated worker, on the access list, and the one who tried, hear nothing. */
    list = notices(t_kai, 0);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 0);
    json_decref(list);
    list = notices(eh, 0);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 0);
    json_decref(list);

    /* Each marks only their own. */
    snprintf(path, sizeof(path), "/api/v1/notices/%s/read", notice);
    r = testenv_http(testenv, "POST", path, eh, NULL, NULL);
    testenv_assert_error(&r, 404, "not_found");
    testenv_response_free(&r);
    r = testenv_http(testenv, "POST", path, t_mona, NULL, NULL);
    assert_int_equal(r.status, 204);
    testenv_response_free(&r);
    list = notices(t_mona, 1);
    assert_int_equal(json_integer_value(json_object_get(list, "unread")), 0);
    json_decref(list);

    /* Nothing lost: an attempt made while the notifications daemon is down reaches the manager once
     * it is back. */
    testenv_kill(testenv, "notifications", SIGKILL);
    try_to_open(eh, person);
    testenv_restart(testenv, "notifications");
    long unread = 0;
    size_t with_link = 0;
    n = notice_counting(t_mona, link, 2, &unread, &with_link);
    /* The same worker on the same record the same day: the one notice, counting both, unread again. */
    assert_int_equal(json_integer_value(json_object_get(n, "occurrences")), 2);
    assert_true(json_is_null(json_object_get(n, "read_at")));
    assert_int_equal(with_link, 1);
    assert_int_equal(unread, 1);
    json_decref(n);
    r = testenv_http(testenv, "GET", "/api/v1/notices?unread_only=maybe", t_mona, NULL, NULL);
    testenv_assert_error(&r, 400, "invalid_value");
    testenv_response_free(&r);
    /* Pages as the API's other lists page (openapi: up to 200), where 101 was refused. */
    json_decref(testenv_call_json(testenv, t_mona, "GET", "/api/v1/notices?limit=200", NULL, 200));
    testenv_call_error(testenv, t_mona, "GET", "/api/v1/notices?limit=201", NULL, 400, "invalid_limit",
                       "limit");
    free(eh);
    free(t_mona);
    free(t_kai);
    free(admin);
}

/* One worker trying again and again to open a restricted record made a notice an attempt for each of
 * its managers: 510 refused reads left 510 unread notices burying the real work (a CP-IS follow-up,
 * an overdue escalation), each to be e-mailed once SMTP is set up. Now one notice a worker, record and
 * day, counting the attempts, unread again when it comes again; another worker's attempt is a notice
 * of its own, and so is the next day's. Every attempt is still in the audit trail. */
static void test_attempts_on_a_restricted_record_are_one_notice_a_worker_and_day_counting_them(void **state)
{
    (void)state;
    char *t_admin = testenv_login(testenv, "admin");
    char milo[32], kit[32], other[32], body[512], person[32], path[128], link[64];
    add_manager_and_worker(t_admin, "Children in Need 1", "mgr.milo", "Milo Manners", milo, "kw.kit",
                           "Kit Keeble", kit);
    testenv_add_worker(testenv, t_admin, "sw.sorrel", "Sorrel Sweeting",
                       "\"roles\":[\"social-worker\"],\"teams\":[\"Early Help\"]", other);
    testenv_add_person(testenv, t_admin, "Flora", "Floodgate", "2015-02-02", person);
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations", person);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%s\",\"role\":\"key-worker\",\"service\":\"CSSW\"}", kit);
    json_decref(testenv_call_json(testenv, t_admin, "POST", path, body, 201));
    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", person);
    snprintf(body, sizeof(body),
             "{\"reason\":\"high-risk\",\"review_date\":\"2099-01-01\",\"workers\":[\"%s\"]}", kit);
    json_decref(testenv_call_json(testenv, t_admin, "PUT", path, body, 200));
    snprintf(link, sizeof(link), "/people/%s", person);
    char *eh = testenv_login(testenv, "eh.worker");
    char *sorrel = testenv_login(testenv, "sw.sorrel");
    char *t_milo = testenv_login(testenv, "mgr.milo");

    for (int i = 0; i < 20; i++)
        try_to_open(eh, person);
    long unread = 0;
    size_t with_link = 0;
    json_t *n = notice_counting(t_milo, link, 20, &unread, &with_link);
    assert_int_equal(json_integer_value(json_object_get(n, "occurrences")), 20);
    assert_string_equal(testenv_str(n, "kind"), "restricted-record-access-attempt");
    assert_int_equal(with_link, 1);
    assert_int_equal(unread, 1);
    char notice[32];
    snprintf(notice, sizeof(notice), "%s", testenv_str(n, "id"));
    json_decref(n);
    /* Every attempt audited, as before. */
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 15000), 0);
    char sql[300];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_kind = 'person' AND record_id = %s"
             " AND username = 'eh.worker' AND action = 'refused'",
             person);
    assert_int_equal(testenv_sql_long(testenv, sql), 20);

    /* Read, then tried again: the same notice, unread again, counting one more. */
    snprintf(path, sizeof(path), "/api/v1/notices/%s/read", notice);
    testenv_response_t r = testenv_http(testenv, "POST", path, t_milo, NULL, NULL);
    assert_int_equal(r.status, 204);
    testenv_response_free(&r);
    try_to_open(eh, person);
    n = notice_counting(t_milo, link, 21, &unread, &with_link);
    assert_string_equal(testenv_str(n, "id"), notice);
    assert_true(json_is_null(json_object_get(n, "read_at")));
    assert_int_equal(with_link, 1);
    assert_int_equal(unread, 1);
    json_decref(n);

    /* Another worker's attempt is a notice of its own. */
    try_to_open(sorrel, person);
    for (int i = 0; i < 100 && with_link < 2; i++, usleep(100 * 1000))
        json_decref(notice_counting(t_milo, link, 1, &unread, &with_link));
    assert_int_equal(with_link, 2);
    assert_int_equal(unread, 2);

    /* The next day, a new one: eh.worker's notice made as if yesterday, then one more attempt. */
    snprintf(sql, sizeof(sql),
             "UPDATE notifications.notices SET dedupe_key = regexp_replace(dedupe_key, ':[0-9-]+$',"
             " ':2000-01-01'), read_at = now() WHERE id = %s",
             notice);
    char out[64];
    assert_int_equal(testenv_psql(testenv, NULL, sql, out, sizeof(out)), 0);
    try_to_open(eh, person);
    for (int i = 0; i < 100 && with_link < 3; i++, usleep(100 * 1000))
        json_decref(notice_counting(t_milo, link, 1, &unread, &with_link));
    assert_int_equal(with_link, 3);
    assert_int_equal(unread, 2);
    n = notice_counting(t_milo, link, 1, &unread, &with_link);
    assert_int_equal(json_integer_value(json_object_get(n, "occurrences")), 1);
    assert_string_not_equal(testenv_str(n, "id"), notice);
    json_decref(n);
    /* The one of the day before is as it was: read, counting 21. */
    snprintf(sql, sizeof(sql),
             "SELECT occurrences * 10 + (read_at IS NOT NULL)::int FROM notifications.notices"
             " WHERE id = %s",
             notice);
    assert_int_equal(testenv_sql_long(testenv, sql), 211);
    free(eh);
    free(sorrel);
    free(t_milo);
    free(t_admin);
}

/* A notice read more than notifications.read_notice_keep_days (180) ago goes at the housekeeping's
 * next round; one unread, however old, stays (it is work not yet seen), as does one read lately. A
 * bad keeping stops the start, named. */
static void test_notices_read_long_ago_go_and_unread_ones_stay(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(
        testenv_psql(
            testenv, NULL,
            "INSERT INTO notifications.notices (worker_id, kind, title, link, dedupe_key, producer,"
            " created_at, read_at) VALUES"
            " (1, 'request-received', 'New request: old and read', '/steps/1', 'keep-test:read-old',"
            "  'workflow', now() - interval '300 days', now() - interval '200 days'),"
            " (1, 'request-received', 'New request: old, unread', '/steps/2', 'keep-test:unread-old',"
            "  'workflow', now() - interval '300 days', NULL),"
            " (1, 'request-received', 'New request: read lately', '/steps/3', 'keep-test:read-new',"
            "  'workflow', now() - interval '300 days', now() - interval '10 days')",
            out, sizeof(out)),
        0);
    testenv_assert_refuses_to_start(testenv, "notifications", "TESSERA_NOTIFICATIONS_READ_NOTICE_KEEP_DAYS=0",
                                    "notifications.read_notice_keep_days", NULL);
    testenv_restart_with(testenv, "notifications", "TESSERA_TESSERA_HOUSEKEEPING_MS", "200");
    long left = -1;
    for (int i = 0; i < 100 && left != 2; i++, usleep(100 * 1000))
        left = testenv_sql_long(testenv, "SELECT count(*) FROM notifications.notices WHERE dedupe_key LIKE "
                                         "'keep-test:%'");
    assert_int_equal(left, 2);
    assert_int_equal(testenv_sql_long(testenv,
                                      "SELECT count(*) FROM notifications.notices WHERE dedupe_key IN"
                                      " ('keep-test:unread-old', 'keep-test:read-new')"),
                     2);
    assert_true(testenv_log_has(testenv, "notifications", "notices read more than 180 days ago"));
}

/* Whether the worker of token has a notice with this link (waiting up to want_it ? 10 s : 1 s). */
static int has_notice_for(const char *token, const char *link, int want_it)
{
    for (int i = 0; i < (want_it ? 100 : 10); i++, usleep(100 * 1000)) {
        json_t *list = notices(token, 0);
        size_t k;
        json_t *n;
        int found = 0;
        json_array_foreach(json_object_get(list, "items"), k, n)
        {
            if (strcmp(testenv_str(n, "link"), link) == 0)
                found = 1;
        }
        json_decref(list);
        if (found)
            return 1;
    }
    return 0;
}

/* Starts a step of the body's type as the worker of token and sends it to system support; the
 * step's link, as notices give it, in link. */
static void send_to_system_support(const char *token, const char *body, char link[64])
{
    json_t *step = testenv_call_json(testenv, token, "POST", "/api/v1/steps", body, 201);
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", testenv_str(step, "id"));
    snprintf(link, 64, "/steps/%s", testenv_str(step, "id"));
    json_decref(step);
    json_decref(
        testenv_call_json(testenv, token, "POST", path, "{\"type\":\"action-by-system-support\"}", 201));
}

/* A request sent to the System Support queue tells those who work it (notifications.notify_queues),
 * not the sender, and names no one. */
static void test_a_request_to_the_system_support_queue_tells_system_support(void **state)
{
    (void)state;
    char *admin_t = testenv_login(testenv, "admin");
    char *manager = testenv_login(testenv, "mash.manager");
    char *eh = testenv_login(testenv, "eh.worker");
    char link[64];
    send_to_system_support(manager, "{\"type\":\"add-organisation\"}", link);
    assert_true(has_notice_for(admin_t, link, 1));
    assert_false(has_notice_for(manager, link, 0));
    assert_false(has_notice_for(eh, link, 0));
    free(admin_t);
    free(manager);
    free(eh);
}

/* Seed 002: a worker declares a conflict of interest "so that the case records can be restricted",
 * which is system support's to do, but no one was told: the record stayed open to everyone else and
 * its work waited. System support now hear of each declaration in their notices, with a link to the
 * record and no one named; the worker who declared it does not, nor do others. */
static void test_system_support_hear_of_a_declared_conflict_of_interest(void **state)
{
    (void)state;
    char *admin_t = testenv_login(testenv, "admin");
    char support[32], declarer[32], person[32], link[64], path[96];
    testenv_add_worker(testenv, admin_t, "conflict.support", "Cass Supportley",
                       "\"roles\":[\"system-support\"],\"teams\":[\"System Support\"]", support);
    /* A member of system support declares too: told of the others', never of their own. */
    testenv_add_worker(testenv, admin_t, "conflict.decla", "Dec Larant",
                       "\"roles\":[\"social-worker\",\"system-support\"],\"teams\":[\"Children in Need 1\"]",
                       declarer);
    testenv_add_person(testenv, admin_t, "Nel", "Nearby", "1979-06-02", person);
    char *t_support = testenv_login(testenv, "conflict.support");
    char *t_declarer = testenv_login(testenv, "conflict.decla");
    char *sw = testenv_login(testenv, "mash.sw");
    snprintf(path, sizeof(path), "/api/v1/workers/%s/conflicts", declarer);
    char body[128];
    snprintf(body, sizeof(body), "{\"person_id\":\"%s\",\"relationship\":\"Neighbour\"}", person);
    json_decref(testenv_call_json(testenv, t_declarer, "POST", path, body, 200));
    snprintf(link, sizeof(link), "/people/%s", person);
    assert_true(has_notice_for(t_support, link, 1));
    assert_true(has_notice_for(admin_t, link, 1));
    json_t *list = notices(t_support, 1);
    size_t k;
    json_t *n;
    int found = 0;
    json_array_foreach(json_object_get(list, "items"), k, n)
    {
        if (strcmp(testenv_str(n, "link"), link) != 0)
            continue;
        found = 1;
        assert_string_equal(testenv_str(n, "kind"), "conflict-of-interest-declared");
        /* Names no one: neither the worker nor the person. */
        const char *title = testenv_str(n, "title");
        assert_non_null(strstr(title, "conflict of interest"));
        assert_non_null(strstr(title, "restrict"));
        assert_null(strstr(title, "Nearby"));
        assert_null(strstr(title, "Larant"));
    }
    assert_true(found);
    json_decref(list);
    assert_false(has_notice_for(t_declarer, link, 0));
    assert_false(has_notice_for(sw, link, 0));
    free(sw);
    free(t_declarer);
    free(t_support);
    free(admin_t);
}

/* Seed 001: "CC your senior/TM": a request type that copies the sender's manager in (copy_to) tells
 * them, and the link opens the request for them. */
static void test_the_senders_manager_is_copied_into_a_request_that_says_so(void **state)
{
    (void)state;
    char *admin_t = testenv_login(testenv, "admin");
    char cora[32], cal[32], person[32], body[256], link[64];
    add_manager_and_worker(admin_t, "Early Help", "mgr.cora", "Cora Copeland", cora, "sw.cal", "Cal Copeland",
                           cal);
    testenv_add_person(testenv, admin_t, "Ivy", "Copiedin", "2013-05-05", person);
    char *t_cal = testenv_login(testenv, "sw.cal");
    char *t_cora = testenv_login(testenv, "mgr.cora");
    snprintf(body, sizeof(body),
             "{\"type\":\"access-a-restricted-record\",\"subject\":{\"kind\":\"person\",\"id\":\"%s\"}}",
             person);
    send_to_system_support(t_cal, body, link);
    assert_true(has_notice_for(t_cora, link, 1));
    json_t *list = notices(t_cora, 1);
    assert_string_equal(testenv_str(json_array_get(json_object_get(list, "items"), 0), "title"),
                        "Copied to you: Action by system support");
    json_decref(list);
    char api[96];
    snprintf(api, sizeof(api), "/api/v1%s", link);
    json_decref(testenv_call_json(testenv, t_cora, "GET", api, NULL, 200));
    /* The sender is not copied into their own request. */
    assert_false(has_notice_for(t_cal, link, 0));
    free(t_cal);
    free(t_cora);
    free(admin_t);
}

/* Waits until the notifications daemon's copy of each worker of ids (a SQL list) has their roles:
 * who hears of a request sent to a team is decided by it when the request's event arrives. */
static void wait_for_members(const char *ids, long n)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM notifications.members WHERE worker_id IN (%s) AND roles <> '{}'", ids);
    for (int i = 0; i < 100 && testenv_sql_long(testenv, sql) < n; i++)
        usleep(100 * 1000);
    assert_int_equal(testenv_sql_long(testenv, sql), n);
}

/* Whether the worker of token has the notice with this link and title (waiting as has_notice_for). */
static int has_notice_titled(const char *token, const char *link, const char *title, int want_it)
{
    if (!has_notice_for(token, link, want_it))
        return 0;
    json_t *list = notices(token, 0);
    size_t k;
    json_t *n;
    int found = 0;
    json_array_foreach(json_object_get(list, "items"), k, n)
    {
        found |= strcmp(testenv_str(n, "link"), link) == 0 && strcmp(testenv_str(n, "title"), title) == 0;
    }
    json_decref(list);
    return found;
}

/* Starts a Front Door Consultation of the variant at Hampden as the worker of token, completes
 * section 1 and sends the request type to where its definition sends it; its step's link. */
static void consultation_request(const char *token, const char *variant, const char *type, char link[64],
                                 char step_id[32])
{
    char body[256], path[96];
    snprintf(body, sizeof(body),
             "{\"type\":\"front-door-consultation\",\"variant\":\"%s\","
             "\"subject\":{\"kind\":\"organisation\",\"id\":\"7500065\"}}",
             variant);
    json_t *step = testenv_call_json(testenv, token, "POST", "/api/v1/steps", body, 201);
    snprintf(step_id, 32, "%s", testenv_str(step, "id"));
    snprintf(link, 64, "/steps/%s", step_id);
    json_decref(step);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", step_id);
    json_decref(testenv_call_json(
        testenv, token, "PUT", path,
        "{\"data\":{\"consulted_at\":\"2022-11-25T13:57:00Z\",\"source\":\"schools\"},\"completed\":true}",
        200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", step_id);
    snprintf(body, sizeof(body), "{\"type\":\"%s\"}", type);
    json_decref(testenv_call_json(testenv, token, "POST", path, body, 201));
}

/* Seed 000: 'Pass to MASH Social Worker' goes to the MASH team, and is its social workers' (and
 * senior practitioners' and managers') to act on, the definition's acted_on_by_roles: they are told
 * of it, its admins are not, though members; it waits in the team's Incoming requests as before. A
 * request type that names no roles (Please review information and confirm next action, to Early
 * Help) is every member's. */
static void test_a_request_sent_to_a_team_tells_the_members_whose_roles_act_on_it(void **state)
{
    (void)state;
    char *admin_t = testenv_login(testenv, "admin");
    char admin2[32], senior[32], eh_other[32], ids[128];
    testenv_add_worker(testenv, admin_t, "mash.admin2", "Mo Ashdown",
                       "\"roles\":[\"mash-admin\"],\"teams\":[\"MASH\"]", admin2);
    testenv_add_worker(testenv, admin_t, "mash.senior", "Sol Penbury",
                       "\"roles\":[\"senior-practitioner\"],\"teams\":[\"MASH\"]", senior);
    testenv_add_worker(testenv, admin_t, "eh.manager", "Edie Hallam",
                       "\"roles\":[\"team-manager\"],\"teams\":[\"Early Help\"]", eh_other);
    snprintf(ids, sizeof(ids), "%s, %s, %s", admin2, senior, eh_other);
    wait_for_members(ids, 3);
    char *sender = testenv_login(testenv, "mash.admin");
    char *other_admin = testenv_login(testenv, "mash.admin2");
    char *sw = testenv_login(testenv, "mash.sw");
    char *sp = testenv_login(testenv, "mash.senior");
    char *eh = testenv_login(testenv, "eh.worker");
    char *eh_mgr = testenv_login(testenv, "eh.manager");

    char link[64], step_id[32];
    consultation_request(sender, "CSSW", "pass-to-mash-social-worker", link, step_id);
    const char *title = "New request: Pass to MASH Social Worker";
    assert_true(has_notice_titled(sw, link, title, 1));
    assert_true(has_notice_titled(sp, link, title, 1));
    /* The members were told in one go: the admins, the sender among them, were not. */
    assert_false(has_notice_for(other_admin, link, 0));
    assert_false(has_notice_for(sender, link, 0));
    /* The request waits in the MASH team's Incoming requests, for its social workers to find. */
    char wv_path[96], sql[160];
    snprintf(sql, sizeof(sql), "SELECT id FROM accounts.teams WHERE name = 'MASH'");
    snprintf(wv_path, sizeof(wv_path), "/api/v1/workview?team_id=%ld", testenv_sql_long(testenv, sql));
    json_t *wv = testenv_call_json(testenv, sw, "GET", wv_path, NULL, 200);
    int waiting = 0;
    size_t k;
    json_t *item;
    json_array_foreach(
        json_object_get(json_object_get(json_object_get(wv, "folders"), "incoming_requests"), "items"), k,
        item)
    {
        waiting |= strcmp(testenv_str(item, "step_id"), step_id) == 0 &&
                   strcmp(testenv_str(item, "title"), "Pass to MASH Social Worker: Consultation (CSSW)") == 0;
    }
    json_decref(wv);
    assert_true(waiting);

    /* Early Help's review names no roles: each member is told, whatever their role. */
    char eh_link[64], eh_step[32];
    consultation_request(sender, "CSEW", "please-review-information-and-confirm-next-action", eh_link,
                         eh_step);
    const char *eh_title = "New request: Please review information and confirm next action";
    assert_true(has_notice_titled(eh, eh_link, eh_title, 1));
    assert_true(has_notice_titled(eh_mgr, eh_link, eh_title, 1));
    free(admin_t);
    free(sender);
    free(other_admin);
    free(sw);
    free(sp);
    free(eh);
    free(eh_mgr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_managers_of_a_restricted_record_hear_of_an_attempt_to_open_it),
        cmocka_unit_test(test_attempts_on_a_restricted_record_are_one_notice_a_worker_and_day_counting_them),
        cmocka_unit_test(test_notices_read_long_ago_go_and_unread_ones_stay),
        cmocka_unit_test(test_a_request_to_the_system_support_queue_tells_system_support),
        cmocka_unit_test(test_system_support_hear_of_a_declared_conflict_of_interest),
        cmocka_unit_test(test_the_senders_manager_is_copied_into_a_request_that_says_so),
        cmocka_unit_test(test_a_request_sent_to_a_team_tells_the_members_whose_roles_act_on_it),
    };
    return cmocka_run_group_tests(tests, testenv_group_setup, testenv_group_teardown);
}
