/* account: a worker's account as it now stands, read inside the handler's transaction. The same
 * reading answers the worker calls and fills the accounts.worker.changed event, so that what an
 * administrator is shown and what the other daemons are told cannot disagree. */
#ifndef ACCOUNTS_ACCOUNT_H
#define ACCOUNTS_ACCOUNT_H

#include <stdint.h>

#include "tsr_daemon.h"
#include "tsr_envelope.h"
#include "tsr_prerequisites.h"

/* The days that stop an account, over workers w and worker_contracts c, as tsr_prerequisites.h
 * reckons them for accounts and the gateway alike: the DBS check's renewal, the end of a risk
 * assessment's cover, whether the check's renewal has come and whether the contract is over. */
#define ACCOUNTS_DBS_DUE_SQL TSR_PREREQ_DBS_DUE_SQL("w.dbs_checked_on")
#define ACCOUNTS_RISK_ASSESSMENT_ENDS_SQL TSR_PREREQ_RISK_ASSESSMENT_ENDS_SQL("w.risk_assessment_approved_on")
#define ACCOUNTS_DBS_DUE_HAS_COME_SQL TSR_PREREQ_HAS_COME_SQL(ACCOUNTS_DBS_DUE_SQL)
#define ACCOUNTS_CONTRACT_OVER_SQL TSR_PREREQ_CONTRACT_OVER_SQL("c.end_date")

/* What signing in would meet now, over workers w and worker_contracts c: one rule for the sign-in
 * refusal, the account's state shown to system support, and whom the worker search offers. The
 * order is the order of the sign-in checks: an ended account says so before anything else. Its days
 * are those above, and the gateway stops a session's calls on the day published to it
 * (ACCOUNTS_DBS_COVER_ENDS_SQL) by the same reckoning: signing in and calls stop on the same day. */
/* Seed 002: an HR-approved risk assessment covers staff "awaiting a DBS check to be completed": for 3
 * months from the day it was approved (migration 009), not for ever. */
#define ACCOUNTS_RISK_ASSESSMENT_COVERS                                                                      \
    "coalesce(w.risk_assessment_approved AND NOT " TSR_PREREQ_HAS_COME_SQL(                                  \
        ACCOUNTS_RISK_ASSESSMENT_ENDS_SQL) ", false)"
/* The day from which the DBS check (or a risk assessment covering a pending one) no longer lets the
 * account be used, with nothing recorded meanwhile; NULL when none does now. */
/* An account whose every role is a machine's (workers.c's workers__service_only; the roles are
 * tsr_envelope.h's TSR_SERVICE_ROLES): the spine poller's. Seed 002's prerequisites are a person's (a
 * DBS check, training, the acceptable-use policy); a machine has none, and held to them the CP-IS feed
 * would stop the day its made-up DBS date ran out. */
#define ACCOUNTS_SERVICE_ACCOUNT_SQL TSR_SQL_SERVICE_ACCOUNT("w.roles")
#define ACCOUNTS_DBS_COVER_ENDS_SQL                                                                          \
    "CASE WHEN NOT " ACCOUNTS_SERVICE_ACCOUNT_SQL " THEN"                                                    \
    " greatest(CASE WHEN (w.dbs_checked_on >= w.returned_from_leave_on OR w.returned_from_leave_on IS NULL)" \
    "   AND w.dbs_barred_lists NOT IN ('children', 'adults') THEN " ACCOUNTS_DBS_DUE_SQL " END,"             \
    " CASE WHEN w.risk_assessment_approved THEN " ACCOUNTS_RISK_ASSESSMENT_ENDS_SQL " END) END"
#define ACCOUNTS_STATE_SQL                                                                                   \
    "CASE WHEN w.ended_at IS NOT NULL OR NOT w.active THEN 'ended'"                                          \
    " WHEN " ACCOUNTS_CONTRACT_OVER_SQL " THEN 'contract_ended'"                                             \
    " WHEN " ACCOUNTS_SERVICE_ACCOUNT_SQL " THEN 'active'"                                                   \
    " WHEN NOT " ACCOUNTS_RISK_ASSESSMENT_COVERS " AND (w.dbs_checked_on IS NULL"                            \
    "      OR " ACCOUNTS_DBS_DUE_HAS_COME_SQL                                                                \
    "      OR w.dbs_checked_on < w.returned_from_leave_on) THEN 'dbs_out_of_date'"                           \
    " WHEN NOT " ACCOUNTS_RISK_ASSESSMENT_COVERS " AND w.dbs_barred_lists IN ('children', 'adults')"         \
    "   THEN 'dbs_barred_list_missing'"                                                                      \
    " WHEN w.training_completed_on IS NULL THEN 'training_not_done'"                                         \
    " WHEN w.aup_signed_on IS NULL THEN 'aup_not_signed'"                                                    \
    " WHEN w.conflicts_declared_on IS NULL THEN 'conflicts_not_declared'"                                    \
    " ELSE 'active' END"

/* The facts an account's refusal is worded from (accounts_refusal_words), over workers w and
 * worker_contracts c, in this order: its state (ACCOUNTS_STATE_SQL), the DBS check's date, the
 * contract's name and end, the return from leave, whether the check was done before it, the barred
 * lists the check included, and the day a risk assessment still recorded was approved; days as
 * dd/mm/yyyy, as the worker reads them on every page. */
#define ACCOUNTS_REFUSAL_FACTS_SQL                                                                           \
    ACCOUNTS_STATE_SQL ", coalesce(to_char(w.dbs_checked_on, 'DD/MM/YYYY'), ''), coalesce(c.name, ''),"      \
                       " coalesce(to_char(c.end_date, 'DD/MM/YYYY'), ''),"                                   \
                       " coalesce(to_char(w.returned_from_leave_on, 'DD/MM/YYYY'), ''),"                     \
                       " coalesce(w.dbs_checked_on < w.returned_from_leave_on, false), w.dbs_barred_lists,"  \
                       " CASE WHEN w.risk_assessment_approved THEN"                                          \
                       "  coalesce(to_char(w.risk_assessment_approved_on, 'DD/MM/YYYY'), '') ELSE '' END"
#define ACCOUNTS_REFUSAL_FACTS 8
/* The longest refusal: an error's message (tsr_error_t) holds it whole. */
#define ACCOUNTS_REFUSAL_WORDS_MAX 512

/* Why the account whose facts (ACCOUNTS_REFUSAL_FACTS_SQL) begin at column first of row r may not be
 * used now, in words for its worker: what stops it, why, and whom to ask to put it right. The same
 * words answer a sign-in and, published with the account, the calls of a session already open. 1
 * with the words (at most size bytes) and the API's code at *code (account_ended, else the state),
 * or 0 with words "" when the account may be used. */
int accounts_refusal_words(const PGresult *r, int row, int first, char *words, size_t size,
                           const char **code);

/* The roles that administer accounts; "system" is the suite's own import and batch jobs. */
extern const char *const accounts_administrators[];
/* Whether the actor is one of them. */
int accounts_actor_administers(const Tsr__Actor *actor);

/* Replies with the worker's whole account (a WorkerAccount). */
int accounts_account_reply(tsr_call_t *call, uint64_t worker_id, tsr_error_t *err);
/* Emits accounts.worker.changed with the whole account as it now stands, in the call's transaction.
 * Every change to a worker ends with this, after the change and before the commit. */
int accounts_account_publish(tsr_call_t *call, uint64_t worker_id, tsr_error_t *err);
/* accounts.workers.republish: every account announced again as it stands (system administrators and
 * batch jobs), for the copies of the accounts the other daemons keep: after an upgrade that added to
 * them (a worker's name in records', say), each learns it now rather than at the worker's next change. */
int accounts_workers_republish(tsr_call_t *call, tsr_error_t *err);

/* accounts.worker.get: one account (admin and system support). */
int accounts_worker_get(tsr_call_t *call, tsr_error_t *err);
/* accounts.worker.search: colleagues by name and team, for any signed-in worker; only the
 * administrators see more than id, name, roles and teams, and see ended accounts too. */
int accounts_worker_search(tsr_call_t *call, tsr_error_t *err);

#endif
