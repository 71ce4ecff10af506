/* The workflow engine (issue 4; seeds 000 and 003): steps, sections, requests, next actions and
 * workviews, driven by definitions that are data. Every rule is checked through the HTTP API of the
 * real suite. Two step types exist only as data files under workflow_definitions/, so the engine is
 * shown to run a kind of work it has no code for. */
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

#define HAMPDEN "7500065"

static char definitions_dir[256];

/* A call that must answer `status`; its JSON body (new reference). */
/* A call that must fail with status and code; the error's field is returned in field_out. */
static char *start_step(const char *token, const char *type, const char *variant, const char *kind,
                        const char *id, char out[32])
{
    char body[300];
    snprintf(body, sizeof(body),
             "{\"type\":\"%s\",\"variant\":\"%s\",\"subject\":{\"kind\":\"%s\",\"id\":\"%s\"}}", type,
             variant, kind, id);
    json_t *step = testenv_call_json(testenv, token, "POST", "/api/v1/steps", body, 201);
    snprintf(out, 32, "%s", testenv_str(step, "id"));
    json_decref(step);
    return out;
}

static long id_of_worker(const char *username)
{
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT id FROM accounts.workers WHERE username = '%s'", username);
    return testenv_sql_long(testenv, sql);
}

static long id_of_team(const char *name)
{
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT id FROM accounts.teams WHERE name = '%s'", name);
    return testenv_sql_long(testenv, sql);
}

/* The items of a folder of a workview. */
static json_t *folder_of(json_t *workview, const char *folder)
{
    return json_object_get(json_object_get(json_object_get(workview, "folders"), folder), "items");
}

static int folder_has(json_t *workview, const char *folder, const char *key, const char *id)
{
    size_t i;
    json_t *item;
    json_array_foreach(folder_of(workview, folder), i, item)
    {
        if (strcmp(testenv_str(item, key), id) == 0)
            return 1;
    }
    return 0;
}

static json_t *find_request(json_t *step, const char *type)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(step, "requests"), i, r)
    {
        if (strcmp(testenv_str(r, "type"), type) == 0)
            return r;
    }
    return NULL;
}

static const char *section1_ok =
    "{\"data\":{\"consulted_at\":\"2022-11-25T13:57:00Z\",\"source\":\"schools\","
    "\"contact_name\":\"Jo Bloggs\",\"contact_telephone\":\"020 7974 4444\","
    "\"contact_email\":\"jo.bloggs@example.org\",\"contact_relationship\":\"Head teacher\","
    "\"details\":\"Worried about a pupil.\"},\"completed\":true}";

static void test_a_front_door_consultation_goes_from_mash_admin_to_the_mash_manager_and_finishes(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "mash.admin");
    char *manager = testenv_login(testenv, "mash.manager");
    char id[32], path[128];
    json_t *step = testenv_call_json(testenv, admin, "POST", "/api/v1/steps",
                                     "{\"type\":\"front-door-consultation\",\"variant\":\"CSSW\","
                                     "\"subject\":{\"kind\":\"organisation\",\"id\":\"" HAMPDEN "\"}}",
                                     201);
    snprintf(id, sizeof(id), "%s", testenv_str(step, "id"));
    assert_string_equal(testenv_str(step, "title"), "Consultation (CSSW)");
    assert_string_equal(testenv_str(step, "heading"),
                        "Consultation (CSSW) : Hampden Children Centre (7500065)");
    assert_string_equal(testenv_str(step, "state"), "started");
    assert_int_equal(json_array_size(json_object_get(step, "sections")), 3);
    json_decref(step);
    json_t *wv = testenv_call_json(testenv, admin, "GET", "/api/v1/workview", NULL, 200);
    assert_true(folder_has(wv, "current_work", "step_id", id));
    json_decref(wv);

    /* Section 1: the duty worker defaults to the current worker; the rules of each field hold. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", id);
    testenv_call_error(testenv, admin, "PUT", path,
                       "{\"data\":{\"consulted_at\":\"2022-11-25T13:57:00Z\"},\"completed\":true}", 422,
                       "required_field", "data.source");
    testenv_call_error(testenv, admin, "PUT", path,
                       "{\"data\":{\"source\":\"schools\",\"contact_email\":\"not-an-address\"}}", 400,
                       "invalid_email", "data.contact_email");
    testenv_call_error(testenv, admin, "PUT", path, "{\"data\":{\"consulted_at\":\"2999-01-01T09:00:00Z\"}}",
                       400, "date_in_future", "data.consulted_at");
    testenv_call_error(testenv, admin, "PUT", path, "{\"data\":{\"source\":\"the-moon\"}}", 400,
                       "unknown_option", "data.source");
    testenv_call_error(testenv, admin, "PUT", path, "{\"data\":{\"favourite_colour\":\"blue\"}}", 400,
                       "unknown_field", "data.favourite_colour");
    step = testenv_call_json(testenv, admin, "PUT", path, section1_ok, 200);
    json_t *s1 = json_array_get(json_object_get(step, "sections"), 0);
    assert_true(json_is_true(json_object_get(s1, "completed")));
    char me[32];
    snprintf(me, sizeof(me), "%ld", id_of_worker("mash.admin"));
    assert_string_equal(testenv_str(json_object_get(s1, "data"), "duty_worker"), me);
    json_decref(step);

    /* 'Pass to MASH Manager' goes to the MASH Manager team by default. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", id);
    step = testenv_call_json(testenv, admin, "POST", path,
                             "{\"type\":\"pass-to-mash-manager\",\"note\":\"Please review.\"}", 201);
    json_t *req = find_request(step, "pass-to-mash-manager");
    assert_non_null(req);
    assert_string_equal(testenv_str(req, "status"), "sent");
    assert_string_equal(testenv_str(json_object_get(req, "to"), "name"), "MASH Manager");
    json_t *h0 = json_array_get(json_object_get(req, "history"), 0);
    assert_string_equal(testenv_str(h0, "action"), "sent");
    assert_string_equal(testenv_str(h0, "worker_or_team"), "MASH Manager");
    char request_id[32];
    snprintf(request_id, sizeof(request_id), "%s", testenv_str(req, "id"));
    json_decref(step);
    /* A request type of the other variant is not offered. */
    testenv_call_error(testenv, admin, "POST", path,
                       "{\"type\":\"please-review-information-and-confirm-next-action\"}", 422,
                       "request_not_allowed", "type");

    /* The manager finds it in the MASH Manager team's Incoming requests, titled as the seed shows. */
    char wv_path[128];
    snprintf(wv_path, sizeof(wv_path), "/api/v1/workview?team_id=%ld", id_of_team("MASH Manager"));
    wv = testenv_call_json(testenv, manager, "GET", wv_path, NULL, 200);
    json_t *item = NULL;
    size_t i;
    json_t *it;
    json_array_foreach(folder_of(wv, "incoming_requests"), i, it)
    {
        if (strcmp(testenv_str(it, "request_id"), request_id) == 0)
            item = it;
    }
    assert_non_null(item);
    assert_string_equal(testenv_str(item, "title"), "Pass to MASH Manager: Consultation (CSSW)");
    assert_string_equal(testenv_str(json_object_get(item, "subject"), "title"),
                        "Hampden Children Centre (7500065)");
    json_decref(wv);
    wv = testenv_call_json(testenv, manager, "GET", "/api/v1/workview", NULL, 200);
    int listed = 0;
    json_array_foreach(json_object_get(wv, "queues"), i, it)
    {
        if (strcmp(testenv_str(it, "name"), "MASH Manager") == 0)
            listed =
                json_integer_value(json_object_get(json_object_get(it, "counts"), "incoming_requests")) >= 1;
    }
    assert_true(listed);
    json_decref(wv);

    /* The manager resumes it: it moves to their Current work and leaves the admin's. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/resume", id);
    step = testenv_call_json(testenv, manager, "POST", path, NULL, 200);
    assert_string_equal(testenv_str(json_object_get(step, "assigned_to"), "name"), "Priya Mannering");
    json_decref(step);
    wv = testenv_call_json(testenv, admin, "GET", "/api/v1/workview", NULL, 200);
    assert_false(folder_has(wv, "current_work", "step_id", id));
    json_decref(wv);
    wv = testenv_call_json(testenv, manager, "GET", "/api/v1/workview", NULL, 200);
    assert_true(folder_has(wv, "current_work", "step_id", id));
    json_decref(wv);

    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/2", id);
    testenv_call_error(testenv, admin, "PUT", path, "{\"data\":{}}", 409, "not_your_work", NULL);
    json_decref(testenv_call_json(testenv, manager, "PUT", path,
                                  "{\"data\":{\"advice\":\"Referred "
                                  "on.\",\"outcomes\":[\"further-information-given\",\"referral-to-mash\"]},"
                                  "\"completed\":true}",
                                  200));
    snprintf(path, sizeof(path), "/api/v1/requests/%s/complete", request_id);
    step = testenv_call_json(testenv, manager, "POST", path, "{\"note\":\"Advice given.\"}", 200);
    req = find_request(step, "pass-to-mash-manager");
    assert_string_equal(testenv_str(req, "status"), "completed");
    assert_int_equal(json_array_size(json_object_get(req, "history")), 2);
    assert_string_equal(testenv_str(json_array_get(json_object_get(req, "history"), 1), "note"),
                        "Advice given.");
    json_decref(step);
    testenv_call_error(testenv, manager, "POST", path, NULL, 409, "request_closed", NULL);

    /* Section 3: 'Consultation complete' finishes the step and starts nothing. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/finish", id);
    testenv_call_error(testenv, manager, "POST", path, "{}", 422, "next_action_required", "next_actions");
    testenv_call_error(testenv, manager, "POST", path,
                       "{\"next_actions\":[{\"action\":\"cs-no-further-action\"}]}", 422,
                       "unknown_next_action", "next_actions[0].action");
    step = testenv_call_json(testenv, manager, "POST", path,
                             "{\"next_actions\":[{\"action\":\"consultation-complete\"}]}", 200);
    assert_string_equal(testenv_str(step, "state"), "completed");
    json_t *na = json_array_get(json_object_get(step, "next_actions"), 0);
    assert_string_equal(testenv_str(na, "title"), "Consultation complete");
    assert_null(json_object_get(na, "started_step_id"));
    /* The actions given with the finish are section 3's, completed, as a save before it made them. */
    json_t *s3 = json_array_get(json_object_get(step, "sections"), 2);
    assert_true(json_is_true(json_object_get(s3, "completed")));
    assert_string_equal(
        testenv_str(json_array_get(json_object_get(json_object_get(s3, "data"), "next_actions"), 0),
                    "action"),
        "consultation-complete");
    json_decref(step);
    wv = testenv_call_json(testenv, manager, "GET", "/api/v1/workview", NULL, 200);
    assert_false(folder_has(wv, "current_work", "step_id", id));
    json_decref(wv);
    /* The organisation's steps list it. */
    step = testenv_call_json(testenv, admin, "GET",
                             "/api/v1/steps?subject_kind=organisation&subject_id=" HAMPDEN, NULL, 200);
    int found = 0;
    json_array_foreach(json_object_get(step, "items"), i, it)
    {
        found |= strcmp(testenv_str(it, "id"), id) == 0 && strcmp(testenv_str(it, "state"), "completed") == 0;
    }
    assert_true(found);
    json_decref(step);
    /* So does its summary page. */
    json_t *org = testenv_call_json(testenv, admin, "GET", "/api/v1/organisations/" HAMPDEN, NULL, 200);
    found = 0;
    json_array_foreach(json_object_get(org, "steps"), i, it)
    {
        found |= strcmp(testenv_str(it, "id"), id) == 0 &&
                 strcmp(testenv_str(it, "title"), "Consultation (CSSW)") == 0;
    }
    assert_true(found);
    json_decref(org);
    free(admin);
    free(manager);
}

/* A section of a step, by number (its place in the view), and its revision. */
static json_t *section_of(json_t *step, const char *number)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(step, "sections"), i, s)
    {
        if (strcmp(testenv_str(s, "number"), number) == 0)
            return s;
    }
    return NULL;
}

static long revision_of(json_t *step, const char *number)
{
    json_t *s = section_of(step, number);
    assert_non_null(s);
    assert_true(json_is_integer(json_object_get(s, "revision")));
    return (long)json_integer_value(json_object_get(s, "revision"));
}

/* What a refused save must leave as it was: the section's copy and revision, the consultations
 * daemon's form (the owner of sections 1 and 2), the step's history. */
static void assert_section_1_unchanged(const char *id, const char *source, long revision, long history)
{
    char sql[300];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.sections WHERE step_id = %s AND number = '1'"
             " AND data->>'source' = '%s' AND revision = %ld",
             id, source, revision);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM consultations.consultations WHERE step_id = %s AND source = '%s'", id,
             source);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM workflow.step_history WHERE step_id = %s", id);
    assert_int_equal(testenv_sql_long(testenv, sql), history);
}

/* Two saves from one revision (two tabs, two workers): the second is refused, naming who saved the
 * section since and when, and changes nothing; a save that sends no revision is taken as before. */
static void
test_a_save_from_a_section_revision_saved_since_is_refused_naming_who_and_changes_nothing(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "mash.admin");
    char *manager = testenv_login(testenv, "mash.manager");
    char id[32], path[128], sql[200];
    start_step(admin, "front-door-consultation", "CSSW", "organisation", HAMPDEN, id);
    snprintf(path, sizeof(path), "/api/v1/steps/%s", id);
    json_t *step = testenv_call_json(testenv, admin, "GET", path, NULL, 200);
    /* A section never saved is at revision 0, with no one named as having saved it. */
    assert_int_equal(revision_of(step, "1"), 0);
    assert_int_equal(revision_of(step, "3"), 0);
    assert_null(json_object_get(section_of(step, "1"), "saved_by_name"));
    json_decref(step);
    char admin_name[200], manager_name[200];
    snprintf(sql, sizeof(sql), "SELECT name FROM accounts.workers WHERE username = 'mash.admin'");
    assert_int_equal(testenv_psql(testenv, NULL, sql, admin_name, sizeof(admin_name)), 0);
    snprintf(sql, sizeof(sql), "SELECT name FROM accounts.workers WHERE username = 'mash.manager'");
    assert_int_equal(testenv_psql(testenv, NULL, sql, manager_name, sizeof(manager_name)), 0);

    /* Tab A saves from revision 0: the section is at 1, saved by the admin. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", id);
    step = testenv_call_json(
        testenv, admin, "PUT", path,
        "{\"data\":{\"source\":\"schools\",\"contact_name\":\"Jo Bloggs\"},\"revision\":0}", 200);
    assert_int_equal(revision_of(step, "1"), 1);
    assert_string_equal(testenv_str(section_of(step, "1"), "saved_by_name"), admin_name);
    json_decref(step);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM workflow.step_history WHERE step_id = %s", id);
    long history = testenv_sql_long(testenv, sql);

    /* Tab B, the same worker's, saves from revision 0 too: refused, nothing changed. */
    testenv_response_t r =
        testenv_http(testenv, "PUT", path, admin, "{\"data\":{\"source\":\"police\"},\"revision\":0}", NULL);
    testenv_assert_error(&r, 409, "section_changed");
    const json_t *error = json_object_get(r.json, "error");
    assert_string_equal(testenv_str(error, "field"), "revision");
    const char *message = testenv_str(error, "message");
    assert_non_null(strstr(message, "Section 1 'Details of consultation' was saved by you, in another tab"));
    assert_non_null(strstr(message, "nothing was saved"));
    testenv_response_free(&r);
    assert_section_1_unchanged(id, "schools", 1, history);

    /* The manager reads it at revision 1; the admin then saves without a revision, as an API client
     * that sends none: taken as before revisions were kept. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s", id);
    step = testenv_call_json(testenv, manager, "GET", path, NULL, 200);
    assert_int_equal(revision_of(step, "1"), 1);
    json_decref(step);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", id);
    step = testenv_call_json(testenv, admin, "PUT", path, "{\"data\":{\"source\":\"police\"}}", 200);
    assert_int_equal(revision_of(step, "1"), 2);
    json_decref(step);
    history = testenv_sql_long(testenv, sql);

    /* The manager resumes it and saves from the copy read at revision 1: refused, naming the admin
     * and when they saved it (on the office clock), and nothing changed. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/resume", id);
    json_decref(testenv_call_json(testenv, manager, "POST", path, NULL, 200));
    history = testenv_sql_long(testenv, sql);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", id);
    r = testenv_http(testenv, "PUT", path, manager, "{\"data\":{\"source\":\"housing\"},\"revision\":1}",
                     NULL);
    testenv_assert_error(&r, 409, "section_changed");
    message = testenv_str(json_object_get(r.json, "error"), "message");
    char expected[300];
    snprintf(expected, sizeof(expected), "was saved by %s at ", admin_name);
    assert_non_null(strstr(message, expected));
    int hh, mm, day, month, year;
    const char *at = strstr(message, expected) + strlen(expected);
    assert_int_equal(sscanf(at, "%2d:%2d on %2d/%2d/%4d", &hh, &mm, &day, &month, &year), 5);
    testenv_response_free(&r);
    assert_section_1_unchanged(id, "police", 2, history);

    /* From the revision now shown, the save is taken. */
    step = testenv_call_json(testenv, manager, "PUT", path,
                             "{\"data\":{\"source\":\"housing\"},\"revision\":2}", 200);
    assert_int_equal(revision_of(step, "1"), 3);
    assert_string_equal(testenv_str(section_of(step, "1"), "saved_by_name"), manager_name);
    json_decref(step);
    /* A revision that is not a whole number of 0 or more is bad input. */
    testenv_call_error(testenv, manager, "PUT", path, "{\"data\":{},\"revision\":-1}", 400, "invalid_value",
                       "revision");
    testenv_call_error(testenv, manager, "PUT", path, "{\"data\":{},\"revision\":\"3\"}", 400, "invalid_type",
                       "revision");

    /* The finish keeps the next actions as section 3's: from a copy read before section 3 was saved,
     * it is refused and nothing changes; from the revision now shown, it is checked as ever (section 2
     * is still to complete). */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/3", id);
    step = testenv_call_json(
        testenv, manager, "PUT", path,
        "{\"data\":{\"next_actions\":[{\"action\":\"consultation-complete\"}]},\"revision\":0}", 200);
    assert_int_equal(revision_of(step, "3"), 1);
    json_decref(step);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/finish", id);
    testenv_call_error(testenv, manager, "POST", path,
                       "{\"next_actions\":[{\"action\":\"consultation-complete\"}],\"revision\":0}", 409,
                       "section_changed", "revision");
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM workflow.steps WHERE id = %s AND state = 'started'", id);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.sections WHERE step_id = %s AND number = '3' AND revision = 1"
             " AND NOT completed",
             id);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    testenv_call_error(testenv, manager, "POST", path,
                       "{\"next_actions\":[{\"action\":\"consultation-complete\"}],\"revision\":1}", 422,
                       "section_incomplete", "sections");
    free(admin);
    free(manager);
}

static void test_a_request_cannot_be_completed_by_someone_it_was_not_sent_to(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "mash.admin");
    char *sw = testenv_login(testenv, "mash.sw");
    char *eh = testenv_login(testenv, "eh.worker");
    char id[32], path[128], body[200];
    start_step(admin, "front-door-consultation", "CSSW", "organisation", HAMPDEN, id);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", id);
    json_decref(testenv_call_json(testenv, admin, "PUT", path, section1_ok, 200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", id);
    snprintf(body, sizeof(body), "{\"type\":\"pass-to-mash-social-worker\",\"to\":{\"worker_id\":\"%ld\"}}",
             id_of_worker("mash.sw"));
    json_t *step = testenv_call_json(testenv, admin, "POST", path, body, 201);
    char rid[32];
    snprintf(rid, sizeof(rid), "%s", testenv_str(find_request(step, "pass-to-mash-social-worker"), "id"));
    json_decref(step);
    long history_before = testenv_sql_long(testenv, "SELECT count(*) FROM workflow.request_history");
    const char *actions[] = {"complete", "return", "acknowledge"};
    for (int a = 0; a < 3; a++) {
        snprintf(path, sizeof(path), "/api/v1/requests/%s/%s", rid, actions[a]);
        testenv_call_error(testenv, eh, "POST", path, NULL, 403, "not_addressed_to_you", NULL);
        testenv_call_error(testenv, admin, "POST", path, NULL, 403, "not_addressed_to_you", NULL);
    }
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM workflow.request_history"),
                     history_before);
    /* The one it was sent to sees it in their Incoming requests, and may complete it. */
    json_t *wv = testenv_call_json(testenv, sw, "GET", "/api/v1/workview", NULL, 200);
    assert_true(folder_has(wv, "incoming_requests", "request_id", rid));
    json_decref(wv);
    /* As seed 000 has it, 'You may complete or return the request': not acknowledge it. */
    snprintf(path, sizeof(path), "/api/v1/requests/%s/acknowledge", rid);
    testenv_call_error(testenv, sw, "POST", path, NULL, 422, "action_not_allowed", NULL);
    snprintf(path, sizeof(path), "/api/v1/requests/%s/complete", rid);
    json_decref(testenv_call_json(testenv, sw, "POST", path, "{\"note\":\"Seen.\"}", 200));
    wv = testenv_call_json(testenv, sw, "GET", "/api/v1/workview", NULL, 200);
    assert_false(folder_has(wv, "incoming_requests", "request_id", rid));
    json_decref(wv);

    /* Sent to the MASH team, it is its social workers' to act on: not its admin's, though a member. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", id);
    step = testenv_call_json(testenv, admin, "POST", path, "{\"type\":\"pass-to-mash-social-worker\"}", 201);
    char to_team[32] = "";
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(step, "requests"), i, r)
    {
        if (strcmp(testenv_str(r, "status"), "sent") == 0)
            snprintf(to_team, sizeof(to_team), "%s", testenv_str(r, "id"));
    }
    json_decref(step);
    snprintf(path, sizeof(path), "/api/v1/requests/%s/complete", to_team);
    testenv_call_error(testenv, admin, "POST", path, NULL, 403, "role_not_allowed", NULL);
    json_decref(testenv_call_json(testenv, sw, "POST", path, NULL, 200));
    /* Nor is a 'Pass to MASH Manager' sent to a social worker. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", id);
    snprintf(body, sizeof(body), "{\"type\":\"pass-to-mash-manager\",\"to\":{\"worker_id\":\"%ld\"}}",
             id_of_worker("mash.sw"));
    testenv_call_error(testenv, admin, "POST", path, body, 422, "recipient_role", "to");
    free(admin);
    free(sw);
    free(eh);
}

static void test_a_returned_request_goes_back_to_its_sender(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "mash.admin");
    char *manager = testenv_login(testenv, "mash.manager");
    char id[32], path[128], rid[32];
    start_step(admin, "front-door-consultation", "CSSW", "organisation", HAMPDEN, id);
    /* Section 1 first: the manager is passed the details (seed 000, steps 3 and 4). */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", id);
    testenv_call_error(testenv, admin, "POST", path, "{\"type\":\"pass-to-mash-manager\"}", 422,
                       "section_not_completed", "sections.1");
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", id);
    json_decref(testenv_call_json(testenv, admin, "PUT", path, section1_ok, 200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", id);
    json_t *step =
        testenv_call_json(testenv, admin, "POST", path, "{\"type\":\"pass-to-mash-manager\"}", 201);
    /* Sent again while it is open (a double click), it is refused: one waits with the manager. */
    testenv_call_error(testenv, admin, "POST", path, "{\"type\":\"pass-to-mash-manager\"}", 409,
                       "request_already_sent", "type");
    snprintf(rid, sizeof(rid), "%s", testenv_str(find_request(step, "pass-to-mash-manager"), "id"));
    json_decref(step);
    /* Sent, it is not returned. */
    snprintf(path, sizeof(path), "/api/v1/workview?team_id=%ld", id_of_team("MASH Manager"));
    json_t *wv = testenv_call_json(testenv, manager, "GET", path, NULL, 200);
    size_t i;
    json_t *item, *returned = NULL;
    int seen = 0;
    json_array_foreach(folder_of(wv, "incoming_requests"), i, item)
    {
        if (strcmp(testenv_str(item, "request_id"), rid) == 0) {
            assert_string_equal(testenv_str(item, "status"), "sent");
            assert_null(json_object_get(item, "returned"));
            seen = 1;
        }
    }
    assert_true(seen);
    json_decref(wv);
    snprintf(path, sizeof(path), "/api/v1/requests/%s/return", rid);
    step = testenv_call_json(testenv, manager, "POST", path,
                             "{\"note\":\"Section 1 is missing the referrer's number.\"}", 200);
    json_t *req = find_request(step, "pass-to-mash-manager");
    assert_string_equal(testenv_str(req, "status"), "returned");
    assert_string_equal(testenv_str(json_array_get(json_object_get(req, "history"), 1), "action"),
                        "returned");
    json_decref(step);
    /* In the sender's Incoming requests it reads as returned, by whom, when and why, not as new. */
    wv = testenv_call_json(testenv, admin, "GET", "/api/v1/workview", NULL, 200);
    assert_true(folder_has(wv, "incoming_requests", "request_id", rid));
    json_array_foreach(folder_of(wv, "incoming_requests"), i, item)
    {
        if (strcmp(testenv_str(item, "request_id"), rid) == 0) {
            assert_string_equal(testenv_str(item, "status"), "returned");
            returned = json_object_get(item, "returned");
        }
    }
    assert_non_null(returned);
    assert_string_equal(testenv_str(returned, "note"), "Section 1 is missing the referrer's number.");
    char by[24];
    snprintf(by, sizeof(by), "%ld", id_of_worker("mash.manager"));
    assert_string_equal(testenv_str(json_object_get(returned, "by"), "id"), by);
    assert_true(strlen(testenv_str(json_object_get(returned, "by"), "name")) > 0);
    assert_true(strlen(testenv_str(returned, "at")) > 0);
    json_decref(wv);
    snprintf(path, sizeof(path), "/api/v1/requests/%s/acknowledge", rid);
    json_decref(testenv_call_json(testenv, admin, "POST", path, NULL, 200));
    /* Acknowledged again, it is closed: not someone else's. */
    testenv_call_error(testenv, admin, "POST", path, NULL, 409, "request_closed", NULL);
    wv = testenv_call_json(testenv, admin, "GET", "/api/v1/workview", NULL, 200);
    assert_false(folder_has(wv, "incoming_requests", "request_id", rid));
    json_decref(wv);

    /* Sent again once mended; the manager completes it only with the decision recorded (seed 000,
     * steps 7 and 8: section 2, then the request). */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", id);
    step = testenv_call_json(testenv, admin, "POST", path, "{\"type\":\"pass-to-mash-manager\"}", 201);
    char again[32] = "";
    json_array_foreach(json_object_get(step, "requests"), i, item)
    {
        if (strcmp(testenv_str(item, "status"), "sent") == 0)
            snprintf(again, sizeof(again), "%s", testenv_str(item, "id"));
    }
    json_decref(step);
    snprintf(path, sizeof(path), "/api/v1/requests/%s/complete", again);
    testenv_call_error(testenv, manager, "POST", path, NULL, 422, "section_not_completed", "sections.2");
    /* Saved on the way by the admin, section 2 names no one as its completer: the manager completes it. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/2", id);
    step = testenv_call_json(testenv, admin, "PUT", path, "{\"data\":{\"advice\":\"\"},\"completed\":false}",
                             200);
    assert_null(json_object_get(json_object_get(json_array_get(json_object_get(step, "sections"), 1), "data"),
                                "completed_by"));
    json_decref(step);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/resume", id);
    json_decref(testenv_call_json(testenv, manager, "POST", path, NULL, 200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/2", id);
    step = testenv_call_json(testenv, manager, "PUT", path,
                             "{\"data\":{\"advice\":\"Advice given.\",\"outcomes\":[]},\"completed\":true}",
                             200);
    char manager_id[24];
    snprintf(manager_id, sizeof(manager_id), "%ld", id_of_worker("mash.manager"));
    assert_string_equal(
        testenv_str(json_object_get(json_array_get(json_object_get(step, "sections"), 1), "data"),
                    "completed_by"),
        manager_id);
    json_decref(step);
    snprintf(path, sizeof(path), "/api/v1/requests/%s/complete", again);
    json_decref(testenv_call_json(testenv, manager, "POST", path, NULL, 200));
    free(admin);
    free(manager);
}

/* Returns refused for want of a note: each body in turn is 422 note_required naming note, and the
 * request, its history, the Incoming requests it waits in and its step's history stay as they were. */
static void assert_return_refused_without_a_note(const char *token, const char *rid, const char *step_id)
{
    char path[96], sql[300];
    snprintf(sql, sizeof(sql),
             "SELECT (SELECT count(*) FROM workflow.requests WHERE id = %s AND status = 'sent'"
             "  AND inbox = recipient) * 1000000"
             " + (SELECT count(*) FROM workflow.request_history WHERE request_id = %s) * 1000"
             " + (SELECT count(*) FROM workflow.step_history WHERE step_id = %s)",
             rid, rid, step_id);
    long before = testenv_sql_long(testenv, sql);
    assert_true(before >= 1000000);
    snprintf(path, sizeof(path), "/api/v1/requests/%s/return", rid);
    const char *bodies[] = {NULL, "{}", "{\"note\":\"\"}", "{\"note\":\"  \\n\\t  \"}"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        testenv_response_t r = testenv_http(testenv, "POST", path, token, bodies[i], NULL);
        testenv_assert_error(&r, 422, "note_required");
        const json_t *error = json_object_get(r.json, "error");
        assert_string_equal(testenv_str(error, "field"), "note");
        assert_non_null(strstr(testenv_str(error, "message"), "Enter why you are returning"));
        testenv_response_free(&r);
    }
    assert_int_equal(testenv_sql_long(testenv, sql), before);
}

/* A returned request goes back to its sender, who is told only "Returned by NAME" and the note: a
 * return must say why, whatever the request (seed 000's three, a support request to system
 * support), while completing needs no note. A CP-IS notification is acknowledged, never returned. */
static void test_a_request_is_returned_only_with_a_note_saying_why(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "mash.admin");
    char *manager = testenv_login(testenv, "mash.manager");
    char *sw = testenv_login(testenv, "mash.sw");
    char *eh = testenv_login(testenv, "eh.worker");
    char *support = testenv_login(testenv, "admin");
    char cssw[32], csew[32], path[128], rid[32];

    /* 'Pass to MASH Manager', to the MASH Manager team: the manager says why, or it stays theirs. */
    start_step(admin, "front-door-consultation", "CSSW", "organisation", HAMPDEN, cssw);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", cssw);
    json_decref(testenv_call_json(testenv, admin, "PUT", path, section1_ok, 200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", cssw);
    json_t *step =
        testenv_call_json(testenv, admin, "POST", path, "{\"type\":\"pass-to-mash-manager\"}", 201);
    snprintf(rid, sizeof(rid), "%s", testenv_str(find_request(step, "pass-to-mash-manager"), "id"));
    json_decref(step);
    assert_return_refused_without_a_note(manager, rid, cssw);
    /* Someone it was not sent to is told so first: the note is not what stops them. */
    snprintf(path, sizeof(path), "/api/v1/requests/%s/return", rid);
    testenv_call_error(testenv, eh, "POST", path, NULL, 403, "not_addressed_to_you", NULL);
    step = testenv_call_json(testenv, manager, "POST", path,
                             "{\"note\":\"  The referrer's number, please. \"}", 200);
    json_t *req = find_request(step, "pass-to-mash-manager");
    assert_string_equal(testenv_str(req, "status"), "returned");
    assert_string_equal(testenv_str(json_array_get(json_object_get(req, "history"), 1), "note"),
                        "  The referrer's number, please. ");
    json_decref(step);

    /* 'Pass to MASH Social Worker', to the MASH team: its social worker likewise; completing it, the
     * same worker needs no note. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", cssw);
    step = testenv_call_json(testenv, admin, "POST", path, "{\"type\":\"pass-to-mash-social-worker\"}", 201);
    snprintf(rid, sizeof(rid), "%s", testenv_str(find_request(step, "pass-to-mash-social-worker"), "id"));
    json_decref(step);
    assert_return_refused_without_a_note(sw, rid, cssw);
    snprintf(path, sizeof(path), "/api/v1/requests/%s/complete", rid);
    step = testenv_call_json(testenv, sw, "POST", path, NULL, 200);
    assert_string_equal(testenv_str(find_request(step, "pass-to-mash-social-worker"), "status"), "completed");
    json_decref(step);

    /* 'Please review information and confirm next action' (CSEW), to Early Help. */
    start_step(admin, "front-door-consultation", "CSEW", "organisation", HAMPDEN, csew);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", csew);
    json_decref(testenv_call_json(testenv, admin, "PUT", path, section1_ok, 200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", csew);
    step = testenv_call_json(testenv, admin, "POST", path,
                             "{\"type\":\"please-review-information-and-confirm-next-action\"}", 201);
    snprintf(rid, sizeof(rid), "%s",
             testenv_str(find_request(step, "please-review-information-and-confirm-next-action"), "id"));
    json_decref(step);
    assert_return_refused_without_a_note(eh, rid, csew);
    snprintf(path, sizeof(path), "/api/v1/requests/%s/return", rid);
    json_decref(testenv_call_json(testenv, eh, "POST", path, "{\"note\":\"Not one for Early Help.\"}", 200));

    /* A support request to system support (seed 001), whose type allows every action. */
    char support_step[32];
    step =
        testenv_call_json(testenv, manager, "POST", "/api/v1/steps", "{\"type\":\"add-organisation\"}", 201);
    snprintf(support_step, sizeof(support_step), "%s", testenv_str(step, "id"));
    json_decref(step);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", support_step);
    step = testenv_call_json(testenv, manager, "POST", path, "{\"type\":\"action-by-system-support\"}", 201);
    snprintf(rid, sizeof(rid), "%s", testenv_str(find_request(step, "action-by-system-support"), "id"));
    json_decref(step);
    assert_return_refused_without_a_note(support, rid, support_step);
    snprintf(path, sizeof(path), "/api/v1/requests/%s/return", rid);
    json_decref(testenv_call_json(testenv, support, "POST", path,
                                  "{\"note\":\"Give the organisation's address.\"}", 200));
    /* Its sender acknowledges it back without a note: that is not a return. */
    snprintf(path, sizeof(path), "/api/v1/requests/%s/acknowledge", rid);
    json_decref(testenv_call_json(testenv, manager, "POST", path, NULL, 200));
    free(admin);
    free(manager);
    free(sw);
    free(eh);
    free(support);
}

static void test_a_step_cannot_finish_while_a_required_section_is_incomplete_and_nothing_changes(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "mash.admin");
    char id[32], path[128];
    start_step(admin, "front-door-consultation", "CSEW", "organisation", HAMPDEN, id);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/finish", id);
    /* Every section still to complete is named at once, not one a try. */
    testenv_response_t both = testenv_http(
        testenv, "POST", path, admin, "{\"next_actions\":[{\"action\":\"consultation-complete\"}]}", NULL);
    testenv_assert_error(&both, 422, "section_incomplete");
    const json_t *faults = json_object_get(both.json, "errors");
    assert_int_equal(json_array_size(faults), 2);
    assert_non_null(
        strstr(testenv_str(json_array_get(faults, 0), "message"), "section 1 'Details of consultation'"));
    assert_non_null(strstr(testenv_str(json_array_get(faults, 1), "message"), "section 2 "));
    testenv_response_free(&both);
    /* A section saved but not marked complete is still incomplete. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", id);
    json_decref(testenv_call_json(testenv, admin, "PUT", path, "{\"data\":{\"source\":\"schools\"}}", 200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/finish", id);
    testenv_call_error(testenv, admin, "POST", path,
                       "{\"next_actions\":[{\"action\":\"consultation-complete\"}]}", 422,
                       "section_incomplete", "sections");
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.steps WHERE id = %s AND state = 'started' AND folder = 'current'",
             id);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM workflow.next_actions WHERE step_id = %s", id);
    assert_int_equal(testenv_sql_long(testenv, sql), 0);
    /* Nor are the actions it was refused with kept as section 3's. */
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM workflow.sections WHERE step_id = %s AND number = '3'",
             id);
    assert_int_equal(testenv_sql_long(testenv, sql), 0);
    free(admin);
}

static void
test_a_required_reason_is_asked_for_and_a_cpis_follow_up_runs_through_the_cp_is_worker_queue(void **state)
{
    (void)state;
    char *sa = testenv_login(testenv, "safeguarding.admin");
    char *kw = testenv_login(testenv, "key.worker");
    char *sw = testenv_login(testenv, "mash.sw");
    char child[32], id[32], path[160], body[900];
    testenv_add_person(testenv, sw, "Thomas", "Turnstone", "2016-11-28", child);
    /* Started for the virtual worker 'CP-IS Worker': it arrives in that queue's Incoming work. */
    json_t *step = testenv_call_json(testenv, sa, "POST", "/api/v1/steps",
                                     "{\"type\":\"cpis-follow-up\",\"subject\":{\"kind\":\"person\",\"id\":\""
                                     "0"
                                     "\"}}",
                                     400);
    json_decref(step);
    start_step(sa, "cpis-follow-up", "", "person", child, id);
    json_t *wv = testenv_call_json(testenv, sa, "GET", "/api/v1/workview?queue=cp-is-worker", NULL, 200);
    assert_true(folder_has(wv, "incoming_work", "step_id", id));
    json_decref(wv);
    /* The child's summary page lists the open step. */
    snprintf(path, sizeof(path), "/api/v1/people/%s", child);
    json_t *summary = testenv_call_json(testenv, sw, "GET", path, NULL, 200);
    int listed = 0;
    size_t k;
    json_t *it0;
    json_array_foreach(json_object_get(summary, "steps"), k, it0)
    {
        listed |= strcmp(testenv_str(it0, "id"), id) == 0 && json_is_true(json_object_get(it0, "open"));
    }
    assert_true(listed);
    json_decref(summary);
    testenv_call_error(testenv, sw, "GET", "/api/v1/workview?queue=cp-is-worker", NULL, 403, "forbidden",
                       NULL);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/resume", id);
    json_decref(testenv_call_json(testenv, sa, "POST", path, "{}", 200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", id);
    json_decref(testenv_call_json(testenv, sa, "PUT", path,
                                  "{\"data\":{\"comments\":\"Seen at A&E.\"},\"completed\":true}", 200));
    /* Started by hand, the follow-up's facts are recorded by its first save and then fixed, as a
     * notification's are. */
    testenv_call_error(testenv, sa, "PUT", path, "{\"data\":{\"comments\":\"Rang 111.\"},\"completed\":true}",
                       400, "read_only_field", "data.comments");
    /* A reason saying the key worker was told is not taken before anyone is: the step would end
     * with the notification lost. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/finish", id);
    const char *reasons_of_a_request[] = {"notification-sent-to-allocated-worker",
                                          "no-allocated-worker-passed-to-team-manager"};
    for (size_t r = 0; r < 2; r++) {
        snprintf(body, sizeof(body),
                 "{\"next_actions\":[{\"action\":\"cs-no-further-action\",\"reason\":\"%s\"}]}",
                 reasons_of_a_request[r]);
        testenv_call_error(testenv, sa, "POST", path, body, 422, "request_not_sent",
                           "next_actions[0].reason");
    }
    /* Nor one for a restricted record's follow-up, which the key worker gives: this child's is not. */
    testenv_call_error(testenv, sa, "POST", path,
                       "{\"next_actions\":[{\"action\":\"cs-no-further-action\",\"reason\":"
                       "\"restricted-record-followed-up-by-key-worker\",\"case_note\":\"x\"}]}",
                       422, "subject_not_restricted", "next_actions[0].reason");
    char still_open[128];
    snprintf(still_open, sizeof(still_open),
             "SELECT count(*) FROM workflow.steps WHERE id = %s AND state = 'started'", id);
    assert_int_equal(testenv_sql_long(testenv, still_open), 1);
    /* The notification to the key worker, with the seed's A&E note. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", id);
    snprintf(
        body, sizeof(body),
        "{\"type\":\"cs-notification-to-allocated-worker-cpis-follow-up\",\"to\":{\"worker_id\":\"%ld\"},"
        "\"note\":\"Please acknowledge notification of service access request. Information has been received "
        "today that a health professional has accessed CP-IS. Please create a CP-IS case note re action "
        "taken.\"}",
        id_of_worker("key.worker"));
    step = testenv_call_json(testenv, sa, "POST", path, body, 201);
    char rid[32];
    snprintf(rid, sizeof(rid), "%s",
             testenv_str(find_request(step, "cs-notification-to-allocated-worker-cpis-follow-up"), "id"));
    json_decref(step);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/finish", id);
    testenv_call_error(testenv, sa, "POST", path,
                       "{\"next_actions\":[{\"action\":\"cs-no-further-action\",\"priority\":\"normal\"}]}",
                       422, "reason_required", "next_actions[0].reason");
    testenv_call_error(testenv, sa, "POST", path,
                       "{\"next_actions\":[{\"action\":\"cs-no-further-action\",\"reason\":\"bored\"}]}", 422,
                       "unknown_reason", "next_actions[0].reason");
    testenv_call_error(
        testenv, sa, "POST", path,
        "{\"next_actions\":[{\"action\":\"cs-no-further-action\",\"reason\":\"duplicate-notification\","
        "\"priority\":\"whenever\"}]}",
        400, "invalid_value", "next_actions[0].priority");
    /* Each fault of the actions named at once: the missing reason and the bad priority. */
    testenv_response_t both = testenv_http(
        testenv, "POST", path, sa,
        "{\"next_actions\":[{\"action\":\"cs-no-further-action\",\"priority\":\"whenever\"}]}", NULL);
    testenv_assert_error(&both, 400, "invalid_value");
    const json_t *faults = json_object_get(both.json, "errors");
    assert_int_equal(json_array_size(faults), 2);
    assert_string_equal(testenv_str(json_array_get(faults, 0), "field"), "next_actions[0].reason");
    assert_string_equal(testenv_str(json_array_get(faults, 1), "field"), "next_actions[0].priority");
    testenv_response_free(&both);
    step = testenv_call_json(
        testenv, sa, "POST", path,
        "{\"next_actions\":[{\"action\":\"cs-no-further-action\",\"reason\":"
        "\"notification-sent-to-allocated-worker\",\"note\":\"Key worker told.\",\"priority\":\"urgent\"}]}",
        200);
    json_t *na = json_array_get(json_object_get(step, "next_actions"), 0);
    assert_string_equal(testenv_str(na, "reason_title"), "Notification sent to allocated worker");
    assert_string_equal(testenv_str(na, "priority"), "urgent");
    json_decref(step);
    /* The key worker's Incoming requests: titled as the seed shows, with the note. */
    wv = testenv_call_json(testenv, kw, "GET", "/api/v1/workview", NULL, 200);
    json_t *item = NULL, *it;
    size_t i;
    json_array_foreach(folder_of(wv, "incoming_requests"), i, it)
    {
        if (strcmp(testenv_str(it, "request_id"), rid) == 0)
            item = it;
    }
    assert_non_null(item);
    assert_string_equal(testenv_str(item, "title"),
                        "CS Notification to Allocated Worker - CPIS Follow Up: CPIS Follow Up");
    assert_non_null(strstr(testenv_str(item, "note"), "health professional has accessed CP-IS"));
    json_decref(wv);
    /* A notification is acknowledged, never returned: no note makes a return of it. */
    snprintf(path, sizeof(path), "/api/v1/requests/%s/return", rid);
    testenv_call_error(testenv, kw, "POST", path, "{\"note\":\"Not mine.\"}", 422, "action_not_allowed",
                       NULL);
    testenv_call_error(testenv, kw, "POST", path, NULL, 422, "action_not_allowed", NULL);
    snprintf(path, sizeof(path), "/api/v1/requests/%s/acknowledge", rid);
    /* With the CP-IS case note the notification asks for (tests/integration/test_cpis.c has the rule). */
    step = testenv_call_json(testenv, kw, "POST", path,
                             "{\"case_note\":\"Called the family; no new concerns.\"}", 200);
    assert_string_equal(
        testenv_str(find_request(step, "cs-notification-to-allocated-worker-cpis-follow-up"), "status"),
        "acknowledged");
    json_decref(step);
    free(sa);
    free(kw);
    free(sw);
}

/* A council has more workers than a list can show: the recipients offered are the first 50 whose
 * names match what was typed, with the workers asked for by id first whatever their names (the
 * person's key worker, seed 003's 'find the name of the Key Worker currently involved'). */
static void test_recipients_offer_the_workers_named_first_and_find_any_worker_by_name(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char child[32], id[32], path[200], username[32], name[64], worker[32], zed[32];
    for (int k = 0; k < 52; k++) {
        snprintf(username, sizeof(username), "aa.recipient%02d", k);
        snprintf(name, sizeof(name), "Aaron Recipient %02d", k);
        testenv_add_worker(testenv, admin, username, name, "\"roles\":[\"social-worker\"]", worker);
    }
    testenv_add_worker(testenv, admin, "zed.keyworker", "Zed Zebedee-Keyworker",
                       "\"roles\":[\"social-worker\"]", zed);
    testenv_add_person(testenv, admin, "Mabel", "Quennell", "2017-02-03", child);
    start_step(admin, "cpis-follow-up", "", "person", child, id);
    int found = -1;
    for (int attempt = 0; attempt < 100 && found < 0; attempt++) { /* until workflow has heard of them */
        snprintf(path, sizeof(path), "/api/v1/steps/%s/recipients?q=zebedee", id);
        json_t *list = testenv_call_json(testenv, admin, "GET", path, NULL, 200);
        if (json_array_size(json_object_get(list, "items")) == 1)
            found = strcmp(testenv_str(json_array_get(json_object_get(list, "items"), 0), "id"), zed) == 0;
        json_decref(list);
        if (found < 0)
            usleep(50 * 1000);
    }
    assert_int_equal(found, 1);
    /* Unnamed and not typed, Zed is past the first 50 workers by name. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/recipients", id);
    json_t *list = testenv_call_json(testenv, admin, "GET", path, NULL, 200);
    size_t i, workers = 0;
    json_t *it;
    json_array_foreach(json_object_get(list, "items"), i, it)
    {
        if (strcmp(testenv_str(it, "kind"), "worker") != 0)
            continue;
        workers++;
        assert_string_not_equal(testenv_str(it, "id"), zed);
    }
    assert_int_equal(workers, 50);
    json_decref(list);
    /* Named, Zed comes first, before the 50 matches. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/recipients?worker_ids=%s", id, zed);
    list = testenv_call_json(testenv, admin, "GET", path, NULL, 200);
    const json_t *first = json_array_get(json_object_get(list, "items"), 0);
    assert_string_equal(testenv_str(first, "kind"), "worker");
    assert_string_equal(testenv_str(first, "id"), zed);
    assert_string_equal(testenv_str(first, "name"), "Zed Zebedee-Keyworker");
    json_decref(list);
    /* Ids that are not ids are refused, naming the parameter. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/recipients?worker_ids=%s,,x", id, zed);
    testenv_call_error(testenv, admin, "GET", path, NULL, 400, "invalid_id", "worker_ids");
    free(admin);
}

/* text as a URL's query value, at out. */
static void query_value(const char *text, char *out, size_t size)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p && n + 4 < size; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-')
            out[n++] = (char)*p;
        else
            n += (size_t)snprintf(out + n, size - n, "%%%02X", *p);
    }
    out[n] = '\0';
}

/* Whether the recipients offered at path list one of kind whose name is name. */
static int offers(const char *token, const char *path, const char *kind, const char *name)
{
    json_t *list = testenv_call_json(testenv, token, "GET", path, NULL, 200);
    int found = 0;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(list, "items"), i, it)
    {
        found |= strcmp(testenv_str(it, "kind"), kind) == 0 && strcmp(testenv_str(it, "name"), name) == 0;
    }
    json_decref(list);
    return found;
}

/* 'Pass to worker' offered every worker and team, though sending refuses a worker whose roles do not
 * act on the request type: asked for a type, the recipients leave out those workers and the teams
 * with no current member who does (the auditor, a contracted service, a team of social workers for
 * a 'Pass to MASH Manager'), and the kinds the type may not go to; sending one to such a team is
 * refused as the worker is. Without a type, everyone is offered, as for assigning the step. */
static void test_recipients_for_a_request_type_are_only_those_who_may_act_on_it(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "mash.admin");
    char *support = testenv_login(testenv, "admin");
    char id[32], path[400], named[200], body[200];
    start_step(admin, "front-door-consultation", "CSSW", "organisation", HAMPDEN, id);
    snprintf(named, sizeof(named), "%ld,%ld,%ld,%ld,%ld,%ld", id_of_worker("auditor"),
             id_of_worker("carers.worker"), id_of_worker("mash.manager"), id_of_worker("mash.sw"),
             id_of_worker("mash.admin"), id_of_worker("cin.manager"));
    /* The workers named, whatever their names; no one else matches q. */
    const char *mgr = "type=pass-to-mash-manager", *sw = "type=pass-to-mash-social-worker";
    snprintf(path, sizeof(path), "/api/v1/steps/%s/recipients?%s&q=zz-no-one&worker_ids=%s", id, mgr, named);
    assert_true(offers(admin, path, "worker", "Priya Mannering"));
    assert_true(offers(admin, path, "worker", "Noor Bradwell"));
    assert_false(offers(admin, path, "worker", "Avery Auden"));
    assert_false(offers(admin, path, "worker", "Robin Ashgrove"));
    assert_false(offers(admin, path, "worker", "Sam Whitfield"));
    assert_false(offers(admin, path, "worker", "Morgan Ashby"));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/recipients?%s&q=zz-no-one&worker_ids=%s", id, sw, named);
    assert_true(offers(admin, path, "worker", "Sam Whitfield"));
    assert_true(offers(admin, path, "worker", "Robin Ashgrove"));
    assert_false(offers(admin, path, "worker", "Avery Auden"));
    assert_false(offers(admin, path, "worker", "Morgan Ashby"));
    /* Teams: those with a current member who acts on it. */
    const char *teams[][3] = {
        {"MASH Manager", "1", "1"},           {"MASH", "0", "1"},
        {"Children in Need 1", "1", "1"},     {"Early Help", "0", "0"},
        {"Information Governance", "0", "0"}, {"Carers' Service (contracted)", "0", "1"}};
    for (size_t t = 0; t < sizeof(teams) / sizeof(teams[0]); t++) {
        char q[128];
        query_value(teams[t][0], q, sizeof(q));
        snprintf(path, sizeof(path), "/api/v1/steps/%s/recipients?%s&q=%s", id, mgr, q);
        if (offers(admin, path, "team", teams[t][0]) != (teams[t][1][0] == '1'))
            fail_msg("'Pass to MASH Manager' %s the team %s",
                     teams[t][1][0] == '1' ? "does not offer" : "offers", teams[t][0]);
        snprintf(path, sizeof(path), "/api/v1/steps/%s/recipients?%s&q=%s", id, sw, q);
        if (offers(admin, path, "team", teams[t][0]) != (teams[t][2][0] == '1'))
            fail_msg("'Pass to MASH Social Worker' %s the team %s",
                     teams[t][2][0] == '1' ? "does not offer" : "offers", teams[t][0]);
    }
    /* Without a type, everyone, as before: the step is assigned to whom its worker chooses. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/recipients?q=zz-no-one&worker_ids=%s", id, named);
    assert_true(offers(admin, path, "worker", "Avery Auden"));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/recipients?q=Early", id);
    assert_true(offers(admin, path, "team", "Early Help"));
    /* A type the step cannot raise (the other variant's, or none such) is refused, naming it. */
    snprintf(path, sizeof(path),
             "/api/v1/steps/%s/recipients?type=please-review-information-and-confirm-next-action", id);
    testenv_call_error(testenv, admin, "GET", path, NULL, 422, "request_not_allowed", "type");
    snprintf(path, sizeof(path), "/api/v1/steps/%s/recipients?type=pass-to-the-moon", id);
    testenv_call_error(testenv, admin, "GET", path, NULL, 422, "request_not_allowed", "type");

    /* What is not offered is refused when sent: a team with no one to act on it, as a worker. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", id);
    json_decref(testenv_call_json(testenv, admin, "PUT", path, section1_ok, 200));
    long history = testenv_sql_long(testenv, "SELECT count(*) FROM workflow.request_history");
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", id);
    snprintf(body, sizeof(body), "{\"type\":\"pass-to-mash-manager\",\"to\":{\"team_id\":\"%ld\"}}",
             id_of_team("MASH"));
    testenv_call_error(testenv, admin, "POST", path, body, 422, "recipient_role", "to");
    snprintf(body, sizeof(body), "{\"type\":\"pass-to-mash-manager\",\"to\":{\"team_id\":\"%ld\"}}",
             id_of_team("Carers'' Service (contracted)"));
    testenv_call_error(testenv, admin, "POST", path, body, 422, "recipient_role", "to");
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM workflow.request_history"), history);
    snprintf(body, sizeof(body), "{\"type\":\"pass-to-mash-manager\",\"to\":{\"team_id\":\"%ld\"}}",
             id_of_team("Children in Need 1"));
    json_decref(testenv_call_json(testenv, admin, "POST", path, body, 201));

    /* A team's only member who acts on it has left: it is neither offered nor sent one. */
    char lead[32];
    testenv_add_worker(testenv, support, "eh.lead", "Ellis Leadbetter",
                       "\"roles\":[\"team-manager\"],\"teams\":[\"Early Help\"]", lead);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/recipients?%s&q=Early", id, mgr);
    assert_true(offers(admin, path, "team", "Early Help"));
    testenv_end_worker(testenv, support, lead, "Left the council.");
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM workflow.workers WHERE id = %s AND ended", lead);
    for (int i = 0; i < 100 && testenv_sql_long(testenv, sql) != 1; i++)
        usleep(100 * 1000);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    assert_false(offers(admin, path, "team", "Early Help"));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", id);
    snprintf(body, sizeof(body), "{\"type\":\"pass-to-mash-manager\",\"to\":{\"team_id\":\"%ld\"}}",
             id_of_team("Early Help"));
    testenv_call_error(testenv, admin, "POST", path, body, 422, "recipient_role", "to");

    /* A CP-IS notification goes to a worker: no team is offered it. */
    char child[32], follow_up[32];
    testenv_add_person(testenv, support, "Nia", "Teamless", "2016-05-05", child);
    start_step(support, "cpis-follow-up", "", "person", child, follow_up);
    snprintf(path, sizeof(path),
             "/api/v1/steps/%s/recipients?type=cs-notification-to-allocated-worker-cpis-follow-up&q=MASH",
             follow_up);
    assert_false(offers(support, path, "team", "MASH"));
    assert_false(offers(support, path, "team", "MASH Manager"));
    free(admin);
    free(support);
}

static void
test_a_worker_without_access_to_a_restricted_subject_is_not_offered_and_cannot_be_sent_work(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *eh = testenv_login(testenv, "eh.worker");
    char child[32], id[32], path[240], body[300];
    testenv_add_person(testenv, admin, "Rowan", "Hollis", "2016-11-28", child);
    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", child);
    snprintf(body, sizeof(body), "{\"reason\":\"high-risk\",\"review_date\":\"2099-06-01\",\"workers\":[]}");
    json_decref(testenv_call_json(testenv, admin, "PUT", path, body, 200));
    /* Not for the CP-IS desk, whose workers cannot open the record: system support's queue, where
     * the definition would have started it; the desk's chosen by name is refused. */
    snprintf(body, sizeof(body),
             "{\"type\":\"cpis-follow-up\",\"subject\":{\"kind\":\"person\",\"id\":\"%s\"},"
             "\"assign_to\":{\"virtual_worker\":\"cp-is-worker\"}}",
             child);
    testenv_call_error(testenv, admin, "POST", "/api/v1/steps", body, 422, "recipient_has_no_access",
                       "to.virtual_worker");
    snprintf(body, sizeof(body),
             "{\"type\":\"cpis-follow-up\",\"subject\":{\"kind\":\"person\",\"id\":\"%s\"}}", child);
    json_t *started = testenv_call_json(testenv, admin, "POST", "/api/v1/steps", body, 201);
    assert_string_equal(testenv_str(json_object_get(started, "assigned_to"), "key"), "system-support");
    snprintf(id, sizeof(id), "%s", testenv_str(started, "id"));
    json_decref(started);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/resume", id);
    json_decref(testenv_call_json(testenv, admin, "POST", path, NULL, 200));
    /* The recipients offered leave out the early-help worker even when named (naming a worker opens
     * nothing); the MASH social worker keeps access. */
    char eh_id[32], sw_id[32];
    snprintf(eh_id, sizeof(eh_id), "%ld", id_of_worker("eh.worker"));
    snprintf(sw_id, sizeof(sw_id), "%ld", id_of_worker("mash.sw"));
    /* Both named, so that the answer does not depend on who else sorts first by name. */
    snprintf(path, sizeof(path),
             "/api/v1/steps/%s/"
             "recipients?type=cs-notification-to-allocated-worker-cpis-follow-up&worker_ids=%s,%s",
             id, sw_id, eh_id);
    json_t *list = testenv_call_json(testenv, admin, "GET", path, NULL, 200);
    int has_eh = 0, has_sw = 0;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(list, "items"), i, it)
    {
        has_eh |= strcmp(testenv_str(it, "kind"), "worker") == 0 && strcmp(testenv_str(it, "id"), eh_id) == 0;
        has_sw |= strcmp(testenv_str(it, "kind"), "worker") == 0 && strcmp(testenv_str(it, "id"), sw_id) == 0;
    }
    assert_false(has_eh);
    assert_true(has_sw);
    json_decref(list);
    /* A machine account (the spine poller's) is no one to send work to: not offered, refused. */
    char poller[32];
    testenv_add_service_account(testenv, admin, "wf.poller", "Workflow Test Poller", "cpis-service", poller);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", id);
    snprintf(
        body, sizeof(body),
        "{\"type\":\"cs-notification-to-allocated-worker-cpis-follow-up\",\"to\":{\"worker_id\":\"%s\"}}",
        poller);
    testenv_response_t r = {0};
    for (int i = 0; i < 100; i++) { /* until the workflow daemon has heard of the account */
        testenv_response_free(&r);
        r = testenv_http(testenv, "POST", path, admin, body, NULL);
        if (r.status != 404)
            break;
        usleep(50 * 1000);
    }
    testenv_assert_error(&r, 422, "not_a_person");
    testenv_response_free(&r);
    snprintf(path, sizeof(path),
             "/api/v1/steps/%s/recipients?type=cs-notification-to-allocated-worker-cpis-follow-up&q=Poller",
             id);
    list = testenv_call_json(testenv, admin, "GET", path, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 0);
    json_decref(list);
    long requests_before = testenv_sql_long(testenv, "SELECT count(*) FROM workflow.requests");
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", id);
    snprintf(
        body, sizeof(body),
        "{\"type\":\"cs-notification-to-allocated-worker-cpis-follow-up\",\"to\":{\"worker_id\":\"%s\"}}",
        eh_id);
    testenv_call_error(testenv, admin, "POST", path, body, 422, "recipient_has_no_access", "to.worker_id");
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM workflow.requests"), requests_before);
    /* Nor can the step be assigned to them, nor can they read it. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/assign", id);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%s\"}", eh_id);
    testenv_call_error(testenv, admin, "POST", path, body, 422, "recipient_has_no_access", "to.worker_id");
    snprintf(path, sizeof(path), "/api/v1/steps/%s", id);
    testenv_call_error(testenv, eh, "GET", path, NULL, 403, "restricted_record", NULL);
    /* The refused attempt is in the audit trail, under the person, from the workflow daemon. */
    char sql[300];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE producer = 'workflow' AND record_kind = 'person'"
             " AND record_id = %s AND action = 'refused' AND worker_id = %s",
             child, eh_id);
    long refused = 0;
    for (int i = 0; i < 100 && refused == 0; i++) {
        refused = testenv_sql_long(testenv, sql);
        if (refused == 0)
            usleep(50 * 1000);
    }
    assert_int_equal(refused, 1);
    /* Nor the person's summary, steps and all; those with access see the steps on it. */
    snprintf(path, sizeof(path), "/api/v1/people/%s", child);
    testenv_call_error(testenv, eh, "GET", path, NULL, 403, "restricted_record", NULL);
    json_t *person = testenv_call_json(testenv, admin, "GET", path, NULL, 200);
    assert_true(json_array_size(json_object_get(person, "steps")) >= 1);
    json_decref(person);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", id);
    snprintf(
        body, sizeof(body),
        "{\"type\":\"cs-notification-to-allocated-worker-cpis-follow-up\",\"to\":{\"worker_id\":\"%s\"}}",
        sw_id);
    json_decref(testenv_call_json(testenv, admin, "POST", path, body, 201));
    free(admin);
    free(eh);
}

/* The item of a folder of a workview whose key is id, or NULL (borrowed). */
static json_t *folder_item(json_t *workview, const char *folder, const char *key, const char *id)
{
    size_t i;
    json_t *item;
    json_array_foreach(folder_of(workview, folder), i, item)
    {
        if (strcmp(testenv_str(item, key), id) == 0)
            return item;
    }
    return NULL;
}

/* Waits up to five seconds for a count to reach want; the count last read. */
static long wait_for_count(const char *sql, long want)
{
    long n = -1;
    for (int i = 0; i < 100; i++) {
        n = testenv_sql_long(testenv, sql);
        if (n == want)
            break;
        usleep(50 * 1000);
    }
    return n;
}

/* Starts a CPIS Follow up about the person (it waits in the CP-IS Worker queue) and has the CP-IS
 * desk's worker take it into their Current work; its id at step. */
static void cpis_follow_up_taken_by_the_desk(const char *admin, const char *desk, const char *person,
                                             char step[32])
{
    char path[128];
    start_step(admin, "cpis-follow-up", "", "person", person, step);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/resume", step);
    json_decref(testenv_call_json(testenv, desk, "POST", path, NULL, 200));
}

/* Sends the step's CS notification to the worker with the note; the request's id at rid. */
static void notify_worker(const char *token, const char *step, const char *username, const char *note,
                          char rid[32])
{
    char path[128], body[400], sql[160];
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", step);
    snprintf(
        body, sizeof(body),
        "{\"type\":\"cs-notification-to-allocated-worker-cpis-follow-up\",\"to\":{\"worker_id\":\"%ld\"},"
        "\"note\":\"%s\"}",
        id_of_worker(username), note);
    json_decref(testenv_call_json(testenv, token, "POST", path, body, 201));
    snprintf(sql, sizeof(sql), "SELECT max(id) FROM workflow.requests WHERE step_id = %s", step);
    snprintf(rid, 32, "%ld", testenv_sql_long(testenv, sql));
}

/* The note of the request in the worker's Incoming requests as the caller sees it ("" for the
 * worker's own), or NULL when the item shows none; the item must be there. *restricted: whether it
 * is marked as about a record the caller cannot open. */
static const char *request_note_seen(json_t **view, const char *token, const char *username, const char *rid,
                                     int *restricted)
{
    char path[128];
    if (username[0])
        snprintf(path, sizeof(path), "/api/v1/workview?worker_id=%ld", id_of_worker(username));
    else
        snprintf(path, sizeof(path), "/api/v1/workview");
    *view = testenv_call_json(testenv, token, "GET", path, NULL, 200);
    json_t *item = folder_item(*view, "incoming_requests", "request_id", rid);
    assert_non_null(item);
    assert_non_null(testenv_str(json_object_get(item, "subject"), "name"));
    *restricted = json_is_true(json_object_get(item, "restricted"));
    return json_string_value(json_object_get(item, "note"));
}

/* A request's note is work about its person: once the record is restricted, a workview shows it
 * only to a caller who can open the record, whoever's workview it is (a manager looking at a
 * worker's), and shows the rest (Recently viewed too) with no more than the person's name. When
 * records cannot say who may open it, nobody is shown the note. */
static void
test_a_workview_shows_work_about_a_restricted_record_by_name_only_to_those_without_access(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *desk = testenv_login(testenv, "safeguarding.admin");
    char *sw = testenv_login(testenv, "mash.sw");
    char *eh = testenv_login(testenv, "eh.worker");
    char *cin = testenv_login(testenv, "cin.manager");
    char *mash_manager = testenv_login(testenv, "mash.manager");
    char person[32], step[32], rid[32], path[160], body[200], sql[200];
    testenv_add_person(testenv, admin, "Linnea", "Brackwater", "2015-04-09", person);
    cpis_follow_up_taken_by_the_desk(admin, desk, person, step);
    notify_worker(desk, step, "mash.sw", "Seen at A&E: WVNOTE-7731 follow up", rid);
    snprintf(path, sizeof(path), "/api/v1/steps/%s", step);
    json_decref(testenv_call_json(testenv, eh, "GET", path, NULL, 200));
    /* Before the restriction anyone may read it, a manager in another team too. */
    json_t *view = NULL;
    int restricted = 1;
    const char *note = request_note_seen(&view, cin, "mash.sw", rid, &restricted);
    assert_non_null(note);
    assert_non_null(strstr(note, "WVNOTE-7731"));
    assert_false(restricted);
    json_decref(view);

    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", person);
    snprintf(body, sizeof(body), "{\"reason\":\"high-risk\",\"review_date\":\"2099-06-01\",\"workers\":[]}");
    json_decref(testenv_call_json(testenv, admin, "PUT", path, body, 200));
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM workflow.restricted_people WHERE person_id = %s",
             person);
    assert_int_equal(wait_for_count(sql, 1), 1);

    /* A team manager who cannot open the record sees the request in the worker's workview, by the
     * person's name, without its note. */
    note = request_note_seen(&view, cin, "mash.sw", rid, &restricted);
    assert_null(note);
    assert_true(restricted);
    char *text = json_dumps(view, 0);
    assert_null(strstr(text, "WVNOTE-7731"));
    free(text);
    json_decref(view);
    /* The worker it was sent to, and the MASH manager, keep access and read it. */
    note = request_note_seen(&view, sw, "", rid, &restricted);
    assert_non_null(note);
    assert_non_null(strstr(note, "WVNOTE-7731"));
    assert_false(restricted);
    json_decref(view);
    note = request_note_seen(&view, mash_manager, "mash.sw", rid, &restricted);
    assert_non_null(note);
    assert_false(restricted);
    json_decref(view);
    /* What the early-help worker viewed before is still in their Recently viewed, marked as a record
     * they cannot open. */
    view = testenv_call_json(testenv, eh, "GET", "/api/v1/workview?folder=recently_viewed", NULL, 200);
    json_t *item = folder_item(view, "recently_viewed", "step_id", step);
    assert_non_null(item);
    assert_true(json_is_true(json_object_get(item, "restricted")));
    json_decref(view);
    snprintf(path, sizeof(path), "/api/v1/steps/%s", step);
    testenv_call_error(testenv, eh, "GET", path, NULL, 403, "restricted_record", NULL);

    /* Records not answering: no one can be shown to have access, so no one is shown the note. */
    testenv_kill(testenv, "records", SIGSTOP);
    testenv_response_t r = testenv_http(testenv, "GET", "/api/v1/workview", sw, NULL, NULL);
    testenv_kill(testenv, "records", SIGCONT);
    assert_int_equal(r.status, 200);
    item = folder_item(r.json, "incoming_requests", "request_id", rid);
    assert_non_null(item);
    assert_null(json_object_get(item, "note"));
    assert_true(json_is_true(json_object_get(item, "restricted")));
    testenv_response_free(&r);
    note = request_note_seen(&view, sw, "", rid, &restricted);
    assert_non_null(note);
    json_decref(view);
    free(admin);
    free(desk);
    free(sw);
    free(eh);
    free(cin);
    free(mash_manager);
}

/* What a hidden item may keep: what a list of people shows of the person (the name), where the item
 * sits and when, and its ids; the rest said what happened to the person. */
static void assert_shows_only_what_a_list_shows(json_t *item)
{
    static const char *const allowed[] = {"kind",    "step_id",   "request_id",  "subject",
                                          "state",   "status",    "received_at", "due_at",
                                          "overdue", "viewed_at", "title",       "restricted"};
    const char *key;
    json_t *value;
    json_object_foreach(item, key, value)
    {
        size_t k = 0;
        while (k < sizeof(allowed) / sizeof(allowed[0]) && strcmp(allowed[k], key) != 0)
            k++;
        if (k == sizeof(allowed) / sizeof(allowed[0]))
            fail_msg("a hidden item still carries '%s'", key);
    }
    assert_string_equal(testenv_str(item, "title"), "Work about a restricted record");
    assert_true(json_is_true(json_object_get(item, "restricted")));
    assert_non_null(testenv_str(json_object_get(item, "subject"), "name"));
    char *text = json_dumps(item, 0);
    assert_null(strcasestr(text, "cpis"));
    assert_null(strcasestr(text, "cp-is"));
    assert_null(strcasestr(text, "notification"));
    assert_null(strcasestr(text, "emergency"));
    free(text);
}

/* An item about a record the caller cannot open said by its type and title what happened to the
 * child ("CPIS Follow Up", "CS Notification to allocated worker (CPIS Follow Up)": seen at A&E or
 * by NHS 111): a manager without access now reads the child's name, the item's ids and times, and a
 * neutral title, in another worker's Incoming requests as in their own Recently viewed. */
static void test_a_workview_item_about_a_record_the_caller_cannot_open_names_no_type_or_title(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *desk = testenv_login(testenv, "safeguarding.admin");
    char *eh = testenv_login(testenv, "eh.worker");
    char *cin = testenv_login(testenv, "cin.manager");
    char person[32], step[32], rid[32], path[160], sql[200];
    testenv_add_person(testenv, admin, "Orla", "Fennimore", "2016-02-11", person);
    cpis_follow_up_taken_by_the_desk(admin, desk, person, step);
    /* The notification's setting and time, which tell one follow-up from another in a workview. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", step);
    json_decref(testenv_call_json(
        testenv, desk, "PUT", path,
        "{\"data\":{\"setting\":\"emergency-department\",\"accessed_at\":\"2026-01-05T10:12:00Z\"}}", 200));
    notify_worker(desk, step, "mash.sw", "Attended A&E", rid);
    snprintf(path, sizeof(path), "/api/v1/steps/%s", step);
    json_decref(testenv_call_json(testenv, eh, "GET", path, NULL, 200));
    /* While the record is open to them, a manager reads in the item what tells it apart. */
    snprintf(path, sizeof(path), "/api/v1/workview?worker_id=%ld", id_of_worker("mash.sw"));
    json_t *open_view = testenv_call_json(testenv, cin, "GET", path, NULL, 200);
    json_t *open_item = folder_item(open_view, "incoming_requests", "request_id", rid);
    assert_non_null(open_item);
    assert_string_equal(testenv_str(open_item, "summary"), "Emergency department, 05/01/2026 10:12");
    json_decref(open_view);
    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", person);
    json_decref(testenv_call_json(testenv, admin, "PUT", path,
                                  "{\"reason\":\"high-risk\",\"review_date\":\"2099-06-01\",\"workers\":[]}",
                                  200));
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM workflow.restricted_people WHERE person_id = %s",
             person);
    assert_int_equal(wait_for_count(sql, 1), 1);

    /* A team manager in another team, in the MASH worker's Incoming requests. */
    snprintf(path, sizeof(path), "/api/v1/workview?worker_id=%ld", id_of_worker("mash.sw"));
    json_t *view = testenv_call_json(testenv, cin, "GET", path, NULL, 200);
    json_t *item = folder_item(view, "incoming_requests", "request_id", rid);
    assert_non_null(item);
    assert_string_equal(testenv_str(item, "step_id"), step);
    assert_non_null(testenv_str(item, "received_at"));
    assert_null(json_object_get(item, "summary"));
    assert_shows_only_what_a_list_shows(item);
    json_decref(view);
    /* The early-help worker's Recently viewed. */
    view = testenv_call_json(testenv, eh, "GET", "/api/v1/workview?folder=recently_viewed", NULL, 200);
    item = folder_item(view, "recently_viewed", "step_id", step);
    assert_non_null(item);
    assert_non_null(testenv_str(item, "viewed_at"));
    assert_shows_only_what_a_list_shows(item);
    json_decref(view);
    free(admin);
    free(desk);
    free(eh);
    free(cin);
}

/* Work about person with the early-help worker and the MASH worker: the desk's CPIS Follow up (step)
 * with a request to each (to_eh, to_sw, noting note_eh and note_sw), and a second step (second) in
 * the early-help worker's Incoming work. */
static void work_with_two_workers(const char *admin, const char *desk, const char *person,
                                  const char *note_eh, const char *note_sw, char *step, char *second,
                                  char *to_eh, char *to_sw)
{
    char path[160], body[100];
    cpis_follow_up_taken_by_the_desk(admin, desk, person, step);
    notify_worker(desk, step, "eh.worker", note_eh, to_eh);
    notify_worker(desk, step, "mash.sw", note_sw, to_sw);
    start_step(admin, "cpis-follow-up", "", "person", person, second);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/assign", second);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%ld\"}", id_of_worker("eh.worker"));
    json_decref(testenv_call_json(testenv, admin, "POST", path, body, 200));
}

/* Work about a person already with a named worker when their record is restricted: a step in the
 * Current work of the CP-IS desk's worker, who cannot open it, and a step and a request with the
 * early-help worker, who cannot either, move to the System Support queue, each saying why, as work
 * waiting in the desk's queue does; a request with a worker who keeps access stays with them. A
 * restriction told again (an event replayed) moves nothing twice. */
static void test_work_with_a_worker_who_cannot_open_a_record_restricted_moves_to_system_support(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *desk = testenv_login(testenv, "safeguarding.admin");
    char *eh = testenv_login(testenv, "eh.worker");
    char person[32], step[32], second[32], to_eh[32], to_sw[32], path[160], body[300], sql[400];
    testenv_add_person(testenv, admin, "Orla", "Fenwright", "2014-02-17", person);
    work_with_two_workers(admin, desk, person, "Seen at A&E: STRANDED-4412 follow up",
                          "Seen at A&E: for the MASH", step, second, to_eh, to_sw);
    /* And a step each in the Early Help team's Incoming work, whose workers cannot open the record
     * once restricted, and in the MASH team's, who keep access. */
    char with_eh_team[32], with_mash[32];
    start_step(admin, "cpis-follow-up", "", "person", person, with_eh_team);
    start_step(admin, "cpis-follow-up", "", "person", person, with_mash);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/assign", with_eh_team);
    snprintf(body, sizeof(body), "{\"team_id\":\"%ld\"}", id_of_team("Early Help"));
    json_decref(testenv_call_json(testenv, admin, "POST", path, body, 200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/assign", with_mash);
    snprintf(body, sizeof(body), "{\"team_id\":\"%ld\"}", id_of_team("MASH"));
    json_decref(testenv_call_json(testenv, admin, "POST", path, body, 200));
    json_t *view = testenv_call_json(testenv, eh, "GET", "/api/v1/workview", NULL, 200);
    assert_true(folder_has(view, "incoming_requests", "request_id", to_eh));
    assert_true(folder_has(view, "incoming_work", "step_id", second));
    json_decref(view);

    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", person);
    snprintf(body, sizeof(body), "{\"reason\":\"high-risk\",\"review_date\":\"2099-06-01\",\"workers\":[]}");
    json_decref(testenv_call_json(testenv, admin, "PUT", path, body, 200));
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.steps s JOIN workflow.step_history h ON h.step_id = s.id"
             " WHERE s.id IN (%s, %s) AND s.owner = 'v:system-support' AND s.folder = 'incoming'"
             " AND h.action = 'assigned' AND h.detail LIKE 'Moved to System Support: the record was"
             " restricted, and %% cannot open it'",
             step, second);
    assert_int_equal(wait_for_count(sql, 2), 2);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.requests r JOIN workflow.request_history h ON h.request_id = r.id"
             " WHERE r.id = %s AND r.inbox = 'v:system-support' AND r.recipient = 'v:system-support'"
             " AND h.action = 'moved' AND h.note LIKE 'the record was restricted, and %% cannot open it'",
             to_eh);
    assert_int_equal(wait_for_count(sql, 1), 1);
    /* The worker with access keeps theirs. */
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM workflow.requests WHERE id = %s AND inbox = 'w:%ld'",
             to_sw, id_of_worker("mash.sw"));
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    /* The Early Help team's goes too, saying so; the MASH team's stays. */
    snprintf(
        sql, sizeof(sql),
        "SELECT count(*) FROM workflow.steps s JOIN workflow.step_history h ON h.step_id = s.id"
        " WHERE s.id = %s AND s.owner = 'v:system-support' AND h.action = 'assigned'"
        " AND h.detail LIKE 'Moved to System Support: the record was restricted, and %%Early Help%% cannot"
        " open it'",
        with_eh_team);
    assert_int_equal(wait_for_count(sql, 1), 1);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM workflow.steps WHERE id = %s AND owner = 't:%ld'",
             with_mash, id_of_team("MASH"));
    assert_int_equal(testenv_sql_long(testenv, sql), 1);

    /* The early-help worker has nothing left that they cannot open; system support see it all, the
     * note too. */
    view = testenv_call_json(testenv, eh, "GET", "/api/v1/workview", NULL, 200);
    assert_false(folder_has(view, "incoming_requests", "request_id", to_eh));
    assert_false(folder_has(view, "incoming_work", "step_id", second));
    json_decref(view);
    view = testenv_call_json(testenv, admin, "GET", "/api/v1/workview?queue=system-support", NULL, 200);
    assert_true(folder_has(view, "incoming_work", "step_id", step));
    assert_true(folder_has(view, "incoming_work", "step_id", second));
    json_t *item = folder_item(view, "incoming_requests", "request_id", to_eh);
    assert_non_null(item);
    assert_non_null(strstr(testenv_str(item, "note"), "STRANDED-4412"));
    json_decref(view);
    /* The step's page says where the request went and why. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s", step);
    json_t *page = testenv_call_json(testenv, admin, "GET", path, NULL, 200);
    char *text = json_dumps(json_object_get(page, "history"), 0);
    assert_non_null(strstr(text, "moved to System Support: the record was restricted"));
    free(text);
    json_decref(page);

    /* System support can act on it: it is no longer stranded. */
    snprintf(path, sizeof(path), "/api/v1/requests/%s/acknowledge", to_eh);
    json_decref(testenv_call_json(testenv, admin, "POST", path,
                                  "{\"case_note\":\"Passed to the key worker by system support.\"}", 200));

    /* Told again (a replayed event, here a second restriction), nothing moves twice: the name
     * corrected after it shows once the workflow daemon has applied both. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", person);
    snprintf(body, sizeof(body),
             "{\"reason\":\"case-review\",\"review_date\":\"2099-07-01\",\"workers\":[]}");
    json_decref(testenv_call_json(testenv, admin, "PUT", path, body, 200));
    snprintf(path, sizeof(path), "/api/v1/people/%s/details", person);
    json_decref(
        testenv_call_json(testenv, admin, "PUT", path,
                          "{\"legal_name\":{\"given\":\"Orla\",\"family\":\"Fenwright-Hale\"},"
                          "\"other_names\":[],\"date_of_birth\":\"2014-02-17\",\"gender\":\"female\"}",
                          200));
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.steps WHERE id = %s AND subject_name LIKE '%%Fenwright-Hale%%'",
             step);
    assert_int_equal(wait_for_count(sql, 1), 1);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.step_history WHERE step_id IN (%s, %s) AND action = 'assigned'"
             " AND detail LIKE 'Moved to System Support%%'",
             step, second);
    assert_int_equal(testenv_sql_long(testenv, sql), 2);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.request_history WHERE request_id = %s AND action = 'moved'",
             to_eh);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    free(admin);
    free(desk);
    free(eh);
}

/* Declares, as system support, that username has a conflict of interest with person (seed 002). */
static void declare_conflict(const char *admin, const char *username, const char *person)
{
    char path[160], body[160];
    snprintf(path, sizeof(path), "/api/v1/workers/%ld/conflicts", id_of_worker(username));
    snprintf(body, sizeof(body), "{\"person_id\":\"%s\",\"relationship\":\"neighbour\"}", person);
    json_decref(testenv_call_json(testenv, admin, "POST", path, body, 200));
}

/* A conflict of interest declared keeps the person's record from the worker whatever their
 * allocation (seed 002): the work about the person with them (a step in their Incoming work, a
 * request in their Incoming requests) moves to the System Support queue, saying why, and a workview
 * shows the worker no more of the person than the name, whoever's workview it is: a team manager
 * with a conflict no longer reads the note of a request in a worker's Incoming requests. */
static void test_work_with_a_worker_who_declares_a_conflict_moves_and_their_workviews_hide_it(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *desk = testenv_login(testenv, "safeguarding.admin");
    char *eh = testenv_login(testenv, "eh.worker");
    char *cin = testenv_login(testenv, "cin.manager");
    char person[32], step[32], second[32], to_eh[32], to_sw[32], path[160], sql[600];
    testenv_add_person(testenv, admin, "Tamsin", "Orrelwick", "2013-08-22", person);
    work_with_two_workers(admin, desk, person, "Seen at A&E: CONFLICTED-2207 follow up",
                          "Seen at A&E: NEIGHBOUR-6613 for the MASH", step, second, to_eh, to_sw);
    json_t *view = NULL;
    int restricted = 1;
    const char *note = request_note_seen(&view, cin, "mash.sw", to_sw, &restricted);
    assert_non_null(note);
    assert_false(restricted);
    json_decref(view);

    declare_conflict(admin, "eh.worker", person);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.steps s JOIN workflow.step_history h ON h.step_id = s.id"
             " WHERE s.id = %s AND s.owner = 'v:system-support' AND s.folder = 'incoming'"
             " AND h.action = 'assigned' AND h.detail LIKE 'Moved to System Support: %% declared a conflict"
             " of interest with this person'",
             second);
    assert_int_equal(wait_for_count(sql, 1), 1);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.requests r JOIN workflow.request_history h ON h.request_id = r.id"
             " WHERE r.id = %s AND r.inbox = 'v:system-support' AND h.action = 'moved'"
             " AND h.note LIKE '%% declared a conflict of interest with this person'",
             to_eh);
    assert_int_equal(wait_for_count(sql, 1), 1);
    view = testenv_call_json(testenv, eh, "GET", "/api/v1/workview", NULL, 200);
    assert_false(folder_has(view, "incoming_requests", "request_id", to_eh));
    assert_false(folder_has(view, "incoming_work", "step_id", second));
    json_decref(view);
    snprintf(path, sizeof(path), "/api/v1/steps/%s", second);
    testenv_response_t r = testenv_http(testenv, "GET", path, eh, NULL, NULL);
    assert_int_equal(r.status, 403);
    testenv_response_free(&r);
    /* The desk, with no conflict, keeps its step; the MASH worker their request. */
    snprintf(sql, sizeof(sql),
             "SELECT (SELECT count(*) FROM workflow.steps WHERE id = %s AND owner = 'w:%ld')"
             " + (SELECT count(*) FROM workflow.requests WHERE id = %s AND inbox = 'w:%ld')",
             step, id_of_worker("safeguarding.admin"), to_sw, id_of_worker("mash.sw"));
    assert_int_equal(testenv_sql_long(testenv, sql), 2);

    /* The team manager who declares one reads the MASH worker's request by the name only. */
    declare_conflict(admin, "cin.manager", person);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM workflow.conflicts WHERE person_id = %s", person);
    assert_int_equal(wait_for_count(sql, 2), 2);
    note = request_note_seen(&view, cin, "mash.sw", to_sw, &restricted);
    assert_null(note);
    assert_true(restricted);
    char *text = json_dumps(view, 0);
    assert_null(strstr(text, "NEIGHBOUR-6613"));
    free(text);
    json_decref(view);
    free(admin);
    free(desk);
    free(eh);
    free(cin);
}

/* A restricted record's key worker keeps access through their allocation; when it ends, the work
 * about the person with them, which they can no longer open, moves to the System Support queue as
 * on a restriction, saying why. */
static void test_work_with_a_key_worker_whose_allocation_of_a_restricted_record_ends_moves(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *kw = testenv_login(testenv, "key.worker");
    char person[32], step[32], aid[32], path[160], body[300], sql[600];
    testenv_add_person(testenv, admin, "Bryher", "Tresillian", "2012-11-30", person);
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations", person);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%ld\",\"role\":\"key-worker\",\"service\":\"CSSW\"}",
             id_of_worker("key.worker"));
    json_t *j = testenv_call_json(testenv, admin, "POST", path, body, 201);
    snprintf(aid, sizeof(aid), "%s", testenv_str(j, "id"));
    json_decref(j);
    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", person);
    json_decref(testenv_call_json(
        testenv, admin, "PUT", path,
        "{\"reason\":\"mappa-marac-lado\",\"review_date\":\"2099-06-01\",\"workers\":[]}", 200));
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM workflow.restricted_people WHERE person_id = %s",
             person);
    assert_int_equal(wait_for_count(sql, 1), 1);
    start_step(admin, "cpis-follow-up", "", "person", person, step);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/assign", step);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%ld\"}", id_of_worker("key.worker"));
    json_decref(testenv_call_json(testenv, admin, "POST", path, body, 200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s", step);
    json_decref(testenv_call_json(testenv, kw, "GET", path, NULL, 200));

    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations/%s", person, aid);
    testenv_response_t r = testenv_http(testenv, "DELETE", path, admin, NULL, NULL);
    assert_int_equal(r.status, 204);
    testenv_response_free(&r);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.steps s JOIN workflow.step_history h ON h.step_id = s.id"
             " WHERE s.id = %s AND s.owner = 'v:system-support' AND h.action = 'assigned'"
             " AND h.detail LIKE 'Moved to System Support: an allocation of the restricted record ended, and"
             " %% cannot open it'",
             step);
    assert_int_equal(wait_for_count(sql, 1), 1);
    json_t *view = testenv_call_json(testenv, kw, "GET", "/api/v1/workview", NULL, 200);
    assert_false(folder_has(view, "incoming_work", "step_id", step));
    assert_false(folder_has(view, "current_work", "step_id", step));
    json_decref(view);
    free(admin);
    free(kw);
}

static void
test_assign_and_bulk_assign_put_work_in_a_workers_incoming_work_and_resume_moves_it_to_current(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "mash.admin");
    char *manager = testenv_login(testenv, "mash.manager");
    char *sw = testenv_login(testenv, "mash.sw");
    char a[32], b[32], c[32], path[128], body[256];
    start_step(admin, "front-door-consultation", "CSSW", "organisation", HAMPDEN, a);
    start_step(admin, "front-door-consultation", "CSSW", "organisation", HAMPDEN, b);
    start_step(admin, "front-door-consultation", "CSSW", "organisation", HAMPDEN, c);
    long sw_id = id_of_worker("mash.sw");
    /* A worker who is not a manager cannot take others' work by assigning it. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/assign", c);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%ld\"}", sw_id);
    testenv_call_error(testenv, sw, "POST", path, body, 403, "not_your_work", NULL);
    snprintf(body, sizeof(body), "{\"step_ids\":[\"%s\",\"%s\"],\"worker_id\":\"%ld\"}", a, b, sw_id);
    json_decref(testenv_call_json(testenv, manager, "POST", "/api/v1/steps/assign", body, 200));
    json_t *wv = testenv_call_json(testenv, sw, "GET", "/api/v1/workview", NULL, 200);
    assert_true(folder_has(wv, "incoming_work", "step_id", a));
    assert_true(folder_has(wv, "incoming_work", "step_id", b));
    long incoming = json_integer_value(
        json_object_get(json_object_get(json_object_get(wv, "folders"), "incoming_work"), "count"));
    assert_true(incoming >= 2);
    json_decref(wv);
    /* In the Incoming work it cannot be changed until resumed. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", a);
    testenv_call_error(testenv, sw, "PUT", path, "{\"data\":{}}", 409, "not_resumed", NULL);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/resume", a);
    json_decref(testenv_call_json(testenv, sw, "POST", path, NULL, 200));
    wv = testenv_call_json(testenv, sw, "GET", "/api/v1/workview", NULL, 200);
    assert_true(folder_has(wv, "current_work", "step_id", a));
    assert_false(folder_has(wv, "incoming_work", "step_id", a));
    json_decref(wv);
    /* A bulk assignment with one bad step changes none of them. */
    snprintf(body, sizeof(body), "{\"step_ids\":[\"%s\",\"999999999\"],\"worker_id\":\"%ld\"}", c, sw_id);
    testenv_call_error(testenv, manager, "POST", "/api/v1/steps/assign", body, 404, "not_found", NULL);
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM workflow.steps WHERE id = %s AND owner = 'w:%ld'", c,
             id_of_worker("mash.admin"));
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    free(admin);
    free(manager);
    free(sw);
}

/* Pages the worker's Current work three at a time in the order given ("" for the default), asserting
 * each page's count and that no item comes twice; the items' ids at seen_ids, how many, the pages at
 * *pages. */
static int page_current_work(const char *token, const char *order, long total, char seen_ids[64][32],
                             int *pages)
{
    char path[400];
    snprintf(path, sizeof(path), "/api/v1/workview?folder=current_work&limit=3%s%s",
             order[0] ? "&order=" : "", order);
    int seen = 0;
    *pages = 0;
    for (;;) {
        json_t *wv = testenv_call_json(testenv, token, "GET", path, NULL, 200);
        json_t *f = json_object_get(json_object_get(wv, "folders"), "current_work");
        assert_int_equal(json_integer_value(json_object_get(f, "count")), total);
        assert_null(json_object_get(json_object_get(wv, "folders"), "incoming_work"));
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(f, "items"), i, it)
        {
            for (int k = 0; k < seen; k++)
                assert_string_not_equal(seen_ids[k], testenv_str(it, "step_id"));
            assert_true(seen < 64);
            snprintf(seen_ids[seen++], 32, "%s", testenv_str(it, "step_id"));
        }
        (*pages)++;
        const char *next = json_string_value(json_object_get(f, "next_cursor"));
        if (next == NULL) {
            json_decref(wv);
            break;
        }
        assert_int_equal(json_array_size(json_object_get(f, "items")), 3);
        snprintf(path, sizeof(path), "/api/v1/workview?folder=current_work&limit=3&cursor=%s%s%s", next,
                 order[0] ? "&order=" : "", order);
        json_decref(wv);
    }
    return seen;
}

static void test_workview_folders_page_with_a_keyset_cursor_and_count_every_item(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char ids[7][32];
    for (int i = 0; i < 7; i++)
        start_step(sw, "front-door-consultation", "CSSW", "organisation", HAMPDEN, ids[i]);
    char sql[200], path[400];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.steps WHERE owner = 'w:%ld' AND folder = 'current'",
             id_of_worker("mash.sw"));
    long total = testenv_sql_long(testenv, sql);
    int pages = 0;
    char seen_ids[64][32];
    int seen = page_current_work(sw, "", total, seen_ids, &pages);
    assert_int_equal(seen, total);
    assert_int_equal(pages, (total + 2) / 3);
    /* Newest first: the last one started leads. */
    assert_string_equal(seen_ids[0], ids[6]);
    /* Oldest first, as a queue is worked in turn: the same items, each page carrying on in that order,
     * the other way round. */
    char oldest_ids[64][32];
    int oldest_pages = 0;
    assert_int_equal(page_current_work(sw, "oldest", total, oldest_ids, &oldest_pages), seen);
    assert_int_equal(oldest_pages, pages);
    for (int k = 0; k < seen; k++)
        assert_string_equal(oldest_ids[k], seen_ids[seen - 1 - k]);
    testenv_call_error(testenv, sw, "GET", "/api/v1/workview?order=due", NULL, 400, "invalid_value", "order");
    testenv_call_error(testenv, sw, "GET", "/api/v1/workview?folder=current_work&cursor=garbage", NULL, 400,
                       "invalid_cursor", "cursor");
    testenv_call_error(testenv, sw, "GET", "/api/v1/workview?folder=attic", NULL, 400, "invalid_value",
                       "folder");
    /* Another worker's workview is for managers only. */
    snprintf(path, sizeof(path), "/api/v1/workview?worker_id=%ld", id_of_worker("mash.admin"));
    testenv_call_error(testenv, sw, "GET", path, NULL, 403, "forbidden", NULL);
    char *manager = testenv_login(testenv, "mash.manager");
    json_decref(testenv_call_json(testenv, manager, "GET", path, NULL, 200));
    /* Recently viewed: what the worker opened, latest first. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s", ids[2]);
    json_decref(testenv_call_json(testenv, sw, "GET", path, NULL, 200));
    json_t *wv = testenv_call_json(testenv, sw, "GET", "/api/v1/workview", NULL, 200);
    assert_string_equal(testenv_str(json_array_get(folder_of(wv, "recently_viewed"), 0), "step_id"), ids[2]);
    json_decref(wv);
    free(sw);
    free(manager);
}

static void test_cancelling_needs_a_reason_and_is_final_while_a_completed_step_can_be_reopened(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char id[32], path[128];
    start_step(sw, "front-door-consultation", "CSSW", "organisation", HAMPDEN, id);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/cancel", id);
    testenv_call_error(testenv, sw, "POST", path, "{\"reason\":\"  \"}", 422, "reason_required", "reason");
    json_t *step =
        testenv_call_json(testenv, sw, "POST", path, "{\"reason\":\"Recorded twice in error.\"}", 200);
    assert_string_equal(testenv_str(step, "state"), "cancelled");
    assert_string_equal(testenv_str(step, "cancelled_reason"), "Recorded twice in error.");
    json_decref(step);
    testenv_call_error(testenv, sw, "POST", path, "{\"reason\":\"Again.\"}", 409, "step_closed", NULL);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/reopen", id);
    testenv_call_error(testenv, sw, "POST", path, NULL, 409, "not_completed", NULL);

    start_step(sw, "front-door-consultation", "CSSW", "organisation", HAMPDEN, id);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", id);
    json_decref(testenv_call_json(testenv, sw, "PUT", path, section1_ok, 200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/2", id);
    json_decref(
        testenv_call_json(testenv, sw, "PUT", path, "{\"data\":{\"outcomes\":[]},\"completed\":true}", 200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/finish", id);
    json_decref(testenv_call_json(testenv, sw, "POST", path,
                                  "{\"next_actions\":[{\"action\":\"consultation-complete\"}]}", 200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/2", id);
    testenv_call_error(testenv, sw, "PUT", path, "{\"data\":{}}", 409, "step_closed", NULL);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/reopen", id);
    step = testenv_call_json(testenv, sw, "POST", path, NULL, 200);
    assert_string_equal(testenv_str(step, "state"), "reopened");
    json_decref(step);
    json_t *wv = testenv_call_json(testenv, sw, "GET", "/api/v1/workview", NULL, 200);
    assert_true(folder_has(wv, "current_work", "step_id", id));
    json_decref(wv);
    free(sw);
}

static void test_starting_work_checks_the_type_variant_subject_and_role(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char *auditor = testenv_login(testenv, "auditor");
    long before = testenv_sql_long(testenv, "SELECT count(*) FROM workflow.steps");
    testenv_call_error(testenv, sw, "POST", "/api/v1/steps",
                       "{\"type\":\"tea-making\",\"subject\":{\"kind\":\"organisation\",\"id\":\"" HAMPDEN
                       "\"}}",
                       400, "unknown_step_type", "type");
    testenv_call_error(testenv, sw, "POST", "/api/v1/steps",
                       "{\"type\":\"front-door-consultation\",\"variant\":\"XYZ\",\"subject\":{\"kind\":"
                       "\"organisation\",\"id\":\"" HAMPDEN "\"}}",
                       400, "unknown_variant", "variant");
    testenv_call_error(
        testenv, sw, "POST", "/api/v1/steps",
        "{\"type\":\"front-door-consultation\",\"subject\":{\"kind\":\"organisation\",\"id\":\"" HAMPDEN
        "\"}}",
        400, "missing_field", "variant");
    testenv_call_error(
        testenv, sw, "POST", "/api/v1/steps",
        "{\"type\":\"front-door-consultation\",\"variant\":\"CSSW\",\"subject\":{\"kind\":\"person\","
        "\"id\":\"1\"}}",
        400, "wrong_subject", "subject.kind");
    testenv_call_error(testenv, sw, "POST", "/api/v1/steps",
                       "{\"type\":\"front-door-consultation\",\"variant\":\"CSSW\",\"subject\":{\"kind\":"
                       "\"organisation\",\"id\":\"9999999\"}}",
                       404, "not_found", "subject.id");
    testenv_call_error(testenv, auditor, "POST", "/api/v1/steps",
                       "{\"type\":\"front-door-consultation\",\"variant\":\"CSSW\",\"subject\":{\"kind\":"
                       "\"organisation\",\"id\":\"" HAMPDEN "\"}}",
                       403, "forbidden", NULL);
    testenv_call_error(testenv, sw, "POST", "/api/v1/steps",
                       "{\"type\":\"front-door-consultation\",\"colour\":\"red\"}", 400, "unknown_field",
                       NULL);
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM workflow.steps"), before);
    /* The definitions list says what the caller may start. */
    json_t *defs = testenv_call_json(testenv, auditor, "GET", "/api/v1/workflow/definitions", NULL, 200);
    size_t i;
    json_t *d;
    int listed = 0;
    json_array_foreach(json_object_get(defs, "items"), i, d)
    {
        if (strcmp(testenv_str(d, "type"), "front-door-consultation") == 0) {
            listed = 1;
            assert_false(json_is_true(json_object_get(d, "you_may_start")));
        }
    }
    assert_true(listed);
    json_decref(defs);
    free(sw);
    free(auditor);
}

static void test_a_new_step_type_added_as_a_data_file_only_runs_end_to_end(void **state)
{
    (void)state;
    char *eh = testenv_login(testenv, "eh.worker");
    char *manager = testenv_login(testenv, "mash.manager");
    char child[32], id[32], path[160], body[300];
    testenv_add_person(testenv, eh, "Maisie", "Penrose", "2016-11-28", child);
    json_t *step = testenv_call_json(
        testenv, eh, "POST", "/api/v1/steps",
        "{\"type\":\"home-visit-record\",\"variant\":\"EH\",\"subject\":{\"kind\":\"person\","
        "\"id\":\"0\"}}",
        400);
    json_decref(step);
    start_step(eh, "home-visit-record", "EH", "person", child, id);
    snprintf(path, sizeof(path), "/api/v1/steps/%s", id);
    step = testenv_call_json(testenv, eh, "GET", path, NULL, 200);
    assert_string_equal(testenv_str(step, "title"), "Home visit (EH)");
    json_decref(step);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", id);
    testenv_call_error(testenv, eh, "PUT", path, "{\"data\":{\"visited_on\":\"2026-13-01\"}}", 400,
                       "invalid_date", "data.visited_on");
    testenv_call_error(testenv, eh, "PUT", path, "{\"data\":{\"seen_alone\":\"yes\"}}", 400, "invalid_value",
                       "data.seen_alone");
    testenv_call_error(testenv, eh, "PUT", path,
                       "{\"data\":{\"concerns\":[\"supervision\",\"supervision\"]}}", 400, "duplicate_option",
                       "data.concerns");
    testenv_call_error(testenv, eh, "PUT", path,
                       "{\"data\":{\"visited_on\":\"2022-11-01\"},\"completed\":true}", 422, "required_field",
                       "data.summary");
    json_decref(testenv_call_json(
        testenv, eh, "PUT", path,
        "{\"data\":{\"visited_on\":\"2022-11-01\",\"seen_alone\":true,\"concerns\":[\"supervision\"],"
        "\"summary\":\"Seen at home.\"},\"completed\":true}",
        200));
    /* The required sign-off must be completed before the step can finish. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/finish", id);
    testenv_call_error(testenv, eh, "POST", path,
                       "{\"next_actions\":[{\"action\":\"visit-again\",\"reason\":\"concerns-remain\"}]}",
                       422, "required_request_incomplete", "requests");
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", id);
    testenv_call_error(testenv, eh, "POST", path, "{\"type\":\"manager-sign-off\"}", 400, "missing_field",
                       "to");
    snprintf(body, sizeof(body), "{\"type\":\"manager-sign-off\",\"to\":{\"team_id\":\"%ld\"}}",
             id_of_team("MASH Manager"));
    testenv_call_error(testenv, eh, "POST", path, body, 422, "recipient_not_allowed", "to.team_id");
    snprintf(body, sizeof(body), "{\"type\":\"manager-sign-off\",\"to\":{\"worker_id\":\"%ld\"}}",
             id_of_worker("mash.manager"));
    step = testenv_call_json(testenv, eh, "POST", path, body, 201);
    char rid[32];
    snprintf(rid, sizeof(rid), "%s", testenv_str(find_request(step, "manager-sign-off"), "id"));
    json_decref(step);
    snprintf(path, sizeof(path), "/api/v1/requests/%s/complete", rid);
    json_decref(testenv_call_json(testenv, manager, "POST", path, NULL, 200));
    /* The next action 'Visit again' starts the next visit, as the definition says. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/finish", id);
    step = testenv_call_json(testenv, eh, "POST", path,
                             "{\"next_actions\":[{\"action\":\"visit-again\",\"reason\":\"concerns-remain\","
                             "\"priority\":\"low\"}]}",
                             200);
    assert_string_equal(testenv_str(step, "state"), "completed");
    const char *next =
        testenv_str(json_array_get(json_object_get(step, "next_actions"), 0), "started_step_id");
    assert_true(next[0] != '\0');
    json_t *wv = testenv_call_json(testenv, eh, "GET", "/api/v1/workview", NULL, 200);
    assert_true(folder_has(wv, "current_work", "step_id", next));
    json_decref(wv);
    json_decref(step);
    free(eh);
    free(manager);
}

static void test_overdue_work_is_flagged_in_the_workview_and_raises_a_notice(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "mash.admin");
    char id[32], path[128], sql[300];
    const char *count_steps = "SELECT count(*) FROM workflow.outbox WHERE type = 'workflow.step.overdue'";
    const char *count_requests =
        "SELECT count(*) FROM workflow.outbox WHERE type = 'workflow.request.overdue'";
    long steps_before = testenv_sql_long(testenv, count_steps);
    long requests_before = testenv_sql_long(testenv, count_requests);
    start_step(admin, "quick-check", "", "organisation", HAMPDEN, id);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", id);
    json_decref(testenv_call_json(testenv, admin, "POST", path, "{\"type\":\"look-at-this\"}", 201));
    /* Due 1.8 seconds after it starts; the scan runs every 200 ms in this suite. */
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM workflow.steps WHERE id = %s AND overdue_notified", id);
    int flagged = 0;
    for (int i = 0; i < 100 && !(flagged && testenv_sql_long(testenv, sql) == 1); i++) {
        usleep(100 * 1000);
        json_t *wv = testenv_call_json(testenv, admin, "GET",
                                       "/api/v1/workview?folder=current_work&limit=200", NULL, 200);
        size_t k;
        json_t *it;
        json_array_foreach(folder_of(wv, "current_work"), k, it)
        {
            if (strcmp(testenv_str(it, "step_id"), id) == 0)
                flagged = json_is_true(json_object_get(it, "overdue"));
        }
        json_decref(wv);
    }
    assert_true(flagged);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    assert_int_equal(testenv_sql_long(testenv, count_steps), steps_before + 1);
    for (int i = 0; i < 50 && testenv_sql_long(testenv, count_requests) == requests_before; i++)
        usleep(100 * 1000);
    assert_int_equal(testenv_sql_long(testenv, count_requests), requests_before + 1);
    /* Raised once only. */
    usleep(600 * 1000);
    assert_int_equal(testenv_sql_long(testenv, count_steps), steps_before + 1);
    assert_int_equal(testenv_sql_long(testenv, count_requests), requests_before + 1);
    free(admin);
}

/* A backlog falling due at once (a weekend's CP-IS follow-ups at 16:30 on Monday) is flagged in one
 * run of the scan, not 200 a run: a key worker's overdue item behind it would have waited. */
static void test_a_backlog_falling_due_at_once_is_flagged_in_one_run_of_the_scan(void **state)
{
    (void)state;
    enum { BACKLOG = 230 };
    char *eh = testenv_login(testenv, "eh.worker");
    char child[32], id[32], sql[400];
    testenv_add_person(testenv, eh, "Tamsin", "Halloway", "2015-03-09", child);
    char *ids = calloc(BACKLOG, 24);
    assert_non_null(ids);
    size_t used = 0;
    for (int i = 0; i < BACKLOG; i++) {
        start_step(eh, "home-visit-record", "EH", "person", child, id);
        used += (size_t)snprintf(ids + used, BACKLOG * 24 - used, "%s%s", i ? "," : "", id);
    }
    char *fall_due = malloc(BACKLOG * 24 + 200);
    assert_non_null(fall_due);
    snprintf(fall_due, BACKLOG * 24 + 200,
             "UPDATE workflow.steps SET due_at = now() - interval '1 minute' WHERE id IN (%s)", ids);
    char out[64];
    assert_int_equal(testenv_psql(testenv, NULL, fall_due, out, sizeof(out)), 0);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.steps WHERE subject_id = %s AND overdue_notified", child);
    for (int i = 0; i < 100 && testenv_sql_long(testenv, sql) < BACKLOG; i++)
        usleep(100 * 1000);
    assert_int_equal(testenv_sql_long(testenv, sql), BACKLOG);
    /* Each run's notices are written in its one transaction, so they share its time. */
    long most_in_a_run =
        testenv_sql_long(testenv, "SELECT max(n) FROM (SELECT count(*) AS n FROM workflow.outbox"
                                  " WHERE type = 'workflow.step.overdue' GROUP BY created_at) r");
    assert_true(most_in_a_run >= BACKLOG);
    free(fall_due);
    free(ids);
    free(eh);
}

static void
test_a_definition_change_applies_to_new_steps_and_leaves_running_ones_on_their_version(void **state)
{
    (void)state;
    char *eh = testenv_login(testenv, "eh.worker");
    char child[32], old_id[32], new_id[32], path[160];
    testenv_add_person(testenv, eh, "Ivy", "Castellan", "2016-11-28", child);
    start_step(eh, "home-visit-record", "EH", "person", child, old_id);
    snprintf(path, sizeof(path), "/api/v1/steps/%s", old_id);
    json_t *step = testenv_call_json(testenv, eh, "GET", path, NULL, 200);
    json_int_t old_version =
        json_integer_value(json_object_get(json_object_get(step, "definition"), "version"));
    json_decref(step);
    /* The council makes 'Child seen alone' required: a changed file, and the daemon restarted. */
    char cmd[700];
    snprintf(
        cmd, sizeof(cmd),
        "sed -i 's/\"title\": \"Child seen alone\", \"type\": \"boolean\"/\"title\": \"Child seen alone\", "
        "\"type\": \"boolean\", \"required\": true/' %s/home-visit-record.json",
        definitions_dir);
    assert_int_equal(system(cmd), 0);
    testenv_kill(testenv, "workflow", SIGTERM);
    assert_int_equal(testenv_wait_exit(testenv, "workflow", 15000), 0);
    testenv_restart(testenv, "workflow");
    start_step(eh, "home-visit-record", "EH", "person", child, new_id);
    snprintf(path, sizeof(path), "/api/v1/steps/%s", new_id);
    step = testenv_call_json(testenv, eh, "GET", path, NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(step, "definition"), "version")),
                     old_version + 1);
    json_decref(step);
    const char *data = "{\"data\":{\"visited_on\":\"2022-11-01\",\"summary\":\"Seen.\"},\"completed\":true}";
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", new_id);
    testenv_call_error(testenv, eh, "PUT", path, data, 422, "required_field", "data.seen_alone");
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", old_id);
    step = testenv_call_json(testenv, eh, "PUT", path, data, 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(step, "definition"), "version")),
                     old_version);
    json_decref(step);
    free(eh);
}

static void test_a_bad_definition_file_stops_the_daemon_naming_the_file_and_the_fault(void **state)
{
    (void)state;
    char dir[] = "/tmp/tsr-baddefs-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cmd[1200];
    snprintf(
        cmd, sizeof(cmd),
        "cp %s/*.json %s/ && printf '{\"type\": \"broken-step\", \"title\": \"Broken\", \"title_pattern\": "
        "\"B\","
        " \"subjects\": [\"person\"], \"sections\": [{\"number\": \"1\", \"title\": \"S\", \"fields\": "
        "[{\"name\":"
        " \"x\", \"title\": \"X\", \"type\": \"colour\"}]}], \"next_actions\": []}' > %s/broken-step.json",
        definitions_dir, dir, dir);
    assert_int_equal(system(cmd), 0);
    char setting[100];
    snprintf(setting, sizeof(setting), "TESSERA_WORKFLOW_DEFINITIONS_DIRS=%s", dir);
    testenv_assert_refuses_to_start(testenv, "workflow", setting, "broken-step.json", "colour", NULL);
    /* A queue that sends work about restricted records to a queue there is not. */
    snprintf(cmd, sizeof(cmd),
             "rm %s/broken-step.json && sed -i 's/\"restricted_records_to\": \"system-support\"/"
             "\"restricted_records_to\": \"system-suport\"/' %s/virtual-workers.json",
             dir, dir);
    assert_int_equal(system(cmd), 0);
    testenv_assert_refuses_to_start(testenv, "workflow", setting, "virtual-workers.json", "system-suport",
                                    NULL);
    /* A reason's case note whose condition names no field would ask for the note every time. */
    snprintf(cmd, sizeof(cmd),
             "sed -i 's/\"restricted_records_to\": \"system-suport\"/\"restricted_records_to\": "
             "\"system-support\"/'"
             " %s/virtual-workers.json && sed -i '/\"optional_when\"/,/\"field\"/ s/\"field\"/\"feld\"/'"
             " %s/cpis-follow-up.json",
             dir, dir);
    assert_int_equal(system(cmd), 0);
    testenv_assert_refuses_to_start(testenv, "workflow", setting, "cpis-follow-up.json", "case_note", NULL);
    /* A reason saying a request was sent that the step cannot send could never be chosen. */
    snprintf(cmd, sizeof(cmd),
             "sed -i 's/\"feld\"/\"field\"/' %s/cpis-follow-up.json && sed -i '0,/\"requires_request\": "
             "\"cs-notification/ s/\"requires_request\": \"cs-notification/\"requires_request\": "
             "\"cs-notifcation/' %s/cpis-follow-up.json",
             dir, dir);
    assert_int_equal(system(cmd), 0);
    testenv_assert_refuses_to_start(testenv, "workflow", setting, "cpis-follow-up.json", "requires_request",
                                    NULL);
    /* A summary naming a field the section does not have would tell no item apart. */
    snprintf(cmd, sizeof(cmd),
             "sed -i 's/\"cs-notifcation/\"cs-notification/' %s/cpis-follow-up.json && sed -i"
             " '0,/\"accessed_at\"/ s/\"accessed_at\"/\"accessed_on\"/' %s/cpis-follow-up.json",
             dir, dir);
    assert_int_equal(system(cmd), 0);
    testenv_assert_refuses_to_start(testenv, "workflow", setting, "cpis-follow-up.json", "summary.fields[1]",
                                    NULL);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    /* A misspelt office time zone would be taken for UTC and move every due time by an hour; a drain
     * timeout that is not a number would only be found at SIGTERM. Both stop the start, named. */
    testenv_assert_refuses_to_start(testenv, "workflow", "TESSERA_WORKFLOW_TIMEZONE=Europe/Lodnon",
                                    "workflow.timezone", "Europe/Lodnon", NULL);
    testenv_assert_refuses_to_start(testenv, "workflow", "TESSERA_WORKFLOW_TIMEZONE=../../etc/passwd",
                                    "workflow.timezone", NULL);
    testenv_assert_refuses_to_start(testenv, "workflow", "TESSERA_TESSERA_DRAIN_TIMEOUT_MS=soon",
                                    "tessera.drain_timeout_ms", NULL);
    /* A closed day that is not a date would leave a bank holiday counted as working time. */
    testenv_assert_refuses_to_start(testenv, "workflow", "TESSERA_WORKFLOW_CLOSED_DAYS=2026-12-25,26/12/2026",
                                    "workflow.closed_days", "26/12/2026", NULL);
    testenv_assert_refuses_to_start(testenv, "workflow",
                                    "TESSERA_WORKFLOW_CLOSED_DAYS=2027-01-01..2026-12-24",
                                    "workflow.closed_days", "ends before it starts", NULL);
}

/* The days the office is shut (workflow.closed_days: bank holidays, a Christmas closure) are no
 * working time: a CPIS Follow up (7 working hours, 09:30-16:30 Monday to Friday) that arrives while
 * the office is closed falls due at the end of its first working day back, not on the holiday. */
static void test_work_arriving_while_the_office_is_closed_falls_due_after_it_opens_again(void **state)
{
    (void)state;
    char first[16], last[16], closure[40], person[32], step[32], sql[700];
    testenv_sql_date(testenv, "(now() AT TIME ZONE 'Europe/London')::date", first);
    testenv_sql_date(testenv, "(now() AT TIME ZONE 'Europe/London')::date + 20", last);
    snprintf(closure, sizeof(closure), "%s..%s", first, last);
    testenv_restart_with(testenv, "workflow", "TESSERA_WORKFLOW_CLOSED_DAYS", closure);
    char *admin = testenv_login(testenv, "admin");
    testenv_add_person(testenv, admin, "Hollis", "Holliday", "2015-05-05", person);
    start_step(admin, "cpis-follow-up", "", "person", person, step);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.steps s,"
             " (SELECT d::date AS d FROM generate_series('%s'::date + 1, '%s'::date + 7, interval '1 day') d"
             "  WHERE extract(isodow FROM d) < 6 ORDER BY d LIMIT 1) back"
             " WHERE s.id = %s AND s.due_at = (back.d + time '16:30') AT TIME ZONE 'Europe/London'",
             last, last, step);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    /* Ops see how far ahead the list reaches (0 would mean it has run out). */
    double ahead = -1;
    for (int i = 0; i < 100 && ahead != 21; i++, usleep(100 * 1000))
        ahead = testenv_metric(testenv, "tessera_workflow_closed_days_ahead", NULL);
    assert_true(ahead == 21);
    /* The rest of the suite runs with the office open. */
    testenv_kill(testenv, "workflow", SIGTERM);
    assert_int_equal(testenv_wait_exit(testenv, "workflow", 15000), 0);
    testenv_restart(testenv, "workflow");
    free(admin);
}

/* tessera_workflow_queue_items{queue="QUEUE"} from /metrics; -1 when absent. */
static double queue_items(const char *queue)
{
    char label[64];
    snprintf(label, sizeof(label), "queue=\"%s\"", queue);
    return testenv_metric(testenv, "tessera_workflow_queue_items", label);
}

static void test_the_system_support_queue_counts_the_requests_waiting_in_it(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *manager = testenv_login(testenv, "mash.manager");
    char person[32], step[32], path[96];
    testenv_add_person(testenv, admin, "Quinn", "Queuewell", "2014-04-04", person);
    double before = -1;
    for (int i = 0; i < 50 && before < 0; i++, usleep(100 * 1000))
        before = queue_items("system-support");
    assert_true(before >= 0);
    /* Its work arrives as requests: one sent there is counted until it is acted on. */
    start_step(manager, "restrict-a-record", "", "person", person, step);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", step);
    double overdue_before =
        testenv_metric(testenv, "tessera_workflow_queue_overdue_items", "queue=\"system-support\"");
    assert_true(overdue_before >= 0);
    json_t *sent =
        testenv_call_json(testenv, manager, "POST", path, "{\"type\":\"action-by-system-support\"}", 201);
    double now = before;
    for (int i = 0; i < 100 && now < before + 1; i++, usleep(100 * 1000))
        now = queue_items("system-support");
    assert_true(now >= before + 1);
    /* Left past its due time, it is counted as overdue too: the gauge to alert on out of hours. */
    char sql[200], out[64];
    snprintf(sql, sizeof(sql),
             "UPDATE workflow.requests SET due_at = now() - interval '1 minute' WHERE step_id = %s", step);
    assert_int_equal(testenv_psql(testenv, NULL, sql, out, sizeof(out)), 0);
    double overdue = overdue_before;
    for (int i = 0; i < 100 && overdue < overdue_before + 1; i++, usleep(100 * 1000))
        overdue = testenv_metric(testenv, "tessera_workflow_queue_overdue_items", "queue=\"system-support\"");
    assert_true(overdue >= overdue_before + 1);
    json_decref(sent);
    free(admin);
    free(manager);
}

static void test_the_replies_kept_for_idempotency_keys_are_forgotten_after_the_days_kept(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(
        testenv_psql(testenv, NULL,
                     "INSERT INTO workflow.idempotency (worker_id, key, type, reply, created_at) VALUES"
                     " (1, 'kept-long-ago', 'workflow.step.start', '\\x00', now() - interval '31 days'),"
                     " (1, 'kept-yesterday', 'workflow.step.start', '\\x00', now() - interval '1 day')",
                     out, sizeof(out)),
        0);
    /* The hourly housekeeping, every 200 ms here. */
    testenv_restart_with(testenv, "workflow", "TESSERA_TESSERA_HOUSEKEEPING_MS", "200");
    long left = -1;
    for (int i = 0; i < 100; i++) {
        left = testenv_sql_long(testenv,
                                "SELECT count(*) FROM workflow.idempotency WHERE key = 'kept-long-ago'");
        if (left == 0)
            break;
        usleep(100 * 1000);
    }
    assert_int_equal(left, 0);
    assert_int_equal(
        testenv_sql_long(testenv, "SELECT count(*) FROM workflow.idempotency WHERE key = 'kept-yesterday'"),
        1);
    assert_true(testenv_log_has(testenv, "workflow", "forgot 1 idempotency keys older than 30 days"));
    /* Back to the hourly round for the tests after this one. */
    testenv_kill(testenv, "workflow", SIGTERM);
    assert_int_equal(testenv_wait_exit(testenv, "workflow", 15000), 0);
    testenv_restart(testenv, "workflow");
}

/* Seed 001's requests to system support: a senior practitioner asks as a team manager does; a form's
 * fields that only some answers require are required then, and named with the answer that requires
 * them; a request about no one's record reaches the System Support queue. */
static void test_requests_to_system_support_need_what_their_answers_call_for(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *social = testenv_login(testenv, "mash.sw");
    char sp_id[32], person[32], step[32], path[96];
    testenv_add_worker(testenv, admin, "sp.requests", "Sam Practon",
                       "\"roles\":[\"social-worker\",\"senior-practitioner\"],\"teams\":[\"MASH\"]", sp_id);
    char *senior = testenv_login(testenv, "sp.requests");
    testenv_add_person(testenv, admin, "Rowan", "Requestly", "2013-03-03", person);

    /* Deletions are asked for by a senior or a team manager: a social worker alone may not. */
    char body[200];
    snprintf(body, sizeof(body),
             "{\"type\":\"case-note-deletion\",\"subject\":{\"kind\":\"person\",\"id\":\"%s\"}}", person);
    testenv_call_error(testenv, social, "POST", "/api/v1/steps", body, 403, "forbidden", NULL);
    json_decref(testenv_call_json(testenv, senior, "POST", "/api/v1/steps", body, 201));
    start_step(senior, "restrict-a-record", "", "person", person, step);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", step);
    /* "Where restriction is needed because family is known to staff, request must include their
     * name(s) and team details." */
    testenv_response_t r = testenv_http(
        testenv, "PUT", path, senior,
        "{\"data\":{\"reason\":\"conflict-of-interest\",\"workers_requiring_access\":\"Kai Worrall\"},"
        "\"completed\":true}",
        NULL);
    testenv_assert_error(&r, 422, "required_field");
    assert_non_null(strstr(r.body, "data.family_known_to_staff"));
    assert_non_null(strstr(r.body, "Worker has declared a conflict of interest"));
    testenv_response_free(&r);
    json_decref(testenv_call_json(testenv, senior, "PUT", path,
                                  "{\"data\":{\"reason\":\"high-risk\",\"workers_requiring_access\":\"Kai "
                                  "Worrall\"},\"completed\":true}",
                                  200));

    /* A change of role: a new role with its team, or else the access required. */
    char sp_subject[32];
    start_step(senior, "worker-role-change", "", "worker", sp_id, sp_subject);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", sp_subject);
    testenv_call_error(testenv, senior, "PUT", path, "{\"data\":{},\"completed\":true}", 422,
                       "required_field", "data.additional_access");
    testenv_call_error(testenv, senior, "PUT", path,
                       "{\"data\":{\"new_role\":\"Team manager\"},\"completed\":true}", 422, "required_field",
                       "data.new_team");
    json_decref(testenv_call_json(testenv, senior, "PUT", path,
                                  "{\"data\":{\"additional_access\":\"The CP-IS error queue\"},"
                                  "\"completed\":true}",
                                  200));

    /* A development consultation, about no one's record, from a social worker: an update names the
     * form, and the request waits in the System Support queue. */
    json_t *made = testenv_call_json(testenv, social, "POST", "/api/v1/steps",
                                     "{\"type\":\"development-consultation\"}", 201);
    snprintf(step, sizeof(step), "%s", testenv_str(made, "id"));
    json_decref(made);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", step);
    testenv_call_error(testenv, social, "PUT", path,
                       "{\"data\":{\"kind\":\"update\",\"reason\":\"Two fields ask the same thing.\","
                       "\"team_or_service\":\"MASH\",\"manager_copied\":\"The MASH manager\"},"
                       "\"completed\":true}",
                       422, "required_field", "data.form_to_update");
    json_decref(testenv_call_json(testenv, social, "PUT", path,
                                  "{\"data\":{\"kind\":\"update\",\"form_to_update\":\"Front Door "
                                  "Consultation\",\"reason\":\"Two fields ask the same thing.\","
                                  "\"team_or_service\":\"MASH\",\"manager_copied\":\"The MASH manager\"},"
                                  "\"completed\":true}",
                                  200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", step);
    json_decref(
        testenv_call_json(testenv, social, "POST", path, "{\"type\":\"action-by-system-support\"}", 201));
    json_t *wv = testenv_call_json(testenv, admin, "GET", "/api/v1/workview?queue=system-support", NULL, 200);
    assert_true(folder_has(wv, "incoming_requests", "step_id", step));
    json_decref(wv);
    free(senior);
    free(social);
    free(admin);
}

/* Seed 001: system support help managers clean up leavers' folders. Work left in a leaver's Current
 * work is listed for managers (with how much), opened from the leaver's workview and assigned on;
 * then the leaver is no longer listed. */
static void test_a_leavers_folders_are_listed_for_managers_until_their_work_is_moved(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char lou[32], step[32], path[128], body[160];
    testenv_add_worker(testenv, admin, "lou.leaving", "Lou Leaving",
                       "\"roles\":[\"mash-admin\"],\"teams\":[\"MASH\"]", lou);
    char *t_lou = testenv_login(testenv, "lou.leaving");
    start_step(t_lou, "front-door-consultation", "CSSW", "organisation", HAMPDEN, step);
    free(t_lou);
    testenv_end_worker(testenv, admin, lou, "Left the council");

    /* The workflow daemon hears of the leaver from the accounts daemon's event: within moments. */
    char *manager = testenv_login(testenv, "mash.manager");
    json_t *mine = testenv_item_of(testenv, manager, "/api/v1/leavers", "worker_id", lou, 5000);
    assert_non_null(mine);
    assert_string_equal(testenv_str(mine, "name"), "Lou Leaving");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(mine, "counts"), "current_work")), 1);
    json_decref(mine);
    char *sw = testenv_login(testenv, "mash.sw");
    testenv_call_error(testenv, sw, "GET", "/api/v1/leavers", NULL, 403, "forbidden", NULL);

    /* The manager opens the leaver's workview and assigns the step to a colleague. */
    snprintf(path, sizeof(path), "/api/v1/workview?worker_id=%s", lou);
    json_t *view = testenv_call_json(testenv, manager, "GET", path, NULL, 200);
    assert_true(folder_has(view, "current_work", "step_id", step));
    json_decref(view);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/assign", step);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%ld\"}", id_of_worker("mash.sw"));
    json_decref(testenv_call_json(testenv, manager, "POST", path, body, 200));
    assert_null(testenv_item_of(testenv, manager, "/api/v1/leavers", "worker_id", lou, 0));
    view = testenv_call_json(testenv, sw, "GET", "/api/v1/workview", NULL, 200);
    assert_true(folder_has(view, "incoming_work", "step_id", step));
    json_decref(view);
    free(sw);
    free(manager);
    free(admin);
}

/* The steps of a subject in pages of limit (newest first), each id once; the number listed. The
 * ids, in order, go to ids. */
static int page_subject_steps(const char *token, const char *org, int limit, char ids[64][32])
{
    char path[400];
    snprintf(path, sizeof(path), "/api/v1/steps?subject_kind=organisation&subject_id=%s&limit=%d", org,
             limit);
    int seen = 0;
    for (;;) {
        json_t *page = testenv_call_json(testenv, token, "GET", path, NULL, 200);
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(page, "items"), i, it)
        {
            for (int k = 0; k < seen; k++)
                assert_string_not_equal(ids[k], testenv_str(it, "id"));
            assert_true(seen < 64);
            snprintf(ids[seen++], 32, "%s", testenv_str(it, "id"));
        }
        const char *next = json_string_value(json_object_get(page, "next_cursor"));
        if (next == NULL) {
            json_decref(page);
            break;
        }
        assert_int_equal(json_array_size(json_object_get(page, "items")), limit);
        snprintf(path, sizeof(path),
                 "/api/v1/steps?subject_kind=organisation&subject_id=%s&limit=%d&cursor=%s", org, limit,
                 next);
        json_decref(page);
    }
    return seen;
}

/* Seed 000: every consultation whose referrer is not recorded is against the one 'Consultation'
 * organisation, whose summary page is where workers find them. Its steps pass any fixed number: the
 * list pages on, and the summary page says that there are older ones, and where they carry on. */
static void
test_a_records_work_steps_page_past_the_first_and_its_summary_page_says_there_are_more(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *mash = testenv_login(testenv, "mash.admin");
    json_t *org = testenv_call_json(testenv, admin, "POST", "/api/v1/organisations",
                                    "{\"name\":\"Many Steps Nursery\"}", 201);
    char id[32], started[52][32], path[400];
    snprintf(id, sizeof(id), "%s", testenv_str(org, "id"));
    json_decref(org);
    for (int i = 0; i < 52; i++)
        start_step(mash, "front-door-consultation", "CSSW", "organisation", id, started[i]);
    char ids[64][32];
    assert_int_equal(page_subject_steps(mash, id, 20, ids), 52);
    for (int i = 0; i < 52; i++)
        assert_string_equal(ids[i], started[51 - i]);
    /* The summary page: the newest 50, and the cursor to the rest. */
    snprintf(path, sizeof(path), "/api/v1/organisations/%s", id);
    json_t *page = testenv_call_json(testenv, mash, "GET", path, NULL, 200);
    json_t *steps = json_object_get(page, "steps");
    assert_int_equal(json_array_size(steps), 50);
    assert_string_equal(testenv_str(json_array_get(steps, 0), "id"), started[51]);
    const char *next = json_string_value(json_object_get(page, "steps_next_cursor"));
    assert_non_null(next);
    snprintf(path, sizeof(path), "/api/v1/steps?subject_kind=organisation&subject_id=%s&cursor=%s", id, next);
    json_decref(page);
    page = testenv_call_json(testenv, mash, "GET", path, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(page, "items")), 2);
    assert_string_equal(testenv_str(json_array_get(json_object_get(page, "items"), 0), "id"), started[1]);
    assert_string_equal(testenv_str(json_array_get(json_object_get(page, "items"), 1), "id"), started[0]);
    assert_true(json_is_null(json_object_get(page, "next_cursor")));
    json_decref(page);
    /* A summary page with every step on it says so. */
    snprintf(path, sizeof(path), "/api/v1/organisations/%s", HAMPDEN);
    page = testenv_call_json(testenv, mash, "GET", path, NULL, 200);
    assert_true(json_is_null(json_object_get(page, "steps_next_cursor")) ||
                json_array_size(json_object_get(page, "steps")) == 50);
    json_decref(page);
    snprintf(path, sizeof(path), "/api/v1/steps?subject_kind=organisation&subject_id=%s&cursor=garbage", id);
    testenv_call_error(testenv, mash, "GET", path, NULL, 400, "invalid_cursor", "cursor");
    snprintf(path, sizeof(path), "/api/v1/steps?subject_kind=organisation&subject_id=%s&limit=201", id);
    testenv_call_error(testenv, mash, "GET", path, NULL, 400, "invalid_limit", "limit");
    free(mash);
    free(admin);
}

/* The oldest-first listing of mash.sw's Current work, then a cursor of it continued without order,
 * and against it. */
static void test_a_workview_cursor_carries_on_in_the_order_it_was_given_with(void **state)
{
    (void)state;
    char *sw = testenv_login(testenv, "mash.sw");
    char made[5][32];
    for (int i = 0; i < 5; i++)
        start_step(sw, "front-door-consultation", "CSSW", "organisation", HAMPDEN, made[i]);
    json_t *all = testenv_call_json(testenv, sw, "GET",
                                    "/api/v1/workview?folder=current_work&limit=200&order=oldest", NULL, 200);
    json_t *every = folder_of(all, "current_work");
    assert_true(json_array_size(every) >= 5);
    json_t *first = testenv_call_json(testenv, sw, "GET",
                                      "/api/v1/workview?folder=current_work&limit=2&order=oldest", NULL, 200);
    const char *cursor = json_string_value(
        json_object_get(json_object_get(json_object_get(first, "folders"), "current_work"), "next_cursor"));
    assert_non_null(cursor);
    char path[400];
    /* Without order, it carries on oldest first: the third and fourth oldest. */
    snprintf(path, sizeof(path), "/api/v1/workview?folder=current_work&limit=2&cursor=%s", cursor);
    json_t *second = testenv_call_json(testenv, sw, "GET", path, NULL, 200);
    json_t *items = folder_of(second, "current_work");
    assert_int_equal(json_array_size(items), 2);
    for (size_t k = 0; k < 2; k++)
        assert_string_equal(testenv_str(json_array_get(items, k), "step_id"),
                            testenv_str(json_array_get(every, k + 2), "step_id"));
    json_decref(second);
    /* With the same order, the same; with the other, refused rather than walked backwards. */
    snprintf(path, sizeof(path), "/api/v1/workview?folder=current_work&limit=2&order=oldest&cursor=%s",
             cursor);
    second = testenv_call_json(testenv, sw, "GET", path, NULL, 200);
    assert_string_equal(testenv_str(json_array_get(folder_of(second, "current_work"), 0), "step_id"),
                        testenv_str(json_array_get(every, 2), "step_id"));
    json_decref(second);
    snprintf(path, sizeof(path), "/api/v1/workview?folder=current_work&limit=2&order=newest&cursor=%s",
             cursor);
    testenv_call_error(testenv, sw, "GET", path, NULL, 400, "invalid_cursor", "cursor");
    json_decref(first);
    /* A newest-first cursor is not continued oldest first. */
    first = testenv_call_json(testenv, sw, "GET", "/api/v1/workview?folder=current_work&limit=2", NULL, 200);
    cursor = json_string_value(
        json_object_get(json_object_get(json_object_get(first, "folders"), "current_work"), "next_cursor"));
    assert_non_null(cursor);
    snprintf(path, sizeof(path), "/api/v1/workview?folder=current_work&limit=2&order=oldest&cursor=%s",
             cursor);
    testenv_call_error(testenv, sw, "GET", path, NULL, 400, "invalid_cursor", "cursor");
    json_decref(first);
    json_decref(all);
    /* The requests folder's cursors carry their order too. */
    char *manager = testenv_login(testenv, "mash.manager");
    snprintf(path, sizeof(path), "/api/v1/workview?team_id=%ld&folder=incoming_requests&limit=1&order=oldest",
             id_of_team("MASH Manager"));
    json_t *requests = testenv_call_json(testenv, manager, "GET", path, NULL, 200);
    const char *next = json_string_value(json_object_get(
        json_object_get(json_object_get(requests, "folders"), "incoming_requests"), "next_cursor"));
    if (next != NULL) {
        snprintf(path, sizeof(path),
                 "/api/v1/workview?team_id=%ld&folder=incoming_requests&order=newest&cursor=%s",
                 id_of_team("MASH Manager"), next);
        testenv_call_error(testenv, manager, "GET", path, NULL, 400, "invalid_cursor", "cursor");
    }
    json_decref(requests);
    free(manager);
    free(sw);
}

/* A mistyped id shows no one's empty workview: it is not found, naming the parameter. Only those who
 * may see others' workviews are told. */
static void test_a_workview_of_a_worker_or_team_that_does_not_exist_is_not_found(void **state)
{
    (void)state;
    char *cin = testenv_login(testenv, "cin.manager");
    char *sw = testenv_login(testenv, "mash.sw");
    testenv_call_error(testenv, cin, "GET", "/api/v1/workview?worker_id=424242", NULL, 404,
                       "worker_not_found", "worker_id");
    testenv_call_error(testenv, cin, "GET", "/api/v1/workview?worker_id=9223372036854775807", NULL, 404,
                       "worker_not_found", "worker_id");
    testenv_call_error(testenv, cin, "GET", "/api/v1/workview?team_id=5555", NULL, 404, "team_not_found",
                       "team_id");
    testenv_call_error(testenv, sw, "GET", "/api/v1/workview?worker_id=424242", NULL, 403, "forbidden", NULL);
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/workview?worker_id=%ld", id_of_worker("mash.sw"));
    json_t *view = testenv_call_json(testenv, cin, "GET", path, NULL, 200);
    assert_string_equal(testenv_str(json_object_get(view, "owner"), "name"), "Sam Whitfield");
    json_decref(view);
    snprintf(path, sizeof(path), "/api/v1/workview?team_id=%ld", id_of_team("MASH"));
    json_decref(testenv_call_json(testenv, cin, "GET", path, NULL, 200));
    free(sw);
    free(cin);
}

typedef struct {
    const char *token, *path, *key;
    long status;
    char id[32];
} twin_t;

static void *twin_send(void *arg)
{
    twin_t *t = arg;
    char header[96];
    snprintf(header, sizeof(header), "Idempotency-Key: %s", t->key);
    testenv_response_t r =
        testenv_http(testenv, "POST", t->path, t->token, "{\"type\":\"pass-to-mash-manager\"}", header);
    t->status = r.status;
    snprintf(t->id, sizeof(t->id), "%s", r.json ? json_string_value(json_object_get(r.json, "id")) : "");
    testenv_response_free(&r);
    return NULL;
}

/* A client retrying a 'Pass to MASH Manager' that timed out sends the same Idempotency-Key again,
 * perhaps while the first is still being answered: every one gets the first's result, and one
 * request is sent. */
static void test_the_same_idempotency_key_sent_at_once_to_send_a_request_gets_the_first_result(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "mash.admin");
    enum { TWINS = 6, ROUNDS = 3 };
    for (int round = 0; round < ROUNDS; round++) {
        char step[32], path[96], key[64], sql[200];
        start_step(admin, "front-door-consultation", "CSSW", "organisation", HAMPDEN, step);
        snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", step);
        json_decref(testenv_call_json(testenv, admin, "PUT", path, section1_ok, 200));
        snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", step);
        snprintf(key, sizeof(key), "6f1d3c1e-twins-%d-%s", round, step);
        twin_t twins[TWINS];
        pthread_t threads[TWINS];
        for (int i = 0; i < TWINS; i++) {
            twins[i] = (twin_t){.token = admin, .path = path, .key = key};
            assert_int_equal(pthread_create(&threads[i], NULL, twin_send, &twins[i]), 0);
        }
        for (int i = 0; i < TWINS; i++)
            pthread_join(threads[i], NULL);
        for (int i = 0; i < TWINS; i++) {
            if (twins[i].status != 201)
                fail_msg("twin %d of round %d answered %ld", i, round, twins[i].status);
            assert_string_equal(twins[i].id, step);
        }
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM workflow.requests WHERE step_id = %s", step);
        assert_int_equal(testenv_sql_long(testenv, sql), 1);
    }
    free(admin);
}

/* A legal name may be 100 + 100 characters in any script, up to 4 bytes each. Listing a restricted
 * person's work steps is an access to their record, and the trail keeps it with the whole name: one
 * cut inside a character is invalid UTF-8, which the audit daemon's database refuses. */
static void
test_listing_a_restricted_persons_steps_keeps_their_whole_long_name_in_the_audit_trail(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *sw = testenv_login(testenv, "mash.sw");
    char *eh = testenv_login(testenv, "eh.worker");
    const char *given = "வெங்கடசுப்பிரமணியன் கார்த்திகேயன் ராமகிருஷ்ணன்";
    const char *family = "பாலசுப்பிரமணியம் சந்திரசேகரன் ஸ்ரீநிவாசன்ரவி";
    char person[32], path[160], name[600], sql[1400];
    testenv_add_person(testenv, admin, given, family, "2014-06-03", person);
    snprintf(name, sizeof(name), "%s %s", given, family);
    assert_true(strlen(name) > 256);
    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", person);
    json_decref(testenv_call_json(
        testenv, admin, "PUT", path,
        "{\"reason\":\"high-profile\",\"review_date\":\"2099-06-01\",\"workers\":[]}", 200));
    snprintf(path, sizeof(path), "/api/v1/steps?subject_kind=person&subject_id=%s", person);
    json_decref(testenv_call_json(testenv, sw, "GET", path, NULL, 200));
    testenv_call_error(testenv, eh, "GET", path, NULL, 403, "restricted_record", NULL);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_kind = 'person' AND record_id = %s"
             " AND ((action = 'view-steps' AND username = 'mash.sw') OR (action = 'refused' AND username ="
             " 'eh.worker')) AND starts_with(summary, '%s: work steps')",
             person, name);
    assert_int_equal(wait_for_count(sql, 2), 2);
    free(eh);
    free(sw);
    free(admin);
}

/* Seed 001 (6b): a workflow step deletion names the person, the step and the reason, and its sender
 * copies their senior or team manager in; seed 002: 'Worker raises a JIRA to IT'. A social worker
 * who recorded a step in error asks for it, and system support delete it. */
static void test_a_worker_asks_system_support_to_delete_a_step_they_recorded_in_error(void **state)
{
    (void)state;
    char *key = testenv_login(testenv, "key.worker");
    char *admin = testenv_login(testenv, "admin");
    char wrong[32], ask[32], path[96], body[300];
    start_step(key, "front-door-consultation", "CSSW", "organisation", HAMPDEN, wrong);
    start_step(key, "workflow-step-deletion", "", "organisation", HAMPDEN, ask);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", ask);
    snprintf(body, sizeof(body),
             "{\"data\":{\"step_id\":\"%s\",\"reason\":\"Started against the wrong organisation.\"},"
             "\"completed\":true}",
             wrong);
    json_decref(testenv_call_json(testenv, key, "PUT", path, body, 200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", ask);
    json_decref(
        testenv_call_json(testenv, key, "POST", path, "{\"type\":\"action-by-system-support\"}", 201));
    json_t *wv = testenv_call_json(testenv, admin, "GET", "/api/v1/workview?queue=system-support", NULL, 200);
    assert_true(folder_has(wv, "incoming_requests", "step_id", ask));
    json_decref(wv);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/delete", wrong);
    json_decref(testenv_call_json(testenv, admin, "POST", path, "{\"reason\":\"wrong-record\"}", 200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s", wrong);
    testenv_call_error(testenv, key, "GET", path, NULL, 404, "step_deleted", NULL);
    /* Its definition says so to the worker. */
    json_t *defs = testenv_call_json(testenv, key, "GET",
                                     "/api/v1/workflow/definitions?type=workflow-step-deletion", NULL, 200);
    assert_true(
        json_is_true(json_object_get(json_array_get(json_object_get(defs, "items"), 0), "you_may_start")));
    json_decref(defs);
    free(admin);
    free(key);
}

/* A worker whose name is long in a script of three bytes a character: work assigned to them says so
 * in the step's history, whole. The history's detail was cut at 256 bytes, inside a character,
 * and PostgreSQL refused it: the assignment failed with 500. */
static void test_work_assigned_to_a_worker_with_a_long_name_keeps_it_whole_in_its_history(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *mash = testenv_login(testenv, "mash.admin");
    static char name[1024], body[2048], sql[2048];
    name[0] = '\0';
    for (int i = 0; i < 200; i++)
        strcat(name, "\xe0\xae\x95"); /* Tamil KA */
    char today[16];                   /* a starter's DBS check must be valid for a year more: dated today */
    testenv_sql_date(testenv, "current_date", today);
    snprintf(
        body, sizeof(body),
        "{\"username\":\"long.tamil\",\"name\":\"%s\",\"password\":\"a-long-password-123\","
        "\"roles\":[\"social-worker\"],\"teams\":[\"MASH\"],\"prerequisites\":{\"dbs_checked_on\":"
        "\"%s\",\"training_completed_on\":\"%s\",\"aup_signed_on\":\"%s\",\"conflicts_declared_on\":\"%s\"}}",
        name, today, today, today, today);
    json_t *worker = testenv_call_json(testenv, admin, "POST", "/api/v1/workers", body, 201);
    char worker_id[32];
    snprintf(worker_id, sizeof(worker_id), "%s", testenv_str(worker, "id"));
    json_decref(worker);
    /* The workflow daemon hears of the new worker from accounts' event. */
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM workflow.workers WHERE id = %s", worker_id);
    assert_int_equal(wait_for_count(sql, 1), 1);
    json_t *orgs = testenv_call_json(testenv, mash, "GET", "/api/v1/organisations?q=Consultation", NULL, 200);
    char org[32], step[32], path[128];
    snprintf(org, sizeof(org), "%s", testenv_str(json_array_get(json_object_get(orgs, "items"), 0), "id"));
    json_decref(orgs);
    start_step(mash, "front-door-consultation", "CSSW", "organisation", org, step);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/assign", step);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%s\"}", worker_id);
    json_t *assigned = testenv_call_json(testenv, mash, "POST", path, body, 200);
    json_decref(assigned);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.step_history WHERE step_id = %s AND detail = 'Assigned to %s'",
             step, name);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    free(admin);
    free(mash);
}

int main(void)
{
    /* The shipped definitions plus this test's own data-only step types, in a directory of its own. */
    snprintf(definitions_dir, sizeof(definitions_dir), "/tmp/tsr-wfdefs-XXXXXX");
    if (mkdtemp(definitions_dir) == NULL)
        return 1;
    char cmd[800];
    snprintf(
        cmd, sizeof(cmd),
        "cp %s/services/workflow/definitions/*.json %s/tests/integration/workflow_definitions/*.json %s/",
        TSR_SOURCE_DIR, TSR_SOURCE_DIR, definitions_dir);
    if (system(cmd) != 0)
        return 1;
    setenv("TESSERA_WORKFLOW_DEFINITIONS_DIRS", definitions_dir, 1);
    setenv("TESSERA_WORKFLOW_OVERDUE_CHECK_MS", "200", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_system_support_queue_counts_the_requests_waiting_in_it),
        cmocka_unit_test(test_requests_to_system_support_need_what_their_answers_call_for),
        cmocka_unit_test(test_a_leavers_folders_are_listed_for_managers_until_their_work_is_moved),
        cmocka_unit_test(test_the_replies_kept_for_idempotency_keys_are_forgotten_after_the_days_kept),
        cmocka_unit_test(
            test_a_front_door_consultation_goes_from_mash_admin_to_the_mash_manager_and_finishes),
        cmocka_unit_test(
            test_a_save_from_a_section_revision_saved_since_is_refused_naming_who_and_changes_nothing),
        cmocka_unit_test(test_a_request_cannot_be_completed_by_someone_it_was_not_sent_to),
        cmocka_unit_test(test_a_returned_request_goes_back_to_its_sender),
        cmocka_unit_test(test_a_request_is_returned_only_with_a_note_saying_why),
        cmocka_unit_test(
            test_a_step_cannot_finish_while_a_required_section_is_incomplete_and_nothing_changes),
        cmocka_unit_test(
            test_a_required_reason_is_asked_for_and_a_cpis_follow_up_runs_through_the_cp_is_worker_queue),
        cmocka_unit_test(test_recipients_offer_the_workers_named_first_and_find_any_worker_by_name),
        cmocka_unit_test(test_recipients_for_a_request_type_are_only_those_who_may_act_on_it),
        cmocka_unit_test(
            test_a_worker_without_access_to_a_restricted_subject_is_not_offered_and_cannot_be_sent_work),
        cmocka_unit_test(
            test_a_workview_shows_work_about_a_restricted_record_by_name_only_to_those_without_access),
        cmocka_unit_test(test_a_workview_item_about_a_record_the_caller_cannot_open_names_no_type_or_title),
        cmocka_unit_test(test_work_with_a_worker_who_cannot_open_a_record_restricted_moves_to_system_support),
        cmocka_unit_test(test_work_with_a_worker_who_declares_a_conflict_moves_and_their_workviews_hide_it),
        cmocka_unit_test(test_work_with_a_key_worker_whose_allocation_of_a_restricted_record_ends_moves),
        cmocka_unit_test(
            test_assign_and_bulk_assign_put_work_in_a_workers_incoming_work_and_resume_moves_it_to_current),
        cmocka_unit_test(test_workview_folders_page_with_a_keyset_cursor_and_count_every_item),
        cmocka_unit_test(test_a_workview_cursor_carries_on_in_the_order_it_was_given_with),
        cmocka_unit_test(test_a_workview_of_a_worker_or_team_that_does_not_exist_is_not_found),
        cmocka_unit_test(test_work_assigned_to_a_worker_with_a_long_name_keeps_it_whole_in_its_history),
        cmocka_unit_test(
            test_a_records_work_steps_page_past_the_first_and_its_summary_page_says_there_are_more),
        cmocka_unit_test(test_the_same_idempotency_key_sent_at_once_to_send_a_request_gets_the_first_result),
        cmocka_unit_test(
            test_listing_a_restricted_persons_steps_keeps_their_whole_long_name_in_the_audit_trail),
        cmocka_unit_test(test_a_worker_asks_system_support_to_delete_a_step_they_recorded_in_error),
        cmocka_unit_test(test_cancelling_needs_a_reason_and_is_final_while_a_completed_step_can_be_reopened),
        cmocka_unit_test(test_starting_work_checks_the_type_variant_subject_and_role),
        cmocka_unit_test(test_a_new_step_type_added_as_a_data_file_only_runs_end_to_end),
        cmocka_unit_test(test_overdue_work_is_flagged_in_the_workview_and_raises_a_notice),
        cmocka_unit_test(test_a_backlog_falling_due_at_once_is_flagged_in_one_run_of_the_scan),
        cmocka_unit_test(test_a_bad_definition_file_stops_the_daemon_naming_the_file_and_the_fault),
        cmocka_unit_test(test_work_arriving_while_the_office_is_closed_falls_due_after_it_opens_again),
        cmocka_unit_test(
            test_a_definition_change_applies_to_new_steps_and_leaves_running_ones_on_their_version),
    };
    int rc = cmocka_run_group_tests(tests, testenv_group_setup, testenv_group_teardown);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", definitions_dir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}
