{#-
    District-scoped replacement: the incremental strategy every state model uses.

    A run replaces exactly the scope it was asked for, whatever rows the new data happens to hold:
    the districts in scope (see resync_district_sources) and, for year-scoped objects, the school
    year. A district whose source is now empty therefore ends with no rows. dbt runs the strategy's
    SQL inside the model's transaction, after the pre-hook below took the locks, so the old rows go
    and the new ones come in one commit, and a concurrent run of the same model and district waits.
    A full replace rebuilds the scope's partition and swaps it in (macros/state_partitions.sql); the
    incremental aggregation's keyed replace, and a table from before partitioning, delete and insert.
-#}

{% macro resync_object_scope() %}
    {#- 'district' or 'district_year', from the model's meta (the lineage check holds it to the catalog). -#}
    {%- set scope = (config.get('meta') or {}).get('resync_scope') -%}
    {%- if scope not in ('district', 'district_year') -%}
        {{ exceptions.raise_compiler_error(
            "Model " ~ this.identifier ~ " needs meta.resync_scope 'district' or 'district_year' in its config.") }}
    {%- endif -%}
    {{ return(scope) }}
{% endmacro %}


{% macro resync_scope_predicate() %}
    {#- The rows of the target this run owns: `district_id in (...)` [and `end_year = <school year>`]. -#}
    {%- set quoted = resync_quoted_districts() -%}
    {%- if not quoted -%}{{ return('false') }}{%- endif -%}
    {%- set predicate = 'district_id in (' ~ quoted | join(', ') ~ ')' -%}
    {%- if resync_object_scope() == 'district_year' -%}
        {%- set predicate = predicate ~ ' and end_year = ' ~ resync_school_year() -%}
    {%- endif -%}
    {{ return(predicate) }}
{% endmacro %}


{% macro get_incremental_district_replace_sql(arg_dict) %}
    {%- set keyed = (config.get('meta') or {}).get('resync_keyed_replace') -%}
    {%- set partitioned = resync_is_partitioned(arg_dict['target_relation']) -%}
    {%- if keyed and att_day_incremental_mode() -%}
        {%- if partitioned %}
{{ resync_ensure_scope_partitions(arg_dict['target_relation']) }}
        {%- endif %}
{{ resync_keyed_replace_sql(arg_dict, keyed) }}
    {%- elif partitioned -%}
        {#- The scope's partitions rebuilt and swapped in (macros/state_partitions.sql). -#}
{{ resync_build_next_sql(arg_dict) }}
    {%- else -%}
        {#- A table built before state tables were partitioned: delete and insert. -#}
{{ resync_delete_insert_sql(arg_dict, keyed is not none) }}
    {%- endif -%}
{% endmacro %}


{% macro resync_delete_insert_sql(arg_dict, count) %}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
{% call resync_delete(count=count) -%}
delete from {{ target }} as old
where {{ resync_scope_predicate() }}
{%- endcall %}
    {%- if resync_district_statements() %}
        {#- The temporary relation is a view here (macros/resync_district_statements.sql). -#}
{{ resync_insert_district_rows(target, arg_dict['temp_relation'], columns) }}
    {%- else %}

insert into {{ target }} ({{ columns }})
select {{ columns }}
from {{ arg_dict['temp_relation'] }}
    {%- endif %}
{% endmacro %}


{% macro resync_keyed_replace_sql(arg_dict, keyed) %}
    {#-
        The incremental attendance aggregation's replace: only some keys of the scope. The new
        rows hold, besides the recomputed rows, one tombstone (keyed.tombstone: column = value)
        per affected key, whose null key_or_any columns match any value. Every target row a
        tombstone covers is deleted, then the recomputed rows are inserted: a key that no longer
        qualifies is gone. Tombstones are few, so the delete is index lookups: the nested-loop ban
        of the state models' pre-hook (meant for whole-district rebuilds) is lifted for it.
    -#}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set new_rows = arg_dict['temp_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- set marker = keyed.tombstone.column ~ ' = ' ~ keyed.tombstone.value -%}
    {%- set codes = resync_quoted_districts() -%}
set local enable_nestloop = on;
analyze {{ new_rows }};

{#- Per district, two deletes: the tombstones of one value (a date) find their rows by the key's
    index down to that value; tested in the same statement as those of any value (null: all of
    their key's rows), every tombstone read all of its key's rows (a student's year, some 170
    rows, to delete one). #}
{%- set delete_covered -%}
    delete from {{ target }} as old
    using {{ new_rows }} as tombstone
    where tombstone.{{ marker }}
      and old.end_year = {{ resync_school_year() }}
      {%- for column in keyed.key %}
      and old.{{ column }} = tombstone.{{ column }}
      {%- endfor %}
{%- endset %}
{{ resync_rows_deleted_table() }}
do $resync_delete$
declare
    deleted bigint;
    deleted_all_dates bigint;
begin
    {%- for code in codes %}
{{ delete_covered }}
      {%- for column in keyed.key_or_any %}
      and tombstone.{{ column }} is not null and old.{{ column }} = tombstone.{{ column }}
      {%- endfor %}
      and old.district_id = {{ code }};
    get diagnostics deleted = row_count;
{{ delete_covered }}
      and ({% for column in keyed.key_or_any %}tombstone.{{ column }} is null{{ ' or ' if not loop.last }}{% endfor %})
      {%- for column in keyed.key_or_any %}
      and (tombstone.{{ column }} is null or old.{{ column }} = tombstone.{{ column }})
      {%- endfor %}
      and old.district_id = {{ code }};
    get diagnostics deleted_all_dates = row_count;
    insert into resync_rows_deleted (district_id, row_count) values ({{ code }}, deleted + deleted_all_dates);
    {%- endfor %}
end $resync_delete$;

{#- District by district, so that each district's rows written are counted. #}
{{ resync_insert_district_rows(target, new_rows, columns, where='not ' ~ marker) }}
{% endmacro %}


{% macro resync_delete(count) %}
    {#-
        caller(): a DELETE of target rows aliased `old`, ending in its WHERE conditions, without a
        semicolon. With `count`, it runs once per district in scope inside a DO block, and the
        rows each deleted (0 included) go into resync_rows_deleted for the model's post-hook to
        record: the attendance aggregation reports rows deleted beside rows written (dbt's own row
        count is the last statement's, the insert). GET DIAGNOSTICS counts without keeping the
        deleted rows (a RETURNING in a CTE would hold every one of them: 2 s more for 1.7 million).
    -#}
    {%- if count %}
{{ resync_rows_deleted_table() }}
do $resync_delete$
declare
    deleted bigint;
begin
        {%- for code in resync_quoted_districts() %}
{{ caller() }}
  and old.district_id = {{ code }};
    get diagnostics deleted = row_count;
    insert into resync_rows_deleted (district_id, row_count) values ({{ code }}, deleted);
        {%- endfor %}
end $resync_delete$;
    {%- else %}
{{ caller() }};
    {%- endif %}
{% endmacro %}


{% macro resync_rows_deleted_table() %}
    {#- The run's rows deleted per district (see resync_delete), for this transaction only. -#}
create temporary table if not exists resync_rows_deleted (district_id text, row_count bigint) on commit drop;
{%- endmacro %}


{% macro resync_lock_scope() %}
    {#-
        Pre-hook of every state model, inside its transaction: one transaction-scoped advisory lock
        per (model, district) in scope, taken in code order so that overlapping runs queue instead
        of deadlocking, and released by the commit. Two runs of one model for one district thus
        serialize: the second reads the sources only after the first has committed.
    -#}
    {%- for code in resync_districts() %}
select pg_advisory_xact_lock(hashtext({{ dbt.string_literal(this.identifier) }}), hashtext({{ dbt.string_literal(code) }}));
    {%- endfor %}
{% endmacro %}
