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

-- Sections 01 to 03 as counts per completion day and per completion month (grain 'd' or 'm'; start
-- is the day, or the month's first day), kept by the trigger below in the transaction that changes a
-- consultation. A period's figures are the months it covers whole and the days at its two ends:
-- their cost follows the length of the period, not the number of consultations in it.
CREATE TABLE counts_total (
    grain "char" NOT NULL CHECK (grain IN ('d', 'm')),
    start date NOT NULL,
    n integer NOT NULL,
    PRIMARY KEY (grain, start)
);
CREATE TABLE counts_by_source (
    grain "char" NOT NULL CHECK (grain IN ('d', 'm')),
    start date NOT NULL,
    source text NOT NULL,
    source_title text NOT NULL,
    n integer NOT NULL,
    PRIMARY KEY (grain, start, source, source_title)
);
CREATE TABLE counts_by_organisation (
    grain "char" NOT NULL CHECK (grain IN ('d', 'm')),
    start date NOT NULL,
    organisation_id bigint NOT NULL,
    organisation_name text NOT NULL,
    n integer NOT NULL,
    PRIMARY KEY (grain, start, organisation_id, organisation_name)
);
CREATE TABLE counts_by_outcome (
    grain "char" NOT NULL CHECK (grain IN ('d', 'm')),
    start date NOT NULL,
    outcome text NOT NULL,
    n integer NOT NULL,
    PRIMARY KEY (grain, start, outcome)
);

-- Adds (delta 1) or takes away (-1) a completed consultation's part in its day's and month's counts.
CREATE FUNCTION count_consultation(c consultations, delta integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    g record;
BEGIN
    FOR g IN SELECT * FROM (VALUES ('d'::"char", c.completed_on),
                                   ('m'::"char", date_trunc('month', c.completed_on::timestamp)::date)) AS v (grain, start)
    LOOP
        INSERT INTO counts_total AS t (grain, start, n) VALUES (g.grain, g.start, delta)
            ON CONFLICT (grain, start) DO UPDATE SET n = t.n + delta;
        INSERT INTO counts_by_source AS t (grain, start, source, source_title, n)
            VALUES (g.grain, g.start, c.source, c.source_title, delta)
            ON CONFLICT (grain, start, source, source_title) DO UPDATE SET n = t.n + delta;
        INSERT INTO counts_by_organisation AS t (grain, start, organisation_id, organisation_name, n)
            VALUES (g.grain, g.start, c.organisation_id, c.organisation_name, delta)
            ON CONFLICT (grain, start, organisation_id, organisation_name) DO UPDATE SET n = t.n + delta;
        INSERT INTO counts_by_outcome AS t (grain, start, outcome, n)
            SELECT g.grain, g.start, o, delta FROM unnest(c.outcomes) AS o
            ON CONFLICT (grain, start, outcome) DO UPDATE SET n = t.n + delta;
    END LOOP;
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

-- The period's whole months [m1, m2) and, outside them, its days: what the report sums.
CREATE FUNCTION period_parts(first_day date, last_day date, OUT m1 date, OUT m2 date)
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN extract(day FROM first_day) = 1 THEN first_day
                ELSE (date_trunc('month', first_day::timestamp) + interval '1 month')::date END,
           date_trunc('month', (last_day + 1)::timestamp)::date
$$;

-- Counts every day and month again from the rows: for an operator after a restore, and after a bulk
-- load made with the trigger switched off (the benchmark's million generated consultations).
CREATE FUNCTION recount_consultations() RETURNS void
LANGUAGE sql AS $$
    DELETE FROM counts_total;
    DELETE FROM counts_by_source;
    DELETE FROM counts_by_organisation;
    DELETE FROM counts_by_outcome;
    INSERT INTO counts_total (grain, start, n)
        SELECT g.grain, g.start, count(*) FROM consultations,
               LATERAL (VALUES ('d'::"char", completed_on), ('m', date_trunc('month', completed_on::timestamp)::date)) g (grain, start)
         WHERE completed_on IS NOT NULL GROUP BY 1, 2;
    INSERT INTO counts_by_source (grain, start, source, source_title, n)
        SELECT g.grain, g.start, source, source_title, count(*) FROM consultations,
               LATERAL (VALUES ('d'::"char", completed_on), ('m', date_trunc('month', completed_on::timestamp)::date)) g (grain, start)
         WHERE completed_on IS NOT NULL GROUP BY 1, 2, 3, 4;
    INSERT INTO counts_by_organisation (grain, start, organisation_id, organisation_name, n)
        SELECT g.grain, g.start, organisation_id, organisation_name, count(*) FROM consultations,
               LATERAL (VALUES ('d'::"char", completed_on), ('m', date_trunc('month', completed_on::timestamp)::date)) g (grain, start)
         WHERE completed_on IS NOT NULL GROUP BY 1, 2, 3, 4;
    INSERT INTO counts_by_outcome (grain, start, outcome, n)
        SELECT g.grain, g.start, o, count(*) FROM consultations, unnest(outcomes) AS o,
               LATERAL (VALUES ('d'::"char", completed_on), ('m', date_trunc('month', completed_on::timestamp)::date)) g (grain, start)
         WHERE completed_on IS NOT NULL GROUP BY 1, 2, 3;
$$;
