//! Workspace and member model settings (validation, allowed models, versions, audit), what the
//! AI settings page's resolution table says for a member, the budget's soft-limit alert and
//! step-down, the per-workspace request rate (429 with the wait), and A/B experiments: sticky
//! assignment, metrics on known rows, promote and stop.
use crate::{
    ai::{app_with, first_contact, ok_stream, post_analyze},
    helpers::{owner, spawn_app_with, TestApp},
    rules::answer,
};
use app::{
    ai::{gateway::RouteQuery, settings::RoutingTable, TaskKind},
    analyses::AnalysisKind,
    error::AppError,
    models::{
        experiment_stats::Verdict,
        settings::{ModelSettingsPage, MyModelsForm, WorkspaceModelsForm},
        ExperimentView, PromptsPage,
    },
    ssr::tenancy::{self, Scope},
};
use serde_json::json;
use server::demo::TENANTS;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;
use wiremock::{matchers::method, Mock, MockServer};

async fn settings(app: &TestApp) -> ModelSettingsPage {
    answer(app.call("load_model_settings", &[]).await)
        .await
        .expect("settings")
}

async fn save_ws(app: &TestApp, form: &WorkspaceModelsForm) -> Result<(), (u16, AppError)> {
    answer(
        app.call_json("save_workspace_models", &json!({ "form": form }))
            .await,
    )
    .await
}

fn field(e: &AppError) -> String {
    match e {
        AppError::Validation { field, .. } => field.clone(),
        AppError::Fields { errors } => errors[0].field.clone(),
        other => format!("{other:?}"),
    }
}

async fn audited(conn: &mut sqlx::PgConnection, action: &str) -> i64 {
    sqlx::query_scalar("select count(*) from audit_log where tenant_id = $1 and action = $2")
        .bind(TENANTS[0].id)
        .bind(action)
        .fetch_one(conn)
        .await
        .expect("audit")
}

#[sqlx::test(migrations = false)]
async fn settings_are_checked_audited_and_drive_the_resolution_table_and_budget(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    // A remote provider is configured (never called here), so remote models are routed to.
    let app = spawn_app_with(db, &[("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")]).await;
    let mut conn = owner(&app).await;
    app.sign_in_as("admin@acme.test").await;
    let page = settings(&app).await;
    assert_eq!(
        (page.workspace.version, page.workspace.requests_per_minute),
        (0, 120)
    );
    assert!(page.can_edit_workspace);

    let mut form = WorkspaceModelsForm {
        default_model: "gpt-5.1".into(),
        allowed_models: vec!["gpt-5.2-instant".into(), "gpt-5.2".into()],
        monthly_budget_usd: "100".into(),
        soft_limit_usd: "80".into(),
        requests_per_minute: "60".into(),
        version: "0".into(),
        ..Default::default()
    };
    // A legacy model, a soft limit over the budget, a rate of zero.
    match save_ws(&app, &form).await {
        Err((422, e)) => assert_eq!(field(&e), "default_model"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    for (soft, rpm, expect) in [
        ("150", "60", "soft_limit_usd"),
        ("80", "0", "requests_per_minute"),
    ] {
        let bad = WorkspaceModelsForm {
            soft_limit_usd: soft.into(),
            requests_per_minute: rpm.into(),
            ..form.clone()
        };
        match save_ws(&app, &bad).await {
            Err((422, e)) => assert_eq!(field(&e), expect),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    form.default_model = "gpt-5.2-thinking".into();
    save_ws(&app, &form).await.expect("save");
    assert!(
        matches!(save_ws(&app, &form).await, Err((422, e)) if field(&e) == "version"),
        "a stale form"
    );
    let page = settings(&app).await;
    assert_eq!(page.workspace.version, 1);
    assert_eq!(page.workspace.allowed, ["gpt-5.2", "gpt-5.2-instant"]);
    assert_eq!(audited(&mut conn, "ai.workspace_models_saved").await, 1);

    // A rep chooses among the allowed models only, and cannot touch the workspace's.
    let rep = app.another_browser();
    rep.sign_in_as("rep@acme.test").await;
    let mine = |fast: &str, version: &str| MyModelsForm {
        fast_model: fast.into(),
        version: version.into(),
        ..Default::default()
    };
    match answer::<()>(
        rep.post_form("save_my_models", &mine("gpt-5.2-thinking", "0"))
            .await,
    )
    .await
    {
        Err((422, e)) => assert!(e.to_string().contains("does not allow"), "{e}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    answer::<()>(rep.post_form("save_my_models", &mine("gpt-5.2", "0")).await)
        .await
        .expect("mine");
    assert_eq!(settings(&rep).await.mine.fast.as_deref(), Some("gpt-5.2"));
    assert!(matches!(save_ws(&rep, &form).await, Err((403, _))));
    assert!(matches!(
        answer::<RoutingTable>(rep.call("load_routing_table", &[]).await).await,
        Err((403, _))
    ));
    assert_eq!(audited(&mut conn, "ai.my_models_saved").await, 1);

    // The month's spend passes the soft limit and 80% of the budget.
    sqlx::query(
        "insert into ai_calls (tenant_id, task_kind, requested_model, model, provider, status, latency_ms, cost_usd)
         values ($1, 'communication', 'gpt-5.2', 'gpt-5.2', 'openai', 'ok', 900, 85)",
    )
    .bind(TENANTS[0].id)
    .execute(&mut conn)
    .await
    .expect("spend");
    let rep_id: Uuid = sqlx::query_scalar("select id from users where email = 'rep@acme.test'")
        .fetch_one(&mut conn)
        .await
        .expect("rep");
    let table: RoutingTable = answer(
        app.call("load_routing_table", &[("user", &rep_id.to_string())])
            .await,
    )
    .await
    .expect("table");
    assert_eq!(table.user_name, "Riley Rep");
    let row = |name: &str| {
        table
            .rows
            .iter()
            .find(|r| r.prompt == name)
            .expect(name)
            .clone()
    };
    // Fast: the rep's own choice. Default (the workspace's) and thinking (the prompt's) tasks
    // step down to the fast tier's model at 80% of the budget.
    let health = row("relationship_health");
    assert_eq!(
        (health.model.as_str(), health.level.as_str()),
        ("gpt-5.2", "User's setting")
    );
    let research = row("contextual_research");
    assert_eq!(
        (research.model.as_str(), research.level.as_str()),
        ("gpt-5.2", "Prompt's model")
    );
    assert!(
        research.reason.contains("80% of the monthly budget"),
        "{}",
        research.reason
    );
    let tips = row("smart_engagement_tips");
    assert_eq!(
        (tips.model.as_str(), tips.level.as_str()),
        ("gpt-5.2", "Workspace's setting")
    );
    assert!(
        tips.reason.contains("80% of the monthly budget"),
        "{}",
        tips.reason
    );
    assert!((table.spent_usd - 85.0).abs() < 1e-9);
    assert!(table.overrides.is_empty());
    // The soft-limit alert is raised once this month.
    answer::<RoutingTable>(app.call("load_routing_table", &[]).await)
        .await
        .expect("again");
    assert_eq!(audited(&mut conn, "ai.budget_soft_limit_reached").await, 1);
    let page = settings(&app).await;
    assert!(page.over_soft_limit());
    assert!((page.usage.spent_usd - 85.0).abs() < 1e-9);
}

#[sqlx::test(migrations = false)]
async fn the_workspace_request_rate_queues_then_answers_429_with_the_wait(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_stream(&["Call them."]))
        .mount(&provider)
        .await;
    let app = app_with(db, &provider, &[]).await;
    let mut conn = owner(&app).await;
    sqlx::query(
        "insert into ai_workspace_settings (tenant_id, requests_per_minute) values ($1, 1)",
    )
    .bind(TENANTS[0].id)
    .execute(&mut conn)
    .await
    .expect("rate");
    let contact = first_contact(&app).await;
    let first = post_analyze(&app, contact, AnalysisKind::SmartEngagementTips, false).await;
    assert_eq!(first.status(), 200);
    let _ = first.text().await;
    let started = std::time::Instant::now();
    let second = post_analyze(&app, contact, AnalysisKind::RelationshipHealth, false).await;
    assert_eq!(second.status(), 429);
    let err: AppError = second.json().await.expect("json");
    match &err {
        AppError::RateLimited { retry_after_secs } => {
            assert!((50..=60).contains(retry_after_secs), "{err}")
        }
        other => panic!("expected a rate limit, got {other:?}"),
    }
    assert!(
        err.to_string().starts_with("Rate limited: try again in"),
        "{err}"
    );
    // It was refused at once: a wait of a minute is past the few seconds a request may queue.
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    // Another workspace has its own allowance.
    let globex = app.another_browser();
    globex.sign_in_as("admin@globex.test").await;
    let theirs = first_contact(&globex).await;
    assert_eq!(
        post_analyze(&globex, theirs, AnalysisKind::SmartEngagementTips, false)
            .await
            .status(),
        200
    );
}

#[sqlx::test(migrations = false)]
async fn an_experiment_assigns_stickily_shows_both_arms_and_promotes(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    // A remote provider is configured (never called here), so remote models are routed to.
    let app = spawn_app_with(db, &[("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")]).await;
    let acme = TENANTS[0].id;
    let mut conn = owner(&app).await;
    app.sign_in_as("admin@acme.test").await;
    let start = |candidate: &'static str, percent: &'static str| {
        let app = &app;
        async move {
            answer::<Uuid>(
                app.call(
                    "start_experiment",
                    &[
                        ("name", "relationship_health"),
                        ("candidate", candidate),
                        ("percent", percent),
                        ("sticky_by", "user"),
                    ],
                )
                .await,
            )
            .await
        }
    };
    for (candidate, percent, expect) in [
        ("gpt-5.2", "0", "percent"),
        ("gpt-5.1", "50", "candidate"),
        ("gpt-5.2-instant", "50", "candidate"),
    ] {
        match start(candidate, percent).await {
            Err((422, e)) => assert_eq!(field(&e), expect, "{candidate} {percent}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    let id = start("gpt-5.2", "50").await.expect("start");
    assert!(
        matches!(start("gpt-5.2-thinking", "10").await, Err((422, _))),
        "one running per prompt"
    );

    // Sticky by user: each member always lands on the same arm; about half on the candidate.
    let gateway = app.state.ai.clone();
    let query = RouteQuery {
        task: TaskKind::Summary,
        prompt: Some(("relationship_health", "gpt-5.2-instant")),
        subject: None,
    };
    let mut candidates = 0;
    for i in 0..400u128 {
        let scope = Scope {
            tenant_id: acme,
            user_id: Uuid::from_u128(0xabc0_0000 + i),
        };
        let mut tx = tenancy::begin(&app.pool, scope).await.expect("tx");
        let a = gateway
            .resolve(&mut tx, scope, query)
            .await
            .expect("db")
            .expect("routed");
        let b = gateway
            .resolve(&mut tx, scope, query)
            .await
            .expect("db")
            .expect("routed");
        tx.commit().await.expect("commit");
        assert_eq!(a.tag.arm, b.tag.arm);
        assert_eq!(a.tag.experiment_id, Some(id));
        if a.tag.arm == Some("candidate") {
            assert_eq!(a.model, "gpt-5.2");
            candidates += 1;
        } else {
            assert_eq!(a.model, "gpt-5.2-instant");
        }
    }
    assert!(
        (160..=240).contains(&candidates),
        "{candidates} of 400 on the candidate"
    );

    // Known rows: 40 calls each; the candidate is faster and fails half the time.
    sqlx::query(
        "insert into ai_calls (tenant_id, task_kind, prompt_name, requested_model, model, provider, status, latency_ms,
                               cost_usd, experiment_id, arm)
         select $1, 'summary', 'relationship_health', m, m, 'openai', s, l, 0.001, $2, a
         from (select 'gpt-5.2-instant' m, 'ok' s, 1000 l, 'control' a from generate_series(1, 40)
               union all select 'gpt-5.2', case when g % 2 = 0 then 'error' else 'ok' end, 500, 'candidate'
               from generate_series(1, 40) g) v",
    )
    .bind(acme)
    .bind(id)
    .execute(&mut conn)
    .await
    .expect("calls");
    let manager = app.another_browser();
    manager.sign_in_as("manager@acme.test").await;
    let list: Vec<ExperimentView> = answer(
        manager
            .call("load_experiments", &[("name", "relationship_health")])
            .await,
    )
    .await
    .expect("experiments");
    let e = &list[0];
    assert_eq!(
        (e.status.as_str(), e.percent, e.control_model.as_str()),
        ("running", 50, "gpt-5.2-instant")
    );
    let metric = |name: &str| {
        e.metrics
            .iter()
            .find(|m| m.metric == name)
            .expect(name)
            .clone()
    };
    let errors = metric("Error rate");
    assert_eq!(
        (
            errors.control.as_str(),
            errors.candidate.as_str(),
            errors.samples
        ),
        ("0.0%", "50.0%", (40, 40))
    );
    assert_eq!(errors.verdict, Verdict::Significant);
    assert_eq!(
        (
            metric("Latency p50").control.as_str(),
            metric("Latency p50").candidate.as_str()
        ),
        ("1000 ms", "500 ms")
    );
    assert_eq!(metric("Quality score").verdict, Verdict::NotEnoughData);
    assert!(matches!(
        answer::<Uuid>(
            manager
                .call(
                    "start_experiment",
                    &[
                        ("name", "relationship_health"),
                        ("candidate", "gpt-5.2"),
                        ("percent", "5"),
                        ("sticky_by", "user")
                    ]
                )
                .await
        )
        .await,
        Err((403, _))
    ));

    // Promote: the candidate becomes the prompt's model in production.
    let message: String = answer(
        app.call(
            "end_experiment",
            &[("id", &id.to_string()), ("promote", "true")],
        )
        .await,
    )
    .await
    .expect("promote");
    assert!(
        message.starts_with("Promoted: version 2 of relationship_health runs on gpt-5.2"),
        "{message}"
    );
    let page: PromptsPage = answer(
        app.call("load_prompts", &[("q", "relationship_health")])
            .await,
    )
    .await
    .expect("prompts");
    assert_eq!(page.rows[0].model.id, "gpt-5.2");
    assert!(matches!(
        answer::<String>(app.call("end_experiment", &[("id", &id.to_string())]).await).await,
        Err((422, _))
    ));
    assert_eq!(audited(&mut conn, "experiment.started").await, 1);
    assert_eq!(audited(&mut conn, "experiment.promoted").await, 1);
    // Calls now go to the promoted model, in no arm.
    let scope = Scope {
        tenant_id: acme,
        user_id: Uuid::from_u128(0xabc0_0001),
    };
    let mut tx = tenancy::begin(&app.pool, scope).await.expect("tx");
    let q = RouteQuery {
        prompt: Some(("relationship_health", "gpt-5.2")),
        ..query
    };
    let r = gateway
        .resolve(&mut tx, scope, q)
        .await
        .expect("db")
        .expect("routed");
    assert_eq!((r.model.as_str(), r.tag.arm), ("gpt-5.2", None));
}
