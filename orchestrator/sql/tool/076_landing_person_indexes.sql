-- The incremental attendance aggregation reads the affected students' rows by these indexes
-- (models/state/att_day_aggregation.sql): without them each nightly run read every attendance
-- and roster row of every district to keep the few its changes touched (22 million rows in a
-- district of 350,000 students). The excuse's index finds the rows of an excuse code whose
-- meaning changed.
create index attendance_person_date on landing.attendance (district_id, person_id, date);
create index attendance_excuse_id on landing.attendance (district_id, excuse_id);
create index roster_person on landing.roster (district_id, person_id);
