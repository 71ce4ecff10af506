-- Workers, their teams and roles, and their credentials (Argon2id hashes, never passwords).
CREATE TABLE teams (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200)
);

CREATE SEQUENCE worker_ids START 1001;

CREATE TABLE workers (
    id bigint PRIMARY KEY DEFAULT nextval('worker_ids'),
    username text NOT NULL CHECK (username ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    password_hash text NOT NULL,
    roles text[] NOT NULL DEFAULT '{}',
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz
);
ALTER SEQUENCE worker_ids OWNED BY workers.id;
CREATE UNIQUE INDEX workers_username ON workers (username);

CREATE TABLE worker_teams (
    worker_id bigint NOT NULL REFERENCES workers (id),
    team_id bigint NOT NULL REFERENCES teams (id),
    PRIMARY KEY (worker_id, team_id)
);
