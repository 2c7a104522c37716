-- Password reset (issue 32): single-use, short-lived tokens, stored only as their SHA-256. The
-- email job makes the token, so its raw form exists only in the mail it sends.
create table app.password_reset_tokens (
  token_hash text primary key,
  user_id uuid not null references app.users (id) on delete cascade,
  -- The email job that made it: a retried job replaces its own unused token.
  job_id uuid not null,
  expires_at timestamptz not null,
  used_at timestamptz,
  created_at timestamptz not null default now()
);
create index password_reset_tokens_user_idx on app.password_reset_tokens (user_id);
create index password_reset_tokens_job_idx on app.password_reset_tokens (job_id);
