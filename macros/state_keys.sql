{% macro resync_enforce_key() %}
    {#-
        Post-hook of every state model, inside its transaction: the table's key as a constraint,
        so PostgreSQL itself refuses a NULL or duplicate key and the run fails and rolls back (the
        replaced rows come back) instead of copying the bad rows to the state.

        The key is the one the model's _state__models.yml declares: the columns of its
        unique_combination test. Key columns with a not_null test become a primary key; a key
        with a nullable column (Behavior's resolution_id) becomes UNIQUE NULLS NOT DISTINCT
        (PostgreSQL 15 or later), its other columns NOT NULL. Added once, when the table has no
        key yet: on the first build, after a --full-refresh (a new table), or on a table built
        before this hook existed (which fails now if its rows break the key). The constraint's
        index is the one the replace and the key lookups use. A partitioned table's constraint
        also holds its partition columns (end_year for a year-scoped one: PostgreSQL requires it;
        see macros/state_partitions.sql).
    -#}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set key = [] -%}
    {%- set not_null = [] -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'test' and node.attached_node == model.unique_id -%}
        {%- set test = node.test_metadata -%}
        {%- if test and test.name == 'unique_combination' -%}
            {%- do key.extend(test.kwargs['columns']) -%}
        {%- elif test and test.name == 'not_null' -%}
            {%- do not_null.append(test.kwargs['column_name']) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not key -%}
        {{ exceptions.raise_compiler_error(
            "Model " ~ this.identifier ~ " declares no key: give it a unique_combination test in models/state/_state__models.yml.") }}
    {%- endif -%}
    {%- set required = key | select('in', not_null) | list -%}
    {%- set constraint = 'primary key' if required | length == key | length else 'unique nulls not distinct' -%}
    {%- set table = adapter.quote(this.schema) ~ '.' ~ adapter.quote(this.identifier) -%}
    {%- set partitioned_key = key + (resync_partition_columns() | reject('in', key) | list) -%}
do $resync_key$
declare
    problem text;
    partition_name text;
begin
    if not exists (select from pg_constraint where conrelid = {{ dbt.string_literal(table) }}::regclass and contype in ('p', 'u')) then
        if exists (select from pg_partitioned_table where partrelid = {{ dbt.string_literal(table) }}::regclass) then
            begin
                alter table {{ table }}
                {%- for column in (required + resync_partition_columns()) | unique if constraint != 'primary key' %}
                    alter column {{ column }} set not null,
                {%- endfor %}
                    add {{ constraint }} ({{ partitioned_key | join(', ') }});
            exception when not_null_violation or unique_violation then
                -- PostgreSQL names the partition it was checking: say the table, then where.
                get stacked diagnostics problem = message_text, partition_name = table_name;
                raise exception using errcode = sqlstate, message = format('%s (in its partition %s)',
                    replace(problem, format('"%s"', partition_name), {{ dbt.string_literal('"' ~ this.identifier ~ '"') }}),
                    partition_name);
            end;
        else
            alter table {{ table }}
            {%- for column in required if constraint != 'primary key' %}
                alter column {{ column }} set not null,
            {%- endfor %}
                add {{ constraint }} ({{ key | join(', ') }});
        end if;
    end if;
end $resync_key$;
{%- endmacro %}
