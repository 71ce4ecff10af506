-- Retention (seed 002): at a case's closure the record is flagged, one flag per service, with the
-- criterion of the council's schedule; the date it is kept until is worked out then, so that a later
-- change to the schedule changes no flag silently (flagging again applies it). The latest of a
-- record's flags is the whole record's. A hold keeps the record past that for an ongoing inquiry.
CREATE TABLE retention_flags (
    person_id bigint NOT NULL REFERENCES people (id),
    service text NOT NULL CHECK (service IN ('CSSW', 'EH', 'ASC')),
    criterion text NOT NULL,
    criterion_title text NOT NULL,
    closed_on date NOT NULL,
    keep_until date NOT NULL,
    flagged_by bigint NOT NULL,
    flagged_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, service)
);
CREATE INDEX retention_flags_keep_until ON retention_flags (keep_until);

CREATE TABLE retention_holds (
    person_id bigint PRIMARY KEY REFERENCES people (id),
    reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
    review_date date,
    held_by bigint NOT NULL,
    held_at timestamptz NOT NULL DEFAULT now()
);
