/* worker_routes: handlers of the calls on workers' accounts (see gw_routes): adding an account,
 * reading one, finding colleagues, changing roles, teams, manager, managed teams or contract,
 * recording access prerequisites and ending a leaver's account. */
#ifndef GATEWAY_WORKER_ROUTES_H
#define GATEWAY_WORKER_ROUTES_H

#include "accounts.pb-c.h"
#include "gateway.h"

void gw_worker_search(gw_call_t *call);
void gw_worker_create(gw_call_t *call);
void gw_worker_get(gw_call_t *call);
void gw_worker_update(gw_call_t *call);
void gw_worker_prerequisites(gw_call_t *call);
void gw_worker_end(gw_call_t *call);

#endif
