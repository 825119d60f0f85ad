//! The dashboard's rollups: rebuilding a workspace's recent days from the raw tables, and the
//! refresh-dashboard job that does it for every workspace.
//!
//! A refresh rebuilds whole days (delete, then insert from the raw rows), from the day of the
//! last refresh less ten minutes, so a transaction that committed late is still counted; a
//! workspace never refreshed gets its last 35 days. An advisory lock per workspace keeps the job
//! and a manager's "Refresh" from rebuilding the same days at once.
use crate::ssr::tenancy::{self, Tx};
use sqlx::PgPool;
use time::{Date, Duration, OffsetDateTime, Time};
use uuid::Uuid;

/// How far back a workspace's first refresh goes (the longest chart is 30 days).
pub const BACKFILL_DAYS: i64 = 35;
/// A manager's "Refresh" does nothing when the figures are younger than this.
pub const MIN_AGE_FOR_MANUAL: Duration = Duration::seconds(10);

/// What a refresh rebuilt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refreshed {
    pub from: Date,
    pub ai_rows: u64,
    pub pipeline_rows: u64,
}

/// The first day the next refresh of `tenant_id` should rebuild.
async fn start_day(tx: &mut Tx, tenant_id: Uuid) -> Result<Date, sqlx::Error> {
    let last = sqlx::query_scalar!(
        "select refreshed_at from dashboard_snapshots where tenant_id = $1",
        tenant_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    let now = OffsetDateTime::now_utc();
    Ok(match last {
        Some(at) => (at - Duration::minutes(10)).date(),
        None => (now - Duration::days(BACKFILL_DAYS)).date(),
    })
}

/// Rebuilds `tenant_id`'s rollups from `from` (the day after its last refresh's, when `None`)
/// and its snapshot of tasks by state.
#[tracing::instrument(skip(tx), fields(from = tracing::field::Empty))]
pub async fn refresh(
    tx: &mut Tx,
    tenant_id: Uuid,
    from: Option<Date>,
) -> Result<Refreshed, sqlx::Error> {
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtextextended('dashboard:' || $1::text, 0)) as locked",
        tenant_id.to_string()
    )
    .fetch_one(&mut **tx)
    .await?;
    let from = match from {
        Some(day) => day,
        None => start_day(tx, tenant_id).await?,
    };
    tracing::Span::current().record("from", tracing::field::display(from));
    let since = from.with_time(Time::MIDNIGHT).assume_utc();

    sqlx::query!(
        "delete from dashboard_ai_daily where tenant_id = $1 and day >= $2",
        tenant_id,
        from
    )
    .execute(&mut **tx)
    .await?;
    // served by ai_calls_tenant_time_idx: the days being rebuilt only
    let ai_rows = sqlx::query!(
        r#"insert into dashboard_ai_daily (tenant_id, day, model, provider, calls, errors, cache_hits,
                                          prompt_tokens, completion_tokens, cost_usd, latency_hist)
           select $1, day, model, provider, sum(n)::int, sum(errors)::int, sum(hits)::int, sum(pt)::int8, sum(ct)::int8,
                  sum(cost)::float8, coalesce(jsonb_object_agg(bucket, n) filter (where bucket is not null), '{}')
           from (select (created_at at time zone 'utc')::date as day, coalesce(model, requested_model) as model, provider,
                        case when cache_hit then null else dashboard_bucket(latency_ms) end as bucket,
                        count(*) as n, count(*) filter (where status = 'error') as errors,
                        count(*) filter (where cache_hit) as hits,
                        sum(coalesce(prompt_tokens, 0)) as pt, sum(coalesce(completion_tokens, 0)) as ct,
                        sum(coalesce(cost_usd, 0)) as cost
                 from ai_calls
                 where tenant_id = $1 and created_at >= $2
                 group by 1, 2, 3, 4) b
           group by day, model, provider"#,
        tenant_id,
        since
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();

    sqlx::query!(
        "delete from dashboard_pipeline_daily where tenant_id = $1 and day >= $2",
        tenant_id,
        from
    )
    .execute(&mut **tx)
    .await?;
    // served by project_deliverables_scored_idx and project_deliverables_delivered_idx
    let pipeline_rows = sqlx::query!(
        r#"with scored as (
             select (created_at at time zone 'utc')::date as day, count(*) as scored,
                    count(*) filter (where decision = 'approve') as approved,
                    count(*) filter (where decision = 'review') as reviewed,
                    count(*) filter (where decision = 'retry') as retried,
                    count(*) filter (where decision = 'reject') as rejected,
                    count(*) filter (where decision = 'escalate') as escalated,
                    sum(quality_score) as quality,
                    sum(coalesce((content_quality #>> '{readability,score}')::int, 0)) as readability,
                    sum(coalesce((content_quality #>> '{sentiment,score}')::int, 0)) as sentiment,
                    sum(coalesce((content_quality #>> '{brand,score}')::int, 0)) as brand,
                    sum(coalesce((content_quality #>> '{compliance,score}')::int, 0)) as compliance
             from project_deliverables
             where tenant_id = $1 and created_at >= $2 and quality_score is not null
             group by 1
           ), delivered as (
             select day, sum(n) as n, jsonb_object_agg(bucket, n) as hist
             from (select (d.delivered_at at time zone 'utc')::date as day,
                          dashboard_bucket(extract(epoch from d.delivered_at - t.created_at)::float8) as bucket,
                          count(*) as n
                   from project_deliverables d
                   join project_tasks t on t.tenant_id = d.tenant_id and t.id = d.task_id
                   where d.tenant_id = $1 and d.delivered_at >= $2
                   group by 1, 2) x
             group by day
           )
           insert into dashboard_pipeline_daily (tenant_id, day, delivered, scored, approved, reviewed, retried, rejected,
                                                 escalated, quality_sum, readability_sum, sentiment_sum, brand_sum,
                                                 compliance_sum, delivery_hist)
           select $1, coalesce(s.day, v.day), coalesce(v.n, 0)::int, coalesce(s.scored, 0)::int,
                  coalesce(s.approved, 0)::int, coalesce(s.reviewed, 0)::int, coalesce(s.retried, 0)::int,
                  coalesce(s.rejected, 0)::int, coalesce(s.escalated, 0)::int, coalesce(s.quality, 0)::int8,
                  coalesce(s.readability, 0)::int8, coalesce(s.sentiment, 0)::int8, coalesce(s.brand, 0)::int8,
                  coalesce(s.compliance, 0)::int8, coalesce(v.hist, '{}')
           from scored s full join delivered v on v.day = s.day"#,
        tenant_id,
        since
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();

    // served by project_tasks_state_idx and project_tasks_state_age_idx
    sqlx::query!(
        r#"insert into dashboard_snapshots (tenant_id, tasks_by_state, backlog, backlog_oldest_at, refreshed_at)
           select $1,
                  coalesce((select jsonb_object_agg(execution_state, n)
                            from (select execution_state, count(*) as n from project_tasks
                                  where tenant_id = $1 group by 1) s), '{}'),
                  b.n, b.oldest, now()
           from (select count(*)::int as n, min(state_entered_at) as oldest from project_tasks
                 where tenant_id = $1 and execution_state in ('awaiting_review', 'escalated', 'failed')) b
           on conflict (tenant_id) do update
             set tasks_by_state = excluded.tasks_by_state, backlog = excluded.backlog,
                 backlog_oldest_at = excluded.backlog_oldest_at, refreshed_at = excluded.refreshed_at"#,
        tenant_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(Refreshed {
        from,
        ai_rows,
        pipeline_rows,
    })
}

/// The refresh-dashboard job: every workspace, one transaction each. Returns the rollup rows
/// written.
pub async fn refresh_all(pool: &PgPool) -> Result<u64, sqlx::Error> {
    tenancy::for_each_workspace(pool, "refreshing the dashboard", |tx, tenant_id| {
        Box::pin(async move {
            let r = refresh(tx, tenant_id, None).await?;
            Ok(r.ai_rows + r.pipeline_rows)
        })
    })
    .await
}

/// When `tenant_id`'s figures were last refreshed (none before the first refresh).
pub async fn refreshed_at(
    tx: &mut Tx,
    tenant_id: Uuid,
) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    sqlx::query_scalar!(
        "select refreshed_at from dashboard_snapshots where tenant_id = $1",
        tenant_id
    )
    .fetch_optional(&mut **tx)
    .await
}
