-- CP-IS access notifications received from the national service (through the spine poller), once
-- each: the notification id is the national service's, so a batch posted again drops its repeats.
CREATE TABLE notifications (
    id bigserial PRIMARY KEY,
    notification_id text NOT NULL UNIQUE,
    kind text NOT NULL CHECK (kind IN ('access', 'inactive-nhs-number')),
    nhs_number char(10) NOT NULL,
    created_at timestamptz NOT NULL,
    accessed_at timestamptz,
    setting text CHECK (setting IN ('emergency-department', 'minor-injury-unit', 'nhs-111', 'other')),
    ods_code text,
    organisation_name text,
    professional_name text,
    professional_role text,
    person_ids bigint[] NOT NULL DEFAULT '{}',
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_nhs ON notifications (nhs_number);

-- The error queue: notifications that could not be accepted (invalid, unknown or unmatched NHS
-- number), with the reason in words, for system support. One row per notification id: the same
-- notification sent again counts up instead of queuing twice.
CREATE TABLE errors (
    id bigserial PRIMARY KEY,
    notification_id text NOT NULL,
    nhs_number text NOT NULL DEFAULT '',
    code text NOT NULL,
    reason text NOT NULL,
    notification jsonb,
    received_at timestamptz NOT NULL DEFAULT now(),
    last_received_at timestamptz NOT NULL DEFAULT now(),
    times_received integer NOT NULL DEFAULT 1,
    resolved_at timestamptz
);
-- Repeats of a notification with an id fold into its row; one without an id cannot be told apart.
CREATE UNIQUE INDEX errors_notification ON errors (notification_id) WHERE notification_id <> '';
CREATE INDEX errors_open ON errors (id DESC) WHERE resolved_at IS NULL;

-- NHS numbers the national service says are no longer active: plan uploads for the child stop
-- until a new number is recorded on the child's record (the record's number then differs).
CREATE TABLE inactive_numbers (
    nhs_number char(10) PRIMARY KEY,
    person_ids bigint[] NOT NULL DEFAULT '{}',
    notification_id text NOT NULL,
    marked_at timestamptz NOT NULL DEFAULT now()
);
