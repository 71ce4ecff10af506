/* json: building replies and reading request bodies and query parameters, with the API's errors. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h"
#include "tsr_text.h"

json_t *gw_json_id(uint64_t id)
{
    char text[32];
    snprintf(text, sizeof(text), "%" PRIu64, id);
    return json_string(text);
}

json_t *gw_json_title(const char *name, uint64_t id)
{
    /* Sized to the name: a name's limits are in characters, so its bytes (up to four a character)
     * have no bound a fixed buffer could keep without cutting the id off or a character in two. */
    char *title = NULL;
    if (asprintf(&title, "%s (%" PRIu64 ")", name ? name : "", id) < 0)
        return NULL;
    json_t *out = json_string(title);
    free(title);
    return out;
}

json_t *gw_json_time(int64_t ms)
{
    char text[TSR_TEXT_UTC_MS_LEN + 1];
    tsr_text_utc_ms(ms, text);
    return json_string(text);
}

int gw_json_check_object(gw_call_t *call, const char *const *allowed)
{
    const char *key;
    json_t *value;
    json_object_foreach(call->body, key, value)
    {
        int known = 0;
        for (const char *const *a = allowed; *a != NULL && !known; a++)
            known = strcmp(*a, key) == 0;
        if (!known)
            return gw_fail(call, TSR_E_INVALID, "unknown_field", key, "'%s' is not a field of this request.",
                           key);
    }
    return 0;
}

int gw_json_string(gw_call_t *call, const char *key, int required, const char **out)
{
    json_t *value = json_object_get(call->body, key);
    *out = "";
    if (value == NULL || json_is_null(value)) {
        if (required)
            return gw_fail(call, TSR_E_INVALID, "missing_field", key, "'%s' is required.", key);
        return 0;
    }
    if (!json_is_string(value))
        return gw_fail(call, TSR_E_INVALID, "invalid_type", key, "'%s' must be a string.", key);
    *out = json_string_value(value);
    return 0;
}

static int gw__all_digits(const char *s)
{
    if (*s == '\0' || strlen(s) > 19)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

int gw_param_id(gw_call_t *call, const char *name, uint64_t *out)
{
    const char *v = gw_param(call, name);
    *out = 0;
    if (v == NULL || *v == '\0')
        return 0;
    if (!tsr_text_is_id(v) || (*out = strtoull(v, NULL, 10)) == 0)
        return gw_fail(call, TSR_E_INVALID, "invalid_id", name, "'%s' must be an id: a string of digits.",
                       name);
    return 0;
}

int gw_param_limit(gw_call_t *call, uint32_t *out)
{
    const char *v = gw_param(call, "limit");
    *out = 50;
    if (v == NULL)
        return 0;
    if (!gw__all_digits(v) || strtoul(v, NULL, 10) < 1 || strtoul(v, NULL, 10) > 200)
        return gw_fail(call, TSR_E_INVALID, "invalid_limit", "limit",
                       "limit must be a number from 1 to 200.");
    *out = (uint32_t)strtoul(v, NULL, 10);
    return 0;
}

int gw_param_bool(gw_call_t *call, const char *name, protobuf_c_boolean *out)
{
    const char *v = gw_param(call, name);
    *out = v != NULL && strcmp(v, "true") == 0;
    if (v != NULL && strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
        return gw_fail(call, TSR_E_INVALID, "invalid_value", name, "%s must be true or false.", name);
    return 0;
}

int gw_parse_time(const char *text, int64_t *ms)
{
    struct tm tm = {0};
    int year, month, day, hour = 0, minute = 0, second = 0, millis = 0, offset = 0;
    size_t len = strlen(text);
    if (len < 10 || tsr_text_date_parts(text, &year, &month, &day) != 0)
        return -1;
    const char *p = text + 10;
    if (*p != '\0') {
        if ((*p != 'T' && *p != 't' && *p != ' ') || strlen(p) < 9 ||
            (hour = tsr_text_digits(p + 1, 2)) < 0 || p[3] != ':' ||
            (minute = tsr_text_digits(p + 4, 2)) < 0 || p[6] != ':' ||
            (second = tsr_text_digits(p + 7, 2)) < 0)
            return -1;
        p += 9;
        if (*p == '.') {
            p++;
            int digits = 0;
            while (isdigit((unsigned char)*p)) {
                if (digits < 3)
                    millis = millis * 10 + (*p - '0');
                digits++;
                p++;
            }
            if (digits == 0)
                return -1;
            for (; digits < 3; digits++)
                millis *= 10;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh = strlen(p) == 6 ? tsr_text_digits(p + 1, 2) : -1,
                om = oh >= 0 ? tsr_text_digits(p + 4, 2) : -1;
            if (oh < 0 || om < 0 || p[3] != ':' || oh > 23 || om > 59)
                return -1;
            offset = (*p == '+' ? 1 : -1) * (oh * 60 + om);
            p += 6;
        } else {
            return -1; /* RFC 3339 needs an offset */
        }
        if (*p != '\0')
            return -1;
    }
    if (hour > 23 || minute > 59 || second > 60)
        return -1;
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    time_t t = timegm(&tm); /* the day exists (tsr_text_date_parts): timegm moves no date */
    *ms = ((int64_t)t - (int64_t)offset * 60) * 1000 + millis;
    return 0;
}

int gw_param_time(gw_call_t *call, const char *name, int64_t *out, int *date_only)
{
    const char *v = gw_param(call, name);
    *out = 0;
    if (date_only != NULL)
        *date_only = v != NULL && strlen(v) == 10;
    if (v == NULL || *v == '\0')
        return 0;
    if (gw_parse_time(v, out) != 0)
        return gw_fail(call, TSR_E_INVALID, "invalid_date", name,
                       "'%s' must be a date (2022-11-14) or a date-time with offset (2022-11-14T09:30:00Z).",
                       name);
    return 0;
}

int gw_json_member_string(gw_call_t *call, json_t *obj, const char *key, const char *path, int required,
                          const char **out)
{
    json_t *value = json_object_get(obj ? obj : call->body, key);
    *out = "";
    if (value == NULL || json_is_null(value)) {
        if (required)
            return gw_fail(call, TSR_E_INVALID, "missing_field", path, "'%s' is required.", path);
        return 0;
    }
    if (!json_is_string(value))
        return gw_fail(call, TSR_E_INVALID, "invalid_type", path, "'%s' must be a string.", path);
    *out = json_string_value(value);
    return 0;
}

int gw_json_member_id_at(gw_call_t *call, json_t *obj, const char *key, const char *path, int required,
                         uint64_t *out)
{
    const char *text;
    *out = 0;
    if (gw_json_member_string(call, obj, key, path, required, &text) != 0)
        return -1;
    if (*text == '\0')
        return required ? gw_fail(call, TSR_E_INVALID, "missing_field", path, "'%s' is required.", path) : 0;
    if (!tsr_text_is_id(text) || (*out = strtoull(text, NULL, 10)) == 0)
        return gw_fail(call, TSR_E_INVALID, "invalid_id", path, "'%s' must be an id: a string of digits.",
                       path);
    return 0;
}

int gw_json_member_id(gw_call_t *call, json_t *obj, const char *key, int required, uint64_t *out)
{
    return gw_json_member_id_at(call, obj, key, key, required, out);
}

int gw_json_member_bool(gw_call_t *call, json_t *obj, const char *key, int *out)
{
    json_t *value = json_object_get(obj ? obj : call->body, key);
    *out = 0;
    if (value == NULL || json_is_null(value))
        return 0;
    if (!json_is_boolean(value))
        return gw_fail(call, TSR_E_INVALID, "invalid_type", key, "'%s' must be true or false.", key);
    *out = json_is_true(value);
    return 0;
}

int gw_json_member_count(gw_call_t *call, json_t *obj, const char *key, int *given, uint32_t *out)
{
    json_t *value = json_object_get(obj ? obj : call->body, key);
    *given = 0;
    *out = 0;
    if (value == NULL || json_is_null(value))
        return 0;
    if (!json_is_integer(value))
        return gw_fail(call, TSR_E_INVALID, "invalid_type", key, "'%s' must be a whole number.", key);
    json_int_t number = json_integer_value(value);
    if (number < 0 || number > INT32_MAX)
        return gw_fail(call, TSR_E_INVALID, "invalid_value", key, "'%s' must be from 0 to %d.", key,
                       INT32_MAX);
    *given = 1;
    *out = (uint32_t)number;
    return 0;
}

int gw_json_member_strings(gw_call_t *call, json_t *obj, const char *key, char **out, size_t max, size_t *n)
{
    json_t *value = json_object_get(obj ? obj : call->body, key);
    *n = 0;
    if (value == NULL || json_is_null(value))
        return 0;
    if (!json_is_array(value))
        return gw_fail(call, TSR_E_INVALID, "invalid_type", key, "'%s' must be a list of strings.", key);
    if (json_array_size(value) > max)
        return gw_fail(call, TSR_E_INVALID, "too_many", key, "'%s' has more than %zu entries.", key, max);
    size_t i;
    json_t *item;
    json_array_foreach(value, i, item)
    {
        if (!json_is_string(item))
            return gw_fail(call, TSR_E_INVALID, "invalid_type", key, "'%s' must be a list of strings.", key);
        out[(*n)++] = (char *)json_string_value(item);
    }
    return 0;
}

int gw_path_id(gw_call_t *call, size_t index, uint64_t *out)
{
    const char *text = index < call->n_path_vars ? call->path_vars[index] : "";
    /* The dispatcher refused any other shape (http__check_path_ids); kept for a variable not named
     * as an id. Past bigint's range no record can have it (PostgreSQL refused it: a 500). */
    if (!tsr_text_is_id(text))
        return gw_fail(call, TSR_E_INVALID, "invalid_id", NULL,
                       "'%.40s' is not an id: an id is a whole number from 1 to 9223372036854775807, in "
                       "digits.",
                       text);
    *out = strtoull(text, NULL, 10);
    return 0;
}
