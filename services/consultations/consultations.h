/* consultations: the Front Door Consultation's form data (seed 000), sections 1 'Details of
 * consultation' and 2 'Advice given / decision made'. The workflow daemon checks a save against
 * the section's fields and passes it on here; this daemon keeps it in typed columns, publishes the
 * consultation as it now stands through its outbox, and answers whether the section is complete.
 * Completed consultations from the old system are loaded here too (consultations.import). */
#ifndef CONSULTATIONS_H
#define CONSULTATIONS_H

#include <jansson.h>

#include "tsr_daemon.h"

/* consultations.section.save: a tsr.workflow.OwnedSectionSave, answered with OwnedSectionSaved. */
int consultations_section_save(tsr_call_t *call, tsr_error_t *err);
/* consultations.import: a tsr.consultations.Import (system actor only), answered with ImportResult. */
int consultations_import(tsr_call_t *call, tsr_error_t *err);

/* workflow.step.deleted (a step deleted as recorded in error, seed 002): its form is deleted too. */
int consultations_wants_workflow_event(const Tsr__Envelope *ev);
int consultations_apply_workflow_event(tsr_event_t *ev, tsr_error_t *err);

/* Emits consultations.consultation.<action> for the step's consultation as it now stands (section
 * is the one just saved, or NULL). */
int consultations_emit(tsr_call_t *call, const char *step_id, const char *action, const char *section,
                       tsr_error_t *err);

/* A choice of a picklist field of the definition (its "options"), matched by key or, when by_title,
 * by title too (case-insensitive): the option, or NULL. */
const json_t *consultations_option(const json_t *field, const char *text, int by_title);

/* The chosen options of a multi-picklist field in the order the field lists them, whatever order
 * they were given in, as a new array: the report and a re-import see one consultation one way. */
json_t *consultations_options_in_order(const json_t *field, const json_t *chosen);

/* The member ("value" or "title") of each option as a PostgreSQL text[] literal: {"a","b"}. The
 * caller frees it. */
char *consultations_array_literal(const json_t *options, const char *member);

#endif
