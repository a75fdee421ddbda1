-- Prompt uses and placeholder values cannot be rebuilt from the history files: keep them aside
-- for `migrate up` (0002 up restores them).
CREATE TABLE kept_0002_composition_prompts AS SELECT * FROM composition_prompts;
CREATE TABLE kept_0002_placeholder_values AS SELECT * FROM placeholder_values;
DROP TABLE placeholder_values;
DROP TABLE composition_prompts;
