#include "fields.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "definitions.h"
#include "tsr_envelope.h"
#include "tsr_text.h"

#define FIELD_TEXT_MAX 500
#define FIELD_LONG_TEXT_MAX 20000

/* The item of list (fields, options) whose member key is value, or NULL. The definitions were
 * checked when loaded: every item has its key. */
static const json_t *field__find(const json_t *list, const char *key, const char *value)
{
    size_t i;
    const json_t *o;
    json_array_foreach(list, i, o)
    {
        if (strcmp(json_string_value(json_object_get(o, key)), value) == 0)
            return o;
    }
    return NULL;
}

static int field__has_option(const json_t *options, const char *value)
{
    return field__find(options, "value", value) != NULL;
}

const json_t *wf_fields_reason(const json_t *def_action, const char *reason)
{
    return reason ? field__find(json_object_get(def_action, "reasons"), "value", reason) : NULL;
}

int wf_fields_step_matches(PGconn *conn, uint64_t step_id, const json_t *when, tsr_error_t *err)
{
    char sid[24];
    snprintf(sid, sizeof(sid), "%" PRIu64, step_id);
    const char *p[2] = {sid, json_string_value(json_object_get(when, "field"))};
    PGresult *res = tsr_db_exec(conn,
                                "SELECT data ->> $2 FROM sections WHERE step_id = $1::bigint AND data ? $2"
                                " ORDER BY number LIMIT 1",
                                2, p, err);
    if (res == NULL)
        return -1;
    int matched = 0;
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        const json_t *v;
        size_t k;
        json_array_foreach(json_object_get(when, "values"), k, v)
        {
            matched |= json_is_string(v) && strcmp(json_string_value(v), PQgetvalue(res, 0, 0)) == 0;
        }
    }
    PQclear(res);
    return matched;
}

/* One value as the step page shows it, appended to out (at most size bytes in all), after sep when
 * out holds something already. */
static void field__summary_value(const json_t *field, const json_t *v, const char *sep, char *out,
                                 size_t size)
{
    const char *type = json_string_value(json_object_get(field, "type"));
    char shown[256] = "";
    if (json_is_number(v))
        snprintf(shown, sizeof(shown), "%g", json_number_value(v));
    else if (json_is_array(v)) {
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
        {
            const json_t *o = json_is_string(item) ? field__find(json_object_get(field, "options"), "value",
                                                                 json_string_value(item))
                                                   : NULL;
            if (o != NULL)
                snprintf(shown + strlen(shown), sizeof(shown) - strlen(shown), "%s%s", shown[0] ? ", " : "",
                         json_string_value(json_object_get(o, "title")));
        }
    } else if (json_is_string(v) && tsr_text_trimmed_length(json_string_value(v)) > 0) {
        const char *s = json_string_value(v);
        int64_t ms;
        const json_t *o;
        if (strcmp(type, "picklist") == 0 && (o = field__find(json_object_get(field, "options"), "value", s)))
            snprintf(shown, sizeof(shown), "%s", json_string_value(json_object_get(o, "title")));
        else if (strcmp(type, "datetime") == 0 && tsr_text_datetime_parse(s, &ms) == 0)
            tsr_text_local_time(ms, "%d/%m/%Y %H:%M", shown, sizeof(shown));
        else if (strcmp(type, "date") != 0 || tsr_text_date_display(s, shown) != 0)
            snprintf(shown, sizeof(shown), "%s", s);
    }
    if (shown[0] == '\0')
        return;
    snprintf(out + strlen(out), size - strlen(out), "%s%s", out[0] ? sep : "", shown);
}

char *wf_fields_summary(const json_t *def, const char *data_text)
{
    const json_t *summary = json_object_get(def, "summary");
    if (summary == NULL || data_text == NULL || data_text[0] == '\0')
        return NULL;
    json_t *data = json_loads(data_text, 0, NULL);
    const json_t *section = wf_def_section(def, json_string_value(json_object_get(summary, "section")));
    char out[512] = "";
    const json_t *name;
    size_t i;
    json_array_foreach(json_object_get(summary, "fields"), i, name)
    {
        const json_t *field =
            field__find(json_object_get(section, "fields"), "name", json_string_value(name));
        const json_t *v = json_object_get(data, json_string_value(name));
        if (field != NULL && v != NULL)
            field__summary_value(field, v, ", ", out, sizeof(out));
    }
    json_decref(data);
    /* A text cut at the end of the room may end mid-character. */
    tsr_text_utf8_clean(out);
    return out[0] ? strdup(out) : NULL;
}

static int field__is_empty(const json_t *v)
{
    return v == NULL || json_is_null(v) ||
           (json_is_string(v) && tsr_text_trimmed_length(json_string_value(v)) == 0) ||
           (json_is_array(v) && json_array_size(v) == 0);
}

static int field__check_one(tsr_call_t *call, const json_t *field, const json_t *v, tsr_error_t *err)
{
    const char *name = json_string_value(json_object_get(field, "name"));
    const char *title = json_string_value(json_object_get(field, "title"));
    const char *type = json_string_value(json_object_get(field, "type"));
    char path[128];
    snprintf(path, sizeof(path), "data.%s", name);
    if (v == NULL || json_is_null(v))
        return 0;
    if (strcmp(type, "boolean") == 0)
        return json_is_boolean(v) ? 0
                                  : tsr_error_set(err, TSR_E_INVALID, "invalid_value", path,
                                                  "%s must be true or false.", title);
    if (strcmp(type, "number") == 0)
        return json_is_number(v)
                   ? 0
                   : tsr_error_set(err, TSR_E_INVALID, "invalid_value", path, "%s must be a number.", title);
    if (strcmp(type, "multi-picklist") == 0) {
        if (!json_is_array(v))
            return tsr_error_set(err, TSR_E_INVALID, "invalid_value", path, "%s must be a list of choices.",
                                 title);
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
        {
            if (!json_is_string(item) ||
                !field__has_option(json_object_get(field, "options"), json_string_value(item)))
                return tsr_error_set(err, TSR_E_INVALID, "unknown_option", path,
                                     "%s: \"%s\" is not one of its choices.", title,
                                     json_is_string(item) ? json_string_value(item) : "(not text)");
            for (size_t j = 0; j < i; j++)
                if (strcmp(json_string_value(json_array_get(v, j)), json_string_value(item)) == 0)
                    return tsr_error_set(err, TSR_E_INVALID, "duplicate_option", path,
                                         "%s lists \"%s\" twice.", title, json_string_value(item));
        }
        return 0;
    }
    if (!json_is_string(v))
        return tsr_error_set(err, TSR_E_INVALID, "invalid_value", path, "%s must be text.", title);
    const char *s = json_string_value(v);
    int long_text = strcmp(type, "long-text") == 0;
    if (tsr_text_length(s) > (long_text ? FIELD_LONG_TEXT_MAX : FIELD_TEXT_MAX))
        return tsr_error_set(err, TSR_E_INVALID, "too_long", path, "%s must be %d characters or fewer.",
                             title, long_text ? FIELD_LONG_TEXT_MAX : FIELD_TEXT_MAX);
    if (tsr_text_check_characters(s, long_text, path, title, err) != 0)
        return -1;
    if (s[0] == '\0')
        return 0;
    int not_future = json_is_true(json_object_get(field, "not_future"));
    const char *not_before = json_string_value(json_object_get(field, "not_before"));
    if (strcmp(type, "date") == 0)
        return tsr_text_check_date(s, not_future, path, err) != 0
                   ? -1
                   : tsr_text_check_not_before(s, not_before, path, title, err);
    if (strcmp(type, "datetime") == 0)
        return tsr_text_check_datetime(s, not_future, not_before, path, title, err);
    if (strcmp(type, "telephone") == 0 && !tsr_text_is_telephone(s))
        return tsr_error_set(err, TSR_E_INVALID, "invalid_telephone", path,
                             "%s must be a telephone number, like 020 7974 4444.", title);
    if (strcmp(type, "email") == 0 && !tsr_text_is_email(s))
        return tsr_error_set(err, TSR_E_INVALID, "invalid_email", path,
                             "%s must be an e-mail address, like name@example.org.", title);
    if (strcmp(type, "picklist") == 0 && !field__has_option(json_object_get(field, "options"), s))
        return tsr_error_set(err, TSR_E_INVALID, "unknown_option", path,
                             "%s: \"%s\" is not one of its choices.", title, s);
    if (strcmp(type, "worker") == 0) {
        if (!tsr_text_is_id(s))
            return tsr_error_set(err, TSR_E_INVALID, "invalid_value", path, "%s must be a worker's id.",
                                 title);
        const char *params[1] = {s};
        PGresult *res =
            tsr_db_exec(call->conn, "SELECT 1 FROM workers WHERE id = $1::bigint", 1, params, err);
        if (res == NULL)
            return -1;
        int found = PQntuples(res) == 1;
        PQclear(res);
        if (!found)
            return tsr_error_set(err, TSR_E_INVALID, "worker_not_found", path, "%s: there is no worker %s.",
                                 title, s);
    }
    return 0;
}

/* Whether a field with required_when (checked when the definition was loaded) is required by the
 * data as it stands; if so, why is said in words to follow what is asked ("for 'As part of a usual
 * team meeting'", "as the new role is given"). */
static int field__required_now(const json_t *fields, const json_t *f, const json_t *data, char *why,
                               size_t why_size)
{
    const json_t *when = json_object_get(f, "required_when");
    if (when == NULL)
        return 0;
    const char *other = json_string_value(json_object_get(when, "field"));
    const json_t *target = field__find(fields, "name", other);
    const char *other_title = json_string_value(json_object_get(target, "title"));
    const json_t *v = json_object_get(data, other);
    const json_t *filled = json_object_get(when, "filled");
    if (filled != NULL) {
        if (field__is_empty(v) == json_is_true(filled))
            return 0;
        char other_named[300];
        tsr_text_in_sentence(other_title, other_named, sizeof(other_named));
        snprintf(why, why_size, ", as %s is %s", other_named, json_is_true(filled) ? "given" : "not given");
        return 1;
    }
    size_t i;
    const json_t *want;
    json_array_foreach(json_object_get(when, "is"), i, want)
    {
        const char *w = json_string_value(want);
        int chosen = json_is_string(v) && strcmp(json_string_value(v), w) == 0;
        size_t k;
        const json_t *item;
        json_array_foreach(json_is_array(v) ? v : NULL, k, item)
        {
            if (json_is_string(item) && strcmp(json_string_value(item), w) == 0)
                chosen = 1;
        }
        if (chosen) {
            snprintf(why, why_size, " for '%s'",
                     json_string_value(json_object_get(
                         field__find(json_object_get(target, "options"), "value", w), "title")));
            return 1;
        }
    }
    return 0;
}

int wf_fields_check(tsr_call_t *call, const json_t *fields, json_t *data, int completing, tsr_error_t *err)
{
    /* Every field is checked and each at fault said, in the section's order, so that a worker puts
     * the whole form right in one go (a key that is no field among them); a fault that is not the
     * input's (the database) ends it. */
    tsr_error_t one;
    tsr_error_clear(err);
    const char *key;
    json_t *v;
    json_object_foreach(data, key, v)
    {
        if (field__find(fields, "name", key) == NULL) {
            char path[160];
            snprintf(path, sizeof(path), "data.%.100s", key);
            tsr_error_add(err, TSR_E_INVALID, "unknown_field", path, "This section has no field \"%.100s\".",
                          key);
        }
    }
    size_t i;
    const json_t *f;
    json_array_foreach(fields, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *def = json_string_value(json_object_get(f, "default"));
        /* The worker completing the section, not whoever saved it on the way: an admin who saves
         * section 2 as they send a request is not who completed the decision (seed 000, steps 7-8). */
        if (def && strcmp(def, "current-worker") == 0 && completing &&
            field__is_empty(json_object_get(data, name)) && call->actor->worker_id != 0)
            json_object_set_new(data, name, wf_json_id(call->actor->worker_id));
        if (field__check_one(call, f, json_object_get(data, name), &one) != 0) {
            if (one.status != TSR_E_INVALID && one.status != TSR_E_UNPROCESSABLE) {
                *err = one;
                return -1;
            }
            tsr_error_gather(err, &one);
        } else if (completing && field__is_empty(json_object_get(data, name))) {
            /* In the Design System's words: "Enter the date and time of consultation", "Select the
             * source of consultation"; one required by another's answer says which. */
            char path[128], why[400] = "", ask[500];
            snprintf(path, sizeof(path), "data.%s", name);
            if (!json_is_true(json_object_get(f, "required")) &&
                !field__required_now(fields, f, data, why, sizeof(why)))
                continue;
            tsr_text_ask_for(json_string_value(json_object_get(f, "type")),
                             json_string_value(json_object_get(f, "title")), ask, sizeof(ask));
            tsr_error_set(&one, TSR_E_UNPROCESSABLE, "required_field", path, "%s%s", ask, why);
            tsr_error_gather(err, &one);
        }
    }
    return tsr_error_gathered(err);
}

int wf_fields_check_next_actions(tsr_call_t *call, const wf_step_t *step, const json_t *actions,
                                 int completing, tsr_error_t *err)
{
    (void)call;
    /* What is not the list's shape is said as it is met; each action's own faults are gathered, so
     * that every action's missing reason is named at once. */
    tsr_error_clear(err);
    if (actions == NULL || json_is_null(actions)) {
        if (completing)
            return tsr_error_set(err, TSR_E_UNPROCESSABLE, "next_action_required", "next_actions",
                                 "Add a next action before completing this section.");
        return 0;
    }
    if (!json_is_array(actions))
        return tsr_error_set(err, TSR_E_INVALID, "invalid_value", "next_actions",
                             "next_actions must be a list of {action, reason, note, priority}.");
    if (completing && json_array_size(actions) == 0)
        return tsr_error_set(err, TSR_E_UNPROCESSABLE, "next_action_required", "next_actions",
                             "Add a next action before completing this section.");
    size_t i;
    json_t *a;
    json_array_foreach(actions, i, a)
    {
        char path[64];
        if (!json_is_object(a))
            return tsr_error_set(err, TSR_E_INVALID, "invalid_value", "next_actions",
                                 "Each next action is an object {action, reason, note, priority}.");
        const char *key;
        json_t *v;
        json_object_foreach(a, key, v)
        {
            if (strcmp(key, "action") && strcmp(key, "reason") && strcmp(key, "note") &&
                strcmp(key, "priority") && strcmp(key, "case_note")) {
                snprintf(path, sizeof(path), "next_actions[%zu].%.20s", i, key);
                return tsr_error_set(err, TSR_E_INVALID, "unknown_field", path,
                                     "A next action has no \"%.40s\".", key);
            }
            if (!json_is_string(v)) {
                snprintf(path, sizeof(path), "next_actions[%zu].%.20s", i, key);
                return tsr_error_set(err, TSR_E_INVALID, "invalid_value", path, "%s must be text.", key);
            }
        }
        const char *action = json_string_value(json_object_get(a, "action"));
        snprintf(path, sizeof(path), "next_actions[%zu].action", i);
        const json_t *def_action = action && action[0] ? wf_def_next_action(step->def, action) : NULL;
        if (def_action == NULL || !wf_def_applies_to_variant(def_action, step->variant)) {
            tsr_error_add(err, action && action[0] ? TSR_E_UNPROCESSABLE : TSR_E_INVALID,
                          action && action[0] ? "unknown_next_action" : "missing_field", path,
                          action && action[0] ? "%s cannot end with \"%s\"." : "%sChoose the next action%s.",
                          action && action[0] ? step->title : "", action ? action : "");
            continue;
        }
        const char *title = json_string_value(json_object_get(def_action, "title"));
        /* Every next action a definition offers ends the step and starts nothing, so one listed twice
         * would be recorded twice ('Consultation complete, Consultation complete'). */
        int twice = 0;
        for (size_t j = 0; j < i && !twice; j++) {
            const char *earlier = json_string_value(json_object_get(json_array_get(actions, j), "action"));
            twice = earlier != NULL && strcmp(earlier, action) == 0;
        }
        if (twice) {
            tsr_error_add(err, TSR_E_UNPROCESSABLE, "duplicate_next_action", path, "'%s' is listed twice.",
                          title);
            continue;
        }
        const char *reason = json_string_value(json_object_get(a, "reason"));
        snprintf(path, sizeof(path), "next_actions[%zu].reason", i);
        if (reason == NULL || reason[0] == '\0') {
            if (json_is_true(json_object_get(def_action, "reason_required")))
                tsr_error_add(err, TSR_E_UNPROCESSABLE, "reason_required", path, "%s the reason for '%s'",
                              json_array_size(json_object_get(def_action, "reasons")) ? "Select" : "Enter",
                              title);
        } else if (!field__has_option(json_object_get(def_action, "reasons"), reason))
            tsr_error_add(err, TSR_E_UNPROCESSABLE, "unknown_reason", path,
                          "\"%s\" is not one of the reasons for '%s'.", reason, title);
        const char *priority = json_string_value(json_object_get(a, "priority"));
        snprintf(path, sizeof(path), "next_actions[%zu].priority", i);
        if (priority && priority[0] && strcmp(priority, "urgent") && strcmp(priority, "normal") &&
            strcmp(priority, "low"))
            tsr_error_add(err, TSR_E_INVALID, "invalid_value", path, "Priority is urgent, normal or low.");
        const char *note = json_string_value(json_object_get(a, "note"));
        snprintf(path, sizeof(path), "next_actions[%zu].note", i);
        if (note && tsr_text_length(note) > FIELD_LONG_TEXT_MAX)
            tsr_error_add(err, TSR_E_INVALID, "too_long", path, "The note must be %d characters or fewer.",
                          FIELD_LONG_TEXT_MAX);
        /* A case note goes on the person's record only with a reason that records one. */
        const char *case_note = json_string_value(json_object_get(a, "case_note"));
        snprintf(path, sizeof(path), "next_actions[%zu].case_note", i);
        if (case_note && tsr_text_trimmed_length(case_note) > 0 &&
            json_object_get(wf_fields_reason(def_action, reason), "case_note") == NULL)
            tsr_error_add(err, TSR_E_UNPROCESSABLE, "case_note_not_taken", path,
                          "'%s' with this reason does not record a case note: record one on the person's "
                          "record instead.",
                          title);
    }
    return tsr_error_gathered(err);
}
