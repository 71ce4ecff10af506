-- pgbench script, the same-run baseline of bench/family_context.sh: the plain SQL of a Family Context
-- name + date-of-birth search (those born that day and the undated nearest by name, each candidate's
-- sources by case ID, NHS number or name and birth), with no gateway, bus, access rule or audit.
\set k random(1, 1000)
BEGIN;
SET LOCAL search_path = records, public;
SET LOCAL pg_trgm.word_similarity_threshold = 0.5;
WITH s AS (SELECT name, dob::date AS dob FROM public.bench_fc_samples WHERE k = :k),
c AS (SELECT * FROM (SELECT q.*, s.name <<-> q.search_names AS rank FROM people q, s
                      WHERE q.date_of_birth = s.dob AND q.merged_into IS NULL AND s.name <% q.search_names
                     UNION ALL
                     (SELECT q.*, (s.name <<-> q.search_names) + 0.2 FROM people q, s
                       WHERE q.date_of_birth IS NULL AND q.merged_into IS NULL AND s.name <% q.search_names
                       ORDER BY s.name <<-> q.search_names LIMIT 20)) AS u
       ORDER BY rank LIMIT 20)
SELECT c.id, c.given_name, c.family_name, c.date_of_birth,
       (SELECT array_agg(DISTINCT x.source) FROM (
          SELECT r.source FROM fc_records r WHERE r.person_id = c.id
          UNION ALL SELECT r.source FROM fc_records r WHERE r.nhs_number = c.nhs_number AND r.person_id IS NULL
          UNION ALL SELECT r.source FROM fc_records r
           WHERE r.name_key = fc_name_key(c.given_name, c.family_name) AND r.date_of_birth = c.date_of_birth
             AND r.person_id IS NULL AND r.nhs_number IS NULL) AS x) AS known_to
  FROM c;
COMMIT;
