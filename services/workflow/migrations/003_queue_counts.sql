-- The counts a workview shows beside each folder, kept as work moves rather than counted on every
-- view: a busy queue (10,000 items) then costs a view one row, not 10,000 index entries. Kept by
-- triggers in the transaction that moves the work, so a count can never drift from its folder.
-- folder: 'incoming' and 'current' for steps, 'requests' for requests waiting in an inbox.
CREATE TABLE queue_counts (
    owner text NOT NULL,
    folder text NOT NULL,
    n bigint NOT NULL CHECK (n >= 0),
    PRIMARY KEY (owner, folder)
);

CREATE FUNCTION queue_count_move(old_owner text, old_folder text, new_owner text, new_folder text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF old_folder IS NOT NULL THEN
        UPDATE queue_counts SET n = n - 1 WHERE owner = old_owner AND folder = old_folder;
    END IF;
    IF new_folder IS NOT NULL THEN
        INSERT INTO queue_counts (owner, folder, n) VALUES (new_owner, new_folder, 1)
        ON CONFLICT (owner, folder) DO UPDATE SET n = queue_counts.n + 1;
    END IF;
END $$;

CREATE FUNCTION steps_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM queue_count_move(NULL, NULL, NEW.owner, NEW.folder);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM queue_count_move(OLD.owner, OLD.folder, NULL, NULL);
    ELSE
        PERFORM queue_count_move(OLD.owner, OLD.folder, NEW.owner, NEW.folder);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER steps_counted_insert_delete AFTER INSERT OR DELETE ON steps
    FOR EACH ROW EXECUTE FUNCTION steps_counted();
CREATE TRIGGER steps_counted_update AFTER UPDATE OF owner, folder ON steps
    FOR EACH ROW WHEN (OLD.owner IS DISTINCT FROM NEW.owner OR OLD.folder IS DISTINCT FROM NEW.folder)
    EXECUTE FUNCTION steps_counted();

CREATE FUNCTION requests_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM queue_count_move(NULL, NULL, NEW.inbox, CASE WHEN NEW.inbox IS NOT NULL THEN 'requests' END);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM queue_count_move(OLD.inbox, CASE WHEN OLD.inbox IS NOT NULL THEN 'requests' END, NULL, NULL);
    ELSE
        PERFORM queue_count_move(OLD.inbox, CASE WHEN OLD.inbox IS NOT NULL THEN 'requests' END,
                                 NEW.inbox, CASE WHEN NEW.inbox IS NOT NULL THEN 'requests' END);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER requests_counted_insert_delete AFTER INSERT OR DELETE ON requests
    FOR EACH ROW EXECUTE FUNCTION requests_counted();
CREATE TRIGGER requests_counted_update AFTER UPDATE OF inbox ON requests
    FOR EACH ROW WHEN (OLD.inbox IS DISTINCT FROM NEW.inbox)
    EXECUTE FUNCTION requests_counted();

-- Work already there when this migration runs.
INSERT INTO queue_counts (owner, folder, n)
SELECT owner, folder, count(*) FROM steps WHERE folder IS NOT NULL GROUP BY owner, folder;
INSERT INTO queue_counts (owner, folder, n)
SELECT inbox, 'requests', count(*) FROM requests WHERE inbox IS NOT NULL GROUP BY inbox;
