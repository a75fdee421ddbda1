// Drops the indexes only: every node and relationship stays, so `migrate up` loses nothing.
CALL db.idx.fulltext.drop('Composition');
DROP INDEX FOR (p:Placeholder) ON (p.name);
DROP INDEX FOR (w:Workspace) ON (w.path);
DROP INDEX FOR (t:Tag) ON (t.name);
DROP INDEX FOR (p:Prompt) ON (p.id);
DROP INDEX FOR (v:Version) ON (v.key);
DROP INDEX FOR (c:Composition) ON (c.source_path);
DROP INDEX FOR (c:Composition) ON (c.updated_at);
DROP INDEX FOR (c:Composition) ON (c.origin);
DROP INDEX FOR (c:Composition) ON (c.key);
