-- CP-IS benchmark data: children with valid NHS numbers (modulus 11 check digit), inserted straight
-- into records' table by the superuser, and the access notifications about them in bench.cpis_source,
-- from which both the feed file (JSON) and the baseline's CSV are written. :children and :count are
-- psql variables.
CREATE SCHEMA IF NOT EXISTS bench;
CREATE TABLE bench.cpis_children AS
SELECT nhs, row_number() OVER (ORDER BY nhs) AS k
  FROM (SELECT nine || CASE WHEN c = 11 THEN 0 ELSE c END AS nhs
          FROM (SELECT nine, 11 - (SELECT sum(substr(nine, i, 1)::int * (11 - i)) FROM generate_series(1, 9) i) % 11 AS c
                  FROM (SELECT (700000000 + n)::text AS nine FROM generate_series(1, :children * 2) n) a) b
         WHERE c <> 10) v
 LIMIT :children;
INSERT INTO records.people (given_name, family_name, date_of_birth, gender, nhs_number, created_by, search_names)
SELECT 'Bench' || k, 'Child', date '2012-01-01' + (k % 3000)::int, CASE WHEN k % 2 = 0 THEN 'female' ELSE 'male' END,
       nhs, 1001, lower('bench' || k || ' child')
  FROM bench.cpis_children;
ANALYZE records.people;
-- Each on a child protection plan: a notification is followed up only for a child on a plan.
INSERT INTO cpis.plans (person_id, plan_type, start_date, recorded_by)
SELECT p.id, 'child-protection-plan', date '2025-01-06', 1001
  FROM bench.cpis_children c JOIN records.people p ON p.nhs_number = c.nhs AND p.merged_into IS NULL;
ANALYZE cpis.plans;
CREATE TABLE bench.cpis_source AS
SELECT 'BENCH-' || n AS notification_id, 'access'::text AS kind, c.nhs AS nhs_number,
       now() - interval '1 hour' AS created_at, now() - interval '2 hours' AS accessed_at,
       (ARRAY['emergency-department', 'minor-injury-unit', 'nhs-111', 'other'])[1 + n % 4] AS setting,
       'RX' || (n % 50) AS ods_code, 'Bench Hospital ' || (n % 50) AS organisation_name,
       'Clinician ' || (n % 300) AS professional_name, 'Staff Nurse'::text AS professional_role
  FROM generate_series(1, :count) n JOIN bench.cpis_children c ON c.k = 1 + n % :children;
