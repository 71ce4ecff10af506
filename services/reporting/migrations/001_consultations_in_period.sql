-- 'Consultations in period' (seed 000), kept from events only: one row per Front Door Consultation,
-- filled by the workflow daemon's step events (organisation, title, dates, whether it is completed)
-- and the consultations daemon's (date of consultation, source, referrer, outcomes). Either may come
-- first; each fills its own columns. Consultations loaded from the old system come whole in one event.
CREATE TABLE consultations (
    step_id bigint PRIMARY KEY,
    step_title text NOT NULL DEFAULT '',
    organisation_id bigint NOT NULL DEFAULT 0,
    organisation_name text NOT NULL DEFAULT '',
    started_on date,
    -- The office-clock day the step was completed; NULL while it is open, reopened or cancelled.
    completed_on date,
    consulted_at timestamptz,
    consulted_on date,
    source text NOT NULL DEFAULT '',
    source_title text NOT NULL DEFAULT '',
    referrer_name text NOT NULL DEFAULT '',
    referrer_relationship text NOT NULL DEFAULT '',
    outcomes text[] NOT NULL DEFAULT '{}',
    outcome_titles text[] NOT NULL DEFAULT '{}',
    imported boolean NOT NULL DEFAULT false
);
-- Section 04's rows: a period's consultations in the report's order (organisation, step), paged by
-- that key; the planner takes the first when the period is a small part of the data.
CREATE INDEX consultations_completed ON consultations (completed_on, organisation_name, step_id)
    WHERE completed_on IS NOT NULL;
CREATE INDEX consultations_report_order ON consultations (organisation_name, step_id)
    WHERE completed_on IS NOT NULL;

-- Sections 01 to 03 as counts per completion day, kept by the trigger below in the transaction that
-- changes a consultation, so that a period's figures are a sum over its days however many
-- consultations there are.
CREATE TABLE daily_totals (
    day date PRIMARY KEY,
    n integer NOT NULL
);
CREATE TABLE daily_by_source (
    day date NOT NULL,
    source text NOT NULL,
    source_title text NOT NULL,
    n integer NOT NULL,
    PRIMARY KEY (day, source, source_title)
);
CREATE TABLE daily_by_organisation (
    day date NOT NULL,
    organisation_id bigint NOT NULL,
    organisation_name text NOT NULL,
    n integer NOT NULL,
    PRIMARY KEY (day, organisation_id, organisation_name)
);
CREATE TABLE daily_by_outcome (
    day date NOT NULL,
    outcome text NOT NULL,
    n integer NOT NULL,
    PRIMARY KEY (day, outcome)
);

-- Adds (delta 1) or takes away (-1) a completed consultation's part in the day's counts.
CREATE FUNCTION count_consultation(c consultations, delta integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO daily_totals AS t (day, n) VALUES (c.completed_on, delta)
        ON CONFLICT (day) DO UPDATE SET n = t.n + delta;
    INSERT INTO daily_by_source AS t (day, source, source_title, n)
        VALUES (c.completed_on, c.source, c.source_title, delta)
        ON CONFLICT (day, source, source_title) DO UPDATE SET n = t.n + delta;
    INSERT INTO daily_by_organisation AS t (day, organisation_id, organisation_name, n)
        VALUES (c.completed_on, c.organisation_id, c.organisation_name, delta)
        ON CONFLICT (day, organisation_id, organisation_name) DO UPDATE SET n = t.n + delta;
    INSERT INTO daily_by_outcome AS t (day, outcome, n)
        SELECT c.completed_on, o, delta FROM unnest(c.outcomes) AS o
        ON CONFLICT (day, outcome) DO UPDATE SET n = t.n + delta;
END
$$;

CREATE FUNCTION consultations_counted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.completed_on IS NOT NULL THEN
        PERFORM count_consultation(OLD, -1);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.completed_on IS NOT NULL THEN
        PERFORM count_consultation(NEW, 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER consultations_counted AFTER INSERT OR DELETE ON consultations
    FOR EACH ROW EXECUTE FUNCTION consultations_counted();
-- An update counts again only when something the counts depend on changed.
CREATE TRIGGER consultations_recounted AFTER UPDATE ON consultations
    FOR EACH ROW
    WHEN ((OLD.completed_on, OLD.source, OLD.source_title, OLD.organisation_id, OLD.organisation_name,
           OLD.outcomes) IS DISTINCT FROM
          (NEW.completed_on, NEW.source, NEW.source_title, NEW.organisation_id, NEW.organisation_name,
           NEW.outcomes))
    EXECUTE FUNCTION consultations_counted();
