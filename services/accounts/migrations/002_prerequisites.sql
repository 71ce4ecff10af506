-- Access prerequisites (seed 002) and leavers. An account works only while its prerequisites hold:
-- an enhanced DBS check within 3 years (or an HR-approved risk assessment while one is pending),
-- training done, and the acceptable-use policy signed.
ALTER TABLE workers
    ADD COLUMN dbs_checked_on date,
    ADD COLUMN risk_assessment_approved boolean NOT NULL DEFAULT false,
    ADD COLUMN training_completed_on date,
    ADD COLUMN aup_signed_on date,
    ADD COLUMN ended_at timestamptz,
    ADD COLUMN ended_reason text;
