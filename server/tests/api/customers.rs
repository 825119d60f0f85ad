//! Customers and their business context over HTTP: the list's search, filters and pages; the
//! editor's validation, versions and audit diff; roles; tenant isolation; and the analyses that
//! renew when the context they were written from changes.
use crate::{
    ai::{analyze, app_with, first_contact, ok_stream},
    helpers::{spawn_app, TestApp},
};
use app::{
    analyses::AnalysisKind,
    audit::AuditPage,
    customers::{form::BusinessContextForm, CustomerDetail, CustomersPage, Saved},
    error::AppError,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;
use wiremock::{matchers::method, Mock, MockServer};

async fn customers(app: &TestApp, args: &[(&str, &str)]) -> CustomersPage {
    let res = app.call("load_customers", args).await;
    assert_eq!(res.status(), 200, "load_customers {args:?}");
    res.json().await.expect("json")
}

async fn detail(app: &TestApp, id: Uuid) -> CustomerDetail {
    let res = app.call("get_customer", &[("id", &id.to_string())]).await;
    assert_eq!(res.status(), 200, "get_customer");
    res.json().await.expect("json")
}

async fn save(app: &TestApp, form: &BusinessContextForm) -> reqwest::Response {
    app.post_form("save_business_context", form).await
}

async fn first_customer(app: &TestApp) -> CustomerDetail {
    let page = customers(app, &[]).await;
    detail(app, page.rows[0].id).await
}

#[sqlx::test(migrations = false)]
async fn the_list_searches_filters_and_pages_by_name(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    app.sign_in_as("qa@acme.test").await;
    let first = customers(&app, &[]).await;
    assert!(!first.rows.is_empty() && !first.industries.is_empty());
    let names: Vec<&str> = first.rows.iter().map(|r| r.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "by name");
    // A word from the middle of a name finds it; LIKE's wildcards are only characters.
    let target = &first.rows[0];
    let word = target.name.split_whitespace().last().expect("a word");
    let found = customers(&app, &[("q", word)]).await;
    assert!(found.rows.iter().any(|r| r.id == target.id), "{word}");
    assert!(customers(&app, &[("q", "%")]).await.rows.is_empty());
    // The industry filter keeps only that industry.
    let industry = &first.industries[0];
    let only = customers(&app, &[("industry", industry)]).await;
    assert!(!only.rows.is_empty());
    assert!(only.rows.iter().all(|r| &r.industry == industry));
    // "With open tasks" keeps only customers with one.
    let open = customers(&app, &[("open_tasks", "true")]).await;
    assert!(open.rows.iter().all(|r| r.open_tasks > 0), "{open:?}");
    // Paging: the next page starts after the last row, with no repeats.
    if let Some(after) = first.next_after {
        let second = customers(&app, &[("after", &after.to_string())]).await;
        assert!(second
            .rows
            .iter()
            .all(|r| !first.rows.iter().any(|f| f.id == r.id)));
    }
    let long = "x".repeat(101);
    let res = app.call("load_customers", &[("q", &long)]).await;
    assert_eq!(res.status(), 422);
}

#[sqlx::test(migrations = false)]
async fn a_manager_edits_the_context_and_the_audit_log_keeps_the_diff(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    app.sign_in_as("manager@acme.test").await;
    let before = first_customer(&app).await;
    assert!(before.can_edit);
    let id = before.customer.id;
    let mut form = BusinessContextForm::from_customer(&before.customer);
    let old_tone = form.tone.clone();
    form.tone = "Playful and bold".into();
    form.required_disclaimers = "Terms apply.".into();
    let res = save(&app, &form).await;
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let saved: Saved = res.json().await.expect("json");
    assert_eq!(saved.changed, ["Tone", "Required disclaimers"]);
    let after = detail(&app, id).await;
    assert_eq!(after.customer.brand_voice.tone, "Playful and bold");
    assert_eq!(
        after.customer.compliance.required_disclaimers,
        ["Terms apply."]
    );
    assert_eq!(saved.version, app::customers::version_of(&after.customer));

    // The same form again is stale: someone (here, the manager) saved since it was opened.
    let res = save(&app, &form).await;
    assert_eq!(res.status(), 422);
    let err: AppError = res.json().await.expect("json");
    assert!(err.to_string().contains("Someone else saved"), "{err}");
    // Saving again at the new version with nothing changed changes nothing.
    form.version = saved.version.clone();
    let same: Saved = save(&app, &form).await.json().await.expect("json");
    assert!(same.changed.is_empty());

    let admin = app.another_browser();
    admin.sign_in_as("admin@acme.test").await;
    let log: AuditPage = admin
        .call("list_audit", &[])
        .await
        .json()
        .await
        .expect("json");
    let entries: Vec<_> = log
        .entries
        .iter()
        .filter(|e| e.action == "customer.business_context_changed")
        .collect();
    assert_eq!(entries.len(), 1, "one audited change: {:?}", log.entries);
    let e = entries[0];
    assert_eq!(e.actor_name.as_deref(), Some("Morgan Manager"));
    assert_eq!(e.target.as_deref(), Some(before.customer.name.as_str()));
    assert_eq!(e.link.as_deref(), Some(format!("/customers/{id}").as_str()));
    assert_eq!(e.changes[0].field, "Tone");
    assert_eq!(
        (e.changes[0].from.as_str(), e.changes[0].to.as_str()),
        (old_tone.as_str(), "Playful and bold")
    );
}

#[sqlx::test(migrations = false)]
async fn bad_fields_come_back_together_and_nothing_is_saved(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    app.sign_in_as("manager@acme.test").await;
    let before = first_customer(&app).await;
    let others = customers(&app, &[]).await;
    let mut form = BusinessContextForm::from_customer(&before.customer);
    form.name = String::new();
    form.website = "not a site".into();
    form.phrases_to_use = "fresh start".into();
    form.phrases_to_avoid = "Fresh start".into();
    let res = save(&app, &form).await;
    assert_eq!(res.status(), 422);
    let AppError::Fields { errors } = res.json().await.expect("json") else {
        panic!("field errors expected")
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["name", "website", "phrases_to_avoid"]);
    // Another customer's name is taken.
    let mut form = BusinessContextForm::from_customer(&before.customer);
    form.name = others.rows[1].name.clone();
    let res = save(&app, &form).await;
    assert_eq!(res.status(), 422);
    let err: AppError = res.json().await.expect("json");
    assert_eq!(
        err.field_message("name").as_deref(),
        Some("Another customer in this workspace has this name.")
    );
    assert_eq!(
        detail(&app, before.customer.id).await.customer,
        before.customer
    );
}

#[sqlx::test(migrations = false)]
async fn qa_reads_reps_are_refused_and_other_workspaces_see_nothing(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    app.sign_in_as("manager@acme.test").await;
    let acme = first_customer(&app).await;
    let form = BusinessContextForm::from_customer(&acme.customer);

    let qa = app.another_browser();
    qa.sign_in_as("qa@acme.test").await;
    assert!(!detail(&qa, acme.customer.id).await.can_edit);
    assert_eq!(save(&qa, &form).await.status(), 403);

    let rep = app.another_browser();
    rep.sign_in_as("rep@acme.test").await;
    assert_eq!(rep.call("load_customers", &[]).await.status(), 403);
    let id = acme.customer.id.to_string();
    assert_eq!(rep.call("get_customer", &[("id", &id)]).await.status(), 403);
    assert_eq!(save(&rep, &form).await.status(), 403);

    let globex = app.another_browser();
    globex.sign_in_as("admin@globex.test").await;
    assert!(customers(&globex, &[])
        .await
        .rows
        .iter()
        .all(|r| r.id != acme.customer.id));
    assert_eq!(
        globex.call("get_customer", &[("id", &id)]).await.status(),
        404
    );
    let mut hostile = form.clone();
    hostile.tone = "Hijacked".into();
    assert_eq!(save(&globex, &hostile).await.status(), 404);
    assert_eq!(detail(&app, acme.customer.id).await.customer, acme.customer);
}

#[sqlx::test(migrations = false)]
async fn an_analysis_is_written_again_after_its_business_context_changes(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_stream(&["answer"]))
        .expect(2)
        .mount(&provider)
        .await;
    let app = app_with(db, &provider, &[]).await;
    let contact = first_contact(&app).await;
    let kind = AnalysisKind::SmartEngagementTips;
    analyze(&app, contact, kind, false).await;
    assert!(matches!(
        analyze(&app, contact, kind, false).await[0],
        app::analyses::AnalysisEvent::Cached { .. }
    ));
    let manager = app.another_browser();
    manager.sign_in_as("manager@acme.test").await;
    let scope = crate::pipeline::scope(0);
    let mut tx = app::ssr::tenancy::begin(&app.pool, scope)
        .await
        .expect("tx");
    let customer_id: Uuid = sqlx::query_scalar("select customer_id from contacts where id = $1")
        .bind(contact)
        .fetch_one(&mut *tx)
        .await
        .expect("customer");
    tx.commit().await.expect("commit");
    let current = detail(&manager, customer_id).await;
    let mut form = BusinessContextForm::from_customer(&current.customer);
    form.business_description = "Now also offers weekend appointments.".into();
    assert_eq!(save(&manager, &form).await.status(), 200);
    let renewed = analyze(&app, contact, kind, false).await;
    assert!(
        matches!(
            renewed.last(),
            Some(app::analyses::AnalysisEvent::Done { .. })
        ),
        "a changed business context is not served from the cache: {renewed:?}"
    );
}

/// A draft written before the business context changed says so on its task page.
#[sqlx::test(migrations = false)]
async fn a_draft_written_before_the_context_changed_is_marked_outdated(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    use crate::pipeline::{
        app, create_task, drain, good_draft, instructions, mock_drafts, settings,
    };
    let provider = MockServer::start().await;
    let app = app(db, &provider).await;
    let t = create_task(&app, 0, instructions(70), 3, false).await;
    mock_drafts(&provider, &[good_draft(&t.customer)]).await;
    drain(&app.state.pipeline, &settings("w1")).await;
    app.sign_in_as("manager@acme.test").await;
    assert!(!outdated(&app, t.id).await);
    let page = customers(&app, &[("q", &t.customer)]).await;
    let before = detail(&app, page.rows[0].id).await;
    let mut form = BusinessContextForm::from_customer(&before.customer);
    form.tone = "Calm and expert".into();
    assert_eq!(save(&app, &form).await.status(), 200);
    assert!(outdated(&app, t.id).await);
}

async fn outdated(app: &TestApp, task: Uuid) -> bool {
    let d: app::pipeline::model::TaskDetail = app
        .call("load_task_detail", &[("id", &task.to_string())])
        .await
        .json()
        .await
        .expect("detail");
    d.attempt_views[0].context_outdated
}
