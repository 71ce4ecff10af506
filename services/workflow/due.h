/* due: when a piece of work falls due, counted in working hours where its definition says so
 * (seed 003: safeguarding admin works the CP-IS queue 09:30-16:30 Monday to Friday), and the days the
 * office is shut (workflow.closed_days: bank holidays, a Christmas closure), which count as no working
 * time. Times are Unix ms; the calendar is read in the process's local time zone (workflow.timezone,
 * Europe/London by default), so a working day starts at 09:30 on the clock on the office wall,
 * summer or winter. */
#ifndef WF_DUE_H
#define WF_DUE_H

#include <stddef.h>
#include <stdint.h>

#include "tsr_config.h"
#include "tsr_error.h"

typedef struct {
    int days;         /* bit 0 Sunday ... bit 6 Saturday */
    int start_minute; /* minutes after midnight */
    int end_minute;
    const int32_t *closed; /* days the office is shut, as days since 1970-01-01 on its calendar,
                            * ascending; NULL when none */
    size_t n_closed;
} wf_calendar_t;

/* Reads a list of closed days: dates (2026-12-25) and closures of several days, both ends included
 * (2026-12-29..2026-12-31), separated by commas. 0 with *out (ascending, each day once; the caller
 * frees it) and *n; -1 with err naming key and the item at fault. */
int wf_due_parse_closed_days(const char *key, const char *list, int32_t **out, size_t *n, tsr_error_t *err);
/* Reads workflow.closed_days for every due time this process works out (wf_due_closed_days), after
 * the office's time zone is set; warns when it lists no day in the coming year. 0, or -1 with err. */
int wf_due_configure(const tsr_config_t *config, tsr_error_t *err);
/* Sets tessera_workflow_closed_days_ahead: a list that runs out while the daemon runs is seen too. */
void wf_due_metrics(void);
/* The closed days read by wf_due_configure; NULL and 0 before it, or when there are none. */
const int32_t *wf_due_closed_days(size_t *n);
void wf_due_free(void);

/* Parses "HH:MM"; minutes after midnight, or -1. */
int wf_due_parse_clock(const char *text);
/* Parses a day name ("mon", "monday", ...); its bit, or 0. */
int wf_due_parse_day(const char *text);

/* from + hours, counting only the calendar's working time when cal is not NULL. */
int64_t wf_due_add(int64_t from_ms, double hours, const wf_calendar_t *cal);

#endif
