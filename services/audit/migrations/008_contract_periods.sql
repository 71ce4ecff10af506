-- Each third party's contract as it stood, and from when to when (from accounts.worker.changed): the
-- audit of third-party access judges a read by the cases and the end date of the contract in force
-- when the record was read, not by the contract as it stands now, so that a contract varied or ended
-- early later changes nothing of what was found before (seed 002: "3rd party access of unrelated
-- cases").
CREATE TABLE contract_periods (
    worker_id bigint NOT NULL,
    contract_name text NOT NULL,
    contract_end_date date,
    contract_person_ids bigint[] NOT NULL,
    from_at timestamptz NOT NULL,
    to_at timestamptz,
    PRIMARY KEY (worker_id, from_at)
);
CREATE UNIQUE INDEX contract_periods_open ON contract_periods (worker_id) WHERE to_at IS NULL;

-- What was known before: each third party's contract as it stands, held since the account was first
-- seen (the variations before this are not known).
INSERT INTO contract_periods (worker_id, contract_name, contract_end_date, contract_person_ids, from_at)
SELECT worker_id, contract_name, contract_end_date, contract_person_ids, first_seen_at FROM workers
WHERE third_party;
