use crate::helpers::spawn_app;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test(migrations = false)]
async fn the_sign_in_page_is_served_to_anyone(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let res = app.get_page("/sign-in").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.expect("body");
    assert!(html.contains("Sign in to SmartCRM"), "{html}");
    assert!(html.contains("/pkg/smartcrm.css"));
}

#[sqlx::test(migrations = false)]
async fn a_signed_out_visit_redirects_to_sign_in_and_remembers_the_page(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let res = app.get_page("/audit?before=7").await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/sign-in?next=/audit%3Fbefore%3D7")
    );
}

#[sqlx::test(migrations = false)]
async fn the_root_goes_to_the_dashboard(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    app.sign_in_as("qa@acme.test").await;
    let res = app.get_page("/").await;
    assert!(res.status().is_redirection());
    assert_eq!(
        res.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/dashboard")
    );
}

#[sqlx::test(migrations = false)]
async fn the_dashboard_renders_real_counts_on_the_server(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    app.sign_in_as("manager@acme.test").await;
    let res = app.get_page("/dashboard").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.expect("body");
    assert!(html.contains("Acme Growth"), "workspace name in the header");
    assert!(html.contains("Members"));
    assert!(
        html.contains("1 Admin · 1 Manager · 1 Sales rep · 1 QA"),
        "{html}"
    );
}

#[sqlx::test(migrations = false)]
async fn a_rep_opening_an_admin_page_gets_403_and_a_clear_message(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    app.sign_in_as("rep@acme.test").await;
    let res = app.get_page("/team").await;
    assert_eq!(res.status(), 403);
    let html = res.text().await.expect("body");
    assert!(html.contains("Not allowed"), "{html}");
    assert!(!html.contains("manager@acme.test"), "no member data leaks");
}

#[sqlx::test(migrations = false)]
async fn an_unknown_page_is_a_404(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    app.sign_in_as("admin@acme.test").await;
    let res = app.get_page("/no-such-page").await;
    assert_eq!(res.status(), 404);
    assert!(res.text().await.expect("body").contains("Page not found"));
}

#[sqlx::test(migrations = false)]
async fn a_signed_in_visit_to_sign_in_goes_to_the_dashboard(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    app.sign_in_as("admin@acme.test").await;
    let res = app.get_page("/sign-in").await;
    assert!(res.status().is_redirection());
    assert_eq!(
        res.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/dashboard")
    );
}
