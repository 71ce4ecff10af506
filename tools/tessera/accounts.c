/* tessera accounts add-administrator: the first system administrator of an instance outside demo
 * mode (the API adds workers only for an administrator who is already there), or the recovery of
 * one locked out. Run as the system on the bus, so it needs the machine's configuration; the
 * password comes from a file only its owner can read, never from the command line.
 * tessera accounts republish: every account announced again as it stands, after an upgrade that
 * added to the other daemons' copies of the accounts. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "accounts.pb-c.h"
#include "cli.h"

int cli_accounts_add_administrator(cli_context_t *ctx, int argc, char **argv)
{
    const char *username = NULL, *name = NULL, *email = NULL, *password_file = NULL, *dbs = NULL,
               *training = NULL, *aup = NULL, *conflicts = NULL, *barred = NULL;
    cli_option_t options[] = {{"--username", &username, 1},
                              {"--name", &name, 1},
                              {"--email", &email, 0},
                              {"--password-file", &password_file, 1},
                              {"--dbs-checked-on", &dbs, 1},
                              {"--training-completed-on", &training, 1},
                              {"--aup-signed-on", &aup, 1},
                              {"--conflicts-declared-on", &conflicts, 1},
                              {"--dbs-barred-lists", &barred, 0}};
    if (cli_read_options(argc, argv, options, sizeof(options) / sizeof(options[0])) != 0) {
        fprintf(stderr,
                "usage: tessera accounts add-administrator --username U --name N --password-file F\n"
                "         --dbs-checked-on YYYY-MM-DD --training-completed-on YYYY-MM-DD "
                "--aup-signed-on YYYY-MM-DD\n"
                "         --conflicts-declared-on YYYY-MM-DD [--dbs-barred-lists both|children|adults] "
                "[--email E]\n");
        return 2;
    }
    char password[512];
    tsr_error_t err;
    if (tsr_config_read_secret_file("--password-file", password_file, password, sizeof(password), &err) !=
        0) {
        fprintf(stderr, "tessera: %s\n", err.message);
        return 2;
    }
    static char *roles[] = {"admin", "system-support"};
    Tsr__Accounts__WorkerPrerequisites pre = TSR__ACCOUNTS__WORKER_PREREQUISITES__INIT;
    pre.dbs_checked_on = (char *)dbs;
    pre.training_completed_on = (char *)training;
    pre.aup_signed_on = (char *)aup;
    pre.conflicts_declared_on = (char *)conflicts;
    pre.dbs_barred_lists = (char *)(barred ? barred : "");
    Tsr__Accounts__WorkerImport in = TSR__ACCOUNTS__WORKER_IMPORT__INIT;
    in.username = (char *)username;
    in.name = (char *)name;
    in.email = (char *)(email ? email : "");
    in.password = password;
    in.roles = roles;
    in.n_roles = 2;
    in.prerequisites = &pre;
    uint64_t id = 0;
    int ended = 0;
    int rc = cli_worker_import(ctx, &in, &id, &ended);
    sodium_memzero(password, sizeof(password));
    if (rc != 0)
        return 1;
    if (ended) {
        fprintf(stderr,
                "tessera: the account %s (worker %llu) has ended, and an ended account is not opened again: "
                "nothing was changed, and it cannot sign in. Run this again with a new username.\n",
                username, (unsigned long long)id);
        return 1;
    }
    printf("Administrator %s (worker %llu) can sign in, with the roles admin and system-support.\n", username,
           (unsigned long long)id);
    return 0;
}

int cli_accounts_republish(cli_context_t *ctx, int argc, char **argv)
{
    (void)argv;
    if (argc != 0) {
        fprintf(stderr, "usage: tessera accounts republish\n");
        return 2;
    }
    Tsr__Accounts__WorkersRepublish in = TSR__ACCOUNTS__WORKERS_REPUBLISH__INIT;
    Tsr__Envelope *reply = NULL;
    tsr_error_t err;
    if (cli_call_timeout(ctx, "accounts", "accounts.workers.republish", &in.base, 300000, &reply, &err) !=
        0) {
        fprintf(stderr, "tessera: the accounts were not announced again: %s\n", err.message);
        return err.status == TSR_E_UNAVAILABLE ? 2 : 1;
    }
    Tsr__Accounts__WorkersRepublished *out =
        tsr__accounts__workers_republished__unpack(NULL, reply->payload.len, reply->payload.data);
    tsr__envelope__free_unpacked(reply, NULL);
    if (out == NULL) {
        fprintf(stderr, "tessera: the accounts daemon's answer could not be read\n");
        return 2;
    }
    printf("Announced %u accounts again as they stand; each daemon brings its copy up to date as it "
           "applies them.\n",
           out->count);
    tsr__accounts__workers_republished__free_unpacked(out, NULL);
    return 0;
}
