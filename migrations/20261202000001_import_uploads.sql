-- CSV imports: a file is uploaded once, previewed and mapped, then imported. Between those
-- steps it waits here, for its uploader only, for at most an hour (older ones are ignored and
-- removed at the uploader's next upload), and it is removed once imported.
create table import_uploads (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id) on delete cascade,
  uploaded_by uuid not null references users (id) on delete cascade,
  kind text not null constraint import_uploads_kind_valid check (kind in ('contacts', 'examples')),
  filename text not null constraint import_uploads_filename_length check (char_length(filename) between 1 and 255),
  -- 8 MiB, the upload limit (app::import::MAX_FILE_BYTES).
  content text not null constraint import_uploads_content_size check (octet_length(content) <= 8388608),
  created_at timestamptz not null default now()
);
create index import_uploads_uploader_idx on import_uploads (tenant_id, uploaded_by, created_at desc);
alter table import_uploads enable row level security;
alter table import_uploads force row level security;
create policy import_uploads_tenant on import_uploads
  using (tenant_id = app_tenant_id()) with check (tenant_id = app_tenant_id());
grant select, insert, delete on import_uploads to smartcrm_app;
