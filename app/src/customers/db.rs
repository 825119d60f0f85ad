//! SQL for the customers pages. Every query names the tenant; row-level security backs it up.
use super::{
    form::BusinessContext, CustomerRow, DeliveredRow, ProjectRow, TaskRow, PAGE_SIZE, RECENT_ROWS,
};
use crate::{
    crm::{db::customer_from_row, Customer},
    ssr::tenancy::Tx,
};
use serde_json::json;
use uuid::Uuid;

/// Task states that are over: everything else is open (a failed task waits for a person).
const CLOSED_STATES: [&str; 3] = ["delivered", "rejected", "cancelled"];

/// A filter already checked by the server function.
pub struct ListQuery<'a> {
    /// A LIKE pattern, already escaped.
    pub name_like: Option<&'a str>,
    pub industry: Option<&'a str>,
    pub open_tasks: bool,
    pub after: Option<Uuid>,
}

/// One page of customers by name, after the customer `after`, plus one row to tell whether
/// another page follows.
#[tracing::instrument(skip_all)]
pub async fn list(
    tx: &mut Tx,
    tenant_id: Uuid,
    q: &ListQuery<'_>,
) -> Result<Vec<CustomerRow>, sqlx::Error> {
    let closed = CLOSED_STATES.map(String::from).to_vec();
    sqlx::query_as!(
        CustomerRow,
        r#"select cu.id, cu.name, cu.industry_category as industry, cu.is_vip, cu.updated_at,
                  (select count(*) from contacts c
                    where c.tenant_id = cu.tenant_id and c.customer_id = cu.id) as "contacts!",
                  (select count(*) from project_tasks t
                    where t.tenant_id = cu.tenant_id and t.customer_id = cu.id
                      and t.execution_state <> all($5)) as "open_tasks!"
             from customers cu
            where cu.tenant_id = $1
              and ($2::text is null or cu.name ilike $2)
              and ($3::text is null or cu.industry_category = $3)
              and (not $4 or exists (select 1 from project_tasks t
                                      where t.tenant_id = cu.tenant_id and t.customer_id = cu.id
                                        and t.execution_state <> all($5)))
              and ($6::uuid is null
                   or (cu.name, cu.id) > (select a.name, a.id from customers a
                                           where a.tenant_id = $1 and a.id = $6))
            order by cu.name, cu.id
            limit $7"#,
        tenant_id,
        q.name_like,
        q.industry,
        q.open_tasks,
        &closed,
        q.after,
        PAGE_SIZE + 1
    )
    .fetch_all(&mut **tx)
    .await
}

/// The workspace's industries, for the list's filter.
#[tracing::instrument(skip_all)]
pub async fn industries(tx: &mut Tx, tenant_id: Uuid) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select distinct industry_category as "industry!" from customers
            where tenant_id = $1 and industry_category <> ''
            order by 1 limit 200"#,
        tenant_id
    )
    .fetch_all(&mut **tx)
    .await
}

/// One customer, locked for update when `lock` (the editor's save reads it this way).
#[tracing::instrument(skip_all, fields(%id))]
pub async fn customer(
    tx: &mut Tx,
    tenant_id: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<Option<Customer>, sqlx::Error> {
    let row = if lock {
        sqlx::query!(
            r#"select id, name, website, industry_category, industry_subcategory, business_description,
                      unique_selling_points, products_services, target_audience, business_hours,
                      brand_voice, content_preferences, competitors, compliance, is_vip, updated_at
                 from customers where tenant_id = $1 and id = $2 for update"#,
            tenant_id,
            id
        )
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| customer_from_row!(r))
    } else {
        sqlx::query!(
            r#"select id, name, website, industry_category, industry_subcategory, business_description,
                      unique_selling_points, products_services, target_audience, business_hours,
                      brand_voice, content_preferences, competitors, compliance, is_vip, updated_at
                 from customers where tenant_id = $1 and id = $2"#,
            tenant_id,
            id
        )
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| customer_from_row!(r))
    };
    row.transpose()
}

/// Writes the business context and stamps a new `updated_at` (the form's next version).
#[tracing::instrument(skip_all, fields(%id))]
pub async fn save(
    tx: &mut Tx,
    tenant_id: Uuid,
    id: Uuid,
    b: &BusinessContext,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update customers
            set name = $3, website = $4, industry_category = $5, industry_subcategory = $6,
                business_description = $7, unique_selling_points = $8, products_services = $9,
                target_audience = $10, brand_voice = $11, content_preferences = $12,
                compliance = $13, competitors = $14, is_vip = $15, updated_at = clock_timestamp()
          where tenant_id = $1 and id = $2",
        tenant_id,
        id,
        b.name,
        b.website,
        b.industry_category,
        b.industry_subcategory,
        b.business_description,
        &b.unique_selling_points,
        json!(b.products_services),
        json!(b.target_audience),
        json!(b.brand_voice),
        json!(b.content_preferences),
        json!(b.compliance),
        &b.competitors,
        b.is_vip
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn projects(
    tx: &mut Tx,
    tenant_id: Uuid,
    customer_id: Uuid,
) -> Result<Vec<ProjectRow>, sqlx::Error> {
    let closed = CLOSED_STATES.map(String::from).to_vec();
    sqlx::query_as!(
        ProjectRow,
        r#"select p.id, p.name,
                  count(t.id) as "tasks!",
                  count(t.id) filter (where t.execution_state <> all($3)) as "open_tasks!"
             from projects p
             left join project_tasks t on t.tenant_id = p.tenant_id and t.project_id = p.id
            where p.tenant_id = $1 and p.customer_id = $2
            group by p.id, p.name
            order by p.name
            limit 100"#,
        tenant_id,
        customer_id,
        &closed
    )
    .fetch_all(&mut **tx)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn recent_tasks(
    tx: &mut Tx,
    tenant_id: Uuid,
    customer_id: Uuid,
) -> Result<Vec<TaskRow>, sqlx::Error> {
    sqlx::query_as!(
        TaskRow,
        r#"select t.id, t.title, p.name as project, t.execution_state as state, t.updated_at
             from project_tasks t join projects p on p.tenant_id = t.tenant_id and p.id = t.project_id
            where t.tenant_id = $1 and t.customer_id = $2
            order by t.created_at desc
            limit $3"#,
        tenant_id,
        customer_id,
        RECENT_ROWS
    )
    .fetch_all(&mut **tx)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn delivered(
    tx: &mut Tx,
    tenant_id: Uuid,
    customer_id: Uuid,
) -> Result<Vec<DeliveredRow>, sqlx::Error> {
    sqlx::query_as!(
        DeliveredRow,
        r#"select t.id as task_id, t.title,
                  left(coalesce(d.edited_content, d.content), 280) as "excerpt!",
                  d.delivered_at as "delivered_at!"
             from project_deliverables d
             join project_tasks t on t.tenant_id = d.tenant_id and t.id = d.task_id
            where d.tenant_id = $1 and t.customer_id = $2 and d.delivered_at is not null
            order by d.delivered_at desc
            limit $3"#,
        tenant_id,
        customer_id,
        RECENT_ROWS
    )
    .fetch_all(&mut **tx)
    .await
}
