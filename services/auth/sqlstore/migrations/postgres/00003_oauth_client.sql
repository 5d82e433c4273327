-- Service identities for the OAuth2 client-credentials grant (Latch's own
-- table; Better Auth has no equivalent). The secret is stored as SHA-256.

-- +goose Up
CREATE TABLE IF NOT EXISTS oauth_client (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  secret_hash bytea NOT NULL,
  scopes      text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);

-- +goose Down
DROP TABLE IF EXISTS oauth_client;
