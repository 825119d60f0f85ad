//! `smartcrm-bench`: the issue-3 benchmarks against a database filled by
//! `smartcrm generate-demo --contacts 100000`. Run through `scripts/bench-ai.sh`.
//!
//! Measures, and prints as a Markdown table:
//! - context build (the parallel builder, direct), p50/p99 over random contacts;
//! - contacts search over HTTP (the `list_contacts` server function) and in SQL alone;
//! - a cached Smart Engagement Tips request end to end over HTTP;
//! - the AI gateway's overhead against a mock provider with a fixed delay, 200 concurrent, for
//!   several delays, beside a bare HTTP client's calls to the same mock.
use app::{
    ai::{
        gateway::{CallMeta, ChatRequest, Gateway, GatewayConfig, GatewayEvent, RemoteConfig},
        TaskKind,
    },
    crm::{context, db},
    ssr::tenancy::{self, Scope},
};
use leptos::prelude::LeptosOptions;
use rand::{seq::IndexedRandom, SeedableRng};
use server::{
    benchkit::{mock_provider, ms, percentile, sse_answer},
    config::Settings,
    demo::TENANTS,
    startup, state,
};
use std::time::{Duration, Instant};
use uuid::Uuid;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// An OpenAI-compatible mock that waits `delay` and then streams a short answer.
async fn answering_mock(delay: Duration) -> Result<String, Error> {
    let answer = sse_answer(&["Call ", "them ", "on ", "Tuesday."], 900, 4);
    Ok(mock_provider(delay, answer).await?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let settings = Settings::from_env()?;
    let samples: usize = std::env::var("BENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let databases = state::Databases::from_settings(&settings)?;
    let pool = state::pool(databases.app.clone(), 40).await?;
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
                    archived: false,
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
    let mock = answering_mock(Duration::from_millis(20)).await?;
    let mut http_settings = settings.clone();
    http_settings.ai.openai_base_url = Some(mock.clone());
    http_settings.db_max_connections = 40;
    let leptos_options = LeptosOptions::builder()
        .output_name("smartcrm")
        .site_root("target/site")
        .build();
    let (router, _app_pool, _state) =
        startup::build_with(databases.clone(), &http_settings, leptos_options).await?;
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
        // "cached" when the bench runs again on the same database within the cache's life.
        if !body.contains("\"type\":\"done\"") && !body.contains("\"type\":\"cached\"") {
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

    // 4. Gateway overhead at 200 concurrent callers, for several mock delays. A shorter delay
    // offers more calls per second (200 / delay), so the sweep shows where the two cores stop
    // keeping up. Each row also runs the same closed loop straight at the mock with a bare HTTP
    // client, which separates the gateway's own cost from loopback HTTP and the mock itself.
    let delays: Vec<u64> = std::env::var("BENCH_GATEWAY_DELAYS_MS")
        .unwrap_or_else(|_| "50,200,1000".to_owned())
        .split(',')
        .filter_map(|d| d.trim().parse().ok())
        .collect();
    let per_caller: usize = std::env::var("BENCH_GATEWAY_CALLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let concurrency = 200;
    for delay_ms in delays {
        let delay = Duration::from_millis(delay_ms);
        let mock = answering_mock(delay).await?;
        let recorded_before = count_ai_calls(&pool, scope).await?;
        let direct = closed_loop(concurrency, per_caller, delay, direct_caller(&mock)?).await?;
        let gateway = std::sync::Arc::new(
            Gateway::new(
                pool.clone(),
                GatewayConfig {
                    remote: Some(RemoteConfig {
                        base_url: Some(mock),
                        api_key: None,
                    }),
                    max_retries: 0,
                    ..GatewayConfig::default()
                },
            )
            .await?,
        );
        let through = closed_loop(
            concurrency,
            per_caller,
            delay,
            gateway_caller(gateway, scope),
        )
        .await?;
        // Every call through the gateway must land in ai_calls (the recorder writes in batches
        // off the request path, so give it a moment).
        let expected = recorded_before + ((per_caller + 1) * concurrency) as i64;
        let flushed = Instant::now();
        while count_ai_calls(&pool, scope).await? < expected {
            if flushed.elapsed() > Duration::from_secs(10) {
                return Err(format!(
                    "ai_calls has {} rows, expected {expected}",
                    count_ai_calls(&pool, scope).await?
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (mut direct_lat, mut through_lat) = (direct.latencies, through.latencies);
        let over = |samples: &mut [Duration], p: f64| percentile(samples, p).saturating_sub(delay);
        let (d50, d99) = (over(&mut direct_lat, 0.5), over(&mut direct_lat, 0.99));
        let (g50, g99) = (over(&mut through_lat, 0.5), over(&mut through_lat, 0.99));
        println!(
            "| AI gateway overhead (latency − {delay_ms} ms mock delay), {concurrency} callers × {per_caller} calls, closed loop | {} | {} | {} streamed calls at {:.0} calls/s (offered {:.0}/s), each recorded in ai_calls; a bare HTTP client straight at the mock: {} / {} at {:.0} calls/s |",
            ms(g50),
            ms(g99),
            through_lat.len(),
            through.rate,
            concurrency as f64 / delay.as_secs_f64(),
            ms(d50),
            ms(d99),
            direct.rate,
        );
    }
    Ok(())
}

async fn count_ai_calls(pool: &sqlx::PgPool, scope: Scope) -> Result<i64, Error> {
    let mut tx = tenancy::begin(pool, scope).await?;
    Ok(sqlx::query_scalar("select count(*) from ai_calls")
        .fetch_one(&mut *tx)
        .await?)
}

struct LoopResult {
    latencies: Vec<Duration>,
    rate: f64,
}

type CallFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send>>;

/// `concurrency` callers, each making `per_caller` calls back to back after one warm-up call,
/// so that many are always in flight. The callers start spread over one `period` (the mock's
/// delay): started together, they would stay in lock step and every call would queue behind a
/// burst of 200 others. Returns every call's latency and the calls per second.
async fn closed_loop(
    concurrency: usize,
    per_caller: usize,
    period: Duration,
    call: impl Fn() -> CallFuture + Send + Sync + Clone + 'static,
) -> Result<LoopResult, Error> {
    let wall = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for caller in 0..concurrency {
        let call = call.clone();
        let offset = period.mul_f64(caller as f64 / concurrency as f64);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(offset).await;
            let mut latencies = Vec::with_capacity(per_caller);
            for round in 0..=per_caller {
                let started = Instant::now();
                call().await?;
                if round > 0 {
                    latencies.push(started.elapsed());
                }
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await?.map_err(|e| format!("call failed: {e}"))?);
    }
    // Every call counts toward the rate, warm-ups too, over the time all callers were running.
    let running = wall.elapsed().saturating_sub(period).as_secs_f64();
    let rate = (latencies.len() + concurrency) as f64 / running;
    Ok(LoopResult { latencies, rate })
}

/// One streamed Smart-Tips-sized call through the gateway, read to its end.
fn gateway_caller(
    gateway: std::sync::Arc<Gateway>,
    scope: Scope,
) -> impl Fn() -> CallFuture + Send + Sync + Clone + 'static {
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
            route: Default::default(),
        },
    };
    move || {
        let mut rx = gateway.stream(request.clone());
        Box::pin(async move {
            while let Some(event) = rx.recv().await {
                match event {
                    GatewayEvent::Done(_) => return Ok(()),
                    GatewayEvent::Failed(f) => return Err(f.to_string()),
                    _ => {}
                }
            }
            Err("stream ended early".to_owned())
        })
    }
}

/// The same request posted straight to the mock with a bare HTTP client, body read to its end.
fn direct_caller(
    mock: &str,
) -> Result<impl Fn() -> CallFuture + Send + Sync + Clone + 'static, Error> {
    app::ai::gateway::ensure_tls_provider();
    let client = reqwest::Client::builder().build()?;
    let url = format!("{mock}/chat/completions");
    let body = r#"{"model":"gpt-5.2","messages":[{"role":"system","content":"You are a benchmark."},{"role":"user","content":"Say something short."}],"max_completion_tokens":16,"temperature":0.0,"stream":true,"stream_options":{"include_usage":true}}"#;
    Ok(move || {
        let request = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body);
        Box::pin(async move {
            let response = request.send().await.map_err(|e| e.to_string())?;
            let text = response.text().await.map_err(|e| e.to_string())?;
            if text.ends_with("[DONE]\n\n") {
                Ok(())
            } else {
                Err(format!("unexpected body: {text}"))
            }
        }) as CallFuture
    })
}
