-- Relationships, kept in both directions (Lily is Grace's child; Grace is Lily's parent), and case
-- notes: the dated, typed record of what happened.
CREATE TABLE relationships (
    person_id bigint NOT NULL REFERENCES people (id),
    related_id bigint NOT NULL REFERENCES people (id),
    type text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by bigint NOT NULL,
    PRIMARY KEY (person_id, related_id, type),
    CHECK (person_id <> related_id)
);
CREATE INDEX relationships_related ON relationships (related_id);

CREATE TABLE case_notes (
    id bigserial PRIMARY KEY,
    person_id bigint NOT NULL REFERENCES people (id),
    type text NOT NULL,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body text NOT NULL CHECK (length(body) <= 20000),
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    recorded_by bigint NOT NULL
);
CREATE INDEX case_notes_person ON case_notes (person_id, occurred_at DESC, id DESC);
