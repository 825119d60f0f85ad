-- Templates are managed in the app (issue 12). Each save is an immutable version; the template
-- row carries the version that is live (its fields are a copy of that version's, so the
-- worker's lookup stays one indexed read), and activating an older version is a rollback.

create table content_template_versions (
  -- null for the built-ins' versions, like their templates.
  tenant_id uuid references tenants (id) on delete cascade,
  template_id uuid not null references content_templates (id) on delete cascade,
  version integer not null constraint content_template_versions_version_positive check (version >= 1),
  name text not null constraint content_template_versions_name_length check (char_length(btrim(name)) between 1 and 200),
  output_type text not null,
  industry text not null default '',
  purpose text not null default '',
  body text not null constraint content_template_versions_body_length check (char_length(body) between 1 and 20000),
  guidelines text not null default '' constraint content_template_versions_guidelines_length check (char_length(guidelines) <= 4000),
  placeholders text[] not null default '{}',
  -- What the author said about this version ("shorter subject line").
  note text not null default '' constraint content_template_versions_note_length check (char_length(note) <= 300),
  created_by uuid references users (id) on delete set null,
  created_at timestamptz not null default now(),
  constraint content_template_versions_pkey primary key (template_id, version)
);

-- Versions never change once written.
create function content_template_versions_immutable() returns trigger
language plpgsql as $$
begin
  raise exception 'template versions are immutable: save a new version instead';
end $$;
create trigger content_template_versions_immutable
  before update on content_template_versions
  for each row execute function content_template_versions_immutable();

alter table content_template_versions enable row level security;
alter table content_template_versions force row level security;
create policy content_template_versions_read on content_template_versions
  for select using (tenant_id is null or tenant_id = app_tenant_id());
create policy content_template_versions_insert on content_template_versions
  for insert with check (tenant_id = app_tenant_id());
grant select, insert on content_template_versions to smartcrm_app;

-- The live version (null: never activated, a draft), and the newest one.
alter table content_templates
  add column active_version integer,
  add column latest_version integer not null default 1,
  add column created_by uuid references users (id) on delete set null;

insert into content_template_versions
  (tenant_id, template_id, version, name, output_type, industry, purpose, body, guidelines, placeholders, note, created_at)
select tenant_id, id, 1, name, output_type, industry, purpose, body, guidelines, placeholders, 'First version', created_at
  from content_templates;
update content_templates set active_version = 1 where active;

-- The list filters by type, industry and purpose within a workspace (built-ins have no tenant).
create index content_templates_list_idx on content_templates (tenant_id, output_type, industry, purpose, name);

-- Which version each draft was written from.
alter table project_deliverables add column template_version integer;
update project_deliverables set template_version = 1 where template_id is not null;
