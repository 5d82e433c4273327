-- Member events of the revocation feed (docs/revocation.md): a role change,
-- removal, leave or organization deletion names the organization whose
-- tokens of that user are refused.

-- +goose Up
ALTER TABLE revocation_event ADD COLUMN organization_id text;

-- +goose Down
ALTER TABLE revocation_event DROP COLUMN organization_id;
