//! Tenant-scoped transactions: the only way request code reaches tenant-owned tables.
//!
//! Each transaction switches to the non-owner role `smartcrm_app` and records the tenant and
//! user in `app.tenant_id` / `app.user_id`, which the row-level-security policies read. The
//! settings are transaction-local, so a pooled connection never carries them into the next
//! request.
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

pub type Tx = Transaction<'static, Postgres>;

/// The tenant and user a request acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
}

/// A transaction that sees only `scope.tenant_id`'s rows.
#[tracing::instrument(level = "debug", skip_all, fields(tenant_id = %scope.tenant_id))]
pub async fn begin(pool: &PgPool, scope: Scope) -> Result<Tx, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "select set_config('role', 'smartcrm_app', true) as role,
                set_config('app.tenant_id', $1, true) as tenant,
                set_config('app.user_id', $2, true) as user_id",
        scope.tenant_id.to_string(),
        scope.user_id.to_string(),
    )
    .fetch_one(&mut *tx)
    .await?;
    Ok(tx)
}

/// A transaction with no tenant: sees users and sign-in throttles, no tenant-owned rows.
pub async fn begin_anonymous(pool: &PgPool) -> Result<Tx, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query!("select set_config('role', 'smartcrm_app', true) as role")
        .fetch_one(&mut *tx)
        .await?;
    Ok(tx)
}

/// Lets an anonymous transaction see the memberships of a user whose password was verified.
pub async fn act_as_user(tx: &mut Tx, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("select set_config('app.user_id', $1, true) as user_id", user_id.to_string())
        .fetch_one(&mut **tx)
        .await?;
    Ok(())
}

/// Narrows a transaction to one tenant once it is known (at sign-in).
pub async fn set_tenant(tx: &mut Tx, tenant_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("select set_config('app.tenant_id', $1, true) as tenant", tenant_id.to_string())
        .fetch_one(&mut **tx)
        .await?;
    Ok(())
}
