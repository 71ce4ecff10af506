/* report_routes: the API's reports, mapped to the reporting daemon, which builds and renders them
 * (JSON, CSV, HTML, XLSX); this file passes the bytes on with their type and, for a file to keep,
 * its name. */
#ifndef REPORT_ROUTES_H
#define REPORT_ROUTES_H

#include "gateway.h"

/* A report rendered by its daemon, passed on with its type; CSV and XLSX as a download, HTML inline,
 * under filename. */
void gw_reply_rendered(gw_call_t *call, const char *type, const char *filename, const uint8_t *body,
                       size_t len);

/* GET /api/v1/reports/consultations-in-period?start=&end=&format=&limit=&cursor= */
void gw_report_consultations_in_period(gw_call_t *call);
/* GET /api/v1/reports/front-door-dashboard?start=&end= (JSON only) */
void gw_report_front_door_dashboard(gw_call_t *call);

#endif
