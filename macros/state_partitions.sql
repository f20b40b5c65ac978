{#-
    State tables are list-partitioned by district, and a year-scoped table's district partitions by
    school year: one leaf table per (district[, school year]), the scope a full resync replaces.

    A full replace builds the scope's new rows in a table of their own, beside the state table, and
    swaps it in: the new rows are written once, into an empty table, and indexed after; the old
    leaf is dropped whole instead of deleted row by row, so weekly syncs leave no bloat. Readers
    see the old rows until the commit, as with a delete and insert: the swap (a post-hook,
    resync_swap_partitions) takes the state table's ACCESS EXCLUSIVE lock only for the detach,
    drop and attach, after the rows, the index and the check constraint are built, and asks for it
    by short attempts so that readers never queue behind it for long. It is the first lock the run
    takes on the state table, so two runs of one model for different districts take turns there
    instead of deadlocking (runs for one district already queue on their scope lock).

    The incremental attendance aggregation's keyed replace (a few student-days) stays a delete and
    an insert, pruned to the scope's leaf. A state table built before partitioning (a plain table)
    keeps being replaced by delete and insert until a full refresh rebuilds it partitioned.

    PostgreSQL requires a partitioned table's key to contain its partition columns, so a year-scoped
    table's key constraint is the declared key plus end_year (macros/state_keys.sql). In every
    year-scoped object end_year is the school year of the row's calendar, which the key determines,
    so the constraint refuses the same rows as before, with one exception: a row the district moved
    to another school year is, until that other year is resynced too, in both years' scopes.
-#}

{% macro resync_is_state_table() %}
    {#- True for a state model (the district_replace strategy): its tables are partitioned. -#}
    {{ return(config.get('incremental_strategy') == 'district_replace') }}
{% endmacro %}


{% macro resync_partition_columns() %}
    {{ return(['district_id', 'end_year'] if resync_object_scope() == 'district_year' else ['district_id']) }}
{% endmacro %}


{% macro resync_is_partitioned(relation) %}
    {#- Whether the existing table `relation` is partitioned (a table from before is not). -#}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- set found = run_query("select exists (select from pg_partitioned_table where partrelid = to_regclass("
                              ~ dbt.string_literal(relation.render()) ~ "))") -%}
    {{ return(found.columns[0].values()[0]) }}
{% endmacro %}


{% macro resync_next_relation() %}
    {#- The table a full replace builds its rows in, beside the state table, until the swap:
        <table>__next__<first district in scope>, so that runs for other districts build side by
        side (runs whose scopes share a district queue on its scope lock before they get here). -#}
    {%- set codes = resync_districts() -%}
    {{ return(api.Relation.create(database=this.database, schema=this.schema,
                                  identifier=this.identifier ~ '__next__' ~ (codes[0] if codes else 'none'),
                                  type='table')) }}
{% endmacro %}


{% macro resync_partition_of(parent, value) %}
    {#- SQL: the partition of `parent` (a regclass expression) for `value` (a text expression: a
        district code or a school year), or null. PostgreSQL prints a list bound's values quoted. -#}
(select i.inhrelid::regclass from pg_inherits as i join pg_class as c on c.oid = i.inhrelid
 where i.inhparent = {{ parent }}
   and pg_get_expr(c.relpartbound, c.oid) in (format('FOR VALUES IN (%L)', {{ value }}), format('FOR VALUES IN (%s)', {{ value }})))
{%- endmacro %}


{% macro resync_free_name(variable, base) %}
    {#- PL/pgSQL: `variable` := `base` (a text expression), or base_1, base_2, ... if a relation of
        the state schema has that name (say, leaves named after a full refresh's intermediate table). -#}
    {{ variable }} := {{ base }};
    suffix := 0;
    while to_regclass(format('%I.%I', {{ dbt.string_literal(this.schema) }}, {{ variable }})) is not null loop
        suffix := suffix + 1;
        {{ variable }} := {{ base }} || '_' || suffix;
    end loop;
{%- endmacro %}


{% macro resync_district_partition(variable, parent, year_scoped) %}
    {#- PL/pgSQL: `variable` := the partition of `parent` (a regclass variable) for the district
        `code`, created under a free name when missing (itself partitioned by end_year when the
        object is year-scoped). Needs `leaf_name text` and `suffix int` declared. -#}
        {{ variable }} := {{ resync_partition_of(parent, 'code') }};
        if {{ variable }} is null then
            {{ resync_free_name('leaf_name', dbt.string_literal(this.identifier ~ '__') ~ ' || code') }}
            execute format('create table %I.%I partition of %s for values in (%L){{ " partition by list (end_year)" if year_scoped }}',
                           {{ dbt.string_literal(this.schema) }}, leaf_name, {{ parent }}, code);
            {{ variable }} := format('%I.%I', {{ dbt.string_literal(this.schema) }}, leaf_name)::regclass;
        end if;
{%- endmacro %}


{% macro resync_codes_array() %}
    {%- set quoted = resync_quoted_districts() -%}
    {{ return('array[' ~ quoted | join(', ') ~ ']::text[]' if quoted else 'array[]::text[]') }}
{% endmacro %}


{% macro resync_create_partitioned_sql(relation, sql) %}
    {#- A state table's first build or full refresh: `relation` partitioned, with the scope's
        partitions, filled from the model's SQL. Its key comes after, from the post-hook. -#}
    {%- set rows = resync_district_rows_view(relation) -%}
create or replace temporary view {{ rows }} as (
{{ sql }}
);
create table {{ relation }} (like {{ rows }}) partition by list (district_id);
{{ resync_ensure_scope_partitions(relation) }}
{{ resync_insert_scope_rows(relation, rows, none) }}
    {%- if (config.get('meta') or {}).get('resync_keyed_replace') is not none %}
-- Its leaves' statistics for the keyed replace that follows (see resync_swap_partitions).
analyze {{ relation }};
    {%- endif %}
{%- endmacro %}


{% macro resync_ensure_scope_partitions(parent) %}
    {#- The partitions of `parent` (a state table) for the districts and school year in scope,
        created where missing: a district's (partitioned by end_year if the object is
        year-scoped), and the school year's under it. -#}
    {%- set year_scoped = resync_object_scope() == 'district_year' -%}
do $resync_partitions$
declare
    parent regclass := {{ dbt.string_literal(parent.render()) }}::regclass;
    code text;
    district regclass;
    leaf_name text;
    suffix int;
begin
    foreach code in array {{ resync_codes_array() }} loop
{{ resync_district_partition('district', 'parent', year_scoped) }}
        {%- if year_scoped %}
        if {{ resync_partition_of('district', "'" ~ resync_school_year() ~ "'") }} is null then
            {{ resync_free_name('leaf_name', dbt.string_literal(this.identifier ~ '__') ~ " || code || '__" ~ resync_school_year() ~ "'") }}
            execute format('create table %I.%I partition of %s for values in ({{ resync_school_year() }})',
                           {{ dbt.string_literal(parent.schema) }}, leaf_name, district);
        end if;
        {%- endif %}
    end loop;
end $resync_partitions$;
{%- endmacro %}


{% macro resync_insert_scope_rows(target, rows, columns) %}
    {#- The scope's rows from `rows` into `target` (partitioned): one statement per district for a
        model computed district by district (macros/resync_district_statements.sql), else one.
        Rows outside the scope are not the run's to write. -#}
    {%- if resync_district_statements() -%}
{{ resync_insert_district_rows(target, rows, columns) }}
    {%- else %}
insert into {{ target }}{{ ' (' ~ columns ~ ')' if columns }}
select {{ columns or '*' }}
from {{ rows }}
where {{ resync_scope_predicate() }};
    {%- endif %}
{%- endmacro %}


{% macro resync_build_next_sql(arg_dict) %}
    {#- A full replace of a partitioned state table, first half (the strategy's SQL): the scope's
        new rows into <table>__next__<code>, partitioned by district like the state table, with the state
        table's columns (read from the catalog, which locks nothing). resync_swap_partitions swaps
        them in. -#}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set next = resync_next_relation() -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
do $resync_next$
declare
    target regclass := {{ dbt.string_literal(target.render()) }}::regclass;
    code text;
    check_name text;
    check_def text;
begin
    execute format('create table %I.%I (%s) partition by list (district_id)',
                   {{ dbt.string_literal(next.schema) }}, {{ dbt.string_literal(next.identifier) }},
                   (select string_agg(format('%I %s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                                             case when a.attnotnull then ' not null' else '' end), ', ' order by a.attnum)
                    from pg_attribute as a where a.attrelid = target and a.attnum > 0 and not a.attisdropped));
    -- The state table's own CHECK constraints (a state may add some): attaching needs them.
    for check_name, check_def in
        select k.conname, pg_get_constraintdef(k.oid) from pg_constraint as k where k.conrelid = target and k.contype = 'c'
    loop
        execute format('alter table %I.%I add constraint %I %s', {{ dbt.string_literal(next.schema) }},
                       {{ dbt.string_literal(next.identifier) }}, check_name, check_def);
    end loop;
    foreach code in array {{ resync_codes_array() }} loop
        execute format('create table %I.%I partition of %I.%I for values in (%L)',
                       {{ dbt.string_literal(next.schema) }}, {{ dbt.string_literal(this.identifier ~ '__') }} || code || '__next',
                       {{ dbt.string_literal(next.schema) }}, {{ dbt.string_literal(next.identifier) }}, code);
    end loop;
end $resync_next$;
{{ resync_insert_scope_rows(next, arg_dict['temp_relation'], columns) }}
{%- endmacro %}


{% macro resync_swap_partitions() %}
    {#-
        Post-hook of every state model, first, inside its transaction: after a full replace built
        <table>__next__<code> (resync_build_next_sql), each district's new leaf gets the state table's key
        (its index) and a check constraint saying its scope (so attaching it scans nothing), both
        before any lock on the state table. Then, under the state table's ACCESS EXCLUSIVE lock:
        the old leaf is dropped and the new one attached and given the old one's name. The
        attendance aggregation counts the old leaf's rows first, as rows deleted.
    -#}
    {%- if not execute or not resync_is_state_table() -%}{{ return('') }}{%- endif -%}
    {%- set year_scoped = resync_object_scope() == 'district_year' -%}
    {%- set year = resync_school_year() if year_scoped else none -%}
    {%- set count = (config.get('meta') or {}).get('resync_keyed_replace') is not none -%}
    {%- set next = resync_next_relation() -%}
    {%- if count %}
{{ resync_rows_deleted_table() }}
    {%- endif %}
do $resync_swap$
declare
    target regclass := to_regclass({{ dbt.string_literal(this.render()) }});
    next_rows regclass := to_regclass({{ dbt.string_literal(next.render()) }});
    key_def text;
    detail text;
    code text;
    parent regclass;
    leaf regclass;
    old_leaf regclass;
    leaf_name text;
    suffix int;
    old_rows bigint;
    saved_lock_timeout text;
begin
    if next_rows is null or target is null then
        return;
    end if;
    select pg_get_constraintdef(k.oid) into key_def from pg_constraint as k where k.conrelid = target and k.contype in ('p', 'u');
    if key_def is not null then
        begin
            execute format('alter table %s add %s', next_rows, key_def);
        exception when unique_violation then
            -- PostgreSQL says it "could not create unique index" on a table the user never saw.
            get stacked diagnostics detail = pg_exception_detail;
            raise unique_violation using message = format(
                'The new rows of %s break its unique constraint (%s): %s', target, key_def, detail);
        end;
    end if;
    foreach code in array {{ resync_codes_array() }} loop
        leaf := {{ resync_partition_of('next_rows', 'code') }};
        execute format('alter table %s add constraint resync_scope check (district_id is not null and district_id = %L{{ " and end_year is not null and end_year = " ~ year if year_scoped }})', leaf, code);
        {%- if count %}
        parent := {{ resync_partition_of('target', 'code') if year_scoped else 'target' }};
        old_leaf := {{ resync_partition_of('parent', ("'" ~ year ~ "'") if year_scoped else 'code') }};
        if old_leaf is not null then
            execute format('select count(*) from %s', old_leaf) into old_rows;
            insert into resync_rows_deleted (district_id, row_count) values (code, old_rows);
        end if;
        -- A keyed replace (the nightly) deletes from this leaf by key next. Planned before
        -- autovacuum reached a new leaf, without its statistics, that run's statement for a
        -- 5,000-student state took 7.9 s instead of 0.65 s. Objects rebuilt whole are left to
        -- autovacuum.
        execute format('analyze %s', leaf);
        {%- endif %}
    end loop;
    -- The swap's lock, by short attempts: a request for ACCESS EXCLUSIVE that waits (on a long
    -- report query, say) makes every new reader of the table wait behind it, so it gives up after
    -- a second, lets them through and tries again, until it has the lock or the run is cancelled.
    saved_lock_timeout := current_setting('lock_timeout');
    perform set_config('lock_timeout', '1s', true);
    loop
        begin
            execute format('lock table %s in access exclusive mode', target);
            exit;
        exception when lock_not_available then
            perform pg_sleep(0.1 + random() * 0.4);
        end;
    end loop;
    perform set_config('lock_timeout', saved_lock_timeout, true);
    foreach code in array {{ resync_codes_array() }} loop
        leaf := {{ resync_partition_of('next_rows', 'code') }};
        execute format('alter table %s detach partition %s', next_rows, leaf);
        {%- if year_scoped %}
{{ resync_district_partition('parent', 'target', true) }}
        old_leaf := {{ resync_partition_of('parent', "'" ~ year ~ "'") }};
        {%- else %}
        parent := target;
        old_leaf := {{ resync_partition_of('parent', 'code') }};
        {%- endif %}
        if old_leaf is not null then
            execute format('drop table %s', old_leaf);
        end if;
        execute format('alter table %s attach partition %s for values in (%L)', parent, leaf,
                       {{ "'" ~ year ~ "'" if year_scoped else 'code' }});
        {{ resync_free_name('leaf_name', dbt.string_literal(this.identifier ~ '__') ~ ' || code' ~ (" || '__" ~ year ~ "'" if year_scoped else '')) }}
        execute format('alter table %s rename to %I', leaf, leaf_name);
        -- Its key's index named after it too (the old leaf's went with it); a state table whose
        -- key an administrator dropped has none to rename.
        if key_def is not null then
            {{ resync_free_name('leaf_name', "leaf_name || '_pkey'") }}
            execute format('alter index %s rename to %I',
                           (select k.conindid::regclass from pg_constraint as k where k.conrelid = leaf and k.contype in ('p', 'u')),
                           leaf_name);
        end if;
    end loop;
    execute format('drop table %s', next_rows);
end $resync_swap$;
{%- endmacro %}
