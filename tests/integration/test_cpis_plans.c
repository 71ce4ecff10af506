/* CP-IS plan data out (issue 6, seed 003): the plans the NHS must know of (child protection plan,
 * child in care under s31, s38 or s20, unborn child protection plan against the mother's number) go
 * in numbered upload files with the council's details, each record first checked the way the
 * national service matches it (NHS number valid, family name, the given-name cascade, date of
 * birth) against the NHS's demographics; a name mismatch, a date of birth mismatch, an untraced and
 * an inactive number are held back in the error queue with their reason; the national service's
 * responses are read back, each failure in the error queue with its meaning in words. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsr_testenv.h"

static char *admin, *support, *service, *social_worker;
static char today[16];

static long num(const json_t *obj, const char *key)
{
    return (long)json_integer_value(json_object_get(obj, key));
}

typedef struct {
    char id[32];
    char nhs[11];
    char plan[32];
} child_t;

/* A child on the record with a new NHS number. */
static void add_child(const char *given, const char *family, const char *dob, child_t *c)
{
    char body[600];
    testenv_new_nhs_number(c->nhs);
    snprintf(
        body, sizeof(body),
        "{\"legal_name\":{\"given\":\"%s\",\"family\":\"%s\"},\"gender\":\"female\",\"date_of_birth\":\"%s\","
        "\"nhs_number\":\"%s\"}",
        given, family, dob, c->nhs);
    json_t *p = testenv_call_json(testenv, admin, "POST", "/api/v1/people", body, 201);
    snprintf(c->id, sizeof(c->id), "%s", testenv_str(p, "id"));
    json_decref(p);
}

/* What a trace on the Personal Demographics Service gave for the number. given: a JSON list. */
static void trace(const char *nhs, const char *family, const char *given, const char *dob)
{
    char body[600];
    snprintf(body, sizeof(body),
             "{\"nhs_number\":\"%s\",\"family_name\":\"%s\",\"given_names\":%s,\"date_of_birth\":\"%s\"}",
             nhs, family, given, dob);
    json_decref(testenv_call_json(testenv, support, "POST", "/api/v1/cpis/demographics", body, 200));
}

static void record_plan(child_t *c, const char *type, const char *legal, const char *start)
{
    char body[400];
    snprintf(body, sizeof(body), "{\"person_id\":\"%s\",\"plan_type\":\"%s\"%s%s%s,\"start_date\":\"%s\"}",
             c->id, type, legal ? ",\"legal_status\":\"" : "", legal ? legal : "", legal ? "\"" : "", start);
    json_t *p = testenv_call_json(testenv, social_worker, "POST", "/api/v1/cpis/plans", body, 201);
    assert_string_equal(testenv_str(p, "plan_type"), type);
    snprintf(c->plan, sizeof(c->plan), "%s", testenv_str(p, "id"));
    json_decref(p);
}

/* The record of the file about the NHS number, or NULL. */
static const json_t *record_for(const json_t *file, const char *nhs)
{
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(file, "records"), i, r)
    {
        if (strcmp(testenv_str(r, "nhs_number"), nhs) == 0)
            return r;
    }
    return NULL;
}

/* How many records of the file are about the NHS number. */
static size_t records_on(const json_t *file, const char *nhs)
{
    size_t i, n = 0;
    const json_t *r;
    json_array_foreach(json_object_get(file, "records"), i, r)
    {
        n += strcmp(testenv_str(r, "nhs_number"), nhs) == 0;
    }
    return n;
}

/* The held-back entry of an upload's summary about the plan, or NULL. */
static const json_t *held_for(const json_t *summary, const char *plan_id)
{
    size_t i;
    const json_t *h;
    json_array_foreach(json_object_get(summary, "held_back"), i, h)
    {
        if (strcmp(testenv_str(h, "plan_id"), plan_id) == 0)
            return h;
    }
    return NULL;
}

/* The open error-queue entry about the plan with the code, or NULL; *out_json keeps it alive. */
static const json_t *open_error(const char *plan_id, const char *code, json_t **list)
{
    *list = testenv_call_json(testenv, support, "GET", "/api/v1/cpis/errors?limit=200", NULL, 200);
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(*list, "items"), i, e)
    {
        if (strcmp(testenv_str(e, "plan_id"), plan_id) == 0 && strcmp(testenv_str(e, "code"), code) == 0)
            return e;
    }
    return NULL;
}

/* Waits up to 30 s for the daemon to write the file at path. */
static void wait_for_file(const char *path)
{
    struct stat st;
    for (int i = 0; i < 300; i++) {
        if (stat(path, &st) == 0)
            return;
        usleep(100 * 1000);
    }
    fail_msg("%s was not written", path);
}

static int setup(void **state)
{
    if (testenv_group_setup(state) != 0)
        return -1;
    admin = testenv_login(testenv, "admin");
    testenv_sql_date(testenv, "current_date", today);
    char id[32];
    testenv_add_worker(testenv, admin, "sys.sally", "Sally Supportwell", "\"roles\":[\"system-support\"]",
                       id);
    testenv_add_service_account(testenv, admin, "cpis.spine", "CP-IS Spine Connection", "cpis-service", id);
    testenv_add_worker(testenv, admin, "sw.pat", "Pat Planwright", "\"roles\":[\"social-worker\"]", id);
    support = testenv_login(testenv, "sys.sally");
    service = testenv_login_with(testenv, "cpis.spine", TESTENV_SERVICE_PASSWORD);
    social_worker = testenv_login(testenv, "sw.pat");
    return 0;
}

static int teardown(void **state)
{
    free(admin);
    free(support);
    free(service);
    free(social_worker);
    return testenv_group_teardown(state);
}

static void
test_plans_are_checked_and_shared_in_numbered_files_and_mismatches_end_in_the_error_queue(void **state)
{
    (void)state;
    child_t amy, ben, cara, dan, eve, fay, gil, hal, mum, unborn;
    /* All given names exact. */
    add_child("Amy Louise", "Ableton", "2015-01-02", &amy);
    trace(amy.nhs, "ABLETON", "[\"Amy\", \"Louise\"]", "2015-01-02");
    record_plan(&amy, "child-protection-plan", NULL, "2026-01-05");
    /* The first forename is one of the given names, not the first. */
    add_child("Ben", "Bakewell", "2014-03-04", &ben);
    trace(ben.nhs, "Bakewell", "[\"Robert\", \"Ben\"]", "2014-03-04");
    record_plan(&ben, "child-in-care", "s31-full-care-order", "2025-06-01");
    /* The first forename is the first given name; the others differ. */
    add_child("Cara Jane", "Colebrook", "2016-05-06", &cara);
    trace(cara.nhs, "Colebrook", "[\"Cara\", \"Maria\"]", "2016-05-06");
    record_plan(&cara, "child-in-care", "s38-interim-care-order", "2026-02-01");
    /* A family name the NHS holds otherwise: the name mismatch of the plan export. */
    add_child("Dan", "Deering", "2013-07-08", &dan);
    trace(dan.nhs, "Deering-Smith", "[\"Dan\"]", "2013-07-08");
    record_plan(&dan, "child-protection-plan", NULL, "2026-01-10");
    /* No given name matches. */
    add_child("Eve", "Eastwood", "2012-09-10", &eve);
    trace(eve.nhs, "Eastwood", "[\"Eva\", \"Marie\"]", "2012-09-10");
    record_plan(&eve, "child-protection-plan", NULL, "2026-01-11");
    /* Another date of birth; Fay has a key worker, told of it (seed 001). */
    add_child("Fay", "Fairweather", "2011-11-12", &fay);
    trace(fay.nhs, "Fairweather", "[\"Fay\"]", "2011-12-11");
    record_plan(&fay, "child-in-care", "s20-voluntary", "2026-01-12");
    long key_worker =
        testenv_sql_long(testenv, "SELECT id FROM accounts.workers WHERE username = 'key.worker'");
    char allocation[160], allocate_path[96];
    snprintf(allocation, sizeof(allocation),
             "{\"worker_id\":\"%ld\",\"role\":\"key-worker\",\"service\":\"CSSW\"}", key_worker);
    snprintf(allocate_path, sizeof(allocate_path), "/api/v1/people/%s/allocations", fay.id);
    json_decref(testenv_call_json(testenv, admin, "POST", allocate_path, allocation, 201));
    /* Never traced. */
    add_child("Gil", "Greenhalgh", "2017-01-13", &gil);
    record_plan(&gil, "child-protection-plan", NULL, "2026-01-13");
    /* Reported inactive by the national service. */
    add_child("Hal", "Hartington", "2018-02-14", &hal);
    trace(hal.nhs, "Hartington", "[\"Hal\"]", "2018-02-14");
    record_plan(&hal, "child-protection-plan", NULL, "2026-01-14");
    char batch[600];
    snprintf(batch, sizeof(batch),
             "{\"notifications\":[{\"notification_id\":\"PLAN-INACTIVE-1\",\"type\":\"inactive-nhs-number\","
             "\"created_at\":\"%sT00:00:01Z\",\"nhs_number\":\"%s\"}]}",
             today, hal.nhs);
    json_t *ingested = testenv_call_json(testenv, service, "POST", "/api/v1/cpis/notifications", batch, 200);
    assert_int_equal(num(ingested, "inactive_marked"), 1);
    json_decref(ingested);
    /* An unborn child's plan is shared against the mother's number, and nothing of the child. */
    add_child("Mia", "Moorcroft", "1999-04-15", &mum);
    trace(mum.nhs, "Moorcroft", "[\"Mia\"]", "1999-04-15");
    char edd[16], body[600];
    testenv_sql_date(testenv, "current_date + 60", edd);
    snprintf(
        body, sizeof(body),
        "{\"legal_name\":{\"given\":\"\",\"family\":\"Moorcroft\"},\"gender\":\"not-known\",\"unborn\":true,"
        "\"mother_id\":\"%s\",\"expected_delivery_date\":\"%s\"}",
        mum.id, edd);
    json_t *p = testenv_call_json(testenv, admin, "POST", "/api/v1/people", body, 201);
    snprintf(unborn.id, sizeof(unborn.id), "%s", testenv_str(p, "id"));
    json_decref(p);
    record_plan(&unborn, "unborn-child-protection-plan", NULL, today);

    json_t *first = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    json_t *file = json_object_get(first, "file");
    json_t *header = json_object_get(file, "header");
    assert_string_equal(testenv_str(first, "trigger"), "on-demand");
    /* The demo's plans go too (deploy/demo/demo.json: three, of which Jamie's is held back, the NHS
     * knowing another family name): the counts are of the whole file. */
    long demo_plans = testenv_sql_long(testenv, "SELECT count(*) FROM cpis.plans") - 9;
    assert_int_equal(demo_plans, 3);
    assert_int_equal(num(header, "record_count"), 4 + demo_plans - 1);
    assert_int_equal(json_array_size(json_object_get(file, "records")), num(header, "record_count"));
    assert_true(json_is_integer(json_object_get(header, "file_sequence_number")));
    long seq1 = num(header, "file_sequence_number");
    assert_true(seq1 >= 1);
    assert_true(strlen(testenv_str(header, "created_at")) == 20);
    /* Each record: NHS number, plan type, dates and the council's name, ODS code and telephones. */
    const json_t *ra = record_for(file, amy.nhs);
    assert_non_null(ra);
    assert_string_equal(testenv_str(ra, "plan_type"), "child-protection-plan");
    assert_string_equal(testenv_str(ra, "start_date"), "2026-01-05");
    assert_true(json_is_null(json_object_get(ra, "end_date")));
    const json_t *la = json_object_get(ra, "local_authority");
    assert_string_equal(testenv_str(la, "name"), "Demo Borough Council");
    assert_string_equal(testenv_str(la, "ods_code"), "E0999");
    assert_string_equal(testenv_str(la, "office_hours_telephone"), "01632 960000");
    assert_string_equal(testenv_str(la, "emergency_duty_telephone"), "01632 960999");
    const json_t *rb = record_for(file, ben.nhs);
    assert_non_null(rb);
    assert_string_equal(testenv_str(rb, "plan_type"), "child-in-care");
    assert_string_equal(testenv_str(rb, "legal_status"), "s31-full-care-order");
    assert_non_null(record_for(file, cara.nhs));
    const json_t *rm = record_for(file, mum.nhs);
    assert_non_null(rm);
    assert_string_equal(testenv_str(rm, "plan_type"), "unborn-child-protection-plan");
    char *file_text = json_dumps(file, JSON_COMPACT);
    assert_null(strstr(file_text, unborn.id));
    assert_null(strstr(file_text, edd));
    free(file_text);
    for (const char *nhs_out[] = {dan.nhs, eve.nhs, fay.nhs, gil.nhs, hal.nhs, NULL}, **n = nhs_out; *n; n++)
        assert_null(record_for(file, *n));

    /* Each held back with its reason, in the summary and in the error queue. */
    assert_int_equal(num(first, "held_back_count"), 5 + 1);
    const struct {
        child_t *c;
        const char *code;
        const char *words;
    } held[] = {{&dan, "family_name_mismatch", "Deering-Smith"},
                {&eve, "given_name_mismatch", "Eva"},
                {&fay, "date_of_birth_mismatch", "2011-12-11"},
                {&gil, "not_traced", "Personal Demographics Service"},
                {&hal, "inactive_nhs_number", "inactive"}};
    for (size_t i = 0; i < sizeof(held) / sizeof(held[0]); i++) {
        const json_t *h = held_for(first, held[i].c->plan);
        if (h == NULL)
            fail_msg("plan %s (%s) was not held back", held[i].c->plan, held[i].code);
        assert_string_equal(testenv_str(h, "code"), held[i].code);
        assert_non_null(strstr(testenv_str(h, "reason"), held[i].words));
        json_t *list;
        const json_t *e = open_error(held[i].c->plan, held[i].code, &list);
        if (e == NULL)
            fail_msg("plan %s: no open %s in the error queue", held[i].c->plan, held[i].code);
        assert_string_equal(testenv_str(e, "source"), "plan-export");
        assert_string_equal(testenv_str(e, "person_id"), held[i].c->id);
        assert_non_null(strstr(testenv_str(e, "reason"), held[i].words));
        json_decref(list);
    }

    /* Made again: the next number; the same mismatch counts up rather than queuing twice. */
    json_t *second = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    assert_int_equal(num(json_object_get(json_object_get(second, "file"), "header"), "file_sequence_number"),
                     seq1 + 1);
    json_t *list;
    const json_t *e = open_error(dan.plan, "family_name_mismatch", &list);
    assert_non_null(e);
    assert_int_equal(num(e, "times_received"), 2);
    json_decref(list);
    char sql[300];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM cpis.errors WHERE plan_id = %s", dan.plan);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    /* Fay's key worker was told once, when her plan was first held back, with a link to her record
     * and no name in the title; Dan has no key worker: his stays with the error queue. */
    char notice_sql[300];
    snprintf(notice_sql, sizeof(notice_sql),
             "SELECT count(*) FROM notifications.notices WHERE kind = 'cpis-plan-held-back'"
             " AND worker_id = %ld AND link = '/people/%s' AND title NOT LIKE '%%Fay%%'",
             key_worker, fay.id);
    long told = 0;
    for (int i = 0; i < 100 && told == 0; i++) {
        told = testenv_sql_long(testenv, notice_sql);
        if (told == 0)
            usleep(50 * 1000);
    }
    assert_int_equal(told, 1);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM notifications.notices WHERE link = '/people/%s'",
             dan.id);
    assert_int_equal(testenv_sql_long(testenv, sql), 0);

    usleep(300 * 1000); /* the second file's events, were there any, have had time to arrive */
    assert_int_equal(testenv_sql_long(testenv, notice_sql), 1);
    /* The record corrected (here: the NHS's trace): the plan goes, its entry is resolved. */
    trace(dan.nhs, "Deering", "[\"Dan\"]", "2013-07-08");
    json_t *third = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    assert_non_null(record_for(json_object_get(third, "file"), dan.nhs));
    assert_null(held_for(third, dan.plan));
    assert_null(open_error(dan.plan, "family_name_mismatch", &list));
    json_decref(list);

    /* Eve's plan ends before it was ever sent: nothing to tell the NHS, and its entry leaves the
     * queue. */
    char end_path[120];
    snprintf(end_path, sizeof(end_path), "/api/v1/cpis/plans/%s/end", eve.plan);
    json_decref(testenv_call_json(testenv, social_worker, "POST", end_path, NULL, 200));
    json_t *fourth = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    assert_null(held_for(fourth, eve.plan));
    assert_null(record_for(json_object_get(fourth, "file"), eve.nhs));
    assert_null(open_error(eve.plan, "given_name_mismatch", &list));
    json_decref(list);
    json_decref(fourth);

    /* Fay's date of birth was recorded wrongly here (seed 003: as on the birth certificate): put
     * right on her record, her plan goes in the next file and her entry leaves the queue. */
    char details_path[120];
    snprintf(details_path, sizeof(details_path), "/api/v1/people/%s/details", fay.id);
    json_decref(
        testenv_call_json(testenv, social_worker, "PUT", details_path,
                          "{\"legal_name\":{\"given\":\"Fay\",\"family\":\"Fairweather\"},"
                          "\"other_names\":[],\"date_of_birth\":\"2011-12-11\",\"gender\":\"female\"}",
                          200));
    json_t *fifth = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    assert_non_null(record_for(json_object_get(fifth, "file"), fay.nhs));
    assert_null(held_for(fifth, fay.plan));
    assert_null(open_error(fay.plan, "date_of_birth_mismatch", &list));
    json_decref(list);
    json_decref(fifth);

    /* The file as it was made, from the list and by its number; and written for the Spine. */
    char path[200];
    snprintf(path, sizeof(path), "/api/v1/cpis/uploads/%ld", seq1);
    json_t *again = testenv_call_json(testenv, service, "GET", path, NULL, 200);
    assert_true(json_equal(again, file));
    json_decref(again);
    json_t *uploads = testenv_call_json(testenv, support, "GET", "/api/v1/cpis/uploads", NULL, 200);
    assert_true(json_array_size(json_object_get(uploads, "items")) >= 3);
    json_decref(uploads);
    char written[400];
    snprintf(written, sizeof(written), "%s/cpis-uploads/CPIS-E0999-%06ld.json", testenv->dir, seq1);
    wait_for_file(written);
    json_error_t jerr;
    json_t *on_disk = json_load_file(written, 0, &jerr);
    assert_true(json_equal(on_disk, file));
    json_decref(on_disk);

    /* Sharing is an access to the child's record: the trail has it. */
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_kind = 'person' AND record_id = %s"
             " AND action = 'share-plan'",
             amy.id);
    assert_int_equal(testenv_sql_long(testenv, sql), 5); /* in each of the five files made */
    json_decref(first);
    json_decref(second);
    json_decref(third);
}

/* A response posted to path that must be refused whole (400, code), its message saying says. */
static void response_refused_saying(const char *path, const char *body, const char *code, const char *says)
{
    testenv_response_t r = testenv_http(testenv, "POST", path, service, body, NULL);
    testenv_assert_error(&r, 400, code);
    if (strstr(r.body, says) == NULL)
        fail_msg("the refusal of %s does not say %s: %s", body, says, r.body);
    testenv_response_free(&r);
}

static void test_the_national_services_responses_are_read_back_and_each_failure_queued_in_words(void **state)
{
    (void)state;
    child_t kim, lee;
    add_child("Kim", "Kingsley", "2014-06-07", &kim);
    trace(kim.nhs, "Kingsley", "[\"Kim\"]", "2014-06-07");
    record_plan(&kim, "child-protection-plan", NULL, "2026-03-01");
    add_child("Lee", "Lindqvist", "2015-08-09", &lee);
    trace(lee.nhs, "Lindqvist", "[\"Lee\"]", "2015-08-09");
    record_plan(&lee, "child-protection-plan", NULL, "2026-03-02");
    /* Both shared; then Kim's plan ends: the files say so until the national service has loaded the
     * end. */
    json_t *shared = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    assert_non_null(record_for(json_object_get(shared, "file"), kim.nhs));
    json_decref(shared);
    char path[200], body[1200];
    snprintf(path, sizeof(path), "/api/v1/cpis/plans/%s/end", kim.plan);
    json_t *ended =
        testenv_call_json(testenv, social_worker, "POST", path, "{\"end_date\":\"2026-04-01\"}", 200);
    assert_string_equal(testenv_str(ended, "end_date"), "2026-04-01");
    json_decref(ended);
    testenv_call_error(testenv, social_worker, "POST", path, NULL, 409, "already_ended", NULL);

    json_t *up = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    json_t *file = json_object_get(up, "file");
    long seq = num(json_object_get(file, "header"), "file_sequence_number");
    const json_t *rk = record_for(file, kim.nhs), *rl = record_for(file, lee.nhs);
    assert_non_null(rk);
    assert_non_null(rl);
    assert_string_equal(testenv_str(rk, "end_date"), "2026-04-01");
    long nk = num(rk, "record_number"), nl = num(rl, "record_number");
    long count = num(json_object_get(file, "header"), "record_count");
    snprintf(path, sizeof(path), "/api/v1/cpis/uploads/%ld/response", seq);

    /* Bad responses are refused whole, naming the fault, and change nothing. */
    snprintf(body, sizeof(body), "{\"status\":\"CPF09\",\"records\":[]}");
    testenv_call_error(testenv, service, "POST", path, body, 400, "invalid_value", NULL);
    snprintf(body, sizeof(body),
             "{\"status\":\"CPF03\",\"records\":[{\"record_number\":%ld,\"nhs_number\":\"%s\","
             "\"status\":\"CPR06\"}]}",
             count + 1, kim.nhs);
    testenv_call_error(testenv, service, "POST", path, body, 400, "invalid_value", NULL);
    snprintf(body, sizeof(body),
             "{\"status\":\"CPF03\",\"records\":[{\"record_number\":%ld,\"nhs_number\":\"%s\","
             "\"status\":\"CPR06\"}]}",
             nk, lee.nhs);
    testenv_call_error(testenv, service, "POST", path, body, 400, "invalid_value", NULL);
    snprintf(body, sizeof(body),
             "{\"status\":\"CPF03\",\"records\":[{\"record_number\":%ld,\"nhs_number\":\"%s\","
             "\"status\":\"CPR99\"}]}",
             nk, kim.nhs);
    testenv_call_error(testenv, service, "POST", path, body, 400, "invalid_value", NULL);
    testenv_call_error(testenv, service, "POST", path, "{\"status\":\"CPF02\",\"colour\":\"blue\"}", 400,
                       "unknown_field", NULL);
    /* Inside a record too, named with its record; and a number that is not one, even one whose first
     * ten digits are the record's. */
    snprintf(body, sizeof(body),
             "{\"status\":\"CPF03\",\"records\":[{\"record_number\":%ld,\"nhs_number\":\"%s\","
             "\"status\":\"CPR06\",\"colour\":\"blue\"}]}",
             nk, kim.nhs);
    char named[64];
    snprintf(named, sizeof(named), "(record %ld) has a field 'colour'", nk);
    response_refused_saying(path, body, "unknown_field", named);
    snprintf(body, sizeof(body),
             "{\"status\":\"CPF03\",\"records\":[{\"record_number\":%ld,\"nhs_number\":\"%s9999\","
             "\"status\":\"CPR06\"}]}",
             nk, kim.nhs);
    snprintf(named, sizeof(named), "'%s9999'", kim.nhs);
    response_refused_saying(path, body, "invalid_nhs_number", named);
    /* All loaded, yet a record not: it does not fit. */
    snprintf(body, sizeof(body),
             "{\"status\":\"CPF02\",\"records\":[{\"record_number\":%ld,\"nhs_number\":\"%s\","
             "\"status\":\"CPR01\"}]}",
             nk, kim.nhs);
    testenv_call_error(testenv, service, "POST", path, body, 400, "invalid_value", NULL);
    char sql[300];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM cpis.uploads WHERE file_sequence_number = %ld"
             " AND response_status IS NULL",
             seq);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);

    /* Kim's record loaded, Lee's not matched: the file partly loaded. */
    snprintf(body, sizeof(body),
             "{\"file_sequence_number\":%ld,\"status\":\"CPF03\",\"records\":["
             "{\"record_number\":%ld,\"nhs_number\":\"%s\",\"status\":\"CPR06\"},"
             "{\"record_number\":%ld,\"nhs_number\":\"%s\",\"status\":\"CPR01\"}]}",
             seq, nk, kim.nhs, nl, lee.nhs);
    json_t *read = testenv_call_json(testenv, service, "POST", path, body, 200);
    assert_int_equal(num(read, "records_loaded"), 1);
    assert_int_equal(num(read, "records_failed"), 1);
    assert_non_null(strstr(testenv_str(read, "status_meaning"), "Partially loaded"));
    json_decref(read);
    json_t *list;
    const json_t *e = open_error(lee.plan, "CPR01", &list);
    assert_non_null(e);
    assert_string_equal(testenv_str(e, "source"), "response");
    assert_non_null(strstr(testenv_str(e, "reason"), "No match"));
    assert_int_equal(num(e, "record_number"), nl);
    json_decref(list);
    list = testenv_call_json(testenv, support, "GET", "/api/v1/cpis/errors?limit=200", NULL, 200);
    int file_error = 0;
    size_t i;
    json_array_foreach(json_object_get(list, "items"), i, e)
    {
        if (strcmp(testenv_str(e, "code"), "CPF03") == 0 && num(e, "file_sequence_number") == 0 &&
            strstr(testenv_str(e, "reason"), "Partially loaded") != NULL)
            file_error = 1;
    }
    json_decref(list);
    assert_true(file_error);
    /* Read once only. */
    testenv_call_error(testenv, service, "POST", path, body, 409, "already_read", NULL);

    /* Kim's end is loaded: the next file no longer carries the plan; Lee's still goes. */
    json_t *next = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    assert_null(record_for(json_object_get(next, "file"), kim.nhs));
    assert_non_null(record_for(json_object_get(next, "file"), lee.nhs));
    json_decref(next);
    json_decref(up);
}

static void test_a_plan_that_cannot_be_recorded_is_refused_with_its_reason(void **state)
{
    (void)state;
    child_t nia;
    add_child("Nia", "Northcott", "2016-10-11", &nia);
    char body[400];
    testenv_call_error(
        testenv, social_worker, "POST", "/api/v1/cpis/plans",
        "{\"person_id\":\"99999999\",\"plan_type\":\"child-protection-plan\",\"start_date\":\"2026-01-01\"}",
        404, "not_found", NULL);
    snprintf(body, sizeof(body),
             "{\"person_id\":\"%s\",\"plan_type\":\"supervision-order\",\"start_date\":\"2026-01-01\"}",
             nia.id);
    testenv_call_error(testenv, social_worker, "POST", "/api/v1/cpis/plans", body, 400, "invalid_value",
                       NULL);
    snprintf(body, sizeof(body),
             "{\"person_id\":\"%s\",\"plan_type\":\"child-in-care\",\"start_date\":\"2026-01-01\"}", nia.id);
    testenv_call_error(testenv, social_worker, "POST", "/api/v1/cpis/plans", body, 400, "missing_field",
                       NULL);
    snprintf(
        body, sizeof(body),
        "{\"person_id\":\"%s\",\"plan_type\":\"unborn-child-protection-plan\",\"start_date\":\"2026-01-01\"}",
        nia.id);
    testenv_call_error(testenv, social_worker, "POST", "/api/v1/cpis/plans", body, 422, "not_unborn", NULL);
    snprintf(body, sizeof(body),
             "{\"person_id\":\"%s\",\"plan_type\":\"child-protection-plan\",\"start_date\":\"2026-02-30\"}",
             nia.id);
    testenv_call_error(testenv, social_worker, "POST", "/api/v1/cpis/plans", body, 400, "invalid_date", NULL);
    /* Every fault of the plan at once: the legal status a child in care needs and the end before the
     * start. */
    snprintf(body, sizeof(body),
             "{\"person_id\":\"%s\",\"plan_type\":\"child-in-care\",\"start_date\":\"2026-02-01\","
             "\"end_date\":\"2026-01-01\"}",
             nia.id);
    testenv_response_t both = testenv_http(testenv, "POST", "/api/v1/cpis/plans", social_worker, body, NULL);
    testenv_assert_error(&both, 400, "missing_field");
    assert_int_equal(json_array_size(json_object_get(both.json, "errors")), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(both.json, "errors"), 1), "field")),
        "end_date");
    testenv_response_free(&both);
    record_plan(&nia, "child-protection-plan", NULL, "2026-01-01");
    snprintf(body, sizeof(body),
             "{\"person_id\":\"%s\",\"plan_type\":\"child-protection-plan\",\"start_date\":\"2026-02-01\"}",
             nia.id);
    testenv_call_error(testenv, social_worker, "POST", "/api/v1/cpis/plans", body, 409, "overlapping_plan",
                       NULL);
    /* The spine connection carries files; it does not record plans. */
    testenv_call_error(testenv, service, "POST", "/api/v1/cpis/plans", body, 403, "forbidden", NULL);
    testenv_call_error(testenv, support, "POST", "/api/v1/cpis/demographics",
                       "{\"nhs_number\":\"1234567890\",\"family_name\":\"X\",\"given_names\":[\"Y\"],"
                       "\"date_of_birth\":\"2010-01-01\"}",
                       400, "invalid_nhs_number", NULL);
    snprintf(body, sizeof(body), "SELECT count(*) FROM cpis.plans WHERE person_id = %s", nia.id);
    assert_int_equal(testenv_sql_long(testenv, body), 1);
    /* A restricted record's plans are for its access list only; the whole list for those who run
     * the uploads only. */
    child_t ola;
    add_child("Ola", "Oakenshaw", "2015-12-13", &ola);
    char path_r[120];
    snprintf(path_r, sizeof(path_r), "/api/v1/people/%s/restriction", ola.id);
    json_decref(testenv_call_json(testenv, admin, "PUT", path_r,
                                  "{\"reason\":\"high-risk\",\"review_date\":\"2030-01-31\",\"workers\":[]}",
                                  200));
    snprintf(body, sizeof(body),
             "{\"person_id\":\"%s\",\"plan_type\":\"child-protection-plan\",\"start_date\":\"2026-01-01\"}",
             ola.id);
    testenv_call_error(testenv, social_worker, "POST", "/api/v1/cpis/plans", body, 403, "restricted", NULL);
    snprintf(path_r, sizeof(path_r), "/api/v1/cpis/plans?person_id=%s", ola.id);
    testenv_call_error(testenv, social_worker, "GET", path_r, NULL, 403, "restricted", NULL);
    testenv_call_error(testenv, social_worker, "GET", "/api/v1/cpis/plans", NULL, 403, "forbidden", NULL);
    json_decref(testenv_call_json(testenv, support, "GET", "/api/v1/cpis/plans", NULL, 200));
    /* The plan list shows the plan to those who work with plans. */
    char path[120];
    snprintf(path, sizeof(path), "/api/v1/cpis/plans?person_id=%s", nia.id);
    json_t *plans = testenv_call_json(testenv, social_worker, "GET", path, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(plans, "items")), 1);
    assert_string_equal(testenv_str(json_array_get(json_object_get(plans, "items"), 0), "plan_type_title"),
                        "Child protection plan");
    json_decref(plans);
}

static void test_files_are_made_on_a_schedule_and_by_the_batch_command(void **state)
{
    (void)state;
    char out[8192];
    /* On demand from a batch job: the file on standard output, the held-back plans said. */
    char args[400];
    snprintf(args, sizeof(args), "cpis export-plans --output %s/export.json", testenv->dir);
    assert_int_equal(testenv_run_tool(testenv, args, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "CP-IS upload file"));
    assert_non_null(strstr(out, "held back: plan"));
    snprintf(args, sizeof(args), "%s/export.json", testenv->dir);
    json_error_t jerr;
    json_t *file = json_load_file(args, 0, &jerr);
    assert_non_null(file);
    long seq =
        (long)json_integer_value(json_object_get(json_object_get(file, "header"), "file_sequence_number"));
    assert_true(seq > 1);
    /* Its response read back by the batch command; a response that does not fit is refused. */
    char *response = testenv_write_file(testenv, "response.json", "{\"status\":\"CPF05\",\"records\":[]}");
    snprintf(args, sizeof(args), "cpis read-response %ld %s", seq, response);
    assert_int_equal(testenv_run_tool(testenv, args, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "Spine unavailable"));
    assert_int_equal(testenv_run_tool(testenv, args, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "already read"));
    free(response);
    json_decref(file);

    /* The next file's response, left by the Spine connection in the spool, carried by the spine
     * poller; one that does not fit a file is set aside with its reason. */
    json_t *next = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    long next_seq = num(json_object_get(json_object_get(next, "file"), "header"), "file_sequence_number");
    json_decref(next);
    char spool[300], text[300], conf[300], cmd[900];
    snprintf(spool, sizeof(spool), "%s/spool", testenv->dir);
    mkdir(spool, 0700);
    snprintf(args, sizeof(args), "%s/%08ld-response.json", spool, next_seq);
    snprintf(text, sizeof(text), "{\"file_sequence_number\":%ld,\"status\":\"CPF02\",\"records\":[]}",
             next_seq);
    FILE *f = fopen(args, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    snprintf(args, sizeof(args), "%s/zz-response.json", spool);
    f = fopen(args, "w");
    assert_non_null(f);
    fputs("{\"file_sequence_number\":999999,\"status\":\"CPF02\",\"records\":[]}", f);
    fclose(f);
    testenv_response_t health = testenv_http(testenv, "GET", "/healthz", NULL, NULL, NULL);
    testenv_response_free(&health);
    snprintf(conf, sizeof(conf), "%s/poller-plans.conf", testenv->dir);
    f = fopen(conf, "w");
    assert_non_null(f);
    pthread_mutex_lock(&testenv->lock);
    fprintf(f,
            "[spine_poller]\nspool_dir = %s\ngateway_url = %s\nusername = cpis.spine\npassword "
            "= " TESTENV_SERVICE_PASSWORD "\n"
            "settle_ms = 0\n",
            spool, testenv->base_url);
    pthread_mutex_unlock(&testenv->lock);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "%s/tessera-spine-poller --config %s --once >> %s/logs/spine-poller.log 2>&1",
             TSR_BIN_DIR, conf, testenv->dir);
    assert_int_equal(system(cmd), 0);
    snprintf(args, sizeof(args), "SELECT response_status FROM cpis.uploads WHERE file_sequence_number = %ld",
             next_seq);
    char status[32];
    assert_int_equal(testenv_psql(testenv, NULL, args, status, sizeof(status)), 0);
    assert_string_equal(status, "CPF02");
    snprintf(args, sizeof(args), "%s/done/%08ld-response.json", spool, next_seq);
    struct stat done;
    assert_int_equal(stat(args, &done), 0);
    snprintf(args, sizeof(args), "%s/rejected/zz-response.json.error", spool);
    assert_int_equal(stat(args, &done), 0);
    /* The refused one is in the error queue as a response, not as a batch of notifications, its
     * reason read as one sentence. */
    assert_int_equal(testenv_sql_long(testenv,
                                      "SELECT count(*) FROM cpis.errors WHERE source = 'response'"
                                      " AND code = 'unreadable_response' AND reason LIKE '%zz-response.json%'"
                                      " AND reason NOT LIKE '%..%'"),
                     1);

    /* On a schedule: the daemon makes files by itself and writes each for the Spine connection. */
    long before = testenv_sql_long(testenv, "SELECT count(*) FROM cpis.uploads WHERE trigger = 'schedule'");
    setenv("TESSERA_CPIS_UPLOAD_EVERY_MS", "1000", 1);
    testenv_kill(testenv, "cpis", SIGTERM);
    assert_int_equal(testenv_wait_exit(testenv, "cpis", 15000), 0);
    testenv_restart(testenv, "cpis");
    long made = before;
    for (int i = 0; i < 300 && made < before + 2; i++) {
        made = testenv_sql_long(testenv, "SELECT count(*) FROM cpis.uploads WHERE trigger = 'schedule'");
        usleep(100 * 1000);
    }
    unsetenv("TESSERA_CPIS_UPLOAD_EVERY_MS");
    testenv_kill(testenv, "cpis", SIGTERM);
    assert_int_equal(testenv_wait_exit(testenv, "cpis", 15000), 0);
    testenv_restart(testenv, "cpis");
    assert_true(made >= before + 2);
    long last = testenv_sql_long(
        testenv, "SELECT max(file_sequence_number) FROM cpis.uploads WHERE trigger = 'schedule'");
    char written[400];
    snprintf(written, sizeof(written), "%s/cpis-uploads/CPIS-E0999-%06ld.json", testenv->dir, last);
    wait_for_file(written);
}

/* The copy of an upload file in cpis.upload_dir goes cpis.upload_keep_days (30) after the national
 * service answered it; one answered lately and one never answered stay. The file itself is still
 * served from cpis's own table. */
/* After a restore to an earlier point the files' numbers would be given again, and the national service
 * would take a new file for one it has had: the operator moves the next number past them, never back. */
static void test_the_next_files_number_is_moved_on_and_never_back(void **state)
{
    (void)state;
    char out[4096], args[200];
    json_t *made = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    long made_seq = num(json_object_get(json_object_get(made, "file"), "header"), "file_sequence_number");
    json_decref(made);
    snprintf(args, sizeof(args), "cpis renumber-files %ld", made_seq);
    assert_int_equal(testenv_run_tool(testenv, args, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "has been made already"));
    assert_int_equal(testenv_run_tool(testenv, "cpis renumber-files 12x", out, sizeof(out)), 2);
    assert_non_null(strstr(out, "'12x' is not a file sequence number"));
    assert_int_equal(testenv_run_tool(testenv, "cpis renumber-files 99999999999999999999", out, sizeof(out)),
                     2);

    long next = made_seq + 100;
    snprintf(args, sizeof(args), "cpis renumber-files %ld", next);
    assert_int_equal(testenv_run_tool(testenv, args, out, sizeof(out)), 0);
    char says[100];
    snprintf(says, sizeof(says), "The next CP-IS upload file is number %ld", next);
    assert_non_null(strstr(out, says));
    made = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    long after = num(json_object_get(json_object_get(made, "file"), "header"), "file_sequence_number");
    json_decref(made);
    assert_true(after >= next); /* the schedule may have made one in between: it took the new number */
    char sql[200];
    snprintf(
        sql, sizeof(sql),
        "SELECT count(*) FROM cpis.uploads WHERE file_sequence_number > %ld AND file_sequence_number < %ld",
        made_seq, next);
    assert_int_equal(testenv_sql_long(testenv, sql), 0);
    /* Back below a file made is refused, and changes nothing. */
    snprintf(args, sizeof(args), "cpis renumber-files %ld", next - 50);
    assert_int_equal(testenv_run_tool(testenv, args, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "the next file's number must be above it"));
    made = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    assert_true(num(json_object_get(json_object_get(made, "file"), "header"), "file_sequence_number") >
                after);
    json_decref(made);
}

static void test_an_answered_upload_file_leaves_the_upload_directory_after_the_days_kept(void **state)
{
    (void)state;
    long seq[3];
    char path[3][400], api[96];
    for (int i = 0; i < 3; i++) {
        json_t *up = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
        seq[i] = num(json_object_get(json_object_get(up, "file"), "header"), "file_sequence_number");
        json_decref(up);
        snprintf(path[i], sizeof(path[i]), "%s/cpis-uploads/CPIS-E0999-%06ld.json", testenv->dir, seq[i]);
        wait_for_file(path[i]);
    }
    for (int i = 0; i < 2; i++) {
        snprintf(api, sizeof(api), "/api/v1/cpis/uploads/%ld/response", seq[i]);
        json_decref(
            testenv_call_json(testenv, support, "POST", api, "{\"status\":\"CPF02\",\"records\":[]}", 200));
    }
    char sql[300], out[128];
    snprintf(
        sql, sizeof(sql),
        "UPDATE cpis.uploads SET response_at = now() - interval '31 days' WHERE file_sequence_number = %ld;"
        " UPDATE cpis.uploads SET created_at = now() - interval '60 days', written_at = now() - interval"
        " '60 days' WHERE file_sequence_number = %ld",
        seq[0], seq[2]);
    assert_int_equal(testenv_psql(testenv, NULL, sql, out, sizeof(out)), 0);
    /* The hourly housekeeping, every 200 ms here. */
    testenv_restart_with(testenv, "cpis", "TESSERA_TESSERA_HOUSEKEEPING_MS", "200");
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM cpis.uploads WHERE file_sequence_number = %ld"
             " AND file_removed_at IS NOT NULL",
             seq[0]);
    long removed = 0;
    for (int i = 0; i < 100 && removed == 0; i++) {
        removed = testenv_sql_long(testenv, sql);
        usleep(100 * 1000);
    }
    assert_int_equal(removed, 1);
    struct stat st;
    assert_int_not_equal(stat(path[0], &st), 0);
    assert_int_equal(stat(path[1], &st), 0);
    assert_int_equal(stat(path[2], &st), 0);
    assert_true(testenv_log_has(testenv, "cpis", "answered more than 30 days ago"));
    snprintf(api, sizeof(api), "/api/v1/cpis/uploads/%ld", seq[0]);
    json_decref(testenv_call_json(testenv, support, "GET", api, NULL, 200));
    testenv_kill(testenv, "cpis", SIGTERM);
    assert_int_equal(testenv_wait_exit(testenv, "cpis", 15000), 0);
    testenv_restart(testenv, "cpis");
}

static void test_the_cpis_daemon_refuses_to_start_without_the_councils_details(void **state)
{
    (void)state;
    testenv_assert_refuses_to_start(testenv, "cpis", "TESSERA_CPIS_LA_ODS_CODE='not an ods'",
                                    "cpis.la_ods_code", NULL);
    testenv_assert_refuses_to_start(testenv, "cpis", "TESSERA_CPIS_OFFICE_HOURS_TELEPHONE=call-us",
                                    "cpis.office_hours_telephone", NULL);
    testenv_assert_refuses_to_start(testenv, "cpis", "TESSERA_CPIS_UPLOAD_EVERY_MS=5", "cpis.upload_every_ms",
                                    NULL);
}

/* Seed 003 / issue 6: an inactive-number notification stops the child's uploads until a new number
 * is recorded. The new number is recorded on the child's record (PUT /api/v1/people/{id}/nhs-number,
 * checked and audited), and the next file carries the plan against it; the inactive entry leaves
 * the error queue. A number that is not one, or that another person holds, is refused. */
static void test_an_inactive_number_stops_uploads_until_a_new_number_is_recorded(void **state)
{
    (void)state;
    child_t ivo, other;
    add_child("Ivo", "Ironbridge", "2016-08-09", &ivo);
    trace(ivo.nhs, "Ironbridge", "[\"Ivo\"]", "2016-08-09");
    record_plan(&ivo, "child-protection-plan", NULL, "2026-01-20");
    add_child("Ola", "Otherton", "2015-08-09", &other);
    char batch[600];
    snprintf(
        batch, sizeof(batch),
        "{\"notifications\":[{\"notification_id\":\"PLAN-INACTIVE-IVO\",\"type\":\"inactive-nhs-number\","
        "\"created_at\":\"%sT00:00:01Z\",\"nhs_number\":\"%s\"}]}",
        today, ivo.nhs);
    json_decref(testenv_call_json(testenv, service, "POST", "/api/v1/cpis/notifications", batch, 200));
    json_t *held = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    assert_null(record_for(json_object_get(held, "file"), ivo.nhs));
    assert_non_null(held_for(held, ivo.plan));
    json_decref(held);
    json_t *list;
    assert_non_null(open_error(ivo.plan, "inactive_nhs_number", &list));
    json_decref(list);

    char path[120], body[200], new_nhs[11];
    snprintf(path, sizeof(path), "/api/v1/people/%s/nhs-number", ivo.id);
    testenv_call_error(testenv, social_worker, "PUT", path, "{\"nhs_number\":\"123\"}", 400,
                       "invalid_nhs_number", NULL);
    snprintf(body, sizeof(body), "{\"nhs_number\":\"%s\"}", other.nhs);
    testenv_call_error(testenv, social_worker, "PUT", path, body, 409, "duplicate_nhs_number", NULL);
    testenv_call_error(testenv, social_worker, "PUT", path, "{\"nhs\":\"x\"}", 400, "unknown_field", NULL);
    testenv_new_nhs_number(new_nhs);
    snprintf(body, sizeof(body), "{\"nhs_number\":\"%.3s %.3s %.4s\"}", new_nhs, new_nhs + 3, new_nhs + 6);
    json_t *p = testenv_call_json(testenv, social_worker, "PUT", path, body, 200);
    assert_string_equal(testenv_str(p, "nhs_number"), new_nhs);
    json_decref(p);
    trace(new_nhs, "Ironbridge", "[\"Ivo\"]", "2016-08-09");

    json_t *resumed = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    const json_t *r = record_for(json_object_get(resumed, "file"), new_nhs);
    if (r == NULL)
        fail_msg("the plan did not resume: %s", json_dumps(resumed, 0));
    assert_string_equal(testenv_str(r, "plan_type"), "child-protection-plan");
    assert_null(record_for(json_object_get(resumed, "file"), ivo.nhs));
    assert_null(held_for(resumed, ivo.plan));
    json_decref(resumed);
    assert_null(open_error(ivo.plan, "inactive_nhs_number", &list));
    json_decref(list);
    /* Recorded in the child's audit trail. */
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    char sql[300];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_kind = 'person' AND record_id = %s"
             " AND action = 'record-nhs-number'",
             ivo.id);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
}

/* A child on the record, traced as recorded, on a child protection plan from start. */
static void add_child_on_plan(const char *given, const char *family, const char *dob, const char *start,
                              child_t *c)
{
    char given_names[120];
    add_child(given, family, dob, c);
    snprintf(given_names, sizeof(given_names), "[\"%s\"]", given);
    trace(c->nhs, family, given_names, dob);
    record_plan(c, "child-protection-plan", NULL, start);
}

/* A partial load (CPF03) answers each record: one it leaves out is not known to be loaded, and goes
 * to the error queue saying so. All loaded (CPF02), with no list of records, is every record of the
 * file loaded: an ended plan's end among them, which the next file no longer carries. */
static void test_a_response_leaving_records_out_queues_them_or_loads_them_all_as_its_status_says(void **state)
{
    (void)state;
    child_t una, vic;
    add_child_on_plan("Una", "Unanswered", "2014-01-21", "2026-03-06", &una);
    add_child_on_plan("Vic", "Allloaded", "2015-02-22", "2026-03-07", &vic);
    json_t *up = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    json_t *file = json_object_get(up, "file");
    long seq = num(json_object_get(file, "header"), "file_sequence_number");
    const json_t *rv = record_for(file, vic.nhs);
    assert_non_null(record_for(file, una.nhs));
    assert_non_null(rv);
    char path[200], body[600];
    snprintf(path, sizeof(path), "/api/v1/cpis/uploads/%ld/response", seq);
    snprintf(body, sizeof(body),
             "{\"status\":\"CPF03\",\"records\":[{\"record_number\":%ld,\"nhs_number\":\"%s\","
             "\"status\":\"CPR06\"}]}",
             num(rv, "record_number"), vic.nhs);
    json_decref(testenv_call_json(testenv, service, "POST", path, body, 200));
    json_decref(up);
    json_t *list;
    const json_t *e = open_error(una.plan, "not_answered", &list);
    if (e == NULL)
        fail_msg("Una's record is not queued as not answered: %s", json_dumps(list, 0));
    assert_non_null(strstr(testenv_str(e, "reason"), "whether it was loaded is not known"));
    json_decref(list);
    assert_null(open_error(vic.plan, "not_answered", &list));
    json_decref(list);

    /* Vic's plan ends; the next file tells of it; all loaded, and it goes no more. */
    snprintf(path, sizeof(path), "/api/v1/cpis/plans/%s/end", vic.plan);
    json_decref(
        testenv_call_json(testenv, social_worker, "POST", path, "{\"end_date\":\"2026-04-02\"}", 200));
    up = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    file = json_object_get(up, "file");
    seq = num(json_object_get(file, "header"), "file_sequence_number");
    assert_string_equal(testenv_str(record_for(file, vic.nhs), "end_date"), "2026-04-02");
    json_decref(up);
    snprintf(path, sizeof(path), "/api/v1/cpis/uploads/%ld/response", seq);
    json_t *read = testenv_call_json(testenv, service, "POST", path, "{\"status\":\"CPF02\"}", 200);
    assert_true(num(read, "records_loaded") >= 2);
    assert_int_equal(num(read, "records_failed"), 0);
    json_decref(read);
    json_t *next = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    assert_null(record_for(json_object_get(next, "file"), vic.nhs));
    assert_non_null(record_for(json_object_get(next, "file"), una.nhs));
    json_decref(next);
}

/* Each failure the national service can answer, per record (CPR01-CPR05, CPR07) and per file
 * (CPF01, CPF03-CPF06), ends in the error queue with its meaning in words; CPR06 and CPF02 do not. */
static void test_every_failure_code_of_a_response_is_queued_with_its_meaning(void **state)
{
    (void)state;
    static const struct {
        const char *code, *words;
    } records[] = {{"CPR01", "No match"},  {"CPR02", "ensitive"},   {"CPR03", "Not verified"},
                   {"CPR04", "Old-style"}, {"CPR05", "Superseded"}, {"CPR07", "Unsuccessful"}};
    static const struct {
        const char *code, *words;
    } files[] = {
        {"CPF01", "Corrupt"}, {"CPF04", "None loaded"}, {"CPF05", "navailable"}, {"CPF06", "ersion"}};
    child_t rae;
    add_child("Rae", "Respondwell", "2013-10-11", &rae);
    trace(rae.nhs, "Respondwell", "[\"Rae\"]", "2013-10-11");
    record_plan(&rae, "child-protection-plan", NULL, "2026-03-05");
    char path[200], body[600];
    for (size_t i = 0; i < sizeof(records) / sizeof(records[0]) + sizeof(files) / sizeof(files[0]); i++) {
        json_t *up = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
        json_t *file = json_object_get(up, "file");
        long seq = num(json_object_get(file, "header"), "file_sequence_number");
        const json_t *r = record_for(file, rae.nhs);
        assert_non_null(r);
        snprintf(path, sizeof(path), "/api/v1/cpis/uploads/%ld/response", seq);
        const char *code, *words;
        if (i < sizeof(records) / sizeof(records[0])) {
            code = records[i].code;
            words = records[i].words;
            snprintf(body, sizeof(body),
                     "{\"status\":\"CPF03\",\"records\":[{\"record_number\":%ld,\"nhs_number\":\"%s\","
                     "\"status\":\"%s\"}]}",
                     num(r, "record_number"), rae.nhs, code);
        } else {
            code = files[i - sizeof(records) / sizeof(records[0])].code;
            words = files[i - sizeof(records) / sizeof(records[0])].words;
            snprintf(body, sizeof(body), "{\"status\":\"%s\",\"records\":[]}", code);
        }
        json_decref(up);
        json_decref(testenv_call_json(testenv, service, "POST", path, body, 200));
        json_t *list = testenv_call_json(testenv, support, "GET", "/api/v1/cpis/errors?limit=200", NULL, 200);
        size_t k;
        const json_t *e;
        int found = 0;
        json_array_foreach(json_object_get(list, "items"), k, e)
        {
            if (strcmp(testenv_str(e, "code"), code) == 0 &&
                strcmp(testenv_str(e, "source"), "response") == 0 &&
                strstr(testenv_str(e, "reason"), words) != NULL)
                found = 1;
        }
        if (!found)
            fail_msg("%s: not in the error queue with '%s': %s", code, words, json_dumps(list, 0));
        json_decref(list);
    }
}

/* Seed 003: an unborn child's plan is shared against the mother's NHS number until the birth. Once
 * the birth is recorded (the child's legal name, date of birth and own number), the unborn child
 * protection plan still open is held back, saying what to do; ended, its end is told against the
 * mother's number, and the child's own plan is shared on the child's own number, name and date of
 * birth. */
static void test_once_the_birth_is_recorded_the_childs_own_plan_is_shared_on_their_own_number(void **state)
{
    (void)state;
    child_t mum, baby;
    add_child("Nia", "Nightingale", "1998-02-03", &mum);
    trace(mum.nhs, "Nightingale", "[\"Nia\"]", "1998-02-03");
    char edd[16], today[16], body[600], path[96];
    testenv_sql_date(testenv, "current_date + 5", edd);
    testenv_sql_date(testenv, "current_date", today);
    snprintf(body, sizeof(body),
             "{\"legal_name\":{\"given\":\"\",\"family\":\"Nightingale\"},\"gender\":\"not-known\","
             "\"unborn\":true,\"mother_id\":\"%s\",\"expected_delivery_date\":\"%s\"}",
             mum.id, edd);
    json_t *p = testenv_call_json(testenv, admin, "POST", "/api/v1/people", body, 201);
    snprintf(baby.id, sizeof(baby.id), "%s", testenv_str(p, "id"));
    json_decref(p);
    record_plan(&baby, "unborn-child-protection-plan", NULL, today);
    json_t *up = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    assert_non_null(record_for(json_object_get(up, "file"), mum.nhs));
    json_decref(up);

    /* Born early, today: the birth recorded with the child's own number. */
    testenv_new_nhs_number(baby.nhs);
    snprintf(path, sizeof(path), "/api/v1/people/%s/birth", baby.id);
    snprintf(body, sizeof(body),
             "{\"legal_name\":{\"given\":\"Wren\",\"family\":\"Nightingale\"},\"date_of_birth\":\"%s\","
             "\"gender\":\"female\",\"nhs_number\":\"%s\"}",
             today, baby.nhs);
    p = testenv_call_json(testenv, social_worker, "PUT", path, body, 200);
    assert_false(json_is_true(json_object_get(p, "unborn")));
    json_decref(p);
    up = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    assert_null(record_for(json_object_get(up, "file"), mum.nhs));
    const json_t *h = held_for(up, baby.plan);
    if (h == NULL)
        fail_msg("the unborn child protection plan was not held back: %s", json_dumps(up, 0));
    assert_string_equal(testenv_str(h, "code"), "child_born");
    assert_non_null(strstr(testenv_str(h, "reason"), "Wren Nightingale's birth has been recorded"));
    json_decref(up);

    /* The unborn plan ended and the child's own recorded: shared on the child's own number. */
    char unborn_plan[32];
    snprintf(unborn_plan, sizeof(unborn_plan), "%s", baby.plan);
    snprintf(path, sizeof(path), "/api/v1/cpis/plans/%s/end", unborn_plan);
    snprintf(body, sizeof(body), "{\"end_date\":\"%s\"}", today);
    json_decref(testenv_call_json(testenv, social_worker, "POST", path, body, 200));
    trace(baby.nhs, "Nightingale", "[\"Wren\"]", today);
    record_plan(&baby, "child-protection-plan", NULL, today);
    up = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    const json_t *rb = record_for(json_object_get(up, "file"), baby.nhs);
    if (rb == NULL)
        fail_msg("the child's own plan was not shared: %s", json_dumps(up, 0));
    assert_string_equal(testenv_str(rb, "plan_type"), "child-protection-plan");
    assert_null(held_for(up, baby.plan));
    /* The unborn plan's end is told against the mother's number, so that the NHS learns it. */
    const json_t *rm = record_for(json_object_get(up, "file"), mum.nhs);
    if (rm == NULL)
        fail_msg("the unborn plan's end was not told: %s", json_dumps(up, 0));
    assert_string_equal(testenv_str(rm, "plan_type"), "unborn-child-protection-plan");
    assert_string_equal(testenv_str(rm, "end_date"), today);
    json_decref(up);
}

/* Two records of one child merged (seed 002): the plan recorded on the duplicate goes with it to the
 * record that goes forward, is listed there, and is ended from there. */
static void test_a_plan_on_a_duplicate_goes_with_it_to_the_record_that_goes_forward(void **state)
{
    (void)state;
    child_t kept, dup;
    add_child("Ottilie", "Mergewell", "2014-07-07", &kept);
    testenv_add_person(testenv, admin, "Ottilie", "Mergewell", "2014-07-07", dup.id);
    record_plan(&dup, "child-protection-plan", NULL, today);
    char path[128], body[128];
    snprintf(path, sizeof(path), "/api/v1/people/%s/merge", kept.id);
    snprintf(body, sizeof(body), "{\"duplicate_id\":\"%s\"}", dup.id);
    json_decref(testenv_call_json(testenv, admin, "POST", path, body, 200));
    snprintf(path, sizeof(path), "/api/v1/cpis/plans?person_id=%s", kept.id);
    int listed = 0;
    for (int i = 0; i < 100 && !listed; i++, usleep(100 * 1000)) {
        json_t *plans = testenv_call_json(testenv, social_worker, "GET", path, NULL, 200);
        const json_t *first = json_array_get(json_object_get(plans, "items"), 0);
        listed = first != NULL && strcmp(testenv_str(first, "id"), dup.plan) == 0;
        json_decref(plans);
    }
    assert_true(listed);
    snprintf(path, sizeof(path), "/api/v1/cpis/plans/%s/end", dup.plan);
    snprintf(body, sizeof(body), "{\"end_date\":\"%s\"}", today);
    json_t *ended = testenv_call_json(testenv, social_worker, "POST", path, body, 200);
    assert_string_equal(testenv_str(ended, "person_id"), kept.id);
    json_decref(ended);
}

/* Two records of one child, each with an open child protection plan, merged: recording a plan
 * refuses a second over the first, but a merge brings two together. The NHS is told of one, the one
 * begun first; the other is held back in the error queue naming both, the key worker is told to end
 * the one recorded in error, and once it is ended the entry is resolved. */
static void test_two_open_plans_of_a_kind_after_a_merge_are_not_both_shared(void **state)
{
    (void)state;
    child_t kept, dup;
    add_child("Perpetua", "Twiceplan", "2015-03-03", &kept);
    trace(kept.nhs, "Twiceplan", "[\"Perpetua\"]", "2015-03-03");
    record_plan(&kept, "child-protection-plan", NULL, "2026-02-01");
    testenv_add_person(testenv, admin, "Perpetua", "Twiceplan", "2015-03-03", dup.id);
    record_plan(&dup, "child-protection-plan", NULL, "2026-03-01");
    long key_worker =
        testenv_sql_long(testenv, "SELECT id FROM accounts.workers WHERE username = 'key.worker'");
    char path[128], body[160];
    snprintf(body, sizeof(body), "{\"worker_id\":\"%ld\",\"role\":\"key-worker\",\"service\":\"CSSW\"}",
             key_worker);
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations", kept.id);
    json_decref(testenv_call_json(testenv, admin, "POST", path, body, 201));
    snprintf(path, sizeof(path), "/api/v1/people/%s/merge", kept.id);
    snprintf(body, sizeof(body), "{\"duplicate_id\":\"%s\"}", dup.id);
    json_decref(testenv_call_json(testenv, admin, "POST", path, body, 200));
    char sql[300];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM cpis.plans WHERE person_id = %s AND end_date IS NULL",
             kept.id);
    long open_plans = 0;
    for (int i = 0; i < 100 && open_plans < 2; i++, usleep(100 * 1000))
        open_plans = testenv_sql_long(testenv, sql);
    assert_int_equal(open_plans, 2);

    json_t *up = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    const json_t *shared = record_for(json_object_get(up, "file"), kept.nhs);
    if (shared == NULL)
        fail_msg("the child's first plan was not shared: %s", json_dumps(up, 0));
    assert_string_equal(testenv_str(shared, "start_date"), "2026-02-01");
    assert_int_equal(records_on(json_object_get(up, "file"), kept.nhs), 1);
    assert_null(held_for(up, kept.plan));
    const json_t *held = held_for(up, dup.plan);
    if (held == NULL)
        fail_msg("the second open plan was not held back: %s", json_dumps(up, 0));
    assert_string_equal(testenv_str(held, "code"), "duplicate_plan");
    const char *reason = testenv_str(held, "reason");
    assert_non_null(strstr(reason, "two open plans of one kind (Child protection plan)"));
    assert_non_null(strstr(reason, kept.plan));
    assert_non_null(strstr(reason, dup.plan));
    json_decref(up);
    json_t *list;
    assert_non_null(open_error(dup.plan, "duplicate_plan", &list));
    json_decref(list);
    snprintf(
        sql, sizeof(sql),
        "SELECT count(*) FROM notifications.notices WHERE kind = 'cpis-plan-held-back' AND worker_id = %ld"
        " AND link = '/people/%s' AND title LIKE '%%two open plans%%'",
        key_worker, kept.id);
    long told = 0;
    for (int k = 0; k < 100 && told == 0; k++, usleep(50 * 1000))
        told = testenv_sql_long(testenv, sql);
    assert_int_equal(told, 1);

    /* The duplicate ended: it was never shared, so there is no end to tell; the entry is resolved. */
    snprintf(path, sizeof(path), "/api/v1/cpis/plans/%s/end", dup.plan);
    snprintf(body, sizeof(body), "{\"end_date\":\"%s\"}", today);
    json_decref(testenv_call_json(testenv, social_worker, "POST", path, body, 200));
    up = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    assert_non_null(record_for(json_object_get(up, "file"), kept.nhs));
    assert_null(held_for(up, dup.plan));
    json_decref(up);
    assert_null(open_error(dup.plan, "duplicate_plan", &list));
    json_decref(list);
}

/* The plan (or held-back entry) of a list about the person, or NULL. */
static const json_t *item_about(const json_t *items, const char *person_id)
{
    size_t i;
    const json_t *it;
    json_array_foreach(items, i, it)
    {
        if (strcmp(testenv_str(it, "person_id"), person_id) == 0)
            return it;
    }
    return NULL;
}

/* An item about a child whose record the caller cannot open: the ids, marked restricted, no more. */
static void assert_shown_by_ids_only(const json_t *item, const char *what)
{
    if (item == NULL || !json_is_true(json_object_get(item, "restricted")) ||
        json_object_get(item, "nhs_number") || json_object_get(item, "reason") ||
        json_object_get(item, "code") || json_object_get(item, "plan_type") ||
        json_object_get(item, "start_date") || json_object_get(item, "last_file") ||
        json_object_get(item, "held_back"))
        fail_msg("%s shows more than the ids: %s", what, item ? json_dumps(item, 0) : "(none)");
}

/* How many view-plans entries the trail has by the worker on the child's record whose summary is
 * like the pattern. */
static long viewed(long worker, const char *person_id, const char *like)
{
    char sql[400];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_kind = 'person' AND record_id = %s"
             " AND action = 'view-plans' AND worker_id = %ld AND summary LIKE '%s'",
             person_id, worker, like);
    return testenv_sql_long(testenv, sql);
}

static void test_a_restricted_childs_plans_are_shown_to_the_desk_by_their_ids_only(void **state)
{
    (void)state;
    /* Seed 002: a restricted record stays open to system support, not to the CP-IS desk
     * (safeguarding admin). Quill's plan is held back (the NHS holds another family name); Rhea's
     * passes and goes in the file; Sid is not restricted and is held back too. */
    child_t quill, rhea, sid;
    add_child("Quill", "Quarrendon", "2014-04-14", &quill);
    trace(quill.nhs, "Quarrendon-Hale", "[\"Quill\"]", "2014-04-14");
    record_plan(&quill, "child-protection-plan", NULL, "2026-01-20");
    add_child("Rhea", "Rushworth", "2016-06-16", &rhea);
    trace(rhea.nhs, "Rushworth", "[\"Rhea\"]", "2016-06-16");
    record_plan(&rhea, "child-in-care", "s31-full-care-order", "2026-01-21");
    add_child("Sid", "Stanegate", "2013-03-13", &sid);
    trace(sid.nhs, "Stanegate-Moor", "[\"Sid\"]", "2013-03-13");
    record_plan(&sid, "child-protection-plan", NULL, "2026-01-22");
    const child_t *restricted[] = {&quill, &rhea};
    for (size_t i = 0; i < 2; i++) {
        char path[120];
        snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", restricted[i]->id);
        json_decref(testenv_call_json(
            testenv, admin, "PUT", path,
            "{\"reason\":\"high-risk\",\"review_date\":\"2030-01-31\",\"workers\":[]}", 200));
    }
    char *desk = testenv_login(testenv, "safeguarding.admin");
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT id FROM accounts.workers WHERE username = 'safeguarding.admin'");
    long desk_id = testenv_sql_long(testenv, sql);
    snprintf(sql, sizeof(sql), "SELECT id FROM accounts.workers WHERE username = 'sys.sally'");
    long support_id = testenv_sql_long(testenv, sql);

    /* The desk's plan list: the restricted children's plans by their ids only; Sid's in full. */
    json_t *plans = testenv_call_json(testenv, desk, "GET", "/api/v1/cpis/plans?limit=200", NULL, 200);
    json_t *items = json_object_get(plans, "items");
    assert_shown_by_ids_only(item_about(items, quill.id), "the desk's list, Quill's plan");
    assert_shown_by_ids_only(item_about(items, rhea.id), "the desk's list, Rhea's plan");
    assert_string_equal(testenv_str(item_about(items, quill.id), "id"), quill.plan);
    assert_non_null(item_about(items, sid.id));
    assert_string_equal(testenv_str(item_about(items, sid.id), "plan_type"), "child-protection-plan");
    json_decref(plans);

    /* The desk's upload: the file carries every plan that passed, Rhea's too (the NHS must know of
     * her); Quill's hold-back names no NHS number, reason or code; Sid's is shown in full. */
    json_t *up = testenv_call_json(testenv, desk, "POST", "/api/v1/cpis/uploads", NULL, 201);
    assert_non_null(record_for(json_object_get(up, "file"), rhea.nhs));
    const json_t *held = held_for(up, quill.plan);
    assert_shown_by_ids_only(held, "the desk's upload, Quill's hold-back");
    assert_string_equal(testenv_str(held, "person_id"), quill.id);
    char *text = json_dumps(up, JSON_COMPACT);
    if (strstr(text, quill.nhs) || strstr(text, "Quarrendon"))
        fail_msg("the desk's upload tells of Quill's record: %s", text);
    free(text);
    held = held_for(up, sid.plan);
    assert_non_null(held);
    assert_string_equal(testenv_str(held, "nhs_number"), sid.nhs);
    assert_non_null(strstr(testenv_str(held, "reason"), "Stanegate-Moor"));
    assert_null(json_object_get(held, "restricted"));
    json_decref(up);

    /* System support keep access to restricted records: they see it all. */
    plans = testenv_call_json(testenv, support, "GET", "/api/v1/cpis/plans?limit=200", NULL, 200);
    items = json_object_get(plans, "items");
    assert_string_equal(testenv_str(item_about(items, quill.id), "plan_type"), "child-protection-plan");
    assert_string_equal(testenv_str(item_about(items, rhea.id), "legal_status"), "s31-full-care-order");
    assert_null(json_object_get(item_about(items, rhea.id), "restricted"));
    json_decref(plans);
    up = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    held = held_for(up, quill.plan);
    assert_non_null(held);
    assert_string_equal(testenv_str(held, "nhs_number"), quill.nhs);
    assert_string_equal(testenv_str(held, "code"), "family_name_mismatch");
    assert_non_null(strstr(testenv_str(held, "reason"), "Quarrendon-Hale"));
    assert_null(json_object_get(held, "restricted"));
    json_decref(up);

    /* Each child shown in full is an access to their record in the trail; one shown by id only is
     * not. */
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    assert_int_equal(viewed(desk_id, quill.id, "%"), 0);
    assert_int_equal(viewed(desk_id, rhea.id, "%"), 0);
    assert_int_equal(viewed(desk_id, sid.id, "%viewed"), 2);
    assert_int_equal(viewed(desk_id, sid.id, "%held back from upload file%"), 1);
    assert_int_equal(viewed(support_id, quill.id, "%held back from upload file%"), 1);
    assert_int_equal(viewed(support_id, quill.id, "CP-IS plan%"), 2);
    assert_int_equal(viewed(support_id, rhea.id, "CP-IS plan%"), 1);
    free(desk);
}

/* A child's plan (child protection, in care) begins once the child is born: one dated before the
 * date of birth was taken and went to the NHS in the upload file. Protection before the birth is the
 * unborn child protection plan, on the unborn child's record. Nothing refused is recorded. */
static void test_a_childs_plan_cannot_start_before_the_date_of_birth(void **state)
{
    (void)state;
    child_t bea;
    add_child("Bea", "Beforeborn", "2020-05-05", &bea);
    char body[400], sql[120];
    snprintf(body, sizeof(body),
             "{\"person_id\":\"%s\",\"plan_type\":\"child-protection-plan\",\"start_date\":\"2020-05-04\"}",
             bea.id);
    testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/cpis/plans", social_worker, body, NULL);
    testenv_assert_error(&r, 400, "before_date_of_birth");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "error"), "field")),
                        "start_date");
    assert_non_null(strstr(r.body, "2020-05-05"));
    testenv_response_free(&r);
    snprintf(body, sizeof(body),
             "{\"person_id\":\"%s\",\"plan_type\":\"child-in-care\",\"legal_status\":\"s20-voluntary\","
             "\"start_date\":\"2019-12-01\",\"end_date\":\"2020-06-01\"}",
             bea.id);
    testenv_call_error(testenv, social_worker, "POST", "/api/v1/cpis/plans", body, 400,
                       "before_date_of_birth", "start_date");
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM cpis.plans WHERE person_id = %s", bea.id);
    assert_int_equal(testenv_sql_long(testenv, sql), 0);
    /* From the day of birth it is the plan it is. */
    record_plan(&bea, "child-protection-plan", NULL, "2020-05-05");
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
}

/* Mother's unborn child, expected on edd, with the demo key worker as its key worker. */
static void add_unborn_with_key_worker(const child_t *mother, const char *family, const char *edd, child_t *c)
{
    char body[600], path[96];
    snprintf(body, sizeof(body),
             "{\"legal_name\":{\"given\":\"\",\"family\":\"%s\"},\"gender\":\"not-known\",\"unborn\":true,"
             "\"mother_id\":\"%s\",\"expected_delivery_date\":\"%s\"}",
             family, mother->id, edd);
    json_t *p = testenv_call_json(testenv, admin, "POST", "/api/v1/people", body, 201);
    snprintf(c->id, sizeof(c->id), "%s", testenv_str(p, "id"));
    json_decref(p);
    long key_worker =
        testenv_sql_long(testenv, "SELECT id FROM accounts.workers WHERE username = 'key.worker'");
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations", c->id);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%ld\",\"role\":\"key-worker\",\"service\":\"CSSW\"}",
             key_worker);
    json_decref(testenv_call_json(testenv, admin, "POST", path, body, 201));
}

/* The title of the key worker's notice that the child's plan is held back, waited for; "" if none. */
static void held_back_notice(const child_t *c, char *title, size_t size)
{
    char sql[300], out[400] = "";
    snprintf(sql, sizeof(sql),
             "SELECT title FROM notifications.notices WHERE kind = 'cpis-plan-held-back'"
             " AND link = '/people/%s' ORDER BY id LIMIT 1",
             c->id);
    for (int i = 0; i < 100 && out[0] == '\0'; i++) {
        assert_int_equal(testenv_psql(testenv, NULL, sql, out, sizeof(out)), 0);
        if (out[0] == '\0')
            usleep(50 * 1000);
    }
    out[strcspn(out, "\n")] = '\0';
    snprintf(title, size, "%s", out);
}

/* The tester's case: the key worker of an unborn child past the expected date of delivery recorded
 * the child's NHS number, and was told the plan waits for that number, and the reason said to record
 * it and the child's plan, which is refused while the record is unborn. The notice and the reason say
 * what is left, in order: the birth (with the number when it is not recorded yet), then the child's
 * own plan, then the unborn plan's end. */
static void test_an_unborn_childs_plan_past_its_date_says_what_is_left_to_record_in_order(void **state)
{
    (void)state;
    child_t mum, baby, other_mum, other_baby;
    add_child("Orla", "Orderwell", "1996-03-03", &mum);
    trace(mum.nhs, "Orderwell", "[\"Orla\"]", "1996-03-03");
    add_child("Petra", "Pendingham", "1997-04-04", &other_mum);
    trace(other_mum.nhs, "Pendingham", "[\"Petra\"]", "1997-04-04");
    char edd[16], sql[300], out[64], path[96], body[400];
    testenv_sql_date(testenv, "current_date + 20", edd);
    add_unborn_with_key_worker(&mum, "Orderwell", edd, &baby);
    add_unborn_with_key_worker(&other_mum, "Pendingham", edd, &other_baby);
    record_plan(&baby, "unborn-child-protection-plan", NULL, today);
    record_plan(&other_baby, "unborn-child-protection-plan", NULL, today);
    char unborn_plan[32], other_plan[32];
    snprintf(unborn_plan, sizeof(unborn_plan), "%s", baby.plan);
    snprintf(other_plan, sizeof(other_plan), "%s", other_baby.plan);
    snprintf(sql, sizeof(sql),
             "UPDATE records.people SET expected_delivery_date = current_date - 1 WHERE id IN (%s, %s)",
             baby.id, other_baby.id);
    assert_int_equal(testenv_psql(testenv, NULL, sql, out, sizeof(out)), 0);

    /* The first child's own number recorded by the key worker; the other's not. */
    char *kw = testenv_login(testenv, "key.worker");
    testenv_new_nhs_number(baby.nhs);
    snprintf(path, sizeof(path), "/api/v1/people/%s/nhs-number", baby.id);
    snprintf(body, sizeof(body), "{\"nhs_number\":\"%s\"}", baby.nhs);
    json_decref(testenv_call_json(testenv, kw, "PUT", path, body, 200));
    free(kw);
    json_t *up = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    const json_t *h = held_for(up, unborn_plan);
    assert_non_null(h);
    assert_string_equal(testenv_str(h, "code"), "expected_delivery_date_passed");
    assert_non_null(strstr(testenv_str(h, "reason"),
                           "The child's own NHS number is recorded: record the birth (the child's name and "
                           "date of birth, on the child's record); then record a child protection plan"));
    h = held_for(up, other_plan);
    assert_non_null(h);
    assert_non_null(strstr(testenv_str(h, "reason"),
                           "Record the birth (the child's name, date of birth and own NHS number, on the "
                           "child's record); then record a child protection plan"));
    json_decref(up);
    char title[400];
    held_back_notice(&baby, title, sizeof(title));
    assert_string_equal(title,
                        "CP-IS: an unborn child's plan is not shared with the NHS since their expected "
                        "date of delivery: record the birth (name and date of birth), then their child "
                        "protection plan");
    held_back_notice(&other_baby, title, sizeof(title));
    assert_string_equal(title,
                        "CP-IS: an unborn child's plan is not shared with the NHS since their expected "
                        "date of delivery: record the birth (name, date of birth and NHS number), then "
                        "their child protection plan");
    /* The child's own plan waits for the birth, as the reason says. */
    snprintf(body, sizeof(body),
             "{\"person_id\":\"%s\",\"plan_type\":\"child-protection-plan\",\"start_date\":\"%s\"}", baby.id,
             today);
    testenv_call_error(testenv, social_worker, "POST", "/api/v1/cpis/plans", body, 422, "unborn", NULL);

    /* The birth recorded (the number recorded before stays): next, the child's own plan. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/birth", baby.id);
    snprintf(body, sizeof(body),
             "{\"legal_name\":{\"given\":\"Ines\",\"family\":\"Orderwell\"},\"date_of_birth\":\"%s\","
             "\"gender\":\"female\"}",
             today);
    json_decref(testenv_call_json(testenv, social_worker, "PUT", path, body, 200));
    up = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    h = held_for(up, unborn_plan);
    assert_non_null(h);
    assert_string_equal(testenv_str(h, "code"), "child_born");
    assert_non_null(
        strstr(testenv_str(h, "reason"),
               "Record a child protection plan for the child, and end the unborn child protection "
               "plan."));
    assert_null(strstr(testenv_str(h, "reason"), "Record the child's own NHS number"));
    json_decref(up);

    /* The child's own plan recorded: only the unborn plan's end is left. */
    record_plan(&baby, "child-protection-plan", NULL, today);
    up = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    h = held_for(up, unborn_plan);
    assert_non_null(h);
    char says[160];
    snprintf(says, sizeof(says),
             "The child's own plan is recorded (plan %s): end the unborn child protection plan.", baby.plan);
    assert_non_null(strstr(testenv_str(h, "reason"), says));
    assert_null(strstr(testenv_str(h, "reason"), "Record a child protection plan"));
    json_decref(up);
}

/* The tester's case: a mother's two unborn children (twins), each on an unborn child protection plan
 * from the same day, were sent twice in one file, the same NHS number (hers), plan type and start.
 * As for two open plans of one kind on one child, one is sent and the other held back as
 * duplicate_plan, naming both; no key worker is told, for nothing on either record is wrong. */
static void test_twins_unborn_plans_on_their_mothers_number_are_sent_once(void **state)
{
    (void)state;
    child_t mum, first, second;
    add_child("Tamsin", "Twinfold", "1994-09-09", &mum);
    trace(mum.nhs, "Twinfold", "[\"Tamsin\"]", "1994-09-09");
    char edd[16];
    testenv_sql_date(testenv, "current_date + 50", edd);
    add_unborn_with_key_worker(&mum, "Twinfold", edd, &first);
    add_unborn_with_key_worker(&mum, "Twinfold", edd, &second);
    record_plan(&first, "unborn-child-protection-plan", NULL, today);
    record_plan(&second, "unborn-child-protection-plan", NULL, today);
    json_t *up = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    assert_int_equal(records_on(json_object_get(up, "file"), mum.nhs), 1);
    assert_null(held_for(up, first.plan));
    const json_t *h = held_for(up, second.plan);
    if (h == NULL)
        fail_msg("the second twin's plan was not held back: %s", json_dumps(up, 0));
    assert_string_equal(testenv_str(h, "code"), "duplicate_plan");
    char says[160];
    snprintf(says, sizeof(says), "only plan %s is shared", first.plan);
    assert_non_null(strstr(testenv_str(h, "reason"), says));
    assert_non_null(strstr(testenv_str(h, "reason"), mum.nhs));
    json_decref(up);
    json_t *list;
    assert_non_null(open_error(second.plan, "duplicate_plan", &list));
    json_decref(list);
    usleep(500 * 1000); /* a notice, were there one, has had time to arrive */
    char sql[300];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM notifications.notices WHERE kind = 'cpis-plan-held-back' AND link = "
             "'/people/%s'",
             second.id);
    assert_int_equal(testenv_sql_long(testenv, sql), 0);
    /* Once the first ends (say, that twin born and the plan moved to their own), the other is sent. */
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/cpis/plans/%s/end", first.plan);
    json_decref(testenv_call_json(testenv, social_worker, "POST", path, NULL, 200));
    up = testenv_call_json(testenv, support, "POST", "/api/v1/cpis/uploads", NULL, 201);
    assert_null(held_for(up, second.plan));
    assert_null(open_error(second.plan, "duplicate_plan", &list));
    json_decref(list);
    json_decref(up);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_plans_are_checked_and_shared_in_numbered_files_and_mismatches_end_in_the_error_queue),
        cmocka_unit_test(test_the_national_services_responses_are_read_back_and_each_failure_queued_in_words),
        cmocka_unit_test(test_a_plan_that_cannot_be_recorded_is_refused_with_its_reason),
        cmocka_unit_test(test_files_are_made_on_a_schedule_and_by_the_batch_command),
        cmocka_unit_test(test_the_next_files_number_is_moved_on_and_never_back),
        cmocka_unit_test(test_an_inactive_number_stops_uploads_until_a_new_number_is_recorded),
        cmocka_unit_test(test_every_failure_code_of_a_response_is_queued_with_its_meaning),
        cmocka_unit_test(
            test_a_response_leaving_records_out_queues_them_or_loads_them_all_as_its_status_says),
        cmocka_unit_test(test_an_answered_upload_file_leaves_the_upload_directory_after_the_days_kept),
        cmocka_unit_test(test_once_the_birth_is_recorded_the_childs_own_plan_is_shared_on_their_own_number),
        cmocka_unit_test(test_a_plan_on_a_duplicate_goes_with_it_to_the_record_that_goes_forward),
        cmocka_unit_test(test_two_open_plans_of_a_kind_after_a_merge_are_not_both_shared),
        cmocka_unit_test(test_a_restricted_childs_plans_are_shown_to_the_desk_by_their_ids_only),
        cmocka_unit_test(test_a_childs_plan_cannot_start_before_the_date_of_birth),
        cmocka_unit_test(test_an_unborn_childs_plan_past_its_date_says_what_is_left_to_record_in_order),
        cmocka_unit_test(test_twins_unborn_plans_on_their_mothers_number_are_sent_once),
        cmocka_unit_test(test_the_cpis_daemon_refuses_to_start_without_the_councils_details),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
