-- The plugin tables and columns of the PostgreSQL migration 00010, in
-- SQLite's dialect (no ADD COLUMN IF NOT EXISTS: this database is only ever
-- Latch's own, so the columns are known to be missing).

-- +goose Up
ALTER TABLE "user" ADD COLUMN two_factor_enabled boolean DEFAULT false;
ALTER TABLE session ADD COLUMN active_organization_id text;
ALTER TABLE session ADD COLUMN amr text;

CREATE TABLE IF NOT EXISTS organization (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  slug        text NOT NULL UNIQUE,
  logo        text,
  created_at  timestamp NOT NULL,
  metadata    text
);

CREATE TABLE IF NOT EXISTS member (
  id               text PRIMARY KEY,
  organization_id  text NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
  user_id          text NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
  role             text NOT NULL DEFAULT 'member',
  created_at       timestamp NOT NULL
);
CREATE INDEX IF NOT EXISTS member_organizationId_idx ON member (organization_id);
CREATE INDEX IF NOT EXISTS member_userId_idx ON member (user_id);

CREATE TABLE IF NOT EXISTS invitation (
  id               text PRIMARY KEY,
  organization_id  text NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
  email            text NOT NULL,
  role             text,
  status           text NOT NULL DEFAULT 'pending',
  expires_at       timestamp NOT NULL,
  created_at       timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
  inviter_id       text NOT NULL REFERENCES "user"(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS invitation_organizationId_idx ON invitation (organization_id);
CREATE INDEX IF NOT EXISTS invitation_email_idx ON invitation (email);

CREATE TABLE IF NOT EXISTS two_factor (
  id                         text PRIMARY KEY,
  secret                     text NOT NULL,
  backup_codes               text NOT NULL,
  user_id                    text NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
  verified                   boolean DEFAULT true,
  failed_verification_count  integer DEFAULT 0,
  locked_until               timestamp,
  last_totp_step             bigint
);
CREATE INDEX IF NOT EXISTS two_factor_secret_idx ON two_factor (secret);
CREATE INDEX IF NOT EXISTS two_factor_userId_idx ON two_factor (user_id);

-- +goose Down
SELECT 1;
