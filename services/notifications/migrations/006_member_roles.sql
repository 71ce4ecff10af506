-- The roles of each worker (from accounts.worker.changed): a request sent to a virtual worker's queue
-- that the deployment names (notifications.notify_queues) tells those who hold a role that works it.
-- Filled as each account next changes.
ALTER TABLE members ADD COLUMN roles text[] NOT NULL DEFAULT '{}';
CREATE INDEX members_roles ON members USING gin (roles);
