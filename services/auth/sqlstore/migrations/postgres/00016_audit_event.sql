-- The audit trail (docs/audit.md): one row per security event, written in
-- the transaction of the change it records. Append-only: rows are never
-- updated; the sweep deletes those older than AUDIT_RETENTION. user_id has
-- no foreign key: an account-deleted event outlives its user, and a failed
-- sign-in may name no user. detail is a small JSON object, never a secret.

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
  created_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_event_user_created_idx ON audit_event (user_id, created_at);
CREATE INDEX IF NOT EXISTS audit_event_created_idx ON audit_event (created_at);

-- +goose Down
DROP TABLE IF EXISTS audit_event;
