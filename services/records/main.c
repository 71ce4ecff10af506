/* tessera-records: people, organisations and everything recorded about them. */
#include "access.h"
#include "addresses.h"
#include "family_context.h"
#include "involvements.h"
#include "organisations.h"
#include "merges.h"
#include "nhs_match.h"
#include "people.h"
#include "relations.h"
#include "restrictions.h"
#include "disposals.h"
#include "retention.h"
#include "records.pb-c.h"
#include "tsr_daemon.h"
#include "tsr_log.h"

extern const tsr_migration_t records_migrations[];
extern const size_t records_migrations_count;

static const tsr_handler_def_t records_handlers[] = {
    {"records.organisation.create", records_organisation_create,
     &tsr__records__organisation_create__descriptor},
    {"records.organisation.get", records_organisation_get, &tsr__records__organisation_get__descriptor},
    {"records.organisation.search", records_organisation_search,
     &tsr__records__organisation_search__descriptor},
    {"records.person.create", records_person_create, &tsr__records__person_create__descriptor},
    {"records.person.get", records_person_get, &tsr__records__person_get__descriptor},
    {"records.person.search", records_person_search, &tsr__records__person_search__descriptor},
    {"records.person.restrict", records_restriction_set, &tsr__records__restriction_set__descriptor},
    {"records.person.unrestrict", records_restriction_lift, &tsr__records__restriction_lift__descriptor},
    {"records.person.set_nhs_number", records_person_set_nhs_number,
     &tsr__records__nhs_number_set__descriptor},
    {"records.person.record_birth", records_person_record_birth, &tsr__records__person_birth__descriptor},
    {"records.person.update_details", records_person_update_details,
     &tsr__records__person_details_set__descriptor},
    {"records.allocation.add", records_allocation_add, &tsr__records__allocation__descriptor},
    {"records.allocation.end", records_allocation_end, &tsr__records__allocation_end__descriptor},
    {"records.allocations.to_leavers", records_allocations_to_leavers,
     &tsr__records__leaver_allocations_query__descriptor},
    {"records.relationship.add", records_relationship_add, &tsr__records__relationship__descriptor},
    {"records.person.merge", records_person_merge, &tsr__records__person_merge__descriptor},
    {"records.case_note.add", records_case_note_add, &tsr__records__case_note__descriptor},
    {"records.involvement.add", records_involvement_add, &tsr__records__involvement__descriptor},
    {"records.involvement.end", records_involvement_end, &tsr__records__involvement_end__descriptor},
    {"records.involvement.list", records_involvement_list, &tsr__records__person_get__descriptor},
    {"records.person.access_check", records_access_check, &tsr__records__access_check__descriptor},
    {"records.people.access_check", records_access_check_people,
     &tsr__records__people_access_check__descriptor},
    {"records.case_note.list", records_case_note_list, &tsr__records__case_notes_get__descriptor},
    {"records.case_note.remove", records_case_note_remove, &tsr__records__case_note_remove__descriptor},
    {"records.person.match_nhs", records_person_match_nhs, &tsr__records__nhs_match__descriptor},
    {"records.person.demographics", records_person_demographics,
     &tsr__records__people_demographics__descriptor},
    {"records.family_context.search", records_family_context_search,
     &tsr__records__family_context_search__descriptor},
    {"records.family_context.get", records_family_context_get, &tsr__records__family_context_get__descriptor},
    {"records.family_context.import", records_family_context_import,
     &tsr__records__family_context_import__descriptor},
    {"records.address.add", records_address_add, &tsr__records__address__descriptor},
    {"records.address.end", records_address_end, &tsr__records__address_end__descriptor},
    {"records.address.list", records_address_list, &tsr__records__person_get__descriptor},
    {"records.retention.schedule", records_retention_schedule,
     &tsr__records__retention_schedule_get__descriptor},
    {"records.retention.flag", records_retention_flag, &tsr__records__retention_flag_set__descriptor},
    {"records.retention.unflag", records_retention_unflag, &tsr__records__retention_flag_remove__descriptor},
    {"records.retention.hold", records_retention_hold, &tsr__records__retention_hold_set__descriptor},
    {"records.retention.release", records_retention_release_hold,
     &tsr__records__retention_hold_release__descriptor},
    {"records.retention.due", records_retention_due, &tsr__records__retention_due_query__descriptor},
    {"records.person.dispose", records_person_dispose, &tsr__records__person_dispose__descriptor},
    {"records.restriction.due", records_restriction_due, &tsr__records__restriction_due_query__descriptor},
};

/* Reads that write nothing but their audit events: those events are committed for many reads at
 * once (tsr_daemon_handle_reads), each read answered only once its event is on disk. */
static const char *const records_reads[] = {
    "records.organisation.get",   "records.person.get",       "records.person.search",
    "records.case_note.list",     "records.involvement.list", "records.family_context.search",
    "records.family_context.get", "records.retention.due",    "records.address.list",
    "records.restriction.due",
};

int main(int argc, char **argv)
{
    tsr_daemon_t *daemon = tsr_daemon_new("records", argc, argv);
    if (daemon == NULL)
        return TSR_EXIT_CONFIG;
    int rc = 1;
    tsr_error_t err;
    if (records_access_configure(tsr_daemon_config(daemon), &err) != 0 ||
        records_people_configure(tsr_daemon_config(daemon), &err) != 0 ||
        records_family_context_configure(tsr_daemon_config(daemon), &err) != 0 ||
        records_retention_configure(tsr_daemon_config(daemon), &err) != 0) {
        rc = tsr_daemon_config_error(daemon, &err);
        goto done;
    }
    /* The dates in its answers (a case note removed "on 05/12/2026 09:14") are the office's. */
    if (tsr_daemon_use_timezone(daemon, "records.timezone") != 0) {
        rc = TSR_EXIT_CONFIG;
        goto done;
    }
    if (tsr_daemon_migrate(daemon, records_migrations, records_migrations_count) != 0)
        goto done;
    tsr_daemon_handle(daemon, records_handlers, sizeof(records_handlers) / sizeof(records_handlers[0]));
    if (tsr_daemon_handle_reads(daemon, records_reads, sizeof(records_reads) / sizeof(records_reads[0])) != 0)
        goto done;
    if (tsr_daemon_subscribe(daemon, "accounts", records_access_apply_accounts_event) != 0)
        goto done;
    rc = tsr_daemon_run(daemon);
done:
    tsr_daemon_destroy(&daemon);
    return rc;
}
