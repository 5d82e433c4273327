-- +goose Up
-- A task belongs to its creator (organization_id NULL: a personal task) or to
-- an organization (user_id then names the member who created it). Adding a
-- nullable column without a default rewrites no row.
ALTER TABLE tasks ADD COLUMN organization_id text;
-- The organization's list, newest first, in the order of the per-user list;
-- partial, so personal tasks (most rows) cost this index nothing.
CREATE INDEX tasks_org_created_idx ON tasks (organization_id, created_at DESC, id DESC)
  WHERE organization_id IS NOT NULL;

-- +goose Down
DROP INDEX tasks_org_created_idx;
ALTER TABLE tasks DROP COLUMN organization_id;
