-- One event may stand for several accesses (a search shows many people at once, and says so in one
-- event): each gets its entry, numbered within the event.
ALTER TABLE entries ADD COLUMN producer_item integer NOT NULL DEFAULT 0;
ALTER TABLE entries DROP CONSTRAINT entries_producer_producer_seq_key;
ALTER TABLE entries ADD CONSTRAINT entries_producer_event_item UNIQUE (producer, producer_seq, producer_item);
