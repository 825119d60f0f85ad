//! SQL for the dashboard: the member counts, and the operations view read from the rollups
//! (a handful of small rows whatever the workspace's size).
use super::{
    charts,
    figures::{self, AiDay, PipelineDay, Snapshot},
    AuditSummary, DashboardStats, Operations, Period,
};
use crate::{audit, domain::Role, ssr::tenancy::Tx};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

#[tracing::instrument(skip_all)]
/// The workspace's counts and operations view for `role`: the audit entries for admins, the
/// AI's figures for managers and admins.
pub async fn stats(
    tx: &mut Tx,
    tenant_id: Uuid,
    role: Role,
    period: Period,
) -> Result<DashboardStats, sqlx::Error> {
    let with_audit = role == Role::Admin;
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
        operations: operations(tx, tenant_id, period, role != Role::Rep).await?,
    })
}

/// The operations view over `period`; the AI's figures and charts only `with_ai`.
#[tracing::instrument(skip(tx))]
pub async fn operations(
    tx: &mut Tx,
    tenant_id: Uuid,
    period: Period,
    with_ai: bool,
) -> Result<Operations, sqlx::Error> {
    let now = OffsetDateTime::now_utc();
    let today = now.date();
    let first = today - Duration::days(period.days() - 1);
    let snap = sqlx::query!(
        "select tasks_by_state, backlog, backlog_oldest_at, refreshed_at from dashboard_snapshots where tenant_id = $1",
        tenant_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    let pipe = sqlx::query_as!(
        PipelineDay,
        r#"select day as "day?", delivered, scored, approved, reviewed, retried, rejected, escalated, quality_sum,
                  readability_sum, sentiment_sum, brand_sum, compliance_sum, delivery_hist
           from dashboard_pipeline_daily where tenant_id = $1 and day >= $2 order by day"#,
        tenant_id,
        first
    )
    .fetch_all(&mut **tx)
    .await?;
    let refreshed_at = snap.as_ref().map(|s| s.refreshed_at);
    let snap = snap.map(|s| Snapshot {
        tasks_by_state: s.tasks_by_state,
        backlog: s.backlog,
        backlog_oldest_at: s.backlog_oldest_at,
    });
    let pipeline = figures::pipeline(&pipe, snap.as_ref(), now);
    let (ai, ai_days) = if with_ai {
        let month = today.replace_day(1).unwrap_or(today);
        let rows = sqlx::query_as!(
            AiDay,
            r#"select day, model, provider, calls, errors, cache_hits, prompt_tokens, completion_tokens, cost_usd,
                      latency_hist
               from dashboard_ai_daily where tenant_id = $1 and day >= least($2::date, $3::date)
               order by day"#,
            tenant_id,
            first,
            month
        )
        .fetch_all(&mut **tx)
        .await?;
        let budget = sqlx::query!(
            r#"select monthly_budget_usd::float8 as "budget!", soft_limit_usd::float8 as soft
               from ai_workspace_settings where tenant_id = $1 and monthly_budget_usd is not null"#,
            tenant_id
        )
        .fetch_optional(&mut **tx)
        .await?;
        let month_spend = rows
            .iter()
            .filter(|r| r.day >= month)
            .map(|r| r.cost_usd)
            .sum();
        let in_period: Vec<AiDay> = rows.into_iter().filter(|r| r.day >= first).collect();
        let figures = figures::ai(&in_period, month_spend, budget.map(|b| (b.budget, b.soft)));
        (Some(figures), Some(in_period))
    } else {
        (None, None)
    };
    let charts = figures::trends(period, today, &pipe, ai_days.as_deref())
        .iter()
        .map(charts::render)
        .collect();
    Ok(Operations {
        period,
        refreshed_at,
        can_refresh: with_ai,
        pipeline,
        ai,
        charts,
    })
}
