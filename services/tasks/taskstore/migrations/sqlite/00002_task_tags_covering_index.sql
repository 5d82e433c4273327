-- +goose Up
-- Tags are read in position order with every task; the index covers that read.
CREATE INDEX task_tags_task_position_idx ON task_tags (task_id, position, tag);

-- +goose Down
DROP INDEX task_tags_task_position_idx;
