-- The app role no longer reads every user: a member sees themselves and the members of the
-- workspace the transaction is scoped to. Sign-in, which must find a user by email before it
-- knows who they are, goes through one narrow security-definer function.
--
-- Not FORCE: the owner (migrations, and the function below, which runs as the owner) still
-- sees every row.
alter table users enable row level security;

create policy users_visible on users for select
  using (id = app_user_id()
         or id in (select m.user_id from memberships m where m.tenant_id = app_tenant_id()));
-- A user row is written by whoever acts as that user (sign-up, seeding, their own profile).
create policy users_insert on users for insert
  with check (id = app_user_id());
create policy users_update on users for update
  using (id = app_user_id())
  with check (id = app_user_id());

-- Exactly what sign-in needs for one email: the id and the password hash, nothing else.
create function sign_in_credentials(p_email text)
returns table (user_id uuid, password_hash text)
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$ select u.id, u.password_hash from public.users u where u.email = p_email $$;

revoke all on function sign_in_credentials(text) from public;
grant execute on function sign_in_credentials(text) to smartcrm_app;
