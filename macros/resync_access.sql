{% macro resync_access() %}
    {#-
        Post-hook of every state table and report view: who may read what dbt just built.

        - The object (and its schema) belongs to resync_worker, the worker's role, whoever ran
          dbt: an administrator's `resync run` or a plain dbt run by the database owner leaves
          nothing the worker could not replace next time.
        - The tool's users (resync_read and the rights above it) may select it; nobody but the
          worker and administrators may write it (no other grant).
        - A table shows a district-level user only their districts' rows (row-level security,
          resync.caller_districts()); a view runs with its reader's rights (security_invoker,
          PostgreSQL 15 or later), so the same rows are all a report shows them.

        Nothing happens on a database the resync tool never set up (no roles, no functions).
    -#}
    {%- set kind = 'view' if config.get('materialized') == 'view' else 'table' -%}
do $resync_access$
declare
    state_partition regclass;
begin
    if to_regrole('resync_worker') is null or to_regrole('resync_read') is null
       or to_regprocedure('resync.caller_districts()') is null then
        return;
    end if;
    if (select nspowner from pg_namespace where nspname = '{{ this.schema }}') <> 'resync_worker'::regrole then
        alter schema {{ adapter.quote(this.schema) }} owner to resync_worker;
    end if;
    if (select relowner from pg_class where oid = '{{ this }}'::regclass) <> 'resync_worker'::regrole then
        alter {{ kind }} {{ this }} owner to resync_worker;
    end if;
    {%- if kind == 'table' %}
    -- A state table's partitions too (macros/state_partitions.sql): the worker drops and replaces
    -- them. Nobody else is granted anything on a partition, so users read rows only through the
    -- partitioned table and its policy.
    for state_partition in
        select tree.relid from pg_partition_tree('{{ this }}'::regclass) as tree
        join pg_class as c on c.oid = tree.relid
        where tree.level > 0 and c.relowner <> 'resync_worker'::regrole
    loop
        execute format('alter table %s owner to resync_worker', state_partition);
    end loop;
    {%- endif %}
    grant usage on schema {{ adapter.quote(this.schema) }} to resync_read;
    grant select on {{ this }} to resync_read;
    {%- if kind == 'view' %}
    alter view {{ this }} set (security_invoker = true);
    {%- else %}
    alter table {{ this }} enable row level security;
    if not exists (select from pg_policy where polrelid = '{{ this }}'::regclass and polname = 'resync_district_scope') then
        -- The sub-selects are evaluated once per query, not once per row.
        create policy resync_district_scope on {{ this }} for select
            using ((select resync.caller_districts()) is null or district_id = any ((select resync.caller_districts())::text[]));
    end if;
    {%- endif %}
end
$resync_access$;
{% endmacro %}
