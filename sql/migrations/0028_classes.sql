-- Organisations and their classes (issue 40), isolated by row-level security. Every row carries
-- its organisation_id, which leads its indexes; every table is FORCE ROW LEVEL SECURITY, so its
-- owner is held to the policies too. The policies read the transaction's context, which the app
-- sets with set_config(…, true) (SET LOCAL: it ends with the transaction, so a pooled connection
-- never carries it): sdc.user_id, the signed-in user; sdc.organisation_id, when set, narrows
-- every table to one organisation. No user, no rows.

create function app.context_user() returns uuid
language sql stable as $$
  select nullif(pg_catalog.current_setting('sdc.user_id', true), '')::uuid
$$;

create function app.context_organisation() returns uuid
language sql stable as $$
  select nullif(pg_catalog.current_setting('sdc.organisation_id', true), '')::uuid
$$;

-- A row of organisation `org` is in reach of this transaction: a user is set, and the
-- organisation set (if any) is that one.
create function app.in_context(org uuid) returns boolean
language sql stable as $$
  select app.context_user() is not null and (app.context_organisation() is null or app.context_organisation() = org)
$$;

create table app.organisations (
  id uuid primary key,
  name text not null check (char_length(name) between 1 and 120),
  -- Kept when the creator's account goes: the organisation is its members'.
  created_by uuid references app.users (id) on delete set null,
  created_at timestamptz not null default now()
);

create table app.organisation_members (
  organisation_id uuid not null references app.organisations (id) on delete cascade,
  user_id uuid not null references app.users (id) on delete cascade,
  role text not null check (role in ('owner', 'instructor')),
  created_at timestamptz not null default now(),
  primary key (organisation_id, user_id)
);

create table app.classes (
  organisation_id uuid not null references app.organisations (id) on delete cascade,
  id uuid not null,
  name text not null check (char_length(name) between 1 and 120),
  created_by uuid references app.users (id) on delete set null,
  created_at timestamptz not null default now(),
  primary key (organisation_id, id),
  unique (id)
);

create table app.class_members (
  organisation_id uuid not null,
  class_id uuid not null,
  user_id uuid not null references app.users (id) on delete cascade,
  role text not null check (role in ('instructor', 'learner')),
  created_at timestamptz not null default now(),
  primary key (organisation_id, class_id, user_id),
  foreign key (organisation_id, class_id) references app.classes (organisation_id, id) on delete cascade
);

-- A join code is shown once, when it is made; only its hash is kept. The hash is unique across
-- organisations (a code names its class), the one index that does not lead with the organisation.
create table app.class_join_codes (
  organisation_id uuid not null,
  class_id uuid not null,
  id uuid not null,
  code_hash text not null unique,
  expires_at timestamptz not null,
  revoked_at timestamptz,
  created_by uuid references app.users (id) on delete set null,
  created_at timestamptz not null default now(),
  primary key (organisation_id, id),
  foreign key (organisation_id, class_id) references app.classes (organisation_id, id) on delete cascade
);
create index class_join_codes_class_idx on app.class_join_codes (organisation_id, class_id, created_at);

-- An invitation names an email (normalized): its owner, signed in, joins without a code.
create table app.class_invitations (
  organisation_id uuid not null,
  class_id uuid not null,
  id uuid not null,
  email_normalized text not null,
  role text not null default 'learner' check (role in ('instructor', 'learner')),
  expires_at timestamptz not null,
  accepted_at timestamptz,
  revoked_at timestamptz,
  invited_by uuid references app.users (id) on delete set null,
  created_at timestamptz not null default now(),
  primary key (organisation_id, id),
  foreign key (organisation_id, class_id) references app.classes (organisation_id, id) on delete cascade
);
create index class_invitations_email_idx on app.class_invitations (organisation_id, class_id, email_normalized);
create index class_invitations_day_idx on app.class_invitations (organisation_id, created_at);

-- Audit rows carry the organisation a class route acted in (outside the hash chain, like trace_id).
alter table app.audit_log add column organisation_id uuid;
create index audit_log_organisation_idx on app.audit_log (organisation_id, id) where organisation_id is not null;
grant insert (organisation_id) on app.audit_log to sdc_app;

-- Membership questions the policies ask. They read the membership tables as sdc_definer, whose
-- policies admit every row: a policy that queried its own table as the caller would recurse.
grant select on app.organisations, app.organisation_members, app.classes, app.class_members,
  app.class_join_codes, app.class_invitations to sdc_definer;
grant select (id, email_normalized) on app.users to sdc_definer;

-- The caller's role in an organisation: 'owner', 'instructor' or null.
create function app.organisation_role(org uuid) returns text
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select m.role from app.organisation_members m
  where m.organisation_id operator(pg_catalog.=) org and m.user_id operator(pg_catalog.=) app.context_user()
$$;

-- The caller's role in a class: 'instructor', 'learner' or null.
create function app.class_role(org uuid, class uuid) returns text
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select m.role from app.class_members m
  where m.organisation_id operator(pg_catalog.=) org and m.class_id operator(pg_catalog.=) class
    and m.user_id operator(pg_catalog.=) app.context_user()
$$;

-- The caller belongs to the organisation, or to one of its classes.
create function app.belongs_to(org uuid) returns boolean
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select exists (select 1 from app.organisation_members m
                 where m.organisation_id operator(pg_catalog.=) org and m.user_id operator(pg_catalog.=) app.context_user())
      or exists (select 1 from app.class_members m
                 where m.organisation_id operator(pg_catalog.=) org and m.user_id operator(pg_catalog.=) app.context_user())
$$;

-- The caller created the organisation and nobody is its member yet: its first owner is the caller.
create function app.organisation_unclaimed(org uuid) returns boolean
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select exists (select 1 from app.organisations o
                 where o.id operator(pg_catalog.=) org and o.created_by operator(pg_catalog.=) app.context_user())
     and not exists (select 1 from app.organisation_members m where m.organisation_id operator(pg_catalog.=) org)
$$;

-- The caller may join the class as a learner: the transaction carries one of its join codes
-- (sdc.join_code, hashed) that is neither expired nor revoked, or the caller's email has an open
-- invitation to it.
create function app.may_join(org uuid, class uuid) returns boolean
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select exists (
           select 1 from app.class_join_codes c
           where c.organisation_id operator(pg_catalog.=) org and c.class_id operator(pg_catalog.=) class
             and c.code_hash operator(pg_catalog.=) pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(
                   coalesce(pg_catalog.current_setting('sdc.join_code', true), ''), 'UTF8')), 'hex')
             and c.revoked_at is null and c.expires_at operator(pg_catalog.>) pg_catalog.now())
      or exists (
           select 1 from app.class_invitations i
           join app.users u on u.email_normalized operator(pg_catalog.=) i.email_normalized
           where i.organisation_id operator(pg_catalog.=) org and i.class_id operator(pg_catalog.=) class
             and u.id operator(pg_catalog.=) app.context_user()
             and i.accepted_at is null and i.revoked_at is null and i.expires_at operator(pg_catalog.>) pg_catalog.now())
$$;

-- The caller's email is the invitation's (to mark it accepted).
create function app.invited(address text) returns boolean
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select exists (select 1 from app.users u
                 where u.id operator(pg_catalog.=) app.context_user() and u.email_normalized operator(pg_catalog.=) address)
$$;

-- A join code's class, for a sign-up that carries one (before any user exists): its organisation
-- and class when the code is valid, else nothing. Only the hash is compared.
create function app.join_code_class(code text)
returns table (organisation_id uuid, class_id uuid)
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select c.organisation_id, c.class_id from app.class_join_codes c
  where c.code_hash operator(pg_catalog.=) pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(code, 'UTF8')), 'hex')
    and c.revoked_at is null and c.expires_at operator(pg_catalog.>) pg_catalog.now()
$$;

-- Members of a class, for its size limit (a joining learner sees no other member's row).
create function app.class_size(org uuid, class uuid) returns integer
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select pg_catalog.count(*)::integer from app.class_members m
  where m.organisation_id operator(pg_catalog.=) org and m.class_id operator(pg_catalog.=) class
$$;

-- A class's organisation, for a caller who may join it (a code in the context, or an invitation).
create function app.joinable_class(class uuid) returns uuid
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select c.organisation_id from app.classes c
  where c.id operator(pg_catalog.=) class and app.may_join(c.organisation_id, c.id)
$$;

alter function app.joinable_class(uuid) owner to sdc_definer;
alter function app.class_size(uuid, uuid) owner to sdc_definer;
alter function app.organisation_role(uuid) owner to sdc_definer;
alter function app.class_role(uuid, uuid) owner to sdc_definer;
alter function app.belongs_to(uuid) owner to sdc_definer;
alter function app.organisation_unclaimed(uuid) owner to sdc_definer;
alter function app.may_join(uuid, uuid) owner to sdc_definer;
alter function app.invited(text) owner to sdc_definer;
alter function app.join_code_class(text) owner to sdc_definer;

alter table app.organisations enable row level security;
alter table app.organisations force row level security;
alter table app.organisation_members enable row level security;
alter table app.organisation_members force row level security;
alter table app.classes enable row level security;
alter table app.classes force row level security;
alter table app.class_members enable row level security;
alter table app.class_members force row level security;
alter table app.class_join_codes enable row level security;
alter table app.class_join_codes force row level security;
alter table app.class_invitations enable row level security;
alter table app.class_invitations force row level security;

-- sdc_definer's functions above read every membership row (it can only select).
create policy definer_reads on app.organisations for select to sdc_definer using (true);
create policy definer_reads on app.organisation_members for select to sdc_definer using (true);
create policy definer_reads on app.classes for select to sdc_definer using (true);
create policy definer_reads on app.class_members for select to sdc_definer using (true);
create policy definer_reads on app.class_join_codes for select to sdc_definer using (true);
create policy definer_reads on app.class_invitations for select to sdc_definer using (true);

-- Organisations: its members (and its classes' members) read it; its creator makes it; owners change it.
create policy members_read on app.organisations for select
  using (app.in_context(id) and (created_by = app.context_user() or app.belongs_to(id)));
create policy creator_inserts on app.organisations for insert
  with check (app.in_context(id) and created_by = app.context_user());
create policy owners_update on app.organisations for update
  using (app.in_context(id) and app.organisation_role(id) = 'owner');
create policy owners_delete on app.organisations for delete
  using (app.in_context(id) and app.organisation_role(id) = 'owner');

-- Organisation memberships: a member sees their own, the organisation's members see each other;
-- owners add and remove; the creator of an organisation without members becomes its owner.
create policy members_read on app.organisation_members for select
  using (app.in_context(organisation_id) and (user_id = app.context_user() or app.organisation_role(organisation_id) is not null));
create policy owners_insert on app.organisation_members for insert
  with check (app.in_context(organisation_id) and (
    app.organisation_role(organisation_id) = 'owner'
    or (role = 'owner' and user_id = app.context_user() and app.organisation_unclaimed(organisation_id))));
create policy owners_update on app.organisation_members for update
  using (app.in_context(organisation_id) and app.organisation_role(organisation_id) = 'owner');
create policy owners_delete on app.organisation_members for delete
  using (app.in_context(organisation_id) and app.organisation_role(organisation_id) = 'owner');

-- Classes: the organisation's members and the class's members read it; the organisation's members
-- make classes; the organisation's owners and the class's instructors change and delete it.
create policy members_read on app.classes for select
  using (app.in_context(organisation_id) and (
    app.organisation_role(organisation_id) is not null or app.class_role(organisation_id, id) is not null));
create policy staff_insert on app.classes for insert
  with check (app.in_context(organisation_id) and app.organisation_role(organisation_id) is not null);
create policy instructors_update on app.classes for update
  using (app.in_context(organisation_id) and (
    app.organisation_role(organisation_id) = 'owner' or app.class_role(organisation_id, id) = 'instructor'));
create policy instructors_delete on app.classes for delete
  using (app.in_context(organisation_id) and (
    app.organisation_role(organisation_id) = 'owner' or app.class_role(organisation_id, id) = 'instructor'));

-- Class members: a learner sees their own membership, never their classmates'; the class's
-- instructors and the organisation's owners see and manage all. A learner joins by a valid code
-- or invitation (app.may_join); the organisation's staff join a class as its instructor; anyone leaves.
create policy members_read on app.class_members for select
  using (app.in_context(organisation_id) and (
    user_id = app.context_user() or app.organisation_role(organisation_id) = 'owner'
    or app.class_role(organisation_id, class_id) = 'instructor'));
create policy joins_insert on app.class_members for insert
  with check (app.in_context(organisation_id) and (
    app.organisation_role(organisation_id) = 'owner'
    or app.class_role(organisation_id, class_id) = 'instructor'
    or (user_id = app.context_user() and role = 'instructor' and app.organisation_role(organisation_id) is not null)
    or (user_id = app.context_user() and role = 'learner' and app.may_join(organisation_id, class_id))));
create policy instructors_update on app.class_members for update
  using (app.in_context(organisation_id) and (
    app.organisation_role(organisation_id) = 'owner' or app.class_role(organisation_id, class_id) = 'instructor'));
create policy leave_or_remove on app.class_members for delete
  using (app.in_context(organisation_id) and (
    user_id = app.context_user() or app.organisation_role(organisation_id) = 'owner'
    or app.class_role(organisation_id, class_id) = 'instructor'));

-- Join codes and invitations: the class's instructors and the organisation's owners alone; an
-- invitee marks their own invitation accepted.
create policy instructors_all on app.class_join_codes for all
  using (app.in_context(organisation_id) and (
    app.organisation_role(organisation_id) = 'owner' or app.class_role(organisation_id, class_id) = 'instructor'))
  with check (app.in_context(organisation_id) and (
    app.organisation_role(organisation_id) = 'owner' or app.class_role(organisation_id, class_id) = 'instructor'));
create policy instructors_all on app.class_invitations for all
  using (app.in_context(organisation_id) and (
    app.organisation_role(organisation_id) = 'owner' or app.class_role(organisation_id, class_id) = 'instructor'))
  with check (app.in_context(organisation_id) and (
    app.organisation_role(organisation_id) = 'owner' or app.class_role(organisation_id, class_id) = 'instructor'));
create policy invitee_reads on app.class_invitations for select
  using (app.in_context(organisation_id) and app.invited(email_normalized));
create policy invitee_accepts on app.class_invitations for update
  using (app.in_context(organisation_id) and app.invited(email_normalized))
  with check (app.in_context(organisation_id) and app.invited(email_normalized));
