/* family_context: Family Context (seed 004), the service involvement of the people around a child.
 * Owns the deployment's choice of journey (any individual, or a child on the caseload and the
 * people linked to the child in records) and search modes (name and date of birth, case ID, or
 * either), the age rules per source, the other services' batch files (school, housing, police,
 * adult social care from another system) and the search and view over them and this system's own
 * allocations and involvements. Reads follow the same access rule as every read of a person
 * (access.c) and are audited as searches and views, with the reason the worker gave. */
#ifndef RECORDS_FAMILY_CONTEXT_H
#define RECORDS_FAMILY_CONTEXT_H

#include "tsr_daemon.h"

/* Reads [family_context] journey, search_modes and age_rules; a bad value fails naming the key. */
int records_family_context_configure(const tsr_config_t *config, tsr_error_t *err);

/* records.family_context.search: by name (fuzzy) and date of birth, or by case ID (a direct match). */
int records_family_context_search(tsr_call_t *call, tsr_error_t *err);
/* records.family_context.get: a person's service involvement, source by source, and in the
 * linked-individuals journey the people linked to the child. */
int records_family_context_get(tsr_call_t *call, tsr_error_t *err);
/* records.family_context.import: a source's whole batch file, checked line by line; it replaces the
 * source's records in the call's transaction, or changes nothing and names every bad line. */
int records_family_context_import(tsr_call_t *call, tsr_error_t *err);

#endif
