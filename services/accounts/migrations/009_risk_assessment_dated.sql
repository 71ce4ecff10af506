-- An HR-approved risk assessment covers a worker while their DBS check is pending (seed 002), for 3
-- months from the day it was approved, not for ever: after it the account is dbs_out_of_date until a
-- valid check is recorded. Approvals recorded before carry no date: they count from today.
ALTER TABLE workers ADD COLUMN risk_assessment_approved_on date;
UPDATE workers SET risk_assessment_approved_on = current_date WHERE risk_assessment_approved;
