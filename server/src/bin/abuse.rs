//! `smartcrm-abuse`: attacks and crowds a real `smartcrm serve` on loopback and prints what held.
//! Run through `scripts/abuse.sh`, which builds it, gives it a throwaway database and sets
//! `SMARTCRM_BIN`. Every loop is bounded in count and time; traffic goes to 127.0.0.1 only.
//!
//! 1. four concurrent 3 GiB POSTs (two declaring their length, two chunked): server RSS;
//! 2. the throttle race: 40 parallel sign-ins on one account, one with the right password;
//! 3. 500 parallel sign-ins with random emails while `/healthz` is probed: its p99, and RSS;
//! 4. 25 concurrent forced refreshes by one rep while another workspace's admin browses;
//! 5. 200 signed-in users browsing for `ABUSE_BROWSE_SECS` (60): errors, p50 and p99.
use app::{analyses::AnalysisKind, crm::ContactsPage};
use futures::{stream, StreamExt};
use rand::{Rng, SeedableRng};
use reqwest::{header, redirect, Client, StatusCode};
use server::{
    benchkit::{mock_provider, ms, percentile, sse_answer},
    demo,
};
use std::{
    collections::BTreeMap,
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

type Error = Box<dyn std::error::Error + Send + Sync>;

const GIB: u64 = 1 << 30;
const CHUNK: usize = 256 * 1024;

/// The server process and where it listens.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn rss_mib(&self) -> f64 {
        rss_kib(self.child.id()).map_or(f64::NAN, |k| k as f64 / 1024.0)
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Samples the server's RSS every 20 ms while it runs; `stop` returns the highest seen (MiB).
struct RssWatch {
    done: Arc<AtomicBool>,
    max_kib: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl RssWatch {
    fn start(pid: u32) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let max_kib = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn({
            let (done, max_kib) = (done.clone(), max_kib.clone());
            async move {
                while !done.load(Ordering::Relaxed) {
                    if let Some(k) = rss_kib(pid) {
                        max_kib.fetch_max(k, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        });
        Self {
            done,
            max_kib,
            task,
        }
    }

    async fn stop(self) -> f64 {
        self.done.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        self.max_kib.load(Ordering::Relaxed) as f64 / 1024.0
    }
}

fn client() -> Result<Client, Error> {
    app::ai::gateway::ensure_tls_provider();
    Ok(Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .timeout(Duration::from_secs(120))
        .build()?)
}

async fn sign_in(base: &str, email: &str, password: &str) -> Result<(Client, StatusCode), Error> {
    let c = client()?;
    let res = c
        .post(format!("{base}/api/sign_in"))
        .header(header::ACCEPT, "application/json")
        .form(&[("email", email), ("password", password)])
        .send()
        .await?;
    Ok((c, res.status()))
}

async fn signed_in(base: &str, email: &str) -> Result<Client, Error> {
    let (c, status) = sign_in(base, email, demo::PASSWORD).await?;
    if status != StatusCode::OK {
        return Err(format!("sign-in as {email}: {status}").into());
    }
    Ok(c)
}

fn count(statuses: impl IntoIterator<Item = String>) -> String {
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for s in statuses {
        *by.entry(s).or_default() += 1;
    }
    by.iter()
        .map(|(s, n)| format!("{n}× {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn status_of(r: &Result<reqwest::Response, reqwest::Error>) -> String {
    match r {
        Ok(res) => res.status().as_u16().to_string(),
        Err(e) if e.is_timeout() => "timeout".into(),
        Err(_) => "closed".into(),
    }
}

struct Row {
    scenario: &'static str,
    goal: String,
    measured: String,
    held: bool,
}

fn print(rows: &[Row]) {
    println!("| scenario | goal | measured | held |");
    println!("|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} |",
            r.scenario,
            r.goal,
            r.measured,
            if r.held { "yes" } else { "**no**" }
        );
    }
}

/// 1. Four 3 GiB bodies at once, two with a declared length and two chunked.
async fn huge_posts(s: &Server) -> Result<Row, Error> {
    let watch = RssWatch::start(s.child.id());
    let before = s.rss_mib();
    let started = Instant::now();
    let sent = Arc::new(AtomicU64::new(0));
    let posts = (0..4).map(|i| {
        let (base, sent) = (s.base.clone(), sent.clone());
        async move {
            let chunks = (3 * GIB) / CHUNK as u64;
            let body = stream::iter(0..chunks).map(move |_| {
                sent.fetch_add(CHUNK as u64, Ordering::Relaxed);
                Ok::<_, std::io::Error>(vec![b'a'; CHUNK])
            });
            let mut req = client()?
                .post(format!("{base}/api/sign_in"))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .timeout(Duration::from_secs(60));
            if i % 2 == 0 {
                req = req.header(header::CONTENT_LENGTH, 3 * GIB);
            }
            let r = req.body(reqwest::Body::wrap_stream(body)).send().await;
            Ok::<_, Error>(status_of(&r))
        }
    });
    let outcomes: Vec<String> = futures::future::join_all(posts)
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let took = started.elapsed();
    let max = watch.stop().await;
    let held = max < 300.0 && outcomes.iter().all(|o| o == "413" || o == "closed");
    Ok(Row {
        scenario: "4 concurrent 3 GiB POSTs (2 with Content-Length, 2 chunked)",
        goal: "413 at once; RSS < 300 MiB".into(),
        measured: format!(
            "{} in {:.2} s; {:.1} MiB sent in all before the refusal; RSS {before:.0} → max {max:.0} MiB",
            count(outcomes),
            took.as_secs_f64(),
            sent.load(Ordering::Relaxed) as f64 / (1 << 20) as f64
        ),
        held,
    })
}

/// 2. 40 parallel sign-ins on one account, all wrong but one (in the middle).
async fn throttle_race(s: &Server) -> Result<Row, Error> {
    let email = "qa@acme.test";
    let tries = (0..40).map(|i| {
        let base = s.base.clone();
        async move {
            let password = if i == 20 {
                demo::PASSWORD
            } else {
                "wrong-password"
            };
            let (c, status) = sign_in(&base, email, password).await?;
            // A session, if any, shows on a server function that needs one.
            let has_session = c
                .post(format!("{base}/api/load_dashboard"))
                .header(header::ACCEPT, "application/json")
                .send()
                .await?
                .status()
                == StatusCode::OK;
            Ok::<_, Error>((i, status, has_session))
        }
    });
    let results: Vec<(usize, StatusCode, bool)> = futures::future::join_all(tries)
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    // 422 is a wrong password checked; 200 the right one; 429 throttled and 503 busy, unchecked.
    let verified = results
        .iter()
        .filter(|(_, s, _)| *s == StatusCode::UNPROCESSABLE_ENTITY || *s == StatusCode::OK)
        .count();
    let right = results.iter().find(|(i, _, _)| *i == 20);
    let right_ok = right.is_some_and(|(_, s, session)| (*s == StatusCode::OK) == *session);
    Ok(Row {
        scenario: "throttle race: 40 parallel sign-ins on one account (one right password)",
        goal: "at most 5 passwords checked; no session once throttled".into(),
        measured: format!(
            "{verified} checked; {}; the right password: {}",
            count(results.iter().map(|(_, s, _)| s.as_u16().to_string())),
            right.map_or("-".into(), |(_, s, session)| format!(
                "{}, session {}",
                s.as_u16(),
                if *session { "yes" } else { "no" }
            ))
        ),
        held: verified <= 5 && right_ok,
    })
}

/// 3. 500 parallel sign-ins with random emails, `/healthz` probed every 20 ms meanwhile.
async fn sign_in_flood(s: &Server) -> Result<Row, Error> {
    let before = s.rss_mib();
    let watch = RssWatch::start(s.child.id());
    let probing = Arc::new(AtomicBool::new(true));
    let probe = tokio::spawn({
        let (base, probing) = (s.base.clone(), probing.clone());
        async move {
            let c = client()?;
            let mut samples = Vec::new();
            let mut failures = 0usize;
            // Bounded: at most 60 s of probes.
            let deadline = Instant::now() + Duration::from_secs(60);
            while probing.load(Ordering::Relaxed) && Instant::now() < deadline {
                let t = Instant::now();
                match c.get(format!("{base}/healthz")).send().await {
                    Ok(r) if r.status().is_success() => samples.push(t.elapsed()),
                    _ => failures += 1,
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok::<_, Error>((samples, failures))
        }
    });
    let started = Instant::now();
    let attempts = (0..500).map(|i| {
        let base = s.base.clone();
        async move {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(i);
            let email = format!("nobody{}@example{}.test", rng.random::<u32>(), i % 7);
            let password: String = (0..16).map(|_| rng.random_range('a'..='z')).collect();
            let c = client()?;
            let r = c
                .post(format!("{base}/api/sign_in"))
                .header(header::ACCEPT, "application/json")
                .form(&[("email", email.as_str()), ("password", password.as_str())])
                .send()
                .await;
            Ok::<_, Error>(status_of(&r))
        }
    });
    let outcomes: Vec<String> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let took = started.elapsed();
    // Keep probing a moment after the flood, then stop.
    tokio::time::sleep(Duration::from_millis(500)).await;
    probing.store(false, Ordering::Relaxed);
    let (mut samples, failures) = probe.await??;
    let max = watch.stop().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = s.rss_mib();
    let p99 = percentile(&mut samples, 0.99);
    let p50 = percentile(&mut samples, 0.5);
    let server_errors = outcomes
        .iter()
        .filter(|o| o.starts_with('5') && o.as_str() != "503")
        .count();
    Ok(Row {
        scenario: "500 parallel sign-ins with random emails",
        goal: "/healthz p99 < 100 ms; RSS bounded; no 500s".into(),
        measured: format!(
            "{} in {:.2} s; /healthz p50 {} p99 {} over {} probes ({failures} failed); RSS {before:.0} → max {max:.0} → {after:.0} MiB 1 s later",
            count(outcomes),
            took.as_secs_f64(),
            ms(p50),
            ms(p99),
            samples.len()
        ),
        held: p99 < Duration::from_millis(100) && failures == 0 && server_errors == 0 && max < before + 200.0,
    })
}

/// 4. One rep forces 25 refreshes at once while a manager of another workspace browses.
async fn refresh_storm(s: &Server, rep: &Client, other: &Client) -> Result<Row, Error> {
    let page: ContactsPage = rep
        .post(format!("{}/api/list_contacts", s.base))
        .header(header::ACCEPT, "application/json")
        .send()
        .await?
        .json()
        .await?;
    let contact = page
        .rows
        .first()
        .ok_or("the demo workspace has no contacts")?
        .id;
    let browsing = Arc::new(AtomicBool::new(true));
    let browser = tokio::spawn({
        let (base, other, browsing) = (s.base.clone(), other.clone(), browsing.clone());
        async move {
            let mut samples = Vec::new();
            let mut statuses = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(60);
            while browsing.load(Ordering::Relaxed) && Instant::now() < deadline {
                let t = Instant::now();
                let r = other
                    .post(format!("{base}/api/load_dashboard"))
                    .header(header::ACCEPT, "application/json")
                    .send()
                    .await;
                samples.push(t.elapsed());
                statuses.push(status_of(&r));
                let t = Instant::now();
                let r = other
                    .get(format!("{base}/dashboard"))
                    .header(header::ACCEPT, "text/html")
                    .send()
                    .await;
                samples.push(t.elapsed());
                statuses.push(status_of(&r));
            }
            (samples, statuses)
        }
    });
    let refreshes = (0..25).map(|_| {
        let (base, rep) = (s.base.clone(), rep.clone());
        async move {
            let r = rep
                .post(format!("{base}/api/analyze_contact"))
                .form(&[
                    ("contact_id", contact.to_string()),
                    (
                        "kind",
                        AnalysisKind::SmartEngagementTips.as_str().to_owned(),
                    ),
                    ("refresh", "true".to_owned()),
                ])
                .send()
                .await;
            match r {
                Ok(res) => {
                    let status = res.status().as_u16().to_string();
                    // Read the stream to its end, as the panel does.
                    let _ = res.bytes().await;
                    status
                }
                Err(e) => status_of(&Err(e)),
            }
        }
    });
    let outcomes = futures::future::join_all(refreshes).await;
    browsing.store(false, Ordering::Relaxed);
    let (mut samples, statuses) = browser.await?;
    let fives = statuses.iter().filter(|s| s.starts_with('5')).count();
    let other_errors = statuses.iter().filter(|s| s.as_str() != "200").count();
    Ok(Row {
        scenario: "25 concurrent forced refreshes by one rep; another workspace browses",
        goal: "0 5xx for the other workspace; refreshes past the quota get 429".into(),
        measured: format!(
            "refreshes: {}; other workspace: {} requests, {fives} 5xx, {other_errors} not 200, p50 {} p99 {}",
            count(outcomes),
            statuses.len(),
            ms(percentile(&mut samples, 0.5)),
            ms(percentile(&mut samples, 0.99))
        ),
        held: fives == 0 && other_errors == 0,
    })
}

/// 5. Signed-in users each loading the dashboard page, its data and the contacts list in turn.
async fn crowd(s: &Server, users: &[Client], secs: u64) -> Result<Row, Error> {
    let until = Instant::now() + Duration::from_secs(secs);
    let walks = users.iter().cloned().map(|c| {
        let base = s.base.clone();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut errors = Vec::new();
            let mut step = 0usize;
            while Instant::now() < until {
                let t = Instant::now();
                let r = match step % 3 {
                    0 => {
                        c.get(format!("{base}/dashboard"))
                            .header(header::ACCEPT, "text/html")
                            .send()
                            .await
                    }
                    1 => {
                        c.post(format!("{base}/api/load_dashboard"))
                            .header(header::ACCEPT, "application/json")
                            .send()
                            .await
                    }
                    _ => {
                        c.post(format!("{base}/api/list_contacts"))
                            .header(header::ACCEPT, "application/json")
                            .send()
                            .await
                    }
                };
                let ok = match r {
                    Ok(res) if res.status() == StatusCode::OK => res.bytes().await.is_ok(),
                    Ok(res) => {
                        errors.push(res.status().as_u16().to_string());
                        true
                    }
                    Err(e) => {
                        errors.push(status_of(&Err(e)));
                        true
                    }
                };
                if ok {
                    samples.push(t.elapsed());
                }
                step += 1;
            }
            (samples, errors)
        })
    });
    let watch = RssWatch::start(s.child.id());
    let mut samples = Vec::new();
    let mut errors = Vec::new();
    for w in futures::future::join_all(walks).await {
        let (s, e) = w?;
        samples.extend(s);
        errors.extend(e);
    }
    let max = watch.stop().await;
    let n = samples.len() + errors.len();
    Ok(Row {
        scenario: "200 signed-in users browsing",
        goal: "0 errors; p50 and p99 reported".into(),
        measured: format!(
            "{n} requests in {secs} s ({:.0}/s); {} errors{}; p50 {} p99 {}; RSS max {max:.0} MiB",
            n as f64 / secs as f64,
            errors.len(),
            if errors.is_empty() {
                String::new()
            } else {
                format!(" ({})", count(errors.clone()))
            },
            ms(percentile(&mut samples, 0.5)),
            ms(percentile(&mut samples, 0.99))
        ),
        held: errors.is_empty(),
    })
}

async fn start_server(bin: &str, provider: &str) -> Result<Server, Error> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let child = Command::new(bin)
        .arg("serve")
        .env("SMARTCRM_ADDR", format!("127.0.0.1:{port}"))
        .env("OPENAI_BASE_URL", provider)
        .env("SMARTCRM_WORKERS", "0")
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .spawn()?;
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let c = client()?;
    let started = Instant::now();
    loop {
        if c.get(format!("{}/healthz", server.base))
            .send()
            .await
            .is_ok()
        {
            return Ok(server);
        }
        if started.elapsed() > Duration::from_secs(120) {
            return Err("smartcrm serve did not answer within 120 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let bin =
        std::env::var("SMARTCRM_BIN").map_err(|_| "set SMARTCRM_BIN to the smartcrm binary")?;
    let secs: u64 = std::env::var("ABUSE_BROWSE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60)
        .clamp(1, 600);
    // The provider answers after a second, like a fast hosted model.
    let provider = mock_provider(
        Duration::from_secs(1),
        sse_answer(&["Call ", "them ", "on ", "Tuesday."], 900, 4),
    )
    .await?;
    let mut server = start_server(&bin, &provider).await?;
    // Let the background model loading settle before the baseline.
    tokio::time::sleep(Duration::from_secs(3)).await;
    eprintln!(
        "server up at {}, RSS {:.0} MiB",
        server.base,
        server.rss_mib()
    );

    // Every session the crowd needs is made first, before the floods use up the address's
    // sign-in budget: 200 users over four demo accounts.
    // (qa@acme.test is kept out: the throttle race locks it.)
    let accounts = [
        "admin@acme.test",
        "manager@acme.test",
        "rep@acme.test",
        "admin@globex.test",
    ];
    let mut users = Vec::with_capacity(200);
    for i in 0..200 {
        users.push(signed_in(&server.base, accounts[i % accounts.len()]).await?);
    }
    let rep = signed_in(&server.base, "rep@acme.test").await?;
    let other = signed_in(&server.base, "admin@globex.test").await?;
    eprintln!("200 sessions made; RSS {:.0} MiB", server.rss_mib());

    let mut rows = Vec::new();
    for (name, row) in [
        ("huge posts", huge_posts(&server).await),
        ("throttle race", throttle_race(&server).await),
        ("sign-in flood", sign_in_flood(&server).await),
        ("refresh storm", refresh_storm(&server, &rep, &other).await),
        ("crowd", crowd(&server, &users, secs).await),
    ] {
        match row {
            Ok(r) => {
                eprintln!("{name}: {}", r.measured);
                rows.push(r);
            }
            Err(e) => {
                let _ = server.child.kill();
                return Err(format!("{name}: {e}").into());
            }
        }
    }
    let stopping = Instant::now();
    let _ = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status();
    let _ = server.child.wait();
    eprintln!(
        "server stopped {:.2} s after SIGTERM",
        stopping.elapsed().as_secs_f64()
    );
    println!();
    print(&rows);
    if rows.iter().all(|r| r.held) {
        Ok(())
    } else {
        Err("some scenario did not hold".into())
    }
}
