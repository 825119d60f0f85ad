use crate::helpers::{cookie_value, session_cookie, spawn_app, spawn_app_with};
use app::error::AppError;
use server::demo;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test(migrations = false)]
async fn signing_in_sets_an_http_only_same_site_lax_cookie(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let res = app.sign_in("admin@acme.test", demo::PASSWORD).await;
    assert_eq!(res.status(), 200);
    let cookie = session_cookie(&res).expect("session cookie set");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    // Served over plain http (no https public URL): no Secure flag, no HSTS.
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert!(res.headers().get("strict-transport-security").is_none());
    assert_eq!(
        res.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/dashboard")
    );
}

#[sqlx::test(migrations = false)]
async fn an_https_public_url_makes_the_cookie_secure_and_sends_hsts(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app_with(db, &[("SMARTCRM_PUBLIC_URL", "https://crm.example.test")]).await;
    let res = app.sign_in("admin@acme.test", demo::PASSWORD).await;
    assert_eq!(res.status(), 200);
    let cookie = session_cookie(&res).expect("session cookie set");
    assert!(cookie.contains("Secure"), "{cookie}");
    for res in [
        res,
        app.get("/healthz").await,
        app.get_page("/sign-in").await,
    ] {
        assert_eq!(
            res.headers()
                .get("strict-transport-security")
                .and_then(|v| v.to_str().ok()),
            Some(server::startup::HSTS),
            "{}",
            res.url()
        );
    }
}

#[sqlx::test(migrations = false)]
async fn a_session_ends_at_its_maximum_age_however_active(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app_with(db, &[("SMARTCRM_SESSION_MAX_AGE_SECS", "4")]).await;
    app.sign_in_as("admin@acme.test").await;
    let signed_in = std::time::Instant::now();
    assert_eq!(app.call("load_dashboard", &[]).await.status(), 200);
    // Busy the whole time (the idle limit never comes into it), and past the maximum age.
    while signed_in.elapsed() < std::time::Duration::from_millis(5500) {
        let _ = app.call("load_dashboard", &[]).await;
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(app.call("load_dashboard", &[]).await.status(), 401);
    let page = app.get_page("/dashboard").await;
    assert_eq!(page.status(), 303, "pages go to sign-in");
    assert!(page
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|l| l.starts_with("/sign-in")));
    // Signing in again starts a new session.
    app.sign_in_as("admin@acme.test").await;
    assert_eq!(app.call("load_dashboard", &[]).await.status(), 200);
}

#[sqlx::test(migrations = false)]
async fn signing_in_sends_the_user_back_to_a_local_next_page_only(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let res = app
        .call(
            "sign_in",
            &[
                ("email", "admin@acme.test"),
                ("password", demo::PASSWORD),
                ("next", "/team"),
            ],
        )
        .await;
    assert_eq!(
        res.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/team")
    );
    let other = app.another_browser();
    let res = other
        .call(
            "sign_in",
            &[
                ("email", "admin@acme.test"),
                ("password", demo::PASSWORD),
                ("next", "https://evil.test/"),
            ],
        )
        .await;
    assert_eq!(
        res.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/dashboard")
    );
}

#[sqlx::test(migrations = false)]
async fn the_session_id_rotates_at_sign_in_and_the_old_one_stops_working(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let first =
        session_cookie(&app.sign_in("rep@acme.test", demo::PASSWORD).await).expect("first cookie");
    let second = session_cookie(&app.sign_in("manager@acme.test", demo::PASSWORD).await)
        .expect("second cookie");
    assert_ne!(
        cookie_value(&first),
        cookie_value(&second),
        "session id must change at sign-in"
    );

    // The first id no longer opens a session.
    let stale = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let res = stale
        .get(app.url("/dashboard"))
        .header("cookie", cookie_value(&first))
        .send()
        .await
        .expect("GET");
    assert_eq!(res.status(), 303);
}

#[sqlx::test(migrations = false)]
async fn unknown_email_and_wrong_password_get_the_same_answer(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let wrong = app.sign_in("admin@acme.test", "not-the-password").await;
    let unknown = app.sign_in("nobody@acme.test", "not-the-password").await;
    assert_eq!(wrong.status(), 422);
    assert_eq!(unknown.status(), 422);
    let wrong: AppError = wrong.json().await.expect("json");
    let unknown: AppError = unknown.json().await.expect("json");
    assert_eq!(wrong, unknown);
    assert_eq!(wrong.to_string(), app::auth::BAD_CREDENTIALS);
}

#[sqlx::test(migrations = false)]
async fn repeated_failures_lock_the_account_even_for_the_right_password(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app_with(
        db,
        &[
            ("SMARTCRM_SIGNIN_MAX_FAILURES", "3"),
            ("SMARTCRM_SIGNIN_LOCKOUT_SECS", "120"),
        ],
    )
    .await;
    // Three checks are allowed; the fourth attempt is refused unchecked.
    for _ in 0..3 {
        assert_eq!(app.sign_in("rep@acme.test", "wrong").await.status(), 422);
    }
    let fourth = app.sign_in("rep@acme.test", "wrong").await;
    assert_eq!(fourth.status(), 429);
    let res = app.sign_in("rep@acme.test", demo::PASSWORD).await;
    assert_eq!(res.status(), 429);
    match res.json::<AppError>().await.expect("json") {
        AppError::TooManyAttempts { retry_after_secs } => {
            assert!((1..=120).contains(&retry_after_secs))
        }
        other => panic!("expected TooManyAttempts, got {other:?}"),
    }
    // Other accounts are not affected.
    assert_eq!(
        app.another_browser()
            .sign_in("qa@acme.test", demo::PASSWORD)
            .await
            .status(),
        200
    );
}

#[sqlx::test(migrations = false)]
async fn unknown_emails_are_throttled_like_real_ones(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app_with(db, &[("SMARTCRM_SIGNIN_MAX_FAILURES", "2")]).await;
    assert_eq!(app.sign_in("ghost@acme.test", "x").await.status(), 422);
    assert_eq!(app.sign_in("ghost@acme.test", "x").await.status(), 422);
    assert_eq!(app.sign_in("ghost@acme.test", "x").await.status(), 429);
}

#[sqlx::test(migrations = false)]
async fn a_malformed_email_is_a_field_error(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let res = app.sign_in("not-an-email", "whatever").await;
    assert_eq!(res.status(), 422);
    let err: AppError = res.json().await.expect("json");
    assert!(err.field_message("email").is_some(), "{err:?}");
}

#[sqlx::test(migrations = false)]
async fn a_request_missing_the_password_is_refused_clearly(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    let res = app.call("sign_in", &[("email", "admin@acme.test")]).await;
    assert!(res.status().is_client_error(), "{}", res.status());
    let err: AppError = res.json().await.expect("json");
    assert!(matches!(err, AppError::Validation { .. }), "{err:?}");
}

#[sqlx::test(migrations = false)]
async fn signing_out_ends_the_session(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    app.sign_in_as("manager@acme.test").await;
    assert_eq!(app.get_page("/dashboard").await.status(), 200);
    let res = app.call("sign_out", &[]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/sign-in")
    );
    let res = app.get_page("/dashboard").await;
    assert_eq!(res.status(), 303);
}

#[sqlx::test(migrations = false)]
async fn sign_in_and_sign_out_are_written_to_the_audit_log(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    app.sign_in_as("admin@acme.test").await;
    app.call("sign_out", &[]).await;
    let actions: Vec<String> = sqlx::query_scalar("select action from audit_log order by id")
        .fetch_all(&app.pool)
        .await
        .expect("audit rows");
    // The pool acts as smartcrm_app without a tenant: it must see nothing.
    assert!(
        actions.is_empty(),
        "RLS must hide audit rows without a tenant: {actions:?}"
    );

    let mut tx = app::ssr::tenancy::begin(
        &app.pool,
        app::ssr::tenancy::Scope {
            tenant_id: demo::TENANTS[0].id,
            user_id: uuid::Uuid::nil(),
        },
    )
    .await
    .expect("tx");
    let actions: Vec<String> = sqlx::query_scalar("select action from audit_log order by id")
        .fetch_all(&mut *tx)
        .await
        .expect("audit rows");
    assert_eq!(actions, ["auth.sign_in", "auth.sign_out"]);
}
