-- ID numbers and phones are stored sealed (AES-256-GCM, keys outside the database); these keyed
-- blind indexes find a whole number, and id_tail / phone_tail now hold keyed indexes of the last
-- four digits. Rows stored before sealing are sealed at the next start (id_index still NULL).
ALTER TABLE residents ADD COLUMN id_index TEXT;
ALTER TABLE residents ADD COLUMN phone_index TEXT;
CREATE UNIQUE INDEX residents_id_index ON residents(district, id_index);
CREATE INDEX residents_phone_index ON residents(district, phone_index);
