/* cpis_routes: CP-IS through the API: the spine poller's batches of access notifications (the
 * cpis-service role) and the error queue (system support), mapped to the cpis daemon. */
#ifndef CPIS_ROUTES_H
#define CPIS_ROUTES_H

#include "gateway.h"

/* POST /api/v1/cpis/notifications {"notifications": [...]} */
void gw_cpis_notifications_post(gw_call_t *call);
/* GET /api/v1/cpis/errors?limit=&cursor= */
void gw_cpis_errors(gw_call_t *call);

#endif
