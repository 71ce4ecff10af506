/* notices: the notices workers see in the web UI, delivered once each from the notice.requested
 * events of any daemon and from the workflow's requests (sent, overdue: escalated to the line
 * manager), and the team memberships, addresses and line managers (from accounts' events) that
 * they are sent to. */
#ifndef NOTIFICATIONS_NOTICES_H
#define NOTIFICATIONS_NOTICES_H

#include "tsr_config.h"
#include "tsr_daemon.h"

/* Reads [notifications] email_kinds, escalate_request_types and read_notice_keep_days, and whether
 * [smtp] url is set; -1 naming a bad value. */
int notifications_configure(const tsr_config_t *config, tsr_error_t *err);
/* Housekeeping: the notices read more than read_notice_keep_days ago go (a notice is a pointer to
 * work, not a record of it: the work, its history and the audit trail keep what happened). Unread
 * ones stay, and so does one whose e-mail is still being tried. */
int notifications_forget_read(PGconn *conn, void *arg, tsr_error_t *err);

/* <producer>.notice.requested: a notice to each recipient, once per dedupe key. */
int notifications_wants_notice(const Tsr__Envelope *ev);
/* The same, and workflow.request.sent / .overdue: the request's recipient hears of it. */
int notifications_wants_event(const Tsr__Envelope *ev);
int notifications_apply_event(tsr_event_t *ev, tsr_error_t *err);
/* accounts.worker.changed: the worker's teams, address and line manager; accounts.notice.requested
 * (system support told of a conflict of interest declared), after the accounts it names. */
int notifications_wants_accounts_event(const Tsr__Envelope *ev);
int notifications_apply_accounts_event(tsr_event_t *ev, tsr_error_t *err);

/* notifications.notices.list: the calling worker's own notices, newest first. */
int notifications_notices_list(tsr_call_t *call, tsr_error_t *err);
/* notifications.notice.mark_read: one of the calling worker's own notices. */
int notifications_notice_mark_read(tsr_call_t *call, tsr_error_t *err);

#endif
