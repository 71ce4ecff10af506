-- Retention now reads a person's allocations ended as well as open (every person read, every flag,
-- every candidate of the due list): allocations_person covers the open ones only. And it follows the
-- duplicates merged into a record (merged_into), which nothing indexed: each of those read every
-- person there is.
CREATE INDEX allocations_person_service ON allocations (person_id, service);
CREATE INDEX people_merged_into ON people (merged_into) WHERE merged_into IS NOT NULL;
