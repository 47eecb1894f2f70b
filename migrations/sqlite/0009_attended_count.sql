-- The volunteer summaries are cached under the number of attended sign-ups in the district (see
-- volunteers::store::summary); this index makes that count cheap.
CREATE INDEX activity_signups_status ON activity_signups(district, status);
