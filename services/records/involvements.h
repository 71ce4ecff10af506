/* involvements: a person's involvement with a service (children's social work, early help, adult
 * social care): what kind, from when to when, and the team or worker involved. Every read and write
 * needs full access to the person and is an audited access. */
#ifndef RECORDS_INVOLVEMENTS_H
#define RECORDS_INVOLVEMENTS_H

#include "records.pb-c.h"
#include "tsr_daemon.h"

/* The kinds of involvement, NULL-terminated (the retention schedule's criteria name those they suit). */
extern const char *const records_involvement_kinds[];

int records_involvement_add(tsr_call_t *call, tsr_error_t *err);
int records_involvement_end(tsr_call_t *call, tsr_error_t *err);
int records_involvement_list(tsr_call_t *call, tsr_error_t *err);

/* Fills person->involvements with the open ones (release with records_involvements_release). */
int records_involvements_load(tsr_call_t *call, Tsr__Records__Person *person, PGresult **holder,
                              tsr_error_t *err);
void records_involvements_release(Tsr__Records__Person *person, PGresult *holder);

#endif
