-- Bumped on password change and on disable: access tokens carrying an older version stop working.
alter table app.users add column token_version integer not null default 0;
