-- The report benchmark's data: 1,000,000 completed consultations over three years (2020 to 2022),
-- against 1,000 organisations, from the 22 sources of referral, each with none, one or both
-- outcomes. Written straight into the reporting daemon's read model with its trigger off, then
-- counted once by recount_consultations(): this is load, not behaviour (the tests show the events).
\set ON_ERROR_STOP on
SET search_path = reporting;
BEGIN;
ALTER TABLE consultations DISABLE TRIGGER USER;
INSERT INTO consultations (step_id, step_title, organisation_id, organisation_name, started_on, completed_on,
                           consulted_at, consulted_on, source, source_title, referrer_name, referrer_relationship,
                           outcomes, outcome_titles)
SELECT 20000000 + g,
       CASE WHEN g % 4 = 0 THEN 'Consultation (CSEW)' ELSE 'Consultation (CSSW)' END,
       8000000 + g % 1000, 'Bench Organisation ' || lpad((g % 1000)::text, 4, '0'),
       day - (g % 3), day,
       day + time '09:30' + (g % 420) * interval '1 minute', day,
       'source-' || (g % 22), 'SOURCE ' || lpad((g % 22)::text, 2, '0'),
       'Referrer ' || (g % 5000), CASE WHEN g % 3 = 0 THEN 'Teacher' ELSE '' END,
       CASE g % 4 WHEN 0 THEN '{}'::text[] WHEN 1 THEN '{further-information-given}'
                  WHEN 2 THEN '{referral-to-mash}' ELSE '{further-information-given,referral-to-mash}' END,
       CASE g % 4 WHEN 0 THEN '{}'::text[] WHEN 1 THEN '{Further information given}'
                  WHEN 2 THEN '{Referral to Mash}' ELSE '{Further information given,Referral to Mash}' END
  FROM generate_series(1, 1000000) AS g,
       LATERAL (SELECT date '2020-01-01' + (g * 1096 / 1000001) AS day) AS d;
ALTER TABLE consultations ENABLE TRIGGER USER;
SELECT recount_consultations();
COMMIT;
ANALYZE consultations;
ANALYZE counts_total;
ANALYZE counts_by_source;
ANALYZE counts_by_organisation;
ANALYZE counts_by_outcome;
