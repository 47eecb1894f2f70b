-- The open-cases index also carries the grid code, so the command centre's overdue counts (per
-- node and per child) read the index alone instead of one row per open case.
DROP INDEX cases_status;
CREATE INDEX cases_status ON cases(district, status, due_at, grid_code);
