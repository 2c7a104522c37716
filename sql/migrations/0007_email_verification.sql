-- Email verification: single-use, expiring tokens (hashes only), and the development outbox.
create table app.email_verification_tokens (
  token_hash text primary key,
  user_id uuid not null references app.users (id) on delete cascade,
  -- The email job that created it: a retried job replaces its own unused token.
  job_id uuid not null,
  expires_at timestamptz not null,
  used_at timestamptz,
  created_at timestamptz not null default now()
);
create index email_verification_tokens_user_idx on app.email_verification_tokens (user_id);
create index email_verification_tokens_job_idx on app.email_verification_tokens (job_id);

-- Where mail goes when SMTP_URL is unset (development): one row per message.
create table app.email_outbox (
  id uuid primary key default gen_random_uuid(),
  to_address text not null,
  subject text not null,
  body text not null,
  job_id uuid,
  created_at timestamptz not null default now()
);
