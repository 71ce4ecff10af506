-- Managers as a structure and third-party accounts (seed 002). The records daemon lets "the
-- allocated worker(s) & their manager(s)" into a restricted record, so a worker's line manager and
-- the teams a worker manages are kept here and published with the account (accounts.worker.changed).
ALTER TABLE workers ADD COLUMN manager_id bigint REFERENCES workers (id) CHECK (manager_id <> id);
CREATE INDEX workers_manager ON workers (manager_id) WHERE manager_id IS NOT NULL;

-- A team may have more than one manager (a team manager and a senior practitioner).
CREATE TABLE team_managers (
    worker_id bigint NOT NULL REFERENCES workers (id),
    team_id bigint NOT NULL REFERENCES teams (id),
    PRIMARY KEY (worker_id, team_id)
);
CREATE INDEX team_managers_team ON team_managers (team_id);

-- Staff outside the council work under a contract; their account works up to and including its
-- end date, and no further whatever else is recorded.
CREATE TABLE worker_contracts (
    worker_id bigint PRIMARY KEY REFERENCES workers (id),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    end_date date NOT NULL,
    person_ids bigint[] NOT NULL DEFAULT '{}',
    changed_at timestamptz NOT NULL DEFAULT now()
);

-- Finding a colleague to send work to: by any part of the name, and by team.
CREATE INDEX workers_name_trgm ON workers USING gin (name public.gin_trgm_ops);
CREATE INDEX worker_teams_team ON worker_teams (team_id);
CREATE INDEX workers_name_order ON workers (lower(name), id);
