/* E-mail notices through a real SMTP server (issue 6, seed 003): a request sent to a key worker
 * reaches them by e-mail as well as in the web UI, once the council's SMTP server (aiosmtpd from
 * Debian, started here) is up: while it is down the notice waits and is retried, with its delivery
 * status. A 'CS Notification to Allocated Worker' not acknowledged in time is escalated to the key
 * worker's line manager (to their team's manager when they have none); one acknowledged in time is
 * not. The e-mail names no one: the title and a
 * link. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tsr_testenv.h"

#define REQUEST_TYPE "cs-notification-to-allocated-worker-cpis-follow-up"

static char definitions_dir[64], mail_root[64], maildir[80];
static int smtp_port;
static pid_t smtpd;

/* ------------------------------------------------------------------------------------------------
 * The SMTP server: aiosmtpd, keeping what it receives in a Maildir
 * ---------------------------------------------------------------------------------------------- */

static int smtp_accepts(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)smtp_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

static void smtp_start(void)
{
    char listen[32];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", smtp_port);
    smtpd = fork();
    assert_true(smtpd >= 0);
    if (smtpd == 0) {
        /* aiosmtpd's Maildir handler, refusing for good (550) any recipient named refused@. */
        setenv("PYTHONPATH", mail_root, 1);
        execl("/usr/bin/python3", "python3", "-m", "aiosmtpd", "-n", "-l", listen, "-c",
              "tessera_refusing.Refusing", maildir, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && !smtp_accepts(); i++)
        usleep(50 * 1000);
    assert_true(smtp_accepts());
}

static void smtp_stop(void)
{
    if (smtpd > 0) {
        kill(smtpd, SIGTERM);
        waitpid(smtpd, NULL, 0);
        smtpd = 0;
    }
}

/* How many messages to address hold text; the last one read is copied into out. */
static int mails_with(const char *address, const char *text, char *out, size_t size)
{
    char dir[128], to[160];
    snprintf(dir, sizeof(dir), "%s/new", maildir);
    snprintf(to, sizeof(to), "To: %s\n", address);
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[400], mail[8192];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t n = fread(mail, 1, sizeof(mail) - 1, f);
        fclose(f);
        mail[n] = '\0';
        if (strstr(mail, to) != NULL && strstr(mail, text) != NULL) {
            found++;
            snprintf(out, size, "%s", mail);
        }
    }
    closedir(d);
    return found;
}

/* Waits for a message to address holding text (a subject, say) and copies it into out. */
static void wait_for_mail(const char *address, const char *text, char *out, size_t size)
{
    for (int i = 0; i < 400; i++) {
        if (mails_with(address, text, out, size) > 0)
            return;
        usleep(100 * 1000);
    }
    fail_msg("no e-mail to %s with \"%s\" after 40 s", address, text);
}

/* ------------------------------------------------------------------------------------------------
 * The API
 * ---------------------------------------------------------------------------------------------- */

static json_t *call_json(const char *token, const char *method, const char *path, const char *body,
                         long status)
{
    testenv_response_t r = testenv_http(testenv, method, path, token, body, NULL);
    if (r.status != status)
        fprintf(stderr, "%s %s: %ld %s\n", method, path, r.status, r.body ? r.body : "");
    assert_int_equal(r.status, status);
    json_t *json = json_incref(r.json);
    testenv_response_free(&r);
    return json;
}

/* The worker's notices of kind, waiting until there are at least at_least. */
static json_t *notices_of_kind(const char *token, const char *kind, size_t at_least)
{
    for (int i = 0; i < 400; i++) {
        json_t *list = call_json(token, "GET", "/api/v1/notices", NULL, 200), *out = json_array(), *n;
        size_t k;
        json_array_foreach(json_object_get(list, "items"), k, n)
        {
            if (strcmp(json_string_value(json_object_get(n, "kind")), kind) == 0)
                json_array_append(out, n);
        }
        json_decref(list);
        if (json_array_size(out) >= at_least)
            return out;
        json_decref(out);
        usleep(100 * 1000);
    }
    fail_msg("fewer than %zu notices of kind %s after 40 s", at_least, kind);
    return NULL;
}

static const char *str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

/* A CPIS Follow up step about person, worked by safeguarding admin, and its request to worker. */
static void send_cpis_request(const char *sa, const char *person, const char *worker, char step_id[32],
                              char request_id[32])
{
    char body[600], path[128];
    snprintf(body, sizeof(body),
             "{\"type\":\"cpis-follow-up\",\"subject\":{\"kind\":\"person\",\"id\":\"%s\"}}", person);
    json_t *step = call_json(sa, "POST", "/api/v1/steps", body, 201);
    snprintf(step_id, 32, "%s", str(step, "id"));
    json_decref(step);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/resume", step_id);
    json_decref(call_json(sa, "POST", path, "{}", 200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", step_id);
    snprintf(body, sizeof(body),
             "{\"type\":\"" REQUEST_TYPE "\",\"to\":{\"worker_id\":\"%s\"},"
             "\"note\":\"Please acknowledge notification of service access request.\"}",
             worker);
    step = call_json(sa, "POST", path, body, 201);
    json_t *r;
    size_t i;
    json_array_foreach(json_object_get(step, "requests"), i, r)
    {
        if (strcmp(str(r, "type"), REQUEST_TYPE) == 0)
            snprintf(request_id, 32, "%s", str(r, "id"));
    }
    json_decref(step);
}

/* A sample's value from Prometheus text: the first line of the family whose labels hold label. */
static double metric_value(const char *text, const char *family, const char *label)
{
    size_t n = strlen(family);
    for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (strncmp(line, family, n) != 0 || (line[n] != '{' && line[n] != ' '))
            continue;
        const char *end = strchr(line, '\n');
        const char *space = end ? end : line + strlen(line);
        while (space > line && space[-1] != ' ')
            space--;
        const char *at = strstr(line, label);
        if (at != NULL && at < space)
            return atof(space);
    }
    return -1;
}

static long email_attempts(const char *worker)
{
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT coalesce(max(email_attempts), 0) FROM notifications.notices WHERE worker_id = %s",
             worker);
    return testenv_sql_long(testenv, sql);
}

/* ------------------------------------------------------------------------------------------------
 * Tests
 * ---------------------------------------------------------------------------------------------- */

static void
test_a_request_reaches_its_worker_by_e_mail_once_the_smtp_server_is_up_and_escalates_when_unacknowledged(
    void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char erin[32], ellis[32], nomail[32], body[512], person[32];
    testenv_add_worker(
        testenv, admin, "mgr.erin", "Erin Eastleigh",
        "\"roles\":[\"team-manager\"],\"teams\":[\"Children in Need 1\"],"
        "\"managed_teams\":[\"Children in Need 1\"],\"email\":\"erin.eastleigh@council.example\"",
        erin);
    snprintf(body, sizeof(body),
             "\"roles\":[\"social-worker\"],\"teams\":[\"Children in Need 1\"],\"manager_id\":\"%s\","
             "\"email\":\"ellis.eyre@council.example\"",
             erin);
    testenv_add_worker(testenv, admin, "kw.ellis", "Ellis Eyre", body, ellis);
    testenv_add_worker(testenv, admin, "kw.noor", "Noor Nomail",
                       "\"roles\":[\"social-worker\"],\"teams\":[\"Children in Need 1\"]", nomail);
    /* A malformed address is refused, naming the field. */
    testenv_response_t r =
        testenv_http(testenv, "PUT", "/api/v1/workers/1", admin, "{\"email\":\"not an address\"}", NULL);
    testenv_assert_error(&r, 400, "invalid_email");
    testenv_response_free(&r);

    char *sw = testenv_login(testenv, "mash.sw");
    testenv_add_person(testenv, sw, "Pip", "Postbridge", "2017-03-04", person);
    char *sa = testenv_login(testenv, "safeguarding.admin");
    char *t_ellis = testenv_login(testenv, "kw.ellis");
    char *t_erin = testenv_login(testenv, "mgr.erin");
    char *t_noor = testenv_login(testenv, "kw.noor");

    /* The SMTP server is down: the notice is there at once, its e-mail pending and retried. */
    char step[32], request[32];
    send_cpis_request(sa, person, ellis, step, request);
    json_t *got = notices_of_kind(t_ellis, "request-received", 1);
    json_t *n = json_array_get(got, 0);
    assert_string_equal(str(n, "email_status"), "pending");
    char link[64];
    snprintf(link, sizeof(link), "/steps/%s", step);
    assert_string_equal(str(n, "link"), link);
    assert_null(strstr(str(n, "title"), "Postbridge"));
    json_decref(got);
    for (int i = 0; i < 100 && email_attempts(ellis) < 2; i++)
        usleep(100 * 1000);
    assert_true(email_attempts(ellis) >= 2);

    /* Up: it arrives, once, with the title and the link and no one's name. */
    smtp_start();
    char mail[8192];
    wait_for_mail("ellis.eyre@council.example",
                  "Subject: New request: CS Notification to Allocated Worker - CPIS Follow Up", mail,
                  sizeof(mail));
    assert_int_equal(mails_with("ellis.eyre@council.example", "Subject: New request:", mail, sizeof(mail)),
                     1);
    assert_non_null(strstr(mail, link));
    assert_null(strstr(mail, "Postbridge"));
    assert_null(strstr(mail, "Pip"));
    for (int i = 0; i < 100; i++) {
        got = notices_of_kind(t_ellis, "request-received", 1);
        int sent = strcmp(str(json_array_get(got, 0), "email_status"), "sent") == 0;
        json_decref(got);
        if (sent)
            break;
        usleep(100 * 1000);
    }
    got = notices_of_kind(t_ellis, "request-received", 1);
    assert_string_equal(str(json_array_get(got, 0), "email_status"), "sent");
    json_decref(got);

    /* Not acknowledged in time: the key worker is reminded and the line manager hears of it. */
    got = notices_of_kind(t_erin, "request-escalated", 1);
    assert_int_equal(json_array_size(got), 1);
    assert_string_equal(str(json_array_get(got, 0), "link"), link);
    json_decref(got);
    json_decref(notices_of_kind(t_ellis, "request-overdue", 1));
    wait_for_mail("erin.eastleigh@council.example",
                  "Subject: Not acknowledged in time: CS Notification to Allocated Worker", mail,
                  sizeof(mail));
    assert_null(strstr(mail, "Postbridge"));

    /* Acknowledged in time: no escalation. */
    char step2[32], request2[32], path[128];
    send_cpis_request(sa, person, ellis, step2, request2);
    snprintf(path, sizeof(path), "/api/v1/requests/%s/acknowledge", request2);
    json_decref(
        call_json(t_ellis, "POST", path, "{\"case_note\":\"Called the family; no new concerns.\"}", 200));
    /* Past its due time (11 s), and the scan's: still the one escalation. */
    sleep(14);
    got = notices_of_kind(t_erin, "request-escalated", 1);
    assert_int_equal(json_array_size(got), 1);
    json_decref(got);

    /* A worker with no address: the notice is there and its e-mail says why it was not sent. */
    char step3[32], request3[32];
    send_cpis_request(sa, person, nomail, step3, request3);
    got = notices_of_kind(t_noor, "request-received", 1);
    assert_string_equal(str(json_array_get(got, 0), "email_status"), "failed");
    json_decref(got);
    char sql[200], why[256];
    snprintf(sql, sizeof(sql), "SELECT email_error FROM notifications.notices WHERE worker_id = %s", nomail);
    assert_int_equal(testenv_psql(testenv, NULL, sql, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "no e-mail address"));
    /* And ops are told, as of an e-mail given up: counted, and logged naming the worker. */
    r = testenv_http(testenv, "GET", "/metrics", NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_true(metric_value(r.body, "tessera_notifications_emails_no_address_total", "") >= 1);
    testenv_response_free(&r);
    char logged[160];
    snprintf(logged, sizeof(logged), "notice 'request-received' for worker %s not e-mailed", nomail);
    assert_true(testenv_log_has(testenv, "notifications", logged));
    /* Noor has no line manager: not acknowledged in time, it goes to the manager of her team. */
    got = notices_of_kind(t_erin, "request-escalated", 2);
    int for_noor = 0;
    snprintf(link, sizeof(link), "/steps/%s", step3);
    for (size_t i = 0; i < json_array_size(got); i++)
        for_noor += strcmp(str(json_array_get(got, i), "link"), link) == 0;
    assert_int_equal(for_noor, 1);
    json_decref(got);
    /* A key worker with no line manager in a team no one else manages (its only manager, or a team
     * with none): the escalation told no one. System support hears of it instead. */
    char solo[32], step4[32], request4[32];
    testenv_add_worker(testenv, admin, "kw.solo", "Sol Soleby",
                       "\"roles\":[\"social-worker\",\"team-manager\"],\"teams\":[\"Early Help\"],"
                       "\"managed_teams\":[\"Early Help\"]",
                       solo);
    send_cpis_request(sa, person, solo, step4, request4);
    snprintf(link, sizeof(link), "/steps/%s", step4);
    int for_solo = 0;
    for (int i = 0; i < 300 && !for_solo; i++) {
        got = notices_of_kind(admin, "request-escalated", 0);
        for (size_t k = 0; k < json_array_size(got); k++)
            for_solo += strcmp(str(json_array_get(got, k), "link"), link) == 0;
        json_decref(got);
        if (!for_solo)
            usleep(100 * 1000);
    }
    assert_int_equal(for_solo, 1);
    /* An address the server refuses for good (550) fails at once, saying so, and is not tried again
     * for two hours. */
    char refused[32], step5[32], request5[32];
    testenv_add_worker(testenv, admin, "kw.refused", "Rae Refused",
                       "\"roles\":[\"social-worker\"],\"teams\":[\"Children in Need 1\"],"
                       "\"email\":\"refused@council.example\"",
                       refused);
    send_cpis_request(sa, person, refused, step5, request5);
    snprintf(sql, sizeof(sql),
             "SELECT email_status || ' ' || email_attempts || ' ' || email_error FROM notifications.notices"
             " WHERE worker_id = %s AND kind = 'request-received'",
             refused);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(testenv_psql(testenv, NULL, sql, why, sizeof(why)), 0);
        if (strncmp(why, "failed", 6) == 0)
            break;
        usleep(100 * 1000);
    }
    if (strncmp(why, "failed 1 The mail server refused it for good (550)", 50) != 0)
        fail_msg("the refused e-mail: %s", why);

    /* A CPIS Follow up held by a worker past its due time (a restricted child's goes to their key
     * worker as a step, not as a request): the worker is reminded, and their line manager hears of
     * it, by e-mail too, as of a request not acknowledged. */
    snprintf(body, sizeof(body),
             "{\"type\":\"cpis-follow-up\",\"subject\":{\"kind\":\"person\",\"id\":\"%s\"}}", person);
    json_t *follow_up = call_json(sa, "POST", "/api/v1/steps", body, 201);
    char follow_up_id[32];
    snprintf(follow_up_id, sizeof(follow_up_id), "%s", str(follow_up, "id"));
    json_decref(follow_up);
    snprintf(path, sizeof(path), "/api/v1/steps/%s/assign", follow_up_id);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%s\"}", ellis);
    json_decref(call_json(sa, "POST", path, body, 200));
    snprintf(sql, sizeof(sql), "UPDATE workflow.steps SET due_at = now() WHERE id = %s", follow_up_id);
    assert_int_equal(testenv_psql(testenv, NULL, sql, why, sizeof(why)), 0);
    snprintf(link, sizeof(link), "/steps/%s", follow_up_id);
    got = notices_of_kind(t_ellis, "step-overdue", 1);
    assert_string_equal(str(json_array_get(got, 0), "link"), link);
    json_decref(got);
    got = notices_of_kind(t_erin, "step-escalated", 1);
    assert_string_equal(str(json_array_get(got, 0), "link"), link);
    assert_string_equal(str(json_array_get(got, 0), "title"), "Not done in time: CPIS Follow Up");
    json_decref(got);
    wait_for_mail("erin.eastleigh@council.example", "Subject: Not done in time: CPIS Follow Up", mail,
                  sizeof(mail));
    assert_null(strstr(mail, "Postbridge"));
    /* Taken by another worker already past its due time: not reminded at once, but once the time its
     * type allows has passed from then (remind_at, brought to now here), and their manager told. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/assign", follow_up_id);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%s\"}", nomail);
    json_decref(call_json(t_ellis, "POST", path, body, 200));
    sleep(1); /* five of the overdue scan's rounds */
    json_t *early = call_json(t_noor, "GET", "/api/v1/notices", NULL, 200);
    size_t k;
    json_t *item;
    json_array_foreach(json_object_get(early, "items"), k, item)
    {
        assert_false(strcmp(str(item, "kind"), "step-overdue") == 0 && strcmp(str(item, "link"), link) == 0);
    }
    json_decref(early);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM workflow.steps WHERE id = %s AND NOT overdue_notified"
             " AND remind_at > now() + interval '1 hour'",
             follow_up_id);
    assert_int_equal(testenv_sql_long(testenv, sql), 1);
    snprintf(sql, sizeof(sql), "UPDATE workflow.steps SET remind_at = now() WHERE id = %s", follow_up_id);
    assert_int_equal(testenv_psql(testenv, NULL, sql, why, sizeof(why)), 0);
    got = notices_of_kind(t_noor, "step-overdue", 1);
    assert_string_equal(str(json_array_get(got, 0), "link"), link);
    json_decref(got);
    got = notices_of_kind(t_erin, "step-escalated", 2);
    int escalations = 0;
    for (size_t i = 0; i < json_array_size(got); i++)
        escalations += strcmp(str(json_array_get(got, i), "link"), link) == 0;
    assert_int_equal(escalations, 2);
    json_decref(got);
    /* One left past its due time in the System Support queue (where a restricted child's goes with
     * no key worker): those who work the queue are told it arrived, and reminded. */
    snprintf(body, sizeof(body),
             "{\"type\":\"cpis-follow-up\",\"subject\":{\"kind\":\"person\",\"id\":\"%s\"},"
             "\"assign_to\":{\"virtual_worker\":\"system-support\"}}",
             person);
    follow_up = call_json(sa, "POST", "/api/v1/steps", body, 201);
    snprintf(follow_up_id, sizeof(follow_up_id), "%s", str(follow_up, "id"));
    json_decref(follow_up);
    snprintf(link, sizeof(link), "/steps/%s", follow_up_id);
    char *t_support = testenv_login(testenv, "admin"); /* system support, among other roles */
    got = notices_of_kind(t_support, "step-received", 1);
    assert_string_equal(str(json_array_get(got, json_array_size(got) - 1), "link"), link);
    json_decref(got);
    snprintf(sql, sizeof(sql), "UPDATE workflow.steps SET due_at = now() WHERE id = %s", follow_up_id);
    assert_int_equal(testenv_psql(testenv, NULL, sql, why, sizeof(why)), 0);
    got = notices_of_kind(t_support, "step-overdue", 1);
    assert_string_equal(str(json_array_get(got, 0), "link"), link);
    assert_string_equal(str(json_array_get(got, 0), "title"), "Overdue work: CPIS Follow Up");
    json_decref(got);
    free(t_support);

    /* A key worker's CP-IS task, their child's NHS number reported inactive, comes by e-mail too:
     * until they record the new one the child's plan is not shared with the NHS. No name in it. */
    char nhs[11], child[32], yesterday[16];
    testenv_new_nhs_number(nhs);
    /* Yesterday's 09:00: today's is in the future before 09:00 UTC, and refused as such. */
    testenv_sql_date(testenv, "current_date - 1", yesterday);
    snprintf(body, sizeof(body),
             "{\"legal_name\":{\"given\":\"Tegan\",\"family\":\"Tasklow\"},\"gender\":\"female\","
             "\"date_of_birth\":\"2016-02-02\",\"nhs_number\":\"%s\"}",
             nhs);
    json_t *p = call_json(sw, "POST", "/api/v1/people", body, 201);
    snprintf(child, sizeof(child), "%s", str(p, "id"));
    json_decref(p);
    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations", child);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%s\",\"role\":\"key-worker\",\"service\":\"CSSW\"}",
             ellis);
    json_decref(call_json(admin, "POST", path, body, 201));
    char poller_id[32];
    testenv_add_service_account(testenv, admin, "cpis.poller", "CP-IS Spine Poller", "cpis-service",
                                poller_id);
    char *poller = testenv_login_with(testenv, "cpis.poller", TESTENV_SERVICE_PASSWORD);
    snprintf(body, sizeof(body),
             "{\"notifications\":[{\"notification_id\":\"N-MAIL-INACTIVE\",\"type\":\"inactive-nhs-number\","
             "\"created_at\":\"%sT09:00:00Z\",\"nhs_number\":\"%s\"}]}",
             yesterday, nhs);
    json_decref(call_json(poller, "POST", "/api/v1/cpis/notifications", body, 200));
    free(poller);
    wait_for_mail("ellis.eyre@council.example", "Subject: CP-IS: record the child's NHS number", mail,
                  sizeof(mail));
    assert_null(strstr(mail, "Tasklow"));
    assert_null(strstr(mail, nhs));

    /* For ops: the e-mails sent, and the CP-IS Worker queue's size and age (work waiting there,
     * not yet taken by a worker). */
    snprintf(body, sizeof(body),
             "{\"type\":\"cpis-follow-up\",\"subject\":{\"kind\":\"person\",\"id\":\"%s\"}}", person);
    json_decref(call_json(sa, "POST", "/api/v1/steps", body, 201));
    double items = -1, age = -1, sent = -1;
    for (int i = 0; i < 100 && !(items >= 1 && age > 0 && sent >= 4); i++) {
        usleep(200 * 1000);
        r = testenv_http(testenv, "GET", "/metrics", NULL, NULL, NULL);
        assert_int_equal(r.status, 200);
        sent = metric_value(r.body, "tessera_notifications_emails_sent_total", "");
        items = metric_value(r.body, "tessera_workflow_queue_items", "queue=\"cp-is-worker\"");
        age = metric_value(r.body, "tessera_workflow_queue_oldest_age_seconds", "queue=\"cp-is-worker\"");
        testenv_response_free(&r);
    }
    assert_true(sent >= 4);
    assert_true(items >= 1);
    assert_true(age > 0);

    smtp_stop();
    free(admin);
    free(sw);
    free(sa);
    free(t_ellis);
    free(t_erin);
    free(t_noor);
}

static void test_a_bad_smtp_setting_stops_the_daemon_naming_it(void **state)
{
    (void)state;
    testenv_assert_refuses_to_start(testenv, "notifications", "TESSERA_SMTP_URL=http://mail.example",
                                    "smtp.url must be smtp://", NULL);
    testenv_assert_refuses_to_start(testenv, "notifications", "TESSERA_SMTP_FROM='Tessera <x@y.example>'",
                                    "smtp.from must be one e-mail address", NULL);
}

int main(void)
{
    /* The shipped definitions, with the CP-IS request due in 11 seconds instead of 14 working hours. */
    snprintf(definitions_dir, sizeof(definitions_dir), "/tmp/tsr-maildefs-XXXXXX");
    snprintf(mail_root, sizeof(mail_root), "/tmp/tsr-maildir-XXXXXX");
    if (mkdtemp(definitions_dir) == NULL || mkdtemp(mail_root) == NULL)
        return 1;
    /* A path that does not exist yet: aiosmtpd makes the Maildir (new/, cur/, tmp/) there. */
    snprintf(maildir, sizeof(maildir), "%s/mail", mail_root);
    char handler[128];
    snprintf(handler, sizeof(handler), "%s/tessera_refusing.py", mail_root);
    FILE *f = fopen(handler, "w");
    if (f == NULL)
        return 1;
    fputs("from aiosmtpd.handlers import Mailbox\n\n\n"
          "class Refusing(Mailbox):\n"
          "    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):\n"
          "        if address.startswith('refused@'):\n"
          "            return '550 5.1.1 No such mailbox here'\n"
          "        envelope.rcpt_tos.append(address)\n"
          "        return '250 OK'\n",
          f);
    fclose(f);
    char cmd[1200];
    snprintf(cmd, sizeof(cmd),
             "cp %s/services/workflow/definitions/*.json %s/ && /usr/bin/python3 -c 'import json, sys\n"
             "p = sys.argv[1]\nd = json.load(open(p))\n"
             "for r in d[\"requests\"]:\n    r[\"due\"] = {\"hours\": 0.003}\n"
             "json.dump(d, open(p, \"w\"))' %s/cpis-follow-up.json",
             TSR_SOURCE_DIR, definitions_dir, definitions_dir);
    if (system(cmd) != 0)
        return 1;
    smtp_port = testenv_free_port();
    char url[64];
    snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", smtp_port);
    setenv("TESSERA_SMTP_URL", url, 1);
    setenv("TESSERA_SMTP_POLL_MS", "100", 1);
    setenv("TESSERA_SMTP_RETRY_MS", "200", 1);
    setenv("TESSERA_SMTP_TIMEOUT_MS", "2000", 1);
    setenv("TESSERA_SMTP_FROM", "tessera@council.example", 1);
    setenv("TESSERA_WORKFLOW_DEFINITIONS_DIRS", definitions_dir, 1);
    setenv("TESSERA_WORKFLOW_OVERDUE_CHECK_MS", "200", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_a_request_reaches_its_worker_by_e_mail_once_the_smtp_server_is_up_and_escalates_when_unacknowledged),
        cmocka_unit_test(test_a_bad_smtp_setting_stops_the_daemon_naming_it),
    };
    int rc = cmocka_run_group_tests(tests, testenv_group_setup, testenv_group_teardown);
    smtp_stop();
    snprintf(cmd, sizeof(cmd), "rm -rf %s %s", definitions_dir, mail_root);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}
