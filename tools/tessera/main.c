/* tessera: the suite's command-line tool for batch jobs and administration. Each command is one
 * entry in the table below, implemented in its own file. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const cli_command_t cli_commands[] = {
    {"demo", "load", "demo load FILE            load demo workers and organisations (demo mode only)",
     cli_demo_load, 0},
    {"report", "consultations-in-period",
     "report consultations-in-period --start YYYY-MM-DD --end YYYY-MM-DD --format csv|json|html|xlsx "
     "[--output FILE]\n"
     "                            'Consultations in period' (seed 000), to standard output or FILE",
     cli_report_consultations_in_period, 0},
    {"import", "consultations",
     "import consultations FILE.csv\n"
     "                            completed consultations from the old system; every row is checked "
     "first,\n"
     "                            the file loads whole or not at all, and loading it again changes nothing",
     cli_import_consultations, 0},
    {"import", "family-context",
     "import family-context SOURCE FILE.csv --coverage-from YYYY-MM-DD --coverage-to YYYY-MM-DD\n"
     "                            [--contact-name N --contact-role R --contact-telephone T --contact-email "
     "E]\n"
     "                            another service's records for Family Context (school, housing, police,\n"
     "                            adult-social-care); every line is checked first, and the file replaces\n"
     "                            the source's records whole or changes nothing",
     cli_import_family_context, 0},
    {"audit", "verify",
     "audit verify              check every entry of the audit trail against its hash chain; exit 1 and\n"
     "                            name the first entry changed or removed when it does not hold",
     cli_audit_verify, 0},
    {"audit", "report",
     "audit report KIND --from YYYY-MM-DD --to YYYY-MM-DD --format csv|json [--output FILE]\n"
     "                            an audit of use (seed 002): unallocated-access, own-or-connected-records,\n"
     "                            third-party-access, leavers or dormant-accounts",
     cli_audit_report, 0},
    {"retention", "due",
     "retention due [--on YYYY-MM-DD] [--service CSSW|EH|ASC] --format csv|json [--output FILE]\n"
     "                            the records due for disposal on a day (seed 002; today by default), a "
     "line\n"
     "                            per flag; with --service, the records that service flagged",
     cli_retention_due, 0},
    {"cpis", "export-plans",
     "cpis export-plans [--output FILE]\n"
     "                            a CP-IS upload file now (as the schedule makes them): every plan due,\n"
     "                            each checked as the national service matches it; held-back ones listed",
     cli_cpis_export_plans, 0},
    {"cpis", "read-response",
     "cpis read-response FILE_SEQUENCE_NUMBER RESPONSE.json\n"
     "                            the national service's response to an upload file (docs/cpis-feed.md)",
     cli_cpis_read_response, 0},
    {"cpis", "renumber-files",
     "cpis renumber-files NEXT_FILE_SEQUENCE_NUMBER\n"
     "                            after a restore to an earlier point: the next upload file gets this\n"
     "                            number, above every one the national service has received; never back",
     cli_cpis_renumber_files, 0},
    {"accounts", "add-administrator",
     "accounts add-administrator --username U --name N --password-file F --dbs-checked-on YYYY-MM-DD\n"
     "                            --training-completed-on YYYY-MM-DD --aup-signed-on YYYY-MM-DD\n"
     "                            --conflicts-declared-on YYYY-MM-DD\n"
     "                            [--dbs-barred-lists both|children|adults] [--email E]\n"
     "                            the first system administrator (admin and system-support), outside demo\n"
     "                            mode too; the same username again resets its name and password",
     cli_accounts_add_administrator, 0},
    {"accounts", "republish",
     "accounts republish        every account announced again as it stands, for the other daemons'\n"
     "                            copies of the accounts (after an upgrade that added to them)",
     cli_accounts_republish, 0},
    {"curve", "keypair",
     "curve keypair SECRET_FILE\n"
     "                            a key pair for a process of the suite on a CURVE bus: the secret key to\n"
     "                            the new file SECRET_FILE (its owner's alone), the public key printed",
     cli_curve_keypair, 1},
};

/* Whether the words after a command ask for its usage (--help or -h), rather than its work. */
static int cli__asks_help(int argc, char **argv, int from)
{
    for (int k = from; k < argc; k++)
        if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0)
            return 1;
    return 0;
}

/* The usage of the commands of group (every one when verb is NULL, else that one), to standard
 * output: `tessera GROUP --help`, `tessera GROUP VERB --help`. */
static void cli__usage_of(const char *group, const char *verb)
{
    for (size_t i = 0; i < sizeof(cli_commands) / sizeof(cli_commands[0]); i++)
        if (strcmp(cli_commands[i].group, group) == 0 &&
            (verb == NULL || strcmp(cli_commands[i].verb, verb) == 0))
            printf("usage: tessera [--config FILE] %s\n", cli_commands[i].usage);
}

static void cli__usage(FILE *out)
{
    fprintf(out, "usage: tessera [--config FILE] COMMAND ...\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(cli_commands) / sizeof(cli_commands[0]); i++)
        fprintf(out, "  %s\n", cli_commands[i].usage);
    fprintf(out, "\nSettings come from FILE (or $TESSERA_CONFIG); TESSERA_<SECTION>_<KEY> overrides any.\n");
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config_path = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            cli__usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "tessera: unknown option %s\n", argv[i]);
            cli__usage(stderr);
            return 2;
        }
    }
    int group = 0;
    for (size_t c = 0; i < argc && c < sizeof(cli_commands) / sizeof(cli_commands[0]); c++)
        group |= strcmp(cli_commands[c].group, argv[i]) == 0;
    /* tessera accounts --help: the group's commands. */
    if (group && i + 1 < argc && (strcmp(argv[i + 1], "--help") == 0 || strcmp(argv[i + 1], "-h") == 0)) {
        cli__usage_of(argv[i], NULL);
        return 0;
    }
    if (i == argc || !group || i + 1 == argc) {
        if (i == argc)
            fprintf(stderr, "tessera: give a command (below)\n");
        else if (!group)
            fprintf(stderr, "tessera: unknown command '%s'\n", argv[i]);
        else
            fprintf(stderr, "tessera: '%s' needs a second word: one of the commands below\n", argv[i]);
        cli__usage(stderr);
        return 2;
    }
    for (size_t c = 0; c < sizeof(cli_commands) / sizeof(cli_commands[0]); c++) {
        if (strcmp(cli_commands[c].group, argv[i]) == 0 && strcmp(cli_commands[c].verb, argv[i + 1]) == 0) {
            /* Its usage, without a configuration or a daemon: each command's own option reading took
             * --help for an option it did not know (exit 2). */
            if (cli__asks_help(argc, argv, i + 2)) {
                cli__usage_of(argv[i], argv[i + 1]);
                return 0;
            }
            /* A key pair is made before there is a configuration to hold it. */
            if (cli_commands[c].standalone)
                return cli_commands[c].run(NULL, argc - i - 2, argv + i + 2);
            cli_context_t ctx;
            if (cli_context_open(&ctx, config_path) != 0)
                return 2;
            int rc = cli_commands[c].run(&ctx, argc - i - 2, argv + i + 2);
            cli_context_close(&ctx);
            return rc;
        }
    }
    fprintf(stderr, "tessera: unknown command '%s %s'\n", argv[i], argv[i + 1]);
    cli__usage(stderr);
    return 2;
}
