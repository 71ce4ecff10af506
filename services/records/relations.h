/* relations: what is recorded about a person beyond their demographics: relationships to other
 * people (kept in both directions) and case notes. Both need full access to the person. */
#ifndef RECORDS_RELATIONS_H
#define RECORDS_RELATIONS_H

#include "records.pb-c.h"
#include "tsr_daemon.h"

/* The person's display name into display, when the caller has full access; otherwise the refusal
 * is kept (audited) and answered 403 restricted_record. what names the attempt ("case note"). */
int records_person_require_access(tsr_call_t *call, uint64_t id, const char *what, char *display, size_t size,
                                  tsr_error_t *err);
int records_relationship_add(tsr_call_t *call, tsr_error_t *err);
int records_case_note_add(tsr_call_t *call, tsr_error_t *err);
int records_case_note_list(tsr_call_t *call, tsr_error_t *err);
/* Takes out a case note recorded in error: system support, at a manager's request, with the reason;
 * its text is deleted, the removal (what, when, who, why) kept and audited. */
int records_case_note_remove(tsr_call_t *call, tsr_error_t *err);

/* Fills person->relationships (freed with records_relationships_release). */
int records_relationships_load(tsr_call_t *call, Tsr__Records__Person *person, PGresult **holder,
                               tsr_error_t *err);
void records_relationships_release(Tsr__Records__Person *person, PGresult *holder);

/* Fills person->case_notes with the latest ten and case_notes_total (release with
 * records_case_notes_release): the summary page's part of the one audited view. */
int records_case_notes_latest(tsr_call_t *call, Tsr__Records__Person *person, PGresult **holder,
                              tsr_error_t *err);
void records_case_notes_release(Tsr__Records__Person *person, PGresult *holder);

#endif
