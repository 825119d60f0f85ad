//! The AI gateway, the analysis stream and the shared cache, against mock OpenAI-compatible
//! providers (wiremock, and a hand-made streaming server where timing matters).
use crate::helpers::{spawn_app_with, TestApp};
use app::{
    analyses::{AnalysisEvent, AnalysisKind},
    crm::ContactsPage,
    ssr::tenancy::{self, Scope},
};
use futures::StreamExt;
use serde_json::json;
use server::demo::TENANTS;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::{Duration, Instant};
use uuid::Uuid;
use wiremock::{
    matchers::{body_partial_json, method, path},
    Mock, MockServer, ResponseTemplate,
};

/// An OpenAI chat-completions stream: one chunk per delta, the finish reason, usage, [DONE].
pub fn sse(deltas: &[&str]) -> String {
    sse_ending(deltas, Some("stop"))
}

/// As [`sse`], ending with `finish_reason` (`None`: the stream never says it is done).
pub fn sse_ending(deltas: &[&str], finish_reason: Option<&str>) -> String {
    let mut body = String::new();
    for d in deltas {
        let chunk = json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                           "choices": [{"index": 0, "delta": {"content": d}, "finish_reason": null}]});
        body.push_str(&format!("data: {chunk}\n\n"));
    }
    if let Some(reason) = finish_reason {
        let end = json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                         "choices": [{"index": 0, "delta": {}, "finish_reason": reason}]});
        body.push_str(&format!("data: {end}\n\n"));
    }
    let usage = json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [],
                       "usage": {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500}});
    body.push_str(&format!("data: {usage}\n\ndata: [DONE]\n\n"));
    body
}

pub fn ok_stream(deltas: &[&str]) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(sse(deltas), "text/event-stream")
}

fn api_error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(
        json!({"error": {"message": message, "type": "test", "param": null, "code": null}}),
    )
}

const ACME: usize = 0;
const GLOBEX: usize = 1;

/// The app pointed at `provider`, with short backoff so retries are quick, signed in as a rep.
pub async fn app_with(
    db: PgConnectOptions,
    provider: &MockServer,
    extra: &[(&str, &str)],
) -> TestApp {
    let base = format!("{}/v1", provider.uri());
    let mut env: Vec<(&str, &str)> =
        vec![("OPENAI_BASE_URL", &base), ("SMARTCRM_AI_BACKOFF_MS", "5")];
    env.extend_from_slice(extra);
    let app = spawn_app_with(db, &env).await;
    app.sign_in_as("rep@acme.test").await;
    app
}

pub async fn first_contact(app: &TestApp) -> Uuid {
    let res = app.call("list_contacts", &[]).await;
    assert_eq!(res.status(), 200);
    let page: ContactsPage = res.json().await.expect("json");
    page.rows
        .first()
        .expect("the demo workspace has contacts")
        .id
}

/// Calls `analyze_contact` and returns the raw response (the body streams).
pub async fn post_analyze(
    app: &TestApp,
    contact: Uuid,
    kind: AnalysisKind,
    refresh: bool,
) -> reqwest::Response {
    app.client
        .post(app.url("/api/analyze_contact"))
        .form(&[
            ("contact_id", contact.to_string()),
            ("kind", kind.as_str().to_owned()),
            ("refresh", refresh.to_string()),
        ])
        .send()
        .await
        .expect("POST")
}

pub async fn analyze(
    app: &TestApp,
    contact: Uuid,
    kind: AnalysisKind,
    refresh: bool,
) -> Vec<AnalysisEvent> {
    let res = post_analyze(app, contact, kind, refresh).await;
    assert_eq!(res.status(), 200, "analyze_contact");
    let body = res.text().await.expect("body");
    body.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}")))
        .collect()
}

fn text_of(events: &[AnalysisEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            AnalysisEvent::Delta { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn last(events: &[AnalysisEvent]) -> &AnalysisEvent {
    events.last().expect("at least one event")
}

struct CallRow {
    status: String,
    model: Option<String>,
    attempts: i16,
    prompt_tokens: Option<i32>,
    completion_tokens: Option<i32>,
    cost_usd: Option<f64>,
    cache_hit: bool,
    error: Option<String>,
}

async fn ai_calls(app: &TestApp) -> Vec<CallRow> {
    // The gateway records after it answers; give it a moment.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let scope = Scope {
        tenant_id: TENANTS[ACME].id,
        user_id: Uuid::nil(),
    };
    let mut tx = tenancy::begin(&app.pool, scope).await.expect("tx");
    sqlx::query_as!(
        CallRow,
        "select status, model, attempts, prompt_tokens, completion_tokens, cost_usd, cache_hit, error
         from ai_calls order by id"
    )
    .fetch_all(&mut *tx)
    .await
    .expect("ai_calls")
}

#[sqlx::test(migrations = false)]
async fn a_successful_call_streams_the_answer_and_records_tokens_and_cost(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_partial_json(
            json!({"model": "gpt-5.2", "stream": true}),
        ))
        .respond_with(ok_stream(&["Call ", "them ", "on Tuesday."]))
        .expect(1)
        .mount(&provider)
        .await;
    let app = app_with(db, &provider, &[]).await;
    let contact = first_contact(&app).await;
    let events = analyze(&app, contact, AnalysisKind::SmartEngagementTips, false).await;
    assert_eq!(
        events[0],
        AnalysisEvent::Started {
            model: "gpt-5.2".into(),
            provider: format!("openai-compatible@{}", provider.address())
        }
    );
    assert_eq!(text_of(&events), "Call them on Tuesday.");
    assert!(
        matches!(last(&events), AnalysisEvent::Done { model, fallback_used: false, .. } if model == "gpt-5.2"),
        "{events:?}"
    );
    let calls = ai_calls(&app).await;
    assert_eq!(calls.len(), 1);
    let c = &calls[0];
    assert_eq!(
        (
            c.status.as_str(),
            c.model.as_deref(),
            c.attempts,
            c.cache_hit
        ),
        ("ok", Some("gpt-5.2"), 1, false)
    );
    assert_eq!(
        (c.prompt_tokens, c.completion_tokens),
        (Some(1200), Some(300))
    );
    // gpt-5.2: 0.00175 per 1K in, 0.014 per 1K out
    let cost = c.cost_usd.expect("cost");
    assert!(
        (cost - (1.2 * 0.00175 + 0.3 * 0.014)).abs() < 1e-9,
        "{cost}"
    );
}

#[sqlx::test(migrations = false)]
async fn the_prompt_carries_the_contact_context_and_computed_facts(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_stream(&["ok"]))
        .mount(&provider)
        .await;
    let app = app_with(db, &provider, &[]).await;
    let contact = first_contact(&app).await;
    analyze(&app, contact, AnalysisKind::ContextualResearch, false).await;
    let requests = provider.received_requests().await.expect("recorded");
    let body: serde_json::Value = serde_json::from_slice(&requests[0].body).expect("json body");
    // research routes to the thinking tier's model
    assert_eq!(body["model"], "gpt-5.2-thinking");
    assert_eq!(body["max_tokens"], 900);
    let user = body["messages"][1]["content"]
        .as_str()
        .expect("user message");
    for needle in [
        "Days since last touch",
        "Email reply rate",
        "Activity trend",
        "Unique selling points",
        "Phrases to avoid",
    ] {
        assert!(user.contains(needle), "prompt lacks {needle:?}:\n{user}");
    }
    assert!(!user.contains("{{"), "unfilled placeholder:\n{user}");
}

#[sqlx::test(migrations = false)]
async fn a_rate_limit_is_retried_and_then_succeeds(_: PgPoolOptions, db: PgConnectOptions) {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(api_error(429, "slow down"))
        .up_to_n_times(1)
        .mount(&provider)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok_stream(&["Second time lucky."]))
        .mount(&provider)
        .await;
    let app = app_with(db, &provider, &[]).await;
    let contact = first_contact(&app).await;
    let events = analyze(&app, contact, AnalysisKind::RelationshipHealth, false).await;
    assert_eq!(text_of(&events), "Second time lucky.");
    assert!(
        matches!(last(&events), AnalysisEvent::Done { .. }),
        "{events:?}"
    );
    let calls = ai_calls(&app).await;
    assert_eq!((calls[0].status.as_str(), calls[0].attempts), ("ok", 2));
}

#[sqlx::test(migrations = false)]
async fn server_errors_fall_back_to_the_fallback_model_which_is_recorded(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"model": "gpt-5.2"})))
        .respond_with(api_error(500, "upstream exploded"))
        .expect(2)
        .mount(&provider)
        .await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"model": "gpt-3.5-turbo"})))
        .respond_with(ok_stream(&["From the fallback."]))
        .expect(1)
        .mount(&provider)
        .await;
    let app = app_with(
        db,
        &provider,
        &[
            ("LLM_FALLBACK_MODEL", "gpt-3.5-turbo"),
            ("SMARTCRM_AI_MAX_RETRIES", "1"),
        ],
    )
    .await;
    let contact = first_contact(&app).await;
    let events = analyze(&app, contact, AnalysisKind::SmartEngagementTips, false).await;
    assert_eq!(text_of(&events), "From the fallback.");
    assert!(
        matches!(last(&events), AnalysisEvent::Done { model, fallback_used: true, .. } if model == "gpt-3.5-turbo"),
        "{events:?}"
    );
    let calls = ai_calls(&app).await;
    assert_eq!(
        (calls[0].model.as_deref(), calls[0].attempts),
        (Some("gpt-3.5-turbo"), 3)
    );
}

#[sqlx::test(migrations = false)]
async fn a_timeout_is_reported_with_provider_model_and_duration(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_stream(&["too late"]).set_delay(Duration::from_secs(3)))
        .mount(&provider)
        .await;
    let app = app_with(
        db,
        &provider,
        &[
            ("SMARTCRM_AI_TIMEOUT_SECS", "1"),
            ("SMARTCRM_AI_MAX_RETRIES", "1"),
        ],
    )
    .await;
    let contact = first_contact(&app).await;
    let started = Instant::now();
    let events = analyze(&app, contact, AnalysisKind::SmartEngagementTips, false).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the timeout must cut the wait short"
    );
    let AnalysisEvent::Failed { failure, .. } = last(&events) else {
        panic!("{events:?}")
    };
    assert_eq!(failure.message, "timed out after 1.0 s");
    assert_eq!(failure.model, "gpt-5.2");
    assert!(failure.provider.starts_with("openai-compatible@"));
    assert_eq!(failure.attempts, 2);
    assert!(failure.after_ms >= 2000, "{}", failure.after_ms);
    assert_eq!(text_of(&events), "", "no invented text");
    let calls = ai_calls(&app).await;
    assert_eq!(calls[0].status, "error");
}

#[sqlx::test(migrations = false)]
async fn a_malformed_response_is_an_error_and_is_not_retried(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw("data: {not json\n\n", "text/event-stream"),
        )
        .expect(1)
        .mount(&provider)
        .await;
    let app = app_with(db, &provider, &[]).await;
    let contact = first_contact(&app).await;
    let events = analyze(&app, contact, AnalysisKind::SmartEngagementTips, false).await;
    let AnalysisEvent::Failed { failure, .. } = last(&events) else {
        panic!("{events:?}")
    };
    assert!(
        failure
            .message
            .starts_with("malformed response from the provider"),
        "{}",
        failure.message
    );
    assert_eq!(failure.attempts, 1);
}

#[sqlx::test(migrations = false)]
async fn when_everything_fails_the_real_error_is_shown_and_nothing_is_cached(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(api_error(503, "overloaded"))
        .expect(12)
        .mount(&provider)
        .await;
    let app = app_with(db, &provider, &[("LLM_FALLBACK_MODEL", "gpt-4-turbo")]).await;
    let contact = first_contact(&app).await;
    let events = analyze(&app, contact, AnalysisKind::SmartEngagementTips, false).await;
    let AnalysisEvent::Failed { failure, .. } = last(&events) else {
        panic!("{events:?}")
    };
    assert_eq!(failure.message, "provider error (HTTP 503): overloaded");
    assert_eq!(
        (failure.model.as_str(), failure.attempts),
        ("gpt-4-turbo", 6)
    );
    let calls = ai_calls(&app).await;
    assert_eq!(calls[0].status, "error");
    assert_eq!(
        calls[0].error.as_deref(),
        Some("provider error (HTTP 503): overloaded")
    );
    // A retry goes to the provider again: the failure was not cached.
    analyze(&app, contact, AnalysisKind::SmartEngagementTips, false).await;
    assert_eq!(
        provider.received_requests().await.expect("recorded").len(),
        12
    );
}

#[sqlx::test(migrations = false)]
async fn a_second_click_is_served_from_the_cache_with_its_age(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_stream(&["Cached ", "answer."]))
        .expect(1)
        .mount(&provider)
        .await;
    let app = app_with(db, &provider, &[]).await;
    let contact = first_contact(&app).await;
    analyze(&app, contact, AnalysisKind::SmartEngagementTips, false).await;
    let again = analyze(&app, contact, AnalysisKind::SmartEngagementTips, false).await;
    assert_eq!(again.len(), 1, "{again:?}");
    let AnalysisEvent::Cached {
        text,
        model,
        age_secs,
        ..
    } = &again[0]
    else {
        panic!("{again:?}")
    };
    assert_eq!(
        (text.as_str(), model.as_str()),
        ("Cached answer.", "gpt-5.2")
    );
    assert!(*age_secs < 5);
    // Another member of the workspace shares the cache.
    let manager = app.another_browser();
    manager.sign_in_as("manager@acme.test").await;
    assert!(matches!(
        analyze(&manager, contact, AnalysisKind::SmartEngagementTips, false).await[0],
        AnalysisEvent::Cached { .. }
    ));
    let calls = ai_calls(&app).await;
    assert_eq!(calls.iter().filter(|c| c.cache_hit).count(), 2);
    assert_eq!(calls.iter().filter(|c| !c.cache_hit).count(), 1);
}

#[sqlx::test(migrations = false)]
async fn the_cache_expires_after_its_ttl(_: PgPoolOptions, db: PgConnectOptions) {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_stream(&["fresh"]))
        .expect(2)
        .mount(&provider)
        .await;
    let app = app_with(db, &provider, &[("SMARTCRM_AI_CACHE_TTL_SECS", "1")]).await;
    let contact = first_contact(&app).await;
    analyze(&app, contact, AnalysisKind::RelationshipHealth, false).await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let events = analyze(&app, contact, AnalysisKind::RelationshipHealth, false).await;
    assert!(
        matches!(last(&events), AnalysisEvent::Done { .. }),
        "{events:?}"
    );
}

#[sqlx::test(migrations = false)]
async fn a_new_activity_or_a_refresh_invalidates_the_cache(_: PgPoolOptions, db: PgConnectOptions) {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_stream(&["answer"]))
        .expect(3)
        .mount(&provider)
        .await;
    let app = app_with(db, &provider, &[]).await;
    let contact = first_contact(&app).await;
    analyze(&app, contact, AnalysisKind::SmartEngagementTips, false).await;
    let scope = Scope {
        tenant_id: TENANTS[ACME].id,
        user_id: Uuid::nil(),
    };
    let mut tx = tenancy::begin(&app.pool, scope).await.expect("tx");
    sqlx::query!(
        "insert into activities (tenant_id, contact_id, kind, direction, occurred_at, summary)
         values ($1, $2, 'call', 'inbound', now(), 'Called to ask about pricing')",
        scope.tenant_id,
        contact
    )
    .execute(&mut *tx)
    .await
    .expect("insert");
    tx.commit().await.expect("commit");
    let after_change = analyze(&app, contact, AnalysisKind::SmartEngagementTips, false).await;
    assert!(
        matches!(last(&after_change), AnalysisEvent::Done { .. }),
        "a changed context must not be served from cache"
    );
    assert!(matches!(
        analyze(&app, contact, AnalysisKind::SmartEngagementTips, false).await[0],
        AnalysisEvent::Cached { .. }
    ));
    let refreshed = analyze(&app, contact, AnalysisKind::SmartEngagementTips, true).await;
    assert!(
        matches!(last(&refreshed), AnalysisEvent::Done { .. }),
        "{refreshed:?}"
    );
}

#[sqlx::test(migrations = false)]
async fn concurrent_clicks_share_one_model_call(_: PgPoolOptions, db: PgConnectOptions) {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_stream(&["Only ", "once."]).set_delay(Duration::from_millis(400)))
        .expect(1)
        .mount(&provider)
        .await;
    let app = app_with(db, &provider, &[]).await;
    let contact = first_contact(&app).await;
    let (a, b) = tokio::join!(
        analyze(&app, contact, AnalysisKind::SmartEngagementTips, false),
        analyze(&app, contact, AnalysisKind::SmartEngagementTips, false)
    );
    assert_eq!(text_of(&a), "Only once.");
    assert_eq!(text_of(&b), "Only once.");
}

#[sqlx::test(migrations = false)]
async fn two_app_instances_share_the_cache_and_one_model_call(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_stream(&["Shared."]).set_delay(Duration::from_millis(600)))
        .expect(1)
        .mount(&provider)
        .await;
    let first = app_with(db.clone(), &provider, &[]).await;
    let second = app_with(db, &provider, &[]).await;
    let contact = first_contact(&first).await;
    let (a, b) = tokio::join!(
        analyze(&first, contact, AnalysisKind::SmartEngagementTips, false),
        async {
            tokio::time::sleep(Duration::from_millis(150)).await;
            analyze(&second, contact, AnalysisKind::SmartEngagementTips, false).await
        }
    );
    assert_eq!(text_of(&a), "Shared.");
    assert!(
        b.iter().any(|e| matches!(e, AnalysisEvent::Waiting { .. })),
        "{b:?}"
    );
    assert!(
        matches!(last(&b), AnalysisEvent::Cached { text, .. } if text == "Shared."),
        "{b:?}"
    );
}

#[sqlx::test(migrations = false)]
async fn without_a_remote_provider_or_local_model_files_the_panel_says_why_and_how_to_fix_it(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app_with(db, &[("SMARTCRM_MODELS_DIR", "/nonexistent/models")]).await;
    app.sign_in_as("rep@acme.test").await;
    let contact = first_contact(&app).await;
    let events = analyze(&app, contact, AnalysisKind::SmartEngagementTips, false).await;
    let [AnalysisEvent::NotConfigured { message }] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert!(
        message
            .starts_with("The built-in local model is unavailable: /nonexistent/models/smollm2/"),
        "{message}"
    );
    assert!(message.contains("scripts/fetch-models.sh"), "{message}");
    assert!(
        message.contains("OPENAI_API_KEY") && message.contains("OPENAI_BASE_URL"),
        "{message}"
    );
}

#[sqlx::test(migrations = false)]
async fn an_unknown_model_name_is_refused_at_start_up(_: PgPoolOptions, db: PgConnectOptions) {
    use leptos::prelude::LeptosOptions;
    struct Vars;
    impl server::config::Source for Vars {
        fn get(&self, key: &str) -> Option<String> {
            match key {
                "DATABASE_URL" => Some("postgres://unused@localhost/unused".into()),
                "SMARTCRM_THINKING_MODEL" => Some("gpt-9-ultra".into()),
                _ => None,
            }
        }
    }
    let settings = server::config::Settings::from_source(&Vars).expect("settings parse");
    let Err(err) = server::startup::build_with(
        crate::helpers::databases(db).await,
        &settings,
        LeptosOptions::builder().output_name("x").build(),
    )
    .await
    else {
        panic!("an unknown model must be refused");
    };
    let message = err.to_string();
    assert!(
        message.starts_with("SMARTCRM_THINKING_MODEL: unknown model \"gpt-9-ultra\""),
        "{message}"
    );
    assert!(
        message.contains("gpt-5.2-thinking"),
        "lists the known models: {message}"
    );
}

#[sqlx::test(migrations = false)]
async fn another_workspace_cannot_read_or_analyze_a_contact(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_stream(&["x"]))
        .expect(0)
        .mount(&provider)
        .await;
    let app = app_with(db, &provider, &[]).await;
    let acme_contact = first_contact(&app).await;
    let globex = app.another_browser();
    globex.sign_in_as(TENANTS[GLOBEX].members[0].0).await;
    let res = globex
        .call("get_contact", &[("id", &acme_contact.to_string())])
        .await;
    assert_eq!(res.status(), 404);
    let res = post_analyze(
        &globex,
        acme_contact,
        AnalysisKind::SmartEngagementTips,
        false,
    )
    .await;
    assert_eq!(res.status(), 404);
    // Globex's list holds only its own 40 contacts, none of Acme's.
    let mut seen = 0;
    let mut after: Option<Uuid> = None;
    loop {
        let mut form = vec![];
        let after_s;
        if let Some(a) = after {
            after_s = a.to_string();
            form.push(("after", after_s.as_str()));
        }
        let page: ContactsPage = globex
            .call("list_contacts", &form)
            .await
            .json()
            .await
            .expect("json");
        assert!(page.rows.iter().all(|r| r.id != acme_contact));
        seen += page.rows.len();
        match page.next_after {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    assert_eq!(seen, TENANTS[GLOBEX].contacts);
}

/// A provider at a base URL that answers every chat request with the event stream `body()`
/// makes, sent as it is produced (wiremock sends a body at once).
pub async fn stream_provider<S>(body: impl Fn() -> S + Clone + Send + Sync + 'static) -> String
where
    S: futures::Stream<Item = String> + Send + 'static,
{
    use axum::{body::Body, routing::post, Router};
    let handler = move || {
        let body = body.clone();
        async move {
            let stream = body().map(Ok::<_, std::convert::Infallible>);
            (
                [("content-type", "text/event-stream")],
                Body::from_stream(stream),
            )
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(
            listener,
            Router::new().route("/v1/chat/completions", post(handler)),
        )
        .await
        .expect("serve");
    });
    format!("http://{addr}/v1")
}

/// A provider that writes its answer slowly, chunk by chunk, as real models do.
async fn slow_provider(delay: Duration) -> String {
    stream_provider(move || {
        let parts: Vec<String> = sse(&["One ", "two ", "three."])
            .split_inclusive("\n\n")
            .map(str::to_owned)
            .collect();
        futures::stream::iter(parts.into_iter().enumerate()).then(move |(i, part)| async move {
            if i > 0 {
                tokio::time::sleep(delay).await;
            }
            part
        })
    })
    .await
}

#[sqlx::test(migrations = false)]
async fn tokens_reach_the_browser_while_the_model_is_still_writing(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    use futures::StreamExt as _;
    let base = slow_provider(Duration::from_millis(300)).await;
    let app = spawn_app_with(db, &[("OPENAI_BASE_URL", &base)]).await;
    app.sign_in_as("rep@acme.test").await;
    let contact = first_contact(&app).await;
    let started = Instant::now();
    let mut body = post_analyze(&app, contact, AnalysisKind::SmartEngagementTips, false)
        .await
        .bytes_stream();
    let mut first_delta_at = None;
    let mut text = String::new();
    while let Some(chunk) = body.next().await {
        let chunk = String::from_utf8(chunk.expect("chunk").to_vec()).expect("utf-8");
        text.push_str(&chunk);
        if first_delta_at.is_none() && chunk.contains("\"delta\"") {
            first_delta_at = Some(started.elapsed());
        }
    }
    let total = started.elapsed();
    let first = first_delta_at.expect("a delta arrived");
    // The provider takes about 1.2 s for the whole answer; the first words must not wait for it.
    assert!(total >= Duration::from_millis(1100), "{total:?}");
    assert!(
        first + Duration::from_millis(600) < total,
        "first delta at {first:?}, end at {total:?}"
    );
    assert!(text.contains("\"type\":\"done\""), "{text}");
}
