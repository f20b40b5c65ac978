-- The rows the run that set the watermark deleted, rows it wrote again included (`resync
-- aggregate` reports them beside the rows written). Null when unknown: a first build, or a row
-- written before this column existed.
alter table aggregation_watermark add column rows_deleted bigint;
