-- A step about a person whose record was disposed of at the end of its retention (seed 002) goes
-- with the record: its row here says so, as 'disposed', and keeps no more than a deletion's does.
ALTER TABLE step_deletions DROP CONSTRAINT step_deletions_reason_check;
ALTER TABLE step_deletions ADD CONSTRAINT step_deletions_reason_check
    CHECK (reason IN ('wrong-record', 'inaccurate', 'duplicate', 'other', 'disposed'));
