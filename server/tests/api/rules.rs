//! Decision-rule management over HTTP: validation as field errors, versions (activation,
//! rollback, diff) that the worker follows, test cases that block activation unless an admin
//! overrides, roles and workspaces. Simulations and shadow mode are in `rules_replay.rs`.
use crate::{
    helpers::TestApp,
    pipeline::{
        app, create_task, deliverables, drain, good_draft, instructions, mock_drafts, scope,
        settings, task,
    },
};
use app::{
    error::AppError,
    pipeline::{
        rulebook::{
            form::RuleForm, server_fns::BenchSetup, BenchRun, CaseResult, RuleDetail, RuleDiff,
            RuleSaved, RulesPage,
        },
        rules::sample_context,
    },
    ssr::tenancy,
};
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;
use wiremock::MockServer;

pub(crate) async fn answer<T: serde::de::DeserializeOwned>(
    res: reqwest::Response,
) -> Result<T, (u16, AppError)> {
    let status = res.status().as_u16();
    if status == 200 {
        Ok(res.json().await.expect("json"))
    } else {
        Err((status, res.json().await.expect("error")))
    }
}

pub(crate) async fn page(app: &TestApp) -> RulesPage {
    answer(app.call("load_rules_page", &[]).await)
        .await
        .expect("rules page")
}

pub(crate) async fn detail(app: &TestApp, id: Uuid) -> RuleDetail {
    answer(app.call("get_rule", &[("id", &id.to_string())]).await)
        .await
        .expect("rule")
}

/// The rule of this name in the list.
pub(crate) async fn named(app: &TestApp, name: &str) -> Uuid {
    let p = page(app).await;
    p.groups
        .iter()
        .flat_map(|g| &g.1)
        .find(|r| r.name == name)
        .map(|r| r.id)
        .unwrap_or_else(|| panic!("no rule {name}"))
}

/// The editor's form for `id` at its newest version, with the quality gate's threshold set.
pub(crate) async fn gate_form(app: &TestApp, id: Uuid, threshold: Value) -> RuleForm {
    let d = detail(app, id).await;
    let mut form = RuleForm::of(d.id, d.latest_version, &d.shown);
    form.condition = json!({"and": [{">=": [{"var": "quality.overall"}, threshold]}, {"var": "quality.compliance.passed"}]})
        .to_string();
    form.note = "Stricter gate".into();
    form
}

pub(crate) async fn save(app: &TestApp, form: &RuleForm) -> Result<RuleSaved, (u16, AppError)> {
    app.submit("save_rule", form).await
}

pub(crate) async fn activate(
    app: &TestApp,
    id: Uuid,
    version: i32,
    reason: Option<&str>,
) -> Result<Vec<CaseResult>, (u16, AppError)> {
    let (id, v) = (id.to_string(), version.to_string());
    let mut args = vec![("id", id.as_str()), ("version", v.as_str())];
    if let Some(r) = reason {
        args.push(("override_reason", r));
    }
    answer(app.call("activate_rule", &args).await).await
}

pub(crate) async fn save_case(
    app: &TestApp,
    name: &str,
    context: &Value,
    expected: &str,
) -> Result<Uuid, (u16, AppError)> {
    let context = context.to_string();
    answer(
        app.call(
            "save_rule_test_case",
            &[
                ("name", name),
                ("context", &context),
                ("expected", expected),
            ],
        )
        .await,
    )
    .await
}

pub(crate) fn context_at(overall: i64) -> Value {
    let mut c = sample_context();
    c["quality"]["overall"] = json!(overall);
    c
}

pub(crate) fn field_messages(e: &AppError) -> Vec<(String, String)> {
    match e {
        AppError::Fields { errors } => errors
            .iter()
            .map(|e| (e.field.clone(), e.message.clone()))
            .collect(),
        AppError::Validation { field, message } => vec![(field.clone(), message.clone())],
        other => panic!("not a field error: {other:?}"),
    }
}

#[sqlx::test(migrations = false)]
async fn a_condition_is_checked_at_save_and_each_problem_is_a_field_error(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    let app = app(db, &provider).await;
    app.sign_in_as("manager@acme.test").await;
    let base = RuleForm {
        name: "Long drafts".into(),
        category: "approval".into(),
        priority: "45".into(),
        action: "review".into(),
        ..Default::default()
    };
    let cases: Vec<(String, &str)> = vec![
        (
            "{\"<\": [{\"var\": \"deliverable.words\"} 300]}".into(),
            "The JSON breaks at line 1",
        ),
        (
            json!({"map": [{"var": "quality.compliance.failures"}, {"var": ""}]}).to_string(),
            "\"map\" is not an operator",
        ),
        (
            json!({">": [{"var": "deliverable.word"}, 300]}).to_string(),
            "Did you mean \"deliverable.words\"",
        ),
        (
            json!({">": [{"var": "deliverable.words"}, "x".repeat(17_000)]}).to_string(),
            "a rule may have at most 16 KiB",
        ),
        (
            (0..40).fold("true".to_owned(), |inner, _| {
                format!("{{\"!\": [{inner}]}}")
            }),
            "a rule may nest at most 32",
        ),
    ];
    for (condition, expected) in cases {
        let form = RuleForm {
            condition: condition.clone(),
            ..base.clone()
        };
        let (status, e) = save(&app, &form).await.expect_err("refused");
        assert_eq!(status, 422);
        let messages = field_messages(&e);
        assert!(
            messages
                .iter()
                .any(|(f, m)| f == "condition" && m.contains(expected)),
            "{expected}: {messages:?}"
        );
    }
    // Nothing was written.
    assert!(!page(&app)
        .await
        .groups
        .iter()
        .flat_map(|g| &g.1)
        .any(|r| r.name == "Long drafts"));
}

#[sqlx::test(migrations = false)]
async fn versions_are_activated_rolled_back_and_diffed_and_the_worker_follows_the_live_one(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    let app = app(db, &provider).await;
    app.sign_in_as("manager@acme.test").await;
    let builtin = named(&app, "Quality gate").await;
    assert!(detail(&app, builtin).await.builtin);

    // Changing a built-in makes the workspace's copy, a draft: the built-in still decides.
    let copy = save(&app, &gate_form(&app, builtin, json!(101)).await)
        .await
        .expect("copy");
    assert_ne!(copy.id, builtin);
    assert_eq!(copy.version, 1);
    let listed = page(&app).await;
    let row = listed
        .groups
        .iter()
        .flat_map(|g| &g.1)
        .find(|r| r.id == copy.id)
        .expect("copy listed");
    assert_eq!(
        (row.live_version, row.replaces.as_deref()),
        (None, Some("Quality gate"))
    );
    assert!(!listed
        .groups
        .iter()
        .flat_map(|g| &g.1)
        .any(|r| r.id == builtin));

    let t = create_task(&app, 0, instructions(70), 3, false).await;
    mock_drafts(&provider, &[good_draft(&t.customer)]).await;
    drain(&app.state.pipeline, &settings("w1")).await;
    assert_eq!(
        task(&app, t.id).await.state,
        "delivered",
        "the built-in gate approves"
    );

    // v1 (threshold 101) live: nothing passes the gate any more; v2 (threshold 50) then live;
    // then rolled back to v1.
    activate(&app, copy.id, 1, None).await.expect("activate v1");
    let v2 = save(&app, &gate_form(&app, copy.id, json!(50)).await)
        .await
        .expect("v2");
    assert_eq!(v2.version, 2);
    let diff: RuleDiff = answer(
        app.call(
            "compare_rule_versions",
            &[("id", &copy.id.to_string()), ("from", "1"), ("to", "2")],
        )
        .await,
    )
    .await
    .expect("diff");
    assert!(
        diff.lines
            .iter()
            .any(|l| l.tag == '-' && l.text.contains("101")),
        "{diff:?}"
    );
    assert!(
        diff.lines
            .iter()
            .any(|l| l.tag == '+' && l.text.contains("50")),
        "{diff:?}"
    );
    activate(&app, copy.id, 2, None).await.expect("activate v2");
    activate(&app, copy.id, 1, None)
        .await
        .expect("roll back to v1");
    let d = detail(&app, copy.id).await;
    assert_eq!((d.live_version, d.latest_version), (Some(1), 2));

    let t2 = create_task(&app, 0, instructions(70), 1, false).await;
    drain(&app.state.pipeline, &settings("w1")).await;
    let view = task(&app, t2.id).await;
    assert_ne!(view.state, "delivered", "v1 of the copy approves nothing");
    let trace = deliverables(&app, t2.id).await[0]
        .decision_trace
        .clone()
        .expect("trace");
    let gate = trace["trace"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["rule"] == "Quality gate")
        .expect("the gate ran")
        .clone();
    assert_eq!(
        (gate["rule_id"].as_str(), gate["version"].as_i64()),
        (Some(copy.id.to_string().as_str()), Some(1))
    );

    let mut tx = tenancy::begin(&app.pool, scope(0)).await.expect("tx");
    let actions: Vec<String> =
        sqlx::query_scalar("select action from audit_log where target_id = $1 order by at, action")
            .bind(copy.id)
            .fetch_all(&mut *tx)
            .await
            .expect("audit");
    for a in ["rule.version_saved", "rule.activated", "rule.rolled_back"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

#[sqlx::test(migrations = false)]
async fn a_failing_test_case_blocks_activation_and_only_an_admin_may_override_it(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    let app = app(db, &provider).await;
    let qa = app.another_browser();
    qa.sign_in_as("qa@acme.test").await;
    // QA keeps test cases and runs the bench, but does not edit rules.
    save_case(&qa, "A 78 passes the gate", &context_at(78), "approve")
        .await
        .expect("qa saves a case");
    let setup: BenchSetup = answer(qa.call("bench_start", &[]).await)
        .await
        .expect("bench");
    assert_eq!(setup.cases.len(), 1);
    assert!(setup.cases[0].1.passed, "the live rules approve a 78");
    let run: BenchRun = answer(
        qa.call(
            "run_rule_bench",
            &[("context", &context_at(60).to_string()), ("with", "live")],
        )
        .await,
    )
    .await
    .expect("bench run");
    assert_eq!(run.outcome, "retry");
    assert!(run
        .trace
        .iter()
        .any(|t| t.rule == "Low quality" && t.outcome == "matched"));
    assert!(
        run.trace
            .iter()
            .any(|t| t.sentence.contains("quality.overall 60")),
        "{:?}",
        run.trace
    );

    app.sign_in_as("manager@acme.test").await;
    let gate = named(&app, "Quality gate").await;
    let form = gate_form(&app, gate, json!(80)).await;
    assert_eq!(save(&qa, &form).await.expect_err("qa").0, 403);
    let saved = save(&app, &form).await.expect("save");
    assert_eq!(saved.cases.len(), 1);
    assert!(
        !saved.cases[0].passed && saved.cases[0].got == "review",
        "{:?}",
        saved.cases
    );

    let (status, e) = activate(&app, saved.id, 1, None)
        .await
        .expect_err("blocked");
    assert_eq!(status, 422);
    assert!(
        e.to_string()
            .contains("Activation blocked: 1 of 1 test cases fail"),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("\"A 78 passes the gate\" expects approve but gets review"),
        "{e}"
    );
    assert_eq!(
        activate(&app, saved.id, 1, Some("Seasonal push"))
            .await
            .expect_err("manager")
            .0,
        403
    );

    let admin = app.another_browser();
    admin.sign_in_as("admin@acme.test").await;
    assert_eq!(
        activate(&admin, saved.id, 1, Some("  "))
            .await
            .expect_err("empty reason")
            .0,
        422
    );
    activate(
        &admin,
        saved.id,
        1,
        Some("Seasonal push: stricter on purpose"),
    )
    .await
    .expect("override");
    assert_eq!(detail(&app, saved.id).await.live_version, Some(1));

    let mut tx = tenancy::begin(&app.pool, scope(0)).await.expect("tx");
    let detail: Value = sqlx::query_scalar(
        "select detail from audit_log where action = 'rules.activation_overridden' order by at desc limit 1",
    )
    .fetch_one(&mut *tx)
    .await
    .expect("override audited");
    let text = detail.to_string();
    assert!(
        text.contains("A 78 passes the gate") && text.contains("Seasonal push"),
        "{text}"
    );
}

#[sqlx::test(migrations = false)]
async fn roles_and_workspaces_keep_rules_and_test_cases_apart(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    let app = app(db, &provider).await;
    app.sign_in_as("manager@acme.test").await;
    save_case(&app, "Acme's case", &context_at(90), "approve")
        .await
        .expect("case");
    let gate = named(&app, "Quality gate").await;
    let ours = save(&app, &gate_form(&app, gate, json!(80)).await)
        .await
        .expect("draft");

    let rep = app.another_browser();
    rep.sign_in_as("rep@acme.test").await;
    assert_eq!(rep.call("load_rules_page", &[]).await.status(), 403);
    assert_eq!(
        rep.call("run_rule_bench", &[("context", "{}"), ("with", "live")])
            .await
            .status(),
        403
    );
    let anonymous = app.another_browser();
    assert_eq!(anonymous.call("load_rules_page", &[]).await.status(), 401);

    let globex = app.another_browser();
    globex.sign_in_as("admin@globex.test").await;
    assert_eq!(
        globex
            .call("get_rule", &[("id", &ours.id.to_string())])
            .await
            .status(),
        404
    );
    let theirs = page(&globex).await;
    assert!(!theirs
        .groups
        .iter()
        .flat_map(|g| &g.1)
        .any(|r| r.id == ours.id));
    assert!(
        theirs
            .groups
            .iter()
            .flat_map(|g| &g.1)
            .any(|r| r.id == gate),
        "they still see the built-in"
    );
    assert_eq!(theirs.test_cases, 0);
    let activate_theirs = activate(&globex, ours.id, 1, Some("not mine")).await;
    assert_eq!(activate_theirs.expect_err("not theirs").0, 404);

    // Row-level security alone hides Acme's rows from Globex's transactions.
    let mut tx = tenancy::begin(&app.pool, scope(1)).await.expect("tx");
    for table in [
        "ai_rule_test_cases",
        "ai_decision_rule_versions where tenant_id is not null",
        "ai_decision_rules where tenant_id is not null",
    ] {
        let n: i64 = sqlx::query_scalar(&format!("select count(*) from {table}"))
            .fetch_one(&mut *tx)
            .await
            .expect("count");
        assert_eq!(n, 0, "{table}");
    }
}
