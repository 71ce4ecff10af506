/* cpis_routes: CP-IS through the API: the spine poller's batches of access notifications (the
 * cpis-service role), the error queue (system support), and the plan data out (plans, the NHS's
 * demographics, upload files and the national service's responses), mapped to the cpis daemon. */
#ifndef CPIS_ROUTES_H
#define CPIS_ROUTES_H

#include "gateway.h"

/* POST /api/v1/cpis/notifications {"notifications": [...]} */
void gw_cpis_notifications_post(gw_call_t *call);
/* GET /api/v1/cpis/errors?limit=&cursor= */
void gw_cpis_errors(gw_call_t *call);
void gw_cpis_error_retry(gw_call_t *call);
/* POST /api/v1/cpis/errors/{id}/close {reason}: system support take an entry out of the queue */
void gw_cpis_error_close(gw_call_t *call);
/* GET /api/v1/cpis/plans?person_id=&limit=&cursor= · POST /api/v1/cpis/plans ·
 * POST /api/v1/cpis/plans/{id}/end */
void gw_cpis_plans_list(gw_call_t *call);
void gw_cpis_plan_record(gw_call_t *call);
void gw_cpis_plan_end(gw_call_t *call);
/* POST /api/v1/cpis/demographics: the NHS's demographics for a number (a PDS trace) */
void gw_cpis_demographics_record(gw_call_t *call);
/* POST /api/v1/cpis/uploads · GET /api/v1/cpis/uploads · GET /api/v1/cpis/uploads/{n} ·
 * POST /api/v1/cpis/uploads/{n}/response */
void gw_cpis_upload_create(gw_call_t *call);
void gw_cpis_uploads_list(gw_call_t *call);
void gw_cpis_upload_get(gw_call_t *call);
void gw_cpis_upload_response(gw_call_t *call);

#endif
