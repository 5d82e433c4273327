-- Minting a token with an active organization looks up the newest member
-- event for (user, organization) (the same-second rule,
-- docs/organizations.md); this index keeps that one probe.

-- +goose Up
CREATE INDEX IF NOT EXISTS revocation_event_member_idx ON revocation_event (subject, organization_id, at_ms)
  WHERE organization_id IS NOT NULL;

-- +goose Down
DROP INDEX IF EXISTS revocation_event_member_idx;
