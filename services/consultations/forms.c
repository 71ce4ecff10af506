/* The consultation form: a section's save, checked against the fields of the step's definition
 * version, kept in typed columns, and published as the consultation now stands. */
#include "consultations.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "consultations.pb-c.h"
#include "tsr_envelope.h"
#include "tsr_text.h"
#include "workflow.pb-c.h"

#define FORM_TEXT_MAX 500
#define FORM_LONG_TEXT_MAX 20000

/* The fields this daemon keeps, by section. Their titles, types, choices and rules come from the
 * step's definition (the one list of them); this list only says which columns hold them. */
static const char *const form_section_1[] = {"consulted_at",         "duty_worker",       "source",
                                             "contact_name",         "contact_telephone", "contact_email",
                                             "contact_relationship", "details",           NULL};
static const char *const form_section_2[] = {"advice", "outcomes", "completed_by", NULL};

/* One section's values, checked and trimmed (NULL where there is none). */
typedef struct {
    char *text[8];
    const json_t *source; /* the chosen option */
    json_t *outcomes;     /* the chosen options, in the order the field lists them */
} form_values_t;

static int form__index(const char *const *names, const char *name)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

static const json_t *form__field(const json_t *fields, const char *name)
{
    size_t i;
    const json_t *f;
    json_array_foreach(fields, i, f)
    {
        const char *n = json_string_value(json_object_get(f, "name"));
        if (n && strcmp(n, name) == 0)
            return f;
    }
    return NULL;
}

const json_t *consultations_option(const json_t *field, const char *text, int by_title)
{
    size_t i;
    const json_t *o;
    json_array_foreach(json_object_get(field, "options"), i, o)
    {
        const char *value = json_string_value(json_object_get(o, "value"));
        const char *title = json_string_value(json_object_get(o, "title"));
        if ((value && strcmp(value, text) == 0) || (by_title && title && strcasecmp(title, text) == 0))
            return o;
    }
    return NULL;
}

static const char *form__title(const json_t *field)
{
    const char *title = json_string_value(json_object_get(field, "title"));
    return title ? title : json_string_value(json_object_get(field, "name"));
}

/* A value of one of the field's simple types (text, long-text, telephone, email, datetime, worker,
 * picklist): trimmed into *out, or NULL when empty. */
static int form__scalar(const json_t *field, const json_t *v, char **out, tsr_error_t *err)
{
    *out = NULL;
    const char *name = json_string_value(json_object_get(field, "name"));
    const char *title = form__title(field);
    const char *type = json_string_value(json_object_get(field, "type"));
    char path[96];
    snprintf(path, sizeof(path), "data.%s", name);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return tsr_error_set(err, TSR_E_INVALID, "invalid_value", path, "%s must be text.", title);
    const char *s = json_string_value(v);
    int long_text = type && strcmp(type, "long-text") == 0;
    int max = long_text ? FORM_LONG_TEXT_MAX : FORM_TEXT_MAX;
    if (tsr_text_length(s) > (size_t)max)
        return tsr_error_set(err, TSR_E_INVALID, "too_long", path, "%s must be %d characters or fewer.",
                             title, max);
    if (tsr_text_check_characters(s, long_text, path, title, err) != 0)
        return -1;
    char *t = tsr_text_trim_dup(s);
    if (t == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
    if (t[0] == '\0') {
        free(t);
        return 0;
    }
    int bad = 0;
    if (type && strcmp(type, "datetime") == 0) {
        bad = tsr_text_check_datetime(t, json_is_true(json_object_get(field, "not_future")),
                                      json_string_value(json_object_get(field, "not_before")), path, title,
                                      err);
    } else if (type && strcmp(type, "telephone") == 0 && !tsr_text_is_telephone(t)) {
        bad = tsr_error_set(err, TSR_E_INVALID, "invalid_telephone", path,
                            "%s must be a telephone number, like 020 7974 4444.", title);
    } else if (type && strcmp(type, "email") == 0 && !tsr_text_is_email(t)) {
        bad = tsr_error_set(err, TSR_E_INVALID, "invalid_email", path,
                            "%s must be an e-mail address, like name@example.org.", title);
    } else if (type && strcmp(type, "worker") == 0) {
        if (!tsr_text_is_id(t))
            bad =
                tsr_error_set(err, TSR_E_INVALID, "invalid_value", path, "%s must be a worker's id.", title);
    } else if (type && strcmp(type, "picklist") == 0 && consultations_option(field, t, 0) == NULL) {
        bad = tsr_error_set(err, TSR_E_INVALID, "unknown_option", path,
                            "%s: \"%s\" is not one of its choices.", title, t);
    }
    if (bad) {
        free(t);
        return -1;
    }
    *out = t;
    return 0;
}

/* The chosen options of a multi-picklist, as a new array of options. */
static int form__choices(const json_t *field, const json_t *v, json_t **out, tsr_error_t *err)
{
    *out = json_array();
    const char *name = json_string_value(json_object_get(field, "name"));
    const char *title = form__title(field);
    char path[96];
    snprintf(path, sizeof(path), "data.%s", name);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return tsr_error_set(err, TSR_E_INVALID, "invalid_value", path, "%s must be a list of choices.",
                             title);
    size_t i;
    const json_t *item;
    json_array_foreach(v, i, item)
    {
        const json_t *option =
            json_is_string(item) ? consultations_option(field, json_string_value(item), 0) : NULL;
        if (option == NULL)
            return tsr_error_set(err, TSR_E_INVALID, "unknown_option", path,
                                 "%s: \"%s\" is not one of its choices.", title,
                                 json_is_string(item) ? json_string_value(item) : "(not text)");
        size_t j;
        const json_t *seen;
        json_array_foreach(*out, j, seen)
        {
            if (seen == option)
                return tsr_error_set(err, TSR_E_INVALID, "duplicate_option", path, "%s lists \"%s\" twice.",
                                     title, json_string_value(item));
        }
        json_array_append(*out, (json_t *)option);
    }
    json_t *ordered = consultations_options_in_order(field, *out);
    json_decref(*out);
    *out = ordered;
    return 0;
}

json_t *consultations_options_in_order(const json_t *field, const json_t *chosen)
{
    json_t *ordered = json_array();
    size_t i, j;
    const json_t *option, *one;
    json_array_foreach(json_object_get(field, "options"), i, option)
    {
        json_array_foreach(chosen, j, one)
        {
            if (one == option)
                json_array_append(ordered, (json_t *)option);
        }
    }
    return ordered;
}

static void form__values_free(form_values_t *v)
{
    for (size_t i = 0; i < sizeof(v->text) / sizeof(v->text[0]); i++)
        free(v->text[i]);
    json_decref(v->outcomes);
    memset(v, 0, sizeof(*v));
}

/* Reads and checks a section's data: every key a field of the section that this daemon keeps, every
 * value of its field's type, and, when completing, every required field given. */
static int form__read(const char *section, const json_t *fields, const json_t *data, int completing,
                      form_values_t *v, tsr_error_t *err)
{
    const char *const *names = strcmp(section, "1") == 0 ? form_section_1 : form_section_2;
    /* Every field is checked, and each at fault said, in the form's order: a worker puts the whole
     * form right in one go. A key that is no field is one fault among them, not the only one told. */
    tsr_error_t one;
    tsr_error_clear(err);
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)data, key, value)
    {
        char path[160];
        snprintf(path, sizeof(path), "data.%.100s", key);
        if (form__field(fields, key) == NULL) {
            tsr_error_add(err, TSR_E_INVALID, "unknown_field", path, "This section has no field \"%.100s\".",
                          key);
        } else if (form__index(names, key) < 0) {
            tsr_error_add(err, TSR_E_UNPROCESSABLE, "field_not_kept", path,
                          "The consultations service has nowhere to keep \"%.100s\": the step's definition "
                          "has a field this version of Tessera does not know.",
                          key);
        }
    }
    for (int i = 0; names[i]; i++) {
        const json_t *field = form__field(fields, names[i]);
        const json_t *given = json_object_get(data, names[i]);
        if (field == NULL)
            continue;
        const char *type = json_string_value(json_object_get(field, "type"));
        int bad = type && strcmp(type, "multi-picklist") == 0
                      ? form__choices(field, given, &v->outcomes, &one)
                      : form__scalar(field, given, &v->text[i], &one);
        if (bad != 0 && one.status == TSR_E_INTERNAL) {
            *err = one;
            return -1;
        }
        if (bad != 0) {
            tsr_error_gather(err, &one);
            continue;
        }
        if (type && strcmp(type, "picklist") == 0 && v->text[i])
            v->source = consultations_option(field, v->text[i], 0);
        int empty = type && strcmp(type, "multi-picklist") == 0 ? json_array_size(v->outcomes) == 0
                                                                : v->text[i] == NULL;
        if (completing && empty && json_is_true(json_object_get(field, "required"))) {
            char path[96], ask[500];
            snprintf(path, sizeof(path), "data.%s", names[i]);
            /* "Enter the date and time of consultation", as the workflow daemon words it. */
            tsr_text_ask_for(type, form__title(field), ask, sizeof(ask));
            tsr_error_set(&one, TSR_E_UNPROCESSABLE, "required_field", path, "%s", ask);
            tsr_error_gather(err, &one);
        }
    }
    if (tsr_error_gathered(err) != 0)
        return -1;
    if (v->outcomes == NULL)
        v->outcomes = json_array();
    return 0;
}

char *consultations_array_literal(const json_t *options, const char *member)
{
    size_t len = 3;
    size_t i;
    const json_t *o;
    json_array_foreach(options, i, o)
    {
        len += strlen(json_string_value(json_object_get(o, member))) * 2 + 3;
    }
    char *out = malloc(len), *p = out;
    if (out == NULL)
        return NULL;
    *p++ = '{';
    json_array_foreach(options, i, o)
    {
        if (i > 0)
            *p++ = ',';
        *p++ = '"';
        for (const char *s = json_string_value(json_object_get(o, member)); *s; s++) {
            if (*s == '"' || *s == '\\')
                *p++ = '\\';
            *p++ = *s;
        }
        *p++ = '"';
    }
    *p++ = '}';
    *p = '\0';
    return out;
}

/* The columns every save sets: the step, and the organisation it is about. */
#define FORM_STEP_COLUMNS                                                                                    \
    "step_id, step_type, variant, step_title, definition_version, organisation_id, organisation_name,"       \
    " step_started_at"
#define FORM_STEP_VALUES                                                                                     \
    "$1::bigint, $2, $3, $4, $5::int, $6::bigint, $7,"                                                       \
    " CASE WHEN $8::bigint > 0 THEN to_timestamp($8::bigint / 1000.0) END"
#define FORM_STEP_UPDATE                                                                                     \
    " ON CONFLICT (step_id) DO UPDATE SET step_type = EXCLUDED.step_type, variant = EXCLUDED.variant,"       \
    " step_title = EXCLUDED.step_title, definition_version = EXCLUDED.definition_version,"                   \
    " organisation_id = EXCLUDED.organisation_id, organisation_name = EXCLUDED.organisation_name,"           \
    " step_started_at = EXCLUDED.step_started_at,"

#define FORM_MS(col) "coalesce((extract(epoch FROM " col ") * 1000)::bigint, 0)"
/* What a consultation's events carry (form__emit_row reads them in this order). */
#define FORM_EVENT_COLUMNS                                                                                   \
    "step_id, step_type, variant, step_title, organisation_id, organisation_name, " FORM_MS(                 \
        "step_started_at") ", " FORM_MS("consulted_at") ", coalesce(consulted_on::text, ''),"                \
                                                        " coalesce(duty_worker_id, 0), coalesce(source, "    \
                                                        "''), coalesce(source_title, ''),"                   \
                                                        " coalesce(contact_name, ''), "                      \
                                                        "coalesce(contact_relationship, ''),"                \
                                                        " array_to_json(outcomes)::text, "                   \
                                                        "array_to_json(outcome_titles)::text,"               \
                                                        " coalesce(completed_by_id, 0), "                    \
                                                        "section_1_completed, section_2_completed, "         \
                                                        "imported,"                                          \
                                                        " coalesce(step_started_on::text, ''), "             \
                                                        "coalesce(step_completed_on::text, '')"

static const char form_save_1[] =
    "INSERT INTO consultations (" FORM_STEP_COLUMNS ", consulted_at, duty_worker_id, source, source_title,"
    " contact_name, contact_telephone, contact_email, contact_relationship, details, section_1_completed,"
    " section_1_saved_at, section_1_saved_by)"
    " VALUES (" FORM_STEP_VALUES ", $9::timestamptz, $10::bigint, $11, $12, $13, $14, $15, $16, $17,"
    " $18::boolean, now(), $19::bigint)" FORM_STEP_UPDATE
    " consulted_at = EXCLUDED.consulted_at, duty_worker_id = EXCLUDED.duty_worker_id, source = "
    "EXCLUDED.source,"
    " source_title = EXCLUDED.source_title, contact_name = EXCLUDED.contact_name,"
    " contact_telephone = EXCLUDED.contact_telephone, contact_email = EXCLUDED.contact_email,"
    " contact_relationship = EXCLUDED.contact_relationship, details = EXCLUDED.details,"
    " section_1_completed = EXCLUDED.section_1_completed, section_1_saved_at = now(),"
    " section_1_saved_by = EXCLUDED.section_1_saved_by"
    " WHERE NOT consultations.imported"
    " RETURNING to_char(consulted_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), " FORM_EVENT_COLUMNS;

static const char form_save_2[] =
    "INSERT INTO consultations (" FORM_STEP_COLUMNS ", advice, outcomes, outcome_titles, completed_by_id,"
    " section_2_completed, section_2_saved_at, section_2_saved_by)"
    " VALUES (" FORM_STEP_VALUES ", $9, $10::text[], $11::text[], $12::bigint, $13::boolean, now(),"
    " $14::bigint)" FORM_STEP_UPDATE " advice = EXCLUDED.advice, outcomes = EXCLUDED.outcomes,"
    " outcome_titles = EXCLUDED.outcome_titles, completed_by_id = EXCLUDED.completed_by_id,"
    " section_2_completed = EXCLUDED.section_2_completed, section_2_saved_at = now(),"
    " section_2_saved_by = EXCLUDED.section_2_saved_by"
    " WHERE NOT consultations.imported"
    " RETURNING '', " FORM_EVENT_COLUMNS;

static void form__keep(json_t *kept, const char *name, const char *value)
{
    if (value != NULL)
        json_object_set_new(kept, name, json_string(value));
}

static int form__emit_row(tsr_call_t *call, PGresult *res, int first, const char *action, const char *section,
                          tsr_error_t *err);

int consultations_section_save(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Workflow__OwnedSectionSave *in = (const Tsr__Workflow__OwnedSectionSave *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    if (in->step_id == 0)
        return tsr_error_set(err, TSR_E_INVALID, "missing_field", "step_id", "Say which work step this is.");
    if (in->subject == NULL || in->subject->kind == NULL || strcmp(in->subject->kind, "organisation") != 0 ||
        in->subject->id == 0)
        return tsr_error_set(err, TSR_E_UNPROCESSABLE, "wrong_subject", "subject.kind",
                             "A consultation is recorded against an organisation (the referrer's, or the "
                             "'Consultation' organisation).");
    const char *section = in->section ? in->section : "";
    if (strcmp(section, "1") != 0 && strcmp(section, "2") != 0)
        return tsr_error_set(err, TSR_E_NOT_FOUND, "unknown_section", "section",
                             "The consultations service keeps sections 1 and 2 only, not \"%.20s\".",
                             section);
    json_t *def = json_loads(in->section_json ? in->section_json : "", 0, NULL);
    const json_t *fields = json_object_get(def, "fields");
    if (!json_is_array(fields)) {
        json_decref(def);
        return tsr_error_set(err, TSR_E_INVALID, "missing_definition", "section_json",
                             "The save does not carry the section's definition (its fields).");
    }
    json_t *data =
        json_loads(in->data_json && in->data_json[0] ? in->data_json : "{}", JSON_REJECT_DUPLICATES, NULL);
    form_values_t v;
    memset(&v, 0, sizeof(v));
    int rc = -1;
    char *outcomes = NULL, *outcome_titles = NULL;
    PGresult *res = NULL;
    if (!json_is_object(data)) {
        tsr_error_set(err, TSR_E_INVALID, "invalid_value", "data",
                      "data must be a JSON object of the section's fields.");
        goto done;
    }
    if (form__read(section, fields, data, in->completed, &v, err) != 0)
        goto done;
    char step[24], version[16], org[24], started[24], by[24];
    snprintf(step, sizeof(step), "%" PRIu64, in->step_id);
    snprintf(version, sizeof(version), "%" PRIu32, in->definition_version);
    snprintf(org, sizeof(org), "%" PRIu64, in->subject->id);
    snprintf(started, sizeof(started), "%" PRId64, in->step_started_at_ms);
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    const char *completed = in->completed ? "true" : "false";
    const char *p[19] = {step,
                         in->step_type ? in->step_type : "",
                         in->variant ? in->variant : "",
                         in->step_title ? in->step_title : "",
                         version,
                         org,
                         in->subject_name ? in->subject_name : "",
                         started};
    if (strcmp(section, "1") == 0) {
        for (int i = 0; i < 8; i++)
            p[8 + i + (i >= 3)] = v.text[i]; /* source's title goes after its key */
        p[11] = v.source ? json_string_value(json_object_get(v.source, "title")) : NULL;
        p[17] = completed;
        p[18] = by;
        res = tsr_db_exec(call->conn, form_save_1, 19, p, err);
    } else {
        outcomes = consultations_array_literal(v.outcomes, "value");
        outcome_titles = consultations_array_literal(v.outcomes, "title");
        p[8] = v.text[0];
        p[9] = outcomes;
        p[10] = outcome_titles;
        p[11] = v.text[2];
        p[12] = completed;
        p[13] = by;
        res = tsr_db_exec(call->conn, form_save_2, 14, p, err);
    }
    if (res == NULL)
        goto done;
    if (PQntuples(res) == 0) {
        tsr_error_set(err, TSR_E_CONFLICT, "imported_consultation", "step_id",
                      "Step %s is a consultation loaded from the old system: it cannot be changed here.",
                      step);
        goto done;
    }
    if (form__emit_row(call, res, 1, "saved", section, err) != 0)
        goto done;
    /* What was kept, in the section's own field names: the workflow daemon shows this copy. */
    json_t *kept = json_object();
    if (strcmp(section, "1") == 0) {
        form__keep(kept, "consulted_at", v.text[0] ? PQgetvalue(res, 0, 0) : NULL);
        for (int i = 1; form_section_1[i]; i++)
            form__keep(kept, form_section_1[i], v.text[i]);
    } else {
        form__keep(kept, "advice", v.text[0]);
        json_t *values = json_array();
        size_t i;
        const json_t *o;
        json_array_foreach(v.outcomes, i, o)
        {
            json_array_append(values, json_object_get(o, "value"));
        }
        json_object_set_new(kept, "outcomes", values);
        form__keep(kept, "completed_by", v.text[2]);
    }
    char *text = json_dumps(kept, JSON_COMPACT);
    json_decref(kept);
    Tsr__Workflow__OwnedSectionSaved reply = TSR__WORKFLOW__OWNED_SECTION_SAVED__INIT;
    reply.data_json = text;
    reply.completed = in->completed;
    tsr_call_reply(call, &reply.base);
    free(text);
    rc = 0;
done:
    PQclear(res);
    free(outcomes);
    free(outcome_titles);
    form__values_free(&v);
    json_decref(data);
    json_decref(def);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * Events
 * ---------------------------------------------------------------------------------------------- */

/* A consultation's row as its events carry it (consultations_emit), from column `first` of res's first
 * row on. The saves return these columns too, so that their event costs no second statement. */
static int form__emit_row(tsr_call_t *call, PGresult *res, int first, const char *action, const char *section,
                          tsr_error_t *err)
{
#define COL(i) PQgetvalue(res, 0, first + (i))
    Tsr__Consultations__Consultation c = TSR__CONSULTATIONS__CONSULTATION__INIT;
    Tsr__Consultations__Choice source = TSR__CONSULTATIONS__CHOICE__INIT;
    c.step_id = strtoull(COL(0), NULL, 10);
    c.step_type = COL(1);
    c.variant = COL(2);
    c.step_title = COL(3);
    c.organisation_id = strtoull(COL(4), NULL, 10);
    c.organisation_name = COL(5);
    c.step_started_at_ms = strtoll(COL(6), NULL, 10);
    c.consulted_at_ms = strtoll(COL(7), NULL, 10);
    c.consulted_on = COL(8);
    c.duty_worker_id = strtoull(COL(9), NULL, 10);
    if (COL(10)[0]) {
        source.value = COL(10);
        source.title = COL(11);
        c.source = &source;
    }
    c.referrer_name = COL(12);
    c.referrer_relationship = COL(13);
    json_t *values = json_loads(COL(14), 0, NULL);
    json_t *titles = json_loads(COL(15), 0, NULL);
    size_t n = json_array_size(values);
    Tsr__Consultations__Choice *choices = calloc(n + 1, sizeof(*choices));
    Tsr__Consultations__Choice **choice_ptrs = calloc(n + 1, sizeof(*choice_ptrs));
    for (size_t i = 0; choices && choice_ptrs && i < n; i++) {
        tsr__consultations__choice__init(&choices[i]);
        choices[i].value = (char *)json_string_value(json_array_get(values, i));
        choices[i].title = (char *)json_string_value(json_array_get(titles, i));
        if (choices[i].title == NULL)
            choices[i].title = choices[i].value;
        choice_ptrs[i] = &choices[i];
    }
    c.outcomes = choice_ptrs;
    c.n_outcomes = choices && choice_ptrs ? n : 0;
    c.completed_by_id = strtoull(COL(16), NULL, 10);
    c.section_1_completed = COL(17)[0] == 't';
    c.section_2_completed = COL(18)[0] == 't';
    c.imported = COL(19)[0] == 't';
    c.step_started_on = COL(20);
    c.step_completed_on = COL(21);
    c.section = (char *)(section ? section : "");
    char type[64];
    snprintf(type, sizeof(type), "consultations.consultation.%s", action);
    int rc = tsr_call_emit(call, type, &c.base, err);
    free(choices);
    free(choice_ptrs);
    json_decref(values);
    json_decref(titles);
#undef COL
    return rc;
}

int consultations_emit(tsr_call_t *call, const char *step_id, const char *action, const char *section,
                       tsr_error_t *err)
{
    const char *params[1] = {step_id};
    PGresult *res =
        tsr_db_exec(call->conn, "SELECT " FORM_EVENT_COLUMNS " FROM consultations WHERE step_id = $1::bigint",
                    1, params, err);
    if (res == NULL)
        return -1;
    int rc = PQntuples(res) == 1 ? form__emit_row(call, res, 0, action, section, err)
                                 : tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL,
                                                 "Consultation %s was not found.", step_id);
    PQclear(res);
    return rc;
}
