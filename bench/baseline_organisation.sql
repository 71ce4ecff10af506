-- pgbench script: the same writes an organisation creation makes in records (an organisation row
-- and an outbox row in one transaction), without Tessera in the way.
\set n random(1, 1000000000)
BEGIN;
INSERT INTO bench_organisations (name, address, telephone, created_by)
  VALUES ('Bench Organisation ' || :n, '1 Bench Street, London', '020 7000 0000', 1001);
INSERT INTO bench_outbox (type, envelope) VALUES ('records.organisation.created', '\x0a1c0803120f');
END;
