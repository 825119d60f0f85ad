//! The SQL behind the CRM record forms. Reads for the pages are in `crm::db`; these are the
//! writes, each scoped by tenant (and backed by row-level security).
use super::{
    form::{ActivityInput, ContactInput, DealInput},
    Choice,
};
use crate::ssr::tenancy::Tx;
use time::OffsetDateTime;
use uuid::Uuid;

/// Most companies the contact form lists.
pub const MAX_CUSTOMER_CHOICES: i64 = 1_000;

#[tracing::instrument(skip_all)]
pub async fn customer_choices(tx: &mut Tx, tenant_id: Uuid) -> Result<Vec<Choice>, sqlx::Error> {
    sqlx::query_as!(
        Choice,
        "select id, name as label from customers where tenant_id = $1 order by name, id limit $2",
        tenant_id,
        MAX_CUSTOMER_CHOICES
    )
    .fetch_all(&mut **tx)
    .await
}

/// The members who can own a contact: reps, managers and admins.
#[tracing::instrument(skip_all)]
pub async fn owner_choices(tx: &mut Tx, tenant_id: Uuid) -> Result<Vec<Choice>, sqlx::Error> {
    sqlx::query_as!(
        Choice,
        "select u.id, u.display_name as label
         from memberships m join users u on u.id = m.user_id
         where m.tenant_id = $1 and m.role in ('rep', 'manager', 'admin')
         order by u.display_name, u.id",
        tenant_id
    )
    .fetch_all(&mut **tx)
    .await
}

/// A name for the audit diff: the customer's, or "" when it is not in the workspace.
pub async fn customer_name(tx: &mut Tx, tenant_id: Uuid, id: Uuid) -> Result<String, sqlx::Error> {
    Ok(sqlx::query_scalar!(
        "select name from customers where tenant_id = $1 and id = $2",
        tenant_id,
        id
    )
    .fetch_optional(&mut **tx)
    .await?
    .unwrap_or_default())
}

/// The member's name if `id` may own contacts in the workspace.
pub async fn owner_name(
    tx: &mut Tx,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "select u.display_name from memberships m join users u on u.id = m.user_id
         where m.tenant_id = $1 and m.user_id = $2 and m.role in ('rep', 'manager', 'admin')",
        tenant_id,
        id
    )
    .fetch_optional(&mut **tx)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn insert_contact(
    tx: &mut Tx,
    tenant_id: Uuid,
    c: &ContactInput,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into contacts (tenant_id, customer_id, owner_user_id, first_name, last_name, email, phone, title, lifecycle_stage)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
        tenant_id,
        c.customer_id,
        c.owner_user_id,
        c.first_name,
        c.last_name,
        c.email,
        c.phone,
        c.title,
        c.lifecycle_stage
    )
    .fetch_one(&mut **tx)
    .await
}

/// The contact's `updated_at`, locked for the rest of the transaction; `None` if it is not in
/// the workspace.
pub async fn lock_contact(
    tx: &mut Tx,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    sqlx::query_scalar!(
        "select updated_at from contacts where tenant_id = $1 and id = $2 for update",
        tenant_id,
        id
    )
    .fetch_optional(&mut **tx)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn update_contact(
    tx: &mut Tx,
    tenant_id: Uuid,
    id: Uuid,
    c: &ContactInput,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update contacts set customer_id = $3, owner_user_id = $4, first_name = $5, last_name = $6, email = $7,
                phone = $8, title = $9, lifecycle_stage = $10, updated_at = now()
         where tenant_id = $1 and id = $2",
        tenant_id,
        id,
        c.customer_id,
        c.owner_user_id,
        c.first_name,
        c.last_name,
        c.email,
        c.phone,
        c.title,
        c.lifecycle_stage
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Archives (or restores) a contact; the name it had, if the state changed.
#[tracing::instrument(skip_all)]
pub async fn set_contact_archived(
    tx: &mut Tx,
    tenant_id: Uuid,
    id: Uuid,
    archived: bool,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"update contacts set archived_at = case when $3 then now() end, updated_at = now()
           where tenant_id = $1 and id = $2 and (archived_at is not null) <> $3
           returning first_name || ' ' || last_name as "name!""#,
        tenant_id,
        id,
        archived
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn contact_exists(tx: &mut Tx, tenant_id: Uuid, id: Uuid) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query_scalar!(
        r#"select exists (select 1 from contacts where tenant_id = $1 and id = $2) as "e!""#,
        tenant_id,
        id
    )
    .fetch_one(&mut **tx)
    .await?)
}

/// The contact's name and customer, when it is in the workspace and not archived.
pub async fn live_contact(
    tx: &mut Tx,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<(String, Uuid)>, sqlx::Error> {
    let row = sqlx::query!(
        "select first_name || ' ' || last_name as name, customer_id from contacts
         where tenant_id = $1 and id = $2 and archived_at is null",
        tenant_id,
        id
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| (r.name.unwrap_or_default(), r.customer_id)))
}

#[tracing::instrument(skip_all)]
pub async fn insert_deal(
    tx: &mut Tx,
    tenant_id: Uuid,
    customer_id: Uuid,
    contact_id: Uuid,
    d: &DealInput,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into deals (tenant_id, customer_id, contact_id, name, stage, amount_minor, currency, expected_close)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
        tenant_id,
        customer_id,
        contact_id,
        d.name,
        d.stage,
        d.amount_minor,
        d.currency,
        d.expected_close
    )
    .fetch_one(&mut **tx)
    .await
}

/// A deal of `contact_id` as it is now, locked: its fields and `updated_at`.
pub async fn lock_deal(
    tx: &mut Tx,
    tenant_id: Uuid,
    contact_id: Uuid,
    id: Uuid,
) -> Result<Option<(DealInput, OffsetDateTime)>, sqlx::Error> {
    let row = sqlx::query!(
        "select name, stage, amount_minor, currency, expected_close, updated_at from deals
         where tenant_id = $1 and contact_id = $2 and id = $3 and archived_at is null for update",
        tenant_id,
        contact_id,
        id
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| {
        (
            DealInput {
                name: r.name,
                stage: r.stage,
                amount_minor: r.amount_minor,
                currency: r.currency,
                expected_close: r.expected_close,
            },
            r.updated_at,
        )
    }))
}

/// Saves a deal; a new stage restarts the time in stage.
#[tracing::instrument(skip_all)]
pub async fn update_deal(
    tx: &mut Tx,
    tenant_id: Uuid,
    id: Uuid,
    d: &DealInput,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update deals set name = $3, stage = $4, amount_minor = $5, currency = $6, expected_close = $7,
                stage_entered_at = case when stage = $4 then stage_entered_at else now() end,
                updated_at = now()
         where tenant_id = $1 and id = $2",
        tenant_id,
        id,
        d.name,
        d.stage,
        d.amount_minor,
        d.currency,
        d.expected_close
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn archive_deal(
    tx: &mut Tx,
    tenant_id: Uuid,
    contact_id: Uuid,
    id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "update deals set archived_at = now(), updated_at = now()
         where tenant_id = $1 and contact_id = $2 and id = $3 and archived_at is null
         returning name",
        tenant_id,
        contact_id,
        id
    )
    .fetch_optional(&mut **tx)
    .await
}

#[tracing::instrument(skip_all)]
pub async fn insert_activity(
    tx: &mut Tx,
    tenant_id: Uuid,
    contact_id: Uuid,
    user_id: Uuid,
    a: &ActivityInput,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into activities (tenant_id, contact_id, kind, direction, occurred_at, summary, outcome, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
        tenant_id,
        contact_id,
        a.kind,
        a.direction,
        a.occurred_at,
        a.summary,
        a.outcome,
        user_id
    )
    .fetch_one(&mut **tx)
    .await
}

/// The members who can own a contact, by their (lower-case) email.
#[tracing::instrument(skip_all)]
pub async fn owners_by_email(
    tx: &mut Tx,
    tenant_id: Uuid,
) -> Result<Vec<(String, Uuid)>, sqlx::Error> {
    let rows = sqlx::query!(
        "select u.email, u.id from memberships m join users u on u.id = m.user_id
         where m.tenant_id = $1 and m.role in ('rep', 'manager', 'admin')",
        tenant_id
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|r| (r.email, r.id)).collect())
}

/// Which of `emails` a contact of the workspace (archived or not) already has.
#[tracing::instrument(skip_all, fields(n = emails.len()))]
pub async fn taken_emails(
    tx: &mut Tx,
    tenant_id: Uuid,
    emails: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "select email as \"email!\" from contacts where tenant_id = $1 and email = any($2)",
        tenant_id,
        emails
    )
    .fetch_all(&mut **tx)
    .await
}

/// Inserts checked contacts in one statement; how many.
#[tracing::instrument(skip_all, fields(n = rows.len()))]
pub async fn insert_contacts(
    tx: &mut Tx,
    tenant_id: Uuid,
    rows: &[ContactInput],
) -> Result<u64, sqlx::Error> {
    let customer: Vec<Uuid> = rows.iter().map(|c| c.customer_id).collect();
    let owner: Vec<Option<Uuid>> = rows.iter().map(|c| c.owner_user_id).collect();
    let first: Vec<&str> = rows.iter().map(|c| c.first_name.as_str()).collect();
    let last: Vec<&str> = rows.iter().map(|c| c.last_name.as_str()).collect();
    let email: Vec<Option<&str>> = rows.iter().map(|c| c.email.as_deref()).collect();
    let phone: Vec<Option<&str>> = rows.iter().map(|c| c.phone.as_deref()).collect();
    let title: Vec<Option<&str>> = rows.iter().map(|c| c.title.as_deref()).collect();
    let stage: Vec<&str> = rows.iter().map(|c| c.lifecycle_stage.as_str()).collect();
    let done = sqlx::query!(
        "insert into contacts (tenant_id, customer_id, owner_user_id, first_name, last_name, email, phone, title, lifecycle_stage)
         select $1, * from unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])",
        tenant_id,
        &customer,
        &owner as &[Option<Uuid>],
        &first as &[&str],
        &last as &[&str],
        &email as &[Option<&str>],
        &phone as &[Option<&str>],
        &title as &[Option<&str>],
        &stage as &[&str]
    )
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}
