-- Service involvements: a person's involvement with a service (children's social work, early help,
-- adult social care), its kind, dates, and the team or worker involved. The person's summary shows
-- the open ones; Family Context reads them too.
CREATE TABLE involvements (
    id bigserial PRIMARY KEY,
    person_id bigint NOT NULL REFERENCES people (id),
    service text NOT NULL CHECK (service IN ('CSSW', 'EH', 'ASC')),
    kind text NOT NULL,
    start_date date NOT NULL,
    end_date date CHECK (end_date IS NULL OR end_date >= start_date),
    team_id bigint,
    worker_id bigint,
    note text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    created_by bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX involvements_person ON involvements (person_id, start_date DESC, id DESC);
