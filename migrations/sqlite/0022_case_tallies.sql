-- Running case figures (案件统计) per grid node — a case's own grid and each of its ancestors —,
-- per China day and category, kept in the transaction that changes the case, so the command
-- centre's figures read a few rows instead of counting cases. `day` is days since 1970-01-01 in
-- China time (UTC+8); day 0 holds the figures that have no day (open cases now).
CREATE TABLE case_tallies (
    grid_code     TEXT NOT NULL,
    day           BIGINT NOT NULL,
    category_code TEXT NOT NULL,
    reported      BIGINT NOT NULL DEFAULT 0,  -- reported that day, merged ones not counted
    on_time       BIGINT NOT NULL DEFAULT 0,  -- of those, handled by their deadline
    closed        BIGINT NOT NULL DEFAULT 0,  -- closed that day
    open          BIGINT NOT NULL DEFAULT 0,  -- day 0: open now
    PRIMARY KEY (grid_code, day, category_code)
);
-- Each child's open cases: day 0 across a subtree's codes.
CREATE INDEX case_tallies_day ON case_tallies(day, grid_code);

-- The figures of the cases already stored (the same rule as `cases::tallies::REBUILD`).
INSERT INTO case_tallies (grid_code, day, category_code, reported, on_time, closed, open)
WITH lens(len) AS (VALUES (6), (9), (12), (15), (18))
SELECT node, day, category_code, SUM(reported), SUM(on_time), SUM(closed), SUM(open) FROM (
    SELECT SUBSTR(c.grid_code, 1, l.len) AS node, (c.reported_at + 28800000) / 86400000 AS day, c.category_code,
           1 AS reported, CASE WHEN c.handled_at IS NOT NULL AND c.handled_at <= c.due_at THEN 1 ELSE 0 END AS on_time,
           0 AS closed, 0 AS open
    FROM cases c JOIN lens l ON LENGTH(c.grid_code) >= l.len WHERE c.merged_into IS NULL
    UNION ALL
    SELECT SUBSTR(c.grid_code, 1, l.len), (c.closed_at + 28800000) / 86400000, c.category_code, 0, 0, 1, 0
    FROM cases c JOIN lens l ON LENGTH(c.grid_code) >= l.len
    WHERE c.merged_into IS NULL AND c.status = 'closed' AND c.closed_at IS NOT NULL
    UNION ALL
    SELECT SUBSTR(c.grid_code, 1, l.len), 0, c.category_code, 0, 0, 0, 1
    FROM cases c JOIN lens l ON LENGTH(c.grid_code) >= l.len
    WHERE c.merged_into IS NULL AND c.status IN ('reported', 'accepted', 'dispatched', 'handling', 'handled', 'verified')
) t GROUP BY node, day, category_code;
