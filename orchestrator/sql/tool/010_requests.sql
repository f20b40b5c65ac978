-- Asynchronous resync requests, the notifications they end with, and the schedules that queue them.
-- The queue that carries a request to a worker is procrastinate's (schema resync_queue); these
-- tables are what a user sees: who asked for what, when, and how it ended.

create table request (
    id                  bigint generated always as identity primary key,
    -- resync: objects x districts, as `resync run`; aggregation: the attendance aggregation.
    kind                text not null default 'resync' check (kind in ('resync', 'aggregation')),
    requested_by        text not null check (requested_by <> ''),
    -- What was asked, as given: districts, objects, check_dependencies, school_year, full_refresh.
    selection           jsonb not null,
    -- The validated plan at queue time (objects in run order, districts with names, school year).
    plan                jsonb,
    -- Set when a schedule queued it: at most one queued or running request per schedule.
    schedule_name       text,
    status              text not null default 'queued'
                        check (status in ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    job_id              bigint,                 -- the procrastinate job that carries it
    attempts            integer not null default 0,
    worker              text,                   -- host:pid of the worker running it (or that last did)
    progress            jsonb,                  -- the latest progress event while running
    results             jsonb,                  -- per object and district, as `resync run --json`
    error               text,                   -- one sentence when it failed or was cancelled
    requested_at        timestamptz not null default now(),
    started_at          timestamptz,
    finished_at         timestamptz,
    cancel_requested_by text,
    cancel_requested_at timestamptz
);

create index request_active_idx on request (status) where status in ('queued', 'running');
create index request_requested_by_idx on request (requested_by, id desc);
create unique index request_one_active_run_per_schedule_idx on request (schedule_name)
    where schedule_name is not null and status in ('queued', 'running');

-- What a requester is told when a request ends; also published with pg_notify('resync_notification').
create table notification (
    id          bigint generated always as identity primary key,
    recipient   text not null,
    request_id  bigint not null references request (id) on delete cascade,
    status      text not null,
    message     text not null,
    created_at  timestamptz not null default now(),
    read_at     timestamptz
);

create index notification_recipient_idx on notification (recipient, id desc);

-- The schedules the workers run. Cron expressions are read in `timezone`.
create table schedule (
    name            text primary key,
    kind            text not null check (kind in ('resync', 'aggregation')),
    cron            text not null,
    timezone        text not null,
    enabled         boolean not null default true,
    description     text not null,
    updated_at      timestamptz not null default now(),
    updated_by      text,
    last_due_at     timestamptz,   -- the last time it came due
    last_request_id bigint references request (id) on delete set null,
    last_outcome    text           -- queued as request N, or why nothing was queued
);

-- The weekly full sync of the original product, and its nightly aggregation job at 03:45, in the
-- database server's time zone until someone sets another.
insert into schedule (name, kind, cron, timezone, description) values
    ('weekly', 'resync', '0 2 * * 0', current_setting('TimeZone'),
     'Full sync: every subscribed object of every registered district, with dependencies.'),
    ('nightly', 'aggregation', '45 3 * * *', current_setting('TimeZone'),
     'Attendance aggregation, incremental: picks up yesterday''s and backdated changes.');
