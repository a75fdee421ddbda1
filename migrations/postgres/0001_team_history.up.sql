-- Team history: many people's servers write here. A composition is keyed by its origin (the
-- history directory it is saved from: one per person and machine) and its id, so two people's
-- compositions never collide; each row names its author and machine.
CREATE TABLE compositions (
    origin       TEXT NOT NULL,
    id           TEXT NOT NULL,
    author       TEXT NOT NULL,
    machine      TEXT NOT NULL,
    file_path    TEXT NOT NULL,
    source_path  TEXT,
    working_dir  TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    content      TEXT NOT NULL,
    char_count   INTEGER NOT NULL,
    line_count   INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    -- Size and modification time of the history file when indexed (NULL: the file is not
    -- written yet, this row is the only copy and start-up sync writes the file from it).
    file_size    BIGINT,
    file_mtime   BIGINT,
    tags         TEXT[] NOT NULL DEFAULT '{}',
    -- Full text, without stemming (prompts mix languages and code). The first 256 KB only:
    -- a tsvector has a 1 MB limit and compositions go up to 1 MB.
    search       TSVECTOR GENERATED ALWAYS AS
                     (to_tsvector('simple'::regconfig, left(content, 262144))) STORED,
    PRIMARY KEY (origin, id)
);
CREATE INDEX compositions_search ON compositions USING GIN (search);
CREATE INDEX compositions_updated_at ON compositions (updated_at DESC);
CREATE INDEX compositions_created_at ON compositions (created_at DESC);
CREATE INDEX compositions_source ON compositions (origin, source_path, updated_at DESC);
CREATE INDEX compositions_author ON compositions (author, updated_at DESC);
CREATE INDEX compositions_working_dir ON compositions (working_dir, updated_at DESC);
CREATE INDEX compositions_tags ON compositions USING GIN (tags);

-- One row per save whose content changed.
CREATE TABLE composition_versions (
    origin       TEXT NOT NULL,
    id           TEXT NOT NULL,
    version      INTEGER NOT NULL,
    saved_at     TIMESTAMPTZ NOT NULL,
    content      TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    PRIMARY KEY (origin, id, version),
    FOREIGN KEY (origin, id) REFERENCES compositions (origin, id) ON DELETE CASCADE
);

-- Which library prompts a composition used (find-references of a library prompt).
CREATE TABLE composition_prompts (
    origin    TEXT NOT NULL,
    id        TEXT NOT NULL,
    prompt_id TEXT NOT NULL,
    used_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (origin, id, prompt_id),
    FOREIGN KEY (origin, id) REFERENCES compositions (origin, id) ON DELETE CASCADE
);
CREATE INDEX composition_prompts_prompt ON composition_prompts (prompt_id, used_at DESC);

-- Values filled into placeholders, offered again by completion to the whole team.
CREATE TABLE placeholder_values (
    name    TEXT NOT NULL,
    value   TEXT NOT NULL,
    used_at TIMESTAMPTZ NOT NULL,
    author  TEXT NOT NULL,
    PRIMARY KEY (name, value)
);
CREATE INDEX placeholder_values_recent ON placeholder_values (name, used_at DESC);

-- Restore what `migrate down` kept aside (on a new database the kept tables are created empty
-- and dropped).
CREATE TABLE IF NOT EXISTS kept_0001_compositions AS
    SELECT origin, id, author, machine, file_path, source_path, working_dir, created_at,
           updated_at, content, char_count, line_count, content_hash, file_size, file_mtime, tags
    FROM compositions WHERE false;
INSERT INTO compositions (origin, id, author, machine, file_path, source_path, working_dir,
        created_at, updated_at, content, char_count, line_count, content_hash, file_size,
        file_mtime, tags)
    SELECT origin, id, author, machine, file_path, source_path, working_dir, created_at,
           updated_at, content, char_count, line_count, content_hash, file_size, file_mtime, tags
    FROM kept_0001_compositions;
DROP TABLE kept_0001_compositions;
CREATE TABLE IF NOT EXISTS kept_0001_composition_versions AS
    TABLE composition_versions WITH NO DATA;
INSERT INTO composition_versions SELECT * FROM kept_0001_composition_versions;
DROP TABLE kept_0001_composition_versions;
CREATE TABLE IF NOT EXISTS kept_0001_composition_prompts AS
    TABLE composition_prompts WITH NO DATA;
INSERT INTO composition_prompts SELECT * FROM kept_0001_composition_prompts;
DROP TABLE kept_0001_composition_prompts;
CREATE TABLE IF NOT EXISTS kept_0001_placeholder_values AS
    TABLE placeholder_values WITH NO DATA;
INSERT INTO placeholder_values SELECT * FROM kept_0001_placeholder_values;
DROP TABLE kept_0001_placeholder_values;
