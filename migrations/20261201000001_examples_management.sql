-- Annotated examples are managed in the app (issue 12): the annotation says why an example is
-- good or bad and what to copy or avoid; examples are edited, archived (never deleted: drafts
-- name the ones they used), promoted from delivered drafts, and kept embedded by a background
-- job, which an admin can ask to embed everything again.
alter table content_examples
  add column takeaways text not null default ''
    constraint content_examples_takeaways_length check (char_length(takeaways) <= 2000),
  add column created_by uuid references users (id) on delete set null,
  add column updated_at timestamptz not null default now(),
  add column archived_at timestamptz,
  -- When the vector was made; a re-embedding run redoes those made before it started.
  add column embedded_at timestamptz,
  -- The delivered draft it was promoted from, at most once.
  add column deliverable_id uuid;
alter table content_examples add constraint content_examples_annotation_length
  check (char_length(annotation) <= 2000);
update content_examples set embedded_at = created_at where embedding is not null;

create index content_examples_list_idx on content_examples (tenant_id, created_at desc, id)
  where archived_at is null;
create unique index content_examples_deliverable_unique on content_examples (tenant_id, deliverable_id)
  where deliverable_id is not null;

-- The starter examples belong to an industry, so a business in another one is not given
-- them first (a law firm's email once borrowed a cycling shop's copy).
update content_examples set industry = 'Retail' where industry = '' and content like '%Riverside Cycles%';
update content_examples set industry = 'Home services'
  where industry = '' and (content like '%Comfort Air%' or content like '%furnace%' or content like '%plumbers%'
                           or content like '%BEST cleaning company%');
update content_examples set industry = 'Food and beverage' where industry = '' and content like '%sourdough%';
update content_examples set industry = 'Healthcare'
  where industry = '' and (content like '%Bright Smile Dental%' or content like '%evening appointments%');

-- An admin's "embed everything again": examples embedded before `requested_at` are redone.
create table example_embedding_runs (
  id bigint generated always as identity primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  model text not null,
  requested_by uuid references users (id) on delete set null,
  requested_at timestamptz not null default now(),
  total integer not null constraint example_embedding_runs_total_valid check (total >= 0),
  finished_at timestamptz,
  last_error text
);
create unique index example_embedding_runs_one_open on example_embedding_runs (tenant_id)
  where finished_at is null;
alter table example_embedding_runs enable row level security;
alter table example_embedding_runs force row level security;
create policy example_embedding_runs_tenant on example_embedding_runs
  using (tenant_id = app_tenant_id()) with check (tenant_id = app_tenant_id());
grant select, insert, update on example_embedding_runs to smartcrm_app;

-- The background embedder serves every workspace. This is its one door: the workspaces that
-- have live examples without a vector of `p_model`, or an open run. Everything else it does
-- happens in a transaction scoped to one of them.
do $$
begin
  execute format('create policy content_examples_owner_scans on content_examples for select to %I using (true)', current_user);
  execute format('create policy example_embedding_runs_owner_scans on example_embedding_runs for select to %I using (true)', current_user);
end $$;
create function examples_to_embed(p_model text) returns table (tenant_id uuid)
language sql stable security definer set search_path = public, pg_temp as $$
  (select distinct e.tenant_id from content_examples e
    where e.archived_at is null and (e.embedding is null or e.embedding_model <> p_model)
    limit 1000)
  union
  select r.tenant_id from example_embedding_runs r where r.finished_at is null
$$;
revoke all on function examples_to_embed(text) from public;
grant execute on function examples_to_embed(text) to smartcrm_app;
