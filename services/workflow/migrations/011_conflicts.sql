-- The conflicts of interest workers have declared with people on the system (seed 002), as
-- accounts' events say (accounts.conflict.declared; a merge moves the duplicate's to the survivor, a
-- disposal takes them). Records keeps the person's record from the worker; this daemon moves work
-- about the person off the worker when it is declared, and checks workview items about these people
-- against the viewer's access, as it does restricted people's. Conflicts declared before this table
-- are not in it.
CREATE TABLE conflicts (
    person_id bigint NOT NULL,
    worker_id bigint NOT NULL,
    since timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, worker_id)
);
