-- Five failures for an email locked it for everyone, from any address: anyone could lock anyone
-- out. Failures are now counted per (email, client): a client is an IPv4 address or an IPv6 /64.
-- A client that reaches the limit is locked out of that email; the row with client_key '*'
-- counts the email's failures from every client, and past a ceiling it slows logins from every
-- client (next_attempt_at, a progressive delay) instead of locking the user out. Rows whose
-- window and lock are over are deleted by the maintenance job, so unknown emails do not pile up.
alter table app.login_lockouts
  add column client_key text not null default '*',
  add column next_attempt_at timestamptz,
  drop constraint login_lockouts_pkey;
alter table app.login_lockouts add primary key (email_normalized, client_key);
alter table app.login_lockouts alter column client_key drop default;
-- A lock from before this migration was email-wide; it does not carry over as one.
update app.login_lockouts set locked_until = null;
create index login_lockouts_updated_at_idx on app.login_lockouts (updated_at);
