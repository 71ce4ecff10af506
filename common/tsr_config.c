#include "tsr_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    char *key; /* "section.name" */
    char *value;
    int line; /* where the file sets it */
} tsr_config_entry_t;

struct tsr_config {
    tsr_config_entry_t *entries;
    size_t count;
    size_t capacity;
};

static char *config__trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static int config__valid_name(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

/* 0; 1 when the file set key already (its line in *line_set); -1 out of memory. */
static int config__put(tsr_config_t *self, const char *key, const char *value, int line, int *line_set)
{
    for (size_t i = 0; i < self->count; i++) {
        if (strcmp(self->entries[i].key, key) == 0) {
            *line_set = self->entries[i].line;
            return 1;
        }
    }
    if (self->count == self->capacity) {
        size_t capacity = self->capacity ? self->capacity * 2 : 32;
        tsr_config_entry_t *entries = realloc(self->entries, capacity * sizeof(*entries));
        if (entries == NULL)
            return -1;
        self->entries = entries;
        self->capacity = capacity;
    }
    self->entries[self->count].key = strdup(key);
    self->entries[self->count].value = strdup(value);
    self->entries[self->count].line = line;
    if (self->entries[self->count].key == NULL || self->entries[self->count].value == NULL) {
        free(self->entries[self->count].key);
        free(self->entries[self->count].value);
        return -1;
    }
    self->count++;
    return 0;
}

static int config__parse(tsr_config_t *self, const char *path, FILE *f, tsr_error_t *err)
{
    char line[4096];
    char section[128] = "";
    int lineno = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f))
            return tsr_error_set(err, TSR_E_INVALID, "config_line_too_long", NULL,
                                 "%s:%d: the line is longer than %zu characters.", path, lineno,
                                 sizeof(line) - 2);
        char *s = config__trim(line);
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (close == NULL || close[1] != '\0')
                return tsr_error_set(err, TSR_E_INVALID, "config_bad_section", NULL,
                                     "%s:%d: a section header must look like [name].", path, lineno);
            *close = '\0';
            char *name = config__trim(s + 1);
            if (!config__valid_name(name) || strlen(name) >= sizeof(section))
                return tsr_error_set(err, TSR_E_INVALID, "config_bad_section", NULL,
                                     "%s:%d: section name '%s' must be letters, digits and underscores.",
                                     path, lineno, name);
            snprintf(section, sizeof(section), "%s", name);
            continue;
        }
        char *eq = strchr(s, '=');
        if (eq == NULL)
            return tsr_error_set(err, TSR_E_INVALID, "config_bad_line", NULL,
                                 "%s:%d: expected 'key = value', a [section] or a # comment.", path, lineno);
        *eq = '\0';
        char *name = config__trim(s);
        char *value = config__trim(eq + 1);
        if (!config__valid_name(name))
            return tsr_error_set(err, TSR_E_INVALID, "config_bad_key", NULL,
                                 "%s:%d: key '%s' must be letters, digits and underscores.", path, lineno,
                                 name);
        if (section[0] == '\0')
            return tsr_error_set(err, TSR_E_INVALID, "config_key_outside_section", NULL,
                                 "%s:%d: key '%s' comes before any [section].", path, lineno, name);
        char key[300];
        snprintf(key, sizeof(key), "%s.%s", section, name);
        /* Which of two values would win is a guess an operator should not have to make: the second
         * of two database URLs, say, left below the first when the file was edited. */
        int line_set = 0;
        int put = config__put(self, key, value, lineno, &line_set);
        if (put == 1)
            return tsr_error_set(err, TSR_E_INVALID, "config_duplicate_key", key,
                                 "%s:%d: '%s' is set already, on line %d: set it once.", path, lineno, key,
                                 line_set);
        if (put != 0)
            return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory reading %s.",
                                 path);
    }
    if (ferror(f))
        return tsr_error_set(err, TSR_E_INVALID, "config_unreadable", NULL, "%s: read failed: %s.", path,
                             strerror(errno));
    return 0;
}

tsr_config_t *tsr_config_load(const char *path, tsr_error_t *err)
{
    tsr_config_t *self = calloc(1, sizeof(*self));
    if (self == NULL) {
        tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory loading configuration.");
        return NULL;
    }
    if (path != NULL && *path != '\0') {
        FILE *f = fopen(path, "r");
        if (f == NULL) {
            tsr_error_set(err, TSR_E_INVALID, "config_unreadable", NULL,
                          "Cannot open configuration file %s: %s.", path, strerror(errno));
            tsr_config_destroy(&self);
            return NULL;
        }
        int rc = config__parse(self, path, f, err);
        fclose(f);
        if (rc != 0) {
            tsr_config_destroy(&self);
            return NULL;
        }
    }
    return self;
}

void tsr_config_destroy(tsr_config_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    tsr_config_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++) {
        free(self->entries[i].key);
        free(self->entries[i].value);
    }
    free(self->entries);
    free(self);
    *self_p = NULL;
}

void tsr_config_env_name(const char *key, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "TESSERA_");
    for (const char *k = key; *k && n + 1 < size; k++)
        buf[n++] = (*k == '.') ? '_' : (char)toupper((unsigned char)*k);
    buf[n < size ? n : size - 1] = '\0';
}

const char *tsr_config_get(const tsr_config_t *self, const char *key, const char *fallback)
{
    char env[320];
    tsr_config_env_name(key, env, sizeof(env));
    const char *value = getenv(env);
    if (value != NULL)
        return value;
    if (self != NULL)
        for (size_t i = 0; i < self->count; i++)
            if (strcmp(self->entries[i].key, key) == 0)
                return self->entries[i].value;
    return fallback;
}

const char *tsr_config_require(const tsr_config_t *self, const char *key, tsr_error_t *err)
{
    const char *value = tsr_config_get(self, key, NULL);
    if (value == NULL || *value == '\0') {
        char env[320];
        tsr_config_env_name(key, env, sizeof(env));
        tsr_error_set(err, TSR_E_INVALID, "config_missing", key,
                      "The setting '%s' is required: set it in the configuration file or in %s.", key, env);
        return NULL;
    }
    return value;
}

int tsr_config_read_secret_file(const char *key, const char *path, char *out, size_t size, tsr_error_t *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return tsr_error_set(err, TSR_E_INVALID, "bad_config", key, "%s: cannot read %s: %s.", key, path,
                             strerror(errno));
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        return tsr_error_set(
            err, TSR_E_INVALID, "bad_config", key,
            "%s: %s can be read by other users; a secret must be its owner's alone (chmod 600).", key, path);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return tsr_error_set(err, TSR_E_INVALID, "bad_config", key, "%s: cannot read %s: %s.", key, path,
                             strerror(errno));
    int got = fgets(out, (int)size, f) != NULL;
    fclose(f);
    if (got)
        out[strcspn(out, "\r\n")] = '\0';
    if (!got || out[0] == '\0')
        return tsr_error_set(err, TSR_E_INVALID, "bad_config", key, "%s: %s is empty.", key, path);
    return 0;
}

const char *tsr_config_get_timezone(const tsr_config_t *self, const char *key, const char *fallback,
                                    tsr_error_t *err)
{
    const char *name = tsr_config_get(self, key, fallback);
    int ok = name[0] != '\0' && name[0] != '/' && strstr(name, "..") == NULL && strlen(name) < 64;
    for (const char *c = name; ok && *c; c++)
        ok = isalnum((unsigned char)*c) || strchr("/_+-", *c) != NULL;
    if (ok) {
        /* The C library and PostgreSQL both read Debian's tz database. */
        const char *dir = getenv("TZDIR") ? getenv("TZDIR") : "/usr/share/zoneinfo";
        char path[512];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        ok = stat(path, &st) == 0 && S_ISREG(st.st_mode);
    }
    if (!ok) {
        tsr_error_set(err, TSR_E_INVALID, "bad_config", key,
                      "The setting '%s' is '%s': it must name a time zone of the tz database, like "
                      "Europe/London.",
                      key, name);
        return NULL;
    }
    return name;
}

int tsr_config_get_long(const tsr_config_t *self, const char *key, long fallback, long min, long max,
                        long *out, tsr_error_t *err)
{
    const char *value = tsr_config_get(self, key, NULL);
    if (value == NULL) {
        *out = fallback;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long n = strtol(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || n < min || n > max)
        return tsr_error_set(err, TSR_E_INVALID, "config_bad_number", key,
                             "The setting '%s' is '%s': it must be a whole number from %ld to %ld.", key,
                             value, min, max);
    *out = n;
    return 0;
}

int tsr_config_get_bool(const tsr_config_t *self, const char *key, int fallback, int *out, tsr_error_t *err)
{
    const char *value = tsr_config_get(self, key, NULL);
    if (value == NULL) {
        *out = fallback;
        return 0;
    }
    if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
        return tsr_error_set(err, TSR_E_INVALID, "bad_config", key,
                             "The setting '%s' is '%s': it must be true or false.", key, value);
    *out = strcmp(value, "true") == 0;
    return 0;
}
