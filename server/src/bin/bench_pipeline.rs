//! `smartcrm-bench-pipeline`: the issue-5 benchmarks. Run through `scripts/bench-pipeline.sh`,
//! which gives it a throwaway PostgreSQL and runs pgbench on the same server for scale.
//!
//! 1. Pipeline throughput: tasks from `pending` to a final state per second with 1, 2 and 4
//!    workers, against a mock OpenAI-compatible provider (in this process) that answers chat and
//!    embeddings at once. Every task goes the whole way: claim, context, examples (pgvector),
//!    generation, scoring, rules, delivery, with every transition in the history.
//! 2. Decision evaluation: rule-set evaluations per second on one core, 20 rules.
//! 3. Similar-example query at 100,000 examples: p50 latency (the worker's own query, HNSW) and
//!    recall@10 against exact search.
//!
//! Usage: `smartcrm-bench-pipeline` with DATABASE_URL set (an empty, migrated database).
use app::{
    pipeline::{
        db::work::{nearest_examples, ExampleScope},
        rules::RuleEngine,
        worker::{Pipeline, WorkerSettings},
    },
    ssr::tenancy::{self, Scope},
};
use axum::{body::Body, routing::post, Json, Router};
use leptos::prelude::LeptosOptions;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use server::{
    benchkit::{add_bench_tasks, twenty_rules, unit, vector_text},
    config::Settings,
    demo::TENANTS,
    startup, state,
};
use std::{
    collections::HashSet,
    sync::Arc,
    time::{Duration, Instant},
};
use uuid::Uuid;

type Error = Box<dyn std::error::Error + Send + Sync>;

const DIMS: usize = 384;
const DRAFT: &str = "Spring is here! Our friendly team would love to help you start the season fresh. \
    Book your visit this week and enjoy a free safety check. Call us today on 555-014-2200 or reply to this email. \
    We look forward to seeing you soon.";

/// A unit vector derived from the text, so equal texts embed equally.
fn pseudo_embedding(text: &str) -> Vec<f32> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(h);
    unit((0..DIMS).map(|_| rng.random::<f32>() - 0.5).collect())
}

/// Chat completions (streamed at once) and embeddings, both instant.
async fn mock_provider() -> Result<String, Error> {
    let words: Vec<&str> = DRAFT.split_inclusive(' ').collect();
    let sse = server::benchkit::sse_answer(&words, 900, 60);
    let chat = move || {
        let sse = sse.clone();
        async move { ([("content-type", "text/event-stream")], Body::from(sse)) }
    };
    let embeddings = |Json(body): Json<Value>| async move {
        let inputs: Vec<String> = body["input"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let data: Vec<Value> = inputs
            .iter()
            .enumerate()
            .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": pseudo_embedding(t)}))
            .collect();
        Json(
            json!({"object": "list", "data": data, "model": "text-embedding-3-small", "usage": {"prompt_tokens": 10, "total_tokens": 10}}),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/v1/embeddings", post(embeddings));
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}/v1"))
}

fn scope() -> Scope {
    Scope {
        tenant_id: TENANTS[0].id,
        user_id: Uuid::nil(),
    }
}

async fn add_tasks(pool: &sqlx::PgPool, n: usize) -> Result<(), Error> {
    let mut tx = tenancy::begin(pool, scope()).await?;
    sqlx::query("delete from project_tasks")
        .execute(&mut *tx)
        .await?;
    add_bench_tasks(&mut tx, TENANTS[0].id, n as i32, 70).await?;
    // Non-customer-facing demo rules off: every bench task should end delivered.
    sqlx::query("update customers set is_vip = false")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

async fn unfinished(pool: &sqlx::PgPool) -> Result<i64, Error> {
    let mut tx = tenancy::begin(pool, scope()).await?;
    let n: i64 = sqlx::query_scalar("select count(*) from project_tasks where execution_state not in ('delivered', 'rejected', 'escalated', 'awaiting_review', 'failed', 'cancelled')")
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(n)
}

async fn throughput(
    pipeline: &Arc<Pipeline>,
    pool: &sqlx::PgPool,
    workers: usize,
    tasks: usize,
) -> Result<(f64, Value), Error> {
    add_tasks(pool, tasks).await?;
    let stop = tokio_util::sync::CancellationToken::new();
    let started = Instant::now();
    let handles: Vec<_> = (0..workers)
        .map(|i| {
            let mut s = WorkerSettings::named(format!("bench-w{i}"));
            s.idle_poll = Duration::from_millis(5);
            s.concurrency = 32;
            tokio::spawn(pipeline.clone().run(s, stop.clone()))
        })
        .collect();
    while unfinished(pool).await? > 0 {
        if started.elapsed() > Duration::from_secs(600) {
            return Err("the pipeline did not finish within 10 minutes".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    stop.cancel();
    for h in handles {
        let _ = h.await;
    }
    let mut tx = tenancy::begin(pool, scope()).await?;
    let states: Vec<(String, i64)> =
        sqlx::query_as("select execution_state, count(*) from project_tasks group by 1 order by 1")
            .fetch_all(&mut *tx)
            .await?;
    let transitions: i64 = sqlx::query_scalar("select count(*) from task_state_transitions")
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((
        tasks as f64 / elapsed.as_secs_f64(),
        json!({"states": states, "transitions": transitions, "seconds": elapsed.as_secs_f64()}),
    ))
}

/// A rule near the 16 KiB limit: an `or` of 200 clauses over the context's paths, as JSON text.
fn large_rule() -> String {
    let clauses: Vec<Value> = (0..200)
        .map(|i| match i % 4 {
            0 => json!({"<": [{"var": "quality.brand"}, i]}),
            1 => json!({"and": [{"==": [{"var": "task.output_type"}, "sms"]}, {">": [{"var": "attempt"}, i]}]}),
            2 => json!({"in": [{"var": "customer.industry"}, ["legal", "finance", format!("x{i}")]]}),
            _ => json!({"!": {"var": "quality.compliance.passed"}}),
        })
        .collect();
    json!({"or": clauses}).to_string()
}

/// Checking a large rule as a save would (parse, `rule_check::check`, compile and a trial run
/// in `validate_condition`): p50 and p99 in microseconds, and the p50 of parsing its JSON
/// alone, the floor.
fn validation_bench() -> (f64, f64, f64, usize) {
    let text = large_rule();
    let rule: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let problems = app::pipeline::rule_check::check(&rule);
    if !problems.is_empty() {
        eprintln!(
            "the large rule does not pass the check, so this measures a refusal: {problems:?}"
        );
    }
    let mut full = Vec::with_capacity(2000);
    let mut parse = Vec::with_capacity(2000);
    for _ in 0..2000 {
        let t = Instant::now();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        parse.push(t.elapsed());
        let t = Instant::now();
        let v: Value = serde_json::from_str(&text).unwrap_or(v);
        let problems = app::pipeline::rule_check::check(&v);
        let valid = app::pipeline::rules::validate_condition(&v);
        full.push(t.elapsed());
        let _ = std::hint::black_box((problems, valid));
    }
    let us = |d: &mut Vec<Duration>, p: f64| server::benchkit::percentile(d, p).as_secs_f64() * 1e6;
    (
        us(&mut full, 0.5),
        us(&mut full, 0.99),
        us(&mut parse, 0.5),
        text.len(),
    )
}

fn decision_bench() -> (f64, f64) {
    let rules = twenty_rules();
    let engine = RuleEngine::new();
    let ctx = app::pipeline::rules::sample_context();
    // Warm: every rule compiled once.
    engine.decide(&rules, &ctx);
    let n = 200_000;
    let started = Instant::now();
    for _ in 0..n {
        std::hint::black_box(engine.decide(&rules, &ctx));
    }
    let plain = n as f64 / started.elapsed().as_secs_f64();
    let n2 = 50_000;
    let started = Instant::now();
    for _ in 0..n2 {
        std::hint::black_box(engine.decide_explained(&rules, &ctx));
    }
    (plain, n2 as f64 / started.elapsed().as_secs_f64())
}

async fn similar_bench(
    pool: &sqlx::PgPool,
    owner: &sqlx::PgPool,
    count: usize,
) -> Result<Value, Error> {
    const MODEL: &str = "bench-embedding";
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    // Clustered vectors, like real examples of a few hundred kinds of content.
    let centers: Vec<Vec<f32>> = (0..500)
        .map(|_| unit((0..DIMS).map(|_| rng.random::<f32>() - 0.5).collect()))
        .collect();
    let near = |rng: &mut rand_chacha::ChaCha8Rng, c: &[f32], spread: f32| {
        unit(
            c.iter()
                .map(|x| x + spread * (rng.random::<f32>() - 0.5))
                .collect(),
        )
    };
    let started = Instant::now();
    let mut tx = tenancy::begin(pool, scope()).await?;
    sqlx::query("delete from content_examples")
        .execute(&mut *tx)
        .await?;
    for chunk in 0..count.div_ceil(1000) {
        let n = 1000.min(count - chunk * 1000);
        let vectors: Vec<String> = (0..n)
            .map(|_| {
                let c = &centers[rng.random_range(0..centers.len())];
                vector_text(&near(&mut rng, c, 0.08))
            })
            .collect();
        let polarity: Vec<&str> = (0..n)
            .map(|i| if i % 4 == 0 { "negative" } else { "positive" })
            .collect();
        sqlx::query(
            "insert into content_examples (tenant_id, output_type, polarity, content, annotation, embedding, embedding_model)
             select $1, 'email', p, 'Example ' || ordinality, '', v::vector, $4
               from unnest($2::text[], $3::text[]) with ordinality as u(v, p)",
        )
        .bind(TENANTS[0].id)
        .bind(&vectors)
        .bind(&polarity)
        .bind(MODEL)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let loaded = started.elapsed();
    // The HNSW index is maintained on insert; rebuild it once so it is as built for a full table.
    let started = Instant::now();
    sqlx::query("reindex index content_examples_embedding_idx")
        .execute(owner)
        .await?;
    sqlx::query("analyze content_examples")
        .execute(owner)
        .await?;
    let indexed = started.elapsed();

    let queries: Vec<Vec<f32>> = (0..200)
        .map(|_| {
            let c = &centers[rng.random_range(0..centers.len())];
            near(&mut rng, c, 0.12)
        })
        .collect();
    let mut latencies = Vec::new();
    let mut recall_sum = 0.0;
    // No customer's own or industry examples here: the search over every business's.
    let any = ExampleScope {
        customer_id: Uuid::nil(),
        industry: "",
    };
    for q in &queries {
        let v = pgvector::Vector::from(q.clone());
        let mut tx = tenancy::begin(pool, scope()).await?;
        let t = Instant::now();
        let approx = nearest_examples(&mut tx, &v, MODEL, "positive", "email", any, 10).await?;
        latencies.push(t.elapsed());
        tx.commit().await?;
        let mut tx = tenancy::begin(pool, scope()).await?;
        sqlx::query("set local enable_indexscan = off")
            .execute(&mut *tx)
            .await?;
        sqlx::query("set local enable_bitmapscan = off")
            .execute(&mut *tx)
            .await?;
        let exact = nearest_examples(&mut tx, &v, MODEL, "positive", "email", any, 10).await?;
        tx.commit().await?;
        let exact_ids: HashSet<Uuid> = exact.iter().map(|e| e.id).collect();
        let hits = approx.iter().filter(|e| exact_ids.contains(&e.id)).count();
        recall_sum += hits as f64 / exact_ids.len().max(1) as f64;
    }
    latencies.sort();
    let p = |q: f64| {
        latencies[((latencies.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0
    };
    Ok(json!({
        "examples": count, "load_s": loaded.as_secs_f64(), "index_build_s": indexed.as_secs_f64(),
        "p50_ms": p(0.5), "p99_ms": p(0.99), "recall_at_10": recall_sum / queries.len() as f64,
    }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    // `BENCH_ONLY=decisions`: only the rule evaluations, which need no database.
    if std::env::var("BENCH_ONLY").as_deref() == Ok("decisions") {
        let (plain, explained) = tokio::task::spawn_blocking(decision_bench).await?;
        println!("decide: {plain:.0}/s; decide and word every condition: {explained:.0}/s");
        let (p50, p99, floor, bytes) = tokio::task::spawn_blocking(validation_bench).await?;
        println!(
            "validating a {bytes}-byte rule as a save would: p50 {p50:.1} µs, p99 {p99:.1} µs; parsing its JSON alone: p50 {floor:.1} µs ({:.1}x)",
            p50 / floor.max(f64::EPSILON)
        );
        return Ok(());
    }
    let mut settings = Settings::from_env()?;
    let tasks: usize = std::env::var("BENCH_TASKS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let examples: usize = std::env::var("BENCH_EXAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let databases = state::Databases::from_settings(&settings)?;
    let owner_options = databases
        .owner
        .clone()
        .ok_or("set SMARTCRM_OWNER_DATABASE_URL: the bench writes examples as the owner")?;
    settings.ai.openai_base_url = Some(mock_provider().await?);
    settings.ai.embedding_model = Some("text-embedding-3-small".into());
    settings.db_max_connections = 64;
    let leptos_options = LeptosOptions::builder()
        .output_name("smartcrm")
        .site_root("target/site")
        .build();
    let (_router, pool, app_state) =
        startup::build_with(databases, &settings, leptos_options).await?;
    server::demo::seed(&pool).await?;
    let owner = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect_with(owner_options)
        .await?;

    println!("| decision rules (20 rules, one thread) | evaluations/s |");
    println!("|---|---|");
    let (plain, explained) = tokio::task::spawn_blocking(decision_bench).await?;
    println!("| decide (outcome + trace with values) | {plain:.0} |");
    println!("| decide and word every condition (what the worker stores) | {explained:.0} |");
    println!();

    println!("| pipeline throughput ({tasks} tasks, mock provider answering at once) | tasks/s | details |");
    println!("|---|---|---|");
    for workers in [1, 2, 4] {
        let (rate, details) = throughput(&app_state.pipeline, &pool, workers, tasks).await?;
        println!("| {workers} worker(s), 32 tasks in progress each | {rate:.1} | {details} |");
    }
    println!();

    let s = similar_bench(&pool, &owner, examples).await?;
    println!("| similar examples ({examples} examples, 384 dims, HNSW m=16 ef_construction=64, ef_search=100, iterative scan) | result |");
    println!("|---|---|");
    println!(
        "| query p50 / p99 (the worker's query, top 10 positive) | {:.2} ms / {:.2} ms |",
        s["p50_ms"].as_f64().unwrap_or(0.0),
        s["p99_ms"].as_f64().unwrap_or(0.0)
    );
    println!(
        "| recall@10 against exact search (200 queries) | {:.3} |",
        s["recall_at_10"].as_f64().unwrap_or(0.0)
    );
    println!(
        "| load / index build | {:.1} s / {:.1} s |",
        s["load_s"].as_f64().unwrap_or(0.0),
        s["index_build_s"].as_f64().unwrap_or(0.0)
    );
    Ok(())
}
