/* 'Consultations in period' (seed 000): the five consultations of the seed's worked example, with
 * invented referrers in place of the people named there, loaded from the old system's export by
 * `tessera import consultations`, give exactly the seed's four tables for 14/11/2022 to 01/12/2022,
 * in JSON, in CSV, in an XLSX read back by another program (xlsx2csv), in HTML, and from the batch
 * command as from the API. The import checks every row first and can be run twice. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsr_ids.h"
#include "tsr_testenv.h"

#define SEED_FILE TSR_SOURCE_DIR "/tests/integration/data/seed_000_consultations.csv"
#define PERIOD "start=2022-11-14&end=2022-12-01"
#define REPORT_PATH "/api/v1/reports/consultations-in-period?" PERIOD

/* The seed's report, line for line, with the invented referrers of the import file. */
static const char seed_csv[] =
    "London Borough of Camden - Consultations in period\r\n"
    "Consultations completed in period\r\n"
    "Period start: 14/11/2022\r\n"
    "Period end: 01/12/2022\r\n"
    "\r\n"
    "01 Grouped by source of referral\r\n"
    "Source of contact,Count\r\n"
    "EDUCATION SERVICES,1\r\n"
    "LA SERVICES - early help,2\r\n"
    "\"OTHER - including children's centres, independent agency providers or voluntary organisations\",1\r\n"
    "SCHOOLS,1\r\n"
    "\r\n"
    "02 Grouped by outcome\r\n"
    "Total number of Consultations,Further information given,Referral to MASH\r\n"
    "5,2,3\r\n"
    "\r\n"
    "03 Grouped by team\r\n"
    "Organisation name,Count\r\n"
    "Camden & Islington Probation Office,1\r\n"
    "Consult,1\r\n"
    "Hampden Children Centre,3\r\n"
    "\r\n"
    "04 Data\r\n"
    "Organisation ID,Organisation name,Step ID,Step type,Step started on,Step completed on,Date and time of "
    "consult,Source of contact,Referrer name,Relationship with subject(s),Outcome(s)\r\n"
    "7503850,Camden & Islington Probation Office,13011373,Consultation "
    "(CSSW),2022-11-25,2022-11-25,2022-11-25,"
    "\"OTHER - including children's centres, independent agency providers or voluntary organisations\","
    "Nadia Okafor,?,\"Further information given, Referral to Mash\"\r\n"
    "7504989,Consult,13011267,Consultation (CSSW),2022-11-17,2022-11-19,2022-11-19,SCHOOLS,,,Referral to "
    "Mash\r\n"
    "7500065,Hampden Children Centre,13011291,Consultation (CSEW),2022-11-19,2022-11-19,2022-11-14,"
    "LA SERVICES - early help,Tomasz Green,Children Centre Manager,Referral to Mash\r\n"
    "7500065,Hampden Children Centre,13011293,Consultation (CSSW),2022-11-19,2022-11-19,2022-11-19,"
    "LA SERVICES - early help,Tomasz Green,Manager,Further information given\r\n"
    "7500065,Hampden Children Centre,13011369,Consultation (CSSW),2022-11-25,2022-11-25,2022-11-25,"
    "EDUCATION SERVICES,Nadia Okafor,,\r\n";

/* A CSV download as Excel opens it with a double-click: UTF-8, as its byte-order mark says (without
 * one, Excel on Windows read "Zoë" as "ZoÃ«"), then the seed's report line for line. */
static void assert_seed_csv(const char *csv)
{
    if (strncmp(csv, "\xef\xbb\xbf", 3) != 0)
        fail_msg("the CSV does not start with UTF-8's byte-order mark: '%.40s'", csv);
    assert_string_equal(csv + 3, seed_csv);
}

/* Section 04 of the seed: every column of every row, in the report's order. */
static const char *const seed_rows[5][11] = {
    {"7503850", "Camden & Islington Probation Office", "13011373", "Consultation (CSSW)", "2022-11-25",
     "2022-11-25", "2022-11-25",
     "OTHER - including children's centres, independent agency providers or voluntary organisations",
     "Nadia Okafor", "?", "Further information given, Referral to Mash"},
    {"7504989", "Consult", "13011267", "Consultation (CSSW)", "2022-11-17", "2022-11-19", "2022-11-19",
     "SCHOOLS", "", "", "Referral to Mash"},
    {"7500065", "Hampden Children Centre", "13011291", "Consultation (CSEW)", "2022-11-19", "2022-11-19",
     "2022-11-14", "LA SERVICES - early help", "Tomasz Green", "Children Centre Manager", "Referral to Mash"},
    {"7500065", "Hampden Children Centre", "13011293", "Consultation (CSSW)", "2022-11-19", "2022-11-19",
     "2022-11-19", "LA SERVICES - early help", "Tomasz Green", "Manager", "Further information given"},
    {"7500065", "Hampden Children Centre", "13011369", "Consultation (CSSW)", "2022-11-25", "2022-11-25",
     "2022-11-25", "EDUCATION SERVICES", "Nadia Okafor", "", ""},
};
static const char *const row_members[11] = {
    "organisation_id", "organisation_name",     "step_id",       "step_type",
    "step_started_on", "step_completed_on",     "consulted_on",  "source_title",
    "referrer_name",   "referrer_relationship", "outcomes_title"};

/* Runs the tessera tool with args; its exit status, and what it printed (both streams) in out. */
static int run_tool(const char *args, char *out, size_t size)
{
    return testenv_run_tool(testenv, args, out, size);
}

static char *write_file(const char *name, const char *text)
{
    return testenv_write_file(testenv, name, text);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *data = malloc(1 << 20);
    *len = fread(data, 1, (1 << 20) - 1, f);
    data[*len] = '\0';
    fclose(f);
    return data;
}

/* Loads the seed's file (safe to run again, which every test that needs it does). */
/* Runs tessera import consultations on a file of text named name; its exit code, its output in out. */
static int run_import(const char *name, const char *text, char *out, size_t size)
{
    char *path = write_file(name, text);
    char args[600];
    snprintf(args, sizeof(args), "import consultations %s", path);
    free(path);
    return run_tool(args, out, size);
}

static void import_seed(void)
{
    char out[2048];
    int rc = run_tool("import consultations " SEED_FILE, out, sizeof(out));
    if (rc != 0)
        fail_msg("tessera import consultations failed (%d): %s", rc, out);
}

/* Waits until the report's total for the period is `total`. */
static void wait_for_total(const char *token, const char *query, long total)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/reports/consultations-in-period?%s", query);
    long got = -1;
    for (int i = 0; i < 100 && got != total; i++) {
        testenv_response_t r = testenv_http(testenv, "GET", path, token, NULL, NULL);
        assert_int_equal(r.status, 200);
        got = (long)json_integer_value(json_object_get(json_object_get(r.json, "by_outcome"), "total"));
        testenv_response_free(&r);
        if (got != total)
            usleep(50 * 1000);
    }
    if (got != total)
        fail_msg("the report for %s counts %ld consultations, not %ld", query, got, total);
}

static void test_the_seeds_five_consultations_give_exactly_the_seeds_four_tables_in_json(void **state)
{
    (void)state;
    import_seed();
    char *manager = testenv_login(testenv, "mash.manager");
    wait_for_total(manager, PERIOD, 5);
    testenv_response_t r = testenv_http(testenv, "GET", REPORT_PATH "&format=json", manager, NULL, NULL);
    assert_int_equal(r.status, 200);
    json_t *report = r.json;
    assert_string_equal(testenv_str(report, "heading"), "London Borough of Camden - Consultations in period");
    assert_string_equal(testenv_str(report, "subheading"), "Consultations completed in period");
    assert_string_equal(testenv_str(json_object_get(report, "period"), "start"), "14/11/2022");
    assert_string_equal(testenv_str(json_object_get(report, "period"), "end"), "01/12/2022");

    /* 01 Grouped by source of referral. */
    static const char *const sources[][2] = {
        {"EDUCATION SERVICES", "1"},
        {"LA SERVICES - early help", "2"},
        {"OTHER - including children's centres, independent agency providers or voluntary organisations",
         "1"},
        {"SCHOOLS", "1"}};
    json_t *items = json_object_get(json_object_get(report, "by_source"), "items");
    assert_int_equal(json_array_size(items), 4);
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(testenv_str(json_array_get(items, i), "title"), sources[i][0]);
        assert_int_equal(json_integer_value(json_object_get(json_array_get(items, i), "count")),
                         atoi(sources[i][1]));
    }
    /* 02 Grouped by outcome: a consultation counts under both, one or neither. */
    json_t *outcome = json_object_get(report, "by_outcome");
    assert_int_equal(json_integer_value(json_object_get(outcome, "total")), 5);
    assert_int_equal(json_integer_value(json_object_get(outcome, "further_information_given")), 2);
    assert_int_equal(json_integer_value(json_object_get(outcome, "referral_to_mash")), 3);
    /* 03 Grouped by organisation. */
    static const char *const orgs[][3] = {{"Camden & Islington Probation Office", "7503850", "1"},
                                          {"Consult", "7504989", "1"},
                                          {"Hampden Children Centre", "7500065", "3"}};
    items = json_object_get(json_object_get(report, "by_organisation"), "items");
    assert_int_equal(json_array_size(items), 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(testenv_str(json_array_get(items, i), "name"), orgs[i][0]);
        assert_string_equal(testenv_str(json_array_get(items, i), "organisation_id"), orgs[i][1]);
        assert_int_equal(json_integer_value(json_object_get(json_array_get(items, i), "count")),
                         atoi(orgs[i][2]));
    }
    /* 04 Data. */
    json_t *rows = json_object_get(report, "rows");
    items = json_object_get(rows, "items");
    assert_int_equal(json_array_size(items), 5);
    assert_int_equal(json_integer_value(json_object_get(rows, "total")), 5);
    assert_true(json_is_null(json_object_get(rows, "next_cursor")));
    for (size_t i = 0; i < 5; i++)
        for (size_t c = 0; c < 11; c++)
            if (strcmp(testenv_str(json_array_get(items, i), row_members[c]), seed_rows[i][c]) != 0)
                fail_msg("row %zu, %s: expected '%s', got '%s'", i + 1, row_members[c], seed_rows[i][c],
                         testenv_str(json_array_get(items, i), row_members[c]));
    assert_int_equal(json_array_size(json_object_get(json_array_get(items, 0), "outcomes")), 2);
    assert_int_equal(json_array_size(json_object_get(json_array_get(items, 4), "outcomes")), 0);
    testenv_response_free(&r);
    free(manager);
}

static void test_the_seeds_four_tables_in_csv_and_html(void **state)
{
    (void)state;
    import_seed();
    char *manager = testenv_login(testenv, "mash.manager");
    wait_for_total(manager, PERIOD, 5);
    testenv_response_t r = testenv_http(testenv, "GET", REPORT_PATH "&format=csv", manager, NULL, NULL);
    assert_int_equal(r.status, 200);
    char value[200];
    assert_string_equal(testenv_response_header(&r, "content-type", value, sizeof(value)),
                        "text/csv; charset=utf-8");
    assert_string_equal(testenv_response_header(&r, "content-disposition", value, sizeof(value)),
                        "attachment; filename=\"consultations-in-period_2022-11-14_2022-12-01.csv\"");
    assert_seed_csv(r.body);
    testenv_response_free(&r);

    r = testenv_http(testenv, "GET", REPORT_PATH "&format=html", manager, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(testenv_response_header(&r, "content-type", value, sizeof(value)),
                        "text/html; charset=utf-8");
    assert_non_null(strstr(r.body, "<h1>London Borough of Camden - Consultations in period</h1>"));
    assert_non_null(strstr(r.body, "<h3>02 Grouped by outcome</h3>"));
    assert_non_null(
        strstr(r.body, "<td>Camden &amp; Islington Probation Office</td><td class=\"number\">1</td>"));
    assert_non_null(strstr(r.body, "<td>OTHER - including children&#39;s centres"));
    assert_null(strstr(r.body, "Camden & Islington"));
    testenv_response_free(&r);
    free(manager);
}

/* A CSV line without the empty cells a spreadsheet pads it with. */
static void trim_padding(char *line)
{
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == ',' || line[n - 1] == '\r' || line[n - 1] == '\n'))
        line[--n] = '\0';
}

/* The next line that is not blank once its padding is gone (strtok_r style). */
static char *next_line(char *text, char **save)
{
    char *line;
    while ((line = strtok_r(text, "\n", save)) != NULL) {
        text = NULL;
        trim_padding(line);
        if (line[0] != '\0')
            return line;
    }
    return NULL;
}

/* The CSV's YYYY-MM-DD dates as a spreadsheet shows a date cell, dd/mm/yyyy, in place. */
static void iso_dates_as_days(char *line)
{
    for (char *p = line; strlen(p) >= 10; p++) {
        int digits = 1;
        for (int i = 0; i < 10 && digits; i++)
            digits = (i == 4 || i == 7) ? p[i] == '-' : (p[i] >= '0' && p[i] <= '9');
        if (!digits)
            continue;
        char day[11];
        snprintf(day, sizeof(day), "%.2s/%.2s/%.4s", p + 8, p + 5, p);
        memcpy(p, day, 10);
        p += 9;
    }
}

/* Writes the XLSX answer r to DIR/name.xlsx (its path at xlsx) and reads it back with xlsx2csv, a
 * reader that shares nothing with libxlsxwriter: what a spreadsheet holds, as CSV, for the caller to
 * free. */
static char *xlsx_read_back(const testenv_response_t *r, const char *name, char xlsx[512])
{
    char csv[512], cmd[1200];
    snprintf(xlsx, 512, "%s/%s.xlsx", testenv->dir, name);
    snprintf(csv, sizeof(csv), "%s/%s-from-xlsx.csv", testenv->dir, name);
    FILE *f = fopen(xlsx, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(r->body, 1, r->len, f), r->len);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "xlsx2csv %s %s 2>&1", xlsx, csv);
    if (system(cmd) != 0)
        fail_msg("xlsx2csv could not read the report (is it installed? make deps)");
    size_t len = 0;
    char *read_back = read_file(csv, &len);
    assert_non_null(read_back);
    return read_back;
}

static void test_the_xlsx_opens_in_another_program_with_the_same_figures(void **state)
{
    (void)state;
    import_seed();
    char *manager = testenv_login(testenv, "mash.manager");
    wait_for_total(manager, PERIOD, 5);
    testenv_response_t r = testenv_http(testenv, "GET", REPORT_PATH "&format=xlsx", manager, NULL, NULL);
    assert_int_equal(r.status, 200);
    char value[200];
    assert_string_equal(testenv_response_header(&r, "content-type", value, sizeof(value)),
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    assert_string_equal(testenv_response_header(&r, "content-disposition", value, sizeof(value)),
                        "attachment; filename=\"consultations-in-period_2022-11-14_2022-12-01.xlsx\"");
    assert_true(r.len > 1000 && memcmp(r.body, "PK", 2) == 0);
    char xlsx[512];
    char *read_back = xlsx_read_back(&r, "report", xlsx);
    testenv_response_free(&r);
    /* Line for line the CSV report, but for a spreadsheet's padding of short rows (blank lines
     * between the tables aside). */
    char *expected = strdup(seed_csv);
    char *save_a = NULL, *save_b = NULL;
    char *a = next_line(read_back, &save_a), *b = next_line(expected, &save_b);
    int lines = 0;
    while (a != NULL || b != NULL) {
        /* Section 04's dates are date cells a manager can sort and filter, which xlsx2csv prints in
         * their dd/mm/yyyy format; dates written as text would come back as the CSV's ISO ones. */
        if (b != NULL)
            iso_dates_as_days(b);
        if (a == NULL || b == NULL || strcmp(a, b) != 0)
            fail_msg("XLSX line %d: expected '%s', got '%s'", lines + 1, b ? b : "(end)", a ? a : "(end)");
        lines++;
        a = next_line(NULL, &save_a);
        b = next_line(NULL, &save_b);
    }
    assert_int_equal(lines, 25);
    free(expected);
    free(read_back);
    free(manager);
}

static void test_the_batch_command_writes_what_the_api_gives(void **state)
{
    (void)state;
    import_seed();
    char *manager = testenv_login(testenv, "mash.manager");
    wait_for_total(manager, PERIOD, 5);
    char out[8192];
    assert_int_equal(
        run_tool("report consultations-in-period --start 2022-11-14 --end 2022-12-01 --format csv", out,
                 sizeof(out)),
        0);
    assert_seed_csv(out);
    char args[1200], path[512];
    static const char *const formats[] = {"json", "html", "xlsx"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/batch.%s", testenv->dir, formats[i]);
        snprintf(args, sizeof(args),
                 "report consultations-in-period --start 2022-11-14 --end 2022-12-01 --format %s --output %s",
                 formats[i], path);
        assert_int_equal(run_tool(args, out, sizeof(out)), 0);
        size_t len = 0;
        char *file = read_file(path, &len);
        assert_non_null(file);
        char api[200];
        snprintf(api, sizeof(api), REPORT_PATH "&format=%s", formats[i]);
        testenv_response_t r = testenv_http(testenv, "GET", api, manager, NULL, NULL);
        assert_int_equal(r.status, 200);
        if (strcmp(formats[i], "xlsx") == 0) {
            /* A workbook carries the time it was made: compare what it holds, not its bytes. */
            assert_true(len > 1000 && memcmp(file, "PK", 2) == 0);
        } else {
            assert_int_equal(len, r.len);
            assert_memory_equal(file, r.body, len);
        }
        testenv_response_free(&r);
        free(file);
    }
    /* Wrong options are refused with usage, and a wrong period with the service's reason. */
    assert_int_equal(
        run_tool("report consultations-in-period --start 2022-11-14 --format csv", out, sizeof(out)), 2);
    assert_non_null(strstr(out, "usage: tessera report consultations-in-period"));
    assert_int_equal(
        run_tool("report consultations-in-period --start 2022-12-01 --end 2022-11-14 --format csv", out,
                 sizeof(out)),
        2);
    assert_non_null(strstr(out, "The period end must be the same as or after the period start, 01/12/2022."));
    assert_int_equal(
        run_tool("report consultations-in-period --start 2022-11-14 --end 2022-12-01 --format pdf", out,
                 sizeof(out)),
        2);
    assert_non_null(strstr(out, "format must be json, csv, html or xlsx"));
    /* An empty --format gave the JSON and exit 0; a repeated option was dropped without a word;
     * "--start --end D" took "--end" for the start and D for a stray word. No file is written. */
    snprintf(path, sizeof(path), "%s/refused.csv", testenv->dir);
    static const struct {
        const char *args;
        const char *says;
    } refused[] = {
        {"--start 2022-11-14 --end 2022-12-01 --format ''", "--format is required"},
        {"--start 2022-11-14 --end 2022-12-01 --format csv --start 2022-11-20", "--start is given twice"},
        {"--start --end 2022-12-01 --format csv", "--start needs a value"},
        {"--start 0000-01-01 --end 2022-12-01 --format csv", "must be a real date"},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        snprintf(args, sizeof(args), "report consultations-in-period %s --output %s", refused[i].args, path);
        assert_int_equal(run_tool(args, out, sizeof(out)), 2);
        if (strstr(out, refused[i].says) == NULL)
            fail_msg("%s: expected \"%s\", got: %s", refused[i].args, refused[i].says, out);
        assert_int_equal(access(path, F_OK), -1);
    }
    /* The report holds people's details: a new file is its owner's alone, a file written over keeps
     * its permissions, and a planted link is refused, not written through, nor is its target touched
     * (a batch job running as root into a shared directory would otherwise write wherever it points). */
    const char *csv_args = "report consultations-in-period --start 2022-11-14 --end 2022-12-01 --format csv";
    struct stat st;
    snprintf(path, sizeof(path), "%s/owner-only.csv", testenv->dir);
    snprintf(args, sizeof(args), "%s --output %s", csv_args, path);
    assert_int_equal(run_tool(args, out, sizeof(out)), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(run_tool(args, out, sizeof(out)), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    char victim[512], link[512], partial[600];
    snprintf(victim, sizeof(victim), "%s/victim.txt", testenv->dir);
    snprintf(link, sizeof(link), "%s/latest.csv", testenv->dir);
    FILE *v = fopen(victim, "w");
    assert_non_null(v);
    fputs("not a report\n", v);
    fclose(v);
    assert_int_equal(symlink(victim, link), 0);
    snprintf(args, sizeof(args), "%s --output %s", csv_args, link);
    assert_int_equal(run_tool(args, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "is a symbolic link"));
    /* The old temporary name, planted as a link beside a file to write, is not followed either. */
    snprintf(path, sizeof(path), "%s/nightly.csv", testenv->dir);
    snprintf(partial, sizeof(partial), "%s.partial", path);
    assert_int_equal(symlink(victim, partial), 0);
    snprintf(args, sizeof(args), "%s --output %s", csv_args, path);
    assert_int_equal(run_tool(args, out, sizeof(out)), 0);
    size_t victim_len = 0;
    char *left = read_file(victim, &victim_len);
    assert_string_equal(left, "not a report\n");
    free(left);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    /* "-" is standard output, not a file of that name. */
    snprintf(args, sizeof(args), "%s --output -", csv_args);
    assert_int_equal(run_tool(args, out, sizeof(out)), 0);
    assert_seed_csv(out);
    /* A command mistyped answered with the usage alone, naming nothing. */
    assert_int_equal(run_tool("reprot consultations-in-period", out, sizeof(out)), 2);
    assert_non_null(strstr(out, "unknown command 'reprot'"));
    assert_int_equal(run_tool("report", out, sizeof(out)), 2);
    assert_non_null(strstr(out, "'report' needs a second word"));
    assert_non_null(strstr(out, "report consultations-in-period --start YYYY-MM-DD"));
    free(manager);
}

static void test_importing_the_same_file_twice_loads_nothing_more(void **state)
{
    (void)state;
    import_seed();
    char out[2048];
    assert_int_equal(run_tool("import consultations " SEED_FILE, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "Loaded 0 consultations"));
    assert_non_null(strstr(out, "5 were loaded before"));
    assert_int_equal(
        testenv_sql_long(testenv, "SELECT count(*) FROM consultations.consultations WHERE imported"), 5);
    /* A re-export listing the same outcomes the other way round is the same consultation (it was
     * refused as one 'with other details'). */
    assert_int_equal(
        run_import("reordered.csv",
                   "Organisation ID,Organisation name,Step ID,Step type,Step started on,Step completed "
                   "on,Date and time of consult,Source of contact,Referrer name,Relationship with "
                   "subject(s),Outcome(s)\n"
                   "7503850,Camden & Islington Probation Office,13011373,Consultation (CSSW),2022-11-25,"
                   "2022-11-25,2022-11-25,\"OTHER - including children's centres, independent agency "
                   "providers or voluntary organisations\",Nadia Okafor,?,\"Referral to Mash, Further "
                   "information given\"\n",
                   out, sizeof(out)),
        0);
    assert_non_null(strstr(out, "1 were loaded before"));
    char *manager = testenv_login(testenv, "mash.manager");
    usleep(500 * 1000);
    wait_for_total(manager, PERIOD, 5);
    free(manager);
}

static void test_a_bad_row_is_reported_with_its_line_and_nothing_is_loaded(void **state)
{
    (void)state;
    long before = testenv_sql_long(testenv, "SELECT count(*) FROM consultations.consultations");
    long events = testenv_sql_long(testenv, "SELECT count(*) FROM consultations.outbox");
    const char *header =
        "Organisation ID,Organisation name,Step ID,Step type,Step started on,Step completed on,"
        "Date and time of consult,Source of contact,Referrer name,Relationship with subject(s),"
        "Outcome(s)\n";
    char text[2048];
    /* Line 2 is good; line 3 has a source the census does not have; the referrer's name on line 4
     * runs over two lines; line 6 finishes before it starts. */
    snprintf(text, sizeof(text),
             "%s"
             "7500065,Hampden Children Centre,12000001,Consultation "
             "(CSSW),2022-10-03,2022-10-03,2022-10-03,SCHOOLS,"
             "Ada Lowe,Teacher,Referral to Mash\n"
             "7500065,Hampden Children Centre,12000002,Consultation (CSSW),2022-10-03,2022-10-03,2022-10-03,"
             "NEWSPAPERS,Ada Lowe,Teacher,\n"
             "7500065,Hampden Children Centre,12000003,Consultation (CSEW),2022-10-03,2022-10-04,"
             "2022-10-03T09:15:00+01:00,POLICE,\"Ada\nLowe\",,\n"
             "7500065,Hampden Children Centre,12000004,Consultation (CSSW),2022-10-05,2022-10-04,2022-10-03,"
             "schools,,,further-information-given\n",
             header);
    char out[2048];
    assert_int_equal(run_import("bad.csv", text, out, sizeof(out)), 2);
    assert_non_null(
        strstr(out, "Line 3: Source of contact 'NEWSPAPERS' is not one of the sources of referral."));
    assert_non_null(strstr(out, "2 other rows have faults too. Nothing was loaded."));
    /* The other rows' faults follow, each naming its line: one run shows all there is to mend. */
    assert_non_null(
        strstr(out, "bad.csv: Line 4: Referrer name must be one line of at most 500 characters."));
    assert_non_null(strstr(out, "bad.csv: Line 6: "));
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM consultations.consultations"), before);
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM consultations.outbox"), events);

    /* The first fault is the one named; a record over two lines is named by its first. */
    snprintf(text, sizeof(text),
             "%s"
             "7500065,Hampden Children Centre,12000003,Consultation (CSEW),2022-10-03,2022-10-04,"
             "2022-10-03T09:15:00+01:00,POLICE,\"Ada\nLowe\",,\n"
             "7500065,Hampden Children Centre,12000004,Consultation (CSSW),2022-10-05,2022-10-04,2022-10-03,"
             "schools,,,further-information-given\n",
             header);
    assert_int_equal(run_import("bad2.csv", text, out, sizeof(out)), 2);
    assert_non_null(strstr(out, "Line 2: Referrer name must be one line of at most 500 characters."));
    assert_non_null(strstr(out, "1 other row has a fault too. Nothing was loaded."));
    snprintf(text, sizeof(text),
             "%s"
             "7500065,Hampden Children Centre,12000004,Consultation (CSSW),2022-10-05,2022-10-04,2022-10-03,"
             "schools,,,further-information-given\n",
             header);
    assert_int_equal(run_import("bad2b.csv", text, out, sizeof(out)), 2);
    assert_non_null(
        strstr(out, "Line 2: the step was completed (2022-10-04) before it started (2022-10-05)."));
    /* An old-system step ID in the range of Tessera's own would be taken for one of its steps. */
    snprintf(text, sizeof(text),
             "%s"
             "7500065,Hampden Children Centre,%llu,Consultation (CSSW),2022-10-03,2022-10-03,2022-10-03,"
             "SCHOOLS,,,further-information-given\n",
             header, (unsigned long long)TSR_STEP_ID_FIRST);
    assert_int_equal(run_import("bad2c.csv", text, out, sizeof(out)), 2);
    assert_non_null(strstr(out, "Line 2: Step ID 14000000 is in the range Tessera numbers its own steps in"));
    assert_int_equal(testenv_sql_long(testenv, "SELECT start_value FROM pg_sequences WHERE schemaname ="
                                               " 'workflow' AND sequencename = 'step_ids'"),
                     (long)TSR_STEP_ID_FIRST);

    /* Other faults of the file itself, before anything is sent. */
    assert_int_equal(run_import("bad3.csv", "Organisation ID,Organisation name,Step ID\n7500065,Hampden,1\n",
                                out, sizeof(out)),
                     2);
    assert_non_null(strstr(out, ":1: the header has no column 'Step type'"));
    snprintf(text, sizeof(text), "%s7500065,Hampden Children Centre,\"12000005,Consultation (CSSW)\n",
             header);
    assert_int_equal(run_import("bad4.csv", text, out, sizeof(out)), 2);
    assert_non_null(strstr(out, "a quoted field that starts on line 2 is never closed"));
    snprintf(text, sizeof(text), "%s7500065,\"Hampden\" Children Centre,12000005,Consultation (CSSW)\n",
             header);
    assert_int_equal(run_import("bad5.csv", text, out, sizeof(out)), 2);
    assert_non_null(strstr(out, "line 2 has text after a quoted field's closing quote"));
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM consultations.consultations"), before);
}

/* A file as a spreadsheet saves it: a byte-order mark before a quoted header, CRLF line ends,
 * quoted fields with commas and doubled quotes, blank lines at the end; the report's CSV gives the
 * names back as they were. */
static void test_a_spreadsheets_csv_with_a_bom_quotes_and_crlf_loads(void **state)
{
    (void)state;
    const char *text =
        "\xef\xbb\xbf\"Organisation ID\",\"Organisation name\",\"Step ID\",\"Step type\",\"Step started on\","
        "\"Step completed on\",\"Date and time of consult\",\"Source of contact\",\"Referrer name\","
        "\"Relationship with subject(s)\",\"Outcome(s)\"\r\n"
        "\"7600001\",\"Ellery, Lowe & \"\"Partners\"\"\",\"12100001\",\"Consultation (CSSW)\",\"2021-06-01\","
        "\"2021-06-02\",\"2021-06-01T10:00:00+01:00\",\"SCHOOLS\",\"<b>Ada</b> Lowe\",\"Teacher, year 6\","
        "\"Further information given, Referral to Mash\"\r\n"
        "7600001,\"Ellery, Lowe & \"\"Partners\"\"\",12100002,Consultation (CSEW),2021-06-02,2021-06-02,"
        "2021-06-02,LA SERVICES - early help,,,\r\n"
        "\r\n\r\n";
    char out[4096];
    int rc = run_import("spreadsheet.csv", text, out, sizeof(out));
    if (rc != 0)
        fail_msg("import failed (%d): %s", rc, out);
    assert_non_null(strstr(out, "Loaded 2 consultations"));
    assert_int_equal(run_import("spreadsheet.csv", text, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "Loaded 0 consultations"));
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM consultations.consultations"
                                               " WHERE step_id IN (12100001, 12100002)"
                                               " AND organisation_name = 'Ellery, Lowe & \"Partners\"'"),
                     2);
    char *manager = testenv_login(testenv, "mash.manager");
    wait_for_total(manager, "start=2021-06-01&end=2021-06-02", 2);
    assert_int_equal(
        run_tool("report consultations-in-period --start 2021-06-01 --end 2021-06-02 --format csv", out,
                 sizeof(out)),
        0);
    assert_non_null(strstr(out, "\n7600001,\"Ellery, Lowe & \"\"Partners\"\"\",12100001,Consultation (CSSW),"
                                "2021-06-01,2021-06-02,2021-06-01,SCHOOLS,<b>Ada</b> Lowe,"
                                "\"Teacher, year 6\",\"Further information given, Referral to Mash\"\r\n"));
    free(manager);
    /* An export that lost a column is refused, naming it, before anything loads: loaded without its
     * outcomes, a step could not be loaded again with them. One whose columns are there, empty,
     * loads them empty. */
    rc = run_import("short.csv",
                    "Step ID,Organisation ID,Organisation name,Step type,Step started on,"
                    "Step completed on,Date and time of consult,Source of contact,Referrer name,"
                    "Relationship with subject(s)\n"
                    "12100003,7600001,Ellery Lowe,Consultation (CSSW),2021-06-03,2021-06-03,"
                    "2021-06-03,POLICE,,\n",
                    out, sizeof(out));
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "short.csv:1: the header has no column 'Outcome(s)'"));
    assert_int_equal(
        testenv_sql_long(testenv,
                         "SELECT count(*) FROM consultations.consultations WHERE step_id = 12100003"),
        0);
    rc = run_import("empty.csv",
                    "Step ID,Organisation ID,Organisation name,Step type,Step started on,"
                    "Step completed on,Date and time of consult,Source of contact,Referrer name,"
                    "Relationship with subject(s),Outcome(s)\n"
                    "012100003,7600001,Ellery Lowe,Consultation (CSSW),2021-06-03,2021-06-03,"
                    "2021-06-03,POLICE,,,\n",
                    out, sizeof(out));
    if (rc != 0)
        fail_msg("import failed (%d): %s", rc, out);
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM consultations.consultations"
                                               " WHERE step_id = 12100003 AND contact_name IS NULL"
                                               " AND cardinality(outcomes) = 0 AND source = 'police'"),
                     1);
    /* A step written with leading zeros is the same step: twice in one file is named as such. */
    rc = run_import(
        "zeros.csv",
        "Step ID,Organisation ID,Organisation name,Step type,Step started on,"
        "Step completed on,Date and time of consult,Source of contact,Referrer name,"
        "Relationship with subject(s),Outcome(s)\n"
        "012100009,7600001,Ellery Lowe,Consultation (CSSW),2021-06-03,2021-06-03,2021-06-03,POLICE,,,\n"
        "12100009,7600001,Ellery Lowe,Consultation (CSSW),2021-06-03,2021-06-03,2021-06-03,SCHOOLS,,,\n",
        out, sizeof(out));
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "Line 3: step 12100009 is on line 2 too."));
    /* What is not a file of rows is refused before it is read: a device never ends. */
    assert_int_equal(run_tool("import consultations /dev/zero", out, sizeof(out)), 2);
    assert_non_null(strstr(out, "/dev/zero cannot be read: it is not a regular file"));
    /* A file that is not there says why. */
    assert_int_equal(run_tool("import consultations /nonexistent/old-system.csv", out, sizeof(out)), 2);
    assert_non_null(strstr(out, "/nonexistent/old-system.csv cannot be read: No such file or directory"));
}

/* A spreadsheet that saved the old system's export writes the United Kingdom's dates (day first) and
 * times as the office's clock showed them (consultations.timezone, Europe/London here): they load as
 * those days and those moments, GMT in winter and BST in summer. */
static void test_uk_dates_and_the_offices_clock_load_as_those_days_and_moments(void **state)
{
    (void)state;
    const char *header =
        "Organisation ID,Organisation name,Step ID,Step type,Step started on,Step completed on,"
        "Date and time of consult,Source of contact,Referrer name,Relationship with subject(s),Outcome(s)\n";
    char text[2048], out[4096];
    snprintf(
        text, sizeof(text),
        "%s7600003,Day First Centre,12200001,Consultation (CSSW),24/11/2021,25/11/2021,25/11/2021 "
        "10:15,SCHOOLS,,,\n"
        "7600003,Day First Centre,12200002,Consultation (CSEW),1/6/2021,01/06/2021,1/6/2021 "
        "9:05:30,POLICE,,,\n"
        "7600003,Day First Centre,12200003,Consultation (CSSW),2021-06-02,2021-06-02,2021-06-02 "
        "10:00,SCHOOLS,,,\n"
        "7600003,Day First Centre,12200004,Consultation (CSSW),2021-06-03,2021-06-03,03/06/2021,SCHOOLS,,,\n"
        "7600003,Day First Centre,12200005,Consultation (CSSW),2021-06-04,2021-06-04,"
        "04/06/2021 10:00+02:00,SCHOOLS,,,\n"
        "7600003,Day First Centre,12200006,Consultation (CSSW),2023-10-29,2023-10-29,29/10/2023 "
        "01:30,SCHOOLS,,,\n",
        header);
    int rc = run_import("day-first.csv", text, out, sizeof(out));
    if (rc != 0)
        fail_msg("import failed (%d): %s", rc, out);
    assert_non_null(strstr(out, "Loaded 6 consultations"));
    assert_int_equal(run_import("day-first.csv", text, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "Loaded 0 consultations"));
    const struct {
        const char *step, *started, *completed, *consulted_at, *consulted_on;
    } want[] = {
        {"12200001", "2021-11-24", "2021-11-25", "2021-11-25 10:15:00+00", NULL},
        {"12200002", "2021-06-01", "2021-06-01", "2021-06-01 08:05:30+00", NULL},
        {"12200003", "2021-06-02", "2021-06-02", "2021-06-02 09:00:00+00", NULL},
        {"12200004", "2021-06-03", "2021-06-03", NULL, "2021-06-03"},
        {"12200005", "2021-06-04", "2021-06-04", "2021-06-04 08:00:00+00", NULL},
        /* The hour the clocks go back over is shown twice: read as its second showing, GMT, as the
         * README says (the C library read it as the first, summer time). */
        {"12200006", "2023-10-29", "2023-10-29", "2023-10-29 01:30:00+00", NULL},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        char sql[512];
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM consultations.consultations WHERE step_id = %s"
                 " AND step_started_on = '%s' AND step_completed_on = '%s'"
                 " AND consulted_at IS NOT DISTINCT FROM %s%s%s AND consulted_on IS NOT DISTINCT FROM %s%s%s",
                 want[i].step, want[i].started, want[i].completed, want[i].consulted_at ? "'" : "",
                 want[i].consulted_at ? want[i].consulted_at : "NULL",
                 want[i].consulted_at ? "'::timestamptz" : "", want[i].consulted_on ? "'" : "",
                 want[i].consulted_on ? want[i].consulted_on : "NULL", want[i].consulted_on ? "'::date" : "");
        if (testenv_sql_long(testenv, sql) != 1)
            fail_msg("step %s was not loaded as %s to %s, consulted %s", want[i].step, want[i].started,
                     want[i].completed, want[i].consulted_at ? want[i].consulted_at : want[i].consulted_on);
    }
    /* Month first, a day that does not exist, an hour the clocks skipped: refused, naming the line. */
    const struct {
        const char *row, *says;
    } bad[] = {
        {"12200011,Consultation (CSSW),11/25/2021,11/25/2021,2021-11-25",
         "Line 2: Step started on '11/25/2021'"},
        {"12200012,Consultation (CSSW),2021-02-01,31/02/2021,2021-02-01",
         "Line 2: Step completed on '31/02/2021'"},
        {"12200013,Consultation (CSSW),2021-03-28,2021-03-28,28/03/2021 01:30",
         "the clocks went forward over it"},
        {"12200014,Consultation (CSSW),2021-03-28,2021-03-28,28/03/2021 24:00",
         "Line 2: Date and time of consult '28/03/2021 24:00' must be a date"},
        {"12200015,Consultation (CSSW),2021-03-28,2021-03-28,2021-03-28 10:-5", "must be a date"},
        /* A consultation after the step recording it was completed: a column in the wrong place. */
        {"12200016,Consultation (CSSW),2021-03-01,2021-03-02,2021-03-03 09:00",
         "Line 2: the consultation (2021-03-03) is after the step recording it was completed (2021-03-02)."},
        {"12200017,Consultation (CSSW),2021-03-01,2021-03-02,2021-03-03", "is after the step recording it"},
        /* Before the form's earliest date: a slip of the keyboard, or of the old system's. */
        {"12200018,Consultation (CSSW),1989-06-01,1989-06-02,1989-06-01",
         "Line 2: Step started on cannot be before 1 January 1990."},
        {"12200019,Consultation (CSSW),2021-03-01,2021-03-02,0001-01-01",
         "Date and time of consult cannot be before"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(
            text, sizeof(text),
            "Step ID,Step type,Step started on,Step completed on,Date and time of consult,"
            "Organisation ID,Organisation name,Source of contact,Referrer name,Relationship with subject(s),"
            "Outcome(s)\n%s,7600003,Day First Centre,SCHOOLS,,,\n",
            bad[i].row);
        rc = run_import("bad-day.csv", text, out, sizeof(out));
        if (rc != 2 || strstr(out, bad[i].says) == NULL)
            fail_msg("%s: not refused as '%s' (%d): %s", bad[i].row, bad[i].says, rc, out);
    }
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM consultations.consultations"
                                               " WHERE step_id BETWEEN 12200011 AND 12200019"),
                     0);
}

static void restart_consultations(void)
{
    testenv_kill(testenv, "consultations", SIGTERM);
    assert_int_equal(testenv_wait_exit(testenv, "consultations", 15000), 0);
    testenv_restart(testenv, "consultations");
}

/* The day `offset_hours` east of UTC, `plus_days` on, as YYYY-MM-DD (worked out here: setting TZ in
 * this process would pass it to the daemons it restarts). */
static void day_in_zone(int offset_hours, int plus_days, char out[11])
{
    time_t t = time(NULL) + (time_t)offset_hours * 3600 + (time_t)plus_days * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* "In the future" is of the office's day (consultations.timezone), not of the server's clock: a
 * step completed today at the office loads, tomorrow's does not. Two zones far east and west of
 * UTC, so that at any hour one of them has a day other than UTC's. */
static void test_an_imported_date_is_in_the_future_by_the_offices_day(void **state)
{
    (void)state;
    static const struct {
        const char *zone;
        int offset_hours;
        const char *step;
    } zones[] = {{"Etc/GMT-14", 14, "12300001"}, {"Etc/GMT+12", -12, "12300002"}};
    for (size_t i = 0; i < 2; i++) {
        setenv("TESSERA_CONSULTATIONS_TIMEZONE", zones[i].zone, 1);
        restart_consultations();
        char today[11], tomorrow[11], text[1024], out[2048];
        day_in_zone(zones[i].offset_hours, 0, today);
        day_in_zone(zones[i].offset_hours, 1, tomorrow);
        const char *days[2] = {tomorrow, today};
        for (int d = 0; d < 2; d++) {
            snprintf(text, sizeof(text),
                     "Organisation ID,Organisation name,Step ID,Step type,Step started on,Step completed on,"
                     "Date and time of consult,Source of contact,Referrer name,Relationship with "
                     "subject(s),Outcome(s)\n"
                     "7600002,Office Clock Centre,%s,Consultation (CSSW),%s,%s,%s,SCHOOLS,,,\n",
                     zones[i].step, days[d], days[d], days[d]);
            int rc = run_import("today.csv", text, out, sizeof(out));
            if (d == 0 && (rc != 2 || strstr(out, "is in the future") == NULL))
                fail_msg("%s, %s: tomorrow (%s) was not refused (%d): %s", zones[i].zone, zones[i].step,
                         tomorrow, rc, out);
            if (d == 1 && rc != 0)
                fail_msg("%s: today (%s) was refused (%d): %s", zones[i].zone, today, rc, out);
        }
    }
    unsetenv("TESSERA_CONSULTATIONS_TIMEZONE");
    restart_consultations();
}

/* A batch job that imports and then reports at once: the report counts what the import loaded
 * (it was kept a moment later, from the import's events, and the report ran before). */
static void test_a_report_run_straight_after_an_import_counts_what_it_loaded(void **state)
{
    (void)state;
    const char *text =
        "Organisation ID,Organisation name,Step ID,Step type,Step started on,Step completed on,"
        "Date and time of consult,Source of contact,Referrer name,Relationship with subject(s),"
        "Outcome(s)\n"
        "7500065,Hampden Children Centre,11900001,Consultation (CSSW),2019-02-04,2019-02-05,"
        "2019-02-04,SCHOOLS,,,Referral to Mash\n"
        "7500065,Hampden Children Centre,11900002,Consultation (CSEW),2019-02-11,2019-02-12,"
        "2019-02-11,SCHOOLS,,,Further information given\n"
        "7504989,Consult,11900003,Consultation (CSSW),2019-02-18,2019-02-19,2019-02-18,SCHOOLS,,,\n";
    char out[8192];
    assert_int_equal(run_import("batch-then-report.csv", text, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "Loaded 3 consultations"));
    assert_int_equal(
        run_tool("report consultations-in-period --start 2019-02-01 --end 2019-02-28 --format json", out,
                 sizeof(out)),
        0);
    json_t *report = json_loads(out, 0, NULL);
    assert_non_null(report);
    if (json_integer_value(json_object_get(json_object_get(report, "by_outcome"), "total")) != 3)
        fail_msg("the report straight after the import: %s", out);
    assert_int_equal(json_array_size(json_object_get(json_object_get(report, "rows"), "items")), 3);
    json_decref(report);
}

static void test_the_same_step_with_other_details_is_refused_and_the_file_not_loaded(void **state)
{
    (void)state;
    import_seed();
    const char *text =
        "Organisation ID,Organisation name,Step ID,Step type,Step started on,Step completed on,"
        "Date and time of consult,Source of contact,Referrer name,Relationship with subject(s),"
        "Outcome(s)\n"
        "7500065,Hampden Children Centre,12000010,Consultation (CSSW),2022-10-03,2022-10-03,"
        "2022-10-03,SCHOOLS,,,\n"
        "7500065,Hampden Children Centre,13011369,Consultation (CSSW),2022-11-25,2022-11-25,"
        "2022-11-25,SCHOOLS,Nadia Okafor,,\n"
        "7500065,Hampden Children Centre,13011293,Consultation (CSSW),2022-11-19,2022-11-19,"
        "2022-11-19,SCHOOLS,Tomasz Green,Manager,Further information given\n";
    char out[2048];
    assert_int_equal(run_import("changed.csv", text, out, sizeof(out)), 2);
    /* Every row that clashes is named in one run, as the check's faults are. */
    assert_non_null(strstr(out, "Line 3: step 13011369 is already on the system with other details"));
    assert_non_null(strstr(out, "1 other row has a fault too. Nothing was loaded."));
    assert_non_null(strstr(out, "Line 4: step 13011293 is already on the system with other details"));
    assert_int_equal(
        testenv_sql_long(testenv,
                         "SELECT count(*) FROM consultations.consultations WHERE step_id = 12000010"),
        0);
    assert_int_equal(
        testenv_sql_long(testenv, "SELECT count(*) FROM consultations.consultations WHERE step_id = 13011369"
                                  " AND source = 'education-services'"),
        1);
}

static void test_consultations_completed_outside_the_period_are_left_out(void **state)
{
    (void)state;
    import_seed();
    const char *text =
        "Organisation ID,Organisation name,Step ID,Step type,Step started on,Step completed on,"
        "Date and time of consult,Source of contact,Referrer name,Relationship with subject(s),"
        "Outcome(s)\n"
        "7500065,Hampden Children Centre,12000020,Consultation (CSSW),2022-11-10,2022-11-13,"
        "2022-11-13T23:30:00Z,POLICE,,,Referral to Mash\n"
        "7501200,Brookfield Primary School,12000021,Consultation (CSEW),2022-12-01,2022-12-02,"
        "2022-12-01,SCHOOLS,,,\n";
    char out[2048];
    assert_int_equal(run_import("edges.csv", text, out, sizeof(out)), 0);
    char *manager = testenv_login(testenv, "mash.manager");
    wait_for_total(manager, "start=2022-11-13&end=2022-11-13", 1);
    wait_for_total(manager, "start=2022-12-02&end=2022-12-31", 1);
    wait_for_total(manager, "start=2022-11-13&end=2022-12-02", 7);
    /* Whole months are counted from the month's counts, the days at the ends from the days'. */
    wait_for_total(manager, "start=2022-11-01&end=2022-11-30", 6);
    wait_for_total(manager, "start=2022-11-01&end=2022-12-01", 6);
    wait_for_total(manager, "start=2022-10-15&end=2022-12-05", 7);
    wait_for_total(manager, "start=2022-11-14&end=2022-11-30", 5);
    wait_for_total(manager, "start=2022-01-01&end=2022-12-31", 7);
    /* One organisation under two names (the old system's, and ours after a renaming) is one line of
     * 03, under the name it was last counted with. */
    assert_int_equal(
        run_import("renamed.csv",
                   "Organisation ID,Organisation name,Step ID,Step type,Step started on,"
                   "Step completed on,Date and time of consult,Source of contact,Referrer name,Relationship "
                   "with subject(s),Outcome(s)\n"
                   "7501200,Brookfield Infants,12000022,Consultation (CSSW),2020-02-10,2020-02-10,"
                   "2020-02-10,SCHOOLS,,,\n"
                   "7501200,Brookfield Primary School,12000023,Consultation (CSSW),2020-03-04,"
                   "2020-03-04,2020-03-04,SCHOOLS,,,\n",
                   out, sizeof(out)),
        0);
    wait_for_total(manager, "start=2020-02-01&end=2020-03-31", 2);
    json_t *report = testenv_call_json(
        testenv, manager, "GET", "/api/v1/reports/consultations-in-period?start=2020-02-01&end=2020-03-31",
        NULL, 200);
    json_t *groups = json_object_get(json_object_get(report, "by_organisation"), "items");
    if (json_array_size(groups) != 1 ||
        strcmp(testenv_str(json_array_get(groups, 0), "name"), "Brookfield Primary School") != 0 ||
        json_integer_value(json_object_get(json_array_get(groups, 0), "count")) != 2)
        fail_msg("03 for one organisation under two names: %s", json_dumps(groups, 0));
    json_decref(report);
    /* The seed's period is as it was. */
    testenv_response_t r = testenv_http(testenv, "GET", REPORT_PATH "&format=csv", manager, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_seed_csv(r.body);
    testenv_response_free(&r);
    /* Late in the evening of 13 November (UTC), on the office clock: still the 13th for the row. */
    r = testenv_http(testenv, "GET",
                     "/api/v1/reports/consultations-in-period?start=2022-11-13&end=2022-11-13", manager, NULL,
                     NULL);
    json_t *row = json_array_get(json_object_get(json_object_get(r.json, "rows"), "items"), 0);
    assert_string_equal(testenv_str(row, "consulted_at"), "2022-11-13T23:30:00Z");
    assert_string_equal(testenv_str(row, "consulted_on"), "2022-11-13");
    testenv_response_free(&r);
    free(manager);
}

/* U+FFFE and its like are no characters: a referrer's name holding one was loaded, and the report's
 * XLSX made from it would not open. The import refuses it naming the line and the column, as a
 * control character, and loads nothing. */
static void test_an_import_with_a_character_that_is_not_text_is_refused_naming_it(void **state)
{
    (void)state;
    long before = testenv_sql_long(testenv, "SELECT count(*) FROM consultations.consultations");
    const char *text =
        "Organisation ID,Organisation name,Step ID,Step type,Step started on,Step completed on,"
        "Date and time of consult,Source of contact,Referrer name,Relationship with subject(s),"
        "Outcome(s)\n"
        "7500065,Hampden Children Centre,12300011,Consultation (CSSW),2017-04-03,2017-04-03,2017-04-03,"
        "SCHOOLS,Kai\xef\xbf\xbeMorgan,Aunt,Referral to Mash\n"
        "7500065,Hampden Children Centre\xef\xb7\x90,12300012,Consultation (CSSW),2017-04-03,2017-04-03,"
        "2017-04-03,SCHOOLS,Robin Ash,,\n"
        "7500065,Hampden Children Centre,12300013,Consultation (CSSW),2017-04-03,2017-04-03,2017-04-03,"
        "SCHOOLS,Lee\x1b[31mBrook,,\n";
    char out[2048];
    assert_int_equal(run_import("not-text.csv", text, out, sizeof(out)), 2);
    static const char *const says[] = {
        "not-text.csv: Line 2: Referrer name holds U+FFFE, which is not a character: take it out.",
        "not-text.csv: Line 3: Organisation name holds U+FDD0, which is not a character: take it out.",
        "not-text.csv: Line 4: Referrer name holds a control character (U+001B): take it out."};
    for (size_t i = 0; i < sizeof(says) / sizeof(says[0]); i++)
        if (strstr(out, says[i]) == NULL)
            fail_msg("the import does not say \"%s\": %s", says[i], out);
    assert_int_equal(testenv_sql_long(testenv, "SELECT count(*) FROM consultations.consultations"), before);
}

/* Text kept before noncharacters were refused (or put in by another way) no longer breaks a file: a
 * referrer's name holding U+FFFE made the report's XLSX malformed XML, which Excel said had a problem
 * and LibreOffice read up to that row only. Every writer shows such a character as U+FFFD: the XLSX
 * parses and holds every row, and so do the CSV and the HTML. */
static void test_a_kept_name_that_is_not_text_leaves_every_format_readable_with_every_row(void **state)
{
    (void)state;
    /* As old data is: in the read model, as the events of before the check brought it. */
    char out[2048];
    const char *sql =
        "\\set ON_ERROR_STOP on\n"
        "SET search_path TO reporting;\n"
        "INSERT INTO consultations (step_id, step_title, organisation_id, organisation_name, started_on,"
        " completed_on, consulted_on, source, source_title, referrer_name, referrer_relationship,"
        " outcomes, outcome_titles, imported, state) VALUES"
        " (11700001, 'Consultation (CSSW)', 7500065, 'Hampden Children Centre', '2017-05-10', '2017-05-10',"
        "  '2017-05-10', 'schools', 'SCHOOLS', E'Kai\\uFFFEMorgan', E'Aunt\\uFFFF', '{referral-to-mash}',"
        "  '{Referral to Mash}', true, 'completed'),"
        " (11700002, 'Consultation (CSSW)', 7500065, 'Hampden Children Centre', '2017-05-10', '2017-05-10',"
        "  '2017-05-10', 'schools', 'SCHOOLS', E'Lee\\u001bBrook', 'Nurse', '{}', '{}', true, 'completed'),"
        " (11700003, 'Consultation (CSSW)', 7599001, E'Zephyr\\uFDD0 Youth Club', '2017-05-11',"
        "  '2017-05-11', '2017-05-11', 'schools', 'SCHOOLS', 'Robin Ash', 'Teacher', '{}', '{}', true,"
        "  'completed');\n";
    if (testenv_psql(testenv, NULL, sql, out, sizeof(out)) != 0)
        fail_msg("the old rows could not be put in: %s", out);
    char *manager = testenv_login(testenv, "mash.manager");
    const char *period = "/api/v1/reports/consultations-in-period?start=2017-05-01&end=2017-05-31";
    char path[200];
    snprintf(path, sizeof(path), "%s&format=xlsx", period);
    testenv_response_t r = testenv_http(testenv, "GET", path, manager, NULL, NULL);
    assert_int_equal(r.status, 200);
    char xlsx[512], cmd[1400];
    /* Read back by another program: every row, each such character shown as U+FFFD. */
    char *read_back = xlsx_read_back(&r, "not-text", xlsx);
    testenv_response_free(&r);
    /* Every XML part of the workbook is well-formed XML (the sheet was not), with none of the three. */
    snprintf(cmd, sizeof(cmd),
             "python3 -c 'import sys, zipfile, xml.dom.minidom as m\n"
             "z = zipfile.ZipFile(sys.argv[1])\n"
             "for n in z.namelist():\n"
             "    if n.endswith(\".xml\"):\n"
             "        b = z.read(n); m.parseString(b)\n"
             "        assert \"\\ufffe\".encode() not in b and \"\\uffff\".encode() not in b, n\n"
             "' %s 2>&1",
             xlsx);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    if (WEXITSTATUS(pclose(p)) != 0)
        fail_msg("the XLSX is not well-formed XML: %s", out);
    static const char *const rows[] = {
        "7500065,Hampden Children Centre,11700001,Consultation (CSSW),10/05/2017,10/05/2017,10/05/2017,"
        "SCHOOLS,Kai\xef\xbf\xbdMorgan,Aunt\xef\xbf\xbd,Referral to Mash",
        "7500065,Hampden Children Centre,11700002,Consultation (CSSW),10/05/2017,10/05/2017,10/05/2017,"
        "SCHOOLS,Lee\xef\xbf\xbd"
        "Brook,Nurse",
        "7599001,Zephyr\xef\xbf\xbd Youth Club,11700003,Consultation (CSSW),11/05/2017,11/05/2017,11/05/2017,"
        "SCHOOLS,Robin Ash,Teacher",
        "Zephyr\xef\xbf\xbd Youth Club,1", "SCHOOLS,3"};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (strstr(read_back, rows[i]) == NULL)
            fail_msg("the XLSX read back lacks '%s': %s", rows[i], read_back);
    free(read_back);
    /* The CSV and the HTML show the same, and hold none of the three. */
    static const char *const formats[] = {"csv", "html"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s&format=%s", period, formats[i]);
        r = testenv_http(testenv, "GET", path, manager, NULL, NULL);
        assert_int_equal(r.status, 200);
        if (strstr(r.body, "Kai\xef\xbf\xbdMorgan") == NULL || strstr(r.body, "Robin Ash") == NULL ||
            strstr(r.body, "\xef\xbf\xbe") != NULL || strstr(r.body, "\xef\xbf\xbf") != NULL ||
            strstr(r.body, "\xef\xb7\x90") != NULL || strchr(r.body, '\x1b') != NULL)
            fail_msg("the %s report: %s", formats[i], r.body);
        testenv_response_free(&r);
    }
    free(manager);
}

static void test_the_json_rows_come_in_pages_that_cover_the_period_once(void **state)
{
    (void)state;
    import_seed();
    char *manager = testenv_login(testenv, "mash.manager");
    wait_for_total(manager, PERIOD, 5);
    char path[600];
    const char *cursor = NULL;
    char cursor_copy[400] = "";
    int seen = 0, pages = 0;
    char first_cursor[400] = "";
    do {
        snprintf(path, sizeof(path), REPORT_PATH "&limit=2%s%s", cursor ? "&cursor=" : "",
                 cursor ? cursor : "");
        testenv_response_t r = testenv_http(testenv, "GET", path, manager, NULL, NULL);
        assert_int_equal(r.status, 200);
        json_t *rows = json_object_get(r.json, "rows");
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(rows, "items"), i, item)
        {
            assert_string_equal(testenv_str(item, "step_id"), seed_rows[seen][2]);
            /* The seed's five came from the old system: no work step of ours to link to. */
            assert_true(json_is_true(json_object_get(item, "imported")));
            seen++;
        }
        cursor = json_string_value(json_object_get(rows, "next_cursor"));
        if (cursor) {
            snprintf(cursor_copy, sizeof(cursor_copy), "%s", cursor);
            cursor = cursor_copy;
            if (first_cursor[0] == '\0')
                snprintf(first_cursor, sizeof(first_cursor), "%s", cursor);
        }
        pages++;
        testenv_response_free(&r);
    } while (cursor != NULL && pages < 10);
    assert_int_equal(seen, 5);
    assert_int_equal(pages, 3);
    /* A page's cursor is of its period: with another it was read as a place in that one, and the
     * rows before that place were silently left out. */
    snprintf(path, sizeof(path),
             "/api/v1/reports/consultations-in-period?start=2022-11-01&end=2022-12-31&limit=2"
             "&cursor=%s",
             first_cursor);
    testenv_call_error(testenv, manager, "GET", path, NULL, 400, "invalid_cursor", "cursor");
    free(manager);
}

/* A manager reads the organisations in alphabetical order, capitals and accents set aside: with the
 * cluster made with --locale=C.UTF-8, 'Zephyr Youth Club' came before 'abbey Road Nursery' (every
 * capital before every small letter) and 'Ébène Day Nursery' last (É after z), in section 03, in
 * section 04 and in the JSON's pages. The pages follow the same order, each row once. */
static void test_organisations_are_in_alphabetical_order_whatever_their_capitals_and_accents(void **state)
{
    (void)state;
#define EBENE                                                                                                \
    "\xc3\x89"                                                                                               \
    "b\xc3\xa8"                                                                                              \
    "ne Day Nursery"
    const char *text =
        "Organisation ID,Organisation name,Step ID,Step type,Step started on,Step completed on,"
        "Date and time of consult,Source of contact,Referrer name,Relationship with subject(s),"
        "Outcome(s)\n"
        "7600101,Zephyr Youth Club,12400001,Consultation (CSSW),2016-06-06,2016-06-06,2016-06-06,SCHOOLS,,,\n"
        "7600102,abbey Road Nursery,12400002,Consultation "
        "(CSSW),2016-06-07,2016-06-07,2016-06-07,SCHOOLS,,,\n"
        "7600103," EBENE ",12400004,Consultation (CSSW),2016-06-08,2016-06-08,2016-06-08,SCHOOLS,,,\n"
        "7600103," EBENE ",12400003,Consultation (CSSW),2016-06-08,2016-06-08,2016-06-08,SCHOOLS,,,\n";
    char out[2048];
    int rc = run_import("alphabet.csv", text, out, sizeof(out));
    if (rc != 0)
        fail_msg("import failed (%d): %s", rc, out);
    char *manager = testenv_login(testenv, "mash.manager");
    const char *query = "start=2016-06-01&end=2016-06-30";
    wait_for_total(manager, query, 4);
    static const char *const names[] = {"abbey Road Nursery", EBENE, "Zephyr Youth Club"};
    static const char *const steps[] = {"12400002", "12400003", "12400004", "12400001"};
    char path[700];
    snprintf(path, sizeof(path), "/api/v1/reports/consultations-in-period?%s", query);
    json_t *report = testenv_call_json(testenv, manager, "GET", path, NULL, 200);
    json_t *groups = json_object_get(json_object_get(report, "by_organisation"), "items");
    assert_int_equal(json_array_size(groups), 3);
    for (size_t i = 0; i < 3; i++)
        if (strcmp(testenv_str(json_array_get(groups, i), "name"), names[i]) != 0)
            fail_msg("03: %zu is '%s', not '%s'", i + 1, testenv_str(json_array_get(groups, i), "name"),
                     names[i]);
    json_decref(report);
    /* Page by page, one row a page: each row once, in that order, the two of one organisation by step. */
    char cursor[600] = "";
    size_t seen = 0;
    for (int page = 0; page < 6; page++) {
        snprintf(path, sizeof(path), "/api/v1/reports/consultations-in-period?%s&limit=1%s%s", query,
                 cursor[0] ? "&cursor=" : "", cursor);
        report = testenv_call_json(testenv, manager, "GET", path, NULL, 200);
        json_t *rows = json_object_get(report, "rows");
        json_t *item = json_array_get(json_object_get(rows, "items"), 0);
        if (item != NULL) {
            if (seen >= 4 || strcmp(testenv_str(item, "step_id"), steps[seen]) != 0)
                fail_msg("page %d: step %s, where %s was to come", page + 1, testenv_str(item, "step_id"),
                         seen < 4 ? steps[seen] : "nothing");
            seen++;
        }
        const char *next = json_string_value(json_object_get(rows, "next_cursor"));
        snprintf(cursor, sizeof(cursor), "%s", next ? next : "");
        json_decref(report);
        if (cursor[0] == '\0')
            break;
    }
    assert_int_equal(seen, 4);
    /* The CSV (and so the XLSX and HTML, laid out alike) in the same order, in 03 and in 04. */
    snprintf(path, sizeof(path), "/api/v1/reports/consultations-in-period?%s&format=csv", query);
    testenv_response_t r = testenv_http(testenv, "GET", path, manager, NULL, NULL);
    assert_int_equal(r.status, 200);
    const char *in_03[] = {"\nabbey Road Nursery,1\r\n", "\n" EBENE ",2\r\n", "\nZephyr Youth Club,1\r\n"};
    const char *in_04[] = {"\n7600102,abbey Road Nursery,12400002,", "\n7600103," EBENE ",12400003,",
                           "\n7600103," EBENE ",12400004,", "\n7600101,Zephyr Youth Club,12400001,"};
    const char *at = r.body;
    for (size_t i = 0; i < 3; i++)
        if ((at = strstr(at, in_03[i])) == NULL)
            fail_msg("03 in the CSV is not in order at '%s': %s", in_03[i], r.body);
    for (size_t i = 0; i < 4; i++)
        if ((at = strstr(at, in_04[i])) == NULL)
            fail_msg("04 in the CSV is not in order at '%s': %s", in_04[i], r.body);
    testenv_response_free(&r);
    free(manager);
#undef EBENE
}

static void test_the_report_checks_its_period_format_and_who_asks(void **state)
{
    (void)state;
    char *manager = testenv_login(testenv, "mash.manager");
    char *sw = testenv_login(testenv, "mash.sw");
    struct {
        const char *query;
        long status;
        const char *code;
        const char *field;
    } cases[] = {
        {"end=2022-12-01", 400, "missing_field", "start"},
        {"start=2022-11-14", 400, "missing_field", "end"},
        {"start=2022-11-31&end=2022-12-01", 400, "invalid_date", "start"},
        /* No year 0: it got as far as PostgreSQL, which refused it (a 500). */
        {"start=0000-01-01&end=2022-12-01", 400, "invalid_date", "start"},
        {"start=2022-12-01&end=2022-11-14", 400, "invalid_period", "end"},
        {PERIOD "&format=pdf", 400, "invalid_format", "format"},
        {PERIOD "&format=csv&limit=10", 400, "not_paged", "limit"},
        {PERIOD "&limit=0", 400, "invalid_limit", "limit"},
        {PERIOD "&cursor=zz", 400, "invalid_cursor", "cursor"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[300];
        snprintf(path, sizeof(path), "/api/v1/reports/consultations-in-period?%s", cases[i].query);
        testenv_response_t r = testenv_http(testenv, "GET", path, manager, NULL, NULL);
        testenv_assert_error(&r, cases[i].status, cases[i].code);
        assert_string_equal(testenv_str(json_object_get(r.json, "error"), "field"), cases[i].field);
        testenv_response_free(&r);
    }
    /* Referrers' names are personal data: a social worker may not run the report. */
    testenv_response_t r = testenv_http(testenv, "GET", REPORT_PATH, sw, NULL, NULL);
    testenv_assert_error(&r, 403, "forbidden");
    testenv_response_free(&r);
    r = testenv_http(testenv, "GET", REPORT_PATH, NULL, NULL, NULL);
    assert_int_equal(r.status, 401);
    testenv_response_free(&r);
    free(manager);
    free(sw);
}

int main(void)
{
    /* The authority's name above the report, as the seed's is. */
    setenv("TESSERA_REPORTING_LOCAL_AUTHORITY", "London Borough of Camden", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_seeds_five_consultations_give_exactly_the_seeds_four_tables_in_json),
        cmocka_unit_test(test_the_seeds_four_tables_in_csv_and_html),
        cmocka_unit_test(test_the_xlsx_opens_in_another_program_with_the_same_figures),
        cmocka_unit_test(test_the_batch_command_writes_what_the_api_gives),
        cmocka_unit_test(test_importing_the_same_file_twice_loads_nothing_more),
        cmocka_unit_test(test_a_bad_row_is_reported_with_its_line_and_nothing_is_loaded),
        cmocka_unit_test(test_a_spreadsheets_csv_with_a_bom_quotes_and_crlf_loads),
        cmocka_unit_test(test_uk_dates_and_the_offices_clock_load_as_those_days_and_moments),
        cmocka_unit_test(test_an_imported_date_is_in_the_future_by_the_offices_day),
        cmocka_unit_test(test_the_same_step_with_other_details_is_refused_and_the_file_not_loaded),
        cmocka_unit_test(test_a_report_run_straight_after_an_import_counts_what_it_loaded),
        cmocka_unit_test(test_consultations_completed_outside_the_period_are_left_out),
        cmocka_unit_test(test_an_import_with_a_character_that_is_not_text_is_refused_naming_it),
        cmocka_unit_test(test_a_kept_name_that_is_not_text_leaves_every_format_readable_with_every_row),
        cmocka_unit_test(test_the_json_rows_come_in_pages_that_cover_the_period_once),
        cmocka_unit_test(test_organisations_are_in_alphabetical_order_whatever_their_capitals_and_accents),
        cmocka_unit_test(test_the_report_checks_its_period_format_and_who_asks),
    };
    return cmocka_run_group_tests(tests, testenv_group_setup, testenv_group_teardown);
}
