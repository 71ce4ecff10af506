/* tessera demo load: the demo workers and organisations of `make run`, through the daemons that own
 * them (so the audit trail sees the organisations arrive like any others). Safe to run again. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts.pb-c.h"
#include "cli.h"
#include "cpis.pb-c.h"
#include "records.pb-c.h"
#include "tsr_json.h"
#include "tsr_text.h"

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

/* Usernames loaded so far and their ids, so that a worker can name a manager loaded before them. */
typedef struct {
    char username[72];
    uint64_t id;
} demo_loaded_t;

static uint64_t demo__loaded_id(const demo_loaded_t *loaded, size_t n, const char *username)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(loaded[i].username, username) == 0)
            return loaded[i].id;
    return 0;
}

/* YYYY-MM-DD of today plus days, local time: demo dates stay current however old the file is. */
static void demo__date_in(int days, char out[16])
{
    char today[11];
    tsr_text_today(today);
    if (tsr_text_date_add_days(today, days, out) != 0)
        snprintf(out, 16, "%s", today);
}

/* Fills list (up to 32) with the strings of a JSON array; how many. */
static size_t demo__strings(json_t *array, char **list)
{
    size_t n = json_array_size(array) < 32 ? json_array_size(array) : 32;
    for (size_t i = 0; i < n; i++)
        list[i] = (char *)demo__item(array, i);
    return n;
}

static int demo__load_worker(cli_context_t *ctx, json_t *w, const char *password, size_t index,
                             demo_loaded_t *loaded, size_t *n_loaded)
{
    Tsr__Accounts__WorkerImport in = TSR__ACCOUNTS__WORKER_IMPORT__INIT;
    in.username = (char *)demo__string(w, "username");
    in.name = (char *)demo__string(w, "name");
    /* A service account has a password of its own, a generated secret (no pause guards it). */
    in.password =
        (char *)(json_is_string(json_object_get(w, "password")) ? demo__string(w, "password") : password);
    in.email = (char *)demo__string(w, "email");
    json_t *roles = json_object_get(w, "roles"), *teams = json_object_get(w, "teams");
    if (!json_is_array(roles) || !json_is_array(teams)) {
        fprintf(stderr, "tessera: workers[%zu] needs 'roles' and 'teams' lists\n", index);
        return -1;
    }
    char *role_names[32], *team_names[32], *managed_names[32];
    in.n_roles = demo__strings(roles, role_names);
    in.n_teams = demo__strings(teams, team_names);
    in.n_managed_teams = demo__strings(json_object_get(w, "managed_teams"), managed_names);
    in.roles = role_names;
    in.teams = team_names;
    in.managed_teams = managed_names;
    const char *manager = demo__string(w, "manager");
    in.manager_id = manager[0] ? demo__loaded_id(loaded, *n_loaded, manager) : 0;
    if (manager[0] && in.manager_id == 0) {
        fprintf(stderr, "tessera: workers[%zu].manager '%s' must be a worker listed before it\n", index,
                manager);
        return -1;
    }
    /* Demo workers meet every access prerequisite as of today, unless the file says otherwise. */
    char today[16];
    demo__date_in(0, today);
    Tsr__Accounts__WorkerPrerequisites pre = TSR__ACCOUNTS__WORKER_PREREQUISITES__INIT;
    json_t *given = json_object_get(w, "prerequisites");
    pre.dbs_checked_on =
        (char *)(json_object_get(given, "dbs_checked_on") ? demo__string(given, "dbs_checked_on") : today);
    pre.training_completed_on = (char *)(json_object_get(given, "training_completed_on")
                                             ? demo__string(given, "training_completed_on")
                                             : today);
    pre.aup_signed_on =
        (char *)(json_object_get(given, "aup_signed_on") ? demo__string(given, "aup_signed_on") : today);
    pre.conflicts_declared_on = (char *)(json_object_get(given, "conflicts_declared_on")
                                             ? demo__string(given, "conflicts_declared_on")
                                             : today);
    pre.risk_assessment_approved = json_is_true(json_object_get(given, "risk_assessment_approved"));
    pre.dbs_barred_lists =
        (char *)(json_object_get(given, "dbs_barred_lists") ? demo__string(given, "dbs_barred_lists")
                                                            : "both");
    in.prerequisites = &pre;
    /* A third-party worker's contract; "ends_in_days" keeps a demo contract running. */
    Tsr__Accounts__WorkerContract contract = TSR__ACCOUNTS__WORKER_CONTRACT__INIT;
    json_t *c = json_object_get(w, "contract");
    char end_date[16];
    if (json_is_object(c)) {
        contract.name = (char *)demo__string(c, "name");
        if (json_is_integer(json_object_get(c, "ends_in_days"))) {
            demo__date_in((int)json_integer_value(json_object_get(c, "ends_in_days")), end_date);
            contract.end_date = end_date;
        } else {
            contract.end_date = (char *)demo__string(c, "end_date");
        }
        in.contract = &contract;
    }
    uint64_t id = 0;
    if (cli_worker_import(ctx, &in, &id, NULL) != 0)
        return -1;
    snprintf(loaded[*n_loaded].username, sizeof(loaded[*n_loaded].username), "%s", in.username);
    loaded[(*n_loaded)++].id = id;
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
/* A demo person's CP-IS data: what a PDS trace gave for their number ("nhs_trace") and a plan
 * ("cpis_plan", started "start_days_ago"), so that an upload file has something to carry and to
 * hold back. */
static int demo__load_cpis(cli_context_t *ctx, json_t *p, uint64_t person_id, const char *nhs)
{
    json_t *trace = json_object_get(p, "nhs_trace"), *plan = json_object_get(p, "cpis_plan");
    Tsr__Envelope *reply = NULL;
    if (trace != NULL) {
        Tsr__Cpis__Demographics d = TSR__CPIS__DEMOGRAPHICS__INIT;
        char *given[10];
        d.nhs_number = (char *)nhs;
        d.family_name = (char *)demo__string(trace, "family_name");
        d.n_given_names = demo__strings(json_object_get(trace, "given_names"), given);
        d.n_given_names = d.n_given_names > 10 ? 10 : d.n_given_names;
        d.given_names = given;
        d.date_of_birth = (char *)demo__string(trace, "date_of_birth");
        if (cli_call(ctx, "cpis", "cpis.demographics.record", NULL, &d.base, &reply) != 0)
            return -1;
        tsr__envelope__free_unpacked(reply, NULL);
    }
    if (plan != NULL) {
        Tsr__Cpis__PlanRecord r = TSR__CPIS__PLAN_RECORD__INIT;
        char start[16];
        demo__date_in(-(int)json_integer_value(json_object_get(plan, "start_days_ago")), start);
        r.person_id = person_id;
        r.plan_type = (char *)demo__string(plan, "plan_type");
        r.legal_status = (char *)demo__string(plan, "legal_status");
        r.start_date = start;
        if (cli_call(ctx, "cpis", "cpis.plans.record", NULL, &r.base, &reply) != 0)
            return -1;
        tsr__envelope__free_unpacked(reply, NULL);
    }
    return 0;
}

/* A demo person's key worker ("key_worker": a username loaded before, for children's social care), so
 * that CP-IS work about them has someone to go to. */
static int demo__load_key_worker(cli_context_t *ctx, json_t *p, uint64_t person_id,
                                 const demo_loaded_t *loaded, size_t n_loaded, size_t index)
{
    const char *username = demo__string(p, "key_worker");
    if (username[0] == '\0')
        return 0;
    Tsr__Records__Allocation in = TSR__RECORDS__ALLOCATION__INIT;
    in.person_id = person_id;
    in.worker_id = demo__loaded_id(loaded, n_loaded, username);
    in.role = "key-worker";
    in.service = "CSSW";
    if (in.worker_id == 0) {
        fprintf(stderr, "tessera: people[%zu].key_worker '%s' must be one of the workers\n", index, username);
        return -1;
    }
    /* Records learns of the worker just loaded from the accounts daemon's event, moments after. */
    Tsr__Envelope *reply = NULL;
    tsr_error_t err;
    for (int tries = 0;; tries++) {
        if (cli_call_timeout(ctx, "records", "records.allocation.add", &in.base, 30000, &reply, &err) == 0)
            break;
        if (strcmp(err.code, "unknown_worker") != 0 || tries == 150) {
            fprintf(stderr, "tessera: people[%zu].key_worker '%s': %s\n", index, username, err.message);
            return -1;
        }
        nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
    }
    tsr__envelope__free_unpacked(reply, NULL);
    return 0;
}

static int demo__load_person(cli_context_t *ctx, json_t *p, size_t index, const demo_loaded_t *loaded,
                             size_t n_loaded)
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
    /* A person added now (not one loaded before) gets the demo's CP-IS trace and plan. */
    Tsr__Records__Person *person =
        rc == 0 && reply && reply->error == NULL
            ? tsr__records__person__unpack(NULL, reply->payload.len, reply->payload.data)
            : NULL;
    if (reply)
        tsr__envelope__free_unpacked(reply, NULL);
    if (person != NULL) {
        rc = demo__load_key_worker(ctx, p, person->id, loaded, n_loaded, index);
        if (rc == 0)
            rc = demo__load_cpis(ctx, p, person->id, in.nhs_number);
        tsr__records__person__free_unpacked(person, NULL);
    }
    return rc;
}

int cli_demo_load(cli_context_t *ctx, int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "usage: tessera demo load FILE\n");
        return 2;
    }
    int demo = 0;
    tsr_error_t err;
    tsr_error_clear(&err);
    if (tsr_config_get_bool(ctx->config, "tessera.demo", 0, &demo, &err) != 0) {
        fprintf(stderr, "tessera: %s\n", err.message);
        return 2;
    }
    if (!demo) {
        fprintf(stderr, "tessera: demo data is loaded only in demo mode (tessera.demo = true); this instance "
                        "has tessera.demo = false.\n");
        return 2;
    }
    /* The daemons judge by their own configuration, which may not be this one: each call says it
     * carries demo data, and a daemon not in demo mode refuses it. Asked first, so that a file is
     * loaded whole or not at all rather than stopped at the first daemon that refuses. */
    ctx->demo_load = 1;
    static const char *const owners[] = {"accounts", "records", "cpis"};
    for (size_t d = 0; d < sizeof(owners) / sizeof(owners[0]); d++) {
        Tsr__Envelope *reply = NULL;
        if (cli_call_timeout(ctx, owners[d], "tsr.health", NULL, 10000, &reply, &err) != 0) {
            if (strcmp(err.code, "not_demo_mode") == 0)
                fprintf(stderr, "tessera: %s\n", err.message);
            else
                fprintf(stderr, "tessera: the %s service could not be asked whether it takes demo data: %s\n",
                        owners[d], err.message);
            return 1;
        }
        tsr__envelope__free_unpacked(reply, NULL);
    }
    json_error_t jerr;
    json_t *root = json_load_file(argv[0], 0, &jerr);
    if (root == NULL) {
        char fault[sizeof(jerr.text) + 64];
        tsr_json_error_words(&jerr, fault, sizeof(fault));
        fprintf(stderr, "tessera: %s: %s\n", argv[0], fault);
        return 2;
    }
    int rc = 1;
    demo_loaded_t *loaded = NULL;
    size_t n_loaded = 0;
    const char *password = json_string_value(json_object_get(root, "password"));
    json_t *workers = json_object_get(root, "workers"), *orgs = json_object_get(root, "organisations");
    if (password == NULL || !json_is_array(workers) || !json_is_array(orgs)) {
        fprintf(stderr, "tessera: %s needs 'password', 'workers' and 'organisations'\n", argv[0]);
        goto done;
    }
    size_t i;
    json_t *item;
    loaded = calloc(json_array_size(workers) + 1, sizeof(*loaded));
    if (loaded == NULL) {
        fprintf(stderr, "tessera: out of memory\n");
        goto done;
    }
    json_array_foreach(workers, i, item)
    {
        if (demo__load_worker(ctx, item, password, i, loaded, &n_loaded) != 0)
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
        if (demo__load_person(ctx, item, i, loaded, n_loaded) != 0)
            goto done;
    }
    printf("Loaded %zu demo workers, %zu organisations and %zu people.\n", json_array_size(workers),
           json_array_size(orgs), json_array_size(people));
    rc = 0;
done:
    free(loaded);
    json_decref(root);
    return rc;
}
