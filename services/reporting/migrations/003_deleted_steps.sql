-- Steps deleted in the workflow daemon as recorded in error (seed 002): their consultations, requests
-- and follow-ups leave the read model, and an event about one of them still on its way from another
-- producer (the consultations daemon's saves come on their own stream) never brings it back.
CREATE TABLE deleted_steps (
    step_id bigint PRIMARY KEY,
    deleted_at timestamptz NOT NULL DEFAULT now()
);
