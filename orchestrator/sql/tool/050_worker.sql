-- Each running worker's own heartbeat interval and the silence after which it is presumed dead.
-- Stalled detection reads the allowance of the worker that runs a job, never the detecting
-- worker's: a worker started with a short --stalled-after must not declare a slower one dead.
-- Its grants are the queue's (orchestrator/queue.py): the roles come with 060_rights.sql.
create table worker (
    queue_worker_id       bigint primary key,  -- resync_queue.procrastinate_workers.id
    name                  text not null,       -- host:pid
    heartbeat_seconds     double precision not null check (heartbeat_seconds > 0),
    stalled_after_seconds double precision not null check (stalled_after_seconds > heartbeat_seconds),
    started_at            timestamptz not null default now()
);
