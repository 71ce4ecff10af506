-- The account's version (accounts.worker.changed): the gateway hears of a change both from the reply
-- to a call it made and from the event, in either order, and keeps the newer.
ALTER TABLE worker_accounts ADD COLUMN version bigint NOT NULL DEFAULT 0;
