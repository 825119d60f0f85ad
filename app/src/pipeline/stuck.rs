//! The detect-stuck-tasks job: a task held in a state past the limit its workspace's
//! stuck-task rule sets (a hung worker's lease, a delivery that never happens, a review nobody
//! opens) is escalated to a person with the reason, and the alert opens at once.
use super::{
    db::{self, Changes, Move},
    state::{Actor, TaskState},
};
use crate::{
    alerts::{
        evaluate::{self as alerting, Firing},
        AlertKind, STUCK_REASON_PREFIX,
    },
    ssr::tenancy::{self, Tx},
};
use sqlx::PgPool;
use uuid::Uuid;

/// The name the detector's moves carry in the task's history.
pub const DETECTOR: &str = "detect-stuck-tasks";

/// Escalates one workspace's stuck tasks; returns how many it moved. Escalated tasks are left
/// where they are (a person already owns them; the alert says how long they have waited).
pub async fn escalate_stuck(tx: &mut Tx, tenant_id: Uuid) -> Result<u64, sqlx::Error> {
    let (rules, _) = crate::alerts::db::rules(tx, tenant_id).await?;
    if !rules.enabled(AlertKind::StuckTask) {
        return Ok(0);
    }
    let mut moved = 0;
    for t in alerting::stuck_tasks(tx, tenant_id, &rules).await? {
        let Some(from) = TaskState::parse(&t.state).filter(|s| *s != TaskState::Escalated) else {
            continue;
        };
        let reason = format!(
            "{STUCK_REASON_PREFIX}{}; escalated for a person to decide.",
            t.describe()
        );
        let m = Move::by(
            Actor::System,
            t.id,
            t.version,
            from,
            TaskState::Escalated,
            Some(DETECTOR),
            &reason,
        );
        // The lease goes too: a worker that still holds it finds the task moved on.
        match db::transition(tx, &m, &Changes::waiting(reason.clone())).await {
            Ok(_) => {
                moved += 1;
                tracing::warn!(alert = "stuck_task", task = %t.id, %tenant_id, reason = %reason, "stuck task escalated");
                alerting::raise(
                    tx,
                    tenant_id,
                    &Firing {
                        kind: AlertKind::StuckTask,
                        key: format!("stuck_task:{}", t.id),
                        critical: false,
                        title: format!("“{}” was stuck and waits in the escalation queue", t.title),
                        detail: reason,
                        link: Some(format!("/pipeline/tasks/{}", t.id)),
                    },
                )
                .await?;
            }
            // Moved meanwhile (a worker finished it): no longer stuck.
            Err(db::MoveError::Conflict { .. }) => {}
            Err(db::MoveError::Db(e)) => return Err(e),
            Err(e) => {
                tracing::warn!(task = %t.id, error = %e, "a stuck task could not be escalated")
            }
        }
    }
    Ok(moved)
}

/// The job: every workspace, one transaction each; a workspace that fails is logged and the
/// others still run.
pub async fn detect_all(pool: &PgPool) -> Result<u64, sqlx::Error> {
    tenancy::for_each_workspace(pool, "detecting stuck tasks", |tx, tenant_id| {
        Box::pin(escalate_stuck(tx, tenant_id))
    })
    .await
}
