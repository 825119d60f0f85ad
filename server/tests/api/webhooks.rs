//! The alert webhook: admins set it (managers only see it), every alert change is posted
//! signed, a failing receiver is retried with backoff and then given up on, all in the log.
use crate::helpers::{owner, spawn_app, TestApp};
use app::alerts::webhook::{Saved, WebhookPage, MAX_ATTEMPTS};
use app::alerts::webhook_send::deliver_due;
use hmac::{Hmac, Mac};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use wiremock::{
    matchers::{method, path},
    Mock, MockServer, ResponseTemplate,
};

async fn save(
    app: &TestApp,
    url: &str,
    severity: &str,
    version: i32,
    rotate: bool,
) -> reqwest::Response {
    app.call(
        "save_webhook",
        &[
            ("form[url]", url),
            ("form[enabled]", "true"),
            ("form[min_severity]", severity),
            ("form[version]", &version.to_string()),
            ("rotate", if rotate { "true" } else { "false" }),
        ],
    )
    .await
}

async fn page(app: &TestApp) -> WebhookPage {
    let res = app.call("load_webhook", &[]).await;
    assert_eq!(res.status(), 200);
    res.json().await.expect("webhook page")
}

async fn open_alert(conn: &mut sqlx::PgConnection, key: &str, severity: &str) {
    sqlx::query("insert into alerts (tenant_id, kind, dedup_key, severity, title) select id, 'budget', $1, $2, 'Budget at ' || $1 from tenants where slug = 'acme'")
        .bind(key)
        .bind(severity)
        .execute(conn)
        .await
        .expect("alert");
}

#[sqlx::test(migrations = false)]
async fn alerts_reach_the_webhook_signed_and_a_failing_receiver_is_retried_then_given_up(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .and(path("/down"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&receiver)
        .await;
    let app = spawn_app(db).await;
    let mut conn = owner(&app).await;
    let hook = format!("{}/hook", receiver.uri());

    // A manager sees the card, but may not change it.
    let manager = app.another_browser();
    manager.sign_in_as("manager@acme.test").await;
    let p = page(&manager).await;
    assert!(p.webhook.is_none() && p.deliveries.is_empty() && !p.can_edit);
    assert_eq!(
        save(&manager, &hook, "warning", 0, false).await.status(),
        403
    );

    // An admin: a bad address names the field; a good one saves, and the secret is shown once.
    app.sign_in_as("admin@acme.test").await;
    let res = save(&app, "hooks.example.com", "warning", 0, false).await;
    assert_eq!(res.status(), 422);
    let err: app::error::AppError = res.json().await.expect("error");
    assert!(err.field_message("url").is_some(), "{err:?}");
    let res = save(&app, &hook, "warning", 0, false).await;
    assert_eq!(res.status(), 200);
    let secret = res
        .json::<Saved>()
        .await
        .expect("saved")
        .secret
        .expect("a new secret");
    assert!(
        secret.starts_with("whsec_") && secret.len() == 70,
        "{secret}"
    );
    let p = page(&app).await;
    let view = p.webhook.expect("saved webhook");
    assert_eq!((view.url.as_str(), view.version), (hook.as_str(), 1));
    assert_eq!(view.secret_tail, secret[secret.len() - 4..]);
    assert!(p.can_edit);
    // Saving again keeps the secret; a stale version is refused.
    let res = save(&app, &hook, "warning", 1, false).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Saved>().await.expect("saved").secret, None);
    let res = save(&app, &hook, "warning", 1, false).await;
    assert_eq!(
        res.status(),
        422,
        "{}",
        res.text().await.unwrap_or_default()
    );

    // An alert opens: it is posted once, signed with the secret over "t.body".
    open_alert(&mut conn, "b1", "warning").await;
    assert_eq!(deliver_due(&app.pool).await.expect("deliver"), 1);
    let got = receiver.received_requests().await.expect("requests");
    assert_eq!(got.len(), 1);
    let req = &got[0];
    let header = |name: &str| {
        req.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("x-smartcrm-event"), "alert.opened");
    let sig = header("x-smartcrm-signature");
    let (t, v1) = sig
        .strip_prefix("t=")
        .and_then(|r| r.split_once(",v1="))
        .expect("t=…,v1=…");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{t}.").as_bytes());
    mac.update(&req.body);
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, want);
    let body: serde_json::Value = serde_json::from_slice(&req.body).expect("json");
    assert_eq!(body["alert"]["title"], "Budget at b1");
    assert_eq!(body["attempt"], 1);
    // Nothing is sent twice.
    assert_eq!(deliver_due(&app.pool).await.expect("deliver"), 0);
    assert_eq!(
        receiver.received_requests().await.expect("requests").len(),
        1
    );

    // Critical only: a warning queues nothing.
    assert_eq!(save(&app, &hook, "critical", 2, false).await.status(), 200);
    open_alert(&mut conn, "b2", "warning").await;
    let queued: i64 = sqlx::query_scalar("select count(*) from webhook_deliveries")
        .fetch_one(&mut conn)
        .await
        .expect("count");
    assert_eq!(queued, 1);

    // The receiver is down: a critical alert is tried, retried with growing waits, then failed.
    let down = format!("{}/down", receiver.uri());
    assert_eq!(save(&app, &down, "critical", 3, false).await.status(), 200);
    open_alert(&mut conn, "b3", "critical").await;
    let mut waits = Vec::new();
    for _ in 0..MAX_ATTEMPTS {
        sqlx::query(
            "update webhook_deliveries set next_attempt_at = now() where state = 'pending'",
        )
        .execute(&mut conn)
        .await
        .expect("due now");
        assert_eq!(deliver_due(&app.pool).await.expect("deliver"), 0);
        let wait: Option<f64> = sqlx::query_scalar("select extract(epoch from next_attempt_at - now())::float8 from webhook_deliveries where state = 'pending'")
            .fetch_optional(&mut conn)
            .await
            .expect("wait");
        waits.extend(wait.map(|w| w.round() as i64));
    }
    assert_eq!(waits.len(), MAX_ATTEMPTS as usize - 1, "{waits:?}");
    assert!(waits.windows(2).all(|w| w[1] > w[0]), "{waits:?}");
    let p = page(&app).await;
    let failed = &p.deliveries[0];
    assert_eq!(
        (failed.state.as_str(), failed.attempts, failed.last_status),
        ("failed", MAX_ATTEMPTS, Some(503))
    );
    assert!(failed
        .last_error
        .as_deref()
        .unwrap_or_default()
        .contains("503"));
    assert_eq!(p.deliveries[1].state, "delivered");

    // A new secret on request, shown once; the card shows its tail.
    let res = save(&app, &down, "critical", 4, true).await;
    let rotated = res
        .json::<Saved>()
        .await
        .expect("saved")
        .secret
        .expect("rotated");
    assert_ne!(rotated, secret);
    let tail = page(&app).await.webhook.expect("webhook").secret_tail;
    assert_eq!(tail, rotated[rotated.len() - 4..]);

    // Every change is audited; Globex sees none of it.
    let audited: i64 =
        sqlx::query_scalar("select count(*) from audit_log where action = 'alert_webhook.changed'")
            .fetch_one(&mut conn)
            .await
            .expect("audit");
    assert_eq!(audited, 5);
    let globex = app.another_browser();
    globex.sign_in_as("admin@globex.test").await;
    let p = page(&globex).await;
    assert!(p.webhook.is_none() && p.deliveries.is_empty());
}
