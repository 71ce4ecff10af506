-- Names in the order a person reads them: alphabetical, capitals and accents set aside ('abbey Road
-- Nursery', 'Ébène Day Nursery', 'Zephyr Youth Club'), where the cluster's collation (C.UTF-8, as
-- scripts/instance.sh makes it) put every capital before every small letter and 'É' after 'z'. ICU's
-- collation for British English (PostgreSQL built with ICU, as Debian's is). It is deterministic:
-- two names that differ never compare equal, so (name, step id) stays one order for the pages of
-- section 04 and their cursor.
CREATE COLLATION name_order (provider = icu, locale = 'en-GB');

-- Section 04's rows and their pages, in that order.
DROP INDEX consultations_completed;
DROP INDEX consultations_report_order;
CREATE INDEX consultations_completed ON consultations (completed_on, organisation_name COLLATE name_order, step_id)
    WHERE completed_on IS NOT NULL;
CREATE INDEX consultations_report_order ON consultations (organisation_name COLLATE name_order, step_id)
    WHERE completed_on IS NOT NULL;
