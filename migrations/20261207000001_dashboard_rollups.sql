-- Issue 15, part 2: the operations dashboard reads daily rollups, never the raw tables, so it
-- stays fast at millions of tasks and AI calls. The refresh-dashboard job rebuilds each
-- workspace's recent days (normally today only) and a snapshot of its tasks by state.

-- A value's bucket in a log-scale histogram (each bucket 10% wider than the one before; 0 to
-- about 10^8, so milliseconds up to a day and seconds up to three years). Percentiles over any
-- set of days come from adding their histograms; the code reads a bucket as its middle.
create function dashboard_bucket(x double precision) returns smallint
language sql immutable parallel safe as $$
  select least(199, greatest(0, floor(ln(1 + greatest(coalesce(x, 0), 0)) / ln(1.1))))::smallint
$$;

-- Per day (UTC), model and provider: the AI calls' counts, tokens, cost and latency.
create table dashboard_ai_daily (
  tenant_id uuid not null references tenants (id) on delete cascade,
  day date not null,
  -- The model that answered, else the one requested.
  model text not null,
  provider text not null,
  calls integer not null,
  errors integer not null,
  cache_hits integer not null,
  prompt_tokens bigint not null,
  completion_tokens bigint not null,
  cost_usd double precision not null,
  -- {"bucket": calls} of latency_ms, calls that reached a model only (not cache hits).
  latency_hist jsonb not null,
  constraint dashboard_ai_daily_pkey primary key (tenant_id, day, model, provider)
);

-- Per day (UTC): the drafts scored that day (decisions, quality and its parts) and the tasks
-- delivered that day (with the time from the task's creation to its delivery).
create table dashboard_pipeline_daily (
  tenant_id uuid not null references tenants (id) on delete cascade,
  day date not null,
  delivered integer not null,
  scored integer not null,
  approved integer not null,
  reviewed integer not null,
  retried integer not null,
  rejected integer not null,
  escalated integer not null,
  quality_sum bigint not null,
  readability_sum bigint not null,
  sentiment_sum bigint not null,
  brand_sum bigint not null,
  compliance_sum bigint not null,
  -- {"bucket": tasks} of seconds from creation to delivery.
  delivery_hist jsonb not null,
  constraint dashboard_pipeline_daily_pkey primary key (tenant_id, day)
);

-- The workspace's tasks by state and its escalation backlog when the job last ran; also the
-- rollups' watermark (the next refresh rebuilds from the day of refreshed_at on).
create table dashboard_snapshots (
  tenant_id uuid primary key references tenants (id) on delete cascade,
  tasks_by_state jsonb not null,
  backlog integer not null,
  backlog_oldest_at timestamptz,
  refreshed_at timestamptz not null
);

-- The refresh reads a day's deliveries per workspace.
create index project_deliverables_delivered_idx on project_deliverables (tenant_id, delivered_at)
  where delivered_at is not null;

do $$
declare t text;
begin
  foreach t in array array['dashboard_ai_daily', 'dashboard_pipeline_daily', 'dashboard_snapshots'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format('create policy %I on %I using (tenant_id = (select app_tenant_id())) with check (tenant_id = (select app_tenant_id()))',
                   t || '_tenant', t);
    execute format('grant select, insert, update, delete on %I to smartcrm_app', t);
  end loop;
end $$;
grant execute on function dashboard_bucket(double precision) to smartcrm_app;

insert into scheduled_jobs (name, description, every_seconds) values
  ('refresh-dashboard', 'Rebuilds each workspace''s dashboard rollups for the days that changed (normally today) and its tasks-by-state snapshot.', 60);
