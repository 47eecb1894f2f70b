-- A resident asking to link their account to a volunteer record that already exists waits for the
-- community to confirm it (a name and an ID number are not proof of being that person).
ALTER TABLE volunteers ADD COLUMN link_requested_by BLOB REFERENCES users(id);
ALTER TABLE volunteers ADD COLUMN link_requested_at BIGINT;
CREATE INDEX volunteers_link_requested ON volunteers(district, link_requested_at) WHERE link_requested_by IS NOT NULL;
CREATE INDEX volunteers_link_requested_by ON volunteers(link_requested_by) WHERE link_requested_by IS NOT NULL;
