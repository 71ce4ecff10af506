-- The teams and roles each worker held, and from when to when (from accounts.worker.changed): an
-- audit of use judges a read by the teams of the reader at the time of the read, not by the teams
-- they are in now, and finds movers (seed 002: "movers and leavers") and what they read of their old
-- teams' records after moving.
CREATE TABLE worker_teams (
    worker_id bigint NOT NULL,
    team_ids bigint[] NOT NULL,
    team_names text[] NOT NULL,
    roles text[] NOT NULL,
    from_at timestamptz NOT NULL,
    to_at timestamptz,
    PRIMARY KEY (worker_id, from_at)
);
CREATE UNIQUE INDEX worker_teams_open ON worker_teams (worker_id) WHERE to_at IS NULL;

-- What was known before: each account's teams as they stand, held since it was first seen.
INSERT INTO worker_teams (worker_id, team_ids, team_names, roles, from_at)
SELECT worker_id, team_ids, team_names, roles, first_seen_at FROM workers;
