/* CP-IS access notifications in (issue 6, seed 003): batches dropped in the spool directory are
 * carried by tessera-spine-poller, signed in as a service account, to the gateway and the cpis
 * daemon; each accepted notification becomes one CPIS Follow up step in the CP-IS Worker queue
 * showing the child and a comment naming the health professional and the location; a duplicate
 * id, an invalid NHS number, an unknown NHS number and an inactive number each end where the rules
 * say, with their reason; an unborn child is matched on the mother's number until the expected date
 * of delivery; and the poller killed mid-batch and run again loses and duplicates nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tsr_testenv.h"

static char *admin, *support, *service;
/* The day of the notifications: yesterday by the server's clock. */
static char day[16];

/* A child with an NHS number and, when key_worker is given, that key worker. */
static void allocate_key_worker(const char *person, const char *key_worker)
{
    char path[96], body[200];
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations", person);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%s\",\"role\":\"key-worker\",\"service\":\"CSSW\"}",
             key_worker);
    json_decref(testenv_call_json(testenv, admin, "POST", path, body, 201));
}

/* A person with an NHS number and no plan (an adult, a mother), with key_worker when given. */
static void add_person(const char *given, const char *family, const char *gender, const char *dob,
                       const char *nhs, const char *key_worker, char id[32])
{
    char body[600];
    snprintf(
        body, sizeof(body),
        "{\"legal_name\":{\"given\":\"%s\",\"family\":\"%s\"},\"gender\":\"%s\",\"date_of_birth\":\"%s\","
        "\"nhs_number\":\"%s\"}",
        given, family, gender, dob, nhs);
    json_t *p = testenv_call_json(testenv, admin, "POST", "/api/v1/people", body, 201);
    snprintf(id, 32, "%s", testenv_str(p, "id"));
    json_decref(p);
    if (key_worker != NULL)
        allocate_key_worker(id, key_worker);
}

/* Records a plan of the type on the person from start (and, when end is given, ended then); its id. */
static void record_plan(const char *person, const char *type, const char *start, const char *end,
                        char plan[32])
{
    char body[300];
    snprintf(body, sizeof(body), "{\"person_id\":\"%s\",\"plan_type\":\"%s\",\"start_date\":\"%s\"%s%s%s}",
             person, type, start, end ? ",\"end_date\":\"" : "", end ? end : "", end ? "\"" : "");
    json_t *p = testenv_call_json(testenv, admin, "POST", "/api/v1/cpis/plans", body, 201);
    if (plan != NULL)
        snprintf(plan, 32, "%s", testenv_str(p, "id"));
    json_decref(p);
}

/* A child on a child protection plan (the NHS is told of them, so their notifications are followed
 * up), with key_worker when given. */
static void add_child(const char *given, const char *family, const char *gender, const char *dob,
                      const char *nhs, const char *key_worker, char id[32])
{
    add_person(given, family, gender, dob, nhs, key_worker, id);
    record_plan(id, "child-protection-plan", "2025-01-06", NULL, NULL);
}

/* Adds mother's unborn child of that family name, expected on edd, with key_worker as its key worker. */
static void add_unborn(const char *family, const char *mother, const char *edd, const char *key_worker,
                       char id[32])
{
    char body[600];
    snprintf(body, sizeof(body),
             "{\"legal_name\":{\"given\":\"\",\"family\":\"%s\"},\"gender\":\"not-known\",\"unborn\":true,"
             "\"mother_id\":\"%s\",\"expected_delivery_date\":\"%s\"}",
             family, mother, edd);
    json_t *p = testenv_call_json(testenv, admin, "POST", "/api/v1/people", body, 201);
    snprintf(id, 32, "%s", testenv_str(p, "id"));
    json_decref(p);
    allocate_key_worker(id, key_worker);
}

/* One access notification as the feed gives it (docs/cpis-feed.md), at the times given; the texts as
 * JSON string content (escapes and all). */
static char *access_at(const char *id, const char *nhs, const char *created_at, const char *accessed_at,
                       const char *setting, const char *place, const char *professional)
{
    char *out = NULL;
    if (asprintf(&out,
                 "{\"notification_id\":\"%s\",\"type\":\"access\",\"created_at\":\"%s\","
                 "\"nhs_number\":\"%s\",\"accessed_at\":\"%s\",\"care_setting\":{\"type\":"
                 "\"%s\",\"ods_code\":\"RX1\",\"name\":\"%s\"},\"health_professional\":{\"name\":\"%s\","
                 "\"role\":\"Staff Nurse\"}}",
                 id, created_at, nhs, accessed_at, setting, place, professional) < 0)
        return NULL;
    return out;
}

/* One access notification of the day of the notifications. */
static char *access_json(const char *id, const char *nhs, const char *setting, const char *place,
                         const char *professional)
{
    char created[32], accessed[32];
    snprintf(created, sizeof(created), "%sT10:20:00Z", day);
    snprintf(accessed, sizeof(accessed), "%sT10:12:00Z", day);
    return access_at(id, nhs, created, accessed, setting, place, professional);
}

/* Posts one notification (its JSON) as a batch of its own, as the spine poller's service account;
 * the reply. */
static json_t *post_notification(const char *notification)
{
    char batch[4000];
    snprintf(batch, sizeof(batch), "{\"notifications\":[%s]}", notification);
    return testenv_call_json(testenv, service, "POST", "/api/v1/cpis/notifications", batch, 200);
}

/* Posts one access notification (access_json's fields); the reply. */
static json_t *post_access(const char *id, const char *nhs, const char *setting, const char *place,
                           const char *professional)
{
    char *n = access_json(id, nhs, setting, place, professional);
    json_t *reply = post_notification(n);
    free(n);
    return reply;
}

/* Moves an unborn child's expected date of delivery to the day before the notifications' day. Not
 * current_date - 2: a run that crosses midnight would put it on the notifications' own day, which is
 * still before the date has passed. */
static void expected_date_passed(const char *baby)
{
    char sql[200], out[200];
    snprintf(sql, sizeof(sql),
             "UPDATE records.people SET expected_delivery_date = date '%s' - 1 WHERE id = %s", day, baby);
    assert_int_equal(testenv_psql(testenv, NULL, sql, out, sizeof(out)), 0);
}

/* {"notifications": [...]} of count access notifications about one NHS number, their ids id_format
 * with their index (malloc'd). */
static char *notifications_batch(const char *id_format, int count, const char *nhs, const char *setting,
                                 const char *place, const char *professional)
{
    size_t cap = (size_t)count * 600 + 64, len = 0;
    char *batch = malloc(cap);
    assert_non_null(batch);
    len += (size_t)snprintf(batch + len, cap - len, "{\"notifications\":[");
    for (int i = 0; i < count; i++) {
        char id[64];
        snprintf(id, sizeof(id), id_format, i);
        char *n = access_json(id, nhs, setting, place, professional);
        assert_non_null(n);
        len += (size_t)snprintf(batch + len, cap - len, "%s%s", i ? "," : "", n);
        free(n);
    }
    snprintf(batch + len, cap - len, "]}");
    return batch;
}

static char spool[300];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void write_spool(const char *name, const char *text)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/%s", spool, name);
    write_file(path, text);
}

static int spool_has(const char *sub, const char *name)
{
    char path[500];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s%s%s", spool, sub, sub[0] ? "/" : "", name);
    return stat(path, &st) == 0;
}

/* The poller's configuration for this suite (the gateway's current address). settle_ms 0: the tests
 * write each file whole before the poller runs, and the poller need not wait for it to settle. */
static void write_poller_config(const char *path, int batch_size, long settle_ms, const char *password)
{
    testenv_response_t r = testenv_http(testenv, "GET", "/healthz", NULL, NULL, NULL);
    testenv_response_free(&r);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    pthread_mutex_lock(&testenv->lock);
    fprintf(f,
            "[spine_poller]\nspool_dir = %s\ngateway_url = %s\nusername = cpis.poller\npassword = %s\n"
            "interval_minutes = 1\nbatch_size = %d\nsettle_ms = %ld\nmetrics_file = %s/spine-poller.prom\n",
            spool, testenv->base_url, password, batch_size, settle_ms, testenv->dir);
    pthread_mutex_unlock(&testenv->lock);
    fclose(f);
}

/* A pass (--once) started, its configuration the suite's with the extra setting lines (NULL: none). */
static pid_t start_poller_set(int batch_size, long settle_ms, const char *password, const char *extra)
{
    char config[400], log[400];
    snprintf(config, sizeof(config), "%s/poller.conf", testenv->dir);
    snprintf(log, sizeof(log), "%s/logs/spine-poller.log", testenv->dir);
    write_poller_config(config, batch_size, settle_ms, password);
    if (extra != NULL) {
        FILE *f = fopen(config, "a");
        assert_non_null(f);
        fputs(extra, f);
        fclose(f);
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *out = freopen(log, "a", stderr);
        (void)out;
        execl(TSR_BIN_DIR "/tessera-spine-poller", "tessera-spine-poller", "--config", config, "--once",
              (char *)NULL);
        _exit(127);
    }
    return pid;
}

static pid_t start_poller(int batch_size, long settle_ms, const char *password)
{
    return start_poller_set(batch_size, settle_ms, password, NULL);
}

/* One pass (--once) signed in with password, that reads a file only once it has lain settle_ms
 * unmodified; its exit status. */
static int run_poller_with(int batch_size, long settle_ms, const char *password)
{
    pid_t pid = start_poller(batch_size, settle_ms, password);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int run_poller_settling(int batch_size, long settle_ms)
{
    return run_poller_with(batch_size, settle_ms, TESTENV_SERVICE_PASSWORD);
}

static int run_poller(int batch_size)
{
    return run_poller_settling(batch_size, 0);
}

/* Waits until the SQL count reaches want; the count reached. */
static long wait_count(const char *sql, long want)
{
    long n = -1;
    for (int i = 0; i < 300; i++) {
        n = testenv_sql_long(testenv, sql);
        if (n >= want)
            return n;
        usleep(100 * 1000);
    }
    return n;
}

static json_t *open_errors(void)
{
    return testenv_call_json(testenv, support, "GET", "/api/v1/cpis/errors?limit=200", NULL, 200);
}

/* The first open entry whose field (a text) is value, or NULL. */
static const json_t *error_with(const json_t *errors, const char *field, const char *value)
{
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(errors, "items"), i, e)
    {
        if (strcmp(testenv_str(e, field), value) == 0)
            return e;
    }
    return NULL;
}

static const json_t *error_of(const json_t *errors, const char *notification_id)
{
    return error_with(errors, "notification_id", notification_id);
}

/* The CPIS Follow up step started for the notification, as the CP-IS Worker queue's worker sees it. */
static json_t *step_for(const char *sa, const char *notification_id)
{
    char sql[300];
    snprintf(sql, sizeof(sql),
             "SELECT step_id FROM workflow.requested_steps WHERE dedupe_key LIKE 'cpis:%s:%%'",
             notification_id);
    long step_id = -1;
    for (int i = 0; i < 300 && step_id <= 0; i++) {
        step_id = testenv_sql_long(testenv, sql);
        if (step_id <= 0)
            usleep(100 * 1000);
    }
    assert_true(step_id > 0);
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/steps/%ld", step_id);
    return testenv_call_json(testenv, sa, "GET", path, NULL, 200);
}

/* The notification's follow-up is about person, as the CP-IS desk (sa) sees it. */
static void assert_followed_up_for(const char *sa, const char *notification_id, const char *person)
{
    json_t *step = step_for(sa, notification_id);
    assert_string_equal(testenv_str(json_object_get(step, "subject"), "id"), person);
    json_decref(step);
}

static const json_t *section_data(const json_t *step, const char *number)
{
    size_t i;
    const json_t *s;
    json_array_foreach(json_object_get(step, "sections"), i, s)
    {
        if (strcmp(testenv_str(s, "number"), number) == 0)
            return json_object_get(s, "data");
    }
    return NULL;
}

/* Safeguarding admin takes the step from the queue and completes section 1 as it came. */
static void complete_section_1(const char *sa, const json_t *step)
{
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/steps/%s/resume", testenv_str(step, "id"));
    json_decref(testenv_call_json(testenv, sa, "POST", path, "{}", 200));
    json_t *body = json_pack("{s:O, s:b}", "data", section_data(step, "1"), "completed", 1);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", testenv_str(step, "id"));
    json_decref(testenv_call_json(testenv, sa, "PUT", path, text, 200));
    free(text);
}

/* Sends 'CS Notification to Allocated Worker - CPIS Follow Up' from the step to the worker, with
 * the note (NULL: none written, so the definition's note for the setting goes); *request_id. */
static void send_to_key_worker(const char *sa, const char *step_id, const char *worker, const char *note,
                               char request_id[32])
{
    char path[96], body[1200];
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", step_id);
    json_t *b = json_pack("{s:s, s:{s:s}}", "type", "cs-notification-to-allocated-worker-cpis-follow-up",
                          "to", "worker_id", worker);
    if (note != NULL)
        json_object_set_new(b, "note", json_string(note));
    char *text = json_dumps(b, JSON_COMPACT);
    snprintf(body, sizeof(body), "%s", text);
    free(text);
    json_decref(b);
    json_t *step = testenv_call_json(testenv, sa, "POST", path, body, 201);
    size_t i;
    json_t *r;
    request_id[0] = '\0';
    json_array_foreach(json_object_get(step, "requests"), i, r)
    {
        snprintf(request_id, 32, "%s", testenv_str(r, "id"));
    }
    json_decref(step);
    assert_true(request_id[0] != '\0');
}

static int setup(void **state)
{
    if (testenv_group_setup(state) != 0)
        return -1;
    admin = testenv_login(testenv, "admin");
    testenv_sql_date(testenv, "current_date - 1", day);
    char id[32];
    testenv_add_worker(testenv, admin, "sys.sam", "Sam Supportwell", "\"roles\":[\"system-support\"]", id);
    /* The spine poller's own account: it may post notifications and nothing else. */
    testenv_add_service_account(testenv, admin, "cpis.poller", "CP-IS Spine Poller", "cpis-service", id);
    support = testenv_login(testenv, "sys.sam");
    service = testenv_login_with(testenv, "cpis.poller", TESTENV_SERVICE_PASSWORD);
    snprintf(spool, sizeof(spool), "%s/spool", testenv->dir);
    mkdir(spool, 0700);
    return 0;
}

static int teardown(void **state)
{
    free(admin);
    free(support);
    free(service);
    return testenv_group_teardown(state);
}

static long worker_id(const char *username)
{
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT id FROM accounts.workers WHERE username = '%s'", username);
    return testenv_sql_long(testenv, sql);
}

static void
test_a_batch_in_the_spool_reaches_the_cp_is_worker_queue_and_each_fault_ends_where_the_rules_say(void **state)
{
    (void)state;
    char kw[32], thomas[32], dana[32], ivy[32], nhs_thomas[11], nhs_dana[11], nhs_ivy[11], nhs_unknown[11];
    snprintf(kw, sizeof(kw), "%ld", worker_id("key.worker"));
    testenv_new_nhs_number(nhs_thomas);
    testenv_new_nhs_number(nhs_dana);
    testenv_new_nhs_number(nhs_ivy);
    testenv_new_nhs_number(nhs_unknown);
    add_child("Thomas", "Turnwell", "male", "2016-11-28", nhs_thomas, kw, thomas);
    add_child("Dana", "Dewhurst", "female", "2019-03-02", nhs_dana, kw, dana);
    add_child("Ivy", "Inglenook", "female", "2018-06-10", nhs_ivy, kw, ivy);
    char bad_nhs[11];
    snprintf(bad_nhs, sizeof(bad_nhs), "%s", nhs_thomas);
    bad_nhs[9] = bad_nhs[9] == '9' ? '0' : (char)(bad_nhs[9] + 1);

    char *a1 =
        access_json("N-ED-1", nhs_thomas, "emergency-department", "Royal Derbyshire ED", "Alex Wardley");
    char *a2 = access_json("N-111-1", nhs_dana, "nhs-111", "DHU 111", "Robin Callhand");
    char *dup =
        access_json("N-ED-1", nhs_thomas, "emergency-department", "Royal Derbyshire ED", "Alex Wardley");
    char *invalid =
        access_json("N-BAD-1", bad_nhs, "emergency-department", "Royal Derbyshire ED", "Alex Wardley");
    char *unknown = access_json("N-UNK-1", nhs_unknown, "minor-injury-unit", "Ripley MIU", "Jo Stitchley");
    char batch[8000];
    snprintf(
        batch, sizeof(batch),
        "{\"notifications\":[%s,%s,%s,%s,%s,"
        "{\"notification_id\":\"N-INACT-1\",\"type\":\"inactive-nhs-number\","
        "\"created_at\":\"2026-01-05T11:00:00Z\",\"nhs_number\":\"%s\"},"
        "{\"notification_id\":\"N-NOHP-1\",\"created_at\":\"2026-01-05T11:00:00Z\",\"nhs_number\":\"%s\","
        "\"accessed_at\":\"2026-01-05T10:00:00Z\",\"care_setting\":{\"type\":\"emergency-department\","
        "\"ods_code\":\"RX1\",\"name\":\"Royal Derbyshire ED\"}}]}",
        a1, a2, dup, invalid, unknown, nhs_ivy, nhs_dana);
    free(a1);
    free(a2);
    free(dup);
    free(invalid);
    free(unknown);
    write_spool("20260105-1.json", batch);
    write_spool("20260105-2.json", "this is not { json");

    /* The service account may post notifications and nothing else; workers may not post them. */
    testenv_call_error(testenv, service, "GET", "/api/v1/people?q=Turnwell", NULL, 403, "forbidden", NULL);
    testenv_call_error(testenv, service, "GET", "/api/v1/cpis/errors", NULL, 403, "forbidden", NULL);
    char *sw = testenv_login(testenv, "mash.sw");
    testenv_call_error(testenv, sw, "POST", "/api/v1/cpis/notifications", "{\"notifications\":[{}]}", 403,
                       "forbidden", NULL);
    testenv_call_error(testenv, sw, "GET", "/api/v1/cpis/errors", NULL, 403, "forbidden", NULL);
    free(sw);

    assert_int_equal(run_poller(500), 0);
    assert_true(spool_has("done", "20260105-1.json"));
    assert_false(spool_has("", "20260105-1.json"));
    /* The file that is not a batch is set aside with the reason beside it. */
    assert_true(spool_has("rejected", "20260105-2.json"));
    assert_true(spool_has("rejected", "20260105-2.json.error"));

    /* Two accepted notifications: two steps in the CP-IS Worker's queue, one each. */
    assert_int_equal(wait_count("SELECT count(*) FROM workflow.requested_steps", 2), 2);
    assert_int_equal(
        testenv_sql_long(testenv, "SELECT count(*) FROM cpis.notifications WHERE kind = 'access'"), 2);
    char *sa = testenv_login(testenv, "safeguarding.admin");
    json_t *wv = testenv_call_json(testenv, sa, "GET", "/api/v1/workview?queue=cp-is-worker", NULL, 200);
    json_t *items =
        json_object_get(json_object_get(json_object_get(wv, "folders"), "incoming_work"), "items");
    int for_thomas = 0, for_dana = 0;
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        const char *title = testenv_str(json_object_get(it, "subject"), "title");
        for_thomas += strstr(title, "Thomas Turnwell") != NULL;
        for_dana += strstr(title, "Dana Dewhurst") != NULL;
    }
    if (for_thomas != 1 || for_dana != 1)
        fail_msg("the CP-IS Worker queue: %s", json_dumps(wv, 0));
    json_decref(wv);

    /* The step shows the child (name, gender, date of birth, age) and a comment naming the health
     * professional and the location; the setting, from which the request's note is chosen. */
    json_t *step = step_for(sa, "N-ED-1");
    assert_string_equal(testenv_str(step, "type"), "cpis-follow-up");
    const json_t *data = section_data(step, "1");
    assert_non_null(data);
    assert_string_equal(testenv_str(data, "child_name"), "Thomas Turnwell");
    assert_string_equal(testenv_str(data, "gender"), "Male");
    assert_string_equal(testenv_str(data, "date_of_birth"), "2016-11-28");
    assert_true(atoi(testenv_str(data, "age")) >= 9);
    assert_string_equal(testenv_str(data, "setting"), "emergency-department");
    assert_non_null(strstr(testenv_str(data, "comments"), "Alex Wardley (Staff Nurse)"));
    assert_non_null(strstr(testenv_str(data, "comments"), "Royal Derbyshire ED"));
    complete_section_1(sa, step);
    /* The child's details come from the notification: a save may not change them, and one that
     * leaves them out keeps them. */
    char s1[128];
    snprintf(s1, sizeof(s1), "/api/v1/steps/%s/sections/1", testenv_str(step, "id"));
    json_t *refused_save = testenv_call_json(
        testenv, sa, "PUT", s1,
        "{\"data\":{\"child_name\":\"Someone Else\",\"comments\":\"x\"},\"completed\":false}", 400);
    assert_string_equal(testenv_str(json_object_get(refused_save, "error"), "code"), "read_only_field");
    assert_string_equal(testenv_str(json_object_get(refused_save, "error"), "field"), "data.child_name");
    json_decref(refused_save);
    /* Nor the notification's setting or comments: made a 111 call, an A&E attendance went with the
     * 111 note and was acknowledged without the case note A&E needs. */
    refused_save = testenv_call_json(testenv, sa, "PUT", s1,
                                     "{\"data\":{\"setting\":\"nhs-111\"},\"completed\":true}", 400);
    assert_string_equal(testenv_str(json_object_get(refused_save, "error"), "code"), "read_only_field");
    assert_string_equal(testenv_str(json_object_get(refused_save, "error"), "field"), "data.setting");
    json_decref(refused_save);
    refused_save =
        testenv_call_json(testenv, sa, "PUT", s1, "{\"data\":{\"comments\":\"\"},\"completed\":true}", 400);
    assert_string_equal(testenv_str(json_object_get(refused_save, "error"), "field"), "data.comments");
    json_decref(refused_save);
    json_t *kept = testenv_call_json(
        testenv, sa, "PUT", s1,
        "{\"data\":{\"setting\":\"emergency-department\",\"location\":\"Royal Derbyshire ED\"},"
        "\"completed\":true}",
        200);
    const json_t *kept_data = section_data(kept, "1");
    assert_string_equal(testenv_str(kept_data, "child_name"), "Thomas Turnwell");
    assert_string_equal(testenv_str(kept_data, "date_of_birth"), "2016-11-28");
    assert_string_equal(testenv_str(kept_data, "setting"), "emergency-department");
    assert_non_null(strstr(testenv_str(kept_data, "comments"), "Alex Wardley (Staff Nurse)"));
    json_decref(kept);
    /* Safeguarding admin sends the key worker the notification; written without a note, it goes
     * with the seed's Option 2, chosen from the A&E setting. */
    char rid_ed[32];
    send_to_key_worker(sa, testenv_str(step, "id"), kw, NULL, rid_ed);
    json_decref(step);
    step = step_for(sa, "N-111-1");
    assert_string_equal(testenv_str(section_data(step, "1"), "setting"), "nhs-111");
    complete_section_1(sa, step);
    /* From a 111 call: Option 1, the DHU text. */
    char rid_111[32];
    send_to_key_worker(sa, testenv_str(step, "id"), kw, NULL, rid_111);
    json_decref(step);

    /* The key worker's Incoming requests show each with its note; they acknowledge the A&E one
     * and record a CP-IS case note, as its note asks. */
    char *kwt = testenv_login(testenv, "key.worker");
    json_t *kwv = testenv_call_json(testenv, kwt, "GET", "/api/v1/workview", NULL, 200);
    char note_ed[1200] = "", note_111[1200] = "";
    json_array_foreach(
        json_object_get(json_object_get(json_object_get(kwv, "folders"), "incoming_requests"), "items"), i,
        it)
    {
        if (strcmp(testenv_str(it, "request_id"), rid_ed) == 0)
            snprintf(note_ed, sizeof(note_ed), "%s", testenv_str(it, "note"));
        if (strcmp(testenv_str(it, "request_id"), rid_111) == 0)
            snprintf(note_111, sizeof(note_111), "%s", testenv_str(it, "note"));
    }
    if (note_ed[0] == '\0' || note_111[0] == '\0')
        fail_msg("the key worker's workview: %s", json_dumps(kwv, 0));
    assert_non_null(strstr(note_ed, "Please create a CP-IS case note re action taken."));
    assert_null(strstr(note_ed, "DHU"));
    assert_non_null(strstr(note_111, "triggered by DHU who provide a 111 telephone service"));
    assert_non_null(strstr(note_111, "No further action required unless you have concerns"));
    json_decref(kwv);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/requests/%s/acknowledge", rid_ed);
    /* The A&E notification asks for a case note: acknowledged without one, it is refused and stays
     * where it is; with one, the case note goes on the child's record, as the key worker's. */
    json_t *refused = testenv_call_json(testenv, kwt, "POST", path, "{}", 422);
    assert_string_equal(testenv_str(json_object_get(refused, "error"), "code"), "case_note_required");
    assert_string_equal(testenv_str(json_object_get(refused, "error"), "field"), "case_note");
    json_decref(refused);
    char complete[128];
    snprintf(complete, sizeof(complete), "/api/v1/requests/%s/complete", rid_ed);
    /* A notification is acknowledged, not completed. */
    json_t *not_completed =
        testenv_call_json(testenv, kwt, "POST", complete, "{\"case_note\":\"Not here.\"}", 422);
    assert_string_equal(testenv_str(json_object_get(not_completed, "error"), "code"), "action_not_allowed");
    json_decref(not_completed);
    /* The first try's commit fails after records has added the case note (a fault put in at the
     * commit of the request's change): the note is on the record and the request is not yet
     * acknowledged. The worker's retry, with the same words, finds the note there: the record
     * has it once (counted below), and the request is acknowledged. */
    char psql_out[512];
    assert_int_equal(testenv_psql(testenv, NULL,
                                  "CREATE SEQUENCE public.commit_fault;"
                                  "CREATE FUNCTION public.commit_fault() RETURNS trigger LANGUAGE plpgsql"
                                  " SECURITY DEFINER AS $$ BEGIN IF nextval('public.commit_fault') = 1 THEN"
                                  " RAISE EXCEPTION 'a commit that fails'; END IF; RETURN NULL; END $$;"
                                  "CREATE CONSTRAINT TRIGGER commit_fault AFTER UPDATE ON workflow.requests"
                                  " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
                                  " EXECUTE FUNCTION public.commit_fault();",
                                  psql_out, sizeof(psql_out)),
                     0);
    const char *acknowledged = "{\"case_note\":\"Spoke to mother about the visit to A&E; no new concerns.\"}";
    json_decref(testenv_call_json(testenv, kwt, "POST", path, acknowledged, 500));
    char count_notes[256];
    snprintf(count_notes, sizeof(count_notes),
             "SELECT count(*) FROM records.case_notes WHERE person_id = %s AND type = 'cp-is-follow-up'",
             thomas);
    assert_int_equal(testenv_sql_long(testenv, count_notes), 1);
    char status_sql[128];
    snprintf(status_sql, sizeof(status_sql),
             "SELECT count(*) FROM workflow.requests WHERE id = %s AND status = 'sent'", rid_ed);
    assert_int_equal(testenv_sql_long(testenv, status_sql), 1);
    json_decref(testenv_call_json(testenv, kwt, "POST", path, acknowledged, 200));
    assert_int_equal(testenv_psql(testenv, NULL,
                                  "DROP TRIGGER commit_fault ON workflow.requests;"
                                  "DROP FUNCTION public.commit_fault(); DROP SEQUENCE public.commit_fault;",
                                  psql_out, sizeof(psql_out)),
                     0);
    /* The 111 one asks for a case note only if there are concerns: acknowledged without one. */
    snprintf(path, sizeof(path), "/api/v1/requests/%s/acknowledge", rid_111);
    json_decref(testenv_call_json(testenv, kwt, "POST", path, "{}", 200));
    snprintf(path, sizeof(path), "/api/v1/people/%s/case-notes", thomas);
    json_t *notes = testenv_call_json(testenv, kwt, "GET", path, NULL, 200);
    int cpis_notes = 0;
    json_array_foreach(json_object_get(notes, "items"), i, it)
    {
        if (strcmp(testenv_str(it, "type"), "cp-is-follow-up") != 0)
            continue;
        cpis_notes++;
        assert_string_equal(testenv_str(it, "title"), "CP-IS Follow Up");
        assert_non_null(strstr(testenv_str(it, "body"), "no new concerns"));
    }
    assert_int_equal(cpis_notes, 1);
    json_decref(notes);
    free(kwt);

    /* The faults, in the error queue with their reasons; the duplicate was dropped, not queued. */
    json_t *errors = open_errors();
    const json_t *e = error_of(errors, "N-BAD-1");
    assert_non_null(e);
    assert_string_equal(testenv_str(e, "code"), "invalid_nhs_number");
    assert_non_null(strstr(testenv_str(e, "reason"), "its last digit should be"));
    e = error_of(errors, "N-UNK-1");
    assert_non_null(e);
    assert_string_equal(testenv_str(e, "code"), "unknown_nhs_number");
    assert_non_null(strstr(testenv_str(e, "reason"), nhs_unknown));
    e = error_of(errors, "N-NOHP-1");
    assert_non_null(e);
    assert_string_equal(testenv_str(e, "code"), "missing_field");
    assert_non_null(strstr(testenv_str(e, "reason"), "health_professional"));
    assert_null(error_of(errors, "N-ED-1"));
    json_decref(errors);
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM cpis.notifications"
                                               " WHERE notification_id = 'N-ED-1'"),
                     1);

    /* The inactive number is marked (plan uploads stop) and the key worker asked for a new one. */
    char sql[300];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM cpis.inactive_numbers WHERE nhs_number = '%s'", nhs_ivy);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM notifications.notices WHERE kind = 'cpis-nhs-number-needed'"
             " AND link = '/people/%s' AND worker_id = %s",
             ivy, kw);
    assert_int_equal(wait_count(sql, 1), 1);

    /* An accepted notification posted again: dropped as a duplicate, and no second step. */
    json_t *reply =
        post_access("N-ED-1", nhs_thomas, "emergency-department", "Royal Derbyshire ED", "Alex Wardley");
    assert_int_equal(json_integer_value(json_object_get(reply, "accepted")), 0);
    assert_int_equal(json_integer_value(json_object_get(reply, "duplicates")), 1);
    json_decref(reply);
    usleep(500 * 1000);
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM workflow.requested_steps"), 2);
    free(sa);
    (void)thomas;
    (void)dana;
}

static void
test_an_unborn_child_is_matched_on_the_mothers_number_until_the_expected_date_of_delivery(void **state)
{
    (void)state;
    char kw[32], mother[32], baby[32], nhs_mother[11], edd[16];
    snprintf(kw, sizeof(kw), "%ld", worker_id("key.worker"));
    testenv_new_nhs_number(nhs_mother);
    add_person("Una", "Underwood", "female", "2007-04-04", nhs_mother, NULL, mother);
    testenv_sql_date(testenv, "current_date + 40", edd);
    add_unborn("Underwood", mother, edd, kw, baby);
    char plan[200];
    snprintf(
        plan, sizeof(plan),
        "{\"person_id\":\"%s\",\"plan_type\":\"unborn-child-protection-plan\",\"start_date\":\"2026-01-05\"}",
        baby);
    json_decref(testenv_call_json(testenv, admin, "POST", "/api/v1/cpis/plans", plan, 201));

    /* Before the expected date: the notification on the mother's number is about the unborn child. */
    json_t *reply =
        post_access("N-UNBORN-1", nhs_mother, "emergency-department", "Royal Derbyshire ED", "Pat Midwell");
    assert_int_equal(json_integer_value(json_object_get(reply, "accepted")), 1);
    json_decref(reply);
    char *sa = testenv_login(testenv, "safeguarding.admin");
    json_t *step = step_for(sa, "N-UNBORN-1");
    assert_string_equal(testenv_str(json_object_get(step, "subject"), "id"), baby);
    /* The expected date shown as the step's other dates are, dd/mm/yyyy, not as records keeps it. */
    char age[64];
    snprintf(age, sizeof(age), "Unborn (expected %.2s/%.2s/%.4s)", edd + 8, edd + 5, edd);
    assert_string_equal(testenv_str(section_data(step, "1"), "age"), age);
    complete_section_1(sa, step);
    /* The note is the sender's to write: one written goes as written. */
    char rid[32], sql_note[200];
    send_to_key_worker(sa, testenv_str(step, "id"), kw, "Please call the community midwife today.", rid);
    snprintf(sql_note, sizeof(sql_note),
             "SELECT count(*) FROM workflow.requests WHERE id = %s AND note = 'Please call the community "
             "midwife today.'",
             rid);
    assert_int_equal(testenv_sql_long(testenv, sql_note), 1);
    json_decref(step);

    /* Before birth the child has no number of its own to record. */
    char nhs_baby[11], nhs_path[96], nhs_body[100];
    testenv_new_nhs_number(nhs_baby);
    snprintf(nhs_path, sizeof(nhs_path), "/api/v1/people/%s/nhs-number", baby);
    snprintf(nhs_body, sizeof(nhs_body), "{\"nhs_number\":\"%s\"}", nhs_baby);
    testenv_response_t r = testenv_http(testenv, "PUT", nhs_path, admin, nhs_body, NULL);
    testenv_assert_error(&r, 400, "unborn_with_nhs_number");
    testenv_response_free(&r);

    /* After it: the child's own number is required; the notification goes to the error queue and
     * the child's key worker is asked to record the number. */
    expected_date_passed(baby);
    reply =
        post_access("N-UNBORN-2", nhs_mother, "emergency-department", "Royal Derbyshire ED", "Pat Midwell");
    assert_int_equal(json_integer_value(json_object_get(reply, "accepted")), 0);
    json_t *err = json_array_get(json_object_get(reply, "errors"), 0);
    assert_string_equal(testenv_str(err, "code"), "child_nhs_number_required");
    json_decref(reply);
    json_t *errors = open_errors();
    assert_non_null(strstr(testenv_str(error_of(errors, "N-UNBORN-2"), "reason"), "child's own NHS number"));
    /* The entry names the child, and is theirs (seen in their audit trail, moved with a merge). */
    assert_string_equal(testenv_str(error_of(errors, "N-UNBORN-2"), "person_id"), baby);
    json_decref(errors);
    char sql[300];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM notifications.notices WHERE kind = 'cpis-nhs-number-needed'"
             " AND link = '/people/%s' AND worker_id = %s",
             baby, kw);
    assert_int_equal(wait_count(sql, 1), 1);

    /* The key worker records it: notifications on the child's own number are about the child. */
    char *kwt = testenv_login(testenv, "key.worker");
    json_decref(testenv_call_json(testenv, kwt, "PUT", nhs_path, nhs_body, 200));
    free(kwt);
    reply = post_access("N-UNBORN-3", nhs_baby, "nhs-111", "DHU 111", "Pat Midwell");
    assert_int_equal(json_integer_value(json_object_get(reply, "accepted")), 1);
    json_decref(reply);
    assert_followed_up_for(sa, "N-UNBORN-3", baby);

    /* One on the mother's number, after the date with the child's own number recorded, is the
     * child's too while their unborn plan is open: the plan the NHS holds against her number is
     * theirs, and she has none. So is the one queued for want of that number, judged again. */
    reply =
        post_access("N-UNBORN-4", nhs_mother, "emergency-department", "Royal Derbyshire ED", "Pat Midwell");
    assert_int_equal(json_integer_value(json_object_get(reply, "accepted")), 1);
    json_decref(reply);
    assert_followed_up_for(sa, "N-UNBORN-4", baby);
    errors = open_errors();
    char retry[96];
    snprintf(retry, sizeof(retry), "/api/v1/cpis/errors/%s/retry",
             testenv_str(error_of(errors, "N-UNBORN-2"), "id"));
    json_decref(errors);
    char *support = testenv_login(testenv, "admin");
    json_decref(testenv_call_json(testenv, support, "POST", retry, NULL, 200));
    free(support);
    assert_followed_up_for(sa, "N-UNBORN-2", baby);
    free(sa);
}

/* A child of the demo key worker 'key.worker' with a new NHS number (nhs), its record's id in child:
 * whom a test's notifications are about. */
static void add_key_workers_child(const char *given, const char *family, const char *gender, const char *dob,
                                  char nhs[11], char child[32])
{
    char kw[32];
    snprintf(kw, sizeof(kw), "%ld", worker_id("key.worker"));
    testenv_new_nhs_number(nhs);
    add_child(given, family, gender, dob, nhs, kw, child);
}

static double poller_metric(const char *name);

/* The text of the spool's file (sub/name), malloc'd, or NULL when there is none. */
static char *spool_text(const char *sub, const char *name)
{
    char path[500];
    snprintf(path, sizeof(path), "%s/%s%s%s", spool, sub, sub[0] ? "/" : "", name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = calloc((size_t)size + 1, 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    return text;
}

/* How many times text occurs in the poller's log after its first offset bytes. */
static int poller_log_count(long offset, const char *text)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/logs/spine-poller.log", testenv->dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[8192];
    int n = 0;
    fseek(f, offset, SEEK_SET);
    while (fgets(line, sizeof(line), f) != NULL)
        n += strstr(line, text) != NULL;
    fclose(f);
    return n;
}

static long poller_log_size(void)
{
    char path[400];
    struct stat st;
    snprintf(path, sizeof(path), "%s/logs/spine-poller.log", testenv->dir);
    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* The spool's file sub/name holds text, as written. */
static void assert_spool_text(const char *sub, const char *name, const char *want)
{
    char *text = spool_text(sub, name);
    if (text == NULL)
        fail_msg("no %s/%s in the spool", sub, name);
    assert_string_equal(text, want);
    free(text);
}

/* first in the spool as name, a pass started (the suite's settings and the extra lines) with cpis
 * stopped, and once the pass has read it and its parts are on their way, second delivered under the
 * same name as the Spine connection delivers a file: written aside, then renamed into the spool. The
 * pass's pid; cpis is still stopped. */
static pid_t deliver_again_while_sent(const char *name, const char *first, const char *second,
                                      const char *extra)
{
    char aside[400], path[400];
    write_spool(name, first);
    testenv_kill(testenv, "cpis", SIGSTOP);
    long from = poller_log_size();
    pid_t pid = start_poller_set(100, 0, TESTENV_SERVICE_PASSWORD, extra);
    /* Read, and its parts on their way: the poller says so once it has read the file (its sockets
     * alone could say so too early: the sign-in's connection and its resolver's counted as two). */
    int waited = 0;
    while (poller_log_count(from, "notifications read; sending them") == 0 && waited++ < 2000)
        usleep(10 * 1000);
    snprintf(aside, sizeof(aside), "%s/.%s.tmp", spool, name);
    snprintf(path, sizeof(path), "%s/%s", spool, name);
    write_file(aside, second);
    assert_int_equal(rename(aside, path), 0);
    if (waited >= 2000) {
        testenv_kill(testenv, "cpis", SIGCONT);
        fail_msg("the poller sent no part of %s in 20 s", name);
    }
    return pid;
}

/* The tester's case: a file delivered again under its name (written aside, then renamed into the
 * spool, as docs/cpis-feed.md asks of the Spine connection) while the poller's parts of the first
 * were held back (cpis stopped). The second went to done/ unsent, under the first's name. Now the
 * poller moves only the file it read: the second waits in the spool and is sent in full on the next
 * pass, the first is kept in done/ as sent, and every notification of both is one follow-up or one
 * entry in the error queue. */
static void test_a_file_delivered_again_under_its_name_while_sent_is_left_to_be_sent_in_full(void **state)
{
    (void)state;
    enum { FIRST = 1000 };
    char child[32], nhs[11], unknown[11];
    add_key_workers_child("Aggie", "Againwell", "female", "2016-06-16", nhs, child);
    testenv_new_nhs_number(unknown);
    char *first =
        notifications_batch("N-AGAIN-A-%04d", FIRST, nhs, "minor-injury-unit", "Ripley MIU", "Jo Stitchley");
    /* Four for the child and one for a number no one holds (to the error queue). */
    char *second = notifications_batch("N-AGAIN-B-%d", 4, nhs, "nhs-111", "DHU 111", "Pat Caller");
    char *stranger = access_json("N-AGAIN-B-UNKNOWN", unknown, "nhs-111", "DHU 111", "Pat Caller");
    size_t cap = strlen(second) + strlen(stranger) + 8;
    char *both = malloc(cap);
    assert_non_null(both);
    snprintf(both, cap, "%.*s,%s]}", (int)strlen(second) - 2, second, stranger);
    free(second);
    free(stranger);
    second = both;
    pid_t pid = deliver_again_while_sent("20260114-again.json", first, second, NULL);
    testenv_kill(testenv, "cpis", SIGCONT);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    /* The file read was sent whole: its pass is no failure. */
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    /* The second waits in the spool as delivered; done/ has the first, as sent. */
    assert_spool_text("", "20260114-again.json", second);
    assert_spool_text("done", "20260114-again.json", first);
    const char *a = "SELECT count(*) FROM cpis.notifications WHERE notification_id LIKE 'N-AGAIN-A-%'";
    const char *b = "SELECT count(*) FROM cpis.notifications WHERE notification_id LIKE 'N-AGAIN-B-%'";
    assert_int_equal(testenv_sql_long(testenv, a), FIRST);
    assert_int_equal(testenv_sql_long(testenv, b), 0);
    assert_int_equal((int)poller_metric("tessera_spine_poller_files_waiting"), 1);

    /* The next pass sends the second in full, and keeps it in done/ beside the first. */
    assert_int_equal(run_poller(100), 0);
    assert_false(spool_has("", "20260114-again.json"));
    assert_spool_text("done", "20260114-again.json.1", second);
    assert_int_equal(testenv_sql_long(testenv, a), FIRST);
    assert_int_equal(testenv_sql_long(testenv, b), 4);
    const char *steps_a =
        "SELECT count(*) FROM workflow.requested_steps WHERE dedupe_key LIKE 'cpis:N-AGAIN-A-%'";
    const char *steps_b =
        "SELECT count(*) FROM workflow.requested_steps WHERE dedupe_key LIKE 'cpis:N-AGAIN-B-%'";
    assert_int_equal(wait_count(steps_a, FIRST), FIRST);
    assert_int_equal(wait_count(steps_b, 4), 4);
    assert_int_equal(
        testenv_sql_long(testenv,
                         "SELECT count(*) FROM cpis.errors WHERE notification_id LIKE 'N-AGAIN-A-%'"),
        0);
    assert_int_equal(
        testenv_sql_long(testenv,
                         "SELECT count(*) FROM cpis.errors WHERE notification_id = 'N-AGAIN-B-UNKNOWN'"
                         " AND times_received = 1"),
        1);
    assert_int_equal(
        testenv_sql_long(testenv,
                         "SELECT count(*) FROM cpis.errors WHERE notification_id LIKE 'N-AGAIN-B-%'"),
        1);
    usleep(500 * 1000);
    assert_int_equal(testenv_sql_long(testenv, steps_a), FIRST);
    assert_int_equal(testenv_sql_long(testenv, steps_b), 4);
    free(first);
    free(second);
}

/* The same while the gateway fails the poller (its parts time out, cpis stopped): nothing of the
 * file read was acknowledged, and it was no longer at its name to be kept for the next run. It is
 * kept whole beside the second, under a name that sorts before it, and the next pass sends both:
 * every notification one follow-up, those cpis took before it stopped answering dropped as
 * duplicates. */
static void
test_a_file_delivered_again_while_its_parts_failed_is_kept_beside_it_and_both_are_sent(void **state)
{
    (void)state;
    char child[32], nhs[11];
    add_key_workers_child("Fenna", "Failwell", "female", "2017-07-17", nhs, child);
    char *first =
        notifications_batch("N-AGAIN-F-%03d", 300, nhs, "minor-injury-unit", "Ripley MIU", "Jo Stitchley");
    char *second = notifications_batch("N-AGAIN-G-%d", 3, nhs, "nhs-111", "DHU 111", "Pat Caller");
    /* Its parts time out while cpis is stopped. */
    pid_t pid = deliver_again_while_sent("20260115-again.json", first, second, "timeout_s = 2\n");
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    testenv_kill(testenv, "cpis", SIGCONT);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_spool_text("", "20260115-again.json", second);
    assert_spool_text("", "20260115-again.1.json", first);
    assert_false(spool_has("done", "20260115-again.json"));

    testenv_wait_ready(testenv);
    assert_int_equal(run_poller(100), 0);
    assert_false(spool_has("", "20260115-again.json"));
    assert_false(spool_has("", "20260115-again.1.json"));
    const char *steps_f =
        "SELECT count(*) FROM workflow.requested_steps WHERE dedupe_key LIKE 'cpis:N-AGAIN-F-%'";
    const char *steps_g =
        "SELECT count(*) FROM workflow.requested_steps WHERE dedupe_key LIKE 'cpis:N-AGAIN-G-%'";
    assert_int_equal(wait_count(steps_f, 300), 300);
    assert_int_equal(wait_count(steps_g, 3), 3);
    assert_int_equal(
        testenv_sql_long(testenv,
                         "SELECT count(*) FROM cpis.notifications WHERE notification_id LIKE 'N-AGAIN-F-%'"),
        300);
    assert_int_equal(
        testenv_sql_long(testenv, "SELECT count(*) FROM cpis.errors WHERE notification_id LIKE 'N-AGAIN-F-%'"
                                  " OR notification_id LIKE 'N-AGAIN-G-%'"),
        0);
    usleep(500 * 1000);
    assert_int_equal(testenv_sql_long(testenv, steps_f), 300);
    assert_int_equal(testenv_sql_long(testenv, steps_g), 3);
    free(first);
    free(second);
}

/* A large file in small parts, the poller killed while posting, then run again: every
 * notification once in cpis and exactly one step each in the CP-IS Worker queue. */
static void test_the_poller_killed_mid_batch_and_run_again_loses_and_duplicates_nothing(void **state)
{
    (void)state;
    /* Parts of five: 600 of them, so that the poller cannot have sent them all before the kill even
     * when the machine is busy (with 600 notifications, CI's load once let it finish first). */
    enum { COUNT = 3000 };
    char child[32], nhs[11];
    add_key_workers_child("Kit", "Killingworth", "male", "2015-05-05", nhs, child);
    char *batch =
        notifications_batch("N-KILL-%04d", COUNT, nhs, "minor-injury-unit", "Ripley MIU", "Jo Stitchley");
    write_spool("20260106-big.json", batch);
    free(batch);

    const char *accepted = "SELECT count(*) FROM cpis.notifications WHERE notification_id LIKE 'N-KILL-%'";
    pid_t pid = start_poller(5, 0, TESTENV_SERVICE_PASSWORD);
    /* Killed once some parts are in, before the file could be done. */
    for (int i = 0; i < 600 && testenv_sql_long(testenv, accepted) < 10; i++)
        usleep(10 * 1000);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    long before = testenv_sql_long(testenv, accepted);
    assert_true(before > 0);
    assert_true(before < COUNT);
    /* Killed mid-batch, the file is still in the spool, whole or with what is still to send. */
    assert_true(spool_has("", "20260106-big.json"));
    assert_false(spool_has("done", "20260106-big.json"));

    assert_int_equal(run_poller(50), 0);
    assert_true(spool_has("done", "20260106-big.json"));
    assert_int_equal(testenv_sql_long(testenv, accepted), COUNT);
    const char *steps =
        "SELECT count(*) FROM workflow.requested_steps r JOIN workflow.steps s ON s.id = r.step_id"
        " WHERE r.dedupe_key LIKE 'cpis:N-KILL-%' AND s.owner = 'v:cp-is-worker'";
    assert_int_equal(wait_count(steps, COUNT), COUNT);
    char sql[300];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.steps WHERE type = 'cpis-follow-up' AND subject_id = %s", child);
    usleep(500 * 1000);
    assert_int_equal(testenv_sql_long(testenv, sql), COUNT);
    assert_int_equal(
        testenv_sql_long(testenv, "SELECT count(*) FROM cpis.errors WHERE notification_id LIKE 'N-KILL-%'"),
        0);
}

/* A part holding one notification twice (and one it cannot accept twice), then the part's
 * cpis.steps.requested event delivered a second time (a new outbox row with the same steps): one step per
 * notification, each with its section, its 'started' history and its dedupe key once, and the CP-IS Worker's
 * Incoming count (counted by the statement that starts a part's steps) still the number of steps in it. */
static void test_a_repeat_in_a_part_and_an_event_sent_twice_start_one_step_per_notification(void **state)
{
    (void)state;
    enum { COUNT = 40 };
    char child[32], nhs[11];
    add_key_workers_child("Rory", "Repeatwell", "male", "2017-07-07", nhs, child);
    size_t cap = (COUNT + 3) * 500 + 64, len = 0;
    char *batch = malloc(cap);
    assert_non_null(batch);
    len += (size_t)snprintf(batch + len, cap - len, "{\"notifications\":[");
    for (int i = 0; i <= COUNT; i++) {
        char id[32];
        /* The last is the 8th again, in the same part. */
        snprintf(id, sizeof(id), "N-TWICE-%02d", i < COUNT ? i : 7);
        char *n = access_json(id, nhs, "nhs-111", "DHU 111", "Robin Callhand");
        len += (size_t)snprintf(batch + len, cap - len, "%s%s", i ? "," : "", n);
        free(n);
    }
    /* And one that cannot be accepted, twice: one row in the error queue, received twice. */
    char bad_nhs[11];
    snprintf(bad_nhs, sizeof(bad_nhs), "%s", nhs);
    bad_nhs[9] = bad_nhs[9] == '9' ? '0' : (char)(bad_nhs[9] + 1);
    for (int i = 0; i < 2; i++) {
        char *n = access_json("N-TWICE-BAD", bad_nhs, "nhs-111", "DHU 111", "Robin Callhand");
        len += (size_t)snprintf(batch + len, cap - len, ",%s", n);
        free(n);
    }
    snprintf(batch + len, cap - len, "]}");
    write_spool("20260107-twice.json", batch);
    free(batch);
    const char *started_events = "SELECT count(*) FROM workflow.outbox WHERE type = 'workflow.step.started'";
    long events_before = testenv_sql_long(testenv, started_events);
    assert_int_equal(run_poller(100), 0);

    const char *steps =
        "SELECT count(*) FROM workflow.requested_steps r JOIN workflow.steps s ON s.id = r.step_id"
        " WHERE r.dedupe_key LIKE 'cpis:N-TWICE-%' AND s.owner = 'v:cp-is-worker'"
        " AND s.folder = 'incoming' AND s.state = 'incoming'";
    assert_int_equal(wait_count(steps, COUNT), COUNT);
    const char *counted = "SELECT (SELECT n FROM workflow.queue_counts WHERE owner = 'v:cp-is-worker'"
                          " AND folder = 'incoming') - (SELECT count(*) FROM workflow.steps"
                          " WHERE owner = 'v:cp-is-worker' AND folder = 'incoming')";
    assert_int_equal(testenv_sql_long(testenv, counted), 0);
    /* One workflow.step.started a step, each one the audit daemon could read and apply. */
    assert_int_equal(testenv_sql_long(testenv, started_events) - events_before, COUNT);
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 30000), 0);
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM audit.inbox_dead"), 0);
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM workflow.outbox WHERE seq IS NULL"), 0);
    assert_int_equal(testenv_sql_long(testenv,
                                      "SELECT count(*) FROM cpis.errors WHERE notification_id = 'N-TWICE-BAD'"
                                      " AND code = 'invalid_nhs_number' AND resolved_at IS NULL"
                                      " AND times_received = 2"),
                     1);
    assert_int_equal(
        testenv_sql_long(testenv, "SELECT count(*) FROM cpis.errors WHERE notification_id LIKE 'N-TWICE-%'"),
        1);

    /* The part's event again, as a new event from cpis. */
    char out[400];
    assert_int_equal(
        testenv_psql(testenv, NULL,
                     "INSERT INTO cpis.outbox (type, envelope) SELECT type, envelope FROM cpis.outbox"
                     " WHERE type = 'cpis.steps.requested' ORDER BY id DESC LIMIT 1",
                     out, sizeof(out)),
        0);
    const char *behind = "SELECT (SELECT count(*) FROM cpis.outbox WHERE seq IS NULL)"
                         " + (SELECT max(seq) FROM cpis.outbox)"
                         " - (SELECT last_seq FROM workflow.inbox WHERE producer = 'cpis')";
    long left = -1;
    for (int i = 0; i < 300 && left != 0; i++) {
        left = testenv_sql_long(testenv, behind);
        if (left != 0)
            usleep(100 * 1000);
    }
    assert_int_equal(left, 0);
    assert_int_equal(testenv_sql_long(testenv, steps), COUNT);
    char sql[400];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.steps WHERE type = 'cpis-follow-up' AND subject_id = %s", child);
    assert_int_equal(testenv_sql_long(testenv, sql), COUNT);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.step_history h JOIN workflow.steps s ON s.id = h.step_id"
             " WHERE s.subject_id = %s AND h.action = 'started' AND h.detail = 'Sent to CP-IS Worker'",
             child);
    assert_int_equal(testenv_sql_long(testenv, sql), COUNT);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.sections c JOIN workflow.steps s ON s.id = c.step_id"
             " WHERE s.subject_id = %s AND c.number = '1' AND NOT c.completed"
             " AND c.data->>'comments' LIKE 'CP-IS notification N-TWICE-%%'",
             child);
    assert_int_equal(testenv_sql_long(testenv, sql), COUNT);
    assert_int_equal(testenv_sql_long(testenv, counted), 0);
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM workflow.queue_count_pending"), 0);
    /* Applied, not set aside: the keys already started were passed over, nothing failed on them. */
    assert_int_equal(
        testenv_sql_long(testenv, "SELECT count(*) FROM workflow.inbox_dead WHERE producer = 'cpis'"), 0);
    assert_int_equal(testenv_sql_long(testenv, started_events) - events_before, COUNT);
}

/* A row written by another transaction, held open for a while (testenv_psql in a thread). */
typedef struct {
    char sql[700];
    int rc;
} held_insert_t;

static void *hold_insert(void *arg)
{
    held_insert_t *h = arg;
    char out[200];
    h->rc = testenv_psql(testenv, NULL, h->sql, out, sizeof(out));
    return NULL;
}

/* Another request records two of a part's notifications after the part's ids were looked up and
 * before the part is written (a second poller, a retry that overtook the first attempt, the national
 * service sending two notifications under one id): the one recorded as this part says it is a
 * duplicate; the one recorded with other content is a conflict, queued naming what differs, its first
 * copy standing; every other is accepted and followed up once. The rows are stored as sent, a quote
 * and a backslash included. */
static void
test_notifications_recorded_meanwhile_by_another_request_are_duplicates_or_conflicts_and_the_rest_are_kept(
    void **state)
{
    (void)state;
    enum { COUNT = 10 };
    char child[32], nhs[11];
    add_key_workers_child("Remy", "Racewell", "female", "2016-06-06", nhs, child);
    held_insert_t held = {.rc = -1};
    snprintf(held.sql, sizeof(held.sql),
             "BEGIN;\nINSERT INTO cpis.notifications (notification_id, kind, nhs_number, created_at,"
             " accessed_at, setting, ods_code, organisation_name, professional_name, professional_role)"
             " VALUES ('N-RACE-05', 'access', '%s', '%sT10:20:00Z', '%sT10:12:00Z', 'emergency-department',"
             " 'RX1', E'St Mary\\'s \\\\ Annexe ED', 'Lee O''Neill', 'Staff Nurse'),"
             " ('N-RACE-07', 'access', '%s', '%sT10:20:00Z', '%sT10:12:00Z', 'nhs-111', NULL, NULL, NULL,"
             " NULL);\nSELECT pg_sleep(1.5);\nCOMMIT;\n",
             nhs, day, day, nhs, day, day);
    pthread_t holder;
    assert_int_equal(pthread_create(&holder, NULL, hold_insert, &held), 0);
    /* Written, not yet committed. */
    assert_int_equal(
        wait_count("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(1.5)%'"
                   " AND state = 'active'",
                   1),
        1);
    char *batch = notifications_batch("N-RACE-%02d", COUNT, nhs, "emergency-department",
                                      "St Mary's \\\\ Annexe ED", "Lee O'Neill");
    json_t *reply = testenv_call_json(testenv, service, "POST", "/api/v1/cpis/notifications", batch, 200);
    free(batch);
    pthread_join(holder, NULL);
    assert_int_equal(held.rc, 0);
    assert_int_equal(json_integer_value(json_object_get(reply, "accepted")), COUNT - 2);
    assert_int_equal(json_integer_value(json_object_get(reply, "duplicates")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(reply, "duplicate_ids"), 0)),
                        "N-RACE-05");
    json_t *errors = json_object_get(reply, "errors");
    assert_int_equal(json_array_size(errors), 1);
    const json_t *e = json_array_get(errors, 0);
    assert_string_equal(testenv_str(e, "notification_id"), "N-RACE-07");
    assert_string_equal(testenv_str(e, "code"), "conflicting_duplicate");
    assert_non_null(strstr(testenv_str(e, "reason"), "care_setting.type was 'nhs-111'"));
    json_decref(reply);
    json_t *queue = open_errors();
    assert_non_null(error_of(queue, "N-RACE-07"));
    json_decref(queue);
    assert_int_equal(
        testenv_sql_long(testenv,
                         "SELECT count(*) FROM cpis.notifications WHERE notification_id LIKE 'N-RACE-%'"),
        COUNT);
    /* Every one as this part sent it but the conflict, whose first copy stands. */
    assert_int_equal(testenv_sql_long(testenv,
                                      "SELECT count(*) FROM cpis.notifications WHERE notification_id LIKE"
                                      " 'N-RACE-%' AND organisation_name = E'St Mary\\'s \\\\ Annexe ED'"
                                      " AND professional_name = 'Lee O''Neill' AND accessed_at IS NOT NULL"),
                     COUNT - 1);
    assert_int_equal(testenv_sql_long(testenv,
                                      "SELECT count(*) FROM cpis.notifications"
                                      " WHERE notification_id = 'N-RACE-07' AND setting = 'nhs-111'"),
                     1);
    /* The held rows were written behind cpis's back, so only the part's own are followed up. */
    const char *steps = "SELECT count(*) FROM workflow.requested_steps WHERE dedupe_key LIKE 'cpis:N-RACE-%'";
    assert_int_equal(wait_count(steps, COUNT - 2), COUNT - 2);
    usleep(500 * 1000);
    assert_int_equal(testenv_sql_long(testenv, steps), COUNT - 2);
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM workflow.requested_steps"
                                               " WHERE dedupe_key LIKE 'cpis:N-RACE-05:%'"
                                               " OR dedupe_key LIKE 'cpis:N-RACE-07:%'"),
                     0);
}

/* A body that is not a batch as a whole (it reaches cpis unread by the gateway, which reads it once)
 * is refused naming its fault, as the gateway refuses any body, and changes nothing; a file in the
 * spool written otherwise than the poller prints (a bare list, members around the list, a key
 * spelt with an escape) is sent whole all the same. */
static void test_a_body_that_is_not_a_batch_is_refused_naming_the_fault_and_changes_nothing(void **state)
{
    (void)state;
    const char *counts = "SELECT (SELECT count(*) FROM cpis.notifications) * 1000000"
                         " + (SELECT count(*) FROM cpis.errors) * 1000 + (SELECT count(*) FROM cpis.outbox)";
    long before = testenv_sql_long(testenv, counts);
    char nhs[11];
    testenv_new_nhs_number(nhs);
    char *good = access_json("N-SHAPE-1", nhs, "nhs-111", "DHU 111", "Robin Callhand");
    char body[4000];
    const struct {
        const char *body;
        const char *code;
        const char *field;
    } cases[] = {
        {"{\"notifications\":[{\"notification_id\":\"N-SHAPE-2\"}", "malformed_json", NULL},
        {"[{\"notification_id\":\"N-SHAPE-2\"}]", "invalid_body", NULL},
        {"{\"notifications\":[{\"notification_id\":\"N-SHAPE-2\"}],\"also\":1}", "unknown_field", "also"},
        {"{\"notifications\":[]}", "invalid_value", "notifications"},
        {"{\"notifications\":{}}", "invalid_value", "notifications"},
        {"{}", "missing_field", "notifications"},
        /* One good notification beside one whose key is given twice: the whole body is refused. */
        {body, "malformed_json", NULL},
        /* A NUL in a string is named where it is, in words (not jansson's "without JSON_ALLOW_NUL"). */
        {"{\"notifications\":[{\"notification_id\":\"N-SHAPE-\\u0000\"}]}", "invalid_characters",
         "notifications[0].notification_id"},
    };
    snprintf(body, sizeof(body),
             "{\"notifications\":[%s,{\"notification_id\":\"N-SHAPE-3\",\"notification_id\":\"x\"}]}", good);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        testenv_response_t r =
            testenv_http(testenv, "POST", "/api/v1/cpis/notifications", service, cases[i].body, NULL);
        testenv_assert_error(&r, 400, cases[i].code);
        const char *message = json_string_value(json_object_get(json_object_get(r.json, "error"), "message"));
        if (strstr(message, "JSON_") != NULL || strstr(message, "expected near") != NULL)
            fail_msg("case %zu is told in jansson's words: %s", i, message);
        json_t *field = json_object_get(json_object_get(r.json, "error"), "field");
        if (cases[i].field)
            assert_string_equal(json_string_value(field), cases[i].field);
        else
            assert_null(field);
        testenv_response_free(&r);
    }
    /* More than a batch may hold. */
    size_t cap = 5001 * 3 + 64, len = 0;
    char *big = malloc(cap);
    assert_non_null(big);
    len += (size_t)snprintf(big + len, cap - len, "{\"notifications\":[");
    for (int i = 0; i < 5001; i++)
        len += (size_t)snprintf(big + len, cap - len, "%s{}", i ? "," : "");
    snprintf(big + len, cap - len, "]}");
    testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/cpis/notifications", service, big, NULL);
    testenv_assert_error(&r, 400, "batch_too_large");
    testenv_response_free(&r);
    free(big);
    /* Without a session, no body is read at all. */
    testenv_call_error(testenv, NULL, "POST", "/api/v1/cpis/notifications", "not json", 401,
                       "unauthenticated", NULL);
    assert_int_equal(testenv_sql_long(testenv, counts), before);

    /* Files the poller did not print: each sent whole, in parts of 2. */
    char child[32];
    add_child("Sol", "Shapeley", "female", "2014-04-04", nhs, NULL, child);
    char *n[6];
    for (int i = 0; i < 6; i++) {
        char id[32];
        snprintf(id, sizeof(id), "N-SHAPE-F%d", i);
        n[i] = access_json(id, nhs, "nhs-111", "DHU 111", "Robin Callhand");
    }
    snprintf(body, sizeof(body), "[\n  %s ,\n  %s\n ,%s\n]\n", n[0], n[1], n[2]);
    write_spool("20260108-bare.json", body);
    snprintf(body, sizeof(body),
             "{\"source\": {\"x\": [\"]\", \"{\"]}, \"notific\\u0061tions\": [%s,%s], \"z\": 1}", n[3], n[4]);
    write_spool("20260108-escaped.json", body);
    snprintf(body, sizeof(body), "{\"batch\": \"]}\\\"\", \"notifications\": [%s]}", n[5]);
    write_spool("20260108-around.json", body);
    /* Not laid out as JSON, somewhere past its first parts: set aside whole, nothing of it sent. One
     * notification that is not JSON on its own (a member given twice) is queued as an error, and
     * the rest of its file goes on. */
    char *b0 = access_json("N-SHAPE-B0", nhs, "nhs-111", "DHU 111", "Robin Callhand");
    char *b1 = access_json("N-SHAPE-B1", nhs, "nhs-111", "DHU 111", "Robin Callhand");
    snprintf(body, sizeof(body),
             "{\"notifications\":[%s,%s,%s,{\"notification_id\":\"N-SHAPE-B2\",\"type\":\"access\",\"type\":"
             "\"access\"}]}",
             b0, b1, b0);
    write_spool("20260108-twice-a-key.json", body);
    snprintf(body, sizeof(body), "[%s,%s %s]", b0, b1, b1);
    write_spool("20260108-no-comma.json", body);
    snprintf(body, sizeof(body), "[%s,%s,]", b0, b1);
    write_spool("20260108-trailing-comma.json", body);
    free(b0);
    free(b1);
    for (int i = 0; i < 6; i++)
        free(n[i]);
    assert_int_equal(run_poller(2), 0);
    assert_true(spool_has("done", "20260108-twice-a-key.json"));
    assert_true(spool_has("rejected", "20260108-no-comma.json"));
    assert_true(spool_has("rejected", "20260108-trailing-comma.json"));
    assert_int_equal(
        testenv_sql_long(testenv,
                         "SELECT count(*) FROM cpis.notifications WHERE notification_id LIKE 'N-SHAPE-B%'"),
        2);
    assert_true(spool_has("done", "20260108-bare.json"));
    assert_true(spool_has("done", "20260108-escaped.json"));
    assert_true(spool_has("done", "20260108-around.json"));
    assert_int_equal(
        testenv_sql_long(testenv,
                         "SELECT count(*) FROM cpis.notifications WHERE notification_id LIKE 'N-SHAPE-F%'"),
        6);
    assert_int_equal(
        testenv_sql_long(testenv, "SELECT count(*) FROM cpis.errors WHERE notification_id LIKE 'N-SHAPE%'"),
        1);
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM cpis.errors WHERE notification_id ="
                                               " 'N-SHAPE-B2' AND code = 'unreadable_notification'"),
                     1);
    free(good);
}

/* The entry of the error queue whose reason names the text, or NULL. */
static const json_t *error_naming(const json_t *errors, const char *code, const char *text)
{
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(errors, "items"), i, e)
    {
        if (strcmp(testenv_str(e, "code"), code) == 0 && strstr(testenv_str(e, "reason"), text) != NULL)
            return e;
    }
    return NULL;
}

/* One notification of a file that cannot be read (a name in Latin-1, not UTF-8; a member given
 * twice) does not hold back the rest: the file is sent and goes to done/, the good notification is
 * accepted, and each bad one is in the error queue with the fault, shown as far as it can be read,
 * under its id (so the file sent again counts it up instead of queuing it twice). */
static void
test_an_unreadable_notification_is_queued_with_its_fault_and_the_rest_of_the_file_goes_on(void **state)
{
    (void)state;
    char child[32], nhs[11];
    add_key_workers_child("Zoe", "Zedwell", "female", "2015-05-05", nhs, child);
    char *good = access_json("N-READ-1", nhs, "nhs-111", "DHU 111", "Robin Callhand");
    char *latin1 = access_json("N-LATIN1-1", nhs, "nhs-111", "DHU 111", "Zo\xeb Callhand");
    char batch[4000];
    snprintf(batch, sizeof(batch),
             "{\"notifications\":[%s,\n%s,\n{\"notification_id\":\"N-TWICE-KEY-1\",\"nhs_number\":\"%s\","
             "\"nhs_number\":\"%s\"}]}",
             latin1, good, nhs, nhs);
    free(good);
    free(latin1);
    write_spool("20260108-unreadable.json", batch);
    assert_int_equal(run_poller(500), 0);
    assert_true(spool_has("done", "20260108-unreadable.json"));
    assert_false(spool_has("rejected", "20260108-unreadable.json"));
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM cpis.notifications"
                                               " WHERE notification_id = 'N-READ-1'"),
                     1);
    json_t *errors = open_errors();
    const json_t *e = error_of(errors, "N-LATIN1-1");
    if (e == NULL)
        fail_msg("no entry for N-LATIN1-1: %s", json_dumps(errors, 0));
    assert_string_equal(testenv_str(e, "code"), "unreadable_notification");
    assert_non_null(strstr(testenv_str(e, "reason"), "20260108-unreadable.json"));
    assert_non_null(strstr(testenv_str(e, "reason"), "0xeb"));
    const char *shown =
        testenv_str(json_object_get(json_object_get(e, "notification"), "tessera_unreadable"), "text");
    assert_non_null(strstr(shown, "Zo\xef\xbf\xbd Callhand"));
    e = error_of(errors, "N-TWICE-KEY-1");
    assert_non_null(e);
    assert_string_equal(testenv_str(e, "code"), "unreadable_notification");
    assert_non_null(strstr(testenv_str(e, "reason"), "the same member twice"));
    json_decref(errors);

    /* A file that begins with a byte order mark (some Windows tools write one) is read all the same. */
    char *bom = access_json("N-BOM-1", nhs, "nhs-111", "DHU 111", "Robin Callhand");
    char bom_file[1200];
    snprintf(bom_file, sizeof(bom_file), "\xef\xbb\xbf{\"notifications\":[%s]}", bom);
    free(bom);
    write_spool("20260108-bom.json", bom_file);
    assert_int_equal(run_poller(500), 0);
    assert_true(spool_has("done", "20260108-bom.json"));
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM cpis.notifications"
                                               " WHERE notification_id = 'N-BOM-1'"),
                     1);

    /* Sent again: the good one is a duplicate, the bad ones counted up, not queued twice. */
    write_spool("20260108-unreadable-again.json", batch);
    assert_int_equal(run_poller(500), 0);
    errors = open_errors();
    assert_int_equal(json_integer_value(json_object_get(error_of(errors, "N-LATIN1-1"), "times_received")),
                     2);
    json_decref(errors);
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM cpis.errors"
                                               " WHERE notification_id IN ('N-LATIN1-1', 'N-TWICE-KEY-1')"),
                     2);
}

/* A file that is not a batch at all (empty, cut short, an object without a list, not JSON) goes to
 * rejected/ with its reason beside it, and system support sees it in the error queue, each with
 * the file's name and the fault. */
static void test_a_file_that_is_not_a_batch_is_set_aside_and_shown_in_the_error_queue(void **state)
{
    (void)state;
    const struct {
        const char *name, *text, *fault;
    } files[] = {
        {"20260109-empty.json", "", "empty"},
        {"20260109-cut.json", "{\"notifications\":[{\"notification_id\":\"N-CUT-1\",\"nhs_", "not JSON"},
        {"20260109-object.json", "{\"notification_id\":\"N-OBJ-1\"}", "neither a list"},
        {"20260109-text.json", "Date: Tue\r\nno notifications today\r\n", "not JSON"},
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        write_spool(files[i].name, files[i].text);
    assert_int_equal(run_poller(500), 0);
    json_t *errors = open_errors();
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        assert_true(spool_has("rejected", files[i].name));
        assert_false(spool_has("", files[i].name));
        const json_t *e = error_naming(errors, "unreadable_file", files[i].name);
        if (e == NULL)
            fail_msg("no error queue entry for %s: %s", files[i].name, json_dumps(errors, 0));
        assert_non_null(strstr(testenv_str(e, "reason"), files[i].fault));
        assert_non_null(strstr(testenv_str(e, "reason"), "rejected/"));
    }
    json_decref(errors);
}

/* A bare list whose nesting is at the most JSON is read to: one notification in it would be a level
 * too deep inside a request ({"notifications": [...]}), and was refused with the rest of its part on
 * every run. It goes as its stand-in to the error queue; the others are accepted and the file is
 * done. */
static void test_a_notification_too_deep_for_a_request_is_queued_and_its_file_goes_on(void **state)
{
    (void)state;
    enum { LEVELS = 2046 }; /* the list, the notification and its member's lists: 2048 in all */
    char child[32], nhs[11];
    add_key_workers_child("Dana", "Deepwell", "female", "2013-11-11", nhs, child);
    char *n1 = access_json("N-DEEP-1", nhs, "nhs-111", "DHU 111", "Robin Callhand");
    char *n3 = access_json("N-DEEP-3", nhs, "nhs-111", "DHU 111", "Robin Callhand");
    size_t cap = strlen(n1) + strlen(n3) + 2 * LEVELS + 200;
    char *text = malloc(cap), *o = text;
    assert_non_null(text);
    o += sprintf(o, "[%s,{\"notification_id\":\"N-DEEP-2\",\"deep\":", n1);
    memset(o, '[', LEVELS);
    o += LEVELS;
    memset(o, ']', LEVELS);
    o += LEVELS;
    sprintf(o, "},%s]", n3);
    write_spool("20260111-deep.json", text);
    free(text);
    free(n1);
    free(n3);
    assert_int_equal(run_poller(500), 0);
    assert_true(spool_has("done", "20260111-deep.json"));
    json_t *errors = open_errors();
    const json_t *e = error_naming(errors, "unreadable_notification", "nests 2047 levels deep");
    assert_non_null(e);
    assert_string_equal(testenv_str(e, "notification_id"), "N-DEEP-2");
    json_decref(errors);
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM cpis.notifications"
                                               " WHERE notification_id IN ('N-DEEP-1', 'N-DEEP-3')"),
                     2);
}

/* A reason quoting part of a value (the first 40 bytes of an unknown type) does not cut a character
 * in two: the batch is answered, and the rejection is in the error queue. */
static void test_a_reason_quoting_a_long_value_of_accented_letters_is_still_utf8(void **state)
{
    (void)state;
    char nhs[11], body[1000], type[200] = "a";
    testenv_new_nhs_number(nhs);
    for (int i = 0; i < 40; i++)
        strcat(type, "\xc3\xa9");
    snprintf(body, sizeof(body),
             "{\"notifications\":[{\"notification_id\":\"N-ACCENT-1\",\"type\":\"%s\","
             "\"created_at\":\"%sT10:20:00Z\",\"nhs_number\":\"%s\"}]}",
             type, day, nhs);
    json_t *reply = testenv_call_json(testenv, service, "POST", "/api/v1/cpis/notifications", body, 200);
    json_t *e = json_array_get(json_object_get(reply, "errors"), 0);
    assert_string_equal(testenv_str(e, "code"), "invalid_type");
    json_decref(reply);
    json_t *errors = open_errors();
    assert_non_null(error_of(errors, "N-ACCENT-1"));
    json_decref(errors);
}

/* Ids may be 200 characters of any letters: two long ids that differ only in their last letter are
 * two notifications, and each starts its own follow-up (the step's dedupe key, cut at 299 bytes, once
 * made them one). */
static void test_two_long_ids_that_differ_only_at_their_end_each_start_a_follow_up(void **state)
{
    (void)state;
    char child[32], nhs[11], stem[400] = "", id_a[410], id_b[410], batch[4000];
    add_key_workers_child("Lorcan", "Longwell", "male", "2016-06-16", nhs, child);
    for (int i = 0; i < 151; i++)
        strcat(stem, "\xc3\xa9");
    snprintf(id_a, sizeof(id_a), "%sa", stem);
    snprintf(id_b, sizeof(id_b), "%sb", stem);
    char *a = access_json(id_a, nhs, "emergency-department", "Royal Derbyshire ED", "Alex Wardley");
    char *b = access_json(id_b, nhs, "emergency-department", "Royal Derbyshire ED", "Alex Wardley");
    snprintf(batch, sizeof(batch), "{\"notifications\":[%s,%s]}", a, b);
    free(a);
    free(b);
    json_t *reply = testenv_call_json(testenv, service, "POST", "/api/v1/cpis/notifications", batch, 200);
    assert_int_equal(json_integer_value(json_object_get(reply, "accepted")), 2);
    json_decref(reply);
    /* Two steps, each found by its own whole id. */
    char *sql = NULL;
    assert_true(asprintf(&sql,
                         "SELECT count(*) FROM workflow.requested_steps WHERE dedupe_key IN ('cpis:%s:%s',"
                         " 'cpis:%s:%s')",
                         id_a, child, id_b, child) > 0);
    assert_int_equal(wait_count(sql, 2), 2);
    free(sql);
}

/* The same notification sent again is dropped as a duplicate; another notification under an id
 * already taken (other content) is not: it goes to the error queue naming what differs, the copy
 * received first stands, and no second step is started. In one batch, and across batches. */
static void test_the_same_id_with_other_content_is_queued_as_a_conflict_and_the_first_stands(void **state)
{
    (void)state;
    char child[32], nhs[11], batch[4000];
    add_key_workers_child("Cato", "Clashwell", "male", "2017-07-07", nhs, child);
    char *first =
        access_json("N-CLASH-1", nhs, "emergency-department", "Royal Derbyshire ED", "Alex Wardley");
    char *other = access_json("N-CLASH-1", nhs, "nhs-111", "DHU 111", "Robin Callhand");
    snprintf(batch, sizeof(batch), "{\"notifications\":[%s,%s]}", first, other);
    json_t *reply = testenv_call_json(testenv, service, "POST", "/api/v1/cpis/notifications", batch, 200);
    assert_int_equal(json_integer_value(json_object_get(reply, "accepted")), 1);
    assert_int_equal(json_integer_value(json_object_get(reply, "duplicates")), 0);
    json_t *e = json_array_get(json_object_get(reply, "errors"), 0);
    assert_non_null(e);
    assert_string_equal(testenv_str(e, "code"), "conflicting_duplicate");
    assert_non_null(strstr(testenv_str(e, "reason"), "care_setting.type"));
    json_decref(reply);

    /* The first sent again: a duplicate, nothing queued. */
    reply = post_notification(first);
    assert_int_equal(json_integer_value(json_object_get(reply, "duplicates")), 1);
    assert_int_equal(json_array_size(json_object_get(reply, "errors")), 0);
    json_decref(reply);

    /* Another copy in a later batch: queued, naming the field and both values. */
    free(other);
    other = access_json("N-CLASH-1", nhs, "emergency-department", "Royal Derbyshire ED", "Kim Otherley");
    reply = post_notification(other);
    assert_int_equal(json_integer_value(json_object_get(reply, "duplicates")), 0);
    e = json_array_get(json_object_get(reply, "errors"), 0);
    assert_string_equal(testenv_str(e, "code"), "conflicting_duplicate");
    assert_non_null(strstr(testenv_str(e, "reason"), "health_professional.name was 'Alex Wardley'"));
    assert_non_null(strstr(testenv_str(e, "reason"), "'Kim Otherley'"));
    json_decref(reply);
    json_t *errors = open_errors();
    assert_int_equal(json_integer_value(json_object_get(error_of(errors, "N-CLASH-1"), "times_received")), 2);
    json_decref(errors);
    free(first);
    free(other);

    /* The first stands: one notification as first sent, one step. */
    assert_int_equal(testenv_sql_long(testenv,
                                      "SELECT count(*) FROM cpis.notifications WHERE notification_id ="
                                      " 'N-CLASH-1' AND professional_name = 'Alex Wardley'"
                                      " AND setting = 'emergency-department'"),
                     1);
    const char *steps =
        "SELECT count(*) FROM workflow.requested_steps WHERE dedupe_key LIKE 'cpis:N-CLASH-1:%'";
    assert_int_equal(wait_count(steps, 1), 1);
    usleep(300 * 1000);
    assert_int_equal(testenv_sql_long(testenv, steps), 1);
}

/* Posts {"notifications": [first, second]}; the reply, which must have accepted one and refused the
 * other as a conflicting duplicate, whose entry must then be open in the error queue. */
static void post_pair_with_one_conflict(const char *first, const char *second, const char *says)
{
    char batch[4000];
    snprintf(batch, sizeof(batch), "{\"notifications\":[%s,%s]}", first, second);
    json_t *reply = testenv_call_json(testenv, service, "POST", "/api/v1/cpis/notifications", batch, 200);
    assert_int_equal(json_integer_value(json_object_get(reply, "accepted")), 1);
    json_t *e = json_array_get(json_object_get(reply, "errors"), 0);
    assert_non_null(e);
    assert_string_equal(testenv_str(e, "code"), "conflicting_duplicate");
    assert_non_null(strstr(testenv_str(e, "reason"), says));
    json_t *errors = open_errors();
    const json_t *entry = error_with(errors, "id", testenv_str(e, "error_id"));
    if (entry == NULL)
        fail_msg("entry %s is not in the error queue: %s", testenv_str(e, "error_id"), json_dumps(errors, 0));
    assert_string_equal(testenv_str(entry, "code"), "conflicting_duplicate");
    json_decref(errors);
    json_decref(reply);
}

/* Two notifications under one id in one batch, for two children: the first is accepted, and the
 * other stays in the error queue for system support, where the first's acceptance in the same
 * batch resolved it unseen. So does a copy that could not be accepted, followed in its batch by
 * one under its id that was. */
static void test_a_conflict_within_one_batch_stays_in_the_error_queue(void **state)
{
    (void)state;
    char first_child[32], other_child[32], nhs_first[11], nhs_other[11], nhs_no_one[11];
    add_key_workers_child("Cordelia", "Batchclash", "female", "2015-01-15", nhs_first, first_child);
    add_key_workers_child("Cosmo", "Batchclash", "male", "2016-02-16", nhs_other, other_child);
    char *a = access_json("N-CD-1", nhs_first, "emergency-department", "Royal Derbyshire ED", "Alex Wardley");
    char *other =
        access_json("N-CD-1", nhs_other, "emergency-department", "Royal Derbyshire ED", "Alex Wardley");
    post_pair_with_one_conflict(a, other, "nhs_number");
    free(a);
    free(other);

    /* The bad copy first (no one holds its number), the good one after it. */
    testenv_new_nhs_number(nhs_no_one);
    char *bad =
        access_json("N-CD-2", nhs_no_one, "emergency-department", "Royal Derbyshire ED", "Alex Wardley");
    char *good =
        access_json("N-CD-2", nhs_first, "emergency-department", "Royal Derbyshire ED", "Alex Wardley");
    post_pair_with_one_conflict(bad, good, "No one in the system has NHS number");
    free(bad);
    free(good);
    /* System support judge the refused copy again: the copy that stands is the one accepted, which
     * came after it, and the reason says so rather than that the first received stands. */
    json_t *errors = open_errors();
    const json_t *conflict = NULL;
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(errors, "items"), i, e)
    {
        if (strcmp(testenv_str(e, "notification_id"), "N-CD-2") == 0 &&
            strcmp(testenv_str(e, "code"), "conflicting_duplicate") == 0)
            conflict = e;
    }
    assert_non_null(conflict);
    assert_non_null(strstr(testenv_str(conflict, "reason"), "was accepted and stands"));
    char retry[96];
    snprintf(retry, sizeof(retry), "/api/v1/cpis/errors/%s/retry", testenv_str(conflict, "id"));
    json_decref(errors);
    json_t *reply = testenv_call_json(testenv, support, "POST", retry, NULL, 200);
    const char *again = testenv_str(json_array_get(json_object_get(reply, "errors"), 0), "reason");
    assert_non_null(strstr(again, "The copy accepted stands"));
    assert_null(strstr(again, "received first"));
    json_decref(reply);
    /* Each followed up for the copy accepted, about the first child. */
    char *sa = testenv_login(testenv, "safeguarding.admin");
    static const char *const ids[] = {"N-CD-1", "N-CD-2"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        json_t *step = step_for(sa, ids[i]);
        assert_string_equal(testenv_str(json_object_get(step, "subject"), "id"), first_child);
        json_decref(step);
    }
    free(sa);
}

/* Whether any follow-up was asked for the notification (after the events have had time to arrive). */
static long follow_ups_of(const char *notification_id)
{
    char sql[200];
    usleep(300 * 1000);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.requested_steps WHERE dedupe_key LIKE 'cpis:%s:%%'",
             notification_id);
    return testenv_sql_long(testenv, sql);
}

/* The error queue's entry of a notification refused as about no one on a current plan, naming whom. */
static void assert_off_plan(const json_t *reply, const char *notification_id, const char *person,
                            const char *says)
{
    assert_int_equal(json_integer_value(json_object_get(reply, "accepted")), 0);
    const json_t *e = json_array_get(json_object_get(reply, "errors"), 0);
    assert_non_null(e);
    assert_string_equal(testenv_str(e, "code"), "no_current_plan");
    assert_non_null(strstr(testenv_str(e, "reason"), "no child protection or child-in-care plan"));
    assert_non_null(strstr(testenv_str(e, "reason"), says));
    json_t *errors = open_errors();
    const json_t *entry = error_of(errors, notification_id);
    assert_non_null(entry);
    assert_string_equal(testenv_str(entry, "person_id"), person);
    json_decref(errors);
    assert_int_equal(follow_ups_of(notification_id), 0);
}

/* The tester's cases: an adult on no plan (demo Efua Osei) and a mother whose unborn child has been
 * born, the unborn plan ended and the child's own plan recorded (Hana Reed) were each followed up as
 * 'the child'. A notification is followed up only for a child on a current plan (or, on the mother's
 * number, an unborn child on an unborn child protection plan); otherwise it goes to system support,
 * naming the person, saying whether the NHS may still hold an ended plan, and no follow-up starts.
 * Current: not ended before the day of the access; a plan ended on that day still counts. */
static void
test_a_notification_about_someone_on_no_current_plan_goes_to_system_support_not_a_follow_up(void **state)
{
    (void)state;
    char kw[32], adult[32], nhs_adult[11], ended[32], nhs_ended[11], today_ended[32], nhs_today[11];
    char before[16], plan[32];
    snprintf(kw, sizeof(kw), "%ld", worker_id("key.worker"));
    /* An adult on no plan, with a key worker of her own (adult social care). */
    testenv_new_nhs_number(nhs_adult);
    add_person("Efa", "Adultwell", "female", "1988-07-14", nhs_adult, kw, adult);
    json_t *reply =
        post_access("N-OFF-ADULT", nhs_adult, "emergency-department", "Royal Derbyshire ED", "Alex Wardley");
    assert_off_plan(reply, "N-OFF-ADULT", adult, "check the last upload file");
    json_decref(reply);

    /* A child whose plan ended the day before the access, its end not yet loaded by the NHS. */
    testenv_new_nhs_number(nhs_ended);
    add_person("Enzo", "Endedwell", "male", "2014-02-02", nhs_ended, kw, ended);
    char sql[300];
    testenv_sql_date(testenv, "current_date - 2", before); /* the day before the notifications' */
    record_plan(ended, "child-protection-plan", "2025-01-06", before, plan);
    reply =
        post_access("N-OFF-ENDED", nhs_ended, "emergency-department", "Royal Derbyshire ED", "Alex Wardley");
    char says[160];
    snprintf(says, sizeof(says), "child protection plan (plan %s) ended on %s", plan, before);
    assert_off_plan(reply, "N-OFF-ENDED", ended, says);
    assert_non_null(strstr(testenv_str(json_array_get(json_object_get(reply, "errors"), 0), "reason"),
                           "not yet done: check the last upload file and its response"));
    json_decref(reply);

    /* One whose plan ended on the day of the access was on it when seen: followed up. */
    testenv_new_nhs_number(nhs_today);
    add_person("Tam", "Todaywell", "male", "2015-03-03", nhs_today, kw, today_ended);
    record_plan(today_ended, "child-protection-plan", "2025-01-06", day, NULL);
    reply = post_access("N-OFF-TODAY", nhs_today, "nhs-111", "DHU 111", "Pat Caller");
    assert_int_equal(json_integer_value(json_object_get(reply, "accepted")), 1);
    json_decref(reply);
    char *sa = testenv_login(testenv, "safeguarding.admin");
    assert_followed_up_for(sa, "N-OFF-TODAY", today_ended);

    /* A mother whose unborn child has been born: the unborn plan ended, the child's own plan
     * recorded. Her number's notification is no one's to follow up; the child's own is the child's. */
    char mother[32], baby[32], nhs_mother[11], nhs_baby[11], edd[16], born[16], unborn_plan[32];
    char path[96], body[400];
    testenv_new_nhs_number(nhs_mother);
    testenv_new_nhs_number(nhs_baby);
    add_person("Hanne", "Reedwell", "female", "1995-05-05", nhs_mother, NULL, mother);
    testenv_sql_date(testenv, "current_date + 10", edd);
    add_unborn("Reedwell", mother, edd, kw, baby);
    record_plan(baby, "unborn-child-protection-plan", "2026-01-05", NULL, unborn_plan);
    testenv_sql_date(testenv, "current_date - 3", born);
    snprintf(path, sizeof(path), "/api/v1/people/%s/birth", baby);
    snprintf(body, sizeof(body),
             "{\"legal_name\":{\"given\":\"Bryn\",\"family\":\"Reedwell\"},\"date_of_birth\":\"%s\","
             "\"gender\":\"male\",\"nhs_number\":\"%s\"}",
             born, nhs_baby);
    json_decref(testenv_call_json(testenv, admin, "PUT", path, body, 200));
    snprintf(path, sizeof(path), "/api/v1/cpis/plans/%s/end", unborn_plan);
    snprintf(body, sizeof(body), "{\"end_date\":\"%s\"}", born);
    json_decref(testenv_call_json(testenv, admin, "POST", path, body, 200));
    record_plan(baby, "child-protection-plan", born, NULL, NULL);
    reply =
        post_access("N-OFF-MOTHER", nhs_mother, "emergency-department", "Royal Derbyshire ED", "Pat Midwell");
    /* The unborn plan's end is told against her number until the national service loads it. */
    assert_off_plan(reply, "N-OFF-MOTHER", mother, "check the last upload file");
    json_decref(reply);
    reply = post_access("N-OFF-BABY", nhs_baby, "emergency-department", "Royal Derbyshire ED", "Pat Midwell");
    assert_int_equal(json_integer_value(json_object_get(reply, "accepted")), 1);
    json_decref(reply);
    assert_followed_up_for(sa, "N-OFF-BABY", baby);

    /* The adult's entry is hers: seeing it is an access to her record in the audit trail. */
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM audit.entries WHERE record_kind = 'person' AND record_id = %s"
             " AND action = 'view-cpis-errors'",
             adult);
    assert_true(testenv_sql_long(testenv, sql) >= 1);

    /* A child whose plan was not yet recorded here: recorded, and the entry retried, followed up. */
    char late[32], nhs_late[11];
    testenv_new_nhs_number(nhs_late);
    add_person("Lior", "Lateplan", "male", "2016-06-06", nhs_late, kw, late);
    reply = post_access("N-OFF-LATE", nhs_late, "minor-injury-unit", "Ripley MIU", "Alex Wardley");
    assert_off_plan(reply, "N-OFF-LATE", late, "record it and retry this entry");
    json_decref(reply);
    record_plan(late, "child-protection-plan", "2026-01-05", NULL, NULL);
    json_t *errors = open_errors();
    snprintf(path, sizeof(path), "/api/v1/cpis/errors/%s/retry",
             testenv_str(error_of(errors, "N-OFF-LATE"), "id"));
    json_decref(errors);
    reply = testenv_call_json(testenv, support, "POST", path, NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(reply, "accepted")), 1);
    json_decref(reply);
    assert_followed_up_for(sa, "N-OFF-LATE", late);
    free(sa);
}

/* 0000000000 from the national service is not a number to retype from a letter: the entry says it
 * is not a valid NHS number and what system support should do. */
static void test_ten_zeros_from_the_feed_are_queued_saying_what_system_support_should_do(void **state)
{
    (void)state;
    json_t *reply = post_access("N-ZEROS-1", "000 000 0000", "emergency-department", "Royal Derbyshire ED",
                                "Alex Wardley");
    assert_int_equal(json_integer_value(json_object_get(reply, "accepted")), 0);
    const json_t *e = json_array_get(json_object_get(reply, "errors"), 0);
    assert_string_equal(testenv_str(e, "code"), "invalid_nhs_number");
    const char *reason = testenv_str(e, "reason");
    assert_non_null(strstr(reason, "is not a valid NHS number"));
    assert_non_null(
        strstr(reason, "Ask the national service (CP-IS) which child notification N-ZEROS-1 is about"));
    assert_null(strstr(reason, "NHS letter"));
    json_decref(reply);
}

/* Fields of the wrong kind and NHS numbers not written as docs/cpis-feed.md allows are each
 * rejected with their own reason; the number written as it allows (with spaces, with hyphens) is
 * accepted in the same batch. */
static void test_each_field_of_the_wrong_kind_or_layout_is_rejected_with_its_own_reason(void **state)
{
    (void)state;
    char child[32], nhs[11];
    add_key_workers_child("Faye", "Fieldwell", "female", "2013-03-03", nhs, child);
    char spaced[16], hyphens[16], odd[16], run_on[16];
    snprintf(spaced, sizeof(spaced), "%.3s %.3s %.4s", nhs, nhs + 3, nhs + 6);
    snprintf(hyphens, sizeof(hyphens), "%.3s-%.3s-%.4s", nhs, nhs + 3, nhs + 6);
    snprintf(odd, sizeof(odd), "%.5s %.5s", nhs, nhs + 5);
    snprintf(run_on, sizeof(run_on), "%s--", nhs);
    char *ok1 = access_json("N-KIND-SPACED", spaced, "other", "Walk-in Centre", "Alex Wardley");
    char *ok2 = access_json("N-KIND-HYPHENS", hyphens, "minor-injury-unit", "Ripley MIU", "Alex Wardley");
    char *bad1 = access_json("N-KIND-ODD", odd, "other", "Walk-in Centre", "Alex Wardley");
    char *bad2 = access_json("N-KIND-RUNON", run_on, "other", "Walk-in Centre", "Alex Wardley");
    char batch[6000];
    snprintf(batch, sizeof(batch),
             "{\"notifications\":[%s,%s,%s,%s,"
             "{\"notification_id\":\"N-KIND-CS\",\"created_at\":\"%sT10:20:00Z\",\"nhs_number\":\"%s\","
             "\"accessed_at\":\"%sT10:12:00Z\",\"care_setting\":\"nhs-111\","
             "\"health_professional\":{\"name\":\"A\",\"role\":\"B\"}},"
             "{\"notification_id\":\"N-KIND-HP\",\"created_at\":\"%sT10:20:00Z\",\"nhs_number\":\"%s\","
             "\"accessed_at\":\"%sT10:12:00Z\",\"care_setting\":{\"type\":\"nhs-111\",\"ods_code\":\"NLO\","
             "\"name\":\"DHU 111\"},\"health_professional\":[\"A\"]},"
             "{\"notification_id\":\"N-KIND-NOSEC\",\"type\":\"inactive-nhs-number\",\"created_at\":"
             "\"%sT10:20Z\",\"nhs_number\":\"%s\"},"
             "{\"notification_id\":\"N-KIND-NOOFF\",\"type\":\"inactive-nhs-number\",\"created_at\":"
             "\"%sT10:20:00\",\"nhs_number\":\"%s\"}]}",
             ok1, ok2, bad1, bad2, day, nhs, day, day, nhs, day, day, nhs, day, nhs);
    free(ok1);
    free(ok2);
    free(bad1);
    free(bad2);
    json_t *reply = testenv_call_json(testenv, service, "POST", "/api/v1/cpis/notifications", batch, 200);
    assert_int_equal(json_integer_value(json_object_get(reply, "accepted")), 2);
    json_decref(reply);
    json_t *errors = open_errors();
    const struct {
        const char *id, *code, *says;
    } want[] = {
        {"N-KIND-ODD", "invalid_nhs_number", "groups of 3, 3 and 4"},
        {"N-KIND-RUNON", "invalid_nhs_number", "groups of 3, 3 and 4"},
        {"N-KIND-CS", "invalid_field", "care_setting must be an object"},
        {"N-KIND-HP", "invalid_field", "health_professional must be an object"},
        {"N-KIND-NOSEC", "invalid_date", "with seconds and an offset"},
        {"N-KIND-NOOFF", "invalid_date", "with seconds and an offset"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const json_t *e = error_of(errors, want[i].id);
        if (e == NULL)
            fail_msg("no entry for %s: %s", want[i].id, json_dumps(errors, 0));
        assert_string_equal(testenv_str(e, "code"), want[i].code);
        assert_non_null(strstr(testenv_str(e, "reason"), want[i].says));
    }
    json_decref(errors);
}

/* Posts the notifications (each one's JSON, NULL after the last) as one batch; the number accepted,
 * and the open error queue at *errors. */
static long post_batch_of(char **notes, json_t **errors)
{
    size_t cap = 64, len = 0;
    for (char **n = notes; *n != NULL; n++)
        cap += strlen(*n) + 1;
    char *batch = malloc(cap);
    assert_non_null(batch);
    len += (size_t)snprintf(batch, cap, "{\"notifications\":[");
    for (char **n = notes; *n != NULL; n++) {
        len += (size_t)snprintf(batch + len, cap - len, "%s%s", n == notes ? "" : ",", *n);
        free(*n);
    }
    snprintf(batch + len, cap - len, "]}");
    json_t *reply = testenv_call_json(testenv, service, "POST", "/api/v1/cpis/notifications", batch, 200);
    free(batch);
    long accepted = (long)json_integer_value(json_object_get(reply, "accepted"));
    json_decref(reply);
    *errors = open_errors();
    return accepted;
}

/* The error queue's entry for the notification has the code, and its reason says says and not
 * not_said (NULL: nothing to miss). */
static void assert_entry(const json_t *errors, const char *id, const char *code, const char *says,
                         const char *not_said)
{
    const json_t *e = error_of(errors, id);
    if (e == NULL)
        fail_msg("no entry for %s", id);
    const char *reason = testenv_str(e, "reason");
    if (strcmp(testenv_str(e, "code"), code) != 0 || strstr(reason, says) == NULL ||
        (not_said != NULL && strstr(reason, not_said) != NULL))
        fail_msg("%s: %s '%s', where %s saying '%s' was wanted", id, testenv_str(e, "code"), reason, code,
                 says);
}

/* A time before 1 January 1990 (1969, 1900, the year 1, even the first instant of 1970 that was
 * taken) was called not an RFC 3339 date and time; it is refused as too early, in words, and a
 * time on that day or after is accepted as before. A date that is no date is still called so. */
static void test_a_time_before_1990_is_queued_as_too_early_not_as_unreadable(void **state)
{
    (void)state;
    char child[32], nhs[11], created[32];
    add_key_workers_child("Edda", "Earlywell", "female", "2014-04-04", nhs, child);
    snprintf(created, sizeof(created), "%sT10:20:00Z", day);
    char *notes[] = {
        access_at("N-EARLY-1969", nhs, created, "1969-12-31T23:59:59Z", "nhs-111", "DHU 111", "Alex Example"),
        access_at("N-EARLY-1900", nhs, created, "1900-01-01T10:12:00Z", "nhs-111", "DHU 111", "Alex Example"),
        access_at("N-EARLY-0001", nhs, created, "0001-01-01T00:00:00Z", "nhs-111", "DHU 111", "Alex Example"),
        access_at("N-EARLY-1970", nhs, created, "1970-01-01T00:00:00Z", "nhs-111", "DHU 111", "Alex Example"),
        /* The last half hour of 1989 in UTC, though the first of 1990 where it was written. */
        access_at("N-EARLY-OFFSET", nhs, created, "1990-01-01T00:30:00+01:00", "nhs-111", "DHU 111",
                  "Alex Example"),
        access_at("N-EARLY-CREATED", nhs, "1989-12-31T23:59:59Z", "1989-12-31T23:00:00Z", "nhs-111",
                  "DHU 111", "Alex Example"),
        access_at("N-EARLY-NODATE", nhs, created, "1969-13-01T00:00:00Z", "nhs-111", "DHU 111",
                  "Alex Example"),
        access_at("N-EARLY-1990", nhs, created, "1990-01-01T00:00:00Z", "nhs-111", "DHU 111", "Alex Example"),
        NULL,
    };
    json_t *errors;
    assert_int_equal(post_batch_of(notes, &errors), 1);
    const char *early[] = {"N-EARLY-1969", "N-EARLY-1900", "N-EARLY-0001", "N-EARLY-1970", "N-EARLY-OFFSET"};
    for (size_t i = 0; i < sizeof(early) / sizeof(early[0]); i++)
        assert_entry(errors, early[i], "date_too_early", "accessed_at '", "RFC 3339");
    assert_entry(errors, "N-EARLY-1969", "date_too_early",
                 "accessed_at '1969-12-31T23:59:59Z' cannot be before 1 January 1990.", NULL);
    assert_entry(errors, "N-EARLY-CREATED", "date_too_early",
                 "created_at '1989-12-31T23:59:59Z' cannot be before 1 January 1990.", NULL);
    /* Refused before its NHS number was read, the entry still names it: whose it is shows at once. */
    assert_string_equal(testenv_str(error_of(errors, "N-EARLY-CREATED"), "nhs_number"), nhs);
    assert_entry(errors, "N-EARLY-NODATE", "invalid_date", "with seconds and an offset", NULL);
    assert_null(error_of(errors, "N-EARLY-1990"));
    json_decref(errors);
    assert_int_equal(
        testenv_sql_long(testenv,
                         "SELECT count(*) FROM cpis.notifications WHERE notification_id LIKE 'N-EARLY-%'"),
        1);
    assert_int_equal(
        wait_count(
            "SELECT count(*) FROM workflow.requested_steps WHERE dedupe_key LIKE 'cpis:N-EARLY-1990:%'", 1),
        1);
}

/* A health professional's name with a tab, an escape or a bell in it was refused as not "one line
 * of at most 200 characters", which it was; it is refused for its control character, named. A line
 * break is what "one line" means, and a name too long is told its length. */
static void test_a_control_character_in_a_text_is_queued_as_such_naming_it(void **state)
{
    (void)state;
    char child[32], nhs[11], at[32];
    add_key_workers_child("Carla", "Controlwell", "female", "2015-05-15", nhs, child);
    snprintf(at, sizeof(at), "%sT10:12:00Z", day);
    char long_name[260];
    memset(long_name, 'x', 201);
    long_name[201] = '\0';
    char *notes[] = {
        access_at("N-CTRL-TAB", nhs, at, at, "nhs-111", "DHU 111", "Alex\\tExample"),
        access_at("N-CTRL-ESC", nhs, at, at, "nhs-111", "DHU 111", "Alex\\u001bExample"),
        access_at("N-CTRL-BEL", nhs, at, at, "nhs-111", "DHU 111", "Alex\\u0007"),
        access_at("N-CTRL-C1", nhs, at, at, "nhs-111", "DHU 111", "Alex\\u0085Example"),
        access_at("N-CTRL-LF", nhs, at, at, "nhs-111", "DHU 111", "Alex\\nExample"),
        access_at("N-CTRL-LONG", nhs, at, at, "nhs-111", "DHU 111", long_name),
        access_at("N-CTRL-OK", nhs, at, at, "nhs-111", "DHU 111", "Alex Example"),
        NULL,
    };
    json_t *errors;
    assert_int_equal(post_batch_of(notes, &errors), 1);
    const char *controls[][2] = {
        {"N-CTRL-TAB", "it holds a tab"},
        {"N-CTRL-ESC", "it holds U+001B"},
        {"N-CTRL-BEL", "it holds U+0007"},
        {"N-CTRL-C1", "it holds U+0085"},
    };
    for (size_t i = 0; i < sizeof(controls) / sizeof(controls[0]); i++) {
        assert_entry(errors, controls[i][0], "invalid_characters",
                     "health_professional.name must not hold control characters", "one line");
        assert_entry(errors, controls[i][0], "invalid_characters", controls[i][1], NULL);
    }
    assert_entry(errors, "N-CTRL-LF", "invalid_field", "health_professional.name must be one line", "200");
    assert_entry(errors, "N-CTRL-LONG", "invalid_field",
                 "health_professional.name must be at most 200 characters; it has 201", "one line");
    assert_null(error_of(errors, "N-CTRL-OK"));
    json_decref(errors);
}

/* A notification too large for a request on its own (a 1.5 MB member the feed does not have) and a
 * file whose notifications together are larger than a request may be: the file is sent in parts
 * that each fit, the large one is queued with its size in words, and the rest are accepted. Sent
 * whole, the part was refused (413) on every run and the file never left the spool. */
static void test_a_notification_too_large_for_a_request_is_queued_and_its_file_goes_on(void **state)
{
    (void)state;
    enum { COUNT = 40, PAD = 40000 };
    char child[32], nhs[11];
    add_key_workers_child("Lars", "Largewell", "male", "2014-09-09", nhs, child);
    size_t cap = (size_t)COUNT * (PAD + 800) + 2000000;
    char *body = malloc(cap), *o = body;
    assert_non_null(body);
    o += sprintf(o, "{\"notifications\":[");
    for (int i = 0; i < COUNT; i++) {
        char id[32];
        snprintf(id, sizeof(id), "N-BIG-%02d", i);
        char *n = access_json(id, nhs, "nhs-111", "DHU 111", "Robin Callhand");
        /* Each with a member the feed does not have, ignored by cpis: together over 1 MB. */
        o += sprintf(o, "%s%.*s,\"extra\":\"", i ? "," : "", (int)strlen(n) - 1, n);
        memset(o, 'x', PAD);
        o += PAD;
        o += sprintf(o, "\"}");
        free(n);
    }
    char *huge = access_json("N-HUGE-1", nhs, "nhs-111", "DHU 111", "Robin Callhand");
    o += sprintf(o, ",%.*s,\"extra\":\"", (int)strlen(huge) - 1, huge);
    free(huge);
    memset(o, 'y', 1500000);
    o += 1500000;
    o += sprintf(o, "\"}]}");
    write_spool("20260110-large.json", body);
    free(body);
    assert_int_equal(run_poller(500), 0);
    assert_true(spool_has("done", "20260110-large.json"));
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM cpis.notifications"
                                               " WHERE notification_id LIKE 'N-BIG-%'"),
                     COUNT);
    json_t *errors = open_errors();
    const json_t *e = error_of(errors, "N-HUGE-1");
    if (e == NULL)
        fail_msg("no entry for N-HUGE-1: %s", json_dumps(errors, 0));
    assert_string_equal(testenv_str(e, "code"), "unreadable_notification");
    assert_non_null(strstr(testenv_str(e, "reason"), "more than a request to the gateway may carry"));
    json_decref(errors);
}

/* A young mother on a child protection plan of her own, with an unborn child on an unborn child
 * protection plan: both plans are held against her NHS number, so a notification on it is followed
 * up for both before the expected date of delivery; after it, for her (the unborn child's key worker
 * is asked for the child's own number), not refused whole. */
static void test_a_notification_on_a_mother_on_a_plan_of_her_own_is_followed_up_for_her_too(void **state)
{
    (void)state;
    char kw[32], mother[32], baby[32], nhs_mother[11], edd[16], body[600];
    snprintf(kw, sizeof(kw), "%ld", worker_id("key.worker"));
    testenv_new_nhs_number(nhs_mother);
    add_person("Tess", "Teenwell", "female", "2010-02-02", nhs_mother, kw, mother);
    snprintf(body, sizeof(body),
             "{\"person_id\":\"%s\",\"plan_type\":\"child-protection-plan\",\"start_date\":\"2026-01-02\"}",
             mother);
    json_decref(testenv_call_json(testenv, admin, "POST", "/api/v1/cpis/plans", body, 201));
    testenv_sql_date(testenv, "current_date + 30", edd);
    add_unborn("Teenwell", mother, edd, kw, baby);
    snprintf(body, sizeof(body),
             "{\"person_id\":\"%s\",\"plan_type\":\"unborn-child-protection-plan\","
             "\"start_date\":\"2026-01-03\"}",
             baby);
    json_decref(testenv_call_json(testenv, admin, "POST", "/api/v1/cpis/plans", body, 201));

    char sql[300];
    json_t *reply =
        post_access("N-TEEN-1", nhs_mother, "emergency-department", "Royal Derbyshire ED", "Pat Midwell");
    assert_int_equal(json_integer_value(json_object_get(reply, "accepted")), 1);
    json_decref(reply);
    const char *steps_1 =
        "SELECT count(*) FROM workflow.requested_steps WHERE dedupe_key LIKE 'cpis:N-TEEN-1:%'";
    assert_int_equal(wait_count(steps_1, 2), 2);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.requested_steps WHERE dedupe_key IN ('cpis:N-TEEN-1:%s',"
             " 'cpis:N-TEEN-1:%s')",
             mother, baby);
    assert_int_equal(testenv_sql_long(testenv, sql), 2);

    /* After the expected date: for her; the child's own number is asked of its key worker. */
    expected_date_passed(baby);
    reply = post_access("N-TEEN-2", nhs_mother, "emergency-department", "Royal Derbyshire ED", "Pat Midwell");
    assert_int_equal(json_integer_value(json_object_get(reply, "accepted")), 1);
    assert_int_equal(json_array_size(json_object_get(reply, "errors")), 0);
    json_decref(reply);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.requested_steps WHERE dedupe_key = 'cpis:N-TEEN-2:%s'", mother);
    assert_int_equal(wait_count(sql, 1), 1);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM notifications.notices WHERE kind = 'cpis-nhs-number-needed'"
             " AND link = '/people/%s' AND worker_id = %s",
             baby, kw);
    assert_int_equal(wait_count(sql, 1), 1);
}

/* A notification queued because no one held its NHS number is judged again by system support once
 * the child is on the record with that number: accepted, followed up, and out of the queue. Entries
 * that cannot be judged again as they stand are refused, and only system support may retry. */
static void test_a_queued_notification_is_accepted_when_retried_after_the_child_is_recorded(void **state)
{
    (void)state;
    char nhs[11], batch[2000], path[96], file_path[96], child[32], kw[32];
    testenv_new_nhs_number(nhs);
    char *n1 = access_json("N-RETRY-1", nhs, "emergency-department", "Royal Derbyshire ED", "Alex Wardley");
    snprintf(batch, sizeof(batch),
             "{\"notifications\":[%s,{\"tessera_unreadable\":{\"scope\":\"file\",\"file\":\"x.json\","
             "\"fault\":\"not JSON\",\"text\":\"x\"}}]}",
             n1);
    free(n1);
    json_t *reply = testenv_call_json(testenv, service, "POST", "/api/v1/cpis/notifications", batch, 200);
    json_t *errors = json_object_get(reply, "errors");
    assert_int_equal(json_array_size(errors), 2);
    assert_string_equal(testenv_str(json_array_get(errors, 0), "code"), "unknown_nhs_number");
    snprintf(path, sizeof(path), "/api/v1/cpis/errors/%s/retry",
             testenv_str(json_array_get(errors, 0), "error_id"));
    snprintf(file_path, sizeof(file_path), "/api/v1/cpis/errors/%s/retry",
             testenv_str(json_array_get(errors, 1), "error_id"));
    json_decref(reply);

    /* Only system support; an entry that could not be read is put right through the spool. */
    testenv_call_error(testenv, service, "POST", path, NULL, 403, "forbidden", NULL);
    testenv_call_error(testenv, support, "POST", file_path, NULL, 409, "not_retriable", NULL);
    /* Still no one with the number: refused again, the entry counted up. */
    reply = testenv_call_json(testenv, support, "POST", path, NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(reply, "accepted")), 0);
    assert_string_equal(testenv_str(json_array_get(json_object_get(reply, "errors"), 0), "code"),
                        "unknown_nhs_number");
    json_decref(reply);
    json_t *queue = open_errors();
    assert_int_equal(json_integer_value(json_object_get(error_of(queue, "N-RETRY-1"), "times_received")), 2);
    json_decref(queue);

    /* The child recorded with the number: accepted, followed up, out of the queue. */
    snprintf(kw, sizeof(kw), "%ld", worker_id("key.worker"));
    add_child("Rory", "Retrywell", "male", "2015-02-02", nhs, kw, child);
    reply = testenv_call_json(testenv, support, "POST", path, NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(reply, "accepted")), 1);
    json_decref(reply);
    char *sa = testenv_login(testenv, "safeguarding.admin");
    json_t *step = step_for(sa, "N-RETRY-1");
    assert_string_equal(testenv_str(json_object_get(step, "subject"), "id"), child);
    json_decref(step);
    free(sa);
    queue = open_errors();
    assert_null(error_of(queue, "N-RETRY-1"));
    json_decref(queue);
    testenv_call_error(testenv, support, "POST", path, NULL, 404, "not_found", NULL);
}

/* Posts an inactive-NHS-number notification for nhs; the reply. */
static json_t *post_inactive(const char *id, const char *nhs)
{
    char n[300];
    snprintf(n, sizeof(n),
             "{\"notification_id\":\"%s\",\"type\":\"inactive-nhs-number\",\"created_at\":\"%sT11:00:00Z\","
             "\"nhs_number\":\"%s\"}",
             id, day, nhs);
    return post_notification(n);
}

static void
test_an_inactive_number_with_no_key_worker_is_queued_until_support_close_it_with_a_reason(void **state)
{
    (void)state;
    char kw[32], alone[32], held[32], nhs_alone[11], nhs_held[11], path[96], sql[300];
    snprintf(kw, sizeof(kw), "%ld", worker_id("key.worker"));
    testenv_new_nhs_number(nhs_alone);
    testenv_new_nhs_number(nhs_held);
    add_child("Orla", "Ownerless", "female", "2017-03-03", nhs_alone, NULL, alone);
    add_child("Kit", "Keptwell", "male", "2017-04-04", nhs_held, kw, held);

    /* Both accepted and marked (uploads stop); only the child no one would be asked about is queued. */
    json_t *reply = post_inactive("N-INACT-NOKW", nhs_alone);
    assert_int_equal(json_integer_value(json_object_get(reply, "inactive_marked")), 1);
    assert_int_equal(json_array_size(json_object_get(reply, "errors")), 0);
    json_decref(reply);
    reply = post_inactive("N-INACT-KW", nhs_held);
    assert_int_equal(json_integer_value(json_object_get(reply, "inactive_marked")), 1);
    json_decref(reply);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM cpis.inactive_numbers WHERE nhs_number IN ('%s', '%s')",
             nhs_alone, nhs_held);
    assert_int_equal(testenv_sql_long(testenv, sql), 2);
    json_t *queue = open_errors();
    assert_null(error_of(queue, "N-INACT-KW"));
    const json_t *e = error_of(queue, "N-INACT-NOKW");
    assert_non_null(e);
    assert_string_equal(testenv_str(e, "code"), "no_key_worker");
    assert_string_equal(testenv_str(e, "person_id"), alone);
    assert_string_equal(testenv_str(e, "nhs_number"), nhs_alone);
    assert_non_null(strstr(testenv_str(e, "reason"), "Orla"));
    assert_non_null(strstr(testenv_str(e, "reason"), "no key worker"));
    assert_true(json_is_null(json_object_get(e, "closed_at")));
    char entry[32];
    snprintf(entry, sizeof(entry), "%s", testenv_str(e, "id"));
    json_decref(queue);

    /* Sent again, it is a duplicate and the entry stays one entry. */
    reply = post_inactive("N-INACT-NOKW", nhs_alone);
    assert_int_equal(json_integer_value(json_object_get(reply, "duplicates")), 1);
    json_decref(reply);

    /* Judging it again would change nothing: it waits for a person. */
    snprintf(path, sizeof(path), "/api/v1/cpis/errors/%s/retry", entry);
    testenv_call_error(testenv, support, "POST", path, NULL, 409, "not_retriable", NULL);

    /* Closing: system support only, with a reason that says something; nothing changes otherwise. */
    snprintf(path, sizeof(path), "/api/v1/cpis/errors/%s/close", entry);
    testenv_call_error(testenv, service, "POST", path, "{\"reason\":\"Done.\"}", 403, "forbidden", NULL);
    testenv_call_error(testenv, support, "POST", path, "{}", 400, "missing_field", "reason");
    testenv_call_error(testenv, support, "POST", path, "{\"reason\":\"  \\n \"}", 400, "missing_field",
                       "reason");
    testenv_call_error(testenv, support, "POST", path, "{\"reason\":\"Done.\",\"resolved\":true}", 400,
                       "unknown_field", NULL);
    testenv_call_error(testenv, support, "POST", "/api/v1/cpis/errors/999999999/close",
                       "{\"reason\":\"Done.\"}", 404, "not_found", NULL);
    queue = open_errors();
    assert_non_null(error_of(queue, "N-INACT-NOKW"));
    json_decref(queue);

    json_t *closed = testenv_call_json(
        testenv, support, "POST", path,
        "{\"reason\":\" Key worker allocated; new NHS number asked of the GP by telephone. \"}", 200);
    assert_string_equal(testenv_str(closed, "id"), entry);
    assert_string_equal(testenv_str(closed, "close_reason"),
                        "Key worker allocated; new NHS number asked of the GP by telephone.");
    char support_id[32];
    snprintf(support_id, sizeof(support_id), "%ld", worker_id("sys.sam"));
    assert_string_equal(testenv_str(closed, "closed_by"), support_id);
    assert_true(json_is_string(json_object_get(closed, "closed_at")));
    json_decref(closed);
    queue = open_errors();
    assert_null(error_of(queue, "N-INACT-NOKW"));
    json_decref(queue);
    /* Read back among the closed ones, with who closed it and why. */
    json_t *was =
        testenv_call_json(testenv, support, "GET", "/api/v1/cpis/errors?state=closed&limit=200", NULL, 200);
    const json_t *gone = error_of(was, "N-INACT-NOKW");
    assert_non_null(gone);
    assert_string_equal(testenv_str(gone, "close_reason"),
                        "Key worker allocated; new NHS number asked of the GP by telephone.");
    json_decref(was);
    testenv_call_error(testenv, support, "GET", "/api/v1/cpis/errors?state=shut", NULL, 400, "invalid_value",
                       "state");
    testenv_call_error(testenv, support, "POST", path, "{\"reason\":\"Again.\"}", 409, "already_closed",
                       NULL);
    /* The number stays inactive: closing the entry is not recording a new number. */
    assert_int_equal(testenv_sql_long(testenv, sql), 2);
    /* A key worker who has left the council is no one to tell either: the same entry for that child. */
    char leaver[32], left_child[32], nhs_left[11];
    testenv_add_worker(testenv, admin, "kw.leaving", "Lee Leavingwell", "\"roles\":[\"social-worker\"]",
                       leaver);
    testenv_new_nhs_number(nhs_left);
    add_child("Lana", "Leftbehind", "female", "2017-05-05", nhs_left, leaver, left_child);
    testenv_end_worker(testenv, admin, leaver, "Left the council");
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM records.workers WHERE id = %s AND ended", leaver);
    assert_int_equal(wait_count(sql, 1), 1);
    reply = post_inactive("N-INACT-LEFT", nhs_left);
    assert_int_equal(json_integer_value(json_object_get(reply, "inactive_marked")), 1);
    json_decref(reply);
    queue = open_errors();
    e = error_of(queue, "N-INACT-LEFT");
    assert_non_null(e);
    assert_string_equal(testenv_str(e, "code"), "no_key_worker");
    assert_string_equal(testenv_str(e, "person_id"), left_child);
    json_decref(queue);
    snprintf(sql, sizeof(sql),
             "SELECT count(DISTINCT action) FROM audit.entries WHERE record_kind = 'person'"
             " AND record_id = %s AND action = 'view-cpis-errors'",
             left_child);
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    /* The entry names the child: seeing it and closing it are accesses to her record in the trail. */
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    snprintf(
        sql, sizeof(sql),
        "SELECT count(DISTINCT action) FROM audit.entries WHERE record_kind = 'person' AND record_id = %s"
        " AND worker_id = %s AND action IN ('view-cpis-errors', 'close-cpis-error')",
        alone, support_id);
    assert_int_equal(testenv_sql_long(testenv, sql), 2);
}

/* An unborn child's plan is held against the mother's NHS number: that number reported inactive
 * stops the plan, and the unborn child's key worker is asked for her new number, as a born child's
 * key worker is asked for theirs. */
static void test_an_inactive_mothers_number_asks_her_unborn_childs_key_worker_for_the_new_one(void **state)
{
    (void)state;
    char kw[32], mother[32], baby[32], nhs_mother[11], edd[16], sql[300];
    snprintf(kw, sizeof(kw), "%ld", worker_id("key.worker"));
    /* A mother with no plan of her own, expecting in two months. */
    testenv_new_nhs_number(nhs_mother);
    testenv_sql_date(testenv, "current_date + 60", edd);
    add_person("Ivy", "Inactivewell", "female", "2001-04-04", nhs_mother, NULL, mother);
    add_unborn("Inactivewell", mother, edd, kw, baby);
    json_t *reply = post_inactive("N-INACT-UNBORN", nhs_mother);
    assert_int_equal(json_integer_value(json_object_get(reply, "inactive_marked")), 1);
    json_decref(reply);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM notifications.notices WHERE kind = 'cpis-nhs-number-needed'"
             " AND worker_id = %s AND link = '/people/%s' AND title LIKE '%%mother''s new NHS number%%'",
             kw, baby);
    assert_int_equal(wait_count(sql, 1), 1);
    /* The mother, with no plan of her own, has none to stop and no key worker to ask: no entry asks
     * system support to allocate her one. */
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM cpis.errors WHERE notification_id = 'N-INACT-UNBORN' AND code = "
             "'no_key_worker'");
    assert_int_equal(testenv_sql_long(testenv, sql), 0);
}

/* Whether notification_id's entry is still open in the error queue, waiting for it to become want. */
static long entry_open(const char *notification_id, long want)
{
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM cpis.errors WHERE notification_id = '%s' AND resolved_at IS NULL",
             notification_id);
    long n = -1;
    for (int i = 0; i < 300; i++) {
        n = testenv_sql_long(testenv, sql);
        if (n == want)
            break;
        usleep(100 * 1000);
    }
    return n;
}

/* A conflicting copy of an inactive-number notification whose child has no key worker is an entry
 * of its own: the no_key_worker entry stays as it was, and still leaves the queue, asking the key
 * worker for the new number, once one is allocated; the conflict stays for system support. */
static void test_a_conflicting_copy_leaves_the_no_key_worker_entry_as_it_was(void **state)
{
    (void)state;
    char kw[32], child[32], nhs[11], copy[300];
    snprintf(kw, sizeof(kw), "%ld", worker_id("key.worker"));
    testenv_new_nhs_number(nhs);
    add_child("Nell", "Copyclash", "female", "2017-06-06", nhs, NULL, child);
    json_decref(post_inactive("N-INACT-COPY", nhs));
    json_t *errors = open_errors();
    const json_t *e = error_of(errors, "N-INACT-COPY");
    assert_non_null(e);
    char waiting[32];
    snprintf(waiting, sizeof(waiting), "%s", testenv_str(e, "id"));
    json_decref(errors);

    snprintf(copy, sizeof(copy),
             "{\"notification_id\":\"N-INACT-COPY\",\"type\":\"inactive-nhs-number\",\"created_at\":"
             "\"%sT12:00:00Z\",\"nhs_number\":\"%s\"}",
             day, nhs);
    json_t *reply = post_notification(copy);
    e = json_array_get(json_object_get(reply, "errors"), 0);
    assert_string_equal(testenv_str(e, "code"), "conflicting_duplicate");
    assert_string_not_equal(testenv_str(e, "error_id"), waiting);
    char conflict[32];
    snprintf(conflict, sizeof(conflict), "%s", testenv_str(e, "error_id"));
    json_decref(reply);
    errors = open_errors();
    assert_string_equal(testenv_str(error_with(errors, "id", waiting), "code"), "no_key_worker");
    assert_string_equal(testenv_str(error_with(errors, "id", conflict), "code"), "conflicting_duplicate");
    json_decref(errors);

    /* A key worker allocated is asked for the new number; only the conflict is left. */
    allocate_key_worker(child, kw);
    char sql[300];
    snprintf(
        sql, sizeof(sql),
        "SELECT count(*) FROM notifications.notices WHERE worker_id = %s AND kind = 'cpis-nhs-number-needed'"
        " AND link = '/people/%s'",
        kw, child);
    assert_int_equal(wait_count(sql, 1), 1);
    assert_int_equal(entry_open("N-INACT-COPY", 1), 1);
    errors = open_errors();
    assert_null(error_with(errors, "id", waiting));
    assert_non_null(error_with(errors, "id", conflict));
    json_decref(errors);
}

/* A no_key_worker entry settles itself from what records tells: a key worker allocated to the child
 * is asked for the new NHS number (the notice the notification would have sent them) and the entry
 * leaves the queue; a new number recorded on the child takes it out too. An allocation that had
 * ended before the entry was queued is no one to ask, even when records' events are replayed. */
static void
test_a_no_key_worker_entry_leaves_the_queue_once_a_key_worker_is_allocated_or_a_number_recorded(void **state)
{
    (void)state;
    char kw[32], later_kw[32], later_nhs[32], ended[32], nhs_kw[11], nhs_nhs[11], nhs_ended[11], nhs_new[11];
    snprintf(kw, sizeof(kw), "%ld", worker_id("key.worker"));
    testenv_new_nhs_number(nhs_kw);
    testenv_new_nhs_number(nhs_nhs);
    testenv_new_nhs_number(nhs_ended);
    testenv_new_nhs_number(nhs_new);
    add_child("Kara", "Laterallocated", "female", "2018-01-02", nhs_kw, NULL, later_kw);
    add_child("Nico", "Newnumbered", "male", "2018-02-03", nhs_nhs, NULL, later_nhs);
    add_child("Enid", "Endedallocation", "female", "2018-03-04", nhs_ended, NULL, ended);
    /* Enid had a key worker, whose allocation ended before the notification came. */
    char path[128], body[200];
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations", ended);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%s\",\"role\":\"key-worker\",\"service\":\"CSSW\"}", kw);
    json_t *allocation = testenv_call_json(testenv, admin, "POST", path, body, 201);
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations/%s", ended, testenv_str(allocation, "id"));
    json_decref(allocation);
    testenv_response_t r = testenv_http(testenv, "DELETE", path, admin, NULL, NULL);
    assert_true(r.status == 200 || r.status == 204);
    testenv_response_free(&r);

    json_decref(post_inactive("N-INACT-THEN-KW", nhs_kw));
    json_decref(post_inactive("N-INACT-THEN-NHS", nhs_nhs));
    json_decref(post_inactive("N-INACT-ENDED", nhs_ended));
    assert_int_equal(entry_open("N-INACT-THEN-KW", 1), 1);
    assert_int_equal(entry_open("N-INACT-THEN-NHS", 1), 1);
    assert_int_equal(entry_open("N-INACT-ENDED", 1), 1);

    /* A key worker allocated: asked for the new number, and the entry leaves the queue. */
    allocate_key_worker(later_kw, kw);
    assert_int_equal(entry_open("N-INACT-THEN-KW", 0), 0);
    char sql[300];
    snprintf(
        sql, sizeof(sql),
        "SELECT count(*) FROM notifications.notices WHERE worker_id = %s AND kind = 'cpis-nhs-number-needed'"
        " AND link = '/people/%s'",
        kw, later_kw);
    assert_int_equal(wait_count(sql, 1), 1);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM cpis.errors WHERE notification_id = 'N-INACT-THEN-KW'"
             " AND close_reason LIKE 'A key worker (worker %s) was allocated%%' AND closed_by IS NULL",
             kw);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);

    /* A new number recorded: nothing left to ask. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/nhs-number", later_nhs);
    snprintf(body, sizeof(body), "{\"nhs_number\":\"%s\"}", nhs_new);
    json_decref(testenv_call_json(testenv, admin, "PUT", path, body, 200));
    assert_int_equal(entry_open("N-INACT-THEN-NHS", 0), 0);

    /* Records' events replayed from the start (a cpis database restored, say): Enid's ended
     * allocation hands her back to no one, and no one is asked twice. */
    char out[64];
    assert_int_equal(testenv_psql(testenv, NULL,
                                  "UPDATE cpis.inbox SET last_seq = 0 WHERE producer = 'records'", out,
                                  sizeof(out)),
                     0);
    testenv_kill(testenv, "cpis", SIGTERM);
    assert_int_equal(testenv_wait_exit(testenv, "cpis", 15000), 0);
    testenv_restart(testenv, "cpis");
    assert_int_equal(wait_count("SELECT count(*) FROM cpis.inbox i, records.relay_state r"
                                " WHERE i.producer = 'records' AND i.last_seq >= r.last_seq",
                                1),
                     1);
    assert_int_equal(entry_open("N-INACT-ENDED", 1), 1);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM notifications.notices WHERE kind = 'cpis-nhs-number-needed'"
             " AND link IN ('/people/%s', '/people/%s')",
             later_kw, ended);
    /* Once the notifications daemon has applied whatever the replay made cpis say. */
    assert_int_equal(wait_count("SELECT count(*) FROM notifications.inbox i, cpis.relay_state r"
                                " WHERE i.producer = 'cpis' AND i.last_seq >= r.last_seq"
                                " AND NOT EXISTS (SELECT 1 FROM cpis.outbox WHERE seq IS NULL)",
                                1),
                     1);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
}

/* A file's age in spool/done/ in seconds (utimensat): as if it had lain there unmodified that long. */
static void age_spool_file_seconds(const char *sub, const char *name, long seconds)
{
    char path[500];
    snprintf(path, sizeof(path), "%s/%s%s%s", spool, sub, sub[0] ? "/" : "", name);
    struct timespec times[2];
    clock_gettime(CLOCK_REALTIME, &times[0]);
    times[0].tv_sec -= (time_t)seconds;
    times[1] = times[0];
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
}

static void age_spool_file(const char *sub, const char *name, int days)
{
    age_spool_file_seconds(sub, name, (long)days * 86400);
}

/* Runs the poller once with the suite's settings and one more line (a setting it must refuse); its
 * exit status, and in out what it said. */
static int run_poller_refusing(const char *name, const char *setting, char *out, size_t size)
{
    char config[400], log[400], text[1000], cmd[1200];
    snprintf(config, sizeof(config), "%s/poller-%s.conf", testenv->dir, name);
    snprintf(log, sizeof(log), "%s/poller-%s.log", testenv->dir, name);
    snprintf(text, sizeof(text),
             "[spine_poller]\nspool_dir = %s\ngateway_url = http://127.0.0.1:9\nusername = cpis.poller\n"
             "password = " TESTENV_SERVICE_PASSWORD "\n%s\n",
             spool, setting);
    write_file(config, text);
    snprintf(cmd, sizeof(cmd), "%s/tessera-spine-poller --config %s --once 2>%s", TSR_BIN_DIR, config, log);
    int status = system(cmd);
    assert_true(WIFEXITED(status));
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    size_t got = fread(out, 1, size - 1, f);
    out[got] = '\0';
    fclose(f);
    return WEXITSTATUS(status);
}

/* done/ keeps an acknowledged file spine_poller.keep_days (30 by default) after its
 * acknowledgement, then removes it: cpis holds its notifications, and the file would only be a
 * second copy of children's NHS numbers and where they were seen. The days count from the
 * acknowledgement, not from when the file was written; rejected/ waits for a person whatever its age;
 * a keep_days that is not a number of days stops the poller naming the setting. */
static void test_done_keeps_an_acknowledged_file_its_days_then_removes_it_and_rejected_waits(void **state)
{
    (void)state;
    char nhs[11];
    testenv_new_nhs_number(nhs);
    char *n = access_json("N-KEEP-1", nhs, "minor-injury-unit", "Ripley MIU", "Jo Stitchley");
    char batch[1200];
    snprintf(batch, sizeof(batch), "{\"notifications\":[%s]}", n);
    free(n);
    /* Written by the Spine connection 40 days ago and only now sent (the gateway was down, say). */
    write_spool("20260111-late.json", batch);
    age_spool_file("", "20260111-late.json", 40);
    char dir[400];
    snprintf(dir, sizeof(dir), "%s/done", spool);
    mkdir(dir, 0700);
    snprintf(dir, sizeof(dir), "%s/rejected", spool);
    mkdir(dir, 0700);
    write_spool("done/20251101-past-keeping.json", "{\"notifications\":[]}");
    age_spool_file("done", "20251101-past-keeping.json", 31);
    write_spool("done/20251105-within-keeping.json", "{\"notifications\":[]}");
    age_spool_file("done", "20251105-within-keeping.json", 29);
    write_spool("rejected/20250901-set-aside.json", "not a batch");
    age_spool_file("rejected", "20250901-set-aside.json", 100);

    assert_int_equal(run_poller(500), 0);
    assert_false(spool_has("done", "20251101-past-keeping.json"));
    assert_true(spool_has("done", "20251105-within-keeping.json"));
    assert_true(spool_has("rejected", "20250901-set-aside.json"));
    assert_true(spool_has("done", "20260111-late.json"));
    assert_int_equal(
        testenv_sql_long(testenv, "SELECT count(*) FROM cpis.errors WHERE notification_id = 'N-KEEP-1'"), 1);
    /* Acknowledged just now, 40 days after it was written: the next run keeps it. */
    assert_int_equal(run_poller(500), 0);
    assert_true(spool_has("done", "20260111-late.json"));

    char out[2000] = "";
    assert_int_equal(run_poller_refusing("bad-keep", "keep_days = a month", out, sizeof(out)), 2);
    if (strstr(out, "spine_poller.keep_days") == NULL)
        fail_msg("the poller's refusal does not name keep_days: %s", out);
    assert_true(spool_has("done", "20251105-within-keeping.json"));
}

/* Whether the workview (the caller's own, or the queue's) lists the step in Incoming work. */
/* Restricts the person's record as system support, for one of seed 002's reasons, to review in 2030. */
static void restrict_record(const char *person, const char *reason)
{
    char path[96], body[96];
    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", person);
    snprintf(body, sizeof(body), "{\"reason\":\"%s\",\"review_date\":\"2030-01-01\"}", reason);
    json_decref(testenv_call_json(testenv, support, "PUT", path, body, 200));
}

/* The item of the folder of the workview (query: "?queue=cp-is-worker", "" for the caller's own)
 * whose key is id, newest first from a page of 200; a new reference, or NULL. */
static json_t *workview_item(const char *token, const char *query, const char *folder, const char *key,
                             const char *id)
{
    char path[200];
    snprintf(path, sizeof(path), "/api/v1/workview%s%sfolder=%s&limit=200", query, query[0] ? "&" : "?",
             folder);
    json_t *wv = testenv_call_json(testenv, token, "GET", path, NULL, 200);
    json_t *found = NULL, *item;
    size_t i;
    json_array_foreach(json_object_get(json_object_get(json_object_get(wv, "folders"), folder), "items"), i,
                       item)
    {
        if (found == NULL && strcmp(testenv_str(item, key), id) == 0)
            found = json_incref(item);
    }
    json_decref(wv);
    return found;
}

/* The instant (an RFC 3339 text) as the office clock shows it, dd/mm/yyyy HH:MM, asked of the server
 * (Europe/London: the suite's workflow.timezone). */
static void office_time(const char *instant, char out[32])
{
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT to_char(timestamptz '%s' AT TIME ZONE 'Europe/London', 'DD/MM/YYYY HH24:MI')", instant);
    assert_int_equal(testenv_psql(testenv, NULL, sql, out, 32), 0);
    out[strcspn(out, "\n")] = '\0';
}

/* Seed 003: every notification starts a step titled "CPIS Follow Up" about the child. Two about one
 * child (an A&E attendance, then an NHS 111 call) read the same in the CP-IS Worker queue until each
 * is opened: each item now says its care setting and when the record was accessed (on the office
 * clock), from the step's section 1, where the time of access is kept too; so do the requests the
 * desk sends the key worker, in their Incoming requests. */
static void test_two_notifications_for_one_child_are_told_apart_in_the_cp_is_worker_queue(void **state)
{
    (void)state;
    char kw[32], child[32], nhs[11];
    snprintf(kw, sizeof(kw), "%ld", worker_id("key.worker"));
    testenv_new_nhs_number(nhs);
    add_child("Amos", "Twicewell", "male", "2015-04-04", nhs, kw, child);
    char created_ed[32], accessed_ed[32], created_111[32], accessed_111[32];
    snprintf(created_ed, sizeof(created_ed), "%sT09:20:00Z", day);
    snprintf(accessed_ed, sizeof(accessed_ed), "%sT09:05:00Z", day);
    snprintf(created_111, sizeof(created_111), "%sT15:40:00Z", day);
    snprintf(accessed_111, sizeof(accessed_111), "%sT15:31:00Z", day);
    char *ed = access_at("N-APART-ED", nhs, created_ed, accessed_ed, "emergency-department",
                         "Royal Derbyshire ED", "Alex Wardley");
    char *call =
        access_at("N-APART-111", nhs, created_111, accessed_111, "nhs-111", "DHU 111", "Robin Callhand");
    json_decref(post_notification(ed));
    json_decref(post_notification(call));
    free(ed);
    free(call);

    char *sa = testenv_login(testenv, "safeguarding.admin");
    json_t *step_ed = step_for(sa, "N-APART-ED"), *step_111 = step_for(sa, "N-APART-111");
    char id_ed[32], id_111[32];
    snprintf(id_ed, sizeof(id_ed), "%s", testenv_str(step_ed, "id"));
    snprintf(id_111, sizeof(id_111), "%s", testenv_str(step_111, "id"));
    /* The time of access is the notification's, kept in section 1 as the other facts are. */
    char kept[40];
    snprintf(kept, sizeof(kept), "%sT09:05:00.000Z", day);
    assert_string_equal(testenv_str(section_data(step_ed, "1"), "accessed_at"), kept);

    char when_ed[32], when_111[32], summary_ed[96], summary_111[96];
    office_time(accessed_ed, when_ed);
    office_time(accessed_111, when_111);
    snprintf(summary_ed, sizeof(summary_ed), "Emergency department, %s", when_ed);
    snprintf(summary_111, sizeof(summary_111), "NHS 111 (e.g. DHU), %s", when_111);
    json_t *item_ed = workview_item(sa, "?queue=cp-is-worker", "incoming_work", "step_id", id_ed);
    json_t *item_111 = workview_item(sa, "?queue=cp-is-worker", "incoming_work", "step_id", id_111);
    assert_non_null(item_ed);
    assert_non_null(item_111);
    /* The same title and child, as the seed shows them; told apart by the summary. */
    assert_string_equal(testenv_str(item_ed, "title"), "CPIS Follow Up");
    assert_string_equal(testenv_str(item_111, "title"), "CPIS Follow Up");
    assert_string_equal(testenv_str(json_object_get(item_ed, "subject"), "title"),
                        testenv_str(json_object_get(item_111, "subject"), "title"));
    assert_string_equal(testenv_str(item_ed, "summary"), summary_ed);
    assert_string_equal(testenv_str(item_111, "summary"), summary_111);
    json_decref(item_ed);
    json_decref(item_111);

    /* Sent on to the key worker, the two requests are told apart in their Incoming requests too. */
    char rid_ed[32], rid_111[32];
    complete_section_1(sa, step_ed);
    send_to_key_worker(sa, id_ed, kw, NULL, rid_ed);
    complete_section_1(sa, step_111);
    send_to_key_worker(sa, id_111, kw, NULL, rid_111);
    json_decref(step_ed);
    json_decref(step_111);
    char *kwt = testenv_login(testenv, "key.worker");
    item_ed = workview_item(kwt, "", "incoming_requests", "request_id", rid_ed);
    item_111 = workview_item(kwt, "", "incoming_requests", "request_id", rid_111);
    assert_non_null(item_ed);
    assert_non_null(item_111);
    assert_string_equal(testenv_str(item_ed, "summary"), summary_ed);
    assert_string_equal(testenv_str(item_111, "summary"), summary_111);
    json_decref(item_ed);
    json_decref(item_111);
    free(sa);
    free(kwt);
}

static int in_incoming_work(const char *token, const char *query, const char *step_id)
{
    return testenv_in_folder(testenv, token, query, "incoming_work", "step_id", step_id);
}

/* Seed 002 closes a restricted record to most staff, the CP-IS desk among them; seed 003 has the
 * allocated worker told of the child's attendance. A restricted child's follow-up goes to their key
 * worker, who is told, opens it, and finishes it; with no key worker it goes to system support, who
 * keep access. Neither sits in the desk's queue, where no one who works it could open it. */
static void test_a_restricted_childs_follow_up_goes_to_someone_who_can_open_the_record(void **state)
{
    (void)state;
    char nhs[11], child[32], path[128];
    add_key_workers_child("Rowena", "Shutterworth", "female", "2014-06-06", nhs, child);
    restrict_record(child, "high-risk");
    json_decref(
        post_access("N-RESTRICTED-1", nhs, "emergency-department", "Royal Derbyshire ED", "Alex Wardley"));
    char *kwt = testenv_login(testenv, "key.worker");
    json_t *step = step_for(kwt, "N-RESTRICTED-1");
    char step_id[32];
    snprintf(step_id, sizeof(step_id), "%s", testenv_str(step, "id"));
    assert_string_equal(testenv_str(section_data(step, "1"), "child_name"), "Rowena Shutterworth");
    assert_non_null(
        strstr(testenv_str(section_data(step, "1"), "comments"), "sent to the child's key worker"));
    assert_non_null(strstr(testenv_str(section_data(step, "1"), "comments"),
                           "Record a CP-IS Follow Up case note on the child's record"));
    json_decref(step);
    assert_int_equal(in_incoming_work(kwt, "", step_id), 1);
    char *sa = testenv_login(testenv, "safeguarding.admin");
    assert_int_equal(in_incoming_work(sa, "?queue=cp-is-worker", step_id), 0);
    snprintf(path, sizeof(path), "/api/v1/steps/%s", step_id);
    testenv_call_error(testenv, sa, "GET", path, NULL, 403, "restricted_record", NULL);
    /* Told, with no name in the title and a link to the record. */
    char sql[400];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM notifications.notices WHERE kind = 'cpis-follow-up-to-key-worker'"
             " AND worker_id = %ld AND link = '/people/%s' AND title NOT LIKE '%%Rowena%%'",
             worker_id("key.worker"), child);
    assert_int_equal(wait_count(sql, 1), 1);
    /* The key worker takes it and finishes it, having recorded what was done on the record. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/resume", step_id);
    json_decref(testenv_call_json(testenv, kwt, "POST", path, "{}", 200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", step_id);
    json_decref(testenv_call_json(testenv, kwt, "PUT", path, "{\"data\":{},\"completed\":true}", 200));
    /* Finishing it is what acknowledging the desk's request would have been: an A&E notification
     * asks for a CP-IS Follow Up case note, recorded on the child's record. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/finish", step_id);
    testenv_call_error(testenv, kwt, "POST", path,
                       "{\"next_actions\":[{\"action\":\"cs-no-further-action\",\"reason\":"
                       "\"restricted-record-followed-up-by-key-worker\"}]}",
                       422, "case_note_required", "next_actions[0].case_note");
    testenv_call_error(testenv, kwt, "POST", path,
                       "{\"next_actions\":[{\"action\":\"cs-no-further-action\",\"reason\":"
                       "\"duplicate-notification\",\"case_note\":\"Not with this reason.\"}]}",
                       422, "case_note_not_taken", "next_actions[0].case_note");
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM records.case_notes WHERE person_id = %s AND type = 'cp-is-follow-up'"
             " AND body = 'Saw Rowena at school; the A&E visit was a sprain, no new concerns.'",
             child);
    assert_int_equal(testenv_sql_long(testenv, sql), 0);
    json_t *done =
        testenv_call_json(testenv, kwt, "POST", path,
                          "{\"next_actions\":[{\"action\":\"cs-no-further-action\",\"reason\":"
                          "\"restricted-record-followed-up-by-key-worker\",\"case_note\":"
                          "\"Saw Rowena at school; the A&E visit was a sprain, no new concerns.\"}]}",
                          200);
    assert_string_equal(testenv_str(done, "state"), "completed");
    json_decref(done);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    /* From NHS 111, the case note is needed only if there are concerns. */
    char nhs5[11], fifth[32];
    add_key_workers_child("Hester", "Shutterworth", "female", "2015-08-08", nhs5, fifth);
    restrict_record(fifth, "high-risk");
    json_decref(post_access("N-RESTRICTED-111", nhs5, "nhs-111", "DHU 111", "Pat Caller"));
    step = step_for(kwt, "N-RESTRICTED-111");
    snprintf(step_id, sizeof(step_id), "%s", testenv_str(step, "id"));
    /* Its comment says so too, as the desk's DHU note would have, not that a case note is needed. */
    const char *comments = testenv_str(section_data(step, "1"), "comments");
    assert_non_null(strstr(comments, "No further action is needed unless you have concerns"));
    assert_null(strstr(comments, "Record a CP-IS Follow Up case note"));
    json_decref(step);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/resume", step_id);
    json_decref(testenv_call_json(testenv, kwt, "POST", path, "{}", 200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", step_id);
    json_decref(testenv_call_json(testenv, kwt, "PUT", path,
                                  "{\"data\":{\"setting\":\"nhs-111\",\"location\":\"DHU 111\"},"
                                  "\"completed\":true}",
                                  200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/finish", step_id);
    done = testenv_call_json(testenv, kwt, "POST", path,
                             "{\"next_actions\":[{\"action\":\"cs-no-further-action\",\"reason\":"
                             "\"restricted-record-followed-up-by-key-worker\"}]}",
                             200);
    assert_string_equal(testenv_str(done, "state"), "completed");
    json_decref(done);

    /* No key worker: system support's queue, which system support can open. */
    char nhs2[11], alone[32];
    testenv_new_nhs_number(nhs2);
    add_child("Ansel", "Shutterworth", "male", "2012-02-02", nhs2, NULL, alone);
    restrict_record(alone, "case-review");
    json_decref(post_access("N-RESTRICTED-2", nhs2, "nhs-111", "DHU 111", "Pat Caller"));
    step = step_for(support, "N-RESTRICTED-2");
    snprintf(step_id, sizeof(step_id), "%s", testenv_str(step, "id"));
    assert_non_null(strstr(testenv_str(section_data(step, "1"), "comments"),
                           "those who keep access to restricted records"));
    json_decref(step);
    assert_int_equal(in_incoming_work(support, "?queue=system-support", step_id), 1);
    assert_int_equal(in_incoming_work(sa, "?queue=cp-is-worker", step_id), 0);
    /* System support are told it is there, with no name in the title. */
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM notifications.notices WHERE kind = 'step-received' AND worker_id = %ld"
             " AND link = '/steps/%s' AND title = 'New work: CPIS Follow Up'",
             worker_id("sys.sam"), step_id);
    assert_int_equal(wait_count(sql, 1), 1);

    /* Restricted while its follow-up waits in the CP-IS Worker queue: the follow-up moves to system
     * support's queue, saying why. */
    char nhs4[11], fourth[32];
    add_key_workers_child("Delphine", "Shutterworth", "female", "2013-05-05", nhs4, fourth);
    json_decref(
        post_access("N-RESTRICTED-4", nhs4, "emergency-department", "Royal Derbyshire ED", "Alex Wardley"));
    step = step_for(sa, "N-RESTRICTED-4");
    snprintf(step_id, sizeof(step_id), "%s", testenv_str(step, "id"));
    json_decref(step);
    assert_int_equal(in_incoming_work(sa, "?queue=cp-is-worker", step_id), 1);
    restrict_record(fourth, "high-risk");
    snprintf(
        sql, sizeof(sql),
        "SELECT count(*) FROM workflow.steps s JOIN workflow.step_history h ON h.step_id = s.id"
        " WHERE s.id = %s AND s.owner = 'v:system-support' AND s.folder = 'incoming'"
        " AND h.action = 'assigned' AND h.detail LIKE 'Moved to System Support: the record was restricted%%'",
        step_id);
    assert_int_equal(wait_count(sql, 1), 1);
    assert_int_equal(in_incoming_work(support, "?queue=system-support", step_id), 1);
    assert_int_equal(in_incoming_work(sa, "?queue=cp-is-worker", step_id), 0);

    /* A key worker the workflow daemon cannot send it to (here: their leaving reached it before
     * records): the follow-up is not lost, it starts where a restricted child's follow-up with no
     * key worker does, in system support's queue. */
    char nhs3[11], third[32], out[200], sql2[200];
    add_key_workers_child("Cosima", "Shutterworth", "female", "2016-03-03", nhs3, third);
    snprintf(sql2, sizeof(sql2), "UPDATE workflow.workers SET ended = true WHERE id = %ld",
             worker_id("key.worker"));
    assert_int_equal(testenv_psql(testenv, NULL, sql2, out, sizeof(out)), 0);
    restrict_record(third, "high-profile");
    json_decref(
        post_access("N-RESTRICTED-3", nhs3, "emergency-department", "Royal Derbyshire ED", "Alex Wardley"));
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.requested_steps r JOIN workflow.steps s ON s.id = r.step_id"
             " WHERE r.dedupe_key LIKE 'cpis:N-RESTRICTED-3:%%' AND s.owner = 'v:system-support'");
    long queued = wait_count(sql, 1);
    snprintf(sql2, sizeof(sql2), "UPDATE workflow.workers SET ended = false WHERE id = %ld",
             worker_id("key.worker"));
    assert_int_equal(testenv_psql(testenv, NULL, sql2, out, sizeof(out)), 0);
    assert_int_equal(queued, 1);
    free(sa);
    free(kwt);
}

/* The wait for a step asked for by a notification, and where it went (its owner), or "" if none. */
static void follow_up_owner(const char *notification_id, char owner[64])
{
    char sql[300], out[64];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.requested_steps WHERE dedupe_key LIKE 'cpis:%s:%%'",
             notification_id);
    assert_int_equal(wait_count(sql, 1), 1);
    snprintf(sql, sizeof(sql),
             "SELECT s.owner FROM workflow.requested_steps r JOIN workflow.steps s ON s.id = r.step_id"
             " WHERE r.dedupe_key LIKE 'cpis:%s:%%'",
             notification_id);
    assert_int_equal(testenv_psql(testenv, NULL, sql, out, sizeof(out)), 0);
    snprintf(owner, 64, "%s", out);
}

/* cpis matched the child before the record was restricted, and the restriction reached the workflow
 * daemon before the follow-up did (records and cpis are two producers, each in its own order): the
 * follow-up still does not wait where the CP-IS desk cannot open it. Here the order is forced: the
 * workflow daemon is stopped while the notification is accepted, and cpis is held (SIGSTOP) while the
 * workflow daemon starts and applies the restriction. A record whose restriction is lifted is followed
 * up by the desk again; one started by hand goes to System Support, and a person cannot send a
 * restricted child's follow-up to the desk; and a restricted duplicate merged into a child makes the child's
 * waiting follow-up move. */
static void test_a_restriction_arriving_before_its_follow_up_still_keeps_it_from_the_desk(void **state)
{
    (void)state;
    char nhs[11], child[32], path[128], sql[400], owner[64];
    testenv_new_nhs_number(nhs);
    add_child("Ivo", "Latecomer", "male", "2015-04-04", nhs, NULL, child);
    testenv_kill(testenv, "workflow", SIGTERM);
    assert_int_equal(testenv_wait_exit(testenv, "workflow", 15000), 0);
    json_decref(
        post_access("N-RESTRICTED-5", nhs, "emergency-department", "Royal Derbyshire ED", "Alex Wardley"));
    testenv_kill(testenv, "cpis", SIGSTOP);
    restrict_record(child, "high-risk");
    testenv_start_alone(testenv, "workflow");
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM workflow.restricted_people WHERE person_id = %s", child);
    long known = wait_count(sql, 1);
    long early = testenv_sql_long(
        testenv,
        "SELECT count(*) FROM workflow.requested_steps WHERE dedupe_key LIKE 'cpis:N-RESTRICTED-5:%'");
    testenv_kill(testenv, "cpis", SIGCONT);
    assert_int_equal(known, 1);
    assert_int_equal(early, 0);
    follow_up_owner("N-RESTRICTED-5", owner);
    assert_string_equal(owner, "v:system-support");
    snprintf(
        sql, sizeof(sql),
        "SELECT count(*) FROM workflow.requested_steps r JOIN workflow.step_history h ON h.step_id = "
        "r.step_id"
        " WHERE r.dedupe_key LIKE 'cpis:N-RESTRICTED-5:%%' AND h.action = 'started'"
        " AND h.detail = 'Sent to System Support: the record is restricted, and the CP-IS Worker queue''s"
        " workers cannot open it'");
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    testenv_wait_ready(testenv); /* the suite answers again, cpis included */

    /* Lifted: the desk follows the child up again. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", child);
    testenv_response_t lifted = testenv_http(testenv, "DELETE", path, support, NULL, NULL);
    assert_int_equal(lifted.status, 204);
    testenv_response_free(&lifted);
    snprintf(sql, sizeof(sql), "SELECT 1 - count(*) FROM workflow.restricted_people WHERE person_id = %s",
             child);
    assert_int_equal(wait_count(sql, 1), 1);
    json_decref(post_access("N-RESTRICTED-6", nhs, "nhs-111", "DHU 111", "Pat Caller"));
    follow_up_owner("N-RESTRICTED-6", owner);
    assert_string_equal(owner, "v:cp-is-worker");

    /* Restricted again (its waiting follow-up moves), a person cannot send it back, nor start one for
     * the desk by hand; they are told where it can go. */
    restrict_record(child, "high-risk");
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.requested_steps r JOIN workflow.steps s ON s.id = r.step_id"
             " WHERE r.dedupe_key LIKE 'cpis:N-RESTRICTED-6:%%' AND s.owner = 'v:system-support'");
    assert_int_equal(wait_count(sql, 1), 1);
    snprintf(sql, sizeof(sql),
             "SELECT step_id FROM workflow.requested_steps WHERE dedupe_key LIKE 'cpis:N-RESTRICTED-6:%%'");
    long step_id = testenv_sql_long(testenv, sql);
    snprintf(path, sizeof(path), "/api/v1/steps/%ld/assign", step_id);
    testenv_response_t r =
        testenv_http(testenv, "POST", path, support, "{\"virtual_worker\":\"cp-is-worker\"}", NULL);
    testenv_assert_error(&r, 422, "recipient_has_no_access");
    assert_non_null(strstr(r.body, "Send it to System Support"));
    testenv_response_free(&r);
    follow_up_owner("N-RESTRICTED-6", owner);
    assert_string_equal(owner, "v:system-support");
    /* Started by hand, it goes where the definition starts it unless the record is restricted: then
     * to System Support's queue. The desk's queue chosen by name is refused, saying where to send it. */
    char body[300];
    snprintf(body, sizeof(body),
             "{\"type\":\"cpis-follow-up\",\"subject\":{\"kind\":\"person\",\"id\":\"%s\"},"
             "\"assign_to\":{\"virtual_worker\":\"cp-is-worker\"}}",
             child);
    long steps_before = testenv_sql_long(testenv, "SELECT count(*) FROM workflow.steps");
    testenv_call_error(testenv, support, "POST", "/api/v1/steps", body, 422, "recipient_has_no_access",
                       "to.virtual_worker");
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM workflow.steps"), steps_before);
    snprintf(body, sizeof(body),
             "{\"type\":\"cpis-follow-up\",\"subject\":{\"kind\":\"person\",\"id\":\"%s\"}}", child);
    json_t *by_hand = testenv_call_json(testenv, support, "POST", "/api/v1/steps", body, 201);
    assert_string_equal(testenv_str(json_object_get(by_hand, "assigned_to"), "key"), "system-support");
    json_decref(by_hand);

    /* A restricted duplicate merged into a child whose follow-up waits for the desk: records makes
     * the child restricted, and the follow-up moves. */
    char nhs2[11], kept[32], dup[32];
    testenv_new_nhs_number(nhs2);
    add_child("Juno", "Latecomer", "female", "2016-05-05", nhs2, NULL, kept);
    json_decref(post_access("N-RESTRICTED-7", nhs2, "nhs-111", "DHU 111", "Pat Caller"));
    follow_up_owner("N-RESTRICTED-7", owner);
    assert_string_equal(owner, "v:cp-is-worker");
    testenv_add_person(testenv, admin, "Juno", "Latecomer", "2016-05-05", dup);
    restrict_record(dup, "high-risk");
    snprintf(path, sizeof(path), "/api/v1/people/%s/merge", kept);
    snprintf(body, sizeof(body), "{\"duplicate_id\":\"%s\"}", dup);
    json_decref(testenv_call_json(testenv, admin, "POST", path, body, 200));
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.requested_steps r JOIN workflow.steps s ON s.id = r.step_id"
             " JOIN workflow.step_history h ON h.step_id = s.id"
             " WHERE r.dedupe_key LIKE 'cpis:N-RESTRICTED-7:%%' AND s.owner = 'v:system-support'"
             " AND h.action = 'assigned' AND h.detail LIKE 'Moved to System Support: the record was "
             "restricted%%'");
    assert_int_equal(wait_count(sql, 1), 1);
}

/* A sample of the poller's metrics file, as a node exporter's textfile collector reads it; -1 when
 * the file or the sample is not there. */
static double poller_metric(const char *name)
{
    char path[400], text[8192] = "";
    snprintf(path, sizeof(path), "%s/spine-poller.prom", testenv->dir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    return testenv_metric_in(text, name, NULL);
}

/* What ops watch (docs/OPERATIONS.md, section 3): a poller that stops, files set aside, and
 * notifications waiting in the error queue each show in a gauge, so that none waits unseen. */
static void test_the_feeds_pulse_and_its_error_queue_show_in_gauges_for_ops(void **state)
{
    (void)state;
    double started = (double)time(NULL);
    /* The error queue's gauges are set every cpis.metrics_ms (30 s by default). */
    testenv_restart_with(testenv, "cpis", "TESSERA_CPIS_METRICS_MS", "100");
    double before = -1;
    for (int i = 0; i < 100 && before < 0; i++, usleep(100 * 1000))
        before = testenv_metric(testenv, "tessera_cpis_error_queue_items", "source=\"notification\"");
    assert_true(before >= 0);
    assert_true(testenv_metric(testenv, "tessera_cpis_error_queue_items", "source=\"plan-export\"") >= 0);
    /* Earlier tests sent batches: the daemon, restarted, reads when the last one came. */
    double last = -1;
    for (int i = 0; i < 100 && last <= 0; i++, usleep(100 * 1000))
        last = testenv_metric(testenv, "tessera_cpis_last_batch_received_timestamp_seconds", NULL);
    assert_true(last > 0);

    char unknown[11], *a = NULL;
    testenv_new_nhs_number(unknown);
    char *n1 = access_json("N-GAUGE-UNK", unknown, "nhs-111", "DHU 111", "Pat Gauger");
    char *n2 = access_json("N-GAUGE-BAD", "1234567890", "nhs-111", "DHU 111", "Pat Gauger");
    assert_true(asprintf(&a, "{\"notifications\":[%s,%s]}", n1, n2) > 0);
    write_spool("20260111-gauges.json", a);
    write_spool("20260111-gauges-text.json", "no notifications today\n");
    assert_int_equal(run_poller(500), 0);
    /* The poller's pass: ended now, whole, nothing left to send, the text file set aside. */
    assert_true(poller_metric("tessera_spine_poller_last_run_timestamp_seconds") >= started);
    assert_true(poller_metric("tessera_spine_poller_last_success_timestamp_seconds") >= started);
    assert_int_equal((int)poller_metric("tessera_spine_poller_last_run_ok"), 1);
    assert_int_equal((int)poller_metric("tessera_spine_poller_files_waiting"), 0);
    assert_true(poller_metric("tessera_spine_poller_files_rejected") >= 1);
    /* cpis: the batch's arrival, and its two faults and the file set aside in the error queue. */
    assert_true(testenv_metric(testenv, "tessera_cpis_last_batch_received_timestamp_seconds", NULL) >=
                started);
    double now = before;
    for (int i = 0; i < 100 && now < before + 3; i++, usleep(100 * 1000))
        now = testenv_metric(testenv, "tessera_cpis_error_queue_items", "source=\"notification\"");
    assert_true(now >= before + 3);
    assert_true(testenv_metric(testenv, "tessera_cpis_error_queue_oldest_age_seconds",
                               "source=\"notification\"") >= 0);

    /* A pass that cannot reach the gateway: the last success stays where it was, and says so. */
    double success = poller_metric("tessera_spine_poller_last_success_timestamp_seconds");
    write_spool("20260111-gauges-late.json", a);
    testenv_kill(testenv, "gateway", SIGSTOP);
    char config[400], log[400];
    snprintf(config, sizeof(config), "%s/poller.conf", testenv->dir);
    snprintf(log, sizeof(log), "%s/logs/spine-poller.log", testenv->dir);
    /* The gateway's port, held and unanswered, until the poller's request times out: 1 s here. */
    FILE *f = fopen(config, "a");
    assert_non_null(f);
    fputs("timeout_s = 1\n", f);
    fclose(f);
    char cmd[1000];
    snprintf(cmd, sizeof(cmd), "%s/tessera-spine-poller --config %s --once 2>>%s", TSR_BIN_DIR, config, log);
    int rc = system(cmd);
    testenv_kill(testenv, "gateway", SIGCONT);
    assert_int_not_equal(rc, 0);
    assert_int_equal((int)poller_metric("tessera_spine_poller_last_run_ok"), 0);
    assert_true(poller_metric("tessera_spine_poller_last_success_timestamp_seconds") == success);
    assert_int_equal((int)poller_metric("tessera_spine_poller_files_waiting"), 1);
    assert_int_equal(run_poller(500), 0);
    assert_int_equal((int)poller_metric("tessera_spine_poller_files_waiting"), 0);
    free(a);
    free(n1);
    free(n2);
}

/* The Spine connection should write a file aside and rename it into the spool; one that writes it in
 * place (half a batch so far, or nothing yet) had it read half-written, set aside as not a batch and
 * its notifications never sent, while the writer went on writing into the file set aside. Modified
 * less than spine_poller.settle_ms ago, a file now waits in the spool, neither set aside nor in the
 * error queue, and the pass is no failure; settled, the next pass sends it whole. A settle_ms that is
 * not a number of milliseconds stops the poller naming the setting. */
static void test_a_file_still_being_written_waits_in_the_spool_until_it_settles_then_is_sent(void **state)
{
    (void)state;
    char nhs[11], child[32];
    add_key_workers_child("Wren", "Writewell", "female", "2017-04-09", nhs, child);
    char *batch = notifications_batch("N-SETTLE-%d", 3, nhs, "emergency-department", "Royal Derbyshire ED",
                                      "Sam Settler");
    size_t half = strlen(batch) / 2;
    char path[400];
    snprintf(path, sizeof(path), "%s/20260112-writing.json", spool);
    FILE *writer = fopen(path, "w");
    assert_non_null(writer);
    assert_int_equal(fwrite(batch, 1, half, writer), half);
    assert_int_equal(fflush(writer), 0);
    write_spool("20260112-created.json", "");

    /* Both modified just now, with a minute to settle: both wait, nothing is set aside or queued. */
    assert_int_equal(run_poller_settling(500, 60000), 0);
    assert_true(spool_has("", "20260112-writing.json"));
    assert_true(spool_has("", "20260112-created.json"));
    assert_false(spool_has("rejected", "20260112-writing.json"));
    assert_false(spool_has("rejected", "20260112-created.json"));
    json_t *errors = open_errors();
    assert_null(error_naming(errors, "unreadable_file", "20260112-writing.json"));
    assert_null(error_naming(errors, "unreadable_file", "20260112-created.json"));
    json_decref(errors);
    assert_int_equal((int)poller_metric("tessera_spine_poller_files_waiting"), 2);
    assert_int_equal((int)poller_metric("tessera_spine_poller_last_run_ok"), 1);

    /* The writer finishes, and the file lies unmodified past its minute: the next pass sends it
     * whole, and each notification reaches the CP-IS Worker. The file just made still waits. */
    assert_true(fputs(batch + half, writer) >= 0);
    assert_int_equal(fclose(writer), 0);
    age_spool_file_seconds("", "20260112-writing.json", 61);
    assert_int_equal(run_poller_settling(500, 60000), 0);
    assert_true(spool_has("done", "20260112-writing.json"));
    assert_false(spool_has("", "20260112-writing.json"));
    assert_int_equal(
        wait_count("SELECT count(*) FROM workflow.requested_steps WHERE dedupe_key LIKE 'cpis:N-SETTLE-%'",
                   3),
        3);
    assert_true(spool_has("", "20260112-created.json"));
    assert_int_equal((int)poller_metric("tessera_spine_poller_files_waiting"), 1);

    /* Still empty once settled, it is what it seems: not a batch, set aside. */
    age_spool_file_seconds("", "20260112-created.json", 61);
    assert_int_equal(run_poller_settling(500, 60000), 0);
    assert_true(spool_has("rejected", "20260112-created.json"));
    free(batch);

    char out[2000] = "";
    assert_int_equal(run_poller_refusing("bad-settle", "settle_ms = ten seconds", out, sizeof(out)), 2);
    if (strstr(out, "spine_poller.settle_ms") == NULL)
        fail_msg("the poller's refusal does not name settle_ms: %s", out);
    assert_int_equal(run_poller_refusing("long-settle", "settle_ms = 3600001", out, sizeof(out)), 2);
    if (strstr(out, "spine_poller.settle_ms") == NULL)
        fail_msg("the poller's refusal does not name settle_ms: %s", out);
}

/* The poller in loop mode, reading the spool every hour: a part the gateway could not take (the
 * cpis daemon not answering: 503) is sent again within seconds (retry_seconds), not at the next
 * pass. It waited the whole interval, six hours at the default, for a child's A&E attendance to
 * reach the CP-IS Worker after a moment's outage. */
static void test_notifications_kept_back_by_an_outage_are_sent_again_in_seconds_not_hours(void **state)
{
    (void)state;
    char nhs[11], child[32];
    add_key_workers_child("Rory", "Retryfield", "male", "2016-05-05", nhs, child);
    char *batch =
        notifications_batch("N-RETRY-%d", 2, nhs, "emergency-department", "Royal Derbyshire ED", "Rae Retry");
    write_spool("20260114-retry.json", batch);
    free(batch);

    char config[400], log[400];
    snprintf(config, sizeof(config), "%s/poller-loop.conf", testenv->dir);
    snprintf(log, sizeof(log), "%s/logs/spine-poller.log", testenv->dir);
    write_poller_config(config, 500, 0, TESTENV_SERVICE_PASSWORD);
    FILE *f = fopen(config, "r");
    assert_non_null(f);
    char text[4096];
    size_t len = fread(text, 1, sizeof(text) - 1, f);
    text[len] = '\0';
    fclose(f);
    char *interval = strstr(text, "interval_minutes = 1\n");
    assert_non_null(interval);
    f = fopen(config, "w");
    assert_non_null(f);
    fprintf(f, "%.*sinterval_minutes = 60\nretry_seconds = 1\n%s", (int)(interval - text), text,
            interval + strlen("interval_minutes = 1\n"));
    fclose(f);

    long offset = poller_log_size();
    testenv_kill(testenv, "cpis", SIGSTOP);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *out = freopen(log, "a", stderr);
        (void)out;
        execl(TSR_BIN_DIR "/tessera-spine-poller", "tessera-spine-poller", "--config", config, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 300 && poller_log_count(offset, "were kept back") == 0; i++)
        usleep(100 * 1000);
    testenv_kill(testenv, "cpis", SIGCONT);
    assert_true(poller_log_count(offset, "were kept back") > 0);
    assert_true(spool_has("", "20260114-retry.json"));

    for (int i = 0; i < 300 && !spool_has("done", "20260114-retry.json"); i++)
        usleep(100 * 1000);
    int sent = spool_has("done", "20260114-retry.json");
    kill(pid, SIGTERM);
    int status;
    waitpid(pid, &status, 0);
    assert_true(sent);
    assert_int_equal(
        wait_count("SELECT count(*) FROM workflow.requested_steps WHERE dedupe_key LIKE 'cpis:N-RETRY-%'", 2),
        2);
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM workflow.requested_steps WHERE "
                                               "dedupe_key LIKE 'cpis:N-RETRY-%'"),
                     2);
}

/* A poller given a wrong password signed in again for every file, six wrong passwords a pass with
 * six files: in the second pass sign-in under the account was paused (accounts.sign_in_attempts),
 * and even the right password was refused for a quarter of an hour. Now the refusal ends the pass:
 * one wrong password a pass, said once, naming the account; every file waits in the spool
 * untouched, and the pass fails as when the gateway is down. */
static void test_a_wrong_password_is_tried_once_a_pass_and_the_account_is_not_paused(void **state)
{
    (void)state;
    char nhs[11], child[32];
    add_key_workers_child("Percy", "Passwell", "male", "2018-02-14", nhs, child);
    char name[64], id[32];
    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof(id), "N-PASSWORD-%d-%%d", i);
        char *batch = notifications_batch(id, 1, nhs, "nhs-111", "DHU 111", "Pat Passmore");
        snprintf(name, sizeof(name), "20260113-password-%d.json", i);
        write_spool(name, batch);
        free(batch);
    }
    const char *failures = "SELECT coalesce(sum(failures), 0) FROM accounts.sign_in_failures"
                           " WHERE username = 'cpis.poller'";
    long from = poller_log_size();
    for (int pass = 1; pass <= 2; pass++) {
        assert_int_equal(run_poller_with(500, 0, "not-the-poller-password"), 1);
        assert_int_equal(testenv_sql_long(testenv, failures), pass);
        assert_int_equal((int)poller_metric("tessera_spine_poller_last_run_ok"), 0);
        assert_int_equal((int)poller_metric("tessera_spine_poller_files_waiting"), 6);
    }
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof(name), "20260113-password-%d.json", i);
        assert_true(spool_has("", name));
        assert_false(spool_has("done", name));
        assert_false(spool_has("rejected", name));
    }
    assert_int_equal(poller_log_count(from, "as cpis.poller was refused (401)"), 2);
    if (poller_log_count(from, "spine_poller.password") != 2)
        fail_msg("the poller's refusal does not say the password is at fault");

    /* Not paused: the right password signs in, and the files go. */
    free(testenv_login_with(testenv, "cpis.poller", TESTENV_SERVICE_PASSWORD));
    assert_int_equal(run_poller(500), 0);
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof(name), "20260113-password-%d.json", i);
        assert_true(spool_has("done", name));
    }
    assert_int_equal(
        wait_count("SELECT count(*) FROM workflow.requested_steps WHERE dedupe_key LIKE 'cpis:N-PASSWORD-%'",
                   6),
        6);
}

/* A sign-in under username with password from anyone (no token); its status. */
static long stranger_signs_in(const char *username, const char *password)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", username, password);
    testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/session", NULL, body, NULL);
    long status = r.status;
    if (status == 401)
        testenv_assert_error(&r, 401, "invalid_credentials");
    testenv_response_free(&r);
    return status;
}

/* F: anyone could stop the feed. Ten wrong passwords for the poller's account at POST /api/v1/session,
 * from a client with no token, paused signing in under it (accounts.sign_in_attempts): the poller was
 * refused (403 sign_in_paused) and held back the A&E and 111 notifications about children on plans
 * until system support lifted the pause, and ten more every quarter of an hour kept it out for good.
 * A service account's password is a generated secret of 32 characters or more, which no one finds by
 * trying, so wrong passwords do not pause it; each is still counted, and logged at every ten in a row.
 * A worker's account is paused as before. */
static void test_a_strangers_wrong_passwords_do_not_stop_the_feed_and_still_pause_a_worker(void **state)
{
    (void)state;
    char nhs[11], child[32], id[32];
    add_key_workers_child("Stella", "Strangeways", "female", "2017-05-09", nhs, child);
    char *batch = notifications_batch("N-STRANGER-%d", 1, nhs, "nhs-111", "DHU 111", "Pat Passmore");
    write_spool("20260115-stranger.json", batch);
    free(batch);
    testenv_add_worker(testenv, admin, "wes.worker", "Wes Worker", "\"roles\":[\"social-worker\"]", id);
    double before = testenv_metric(testenv, "tessera_accounts_service_sign_in_failures_total", NULL);
    for (int i = 0; i < 12; i++) {
        assert_int_equal(stranger_signs_in("cpis.poller", "a-strangers-guess"), 401);
        assert_int_equal(stranger_signs_in("wes.worker", "a-strangers-guess"), i < 10 ? 401 : 403);
    }
    /* The worker is paused: the right password too is refused. */
    assert_int_equal(stranger_signs_in("wes.worker", "tessera-demo"), 403);
    /* Every wrong password under the poller's account was kept, and said. */
    assert_int_equal(
        testenv_sql_long(testenv,
                         "SELECT failures FROM accounts.sign_in_failures WHERE username = 'cpis.poller'"),
        12);
    assert_true(testenv_log_has(testenv, "accounts",
                                "10 wrong passwords in a row under service account 'cpis.poller'"));
    double after = testenv_metric(testenv, "tessera_accounts_service_sign_in_failures_total", NULL);
    assert_true(after - (before > 0 ? before : 0) >= 12);
    /* The poller's account is not paused: it signs in, and the poller delivers the file. */
    free(testenv_login_with(testenv, "cpis.poller", TESTENV_SERVICE_PASSWORD));
    assert_int_equal(run_poller(500), 0);
    assert_true(spool_has("done", "20260115-stranger.json"));
    assert_int_equal(
        wait_count("SELECT count(*) FROM workflow.requested_steps WHERE dedupe_key LIKE 'cpis:N-STRANGER-%'",
                   1),
        1);
}

/* A poller of a test's own, beside the suite's: its spool (made empty), password file (mode 600,
 * holding password), metrics file and log, all named after name in the suite's directory; the
 * suite's settings with gateway_url url (NULL: the gateway's) and the extra lines. Its configuration's
 * path in config. */
static void own_poller(const char *name, const char *url, const char *password, const char *extra,
                       char config[400])
{
    char dir[300], path[400], text[2000];
    snprintf(dir, sizeof(dir), "%s/%s", testenv->dir, name);
    mkdir(dir, 0700);
    snprintf(path, sizeof(path), "%s.password", dir);
    snprintf(text, sizeof(text), "%s\n", password);
    write_file(path, text);
    assert_int_equal(chmod(path, 0600), 0);
    testenv_response_t r = testenv_http(testenv, "GET", "/healthz", NULL, NULL, NULL);
    testenv_response_free(&r);
    pthread_mutex_lock(&testenv->lock);
    snprintf(text, sizeof(text),
             "[spine_poller]\nspool_dir = %s\ngateway_url = %s\nusername = cpis.poller\npassword_file = %s\n"
             "settle_ms = 0\nmetrics_file = %s.prom\n%s",
             dir, url ? url : testenv->base_url, path, dir, extra ? extra : "");
    pthread_mutex_unlock(&testenv->lock);
    snprintf(config, 400, "%s.conf", dir);
    write_file(config, text);
}

/* Runs a poller of own_poller's once; its exit status, and what it said (its log) in out. */
static int run_own_poller(const char *name, const char *config, char *out, size_t size)
{
    char log[400], cmd[1200];
    snprintf(log, sizeof(log), "%s/%s.log", testenv->dir, name);
    snprintf(cmd, sizeof(cmd), "%s/tessera-spine-poller --config %s --once 2>%s", TSR_BIN_DIR, config, log);
    int status = system(cmd);
    assert_true(WIFEXITED(status));
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    size_t got = fread(out, 1, size - 1, f);
    out[got] = '\0';
    fclose(f);
    return WEXITSTATUS(status);
}

/* A sample of a poller of own_poller's metrics file; -1 when there is none. */
static double own_poller_metric(const char *name, const char *metric)
{
    char path[400], text[8192] = "";
    snprintf(path, sizeof(path), "%s/%s.prom", testenv->dir, name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    return testenv_metric_in(text, metric, NULL);
}

/* A poller that could not reach the gateway (nothing listening there), or whose password was wrong,
 * passed with an empty spool: exit 0, nothing logged, last_run_ok 1 and a fresh last success, so the
 * alert on the last success (docs/OPERATIONS.md, section 3) could fire only once a child's
 * notification had been held up, twelve hours at the default. Each pass now signs in, files or none:
 * one that cannot fails, saying why, and its last success stays where it was. A gateway_url that is
 * no http(s) address stops the start, naming the setting. A pass leaves no session open behind it. */
static void
test_a_pass_that_cannot_reach_or_sign_in_to_the_gateway_fails_even_with_an_empty_spool(void **state)
{
    (void)state;
    const char *open_sessions = "SELECT count(*) FROM gateway.sessions WHERE username = 'cpis.poller'"
                                " AND ended_at IS NULL AND expires_at > now()";
    char config[400], out[8192];
    double started = (double)time(NULL);
    long sessions = testenv_sql_long(testenv, open_sessions);
    own_poller("empty", NULL, TESTENV_SERVICE_PASSWORD, NULL, config);
    assert_int_equal(run_own_poller("empty", config, out, sizeof(out)), 0);
    assert_int_equal((int)own_poller_metric("empty", "tessera_spine_poller_last_run_ok"), 1);
    double success = own_poller_metric("empty", "tessera_spine_poller_last_success_timestamp_seconds");
    assert_true(success >= started);
    assert_int_equal(testenv_sql_long(testenv, open_sessions), sessions);

    /* The password file wrong: refused, said, and the pass fails. */
    own_poller("empty", NULL, "not-the-poller-password", NULL, config);
    assert_int_equal(run_own_poller("empty", config, out, sizeof(out)), 1);
    if (strstr(out, "as cpis.poller was refused (401)") == NULL)
        fail_msg("the poller did not say its sign-in was refused: %s", out);
    assert_int_equal((int)own_poller_metric("empty", "tessera_spine_poller_last_run_ok"), 0);
    assert_true(own_poller_metric("empty", "tessera_spine_poller_last_success_timestamp_seconds") == success);

    /* Nothing listening at gateway_url. */
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", testenv_free_port());
    own_poller("empty", url, TESTENV_SERVICE_PASSWORD, NULL, config);
    assert_int_equal(run_own_poller("empty", config, out, sizeof(out)), 1);
    if (strstr(out, "cannot reach the gateway at http://127.0.0.1:") == NULL ||
        strstr(out, "\"level\":\"error\"") == NULL)
        fail_msg("the poller did not say at error that the gateway cannot be reached: %s", out);
    assert_int_equal((int)own_poller_metric("empty", "tessera_spine_poller_last_run_ok"), 0);
    assert_true(own_poller_metric("empty", "tessera_spine_poller_last_success_timestamp_seconds") == success);

    /* Not an address of the gateway at all: the poller does not start. */
    const char *wrong[] = {"ftp://nonsense", "127.0.0.1:8080", "http://", "http://127.0.0.1:0"};
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        own_poller("empty", wrong[i], TESTENV_SERVICE_PASSWORD, NULL, config);
        assert_int_equal(run_own_poller("empty", config, out, sizeof(out)), 2);
        if (strstr(out, "spine_poller.gateway_url") == NULL)
            fail_msg("the poller's refusal of %s does not name gateway_url: %s", wrong[i], out);
    }

    /* Put right, the next pass succeeds (and the account's wrong password is behind it). */
    own_poller("empty", NULL, TESTENV_SERVICE_PASSWORD, NULL, config);
    assert_int_equal(run_own_poller("empty", config, out, sizeof(out)), 0);
    assert_int_equal((int)own_poller_metric("empty", "tessera_spine_poller_last_run_ok"), 1);
}

/* A poller in loop mode refused for a wrong password signed in again, after the operator put
 * password_file right and sent SIGUSR1 as docs/OPERATIONS.md says, with the password it had read at
 * start-up: a second 401, one more towards pausing the account. It reads the file at each sign-in
 * now: the pass SIGUSR1 starts signs in with the corrected one and sends the file waiting. */
static void test_a_corrected_password_file_is_used_by_the_pass_sigusr1_starts(void **state)
{
    (void)state;
    char nhs[11], child[32], config[400], log[400], dir[300], path[400];
    add_key_workers_child("Uma", "Usherwood", "female", "2015-09-30", nhs, child);
    own_poller("loop", NULL, "not-the-poller-password", "interval_minutes = 60\n", config);
    snprintf(dir, sizeof(dir), "%s/loop", testenv->dir);
    char *batch = notifications_batch("N-USR1-%d", 1, nhs, "nhs-111", "DHU 111", "Pat Usherwood");
    snprintf(path, sizeof(path), "%s/20260115-usr1.json", dir);
    write_file(path, batch);
    free(batch);
    snprintf(log, sizeof(log), "%s/loop.log", testenv->dir);
    write_file(log, "");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *out = freopen(log, "a", stderr);
        (void)out;
        execl(TSR_BIN_DIR "/tessera-spine-poller", "tessera-spine-poller", "--config", config, (char *)NULL);
        _exit(127);
    }
    char text[16384];
    int refused = 0;
    for (int i = 0; i < 300 && !refused; i++) {
        FILE *f = fopen(log, "r");
        size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
        text[n] = '\0';
        if (f)
            fclose(f);
        refused = strstr(text, "was refused (401)") != NULL;
        if (!refused)
            usleep(100 * 1000);
    }
    /* The file put right, and the poller told to read the spool now. */
    snprintf(path, sizeof(path), "%s.password", dir);
    write_file(path, TESTENV_SERVICE_PASSWORD "\n");
    kill(pid, SIGUSR1);
    snprintf(path, sizeof(path), "%s/done/20260115-usr1.json", dir);
    struct stat st;
    int sent = 0;
    for (int i = 0; i < 300 && !(sent = stat(path, &st) == 0); i++)
        usleep(100 * 1000);
    kill(pid, SIGTERM);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(refused);
    assert_true(sent);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    const char *first = strstr(text, "was refused (401)");
    if (first == NULL || strstr(first + 1, "was refused (401)") != NULL)
        fail_msg("the poller was not refused exactly once: %s", text);
    assert_int_equal(
        wait_count("SELECT count(*) FROM workflow.requested_steps WHERE dedupe_key LIKE 'cpis:N-USR1-%'", 1),
        1);
}

/* The poller logged each notification sent to the error queue with its reason, at warn, to the
 * journal: "No one in the system has NHS number 9434765919 ..." where the error queue already held
 * it for system support. It now names the notification by its id, the code and the entry, and no
 * line of its log holds the number: nor the one for a file that is not JSON, whose fault quoted the
 * text near it. The error queue and rejected/ keep the reasons whole. */
static void test_the_pollers_log_names_a_queued_notification_by_its_id_not_its_nhs_number(void **state)
{
    (void)state;
    char unknown[11];
    testenv_new_nhs_number(unknown);
    char *n = access_json("N-LOG-UNKNOWN", unknown, "emergency-department", "Royal Derby ED", "Lou Logan");
    char *batch = NULL, broken[300];
    assert_true(asprintf(&batch, "{\"notifications\":[%s]}", n) > 0);
    write_spool("20260116-log.json", batch);
    snprintf(broken, sizeof(broken),
             "{\"notifications\": [{\"notification_id\": \"N-LOG-BROKEN\", \"nhs_number\": \"%s\"}], %s}",
             unknown, unknown);
    write_spool("20260116-log-broken.json", broken);
    long from = poller_log_size();
    assert_int_equal(run_poller(500), 0);
    assert_int_equal(poller_log_count(from, "notification 'N-LOG-UNKNOWN' (number 1 of the file) went to the "
                                            "CP-IS error queue as unknown_nhs_number"),
                     1);
    assert_int_equal(poller_log_count(from, "20260116-log-broken.json is not a CP-IS batch"), 1);
    assert_int_equal(poller_log_count(from, unknown), 0);
    /* Kept whole where system support read it. */
    char sql[300];
    snprintf(
        sql, sizeof(sql),
        "SELECT count(*) FROM cpis.errors WHERE notification_id = 'N-LOG-UNKNOWN' AND reason LIKE '%%%s%%'",
        unknown);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    char *note = spool_text("rejected", "20260116-log-broken.json.error");
    assert_non_null(note);
    assert_non_null(strstr(note, unknown));
    free(note);
    free(batch);
    free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_a_batch_in_the_spool_reaches_the_cp_is_worker_queue_and_each_fault_ends_where_the_rules_say),
        cmocka_unit_test(
            test_an_unborn_child_is_matched_on_the_mothers_number_until_the_expected_date_of_delivery),
        cmocka_unit_test(test_the_poller_killed_mid_batch_and_run_again_loses_and_duplicates_nothing),
        cmocka_unit_test(test_a_file_delivered_again_under_its_name_while_sent_is_left_to_be_sent_in_full),
        cmocka_unit_test(
            test_a_file_delivered_again_while_its_parts_failed_is_kept_beside_it_and_both_are_sent),
        cmocka_unit_test(test_a_body_that_is_not_a_batch_is_refused_naming_the_fault_and_changes_nothing),
        cmocka_unit_test(test_a_repeat_in_a_part_and_an_event_sent_twice_start_one_step_per_notification),
        cmocka_unit_test(
            test_notifications_recorded_meanwhile_by_another_request_are_duplicates_or_conflicts_and_the_rest_are_kept),
        cmocka_unit_test(
            test_an_unreadable_notification_is_queued_with_its_fault_and_the_rest_of_the_file_goes_on),
        cmocka_unit_test(test_a_file_that_is_not_a_batch_is_set_aside_and_shown_in_the_error_queue),
        cmocka_unit_test(test_a_notification_too_deep_for_a_request_is_queued_and_its_file_goes_on),
        cmocka_unit_test(test_a_reason_quoting_a_long_value_of_accented_letters_is_still_utf8),
        cmocka_unit_test(test_two_long_ids_that_differ_only_at_their_end_each_start_a_follow_up),
        cmocka_unit_test(test_the_same_id_with_other_content_is_queued_as_a_conflict_and_the_first_stands),
        cmocka_unit_test(test_a_conflict_within_one_batch_stays_in_the_error_queue),
        cmocka_unit_test(
            test_a_notification_about_someone_on_no_current_plan_goes_to_system_support_not_a_follow_up),
        cmocka_unit_test(test_ten_zeros_from_the_feed_are_queued_saying_what_system_support_should_do),
        cmocka_unit_test(test_each_field_of_the_wrong_kind_or_layout_is_rejected_with_its_own_reason),
        cmocka_unit_test(test_a_time_before_1990_is_queued_as_too_early_not_as_unreadable),
        cmocka_unit_test(test_a_control_character_in_a_text_is_queued_as_such_naming_it),
        cmocka_unit_test(test_a_notification_too_large_for_a_request_is_queued_and_its_file_goes_on),
        cmocka_unit_test(test_a_notification_on_a_mother_on_a_plan_of_her_own_is_followed_up_for_her_too),
        cmocka_unit_test(test_a_queued_notification_is_accepted_when_retried_after_the_child_is_recorded),
        cmocka_unit_test(
            test_an_inactive_number_with_no_key_worker_is_queued_until_support_close_it_with_a_reason),
        cmocka_unit_test(
            test_a_no_key_worker_entry_leaves_the_queue_once_a_key_worker_is_allocated_or_a_number_recorded),
        cmocka_unit_test(test_a_conflicting_copy_leaves_the_no_key_worker_entry_as_it_was),
        cmocka_unit_test(test_an_inactive_mothers_number_asks_her_unborn_childs_key_worker_for_the_new_one),
        cmocka_unit_test(test_done_keeps_an_acknowledged_file_its_days_then_removes_it_and_rejected_waits),
        cmocka_unit_test(test_two_notifications_for_one_child_are_told_apart_in_the_cp_is_worker_queue),
        cmocka_unit_test(test_a_restricted_childs_follow_up_goes_to_someone_who_can_open_the_record),
        cmocka_unit_test(test_a_restriction_arriving_before_its_follow_up_still_keeps_it_from_the_desk),
        cmocka_unit_test(test_the_feeds_pulse_and_its_error_queue_show_in_gauges_for_ops),
        cmocka_unit_test(test_a_file_still_being_written_waits_in_the_spool_until_it_settles_then_is_sent),
        cmocka_unit_test(test_notifications_kept_back_by_an_outage_are_sent_again_in_seconds_not_hours),
        cmocka_unit_test(test_a_wrong_password_is_tried_once_a_pass_and_the_account_is_not_paused),
        cmocka_unit_test(test_a_strangers_wrong_passwords_do_not_stop_the_feed_and_still_pause_a_worker),
        cmocka_unit_test(
            test_a_pass_that_cannot_reach_or_sign_in_to_the_gateway_fails_even_with_an_empty_spool),
        cmocka_unit_test(test_a_corrected_password_file_is_used_by_the_pass_sigusr1_starts),
        cmocka_unit_test(test_the_pollers_log_names_a_queued_notification_by_its_id_not_its_nhs_number),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
