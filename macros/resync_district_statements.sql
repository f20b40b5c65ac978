{#-
    One statement per district for a model whose meta says `resync_district_statements: true`
    (att_day_aggregation): its SQL computes each district in its own branch (a UNION ALL of
    per-district chains), and a run writes each district with its own INSERT ... SELECT from a
    temporary view of that SQL, filtered on the district. PostgreSQL prunes the other branches
    from each statement, so a statement plans, holds in memory and computes one district: the
    memory of a run is that of its largest district, not of all of them together (one statement
    over four districts of 12,500 students peaked at 1.9 GB, each alone at 230 MB). The view also
    spares the rows a second write: dbt would otherwise build them in a temporary table first.

    The views live as long as dbt's connection, like dbt's own temporary tables (dropping one
    last would make the adapter report that statement's row count instead of the inserted rows).
    The incremental mode keeps dbt's temporary table: its rows are few, and the keyed replace
    reads them three times.
-#}

{% macro resync_district_statements() %}
    {#- True when this run writes the model's rows one district per statement. -#}
    {{ return((config.get('meta') or {}).get('resync_district_statements', false)
              and not att_day_incremental_mode()) }}
{% endmacro %}


{% macro resync_district_rows_view(relation) %}
    {#- The temporary view a first build or full refresh reads its districts from. -#}
    {{ return(api.Relation.create(identifier=relation.identifier ~ '__district_rows', type='view')
              .include(database=false, schema=false)) }}
{% endmacro %}


{% macro resync_insert_district_rows(target, rows, columns, where=none) %}
    {#- Per district in scope, insert its rows from `rows` (a view or table) into target (`columns`: a
        quoted list, or none for all; `where`: a further condition on the rows). Codes are
        sorted, like the locks. A replace deletes the scope first (macros/district_replace.sql,
        which counts the rows deleted per district). The rows each statement inserted go into
        resync_rows_written: a run of several districts is one dbt statement, whose row count
        would be the last district's only. -#}
{{ resync_rows_written_table() }}
do $resync_insert$
declare
    inserted bigint;
begin
    {%- for code in resync_districts() %}
    insert into {{ target }}{{ ' (' ~ columns ~ ')' if columns }}
    select {{ columns or '*' }}
    from {{ rows }}
    where district_id = {{ dbt.string_literal(code) }}{{ ' and ' ~ where if where }};
    get diagnostics inserted = row_count;
    insert into resync_rows_written (district_id, row_count) values ({{ dbt.string_literal(code) }}, inserted);
    {%- endfor %}
end $resync_insert$;
{% endmacro %}


{% macro resync_rows_written_table() %}
    {#- The run's rows inserted per district (see resync_insert_district_rows), for this transaction only. -#}
create temporary table if not exists resync_rows_written (district_id text, row_count bigint) on commit drop;
{%- endmacro %}


{% macro postgres__get_create_table_as_sql(temporary, relation, sql) %}
    {#- dbt's table builds, except for state tables, which are partitioned (macros/state_partitions.sql),
        and for a model written one district per statement, whose temporary relation is a view. -#}
    {%- if temporary and resync_district_statements() -%}
create temporary view {{ relation }} as (
{{ sql }}
);
    {%- elif not temporary and resync_is_state_table() -%}
{{ resync_create_partitioned_sql(relation, sql) }}
    {%- else -%}
        {{ return(create_table_as(temporary, relation, sql)) }}
    {%- endif -%}
{% endmacro %}
