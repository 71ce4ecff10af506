-- The accounts daemon's workers as its accounts.worker.changed events say they stand: what the access
-- rule needs to decide for a worker other than the caller (who may be sent work about a restricted
-- person) and to let in the managers of allocated workers (seed 002).
CREATE TABLE workers (
    id bigint PRIMARY KEY,
    roles text[] NOT NULL DEFAULT '{}',
    team_ids bigint[] NOT NULL DEFAULT '{}',
    team_names text[] NOT NULL DEFAULT '{}',
    manager_id bigint,
    managed_team_ids bigint[] NOT NULL DEFAULT '{}',
    ended boolean NOT NULL DEFAULT false
);
CREATE INDEX workers_manager ON workers (manager_id) WHERE manager_id IS NOT NULL;

CREATE TABLE teams (
    id bigint PRIMARY KEY,
    name text NOT NULL
);
