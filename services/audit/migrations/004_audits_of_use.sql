-- What the five audits of use (seed 002) need beyond the trail, kept from the events of the daemons
-- that own it (accounts and records), never read from their schemas.

-- Each worker's account as it now stands, with when it last signed in and when it ended.
CREATE TABLE workers (
    worker_id bigint PRIMARY KEY,
    username text NOT NULL,
    name text NOT NULL,
    roles text[] NOT NULL DEFAULT '{}',
    team_ids bigint[] NOT NULL DEFAULT '{}',
    team_names text[] NOT NULL DEFAULT '{}',
    ended boolean NOT NULL DEFAULT false,
    ended_at timestamptz,
    third_party boolean NOT NULL DEFAULT false,
    contract_name text NOT NULL DEFAULT '',
    contract_end_date date,
    contract_person_ids bigint[] NOT NULL DEFAULT '{}',
    first_seen_at timestamptz NOT NULL,
    last_sign_in_at timestamptz,
    version bigint NOT NULL DEFAULT 0
);

-- Who was allocated to whom, and for how long (from records' allocated / deallocated events).
CREATE TABLE allocations (
    id bigint PRIMARY KEY,
    person_id bigint NOT NULL,
    worker_id bigint,
    team_id bigint,
    started_at timestamptz NOT NULL,
    ended_at timestamptz
);
CREATE INDEX allocations_person ON allocations (person_id);

-- Conflicts of interest workers declared (family, friends, neighbours known on the system).
CREATE TABLE conflicts (
    worker_id bigint NOT NULL,
    person_id bigint NOT NULL,
    declared_at timestamptz NOT NULL,
    PRIMARY KEY (worker_id, person_id)
);

CREATE INDEX entries_worker_occurred ON entries (worker_id, occurred_at);

-- The name each person's record was last shown under, for the audit of own or connected records
-- (a worker sharing a family name with the person).
CREATE TABLE people (
    person_id bigint PRIMARY KEY,
    display_name text NOT NULL
);
