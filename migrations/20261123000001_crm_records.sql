-- CRM records: the customers we serve (with the business context the AI writes from), their
-- contacts, deals and activities. Every table is tenant-owned and behind row-level security.

create table customers (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id) on delete cascade,
  name text not null constraint customers_name_length check (char_length(btrim(name)) between 1 and 200),
  website text,
  -- Business context (seed 001): what the AI must know to write for this customer.
  industry_category text not null default '',
  industry_subcategory text not null default '',
  business_description text not null default '',
  unique_selling_points text[] not null default '{}',
  -- [{"name": "...", "description": "..."}]
  products_services jsonb not null default '[]'::jsonb,
  -- {"description": "...", "segments": [...], "pain_points": [...]}
  target_audience jsonb not null default '{}'::jsonb,
  -- {"timezone": "America/Chicago", "weekly": [["Mon", "09:00-17:00"], ...]}
  business_hours jsonb not null default '{}'::jsonb,
  -- {"tone": "...", "personality": [...], "phrases_to_use": [...], "phrases_to_avoid": [...]}
  brand_voice jsonb not null default '{}'::jsonb,
  -- {"formats": [...], "length": "...", "emoji": false, "cta_style": "..."}
  content_preferences jsonb not null default '{}'::jsonb,
  is_vip boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint customers_tenant_id_unique unique (tenant_id, id),
  constraint customers_tenant_name_unique unique (tenant_id, name)
);

create table contacts (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id) on delete cascade,
  customer_id uuid not null,
  owner_user_id uuid references users (id) on delete set null,
  first_name text not null constraint contacts_first_name_length check (char_length(first_name) between 1 and 100),
  last_name text not null constraint contacts_last_name_length check (char_length(last_name) between 1 and 100),
  email text constraint contacts_email_lowercase check (email = lower(email)),
  phone text,
  title text,
  lifecycle_stage text not null default 'lead'
    constraint contacts_stage_valid check (lifecycle_stage in ('lead', 'prospect', 'customer', 'churned')),
  -- Maintained by contacts_search_refresh: name, email parts, title and company name.
  search tsvector not null default ''::tsvector,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint contacts_tenant_id_unique unique (tenant_id, id),
  constraint contacts_customer_fk foreign key (tenant_id, customer_id) references customers (tenant_id, id) on delete cascade
);
create unique index contacts_email_unique on contacts (tenant_id, email) where email is not null;
-- The contacts list is ordered by name and paged by (last_name, first_name, id).
create index contacts_name_keyset_idx on contacts (tenant_id, last_name, first_name, id);
create index contacts_search_idx on contacts using gin (search);
create index contacts_customer_idx on contacts (tenant_id, customer_id);
create index contacts_owner_idx on contacts (tenant_id, owner_user_id, last_name, first_name, id);

create function contacts_search_document(c contacts) returns tsvector
language sql stable as $$
  select to_tsvector('simple',
    coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '') || ' ' ||
    coalesce(c.email, '') || ' ' || translate(coalesce(c.email, ''), '@._+-', '     ') || ' ' ||
    coalesce(c.title, '') || ' ' ||
    coalesce((select cu.name from customers cu where cu.id = c.customer_id), ''))
$$;

create function contacts_search_refresh() returns trigger
language plpgsql as $$
begin
  new.search := contacts_search_document(new);
  return new;
end $$;

create trigger contacts_search_refresh
  before insert or update of first_name, last_name, email, title, customer_id on contacts
  for each row execute function contacts_search_refresh();

-- A renamed customer re-indexes its contacts.
create function customers_rename_reindex() returns trigger
language plpgsql as $$
begin
  update contacts set search = contacts_search_document(contacts) where customer_id = new.id;
  return null;
end $$;

create trigger customers_rename_reindex
  after update of name on customers
  for each row when (old.name is distinct from new.name)
  execute function customers_rename_reindex();

create table deals (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id) on delete cascade,
  customer_id uuid not null,
  contact_id uuid,
  name text not null constraint deals_name_length check (char_length(btrim(name)) between 1 and 200),
  stage text not null constraint deals_stage_valid
    check (stage in ('qualification', 'discovery', 'proposal', 'negotiation', 'closed_won', 'closed_lost')),
  -- In the currency's minor unit (cents), so sums are exact.
  amount_minor bigint not null constraint deals_amount_non_negative check (amount_minor >= 0),
  currency text not null default 'USD' constraint deals_currency_format check (currency ~ '^[A-Z]{3}$'),
  expected_close date,
  stage_entered_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint deals_customer_fk foreign key (tenant_id, customer_id) references customers (tenant_id, id) on delete cascade,
  constraint deals_contact_fk foreign key (tenant_id, contact_id) references contacts (tenant_id, id) on delete cascade
);
create index deals_contact_idx on deals (tenant_id, contact_id);
create index deals_customer_idx on deals (tenant_id, customer_id);

create table activities (
  id bigint generated always as identity primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  contact_id uuid not null,
  kind text not null constraint activities_kind_valid check (kind in ('email', 'call', 'meeting', 'note')),
  direction text constraint activities_direction_valid check (direction in ('inbound', 'outbound')),
  occurred_at timestamptz not null,
  summary text not null constraint activities_summary_length check (char_length(summary) between 1 and 4000),
  -- email: replied | no_reply | bounced; call: connected | voicemail | no_answer;
  -- meeting: held | no_show | rescheduled; notes have none.
  outcome text,
  created_by uuid references users (id) on delete set null,
  created_at timestamptz not null default now(),
  constraint activities_contact_fk foreign key (tenant_id, contact_id) references contacts (tenant_id, id) on delete cascade,
  constraint activities_note_has_no_direction check (kind <> 'note' or direction is null)
);
-- The timeline and the context builder read a contact's activities newest first.
create index activities_contact_time_idx on activities (tenant_id, contact_id, occurred_at desc, id desc);

do $$
declare t text;
begin
  foreach t in array array['customers', 'contacts', 'deals', 'activities'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format('create policy %I on %I using (tenant_id = app_tenant_id()) with check (tenant_id = app_tenant_id())',
                   t || '_tenant', t);
    execute format('grant select, insert, update, delete on %I to smartcrm_app', t);
  end loop;
end $$;
grant execute on function contacts_search_document(contacts) to smartcrm_app;
