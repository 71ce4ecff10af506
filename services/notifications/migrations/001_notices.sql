-- In-app notices to workers, asked for by other daemons' events (<producer>.notice.requested).
CREATE TABLE notices (
    id bigserial PRIMARY KEY,
    worker_id bigint NOT NULL,
    kind text NOT NULL,
    title text NOT NULL,
    link text NOT NULL,
    dedupe_key text NOT NULL,
    producer text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    read_at timestamptz,
    email_status text NOT NULL DEFAULT 'none' CHECK (email_status IN ('none', 'pending', 'sent', 'failed')),
    UNIQUE (dedupe_key, worker_id)
);
CREATE INDEX notices_worker ON notices (worker_id, id DESC);
CREATE INDEX notices_unread ON notices (worker_id) WHERE read_at IS NULL;

-- Who is in which team, as accounts' events say (a notice to a team goes to its members then).
CREATE TABLE members (
    worker_id bigint PRIMARY KEY,
    team_ids bigint[] NOT NULL DEFAULT '{}',
    ended boolean NOT NULL DEFAULT false,
    version bigint NOT NULL DEFAULT 0
);
CREATE INDEX members_teams ON members USING gin (team_ids);
