//! The pipeline when things keep going wrong: a step that fails every time, a task whose
//! workers died on its last attempt, and a lease that must outlive slow embeddings. Real
//! PostgreSQL (a trigger stands in for a broken scorer) and a mock provider.
use crate::{
    helpers::{spawn_app_with, TestApp},
    pipeline::{
        app, create_task, deliverables, drain, good_draft, history, instructions, mock_drafts,
        scope, settings, task,
    },
};
use app::{
    pipeline::{
        instructions::MAX_ATTEMPTS_LIMIT, model::QueuePage, state::TaskState,
        worker::WorkerSettings,
    },
    ssr::tenancy,
};
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    PgPool,
};
use std::time::Duration;
use uuid::Uuid;
use wiremock::{
    matchers::{method, path},
    Mock, MockServer, ResponseTemplate,
};

async fn chat_calls(provider: &MockServer) -> usize {
    provider
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .filter(|r| r.url.path() == "/v1/chat/completions")
        .count()
}

/// Runs `sql` on task `id` as its workspace (the test stands in for time passing or for a
/// worker that died).
async fn set(app: &TestApp, id: Uuid, sql: &str) {
    let mut tx = tenancy::begin(&app.pool, scope(0)).await.expect("tx");
    sqlx::query(sql)
        .bind(id)
        .execute(&mut *tx)
        .await
        .expect("update task");
    tx.commit().await.expect("commit");
}

/// The pause before a task's next attempt has passed.
async fn pause_over(app: &TestApp, id: Uuid) {
    set(
        app,
        id,
        "update project_tasks set run_after = now() where id = $1",
    )
    .await;
}

async fn queue(app: &TestApp) -> QueuePage {
    let res = app.call("load_queue", &[]).await;
    assert_eq!(res.status(), 200);
    res.json().await.expect("queue")
}

async fn send_back(app: &TestApp, id: Uuid, version: i32) -> reqwest::Response {
    app.call(
        "review_task",
        &[
            ("id", &id.to_string()),
            ("version", &version.to_string()),
            ("verdict", "send_back"),
            ("guidance", "Try once more."),
        ],
    )
    .await
}

#[sqlx::test(migrations = false)]
async fn a_task_whose_scoring_always_fails_fails_with_the_error_after_its_attempts_and_waits_in_the_queue(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    let app = app(db, &provider).await;
    // Storing the scores fails every time, the way a broken scorer would.
    let owner = PgPool::connect_with(app.owner.clone())
        .await
        .expect("owner");
    sqlx::raw_sql(
        "create function break_scoring() returns trigger language plpgsql as
           $$ begin raise exception 'the scorer is broken'; end $$;
         create trigger break_scoring before update of quality_score on project_deliverables
           for each row execute function break_scoring();",
    )
    .execute(&owner)
    .await
    .expect("break the scorer");
    let t = create_task(&app, 0, instructions(70), 3, false).await;
    mock_drafts(&provider, &[good_draft(&t.customer)]).await;
    let s = settings("w1");
    for attempt in 1..=2 {
        drain(&app.state.pipeline, &s).await;
        let view = task(&app, t.id).await;
        assert_eq!(
            (view.state.as_str(), view.attempts),
            ("retry_scheduled", attempt)
        );
        let why = view.status_reason.unwrap_or_default();
        assert!(
            why.starts_with(&format!("Attempt {attempt} failed"))
                && why.contains("the scorer is broken"),
            "{why}"
        );
        // The pause before the next attempt has passed.
        pause_over(&app, t.id).await;
    }
    drain(&app.state.pipeline, &s).await;
    let view = task(&app, t.id).await;
    assert_eq!((view.state.as_str(), view.attempts), ("failed", 3));
    let why = view.status_reason.unwrap_or_default();
    assert!(
        why.starts_with("Failed on attempt 3 of 3") && why.contains("the scorer is broken"),
        "{why}"
    );
    assert_eq!(view.lease_owner, None);
    // It never loops: one generation per attempt, and nothing more however long workers run.
    assert_eq!(chat_calls(&provider).await, 3);
    pause_over(&app, t.id).await;
    drain(&app.state.pipeline, &s).await;
    assert_eq!(chat_calls(&provider).await, 3);
    assert!(deliverables(&app, t.id).await.iter().all(|d| !d.delivered));

    // A manager finds it in the escalation queue, with the error, and may send it back once
    // more; a task at the limit every task shares is refused, by name.
    app.sign_in_as("manager@acme.test").await;
    let q = queue(&app).await;
    let item = q.items.iter().find(|i| i.id == t.id).expect("queued");
    assert_eq!(item.state, TaskState::Failed);
    assert!(item
        .reason
        .as_deref()
        .is_some_and(|r| r.contains("the scorer is broken")));
    assert!(item.draft.is_some(), "the unscored draft is shown");
    let res = send_back(&app, t.id, item.version).await;
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let view = task(&app, t.id).await;
    assert_eq!(view.state, "retry_scheduled");
    drain(&app.state.pipeline, &s).await;
    let view = task(&app, t.id).await;
    assert_eq!((view.state.as_str(), view.attempts), ("failed", 4));
    assert!(view
        .status_reason
        .is_some_and(|r| r.starts_with("Failed on attempt 4 of 4")));

    // The form, the reviewers' send-back and the database share one limit.
    let limit = i16::from(MAX_ATTEMPTS_LIMIT);
    let mut tx = tenancy::begin(&app.pool, scope(0)).await.expect("tx");
    let over = sqlx::query("update project_tasks set max_attempts = $2 where id = $1")
        .bind(t.id)
        .bind(limit + 1)
        .execute(&mut *tx)
        .await
        .expect_err("past the limit");
    assert!(
        over.to_string()
            .contains("project_tasks_max_attempts_valid"),
        "{over}"
    );
    drop(tx);
    set(
        &app,
        t.id,
        &format!(
            "update project_tasks set attempts = {limit}, max_attempts = {limit} where id = $1"
        ),
    )
    .await;
    let item = queue(&app).await.items.into_iter().find(|i| i.id == t.id);
    let res = send_back(&app, t.id, item.expect("queued").version).await;
    assert_eq!(res.status(), 422);
    let err: app::error::AppError = res.json().await.expect("error");
    assert_eq!(
        err.field_message("guidance").as_deref(),
        Some("This task has used all 10 attempts a task may have. Edit and approve the draft, or reject it.")
    );
    assert_eq!(task(&app, t.id).await.state, "failed");
}

#[sqlx::test(migrations = false)]
async fn a_resumed_task_counts_the_attempt_and_one_out_of_attempts_fails_without_another_generation(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    let app = app(db, &provider).await;
    let resumed = create_task(&app, 0, instructions(70), 2, false).await;
    let spent = create_task(&app, 0, instructions(70), 2, false).await;
    mock_drafts(&provider, &[good_draft(&resumed.customer)]).await;
    // Both were being written by a worker that died; one had an attempt left, one had not.
    let died = "update project_tasks set execution_state = 'generating', attempts = {n},
                lease_owner = 'dead-w1', lease_expires_at = now() - interval '1 second' where id = $1";
    set(&app, resumed.id, &died.replace("{n}", "1")).await;
    set(&app, spent.id, &died.replace("{n}", "2")).await;

    drain(&app.state.pipeline, &settings("w2")).await;
    let view = task(&app, resumed.id).await;
    assert_eq!((view.state.as_str(), view.attempts), ("delivered", 2));
    let view = task(&app, spent.id).await;
    assert_eq!((view.state.as_str(), view.attempts), ("failed", 2));
    let why = view.status_reason.unwrap_or_default();
    assert!(why.starts_with("Out of attempts: all 2 were used"), "{why}");
    assert_eq!(
        chat_calls(&provider).await,
        1,
        "no generation for the spent task"
    );
    assert!(deliverables(&app, spent.id).await.is_empty());
}

#[sqlx::test(migrations = false)]
async fn the_lease_is_renewed_through_slow_embeddings_so_no_other_worker_takes_the_task(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    // Every embedding (the examples, the brief, the draft's brand alignment) takes 1.5 s and
    // then fails; the draft goes on without them. The lease is 1 s.
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(ResponseTemplate::new(404).set_delay(Duration::from_millis(1500)))
        .mount(&provider)
        .await;
    let base = format!("{}/v1", provider.uri());
    let app = spawn_app_with(
        db,
        &[
            ("OPENAI_BASE_URL", &base),
            ("SMARTCRM_EMBEDDING_MODEL", "text-embedding-3-small"),
            ("SMARTCRM_AI_BACKOFF_MS", "5"),
            ("SMARTCRM_AI_MAX_RETRIES", "1"),
        ],
    )
    .await;
    let t = create_task(&app, 0, instructions(70), 3, false).await;
    mock_drafts(&provider, &[good_draft(&t.customer)]).await;
    let s = WorkerSettings {
        lease: Duration::from_secs(1),
        ..settings("slow")
    };
    let pipeline = app.state.pipeline.clone();
    let claimed = pipeline.claim(&s.name, s.lease, 10).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    let worker = {
        let (pipeline, s) = (pipeline.clone(), s.clone());
        tokio::spawn(async move {
            for c in claimed {
                pipeline.process(c, &s).await;
            }
        })
    };
    let mut looked = 0;
    while !worker.is_finished() {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let stolen = pipeline
            .claim("thief", Duration::from_secs(1), 10)
            .await
            .expect("claim");
        assert!(stolen.is_empty(), "the lease ran out mid-task: {stolen:?}");
        looked += 1;
    }
    worker.await.expect("worker");
    assert!(
        looked >= 5,
        "the task took {looked} looks; embeddings were not slow"
    );
    assert_eq!(task(&app, t.id).await.state, "delivered");
    assert!(!history(&app, t.id)
        .await
        .iter()
        .any(|h| h.3.contains("thief")));
}
