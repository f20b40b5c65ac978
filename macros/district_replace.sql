{#-
    District-scoped replacement: the incremental strategy every state model uses.

    A run replaces exactly the scope it was asked for, whatever rows the new data happens to hold:
    the districts in scope (see resync_district_sources) and, for year-scoped objects, the school
    year. A district whose source is now empty therefore ends with no rows. dbt runs the strategy's
    SQL inside the model's transaction, after the pre-hook below took the locks, so the delete and
    the insert commit together and a concurrent run of the same model and district waits.
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
    {%- set codes = resync_districts() -%}
    {%- if not codes -%}{{ return('false') }}{%- endif -%}
    {%- set quoted = [] -%}
    {%- for code in codes -%}{%- do quoted.append(dbt.string_literal(code)) -%}{%- endfor -%}
    {%- set predicate = 'district_id in (' ~ quoted | join(', ') ~ ')' -%}
    {%- if resync_object_scope() == 'district_year' -%}
        {%- set predicate = predicate ~ ' and end_year = ' ~ resync_school_year() -%}
    {%- endif -%}
    {{ return(predicate) }}
{% endmacro %}


{% macro get_incremental_district_replace_sql(arg_dict) %}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
delete from {{ target }}
where {{ resync_scope_predicate() }};

insert into {{ target }} ({{ columns }})
select {{ columns }}
from {{ arg_dict['temp_relation'] }}
{% endmacro %}


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
