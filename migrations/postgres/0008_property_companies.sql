-- A compound's property company (物业公司): one per compound, on the compound's grid node. It was
-- kept in unit_grids before, where nothing read it; those rows move here.
ALTER TABLE grids ADD COLUMN property_company_id UUID REFERENCES units(id);
UPDATE grids SET property_company_id = (
    SELECT ug.unit_id FROM unit_grids ug JOIN units u ON u.id = ug.unit_id
    WHERE ug.grid_code = grids.code AND u.kind = 'property_company'
    ORDER BY u.name LIMIT 1
) WHERE level = 4;
DELETE FROM unit_grids WHERE unit_id IN (SELECT id FROM units WHERE kind = 'property_company');
CREATE INDEX grids_property_company ON grids(property_company_id);

-- The categories a compound's property company handles (楼道堆物, 电梯 and other shared
-- facilities, 绿化 …): for these it is offered, and preselected, as the unit to send a case to.
ALTER TABLE case_categories ADD COLUMN property_serves BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE case_categories SET property_serves = TRUE WHERE code IN ('SQ01', 'SQ03', 'SQ07', 'BJ01', 'BJ04');

-- The inbox counts each status within a grid subtree, and each person's own reports.
CREATE INDEX cases_status_grid ON cases(district, status, grid_code);
CREATE INDEX cases_reporter ON cases(reporter_id, reported_at);
