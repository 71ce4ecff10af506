-- A worker's work e-mail address, where the notifications daemon sends e-mail notices ('' for none).
ALTER TABLE workers ADD COLUMN email text NOT NULL DEFAULT '';
