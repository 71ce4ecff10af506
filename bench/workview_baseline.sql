-- pgbench: the statements the workflow daemon runs for one workview (counts, and the first page of
-- each folder), straight against PostgreSQL: the floor the HTTP figure is compared with.
BEGIN;
SELECT sum(n) FILTER (WHERE folder = 'incoming'), sum(n) FILTER (WHERE folder = 'requests'),
       sum(n) FILTER (WHERE folder = 'current') FROM workflow.queue_counts WHERE owner = 'w:' || :worker;
SELECT id, title, sort_at FROM workflow.steps WHERE owner = 'w:' || :worker AND folder = 'incoming'
 ORDER BY sort_at DESC, id DESC LIMIT 51;
SELECT r.id, r.title || ': ' || s.title FROM workflow.requests r JOIN workflow.steps s ON s.id = r.step_id
 WHERE r.inbox = 'w:' || :worker ORDER BY r.sent_at DESC, r.id DESC LIMIT 51;
SELECT id, title, sort_at FROM workflow.steps WHERE owner = 'w:' || :worker AND folder = 'current'
 ORDER BY sort_at DESC, id DESC LIMIT 51;
COMMIT;
