-- Records disposed of at the end of their retention (seed 002: "Once the retention period has been
-- reached ... records are deleted appropriately"). The person, their names, dates, numbers, notes,
-- relationships, allocations, involvements, addresses, restriction and flags are deleted; this
-- register keeps only that the record (and the duplicates merged into it) was disposed of, when,
-- by whom and under which criteria, so that its id is answered "disposed of" rather than "never was".
CREATE TABLE disposals (
    person_id bigint PRIMARY KEY,
    merged_ids bigint[] NOT NULL DEFAULT '{}',
    keep_until date NOT NULL,
    criteria text[] NOT NULL,
    note text NOT NULL DEFAULT '' CHECK (length(note) <= 1000),
    disposed_at timestamptz NOT NULL DEFAULT now(),
    disposed_by bigint NOT NULL
);
CREATE INDEX disposals_merged ON disposals USING gin (merged_ids);
