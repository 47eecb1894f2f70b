-- PostgreSQL's 0006 makes sorted names compare by code point; SQLite's BINARY collation already
-- does. Kept so both engines carry the same migration numbers.
SELECT 1;
