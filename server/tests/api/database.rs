//! Least privilege and pool isolation: the app's login role, the private `users` table, the
//! separate session pool, and a request that never holds one connection while it waits for
//! more. Each test fails without the fix it names.
use crate::{
    ai::{app_with, first_contact, ok_stream, post_analyze},
    helpers::{databases, spawn_app_with, APP_LOGIN},
};
use app::analyses::{AnalysisEvent, AnalysisKind};
use leptos::prelude::LeptosOptions;
use server::{
    config::Settings,
    demo::TENANTS,
    startup,
    state::{self, Databases, StartupError},
};
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    Connection, Executor,
};
use std::time::{Duration, Instant};
use wiremock::{
    matchers::{method, path},
    Mock, MockServer,
};

fn settings() -> Settings {
    Settings::from_source(&[
        (
            "DATABASE_URL",
            "postgres://given-by-the-test@localhost/unused",
        ),
        ("SMARTCRM_MODELS_DIR", crate::helpers::models_dir().as_str()),
    ])
    .expect("settings")
}

async fn start(databases: Databases) -> Result<(), StartupError> {
    let options = LeptosOptions::builder().output_name("smartcrm").build();
    startup::build_with(databases, &settings(), options)
        .await
        .map(|_| ())
}

#[sqlx::test(migrations = false)]
async fn start_up_refuses_an_app_login_that_is_a_superuser(_: PgPoolOptions, db: PgConnectOptions) {
    // The test's own connection is the cluster's superuser.
    let err = start(Databases {
        app: db.clone(),
        owner: Some(db),
    })
    .await
    .expect_err("a superuser app login must be refused");
    let message = err.to_string();
    assert!(
        matches!(err, StartupError::PrivilegedLogin { .. }),
        "{message}"
    );
    assert!(message.contains("is a superuser"), "{message}");
    assert!(message.contains("SMARTCRM_OWNER_DATABASE_URL"), "{message}");
}

#[sqlx::test(migrations = false)]
async fn start_up_refuses_an_app_login_that_may_become_the_owner(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let mut owner = sqlx::PgConnection::connect_with(&db).await.expect("owner");
    let switcher = "smartcrm_test_switcher";
    owner
        .execute(
            format!(
                "do $$ begin
                   if not exists (select 1 from pg_roles where rolname = '{switcher}') then
                     create role {switcher} login password 'switch';
                   end if;
                 end $$;
                 grant {owner_role} to {switcher};",
                owner_role = db.get_username()
            )
            .as_str(),
        )
        .await
        .expect("a login that is a member of the owner");
    let err = start(Databases {
        app: db.clone().username(switcher).password("switch"),
        owner: Some(db.clone()),
    })
    .await
    .expect_err("a login that may switch to the owner must be refused");
    let message = err.to_string();
    assert!(
        message.contains("may become, the owner of the tables"),
        "{message}"
    );
    owner
        .execute(format!("revoke {} from {switcher}", db.get_username()).as_str())
        .await
        .expect("revoke");
}

#[sqlx::test(migrations = false)]
async fn with_only_the_app_url_the_schema_must_already_be_migrated(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let both = databases(db.clone()).await;
    state::migrate(&db, Some(APP_LOGIN)).await.expect("migrate");
    let mut owner = sqlx::PgConnection::connect_with(&db).await.expect("owner");
    owner
        .execute("delete from _sqlx_migrations where version = (select max(version) from _sqlx_migrations)")
        .await
        .expect("forget the newest migration");
    let err = start(Databases {
        app: both.app,
        owner: None,
    })
    .await
    .expect_err("an unmigrated schema must be refused");
    assert!(matches!(err, StartupError::NotMigrated(_)), "{err}");
    assert!(err.to_string().contains("smartcrm migrate"), "{err}");
}

#[sqlx::test(migrations = false)]
async fn the_app_role_cannot_become_the_owner_nor_read_other_workspaces_users(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app_with(db, &[]).await;
    let mut conn = app.pool.acquire().await.expect("connection");
    let (login, current): (String, String) =
        sqlx::query_as("select session_user::text, current_user::text")
            .fetch_one(&mut *conn)
            .await
            .expect("who");
    assert_eq!(
        (login.as_str(), current.as_str()),
        (APP_LOGIN, "smartcrm_app")
    );
    // Neither the owner nor the superuser is reachable from here.
    let switched = conn
        .execute(format!("set role {}", app.owner.get_username()).as_str())
        .await;
    assert!(switched.is_err(), "the app role switched to the owner");
    drop(conn);

    // No tenant: no user rows at all.
    let visible: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(visible, 0, "users visible with no workspace");

    // Scoped to Acme: Acme's members, and nobody from Globex.
    let scope = app::ssr::tenancy::Scope {
        tenant_id: TENANTS[0].id,
        user_id: uuid::Uuid::nil(),
    };
    let mut tx = app::ssr::tenancy::begin(&app.pool, scope)
        .await
        .expect("tx");
    let emails: Vec<String> = sqlx::query_scalar("select email from users order by email")
        .fetch_all(&mut *tx)
        .await
        .expect("emails");
    assert!(!emails.is_empty());
    assert!(
        emails.iter().all(|e| e.ends_with("@acme.test")),
        "{emails:?}"
    );
    let changed =
        sqlx::query("update users set display_name = 'x' where email = 'admin@globex.test'")
            .execute(&mut *tx)
            .await
            .expect("update");
    assert_eq!(
        changed.rows_affected(),
        0,
        "another workspace's user changed"
    );

    // Sign-in's one way in answers for one email, with nothing but the id and the hash.
    let found: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("select * from sign_in_credentials('admin@globex.test')")
            .fetch_all(&mut *tx)
            .await
            .expect("credentials");
    assert_eq!(found.len(), 1);
    assert!(found[0].1.starts_with("$argon2"));
    tx.rollback().await.expect("rollback");
    // ...and signing in still works.
    app.sign_in_as("admin@globex.test").await;
}

#[sqlx::test(migrations = false)]
async fn sign_in_and_sessions_work_while_the_main_pool_is_exhausted(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app_with(db, &[("SMARTCRM_DB_MAX_CONNECTIONS", "2")]).await;
    // AI or pipeline work holding every connection of the main pool.
    let held = [
        app.pool.acquire().await.expect("first"),
        app.pool.acquire().await.expect("second"),
    ];
    let started = Instant::now();
    let res = app.sign_in("rep@acme.test", server::demo::PASSWORD).await;
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
    // A page load reads the session (and redirects signed-in visitors away from sign-in).
    let res = app.get_page("/sign-in").await;
    assert_eq!(res.status(), 303);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "sign-in waited for the main pool: {:?}",
        started.elapsed()
    );
    drop(held);
}

#[sqlx::test(migrations = false)]
async fn analyses_do_not_hold_a_connection_while_the_context_builder_waits_for_more(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ok_stream(&["Call ", "them."]))
        .mount(&provider)
        .await;
    // Four connections: four analyses that each kept their authorising transaction open would
    // hold all of them while their context builders waited for more, until the acquire timeout.
    let app = app_with(db, &provider, &[("SMARTCRM_DB_MAX_CONNECTIONS", "4")]).await;
    let contact = first_contact(&app).await;
    let calls = (0..4).map(|i| {
        let app = &app;
        async move {
            let kind = AnalysisKind::ALL[i % 3];
            let res = post_analyze(app, contact, kind, i >= 3).await;
            let status = res.status();
            let body = res.text().await.unwrap_or_default();
            (status, body)
        }
    });
    for (status, body) in futures::future::join_all(calls).await {
        assert_eq!(status, 200, "{body}");
        let last: AnalysisEvent =
            serde_json::from_str(body.lines().last().unwrap_or_default()).expect("event");
        assert!(
            matches!(
                last,
                AnalysisEvent::Done { .. } | AnalysisEvent::Cached { .. }
            ),
            "{body}"
        );
    }
}
