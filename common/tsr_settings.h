/* tsr_settings: every setting of tessera.conf, section by section, in one list.
 *
 * Every program of the suite (the nine daemons, the tessera tool, the spine poller) reads the same
 * file, and each checks all of it against this list when it loads it (tsr_config_load): a key or a
 * section no program reads, a misspelt one above all, stops the program, naming the file, the line,
 * the section and the key, instead of being passed over while its default silently applies (a
 * misspelt curve_public_key would leave the bus unencrypted). A setting a program reads must be
 * here: tsr_config_get asserts it (the sanitizer build runs with assertions on). A new setting is
 * added here, where it is read, and in docs/OPERATIONS.md (unit_config checks those two agree). */
#ifndef TSR_SETTINGS_H
#define TSR_SETTINGS_H

#include <stddef.h>

/* Whether section ("records") is a section of tessera.conf. */
int tsr_settings_has_section(const char *section);
/* Whether name is a key of section. */
int tsr_settings_has(const char *section, const char *name);
/* Whether key ("records.db_pool") is a setting. */
int tsr_settings_has_key(const char *key);

/* For a message: the section or the key of section a misspelt one most likely meant, or NULL. */
const char *tsr_settings_nearest_section(const char *section);
const char *tsr_settings_nearest(const char *section, const char *name);

/* Every setting, "section.name", one after another: i from 0 until NULL. */
const char *tsr_settings_key_at(size_t i, char *buf, size_t size);

#endif
