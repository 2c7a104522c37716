-- Accounts, refresh-token families and login lockouts.
create table app.users (
  id uuid primary key default gen_random_uuid(),
  email text not null,
  email_normalized text not null,
  display_name text not null,
  password_hash text not null,
  role text not null default 'user' check (role in ('user', 'admin')),
  email_verified_at timestamptz,
  disabled_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint users_email_normalized_key unique (email_normalized)
);

-- Only SHA-256 hashes of refresh tokens are stored; a family is one login's chain of rotations.
create table app.refresh_tokens (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references app.users (id) on delete cascade,
  family_id uuid not null,
  token_hash text not null,
  family_expires_at timestamptz not null,
  created_at timestamptz not null default now(),
  used_at timestamptz,
  revoked_at timestamptz,
  constraint refresh_tokens_token_hash_key unique (token_hash)
);
create index refresh_tokens_family_id_idx on app.refresh_tokens (family_id);
create index refresh_tokens_user_id_idx on app.refresh_tokens (user_id);

-- Keyed by normalised email, whether or not an account exists, so lockouts reveal nothing.
create table app.login_lockouts (
  email_normalized text primary key,
  failed_count integer not null default 0,
  window_started_at timestamptz not null,
  locked_until timestamptz,
  updated_at timestamptz not null default now()
);
create index login_lockouts_locked_until_idx on app.login_lockouts (locked_until) where locked_until is not null;
