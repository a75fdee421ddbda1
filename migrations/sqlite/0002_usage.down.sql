DROP TABLE placeholder_values;
DROP TABLE composition_prompts;
