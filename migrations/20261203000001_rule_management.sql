-- Decision rules are managed in the app (issue 13). Each save is an immutable version; the rule
-- row carries the live version's fields (so the worker's read stays one query), and activating
-- an older version is a rollback. A workspace changes a built-in rule through its own copy,
-- which replaces the built-in there once it is live.

create table ai_decision_rule_versions (
  -- null for the built-ins' versions, like their rules.
  tenant_id uuid references tenants (id) on delete cascade,
  rule_id uuid not null references ai_decision_rules (id) on delete cascade,
  version integer not null constraint ai_decision_rule_versions_version_positive check (version >= 1),
  name text not null constraint ai_decision_rule_versions_name_length check (char_length(btrim(name)) between 1 and 120),
  description text not null default '' constraint ai_decision_rule_versions_description_length check (char_length(description) <= 1000),
  category text not null constraint ai_decision_rule_versions_category_valid
    check (category in ('escalation', 'retry', 'approval', 'selection', 'routing')),
  priority integer not null constraint ai_decision_rule_versions_priority_range check (priority between 0 and 100000),
  -- Checked by the server (rule_check, validate_condition) before it is written; 16 KiB at most.
  condition jsonb not null constraint ai_decision_rule_versions_condition_size check (octet_length(condition::text) <= 16384),
  action jsonb not null constraint ai_decision_rule_versions_action_valid
    check (action ->> 'type' in ('approve', 'review', 'reject', 'retry', 'escalate')),
  note text not null default '' constraint ai_decision_rule_versions_note_length check (char_length(note) <= 300),
  created_by uuid references users (id) on delete set null,
  created_at timestamptz not null default now(),
  constraint ai_decision_rule_versions_pkey primary key (rule_id, version)
);

create function ai_decision_rule_versions_immutable() returns trigger
language plpgsql as $$
begin
  raise exception 'rule versions are immutable: save a new version instead';
end $$;
create trigger ai_decision_rule_versions_immutable
  before update on ai_decision_rule_versions
  for each row execute function ai_decision_rule_versions_immutable();

alter table ai_decision_rule_versions enable row level security;
alter table ai_decision_rule_versions force row level security;
create policy ai_decision_rule_versions_read on ai_decision_rule_versions
  for select using (tenant_id is null or tenant_id = app_tenant_id());
create policy ai_decision_rule_versions_insert on ai_decision_rule_versions
  for insert with check (tenant_id = app_tenant_id());
grant select, insert on ai_decision_rule_versions to smartcrm_app;

-- `version` is the live version (its fields are the row's); `live` is false for a rule that has
-- never been activated (a draft: the worker does not run it). `replaces` names the built-in a
-- workspace's copy stands in for.
alter table ai_decision_rules
  add column live boolean not null default true,
  add column latest_version integer not null default 1,
  add column replaces uuid references ai_decision_rules (id) on delete set null,
  add column created_by uuid references users (id) on delete set null,
  add constraint ai_decision_rules_priority_range check (priority between 0 and 100000),
  add constraint ai_decision_rules_copy_is_own check (replaces is null or tenant_id is not null);
create unique index ai_decision_rules_one_copy on ai_decision_rules (tenant_id, replaces) where replaces is not null;

insert into ai_decision_rule_versions
  (tenant_id, rule_id, version, name, description, category, priority, condition, action, note, created_at)
select tenant_id, id, version, name, description, category, priority, condition, action, 'First version', created_at
  from ai_decision_rules;
update ai_decision_rules set latest_version = version;

-- What the rules saw, kept with each evaluated draft: simulations and the bench replay it.
alter table project_deliverables add column decision_context jsonb;
create index project_deliverables_evaluated_idx on project_deliverables (tenant_id, created_at desc)
  where decision is not null;
-- Simulations read each draft's human verdict.
create index ai_content_feedback_deliverable_idx on ai_content_feedback (deliverable_id, created_at desc);

-- A workspace's saved test cases: a context and the decision it must get. All of them run on
-- every save of a rule, and a failing one blocks activation (an admin may override).
create table ai_rule_test_cases (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id) on delete cascade,
  name text not null constraint ai_rule_test_cases_name_length check (char_length(btrim(name)) between 1 and 120),
  context jsonb not null constraint ai_rule_test_cases_context_size check (octet_length(context::text) <= 65536),
  expected text not null constraint ai_rule_test_cases_expected_valid
    check (expected in ('approve', 'review', 'reject', 'retry', 'escalate')),
  created_by uuid references users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint ai_rule_test_cases_name_unique unique (tenant_id, name)
);

-- Shadow mode: a draft rule set decides beside the live one on new drafts, without acting.
-- `rules` is [{"rule_id": ..., "version": ...}]: the versions that stand in for the live ones.
create table ai_rule_shadows (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id) on delete cascade,
  rules jsonb not null,
  started_by uuid references users (id) on delete set null,
  started_at timestamptz not null default now(),
  ended_at timestamptz,
  outcome text constraint ai_rule_shadows_outcome_valid check (outcome in ('promoted', 'stopped')),
  evaluated integer not null default 0,
  disagreed integer not null default 0,
  constraint ai_rule_shadows_ended check ((ended_at is null) = (outcome is null))
);
create unique index ai_rule_shadows_one_running on ai_rule_shadows (tenant_id) where ended_at is null;

create table ai_rule_shadow_disagreements (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id) on delete cascade,
  shadow_id uuid not null references ai_rule_shadows (id) on delete cascade,
  task_id uuid not null,
  deliverable_id uuid not null references project_deliverables (id) on delete cascade,
  live_decision text not null,
  shadow_decision text not null,
  live_rule text,
  shadow_rule text,
  shadow_trace jsonb not null,
  created_at timestamptz not null default now(),
  constraint ai_rule_shadow_disagreements_task_fk foreign key (tenant_id, task_id) references project_tasks (tenant_id, id) on delete cascade
);
create index ai_rule_shadow_disagreements_shadow_idx on ai_rule_shadow_disagreements (shadow_id, created_at desc);

do $$
declare t text;
begin
  foreach t in array array['ai_rule_test_cases', 'ai_rule_shadows', 'ai_rule_shadow_disagreements'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format('create policy %I on %I using (tenant_id = app_tenant_id()) with check (tenant_id = app_tenant_id())',
                   t || '_tenant', t);
    execute format('grant select, insert, update, delete on %I to smartcrm_app', t);
  end loop;
end $$;
