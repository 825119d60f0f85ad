-- The AI content pipeline (seed 001): projects and tasks with structured AI instructions and a
-- state machine, the transition history, deliverables with their scores and decisions,
-- templates, annotated examples with embeddings, decision rules, and reviewers' feedback.

-- Competitors are named in the compliance check ("competitor names" must not appear).
alter table customers add column competitors text[] not null default '{}';

create table projects (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id) on delete cascade,
  customer_id uuid not null,
  name text not null constraint projects_name_length check (char_length(btrim(name)) between 1 and 200),
  created_at timestamptz not null default now(),
  constraint projects_tenant_id_unique unique (tenant_id, id),
  constraint projects_tenant_id_customer_unique unique (tenant_id, id, customer_id),
  constraint projects_customer_fk foreign key (tenant_id, customer_id) references customers (tenant_id, id) on delete cascade
);
create index projects_customer_idx on projects (tenant_id, customer_id);

create table project_tasks (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id) on delete cascade,
  project_id uuid not null,
  -- The project's customer, kept here for filtering (the foreign key keeps them the same).
  customer_id uuid not null,
  title text not null constraint project_tasks_title_length check (char_length(btrim(title)) between 1 and 200),
  -- Validated by the server (pipeline::instructions) before it is stored.
  ai_instructions jsonb not null constraint project_tasks_instructions_object check (jsonb_typeof(ai_instructions) = 'object'),
  output_type text generated always as (ai_instructions ->> 'output_type') stored,
  execution_state text not null default 'pending' constraint project_tasks_state_valid check (execution_state in (
    'pending', 'context_loading', 'generating', 'evaluating', 'approved', 'awaiting_review',
    'retry_scheduled', 'rejected', 'escalated', 'delivered', 'failed', 'cancelled')),
  state_entered_at timestamptz not null default now(),
  attempts smallint not null default 0 constraint project_tasks_attempts_valid check (attempts >= 0),
  max_attempts smallint not null default 3 constraint project_tasks_max_attempts_valid check (max_attempts between 1 and 10),
  -- [{"kind": "...", "message": "...", "at": "..."}]: what stands in the task's way.
  blockers jsonb not null default '[]'::jsonb,
  -- Appended to the prompt of the next attempt (from a retry rule or a reviewer).
  retry_guidance text,
  -- Why the task waits for a person, or why it failed.
  status_reason text,
  -- A worker holds an in-flight task until the lease expires; another may then resume it.
  lease_owner text,
  lease_expires_at timestamptz,
  -- Not claimed before this (a scheduled retry waits).
  run_after timestamptz not null default now(),
  -- Every transition bumps it; a move is applied only at the version it was decided on.
  version integer not null default 1,
  created_by uuid references users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint project_tasks_tenant_id_unique unique (tenant_id, id),
  constraint project_tasks_project_fk foreign key (tenant_id, project_id, customer_id)
    references projects (tenant_id, id, customer_id) on delete cascade
);
-- The pipeline page: counts by state, newest first within a state.
create index project_tasks_state_idx on project_tasks (tenant_id, execution_state, created_at desc);
create index project_tasks_customer_idx on project_tasks (tenant_id, customer_id, created_at desc);
-- Workers look for claimable work across tenants.
create index project_tasks_claimable_idx on project_tasks (run_after)
  where execution_state in ('pending', 'retry_scheduled', 'approved');
create index project_tasks_in_flight_idx on project_tasks (lease_expires_at)
  where execution_state in ('context_loading', 'generating', 'evaluating');

create table task_state_transitions (
  id bigint generated always as identity primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  task_id uuid not null,
  from_state text not null,
  to_state text not null,
  actor text not null constraint task_state_transitions_actor_valid check (actor in ('ai', 'user', 'system')),
  actor_user_id uuid references users (id) on delete set null,
  -- The worker that made it, for system and ai moves.
  worker text,
  reason text not null default '',
  at timestamptz not null default clock_timestamp(),
  constraint task_state_transitions_task_fk foreign key (tenant_id, task_id) references project_tasks (tenant_id, id) on delete cascade
);
create index task_state_transitions_task_idx on task_state_transitions (tenant_id, task_id, id);

create table content_templates (
  id uuid primary key default gen_random_uuid(),
  -- null: a built-in template every workspace can use.
  tenant_id uuid references tenants (id) on delete cascade,
  name text not null constraint content_templates_name_length check (char_length(btrim(name)) between 1 and 200),
  output_type text not null,
  -- '' fits any industry.
  industry text not null default '',
  purpose text not null default '',
  -- With {{placeholders}} such as {{business_name}} and {{offer}}.
  body text not null,
  placeholders text[] not null default '{}',
  guidelines text not null default '',
  active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index content_templates_lookup_idx on content_templates (output_type, industry) where active;

create table content_examples (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id) on delete cascade,
  output_type text not null,
  industry text not null default '',
  purpose text not null default '',
  polarity text not null constraint content_examples_polarity_valid check (polarity in ('positive', 'negative')),
  content text not null constraint content_examples_content_length check (char_length(content) between 1 and 20000),
  -- Why it works, or why it does not.
  annotation text not null default '',
  -- Made by embedding_model; null until the worker has embedded it. Vectors are only ever
  -- compared with vectors of the same model.
  embedding vector(384),
  embedding_model text,
  created_at timestamptz not null default now(),
  constraint content_examples_embedding_has_model check ((embedding is null) = (embedding_model is null))
);
create index content_examples_embedding_idx on content_examples using hnsw (embedding vector_cosine_ops);
create index content_examples_unembedded_idx on content_examples (tenant_id) where embedding is null;

create table project_deliverables (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id) on delete cascade,
  task_id uuid not null,
  attempt smallint not null constraint project_deliverables_attempt_positive check (attempt >= 1),
  content text not null,
  model text,
  provider text,
  prompt_name text,
  prompt_version integer,
  template_id uuid,
  -- What the model was given: the context sources, guidance and the examples (ids, similarity).
  context_used jsonb not null default '{}'::jsonb,
  examples_used jsonb not null default '[]'::jsonb,
  content_quality jsonb,
  quality_score smallint,
  success_evaluation jsonb,
  decision text constraint project_deliverables_decision_valid
    check (decision in ('approve', 'review', 'reject', 'retry', 'escalate')),
  decision_trace jsonb,
  -- Set once, when the task is delivered with this content.
  delivered_at timestamptz,
  -- A reviewer's edited version, when they edited before approving.
  edited_content text,
  created_at timestamptz not null default now(),
  constraint project_deliverables_attempt_unique unique (task_id, attempt),
  constraint project_deliverables_task_fk foreign key (tenant_id, task_id) references project_tasks (tenant_id, id) on delete cascade
);
-- A task is delivered at most once.
create unique index project_deliverables_one_delivery on project_deliverables (task_id) where delivered_at is not null;
create index project_deliverables_task_idx on project_deliverables (tenant_id, task_id, attempt);

create table ai_decision_rules (
  id uuid primary key default gen_random_uuid(),
  -- null: a built-in rule; a workspace's rule with the same name replaces it there.
  tenant_id uuid references tenants (id) on delete cascade,
  name text not null constraint ai_decision_rules_name_length check (char_length(btrim(name)) between 1 and 120),
  description text not null default '',
  category text not null constraint ai_decision_rules_category_valid
    check (category in ('escalation', 'retry', 'approval', 'selection', 'routing')),
  priority integer not null default 100,
  -- JSON Logic, checked by the server (pipeline::rules::validate_condition) before it is saved.
  condition jsonb not null,
  -- {"type": "approve"} | {"type": "review", "reason": ...} | {"type": "reject", "reason": ...}
  -- | {"type": "retry", "guidance": ...} | {"type": "escalate", "reason": ...}
  action jsonb not null constraint ai_decision_rules_action_valid
    check (action ->> 'type' in ('approve', 'review', 'reject', 'retry', 'escalate')),
  enabled boolean not null default true,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint ai_decision_rules_name_unique unique nulls not distinct (tenant_id, name)
);

create table ai_content_feedback (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id) on delete cascade,
  task_id uuid not null,
  deliverable_id uuid not null references project_deliverables (id) on delete cascade,
  verdict text not null constraint ai_content_feedback_verdict_valid
    check (verdict in ('approved', 'edited_and_approved', 'rejected', 'sent_back')),
  reviewer_id uuid references users (id) on delete set null,
  reason text not null default '',
  guidance text not null default '',
  original_content text not null,
  edited_content text,
  -- A line diff of original -> edited: [{"op": "keep"|"add"|"remove", "text": "..."}].
  edit_diff jsonb,
  -- Delivery metrics added later by the feedback loop (opens, clicks, conversions).
  performance jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  constraint ai_content_feedback_task_fk foreign key (tenant_id, task_id) references project_tasks (tenant_id, id) on delete cascade
);
create index ai_content_feedback_task_idx on ai_content_feedback (tenant_id, task_id, created_at);

-- Row-level security: tenant-owned rows only.
do $$
declare t text;
begin
  foreach t in array array['projects', 'project_tasks', 'task_state_transitions', 'content_examples',
                           'project_deliverables', 'ai_content_feedback'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format('create policy %I on %I using (tenant_id = app_tenant_id()) with check (tenant_id = app_tenant_id())',
                   t || '_tenant', t);
    execute format('grant select, insert, update, delete on %I to smartcrm_app', t);
  end loop;
  -- Built-ins (tenant_id null) are readable by every workspace, writable by none.
  foreach t in array array['content_templates', 'ai_decision_rules'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format('create policy %I on %I for select using (tenant_id is null or tenant_id = app_tenant_id())', t || '_read', t);
    execute format('create policy %I on %I for insert with check (tenant_id = app_tenant_id())', t || '_insert', t);
    execute format('create policy %I on %I for update using (tenant_id = app_tenant_id()) with check (tenant_id = app_tenant_id())', t || '_update', t);
    execute format('create policy %I on %I for delete using (tenant_id = app_tenant_id())', t || '_delete', t);
    execute format('grant select, insert, update, delete on %I to smartcrm_app', t);
  end loop;
end $$;

-- Workers serve every workspace: they find claimable tasks through this function, which runs
-- as the tables' owner and reveals only (tenant, task) pairs it has just leased. All work on a
-- task then happens in a transaction scoped to its tenant.
do $$
begin
  execute format('create policy project_tasks_owner_claims on project_tasks for all to %I using (true) with check (true)', current_user);
end $$;

create function pipeline_claim(p_worker text, p_lease_seconds integer, p_limit integer)
returns table (tenant_id uuid, task_id uuid, execution_state text, version integer)
language sql volatile security definer set search_path = public, pg_temp as $$
  with picked as (
    select t.id from project_tasks t
    where (t.execution_state in ('pending', 'retry_scheduled', 'approved') and t.run_after <= now()
           and (t.lease_expires_at is null or t.lease_expires_at < now()))
       or (t.execution_state in ('context_loading', 'generating', 'evaluating') and t.lease_expires_at < now())
    order by t.run_after
    limit greatest(1, least(p_limit, 100))
    for update skip locked
  )
  update project_tasks t
     set lease_owner = p_worker,
         lease_expires_at = now() + make_interval(secs => greatest(1, least(p_lease_seconds, 3600))),
         version = t.version + 1
    from picked
   where t.id = picked.id
  returning t.tenant_id, t.id, t.execution_state, t.version
$$;
revoke all on function pipeline_claim(text, integer, integer) from public;
grant execute on function pipeline_claim(text, integer, integer) to smartcrm_app;

-- Built-in decision rules (seed 001's defaults). Lower priority runs first; the first match in
-- each category speaks for it; escalation outranks retry, retry outranks approval.
insert into ai_decision_rules (tenant_id, name, description, category, priority, condition, action) values
(null, 'Out of attempts', 'A draft that still needs work after the last attempt goes to a manager.', 'escalation', 10,
 '{"and": [{">=": [{"var": "attempt"}, {"var": "task.max_attempts"}]}, {"or": [{"!": {"var": "quality.compliance.passed"}}, {"<": [{"var": "quality.overall"}, {"var": "task.min_overall"}]}]}]}',
 '{"type": "escalate", "reason": "The last attempt still falls short; a manager decides."}'),
(null, 'Compliance failure', 'A draft that breaks the instructions is rewritten with the failures named.', 'retry', 20,
 '{"!": {"var": "quality.compliance.passed"}}',
 '{"type": "retry", "guidance": "Fix every compliance failure listed above and keep everything else that works."}'),
(null, 'Low quality', 'A compliant draft below the quality bar gets another attempt.', 'retry', 30,
 '{"<": [{"var": "quality.overall"}, {"var": "task.min_overall"}]}',
 '{"type": "retry", "guidance": "Raise the weakest scores listed above: keep sentences short, stay on brand and end with a clear call to action."}'),
(null, 'VIP customer', 'Content for VIP customers always gets a human check.', 'approval', 40,
 '{"==": [{"var": "customer.is_vip"}, true]}',
 '{"type": "review", "reason": "VIP customer: a person checks before delivery."}'),
(null, 'Quality gate', 'Compliant drafts at or above the task''s quality bar are approved.', 'approval', 50,
 '{"and": [{">=": [{"var": "quality.overall"}, {"var": "task.min_overall"}]}, {"var": "quality.compliance.passed"}]}',
 '{"type": "approve"}');

-- Built-in templates, for any industry.
insert into content_templates (tenant_id, name, output_type, industry, purpose, body, placeholders, guidelines) values
(null, 'Promotion email', 'email', '', 'promotion',
 $$Subject: {{offer_headline}}

Hi {{first_name}},

{{hook}}

{{offer_details}}

{{call_to_action}}

{{sign_off}},
{{business_name}}
{{contact_line}}$$,
 '{offer_headline,first_name,hook,offer_details,call_to_action,sign_off,business_name,contact_line}',
 'One offer per email. Lead with the benefit, not the discount. One clear call to action near the end. Keep paragraphs to two sentences.'),
(null, 'Follow-up email', 'email', '', 'follow_up',
 $$Subject: {{subject}}

Hi {{first_name}},

{{reference_to_last_touch}}

{{value_reminder}}

{{call_to_action}}

{{sign_off}},
{{business_name}}$$,
 '{subject,first_name,reference_to_last_touch,value_reminder,call_to_action,sign_off,business_name}',
 'Refer to the last conversation specifically. Offer something useful, not just a check-in. Ask one easy question.'),
(null, 'Announcement post', 'social_post', '', 'announcement',
 $${{hook}} {{news}} {{benefit}} {{call_to_action}} {{hashtags}}$$,
 '{hook,news,benefit,call_to_action,hashtags}',
 'Under 60 words. The first line must stand alone. At most three hashtags. No links in the middle of the text.'),
(null, 'Educational blog post', 'blog_post', '', 'education',
 $$# {{title}}

{{intro}}

## {{section_1_heading}}
{{section_1}}

## {{section_2_heading}}
{{section_2}}

{{conclusion_with_call_to_action}}$$,
 '{title,intro,section_1_heading,section_1,section_2_heading,section_2,conclusion_with_call_to_action}',
 'Teach one thing well. Use the reader''s words, short paragraphs and concrete examples from the business.'),
(null, 'Appointment reminder SMS', 'sms', '', 'reminder',
 $$Hi {{first_name}}, {{reminder}} {{call_to_action}} - {{business_name}}$$,
 '{first_name,reminder,call_to_action,business_name}',
 'Under 160 characters. Name the business. One action.'),
(null, 'Search ad', 'ad_copy', '', 'promotion',
 $${{headline}} | {{benefit}} | {{call_to_action}}$$,
 '{headline,benefit,call_to_action}',
 'Headline under 30 characters. Concrete benefit. Verb-first call to action.');

-- The pipeline's drafting prompt. {{placeholders}}: brief, customer, instructions, template,
-- examples, guidance (filled by the worker from the task and the customer's business context).
insert into ai_prompts (tenant_id, name, version, ai_model, max_tokens, temperature, system_prompt, template) values
(null, 'content_generation', 1, 'gpt-5.2', 1200, 0.7,
$$You are a senior copywriter producing marketing and sales content for a small business. You write in the customer's brand voice, for their audience, from the facts given. Never invent offers, prices, dates, statistics, testimonials or contact details that are not in the brief or the business context. Output only the finished content in the requested format: no preamble, no notes, no alternatives.$$,
$$Write the following for {{customer_name}}.

Brief:
{{brief}}

Business context:
{{customer}}

Requirements:
{{instructions}}

Template to follow:
{{template}}

Examples:
{{examples}}
{{guidance}}$$);
