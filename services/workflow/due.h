/* due: when a piece of work falls due, counted in working hours where its definition says so
 * (seed 003: safeguarding admin works the CP-IS queue 09:30-16:30 Monday to Friday). Times are Unix
 * ms; the calendar is read in the process's local time zone (workflow.timezone, Europe/London by
 * default), so a working day starts at 09:30 on the clock on the office wall, summer or winter. */
#ifndef WF_DUE_H
#define WF_DUE_H

#include <stdint.h>

typedef struct {
    int days;         /* bit 0 Sunday ... bit 6 Saturday */
    int start_minute; /* minutes after midnight */
    int end_minute;
} wf_calendar_t;

/* Parses "HH:MM"; minutes after midnight, or -1. */
int wf_due_parse_clock(const char *text);
/* Parses a day name ("mon", "monday", ...); its bit, or 0. */
int wf_due_parse_day(const char *text);

/* from + hours, counting only the calendar's working time when cal is not NULL. */
int64_t wf_due_add(int64_t from_ms, double hours, const wf_calendar_t *cal);

#endif
