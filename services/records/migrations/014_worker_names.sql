-- The worker's name in records' copy of the accounts (from accounts.worker.changed), so that the
-- allocations of workers who have left can name them to the managers who reallocate their cases. A
-- worker not changed since this migration shows as '' until their next account change.
ALTER TABLE workers ADD COLUMN name text NOT NULL DEFAULT '';
