/* workers: the accounts daemon's workers, teams and roles, and signing in with a password
 * (Argon2id through libsodium). */
#ifndef ACCOUNTS_WORKERS_H
#define ACCOUNTS_WORKERS_H

#include "tsr_daemon.h"

/* Reads the sign-in settings (accounts.sign_in_attempts, accounts.sign_in_pause_minutes); -1 naming
 * the bad one. */
int accounts_configure(const tsr_config_t *config, tsr_error_t *err);
/* Checks a username and password; a wrong user and a wrong password get the same answer, in
 * about the same time, so that neither can be told from the other. After accounts.sign_in_attempts
 * wrong passwords in a row under one username (an account's or not), sign-in under it is paused for
 * accounts.sign_in_pause_minutes, and attempts under one username are taken one at a time: guessing
 * a worker's password is slowed to some forty tries an hour, where it was unbounded. A service
 * account with a generated secret is not paused (its wrong passwords are counted and logged). */
int accounts_authenticate(tsr_call_t *call, tsr_error_t *err);
/* Adds a worker: the system's import and demo jobs add or replace one by username; admin and
 * system support add new accounts (see WorkerImport in proto/accounts.proto). */
int accounts_worker_import(tsr_call_t *call, tsr_error_t *err);

/* The signed-in worker's own password, given the current one (a wrong one counts towards the
 * sign-in pause); the worker's other sessions end. */
int accounts_password_change(tsr_call_t *call, tsr_error_t *err);
/* Admin and system support set a worker's forgotten password (only an admin an admin's); a sign-in
 * pause under the username is lifted and every session of the worker ends. */
int accounts_password_reset(tsr_call_t *call, tsr_error_t *err);
/* Admin and system support lift a sign-in pause under a worker's username (409 not_paused when
 * there is none); replies the account. */
int accounts_sign_in_unpause(tsr_call_t *call, tsr_error_t *err);

/* Records a worker's access prerequisites (system support). */
int accounts_worker_prerequisites(tsr_call_t *call, tsr_error_t *err);
/* Ends a leaver's account; an event tells the gateway to end the worker's sessions at once, and
 * accounts.worker.changed tells every reader of accounts that the account is over. */
int accounts_worker_end(tsr_call_t *call, tsr_error_t *err);

/* Records a conflict of interest; the records daemon keeps the person's record from the worker. */
int accounts_conflict_declare(tsr_call_t *call, tsr_error_t *err);

/* Whether role is one the suite knows. */
int accounts_role_is_known(const char *role);

#endif
