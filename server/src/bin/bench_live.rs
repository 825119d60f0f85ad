//! `smartcrm-bench-live`: issue 15's live-updates fan-out benchmark. Run through
//! `scripts/bench-live.sh`, which starts two `smartcrm serve` instances on one throwaway
//! PostgreSQL (as two servers behind a load balancer would share one database).
//!
//! 200 browsers' event streams are open, half on each instance, all as one manager. Each round
//! moves a task (an update committed on the database, as a worker's move is) and times:
//! - the floor: a bare `LISTEN smartcrm_live` connection receiving the notice;
//! - the streams: the first, the median and the last of the 200 to receive its `change` event.
//!
//! The reference a user would otherwise have is the board's former polling (every 2 s): 200
//! clients asking `load_task_detail` every 2 s, spread over the interval, timed to the last
//! of them seeing the move.
//!
//! Usage: `smartcrm-bench-live` with `BENCH_LIVE_URLS` (the instances, comma-separated) and
//! `SMARTCRM_OWNER_DATABASE_URL` (moves are made as the owner).
use futures::StreamExt;
use server::benchkit::percentile;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use uuid::Uuid;

type Error = Box<dyn std::error::Error + Send + Sync>;

const CLIENTS: usize = 200;
const ROUNDS: usize = 30;
const POLL_ROUNDS: usize = 5;
const POLL_EVERY: Duration = Duration::from_secs(2);
const STATES: [&str; 2] = ["awaiting_review", "escalated"];

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Signs the demo manager in and returns the session cookie (`name=value`).
async fn sign_in(base: &str) -> Result<String, Error> {
    let client = reqwest::Client::new();
    let res = client
        .post(format!("{base}/api/sign_in"))
        .header("accept", "application/json")
        .form(&[
            ("email", "manager@acme.test"),
            ("password", server::demo::PASSWORD),
        ])
        .send()
        .await?;
    if !res.status().is_success() {
        return Err(format!("sign-in: {}", res.status()).into());
    }
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(server::startup::SESSION_COOKIE))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .ok_or_else(|| "no session cookie".into())
}

/// One browser's stream: reports `ready`, then the moment of each change naming `task`.
fn stream(
    base: String,
    cookie: String,
    task: Uuid,
    ready: mpsc::Sender<()>,
    seen: mpsc::UnboundedSender<Instant>,
) {
    tokio::spawn(async move {
        let res = reqwest::Client::new()
            .get(format!("{base}/events"))
            .header("cookie", cookie)
            .header("accept", "text/event-stream")
            .send()
            .await;
        let Ok(res) = res else {
            eprintln!("a stream did not open");
            return;
        };
        let mut body = res.bytes_stream();
        let mut buf = String::new();
        let wanted = task.to_string();
        while let Some(Ok(chunk)) = body.next().await {
            let at = Instant::now();
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                if block.contains("event: ready") {
                    let _ = ready.send(()).await;
                } else if block.contains("event: change") && block.contains(&wanted) {
                    let _ = seen.send(at);
                }
            }
        }
    });
}

/// A client polling the task's page every 2 s, reporting when it first sees `expected`.
fn poller(
    base: String,
    cookie: String,
    task: Uuid,
    offset: Duration,
    expected: tokio::sync::watch::Receiver<String>,
    seen: mpsc::UnboundedSender<(String, Instant)>,
) {
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        tokio::time::sleep(offset).await;
        let mut tick = tokio::time::interval(POLL_EVERY);
        let mut reported = String::new();
        loop {
            tick.tick().await;
            let want = expected.borrow().clone();
            if want.is_empty() {
                return;
            }
            let res = client
                .post(format!("{base}/api/load_task_detail"))
                .header("cookie", &cookie)
                .header("accept", "application/json")
                .form(&[("id", task.to_string())])
                .send()
                .await;
            let Ok(res) = res else { continue };
            let at = Instant::now();
            let Ok(v) = res.json::<serde_json::Value>().await else {
                continue;
            };
            if v["state"] == want.as_str() && reported != want {
                reported = want.clone();
                let _ = seen.send((want, at));
            }
        }
    });
}

async fn move_task(db: &sqlx::PgPool, task: Uuid, state: &str) -> Result<Instant, Error> {
    let t0 = Instant::now();
    sqlx::query("update project_tasks set execution_state = $2, version = version + 1, state_entered_at = now() where id = $1")
        .bind(task)
        .bind(state)
        .execute(db)
        .await?;
    Ok(t0)
}

fn row(label: &str, mut samples: Vec<Duration>) {
    let p50 = percentile(&mut samples, 0.5);
    let p95 = percentile(&mut samples, 0.95);
    println!("| {label} | {:.1} ms | {:.1} ms |", ms(p50), ms(p95));
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    app::ai::gateway::ensure_tls_provider();
    let urls: Vec<String> = std::env::var("BENCH_LIVE_URLS")?
        .split(',')
        .map(str::to_owned)
        .collect();
    let owner = std::env::var("SMARTCRM_OWNER_DATABASE_URL")?;
    let db = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&owner)
        .await?;
    let task: Uuid = sqlx::query_scalar(
        "with c as (select id, tenant_id from customers
                     where tenant_id = (select id from tenants where slug = 'acme') order by name limit 1),
              p as (insert into projects (tenant_id, customer_id, name) select tenant_id, id, 'Live bench' from c
                    returning id, tenant_id, customer_id)
         insert into project_tasks (tenant_id, project_id, customer_id, title, ai_instructions, execution_state)
         select tenant_id, id, customer_id, 'Live bench task', $1, 'escalated' from p
         returning id",
    )
    // Whole instructions, as the new-task form makes them (the task page reads them).
    .bind(serde_json::json!({
        "brief": "Invite past clients to book a spring clean this month.",
        "output_type": "email",
        "output_format": "plain_text",
        "output_length": {"min_words": 30, "max_words": 150},
        "must_include": [],
        "must_not_include": [],
        "context_sources": [],
        "success_criteria": {"readability_score_min": 50.0, "sentiment_target": "positive", "cta_present": true},
        "quality_thresholds": {"min_overall": 70, "min_brand_alignment": 0}
    }))
    .fetch_one(&db)
    .await?;
    let cookie = sign_in(&urls[0]).await?;

    // The floor: a bare listener on the channel.
    let mut bare = sqlx::postgres::PgListener::connect(&owner).await?;
    bare.listen(app::live::hub::CHANNEL).await?;

    let (ready_tx, mut ready_rx) = mpsc::channel(CLIENTS);
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel();
    for i in 0..CLIENTS {
        stream(
            urls[i % urls.len()].clone(),
            cookie.clone(),
            task,
            ready_tx.clone(),
            seen_tx.clone(),
        );
    }
    for _ in 0..CLIENTS {
        tokio::time::timeout(Duration::from_secs(30), ready_rx.recv())
            .await?
            .ok_or("streams closed")?;
    }
    eprintln!("{CLIENTS} streams open on {} instances", urls.len());

    let (mut floor, mut first, mut median, mut all) = (vec![], vec![], vec![], vec![]);
    for round in 0..ROUNDS {
        tokio::time::sleep(Duration::from_millis(200)).await;
        while seen_rx.try_recv().is_ok() {}
        let t0 = move_task(&db, task, STATES[round % 2]).await?;
        // The bare listener's notice for this move (a dashboard refresh may come between).
        let wanted = task.to_string();
        let floor_at = loop {
            let notice = tokio::time::timeout(Duration::from_secs(10), bare.recv())
                .await
                .map_err(|_| format!("round {round}: the bare listener heard nothing"))??;
            if notice.payload().contains(&wanted) {
                break Instant::now();
            }
        };
        let mut times = Vec::with_capacity(CLIENTS);
        while times.len() < CLIENTS {
            let at = tokio::time::timeout(Duration::from_secs(10), seen_rx.recv())
                .await
                .map_err(|_| format!("round {round}: {} of {CLIENTS} streams saw it", times.len()))?
                .ok_or("streams closed")?;
            times.push(at - t0);
        }
        times.sort();
        floor.push(floor_at - t0);
        first.push(times[0]);
        median.push(times[CLIENTS / 2]);
        all.push(times[CLIENTS - 1]);
    }

    println!(
        "| {CLIENTS} clients, {} instances, {ROUNDS} task moves | p50 | p95 |",
        urls.len()
    );
    println!("|---|---|---|");
    row(
        "floor: a bare LISTEN connection receives the notice",
        floor.clone(),
    );
    row("SSE: the first browser sees the change", first);
    row("SSE: the median browser", median);
    row(
        &format!("**SSE: all {CLIENTS} browsers have it**"),
        all.clone(),
    );
    // The reference: polling every 2 s.
    // The task is in the last round's state; each polling round moves it to the other.
    let (want_tx, want_rx) = tokio::sync::watch::channel(STATES[(ROUNDS - 1) % 2].to_owned());
    let (poll_tx, mut poll_rx) = mpsc::unbounded_channel();
    for i in 0..CLIENTS {
        let offset = POLL_EVERY * i as u32 / CLIENTS as u32;
        poller(
            urls[i % urls.len()].clone(),
            cookie.clone(),
            task,
            offset,
            want_rx.clone(),
            poll_tx.clone(),
        );
    }
    // Let every poller have its first answer (the state as it is) before moving.
    tokio::time::sleep(POLL_EVERY + Duration::from_millis(500)).await;
    let mut polled = Vec::new();
    for round in 0..POLL_ROUNDS {
        let state = STATES[(ROUNDS + round) % 2];
        while poll_rx.try_recv().is_ok() {}
        want_tx.send(state.to_owned())?;
        let t0 = move_task(&db, task, state).await?;
        let mut last = Duration::ZERO;
        let mut count = 0;
        while count < CLIENTS {
            let (s, at) = tokio::time::timeout(Duration::from_secs(15), poll_rx.recv())
                .await
                .map_err(|_| format!("polling round {round}: {count} of {CLIENTS} saw {state}"))?
                .ok_or("pollers ended")?;
            if s == state {
                count += 1;
                last = last.max(at.saturating_duration_since(t0));
            }
        }
        polled.push(last);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    want_tx.send(String::new())?;

    row(
        &format!("reference: {CLIENTS} clients polling every 2 s, the last sees it ({POLL_ROUNDS} moves)"),
        polled.clone(),
    );
    let p50 = |mut v: Vec<Duration>| ms(percentile(&mut v, 0.5));
    println!(
        "\nall {CLIENTS} via SSE vs. the bare LISTEN floor: {:.1}x; polling vs. SSE (last client, p50): {:.0}x",
        p50(all.clone()) / p50(floor).max(0.001),
        p50(polled) / p50(all).max(0.001)
    );
    Ok(())
}
