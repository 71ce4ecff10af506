#include "addresses_routes.h"

json_t *gw_address_json(const Tsr__Records__Address *a)
{
    json_t *lines = json_array();
    for (size_t i = 0; i < a->n_lines; i++)
        json_array_append_new(lines, json_string(a->lines[i]));
    return json_pack("{s:o, s:o, s:s, s:o, s:s, s:s, s:s, s:o, s:o, s:o}", "id", gw_json_id(a->id),
                     "person_id", gw_json_id(a->person_id), "type", a->type, "lines", lines, "town", a->town,
                     "postcode", a->postcode, "start_date", a->start_date, "end_date",
                     a->end_date[0] ? json_string(a->end_date) : json_null(), "created_by",
                     gw_json_id(a->created_by), "created_at", gw_json_time(a->created_at_ms));
}

static void addresses__one(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                           const tsr_error_t *err, int status)
{
    Tsr__Records__Address *a = (Tsr__Records__Address *)gw_reply_unpack(call, daemon, reply, err,
                                                                        &tsr__records__address__descriptor);
    if (a == NULL)
        return;
    json_t *body = gw_address_json(a);
    tsr__records__address__free_unpacked(a, NULL);
    gw_reply_json(call, status, body);
}

static void addresses__added(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                             const tsr_error_t *err)
{
    addresses__one(call, daemon, reply, err, 201);
}

static void addresses__ended(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                             const tsr_error_t *err)
{
    addresses__one(call, daemon, reply, err, 200);
}

void gw_address_add(gw_call_t *call)
{
    static const char *const fields[] = {"type", "lines", "town", "postcode", "start_date", NULL};
    Tsr__Records__Address req = TSR__RECORDS__ADDRESS__INIT;
    const char *type, *town, *postcode, *start;
    char *lines[5];
    size_t n_lines = 0;
    /* Every member optional here: the records daemon names every fault of the address at once. */
    if (gw_path_id(call, 0, &req.person_id) != 0 || gw_json_check_object(call, fields) != 0 ||
        gw_json_string(call, "type", 0, &type) != 0 ||
        gw_json_member_strings(call, NULL, "lines", lines, 5, &n_lines) != 0 ||
        gw_json_string(call, "town", 0, &town) != 0 || gw_json_string(call, "postcode", 0, &postcode) != 0 ||
        gw_json_string(call, "start_date", 0, &start) != 0)
        return;
    req.type = (char *)type;
    req.lines = lines;
    req.n_lines = n_lines;
    req.town = (char *)town;
    req.postcode = (char *)postcode;
    req.start_date = (char *)start;
    gw_call_daemon(call, "records", "records.address.add", &req.base, addresses__added);
}

void gw_address_end(gw_call_t *call)
{
    static const char *const fields[] = {"end_date", NULL};
    Tsr__Records__AddressEnd req = TSR__RECORDS__ADDRESS_END__INIT;
    const char *end;
    if (gw_path_id(call, 0, &req.person_id) != 0 || gw_path_id(call, 1, &req.address_id) != 0 ||
        gw_json_check_object(call, fields) != 0 || gw_json_string(call, "end_date", 0, &end) != 0)
        return;
    req.end_date = (char *)end;
    gw_call_daemon(call, "records", "records.address.end", &req.base, addresses__ended);
}

static void addresses__listed(gw_call_t *call, const char *daemon, const Tsr__Envelope *reply,
                              const tsr_error_t *err)
{
    Tsr__Records__AddressList *list = (Tsr__Records__AddressList *)gw_reply_unpack(
        call, daemon, reply, err, &tsr__records__address_list__descriptor);
    if (list == NULL)
        return;
    json_t *items = json_array();
    for (size_t i = 0; i < list->n_items; i++)
        json_array_append_new(items, gw_address_json(list->items[i]));
    tsr__records__address_list__free_unpacked(list, NULL);
    gw_reply_json(call, 200, json_pack("{s:o}", "items", items));
}

void gw_address_list(gw_call_t *call)
{
    Tsr__Records__PersonGet req = TSR__RECORDS__PERSON_GET__INIT;
    if (gw_path_id(call, 0, &req.id) != 0)
        return;
    gw_call_daemon(call, "records", "records.address.list", &req.base, addresses__listed);
}
