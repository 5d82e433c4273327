-- The benchmark data of bench/tasks and bench/grpc, on a database freshly
-- migrated by `tasks migrate`:
--   psql -v ON_ERROR_STOP=1 -v users=1000 -v tasks_per_user=20 -f seed.sql
-- Users are named user-0001…; every task is that user's, with 1 to 3 tags.
INSERT INTO tasks (user_id, title, description, completed, priority, due_date, created_at, updated_at)
SELECT format('user-%s', lpad(u::text, 4, '0')),
       format('Task %s of user %s', t, u),
       CASE WHEN t % 3 = 0 THEN NULL ELSE format('Details for task %s: call, write, review and ship.', t) END,
       t % 4 = 0,
       (ARRAY['low', 'medium', 'high'])[1 + t % 3],
       CASE WHEN t % 2 = 0 THEN timestamptz '2030-01-01 09:00:00+00' + t * interval '1 day' END,
       timestamptz '2026-01-01 00:00:00+00' - (u * :tasks_per_user + t) * interval '1 minute',
       timestamptz '2026-01-01 00:00:00+00' - (u * :tasks_per_user + t) * interval '1 minute' + interval '30 seconds'
FROM generate_series(1, :users) AS u, generate_series(1, :tasks_per_user) AS t
ORDER BY u, t;
-- 1 to 3 tags per task, in position order.
INSERT INTO task_tags (task_id, tag, position)
SELECT id, (ARRAY['work', 'home', 'errands', 'urgent', 'later'])[1 + (id + p) % 5], p
FROM tasks, generate_series(0, 2) AS p
WHERE p <= id % 3;
-- Each task carries its tags too (tasks.tag_list, migration 00003), as the store writes them.
UPDATE tasks SET tag_list = coalesce(
  (SELECT string_agg(tt.tag, chr(31) ORDER BY tt.position) FROM task_tags tt WHERE tt.task_id = tasks.id), '');
VACUUM ANALYZE tasks;
VACUUM ANALYZE task_tags;
