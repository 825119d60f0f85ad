-- Issue 14: the guard of an applied legacy migration plan runs in the background, for every
-- workspace. The app role sees one workspace at a time, so this lists the plans being watched
-- (and nothing else) for the job to open each workspace's own transaction.
create function app_watched_model_plans() returns table (tenant_id uuid, plan_id uuid)
language sql stable security definer set search_path = public, pg_temp as $$
  select p.tenant_id, p.id from ai_model_plans p
  where p.status = 'applied' and p.guard_state = 'watching'
  order by p.applied_at
  limit 1000
$$;
revoke execute on function app_watched_model_plans() from public;
grant execute on function app_watched_model_plans() to smartcrm_app;
