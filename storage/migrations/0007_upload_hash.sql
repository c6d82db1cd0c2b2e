-- The SHA-256 of a capture's bytes as uploaded. The blob is the re-encoded image (no EXIF), so
-- its hash is known only after a full decode; a retry of the same upload is recognised from this
-- column before any decoding (a 73 KB PNG can take seconds and hundreds of MB to decode).
-- NULL for captures stored before this migration (their retries go through the blob hash).

ALTER TABLE captures ADD COLUMN upload_sha256 TEXT
  CHECK (upload_sha256 IS NULL OR length(upload_sha256) = 64);
-- One capture per patient and upload: the same photo cannot be two sites of one patient.
CREATE UNIQUE INDEX captures_upload ON captures (patient_id, upload_sha256)
  WHERE upload_sha256 IS NOT NULL;

DROP TRIGGER captures_facts_immutable;
CREATE TRIGGER captures_facts_immutable
BEFORE UPDATE OF id, patient_id, site_id, condition, captured_at, received_at, device, visit_id,
                 media_type, blob_sha256, byte_size, width, height, upload_sha256 ON captures
BEGIN
  SELECT RAISE(ABORT, 'capture facts are immutable');
END;
