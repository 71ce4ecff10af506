-- The front-door dashboard (seed 000: "the report will be available as part of the front door
-- dashboard"): live figures of the Front Door Consultation work, kept from the events this daemon
-- already receives from the workflow and consultations daemons.

-- A consultation's step as it stands: its state (started, incoming, completed, cancelled,
-- reopened), when it was started and completed (instants, for the time to a decision), and from the
-- consultations daemon's events which sections are complete and when section 2 'Advice given /
-- decision made' was first completed (the decision).
ALTER TABLE consultations
    ADD COLUMN state text NOT NULL DEFAULT '',
    ADD COLUMN started_at timestamptz,
    ADD COLUMN completed_at timestamptz,
    ADD COLUMN decided_at timestamptz,
    ADD COLUMN section_1_completed boolean NOT NULL DEFAULT false,
    ADD COLUMN section_2_completed boolean NOT NULL DEFAULT false;
-- Rows kept before this migration: a completed one is known; of the others it is not known whether
-- they are open or were cancelled until their step is next finished, cancelled or reopened, so the
-- dashboard leaves them out ('unknown') rather than count a cancelled one as open for ever.
UPDATE consultations SET state = CASE WHEN completed_on IS NOT NULL OR imported THEN 'completed'
                                      ELSE 'unknown' END;

-- The open consultations (the dashboard's live figures) and those started on a day.
CREATE INDEX consultations_open ON consultations (started_at)
    WHERE state NOT IN ('completed', 'cancelled', 'unknown') AND NOT imported;
CREATE INDEX consultations_started ON consultations (started_on);

-- The requests of the Front Door Consultation (pass-to-mash-manager, pass-to-mash-social-worker,
-- please-review-information-and-confirm-next-action), from workflow.request.* events: where an
-- open consultation waits.
CREATE TABLE consultation_requests (
    request_id bigint PRIMARY KEY,
    step_id bigint NOT NULL,
    type text NOT NULL,
    -- sent (waiting on its recipient), completed or returned.
    status text NOT NULL,
    sent_at timestamptz
);
CREATE INDEX consultation_requests_open ON consultation_requests (step_id) WHERE status = 'sent';

-- CPIS Follow up steps (seed 003), from workflow.step.* events: the CP-IS Worker's queue is the open
-- ones that a virtual worker holds (queue = its key), since queued_at.
CREATE TABLE cpis_follow_ups (
    step_id bigint PRIMARY KEY,
    open boolean NOT NULL,
    queue text NOT NULL DEFAULT '',
    started_at timestamptz,
    queued_at timestamptz
);
CREATE INDEX cpis_follow_ups_queued ON cpis_follow_ups (queue, queued_at) WHERE open AND queue <> '';
