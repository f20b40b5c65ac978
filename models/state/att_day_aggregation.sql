{#-
    AttDayAggregation: one row per student, calendar and attendance day (domain.md section 4).

    Parents are read from staging, not from the state's parent tables. The ref() edges below
    (Enrollment, Day, CourseSection, AttendanceExcuse) order the runs and keep the lineage equal
    to the catalog, but the rows come from the districts' sources, for two reasons:
    - a resync of AttDayAggregation alone (without Check dependencies) and the nightly
      aggregation must reflect the districts' data as it is now, not as it was at the last
      resync of the parents: reading the state's copies would silently aggregate stale rosters
      and enrollments;
    - the incremental mode finds what changed from the sources' modified_date and delete logs;
      the aggregates must be computed from those same rows, or a change picked up from a source
      could be aggregated from a parent table that does not hold it yet, and never revisited.
    Parents missing at the state after a run without dependencies are still reported by the
    resync's missing-parent check.

    Two modes, one body (var `aggregation_mode`):
    - refresh (default): every row of the districts in scope and the school year, replaced by
      the district_replace strategy;
    - incremental: only the keys that the sources' changes since each district's watermark can
      have touched (CTE affected_key); the model returns their recomputed rows plus one
      tombstone (membership 0) per affected key, and the strategy deletes the tombstones' rows
      before inserting the recomputed ones, so a key that no longer qualifies disappears.
      macros/att_day_watermark.sql explains the watermarks.

    Decisions where section 4 is silent:
    - Attendance counts through yesterday (var attendance_through overrides): today's attendance
      is still being taken, and a day to come must not count as a day present.
    - A calendar with several schedule structures has one day row per structure: the student's
      day is the row of the chosen enrollment's structure.
    - A roster row with no start_date is open at the start, as a null end_date is at the end.
    - A day whose scheduled periods all last 0 minutes has absence_fraction_exact 0.
-#}
{#-
    Planner settings (set locally by resync_planner_settings), measured on one district of 50,000
    students (8.6 million rows):
    - join_collapse_limit and from_collapse_limit 1: the joins run in the order they are written.
      The student-day stream's row estimates are rough but its shape is known; left free, the
      planner joined the days to the segments by calendar alone (14 million rows hashed).
    - enable_mergejoin off: with estimates of one row it merge-joined the stream to the
      attendance totals, sorting 8.6 million rows and filtering 110 million pairs (166 s).
    - work_mem 128MB: a district's largest sort (its attendance rows, 244 MB in memory) and hash
      tables (its attendance totals, 50 MB). The statement took 54 s at 16MB, 37 to 61 s at
      32MB and 24 to 48 s at 64MB, and 30 to 44 s from 128MB up, at a peak of 220, 316, 432, 542
      and 890 MB (256MB) of the database process (load average 4 to 5 on 2 cores, so the times
      are noisy): 128MB is where the time stops falling, at 60% of 256MB's memory. One statement
      computes one district (macros/resync_district_statements.sql), so this is the memory of
      the largest district, whatever the number of districts.
-#}
{{ config(
    meta={
        'resync_scope': 'district_year',
        'resync_keyed_replace': {
            'key': ['district_id', 'person_id', 'calendar_id'],
            'key_or_any': ['date'],
            'tombstone': {'column': 'membership', 'value': 0},
        },
        'resync_district_statements': true,
        'resync_planner_settings': {
            'join_collapse_limit': 1,
            'from_collapse_limit': 1,
            'enable_mergejoin': 'off',
            'work_mem': '128MB',
        },
    },
    pre_hook="{{ att_day_capture_watermark() }}",
    post_hook="{{ att_day_advance_watermark() }}",
) }}
{%- set incremental = att_day_incremental_mode() %}
{%- set watermarks = att_day_read_watermarks() if incremental else {} %}
{%- set through_dates = att_day_read_watermark_column('through_date') if incremental else {} %}
-- depends_on: {{ ref('enrollment') }}
-- depends_on: {{ ref('day') }}
-- depends_on: {{ ref('course_section') }}
-- depends_on: {{ ref('attendance_excuse') }}

-- The staged sources, each named once here. dbt inlines a staging model as a CTE, and PostgreSQL
-- materializes a CTE that is read twice, hiding each district's constant and the sources'
-- statistics and indexes from the planner (its estimates collapse to one row). NOT MATERIALIZED
-- keeps every read inline.
with calendar as not materialized (select * from {{ ref('stg_calendar') }}),
grade_level as not materialized (select * from {{ ref('stg_structure_grade_level') }}),
enrollment as not materialized (select * from {{ ref('stg_enrollment') }}),
day as not materialized (select * from {{ ref('stg_day') }}),
period as not materialized (select * from {{ ref('stg_period') }}),
term as not materialized (select * from {{ ref('stg_term') }}),
course as not materialized (select * from {{ ref('stg_course') }}),
section as not materialized (select * from {{ ref('stg_section') }}),
placement as not materialized (select * from {{ ref('stg_section_placement') }}),
roster as not materialized (select * from {{ ref('stg_roster') }}),
attendance as not materialized (select * from {{ ref('stg_attendance') }}),
attendance_code as not materialized (select * from {{ ref('stg_attendance_excuse') }}),
-- Only the incremental mode reads it (PostgreSQL skips a CTE nobody reads).
delete_log as not materialized (select * from {{ ref('stg_delete_log') }})

{#-
    The rows of each district in scope are computed by their own chain of CTEs (named d<n>_...),
    over that district's sources alone: each chain is planned with the district's own statistics,
    its district_id is a constant rather than a join key, and the cost of a run grows with the
    districts' rows, not with the square of them. The replace strategy runs one statement per
    district over these chains (macros/district_replace.sql). Each chain is the WITH of its own
    UNION ALL branch, under a select whose district_id is a constant: a statement for one
    district prunes the other branches before planning them. As CTEs of the model's one WITH,
    every chain's materialized CTEs were planned by every statement: 0.58 s a statement for 17
    districts (0.013 s for one), paid 17 times a run.

    A chain avoids what made this model slow at scale: expanding every student-day into its
    scheduled periods (about five each) and grouping them back. A student's roster is cut into
    date segments over which the set of period seqs they are scheduled into (the segment's
    signature) is constant, and a day's scheduled minutes are looked up per signature and bell
    schedule; only the attendance rows, which most student-days have none of, are matched to
    periods. The student-days themselves come from generate_series over arrays of days, not from
    a join, and every join they pass through has a small side, which the planner hashes.
-#}
{#-
    The comments inside the chain below are Jinja comments: the compiled SQL holds one chain per
    district, and dbt parses all of it (sqlparse) to put the staging CTEs in front. Seventeen
    copies of them made that parse, paid by every run, half as slow again (4.7 s against 7.4 s).
-#}
{%- set codes = resync_districts() or [none] %}
{%- for code in codes %}
{%- set d = 'd' ~ loop.index ~ '_' %}
{%- set district = dbt.string_literal(code) if code is not none else 'null::text' %}
{{ 'union all' if not loop.first }}
-- District {{ code }}.
select {{ district }}::text as district_id, {{ d }}rows.*
from (
with
{%- for source in ['calendar', 'grade_level', 'enrollment', 'day', 'period', 'term', 'course', 'section',
                   'placement', 'roster', 'attendance', 'attendance_code']
                  + (['delete_log'] if incremental else []) %}
{{ d }}{{ source }} as not materialized (select * from {{ source }} where district_id = {{ district }}),
{%- endfor %}
{%- if incremental %}
{%- set watermark = watermarks.get(code) %}

{{ d }}section_calendar as not materialized (
    select section.section_id, course.calendar_id, section.modified_date as section_modified_date
    from {{ d }}section as section
    join {{ d }}course as course using (course_id)
),

{{ d }}affected_scope as (
    {# What the sources' changes since the district's watermark can have touched, as
       (calendar, student, date); a null student means every student, a null date every date, a
       null calendar the whole district. The watermark is a constant of the district's own chain,
       so the landing's (district_id, modified_date) indexes find the changes: as one condition
       over every district (a CASE on district_id) it read every attendance row of the state, and
       this scope took 12 to 19 s of a 42 s nightly run (17 districts, 485,000 students). #}

    {# Attendance inserted or updated, whatever its date (backdated corrections count). #}
    select attendance.calendar_id, attendance.person_id, attendance.date
    from {{ d }}attendance as attendance
    where {{ att_day_changed_since('attendance', 'modified_date', watermark) }}
    {# Every row that uses an excuse code whose values changed, by the excuse's index (a join
       would read every attendance row of the district). #}
    union all
    select attendance.calendar_id, attendance.person_id, attendance.date
    from {{ d }}attendance as attendance
    where attendance.excuse_id = any(array(
        select attendance_code.excuse_id from {{ d }}attendance_code as attendance_code
        where {{ att_day_changed_since('attendance_code', 'modified_date', watermark) }}))
    {# Rows deleted, or moved to another student, date, section or calendar (their old version).
       A roster row's calendar is its section's; any other table (a period, term, section...
       deleted or moved), or a roster row whose section is gone, stands for the whole district. #}
    union all
    select case
               when deleted.table_name in ('attendance', 'enrollment', 'day')
               then (deleted.deleted_row ->> 'calendar_id')::integer
               when deleted.table_name = 'roster' then section_calendar.calendar_id
           end,
           case
               when deleted.table_name in ('attendance', 'enrollment')
                    or deleted.table_name = 'roster' and section_calendar.calendar_id is not null
               then (deleted.deleted_row ->> 'person_id')::integer
           end,
           case
               when deleted.table_name in ('attendance', 'day')
               then (deleted.deleted_row ->> 'date')::date
           end
    from {{ d }}delete_log as deleted
    left join {{ d }}section_calendar as section_calendar
      on section_calendar.section_id = (deleted.deleted_row ->> 'section_id')::integer
     and deleted.table_name = 'roster'
    where {{ att_day_changed_since('deleted', 'deleted_at', watermark) }}
    {# Enrollments and rosters: the student's days in that calendar. #}
    union all
    select enrollment.calendar_id, enrollment.person_id, null::date
    from {{ d }}enrollment as enrollment
    where {{ att_day_changed_since('enrollment', 'modified_date', watermark) }}
    union all
    select section_calendar.calendar_id, roster.person_id, null::date
    from {{ d }}roster as roster
    join {{ d }}section_calendar as section_calendar using (section_id)
    where {{ att_day_changed_since('roster', 'modified_date', watermark) }}
    {# A grade level's thresholds: its students. #}
    union all
    select enrollment.calendar_id, enrollment.person_id, null::date
    from {{ d }}grade_level as grade_level
    join {{ d }}enrollment as enrollment using (grade_level_id)
    where {{ att_day_changed_since('grade_level', 'modified_date', watermark) }}
    {# A day: that date of its calendar, when it changed or when it entered (or left) the
       counted range since the last run (attendance counts through yesterday, so each new day adds
       every enrolled student's row with no source change). A period: the days of its bell schedule. #}
    union all
    select day.calendar_id, null::integer, day.date
    from {{ d }}day as day
    where {{ att_day_changed_since('day', 'modified_date', watermark) }}
       or {{ att_day_newly_counted('day', through_dates.get(code)) }}
    union all
    select day.calendar_id, null::integer, day.date
    from {{ d }}period as period
    join {{ d }}day as day using (period_schedule_id)
    where {{ att_day_changed_since('period', 'modified_date', watermark) }}
    {# A calendar, course, section, placement or term: the calendar. #}
    union all
    select calendar.calendar_id, null::integer, null::date
    from {{ d }}calendar as calendar
    where {{ att_day_changed_since('calendar', 'modified_date', watermark) }}
    union all
    select course.calendar_id, null::integer, null::date
    from {{ d }}course as course
    where {{ att_day_changed_since('course', 'modified_date', watermark) }}
    union all
    select section_calendar.calendar_id, null::integer, null::date
    from {{ d }}section_calendar as section_calendar
    where {{ att_day_changed_since('section_calendar', 'section_modified_date', watermark) }}
    union all
    select section_calendar.calendar_id, null::integer, null::date
    from {{ d }}placement as placement
    join {{ d }}section_calendar as section_calendar using (section_id)
    left join {{ d }}term as term using (term_id)
    where {{ att_day_changed_since('placement', 'modified_date', watermark) }}
       or {{ att_day_changed_since('term', 'modified_date', watermark) }}
),

{{ d }}affected_student_day as (
    {# The scope as (calendar, student, date or null for all): a scope without a student stands
       for every student with an enrollment there (any kind: one that no longer qualifies still
       has rows to remove). A student whose enrollment changed is in the scope already. #}
    select scope.calendar_id, scope.person_id, scope.date
    from {{ d }}affected_scope as scope
    where scope.person_id is not null and scope.calendar_id is not null
    union all
    select enrollment.calendar_id, enrollment.person_id, scope.date
    from {{ d }}affected_scope as scope
    join {{ d }}enrollment as enrollment using (calendar_id)
    where scope.person_id is null
      and (scope.date is null or scope.date between enrollment.start_date and coalesce(enrollment.end_date, scope.date))
    {# A scope without a calendar: the whole district. #}
    union all
    select enrollment.calendar_id, enrollment.person_id, scope.date
    from {{ d }}affected_scope as scope
    join {{ d }}enrollment as enrollment
      on scope.date is null or scope.date between enrollment.start_date and coalesce(enrollment.end_date, scope.date)
    where scope.person_id is null and scope.calendar_id is null
),

{{ d }}affected_key as (
    {# Each key once: a student-calendar with a null date covers all its dates. #}
    select distinct student_day.calendar_id, student_day.person_id, student_day.date
    from {{ d }}affected_student_day as student_day
    where student_day.date is null
       or not exists (
           select 1 from {{ d }}affected_student_day as whole
           where whole.date is null
             and whole.calendar_id = student_day.calendar_id
             and whole.person_id = student_day.person_id
       )
),

{{ d }}affected_person as (
    {# The affected keys' students, each once: the roster and attendance reads below find their
       rows by the person indexes. #}
    select distinct affected_key.person_id from {{ d }}affected_key as affected_key
),
{%- endif %}

{{ d }}qualifying_enrollment as (
    {# Enrollments in a reported calendar of the school year. Any service type counts; no-shows
       and enrollments excluded from state reporting do not. The calendar's and the grade level's
       columns travel along from here, so that no intermediate result is read twice. #}
    select enrollment.enrollment_id, enrollment.person_id,
           enrollment.calendar_id, enrollment.structure_id, enrollment.grade_level_id,
           enrollment.service_type = 'P' as is_primary,
           enrollment.start_date, enrollment.end_date,
           calendar.end_year,
           {# Whole/half-day thresholds: the grade level's overrides when set, else the calendar's. #}
           coalesce(grade_level.whole_day_absence_minutes, calendar.whole_day_absence_minutes) as whole_day_minutes,
           coalesce(grade_level.half_day_absence_minutes, calendar.half_day_absence_minutes) as half_day_minutes
    from {{ d }}enrollment as enrollment
    join {{ d }}calendar as calendar using (calendar_id)
    left join {{ d }}grade_level as grade_level using (grade_level_id)
    where calendar.end_year = {{ resync_school_year() }}
      and not calendar.exclude
      and not enrollment.no_show
      and not enrollment.state_exclude
      {%- if incremental %}
      and exists (
          select 1 from {{ d }}affected_key as affected_key
          where affected_key.calendar_id = enrollment.calendar_id
            and affected_key.person_id = enrollment.person_id
      )
      {%- endif %}
),

{{ d }}counted_range as (
    {# The dates on which each qualifying enrollment counts and gives the grade level: its own,
       less those of the student's qualifying enrollments in the calendar that rank before it
       (primary first, then the lowest enrollment_id). #}
    select enrollment.person_id, enrollment.calendar_id, enrollment.structure_id,
           enrollment.end_year, enrollment.grade_level_id, enrollment.whole_day_minutes,
           enrollment.half_day_minutes, counted.dates
    from (
        select *,
               range_agg(daterange(start_date, end_date, '[]')) over (
                   partition by person_id, calendar_id
                   order by is_primary desc, enrollment_id
                   rows between unbounded preceding and 1 preceding
               ) as outranked_dates
        from {{ d }}qualifying_enrollment
    ) as enrollment
    cross join lateral unnest(
        datemultirange(daterange(enrollment.start_date, enrollment.end_date, '[]'))
        - coalesce(enrollment.outranked_dates, '{}'::datemultirange)
    ) as counted (dates)
),

{{ d }}roster_slot as (
    {# The period sequence numbers a student's sections meet in, with the dates each holds: the
       roster row is active (a null date is open) and the placement's term covers the date. #}
    select roster.person_id, course.calendar_id, placed_period.seq,
           greatest(roster.start_date, term.start_date) as first_date,
           least(roster.end_date, term.end_date) as last_date
    from {{ d }}roster as roster
    join {{ d }}section as section using (section_id)
    join {{ d }}course as course using (course_id)
    join {{ d }}placement as placement using (section_id)
    join {{ d }}term as term using (term_id)
    join {{ d }}period as placed_period using (period_id)
    {%- if incremental %}
    {# The affected students' rows alone, by the roster's person index (a semi-join here, after
       the joins, read and joined every roster row of the district first). #}
    where roster.person_id = any(array(select affected_person.person_id from {{ d }}affected_person as affected_person))
    {%- endif %}
),

{{ d }}segment_bound as (
    {# Consecutive dates on which a student's set of active slots in a calendar can change: no
       slot starts or ends inside [segment_start, segment_end). A slot with an inverted or
       unknown date range is never active (`date between first_date and last_date` never holds). #}
    select person_id, calendar_id, bound as segment_start,
           lead(bound) over (partition by person_id, calendar_id order by bound) as segment_end
    from (
        select person_id, calendar_id, first_date as bound
        from {{ d }}roster_slot
        where first_date <= last_date
        union
        select person_id, calendar_id, last_date + 1
        from {{ d }}roster_slot
        where first_date <= last_date
    ) as slot_bound
),

{{ d }}schedule_segment as materialized (
    {# Each segment with the sorted seqs of the slots active throughout it (its signature); a
       segment in which no slot is active has no row. Small, and read twice. #}
    select segment.person_id, segment.calendar_id, segment.segment_start, segment.segment_end,
           array_agg(distinct slot.seq order by slot.seq) as seqs
    from {{ d }}segment_bound as segment
    join {{ d }}roster_slot as slot
      on slot.person_id = segment.person_id
     and slot.calendar_id = segment.calendar_id
     and segment.segment_start between slot.first_date and slot.last_date
    where segment.segment_end is not null
    group by segment.person_id, segment.calendar_id, segment.segment_start, segment.segment_end
),

{{ d }}enrollment_piece as materialized (
    {# The dates on which both the counting enrollment and the student's signature are constant. #}
    select counted.person_id, counted.calendar_id, counted.structure_id, counted.end_year,
           counted.grade_level_id, counted.whole_day_minutes, counted.half_day_minutes,
           segment.seqs, counted.dates * daterange(segment.segment_start, segment.segment_end) as dates
    from {{ d }}counted_range as counted
    join {{ d }}schedule_segment as segment
      on segment.person_id = counted.person_id
     and segment.calendar_id = counted.calendar_id
     and daterange(segment.segment_start, segment.segment_end) && counted.dates
),

{{ d }}signature_day as (
    {# Per schedule structure and signature, the structure's attendance days (instruction and
       attendance taken, counted so far) as arrays in date order: the date, the bell schedule,
       and the minutes of that schedule's instructional periods whose seq is in the signature,
       each period once (null: none). A piece finds its days in them by binary search. #}
    select signature.calendar_id, signature.structure_id, signature.seqs,
           array_agg(day.date order by day.date) as dates,
           array_agg(day.period_schedule_id order by day.date) as period_schedule_ids,
           array_agg(minutes.scheduled_minutes order by day.date) as scheduled_minutes
    from (select distinct calendar_id, structure_id, seqs from {{ d }}enrollment_piece) as signature
    join {{ d }}day as day using (calendar_id, structure_id)
    left join (
        select signature.seqs, period.period_schedule_id,
               sum(period.period_minutes)::integer as scheduled_minutes
        from (select distinct seqs from {{ d }}enrollment_piece) as signature
        join {{ d }}period as period on period.seq = any(signature.seqs)
        where not period.non_instructional
        group by signature.seqs, period.period_schedule_id
    ) as minutes
      on minutes.seqs = signature.seqs
     and minutes.period_schedule_id = day.period_schedule_id
    where day.instruction
      and day.attendance
      and day.date <= {{ resync_attendance_through() }}
    group by signature.calendar_id, signature.structure_id, signature.seqs
),

{{ d }}enrollment_day as (
    {# Each attendance day of a piece's structure within the piece's dates on which the student is
       scheduled into at least one instructional period, with its bell schedule and minutes. #}
    select piece.person_id, piece.calendar_id, day_of.date, piece.end_year,
           piece.grade_level_id, piece.whole_day_minutes, piece.half_day_minutes,
           day_of.period_schedule_id, day_of.scheduled_minutes
    from {{ d }}enrollment_piece as piece
    join {{ d }}signature_day as days using (calendar_id, structure_id, seqs)
    {# The indexes of the days in [lower, upper): width_bucket counts the dates <= its operand.
       The day's values are taken out of the arrays here, behind OFFSET 0 (which keeps PostgreSQL
       from merging this subquery into the outer query): otherwise every student-day row carries
       its signature's three arrays of a whole year of days into the join with the attendance
       totals, and once those totals outgrow work_mem (a district of 350,000 students) that join
       writes each row with its arrays to disk: more than 40 GB of temporary files. #}
    cross join lateral (
        select days.dates[day_index] as date, days.period_schedule_ids[day_index] as period_schedule_id,
               days.scheduled_minutes[day_index] as scheduled_minutes
        from generate_series(
            width_bucket(lower(piece.dates) - 1, days.dates) + 1,
            width_bucket(upper(piece.dates) - 1, days.dates)
        ) as day_index
        where days.scheduled_minutes[day_index] is not null
        offset 0
    ) as day_of
    {%- if incremental %}
    where exists (
        select 1 from {{ d }}affected_key as affected_key
        where affected_key.calendar_id = piece.calendar_id
          and affected_key.person_id = piece.person_id
          and (affected_key.date is null or affected_key.date = day_of.date)
    )
    {%- endif %}
),

{{ d }}period_attendance as (
    {# The effective status and excuse of each attendance row (the code's values win over the
       row's) on an instructional period. No attendance row means present. Rows that change no
       total (tardy, early release, present) are a tenth and add zeros: filtering them out here
       would make the planner think this side small and hash it instead of the segments. #}
    select attendance.person_id, attendance.date, attendance.excuse_id, period.period_schedule_id,
           period.seq, period.period_minutes,
           coalesce(code.status, attendance.status) is not distinct from 'A'
               and coalesce(code.excuse, attendance.excuse) is distinct from 'X' as counts_absent,
           coalesce(code.excuse, attendance.excuse) as excuse,
           greatest(period.period_minutes - coalesce(attendance.present_minutes, 0), 0) as missed_minutes
    from {{ d }}attendance as attendance
    join {{ d }}period as period using (period_id)
    left join {{ d }}attendance_code as code using (excuse_id)
    where not period.non_instructional
    {%- if incremental %}
      {# The affected students' rows, by the attendance's person index: a semi-join alone read
         every attendance row of the district (22 million in the largest) to keep a few thousand. #}
      and attendance.person_id = any(array(select affected_person.person_id from {{ d }}affected_person as affected_person))
      and exists (
          select 1 from {{ d }}affected_key as affected_key
          where affected_key.person_id = attendance.person_id
            and (affected_key.date is null or affected_key.date = attendance.date)
      )
    {%- endif %}
),

{{ d }}attendance_total as (
    {# Per student, calendar, date and bell schedule, the rows on periods the student is scheduled
       into that date in the calendar (the seq is in the segment's signature; that it is the
       day's own bell schedule is checked below). Totals per code first, so that the most
       frequent code falls out of the same pass. Integers: a day's minutes fit, and numeric
       arithmetic is slow. #}
    select person_id, calendar_id, date, period_schedule_id,
           sum(absent_minutes)::integer as absent_minutes,
           sum(unexcused_absent_minutes)::integer as unexcused_absent_minutes,
           sum(excused_absent_minutes)::integer as excused_absent_minutes,
           sum(exempt_minutes)::integer as exempt_minutes,
           {# The most frequent code among the periods counted in absent_minutes; ties: lowest id. #}
           (array_agg(excuse_id order by absent_periods desc, excuse_id)
               filter (where absent_periods > 0 and excuse_id is not null))[1] as excuse_id
    from (
        select segment.calendar_id, period_attendance.person_id, period_attendance.date,
               period_attendance.period_schedule_id, period_attendance.excuse_id,
               {# Only absent periods have absent minutes, so these split them by excuse. #}
               coalesce(sum(period_attendance.missed_minutes) filter (where counts_absent), 0) as absent_minutes,
               coalesce(sum(period_attendance.missed_minutes)
                   filter (where counts_absent and excuse is distinct from 'E'), 0) as unexcused_absent_minutes,
               coalesce(sum(period_attendance.missed_minutes)
                   filter (where counts_absent and excuse = 'E'), 0) as excused_absent_minutes,
               coalesce(sum(period_attendance.period_minutes) filter (where excuse = 'X'), 0) as exempt_minutes,
               count(*) filter (where counts_absent) as absent_periods
        from {{ d }}period_attendance as period_attendance
        join {{ d }}schedule_segment as segment
          on segment.person_id = period_attendance.person_id
         and period_attendance.date >= segment.segment_start
         and period_attendance.date < segment.segment_end
         and period_attendance.seq = any(segment.seqs)
        {# The student first: the sort compares the first key fast, and it mostly decides. #}
        group by period_attendance.person_id, period_attendance.date, segment.calendar_id,
                 period_attendance.period_schedule_id, period_attendance.excuse_id
    ) as code_total
    group by person_id, date, calendar_id, period_schedule_id
),

{{ d }}day_total as (
    {# Attendance counts only on the day's own bell schedule (a row on another schedule's period,
       such as the normal one on an early-release day, is not that day's period). #}
    select day.person_id, day.calendar_id, day.date, day.end_year, day.grade_level_id,
           day.whole_day_minutes, day.half_day_minutes, day.scheduled_minutes,
           coalesce(attendance.absent_minutes, 0) as absent_minutes,
           coalesce(attendance.unexcused_absent_minutes, 0) as unexcused_absent_minutes,
           coalesce(attendance.excused_absent_minutes, 0) as excused_absent_minutes,
           coalesce(attendance.exempt_minutes, 0) as exempt_minutes,
           attendance.excuse_id
    from {{ d }}enrollment_day as day
    left join {{ d }}attendance_total as attendance
      on attendance.person_id = day.person_id
     and attendance.calendar_id = day.calendar_id
     and attendance.date = day.date
     and attendance.period_schedule_id = day.period_schedule_id
)
select person_id,
       calendar_id,
       date,
       end_year,
       grade_level_id,
       scheduled_minutes,
       absent_minutes,
       unexcused_absent_minutes,
       excused_absent_minutes,
       exempt_minutes,
       scheduled_minutes - absent_minutes as present_minutes,
       excuse_id,
       {# Most days have nothing absent: their fraction is a constant, not a numeric division. #}
       case
           when absent_minutes = 0 then 0::numeric(5, 4)
           else coalesce(round(absent_minutes::numeric / nullif(scheduled_minutes, 0), 4), 0)::numeric(5, 4)
       end as absence_fraction_exact,
       case
           when absent_minutes >= whole_day_minutes then 1.0::numeric(2, 1)
           when absent_minutes >= half_day_minutes then 0.5::numeric(2, 1)
           else 0::numeric(2, 1)
       end as absence_fraction_approx,
       1 as membership
from {{ d }}day_total
{%- if incremental %}
union all
{# One tombstone per affected key (a null date: all the student's dates in the calendar): the
   strategy deletes the rows it covers before it inserts the rows above. #}
select person_id, calendar_id, date, null::smallint, null::integer, null::integer,
       null::integer, null::integer, null::integer, null::integer, null::integer, null::integer,
       null::numeric(5, 4), null::numeric(2, 1), 0 as membership
from {{ d }}affected_key
{%- endif %}
) as {{ d }}rows
{%- endfor %}
