-- Signed-in sessions. Only a hash of each token is kept: a copy of this table signs nobody in.
CREATE TABLE sessions (
    id bigserial PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE,
    worker_id bigint NOT NULL,
    username text NOT NULL,
    display_name text NOT NULL,
    roles text[] NOT NULL,
    team_ids bigint[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    ended_at timestamptz
);
CREATE INDEX sessions_worker ON sessions (worker_id) WHERE ended_at IS NULL;
