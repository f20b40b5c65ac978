-- District sites and the landing: the state's own copy of every district's source tables.
--
-- A district's sources live at the district: on its own PostgreSQL server (site_url, kept without
-- its password) or in a schema of this database that another tool keeps (schema_name). A pull
-- (orchestrator/sites/pull.py) reads one consistent snapshot of a district and applies only the
-- differences to the district's partitions of the landing tables below; dbt's staging models read
-- the landing through source('landing', ...). Nothing a district supplies runs here: only rows
-- cross, by COPY.
alter table district alter column schema_name drop not null;
alter table district add column site_url text;
alter table district add constraint district_one_source check (num_nonnulls(schema_name, site_url) = 1);

create schema landing;
comment on schema landing is
    'The state''s copy of every district''s source tables, list-partitioned by district_id; written only by pulls.';

-- The tables of domain.md section 3 with district_id first in every key. Year-scoped tables carry
-- end_year, the school year of the row's calendar, which the pull derives at the district so that
-- a pull of one school year replaces exactly that year. Only keys are constrained: the landing is a
-- faithful copy, and data quality is the dbt tests' business. modified_date is the state's clock:
-- when a pull last inserted or changed the row (set by the trigger below, never by the district).
create table landing.district (
    district_id text not null,
    district_number text not null,
    name text,
    state_district_number text,
    modified_date timestamptz not null default now(),
    primary key (district_id, district_number)
) partition by list (district_id);

create table landing.school (
    district_id text not null,
    school_id integer not null,
    number text,
    name text,
    state_school_number text,
    modified_date timestamptz not null default now(),
    primary key (district_id, school_id)
) partition by list (district_id);

create table landing.calendar (
    district_id text not null,
    calendar_id integer not null,
    school_id integer,
    end_year smallint not null,
    name text,
    start_date date,
    end_date date,
    student_day_minutes integer,
    whole_day_absence_minutes integer,
    half_day_absence_minutes integer,
    exclude boolean,
    modified_date timestamptz not null default now(),
    primary key (district_id, calendar_id)
) partition by list (district_id);

create table landing.schedule_structure (
    district_id text not null,
    structure_id integer not null,
    calendar_id integer,
    name text,
    is_primary boolean,
    end_year smallint not null,
    modified_date timestamptz not null default now(),
    primary key (district_id, structure_id)
) partition by list (district_id);

create table landing.term_schedule (
    district_id text not null,
    term_schedule_id integer not null,
    structure_id integer,
    name text,
    end_year smallint not null,
    modified_date timestamptz not null default now(),
    primary key (district_id, term_schedule_id)
) partition by list (district_id);

create table landing.term (
    district_id text not null,
    term_id integer not null,
    term_schedule_id integer,
    name text,
    seq smallint,
    start_date date,
    end_date date,
    end_year smallint not null,
    modified_date timestamptz not null default now(),
    primary key (district_id, term_id)
) partition by list (district_id);

create table landing.period_schedule (
    district_id text not null,
    period_schedule_id integer not null,
    structure_id integer,
    name text,
    end_year smallint not null,
    modified_date timestamptz not null default now(),
    primary key (district_id, period_schedule_id)
) partition by list (district_id);

create table landing.period (
    district_id text not null,
    period_id integer not null,
    period_schedule_id integer,
    name text,
    seq smallint,
    period_minutes integer,
    non_instructional boolean,
    end_year smallint not null,
    modified_date timestamptz not null default now(),
    primary key (district_id, period_id)
) partition by list (district_id);

create table landing.day (
    district_id text not null,
    day_id integer not null,
    calendar_id integer,
    structure_id integer,
    period_schedule_id integer,
    date date,
    instruction boolean,
    attendance boolean,
    comments text,
    end_year smallint not null,
    modified_date timestamptz not null default now(),
    primary key (district_id, day_id)
) partition by list (district_id);

create table landing.school_month (
    district_id text not null,
    month_id integer not null,
    calendar_id integer,
    name text,
    seq smallint,
    start_date date,
    end_date date,
    end_year smallint not null,
    modified_date timestamptz not null default now(),
    primary key (district_id, month_id)
) partition by list (district_id);

create table landing.structure_grade_level (
    district_id text not null,
    grade_level_id integer not null,
    calendar_id integer,
    structure_id integer,
    name text,
    state_grade text,
    standard_day_minutes integer,
    whole_day_absence_minutes integer,
    half_day_absence_minutes integer,
    end_year smallint not null,
    modified_date timestamptz not null default now(),
    primary key (district_id, grade_level_id)
) partition by list (district_id);

create table landing.person (
    district_id text not null,
    person_id integer not null,
    state_id text,
    current_identity_id integer,
    modified_date timestamptz not null default now(),
    primary key (district_id, person_id)
) partition by list (district_id);

create table landing.identity (
    district_id text not null,
    identity_id integer not null,
    person_id integer,
    last_name text,
    first_name text,
    gender character(1),
    birth_date date,
    effective_date date,
    modified_date timestamptz not null default now(),
    primary key (district_id, identity_id)
) partition by list (district_id);

create table landing.enrollment (
    district_id text not null,
    enrollment_id integer not null,
    person_id integer,
    calendar_id integer,
    structure_id integer,
    grade_level_id integer,
    service_type character(1),
    start_date date,
    end_date date,
    no_show boolean,
    state_exclude boolean,
    end_year smallint not null,
    modified_date timestamptz not null default now(),
    primary key (district_id, enrollment_id)
) partition by list (district_id);

create table landing.attendance_excuse (
    district_id text not null,
    excuse_id integer not null,
    calendar_id integer,
    code text,
    description text,
    status character(1),
    excuse character(1),
    state_code text,
    end_year smallint not null,
    modified_date timestamptz not null default now(),
    primary key (district_id, excuse_id)
) partition by list (district_id);

create table landing.attendance (
    district_id text not null,
    attendance_id bigint not null,
    person_id integer,
    calendar_id integer,
    period_id integer,
    date date,
    status character(1),
    excuse character(1),
    excuse_id integer,
    present_minutes integer,
    comments text,
    end_year smallint not null,
    modified_date timestamptz not null default now(),
    primary key (district_id, attendance_id)
) partition by list (district_id);

create table landing.course (
    district_id text not null,
    course_id integer not null,
    calendar_id integer,
    number text,
    name text,
    state_code text,
    end_year smallint not null,
    modified_date timestamptz not null default now(),
    primary key (district_id, course_id)
) partition by list (district_id);

create table landing.section (
    district_id text not null,
    section_id integer not null,
    course_id integer,
    number text,
    teacher_person_id integer,
    end_year smallint not null,
    modified_date timestamptz not null default now(),
    primary key (district_id, section_id)
) partition by list (district_id);

create table landing.section_placement (
    district_id text not null,
    placement_id integer not null,
    section_id integer,
    period_id integer,
    term_id integer,
    end_year smallint not null,
    modified_date timestamptz not null default now(),
    primary key (district_id, placement_id)
) partition by list (district_id);

create table landing.roster (
    district_id text not null,
    roster_id bigint not null,
    person_id integer,
    section_id integer,
    start_date date,
    end_date date,
    end_year smallint not null,
    modified_date timestamptz not null default now(),
    primary key (district_id, roster_id)
) partition by list (district_id);

create table landing.behavior_event (
    district_id text not null,
    event_id integer not null,
    calendar_id integer,
    event_date date,
    code text,
    name text,
    state_code text,
    end_year smallint not null,
    modified_date timestamptz not null default now(),
    primary key (district_id, event_id)
) partition by list (district_id);

create table landing.behavior_role (
    district_id text not null,
    role_id integer not null,
    event_id integer,
    person_id integer,
    role text,
    end_year smallint not null,
    modified_date timestamptz not null default now(),
    primary key (district_id, role_id)
) partition by list (district_id);

create table landing.behavior_resolution (
    district_id text not null,
    resolution_id integer not null,
    role_id integer,
    resolution_type_id integer,
    start_date date,
    end_date date,
    end_year smallint not null,
    modified_date timestamptz not null default now(),
    primary key (district_id, resolution_id)
) partition by list (district_id);

create table landing.behavior_resolution_type (
    district_id text not null,
    resolution_type_id integer not null,
    code text,
    name text,
    state_code text,
    modified_date timestamptz not null default now(),
    primary key (district_id, resolution_type_id)
) partition by list (district_id);

create table landing.at_risk (
    district_id text not null,
    at_risk_id integer not null,
    person_id integer,
    calendar_id integer,
    reason_code text,
    state_code text,
    start_date date,
    end_date date,
    end_year smallint not null,
    modified_date timestamptz not null default now(),
    primary key (district_id, at_risk_id)
) partition by list (district_id);

create table landing.adult_ed (
    district_id text not null,
    adult_ed_id integer not null,
    person_id integer,
    calendar_id integer,
    program_code text,
    state_code text,
    start_date date,
    end_date date,
    end_year smallint not null,
    modified_date timestamptz not null default now(),
    primary key (district_id, adult_ed_id)
) partition by list (district_id);

create table landing.alpss (
    district_id text not null,
    alpss_id integer not null,
    person_id integer,
    calendar_id integer,
    program_code text,
    state_code text,
    start_date date,
    end_date date,
    end_year smallint not null,
    modified_date timestamptz not null default now(),
    primary key (district_id, alpss_id)
) partition by list (district_id);


-- Every row a pull deletes, or moves to another student, date, section or calendar (its old
-- version), with the state's clock: what the incremental attendance aggregation reads.
create sequence landing.delete_log_id;
create table landing.delete_log (
    district_id text        not null,
    log_id      bigint      not null default nextval('landing.delete_log_id'),
    table_name  text        not null,
    record_id   bigint      not null,
    person_id   bigint,
    deleted_row jsonb       not null,
    deleted_at  timestamptz not null default now(),
    primary key (district_id, log_id)
) partition by list (district_id);
create index delete_log_deleted_at on landing.delete_log (district_id, deleted_at);
create index attendance_modified on landing.attendance (district_id, modified_date);
create index attendance_calendar_date on landing.attendance (district_id, calendar_id, date);
create index day_calendar_date on landing.day (district_id, calendar_id, date);
create index enrollment_person on landing.enrollment (district_id, person_id, calendar_id);
create index roster_section on landing.roster (district_id, section_id);
create index section_course on landing.section (district_id, course_id);

-- now() is the pull transaction's start: a row a pull changes carries a time no later than that
-- transaction's start, which the aggregation's watermark accounts for (macros/att_day_watermark.sql).
create function landing.stamp_modified_date() returns trigger language plpgsql
set search_path = pg_catalog as $$
begin
    new.modified_date := now();
    return new;
end $$;

-- tg_argv: the landing table's name (tg_table_name would be the partition's) and its id column.
create function landing.log_delete() returns trigger language plpgsql
set search_path = pg_catalog as $$
begin
    insert into landing.delete_log (district_id, table_name, record_id, person_id, deleted_row)
    values (old.district_id, tg_argv[0], (to_jsonb(old) ->> tg_argv[1])::bigint,
            (to_jsonb(old) ->> 'person_id')::bigint, to_jsonb(old));
    return old;
end $$;

do $$
declare
    t text;
    logged record;
begin
    for t in
        select c.relname from pg_class c
        where c.relnamespace = 'landing'::regnamespace and c.relkind = 'p' and c.relname <> 'delete_log'
    loop
        -- Inserts take the column's default, now(), the same stamp without a trigger call per
        -- row (a first pull copies millions of rows); updates are stamped by the trigger.
        execute format('create trigger stamp_modified_date before update on landing.%I'
                       ' for each row execute function landing.stamp_modified_date()', t);
    end loop;
    for logged in
        select * from (values
            ('attendance', 'attendance_id', array['person_id', 'calendar_id', 'date']),
            ('roster', 'roster_id', array['person_id', 'section_id']),
            ('enrollment', 'enrollment_id', array['person_id', 'calendar_id']),
            ('calendar', 'calendar_id', array[]::text[]),
            ('day', 'day_id', array['calendar_id', 'structure_id', 'date']),
            ('period', 'period_id', array['period_schedule_id']),
            ('term', 'term_id', array['term_schedule_id']),
            ('course', 'course_id', array['calendar_id']),
            ('section', 'section_id', array['course_id']),
            ('section_placement', 'placement_id', array['section_id']),
            ('structure_grade_level', 'grade_level_id', array['calendar_id']),
            ('attendance_excuse', 'excuse_id', array['calendar_id'])
        ) as v (table_name, id_column, moving_columns)
    loop
        execute format('create trigger log_delete after delete on landing.%I'
                       ' for each row execute function landing.log_delete(%L, %L)',
                       logged.table_name, logged.table_name, logged.id_column);
        if cardinality(logged.moving_columns) > 0 then
            execute format(
                'create trigger log_move after update of %s on landing.%I for each row when (%s)'
                ' execute function landing.log_delete(%L, %L)',
                (select string_agg(format('%I', c), ', ') from unnest(logged.moving_columns) as c),
                logged.table_name,
                (select string_agg(format('old.%1$I is distinct from new.%1$I', c), ' or ')
                 from unnest(logged.moving_columns) as c),
                logged.table_name, logged.id_column);
        end if;
    end loop;
end $$;

-- One partition per district of every landing table. Its triggers fire ALWAYS, also for a
-- session in session_replication_role = replica: no write to the landing escapes the stamps.
create function landing.add_district(code text) returns void language plpgsql
set search_path = pg_catalog as $$
declare
    t text;
    trigger_name name;
begin
    for t in
        select c.relname from pg_class c
        where c.relnamespace = 'landing'::regnamespace and c.relkind = 'p' order by 1
    loop
        execute format('create table if not exists landing.%I partition of landing.%I for values in (%L)',
                       t || '__' || code, t, code);
        for trigger_name in
            select tgname from pg_trigger
            where tgrelid = format('landing.%I', t || '__' || code)::regclass and not tgisinternal
        loop
            execute format('alter table landing.%I enable always trigger %I', t || '__' || code, trigger_name);
        end loop;
    end loop;
end $$;

-- Drops the district's copy (its state rows are kept): the landing holds registered districts only.
create function landing.drop_district(code text) returns void language plpgsql
set search_path = pg_catalog as $$
declare
    t text;
begin
    for t in
        select c.relname from pg_class c
        where c.relnamespace = 'landing'::regnamespace and c.relkind = 'p' order by 1
    loop
        execute format('drop table if exists landing.%I', t || '__' || code);
    end loop;
end $$;

-- The registry keeps the landing in step: a district registered gets its partitions, one removed
-- loses them, however the row is written.
create function landing.follow_registry() returns trigger language plpgsql
set search_path = pg_catalog as $$
begin
    if tg_op = 'INSERT' then
        perform landing.add_district(new.code);
    else
        perform landing.drop_district(old.code);
    end if;
    return null;
end $$;
create trigger landing_partitions after insert or delete on district
    for each row execute function landing.follow_registry();

-- What each pull did, per district and table: freshness and the pull's own report read it.
create table pull_log (
    id            bigint generated always as identity primary key,
    district_id   text        not null,
    table_name    text        not null,
    end_year      smallint,   -- null: the whole table (not year-scoped)
    pulled_at     timestamptz not null default now(),
    rows_read     bigint      not null,
    rows_inserted bigint      not null,
    rows_updated  bigint      not null,
    rows_deleted  bigint      not null,
    seconds       numeric     not null
);
create index pull_log_district_table on pull_log (district_id, table_name, pulled_at desc);

-- Installations from before sites: each registered district keeps its schema as its source, and
-- gets its landing partitions (the first pull then copies it in).
select landing.add_district(code) from district;
