-- An entry of the error queue that no change on our side will settle (a child the national service
-- knows and we do not, a notification the support team has dealt with by hand, an inactive number
-- with no key worker to record a new one) is closed by a person, who says why: who closed it and
-- why is kept with it. resolved_at is when it left the queue, by a later acceptance or by a close.
ALTER TABLE errors
    ADD COLUMN closed_by bigint,
    ADD COLUMN close_reason text;
