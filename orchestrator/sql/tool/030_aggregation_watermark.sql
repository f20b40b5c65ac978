-- How far the incremental attendance aggregation has read each district's sources, per school
-- year. Written by att_day_aggregation's post-hook inside the model's own transaction, so a
-- watermark advances only when the recomputed rows commit. No row means "recompute the district
-- in full": never aggregated, its sources reloaded wholesale, or the district registered anew.
create table aggregation_watermark (
    district_id text        not null references district (code) on delete cascade,
    end_year    smallint    not null,
    -- Source changes stamped at or after this time may not be aggregated yet
    -- (macros/att_day_watermark.sql says why it is safe).
    watermark   timestamptz not null,
    -- The run that set it: refresh (the whole district-year) or incremental (the affected keys).
    mode        text        not null check (mode in ('refresh', 'incremental')),
    updated_at  timestamptz not null default now(),
    primary key (district_id, end_year)
);
