-- A state table that `resync verify` found equal to its recomputation from the landing. Until the
-- landing changes (a pull that writes rows to a table the model reads, stamped at or after
-- landing_as_of), the model or its vars change, or the table's own checksums change, the next
-- verify needs no recomputation: the table still equals what the model computes.
create table state_certificate (
    district_id   text        not null references district (code) on delete cascade,
    model         text        not null,
    end_year      smallint    not null,   -- the school year verified
    through_date  date,                   -- att_day_aggregation: the date attendance counted through
    project       text        not null,   -- the fingerprint of the dbt project's files
    -- A pull not seen by the verification started at or after this moment (the least of its start
    -- and the start of every transaction then in flight, as the aggregation's watermark).
    landing_as_of timestamptz not null,
    checksums     jsonb       not null,   -- [[segment...], rows, checksum] of the state table
    certified_at  timestamptz not null default now(),
    primary key (district_id, model, end_year)
);

-- Rights (060_rights.sql): a certificate spares a recomputation for everyone, so only the
-- worker's role (administrators hold it) writes one. Others' verifications recompute: they
-- cannot see the start of other sessions' transactions that landing_as_of needs anyway.
grant select, insert, update on state_certificate to resync_worker;
