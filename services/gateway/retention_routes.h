/* retention_routes: the calls for a record's retention (seed 002: flags at a case's closure, holds
 * for an ongoing inquiry, the records due for disposal), mapped to the records daemon. */
#ifndef GATEWAY_RETENTION_ROUTES_H
#define GATEWAY_RETENTION_ROUTES_H

#include <jansson.h>

#include "gateway.h"
#include "records.pb-c.h"

/* A record's retention as the API shows it (also in GET /api/v1/people/{id}). */
json_t *gw_retention_json(const Tsr__Records__Retention *r);

void gw_retention_schedule(gw_call_t *call);
void gw_retention_flag(gw_call_t *call);
void gw_retention_unflag(gw_call_t *call);
void gw_retention_hold(gw_call_t *call);
void gw_retention_release(gw_call_t *call);
void gw_retention_due(gw_call_t *call);
/* POST /api/v1/people/{id}/disposal: a record due for disposal deleted (seed 002). */
void gw_retention_dispose(gw_call_t *call);

#endif
