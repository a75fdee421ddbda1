-- Older versions, prompt uses, placeholder values and other people's compositions are not in
-- this machine's history files: keep every row aside for `migrate up` (0001 up restores them).
CREATE TABLE kept_0001_compositions AS
    SELECT origin, id, author, machine, file_path, source_path, working_dir, created_at,
           updated_at, content, char_count, line_count, content_hash, file_size, file_mtime, tags
    FROM compositions;
CREATE TABLE kept_0001_composition_versions AS TABLE composition_versions;
CREATE TABLE kept_0001_composition_prompts AS TABLE composition_prompts;
CREATE TABLE kept_0001_placeholder_values AS TABLE placeholder_values;
DROP TABLE placeholder_values;
DROP TABLE composition_prompts;
DROP TABLE composition_versions;
DROP TABLE compositions;
