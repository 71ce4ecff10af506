#include "addresses.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "people.h"
#include "relations.h"
#include "tsr_envelope.h"
#include "tsr_text.h"

#define ADDRESS_LINES_MAX 5
#define ADDRESS_LINE_MAX 100

#define ADDRESS_COLUMNS                                                                                      \
    "id, person_id, type, array_to_string(lines, E'\\n'), town, postcode, start_date::text,"                 \
    " coalesce(end_date::text, ''), created_by, (extract(epoch FROM created_at) * 1000)::bigint"

static const char *const address_types[] = {"main", "temporary", "correspondence", NULL};

static const char *address__type_words(const char *type)
{
    return strcmp(type, "main") == 0        ? "main address"
           : strcmp(type, "temporary") == 0 ? "temporary address"
                                            : "correspondence address";
}

/* A United Kingdom postcode in any case and spacing ("nw12ab", "NW1 2AB") as it is written, outward
 * code, a space, inward code, at out; 0, or -1 when it is not one. */
static int address__postcode(const char *text, char out[9])
{
    char compact[8];
    size_t n = 0;
    for (const char *p = text; *p; p++) {
        if (*p == ' ')
            continue;
        if (n == 7 || !isalnum((unsigned char)*p))
            return -1;
        compact[n++] = (char)toupper((unsigned char)*p);
    }
    /* The inward code is a digit and two letters; the outward code a letter or two, a digit, and
     * perhaps a letter or digit (A9, A99, A9A, AA9, AA99, AA9A). */
    if (n < 5 || !isdigit((unsigned char)compact[n - 3]) || !isalpha((unsigned char)compact[n - 2]) ||
        !isalpha((unsigned char)compact[n - 1]))
        return -1;
    size_t outward = n - 3;
    if (!isalpha((unsigned char)compact[0]))
        return -1;
    size_t letters = isalpha((unsigned char)compact[1]) ? 2 : 1;
    if (outward < letters + 1 || outward > letters + 2 || !isdigit((unsigned char)compact[letters]))
        return -1;
    snprintf(out, 9, "%.*s %.3s", (int)outward, compact, compact + outward);
    return 0;
}

static void address__from_row(const PGresult *res, int row, Tsr__Records__Address *out, char **lines,
                              size_t *n_lines)
{
    tsr__records__address__init(out);
    out->id = strtoull(PQgetvalue(res, row, 0), NULL, 10);
    out->person_id = strtoull(PQgetvalue(res, row, 1), NULL, 10);
    out->type = PQgetvalue(res, row, 2);
    /* The lines come joined by newlines, which a line never holds; split in place. */
    char *text = PQgetvalue(res, row, 3);
    *n_lines = 0;
    for (char *line = text; *n_lines < ADDRESS_LINES_MAX;) {
        lines[(*n_lines)++] = line;
        char *nl = strchr(line, '\n');
        if (nl == NULL)
            break;
        *nl = '\0';
        line = nl + 1;
    }
    out->lines = lines;
    out->n_lines = *n_lines;
    out->town = PQgetvalue(res, row, 4);
    out->postcode = PQgetvalue(res, row, 5);
    out->start_date = PQgetvalue(res, row, 6);
    out->end_date = PQgetvalue(res, row, 7);
    out->created_by = strtoull(PQgetvalue(res, row, 8), NULL, 10);
    out->created_at_ms = strtoll(PQgetvalue(res, row, 9), NULL, 10);
}

/* Reads rows of ADDRESS_COLUMNS into holder. */
static int address__hold(PGresult *res, records_addresses_t *holder)
{
    holder->res = res;
    holder->n = (size_t)PQntuples(res);
    holder->items = calloc(holder->n + 1, sizeof(*holder->items));
    holder->ptrs = calloc(holder->n + 1, sizeof(*holder->ptrs));
    holder->lines = calloc((holder->n + 1) * ADDRESS_LINES_MAX, sizeof(*holder->lines));
    if (holder->items == NULL || holder->ptrs == NULL || holder->lines == NULL)
        return -1;
    for (size_t i = 0; i < holder->n; i++) {
        size_t n_lines;
        address__from_row(res, (int)i, &holder->items[i], holder->lines + i * ADDRESS_LINES_MAX, &n_lines);
        holder->ptrs[i] = &holder->items[i];
    }
    return 0;
}

void records_addresses_release(records_addresses_t *holder)
{
    free(holder->items);
    free(holder->ptrs);
    free(holder->lines);
    PQclear(holder->res);
    memset(holder, 0, sizeof(*holder));
}

/* Checks the address given, every fault at once; its lines trimmed into lines, the postcode as
 * written into postcode. */
static int address__check(const Tsr__Records__Address *in, char **lines, size_t *n_lines, char *town,
                          size_t town_size, char postcode[9], tsr_error_t *err)
{
    tsr_error_clear(err);
    int known = 0;
    for (size_t i = 0; address_types[i]; i++)
        known |= strcmp(in->type, address_types[i]) == 0;
    if (!known)
        tsr_error_add(err, TSR_E_INVALID, in->type[0] ? "invalid_value" : "missing_field", "type",
                      "Choose the kind of address: main, temporary or correspondence.");
    *n_lines = 0;
    int lines_bad = in->n_lines > ADDRESS_LINES_MAX;
    for (size_t i = 0; i < in->n_lines && !lines_bad; i++) {
        char *line = tsr_text_trim_dup(in->lines[i]);
        if (line == NULL)
            return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
        if (tsr_text_length(line) > ADDRESS_LINE_MAX || tsr_text_has_control(line, 0)) {
            lines_bad = 1;
            free(line);
        } else if (line[0] == '\0') {
            free(line); /* an empty line of a form left blank */
        } else {
            lines[(*n_lines)++] = line;
        }
    }
    if (lines_bad)
        tsr_error_add(err, TSR_E_INVALID, "invalid_value", "lines",
                      "An address has up to %d lines of one line of text each, up to %d characters.",
                      ADDRESS_LINES_MAX, ADDRESS_LINE_MAX);
    else if (*n_lines == 0)
        tsr_error_add(err, TSR_E_INVALID, "missing_field", "lines",
                      "Enter the first line of the address, such as the house number and street.");
    char *t = tsr_text_trim_dup(in->town);
    if (t == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
    if (t[0] == '\0')
        tsr_error_add(err, TSR_E_INVALID, "missing_field", "town", "Enter the town or city.");
    else if (tsr_text_length(t) > ADDRESS_LINE_MAX || tsr_text_has_control(t, 0))
        tsr_error_add(err, TSR_E_INVALID, "invalid_value", "town", "A town is up to %d characters of text.",
                      ADDRESS_LINE_MAX);
    snprintf(town, town_size, "%s", t);
    free(t);
    postcode[0] = '\0';
    if (in->postcode[0] != '\0' && address__postcode(in->postcode, postcode) != 0)
        tsr_error_add(err, TSR_E_INVALID, "invalid_postcode", "postcode",
                      "Enter a real postcode, like NW1 2AB, or leave it empty for an address abroad.");
    tsr_error_t why;
    if (in->start_date[0] == '\0')
        tsr_error_add(err, TSR_E_INVALID, "missing_field", "start_date",
                      "Enter the day the person began to live at the address.");
    else if (tsr_text_check_date(in->start_date, 1, "start_date", &why) != 0)
        tsr_error_add(err, TSR_E_INVALID, why.code, "start_date",
                      strcmp(why.code, "date_in_future") == 0
                          ? "The day they began to live there cannot be after today."
                          : "Enter the day they began to live there as a real date, like 2026-11-25.");
    return tsr_error_gathered(err);
}

int records_address_add(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__Address *in = (const Tsr__Records__Address *)call->payload;
    if (tsr_actor_require_role(call->actor, records_person_writers, "record addresses", err) != 0)
        return -1;
    char *lines[ADDRESS_LINES_MAX] = {0}, town[ADDRESS_LINE_MAX * 4 + 1], postcode[9];
    size_t n_lines = 0;
    int rc = -1;
    char display[256];
    if (address__check(in, lines, &n_lines, town, sizeof(town), postcode, err) != 0 ||
        records_person_require_access(call, in->person_id, "address", display, sizeof(display), err) != 0)
        goto done;
    char person[24], by[24];
    snprintf(person, sizeof(person), "%" PRIu64, in->person_id);
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    char *lines_literal = tsr_text_array_literal((const char *const *)lines, n_lines);
    if (lines_literal == NULL) {
        rc = tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
        goto done;
    }
    /* A new main address ends the current one the day before; one that began on or after this one's
     * start is another matter, for a person to sort out. The person's row locked first, so two
     * moves recorded at once follow each other. */
    if (records_person_lock(call, person, err) != 0) {
        free(lines_literal);
        goto done;
    }
    PGresult *res = NULL;
    if (strcmp(in->type, "main") == 0) {
        const char *params[2] = {person, in->start_date};
        res = tsr_db_exec(
            call->conn,
            "SELECT start_date::text FROM addresses WHERE person_id = $1::bigint AND type = 'main'"
            " AND (end_date IS NULL OR end_date >= $2::date) AND start_date >= $2::date"
            " ORDER BY start_date DESC LIMIT 1",
            2, params, err);
        if (res == NULL) {
            free(lines_literal);
            goto done;
        }
        if (PQntuples(res) > 0) {
            rc = tsr_error_set(err, TSR_E_CONFLICT, "address_overlap", "start_date",
                               "%s's main address since %s began on or after %s: end or correct that one "
                               "first.",
                               display, PQgetvalue(res, 0, 0), in->start_date);
            PQclear(res);
            free(lines_literal);
            goto done;
        }
        PQclear(res);
        res = tsr_db_exec(call->conn,
                          "UPDATE addresses SET end_date = $2::date - 1 WHERE person_id = $1::bigint"
                          " AND type = 'main' AND (end_date IS NULL OR end_date >= $2::date)",
                          2, params, err);
        if (res == NULL) {
            free(lines_literal);
            goto done;
        }
        PQclear(res);
    }
    const char *params[7] = {person, in->type, lines_literal, town, postcode, in->start_date, by};
    res = tsr_db_exec(
        call->conn,
        "INSERT INTO addresses (person_id, type, lines, town, postcode, start_date, created_by)"
        " VALUES ($1::bigint, $2, $3::text[], $4, $5, $6::date, $7::bigint) RETURNING " ADDRESS_COLUMNS,
        7, params, err);
    free(lines_literal);
    if (res == NULL)
        goto done;
    records_addresses_t held = {0};
    if (address__hold(res, &held) != 0) {
        records_addresses_release(&held);
        rc = tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
        goto done;
    }
    char summary[512];
    snprintf(summary, sizeof(summary), "Recorded a %s for %.200s (%" PRIu64 ") from %s",
             address__type_words(in->type), display, in->person_id, in->start_date);
    rc = records_person_audit(call, in->person_id, display, "address-added", summary, err);
    if (rc == 0)
        tsr_call_reply(call, &held.items[0].base);
    records_addresses_release(&held);
done:
    for (size_t i = 0; i < n_lines; i++)
        free(lines[i]);
    return rc;
}

int records_address_end(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__AddressEnd *in = (const Tsr__Records__AddressEnd *)call->payload;
    if (tsr_actor_require_role(call->actor, records_person_writers, "record addresses", err) != 0)
        return -1;
    if (in->end_date[0] != '\0' && tsr_text_check_date(in->end_date, 0, "end_date", err) != 0)
        return -1;
    char display[256];
    if (records_person_require_access(call, in->person_id, "address", display, sizeof(display), err) != 0)
        return -1;
    char person[24], id[24];
    snprintf(person, sizeof(person), "%" PRIu64, in->person_id);
    snprintf(id, sizeof(id), "%" PRIu64, in->address_id);
    const char *params[3] = {person, id, in->end_date[0] ? in->end_date : NULL};
    PGresult *res = tsr_db_exec(call->conn,
                                "SELECT start_date > coalesce($3::date, office_today()) FROM addresses"
                                " WHERE person_id = $1::bigint AND id = $2::bigint AND (end_date IS NULL"
                                " OR end_date >= office_today())",
                                3, params, err);
    if (res == NULL)
        return -1;
    int found = PQntuples(res) > 0, before_start = found && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!found)
        return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", NULL, "%s has no current address %s.",
                             display, id);
    if (before_start)
        return tsr_error_set(err, TSR_E_INVALID, "end_before_start", "end_date",
                             "An address cannot end before the person began to live there.");
    res = tsr_db_exec(call->conn,
                      "UPDATE addresses SET end_date = coalesce($3::date, office_today()) WHERE person_id ="
                      " $1::bigint AND id = $2::bigint RETURNING " ADDRESS_COLUMNS,
                      3, params, err);
    if (res == NULL)
        return -1;
    records_addresses_t held = {0};
    if (address__hold(res, &held) != 0) {
        records_addresses_release(&held);
        return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
    }
    char summary[512];
    snprintf(summary, sizeof(summary), "Ended %s %s of %.200s (%" PRIu64 ") on %s",
             address__type_words(held.items[0].type), id, display, in->person_id, held.items[0].end_date);
    int rc = records_person_audit(call, in->person_id, display, "address-ended", summary, err);
    if (rc == 0)
        tsr_call_reply(call, &held.items[0].base);
    records_addresses_release(&held);
    return rc;
}

static int address__select(tsr_call_t *call, uint64_t person_id, int current_only,
                           records_addresses_t *holder, tsr_error_t *err)
{
    char person[24];
    snprintf(person, sizeof(person), "%" PRIu64, person_id);
    const char *params[1] = {person};
    PGresult *res =
        tsr_db_exec(call->conn,
                    current_only ? "SELECT " ADDRESS_COLUMNS " FROM addresses WHERE person_id = $1::bigint"
                                   " AND (end_date IS NULL OR end_date >= office_today()) ORDER BY "
                                   "start_date DESC, id DESC LIMIT 20"
                                 : "SELECT " ADDRESS_COLUMNS " FROM addresses WHERE person_id = $1::bigint"
                                   " ORDER BY start_date DESC, id DESC LIMIT 500",
                    1, params, err);
    if (res == NULL)
        return -1;
    if (address__hold(res, holder) != 0) {
        records_addresses_release(holder);
        return tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL, "Out of memory.");
    }
    return 0;
}

int records_address_list(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__PersonGet *in = (const Tsr__Records__PersonGet *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    char display[256];
    if (records_person_require_access(call, in->id, "addresses", display, sizeof(display), err) != 0)
        return -1;
    records_addresses_t held = {0};
    if (address__select(call, in->id, 0, &held, err) != 0)
        return -1;
    char summary[512];
    snprintf(summary, sizeof(summary), "Read the addresses of %.200s (%" PRIu64 ")", display, in->id);
    int rc = records_person_audit(call, in->id, display, "addresses-viewed", summary, err);
    if (rc == 0) {
        Tsr__Records__AddressList list = TSR__RECORDS__ADDRESS_LIST__INIT;
        list.person_id = in->id;
        list.items = held.ptrs;
        list.n_items = held.n;
        tsr_call_reply(call, &list.base);
    }
    records_addresses_release(&held);
    return rc;
}

int records_addresses_load(tsr_call_t *call, Tsr__Records__Person *person, records_addresses_t *holder,
                           tsr_error_t *err)
{
    if (address__select(call, person->id, 1, holder, err) != 0)
        return -1;
    person->addresses = holder->ptrs;
    person->n_addresses = holder->n;
    return 0;
}
