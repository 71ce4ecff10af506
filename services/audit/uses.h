/* uses: the five audits of use of seed 002 (unusual activity, own or connected records, third-party
 * access, leavers, dormant accounts), run over the trail and over what the audit daemon keeps of
 * accounts (from accounts' events) and of allocations (from records' events). */
#ifndef AUDIT_USES_H
#define AUDIT_USES_H

#include "tsr_daemon.h"

/* [audit] timezone, working_days (mon,...,sun), working_day_starts / _ends (HH:MM), burst_records and
 * burst_minutes (that many different records read within that time is unusual), dormant_days. */
int audit_uses_configure(const tsr_config_t *config, tsr_error_t *err);

/* accounts.worker.changed / .signed-in, accounts.conflict.declared: the accounts as they stand. */
int audit_uses_wants_accounts_event(const Tsr__Envelope *ev);
int audit_uses_apply_accounts_event(tsr_event_t *ev, tsr_error_t *err);
/* records.person.*: the person's display name, and an allocation made or ended. Runs in the
 * transaction that appends the event's entries to the trail. */
int audit_uses_keep_person(tsr_event_t *ev, tsr_error_t *err);
/* Writes the display names audit_uses_keep_person gathered in the transaction, in one statement;
 * called by the trail's flush before the batch commits. */
int audit_uses_flush_people(tsr_event_t *ev, tsr_error_t *err);

/* audit.reports.run: one audit over a period, for auditors and batch jobs. */
int audit_uses_report(tsr_call_t *call, tsr_error_t *err);

#endif
