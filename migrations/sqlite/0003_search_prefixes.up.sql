-- Prefix indexes for the word being typed (the last word of a search is a prefix): without
-- them FTS5 merges the doclists of every word that begins with it, which for two or three
-- letters at a million compositions is most of the index. The index is rebuilt from the
-- compositions table; the triggers of 0001 keep it in sync as before.
DROP TABLE compositions_fts;
CREATE VIRTUAL TABLE compositions_fts USING fts5(
    content,
    content = 'compositions',
    content_rowid = 'pk',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3 4'
);
INSERT INTO compositions_fts(compositions_fts) VALUES ('rebuild');
