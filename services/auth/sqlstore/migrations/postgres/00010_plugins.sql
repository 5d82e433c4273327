-- The tables and columns of Better Auth's organization and twoFactor plugins
-- (schema-plugins.sql, as Better Auth 1.7.25's migrator writes them), added
-- whether or not AUTH_PLUGINS switches a plugin on, so switching one on needs
-- no migration step. IF NOT EXISTS throughout: on a database Better Auth
-- already serves with these plugins this changes nothing.
--
-- Two columns are Latch's own, additive and ignored by Better Auth:
--   two_factor.last_totp_step  the last accepted TOTP time step, so a code is
--                              accepted once (Better Auth accepts a replay);
--   session.amr                RFC 8176 methods that opened the session
--                              (comma-separated), for the JWT's amr claim.

-- +goose Up
ALTER TABLE "user" ADD COLUMN IF NOT EXISTS two_factor_enabled boolean DEFAULT false;
ALTER TABLE session ADD COLUMN IF NOT EXISTS active_organization_id text;
ALTER TABLE session ADD COLUMN IF NOT EXISTS amr text;

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
  created_at       timestamp NOT NULL DEFAULT now(),
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
  locked_until               timestamp
);
CREATE INDEX IF NOT EXISTS two_factor_secret_idx ON two_factor (secret);
CREATE INDEX IF NOT EXISTS two_factor_userId_idx ON two_factor (user_id);
ALTER TABLE two_factor ADD COLUMN IF NOT EXISTS last_totp_step bigint;

-- +goose Down
-- Deliberately empty: these tables may hold a Better Auth deployment's data.
SELECT 1;
