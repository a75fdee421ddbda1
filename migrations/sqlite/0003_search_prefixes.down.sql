-- The full-text index of 0001, without prefix indexes, rebuilt from the compositions table.
DROP TABLE compositions_fts;
CREATE VIRTUAL TABLE compositions_fts USING fts5(
    content,
    content = 'compositions',
    content_rowid = 'pk',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO compositions_fts(compositions_fts) VALUES ('rebuild');
