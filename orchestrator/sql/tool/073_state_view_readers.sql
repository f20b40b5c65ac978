-- What `resync verify` reads for a user, under row-level security on district_id as the state
-- tables are (macros/resync_access.sql): a user verifies the districts they see and no other,
-- even with raw SQL.
--
-- - The landing's tables: a verification compares a site with the district's landing rows and
--   recomputes the state tables from them. Select on the partitioned tables only: a partition
--   (landing.add_district makes one per district) has no grant, so it is read through its
--   parent and its policy. The worker owns the landing, so its pulls are not filtered.
-- - aggregation_watermark: the date AttDayAggregation counted through, which its recomputation
--   counts through too.

grant usage on schema landing to resync_read;
do $landing$
declare
    found record;
begin
    for found in select c.relname from pg_class c
                 where c.relnamespace = 'landing'::regnamespace and c.relkind = 'p' and not c.relispartition
    loop
        execute format('grant select on landing.%I to resync_read', found.relname);
        execute format('alter table landing.%I enable row level security', found.relname);
        execute format('create policy landing_visible on landing.%I for select'
                       ' using ((select resync.caller_districts()) is null'
                       ' or district_id = any ((select resync.caller_districts())::text[]))', found.relname);
    end loop;
end
$landing$;

grant select on aggregation_watermark to resync_read;
alter table aggregation_watermark enable row level security;
create policy aggregation_watermark_visible on aggregation_watermark for select
    using (resync.sees_district(district_id));
create policy aggregation_watermark_kept on aggregation_watermark for all to resync_worker
    using (true) with check (true);
