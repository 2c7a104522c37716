-- Read-only share links of a workspace (issue 39): the link's token is shown once, when it is made;
-- only its SHA-256 is kept. A workspace has at most one live link: a new one revokes the last.
-- The app's role gets its privileges from the default privileges of 0027.
create table app.workspace_shares (
  id uuid primary key,
  workspace_id uuid not null references app.workspaces (id) on delete cascade,
  owner_id uuid not null references app.users (id) on delete cascade,
  token_hash text not null unique,
  expires_at timestamptz not null,
  revoked_at timestamptz,
  created_at timestamptz not null default now()
);
create index workspace_shares_workspace_idx on app.workspace_shares (workspace_id, created_at desc);
create index workspace_shares_owner_idx on app.workspace_shares (owner_id);
