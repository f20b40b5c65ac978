-- Tool rights, enforced by PostgreSQL (see README, "Users and rights").
--
-- Users are login roles. Their right is membership of a group role, nested so that each right
-- holds the one below it:
--   resync_read   see the tool, its objects, districts, schedules, requests and reports
--   resync_write  also request resyncs (through queue_request below) and cancel their own
--   resync_admin  also run resyncs directly, administer schedules, districts and users; always
--                 state level; member of resync_worker, so that it may do what the worker does
--   resync_worker the worker's service role (it logs in): runs the queue, performs the resyncs,
--                 owns the state tables (each dbt run hands it the models it built:
--                 macros/resync_access.sql)
-- Roles belong to the server, the district scope of each user to this database (user_scope).
-- Group roles are created once per server; another database's migration may create one at the
-- same moment, hence the exception handlers.

do $roles$
declare
    name text;
    member_of text[];
begin
    foreach name in array array['resync_read', 'resync_write', 'resync_admin', 'resync_worker'] loop
        if to_regrole(name) is null then
            begin
                execute format('create role %I %s', name, case when name = 'resync_worker' then 'login' else 'nologin' end);
            exception when duplicate_object or unique_violation then null;
            end;
        end if;
    end loop;
    foreach member_of slice 1 in array array[
        array['resync_read', 'resync_write'], array['resync_write', 'resync_admin'],
        array['resync_read', 'resync_worker'], array['resync_worker', 'resync_admin'],
        -- The worker reads the districts whose source is a schema of this database, whatever
        -- schema that is (a replica, a foreign schema), and the start of other sessions'
        -- transactions (the aggregation watermark).
        array['pg_read_all_data', 'resync_worker'], array['pg_read_all_stats', 'resync_worker']
    ] loop
        if not pg_has_role(member_of[2], member_of[1], 'MEMBER') then
            begin
                execute format('grant %I to %I', member_of[1], member_of[2]);
            exception when unique_violation then null;
            end;
        end if;
    end loop;
    -- The worker's dbt runs create the state, report and audit schemas.
    execute format('grant create, temporary on database %I to resync_worker', current_database());
end
$roles$;

-- Who may see which districts: every one at state level, else those in user_district.
create table user_scope (
    user_name   text primary key,
    state_level boolean not null,
    created_at  timestamptz not null default now(),
    created_by  text not null default session_user
);

create table user_district (
    user_name     text not null references user_scope (user_name) on delete cascade,
    -- Unregistering a district takes it from its users too.
    district_code text not null references district (code) on delete cascade,
    primary key (user_name, district_code)
);


-- --- who is asking ------------------------------------------------------------------------
-- The requester is always the login role (session_user), never a claim. Superusers are members
-- of every role, hence administrators.

create function right_of(p_role text) returns text
    language sql stable set search_path = pg_catalog, pg_temp
as $$
    select case
        when not exists (select from pg_roles where rolname = p_role) then null
        when pg_has_role(p_role, 'resync_admin', 'MEMBER') then 'admin'
        when pg_has_role(p_role, 'resync_worker', 'MEMBER') then 'worker'
        when pg_has_role(p_role, 'resync_write', 'MEMBER') then 'write'
        when pg_has_role(p_role, 'resync_read', 'MEMBER') then 'read'
    end
$$;

create function caller_right() returns text
    language sql stable set search_path = pg_catalog, pg_temp
as $$ select resync.right_of(session_user) $$;

-- The districts the caller may see and request; null means every district. A user of the
-- server that this database does not know sees none.
create function caller_districts() returns text[]
    language sql stable security definer set search_path = pg_catalog, pg_temp
as $$
    select case
        when resync.caller_right() in ('admin', 'worker') then null
        when (select state_level from resync.user_scope where user_name = session_user) then null
        else array(select district_code from resync.user_district where user_name = session_user
                   order by district_code)
    end
$$;

create function sees_district(p_code text) returns boolean
    language sql stable set search_path = pg_catalog, pg_temp
as $$ select resync.caller_districts() is null or p_code = any (resync.caller_districts()) $$;

-- A request is seen by its requester and by whoever sees every district it names (a request
-- for "every registered district" only at state level).
create function sees_request(p_requested_by text, p_selection jsonb) returns boolean
    language sql stable set search_path = pg_catalog, pg_temp
as $$
    select resync.caller_districts() is null
        or p_requested_by = session_user
        or (jsonb_typeof(p_selection -> 'districts') = 'array'
            and jsonb_array_length(p_selection -> 'districts') > 0
            and not exists (select from jsonb_array_elements_text(p_selection -> 'districts') as d (code)
                            where not code = any (resync.caller_districts())))
$$;


-- --- requests -----------------------------------------------------------------------------

-- Raises unless the caller may request these districts (a JSON array of codes, or null for
-- every registered district). `resync request` calls it first for its sentence; queue_request
-- calls it again, so raw SQL gets no further.
create function check_request(p_districts jsonb) returns void
    language plpgsql stable set search_path = pg_catalog, pg_temp
as $$
declare
    caller_right text := resync.caller_right();
    scope text[] := resync.caller_districts();
    outside text[];
begin
    if caller_right is null then
        raise exception using errcode = 'insufficient_privilege',
            message = format('%s is not a user of the resync tool.', session_user);
    elsif caller_right = 'read' then
        raise exception using errcode = 'insufficient_privilege',
            message = format('%s has the Read right: requesting a resync needs Write.', session_user);
    end if;
    if scope is null then
        return;
    end if;
    if jsonb_typeof(p_districts) is distinct from 'array' or jsonb_array_length(p_districts) = 0 then
        raise exception using errcode = 'insufficient_privilege',
            message = format('%s may request districts %s only: name them with -d.', session_user,
                             coalesce(nullif(array_to_string(scope, ', '), ''), '(none)'));
    end if;
    outside := array(select code from jsonb_array_elements_text(p_districts) as d (code)
                     where not code = any (scope));
    if cardinality(outside) > 0 then
        raise exception using errcode = 'insufficient_privilege',
            message = format('%s may request districts %s only, not %s.', session_user,
                             coalesce(nullif(array_to_string(scope, ', '), ''), '(none)'),
                             array_to_string(outside, ', '));
    end if;
end
$$;

-- Queue a request and the procrastinate job that carries it, in the caller's transaction.
-- Users cannot write the request or queue tables: this function, owned by the tool schema's
-- owner, is the only way in. The selection was validated by the caller's `resync request`
-- (and is validated again by the worker); here only the rights are checked. Only an
-- administrator (or the worker, for a schedule) may name another requester.
create function queue_request(p_kind text, p_selection jsonb, p_plan jsonb, p_requested_by text default null,
                              p_schedule_name text default null) returns bigint
    language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
declare
    caller_right text := resync.caller_right();
    requester text := session_user;
    new_id bigint;
    new_job bigint;
begin
    perform resync.check_request(p_selection -> 'districts');
    if p_requested_by is not null and p_requested_by <> session_user then
        if caller_right not in ('admin', 'worker') then
            raise exception using errcode = 'insufficient_privilege',
                message = format('Only an administrator may act as someone else (--as); %s acts as %s.',
                                 session_user, session_user);
        end if;
        requester := p_requested_by;
    end if;
    if p_schedule_name is not null and caller_right not in ('admin', 'worker') then
        raise exception using errcode = 'insufficient_privilege',
            message = 'Only an administrator may run a schedule.';
    end if;
    if jsonb_typeof(p_selection -> 'districts') = 'array' and exists (
           select from jsonb_array_elements_text(p_selection -> 'districts') as d (code)
           where not exists (select from resync.district where district.code = d.code)) then
        raise exception using errcode = 'invalid_parameter_value',
            message = 'A request may only name registered districts.';
    end if;
    insert into resync.request (kind, requested_by, selection, plan, schedule_name)
    values (p_kind, requester, p_selection, p_plan, p_schedule_name)
    returning id into new_id;
    -- procrastinate's own function; task and queue as orchestrator.worker declares them.
    new_job := (resync_queue.procrastinate_defer_jobs_v1(array[
        row('requests', 'resync.run_request', 0, null, null, jsonb_build_object('request_id', new_id), null)
            ::resync_queue.procrastinate_job_to_defer_v1]))[1];
    update resync.request set job_id = new_job where id = new_id;
    -- Listeners get the id only; they read the rest under their own rights.
    perform pg_notify('resync_request', new_id::text);
    return new_id;
end
$$;

-- Cancel a request: its requester (Write) or an administrator. A queued one ends cancelled here;
-- a running one is flagged for its worker, which stops it and records the outcome. Returns the
-- job's status after (procrastinate's: 'doing' while a worker still holds it). The caller sends
-- the requester's notification when the request ended here.
create function cancel_request(p_id bigint, p_by text default null) returns text
    language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
declare
    caller_right text := resync.caller_right();
    found resync.request;
    by_whom text := session_user;
    job_status text := 'cancelled';
begin
    select * into found from resync.request where id = p_id for update;
    if found.id is null or not resync.sees_request(found.requested_by, found.selection) then
        raise exception using errcode = 'no_data_found',
            message = format('There is no request %s; `resync history` lists them.', p_id);
    end if;
    if caller_right is distinct from 'admin'
       and not (caller_right in ('write', 'worker') and found.requested_by = session_user) then
        raise exception using errcode = 'insufficient_privilege',
            message = format('Only its requester (%s) or an administrator may cancel request %s.',
                             found.requested_by, p_id);
    end if;
    if p_by is not null and p_by <> session_user then
        if caller_right is distinct from 'admin' then
            raise exception using errcode = 'insufficient_privilege',
                message = format('Only an administrator may act as someone else (--as); %s acts as %s.',
                                 session_user, session_user);
        end if;
        by_whom := p_by;
    end if;
    if found.status in ('succeeded', 'failed', 'cancelled') then
        raise exception using errcode = 'invalid_parameter_value',
            message = format('Request %s already ended (%s); there is nothing to cancel.', p_id, found.status);
    end if;
    if found.job_id is not null then
        -- Cancel while todo, or flag for abort while doing, in one call (abort=true).
        perform resync_queue.procrastinate_cancel_job_v1(found.job_id, true, false);
        select status::text into job_status from resync_queue.procrastinate_jobs where id = found.job_id;
    end if;
    update resync.request set cancel_requested_by = by_whom, cancel_requested_at = now() where id = p_id;
    if job_status is distinct from 'doing' then  -- no worker holds it: it ends here
        update resync.request
        set status = 'cancelled', results = null, finished_at = now(),
            error = format('Cancelled by %s before a worker started it.', by_whom)
        where id = p_id;
    end if;
    perform pg_notify('resync_request', p_id::text);
    return coalesce(job_status, 'cancelled');
end
$$;


-- --- users (state-level administrators only) ----------------------------------------------

create function require_admin(p_action text) returns void
    language plpgsql stable set search_path = pg_catalog, pg_temp
as $$
begin
    if resync.caller_right() is distinct from 'admin' then
        raise exception using errcode = 'insufficient_privilege',
            message = format('Only a state-level administrator may %s, and %s is not one.', p_action, session_user);
    end if;
end
$$;

create function check_user_name(p_name text) returns void
    language plpgsql immutable set search_path = pg_catalog, pg_temp
as $$
begin
    -- The name is not echoed: it may be what makes it unprintable.
    if p_name is null or octet_length(p_name) > 63 or p_name !~ '^[^[:cntrl:][:space:]][^[:cntrl:]]*$'
       or p_name ~ '[[:space:]]$' then
        raise exception using errcode = 'invalid_parameter_value',
            message = 'A user name is 1 to 63 characters, without control characters or surrounding spaces.';
    end if;
    if p_name ~ '^pg_' or p_name in ('resync_read', 'resync_write', 'resync_admin', 'resync_worker', 'public') then
        raise exception using errcode = 'invalid_parameter_value',
            message = format('%s is a name reserved by PostgreSQL or the resync tool.', p_name);
    end if;
end
$$;

-- Give a user their right and scope: p_right null keeps the right; p_set_scope false keeps the
-- scope, true with p_districts null makes the user state level, else exactly those districts.
create function set_user(p_name text, p_right text, p_set_scope boolean, p_districts text[])
    returns void
    language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
declare
    current_right text;
    new_right text;
    scope text[];
    unknown text[];
    grp text;
begin
    perform resync.require_admin('change users');
    perform resync.check_user_name(p_name);
    if not exists (select from resync.user_scope where user_name = p_name)
       or not exists (select from pg_roles where rolname = p_name) then
        raise exception using errcode = 'no_data_found',
            message = format('There is no user %s; `resync user list` shows them.', p_name);
    end if;
    if p_right is not null and p_right not in ('read', 'write', 'admin') then
        raise exception using errcode = 'invalid_parameter_value',
            message = format('%s is not a right: give read, write or admin.', p_right);
    end if;
    current_right := resync.right_of(p_name);
    new_right := coalesce(p_right, current_right);
    if p_set_scope then
        scope := p_districts;
        if scope is not null and cardinality(scope) = 0 then
            raise exception using errcode = 'invalid_parameter_value',
                message = format('%s would have no district left; `resync user remove %s` removes the user.',
                                 p_name, p_name);
        end if;
        unknown := array(select code from unnest(scope) as s (code)
                         where not exists (select from resync.district where district.code = s.code));
        if cardinality(unknown) > 0 then
            raise exception using errcode = 'invalid_parameter_value',
                message = format('District %s is not registered; `resync district list` shows those that are.',
                                 array_to_string(unknown, ', '));
        end if;
    elsif not (select state_level from resync.user_scope where user_name = p_name) then
        scope := array(select district_code from resync.user_district where user_name = p_name);
    end if;
    if new_right = 'admin' and scope is not null then
        raise exception using errcode = 'invalid_parameter_value',
            message = 'An administrator has every district: give no --district (state level).';
    end if;
    if p_right is not null and p_right is distinct from current_right then
        foreach grp in array array['resync_read', 'resync_write', 'resync_admin'] loop
            if exists (select from pg_auth_members m where m.roleid = to_regrole(grp) and m.member = to_regrole(p_name)) then
                execute format('revoke %I from %I', grp, p_name);
            end if;
        end loop;
        execute format('grant %I to %I', 'resync_' || p_right, p_name);
    end if;
    if p_set_scope then
        update resync.user_scope set state_level = scope is null where user_name = p_name;
        delete from resync.user_district where user_name = p_name;
        insert into resync.user_district (user_name, district_code)
        select p_name, code from unnest(coalesce(scope, '{}')) as s (code) group by code;
    end if;
end
$$;

-- A new login role (or, with p_existing, a role the server's administrator made, with the
-- authentication they chose) becomes a user of the tool.
create function add_user(p_name text, p_right text, p_districts text[], p_existing boolean default false)
    returns void
    language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
begin
    perform resync.require_admin('add users');
    perform resync.check_user_name(p_name);
    if exists (select from resync.user_scope where user_name = p_name) then
        raise exception using errcode = 'duplicate_object',
            message = format('%s is a user already; `resync user set` changes their right.', p_name);
    end if;
    if p_existing then
        if not exists (select from pg_roles where rolname = p_name) then
            raise exception using errcode = 'no_data_found',
                message = format('There is no role %s on the server to make a user of.', p_name);
        end if;
    elsif exists (select from pg_roles where rolname = p_name) then
        raise exception using errcode = 'duplicate_object',
            message = format('A role named %s already exists on the server; choose another name'
                             ' (or add it as it is with --existing-role).', p_name);
    else
        execute format('create role %I login', p_name);
    end if;
    insert into resync.user_scope (user_name, state_level) values (p_name, true);
    perform resync.set_user(p_name, coalesce(p_right, 'read'), true,
                            case when cardinality(p_districts) > 0 then p_districts end);
end
$$;

-- The user's login role is dropped (it is the server's: in every database). Their requests and
-- notifications stay, under their name.
create function remove_user(p_name text) returns void
    language plpgsql volatile security definer set search_path = pg_catalog, pg_temp
as $$
begin
    perform resync.require_admin('remove users');
    perform resync.check_user_name(p_name);
    if not exists (select from resync.user_scope where user_name = p_name) then
        raise exception using errcode = 'no_data_found',
            message = format('There is no user %s; `resync user list` shows them.', p_name);
    end if;
    if p_name = session_user then
        raise exception using errcode = 'invalid_parameter_value',
            message = 'You cannot remove yourself; another administrator can.';
    end if;
    delete from resync.user_scope where user_name = p_name;
    if exists (select from pg_roles where rolname = p_name) then
        begin
            execute format('drop role %I', p_name);
        exception when dependent_objects_still_exist then
            raise exception using errcode = 'dependent_objects_still_exist',
                message = format('Role %s owns objects or holds privileges of its own on the server,'
                                 ' so it was kept; its owner must `reassign owned` first.', p_name);
        end;
    end if;
end
$$;


-- --- privileges ---------------------------------------------------------------------------
-- Functions are executable by PUBLIC by default; only the tool's roles need these.
revoke execute on all functions in schema resync from public;
grant execute on all functions in schema resync to resync_read;
grant usage on schema resync to resync_read;

grant select on schema_migration, district, schedule, request, notification, user_scope, user_district
    to resync_read;
grant update (read_at) on notification to resync_read;
grant insert on notification to resync_write, resync_worker;
grant update on request, schedule to resync_worker;
grant select, insert, update, delete on aggregation_watermark, demo_clock to resync_worker;
grant insert, update, delete on district to resync_admin;
grant select, insert on pull_log to resync_worker;
-- A pull holds its district's row (select ... for share), which takes an update right; the
-- policy district_held_by_pulls below lets the worker lock the row, never change it.
grant update (name) on district to resync_worker;

-- The landing (045_district_sites.sql) is written by pulls, which the worker runs (and
-- administrators, who hold its role): it is the worker's, with each district's partitions, which
-- landing.add_district creates as its owner whoever registers the district. Users get nothing
-- of it: they read the state tables.
do $landing$
declare
    found record;
begin
    alter schema landing owner to resync_worker;
    for found in select c.relname, c.relkind from pg_class c
                 where c.relnamespace = 'landing'::regnamespace and (c.relkind in ('r', 'p')
                   -- a column's own sequence follows its table
                   or c.relkind = 'S' and not exists (
                       select from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid
                       and d.refobjid <> c.oid and d.deptype in ('a', 'i')))
    loop
        execute format('alter %s landing.%I owner to resync_worker',
                       case found.relkind when 'S' then 'sequence' else 'table' end, found.relname);
    end loop;
    alter function landing.add_district(text) owner to resync_worker;
    alter function landing.add_district(text) security definer;
    alter function landing.drop_district(text) owner to resync_worker;
    alter function landing.drop_district(text) security definer;
end
$landing$;
revoke execute on all functions in schema landing from public;
grant execute on all functions in schema landing to resync_worker;


-- --- row-level security -------------------------------------------------------------------
-- The table owner (who runs these migrations) and superusers bypass it; everyone else,
-- administrators included, gets rows through these policies.

alter table district enable row level security;
create policy district_visible on district for select using (resync.sees_district(code));
create policy district_administered on district for all to resync_admin using (true) with check (true);
create policy district_held_by_pulls on district for update to resync_worker using (true) with check (false);

alter table request enable row level security;
create policy request_visible on request for select using (resync.sees_request(requested_by, selection));
create policy request_worked on request for update to resync_worker using (true) with check (true);

alter table notification enable row level security;
create policy notification_own on notification for select
    using (recipient = session_user or (select resync.caller_right()) in ('admin', 'worker'));
create policy notification_mark_read on notification for update
    using (recipient = session_user or (select resync.caller_right()) in ('admin', 'worker'))
    with check (recipient = session_user or (select resync.caller_right()) in ('admin', 'worker'));
create policy notification_sent on notification for insert to resync_worker with check (true);
-- A Write user who cancelled their own queued request files its notification, to themselves.
create policy notification_own_cancellation on notification for insert to resync_write
    with check (recipient = session_user and status = 'cancelled' and exists (
        select from resync.request r
        where r.id = request_id and r.requested_by = session_user and r.status = 'cancelled'
          and r.cancel_requested_by = session_user));

alter table user_scope enable row level security;
create policy user_scope_own on user_scope for select
    using (user_name = session_user or (select resync.caller_right()) = 'admin');
alter table user_district enable row level security;
create policy user_district_own on user_district for select
    using (user_name = session_user or (select resync.caller_right()) = 'admin');
