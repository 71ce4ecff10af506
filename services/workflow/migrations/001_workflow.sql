-- Workflow: versioned definitions, work steps, their sections, requests with their history, next
-- actions, and what each worker viewed recently. A queue ("owner") is one text key so that a
-- worker's, a team's and a virtual worker's work share one index: 'w:<worker id>', 't:<team id>',
-- 'v:<virtual worker key>'.

CREATE TABLE definitions (
    type text NOT NULL,
    version integer NOT NULL,
    body jsonb NOT NULL,
    body_hash text NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (type, version),
    UNIQUE (type, body_hash)
);

-- Step ids follow on from the legacy system's (seed 000 shows 13011373).
CREATE SEQUENCE step_ids START 14000000;
CREATE SEQUENCE request_ids START 930000;

CREATE TABLE steps (
    id bigint PRIMARY KEY DEFAULT nextval('step_ids'),
    type text NOT NULL,
    version integer NOT NULL,
    variant text NOT NULL DEFAULT '',
    title text NOT NULL,
    subject_kind text NOT NULL CHECK (subject_kind IN ('organisation', 'person', 'worker', 'none')),
    subject_id bigint NOT NULL DEFAULT 0,
    subject_name text NOT NULL DEFAULT '',
    state text NOT NULL CHECK (state IN ('incoming', 'started', 'completed', 'cancelled', 'reopened')),
    owner text NOT NULL,
    -- 'incoming' or 'current' while the step is open; NULL once finished or cancelled.
    folder text CHECK (folder IN ('incoming', 'current')),
    sort_at timestamptz NOT NULL DEFAULT now(),
    started_by bigint NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    cancelled_reason text,
    due_at timestamptz,
    overdue_notified boolean NOT NULL DEFAULT false,
    FOREIGN KEY (type, version) REFERENCES definitions (type, version)
);
CREATE INDEX steps_workview ON steps (owner, folder, sort_at DESC, id DESC) WHERE folder IS NOT NULL;
CREATE INDEX steps_subject ON steps (subject_kind, subject_id, started_at DESC);
CREATE INDEX steps_overdue ON steps (due_at) WHERE folder IS NOT NULL AND NOT overdue_notified;

CREATE TABLE sections (
    step_id bigint NOT NULL REFERENCES steps (id),
    number text NOT NULL,
    data jsonb NOT NULL DEFAULT '{}',
    completed boolean NOT NULL DEFAULT false,
    saved_at timestamptz NOT NULL DEFAULT now(),
    saved_by bigint NOT NULL,
    PRIMARY KEY (step_id, number)
);

CREATE TABLE requests (
    id bigint PRIMARY KEY DEFAULT nextval('request_ids'),
    step_id bigint NOT NULL REFERENCES steps (id),
    type text NOT NULL,
    title text NOT NULL,
    required boolean NOT NULL DEFAULT false,
    recipient text NOT NULL,
    recipient_name text NOT NULL,
    note text NOT NULL DEFAULT '',
    status text NOT NULL CHECK (status IN ('sent', 'completed', 'returned', 'acknowledged')),
    -- Whose Incoming requests it is in: the recipient while sent, the sender once returned; NULL when done.
    inbox text,
    sender_id bigint NOT NULL,
    sender_name text NOT NULL,
    sent_at timestamptz NOT NULL DEFAULT now(),
    due_at timestamptz,
    overdue_notified boolean NOT NULL DEFAULT false
);
CREATE INDEX requests_workview ON requests (inbox, sent_at DESC, id DESC) WHERE inbox IS NOT NULL;
CREATE INDEX requests_step ON requests (step_id);
CREATE INDEX requests_overdue ON requests (due_at) WHERE inbox IS NOT NULL AND NOT overdue_notified;

CREATE TABLE request_history (
    request_id bigint NOT NULL REFERENCES requests (id),
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    action text NOT NULL,
    by_worker_id bigint NOT NULL,
    by_name text NOT NULL,
    to_name text NOT NULL DEFAULT '',
    note text NOT NULL DEFAULT ''
);
CREATE INDEX request_history_request ON request_history (request_id, at);

CREATE TABLE next_actions (
    step_id bigint NOT NULL REFERENCES steps (id),
    position integer NOT NULL,
    action text NOT NULL,
    title text NOT NULL,
    reason text NOT NULL DEFAULT '',
    reason_title text NOT NULL DEFAULT '',
    note text NOT NULL DEFAULT '',
    priority text NOT NULL CHECK (priority IN ('urgent', 'normal', 'low')),
    started_step_id bigint,
    added_by bigint NOT NULL,
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (step_id, position)
);

CREATE TABLE step_history (
    step_id bigint NOT NULL REFERENCES steps (id),
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    action text NOT NULL,
    by_worker_id bigint NOT NULL,
    by_name text NOT NULL,
    detail text NOT NULL DEFAULT ''
);
CREATE INDEX step_history_step ON step_history (step_id, at);

CREATE TABLE recent_views (
    worker_id bigint NOT NULL,
    step_id bigint NOT NULL REFERENCES steps (id),
    viewed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (worker_id, step_id)
);
CREATE INDEX recent_views_worker ON recent_views (worker_id, viewed_at DESC);

-- The accounts daemon's workers and teams as its accounts.worker.changed events say they stand.
CREATE TABLE workers (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    roles text[] NOT NULL,
    team_ids bigint[] NOT NULL,
    ended boolean NOT NULL DEFAULT false
);
CREATE TABLE teams (
    id bigint PRIMARY KEY,
    name text NOT NULL UNIQUE
);
