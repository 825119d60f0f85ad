-- Issue 14: prompts and models under control. The catalog gets a status and effective-dated
-- prices and tells every instance when it changes; prompts get a required model (legacy rows
-- backfilled), immutable versions with labels; workspaces and users get model settings, a
-- budget and a rate limit; reassignments and migration plans keep backups to undo; experiments
-- send part of a prompt's traffic to a candidate model.

-- The catalog is shared by every workspace, so one workspace edits it: the operator's
-- (`SMARTCRM_CATALOG_WORKSPACE`, or the first demo workspace).
alter table tenants add column operates_catalog boolean not null default false;

create function app_operates_catalog() returns boolean
language sql stable security definer set search_path = public as $$
  select coalesce((select t.operates_catalog from tenants t where t.id = app_tenant_id()), false)
$$;
grant execute on function app_operates_catalog() to smartcrm_app;

-- Status replaces the on/off flag: every model still answers the prompts that name it, but only
-- an active one is offered for new choices or recommended for a tier.
alter table ai_models
  add column status text not null default 'active'
    constraint ai_models_status_valid check (status in ('active', 'deprecated', 'legacy')),
  add column updated_by uuid references users (id) on delete set null;
update ai_models set status = 'deprecated' where not active;
update ai_models set status = 'legacy', recommended = false
  where id in ('gpt-5.1', 'gpt-5.1-thinking', 'gpt-5.1-instant', 'gpt-4-turbo', 'gpt-3.5-turbo');
alter table ai_models drop column active;
create unique index ai_models_one_recommended_per_tier on ai_models (tier) where recommended;
alter table ai_models
  add constraint ai_models_recommended_is_active check (not recommended or status = 'active'),
  add constraint ai_models_display_name_trimmed check (display_name = btrim(display_name));

-- Prices carry the date they take effect, so a call is always costed at the price of its day.
create table ai_model_prices (
  model_id text not null references ai_models (id) on delete cascade on update cascade,
  effective_from timestamptz not null,
  -- US dollars per 1,000 tokens.
  input_cost_per_1k double precision not null
    constraint ai_model_prices_input_valid check (input_cost_per_1k >= 0 and input_cost_per_1k <= 1000),
  output_cost_per_1k double precision not null
    constraint ai_model_prices_output_valid check (output_cost_per_1k >= 0 and output_cost_per_1k <= 1000),
  created_by uuid references users (id) on delete set null,
  created_at timestamptz not null default now(),
  constraint ai_model_prices_pkey primary key (model_id, effective_from)
);
insert into ai_model_prices (model_id, effective_from, input_cost_per_1k, output_cost_per_1k)
  select id, '2026-01-01T00:00:00Z', input_cost_per_1k, output_cost_per_1k from ai_models;
alter table ai_models drop column input_cost_per_1k, drop column output_cost_per_1k;

-- Every instance listens on `ai_catalog` and reloads its catalog when it changes.
create function ai_catalog_changed() returns trigger language plpgsql as $$
begin
  perform pg_notify('ai_catalog', tg_table_name);
  return null;
end $$;
create trigger ai_models_notify after insert or update or delete on ai_models
  for each statement execute function ai_catalog_changed();
create trigger ai_model_prices_notify after insert or update or delete on ai_model_prices
  for each statement execute function ai_catalog_changed();

alter table ai_models enable row level security;
alter table ai_models force row level security;
create policy ai_models_read on ai_models for select using (true);
create policy ai_models_insert on ai_models for insert with check (app_operates_catalog());
create policy ai_models_update on ai_models for update using (app_operates_catalog()) with check (app_operates_catalog());
alter table ai_model_prices enable row level security;
alter table ai_model_prices force row level security;
create policy ai_model_prices_read on ai_model_prices for select using (true);
create policy ai_model_prices_insert on ai_model_prices for insert with check (app_operates_catalog());
grant insert, update on ai_models to smartcrm_app;
grant select, insert on ai_model_prices to smartcrm_app;

-- Prompts: the task a prompt serves (its tier gives the default model), a description, and who
-- wrote each version with a note. Versions are immutable; labels say which one serves.
alter table ai_prompts
  add column task_kind text constraint ai_prompts_task_kind_valid
    check (task_kind in ('research', 'communication', 'summary', 'ui_helper', 'content_generation')),
  add column description text not null default ''
    constraint ai_prompts_description_length check (char_length(description) <= 500),
  add column note text not null default ''
    constraint ai_prompts_note_length check (char_length(note) <= 500),
  add column created_by uuid references users (id) on delete set null,
  add constraint ai_prompts_system_length check (char_length(system_prompt) <= 20000),
  add constraint ai_prompts_template_length check (char_length(template) <= 50000);

-- The migration runs as the owner, whom FORCE subjects to the policies: lift it for the backfill.
alter table ai_prompts no force row level security;
alter table ai_prompts disable row level security;

update ai_prompts set task_kind = case name
    when 'smart_engagement_tips' then 'communication'
    when 'relationship_health' then 'summary'
    when 'contextual_research' then 'research'
    when 'content_generation' then 'content_generation'
    else 'communication' end
  where task_kind is null;
alter table ai_prompts alter column task_kind set not null;

-- Legacy rows (story 6.5): a prompt without a model takes its tier's recommended model, then
-- the model is required. A tier with no recommended model stops the migration with the names.
do $$
declare stranded text;
begin
  select string_agg(distinct p.name, ', ') into stranded
    from ai_prompts p
    where p.ai_model is null
      and not exists (
        select 1 from ai_models m
        where m.kind = 'chat' and m.recommended
          and m.tier = case p.task_kind when 'research' then 'thinking'
                                        when 'summary' then 'fast' when 'ui_helper' then 'fast'
                                        else 'default' end);
  if stranded is not null then
    raise exception 'prompts without a model whose tier recommends none: %; mark a model recommended for that tier first', stranded;
  end if;
end $$;
update ai_prompts p set ai_model = m.id
  from ai_models m
  where p.ai_model is null and m.kind = 'chat' and m.recommended
    and m.tier = case p.task_kind when 'research' then 'thinking'
                                  when 'summary' then 'fast' when 'ui_helper' then 'fast'
                                  else 'default' end;
alter table ai_prompts alter column ai_model set not null;

-- Labels point at versions: `production` serves, `staging` is the one being tried. A workspace's
-- label beats the built-in one (tenant_id null). Moving a label deploys or rolls back.
create table ai_prompt_labels (
  tenant_id uuid references tenants (id) on delete cascade,
  name text not null,
  label text not null constraint ai_prompt_labels_label_valid check (label in ('production', 'staging')),
  prompt_id bigint not null references ai_prompts (id),
  moved_by uuid references users (id) on delete set null,
  moved_at timestamptz not null default now(),
  constraint ai_prompt_labels_unique unique nulls not distinct (tenant_id, name, label)
);
insert into ai_prompt_labels (tenant_id, name, label, prompt_id)
  select tenant_id, name, 'production', id from ai_prompts where active;
drop index ai_prompts_one_active;
alter table ai_prompts drop column active;
-- A version is immutable once written.
create function ai_prompts_immutable() returns trigger language plpgsql as $$
begin
  raise exception 'prompt versions are immutable; save a new version instead' using errcode = 'check_violation';
end $$;
create trigger ai_prompts_no_update before update on ai_prompts
  for each row execute function ai_prompts_immutable();

alter table ai_prompts enable row level security;
alter table ai_prompts force row level security;
alter table ai_prompt_labels enable row level security;
alter table ai_prompt_labels force row level security;
create policy ai_prompt_labels_read on ai_prompt_labels for select using (tenant_id is null or tenant_id = app_tenant_id());
create policy ai_prompt_labels_write on ai_prompt_labels for all
  using (tenant_id = app_tenant_id()) with check (tenant_id = app_tenant_id());
grant select, insert, update, delete on ai_prompt_labels to smartcrm_app;

-- Which model a workspace's tiers use, which models its members may pick, its budget and rate.
create table ai_workspace_settings (
  tenant_id uuid primary key references tenants (id) on delete cascade,
  fast_model text references ai_models (id) on update cascade,
  default_model text references ai_models (id) on update cascade,
  thinking_model text references ai_models (id) on update cascade,
  -- The models members may choose for themselves; empty: every active chat model.
  allowed_models text[] not null default '{}'
    constraint ai_workspace_settings_allowed_bounded check (cardinality(allowed_models) <= 100),
  -- US dollars a calendar month (UTC). The soft limit raises an alert; past 80% of the hard
  -- limit the thinking and default tasks step down to the fast tier, at 100% every task runs
  -- on the local model.
  monthly_budget_usd numeric(12, 2) constraint ai_workspace_settings_budget_valid
    check (monthly_budget_usd is null or monthly_budget_usd > 0),
  soft_limit_usd numeric(12, 2) constraint ai_workspace_settings_soft_valid
    check (soft_limit_usd is null or (soft_limit_usd > 0 and monthly_budget_usd is not null and soft_limit_usd <= monthly_budget_usd)),
  requests_per_minute integer not null default 120
    constraint ai_workspace_settings_rate_valid check (requests_per_minute between 1 and 100000),
  version integer not null default 1,
  updated_by uuid references users (id) on delete set null,
  updated_at timestamptz not null default now()
);

create table ai_user_settings (
  tenant_id uuid not null,
  user_id uuid not null,
  fast_model text references ai_models (id) on update cascade,
  default_model text references ai_models (id) on update cascade,
  thinking_model text references ai_models (id) on update cascade,
  version integer not null default 1,
  updated_at timestamptz not null default now(),
  constraint ai_user_settings_pkey primary key (tenant_id, user_id),
  constraint ai_user_settings_member_fk foreign key (tenant_id, user_id)
    references memberships (tenant_id, user_id) on delete cascade
);

-- A bulk reassignment of prompts, and a legacy migration plan, keep the rows they changed so
-- they can be undone. `before`/`after` hold what the target pointed at.
create table ai_bulk_changes (
  tenant_id uuid not null references tenants (id) on delete cascade,
  id uuid not null,
  target_model text not null references ai_models (id) on update cascade,
  updated integer not null,
  skipped integer not null,
  created_by uuid references users (id) on delete set null,
  created_at timestamptz not null default now(),
  undone_by uuid references users (id) on delete set null,
  undone_at timestamptz,
  constraint ai_bulk_changes_pkey primary key (tenant_id, id)
);

create table ai_model_plans (
  tenant_id uuid not null references tenants (id) on delete cascade,
  id uuid not null,
  name text not null constraint ai_model_plans_name_length check (char_length(name) between 1 and 120),
  -- {"gpt-5.1": "gpt-5.2", ...}
  mapping jsonb not null constraint ai_model_plans_mapping_object check (jsonb_typeof(mapping) = 'object'),
  status text not null default 'draft'
    constraint ai_model_plans_status_valid check (status in ('draft', 'applied', 'rolled_back')),
  -- The guard: watch the new models' next N calls; past either threshold, alert (and roll back
  -- when told to).
  guard_calls integer not null default 50 constraint ai_model_plans_guard_calls_valid check (guard_calls between 5 and 100000),
  guard_max_error_rate real not null default 0.2
    constraint ai_model_plans_guard_error_valid check (guard_max_error_rate > 0 and guard_max_error_rate <= 1),
  guard_min_quality real constraint ai_model_plans_guard_quality_valid
    check (guard_min_quality is null or (guard_min_quality >= 0 and guard_min_quality <= 100)),
  guard_auto_rollback boolean not null default false,
  guard_state text constraint ai_model_plans_guard_state_valid check (guard_state in ('watching', 'passed', 'tripped')),
  guard_note text,
  created_by uuid references users (id) on delete set null,
  created_at timestamptz not null default now(),
  applied_by uuid references users (id) on delete set null,
  applied_at timestamptz,
  rolled_back_by uuid references users (id) on delete set null,
  rolled_back_at timestamptz,
  constraint ai_model_plans_pkey primary key (tenant_id, id)
);

create table ai_model_backups (
  tenant_id uuid not null references tenants (id) on delete cascade,
  id bigint generated always as identity,
  -- The bulk change or plan that wrote it.
  source text not null constraint ai_model_backups_source_valid check (source in ('bulk', 'plan')),
  source_id uuid not null,
  target text not null constraint ai_model_backups_target_valid
    check (target in ('prompt', 'user_setting', 'workspace_setting')),
  -- The prompt's name, or the user's id, or '' for the workspace.
  ref text not null,
  -- The settings' tier column, or '' for a prompt.
  tier text not null default '',
  before jsonb not null,
  after jsonb not null,
  created_at timestamptz not null default now(),
  constraint ai_model_backups_pkey primary key (tenant_id, id)
);
create index ai_model_backups_source_idx on ai_model_backups (tenant_id, source, source_id);

-- An experiment sends `percent` of a prompt's calls to the candidate model, sticky by a hash.
create table ai_experiments (
  tenant_id uuid not null references tenants (id) on delete cascade,
  id uuid not null,
  prompt_name text not null,
  candidate_model text not null references ai_models (id) on update cascade,
  percent smallint not null constraint ai_experiments_percent_valid check (percent between 1 and 99),
  sticky_by text not null constraint ai_experiments_sticky_valid check (sticky_by in ('workspace', 'contact', 'user')),
  status text not null default 'running'
    constraint ai_experiments_status_valid check (status in ('running', 'promoted', 'stopped')),
  started_by uuid references users (id) on delete set null,
  started_at timestamptz not null default now(),
  ended_by uuid references users (id) on delete set null,
  ended_at timestamptz,
  constraint ai_experiments_pkey primary key (tenant_id, id)
);
create unique index ai_experiments_one_running on ai_experiments (tenant_id, prompt_name) where status = 'running';

alter table ai_calls
  add column experiment_id uuid,
  add column arm text constraint ai_calls_arm_valid check (arm in ('control', 'candidate')),
  -- Which level of the resolution order chose the model (env, experiment, user, workspace,
  -- prompt, tier) and whether the budget stepped it down.
  add column routed_by text;
create index ai_calls_experiment_idx on ai_calls (tenant_id, experiment_id) where experiment_id is not null;
create index ai_calls_prompt_idx on ai_calls (tenant_id, prompt_name, prompt_version, created_at);
create index ai_calls_model_time_idx on ai_calls (tenant_id, model, created_at);

do $$
declare t text;
begin
  foreach t in array array['ai_workspace_settings', 'ai_user_settings', 'ai_bulk_changes', 'ai_model_plans',
                           'ai_model_backups', 'ai_experiments'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format('create policy %I on %I using (tenant_id = app_tenant_id()) with check (tenant_id = app_tenant_id())',
                   t || '_tenant', t);
    execute format('grant select, insert, update, delete on %I to smartcrm_app', t);
  end loop;
end $$;
