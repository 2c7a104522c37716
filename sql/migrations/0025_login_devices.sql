-- Issue 32: twenty failed logins for an email from any mix of addresses slowed every login to it,
-- the owner's included, for as long as a stranger kept failing. Now the owner's own browsers are
-- known (the OWASP device cookie) and keep a failure budget of their own, and an unknown browser
-- past the per-account threshold is sent a one-time sign-in link instead of being kept waiting.

-- A browser that signed in to an account: its cookie carries a random id, this only the id's hash.
-- Failures from it count here, not against its address or the account (locked_until: it is a
-- stranger again until then). At most a few per user, the least recently used dropped.
create table app.login_devices (
  user_id uuid not null references app.users (id) on delete cascade,
  device_hash text not null,
  created_at timestamptz not null,
  last_login_at timestamptz not null,
  failed_count integer not null default 0,
  window_started_at timestamptz,
  locked_until timestamptz,
  primary key (user_id, device_hash)
);

-- One-time sign-in links (hashes only), made by the email job that sends them; single use,
-- short-lived, and each user's spent ones are deleted when the next is made.
create table app.login_link_tokens (
  token_hash text primary key,
  user_id uuid not null references app.users (id) on delete cascade,
  -- The email job that made it: a retried job replaces its own unused token.
  job_id uuid not null,
  expires_at timestamptz not null,
  used_at timestamptz,
  created_at timestamptz not null default now()
);
create index login_link_tokens_user_idx on app.login_link_tokens (user_id);
create index login_link_tokens_job_idx on app.login_link_tokens (job_id);

-- Logins are no longer slowed email-wide (a challenge replaced the delay): no row sets this now.
update app.login_lockouts set next_attempt_at = null where next_attempt_at is not null;
