{#-
    The scope of a run, read from the vars in one place so that every model, the replace strategy
    and the lock agree on it:
    - `districts`: JSON list of district codes (strings); empty or absent means every registered one.
    - `school_year`: end year of the school year year-scoped objects replace; null means the current one.
-#}

{% macro resync_requested_districts() %}
    {#- The `districts` var as a sorted list of code strings ([] = not narrowed). -#}
    {%- set raw = var('districts', []) -%}
    {%- if raw is none or raw == '' -%}
        {%- set raw = [] -%}
    {%- elif raw is string -%}
        {#- `--vars 'districts: "01,02"'` or a JSON list passed as a string -#}
        {%- set raw = fromjson(raw) if raw.strip().startswith('[') else raw.split(',') -%}
    {%- elif raw is number -%}
        {%- set raw = [raw] -%}
    {%- endif -%}
    {%- set codes = [] -%}
    {%- for code in raw -%}
        {%- set code = (code | string).strip() -%}
        {%- if code and code not in codes -%}{%- do codes.append(code) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(codes | sort) }}
{% endmacro %}


{% macro resync_districts() %}
    {#-
        The district codes this run covers, sorted: the registered districts, narrowed by the
        `districts` var. Read from the registry at execution time (for the replace strategy and
        the locks; staging filters by the var alone, see resync_district_filter), so a district
        registered after parsing is included without a re-parse.
    -#}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set requested = resync_requested_districts() -%}
    {%- if requested and should_full_refresh() -%}
        {{ exceptions.raise_compiler_error(
            "A full refresh rebuilds every registered district, so it cannot be narrowed to "
            ~ requested | join(', ') ~ ": drop the districts var or drop --full-refresh.") }}
    {%- endif -%}
    {#- No registry table yet (a database nobody ran `resync` on) means no district. -#}
    {%- set found = run_query("select to_regclass('resync.district') is not null") -%}
    {%- if not found.columns[0].values()[0] -%}
        {%- set registered = [] -%}
    {%- else -%}
        {%- set registered = run_query("select code from resync.district order by code").columns[0].values() | list -%}
    {%- endif -%}
    {%- for code in requested -%}
        {%- if code not in registered -%}
            {{ exceptions.raise_compiler_error(
                "District " ~ code ~ " is not registered; `resync district list` shows those that are"
                ~ " (pass codes as JSON strings: YAML reads 01 as 1).") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(requested or (registered | sort)) }}
{% endmacro %}


{% macro resync_district_filter(column='district_id') %}
    {#- Staging's filter: the districts of the `districts` var, or every row when it is empty (the
        landing holds registered districts only). A constant list, so PostgreSQL reads only those
        districts' partitions. -#}
    {%- set codes = resync_requested_districts() -%}
    {%- if not codes -%}{{ return('true') }}{%- endif -%}
    {%- set quoted = [] -%}
    {%- for code in codes -%}{%- do quoted.append(dbt.string_literal(code)) -%}{%- endfor -%}
    {{ return(column ~ ' in (' ~ quoted | join(', ') ~ ')') }}
{% endmacro %}


{% macro landing_last_pulled(table_name) %}
    {#- Source freshness of a landing table: when its stalest registered district was last pulled
        (1970 for a district never pulled), from the pull log. -#}
    select min(coalesce(last_pull, timestamptz '1970-01-01'))
    from resync.district
    left join lateral (
        select max(pulled_at) as last_pull from resync.pull_log
        where pull_log.district_id = district.code and pull_log.table_name = {{ dbt.string_literal(table_name) }}
    ) as pulled on true
{% endmacro %}


{% macro resync_quoted_districts() %}
    {#- resync_districts() as SQL string literals, for `district_id in (...)` and the like. -#}
    {%- set quoted = [] -%}
    {%- for code in resync_districts() -%}{%- do quoted.append(dbt.string_literal(code)) -%}{%- endfor -%}
    {{ return(quoted) }}
{% endmacro %}


{% macro resync_school_year() %}
    {#- The end year of the school year a run replaces: the var, else the current school year,
        which ends in the next calendar year from July 1 on. -#}
    {%- set raw = var('school_year', none) -%}
    {%- if raw is none or raw == '' -%}
        {%- set today = modules.datetime.date.today() -%}
        {{ return(today.year + 1 if today.month >= 7 else today.year) }}
    {%- endif -%}
    {%- set text = raw | string | trim -%}
    {%- if not (text.isdigit() and 2000 <= text | int <= 2100) -%}
        {{ exceptions.raise_compiler_error(
            "school_year must be the end year of a school year, such as 2025; got " ~ raw ~ ".") }}
    {%- endif -%}
    {{ return(text | int) }}
{% endmacro %}


{% macro resync_attendance_through() %}
    {#- The last date whose attendance counts (SQL date expression): the `attendance_through` var
        (YYYY-MM-DD, from the school year's July 1 to yesterday), else yesterday. Today's
        attendance is still being taken and a day to come is no membership day yet, so neither
        may count as a day present; a date before the year would delete all of it. -#}
    {%- set raw = var('attendance_through', none) -%}
    {%- if raw is none or raw == '' -%}{{ return('(current_date - 1)') }}{%- endif -%}
    {%- set text = raw | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', text) -%}
        {{ exceptions.raise_compiler_error("attendance_through must be a date such as 2024-04-12; got " ~ raw ~ ".") }}
    {%- endif -%}
    {%- set day = modules.datetime.date.fromisoformat(text) -%}
    {%- set first = modules.datetime.date(resync_school_year() - 1, 7, 1) -%}
    {%- if day >= modules.datetime.date.today() or day < first -%}
        {{ exceptions.raise_compiler_error(
            "attendance_through must lie between the school year's first day, " ~ first
            ~ ", and yesterday; got " ~ text ~ ".") }}
    {%- endif -%}
    {{ return("date '" ~ text ~ "'") }}
{% endmacro %}
