/* CSV records, read one at a time (RFC 4180). */
#include "csv_read.h"

#include <stdio.h>
#include <stdlib.h>

void csv_free_fields(char **fields, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(fields[i]);
}

int csv_read_record(csv_reader_t *r, char **fields, size_t *n, unsigned *line, char *msg, size_t size)
{
    *n = 0;
    *line = r->line;
    if (r->p >= r->end)
        return 0;
    size_t cap = 64, len = 0;
    char *cell = malloc(cap);
    int quoted = 0, at_start = 1, closed = 0; /* closed: just after a quoted field's closing quote */
    if (cell == NULL) {
        snprintf(msg, size, "out of memory");
        return -1;
    }
    for (;;) {
        int eof = r->p >= r->end;
        char c = eof ? '\0' : *r->p;
        if (!eof && c == '\0') {
            /* Kept, it would end the field's text there without a word. */
            snprintf(msg, size, "line %u has a NUL byte: the file is not text", r->line);
            goto fail;
        }
        if (closed && !eof && c != ',' && c != '\n' && c != '\r') {
            /* "Smith, J"unk would otherwise read as Smith, Junk. */
            snprintf(msg, size, "line %u has text after a quoted field's closing quote", r->line);
            goto fail;
        }
        closed = 0;
        if (quoted) {
            if (eof) {
                snprintf(msg, size, "a quoted field that starts on line %u is never closed", *line);
                goto fail;
            }
            r->p++;
            if (c == '"') {
                if (r->p < r->end && *r->p == '"') {
                    r->p++;
                } else {
                    quoted = 0;
                    closed = 1;
                    continue;
                }
            } else if (c == '\n') {
                r->line++;
            }
        } else if (c == '"' && at_start) {
            r->p++;
            quoted = 1;
            at_start = 0;
            continue;
        } else if (eof || c == ',' || c == '\n' || c == '\r') {
            cell[len] = '\0';
            if (*n == CSV_FIELDS_MAX) {
                snprintf(msg, size, "line %u has more than %d fields", *line, CSV_FIELDS_MAX);
                goto fail;
            }
            fields[(*n)++] = cell;
            if (eof)
                return 1;
            r->p++;
            if (c == '\r' && r->p < r->end && *r->p == '\n')
                r->p++;
            if (c != ',') {
                r->line++;
                return 1;
            }
            cap = 64;
            len = 0;
            cell = malloc(cap);
            if (cell == NULL) {
                snprintf(msg, size, "out of memory");
                goto fail;
            }
            at_start = 1;
            continue;
        } else {
            if (c == '"') {
                snprintf(msg, size, "line %u has a quote inside a field that is not quoted", r->line);
                goto fail;
            }
            r->p++;
        }
        at_start = 0;
        if (len + 2 > cap) {
            cap *= 2;
            char *bigger = realloc(cell, cap);
            if (bigger == NULL) {
                snprintf(msg, size, "out of memory");
                goto fail;
            }
            cell = bigger;
        }
        cell[len++] = c;
    }
fail:
    free(cell);
    csv_free_fields(fields, *n);
    *n = 0;
    return -1;
}
