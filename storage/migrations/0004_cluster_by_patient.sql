-- Cluster captures and results by patient. In arrival order (rowid tables) one patient's 1,000
-- captures lie on ~1,000 different pages among everyone else's, so a time series read one page per
-- row (~8 ms CPU in a 1M-capture database). As WITHOUT ROWID tables keyed by patient first, a
-- patient's rows are contiguous. Ids stay stable (UNIQUE, assigned by the repository as max + 1
-- inside the single write transaction), so every reference and audit entry remains valid.
-- Runs with foreign_keys off and a foreign_key_check before commit (see Migrate()).

CREATE TABLE captures_v4 (
  id               INTEGER NOT NULL UNIQUE,
  patient_id       INTEGER NOT NULL REFERENCES patients(id),
  site_id          INTEGER NOT NULL REFERENCES body_sites(id),
  condition        TEXT NOT NULL CHECK (condition IN ('psoriasis', 'vitiligo')),
  captured_at      INTEGER NOT NULL,
  received_at      INTEGER NOT NULL,
  device           TEXT NOT NULL DEFAULT '',
  visit_id         INTEGER REFERENCES visits(id),
  media_type       TEXT NOT NULL,
  blob_sha256      TEXT NOT NULL CHECK (length(blob_sha256) = 64),
  byte_size        INTEGER NOT NULL CHECK (byte_size > 0),
  width            INTEGER NOT NULL CHECK (width > 0),
  height           INTEGER NOT NULL CHECK (height > 0),
  status           TEXT NOT NULL DEFAULT 'queued'
                   CHECK (status IN ('queued', 'processing', 'processed', 'failed')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER NOT NULL DEFAULT 0,
  lease_owner      TEXT,
  lease_expires_at INTEGER,
  last_error       TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (patient_id, captured_at, id),
  UNIQUE (patient_id, site_id, blob_sha256)
) WITHOUT ROWID;
INSERT INTO captures_v4 (id, patient_id, site_id, condition, captured_at, received_at, device,
                         visit_id, media_type, blob_sha256, byte_size, width, height, status,
                         attempts, next_attempt_at, lease_owner, lease_expires_at, last_error)
SELECT id, patient_id, site_id, condition, captured_at, received_at, device, visit_id, media_type,
       blob_sha256, byte_size, width, height, status, attempts, next_attempt_at, lease_owner,
       lease_expires_at, last_error
FROM captures;

CREATE TABLE results_v4 (
  id                INTEGER NOT NULL UNIQUE,
  patient_id        INTEGER NOT NULL REFERENCES patients(id),
  capture_id        INTEGER NOT NULL REFERENCES captures(id),
  kind              TEXT NOT NULL
                    CHECK (kind IN ('registration', 'mask', 'measurement', 'score')),
  name              TEXT NOT NULL,
  version           INTEGER NOT NULL CHECK (version >= 1),
  source            TEXT NOT NULL CHECK (source IN ('automated', 'clinician', 'imputed')),
  algorithm         TEXT NOT NULL,
  algorithm_version TEXT NOT NULL,
  value             REAL,
  payload_json      TEXT NOT NULL,
  inputs_json       TEXT NOT NULL,
  provenance_json   TEXT NOT NULL,
  blob_sha256       TEXT CHECK (blob_sha256 IS NULL OR length(blob_sha256) = 64),
  blob_size         INTEGER,
  actor             TEXT NOT NULL,
  created_at        INTEGER NOT NULL,
  PRIMARY KEY (patient_id, capture_id, kind, name, version)
) WITHOUT ROWID;
INSERT INTO results_v4 (id, patient_id, capture_id, kind, name, version, source, algorithm,
                        algorithm_version, value, payload_json, inputs_json, provenance_json,
                        blob_sha256, blob_size, actor, created_at)
SELECT r.id, c.patient_id, r.capture_id, r.kind, r.name, r.version, r.source, r.algorithm,
       r.algorithm_version, r.value, r.payload_json, r.inputs_json, r.provenance_json,
       r.blob_sha256, r.blob_size, r.actor, r.created_at
FROM results r JOIN captures c ON c.id = r.capture_id;

-- Dropping a table drops its indexes and triggers; DROP does not fire the delete triggers.
DROP TABLE results;
DROP TABLE captures;
ALTER TABLE captures_v4 RENAME TO captures;
ALTER TABLE results_v4 RENAME TO results;

CREATE INDEX captures_series ON captures (patient_id, site_id, condition, captured_at);
CREATE INDEX captures_blob ON captures (blob_sha256);
CREATE INDEX captures_queued ON captures (next_attempt_at) WHERE status = 'queued';
CREATE INDEX captures_leased ON captures (lease_expires_at) WHERE status = 'processing';
CREATE INDEX results_blob ON results (blob_sha256) WHERE blob_sha256 IS NOT NULL;

CREATE TRIGGER captures_facts_immutable
BEFORE UPDATE OF id, patient_id, site_id, condition, captured_at, received_at, device, visit_id,
                 media_type, blob_sha256, byte_size, width, height ON captures
BEGIN
  SELECT RAISE(ABORT, 'capture facts are immutable');
END;
CREATE TRIGGER captures_delete_only_in_erasure
BEFORE DELETE ON captures WHEN NOT EXISTS (SELECT 1 FROM erasure_guard)
BEGIN
  SELECT RAISE(ABORT, 'captures are deleted only by an audited patient erasure');
END;
CREATE TRIGGER results_no_update BEFORE UPDATE ON results
BEGIN
  SELECT RAISE(ABORT, 'results are append-only');
END;
CREATE TRIGGER results_delete_only_in_erasure
BEFORE DELETE ON results WHEN NOT EXISTS (SELECT 1 FROM erasure_guard)
BEGIN
  SELECT RAISE(ABORT, 'results are deleted only by an audited patient erasure');
END;
