-- Values every node of a cluster must agree on, first of all the pseudonym key that turns patient
-- ids into the subject ids coordinators and exported datasets use: with one key per node's data
-- directory the same patient would get a different subject id from each node. SQLite has no
-- counterpart (one node: the data directory's pseudonym.key). A value is written once, by the
-- first node (INSERT ... ON CONFLICT DO NOTHING), and never changes: a changed key would change
-- every subject id.

CREATE TABLE shared_settings (
  name TEXT PRIMARY KEY CHECK (name ~ '^[a-z0-9_]{1,64}$'),
  value TEXT NOT NULL CHECK (length(value) BETWEEN 1 AND 4096),
  created_at BIGINT NOT NULL
);

CREATE TRIGGER shared_settings_immutable BEFORE UPDATE OR DELETE ON shared_settings
FOR EACH ROW EXECUTE FUNCTION skintrack_refuse('shared settings are written once');
CREATE TRIGGER shared_settings_no_truncate BEFORE TRUNCATE ON shared_settings
FOR EACH STATEMENT EXECUTE FUNCTION skintrack_refuse('shared settings are written once');
