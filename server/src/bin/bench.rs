//! `smartcrm-bench`: the issue-3 benchmarks against a database filled by
//! `smartcrm generate-demo --contacts 100000`. Run through `scripts/bench-ai.sh`.
//!
//! Measures, and prints as a Markdown table:
//! - context build (the parallel builder, direct), p50/p99 over random contacts;
//! - contacts search over HTTP (the `list_contacts` server function) and in SQL alone;
//! - a cached Smart Engagement Tips request end to end over HTTP;
//! - the AI gateway's overhead against a mock provider with a fixed delay, 200 concurrent.
use app::{
    ai::{
        gateway::{CallMeta, ChatRequest, Gateway, GatewayConfig, GatewayEvent, RemoteConfig},
        TaskKind,
    },
    crm::{context, db},
    ssr::tenancy::{self, Scope},
};
use axum::{body::Body, routing::post, Router};
use leptos::prelude::LeptosOptions;
use rand::{seq::IndexedRandom, SeedableRng};
use server::{config::Settings, demo::TENANTS, startup, state};
use std::time::{Duration, Instant};
use uuid::Uuid;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let idx = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[idx.min(samples.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// An OpenAI-compatible mock that waits `delay` and then streams a short answer.
async fn mock_provider(delay: Duration) -> Result<String, Error> {
    let body = {
        let mut b = String::new();
        for word in ["Call ", "them ", "on ", "Tuesday."] {
            b.push_str(&format!(
                "data: {{\"id\":\"b\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{word}\"}}}}]}}\n\n"
            ));
        }
        b.push_str("data: {\"id\":\"b\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":900,\"completion_tokens\":4,\"total_tokens\":904}}\n\ndata: [DONE]\n\n");
        b
    };
    let handler = move || {
        let body = body.clone();
        async move {
            tokio::time::sleep(delay).await;
            ([("content-type", "text/event-stream")], Body::from(body))
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            Router::new().route("/v1/chat/completions", post(handler)),
        )
        .await;
    });
    Ok(format!("http://{addr}/v1"))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let settings = Settings::from_env()?;
    let samples: usize = std::env::var("BENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let options = state::connect_options(&settings)?;
    let pool = state::pool(options.clone(), 40).await?;
    let tenant = TENANTS[0].id;
    let scope = Scope {
        tenant_id: tenant,
        user_id: Uuid::nil(),
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);

    let (contacts, activities): (i64, i64) = {
        let mut tx = tenancy::begin(&pool, scope).await?;
        let c = sqlx::query_scalar::<_, i64>("select count(*) from contacts")
            .fetch_one(&mut *tx)
            .await?;
        let a = sqlx::query_scalar::<_, i64>("select count(*) from activities")
            .fetch_one(&mut *tx)
            .await?;
        (c, a)
    };
    let ids: Vec<Uuid> = {
        let mut tx = tenancy::begin(&pool, scope).await?;
        sqlx::query_scalar("select id from contacts order by random() limit 5000")
            .fetch_all(&mut *tx)
            .await?
    };
    println!("dataset: {contacts} contacts, {activities} activities in workspace acme\n");
    println!("| measurement | p50 | p99 | notes |\n|---|---|---|---|");

    // 1. Context build.
    let now = time::OffsetDateTime::now_utc();
    for id in ids.iter().take(50) {
        context::build(&pool, scope, *id, now).await?; // warm the pool and caches
    }
    let mut total = Vec::with_capacity(samples);
    let mut fetch = Vec::with_capacity(samples);
    for _ in 0..samples {
        let id = *ids.choose(&mut rng).ok_or("no contacts")?;
        let started = Instant::now();
        let built = context::build(&pool, scope, id, now)
            .await?
            .ok_or("contact vanished")?;
        total.push(started.elapsed());
        fetch.push(built.fetch);
    }
    println!(
        "| context build (5 parallel queries + facts), {samples} random contacts | {} | {} | fetch alone p50 {} |",
        ms(percentile(&mut total, 0.5)),
        ms(percentile(&mut total, 0.99)),
        ms(percentile(&mut fetch, 0.5))
    );

    // 2. Contacts search in SQL.
    let queries = [
        "smi",
        "garc",
        "nguyen",
        "ann",
        "olivia lee",
        "harbor",
        "quanta",
        "dental",
        "ceo",
        "maple fitness",
        "zz",
    ];
    let mut sql_samples = Vec::new();
    for round in 0..20 {
        for q in queries {
            let tsq = app::crm::search::prefix_query(q)?.ok_or("empty query")?;
            let mut tx = tenancy::begin(&pool, scope).await?;
            let started = Instant::now();
            let page = db::list_contacts(
                &mut tx,
                tenant,
                &db::ContactQuery {
                    tsquery: Some(&tsq),
                    stage: None,
                    owner: None,
                    after: None,
                },
            )
            .await?;
            if round > 0 {
                sql_samples.push(started.elapsed());
            }
            std::hint::black_box(page);
        }
    }
    println!(
        "| contacts search, SQL only ({} queries × 19 rounds) | {} | {} | prefix words over name, email, title, company |",
        queries.len(),
        ms(percentile(&mut sql_samples, 0.5)),
        ms(percentile(&mut sql_samples, 0.99))
    );

    // 3. The app over HTTP, with the mock provider behind it.
    let mock = mock_provider(Duration::from_millis(20)).await?;
    let mut http_settings = settings.clone();
    http_settings.ai.openai_base_url = Some(mock.clone());
    http_settings.db_max_connections = 40;
    let leptos_options = LeptosOptions::builder()
        .output_name("smartcrm")
        .site_root("target/site")
        .build();
    let (router, _app_pool, _state) =
        startup::build_with(options.clone(), &http_settings, leptos_options).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, router.into_make_service()).await;
    });
    app::ai::gateway::ensure_tls_provider();
    let client = reqwest::Client::builder().cookie_store(true).build()?;
    let res = client
        .post(format!("{base}/api/sign_in"))
        .form(&[
            ("email", "rep@acme.test"),
            ("password", server::demo::PASSWORD),
        ])
        .send()
        .await?;
    if !res.status().is_success() {
        return Err(format!("sign-in failed: {}", res.status()).into());
    }

    let mut http_search = Vec::new();
    for round in 0..20 {
        for q in queries {
            let started = Instant::now();
            let res = client
                .post(format!("{base}/api/list_contacts"))
                .form(&[("q", q)])
                .send()
                .await?;
            let status = res.status();
            let _ = res.bytes().await?;
            if !status.is_success() {
                return Err(format!("list_contacts {q}: {status}").into());
            }
            if round > 0 {
                http_search.push(started.elapsed());
            }
        }
    }
    println!(
        "| contacts search over HTTP (server function, signed in) | {} | {} | includes session, role check, JSON |",
        ms(percentile(&mut http_search, 0.5)),
        ms(percentile(&mut http_search, 0.99))
    );

    // Prime the cache for 100 contacts, then ask again and again.
    let cached_ids: Vec<Uuid> = ids.iter().take(100).copied().collect();
    let analyze = |id: Uuid| {
        let client = client.clone();
        let url = format!("{base}/api/analyze_contact");
        async move {
            let res = client
                .post(url)
                .form(&[
                    ("contact_id", id.to_string()),
                    ("kind", "smart_engagement_tips".to_owned()),
                    ("refresh", "false".to_owned()),
                ])
                .send()
                .await?;
            let body = res.text().await?;
            Ok::<String, Error>(body)
        }
    };
    for id in &cached_ids {
        let body = analyze(*id).await?;
        if !body.contains("\"type\":\"done\"") {
            return Err(format!("priming failed: {body}").into());
        }
    }
    let mut cached = Vec::with_capacity(samples);
    for _ in 0..samples {
        let id = *cached_ids.choose(&mut rng).ok_or("no ids")?;
        let started = Instant::now();
        let body = analyze(id).await?;
        cached.push(started.elapsed());
        if !body.starts_with("{\"type\":\"cached\"") {
            return Err(format!("expected a cache hit: {body}").into());
        }
    }
    println!(
        "| cached Smart Engagement Tips over HTTP, {samples} sequential requests | {} | {} | session + role check + context build + cache lookup |",
        ms(percentile(&mut cached, 0.5)),
        ms(percentile(&mut cached, 0.99))
    );

    // 4. Gateway overhead at 200 concurrent calls against a 50 ms provider.
    let delay = Duration::from_millis(50);
    let slow_mock = mock_provider(delay).await?;
    let gateway = std::sync::Arc::new(
        Gateway::new(
            pool.clone(),
            GatewayConfig {
                remote: Some(RemoteConfig {
                    base_url: Some(slow_mock),
                    api_key: None,
                }),
                max_retries: 0,
                ..GatewayConfig::default()
            },
        )
        .await?,
    );
    let request = ChatRequest {
        model: "gpt-5.2".into(),
        system: "You are a benchmark.".into(),
        user: "Say something short.".into(),
        max_tokens: 16,
        temperature: 0.0,
        meta: CallMeta {
            scope,
            task: TaskKind::Communication,
            prompt_name: None,
            prompt_version: None,
            subject_id: None,
            request_id: None,
        },
    };
    // Closed loop: 200 callers, each making calls back to back, so 200 are always in flight.
    let concurrency = 200;
    let per_caller: usize = std::env::var("BENCH_GATEWAY_CALLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let wall = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let gateway = gateway.clone();
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_caller);
            for call in 0..=per_caller {
                let started = Instant::now();
                let mut rx = gateway.stream(request.clone());
                let mut done = false;
                while let Some(event) = rx.recv().await {
                    match event {
                        GatewayEvent::Done(_) => {
                            done = true;
                            break;
                        }
                        GatewayEvent::Failed(f) => return Err(f.to_string()),
                        _ => {}
                    }
                }
                if !done {
                    return Err("stream ended early".to_owned());
                }
                if call > 0 {
                    latencies.push(started.elapsed());
                }
            }
            Ok(latencies)
        }));
    }
    let mut overhead = Vec::new();
    for task in tasks {
        let latencies = task
            .await?
            .map_err(|e| format!("gateway call failed: {e}"))?;
        overhead.extend(latencies.into_iter().map(|l| l.saturating_sub(delay)));
    }
    let rounds = per_caller;
    let calls = overhead.len();
    println!(
        "| AI gateway overhead (latency − 50 ms mock delay), {concurrency} callers × {rounds} calls, closed loop | {} | {} | {calls} streamed calls, each recorded in ai_calls; {:.0} calls/s |",
        ms(percentile(&mut overhead, 0.5)),
        ms(percentile(&mut overhead, 0.99)),
        calls as f64 / wall.elapsed().as_secs_f64()
    );
    Ok(())
}
