/* tessera retention due: the records due for disposal on a day (seed 002), for the nightly job that
 * sends each service its list. One line per flag of each record, so that a service sees its own
 * criterion and the record's date beside it; with --service, the records that service flagged. Each
 * record listed is a read of it in the audit trail, as the system's. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "records.pb-c.h"
#include "tsr_text.h"

#define DUE_PAGE 200
#define DUE_TIMEOUT_MS 120000

static int retention__usage(void)
{
    fprintf(stderr,
            "usage: tessera retention due [--on YYYY-MM-DD] [--service CSSW|EH|ASC] --format csv|json "
            "[--output FILE]\n");
    return 2;
}

static int retention__has_service(const Tsr__Records__RetentionDue *d, const char *service)
{
    for (size_t i = 0; i < d->n_flags; i++)
        if (strcmp(d->flags[i]->service, service) == 0)
            return 1;
    return 0;
}

/* Appends one CSV line of cells to *text (grown as needed); 0 or -1 when out of memory. */
static int retention__csv_line(char **text, size_t *len, const char *const *cells, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *field = tsr_text_csv_field(cells[i]);
        if (field == NULL)
            return -1;
        size_t add = strlen(field) + 2;
        char *grown = realloc(*text, *len + add + 1);
        if (grown == NULL) {
            free(field);
            return -1;
        }
        *text = grown;
        *len += (size_t)snprintf(*text + *len, add + 1, "%s%s", field, i + 1 < n ? "," : "\r\n");
        free(field);
    }
    return 0;
}

int cli_retention_due(cli_context_t *ctx, int argc, char **argv)
{
    const char *on = NULL, *service = NULL, *format = NULL, *output = NULL;
    cli_option_t options[] = {
        {"--on", &on, 0}, {"--service", &service, 0}, {"--format", &format, 1}, {"--output", &output, 0}};
    if (cli_read_options(argc, argv, options, sizeof(options) / sizeof(options[0])) != 0)
        return retention__usage();
    if (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0) {
        fprintf(stderr, "tessera: --format must be csv or json, not '%s'\n", format);
        return 2;
    }
    if (service != NULL && strcmp(service, "CSSW") != 0 && strcmp(service, "EH") != 0 &&
        strcmp(service, "ASC") != 0) {
        fprintf(stderr, "tessera: --service must be CSSW, EH or ASC, not '%s'\n", service);
        return 2;
    }
    static const char *const header[] = {"Person ID", "Name",      "Restricted",     "Record kept until",
                                         "Service",   "Criterion", "Case closed on", "Flag kept until"};
    char *csv = NULL;
    size_t csv_len = 0;
    json_t *items = json_array();
    char day[16] = "";
    int rc = 0, records = 0;
    if (retention__csv_line(&csv, &csv_len, header, sizeof(header) / sizeof(header[0])) != 0)
        rc = 1;
    char cursor[32] = "";
    do {
        Tsr__Records__RetentionDueQuery q = TSR__RECORDS__RETENTION_DUE_QUERY__INIT;
        q.on = (char *)(on ? on : "");
        q.limit = DUE_PAGE;
        q.cursor = cursor;
        Tsr__Envelope *reply = NULL;
        tsr_error_t err;
        if (cli_call_timeout(ctx, "records", "records.retention.due", &q.base, DUE_TIMEOUT_MS, &reply,
                             &err) != 0) {
            fprintf(stderr, "tessera: %s%s%s%s\n", err.message, err.field[0] ? " (--" : "", err.field,
                    err.field[0] ? ")" : "");
            rc = 2;
            break;
        }
        Tsr__Records__RetentionDueList *list =
            tsr__records__retention_due_list__unpack(NULL, reply->payload.len, reply->payload.data);
        tsr__envelope__free_unpacked(reply, NULL);
        if (list == NULL) {
            fprintf(stderr, "tessera: the records daemon's answer could not be read\n");
            rc = 2;
            break;
        }
        snprintf(day, sizeof(day), "%s", list->on);
        for (size_t i = 0; i < list->n_items && rc == 0; i++) {
            const Tsr__Records__RetentionDue *d = list->items[i];
            if (service != NULL && !retention__has_service(d, service))
                continue;
            records++;
            char id[24];
            snprintf(id, sizeof(id), "%llu", (unsigned long long)d->person_id);
            json_t *flags = json_array();
            for (size_t f = 0; f < d->n_flags && rc == 0; f++) {
                const Tsr__Records__RetentionFlag *flag = d->flags[f];
                const char *cells[] = {id,
                                       d->display_name,
                                       d->restricted ? "yes" : "no",
                                       d->keep_until,
                                       flag->service,
                                       flag->criterion_title,
                                       flag->closed_on,
                                       flag->keep_until};
                if (retention__csv_line(&csv, &csv_len, cells, sizeof(cells) / sizeof(cells[0])) != 0)
                    rc = 1;
                json_array_append_new(flags, json_pack("{s:s, s:s, s:s, s:s, s:s}", "service", flag->service,
                                                       "criterion", flag->criterion, "criterion_title",
                                                       flag->criterion_title, "closed_on", flag->closed_on,
                                                       "keep_until", flag->keep_until));
            }
            json_array_append_new(items,
                                  json_pack("{s:s, s:s, s:b, s:s, s:o}", "person_id", id, "display_name",
                                            d->display_name, "restricted", d->restricted, "keep_until",
                                            d->keep_until, "flags", flags));
        }
        snprintf(cursor, sizeof(cursor), "%s", list->next_cursor);
        tsr__records__retention_due_list__free_unpacked(list, NULL);
    } while (rc == 0 && cursor[0] != '\0');
    if (rc == 1)
        fprintf(stderr, "tessera: out of memory\n");
    if (rc == 0) {
        if (strcmp(format, "csv") == 0) {
            rc = cli_write_output(output, (const uint8_t *)csv, csv_len);
        } else {
            json_t *doc = json_pack("{s:s, s:s?, s:O}", "on", day, "service", service, "items", items);
            char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            json_decref(doc);
            if (text == NULL) {
                fprintf(stderr, "tessera: out of memory\n");
                rc = 1;
            } else {
                size_t n = strlen(text);
                text[n] = '\n';
                rc = cli_write_output(output, (const uint8_t *)text, n + 1);
                free(text);
            }
        }
        if (rc == 0 && cli_output_is_file(output))
            fprintf(stderr, "tessera: %d record%s due for disposal on %s written to %s\n", records,
                    records == 1 ? "" : "s", day, output);
    }
    json_decref(items);
    free(csv);
    return rc;
}
