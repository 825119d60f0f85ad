-- Tenancy, people, sign-in throttling, sessions and the audit log.
--
-- The application connects as the database owner only to run migrations. Every request runs its
-- queries as the non-owner role `smartcrm_app`, and each transaction sets `app.tenant_id` and
-- `app.user_id`. Row-level security (forced) on every tenant-owned table backs the query filters.

create extension if not exists vector;

-- Roles are cluster-wide and tests migrate many databases at once: tolerate the race.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'smartcrm_app') then
    create role smartcrm_app nologin noinherit nobypassrls;
  end if;
exception when duplicate_object or unique_violation then null;
end $$;

do $$
begin
  if not pg_has_role(current_user, 'smartcrm_app', 'member') then
    execute format('grant smartcrm_app to %I', current_user);
  end if;
exception when others then
  raise notice 'could not grant smartcrm_app to %: %', current_user, sqlerrm;
end $$;

create function app_tenant_id() returns uuid
language sql stable as $$ select nullif(current_setting('app.tenant_id', true), '')::uuid $$;

create function app_user_id() returns uuid
language sql stable as $$ select nullif(current_setting('app.user_id', true), '')::uuid $$;

create table tenants (
  id uuid primary key,
  name text not null constraint tenants_name_length check (char_length(name) between 1 and 120),
  slug text not null constraint tenants_slug_unique unique
       constraint tenants_slug_format check (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  created_at timestamptz not null default now()
);

-- Users are global identities (an email signs in once); what they may see comes from memberships.
create table users (
  id uuid primary key,
  email text not null constraint users_email_lowercase check (email = lower(email)),
  display_name text not null constraint users_display_name_length check (char_length(display_name) between 1 and 120),
  password_hash text not null,
  created_at timestamptz not null default now(),
  constraint users_email_unique unique (email)
);

create table memberships (
  tenant_id uuid not null references tenants (id) on delete cascade,
  user_id uuid not null references users (id) on delete cascade,
  role text not null constraint memberships_role_valid check (role in ('admin', 'manager', 'rep', 'qa')),
  created_at timestamptz not null default now(),
  constraint memberships_pkey primary key (tenant_id, user_id)
);
create index memberships_user_idx on memberships (user_id, tenant_id);

-- Failed sign-ins per email, whether or not the account exists, so throttling reveals nothing.
create table sign_in_throttle (
  email text primary key,
  failures integer not null default 0,
  window_started_at timestamptz not null default now(),
  locked_until timestamptz
);

create table audit_log (
  tenant_id uuid not null references tenants (id) on delete cascade,
  id bigint generated always as identity,
  at timestamptz not null default now(),
  actor_user_id uuid references users (id) on delete set null,
  action text not null,
  target text,
  detail jsonb not null default '{}'::jsonb,
  constraint audit_log_pkey primary key (tenant_id, id)
);
-- keyset pagination: newest first within a tenant
create index audit_log_tenant_id_desc_idx on audit_log (tenant_id, id desc);
create index audit_log_tenant_action_at_idx on audit_log (tenant_id, action, at);

-- tower-sessions' PostgresStore table (its own migrate() would need CREATE on the database).
create schema if not exists tower_sessions;
create table if not exists tower_sessions.session (
  id text primary key not null,
  data bytea not null,
  expiry_date timestamptz not null
);
create index if not exists session_expiry_idx on tower_sessions.session (expiry_date);

-- Row-level security. FORCE applies the policies to the table owner as well.
alter table tenants enable row level security;
alter table tenants force row level security;
create policy tenants_visible on tenants
  using (id = app_tenant_id()
         or id in (select m.tenant_id from memberships m where m.user_id = app_user_id()));

alter table memberships enable row level security;
alter table memberships force row level security;
create policy memberships_tenant on memberships
  using (tenant_id = app_tenant_id() or user_id = app_user_id())
  with check (tenant_id = app_tenant_id());

alter table audit_log enable row level security;
alter table audit_log force row level security;
create policy audit_log_tenant on audit_log
  using (tenant_id = app_tenant_id())
  with check (tenant_id = app_tenant_id());

grant usage on schema public to smartcrm_app;
grant select, insert, update, delete on tenants, users, memberships, sign_in_throttle, audit_log to smartcrm_app;
grant usage on schema tower_sessions to smartcrm_app;
grant select, insert, update, delete on tower_sessions.session to smartcrm_app;
grant execute on function app_tenant_id(), app_user_id() to smartcrm_app;
