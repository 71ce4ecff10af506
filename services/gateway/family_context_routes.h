/* family_context_routes: the Family Context calls (seed 004), mapped to the records daemon, which
 * owns the search, the access rule and the audit; this file only shapes JSON. */
#ifndef GATEWAY_FAMILY_CONTEXT_ROUTES_H
#define GATEWAY_FAMILY_CONTEXT_ROUTES_H

#include "gateway.h"

void gw_family_context_search(gw_call_t *call);
void gw_family_context_person(gw_call_t *call);

#endif
