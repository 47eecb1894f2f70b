-- The last line behind the bounds checked in code: a stock or a price stays in its range even if
-- some future path forgets (SQLite has triggers for the same rules; BIGINT keeps whole numbers).
ALTER TABLE shop_items ADD CONSTRAINT shop_items_bounds CHECK (stock <= 1000000 AND (points IS NULL OR points <= 1000000));
ALTER TABLE points_postings ADD CONSTRAINT points_postings_amount_bounds CHECK (amount BETWEEN -100000000 AND 100000000);
