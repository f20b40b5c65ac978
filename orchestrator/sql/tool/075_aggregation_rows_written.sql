-- The rows the run that set the watermark wrote for the district (recomputed and inserted):
-- one run aggregates several districts, so dbt's own count (the run's last statement) cannot say
-- each district's. Null when unknown: a row written before this column existed.
alter table aggregation_watermark add column rows_written bigint;
