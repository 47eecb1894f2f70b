-- The last line behind the bounds checked in code: a stock or a price stays a whole number in its
-- range even if some future path forgets (an overflowing sum made SQLite store a REAL that no
-- later read could decode). SQLite cannot add a CHECK to an existing table without rebuilding it,
-- so triggers stand in; PostgreSQL gets the CHECK itself.
CREATE TRIGGER shop_items_bounds_insert BEFORE INSERT ON shop_items
WHEN typeof(NEW.stock) <> 'integer' OR NEW.stock < 0 OR NEW.stock > 1000000
  OR (NEW.points IS NOT NULL AND (typeof(NEW.points) <> 'integer' OR NEW.points < 1 OR NEW.points > 1000000))
BEGIN SELECT RAISE(ABORT, 'shop_items: stock or points out of bounds'); END;

CREATE TRIGGER shop_items_bounds_update BEFORE UPDATE OF stock, points ON shop_items
WHEN typeof(NEW.stock) <> 'integer' OR NEW.stock < 0 OR NEW.stock > 1000000
  OR (NEW.points IS NOT NULL AND (typeof(NEW.points) <> 'integer' OR NEW.points < 1 OR NEW.points > 1000000))
BEGIN SELECT RAISE(ABORT, 'shop_items: stock or points out of bounds'); END;

CREATE TRIGGER points_accounts_balance_integer BEFORE UPDATE OF balance ON points_accounts
WHEN typeof(NEW.balance) <> 'integer'
BEGIN SELECT RAISE(ABORT, 'points_accounts: balance must be an integer'); END;

CREATE TRIGGER points_postings_amount_integer BEFORE INSERT ON points_postings
WHEN typeof(NEW.amount) <> 'integer' OR NEW.amount < -100000000 OR NEW.amount > 100000000
BEGIN SELECT RAISE(ABORT, 'points_postings: amount out of bounds'); END;
