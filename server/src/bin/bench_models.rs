//! `smartcrm-bench-models`: issue 14's benchmarks. Run through `scripts/bench-models.sh`, which
//! gives it a throwaway PostgreSQL and a release build.
//!
//! 1. Model resolution with every level in play (an emergency override on the fast tier, an
//!    experiment at 30%, user and workspace settings, a budget at 85%): `Gateway::decide`, the
//!    pure part the gateway runs for every call, p50 and p99 over 200,000 decisions, beside a
//!    bare `HashMap` lookup of a (workspace, prompt) → model table, what a hand-rolled router
//!    would cost.
//! 2. The cost forecast of a bulk reassignment over 1,000,000 `ai_calls` rows of one workspace
//!    (four prompts, 30 days): `models::bulk::forecast` in a tenant transaction (the server
//!    function's work), beside the bare aggregate over the same rows as the owner (no
//!    row-level security, no serving lookups).
//!
//! Usage: `smartcrm-bench-models` with DATABASE_URL and SMARTCRM_OWNER_DATABASE_URL set (an
//! empty database).
use app::{
    ai::gateway::{Levels, RouteQuery, RunningExperiment, TierModels},
    ai::TaskKind,
    ssr::tenancy::{self, Scope},
};
use leptos::prelude::LeptosOptions;
use server::{benchkit::percentile, config::Settings, demo::TENANTS, startup, state};
use sqlx::Connection;
use std::{
    collections::HashMap,
    hint::black_box,
    time::{Duration, Instant},
};
use uuid::Uuid;

type Error = Box<dyn std::error::Error + Send + Sync>;
/// Prompt, calls, prompt tokens, completion tokens, cost.
type AggregateRow = (String, i64, Option<i64>, Option<i64>, Option<f64>);

const DECISIONS: usize = 200_000;
const CALLS: i64 = 1_000_000;
const FORECAST_RUNS: usize = 15;
const PROMPTS: [&str; 4] = [
    "smart_engagement_tips",
    "relationship_health",
    "contextual_research",
    "content_generation",
];

fn ms(d: Duration) -> String {
    format!("{:.4} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let settings = Settings::from_env()?;
    let databases = state::Databases::from_settings(&settings)?;
    let owner = databases
        .owner
        .clone()
        .ok_or("set SMARTCRM_OWNER_DATABASE_URL")?;
    let leptos_options = LeptosOptions::builder()
        .output_name("smartcrm")
        .site_root("target/site")
        .build();
    let (_router, pool, app_state) =
        startup::build_with(databases, &settings, leptos_options).await?;
    server::demo::seed(&pool).await?;
    let gateway = app_state.ai.clone();
    let tenant = TENANTS[0].id;

    // 1. Resolution.
    let levels = Levels {
        user: TierModels {
            fast: Some("gpt-5.2-instant".into()),
            default: None,
            thinking: None,
        },
        workspace: TierModels {
            fast: None,
            default: Some("gpt-5.2".into()),
            thinking: Some("gpt-5.2-thinking".into()),
        },
        experiment: Some(RunningExperiment {
            id: Uuid::from_u128(7),
            candidate: "gpt-5.2-thinking".into(),
            percent: 30,
            sticky_by: "contact".into(),
        }),
        budget_usd: Some(100.0),
        spent_usd: 85.0,
        requests_per_minute: None,
    };
    let tasks = [
        TaskKind::Communication,
        TaskKind::Summary,
        TaskKind::Research,
    ];
    let mut samples = Vec::with_capacity(DECISIONS);
    let mut candidates = 0usize;
    for i in 0..DECISIONS {
        let scope = Scope {
            tenant_id: tenant,
            user_id: Uuid::from_u128(i as u128 % 50),
        };
        let q = RouteQuery {
            task: tasks[i % 3],
            prompt: Some(("smart_engagement_tips", "gpt-5.2")),
            subject: Some(Uuid::from_u128(i as u128)),
        };
        let t = Instant::now();
        let routed = black_box(gateway.decide(scope, black_box(&q), black_box(&levels)));
        samples.push(t.elapsed());
        if matches!(&routed, Ok(r) if r.tag.arm == Some("candidate")) {
            candidates += 1;
        }
    }
    let (p50, p99) = (
        percentile(&mut samples, 0.5),
        percentile(&mut samples, 0.99),
    );
    // The reference: a (workspace, prompt) → model table, one lookup per call.
    let mut table: HashMap<(Uuid, String), String> = HashMap::new();
    for t in 0..1000u128 {
        for p in PROMPTS {
            table.insert((Uuid::from_u128(t), p.to_owned()), "gpt-5.2".into());
        }
    }
    let mut bare = Vec::with_capacity(DECISIONS);
    for i in 0..DECISIONS {
        let key = (Uuid::from_u128(i as u128 % 1000), PROMPTS[i % 4].to_owned());
        let t = Instant::now();
        black_box(table.get(black_box(&key)).cloned());
        bare.push(t.elapsed());
    }
    let (b50, b99) = (percentile(&mut bare, 0.5), percentile(&mut bare, 0.99));
    println!("resolution ({DECISIONS} decisions, override + experiment + user + workspace + budget step):");
    println!(
        "  Gateway::decide     p50 {} p99 {}  ({candidates} calls on the candidate arm)",
        ms(p50),
        ms(p99)
    );
    println!("  HashMap lookup      p50 {} p99 {}", ms(b50), ms(b99));
    println!(
        "  ratio p50 {:.1}x",
        p50.as_secs_f64() / b50.as_secs_f64().max(1e-12)
    );

    // 2. Forecast over 1M calls.
    let mut conn = sqlx::PgConnection::connect_with(&owner).await?;
    let load = Instant::now();
    sqlx::query(
        "insert into ai_calls (tenant_id, task_kind, prompt_name, prompt_version, requested_model, model, provider,
                               status, latency_ms, prompt_tokens, completion_tokens, cost_usd, cache_hit, created_at)
         select $1, 'communication', (array['smart_engagement_tips', 'relationship_health', 'contextual_research', 'content_generation'])[1 + g % 4],
                1, 'gpt-5.2', 'gpt-5.2', 'openai', case when g % 50 = 0 then 'error' else 'ok' end, 500 + g % 900,
                600 + g % 800, 50 + g % 300, 0.002, g % 10 = 0, now() - make_interval(secs => (g % 2592000)::float8)
         from generate_series(1, $2) g",
    )
    .bind(tenant)
    .bind(CALLS)
    .execute(&mut conn)
    .await?;
    sqlx::query("analyze ai_calls").execute(&mut conn).await?;
    println!(
        "forecast: loaded {CALLS} ai_calls rows in {:.1} s",
        load.elapsed().as_secs_f64()
    );
    let names: Vec<String> = PROMPTS.iter().map(|p| (*p).to_owned()).collect();
    let scope = Scope {
        tenant_id: tenant,
        user_id: Uuid::nil(),
    };
    let mut app_runs = Vec::new();
    let mut bare_runs = Vec::new();
    let mut calls_seen = 0;
    for _ in 0..FORECAST_RUNS {
        let t = Instant::now();
        let mut tx = tenancy::begin(&pool, scope).await?;
        let f = app::models::bulk::forecast(&mut tx, tenant, &names, "gpt-5.2-instant").await?;
        tx.commit().await?;
        app_runs.push(t.elapsed());
        calls_seen = f.rows.iter().map(|r| r.calls).sum::<i64>();
        let t = Instant::now();
        let rows: Vec<AggregateRow> = sqlx::query_as(
            "select prompt_name, count(*), sum(prompt_tokens)::int8, sum(completion_tokens)::int8, sum(cost_usd)
             from ai_calls where tenant_id = $1 and prompt_name = any($2)
               and created_at >= now() - interval '30 days' and not cache_hit
             group by prompt_name",
        )
        .bind(tenant)
        .bind(&names)
        .fetch_all(&mut conn)
        .await?;
        black_box(rows);
        bare_runs.push(t.elapsed());
    }
    let (f50, f95) = (
        percentile(&mut app_runs, 0.5),
        percentile(&mut app_runs, 0.95),
    );
    let (r50, r95) = (
        percentile(&mut bare_runs, 0.5),
        percentile(&mut bare_runs, 0.95),
    );
    println!("forecast ({FORECAST_RUNS} runs, {calls_seen} calls repriced of {CALLS} rows):");
    println!("  bulk::forecast      p50 {} p95 {}", ms(f50), ms(f95));
    println!("  bare aggregate      p50 {} p95 {}", ms(r50), ms(r95));
    println!(
        "  ratio p50 {:.2}x",
        f50.as_secs_f64() / r50.as_secs_f64().max(1e-12)
    );
    conn.close().await?;
    Ok(())
}
