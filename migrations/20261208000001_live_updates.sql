-- Live updates (issue 15): changes the pages show are announced on the `smartcrm_live`
-- channel, which every instance listens on and passes to its browsers as server-sent events.
-- A notification says what changed and in which workspace, never the data: the page fetches
-- that through its server function, with its own checks. NOTIFY is sent at commit, so a page
-- never fetches a change before it is visible.
--
-- Payload: {"t": tenant, "k": "tasks" | "alerts" | "dashboard", "ids": [...], "q": bool}.
-- One notification per workspace per statement: a bulk update of 10,000 tasks is one
-- message, with "ids" left empty past 20 (the page then refreshes as a whole).

create function live_notify(tenant uuid, kind text, ids uuid[], queue boolean) returns void
language sql as $$
  select pg_notify('smartcrm_live', json_build_object(
    't', tenant,
    'k', kind,
    'ids', case when cardinality(ids) <= 20 then ids else '{}'::uuid[] end,
    'q', queue)::text);
$$;

-- Tasks: a new task, a deleted one, or a move (every move bumps `version`; lease renewals
-- and other bookkeeping do not notify). "q": the escalation queue is concerned (a state it
-- lists, before or after).
create function live_tasks_changed() returns trigger language plpgsql as $$
declare
  r record;
begin
  if tg_op = 'UPDATE' then
    for r in
      select n.tenant_id, array_agg(n.id) as ids,
             bool_or(n.execution_state in ('escalated', 'awaiting_review', 'failed')
                     or o.execution_state in ('escalated', 'awaiting_review', 'failed')) as queue
        from new_rows n join old_rows o on o.id = n.id
       where n.version is distinct from o.version
          or n.execution_state is distinct from o.execution_state
          or n.title is distinct from o.title
       group by n.tenant_id
    loop
      perform live_notify(r.tenant_id, 'tasks', r.ids, r.queue);
    end loop;
  elsif tg_op = 'INSERT' then
    for r in
      select tenant_id, array_agg(id) as ids,
             bool_or(execution_state in ('escalated', 'awaiting_review', 'failed')) as queue
        from new_rows group by tenant_id
    loop
      perform live_notify(r.tenant_id, 'tasks', r.ids, r.queue);
    end loop;
  else
    for r in
      select tenant_id, array_agg(id) as ids,
             bool_or(execution_state in ('escalated', 'awaiting_review', 'failed')) as queue
        from old_rows group by tenant_id
    loop
      perform live_notify(r.tenant_id, 'tasks', r.ids, r.queue);
    end loop;
  end if;
  return null;
end $$;

create trigger project_tasks_live_insert after insert on project_tasks
  referencing new table as new_rows for each statement execute function live_tasks_changed();
create trigger project_tasks_live_update after update on project_tasks
  referencing old table as old_rows new table as new_rows for each statement execute function live_tasks_changed();
create trigger project_tasks_live_delete after delete on project_tasks
  referencing old table as old_rows for each statement execute function live_tasks_changed();

-- Alerts: opened, acknowledged, resolved (the evaluator's minute-by-minute `last_seen_at`
-- does not notify).
create function live_alerts_changed() returns trigger language plpgsql as $$
declare
  r record;
begin
  if tg_op = 'UPDATE' then
    for r in
      select n.tenant_id, array_agg(n.id) as ids from new_rows n join old_rows o on o.id = n.id
       where n.state is distinct from o.state or n.severity is distinct from o.severity
       group by n.tenant_id
    loop
      perform live_notify(r.tenant_id, 'alerts', r.ids, false);
    end loop;
  else
    for r in select tenant_id, array_agg(id) as ids from new_rows group by tenant_id loop
      perform live_notify(r.tenant_id, 'alerts', r.ids, false);
    end loop;
  end if;
  return null;
end $$;

create trigger alerts_live_insert after insert on alerts
  referencing new table as new_rows for each statement execute function live_alerts_changed();
create trigger alerts_live_update after update on alerts
  referencing old table as old_rows new table as new_rows for each statement execute function live_alerts_changed();

-- The dashboard: a refresh of a workspace's figures.
create function live_dashboard_changed() returns trigger language plpgsql as $$
begin
  perform live_notify(new.tenant_id, 'dashboard', '{}'::uuid[], false);
  return null;
end $$;

create trigger dashboard_snapshots_live after insert or update on dashboard_snapshots
  for each row execute function live_dashboard_changed();
