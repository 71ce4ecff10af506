/* Reading CSV as RFC 4180 writes it (and spreadsheets save it), one record at a time, with the line
 * each record starts on for the messages that name a bad row. The import commands build on it; the
 * fuzz target (tests/fuzz/fuzz_csv.c) holds it to writing and reading back. */
#ifndef CSV_READ_H
#define CSV_READ_H

#include <stddef.h>

#define CSV_FIELDS_MAX 32

typedef struct {
    const char *p, *end;
    unsigned line; /* of the next character */
} csv_reader_t;

/* Reads one record into fields (at most CSV_FIELDS_MAX malloc'd strings, freed with
 * csv_free_fields): 1 a record, 0 the end, -1 a malformed one (msg says why, naming the line; no
 * fields are left to free). *line is the line the record starts on. */
int csv_read_record(csv_reader_t *r, char **fields, size_t *n, unsigned *line, char *msg, size_t size);

void csv_free_fields(char **fields, size_t n);

#endif
