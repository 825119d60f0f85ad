//! Templates over HTTP: the list's filters, versions (immutable, activated, rolled back,
//! diffed), placeholder checking, built-ins copied rather than changed, roles, workspaces, and a
//! preview that is exactly the prompt the worker sent.
use crate::{
    helpers::{spawn_app, TestApp},
    pipeline::{app, create_task, drain, good_draft, instructions, mock_drafts, scope, settings},
};
use app::{
    error::AppError,
    pipeline::{
        db::work::best_template,
        templates::{
            form::TemplateForm, Preview, SampleEvent, TemplateDetail, TemplateDiff, TemplatesPage,
            VersionSaved,
        },
    },
    ssr::tenancy,
};
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;
use wiremock::MockServer;

async fn list(app: &TestApp, args: &[(&str, &str)]) -> TemplatesPage {
    let res = app.call("load_templates", args).await;
    assert_eq!(res.status(), 200, "load_templates {args:?}");
    res.json().await.expect("json")
}

async fn detail(app: &TestApp, id: Uuid, version: Option<i32>) -> TemplateDetail {
    let v = version.map(|v| v.to_string()).unwrap_or_default();
    let mut args = vec![("id", id.to_string())];
    if !v.is_empty() {
        args.push(("version", v));
    }
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = app.call("get_template", &args).await;
    assert_eq!(res.status(), 200, "get_template");
    res.json().await.expect("json")
}

async fn save(app: &TestApp, form: &TemplateForm) -> Result<VersionSaved, (u16, AppError)> {
    app.submit("save_template", form).await
}

fn form(body: &str) -> TemplateForm {
    TemplateForm {
        name: "Dental recall email".into(),
        output_type: "email".into(),
        industry: "Dentistry".into(),
        purpose: "reminder".into(),
        body: body.into(),
        guidelines: "Warm, short, one action.".into(),
        note: "First draft".into(),
        ..Default::default()
    }
}

async fn activate(app: &TestApp, id: Uuid, version: i32) -> u16 {
    app.call(
        "activate_template",
        &[("id", &id.to_string()), ("version", &version.to_string())],
    )
    .await
    .status()
    .as_u16()
}

#[sqlx::test(migrations = false)]
async fn versions_are_immutable_activated_rolled_back_and_diffed_and_the_worker_uses_the_live_one(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    app.sign_in_as("manager@acme.test").await;
    let all = list(&app, &[]).await;
    assert!(all.can_edit && all.rows.iter().filter(|r| r.builtin).count() >= 6);
    let emails = list(&app, &[("output_type", "email")]).await;
    assert!(!emails.rows.is_empty() && emails.rows.iter().all(|r| r.output_type == "email"));

    // An unknown placeholder is a field error listing the ones available.
    let (status, err) = save(&app, &form("Hi {{first_name}}, {{promo_code}} awaits."))
        .await
        .expect_err("unknown");
    assert_eq!(status, 422);
    let message = err.field_message("body").expect("body error");
    assert!(
        message.contains("{{promo_code}}")
            && message.contains("Available: business_name, first_name"),
        "{message}"
    );

    // Created as a draft: nothing is live until a version is activated.
    let v1 = save(
        &app,
        &form("Hi {{first_name}}, time for your check-up. {{call_to_action}}"),
    )
    .await
    .expect("v1");
    assert_eq!((v1.version, v1.activated), (1, false));
    let drafts = list(&app, &[("status", "draft")]).await;
    assert!(drafts.rows.iter().any(|r| r.id == v1.id));
    let d = detail(&app, v1.id, None).await;
    assert_eq!(
        (d.status.as_str(), d.shown.placeholders.clone()),
        (
            "draft",
            vec!["first_name".to_owned(), "call_to_action".into()]
        )
    );

    // Version 2, saved and made live at once.
    let mut next = TemplateForm::of(Some(v1.id), 1, &d.shown);
    next.body =
        "Hi {{first_name}}, your six-monthly check-up is due. {{call_to_action}} {{sign_off}}"
            .into();
    next.note = "Say when".into();
    next.activate = Some("on".into());
    let v2 = save(&app, &next).await.expect("v2");
    assert_eq!((v2.version, v2.activated), (2, true));
    // The same form again is on an old base; unchanged content writes nothing.
    let (_, err) = save(&app, &next).await.expect_err("stale");
    assert!(
        err.to_string()
            .contains("Version 2 was saved after you opened version 1"),
        "{err}"
    );
    let d2 = detail(&app, v1.id, None).await;
    let unchanged = TemplateForm::of(Some(v1.id), 2, &d2.shown);
    let (_, err) = save(&app, &unchanged).await.expect_err("nothing changed");
    assert!(
        err.to_string().contains("Nothing changed since version 2"),
        "{err}"
    );
    assert_eq!((d2.status.as_str(), d2.active_version), ("active", Some(2)));
    assert_eq!(
        list(&app, &[("industry", "Dentistry"), ("status", "active")])
            .await
            .rows
            .len(),
        1
    );

    // The diff shows the body's old and new lines.
    let res = app
        .call(
            "compare_template_versions",
            &[("id", &v1.id.to_string()), ("from", "1"), ("to", "2")],
        )
        .await;
    let diff: TemplateDiff = res.json().await.expect("diff");
    assert!(
        diff.lines
            .iter()
            .any(|l| l.tag == '-' && l.text.contains("time for your check-up")),
        "{diff:?}"
    );
    assert!(
        diff.lines
            .iter()
            .any(|l| l.tag == '+' && l.text.contains("six-monthly")),
        "{diff:?}"
    );
    assert!(
        diff.lines
            .iter()
            .any(|l| l.tag == ' ' && l.text == "Industry: Dentistry"),
        "{diff:?}"
    );

    // The worker drafts from the live version; a rollback makes it v1 again.
    let live = |app: &TestApp| {
        let pool = app.pool.clone();
        async move {
            let mut tx = tenancy::begin(&pool, scope(0)).await.expect("tx");
            let t = best_template(&mut tx, "email", "Dentistry")
                .await
                .expect("query")
                .expect("a template");
            (t.id, t.version, t.body)
        }
    };
    assert_eq!(live(&app).await.1, 2);
    assert_eq!(activate(&app, v1.id, 1).await, 200);
    let (id, version, body) = live(&app).await;
    assert_eq!((id, version), (v1.id, 1));
    assert!(body.contains("time for your check-up"));
    assert_eq!(
        detail(&app, v1.id, None).await.latest_version,
        2,
        "a rollback writes no version"
    );

    // Versions cannot be changed, even by SQL: the app's role may not update them, and a
    // trigger refuses it to the owner too.
    let mut tx = tenancy::begin(&app.pool, scope(0)).await.expect("tx");
    let err = sqlx::query("update content_template_versions set body = 'x' where template_id = $1")
        .bind(v1.id)
        .execute(&mut *tx)
        .await
        .expect_err("immutable");
    assert!(err.to_string().contains("permission denied"), "{err}");
    drop(tx);
    let owner = sqlx::PgPool::connect_with(app.owner.clone())
        .await
        .expect("owner pool");
    let err = sqlx::query("update content_template_versions set body = 'x' where template_id = $1")
        .bind(v1.id)
        .execute(&owner)
        .await
        .expect_err("immutable");
    assert!(err.to_string().contains("immutable"), "{err}");

    // Each change is in the audit log, about the template.
    let admin = app.another_browser();
    admin.sign_in_as("admin@acme.test").await;
    let log: app::audit::AuditPage = admin
        .call("list_audit", &[])
        .await
        .json()
        .await
        .expect("json");
    let actions: Vec<&str> = log
        .entries
        .iter()
        .filter(|e| e.link.as_deref() == Some(&format!("/templates/{}", v1.id)))
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "template.rolled_back",
            "template.activated",
            "template.version_saved",
            "template.version_saved"
        ]
    );
}

#[sqlx::test(migrations = false)]
async fn built_ins_are_copied_not_changed_and_roles_and_workspaces_are_enforced(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    app.sign_in_as("manager@acme.test").await;
    let builtin = list(&app, &[("output_type", "sms")])
        .await
        .rows
        .into_iter()
        .find(|r| r.builtin)
        .expect("built-in SMS");
    let d = detail(&app, builtin.id, None).await;
    assert!(d.builtin && d.can_edit);
    // Saving a built-in by its id is refused; the editor's copy (no id) is the workspace's own.
    let mut changed = TemplateForm::of(Some(builtin.id), d.latest_version, &d.shown);
    changed.body.push_str(" {{website}}");
    assert_eq!(save(&app, &changed).await.expect_err("built-in").0, 404);
    let copy = TemplateForm {
        id: String::new(),
        activate: Some("on".into()),
        ..changed
    };
    let mine = save(&app, &copy).await.expect("copy");
    assert_ne!(mine.id, builtin.id);
    assert!(!detail(&app, mine.id, None).await.builtin);
    assert_eq!(
        activate(&app, builtin.id, 1).await,
        404,
        "a built-in cannot be (de)activated"
    );

    let qa = app.another_browser();
    qa.sign_in_as("qa@acme.test").await;
    assert!(!list(&qa, &[]).await.can_edit);
    assert!(!detail(&qa, mine.id, None).await.can_edit);
    assert_eq!(
        save(&qa, &form("Hi {{first_name}}"))
            .await
            .expect_err("qa")
            .0,
        403
    );
    assert_eq!(activate(&qa, mine.id, 1).await, 403);
    let rep = app.another_browser();
    rep.sign_in_as("rep@acme.test").await;
    assert_eq!(rep.call("load_templates", &[]).await.status(), 403);

    let globex = app.another_browser();
    globex.sign_in_as("admin@globex.test").await;
    assert!(list(&globex, &[])
        .await
        .rows
        .iter()
        .all(|r| r.id != mine.id));
    assert_eq!(
        globex
            .call("get_template", &[("id", &mine.id.to_string())])
            .await
            .status(),
        404
    );
    assert_eq!(activate(&globex, mine.id, 1).await, 404);
    let mut theirs = TemplateForm::of(Some(mine.id), 1, &detail(&app, mine.id, None).await.shown);
    theirs.body = "Hi {{first_name}}".into();
    assert_eq!(
        save(&globex, &theirs).await.expect_err("other workspace").0,
        404
    );
    let res = globex
        .call(
            "compare_template_versions",
            &[("id", &mine.id.to_string()), ("from", "1"), ("to", "1")],
        )
        .await;
    assert_eq!(res.status(), 404);
    // Bad filters are named.
    let res = app.call("load_templates", &[("status", "deleted")]).await;
    assert_eq!(res.status(), 422);
}

/// The preview is not a copy of the worker's prompt building: for the task the worker just
/// drafted, it is the very system and user prompt the model received.
#[sqlx::test(migrations = false)]
async fn the_preview_is_exactly_the_prompt_the_worker_sent(_: PgPoolOptions, db: PgConnectOptions) {
    let provider = MockServer::start().await;
    let app = app(db, &provider).await;
    let t = create_task(&app, 0, instructions(70), 3, false).await;
    mock_drafts(&provider, &[good_draft(&t.customer)]).await;
    drain(&app.state.pipeline, &settings("w1")).await;

    let mut tx = tenancy::begin(&app.pool, scope(0)).await.expect("tx");
    let (template_id, version, customer): (Uuid, i32, Uuid) = sqlx::query_as(
        "select d.template_id, d.template_version, t.customer_id from project_deliverables d
           join project_tasks t on t.id = d.task_id where d.task_id = $1 and d.attempt = 1",
    )
    .bind(t.id)
    .fetch_one(&mut *tx)
    .await
    .expect("the draft records its template version");
    drop(tx);
    let sent: Vec<Value> = provider
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .filter(|r| r.url.path() == "/v1/chat/completions")
        .map(|r| serde_json::from_slice(&r.body).expect("json body"))
        .collect();
    assert_eq!(sent.len(), 1);
    let message = |role: &str| -> String {
        sent[0]["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .find(|m| m["role"] == role)
            .and_then(|m| m["content"].as_str())
            .expect("message")
            .to_owned()
    };

    app.sign_in_as("manager@acme.test").await;
    let res = app
        .call(
            "preview_template",
            &[
                ("id", &template_id.to_string()),
                ("version", &version.to_string()),
                ("customer_id", &customer.to_string()),
                ("task_id", &t.id.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let preview: Preview = res.json().await.expect("json");
    assert_eq!(preview.user, message("user"));
    assert_eq!(preview.system, message("system"));
    assert_eq!(preview.model, sent[0]["model"].as_str().expect("model"));

    // Without a task: a sample brief for the template's type; a customer is required.
    let res = app
        .call(
            "preview_template",
            &[
                ("id", &template_id.to_string()),
                ("version", &version.to_string()),
                ("customer_id", &customer.to_string()),
            ],
        )
        .await;
    let sample: Preview = res.json().await.expect("json");
    assert!(
        sample.brief.starts_with("A sample") && sample.user.contains(&t.customer),
        "{}",
        sample.brief
    );
    let res = app
        .call(
            "preview_template",
            &[
                ("id", &template_id.to_string()),
                ("version", &version.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    // Another workspace's task is not this customer's.
    let globex_task = create_task(&app, 1, instructions(70), 3, false).await;
    let res = app
        .call(
            "preview_template",
            &[
                ("id", &template_id.to_string()),
                ("version", &version.to_string()),
                ("customer_id", &customer.to_string()),
                ("task_id", &globex_task.id.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
}

async fn sample_events(app: &TestApp, args: &[(&str, &str)]) -> (u16, Vec<SampleEvent>) {
    let res = app.call("generate_sample", args).await;
    let status = res.status().as_u16();
    let body = res.text().await.expect("body");
    if status != 200 {
        return (status, Vec::new());
    }
    let events = body
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("an event"))
        .collect();
    (status, events)
}

/// A sample streams the draft, then its scores and the rules' decision; nothing is stored. A
/// provider that fails is reported with its name, the model and the time.
#[sqlx::test(migrations = false)]
async fn a_sample_streams_its_draft_scores_and_decision_and_stores_nothing(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    let app = app(db, &provider).await;
    let t = create_task(&app, 0, instructions(70), 3, false).await;
    mock_drafts(&provider, &[good_draft(&t.customer)]).await;
    app.sign_in_as("manager@acme.test").await;
    let template = list(&app, &[("output_type", "email")]).await.rows[0].id;
    let mut tx = tenancy::begin(&app.pool, scope(0)).await.expect("tx");
    let customer: Uuid = sqlx::query_scalar("select customer_id from project_tasks where id = $1")
        .bind(t.id)
        .fetch_one(&mut *tx)
        .await
        .expect("customer");
    drop(tx);
    let args = [
        ("id", template.to_string()),
        ("version", "1".to_owned()),
        ("customer_id", customer.to_string()),
        ("task_id", t.id.to_string()),
    ];
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, events) = sample_events(&app, &args).await;
    assert_eq!(status, 200);
    assert!(
        matches!(events.first(), Some(SampleEvent::Started { .. })),
        "{events:?}"
    );
    let text: String = events
        .iter()
        .filter_map(|e| match e {
            SampleEvent::Delta { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text.trim(), good_draft(&t.customer));
    match events.last() {
        Some(SampleEvent::Scored {
            quality, decision, ..
        }) => {
            assert!(quality.overall >= 70, "{quality:?}");
            assert_eq!(
                decision.action,
                app::pipeline::rules::RuleAction::Approve,
                "{decision:?}"
            );
        }
        other => panic!("no scores: {other:?}"),
    }
    let mut tx = tenancy::begin(&app.pool, scope(0)).await.expect("tx");
    let stored: i64 =
        sqlx::query_scalar("select count(*) from project_deliverables where task_id = $1")
            .bind(t.id)
            .fetch_one(&mut *tx)
            .await
            .expect("count");
    assert_eq!(stored, 0, "a sample is not a draft of the task");
    drop(tx);

    // QA may preview but not spend model calls.
    let qa = app.another_browser();
    qa.sign_in_as("qa@acme.test").await;
    assert_eq!(sample_events(&qa, &args).await.0, 403);

    // The provider down: the real failure, with provider, model and time.
    provider.reset().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(500).set_body_string("down"))
        .mount(&provider)
        .await;
    let (_, events) = sample_events(&app, &args).await;
    match events.last() {
        Some(SampleEvent::Failed {
            provider,
            model,
            message,
            ..
        }) => {
            assert!(
                !provider.is_empty() && !model.is_empty() && !message.is_empty(),
                "{events:?}"
            );
        }
        other => panic!("no failure: {other:?}"),
    }
}
