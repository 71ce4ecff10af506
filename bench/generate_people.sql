-- 100,000 generated people for the search benchmark: names from the lists in search_people.lua,
-- dates of birth over 18 years. Inserted straight into records' table by the superuser (the
-- benchmark measures search, not entry).
INSERT INTO records.people (given_name, family_name, date_of_birth, gender, created_by, search_names)
SELECT g, f, date '2005-01-01' + (n % 6570), CASE WHEN n % 2 = 0 THEN 'female' ELSE 'male' END, 1001,
       lower(g || ' ' || f)
  FROM (SELECT n,
               (ARRAY['Oliver','Amelia','Noah','Isla','Muhammad','Ava','Leo','Mia','Arthur','Ivy','Yusuf','Freya',
                      'Kwame','Zainab','Tomasz','Aisling','Chidi','Priya','Dmitri','Nia'])[1 + n % 20] AS g,
               (ARRAY['Smith','Jones','Okafor','Patel','Nowak','Murphy','Ahmed','Williams','Brown','Taylor','Khan',
                      'Adeyemi','Kowalski','OBrien','Singh','Evans','Mensah','Walker','Hussain','Clarke'])[1 + (n / 20) % 20]
               || CASE WHEN n % 7 = 0 THEN '-' || (ARRAY['Grant','Lewis','Reid'])[1 + n % 3] ELSE '' END AS f
          FROM generate_series(1, 100000) AS n) AS names;
ANALYZE records.people;
