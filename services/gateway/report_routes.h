/* report_routes: the API's reports, mapped to the reporting daemon, which builds and renders them
 * (JSON, CSV, HTML, XLSX); this file passes the bytes on with their type and, for a file to keep,
 * its name. */
#ifndef REPORT_ROUTES_H
#define REPORT_ROUTES_H

#include "gateway.h"

/* GET /api/v1/reports/consultations-in-period?start=&end=&format=&limit=&cursor= */
void gw_report_consultations_in_period(gw_call_t *call);

#endif
