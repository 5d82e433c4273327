-- +goose Up
-- A task's tags stored with the task (see the PostgreSQL migration).
ALTER TABLE tasks ADD COLUMN tag_list text NOT NULL DEFAULT '';
UPDATE tasks SET tag_list = coalesce(
  (SELECT group_concat(tt.tag, char(31) ORDER BY tt.position) FROM task_tags tt WHERE tt.task_id = tasks.id), '');

-- +goose Down
ALTER TABLE tasks DROP COLUMN tag_list;
