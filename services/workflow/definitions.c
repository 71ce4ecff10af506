#include "definitions.h"

#include <dirent.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsr_db.h"
#include "tsr_json.h"
#include "tsr_text.h"

#define DEF_MAX 128
#define DEF_PATH_MAX 1024

typedef struct {
    char *type;
    json_t *body;
    char hash[65];
    int version;
} def_entry_t;

static def_entry_t defs[DEF_MAX];
static size_t defs_count;
static wf_virtual_worker_t virtuals[DEF_MAX];
static size_t virtuals_count;

static const char *const field_types[] = {"text",      "long-text", "date",     "datetime",
                                          "telephone", "email",     "picklist", "multi-picklist",
                                          "worker",    "boolean",   "number",   NULL};
static const char *const subject_kinds[] = {"organisation", "person", "worker", "none", NULL};
static const char *const recipient_kinds[] = {"worker", "team", "virtual", NULL};

static int def__in(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

static int def__is_key(const char *s)
{
    if (s == NULL || *s == '\0' || strlen(s) > 80)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
              (*p >= 'A' && *p <= 'Z')))
            return 0;
    return 1;
}

/* The failing file and what is wrong with it, for the start-up log. */
#define DEF_FAIL(...) tsr_error_set(err, TSR_E_INVALID, "bad_definition", file, __VA_ARGS__)

static const char *def__string(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static json_t *def__find(const json_t *def, const char *list, const char *key, const char *value)
{
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(def, list), i, item)
    {
        const char *v = def__string(item, key);
        if (v && value && strcmp(v, value) == 0)
            return item;
    }
    return NULL;
}

static int def__check_strings(const json_t *arr, const char *file, const char *where,
                              const char *const *allowed, tsr_error_t *err)
{
    if (!json_is_array(arr))
        return DEF_FAIL("%s: %s must be a list of names.", file, where);
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v))
            return DEF_FAIL("%s: %s[%zu] must be a name.", file, where, i);
        if (allowed && !def__in(json_string_value(v), allowed))
            return DEF_FAIL("%s: %s[%zu] \"%s\" is not one of the known values.", file, where, i,
                            json_string_value(v));
    }
    return 0;
}

/* A request's note templates: {key, title, text}, each with an optional `when` {field, values}
 * choosing it by what the step's sections hold, at most one `default` for when none matches, and,
 * where the request records a case note on acknowledgement, whether it is `required` or wanted only
 * `if-concerns` (`case_note`; required when not said). */
static int def__check_note_templates(const json_t *templates, const char *file, const char *where,
                                     tsr_error_t *err)
{
    if (templates == NULL)
        return 0;
    if (!json_is_array(templates))
        return DEF_FAIL("%s: %s.note_templates must be a list.", file, where);
    size_t i, defaults = 0;
    const json_t *t;
    json_array_foreach(templates, i, t)
    {
        if (!json_is_object(t) || !def__is_key(def__string(t, "key")) || def__string(t, "title") == NULL ||
            def__string(t, "text") == NULL)
            return DEF_FAIL("%s: %s.note_templates[%zu] needs a key, a title and a text.", file, where, i);
        const json_t *when = json_object_get(t, "when");
        if (when != NULL && (!json_is_object(when) || def__string(when, "field") == NULL ||
                             !json_is_array(json_object_get(when, "values"))))
            return DEF_FAIL("%s: %s.note_templates[%zu].when must be {field, values}.", file, where, i);
        const json_t *fallback = json_object_get(t, "default");
        if (fallback != NULL && !json_is_boolean(fallback))
            return DEF_FAIL("%s: %s.note_templates[%zu].default must be true or false.", file, where, i);
        defaults += json_is_true(fallback);
        const char *case_note = def__string(t, "case_note");
        if (json_object_get(t, "case_note") != NULL &&
            (case_note == NULL ||
             (strcmp(case_note, "required") != 0 && strcmp(case_note, "if-concerns") != 0)))
            return DEF_FAIL("%s: %s.note_templates[%zu].case_note must be required or if-concerns.", file,
                            where, i);
    }
    if (defaults > 1)
        return DEF_FAIL("%s: %s.note_templates has more than one default.", file, where);
    return 0;
}

static int def__check_due(const json_t *due, const char *file, const char *where, tsr_error_t *err)
{
    if (due == NULL)
        return 0;
    const json_t *hours = json_object_get(due, "hours");
    if (!json_is_object(due) || !json_is_number(hours) || json_number_value(hours) <= 0)
        return DEF_FAIL("%s: %s.due needs hours, a number above 0.", file, where);
    const json_t *wh = json_object_get(due, "working_hours");
    if (wh == NULL)
        return 0;
    if (!json_is_object(wh))
        return DEF_FAIL("%s: %s.due.working_hours must be an object {days, start, end}.", file, where);
    int start = wf_due_parse_clock(def__string(wh, "start"));
    int end = wf_due_parse_clock(def__string(wh, "end"));
    if (start < 0 || end < 0 || end <= start)
        return DEF_FAIL("%s: %s.due.working_hours needs start and end as HH:MM, the end after the start.",
                        file, where);
    const json_t *days = json_object_get(wh, "days");
    if (!json_is_array(days) || json_array_size(days) == 0)
        return DEF_FAIL("%s: %s.due.working_hours.days must list the working days.", file, where);
    size_t i;
    const json_t *d;
    json_array_foreach(days, i, d)
    {
        if (!json_is_string(d) || wf_due_parse_day(json_string_value(d)) == 0)
            return DEF_FAIL("%s: %s.due.working_hours.days[%zu] is not a day of the week.", file, where, i);
    }
    return 0;
}

static int def__check_options(const json_t *options, const char *file, const char *where, tsr_error_t *err)
{
    if (!json_is_array(options) || json_array_size(options) == 0)
        return DEF_FAIL("%s: %s needs options, a list of {value, title}.", file, where);
    size_t i;
    const json_t *o;
    json_array_foreach(options, i, o)
    {
        if (!json_is_object(o) || !def__is_key(def__string(o, "value")) || def__string(o, "title") == NULL)
            return DEF_FAIL("%s: %s.options[%zu] needs a value (letters, digits, -) and a title.", file,
                            where, i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(def__string(json_array_get(options, j), "value"), def__string(o, "value")) == 0)
                return DEF_FAIL("%s: %s.options has \"%s\" twice.", file, where, def__string(o, "value"));
    }
    return 0;
}

static int def__check_recipient(const json_t *to, const char *file, const char *where, tsr_error_t *err)
{
    if (to == NULL)
        return 0;
    if (!json_is_object(to) || json_object_size(to) != 1 ||
        !(def__string(to, "team") || def__string(to, "virtual")))
        return DEF_FAIL("%s: %s must be {\"team\": name} or {\"virtual\": key}.", file, where);
    return 0;
}

static int def__check_variants(const json_t *def, const json_t *item, const char *file, const char *where,
                               tsr_error_t *err)
{
    const json_t *vs = json_object_get(item, "variants");
    if (vs == NULL)
        return 0;
    if (def__check_strings(vs, file, where, NULL, err) != 0)
        return -1;
    size_t i;
    const json_t *v;
    json_array_foreach(vs, i, v)
    {
        if (!wf_def_has_variant(def, json_string_value(v)))
            return DEF_FAIL("%s: %s names variant \"%s\", which the step type does not have.", file, where,
                            json_string_value(v));
    }
    return 0;
}

/* required_when: a field required only as another field of its section stands (seed 001's "where
 * the family is known to staff, their names", "a new role and team, or the access required"):
 * {"field": name, "is": [values of that picklist]} or {"field": name, "filled": true|false}. */
static int def__check_required_when(const json_t *fields, const json_t *f, const char *file, const char *at,
                                    tsr_error_t *err)
{
    const json_t *when = json_object_get(f, "required_when");
    const char *name = def__string(f, "name");
    if (when == NULL)
        return 0;
    if (json_is_true(json_object_get(f, "required")))
        return DEF_FAIL("%s: %s (%s) is required and required_when at once; it is one or the other.", file,
                        at, name);
    const char *other = def__string(when, "field");
    const json_t *is = json_object_get(when, "is"), *filled = json_object_get(when, "filled");
    if (!json_is_object(when) || other == NULL || (is == NULL) == (filled == NULL) ||
        json_object_size(when) != 2)
        return DEF_FAIL("%s: %s (%s).required_when must be {\"field\": name, \"is\": [values]} or "
                        "{\"field\": name, \"filled\": true|false}.",
                        file, at, name);
    const json_t *target = NULL;
    size_t i;
    const json_t *g;
    json_array_foreach(fields, i, g)
    {
        if (strcmp(def__string(g, "name"), other) == 0)
            target = g;
    }
    if (target == NULL || target == f)
        return DEF_FAIL("%s: %s (%s).required_when names \"%s\", which is not another field of the section.",
                        file, at, name, other);
    if (filled != NULL)
        return json_is_boolean(filled)
                   ? 0
                   : DEF_FAIL("%s: %s (%s).required_when.filled must be true or false.", file, at, name);
    const char *type = def__string(target, "type");
    if (strcmp(type, "picklist") != 0 && strcmp(type, "multi-picklist") != 0)
        return DEF_FAIL("%s: %s (%s).required_when.is needs \"%s\" to be a picklist.", file, at, name, other);
    if (!json_is_array(is) || json_array_size(is) == 0)
        return DEF_FAIL("%s: %s (%s).required_when.is must be a list of %s's values.", file, at, name, other);
    const json_t *v;
    json_array_foreach(is, i, v)
    {
        const json_t *o, *match = NULL;
        size_t k;
        json_array_foreach(json_object_get(target, "options"), k, o)
        {
            if (json_is_string(v) && strcmp(def__string(o, "value"), json_string_value(v)) == 0)
                match = o;
        }
        if (match == NULL)
            return DEF_FAIL("%s: %s (%s).required_when.is[%zu] is not one of %s's values.", file, at, name, i,
                            other);
    }
    return 0;
}

static int def__check_fields(const json_t *fields, const char *file, const char *where, tsr_error_t *err)
{
    if (!json_is_array(fields))
        return DEF_FAIL("%s: %s.fields must be a list.", file, where);
    size_t i;
    const json_t *f;
    char at[256];
    json_array_foreach(fields, i, f)
    {
        snprintf(at, sizeof(at), "%s.fields[%zu]", where, i);
        const char *name = def__string(f, "name");
        const char *type = def__string(f, "type");
        if (!json_is_object(f) || !def__is_key(name) || def__string(f, "title") == NULL)
            return DEF_FAIL("%s: %s needs a name (letters, digits, -, _) and a title.", file, at);
        if (type == NULL || !def__in(type, field_types))
            return DEF_FAIL("%s: %s (%s) has type \"%s\"; a field is one of text, long-text, date, datetime, "
                            "telephone, email, picklist, multi-picklist, worker, boolean, number.",
                            file, at, name, type ? type : "");
        const json_t *req = json_object_get(f, "required");
        if (req != NULL && !json_is_boolean(req))
            return DEF_FAIL("%s: %s (%s).required must be true or false.", file, at, name);
        /* read_only: filled when the step starts (a CP-IS notification's child), never by a save. */
        const json_t *fixed = json_object_get(f, "read_only");
        if (fixed != NULL && !json_is_boolean(fixed))
            return DEF_FAIL("%s: %s (%s).read_only must be true or false.", file, at, name);
        /* not_before: the earliest believable date of a date or datetime field (YYYY-MM-DD). */
        const json_t *earliest = json_object_get(f, "not_before");
        int y, m, d;
        if (earliest != NULL && (strcmp(type, "date") != 0 && strcmp(type, "datetime") != 0))
            return DEF_FAIL("%s: %s (%s) has not_before, which only a date or datetime field takes.", file,
                            at, name);
        if (earliest != NULL && (!json_is_string(earliest) || strlen(json_string_value(earliest)) != 10 ||
                                 tsr_text_date_parts(json_string_value(earliest), &y, &m, &d) != 0))
            return DEF_FAIL("%s: %s (%s).not_before must be a date written YYYY-MM-DD.", file, at, name);
        if ((strcmp(type, "picklist") == 0 || strcmp(type, "multi-picklist") == 0) &&
            def__check_options(json_object_get(f, "options"), file, at, err) != 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(def__string(json_array_get(fields, j), "name"), name) == 0)
                return DEF_FAIL("%s: %s has two fields named \"%s\".", file, where, name);
    }
    json_array_foreach(fields, i, f)
    {
        snprintf(at, sizeof(at), "%s.fields[%zu]", where, i);
        if (def__check_required_when(fields, f, file, at, err) != 0)
            return -1;
    }
    return 0;
}

/* summary: {section, fields}: the fields of one form section whose values tell one step of the type
 * from another in a workview, where each has the same title (every CP-IS notification's follow-up
 * is a "CPIS Follow Up": its care setting and when the record was accessed). Only fields shown as a
 * short value: no long text, and nothing a workview should not spell out (telephone, e-mail). */
#define DEF_SUMMARY_FIELDS_MAX 4
static int def__check_summary(const json_t *def, const char *file, tsr_error_t *err)
{
    static const char *const shown[] = {"text",   "picklist", "multi-picklist", "date", "datetime",
                                        "number", NULL};
    const json_t *summary = json_object_get(def, "summary");
    if (summary == NULL)
        return 0;
    const json_t *section = json_is_object(summary) && def__string(summary, "section")
                                ? wf_def_section(def, def__string(summary, "section"))
                                : NULL;
    const char *kind = section ? def__string(section, "kind") : NULL;
    if (section == NULL || (kind != NULL && strcmp(kind, "form") != 0))
        return DEF_FAIL(
            "%s: summary must be {\"section\": the number of a form section, \"fields\": [names]}.", file);
    const json_t *names = json_object_get(summary, "fields"), *name;
    if (!json_is_array(names) || json_array_size(names) == 0 ||
        json_array_size(names) > DEF_SUMMARY_FIELDS_MAX)
        return DEF_FAIL("%s: summary.fields must name 1 to %d fields of section %s.", file,
                        DEF_SUMMARY_FIELDS_MAX, def__string(summary, "section"));
    size_t i;
    json_array_foreach(names, i, name)
    {
        const json_t *field =
            json_is_string(name) ? def__find(section, "fields", "name", json_string_value(name)) : NULL;
        if (field == NULL)
            return DEF_FAIL("%s: summary.fields[%zu] is not a field of section %s.", file, i,
                            def__string(summary, "section"));
        if (!def__in(def__string(field, "type"), shown))
            return DEF_FAIL("%s: summary.fields[%zu] (%s) is a %s field; a summary shows text, picklist, "
                            "multi-picklist, date, datetime or number fields.",
                            file, i, json_string_value(name), def__string(field, "type"));
    }
    return 0;
}

static int def__check(const json_t *def, const char *file, tsr_error_t *err)
{
    const char *type = def__string(def, "type");
    if (!def__is_key(type))
        return DEF_FAIL("%s: type must be the step type's key, e.g. \"front-door-consultation\".", file);
    if (def__string(def, "title") == NULL || def__string(def, "title_pattern") == NULL)
        return DEF_FAIL("%s: a step type needs a title and a title_pattern.", file);
    const json_t *variants = json_object_get(def, "variants");
    if (variants != NULL) {
        size_t i;
        const json_t *v;
        if (!json_is_array(variants))
            return DEF_FAIL("%s: variants must be a list of {key, title}.", file);
        json_array_foreach(variants, i, v)
        {
            if (!def__is_key(def__string(v, "key")) || def__string(v, "title") == NULL)
                return DEF_FAIL("%s: variants[%zu] needs a key and a title.", file, i);
        }
    }
    const json_t *subjects = json_object_get(def, "subjects");
    if (def__check_strings(subjects, file, "subjects", subject_kinds, err) != 0)
        return -1;
    if (json_array_size(subjects) == 0)
        return DEF_FAIL(
            "%s: subjects must name what a step is started against (organisation, person, worker, "
            "none).",
            file);
    /* subject_access "name-only": a step about a person that those who may see only the person's
     * name (a restricted record) may still start and work, because it asks for nothing of the
     * record (seed 001: a request for access to a restricted record). */
    const json_t *subject_access = json_object_get(def, "subject_access");
    if (subject_access != NULL &&
        (!json_is_string(subject_access) || strcmp(json_string_value(subject_access), "name-only") != 0))
        return DEF_FAIL("%s: subject_access must be \"name-only\" or left out.", file);
    const json_t *start = json_object_get(def, "start");
    if (start != NULL) {
        if (!json_is_object(start))
            return DEF_FAIL("%s: start must be an object {roles, assign_to}.", file);
        if (json_object_get(start, "roles") &&
            def__check_strings(json_object_get(start, "roles"), file, "start.roles", NULL, err) != 0)
            return -1;
        if (def__check_recipient(json_object_get(start, "assign_to"), file, "start.assign_to", err) != 0)
            return -1;
    }
    if (def__check_due(json_object_get(def, "due"), file, "step", err) != 0)
        return -1;
    const json_t *sections = json_object_get(def, "sections");
    if (!json_is_array(sections) || json_array_size(sections) == 0)
        return DEF_FAIL("%s: sections must list the step's sections.", file);
    size_t i;
    const json_t *s;
    char at[128];
    json_array_foreach(sections, i, s)
    {
        snprintf(at, sizeof(at), "sections[%zu]", i);
        const char *number = def__string(s, "number");
        const char *kind = def__string(s, "kind");
        if (!json_is_object(s) || !def__is_key(number) || def__string(s, "title") == NULL)
            return DEF_FAIL("%s: %s needs a number (\"1\") and a title.", file, at);
        if (kind != NULL && strcmp(kind, "form") != 0 && strcmp(kind, "next-actions") != 0)
            return DEF_FAIL("%s: %s.kind is \"form\" (the default) or \"next-actions\".", file, at);
        if ((kind == NULL || strcmp(kind, "form") == 0) &&
            def__check_fields(json_object_get(s, "fields"), file, at, err) != 0)
            return -1;
        const json_t *owner = json_object_get(s, "owner");
        if (owner != NULL && !def__is_key(json_string_value(owner)))
            return DEF_FAIL("%s: %s.owner must name the daemon that keeps the section's data.", file, at);
        for (size_t j = 0; j < i; j++)
            if (strcmp(def__string(json_array_get(sections, j), "number"), number) == 0)
                return DEF_FAIL("%s: two sections are numbered \"%s\".", file, number);
    }
    if (def__check_summary(def, file, err) != 0)
        return -1;
    const json_t *requests = json_object_get(def, "requests");
    if (requests != NULL && !json_is_array(requests))
        return DEF_FAIL("%s: requests must be a list.", file);
    const json_t *r;
    json_array_foreach(requests, i, r)
    {
        snprintf(at, sizeof(at), "requests[%zu]", i);
        if (!json_is_object(r) || !def__is_key(def__string(r, "type")) || def__string(r, "title") == NULL)
            return DEF_FAIL("%s: %s needs a type and a title.", file, at);
        if (def__check_variants(def, r, file, at, err) != 0 ||
            def__check_recipient(json_object_get(r, "to"), file, at, err) != 0 ||
            def__check_due(json_object_get(r, "due"), file, at, err) != 0)
            return -1;
        const json_t *may = json_object_get(r, "may_send_to");
        if (may != NULL && def__check_strings(may, file, at, recipient_kinds, err) != 0)
            return -1;
        const json_t *req = json_object_get(r, "required");
        if (req != NULL && !json_is_boolean(req))
            return DEF_FAIL("%s: %s.required must be true or false.", file, at);
        if (def__check_note_templates(json_object_get(r, "note_templates"), file, at, err) != 0)
            return -1;
        /* "sender-manager": the sender's senior or team manager is copied in (seed 001's "CC your
         * senior/TM"), the only copy there is. */
        const json_t *copy = json_object_get(r, "copy_to");
        if (copy != NULL && !(json_is_string(copy) && strcmp(json_string_value(copy), "sender-manager") == 0))
            return DEF_FAIL("%s: %s.copy_to must be \"sender-manager\".", file, at);
        /* What its recipient may do with it: some of complete, return, acknowledge (all when not said). */
        const json_t *acts = json_object_get(r, "actions");
        static const char *const request_actions[] = {"complete", "return", "acknowledge", NULL};
        if (acts != NULL) {
            char where[sizeof(at) + 16];
            snprintf(where, sizeof(where), "%s.actions", at);
            if (def__check_strings(acts, file, where, request_actions, err) != 0)
                return -1;
            if (json_array_size(acts) == 0)
                return DEF_FAIL("%s: %s must name at least one of complete, return, acknowledge.", file,
                                where);
        }
        /* The sections completed before it is sent (sent_after_sections: seed 000's 'complete
         * section 1', then 'Pass to MASH Manager') and before it is completed
         * (completed_after_sections: the manager completes section 2, then the request). */
        static const char *const gates[] = {"sent_after_sections", "completed_after_sections"};
        for (size_t g = 0; g < 2; g++) {
            const json_t *numbers = json_object_get(r, gates[g]), *number;
            size_t k;
            if (numbers != NULL && !json_is_array(numbers))
                return DEF_FAIL("%s: %s.%s must be a list of the step's section numbers.", file, at,
                                gates[g]);
            json_array_foreach(numbers, k, number)
            {
                json_t *section =
                    json_is_string(number) ? wf_def_section(def, json_string_value(number)) : NULL;
                if (section == NULL)
                    return DEF_FAIL("%s: %s.%s[%zu] must be the number of one of the step's sections.", file,
                                    at, gates[g], k);
            }
        }
        /* The roles of those who act on it (acted_on_by_roles: a 'Pass to MASH Social Worker' sent
         * to the MASH team is a social worker's to complete, not its admin's). */
        const json_t *by = json_object_get(r, "acted_on_by_roles");
        if (by != NULL && (!json_is_array(by) || json_array_size(by) == 0))
            return DEF_FAIL("%s: %s.acted_on_by_roles must be a list of roles.", file, at);
        size_t b;
        const json_t *role;
        json_array_foreach(by, b, role)
        {
            if (!def__is_key(json_string_value(role)))
                return DEF_FAIL("%s: %s.acted_on_by_roles[%zu] must be a role's key.", file, at, b);
        }
        /* {type, title}: the case note an acknowledgement records on the step's person. */
        const json_t *noted = json_object_get(r, "acknowledgement_case_note");
        if (noted != NULL && (!json_is_object(noted) || !def__is_key(def__string(noted, "type")) ||
                              def__string(noted, "title") == NULL))
            return DEF_FAIL("%s: %s.acknowledgement_case_note must be {type, title}.", file, at);
    }
    const json_t *actions = json_object_get(def, "next_actions");
    if (!json_is_array(actions))
        return DEF_FAIL("%s: next_actions must be a list (it may be empty).", file);
    const json_t *a;
    json_array_foreach(actions, i, a)
    {
        snprintf(at, sizeof(at), "next_actions[%zu]", i);
        if (!json_is_object(a) || !def__is_key(def__string(a, "action")) || def__string(a, "title") == NULL)
            return DEF_FAIL("%s: %s needs an action and a title.", file, at);
        if (json_is_true(json_object_get(a, "reason_required")) &&
            def__check_options(json_object_get(a, "reasons"), file, at, err) != 0)
            return -1;
        /* A reason may record a case note on the person ({type, title, optional_when: {field, values}}),
         * may say that a request of the step's was sent (requires_request: its type), and may be for
         * a restricted person's step only (requires_restricted_subject: true). */
        const json_t *reason;
        size_t k;
        json_array_foreach(json_object_get(a, "reasons"), k, reason)
        {
            const json_t *sent = json_object_get(reason, "requires_request");
            if (sent != NULL && def__find(def, "requests", "type", json_string_value(sent)) == NULL)
                return DEF_FAIL("%s: %s.reasons[%zu].requires_request must be the type of one of the "
                                "step's requests.",
                                file, at, k);
            const json_t *restricted = json_object_get(reason, "requires_restricted_subject");
            if (restricted != NULL && !json_is_boolean(restricted))
                return DEF_FAIL("%s: %s.reasons[%zu].requires_restricted_subject must be true or false.",
                                file, at, k);
            const json_t *noted = json_object_get(reason, "case_note");
            if (noted == NULL)
                continue;
            const json_t *when = json_object_get(noted, "optional_when");
            if (!json_is_object(noted) || !def__is_key(def__string(noted, "type")) ||
                def__string(noted, "title") == NULL ||
                (when != NULL &&
                 (def__string(when, "field") == NULL || !json_is_array(json_object_get(when, "values")))))
                return DEF_FAIL("%s: %s.reasons[%zu].case_note must be {type, title} with, optionally, "
                                "optional_when: {field, values}.",
                                file, at, k);
        }
        const json_t *starts = json_object_get(a, "starts");
        if (starts != NULL && !json_is_null(starts) &&
            (!json_is_object(starts) || !def__is_key(def__string(starts, "type"))))
            return DEF_FAIL("%s: %s.starts must be {type, variant, assign_to} or null.", file, at);
        if (starts != NULL && def__check_recipient(json_object_get(starts, "assign_to"), file, at, err) != 0)
            return -1;
        if (def__check_variants(def, a, file, at, err) != 0)
            return -1;
    }
    return 0;
}

static int def__load_virtuals(const json_t *root, const char *file, tsr_error_t *err)
{
    const json_t *list = json_object_get(root, "virtual_workers");
    if (!json_is_array(list))
        return DEF_FAIL("%s: virtual_workers must be a list of {key, name, worked_by: {roles}}.", file);
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v)
    {
        const json_t *roles = json_object_get(json_object_get(v, "worked_by"), "roles");
        if (!def__is_key(def__string(v, "key")) || def__string(v, "name") == NULL || !json_is_array(roles))
            return DEF_FAIL("%s: virtual_workers[%zu] needs a key, a name and worked_by.roles.", file, i);
        if (wf_virtual_worker(def__string(v, "key")) != NULL)
            return DEF_FAIL("%s: virtual worker \"%s\" is defined twice.", file, def__string(v, "key"));
        if (virtuals_count == DEF_MAX)
            return DEF_FAIL("%s: more than %d virtual workers.", file, DEF_MAX);
        virtuals[virtuals_count].key = strdup(def__string(v, "key"));
        virtuals[virtuals_count].name = strdup(def__string(v, "name"));
        virtuals[virtuals_count].roles = json_incref((json_t *)roles);
        size_t n = json_array_size(roles);
        virtuals[virtuals_count].role_names = calloc(n ? n : 1, sizeof(char *));
        if (virtuals[virtuals_count].role_names == NULL)
            return DEF_FAIL("%s: out of memory.", file);
        for (size_t k = 0; k < n; k++)
            if (json_is_string(json_array_get(roles, k)))
                virtuals[virtuals_count].role_names[virtuals[virtuals_count].n_role_names++] =
                    (char *)json_string_value(json_array_get(roles, k));
        const json_t *to = json_object_get(v, "restricted_records_to");
        if (to != NULL && !def__is_key(json_string_value(to)))
            return DEF_FAIL("%s: virtual_workers[%zu].restricted_records_to must be a virtual worker's key.",
                            file, i);
        virtuals[virtuals_count].restricted_to = to ? strdup(json_string_value(to)) : NULL;
        virtuals_count++;
    }
    for (size_t k = 0; k < virtuals_count; k++)
        if (virtuals[k].restricted_to && (wf_virtual_worker(virtuals[k].restricted_to) == NULL ||
                                          strcmp(virtuals[k].restricted_to, virtuals[k].key) == 0))
            return DEF_FAIL(
                "%s: virtual worker \"%s\" sends work about restricted records to \"%s\", which is "
                "not another virtual worker.",
                file, virtuals[k].key, virtuals[k].restricted_to);
    return 0;
}

static int def__compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int def__load_dir(const char *dir, tsr_error_t *err)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return tsr_error_set(err, TSR_E_INVALID, "bad_definition", "workflow.definitions_dirs",
                             "Cannot read the definitions directory %s.", dir);
    char *names[DEF_MAX] = {0};
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < DEF_MAX) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0 && e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), def__compare_names);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char file[DEF_PATH_MAX];
        snprintf(file, sizeof(file), "%s/%s", dir, names[i]);
        json_error_t jerr;
        json_t *root = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
        if (root == NULL) {
            /* A file that could not be read has no line and column (jansson's -1). */
            if (jerr.line < 1) {
                char words[sizeof(jerr.text) + 64];
                tsr_json_error_words(&jerr, words, sizeof(words));
                rc = DEF_FAIL("%s: %s", file, words);
            } else
                rc = DEF_FAIL("%s:%d:%d: %s", file, jerr.line, jerr.column, jerr.text);
            break;
        }
        if (!json_is_object(root)) {
            rc = DEF_FAIL("%s: a definition is a JSON object.", file);
        } else if (json_object_get(root, "virtual_workers") != NULL) {
            rc = def__load_virtuals(root, file, err);
        } else if (def__check(root, file, err) == 0) {
            const char *type = def__string(root, "type");
            if (wf_definition_current(type, NULL) != NULL)
                rc = DEF_FAIL("%s: step type \"%s\" is defined twice.", file, type);
            else if (defs_count == DEF_MAX)
                rc = DEF_FAIL("%s: more than %d step types.", file, DEF_MAX);
            else {
                def_entry_t *entry = &defs[defs_count++];
                entry->type = strdup(type);
                entry->body = json_incref(root);
                char *canonical = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
                unsigned char digest[crypto_hash_sha256_BYTES];
                crypto_hash_sha256(digest, (const unsigned char *)canonical, strlen(canonical));
                sodium_bin2hex(entry->hash, sizeof(entry->hash), digest, sizeof(digest));
                free(canonical);
                entry->version = 0;
            }
        } else {
            rc = -1;
        }
        json_decref(root);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    return rc;
}

int wf_definitions_load(const char *dirs, tsr_error_t *err)
{
    char *copy = strdup(dirs);
    int rc = 0;
    char *save = NULL;
    for (char *dir = strtok_r(copy, ",", &save); dir && rc == 0; dir = strtok_r(NULL, ",", &save)) {
        while (*dir == ' ')
            dir++;
        if (*dir)
            rc = def__load_dir(dir, err);
    }
    free(copy);
    if (rc != 0)
        return -1;
    if (defs_count == 0)
        return tsr_error_set(err, TSR_E_INVALID, "bad_definition", "workflow.definitions_dirs",
                             "No step type definitions were found in %s.", dirs);
    /* What one definition names in another must be there. */
    for (size_t i = 0; i < defs_count; i++) {
        const char *file = defs[i].type;
        const json_t *body = defs[i].body;
        const json_t *vw = json_object_get(json_object_get(body, "start"), "assign_to");
        if (def__string(vw, "virtual") && !wf_virtual_worker(def__string(vw, "virtual")))
            return DEF_FAIL("Step type %s starts in virtual worker \"%s\", which is not defined.", file,
                            def__string(vw, "virtual"));
        size_t k;
        const json_t *r;
        json_array_foreach(json_object_get(body, "requests"), k, r)
        {
            const char *v = def__string(json_object_get(r, "to"), "virtual");
            if (v && !wf_virtual_worker(v))
                return DEF_FAIL(
                    "Step type %s: request %s goes to virtual worker \"%s\", which is not defined.", file,
                    def__string(r, "type"), v);
        }
        const json_t *a;
        json_array_foreach(json_object_get(body, "next_actions"), k, a)
        {
            const char *t = def__string(json_object_get(a, "starts"), "type");
            if (t && !wf_definition_current(t, NULL))
                return DEF_FAIL("Step type %s: next action %s starts \"%s\", which is not defined.", file,
                                def__string(a, "action"), t);
        }
    }
    return 0;
}

void wf_definitions_free(void)
{
    for (size_t i = 0; i < defs_count; i++) {
        free(defs[i].type);
        json_decref(defs[i].body);
    }
    defs_count = 0;
    for (size_t i = 0; i < virtuals_count; i++) {
        free(virtuals[i].key);
        free(virtuals[i].name);
        json_decref(virtuals[i].roles);
        free(virtuals[i].role_names);
        free(virtuals[i].restricted_to);
    }
    virtuals_count = 0;
}

int wf_definitions_register(PGconn *conn, tsr_error_t *err)
{
    if (tsr_db_command(conn, "BEGIN", err) != 0)
        return -1;
    /* One registration at a time across instances, so that two never take the same version. */
    if (tsr_db_command(conn, "SELECT pg_advisory_xact_lock(hashtext('workflow.definitions'))", err) != 0)
        goto fail;
    for (size_t i = 0; i < defs_count; i++) {
        char *body = json_dumps(defs[i].body, JSON_COMPACT | JSON_SORT_KEYS);
        const char *params[3] = {defs[i].type, defs[i].hash, body};
        PGresult *res =
            tsr_db_exec(conn,
                        "WITH known AS (SELECT version FROM definitions WHERE type = $1 AND body_hash = $2),"
                        " added AS (INSERT INTO definitions (type, version, body, body_hash)"
                        "   SELECT $1, coalesce((SELECT max(version) FROM definitions WHERE type = $1), 0) + "
                        "1, $3::jsonb, $2"
                        "   WHERE NOT EXISTS (SELECT 1 FROM known) RETURNING version)"
                        " SELECT version FROM known UNION ALL SELECT version FROM added",
                        3, params, err);
        free(body);
        if (res == NULL)
            goto fail;
        defs[i].version = atoi(PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    if (tsr_db_command(conn, "COMMIT", err) != 0)
        goto fail;
    return 0;
fail:
    tsr_db_command(conn, "ROLLBACK", NULL);
    return -1;
}

const json_t *wf_definition_current(const char *type, int *version)
{
    for (size_t i = 0; i < defs_count; i++)
        if (strcmp(defs[i].type, type) == 0) {
            if (version)
                *version = defs[i].version;
            return defs[i].body;
        }
    return NULL;
}

json_t *wf_definition_get(PGconn *conn, const char *type, int version, tsr_error_t *err)
{
    int current = 0;
    const json_t *def = wf_definition_current(type, &current);
    if (def != NULL && current == version)
        return json_incref((json_t *)def);
    char v[16];
    snprintf(v, sizeof(v), "%d", version);
    const char *params[2] = {type, v};
    PGresult *res = tsr_db_exec(
        conn, "SELECT body::text FROM definitions WHERE type = $1 AND version = $2::int", 2, params, err);
    if (res == NULL)
        return NULL;
    json_t *body = NULL;
    if (PQntuples(res) == 1)
        body = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    if (body == NULL)
        tsr_error_set(err, TSR_E_INTERNAL, "definition_missing", NULL,
                      "Version %d of the %s definition is not stored.", version, type);
    return body;
}

size_t wf_definitions_count(void)
{
    return defs_count;
}

const json_t *wf_definition_at(size_t i, int *version)
{
    if (version)
        *version = defs[i].version;
    return defs[i].body;
}

const wf_virtual_worker_t *wf_virtual_worker(const char *key)
{
    for (size_t i = 0; i < virtuals_count; i++)
        if (strcmp(virtuals[i].key, key) == 0)
            return &virtuals[i];
    return NULL;
}

size_t wf_virtual_workers_count(void)
{
    return virtuals_count;
}

const wf_virtual_worker_t *wf_virtual_worker_at(size_t i)
{
    return &virtuals[i];
}

json_t *wf_def_section(const json_t *def, const char *number)
{
    return def__find(def, "sections", "number", number);
}

int wf_def_applies_to_variant(const json_t *item, const char *variant)
{
    const json_t *vs = json_object_get(item, "variants");
    if (vs == NULL)
        return 1;
    size_t i;
    const json_t *v;
    json_array_foreach(vs, i, v)
    {
        if (strcmp(json_string_value(v), variant) == 0)
            return 1;
    }
    return 0;
}

json_t *wf_def_request(const json_t *def, const char *type, const char *variant)
{
    json_t *r = def__find(def, "requests", "type", type);
    return r && wf_def_applies_to_variant(r, variant) ? r : NULL;
}

json_t *wf_def_next_action(const json_t *def, const char *action)
{
    return def__find(def, "next_actions", "action", action);
}

int wf_def_has_variant(const json_t *def, const char *variant)
{
    const json_t *vs = json_object_get(def, "variants");
    if (vs == NULL || json_array_size(vs) == 0)
        return variant == NULL || variant[0] == '\0';
    return def__find(def, "variants", "key", variant) != NULL;
}

int wf_def_name_only_subject(const json_t *def)
{
    const json_t *access = json_object_get(def, "subject_access");
    return json_is_string(access) && strcmp(json_string_value(access), "name-only") == 0;
}

int wf_def_allows_subject(const json_t *def, const char *kind)
{
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(def, "subjects"), i, v)
    {
        if (strcmp(json_string_value(v), kind) == 0)
            return 1;
    }
    return 0;
}

char *wf_def_title(const json_t *def, const char *variant)
{
    const char *pattern = def__string(def, "title_pattern");
    const char *hole = strstr(pattern, "{variant}");
    if (hole == NULL)
        return strdup(pattern);
    size_t len = strlen(pattern) - 9 + strlen(variant) + 1;
    char *title = malloc(len);
    snprintf(title, len, "%.*s%s%s", (int)(hole - pattern), pattern, variant, hole + 9);
    return title;
}

int64_t wf_def_due(const json_t *due, int64_t from_ms)
{
    if (!json_is_object(due))
        return 0;
    double hours = json_number_value(json_object_get(due, "hours"));
    const json_t *wh = json_object_get(due, "working_hours");
    if (wh == NULL)
        return wf_due_add(from_ms, hours, NULL);
    wf_calendar_t cal = {.start_minute = wf_due_parse_clock(def__string(wh, "start")),
                         .end_minute = wf_due_parse_clock(def__string(wh, "end"))};
    cal.closed = wf_due_closed_days(&cal.n_closed);
    size_t i;
    const json_t *d;
    json_array_foreach(json_object_get(wh, "days"), i, d)
    {
        cal.days |= wf_due_parse_day(json_string_value(d));
    }
    return wf_due_add(from_ms, hours, &cal);
}

int wf_def_roles_match(const json_t *allowed, char *const *roles, size_t n_roles)
{
    size_t i;
    const json_t *v;
    json_array_foreach(allowed, i, v)
    {
        for (size_t r = 0; r < n_roles; r++)
            if (strcmp(json_string_value(v), roles[r]) == 0)
                return 1;
    }
    return 0;
}
