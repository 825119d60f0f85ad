//! Moving prompts between models in bulk and by legacy migration plans, over HTTP and on the
//! database: the cost forecast on known calls, apply in one transaction with its audit row and
//! summary, undo (and what it leaves when a label moved since), a plan's dry run, apply and
//! rollback over prompts, member and workspace settings, and the guard that rolls back.
use crate::{
    helpers::{owner, spawn_app, TestApp},
    rules::answer,
};
use app::{
    error::AppError,
    models::{
        form::PlanForm, BulkSummary, Forecast, PlansPage, PromptFilter, PromptsPage, Selection,
    },
};
use serde_json::json;
use server::demo::TENANTS;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

fn pick(names: &[&str]) -> Selection {
    Selection {
        names: names.iter().map(|n| (*n).to_owned()).collect(),
        all_matching: None,
    }
}

async fn forecast(
    app: &TestApp,
    sel: &Selection,
    target: &str,
) -> Result<Forecast, (u16, AppError)> {
    answer(
        app.call_json(
            "forecast_reassignment",
            &json!({ "selection": sel, "target": target }),
        )
        .await,
    )
    .await
}

async fn reassign(
    app: &TestApp,
    sel: &Selection,
    target: &str,
) -> Result<BulkSummary, (u16, AppError)> {
    answer(
        app.call_json(
            "reassign_prompts",
            &json!({ "selection": sel, "target": target }),
        )
        .await,
    )
    .await
}

async fn serving_model(app: &TestApp, name: &str) -> (String, i32, bool) {
    let page: PromptsPage = answer(app.call("load_prompts", &[("q", name)]).await)
        .await
        .expect("prompts");
    let row = page.rows.iter().find(|r| r.name == name).expect("listed");
    (row.model.id.clone(), row.version, row.builtin)
}

fn field_of(err: &AppError) -> String {
    match err {
        AppError::Validation { field, .. } => field.clone(),
        AppError::Fields { errors } => errors[0].field.clone(),
        other => format!("{other:?}"),
    }
}

#[sqlx::test(migrations = false)]
async fn bulk_reassignment_forecasts_applies_audits_and_undoes(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let (acme, globex) = (TENANTS[0].id, TENANTS[1].id);
    let mut conn = owner(&app).await;
    // Known calls: 10 recent ones of Smart Tips; older, cached and other-workspace calls that
    // the forecast must leave out.
    sqlx::query(
        "insert into ai_calls (tenant_id, task_kind, prompt_name, prompt_version, requested_model, model, provider,
                               status, latency_ms, prompt_tokens, completion_tokens, cost_usd, cache_hit, created_at)
         select t, 'communication', 'smart_engagement_tips', 1, 'gpt-5.2', 'gpt-5.2', 'openai', 'ok', 900,
                1000, 100, 0.01, cached, now() - make_interval(days => age)
         from (values ($1::uuid, false, 1), ($1, false, 2), ($1, false, 3), ($1, false, 4), ($1, false, 5),
                      ($1, false, 6), ($1, false, 7), ($1, false, 8), ($1, false, 9), ($1, false, 29),
                      ($1, false, 31), ($1, false, 45), ($1, true, 1), ($2, false, 1)) v(t, cached, age)",
    )
    .bind(acme)
    .bind(globex)
    .execute(&mut conn)
    .await
    .expect("calls");
    let (price_in, price_out): (f64, f64) = sqlx::query_as(
        "select input_cost_per_1k, output_cost_per_1k from ai_model_prices where model_id = 'gpt-5.2-instant'
         and effective_from <= now() order by effective_from desc limit 1",
    )
    .fetch_one(&mut conn)
    .await
    .expect("price");

    app.sign_in_as("admin@acme.test").await;
    let sel = pick(&[
        "smart_engagement_tips",
        "relationship_health",
        "contextual_research",
    ]);
    let f = forecast(&app, &sel, "gpt-5.2-instant")
        .await
        .expect("forecast");
    let tips = f
        .rows
        .iter()
        .find(|r| r.name == "smart_engagement_tips")
        .expect("tips");
    assert_eq!(tips.calls, 10);
    assert_eq!(
        (tips.prompt_tokens, tips.completion_tokens),
        (10_000, 1_000)
    );
    assert!((tips.cost_now - 0.1).abs() < 1e-9, "{}", tips.cost_now);
    let repriced = 10.0 * price_in + 1.0 * price_out;
    assert!(
        (tips.cost_target - repriced).abs() < 1e-9,
        "{} vs {repriced}",
        tips.cost_target
    );
    assert!((tips.delta() - (repriced - 0.1)).abs() < 1e-9);
    let health = f
        .rows
        .iter()
        .find(|r| r.name == "relationship_health")
        .expect("health");
    assert_eq!(health.skip.as_deref(), Some("already on that model"));
    assert_eq!(f.to_change(), 2);
    assert!((f.monthly_delta() - f.delta() / 30.0 * 365.25 / 12.0).abs() < 1e-12);

    // Validation: nothing selected, a legacy target, an unknown one.
    for (sel, target, field) in [
        (pick(&[]), "gpt-5.2", "selection"),
        (sel.clone(), "gpt-5.1", "target"),
        (sel.clone(), "no-such-model", "target"),
        (sel.clone(), "", "target"),
    ] {
        match forecast(&app, &sel, target).await {
            Err((422, e)) => assert_eq!(field_of(&e), field, "{target}"),
            other => panic!("{target}: expected a refusal, got {other:?}"),
        }
    }
    let too_many = Selection {
        names: (0..500).map(|i| format!("p{i}")).collect(),
        all_matching: None,
    };
    assert!(matches!(
        forecast(&app, &too_many, "gpt-5.2").await,
        Err((422, _))
    ));

    // Apply: two move, one is already there; one audit row names them.
    let done = reassign(&app, &sel, "gpt-5.2-instant")
        .await
        .expect("apply");
    assert_eq!(done.message, "2 updated, 1 skipped: already on that model.");
    assert_eq!(
        done.updated,
        vec!["contextual_research", "smart_engagement_tips"]
    );
    let (model, version, builtin) = serving_model(&app, "smart_engagement_tips").await;
    assert_eq!(
        (model.as_str(), version, builtin),
        ("gpt-5.2-instant", 2, false)
    );
    let detail: serde_json::Value = sqlx::query_scalar(
        "select detail from audit_log where tenant_id = $1 and action = 'prompt.bulk_reassigned'",
    )
    .bind(acme)
    .fetch_one(&mut conn)
    .await
    .expect("audit");
    assert_eq!(detail["updated"].as_array().map(Vec::len), Some(2));
    assert_eq!(detail["skipped"][0]["prompt"], "relationship_health");
    // The other workspace is untouched.
    let globex_admin = app.another_browser();
    globex_admin.sign_in_as("admin@globex.test").await;
    assert_eq!(
        serving_model(&globex_admin, "smart_engagement_tips")
            .await
            .0,
        "gpt-5.2"
    );

    // Select all within a filter: every prompt now on gpt-5.2-instant.
    let all = Selection {
        names: vec![],
        all_matching: Some(PromptFilter {
            model: Some("gpt-5.2-instant".into()),
            ..Default::default()
        }),
    };
    let f = forecast(&app, &all, "gpt-5.2").await.expect("forecast all");
    let mut names: Vec<&str> = f.rows.iter().map(|r| r.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "contextual_research",
            "relationship_health",
            "smart_engagement_tips"
        ]
    );

    // Undo: the previous versions serve again; undone once only; audited.
    let undone: BulkSummary = answer(
        app.call("undo_reassignment", &[("id", &done.id.to_string())])
            .await,
    )
    .await
    .expect("undo");
    assert_eq!(undone.updated.len(), 2, "{undone:?}");
    assert_eq!(
        serving_model(&app, "smart_engagement_tips").await,
        ("gpt-5.2".into(), 1, true)
    );
    assert_eq!(
        serving_model(&app, "contextual_research").await,
        ("gpt-5.2-thinking".into(), 1, true)
    );
    assert!(matches!(
        answer::<BulkSummary>(
            app.call("undo_reassignment", &[("id", &done.id.to_string())])
                .await
        )
        .await,
        Err((422, _))
    ));
    let undos: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where tenant_id = $1 and action = 'prompt.bulk_undone'",
    )
    .bind(acme)
    .fetch_one(&mut conn)
    .await
    .expect("audit");
    assert_eq!(undos, 1);

    // A label moved after the change is left as it is by the undo.
    let again = reassign(
        &app,
        &pick(&["smart_engagement_tips", "contextual_research"]),
        "gpt-5.2-instant",
    )
    .await
    .expect("apply again");
    answer::<serde_json::Value>(
        app.call(
            "move_prompt_label",
            &[
                ("name", "contextual_research"),
                ("label", "production"),
                ("version", "1"),
            ],
        )
        .await,
    )
    .await
    .expect("roll back by hand");
    let undone: BulkSummary = answer(
        app.call("undo_reassignment", &[("id", &again.id.to_string())])
            .await,
    )
    .await
    .expect("undo");
    assert_eq!(undone.updated, vec!["smart_engagement_tips"]);
    assert_eq!(
        undone.skipped,
        vec![("contextual_research".to_owned(), "changed since".to_owned())]
    );

    // Another workspace cannot undo it; managers and reps cannot reach any of it.
    assert!(matches!(
        answer::<BulkSummary>(
            globex_admin
                .call("undo_reassignment", &[("id", &again.id.to_string())])
                .await
        )
        .await,
        Err((404, _))
    ));
    for email in ["manager@acme.test", "rep@acme.test"] {
        let other = app.another_browser();
        other.sign_in_as(email).await;
        assert!(
            matches!(forecast(&other, &sel, "gpt-5.2").await, Err((403, _))),
            "{email}"
        );
        assert!(
            matches!(reassign(&other, &sel, "gpt-5.2").await, Err((403, _))),
            "{email}"
        );
        assert!(
            matches!(
                answer::<PlansPage>(other.call("load_model_plans", &[]).await).await,
                Err((403, _))
            ),
            "{email}"
        );
    }
}

fn upgrade_plan() -> PlanForm {
    PlanForm {
        name: "Upgrade to GPT-5.2".into(),
        mapping: vec![
            ("gpt-5.1".into(), "gpt-5.2".into()),
            ("gpt-5.1-instant".into(), "gpt-5.2-instant".into()),
            ("gpt-5.1-thinking".into(), "gpt-5.2-thinking".into()),
            ("gpt-4-turbo".into(), "".into()),
        ],
        guard_calls: "5".into(),
        guard_max_error_pct: "20".into(),
        guard_min_quality: "".into(),
        guard_auto_rollback: true,
    }
}

async fn settings(conn: &mut sqlx::PgConnection) -> (Option<String>, Option<String>) {
    let globex = TENANTS[1].id;
    let workspace: Option<String> =
        sqlx::query_scalar("select default_model from ai_workspace_settings where tenant_id = $1")
            .bind(globex)
            .fetch_one(&mut *conn)
            .await
            .expect("workspace");
    let member: Option<String> =
        sqlx::query_scalar("select fast_model from ai_user_settings where tenant_id = $1")
            .bind(globex)
            .fetch_one(&mut *conn)
            .await
            .expect("member");
    (workspace, member)
}

#[sqlx::test(migrations = false)]
async fn a_legacy_plan_dry_runs_applies_rolls_back_and_its_guard_rolls_back(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let globex = TENANTS[1].id;
    let mut conn = owner(&app).await;
    app.sign_in_as("admin@globex.test").await;

    // Validation: a legacy replacement, no name.
    let mut bad = upgrade_plan();
    bad.mapping[0].1 = "gpt-4-turbo".into();
    match answer::<uuid::Uuid>(
        app.call_json("create_model_plan", &json!({ "form": bad }))
            .await,
    )
    .await
    {
        Err((422, e)) => assert!(e.to_string().contains("legacy"), "{e}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let nameless = PlanForm {
        name: " ".into(),
        ..upgrade_plan()
    };
    match answer::<uuid::Uuid>(
        app.call_json("create_model_plan", &json!({ "form": nameless }))
            .await,
    )
    .await
    {
        Err((422, e)) => assert_eq!(field_of(&e), "name"),
        other => panic!("expected a refusal, got {other:?}"),
    }

    // The dry run lists the seeded legacy uses: a prompt, the workspace's and the admin's settings.
    let id: uuid::Uuid = answer(
        app.call_json("create_model_plan", &json!({ "form": upgrade_plan() }))
            .await,
    )
    .await
    .expect("plan");
    let page: PlansPage = answer(app.call("load_model_plans", &[]).await)
        .await
        .expect("plans");
    let plan = page.plans.iter().find(|p| p.id == id).expect("listed");
    assert_eq!(plan.status, "draft");
    let mut seen: Vec<(String, String, String, String)> = plan
        .changes
        .iter()
        .map(|c| {
            (
                c.target.clone(),
                c.tier.clone(),
                c.from.clone(),
                c.to.clone(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            (
                "prompt".into(),
                "".into(),
                "gpt-5.1-thinking".into(),
                "gpt-5.2-thinking".into()
            ),
            (
                "user_setting".into(),
                "fast".into(),
                "gpt-5.1-instant".into(),
                "gpt-5.2-instant".into()
            ),
            (
                "workspace_setting".into(),
                "default".into(),
                "gpt-5.1".into(),
                "gpt-5.2".into()
            ),
        ]
    );
    // A dry run changes nothing.
    assert_eq!(
        settings(&mut conn).await,
        (Some("gpt-5.1".into()), Some("gpt-5.1-instant".into()))
    );

    // Apply: all three in one go, with a backup tagged by the plan.
    let run = |rollback: bool| {
        let id = id.to_string();
        let app = &app;
        async move {
            answer::<String>(
                app.call(
                    "run_model_plan",
                    &[
                        ("id", id.as_str()),
                        ("rollback", if rollback { "true" } else { "false" }),
                    ],
                )
                .await,
            )
            .await
        }
    };
    assert_eq!(
        run(false).await.expect("apply"),
        "Applied: 3 changed. The guard watches the next 5 calls."
    );
    assert_eq!(
        settings(&mut conn).await,
        (Some("gpt-5.2".into()), Some("gpt-5.2-instant".into()))
    );
    assert_eq!(
        serving_model(&app, "contextual_research").await.0,
        "gpt-5.2-thinking"
    );
    let backups: i64 = sqlx::query_scalar("select count(*) from ai_model_backups where tenant_id = $1 and source = 'plan' and source_id = $2")
        .bind(globex)
        .bind(id)
        .fetch_one(&mut conn)
        .await
        .expect("backups");
    assert_eq!(backups, 3);
    assert!(
        matches!(run(false).await, Err((422, _))),
        "a plan applies once"
    );

    // Roll back: everything as it was, the pinned prompt version serving again.
    assert_eq!(
        run(true).await.expect("rollback"),
        "Rolled back: 3 restored."
    );
    assert_eq!(
        settings(&mut conn).await,
        (Some("gpt-5.1".into()), Some("gpt-5.1-instant".into()))
    );
    assert_eq!(
        serving_model(&app, "contextual_research").await,
        ("gpt-5.1-thinking".into(), 2, false)
    );
    let actions: Vec<String> = sqlx::query_scalar("select action from audit_log where tenant_id = $1 and action like 'model_plan.%' order by id")
        .bind(globex)
        .fetch_all(&mut conn)
        .await
        .expect("audit");
    assert_eq!(
        actions,
        [
            "model_plan.created",
            "model_plan.applied",
            "model_plan.rolled_back"
        ]
    );

    // The guard: a second plan, applied, then 5 failing calls on the new model trip it, and it
    // rolls itself back.
    let second: uuid::Uuid = answer(
        app.call_json("create_model_plan", &json!({ "form": upgrade_plan() }))
            .await,
    )
    .await
    .expect("plan");
    answer::<String>(
        app.call("run_model_plan", &[("id", &second.to_string())])
            .await,
    )
    .await
    .expect("apply");
    assert_eq!(
        app::models::plans::guard_sweep(&app.pool)
            .await
            .expect("sweep"),
        1
    );
    sqlx::query(
        "insert into ai_calls (tenant_id, task_kind, requested_model, provider, status, error, latency_ms)
         select $1, 'communication', 'gpt-5.2', 'openai', 'error', 'HTTP 500', 100 from generate_series(1, 5)",
    )
    .bind(globex)
    .execute(&mut conn)
    .await
    .expect("failures");
    app::models::plans::guard_sweep(&app.pool)
        .await
        .expect("sweep");
    let page: PlansPage = answer(app.call("load_model_plans", &[]).await)
        .await
        .expect("plans");
    let plan = page.plans.iter().find(|p| p.id == second).expect("listed");
    assert_eq!(
        (plan.status.as_str(), plan.guard_state.as_deref()),
        ("rolled_back", Some("tripped"))
    );
    assert!(
        plan.guard_note
            .as_deref()
            .unwrap_or_default()
            .contains("Error rate 100%"),
        "{:?}",
        plan.guard_note
    );
    assert_eq!(
        settings(&mut conn).await,
        (Some("gpt-5.1".into()), Some("gpt-5.1-instant".into()))
    );
    // Nothing left to watch.
    assert_eq!(
        app::models::plans::guard_sweep(&app.pool)
            .await
            .expect("sweep"),
        0
    );
}
