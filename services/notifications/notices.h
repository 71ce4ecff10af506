/* notices: the notices workers see in the web UI, delivered once each from the notice.requested
 * events of any daemon, and the team memberships (from accounts' events) that a notice to a team
 * is sent to. */
#ifndef NOTIFICATIONS_NOTICES_H
#define NOTIFICATIONS_NOTICES_H

#include "tsr_daemon.h"

/* <producer>.notice.requested: a notice to each recipient, once per dedupe key. */
int notifications_wants_notice(const Tsr__Envelope *ev);
int notifications_apply_notice(tsr_event_t *ev, tsr_error_t *err);
/* accounts.worker.changed: the worker's teams, for notices to a team. */
int notifications_wants_accounts_event(const Tsr__Envelope *ev);
int notifications_apply_accounts_event(tsr_event_t *ev, tsr_error_t *err);

/* notifications.notices.list: the calling worker's own notices, newest first. */
int notifications_notices_list(tsr_call_t *call, tsr_error_t *err);
/* notifications.notice.mark_read: one of the calling worker's own notices. */
int notifications_notice_mark_read(tsr_call_t *call, tsr_error_t *err);

#endif
