-- A part of CP-IS notifications starts 1,000 steps in one statement (requested.c), all into the
-- CP-IS Worker's Incoming. Counted a row at a time at commit, that was 1,000 updates of the same
-- queue_counts row in one transaction, each walking the row's versions made before it: quadratic,
-- and the consumer applies up to 200 events in one transaction when it is behind. A statement that
-- starts many steps counts them itself instead, one pending row per queue and folder, added to the
-- count at commit (so the count's row is still held only while the transaction commits).
--
-- While such a statement runs it sets tessera.steps_counted to 'on' (transaction-local, put back
-- to 'off' after it). A constraint trigger's WHEN is judged as the row is inserted, not at commit,
-- so exactly that statement's rows are left to it; every other insert is counted as before.
CREATE TABLE queue_count_pending (
    owner text NOT NULL,
    folder text NOT NULL,
    n bigint NOT NULL CHECK (n > 0)
);

CREATE FUNCTION queue_count_pending_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO queue_counts (owner, folder, n) VALUES (NEW.owner, NEW.folder, NEW.n)
    ON CONFLICT (owner, folder) DO UPDATE SET n = queue_counts.n + EXCLUDED.n;
    DELETE FROM queue_count_pending WHERE ctid = NEW.ctid;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER queue_count_pending_applied AFTER INSERT ON queue_count_pending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION queue_count_pending_apply();

DROP TRIGGER steps_counted_insert ON steps;
CREATE CONSTRAINT TRIGGER steps_counted_insert AFTER INSERT ON steps
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (current_setting('tessera.steps_counted', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION steps_counted();
