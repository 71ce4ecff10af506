-- Seed 002: after training, "staff will be required to sign the MOSAIC acceptable use policy and declare
-- any conflict of interest ... so that the case records can be restricted. Staff will then be provided
-- with logon details". The day the worker made that declaration, an access prerequisite like the
-- others: a declaration that there is nothing to declare counts, and the conflicts named are kept in
-- conflicts (accounts.conflict.declare). An account is not used until it is recorded
-- (conflicts_not_declared).
--
-- Accounts whose acceptable-use policy is recorded as signed are taken to have declared on the day they
-- signed it: the seed asks for both together, the councils running this asked for the declaration with
-- the policy, and so no account in use is stopped by this upgrade. An account without a signed policy
-- cannot be used already, and its declaration is recorded with the policy.
ALTER TABLE workers ADD COLUMN conflicts_declared_on date;
UPDATE workers SET conflicts_declared_on = aup_signed_on WHERE aup_signed_on IS NOT NULL;
