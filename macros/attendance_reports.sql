{% macro resync_days_absent(relation) %}
    {#- A membership day's absence: the approximate (whole/half-day) fraction by default, the exact
        minute fraction when var absence_method is 'exact' (domain.md section 5). -#}
    {%- set method = var('absence_method', 'approximate') -%}
    {%- if method == 'exact' -%}
        {{ relation }}.absence_fraction_exact
    {%- elif method == 'approximate' -%}
        {{ relation }}.absence_fraction_approx
    {%- else -%}
        {{ exceptions.raise_compiler_error("absence_method must be 'approximate' or 'exact'; got " ~ method ~ ".") }}
    {%- endif -%}
{% endmacro %}


{% macro resync_attendance_measures() %}
    {#- The measures every attendance report shows, over attendance_days grouped by the report's
        grain, with `in_session` the instructional days in session at that grain. -#}
    count(*) as membership_days,
    sum(days_absent)::numeric(12, 4) as days_absent,
    (count(*) - sum(days_absent))::numeric(12, 4) as days_present,
    sum(truant_day) as truant_days,
    count(distinct person_id) as students,
    max(in_session) as instructional_days,
    round((count(*) - sum(days_absent)) / nullif(max(in_session), 0), 4) as ada,
    round(count(*)::numeric / nullif(max(in_session), 0), 4) as adm,
    round((count(*) - sum(days_absent)) / count(*), 4) as attendance_rate
{% endmacro %}


{% macro resync_days_in_session(group_by_month) %}
    {#- Instructional days in session per calendar (and school month): calendar days with
        instruction up to the last day the aggregation covers, so a year in progress is not
        divided by days still to come. -#}
    select
        day.district_id,
        day.calendar_id,
        {% if group_by_month %}month.month_id,{% endif %}
        count(distinct day.date) as in_session
    from {{ ref('day') }} as day
    join (
        select district_id, calendar_id, max(date) as last_date
        from {{ ref('att_day_aggregation') }}
        group by district_id, calendar_id
    ) as covered using (district_id, calendar_id)
    {% if group_by_month %}
    join {{ ref('school_month') }} as month
        on month.district_id = day.district_id
        and month.calendar_id = day.calendar_id
        and day.date between month.start_date and month.end_date
    {% endif %}
    where day.instruction and day.date <= covered.last_date
    group by day.district_id, day.calendar_id{% if group_by_month %}, month.month_id{% endif %}
{% endmacro %}
