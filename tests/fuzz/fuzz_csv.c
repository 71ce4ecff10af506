/* Fuzz target: the import commands' CSV reader (csv_read_record). Any bytes are read to the end or
 * refused with a message naming a line, never a crash, a leak or a read past the data; and fields
 * written as RFC 4180 writes them (quoted when they hold a comma, a quote or a line break) are read
 * back exactly, on the line where their record starts. The fields are the input cut at 0x1f bytes,
 * records at 0x1e bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void csv__read_all(const char *text, size_t len)
{
    csv_reader_t reader = {text, text + len, 1};
    char *fields[CSV_FIELDS_MAX], msg[200];
    size_t n;
    unsigned line, last = 0;
    int got;
    while ((got = csv_read_record(&reader, fields, &n, &line, msg, sizeof(msg))) > 0) {
        if (n == 0 || n > CSV_FIELDS_MAX || line < last || reader.p > reader.end)
            abort();
        last = line;
        csv_free_fields(fields, n);
    }
    if (got < 0 && strstr(msg, "line ") == NULL)
        abort();
}

/* Appends field to out as RFC 4180 writes it. */
static size_t csv__write_field(char *out, const uint8_t *field, size_t len)
{
    int quote = len == 0 || memchr(field, ',', len) || memchr(field, '"', len) || memchr(field, '\n', len) ||
                memchr(field, '\r', len);
    size_t o = 0;
    if (quote)
        out[o++] = '"';
    for (size_t i = 0; i < len; i++) {
        if (field[i] == '"')
            out[o++] = '"';
        out[o++] = (char)field[i];
    }
    if (quote)
        out[o++] = '"';
    return o;
}

static size_t csv__lines(const char *text, size_t len)
{
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    return lines;
}

/* The fields of one record of the input and the record read back from their writing. */
static void csv__round_trip(const uint8_t *data, size_t size)
{
    if (memchr(data, '\0', size) != NULL)
        return; /* a NUL byte is refused, as the first half checks */
    char *text = malloc(size * 2 + 3 * (size + 1) + 2);
    if (text == NULL)
        return;
    const uint8_t *records[64][CSV_FIELDS_MAX];
    size_t lens[64][CSV_FIELDS_MAX], counts[64] = {0}, n_records = 0, o = 0;
    size_t starts[64];
    const uint8_t *field = data;
    for (size_t i = 0; i <= size && n_records < 64; i++) {
        int end_field = i == size || data[i] == 0x1f || data[i] == 0x1e;
        if (!end_field)
            continue;
        size_t r = n_records;
        if (counts[r] == CSV_FIELDS_MAX) {
            free(text);
            return;
        }
        records[r][counts[r]] = field;
        lens[r][counts[r]++] = (size_t)(data + i - field);
        field = data + i + 1;
        if (i == size || data[i] == 0x1e)
            n_records++;
    }
    unsigned line = 1;
    for (size_t r = 0; r < n_records; r++) {
        starts[r] = o;
        for (size_t f = 0; f < counts[r]; f++) {
            if (f > 0)
                text[o++] = ',';
            o += csv__write_field(text + o, records[r][f], lens[r][f]);
        }
        text[o++] = '\n';
    }
    csv_reader_t reader = {text, text + o, 1};
    char *fields[CSV_FIELDS_MAX], msg[200];
    for (size_t r = 0; r < n_records; r++) {
        size_t n;
        unsigned at;
        if (csv_read_record(&reader, fields, &n, &at, msg, sizeof(msg)) != 1 || n != counts[r] || at != line)
            abort();
        for (size_t f = 0; f < n; f++)
            if (strlen(fields[f]) != lens[r][f] || memcmp(fields[f], records[r][f], lens[r][f]) != 0)
                abort();
        csv_free_fields(fields, n);
        line += (unsigned)csv__lines(text + starts[r], (r + 1 < n_records ? starts[r + 1] : o) - starts[r]);
    }
    size_t n;
    unsigned at;
    if (csv_read_record(&reader, fields, &n, &at, msg, sizeof(msg)) != 0)
        abort();
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The reader is given the file's bytes with no terminator: ASan sees a read past them. */
    char *text = malloc(size ? size : 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    csv__read_all(text, size);
    free(text);
    csv__round_trip(data, size);
    return 0;
}
