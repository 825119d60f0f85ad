-- Business context is edited in the app (issue 12): compliance requirements join it, and the
-- audit log names what each entry is about so the page can link to it while it exists.

-- {"required_disclaimers": [...], "forbidden_claims": [...]}: checked in every draft.
alter table customers add column compliance jsonb not null default '{}'::jsonb;

-- The customers list filters by industry.
create index customers_industry_idx on customers (tenant_id, industry_category, name);

-- What an entry is about: a kind ('customer', 'task', …) and its id. `target` keeps the name
-- as it was, for entries whose record is gone; `detail` holds the change ({"changes": [...]}).
alter table audit_log add column target_kind text, add column target_id uuid;
alter table audit_log add constraint audit_log_target_complete
  check ((target_kind is null) = (target_id is null));
