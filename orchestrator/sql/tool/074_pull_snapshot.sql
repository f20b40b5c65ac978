-- The site's snapshot each pull of a (district, table, school year) read, written in the pull's own
-- state transaction, so it is there exactly when the landing holds that snapshot's rows. A later
-- changed-only pull (orchestrator/sites/pull.py) reads from the site only the rows whose xmin is not
-- older than this snapshot's xmin, plus the keys, to find deletes. `source` (the site's URL or the
-- schema) and `columns` (the columns pulled) say what the snapshot is of: when either differs, or
-- the site's transaction counter is behind the recorded one (a restored or replaced database), the
-- next pull is a full one. Removing a district drops its landing partitions and its snapshots.
create table pull_snapshot (
    district_id text     not null references district (code) on delete cascade,
    table_name  text     not null,
    end_year    smallint,             -- null: the whole table (not year-scoped)
    snapshot    pg_snapshot not null, -- pg_current_snapshot() at the site, in the pull's read
    source      text     not null,
    columns     text[]   not null,
    pulled_at   timestamptz not null default now(),
    unique nulls not distinct (district_id, table_name, end_year)
);
grant select, insert, update, delete on pull_snapshot to resync_worker;

-- Whether a pull read only what changed, and why a changed-only pull was asked for and a full
-- one done (no snapshot yet, a restored site, columns changed...).
alter table pull_log add column changed_only boolean not null default false;
alter table pull_log add column full_because text;
