-- The AI gateway's tables: the model catalog, versioned prompts, a record of every call, and the
-- shared analysis cache.

-- The catalog is global (the same models exist for every workspace); workspaces read it.
create table ai_models (
  id text primary key constraint ai_models_id_format check (id ~ '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$'),
  provider text not null constraint ai_models_provider_format check (provider ~ '^[a-z0-9][a-z0-9_-]{0,39}$'),
  display_name text not null constraint ai_models_display_name_length check (char_length(display_name) between 1 and 120),
  -- US dollars per 1,000 tokens.
  input_cost_per_1k double precision not null constraint ai_models_input_cost_valid check (input_cost_per_1k >= 0),
  output_cost_per_1k double precision not null constraint ai_models_output_cost_valid check (output_cost_per_1k >= 0),
  context_window integer not null constraint ai_models_context_window_valid check (context_window > 0),
  tier text not null constraint ai_models_tier_valid check (tier in ('fast', 'default', 'thinking')),
  recommended boolean not null default false,
  active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
-- The model a tier routes to when nothing overrides it.
create unique index ai_models_one_recommended_per_tier on ai_models (tier) where recommended and active;

-- The models the seed documents name. Prices are the providers' list prices per 1K tokens when
-- seeded; admins keep them current in the catalog.
insert into ai_models (id, provider, display_name, input_cost_per_1k, output_cost_per_1k, context_window, tier, recommended, active) values
  ('gpt-5.2',          'openai', 'GPT-5.2',                 0.00175, 0.014,  128000, 'default',  true,  true),
  ('gpt-5.2-thinking', 'openai', 'GPT-5.2 Thinking',        0.00175, 0.014,  128000, 'thinking', true,  true),
  ('gpt-5.2-instant',  'openai', 'GPT-5.2 Instant',         0.00025, 0.002,  128000, 'fast',     true,  true),
  ('gpt-5.1',          'openai', 'GPT-5.1',                 0.00125, 0.01,   128000, 'default',  false, true),
  ('gpt-5.1-thinking', 'openai', 'GPT-5.1 Thinking',        0.00125, 0.01,   128000, 'thinking', false, true),
  ('gpt-5.1-instant',  'openai', 'GPT-5.1 Instant',         0.00025, 0.002,  128000, 'fast',     false, true),
  ('gpt-4-turbo',      'openai', 'GPT-4 Turbo',             0.01,    0.03,   128000, 'default',  false, true),
  ('gpt-3.5-turbo',    'openai', 'GPT-3.5 Turbo',           0.0005,  0.0015, 16385,  'fast',     false, true),
  ('gemma3:4b',        'ollama', 'Gemma 3 4B (Ollama)',     0,       0,      8192,   'default',  false, true);

create table ai_prompts (
  id bigint generated always as identity primary key,
  -- null: the built-in prompt every workspace starts from; a workspace's own version overrides it.
  tenant_id uuid references tenants (id) on delete cascade,
  name text not null constraint ai_prompts_name_format check (name ~ '^[a-z][a-z0-9_]{0,63}$'),
  version integer not null constraint ai_prompts_version_positive check (version >= 1),
  system_prompt text not null,
  -- {{placeholders}} filled from the contact context: contact, customer, deals, activities, facts.
  template text not null,
  ai_model text not null references ai_models (id),
  max_tokens integer not null constraint ai_prompts_max_tokens_valid check (max_tokens between 1 and 32000),
  temperature real not null constraint ai_prompts_temperature_valid check (temperature >= 0 and temperature <= 2),
  active boolean not null default true,
  created_at timestamptz not null default now(),
  constraint ai_prompts_version_unique unique nulls not distinct (tenant_id, name, version)
);
create unique index ai_prompts_one_active on ai_prompts (coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid), name) where active;

insert into ai_prompts (tenant_id, name, version, ai_model, max_tokens, temperature, system_prompt, template) values
(null, 'smart_engagement_tips', 1, 'gpt-5.2', 600, 0.6,
$$You are an experienced B2B account manager coaching a sales rep. You give specific, practical advice grounded only in the CRM data provided. Never invent facts, names, numbers or events that are not in the data. If the data is thin, say what is missing and what to find out.$$,
$$Suggest how the rep should engage this contact next.

Contact:
{{contact}}

Their company and its business context:
{{customer}}

Deals:
{{deals}}

Recent activity (newest first):
{{activities}}

Computed facts (trust these numbers):
{{facts}}

Reply in Markdown with:
1. **Next best action**: one concrete step for this week, with the channel and timing (respect the business hours).
2. **Talking points**: three short points tied to their selling points, audience or open deals.
3. **Message opener**: two sentences in the customer's brand voice, using their preferred phrases and none of the phrases to avoid.
4. **Watch out**: one risk visible in the data.
Keep it under 250 words.$$),
(null, 'relationship_health', 1, 'gpt-5.2-instant', 500, 0.2,
$$You are a customer-success analyst. You judge relationship health strictly from the CRM data provided and the computed facts. Never invent facts. Be direct.$$,
$$Assess the health of our relationship with this contact.

Contact:
{{contact}}

Company:
{{customer}}

Deals:
{{deals}}

Recent activity (newest first):
{{activities}}

Computed facts (trust these numbers):
{{facts}}

Reply in Markdown with:
- **Health**: Healthy, Needs attention or At risk, and a score from 0 to 100.
- **Why**: three bullet points, each citing a fact (recency, reply rate, inbound/outbound balance, deal momentum, activity trend).
- **To improve it**: two specific actions.
Keep it under 180 words.$$),
(null, 'contextual_research', 1, 'gpt-5.2-thinking', 900, 0.4,
$$You are a sales researcher preparing a rep for a conversation. You reason from the CRM data and the customer's business context provided. Mark clearly what is inferred versus what the data states, and never present guesses as facts.$$,
$$Prepare a research brief on this contact and their company.

Contact:
{{contact}}

Company and business context:
{{customer}}

Deals:
{{deals}}

Recent activity (newest first):
{{activities}}

Computed facts:
{{facts}}

Reply in Markdown with:
## Company snapshot
What they do, who they serve and what makes them different, from the business context.
## Likely priorities
Three priorities this contact probably has in their role, each marked (stated) or (inferred).
## Where we fit
How our open deals map to those priorities.
## Questions to ask
Four discovery questions that fill gaps in the data.
Keep it under 350 words.$$);

-- Every AI call, successful or not, cached or not. Feeds cost and quality dashboards.
create table ai_calls (
  id bigint generated always as identity primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  user_id uuid references users (id) on delete set null,
  task_kind text not null,
  prompt_name text,
  prompt_version integer,
  subject_id uuid,
  requested_model text not null,
  -- The model that really answered (the fallback when it stepped in); null when none did.
  model text,
  provider text not null,
  status text not null constraint ai_calls_status_valid check (status in ('ok', 'error', 'cancelled')),
  error text,
  attempts smallint not null default 1,
  latency_ms integer not null,
  ttft_ms integer,
  prompt_tokens integer,
  completion_tokens integer,
  cost_usd double precision,
  cache_hit boolean not null default false,
  request_id text,
  created_at timestamptz not null default now()
);
create index ai_calls_tenant_time_idx on ai_calls (tenant_id, created_at desc);

-- Analyses shared by every app instance: one row per contact and analysis, valid while its
-- context fingerprint matches and it is younger than the TTL. A 'pending' row is a claim: the
-- instance holding it is generating, and others wait for it instead of calling the model again.
create table ai_analysis_cache (
  tenant_id uuid not null references tenants (id) on delete cascade,
  contact_id uuid not null,
  kind text not null constraint ai_analysis_cache_kind_valid
    check (kind in ('smart_engagement_tips', 'relationship_health', 'contextual_research')),
  fingerprint text not null,
  status text not null constraint ai_analysis_cache_status_valid check (status in ('pending', 'ready')),
  content text,
  model text,
  provider text,
  claimed_until timestamptz,
  created_at timestamptz not null default now(),
  constraint ai_analysis_cache_pkey primary key (tenant_id, contact_id, kind),
  constraint ai_analysis_cache_contact_fk foreign key (tenant_id, contact_id) references contacts (tenant_id, id) on delete cascade,
  constraint ai_analysis_cache_ready_has_content check (status <> 'ready' or content is not null)
);

alter table ai_prompts enable row level security;
alter table ai_prompts force row level security;
create policy ai_prompts_read on ai_prompts for select using (tenant_id is null or tenant_id = app_tenant_id());
create policy ai_prompts_write on ai_prompts for insert with check (tenant_id = app_tenant_id());
create policy ai_prompts_update on ai_prompts for update using (tenant_id = app_tenant_id()) with check (tenant_id = app_tenant_id());
create policy ai_prompts_delete on ai_prompts for delete using (tenant_id = app_tenant_id());

do $$
declare t text;
begin
  foreach t in array array['ai_calls', 'ai_analysis_cache'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format('create policy %I on %I using (tenant_id = app_tenant_id()) with check (tenant_id = app_tenant_id())',
                   t || '_tenant', t);
  end loop;
end $$;

grant select on ai_models to smartcrm_app;
grant select, insert, update, delete on ai_prompts, ai_calls, ai_analysis_cache to smartcrm_app;
