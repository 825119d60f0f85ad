//! SQL for the dashboard counts.
use super::{AuditSummary, DashboardStats};
use crate::{audit, domain::Role, ssr::tenancy::Tx};
use uuid::Uuid;

#[tracing::instrument(skip_all)]
/// The workspace's counts; the audit entries themselves only when `with_audit` (admins).
pub async fn stats(
    tx: &mut Tx,
    tenant_id: Uuid,
    with_audit: bool,
) -> Result<DashboardStats, sqlx::Error> {
    let roles = sqlx::query!(
        r#"select role, count(*) as "count!" from memberships where tenant_id = $1 group by role"#,
        tenant_id
    )
    .fetch_all(&mut **tx)
    .await?;
    let members_by_role = Role::ALL
        .into_iter()
        .map(|role| {
            let n = roles
                .iter()
                .find(|r| r.role == role.as_str())
                .map_or(0, |r| r.count);
            (role, n)
        })
        .collect();
    // served by audit_log_tenant_action_at_idx
    let week = sqlx::query!(
        r#"select count(*) filter (where action = 'auth.sign_in') as "sign_ins!",
                  count(distinct actor_user_id) filter (where action = 'auth.sign_in') as "active!",
                  count(*) as "events!"
           from audit_log
           where tenant_id = $1 and at > now() - interval '7 days'"#,
        tenant_id
    )
    .fetch_one(&mut **tx)
    .await?;
    let audit = if with_audit {
        Some(AuditSummary {
            events_7d: week.events,
            recent: audit::db::page(tx, tenant_id, None, 5).await?,
        })
    } else {
        None
    };
    Ok(DashboardStats {
        members_by_role,
        sign_ins_7d: week.sign_ins,
        active_members_7d: week.active,
        audit,
    })
}
