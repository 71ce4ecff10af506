/* tessera import consultations FILE.csv: completed consultations from the old system; tessera
 * import family-context SOURCE FILE.csv: another service's records for Family Context. Each file is
 * read here (CSV as RFC 4180 writes it, with a header line naming the columns); the owning daemon
 * checks every row and loads the whole file or nothing. */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "consultations.pb-c.h"
#include "records.pb-c.h"
#include "reporting.pb-c.h"
#include "tsr_text.h"

#include "csv_read.h"

#define IMPORT_TIMEOUT_MS 600000
/* How long an import waits for the report to hold what it loaded. */
#define IMPORT_REPORT_WAIT_MS 30000

/* A column of an import file: its heading as the source system exports it, or its key. */
typedef struct {
    const char *heading;
    const char *key;
    int optional; /* may be left out of the header */
} import_column_t;

/* A file's columns and how to name them in messages. */
typedef struct {
    const import_column_t *columns;
    size_t count;
    const char *what; /* "the consultation's columns" */
    const char *hint; /* how the columns are named, for a missing one */
} import_format_t;

/* The consultations' columns, by the report's headings (the old system's export has them). */
static const import_column_t import_columns[] = {
    {"Organisation ID", "organisation_id", 0},
    {"Organisation name", "organisation_name", 0},
    {"Step ID", "step_id", 0},
    {"Step type", "step_type", 0},
    {"Step started on", "step_started_on", 0},
    {"Step completed on", "step_completed_on", 0},
    {"Date and time of consult", "consulted_at", 0},
    {"Source of contact", "source", 0},
    /* Present even where every row leaves them empty: an export that lost a column would load every
     * consultation without it, and a step once loaded is not loaded again with other details. */
    {"Referrer name", "referrer_name", 0},
    {"Relationship with subject(s)", "referrer_relationship", 0},
    {"Outcome(s)", "outcomes", 0},
};
#define IMPORT_COLUMNS (sizeof(import_columns) / sizeof(import_columns[0]))

static int import__blank(char **fields, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (tsr_text_trimmed_length(fields[i]) > 0)
            return 0;
    return 1;
}

/* The largest file an import reads: far more than its most rows (the consultations daemon's 100,000
 * of a few hundred bytes each) take, and well short of what would crowd the server's memory. */
#define IMPORT_FILE_MAX ((off_t)256 * 1024 * 1024)

/* The file's bytes, or NULL with errno set: EINVAL for one that is not a regular file (a device, a
 * FIFO: /dev/zero never ends), EFBIG for one past IMPORT_FILE_MAX. */
static char *import__read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    struct stat st;
    int why = fstat(fileno(f), &st) != 0     ? errno
              : S_ISDIR(st.st_mode)          ? EISDIR
              : !S_ISREG(st.st_mode)         ? EINVAL
              : st.st_size > IMPORT_FILE_MAX ? EFBIG
                                             : 0;
    if (why != 0) {
        fclose(f);
        errno = why;
        return NULL;
    }
    size_t cap = 65536;
    char *data = malloc(cap);
    *len = 0;
    size_t got;
    while (data && (got = fread(data + *len, 1, cap - *len, f)) > 0) {
        *len += got;
        if ((off_t)*len > IMPORT_FILE_MAX) { /* grown since it was looked at */
            free(data);
            fclose(f);
            errno = EFBIG;
            return NULL;
        }
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
    why = errno;
    fclose(f);
    if (failed) {
        free(data);
        errno = why; /* for the caller's message: a directory, an unreadable disk */
        return NULL;
    }
    return data;
}

/* Which column of the format each field of the header is; -1 (having said why) on a fault. */
static int import__header(const char *file, const import_format_t *format, char **fields, size_t n,
                          int map[CSV_FIELDS_MAX])
{
    int seen[CSV_FIELDS_MAX] = {0};
    for (size_t i = 0; i < n; i++) {
        char *name = tsr_text_trim_dup(fields[i]);
        const char *h = name;
        map[i] = -1;
        for (size_t c = 0; h && c < format->count; c++)
            if (strcasecmp(h, format->columns[c].heading) == 0 || strcasecmp(h, format->columns[c].key) == 0)
                map[i] = (int)c;
        if (map[i] < 0 || seen[map[i]]++) {
            /* A heading is quoted no longer than any: a file that is not CSV at all has one line. */
            fprintf(stderr, "tessera: %s:1: the column '%.60s%s' is %s%s\n", file, h ? h : "",
                    h && strlen(h) > 60 ? "..." : "", map[i] < 0 ? "not one of " : "there twice",
                    map[i] < 0 ? format->what : "");
            free(name);
            return -1;
        }
        free(name);
    }
    for (size_t c = 0; c < format->count; c++)
        if (!seen[c] && !format->columns[c].optional) {
            fprintf(stderr, "tessera: %s:1: the header has no column '%s'; the columns are %s\n", file,
                    format->columns[c].heading, format->hint);
            return -1;
        }
    return 0;
}

/* Called with each row's cells by column (NULL for a column the file leaves out), which it then
 * owns; 0, or -1 to stop. */
typedef int (*import_row_fn)(void *arg, unsigned line, char **cells);

/* Reads a CSV file (UTF-8, RFC 4180, a header naming the columns) and hands each row to add. Every
 * line with the wrong number of fields is named before it fails. 0, or 2 having said why. */
static int import__read_csv(const char *file, const import_format_t *format, import_row_fn add, void *arg)
{
    size_t len = 0;
    char *data = import__read_file(file, &len);
    if (data == NULL) {
        if (errno == EINVAL)
            fprintf(stderr, "tessera: %s cannot be read: it is not a regular file\n", file);
        else if (errno == EFBIG)
            fprintf(stderr, "tessera: %s cannot be read: it is larger than %lld MiB; split it\n", file,
                    (long long)(IMPORT_FILE_MAX / (1024 * 1024)));
        else
            fprintf(stderr, "tessera: %s cannot be read: %s\n", file, strerror(errno));
        return 2;
    }
    const char *nul = memchr(data, '\0', len);
    if (nul != NULL) {
        fprintf(stderr, "tessera: %s has a NUL byte at byte %zu: it is not a text (CSV) file\n", file,
                (size_t)(nul - data) + 1);
        free(data);
        return 2;
    }
    if (!tsr_text_is_utf8(data, len)) {
        fprintf(stderr, "tessera: %s is not UTF-8 text; save it from the spreadsheet as CSV UTF-8\n", file);
        free(data);
        return 2;
    }
    /* A file saved by a spreadsheet ("CSV UTF-8") starts with a byte-order mark: it is not part of
     * the first heading, which may be quoted after it. */
    size_t bom = len >= 3 && memcmp(data, TSR_TEXT_CSV_BOM, 3) == 0 ? 3 : 0;
    csv_reader_t reader = {data + bom, data + len, 1};
    char *fields[CSV_FIELDS_MAX], msg[200];
    size_t n = 0, bad = 0;
    unsigned line = 0;
    int map[CSV_FIELDS_MAX];
    int rc = 2, got = csv_read_record(&reader, fields, &n, &line, msg, sizeof(msg));
    if (got <= 0 || import__header(file, format, fields, n, map) != 0) {
        if (got < 0)
            fprintf(stderr, "tessera: %s: %s\n", file, msg);
        else if (got == 0)
            fprintf(stderr, "tessera: %s is empty\n", file);
        if (got > 0)
            csv_free_fields(fields, n);
        goto done;
    }
    size_t columns = n;
    csv_free_fields(fields, n);
    while ((got = csv_read_record(&reader, fields, &n, &line, msg, sizeof(msg))) > 0) {
        if (import__blank(fields, n) || n != columns) {
            if (n != columns && !import__blank(fields, n)) {
                fprintf(stderr, "tessera: %s:%u: the row has %zu fields where the header has %zu\n", file,
                        line, n, columns);
                bad++;
            }
            csv_free_fields(fields, n);
            continue;
        }
        char *cells[CSV_FIELDS_MAX] = {NULL};
        for (size_t i = 0; i < n; i++)
            cells[map[i]] = fields[i];
        if (add(arg, line, cells) != 0)
            goto done;
    }
    if (got < 0) {
        fprintf(stderr, "tessera: %s: %s\n", file, msg);
        goto done;
    }
    rc = bad > 0 ? 2 : 0;
done:
    free(data);
    return rc;
}

/* The rows read so far, to send as one request: each a message of desc with a uint32 field "line"
 * and a string field named as each column's key, filled by name. */
typedef struct {
    const ProtobufCMessageDescriptor *desc;
    const import_format_t *format;
    ProtobufCMessage **rows;
    size_t count, cap;
} import_rows_t;

/* The string field of the row named as the format's column. */
static char **import__cell(const import_rows_t *in, ProtobufCMessage *row, size_t column)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(in->desc, in->format->columns[column].key);
    assert(f != NULL && f->type == PROTOBUF_C_TYPE_STRING);
    return (char **)((char *)row + f->offset);
}

static int import__add_row(void *arg, unsigned line, char **cells)
{
    import_rows_t *in = arg;
    ProtobufCMessage *row = NULL;
    if (in->count == in->cap) {
        size_t cap = in->cap ? in->cap * 2 : 256;
        ProtobufCMessage **bigger = realloc(in->rows, cap * sizeof(*in->rows));
        if (bigger != NULL) {
            in->rows = bigger;
            in->cap = cap;
        }
    }
    if (in->count < in->cap)
        row = calloc(1, in->desc->sizeof_message);
    if (row == NULL) {
        csv_free_fields(cells, in->format->count);
        fprintf(stderr, "tessera: out of memory\n");
        return -1;
    }
    protobuf_c_message_init(in->desc, row);
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(in->desc, "line");
    assert(f != NULL && f->type == PROTOBUF_C_TYPE_UINT32);
    *(uint32_t *)((char *)row + f->offset) = line;
    /* A column the file leaves out is empty in every row. */
    for (size_t c = 0; c < in->format->count; c++)
        *import__cell(in, row, c) = cells[c] ? cells[c] : (char *)protobuf_c_empty_string;
    in->rows[in->count++] = row;
    return 0;
}

static void import__rows_free(import_rows_t *in)
{
    for (size_t i = 0; i < in->count; i++) {
        for (size_t c = 0; c < in->format->count; c++) {
            char *cell = *import__cell(in, in->rows[i], c);
            if (cell != protobuf_c_empty_string)
                free(cell);
        }
        free(in->rows[i]);
    }
    free(in->rows);
}

/* The report is kept from the consultations daemon's events, a moment after the import commits; a
 * batch job that imports and then reports would count without what it loaded. So the import ends
 * once the reporting daemon holds every row of the file (IMPORT_REPORT_WAIT_MS at most, then says it
 * has not yet: the rows are loaded either way, and the report counts them when it catches up). */
static void import__wait_for_the_report(cli_context_t *ctx, const import_rows_t *read)
{
    uint64_t *ids = calloc(read->count + 1, sizeof(*ids));
    if (ids == NULL)
        return;
    for (size_t i = 0; i < read->count; i++)
        ids[i] = strtoull(((Tsr__Consultations__ImportRow *)read->rows[i])->step_id, NULL, 10);
    Tsr__Reporting__ImportedQuery q = TSR__REPORTING__IMPORTED_QUERY__INIT;
    q.step_ids = ids;
    q.n_step_ids = read->count;
    uint32_t counted = 0;
    const char *why = NULL;
    for (int waited = 0; waited <= IMPORT_REPORT_WAIT_MS; waited += 100) {
        Tsr__Envelope *reply = NULL;
        tsr_error_t err;
        if (cli_call_timeout(ctx, "reporting", "reporting.imported_counted", &q.base, 10000, &reply, &err) !=
            0) {
            why = "the reporting service did not answer";
            break;
        }
        Tsr__Reporting__ImportedCounted *out =
            tsr__reporting__imported_counted__unpack(NULL, reply->payload.len, reply->payload.data);
        tsr__envelope__free_unpacked(reply, NULL);
        counted = out ? out->counted : 0;
        tsr__reporting__imported_counted__free_unpacked(out, NULL);
        if (counted >= read->count)
            break;
        usleep(100 * 1000);
    }
    if (why == NULL && counted < read->count)
        why = "the reporting service has not caught up yet";
    if (why != NULL)
        fprintf(stderr,
                "tessera: the report: %s (it holds %u of the file's %zu consultations); it counts them "
                "once it has.\n",
                why, counted, read->count);
    free(ids);
}

int cli_import_consultations(cli_context_t *ctx, int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "usage: tessera import consultations FILE.csv\n");
        return 2;
    }
    const char *file = argv[0];
    static const import_format_t format = {import_columns, IMPORT_COLUMNS, "the consultation's columns",
                                           "those of the report's section 04 (Organisation ID, "
                                           "Organisation name, Step ID, ..., Outcome(s); a column "
                                           "the old system left empty is there with empty cells)"};
    import_rows_t read = {&tsr__consultations__import_row__descriptor, &format, NULL, 0, 0};
    int rc = import__read_csv(file, &format, import__add_row, &read);
    if (rc != 0)
        goto done;
    rc = 2;
    Tsr__Consultations__Import in = TSR__CONSULTATIONS__IMPORT__INIT;
    in.file = (char *)file;
    in.rows = (Tsr__Consultations__ImportRow **)read.rows;
    in.n_rows = read.count;
    Tsr__Envelope *reply = NULL;
    tsr_error_t err;
    if (cli_call_timeout(ctx, "consultations", "consultations.import", &in.base, IMPORT_TIMEOUT_MS, &reply,
                         &err) != 0) {
        /* The daemon's message names the line: the file's name before it makes it a place to go to.
         * The other rows' faults it found follow, one a line, so that one run shows what to mend. */
        fprintf(stderr, "tessera: %s: %s\n", file, err.message);
        for (size_t i = 1; i < err.n_faults; i++)
            fprintf(stderr, "tessera: %s: %s\n", file, err.faults[i].message);
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
    import__wait_for_the_report(ctx, &read);
    rc = 0;
done:
    import__rows_free(&read);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * Family Context sources (docs/family-context-sources.md)
 * ---------------------------------------------------------------------------------------------- */

static const import_column_t import_fc_columns[] = {
    {"Case ID", "case_id", 1},         {"NHS number", "nhs_number", 1},       {"Given name", "given_name", 1},
    {"Family name", "family_name", 1}, {"Date of birth", "date_of_birth", 1}, {"Title", "title", 0},
    {"Detail", "detail", 1},           {"Start date", "start_date", 1},       {"End date", "end_date", 1},
};
#define IMPORT_FC_COLUMNS (sizeof(import_fc_columns) / sizeof(import_fc_columns[0]))

int cli_import_family_context(cli_context_t *ctx, int argc, char **argv)
{
    const char *coverage_from = NULL, *coverage_to = NULL, *name = NULL, *role = NULL, *telephone = NULL,
               *email = NULL;
    cli_option_t options[] = {
        {"--coverage-from", &coverage_from, 1}, {"--coverage-to", &coverage_to, 1},
        {"--contact-name", &name, 0},           {"--contact-role", &role, 0},
        {"--contact-telephone", &telephone, 0}, {"--contact-email", &email, 0},
    };
    if (argc < 2 ||
        cli_read_options(argc - 2, argv + 2, options, sizeof(options) / sizeof(options[0])) != 0) {
        fprintf(stderr, "usage: tessera import family-context SOURCE FILE.csv --coverage-from YYYY-MM-DD "
                        "--coverage-to YYYY-MM-DD [--contact-name NAME --contact-role ROLE "
                        "--contact-telephone TEL --contact-email EMAIL]\n");
        return 2;
    }
    const char *source = argv[0], *file = argv[1];
    static const import_format_t format = {
        import_fc_columns, IMPORT_FC_COLUMNS, "a Family Context source's columns",
        "Case ID, NHS number, Given name, Family name, Date of birth, Title, "
        "Detail, Start date, End date (only Title is required)"};
    import_rows_t read = {&tsr__records__family_context_import_row__descriptor, &format, NULL, 0, 0};
    int rc = import__read_csv(file, &format, import__add_row, &read);
    if (rc != 0)
        goto done;
    rc = 2;
    Tsr__Records__FamilyContextImport in = TSR__RECORDS__FAMILY_CONTEXT_IMPORT__INIT;
    in.source = (char *)source;
    in.file = (char *)file;
    in.coverage_from = (char *)coverage_from;
    in.coverage_to = (char *)coverage_to;
    in.contact_name = (char *)(name ? name : "");
    in.contact_role = (char *)(role ? role : "");
    in.contact_telephone = (char *)(telephone ? telephone : "");
    in.contact_email = (char *)(email ? email : "");
    in.rows = (Tsr__Records__FamilyContextImportRow **)read.rows;
    in.n_rows = read.count;
    Tsr__Envelope *reply = NULL;
    tsr_error_t err;
    if (cli_call_timeout(ctx, "records", "records.family_context.import", &in.base, IMPORT_TIMEOUT_MS, &reply,
                         &err) != 0) {
        fprintf(stderr, "tessera: %s: %s\n", file, err.message);
        rc = err.status == TSR_E_INVALID || err.status == TSR_E_FORBIDDEN ? 2 : 1;
        goto done;
    }
    Tsr__Records__FamilyContextImportResult *result =
        tsr__records__family_context_import_result__unpack(NULL, reply->payload.len, reply->payload.data);
    tsr__envelope__free_unpacked(reply, NULL);
    if (result == NULL) {
        fprintf(stderr, "tessera: the records service's answer could not be read\n");
        rc = 1;
        goto done;
    }
    if (result->n_faults > 0) {
        for (size_t i = 0; i < result->n_faults; i++)
            fprintf(stderr, "tessera: %s: %s\n", file, result->faults[i]);
        fprintf(stderr, "tessera: %s: nothing was loaded; %s keeps the records it had.\n", file, source);
    } else {
        printf("Loaded %u %s records from %s (replacing %u).\n", result->loaded, source, file,
               result->replaced);
        for (size_t i = 0; i < result->n_notes; i++)
            printf("%s: %s\n", file, result->notes[i]);
        rc = 0;
    }
    tsr__records__family_context_import_result__free_unpacked(result, NULL);
done:
    import__rows_free(&read);
    return rc;
}
