/* mail_text: a notice's title as an e-mail carries it: plain UTF-8 text for the body, and the
 * Subject header's value (RFC 2047 encoded words where it is not plain ASCII). */
#ifndef NOTIFICATIONS_MAIL_TEXT_H
#define NOTIFICATIONS_MAIL_TEXT_H

#include <stddef.h>

/* The title without CR or LF (and never ending in a character cut short) at plain, and the Subject
 * header's value at out: the same when plain ASCII, else encoded words of at most 75 characters,
 * each of whole characters, folded one a line. */
void notifications_mail_title(const char *title, char *plain, size_t plain_size, char *out, size_t size);

#endif
