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

-- Promoting an experiment moves its prompt to the candidate like a bulk change does, with a
-- backup tagged by the experiment.
alter table ai_model_backups drop constraint ai_model_backups_source_valid;
alter table ai_model_backups add constraint ai_model_backups_source_valid
  check (source in ('bulk', 'plan', 'experiment'));

-- The month whose soft-limit alert was raised, so it is raised once a month.
alter table ai_workspace_settings add column soft_alerted_month date;
