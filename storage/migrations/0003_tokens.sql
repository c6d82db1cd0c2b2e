-- API tokens. Only the SHA-256 of the secret part is stored; the token itself is shown once.

CREATE TABLE tokens (
  id            TEXT PRIMARY KEY CHECK (length(id) = 16),
  secret_sha256 TEXT NOT NULL CHECK (length(secret_sha256) = 64),
  role          TEXT NOT NULL CHECK (role IN ('admin', 'clinician', 'coordinator', 'device')),
  scope_json    TEXT NOT NULL DEFAULT '[]',
  label         TEXT NOT NULL DEFAULT '',
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER,
  revoked_at    INTEGER
) WITHOUT ROWID;

CREATE TRIGGER tokens_only_revocation_changes
BEFORE UPDATE OF id, secret_sha256, role, scope_json, label, created_at, expires_at ON tokens
BEGIN
  SELECT RAISE(ABORT, 'a token can only be revoked');
END;
CREATE TRIGGER tokens_no_delete BEFORE DELETE ON tokens
BEGIN
  SELECT RAISE(ABORT, 'tokens are revoked, not deleted');
END;
