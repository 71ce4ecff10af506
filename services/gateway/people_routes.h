/* people_routes: handlers of the people, restriction and allocation calls (see gw_routes). */
#ifndef GATEWAY_PEOPLE_ROUTES_H
#define GATEWAY_PEOPLE_ROUTES_H

#include "gateway.h"

void gw_person_create(gw_call_t *call);
void gw_person_get(gw_call_t *call);
void gw_person_search(gw_call_t *call);
void gw_person_restrict(gw_call_t *call);
void gw_person_unrestrict(gw_call_t *call);
void gw_person_nhs_number_set(gw_call_t *call);
void gw_person_details_set(gw_call_t *call);
void gw_person_birth_record(gw_call_t *call);
void gw_restrictions_due(gw_call_t *call);
/* GET /api/v1/leavers/allocations: people still allocated to a key worker who has left. */
void gw_leavers_allocations(gw_call_t *call);
void gw_allocation_add(gw_call_t *call);
void gw_allocation_end(gw_call_t *call);
void gw_relationship_add(gw_call_t *call);
void gw_person_merge(gw_call_t *call);
void gw_case_note_add(gw_call_t *call);
void gw_case_note_remove(gw_call_t *call);
void gw_case_note_list(gw_call_t *call);
void gw_conflict_declare(gw_call_t *call);

void gw_involvement_add(gw_call_t *call);
void gw_involvement_end(gw_call_t *call);
void gw_involvement_list(gw_call_t *call);

#endif
