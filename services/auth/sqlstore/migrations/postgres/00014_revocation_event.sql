-- The revocation feed (docs/revocation.md): one row per ended session, user
-- or client, written in the transaction that ends it. id is the feed's
-- cursor; writers serialize on the table (LOCK ... EXCLUSIVE at the end of
-- their transaction), so ids commit in increasing order and a follower
-- reading "id > cursor" never skips a row that commits late. Times are unix
-- milliseconds. Rows are deleted after expires_ms (the sweep).

-- +goose Up
CREATE TABLE IF NOT EXISTS revocation_event (
  id         bigserial PRIMARY KEY,
  kind       text NOT NULL,
  subject    text NOT NULL,
  user_id    text,
  at_ms      bigint NOT NULL,
  until_ms   bigint NOT NULL,
  expires_ms bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS revocation_event_expires_ms_idx ON revocation_event (expires_ms);

-- +goose Down
DROP TABLE IF EXISTS revocation_event;
