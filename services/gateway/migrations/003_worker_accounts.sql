-- Accounts as the gateway last heard of them (accounts.worker.changed). A session acts with its
-- worker's account as it now stands, not as it stood at sign-in: a mover's next call carries the
-- new roles and teams. A worker not heard of since signing in keeps what the sign-in brought.
CREATE TABLE worker_accounts (
    worker_id bigint PRIMARY KEY,
    display_name text NOT NULL,
    roles text[] NOT NULL,
    team_ids bigint[] NOT NULL,
    team_names text[] NOT NULL,
    ended boolean NOT NULL,
    contract_name text,
    contract_end_date date,
    changed_at timestamptz NOT NULL DEFAULT now()
);
-- A third-party account's contract as at sign-in: its sessions stop working after the end date.
ALTER TABLE sessions ADD COLUMN contract_name text, ADD COLUMN contract_end_date date;
