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
{{ config(
    meta={
        'resync_scope': 'district_year',
        'resync_keyed_replace': {
            'key': ['district_id', 'person_id', 'calendar_id'],
            'key_or_any': ['date'],
            'tombstone': {'column': 'membership', 'value': 0},
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
delete_log as not materialized (select * from {{ ref('stg_delete_log') }}),
{%- if incremental %}

section_calendar as not materialized (
    select section.district_id, section.section_id, course.calendar_id,
           section.modified_date as section_modified_date
    from section
    join course using (district_id, course_id)
),

changed_code as not materialized (
    select district_id, excuse_id from attendance_code
    where {{ att_day_changed_since('attendance_code', 'modified_date', watermarks) }}
),

affected_scope as (
    -- What the sources' changes since the district's watermark can have touched, as
    -- (district, calendar, student, date); a null student means every student, a null date every
    -- date, a null calendar the whole district.

    -- Attendance inserted or updated, whatever its date (backdated corrections count).
    select district_id, calendar_id, person_id, date
    from attendance
    where {{ att_day_changed_since('attendance', 'modified_date', watermarks) }}
    -- Every row that uses an excuse code whose values changed.
    union all
    select attendance.district_id, attendance.calendar_id, attendance.person_id, attendance.date
    from attendance
    join changed_code using (district_id, excuse_id)
    -- Rows deleted, or moved to another student, date, section or calendar (their old version).
    -- A roster row's calendar is its section's; any other table (a period, term, section...
    -- deleted or moved), or a roster row whose section is gone, stands for the whole district.
    union all
    select deleted.district_id,
           case
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
    from delete_log as deleted
    left join section_calendar
      on section_calendar.district_id = deleted.district_id
     and section_calendar.section_id = (deleted.deleted_row ->> 'section_id')::integer
     and deleted.table_name = 'roster'
    where {{ att_day_changed_since('deleted', 'deleted_at', watermarks) }}
    -- Enrollments and rosters: the student's days in that calendar.
    union all
    select district_id, calendar_id, person_id, null::date
    from enrollment
    where {{ att_day_changed_since('enrollment', 'modified_date', watermarks) }}
    union all
    select roster.district_id, section_calendar.calendar_id, roster.person_id, null::date
    from roster
    join section_calendar using (district_id, section_id)
    where {{ att_day_changed_since('roster', 'modified_date', watermarks) }}
    -- A grade level's thresholds: its students.
    union all
    select enrollment.district_id, enrollment.calendar_id, enrollment.person_id, null::date
    from grade_level
    join enrollment using (district_id, grade_level_id)
    where {{ att_day_changed_since('grade_level', 'modified_date', watermarks) }}
    -- A day: that date of its calendar, when it changed or when it entered (or left) the
    -- counted range since the last run (attendance counts through yesterday, so each new day adds
    -- every enrolled student's row with no source change). A period: the days of its bell schedule.
    union all
    select district_id, calendar_id, null::integer, date
    from day
    where {{ att_day_changed_since('day', 'modified_date', watermarks) }}
       or {{ att_day_newly_counted('day', through_dates) }}
    union all
    select day.district_id, day.calendar_id, null::integer, day.date
    from period
    join day using (district_id, period_schedule_id)
    where {{ att_day_changed_since('period', 'modified_date', watermarks) }}
    -- A calendar, course, section, placement or term: the calendar.
    union all
    select district_id, calendar_id, null::integer, null::date
    from calendar
    where {{ att_day_changed_since('calendar', 'modified_date', watermarks) }}
    union all
    select district_id, calendar_id, null::integer, null::date
    from course
    where {{ att_day_changed_since('course', 'modified_date', watermarks) }}
    union all
    select district_id, calendar_id, null::integer, null::date
    from section_calendar
    where {{ att_day_changed_since('section_calendar', 'section_modified_date', watermarks) }}
    union all
    select section_calendar.district_id, section_calendar.calendar_id, null::integer, null::date
    from placement
    join section_calendar using (district_id, section_id)
    left join term using (district_id, term_id)
    where {{ att_day_changed_since('placement', 'modified_date', watermarks) }}
       or {{ att_day_changed_since('term', 'modified_date', watermarks) }}
),

affected_student_day as (
    -- The scope as (district, calendar, student, date or null for all): a scope without a student
    -- stands for every student with an enrollment there (any kind: one that no longer qualifies
    -- still has rows to remove). A student whose enrollment changed is in the scope already.
    select district_id, calendar_id, person_id, date
    from affected_scope
    where person_id is not null and calendar_id is not null
    union all
    select enrollment.district_id, enrollment.calendar_id, enrollment.person_id, scope.date
    from affected_scope as scope
    join enrollment
      on enrollment.district_id = scope.district_id
     and (scope.calendar_id is null or enrollment.calendar_id = scope.calendar_id)
     and (scope.date is null or scope.date between enrollment.start_date and coalesce(enrollment.end_date, scope.date))
    where scope.person_id is null
),

affected_key as (
    -- Each key once: a student-calendar with a null date covers all its dates.
    select distinct district_id, calendar_id, person_id, date
    from affected_student_day as student_day
    where date is null
       or not exists (
           select 1 from affected_student_day as whole
           where whole.date is null
             and whole.district_id = student_day.district_id
             and whole.calendar_id = student_day.calendar_id
             and whole.person_id = student_day.person_id
       )
),
{%- endif %}

qualifying_enrollment as (
    -- Enrollments in a reported calendar of the school year. Any service type counts; no-shows
    -- and enrollments excluded from state reporting do not. The calendar's and the grade level's
    -- columns travel along from here, so that no intermediate result is read twice.
    select enrollment.district_id, enrollment.enrollment_id, enrollment.person_id,
           enrollment.calendar_id, enrollment.structure_id, enrollment.grade_level_id,
           enrollment.service_type = 'P' as is_primary,
           enrollment.start_date, enrollment.end_date,
           calendar.end_year,
           -- Whole/half-day thresholds: the grade level's overrides when set, else the calendar's.
           coalesce(grade_level.whole_day_absence_minutes, calendar.whole_day_absence_minutes) as whole_day_minutes,
           coalesce(grade_level.half_day_absence_minutes, calendar.half_day_absence_minutes) as half_day_minutes
    from enrollment
    join calendar using (district_id, calendar_id)
    left join grade_level using (district_id, grade_level_id)
    where calendar.end_year = {{ resync_school_year() }}
      and not calendar.exclude
      and not enrollment.no_show
      and not enrollment.state_exclude
      {%- if incremental %}
      and exists (
          select 1 from affected_key
          where affected_key.district_id = enrollment.district_id
            and affected_key.calendar_id = enrollment.calendar_id
            and affected_key.person_id = enrollment.person_id
      )
      {%- endif %}
),

ranked_enrollment as (
    -- The dates of the student's qualifying enrollments in the calendar that rank before this one
    -- (primary first, then the lowest enrollment_id): on those this one does not count.
    select *,
           range_agg(daterange(start_date, end_date, '[]')) over (
               partition by district_id, person_id, calendar_id
               order by is_primary desc, enrollment_id
               rows between unbounded preceding and 1 preceding
           ) as outranked_dates
    from qualifying_enrollment
),

enrollment_day as (
    -- Each attendance day (instruction and attendance taken) of an enrollment's structure on
    -- which the enrollment counts and gives the grade level.
    select enrollment.district_id, enrollment.person_id, enrollment.calendar_id, day.date,
           enrollment.end_year, enrollment.grade_level_id, enrollment.whole_day_minutes,
           enrollment.half_day_minutes, day.period_schedule_id
    from ranked_enrollment as enrollment
    join day
      on day.district_id = enrollment.district_id
     and day.calendar_id = enrollment.calendar_id
     and day.structure_id = enrollment.structure_id
     and day.date between enrollment.start_date and coalesce(enrollment.end_date, day.date)
    where day.instruction
      and day.attendance
      and day.date <= {{ resync_attendance_through() }}
      and not coalesce(day.date <@ enrollment.outranked_dates, false)
      {%- if incremental %}
      and exists (
          select 1 from affected_key
          where affected_key.district_id = enrollment.district_id
            and affected_key.calendar_id = enrollment.calendar_id
            and affected_key.person_id = enrollment.person_id
            and (affected_key.date is null or affected_key.date = day.date)
      )
      {%- endif %}
),

roster_slot as (
    -- The period sequence numbers a student's sections meet in, with the dates each holds: the
    -- roster row is active (a null date is open) and the placement's term covers the date.
    select roster.district_id, roster.person_id, course.calendar_id, placed_period.seq,
           greatest(roster.start_date, term.start_date) as first_date,
           least(roster.end_date, term.end_date) as last_date
    from roster
    join section using (district_id, section_id)
    join course using (district_id, course_id)
    join placement using (district_id, section_id)
    join term using (district_id, term_id)
    join period as placed_period
      on placed_period.district_id = placement.district_id
     and placed_period.period_id = placement.period_id
    {%- if incremental %}
    where exists (
        select 1 from affected_key
        where affected_key.district_id = roster.district_id
          and affected_key.person_id = roster.person_id
    )
    {%- endif %}
),

scheduled_period as (
    -- The day's own instructional periods whose seq matches a roster slot: an alternate bell
    -- schedule counts its own minutes. One row per period, however many sections match it.
    select enrollment_day.*, period.period_id, period.period_minutes
    from enrollment_day
    join period
      on period.district_id = enrollment_day.district_id
     and period.period_schedule_id = enrollment_day.period_schedule_id
    where not period.non_instructional
      and exists (
          select 1
          from roster_slot as slot
          where slot.district_id = enrollment_day.district_id
            and slot.person_id = enrollment_day.person_id
            and slot.calendar_id = enrollment_day.calendar_id
            and slot.seq = period.seq
            and enrollment_day.date between slot.first_date and slot.last_date
      )
),

period_attendance as (
    -- The effective status and excuse of each scheduled period: the code's values win over the
    -- row's. No attendance row means present; attendance for unscheduled periods never joins.
    select scheduled_period.*,
           attendance.excuse_id,
           attendance.present_minutes,
           coalesce(code.status, attendance.status) as status,
           coalesce(code.excuse, attendance.excuse) as excuse
    from scheduled_period
    left join attendance
      on attendance.district_id = scheduled_period.district_id
     and attendance.person_id = scheduled_period.person_id
     and attendance.period_id = scheduled_period.period_id
     and attendance.date = scheduled_period.date
    left join attendance_code as code
      on code.district_id = attendance.district_id
     and code.excuse_id = attendance.excuse_id
),

period_minutes as (
    select *,
           -- Status A with no excuse is unexcused; exempt (X) absences count as attended.
           status is not distinct from 'A' and excuse is distinct from 'X' as counts_absent,
           case
               when status is not distinct from 'A' and excuse is distinct from 'X'
               then greatest(period_minutes - coalesce(present_minutes, 0), 0)
               else 0
           end as absent_minutes
    from period_attendance
),

day_code_total as (
    -- Totals per day and code first, so that the most frequent code falls out of the same pass.
    select district_id, person_id, calendar_id, date, end_year, grade_level_id,
           whole_day_minutes, half_day_minutes, excuse_id,
           sum(period_minutes) as scheduled_minutes,
           sum(absent_minutes) as absent_minutes,
           -- Only absent periods have absent minutes, so these split absent_minutes by excuse.
           sum(absent_minutes) filter (where excuse is distinct from 'E') as unexcused_absent_minutes,
           sum(absent_minutes) filter (where excuse = 'E') as excused_absent_minutes,
           sum(period_minutes) filter (where excuse = 'X') as exempt_minutes,
           count(*) filter (where counts_absent) as absent_periods
    from period_minutes
    group by district_id, person_id, calendar_id, date, end_year, grade_level_id,
             whole_day_minutes, half_day_minutes, excuse_id
),

day_total as (
    select district_id, person_id, calendar_id, date, end_year, grade_level_id,
           whole_day_minutes, half_day_minutes,
           sum(scheduled_minutes) as scheduled_minutes,
           sum(absent_minutes) as absent_minutes,
           coalesce(sum(unexcused_absent_minutes), 0) as unexcused_absent_minutes,
           coalesce(sum(excused_absent_minutes), 0) as excused_absent_minutes,
           coalesce(sum(exempt_minutes), 0) as exempt_minutes,
           -- The most frequent code among the periods counted in absent_minutes; ties: lowest id.
           (array_agg(excuse_id order by absent_periods desc, excuse_id)
               filter (where absent_periods > 0 and excuse_id is not null))[1] as excuse_id
    from day_code_total
    group by district_id, person_id, calendar_id, date, end_year, grade_level_id,
             whole_day_minutes, half_day_minutes
)

select district_id,
       person_id,
       calendar_id,
       date,
       end_year,
       grade_level_id,
       scheduled_minutes::integer as scheduled_minutes,
       absent_minutes::integer as absent_minutes,
       unexcused_absent_minutes::integer as unexcused_absent_minutes,
       excused_absent_minutes::integer as excused_absent_minutes,
       exempt_minutes::integer as exempt_minutes,
       (scheduled_minutes - absent_minutes)::integer as present_minutes,
       excuse_id,
       coalesce(round(absent_minutes::numeric / nullif(scheduled_minutes, 0), 4), 0)::numeric(5, 4)
           as absence_fraction_exact,
       case
           when absent_minutes >= whole_day_minutes then 1.0
           when absent_minutes >= half_day_minutes then 0.5
           else 0
       end::numeric(2, 1) as absence_fraction_approx,
       1 as membership
from day_total
{%- if incremental %}
union all
-- One tombstone per affected key (a null date: all the student's dates in the calendar): the
-- strategy deletes the rows it covers before it inserts the rows above.
select district_id, person_id, calendar_id, date, null::smallint, null::integer, null::integer,
       null::integer, null::integer, null::integer, null::integer, null::integer, null::integer,
       null::numeric(5, 4), null::numeric(2, 1), 0 as membership
from affected_key
{%- endif %}
