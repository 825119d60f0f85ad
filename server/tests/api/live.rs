//! Live updates: a change made through one instance reaches the event streams of browsers on
//! another (LISTEN/NOTIFY), only in its own workspace, and only for signed-in members.
use crate::helpers::{spawn_app, TestApp};
use crate::pipeline::{create_task, instructions};
use app::live::{Change, Topic};
use futures::StreamExt;
use reqwest::header;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::{pin::Pin, time::Duration};

type Body = Pin<Box<dyn futures::Stream<Item = reqwest::Result<Vec<u8>>> + Send>>;

/// A browser's `/events` stream, read event by event.
pub(crate) struct Events {
    body: Body,
    buf: String,
}

impl Events {
    pub(crate) async fn open(app: &TestApp) -> Self {
        let res = app
            .client
            .get(app.url("/events"))
            .header(header::ACCEPT, "text/event-stream")
            .send()
            .await
            .expect("GET /events");
        assert_eq!(res.status(), 200);
        let kind = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(kind.starts_with("text/event-stream"), "{kind}");
        let mut events = Self {
            body: Box::pin(res.bytes_stream().map(|r| r.map(|b| b.to_vec()))),
            buf: String::new(),
        };
        let (name, _) = events
            .next(Duration::from_secs(5))
            .await
            .expect("a first event");
        assert_eq!(name, "ready");
        events
    }

    /// The next event (name and data) within `within`, keep-alive comments skipped.
    pub(crate) async fn next(&mut self, within: Duration) -> Option<(String, String)> {
        let read = async {
            loop {
                if let Some(end) = self.buf.find("\n\n") {
                    let block: String = self.buf.drain(..end + 2).collect();
                    let mut name = String::new();
                    let mut data = String::new();
                    for line in block.lines() {
                        if let Some(v) = line.strip_prefix("event:") {
                            name = v.trim().to_owned();
                        } else if let Some(v) = line.strip_prefix("data:") {
                            data.push_str(v.trim());
                        }
                    }
                    if name.is_empty() && data.is_empty() {
                        continue;
                    }
                    return Some((name, data));
                }
                match self.body.next().await {
                    Some(Ok(bytes)) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                    _ => return None,
                }
            }
        };
        tokio::time::timeout(within, read).await.ok().flatten()
    }

    /// The next `change` event, within 10 s.
    async fn change(&mut self) -> Change {
        let (name, data) = self
            .next(Duration::from_secs(10))
            .await
            .expect("a change within 10 s");
        assert_eq!(name, "change", "{data}");
        serde_json::from_str(&data).expect("change data")
    }
}

#[sqlx::test(migrations = false)]
async fn a_task_moved_through_one_instance_reaches_the_browsers_of_another(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let a = spawn_app(db).await;
    let b = a.another_instance().await;
    // A manager and a Globex admin with the board open on instance B.
    b.sign_in_as("manager@acme.test").await;
    let mut acme = Events::open(&b).await;
    let globex = b.another_browser();
    globex.sign_in_as("admin@globex.test").await;
    let mut other = Events::open(&globex).await;
    assert_eq!(b.state.live.open_streams(), 2);

    // A task is created on A (its pool, its transaction).
    let task = create_task(&a, 0, instructions(70), 3, false).await;
    let change = acme.change().await;
    assert_eq!(change.topics, vec![Topic::Tasks]);
    assert_eq!(change.ids, vec![task.id]);

    // The detector escalates it (a move into the queue)...
    let mut conn = crate::helpers::owner(&a).await;
    sqlx::query("update project_tasks set execution_state = 'awaiting_review', version = version + 1, status_reason = 'check' where id = $1")
        .bind(task.id)
        .execute(&mut conn)
        .await
        .expect("to review");
    let change = acme.change().await;
    assert_eq!(change.topics, vec![Topic::Tasks, Topic::Queue]);
    // ...a lease renewal is bookkeeping, not a change anyone sees...
    sqlx::query("update project_tasks set lease_expires_at = now() where id = $1")
        .bind(task.id)
        .execute(&mut conn)
        .await
        .expect("renew");
    assert_eq!(acme.next(Duration::from_millis(400)).await, None);
    // ...and a manager on A rejects it through the server function.
    a.sign_in_as("manager@acme.test").await;
    let version: i32 = sqlx::query_scalar("select version from project_tasks where id = $1")
        .bind(task.id)
        .fetch_one(&mut conn)
        .await
        .expect("version");
    let res = a
        .call(
            "review_task",
            &[
                ("id", &task.id.to_string()),
                ("version", &version.to_string()),
                ("verdict", "reject"),
                ("reason", "Off brand for spring."),
            ],
        )
        .await;
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let change = acme.change().await;
    assert_eq!(change.topics, vec![Topic::Tasks, Topic::Queue]);
    assert_eq!(change.ids, vec![task.id]);

    // A bulk change is one announcement without names (the page refetches as a whole).
    let moved = sqlx::query("update project_tasks set title = title || '.', version = version + 1 where tenant_id = (select tenant_id from project_tasks where id = $1)")
        .bind(task.id)
        .execute(&mut conn)
        .await
        .expect("bulk")
        .rows_affected();
    assert!(moved >= 1);
    let change = acme.change().await;
    assert_eq!(change.topics, vec![Topic::Tasks]);

    // Globex heard none of it.
    assert_eq!(other.next(Duration::from_millis(500)).await, None);

    // Signed out: no stream, a JSON error.
    let res = b.another_browser().get("/events").await;
    assert_eq!(res.status(), 401);
    let err: app::error::AppError = res.json().await.expect("error");
    assert_eq!(err, app::error::AppError::Unauthorized);
}

#[sqlx::test(migrations = false)]
async fn alerts_and_dashboard_refreshes_are_announced_and_a_full_process_says_busy(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = crate::helpers::spawn_app_with(
        db,
        &[
            ("SMARTCRM_LIVE_STREAMS_PER_MEMBER", "2"),
            ("SMARTCRM_LIVE_STREAM_MAX_AGE_SECS", "5"),
        ],
    )
    .await;
    app.sign_in_as("manager@acme.test").await;
    let mut events = Events::open(&app).await;

    // Refresh figures: the dashboard's snapshot is rebuilt.
    let res = app.call("refresh_dashboard", &[]).await;
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
    assert_eq!(events.change().await.topics, vec![Topic::Dashboard]);

    // An alert raised by the evaluator.
    let mut conn = crate::helpers::owner(&app).await;
    sqlx::query("insert into alerts (tenant_id, kind, dedup_key, severity, title) select id, 'budget', 'budget:test', 'warning', 'Budget at 80%' from tenants where slug = 'acme'")
        .execute(&mut conn)
        .await
        .expect("alert");
    assert_eq!(events.change().await.topics, vec![Topic::Alerts]);

    // A member's third tab is refused while two are open.
    let _second = Events::open(&app).await;
    let res = app.get("/events").await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key(header::RETRY_AFTER));

    // At its maximum age the stream says goodbye and ends; the browser reopens it.
    let (name, _) = events
        .next(Duration::from_secs(10))
        .await
        .expect("bye within the maximum age");
    assert_eq!(name, "bye");
    assert_eq!(events.next(Duration::from_secs(2)).await, None, "ended");
}
