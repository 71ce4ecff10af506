-- pgbench: the plain SQL of 'Consultations in period' over its rows, straight against PostgreSQL,
-- for the whole generated period: what the report is compared with (sections 01 to 03 by GROUP BY).
SELECT source_title, count(*) FROM reporting.consultations
 WHERE completed_on BETWEEN '2020-01-01' AND '2022-12-31' GROUP BY source_title ORDER BY source_title;
SELECT count(*), count(*) FILTER (WHERE 'further-information-given' = ANY (outcomes)),
       count(*) FILTER (WHERE 'referral-to-mash' = ANY (outcomes))
  FROM reporting.consultations WHERE completed_on BETWEEN '2020-01-01' AND '2022-12-31';
SELECT organisation_name, count(*) FROM reporting.consultations
 WHERE completed_on BETWEEN '2020-01-01' AND '2022-12-31' GROUP BY organisation_name ORDER BY organisation_name;
