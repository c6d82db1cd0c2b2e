-- Versioned, append-only processing results (registration, masks, measurements, scores) and
-- clinician assessments. A re-run or a correction inserts version max+1; nothing is updated.

CREATE TABLE results (
  id                INTEGER PRIMARY KEY,
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
  UNIQUE (capture_id, kind, name, version)
);
CREATE INDEX results_blob ON results (blob_sha256) WHERE blob_sha256 IS NOT NULL;

CREATE TABLE assessments (
  id          INTEGER PRIMARY KEY,
  capture_id  INTEGER NOT NULL REFERENCES captures(id),
  version     INTEGER NOT NULL CHECK (version >= 1),
  grades_json TEXT NOT NULL,
  note        TEXT NOT NULL DEFAULT '',
  mask_sha256 TEXT CHECK (mask_sha256 IS NULL OR length(mask_sha256) = 64),
  mask_size   INTEGER,
  actor       TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  UNIQUE (capture_id, version)
);
CREATE INDEX assessments_blob ON assessments (mask_sha256) WHERE mask_sha256 IS NOT NULL;

CREATE TRIGGER results_no_update BEFORE UPDATE ON results
BEGIN
  SELECT RAISE(ABORT, 'results are append-only');
END;
CREATE TRIGGER results_delete_only_in_erasure
BEFORE DELETE ON results WHEN NOT EXISTS (SELECT 1 FROM erasure_guard)
BEGIN
  SELECT RAISE(ABORT, 'results are deleted only by an audited patient erasure');
END;
CREATE TRIGGER assessments_no_update BEFORE UPDATE ON assessments
BEGIN
  SELECT RAISE(ABORT, 'assessments are append-only');
END;
CREATE TRIGGER assessments_delete_only_in_erasure
BEFORE DELETE ON assessments WHEN NOT EXISTS (SELECT 1 FROM erasure_guard)
BEGIN
  SELECT RAISE(ABORT, 'assessments are deleted only by an audited patient erasure');
END;
