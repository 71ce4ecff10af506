-- A queue's count row is shared by all the work in that queue: every 'Pass to MASH Manager' adds to
-- the MASH Manager team's. Counted as the row changes, the count's row stayed locked for the rest of
-- the command (the history, the event, the view it answers with), so busy queues took their
-- commands one at a time. Counted at commit instead (deferred constraint triggers), the row is held
-- only while the transaction commits; the count is still kept in the transaction that moves the work.
DROP TRIGGER steps_counted_insert_delete ON steps;
DROP TRIGGER steps_counted_update ON steps;
DROP TRIGGER requests_counted_insert_delete ON requests;
DROP TRIGGER requests_counted_update ON requests;

-- At commit, a row changed twice in one transaction fires twice, with OLD and NEW as each change saw
-- them, so the moves add up to the same counts.
CREATE CONSTRAINT TRIGGER steps_counted_insert AFTER INSERT ON steps
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION steps_counted();
CREATE CONSTRAINT TRIGGER steps_counted_delete AFTER DELETE ON steps
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION steps_counted();
CREATE CONSTRAINT TRIGGER steps_counted_update AFTER UPDATE OF owner, folder ON steps
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.owner IS DISTINCT FROM NEW.owner OR OLD.folder IS DISTINCT FROM NEW.folder)
    EXECUTE FUNCTION steps_counted();
CREATE CONSTRAINT TRIGGER requests_counted_insert AFTER INSERT ON requests
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION requests_counted();
CREATE CONSTRAINT TRIGGER requests_counted_delete AFTER DELETE ON requests
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION requests_counted();
CREATE CONSTRAINT TRIGGER requests_counted_update AFTER UPDATE OF inbox ON requests
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.inbox IS DISTINCT FROM NEW.inbox)
    EXECUTE FUNCTION requests_counted();
