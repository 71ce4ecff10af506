-- Notices are found by what they point at when that goes: a step deleted as recorded in error, a
-- person's record disposed of (every step about it goes too, one event each). Without this each of
-- those read every notice ever sent.
CREATE INDEX notices_link ON notices (link);
