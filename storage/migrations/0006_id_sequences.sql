-- Ids of captures, results and assessments are never reused. "max + 1" (and SQLite's plain rowid)
-- would hand the id of an erased patient's newest capture to the next capture, and the audit
-- log's "capture:<id>" would then name two different things.

CREATE TABLE id_sequences (
  name    TEXT PRIMARY KEY,
  last_id INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO id_sequences (name, last_id)
VALUES ('captures', (SELECT COALESCE(MAX(id), 0) FROM captures)),
       ('results', (SELECT COALESCE(MAX(id), 0) FROM results)),
       ('assessments', (SELECT COALESCE(MAX(id), 0) FROM assessments));
