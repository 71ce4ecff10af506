-- Each worker's Idempotency-Keys and the call each was first used for (keys.c): a key used again
-- for another call, one another daemon serves, is refused at the gateway, which alone sees both.
CREATE TABLE idempotency_calls (
    worker_id bigint NOT NULL,
    idempotency_key text NOT NULL,
    used_for text NOT NULL,
    first_used_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (worker_id, idempotency_key)
);
CREATE INDEX idempotency_calls_first_used_at ON idempotency_calls (first_used_at);
