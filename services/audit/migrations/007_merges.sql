-- Records merged (records.person.merged): from the merge on, what was the duplicate's is the
-- record's that went forward, as records moves it. A read of that record is judged by the
-- allocations made on either, and by a third party's contract naming either; an allocation the two
-- held alike is ended on the duplicate's side, as records ends it. A duplicate merged into a record
-- that is later merged again is listed under the last one too, from then on.
CREATE TABLE merges (
    survivor_id bigint NOT NULL,
    duplicate_id bigint NOT NULL,
    merged_at timestamptz NOT NULL,
    PRIMARY KEY (survivor_id, duplicate_id)
);

-- The allocation's role and service (records' rule for an allocation both records held alike);
-- unknown for the allocations kept before this.
ALTER TABLE allocations ADD COLUMN role text, ADD COLUMN service text;
