-- Family Context (seed 004): other services' records, fed as batch files, one set per source. A
-- file replaces its source's rows in one transaction. A row is tied to a person at read time, by
-- the case ID (our person id) when the source knows it, else the NHS number, else the exact name
-- and date of birth, so a person added after the load is found without a reload.
-- The exact-name key of the name + birth match: lower-case, trimmed, single-spaced, family then given.
CREATE FUNCTION fc_name_key(given text, family text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT regexp_replace(lower(btrim(family)), '\s+', ' ', 'g') || '|'
                 || regexp_replace(lower(btrim(given)), '\s+', ' ', 'g') $$;

CREATE TABLE fc_sources (
    key text PRIMARY KEY CHECK (key IN ('school', 'housing', 'police', 'adult-social-care')),
    contact_name text NOT NULL DEFAULT '',
    contact_role text NOT NULL DEFAULT '',
    contact_telephone text NOT NULL DEFAULT '',
    contact_email text NOT NULL DEFAULT '',
    last_synchronised timestamptz,
    coverage_from date,
    coverage_to date,
    file text NOT NULL DEFAULT '',
    loaded_by bigint
);

CREATE TABLE fc_records (
    id bigserial PRIMARY KEY,
    source text NOT NULL REFERENCES fc_sources (key),
    line integer NOT NULL,
    person_id bigint,
    nhs_number char(10),
    name_key text NOT NULL DEFAULT '', -- fc_name_key of the row's names
    date_of_birth date,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    detail text NOT NULL DEFAULT '' CHECK (length(detail) <= 2000),
    start_date date,
    end_date date CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date)
);
CREATE INDEX fc_records_person ON fc_records (person_id) WHERE person_id IS NOT NULL;
CREATE INDEX fc_records_nhs ON fc_records (nhs_number) WHERE nhs_number IS NOT NULL;
CREATE INDEX fc_records_name_birth ON fc_records (name_key, date_of_birth) WHERE date_of_birth IS NOT NULL;
CREATE INDEX fc_records_source ON fc_records (source);

-- People with no date of birth (seed 004's data-quality gap) are still found by name when a search
-- gives a date: their own trigram index, so that part of the search reads only them. GIN rather than
-- GiST: names are short and alike, and GiST's signatures then tell too few apart (measured over a
-- million people: tens of milliseconds against a few).
CREATE INDEX people_search_names_no_birth_trgm ON people USING gin (search_names public.gin_trgm_ops)
    WHERE date_of_birth IS NULL AND merged_into IS NULL;
