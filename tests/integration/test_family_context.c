/* Issue 9, Family Context (seed 004), through HTTP against the real daemons: both journeys and each
 * search mode, the age rules per source, a source file loaded whole or not at all, restricted
 * records, and the audit of every search and view with the worker's reason. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tsr_testenv.h"

#define REASON "X-Access-Reason: Family Context check for strategy meeting"

static json_t *get(const char *token, const char *path, long status)
{
    return testenv_call_json_with(testenv, token, "GET", path, NULL, REASON, status);
}

static void expect_error(const char *token, const char *path, long status, const char *code)
{
    testenv_response_t r = testenv_http(testenv, "GET", path, token, NULL, REASON);
    testenv_assert_error(&r, status, code);
    testenv_response_free(&r);
}

/* The source of that key (and external or not) in a Family Context view. */
static json_t *source(json_t *view, const char *key, int external)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(view, "sources"), i, s)
    {
        if (strcmp(json_string_value(json_object_get(s, "key")), key) == 0 &&
            json_is_true(json_object_get(s, "external")) == external)
            return s;
    }
    fail_msg("no source %s in the view", key);
    return NULL;
}

static size_t records_of(json_t *view, const char *key, int external)
{
    return json_array_size(json_object_get(source(view, key, external), "records"));
}

static const char *withheld(json_t *view, const char *key, int external)
{
    return json_string_value(json_object_get(source(view, key, external), "withheld"));
}

static json_t *view_of(const char *token, const char *id)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/family-context/people/%s", id);
    return get(token, path, 200);
}

/* Restarts the records daemon with the journey and search modes given (NULL: the default). */
static void restart_records(const char *journey, const char *modes)
{
    if (journey)
        setenv("TESSERA_FAMILY_CONTEXT_JOURNEY", journey, 1);
    else
        unsetenv("TESSERA_FAMILY_CONTEXT_JOURNEY");
    if (modes)
        setenv("TESSERA_FAMILY_CONTEXT_SEARCH_MODES", modes, 1);
    else
        unsetenv("TESSERA_FAMILY_CONTEXT_SEARCH_MODES");
    testenv_kill(testenv, "records", SIGTERM);
    assert_int_equal(testenv_wait_exit(testenv, "records", 15000), 0);
    testenv_restart(testenv, "records");
}

static void add_person_no_birth(const char *token, const char *given, const char *family, char id[32])
{
    testenv_add_person(testenv, token, given, family, "", id);
}

static void date_years_ago(int years, char out[16])
{
    char expr[96];
    snprintf(expr, sizeof(expr), "(current_date - interval '%d years' - interval '20 days')::date", years);
    testenv_sql_date(testenv, expr, out);
}

static int import(const char *source, const char *name, const char *csv, char *out, size_t size)
{
    char *path = testenv_write_file(testenv, name, csv);
    char args[1024];
    snprintf(args, sizeof(args),
             "import family-context %s %s --coverage-from 2020-09-01 --coverage-to 2026-07-31"
             " --contact-name 'Dana Pryce' --contact-role 'Data officer' --contact-telephone '0161 496 0000'"
             " --contact-email dana.pryce@example.org",
             source, path);
    free(path);
    return testenv_run_tool(testenv, args, out, size);
}

static void test_name_search_is_fuzzy_ranked_and_finds_people_with_no_date_of_birth(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char *kw = testenv_login(testenv, "key.worker");
    char child[32], undated[32], other[32], path[256];
    testenv_add_person(testenv, sw, "Marisol", "Quenneville", "2015-04-03", child);
    add_person_no_birth(sw, "Marisol", "Quenneville", undated);
    testenv_add_person(testenv, sw, "Marisol", "Quenneville", "1990-01-01", other);

    /* Misspelt, and with the date: the one born that day first, the undated one after, marked; the
     * one born another day is not among them. */
    json_t *j = get(kw, "/api/v1/family-context/search?name=marisol%20quenevile&dob=2015-04-03", 200);
    assert_string_equal(json_string_value(json_object_get(j, "match")), "candidates");
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "id")), child);
    assert_true(json_is_false(json_object_get(json_array_get(items, 0), "date_of_birth_missing")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 1), "id")), undated);
    assert_true(json_is_true(json_object_get(json_array_get(items, 1), "date_of_birth_missing")));
    json_decref(j);

    /* A missing part (the given name only of a longer name) and no date: all three. */
    j = get(kw, "/api/v1/family-context/search?name=Quenneville", 200);
    assert_true(json_array_size(json_object_get(j, "items")) >= 3);
    json_decref(j);

    /* A case ID is a direct match: no list to choose from. */
    snprintf(path, sizeof(path), "/api/v1/family-context/search?case_id=%s", child);
    j = get(kw, path, 200);
    assert_string_equal(json_string_value(json_object_get(j, "match")), "direct");
    assert_null(json_object_get(j, "items"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "person"), "id")), child);
    assert_string_equal(json_string_value(json_object_get(j, "journey")), "any-individual");
    json_decref(j);

    /* A page at a time, with the date: the one born that day, then the undated one; the same two
     * as the whole list, in its order, the last page without a cursor. */
    j = get(kw, "/api/v1/family-context/search?name=marisol%20quenevile&dob=2015-04-03&limit=1", 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "items"), 0), "id")), child);
    snprintf(path, sizeof(path),
             "/api/v1/family-context/search?name=marisol%%20quenevile&dob=2015-04-03"
             "&limit=1&cursor=%s",
             json_string_value(json_object_get(j, "next_cursor")));
    json_decref(j);
    j = get(kw, path, 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "items"), 0), "id")), undated);
    assert_true(json_is_null(json_object_get(j, "next_cursor")));
    json_decref(j);
    /* And by name alone, two a page: every one of the three once. */
    int seen[3] = {0}, pages = 0;
    const char *ids[3] = {child, undated, other};
    char cursor[32] = "";
    do {
        snprintf(path, sizeof(path), "/api/v1/family-context/search?name=quenneville&limit=2%s%s",
                 cursor[0] ? "&cursor=" : "", cursor);
        j = get(kw, path, 200);
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(j, "items"), i, item)
        {
            for (int k = 0; k < 3; k++)
                seen[k] += strcmp(json_string_value(json_object_get(item, "id")), ids[k]) == 0;
        }
        json_t *next = json_object_get(j, "next_cursor");
        snprintf(cursor, sizeof(cursor), "%s", json_is_string(next) ? json_string_value(next) : "");
        json_decref(j);
    } while (cursor[0] && ++pages < 10);
    for (int k = 0; k < 3; k++)
        assert_int_equal(seen[k], 1);
    expect_error(kw, "/api/v1/family-context/search?name=quenneville&cursor=-2", 400, "invalid_cursor");

    expect_error(kw, "/api/v1/family-context/search?case_id=999999999", 404, "not_found");
    expect_error(kw, "/api/v1/family-context/search?case_id=12ab", 400, "invalid_case_id");
    expect_error(kw, "/api/v1/family-context/search", 400, "missing_field");
    expect_error(kw, "/api/v1/family-context/search?name=ann&dob=2015-13-01", 400, "invalid_date");
    snprintf(path, sizeof(path), "/api/v1/family-context/search?case_id=%s&name=marisol", child);
    expect_error(kw, path, 400, "conflicting_search");
    free(sw);
    free(kw);
}

/* Every Quillby is as near to 'quillby' as every other, with a date of birth or without: a page at
 * a time shows each of them once, and no one is left off. */
static void test_paging_through_a_name_search_shows_each_person_of_that_name_once(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    enum { N = 25 };
    char ids[N][32];
    for (int i = 0; i < N; i++) {
        char given[32], dob[16];
        snprintf(given, sizeof(given), "Pager%d", i + 1);
        snprintf(dob, sizeof(dob), "2010-01-0%d", i % 9 + 1);
        testenv_add_person(testenv, sw, given, "Quillby", i % 5 == 0 ? "" : dob, ids[i]);
    }
    const char *searches[2] = {"name=quillby", "name=quillby&dob=2010-01-01"};
    for (int q = 0; q < 2; q++) {
        int seen[N] = {0}, shown = 0, pages = 0;
        char cursor[64] = "", path[256];
        do {
            snprintf(path, sizeof(path), "/api/v1/family-context/search?%s&limit=%d%s%s", searches[q],
                     q == 0 ? 10 : 2, cursor[0] ? "&cursor=" : "", cursor);
            json_t *j = get(sw, path, 200);
            size_t i;
            json_t *item;
            json_array_foreach(json_object_get(j, "items"), i, item)
            {
                shown++;
                for (int k = 0; k < N; k++)
                    seen[k] += strcmp(json_string_value(json_object_get(item, "id")), ids[k]) == 0;
            }
            json_t *next = json_object_get(j, "next_cursor");
            snprintf(cursor, sizeof(cursor), "%s", json_is_string(next) ? json_string_value(next) : "");
            json_decref(j);
        } while (cursor[0] && ++pages < 20);
        /* By name: all 25. With a date: the 2 born that day and the 5 with none recorded. */
        assert_int_equal(shown, q == 0 ? N : 7);
        for (int k = 0; k < N; k++) {
            int expected = q == 0 || k % 5 == 0 || k % 9 == 0;
            if (seen[k] != expected)
                fail_msg("%s: Pager%d was shown %d times", searches[q], k + 1, seen[k]);
        }
    }
    free(sw);
}

static void test_sources_show_their_contact_and_the_age_rules_hide_what_they_should(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char *kw = testenv_login(testenv, "key.worker");
    char child[32], adult[32], undated[32], ten[16], forty[16], csv[2048], out[4096];
    date_years_ago(10, ten);
    date_years_ago(40, forty);
    testenv_add_person(testenv, sw, "Tobiah", "Wrenfield", ten, child);
    testenv_add_person(testenv, sw, "Corinna", "Wrenfield", forty, adult);
    add_person_no_birth(sw, "Lysander", "Wrenfield", undated);

    /* School knows the child by case ID and the adult by name and date of birth; police know both,
     * and the undated man once with a date of birth of their own and once without. */
    snprintf(csv, sizeof(csv),
             "Case ID,Given name,Family name,Date of birth,Title,Detail,Start date,End date\n"
             "%s,,,,Attendance,Attendance 82%% this term,2025-09-01,\n"
             ",Corinna,Wrenfield,%s,Former pupil,Left 2002,1996-09-01,2002-07-20\n",
             child, forty);
    assert_int_equal(import("school", "school.csv", csv, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "Loaded 2 school records"));
    snprintf(csv, sizeof(csv),
             "case_id,given_name,family_name,date_of_birth,title,detail,start_date,end_date\n"
             "%s,,,,Missing episode,Returned the same evening,2025-10-02,2025-10-02\n"
             "%s,,,,Domestic incident,Attended by officers,2025-11-12,\n"
             "%s,,,%s,Arrest,Released under investigation,2025-06-01,\n"
             "%s,,,,Caution,,2024-01-05,\n",
             child, adult, undated, forty, undated);
    assert_int_equal(import("police", "police.csv", csv, out, sizeof(out)), 0);

    json_t *v = view_of(kw, child);
    assert_int_equal(records_of(v, "school", 1), 1);
    json_t *school = source(v, "school", 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(school, "contact"), "name")),
                        "Dana Pryce");
    assert_string_equal(json_string_value(json_object_get(json_object_get(school, "contact"), "email")),
                        "dana.pryce@example.org");
    assert_string_equal(json_string_value(json_object_get(json_object_get(school, "coverage"), "from")),
                        "2020-09-01");
    assert_non_null(json_string_value(json_object_get(school, "last_synchronised")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(school, "age_rule"), "min")), 4);
    /* Police: 18 and over; the child's missing episode is not shown, nor is its existence. */
    assert_int_equal(records_of(v, "police", 1), 0);
    assert_string_equal(withheld(v, "police", 1), "outside-age-rule");
    json_decref(v);

    v = view_of(kw, adult);
    assert_int_equal(records_of(v, "police", 1), 1);
    assert_null(withheld(v, "police", 1));
    /* School: 4 to 20; the adult's school years are not shown. */
    assert_int_equal(records_of(v, "school", 1), 0);
    assert_string_equal(withheld(v, "school", 1), "outside-age-rule");
    assert_true(json_is_false(json_object_get(json_object_get(v, "person"), "date_of_birth_missing")));
    json_decref(v);

    /* No date of birth in records: the police's own date for the arrest decides it; the caution,
     * with no date of birth anywhere, is not shown. */
    v = view_of(kw, undated);
    assert_true(json_is_true(json_object_get(json_object_get(v, "person"), "date_of_birth_missing")));
    json_t *police = json_object_get(source(v, "police", 1), "records");
    assert_int_equal(json_array_size(police), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(police, 0), "title")), "Arrest");
    assert_string_equal(json_string_value(json_object_get(json_array_get(police, 0), "matched_by")),
                        "case-id");
    assert_string_equal(withheld(v, "housing", 1), "age-unknown");
    json_decref(v);

    /* The search says which sources know a candidate, age rules applied. */
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/family-context/search?case_id=%s", child);
    v = get(kw, path, 200);
    json_t *known = json_object_get(json_object_get(v, "person"), "known_to");
    assert_int_equal(json_array_size(known), 1);
    assert_string_equal(json_string_value(json_array_get(known, 0)), "school");
    json_decref(v);
    free(sw);
    free(kw);
}

static void test_a_malformed_source_file_is_rejected_by_line_and_the_old_data_stays(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char *kw = testenv_login(testenv, "key.worker");
    char tenant[32], forty[16], csv[2048], out[8192];
    date_years_ago(40, forty);
    testenv_add_person(testenv, sw, "Ottoline", "Brackenbury", forty, tenant);
    snprintf(csv, sizeof(csv), "Case ID,Title,Detail,Start date\n%s,Tenancy,Flat 4 Mill Court,2019-03-01\n",
             tenant);
    assert_int_equal(import("housing", "housing.csv", csv, out, sizeof(out)), 0);
    long before =
        testenv_sql_long(testenv, "SELECT count(*) FROM records.fc_records WHERE source = 'housing'");
    assert_true(before >= 1);

    /* Line 3 has a date that is not one, line 4 names no one, line 5 a bad NHS number and no title;
     * line 2 is good. Every fault is named, and nothing changes. */
    snprintf(csv, sizeof(csv),
             "Case ID,NHS number,Title,Start date\n"
             "%s,,Rent arrears,2025-01-01\n"
             "%s,,Eviction notice,2025-02-30\n"
             ",,Tenancy,2025-01-01\n"
             ",1234567890,,2025-01-01\n",
             tenant, tenant);
    assert_int_equal(import("housing", "bad.csv", csv, out, sizeof(out)), 2);
    assert_non_null(strstr(out, "line 3: the start date '2025-02-30' is not a date"));
    assert_non_null(strstr(out, "line 4: the row names no one"));
    assert_non_null(strstr(out, "line 5: the NHS number '1234567890' is not a valid NHS number"));
    assert_non_null(strstr(out, "line 5: the title (what the record is) is empty"));
    assert_null(strstr(out, "line 2:"));
    assert_non_null(strstr(out, "nothing was loaded"));
    assert_int_equal(
        testenv_sql_long(testenv, "SELECT count(*) FROM records.fc_records WHERE source = 'housing'"),
        before);
    json_t *v = view_of(kw, tenant);
    json_t *housing = json_object_get(source(v, "housing", 1), "records");
    assert_int_equal(json_array_size(housing), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(housing, 0), "title")), "Tenancy");
    json_decref(v);

    /* A case ID that is no one's, a row with too many fields, an unknown source. */
    assert_int_equal(
        import("housing", "bad2.csv", "Case ID,Title\n999999999,Tenancy\n1,2,3\n", out, sizeof(out)), 2);
    assert_non_null(strstr(out, ":3: the row has 3 fields where the header has 2"));
    assert_int_equal(import("housing", "bad3.csv", "Case ID,Title\n999999999,Tenancy\n", out, sizeof(out)),
                     2);
    assert_non_null(strstr(out, "line 2: the case ID 999999999 is no one's in records"));
    /* Faults come in the file's order, whichever check found them. */
    assert_int_equal(import("housing", "bad5.csv",
                            "Case ID,Title,Start date\n999999999,Tenancy,\n1,Tenancy,2025-13-01\n", out,
                            sizeof(out)),
                     2);
    char *second = strstr(out, "line 2:"), *third = strstr(out, "line 3:");
    assert_non_null(second);
    assert_non_null(third);
    assert_true(second < third);
    assert_int_equal(import("weather", "bad4.csv", "Case ID,Title\n1,Tenancy\n", out, sizeof(out)), 2);
    assert_non_null(strstr(out, "'weather' is not a Family Context source"));
    assert_int_equal(
        testenv_sql_long(testenv, "SELECT count(*) FROM records.fc_records WHERE source = 'housing'"),
        before);

    /* A good file replaces the source's records whole. */
    snprintf(csv, sizeof(csv), "Case ID,Title,Start date\n%s,Rent arrears,2025-01-01\n", tenant);
    assert_int_equal(import("housing", "good.csv", csv, out, sizeof(out)), 0);
    v = view_of(kw, tenant);
    housing = json_object_get(source(v, "housing", 1), "records");
    assert_int_equal(json_array_size(housing), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(housing, 0), "title")),
                        "Rent arrears");
    json_decref(v);
    free(sw);
    free(kw);
}

/* A row that gives only a name and date of birth that two people in records share (here a
 * restricted woman and another of the same name and date) is a guess whichever it is tied to: it is
 * shown on neither, and no search says the source knows them by it. One that only one person has
 * is theirs. */
static void test_a_name_and_date_of_birth_two_people_share_ties_a_source_row_to_neither(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char *kw = testenv_login(testenv, "key.worker");
    char *admin = testenv_login(testenv, "admin");
    char secret[32], namesake[32], only[32], thirty[16], csv[1024], out[4096], path[256];
    date_years_ago(30, thirty);
    testenv_add_person(testenv, sw, "Rhianwen", "Morgannwg", thirty, secret);
    testenv_add_person(testenv, sw, "Rhianwen", "Morgannwg", thirty, namesake);
    testenv_add_person(testenv, sw, "Gwenllian", "Morgannwg", thirty, only);
    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", secret);
    json_decref(testenv_call_json(
        testenv, admin, "PUT", path,
        "{\"reason\":\"mappa-marac-lado\",\"review_date\":\"2099-01-01\",\"workers\":[]}", 200));
    snprintf(csv, sizeof(csv),
             "Given name,Family name,Date of birth,Title,Detail,Start date,End date\n"
             "Rhianwen,Morgannwg,%s,Domestic incident,Victim of DA; MARAC referral; address withheld,"
             "2026-01-20,2026-01-20\n"
             "Gwenllian,Morgannwg,%s,Domestic incident,Attended by officers,2025-10-11,2025-10-11\n",
             thirty, thirty);
    assert_int_equal(import("police", "police-namesakes.csv", csv, out, sizeof(out)), 0);

    json_t *v = view_of(kw, namesake);
    assert_int_equal(records_of(v, "police", 1), 0);
    char *text = json_dumps(v, 0);
    assert_null(strstr(text, "MARAC"));
    free(text);
    json_decref(v);
    /* Nor on the restricted record, to one who may open it. */
    v = view_of(sw, secret);
    assert_int_equal(records_of(v, "police", 1), 0);
    json_decref(v);
    /* Only one Gwenllian: hers. */
    v = view_of(kw, only);
    json_t *police = json_object_get(source(v, "police", 1), "records");
    assert_int_equal(json_array_size(police), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(police, 0), "matched_by")),
                        "name-and-date-of-birth");
    json_decref(v);
    /* The search does not say the police know the namesake. */
    snprintf(path, sizeof(path), "/api/v1/family-context/search?case_id=%s", namesake);
    v = get(kw, path, 200);
    size_t i;
    json_t *key;
    json_array_foreach(json_object_get(json_object_get(v, "person"), "known_to"), i, key)
    {
        if (strcmp(json_string_value(key), "police") == 0)
            fail_msg("the search says the police know %s", namesake);
    }
    json_decref(v);
    free(sw);
    free(kw);
    free(admin);
}

static void test_restricted_people_show_only_their_display_name_and_every_read_is_audited(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char *kw = testenv_login(testenv, "key.worker");
    char *admin = testenv_login(testenv, "admin");
    char secret[32], open[32], path[256];
    json_t *added = testenv_call_json(testenv, sw, "POST", "/api/v1/people",
                                      "{\"legal_name\":{\"given\":\"Peregrine\",\"family\":\"Ashdown-Vale\"},"
                                      "\"other_names\":[\"Wilhelmina Drakesby\"],\"gender\":\"male\","
                                      "\"date_of_birth\":\"2012-06-06\"}",
                                      201);
    snprintf(secret, sizeof(secret), "%s", testenv_str(added, "id"));
    json_decref(added);
    testenv_add_person(testenv, sw, "Rosalind", "Ashdown-Vale", "2012-06-06", open);
    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", secret);
    testenv_response_t r =
        testenv_http(testenv, "PUT", path, admin,
                     "{\"reason\":\"high-risk\",\"review_date\":\"2099-01-01\",\"workers\":[]}", NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);

    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    long entries_secret =
        testenv_sql_long(testenv, "SELECT count(*) FROM audit.entries WHERE record_kind = 'person'"
                                  " AND action = 'search'");
    /* By the name alone, the restricted one is there by display name only. */
    json_t *j = get(kw, "/api/v1/family-context/search?name=ashdown-vale", 200);
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 2);
    int seen_secret = 0;
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        if (strcmp(json_string_value(json_object_get(item, "id")), secret) != 0)
            continue;
        seen_secret = 1;
        assert_true(json_is_true(json_object_get(item, "name_only")));
        assert_string_equal(json_string_value(json_object_get(item, "display_name")),
                            "Peregrine Ashdown-Vale");
        assert_null(json_object_get(item, "date_of_birth"));
        assert_null(json_object_get(item, "legal_name"));
        assert_null(json_object_get(item, "known_to"));
    }
    assert_true(seen_secret);
    json_decref(j);
    /* Nothing hidden finds them: with a date of birth they are not there, whether it is theirs or not
     * (the answer cannot confirm it), and their other name finds no one. */
    const char *hidden[3] = {"name=ashdown-vale&dob=2012-06-06", "name=ashdown-vale&dob=2012-06-07",
                             "name=wilhelmina%20drakesby"};
    for (int q = 0; q < 3; q++) {
        snprintf(path, sizeof(path), "/api/v1/family-context/search?%s", hidden[q]);
        j = get(kw, path, 200);
        json_array_foreach(json_object_get(j, "items"), i, item)
        {
            if (strcmp(json_string_value(json_object_get(item, "id")), secret) == 0)
                fail_msg("searching %s found the restricted person", hidden[q]);
        }
        assert_int_equal(json_array_size(json_object_get(j, "items")), q == 0 ? 1 : 0);
        json_decref(j);
    }
    /* Someone with access finds them by the other name and the date of birth, in full. */
    j = get(sw, "/api/v1/family-context/search?name=wilhelmina%20drakesby&dob=2012-06-06", 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    item = json_array_get(json_object_get(j, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(item, "id")), secret);
    assert_string_equal(json_string_value(json_object_get(item, "date_of_birth")), "2012-06-06");
    json_decref(j);
    snprintf(path, sizeof(path), "/api/v1/family-context/people/%s", secret);
    expect_error(kw, path, 403, "restricted_record");
    /* Someone on the access rule sees it all. */
    json_decref(view_of(sw, secret));

    /* Each search left one entry for each person shown in full, with the reason (the open one
     * twice, the restricted one to the worker with access once); the view one, and the refusal one. */
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    char sql[512];
    assert_int_equal(testenv_sql_long(testenv,
                                      "SELECT count(*) FROM audit.entries WHERE record_kind = 'person'"
                                      " AND action = 'search'"),
                     entries_secret + 3);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_kind = 'person' AND record_id = %s AND action "
             "= 'search'"
             " AND username = 'key.worker' AND reason = 'Family Context check for strategy meeting'"
             " AND summary LIKE '%%Family Context search%%'",
             open);
    assert_int_equal(testenv_sql_long(testenv, sql), 2);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_kind = 'person' AND record_id = %s"
             " AND username = 'key.worker'",
             secret);
    assert_int_equal(testenv_sql_long(testenv, sql), 1); /* the refused view */
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_kind = 'person' AND record_id = %s AND action "
             "= 'refused'"
             " AND username = 'key.worker' AND reason = 'Family Context check for strategy meeting'",
             secret);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_kind = 'person' AND record_id = %s AND action "
             "= 'view'"
             " AND username = 'mash.sw' AND reason = 'Family Context check for strategy meeting'"
             " AND summary LIKE 'Viewed the Family Context service involvement of %%'",
             secret);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    free(sw);
    free(kw);
    free(admin);
}

static void test_each_search_mode_allows_only_its_searches(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char child[32], path[256];
    testenv_add_person(testenv, sw, "Evander", "Moorcroft", "2016-02-02", child);
    snprintf(path, sizeof(path), "/api/v1/family-context/search?case_id=%s", child);

    restart_records(NULL, "case-id");
    char *kw = testenv_login(testenv, "key.worker");
    json_decref(get(kw, path, 200));
    expect_error(kw, "/api/v1/family-context/search?name=moorcroft&dob=2016-02-02", 400,
                 "search_mode_not_allowed");

    restart_records(NULL, "name-and-dob");
    json_t *j = get(kw, "/api/v1/family-context/search?name=moorcroft&dob=2016-02-02", 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    json_decref(j);
    expect_error(kw, path, 400, "search_mode_not_allowed");

    /* A bad setting stops the daemon at start-up, naming the key. */
    testenv_kill(testenv, "records", SIGTERM);
    assert_int_equal(testenv_wait_exit(testenv, "records", 15000), 0);
    setenv("TESSERA_FAMILY_CONTEXT_SEARCH_MODES", "by-hunch", 1);
    char cmd[1024], out[4096];
    snprintf(cmd, sizeof(cmd), "%s/tessera-records --config %s 2>&1", TSR_BIN_DIR, testenv->config);
    FILE *p = popen(cmd, "r");
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    assert_int_not_equal(WEXITSTATUS(pclose(p)), 0);
    assert_non_null(strstr(out, "family_context.search_modes must be name-and-dob, case-id or either"));
    setenv("TESSERA_FAMILY_CONTEXT_SEARCH_MODES", "either", 1);
    setenv("TESSERA_FAMILY_CONTEXT_AGE_RULES", "police:18-,pigeons:3-", 1);
    p = popen(cmd, "r");
    n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    assert_int_not_equal(WEXITSTATUS(pclose(p)), 0);
    /* The log line is JSON: the quotes round the value are escaped. */
    if (strstr(out, "family_context.age_rules: \\\"pigeons\\\" is not a source") == NULL)
        fail_msg("tessera-records said: %s", out);
    unsetenv("TESSERA_FAMILY_CONTEXT_AGE_RULES");
    unsetenv("TESSERA_FAMILY_CONTEXT_SEARCH_MODES");
    testenv_restart(testenv, "records");
    free(sw);
    free(kw);
}

static void test_linked_individuals_journey_starts_from_a_child_on_the_caseload(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char *admin = testenv_login(testenv, "admin");
    char child[32], mother[32], uncle[32], stranger[32], path[256], body[256], forty[16];
    date_years_ago(40, forty);
    testenv_add_person(testenv, sw, "Isadora", "Penhallow", "2017-08-08", child);
    testenv_add_person(testenv, sw, "Morwenna", "Penhallow", forty, mother);
    add_person_no_birth(sw, "Jago", "Penhallow", uncle);
    testenv_add_person(testenv, sw, "Tamsin", "Penhallow", "2017-08-08", stranger);
    snprintf(path, sizeof(path), "/api/v1/people/%s/relationships", child);
    snprintf(body, sizeof(body), "{\"person_id\":\"%s\",\"type\":\"parent\"}", mother);
    testenv_response_t r = testenv_http(testenv, "POST", path, sw, body, NULL);
    assert_int_equal(r.status, 201);
    testenv_response_free(&r);
    /* The child is allocated to the key worker in children's social care: on their caseload (seed
     * 004: "any child on their case load"), not on everyone's. */
    char *kw = testenv_login(testenv, "key.worker");
    char kw_id[32];
    snprintf(kw_id, sizeof(kw_id), "%ld",
             testenv_sql_long(testenv, "SELECT id FROM accounts.workers WHERE username = 'key.worker'"));
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations", child);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%s\",\"role\":\"key-worker\",\"service\":\"CSSW\"}",
             kw_id);
    r = testenv_http(testenv, "POST", path, admin, body, NULL);
    assert_int_equal(r.status, 201);
    testenv_response_free(&r);

    restart_records("linked-individuals", "either");
    free(kw);
    kw = testenv_login(testenv, "key.worker");
    /* Another worker, whose caseload the child is not on, finds no one and may not start from it. */
    char *eh = testenv_login(testenv, "eh.worker");
    json_t *none = get(eh, "/api/v1/family-context/search?name=penhallow&dob=2017-08-08", 200);
    assert_int_equal(json_array_size(json_object_get(none, "items")), 0);
    json_decref(none);
    snprintf(path, sizeof(path), "/api/v1/family-context/search?case_id=%s", child);
    expect_error(eh, path, 404, "not_on_caseload");
    free(eh);
    /* The search finds the child on the caseload, not the other Penhallows. */
    json_t *j = get(kw, "/api/v1/family-context/search?name=penhallow&dob=2017-08-08", 200);
    assert_string_equal(json_string_value(json_object_get(j, "journey")), "linked-individuals");
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "id")), child);
    json_decref(j);
    snprintf(path, sizeof(path), "/api/v1/family-context/search?case_id=%s", stranger);
    expect_error(kw, path, 404, "not_on_caseload");
    snprintf(path, sizeof(path), "/api/v1/family-context/search?case_id=%s", child);
    j = get(kw, path, 200);
    assert_string_equal(json_string_value(json_object_get(j, "match")), "direct");
    json_decref(j);

    /* The child's view lists the mother; she may be viewed; the uncle and the stranger may not. */
    j = view_of(kw, child);
    assert_true(json_is_true(json_object_get(j, "on_caseload")));
    json_t *linked = json_object_get(j, "linked_individuals");
    assert_int_equal(json_array_size(linked), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(linked, 0), "id")), mother);
    assert_string_equal(json_string_value(json_object_get(json_array_get(linked, 0), "relationship")),
                        "parent");
    assert_int_equal(records_of(j, "childrens-social-care", 0), 1);
    json_decref(j);
    json_decref(view_of(kw, mother));
    snprintf(path, sizeof(path), "/api/v1/family-context/people/%s", uncle);
    expect_error(kw, path, 403, "not_linked");
    snprintf(path, sizeof(path), "/api/v1/family-context/people/%s", stranger);
    expect_error(kw, path, 403, "not_linked");

    /* A link made in records shows in the child's list within 2 seconds (seed 004 had 24 hours). */
    snprintf(path, sizeof(path), "/api/v1/people/%s/relationships", child);
    snprintf(body, sizeof(body), "{\"person_id\":\"%s\",\"type\":\"aunt-uncle\"}", uncle);
    r = testenv_http(testenv, "POST", path, sw, body, NULL);
    if (r.status != 201)
        fail_msg("linking: %ld %s", r.status, r.body);
    testenv_response_free(&r);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int found = 0;
    double elapsed = 0;
    while (!found && elapsed < 2.0) {
        j = view_of(kw, child);
        linked = json_object_get(j, "linked_individuals");
        size_t i;
        json_t *l;
        json_array_foreach(linked, i, l)
        {
            if (strcmp(json_string_value(json_object_get(l, "id")), uncle) == 0) {
                found = 1;
                assert_true(json_is_true(json_object_get(l, "date_of_birth_missing")));
            }
        }
        json_decref(j);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        elapsed = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        if (!found)
            usleep(50 * 1000);
    }
    assert_true(found);
    json_decref(view_of(kw, uncle));
    restart_records(NULL, NULL);
    free(sw);
    free(kw);
    free(admin);
}

/* Allocates the key worker (key.worker) to person in children's social care, as admin. */
static void allocate_key_worker(const char *admin, const char *person)
{
    char path[128], body[160];
    snprintf(body, sizeof(body), "{\"worker_id\":\"%ld\",\"role\":\"key-worker\",\"service\":\"CSSW\"}",
             testenv_sql_long(testenv, "SELECT id FROM accounts.workers WHERE username = 'key.worker'"));
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations", person);
    json_decref(testenv_call_json(testenv, admin, "POST", path, body, 201));
}

/* An unborn child is recorded against the mother (seed 003): on a pre-birth case she is the first
 * of the individuals linked to the child, with no relationship added by hand, and may be viewed. */
static void test_an_unborn_childs_mother_is_among_the_individuals_linked_to_the_child(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char *admin = testenv_login(testenv, "admin");
    char mother[32], unborn[32], edd[16], body[512], path[128];
    testenv_add_person(testenv, sw, "Chloe", "Evanson", "1999-09-09", mother);
    testenv_sql_date(testenv, "current_date + 60", edd);
    snprintf(body, sizeof(body),
             "{\"legal_name\":{\"given\":\"\",\"family\":\"Evanson\"},\"unborn\":true,\"mother_id\":\"%s\","
             "\"expected_delivery_date\":\"%s\",\"gender\":\"not-known\"}",
             mother, edd);
    json_t *added = testenv_call_json(testenv, sw, "POST", "/api/v1/people", body, 201);
    snprintf(unborn, sizeof(unborn), "%s", testenv_str(added, "id"));
    json_decref(added);
    allocate_key_worker(admin, unborn);
    snprintf(path, sizeof(path), "/api/v1/people/%s/involvements", mother);
    json_decref(testenv_call_json(testenv, sw, "POST", path,
                                  "{\"service\":\"ASC\",\"kind\":\"safeguarding-adults\","
                                  "\"start_date\":\"2026-06-01\",\"note\":\"Section 42 enquiry\"}",
                                  201));

    restart_records("linked-individuals", "either");
    char *kw = testenv_login(testenv, "key.worker");
    json_t *j = view_of(kw, unborn);
    assert_true(json_is_true(json_object_get(j, "on_caseload")));
    json_t *linked = json_object_get(j, "linked_individuals");
    assert_int_equal(json_array_size(linked), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(linked, 0), "id")), mother);
    assert_string_equal(json_string_value(json_object_get(json_array_get(linked, 0), "relationship")),
                        "mother-of-unborn");
    json_decref(j);
    /* Her own involvement is there for the key worker. */
    j = view_of(kw, mother);
    assert_int_equal(records_of(j, "adult-social-care", 0), 1);
    json_decref(j);
    restart_records(NULL, NULL);
    free(kw);
    free(sw);
    free(admin);
}

/* The individuals linked to a child are shown with their date of birth, NHS number and gender: each
 * one shown in full is a read of their record, one audit entry each, as a search's candidates are;
 * one the worker sees by name only is not. */
static void test_each_individual_linked_to_a_child_shown_in_full_is_an_audit_entry(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char *admin = testenv_login(testenv, "admin");
    char child[32], parent[32], sibling[32], hidden[32], path[128], body[160];
    testenv_add_person(testenv, sw, "Amara", "Oseiwa", "2015-03-03", child);
    testenv_add_person(testenv, sw, "Efua", "Oseiwa", "1985-03-03", parent);
    testenv_add_person(testenv, sw, "Kofi", "Oseiwa", "2012-03-03", sibling);
    testenv_add_person(testenv, sw, "Yaw", "Oseiwa", "1983-03-03", hidden);
    const char *links[3][2] = {{parent, "parent"}, {sibling, "sibling"}, {hidden, "parent"}};
    snprintf(path, sizeof(path), "/api/v1/people/%s/relationships", child);
    for (int i = 0; i < 3; i++) {
        snprintf(body, sizeof(body), "{\"person_id\":\"%s\",\"type\":\"%s\"}", links[i][0], links[i][1]);
        json_decref(testenv_call_json(testenv, sw, "POST", path, body, 201));
    }
    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", hidden);
    json_decref(testenv_call_json(
        testenv, admin, "PUT", path,
        "{\"reason\":\"mappa-marac-lado\",\"review_date\":\"2099-01-01\",\"workers\":[]}", 200));
    allocate_key_worker(admin, child);

    restart_records("linked-individuals", "either");
    char *kw = testenv_login(testenv, "key.worker");
    json_t *j = view_of(kw, child);
    assert_int_equal(json_array_size(json_object_get(j, "linked_individuals")), 3);
    json_decref(j);
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    const char *people[3] = {parent, sibling, hidden};
    for (int i = 0; i < 3; i++) {
        char sql[512];
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM audit.entries WHERE record_kind = 'person' AND record_id = %s"
                 " AND username = 'key.worker' AND action = 'search'"
                 " AND reason = 'Family Context check for strategy meeting'"
                 " AND summary LIKE '%%as linked to Amara Oseiwa (%s)%%'",
                 people[i], child);
        assert_int_equal(testenv_sql_long(testenv, sql), i < 2 ? 1 : 0);
    }
    restart_records(NULL, NULL);
    free(kw);
    free(sw);
    free(admin);
}

/* Whom to call: the key worker allocated is named, not numbered. */
static void test_family_context_names_the_allocated_key_worker(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char *admin = testenv_login(testenv, "admin");
    char child[32];
    testenv_add_person(testenv, sw, "Tomos", "Penrhyn", "2016-05-05", child);
    allocate_key_worker(admin, child);
    json_t *v = view_of(sw, child);
    json_t *records = json_object_get(source(v, "childrens-social-care", 0), "records");
    assert_int_equal(json_array_size(records), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(records, 0), "title")),
                        "Allocated key worker");
    assert_string_equal(json_string_value(json_object_get(json_array_get(records, 0), "detail")),
                        "Kai Worrall");
    json_decref(v);
    free(sw);
    free(admin);
}

/* make run loads deploy/demo/family-context: the files are good and tie to the demo's people. */
static void test_the_demo_files_load_and_tie_to_the_demo_people(void **state)
{
    (void)state;
    static const char *const sources[] = {"school", "housing", "police"};
    char args[1024], out[4096];
    for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
        snprintf(args, sizeof(args),
                 "import family-context %s %s/deploy/demo/family-context/%s.csv --coverage-from 2019-01-01"
                 " --coverage-to 2026-11-30 --contact-name 'Demo contact' --contact-role 'Data officer'"
                 " --contact-email demo@example.org",
                 sources[i], TSR_SOURCE_DIR, sources[i]);
        if (testenv_run_tool(testenv, args, out, sizeof(out)) != 0)
            fail_msg("%s: %s", sources[i], out);
    }
    char *kw = testenv_login(testenv, "key.worker");
    char id[32];
    snprintf(id, sizeof(id), "%ld",
             testenv_sql_long(testenv, "SELECT id FROM records.people WHERE nhs_number = '4728112047'"));
    json_t *v = view_of(kw, id);
    assert_int_equal(records_of(v, "housing", 1), 2);
    assert_int_equal(records_of(v, "police", 1), 1);
    assert_string_equal(withheld(v, "school", 1), "outside-age-rule");
    json_decref(v);
    free(kw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_search_is_fuzzy_ranked_and_finds_people_with_no_date_of_birth),
        cmocka_unit_test(test_paging_through_a_name_search_shows_each_person_of_that_name_once),
        cmocka_unit_test(test_sources_show_their_contact_and_the_age_rules_hide_what_they_should),
        cmocka_unit_test(test_a_malformed_source_file_is_rejected_by_line_and_the_old_data_stays),
        cmocka_unit_test(test_the_demo_files_load_and_tie_to_the_demo_people),
        cmocka_unit_test(test_restricted_people_show_only_their_display_name_and_every_read_is_audited),
        cmocka_unit_test(test_a_name_and_date_of_birth_two_people_share_ties_a_source_row_to_neither),
        cmocka_unit_test(test_each_search_mode_allows_only_its_searches),
        cmocka_unit_test(test_linked_individuals_journey_starts_from_a_child_on_the_caseload),
        cmocka_unit_test(test_an_unborn_childs_mother_is_among_the_individuals_linked_to_the_child),
        cmocka_unit_test(test_each_individual_linked_to_a_child_shown_in_full_is_an_audit_entry),
        cmocka_unit_test(test_family_context_names_the_allocated_key_worker),
    };
    return cmocka_run_group_tests(tests, testenv_group_setup, testenv_group_teardown);
}
