{#-
    Views over a state table survive a full refresh of it.

    dbt full-refreshes a table by building a new one, renaming the old one away and, after the
    commit, dropping it with CASCADE: every view over the old table (the attendance reports, an
    analyst's own views) goes with it, and a run that did not select those views leaves them
    missing. These hooks of the state models keep them, for `resync run --full-refresh` and a
    plain `dbt run --full-refresh` alike:

    1. resync_save_dependent_views (pre-hook, before the old table is renamed): every view that
       depends on the table, directly or through other views, with its definition, options
       (security_invoker), owner, comment and grants, into a temporary table of the model's
       transaction.
    2. resync_restore_dependent_views (post-hook, in the same transaction, after the swap): drops
       the old table with CASCADE itself and creates the saved views again over the new one, so
       no reader ever sees them missing; a failure rolls all of it back.
    3. resync_recache_dependent_views (post-hook after the commit): tells dbt's relation cache
       that the views exist, since its own drop of the old table cascaded them out of the cache;
       a report model later in the same run then replaces its view as usual.

    The report models (views) carry the same hooks: dbt replaces a view the same way on every
    run, and its drop CASCADE would take the report views over it; worse, in a full refresh the
    views recached in step 3 have no dependency links in dbt's cache, so dbt would not know that
    the cascade dropped them, and their own models would fail ("relation does not exist").

    Hand-written because neither dbt nor PostgreSQL re-points views to a replaced table.
-#}

{% macro resync_replaces_relation() %}
    {#- True when this model's run replaces its relation by a new one: a full refresh of a table,
        and every run of a view. -#}
    {{- return(execute and (should_full_refresh() or config.get('materialized') == 'view')) -}}
{% endmacro %}

{% macro resync_dependent_views_sql(relation) %}
    {#- Views and materialized views depending on `relation`, transitively; `depth` orders them
        (a view's dependencies within the set all have a smaller depth). -#}
    with recursive dependent (oid, depth) as (
        select rewrite.ev_class, 1
        from pg_depend as dep
        join pg_rewrite as rewrite on rewrite.oid = dep.objid
        where dep.classid = 'pg_rewrite'::regclass and dep.refclassid = 'pg_class'::regclass
            and dep.refobjid = to_regclass('{{ relation.include(database=false) }}')
            and rewrite.ev_class <> dep.refobjid
        union
        select rewrite.ev_class, dependent.depth + 1
        from dependent
        join pg_depend as dep
            on dep.refobjid = dependent.oid and dep.classid = 'pg_rewrite'::regclass
            and dep.refclassid = 'pg_class'::regclass
        join pg_rewrite as rewrite on rewrite.oid = dep.objid
        where rewrite.ev_class <> dependent.oid
    )
    select cls.oid, nsp.nspname as schema_name, cls.relname as view_name, cls.relkind as kind,
           max(dependent.depth) as depth
    from dependent
    join pg_class as cls on cls.oid = dependent.oid
    join pg_namespace as nsp on nsp.oid = cls.relnamespace
    where cls.relkind in ('v', 'm')
    group by cls.oid, nsp.nspname, cls.relname, cls.relkind
{% endmacro %}


{% macro resync_save_dependent_views() %}
    {%- if resync_replaces_relation() -%}
    create temporary table if not exists resync_kept_views (
        schema_name name, view_name name, kind "char", depth integer,
        definition text, options text[], owner name, description text, acl aclitem[]
    ) on commit drop;
    delete from resync_kept_views;
    insert into resync_kept_views
    select found.schema_name, found.view_name, found.kind, found.depth,
           pg_get_viewdef(found.oid), cls.reloptions, pg_get_userbyid(cls.relowner),
           obj_description(found.oid, 'pg_class'), cls.relacl
    from ({{ resync_dependent_views_sql(this) }}) as found
    join pg_class as cls on cls.oid = found.oid
    {%- endif -%}
{% endmacro %}


{% macro resync_restore_dependent_views() %}
    {%- if resync_replaces_relation() -%}
    {%- set kind = 'view' if config.get('materialized') == 'view' else 'table' -%}
    {%- set backup = make_backup_relation(this.incorporate(type=kind), kind) -%}
    do $resync$
    declare
        kept record;
        privilege record;
        kind_word text;
    begin
        if to_regclass('pg_temp.resync_kept_views') is null then
            return;  -- the table was created, not replaced: nothing depended on it
        end if;
        -- The old table and its views go now, in this transaction (dbt's own drop after the
        -- commit then finds nothing), with the rights dbt's CASCADE would have used.
        drop {{ kind }} if exists {{ backup.include(database=false) }} cascade;
        for kept in select * from pg_temp.resync_kept_views order by depth, schema_name, view_name loop
            kind_word := case kept.kind when 'm' then 'materialized view' else 'view' end;
            -- With its options: a report view runs with its reader's rights (security_invoker).
            execute format('create %s %I.%I%s as %s', kind_word, kept.schema_name, kept.view_name,
                           case when kept.options is null then ''
                                else format(' with (%s)', array_to_string(kept.options, ', ')) end,
                           rtrim(kept.definition, '; ' || chr(10)));
            if kept.owner <> current_user then
                begin
                    execute format('alter %s %I.%I owner to %I', kind_word, kept.schema_name, kept.view_name,
                                   kept.owner);
                exception when insufficient_privilege then
                    -- Someone else's view: it stays ours, with the grants (theirs too) below.
                    raise notice 'resync: % %.% is now owned by %, not %', kind_word, kept.schema_name,
                        kept.view_name, current_user, kept.owner;
                end;
            end if;
            if kept.description is not null then
                execute format('comment on %s %I.%I is %L', kind_word, kept.schema_name, kept.view_name,
                               kept.description);
            end if;
            -- Grants as they were (the old owner's too, should the view not be theirs now).
            for privilege in
                select acl.privilege_type, acl.grantee, acl.is_grantable
                from aclexplode(kept.acl) as acl  -- null (the default rights): no row
                where kept.acl is not null
                    and acl.grantee <> (select relowner from pg_class
                                        where oid = format('%I.%I', kept.schema_name, kept.view_name)::regclass)
            loop
                execute format('grant %s on %I.%I to %s%s', privilege.privilege_type, kept.schema_name,
                               kept.view_name,
                               case privilege.grantee when 0 then 'public'
                                    else quote_ident(pg_get_userbyid(privilege.grantee)) end,
                               case when privilege.is_grantable then ' with grant option' else '' end);
            end loop;
        end loop;
        drop table pg_temp.resync_kept_views;
    end
    $resync$
    {%- endif -%}
{% endmacro %}


{% macro resync_recache_dependent_views() %}
    {%- if resync_replaces_relation() -%}
        {%- for row in run_query(resync_dependent_views_sql(this)).rows -%}
            {%- do adapter.cache_added(api.Relation.create(
                database=this.database, schema=row['schema_name'], identifier=row['view_name'],
                type='materialized_view' if row['kind'] == 'm' else 'view')) -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}
