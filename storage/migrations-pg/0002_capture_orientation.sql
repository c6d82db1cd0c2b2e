-- Mirrors SQLite's migration 0009: the EXIF orientation of a capture's photo (TIFF tag 274,
-- 1..8). Photos are stored bit-exact without their EXIF block, so the one piece of it that decides
-- how the pixels are shown is kept here and applied whenever the photo is decoded. A capture
-- fact: immutable like the others.

ALTER TABLE captures ADD COLUMN orientation INTEGER NOT NULL DEFAULT 1
  CHECK (orientation BETWEEN 1 AND 8);

DROP TRIGGER captures_facts_immutable ON captures;
CREATE TRIGGER captures_facts_immutable
BEFORE UPDATE OF id, patient_id, site_id, condition, captured_at, received_at, device, visit_id,
                 media_type, blob_sha256, byte_size, width, height, upload_sha256, orientation
ON captures
FOR EACH ROW EXECUTE FUNCTION skintrack_refuse('capture facts are immutable');
