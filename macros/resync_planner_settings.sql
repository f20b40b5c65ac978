{% macro resync_planner_settings() %}
    {#-
        Pre-hook of every state model, inside its transaction (so `set local` ends with it).

        The staging unions give PostgreSQL almost no statistics: district_id is a constant per
        union branch, and CTEs referenced twice are materialized without any. Row estimates
        collapse towards 1 through each join and the planner picks nested loops over large inputs.
        Measured on the demo districts (300 students each): att_day_aggregation for one district
        takes 20 s with nested loops and 2 s without; for three districts, minutes against 16 s.
        A state model rebuilds whole districts, which is hash-join work.

        A model may add settings of its own in meta.resync_planner_settings ({name: value}); the
        model says why it needs them.
    -#}
set local enable_nestloop = off;
{%- for name, value in ((config.get('meta') or {}).get('resync_planner_settings') or {}) | dictsort %}
set local {{ name }} = {{ dbt.string_literal(value | string) }};
{%- endfor %}
{% endmacro %}
