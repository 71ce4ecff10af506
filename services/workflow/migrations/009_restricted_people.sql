-- The people whose records are restricted (seed 002), as records' events say
-- (records.person.restricted, .unrestricted; a merge keeps the more protective; a disposal takes the
-- row). Work another daemon asks for about one of them is not started in a queue whose workers cannot
-- open the record, even when the asker looked before the record was restricted and the restriction
-- reached this daemon first (virtual_workers' restricted_records_to). Records restricted before this
-- table are not in it; the asker's own flag (StepRequested.subject_restricted) covers them.
CREATE TABLE restricted_people (
    person_id bigint PRIMARY KEY,
    since timestamptz NOT NULL DEFAULT now()
);
