-- The audit trail (docs/audit.md); see the PostgreSQL migration.

-- +goose Up
CREATE TABLE IF NOT EXISTS audit_event (
  id          text PRIMARY KEY,
  type        text NOT NULL,
  user_id     text,
  actor_id    text,
  ip_address  text,
  user_agent  text,
  request_id  text,
  detail      text NOT NULL DEFAULT '{}',
  created_at  datetime NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_event_user_created_idx ON audit_event (user_id, created_at);
CREATE INDEX IF NOT EXISTS audit_event_created_idx ON audit_event (created_at);

-- +goose Down
DROP TABLE IF EXISTS audit_event;
