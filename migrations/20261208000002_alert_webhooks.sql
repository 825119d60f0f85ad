-- The alert webhook (issue 15): one address per workspace, a secret to sign with, and a log of
-- deliveries, each retried with backoff by the deliver-webhooks job.

create table alert_webhooks (
  tenant_id uuid primary key references tenants (id) on delete cascade,
  url text not null constraint alert_webhooks_url_valid
    check (char_length(url) between 8 and 500 and url ~ '^https?://[^/?#\s]+'),
  -- Signs every delivery (HMAC-SHA256); shown in full once, when made.
  secret text not null constraint alert_webhooks_secret_length check (char_length(secret) between 32 and 128),
  enabled boolean not null default true,
  -- 'warning': every alert; 'critical': critical ones only.
  min_severity text not null default 'warning' constraint alert_webhooks_severity_valid
    check (min_severity in ('warning', 'critical')),
  version integer not null default 1,
  updated_by uuid references users (id) on delete set null,
  updated_at timestamptz not null default now()
);

create table webhook_deliveries (
  id bigint generated always as identity primary key,
  tenant_id uuid not null references tenants (id) on delete cascade,
  alert_id uuid references alerts (id) on delete set null,
  event text not null constraint webhook_deliveries_event_valid check (event in (
    'alert.opened', 'alert.acknowledged', 'alert.resolved', 'alert.auto_resolved', 'test')),
  payload jsonb not null,
  state text not null default 'pending' constraint webhook_deliveries_state_valid
    check (state in ('pending', 'delivered', 'failed')),
  attempts smallint not null default 0 constraint webhook_deliveries_attempts_valid check (attempts between 0 and 20),
  -- When the job may (re)try it; while a try is under way, a lease of a few minutes.
  next_attempt_at timestamptz not null default now(),
  last_status integer,
  last_error text constraint webhook_deliveries_error_length check (char_length(last_error) <= 500),
  created_at timestamptz not null default now(),
  delivered_at timestamptz
);
create index webhook_deliveries_due_idx on webhook_deliveries (tenant_id, next_attempt_at) where state = 'pending';
create index webhook_deliveries_log_idx on webhook_deliveries (tenant_id, created_at desc);

do $$
declare t text;
begin
  foreach t in array array['alert_webhooks', 'webhook_deliveries'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format('create policy %I on %I using (tenant_id = (select app_tenant_id())) with check (tenant_id = (select app_tenant_id()))',
                   t || '_tenant', t);
    execute format('grant select, insert, update, delete on %I to smartcrm_app', t);
  end loop;
end $$;

-- Every path that opens, acknowledges or resolves an alert queues its delivery.
create function alert_webhook_enqueue() returns trigger language plpgsql as $$
declare
  ev text;
begin
  if tg_op = 'INSERT' then
    ev := 'alert.opened';
  elsif new.state is distinct from old.state then
    ev := case new.state
      when 'open' then 'alert.opened'
      when 'acknowledged' then 'alert.acknowledged'
      when 'resolved' then 'alert.resolved'
      when 'auto_resolved' then 'alert.auto_resolved'
    end;
  end if;
  if ev is null then
    return null;
  end if;
  insert into webhook_deliveries (tenant_id, alert_id, event, payload)
  select new.tenant_id, new.id, ev, jsonb_build_object(
           'event', ev,
           'alert', jsonb_build_object(
             'id', new.id, 'kind', new.kind, 'severity', new.severity, 'title', new.title,
             'detail', new.detail, 'link', new.link, 'state', new.state,
             'occurrences', new.occurrences, 'opened_at', new.opened_at,
             'resolution', new.resolution, 'resolution_note', new.resolution_note))
    from alert_webhooks w
   where w.tenant_id = new.tenant_id and w.enabled
     and (w.min_severity = 'warning' or new.severity = 'critical');
  return null;
end $$;

create trigger alerts_webhook after insert or update of state on alerts
  for each row execute function alert_webhook_enqueue();

insert into scheduled_jobs (name, description, every_seconds) values
  ('deliver-webhooks', 'Sends queued alert notifications to each workspace''s webhook, signed, retrying failures with backoff (6 tries).', 10);
