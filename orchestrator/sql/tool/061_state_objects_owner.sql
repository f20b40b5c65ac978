-- The state tables, report views and stored test failures belong to resync_worker (060_rights.sql):
-- a database that had them before rights existed hands them over, so that the worker may go on
-- replacing them. Users get their grants and row-level security at the next dbt run of each
-- model (macros/resync_access.sql); until then they see none of it.
do $adopt$
declare
    state_schema text := coalesce(nullif(current_setting('resync.state_schema', true), ''), 'state');
    found record;
begin
    for found in
        select n.nspname from pg_namespace n
        where n.nspname in (state_schema, state_schema || '_reports', state_schema || '_audit')
    loop
        execute format('alter schema %I owner to resync_worker', found.nspname);
    end loop;
    for found in
        select n.nspname, c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in (state_schema, state_schema || '_reports', state_schema || '_audit')
          and c.relkind in ('r', 'p', 'v', 'm', 'f')
    loop
        execute format('alter %s %I.%I owner to resync_worker',
                       case found.relkind when 'v' then 'view' when 'm' then 'materialized view'
                                          when 'f' then 'foreign table' else 'table' end,
                       found.nspname, found.relname);
    end loop;
end
$adopt$;
