-- Additional fields get an order of their own, chosen by a superadmin: forms, the user
-- page, the rule builder, the API and exports list fields by position. Existing fields
-- keep the order they were listed in (creation order): positions 1..n by id.
ALTER TABLE fields ADD COLUMN position BIGINT NOT NULL DEFAULT 0;
UPDATE fields SET position = (SELECT COUNT(*) FROM fields AS earlier WHERE earlier.id <= fields.id);
