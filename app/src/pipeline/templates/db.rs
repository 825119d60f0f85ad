//! The templates' SQL. Built-ins (no tenant) are readable by every workspace and writable by
//! none (row-level security); versions are insert-only (a trigger refuses updates).
use super::{
    form::VersionInput, PreviewChoice, TemplateRow, TemplateVersion, VersionInfo, PAGE_SIZE,
};
use crate::{
    crm::{db::customer_from_row, Customer},
    ssr::tenancy::Tx,
};
use sqlx::{Postgres, QueryBuilder};
use time::OffsetDateTime;
use uuid::Uuid;

/// A filter already checked by the server function.
pub struct ListQuery<'a> {
    pub output_type: Option<&'a str>,
    pub industry: Option<&'a str>,
    pub purpose: Option<&'a str>,
    pub status: Option<&'a str>,
    pub after: Option<Uuid>,
}

/// One page (plus one row, to tell whether another follows) by name.
#[tracing::instrument(skip_all)]
pub async fn list(
    tx: &mut Tx,
    tenant: Uuid,
    q: &ListQuery<'_>,
) -> Result<Vec<TemplateRow>, sqlx::Error> {
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(
        "select t.id, t.name, t.output_type, t.industry, t.purpose, t.active, t.active_version, \
         t.latest_version, t.tenant_id is null as builtin, t.updated_at \
         from content_templates t where (t.tenant_id is null or t.tenant_id = ",
    );
    sql.push_bind(tenant).push(")");
    if let Some(t) = q.output_type {
        sql.push(" and t.output_type = ").push_bind(t.to_owned());
    }
    if let Some(i) = q.industry {
        sql.push(" and t.industry = ").push_bind(i.to_owned());
    }
    if let Some(p) = q.purpose {
        sql.push(" and t.purpose = ").push_bind(p.to_owned());
    }
    match q.status {
        Some("active") => sql.push(" and t.active and t.active_version is not null"),
        Some("draft") => sql.push(" and t.active_version is null"),
        Some("inactive") => sql.push(" and not t.active and t.active_version is not null"),
        _ => &mut sql,
    };
    if let Some(after) = q.after {
        sql.push(
            " and (t.name, t.id) > (select a.name, a.id from content_templates a where a.id = ",
        )
        .push_bind(after)
        .push(")");
    }
    sql.push(" order by t.name, t.id limit ")
        .push_bind(PAGE_SIZE + 1);
    let rows = sql.build().fetch_all(&mut **tx).await?;
    use sqlx::Row;
    rows.into_iter()
        .map(|r| {
            let active: bool = r.try_get("active")?;
            let active_version: Option<i32> = r.try_get("active_version")?;
            Ok(TemplateRow {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                output_type: r.try_get("output_type")?,
                industry: r.try_get("industry")?,
                purpose: r.try_get("purpose")?,
                status: super::status(active, active_version).to_owned(),
                active_version,
                latest_version: r.try_get("latest_version")?,
                builtin: r.try_get("builtin")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .collect()
}

pub async fn industries(tx: &mut Tx, tenant: Uuid) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "select distinct industry from content_templates
          where (tenant_id is null or tenant_id = $1) and industry <> '' order by industry limit 200",
        tenant
    )
    .fetch_all(&mut **tx)
    .await
}

/// A template's state: built-in, active, the live and newest versions.
pub struct Head {
    pub builtin: bool,
    pub active: bool,
    pub active_version: Option<i32>,
    pub latest_version: i32,
}

/// The template's state, locked for the rest of the transaction when `lock` (workspace
/// templates only: a built-in cannot be locked, or changed).
pub async fn head(
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<Option<Head>, sqlx::Error> {
    let row = if lock {
        sqlx::query!(
            "select tenant_id is null as \"builtin!\", active, active_version, latest_version
               from content_templates where tenant_id = $1 and id = $2 for update",
            tenant,
            id
        )
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| (r.builtin, r.active, r.active_version, r.latest_version))
    } else {
        sqlx::query!(
            "select tenant_id is null as \"builtin!\", active, active_version, latest_version
               from content_templates where (tenant_id is null or tenant_id = $1) and id = $2",
            tenant,
            id
        )
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| (r.builtin, r.active, r.active_version, r.latest_version))
    };
    Ok(
        row.map(|(builtin, active, active_version, latest_version)| Head {
            builtin,
            active,
            active_version,
            latest_version,
        }),
    )
}

pub async fn versions(tx: &mut Tx, id: Uuid) -> Result<Vec<VersionInfo>, sqlx::Error> {
    sqlx::query_as!(
        VersionInfo,
        r#"select v.version, v.note, u.display_name as "author?", v.created_at
             from content_template_versions v left join users u on u.id = v.created_by
            where v.template_id = $1 order by v.version desc limit $2"#,
        id,
        super::MAX_VERSIONS_LISTED
    )
    .fetch_all(&mut **tx)
    .await
}

pub async fn version(
    tx: &mut Tx,
    id: Uuid,
    version: i32,
) -> Result<Option<TemplateVersion>, sqlx::Error> {
    sqlx::query_as!(
        TemplateVersion,
        "select version, name, output_type, industry, purpose, body, guidelines, placeholders, note
           from content_template_versions where template_id = $1 and version = $2",
        id,
        version
    )
    .fetch_optional(&mut **tx)
    .await
}

/// A new template (a draft: nothing is live until a version is activated) with version 1.
#[tracing::instrument(skip_all)]
pub async fn insert_template(
    tx: &mut Tx,
    tenant: Uuid,
    user: Uuid,
    v: &VersionInput,
) -> Result<Uuid, sqlx::Error> {
    let id = sqlx::query_scalar!(
        "insert into content_templates
           (tenant_id, name, output_type, industry, purpose, body, placeholders, guidelines, active, latest_version, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, false, 1, $9) returning id",
        tenant,
        v.name,
        v.output_type,
        v.industry,
        v.purpose,
        v.body,
        &v.placeholders,
        v.guidelines,
        user
    )
    .fetch_one(&mut **tx)
    .await?;
    insert_version(tx, tenant, id, 1, user, v).await?;
    Ok(id)
}

#[tracing::instrument(skip_all, fields(%id, version))]
pub async fn insert_version(
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
    version: i32,
    user: Uuid,
    v: &VersionInput,
) -> Result<OffsetDateTime, sqlx::Error> {
    let at = sqlx::query_scalar!(
        "insert into content_template_versions
           (tenant_id, template_id, version, name, output_type, industry, purpose, body, guidelines, placeholders, note, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) returning created_at",
        tenant,
        id,
        version,
        v.name,
        v.output_type,
        v.industry,
        v.purpose,
        v.body,
        v.guidelines,
        &v.placeholders,
        v.note,
        user
    )
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query!(
        "update content_templates set latest_version = $3, updated_at = now() where tenant_id = $1 and id = $2",
        tenant,
        id,
        version
    )
    .execute(&mut **tx)
    .await?;
    Ok(at)
}

/// Makes `version` the live one: the template row takes its content, which the worker reads.
#[tracing::instrument(skip_all, fields(%id, version))]
pub async fn activate(
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
    version: i32,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "update content_templates t
            set name = v.name, output_type = v.output_type, industry = v.industry, purpose = v.purpose,
                body = v.body, guidelines = v.guidelines, placeholders = v.placeholders,
                active = true, active_version = v.version, updated_at = now()
           from content_template_versions v
          where t.tenant_id = $1 and t.id = $2 and v.template_id = t.id and v.version = $3",
        tenant,
        id,
        version
    )
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn deactivate(tx: &mut Tx, tenant: Uuid, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update content_templates set active = false, updated_at = now() where tenant_id = $1 and id = $2",
        tenant,
        id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A customer of the workspace, for the preview.
pub async fn customer(
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
) -> Result<Option<Customer>, sqlx::Error> {
    sqlx::query!(
        r#"select id, name, website, industry_category, industry_subcategory, business_description,
                  unique_selling_points, products_services, target_audience, business_hours,
                  brand_voice, content_preferences, competitors, compliance, is_vip, updated_at
             from customers where tenant_id = $1 and id = $2"#,
        tenant,
        id
    )
    .fetch_optional(&mut **tx)
    .await?
    .map(|r| customer_from_row!(r))
    .transpose()
}

/// A customer's newest tasks of this content type, to preview with their brief.
pub async fn task_choices(
    tx: &mut Tx,
    tenant: Uuid,
    customer: Uuid,
    output_type: &str,
) -> Result<Vec<PreviewChoice>, sqlx::Error> {
    sqlx::query_as!(
        PreviewChoice,
        "select id, title as label from project_tasks
          where tenant_id = $1 and customer_id = $2 and ai_instructions ->> 'output_type' = $3
          order by created_at desc limit 20",
        tenant,
        customer,
        output_type
    )
    .fetch_all(&mut **tx)
    .await
}
