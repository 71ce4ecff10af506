/* services/gateway/openapi.yaml is true: every operation it documents is served, answers with one
 * of the statuses documented for it, and every error body has the documented shape. */
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

static yaml_document_t doc;

static yaml_node_t *map_get(yaml_node_t *map, const char *key)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&doc, p->key);
        if (k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
            return yaml_document_get_node(&doc, p->value);
    }
    return NULL;
}

static int documented(yaml_node_t *responses, long status)
{
    char code[8];
    snprintf(code, sizeof(code), "%ld", status);
    return map_get(responses, code) != NULL;
}

/* A parameter, its $ref followed to components/parameters. */
static yaml_node_t *parameter_of(yaml_node_t *root, yaml_node_t *param)
{
    yaml_node_t *ref = map_get(param, "$ref");
    if (ref == NULL)
        return param;
    const char *name = strrchr((char *)ref->data.scalar.value, '/');
    assert_non_null(name);
    return map_get(map_get(map_get(root, "components"), "parameters"), name + 1);
}

/* Each query parameter documented for op is one the call takes: given alone, it is never refused as
 * unknown (its value may be refused: that it was read is what counts). */
static void assert_query_parameters_taken(yaml_node_t *root, yaml_node_t *op, const char *template,
                                          const char *concrete, const char *token)
{
    yaml_node_t *params = map_get(op, "parameters");
    if (params == NULL || params->type != YAML_SEQUENCE_NODE)
        return;
    for (yaml_node_item_t *i = params->data.sequence.items.start; i < params->data.sequence.items.top; i++) {
        yaml_node_t *param = parameter_of(root, yaml_document_get_node(&doc, *i));
        yaml_node_t *in = map_get(param, "in"), *name = map_get(param, "name");
        assert_non_null(in);
        assert_non_null(name);
        if (strcmp((char *)in->data.scalar.value, "query") != 0)
            continue;
        char url[512];
        snprintf(url, sizeof(url), "%s?%s=1", concrete, (char *)name->data.scalar.value);
        testenv_response_t r = testenv_http(testenv, "GET", url, token, NULL, NULL);
        const char *code = json_string_value(json_object_get(json_object_get(r.json, "error"), "code"));
        if (code != NULL && strcmp(code, "unknown_parameter") == 0)
            fail_msg("GET %s documents the query parameter '%s', which the gateway does not take: %s",
                     template, (char *)name->data.scalar.value, r.body);
        testenv_response_free(&r);
    }
}

/* template with its path parameters filled in: 7500065 (Hampden Children Centre) for each, but
 * value for the one named name (when name is not NULL). */
static void concrete_path(const char *template, const char *name, const char *value, char *out, size_t size)
{
    size_t n = 0;
    for (const char *t = template; *t && n + 1 < size;) {
        if (*t == '{') {
            const char *close = strchr(t, '}');
            int bad = name != NULL && strlen(name) == (size_t)(close - t - 1) &&
                      strncmp(t + 1, name, strlen(name)) == 0;
            int w = snprintf(out + n, size - n, "%s", bad ? value : "7500065");
            n = w < 0 || (size_t)w >= size - n ? size - 1 : n + (size_t)w;
            t = close + 1;
        } else {
            out[n++] = *t++;
        }
    }
    out[n] = '\0';
}

/* Each path parameter documented as an id (pattern ^[0-9]+$) is checked as one before anything else:
 * a value of another shape (negative, a float, Arabic-Indic digits, past bigint) answers 400
 * invalid_id naming it, which the operation documents, where it answered 404 as if no record had
 * that id. */
static void assert_path_ids_checked(yaml_node_t *root, yaml_node_t *op, const char *method,
                                    const char *template, const char *token)
{
    yaml_node_t *params = map_get(op, "parameters");
    if (params == NULL || params->type != YAML_SEQUENCE_NODE)
        return;
    static const char *const bad[] = {"-1", "1e5", "%D9%A1", "99999999999999999999999", "0x10"};
    for (yaml_node_item_t *i = params->data.sequence.items.start; i < params->data.sequence.items.top; i++) {
        yaml_node_t *param = parameter_of(root, yaml_document_get_node(&doc, *i));
        yaml_node_t *in = map_get(param, "in"), *name = map_get(param, "name");
        yaml_node_t *pattern = map_get(map_get(param, "schema"), "pattern");
        if (strcmp((char *)in->data.scalar.value, "path") != 0 || pattern == NULL ||
            strcmp((char *)pattern->data.scalar.value, "^[0-9]+$") != 0)
            continue;
        const char *pname = (char *)name->data.scalar.value;
        for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
            char url[300];
            concrete_path(template, pname, bad[b], url, sizeof(url));
            testenv_response_t r =
                testenv_http(testenv, method, url, token, map_get(op, "requestBody") ? "{}" : NULL, NULL);
            const json_t *error = json_object_get(r.json, "error");
            const char *code = json_string_value(json_object_get(error, "code"));
            const char *field = json_string_value(json_object_get(error, "field"));
            if (r.status != 400 || code == NULL || strcmp(code, "invalid_id") != 0 || field == NULL ||
                strcmp(field, pname) != 0 || !documented(map_get(op, "responses"), 400))
                fail_msg("%s %s with %s '%s' answered %ld: %s", method, template, pname, bad[b], r.status,
                         r.body ? r.body : "");
            testenv_response_free(&r);
        }
    }
}

static void test_every_documented_operation_is_served_as_documented(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof(path), "%s/services/gateway/openapi.yaml", TSR_SOURCE_DIR);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    assert_int_equal(yaml_parser_load(&parser, &doc), 1);
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    assert_non_null(root);
    assert_non_null(map_get(root, "openapi"));
    yaml_node_t *paths = map_get(root, "paths");
    assert_non_null(paths);

    char *admin = testenv_login(testenv, "admin");
    char *auditor = testenv_login(testenv, "auditor");
    int operations = 0;
    for (yaml_node_pair_t *p = paths->data.mapping.pairs.start; p < paths->data.mapping.pairs.top; p++) {
        const char *template = (char *)yaml_document_get_node(&doc, p->key)->data.scalar.value;
        yaml_node_t *item = yaml_document_get_node(&doc, p->value);
        /* Path parameters become a known record: Hampden Children Centre. */
        char concrete[256];
        concrete_path(template, NULL, NULL, concrete, sizeof(concrete));
        static const char *const methods[] = {"get", "post", "put", "delete", "patch"};
        for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
            yaml_node_t *op = map_get(item, methods[m]);
            if (op == NULL)
                continue;
            operations++;
            yaml_node_t *responses = map_get(op, "responses");
            assert_non_null(responses);
            char method[8];
            for (size_t c = 0; c <= strlen(methods[m]); c++)
                method[c] = (char)(methods[m][c] >= 'a' ? methods[m][c] - 32 : methods[m][c]);
            int needs_token = map_get(op, "security") == NULL;
            /* Signing out ends the token used, so it gets one of its own. */
            char *own = NULL;
            const char *token = NULL;
            if (needs_token) {
                if (strcmp(method, "DELETE") == 0 && strstr(template, "session"))
                    token = own = testenv_login(testenv, "mash.sw");
                else
                    token = strstr(template, "/audit/") ? auditor : admin;
            }
            const char *body = map_get(op, "requestBody") ? "{}" : NULL;
            testenv_response_t r = testenv_http(testenv, method, concrete, token, body, NULL);
            if (!documented(responses, r.status))
                fail_msg("%s %s answered %ld, which openapi.yaml does not document: %s", method, template,
                         r.status, r.body ? r.body : "");
            if (r.status >= 400) {
                json_t *error = json_object_get(r.json, "error");
                if (!json_is_string(json_object_get(error, "code")) ||
                    !json_is_string(json_object_get(error, "message")))
                    fail_msg("%s %s: error body without code and message: %s", method, template, r.body);
            }
            /* Without a token, every operation that documents bearer security refuses with 401. */
            if (needs_token) {
                testenv_response_t anon = testenv_http(testenv, method, concrete, NULL, body, NULL);
                if (anon.status != 401 || !documented(responses, 401))
                    fail_msg("%s %s without a token answered %ld", method, template, anon.status);
                testenv_response_free(&anon);
            }
            testenv_response_free(&r);
            if (strcmp(method, "GET") == 0)
                assert_query_parameters_taken(root, op, template, concrete, token);
            if (token != NULL)
                assert_path_ids_checked(root, op, method, template, token);
            free(own);
        }
    }
    assert_true(operations >= 9);
    free(admin);
    free(auditor);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_documented_operation_is_served_as_documented),
    };
    return cmocka_run_group_tests(tests, testenv_group_setup, testenv_group_teardown);
}
