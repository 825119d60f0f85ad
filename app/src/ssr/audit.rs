//! The audit log's writer: every feature records who changed what through here, in the same
//! transaction as the change. Reading the log is the `audit` module's job.
use crate::ssr::tenancy::Tx;
use uuid::Uuid;

/// Adds one entry to the workspace's audit log.
#[tracing::instrument(skip_all, fields(%action))]
pub async fn record(
    tx: &mut Tx,
    tenant_id: Uuid,
    actor: Option<Uuid>,
    action: &str,
    target: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into audit_log (tenant_id, actor_user_id, action, target) values ($1, $2, $3, $4)",
        tenant_id,
        actor,
        action,
        target
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
