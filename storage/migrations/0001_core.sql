-- Core entities: patients, the body-site catalogue, visits, captures (with their work-queue
-- state) and the append-only audit log. Times are integer milliseconds since the Unix epoch (UTC).

CREATE TABLE patients (
  id              INTEGER PRIMARY KEY,
  pseudonym       TEXT NOT NULL UNIQUE,
  fitzpatrick     INTEGER CHECK (fitzpatrick BETWEEN 1 AND 6),
  age_band        TEXT NOT NULL DEFAULT '',
  attributes_json TEXT NOT NULL DEFAULT '{}',
  created_at      INTEGER NOT NULL
);

-- Filled from the compiled-in catalogue at every start-up (INSERT OR IGNORE).
CREATE TABLE body_sites (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  pasi_region TEXT NOT NULL,
  vasi_region TEXT NOT NULL,
  bsa_percent REAL NOT NULL,
  is_face     INTEGER NOT NULL
);

CREATE TABLE visits (
  id         INTEGER PRIMARY KEY,
  patient_id INTEGER NOT NULL REFERENCES patients(id),
  label      TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (patient_id, label)
);

CREATE TABLE captures (
  id               INTEGER PRIMARY KEY,
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
  -- Work-queue state: the only columns that ever change.
  status           TEXT NOT NULL DEFAULT 'queued'
                   CHECK (status IN ('queued', 'processing', 'processed', 'failed')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER NOT NULL DEFAULT 0,
  lease_owner      TEXT,
  lease_expires_at INTEGER,
  last_error       TEXT NOT NULL DEFAULT '',
  UNIQUE (patient_id, site_id, blob_sha256)
);
CREATE INDEX captures_series ON captures (patient_id, site_id, condition, captured_at);
CREATE INDEX captures_blob ON captures (blob_sha256);
CREATE INDEX captures_queued ON captures (next_attempt_at) WHERE status = 'queued';
CREATE INDEX captures_leased ON captures (lease_expires_at) WHERE status = 'processing';

-- Deletes of results and captures are allowed only while an erasure holds a row here (inserted
-- and removed inside the erasure's own transaction).
CREATE TABLE erasure_guard (active INTEGER NOT NULL);

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

CREATE TABLE audit_log (
  id           INTEGER PRIMARY KEY,
  at           INTEGER NOT NULL,
  actor        TEXT NOT NULL,
  action       TEXT NOT NULL,
  object       TEXT NOT NULL,
  before_ref   TEXT NOT NULL DEFAULT '',
  after_ref    TEXT NOT NULL DEFAULT '',
  details_json TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_by_object ON audit_log (object, id);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'the audit log is append-only');
END;
