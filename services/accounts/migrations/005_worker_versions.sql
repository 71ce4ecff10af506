-- Every change to a worker is published with a version that grows with each change, so that a reader
-- hearing of the account two ways (an event, a reply) can keep the newer.
ALTER TABLE workers ADD COLUMN version bigint NOT NULL DEFAULT 0;
