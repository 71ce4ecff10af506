/* dashboard: the front-door dashboard (seed 000: the 'Consultations in period' figures "will be
 * available as part of the front door dashboard"): for the front door's managers, the Front Door
 * Consultation work as it stands now (started today and this week, the open ones by where they wait
 * and the oldest of them, the CP-IS Worker's queue) and over a period (finished by outcome and by
 * source, and the time from start to decision), from the read model only. */
#ifndef REPORTING_DASHBOARD_H
#define REPORTING_DASHBOARD_H

#include "tsr_daemon.h"

/* reporting.front_door_dashboard: a tsr.reporting.DashboardQuery, answered with ReportOutput (JSON). */
int reporting_front_door_dashboard(tsr_call_t *call, tsr_error_t *err);

#endif
