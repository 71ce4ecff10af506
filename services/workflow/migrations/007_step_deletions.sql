-- A work step recorded in error (seed 002: against the wrong person's record, inaccurate, or a
-- duplicate), deleted by IT's system support at the worker's request. The step, its sections, its
-- requests with their status history, its next actions, its history and its place in anyone's
-- recently viewed go; this row keeps what it was (type, subject, state, when and by whom started),
-- who deleted it, when and why, so that the step's id is answered "deleted" rather than "never was".
CREATE TABLE step_deletions (
    step_id bigint PRIMARY KEY,
    type text NOT NULL,
    variant text NOT NULL,
    subject_kind text NOT NULL,
    subject_id bigint NOT NULL,
    state text NOT NULL,
    started_at timestamptz NOT NULL,
    started_by bigint NOT NULL,
    reason text NOT NULL CHECK (reason IN ('wrong-record', 'inaccurate', 'duplicate', 'other')),
    explanation text NOT NULL DEFAULT '' CHECK (length(explanation) <= 1000),
    deleted_at timestamptz NOT NULL DEFAULT now(),
    deleted_by bigint NOT NULL
);

-- A step another daemon asked for (a CP-IS follow-up) keeps its dedupe key once deleted, so that a
-- replay of the request never starts it again: the key no longer needs its step to exist.
ALTER TABLE requested_steps DROP CONSTRAINT requested_steps_step_id_fkey;
