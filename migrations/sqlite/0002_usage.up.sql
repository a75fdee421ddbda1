-- Which library prompts a composition used (find-references of a library prompt).
CREATE TABLE composition_prompts (
    composition_id TEXT NOT NULL REFERENCES compositions(id) ON DELETE CASCADE,
    prompt_id      TEXT NOT NULL,
    used_at        INTEGER NOT NULL,
    PRIMARY KEY (composition_id, prompt_id)
);
CREATE INDEX composition_prompts_prompt ON composition_prompts(prompt_id);

-- Values filled into placeholders, offered again by completion.
CREATE TABLE placeholder_values (
    name    TEXT NOT NULL,
    value   TEXT NOT NULL,
    used_at INTEGER NOT NULL,
    PRIMARY KEY (name, value)
);
CREATE INDEX placeholder_values_recent ON placeholder_values(name, used_at DESC);

-- Restore what `migrate down` kept aside (nothing on a new database).
CREATE TABLE IF NOT EXISTS kept_0002_composition_prompts AS SELECT * FROM composition_prompts WHERE 0;
INSERT INTO composition_prompts SELECT * FROM kept_0002_composition_prompts
    WHERE composition_id IN (SELECT id FROM compositions);
DROP TABLE kept_0002_composition_prompts;
CREATE TABLE IF NOT EXISTS kept_0002_placeholder_values AS SELECT * FROM placeholder_values WHERE 0;
INSERT INTO placeholder_values SELECT * FROM kept_0002_placeholder_values;
DROP TABLE kept_0002_placeholder_values;
