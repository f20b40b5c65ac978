-- Every successful rebuild of an object for a district: what `resync freshness` calls the last
-- successful resync. Written by resync.execute (`resync run`, requests, the weekly sync) and by
-- the attendance aggregation, in its own transaction after the object committed.
create table object_sync (
    id            bigint generated always as identity primary key,
    district_id   text        not null,
    object        text        not null,   -- Campus name (catalog)
    end_year      smallint,               -- the school year replaced; null: a district-scoped object
    synced_at     timestamptz not null default now(),
    -- Who asked: a request (with its schedule, if one queued it) or a person at `resync run`.
    request_id    bigint references request (id) on delete set null,
    schedule_name text,
    requested_by  text        not null,
    database_user text        not null default session_user,
    rows          bigint
);
create index object_sync_latest on object_sync (district_id, object, end_year, synced_at desc);

-- Rights (060_rights.sql): the worker and administrators (who hold its role) record resyncs;
-- users read those of their districts, as they read their districts' requests and pulls.
grant select on object_sync to resync_read;
grant insert on object_sync to resync_worker;
alter table object_sync enable row level security;
create policy object_sync_visible on object_sync for select using (resync.sees_district(district_id));
create policy object_sync_recorded on object_sync for insert to resync_worker with check (true);
