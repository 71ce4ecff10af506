#include "organisations.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "records.pb-c.h"
#include "tsr_envelope.h"
#include "tsr_text.h"

#define ORG_NAME_MAX 200
#define ORG_ADDRESS_MAX 500
#define ORG_COLUMNS                                                                                          \
    "id, name, address, telephone, (extract(epoch FROM created_at) * 1000)::bigint, created_by"

static const char *const organisation_creators[] = {"admin", "system-support", "system", NULL};

static void organisation__from_row(const PGresult *res, int row, Tsr__Records__Organisation *org)
{
    tsr__records__organisation__init(org);
    org->id = strtoull(PQgetvalue(res, row, 0), NULL, 10);
    org->name = PQgetvalue(res, row, 1);
    org->address = PQgetvalue(res, row, 2);
    org->telephone = PQgetvalue(res, row, 3);
    org->created_at_ms = strtoll(PQgetvalue(res, row, 4), NULL, 10);
    org->created_by = strtoull(PQgetvalue(res, row, 5), NULL, 10);
}

/* Every fault of the new organisation's details, gathered in the form's order. */
static int organisation__validate(const Tsr__Records__OrganisationCreate *in, tsr_error_t *err)
{
    tsr_error_clear(err);
    if (tsr_text_trimmed_length(in->name) == 0)
        tsr_error_add(err, TSR_E_INVALID, "missing_field", "name", "Enter the organisation's name.");
    else if (tsr_text_length(in->name) > ORG_NAME_MAX)
        tsr_error_add(err, TSR_E_INVALID, "too_long", "name",
                      "The organisation's name must be %d characters or fewer.", ORG_NAME_MAX);
    else if (tsr_text_has_control(in->name, 0)) {
        char words[48];
        tsr_error_add(err, TSR_E_INVALID, "invalid_characters", "name",
                      "The organisation's name holds %s: take it out.",
                      tsr_text_control_words(tsr_text_first_control(in->name, 0), words, sizeof(words)));
    } else if (tsr_text_has_invisible(in->name))
        tsr_error_add(err, TSR_E_INVALID, "invalid_characters", "name",
                      "The organisation's name must not contain zero-width spaces or marks of the text's "
                      "direction.");
    if (tsr_text_length(in->address) > ORG_ADDRESS_MAX)
        tsr_error_add(err, TSR_E_INVALID, "too_long", "address",
                      "The address must be %d characters or fewer.", ORG_ADDRESS_MAX);
    else if (tsr_text_has_control(in->address, 1))
        tsr_error_add(err, TSR_E_INVALID, "invalid_characters", "address",
                      "The address must not contain control characters other than line breaks.");
    if (in->telephone[0] != '\0' && !tsr_text_is_telephone(in->telephone))
        tsr_error_add(err, TSR_E_INVALID, "invalid_telephone", "telephone",
                      "Enter a telephone number like 020 7974 4444 or +44 20 7974 4444.");
    return tsr_error_gathered(err);
}

int records_organisation_create(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__OrganisationCreate *in = (const Tsr__Records__OrganisationCreate *)call->payload;
    if (tsr_actor_require_role(call->actor, organisation_creators, "add organisations", err) != 0)
        return -1;
    if (organisation__validate(in, err) != 0)
        return -1;
    if (in->id != 0 && !tsr_actor_is_system(call->actor))
        return tsr_error_set(err, TSR_E_INVALID, "id_not_allowed", "id",
                             "An organisation's id is given by the system; leave it out.");

    char *name = tsr_text_trim_dup(in->name);
    char *address = tsr_text_trim_dup(in->address);
    char *telephone = tsr_text_trim_dup(in->telephone);
    char id[32], by[32];
    snprintf(id, sizeof(id), "%" PRIu64, in->id);
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    const char *params[5] = {name, address, telephone, by, id};
    PGresult *res;
    int rc = -1;
    if (in->id == 0) {
        res = tsr_db_exec(call->conn,
                          "INSERT INTO organisations (name, address, telephone, created_by)"
                          " VALUES ($1, $2, $3, $4::bigint) RETURNING " ORG_COLUMNS,
                          4, params, err);
    } else {
        /* A legacy import: the same id again is the same organisation, not a new one. */
        res = tsr_db_exec(call->conn,
                          "INSERT INTO organisations (id, name, address, telephone, created_by)"
                          " VALUES ($5::bigint, $1, $2, $3, $4::bigint) ON CONFLICT (id) DO NOTHING"
                          " RETURNING " ORG_COLUMNS,
                          5, params, err);
        if (res != NULL && PQntuples(res) == 0) {
            PQclear(res);
            const char *by_id[1] = {id};
            res = tsr_db_exec(call->conn, "SELECT " ORG_COLUMNS " FROM organisations WHERE id = $1::bigint",
                              1, by_id, err);
            if (res != NULL) {
                Tsr__Records__Organisation org;
                organisation__from_row(res, 0, &org);
                tsr_call_reply(call, &org.base);
                rc = 0;
            }
            goto done;
        }
    }
    if (res == NULL)
        goto done;
    Tsr__Records__Organisation org;
    organisation__from_row(res, 0, &org);
    Tsr__Records__OrganisationCreated created = TSR__RECORDS__ORGANISATION_CREATED__INIT;
    created.organisation = &org;
    if (tsr_call_emit(call, "records.organisation.created", &created.base, err) != 0)
        goto done;
    tsr_call_reply(call, &org.base);
    rc = 0;
done:
    PQclear(res);
    free(name);
    free(address);
    free(telephone);
    return rc;
}

int records_organisation_get(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__OrganisationGet *in = (const Tsr__Records__OrganisationGet *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    char id[32];
    snprintf(id, sizeof(id), "%" PRIu64, in->id);
    const char *params[1] = {id};
    PGresult *res = tsr_db_exec(call->conn, "SELECT " ORG_COLUMNS " FROM organisations WHERE id = $1::bigint",
                                1, params, err);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", NULL, "There is no organisation with id %s.",
                             id);
    }
    Tsr__Records__Organisation org;
    organisation__from_row(res, 0, &org);
    /* The view is recorded in the same transaction as the read: no read without its audit event. */
    Tsr__Records__OrganisationViewed viewed = TSR__RECORDS__ORGANISATION_VIEWED__INIT;
    viewed.organisation_id = org.id;
    viewed.organisation_name = org.name;
    int rc = tsr_call_emit(call, "records.organisation.viewed", &viewed.base, err);
    if (rc == 0)
        tsr_call_reply(call, &org.base);
    PQclear(res);
    return rc;
}

int records_organisation_search(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Records__OrganisationSearch *in = (const Tsr__Records__OrganisationSearch *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    uint32_t limit = in->limit == 0 ? 50 : in->limit;
    if (limit > 200)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_limit", "limit", "limit must be from 1 to 200.");
    char *q = tsr_text_trim_dup(in->q);
    char *pattern = tsr_text_like_pattern(q);
    const char *cursor = in->cursor;
    if (cursor[0] != '\0' && !tsr_text_is_hex(cursor)) {
        free(q);
        free(pattern);
        return tsr_error_set(err, TSR_E_INVALID, "invalid_cursor", "cursor",
                             "The cursor is not one this service gave out; start again without it.");
    }
    char lim[16];
    snprintf(lim, sizeof(lim), "%u", limit + 1);
    const char *params[4] = {q, pattern, cursor, lim};
    /* Keyset paging on (lower(name), id): the cursor is the last row's key, hex-encoded. */
    PGresult *res = tsr_db_exec(call->conn,
                                "SELECT " ORG_COLUMNS
                                ", encode(convert_to(lower(name) || chr(31) || id::text, 'UTF8'), 'hex')"
                                " FROM organisations"
                                " WHERE ($1 = '' OR name ILIKE $2 OR id::text = $1)"
                                "   AND ($3 = '' OR (lower(name), id) > (split_part(convert_from(decode($3, "
                                "'hex'), 'UTF8'), chr(31), 1),"
                                "                                   split_part(convert_from(decode($3, "
                                "'hex'), 'UTF8'), chr(31), 2)::bigint))"
                                " ORDER BY lower(name), id LIMIT $4::int",
                                4, params, err);
    free(q);
    free(pattern);
    if (res == NULL) {
        if (cursor[0] != '\0' && err->status == TSR_E_INTERNAL)
            return tsr_error_set(err, TSR_E_INVALID, "invalid_cursor", "cursor",
                                 "The cursor is not one this service gave out; start again without it.");
        return -1;
    }
    int rows = PQntuples(res);
    int shown = rows > (int)limit ? (int)limit : rows;
    Tsr__Records__OrganisationList list = TSR__RECORDS__ORGANISATION_LIST__INIT;
    Tsr__Records__Organisation *orgs = calloc(shown ? (size_t)shown : 1, sizeof(*orgs));
    Tsr__Records__Organisation **items = calloc(shown ? (size_t)shown : 1, sizeof(*items));
    if (orgs == NULL || items == NULL) {
        free(orgs);
        free(items);
        PQclear(res);
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL,
                             "Out of memory listing organisations.");
    }
    for (int i = 0; i < shown; i++) {
        organisation__from_row(res, i, &orgs[i]);
        items[i] = &orgs[i];
    }
    list.n_items = (size_t)shown;
    list.items = items;
    list.next_cursor = rows > (int)limit ? PQgetvalue(res, shown - 1, 6) : "";
    tsr_call_reply(call, &list.base);
    free(orgs);
    free(items);
    PQclear(res);
    return 0;
}
