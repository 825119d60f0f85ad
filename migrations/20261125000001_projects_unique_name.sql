-- One project per customer and name (case-insensitive), so creating a task for "Spring" twice at
-- once cannot make two projects. Existing duplicates are merged into the oldest first.
with ranked as (
  select id, tenant_id, customer_id,
         first_value(id) over (partition by tenant_id, customer_id, lower(name) order by created_at, id) as keep
    from projects
)
update project_tasks t set project_id = r.keep
  from ranked r
 where t.project_id = r.id and r.id <> r.keep;

delete from projects p
 using projects older
 where older.tenant_id = p.tenant_id and older.customer_id = p.customer_id
   and lower(older.name) = lower(p.name)
   and (older.created_at, older.id) < (p.created_at, p.id);

create unique index projects_customer_name_key on projects (tenant_id, customer_id, lower(name));
