-- Annotations (issue 14, docs/annotation.md): one author's labelling of one capture, every change a
-- new version, nothing overwritten. The content of a version is a blob (the annotation document),
-- referenced like a mask. Runs with foreign_keys off and a foreign_key_check before commit (see
-- Migrate()).

-- One row per (capture, author), never changed: who the annotation belongs to and the role they
-- had when they started it.
CREATE TABLE annotations (
  id          INTEGER PRIMARY KEY,
  capture_id  INTEGER NOT NULL REFERENCES captures(id),
  author      TEXT NOT NULL CHECK (length(author) BETWEEN 1 AND 128),
  author_role TEXT NOT NULL
              CHECK (author_role IN ('admin', 'clinician', 'coordinator', 'device', 'annotator')),
  created_at  INTEGER NOT NULL,
  UNIQUE (capture_id, author)
);

-- Append-only: a save, a submission and a review each insert version max+1. The decision is set
-- exactly on reviewed versions (accepted / corrected / rejected).
CREATE TABLE annotation_versions (
  id             INTEGER PRIMARY KEY,
  annotation_id  INTEGER NOT NULL REFERENCES annotations(id),
  version        INTEGER NOT NULL CHECK (version >= 1),
  state          TEXT NOT NULL CHECK (state IN ('draft', 'submitted', 'reviewed')),
  decision       TEXT CHECK (decision IN ('accepted', 'corrected', 'rejected')),
  note           TEXT NOT NULL DEFAULT '',
  content_sha256 TEXT NOT NULL CHECK (length(content_sha256) = 64),
  content_size   INTEGER NOT NULL CHECK (content_size > 0),
  actor          TEXT NOT NULL,
  created_at     INTEGER NOT NULL,
  UNIQUE (annotation_id, version),
  CHECK ((decision IS NULL) = (state <> 'reviewed'))
);
-- IsBlobReferenced / PatientBlobs / recovery look versions up by their content blob.
CREATE INDEX annotation_versions_blob ON annotation_versions (content_sha256);

-- Insert-only: assigning a capture to an annotator twice is a no-op, nothing is unassigned.
CREATE TABLE annotation_assignments (
  capture_id  INTEGER NOT NULL REFERENCES captures(id),
  annotator   TEXT NOT NULL CHECK (length(annotator) BETWEEN 1 AND 128),
  assigned_by TEXT NOT NULL,
  assigned_at INTEGER NOT NULL,
  PRIMARY KEY (capture_id, annotator)
) WITHOUT ROWID;
-- An annotator's queue, oldest assignment first.
CREATE INDEX annotation_assignments_queue
  ON annotation_assignments (annotator, assigned_at, capture_id);

-- Versions follow each other without gaps: version N+1 only after N (the repository checks it
-- too, with a conflict error; this keeps any other writer honest).
CREATE TRIGGER annotation_versions_in_sequence
BEFORE INSERT ON annotation_versions
WHEN NEW.version <> 1 + COALESCE(
  (SELECT MAX(version) FROM annotation_versions WHERE annotation_id = NEW.annotation_id), 0)
BEGIN
  SELECT RAISE(ABORT, 'annotation versions are appended in sequence');
END;

CREATE TRIGGER annotations_no_update BEFORE UPDATE ON annotations
BEGIN
  SELECT RAISE(ABORT, 'annotations are immutable');
END;
CREATE TRIGGER annotations_delete_only_in_erasure
BEFORE DELETE ON annotations WHEN NOT EXISTS (SELECT 1 FROM erasure_guard)
BEGIN
  SELECT RAISE(ABORT, 'annotations are deleted only by an audited patient erasure');
END;
CREATE TRIGGER annotation_versions_no_update BEFORE UPDATE ON annotation_versions
BEGIN
  SELECT RAISE(ABORT, 'annotation versions are append-only');
END;
CREATE TRIGGER annotation_versions_delete_only_in_erasure
BEFORE DELETE ON annotation_versions WHEN NOT EXISTS (SELECT 1 FROM erasure_guard)
BEGIN
  SELECT RAISE(ABORT, 'annotation versions are deleted only by an audited patient erasure');
END;
CREATE TRIGGER annotation_assignments_no_update BEFORE UPDATE ON annotation_assignments
BEGIN
  SELECT RAISE(ABORT, 'annotation assignments are insert-only');
END;
CREATE TRIGGER annotation_assignments_delete_only_in_erasure
BEFORE DELETE ON annotation_assignments WHEN NOT EXISTS (SELECT 1 FROM erasure_guard)
BEGIN
  SELECT RAISE(ABORT, 'annotation assignments are deleted only by an audited patient erasure');
END;

-- Ids are never reused (migration 6).
INSERT INTO id_sequences (name, last_id) VALUES ('annotations', 0), ('annotation_versions', 0);

-- SQLite cannot alter a CHECK constraint: tokens (role gains 'annotator') and results (source
-- gains 'consensus') are rebuilt with the same columns, keys, indexes and triggers. Dropping a
-- table drops its indexes and triggers; DROP does not fire the delete triggers (and with foreign
-- keys off, no implicit delete runs). No table references tokens or results.
CREATE TABLE tokens_v8 (
  id            TEXT PRIMARY KEY CHECK (length(id) = 16),
  secret_sha256 TEXT NOT NULL CHECK (length(secret_sha256) = 64),
  role          TEXT NOT NULL
                CHECK (role IN ('admin', 'clinician', 'coordinator', 'device', 'annotator')),
  scope_json    TEXT NOT NULL DEFAULT '[]',
  label         TEXT NOT NULL DEFAULT '',
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER,
  revoked_at    INTEGER
) WITHOUT ROWID;
INSERT INTO tokens_v8 (id, secret_sha256, role, scope_json, label, created_at, expires_at,
                       revoked_at)
SELECT id, secret_sha256, role, scope_json, label, created_at, expires_at, revoked_at FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_v8 RENAME TO tokens;
CREATE TRIGGER tokens_only_revocation_changes
BEFORE UPDATE OF id, secret_sha256, role, scope_json, label, created_at, expires_at ON tokens
BEGIN
  SELECT RAISE(ABORT, 'a token can only be revoked');
END;
CREATE TRIGGER tokens_no_delete BEFORE DELETE ON tokens
BEGIN
  SELECT RAISE(ABORT, 'tokens are revoked, not deleted');
END;

CREATE TABLE results_v8 (
  id                INTEGER NOT NULL UNIQUE,
  patient_id        INTEGER NOT NULL REFERENCES patients(id),
  capture_id        INTEGER NOT NULL REFERENCES captures(id),
  kind              TEXT NOT NULL
                    CHECK (kind IN ('registration', 'mask', 'measurement', 'score')),
  name              TEXT NOT NULL,
  version           INTEGER NOT NULL CHECK (version >= 1),
  source            TEXT NOT NULL
                    CHECK (source IN ('automated', 'clinician', 'imputed', 'consensus')),
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
INSERT INTO results_v8 (id, patient_id, capture_id, kind, name, version, source, algorithm,
                        algorithm_version, value, payload_json, inputs_json, provenance_json,
                        blob_sha256, blob_size, actor, created_at)
SELECT id, patient_id, capture_id, kind, name, version, source, algorithm, algorithm_version,
       value, payload_json, inputs_json, provenance_json, blob_sha256, blob_size, actor,
       created_at
FROM results;
DROP TABLE results;
ALTER TABLE results_v8 RENAME TO results;
CREATE INDEX results_blob ON results (blob_sha256) WHERE blob_sha256 IS NOT NULL;
CREATE TRIGGER results_no_update BEFORE UPDATE ON results
BEGIN
  SELECT RAISE(ABORT, 'results are append-only');
END;
CREATE TRIGGER results_delete_only_in_erasure
BEFORE DELETE ON results WHEN NOT EXISTS (SELECT 1 FROM erasure_guard)
BEGIN
  SELECT RAISE(ABORT, 'results are deleted only by an audited patient erasure');
END;
