/* Merging duplicate person records (seed 002: "to ensure there is only a single record going
 * forward"), through HTTP against the real daemons: what follows the record that goes forward, what
 * the duplicate's id answers afterwards, and that the merge never lets in anyone a restriction keeps
 * out. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tsr_testenv.h"

#define REASON "X-Access-Reason: Family Context check for a strategy meeting"

static json_t *fc_get(const char *token, const char *path, long status)
{
    return testenv_call_json_with(testenv, token, "GET", path, NULL, REASON, status);
}

/* The records of a source in a person's Family Context view. */
static json_t *fc_records_of(json_t *view, const char *key)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(view, "sources"), i, s)
    {
        if (strcmp(testenv_str(s, "key"), key) == 0 && json_is_true(json_object_get(s, "external")))
            return json_object_get(s, "records");
    }
    fail_msg("no source %s in the view", key);
    return NULL;
}

static int fc_import_school(const char *csv, char *out, size_t size)
{
    char *path = testenv_write_file(testenv, "school.csv", csv);
    char args[1024];
    snprintf(args, sizeof(args),
             "import family-context school %s --coverage-from 2020-09-01 --coverage-to 2026-07-31"
             " --contact-name 'Dana Pryce' --contact-role 'Data officer' --contact-telephone '0161 496 0000'",
             path);
    free(path);
    return testenv_run_tool(testenv, args, out, size);
}

/* Merges the duplicate into the survivor as system support; the survivor as it now is. */
static json_t *merge(const char *admin, const char *survivor, const char *duplicate)
{
    char path[96], body[96];
    snprintf(path, sizeof(path), "/api/v1/people/%s/merge", survivor);
    snprintf(body, sizeof(body), "{\"duplicate_id\":\"%s\"}", duplicate);
    return testenv_call_json(testenv, admin, "POST", path, body, 200);
}

static void restrict_record_until(const char *admin, const char *id, const char *reason, const char *review,
                                  const char *workers)
{
    char path[96], body[256];
    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", id);
    snprintf(body, sizeof(body), "{\"reason\":\"%s\",\"review_date\":\"%s\",\"workers\":[%s]}", reason,
             review, workers);
    json_decref(testenv_call_json(testenv, admin, "PUT", path, body, 200));
}

/* The restrictions system support are asked to review on a day, each as ",PERSON:REASON:REVIEW_DATE,"
 * into out. */
static void restrictions_due(const char *admin, const char *on, char *out, size_t size)
{
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/restrictions/due?on=%s&limit=200", on);
    json_t *list = testenv_call_json(testenv, admin, "GET", path, NULL, 200);
    size_t used = (size_t)snprintf(out, size, ","), i;
    json_t *item;
    json_array_foreach(json_object_get(list, "items"), i, item)
    {
        used += (size_t)snprintf(out + used, size - used, "%s:%s:%s,", testenv_str(item, "person_id"),
                                 testenv_str(item, "reason"), testenv_str(item, "review_date"));
        if (used >= size)
            fail_msg("the list of restrictions due does not fit");
    }
    json_decref(list);
}

static void assert_says(const char *text, const char *words)
{
    if (strstr(text, words) == NULL)
        fail_msg("'%s' is not in: %s", words, text);
}

/* Seed 002's restriction reasons are facts about the child (known to MAPPA, MARAC or LADO; under
 * case review), each with its own review and the workers named for it. A record holds one, so two
 * duplicates restricted differently are not merged: the merge is refused naming both, nothing
 * changes (the duplicate is still there, its named worker still opens it, both are still to be
 * reviewed), and once system support have restricted them alike the merge goes ahead, the earlier
 * review date kept, and the trail says what became of each. */
static void test_two_records_restricted_differently_are_not_merged_until_restricted_alike(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *sw = testenv_login(testenv, "mash.sw");
    char *eh = testenv_login(testenv, "eh.worker");
    char *kw = testenv_login(testenv, "key.worker");
    char eh_id[32], kw_id[32], a[32], b[32], path[96], body[96], first[16], second[16], due[8192];
    char words[300], entry[1024];
    testenv_worker_id(testenv, "eh.worker", eh_id);
    testenv_worker_id(testenv, "key.worker", kw_id);
    testenv_sql_date(testenv, "current_date + 60", first);
    testenv_sql_date(testenv, "current_date + 150", second);
    testenv_add_person(testenv, sw, "Oriel", "Fenwick", "2013-04-04", a);
    testenv_add_person(testenv, sw, "Oriel", "Fenwick", "2013-04-04", b);
    char kw_quoted[40], eh_quoted[40], both[80];
    snprintf(kw_quoted, sizeof(kw_quoted), "\"%s\"", kw_id);
    snprintf(eh_quoted, sizeof(eh_quoted), "\"%s\"", eh_id);
    snprintf(both, sizeof(both), "%s,%s", kw_quoted, eh_quoted);
    restrict_record_until(admin, a, "case-review", first, kw_quoted);
    restrict_record_until(admin, b, "mappa-marac-lado", second, eh_quoted);

    snprintf(path, sizeof(path), "/api/v1/people/%s/merge", a);
    snprintf(body, sizeof(body), "{\"duplicate_id\":\"%s\"}", b);
    testenv_response_t r = testenv_http(testenv, "POST", path, admin, body, NULL);
    testenv_assert_error(&r, 409, "both_restricted");
    json_t *error = json_object_get(r.json, "error");
    assert_string_equal(testenv_str(error, "field"), "duplicate_id");
    snprintf(words, sizeof(words), "Oriel Fenwick (%s): case-review, review by %s, naming Kai Worrall", a,
             first);
    assert_says(testenv_str(error, "message"), words);
    snprintf(words, sizeof(words),
             "Duplicate Oriel Fenwick (%s): mappa-marac-lado, review by %s, naming Elliot Hale", b, second);
    assert_says(testenv_str(error, "message"), words);
    assert_says(testenv_str(error, "message"), "restrict both alike");
    testenv_response_free(&r);
    /* Nothing changed: the duplicate is its own record, opened by the worker its list names, and both
     * restrictions are to be reviewed, each on its day. */
    snprintf(path, sizeof(path), "/api/v1/people/%s", b);
    json_decref(testenv_call_json(testenv, eh, "GET", path, NULL, 200));
    snprintf(path, sizeof(path), "/api/v1/people/%s", a);
    testenv_call_error(testenv, eh, "GET", path, NULL, 403, "restricted_record", NULL);
    restrictions_due(admin, second, due, sizeof(due));
    snprintf(words, sizeof(words), ",%s:case-review:%s,", a, first);
    assert_says(due, words);
    snprintf(words, sizeof(words), ",%s:mappa-marac-lado:%s,", b, second);
    assert_says(due, words);

    /* The same reason, but this record's list leaves out the worker the duplicate's names: still
     * refused, naming them. */
    restrict_record_until(admin, a, "mappa-marac-lado", first, kw_quoted);
    snprintf(path, sizeof(path), "/api/v1/people/%s/merge", a);
    r = testenv_http(testenv, "POST", path, admin, body, NULL);
    testenv_assert_error(&r, 409, "both_restricted");
    assert_says(testenv_str(json_object_get(r.json, "error"), "message"), "gives access to Elliot Hale");
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/people/%s", b);
    json_decref(testenv_call_json(testenv, eh, "GET", path, NULL, 200));

    /* Restricted alike: merged, the earlier review kept, both workers in. */
    restrict_record_until(admin, a, "mappa-marac-lado", first, both);
    json_t *merged = merge(admin, a, b);
    json_t *restriction = json_object_get(merged, "restriction");
    assert_string_equal(testenv_str(restriction, "reason"), "mappa-marac-lado");
    assert_string_equal(testenv_str(restriction, "review_date"), first);
    assert_int_equal(json_array_size(json_object_get(restriction, "workers")), 2);
    json_decref(merged);
    snprintf(path, sizeof(path), "/api/v1/people/%s", a);
    json_decref(testenv_call_json(testenv, eh, "GET", path, NULL, 200));
    json_decref(testenv_call_json(testenv, kw, "GET", path, NULL, 200));
    restrictions_due(admin, second, due, sizeof(due));
    snprintf(words, sizeof(words), ",%s:mappa-marac-lado:%s,", a, first);
    assert_says(due, words);
    snprintf(words, sizeof(words), ",%s:", b);
    assert_null(strstr(due, words));
    testenv_audit_summaries(testenv, a, "merge", entry, sizeof(entry));
    snprintf(
        words, sizeof(words),
        "both were restricted for mappa-marac-lado: the restriction of Oriel Fenwick (%s) stands, 2 named "
        "on its access list (every one the duplicate's named), review by %s",
        a, first);
    assert_says(entry, words);
    free(kw);
    free(eh);
    free(sw);
    free(admin);
}

/* A survivor that was not restricted takes the duplicate's restriction: its reason, its review date
 * and its access list, and the trail says so; one that was restricted keeps its restriction over what
 * the duplicate held, and the trail says that too. */
static void test_a_restricted_duplicate_restricts_the_record_that_goes_forward(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *sw = testenv_login(testenv, "mash.sw");
    char *eh = testenv_login(testenv, "eh.worker");
    char *kw = testenv_login(testenv, "key.worker");
    char eh_id[32], open[32], restricted[32], path[96], review[16], due[8192], words[240], entry[1024];
    testenv_worker_id(testenv, "eh.worker", eh_id);
    testenv_sql_date(testenv, "current_date + 90", review);
    testenv_add_person(testenv, sw, "Corin", "Vale", "2012-12-12", open);
    testenv_add_person(testenv, sw, "Corin", "Vale", "2012-12-12", restricted);
    char quoted[40];
    snprintf(quoted, sizeof(quoted), "\"%s\"", eh_id);
    restrict_record_until(admin, restricted, "mappa-marac-lado", review, quoted);
    json_t *merged = merge(admin, open, restricted);
    json_t *restriction = json_object_get(merged, "restriction");
    assert_string_equal(testenv_str(restriction, "reason"), "mappa-marac-lado");
    assert_string_equal(testenv_str(restriction, "review_date"), review);
    assert_int_equal(json_array_size(json_object_get(restriction, "workers")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(restriction, "workers"), 0)), eh_id);
    json_decref(merged);
    snprintf(path, sizeof(path), "/api/v1/people/%s", open);
    json_decref(testenv_call_json(testenv, eh, "GET", path, NULL, 200));
    testenv_call_error(testenv, kw, "GET", path, NULL, 403, "restricted_record", NULL);
    restrictions_due(admin, review, due, sizeof(due));
    snprintf(words, sizeof(words), ",%s:mappa-marac-lado:%s,", open, review);
    assert_says(due, words);
    testenv_audit_summaries(testenv, open, "merge", entry, sizeof(entry));
    snprintf(words, sizeof(words),
             "the duplicate was restricted (mappa-marac-lado, review by %s, 1 named on its access list): its "
             "restriction now restricts Corin Vale (%s), which was not",
             review, open);
    assert_says(entry, words);

    /* The other way round: the survivor's restriction stands over what the duplicate held. */
    char kept[32], plain[32];
    testenv_add_person(testenv, sw, "Tamsin", "Vale", "2011-11-11", kept);
    testenv_add_person(testenv, sw, "Tamsin", "Vale", "2011-11-11", plain);
    restrict_record_until(admin, kept, "high-risk", review, "");
    json_decref(merge(admin, kept, plain));
    snprintf(path, sizeof(path), "/api/v1/people/%s", kept);
    testenv_call_error(testenv, eh, "GET", path, NULL, 403, "restricted_record", NULL);
    testenv_audit_summaries(testenv, kept, "merge", entry, sizeof(entry));
    snprintf(words, sizeof(words),
             "Tamsin Vale (%s) was restricted (high-risk, review by %s, 0 named on its access list): its "
             "restriction now covers what the duplicate held, which was not restricted",
             kept, review);
    assert_says(entry, words);
    free(kw);
    free(eh);
    free(sw);
    free(admin);
}

static void add_main_address(const char *token, const char *person, const char *line, const char *start)
{
    char path[96], body[256];
    snprintf(path, sizeof(path), "/api/v1/people/%s/addresses", person);
    snprintf(body, sizeof(body),
             "{\"type\":\"main\",\"lines\":[\"%s\"],\"town\":\"London\",\"postcode\":\"NW3 3CC\","
             "\"start_date\":\"%s\"}",
             line, start);
    json_decref(testenv_call_json(testenv, token, "POST", path, body, 201));
}

/* The address of that first line in a list of addresses, or NULL. */
static json_t *address_at(json_t *addresses, const char *line)
{
    size_t i;
    json_t *a;
    json_array_foreach(addresses, i, a)
    {
        if (strcmp(json_string_value(json_array_get(json_object_get(a, "lines"), 0)), line) == 0)
            return a;
    }
    return NULL;
}

/* Each record had its own current home: the record that goes forward has one current main address,
 * the one begun last, and the other ends the day before it began, as a move would have ended it; a
 * later move then leaves that history as it was. */
static void test_a_merged_record_has_one_current_main_address_and_a_true_history(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *sw = testenv_login(testenv, "mash.sw");
    char survivor[32], duplicate[32], path[96];
    char birch[16], cedar[16], cedar_eve[16], moved[16], moved_eve[16];
    testenv_sql_date(testenv, "current_date - 700", birch);
    testenv_sql_date(testenv, "current_date - 90", cedar);
    testenv_sql_date(testenv, "current_date - 91", cedar_eve);
    testenv_sql_date(testenv, "current_date - 5", moved);
    testenv_sql_date(testenv, "current_date - 6", moved_eve);
    testenv_add_person(testenv, sw, "Nadia", "Quill", "2013-05-05", survivor);
    testenv_add_person(testenv, sw, "Nadia", "Quil", "2013-05-05", duplicate);
    add_main_address(sw, survivor, "3 Birch Close", birch);
    add_main_address(sw, duplicate, "44 Cedar Street", cedar);

    json_t *merged = merge(admin, survivor, duplicate);
    json_t *current = json_object_get(merged, "addresses");
    assert_int_equal(json_array_size(current), 1);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(json_array_get(current, 0), "lines"), 0)),
        "44 Cedar Street");
    json_decref(merged);
    snprintf(path, sizeof(path), "/api/v1/people/%s/addresses", survivor);
    json_t *history = testenv_call_json(testenv, sw, "GET", path, NULL, 200);
    json_t *items = json_object_get(history, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(testenv_str(address_at(items, "3 Birch Close"), "end_date"), cedar_eve);
    assert_true(json_is_null(json_object_get(address_at(items, "44 Cedar Street"), "end_date")));
    json_decref(history);

    /* A move afterwards ends only the current one. */
    add_main_address(sw, survivor, "5 New Home", moved);
    history = testenv_call_json(testenv, sw, "GET", path, NULL, 200);
    items = json_object_get(history, "items");
    assert_string_equal(testenv_str(address_at(items, "3 Birch Close"), "end_date"), cedar_eve);
    assert_string_equal(testenv_str(address_at(items, "44 Cedar Street"), "end_date"), moved_eve);
    assert_true(json_is_null(json_object_get(address_at(items, "5 New Home"), "end_date")));
    json_decref(history);

    /* Begun the same day: the survivor's stays current, the duplicate's ends that day. */
    char same_a[32], same_b[32];
    testenv_add_person(testenv, sw, "Ilse", "Marsh", "2012-02-02", same_a);
    testenv_add_person(testenv, sw, "Ilse", "Marsh", "2012-02-02", same_b);
    add_main_address(sw, same_a, "1 Ash Row", cedar);
    add_main_address(sw, same_b, "2 Elm Row", cedar);
    merged = merge(admin, same_a, same_b);
    current = json_object_get(merged, "addresses");
    assert_int_equal(json_array_size(current), 1);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(json_array_get(current, 0), "lines"), 0)),
        "1 Ash Row");
    json_decref(merged);
    snprintf(path, sizeof(path), "/api/v1/people/%s/addresses", same_a);
    history = testenv_call_json(testenv, sw, "GET", path, NULL, 200);
    assert_string_equal(testenv_str(address_at(json_object_get(history, "items"), "2 Elm Row"), "end_date"),
                        cedar);
    json_decref(history);
    free(admin);
    free(sw);
}

/* A call refused with the duplicate's answer: the code merged and a message naming the survivor. */
static void expect_merged(const char *token, const char *method, const char *path, const char *body,
                          long status, const char *field, const char *survivor)
{
    testenv_response_t r = testenv_http(testenv, method, path, token, body, NULL);
    testenv_assert_error(&r, status, "merged");
    const char *message = testenv_str(json_object_get(r.json, "error"), "message");
    if (strstr(message, survivor) == NULL)
        fail_msg("%s %s: the refusal does not name record %s: %s", method, path, survivor, r.body);
    if (field != NULL)
        assert_string_equal(testenv_str(json_object_get(r.json, "error"), "field"), field);
    testenv_response_free(&r);
}

/* Once merged, the duplicate's id takes nothing more: a case note, an allocation, an involvement, an
 * address or a link from or to it is refused, naming the record that went forward, where before it
 * was accepted and then seen by no one; its case notes are not read from it either. */
static void test_nothing_is_written_to_or_linked_with_a_merged_duplicate(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *sw = testenv_login(testenv, "mash.sw");
    char survivor[32], duplicate[32], mother[32], worker[32], path[128], body[256];
    testenv_worker_id(testenv, "key.worker", worker);
    testenv_add_person(testenv, sw, "Oskar", "Brandt", "2014-03-03", survivor);
    testenv_add_person(testenv, sw, "Oskar", "Brandt", "2014-03-03", duplicate);
    testenv_add_person(testenv, sw, "Chloe", "Brandt", "1990-09-09", mother);
    json_decref(merge(admin, survivor, duplicate));

    snprintf(path, sizeof(path), "/api/v1/people/%s/case-notes", duplicate);
    expect_merged(
        sw, "POST", path,
        "{\"type\":\"visit\",\"title\":\"Home visit\",\"body\":\"Child seen alone; bruising noted\"}", 404,
        NULL, survivor);
    expect_merged(sw, "GET", path, NULL, 404, NULL, survivor);
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations", duplicate);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%s\",\"role\":\"key-worker\",\"service\":\"CSSW\"}",
             worker);
    expect_merged(admin, "POST", path, body, 404, NULL, survivor);
    snprintf(path, sizeof(path), "/api/v1/people/%s/involvements", duplicate);
    expect_merged(sw, "POST", path,
                  "{\"service\":\"CSSW\",\"kind\":\"child-in-need\",\"start_date\":\"2026-01-01\"}", 404,
                  NULL, survivor);
    snprintf(path, sizeof(path), "/api/v1/people/%s/addresses", duplicate);
    expect_merged(
        sw, "POST", path,
        "{\"type\":\"main\",\"lines\":[\"1 Quay\"],\"town\":\"Hull\",\"start_date\":\"2026-01-01\"}", 404,
        NULL, survivor);
    snprintf(path, sizeof(path), "/api/v1/people/%s/relationships", duplicate);
    snprintf(body, sizeof(body), "{\"person_id\":\"%s\",\"type\":\"parent\"}", mother);
    expect_merged(sw, "POST", path, body, 404, NULL, survivor);
    /* A link to it, from a record that is there, is refused on the field that names it. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/relationships", mother);
    snprintf(body, sizeof(body), "{\"person_id\":\"%s\",\"type\":\"child\"}", duplicate);
    expect_merged(sw, "POST", path, body, 409, "person_id", survivor);

    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT (SELECT count(*) FROM records.case_notes WHERE person_id = %s)"
             " + (SELECT count(*) FROM records.allocations WHERE person_id = %s)"
             " + (SELECT count(*) FROM records.involvements WHERE person_id = %s)"
             " + (SELECT count(*) FROM records.addresses WHERE person_id = %s)"
             " + (SELECT count(*) FROM records.relationships WHERE %s IN (person_id, related_id))",
             duplicate, duplicate, duplicate, duplicate, duplicate);
    assert_int_equal(testenv_sql_long(testenv, sql), 0);
    /* The record that went forward still takes them. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/case-notes", survivor);
    json_decref(
        testenv_call_json(testenv, sw, "POST", path, "{\"type\":\"visit\",\"title\":\"Home visit\"}", 201));
    free(admin);
    free(sw);
}

/* The school's record of a child, tied by the duplicate's case ID, stays with the child: after the
 * merge it shows on the record that went forward (and in search), and the same file loads again, its
 * rows tied to that record, the load saying which id to give next time. */
static void
test_family_context_records_follow_a_merged_duplicate_to_the_record_that_goes_forward(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *sw = testenv_login(testenv, "mash.sw");
    char survivor[32], duplicate[32], path[128], csv[512], out[4096];
    testenv_add_person(testenv, sw, "Zofia", "Nowak", "2013-02-02", duplicate);
    testenv_add_person(testenv, sw, "Zofia", "Nowak", "2013-02-02", survivor);
    snprintf(csv, sizeof(csv),
             "Case ID,Title,Detail,Start date,End date\n"
             "%s,Exclusion,Permanent exclusion after knife incident,2026-10-01,\n",
             duplicate);
    if (fc_import_school(csv, out, sizeof(out)) != 0)
        fail_msg("loading the school file: %s", out);
    snprintf(path, sizeof(path), "/api/v1/family-context/people/%s", duplicate);
    json_t *view = fc_get(sw, path, 200);
    assert_int_equal(json_array_size(fc_records_of(view, "school")), 1);
    json_decref(view);

    json_decref(merge(admin, survivor, duplicate));
    snprintf(path, sizeof(path), "/api/v1/family-context/people/%s", survivor);
    view = fc_get(sw, path, 200);
    json_t *records = fc_records_of(view, "school");
    assert_int_equal(json_array_size(records), 1);
    assert_string_equal(testenv_str(json_array_get(records, 0), "title"), "Exclusion");
    assert_string_equal(testenv_str(json_array_get(records, 0), "matched_by"), "case-id");
    json_decref(view);
    snprintf(path, sizeof(path), "/api/v1/family-context/search?case_id=%s", survivor);
    json_t *found = fc_get(sw, path, 200);
    json_t *known = json_object_get(json_object_get(found, "person"), "known_to");
    int school = 0;
    for (size_t i = 0; i < json_array_size(known); i++)
        school |= strcmp(json_string_value(json_array_get(known, i)), "school") == 0;
    assert_true(school);
    json_decref(found);

    /* The school's next file still gives the old id: loaded, tied to the survivor, and said. */
    if (fc_import_school(csv, out, sizeof(out)) != 0)
        fail_msg("loading the school file again: %s", out);
    if (strstr(out, "merged into") == NULL || strstr(out, survivor) == NULL)
        fail_msg("the load does not say the case ID went into %s: %s", survivor, out);
    snprintf(path, sizeof(path), "/api/v1/family-context/people/%s", survivor);
    view = fc_get(sw, path, 200);
    assert_int_equal(json_array_size(fc_records_of(view, "school")), 1);
    json_decref(view);
    free(admin);
    free(sw);
}

/* A merged duplicate's case ID, which other services and old papers still carry, is answered in
 * Family Context as everywhere else: merged, naming the record it went into, not "No one has case
 * ID", which would tell a worker the family is unknown. */
static void test_family_context_answers_a_merged_duplicates_case_id_with_the_record_it_went_into(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *sw = testenv_login(testenv, "mash.sw");
    char survivor[32], duplicate[32], path[128];
    testenv_add_person(testenv, sw, "Leni", "Auclair", "2015-06-06", survivor);
    testenv_add_person(testenv, sw, "Leni", "Auclair", "2015-06-06", duplicate);
    json_decref(merge(admin, survivor, duplicate));
    snprintf(path, sizeof(path), "/api/v1/family-context/search?case_id=%s", duplicate);
    testenv_response_t r = testenv_http(testenv, "GET", path, sw, NULL, REASON);
    testenv_assert_error(&r, 404, "merged");
    assert_non_null(strstr(testenv_str(json_object_get(r.json, "error"), "message"), survivor));
    assert_string_equal(testenv_str(json_object_get(r.json, "error"), "field"), "case_id");
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/family-context/people/%s", duplicate);
    r = testenv_http(testenv, "GET", path, sw, NULL, REASON);
    testenv_assert_error(&r, 404, "merged");
    assert_non_null(strstr(testenv_str(json_object_get(r.json, "error"), "message"), survivor));
    testenv_response_free(&r);
    /* An id that is no one's is still not found. */
    r = testenv_http(testenv, "GET", "/api/v1/family-context/search?case_id=999999999", sw, NULL, REASON);
    testenv_assert_error(&r, 404, "not_found");
    testenv_response_free(&r);
    free(admin);
    free(sw);
}

/* What an earlier release let reach a merged duplicate (a case note, a link from or to it, another
 * service's Family Context row) goes, once the records daemon is upgraded, to the record that went
 * forward, where it is seen: migration 015, run here again over rows written as that release did. */
static void test_what_reached_a_merged_duplicate_before_is_moved_to_the_record_that_went_forward(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *sw = testenv_login(testenv, "mash.sw");
    char survivor[32], duplicate[32], mother[32], sql[1024], out[512], path[128];
    testenv_add_person(testenv, sw, "Wren", "Halloway", "2016-01-01", survivor);
    testenv_add_person(testenv, sw, "Wren", "Halloway", "2016-01-01", duplicate);
    testenv_add_person(testenv, sw, "Maud", "Halloway", "1988-01-01", mother);
    json_decref(merge(admin, survivor, duplicate));
    snprintf(
        sql, sizeof(sql),
        "INSERT INTO records.case_notes (person_id, type, title, body, occurred_at, recorded_by)"
        " VALUES (%s, 'visit', 'Home visit', 'Child seen alone; bruising noted', now(), 1);"
        "INSERT INTO records.relationships (person_id, related_id, type, created_by)"
        " VALUES (%s, %s, 'child', 1), (%s, %s, 'parent', 1);"
        "INSERT INTO records.fc_sources (key) VALUES ('police') ON CONFLICT DO NOTHING;"
        "INSERT INTO records.fc_records (source, line, person_id, title) VALUES ('police', 2, %s, 'Missing');"
        "DELETE FROM records.schema_migrations WHERE component = 'records' AND version = 15;",
        duplicate, mother, duplicate, duplicate, mother, duplicate);
    if (testenv_psql(testenv, NULL, sql, out, sizeof(out)) != 0)
        fail_msg("writing as the earlier release did: %s", out);
    testenv_kill(testenv, "records", SIGTERM);
    assert_int_equal(testenv_wait_exit(testenv, "records", 15000), 0);
    testenv_restart(testenv, "records");

    snprintf(sql, sizeof(sql),
             "SELECT (SELECT count(*) FROM records.case_notes WHERE person_id = %s)"
             " + (SELECT count(*) FROM records.relationships WHERE %s IN (person_id, related_id))"
             " + (SELECT count(*) FROM records.fc_records WHERE person_id = %s)",
             duplicate, duplicate, duplicate);
    assert_int_equal(testenv_sql_long(testenv, sql), 0);
    snprintf(path, sizeof(path), "/api/v1/people/%s", survivor);
    json_t *p = testenv_call_json(testenv, sw, "GET", path, NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(p, "case_notes_total")), 1);
    json_t *rels = json_object_get(p, "relationships");
    assert_int_equal(json_array_size(rels), 1);
    assert_string_equal(testenv_str(json_array_get(rels, 0), "person_id"), mother);
    json_decref(p);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM records.fc_records WHERE person_id = %s AND title = 'Missing'", survivor);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    free(admin);
    free(sw);
}

typedef struct {
    char sql[512];
    char out[256];
    int rc;
} merging_t;

static void *merging(void *arg)
{
    merging_t *m = arg;
    m->rc = testenv_psql(testenv, NULL, m->sql, m->out, sizeof(m->out));
    return NULL;
}

/* A case note, an involvement or a link that arrives while its record is being merged waits for the
 * merge and is refused as on a duplicate merged before, rather than landing on the duplicate once the
 * merge has moved everything else. The merge is played by its locks and its last step, held open. */
static void test_a_write_arriving_during_a_merge_waits_for_it_and_is_refused(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char mother[32];
    testenv_add_person(testenv, sw, "Agnes", "Varga", "1989-02-02", mother);
    char link[96];
    snprintf(link, sizeof(link), "{\"person_id\":\"%s\",\"type\":\"parent\"}", mother);
    const char *writes[][3] = {
        {"case-notes", "{\"type\":\"visit\",\"title\":\"Home visit\"}", "case_notes"},
        {"involvements", "{\"service\":\"CSSW\",\"kind\":\"child-in-need\",\"start_date\":\"2026-01-01\"}",
         "involvements"},
        {"relationships", link, "relationships"},
    };
    for (size_t i = 0; i < 3; i++) {
        char survivor[32], duplicate[32], path[128], sql[256];
        testenv_add_person(testenv, sw, "Ines", "Varga", "2016-02-02", survivor);
        testenv_add_person(testenv, sw, "Ines", "Varga", "2016-02-02", duplicate);
        merging_t m = {.rc = -1};
        snprintf(m.sql, sizeof(m.sql),
                 "BEGIN; SELECT 1 FROM records.people WHERE id IN (%s, %s) ORDER BY id FOR UPDATE;"
                 " SELECT pg_sleep(1.5);"
                 " UPDATE records.people SET merged_into = %s, merged_at = now() WHERE id = %s; COMMIT;",
                 survivor, duplicate, survivor, duplicate);
        pthread_t thread;
        assert_int_equal(pthread_create(&thread, NULL, merging, &m), 0);
        usleep(500 * 1000);
        snprintf(path, sizeof(path), "/api/v1/people/%s/%s", duplicate, writes[i][0]);
        testenv_response_t r = testenv_http(testenv, "POST", path, sw, writes[i][1], NULL);
        pthread_join(thread, NULL);
        if (m.rc != 0)
            fail_msg("playing the merge: %s", m.out);
        testenv_assert_error(&r, 404, "merged");
        testenv_response_free(&r);
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM records.%s WHERE person_id = %s", writes[i][2],
                 duplicate);
        assert_int_equal(testenv_sql_long(testenv, sql), 0);
    }
    free(sw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_records_restricted_differently_are_not_merged_until_restricted_alike),
        cmocka_unit_test(test_a_restricted_duplicate_restricts_the_record_that_goes_forward),
        cmocka_unit_test(test_a_merged_record_has_one_current_main_address_and_a_true_history),
        cmocka_unit_test(test_nothing_is_written_to_or_linked_with_a_merged_duplicate),
        cmocka_unit_test(
            test_family_context_records_follow_a_merged_duplicate_to_the_record_that_goes_forward),
        cmocka_unit_test(
            test_family_context_answers_a_merged_duplicates_case_id_with_the_record_it_went_into),
        cmocka_unit_test(
            test_what_reached_a_merged_duplicate_before_is_moved_to_the_record_that_went_forward),
        cmocka_unit_test(test_a_write_arriving_during_a_merge_waits_for_it_and_is_refused),
    };
    return cmocka_run_group_tests(tests, testenv_group_setup, testenv_group_teardown);
}
