-- The source schema of one district: the tables a District Edition database exposes to the state.
-- Applied with search_path set to the district's schema, so every name below lands there.
-- Every table carries modified_date, kept current by a trigger on insert and update; deletes of
-- attendance, roster and enrollment rows (and of the other rows the attendance aggregation reads)
-- are recorded in delete_log so incremental work sees them.

create function set_modified_date() returns trigger language plpgsql as $$
begin
    -- now() is the transaction's start time: a change committed later than a reader's snapshot
    -- still carries a time no later than its own start, which incremental readers account for.
    new.modified_date := now();
    return new;
end $$;

create table delete_log (
    log_id        bigserial primary key,
    table_name    text        not null,
    record_id     bigint      not null,
    person_id     bigint,
    deleted_row   jsonb       not null,
    deleted_at    timestamptz not null default now()
);
create index delete_log_deleted_at on delete_log (deleted_at);

-- "set search_path from current" pins the district schema, so the log lands beside its table
-- whatever the deleting session's search_path is.
create function log_delete() returns trigger language plpgsql
set search_path from current as $$
begin
    insert into delete_log (table_name, record_id, person_id, deleted_row)
    values (tg_table_name,
            (to_jsonb(old) ->> tg_argv[0])::bigint,
            (to_jsonb(old) ->> 'person_id')::bigint,
            to_jsonb(old));
    return old;
end $$;

create table district (
    district_number       text primary key,
    name                  text not null,
    state_district_number text,
    modified_date         timestamptz not null default now()
);

create table school (
    school_id           integer primary key,
    number              text not null,
    name                text not null,
    state_school_number text,
    modified_date       timestamptz not null default now()
);

create table calendar (
    calendar_id               integer primary key,
    school_id                 integer not null references school,
    end_year                  smallint not null,
    name                      text not null,
    start_date                date not null,
    end_date                  date not null,
    student_day_minutes       integer not null default 360,
    whole_day_absence_minutes integer not null default 240,
    half_day_absence_minutes  integer not null default 120,
    exclude                   boolean not null default false,
    modified_date             timestamptz not null default now(),
    check (start_date <= end_date)
);

create table schedule_structure (
    structure_id  integer primary key,
    calendar_id   integer not null references calendar,
    name          text not null,
    is_primary    boolean not null default false,
    modified_date timestamptz not null default now()
);

create table term_schedule (
    term_schedule_id integer primary key,
    structure_id     integer not null references schedule_structure,
    name             text not null,
    modified_date    timestamptz not null default now()
);

create table term (
    term_id          integer primary key,
    term_schedule_id integer not null references term_schedule,
    name             text not null,
    seq              smallint not null,
    start_date       date not null,
    end_date         date not null,
    modified_date    timestamptz not null default now(),
    check (start_date <= end_date)
);

create table period_schedule (
    period_schedule_id integer primary key,
    structure_id       integer not null references schedule_structure,
    name               text not null,
    modified_date      timestamptz not null default now()
);

create table period (
    period_id          integer primary key,
    period_schedule_id integer not null references period_schedule,
    name               text not null,
    seq                smallint not null,
    period_minutes     integer not null check (period_minutes >= 0),
    non_instructional  boolean not null default false,
    modified_date      timestamptz not null default now()
);
-- Scheduled periods are matched by the day's bell schedule and seq.
create index period_schedule_seq on period (period_schedule_id, seq);

create table day (
    day_id             integer primary key,
    calendar_id        integer not null references calendar,
    structure_id       integer not null references schedule_structure,
    period_schedule_id integer references period_schedule,
    date               date not null,
    instruction        boolean not null default true,
    attendance         boolean not null default true,
    comments           text,
    modified_date      timestamptz not null default now(),
    unique (calendar_id, structure_id, date)
);
create index day_calendar_date on day (calendar_id, date);

create table school_month (
    month_id      integer primary key,
    calendar_id   integer not null references calendar,
    name          text not null,
    seq           smallint not null,
    start_date    date not null,
    end_date      date not null,
    modified_date timestamptz not null default now(),
    check (start_date <= end_date)
);

create table structure_grade_level (
    grade_level_id            integer primary key,
    calendar_id               integer not null references calendar,
    structure_id              integer not null references schedule_structure,
    name                      text not null,
    state_grade               text,
    standard_day_minutes      integer,
    whole_day_absence_minutes integer,
    half_day_absence_minutes  integer,
    modified_date             timestamptz not null default now()
);

create table identity (
    identity_id    integer primary key,
    person_id      integer not null,
    last_name      text not null,
    first_name     text not null,
    gender         char(1),
    birth_date     date,
    effective_date date,
    modified_date  timestamptz not null default now()
);

create table person (
    person_id           integer primary key,
    state_id            text,
    current_identity_id integer references identity deferrable initially deferred,
    modified_date       timestamptz not null default now()
);

alter table identity
    add foreign key (person_id) references person deferrable initially deferred;

create table enrollment (
    enrollment_id  integer primary key,
    person_id      integer not null references person,
    calendar_id    integer not null references calendar,
    structure_id   integer not null references schedule_structure,
    grade_level_id integer not null references structure_grade_level,
    service_type   char(1) not null default 'P' check (service_type in ('P', 'S', 'N')),
    start_date     date not null,
    end_date       date,
    no_show        boolean not null default false,
    state_exclude  boolean not null default false,
    modified_date  timestamptz not null default now()
);
create index enrollment_person on enrollment (person_id, calendar_id);

create table attendance_excuse (
    excuse_id     integer primary key,
    calendar_id   integer not null references calendar,
    code          text not null,
    description   text not null,
    status        char(1) not null check (status in ('A', 'T', 'E', 'P')),
    excuse        char(1) check (excuse in ('E', 'U', 'X')),
    state_code    text,
    modified_date timestamptz not null default now(),
    unique (calendar_id, code)
);

create table attendance (
    attendance_id   bigint primary key,
    person_id       integer not null references person,
    calendar_id     integer not null references calendar,
    period_id       integer not null references period,
    date            date not null,
    status          char(1) check (status in ('A', 'T', 'E', 'P')),
    excuse          char(1) check (excuse in ('E', 'U', 'X')),
    excuse_id       integer references attendance_excuse,
    present_minutes integer check (present_minutes >= 0),
    comments        text,
    modified_date   timestamptz not null default now(),
    unique (person_id, period_id, date)
);
create index attendance_calendar_date on attendance (calendar_id, date);
create index attendance_modified on attendance (modified_date);

create table course (
    course_id     integer primary key,
    calendar_id   integer not null references calendar,
    number        text not null,
    name          text not null,
    state_code    text,
    modified_date timestamptz not null default now()
);
create index course_calendar on course (calendar_id);

create table section (
    section_id        integer primary key,
    course_id         integer not null references course,
    number            text not null,
    teacher_person_id integer references person,
    modified_date     timestamptz not null default now()
);
create index section_course on section (course_id);

create table section_placement (
    placement_id  integer primary key,
    section_id    integer not null references section,
    period_id     integer not null references period,
    term_id       integer not null references term,
    modified_date timestamptz not null default now()
);
create index section_placement_section on section_placement (section_id);

create table roster (
    roster_id     bigint primary key,
    person_id     integer not null references person,
    section_id    integer not null references section,
    start_date    date,
    end_date      date,
    modified_date timestamptz not null default now()
);
create index roster_person on roster (person_id);
create index roster_section on roster (section_id);

create table behavior_resolution_type (
    resolution_type_id integer primary key,
    code               text not null,
    name               text not null,
    state_code         text,
    modified_date      timestamptz not null default now()
);

create table behavior_event (
    event_id      integer primary key,
    calendar_id   integer not null references calendar,
    event_date    date not null,
    code          text not null,
    name          text not null,
    state_code    text,
    modified_date timestamptz not null default now()
);

create table behavior_role (
    role_id       integer primary key,
    event_id      integer not null references behavior_event,
    person_id     integer not null references person,
    role          text not null check (role in ('Offender', 'Victim', 'Participant', 'Witness')),
    modified_date timestamptz not null default now()
);

create table behavior_resolution (
    resolution_id      integer primary key,
    role_id            integer not null references behavior_role,
    resolution_type_id integer not null references behavior_resolution_type,
    start_date         date not null,
    end_date           date,
    modified_date      timestamptz not null default now()
);

-- AtRisk, AdultEd and ALPSS: person-level program records (person, calendar, program or reason
-- code, state code, start and end dates). The public record gives no more than that.
create table at_risk (
    at_risk_id    integer primary key,
    person_id     integer not null references person,
    calendar_id   integer not null references calendar,
    reason_code   text not null,
    state_code    text,
    start_date    date not null,
    end_date      date,
    modified_date timestamptz not null default now()
);

create table adult_ed (
    adult_ed_id   integer primary key,
    person_id     integer not null references person,
    calendar_id   integer not null references calendar,
    program_code  text not null,
    state_code    text,
    start_date    date not null,
    end_date      date,
    modified_date timestamptz not null default now()
);

create table alpss (
    alpss_id      integer primary key,
    person_id     integer not null references person,
    calendar_id   integer not null references calendar,
    program_code  text not null,
    state_code    text,
    start_date    date not null,
    end_date      date,
    modified_date timestamptz not null default now()
);

-- modified_date on every insert and update, for every source table.
do $$
declare t text;
begin
    foreach t in array array[
        'district', 'school', 'calendar', 'schedule_structure', 'term_schedule', 'term',
        'period_schedule', 'period', 'day', 'school_month', 'structure_grade_level', 'person',
        'identity', 'enrollment', 'attendance_excuse', 'attendance', 'course', 'section',
        'section_placement', 'roster', 'behavior_resolution_type', 'behavior_event',
        'behavior_role', 'behavior_resolution', 'at_risk', 'adult_ed', 'alpss']
    loop
        execute format(
            'create trigger %I before insert or update on %I for each row execute function set_modified_date()',
            t || '_modified_date', t);
    end loop;
end $$;

create trigger attendance_delete_log after delete on attendance
    for each row execute function log_delete('attendance_id');
create trigger roster_delete_log after delete on roster
    for each row execute function log_delete('roster_id');
create trigger enrollment_delete_log after delete on enrollment
    for each row execute function log_delete('enrollment_id');

-- The incremental attendance aggregation must also see what modified_date cannot show:
-- - deletes of the other rows it reads (rare; they make it recompute the whole district);
-- - an update that moves a row to another student, date, section or calendar (another key of
--   the aggregation): the row's old version is logged as if deleted, since the aggregates it fed
--   must be recomputed too. Other updates show in modified_date.
do $$
declare
    logged record;
begin
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
        ) as t (table_name, id_column, moving_columns)
    loop
        if logged.table_name not in ('attendance', 'roster', 'enrollment') then
            execute format(
                'create trigger %I after delete on %I for each row execute function log_delete(%L)',
                logged.table_name || '_delete_log', logged.table_name, logged.id_column);
        end if;
        if cardinality(logged.moving_columns) > 0 then
            execute format(
                'create trigger %I after update of %s on %I for each row when (%s)'
                ' execute function log_delete(%L)',
                logged.table_name || '_move_log',
                (select string_agg(format('%I', c), ', ') from unnest(logged.moving_columns) as c),
                logged.table_name,
                (select string_agg(format('old.%1$I is distinct from new.%1$I', c), ' or ')
                 from unnest(logged.moving_columns) as c),
                logged.id_column);
        end if;
    end loop;
end $$;
