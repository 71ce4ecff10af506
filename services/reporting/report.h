/* report: 'Consultations in period' (seed 000) from the read model: for a period's start and end
 * day, the consultations completed in it, 01 by source of referral, 02 by outcome (a consultation
 * may count under both outcomes or neither), 03 by organisation, and 04 the rows with the seed's
 * columns; as JSON (the API's sections by_source, by_outcome, by_organisation, rows) or laid out
 * as tables for render.h. */
#ifndef REPORTING_REPORT_H
#define REPORTING_REPORT_H

#include "tsr_daemon.h"

/* reporting.local_authority (the name above the report), reporting.report_roles (who may run it),
 * reporting.max_rows (the most rows a whole report, rather than a JSON page, may have). */
int reporting_report_configure(const tsr_config_t *config, tsr_error_t *err);
void reporting_report_free(void);
/* Who may run the reports (reporting.report_roles and the system), NULL-terminated; the authority's
 * name above them. The front-door dashboard shows the report's figures, so the same roles see it. */
const char *const *reporting_report_roles(void);
const char *reporting_report_authority(void);

/* The counts (counts_*) of a period $1 to $2: its whole months and, outside them, its days (see
 * period_parts in the migrations), so that the cost follows the period's length. */
#define REPORTING_COUNTS_IN_PERIOD                                                                           \
    " CROSS JOIN period_parts($1::date, $2::date) AS p"                                                      \
    " WHERE (grain = 'm' AND start >= p.m1 AND start < p.m2)"                                                \
    " OR (grain = 'd' AND start BETWEEN $1::date AND $2::date AND (start < p.m1 OR start >= p.m2))"
/* reporting.consultations_in_period: a tsr.reporting.ReportQuery, answered with ReportOutput. */
int reporting_consultations_in_period(tsr_call_t *call, tsr_error_t *err);
/* reporting.imported_counted: a tsr.reporting.ImportedQuery, answered with ImportedCounted. */
int reporting_imported_counted(tsr_call_t *call, tsr_error_t *err);

#endif
