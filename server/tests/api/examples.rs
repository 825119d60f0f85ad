//! Annotated examples over HTTP: validation, embedding on save (with the local model), edits
//! that keep or redo the vector, archiving, "find similar", the background pass and an admin's
//! re-embedding run, promotion of a delivered draft, roles and workspaces.
use crate::{
    helpers::{spawn_app, TestApp},
    pipeline::{app, create_task, drain, good_draft, instructions, mock_drafts, scope, settings},
};
use app::{
    error::AppError,
    pipeline::examples::{
        embedder, form::ExampleForm, ExampleDetail, ExampleSaved, ExamplesPage, SimilarResult,
    },
    ssr::tenancy,
};
use server::demo::TENANTS;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;
use wiremock::MockServer;

async fn list(app: &TestApp, args: &[(&str, &str)]) -> ExamplesPage {
    let res = app.call("load_examples", args).await;
    assert_eq!(res.status(), 200, "load_examples {args:?}");
    res.json().await.expect("json")
}

async fn detail(app: &TestApp, id: Uuid) -> ExampleDetail {
    let res = app.call("get_example", &[("id", &id.to_string())]).await;
    assert_eq!(res.status(), 200, "get_example");
    res.json().await.expect("json")
}

async fn save(app: &TestApp, form: &ExampleForm) -> Result<ExampleSaved, (u16, AppError)> {
    app.submit("save_example", form).await
}

async fn similar(app: &TestApp, q: &str, polarity: &str) -> SimilarResult {
    let res = app
        .call("find_similar_examples", &[("q", q), ("polarity", polarity)])
        .await;
    assert_eq!(res.status(), 200, "find_similar_examples");
    res.json().await.expect("json")
}

const PUSHY: &str =
    "LAST CHANCE!!! Our unbeatable offer ends at midnight, so buy now or regret it forever.";

fn negative() -> ExampleForm {
    ExampleForm {
        polarity: "negative".into(),
        output_type: "email".into(),
        purpose: "promotion".into(),
        content: PUSHY.into(),
        annotation: "Fake urgency and shouting; it pressures instead of helping.".into(),
        takeaways: "Avoid countdowns and capitals; give a real reason to act.".into(),
        ..Default::default()
    }
}

#[sqlx::test(migrations = false)]
async fn examples_are_validated_embedded_on_save_edited_found_by_similarity_and_archived(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    app.sign_in_as("manager@acme.test").await;
    let (status, err) = save(&app, &ExampleForm::default())
        .await
        .expect_err("empty");
    assert_eq!(status, 422);
    for field in ["polarity", "output_type", "content", "annotation"] {
        assert!(err.field_message(field).is_some(), "{field}: {err:?}");
    }

    let saved = save(&app, &negative()).await.expect("saved");
    let model = saved.embedded_with.clone().expect("embedded on save");
    let bad = list(&app, &[("polarity", "negative"), ("purpose", "promotion")]).await;
    assert!(bad
        .rows
        .iter()
        .any(|r| r.id == saved.id && r.embedding_model.as_deref() == Some(&model)));
    assert!(list(&app, &[("polarity", "positive")])
        .await
        .rows
        .iter()
        .all(|r| r.id != saved.id));

    // Found by similarity: a paraphrase puts it first, nearer than anything else.
    let found = similar(
        &app,
        "Hurry!!! This unbeatable deal ends tonight, buy now",
        "",
    )
    .await;
    assert_eq!(found.model, model);
    assert_eq!(found.found[0].id, saved.id, "{:?}", found.found);
    assert!(found
        .found
        .windows(2)
        .all(|w| w[0].distance <= w[1].distance));
    assert!(similar(&app, PUSHY, "positive")
        .await
        .found
        .iter()
        .all(|f| f.id != saved.id));

    // A new annotation keeps the vector; a new text makes a new one.
    let d = detail(&app, saved.id).await;
    let first_at = d.embedded_at.expect("embedded");
    let form = ExampleForm {
        annotation: "Pressure instead of help.".into(),
        ..d.form.clone()
    };
    save(&app, &form).await.expect("annotation");
    let d = detail(&app, saved.id).await;
    assert_eq!(d.embedded_at, Some(first_at));
    let (_, err) = save(&app, &form).await.expect_err("stale version");
    assert!(err.to_string().contains("Someone else saved"), "{err}");
    let form = ExampleForm {
        content: format!("{PUSHY} Reply STOP to stop."),
        ..d.form.clone()
    };
    save(&app, &form).await.expect("content");
    assert!(detail(&app, saved.id).await.embedded_at.expect("embedded") > first_at);

    // Archived, it is out of the list and the search, and its page is gone.
    let res = app
        .call("archive_example", &[("id", &saved.id.to_string())])
        .await;
    assert_eq!(res.status(), 200);
    assert!(list(&app, &[]).await.rows.iter().all(|r| r.id != saved.id));
    assert!(similar(&app, PUSHY, "")
        .await
        .found
        .iter()
        .all(|f| f.id != saved.id));
    assert_eq!(
        app.call("get_example", &[("id", &saved.id.to_string())])
            .await
            .status(),
        404
    );

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
        .filter(|e| e.action.starts_with("example."))
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "example.archived",
            "example.updated",
            "example.updated",
            "example.created"
        ]
    );
}

#[sqlx::test(migrations = false)]
async fn the_background_pass_embeds_missing_and_stale_vectors_and_an_admin_run_redoes_them_all(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let mut tx = tenancy::begin(&app.pool, scope(0)).await.expect("tx");
    sqlx::query(
        "insert into content_examples (tenant_id, output_type, polarity, content, annotation, embedding, embedding_model, embedded_at)
         values ($1, 'sms', 'positive', 'Your table for two is ready at 7pm.', 'Short', array_fill(0.1::real, array[384])::vector, 'an-old-model', now())",
    )
    .bind(TENANTS[0].id)
    .execute(&mut *tx)
    .await
    .expect("a vector of another model");
    tx.commit().await.expect("commit");

    app.sign_in_as("admin@acme.test").await;
    let before = list(&app, &[]).await.status;
    assert!(before.current < before.total, "{before:?}");
    let n = embedder::pass(&app.pool, &app.state.ai)
        .await
        .expect("pass");
    assert!(n >= 1);
    let after = list(&app, &[]).await.status;
    assert_eq!(after.current, after.total, "{after:?}");

    // An admin's run redoes them all, with progress; one run at a time; managers may not.
    let manager = app.another_browser();
    manager.sign_in_as("manager@acme.test").await;
    assert_eq!(manager.call("reembed_examples", &[]).await.status(), 403);
    let res = app.call("reembed_examples", &[]).await;
    assert_eq!(res.status(), 200);
    let total: i32 = res.json().await.expect("total");
    assert_eq!(i64::from(total), after.total);
    assert_eq!(app.call("reembed_examples", &[]).await.status(), 422);
    let running = list(&app, &[]).await.status;
    let run = running.run.clone().expect("a run");
    assert!(
        run.finished_at.is_none() && running.current == 0,
        "{running:?}"
    );
    embedder::pass(&app.pool, &app.state.ai)
        .await
        .expect("pass");
    let done = list(&app, &[]).await.status;
    let run = done.run.expect("the run");
    assert!(run.finished_at.is_some(), "{run:?}");
    assert_eq!((run.done, done.current), (i64::from(total), done.total));
}

#[sqlx::test(migrations = false)]
async fn a_delivered_draft_is_promoted_once_and_roles_and_workspaces_hold(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    let app = app(db, &provider).await;
    let t = create_task(&app, 0, instructions(70), 3, false).await;
    mock_drafts(&provider, &[good_draft(&t.customer)]).await;
    drain(&app.state.pipeline, &settings("w1")).await;
    let mut tx = tenancy::begin(&app.pool, scope(0)).await.expect("tx");
    let delivered: Uuid = sqlx::query_scalar(
        "select id from project_deliverables where task_id = $1 and delivered_at is not null",
    )
    .bind(t.id)
    .fetch_one(&mut *tx)
    .await
    .expect("delivered");
    drop(tx);

    app.sign_in_as("manager@acme.test").await;
    let res = app
        .call(
            "promote_deliverable",
            &[("deliverable_id", &delivered.to_string())],
        )
        .await;
    assert_eq!(res.status(), 200);
    let promoted: ExampleSaved = res.json().await.expect("json");
    let d = detail(&app, promoted.id).await;
    assert_eq!(
        (
            d.form.polarity.as_str(),
            d.form.output_type.as_str(),
            d.from_task
        ),
        ("positive", "email", Some(t.id))
    );
    assert!(d.form.content.contains(&t.customer) && !d.form.customer_id.is_empty());
    let res = app
        .call(
            "promote_deliverable",
            &[("deliverable_id", &delivered.to_string())],
        )
        .await;
    assert_eq!(res.status(), 422, "only once");
    let res = app
        .call(
            "promote_deliverable",
            &[("deliverable_id", &Uuid::new_v4().to_string())],
        )
        .await;
    assert_eq!(res.status(), 422);

    let qa = app.another_browser();
    qa.sign_in_as("qa@acme.test").await;
    assert!(!list(&qa, &[]).await.can_edit);
    assert!(!detail(&qa, promoted.id).await.can_edit);
    assert_eq!(save(&qa, &negative()).await.expect_err("qa").0, 403);
    assert_eq!(
        qa.call("archive_example", &[("id", &promoted.id.to_string())])
            .await
            .status(),
        403
    );
    let rep = app.another_browser();
    rep.sign_in_as("rep@acme.test").await;
    assert_eq!(rep.call("load_examples", &[]).await.status(), 403);

    let globex = app.another_browser();
    globex.sign_in_as("admin@globex.test").await;
    assert_eq!(
        globex
            .call("get_example", &[("id", &promoted.id.to_string())])
            .await
            .status(),
        404
    );
    assert_eq!(
        globex
            .call("archive_example", &[("id", &promoted.id.to_string())])
            .await
            .status(),
        404
    );
    let mut theirs = d.form.clone();
    theirs.annotation = "Mine now".into();
    assert_eq!(
        save(&globex, &theirs).await.expect_err("other workspace").0,
        404
    );
    let res = globex
        .call(
            "promote_deliverable",
            &[("deliverable_id", &delivered.to_string())],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(similar(&globex, &d.form.content, "")
        .await
        .found
        .iter()
        .all(|f| f.id != promoted.id));
}
