#include "tsr_settings.h"

#include <stdio.h>
#include <string.h>

#include "tsr_text.h"

/* The keys every daemon has in its own section ([accounts] … [gateway]): its database, its two
 * endpoints and its CURVE key pair (docs/OPERATIONS.md, section 2). */
static const char *const settings__daemon_keys[] = {
    "db_url", "db_pool", "rpc", "events", "curve_public_key", "curve_secret_key_file", NULL,
};

typedef struct {
    const char *name;
    int daemon; /* a daemon's own section: settings__daemon_keys too */
    const char *const *keys;
} settings_section_t;

/* Each section and the keys of it some program reads, in docs/OPERATIONS.md's order. */
static const settings_section_t settings__sections[] = {
    {"tessera", 0,
     (const char *const[]){"log_level", "demo", "db_wait_s", "call_timeout_ms", "relay_interval_ms",
                           "replay_idle_ms", "group_commit_gather_ms", "drain_timeout_ms",
                           "idempotency_keep_days", "outbox_keep_days", "housekeeping_ms",
                           /* the tessera tool's key pair */
                           "curve_public_key", "curve_secret_key_file", NULL}},
    {"http", 0,
     (const char *const[]){"addr", "addr_file", "ui_dir", "max_body_bytes", "idle_timeout_ms", NULL}},
    {"gateway", 1,
     (const char *const[]){"session_ttl_s", "session_cache_ms", "session_keep_days", "timezone", NULL}},
    {"accounts", 1, (const char *const[]){"sign_in_attempts", "sign_in_pause_minutes", "timezone", NULL}},
    {"records", 1,
     (const char *const[]){"restricted_access_roles", "restricted_access_teams", "audit_person_views",
                           "retention_schedule_file", "timezone", NULL}},
    {"family_context", 0, (const char *const[]){"journey", "search_modes", "age_rules", NULL}},
    {"audit", 1,
     (const char *const[]){"timezone", "working_days", "working_day_starts", "working_day_ends",
                           "burst_records", "burst_minutes", "dormant_days", NULL}},
    {"workflow", 1,
     (const char *const[]){"timezone", "closed_days", "overdue_check_ms", "definitions_dirs", "manager_roles",
                           NULL}},
    {"consultations", 1, (const char *const[]){"timezone", NULL}},
    {"reporting", 1, (const char *const[]){"timezone", "local_authority", "report_roles", "max_rows", NULL}},
    {"notifications", 1,
     (const char *const[]){"email_kinds", "escalate_request_types", "escalate_fallback_roles",
                           "escalate_step_types", "notify_queues", "read_notice_keep_days", "link_base",
                           NULL}},
    {"smtp", 0,
     (const char *const[]){"url", "from", "username", "password", "starttls", "timeout_ms", "poll_ms",
                           "retry_ms", "max_attempts", NULL}},
    {"cpis", 1,
     (const char *const[]){"la_name", "la_ods_code", "office_hours_telephone", "emergency_duty_telephone",
                           "upload_every_ms", "upload_dir", "upload_write_ms", "upload_keep_days", "timezone",
                           "metrics_ms", NULL}},
    {"spine_poller", 0,
     (const char *const[]){"spool_dir", "gateway_url", "username", "password", "password_file",
                           "interval_minutes", "retry_seconds", "batch_size", "max_body_bytes",
                           "parallel_parts", "timeout_s", "settle_ms", "keep_days", "metrics_file", NULL}},
};
#define SETTINGS_SECTIONS (sizeof(settings__sections) / sizeof(settings__sections[0]))
/* The most keys one section has, with a daemon's own. */
#define SETTINGS_KEYS_MAX 32

static const settings_section_t *settings__section(const char *section)
{
    for (size_t i = 0; i < SETTINGS_SECTIONS; i++)
        if (strcmp(settings__sections[i].name, section) == 0)
            return &settings__sections[i];
    return NULL;
}

static int settings__listed(const char *const *keys, const char *name)
{
    for (size_t i = 0; keys[i] != NULL; i++)
        if (strcmp(keys[i], name) == 0)
            return 1;
    return 0;
}

/* The section's keys, its own and a daemon's, into keys (SETTINGS_KEYS_MAX); how many. */
static size_t settings__keys(const settings_section_t *s, const char **keys)
{
    size_t n = 0;
    for (size_t i = 0; s->keys[i] != NULL && n < SETTINGS_KEYS_MAX; i++)
        keys[n++] = s->keys[i];
    for (size_t i = 0; s->daemon && settings__daemon_keys[i] != NULL && n < SETTINGS_KEYS_MAX; i++)
        keys[n++] = settings__daemon_keys[i];
    return n;
}

int tsr_settings_has_section(const char *section)
{
    return settings__section(section) != NULL;
}

int tsr_settings_has(const char *section, const char *name)
{
    const settings_section_t *s = settings__section(section);
    return s != NULL &&
           (settings__listed(s->keys, name) || (s->daemon && settings__listed(settings__daemon_keys, name)));
}

int tsr_settings_has_key(const char *key)
{
    const char *dot = strchr(key, '.');
    char section[64];
    if (dot == NULL || (size_t)(dot - key) >= sizeof(section))
        return 0;
    snprintf(section, sizeof(section), "%.*s", (int)(dot - key), key);
    return tsr_settings_has(section, dot + 1);
}

const char *tsr_settings_nearest_section(const char *section)
{
    const char *names[SETTINGS_SECTIONS];
    for (size_t i = 0; i < SETTINGS_SECTIONS; i++)
        names[i] = settings__sections[i].name;
    return tsr_text_nearest(section, names, SETTINGS_SECTIONS);
}

const char *tsr_settings_nearest(const char *section, const char *name)
{
    const settings_section_t *s = settings__section(section);
    if (s == NULL)
        return NULL;
    const char *keys[SETTINGS_KEYS_MAX];
    size_t n = settings__keys(s, keys);
    return tsr_text_nearest(name, keys, n);
}

const char *tsr_settings_key_at(size_t i, char *buf, size_t size)
{
    for (size_t s = 0; s < SETTINGS_SECTIONS; s++) {
        const char *keys[SETTINGS_KEYS_MAX];
        size_t n = settings__keys(&settings__sections[s], keys);
        if (i < n) {
            snprintf(buf, size, "%s.%s", settings__sections[s].name, keys[i]);
            return buf;
        }
        i -= n;
    }
    return NULL;
}
