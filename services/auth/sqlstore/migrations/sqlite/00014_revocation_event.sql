-- The revocation feed (docs/revocation.md); see the PostgreSQL migration.
-- AUTOINCREMENT: ids are never reused, even after the newest row is deleted,
-- so a follower's cursor never skips a new event. SQLite has one writer at a
-- time, so ids commit in order.

-- +goose Up
CREATE TABLE IF NOT EXISTS revocation_event (
  id         integer PRIMARY KEY AUTOINCREMENT,
  kind       text NOT NULL,
  subject    text NOT NULL,
  user_id    text,
  at_ms      integer NOT NULL,
  until_ms   integer NOT NULL,
  expires_ms integer NOT NULL
);
CREATE INDEX IF NOT EXISTS revocation_event_expires_ms_idx ON revocation_event (expires_ms);

-- +goose Down
DROP TABLE IF EXISTS revocation_event;
