/* access: who may see a person's record. An unrestricted record is open to every signed-in worker;
 * a restricted one (seed 002) only to the workers named on the restriction, the allocated workers
 * and their teams, and the roles and teams that keep access by policy (the MASH team, the
 * Emergency Duty team, heads of service and directors, business and information administrators,
 * system support). A worker who declared a conflict of interest with the person is kept out even
 * so. Everyone else gets the display name and nothing more. Decided here, in the
 * daemon that owns the data, for every read. */
#ifndef RECORDS_ACCESS_H
#define RECORDS_ACCESS_H

#include <stdint.h>

#include "tsr_daemon.h"

typedef enum { RECORDS_ACCESS_NONE = 0, RECORDS_ACCESS_NAME_ONLY, RECORDS_ACCESS_FULL } records_access_t;

/* Reads the policy's roles and teams from configuration (records.restricted_access_roles,
 * records.restricted_access_teams, comma-separated). */
int records_access_configure(const tsr_config_t *config, tsr_error_t *err);

/* What the call's actor may see of person_id: NONE when there is no such person. */
int records_access_person(tsr_call_t *call, uint64_t person_id, records_access_t *access, tsr_error_t *err);

/* Applies the accounts daemon's events: a declared conflict of interest keeps the person's record
 * from that worker, whatever else would allow it; accounts.worker.changed keeps the copy of each
 * worker (roles, teams, manager) that the rule needs for workers other than the caller. */
int records_access_apply_accounts_event(tsr_event_t *ev, tsr_error_t *err);

/* records.person.access_check: which of the given workers and teams may open the person's record
 * (asked by the workflow daemon before it sends work about a person). Reads nothing of the record
 * beyond its display name, so it is not an audited access. */
int records_access_check(tsr_call_t *call, tsr_error_t *err);

/* records.people.access_check: which of the given people one worker may open, by the same rule
 * (asked by the workflow daemon once for the items of a workview about restricted people). Not an
 * audited access either. */
int records_access_check_people(tsr_call_t *call, tsr_error_t *err);

/* The SQL boolean expression (for a row of people aliased p) that is true when the actor has full
 * access; its parameters are $1 worker id, $2 team ids (bigint[]), $3 policy override (bool). */
extern const char records_access_sql[];
/* The SQL condition (for a row of people aliased p, $1 the worker id) that holds for every person the
 * actor might see by name only: the restricted ones and those they declared a conflict with. With NOT
 * records_access_sql it finds exactly those the actor sees by name only, reading only those few rows,
 * so that a search finds them by their display name alone (seed 002: nothing else about them shows,
 * so nothing else may find them either). */
extern const char records_access_maybe_name_only_sql[];
/* How far into a search's matches a page may start (its cursor): the first 1,000 matches, best first,
 * are as far as anyone reads a ranked list; a search that finds more needs more to go on. */
#define RECORDS_SEARCH_DEPTH 1000
/* Fills the three parameters for records_access_sql into bufs (teams needs room for the ids). */
void records_access_params(const tsr_call_t *call, char worker[32], char *teams, size_t teams_size,
                           const char **override);

#endif
