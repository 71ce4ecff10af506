/* changes: what an account is made of besides its credentials (roles, teams, the line manager, the
 * teams managed, a third-party contract), checked and written one way whether the account is being
 * added (accounts.worker.import) or changed (accounts.worker.update: movers, managers, contracts).
 * Each function runs inside the handler's transaction; one that fails leaves the caller to roll
 * back, so a refused call changes nothing. */
#ifndef ACCOUNTS_CHANGES_H
#define ACCOUNTS_CHANGES_H

#include <stdint.h>

#include "accounts.pb-c.h"
#include "tsr_daemon.h"

/* The roles as a text[] literal (*out, freed by the caller), each a role of the suite (else 400
 * naming roles) and each once. Only an admin or the system may give or take the admin role, so
 * that system support cannot raise itself above its own role, or the auditor role, so that the audits
 * of use stay with those system support does not choose; held is the roles the worker holds now,
 * comma-separated ("" for a new account). */
int accounts_roles_literal(const Tsr__Actor *actor, char *const *roles, size_t n, const char *held,
                           char **out, tsr_error_t *err);

typedef enum { ACCOUNTS_TEAMS_MEMBER, ACCOUNTS_TEAMS_MANAGED } accounts_teams_kind_t;

/* Replaces the teams the worker is in (or manages) with the named ones. With create, a team not yet
 * known is added (the system's import brings the council's teams); otherwise an unknown team is
 * refused with 422 naming field. */
int accounts_teams_set(PGconn *conn, const char *worker_id, accounts_teams_kind_t kind, char *const *names,
                       size_t n, int create, const char *field, tsr_error_t *err);

/* Sets the line manager, or with 0 clears it. The manager must be another open account, and not
 * someone the worker manages already, directly or down the line (a loop has nobody at the top). */
/* A worker's e-mail address: "" (none) or one address of at most 254 characters. */
int accounts_email_check(const char *email, const char *field, tsr_error_t *err);
int accounts_manager_set(PGconn *conn, uint64_t worker_id, uint64_t manager_id, tsr_error_t *err);

/* Checks and records a third-party account's contract. For a new account an end date already past
 * is refused; a change may bring it forward to end a contract early. */
int accounts_contract_set(PGconn *conn, const char *worker_id, const Tsr__Accounts__WorkerContract *contract,
                          int new_account, tsr_error_t *err);

/* accounts.worker.update: admin and system support change a worker's roles and teams (a mover),
 * line manager, managed teams or contract; the change is published as accounts.worker.changed. */
int accounts_worker_update(tsr_call_t *call, tsr_error_t *err);

#endif
