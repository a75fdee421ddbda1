-- Older versions and tags exist only in the database, not in the history files: keep every
-- table's rows aside for `migrate up` (0001 up restores them).
CREATE TABLE kept_0001_compositions AS SELECT * FROM compositions;
CREATE TABLE kept_0001_tags AS SELECT * FROM tags;
CREATE TABLE kept_0001_composition_tags AS SELECT * FROM composition_tags;
CREATE TABLE kept_0001_composition_versions AS SELECT * FROM composition_versions;
DROP TABLE composition_versions;
DROP TABLE composition_tags;
DROP TABLE tags;
DROP TRIGGER compositions_fts_update;
DROP TRIGGER compositions_fts_delete;
DROP TRIGGER compositions_fts_insert;
DROP TABLE compositions_fts;
DROP TABLE compositions;
