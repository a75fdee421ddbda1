-- Compositions: one row per history file (the Markdown file under .history/ is the source of truth).
CREATE TABLE compositions (
    pk           INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    file_path    TEXT NOT NULL,
    source_path  TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    working_dir  TEXT,
    content      TEXT NOT NULL,
    char_count   INTEGER NOT NULL,
    line_count   INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    -- Size and modification time of the history file when indexed: start-up sync skips
    -- reading files whose stamp is unchanged.
    file_size    INTEGER,
    file_mtime   INTEGER
);
CREATE INDEX compositions_source_path ON compositions(source_path);
CREATE INDEX compositions_updated_at ON compositions(updated_at);
CREATE INDEX compositions_created_at ON compositions(created_at);
CREATE INDEX compositions_working_dir ON compositions(working_dir);

-- Full-text index over content; external content so the text is stored once.
CREATE VIRTUAL TABLE compositions_fts USING fts5(
    content,
    content = 'compositions',
    content_rowid = 'pk',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER compositions_fts_insert AFTER INSERT ON compositions BEGIN
    INSERT INTO compositions_fts(rowid, content) VALUES (new.pk, new.content);
END;
CREATE TRIGGER compositions_fts_delete AFTER DELETE ON compositions BEGIN
    INSERT INTO compositions_fts(compositions_fts, rowid, content) VALUES ('delete', old.pk, old.content);
END;
CREATE TRIGGER compositions_fts_update AFTER UPDATE OF content ON compositions BEGIN
    INSERT INTO compositions_fts(compositions_fts, rowid, content) VALUES ('delete', old.pk, old.content);
    INSERT INTO compositions_fts(rowid, content) VALUES (new.pk, new.content);
END;

CREATE TABLE tags (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE composition_tags (
    composition_id TEXT NOT NULL REFERENCES compositions(id) ON DELETE CASCADE,
    tag_id         INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    PRIMARY KEY (composition_id, tag_id)
);
CREATE INDEX composition_tags_tag ON composition_tags(tag_id);

-- One row per save whose content changed.
CREATE TABLE composition_versions (
    composition_id TEXT NOT NULL REFERENCES compositions(id) ON DELETE CASCADE,
    version        INTEGER NOT NULL,
    saved_at       INTEGER NOT NULL,
    content        TEXT NOT NULL,
    content_hash   TEXT NOT NULL,
    PRIMARY KEY (composition_id, version)
);

-- Restore what `migrate down` kept aside (on a new database there is nothing: the kept tables
-- are created empty, with the right columns, and dropped). The insert trigger fills the FTS index.
CREATE TABLE IF NOT EXISTS kept_0001_compositions AS SELECT * FROM compositions WHERE 0;
INSERT INTO compositions SELECT * FROM kept_0001_compositions;
DROP TABLE kept_0001_compositions;
CREATE TABLE IF NOT EXISTS kept_0001_tags AS SELECT * FROM tags WHERE 0;
INSERT INTO tags SELECT * FROM kept_0001_tags;
DROP TABLE kept_0001_tags;
CREATE TABLE IF NOT EXISTS kept_0001_composition_tags AS SELECT * FROM composition_tags WHERE 0;
INSERT INTO composition_tags SELECT * FROM kept_0001_composition_tags;
DROP TABLE kept_0001_composition_tags;
CREATE TABLE IF NOT EXISTS kept_0001_composition_versions AS SELECT * FROM composition_versions WHERE 0;
INSERT INTO composition_versions SELECT * FROM kept_0001_composition_versions;
DROP TABLE kept_0001_composition_versions;
