-- bench/family_context.sh: 1,000,000 people and 4,000,000 Family Context source records, written
-- straight into records' tables by the superuser (the benchmark measures search, not entry).
-- People: 60 given names and 1,600 family names (40 x 40 syllables), dates of birth spread over 82
-- years, one in ten with no date of birth (seed 004's data-quality gap), half with an NHS number.
-- Source records: four sources of a million each, tied a third each by case ID, NHS number (or, for
-- those with none, name and date of birth) and name and date of birth.
INSERT INTO records.people (given_name, family_name, date_of_birth, gender, nhs_number, created_by, search_names)
SELECT g, f, CASE WHEN n % 10 = 0 THEN NULL ELSE date '1940-01-01' + (n::bigint * 7919 % 30000)::int END,
       CASE WHEN n % 2 = 0 THEN 'female' ELSE 'male' END,
       CASE WHEN n % 2 = 0 THEN (9000000000 + n)::text END, 424242, lower(g || ' ' || f)
  FROM (SELECT n,
               (ARRAY['Oliver','Amelia','Noah','Isla','Muhammad','Ava','Leo','Mia','Arthur','Ivy','Yusuf','Freya',
                      'Kwame','Zainab','Tomasz','Aisling','Chidi','Priya','Dmitri','Nia','George','Olivia','Harry',
                      'Emily','Jack','Poppy','Jacob','Sophie','Charlie','Grace','Thomas','Lily','Oscar','Ella',
                      'William','Evie','James','Ruby','Henry','Chloe','Ibrahim','Fatima','Kofi','Amara','Luca',
                      'Maja','Ryan','Niamh','Callum','Eilidh','Rhys','Seren','Dylan','Cerys','Aaron','Hannah',
                      'Samuel','Jessica','Daniel','Megan'])[1 + n % 60] AS g,
               (ARRAY['Ash','Brad','Carr','Dun','Ell','Fair','Gold','Hart','Ing','Kirk','Lang','Mar','Nor','Oak',
                      'Pen','Rad','Sand','Thorn','Up','Wood','Black','Green','Hol','Mil','Crom','Stan','Wal',
                      'Pres','Bur','Chat','Dal','Fen','Glas','Hux','Kel','Lind','Mor','New','Ros','Win'])[1 + (n / 60) % 40]
               || (ARRAY['ford','ley','ton','well','by','field','worth','ham','wick','stone','bury','more','dale',
                         'hurst','ridge','wood','brook','combe','leigh','marsh','gate','croft','holt','land',
                         'mere','port','shaw','thwaite','ing','win','sey','low','fold','den','burn','cliffe',
                         'ster','wright','man','son'])[1 + (n / 2400) % 40] AS f
          FROM generate_series(1, 1000000) AS n) AS names;
ANALYZE records.people;

INSERT INTO records.fc_sources (key, contact_name, contact_role, contact_telephone, contact_email,
                                last_synchronised, coverage_from, coverage_to, file)
VALUES ('school', 'Bench Schools', 'Data officer', '0161 496 0001', 'schools@example.org', now(), '2015-09-01', '2026-07-31', 'bench'),
       ('housing', 'Bench Housing', 'Data officer', '0161 496 0002', 'housing@example.org', now(), '2015-01-01', '2026-11-30', 'bench'),
       ('police', 'Bench Police', 'Analyst', '0161 496 0003', 'police@example.org', now(), '2018-01-01', '2026-11-30', 'bench'),
       ('adult-social-care', 'Bench ASC', 'Data officer', '0161 496 0004', 'asc@example.org', now(), '2016-04-01', '2026-11-30', 'bench');

INSERT INTO records.fc_records (source, line, person_id, nhs_number, name_key, date_of_birth, title, detail,
                                start_date, end_date)
SELECT (ARRAY['school','housing','police','adult-social-care'])[1 + k % 4], k,
       CASE WHEN k % 3 = 0 THEN p.id END,
       CASE WHEN k % 3 = 1 THEN p.nhs_number END,
       CASE WHEN k % 3 = 0 OR (k % 3 = 1 AND p.nhs_number IS NOT NULL) THEN ''
            ELSE records.fc_name_key(p.given_name, p.family_name) END,
       CASE WHEN k % 3 = 0 OR (k % 3 = 1 AND p.nhs_number IS NOT NULL) THEN NULL ELSE p.date_of_birth END,
       (ARRAY['Attendance','Tenancy','Incident','Assessment'])[1 + k % 4], 'Generated for the benchmark',
       date '2018-01-01' + (k % 2500), CASE WHEN k % 5 = 0 THEN date '2018-01-01' + (k % 2500) + 30 END
  FROM generate_series(1, 4000000) AS k
  JOIN records.people p ON p.id = (SELECT min(id) FROM records.people WHERE created_by = 424242) + (k::bigint * 7919 % 1000000);
-- Vacuumed as well as analysed: a freshly bulk-loaded table would otherwise be vacuumed by autovacuum
-- during a timed run (the visibility map and hint bits), which is not the steady state a council's
-- Family Context runs in.
VACUUM (ANALYZE) records.people, records.fc_records;
-- And the load's dirty pages written out now, not by a checkpoint in the middle of a timed run.
CHECKPOINT;

-- What the benchmark searches for: a thousand people with a date of birth.
CREATE TABLE public.bench_fc_samples AS
SELECT row_number() OVER () AS k, name, dob
  FROM (SELECT lower(given_name || ' ' || family_name) AS name, date_of_birth::text AS dob
          FROM records.people WHERE created_by = 424242 AND date_of_birth IS NOT NULL
         ORDER BY id * 104729 % 1000003 LIMIT 1000) AS s;
