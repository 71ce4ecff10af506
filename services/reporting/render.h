/* render: a report laid out as tables, written as CSV, HTML or XLSX. Every report gives the same
 * layout, so a new report needs no new output code:
 *
 *   {"sheet": "Consultations in period",                 (the XLSX worksheet's name)
 *    "heading": ["London Borough of ... - ...", ...],    (lines above the tables)
 *    "tables": [{"title": "01 ...", "columns": ["Source of contact", "Count"],
 *                "rows": [["SCHOOLS", 1], ...],
 *                "dates": [4, 5]}, ...]}                   (optional: columns of YYYY-MM-DD dates)
 *
 * A cell is a string or an integer (written as a number where the format has numbers). A date
 * column's cells are written in XLSX as dates (shown dd/mm/yyyy), so that a manager can sort and
 * filter them; CSV and HTML keep the text. */
#ifndef REPORTING_RENDER_H
#define REPORTING_RENDER_H

#include <jansson.h>
#include <stddef.h>

#include "tsr_error.h"

/* format is csv, html or xlsx; *out (malloc'd, the caller frees it) and *len are the file. */
int reporting_render(const json_t *layout, const char *format, unsigned char **out, size_t *len,
                     tsr_error_t *err);
/* The Content-Type of a format (json too). */
const char *reporting_render_content_type(const char *format);

#endif
