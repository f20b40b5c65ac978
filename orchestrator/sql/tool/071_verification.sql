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
