#include "tsr_config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tsr_settings.h"
#include "tsr_text.h"

extern char **environ;

typedef struct {
    char *key; /* "section.name" */
    char *value;
    int line; /* where the file sets it */
} tsr_config_entry_t;

/* The most environment variables named TESSERA_... that set nothing, each warned of once. */
#define CONFIG_WARNINGS_MAX 8

struct tsr_config {
    char *path; /* the file read, or NULL */
    tsr_config_entry_t *entries;
    size_t count;
    size_t capacity;
    char *warnings[CONFIG_WARNINGS_MAX];
    size_t warning_count;
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
            if (!tsr_settings_has_section(name)) {
                const char *near = tsr_settings_nearest_section(name);
                return tsr_error_set(err, TSR_E_INVALID, "config_unknown_section", name,
                                     "%s:%d: there is no section [%s] in Tessera's configuration%s%s%s.",
                                     path, lineno, name, near ? " (did you mean [" : "", near ? near : "",
                                     near ? "]?)" : ": docs/OPERATIONS.md, section 2, lists every section");
            }
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
        /* A key no program reads is a mistake (a misspelt one), not a harmless extra: its default
         * would apply in silence. */
        if (!tsr_settings_has(section, name)) {
            const char *near = tsr_settings_nearest(section, name);
            return tsr_error_set(
                err, TSR_E_INVALID, "config_unknown_key", key, "%s:%d: [%s] has no setting '%s'%s%s%s.", path,
                lineno, section, name, near ? " (did you mean '" : "", near ? near : "",
                near ? "'?)" : ": docs/OPERATIONS.md, section 2, lists each section's settings");
        }
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

/* The setting the environment variable name (TESSERA_RECORDS_DB_POOL) overrides, into key: 1; else
 * 0, with the section whose variables it is named like (TESSERA_RECORDS_...) in section, or "". */
static int config__env_setting(const char *name, char *key, size_t key_size, char *section,
                               size_t section_size)
{
    section[0] = '\0';
    char candidate[300], env[320];
    for (size_t i = 0; tsr_settings_key_at(i, candidate, sizeof(candidate)) != NULL; i++) {
        tsr_config_env_name(candidate, env, sizeof(env));
        if (strcmp(env, name) == 0) {
            snprintf(key, key_size, "%s", candidate);
            return 1;
        }
        *strchr(candidate, '.') = '\0';
        tsr_config_env_name(candidate, env, sizeof(env));
        size_t n = strlen(env);
        if (section[0] == '\0' && strncmp(name, env, n) == 0 && name[n] == '_')
            snprintf(section, section_size, "%.63s", candidate);
    }
    return 0;
}

/* Of every setting's variable, the one name most likely misspells (TESSERA_RECORDS_DB_POOL for
 * TESSERA_RECRODS_DB_POOL), into out; "" when none is near. */
static void config__nearest_env(const char *name, char *out, size_t size)
{
    out[0] = '\0';
    char candidate[300];
    size_t n = 0;
    while (tsr_settings_key_at(n, candidate, sizeof(candidate)) != NULL)
        n++;
    char **envs = calloc(n ? n : 1, sizeof(*envs));
    size_t made = 0;
    for (size_t i = 0; envs != NULL && i < n; i++) {
        char env[320];
        tsr_settings_key_at(i, candidate, sizeof(candidate));
        tsr_config_env_name(candidate, env, sizeof(env));
        if ((envs[made] = strdup(env)) != NULL)
            made++;
    }
    const char *near = envs ? tsr_text_nearest(name, (const char *const *)envs, made) : NULL;
    if (near != NULL)
        snprintf(out, size, "%s", near);
    for (size_t i = 0; i < made; i++)
        free(envs[i]);
    free(envs);
}

/* The environment's TESSERA_<SECTION>_<KEY> variables: one for a key its section does not have is
 * refused, as that key in the file would be; one named like no section's (a misspelt section, or
 * another program's variable that begins so) is kept for a warning (tsr_config_warning). */
static int config__check_environment(tsr_config_t *self, tsr_error_t *err)
{
    for (char **e = environ; e != NULL && *e != NULL; e++) {
        if (strncmp(*e, "TESSERA_", 8) != 0)
            continue;
        char name[256];
        size_t len = strcspn(*e, "=");
        snprintf(name, sizeof(name), "%.*s", (int)(len < sizeof(name) ? len : sizeof(name) - 1), *e);
        if (strcmp(name, "TESSERA_CONFIG") == 0)
            continue;
        char key[300], section[64];
        if (config__env_setting(name, key, sizeof(key), section, sizeof(section)))
            continue;
        if (section[0] != '\0') {
            /* The rest in the file's lower case: TESSERA_RECORDS_DB_POL is [records] db_pol. */
            char rest[256];
            size_t n = 0;
            for (const char *c = name + 8 + strlen(section) + 1; *c && n + 1 < sizeof(rest); c++)
                rest[n++] = (char)tolower((unsigned char)*c);
            rest[n] = '\0';
            const char *near = tsr_settings_nearest(section, rest);
            char near_env[320] = "";
            if (near != NULL) {
                char near_key[300];
                snprintf(near_key, sizeof(near_key), "%s.%s", section, near);
                tsr_config_env_name(near_key, near_env, sizeof(near_env));
            }
            return tsr_error_set(
                err, TSR_E_INVALID, "config_unknown_variable", name,
                "The environment variable %s names no setting: [%s] has no setting '%s'%s%s%s.", name,
                section, rest, near ? " (did you mean " : "", near_env, near ? "?)" : "");
        }
        if (self->warning_count == CONFIG_WARNINGS_MAX)
            continue;
        char near_env[320], warning[1024];
        config__nearest_env(name, near_env, sizeof(near_env));
        snprintf(warning, sizeof(warning),
                 "The environment variable %s is named like no section's settings, and is ignored%s%s%s.",
                 name, near_env[0] ? " (did you mean " : "", near_env, near_env[0] ? "?)" : "");
        if ((self->warnings[self->warning_count] = strdup(warning)) != NULL)
            self->warning_count++;
    }
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
        self->path = strdup(path);
        if (self->path == NULL) {
            tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory loading configuration.");
            tsr_config_destroy(&self);
            return NULL;
        }
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
    if (config__check_environment(self, err) != 0) {
        tsr_config_destroy(&self);
        return NULL;
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
    for (size_t i = 0; i < self->warning_count; i++)
        free(self->warnings[i]);
    free(self->path);
    free(self);
    *self_p = NULL;
}

const char *tsr_config_warning(const tsr_config_t *self, size_t i)
{
    return self != NULL && i < self->warning_count ? self->warnings[i] : NULL;
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
    /* The program's own mistake: a setting it reads must be one every program lets the file set. */
    assert(tsr_settings_has_key(key) && "a setting read must be listed in tsr_settings.c");
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

const char *tsr_config_source(const tsr_config_t *self, const char *key, char *buf, size_t size)
{
    char env[320];
    tsr_config_env_name(key, env, sizeof(env));
    if (getenv(env) != NULL) {
        snprintf(buf, size, "the environment variable %s", env);
        return buf;
    }
    if (self != NULL)
        for (size_t i = 0; i < self->count; i++)
            if (strcmp(self->entries[i].key, key) == 0) {
                snprintf(buf, size, "line %d of %s", self->entries[i].line, self->path ? self->path : "?");
                return buf;
            }
    return NULL;
}

void tsr_config_name_source(const tsr_config_t *self, tsr_error_t *err)
{
    char where[400];
    if (err == NULL || err->field[0] == '\0' || !tsr_settings_has_key(err->field) ||
        tsr_config_source(self, err->field, where, sizeof(where)) == NULL ||
        strstr(err->message, where) != NULL)
        return;
    size_t len = strlen(err->message);
    snprintf(err->message + len, sizeof(err->message) - len, "%sIts value comes from %s.",
             len > 0 && err->message[len - 1] != ' ' ? " " : "", where);
}

const char *tsr_config_require(const tsr_config_t *self, const char *key, tsr_error_t *err)
{
    const char *value = tsr_config_get(self, key, NULL);
    if (value == NULL) {
        char env[320];
        tsr_config_env_name(key, env, sizeof(env));
        tsr_error_set(err, TSR_E_INVALID, "config_missing", key,
                      "The setting '%s' is required: set it in the configuration file or in %s.", key, env);
        return NULL;
    }
    if (*value == '\0') {
        tsr_error_set(err, TSR_E_INVALID, "config_missing", key,
                      "The setting '%s' is required, and it is empty.", key);
        tsr_config_name_source(self, err);
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
        tsr_config_name_source(self, err);
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
    if (errno != 0 || end == value || *end != '\0' || n < min || n > max) {
        tsr_error_set(err, TSR_E_INVALID, "config_bad_number", key,
                      "The setting '%s' is '%s': it must be a whole number from %ld to %ld.", key, value, min,
                      max);
        tsr_config_name_source(self, err);
        return -1;
    }
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
    if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
        tsr_error_set(err, TSR_E_INVALID, "bad_config", key,
                      "The setting '%s' is '%s': it must be true or false.", key, value);
        tsr_config_name_source(self, err);
        return -1;
    }
    *out = strcmp(value, "true") == 0;
    return 0;
}
