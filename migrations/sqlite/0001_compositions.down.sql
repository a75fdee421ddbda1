DROP TABLE composition_versions;
DROP TABLE composition_tags;
DROP TABLE tags;
DROP TRIGGER compositions_fts_update;
DROP TRIGGER compositions_fts_delete;
DROP TRIGGER compositions_fts_insert;
DROP TABLE compositions_fts;
DROP TABLE compositions;
