-- Conflicts of interest declared to the accounts daemon, applied from its events: the worker may
-- not open the person's record, whatever else would allow it.
CREATE TABLE conflicts (
    worker_id bigint NOT NULL,
    person_id bigint NOT NULL,
    PRIMARY KEY (worker_id, person_id)
);
