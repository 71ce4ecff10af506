/* The first slice through every layer: sign in, add an organisation, find it, read it, and see
 * both in the audit trail with the worker's id. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <curl/curl.h>

#include "tsr_testenv.h"

/* Polls the audit trail of an organisation until it has `want` entries or 15 s pass. */
static json_t *audit_entries_for(const char *token, const char *org_id, size_t want)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/audit/events?organisation_id=%s", org_id);
    for (int i = 0; i < 150; i++) {
        testenv_response_t r = testenv_http(testenv, "GET", path, token, NULL, NULL);
        assert_int_equal(r.status, 200);
        json_t *items = json_incref(json_object_get(r.json, "items"));
        testenv_response_free(&r);
        if (json_array_size(items) >= want)
            return items;
        json_decref(items);
        usleep(100 * 1000);
    }
    fail_msg("the audit trail did not show %zu entries for organisation %s", want, org_id);
    return NULL;
}

static void test_added_organisation_is_found_read_and_audited(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/organisations", admin,
                                        "{\"name\":\"Rosewood Nursery School\",\"address\":\"4 Example Walk, "
                                        "London NW3 1AA\",\"telephone\":\"020 7000 1234\"}",
                                        NULL);
    assert_int_equal(r.status, 201);
    char id[32];
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(r.json, "id")));
    assert_true(strspn(id, "0123456789") == strlen(id) && strlen(id) > 0);
    assert_string_equal(json_string_value(json_object_get(r.json, "name")), "Rosewood Nursery School");
    char title[128];
    snprintf(title, sizeof(title), "Rosewood Nursery School (%s)", id);
    assert_string_equal(json_string_value(json_object_get(r.json, "title")), title);
    testenv_response_free(&r);

    /* Found by any part of the name, in any case. */
    r = testenv_http(testenv, "GET", "/api/v1/organisations?q=wood%20nursery", admin, NULL, NULL);
    assert_int_equal(r.status, 200);
    json_t *items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "id")), id);
    testenv_response_free(&r);

    /* Found by id. */
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/organisations?q=%s", id);
    r = testenv_http(testenv, "GET", path, admin, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    testenv_response_free(&r);

    /* Read: the summary page, with its (empty) steps. */
    snprintf(path, sizeof(path), "/api/v1/organisations/%s", id);
    r = testenv_http(testenv, "GET", path, admin, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "telephone")), "020 7000 1234");
    assert_true(json_is_array(json_object_get(r.json, "steps")));
    testenv_response_free(&r);

    /* The auditor sees the creation and the view, each with the admin's worker id. */
    r = testenv_http(testenv, "POST", "/api/v1/session", NULL,
                     "{\"username\":\"admin\",\"password\":\"tessera-demo\"}", NULL);
    char admin_id[32];
    snprintf(admin_id, sizeof(admin_id), "%s",
             json_string_value(json_object_get(json_object_get(r.json, "worker"), "id")));
    testenv_response_free(&r);
    char *auditor = testenv_login(testenv, "auditor");
    json_t *entries = audit_entries_for(auditor, id, 2);
    assert_int_equal(json_array_size(entries), 2);
    int seen_create = 0, seen_view = 0;
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e)
    {
        const char *action = json_string_value(json_object_get(e, "action"));
        assert_string_equal(json_string_value(json_object_get(json_object_get(e, "worker"), "id")), admin_id);
        assert_string_equal(json_string_value(json_object_get(json_object_get(e, "record"), "kind")),
                            "organisation");
        assert_string_equal(json_string_value(json_object_get(json_object_get(e, "record"), "id")), id);
        seen_create += strcmp(action, "create") == 0;
        seen_view += strcmp(action, "view") == 0;
    }
    assert_int_equal(seen_create, 1);
    assert_int_equal(seen_view, 1);
    json_decref(entries);
    free(admin);
    free(auditor);
}

static void test_the_same_idempotency_key_adds_one_organisation(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    testenv_response_t a =
        testenv_http(testenv, "POST", "/api/v1/organisations", admin, "{\"name\":\"Maple Leaf Youth Club\"}",
                     "Idempotency-Key: 0b0e1c9e-key-1");
    testenv_response_t b =
        testenv_http(testenv, "POST", "/api/v1/organisations", admin, "{\"name\":\"Maple Leaf Youth Club\"}",
                     "Idempotency-Key: 0b0e1c9e-key-1");
    assert_int_equal(a.status, 201);
    assert_int_equal(b.status, 201);
    assert_string_equal(json_string_value(json_object_get(a.json, "id")),
                        json_string_value(json_object_get(b.json, "id")));
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM records.organisations "
                                               "WHERE name = 'Maple Leaf Youth Club'"),
                     1);
    /* The same key with another body is another request, refused: the first answer given back for it
     * told the caller that Oak Tree Youth Club was added, and no one added it. */
    testenv_response_t c =
        testenv_http(testenv, "POST", "/api/v1/organisations", admin, "{\"name\":\"Oak Tree Youth Club\"}",
                     "Idempotency-Key: 0b0e1c9e-key-1");
    testenv_assert_error(&c, 409, "idempotency_key_reused");
    assert_non_null(strstr(c.body, "already used for a different request"));
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM records.organisations "
                                               "WHERE name = 'Oak Tree Youth Club'"),
                     0);
    /* The first request again still gets its answer. */
    testenv_response_t d =
        testenv_http(testenv, "POST", "/api/v1/organisations", admin, "{\"name\":\"Maple Leaf Youth Club\"}",
                     "Idempotency-Key: 0b0e1c9e-key-1");
    assert_int_equal(d.status, 201);
    assert_string_equal(json_string_value(json_object_get(d.json, "id")),
                        json_string_value(json_object_get(a.json, "id")));
    testenv_response_free(&d);
    /* One creation event, so one creation in the trail. */
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 15000), 0);
    assert_int_equal(testenv_sql_long(testenv,
                                      "SELECT count(*) FROM audit.entries WHERE action = 'create'"
                                      " AND summary LIKE 'Added organisation Maple Leaf Youth Club %'"),
                     1);
    testenv_response_free(&c);
    testenv_response_free(&a);
    testenv_response_free(&b);
    free(admin);
}

static void test_roles_limit_who_adds_organisations_and_reads_the_trail(void **state)
{
    (void)state;
    char *mash_admin = testenv_login(testenv, "mash.admin");
    testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/organisations", mash_admin,
                                        "{\"name\":\"Not Allowed Club\"}", NULL);
    testenv_assert_error(&r, 403, "forbidden");
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", "/api/v1/audit/events", mash_admin, NULL, NULL);
    testenv_assert_error(&r, 403, "forbidden");
    testenv_response_free(&r);
    /* Every worker can find organisations: the front door starts from one. */
    r = testenv_http(testenv, "GET", "/api/v1/organisations?q=consultation", mash_admin, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(r.json, "items"), 0), "id")),
        "7504989");
    testenv_response_free(&r);
    assert_int_equal(
        testenv_sql_long(testenv,
                         "SELECT count(*) FROM records.organisations WHERE name = 'Not Allowed Club'"),
        0);
    free(mash_admin);
}

/* A worker's calls in quick succession find the session without the database (the gateway keeps
 * it a moment); that must never outlive a sign-out, however soon the next call comes. */
static void test_signing_out_ends_the_token_at_once(void **state)
{
    (void)state;
    for (int round = 0; round < 5; round++) {
        char *token = testenv_login(testenv, "mash.manager");
        for (int i = 0; i < 5; i++) {
            testenv_response_t r =
                testenv_http(testenv, "GET", "/api/v1/organisations/7500065", token, NULL, NULL);
            assert_int_equal(r.status, 200);
            testenv_response_free(&r);
        }
        testenv_response_t r = testenv_http(testenv, "DELETE", "/api/v1/session", token, NULL, NULL);
        assert_int_equal(r.status, 204);
        testenv_response_free(&r);
        r = testenv_http(testenv, "GET", "/api/v1/organisations/7500065", token, NULL, NULL);
        testenv_assert_error(&r, 401, "unauthenticated");
        testenv_response_free(&r);
        free(token);
    }
}

static void test_the_gateway_refuses_to_start_with_bad_session_settings(void **state)
{
    (void)state;
    testenv_assert_refuses_to_start(testenv, "gateway", "TESSERA_GATEWAY_SESSION_CACHE_MS=forever",
                                    "gateway.session_cache_ms", NULL);
    testenv_assert_refuses_to_start(testenv, "gateway", "TESSERA_GATEWAY_SESSION_TTL_S=5",
                                    "gateway.session_ttl_s", NULL);
}

static void test_wrong_password_and_unknown_user_get_the_same_answer(void **state)
{
    (void)state;
    testenv_response_t a = testenv_http(testenv, "POST", "/api/v1/session", NULL,
                                        "{\"username\":\"admin\",\"password\":\"not-the-password\"}", NULL);
    testenv_response_t b =
        testenv_http(testenv, "POST", "/api/v1/session", NULL,
                     "{\"username\":\"nobody.here\",\"password\":\"not-the-password\"}", NULL);
    testenv_assert_error(&a, 401, "invalid_credentials");
    testenv_assert_error(&b, 401, "invalid_credentials");
    assert_string_equal(a.body, b.body);
    testenv_response_free(&a);
    testenv_response_free(&b);
}

static int count_lines_starting(const char *text, const char *prefix)
{
    int n = 0;
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        n += strncmp(line, prefix, strlen(prefix)) == 0;
    return n;
}

/* 1 when the Prometheus text has a sample (not a comment) line with the label. */
static int has_sample_labelled(const char *text, const char *label)
{
    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *at = strstr(line, label);
        if (line[0] != '#' && at != NULL && at < line + len)
            return 1;
        line = end ? end + 1 : NULL;
    }
    return 0;
}

static void test_health_readiness_and_metrics_of_every_daemon(void **state)
{
    (void)state;
    testenv_response_t r = testenv_http(testenv, "GET", "/healthz", NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", "/readyz", NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    json_t *checks = json_object_get(r.json, "checks");
    const char *names[] = {"database", "accounts", "records", "audit"};
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(json_string_value(json_object_get(checks, names[i])), "ok");
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", "/metrics", NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    char content_type[128];
    assert_non_null(testenv_response_header(&r, "Content-Type", content_type, sizeof(content_type)));
    assert_non_null(strstr(content_type, "text/plain"));
    const char *daemons[] = {"gateway", "records", "audit", "accounts"};
    for (size_t i = 0; i < 4; i++) {
        char label[64];
        snprintf(label, sizeof(label), "daemon=\"%s\"", daemons[i]);
        if (!has_sample_labelled(r.body, label))
            fail_msg("/metrics has no sample from %s", daemons[i]);
    }
    assert_non_null(strstr(r.body, "# TYPE gateway_http_requests_total counter"));
    /* One HELP and TYPE per family across all daemons, or Prometheus refuses the whole scrape. */
    assert_int_equal(count_lines_starting(r.body, "# TYPE tsr_requests_failed_total "), 1);
    assert_int_equal(count_lines_starting(r.body, "# TYPE tsr_request_seconds "), 1);
    testenv_response_free(&r);

    /* readyz names what is missing when a daemon is down. */
    testenv_kill(testenv, "audit", 9);
    r = testenv_http(testenv, "GET", "/readyz", NULL, NULL, NULL);
    assert_int_equal(r.status, 503);
    assert_string_not_equal(json_string_value(json_object_get(json_object_get(r.json, "checks"), "audit")),
                            "ok");
    testenv_response_free(&r);
    testenv_restart(testenv, "audit");
}

static size_t discard(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    (void)arg;
    return size * n;
}

static void test_connections_stay_open_after_a_post(void **state)
{
    (void)state;
    /* A client (a browser, the spine poller, a load test) reuses its connection for the next call. */
    char *admin = testenv_login(testenv, "admin");
    char url[256], auth[256];
    snprintf(url, sizeof(url), "%s/api/v1/organisations", testenv->base_url);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", admin);
    struct curl_slist *headers = curl_slist_append(NULL, auth);
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "{\"name\":\"Keep Alive Club\"}");
    assert_int_equal(curl_easy_perform(curl), CURLE_OK);
    assert_int_equal(curl_easy_perform(curl), CURLE_OK);
    long connects = -1;
    curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects);
    assert_int_equal(connects, 0); /* the second POST went over the first one's connection */
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    free(admin);
}

/* Repeats the UTF-8 character ch n times into out (which must hold n * strlen(ch) + 1). */
static char *repeat_character(const char *ch, size_t n, char *out)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        strcat(out, ch);
    return out;
}

/* Names are limited in characters, not bytes: an organisation, a child and an account named at the
 * limit in a script of three bytes a character are added, read, found and titled whole, the title
 * ending with the id (a fixed buffer once cut it inside a character: the save answered 500 after it
 * was made, and the record could be neither read nor found). */
static void test_a_long_name_in_any_script_is_added_read_found_and_titled_whole(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *sw = testenv_login(testenv, "mash.sw");
    static char name[1024], given[512], family[512], body[2048], path[256], want[1200];

    /* An organisation of 200 characters, 600 bytes. */
    repeat_character("\xe2\x82\xac", 200, name); /* the euro sign */
    snprintf(body, sizeof(body),
             "{\"name\":\"%s\",\"address\":\"1 Example Road\",\"telephone\":\"020 7000 1234\"}", name);
    testenv_response_t r = testenv_http(testenv, "POST", "/api/v1/organisations", admin, body, NULL);
    assert_int_equal(r.status, 201);
    char org[32];
    snprintf(org, sizeof(org), "%s", json_string_value(json_object_get(r.json, "id")));
    snprintf(want, sizeof(want), "%s (%s)", name, org);
    assert_string_equal(json_string_value(json_object_get(r.json, "title")), want);
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/organisations/%s", org);
    r = testenv_http(testenv, "GET", path, admin, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "title")), want);
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/organisations?q=%s", org);
    r = testenv_http(testenv, "GET", path, admin, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    testenv_response_free(&r);

    /* A child whose given names (100 characters) and family name (30) are in Tamil. */
    repeat_character("\xe0\xae\x95", 100, given); /* KA */
    repeat_character("\xe0\xae\xae", 30, family); /* MA */
    snprintf(body, sizeof(body),
             "{\"legal_name\":{\"given\":\"%s\",\"family\":\"%s\"},\"gender\":\"female\","
             "\"date_of_birth\":\"2014-06-03\"}",
             given, family);
    r = testenv_http(testenv, "POST", "/api/v1/people", sw, body, NULL);
    assert_int_equal(r.status, 201);
    char child[32];
    snprintf(child, sizeof(child), "%s", json_string_value(json_object_get(r.json, "id")));
    const char *display = json_string_value(json_object_get(r.json, "display_name"));
    assert_non_null(display);
    snprintf(want, sizeof(want), "%s (%s)", display, child);
    assert_string_equal(json_string_value(json_object_get(r.json, "title")), want);
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/people/%s", child);
    r = testenv_http(testenv, "GET", path, sw, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "title")), want);
    testenv_response_free(&r);
    snprintf(path, sizeof(path), "/api/v1/people?name=%s", child);
    r = testenv_http(testenv, "GET", path, sw, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    testenv_response_free(&r);

    /* An account named in 160 characters of two bytes each. */
    repeat_character("\xc5\x81", 160, name); /* L with stroke */
    char today[16];
    testenv_sql_date(testenv, "current_date", today);
    snprintf(body, sizeof(body),
             "{\"username\":\"long.name\",\"name\":\"%s\",\"password\":\"a-long-password-123\","
             "\"roles\":[\"social-worker\"],\"prerequisites\":{\"dbs_checked_on\":\"%s\","
             "\"training_completed_on\":\"%s\",\"aup_signed_on\":\"%s\",\"conflicts_declared_on\":\"%s\"}}",
             name, today, today, today, today);
    r = testenv_http(testenv, "POST", "/api/v1/workers", admin, body, NULL);
    assert_int_equal(r.status, 201);
    char worker[32];
    snprintf(worker, sizeof(worker), "%s", json_string_value(json_object_get(r.json, "id")));
    snprintf(want, sizeof(want), "%s (%s)", name, worker);
    assert_string_equal(json_string_value(json_object_get(r.json, "title")), want);
    testenv_response_free(&r);
    free(admin);
    free(sw);
}

/* A key used for one daemon's call and then for another's (an organisation added, then a worker):
 * the second is refused and changes nothing, where each daemon, having seen the key once, made its
 * change. The first call again still gets its answer; another worker's same key is their own. */
static void test_a_key_used_again_for_a_call_another_daemon_serves_is_refused(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    const char *key = "Idempotency-Key: 7d1f0c2a-cross-daemon";
    testenv_response_t a = testenv_http(testenv, "POST", "/api/v1/organisations", admin,
                                        "{\"name\":\"Cross Key Family Centre\"}", key);
    assert_int_equal(a.status, 201);
    long workers = testenv_sql_long(testenv, "SELECT count(*) FROM accounts.workers");
    testenv_response_t b = testenv_http(
        testenv, "POST", "/api/v1/workers", admin,
        "{\"username\":\"cross.key\",\"name\":\"Cross Key\",\"password\":\"a-long-password-123\","
        "\"roles\":[\"social-worker\"],\"prerequisites\":{\"dbs_checked_on\":\"2026-08-29\","
        "\"training_completed_on\":\"2026-08-29\",\"aup_signed_on\":\"2026-08-29\",\"conflicts_declared_on\":"
        "\"2026-08-29\"}}",
        key);
    testenv_assert_error(&b, 409, "idempotency_key_reused");
    assert_non_null(strstr(b.body, "POST /api/v1/organisations"));
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM accounts.workers"), workers);
    testenv_response_t c = testenv_http(testenv, "POST", "/api/v1/organisations", admin,
                                        "{\"name\":\"Cross Key Family Centre\"}", key);
    assert_int_equal(c.status, 201);
    assert_string_equal(json_string_value(json_object_get(c.json, "id")),
                        json_string_value(json_object_get(a.json, "id")));
    char *sw = testenv_login(testenv, "mash.sw");
    testenv_response_t d = testenv_http(testenv, "POST", "/api/v1/people", sw,
                                        "{\"legal_name\":{\"given\":\"Crispin\",\"family\":\"Keyworth\"},"
                                        "\"gender\":\"male\",\"date_of_birth\":\"2015-03-03\"}",
                                        key);
    assert_int_equal(d.status, 201);
    testenv_response_free(&a);
    testenv_response_free(&b);
    testenv_response_free(&c);
    testenv_response_free(&d);
    free(admin);
    free(sw);
}

/* POSTs body to path as token with the Idempotency-Key key; expects status (and code, when an error). */
static json_t *keyed(const char *token, const char *path, const char *body, const char *key, long status,
                     const char *code)
{
    char header[128];
    snprintf(header, sizeof(header), "Idempotency-Key: %s", key);
    testenv_response_t r = testenv_http(testenv, "POST", path, token, body, header);
    if (code != NULL)
        testenv_assert_error(&r, status, code);
    else if (r.status != status)
        fail_msg("POST %s with %s: %ld, not %ld: %s", path, key, r.status, status, r.body ? r.body : "");
    json_t *json = json_incref(r.json);
    testenv_response_free(&r);
    return json;
}

/* A new worker's account, its prerequisites dated today: a starter's DBS check must be valid for a
 * year more, so a fixed date would be refused once it is two years old. */
static const char *worker_body(const char *user)
{
    static char body[512];
    char today[16];
    testenv_sql_date(testenv, "current_date", today);
    snprintf(body, sizeof(body),
             "{\"username\":\"%s\",\"name\":\"Key Freed\",\"password\":\"a-long-password-123\","
             "\"roles\":[\"social-worker\"],\"prerequisites\":{\"dbs_checked_on\":\"%s\","
             "\"training_completed_on\":\"%s\",\"aup_signed_on\":\"%s\",\"conflicts_declared_on\":\"%s\"}}",
             user, today, today, today, today);
    return body;
}

/* A rejected call changes nothing, its Idempotency-Key included: a command refused (403 on a
 * restricted record, 400 bad input) or failed with nothing done (503, its daemon down) frees the key it
 * claimed, where the key stayed used and the next call with it, another, was answered 409
 * idempotency_key_reused. The same call again runs again; a key a call succeeded with stays its, and
 * a retry of that call refused in its turn does not free it. */
static void test_a_rejected_call_frees_its_idempotency_key(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *eh = testenv_login(testenv, "eh.worker");
    char person[32], notes[128], restriction[128];
    testenv_add_person(testenv, admin, "Kester", "Keyfree", "2014-04-04", person);
    snprintf(restriction, sizeof(restriction), "/api/v1/people/%s/restriction", person);
    json_decref(testenv_call_json(testenv, admin, "PUT", restriction,
                                  "{\"reason\":\"high-profile\",\"review_date\":\"2099-02-01\"}", 200));
    snprintf(notes, sizeof(notes), "/api/v1/people/%s/case-notes", person);
    const char *note = "{\"type\":\"contact\",\"title\":\"Phoned\",\"body\":\"Spoke to mum.\"}";
    const char *add = "{\"legal_name\":{\"given\":\"Freda\",\"family\":\"Keyfree\"},\"gender\":\"female\","
                      "\"date_of_birth\":\"2016-06-06\"}";

    /* The tester's: refused 403, then another call with the same key: it runs. */
    json_decref(keyed(eh, notes, note, "5c1e-refused-403", 403, "restricted_record"));
    json_t *added = keyed(eh, "/api/v1/people", add, "5c1e-refused-403", 201, NULL);
    /* Now the key is that call's: again, its answer; for the refused call, 409. */
    json_t *again = keyed(eh, "/api/v1/people", add, "5c1e-refused-403", 201, NULL);
    assert_string_equal(testenv_str(again, "id"), testenv_str(added, "id"));
    json_decref(again);
    json_decref(added);
    json_decref(keyed(eh, notes, note, "5c1e-refused-403", 409, "idempotency_key_reused"));
    assert_int_equal(testenv_sql_long(testenv,
                                      "SELECT count(*) FROM records.people WHERE family_name = 'Keyfree'"
                                      " AND given_name = 'Freda'"),
                     1);

    /* Bad input, refused by the gateway after the key was claimed: freed too. */
    json_decref(
        keyed(admin, "/api/v1/organisations", "{\"name\":\" \"}", "5c1e-refused-400", 400, "missing_field"));
    json_decref(keyed(admin, "/api/v1/workers", worker_body("key.freed.one"), "5c1e-refused-400", 201, NULL));

    /* 503, records down (the request never left): the key is free for another call, and the same
     * call sent again once records is back runs. A key a call succeeded with is not freed by a retry
     * of that call that fails. */
    json_decref(keyed(admin, "/api/v1/organisations", "{\"name\":\"Keyed Before The Outage\"}",
                      "5c1e-succeeded", 201, NULL));
    testenv_kill(testenv, "records", SIGKILL);
    json_decref(keyed(admin, "/api/v1/organisations", "{\"name\":\"Keyfree Outage Centre\"}", "5c1e-503", 503,
                      "service_unavailable"));
    json_decref(keyed(admin, "/api/v1/organisations", "{\"name\":\"Keyfree Retried Centre\"}",
                      "5c1e-503-retried", 503, "service_unavailable"));
    json_decref(keyed(admin, "/api/v1/organisations", "{\"name\":\"Keyed Before The Outage\"}",
                      "5c1e-succeeded", 503, "service_unavailable"));
    json_decref(keyed(admin, "/api/v1/workers", worker_body("key.freed.two"), "5c1e-503", 201, NULL));
    json_decref(keyed(admin, "/api/v1/workers", worker_body("key.freed.three"), "5c1e-succeeded", 409,
                      "idempotency_key_reused"));
    testenv_restart(testenv, "records");
    json_decref(keyed(admin, "/api/v1/organisations", "{\"name\":\"Keyfree Retried Centre\"}",
                      "5c1e-503-retried", 201, NULL));
    json_decref(keyed(admin, "/api/v1/organisations", "{\"name\":\"Keyfree Outage Centre\"}", "5c1e-503", 409,
                      "idempotency_key_reused"));
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM records.organisations"
                                               " WHERE name LIKE 'Keyfree %'"),
                     1);
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM accounts.workers"
                                               " WHERE username LIKE 'key.freed.%'"),
                     2);
    free(admin);
    free(eh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_added_organisation_is_found_read_and_audited),
        cmocka_unit_test(test_a_long_name_in_any_script_is_added_read_found_and_titled_whole),
        cmocka_unit_test(test_a_key_used_again_for_a_call_another_daemon_serves_is_refused),
        cmocka_unit_test(test_the_same_idempotency_key_adds_one_organisation),
        cmocka_unit_test(test_a_rejected_call_frees_its_idempotency_key),
        cmocka_unit_test(test_roles_limit_who_adds_organisations_and_reads_the_trail),
        cmocka_unit_test(test_signing_out_ends_the_token_at_once),
        cmocka_unit_test(test_the_gateway_refuses_to_start_with_bad_session_settings),
        cmocka_unit_test(test_wrong_password_and_unknown_user_get_the_same_answer),
        cmocka_unit_test(test_health_readiness_and_metrics_of_every_daemon),
        cmocka_unit_test(test_connections_stay_open_after_a_post),
    };
    return cmocka_run_group_tests(tests, testenv_group_setup, testenv_group_teardown);
}
