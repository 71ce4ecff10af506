-- When the copy of an upload file in cpis.upload_dir was removed, cpis.upload_keep_days after the
-- national service's response to it: the file itself stays here (uploads.file), byte for byte.
ALTER TABLE uploads ADD COLUMN file_removed_at timestamptz;
