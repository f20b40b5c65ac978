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


{% macro resync_attendance_measures(instructional_days=true) %}
    {#- The measures every attendance report shows, over attendance_days joined to `in_session`
        (the instructional days in session of the row's calendar, and month) and grouped by the
        report's grain. Each membership day adds days present / instructional days to ADA and
        1 / instructional days to ADM, so ADA and ADM add up over any rows, whatever calendars
        they span; instructional_days is shown where the grain has one calendar. -#}
    count(*) as membership_days,
    sum(days_absent)::numeric(12, 4) as days_absent,
    (count(*) - sum(days_absent))::numeric(12, 4) as days_present,
    sum(truant_day) as truant_days,
    count(distinct person_id) as students,
    {% if instructional_days %}max(in_session) as instructional_days,{% endif %}
    round(sum((1 - days_absent) / in_session), 4) as ada,
    round(sum(1.0 / in_session), 4) as adm,
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


{% macro resync_chronic_absence_rules() %}
    {#- The chronic absence rules the reports show side by side: the federal rule first (absent on
        chronic_absence_threshold of membership days, counted from chronic_min_membership_days),
        then each of var chronic_absence_rules: {name, threshold (a share of membership days) or
        absent_days (a number of days), min_membership_days}. orchestrator/state_config.py reads
        the same vars and says in a sentence what is wrong with them. -#}
    {%- set rules = [{'name': 'federal', 'threshold': var('chronic_absence_threshold', 0.10),
                      'absent_days': none, 'min_membership_days': var('chronic_min_membership_days', 10)}] -%}
    {%- set further = var('chronic_absence_rules', []) or [] -%}
    {%- if further is string or further is mapping -%}
        {{ exceptions.raise_compiler_error("chronic_absence_rules must be a list of rules.") }}
    {%- endif -%}
    {%- for rule in further -%}
        {%- set name = rule.get('name') if rule is mapping else none -%}
        {%- set threshold = rule.get('threshold') if rule is mapping else none -%}
        {%- set absent_days = rule.get('absent_days') if rule is mapping else none -%}
        {%- set min_days = rule.get('min_membership_days') if rule is mapping else none -%}
        {%- if not (name is string and modules.re.match('^[a-z][a-z0-9_]{0,30}$', name))
              or name in rules | map(attribute='name') | list
              or (threshold is none) == (absent_days is none)
              or not ((threshold is number and 0 < threshold <= 1) or (absent_days is number and absent_days > 0))
              or not (min_days is number and min_days >= 0 and min_days == min_days | int) -%}
            {{ exceptions.raise_compiler_error(
                "chronic_absence_rules item " ~ loop.index ~ " (" ~ rule ~ ") needs a new lower-case name,"
                ~ " a threshold between 0 and 1 or a positive absent_days, and min_membership_days.") }}
        {%- endif -%}
        {%- do rules.append({'name': name, 'threshold': threshold, 'absent_days': absent_days,
                             'min_membership_days': min_days | int}) -%}
    {%- endfor -%}
    {{ return(rules) }}
{% endmacro %}


{% macro resync_counted(rule, membership_days) -%}
    ({{ membership_days }} >= {{ rule.min_membership_days }})
{%- endmacro %}


{% macro resync_chronically_absent(rule, membership_days, days_absent) -%}
    {#- Counted, and absent on the rule's share of membership days (or number of days) or more. -#}
    ({{ resync_counted(rule, membership_days) }} and {{ days_absent }} >=
        {%- if rule.threshold is not none %} {{ rule.threshold }} * {{ membership_days }}
        {%- else %} {{ rule.absent_days }}{% endif %})
{%- endmacro %}


{% macro resync_summary_level(columns) %}
    {#- The level of a grouping-sets row: the last of `columns` it is grouped by, or 'district'. -#}
    case
        {%- for column in columns | reverse %}
        when grouping({{ column }}) = 0 then '{{ column | replace("_id", "") }}'
        {%- endfor %}
        else 'district'
    end
{%- endmacro %}
