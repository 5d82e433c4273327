-- +goose Up
-- A task's tags, in order and joined by U+001F, stored with the task: every
-- read (a task by id, a page) takes them from the row instead of aggregating
-- task_tags per task, which was about a fifth of PostgreSQL's time for a task
-- by id (pgbench, bench data). task_tags stays the source for the tag filter
-- and its index; the store writes both in one transaction.
ALTER TABLE tasks ADD COLUMN tag_list text NOT NULL DEFAULT '';
UPDATE tasks SET tag_list = coalesce(
  (SELECT string_agg(tt.tag, chr(31) ORDER BY tt.position) FROM task_tags tt WHERE tt.task_id = tasks.id), '');

-- +goose Down
ALTER TABLE tasks DROP COLUMN tag_list;
