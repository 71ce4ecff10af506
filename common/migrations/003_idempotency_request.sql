-- What was asked under a key, as a hash of the request: a key used again for a different request of the
-- same kind (another step finished, another person allocated) is refused, where the first request's
-- reply was given back and the second request done by no one. Rows kept from before have none.
ALTER TABLE idempotency ADD COLUMN request_hash bytea;
