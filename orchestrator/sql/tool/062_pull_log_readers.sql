-- The pull log says when each district's tables were last pulled. Users read it for the
-- districts they see (the web page's confirmation restates the last pull of each table), as they
-- read the requests and state tables of those districts; only pulls write it.
grant select on pull_log to resync_read;
alter table pull_log enable row level security;
create policy pull_log_visible on pull_log for select using (resync.sees_district(district_id));
create policy pull_log_written on pull_log for insert to resync_worker with check (true);
