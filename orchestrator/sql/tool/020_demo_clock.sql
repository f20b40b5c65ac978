-- The simulated "today" of each generated demo district. `resync demo generate --as-of` sets it
-- (attendance exists for school days before it); `resync demo change` records that school day and
-- moves it on, so a day on which nobody happened to be absent is not recorded twice.
-- Demo bookkeeping only: a real district's today is the calendar's.
create table demo_clock (
    district_code text primary key references district (code) on delete cascade,
    today         date not null,
    updated_at    timestamptz not null default now()
);
