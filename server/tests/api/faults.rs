//! Provider faults, as a flaky network and a flaky provider produce them: the gateway never
//! passes a cut, stalled or broken answer off as complete, honours Retry-After, cleans text the
//! database cannot store, keeps the previous answer when a refresh fails, and never shows the
//! credentials in OPENAI_BASE_URL. Each test fails without the fix it names.
use crate::ai::{analyze, app_with, first_contact, ok_stream, sse, sse_ending};
use crate::helpers::TestApp;
use app::analyses::{AnalysisEvent, AnalysisKind};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::{Duration, Instant};
use wiremock::{
    matchers::{body_partial_json, method, path},
    Mock, MockServer, ResponseTemplate,
};

const KIND: AnalysisKind = AnalysisKind::SmartEngagementTips;

/// The text the browser ends up with: what came after the last restart.
fn final_text(events: &[AnalysisEvent]) -> String {
    let from = events
        .iter()
        .rposition(|e| matches!(e, AnalysisEvent::Restarted { .. }))
        .map_or(0, |i| i + 1);
    events[from..]
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

fn raw_stream(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body, "text/event-stream")
}

/// Deltas only: no finish reason, no usage, no [DONE]; the connection just closes.
fn cut_stream(deltas: &[&str]) -> ResponseTemplate {
    let body = sse_ending(deltas, None);
    let cut: String = body
        .split_inclusive("\n\n")
        .filter(|event| !event.contains("usage") && !event.contains("[DONE]"))
        .collect();
    raw_stream(cut)
}

/// `provider` answers the first request with `first` and every later one with `then`.
async fn first_then(provider: &MockServer, first: ResponseTemplate, then: ResponseTemplate) {
    Mock::given(method("POST"))
        .respond_with(first)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(provider)
        .await;
    Mock::given(method("POST"))
        .respond_with(then)
        .with_priority(2)
        .mount(provider)
        .await;
}

async fn is_cached(app: &TestApp, contact: uuid::Uuid) -> bool {
    let events = analyze(app, contact, KIND, false).await;
    matches!(events.first(), Some(AnalysisEvent::Cached { .. }))
}

#[sqlx::test(migrations = false)]
async fn a_stream_closed_without_a_finish_reason_is_retried_and_the_partial_text_dropped(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    first_then(
        &provider,
        cut_stream(&["Half an ", "answ"]),
        ok_stream(&["The whole ", "answer."]),
    )
    .await;
    let app = app_with(db, &provider, &[]).await;
    let contact = first_contact(&app).await;
    let events = analyze(&app, contact, KIND, false).await;
    let restarted = events.iter().find_map(|e| match e {
        AnalysisEvent::Restarted { message } => Some(message.clone()),
        _ => None,
    });
    let message = restarted.expect("the partial answer must be voided");
    assert!(message.contains("cut the answer short"), "{message}");
    assert_eq!(final_text(&events), "The whole answer.");
    assert!(
        matches!(last(&events), AnalysisEvent::Done { .. }),
        "{events:?}"
    );
}

#[sqlx::test(migrations = false)]
async fn an_answer_cut_every_time_fails_and_is_never_cached(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(cut_stream(&["Half an ", "answ"]))
        .mount(&provider)
        .await;
    let app = app_with(db, &provider, &[("SMARTCRM_AI_MAX_RETRIES", "1")]).await;
    let contact = first_contact(&app).await;
    let events = analyze(&app, contact, KIND, false).await;
    let AnalysisEvent::Failed { failure, .. } = last(&events) else {
        panic!("a cut answer must fail: {events:?}")
    };
    assert!(
        failure.message.contains("cut the answer short"),
        "{}",
        failure.message
    );
    assert_eq!(failure.attempts, 2);
    assert!(!is_cached(&app, contact).await, "a cut answer was cached");
}

#[sqlx::test(migrations = false)]
async fn finish_reason_length_is_shown_as_truncated_and_not_cached(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(raw_stream(sse_ending(&["Call them and "], Some("length"))))
        .mount(&provider)
        .await;
    let app = app_with(db, &provider, &[]).await;
    let contact = first_contact(&app).await;
    let events = analyze(&app, contact, KIND, false).await;
    assert!(
        matches!(
            last(&events),
            AnalysisEvent::Done {
                truncated: true,
                ..
            }
        ),
        "{events:?}"
    );
    assert!(
        !is_cached(&app, contact).await,
        "a truncated answer was cached"
    );
}

#[sqlx::test(migrations = false)]
async fn a_429_with_retry_after_is_waited_for(_: PgPoolOptions, db: PgConnectOptions) {
    let provider = MockServer::start().await;
    first_then(
        &provider,
        ResponseTemplate::new(429)
            .insert_header("retry-after", "2")
            .set_body_json(json!({"error": {"message": "slow down", "type": "rate_limit"}})),
        ok_stream(&["After the wait."]),
    )
    .await;
    // Backoff is 5 ms here: only Retry-After can make the gateway wait two seconds.
    let app = app_with(db, &provider, &[]).await;
    let contact = first_contact(&app).await;
    let started = Instant::now();
    let events = analyze(&app, contact, KIND, false).await;
    assert!(
        matches!(last(&events), AnalysisEvent::Done { .. }),
        "{events:?}"
    );
    assert_eq!(final_text(&events), "After the wait.");
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "Retry-After ignored: {:?}",
        started.elapsed()
    );
}

#[sqlx::test(migrations = false)]
async fn a_retry_after_past_the_deadline_goes_to_the_fallback_at_once(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"model": "gpt-5.2"})))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "3600")
                .set_body_json(json!({"error": {"message": "come back in an hour"}})),
        )
        .expect(1)
        .mount(&provider)
        .await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"model": "gpt-3.5-turbo"})))
        .respond_with(ok_stream(&["From the fallback."]))
        .mount(&provider)
        .await;
    let app = app_with(db, &provider, &[("LLM_FALLBACK_MODEL", "gpt-3.5-turbo")]).await;
    let contact = first_contact(&app).await;
    let started = Instant::now();
    let events = analyze(&app, contact, KIND, false).await;
    assert!(
        matches!(
            last(&events),
            AnalysisEvent::Done {
                fallback_used: true,
                ..
            }
        ),
        "{events:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

use futures::StreamExt as _;

#[sqlx::test(migrations = false)]
async fn a_hung_stream_ends_at_the_stall_limit_long_before_the_deadline(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let first = sse(&["Start "])
        .split_inclusive("\n\n")
        .next()
        .unwrap_or_default()
        .to_owned();
    // One chunk, then nothing, with the connection held open.
    let base = crate::ai::stream_provider(move || {
        futures::stream::once(futures::future::ready(first.clone()))
            .chain(futures::stream::pending())
    })
    .await;
    let app = crate::helpers::spawn_app_with(
        db,
        &[
            ("OPENAI_BASE_URL", base.as_str()),
            ("SMARTCRM_AI_STALL_SECS", "1"),
            ("SMARTCRM_AI_TIMEOUT_SECS", "120"),
            ("SMARTCRM_AI_MAX_RETRIES", "0"),
        ],
    )
    .await;
    app.sign_in_as("rep@acme.test").await;
    let contact = first_contact(&app).await;
    let started = Instant::now();
    let events = analyze(&app, contact, KIND, false).await;
    let AnalysisEvent::Failed { failure, .. } = last(&events) else {
        panic!("a hung stream must fail: {events:?}")
    };
    assert!(failure.message.contains("stalled"), "{}", failure.message);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(final_text(&events), "", "the partial text was voided");
}

#[sqlx::test(migrations = false)]
async fn an_error_in_the_middle_of_a_stream_is_retried_from_the_start(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    let first = sse_ending(&["Broken "], None);
    let broken: String = first
        .split_inclusive("\n\n")
        .take(1)
        .chain(std::iter::once(
            "data: {\"error\":{\"message\":\"Internal server error\",\"type\":\"server_error\",\"code\":500}}\n\n",
        ))
        .collect();
    first_then(
        &provider,
        raw_stream(broken),
        ok_stream(&["Whole ", "answer."]),
    )
    .await;
    let app = app_with(db, &provider, &[]).await;
    let contact = first_contact(&app).await;
    let events = analyze(&app, contact, KIND, false).await;
    assert!(
        events.iter().any(|e| matches!(e, AnalysisEvent::Restarted { message } if message.contains("Internal server error"))),
        "{events:?}"
    );
    assert_eq!(final_text(&events), "Whole answer.");
    assert!(matches!(last(&events), AnalysisEvent::Done { .. }));
}

#[sqlx::test(migrations = false)]
async fn a_nul_character_in_a_delta_is_removed_and_the_answer_cached(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ok_stream(&["Call\u{0} them."]))
        .mount(&provider)
        .await;
    let app = app_with(db, &provider, &[]).await;
    let contact = first_contact(&app).await;
    let events = analyze(&app, contact, KIND, false).await;
    assert_eq!(final_text(&events), "Call them.");
    let again = analyze(&app, contact, KIND, false).await;
    assert!(
        matches!(again.first(), Some(AnalysisEvent::Cached { text, .. }) if text == "Call them."),
        "PostgreSQL refused the text, so nothing was cached: {again:?}"
    );
}

#[sqlx::test(migrations = false)]
async fn a_failed_refresh_keeps_the_previous_answer_and_says_it_failed(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    first_then(
        &provider,
        ok_stream(&["The good answer."]),
        ResponseTemplate::new(500).set_body_json(json!({"error": {"message": "down"}})),
    )
    .await;
    let app = app_with(db, &provider, &[("SMARTCRM_AI_MAX_RETRIES", "0")]).await;
    let contact = first_contact(&app).await;
    analyze(&app, contact, KIND, false).await;
    let events = analyze(&app, contact, KIND, true).await;
    let AnalysisEvent::Failed { failure, kept } = last(&events) else {
        panic!("the refresh must fail: {events:?}")
    };
    assert!(failure.message.contains("down"), "{}", failure.message);
    let kept = kept.as_ref().expect("the previous answer is kept");
    assert_eq!(kept.text, "The good answer.");
    let again = analyze(&app, contact, KIND, false).await;
    assert!(
        matches!(again.first(), Some(AnalysisEvent::Cached { text, .. }) if text == "The good answer."),
        "{again:?}"
    );
}

#[sqlx::test(migrations = false)]
async fn credentials_in_the_base_url_are_never_shown(_: PgPoolOptions, db: PgConnectOptions) {
    // Nothing listens there: the connection error is what would carry the URL.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let base = format!("http://alice:s3cr3t-pass@127.0.0.1:{port}/v1?api-key=k3y-v4lue");
    let app = crate::helpers::spawn_app_with(
        db,
        &[
            ("OPENAI_BASE_URL", base.as_str()),
            ("SMARTCRM_AI_MAX_RETRIES", "0"),
        ],
    )
    .await;
    app.sign_in_as("admin@acme.test").await;
    let contact = first_contact(&app).await;
    let events = analyze(&app, contact, KIND, false).await;
    let shown = serde_json::to_string(&events).expect("json");
    let overview = app
        .call("load_ai_overview", &[])
        .await
        .text()
        .await
        .expect("overview");
    let test = app
        .call("test_provider", &[("check", "remote_chat")])
        .await
        .text()
        .await
        .expect("test");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut tx = app::ssr::tenancy::begin(
        &app.pool,
        app::ssr::tenancy::Scope {
            tenant_id: server::demo::TENANTS[0].id,
            user_id: uuid::Uuid::nil(),
        },
    )
    .await
    .expect("tx");
    let recorded: Vec<(String, Option<String>)> =
        sqlx::query_as("select provider, error from ai_calls")
            .fetch_all(&mut *tx)
            .await
            .expect("ai_calls");
    assert!(!recorded.is_empty());
    let recorded = format!("{recorded:?}");
    for text in [&shown, &overview, &test, &recorded] {
        for secret in ["s3cr3t-pass", "k3y-v4lue", "alice"] {
            assert!(!text.contains(secret), "{secret} shown in {text}");
        }
    }
    assert!(overview.contains("127.0.0.1"), "{overview}");
}
