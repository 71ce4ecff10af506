/* tessera import consultations FILE.csv: completed consultations from the old system. The file is
 * read here (CSV as RFC 4180 writes it, with a header line naming the columns as the report's
 * section 04 does); the consultations daemon checks every row and loads the whole file or nothing. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "consultations.pb-c.h"
#include "tsr_text.h"

#define IMPORT_TIMEOUT_MS 600000
#define IMPORT_FIELDS_MAX 32

/* The columns, by the report's headings (the old system's export has them) or by key. */
static const struct {
    const char *heading;
    const char *key;
} import_columns[] = {
    {"Organisation ID", "organisation_id"},
    {"Organisation name", "organisation_name"},
    {"Step ID", "step_id"},
    {"Step type", "step_type"},
    {"Step started on", "step_started_on"},
    {"Step completed on", "step_completed_on"},
    {"Date and time of consult", "consulted_at"},
    {"Source of contact", "source"},
    {"Referrer name", "referrer_name"},
    {"Relationship with subject(s)", "referrer_relationship"},
    {"Outcome(s)", "outcomes"},
};
#define IMPORT_COLUMNS (sizeof(import_columns) / sizeof(import_columns[0]))

typedef struct {
    const char *p, *end;
    unsigned line; /* of the next character */
} import_reader_t;

static void import__free_fields(char **fields, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(fields[i]);
}

/* Reads one record into fields (malloc'd strings); 1 a record, 0 the end, -1 a malformed one (msg
 * says why). *line is the line the record starts on. */
static int import__record(import_reader_t *r, char **fields, size_t *n, unsigned *line, char *msg,
                          size_t size)
{
    *n = 0;
    *line = r->line;
    if (r->p >= r->end)
        return 0;
    size_t cap = 64, len = 0;
    char *cell = malloc(cap);
    int quoted = 0, at_start = 1;
    if (cell == NULL) {
        snprintf(msg, size, "out of memory");
        return -1;
    }
    for (;;) {
        int eof = r->p >= r->end;
        char c = eof ? '\0' : *r->p;
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
            if (*n == IMPORT_FIELDS_MAX) {
                snprintf(msg, size, "line %u has more than %d fields", *line, IMPORT_FIELDS_MAX);
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
    import__free_fields(fields, *n);
    *n = 0;
    return -1;
}

static int import__blank(char **fields, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (tsr_text_trimmed_length(fields[i]) > 0)
            return 0;
    return 1;
}

static char *import__read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 65536;
    char *data = malloc(cap);
    *len = 0;
    size_t got;
    while (data && (got = fread(data + *len, 1, cap - *len, f)) > 0) {
        *len += got;
        if (*len == cap) {
            char *bigger = realloc(data, cap * 2);
            if (bigger == NULL) {
                free(data);
                data = NULL;
                break;
            }
            data = bigger;
            cap *= 2;
        }
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(data);
        return NULL;
    }
    return data;
}

/* Which column of import_columns each field of the header is; -1 (having said why) on a fault. */
static int import__header(const char *file, char **fields, size_t n, int map[IMPORT_FIELDS_MAX])
{
    int seen[IMPORT_COLUMNS] = {0};
    for (size_t i = 0; i < n; i++) {
        char *name = tsr_text_trim_dup(fields[i]);
        /* A file saved by a spreadsheet may start with a byte-order mark. */
        const char *h = name && i == 0 && strncmp(name, "\xef\xbb\xbf", 3) == 0 ? name + 3 : name;
        map[i] = -1;
        for (size_t c = 0; h && c < IMPORT_COLUMNS; c++)
            if (strcasecmp(h, import_columns[c].heading) == 0 || strcasecmp(h, import_columns[c].key) == 0)
                map[i] = (int)c;
        if (map[i] < 0 || seen[map[i]]++) {
            fprintf(stderr, "tessera: %s:1: the column '%s' is %s\n", file, h ? h : "",
                    map[i] < 0 ? "not one of the consultation's columns" : "there twice");
            free(name);
            return -1;
        }
        free(name);
    }
    for (size_t c = 0; c < IMPORT_COLUMNS; c++)
        if (!seen[c]) {
            fprintf(stderr,
                    "tessera: %s:1: the header has no column '%s'; the columns are those of the report's "
                    "section 04 (Organisation ID, Organisation name, Step ID, ...)\n",
                    file, import_columns[c].heading);
            return -1;
        }
    return 0;
}

static char **import__slot(Tsr__Consultations__ImportRow *row, size_t column)
{
    char **slots[IMPORT_COLUMNS] = {
        &row->organisation_id, &row->organisation_name,     &row->step_id,      &row->step_type,
        &row->step_started_on, &row->step_completed_on,     &row->consulted_at, &row->source,
        &row->referrer_name,   &row->referrer_relationship, &row->outcomes};
    return slots[column];
}

int cli_import_consultations(cli_context_t *ctx, int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "usage: tessera import consultations FILE.csv\n");
        return 2;
    }
    const char *file = argv[0];
    size_t len = 0;
    char *data = import__read_file(file, &len);
    if (data == NULL) {
        fprintf(stderr, "tessera: %s cannot be read\n", file);
        return 2;
    }
    if (!tsr_text_is_utf8(data, len)) {
        fprintf(stderr, "tessera: %s is not UTF-8 text; save it from the spreadsheet as CSV UTF-8\n", file);
        free(data);
        return 2;
    }
    import_reader_t reader = {data, data + len, 1};
    char *fields[IMPORT_FIELDS_MAX], msg[200];
    size_t n = 0, count = 0, cap = 0;
    unsigned line = 0;
    int map[IMPORT_FIELDS_MAX];
    Tsr__Consultations__ImportRow **rows = NULL;
    int rc = 2, got = import__record(&reader, fields, &n, &line, msg, sizeof(msg));
    if (got <= 0 || import__header(file, fields, n, map) != 0) {
        if (got < 0)
            fprintf(stderr, "tessera: %s: %s\n", file, msg);
        else if (got == 0)
            fprintf(stderr, "tessera: %s is empty\n", file);
        if (got > 0)
            import__free_fields(fields, n);
        goto done;
    }
    size_t columns = n;
    import__free_fields(fields, n);
    while ((got = import__record(&reader, fields, &n, &line, msg, sizeof(msg))) > 0) {
        if (import__blank(fields, n)) {
            import__free_fields(fields, n);
            continue;
        }
        if (n != columns) {
            fprintf(stderr, "tessera: %s:%u: the row has %zu fields where the header has %zu\n", file, line,
                    n, columns);
            import__free_fields(fields, n);
            goto done;
        }
        if (count == cap) {
            cap = cap ? cap * 2 : 256;
            Tsr__Consultations__ImportRow **bigger = realloc(rows, cap * sizeof(*rows));
            if (bigger == NULL) {
                import__free_fields(fields, n);
                goto done;
            }
            rows = bigger;
        }
        Tsr__Consultations__ImportRow *row = calloc(1, sizeof(*row));
        if (row == NULL) {
            import__free_fields(fields, n);
            goto done;
        }
        tsr__consultations__import_row__init(row);
        row->line = line;
        rows[count++] = row;
        for (size_t i = 0; i < n; i++)
            *import__slot(row, (size_t)map[i]) = fields[i];
    }
    if (got < 0) {
        fprintf(stderr, "tessera: %s: %s\n", file, msg);
        goto done;
    }
    Tsr__Consultations__Import in = TSR__CONSULTATIONS__IMPORT__INIT;
    in.file = (char *)file;
    in.rows = rows;
    in.n_rows = count;
    Tsr__Envelope *reply = NULL;
    tsr_error_t err;
    if (cli_call_timeout(ctx, "consultations", "consultations.import", &in.base, IMPORT_TIMEOUT_MS, &reply,
                         &err) != 0) {
        /* The daemon's message names the line: the file's name before it makes it a place to go to. */
        fprintf(stderr, "tessera: %s: %s\n", file, err.message);
        rc = err.status == TSR_E_INVALID || err.status == TSR_E_CONFLICT ? 2 : 1;
        goto done;
    }
    Tsr__Consultations__ImportResult *result =
        tsr__consultations__import_result__unpack(NULL, reply->payload.len, reply->payload.data);
    tsr__envelope__free_unpacked(reply, NULL);
    if (result == NULL) {
        fprintf(stderr, "tessera: the consultations service's answer could not be read\n");
        rc = 1;
        goto done;
    }
    printf("Loaded %u consultations from %s (%u were loaded before and are left as they are).\n",
           result->loaded, file, result->already_loaded);
    tsr__consultations__import_result__free_unpacked(result, NULL);
    rc = 0;
done:
    for (size_t i = 0; i < count; i++) {
        for (size_t c = 0; c < IMPORT_COLUMNS; c++)
            if (*import__slot(rows[i], c) != protobuf_c_empty_string)
                free(*import__slot(rows[i], c));
        free(rows[i]);
    }
    free(rows);
    free(data);
    return rc;
}
