-- Each section's revision: one at its first save, one more at each save after. The step's view shows
-- it, and a save (or a finish that keeps the next actions) may say which revision its data was read
-- at: a section saved since by someone else, or in another tab, is refused rather than saved over.
-- Sections saved before this migration count as saved once.
ALTER TABLE sections ADD COLUMN revision integer NOT NULL DEFAULT 1;
