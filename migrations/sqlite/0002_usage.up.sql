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
