-- Steps other daemons asked for through their outbox (<producer>.step.requested): each dedupe key
-- starts one step, however often the event (or a repeat of the request) arrives.
CREATE TABLE requested_steps (
    dedupe_key text PRIMARY KEY,
    producer text NOT NULL,
    step_id bigint NOT NULL REFERENCES steps (id),
    requested_at timestamptz NOT NULL DEFAULT now()
);
