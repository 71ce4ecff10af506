/* definitions: the kinds of work, as data. Each file in the definitions directories describes one
 * step type (its title, variants, subjects, sections and fields, the requests it may raise, the next
 * actions it may end with, who may start it, when it falls due); virtual-workers.json names the
 * queues a role works. Files are checked whole at start-up (a bad file stops the daemon with its
 * name and fault) and stored with a version: a changed file becomes the next version, and a step
 * keeps the version it started with. Nothing here knows any one step type. */
#ifndef WF_DEFINITIONS_H
#define WF_DEFINITIONS_H

#include <jansson.h>
#include <libpq-fe.h>

#include "due.h"
#include "tsr_error.h"

typedef struct {
    char *key;
    char *name;
    json_t *roles;     /* array of role names that work this queue */
    char **role_names; /* the same, as C strings (into roles), for the request events */
    size_t n_role_names;
    char *restricted_to; /* a virtual worker's key, or NULL: work about a person waiting here when
                            their record is restricted moves there, its workers not keeping access */
} wf_virtual_worker_t;

/* Loads every *.json file of dirs (comma-separated). 0, or -1 with err naming the file and fault. */
int wf_definitions_load(const char *dirs, tsr_error_t *err);
void wf_definitions_free(void);

/* Stores each loaded definition as a version unless that exact body is stored already. */
int wf_definitions_register(PGconn *conn, tsr_error_t *err);

/* The current definition of type (borrowed, immutable) and its version; NULL when unknown. */
const json_t *wf_definition_current(const char *type, int *version);
/* The body of (type, version), a new reference (current one from memory, an older one from the
 * database); NULL with err when there is none. */
json_t *wf_definition_get(PGconn *conn, const char *type, int version, tsr_error_t *err);
/* Every current definition (borrowed array, in type order). */
size_t wf_definitions_count(void);
const json_t *wf_definition_at(size_t i, int *version);

const wf_virtual_worker_t *wf_virtual_worker(const char *key);
size_t wf_virtual_workers_count(void);
const wf_virtual_worker_t *wf_virtual_worker_at(size_t i);

/* Lookups inside a definition body (NULL when absent). */
json_t *wf_def_section(const json_t *def, const char *number);
json_t *wf_def_request(const json_t *def, const char *type, const char *variant);
json_t *wf_def_next_action(const json_t *def, const char *action);
int wf_def_has_variant(const json_t *def, const char *variant);
int wf_def_allows_subject(const json_t *def, const char *kind);
/* Whether those who see only a restricted person's name may start and work the step (subject_access). */
int wf_def_name_only_subject(const json_t *def);
/* The step's title: title_pattern with {variant} filled in. Caller frees. */
char *wf_def_title(const json_t *def, const char *variant);
/* A due member ({hours, working_hours}) as a deadline after from_ms; 0 when there is none. */
int64_t wf_def_due(const json_t *due, int64_t from_ms);
/* Whether a request or next action type applies to the variant. */
int wf_def_applies_to_variant(const json_t *item, const char *variant);
/* Whether roles (a NULL-terminated list) include one of the JSON array's strings. */
int wf_def_roles_match(const json_t *allowed, char *const *roles, size_t n_roles);

#endif
