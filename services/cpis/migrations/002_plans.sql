-- Plan data out (seed 003, NHS Digital's CP-IS specification): the plans the NHS must know of, the
-- NHS's own demographics that each is checked against before it is sent, the numbered upload files
-- and what the national service answered of each file and each record.

-- A plan on a child's record: a child protection plan, a child in care under a full care order
-- (s31), an interim care order (s38) or voluntary accommodation (s20), or an unborn child
-- protection plan (on the unborn child's record; shared against the mother's NHS number).
CREATE TABLE plans (
    id bigserial PRIMARY KEY,
    person_id bigint NOT NULL,
    plan_type text NOT NULL
        CHECK (plan_type IN ('child-protection-plan', 'child-in-care', 'unborn-child-protection-plan')),
    legal_status text CHECK (legal_status IN ('s31-full-care-order', 's38-interim-care-order', 's20-voluntary')),
    start_date date NOT NULL,
    end_date date CHECK (end_date IS NULL OR end_date >= start_date),
    -- The national service has loaded this plan's end (a CPR06 for a record carrying end_date):
    -- until then an ended plan goes on being sent, so that the NHS learns it has ended.
    end_loaded boolean NOT NULL DEFAULT false,
    recorded_by bigint NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    ended_by bigint,
    CHECK ((plan_type = 'child-in-care') = (legal_status IS NOT NULL))
);
CREATE INDEX plans_person ON plans (person_id, start_date DESC);
-- The plans a file carries: open ones, and ended ones whose end is not yet loaded nationally.
CREATE INDEX plans_to_share ON plans (id) WHERE end_date IS NULL OR NOT end_loaded;

-- The NHS's demographics for an NHS number, as a trace on the Personal Demographics Service gave
-- them: what the national service will match the child's record against.
CREATE TABLE nhs_demographics (
    nhs_number char(10) PRIMARY KEY,
    family_name text NOT NULL CHECK (length(family_name) BETWEEN 1 AND 100),
    given_names text[] NOT NULL CHECK (cardinality(given_names) BETWEEN 1 AND 10),
    date_of_birth date NOT NULL,
    traced_at timestamptz NOT NULL DEFAULT now(),
    recorded_by bigint NOT NULL
);

-- Each upload file, numbered in the order made; the file as sent, byte for byte.
CREATE SEQUENCE upload_sequence;
CREATE TABLE uploads (
    file_sequence_number bigint PRIMARY KEY DEFAULT nextval('upload_sequence'),
    created_at timestamptz NOT NULL DEFAULT now(),
    trigger text NOT NULL CHECK (trigger IN ('schedule', 'on-demand')),
    requested_by bigint NOT NULL,
    record_count integer NOT NULL,
    held_back integer NOT NULL,
    file text NOT NULL,
    written_at timestamptz,            -- to cpis.upload_dir for the Spine connection to send
    response_status text,              -- CPF01 .. CPF06, once read back
    response_at timestamptz
);
ALTER SEQUENCE upload_sequence OWNED BY uploads.file_sequence_number;
CREATE INDEX uploads_unwritten ON uploads (file_sequence_number) WHERE written_at IS NULL;

CREATE TABLE upload_records (
    file_sequence_number bigint NOT NULL REFERENCES uploads,
    record_number integer NOT NULL,    -- its place in the file, from 1
    plan_id bigint NOT NULL REFERENCES plans,
    person_id bigint NOT NULL,
    nhs_number char(10) NOT NULL,
    end_date date,
    response_code text,                -- CPR01 .. CPR07, once read back
    PRIMARY KEY (file_sequence_number, record_number)
);
CREATE INDEX upload_records_plan ON upload_records (plan_id, file_sequence_number DESC);

-- The error queue takes the plan export's held-back records and the national service's failures
-- too. A plan held back again for the same reason counts up its open entry instead of queuing twice.
ALTER TABLE errors
    ADD COLUMN source text NOT NULL DEFAULT 'notification'
        CHECK (source IN ('notification', 'plan-export', 'response')),
    ADD COLUMN plan_id bigint,
    ADD COLUMN person_id bigint,
    ADD COLUMN file_sequence_number bigint,
    ADD COLUMN record_number integer;
CREATE UNIQUE INDEX errors_plan_open ON errors (plan_id, code) WHERE source = 'plan-export' AND resolved_at IS NULL;
