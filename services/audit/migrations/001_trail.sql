-- The audit trail: one row for every read and write of a record, appended in order and chained by
-- hash (each entry's hash covers the one before), so that a changed or deleted row is detected.
CREATE TABLE entries (
    id bigserial PRIMARY KEY,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    worker_id bigint NOT NULL,
    username text NOT NULL,
    roles text[] NOT NULL,
    session_id text NOT NULL,
    action text NOT NULL,
    record_kind text NOT NULL,
    record_id bigint NOT NULL,
    summary text NOT NULL,
    producer text NOT NULL,
    producer_seq bigint NOT NULL,
    trace_id text NOT NULL,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL,
    UNIQUE (producer, producer_seq)
);
CREATE INDEX entries_record ON entries (record_kind, record_id, id);
CREATE INDEX entries_worker ON entries (worker_id, id);
CREATE INDEX entries_occurred ON entries (occurred_at, id);

-- The end of the chain; its row lock orders appends from several producers.
CREATE TABLE chain_head (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_id bigint NOT NULL,
    last_hash bytea NOT NULL
);
INSERT INTO chain_head VALUES (true, 0, '\x0000000000000000000000000000000000000000000000000000000000000000');
