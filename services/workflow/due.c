#include "due.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>

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
        if (!(cal->days & (1 << tm.tm_wday)) || now_ms >= day_end) {
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
