-- The EXIF orientation of a capture's photo (TIFF tag 274, 1..8). Photos are stored bit-exact as
-- uploaded but without their EXIF block (GPS, serial numbers, thumbnails), so the one piece of it
-- that decides how the pixels are shown is kept here and applied whenever the photo is decoded.
-- Captures stored before this migration were re-encoded with the orientation already applied: 1.

ALTER TABLE captures ADD COLUMN orientation INTEGER NOT NULL DEFAULT 1
  CHECK (orientation BETWEEN 1 AND 8);

DROP TRIGGER captures_facts_immutable;
CREATE TRIGGER captures_facts_immutable
BEFORE UPDATE OF id, patient_id, site_id, condition, captured_at, received_at, device, visit_id,
                 media_type, blob_sha256, byte_size, width, height, upload_sha256,
                 orientation ON captures
BEGIN
  SELECT RAISE(ABORT, 'capture facts are immutable');
END;
