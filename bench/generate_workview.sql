-- The workview benchmark's data: 1,000,000 steps across 2,000 workers, of which one worker (the
-- demo social worker, :'owner') has 10,000 open items: 4,000 in Incoming work, 4,000 in Current
-- work and 2,000 requests in Incoming requests. Most other steps are finished, as in a system
-- that has run for years. Written straight into the workflow schema: this is load, not behaviour.
\set ON_ERROR_STOP on
SET search_path = workflow;
BEGIN;
-- The folder counts are rebuilt once at the end rather than kept row by row.
ALTER TABLE steps DISABLE TRIGGER USER;
ALTER TABLE requests DISABLE TRIGGER USER;
INSERT INTO steps (type, version, variant, title, subject_kind, subject_id, subject_name, state, owner, folder,
                   sort_at, started_by, started_at, completed_at)
SELECT 'front-door-consultation', (SELECT max(version) FROM definitions WHERE type = 'front-door-consultation'),
       'CSSW', 'Consultation (CSSW)', 'organisation', 7500065, 'Hampden Children Centre',
       CASE WHEN g <= 4000 THEN 'incoming' WHEN g <= 8000 THEN 'started'
            WHEN g % 10 < 7 THEN 'completed' ELSE 'started' END,
       CASE WHEN g <= 8000 THEN :'owner' ELSE 'w:' || (200000 + g % 2000) END,
       CASE WHEN g <= 4000 THEN 'incoming' WHEN g <= 8000 THEN 'current'
            WHEN g % 10 < 7 THEN NULL ELSE 'current' END,
       now() - (g || ' seconds')::interval, 1, now() - (g || ' seconds')::interval,
       CASE WHEN g > 8000 AND g % 10 < 7 THEN now() END
  FROM generate_series(1, 1000000) AS g;
INSERT INTO requests (step_id, type, title, recipient, recipient_name, status, inbox, sender_id, sender_name, sent_at)
SELECT s.id, 'pass-to-mash-social-worker', 'Pass to MASH Social Worker',
       CASE WHEN s.rn <= 2000 THEN :'owner' ELSE 'w:' || (200000 + s.rn % 2000) END, 'Bench worker',
       CASE WHEN s.rn <= 2000 OR s.rn % 2 = 0 THEN 'sent' ELSE 'completed' END,
       CASE WHEN s.rn <= 2000 THEN :'owner' WHEN s.rn % 2 = 0 THEN 'w:' || (200000 + s.rn % 2000) END,
       1, 'Bench sender', now() - (s.rn || ' seconds')::interval
  FROM (SELECT id, row_number() OVER (ORDER BY id DESC) AS rn FROM steps LIMIT 200000) AS s;
ALTER TABLE steps ENABLE TRIGGER USER;
ALTER TABLE requests ENABLE TRIGGER USER;
TRUNCATE queue_counts;
INSERT INTO queue_counts (owner, folder, n)
SELECT owner, folder, count(*) FROM steps WHERE folder IS NOT NULL GROUP BY owner, folder;
INSERT INTO queue_counts (owner, folder, n)
SELECT inbox, 'requests', count(*) FROM requests WHERE inbox IS NOT NULL GROUP BY inbox;
COMMIT;
VACUUM ANALYZE queue_counts;
VACUUM ANALYZE steps;
VACUUM ANALYZE requests;
