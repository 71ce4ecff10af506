-- People: children, adults, and unborn children (recorded against their mother until birth).
CREATE SEQUENCE person_ids START 1000001;

CREATE TABLE people (
    id bigint PRIMARY KEY DEFAULT nextval('person_ids'),
    given_name text NOT NULL CHECK (length(given_name) <= 100),
    family_name text NOT NULL CHECK (length(family_name) BETWEEN 1 AND 100),
    other_names text[] NOT NULL DEFAULT '{}',
    date_of_birth date,
    gender text NOT NULL CHECK (gender IN ('female', 'male', 'indeterminate', 'not-known')),
    nhs_number char(10) UNIQUE,
    unborn boolean NOT NULL DEFAULT false,
    mother_id bigint REFERENCES people (id),
    expected_delivery_date date,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by bigint NOT NULL,
    -- Every name a person is known by, for fuzzy search.
    search_names text NOT NULL,
    CHECK (NOT unborn OR (mother_id IS NOT NULL AND expected_delivery_date IS NOT NULL))
);
ALTER SEQUENCE person_ids OWNED BY people.id;
CREATE INDEX people_search_names_trgm ON people USING gin (search_names public.gin_trgm_ops);
CREATE INDEX people_date_of_birth ON people (date_of_birth);
CREATE INDEX people_mother ON people (mother_id) WHERE mother_id IS NOT NULL;

-- A restricted record (seed 002): the reason, when it is next reviewed, and the workers named as
-- keeping access. Everyone outside the access rules sees only the person's display name.
CREATE TABLE restrictions (
    person_id bigint PRIMARY KEY REFERENCES people (id),
    reason text NOT NULL CHECK (reason IN ('conflict-of-interest', 'high-risk', 'case-review', 'high-profile',
                                           'mappa-marac-lado', 'adoption-fostering')),
    review_date date NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by bigint NOT NULL
);

CREATE TABLE restriction_access (
    person_id bigint NOT NULL REFERENCES restrictions (person_id) ON DELETE CASCADE,
    worker_id bigint NOT NULL,
    PRIMARY KEY (person_id, worker_id)
);

-- Who is allocated to a person: a key worker and/or a team, for a service, from a date.
CREATE TABLE allocations (
    id bigserial PRIMARY KEY,
    person_id bigint NOT NULL REFERENCES people (id),
    worker_id bigint,
    team_id bigint,
    role text NOT NULL CHECK (role IN ('key-worker', 'team')),
    service text NOT NULL CHECK (service IN ('CSSW', 'ASC', 'EH')),
    start_date date NOT NULL DEFAULT current_date,
    end_date date,
    created_by bigint NOT NULL,
    CHECK (worker_id IS NOT NULL OR team_id IS NOT NULL)
);
CREATE INDEX allocations_person ON allocations (person_id) WHERE end_date IS NULL;
CREATE INDEX allocations_worker ON allocations (worker_id) WHERE end_date IS NULL;
