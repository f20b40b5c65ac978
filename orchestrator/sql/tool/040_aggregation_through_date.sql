-- The date a district's attendance was last aggregated through (attendance counts through
-- yesterday): the next incremental run adds, or removes, the days between it and its own date.
-- Null on rows written before this column existed: such a district's days all count as new.
alter table aggregation_watermark add column through_date date;
