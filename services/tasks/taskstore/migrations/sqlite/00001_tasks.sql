-- +goose Up
CREATE TABLE tasks (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id     text      NOT NULL,
  title       text      NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  description text,
  completed   boolean   NOT NULL DEFAULT false,
  priority    text      NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high')),
  due_date    timestamp,
  created_at  timestamp NOT NULL,
  updated_at  timestamp NOT NULL
);
CREATE INDEX tasks_user_created_idx ON tasks (user_id, created_at DESC, id DESC);
CREATE INDEX tasks_user_completed_idx ON tasks (user_id, completed, created_at DESC);
CREATE INDEX tasks_user_due_idx ON tasks (user_id, due_date);

CREATE TABLE task_tags (
  task_id  INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  tag      text    NOT NULL,
  position int     NOT NULL,
  PRIMARY KEY (task_id, tag)
);
CREATE INDEX task_tags_tag_idx ON task_tags (tag, task_id);

-- +goose Down
DROP TABLE task_tags;
DROP TABLE tasks;
