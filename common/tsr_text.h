/* tsr_text: checks and small transformations of text that users typed, shared by every daemon
 * that validates input. All of it assumes UTF-8 (the bus and the API only carry UTF-8). */
#ifndef TSR_TEXT_H
#define TSR_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "tsr_error.h"

/* Whether the len bytes of s are well-formed UTF-8 (no overlongs, surrogates or NULs). */
int tsr_text_is_utf8(const char *s, size_t len);
/* A malloc'd copy of the len bytes of s as well-formed UTF-8, each byte that is not part of a
 * well-formed sequence (a NUL included) shown as U+FFFD, cut on a character's boundary to at most
 * max_bytes: text that came as bytes (a feed file in another encoding) kept for a person to read.
 * NULL when out of memory. */
char *tsr_text_utf8_repair(const char *s, size_t len, size_t max_bytes);
/* Drops, in place, every byte of s that is not part of a well-formed UTF-8 sequence: what snprintf
 * leaves where "%.40s" or the end of its buffer cuts a character short. Text so cut would be refused
 * by PostgreSQL and by jansson; a message or an audit entry made from a person's text goes through
 * this before it leaves. */
void tsr_text_utf8_clean(char *s);
/* Characters (code points), not bytes. */
size_t tsr_text_length(const char *s);
/* Length once leading and trailing white space is removed. */
size_t tsr_text_trimmed_length(const char *s);
/* A malloc'd copy without leading and trailing white space. */
char *tsr_text_trim_dup(const char *s);
/* Whether s holds a character that is never text: a control character (C0, DEL or C1) or a Unicode
 * noncharacter (U+FDD0 to U+FDEF, U+FFFE and U+FFFF, and the last two of every other plane; XML refuses
 * U+FFFE and U+FFFF as it does C0 controls, and HTML counts each of them an error); allow_newlines lets
 * \n, \r and \t through. Every daemon's check of the text a person or another system sends goes
 * through this, so that none of it is kept to break a file made from it later. */
int tsr_text_has_control(const char *s, int allow_newlines);
/* The first such character's code point (read from its UTF-8), or -1 when none: for a message that
 * names it. */
int tsr_text_first_control(const char *s, int allow_newlines);
/* That character (cp) in words for a message, at buf or a constant: "a tab", "a line break", "a
 * control character (U+001B)", "U+FFFE, which is not a character". */
const char *tsr_text_control_words(int cp, char *buf, size_t size);
/* A form's field of text: 0 when s holds no such character; else fills err (400 invalid_characters,
 * naming field and, in words, title: "Name holds U+FFFE, which is not a character: take it out.")
 * and returns -1. */
int tsr_text_check_characters(const char *s, int allow_newlines, const char *field, const char *title,
                              tsr_error_t *err);
/* A malloc'd copy of s for a file people read (an XLSX's XML, an HTML page, a CSV), every character
 * that is never text but a tab or a line break, and every byte that is not UTF-8, as U+FFFD: text kept
 * before the check above, or by another way in, cannot make the file unreadable. NULL when out of
 * memory. */
char *tsr_text_replace_non_text(const char *s);
/* Whether s (UTF-8) holds a character that shows as nothing but changes what is stored or how it is
 * shown: a zero-width space, a word joiner, a byte order mark, or a mark or override of the text's
 * direction. In a name it hides a duplicate from search and the NHS's match, or shows the name
 * reversed. */
int tsr_text_has_invisible(const char *s);
/* A reason for taking out something recorded in error: its code as the API takes it and its words
 * for a message ("found to be inaccurate"). A list of them ends with {NULL, NULL}. */
typedef struct {
    const char *code;
    const char *words;
} tsr_reason_t;
/* The reason and explanation of a request to take out something recorded in error (what: "case
 * note"): reason one of reasons' codes ("other" among them needs an explanation), the explanation up
 * to 1,000 characters of text. Each fault is added to err (tsr_error_add), naming its field; the
 * caller then asks tsr_error_gathered. */
void tsr_text_check_reason(const char *reason, const tsr_reason_t *reasons, const char *explanation,
                           const char *what, tsr_error_t *err);
/* The words of the reason whose code is code, or "recorded in error" for one not in the list. */
const char *tsr_text_reason_words(const tsr_reason_t *reasons, const char *code);
/* The instant ms (Unix milliseconds) in the process's time zone (the office's: tsr_daemon_use_timezone)
 * by strftime's fmt, at out. */
void tsr_text_local_time(int64_t ms, const char *fmt, char *out, size_t size);
/* A telephone number a person could ring back: a UK one with its area code (020 7974 4444, 07700
 * 900123), the same from abroad (+44 20 7974 4444, +44 (0)20 7974 4444, 0044 ...), or another
 * country's with + or 00 (7 to 15 digits); spaces or hyphens between groups, one pair of brackets,
 * an extension at the end (ext 123, x123). */
int tsr_text_is_telephone(const char *s);
/* An e-mail address as a person types one: local@domain, the local part of RFC 5322 atext in
 * dotted words (no leading, trailing or double dot; non-ASCII allowed), the domain of two or more
 * labels of letters, digits and inner hyphens, its last label not a number and at least two long. */
int tsr_text_is_email(const char *s);
/* An id as the API writes one: digits only, not zero, at most bigint's largest (9223372036854775807),
 * so that PostgreSQL never refuses it as out of range. */
int tsr_text_is_id(const char *s);
/* Only hexadecimal digits, even length, non-empty. */
int tsr_text_is_hex(const char *s);
/* The number the n digits at p make, or -1 when one of them is not a digit (no sign, no spaces: what
 * sscanf's %d would also take, so that "+022" was read as the year 22). */
int tsr_text_digits(const char *p, int n);
/* The year, month and day of the YYYY-MM-DD at the start of text, 0 when that day exists (Gregorian
 * leap years: 29 February 2000 and 2024, not 1900 or 2023), -1 when it does not or is not so written. */
int tsr_text_date_parts(const char *text, int *y, int *m, int *d);
/* Today in the process's time zone (the office's: tsr_daemon_use_timezone), YYYY-MM-DD at out. */
void tsr_text_today(char out[11]);
/* The day that is days after date (YYYY-MM-DD; days below 0 for before it), YYYY-MM-DD at out: 0, or
 * -1 when date is not a real date so written or the day is outside the years 1 to 9999. */
int tsr_text_date_add_days(const char *date, int days, char out[11]);
/* A date (YYYY-MM-DD) as a person reads it on a page: dd/mm/yyyy, what the UI shows every date as,
 * at out; 0, or -1 (out empty) when date is not a real date so written. */
int tsr_text_date_display(const char *date, char out[11]);
/* A form field's title as it reads inside a sentence of a message that names it, into out: after
 * "the", its first letter in lower case ("the date and time of consultation"), unless its first word
 * takes no article ("why the record is to be restricted", "their user role") or the title starts with
 * an abbreviation, kept as it is ("the NHS number", "the IDs of the records to be merged"). */
void tsr_text_in_sentence(const char *title, char *out, size_t size);
/* What a person is asked when a form's field of the definition's type is left empty, in the GOV.UK
 * Design System's words, into out: "Enter the date and time of consultation"; for a choice (picklist,
 * multi-picklist, worker, boolean) "Select the source of consultation". */
void tsr_text_ask_for(const char *type, const char *title, char *out, size_t size);
/* 0 when text is a real date written YYYY-MM-DD (and, with not_future, not after today); else
 * fills err naming field (invalid_date or date_in_future) and returns -1. */
int tsr_text_check_date(const char *text, int not_future, const char *field, tsr_error_t *err);
/* 0 when iso, a date (YYYY-MM-DD) or a UTC date-time as tsr_text_utc_ms writes one, falls on or
 * after the day not_before (YYYY-MM-DD; NULL is no bound); else fills err (date_too_early, naming
 * field and, in words, title) and returns -1. A definition's field says how far back is believable:
 * a consultation in 1026 is a slip of the keyboard. */
int tsr_text_check_not_before(const char *iso, const char *not_before, const char *field, const char *title,
                              tsr_error_t *err);
/* A form's datetime field (text not empty): 0 when it is an RFC 3339 date-time with its offset, not
 * ahead of now by more than a minute when not_future (clocks differ a little), and on or after
 * not_before (YYYY-MM-DD, or NULL); else fills err (invalid_datetime, date_in_future or
 * date_too_early, naming field and, in words, title) and returns -1. The one check of the workflow
 * daemon's fields and the consultations daemon's, which both see a save. */
int tsr_text_check_datetime(const char *text, int not_future, const char *not_before, const char *field,
                            const char *title, tsr_error_t *err);
/* An RFC 3339 date-time with an offset (2022-11-25T13:57:00Z, 2022-11-25T13:57+01:00, seconds and
 * fractions optional) as Unix ms at *ms (negative before 1970), read without the process's time
 * zone; 0, or -1 when it is not one. */
int tsr_text_datetime_parse(const char *text, int64_t *ms);
/* The same as a return value: -1 when it is not one, or is before 1970 (where a time of that age
 * cannot be meant, as in a feed's). */
int64_t tsr_text_datetime_ms(const char *text);
/* Unix ms as RFC 3339 in UTC with milliseconds (2022-11-25T13:57:00.000Z, what the API shows and
 * PostgreSQL reads as a timestamptz), at out (room for TSR_TEXT_UTC_MS_LEN + 1 bytes, NUL-terminated);
 * returns the length written. Years 0 to 9999. */
#define TSR_TEXT_UTC_MS_LEN 24
size_t tsr_text_utc_ms(int64_t ms, char *out);
/* A list's cursor that is the id of the last item shown: 0 in *after when there is none, else the
 * id; -1 with invalid_cursor (field cursor) when it is not one a list gave out. */
int tsr_text_cursor_id(const char *cursor, uint64_t *after, tsr_error_t *err);
/* The cursor of a ranked list (a search's matches, best first): the place its page starts at, from 1
 * to below max, at *offset (0 when cursor is NULL or empty); else fills err (invalid_cursor). */
int tsr_text_cursor_offset(const char *cursor, unsigned long max, unsigned long *offset, tsr_error_t *err);
/* A page's size as asked for: 0 means fallback; more than max is refused naming the field limit. */
int tsr_text_page_limit(uint32_t asked, uint32_t fallback, uint32_t max, uint32_t *limit, tsr_error_t *err);
/* A page of a list read by id, newest first, as its statement's parameters: before_text is the
 * cursor's id (NULL from the top) and fetch_text one more than limit (a row beyond the page says
 * there is a next one). Checks both as the two above do. */
typedef struct {
    uint32_t limit;
    const char *before_text;
    char before[24];
    char fetch_text[16];
} tsr_text_page_t;
int tsr_text_page(uint32_t asked, const char *cursor, uint32_t fallback, uint32_t max, tsr_text_page_t *page,
                  tsr_error_t *err);
/* Sorted lists of strings (ids, keys) kept by pointer: the order for qsort, whether key is among the
 * n sorted items, and key put where it belongs among n (with room for one more). */
int tsr_text_compare_ptrs(const void *a, const void *b);
int tsr_text_sorted_has(char *const *items, size_t n, const char *key);
void tsr_text_sorted_insert(char **items, size_t n, const char *key);
/* s as one CSV field (RFC 4180), malloc'd: quoted when it must be, and a cell a spreadsheet would
 * take for a formula (=, +, -, @) written as text. NULL when out of memory. */
char *tsr_text_csv_field(const char *s);
/* What a CSV file for people starts with: UTF-8's byte-order mark. Excel on Windows opens a CSV
 * without one, double-clicked, in the computer's own code page ("ZoÃ«" for "Zoë"); with it, as
 * UTF-8. A reader of the suite's own (tessera import) passes over one. */
#define TSR_TEXT_CSV_BOM "\xEF\xBB\xBF"
/* An ILIKE pattern matching s anywhere, with %, _ and \ in s escaped. The caller frees it. */
char *tsr_text_like_pattern(const char *s);
/* A text[] literal of the n strings, each quoted ({"a","b\"c"}), for a $n::text[] parameter: what
 * "= ANY($1::text[])" is given, which the planner reads as an index scan. A NULL item is written
 * NULL (an SQL null, e.g. a column left empty in an unnest of several arrays). The caller frees it. */
char *tsr_text_array_literal(const char *const *items, size_t n);
/* The text[] literals of a table's columns, for an INSERT ... SELECT FROM unnest($1::text[], ...):
 * the rows go as one array a column, which neither side builds or parses a document for. cells
 * holds the columns one after the other (cells[c * rows + r]: row r of column c; NULL is an SQL
 * null); out[c] gets column c's literal, for the caller to free. -1 (nothing left to free) when out
 * of memory. */
int tsr_text_array_columns(const char *const *cells, size_t rows, size_t columns, char **out);
/* Of the n choices, the one a mistyped word most likely meant (a letter left out, added, changed or
 * two swapped, in any case: 'db_pol', 'log_levle', 'DB_POOL', 'recrods'), for a "did you mean"; NULL
 * when none is near enough to suggest. */
const char *tsr_text_nearest(const char *word, const char *const *choices, size_t n);

#endif
