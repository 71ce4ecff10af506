#include "trail.h"
#include "uses.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.pb-c.h"
#include "audit.pb-c.h"
#include "cpis.pb-c.h"
#include "records.pb-c.h"
#include "tsr_envelope.h"
#include "tsr_text.h"
#include "workflow.pb-c.h"

/* What one event says happened to which record. */
typedef struct {
    const char *action;
    const char *record_kind;
    uint64_t record_id;
    char summary[512];
} trail_access_t;

static const char *const trail_readers[] = {"auditor", "admin", NULL};

/* Work about a person is part of their record: reading a step about them, and every change to it
 * or its requests, is an access. Work about an organisation, and overdue notices, are not. */
static int trail__describe_work(const Tsr__Envelope *ev, trail_access_t *access, tsr_error_t *err)
{
    static const char *const step_verbs[][2] = {
        {"viewed", "view-step"},        {"refused", "refused"},       {"started", "start-step"},
        {"section-saved", "save-step"}, {"assigned", "assign-step"},  {"resumed", "resume-step"},
        {"finished", "finish-step"},    {"cancelled", "cancel-step"}, {"reopened", "reopen-step"},
        {"listed", "view-steps"},       {"deleted", "delete-step"}};
    static const char *const request_verbs[][2] = {{"sent", "send-request"},
                                                   {"completed", "complete-request"},
                                                   {"returned", "return-request"},
                                                   {"acknowledged", "acknowledge-request"}};
    if (strncmp(ev->type, "workflow.step.", 14) == 0) {
        Tsr__Workflow__StepEvent *m = (Tsr__Workflow__StepEvent *)tsr_unpack(
            &tsr__workflow__step_event__descriptor, ev->payload.data, ev->payload.len, err);
        if (m == NULL)
            return -1;
        const char *verb = NULL;
        for (size_t i = 0; i < sizeof(step_verbs) / sizeof(step_verbs[0]) && verb == NULL; i++)
            if (strcmp(step_verbs[i][0], m->action) == 0)
                verb = step_verbs[i][1];
        int about_person = m->subject != NULL && strcmp(m->subject->kind, "person") == 0;
        /* A step deleted as recorded in error is kept in the trail whoever it was about: an
         * organisation's consultation too. */
        int deleted = strcmp(m->action, "deleted") == 0;
        int about_organisation =
            deleted && m->subject != NULL && strcmp(m->subject->kind, "organisation") == 0;
        if (verb != NULL && (about_person || about_organisation)) {
            *access = (trail_access_t){verb, about_person ? "person" : "organisation", m->subject->id, ""};
            if (deleted)
                snprintf(access->summary, sizeof(access->summary), "%s: %s deleted (step %" PRIu64 "), %s",
                         m->subject_name, m->title, m->step_id, m->reason);
            else
                snprintf(access->summary, sizeof(access->summary), "%s: %s %s (step %" PRIu64 ")",
                         m->subject_name, m->title, m->action, m->step_id);
        }
        tsr__workflow__step_event__free_unpacked(m, NULL);
        return verb != NULL && (about_person || about_organisation);
    }
    if (strncmp(ev->type, "workflow.request.", 17) == 0) {
        Tsr__Workflow__RequestEvent *m = (Tsr__Workflow__RequestEvent *)tsr_unpack(
            &tsr__workflow__request_event__descriptor, ev->payload.data, ev->payload.len, err);
        if (m == NULL)
            return -1;
        const char *verb = NULL;
        for (size_t i = 0; i < sizeof(request_verbs) / sizeof(request_verbs[0]) && verb == NULL; i++)
            if (strcmp(request_verbs[i][0], m->action) == 0)
                verb = request_verbs[i][1];
        int about_person = m->subject != NULL && strcmp(m->subject->kind, "person") == 0;
        if (verb != NULL && about_person) {
            *access = (trail_access_t){verb, "person", m->subject->id, ""};
            snprintf(access->summary, sizeof(access->summary), "%s: request '%s' %s (request %" PRIu64 ")",
                     m->subject_name, m->title, m->action, m->request_id);
        }
        tsr__workflow__request_event__free_unpacked(m, NULL);
        return verb != NULL && about_person;
    }
    return 0;
}

/* Account administration (seed 002: starters, movers, leavers): who changed an account, set its
 * password or ended it, as an entry about the worker's account (record_kind "worker"). */
static int trail__describe_account(const Tsr__Envelope *ev, trail_access_t *access, tsr_error_t *err)
{
    if (strcmp(ev->type, "accounts.worker.changed") == 0) {
        Tsr__Accounts__WorkerChanged *m = (Tsr__Accounts__WorkerChanged *)tsr_unpack(
            &tsr__accounts__worker_changed__descriptor, ev->payload.data, ev->payload.len, err);
        if (m == NULL)
            return -1;
        *access = (trail_access_t){"change-account", "worker", m->worker_id, ""};
        size_t used = (size_t)snprintf(access->summary, sizeof(access->summary),
                                       m->republished ? "Account of %s (%s, worker %" PRIu64
                                                        ") announced again, unchanged: roles "
                                                      : "Account of %s (%s, worker %" PRIu64 ") now: roles ",
                                       m->name, m->username, m->worker_id);
        for (size_t i = 0; i < m->n_roles && used < sizeof(access->summary); i++)
            used += (size_t)snprintf(access->summary + used, sizeof(access->summary) - used, "%s%s",
                                     i ? ", " : "", m->roles[i]);
        if (used < sizeof(access->summary))
            used += (size_t)snprintf(access->summary + used, sizeof(access->summary) - used, "; teams ");
        for (size_t i = 0; i < m->n_teams && used < sizeof(access->summary); i++)
            used += (size_t)snprintf(access->summary + used, sizeof(access->summary) - used, "%s%s",
                                     i ? ", " : "", m->teams[i]->name);
        if (m->ended && used < sizeof(access->summary))
            snprintf(access->summary + used, sizeof(access->summary) - used, "; ended");
        tsr__accounts__worker_changed__free_unpacked(m, NULL);
        return 1;
    }
    if (strcmp(ev->type, "accounts.worker.ended") == 0) {
        Tsr__Accounts__WorkerEnded *m = (Tsr__Accounts__WorkerEnded *)tsr_unpack(
            &tsr__accounts__worker_ended__descriptor, ev->payload.data, ev->payload.len, err);
        if (m == NULL)
            return -1;
        *access = (trail_access_t){"end-account", "worker", m->worker_id, ""};
        snprintf(access->summary, sizeof(access->summary),
                 m->reason[0] ? "Ended the account of %s (worker %" PRIu64 "): %s"
                              : "Ended the account of %s (worker %" PRIu64 ")%s",
                 m->username, m->worker_id, m->reason);
        tsr__accounts__worker_ended__free_unpacked(m, NULL);
        return 1;
    }
    if (strcmp(ev->type, "accounts.prerequisites.recorded") == 0) {
        Tsr__Accounts__PrerequisitesRecorded *m = (Tsr__Accounts__PrerequisitesRecorded *)tsr_unpack(
            &tsr__accounts__prerequisites_recorded__descriptor, ev->payload.data, ev->payload.len, err);
        if (m == NULL)
            return -1;
        const Tsr__Accounts__WorkerPrerequisites *p = m->prerequisites;
        if (p == NULL) {
            tsr__accounts__prerequisites_recorded__free_unpacked(m, NULL);
            return tsr_error_set(err, TSR_E_INVALID, "bad_event", NULL, "%s carries no prerequisites.",
                                 ev->type);
        }
        /* Seed 002's conditions of access, as recorded: what an auditor checking an account needs. */
        *access = (trail_access_t){"record-prerequisites", "worker", p->worker_id, ""};
        snprintf(
            access->summary, sizeof(access->summary),
            "Recorded the access prerequisites of %s (worker %" PRIu64 "): enhanced DBS check %s%s%s%s%s%s; "
            "training %s%s; acceptable-use policy %s%s; conflicts of interest %s%s%s%s; the account %s%s",
            m->username, p->worker_id, p->dbs_checked_on[0] ? "dated " : "not recorded", p->dbs_checked_on,
            p->dbs_barred_lists[0] ? ", barred lists " : "", p->dbs_barred_lists,
            p->returned_from_leave_on[0] ? ", back from leave on " : "", p->returned_from_leave_on,
            p->training_completed_on[0] ? "completed on " : "not done", p->training_completed_on,
            p->aup_signed_on[0] ? "signed on " : "not signed", p->aup_signed_on,
            p->conflicts_declared_on[0] ? "declared on " : "not declared", p->conflicts_declared_on,
            p->risk_assessment_approved ? "; an HR-approved risk assessment of " : "",
            p->risk_assessment_approved ? p->risk_assessment_approved_on : "",
            strcmp(m->state, "active") == 0 ? "can be used" : "cannot be used: ",
            strcmp(m->state, "active") == 0 ? "" : m->state);
        tsr__accounts__prerequisites_recorded__free_unpacked(m, NULL);
        return 1;
    }
    if (strcmp(ev->type, "accounts.sign_in.unpaused") == 0) {
        Tsr__Accounts__SignInUnpause *m = (Tsr__Accounts__SignInUnpause *)tsr_unpack(
            &tsr__accounts__sign_in_unpause__descriptor, ev->payload.data, ev->payload.len, err);
        if (m == NULL)
            return -1;
        *access = (trail_access_t){"lift-sign-in-pause", "worker", m->worker_id, ""};
        snprintf(access->summary, sizeof(access->summary),
                 "Lifted the pause on signing in of worker %" PRIu64 " after wrong passwords", m->worker_id);
        tsr__accounts__sign_in_unpause__free_unpacked(m, NULL);
        return 1;
    }
    if (strcmp(ev->type, "accounts.password.changed") == 0) {
        Tsr__Accounts__PasswordChanged *m = (Tsr__Accounts__PasswordChanged *)tsr_unpack(
            &tsr__accounts__password_changed__descriptor, ev->payload.data, ev->payload.len, err);
        if (m == NULL)
            return -1;
        int own = m->keep_session_id != 0;
        *access = (trail_access_t){own ? "change-own-password" : "set-password", "worker", m->worker_id, ""};
        snprintf(access->summary, sizeof(access->summary),
                 own ? "Changed the password of worker %" PRIu64 " (their own); their other sessions ended"
                     : "Set a new password for worker %" PRIu64 "; every session of theirs ended",
                 m->worker_id);
        tsr__accounts__password_changed__free_unpacked(m, NULL);
        return 1;
    }
    return 0;
}

/* 1 and fills access when the event is an access to audit, 0 when it is not one, -1 malformed. */
static int trail__describe(const Tsr__Envelope *ev, trail_access_t *access, tsr_error_t *err)
{
    if (strncmp(ev->type, "accounts.", 9) == 0)
        return trail__describe_account(ev, access, err);
    if (strcmp(ev->type, "records.organisation.created") == 0) {
        Tsr__Records__OrganisationCreated *m = (Tsr__Records__OrganisationCreated *)tsr_unpack(
            &tsr__records__organisation_created__descriptor, ev->payload.data, ev->payload.len, err);
        if (m == NULL || m->organisation == NULL) {
            if (m)
                tsr__records__organisation_created__free_unpacked(m, NULL);
            return tsr_error_set(err, TSR_E_INVALID, "bad_event", NULL, "%s carries no organisation.",
                                 ev->type);
        }
        *access = (trail_access_t){"create", "organisation", m->organisation->id, ""};
        snprintf(access->summary, sizeof(access->summary), "Added organisation %s (%" PRIu64 ")",
                 m->organisation->name, m->organisation->id);
        tsr__records__organisation_created__free_unpacked(m, NULL);
        return 1;
    }
    if (strcmp(ev->type, "records.organisation.viewed") == 0) {
        Tsr__Records__OrganisationViewed *m = (Tsr__Records__OrganisationViewed *)tsr_unpack(
            &tsr__records__organisation_viewed__descriptor, ev->payload.data, ev->payload.len, err);
        if (m == NULL)
            return -1;
        *access = (trail_access_t){"view", "organisation", m->organisation_id, ""};
        snprintf(access->summary, sizeof(access->summary), "Viewed organisation %s (%" PRIu64 ")",
                 m->organisation_name, m->organisation_id);
        tsr__records__organisation_viewed__free_unpacked(m, NULL);
        return 1;
    }
    if (strncmp(ev->type, "records.person.", 15) == 0) {
        Tsr__Records__PersonAccessed *m = (Tsr__Records__PersonAccessed *)tsr_unpack(
            &tsr__records__person_accessed__descriptor, ev->payload.data, ev->payload.len, err);
        if (m == NULL)
            return -1;
        /* The records daemon names what happened; the trail keeps its own verbs. */
        static const char *const verbs[][2] = {{"created", "create"},
                                               {"viewed", "view"},
                                               {"found", "search"},
                                               {"refused", "refused"},
                                               {"restricted", "restrict"},
                                               {"unrestricted", "unrestrict"},
                                               {"allocated", "allocate"},
                                               {"deallocated", "deallocate"},
                                               {"related", "relate"},
                                               {"case-note-added", "add-case-note"},
                                               {"case-notes-viewed", "view-case-notes"},
                                               {"case-note-removed", "remove-case-note"},
                                               {"merged", "merge"},
                                               {"nhs-number-recorded", "record-nhs-number"},
                                               {"details-changed", "change-details"},
                                               {"involvement-added", "add-involvement"},
                                               {"involvement-ended", "end-involvement"},
                                               {"involvements-viewed", "view-involvements"},
                                               {"retention-flagged", "flag-retention"},
                                               {"retention-unflagged", "unflag-retention"},
                                               {"retention-held", "hold-retention"},
                                               {"retention-released", "release-retention-hold"},
                                               {"address-added", "add-address"},
                                               {"address-ended", "end-address"},
                                               {"addresses-viewed", "view-addresses"},
                                               {"disposed", "dispose"},
                                               {"birth-recorded", "record-birth"}};
        const char *action = NULL;
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]) && action == NULL; i++)
            if (strcmp(verbs[i][0], m->action) == 0)
                action = verbs[i][1];
        if (action == NULL) {
            tsr__records__person_accessed__free_unpacked(m, NULL);
            return tsr_error_set(err, TSR_E_INVALID, "bad_event", NULL, "%s has an unknown action.",
                                 ev->type);
        }
        *access = (trail_access_t){action, "person", m->person_id, ""};
        snprintf(access->summary, sizeof(access->summary), "%s", m->summary);
        tsr__records__person_accessed__free_unpacked(m, NULL);
        return 1;
    }
    if (strncmp(ev->type, "workflow.", 9) == 0)
        return trail__describe_work(ev, access, err);
    return 0;
}

/* The text a hash covers: every field of the entry that a reader relies on, with the previous hash. */
static void trail__hash(const unsigned char prev[32], const char *const *fields, size_t n,
                        unsigned char out[32])
{
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, prev, 32);
    for (size_t i = 0; i < n; i++) {
        /* Length-prefixed, so that moving text between fields changes the hash. */
        uint32_t len = (uint32_t)strlen(fields[i]);
        unsigned char be[4] = {(unsigned char)(len >> 24), (unsigned char)(len >> 16),
                               (unsigned char)(len >> 8), (unsigned char)len};
        crypto_hash_sha256_update(&st, be, 4);
        crypto_hash_sha256_update(&st, (const unsigned char *)fields[i], len);
    }
    crypto_hash_sha256_final(&st, out);
}

/* One entry's fields as text, as hashed and as stored. */
typedef struct {
    const char *occurred; /* milliseconds since the epoch */
    const char *worker;
    const char *username;
    const char *roles; /* text[] literals */
    const char *session;
    const char *action;
    const char *record_kind;
    const char *record;
    const char *summary;
    const char *producer;
    const char *seq;
    const char *trace;
    const char *item;
    const char *teams;
    const char *reason;
} trail_row_t;

#define TRAIL_HASH_VERSION 2
#define TRAIL_HASH_FIELDS 15

/* The fields an entry's hash covers: version 1, the first entries'; version 2 adds the trace, the
 * item within the event, the teams and the reason. The one list for writing and for verifying. */
static size_t trail__hash_fields(const trail_row_t *r, int version, const char *out[TRAIL_HASH_FIELDS])
{
    const char *v1[11] = {r->occurred,    r->worker, r->username, r->roles,    r->session, r->action,
                          r->record_kind, r->record, r->summary,  r->producer, r->seq};
    memcpy(out, v1, sizeof(v1));
    if (version < 2)
        return 11;
    out[11] = r->trace;
    out[12] = r->item;
    out[13] = r->teams;
    out[14] = r->reason;
    return 15;
}

/* The accesses one event stands for: one, or for records.people.found (and the lists of records due
 * for disposal, for a restriction's review, or allocated to a key worker who has left), one per
 * person shown. */
static int trail__describe_all(const Tsr__Envelope *ev, trail_access_t **out, size_t *n, tsr_error_t *err)
{
    *out = NULL;
    *n = 0;
    int listed = strcmp(ev->type, "records.retention.listed") == 0;
    int reviews = strcmp(ev->type, "records.restrictions.listed") == 0;
    int leavers = strcmp(ev->type, "records.allocations.listed") == 0;
    if (listed || reviews || leavers || strcmp(ev->type, "records.people.found") == 0) {
        Tsr__Records__PeopleFound *m = (Tsr__Records__PeopleFound *)tsr_unpack(
            &tsr__records__people_found__descriptor, ev->payload.data, ev->payload.len, err);
        if (m == NULL)
            return -1;
        *out = calloc(m->n_people + 1, sizeof(trail_access_t));
        for (size_t i = 0; i < m->n_people; i++) {
            (*out)[i] = (trail_access_t){listed    ? "list-retention-due"
                                         : reviews ? "list-restriction-reviews"
                                         : leavers ? "list-leavers-allocations"
                                                   : "search",
                                         "person", m->people[i]->person_id, ""};
            snprintf((*out)[i].summary, sizeof((*out)[i].summary), "%s", m->people[i]->summary);
        }
        *n = m->n_people;
        tsr__records__people_found__free_unpacked(m, NULL);
        return *n > 0;
    }
    if (strcmp(ev->type, "cpis.plans.accessed") == 0) {
        /* CP-IS plans recorded, ended, read, or shared with the NHS in an upload file. */
        static const char *const verbs[][2] = {{"recorded", "record-plan"},
                                               {"ended", "end-plan"},
                                               {"listed", "view-plans"},
                                               {"shared", "share-plan"},
                                               {"errors-listed", "view-cpis-errors"},
                                               {"error-closed", "close-cpis-error"}};
        Tsr__Cpis__PlansAccessed *m = (Tsr__Cpis__PlansAccessed *)tsr_unpack(
            &tsr__cpis__plans_accessed__descriptor, ev->payload.data, ev->payload.len, err);
        if (m == NULL)
            return -1;
        const char *verb = NULL;
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]) && verb == NULL; i++)
            if (strcmp(verbs[i][0], m->action) == 0)
                verb = verbs[i][1];
        if (verb == NULL) {
            tsr_error_set(err, TSR_E_INVALID, "bad_event", NULL, "%s has an unknown action '%.40s'.",
                          ev->type, m->action);
            tsr__cpis__plans_accessed__free_unpacked(m, NULL);
            return -1;
        }
        *out = calloc(m->n_people + 1, sizeof(trail_access_t));
        for (size_t i = 0; i < m->n_people; i++) {
            (*out)[i] = (trail_access_t){verb, "person", m->people[i]->person_id, ""};
            snprintf((*out)[i].summary, sizeof((*out)[i].summary), "%s", m->people[i]->summary);
        }
        *n = m->n_people;
        tsr__cpis__plans_accessed__free_unpacked(m, NULL);
        return *n > 0;
    }
    trail_access_t one;
    int rc = trail__describe(ev, &one, err);
    if (rc <= 0)
        return rc;
    *out = malloc(sizeof(trail_access_t));
    **out = one;
    *n = 1;
    return 1;
}

/* ------------------------------------------------------------------------------------------------
 * Appending: the entries of a batch of events gathered in memory, chained in C in the order the
 * events are applied, and written by one statement before the batch commits (audit_trail_flush)
 * ---------------------------------------------------------------------------------------------- */

/* One entry waiting for the flush: its fields as trail__hash_fields orders them (version 2). */
typedef struct {
    char *text[TRAIL_HASH_FIELDS];
    unsigned char prev[32];
    unsigned char hash[32];
} trail_pending_t;

/* The chain as this thread's applies left it in the transaction txn names: the head is read (and its
 * row locked) once a transaction, not once an event, and the entries gathered since wait for the
 * flush. Consumers of several producers apply on several threads, each in its own transaction,
 * taking turns on the head's row lock; one consumer's batch runs on one thread from its first apply
 * to its flush. txn 0: nothing held (an apply was cut short; the next one starts again). */
static _Thread_local struct {
    uint64_t txn;
    unsigned char hash[32]; /* the head: the last gathered entry's hash, or the stored head */
    trail_pending_t *rows;
    size_t count;
    size_t capacity;
} trail__batch;

static void trail__pending_clear(void)
{
    for (size_t i = 0; i < trail__batch.count; i++)
        for (size_t f = 0; f < TRAIL_HASH_FIELDS; f++)
            free(trail__batch.rows[i].text[f]);
    trail__batch.count = 0;
}

/* Gathers one entry after prev (its hash replaces prev). */
static int trail__append(const Tsr__Envelope *e, const trail_access_t *access, int item,
                         unsigned char prev[32], tsr_error_t *err)
{
    if (trail__batch.count == trail__batch.capacity) {
        size_t capacity = trail__batch.capacity ? trail__batch.capacity * 2 : 64;
        trail_pending_t *bigger = realloc(trail__batch.rows, capacity * sizeof(*bigger));
        if (bigger == NULL)
            return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL,
                                 "Out of memory writing the trail.");
        trail__batch.rows = bigger;
        trail__batch.capacity = capacity;
    }
    const Tsr__Actor *actor = e->actor;
    char occurred[32], worker[32], record[32], seq[32], item_text[16];
    snprintf(occurred, sizeof(occurred), "%" PRId64, e->occurred_at_ms);
    snprintf(worker, sizeof(worker), "%" PRIu64, actor ? actor->worker_id : 0);
    snprintf(record, sizeof(record), "%" PRIu64, access->record_id);
    snprintf(seq, sizeof(seq), "%" PRIu64, e->seq);
    snprintf(item_text, sizeof(item_text), "%d", item);
    char *roles = tsr_text_array_literal((const char *const *)(actor ? actor->roles : NULL),
                                         actor ? actor->n_roles : 0);
    char *teams = tsr_text_array_literal((const char *const *)(actor ? actor->team_names : NULL),
                                         actor ? actor->n_team_names : 0);
    char summary[sizeof(access->summary)]; /* cut where it was made, perhaps inside a character */
    snprintf(summary, sizeof(summary), "%s", access->summary);
    tsr_text_utf8_clean(summary);
    trail_row_t row = {occurred,
                       worker,
                       actor ? actor->username : "",
                       roles,
                       actor ? actor->session_id : "",
                       access->action,
                       access->record_kind,
                       record,
                       summary,
                       e->producer,
                       seq,
                       e->trace_id,
                       item_text,
                       teams,
                       actor && actor->access_reason ? actor->access_reason : ""};
    trail_pending_t *pending = &trail__batch.rows[trail__batch.count];
    const char *fields[TRAIL_HASH_FIELDS];
    size_t n = roles && teams ? trail__hash_fields(&row, TRAIL_HASH_VERSION, fields) : 0;
    int ok = n == TRAIL_HASH_FIELDS;
    for (size_t f = 0; f < TRAIL_HASH_FIELDS; f++) {
        pending->text[f] = ok ? strdup(fields[f]) : NULL;
        ok = ok && pending->text[f] != NULL;
    }
    free(roles);
    free(teams);
    if (!ok) {
        for (size_t f = 0; f < TRAIL_HASH_FIELDS; f++)
            free(pending->text[f]);
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory writing the trail.");
    }
    memcpy(pending->prev, prev, 32);
    trail__hash(prev, (const char *const *)pending->text, TRAIL_HASH_FIELDS, pending->hash);
    memcpy(prev, pending->hash, 32);
    trail__batch.count++;
    return 0;
}

int audit_trail_wants(const Tsr__Envelope *ev)
{
    trail_access_t *accesses = NULL;
    size_t n = 0;
    tsr_error_t err;
    tsr_error_clear(&err);
    /* A malformed event is wanted too: the apply sets it aside with its reason. */
    int rc = trail__describe_all(ev, &accesses, &n, &err);
    free(accesses);
    return rc != 0;
}

int audit_trail_apply(tsr_event_t *ev, tsr_error_t *err)
{
    trail_access_t *accesses = NULL;
    size_t n = 0;
    int rc = trail__describe_all(ev->event, &accesses, &n, err);
    if (rc <= 0) {
        free(accesses);
        return rc;
    }
    unsigned char prev[32];
    if (ev->txn != 0 && trail__batch.txn == ev->txn) {
        memcpy(prev, trail__batch.hash, 32);
    } else {
        /* A new transaction: what an earlier one gathered was undone with it. */
        trail__pending_clear();
        PGresult *head = tsr_db_exec(ev->conn, "SELECT last_hash FROM chain_head FOR UPDATE", 0, NULL, err);
        if (head == NULL) {
            free(accesses);
            return -1;
        }
        size_t prev_len = 0;
        unsigned char *read = tsr_db_get_bytes(head, 0, 0, &prev_len);
        PQclear(head);
        if (read == NULL || prev_len != 32) {
            free(read);
            free(accesses);
            return tsr_error_set(err, TSR_E_INTERNAL, "bad_chain_head", NULL,
                                 "The audit chain's head is damaged.");
        }
        memcpy(prev, read, 32);
        free(read);
    }
    /* Until this apply has done all it does, nothing of it may be trusted by the next. */
    trail__batch.txn = 0;
    rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = trail__append(ev->event, &accesses[i], (int)i, prev, err);
    if (rc == 0)
        rc = audit_uses_keep_person(ev, err);
    if (rc == 0) {
        trail__batch.txn = ev->txn;
        memcpy(trail__batch.hash, prev, 32);
    }
    free(accesses);
    return rc;
}

/* One column of the gathered entries as one binary array parameter: field f of trail__hash_fields
 * (text[]), or for f = TRAIL_HASH_FIELDS their prev_hash and + 1 their hash (bytea[]). */
static uint8_t *trail__column(size_t f, size_t *len)
{
    size_t n = trail__batch.count;
    const uint8_t **items = calloc(n ? n : 1, sizeof(*items));
    size_t *lens = calloc(n ? n : 1, sizeof(*lens));
    uint8_t *array = NULL;
    if (items != NULL && lens != NULL) {
        for (size_t i = 0; i < n; i++) {
            const trail_pending_t *row = &trail__batch.rows[i];
            items[i] = f < TRAIL_HASH_FIELDS    ? (const uint8_t *)row->text[f]
                       : f == TRAIL_HASH_FIELDS ? row->prev
                                                : row->hash;
            lens[i] = f < TRAIL_HASH_FIELDS ? strlen(row->text[f]) : 32;
        }
        array = tsr_db_binary_array(f < TRAIL_HASH_FIELDS ? TSR_DB_TEXT_OID : TSR_DB_BYTEA_OID, items, lens,
                                    n, len);
    }
    free(items);
    free(lens);
    return array;
}

/* Every entry gathered in the transaction, in the order chained, as one INSERT from arrays (ids
 * given in that order), with the chain's head moved to the last of them in the same statement. */
static const char trail__insert_sql[] =
    "WITH added AS ("
    " INSERT INTO entries (occurred_at, worker_id, username, roles, session_id, action,"
    "  record_kind, record_id, summary, producer, producer_seq, trace_id, producer_item, teams,"
    "  reason, prev_hash, hash, hash_version)"
    " SELECT to_timestamp(occurred::bigint / 1000.0), worker::bigint, username, roles::text[],"
    "  session_id, action, record_kind, record::bigint, summary, producer, seq::bigint, trace_id,"
    "  item::int, teams::text[], reason, prev_hash, hash, $18::smallint"
    " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
    "  $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],"
    "  $14::text[], $15::text[], $16::bytea[], $17::bytea[])"
    "  WITH ORDINALITY AS u(occurred, worker, username, roles, session_id, action, record_kind,"
    "  record, summary, producer, seq, trace_id, item, teams, reason, prev_hash, hash, o)"
    " ORDER BY o"
    " RETURNING id)"
    " UPDATE chain_head SET last_id = (SELECT max(id) FROM added), last_hash = $19";

int audit_trail_flush(tsr_event_t *ev, tsr_error_t *err)
{
    int rc = 0;
    if (trail__batch.txn == ev->txn && trail__batch.count > 0) {
        uint8_t *arrays[TRAIL_HASH_FIELDS + 2] = {0};
        size_t lens[TRAIL_HASH_FIELDS + 2] = {0};
        int ok = 1;
        for (size_t f = 0; f < TRAIL_HASH_FIELDS + 2; f++)
            ok = ok && (arrays[f] = trail__column(f, &lens[f])) != NULL;
        if (!ok) {
            rc =
                tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory writing the trail.");
        } else {
            char version[8];
            snprintf(version, sizeof(version), "%d", TRAIL_HASH_VERSION);
            const char *values[19];
            int lengths[19], formats[19];
            for (size_t i = 0; i < TRAIL_HASH_FIELDS + 2; i++) {
                values[i] = (const char *)arrays[i];
                lengths[i] = (int)lens[i];
                formats[i] = 1;
            }
            values[17] = version;
            lengths[17] = 0;
            formats[17] = 0;
            values[18] = (const char *)trail__batch.hash;
            lengths[18] = 32;
            formats[18] = 1;
            /* Run now, not deferred to the COMMIT: a failure must be the flush's, so that the
             * consumer can find the event at fault (tsr_flush_fn). */
            PGresult *res = tsr_db_exec_bin(ev->conn, trail__insert_sql, 19, values, lengths, formats, err);
            rc = res != NULL ? 0 : -1;
            PQclear(res);
        }
        for (size_t i = 0; i < TRAIL_HASH_FIELDS + 2; i++)
            free(arrays[i]);
    }
    /* Written (or failed, and then undone with the transaction): either way they are gone, and the
     * head stays good for the transaction's next applies only if they were written. */
    trail__pending_clear();
    if (rc != 0)
        trail__batch.txn = 0;
    if (rc == 0)
        rc = audit_uses_flush_people(ev, err);
    return rc;
}

/* Lines of text (array_to_string(a, E'\n')) split in place into at most 32 items. */
static size_t trail__split_lines(const char *text, char **buf, char ***items)
{
    *buf = strdup(text);
    *items = calloc(32, sizeof(char *));
    size_t n = 0;
    char *save = NULL;
    for (char *tok = *buf && *items ? strtok_r(*buf, "\n", &save) : NULL; tok && n < 32;
         tok = strtok_r(NULL, "\n", &save))
        (*items)[n++] = tok;
    return n;
}

static void trail__entry_from_row(const PGresult *res, int row, Tsr__Audit__AuditEntry *entry, char *bufs[2],
                                  char **lists[2])
{
    tsr__audit__audit_entry__init(entry);
    entry->id = strtoull(PQgetvalue(res, row, 0), NULL, 10);
    entry->occurred_at_ms = strtoll(PQgetvalue(res, row, 1), NULL, 10);
    entry->recorded_at_ms = strtoll(PQgetvalue(res, row, 2), NULL, 10);
    entry->worker_id = strtoull(PQgetvalue(res, row, 3), NULL, 10);
    entry->username = PQgetvalue(res, row, 4);
    entry->session_id = PQgetvalue(res, row, 5);
    entry->action = PQgetvalue(res, row, 6);
    entry->record_kind = PQgetvalue(res, row, 7);
    entry->record_id = strtoull(PQgetvalue(res, row, 8), NULL, 10);
    entry->summary = PQgetvalue(res, row, 9);
    entry->producer = PQgetvalue(res, row, 10);
    entry->producer_seq = strtoull(PQgetvalue(res, row, 11), NULL, 10);
    entry->trace_id = PQgetvalue(res, row, 12);
    entry->hash = PQgetvalue(res, row, 13);
    entry->n_roles = trail__split_lines(PQgetvalue(res, row, 14), &bufs[0], &lists[0]);
    entry->roles = lists[0];
    entry->reason = PQgetvalue(res, row, 15);
    entry->n_teams = trail__split_lines(PQgetvalue(res, row, 16), &bufs[1], &lists[1]);
    entry->teams = lists[1];
    entry->contract = PQgetvalue(res, row, 17);
}

int audit_events_query(tsr_call_t *call, tsr_error_t *err)
{
    const Tsr__Audit__AuditQuery *q = (const Tsr__Audit__AuditQuery *)call->payload;
    if (tsr_actor_require_role(call->actor, trail_readers, "read the audit trail", err) != 0)
        return -1;
    uint32_t limit = q->limit == 0 ? 50 : q->limit;
    if (limit > 200)
        return tsr_error_set(err, TSR_E_INVALID, "invalid_limit", "limit", "limit must be from 1 to 200.");
    uint64_t before = 0;
    if (tsr_text_cursor_id(q->cursor, &before, err) != 0)
        return -1;
    if ((q->person_id != 0) + (q->organisation_id != 0) + (q->account_id != 0) > 1)
        return tsr_error_set(err, TSR_E_INVALID, "conflicting_filters", "person_id",
                             "Ask for one record: a person, an organisation or a worker's account.");
    char kind[16] = "", record[32] = "", worker[32] = "", from[32] = "", to[32] = "", cursor[32] = "",
         lim[16];
    if (q->person_id) {
        snprintf(kind, sizeof(kind), "person");
        snprintf(record, sizeof(record), "%" PRIu64, q->person_id);
    } else if (q->organisation_id) {
        snprintf(kind, sizeof(kind), "organisation");
        snprintf(record, sizeof(record), "%" PRIu64, q->organisation_id);
    } else if (q->account_id) {
        snprintf(kind, sizeof(kind), "worker");
        snprintf(record, sizeof(record), "%" PRIu64, q->account_id);
    }
    if (q->worker_id)
        snprintf(worker, sizeof(worker), "%" PRIu64, q->worker_id);
    if (q->from_ms)
        snprintf(from, sizeof(from), "%" PRId64, q->from_ms);
    if (q->to_ms)
        snprintf(to, sizeof(to), "%" PRId64, q->to_ms);
    if (before)
        snprintf(cursor, sizeof(cursor), "%" PRIu64, before);
    snprintf(lim, sizeof(lim), "%u", limit + 1);
    const char *params[7] = {kind[0] ? kind : NULL,
                             record[0] ? record : NULL,
                             worker[0] ? worker : NULL,
                             from[0] ? from : NULL,
                             to[0] ? to : NULL,
                             cursor[0] ? cursor : NULL,
                             lim};
    PGresult *res = tsr_db_exec(
        call->conn,
        "SELECT id, (extract(epoch FROM occurred_at) * 1000)::bigint, (extract(epoch FROM recorded_at) * "
        "1000)::bigint,"
        " worker_id, username, session_id, action, record_kind, record_id, summary, producer, producer_seq,"
        " trace_id, encode(hash, 'hex'), array_to_string(roles, E'\\n'), reason, array_to_string(teams, "
        "E'\\n'),"
        /* A third party's contract, as the accounts' events say it stands. */
        " coalesce((SELECT contract_name FROM workers w WHERE w.worker_id = entries.worker_id), '')"
        " FROM entries"
        " WHERE ($1::text IS NULL OR (record_kind = $1 AND record_id = $2::bigint))"
        "   AND ($3::bigint IS NULL OR worker_id = $3::bigint)"
        "   AND ($4::bigint IS NULL OR occurred_at >= to_timestamp($4::bigint / 1000.0))"
        "   AND ($5::bigint IS NULL OR occurred_at < to_timestamp($5::bigint / 1000.0))"
        "   AND ($6::bigint IS NULL OR id < $6::bigint)"
        " ORDER BY id DESC LIMIT $7::int",
        7, params, err);
    if (res == NULL)
        return -1;
    int rows = PQntuples(res);
    int shown = rows > (int)limit ? (int)limit : rows;
    Tsr__Audit__AuditEntries list = TSR__AUDIT__AUDIT_ENTRIES__INIT;
    Tsr__Audit__AuditEntry *entries = calloc(shown ? (size_t)shown : 1, sizeof(*entries));
    Tsr__Audit__AuditEntry **items = calloc(shown ? (size_t)shown : 1, sizeof(*items));
    char **roles_bufs = calloc(shown ? (size_t)shown * 2 : 1, sizeof(char *));
    char ***roles = calloc(shown ? (size_t)shown * 2 : 1, sizeof(char **));
    int rc = 0;
    if (entries == NULL || items == NULL || roles_bufs == NULL || roles == NULL) {
        rc = tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory reading the trail.");
        goto done;
    }
    for (int i = 0; i < shown; i++) {
        trail__entry_from_row(res, i, &entries[i], &roles_bufs[2 * i], &roles[2 * i]);
        items[i] = &entries[i];
    }
    char next[32] = "";
    if (rows > (int)limit)
        snprintf(next, sizeof(next), "%" PRIu64, entries[shown - 1].id);
    list.n_items = (size_t)shown;
    list.items = items;
    list.next_cursor = next;
    tsr_call_reply(call, &list.base);
done:
    for (int i = 0; roles_bufs && roles && i < 2 * shown; i++) {
        free(roles_bufs[i]);
        free(roles[i]);
    }
    free(roles_bufs);
    free(roles);
    free(entries);
    free(items);
    PQclear(res);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * Verification
 * ---------------------------------------------------------------------------------------------- */

static const char *const trail_verifiers[] = {"auditor", "admin", "system", NULL};

#define TRAIL_VERIFY_PAGE 5000

/* The items of an array given as array_to_string(a, E'\x1f') and its cardinality, as a literal. */
static char *trail__literal_from_text(char *joined, int count)
{
    char *items[64];
    size_t n = 0;
    if (count > 0) {
        items[n++] = joined;
        for (char *c = joined; *c && n < 64; c++)
            if (*c == '\x1f') {
                *c = '\0';
                items[n++] = c + 1;
            }
    }
    return tsr_text_array_literal((const char *const *)items, n);
}

/* 1 when the entry in row holds together with prev (and advances prev to its hash), 0 with
 * problem filled when it does not, -1 out of memory. */
static int trail__verify_row(PGresult *res, int row, unsigned char prev[32], char *problem, size_t size)
{
    char *roles_text = strdup(PQgetvalue(res, row, 4));
    char *teams_text = strdup(PQgetvalue(res, row, 15));
    char *roles = roles_text ? trail__literal_from_text(roles_text, atoi(PQgetvalue(res, row, 5))) : NULL;
    char *teams = teams_text ? trail__literal_from_text(teams_text, atoi(PQgetvalue(res, row, 16))) : NULL;
    size_t prev_len = 0, hash_len = 0;
    unsigned char *stored_prev = tsr_db_get_bytes(res, row, 19, &prev_len);
    unsigned char *stored_hash = tsr_db_get_bytes(res, row, 20, &hash_len);
    int rc = -1;
    if (roles == NULL || teams == NULL || stored_prev == NULL || stored_hash == NULL)
        goto done;
    int version = atoi(PQgetvalue(res, row, 18));
    trail_row_t r = {PQgetvalue(res, row, 1),  PQgetvalue(res, row, 2),
                     PQgetvalue(res, row, 3),  roles,
                     PQgetvalue(res, row, 6),  PQgetvalue(res, row, 7),
                     PQgetvalue(res, row, 8),  PQgetvalue(res, row, 9),
                     PQgetvalue(res, row, 10), PQgetvalue(res, row, 11),
                     PQgetvalue(res, row, 12), PQgetvalue(res, row, 13),
                     PQgetvalue(res, row, 14), teams,
                     PQgetvalue(res, row, 17)};
    rc = 0;
    if (version < 1 || version > TRAIL_HASH_VERSION) {
        snprintf(problem, size, "its hash version (%d) is not one this service writes", version);
    } else if (prev_len != 32 || sodium_memcmp(stored_prev, prev, 32) != 0) {
        snprintf(problem, size,
                 "it does not follow the entry before it: that entry was changed, or entries between them "
                 "were removed");
    } else {
        const char *fields[TRAIL_HASH_FIELDS];
        size_t n = trail__hash_fields(&r, version, fields);
        unsigned char hash[32];
        trail__hash(prev, fields, n, hash);
        if (hash_len != 32 || sodium_memcmp(hash, stored_hash, 32) != 0) {
            snprintf(problem, size,
                     "its contents do not match its hash: it was changed after it was written");
        } else {
            memcpy(prev, stored_hash, 32);
            rc = 1;
        }
    }
done:
    free(roles_text);
    free(teams_text);
    free(roles);
    free(teams);
    free(stored_prev);
    free(stored_hash);
    return rc;
}

int audit_trail_verify(tsr_call_t *call, tsr_error_t *err)
{
    if (tsr_actor_require_role(call->actor, trail_verifiers, "verify the audit trail", err) != 0)
        return -1;
    /* One snapshot for the whole walk: entries appended meanwhile belong to the next verification. */
    if (tsr_db_command(call->conn, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", err) != 0)
        return -1;
    PGresult *head = tsr_db_exec(call->conn, "SELECT last_id, last_hash FROM chain_head", 0, NULL, err);
    if (head == NULL)
        return -1;
    uint64_t head_id = strtoull(PQgetvalue(head, 0, 0), NULL, 10);
    size_t head_len = 0;
    unsigned char *head_hash = tsr_db_get_bytes(head, 0, 1, &head_len);
    PQclear(head);
    if (head_hash == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL,
                             "Out of memory verifying the trail.");
    Tsr__Audit__VerifyReply reply = TSR__AUDIT__VERIFY_REPLY__INIT;
    char problem[512] = "";
    unsigned char prev[32] = {0};
    uint64_t after = 0, last_id = 0;
    int rc = 0;
    for (;;) {
        char after_text[32];
        snprintf(after_text, sizeof(after_text), "%" PRIu64, after);
        const char *params[2] = {after_text, NULL};
        char page[16];
        snprintf(page, sizeof(page), "%d", TRAIL_VERIFY_PAGE);
        params[1] = page;
        PGresult *res = tsr_db_exec(
            call->conn,
            "SELECT id, (extract(epoch FROM occurred_at) * 1000)::bigint, worker_id, username,"
            " array_to_string(roles, E'\\x1f', ''), cardinality(roles), session_id, action, record_kind,"
            " record_id, summary, producer, producer_seq, trace_id, producer_item,"
            " array_to_string(teams, E'\\x1f', ''), cardinality(teams), reason, hash_version, prev_hash, hash"
            " FROM entries WHERE id > $1::bigint ORDER BY id LIMIT $2::int",
            2, params, err);
        if (res == NULL) {
            rc = -1;
            break;
        }
        int rows = PQntuples(res);
        for (int i = 0; i < rows && problem[0] == '\0'; i++) {
            uint64_t id = strtoull(PQgetvalue(res, i, 0), NULL, 10);
            int ok = trail__verify_row(res, i, prev, problem, sizeof(problem));
            if (ok < 0) {
                rc = tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL,
                                   "Out of memory verifying the trail.");
                break;
            }
            if (ok == 0)
                reply.first_bad_id = id;
            else
                reply.entries_checked++;
            last_id = after = id;
        }
        PQclear(res);
        if (rc != 0 || problem[0] != '\0' || rows < TRAIL_VERIFY_PAGE)
            break;
    }
    if (rc == 0 && problem[0] == '\0' && (last_id != head_id || sodium_memcmp(prev, head_hash, 32) != 0)) {
        /* Every entry holds, but the chain's head was written after another entry: the last ones were
         * removed (or the head itself was changed). */
        reply.first_bad_id = last_id;
        snprintf(problem, sizeof(problem),
                 "the trail ends at entry %" PRIu64 " but its head was last written with entry %" PRIu64
                 ": entries at the end were removed, or the head was changed",
                 last_id, head_id);
    }
    free(head_hash);
    if (rc != 0)
        return -1;
    reply.intact = problem[0] == '\0';
    reply.problem = problem;
    tsr_call_reply(call, &reply.base);
    return 0;
}
