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


{% macro resync_district_sources() %}
    {#-
        [{code, schema_name}] of the districts this run covers, sorted by code: the registered
        districts, narrowed by the `districts` var. Read from the registry at execution time, so a
        district registered after parsing is included without a re-parse.
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
        {%- set rows = [] -%}
    {%- else -%}
        {%- set rows = run_query("select code, schema_name from resync.district order by code").rows -%}
    {%- endif -%}
    {%- set registered = {} -%}
    {%- for row in rows -%}{%- do registered.update({row[0]: row[1]}) -%}{%- endfor -%}
    {%- set chosen = [] -%}
    {%- for code in (requested or (registered.keys() | sort)) -%}
        {%- if code not in registered -%}
            {{ exceptions.raise_compiler_error(
                "District " ~ code ~ " is not registered; `resync district list` shows those that are"
                ~ " (pass codes as JSON strings: YAML reads 01 as 1).") }}
        {%- endif -%}
        {%- do chosen.append({'code': code, 'schema_name': registered[code]}) -%}
    {%- endfor -%}
    {{ return(chosen) }}
{% endmacro %}


{% macro resync_districts() %}
    {#- The district codes this run covers (sorted). -#}
    {{ return(resync_district_sources() | map(attribute='code') | list) }}
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
        (YYYY-MM-DD), else yesterday. Today's attendance is still being taken and a day to come
        is no membership day yet, so neither may count as a day present. -#}
    {%- set raw = var('attendance_through', none) -%}
    {%- if raw is none or raw == '' -%}{{ return('(current_date - 1)') }}{%- endif -%}
    {%- set text = raw | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', text) -%}
        {{ exceptions.raise_compiler_error("attendance_through must be a date such as 2024-04-12; got " ~ raw ~ ".") }}
    {%- endif -%}
    {{ return("date '" ~ text ~ "'") }}
{% endmacro %}
