-- `resync verify`: each comparison of districts' sites with the state, kept with its outcome.
-- result holds every (district, object) compared: the tables at the site against the landing,
-- the state table against its recomputation from the landing, and the keys found in each set.
create table verification (
    id                bigint generated always as identity primary key,
    requested_by      text        not null,
    database_user     text        not null default session_user,
    started_at        timestamptz not null,
    seconds           numeric     not null,
    school_year       smallint    not null,
    districts         text[]      not null,
    objects           text[]      not null,
    equal             boolean     not null,
    differences       bigint      not null,   -- rows only at the district, only at the state, or different
    summary           text        not null,
    result            jsonb       not null,
    repair_requests   bigint[]                -- the requests `verify --repair` queued for it
);

-- Rights (060_rights.sql): any user verifies the districts they see and stores the outcome as
-- themselves; a verification is seen by its requester and by whoever sees every district it
-- compared. Only its requester notes the repair requests on it (queueing them needs Write,
-- which resync.queue_request checks).
grant select, insert on verification to resync_read;
grant update (repair_requests) on verification to resync_write;
alter table verification enable row level security;
create policy verification_visible on verification for select
    using (database_user = session_user or (select resync.caller_districts()) is null
           or districts <@ (select resync.caller_districts()));
create policy verification_stored on verification for insert
    with check (database_user = session_user and requested_by = session_user
                and ((select resync.caller_districts()) is null or districts <@ (select resync.caller_districts())));
create policy verification_repaired on verification for update to resync_write
    using (database_user = session_user) with check (database_user = session_user);
