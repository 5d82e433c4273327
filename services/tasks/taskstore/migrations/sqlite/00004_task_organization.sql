-- +goose Up
-- A task's organization (see the PostgreSQL migration).
ALTER TABLE tasks ADD COLUMN organization_id text;
CREATE INDEX tasks_org_created_idx ON tasks (organization_id, created_at DESC, id DESC)
  WHERE organization_id IS NOT NULL;

-- +goose Down
DROP INDEX tasks_org_created_idx;
ALTER TABLE tasks DROP COLUMN organization_id;
