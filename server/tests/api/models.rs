//! Prompts and models over HTTP and on the database: the catalog (usage, edits by the
//! operator's workspace only, effective-dated prices, reload on every instance), prompt
//! versions and labels (deploy, roll back, diff, validation, workspaces apart), the resolution
//! order at every level with the budget's steps, and the migration that backfills legacy
//! prompts without a model.
use crate::{
    helpers::{owner, spawn_app, spawn_app_with, TestApp},
    rules::answer,
};
use app::{
    ai::{
        gateway::{Gateway, RouteQuery},
        routing::{BudgetStep, Level},
        TaskKind,
    },
    error::AppError,
    models::{
        form::{ModelForm, PriceForm, PromptForm},
        CatalogPage, PromptDetail, PromptSaved, PromptsPage,
    },
    ssr::tenancy::{self, Scope},
};
use server::demo::TENANTS;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::{Duration, Instant};
use uuid::Uuid;

async fn catalog(app: &TestApp) -> CatalogPage {
    answer(app.call("load_model_catalog", &[]).await)
        .await
        .expect("catalog")
}

fn new_model(id: &str) -> ModelForm {
    ModelForm {
        is_new: "1".into(),
        id: id.into(),
        provider: "openai".into(),
        display_name: "GPT Test".into(),
        tier: "default".into(),
        kind: "chat".into(),
        context_window: "200000".into(),
        status: "active".into(),
        input_cost_per_1k: "0.003".into(),
        output_cost_per_1k: "0.012".into(),
        ..Default::default()
    }
}

#[sqlx::test(migrations = false)]
async fn the_catalog_shows_usage_and_only_the_operator_edits_it(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let acme = TENANTS[0].id;
    let mut conn = owner(&app).await;
    sqlx::query(
        "insert into ai_calls (tenant_id, task_kind, requested_model, model, provider, status, latency_ms,
                               prompt_tokens, completion_tokens, cost_usd)
         values ($1, 'summary', 'gpt-5.2', 'gpt-5.2', 'openai', 'ok', 100, 1000, 500, 0.01),
                ($1, 'summary', 'gpt-5.2', 'gpt-5.2', 'openai', 'ok', 300, 1000, 500, 0.01),
                ($1, 'summary', 'gpt-5.2', null, 'openai', 'error', 200, null, null, null),
                ($2, 'summary', 'gpt-5.2', 'gpt-5.2', 'openai', 'ok', 900, 9000, 9000, 9.0)",
    )
    .bind(acme)
    .bind(TENANTS[1].id)
    .execute(&mut conn)
    .await
    .expect("calls");

    app.sign_in_as("admin@acme.test").await;
    let page = catalog(&app).await;
    assert!(page.can_edit);
    let gpt = page
        .models
        .iter()
        .find(|m| m.id == "gpt-5.2")
        .expect("gpt-5.2");
    assert_eq!(gpt.usage.calls, 3, "only this workspace's calls");
    assert_eq!(gpt.usage.tokens, 3000);
    assert!((gpt.usage.cost_usd - 0.02).abs() < 1e-9);
    assert_eq!(gpt.usage.p50_ms, Some(200.0));
    assert!((gpt.usage.error_rate.expect("rate") - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(
        gpt.price.as_ref().map(|p| p.input_cost_per_1k),
        Some(0.00175)
    );
    assert!(gpt.recommended);
    let legacy = page.models.iter().find(|m| m.id == "gpt-5.1").expect("5.1");
    assert_eq!(legacy.status, "legacy");

    // Validation: every field at once.
    let bad = ModelForm {
        id: "no spaces".into(),
        context_window: "0".into(),
        input_cost_per_1k: "-2".into(),
        ..new_model("x")
    };
    match app.submit::<_, ()>("save_model", &bad).await {
        Err((422, AppError::Fields { errors })) => {
            let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(fields, ["id", "context_window", "input_cost_per_1k"]);
        }
        other => panic!("expected field errors, got {other:?}"),
    }
    // A new model, recommended: it takes the tier's recommendation.
    let added = ModelForm {
        recommended: "on".into(),
        ..new_model("gpt-test-6")
    };
    app.submit::<_, ()>("save_model", &added)
        .await
        .expect("added");
    let page = catalog(&app).await;
    let fresh = page
        .models
        .iter()
        .find(|m| m.id == "gpt-test-6")
        .expect("added");
    assert!(fresh.recommended);
    assert!(!page
        .models
        .iter()
        .any(|m| m.id == "gpt-5.2" && m.recommended));
    assert_eq!(
        app.state
            .ai
            .catalog()
            .get("gpt-test-6")
            .map(|m| m.tier.as_str()),
        Some("default")
    );
    // Deprecating the tier's only recommended model is refused.
    let deprecate = ModelForm {
        is_new: String::new(),
        status: "deprecated".into(),
        ..new_model("gpt-test-6")
    };
    match app.submit::<_, ()>("save_model", &deprecate).await {
        Err((422, AppError::Validation { field, .. })) => assert_eq!(field, "recommended"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // A price from a later date waits; one in the past is refused.
    let later = (time::OffsetDateTime::now_utc().date() + time::Duration::days(7)).to_string();
    let price = PriceForm {
        model_id: "gpt-test-6".into(),
        effective_from: later,
        input_cost_per_1k: "0.001".into(),
        output_cost_per_1k: "0.004".into(),
    };
    app.submit::<_, ()>("set_model_price", &price)
        .await
        .expect("price");
    let page = catalog(&app).await;
    let fresh = page
        .models
        .iter()
        .find(|m| m.id == "gpt-test-6")
        .expect("model");
    assert_eq!(
        fresh.price.as_ref().map(|p| p.input_cost_per_1k),
        Some(0.003)
    );
    assert_eq!(
        fresh.upcoming.as_ref().map(|p| p.input_cost_per_1k),
        Some(0.001)
    );
    let model = app
        .state
        .ai
        .catalog()
        .get("gpt-test-6")
        .cloned()
        .expect("in the gateway");
    assert!(
        (model.cost(1000, 1000) - 0.015).abs() < 1e-12,
        "today's price"
    );
    let next_month = time::OffsetDateTime::now_utc() + time::Duration::days(30);
    assert!((model.cost_at(next_month, 1000, 1000) - 0.005).abs() < 1e-12);
    let past = PriceForm {
        effective_from: "2020-01-01".into(),
        ..price
    };
    match app.submit::<_, ()>("set_model_price", &past).await {
        Err((422, AppError::Fields { errors })) => assert_eq!(errors[0].field, "effective_from"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where tenant_id = $1 and action in ('model.added', 'model.price_set') and target = 'gpt-test-6'",
    )
    .bind(acme)
    .fetch_one(&mut conn)
    .await
    .expect("audit");
    assert_eq!(audited, 2);

    // Another workspace's admin reads the catalog but cannot change it; a rep cannot see it.
    let globex = app.another_browser();
    globex.sign_in_as("admin@globex.test").await;
    assert!(!catalog(&globex).await.can_edit);
    match globex
        .submit::<_, ()>("save_model", &new_model("gpt-sneaky"))
        .await
    {
        Err((403, _)) => {}
        other => panic!("expected 403, got {other:?}"),
    }
    let rep = app.another_browser();
    rep.sign_in_as("rep@acme.test").await;
    assert_eq!(rep.call("load_model_catalog", &[]).await.status(), 403);
    assert_eq!(rep.call("load_prompts", &[]).await.status(), 403);
}

/// A change made through one instance reaches another instance's gateway without a restart.
#[sqlx::test(migrations = false)]
async fn every_instance_reloads_the_catalog_on_change(_: PgPoolOptions, db: PgConnectOptions) {
    let first = spawn_app(db.clone()).await;
    let second = spawn_app(db).await;
    assert!(second.state.ai.catalog().get("gpt-test-7").is_none());
    first.sign_in_as("admin@acme.test").await;
    first
        .submit::<_, ()>("save_model", &new_model("gpt-test-7"))
        .await
        .expect("added");
    let started = Instant::now();
    while second.state.ai.catalog().get("gpt-test-7").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the second instance never reloaded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn prompts(app: &TestApp, form: &[(&str, &str)]) -> PromptsPage {
    answer(app.call("load_prompts", form).await)
        .await
        .expect("prompts")
}

async fn prompt(app: &TestApp, name: &str) -> PromptDetail {
    answer(app.call("get_prompt", &[("name", name)]).await)
        .await
        .expect("prompt")
}

#[sqlx::test(migrations = false)]
async fn prompt_versions_deploy_roll_back_and_stay_in_their_workspace(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    app.sign_in_as("admin@acme.test").await;
    let all = prompts(&app, &[]).await;
    assert_eq!(all.rows.len(), 4);
    let by_model = prompts(&app, &[("model", "gpt-5.2-instant")]).await;
    let names: Vec<&str> = by_model.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["relationship_health"]);
    let by_task = prompts(&app, &[("task", "research"), ("q", "contextual")]).await;
    assert_eq!(by_task.rows.len(), 1);
    assert_eq!(prompts(&app, &[("provider", "ollama")]).await.rows.len(), 0);

    let d = prompt(&app, "relationship_health").await;
    assert_eq!(
        (d.newest, d.shown.ai_model.as_str()),
        (1, "gpt-5.2-instant")
    );
    assert_eq!(d.tier, "fast");
    let form = PromptForm {
        name: d.name.clone(),
        base_version: "1".into(),
        description: "Health check".into(),
        system_prompt: d.shown.system_prompt.clone(),
        template: d.shown.template.clone(),
        ai_model: "gpt-5.2".into(),
        max_tokens: "400".into(),
        temperature: "0.2".into(),
        note: "Better model".into(),
        label: "production".into(),
    };
    // Validation the server does: catalog, placeholders, concurrency.
    let bad = |f: PromptForm| {
        let app = &app;
        async move { app.submit::<_, PromptSaved>("save_prompt", &f).await }
    };
    for (f, field) in [
        (
            PromptForm {
                ai_model: "gpt-5.1".into(),
                ..form.clone()
            },
            "ai_model",
        ),
        (
            PromptForm {
                ai_model: "nope".into(),
                ..form.clone()
            },
            "ai_model",
        ),
        (
            PromptForm {
                template: "{{secrets}}".into(),
                ..form.clone()
            },
            "template",
        ),
        (
            PromptForm {
                base_version: "7".into(),
                ..form.clone()
            },
            "base_version",
        ),
    ] {
        match bad(f).await {
            Err((422, AppError::Validation { field: got, .. })) => assert_eq!(got, field),
            other => panic!("expected a {field} error, got {other:?}"),
        }
    }
    let saved: PromptSaved = app.submit("save_prompt", &form).await.expect("saved");
    assert_eq!(saved.version, 2);
    let row = prompts(&app, &[("q", "relationship")]).await.rows.remove(0);
    assert_eq!(
        (row.version, row.model.id.as_str(), row.builtin),
        (2, "gpt-5.2", false)
    );

    // The other workspace still runs the built-in version.
    let globex = app.another_browser();
    globex.sign_in_as("admin@globex.test").await;
    let theirs = prompts(&globex, &[("q", "relationship")])
        .await
        .rows
        .remove(0);
    assert_eq!(
        (theirs.version, theirs.model.id.as_str()),
        (1, "gpt-5.2-instant")
    );
    assert_eq!(prompt(&globex, "relationship_health").await.newest, 1);

    // Diff, then roll back by moving the label.
    let diff: Vec<(char, String)> = answer(
        app.call(
            "diff_prompt_versions",
            &[("name", "relationship_health"), ("from", "1"), ("to", "2")],
        )
        .await,
    )
    .await
    .expect("diff");
    assert!(
        diff.contains(&('-', "model: gpt-5.2-instant".into())),
        "{diff:?}"
    );
    assert!(diff.contains(&('+', "model: gpt-5.2".into())));
    let moved: PromptSaved = answer(
        app.call(
            "move_prompt_label",
            &[
                ("name", "relationship_health"),
                ("label", "production"),
                ("version", "1"),
            ],
        )
        .await,
    )
    .await
    .expect("rolled back");
    assert_eq!(moved.version, 1);
    let row = prompts(&app, &[("q", "relationship")]).await.rows.remove(0);
    assert_eq!((row.version, row.model.id.as_str()), (1, "gpt-5.2-instant"));
    let mut conn = owner(&app).await;
    let actions: Vec<String> = sqlx::query_scalar(
        "select action from audit_log where tenant_id = $1 and target = 'relationship_health' order by id",
    )
    .bind(TENANTS[0].id)
    .fetch_all(&mut conn)
    .await
    .expect("audit");
    assert_eq!(
        actions,
        [
            "prompt.version_saved",
            "prompt.label_moved",
            "prompt.label_moved"
        ]
    );
    // Versions are immutable, even to the database owner.
    let err =
        sqlx::query("update ai_prompts set max_tokens = 1 where name = 'relationship_health'")
            .execute(&mut conn)
            .await
            .expect_err("immutable");
    assert!(err.to_string().contains("immutable"), "{err}");

    // QA reads prompts but cannot save; a rep cannot read them.
    let qa = app.another_browser();
    qa.sign_in_as("qa@acme.test").await;
    assert_eq!(prompt(&qa, "relationship_health").await.newest, 2);
    assert!(matches!(
        qa.submit::<_, PromptSaved>("save_prompt", &form).await,
        Err((403, _))
    ));
}

async fn route(
    gateway: &Gateway,
    app: &TestApp,
    scope: Scope,
    task: TaskKind,
    prompt: Option<(&str, &str)>,
) -> app::ai::gateway::Routed {
    let mut tx = tenancy::begin(&app.pool, scope).await.expect("tx");
    let q = RouteQuery {
        task,
        prompt,
        subject: None,
    };
    let routed = gateway
        .resolve(&mut tx, scope, q)
        .await
        .expect("db")
        .expect("routed");
    tx.commit().await.expect("commit");
    routed
}

#[sqlx::test(migrations = false)]
async fn every_level_of_the_resolution_order_and_the_budget_steps(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    // A remote endpoint is configured (never called), so remote models are not swapped for
    // the local one.
    let app = spawn_app_with(db.clone(), &[("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")]).await;
    let gw = app.state.ai.clone();
    let acme = TENANTS[0].id;
    let mut conn = owner(&app).await;
    let user: Uuid = sqlx::query_scalar("select id from users where email = 'manager@acme.test'")
        .fetch_one(&mut conn)
        .await
        .expect("user");
    let scope = Scope {
        tenant_id: acme,
        user_id: user,
    };
    let prompt = Some(("relationship_health", "gpt-5.1-instant"));
    let r = route(&gw, &app, scope, TaskKind::Summary, None).await;
    assert_eq!(
        (r.resolution.level, r.model.as_str()),
        (Level::TierDefault, "gpt-5.2-instant")
    );
    let r = route(&gw, &app, scope, TaskKind::Summary, prompt).await;
    assert_eq!(
        (r.resolution.level, r.model.as_str()),
        (Level::Prompt, "gpt-5.1-instant")
    );
    sqlx::query(
        "insert into ai_workspace_settings (tenant_id, fast_model) values ($1, 'gpt-3.5-turbo')",
    )
    .bind(acme)
    .execute(&mut conn)
    .await
    .expect("workspace");
    let r = route(&gw, &app, scope, TaskKind::Summary, prompt).await;
    assert_eq!(
        (r.resolution.level, r.model.as_str()),
        (Level::Workspace, "gpt-3.5-turbo")
    );
    sqlx::query("insert into ai_user_settings (tenant_id, user_id, fast_model) values ($1, $2, 'gpt-5.2-instant')")
        .bind(acme)
        .bind(user)
        .execute(&mut conn)
        .await
        .expect("user");
    let r = route(&gw, &app, scope, TaskKind::Summary, prompt).await;
    assert_eq!(
        (r.resolution.level, r.model.as_str()),
        (Level::User, "gpt-5.2-instant")
    );
    assert_eq!(r.tag.routed_by.as_deref(), Some("user"));
    // An experiment on the prompt sending 99% to a candidate: this user lands there unless
    // their bucket is the one left out; the assignment is the same every time.
    let experiment = Uuid::new_v4();
    sqlx::query(
        "insert into ai_experiments (tenant_id, id, prompt_name, candidate_model, percent, sticky_by)
         values ($1, $2, 'relationship_health', 'gpt-5.2', 99, 'user')",
    )
    .bind(acme)
    .bind(experiment)
    .execute(&mut conn)
    .await
    .expect("experiment");
    let r = route(&gw, &app, scope, TaskKind::Summary, prompt).await;
    let in_candidate = app::ai::routing::in_candidate(experiment.as_bytes(), user.as_bytes(), 99);
    assert_eq!(r.tag.experiment_id, Some(experiment));
    if in_candidate {
        assert_eq!(
            (r.resolution.level, r.model.as_str(), r.tag.arm),
            (Level::Experiment, "gpt-5.2", Some("candidate"))
        );
    } else {
        assert_eq!(
            (r.resolution.level, r.tag.arm),
            (Level::User, Some("control"))
        );
    }
    assert_eq!(
        route(&gw, &app, scope, TaskKind::Summary, prompt).await,
        r,
        "sticky"
    );

    // The budget: at 80% a default task steps down to the fast tier, at 100% to the local model.
    sqlx::query("update ai_workspace_settings set monthly_budget_usd = 1.00 where tenant_id = $1")
        .bind(acme)
        .execute(&mut conn)
        .await
        .expect("budget");
    sqlx::query(
        "insert into ai_calls (tenant_id, task_kind, requested_model, model, provider, status, latency_ms, cost_usd)
         values ($1, 'research', 'gpt-5.2', 'gpt-5.2', 'openai', 'ok', 10, 0.85)",
    )
    .bind(acme)
    .execute(&mut conn)
    .await
    .expect("spend");
    gw.forget_spend(acme);
    let r = route(&gw, &app, scope, TaskKind::Communication, None).await;
    assert_eq!(
        (r.resolution.budget, r.model.as_str()),
        (BudgetStep::Cheaper, "gpt-5.2-instant")
    );
    assert_eq!(r.resolution.chosen, "gpt-5.2");
    assert_eq!(r.tag.routed_by.as_deref(), Some("tier_default+budget"));
    sqlx::query(
        "insert into ai_calls (tenant_id, task_kind, requested_model, model, provider, status, latency_ms, cost_usd)
         values ($1, 'research', 'gpt-5.2', 'gpt-5.2', 'openai', 'ok', 10, 0.20)",
    )
    .bind(acme)
    .execute(&mut conn)
    .await
    .expect("spend");
    gw.forget_spend(acme);
    let r = route(&gw, &app, scope, TaskKind::Research, None).await;
    assert_eq!(
        (r.resolution.budget, r.model.as_str()),
        (BudgetStep::Local, "local/smollm2-135m-instruct")
    );

    // The operator's emergency override beats everything, the budget included.
    let overridden = spawn_app_with(
        db,
        &[
            ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1"),
            ("SMARTCRM_OVERRIDE_FAST_MODEL", "gpt-5.1-instant"),
        ],
    )
    .await;
    let r = route(
        &overridden.state.ai,
        &overridden,
        scope,
        TaskKind::Summary,
        prompt,
    )
    .await;
    assert_eq!(
        (r.resolution.level, r.model.as_str(), r.tag.arm),
        (Level::Override, "gpt-5.1-instant", None)
    );
}
