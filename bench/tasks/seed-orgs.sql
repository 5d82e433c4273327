-- bench/tasks' organization tasks, after seed.sql:
--   psql -v ON_ERROR_STOP=1 -v users=1000 -v org_size=10 -v tasks_per_org=20 -f seed-orgs.sql
-- Users are in organizations of :org_size (user-0001…0010 in org-001, as
-- mint -org-size writes their tokens); each organization gets :tasks_per_org
-- tasks created by its members in turn, with 1 to 3 tags, newest first by id.
INSERT INTO tasks (user_id, organization_id, title, description, completed, priority, due_date, created_at, updated_at)
SELECT format('user-%s', lpad(((o - 1) * :org_size + 1 + t % :org_size)::text, 4, '0')),
       format('org-%s', lpad(o::text, 3, '0')),
       format('Team task %s of organization %s', t, o),
       CASE WHEN t % 3 = 0 THEN NULL ELSE format('Details for team task %s: plan, build, review and ship.', t) END,
       t % 4 = 0,
       (ARRAY['low', 'medium', 'high'])[1 + t % 3],
       CASE WHEN t % 2 = 0 THEN timestamptz '2030-01-01 09:00:00+00' + t * interval '1 day' END,
       timestamptz '2026-01-01 00:00:00+00' - (o * :tasks_per_org + t) * interval '1 minute',
       timestamptz '2026-01-01 00:00:00+00' - (o * :tasks_per_org + t) * interval '1 minute' + interval '30 seconds'
FROM generate_series(1, :users / :org_size) AS o, generate_series(1, :tasks_per_org) AS t
ORDER BY o, t;
INSERT INTO task_tags (task_id, tag, position)
SELECT id, (ARRAY['work', 'home', 'errands', 'urgent', 'later'])[1 + (id + p) % 5], p
FROM tasks, generate_series(0, 2) AS p
WHERE p <= id % 3 AND organization_id IS NOT NULL;
UPDATE tasks SET tag_list = coalesce(
  (SELECT string_agg(tt.tag, chr(31) ORDER BY tt.position) FROM task_tags tt WHERE tt.task_id = tasks.id), '')
WHERE organization_id IS NOT NULL;
VACUUM ANALYZE tasks;
VACUUM ANALYZE task_tags;
