/* tessera demo load: the demo workers and organisations of `make run`, through the daemons that own
 * them (so the audit trail sees the organisations arrive like any others). Safe to run again. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts.pb-c.h"
#include "cli.h"
#include "records.pb-c.h"

static const char *demo__string(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

static const char *demo__item(json_t *array, size_t i)
{
    const char *s = json_string_value(json_array_get(array, i));
    return s ? s : "";
}

static int demo__load_worker(cli_context_t *ctx, json_t *w, const char *password, size_t index)
{
    Tsr__Accounts__WorkerImport in = TSR__ACCOUNTS__WORKER_IMPORT__INIT;
    in.username = (char *)demo__string(w, "username");
    in.name = (char *)demo__string(w, "name");
    in.password = (char *)password;
    json_t *roles = json_object_get(w, "roles"), *teams = json_object_get(w, "teams");
    if (!json_is_array(roles) || !json_is_array(teams)) {
        fprintf(stderr, "tessera: workers[%zu] needs 'roles' and 'teams' lists\n", index);
        return -1;
    }
    char *role_names[32], *team_names[32];
    in.n_roles = json_array_size(roles) < 32 ? json_array_size(roles) : 32;
    in.n_teams = json_array_size(teams) < 32 ? json_array_size(teams) : 32;
    for (size_t i = 0; i < in.n_roles; i++)
        role_names[i] = (char *)demo__item(roles, i);
    for (size_t i = 0; i < in.n_teams; i++)
        team_names[i] = (char *)demo__item(teams, i);
    in.roles = role_names;
    in.teams = team_names;
    /* Demo workers meet every access prerequisite as of today, unless the file says otherwise. */
    char today[16];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(today, sizeof(today), "%Y-%m-%d", &tm);
    Tsr__Accounts__WorkerPrerequisites pre = TSR__ACCOUNTS__WORKER_PREREQUISITES__INIT;
    json_t *given = json_object_get(w, "prerequisites");
    pre.dbs_checked_on =
        (char *)(json_object_get(given, "dbs_checked_on") ? demo__string(given, "dbs_checked_on") : today);
    pre.training_completed_on = (char *)(json_object_get(given, "training_completed_on")
                                             ? demo__string(given, "training_completed_on")
                                             : today);
    pre.aup_signed_on =
        (char *)(json_object_get(given, "aup_signed_on") ? demo__string(given, "aup_signed_on") : today);
    pre.risk_assessment_approved = json_is_true(json_object_get(given, "risk_assessment_approved"));
    in.prerequisites = &pre;
    Tsr__Envelope *reply = NULL;
    if (cli_call(ctx, "accounts", "accounts.worker.import", NULL, &in.base, &reply) != 0)
        return -1;
    tsr__envelope__free_unpacked(reply, NULL);
    return 0;
}

static int demo__load_organisation(cli_context_t *ctx, json_t *o, size_t index)
{
    Tsr__Records__OrganisationCreate in = TSR__RECORDS__ORGANISATION_CREATE__INIT;
    const char *id = demo__string(o, "id");
    char *end = NULL;
    in.id = strtoull(id, &end, 10);
    if (in.id == 0 || *end != '\0') {
        fprintf(stderr, "tessera: organisations[%zu].id must be a string of digits\n", index);
        return -1;
    }
    in.name = (char *)demo__string(o, "name");
    in.address = (char *)demo__string(o, "address");
    in.telephone = (char *)demo__string(o, "telephone");
    Tsr__Envelope *reply = NULL;
    if (cli_call(ctx, "records", "records.organisation.create", NULL, &in.base, &reply) != 0)
        return -1;
    tsr__envelope__free_unpacked(reply, NULL);
    return 0;
}

/* A demo person; one already there (same NHS number) is left as it is, so a second load is harmless. */
static int demo__load_person(cli_context_t *ctx, json_t *p, size_t index)
{
    Tsr__Records__PersonCreate in = TSR__RECORDS__PERSON_CREATE__INIT;
    Tsr__Records__PersonName name = TSR__RECORDS__PERSON_NAME__INIT;
    json_t *legal = json_object_get(p, "legal_name");
    name.given = (char *)demo__string(legal, "given");
    name.family = (char *)demo__string(legal, "family");
    in.legal_name = &name;
    char *others[16];
    json_t *list = json_object_get(p, "other_names");
    in.n_other_names = json_array_size(list) < 16 ? json_array_size(list) : 16;
    for (size_t i = 0; i < in.n_other_names; i++)
        others[i] = (char *)demo__item(list, i);
    in.other_names = others;
    in.gender = (char *)demo__string(p, "gender");
    in.date_of_birth = (char *)demo__string(p, "date_of_birth");
    in.nhs_number = (char *)demo__string(p, "nhs_number");
    if (name.family[0] == '\0' || in.nhs_number[0] == '\0') {
        fprintf(stderr, "tessera: people[%zu] needs legal_name.family and nhs_number\n", index);
        return -1;
    }
    Tsr__Envelope *reply = NULL;
    int rc =
        cli_call_quiet(ctx, "records", "records.person.create", &in.base, &reply, "duplicate_nhs_number");
    if (reply)
        tsr__envelope__free_unpacked(reply, NULL);
    return rc;
}

int cli_demo_load(cli_context_t *ctx, int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "usage: tessera demo load FILE\n");
        return 2;
    }
    const char *demo = tsr_config_get(ctx->config, "tessera.demo", "false");
    if (strcmp(demo, "true") != 0) {
        fprintf(stderr,
                "tessera: demo data is loaded only in demo mode (tessera.demo = true); this instance "
                "has tessera.demo = %s.\n",
                demo);
        return 2;
    }
    json_error_t jerr;
    json_t *root = json_load_file(argv[0], 0, &jerr);
    if (root == NULL) {
        fprintf(stderr, "tessera: %s:%d:%d: %s\n", argv[0], jerr.line, jerr.column, jerr.text);
        return 2;
    }
    int rc = 1;
    const char *password = json_string_value(json_object_get(root, "password"));
    json_t *workers = json_object_get(root, "workers"), *orgs = json_object_get(root, "organisations");
    if (password == NULL || !json_is_array(workers) || !json_is_array(orgs)) {
        fprintf(stderr, "tessera: %s needs 'password', 'workers' and 'organisations'\n", argv[0]);
        goto done;
    }
    size_t i;
    json_t *item;
    json_array_foreach(workers, i, item)
    {
        if (demo__load_worker(ctx, item, password, i) != 0)
            goto done;
    }
    json_array_foreach(orgs, i, item)
    {
        if (demo__load_organisation(ctx, item, i) != 0)
            goto done;
    }
    json_t *people = json_object_get(root, "people");
    json_array_foreach(people, i, item)
    {
        if (demo__load_person(ctx, item, i) != 0)
            goto done;
    }
    printf("Loaded %zu demo workers, %zu organisations and %zu people.\n", json_array_size(workers),
           json_array_size(orgs), json_array_size(people));
    rc = 0;
done:
    json_decref(root);
    return rc;
}
