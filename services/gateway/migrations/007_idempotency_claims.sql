-- Which call made each key's claim (its trace id): a call that ends in an error having changed
-- nothing frees the key it claimed, and only that one (a retry of a call that succeeded, refused in
-- its turn, must not free the key of the change the first made). A twin that succeeded on another's
-- claim takes it over, so that the other's error cannot free it.
ALTER TABLE idempotency_calls ADD COLUMN claimed_by text NOT NULL DEFAULT '';
