-- The teams each worker manages (from accounts' events): a request not acknowledged in time goes up
-- to the key worker's line manager and, when they have none (or theirs has left), to the managers of
-- the teams they are in, so that an overdue CP-IS notification always reaches someone.
ALTER TABLE members
    ADD COLUMN managed_team_ids bigint[] NOT NULL DEFAULT '{}';
CREATE INDEX members_managed_teams ON members USING gin (managed_team_ids);

-- The workers' events applied before this column existed are read again from accounts' outbox (the
-- consumer asks for a replay from here at start-up); applying one again is harmless (by version).
UPDATE inbox SET last_seq = 0 WHERE producer = 'accounts';
