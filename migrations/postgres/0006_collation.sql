-- The last text columns that lists sort by now compare by code point, as SQLite's BINARY does,
-- instead of by the server's locale, so both engines list in the same order (issue 20). The
-- other sorted names were created with COLLATE "C" already.
ALTER TABLE households ALTER COLUMN room TYPE TEXT COLLATE "C";
ALTER TABLE devices ALTER COLUMN serial TYPE TEXT COLLATE "C";
ALTER TABLE devices ALTER COLUMN kind TYPE TEXT COLLATE "C";
ALTER TABLE units ALTER COLUMN kind TYPE TEXT COLLATE "C";
ALTER TABLE places ALTER COLUMN kind TYPE TEXT COLLATE "C";
ALTER TABLE shop_items ALTER COLUMN name TYPE TEXT COLLATE "C";
