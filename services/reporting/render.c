#include "render.h"
#include "tsr_text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xlsxwriter.h>

/* ------------------------------------------------------------------------------------------------
 * A growing buffer
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len, cap;
    int failed;
} render_buf_t;

static void render__put(render_buf_t *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *bigger = realloc(b->data, cap);
        if (bigger == NULL) {
            b->failed = 1;
            return;
        }
        b->data = bigger;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void render__puts(render_buf_t *b, const char *s)
{
    render__put(b, s, strlen(s));
}

static int render__done(render_buf_t *b, unsigned char **out, size_t *len, tsr_error_t *err)
{
    if (b->failed) {
        free(b->data);
        return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL,
                             "Out of memory while writing the report.");
    }
    render__put(b, "", 0);
    *out = (unsigned char *)b->data;
    *len = b->len;
    return 0;
}

/* s as a file may hold it (tsr_text_replace_non_text): what was kept before text was checked for
 * noncharacters, or came by another way, shows as U+FFFD rather than break the file. Malloc'd; NULL
 * (and the buffer failed) when out of memory. */
static char *render__shown(int *failed, const char *s)
{
    char *shown = tsr_text_replace_non_text(s ? s : "");
    if (shown == NULL)
        *failed = 1;
    return shown;
}

/* A cell's text: a string as it is, an integer in decimal. */
static const char *render__cell(const json_t *cell, char buf[32])
{
    if (json_is_integer(cell)) {
        snprintf(buf, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(cell));
        return buf;
    }
    const char *s = json_string_value(cell);
    return s ? s : "";
}

/* ------------------------------------------------------------------------------------------------
 * CSV (RFC 4180)
 * ---------------------------------------------------------------------------------------------- */

static void render__csv_field(render_buf_t *b, const char *s)
{
    char *shown = render__shown(&b->failed, s);
    char *field = shown ? tsr_text_csv_field(shown) : NULL;
    free(shown);
    if (field == NULL) {
        b->failed = 1;
        return;
    }
    render__puts(b, field);
    free(field);
}

static void render__csv_row(render_buf_t *b, const json_t *cells)
{
    size_t i;
    const json_t *cell;
    char buf[32];
    json_array_foreach(cells, i, cell)
    {
        if (i > 0)
            render__put(b, ",", 1);
        render__csv_field(b, render__cell(cell, buf));
    }
    render__put(b, "\r\n", 2);
}

static int render__csv(const json_t *layout, unsigned char **out, size_t *len, tsr_error_t *err)
{
    render_buf_t b = {0};
    size_t i, j;
    const json_t *line, *table, *row;
    render__puts(&b, TSR_TEXT_CSV_BOM);
    json_array_foreach(json_object_get(layout, "heading"), i, line)
    {
        render__csv_field(&b, json_string_value(line));
        render__put(&b, "\r\n", 2);
    }
    json_array_foreach(json_object_get(layout, "tables"), i, table)
    {
        render__put(&b, "\r\n", 2);
        render__csv_field(&b, json_string_value(json_object_get(table, "title")));
        render__put(&b, "\r\n", 2);
        render__csv_row(&b, json_object_get(table, "columns"));
        json_array_foreach(json_object_get(table, "rows"), j, row)
        {
            render__csv_row(&b, row);
        }
    }
    return render__done(&b, out, len, err);
}

/* ------------------------------------------------------------------------------------------------
 * HTML: one page that prints as it shows
 * ---------------------------------------------------------------------------------------------- */

static void render__html_text(render_buf_t *b, const char *s)
{
    char *shown = render__shown(&b->failed, s);
    for (const char *p = shown ? shown : ""; *p; p++) {
        switch (*p) {
        case '&':
            render__puts(b, "&amp;");
            break;
        case '<':
            render__puts(b, "&lt;");
            break;
        case '>':
            render__puts(b, "&gt;");
            break;
        case '"':
            render__puts(b, "&quot;");
            break;
        case '\'':
            render__puts(b, "&#39;");
            break;
        default:
            render__put(b, p, 1);
        }
    }
    free(shown);
}

static void render__html_element(render_buf_t *b, const char *tag, const char *text)
{
    render__puts(b, "<");
    render__puts(b, tag);
    render__puts(b, ">");
    render__html_text(b, text);
    render__puts(b, "</");
    render__puts(b, tag);
    render__puts(b, ">\n");
}

static int render__html(const json_t *layout, unsigned char **out, size_t *len, tsr_error_t *err)
{
    render_buf_t b = {0};
    const json_t *heading = json_object_get(layout, "heading");
    render__puts(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
    render__html_text(&b, json_string_value(json_array_get(heading, 0)));
    render__puts(
        &b,
        "</title>\n<style>\n"
        "body { font-family: Arial, Helvetica, sans-serif; margin: 2em; }\n"
        "table { border-collapse: collapse; margin-bottom: 2em; }\n"
        "th, td { border: 1px solid #999; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }\n"
        "th { background: #eee; }\n"
        "td.number { text-align: right; }\n"
        "</style>\n</head>\n<body>\n");
    size_t i, j, k;
    const json_t *line, *table, *row, *cell;
    json_array_foreach(heading, i, line)
    {
        render__html_element(&b, i == 0 ? "h1" : i == 1 ? "h2" : "p", json_string_value(line));
    }
    json_array_foreach(json_object_get(layout, "tables"), i, table)
    {
        render__html_element(&b, "h3", json_string_value(json_object_get(table, "title")));
        render__puts(&b, "<table>\n<thead>\n<tr>");
        json_array_foreach(json_object_get(table, "columns"), j, cell)
        {
            render__puts(&b, "<th scope=\"col\">");
            render__html_text(&b, json_string_value(cell));
            render__puts(&b, "</th>");
        }
        render__puts(&b, "</tr>\n</thead>\n<tbody>\n");
        json_array_foreach(json_object_get(table, "rows"), j, row)
        {
            render__puts(&b, "<tr>");
            json_array_foreach(row, k, cell)
            {
                char buf[32];
                render__puts(&b, json_is_integer(cell) ? "<td class=\"number\">" : "<td>");
                render__html_text(&b, render__cell(cell, buf));
                render__puts(&b, "</td>");
            }
            render__puts(&b, "</tr>\n");
        }
        render__puts(&b, "</tbody>\n</table>\n");
    }
    render__puts(&b, "</body>\n</html>\n");
    return render__done(&b, out, len, err);
}

/* ------------------------------------------------------------------------------------------------
 * XLSX (libxlsxwriter): one worksheet laid out as the CSV is
 * ---------------------------------------------------------------------------------------------- */

static int render__read_file(const char *path, unsigned char **out, size_t *len, tsr_error_t *err)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (f == NULL || fstat(fileno(f), &st) != 0) {
        if (f)
            fclose(f);
        return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL,
                             "The XLSX file could not be read back: %s.", strerror(errno));
    }
    *len = (size_t)st.st_size;
    *out = malloc(*len ? *len : 1);
    size_t got = *out ? fread(*out, 1, *len, f) : 0;
    fclose(f);
    if (*out == NULL || got != *len) {
        free(*out);
        *out = NULL;
        return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL, "The XLSX file could not be read back.");
    }
    return 0;
}

/* A cell of a table's date column: a YYYY-MM-DD date written as an XLSX date; anything else (an
 * empty cell, a value that is not a date) as it is. */
static int render__xlsx_date(const json_t *table, size_t column, const json_t *cell, lxw_datetime *date)
{
    const json_t *index;
    size_t i;
    int is_date_column = 0;
    json_array_foreach(json_object_get(table, "dates"), i, index)
    {
        if (json_is_integer(index) && (size_t)json_integer_value(index) == column)
            is_date_column = 1;
    }
    const char *text = json_string_value(cell);
    int year, month, day;
    if (!is_date_column || text == NULL || strlen(text) != 10 ||
        tsr_text_date_parts(text, &year, &month, &day) != 0)
        return 0;
    *date = (lxw_datetime){.year = year, .month = month, .day = day};
    return 1;
}

/* A string cell. libxlsxwriter puts a cell's text into the sheet's XML as it is given (C0 controls
 * aside): one U+FFFE in a referrer's name made the whole workbook unreadable, Excel saying it had a
 * problem and LibreOffice dropping every row after it. */
static void render__xlsx_string(lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, const char *text,
                                lxw_format *format, int *failed)
{
    char *shown = render__shown(failed, text);
    if (shown != NULL)
        worksheet_write_string(ws, row, col, shown, format);
    free(shown);
}

static int render__xlsx(const json_t *layout, unsigned char **out, size_t *len, tsr_error_t *err)
{
    /* libxlsxwriter writes a file: a private one in the temporary directory, read back and removed. */
    const char *tmp = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof(path), "%s/tessera-report-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL,
                             "No temporary file for the XLSX report: %s.", strerror(errno));
    close(fd);
    /* Rows are written in order, so constant memory mode keeps a big report out of memory. */
    lxw_workbook_options options = {.constant_memory = LXW_TRUE, .tmpdir = NULL};
    lxw_workbook *wb = workbook_new_opt(path, &options);
    if (wb == NULL) {
        unlink(path);
        return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL,
                             "The XLSX workbook could not be started.");
    }
    const char *sheet_name = json_string_value(json_object_get(layout, "sheet"));
    lxw_worksheet *ws = workbook_add_worksheet(wb, sheet_name ? sheet_name : "Report");
    lxw_format *bold = workbook_add_format(wb);
    format_set_bold(bold);
    lxw_format *title = workbook_add_format(wb);
    format_set_bold(title);
    format_set_font_size(title, 14);
    lxw_format *day = workbook_add_format(wb);
    format_set_num_format(day, "dd/mm/yyyy");
    lxw_row_t r = 0;
    int failed = 0;
    size_t i, j, k;
    const json_t *line, *table, *row, *cell;
    /* Widths before any row: the first four columns carry names and sources. */
    worksheet_set_column(ws, 0, 0, 40, NULL);
    worksheet_set_column(ws, 1, 10, 22, NULL);
    json_array_foreach(json_object_get(layout, "heading"), i, line)
    {
        render__xlsx_string(ws, r++, 0, json_string_value(line), i == 0 ? title : bold, &failed);
    }
    json_array_foreach(json_object_get(layout, "tables"), i, table)
    {
        r++;
        render__xlsx_string(ws, r++, 0, json_string_value(json_object_get(table, "title")), bold, &failed);
        json_array_foreach(json_object_get(table, "columns"), j, cell)
        {
            render__xlsx_string(ws, r, (lxw_col_t)j, json_string_value(cell), bold, &failed);
        }
        r++;
        json_array_foreach(json_object_get(table, "rows"), j, row)
        {
            json_array_foreach(row, k, cell)
            {
                lxw_datetime date;
                if (render__xlsx_date(table, k, cell, &date))
                    worksheet_write_datetime(ws, r, (lxw_col_t)k, &date, day);
                else if (json_is_integer(cell))
                    worksheet_write_number(ws, r, (lxw_col_t)k, (double)json_integer_value(cell), NULL);
                else if (json_string_length(cell) > 0)
                    render__xlsx_string(ws, r, (lxw_col_t)k, json_string_value(cell), NULL, &failed);
            }
            r++;
        }
    }
    lxw_error rc = workbook_close(wb);
    if (failed) {
        unlink(path);
        return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL,
                             "Out of memory while writing the report.");
    }
    if (rc != LXW_NO_ERROR) {
        unlink(path);
        return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL,
                             "The XLSX workbook could not be written: %s.", lxw_strerror(rc));
    }
    int read = render__read_file(path, out, len, err);
    unlink(path);
    return read;
}

int reporting_render(const json_t *layout, const char *format, unsigned char **out, size_t *len,
                     tsr_error_t *err)
{
    *out = NULL;
    *len = 0;
    if (strcmp(format, "csv") == 0)
        return render__csv(layout, out, len, err);
    if (strcmp(format, "html") == 0)
        return render__html(layout, out, len, err);
    if (strcmp(format, "xlsx") == 0)
        return render__xlsx(layout, out, len, err);
    return tsr_error_set(err, TSR_E_INVALID, "invalid_format", "format",
                         "format must be json, csv, html or xlsx.");
}

const char *reporting_render_content_type(const char *format)
{
    if (strcmp(format, "csv") == 0)
        return "text/csv; charset=utf-8";
    if (strcmp(format, "html") == 0)
        return "text/html; charset=utf-8";
    if (strcmp(format, "xlsx") == 0)
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    return "application/json; charset=utf-8";
}
