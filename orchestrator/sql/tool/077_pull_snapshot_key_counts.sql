-- The landing's keys per range (key >> KEY_BITS) of the (district, table, school year) as the
-- changed-only pull that recorded the snapshot left them: the district's counts in that snapshot,
-- which the landing then holds range for range. The next changed-only pull of the table adds the
-- keys it brings into the year instead of counting the landing again
-- (orchestrator/sites/landing_key_counts.py). Null after any other pull. key_range_bits: the
-- ranges' width (2^bits keys) the counts were taken in; counts of another width are not used.
alter table pull_snapshot add column key_range_bits smallint, add column key_ranges bigint[],
    add column key_counts bigint[];
