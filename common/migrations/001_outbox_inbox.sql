-- Tables every daemon has in its own schema: the event outbox and its relay state, the consumer
-- inbox, and the idempotency record of commands.

-- Events written in the same transaction as the change that caused them. seq is the publication
-- sequence, given by the relay in the order it finds committed events (see common/tsr_outbox.h).
CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    seq bigint UNIQUE,
    type text NOT NULL,
    envelope bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_unnumbered ON outbox (id) WHERE seq IS NULL;

CREATE TABLE relay_state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_seq bigint NOT NULL
);
INSERT INTO relay_state (singleton, last_seq) VALUES (true, 0);

-- The last sequence applied from each producer; advanced in the transaction that applies the event.
CREATE TABLE inbox (
    producer text PRIMARY KEY,
    last_seq bigint NOT NULL
);

-- Events this daemon could not apply: kept, never dropped, for an operator to look at.
CREATE TABLE inbox_dead (
    producer text NOT NULL,
    seq bigint NOT NULL,
    type text NOT NULL,
    envelope bytea NOT NULL,
    error text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (producer, seq)
);

-- The first reply to each command that carried an idempotency key, per worker.
CREATE TABLE idempotency (
    worker_id bigint NOT NULL,
    key text NOT NULL,
    type text NOT NULL,
    reply bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (worker_id, key)
);
