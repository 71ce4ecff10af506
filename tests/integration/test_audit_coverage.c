/* Issue 7: every read and write call of the API that touches a person's record produces exactly one
 * audit entry for each person it touches, and none for anyone else. The test walks openapi.yaml:
 * every operation on people, on work steps, on requests and of Family Context must be exercised here (or be
 * named below as touching no person's record, with the reason), so that a call added to the API without its
 * audit fails this test. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "tsr_testenv.h"

#define MAX_OPS 96

static char covered[MAX_OPS][96];
static int n_covered;

/* Operations that touch no person's record. */
static const char *const not_a_person[][2] = {
    {"GET /api/v1/steps/{id}/recipients",
     "lists the workers and teams a request may go to, nothing of the person"},
    {"GET /api/v1/retention/schedule", "the council's retention schedule, nothing of any person"},
};

static const char *op_name;
static const char *op_people[4];
static int op_n;
static long op_before_total;
static long op_before[4];

/* The entries about people in all, and about each of the operation's people: one query (each is a
 * psql run, and this test makes hundreds). */
static void count_entries(long *total, long *each)
{
    char sql[400], out[256];
    int n = snprintf(sql, sizeof(sql), "SELECT count(*)");
    for (int i = 0; i < op_n; i++)
        n += snprintf(sql + n, sizeof(sql) - (size_t)n, " || ' ' || count(*) FILTER (WHERE record_id = %s)",
                      op_people[i]);
    snprintf(sql + n, sizeof(sql) - (size_t)n, " FROM audit.entries WHERE record_kind = 'person'");
    assert_int_equal(testenv_psql(testenv, NULL, sql, out, sizeof(out)), 0);
    char *at = out;
    *total = strtol(at, &at, 10);
    for (int i = 0; i < op_n; i++)
        each[i] = strtol(at, &at, 10);
}

/* How many entries the operation leaves for each person: one, but for a call that is two changes to
 * the record at once. */
static long op_each = 1;

/* Starts one operation that should leave one entry for each of the people (NULL-terminated). */
static void op_start(const char *name, const char *p1, const char *p2)
{
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    op_each = 1;
    op_name = name;
    op_people[0] = p1;
    op_people[1] = p2;
    op_n = p1 == NULL ? 0 : p2 ? 2 : 1;
    count_entries(&op_before_total, op_before);
}

static void op_end(void)
{
    assert_int_equal(testenv_wait_audit_caught_up(testenv, 10000), 0);
    long total, now[4];
    count_entries(&total, now);
    for (int i = 0; i < op_n; i++) {
        if (now[i] != op_before[i] + op_each)
            fail_msg("%s left %ld audit entries for person %s, not %ld", op_name, now[i] - op_before[i],
                     op_people[i], op_each);
    }
    if (total != op_before_total + op_n * op_each)
        fail_msg("%s left %ld audit entries about people, not %ld", op_name, total - op_before_total,
                 op_n * op_each);
    assert_true(n_covered < MAX_OPS);
    snprintf(covered[n_covered++], sizeof(covered[0]), "%s", op_name);
}

static json_t *call(const char *token, const char *method, const char *path, const char *body, long status)
{
    testenv_response_t r = testenv_http(testenv, method, path, token, body, NULL);
    if (r.status != status)
        fail_msg("%s %s %s: %ld %s", method, path, body ? body : "", r.status, r.body ? r.body : "");
    json_t *json = r.json ? json_incref(r.json) : NULL;
    testenv_response_free(&r);
    return json;
}

static void id_of(json_t *j, const char *key, char out[32])
{
    const char *v = json_string_value(json_object_get(j, key));
    if (v == NULL)
        fail_msg("no %s in %s", key, json_dumps(j, 0));
    snprintf(out, 32, "%s", v ? v : "");
}

static long worker_id(const char *username)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT id FROM accounts.workers WHERE username = '%s'", username);
    return testenv_sql_long(testenv, sql);
}

/* The id of the request of that type in a step's JSON. */
static void request_of(json_t *step, const char *type, char out[32])
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(step, "requests"), i, r)
    {
        if (strcmp(json_string_value(json_object_get(r, "type")), type) == 0) {
            id_of(r, "id", out);
            return;
        }
    }
    fail_msg("no %s request in the step", type);
}

static void test_every_call_about_a_person_leaves_exactly_one_entry_each(void **state)
{
    (void)state;
    char *admin = testenv_login(testenv, "admin");
    char *sw = testenv_login(testenv, "mash.sw");
    char *sa = testenv_login(testenv, "safeguarding.admin");
    char *kw = testenv_login(testenv, "key.worker");
    char *mgr = testenv_login(testenv, "mash.manager");
    char p[32], q[32], d[32], path[160], body[1024], id[32], aid[32], iid[32], rid[32];

    /* People. */
    testenv_add_person(testenv, sw, "Quentin", "Auditmore", "2012-02-02", q);
    testenv_add_person(testenv, sw, "Dylan", "Auditmore-Twin", "2012-02-02", d);
    op_start("POST /api/v1/people", NULL, NULL);
    op_n = 0; /* the new person's id is known only after the call */
    testenv_add_person(testenv, sw, "Percival", "Auditmore", "2012-02-02", p);
    op_people[0] = p;
    op_before[0] = 0;
    op_n = 1;
    op_end();

    /* A search shows each person it finds, and each is an entry: a search by id finds one. */
    snprintf(path, sizeof(path), "/api/v1/people?name=%s", p);
    op_start("GET /api/v1/people", p, NULL);
    json_decref(call(sw, "GET", path, NULL, 200));
    op_end();

    snprintf(path, sizeof(path), "/api/v1/people/%s", p);
    op_start("GET /api/v1/people/{id}", p, NULL);
    json_decref(call(sw, "GET", path, NULL, 200));
    op_end();

    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations", p);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%ld\",\"role\":\"key-worker\",\"service\":\"CSSW\"}",
             worker_id("key.worker"));
    op_start("POST /api/v1/people/{id}/allocations", p, NULL);
    json_t *j = call(admin, "POST", path, body, 201);
    id_of(j, "id", aid);
    json_decref(j);
    op_end();

    snprintf(path, sizeof(path), "/api/v1/people/%s/allocations/%s", p, aid);
    op_start("DELETE /api/v1/people/{id}/allocations/{aid}", p, NULL);
    json_decref(call(admin, "DELETE", path, NULL, 204));
    op_end();

    snprintf(path, sizeof(path), "/api/v1/people/%s/restriction", p);
    snprintf(body, sizeof(body),
             "{\"reason\":\"case-review\",\"review_date\":\"2098-01-01\",\"workers\":[\"%ld\"]}",
             worker_id("mash.sw"));
    op_start("PUT /api/v1/people/{id}/restriction", p, NULL);
    json_decref(call(admin, "PUT", path, body, 200));
    op_end();
    /* Reviewed by 2098-01-01: the only restriction to review that day. */
    op_start("GET /api/v1/restrictions/due", p, NULL);
    json_decref(call(admin, "GET", "/api/v1/restrictions/due?on=2098-01-01", NULL, 200));
    op_end();
    op_start("DELETE /api/v1/people/{id}/restriction", p, NULL);
    json_decref(call(admin, "DELETE", path, NULL, 204));
    op_end();

    char nhs[11];
    testenv_new_nhs_number(nhs);
    snprintf(path, sizeof(path), "/api/v1/people/%s/nhs-number", p);
    snprintf(body, sizeof(body), "{\"nhs_number\":\"%s\"}", nhs);
    op_start("PUT /api/v1/people/{id}/nhs-number", p, NULL);
    json_decref(call(sw, "PUT", path, body, 200));
    op_end();

    snprintf(path, sizeof(path), "/api/v1/people/%s/details", p);
    op_start("PUT /api/v1/people/{id}/details", p, NULL);
    json_decref(
        call(sw, "PUT", path,
             "{\"legal_name\":{\"given\":\"Percival\",\"family\":\"Auditmore\"},"
             "\"other_names\":[\"Percy Auditmore\"],\"date_of_birth\":\"2012-02-02\",\"gender\":\"female\"}",
             200));
    op_end();

    snprintf(path, sizeof(path), "/api/v1/people/%s/relationships", p);
    snprintf(body, sizeof(body), "{\"person_id\":\"%s\",\"type\":\"sibling\"}", q);
    op_start("POST /api/v1/people/{id}/relationships", p, q);
    json_decref(call(sw, "POST", path, body, 201));
    op_end();

    snprintf(path, sizeof(path), "/api/v1/people/%s/case-notes", p);
    op_start("POST /api/v1/people/{id}/case-notes", p, NULL);
    j = call(sw, "POST", path, "{\"type\":\"contact\",\"title\":\"Phoned school\",\"body\":\"All well.\"}",
             201);
    char nid[32];
    id_of(j, "id", nid);
    json_decref(j);
    op_end();
    op_start("GET /api/v1/people/{id}/case-notes", p, NULL);
    json_decref(call(sw, "GET", path, NULL, 200));
    op_end();
    snprintf(path, sizeof(path), "/api/v1/people/%s/case-notes/%s/remove", p, nid);
    op_start("POST /api/v1/people/{id}/case-notes/{nid}/remove", p, NULL);
    json_decref(call(admin, "POST", path, "{\"reason\":\"inaccurate\"}", 200));
    op_end();

    snprintf(path, sizeof(path), "/api/v1/people/%s/involvements", p);
    op_start("POST /api/v1/people/{id}/involvements", p, NULL);
    j = call(admin, "POST", path,
             "{\"service\":\"EH\",\"kind\":\"early-help\",\"start_date\":\"2025-01-06\"}", 201);
    id_of(j, "id", iid);
    json_decref(j);
    op_end();
    op_start("GET /api/v1/people/{id}/involvements", p, NULL);
    json_decref(call(sw, "GET", path, NULL, 200));
    op_end();
    snprintf(path, sizeof(path), "/api/v1/people/%s/involvements/%s/end", p, iid);
    op_start("POST /api/v1/people/{id}/involvements/{iid}/end", p, NULL);
    json_decref(call(admin, "POST", path, "{\"end_date\":\"2025-06-30\"}", 200));
    op_end();

    /* Addresses: one recorded, its history read, ended. */
    char address_id[32];
    snprintf(path, sizeof(path), "/api/v1/people/%s/addresses", p);
    op_start("POST /api/v1/people/{id}/addresses", p, NULL);
    j = call(
        sw, "POST", path,
        "{\"type\":\"main\",\"lines\":[\"1 Audit Row\"],\"town\":\"London\",\"start_date\":\"2025-01-06\"}",
        201);
    id_of(j, "id", address_id);
    json_decref(j);
    op_end();
    op_start("GET /api/v1/people/{id}/addresses", p, NULL);
    json_decref(call(sw, "GET", path, NULL, 200));
    op_end();
    snprintf(path, sizeof(path), "/api/v1/people/%s/addresses/%s/end", p, address_id);
    op_start("POST /api/v1/people/{id}/addresses/{aid}/end", p, NULL);
    json_decref(call(sw, "POST", path, NULL, 200));
    op_end();

    /* Retention (seed 002): the closed case flagged, held and released, listed as due, unflagged; by
     * system support, who stand for every service (the involvement named no worker). */
    snprintf(path, sizeof(path), "/api/v1/people/%s/retention/EH", p);
    op_start("PUT /api/v1/people/{id}/retention/{service}", p, NULL);
    json_decref(call(admin, "PUT", path, "{\"criterion\":\"eh-contact-only\"}", 200));
    op_end();
    snprintf(path, sizeof(path), "/api/v1/people/%s/retention-hold", p);
    op_start("PUT /api/v1/people/{id}/retention-hold", p, NULL);
    json_decref(call(admin, "PUT", path, "{\"reason\":\"An inquiry\"}", 200));
    op_end();
    op_start("DELETE /api/v1/people/{id}/retention-hold", p, NULL);
    json_decref(call(admin, "DELETE", path, NULL, 204));
    op_end();
    /* The key worker's CSSW allocation, ended, makes CSSW one of the record's services too. */
    snprintf(path, sizeof(path), "/api/v1/people/%s/retention/CSSW", p);
    json_decref(call(admin, "PUT", path, "{\"criterion\":\"cssw-contact-only\"}", 200));
    op_start("GET /api/v1/retention/due", p, NULL);
    snprintf(path, sizeof(path), "/api/v1/retention/due?on=2099-01-01&person_id=%s", p);
    json_decref(call(admin, "GET", path, NULL, 200));
    op_end();
    snprintf(path, sizeof(path), "/api/v1/people/%s/retention/EH", p);
    op_start("DELETE /api/v1/people/{id}/retention/{service}", p, NULL);
    call(admin, "DELETE", path, "{\"reason\":\"Flagged in error: the case reopened\"}", 204);
    op_end();

    /* Family Context: a case-ID search finds one, and a view is one. */
    snprintf(path, sizeof(path), "/api/v1/family-context/search?case_id=%s", p);
    op_start("GET /api/v1/family-context/search", p, NULL);
    json_decref(call(sw, "GET", path, NULL, 200));
    op_end();
    snprintf(path, sizeof(path), "/api/v1/family-context/people/%s", p);
    op_start("GET /api/v1/family-context/people/{id}", p, NULL);
    json_decref(call(sw, "GET", path, NULL, 200));
    op_end();

    snprintf(path, sizeof(path), "/api/v1/people/%s/merge", q);
    snprintf(body, sizeof(body), "{\"duplicate_id\":\"%s\"}", d);
    op_start("POST /api/v1/people/{id}/merge", q, d);
    json_decref(call(admin, "POST", path, body, 200));
    op_end();

    /* Work about a person: a CPIS Follow up, and a request to system support to restrict the record. */
    snprintf(body, sizeof(body),
             "{\"type\":\"cpis-follow-up\",\"subject\":{\"kind\":\"person\",\"id\":\"%s\"}}", p);
    op_start("POST /api/v1/steps", p, NULL);
    j = call(sa, "POST", "/api/v1/steps", body, 201);
    id_of(j, "id", id);
    json_decref(j);
    op_end();

    snprintf(path, sizeof(path), "/api/v1/steps?subject_kind=person&subject_id=%s", p);
    op_start("GET /api/v1/steps", p, NULL);
    json_decref(call(sa, "GET", path, NULL, 200));
    op_end();

    snprintf(path, sizeof(path), "/api/v1/steps/%s", id);
    op_start("GET /api/v1/steps/{id}", p, NULL);
    json_decref(call(sa, "GET", path, NULL, 200));
    op_end();

    snprintf(path, sizeof(path), "/api/v1/steps/%s/resume", id);
    op_start("POST /api/v1/steps/{id}/resume", p, NULL);
    json_decref(call(sa, "POST", path, "{}", 200));
    op_end();

    snprintf(path, sizeof(path), "/api/v1/steps/%s/sections/1", id);
    op_start("PUT /api/v1/steps/{id}/sections/{section}", p, NULL);
    json_decref(call(sa, "PUT", path, "{\"data\":{\"comments\":\"Seen at A&E.\"},\"completed\":true}", 200));
    op_end();

    snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", id);
    snprintf(
        body, sizeof(body),
        "{\"type\":\"cs-notification-to-allocated-worker-cpis-follow-up\",\"to\":{\"worker_id\":\"%ld\"}}",
        worker_id("key.worker"));
    op_start("POST /api/v1/steps/{id}/requests", p, NULL);
    j = call(sa, "POST", path, body, 201);
    request_of(j, "cs-notification-to-allocated-worker-cpis-follow-up", rid);
    json_decref(j);
    op_end();

    snprintf(path, sizeof(path), "/api/v1/requests/%s/acknowledge", rid);
    op_start("POST /api/v1/requests/{id}/acknowledge", p, NULL);
    /* Two changes to the child's record: the request acknowledged, and the CP-IS case note it asks
     * for added (by records, as the key worker's). */
    op_each = 2;
    json_decref(call(kw, "POST", path, "{\"case_note\":\"Called the family; no new concerns.\"}", 200));
    op_end();

    snprintf(path, sizeof(path), "/api/v1/steps/%s/assign", id);
    snprintf(body, sizeof(body), "{\"worker_id\":\"%ld\"}", worker_id("safeguarding.admin"));
    op_start("POST /api/v1/steps/{id}/assign", p, NULL);
    json_decref(call(sa, "POST", path, body, 200));
    op_end();

    snprintf(body, sizeof(body), "{\"step_ids\":[\"%s\"],\"virtual_worker\":\"cp-is-worker\"}", id);
    op_start("POST /api/v1/steps/assign", p, NULL);
    json_decref(call(sa, "POST", "/api/v1/steps/assign", body, 200));
    op_end();

    snprintf(path, sizeof(path), "/api/v1/steps/%s/resume", id);
    json_decref(call(sa, "POST", path, "{}", 200));
    snprintf(path, sizeof(path), "/api/v1/steps/%s/finish", id);
    op_start("POST /api/v1/steps/{id}/finish", p, NULL);
    json_decref(call(sa, "POST", path,
                     "{\"next_actions\":[{\"action\":\"cs-no-further-action\",\"reason\":"
                     "\"notification-sent-to-allocated-worker\"}]}",
                     200));
    op_end();

    snprintf(path, sizeof(path), "/api/v1/steps/%s/reopen", id);
    op_start("POST /api/v1/steps/{id}/reopen", p, NULL);
    json_decref(call(admin, "POST", path, "{}", 200));
    op_end();

    snprintf(path, sizeof(path), "/api/v1/steps/%s/cancel", id);
    op_start("POST /api/v1/steps/{id}/cancel", p, NULL);
    json_decref(call(admin, "POST", path, "{\"reason\":\"Started twice.\"}", 200));
    op_end();

    /* A request to system support, completed; and another, returned. */
    char second[32];
    for (int round = 0; round < 2; round++) {
        snprintf(body, sizeof(body),
                 "{\"type\":\"restrict-a-record\",\"subject\":{\"kind\":\"person\",\"id\":\"%s\"}}", p);
        j = call(mgr, "POST", "/api/v1/steps", body, 201);
        id_of(j, "id", second);
        json_decref(j);
        snprintf(path, sizeof(path), "/api/v1/steps/%s/requests", second);
        j = call(mgr, "POST", path, "{\"type\":\"action-by-system-support\"}", 201);
        request_of(j, "action-by-system-support", rid);
        json_decref(j);
        snprintf(path, sizeof(path), "/api/v1/requests/%s/%s", rid, round == 0 ? "complete" : "return");
        op_start(round == 0 ? "POST /api/v1/requests/{id}/complete" : "POST /api/v1/requests/{id}/return", p,
                 NULL);
        json_decref(call(admin, "POST", path, "{\"note\":\"Done.\"}", 200));
        op_end();
    }

    /* The last of them was recorded in error: system support deletes it. */
    snprintf(path, sizeof(path), "/api/v1/steps/%s/delete", second);
    op_start("POST /api/v1/steps/{id}/delete", p, NULL);
    json_decref(call(admin, "POST", path, "{\"reason\":\"duplicate\"}", 200));
    op_end();

    /* An unborn child's birth recorded: one entry, on the child's record. */
    char unborn[32], edd[16], born_body[400];
    testenv_sql_date(testenv, "current_date + 7", edd);
    snprintf(born_body, sizeof(born_body),
             "{\"legal_name\":{\"given\":\"\",\"family\":\"Auditmore\"},\"gender\":\"not-known\","
             "\"unborn\":true,\"mother_id\":\"%s\",\"expected_delivery_date\":\"%s\"}",
             q, edd);
    j = call(sw, "POST", "/api/v1/people", born_body, 201);
    id_of(j, "id", unborn);
    json_decref(j);
    snprintf(path, sizeof(path), "/api/v1/people/%s/birth", unborn);
    op_start("PUT /api/v1/people/{id}/birth", unborn, NULL);
    json_decref(call(sw, "PUT", path,
                     "{\"legal_name\":{\"given\":\"Bertie\",\"family\":\"Auditmore\"},\"gender\":\"male\","
                     "\"date_of_birth\":\"2026-12-01\"}",
                     200));
    op_end();

    /* A record past its retention, nothing keeping it, disposed of: one entry, the disposal. */
    char gone[32];
    testenv_add_person(testenv, sw, "Gwendolen", "Auditgone", "2010-01-01", gone);
    snprintf(path, sizeof(path), "/api/v1/people/%s/involvements", gone);
    json_decref(call(sw, "POST", path,
                     "{\"service\":\"EH\",\"kind\":\"early-help\",\"start_date\":\"2019-01-07\","
                     "\"end_date\":\"2019-05-01\"}",
                     201));
    snprintf(path, sizeof(path), "/api/v1/people/%s/retention/EH", gone);
    json_decref(call(sw, "PUT", path, "{\"criterion\":\"eh-contact-only\"}", 200));
    snprintf(path, sizeof(path), "/api/v1/people/%s/disposal", gone);
    op_start("POST /api/v1/people/{id}/disposal", gone, NULL);
    json_decref(call(admin, "POST", path, NULL, 200));
    op_end();

    /* Every operation of the API on people, steps and requests was exercised above, or touches no
     * person's record. */
    char file[512];
    snprintf(file, sizeof(file), "%s/services/gateway/openapi.yaml", TSR_SOURCE_DIR);
    FILE *f = fopen(file, "rb");
    assert_non_null(f);
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    assert_int_equal(yaml_parser_load(&parser, &doc), 1);
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    yaml_node_t *paths = NULL;
    for (yaml_node_pair_t *kv = root->data.mapping.pairs.start; kv < root->data.mapping.pairs.top; kv++)
        if (strcmp((char *)yaml_document_get_node(&doc, kv->key)->data.scalar.value, "paths") == 0)
            paths = yaml_document_get_node(&doc, kv->value);
    assert_non_null(paths);
    int checked = 0;
    for (yaml_node_pair_t *kv = paths->data.mapping.pairs.start; kv < paths->data.mapping.pairs.top; kv++) {
        const char *template = (char *)yaml_document_get_node(&doc, kv->key)->data.scalar.value;
        if (strncmp(template, "/api/v1/people", 14) != 0 && strncmp(template, "/api/v1/steps", 13) != 0 &&
            strncmp(template, "/api/v1/requests", 16) != 0 &&
            strncmp(template, "/api/v1/family-context", 22) != 0 &&
            strncmp(template, "/api/v1/retention", 17) != 0 &&
            strncmp(template, "/api/v1/restrictions", 20) != 0)
            continue;
        yaml_node_t *item = yaml_document_get_node(&doc, kv->value);
        for (yaml_node_pair_t *m = item->data.mapping.pairs.start; m < item->data.mapping.pairs.top; m++) {
            char method[16], name[96];
            snprintf(method, sizeof(method), "%s",
                     (char *)yaml_document_get_node(&doc, m->key)->data.scalar.value);
            for (char *c = method; *c; c++)
                *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
            if (strcmp(method, "PARAMETERS") == 0)
                continue;
            snprintf(name, sizeof(name), "%s %s", method, template);
            int found = 0;
            for (int i = 0; i < n_covered && !found; i++)
                found = strcmp(covered[i], name) == 0;
            for (size_t i = 0; i < sizeof(not_a_person) / sizeof(not_a_person[0]) && !found; i++)
                found = strcmp(not_a_person[i][0], name) == 0;
            if (!found)
                fail_msg("%s is in openapi.yaml but this test does not show its audit entry", name);
            checked++;
        }
    }
    assert_true(checked >= 25);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    free(admin);
    free(sw);
    free(sa);
    free(kw);
    free(mgr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_call_about_a_person_leaves_exactly_one_entry_each),
    };
    return cmocka_run_group_tests(tests, testenv_group_setup, testenv_group_teardown);
}
