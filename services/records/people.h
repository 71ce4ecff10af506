/* people: the records daemon's people (children, adults, unborn children), their details and their
 * allocations (restrictions are restrictions.c's). Every read and every refused attempt is an event for the
 * audit trail, written in the same transaction as the read. */
#ifndef RECORDS_PEOPLE_H
#define RECORDS_PEOPLE_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "tsr_daemon.h"

/* A person's display name, for a row of people aliased p: "Unborn baby <family>" before birth. */
#define RECORDS_PERSON_DISPLAY                                                                               \
    "CASE WHEN p.unborn AND p.given_name = '' THEN 'Unborn baby ' || p.family_name"                          \
    " ELSE btrim(p.given_name || ' ' || p.family_name) END"

int records_person_create(tsr_call_t *call, tsr_error_t *err);
int records_person_get(tsr_call_t *call, tsr_error_t *err);
int records_person_search(tsr_call_t *call, tsr_error_t *err);
int records_person_set_nhs_number(tsr_call_t *call, tsr_error_t *err);
/* records.person.update_details: the legal name, other names, date of birth, gender (and an unborn
 * child's expected date of delivery) corrected, audited as records.person.details-changed. */
int records_person_update_details(tsr_call_t *call, tsr_error_t *err);
int records_person_record_birth(tsr_call_t *call, tsr_error_t *err);
int records_allocation_add(tsr_call_t *call, tsr_error_t *err);
int records_allocation_end(tsr_call_t *call, tsr_error_t *err);
/* records.allocations.to_leavers: open key-worker allocations of workers who have left, each
 * person listed audited (records.allocations.listed). */
int records_allocations_to_leavers(tsr_call_t *call, tsr_error_t *err);

/* Shared with the other files about people. */
/* The roles that may change a person's record (add people, record NHS numbers, flag for retention). */
extern const char *const records_person_writers[];
/* Appends the audit event of an access to a person (action: created, viewed, refused, ...). */
/* records.audit_person_views (true; false only on a demo instance, to measure auditing's cost). */
int records_people_configure(const tsr_config_t *config, tsr_error_t *err);
/* Replies to a change of a person's record (restriction, merge) with the record as the actor now
 * sees it; the change's own audit entry covers the call, so nothing more is audited. */
int records_person_reply_changed(tsr_call_t *call, uint64_t person_id, tsr_error_t *err);
int records_person_audit(tsr_call_t *call, uint64_t person_id, const char *display_name, const char *action,
                         const char *summary, tsr_error_t *err);
/* The audit event of a record restricted, with the reason (records.person.restricted). */
int records_person_audit_restricted(tsr_call_t *call, uint64_t person_id, const char *display_name,
                                    const char *reason, const char *summary, tsr_error_t *err);
/* A list of records on a day (due for disposal, restrictions to review): the page asked for checked,
 * 50 by default and at most 200, the day a real date ("" for today), the cursor an offset below depth. */
int records_day_list_page(uint32_t asked_limit, const char *on, const char *cursor, unsigned long depth,
                          uint32_t *limit, unsigned long *offset, tsr_error_t *err);
/* One event of the given type (PeopleFound) naming every record a list showed in full, for the audit
 * trail's one entry a record; nothing when the list is empty. */
struct Tsr__Records__PersonAccessed;
/* The people a list shows in full, each a read of their record: added as the list is built
 * (records_listed_add), then named all in one event (records_listed_emit, by records_people_listed). */
typedef struct {
    struct Tsr__Records__PersonAccessed *items;
    struct Tsr__Records__PersonAccessed **ptrs;
    char (*summaries)[200];
    size_t n;
} records_listed_t;
/* Room for cap people; -1 (err set) when out of memory. */
int records_listed_init(records_listed_t *l, size_t cap, tsr_error_t *err);
/* Adds one (the strings are kept by reference, the summary copied): action the trail's word for it. */
void records_listed_add(records_listed_t *l, uint64_t person_id, const char *display_name, const char *action,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int records_listed_emit(tsr_call_t *call, const records_listed_t *l, const char *type, const char *terms,
                        tsr_error_t *err);
void records_listed_free(records_listed_t *l);
int records_people_listed(tsr_call_t *call, const char *type, struct Tsr__Records__PersonAccessed **people,
                          size_t n, const char *terms, tsr_error_t *err);
/* The survivor's records.person.merged, naming the duplicate merged into it (merged_from). */
int records_person_audit_merge(tsr_call_t *call, uint64_t survivor_id, const char *display_name,
                               uint64_t duplicate_id, const char *summary, tsr_error_t *err);
/* Refuses an action on a restricted record and keeps the refusal in the audit trail. */
int records_person_refuse(tsr_call_t *call, uint64_t id, const char *display, const char *what,
                          tsr_error_t *err);
/* The person's display name; not_found when there is no such person (record_disposed when one was
 * disposed of), merged, naming the record it went into, when it is a merged duplicate. */
int records_person_display(tsr_call_t *call, uint64_t id, char *out, size_t size, tsr_error_t *err);
/* Locks the person's row (id as decimal text) for the rest of the transaction, so that two changes
 * judged against what the record holds (an address, an allocation, a retention flag) follow each
 * other; merged when the record was merged into another meanwhile. 0, or -1 with err set. */
int records_person_lock(tsr_call_t *call, const char *id, tsr_error_t *err);
/* The same, with the person's date of birth (YYYY-MM-DD) at born: "" when the record has none (an
 * unborn child, or a date not known), for a date about the person checked against it. */
int records_person_lock_born(tsr_call_t *call, const char *id, char born[16], tsr_error_t *err);
/* Asks the notifications daemon (records.notice.requested) to tell the workers whose ids are the
 * first column of workers; nothing when there are none. The title and link name no one. With
 * count_repeats, the same dedupe_key again counts one occurrence more on the notice (and makes it
 * unread again) where otherwise it adds nothing. */
int records_notice_tell(tsr_call_t *call, const PGresult *workers, const char *kind, const char *title,
                        const char *link, const char *dedupe_key, int count_repeats, tsr_error_t *err);

#endif
