//! `smartcrm-bench-dashboard`: issue 15's dashboard and alert-evaluation benchmarks at 1M tasks
//! and 5M AI calls in one workspace. Run through `scripts/bench-dashboard.sh`, which gives it a
//! throwaway PostgreSQL and a release build.
//!
//! 1. The rollups: the first refresh (35 days rebuilt) and the job's usual one (today only).
//! 2. The dashboard's server time (`dashboard::db::stats` in the workspace's transaction: what
//!    `load_dashboard` does after the session check), 30 days with every chart, 200 times,
//!    beside the reference: the same figures computed straight from the raw tables.
//! 3. One workspace's alert evaluation (`alerts::evaluate::evaluate`, every rule), beside the
//!    budget rule's former query, the month's spend summed from the raw calls.
//!
//! Usage: `smartcrm-bench-dashboard` with DATABASE_URL set (an empty, migrated database).
use app::{
    alerts,
    dashboard::{self, Period},
    domain::Role,
    ssr::tenancy::{self, Scope},
};
use leptos::prelude::LeptosOptions;
use server::{benchkit::percentile, config::Settings, demo::TENANTS, startup, state};
use std::time::{Duration, Instant};
use uuid::Uuid;

type Error = Box<dyn std::error::Error + Send + Sync>;

const TASKS: i64 = 1_000_000;
const CALLS: i64 = 5_000_000;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// 1M tasks spread evenly over 30 days (80% delivered, the rest spread over the other states), one scored
/// draft each, and 5M AI calls over 30 days on four models.
async fn seed(
    pool: &sqlx::PgPool,
    owner: &sqlx::postgres::PgConnectOptions,
    tenant: Uuid,
) -> Result<(), Error> {
    let scope = Scope {
        tenant_id: tenant,
        user_id: Uuid::nil(),
    };
    let mut tx = tenancy::begin(pool, scope).await?;
    sqlx::query("set local synchronous_commit = off")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "with c as (select id from customers where tenant_id = $1 order by name limit 1),
              p as (insert into projects (tenant_id, customer_id, name) select $1, c.id, 'Bench scale' from c returning id, customer_id)
         insert into project_tasks (tenant_id, project_id, customer_id, title, ai_instructions, execution_state,
                                    state_entered_at, created_at)
         select $1, p.id, p.customer_id, 'Scale task ' || g, '{\"output_type\": \"email\"}',
                (array['delivered','delivered','delivered','delivered','delivered','delivered','delivered','delivered',
                       'awaiting_review','escalated','failed','pending','rejected','cancelled','retry_scheduled','approved',
                       'delivered','delivered','delivered','delivered'])[1 + g % 20],
                now() - make_interval(secs => (g * 2.592)::float8), now() - make_interval(secs => (g * 2.592)::float8)
         from p, generate_series(1, $2) g",
    )
    .bind(tenant)
    .bind(TASKS)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into project_deliverables (tenant_id, task_id, attempt, content, quality_score, decision, content_quality,
                                           delivered_at, created_at)
         select $1, t.id, 1, 'Draft', 50 + h % 50,
                (array['approve','approve','approve','approve','approve','review','retry','escalate','reject','approve'])[1 + h % 10],
                jsonb_build_object('readability', jsonb_build_object('score', 40 + h % 60), 'sentiment', jsonb_build_object('score', h % 100),
                                   'brand', jsonb_build_object('score', 30 + h % 70), 'compliance', jsonb_build_object('score', 100)),
                case when t.execution_state = 'delivered' then t.created_at + make_interval(secs => (60 + h % 7200)::float8) end,
                t.created_at + interval '30 seconds'
         from (select id, execution_state, created_at, abs(hashtext(id::text)) as h from project_tasks where tenant_id = $1) t",
    )
    .bind(tenant)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into ai_calls (tenant_id, task_kind, requested_model, model, provider, status, latency_ms, prompt_tokens,
                               completion_tokens, cost_usd, cache_hit, created_at)
         select $1, 'default', m, m, (array['openai', 'openai', 'anthropic', 'local'])[1 + g % 4],
                case when g % 50 = 0 then 'error' else 'ok' end,
                case when g % 10 = 0 then 1 else 200 + (g * 7919) % 3000 end, 800, 150,
                case when g % 10 = 0 then 0 else 0.0004 end, g % 10 = 0,
                now() - make_interval(secs => ((g * 104729) % 2592000)::float8)
         from generate_series(1, $2) g, lateral (select (array['gpt-5.2', 'gpt-5-mini', 'claude-sonnet', 'smollm2'])[1 + g % 4] as m) x",
    )
    .bind(tenant)
    .bind(CALLS)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into ai_workspace_settings (tenant_id, monthly_budget_usd) values ($1, 5000)
         on conflict (tenant_id) do update set monthly_budget_usd = 5000",
    )
    .bind(tenant)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    // As autovacuum would leave tables that grew over a month (visibility map set, statistics);
    // only their owner may vacuum them.
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect_with(owner).await?;
    for table in ["project_tasks", "project_deliverables", "ai_calls"] {
        sqlx::query(&format!("vacuum (analyze) {table}"))
            .execute(&mut conn)
            .await?;
    }
    Ok(())
}

/// The reference: the dashboard's 30-day figures straight from the raw rows, as a dashboard
/// without rollups would compute them (the same groupings, percentiles by `percentile_cont`).
async fn raw_figures(tx: &mut tenancy::Tx, tenant: Uuid) -> Result<usize, Error> {
    let since = "now() - interval '30 days'";
    let mut rows = 0;
    for sql in [
        "select execution_state, count(*) from project_tasks where tenant_id = $1 group by 1".to_owned(),
        "select count(*), min(state_entered_at) from project_tasks where tenant_id = $1
           and execution_state in ('awaiting_review', 'escalated', 'failed')".to_owned(),
        format!("select (created_at at time zone 'utc')::date, count(*), count(*) filter (where decision = 'approve'),
                        count(*) filter (where decision = 'retry'), count(*) filter (where decision = 'escalate'),
                        count(*) filter (where decision = 'reject'), avg(quality_score),
                        avg((content_quality #>> '{{readability,score}}')::int), avg((content_quality #>> '{{brand,score}}')::int)
                 from project_deliverables where tenant_id = $1 and created_at >= {since} and quality_score is not null group by 1"),
        format!("select (d.delivered_at at time zone 'utc')::date, count(*),
                        percentile_cont(array[0.5, 0.9]) within group (order by extract(epoch from d.delivered_at - t.created_at))
                 from project_deliverables d join project_tasks t on t.tenant_id = d.tenant_id and t.id = d.task_id
                 where d.tenant_id = $1 and d.delivered_at >= {since} group by 1"),
        format!("select coalesce(model, requested_model), provider, count(*), count(*) filter (where status = 'error'),
                        count(*) filter (where cache_hit), sum(prompt_tokens), sum(completion_tokens), sum(cost_usd),
                        percentile_cont(array[0.5, 0.95]) within group (order by latency_ms) filter (where not cache_hit)
                 from ai_calls where tenant_id = $1 and created_at >= {since} group by 1, 2"),
        format!("select (created_at at time zone 'utc')::date, sum(cost_usd),
                        percentile_cont(0.95) within group (order by latency_ms) filter (where not cache_hit)
                 from ai_calls where tenant_id = $1 and created_at >= {since} group by 1"),
        "select sum(cost_usd) from ai_calls where tenant_id = $1
           and created_at >= date_trunc('month', now() at time zone 'utc') at time zone 'utc'".to_owned(),
    ] {
        rows += sqlx::query(&sql).bind(tenant).fetch_all(&mut **tx).await?.len();
    }
    Ok(rows)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let settings = Settings::from_env()?;
    let databases = state::Databases::from_settings(&settings)?;
    let owner = databases
        .owner
        .clone()
        .ok_or("SMARTCRM_OWNER_DATABASE_URL is needed to vacuum the seeded tables")?;
    let leptos_options = LeptosOptions::builder()
        .output_name("smartcrm")
        .site_root("target/site")
        .build();
    let (_router, pool, _state) = startup::build_with(databases, &settings, leptos_options).await?;
    server::demo::seed(&pool).await?;
    let tenant = TENANTS[0].id;
    let scope = Scope {
        tenant_id: tenant,
        user_id: Uuid::nil(),
    };
    let t = Instant::now();
    seed(&pool, &owner, tenant).await?;
    eprintln!(
        "seeded {TASKS} tasks, {TASKS} drafts and {CALLS} AI calls in {:.0} s",
        t.elapsed().as_secs_f64()
    );

    println!(
        "| rollups, one workspace with {TASKS} tasks and {CALLS} AI calls over 30 days | time |"
    );
    println!("|---|---|");
    let mut tx = tenancy::begin(&pool, scope).await?;
    let t = Instant::now();
    let first = dashboard::rollup::refresh(&mut tx, tenant, None).await?;
    let first_ms = ms(t.elapsed());
    tx.commit().await?;
    println!(
        "| first refresh: {} days rebuilt ({} model-day rows, {} pipeline-day rows) | {first_ms:.0} ms |",
        dashboard::rollup::BACKFILL_DAYS + 1,
        first.ai_rows,
        first.pipeline_rows
    );
    let mut usual = Vec::new();
    for _ in 0..5 {
        let mut tx = tenancy::begin(&pool, scope).await?;
        let t = Instant::now();
        dashboard::rollup::refresh(&mut tx, tenant, None).await?;
        usual.push(t.elapsed());
        tx.commit().await?;
    }
    println!(
        "| the job's usual refresh: today rebuilt (p50 of 5) | {:.0} ms |",
        ms(percentile(&mut usual, 0.5))
    );
    println!();

    let mut served = Vec::new();
    let mut bytes = 0;
    for _ in 0..200 {
        let mut tx = tenancy::begin(&pool, scope).await?;
        let t = Instant::now();
        let stats = dashboard::db::stats(&mut tx, tenant, Role::Manager, Period::Month).await?;
        served.push(t.elapsed());
        tx.commit().await?;
        bytes = serde_json::to_vec(&stats)?.len();
        assert_eq!(stats.operations.charts.len(), 4, "every chart drawn");
    }
    let mut raw = Vec::new();
    for _ in 0..5 {
        let mut tx = tenancy::begin(&pool, scope).await?;
        let t = Instant::now();
        raw_figures(&mut tx, tenant).await?;
        raw.push(t.elapsed());
        tx.commit().await?;
    }
    let (p50, p95) = (
        ms(percentile(&mut served, 0.5)),
        ms(percentile(&mut served, 0.95)),
    );
    let raw50 = ms(percentile(&mut raw, 0.5));
    println!("| dashboard server time, 30 days, every figure and 4 SVG charts | p50 | p95 |");
    println!("|---|---|---|");
    println!("| `dashboard::db::stats` from the rollups (200 loads, {} KB answer) | {p50:.1} ms | {p95:.1} ms |", bytes / 1024);
    println!(
        "| reference: the same figures from the raw tables (5 loads) | {raw50:.0} ms | {:.0} ms |",
        ms(percentile(&mut raw, 0.95))
    );
    println!(
        "| ratio: raw / rollups (p50) | {:.0}x | |",
        raw50 / p50.max(f64::EPSILON)
    );
    println!();

    let mut eval = Vec::new();
    let mut last = None;
    for _ in 0..10 {
        let mut tx = tenancy::begin(&pool, scope).await?;
        let t = Instant::now();
        last = Some(alerts::evaluate::evaluate(&mut tx, tenant).await?);
        eval.push(t.elapsed());
        tx.commit().await?;
    }
    let mut budget_raw = Vec::new();
    for _ in 0..5 {
        let mut tx = tenancy::begin(&pool, scope).await?;
        let t = Instant::now();
        sqlx::query_scalar::<_, Option<f64>>(
            "select sum(cost_usd) from ai_calls where tenant_id = $1
               and created_at >= date_trunc('month', now() at time zone 'utc') at time zone 'utc'",
        )
        .bind(tenant)
        .fetch_one(&mut *tx)
        .await?;
        budget_raw.push(t.elapsed());
        tx.commit().await?;
    }
    let e50 = ms(percentile(&mut eval, 0.5));
    println!(
        "| alert evaluation, one workspace, every rule ({:?} on the last run) | p50 | p95 |",
        last.unwrap_or_default()
    );
    println!("|---|---|---|");
    println!(
        "| `alerts::evaluate::evaluate` (10 runs) | {e50:.1} ms | {:.1} ms |",
        ms(percentile(&mut eval, 0.95))
    );
    println!(
        "| reference: the budget rule's former query alone, this month's spend from the raw calls (5 runs) | {:.0} ms | {:.0} ms |",
        ms(percentile(&mut budget_raw, 0.5)),
        ms(percentile(&mut budget_raw, 0.95))
    );
    Ok(())
}
