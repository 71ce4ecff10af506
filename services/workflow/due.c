#include "due.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tsr_log.h"
#include "tsr_metrics.h"
#include "tsr_text.h"

/* Ten years of closures: more would be a list gone wrong, not an office's calendar. */
#define DUE_CLOSED_MAX 3660
/* A closure longer than a year is not a closure. */
#define DUE_CLOSURE_DAYS_MAX 366

static int32_t *due__closed;
static size_t due__n_closed;

int wf_due_parse_clock(const char *text)
{
    if (text == NULL || strlen(text) != 5 || text[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && !isdigit((unsigned char)text[i]))
            return -1;
    int h = (text[0] - '0') * 10 + (text[1] - '0');
    int m = (text[3] - '0') * 10 + (text[4] - '0');
    if (h > 24 || m > 59 || (h == 24 && m != 0))
        return -1;
    return h * 60 + m;
}

int wf_due_parse_day(const char *text)
{
    static const char *const names[] = {"sunday",   "monday", "tuesday", "wednesday",
                                        "thursday", "friday", "saturday"};
    if (text == NULL || strlen(text) < 3)
        return 0;
    for (int i = 0; i < 7; i++)
        if (strncasecmp(names[i], text, strlen(text)) == 0)
            return 1 << i;
    return 0;
}

/* Local midnight of the day holding t, plus minutes (mktime settles a clock change on that day). */
static time_t due__at_minute(time_t t, int minutes)
{
    struct tm tm;
    localtime_r(&t, &tm);
    tm.tm_hour = minutes / 60;
    tm.tm_min = minutes % 60;
    tm.tm_sec = 0;
    tm.tm_isdst = -1;
    return mktime(&tm);
}

/* Days since 1970-01-01 of a date of the proleptic Gregorian calendar (Howard Hinnant's
 * days_from_civil), so that a closure's days can be counted through month and year ends. */
static int32_t due__day_number(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int due__is_closed(const wf_calendar_t *cal, const struct tm *tm)
{
    if (cal->n_closed == 0)
        return 0;
    int32_t day = due__day_number(tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday);
    size_t lo = 0, hi = cal->n_closed;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cal->closed[mid] < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < cal->n_closed && cal->closed[lo] == day;
}

/* One date of the list, YYYY-MM-DD with nothing else but spaces around it. */
static int due__date(const char *text, size_t len, int32_t *day)
{
    while (len > 0 && isspace((unsigned char)*text))
        text++, len--;
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    int y, m, d;
    if (len != 10 || tsr_text_date_parts(text, &y, &m, &d) != 0)
        return -1;
    *day = due__day_number(y, m, d);
    return 0;
}

static int due__compare(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int wf_due_parse_closed_days(const char *key, const char *list, int32_t **out, size_t *n, tsr_error_t *err)
{
    *out = NULL;
    *n = 0;
    int32_t *days = NULL;
    size_t count = 0;
    for (const char *p = list ? list : ""; *p;) {
        const char *end = strchr(p, ',');
        if (end == NULL)
            end = p + strlen(p);
        const char *a = p, *b = end;
        p = *end ? end + 1 : end;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (a == b)
            continue; /* a trailing comma, or one doubled */
        const char *dots = memchr(a, '.', (size_t)(b - a));
        int32_t first, last;
        int ok = dots ? dots + 1 < b && dots[1] == '.' && due__date(a, (size_t)(dots - a), &first) == 0 &&
                            due__date(dots + 2, (size_t)(b - dots - 2), &last) == 0
                      : due__date(a, (size_t)(b - a), &first) == 0;
        if (!ok) {
            free(days);
            return tsr_error_set(err, TSR_E_INVALID, "config_bad_closed_days", key,
                                 "The setting '%s' has '%.*s': each item must be a date written YYYY-MM-DD "
                                 "(2026-12-25), or a closure of several days, its first and last joined by "
                                 "'..' (2026-12-29..2026-12-31).",
                                 key, (int)(b - a > 40 ? 40 : b - a), a);
        }
        if (!dots)
            last = first;
        if (last < first || last - first >= DUE_CLOSURE_DAYS_MAX) {
            free(days);
            return tsr_error_set(err, TSR_E_INVALID, "config_bad_closed_days", key,
                                 "The setting '%s' has the closure '%.*s', which %s.", key, (int)(b - a), a,
                                 last < first ? "ends before it starts" : "is longer than a year");
        }
        if (count + (size_t)(last - first) + 1 > DUE_CLOSED_MAX) {
            free(days);
            return tsr_error_set(err, TSR_E_INVALID, "config_bad_closed_days", key,
                                 "The setting '%s' lists more than %d days: list the coming years' only.",
                                 key, DUE_CLOSED_MAX);
        }
        int32_t *grown = realloc(days, (count + (size_t)(last - first) + 1) * sizeof(*days));
        if (grown == NULL) {
            free(days);
            return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
        }
        days = grown;
        for (int32_t day = first; day <= last; day++)
            days[count++] = day;
    }
    if (count > 0) {
        qsort(days, count, sizeof(*days), due__compare);
        size_t kept = 1;
        for (size_t i = 1; i < count; i++)
            if (days[i] != days[kept - 1])
                days[kept++] = days[i];
        count = kept;
    }
    *out = days;
    *n = count;
    return 0;
}

/* How many of the closed days fall in the coming year, from today on the office's clock. */
static long due__closed_ahead(void)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    int32_t today = due__day_number(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    long ahead = 0;
    for (size_t i = 0; i < due__n_closed; i++)
        ahead += due__closed[i] >= today && due__closed[i] <= today + 365;
    return ahead;
}

void wf_due_metrics(void)
{
    tsr_metric_set(
        tsr_metrics_gauge("tessera_workflow_closed_days_ahead",
                          "Days of workflow.closed_days in the coming year (0: the list has run out, "
                          "and bank holidays count as working time).",
                          NULL),
        (double)due__closed_ahead());
}

int wf_due_configure(const tsr_config_t *config, tsr_error_t *err)
{
    wf_due_free();
    if (wf_due_parse_closed_days("workflow.closed_days", tsr_config_get(config, "workflow.closed_days", ""),
                                 &due__closed, &due__n_closed, err) != 0)
        return -1;
    /* Not a fault (an office may truly never close), but a list that ran out is the likelier cause:
     * bank holidays would count as working time, and work would fall due on them. */
    if (due__closed_ahead() == 0)
        tsr_log_warn(NULL,
                     "workflow.closed_days lists no day in the coming year: due times in working hours count "
                     "bank holidays and other closures as working time. List them (docs/OPERATIONS.md).");
    return 0;
}

const int32_t *wf_due_closed_days(size_t *n)
{
    *n = due__n_closed;
    return due__closed;
}

void wf_due_free(void)
{
    free(due__closed);
    due__closed = NULL;
    due__n_closed = 0;
}

static time_t due__next_day(time_t t)
{
    struct tm tm;
    localtime_r(&t, &tm);
    tm.tm_mday += 1;
    tm.tm_hour = 12; /* midday: clear of any clock change */
    tm.tm_min = 0;
    tm.tm_sec = 0;
    tm.tm_isdst = -1;
    return mktime(&tm);
}

int64_t wf_due_add(int64_t from_ms, double hours, const wf_calendar_t *cal)
{
    if (hours <= 0)
        return from_ms;
    if (cal == NULL || cal->days == 0 || cal->end_minute <= cal->start_minute)
        return from_ms + (int64_t)(hours * 3600000.0);
    int64_t left_ms = (int64_t)(hours * 3600000.0);
    int64_t now_ms = from_ms;
    /* At most a few years of days: a calendar with working time in it always ends the loop. */
    for (int guard = 0; guard < 4000 && left_ms > 0; guard++) {
        time_t now = (time_t)(now_ms / 1000);
        struct tm tm;
        localtime_r(&now, &tm);
        int64_t day_start = (int64_t)due__at_minute(now, cal->start_minute) * 1000;
        int64_t day_end = (int64_t)due__at_minute(now, cal->end_minute) * 1000;
        if (!(cal->days & (1 << tm.tm_wday)) || due__is_closed(cal, &tm) || now_ms >= day_end) {
            now_ms = (int64_t)due__at_minute(due__next_day(now), 0) * 1000;
            continue;
        }
        if (now_ms < day_start)
            now_ms = day_start;
        int64_t room = day_end - now_ms;
        if (room >= left_ms)
            return now_ms + left_ms;
        left_ms -= room;
        now_ms = (int64_t)due__at_minute(due__next_day(now), 0) * 1000;
    }
    return now_ms;
}
