-- A case note removed because it was recorded in error (seed 002: on the wrong person's record, or
-- found to be inaccurate). The note itself is deleted, its title and text with it; what is kept is
-- that a note of this type and date was there, who removed it, when and why, so that a second
-- removal gets a clear answer and governance can see what was taken out. The audit trail has the
-- same, tamper-evident.
CREATE TABLE case_note_removals (
    case_note_id bigint PRIMARY KEY,
    person_id bigint NOT NULL REFERENCES people (id),
    type text NOT NULL,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    recorded_by bigint NOT NULL,
    reason text NOT NULL CHECK (reason IN ('wrong-person', 'inaccurate', 'other')),
    explanation text NOT NULL DEFAULT '' CHECK (length(explanation) <= 1000),
    removed_at timestamptz NOT NULL DEFAULT now(),
    removed_by bigint NOT NULL
);
CREATE INDEX case_note_removals_person ON case_note_removals (person_id);
