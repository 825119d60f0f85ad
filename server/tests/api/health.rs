use crate::helpers::spawn_app;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test(migrations = false)]
async fn healthz_answers_ok(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.expect("body"), "ok");
}

#[sqlx::test(migrations = false)]
async fn readyz_is_ready_once_migrations_are_applied(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.expect("body"), "ready");
}

#[sqlx::test(migrations = false)]
async fn readyz_reports_unready_when_the_database_is_gone(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    app.pool.close().await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 503);
}

#[sqlx::test(migrations = false)]
async fn every_response_carries_a_request_id(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let res = app.get("/healthz").await;
    let id = res
        .headers()
        .get("x-request-id")
        .expect("x-request-id")
        .to_str()
        .expect("ascii");
    assert_eq!(id.len(), 36, "a UUID: {id}");
}
