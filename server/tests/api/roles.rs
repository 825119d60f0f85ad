use crate::helpers::spawn_app;
use app::{error::AppError, team::Member};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test(migrations = false)]
async fn server_functions_refuse_signed_out_callers_with_401(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    for endpoint in ["load_dashboard", "list_members", "list_audit"] {
        let res = app.call(endpoint, &[]).await;
        assert_eq!(res.status(), 401, "{endpoint}");
        assert_eq!(
            res.json::<AppError>().await.expect("json"),
            AppError::Unauthorized
        );
    }
}

#[sqlx::test(migrations = false)]
async fn a_rep_is_refused_admin_server_functions_with_403(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    app.sign_in_as("rep@acme.test").await;
    for endpoint in ["list_members", "list_audit"] {
        let res = app.call(endpoint, &[]).await;
        assert_eq!(res.status(), 403, "{endpoint}");
        let err: AppError = res.json().await.expect("json");
        assert!(matches!(err, AppError::Forbidden { .. }), "{err:?}");
    }
    // but may load the dashboard
    assert_eq!(app.call("load_dashboard", &[]).await.status(), 200);
}

#[sqlx::test(migrations = false)]
async fn every_role_loads_the_dashboard(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    for email in [
        "admin@acme.test",
        "manager@acme.test",
        "rep@acme.test",
        "qa@acme.test",
    ] {
        let browser = app.another_browser();
        browser.sign_in_as(email).await;
        let res = browser.call("load_dashboard", &[]).await;
        assert_eq!(res.status(), 200, "{email}");
        let stats: app::dashboard::DashboardStats = res.json().await.expect("json");
        assert_eq!(stats.members_total(), 4, "{email}");
        // Audit entries go to admins only, on the dashboard as on the audit page.
        assert_eq!(
            stats.audit.is_some(),
            email.starts_with("admin@"),
            "{email}"
        );
        if let Some(audit) = stats.audit {
            assert!(!audit.recent.is_empty(), "the admin's own sign-in is there");
        }
    }
}

#[sqlx::test(migrations = false)]
async fn each_workspace_admin_sees_only_their_own_members(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    app.sign_in_as("admin@acme.test").await;
    let acme: Vec<Member> = app
        .call("list_members", &[])
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(acme.len(), 4);

    let globex = app.another_browser();
    globex.sign_in_as("admin@globex.test").await;
    let members: Vec<Member> = globex
        .call("list_members", &[])
        .await
        .json()
        .await
        .expect("json");
    let emails: Vec<_> = members.iter().map(|m| m.email.as_str()).collect();
    assert_eq!(emails, ["admin@globex.test"]);

    let audit: app::audit::AuditPage = globex
        .call("list_audit", &[])
        .await
        .json()
        .await
        .expect("json");
    assert!(
        audit
            .entries
            .iter()
            .all(|e| e.actor_name.as_deref() == Some("Gale Globex")),
        "{audit:?}"
    );
}

#[sqlx::test(migrations = false)]
async fn a_removed_member_loses_access_at_once(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    app.sign_in_as("rep@acme.test").await;
    assert_eq!(app.call("load_dashboard", &[]).await.status(), 200);
    // As the owner (the test's own connection), remove the membership.
    let mut conn = sqlx::PgConnection::connect_with(&app_owner_options(&app).await)
        .await
        .expect("owner");
    sqlx::query("delete from memberships where user_id = (select id from users where email = 'rep@acme.test')")
        .execute(&mut conn)
        .await
        .expect("delete");
    assert_eq!(app.call("load_dashboard", &[]).await.status(), 401);
}

async fn app_owner_options(app: &crate::helpers::TestApp) -> PgConnectOptions {
    app.owner.clone()
}

use sqlx::Connection;

#[sqlx::test(migrations = false)]
async fn a_bad_page_cursor_is_a_validation_error(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    app.sign_in_as("admin@acme.test").await;
    let res = app.call("list_audit", &[("before", "-4")]).await;
    assert_eq!(res.status(), 422);
    let res = app.call("list_audit", &[("before", "soon")]).await;
    assert!(res.status().is_client_error(), "{}", res.status());
}
