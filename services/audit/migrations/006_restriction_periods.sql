-- When each person's record was restricted, and why (from records.person.restricted and
-- .unrestricted): the audit of own or connected records finds the accesses to the record of a
-- high-profile person (seed 002: "celebrities") made while it was restricted as such. Restrictions
-- made before this table say no reason and are not here.
CREATE TABLE restriction_periods (
    person_id bigint NOT NULL,
    reason text NOT NULL,
    from_at timestamptz NOT NULL,
    to_at timestamptz,
    PRIMARY KEY (person_id, from_at)
);
CREATE INDEX restriction_periods_reason ON restriction_periods (reason, person_id);
