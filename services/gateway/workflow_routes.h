/* workflow_routes: the API's calls for work steps, requests and workviews, mapped to the workflow
 * daemon. The daemon shapes the views (they follow each step type's definition); this file turns
 * JSON bodies into its commands. */
#ifndef WORKFLOW_ROUTES_H
#define WORKFLOW_ROUTES_H

#include "gateway.h"

void gw_step_start(gw_call_t *call);
void gw_step_get(gw_call_t *call);
void gw_steps_by_subject(gw_call_t *call);
void gw_section_save(gw_call_t *call);
void gw_request_raise(gw_call_t *call);
void gw_recipients(gw_call_t *call);
void gw_request_complete(gw_call_t *call);
void gw_request_return(gw_call_t *call);
void gw_request_acknowledge(gw_call_t *call);
void gw_step_assign(gw_call_t *call);
void gw_steps_assign(gw_call_t *call);
void gw_step_resume(gw_call_t *call);
void gw_step_reopen(gw_call_t *call);
void gw_step_finish(gw_call_t *call);
void gw_step_cancel(gw_call_t *call);
void gw_step_delete(gw_call_t *call);
void gw_workview(gw_call_t *call);
void gw_definitions(gw_call_t *call);
/* GET /api/v1/leavers: leavers whose folders still hold work (managers, system support). */
void gw_leavers(gw_call_t *call);
/* Replies with body (a summary page) and, under "steps", the work steps about the subject from the
 * workflow daemon. If the workflow daemon cannot answer, the page is still given, with "steps" null
 * and "steps_unavailable" saying why: the details are worth having on their own. Steals body. */
void gw_reply_with_steps(gw_call_t *call, json_t *body, const char *kind, uint64_t id, int status);

#endif
