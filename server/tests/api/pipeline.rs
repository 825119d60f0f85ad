//! The content pipeline against a real PostgreSQL and a mock OpenAI-compatible provider: each
//! outcome of a task, concurrent moves and claims, and a worker process killed mid-task.
use crate::{
    ai::ok_stream,
    helpers::{models_dir, spawn_app_with, TestApp},
};
use app::{
    pipeline::{
        db::{self, Changes, Move, MoveError},
        state::{Actor, TaskState},
        worker::{Pipeline, WorkerSettings},
    },
    ssr::tenancy::{self, Scope},
};
use serde_json::{json, Value};
use server::demo::TENANTS;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::{
    collections::HashSet,
    sync::Arc,
    time::{Duration, Instant},
};
use uuid::Uuid;
use wiremock::{
    matchers::{method, path},
    Mock, MockServer, ResponseTemplate,
};

pub(crate) fn scope(tenant: usize) -> Scope {
    Scope {
        tenant_id: TENANTS[tenant].id,
        user_id: Uuid::nil(),
    }
}

pub(crate) async fn app(db: PgConnectOptions, provider: &MockServer) -> TestApp {
    let base = format!("{}/v1", provider.uri());
    spawn_app_with(
        db,
        &[
            ("OPENAI_BASE_URL", &base),
            ("SMARTCRM_AI_BACKOFF_MS", "5"),
            ("SMARTCRM_AI_MAX_RETRIES", "1"),
        ],
    )
    .await
}

pub(crate) fn instructions(min_overall: u8) -> Value {
    json!({
        "brief": "Invite past clients to book a spring clean this month.",
        "output_type": "email",
        "output_format": "plain_text",
        "output_length": {"min_words": 30, "max_words": 150},
        "must_include": ["business name", "CTA", "contact info"],
        "must_not_include": ["competitor names", "guaranteed results"],
        "context_sources": [],
        "success_criteria": {"readability_score_min": 50.0, "sentiment_target": "positive", "cta_present": true},
        "quality_thresholds": {"min_overall": min_overall, "min_brand_alignment": 0}
    })
}

pub(crate) struct Task {
    pub(crate) id: Uuid,
    pub(crate) customer: String,
}

/// A task for the first customer of workspace `tenant`, written as that workspace.
pub(crate) async fn create_task(
    app: &TestApp,
    tenant: usize,
    instructions: Value,
    max_attempts: i16,
    vip: bool,
) -> Task {
    let mut tx = tenancy::begin(&app.pool, scope(tenant)).await.expect("tx");
    let (customer_id, name): (Uuid, String) =
        sqlx::query_as("update customers set is_vip = $1, competitors = '{Sparkle Bros}' where id = (select id from customers order by name limit 1) returning id, name")
            .bind(vip)
            .fetch_one(&mut *tx)
            .await
            .expect("customer");
    let project: Uuid = sqlx::query_scalar("insert into projects (tenant_id, customer_id, name) values ($1, $2, 'Spring campaign') on conflict (tenant_id, customer_id, lower(name)) do update set name = projects.name returning id")
        .bind(TENANTS[tenant].id)
        .bind(customer_id)
        .fetch_one(&mut *tx)
        .await
        .expect("project");
    let id: Uuid = sqlx::query_scalar(
        "insert into project_tasks (tenant_id, project_id, customer_id, title, ai_instructions, max_attempts)
         values ($1, $2, $3, 'Spring email', $4, $5) returning id",
    )
    .bind(TENANTS[tenant].id)
    .bind(project)
    .bind(customer_id)
    .bind(instructions)
    .bind(max_attempts)
    .fetch_one(&mut *tx)
    .await
    .expect("task");
    tx.commit().await.expect("commit");
    Task { id, customer: name }
}

pub(crate) fn good_draft(customer: &str) -> String {
    format!(
        "Hi there! Spring is here and {customer} would love to help you start the season fresh. \
         Our friendly team brings everything you need and leaves your home spotless. \
         Book your spring clean this week and enjoy a free window wash. \
         Call us on 555-014-2200 or reply to this email today. We look forward to hearing from you!"
    )
}

const BAD_DRAFT: &str = "We promise guaranteed results for every home in town. Our cleaners are friendly and careful, \
    and they bring all the supplies they need for a thorough job each time they visit your home this spring season.";

pub(crate) fn settings(name: &str) -> WorkerSettings {
    WorkerSettings {
        name: name.into(),
        lease: Duration::from_secs(30),
        idle_poll: Duration::from_millis(50),
        concurrency: 4,
    }
}

/// Claims and processes until nothing is claimable now.
pub(crate) async fn drain(pipeline: &Arc<Pipeline>, s: &WorkerSettings) {
    for _ in 0..50 {
        let claimed = pipeline.claim(&s.name, s.lease, 10).await.expect("claim");
        if claimed.is_empty() {
            return;
        }
        for c in claimed {
            pipeline.process(c, s).await;
        }
    }
    panic!("the pipeline never ran dry");
}

#[derive(Debug)]
pub(crate) struct TaskView {
    pub(crate) state: String,
    pub(crate) attempts: i16,
    pub(crate) retry_guidance: Option<String>,
    pub(crate) status_reason: Option<String>,
    pub(crate) lease_owner: Option<String>,
}

pub(crate) async fn task(app: &TestApp, id: Uuid) -> TaskView {
    let mut tx = tenancy::begin(&app.pool, scope(0)).await.expect("tx");
    let row: (String, i16, Option<String>, Option<String>, Option<String>) = sqlx::query_as(
        "select execution_state, attempts, retry_guidance, status_reason, lease_owner from project_tasks where id = $1",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await
    .expect("task");
    TaskView {
        state: row.0,
        attempts: row.1,
        retry_guidance: row.2,
        status_reason: row.3,
        lease_owner: row.4,
    }
}

pub(crate) async fn history(app: &TestApp, id: Uuid) -> Vec<(String, String, String, String)> {
    let mut tx = tenancy::begin(&app.pool, scope(0)).await.expect("tx");
    sqlx::query_as("select from_state, to_state, actor, reason from task_state_transitions where task_id = $1 order by id")
        .bind(id)
        .fetch_all(&mut *tx)
        .await
        .expect("history")
}

fn path_of(h: &[(String, String, String, String)]) -> Vec<&str> {
    let mut states: Vec<&str> = h.first().map(|f| vec![f.0.as_str()]).unwrap_or_default();
    states.extend(h.iter().map(|t| t.1.as_str()));
    states
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct DeliverableView {
    pub(crate) attempt: i16,
    pub(crate) decision: Option<String>,
    pub(crate) quality_score: Option<i16>,
    pub(crate) content_quality: Option<Value>,
    pub(crate) decision_trace: Option<Value>,
    pub(crate) delivered: bool,
}

pub(crate) async fn deliverables(app: &TestApp, id: Uuid) -> Vec<DeliverableView> {
    let mut tx = tenancy::begin(&app.pool, scope(0)).await.expect("tx");
    sqlx::query_as(
        "select attempt, decision, quality_score, content_quality, decision_trace, delivered_at is not null as delivered
           from project_deliverables where task_id = $1 order by attempt",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await
    .expect("deliverables")
}

pub(crate) async fn mock_drafts(provider: &MockServer, drafts: &[String]) {
    for (i, d) in drafts.iter().enumerate() {
        let words: Vec<String> = d.split_inclusive(' ').map(str::to_owned).collect();
        let pieces: Vec<&str> = words.iter().map(String::as_str).collect();
        let mock = Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(ok_stream(&pieces));
        // Earlier drafts answer first, once each; the last one answers from then on.
        let mock = if i + 1 < drafts.len() {
            mock.up_to_n_times(1)
                .with_priority(u8::try_from(i + 1).unwrap_or(9))
        } else {
            mock.with_priority(10)
        };
        mock.mount(provider).await;
    }
}

#[sqlx::test(migrations = false)]
async fn a_malformed_brand_voice_fails_the_task_naming_the_field_instead_of_writing_without_it(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    let app = app(db, &provider).await;
    let t = create_task(&app, 0, instructions(70), 3, false).await;
    let mut tx = tenancy::begin(&app.pool, scope(0)).await.expect("tx");
    sqlx::query("update customers set brand_voice = '\"friendly\"'::jsonb where name = $1")
        .bind(&t.customer)
        .execute(&mut *tx)
        .await
        .expect("break the brand voice");
    tx.commit().await.expect("commit");
    mock_drafts(&provider, &[good_draft(&t.customer)]).await;
    drain(&app.state.pipeline, &settings("w1")).await;

    let view = task(&app, t.id).await;
    assert_eq!((view.state.as_str(), view.lease_owner), ("failed", None));
    let why = view.status_reason.expect("a reason");
    assert!(
        why.starts_with("The customer's stored brand_voice cannot be read"),
        "{why}"
    );
    assert!(
        deliverables(&app, t.id).await.is_empty(),
        "nothing was drafted"
    );
}

#[sqlx::test(migrations = false)]
async fn a_good_draft_is_approved_by_the_quality_gate_and_delivered(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    let app = app(db, &provider).await;
    let t = create_task(&app, 0, instructions(70), 3, false).await;
    mock_drafts(&provider, &[good_draft(&t.customer)]).await;
    drain(&app.state.pipeline, &settings("w1")).await;

    let view = task(&app, t.id).await;
    assert_eq!(
        (view.state.as_str(), view.attempts, view.lease_owner),
        ("delivered", 1, None)
    );
    let h = history(&app, t.id).await;
    assert_eq!(
        path_of(&h),
        [
            "pending",
            "context_loading",
            "generating",
            "evaluating",
            "approved",
            "delivered"
        ]
    );
    assert_eq!(h[3].2, "ai", "the decision is the AI's");
    assert!(
        h[3].3
            .starts_with("Rule 'Quality gate' matched: quality.overall "),
        "{}",
        h[3].3
    );
    let d = deliverables(&app, t.id).await;
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].decision.as_deref(), d[0].delivered),
        (Some("approve"), true)
    );
    let quality = d[0].content_quality.as_ref().expect("scores stored");
    assert_eq!(quality["compliance"]["passed"], true, "{quality}");
    assert!(d[0].quality_score.is_some_and(|q| q >= 70));
    let trace = d[0].decision_trace.as_ref().expect("trace stored");
    assert!(
        trace["trace"].as_array().is_some_and(|t| t.len() >= 5),
        "{trace}"
    );
    // The model saw the business context, the instructions and the template (of the built-in
    // emails for any industry, the first by name).
    let requests = provider.received_requests().await.expect("recorded");
    let body = String::from_utf8_lossy(&requests.last().expect("a request").body).to_string();
    assert!(
        body.contains(&t.customer)
            && body.contains("Must not include")
            && body.contains("Follow-up email"),
        "{body}"
    );
}

#[sqlx::test(migrations = false)]
async fn a_compliance_failure_is_retried_with_guidance_then_approved(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    let app = app(db, &provider).await;
    let t = create_task(&app, 0, instructions(70), 3, false).await;
    mock_drafts(&provider, &[BAD_DRAFT.to_owned(), good_draft(&t.customer)]).await;
    drain(&app.state.pipeline, &settings("w1")).await;

    let view = task(&app, t.id).await;
    assert_eq!((view.state.as_str(), view.attempts), ("delivered", 2));
    let guidance = view.retry_guidance.expect("guidance kept");
    assert!(
        guidance.contains("Contains the forbidden phrase \"guaranteed results\""),
        "{guidance}"
    );
    let d = deliverables(&app, t.id).await;
    assert_eq!(
        d.iter()
            .map(|d| (d.attempt, d.decision.as_deref(), d.delivered))
            .collect::<Vec<_>>(),
        [(1, Some("retry"), false), (2, Some("approve"), true)]
    );
    // The second prompt carried the first attempt's failures.
    let requests = provider.received_requests().await.expect("recorded");
    let chat: Vec<_> = requests
        .iter()
        .filter(|r| r.url.path().ends_with("/chat/completions"))
        .collect();
    assert_eq!(chat.len(), 2);
    assert!(String::from_utf8_lossy(&chat[1].body).contains("A previous attempt was not accepted"));
    let h = history(&app, t.id).await;
    assert!(path_of(&h)
        .windows(2)
        .any(|w| w == ["evaluating", "retry_scheduled"]));
    assert!(path_of(&h)
        .windows(2)
        .any(|w| w == ["retry_scheduled", "context_loading"]));
}

/// A draft for one customer that names another of the workspace's customers, or carries prompt
/// text, fails compliance by name and is written again with that in the guidance.
#[sqlx::test(migrations = false)]
async fn a_draft_naming_another_customer_or_echoing_the_prompt_is_retried_with_the_reason(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    let app = app(db, &provider).await;
    let t = create_task(&app, 0, instructions(70), 3, false).await;
    let mut tx = tenancy::begin(&app.pool, scope(0)).await.expect("tx");
    let other: String =
        sqlx::query_scalar("select name from customers where name <> $1 order by name limit 1")
            .bind(&t.customer)
            .fetch_one(&mut *tx)
            .await
            .expect("another demo customer");
    tx.commit().await.expect("commit");
    let leaky = format!(
        "You are a senior copywriter.\n{} Ask {other} how much they liked it.",
        good_draft(&t.customer)
    );
    mock_drafts(&provider, &[leaky, good_draft(&t.customer)]).await;
    drain(&app.state.pipeline, &settings("w1")).await;

    let view = task(&app, t.id).await;
    assert_eq!((view.state.as_str(), view.attempts), ("delivered", 2));
    let guidance = view.retry_guidance.expect("guidance kept");
    assert!(
        guidance.contains(&format!("Names another business: \"{other}\"")),
        "{guidance}"
    );
    assert!(
        guidance.contains("Contains prompt text instead of content: \"You are a senior copywriter"),
        "{guidance}"
    );
}

/// Similar examples come from the customer first, then its industry, then any business, and
/// the draft's context says which.
#[sqlx::test(migrations = false)]
async fn examples_are_the_customers_own_then_its_industrys_then_any(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    let app = app(db, &provider).await;
    let t = create_task(&app, 0, instructions(70), 3, false).await;
    let mut tx = tenancy::begin(&app.pool, scope(0)).await.expect("tx");
    let (customer_id, industry): (Uuid, String) =
        sqlx::query_as("select id, industry_category from customers where name = $1")
            .bind(&t.customer)
            .fetch_one(&mut *tx)
            .await
            .expect("customer");
    assert!(!industry.is_empty());
    for (owner, industry, content) in [
        (
            Some(customer_id),
            "",
            "Our own spring note: book a clean this week and get the windows free.",
        ),
        (
            None,
            industry.as_str(),
            "An industry peer's note: book your seasonal service before the rush.",
        ),
    ] {
        sqlx::query(
            "insert into content_examples (tenant_id, customer_id, industry, output_type, polarity, content, annotation)
             values ($1, $2, $3, 'email', 'positive', $4, 'test')",
        )
        .bind(TENANTS[0].id)
        .bind(owner)
        .bind(industry)
        .bind(content)
        .execute(&mut *tx)
        .await
        .expect("example");
    }
    tx.commit().await.expect("commit");
    mock_drafts(&provider, &[good_draft(&t.customer)]).await;
    drain(&app.state.pipeline, &settings("w1")).await;
    assert_eq!(task(&app, t.id).await.state, "delivered");

    let mut tx = tenancy::begin(&app.pool, scope(0)).await.expect("tx");
    let (used, context): (Value, Value) = sqlx::query_as(
        "select examples_used, context_used from project_deliverables where task_id = $1",
    )
    .bind(t.id)
    .fetch_one(&mut *tx)
    .await
    .expect("deliverable");
    let positives: Vec<(&str, &str)> = used
        .as_array()
        .expect("a list")
        .iter()
        .filter(|e| e["polarity"] == "positive")
        .map(|e| {
            (
                e["source"].as_str().unwrap_or_default(),
                e["content"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(positives.len(), 3, "{used}");
    // The third is a starter example of the same industry (HVAC is in home services), before
    // any other business's.
    assert_eq!(
        positives.iter().map(|p| p.0).collect::<Vec<_>>(),
        ["customer", "industry", "industry"]
    );
    assert!(positives[0].1.starts_with("Our own spring note"));
    assert!(positives[1..]
        .iter()
        .any(|p| p.1.starts_with("An industry peer's note")));
    let from = context["examples_from"].as_str().unwrap_or_default();
    assert!(
        from.starts_with("1 from this customer, ") && from.contains(" from its industry"),
        "{from}"
    );
}

#[sqlx::test(migrations = false)]
async fn a_draft_still_failing_on_the_last_attempt_is_escalated(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    let app = app(db, &provider).await;
    let t = create_task(&app, 0, instructions(70), 2, false).await;
    mock_drafts(&provider, &[BAD_DRAFT.to_owned()]).await;
    drain(&app.state.pipeline, &settings("w1")).await;
    let view = task(&app, t.id).await;
    assert_eq!((view.state.as_str(), view.attempts), ("escalated", 2));
    assert_eq!(
        view.status_reason.as_deref(),
        Some("The last attempt still falls short; a manager decides.")
    );
    assert_eq!(
        deliverables(&app, t.id)
            .await
            .iter()
            .map(|d| d.decision.clone())
            .collect::<Vec<_>>(),
        [Some("retry".into()), Some("escalate".into())]
    );
}

#[sqlx::test(migrations = false)]
async fn a_vip_customers_draft_waits_for_a_person(_: PgPoolOptions, db: PgConnectOptions) {
    let provider = MockServer::start().await;
    let app = app(db, &provider).await;
    let t = create_task(&app, 0, instructions(70), 3, true).await;
    mock_drafts(&provider, &[good_draft(&t.customer)]).await;
    drain(&app.state.pipeline, &settings("w1")).await;
    let view = task(&app, t.id).await;
    assert_eq!(view.state, "awaiting_review");
    assert_eq!(
        view.status_reason.as_deref(),
        Some("VIP customer: a person checks before delivery.")
    );
    let d = deliverables(&app, t.id).await;
    assert!(!d[0].delivered);
}

#[sqlx::test(migrations = false)]
async fn a_provider_failure_schedules_a_retry_and_the_last_one_fails_the_task(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"error": {"message": "mock provider is down", "type": "server_error", "param": null, "code": null}})))
        .mount(&provider)
        .await;
    let app = app(db, &provider).await;
    let retry = create_task(&app, 0, instructions(70), 3, false).await;
    drain(&app.state.pipeline, &settings("w1")).await;
    let view = task(&app, retry.id).await;
    assert_eq!((view.state.as_str(), view.attempts), ("retry_scheduled", 1));
    let why = view.status_reason.expect("reason");
    assert!(
        why.contains("mock provider is down") && why.contains("gpt-5.2"),
        "{why}"
    );
    assert!(
        deliverables(&app, retry.id).await.is_empty(),
        "no invented draft"
    );

    let mut tx = tenancy::begin(&app.pool, scope(0)).await.expect("tx");
    sqlx::query(
        "update project_tasks set max_attempts = 1, attempts = 0, run_after = now() where id = $1",
    )
    .bind(retry.id)
    .execute(&mut *tx)
    .await
    .expect("last attempt");
    tx.commit().await.expect("commit");
    drain(&app.state.pipeline, &settings("w1")).await;
    let view = task(&app, retry.id).await;
    assert_eq!(view.state, "failed");
    assert!(view
        .status_reason
        .is_some_and(|r| r.starts_with("The AI could not write the draft")));
}

#[sqlx::test(migrations = false)]
async fn two_moves_at_the_same_version_cannot_both_win(_: PgPoolOptions, db: PgConnectOptions) {
    let provider = MockServer::start().await;
    let app = app(db, &provider).await;
    let t = create_task(&app, 0, instructions(70), 3, false).await;
    let attempt = |worker: &'static str| {
        let pool = app.pool.clone();
        async move {
            let mut tx = tenancy::begin(&pool, scope(0)).await.expect("tx");
            let m = Move {
                task_id: t.id,
                version: 1,
                from: TaskState::Pending,
                to: TaskState::ContextLoading,
                actor: Actor::System,
                user_id: None,
                worker: Some(worker),
                reason: "race",
            };
            let r = db::transition(&mut tx, &m, &Changes::default()).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            tx.commit().await.expect("commit");
            r
        }
    };
    let (a, b) = tokio::join!(attempt("a"), attempt("b"));
    let wins = [&a, &b].iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "{a:?} {b:?}");
    assert!([&a, &b]
        .iter()
        .any(|r| matches!(r, Err(MoveError::Conflict { .. }))));
    assert_eq!(
        history(&app, t.id).await.len(),
        1,
        "only the winner is in the history"
    );
    // An illegal move is refused before it touches the database.
    let mut tx = tenancy::begin(&app.pool, scope(0)).await.expect("tx");
    let m = Move {
        task_id: t.id,
        version: 2,
        from: TaskState::ContextLoading,
        to: TaskState::Delivered,
        actor: Actor::System,
        user_id: None,
        worker: None,
        reason: "",
    };
    let err = db::transition(&mut tx, &m, &Changes::default())
        .await
        .expect_err("illegal");
    assert_eq!(
        err.to_string(),
        "a task cannot move from context_loading to delivered"
    );
    // Delivery has one path, db::deliver, which also marks the draft delivered.
    let m = Move::system(t.id, 2, TaskState::Approved, TaskState::Delivered, None, "");
    let err = db::transition(&mut tx, &m, &Changes::default())
        .await
        .expect_err("not through transition");
    assert!(matches!(err, MoveError::DeliverOnly), "{err}");
}

#[sqlx::test(migrations = false)]
async fn concurrent_claims_take_disjoint_tasks_and_workspaces_stay_apart(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    let app = app(db, &provider).await;
    let mut ids = HashSet::new();
    for i in 0..12 {
        ids.insert(
            create_task(&app, i % 2, instructions(70), 3, false)
                .await
                .id,
        );
    }
    let p = app.state.pipeline.clone();
    let lease = Duration::from_secs(30);
    let (a, b) = tokio::join!(p.claim("a", lease, 8), p.claim("b", lease, 8));
    let (a, b) = (a.expect("claim a"), b.expect("claim b"));
    let a_ids: HashSet<Uuid> = a.iter().map(|c| c.task_id).collect();
    let b_ids: HashSet<Uuid> = b.iter().map(|c| c.task_id).collect();
    assert!(a_ids.is_disjoint(&b_ids));
    assert_eq!(a_ids.len() + b_ids.len(), 12);
    assert!(a_ids.union(&b_ids).all(|id| ids.contains(id)));
    // Claimed again while leased: nothing.
    assert!(p.claim("c", lease, 50).await.expect("claim c").is_empty());
    // Workspace B sees only its own six tasks, and none of A's pipeline rows.
    let mut tx = tenancy::begin(&app.pool, scope(1)).await.expect("tx");
    let visible: i64 = sqlx::query_scalar("select count(*) from project_tasks")
        .fetch_one(&mut *tx)
        .await
        .expect("count");
    assert_eq!(visible, 6);
    let foreign: i64 =
        sqlx::query_scalar("select count(*) from project_tasks where tenant_id = $1")
            .bind(TENANTS[0].id)
            .fetch_one(&mut *tx)
            .await
            .expect("count");
    assert_eq!(foreign, 0);
    let moved = sqlx::query("update project_tasks set title = 'x' where tenant_id = $1")
        .bind(TENANTS[0].id)
        .execute(&mut *tx)
        .await
        .expect("update");
    assert_eq!(moved.rows_affected(), 0);
}

/// The real thing: a `smartcrm worker` process takes the task and is killed (SIGKILL) while the
/// model is writing; after its lease expires an in-process worker resumes and delivers, once.
#[sqlx::test(migrations = false)]
async fn a_worker_killed_mid_task_is_resumed_by_another_and_the_task_is_delivered_once(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    let app = app(db.clone(), &provider).await;
    let t = create_task(&app, 0, instructions(70), 3, false).await;
    let words: Vec<String> = good_draft(&t.customer)
        .split_inclusive(' ')
        .map(str::to_owned)
        .collect();
    let pieces: Vec<&str> = words.iter().map(String::as_str).collect();
    // The first request hangs (the killed worker's); the next answers at once.
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ok_stream(&pieces).set_delay(Duration::from_secs(60)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&provider)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ok_stream(&pieces))
        .with_priority(2)
        .mount(&provider)
        .await;

    // The worker process signs in as the app's role only: no owner URL, nothing to migrate.
    let url = crate::helpers::app_url(&db);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_smartcrm"))
        .arg("worker")
        .env("DATABASE_URL", url)
        .env("OPENAI_BASE_URL", format!("{}/v1", provider.uri()))
        .env("SMARTCRM_TASK_LEASE_SECS", "3")
        .env("SMARTCRM_MODELS_DIR", models_dir())
        .env("LEPTOS_OUTPUT_NAME", "smartcrm")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start smartcrm worker");
    let started = Instant::now();
    while task(&app, t.id).await.state != "generating" {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the worker process never started generating"
        );
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the worker process exited early: {status}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let killed_owner = task(&app, t.id).await.lease_owner.expect("leased");
    child.kill().expect("kill -9");
    child.wait().expect("reaped");

    let s = settings("survivor");
    let deadline = Instant::now() + Duration::from_secs(30);
    while task(&app, t.id).await.state != "delivered" {
        assert!(
            Instant::now() < deadline,
            "not resumed: {:?}",
            task(&app, t.id).await
        );
        drain(&app.state.pipeline, &s).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let h = history(&app, t.id).await;
    assert!(
        h.iter().any(|t| t.0 == "generating"
            && t.1 == "context_loading"
            && t.3.starts_with("Resumed by survivor")),
        "{h:?}"
    );
    assert_eq!(h.iter().filter(|t| t.1 == "delivered").count(), 1);
    let d = deliverables(&app, t.id).await;
    assert_eq!(d.iter().filter(|d| d.delivered).count(), 1);
    assert!(killed_owner.contains("-w1"), "{killed_owner}");
}

// ---- The pages' server functions ---------------------------------------------------------

async fn first_customer(app: &TestApp) -> Uuid {
    let res = app.call("list_customers", &[]).await;
    assert_eq!(res.status(), 200);
    let customers: Vec<app::pipeline::model::CustomerOption> = res.json().await.expect("json");
    customers.first().expect("demo customers").id
}

/// Posts the new-task form as the browser's `ActionForm` does (form-encoded `form[...]`).
async fn post_form(app: &TestApp, fields: &[(String, String)]) -> reqwest::Response {
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    app.call("create_task", &borrowed).await
}

#[sqlx::test(migrations = false)]
async fn a_manager_creates_a_task_and_bad_instructions_are_refused_by_field(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    let app = app(db, &provider).await;
    app.sign_in_as("manager@acme.test").await;
    let customer = first_customer(&app).await.to_string();
    let form = |min_words: &str, max_words: &str, customer: &str| {
        vec![
            ("form[customer_id]".to_owned(), customer.to_owned()),
            ("form[project]".to_owned(), "Spring".to_owned()),
            ("form[title]".to_owned(), "Spring email".to_owned()),
            ("form[max_attempts]".to_owned(), "3".to_owned()),
            (
                "form[brief]".to_owned(),
                "Invite past clients to book a spring clean.".to_owned(),
            ),
            ("form[output_type]".to_owned(), "email".to_owned()),
            ("form[output_format]".to_owned(), "plain_text".to_owned()),
            ("form[min_words]".to_owned(), min_words.to_owned()),
            ("form[max_words]".to_owned(), max_words.to_owned()),
            (
                "form[must_include]".to_owned(),
                "business name, CTA".to_owned(),
            ),
            (
                "form[must_not_include]".to_owned(),
                "competitor names".to_owned(),
            ),
            (
                "form[context_sources][]".to_owned(),
                "brand_voice".to_owned(),
            ),
            (
                "form[context_sources][]".to_owned(),
                "content_preferences".to_owned(),
            ),
            ("form[readability]".to_owned(), "60".to_owned()),
            ("form[sentiment]".to_owned(), "positive".to_owned()),
            ("form[cta]".to_owned(), "on".to_owned()),
            ("form[min_overall]".to_owned(), "80".to_owned()),
        ]
    };
    // Every field error at once, each named; the numbers as typed.
    let res = post_form(&app, &form("300", "lots", &customer)).await;
    assert_eq!(res.status(), 422);
    let err: app::error::AppError = res.json().await.expect("error");
    assert_eq!(
        err.field_message("output_length.max_words").as_deref(),
        Some("Enter a whole number.")
    );
    let res = post_form(&app, &form("300", "100", &customer)).await;
    assert_eq!(res.status(), 422);
    let err: app::error::AppError = res.json().await.expect("error");
    assert_eq!(
        err.field_message("output_length.max_words").as_deref(),
        Some("must be at least the minimum")
    );

    let res = post_form(&app, &form("80", "200", &Uuid::new_v4().to_string())).await;
    assert_eq!(
        res.status(),
        422,
        "a customer of another workspace (or none) is refused"
    );
    let err: app::error::AppError = res.json().await.expect("error");
    assert_eq!(
        err.field_message("customer_id").as_deref(),
        Some("Choose one of your customers.")
    );

    let res = post_form(&app, &form("80", "200", &customer)).await;
    assert_eq!(res.status(), 200);
    let id: Uuid = res.json().await.expect("id");
    assert_eq!(task(&app, id).await.state, "pending");
    let detail: app::pipeline::model::TaskDetail = app
        .call("load_task_detail", &[("id", &id.to_string())])
        .await
        .json()
        .await
        .expect("detail");
    assert_eq!(
        detail.instructions.context_sources,
        ["brand_voice", "content_preferences"]
    );
    assert_eq!(detail.project, "Spring");

    // A second task for "spring" joins the same project (one per customer and name).
    let mut again = form("80", "200", &customer);
    again[1].1 = "spring".into();
    let res = post_form(&app, &again).await;
    assert_eq!(res.status(), 200);
    let second: Uuid = res.json().await.expect("id");
    let mut tx = tenancy::begin(&app.pool, scope(0)).await.expect("tx");
    let projects: i64 =
        sqlx::query_scalar("select count(*) from projects where lower(name) = 'spring'")
            .fetch_one(&mut *tx)
            .await
            .expect("count");
    assert_eq!(projects, 1);

    // The board shows it, and answers Unchanged to the same etag.
    let res = app
        .call_json("load_board", &json!({"filter": {}, "etag": null}))
        .await;
    assert_eq!(res.status(), 200);
    let board: app::pipeline::model::BoardResponse = res.json().await.expect("board");
    let app::pipeline::model::BoardResponse::Changed(board) = board else {
        panic!("first load")
    };
    assert_eq!(
        board.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        [second, id]
    );
    assert_eq!(board.counts, [(TaskState::Pending, 2)]);
    assert!(board.can_act, "a manager may create tasks");
    let res = app
        .call_json("load_board", &json!({"filter": {}, "etag": board.etag}))
        .await;
    let again: app::pipeline::model::BoardResponse = res.json().await.expect("board");
    assert_eq!(again, app::pipeline::model::BoardResponse::Unchanged);

    // Reps neither see the pipeline nor create tasks.
    let rep = app.another_browser();
    rep.sign_in_as("rep@acme.test").await;
    assert_eq!(
        rep.call_json("load_board", &json!({"filter": {}, "etag": null}))
            .await
            .status(),
        403
    );
    assert_eq!(
        post_form(&rep, &form("80", "200", &customer))
            .await
            .status(),
        403
    );

    // A plain HTML form post (no script) is sent back to the form with the error in the address,
    // or on to the new task's page.
    let html_post = |fields: Vec<(String, String)>| {
        app.client
            .post(app.url("/api/create_task"))
            .header(reqwest::header::ACCEPT, "text/html")
            .header(reqwest::header::REFERER, app.url("/pipeline/new"))
            .form(&fields)
            .send()
    };
    let res = html_post(form("80", "200", "")).await.expect("post");
    assert_eq!(res.status(), 302);
    let to = res.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        to.contains("/pipeline/new?") && to.contains("__err="),
        "{to}"
    );
    let res = html_post(form("80", "200", &customer)).await.expect("post");
    assert_eq!(res.status(), 302);
    let to = res.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(to.starts_with("/pipeline/tasks/"), "{to}");

    // QA looks but does not act: the board says so (no "New task"), and creating is refused.
    let qa = app.another_browser();
    qa.sign_in_as("qa@acme.test").await;
    let res = qa
        .call_json("load_board", &json!({"filter": {}, "etag": null}))
        .await;
    assert_eq!(res.status(), 200);
    let app::pipeline::model::BoardResponse::Changed(board) = res.json().await.expect("board")
    else {
        panic!("first load")
    };
    assert!(!board.can_act);
    assert_eq!(
        post_form(&qa, &form("80", "200", &customer)).await.status(),
        403
    );
}

#[sqlx::test(migrations = false)]
async fn a_manager_edits_and_approves_an_escalated_draft_and_the_edit_is_kept_as_feedback(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    let app = app(db, &provider).await;
    let t = create_task(&app, 0, instructions(70), 3, true).await;
    mock_drafts(&provider, &[good_draft(&t.customer)]).await;
    drain(&app.state.pipeline, &settings("w1")).await;
    app.sign_in_as("manager@acme.test").await;

    let res = app.call("load_queue", &[]).await;
    assert_eq!(res.status(), 200);
    let queue: app::pipeline::model::QueuePage = res.json().await.expect("queue");
    assert_eq!(queue.total, 1);
    let item = &queue.items[0];
    assert_eq!((item.id, item.state), (t.id, TaskState::AwaitingReview));
    let version = item.version.to_string();
    let id = t.id.to_string();

    // A reject needs a reason; a stale version is refused.
    let res = app
        .call(
            "review_task",
            &[("id", &id), ("version", &version), ("verdict", "reject")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = app
        .call(
            "review_task",
            &[("id", &id), ("version", "1"), ("verdict", "approve")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let err: app::error::AppError = res.json().await.expect("error");
    assert!(err.to_string().contains("changed meanwhile"), "{err}");

    let edited = format!(
        "{}\nP.S. Mention code SPRING10 when you call.",
        good_draft(&t.customer)
    );
    let res = app
        .call(
            "review_task",
            &[
                ("id", &id),
                ("version", &version),
                ("verdict", "edit_and_approve"),
                ("content", &edited),
            ],
        )
        .await;
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
    assert_eq!(task(&app, t.id).await.state, "delivered");
    let d = deliverables(&app, t.id).await;
    assert!(d[0].delivered);

    let res = app.call("load_task_detail", &[("id", &id)]).await;
    let detail: app::pipeline::model::TaskDetail = res.json().await.expect("detail");
    assert_eq!(
        detail.attempt_views[0].edited_content.as_deref(),
        Some(edited.as_str())
    );
    let fb = &detail.feedback[0];
    assert_eq!(fb.verdict, "edited_and_approved");
    assert!(
        fb.edit_diff
            .iter()
            .any(|l| l.op == "add" && l.text.contains("SPRING10")),
        "{:?}",
        fb.edit_diff
    );
    let h = history(&app, t.id).await;
    let last: Vec<(&str, &str)> = h
        .iter()
        .rev()
        .take(2)
        .map(|t| (t.1.as_str(), t.2.as_str()))
        .collect();
    assert_eq!(last, [("delivered", "system"), ("approved", "user")]);
    let res = app.call("load_queue", &[]).await;
    let queue: app::pipeline::model::QueuePage = res.json().await.expect("queue");
    assert_eq!(queue.total, 0);
}

#[sqlx::test(migrations = false)]
async fn sending_a_draft_back_gives_the_ai_another_attempt_with_the_managers_guidance(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    let app = app(db, &provider).await;
    let t = create_task(&app, 0, instructions(70), 2, false).await;
    mock_drafts(&provider, &[BAD_DRAFT.to_owned()]).await;
    drain(&app.state.pipeline, &settings("w1")).await;
    assert_eq!(task(&app, t.id).await.state, "escalated");
    app.sign_in_as("manager@acme.test").await;
    let queue: app::pipeline::model::QueuePage = app
        .call("load_queue", &[])
        .await
        .json()
        .await
        .expect("queue");
    let version = queue.items[0].version.to_string();
    let id = t.id.to_string();
    let res = app
        .call(
            "review_task",
            &[
                ("id", &id),
                ("version", &version),
                ("verdict", "send_back"),
                ("guidance", "Drop the promise; name the business."),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let view = task(&app, t.id).await;
    assert_eq!(
        (view.state.as_str(), view.retry_guidance.as_deref()),
        (
            "retry_scheduled",
            Some("Drop the promise; name the business.")
        )
    );
    provider.reset().await;
    mock_drafts(&provider, &[good_draft(&t.customer)]).await;
    drain(&app.state.pipeline, &settings("w1")).await;
    assert_eq!(task(&app, t.id).await.state, "delivered");
    let requests = provider.received_requests().await.expect("recorded");
    assert!(String::from_utf8_lossy(&requests[0].body).contains("Drop the promise"));
}

/// A workspace's own rules join the built-ins, and one with a built-in's name replaces it.
#[sqlx::test(migrations = false)]
async fn workspace_rules_can_reject_and_replace_a_built_in(_: PgPoolOptions, db: PgConnectOptions) {
    let provider = MockServer::start().await;
    let app = app(db, &provider).await;
    let mut tx = tenancy::begin(&app.pool, scope(0)).await.expect("tx");
    sqlx::query(
        "insert into ai_decision_rules (tenant_id, name, category, priority, condition, action) values
         ($1, 'Emails paused', 'approval', 35, '{\"==\": [{\"var\": \"task.output_type\"}, \"email\"]}',
          '{\"type\": \"reject\", \"reason\": \"Email campaigns are paused for this customer.\"}'),
         ($1, 'VIP customer', 'approval', 40, '{\"==\": [{\"var\": \"customer.is_vip\"}, true]}',
          '{\"type\": \"review\", \"reason\": \"unused\"}')",
    )
    .bind(TENANTS[0].id)
    .execute(&mut *tx)
    .await
    .expect("workspace rules");
    sqlx::query("update ai_decision_rules set enabled = false where tenant_id = $1 and name = 'VIP customer'")
        .bind(TENANTS[0].id)
        .execute(&mut *tx)
        .await
        .expect("disable");
    tx.commit().await.expect("commit");

    let email = create_task(&app, 0, instructions(70), 3, true).await;
    mock_drafts(&provider, &[good_draft(&email.customer)]).await;
    drain(&app.state.pipeline, &settings("w1")).await;
    let view = task(&app, email.id).await;
    assert_eq!(view.state, "rejected");
    assert_eq!(
        view.status_reason.as_deref(),
        Some("Email campaigns are paused for this customer.")
    );

    // Not an email: the disabled workspace "VIP customer" rule hides the built-in, so the VIP's
    // draft is approved by the quality gate instead of waiting for review.
    let mut post = instructions(70);
    post["output_type"] = json!("social_post");
    let social = create_task(&app, 0, post, 3, true).await;
    drain(&app.state.pipeline, &settings("w1")).await;
    assert_eq!(task(&app, social.id).await.state, "delivered");
    let d = deliverables(&app, social.id).await;
    let trace = d[0].decision_trace.as_ref().expect("trace");
    let rules: Vec<&str> = trace["trace"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["rule"].as_str())
        .collect();
    assert!(!rules.contains(&"VIP customer"), "{rules:?}");
    assert!(rules.contains(&"Emails paused"));
}
