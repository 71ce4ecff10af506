-- Conflict-of-interest declarations (seed 002): made when a worker signs the acceptable-use policy
-- or whenever they learn that someone they know is on the system.
CREATE TABLE conflicts (
    worker_id bigint NOT NULL REFERENCES workers (id),
    person_id bigint NOT NULL,
    relationship text NOT NULL,
    declared_at timestamptz NOT NULL DEFAULT now(),
    recorded_by bigint NOT NULL,
    PRIMARY KEY (worker_id, person_id)
);
