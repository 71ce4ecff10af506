/* When work falls due (services/workflow/due.c), on the office's clock, and the checks a
 * definition file must pass before the workflow daemon will start (services/workflow/definitions.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "definitions.h"
#include "due.h"

static const wf_calendar_t office = {.days = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5),
                                     .start_minute = 9 * 60 + 30,
                                     .end_minute = 16 * 60 + 30};

/* Unix ms of a local wall-clock time in Europe/London. */
static int64_t london(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {
        .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_isdst = -1};
    return (int64_t)mktime(&tm) * 1000;
}

static void test_within_a_working_day_hours_simply_add(void **state)
{
    (void)state;
    /* Tuesday 10:00 + 2 h = 12:00. */
    assert_int_equal(wf_due_add(london(2026, 11, 24, 10, 0), 2, &office), london(2026, 11, 24, 12, 0));
}

static void test_work_left_at_the_end_of_the_day_carries_to_the_next_working_morning(void **state)
{
    (void)state;
    /* Tuesday 15:30 + 3 h: one hour on Tuesday, two from 09:30 Wednesday. */
    assert_int_equal(wf_due_add(london(2026, 11, 24, 15, 30), 3, &office), london(2026, 11, 25, 11, 30));
    /* Friday 16:00 + 1 h: half an hour on Friday, the rest on Monday. */
    assert_int_equal(wf_due_add(london(2026, 11, 27, 16, 0), 1, &office), london(2026, 11, 30, 10, 0));
}

static void test_work_arriving_out_of_hours_starts_counting_at_the_next_opening(void **state)
{
    (void)state;
    /* Saturday night + 7 h (one working day) = Monday 16:30. */
    assert_int_equal(wf_due_add(london(2026, 11, 28, 23, 0), 7, &office), london(2026, 11, 30, 16, 30));
    /* Tuesday 07:00 + 1 h = 10:30. */
    assert_int_equal(wf_due_add(london(2026, 11, 24, 7, 0), 1, &office), london(2026, 11, 24, 10, 30));
}

static void test_the_clock_change_does_not_move_the_office_hours(void **state)
{
    (void)state;
    /* British Summer Time ends on Sunday 25 October 2026: Friday 16:00 + 1 h is Monday 10:00 on the
     * wall clock, 25 hours of UTC later than it would be without the change. */
    assert_int_equal(wf_due_add(london(2026, 10, 23, 16, 0), 1, &office), london(2026, 10, 26, 10, 0));
}

/* The office's calendar with these closed days (a list as workflow.closed_days would give it). */
static wf_calendar_t office_closed(const char *list, int32_t **days)
{
    size_t n = 0;
    tsr_error_t err;
    assert_int_equal(wf_due_parse_closed_days("workflow.closed_days", list, days, &n, &err), 0);
    wf_calendar_t cal = office;
    cal.closed = *days;
    cal.n_closed = n;
    return cal;
}

static void test_a_bank_holiday_is_no_working_time(void **state)
{
    (void)state;
    int32_t *days = NULL;
    /* England and Wales, Christmas 2026: Friday 25 and Monday 28 December (Boxing Day's substitute). */
    wf_calendar_t christmas = office_closed("2026-12-25, 2026-12-28", &days);
    /* Thursday 24 December 16:00 + 7 h: half an hour on Thursday, the rest on Tuesday 29th. */
    assert_int_equal(wf_due_add(london(2026, 12, 24, 16, 0), 7, &christmas), london(2026, 12, 29, 16, 0));
    /* Without the closed days, Friday 25th would have been a working day. */
    assert_int_equal(wf_due_add(london(2026, 12, 24, 16, 0), 7, &office), london(2026, 12, 25, 16, 0));
    /* Work arriving on the holiday itself starts counting at the next opening. */
    assert_int_equal(wf_due_add(london(2026, 12, 25, 11, 0), 1, &christmas), london(2026, 12, 29, 10, 30));
    free(days);
}

static void test_a_closure_over_the_year_end_counts_from_the_first_day_back(void **state)
{
    (void)state;
    int32_t *days = NULL;
    wf_calendar_t closure = office_closed("2026-12-24..2027-01-01", &days);
    /* Wednesday 23 December 16:00 + 7 h: half an hour then, the rest from Monday 4 January. */
    assert_int_equal(wf_due_add(london(2026, 12, 23, 16, 0), 7, &closure), london(2027, 1, 4, 16, 0));
    free(days);
}

static void test_closed_days_are_read_strictly_and_named_when_wrong(void **state)
{
    (void)state;
    int32_t *days = NULL;
    size_t n = 99;
    tsr_error_t err;
    /* Spaces, a trailing comma, a day listed twice and a closure holding it: each day once, in order. */
    assert_int_equal(
        wf_due_parse_closed_days("k", " 2026-12-28 ,2026-12-25,2026-12-24 .. 2026-12-26,", &days, &n, &err),
        0);
    assert_int_equal(n, 4);
    for (size_t i = 1; i < n; i++)
        assert_true(days[i - 1] < days[i]);
    assert_int_equal(days[3] - days[0], 4); /* 24th to 28th */
    free(days);
    assert_int_equal(wf_due_parse_closed_days("k", "", &days, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_null(days);
    struct {
        const char *list, *says;
    } cases[] = {
        {"2026-13-01", "'2026-13-01'"},
        {"2026-12-25,25/12/2026", "'25/12/2026'"},
        {"2027-02-29", "'2027-02-29'"},
        {"2026-12-25..", "'2026-12-25..'"},
        {"2026-12-31..2026-12-29", "ends before it starts"},
        {"2026-01-01..2027-06-01", "longer than a year"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tsr_error_clear(&err);
        assert_int_equal(wf_due_parse_closed_days("workflow.closed_days", cases[i].list, &days, &n, &err),
                         -1);
        assert_null(days);
        if (strstr(err.message, cases[i].says) == NULL || strstr(err.message, "workflow.closed_days") == NULL)
            fail_msg("case %zu: expected a message naming the setting and \"%s\", got \"%s\"", i,
                     cases[i].says, err.message);
    }
}

static void test_without_working_hours_time_is_elapsed_time(void **state)
{
    (void)state;
    assert_int_equal(wf_due_add(1000, 0.5, NULL), 1000 + 1800000);
}

static void test_clock_and_day_names_are_read_strictly(void **state)
{
    (void)state;
    assert_int_equal(wf_due_parse_clock("09:30"), 570);
    assert_int_equal(wf_due_parse_clock("24:00"), 1440);
    assert_int_equal(wf_due_parse_clock("9:30"), -1);
    assert_int_equal(wf_due_parse_clock("16:60"), -1);
    assert_int_equal(wf_due_parse_day("mon"), 1 << 1);
    assert_int_equal(wf_due_parse_day("Friday"), 1 << 5);
    assert_int_equal(wf_due_parse_day("fr"), 0);
    assert_int_equal(wf_due_parse_day("funday"), 0);
}

static void test_the_shipped_definitions_load(void **state)
{
    (void)state;
    tsr_error_t err;
    assert_int_equal(wf_definitions_load(TSR_SOURCE_DIR "/services/workflow/definitions", &err), 0);
    const json_t *fdc = wf_definition_current("front-door-consultation", NULL);
    assert_non_null(fdc);
    char *title = wf_def_title(fdc, "CSEW");
    assert_string_equal(title, "Consultation (CSEW)");
    free(title);
    assert_non_null(wf_def_request(fdc, "pass-to-mash-manager", "CSSW"));
    assert_null(wf_def_request(fdc, "pass-to-mash-manager", "CSEW"));
    assert_non_null(wf_virtual_worker("cp-is-worker"));
    assert_non_null(wf_definition_current("cpis-follow-up", NULL));
    for (const char *const *t =
             (const char *const[]){"case-note-deletion", "workflow-step-deletion", "worker-role-change",
                                   "add-organisation", "merge-duplicate-records", "restrict-a-record",
                                   "access-a-restricted-record", "add-address", "competence-test",
                                   "one-to-one-session", "team-session", "folder-clean-up",
                                   "development-consultation", NULL};
         *t; t++)
        assert_non_null(wf_definition_current(*t, NULL));
    wf_definitions_free();
}

/* Writes one definition into a fresh directory and loads it: the error message, or "" when it loads. */
static void load_one(const char *json, char *message, size_t size)
{
    char dir[] = "/tmp/tsr-defunit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/step.json", dir);
    FILE *f = fopen(path, "w");
    fputs(json, f);
    fclose(f);
    tsr_error_t err;
    tsr_error_clear(&err);
    int rc = wf_definitions_load(dir, &err);
    snprintf(message, size, "%s", rc == 0 ? "" : err.message);
    wf_definitions_free();
    unlink(path);
    rmdir(dir);
}

static void test_a_bad_definition_is_refused_naming_the_file_and_the_fault(void **state)
{
    (void)state;
    char msg[512];
    const char *base_ok =
        "{\"type\":\"t\",\"title\":\"T\",\"title_pattern\":\"T\",\"subjects\":[\"person\"],"
        "\"sections\":[{\"number\":\"1\",\"title\":\"S\",\"fields\":[]}],\"next_actions\":[]}";
    load_one(base_ok, msg, sizeof(msg));
    assert_string_equal(msg, "");
    struct {
        const char *json;
        const char *says;
    } cases[] = {
        {"{\"type\":\"t\",", "step.json:1"},
        {"{\"type\":\"t\",\"title\":\"T\",\"title_pattern\":\"T\",\"subjects\":[\"planet\"],\"sections\":[],"
         "\"next_actions\":[]}",
         "planet"},
        {"{\"type\":\"t\",\"title\":\"T\",\"title_pattern\":\"T\",\"subjects\":[\"person\"],"
         "\"subject_access\":\"everything\",\"sections\":[{\"number\":\"1\",\"title\":\"S\",\"fields\":[]}],"
         "\"next_actions\":[]}",
         "subject_access"},
        {"{\"type\":\"t\",\"title\":\"T\",\"title_pattern\":\"T\",\"subjects\":[\"person\"],\"sections\":[{"
         "\"number\":"
         "\"1\",\"title\":\"S\",\"fields\":[{\"name\":\"x\",\"title\":\"X\",\"type\":\"picklist\"}]}],"
         "\"next_actions\":[]}",
         "options"},
        {"{\"type\":\"t\",\"title\":\"T\",\"title_pattern\":\"T\",\"subjects\":[\"person\"],\"sections\":[{"
         "\"number\":"
         "\"1\",\"title\":\"S\",\"fields\":[]}],\"next_actions\":[{\"action\":\"a\",\"title\":\"A\",\"reason_"
         "required\":"
         "true}]}",
         "next_actions[0]"},
        {"{\"type\":\"t\",\"title\":\"T\",\"title_pattern\":\"T\",\"subjects\":[\"person\"],\"sections\":[{"
         "\"number\":"
         "\"1\",\"title\":\"S\",\"fields\":[]}],\"next_actions\":[{\"action\":\"a\",\"title\":\"A\","
         "\"starts\":{\"type\":"
         "\"nowhere\"}}]}",
         "nowhere"},
        {"{\"type\":\"t\",\"title\":\"T\",\"title_pattern\":\"T\",\"subjects\":[\"person\"],\"due\":{"
         "\"hours\":2,"
         "\"working_hours\":{\"days\":[\"mon\"],\"start\":\"17:00\",\"end\":\"09:00\"}},\"sections\":[{"
         "\"number\":\"1\","
         "\"title\":\"S\",\"fields\":[]}],\"next_actions\":[]}",
         "working_hours"},
        {"{\"type\":\"t\",\"title\":\"T\",\"title_pattern\":\"T\",\"subjects\":[\"person\"],\"sections\":[{"
         "\"number\":"
         "\"1\",\"title\":\"S\",\"fields\":[]}],\"requests\":[{\"type\":\"r\",\"title\":\"R\",\"to\":{"
         "\"virtual\":"
         "\"ghost\"}}],\"next_actions\":[]}",
         "ghost"},
        /* A request copies in only the sender's manager. */
        {"{\"type\":\"t\",\"title\":\"T\",\"title_pattern\":\"T\",\"subjects\":[\"person\"],\"sections\":[{"
         "\"number\":\"1\",\"title\":\"S\",\"fields\":[]}],\"requests\":[{\"type\":\"r\",\"title\":\"R\","
         "\"copy_to\":\"everyone\"}],\"next_actions\":[]}",
         "copy_to"},
        /* required_when names a field of the section, and values that field has. */
        {"{\"type\":\"t\",\"title\":\"T\",\"title_pattern\":\"T\",\"subjects\":[\"person\"],\"sections\":[{"
         "\"number\":\"1\",\"title\":\"S\",\"fields\":[{\"name\":\"x\",\"title\":\"X\",\"type\":\"text\","
         "\"required_when\":{\"field\":\"nothing\",\"filled\":true}}]}],\"next_actions\":[]}",
         "names \"nothing\""},
        {"{\"type\":\"t\",\"title\":\"T\",\"title_pattern\":\"T\",\"subjects\":[\"person\"],\"sections\":[{"
         "\"number\":\"1\",\"title\":\"S\",\"fields\":[{\"name\":\"why\",\"title\":\"W\",\"type\":"
         "\"picklist\",\"options\":[{\"value\":\"a\",\"title\":\"A\"}]},{\"name\":\"x\",\"title\":\"X\","
         "\"type\":\"text\",\"required_when\":{\"field\":\"why\",\"is\":[\"b\"]}}]}],\"next_actions\":[]}",
         "required_when.is[0]"},
        {"{\"type\":\"t\",\"title\":\"T\",\"title_pattern\":\"T\",\"subjects\":[\"person\"],\"sections\":[{"
         "\"number\":\"1\",\"title\":\"S\",\"fields\":[{\"name\":\"y\",\"title\":\"Y\",\"type\":\"text\"},"
         "{\"name\":\"x\",\"title\":\"X\",\"type\":\"text\",\"required\":true,\"required_when\":{"
         "\"field\":\"y\",\"filled\":true}}]}],\"next_actions\":[]}",
         "one or the other"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        load_one(cases[i].json, msg, sizeof(msg));
        if (strstr(msg, cases[i].says) == NULL)
            fail_msg("case %zu: expected a message naming \"%s\", got \"%s\"", i, cases[i].says, msg);
    }
}

int main(void)
{
    setenv("TZ", "Europe/London", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_within_a_working_day_hours_simply_add),
        cmocka_unit_test(test_work_left_at_the_end_of_the_day_carries_to_the_next_working_morning),
        cmocka_unit_test(test_work_arriving_out_of_hours_starts_counting_at_the_next_opening),
        cmocka_unit_test(test_the_clock_change_does_not_move_the_office_hours),
        cmocka_unit_test(test_a_bank_holiday_is_no_working_time),
        cmocka_unit_test(test_a_closure_over_the_year_end_counts_from_the_first_day_back),
        cmocka_unit_test(test_closed_days_are_read_strictly_and_named_when_wrong),
        cmocka_unit_test(test_without_working_hours_time_is_elapsed_time),
        cmocka_unit_test(test_clock_and_day_names_are_read_strictly),
        cmocka_unit_test(test_the_shipped_definitions_load),
        cmocka_unit_test(test_a_bad_definition_is_refused_naming_the_file_and_the_fault),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
