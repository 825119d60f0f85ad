//! The built-in local provider through the whole stack: real SmolLM2 and MiniLM models (the
//! test command fetches them), no remote provider.
use crate::{
    ai::{analyze, first_contact},
    helpers::{spawn_app_with, TestApp},
};
use app::{
    ai::settings::{AiOverview, ProviderState, ProviderTest},
    analyses::{AnalysisEvent, AnalysisKind},
    ssr::tenancy::{self, Scope},
};
use futures::StreamExt;
use server::demo::TENANTS;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::{Duration, Instant};
use uuid::Uuid;
use wiremock::{
    matchers::{body_partial_json, method, path},
    Mock, MockServer, ResponseTemplate,
};

const LOCAL_CHAT: &str = "local/smollm2-135m-instruct";

/// Built-in prompts answer in at most `tokens` tokens, so the real model finishes quickly: a new
/// built-in version of each, labelled production (as the database owner: the app's own role
/// may not change built-in prompts, and versions are immutable).
async fn cap_answers(db: &PgConnectOptions, tokens: i32) {
    use sqlx::Connection;
    let mut owner = sqlx::PgConnection::connect_with(db)
        .await
        .expect("owner connection");
    let done = sqlx::query(
        "with fresh as (
           insert into ai_prompts (tenant_id, name, version, system_prompt, template, ai_model, max_tokens, temperature,
                                   task_kind, description, note)
           select null, p.name, p.version + 1, p.system_prompt, p.template, p.ai_model, $1, p.temperature,
                  p.task_kind, p.description, 'answers capped for the test'
           from ai_prompt_labels l join ai_prompts p on p.id = l.prompt_id
           where l.tenant_id is null and l.label = 'production'
             and l.name in ('smart_engagement_tips', 'relationship_health', 'contextual_research')
           returning id, name)
         update ai_prompt_labels l set prompt_id = fresh.id from fresh
         where l.tenant_id is null and l.label = 'production' and l.name = fresh.name",
    )
        .bind(tokens)
        .execute(&mut owner)
        .await
        .expect("cap the built-in prompts");
    assert_eq!(done.rows_affected(), 3);
}

#[derive(Debug)]
struct CallRow {
    status: String,
    model: Option<String>,
    provider: String,
    prompt_tokens: Option<i32>,
    completion_tokens: Option<i32>,
    cost_usd: Option<f64>,
    ttft_ms: Option<i32>,
    latency_ms: i32,
    task_kind: String,
}

async fn calls(app: &TestApp) -> Vec<CallRow> {
    let scope = Scope {
        tenant_id: TENANTS[0].id,
        user_id: Uuid::nil(),
    };
    let mut tx = tenancy::begin(&app.pool, scope).await.expect("tx");
    sqlx::query_as!(
        CallRow,
        "select status, model, provider, prompt_tokens, completion_tokens, cost_usd, ttft_ms, latency_ms, task_kind from ai_calls order by id"
    )
    .fetch_all(&mut *tx)
    .await
    .expect("ai_calls")
}

/// Waits until `ai_calls` holds `n` rows (the recorder writes off the request path).
async fn wait_for_calls(app: &TestApp, n: usize) -> Vec<CallRow> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let rows = calls(app).await;
        if rows.len() >= n || Instant::now() > deadline {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[sqlx::test(migrations = false)]
async fn without_a_remote_provider_the_local_model_streams_the_analysis_and_the_call_is_recorded(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app_with(db.clone(), &[]).await;
    cap_answers(&db, 40).await;
    app.sign_in_as("rep@acme.test").await;
    let contact = first_contact(&app).await;
    let events = analyze(&app, contact, AnalysisKind::SmartEngagementTips, false).await;
    assert!(
        matches!(&events[0], AnalysisEvent::Started { model, provider } if model == LOCAL_CHAT && provider == "local"),
        "{events:?}"
    );
    let deltas: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            AnalysisEvent::Delta { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        deltas.len() >= 2,
        "the answer streams in pieces: {events:?}"
    );
    assert!(!deltas.concat().trim().is_empty());
    assert!(
        matches!(events.last(), Some(AnalysisEvent::Done { model, provider, .. }) if model == LOCAL_CHAT && provider == "local"),
        "{events:?}"
    );
    let rows = wait_for_calls(&app, 1).await;
    let row = rows.first().expect("the call is recorded");
    assert_eq!(
        (
            row.status.as_str(),
            row.provider.as_str(),
            row.model.as_deref()
        ),
        ("ok", "local", Some(LOCAL_CHAT))
    );
    assert!(row.prompt_tokens.is_some_and(|t| t > 100), "{row:?}");
    assert!(
        row.completion_tokens.is_some_and(|t| (1..=40).contains(&t)),
        "{row:?}"
    );
    assert_eq!(row.cost_usd, Some(0.0));
    assert!(row.ttft_ms.is_some(), "{row:?}");
    // An answer that stopped at the test's 40-token limit is shown as truncated, and not
    // cached as if it were whole; one that finished is cached.
    let truncated = matches!(
        events.last(),
        Some(AnalysisEvent::Done {
            truncated: true,
            ..
        })
    );
    assert_eq!(truncated, row.completion_tokens == Some(40), "{row:?}");
    let scope = app::ssr::tenancy::Scope {
        tenant_id: server::demo::TENANTS[0].id,
        user_id: uuid::Uuid::nil(),
    };
    let mut tx = app::ssr::tenancy::begin(&app.pool, scope)
        .await
        .expect("tx");
    let cached: i64 =
        sqlx::query_scalar("select count(*) from ai_analysis_cache where status = 'ready'")
            .fetch_one(&mut *tx)
            .await
            .expect("count");
    assert_eq!(cached, i64::from(!truncated), "truncated: {truncated}");
}

/// The local model's progress is visible, so its time limit is a stall limit: an answer that
/// keeps streaming may take longer than the per-call limit in total.
#[sqlx::test(migrations = false)]
async fn a_local_answer_that_keeps_streaming_outlives_the_per_call_time_limit(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app_with(db.clone(), &[("SMARTCRM_AI_TIMEOUT_SECS", "4")]).await;
    cap_answers(&db, 240).await;
    app.sign_in_as("rep@acme.test").await;
    let contact = first_contact(&app).await;
    let events = analyze(&app, contact, AnalysisKind::SmartEngagementTips, false).await;
    assert!(
        matches!(events.last(), Some(AnalysisEvent::Done { .. })),
        "{events:?}"
    );
    let rows = wait_for_calls(&app, 1).await;
    let row = &rows[0];
    let tokens = row.completion_tokens.unwrap_or(0);
    let writing = Duration::from_millis((row.latency_ms - row.ttft_ms.unwrap_or(0)).max(0) as u64);
    // Meaningful only when the answer was long enough to outlast the limit; 240 tokens are.
    assert!(
        writing > Duration::from_secs(4) || tokens < 150,
        "wrote {tokens} tokens in {writing:?}"
    );
}

#[sqlx::test(migrations = false)]
async fn a_request_behind_another_sees_its_place_in_the_local_queue(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app_with(db.clone(), &[]).await;
    cap_answers(&db, 24).await;
    app.sign_in_as("rep@acme.test").await;
    let contact = first_contact(&app).await;
    let (a, b) = tokio::join!(
        analyze(&app, contact, AnalysisKind::SmartEngagementTips, false),
        analyze(&app, contact, AnalysisKind::RelationshipHealth, false)
    );
    // Other tests in this process share the model, so more may be ahead; at least one is.
    let queued = |events: &[AnalysisEvent]| {
        events
            .iter()
            .any(|e| matches!(e, AnalysisEvent::Queued { ahead } if *ahead >= 1))
    };
    assert!(
        queued(&a) || queued(&b),
        "one of two concurrent requests waits behind the other: {a:?} {b:?}"
    );
    for events in [&a, &b] {
        assert!(
            matches!(events.last(), Some(AnalysisEvent::Done { .. })),
            "{events:?}"
        );
    }
}

#[sqlx::test(migrations = false)]
async fn a_client_that_goes_away_cancels_its_local_generation(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app_with(db.clone(), &[]).await;
    cap_answers(&db, 2000).await;
    app.sign_in_as("rep@acme.test").await;
    let contact = first_contact(&app).await;
    let res = app
        .client
        .post(app.url("/api/analyze_contact"))
        .form(&[
            ("contact_id", contact.to_string()),
            ("kind", "relationship_health".into()),
            ("refresh", "false".into()),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), 200);
    let mut body = res.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("\"type\":\"delta\"") {
        let chunk = tokio::time::timeout(Duration::from_secs(60), body.next())
            .await
            .expect("streams")
            .expect("more")
            .expect("bytes");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let left_at = Instant::now();
    drop(body);
    let rows = wait_for_calls(&app, 1).await;
    let row = rows.first().expect("the cancelled call is recorded");
    assert_eq!(row.status, "cancelled", "{row:?}");
    assert!(
        left_at.elapsed() < Duration::from_secs(30),
        "cancellation is prompt, not the end of a 2,000-token answer"
    );
    // The claim was released: the next request generates at once.
    cap_answers(&db, 8).await;
    let events = analyze(&app, contact, AnalysisKind::RelationshipHealth, false).await;
    assert!(
        matches!(events.last(), Some(AnalysisEvent::Done { .. })),
        "{events:?}"
    );
}

async fn overview(app: &TestApp) -> AiOverview {
    let res = app.call("load_ai_overview", &[]).await;
    assert_eq!(res.status(), 200);
    res.json().await.expect("json")
}

async fn test_provider(app: &TestApp, check: &str) -> ProviderTest {
    let res = app.call("test_provider", &[("check", check)]).await;
    assert_eq!(res.status(), 200, "test_provider {check}");
    res.json().await.expect("json")
}

#[sqlx::test(migrations = false)]
async fn the_settings_page_reports_providers_and_tests_the_local_models_for_real(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app_with(db, &[]).await;
    app.sign_in_as("rep@acme.test").await;
    assert_eq!(
        app.call("load_ai_overview", &[]).await.status(),
        403,
        "admins only"
    );
    assert_eq!(
        app.call("test_provider", &[("check", "local_chat")])
            .await
            .status(),
        403,
        "admins only"
    );
    let app = app.another_browser();
    app.sign_in_as("admin@acme.test").await;
    let o = overview(&app).await;
    let state = |check: &str| {
        o.providers
            .iter()
            .find(|p| p.check.as_str() == check)
            .map(|p| p.state)
    };
    assert_eq!(state("local_chat"), Some(ProviderState::Ready), "{o:?}");
    assert_eq!(
        state("local_embedding"),
        Some(ProviderState::Ready),
        "{o:?}"
    );
    assert_eq!(
        state("remote_chat"),
        Some(ProviderState::NotConfigured),
        "{o:?}"
    );
    assert!(
        o.routes
            .iter()
            .all(|r| r.model == LOCAL_CHAT && r.provider == "local"),
        "{:?}",
        o.routes
    );
    assert_eq!(o.embedding_model, "local/all-minilm-l6-v2");
    assert!(o
        .remote_hint
        .as_deref()
        .is_some_and(|h| h.contains("OPENAI_API_KEY")));

    let chat = test_provider(&app, "local_chat").await;
    assert!(
        chat.ok && chat.provider == "local" && chat.latency_ms > 0,
        "{chat:?}"
    );
    assert!(chat.detail.starts_with("Replied \""), "{chat:?}");
    let embed = test_provider(&app, "local_embedding").await;
    assert!(embed.ok, "{embed:?}");
    assert_eq!(embed.detail, "Returned a 384-dimensional vector");
    let res = app.call("test_provider", &[("check", "remote_chat")]).await;
    assert_eq!(
        res.status(),
        422,
        "nothing to test without a remote provider"
    );
    let rows = wait_for_calls(&app, 2).await;
    assert!(
        rows.iter()
            .any(|r| r.task_kind == "ui_helper" && r.provider == "local" && r.status == "ok"),
        "{rows:?}"
    );
}

#[sqlx::test(migrations = false)]
async fn remote_tests_show_the_real_error_and_remote_embeddings_ask_for_384_dimensions(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(
                serde_json::json!({"error": {"message": "Incorrect API key provided"}}),
            ),
        )
        .mount(&provider)
        .await;
    let vector: Vec<f32> = (0..384).map(|i| (i as f32 / 384.0) - 0.5).collect();
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .and(body_partial_json(
            serde_json::json!({"model": "text-embedding-3-small", "dimensions": 384}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "object": "list", "model": "text-embedding-3-small",
            "data": [{"object": "embedding", "index": 0, "embedding": vector}],
            "usage": {"prompt_tokens": 5, "total_tokens": 5}
        })))
        .expect(1)
        .mount(&provider)
        .await;
    let base = format!("{}/v1", provider.uri());
    let app = spawn_app_with(
        db,
        &[
            ("OPENAI_BASE_URL", &base),
            ("SMARTCRM_EMBEDDING_MODEL", "text-embedding-3-small"),
            ("SMARTCRM_AI_BACKOFF_MS", "5"),
        ],
    )
    .await;
    app.sign_in_as("admin@acme.test").await;
    let o = overview(&app).await;
    assert!(
        o.providers
            .iter()
            .any(|p| p.state == ProviderState::Configured && p.model == "text-embedding-3-small"),
        "{o:?}"
    );
    let chat = test_provider(&app, "remote_chat").await;
    assert!(!chat.ok, "{chat:?}");
    assert!(
        chat.detail.contains("not authorised")
            && chat.detail.contains("Incorrect API key provided"),
        "{chat:?}"
    );
    let embed = test_provider(&app, "remote_embedding").await;
    assert!(embed.ok, "{embed:?}");
    assert_eq!(embed.detail, "Returned a 384-dimensional vector");
}
