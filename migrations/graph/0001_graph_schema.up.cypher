// The graph history's indexes: compositions by key (origin and id), origin, update time and
// source file; versions by their composition's key; prompts, tags, workspaces and placeholders
// by name; and the full-text index over composition content (no stop words: prompts are short
// and every word counts).
CREATE INDEX FOR (c:Composition) ON (c.key);
CREATE INDEX FOR (c:Composition) ON (c.origin);
CREATE INDEX FOR (c:Composition) ON (c.updated_at);
CREATE INDEX FOR (c:Composition) ON (c.source_path);
CREATE INDEX FOR (v:Version) ON (v.key);
CREATE INDEX FOR (p:Prompt) ON (p.id);
CREATE INDEX FOR (t:Tag) ON (t.name);
CREATE INDEX FOR (w:Workspace) ON (w.path);
CREATE INDEX FOR (p:Placeholder) ON (p.name);
CALL db.idx.fulltext.createNodeIndex({label: 'Composition', stopwords: []}, 'content');
