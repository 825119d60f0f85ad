//! Scheduled jobs (issue 15): a due run is taken by exactly one of several processes, runs are
//! recorded with their outcome, "Run now" is the operator's admins' and audited.
use crate::{
    helpers::{app_url, owner, spawn_app},
    rules::answer,
};
use app::jobs::{
    scheduler::{claim, run_due, Registry},
    JobsPage,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

#[sqlx::test(migrations = false)]
async fn a_due_run_is_taken_by_exactly_one_of_several_processes_and_recorded(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    let mut conn = owner(&app).await;
    // Three processes, each with its own pool, as three servers would have.
    let mut pools = Vec::new();
    for _ in 0..3 {
        pools.push(
            PgPoolOptions::new()
                .max_connections(4)
                .connect(&app_url(&app.owner))
                .await
                .expect("pool"),
        );
    }
    let names: Vec<String> = ["evaluate-alerts", "purge-expired"]
        .map(String::from)
        .to_vec();
    sqlx::query("update scheduled_jobs set next_run_at = now() + interval '1 hour'")
        .execute(&mut conn)
        .await
        .expect("quiet");
    sqlx::query("update scheduled_jobs set next_run_at = now() - interval '1 second' where name = 'evaluate-alerts'")
        .execute(&mut conn)
        .await
        .expect("due");

    // Twelve claims at once across the three processes: one wins.
    let claims = futures::future::join_all((0..12).map(|i| {
        let pool = pools[i % 3].clone();
        let names = names.clone();
        async move {
            claim(&pool, &names, &format!("process-{}", i % 3))
                .await
                .expect("claim")
        }
    }))
    .await;
    let won: Vec<_> = claims.into_iter().flatten().collect();
    assert_eq!(won.len(), 1, "{won:?}");
    assert_eq!(won[0].job, "evaluate-alerts");
    let later: bool = sqlx::query_scalar("select next_run_at > now() + interval '50 seconds' from scheduled_jobs where name = 'evaluate-alerts'")
        .fetch_one(&mut conn)
        .await
        .expect("next");
    assert!(later, "the claim moved the next run one period on");

    // Whole runs: both jobs due, three schedulers at once; each job runs once, failures kept.
    sqlx::query(
        "update scheduled_jobs set next_run_at = now() - interval '1 second' where name = any($1)",
    )
    .bind(&names)
    .execute(&mut conn)
    .await
    .expect("due");
    let calls = Arc::new(AtomicUsize::new(0));
    let registry = {
        let (a, b) = (calls.clone(), calls.clone());
        Registry::default()
            .with("evaluate-alerts", move |_| {
                let a = a.clone();
                async move {
                    a.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    Ok::<u64, String>(3)
                }
            })
            .with("purge-expired", move |_| {
                let b = b.clone();
                async move {
                    b.fetch_add(1, Ordering::SeqCst);
                    Err::<u64, String>("the disk is full".into())
                }
            })
    };
    let ran = futures::future::join_all(pools.iter().enumerate().map(|(i, pool)| {
        let registry = registry.clone();
        async move {
            run_due(&registry, pool, &format!("process-{i}"))
                .await
                .expect("run")
        }
    }))
    .await;
    assert_eq!(ran.iter().sum::<usize>(), 2, "{ran:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    type Run = (String, String, Option<i64>, Option<String>, bool);
    let runs: Vec<Run> = sqlx::query_as(
        "select job, outcome, rows_affected, error, finished_at >= started_at from job_runs where trigger = 'schedule' and instance like 'process-%' and finished_at is not null order by job",
    )
    .fetch_all(&mut conn)
    .await
    .expect("runs");
    assert_eq!(
        runs,
        [
            (
                "evaluate-alerts".into(),
                "succeeded".into(),
                Some(3),
                None,
                true
            ),
            (
                "purge-expired".into(),
                "failed".into(),
                None,
                Some("the disk is full".into()),
                true
            ),
        ]
    );

    // "Run now": the operator's admin asks, the next process takes it as a manual run.
    app.sign_in_as("admin@acme.test").await;
    answer::<()>(app.call("run_job_now", &[("name", "purge-expired")]).await)
        .await
        .expect("run now");
    assert!(matches!(
        answer::<()>(app.call("run_job_now", &[("name", "nap")]).await).await,
        Err((422, _))
    ));
    let page: JobsPage = answer(app.call("load_jobs", &[]).await)
        .await
        .expect("jobs");
    assert!(page.can_run);
    let purge = page
        .jobs
        .iter()
        .find(|j| j.name == "purge-expired")
        .expect("listed");
    assert!(purge.requested);
    assert_eq!(purge.failures_24h, 1);
    assert_eq!(
        purge.last.as_ref().map(|r| r.outcome.as_str()),
        Some("failed")
    );
    let c = claim(&pools[0], &names, "process-0")
        .await
        .expect("claim")
        .expect("taken");
    assert_eq!(c.job, "purge-expired");
    let trigger: String = sqlx::query_scalar("select trigger from job_runs where id = $1")
        .bind(c.run_id)
        .fetch_one(&mut conn)
        .await
        .expect("run");
    assert_eq!(trigger, "manual");
    let audited: i64 =
        sqlx::query_scalar("select count(*) from audit_log where action = 'job.run_requested'")
            .fetch_one(&mut conn)
            .await
            .expect("audit");
    assert_eq!(audited, 1);

    // Another workspace's admin sees the jobs but may not run them; a rep sees nothing.
    let globex = app.another_browser();
    globex.sign_in_as("admin@globex.test").await;
    let theirs: JobsPage = answer(globex.call("load_jobs", &[]).await)
        .await
        .expect("jobs");
    assert!(!theirs.can_run);
    assert!(matches!(
        answer::<()>(
            globex
                .call("run_job_now", &[("name", "purge-expired")])
                .await
        )
        .await,
        Err((403, _))
    ));
    let rep = app.another_browser();
    rep.sign_in_as("rep@acme.test").await;
    assert!(matches!(
        answer::<JobsPage>(rep.call("load_jobs", &[]).await).await,
        Err((403, _))
    ));

    // The real purge job runs clean against this database.
    let real = server::startup::jobs(&app.state, 900);
    sqlx::query("update scheduled_jobs set next_run_at = now() - interval '1 second', enabled = true where name = 'purge-expired'")
        .execute(&mut conn)
        .await
        .expect("due");
    assert_eq!(
        run_due(&real, &app.pool, "process-real")
            .await
            .expect("run"),
        1
    );
    let outcome: String =
        sqlx::query_scalar("select outcome from job_runs where instance = 'process-real'")
            .fetch_one(&mut conn)
            .await
            .expect("outcome");
    assert_eq!(outcome, "succeeded");

    // A job that panics is a failed run with the reason, and the scheduler carries on.
    let panicky =
        app::jobs::scheduler::Registry::default().with("purge-expired", |pool| async move {
            if !pool.is_closed() {
                panic!("a bug in a job");
            }
            Ok::<u64, String>(0)
        });
    sqlx::query("update scheduled_jobs set next_run_at = now() - interval '1 second' where name = 'purge-expired'")
        .execute(&mut conn)
        .await
        .expect("due");
    assert_eq!(
        run_due(&panicky, &app.pool, "process-panic")
            .await
            .expect("the scheduler survives"),
        1
    );
    let (outcome, error): (String, Option<String>) =
        sqlx::query_as("select outcome, error from job_runs where instance = 'process-panic'")
            .fetch_one(&mut conn)
            .await
            .expect("outcome");
    assert_eq!(outcome, "failed");
    assert!(
        error
            .as_deref()
            .unwrap_or_default()
            .contains("stopped unexpectedly"),
        "{error:?}"
    );
}
