/* tsr_json: JSON text read as the suite takes it from people and other systems (a request's body, a
 * CP-IS notification, a response file), its faults told in words a person can act on. jansson's own
 * words are for its programmers: they name its flags and its parser's tokens ("\u0000 is not allowed
 * without JSON_ALLOW_NUL", "'[' or '{' expected near end of file"), and reached callers as they were. */
#ifndef TSR_JSON_H
#define TSR_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "tsr_error.h"

/* Reads text (len bytes; it need not end in a NUL) as one JSON value, a name given twice in an
 * object refused. what names the text in the message, as a sentence starts ("The body", "The
 * notification"). A string holding a NUL (\u0000) is refused naming where it is ("legal_name.given",
 * "next_actions[0].note"), 400 invalid_characters: no text the suite keeps may hold one, and C reads
 * a string only up to it. Any other fault is 400 malformed_json, saying what is wrong and where (line
 * and column). NULL with err set, or the value. */
json_t *tsr_json_load(const char *text, size_t len, const char *what, tsr_error_t *err);

/* jansson's fault (json_loads' error) in words, without its own: what is wrong, then where, e.g.
 * "a ':' is missing between a member's name and its value (line 1, column 6, near '1')"; a file
 * json_load_file could not open, "it cannot be read: unable to open ...". */
void tsr_json_error_words(const json_error_t *jerr, char *out, size_t size);

#endif
