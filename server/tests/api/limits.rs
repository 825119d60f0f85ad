//! Abuse and bad input: body limits, request time, text the database cannot store, decode
//! errors, paging arguments, the sign-in flood and the throttle race. Each test fails without
//! the fix it names.
use crate::helpers::{spawn_app, spawn_app_with, TestApp};
use app::{ai::settings::ProviderTest, error::AppError};
use reqwest::{header, Body};
use server::demo;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;
use wiremock::{
    matchers::{method, path},
    Mock, MockServer, ResponseTemplate,
};

async fn post_raw(
    app: &TestApp,
    endpoint: &str,
    content_type: &str,
    body: impl Into<Body>,
) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/{endpoint}")))
        .header(header::ACCEPT, "application/json")
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .expect("POST")
}

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// The answer is a 4xx with a short JSON `AppError`.
async fn client_error(res: reqwest::Response) -> (u16, AppError) {
    let status = res.status().as_u16();
    let text = res.text().await.expect("body");
    assert!((400..500).contains(&status), "{status}: {text:.300}");
    assert!(
        text.len() < 1_000,
        "a {} byte answer: {text:.300}",
        text.len()
    );
    let err = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:.300}"));
    (status, err)
}

#[sqlx::test(migrations = false)]
async fn a_body_over_the_limit_is_refused_with_413_declared_or_streamed(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let big = format!("email=a%40b.co&password={}", "x".repeat(2_200_000));
    let (status, err) = client_error(post_raw(&app, "sign_in", FORM, big.clone()).await).await;
    assert_eq!(status, 413);
    assert_eq!(
        err.to_string(),
        "The request is too large: the limit is 1 MiB."
    );

    // No Content-Length: the body is read up to the limit and no further.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..40).map(|_| Ok(vec![b'x'; 64 * 1024])).collect();
    let streamed = Body::wrap_stream(futures::stream::iter(chunks));
    let (status, _) = client_error(post_raw(&app, "sign_in", FORM, streamed).await).await;
    assert_eq!(status, 413);

    // The limit is a setting.
    let roomy = spawn_app_with(
        app_db(&app).await,
        &[("SMARTCRM_MAX_BODY_BYTES", "4194304")],
    )
    .await;
    let res = post_raw(&roomy, "sign_in", FORM, big).await;
    assert_ne!(res.status(), 413, "4 MiB allowed");
}

/// A second app on the same database (the test's first app keeps running).
async fn app_db(app: &TestApp) -> PgConnectOptions {
    app.owner.clone()
}

#[sqlx::test(migrations = false)]
async fn malformed_json_null_and_wrong_types_are_422_not_502(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    app.sign_in_as("manager@acme.test").await;
    for body in [
        "{not json",
        "null",
        r#"{"filter": {"state": 5}}"#,
        r#"{"filter": {"max_age_hours": 99999999999}}"#,
        r#"{"filter": null}"#,
    ] {
        let (status, err) = client_error(post_raw(&app, "load_board", JSON, body).await).await;
        assert_eq!(status, 422, "{body}: {err:?}");
        assert!(err.to_string().contains("not understood"), "{body}: {err}");
    }
}

#[sqlx::test(migrations = false)]
async fn text_that_is_not_utf8_or_holds_nul_is_422_naming_the_field(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    // Signed out: sign-in itself.
    for body in [
        b"email=%FF%FE&password=x".to_vec(),
        b"email=\xff\xfe&password=x".to_vec(),
        b"email=a%00%40b.co&password=x".to_vec(),
    ] {
        let (status, err) = client_error(post_raw(&app, "sign_in", FORM, body).await).await;
        assert_eq!(status, 422);
        assert!(err.field_message("email").is_some(), "{err:?}");
    }
    app.sign_in_as("manager@acme.test").await;
    let (_, err) = client_error(
        post_raw(
            &app,
            "create_task",
            FORM,
            "form%5Btitle%5D=Hi%00there&form%5Bbrief%5D=b",
        )
        .await,
    )
    .await;
    assert!(err.field_message("title").is_some(), "{err:?}");
    let (_, err) = client_error(
        post_raw(
            &app,
            "load_board",
            JSON,
            r#"{"filter": {"output_type": "e\u0000mail"}}"#,
        )
        .await,
    )
    .await;
    assert!(err.field_message("filter.output_type").is_some(), "{err:?}");
    // A page address with a NUL in its query.
    let res = app.get_page("/pipeline?state=%00").await;
    assert_eq!(res.status(), 422);
}

#[sqlx::test(migrations = false)]
async fn a_decode_error_quotes_only_a_few_dozen_characters_of_a_huge_input(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    app.sign_in_as("admin@acme.test").await;
    let huge = "k".repeat(1_000_000);
    for (endpoint, field) in [
        ("analyze_contact", "kind"),
        ("test_provider", "check"),
        ("list_contacts", "stage"),
    ] {
        let mut form = vec![(field, huge.as_str())];
        if endpoint == "analyze_contact" {
            form.push(("contact_id", "00000000-0000-0000-0000-000000000001"));
            form.push(("refresh", "false"));
        }
        let res = app.call(endpoint, &form).await;
        let (status, err) = client_error(res).await;
        assert!(
            status == 422 || status == 404,
            "{endpoint}: {status} {err:?}"
        );
    }
}

#[sqlx::test(migrations = false)]
async fn paging_cursors_follow_one_rule_everywhere(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app(db).await;
    app.sign_in_as("admin@acme.test").await;
    let contact = crate::ai::first_contact(&app).await.to_string();
    for (endpoint, form) in [
        (
            "contact_timeline",
            vec![("contact_id", contact.as_str()), ("before", "-5")],
        ),
        ("list_audit", vec![("before", "-5")]),
        (
            "contact_timeline",
            vec![("contact_id", contact.as_str()), ("before", "0")],
        ),
    ] {
        let (status, err) = client_error(app.call(endpoint, &form).await).await;
        assert_eq!(status, 422, "{endpoint}");
        assert!(err.field_message("before").is_some(), "{endpoint}: {err:?}");
    }
}

#[sqlx::test(migrations = false)]
async fn only_those_who_may_create_tasks_get_the_new_task_page(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    for (email, status) in [
        ("rep@acme.test", 403),
        ("qa@acme.test", 403),
        ("manager@acme.test", 200),
    ] {
        let browser = app.another_browser();
        browser.sign_in_as(email).await;
        let res = browser.get_page("/pipeline/new").await;
        assert_eq!(res.status(), status, "{email}");
        let html = res.text().await.expect("html");
        assert_eq!(
            html.contains("data-testid=\"create-task\""),
            status == 200,
            "{email}"
        );
    }
}

#[sqlx::test(migrations = false)]
async fn a_provider_answering_200_with_html_is_reported_as_such(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            "<!DOCTYPE html><html><body>502 Bad Gateway</body></html>",
            "text/html; charset=utf-8",
        ))
        .mount(&provider)
        .await;
    let app = crate::ai::app_with(db, &provider, &[]).await;
    app.sign_in_as("admin@acme.test").await;
    let res = app.call("test_provider", &[("check", "remote_chat")]).await;
    assert_eq!(res.status(), 200);
    let test: ProviderTest = res.json().await.expect("json");
    assert!(!test.ok);
    assert!(test.detail.contains("text/html"), "{}", test.detail);
    assert!(test.detail.contains("<!DOCTYPE html>"), "{}", test.detail);
    assert!(!test.detail.contains("empty answer"), "{}", test.detail);
}

#[sqlx::test(migrations = false)]
async fn a_request_that_takes_too_long_is_answered_503(_: PgPoolOptions, db: PgConnectOptions) {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(crate::ai::ok_stream(&["late"]).set_delay(Duration::from_secs(5)))
        .mount(&provider)
        .await;
    let app = crate::ai::app_with(db, &provider, &[("SMARTCRM_REQUEST_TIMEOUT_SECS", "1")]).await;
    app.sign_in_as("admin@acme.test").await;
    let started = std::time::Instant::now();
    let res = app.call("test_provider", &[("check", "remote_chat")]).await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(res.status(), 503);
    let err: AppError = res.json().await.expect("json error");
    assert_eq!(err, AppError::TimedOut { after_secs: 1 });
}

#[sqlx::test(migrations = false)]
async fn a_burst_of_wrong_passwords_gets_only_the_allowed_checks_and_no_session(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app_with(db, &[("SMARTCRM_SIGNIN_CONCURRENCY", "64")]).await;
    // 40 wrong passwords at once: only the first five reach the password check.
    let attempts = (0..40).map(|_| {
        let browser = app.another_browser();
        async move {
            browser
                .sign_in("rep@acme.test", "wrong")
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    let checked = statuses.iter().filter(|s| **s == 422).count();
    assert_eq!(checked, 5, "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        35,
        "{statuses:?}"
    );
    // Once the limit is reached, the right password gets no session.
    let res = app.sign_in("rep@acme.test", demo::PASSWORD).await;
    assert_eq!(res.status(), 429);
    assert!(crate::helpers::session_cookie(&res).is_none());

    // Right and wrong mixed in one burst: a success starts the pair afresh, and nothing
    // deadlocks (a success once locked the rows in the other order and got a 500).
    let mixed = (0..30).map(|n| {
        let browser = app.another_browser();
        async move {
            let password = if n % 3 == 0 { demo::PASSWORD } else { "wrong" };
            browser
                .sign_in("manager@acme.test", password)
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures::future::join_all(mixed).await;
    assert!(
        statuses.iter().all(|s| [200, 422, 429].contains(s)),
        "{statuses:?}"
    );
}

#[sqlx::test(migrations = false)]
async fn one_address_cannot_spray_a_password_over_many_emails(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app_with(db, &[("SMARTCRM_SIGNIN_MAX_PER_ADDRESS", "3")]).await;
    for n in 0..3 {
        let res = app
            .sign_in(&format!("user{n}@acme.test"), "Summer2026!")
            .await;
        assert_eq!(res.status(), 422);
    }
    let res = app.sign_in("admin@acme.test", demo::PASSWORD).await;
    assert_eq!(
        res.status(),
        429,
        "the address is spent, even for a right password"
    );
    assert!(res.headers().contains_key(header::RETRY_AFTER));
}

#[sqlx::test(migrations = false)]
async fn a_sign_in_flood_is_turned_away_busy_not_hashed(_: PgPoolOptions, db: PgConnectOptions) {
    let app = spawn_app_with(
        db,
        &[
            ("SMARTCRM_SIGNIN_CONCURRENCY", "1"),
            ("SMARTCRM_SIGNIN_MAX_PER_ADDRESS", "1000"),
        ],
    )
    .await;
    let flood = (0..60).map(|n| {
        let browser = app.another_browser();
        async move {
            let res = browser
                .sign_in(&format!("nobody{n}@flood.test"), "guess")
                .await;
            let retry_after = res.headers().get(header::RETRY_AFTER).is_some();
            (res.status().as_u16(), retry_after)
        }
    });
    let health = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        app.get("/healthz").await.status().as_u16()
    };
    let (answers, health) = tokio::join!(futures::future::join_all(flood), health);
    assert_eq!(health, 200);
    let busy: Vec<_> = answers.iter().filter(|(s, _)| *s == 503).collect();
    assert!(!busy.is_empty(), "some were turned away: {answers:?}");
    assert!(
        busy.iter().all(|(_, retry_after)| *retry_after),
        "503s carry Retry-After"
    );
    assert!(
        answers.iter().all(|(s, _)| *s == 422 || *s == 503),
        "only 'wrong' or 'busy': {answers:?}"
    );
    // Far fewer checks than requests: one at a time, four admitted.
    assert!(
        answers.iter().filter(|(s, _)| *s == 422).count() < 40,
        "{answers:?}"
    );
}

/// Random bodies: raw bytes, forms with the app's own field names and hostile values, and
/// arbitrary JSON, each under a random content type.
fn random_requests() -> impl proptest::strategy::Strategy<Value = (&'static str, Vec<u8>)> {
    use proptest::prelude::*;
    let known = prop::sample::select(vec![
        "contact_id",
        "kind",
        "refresh",
        "before",
        "check",
        "email",
        "password",
        "q",
        "stage",
        "after",
        "task_id",
        "verdict",
        "form[title]",
        "form[max_attempts]",
        "form[id]",
        "form[contact_id]",
        "form[occurred_at]",
        "archived",
        "id",
        "filter",
        "etag",
        "next",
    ])
    .prop_map(str::to_owned);
    let names = prop_oneof![known, "[a-z_\\[\\]]{0,12}"];
    let values = prop_oneof![
        ".{0,40}",
        "-?[0-9]{1,24}",
        Just("00000000-0000-0000-0000-00000000000a".to_owned()),
        Just("true".to_owned()),
        Just("\u{0}".to_owned()),
        prop::collection::vec(any::<u8>(), 0..20)
            .prop_map(|b| b.iter().map(|x| format!("%{x:02X}")).collect::<String>()),
    ];
    let form = prop::collection::vec((names, values), 0..6).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(k, v)| {
                let v = if v.starts_with('%') {
                    v
                } else {
                    percent_encoding::utf8_percent_encode(&v, percent_encoding::NON_ALPHANUMERIC)
                        .to_string()
                };
                format!("{k}={v}")
            })
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes()
    });
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        ".{0,20}".prop_map(serde_json::Value::from),
    ];
    let json = leaf
        .prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("filter".to_owned()),
                        Just("state".to_owned()),
                        "[a-z]{1,8}"
                    ],
                    inner,
                    0..4
                )
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
        .prop_map(|v| v.to_string().into_bytes());
    let raw = prop::collection::vec(any::<u8>(), 0..200);
    let content_type = prop_oneof![
        Just(FORM),
        Just(JSON),
        Just("text/plain"),
        Just(""),
        Just("multipart/form-data; boundary=b")
    ];
    (content_type, prop_oneof![form, json, raw])
}

#[sqlx::test(migrations = false)]
async fn random_bodies_at_every_server_function_never_get_a_5xx(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    use proptest::{
        strategy::{Strategy, ValueTree},
        test_runner::{Config, TestRunner},
    };
    let app = spawn_app(db).await;
    let signed_out = app.another_browser();
    app.sign_in_as("admin@acme.test").await;
    let mut runner = TestRunner::new(Config {
        cases: 30,
        ..Config::default()
    });
    let strategy = random_requests();
    let mut seen = std::collections::BTreeMap::<u16, usize>::new();
    for endpoint in crate::helpers::ENDPOINTS {
        for case in 0..30 {
            let (content_type, body) = strategy.new_tree(&mut runner).expect("case").current();
            // Every other case signed out; sign-out always (it would end the session).
            let who = if case % 2 == 1 || endpoint == "sign_out" {
                &signed_out
            } else {
                &app
            };
            let mut req = who
                .client
                .post(app.url(&format!("/api/{endpoint}")))
                .header(header::ACCEPT, "application/json")
                .body(body.clone());
            if !content_type.is_empty() {
                req = req.header(header::CONTENT_TYPE, content_type);
            }
            let res = req.send().await.expect("POST");
            let status = res.status().as_u16();
            *seen.entry(status).or_default() += 1;
            let text = res.text().await.unwrap_or_default();
            let shown = String::from_utf8_lossy(&body);
            assert!(
                status < 500,
                "{endpoint} {content_type} {shown:.200} -> {status}: {text:.300}"
            );
            if status >= 400 {
                assert!(
                    serde_json::from_str::<AppError>(&text).is_ok(),
                    "{endpoint} {shown:.200} -> {status} without a JSON error: {text:.300}"
                );
            }
        }
    }
    // The bodies reached past the front door: some were refused by the decoders or the
    // role checks, not all by one rule.
    assert!(seen.len() >= 2, "{seen:?}");
}

#[sqlx::test(migrations = false)]
async fn forced_refreshes_and_analyses_have_a_per_user_limit(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    use crate::ai::{app_with, first_contact, ok_stream, post_analyze};
    use app::analyses::AnalysisKind;
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ok_stream(&["Call ", "them."]))
        .mount(&provider)
        .await;
    let app = app_with(
        db,
        &provider,
        &[
            ("SMARTCRM_ANALYSES_PER_MINUTE", "3"),
            ("SMARTCRM_REFRESHES_PER_MINUTE", "1"),
        ],
    )
    .await;
    let contact = first_contact(&app).await;
    let kind = AnalysisKind::SmartEngagementTips;
    // One refresh a minute: the allowance comes back after 60 s, far longer than this takes.
    let started = std::time::Instant::now();
    assert_eq!(post_analyze(&app, contact, kind, true).await.status(), 200);
    let res = post_analyze(&app, contact, kind, true).await;
    assert_eq!(
        res.status(),
        429,
        "the second forced refresh in a minute, {:?} after the first",
        started.elapsed()
    );
    let wait: u64 = res
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&wait), "{wait}");
    let err: AppError = res.json().await.expect("json error");
    assert!(
        err.to_string()
            .contains(&format!("Rate limited: try again in {wait} s")),
        "{err}"
    );
    // Plain analyses go on until the per-minute allowance is spent: 3 in all (one allowance
    // comes back every 20 s, so this part is checked only when it ran faster than that).
    let started = std::time::Instant::now();
    for _ in 0..2 {
        assert_eq!(post_analyze(&app, contact, kind, false).await.status(), 200);
    }
    let status = post_analyze(&app, contact, kind, false).await.status();
    if started.elapsed() < Duration::from_secs(15) {
        assert_eq!(status, 429, "the fourth analysis in a minute");
    }
    // Another member of the workspace is not held back.
    let colleague = app.another_browser();
    colleague.sign_in_as("manager@acme.test").await;
    assert_eq!(
        post_analyze(&colleague, contact, kind, false)
            .await
            .status(),
        200
    );
}
