/* People and restricted records (seed 002): entry rules, fuzzy search, and who sees what of a
 * restricted record, decided by the records daemon and recorded in the audit trail. */
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

#define ROLES 8
static const char *const demo_users[ROLES] = {"admin",     "mash.admin",         "mash.manager", "mash.sw",
                                              "eh.worker", "safeguarding.admin", "key.worker",   "auditor"};

static char *add_person(const char *token, const char *body, char id[32])
{
    testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/people", token, body, NULL);
    if (r.status != 201)
        fail_msg("adding %s: %ld %s", body, r.status, r.body);
    snprintf(id, 32, "%s", json_string_value(json_object_get(r.json, "id")));
    testenv_response_free(&r);
    return id;
}

static char *worker_id_of(const char *username, char out[32])
{
    char body[128];
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"tessera-demo\"}", username);
    testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/session", NULL, body, NULL);
    snprintf(out, 32, "%s", json_string_value(json_object_get(json_object_get(r.json, "worker"), "id")));
    testenv_response_free(&r);
    return out;
}

static void test_nhs_numbers_with_a_wrong_check_digit_or_check_digit_10_are_refused(void **state)
{
    (void)state;
    char *token = testenv_login(testenv, "mash.sw");
    long before = testenv_sql_long(testenv, "SELECT count(*) FROM records.people");
    const char *bad[] = {"9434765918", "1000000010", "12345", "94347659AB"};
    for (size_t i = 0; i < 4; i++) {
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"legal_name\":{\"given\":\"Ada\",\"family\":\"Okafor\"},\"gender\":\"female\","
                 "\"nhs_number\":\"%s\"}",
                 bad[i]);
        testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/people", token, body, NULL);
        testenv_assert_error(&r, 400, "invalid_nhs_number");
        assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "error"), "field")),
                            "nhs_number");
        testenv_response_free(&r);
    }
    testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/people", token,
                                        "{\"legal_name\":{\"given\":\"Ada\",\"family\":\"Okafor\"},"
                                        "\"gender\":\"female\",\"nhs_number\":\"1000000010\"}",
                                        NULL);
    assert_non_null(strstr(r.body, "10"));
    testenv_response_free(&r);
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM records.people"), before);
    free(token);
}

static void test_entry_rules_for_dates_unborn_children_and_duplicates(void **state)
{
    (void)state;
    char *token = testenv_login(testenv, "mash.sw");
    char mother[32];
    add_person(token,
               "{\"legal_name\":{\"given\":\"Grace\",\"family\":\"Adeyemi\"},\"gender\":\"female\","
               "\"date_of_birth\":\"1994-07-12\",\"nhs_number\":\"401 023 2137\"}",
               mother);
    char edd[16], unknown_mother[256];
    testenv_sql_date(testenv, "current_date + 34", edd);
    snprintf(
        unknown_mother, sizeof(unknown_mother),
        "{\"legal_name\":{\"given\":\"\",\"family\":\"Adeyemi\"},\"gender\":\"not-known\",\"unborn\":true,"
        "\"expected_delivery_date\":\"%s\",\"mother_id\":\"999999\"}",
        edd);
    struct {
        const char *body;
        long status;
        const char *code;
    } cases[] = {
        {"{\"legal_name\":{\"given\":\"X\",\"family\":\"Y\"},\"gender\":\"female\",\"date_of_birth\":\"2999-"
         "01-01\"}",
         400, "date_in_future"},
        {"{\"legal_name\":{\"given\":\"X\",\"family\":\"Y\"},\"gender\":\"female\",\"date_of_birth\":\"2015-"
         "02-30\"}",
         400, "invalid_date"},
        {"{\"legal_name\":{\"given\":\"X\",\"family\":\"Y\"},\"gender\":\"robot\"}", 400, "invalid_gender"},
        {"{\"legal_name\":{\"given\":\"X\"},\"gender\":\"male\"}", 400, "missing_field"},
        {"{\"legal_name\":{\"given\":\"\",\"family\":\"Adeyemi\"},\"gender\":\"not-known\",\"unborn\":true}",
         400, "missing_field"},
        {unknown_mother, 400, "unknown_mother"},
        {"{\"legal_name\":{\"given\":\"Sam\",\"family\":\"Adeyemi\"},\"gender\":\"male\",\"nhs_number\":"
         "\"4010232137\"}",
         409, "duplicate_nhs_number"},
    };
    long before = testenv_sql_long(testenv, "SELECT count(*) FROM records.people");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/people", token, cases[i].body, NULL);
        testenv_assert_error(&r, cases[i].status, cases[i].code);
        testenv_response_free(&r);
    }
    /* Every fault of the details in one answer, in the form's order, each naming its field. */
    testenv_response_t bad =
        testenv_http(testenv, "POST", "/api/v1/people", token,
                     "{\"legal_name\":{\"given\":\" \",\"family\":\"Y\"},\"gender\":\"robot\","
                     "\"nhs_number\":\"401 023 2138\",\"date_of_birth\":\"2999-01-01\"}",
                     NULL);
    testenv_assert_error(&bad, 400, "missing_field");
    const char *want[4][2] = {{"missing_field", "legal_name.given"},
                              {"invalid_gender", "gender"},
                              {"invalid_nhs_number", "nhs_number"},
                              {"date_in_future", "date_of_birth"}};
    const json_t *faults = json_object_get(bad.json, "errors");
    if (json_array_size(faults) != 4)
        fail_msg("the faults: %s", bad.body);
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(json_string_value(json_object_get(json_array_get(faults, i), "code")),
                            want[i][0]);
        assert_string_equal(json_string_value(json_object_get(json_array_get(faults, i), "field")),
                            want[i][1]);
    }
    testenv_response_free(&bad);
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM records.people"), before);
    /* An unborn child is recorded against its mother, with the expected date of delivery. */
    char body[256], unborn[32];
    snprintf(
        body, sizeof(body),
        "{\"legal_name\":{\"given\":\"\",\"family\":\"Adeyemi\"},\"gender\":\"not-known\",\"unborn\":true,"
        "\"expected_delivery_date\":\"%s\",\"mother_id\":\"%s\"}",
        edd, mother);
    add_person(token, body, unborn);
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/people/%s", unborn);
    testenv_response_t r = testenv_http(testenv, "GET", path, token, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(r.json, "unborn")));
    assert_string_equal(json_string_value(json_object_get(r.json, "mother_id")), mother);
    assert_string_equal(json_string_value(json_object_get(r.json, "expected_delivery_date")), edd);
    assert_string_equal(json_string_value(json_object_get(r.json, "display_name")), "Unborn baby Adeyemi");
    testenv_response_free(&r);
    free(token);
}

static void test_fuzzy_name_search_finds_misspellings_and_an_id_goes_straight_to_the_person(void **state)
{
    (void)state;
    char *token = testenv_login(testenv, "mash.sw");
    char id[32];
    add_person(
        token,
        "{\"legal_name\":{\"given\":\"Oluwaseun\",\"family\":\"Babatunde-Clarke\"},\"gender\":\"male\","
        "\"date_of_birth\":\"2012-09-30\",\"other_names\":[\"Seun Clarke\"]}",
        id);
    const char *queries[] = {"oluwasegun babatunde", "Babatunde Clarke", "seun clarke", "babtunde"};
    for (size_t i = 0; i < 4; i++) {
        char path[256];
        char escaped[64];
        size_t n = 0;
        for (const char *q = queries[i]; *q && n + 4 < sizeof(escaped); q++)
            n += (size_t)snprintf(escaped + n, sizeof(escaped) - n, *q == ' ' ? "%%20" : "%c", *q);
        snprintf(path, sizeof(path), "/api/v1/people?name=%s", escaped);
        testenv_response_t r = testenv_http(testenv, "GET", path, token, NULL, NULL);
        assert_int_equal(r.status, 200);
        json_t *first = json_array_get(json_object_get(r.json, "items"), 0);
        if (first == NULL || strcmp(json_string_value(json_object_get(first, "id")), id) != 0)
            fail_msg("'%s' did not find %s first: %s", queries[i], id, r.body);
        testenv_response_free(&r);
    }
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/people?name=%s", id);
    testenv_response_t r = testenv_http(testenv, "GET", path, token, NULL, NULL);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    testenv_response_free(&r);
    /* A date of birth narrows the search exactly. */
    r = testenv_http(testenv, "GET", "/api/v1/people?name=babatunde&dob=2012-10-01", token, NULL, NULL);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
    testenv_response_free(&r);
    free(token);
}

static void test_a_search_comes_a_page_at_a_time_and_every_match_once(void **state)
{
    (void)state;
    char *token = testenv_login(testenv, "mash.sw");
    char ids[5][32];
    for (int i = 0; i < 5; i++) {
        char body[200];
        snprintf(body, sizeof(body),
                 "{\"legal_name\":{\"given\":\"Child %c\",\"family\":\"Pagewright\"},\"gender\":\"female\","
                 "\"date_of_birth\":\"2016-04-0%d\"}",
                 'A' + i, i + 1);
        add_person(token, body, ids[i]);
    }
    /* Two a page: three pages, each match on one of them, the last with no cursor. */
    int seen[5] = {0}, pages = 0;
    char cursor[64] = "";
    do {
        char path[256];
        snprintf(path, sizeof(path), "/api/v1/people?name=pagewright&limit=2%s%s",
                 cursor[0] ? "&cursor=" : "", cursor);
        testenv_response_t r = testenv_http(testenv, "GET", path, token, NULL, NULL);
        assert_int_equal(r.status, 200);
        json_t *items = json_object_get(r.json, "items");
        assert_true(json_array_size(items) >= 1 && json_array_size(items) <= 2);
        size_t i;
        json_t *item;
        json_array_foreach(items, i, item)
        {
            for (int k = 0; k < 5; k++)
                if (strcmp(json_string_value(json_object_get(item, "id")), ids[k]) == 0)
                    seen[k]++;
        }
        json_t *next = json_object_get(r.json, "next_cursor");
        assert_true(json_is_null(next) || json_is_string(next));
        snprintf(cursor, sizeof(cursor), "%s", json_is_string(next) ? json_string_value(next) : "");
        testenv_response_free(&r);
        pages++;
    } while (cursor[0] && pages < 10);
    assert_int_equal(pages, 3);
    for (int k = 0; k < 5; k++)
        assert_int_equal(seen[k], 1);
    /* A cursor it never gave out is refused, naming it. */
    testenv_response_t r =
        testenv_http(testenv, "GET", "/api/v1/people?name=pagewright&cursor=x7", token, NULL, NULL);
    testenv_assert_error(&r, 400, "invalid_cursor");
    testenv_response_free(&r);
    free(token);
}

/* Every Quillane is as near to 'quillane' as every other: however the index gives those ties, a
 * page at a time shows each of them once, in one order (family name, given name, id), and no one is
 * left off. */
static void test_paging_through_many_people_of_the_same_name_shows_each_of_them_once(void **state)
{
    (void)state;
    char *token = testenv_login(testenv, "mash.sw");
    enum { N = 25 };
    char ids[N][32];
    for (int i = 0; i < N; i++) {
        char body[200];
        snprintf(body, sizeof(body),
                 "{\"legal_name\":{\"given\":\"Pager%d\",\"family\":\"Quillane\"},\"gender\":\"male\","
                 "\"date_of_birth\":\"2010-01-0%d\"}",
                 i + 1, i % 9 + 1);
        add_person(token, body, ids[i]);
    }
    int seen[N] = {0}, shown = 0, pages = 0;
    char cursor[64] = "", last[64] = "";
    do {
        char path[256];
        snprintf(path, sizeof(path), "/api/v1/people?name=quillane&limit=10%s%s", cursor[0] ? "&cursor=" : "",
                 cursor);
        json_t *page = testenv_call_json(testenv, token, "GET", path, NULL, 200);
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(page, "items"), i, item)
        {
            /* One order over the pages: by given name here, all else being equal. */
            char key[64];
            snprintf(key, sizeof(key), "%s",
                     json_string_value(json_object_get(json_object_get(item, "legal_name"), "given")));
            if (strcmp(key, last) <= 0)
                fail_msg("page %d: %s after %s", pages + 1, key, last);
            snprintf(last, sizeof(last), "%s", key);
            shown++;
            for (int k = 0; k < N; k++)
                seen[k] += strcmp(testenv_str(item, "id"), ids[k]) == 0;
        }
        json_t *next = json_object_get(page, "next_cursor");
        snprintf(cursor, sizeof(cursor), "%s", json_is_string(next) ? json_string_value(next) : "");
        json_decref(page);
        pages++;
    } while (cursor[0] && pages < 10);
    assert_int_equal(pages, 3);
    assert_int_equal(shown, N);
    for (int k = 0; k < N; k++)
        if (seen[k] != 1)
            fail_msg("Pager%d was shown %d times", k + 1, seen[k]);
    free(token);
}

typedef struct {
    char id[32];
    const char *family;
    int restricted;
    int allocated;
} subject_t;

/* Whether a demo user keeps full access to a restricted record under the default policy. */
static int sees_restricted(const char *user, int allocated_to_key_worker)
{
    if (!strcmp(user, "admin") || !strcmp(user, "mash.admin") || !strcmp(user, "mash.manager") ||
        !strcmp(user, "mash.sw"))
        return 1;
    return allocated_to_key_worker && !strcmp(user, "key.worker");
}

static void test_authorisation_matrix_of_every_role_against_restricted_and_allocated_records(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char key_worker[32];
    worker_id_of("key.worker", key_worker);
    subject_t subjects[4] = {{"", "Matrixopen", 0, 0},
                             {"", "Matrixallocated", 0, 1},
                             {"", "Matrixrestricted", 1, 0},
                             {"", "Matrixboth", 1, 1}};
    for (int s = 0; s < 4; s++) {
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"legal_name\":{\"given\":\"Robin\",\"family\":\"%s\"},\"gender\":\"not-known\","
                 "\"date_of_birth\":\"2011-01-01\"}",
                 subjects[s].family);
        add_person(admin, body, subjects[s].id);
        char path[256];
        if (subjects[s].allocated) {
            snprintf(path, sizeof(path), "/api/v1/people/%s/allocations", subjects[s].id);
            snprintf(body, sizeof(body),
                     "{\"worker_id\":\"%s\",\"role\":\"key-worker\",\"service\":\"CSSW\"}", key_worker);
            testenv_response_t r = testenv_http(testenv, "POST", path, admin, body, NULL);
            assert_int_equal(r.status, 201);
            testenv_response_free(&r);
        }
        if (subjects[s].restricted) {
            snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", subjects[s].id);
            testenv_response_t r =
                testenv_http(testenv, "PUT", path, admin,
                             "{\"reason\":\"high-risk\",\"review_date\":\"2099-06-30\"}", NULL);
            assert_int_equal(r.status, 200);
            testenv_response_free(&r);
        }
    }
    int attempts = 0;
    for (int u = 0; u < ROLES; u++) {
        char *token = testenv_login(testenv, demo_users[u]);
        for (int s = 0; s < 4; s++) {
            int full = !subjects[s].restricted || sees_restricted(demo_users[u], subjects[s].allocated);
            char path[256];
            /* Reading the record. */
            snprintf(path, sizeof(path), "/api/v1/people/%s", subjects[s].id);
            testenv_response_t r = testenv_http(testenv, "GET", path, token, NULL, NULL);
            if (full) {
                if (r.status != 200)
                    fail_msg("%s reading %s: %ld %s", demo_users[u], subjects[s].family, r.status, r.body);
                assert_string_equal(json_string_value(json_object_get(r.json, "date_of_birth")),
                                    "2011-01-01");
            } else {
                if (r.status != 403)
                    fail_msg("%s reading restricted %s: %ld %s", demo_users[u], subjects[s].family, r.status,
                             r.body);
                testenv_assert_error(&r, 403, "restricted_record");
                assert_null(strstr(r.body, "2011-01-01"));
            }
            testenv_response_free(&r);
            attempts++;
            /* Every other read of the record: its case notes, its involvements, the work about it. */
            const char *reads[3] = {"/api/v1/people/%s/case-notes", "/api/v1/people/%s/involvements",
                                    "/api/v1/steps?subject_kind=person&subject_id=%s"};
            for (int k = 0; k < 3; k++) {
                snprintf(path, sizeof(path), reads[k], subjects[s].id);
                r = testenv_http(testenv, "GET", path, token, NULL, NULL);
                if (full ? r.status != 200 : r.status != 403)
                    fail_msg("%s reading %s of %s: %ld %s", demo_users[u], reads[k], subjects[s].family,
                             r.status, r.body);
                if (!full)
                    testenv_assert_error(&r, 403, "restricted_record");
                testenv_response_free(&r);
            }
            /* Finding it: the display name always, the rest only with access. */
            snprintf(path, sizeof(path), "/api/v1/people?name=robin%%20%s", subjects[s].family);
            r = testenv_http(testenv, "GET", path, token, NULL, NULL);
            assert_int_equal(r.status, 200);
            json_t *item = json_array_get(json_object_get(r.json, "items"), 0);
            assert_non_null(item);
            assert_string_equal(json_string_value(json_object_get(item, "id")), subjects[s].id);
            assert_non_null(json_string_value(json_object_get(item, "display_name")));
            assert_int_equal(json_object_get(item, "date_of_birth") != NULL, full);
            assert_int_equal(json_is_true(json_object_get(item, "name_only")), !full);
            testenv_response_free(&r);
        }
        free(token);
    }
    /* Every read attempt is in the trail: a view for each allowed one, a refusal for each refused. */
    char sql[1024];
    /* Every read attempt is in the trail once the audit daemon has caught up with records. */
    assert_true(attempts > 0);
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    /* The other reads come through two daemons' events: wait for the workflow daemon's to arrive. */
    snprintf(
        sql, sizeof(sql),
        "SELECT count(*) FROM audit.entries WHERE producer = 'workflow' AND record_id IN (%s, %s, %s, %s)",
        subjects[0].id, subjects[1].id, subjects[2].id, subjects[3].id);
    for (int i = 0; i < 100 && testenv_sql_long(testenv, sql) < ROLES * 4; i++)
        usleep(100 * 1000);
    static const char *const allowed_actions[] = {"view", "view-case-notes", "view-involvements",
                                                  "view-steps"};
    for (int u = 0; u < ROLES; u++) {
        for (int s = 0; s < 4; s++) {
            int full = !subjects[s].restricted || sees_restricted(demo_users[u], subjects[s].allocated);
            for (int a = 0; a < 4; a++) {
                /* Each read, one entry: its own action when allowed; 'refused' four times when not. */
                if (!full && a > 0)
                    break;
                snprintf(
                    sql, sizeof(sql),
                    "SELECT count(*) FROM audit.entries WHERE username = '%s' AND record_id = %s AND action "
                    "= '%s'",
                    demo_users[u], subjects[s].id, full ? allowed_actions[a] : "refused");
                long entries = testenv_sql_long(testenv, sql);
                long expected = full ? 1 : 4;
                if (entries != expected && !(u == 0 && subjects[s].restricted && a == 0 && entries == 2))
                    fail_msg("%ld '%s' entries for %s on %s, not %ld", entries,
                             full ? allowed_actions[a] : "refused", demo_users[u], subjects[s].family,
                             expected);
            }
        }
    }
    free(admin);
}

static void test_lifting_a_restriction_opens_the_record_again(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *eh = testenv_login(testenv, "eh.worker");
    char id[32], path[256];
    add_person(admin, "{\"legal_name\":{\"given\":\"Nia\",\"family\":\"Lifted\"},\"gender\":\"female\"}", id);
    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", id);
    testenv_response_t r = testenv_http(testenv, "PUT", path, admin,
                                        "{\"reason\":\"case-review\",\"review_date\":\"2099-01-31\"}", NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    /* Only system support may restrict or lift. */
    r = testenv_http(testenv, "DELETE", path, eh, NULL, NULL);
    testenv_assert_error(&r, 403, "forbidden");
    testenv_response_free(&r);
    r = testenv_http(testenv, "PUT", path, admin, "{\"reason\":\"because\",\"review_date\":\"2099-01-31\"}",
                     NULL);
    testenv_assert_error(&r, 400, "invalid_reason");
    testenv_response_free(&r);
    char person[256];
    snprintf(person, sizeof(person), "/api/v1/people/%s", id);
    r = testenv_http(testenv, "GET", person, eh, NULL, NULL);
    assert_int_equal(r.status, 403);
    testenv_response_free(&r);
    r = testenv_http(testenv, "DELETE", path, admin, NULL, NULL);
    assert_int_equal(r.status, 204);
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", person, eh, NULL, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    free(admin);
    free(eh);
}

static void test_a_relationship_is_kept_with_its_inverse_on_both_records(void **state)
{
    (void)state;
    char *token = testenv_login(testenv, "mash.sw");
    char mother[32], child[32], path[256], body[256];
    add_person(token, "{\"legal_name\":{\"given\":\"Hana\",\"family\":\"Kimura\"},\"gender\":\"female\"}",
               mother);
    add_person(token, "{\"legal_name\":{\"given\":\"Ren\",\"family\":\"Kimura\"},\"gender\":\"male\"}",
               child);
    snprintf(path, sizeof(path), "/api/v1/people/%s/relationships", child);
    snprintf(body, sizeof(body), "{\"person_id\":\"%s\",\"type\":\"parent\"}", mother);
    testenv_response_t r = testenv_http(testenv, "POST", path, token, body, NULL);
    assert_int_equal(r.status, 201);
    testenv_response_free(&r);
    snprintf(body, sizeof(body), "{\"person_id\":\"%s\",\"type\":\"godmother\"}", mother);
    r = testenv_http(testenv, "POST", path, token, body, NULL);
    testenv_assert_error(&r, 400, "invalid_relationship_type");
    testenv_response_free(&r);
    snprintf(body, sizeof(body), "{\"person_id\":\"%s\",\"type\":\"sibling\"}", child);
    r = testenv_http(testenv, "POST", path, token, body, NULL);
    testenv_assert_error(&r, 400, "self_relationship");
    testenv_response_free(&r);
    const char *ids[2][3] = {{child, mother, "parent"}, {mother, child, "child"}};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "/api/v1/people/%s", ids[i][0]);
        r = testenv_http(testenv, "GET", path, token, NULL, NULL);
        json_t *rels = json_object_get(r.json, "relationships");
        assert_int_equal(json_array_size(rels), 1);
        assert_string_equal(json_string_value(json_object_get(json_array_get(rels, 0), "person_id")),
                            ids[i][1]);
        assert_string_equal(json_string_value(json_object_get(json_array_get(rels, 0), "type")), ids[i][2]);
        testenv_response_free(&r);
    }
    free(token);
}

static void test_case_notes_are_recorded_read_and_kept_from_those_without_access(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *eh = testenv_login(testenv, "eh.worker");
    char id[32], path[256];
    add_person(admin, "{\"legal_name\":{\"given\":\"Femi\",\"family\":\"Notes\"},\"gender\":\"male\"}", id);
    snprintf(path, sizeof(path), "/api/v1/people/%s/case-notes", id);
    testenv_response_t r =
        testenv_http(testenv, "POST", path, admin,
                     "{\"type\":\"cp-is-follow-up\",\"title\":\"A&E attendance\","
                     "\"body\":\"Spoke to the ward.\",\"occurred_at\":\"2026-11-20T10:15:00Z\"}",
                     NULL);
    assert_int_equal(r.status, 201);
    testenv_response_free(&r);
    r = testenv_http(testenv, "POST", path, admin, "{\"type\":\"gossip\",\"title\":\"x\"}", NULL);
    testenv_assert_error(&r, 400, "invalid_case_note_type");
    testenv_response_free(&r);
    /* Every fault of the note at once: the type, the missing title, the date to come. */
    r = testenv_http(testenv, "POST", path, admin,
                     "{\"type\":\"gossip\",\"title\":\" \",\"occurred_at\":\"2999-01-01T00:00:00Z\"}", NULL);
    testenv_assert_error(&r, 400, "invalid_case_note_type");
    const json_t *faults = json_object_get(r.json, "errors");
    assert_int_equal(json_array_size(faults), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(faults, 1), "field")), "title");
    assert_string_equal(json_string_value(json_object_get(json_array_get(faults, 2), "code")),
                        "date_in_future");
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", path, eh, NULL, NULL);
    assert_int_equal(r.status, 200);
    json_t *first = json_array_get(json_object_get(r.json, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "type")), "cp-is-follow-up");
    assert_string_equal(json_string_value(json_object_get(first, "occurred_at")), "2026-11-20T10:15:00.000Z");
    testenv_response_free(&r);
    /* Restricted: the notes are refused to those outside the access rules, and the attempt audited. */
    char restriction[256];
    snprintf(restriction, sizeof(restriction), "/api/v1/people/%s/restriction", id);
    r = testenv_http(testenv, "PUT", restriction, admin,
                     "{\"reason\":\"high-profile\",\"review_date\":\"2099-02-01\"}", NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", path, eh, NULL, NULL);
    testenv_assert_error(&r, 403, "restricted_record");
    assert_null(strstr(r.body, "ward"));
    testenv_response_free(&r);
    r = testenv_http(testenv, "POST", path, eh, "{\"type\":\"contact\",\"title\":\"Sneaky\"}", NULL);
    testenv_assert_error(&r, 403, "restricted_record");
    testenv_response_free(&r);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_id = %s AND username = 'eh.worker' AND action "
             "= 'refused'",
             id);
    long refused = 0;
    for (int i = 0; i < 50 && refused < 2; i++) {
        refused = testenv_sql_long(testenv, sql);
        usleep(100 * 1000);
    }
    assert_int_equal(refused, 2);
    assert_int_equal(
        testenv_sql_long(testenv, "SELECT count(*) FROM records.case_notes WHERE title = 'Sneaky'"), 0);
    free(admin);
    free(eh);
}

/* Adds a case note as token and writes its id. */
static char *add_case_note(const char *token, const char *person, const char *title, const char *body,
                           char id[32])
{
    char path[128], json[512];
    snprintf(path, sizeof(path), "/api/v1/people/%s/case-notes", person);
    snprintf(json, sizeof(json), "{\"type\":\"visit\",\"title\":\"%s\",\"body\":\"%s\"}", title, body);
    testenv_response_t r = testenv_http(testenv, "POST", path, token, json, NULL);
    if (r.status != 201)
        fail_msg("adding case note %s: %ld %s", title, r.status, r.body);
    snprintf(id, 32, "%s", json_string_value(json_object_get(r.json, "id")));
    testenv_response_free(&r);
    return id;
}

/* Seeds 001 and 002: a case note recorded in error (on the wrong person, or inaccurate) is removed by
 * system support at a manager's request, with the reason; not by its writer nor the manager
 * themselves. Its words leave the record, and the removal stays in the audit trail without them. */
static void test_a_case_note_recorded_in_error_is_removed_by_system_support(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *sw = testenv_login(testenv, "mash.sw");
    char *manager = testenv_login(testenv, "mash.manager");
    char *eh = testenv_login(testenv, "eh.worker");
    char person[32], wrong[32], inaccurate[32], kept[32], path[256], admin_id[32];
    add_person(admin, "{\"legal_name\":{\"given\":\"Ines\",\"family\":\"Errata\"},\"gender\":\"female\"}",
               person);
    add_case_note(sw, person, "Home visit to the wrong child", "Mother said Tobias was unwell.", wrong);
    add_case_note(sw, person, "School called", "Attendance 62 per cent.", inaccurate);
    add_case_note(sw, person, "Visit", "All well at home.", kept);
    worker_id_of("admin", admin_id);

    /* Neither its writer nor the manager who asks for its deletion removes it: refused, it stays. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/case-notes/%s/remove", person, wrong);
    const char *const refused[] = {sw, manager, eh};
    testenv_response_t r;
    for (size_t i = 0; i < 3; i++) {
        r = testenv_http(testenv, "POST", path, refused[i], "{\"reason\":\"wrong-person\"}", NULL);
        testenv_assert_error(&r, 403, "forbidden");
        assert_non_null(strstr(r.body, "system support"));
        testenv_response_free(&r);
    }

    /* Every fault of the request at once; nothing removed. */
    r = testenv_http(testenv, "POST", path, admin, "{}", NULL);
    testenv_assert_error(&r, 400, "missing_field");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "error"), "field")),
                        "reason");
    testenv_response_free(&r);
    r = testenv_http(testenv, "POST", path, admin, "{\"reason\":\"other\",\"explanation\":\"  \"}", NULL);
    testenv_assert_error(&r, 400, "missing_field");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "error"), "field")),
                        "explanation");
    testenv_response_free(&r);
    char long_body[1200];
    snprintf(long_body, sizeof(long_body), "{\"reason\":\"gossip\",\"explanation\":\"%01001d\"}", 0);
    r = testenv_http(testenv, "POST", path, admin, long_body, NULL);
    testenv_assert_error(&r, 400, "invalid_reason");
    assert_int_equal(json_array_size(json_object_get(r.json, "errors")), 2);
    testenv_response_free(&r);
    r = testenv_http(testenv, "POST", path, admin, "{\"reason\":\"wrong-person\",\"why\":\"x\"}", NULL);
    assert_int_equal(r.status, 400);
    testenv_response_free(&r);
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM records.case_notes WHERE person_id = %s", person);
    assert_int_equal(testenv_sql_long(testenv, sql), 3);

    /* System support removes it: what is kept says what it was and why it went, not what it said. */
    r = testenv_http(testenv, "POST", path, admin,
                     "{\"reason\":\"wrong-person\",\"explanation\":\"Meant for her brother's record.\"}",
                     NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "case_note_id")), wrong);
    assert_string_equal(json_string_value(json_object_get(r.json, "type")), "visit");
    assert_string_equal(json_string_value(json_object_get(r.json, "reason")), "wrong-person");
    assert_string_equal(json_string_value(json_object_get(r.json, "removed_by")), admin_id);
    assert_null(strstr(r.body, "Tobias"));
    assert_null(strstr(r.body, "wrong child"));
    testenv_response_free(&r);
    /* Asked again: a clear answer that it went, and when. */
    r = testenv_http(testenv, "POST", path, admin, "{\"reason\":\"wrong-person\"}", NULL);
    testenv_assert_error(&r, 409, "case_note_already_removed");
    assert_non_null(strstr(r.body, "wrong person"));
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/people/%s/case-notes/999999999/remove", person);
    r = testenv_http(testenv, "POST", path, admin, "{\"reason\":\"inaccurate\"}", NULL);
    testenv_assert_error(&r, 404, "not_found");
    testenv_response_free(&r);

    snprintf(path, sizeof(path), "/api/v1/people/%s/case-notes/%s/remove", person, inaccurate);
    r = testenv_http(testenv, "POST", path, admin, "{\"reason\":\"inaccurate\"}", NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);

    /* Gone from the list and the summary, the words from the database; the rest untouched. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/case-notes", person);
    r = testenv_http(testenv, "GET", path, sw, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(r.json, "items"), 0), "id")), kept);
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/people/%s", person);
    r = testenv_http(testenv, "GET", path, sw, NULL, NULL);
    assert_int_equal(json_integer_value(json_object_get(r.json, "case_notes_total")), 1);
    testenv_response_free(&r);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    assert_int_equal(testenv_sql_long(testenv,
                                      "SELECT count(*) FROM records.case_notes WHERE body LIKE '%Tobias%'"
                                      " OR title LIKE '%wrong child%'"),
                     0);

    /* The trail has each removal, by whom and why, and never the note's words. */
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_id = %s AND action = 'remove-case-note'"
             " AND summary NOT LIKE '%%Tobias%%' AND summary NOT LIKE '%%wrong child%%'",
             person);
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    assert_int_equal(testenv_sql_long(testenv, sql), 2);

    free(admin);
    free(sw);
    free(manager);
    free(eh);
}

static void test_a_declared_conflict_of_interest_keeps_the_record_from_that_worker(void **state)
{
    (void)state;
    /* mash.sw would otherwise see every record (the MASH team keeps access even to restricted ones). */
    char *sw = testenv_login(testenv, "mash.sw");
    char *admin = testenv_login(testenv, "admin");
    char id[32], worker[32], path[256], body[256];
    add_person(admin, "{\"legal_name\":{\"given\":\"Kit\",\"family\":\"Neighbour\"},\"gender\":\"male\"}",
               id);
    worker_id_of("mash.sw", worker);
    snprintf(path, sizeof(path), "/api/v1/people/%s", id);
    testenv_response_t r = testenv_http(testenv, "GET", path, sw, NULL, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    char declare[256];
    snprintf(declare, sizeof(declare), "/api/v1/workers/%s/conflicts", worker);
    snprintf(body, sizeof(body), "{\"person_id\":\"%s\",\"relationship\":\"next-door neighbour\"}", id);
    r = testenv_http(testenv, "POST", declare, sw, body, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    /* Another worker cannot declare on someone else's behalf; system support can. */
    char *eh = testenv_login(testenv, "eh.worker");
    r = testenv_http(testenv, "POST", declare, eh, body, NULL);
    testenv_assert_error(&r, 403, "forbidden");
    testenv_response_free(&r);
    free(eh);
    /* The declaration reaches records through the accounts daemon's events: within moments. */
    long status = 200;
    for (int i = 0; i < 50 && status == 200; i++) {
        r = testenv_http(testenv, "GET", path, sw, NULL, NULL);
        status = r.status;
        testenv_response_free(&r);
        if (status == 200)
            usleep(50 * 1000);
    }
    assert_int_equal(status, 403);
    /* Search still shows the display name, and nothing else. */
    r = testenv_http(testenv, "GET", "/api/v1/people?name=kit%20neighbour", sw, NULL, NULL);
    json_t *item = json_array_get(json_object_get(r.json, "items"), 0);
    assert_true(json_is_true(json_object_get(item, "name_only")));
    testenv_response_free(&r);
    /* Others are unaffected. */
    r = testenv_http(testenv, "GET", path, admin, NULL, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    free(sw);
    free(admin);
}

/* A worker kept out of a record by the conflict of interest they declared is told that, not that the
 * record is restricted (it is not) and to ask system support for access (no one will give it while the
 * declaration stands); in Family Context too. The refusal is audited as the conflict's. */
static void test_a_worker_kept_out_by_their_own_declared_conflict_is_told_it_is_their_conflict(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *eh = testenv_login(testenv, "eh.worker");
    char id[32], worker[32], path[256], body[256];
    add_person(admin,
               "{\"legal_name\":{\"given\":\"Maeve\",\"family\":\"Oakhanger\"},\"gender\":\"female\","
               "\"date_of_birth\":\"2013-07-07\"}",
               id);
    worker_id_of("eh.worker", worker);
    snprintf(path, sizeof(path), "/api/v1/workers/%s/conflicts", worker);
    snprintf(body, sizeof(body), "{\"person_id\":\"%s\",\"relationship\":\"neighbour\"}", id);
    json_decref(testenv_call_json(testenv, eh, "POST", path, body, 200));
    snprintf(path, sizeof(path), "/api/v1/people/%s", id);
    testenv_response_t r = {0};
    for (int i = 0; i < 100; i++) { /* until records has heard of the declaration */
        r = testenv_http(testenv, "GET", path, eh, NULL, NULL);
        if (r.status != 200)
            break;
        testenv_response_free(&r);
        usleep(50 * 1000);
    }
    testenv_assert_error(&r, 403, "conflict_of_interest");
    assert_non_null(strstr(r.body, "declared a conflict of interest with Maeve Oakhanger"));
    assert_null(strstr(r.body, "restricted"));
    assert_null(strstr(r.body, "system support"));
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/family-context/people/%s", id);
    r = testenv_http(testenv, "GET", path, eh, NULL, "X-Access-Reason: Checking a neighbour's family");
    testenv_assert_error(&r, 403, "conflict_of_interest");
    testenv_response_free(&r);
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    char sql[300];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_kind = 'person' AND record_id = %s"
             " AND username = 'eh.worker' AND action = 'refused'"
             " AND summary LIKE '%%declared a conflict of interest%%'",
             id);
    assert_int_equal(testenv_sql_long(testenv, sql), 2);
    free(eh);
    free(admin);
}

/* POSTs an allocation of worker as key worker for CSSW to person; the response, to free. */
static testenv_response_t allocate_key_worker(const char *token, const char *person, const char *worker)
{
    char path[128], body[160];
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations", person);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%s\",\"role\":\"key-worker\",\"service\":\"CSSW\"}",
             worker);
    return testenv_http(testenv, "POST", path, token, body, NULL);
}

static size_t open_allocations(const char *token, const char *person)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/people/%s", person);
    testenv_response_t r = testenv_http(testenv, "GET", path, token, NULL, NULL);
    assert_int_equal(r.status, 200);
    size_t n = json_array_size(json_object_get(r.json, "allocations"));
    testenv_response_free(&r);
    return n;
}

/* Allocate pressed twice gave a child the same key worker twice; a leaver, or a worker id no account
 * has, could be made a child's key worker, and the child's CP-IS work would go to no one; two records
 * merged that had the same key worker listed them twice. */
static void test_an_allocation_already_open_or_to_a_leaver_is_refused_and_a_merge_keeps_one(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char child[32], twin[32], worker[32], leaver[32], path[128];
    add_person(admin,
               "{\"legal_name\":{\"given\":\"Ottilie\",\"family\":\"Brannock\"},\"gender\":\"female\"}",
               child);
    add_person(admin, "{\"legal_name\":{\"given\":\"Ottily\",\"family\":\"Brannock\"},\"gender\":\"female\"}",
               twin);
    worker_id_of("key.worker", worker);
    testenv_response_t r = allocate_key_worker(admin, child, worker);
    assert_int_equal(r.status, 201);
    testenv_response_free(&r);
    r = allocate_key_worker(admin, child, worker);
    testenv_assert_error(&r, 409, "already_allocated");
    assert_non_null(strstr(r.body, "already has this worker as key worker for CSSW, since "));
    testenv_response_free(&r);
    assert_int_equal(open_allocations(admin, child), 1);
    /* The same worker for another service is another allocation. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations", child);
    char body[160];
    snprintf(body, sizeof(body), "{\"worker_id\":\"%s\",\"role\":\"key-worker\",\"service\":\"EH\"}", worker);
    r = testenv_http(testenv, "POST", path, admin, body, NULL);
    assert_int_equal(r.status, 201);
    testenv_response_free(&r);

    /* A worker id no account has. */
    r = allocate_key_worker(admin, twin, "987654321");
    testenv_assert_error(&r, 422, "unknown_worker");
    assert_non_null(strstr(r.body, "There is no worker 987654321"));
    testenv_response_free(&r);
    assert_int_equal(open_allocations(admin, twin), 0);

    /* A leaver, once records has heard the account was ended. */
    testenv_add_worker(testenv, admin, "left.lately", "Lettice Lately", "\"roles\":[\"social-worker\"]",
                       leaver);
    testenv_end_worker(testenv, admin, leaver, "Left the council");
    long status = 0;
    for (int i = 0; i < 100 && status != 422; i++) {
        r = allocate_key_worker(admin, twin, leaver);
        status = r.status;
        if (status == 422) {
            testenv_assert_error(&r, 422, "worker_left");
            assert_non_null(strstr(r.body, "has left the council"));
        } else if (status == 201) {
            /* Allocated before records heard: end it and try again. */
            char end[160];
            snprintf(end, sizeof(end), "/api/v1/people/%s/allocations/%s", twin, testenv_str(r.json, "id"));
            testenv_response_t e = testenv_http(testenv, "DELETE", end, admin, NULL, NULL);
            assert_int_equal(e.status, 204);
            testenv_response_free(&e);
            usleep(50 * 1000);
        } else {
            fail_msg("allocating a leaver: %ld %s", r.status, r.body);
        }
        testenv_response_free(&r);
    }
    assert_int_equal(status, 422);

    /* Both records with the same key worker for CSSW: merged, the survivor lists it once, and the
     * duplicate's allocation is kept in its history, ended today. */
    r = allocate_key_worker(admin, twin, worker);
    assert_int_equal(r.status, 201);
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/people/%s/merge", child);
    snprintf(body, sizeof(body), "{\"duplicate_id\":\"%s\"}", twin);
    r = testenv_http(testenv, "POST", path, admin, body, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    assert_int_equal(open_allocations(admin, child), 2); /* CSSW once, and EH */
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM records.allocations WHERE person_id = %s AND service = 'CSSW'"
             " AND worker_id = %s AND end_date = current_date",
             child, worker);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    free(admin);
}

/* A child whose key worker has left has a key worker in name only, and their CP-IS work goes to no
 * one: the leaver's managers are told, and those who allocate see them listed, each listing audited,
 * until the child is reallocated. */
static void test_people_allocated_to_a_key_worker_who_has_left_are_listed_until_reallocated(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char child[32], kit[32], worker[32], path[160];
    add_person(admin,
               "{\"legal_name\":{\"given\":\"Perpetua\",\"family\":\"Quennell\"},\"gender\":\"female\"}",
               child);
    testenv_add_worker(testenv, admin, "kit.leaving", "Kit Leaving",
                       "\"roles\":[\"social-worker\"],\"teams\":[\"Children in Need 1\"]", kit);
    testenv_response_t r = allocate_key_worker(admin, child, kit);
    assert_int_equal(r.status, 201);
    char old_allocation[32];
    snprintf(old_allocation, sizeof(old_allocation), "%s", testenv_str(r.json, "id"));
    testenv_response_free(&r);
    testenv_end_worker(testenv, admin, kit, "Left the council");

    /* Records hears of the leaver from the accounts daemon's event: within moments. */
    char *manager = testenv_login(testenv, "mash.manager");
    json_t *item = testenv_item_of(testenv, manager, "/api/v1/leavers/allocations", "person_id", child, 5000);
    assert_non_null(item);
    assert_string_equal(testenv_str(item, "worker_name"), "Kit Leaving");
    assert_string_equal(testenv_str(item, "worker_id"), kit);
    assert_string_equal(testenv_str(item, "service"), "CSSW");
    assert_string_equal(testenv_str(item, "allocation_id"), old_allocation);
    assert_string_equal(testenv_str(item, "display_name"), "Perpetua Quennell");
    json_decref(item);
    /* The count names no one: it is no read of anyone's record. */
    json_t *counted =
        testenv_call_json(testenv, manager, "GET", "/api/v1/leavers/allocations?count_only=true", NULL, 200);
    assert_true(json_integer_value(json_object_get(counted, "count")) >= 1);
    assert_int_equal(json_array_size(json_object_get(counted, "items")), 0);
    json_decref(counted);
    testenv_call_error(testenv, manager, "GET", "/api/v1/leavers/allocations?count_only=yes", NULL, 400,
                       "invalid_value", "count_only");
    char *sw = testenv_login(testenv, "mash.sw");
    testenv_call_error(testenv, sw, "GET", "/api/v1/leavers/allocations", NULL, 403, "forbidden", NULL);
    free(sw);
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT least(count(*), 1) FROM audit.entries WHERE action = 'list-leavers-allocations'"
             " AND record_kind = 'person' AND record_id = %s",
             child);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);

    /* Kit had no line manager: the manager of Kit's team is told once, with no one named. */
    char *cin = testenv_login(testenv, "cin.manager");
    json_t *told = testenv_item_of(testenv, cin, "/api/v1/notices", "kind", "leaver-caseload", 5000);
    assert_non_null(told);
    assert_string_equal(testenv_str(told, "link"), "/leavers/caseloads");
    assert_null(strstr(testenv_str(told, "title"), "Quennell"));
    json_decref(told);
    free(cin);

    /* Reallocated to a current key worker and the old allocation ended: no longer listed. */
    r = allocate_key_worker(manager, child, worker_id_of("key.worker", worker));
    assert_int_equal(r.status, 201);
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations/%s", child, old_allocation);
    r = testenv_http(testenv, "DELETE", path, manager, NULL, NULL);
    assert_int_equal(r.status, 204);
    testenv_response_free(&r);
    assert_null(testenv_item_of(testenv, manager, "/api/v1/leavers/allocations", "person_id", child, 0));
    free(manager);
    free(admin);
}

static void
test_merging_two_people_keeps_every_relationship_allocation_and_case_note_on_the_survivor(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char survivor[32], duplicate[32], parent[32], worker[32], path[256], body[256];
    add_person(admin, "{\"legal_name\":{\"given\":\"Maya\",\"family\":\"Dupont\"},\"gender\":\"female\"}",
               survivor);
    add_person(admin,
               "{\"legal_name\":{\"given\":\"Maia\",\"family\":\"Dupont\"},\"gender\":\"female\","
               "\"date_of_birth\":\"2014-05-06\",\"nhs_number\":\"9876543210\"}",
               duplicate);
    add_person(admin, "{\"legal_name\":{\"given\":\"Luc\",\"family\":\"Dupont\"},\"gender\":\"male\"}",
               parent);
    worker_id_of("key.worker", worker);
    snprintf(path, sizeof(path), "/api/v1/people/%s/relationships", duplicate);
    snprintf(body, sizeof(body), "{\"person_id\":\"%s\",\"type\":\"parent\"}", parent);
    testenv_response_t r = testenv_http(testenv, "POST", path, admin, body, NULL);
    assert_int_equal(r.status, 201);
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations", duplicate);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%s\",\"role\":\"key-worker\",\"service\":\"CSSW\"}",
             worker);
    r = testenv_http(testenv, "POST", path, admin, body, NULL);
    assert_int_equal(r.status, 201);
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/people/%s/case-notes", duplicate);
    r = testenv_http(testenv, "POST", path, admin, "{\"type\":\"visit\",\"title\":\"Home visit\"}", NULL);
    assert_int_equal(r.status, 201);
    testenv_response_free(&r);
    /* The key worker has work open about the duplicate. */
    char *kw = testenv_login(testenv, "key.worker");
    snprintf(body, sizeof(body), "{\"type\":\"add-address\",\"subject\":{\"kind\":\"person\",\"id\":\"%s\"}}",
             duplicate);
    r = testenv_http(testenv, "POST", "/api/v1/steps", kw, body, NULL);
    if (r.status != 201)
        fail_msg("starting a step about the duplicate: %ld %s", r.status, r.body);
    char step[32];
    snprintf(step, sizeof(step), "%s", json_string_value(json_object_get(r.json, "id")));
    testenv_response_free(&r);

    snprintf(path, sizeof(path), "/api/v1/people/%s/merge", survivor);
    snprintf(body, sizeof(body), "{\"duplicate_id\":\"%s\"}", duplicate);
    char *sw = testenv_login(testenv, "mash.sw");
    r = testenv_http(testenv, "POST", path, sw, body, NULL);
    testenv_assert_error(&r, 403, "forbidden"); /* system support merges */
    testenv_response_free(&r);
    free(sw);
    r = testenv_http(testenv, "POST", path, admin, body, NULL);
    assert_int_equal(r.status, 200);
    /* The survivor has the duplicate's relationship, allocation, NHS number and date of birth. */
    json_t *rels = json_object_get(r.json, "relationships");
    assert_int_equal(json_array_size(rels), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rels, 0), "person_id")), parent);
    json_t *allocs = json_object_get(r.json, "allocations");
    assert_int_equal(json_array_size(allocs), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(allocs, 0), "worker_id")), worker);
    assert_string_equal(json_string_value(json_object_get(r.json, "nhs_number")), "9876543210");
    assert_string_equal(json_string_value(json_object_get(r.json, "date_of_birth")), "2014-05-06");
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/people/%s/case-notes", survivor);
    r = testenv_http(testenv, "GET", path, admin, NULL, NULL);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    testenv_response_free(&r);
    /* The parent's side follows too. */
    snprintf(path, sizeof(path), "/api/v1/people/%s", parent);
    r = testenv_http(testenv, "GET", path, admin, NULL, NULL);
    rels = json_object_get(r.json, "relationships");
    assert_int_equal(json_array_size(rels), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rels, 0), "person_id")), survivor);
    testenv_response_free(&r);
    /* The duplicate's id says where its record went; search by its name finds the survivor. */
    snprintf(path, sizeof(path), "/api/v1/people/%s", duplicate);
    r = testenv_http(testenv, "GET", path, admin, NULL, NULL);
    testenv_assert_error(&r, 404, "merged");
    assert_non_null(strstr(r.body, survivor));
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", "/api/v1/people?name=maia%20dupont", admin, NULL, NULL);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(r.json, "items"), 0), "id")),
        survivor);
    testenv_response_free(&r);
    /* The work about the duplicate follows it: within moments the key worker's step names the
     * survivor, still opens, says why in its history, and shows among the survivor's work. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s", step);
    const char *subject = "";
    for (int i = 0; i < 100; i++) {
        r = testenv_http(testenv, "GET", path, kw, NULL, NULL);
        subject = r.status == 200
                      ? json_string_value(json_object_get(json_object_get(r.json, "subject"), "id"))
                      : "";
        if ((subject && strcmp(subject, survivor) == 0) || i == 99)
            break;
        testenv_response_free(&r);
        usleep(50 * 1000);
    }
    if (r.status != 200 || subject == NULL || strcmp(subject, survivor) != 0)
        fail_msg("the step about the duplicate after the merge: %ld %s", r.status, r.body);
    assert_non_null(strstr(r.body, "Moved from person"));
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/steps?subject_kind=person&subject_id=%s", survivor);
    r = testenv_http(testenv, "GET", path, kw, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, step));
    testenv_response_free(&r);
    free(kw);
    /* The duplicate's details are corrected on the record that went forward, not on it. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/details", duplicate);
    r = testenv_http(testenv, "PUT", path, admin,
                     "{\"legal_name\":{\"given\":\"Maia\",\"family\":\"Dupond\"},\"other_names\":[],"
                     "\"date_of_birth\":\"2014-05-06\",\"gender\":\"female\"}",
                     NULL);
    testenv_assert_error(&r, 404, "merged");
    testenv_response_free(&r);
    /* Merging again is refused. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/merge", survivor);
    r = testenv_http(testenv, "POST", path, admin, body, NULL);
    testenv_assert_error(&r, 409, "already_merged");
    testenv_response_free(&r);
    free(admin);
}

/* Allocates the person to the key worker in children's social care, then restricts their record. */
static void allocate_and_restrict(const char *admin, const char *id, const char *key_worker)
{
    char path[128], body[256];
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations", id);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%s\",\"role\":\"key-worker\",\"service\":\"CSSW\"}",
             key_worker);
    testenv_response_t r = testenv_http(testenv, "POST", path, admin, body, NULL);
    assert_int_equal(r.status, 201);
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", id);
    r = testenv_http(testenv, "PUT", path, admin, "{\"reason\":\"high-risk\",\"review_date\":\"2099-06-01\"}",
                     NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
}

static void test_the_manager_of_an_allocated_worker_keeps_access_to_a_restricted_record(void **state)
{
    (void)state;
    /* Seed 002: "the allocated worker(s) & their manager(s)" keep access. The early-help worker is
     * made the key worker's line manager (an early-help worker has no access by role or team). */
    char *admin = testenv_login(testenv, "admin");
    char *manager = testenv_login(testenv, "eh.worker");
    char key_worker[32], line_manager[32], id[32], path[256], body[256];
    worker_id_of("key.worker", key_worker);
    worker_id_of("eh.worker", line_manager);
    add_person(admin,
               "{\"legal_name\":{\"given\":\"Sol\",\"family\":\"Marchetti\"},\"gender\":\"male\","
               "\"date_of_birth\":\"2014-03-02\"}",
               id);
    allocate_and_restrict(admin, id, key_worker);
    snprintf(path, sizeof(path), "/api/v1/people/%s", id);
    testenv_response_t r = testenv_http(testenv, "GET", path, manager, NULL, NULL);
    testenv_assert_error(&r, 403, "restricted_record");
    testenv_response_free(&r);
    char worker_path[64];
    snprintf(worker_path, sizeof(worker_path), "/api/v1/workers/%s", key_worker);
    snprintf(body, sizeof(body), "{\"manager_id\":\"%s\"}", line_manager);
    r = testenv_http(testenv, "PUT", worker_path, admin, body, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    /* The records daemon learns of the manager from accounts' event: within moments. */
    long status = 0;
    for (int i = 0; i < 100 && status != 200; i++) {
        r = testenv_http(testenv, "GET", path, manager, NULL, NULL);
        status = r.status;
        testenv_response_free(&r);
        if (status != 200)
            usleep(50 * 1000);
    }
    assert_int_equal(status, 200);
    free(admin);
    free(manager);
}

/* Ending an allocation is a change to the record, as adding one is: a team manager kept out of a
 * restricted record may not take its key worker off it, nor learn which allocations it has by
 * trying ids (a refusal, audited, whether the allocation is there or not). */
static void test_a_manager_kept_out_of_a_restricted_record_cannot_end_its_allocations(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *cin = testenv_login(testenv, "cin.manager");
    char eh[32], id[32], path[256], allocation[32];
    worker_id_of("eh.worker", eh);
    add_person(admin,
               "{\"legal_name\":{\"given\":\"Wenna\",\"family\":\"Trevaskis\"},\"gender\":\"female\","
               "\"date_of_birth\":\"2015-05-05\"}",
               id);
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations", id);
    char body[160];
    snprintf(body, sizeof(body), "{\"worker_id\":\"%s\",\"role\":\"key-worker\",\"service\":\"EH\"}", eh);
    json_t *added = testenv_call_json(testenv, admin, "POST", path, body, 201);
    snprintf(allocation, sizeof(allocation), "%s", testenv_str(added, "id"));
    json_decref(added);
    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", id);
    json_decref(testenv_call_json(testenv, admin, "PUT", path,
                                  "{\"reason\":\"high-risk\",\"review_date\":\"2099-01-01\",\"workers\":[]}",
                                  200));
    snprintf(path, sizeof(path), "/api/v1/people/%s", id);
    testenv_call_error(testenv, cin, "GET", path, NULL, 403, "restricted_record", NULL);

    /* The key worker's allocation, and one that is not there: the same refusal. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations/%s", id, allocation);
    testenv_call_error(testenv, cin, "DELETE", path, NULL, 403, "restricted_record", NULL);
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations/999999999", id);
    testenv_call_error(testenv, cin, "DELETE", path, NULL, 403, "restricted_record", NULL);
    assert_int_equal(open_allocations(admin, id), 1);

    /* Both tries are in the trail as refusals; nothing was ended. */
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    char sql[400];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_kind = 'person' AND record_id = %s"
             " AND username = 'cin.manager' AND action = 'refused' AND summary LIKE '%%allocation%%'",
             id);
    assert_int_equal(testenv_sql_long(testenv, sql), 2);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_kind = 'person' AND record_id = %s"
             " AND action = 'deallocate'",
             id);
    assert_int_equal(testenv_sql_long(testenv, sql), 0);

    /* A manager who may open it still can. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations/%s", id, allocation);
    testenv_response_t r = testenv_http(testenv, "DELETE", path, admin, NULL, NULL);
    assert_int_equal(r.status, 204);
    testenv_response_free(&r);
    assert_int_equal(open_allocations(admin, id), 0);
    free(cin);
    free(admin);
}

/* Seed 002 keeps a restricted record open to "the allocated worker(s) & their manager(s)", not to
 * everyone who works beside them: a key worker's allocation that names their team opens it to the
 * key worker only. An allocation to the team itself, with no worker yet, opens it to the team, who
 * are then the ones allocated. */
static void
test_a_key_workers_team_does_not_keep_access_to_a_restricted_record_a_team_allocation_does(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char key_worker[32], colleague[32], team[32], kept[32], team_only[32], path[256], body[256];
    worker_id_of("key.worker", key_worker);
    testenv_add_worker(testenv, admin, "cin.colleague", "Ravi Colleague",
                       "\"roles\":[\"social-worker\"],\"teams\":[\"Children in Need 1\"]", colleague);
    snprintf(team, sizeof(team), "%ld",
             testenv_sql_long(testenv, "SELECT id FROM accounts.teams WHERE name = 'Children in Need 1'"));
    char *other = testenv_login(testenv, "cin.colleague");
    add_person(admin,
               "{\"legal_name\":{\"given\":\"Ines\",\"family\":\"Tallowfield\"},\"gender\":\"female\","
               "\"date_of_birth\":\"2013-04-05\"}",
               kept);
    add_person(admin,
               "{\"legal_name\":{\"given\":\"Otto\",\"family\":\"Tallowfield\"},\"gender\":\"male\","
               "\"date_of_birth\":\"2015-08-09\"}",
               team_only);
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations", kept);
    snprintf(body, sizeof(body),
             "{\"worker_id\":\"%s\",\"team_id\":\"%s\",\"role\":\"key-worker\",\"service\":\"CSSW\"}",
             key_worker, team);
    testenv_response_t r = testenv_http(testenv, "POST", path, admin, body, NULL);
    assert_int_equal(r.status, 201);
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations", team_only);
    snprintf(body, sizeof(body), "{\"team_id\":\"%s\",\"role\":\"team\",\"service\":\"CSSW\"}", team);
    r = testenv_http(testenv, "POST", path, admin, body, NULL);
    if (r.status != 201)
        fail_msg("a team allocation: %ld %s", r.status, r.body);
    testenv_response_free(&r);
    const char *people[2] = {kept, team_only};
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", people[k]);
        r = testenv_http(testenv, "PUT", path, admin,
                         "{\"reason\":\"high-risk\",\"review_date\":\"2099-06-01\"}", NULL);
        assert_int_equal(r.status, 200);
        testenv_response_free(&r);
    }
    char *kw = testenv_login(testenv, "key.worker");
    snprintf(path, sizeof(path), "/api/v1/people/%s", kept);
    r = testenv_http(testenv, "GET", path, kw, NULL, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", path, other, NULL, NULL);
    testenv_assert_error(&r, 403, "restricted_record");
    assert_null(strstr(r.body, "2013-04-05"));
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/people/%s/case-notes", kept);
    r = testenv_http(testenv, "GET", path, other, NULL, NULL);
    testenv_assert_error(&r, 403, "restricted_record");
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/people/%s", team_only);
    r = testenv_http(testenv, "GET", path, other, NULL, NULL);
    if (r.status != 200)
        fail_msg("the allocated team's worker reading: %ld %s", r.status, r.body);
    testenv_response_free(&r);
    free(kw);
    free(other);
    free(admin);
}

static void
test_service_involvements_are_recorded_ended_shown_on_the_summary_and_kept_from_those_without_access(
    void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char *admin = testenv_login(testenv, "admin");
    char *eh = testenv_login(testenv, "eh.worker");
    char id[32], path[256], iid[32];
    add_person(sw,
               "{\"legal_name\":{\"given\":\"Nell\",\"family\":\"Quarrie\"},\"gender\":\"female\","
               "\"date_of_birth\":\"2012-05-09\"}",
               id);
    snprintf(path, sizeof(path), "/api/v1/people/%s/involvements", id);
    long before = testenv_sql_long(testenv, "SELECT count(*) FROM records.involvements");
    struct {
        const char *body;
        long status;
        const char *code;
    } bad[] = {
        {"{\"service\":\"XYZ\",\"kind\":\"child-in-need\",\"start_date\":\"2024-01-01\"}", 400,
         "invalid_service"},
        {"{\"service\":\"CSSW\",\"kind\":\"tea\",\"start_date\":\"2024-01-01\"}", 400, "invalid_kind"},
        {"{\"service\":\"CSSW\",\"kind\":\"child-in-need\",\"start_date\":\"2999-01-01\"}", 400,
         "date_in_future"},
        {"{\"service\":\"CSSW\",\"kind\":\"child-in-need\",\"start_date\":\"2024-02-01\",\"end_date\":\"2024-"
         "01-01\"}",
         400, "end_before_start"},
        {"{\"service\":\"CSSW\",\"kind\":\"child-in-need\"}", 400, "missing_field"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        testenv_response_t r = testenv_http(testenv, "POST", path, sw, bad[i].body, NULL);
        testenv_assert_error(&r, bad[i].status, bad[i].code);
        testenv_response_free(&r);
    }
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM records.involvements"), before);
    testenv_response_t r = testenv_http(testenv, "POST", path, sw,
                                        "{\"service\":\"CSSW\",\"kind\":\"child-in-need\",\"start_date\":"
                                        "\"2024-01-15\",\"note\":\"Section 17\"}",
                                        NULL);
    assert_int_equal(r.status, 201);
    snprintf(iid, sizeof(iid), "%s", json_string_value(json_object_get(r.json, "id")));
    testenv_response_free(&r);
    r = testenv_http(testenv, "POST", path, sw,
                     "{\"service\":\"EH\",\"kind\":\"early-help\",\"start_date\":\"2023-03-01\"}", NULL);
    assert_int_equal(r.status, 201);
    testenv_response_free(&r);
    /* The summary shows the open ones, with the latest case notes and how many there are. */
    char notes_path[128];
    snprintf(notes_path, sizeof(notes_path), "/api/v1/people/%s/case-notes", id);
    for (int i = 0; i < 12; i++) {
        char note[200];
        snprintf(note, sizeof(note),
                 "{\"type\":\"visit\",\"title\":\"Visit %d\",\"occurred_at\":\"2024-02-%02dT10:00:00Z\"}",
                 i + 1, i + 1);
        r = testenv_http(testenv, "POST", notes_path, sw, note, NULL);
        assert_int_equal(r.status, 201);
        testenv_response_free(&r);
    }
    char summary[64];
    snprintf(summary, sizeof(summary), "/api/v1/people/%s", id);
    r = testenv_http(testenv, "GET", summary, sw, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "involvements")), 2);
    assert_int_equal(json_array_size(json_object_get(r.json, "case_notes")), 10);
    assert_int_equal(json_integer_value(json_object_get(r.json, "case_notes_total")), 12);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(r.json, "case_notes"), 0), "title")),
        "Visit 12");
    assert_non_null(json_object_get(r.json, "steps"));
    testenv_response_free(&r);
    /* The list, five a page, newest first: every note once, in order, two at the same time by
     * the later recorded first (they were cut at 500 before, with no next page). */
    r = testenv_http(testenv, "POST", notes_path, sw,
                     "{\"type\":\"visit\",\"title\":\"Visit 6b\",\"occurred_at\":\"2024-02-06T10:00:00Z\"}",
                     NULL);
    assert_int_equal(r.status, 201);
    testenv_response_free(&r);
    static const char *const order[13] = {"Visit 12", "Visit 11", "Visit 10", "Visit 9", "Visit 8",
                                          "Visit 7",  "Visit 6b", "Visit 6",  "Visit 5", "Visit 4",
                                          "Visit 3",  "Visit 2",  "Visit 1"};
    char cursor[96] = "";
    int shown = 0, pages = 0;
    do {
        char page[320];
        snprintf(page, sizeof(page), "%s?limit=5%s%s", notes_path, cursor[0] ? "&cursor=" : "", cursor);
        r = testenv_http(testenv, "GET", page, sw, NULL, NULL);
        assert_int_equal(r.status, 200);
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(r.json, "items"), i, item)
        {
            assert_true(shown < 13);
            assert_string_equal(json_string_value(json_object_get(item, "title")), order[shown]);
            shown++;
        }
        json_t *next = json_object_get(r.json, "next_cursor");
        snprintf(cursor, sizeof(cursor), "%s", json_is_string(next) ? json_string_value(next) : "");
        testenv_response_free(&r);
    } while (cursor[0] && ++pages < 10);
    assert_int_equal(shown, 13);
    assert_int_equal(pages, 2);
    char bad_cursor[200];
    snprintf(bad_cursor, sizeof(bad_cursor), "%s?cursor=12_x", notes_path);
    r = testenv_http(testenv, "GET", bad_cursor, sw, NULL, NULL);
    testenv_assert_error(&r, 400, "invalid_cursor");
    testenv_response_free(&r);
    char end[256];
    snprintf(end, sizeof(end), "/api/v1/people/%s/involvements/%s/end", id, iid);
    r = testenv_http(testenv, "POST", end, sw, "{\"end_date\":\"2023-01-01\"}", NULL);
    testenv_assert_error(&r, 400, "end_before_start");
    testenv_response_free(&r);
    r = testenv_http(testenv, "POST", end, sw, "{\"end_date\":\"2024-06-30\"}", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "end_date")), "2024-06-30");
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", summary, sw, NULL, NULL);
    assert_int_equal(json_array_size(json_object_get(r.json, "involvements")), 1);
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", path, sw, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 2);
    testenv_response_free(&r);
    /* Restricted: the early-help worker is refused, and the refusal is audited. */
    char restrict_path[128];
    snprintf(restrict_path, sizeof(restrict_path), "/api/v1/people/%s/restriction", id);
    r = testenv_http(testenv, "PUT", restrict_path, admin,
                     "{\"reason\":\"case-review\",\"review_date\":\"2099-01-01\"}", NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", path, eh, NULL, NULL);
    testenv_assert_error(&r, 403, "restricted_record");
    testenv_response_free(&r);
    r = testenv_http(testenv, "POST", path, eh,
                     "{\"service\":\"EH\",\"kind\":\"early-help\",\"start_date\":\"2024-03-01\"}", NULL);
    testenv_assert_error(&r, 403, "restricted_record");
    testenv_response_free(&r);
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_id = %s AND action IN ('add-involvement',"
             " 'end-involvement', 'view-involvements', 'refused')",
             id);
    assert_int_equal(testenv_sql_long(testenv, sql), 2 + 1 + 1 + 2);
    free(sw);
    free(admin);
    free(eh);
}

/* The details of a person as one JSON body for PUT /api/v1/people/{id}/details. */
static const char *details_row_sql(const char *id, char *sql, size_t size)
{
    snprintf(sql, size,
             "SELECT given_name || '|' || family_name || '|' || array_to_string(other_names, ',') || '|' ||"
             " coalesce(date_of_birth::text, '') || '|' || gender || '|' ||"
             " coalesce(expected_delivery_date::text, '') FROM records.people WHERE id = %s",
             id);
    return sql;
}

/* Seed 003: the legal name exactly as on the birth certificate, other names under Other names; CP-IS
 * matches on them, so a wrong one must be put right. */
static void test_a_persons_details_are_corrected_audited_followed_by_their_work_and_checked(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char *admin = testenv_login(testenv, "admin");
    char id[32], path[128], sql[512], before[512], after[512];
    add_person(sw,
               "{\"legal_name\":{\"given\":\"Jon\",\"family\":\"Pettifore\"},\"gender\":\"male\","
               "\"date_of_birth\":\"2015-03-02\"}",
               id);
    char body[256];
    snprintf(body, sizeof(body), "{\"type\":\"add-address\",\"subject\":{\"kind\":\"person\",\"id\":\"%s\"}}",
             id);
    testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/steps", sw, body, NULL);
    if (r.status != 201)
        fail_msg("starting a step about the person: %ld %s", r.status, r.body);
    char step[32];
    snprintf(step, sizeof(step), "%s", json_string_value(json_object_get(r.json, "id")));
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/people/%s/details", id);
    testenv_psql(testenv, NULL, details_row_sql(id, sql, sizeof(sql)), before, sizeof(before));
    assert_string_equal(before, "Jon|Pettifore||2015-03-02|male|");

    /* Every fault is refused, naming the field, and changes nothing. */
    struct {
        const char *body;
        const char *code;
        const char *field;
    } bad[] = {
        {"{\"legal_name\":{\"given\":\"John\",\"family\":\"Pettifer\"},\"date_of_birth\":\"2015-03-02\","
         "\"gender\":\"male\"}",
         "missing_field", "other_names"},
        {"{\"legal_name\":{\"given\":\"John\",\"family\":\"Pettifer\"},\"other_names\":[],\"gender\":"
         "\"male\"}",
         "missing_field", "date_of_birth"},
        {"{\"legal_name\":{\"given\":\" \",\"family\":\"Pettifer\"},\"other_names\":[],"
         "\"date_of_birth\":\"2015-03-02\",\"gender\":\"male\"}",
         "missing_field", "legal_name.given"},
        {"{\"legal_name\":{\"given\":\"John\",\"family\":\"Pettifer\"},\"other_names\":[],"
         "\"date_of_birth\":\"2999-03-02\",\"gender\":\"male\"}",
         "date_in_future", "date_of_birth"},
        {"{\"legal_name\":{\"given\":\"John\",\"family\":\"Pettifer\"},\"other_names\":[],"
         "\"date_of_birth\":\"2015-02-30\",\"gender\":\"male\"}",
         "invalid_date", "date_of_birth"},
        {"{\"legal_name\":{\"given\":\"John\",\"family\":\"Pettifer\"},\"other_names\":[],"
         "\"date_of_birth\":\"2015-03-02\",\"gender\":\"boy\"}",
         "invalid_gender", "gender"},
        {"{\"legal_name\":{\"given\":\"John\",\"family\":\"Pettifer\"},\"other_names\":[\"\"],"
         "\"date_of_birth\":\"2015-03-02\",\"gender\":\"male\"}",
         "invalid_name", "other_names"},
        {"{\"legal_name\":{\"given\":\"John\",\"family\":\"Pettifer\"},\"other_names\":[],"
         "\"date_of_birth\":\"2015-03-02\",\"gender\":\"male\",\"expected_delivery_date\":\"2015-03-01\"}",
         "not_unborn", "expected_delivery_date"},
        {"{\"legal_name\":\"John Pettifer\",\"other_names\":[],\"date_of_birth\":null,\"gender\":\"male\"}",
         "invalid_type", "legal_name"},
        {"{\"legal_name\":{\"given\":\"John\",\"family\":\"Pettifer\"},\"other_names\":[],"
         "\"date_of_birth\":null,\"gender\":\"male\",\"nhs_number\":\"9434765919\"}",
         "unknown_field", "nhs_number"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = testenv_http(testenv, "PUT", path, sw, bad[i].body, NULL);
        testenv_assert_error(&r, 400, bad[i].code);
        if (strstr(r.body, bad[i].field) == NULL)
            fail_msg("%s: the error does not name %s: %s", bad[i].body, bad[i].field, r.body);
        testenv_response_free(&r);
    }
    testenv_psql(testenv, NULL, sql, after, sizeof(after));
    assert_string_equal(after, before);
    /* The auditor reads; it does not change records. */
    char *auditor = testenv_login(testenv, "auditor");
    static const char good[] =
        "{\"legal_name\":{\"given\":\" John \",\"family\":\"Pettifer\"},\"other_names\":[\"Jon Pettifore\"],"
        "\"date_of_birth\":\"2015-03-20\",\"gender\":\"male\"}";
    r = testenv_http(testenv, "PUT", path, auditor, good, NULL);
    testenv_assert_error(&r, 403, "forbidden");
    testenv_response_free(&r);
    free(auditor);

    r = testenv_http(testenv, "PUT", path, sw, good, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "display_name")), "John Pettifer");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "legal_name"), "given")),
                        "John");
    assert_string_equal(json_string_value(json_array_get(json_object_get(r.json, "other_names"), 0)),
                        "Jon Pettifore");
    assert_string_equal(json_string_value(json_object_get(r.json, "date_of_birth")), "2015-03-20");
    testenv_response_free(&r);
    /* Sent again, it changes and records nothing. */
    r = testenv_http(testenv, "PUT", path, sw, good, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    /* Found by the new name and by the old, now another name. */
    r = testenv_http(testenv, "GET", "/api/v1/people?name=john%20pettifer", sw, NULL, NULL);
    assert_non_null(strstr(r.body, id));
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", "/api/v1/people?name=jon%20pettifore", sw, NULL, NULL);
    assert_non_null(strstr(r.body, id));
    testenv_response_free(&r);
    /* One entry in the record's audit trail, saying what each detail was. */
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_kind = 'person' AND record_id = %s"
             " AND action = 'change-details'",
             id);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    snprintf(sql, sizeof(sql),
             "SELECT summary FROM audit.entries WHERE record_kind = 'person' AND record_id = %s"
             " AND action = 'change-details'",
             id);
    char summary[1024];
    testenv_psql(testenv, NULL, sql, summary, sizeof(summary));
    assert_non_null(strstr(summary, "legal name Jon Pettifore to John Pettifer"));
    assert_non_null(strstr(summary, "other names (none) to Jon Pettifore"));
    assert_non_null(strstr(summary, "date of birth 2015-03-02 to 2015-03-20"));
    assert_null(strstr(summary, "gender"));
    /* The work about the person shows the name as corrected, within moments. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s", step);
    const char *name = "";
    for (int i = 0; i < 100; i++) {
        r = testenv_http(testenv, "GET", path, sw, NULL, NULL);
        name = r.status == 200
                   ? json_string_value(json_object_get(json_object_get(r.json, "subject"), "name"))
                   : "";
        if ((name && strcmp(name, "John Pettifer") == 0) || i == 99)
            break;
        testenv_response_free(&r);
        usleep(50 * 1000);
    }
    if (r.status != 200 || name == NULL || strcmp(name, "John Pettifer") != 0)
        fail_msg("the step about the person after the correction: %ld %s", r.status, r.body);
    testenv_response_free(&r);

    /* A restricted record is corrected only by those who may open it; a try by anyone else is
     * refused and audited. */
    char restrict_path[128];
    snprintf(restrict_path, sizeof(restrict_path), "/api/v1/people/%s/restriction", id);
    r = testenv_http(testenv, "PUT", restrict_path, admin,
                     "{\"reason\":\"high-risk\",\"review_date\":\"2099-01-01\"}", NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    char *eh = testenv_login(testenv, "eh.worker");
    snprintf(path, sizeof(path), "/api/v1/people/%s/details", id);
    r = testenv_http(testenv, "PUT", path, eh,
                     "{\"legal_name\":{\"given\":\"Johnny\",\"family\":\"Pettifer\"},\"other_names\":[],"
                     "\"date_of_birth\":null,\"gender\":\"male\"}",
                     NULL);
    testenv_assert_error(&r, 403, "restricted_record");
    testenv_response_free(&r);
    free(eh);
    testenv_psql(testenv, NULL, details_row_sql(id, sql, sizeof(sql)), after, sizeof(after));
    assert_string_equal(after, "John|Pettifer|Jon Pettifore|2015-03-20|male|");

    /* An unborn child: its expected date of delivery is corrected; a date of birth is not given. */
    char unborn[32], mother[32], edd[16], corrected[16], details[300];
    add_person(sw, "{\"legal_name\":{\"given\":\"Ada\",\"family\":\"Pettifer\"},\"gender\":\"female\"}",
               mother);
    testenv_sql_date(testenv, "current_date + 60", edd);
    testenv_sql_date(testenv, "current_date + 74", corrected);
    snprintf(body, sizeof(body),
             "{\"legal_name\":{\"given\":\"\",\"family\":\"Pettifer\"},\"gender\":\"not-known\","
             "\"unborn\":true,\"mother_id\":\"%s\",\"expected_delivery_date\":\"%s\"}",
             mother, edd);
    add_person(sw, body, unborn);
    snprintf(path, sizeof(path), "/api/v1/people/%s/details", unborn);
    r = testenv_http(testenv, "PUT", path, sw,
                     "{\"legal_name\":{\"given\":\"\",\"family\":\"Pettifer\"},\"other_names\":[],"
                     "\"date_of_birth\":\"2020-01-01\",\"gender\":\"not-known\"}",
                     NULL);
    testenv_assert_error(&r, 400, "unborn_with_birth_date");
    assert_non_null(strstr(r.body, "expected_delivery_date")); /* and it is missing, both at once */
    testenv_response_free(&r);
    snprintf(details, sizeof(details),
             "{\"legal_name\":{\"given\":\"\",\"family\":\"Pettifer\"},\"other_names\":[],"
             "\"date_of_birth\":null,\"gender\":\"female\",\"expected_delivery_date\":\"%s\"}",
             corrected);
    r = testenv_http(testenv, "PUT", path, sw, details, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "expected_delivery_date")), corrected);
    assert_string_equal(json_string_value(json_object_get(r.json, "display_name")), "Unborn baby Pettifer");
    testenv_response_free(&r);
    free(sw);
    free(admin);
}

/* Seed 002: "Restriction will be reviewed for validity on a regular basis": system support see the
 * restrictions whose review date has come, the longest overdue first, each listing audited. */
/* An access list names workers who have not left, each once, and a review date to come: an id no
 * worker has would let in whoever is given it next (and leave the worker meant without access), and
 * a date past puts the restriction up for review the day it is made. A refused one changes nothing. */
static void test_a_restriction_names_only_current_workers_once_and_a_review_date_to_come(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char person[32], path[128], body[256], sw[32];
    add_person(admin,
               "{\"legal_name\":{\"given\":\"Elowen\",\"family\":\"Penhallow\"},\"gender\":\"female\"}",
               person);
    worker_id_of("mash.sw", sw);
    long unused = testenv_sql_long(testenv, "SELECT coalesce(max(id), 0) + 1000 FROM accounts.workers");
    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", person);
    snprintf(
        body, sizeof(body),
        "{\"reason\":\"adoption-fostering\",\"review_date\":\"2099-06-01\",\"workers\":[\"%s\",\"%ld\"]}", sw,
        unused);
    testenv_response_t r = testenv_http(testenv, "PUT", path, admin, body, NULL);
    testenv_assert_error(&r, 422, "unknown_worker");
    assert_string_equal(testenv_str(json_object_get(r.json, "error"), "field"), "workers[1]");
    testenv_response_free(&r);
    snprintf(body, sizeof(body),
             "{\"reason\":\"adoption-fostering\",\"review_date\":\"2099-06-01\",\"workers\":[\"%s\",\"%s\"]}",
             sw, sw);
    r = testenv_http(testenv, "PUT", path, admin, body, NULL);
    testenv_assert_error(&r, 400, "duplicate_worker");
    testenv_response_free(&r);
    r = testenv_http(testenv, "PUT", path, admin, "{\"reason\":\"high-risk\",\"review_date\":\"2020-06-01\"}",
                     NULL);
    testenv_assert_error(&r, 400, "review_date_past");
    testenv_response_free(&r);
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM records.restrictions WHERE person_id = %s", person);
    assert_int_equal(testenv_sql_long(testenv, sql), 0);

    /* A worker who has left cannot be given access either, once records has heard. */
    char leaver[32];
    testenv_add_worker(testenv, admin, "gone.gwen", "Gwen Gonewell", "\"roles\":[\"social-worker\"]", leaver);
    testenv_end_worker(testenv, admin, leaver, "Left the council");
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM records.workers WHERE id = %s AND ended", leaver);
    for (int i = 0; i < 200 && testenv_sql_long(testenv, sql) == 0; i++)
        usleep(25 * 1000);
    snprintf(body, sizeof(body),
             "{\"reason\":\"high-risk\",\"review_date\":\"2099-06-01\",\"workers\":[\"%s\"]}", leaver);
    r = testenv_http(testenv, "PUT", path, admin, body, NULL);
    testenv_assert_error(&r, 422, "worker_ended");
    assert_string_equal(testenv_str(json_object_get(r.json, "error"), "field"), "workers[0]");
    testenv_response_free(&r);
    /* Today is the earliest review date; the workers named as they are. */
    char today[16];
    testenv_sql_date(testenv, "current_date", today);
    snprintf(body, sizeof(body), "{\"reason\":\"high-risk\",\"review_date\":\"%s\",\"workers\":[\"%s\"]}",
             today, sw);
    r = testenv_http(testenv, "PUT", path, admin, body, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    free(admin);
}

static void test_restrictions_whose_review_date_has_come_are_listed_for_system_support(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char overdue[32], due[32], later[32], path[128], body[256];
    add_person(admin,
               "{\"legal_name\":{\"given\":\"Rhoswen\",\"family\":\"Trevaskis\"},\"gender\":\"female\"}",
               overdue);
    add_person(admin,
               "{\"legal_name\":{\"given\":\"Morwenna\",\"family\":\"Trevaskis\"},\"gender\":\"female\"}",
               due);
    add_person(admin, "{\"legal_name\":{\"given\":\"Jowan\",\"family\":\"Trevaskis\"},\"gender\":\"male\"}",
               later);
    const struct {
        const char *id;
        const char *body;
    } restrict_them[] = {
        {overdue, "{\"reason\":\"high-risk\",\"review_date\":\"2098-03-01\"}"},
        {due, "{\"reason\":\"case-review\",\"review_date\":\"2098-03-02\",\"workers\":[\"%s\"]}"},
        {later, "{\"reason\":\"high-profile\",\"review_date\":\"2098-03-03\"}"},
    };
    char sw[32];
    worker_id_of("mash.sw", sw);
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", restrict_them[i].id);
        snprintf(body, sizeof(body), restrict_them[i].body, sw);
        testenv_response_t r = testenv_http(testenv, "PUT", path, admin, body, NULL);
        assert_int_equal(r.status, 200);
        testenv_response_free(&r);
    }
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    long entries_before = testenv_sql_long(
        testenv, "SELECT count(*) FROM audit.entries WHERE action = 'list-restriction-reviews'");
    /* On 2 March 2098: the two whose date has come, the longest overdue first; not the third. */
    testenv_response_t r =
        testenv_http(testenv, "GET", "/api/v1/restrictions/due?on=2098-03-02&limit=200", admin, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "on")), "2098-03-02");
    json_t *items = json_object_get(r.json, "items");
    int at_overdue = -1, at_due = -1;
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        const char *id = json_string_value(json_object_get(item, "person_id"));
        assert_string_not_equal(id, later);
        assert_true(strcmp(json_string_value(json_object_get(item, "review_date")), "2098-03-02") <= 0);
        if (strcmp(id, overdue) == 0)
            at_overdue = (int)i;
        if (strcmp(id, due) == 0) {
            at_due = (int)i;
            assert_string_equal(json_string_value(json_object_get(item, "reason")), "case-review");
            assert_int_equal(json_integer_value(json_object_get(item, "named_workers")), 1);
            assert_string_equal(json_string_value(json_object_get(item, "display_name")),
                                "Morwenna Trevaskis");
        }
    }
    assert_true(at_overdue >= 0 && at_due > at_overdue);
    testenv_response_free(&r);
    /* Each record listed is a read of it. */
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE action = 'list-restriction-reviews' AND record_id IN "
             "(%s, %s)",
             overdue, due);
    assert_int_equal(testenv_sql_long(testenv, sql), 2);
    assert_true(testenv_sql_long(testenv,
                                 "SELECT count(*) FROM audit.entries"
                                 " WHERE action = 'list-restriction-reviews'") >= entries_before + 2);
    /* Kept with a new date, it leaves the list. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", overdue);
    r = testenv_http(testenv, "PUT", path, admin, "{\"reason\":\"high-risk\",\"review_date\":\"2098-09-01\"}",
                     NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", "/api/v1/restrictions/due?on=2098-03-02&limit=200", admin, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.body, overdue));
    assert_non_null(strstr(r.body, due));
    testenv_response_free(&r);
    /* Only system support review restrictions; a date must be a date. */
    char *mash_sw = testenv_login(testenv, "mash.sw");
    r = testenv_http(testenv, "GET", "/api/v1/restrictions/due", mash_sw, NULL, NULL);
    testenv_assert_error(&r, 403, "forbidden");
    testenv_response_free(&r);
    free(mash_sw);
    r = testenv_http(testenv, "GET", "/api/v1/restrictions/due?on=2001-02-30", admin, NULL, NULL);
    testenv_assert_error(&r, 400, "invalid_date");
    testenv_response_free(&r);
    free(admin);
}

/* Seed 002: "Staff requiring access not in those groups, will need to contact MOSAIC support". A
 * worker refused a restricted record asks for access by a request that shows the name only: they
 * may start it, read it and send it to system support; the record stays closed to them, and so does
 * every other kind of work about it. */
static void test_a_worker_refused_a_restricted_record_asks_system_support_for_access(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *eh = testenv_login(testenv, "eh.worker");
    char id[32], path[128], body[256];
    add_person(admin,
               "{\"legal_name\":{\"given\":\"Lowena\",\"family\":\"Chenoweth\"},\"gender\":\"female\"}", id);
    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", id);
    testenv_response_t r = testenv_http(testenv, "PUT", path, admin,
                                        "{\"reason\":\"high-risk\",\"review_date\":\"2099-01-01\"}", NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    /* Other work about the record is refused, as before. */
    snprintf(body, sizeof(body), "{\"type\":\"add-address\",\"subject\":{\"kind\":\"person\",\"id\":\"%s\"}}",
             id);
    r = testenv_http(testenv, "POST", "/api/v1/steps", eh, body, NULL);
    testenv_assert_error(&r, 403, "restricted_record");
    testenv_response_free(&r);
    snprintf(body, sizeof(body),
             "{\"type\":\"access-a-restricted-record\",\"subject\":{\"kind\":\"person\",\"id\":\"%s\"}}", id);
    r = testenv_http(testenv, "POST", "/api/v1/steps", eh, body, NULL);
    if (r.status != 201)
        fail_msg("starting the request for access: %ld %s", r.status, r.body);
    char step[32];
    snprintf(step, sizeof(step), "%s", json_string_value(json_object_get(r.json, "id")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "subject"), "name")),
                        "Lowena Chenoweth");
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", step);
    r = testenv_http(testenv, "PUT", path, eh,
                     "{\"data\":{\"reason\":\"Early help for her younger brother.\"},\"completed\":true}",
                     NULL);
    if (r.status != 200)
        fail_msg("saving the reason: %ld %s", r.status, r.body);
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", step);
    r = testenv_http(testenv, "POST", path, eh, "{\"type\":\"action-by-system-support\"}", NULL);
    if (r.status != 201)
        fail_msg("sending it to system support: %ld %s", r.status, r.body);
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/steps/%s", step);
    r = testenv_http(testenv, "GET", path, eh, NULL, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    /* Seed 001: "CC your senior/TM". The request asks nothing of the record, so whoever it is passed
     * to needs no access to the record either: a colleague without it is offered, and may be sent it. */
    char colleague[32];
    testenv_add_worker(testenv, admin, "cc.senior", "Tamsin Ccsenior", "\"roles\":[\"team-manager\"]",
                       colleague);
    int offered = 0;
    snprintf(path, sizeof(path), "/api/v1/steps/%s/recipients?q=ccsenior", step);
    for (int attempt = 0; attempt < 100 && !offered; attempt++) { /* until workflow has heard of them */
        json_t *list = testenv_call_json(testenv, eh, "GET", path, NULL, 200);
        offered =
            json_array_size(json_object_get(list, "items")) == 1 &&
            strcmp(testenv_str(json_array_get(json_object_get(list, "items"), 0), "id"), colleague) == 0;
        json_decref(list);
        if (!offered)
            usleep(50 * 1000);
    }
    assert_true(offered);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/assign", step);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%s\"}", colleague);
    r = testenv_http(testenv, "POST", path, eh, body, NULL);
    if (r.status != 200)
        fail_msg("passing the request to a colleague without access: %ld %s", r.status, r.body);
    testenv_response_free(&r);
    /* Work that needs the record is still refused to them. */
    snprintf(body, sizeof(body),
             "{\"type\":\"cpis-follow-up\",\"subject\":{\"kind\":\"person\",\"id\":\"%s\"},"
             "\"assign_to\":{\"worker_id\":\"%s\"}}",
             id, colleague);
    r = testenv_http(testenv, "POST", "/api/v1/steps", admin, body, NULL);
    testenv_assert_error(&r, 422, "recipient_has_no_access");
    testenv_response_free(&r);
    /* The record itself stays closed to them. */
    snprintf(path, sizeof(path), "/api/v1/people/%s", id);
    r = testenv_http(testenv, "GET", path, eh, NULL, NULL);
    testenv_assert_error(&r, 403, "restricted_record");
    testenv_response_free(&r);
    free(eh);
    free(admin);
}

/* Seed 003: "In the case of unborn babies, the mother's NHS number is used. Once the child reaches
 * the expected date of delivery the system will require an NHS number to be added to the child's
 * record." The birth is recorded on the unborn child's record: their legal name, date of birth,
 * gender and own NHS number, every fault at once; the record is then the child's, found by name,
 * with the mother still linked, the steps about it named anew, and one entry in the trail. */
static void test_the_birth_of_an_unborn_child_is_recorded_on_their_record(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char mother[32], baby[32], other[32], body[600], path[96], edd[16], today[16], early[16], nhs[11];
    add_person(sw, "{\"legal_name\":{\"given\":\"Orla\",\"family\":\"Birthwhistle\"},\"gender\":\"female\"}",
               mother);
    testenv_sql_date(testenv, "current_date + 14", edd);
    testenv_sql_date(testenv, "current_date", today);
    testenv_sql_date(testenv, "current_date + 14 - 169", early);
    snprintf(body, sizeof(body),
             "{\"legal_name\":{\"given\":\"\",\"family\":\"Birthwhistle\"},\"gender\":\"not-known\","
             "\"unborn\":true,\"mother_id\":\"%s\",\"expected_delivery_date\":\"%s\"}",
             mother, edd);
    add_person(sw, body, baby);
    snprintf(body, sizeof(body), "{\"type\":\"add-address\",\"subject\":{\"kind\":\"person\",\"id\":\"%s\"}}",
             baby);
    json_t *step = testenv_call_json(testenv, sw, "POST", "/api/v1/steps", body, 201);
    char step_path[64];
    snprintf(step_path, sizeof(step_path), "/api/v1/steps/%s", testenv_str(step, "id"));
    json_decref(step);
    snprintf(path, sizeof(path), "/api/v1/people/%s/birth", baby);

    /* Every fault at once, and nothing changed. */
    testenv_response_t r =
        testenv_http(testenv, "PUT", path, sw,
                     "{\"legal_name\":{\"given\":\"\",\"family\":\"Birthwhistle\"},\"gender\":\"boy\","
                     "\"date_of_birth\":\"2999-01-01\",\"nhs_number\":\"123\"}",
                     NULL);
    assert_int_equal(r.status, 400);
    const char *fields[] = {"legal_name.given", "gender", "date_of_birth", "nhs_number"};
    for (size_t i = 0; i < 4; i++) {
        int found = 0;
        size_t k;
        json_t *e;
        json_array_foreach(json_object_get(r.json, "errors"), k, e)
        {
            found |= json_is_string(json_object_get(e, "field")) &&
                     strcmp(testenv_str(e, "field"), fields[i]) == 0;
        }
        if (!found)
            fail_msg("no fault for %s: %s", fields[i], r.body);
    }
    testenv_response_free(&r);
    snprintf(body, sizeof(body),
             "{\"legal_name\":{\"given\":\"Ivy\",\"family\":\"Birthwhistle\"},\"gender\":\"female\","
             "\"date_of_birth\":\"%s\"}",
             early);
    testenv_call_error(testenv, sw, "PUT", path, body, 400, "invalid_date", "date_of_birth");
    /* No date of birth and no given name: both named (the date's fault is the birth's own check). */
    r = testenv_http(testenv, "PUT", path, sw,
                     "{\"legal_name\":{\"given\":\" \",\"family\":\"Birthwhistle\"},\"gender\":\"female\"}",
                     NULL);
    assert_int_equal(r.status, 400);
    assert_int_equal(json_array_size(json_object_get(r.json, "errors")), 2);
    assert_non_null(strstr(r.body, "\"field\":\"legal_name.given\""));
    assert_non_null(strstr(r.body, "\"field\":\"date_of_birth\""));
    testenv_response_free(&r);
    /* Another's NHS number is refused. */
    char taken[11];
    testenv_new_nhs_number(taken);
    snprintf(body, sizeof(body),
             "{\"legal_name\":{\"given\":\"Olwen\",\"family\":\"Taken\"},\"gender\":\"female\","
             "\"nhs_number\":\"%s\"}",
             taken);
    add_person(sw, body, other);
    snprintf(body, sizeof(body),
             "{\"legal_name\":{\"given\":\"Ivy\",\"family\":\"Birthwhistle\"},\"gender\":\"female\","
             "\"date_of_birth\":\"%s\",\"nhs_number\":\"%s\"}",
             today, taken);
    testenv_call_error(testenv, sw, "PUT", path, body, 409, "duplicate_nhs_number", "nhs_number");
    /* A worker who may not change people cannot record it. */
    testenv_new_nhs_number(nhs);
    snprintf(body, sizeof(body),
             "{\"legal_name\":{\"given\":\"Ivy\",\"family\":\"Birthwhistle\"},\"other_names\":[\"Ivy Orla\"],"
             "\"gender\":\"female\",\"date_of_birth\":\"%s\",\"nhs_number\":\"%.3s %.3s %.4s\"}",
             today, nhs, nhs + 3, nhs + 6);
    char *auditor = testenv_login(testenv, "auditor");
    testenv_call_error(testenv, auditor, "PUT", path, body, 403, "forbidden", NULL);
    free(auditor);

    /* Born today, ahead of the date expected. */
    json_t *p = testenv_call_json(testenv, sw, "PUT", path, body, 200);
    assert_false(json_is_true(json_object_get(p, "unborn")));
    assert_string_equal(testenv_str(p, "date_of_birth"), today);
    assert_string_equal(testenv_str(p, "nhs_number"), nhs);
    assert_string_equal(testenv_str(p, "gender"), "female");
    assert_string_equal(testenv_str(json_object_get(p, "legal_name"), "given"), "Ivy");
    assert_string_equal(testenv_str(p, "mother_id"), mother);
    assert_true(json_object_get(p, "expected_delivery_date") == NULL ||
                json_is_null(json_object_get(p, "expected_delivery_date")) ||
                strcmp(json_string_value(json_object_get(p, "expected_delivery_date")), "") == 0);
    json_decref(p);
    /* Once only. */
    testenv_call_error(testenv, sw, "PUT", path, body, 409, "not_unborn", NULL);
    /* Found by the name given at birth, and by the other name. */
    json_t *found = testenv_call_json(testenv, sw, "GET", "/api/v1/people?name=Ivy%20Orla", NULL, 200);
    int listed = 0;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(found, "items"), i, it)
    {
        listed |= strcmp(testenv_str(it, "id"), baby) == 0;
    }
    assert_true(listed);
    json_decref(found);
    /* The step about the child shows their name. */
    int renamed = 0;
    for (int attempt = 0; attempt < 100 && !renamed; attempt++) {
        json_t *s = testenv_call_json(testenv, sw, "GET", step_path, NULL, 200);
        renamed = strcmp(testenv_str(json_object_get(s, "subject"), "name"), "Ivy Birthwhistle") == 0;
        json_decref(s);
        if (!renamed)
            usleep(50 * 1000);
    }
    assert_true(renamed);
    /* One entry in the trail, saying what was expected and what happened. */
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    char sql[300];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_kind = 'person' AND record_id = %s"
             " AND action = 'record-birth' AND summary LIKE '%%expected on %s%%'",
             baby, edd);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    free(sw);
}

/* The error's message, with every copy of the NHS number blanked out (its digits could hold an id). */
static void message_without(const testenv_response_t *r, const char *nhs, char *out, size_t size)
{
    const char *message = json_string_value(json_object_get(json_object_get(r->json, "error"), "message"));
    snprintf(out, size, "%s", message ? message : "");
    for (char *at = strstr(out, nhs); at; at = strstr(at, nhs))
        memset(at, '#', strlen(nhs));
}

/* Asserts a 409 duplicate_nhs_number on the number that names no holder (no id, no name) and sends
 * the worker to system support. */
static void assert_duplicate_names_no_one(const testenv_response_t *r, const char *nhs, const char *holder,
                                          const char *family, const char *what)
{
    char message[512];
    testenv_assert_error(r, 409, "duplicate_nhs_number");
    assert_string_equal(testenv_str(json_object_get(r->json, "error"), "field"), "nhs_number");
    message_without(r, nhs, message, sizeof(message));
    if (strstr(message, holder) || strstr(message, "(id") || strstr(r->body, family) ||
        strstr(message, "system support") == NULL)
        fail_msg("%s, the worker was told: %s", what, r->body);
}

/* Seed 002: nothing about a restricted person but their display name reaches a worker without access.
 * A number already held on such a record is refused without naming the holder (not even by id,
 * which a search by id turns into the name), on adding a person and on recording a number; someone
 * with access is still told whose record it is. */
static void test_a_duplicate_nhs_number_on_a_record_the_caller_cannot_open_names_no_one(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char holder[32], nhs[11], body[512], path[128], message[512];
    testenv_new_nhs_number(nhs);
    snprintf(body, sizeof(body),
             "{\"legal_name\":{\"given\":\"Tamsin\",\"family\":\"Holdfast\"},\"gender\":\"female\","
             "\"date_of_birth\":\"2014-05-06\",\"nhs_number\":\"%s\"}",
             nhs);
    add_person(admin, body, holder);
    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", holder);
    testenv_response_t r = testenv_http(testenv, "PUT", path, admin,
                                        "{\"reason\":\"high-risk\",\"review_date\":\"2099-01-01\"}", NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    snprintf(body, sizeof(body),
             "{\"legal_name\":{\"given\":\"Test\",\"family\":\"Dup\"},\"gender\":\"female\","
             "\"date_of_birth\":\"2014-05-06\",\"nhs_number\":\"%s\"}",
             nhs);
    /* Early help and a third party's worker: neither may open the record. */
    const char *outsiders[2] = {"eh.worker", "carers.worker"};
    for (int u = 0; u < 2; u++) {
        char *token = testenv_login(testenv, outsiders[u]);
        r = testenv_http(testenv, "POST", "/api/v1/people", token, body, NULL);
        assert_duplicate_names_no_one(&r, nhs, holder, "Holdfast", "adding a person with the number");
        testenv_response_free(&r);
        /* Recording the number on a record they may change: the same. */
        char open[32], change[128], number[64];
        snprintf(change, sizeof(change),
                 "{\"legal_name\":{\"given\":\"Open%c\",\"family\":\"Numberless\"},\"gender\":\"male\"}",
                 'A' + u);
        add_person(token, change, open);
        snprintf(path, sizeof(path), "/api/v1/people/%s/nhs-number", open);
        snprintf(number, sizeof(number), "{\"nhs_number\":\"%s\"}", nhs);
        r = testenv_http(testenv, "PUT", path, token, number, NULL);
        assert_duplicate_names_no_one(&r, nhs, holder, "Holdfast", "recording the number");
        testenv_response_free(&r);
        free(token);
    }
    /* The MASH team keeps access: told whose record it is, to open it instead. */
    char *sw = testenv_login(testenv, "mash.sw");
    r = testenv_http(testenv, "POST", "/api/v1/people", sw, body, NULL);
    testenv_assert_error(&r, 409, "duplicate_nhs_number");
    message_without(&r, nhs, message, sizeof(message));
    char id_text[48];
    snprintf(id_text, sizeof(id_text), "(id %s)", holder);
    if (strstr(message, id_text) == NULL)
        fail_msg("a worker with access was not told the holder: %s", r.body);
    testenv_response_free(&r);
    free(sw);
    free(admin);
}

/* The ids of a people search's items, comma-separated, as the caller sees them ("" for none). */
static void search_ids(const char *token, const char *query, char *out, size_t size)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/people?%s", query);
    json_t *list = testenv_call_json(testenv, token, "GET", path, NULL, 200);
    size_t i, n = 0;
    json_t *item;
    out[0] = '\0';
    json_array_foreach(json_object_get(list, "items"), i, item)
    {
        if (n + 24 < size)
            n += (size_t)snprintf(out + n, size - n, "%s%s", n ? "," : "", testenv_str(item, "id"));
    }
    json_decref(list);
}

static int lists(const char *ids, const char *id)
{
    size_t len = strlen(id);
    for (const char *at = strstr(ids, id); at; at = strstr(at + 1, id))
        if ((at == ids || at[-1] == ',') && (at[len] == '\0' || at[len] == ','))
            return 1;
    return 0;
}

/* Seed 002: a restricted person still appears in search by display name only. To a worker without
 * access they are found by that name alone: their other names find no one, and a search by date of
 * birth (alone, with a name, or with their id) answers the same whether the date is theirs or not. A
 * worker with access, by policy or as the allocated worker, finds them by all of it as before. */
static void test_a_restricted_person_is_found_by_display_name_only_by_those_without_access(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char id[32], path[128], key_worker[32];
    add_person(admin,
               "{\"legal_name\":{\"given\":\"Ottoline\",\"family\":\"Fennimore\"},\"gender\":\"female\","
               "\"date_of_birth\":\"2013-08-19\",\"other_names\":[\"Zanna Quillfeather\"]}",
               id);
    /* A key worker of their own (the demo key worker's line manager is the early-help worker by now). */
    testenv_add_worker(testenv, admin, "alloc.search", "Ines Allocwright", "\"roles\":[\"social-worker\"]",
                       key_worker);
    allocate_and_restrict(admin, id, key_worker);
    char right[1024], wrong[1024], ids[1024], by_id[48];
    snprintf(by_id, sizeof(by_id), "name=%s&", id);
    const char *outsiders[2] = {"eh.worker", "carers.worker"};
    for (int u = 0; u < 2; u++) {
        char *token = testenv_login(testenv, outsiders[u]);
        /* The display name finds them, name only. */
        json_t *list =
            testenv_call_json(testenv, token, "GET", "/api/v1/people?name=ottoline%20fennimore", NULL, 200);
        json_t *first = json_array_get(json_object_get(list, "items"), 0);
        assert_string_equal(testenv_str(first, "id"), id);
        assert_true(json_is_true(json_object_get(first, "name_only")));
        assert_null(json_object_get(first, "date_of_birth"));
        json_decref(list);
        /* Their other name does not. */
        search_ids(token, "name=zanna%20quillfeather", ids, sizeof(ids));
        if (lists(ids, id))
            fail_msg("%s found the restricted person by their other name", outsiders[u]);
        /* A date of birth answers the same whether it is theirs or the day after. */
        const char *names[3] = {"", "name=fennimore&", by_id};
        for (int q = 0; q < 3; q++) {
            snprintf(path, sizeof(path), "%sdob=2013-08-19", names[q]);
            search_ids(token, path, right, sizeof(right));
            snprintf(path, sizeof(path), "%sdob=2013-08-20", names[q]);
            search_ids(token, path, wrong, sizeof(wrong));
            if (lists(right, id) || strcmp(right, wrong) != 0)
                fail_msg("%s searching %s: [%s], the wrong date: [%s]", outsiders[u], path, right, wrong);
        }
        free(token);
    }
    /* With access (the MASH team by policy; the allocated key worker): found by all of it, in full. */
    const char *insiders[2] = {"mash.sw", "alloc.search"};
    for (int u = 0; u < 2; u++) {
        char *token = testenv_login(testenv, insiders[u]);
        const char *finding[4] = {"name=zanna%20quillfeather&", "", "name=fennimore&", by_id};
        for (int q = 0; q < 4; q++) {
            snprintf(path, sizeof(path), q == 0 ? "%s" : "%sdob=2013-08-19", finding[q]);
            search_ids(token, path, ids, sizeof(ids));
            if (!lists(ids, id))
                fail_msg("%s searching %s did not find the person: [%s]", insiders[u], path, ids);
        }
        search_ids(token, "name=fennimore&dob=2013-08-20", ids, sizeof(ids));
        assert_false(lists(ids, id));
        free(token);
    }
    free(admin);
}

/* A case note's title is one line, its body text; a date of birth is after 1900. A bell character
 * in a title, or 1800 typed for 2008, was taken and kept. Each is refused naming its field, and
 * nothing is recorded. */
static void test_a_control_character_in_a_case_note_or_a_birth_before_1900_is_refused(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    long people = testenv_sql_long(testenv, "SELECT count(*) FROM records.people");
    testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/people", sw,
                                        "{\"legal_name\":{\"given\":\"Bertram\",\"family\":\"Oldfield\"},"
                                        "\"gender\":\"male\",\"date_of_birth\":\"1899-12-31\"}",
                                        NULL);
    testenv_assert_error(&r, 400, "date_too_early");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "error"), "field")),
                        "date_of_birth");
    testenv_response_free(&r);
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM records.people"), people);
    char child[32], path[96];
    add_person(sw,
               "{\"legal_name\":{\"given\":\"Tilda\",\"family\":\"Bellchamber\"},\"gender\":\"female\","
               "\"date_of_birth\":\"1900-01-01\"}",
               child);
    snprintf(path, sizeof(path), "/api/v1/people/%s/case-notes", child);
    const char *bad[][2] = {
        {"{\"type\":\"visit\",\"title\":\"Home\\u0007visit\",\"body\":\"Seen.\"}", "title"},
        {"{\"type\":\"visit\",\"title\":\"Home\\tvisit\",\"body\":\"Seen.\"}", "title"},
        {"{\"type\":\"visit\",\"title\":\"Home visit\",\"body\":\"Seen\\u001b[2J.\"}", "body"},
    };
    for (size_t i = 0; i < 3; i++) {
        r = testenv_http(testenv, "POST", path, sw, bad[i][0], NULL);
        testenv_assert_error(&r, 400, "invalid_value");
        assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "error"), "field")),
                            bad[i][1]);
        testenv_response_free(&r);
    }
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM records.case_notes WHERE person_id = %s", child);
    assert_int_equal(testenv_sql_long(testenv, sql), 0);
    r = testenv_http(testenv, "POST", path, sw,
                     "{\"type\":\"visit\",\"title\":\"Home visit\",\"body\":\"Seen alone.\\n\\tRoom tidy.\"}",
                     NULL);
    assert_int_equal(r.status, 201);
    testenv_response_free(&r);
    free(sw);
}

/* The day as the records daemon counts it: in the office's time zone (Europe/London, the daemons'
 * default), which the database's current_date need not be near midnight. */
#define OFFICE_TODAY "(now() AT TIME ZONE 'Europe/London')::date"

/* POST /api/v1/people's body for an unborn child of that family name, the mother's, due on edd. */
static const char *unborn_body(char *out, size_t size, const char *family, const char *mother,
                               const char *edd)
{
    snprintf(out, size,
             "{\"legal_name\":{\"given\":\"\",\"family\":\"%s\"},\"gender\":\"not-known\",\"unborn\":true,"
             "\"mother_id\":\"%s\",\"expected_delivery_date\":\"%s\"}",
             family, mother, edd);
    return out;
}

/* Seed 003: CP-IS matches the mother's NHS number to the unborn child until the expected date of
 * delivery. 2036 typed for 2026 sent her notifications to the child's record for ten years; 1991,
 * before she was born, was taken too. The date is within a pregnancy (44 weeks) of the day the child
 * is recorded, no more than 6 weeks past (a birth not yet recorded), and after the mother's birth;
 * a correction is judged from the day the record was added, and a date left as it was not again. */
static void test_an_expected_date_of_delivery_is_within_a_pregnancy_and_after_the_mothers_birth(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char mother[32], young[32], baby[32], body[400], day[16], dob[16], sql[400];
    add_person(sw,
               "{\"legal_name\":{\"given\":\"Grace\",\"family\":\"Warrender\"},\"gender\":\"female\","
               "\"date_of_birth\":\"1994-07-12\"}",
               mother);
    long people = testenv_sql_long(testenv, "SELECT count(*) FROM records.people");
    static const char *const refused[][2] = {
        {OFFICE_TODAY " + 309", "date_too_late"},
        {OFFICE_TODAY " + 3650", "date_too_late"}, /* 2036 typed for 2026 */
        {OFFICE_TODAY " - 43", "date_too_early"},
        {"date '1991-01-01'", "date_too_early"},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        testenv_sql_date(testenv, refused[i][0], day);
        testenv_call_error(testenv, sw, "POST", "/api/v1/people",
                           unborn_body(body, sizeof(body), "Warrender", mother, day), 400, refused[i][1],
                           "expected_delivery_date");
    }
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM records.people"), people);
    /* The limits themselves are taken: a pregnancy's length ahead, a birth not yet recorded. */
    testenv_sql_date(testenv, OFFICE_TODAY " + 308", day);
    add_person(sw, unborn_body(body, sizeof(body), "Warrender", mother, day), baby);
    testenv_sql_date(testenv, OFFICE_TODAY " - 42", day);
    add_person(sw, unborn_body(body, sizeof(body), "Warrender", mother, day), baby);

    /* Due on or before the mother's date of birth (a slip on hers or on this): refused, without
     * saying her date, which the caller may not be allowed to see. */
    testenv_sql_date(testenv, OFFICE_TODAY " - 5", dob);
    snprintf(body, sizeof(body),
             "{\"legal_name\":{\"given\":\"Ivy\",\"family\":\"Youngman\"},\"gender\":\"female\","
             "\"date_of_birth\":\"%s\"}",
             dob);
    add_person(sw, body, young);
    testenv_sql_date(testenv, OFFICE_TODAY " - 20", day);
    testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/people", sw,
                                        unborn_body(body, sizeof(body), "Youngman", young, day), NULL);
    testenv_assert_error(&r, 400, "before_date_of_birth");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "error"), "field")),
                        "expected_delivery_date");
    assert_null(strstr(r.body, dob));
    testenv_response_free(&r);
    testenv_call_error(testenv, sw, "POST", "/api/v1/people",
                       unborn_body(body, sizeof(body), "Youngman", young, dob), 400, "before_date_of_birth",
                       "expected_delivery_date");
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM records.people"), people + 3);

    /* Corrected later: judged from the day the unborn child was recorded, 200 days ago, whose
     * pregnancy it is; its date, long passed, is not judged again when left as it was. */
    char recorded[16], path[96], details[400];
    testenv_sql_date(testenv, "current_date - 200", recorded);
    snprintf(sql, sizeof(sql),
             "UPDATE records.people SET created_at = (date '%s' + time '12:00') AT TIME ZONE 'UTC',"
             " expected_delivery_date = date '%s' + 50 WHERE id = %s",
             recorded, recorded, baby);
    char out[64];
    assert_int_equal(testenv_psql(testenv, NULL, sql, out, sizeof(out)), 0);
    snprintf(path, sizeof(path), "/api/v1/people/%s/details", baby);
    testenv_sql_date(testenv, "current_date - 150", day);
    snprintf(details, sizeof(details),
             "{\"legal_name\":{\"given\":\"Rosa\",\"family\":\"Warrender\"},\"other_names\":[],"
             "\"date_of_birth\":null,\"gender\":\"female\",\"expected_delivery_date\":\"%s\"}",
             day);
    json_decref(testenv_call_json(testenv, sw, "PUT", path, details, 200));
    static const char *const corrections[][2] = {
        {" + 309", "date_too_late"},
        {" - 43", "date_too_early"},
    };
    for (size_t i = 0; i < 2; i++) {
        char expr[64];
        snprintf(expr, sizeof(expr), "date '%s'%s", recorded, corrections[i][0]);
        testenv_sql_date(testenv, expr, day);
        snprintf(details, sizeof(details),
                 "{\"legal_name\":{\"given\":\"Rosa\",\"family\":\"Warrender\"},\"other_names\":[],"
                 "\"date_of_birth\":null,\"gender\":\"female\",\"expected_delivery_date\":\"%s\"}",
                 day);
        r = testenv_http(testenv, "PUT", path, sw, details, NULL);
        testenv_assert_error(&r, 400, corrections[i][1]);
        assert_non_null(strstr(r.body, recorded)); /* the day it is counted from */
        testenv_response_free(&r);
    }
    /* The mother's date of birth, corrected to after the date: a new date must still be after it. */
    snprintf(sql, sizeof(sql), "UPDATE records.people SET date_of_birth = date '%s' - 30 WHERE id = %s",
             recorded, mother);
    assert_int_equal(testenv_psql(testenv, NULL, sql, out, sizeof(out)), 0);
    snprintf(details, sizeof(details), "date '%s' - 40", recorded);
    testenv_sql_date(testenv, details, day);
    snprintf(details, sizeof(details),
             "{\"legal_name\":{\"given\":\"Rosa\",\"family\":\"Warrender\"},\"other_names\":[],"
             "\"date_of_birth\":null,\"gender\":\"female\",\"expected_delivery_date\":\"%s\"}",
             day);
    testenv_call_error(testenv, sw, "PUT", path, details, 400, "before_date_of_birth",
                       "expected_delivery_date");
    snprintf(sql, sizeof(sql), "SELECT expected_delivery_date - date '%s' FROM records.people WHERE id = %s",
             recorded, baby);
    assert_int_equal(testenv_sql_long(testenv, sql), 50);
    /* A date within the pregnancy, though months ago, is the correction it is. */
    snprintf(details, sizeof(details), "date '%s' - 20", recorded);
    testenv_sql_date(testenv, details, day);
    snprintf(details, sizeof(details),
             "{\"legal_name\":{\"given\":\"Rosa\",\"family\":\"Warrender\"},\"other_names\":[],"
             "\"date_of_birth\":null,\"gender\":\"female\",\"expected_delivery_date\":\"%s\"}",
             day);
    json_t *p = testenv_call_json(testenv, sw, "PUT", path, details, 200);
    assert_string_equal(testenv_str(p, "expected_delivery_date"), day);
    json_decref(p);
    free(sw);
}

/* An involvement is dated between the person's birth and today. One ended tomorrow (2027-01-31 for
 * a case still open) closed the case on paper, and the record was flagged for retention while
 * open; one before the birth gave a retention date already passed. Work before a birth is recorded
 * on the unborn child's record, and stays there when the birth is recorded. */
static void test_an_involvement_is_dated_from_the_birth_to_today_and_an_end_to_come_is_refused(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char id[32], path[128], body[400], tomorrow[16], today[16], iid[32], sql[200];
    testenv_sql_date(testenv, OFFICE_TODAY " + 1", tomorrow);
    testenv_sql_date(testenv, OFFICE_TODAY, today);
    add_person(sw,
               "{\"legal_name\":{\"given\":\"Otto\",\"family\":\"Brindle\"},\"gender\":\"male\","
               "\"date_of_birth\":\"2015-03-21\"}",
               id);
    snprintf(path, sizeof(path), "/api/v1/people/%s/involvements", id);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM records.involvements WHERE person_id = %s", id);
    testenv_response_t r =
        testenv_http(testenv, "POST", path, sw,
                     "{\"service\":\"CSSW\",\"kind\":\"child-in-need\",\"start_date\":\"2015-03-20\"}", NULL);
    testenv_assert_error(&r, 400, "before_date_of_birth");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "error"), "field")),
                        "start_date");
    assert_non_null(strstr(r.body, "2015-03-21"));
    testenv_response_free(&r);
    snprintf(
        body, sizeof(body),
        "{\"service\":\"CSSW\",\"kind\":\"child-in-need\",\"start_date\":\"2024-01-01\",\"end_date\":\"%s\"}",
        tomorrow);
    testenv_call_error(testenv, sw, "POST", path, body, 400, "date_in_future", "end_date");
    assert_int_equal(testenv_sql_long(testenv, sql), 0);
    /* On the day of birth, and ended today: taken. */
    snprintf(body, sizeof(body),
             "{\"service\":\"EH\",\"kind\":\"early-help\",\"start_date\":\"2015-03-21\",\"end_date\":\"%s\"}",
             today);
    json_decref(testenv_call_json(testenv, sw, "POST", path, body, 201));
    json_t *open = testenv_call_json(
        testenv, sw, "POST", path,
        "{\"service\":\"CSSW\",\"kind\":\"child-in-need\",\"start_date\":\"2024-01-01\"}", 201);
    snprintf(iid, sizeof(iid), "%s", testenv_str(open, "id"));
    json_decref(open);
    /* Ending it tomorrow is refused and leaves it open: the case is open, so no retention flag. */
    char end[160], retention[128];
    snprintf(end, sizeof(end), "/api/v1/people/%s/involvements/%s/end", id, iid);
    snprintf(body, sizeof(body), "{\"end_date\":\"%s\"}", tomorrow);
    testenv_call_error(testenv, sw, "POST", end, body, 400, "date_in_future", "end_date");
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM records.involvements WHERE id = %s AND end_date IS NULL",
             iid);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    snprintf(retention, sizeof(retention), "/api/v1/people/%s/retention/CSSW", id);
    testenv_call_error(testenv, sw, "PUT", retention, "{\"criterion\":\"cssw-child-in-need\"}", 409,
                       "case_open", NULL);
    json_t *ended = testenv_call_json(testenv, sw, "POST", end, "{}", 200);
    assert_string_equal(testenv_str(ended, "end_date"), today);
    json_decref(ended);

    /* Before the birth: work with the unborn child, kept when the birth is recorded. */
    char mother[32], baby[32], edd[16], before[16], day_before[16];
    add_person(sw,
               "{\"legal_name\":{\"given\":\"Nora\",\"family\":\"Brindle\"},\"gender\":\"female\","
               "\"date_of_birth\":\"1995-05-05\"}",
               mother);
    testenv_sql_date(testenv, OFFICE_TODAY " + 10", edd);
    testenv_sql_date(testenv, OFFICE_TODAY " - 30", before);
    testenv_sql_date(testenv, OFFICE_TODAY " - 1", day_before);
    add_person(sw, unborn_body(body, sizeof(body), "Brindle", mother, edd), baby);
    snprintf(path, sizeof(path), "/api/v1/people/%s/involvements", baby);
    snprintf(body, sizeof(body), "{\"service\":\"CSSW\",\"kind\":\"child-protection\",\"start_date\":\"%s\"}",
             before);
    json_decref(testenv_call_json(testenv, sw, "POST", path, body, 201));
    char birth[128];
    snprintf(birth, sizeof(birth), "/api/v1/people/%s/birth", baby);
    snprintf(body, sizeof(body),
             "{\"legal_name\":{\"given\":\"Pip\",\"family\":\"Brindle\"},\"gender\":\"male\","
             "\"date_of_birth\":\"%s\"}",
             today);
    json_decref(testenv_call_json(testenv, sw, "PUT", birth, body, 200));
    json_t *list = testenv_call_json(testenv, sw, "GET", path, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
    assert_string_equal(testenv_str(json_array_get(json_object_get(list, "items"), 0), "start_date"), before);
    json_decref(list);
    snprintf(body, sizeof(body), "{\"service\":\"EH\",\"kind\":\"early-help\",\"start_date\":\"%s\"}",
             day_before);
    testenv_call_error(testenv, sw, "POST", path, body, 400, "before_date_of_birth", "start_date");
    free(sw);
}

/* A case note's occurred_at is a date-time with its offset (API.md): 2026-06-01 alone was taken and
 * kept as midnight UTC. It is not before the person was born (the day in the office's time zone), nor
 * before 1990 (1 January 1970 was kept as 'now'), nor in the future. Nothing refused is recorded. */
static void test_a_case_note_happened_at_a_date_time_with_its_offset_between_the_birth_and_now(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char child[32], adult[32], path[96], sql[160];
    add_person(sw,
               "{\"legal_name\":{\"given\":\"Wren\",\"family\":\"Notewell\"},\"gender\":\"female\","
               "\"date_of_birth\":\"2015-03-21\"}",
               child);
    add_person(sw, "{\"legal_name\":{\"given\":\"Abel\",\"family\":\"Notewell\"},\"gender\":\"male\"}",
               adult);
    static const char *const refused[][3] = {
        {"2026-06-01", "invalid_date", "c"},
        {"2026-06-01T10:00:00", "invalid_date", "c"},
        {"2015-03-20T12:00:00Z", "before_date_of_birth", "c"},
        {"2999-01-01T00:00:00Z", "date_in_future", "c"},
        {"1989-12-31T23:59:59Z", "date_too_early", "a"},
        {"1970-01-01T00:00:00Z", "date_too_early", "a"},
        {"1970-01-01T01:00:00+01:00", "date_too_early", "a"},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        char body[200];
        snprintf(path, sizeof(path), "/api/v1/people/%s/case-notes", refused[i][2][0] == 'c' ? child : adult);
        snprintf(body, sizeof(body), "{\"type\":\"visit\",\"title\":\"Visit\",\"occurred_at\":\"%s\"}",
                 refused[i][0]);
        testenv_call_error(testenv, sw, "POST", path, body, 400, refused[i][1], "occurred_at");
    }
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM records.case_notes WHERE person_id IN (%s, %s)", child,
             adult);
    assert_int_equal(testenv_sql_long(testenv, sql), 0);
    /* On the day of birth in the office: 23:30 the day before at UTC-1 is 00:30 on it in London. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/case-notes", child);
    json_t *n = testenv_call_json(
        testenv, sw, "POST", path,
        "{\"type\":\"visit\",\"title\":\"Birth\",\"occurred_at\":\"2015-03-20T23:30:00-01:00\"}", 201);
    assert_string_equal(testenv_str(n, "occurred_at"), "2015-03-21T00:30:00.000Z");
    json_decref(n);
    snprintf(path, sizeof(path), "/api/v1/people/%s/case-notes", adult);
    n = testenv_call_json(testenv, sw, "POST", path,
                          "{\"type\":\"visit\",\"title\":\"Old\",\"occurred_at\":\"1990-01-01T00:00:00Z\"}",
                          201);
    assert_string_equal(testenv_str(n, "occurred_at"), "1990-01-01T00:00:00.000Z");
    json_decref(n);
    free(sw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nhs_numbers_with_a_wrong_check_digit_or_check_digit_10_are_refused),
        cmocka_unit_test(test_entry_rules_for_dates_unborn_children_and_duplicates),
        cmocka_unit_test(test_fuzzy_name_search_finds_misspellings_and_an_id_goes_straight_to_the_person),
        cmocka_unit_test(test_a_search_comes_a_page_at_a_time_and_every_match_once),
        cmocka_unit_test(test_paging_through_many_people_of_the_same_name_shows_each_of_them_once),
        cmocka_unit_test(test_authorisation_matrix_of_every_role_against_restricted_and_allocated_records),
        cmocka_unit_test(test_lifting_a_restriction_opens_the_record_again),
        cmocka_unit_test(test_a_relationship_is_kept_with_its_inverse_on_both_records),
        cmocka_unit_test(test_case_notes_are_recorded_read_and_kept_from_those_without_access),
        cmocka_unit_test(test_a_case_note_recorded_in_error_is_removed_by_system_support),
        cmocka_unit_test(test_a_declared_conflict_of_interest_keeps_the_record_from_that_worker),
        cmocka_unit_test(test_a_worker_kept_out_by_their_own_declared_conflict_is_told_it_is_their_conflict),
        cmocka_unit_test(
            test_merging_two_people_keeps_every_relationship_allocation_and_case_note_on_the_survivor),
        cmocka_unit_test(test_the_manager_of_an_allocated_worker_keeps_access_to_a_restricted_record),
        cmocka_unit_test(test_an_allocation_already_open_or_to_a_leaver_is_refused_and_a_merge_keeps_one),
        cmocka_unit_test(test_a_manager_kept_out_of_a_restricted_record_cannot_end_its_allocations),
        cmocka_unit_test(test_people_allocated_to_a_key_worker_who_has_left_are_listed_until_reallocated),
        cmocka_unit_test(
            test_a_key_workers_team_does_not_keep_access_to_a_restricted_record_a_team_allocation_does),
        cmocka_unit_test(
            test_service_involvements_are_recorded_ended_shown_on_the_summary_and_kept_from_those_without_access),
        cmocka_unit_test(test_a_persons_details_are_corrected_audited_followed_by_their_work_and_checked),
        cmocka_unit_test(test_restrictions_whose_review_date_has_come_are_listed_for_system_support),
        cmocka_unit_test(test_a_restriction_names_only_current_workers_once_and_a_review_date_to_come),
        cmocka_unit_test(test_the_birth_of_an_unborn_child_is_recorded_on_their_record),
        cmocka_unit_test(test_a_worker_refused_a_restricted_record_asks_system_support_for_access),
        cmocka_unit_test(test_a_duplicate_nhs_number_on_a_record_the_caller_cannot_open_names_no_one),
        cmocka_unit_test(test_a_restricted_person_is_found_by_display_name_only_by_those_without_access),
        cmocka_unit_test(test_a_control_character_in_a_case_note_or_a_birth_before_1900_is_refused),
        cmocka_unit_test(test_an_expected_date_of_delivery_is_within_a_pregnancy_and_after_the_mothers_birth),
        cmocka_unit_test(test_an_involvement_is_dated_from_the_birth_to_today_and_an_end_to_come_is_refused),
        cmocka_unit_test(test_a_case_note_happened_at_a_date_time_with_its_offset_between_the_birth_and_now),
    };
    return cmocka_run_group_tests(tests, testenv_group_setup, testenv_group_teardown);
}
