#include "account.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.pb-c.h"
#include "tsr_envelope.h"
#include "tsr_log.h"
#include "tsr_text.h"

const char *const accounts_administrators[] = {"admin", "system-support", "system", NULL};

int accounts_actor_administers(const Tsr__Actor *actor)
{
    if (actor == NULL || (actor->worker_id == 0 && !tsr_actor_is_system(actor)))
        return 0;
    for (const char *const *r = accounts_administrators; *r != NULL; r++)
        if (tsr_actor_has_role(actor, *r))
            return 1;
    return 0;
}

#define ACCOUNT_MAX_ROLES 32

/* One SELECT list for every reading of accounts, so that a column cannot mean one thing here and
 * another there. The enum below numbers its columns. */
#define ACCOUNT_COLUMNS                                                                                      \
    "w.id, w.username, w.name, array_to_string(w.roles, ','), coalesce(w.manager_id, 0),"                    \
    " coalesce(m.name, ''), " ACCOUNTS_STATE_SQL ", c.worker_id IS NOT NULL, coalesce(c.name, ''),"          \
    " coalesce(to_char(c.end_date, 'YYYY-MM-DD'), ''), coalesce(array_to_string(c.person_ids, ','), ''),"    \
    " coalesce(to_char(w.dbs_checked_on, 'YYYY-MM-DD'), ''), w.risk_assessment_approved,"                    \
    " coalesce(to_char(w.training_completed_on, 'YYYY-MM-DD'), ''),"                                         \
    " coalesce(to_char(w.aup_signed_on, 'YYYY-MM-DD'), ''),"                                                 \
    " coalesce(to_char(" ACCOUNTS_DBS_DUE_SQL ", 'YYYY-MM-DD'), ''),"                                        \
    " (extract(epoch FROM w.created_at) * 1000)::bigint,"                                                    \
    " coalesce((extract(epoch FROM w.last_login_at) * 1000)::bigint, 0),"                                    \
    " coalesce((extract(epoch FROM w.ended_at) * 1000)::bigint, 0), coalesce(w.ended_reason, ''), "          \
    "w.version,"                                                                                             \
    " w.email, coalesce((SELECT (extract(epoch FROM f.locked_until) * 1000)::bigint FROM sign_in_failures f" \
    "  WHERE f.username = w.username AND f.locked_until > now()), 0),"                                       \
    " w.dbs_barred_lists, coalesce(to_char(w.returned_from_leave_on, 'YYYY-MM-DD'), ''),"                    \
    " CASE WHEN w.risk_assessment_approved THEN coalesce(to_char(w.risk_assessment_approved_on, "            \
    "'YYYY-MM-DD'),"                                                                                         \
    "  '') ELSE '' END,"                                                                                     \
    " CASE WHEN w.risk_assessment_approved THEN coalesce(to_char(" ACCOUNTS_RISK_ASSESSMENT_ENDS_SQL         \
    "  - 1, 'YYYY-MM-DD'), '') ELSE '' END,"                                                                 \
    " coalesce(to_char(" ACCOUNTS_DBS_COVER_ENDS_SQL ", 'YYYY-MM-DD'), ''),"                                 \
    " coalesce(to_char(w.conflicts_declared_on, 'YYYY-MM-DD'), ''), " ACCOUNTS_REFUSAL_FACTS_SQL
#define ACCOUNT_FROM                                                                                         \
    " FROM workers w LEFT JOIN workers m ON m.id = w.manager_id"                                             \
    " LEFT JOIN worker_contracts c ON c.worker_id = w.id"

enum {
    COL_ID,
    COL_USERNAME,
    COL_NAME,
    COL_ROLES,
    COL_MANAGER_ID,
    COL_MANAGER_NAME,
    COL_STATE,
    COL_THIRD_PARTY,
    COL_CONTRACT_NAME,
    COL_CONTRACT_END,
    COL_CONTRACT_PEOPLE,
    COL_DBS,
    COL_RISK_ASSESSMENT,
    COL_TRAINING,
    COL_AUP,
    COL_DBS_RENEWAL,
    COL_CREATED,
    COL_LAST_LOGIN,
    COL_ENDED,
    COL_ENDED_REASON,
    COL_VERSION,
    COL_EMAIL,
    COL_PAUSED_UNTIL,
    COL_BARRED_LISTS,
    COL_RETURNED_FROM_LEAVE,
    COL_RISK_ASSESSMENT_ON,
    COL_RISK_ASSESSMENT_UNTIL,
    COL_DBS_COVER_ENDS,
    COL_CONFLICTS_DECLARED,
    COL_REFUSAL_FACTS,
    COL_COUNT = COL_REFUSAL_FACTS + ACCOUNTS_REFUSAL_FACTS
};

/* ------------------------------------------------------------------------------------------------
 * Why an account may not be used, in words
 * ---------------------------------------------------------------------------------------------- */

/* The facts of ACCOUNTS_REFUSAL_FACTS_SQL, by their place after the first. */
enum {
    REFUSAL_STATE,
    REFUSAL_DBS,
    REFUSAL_CONTRACT_NAME,
    REFUSAL_CONTRACT_END,
    REFUSAL_RETURNED,
    REFUSAL_DBS_BEFORE_RETURN,
    REFUSAL_BARRED_LISTS,
    REFUSAL_RISK_ASSESSMENT_ON
};

int accounts_refusal_words(const PGresult *r, int row, int first, char *words, size_t size, const char **code)
{
#define FACT(n) PQgetvalue(r, row, first + (n))
    const char *state = FACT(REFUSAL_STATE), *dbs = FACT(REFUSAL_DBS);
    words[0] = '\0';
    *code = NULL;
    if (strcmp(state, "active") == 0)
        return 0;
    *code = strcmp(state, "ended") == 0 ? "account_ended" : state;
    if (strcmp(state, "ended") == 0)
        snprintf(words, size,
                 "This account has ended. If you have moved role or returned, ask your manager to request a "
                 "new account from system support.");
    else if (strcmp(state, "contract_ended") == 0)
        snprintf(words, size,
                 "This account was for the contract '%s', which ended on %s, so it can no longer be used. If "
                 "the contract has been extended, ask system support to record its new end date.",
                 FACT(REFUSAL_CONTRACT_NAME), FACT(REFUSAL_CONTRACT_END));
    else if (strcmp(state, "dbs_out_of_date") == 0 && FACT(REFUSAL_RISK_ASSESSMENT_ON)[0] != '\0')
        snprintf(words, size,
                 "The HR-approved risk assessment of %s covered a pending enhanced DBS check for 3 months, "
                 "which have passed, and no valid DBS check is recorded, so this account cannot be used. Ask "
                 "your manager to send the new check to system support.",
                 FACT(REFUSAL_RISK_ASSESSMENT_ON));
    else if (strcmp(state, "dbs_out_of_date") == 0 && strcmp(FACT(REFUSAL_DBS_BEFORE_RETURN), "t") == 0)
        snprintf(words, size,
                 "You came back from parental leave or a career break on %s, and an enhanced DBS check is "
                 "renewed after such leave: yours (dated %s) was done before it, so this account cannot be "
                 "used until a new check is recorded. Ask your manager to have it renewed and sent to system "
                 "support, or to have HR approve a risk assessment while it is pending.",
                 FACT(REFUSAL_RETURNED), dbs);
    else if (strcmp(state, "dbs_out_of_date") == 0 && dbs[0] != '\0')
        snprintf(words, size,
                 "Your enhanced DBS check (dated %s) is more than 3 years old, and it is renewed every 3 "
                 "years, so this account cannot be used until a new check is recorded. Ask your manager to "
                 "have it renewed and sent to system support, or to have HR approve a risk assessment while "
                 "the new check is pending.",
                 dbs);
    else if (strcmp(state, "dbs_out_of_date") == 0)
        snprintf(
            words, size,
            "No enhanced DBS check is recorded for you (they are renewed every 3 years), so this account "
            "cannot be used. Ask your manager to send it to system support, or to have HR approve a "
            "risk assessment while it is pending.");
    else if (strcmp(state, "dbs_barred_list_missing") == 0)
        snprintf(
            words, size,
            "Your enhanced DBS check (dated %s) is recorded as checking the %s barred list only; it must "
            "check both the adults' and the children's, so this account cannot be used. Ask your manager "
            "to have it done, or to have HR approve a risk assessment while it is pending.",
            dbs, strcmp(FACT(REFUSAL_BARRED_LISTS), "children") == 0 ? "children's" : "adults'");
    else if (strcmp(state, "training_not_done") == 0)
        snprintf(words, size,
                 "Your training in the system is not recorded as done, so this account cannot be used yet. "
                 "Ask your manager to book it with Learning and Development (e-learning, a course or a "
                 "competency test); once you have done it, system support record it and the account can be "
                 "used.");
    else if (strcmp(state, "aup_not_signed") == 0)
        snprintf(words, size,
                 "The acceptable-use policy, the rules for using the system and its records, is not recorded "
                 "as signed by you, so this account cannot be used yet. Ask system support for it; once they "
                 "record that you have signed it, the account can be used.");
    else if (strcmp(state, "conflicts_not_declared") == 0)
        snprintf(words, size,
                 "Your declaration of any conflict of interest is not recorded: whether anyone you know "
                 "(family, friends, neighbours) may be on the system, so that their records can be "
                 "restricted. This account cannot be used until it is, even if there is no one. Tell system "
                 "support who, or that there is no one; once they record your declaration, the account can "
                 "be used.");
    else
        snprintf(words, size,
                 "This account cannot be used while an access prerequisite is not recorded as met (%s). Ask "
                 "system support what is missing.",
                 state);
#undef FACT
    return 1;
}

/* ------------------------------------------------------------------------------------------------
 * A pool for one reading: the messages point into it and into the PGresults, and all of it goes
 * once the reply or the event is packed.
 * ---------------------------------------------------------------------------------------------- */

typedef struct account_block {
    struct account_block *next;
} account_block_t;

typedef struct {
    account_block_t *blocks;
    int failed;
} account_pool_t;

static void *account__alloc(account_pool_t *pool, size_t count, size_t size)
{
    account_block_t *b = calloc(1, sizeof(*b) + (count ? count : 1) * size);
    if (b == NULL) {
        pool->failed = 1;
        return NULL;
    }
    b->next = pool->blocks;
    pool->blocks = b;
    return b + 1;
}

static void account__pool_free(account_pool_t *pool)
{
    while (pool->blocks) {
        account_block_t *next = pool->blocks->next;
        free(pool->blocks);
        pool->blocks = next;
    }
}

static char *account__strdup(account_pool_t *pool, const char *s)
{
    char *out = account__alloc(pool, strlen(s) + 1, 1);
    if (out)
        memcpy(out, s, strlen(s) + 1);
    return out;
}

/* ------------------------------------------------------------------------------------------------
 * Reading accounts
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    account_pool_t pool;
    PGresult *rows;  /* ACCOUNT_COLUMNS, one account a row */
    PGresult *teams; /* worker_id, team id, team name, manages */
    size_t count;
    Tsr__Accounts__WorkerAccount **items;
} account_set_t;

static void account__set_free(account_set_t *set)
{
    account__pool_free(&set->pool);
    PQclear(set->rows);
    PQclear(set->teams);
    memset(set, 0, sizeof(*set));
}

static void account__split_roles(account_pool_t *pool, const char *text, Tsr__Accounts__WorkerAccount *a)
{
    /* Role names are checked against the known list before they are stored: no commas inside. */
    char *buf = account__strdup(pool, text);
    a->roles = account__alloc(pool, ACCOUNT_MAX_ROLES, sizeof(char *));
    if (buf == NULL || a->roles == NULL)
        return;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok && a->n_roles < ACCOUNT_MAX_ROLES;
         tok = strtok_r(NULL, ",", &save))
        a->roles[a->n_roles++] = tok;
}

static void account__fill_detail(account_set_t *set, int row, Tsr__Accounts__WorkerAccount *a)
{
    PGresult *r = set->rows;
    account_pool_t *pool = &set->pool;
    a->username = PQgetvalue(r, row, COL_USERNAME);
    a->manager_id = strtoull(PQgetvalue(r, row, COL_MANAGER_ID), NULL, 10);
    a->manager_name = PQgetvalue(r, row, COL_MANAGER_NAME);
    a->state = PQgetvalue(r, row, COL_STATE);
    a->email = PQgetvalue(r, row, COL_EMAIL);
    a->sign_in_paused_until_ms = strtoll(PQgetvalue(r, row, COL_PAUSED_UNTIL), NULL, 10);
    Tsr__Accounts__WorkerPrerequisites *pre = account__alloc(pool, 1, sizeof(*pre));
    if (pre != NULL) {
        tsr__accounts__worker_prerequisites__init(pre);
        pre->worker_id = a->id;
        pre->dbs_checked_on = PQgetvalue(r, row, COL_DBS);
        pre->risk_assessment_approved = strcmp(PQgetvalue(r, row, COL_RISK_ASSESSMENT), "t") == 0;
        pre->training_completed_on = PQgetvalue(r, row, COL_TRAINING);
        pre->aup_signed_on = PQgetvalue(r, row, COL_AUP);
        pre->dbs_barred_lists = PQgetvalue(r, row, COL_BARRED_LISTS);
        pre->returned_from_leave_on = PQgetvalue(r, row, COL_RETURNED_FROM_LEAVE);
        pre->risk_assessment_approved_on = PQgetvalue(r, row, COL_RISK_ASSESSMENT_ON);
        pre->conflicts_declared_on = PQgetvalue(r, row, COL_CONFLICTS_DECLARED);
        a->prerequisites = pre;
    }
    a->dbs_renewal_due = PQgetvalue(r, row, COL_DBS_RENEWAL);
    a->risk_assessment_until = PQgetvalue(r, row, COL_RISK_ASSESSMENT_UNTIL);
    a->dbs_cover_ends = PQgetvalue(r, row, COL_DBS_COVER_ENDS);
    char words[ACCOUNTS_REFUSAL_WORDS_MAX];
    const char *code;
    accounts_refusal_words(r, row, COL_REFUSAL_FACTS, words, sizeof(words), &code);
    a->refusal = account__strdup(pool, words);
    if (strcmp(PQgetvalue(r, row, COL_THIRD_PARTY), "t") == 0) {
        Tsr__Accounts__WorkerContract *c = account__alloc(pool, 1, sizeof(*c));
        const char *people = PQgetvalue(r, row, COL_CONTRACT_PEOPLE);
        size_t n = *people ? 1 : 0;
        for (const char *p = people; *p; p++)
            n += *p == ',';
        uint64_t *ids = account__alloc(pool, n, sizeof(uint64_t));
        if (c != NULL && ids != NULL) {
            tsr__accounts__worker_contract__init(c);
            c->name = PQgetvalue(r, row, COL_CONTRACT_NAME);
            c->end_date = PQgetvalue(r, row, COL_CONTRACT_END);
            char *p = (char *)people;
            for (size_t i = 0; i < n; i++) {
                ids[i] = strtoull(p, &p, 10);
                if (*p == ',')
                    p++;
            }
            c->n_person_ids = n;
            c->person_ids = ids;
            a->contract = c;
        }
    }
    a->created_at_ms = strtoll(PQgetvalue(r, row, COL_CREATED), NULL, 10);
    a->last_login_at_ms = strtoll(PQgetvalue(r, row, COL_LAST_LOGIN), NULL, 10);
    a->ended_at_ms = strtoll(PQgetvalue(r, row, COL_ENDED), NULL, 10);
    a->ended_reason = PQgetvalue(r, row, COL_ENDED_REASON);
}

/* Teams (member of, and managed) of every account in the set, in one query. */
static int account__load_teams(PGconn *conn, account_set_t *set, tsr_error_t *err)
{
    size_t cap = 3 + set->count * 21;
    char *ids = account__alloc(&set->pool, cap, 1);
    if (ids == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory reading accounts.");
    size_t n = (size_t)snprintf(ids, cap, "{");
    for (size_t i = 0; i < set->count; i++)
        n += (size_t)snprintf(ids + n, cap - n, "%s%" PRIu64, i ? "," : "", set->items[i]->id);
    snprintf(ids + n, cap - n, "}");
    const char *params[1] = {ids};
    set->teams = tsr_db_exec(conn,
                             "SELECT x.worker_id, t.id, t.name, x.manages FROM ("
                             "  SELECT worker_id, team_id, false AS manages FROM worker_teams"
                             "   WHERE worker_id = ANY ($1::bigint[])"
                             "  UNION ALL SELECT worker_id, team_id, true FROM team_managers"
                             "   WHERE worker_id = ANY ($1::bigint[])) x"
                             " JOIN teams t ON t.id = x.team_id ORDER BY x.worker_id, x.manages, t.name",
                             1, params, err);
    if (set->teams == NULL)
        return -1;
    int rows = PQntuples(set->teams);
    for (size_t i = 0; i < set->count; i++) {
        Tsr__Accounts__WorkerAccount *a = set->items[i];
        size_t member = 0, manages = 0;
        for (int t = 0; t < rows; t++) {
            if (strtoull(PQgetvalue(set->teams, t, 0), NULL, 10) != a->id)
                continue;
            if (strcmp(PQgetvalue(set->teams, t, 3), "t") == 0)
                manages++;
            else
                member++;
        }
        Tsr__Accounts__Team *teams = account__alloc(&set->pool, member + manages, sizeof(*teams));
        a->teams = account__alloc(&set->pool, member, sizeof(*a->teams));
        a->managed_teams = account__alloc(&set->pool, manages, sizeof(*a->managed_teams));
        if (teams == NULL || a->teams == NULL || a->managed_teams == NULL)
            return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL,
                                 "Out of memory reading accounts.");
        size_t used = 0;
        for (int t = 0; t < rows; t++) {
            if (strtoull(PQgetvalue(set->teams, t, 0), NULL, 10) != a->id)
                continue;
            Tsr__Accounts__Team *team = &teams[used++];
            tsr__accounts__team__init(team);
            team->id = strtoull(PQgetvalue(set->teams, t, 1), NULL, 10);
            team->name = PQgetvalue(set->teams, t, 2);
            /* Managed teams are not shown to colleagues: only the detailed view carries them. */
            if (strcmp(PQgetvalue(set->teams, t, 3), "t") == 0) {
                if (a->detailed)
                    a->managed_teams[a->n_managed_teams++] = team;
            } else {
                a->teams[a->n_teams++] = team;
            }
        }
    }
    return 0;
}

/* Builds the set's messages from set->rows (ACCOUNT_COLUMNS first, in that order) and their teams. */
static int account__build(PGconn *conn, account_set_t *set, size_t count, int detailed, tsr_error_t *err)
{
    set->count = count;
    set->items = account__alloc(&set->pool, count, sizeof(*set->items));
    Tsr__Accounts__WorkerAccount *accounts = account__alloc(&set->pool, count, sizeof(*accounts));
    if (set->items == NULL || accounts == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory reading accounts.");
    for (size_t i = 0; i < count; i++) {
        Tsr__Accounts__WorkerAccount *a = &accounts[i];
        tsr__accounts__worker_account__init(a);
        a->id = strtoull(PQgetvalue(set->rows, (int)i, COL_ID), NULL, 10);
        a->name = PQgetvalue(set->rows, (int)i, COL_NAME);
        a->detailed = detailed;
        a->version = strtoull(PQgetvalue(set->rows, (int)i, COL_VERSION), NULL, 10);
        account__split_roles(&set->pool, PQgetvalue(set->rows, (int)i, COL_ROLES), a);
        if (detailed)
            account__fill_detail(set, (int)i, a);
        set->items[i] = a;
    }
    if (set->pool.failed)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory reading accounts.");
    return count ? account__load_teams(conn, set, err) : 0;
}

/* One account, detailed; 404 when there is no such worker. */
static int account__load_one(PGconn *conn, uint64_t worker_id, account_set_t *set, tsr_error_t *err)
{
    char id[32];
    snprintf(id, sizeof(id), "%" PRIu64, worker_id);
    if (worker_id > INT64_MAX)
        return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", NULL, "There is no worker with id %s.", id);
    const char *params[1] = {id};
    set->rows =
        tsr_db_exec(conn, "SELECT " ACCOUNT_COLUMNS ACCOUNT_FROM " WHERE w.id = $1::bigint", 1, params, err);
    if (set->rows == NULL)
        return -1;
    if (PQntuples(set->rows) == 0)
        return tsr_error_set(err, TSR_E_NOT_FOUND, "not_found", NULL, "There is no worker with id %s.", id);
    return account__build(conn, set, 1, 1, err);
}

int accounts_account_reply(tsr_call_t *call, uint64_t worker_id, tsr_error_t *err)
{
    account_set_t set = {0};
    int rc = account__load_one(call->conn, worker_id, &set, err);
    if (rc == 0)
        tsr_call_reply(call, &set.items[0]->base);
    account__set_free(&set);
    return rc;
}

static int account__publish(tsr_call_t *call, uint64_t worker_id, int republished, tsr_error_t *err);

int accounts_account_publish(tsr_call_t *call, uint64_t worker_id, tsr_error_t *err)
{
    return account__publish(call, worker_id, 0, err);
}

static const char *const account_republishers[] = {"admin", "system", NULL};

int accounts_workers_republish(tsr_call_t *call, tsr_error_t *err)
{
    if (tsr_actor_require_role(call->actor, account_republishers, "announce the accounts again", err) != 0)
        return -1;
    /* Every row locked, in id order, as a change would lock it: the versions follow the changes. */
    PGresult *res = tsr_db_exec(call->conn, "SELECT id FROM workers ORDER BY id FOR UPDATE", 0, NULL, err);
    if (res == NULL)
        return -1;
    int rc = 0;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++)
        rc = account__publish(call, strtoull(PQgetvalue(res, i, 0), NULL, 10), 1, err);
    Tsr__Accounts__WorkersRepublished out = TSR__ACCOUNTS__WORKERS_REPUBLISHED__INIT;
    out.count = (uint32_t)PQntuples(res);
    PQclear(res);
    if (rc != 0)
        return -1;
    tsr_log_info(call->trace_id, "announced %u accounts again as they stand, asked by %s", out.count,
                 call->actor->username);
    tsr_call_reply(call, &out.base);
    return 0;
}

static int account__publish(tsr_call_t *call, uint64_t worker_id, int republished, tsr_error_t *err)
{
    /* The caller holds the worker's row (locked by its change), so versions follow the changes. */
    char id[32];
    snprintf(id, sizeof(id), "%" PRIu64, worker_id);
    const char *params[1] = {id};
    PGresult *res = tsr_db_exec(call->conn, "UPDATE workers SET version = version + 1 WHERE id = $1::bigint",
                                1, params, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    account_set_t set = {0};
    if (account__load_one(call->conn, worker_id, &set, err) != 0) {
        account__set_free(&set);
        return -1;
    }
    const Tsr__Accounts__WorkerAccount *a = set.items[0];
    Tsr__Accounts__WorkerChanged changed = TSR__ACCOUNTS__WORKER_CHANGED__INIT;
    changed.worker_id = a->id;
    changed.username = a->username;
    changed.name = a->name;
    changed.n_roles = a->n_roles;
    changed.roles = a->roles;
    changed.n_teams = a->n_teams;
    changed.teams = a->teams;
    changed.manager_id = a->manager_id;
    uint64_t *managed = account__alloc(&set.pool, a->n_managed_teams, sizeof(uint64_t));
    for (size_t i = 0; managed && i < a->n_managed_teams; i++)
        managed[i] = a->managed_teams[i]->id;
    changed.n_managed_team_ids = managed ? a->n_managed_teams : 0;
    changed.managed_team_ids = managed;
    changed.ended = strcmp(a->state, "ended") == 0;
    changed.version = a->version;
    changed.email = PQgetvalue(set.rows, 0, COL_EMAIL);
    changed.republished = republished;
    /* The gateway refuses a session's calls once a prerequisite no longer holds, as signing in is
     * refused: when one is recorded as lapsed (this state), and on the day the DBS check runs out. */
    changed.state = a->state;
    changed.dbs_renewal_due = a->dbs_cover_ends;
    changed.refusal = a->refusal;
    if (a->contract != NULL) {
        changed.third_party = 1;
        changed.contract_name = a->contract->name;
        changed.contract_end_date = a->contract->end_date;
        changed.n_contract_person_ids = a->contract->n_person_ids;
        changed.contract_person_ids = a->contract->person_ids;
    }
    int rc = managed == NULL ? tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL,
                                             "Out of memory publishing an account.")
                             : tsr_call_emit(call, "accounts.worker.changed", &changed.base, err);
    account__set_free(&set);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * Reading one account, and finding colleagues
 * ---------------------------------------------------------------------------------------------- */

int accounts_worker_get(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Accounts__WorkerGet *in = (const Tsr__Accounts__WorkerGet *)call->payload;
    if (tsr_actor_require_role(call->actor, accounts_administrators, "read workers' accounts", err) != 0)
        return -1;
    return accounts_account_reply(call, in->worker_id, err);
}

/* A team named by id or by name; 0 when none is asked for, -1 (422) when there is no such team. */
static int account__resolve_team(PGconn *conn, const char *team, char out[32], tsr_error_t *err)
{
    snprintf(out, 32, "0");
    if (team[0] == '\0')
        return 0;
    int digits = strlen(team) <= 18;
    for (const char *p = team; digits && *p; p++)
        digits = isdigit((unsigned char)*p);
    const char *params[1] = {team};
    PGresult *res = tsr_db_exec(
        conn, digits ? "SELECT id FROM teams WHERE id = $1::bigint" : "SELECT id FROM teams WHERE name = $1",
        1, params, err);
    if (res == NULL)
        return -1;
    int found = PQntuples(res) == 1;
    if (found)
        snprintf(out, 32, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!found)
        return tsr_error_set(err, TSR_E_UNPROCESSABLE, "unknown_team", "team", "There is no team '%.100s'.",
                             team);
    return 0;
}

int accounts_worker_search(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Accounts__WorkerSearch *in = (const Tsr__Accounts__WorkerSearch *)call->payload;
    if (tsr_actor_require_worker(call->actor, err) != 0)
        return -1;
    int detailed = accounts_actor_administers(call->actor);
    uint32_t limit = in->limit == 0 ? 50 : in->limit;
    if (limit > 200)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_limit", "limit", "limit must be from 1 to 200.");
    if (in->cursor[0] != '\0' && !tsr_text_is_hex(in->cursor))
        return tsr_error_set(err, TSR_E_INVALID, "invalid_cursor", "cursor",
                             "The cursor is not one this service gave out; start again without it.");
    char team[32], lim[16];
    if (account__resolve_team(call->conn, in->team, team, err) != 0)
        return -1;
    snprintf(lim, sizeof(lim), "%u", limit + 1);
    char *q = tsr_text_trim_dup(in->q);
    char *pattern = q ? tsr_text_like_pattern(q) : NULL;
    if (q == NULL || pattern == NULL) {
        free(q);
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory finding workers.");
    }
    const char *params[6] = {q, pattern, team, detailed ? "t" : "f", in->cursor, lim};
    account_set_t set = {0};
    /* Keyset paging on (lower(name), id), as organisations do; the cursor is the last row's key.
     * A worker choosing whom to send work to is offered only accounts that can be used: not ended,
     * no contract over. Only administrators find accounts by username: signing in never tells
     * whether a username exists, and neither does this. */
    set.rows =
        tsr_db_exec(call->conn,
                    "SELECT " ACCOUNT_COLUMNS ","
                    " encode(convert_to(lower(w.name) || chr(31) || w.id::text, 'UTF8'), 'hex')" ACCOUNT_FROM
                    " WHERE ($1 = '' OR w.name ILIKE $2 OR ($4::boolean AND w.username = lower($1))"
                    "        OR w.id = (CASE WHEN $1 ~ '^[0-9]{1,18}$' THEN $1::bigint END))"
                    "   AND ($3::bigint = 0 OR EXISTS (SELECT 1 FROM worker_teams wt"
                    "        WHERE wt.worker_id = w.id AND wt.team_id = $3::bigint))"
                    "   AND ($4::boolean OR (w.ended_at IS NULL AND w.active"
                    "        AND (c.end_date IS NULL OR NOT " ACCOUNTS_CONTRACT_OVER_SQL ")))"
                    "   AND ($5 = '' OR (lower(w.name), w.id) >"
                    "        (split_part(convert_from(decode($5, 'hex'), 'UTF8'), chr(31), 1),"
                    "         split_part(convert_from(decode($5, 'hex'), 'UTF8'), chr(31), 2)::bigint))"
                    " ORDER BY lower(w.name), w.id LIMIT $6::int",
                    6, params, err);
    free(q);
    free(pattern);
    if (set.rows == NULL) {
        if (in->cursor[0] != '\0' && err->status == TSR_E_INTERNAL)
            return tsr_error_set(err, TSR_E_INVALID, "invalid_cursor", "cursor",
                                 "The cursor is not one this service gave out; start again without it.");
        return -1;
    }
    int rows = PQntuples(set.rows);
    size_t shown = rows > (int)limit ? limit : (size_t)rows;
    int rc = account__build(call->conn, &set, shown, detailed, err);
    if (rc == 0) {
        Tsr__Accounts__WorkerList list = TSR__ACCOUNTS__WORKER_LIST__INIT;
        list.n_items = shown;
        list.items = set.items;
        list.next_cursor = rows > (int)limit ? PQgetvalue(set.rows, (int)shown - 1, COL_COUNT) : "";
        tsr_call_reply(call, &list.base);
    }
    account__set_free(&set);
    return rc;
}
