-- Organisations: referrers such as schools and children's centres, and the dummy 'Consultation'
-- organisation for referrers not yet on the system. Ids below 7600000 are the legacy system's.
CREATE SEQUENCE organisation_ids START 7600000;

CREATE TABLE organisations (
    id bigint PRIMARY KEY DEFAULT nextval('organisation_ids'),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    address text NOT NULL DEFAULT '',
    telephone text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by bigint NOT NULL
);
ALTER SEQUENCE organisation_ids OWNED BY organisations.id;

-- 'Find organisation' searches by any part of the name.
CREATE INDEX organisations_name_trgm ON organisations USING gin (name public.gin_trgm_ops);
-- Keyset paging in name order.
CREATE INDEX organisations_name_order ON organisations (lower(name), id);
