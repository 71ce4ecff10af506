-- Team names travel with the worker: the records daemon's access rules name teams (the MASH team,
-- the Emergency Duty team), not their ids.
ALTER TABLE sessions ADD COLUMN team_names text[] NOT NULL DEFAULT '{}';
