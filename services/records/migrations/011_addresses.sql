-- A person's addresses and their history: where they live (main), stay for a while (temporary) or
-- want letters sent (correspondence). A new main address ends the one before, the day before it.
CREATE TABLE addresses (
    id bigserial PRIMARY KEY,
    person_id bigint NOT NULL REFERENCES people (id),
    type text NOT NULL CHECK (type IN ('main', 'temporary', 'correspondence')),
    lines text[] NOT NULL CHECK (cardinality(lines) BETWEEN 1 AND 5),
    town text NOT NULL,
    postcode text NOT NULL DEFAULT '',
    start_date date NOT NULL,
    end_date date CHECK (end_date IS NULL OR end_date >= start_date),
    created_by bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX addresses_person ON addresses (person_id, start_date DESC, id DESC);
