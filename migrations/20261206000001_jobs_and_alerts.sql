-- Issue 15, part 1: scheduled jobs that every process runs and exactly one process takes per
-- due time, and per-workspace alerts with editable rules and a resolution workflow.

-- Jobs serve every workspace, so these two tables belong to none (like the session store).
create table scheduled_jobs (
  name text primary key,
  description text not null,
  every_seconds integer not null constraint scheduled_jobs_every_valid check (every_seconds between 5 and 86400),
  enabled boolean not null default true,
  next_run_at timestamptz not null default now(),
  -- Set by "Run now" until a process takes the run.
  requested_by uuid references users (id) on delete set null,
  requested_at timestamptz
);

insert into scheduled_jobs (name, description, every_seconds) values
  ('detect-stuck-tasks', 'Escalates tasks that stayed in a state past the limit their workspace''s stuck-task rule sets.', 60),
  ('evaluate-alerts', 'Checks every workspace''s alert rules: opens new alerts, updates open ones and resolves those whose condition cleared.', 60),
  ('model-plan-guard', 'Watches the first calls of applied legacy migration plans and rolls a plan back when its guard trips.', 15),
  ('purge-expired', 'Deletes expired sessions, ended sign-in counts, stale analysis cache rows and job runs older than 30 days.', 300);

create table job_runs (
  id bigint generated always as identity primary key,
  job text not null references scheduled_jobs (name) on delete cascade,
  trigger text not null constraint job_runs_trigger_valid check (trigger in ('schedule', 'manual')),
  -- The process that ran it (host, pid).
  instance text not null,
  started_at timestamptz not null default clock_timestamp(),
  finished_at timestamptz,
  outcome text not null default 'running' constraint job_runs_outcome_valid
    check (outcome in ('running', 'succeeded', 'failed')),
  rows_affected bigint,
  error text
);
create index job_runs_job_idx on job_runs (job, id desc);

grant select, update on scheduled_jobs to smartcrm_app;
grant select, insert, update, delete on job_runs to smartcrm_app;

-- Each workspace's alert rules: one row per kind once edited (defaults live in the code).
create table alert_rules (
  tenant_id uuid not null references tenants (id) on delete cascade,
  -- Every rule's thresholds, validated by the server (alerts::rules) before they are stored.
  rules jsonb not null constraint alert_rules_object check (jsonb_typeof(rules) = 'object'),
  version integer not null default 1,
  updated_by uuid references users (id) on delete set null,
  updated_at timestamptz not null default now(),
  primary key (tenant_id)
);

create table alerts (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id) on delete cascade,
  kind text not null constraint alerts_kind_valid check (kind in (
    'stuck_task', 'failure_rate', 'escalation_backlog', 'quality_drift', 'budget',
    'provider_errors', 'latency_sla', 'model_plan_guard')),
  -- One live alert per condition: a condition that holds again updates it instead.
  dedup_key text not null constraint alerts_dedup_key_length check (char_length(dedup_key) between 1 and 200),
  severity text not null constraint alerts_severity_valid check (severity in ('warning', 'critical')),
  title text not null constraint alerts_title_length check (char_length(title) between 1 and 300),
  detail text not null default '' constraint alerts_detail_length check (char_length(detail) <= 4000),
  -- Where to look (a task, the queue, the models page).
  link text,
  state text not null default 'open' constraint alerts_state_valid
    check (state in ('open', 'acknowledged', 'resolved', 'auto_resolved')),
  occurrences integer not null default 1,
  opened_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  acknowledged_by uuid references users (id) on delete set null,
  acknowledged_at timestamptz,
  resolved_by uuid references users (id) on delete set null,
  resolved_at timestamptz,
  resolution text constraint alerts_resolution_valid check (resolution in ('fixed', 'false_alarm', 'accepted', 'cleared')),
  resolution_note text not null default '' constraint alerts_note_length check (char_length(resolution_note) <= 2000),
  version integer not null default 1,
  constraint alerts_tenant_id_unique unique (tenant_id, id)
);
create unique index alerts_live_key on alerts (tenant_id, dedup_key) where state in ('open', 'acknowledged');
create index alerts_tenant_opened_idx on alerts (tenant_id, opened_at desc, id desc);

do $$
declare t text;
begin
  foreach t in array array['alert_rules', 'alerts'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format('create policy %I on %I using (tenant_id = (select app_tenant_id())) with check (tenant_id = (select app_tenant_id()))',
                   t || '_tenant', t);
    execute format('grant select, insert, update, delete on %I to smartcrm_app', t);
  end loop;
  -- The jobs visit every workspace through app_workspace_ids(), which runs as the owner.
  execute format('create policy tenants_owner_lists on tenants for select to %I using (true)', current_user);
end $$;

-- The workspaces a job visits, one transaction scoped to each; reveals ids only.
create function app_workspace_ids() returns table (tenant_id uuid)
language sql stable security definer set search_path = public, pg_temp as $$
  select t.id from tenants t order by t.id limit 100000
$$;
revoke all on function app_workspace_ids() from public;
grant execute on function app_workspace_ids() to smartcrm_app;

-- The stuck-task check and detector: tasks by state and the time they entered it.
create index project_tasks_state_age_idx on project_tasks (tenant_id, execution_state, state_entered_at)
  where execution_state not in ('delivered', 'rejected', 'cancelled');
-- The failure-rate rule: the outcomes of attempts in a window.
create index task_state_transitions_outcome_idx on task_state_transitions (tenant_id, at)
  where to_state in ('failed', 'approved', 'awaiting_review', 'rejected', 'escalated', 'retry_scheduled');
-- The quality-drift rule: scores over time.
create index project_deliverables_scored_idx on project_deliverables (tenant_id, created_at)
  include (quality_score) where quality_score is not null;
