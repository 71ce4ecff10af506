/* mailer: sends the notices queued for e-mail through the council's SMTP server (libcurl's SMTP
 * client), a few at a time on a timer, and keeps each one's delivery status: sent, retried later
 * with a growing wait while the server is unreachable or refuses, failed after the last attempt. A
 * notice is marked sent only after the server accepted it; a crash between the two sends it again
 * (at least once, never lost). The message holds the notice's title and a link, nothing more. */
#ifndef NOTIFICATIONS_MAILER_H
#define NOTIFICATIONS_MAILER_H

#include "tsr_daemon.h"

typedef struct notifications_mailer notifications_mailer_t;

/* Reads [smtp] url, from, username, password, starttls, timeout_ms, poll_ms, retry_ms,
 * max_attempts and [notifications] link_base, and has the daemon run a round every poll_ms; NULL
 * with err on a bad value. With no smtp.url the mailer is off and sends nothing. Destroy it after
 * the daemon. */
notifications_mailer_t *notifications_mailer_new(tsr_daemon_t *daemon, tsr_error_t *err);
void notifications_mailer_destroy(notifications_mailer_t **self_p);

#endif
