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

/// What an audit entry is about: a kind the audit page can link ("customer", "task"), the
/// record's id, and its name as it is now (kept when the record is later renamed or removed).
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub kind: &'static str,
    pub id: Uuid,
    pub label: &'a str,
}

/// One field's change, for the entry's diff.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Change {
    pub field: String,
    pub from: String,
    pub to: String,
}

/// Longest text an audit diff keeps of one value.
pub const MAX_CHANGE_CHARS: usize = 500;

impl Change {
    pub fn new(field: impl Into<String>, from: &str, to: &str) -> Self {
        let clip = |s: &str| -> String {
            if s.chars().count() <= MAX_CHANGE_CHARS {
                s.to_owned()
            } else {
                let kept: String = s.chars().take(MAX_CHANGE_CHARS).collect();
                format!("{kept}…")
            }
        };
        Self {
            field: field.into(),
            from: clip(from),
            to: clip(to),
        }
    }
}

/// The fields that differ between two field-by-field readings of a record, as the entry's
/// diff (same labels, same order).
pub fn diff(before: &[(&'static str, String)], after: &[(&'static str, String)]) -> Vec<Change> {
    before
        .iter()
        .zip(after)
        .filter(|((_, a), (_, b))| a != b)
        .map(|((label, a), (_, b))| Change::new(*label, a, b))
        .collect()
}

/// Adds one entry about `target`, with the fields that changed (none for a plain event).
#[tracing::instrument(skip_all, fields(%action, kind = target.kind, id = %target.id))]
pub async fn record_about(
    tx: &mut Tx,
    tenant_id: Uuid,
    actor: Option<Uuid>,
    action: &str,
    target: Target<'_>,
    changes: &[Change],
) -> Result<(), sqlx::Error> {
    let detail = if changes.is_empty() {
        serde_json::json!({})
    } else {
        serde_json::json!({ "changes": changes })
    };
    sqlx::query!(
        "insert into audit_log (tenant_id, actor_user_id, action, target, target_kind, target_id, detail)
         values ($1, $2, $3, $4, $5, $6, $7)",
        tenant_id,
        actor,
        action,
        target.label,
        target.kind,
        target.id,
        detail
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Adds one entry about a record named by text rather than a uuid (a model, a prompt), with a
/// JSON detail (the fields that changed, the rows a bulk change touched).
#[tracing::instrument(skip_all, fields(%action, %label))]
pub async fn record_named(
    tx: &mut Tx,
    tenant_id: Uuid,
    actor: Option<Uuid>,
    action: &str,
    label: &str,
    detail: serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into audit_log (tenant_id, actor_user_id, action, target, detail)
         values ($1, $2, $3, $4, $5)",
        tenant_id,
        actor,
        action,
        label,
        detail
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
