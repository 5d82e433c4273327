-- The five tables of Better Auth's schema with the seed's snake_case columns.
-- IF NOT EXISTS throughout: on a database Better Auth already serves this
-- changes no data and drops nothing.

-- +goose Up
CREATE TABLE IF NOT EXISTS "user" (
  id             text PRIMARY KEY,
  name           text NOT NULL,
  email          text NOT NULL UNIQUE,
  email_verified boolean NOT NULL DEFAULT false,
  image          text,
  created_at     timestamp NOT NULL DEFAULT now(),
  updated_at     timestamp NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS session (
  id          text PRIMARY KEY,
  expires_at  timestamp NOT NULL,
  token       text NOT NULL UNIQUE,
  created_at  timestamp NOT NULL DEFAULT now(),
  updated_at  timestamp NOT NULL,
  ip_address  text,
  user_agent  text,
  user_id     text NOT NULL REFERENCES "user"(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS session_userId_idx ON session (user_id);

CREATE TABLE IF NOT EXISTS account (
  id                       text PRIMARY KEY,
  account_id               text NOT NULL,
  provider_id              text NOT NULL,
  user_id                  text NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
  access_token             text,
  refresh_token            text,
  id_token                 text,
  access_token_expires_at  timestamp,
  refresh_token_expires_at timestamp,
  scope                    text,
  password                 text,
  created_at               timestamp NOT NULL DEFAULT now(),
  updated_at               timestamp NOT NULL
);
CREATE INDEX IF NOT EXISTS account_userId_idx ON account (user_id);

CREATE TABLE IF NOT EXISTS verification (
  id          text PRIMARY KEY,
  identifier  text NOT NULL,
  value       text NOT NULL,
  expires_at  timestamp NOT NULL,
  created_at  timestamp NOT NULL DEFAULT now(),
  updated_at  timestamp NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS verification_identifier_idx ON verification (identifier);

CREATE TABLE IF NOT EXISTS jwks (
  id          text PRIMARY KEY,
  public_key  text NOT NULL,
  private_key text NOT NULL,
  created_at  timestamp NOT NULL,
  expires_at  timestamp
);
-- Better Auth 1.7 added these; older deployments lack them.
ALTER TABLE jwks ADD COLUMN IF NOT EXISTS alg text;
ALTER TABLE jwks ADD COLUMN IF NOT EXISTS crv text;

-- +goose Down
-- Deliberately empty: these tables may hold a Better Auth deployment's users,
-- and no migration of ours is allowed to drop them.
SELECT 1;
