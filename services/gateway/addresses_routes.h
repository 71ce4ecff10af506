/* addresses_routes: the calls for a person's addresses and their history, mapped to the records
 * daemon. */
#ifndef GATEWAY_ADDRESSES_ROUTES_H
#define GATEWAY_ADDRESSES_ROUTES_H

#include <jansson.h>

#include "gateway.h"
#include "records.pb-c.h"

/* An address as the API shows it (also in GET /api/v1/people/{id}). */
json_t *gw_address_json(const Tsr__Records__Address *a);

void gw_address_add(gw_call_t *call);
void gw_address_end(gw_call_t *call);
void gw_address_list(gw_call_t *call);

#endif
