-- The Front Door Consultation's form (seed 000), one row per work step, in typed columns: section 1
-- 'Details of consultation' and section 2 'Advice given / decision made'. A choice is kept with the
-- title it had when it was chosen (the step's definition version gave it), so a later change of
-- the picklist's wording does not rewrite what was recorded.
CREATE TABLE consultations (
    step_id bigint PRIMARY KEY,
    step_type text NOT NULL,
    variant text NOT NULL,
    step_title text NOT NULL,
    definition_version integer NOT NULL DEFAULT 0,
    organisation_id bigint NOT NULL,
    organisation_name text NOT NULL,
    step_started_at timestamptz,

    -- 1. Details of consultation
    consulted_at timestamptz,
    duty_worker_id bigint,
    source text,
    source_title text,
    contact_name text,
    contact_telephone text,
    contact_email text,
    contact_relationship text,
    details text,
    section_1_completed boolean NOT NULL DEFAULT false,
    section_1_saved_at timestamptz,
    section_1_saved_by bigint,

    -- 2. Advice given / decision made
    advice text,
    outcomes text[] NOT NULL DEFAULT '{}',
    outcome_titles text[] NOT NULL DEFAULT '{}',
    completed_by_id bigint,
    section_2_completed boolean NOT NULL DEFAULT false,
    section_2_saved_at timestamptz,
    section_2_saved_by bigint,

    -- Loaded from the old system (tessera import consultations): its step's dates, and the date of
    -- the consultation when the old record has no time.
    imported boolean NOT NULL DEFAULT false,
    imported_at timestamptz,
    step_started_on date,
    step_completed_on date,
    consulted_on date,

    CHECK ((source IS NULL) = (source_title IS NULL)),
    CHECK (cardinality(outcomes) = cardinality(outcome_titles)),
    CHECK (NOT imported OR (step_started_on IS NOT NULL AND step_completed_on IS NOT NULL))
);
-- An organisation's consultations, for its summary and for an operator's look-up.
CREATE INDEX consultations_organisation ON consultations (organisation_id, step_id);
