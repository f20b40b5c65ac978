-- The district registry: which districts the state syncs, and the schema holding each one's sources.
create table district (
    code        text primary key check (code ~ '^[A-Za-z0-9]+$'),
    name        text not null check (name <> ''),
    schema_name text not null unique,
    created_at  timestamptz not null default now()
);
