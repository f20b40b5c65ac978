{% macro union_district_sources(table_name, columns) %}
{#-
    One staged relation from the same-named table of every district in the run's scope (see
    resync_district_sources), with `district_id` (the registry code) in front.

    `columns` is the staging contract: [(name, type), ...]. Columns are selected by name and cast
    to the given type, so a replicated or foreign schema only has to match the names; and with no
    district in scope the result is still correctly typed (and empty).
-#}
{%- set districts = resync_district_sources() -%}
{%- for district in districts %}
select
    {{ dbt.string_literal(district.code) }}::text as district_id,
    {%- for name, type in columns %}
    cast({{ adapter.quote(name) }} as {{ type }}) as {{ adapter.quote(name) }}{{ "," if not loop.last }}
    {%- endfor %}
from {{ adapter.quote(district.schema_name) }}.{{ adapter.quote(table_name) }}
{% if not loop.last %}union all{% endif %}
{%- else %}
select
    null::text as district_id,
    {%- for name, type in columns %}
    null::{{ type }} as {{ adapter.quote(name) }}{{ "," if not loop.last }}
    {%- endfor %}
where false
{%- endfor %}
{% endmacro %}
