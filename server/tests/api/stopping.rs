//! Stopping the real binary while it works: `smartcrm serve` with a pipeline worker drafting
//! and a Smart Tips answer streaming, then SIGTERM. It must be gone within 5 s, the stream must
//! end with a "restarting" failure, and the task's lease must be free for the next worker.
use crate::{
    ai::{first_contact, post_analyze},
    helpers::{app_url, models_dir, spawn_app_with, TestApp},
    pipeline::{create_task, instructions, settings, task},
};
use app::analyses::{cache::RESTARTING, AnalysisEvent, AnalysisKind};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::{Duration, Instant};
use wiremock::{
    matchers::{method, path},
    Mock, MockServer, ResponseTemplate,
};

/// A port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn wait_for(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends SIGTERM and returns how long the process took to exit (successfully).
async fn terminate(child: &mut std::process::Child) -> Duration {
    let signalled = Instant::now();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(sent.success());
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if signalled.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("still running 10 s after SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let took = signalled.elapsed();
    assert!(status.success(), "{status}");
    println!("stopped {took:?} after SIGTERM");
    took
}

/// The provider takes a minute to say anything, so every AI call stays in flight.
async fn silent_provider() -> MockServer {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(60)))
        .mount(&provider)
        .await;
    provider
}

/// `smartcrm <command>` against the test database, as the app's login role.
fn smartcrm(command: &str, db: &PgConnectOptions, provider: &MockServer) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_smartcrm"));
    cmd.arg(command)
        .env("DATABASE_URL", app_url(db))
        .env("OPENAI_BASE_URL", format!("{}/v1", provider.uri()))
        .env("SMARTCRM_MODELS_DIR", models_dir())
        .env("LEPTOS_OUTPUT_NAME", "smartcrm")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null());
    cmd
}

/// The task was let go: still mid-attempt, and the next worker takes it at once.
async fn let_go(app: &TestApp, id: uuid::Uuid) {
    let view = task(app, id).await;
    assert_eq!(view.state, "generating");
    let next = app
        .state
        .pipeline
        .claim(&settings("next").name, Duration::from_secs(30), 10)
        .await
        .expect("claim");
    assert_eq!(next.iter().map(|c| c.task_id).collect::<Vec<_>>(), [id]);
}

#[sqlx::test(migrations = false)]
async fn sigterm_stops_a_worker_process_within_5_s_and_frees_its_lease(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = silent_provider().await;
    let base = format!("{}/v1", provider.uri());
    let app = spawn_app_with(db.clone(), &[("OPENAI_BASE_URL", &base)]).await;
    let t = create_task(&app, 0, instructions(70), 3, false).await;
    let mut child = smartcrm("worker", &db, &provider)
        .spawn()
        .expect("start smartcrm worker");
    wait_for("the worker drafts", Duration::from_secs(60), async || {
        task(&app, t.id).await.state == "generating"
    })
    .await;
    let took = terminate(&mut child).await;
    assert!(took < Duration::from_secs(5), "stopped after {took:?}");
    let_go(&app, t.id).await;
}

#[sqlx::test(migrations = false)]
async fn sigterm_stops_the_server_within_5_s_closing_streams_and_freeing_leases(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = silent_provider().await;
    let base = format!("{}/v1", provider.uri());
    // Migrates, seeds, and gives the test its view of the database; runs no workers.
    let app = spawn_app_with(db.clone(), &[("OPENAI_BASE_URL", &base)]).await;
    let port = free_port();
    let mut child = smartcrm("serve", &db, &provider)
        .env("SMARTCRM_ADDR", format!("127.0.0.1:{port}"))
        .env("SMARTCRM_WORKERS", "1")
        .spawn()
        .expect("start smartcrm serve");
    let served = TestApp {
        base: format!("http://127.0.0.1:{port}"),
        ..app.another_browser()
    };
    wait_for("the server answers", Duration::from_secs(60), async || {
        served
            .client
            .get(served.url("/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;

    let t = create_task(&app, 0, instructions(70), 3, false).await;
    wait_for("the worker drafts", Duration::from_secs(30), async || {
        task(&app, t.id).await.state == "generating"
    })
    .await;
    served.sign_in_as("rep@acme.test").await;
    let contact = first_contact(&served).await;
    let res = post_analyze(&served, contact, AnalysisKind::SmartEngagementTips, false).await;
    assert_eq!(res.status(), 200);
    let body = tokio::spawn(res.text());
    wait_for(
        "both calls reach the provider",
        Duration::from_secs(30),
        async || {
            provider
                .received_requests()
                .await
                .is_some_and(|r| r.len() >= 2)
        },
    )
    .await;

    let took = terminate(&mut child).await;
    assert!(took < Duration::from_secs(5), "stopped after {took:?}");

    // The stream was closed with the reason, not cut.
    let body = body.await.expect("join").expect("the stream ends cleanly");
    let last: AnalysisEvent = body
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no last event in {body:?}"));
    match last {
        AnalysisEvent::Failed { failure, .. } => assert_eq!(failure.message, RESTARTING),
        other => panic!("the stream ended with {other:?}"),
    }

    let_go(&app, t.id).await;
}
