/* tsr_config: a daemon's settings, from an INI-style file with environment variables over it.
 * Key "records.db_url" is overridden by TESSERA_RECORDS_DB_URL; "http.addr" by TESSERA_HTTP_ADDR.
 * Which sections and keys there are, the same for every program, is tsr_settings's list. */
#ifndef TSR_CONFIG_H
#define TSR_CONFIG_H

#include "tsr_error.h"

typedef struct tsr_config tsr_config_t;

/* path may be NULL: then only the environment is read. A malformed file, one that sets a key twice,
 * or one with a section or a key that is not one of tsr_settings's, fails with the file and line at
 * fault (and the section and key, with the one it likely meant); so does an environment variable
 * TESSERA_<SECTION>_<KEY> of a section that has no such key. */
tsr_config_t *tsr_config_load(const char *path, tsr_error_t *err);
void tsr_config_destroy(tsr_config_t **self_p);
/* The i-th warning of the load (from 0; NULL past the last): an environment variable TESSERA_...
 * named like no section's settings (TESSERA_RECRODS_DB_POOL), which sets nothing. */
const char *tsr_config_warning(const tsr_config_t *self, size_t i);

/* The value, or fallback when neither the environment nor the file sets it. key must be one of
 * tsr_settings's (asserted). */
const char *tsr_config_get(const tsr_config_t *self, const char *key, const char *fallback);

/* Where key's value comes from, for a message, into buf: "the environment variable
 * TESSERA_RECORDS_DB_POOL" or "line 12 of /etc/tessera/tessera.conf"; NULL when neither sets it. */
const char *tsr_config_source(const tsr_config_t *self, const char *key, char *buf, size_t size);
/* Adds to err's message where the value of the setting it names (err->field) comes from ("Its value
 * comes from line 12 of …"), unless it says so already or nothing sets it. The checks here do it
 * themselves; a program does it for its own checks of a value before it reports them. */
void tsr_config_name_source(const tsr_config_t *self, tsr_error_t *err);

/* An integer in [min, max]; a value that is not one fails naming the key and where it is set. */
int tsr_config_get_long(const tsr_config_t *self, const char *key, long fallback, long min, long max,
                        long *out, tsr_error_t *err);

/* true or false; any other value fails naming the key and where it is set (a "yes" or a "maybe"
 * would otherwise be taken, silently, for the default). */
int tsr_config_get_bool(const tsr_config_t *self, const char *key, int fallback, int *out, tsr_error_t *err);

/* A time zone of the tz database (Europe/London), as installed on this machine: a name that is not
 * one fails naming the key (a misspelt zone would otherwise quietly be taken for UTC, and every
 * office-day boundary would move by an hour in summer). */
const char *tsr_config_get_timezone(const tsr_config_t *self, const char *key, const char *fallback,
                                    tsr_error_t *err);

/* The first line of the secret file `path` (the setting `key` names it) into out (size bytes, the
 * line end cut): a file that others than its owner can read, or that cannot be read or is empty,
 * fails naming the key, so that a password or key is never taken from a file left open. */
int tsr_config_read_secret_file(const char *key, const char *path, char *out, size_t size, tsr_error_t *err);

/* A value that must be set, and not empty; fails naming the key and its environment variable (or
 * where it is set empty). */
const char *tsr_config_require(const tsr_config_t *self, const char *key, tsr_error_t *err);

/* The environment variable that overrides key, written into buf. */
void tsr_config_env_name(const char *key, char *buf, size_t size);

#endif
