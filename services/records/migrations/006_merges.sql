-- Merging duplicate person records (seed 002): one record goes forward; the duplicate stays, marked,
-- so that its id still says where its record went.
ALTER TABLE people ADD COLUMN merged_into bigint REFERENCES people (id), ADD COLUMN merged_at timestamptz;
