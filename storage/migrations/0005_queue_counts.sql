-- Work-queue counts per status, kept by triggers in the same transaction as each change, so that
-- a status page reads four rows instead of scanning every capture (540 ms at 1M captures).

CREATE TABLE capture_status_counts (
  status TEXT PRIMARY KEY,
  n      INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO capture_status_counts (status, n)
VALUES ('queued', 0), ('processing', 0), ('processed', 0), ('failed', 0);
UPDATE capture_status_counts
SET n = (SELECT COUNT(*) FROM captures WHERE captures.status = capture_status_counts.status);

CREATE TRIGGER captures_count_insert AFTER INSERT ON captures
BEGIN
  UPDATE capture_status_counts SET n = n + 1 WHERE status = NEW.status;
END;
CREATE TRIGGER captures_count_delete AFTER DELETE ON captures
BEGIN
  UPDATE capture_status_counts SET n = n - 1 WHERE status = OLD.status;
END;
CREATE TRIGGER captures_count_status AFTER UPDATE OF status ON captures
WHEN OLD.status <> NEW.status
BEGIN
  UPDATE capture_status_counts SET n = n - 1 WHERE status = OLD.status;
  UPDATE capture_status_counts SET n = n + 1 WHERE status = NEW.status;
END;
