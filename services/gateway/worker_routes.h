/* worker_routes: handlers of the calls on workers' accounts (see gw_routes): adding an account,
 * reading one, finding colleagues, and changing roles, teams, manager, managed teams or contract. */
#ifndef GATEWAY_WORKER_ROUTES_H
#define GATEWAY_WORKER_ROUTES_H

#include "accounts.pb-c.h"
#include "gateway.h"

void gw_worker_search(gw_call_t *call);
void gw_worker_create(gw_call_t *call);
void gw_worker_get(gw_call_t *call);
void gw_worker_update(gw_call_t *call);
/* A worker's access prerequisites from obj (the body itself for PUT .../prerequisites), each field
 * named in an error after prefix ("prerequisites." or ""); 0, or -1 having answered 400. The strings
 * point into the request's JSON. */
int gw_prerequisites_read(gw_call_t *call, json_t *obj, const char *prefix,
                          Tsr__Accounts__WorkerPrerequisites *p);

#endif
