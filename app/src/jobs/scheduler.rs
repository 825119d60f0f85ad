//! The scheduler every process runs, and the jobs' SQL.
//!
//! `claim` takes one due job in one statement: it locks the job's row with `SKIP LOCKED` (a row
//! another process is claiming is passed over), moves `next_run_at` one period on, and inserts
//! the run, so another process that looks after the commit no longer finds it due. A run that
//! fails is recorded with its error and the job runs again at its next time. A run cut off by a
//! stopped process is marked abandoned by `purge-expired` after an hour.
use super::{Job, JobRun, JobsPage};
use crate::ssr::tenancy;
use futures::future::BoxFuture;
use sqlx::PgPool;
use std::{collections::BTreeMap, sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;

/// A job's body: given the pool, the rows it affected, or its error as text.
pub type JobFn = Arc<dyn Fn(PgPool) -> BoxFuture<'static, Result<u64, String>> + Send + Sync>;

/// The jobs this process can run, by name (names the table lacks are never claimed).
#[derive(Clone, Default)]
pub struct Registry(BTreeMap<&'static str, JobFn>);

impl Registry {
    pub fn with<F, Fut, E>(mut self, name: &'static str, f: F) -> Self
    where
        F: Fn(PgPool) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<u64, E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let f = Arc::new(f);
        self.0.insert(
            name,
            Arc::new(move |pool| {
                let f = f.clone();
                Box::pin(async move { f(pool).await.map_err(|e| e.to_string()) })
            }),
        );
        self
    }

    pub fn names(&self) -> Vec<String> {
        self.0.keys().map(|k| (*k).to_owned()).collect()
    }
}

/// How often a process looks for due jobs.
pub const TICK: Duration = Duration::from_secs(2);
/// The longest one run may take before it is recorded as failed.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(300);
/// Longest error text a run keeps.
const MAX_ERROR_CHARS: usize = 2000;

/// One claimed run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub run_id: i64,
    pub job: String,
}

/// Takes one due job among `names` for `instance`, if any is due.
pub async fn claim(
    pool: &PgPool,
    names: &[String],
    instance: &str,
) -> Result<Option<Claimed>, sqlx::Error> {
    let mut tx = tenancy::begin_anonymous(pool).await?;
    let row = sqlx::query!(
        r#"with due as (
             select name, requested_by is not null as manual from scheduled_jobs
             where (enabled or requested_by is not null) and next_run_at <= now() and name = any($1)
             order by next_run_at, name
             limit 1
             for update skip locked
           ), taken as (
             update scheduled_jobs j
                set next_run_at = now() + make_interval(secs => j.every_seconds), requested_by = null, requested_at = null
               from due where j.name = due.name
             returning j.name, due.manual
           )
           insert into job_runs (job, trigger, instance)
           select name, case when manual then 'manual' else 'schedule' end, $2 from taken
           returning id, job"#,
        names,
        instance
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row.map(|r| Claimed {
        run_id: r.id,
        job: r.job,
    }))
}

/// Records how a run ended.
pub async fn finish(
    pool: &PgPool,
    run_id: i64,
    result: &Result<u64, String>,
) -> Result<(), sqlx::Error> {
    let (outcome, rows, error) = match result {
        Ok(n) => (
            "succeeded",
            Some(i64::try_from(*n).unwrap_or(i64::MAX)),
            None,
        ),
        Err(e) => (
            "failed",
            None,
            Some(e.chars().take(MAX_ERROR_CHARS).collect::<String>()),
        ),
    };
    let mut tx = tenancy::begin_anonymous(pool).await?;
    sqlx::query!(
        "update job_runs set finished_at = clock_timestamp(), outcome = $2, rows_affected = $3, error = $4 where id = $1",
        run_id,
        outcome,
        rows,
        error
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Claims and runs due jobs until none is due. Returns the runs it made.
pub async fn run_due(
    registry: &Registry,
    pool: &PgPool,
    instance: &str,
) -> Result<usize, sqlx::Error> {
    let names = registry.names();
    let mut ran = 0;
    // Bounded: a tick runs each registered job at most once.
    for _ in 0..names.len() {
        let Some(c) = claim(pool, &names, instance).await? else {
            break;
        };
        let Some(body) = registry.0.get(c.job.as_str()) else {
            break;
        };
        let span = tracing::info_span!("job", job = %c.job, run = c.run_id);
        let started = std::time::Instant::now();
        // On a task of its own: a job that panics is a failed run, not a dead scheduler.
        let mut run = tokio::spawn(body(pool.clone()));
        let result = match tokio::time::timeout(RUN_TIMEOUT, &mut run).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => Err(format!("the job stopped unexpectedly: {e}")),
            Err(_) => {
                run.abort();
                Err(format!("timed out after {} s", RUN_TIMEOUT.as_secs()))
            }
        };
        span.in_scope(|| match &result {
            Ok(n) => tracing::info!(
                rows = n,
                ms = started.elapsed().as_millis() as u64,
                "job ran"
            ),
            Err(e) => {
                tracing::warn!(error = %e, ms = started.elapsed().as_millis() as u64, "job failed")
            }
        });
        finish(pool, c.run_id, &result).await?;
        ran += 1;
    }
    Ok(ran)
}

/// The scheduler loop of one process, until `stop`.
pub async fn run(registry: Registry, pool: PgPool, instance: String, stop: CancellationToken) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        if let Err(err) = run_due(&registry, &pool, &instance).await {
            tracing::warn!(error = %err, "the scheduler could not reach the database");
        }
    }
}

/// Asks for a run of `name` as soon as a process looks (within `TICK`). False when no such job.
pub async fn request(pool: &PgPool, name: &str, user_id: uuid::Uuid) -> Result<bool, sqlx::Error> {
    let mut tx = tenancy::begin_anonymous(pool).await?;
    let n = sqlx::query!(
        "update scheduled_jobs set next_run_at = now(), requested_by = $2, requested_at = now() where name = $1",
        name,
        user_id
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(n > 0)
}

/// Marks runs of processes that stopped mid-run, and forgets runs older than 30 days.
pub async fn purge_runs(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let mut tx = tenancy::begin_anonymous(pool).await?;
    let abandoned = sqlx::query!(
        "update job_runs set outcome = 'failed', finished_at = now(),
                error = 'abandoned: the process running it stopped before it finished'
         where outcome = 'running' and started_at < now() - interval '1 hour'"
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let old = sqlx::query!("delete from job_runs where started_at < now() - interval '30 days'")
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(abandoned + old)
}

/// The Jobs page: every job with its last run and failures in 24 h, and the latest 50 runs.
pub async fn page(pool: &PgPool) -> Result<JobsPage, sqlx::Error> {
    let mut tx = tenancy::begin_anonymous(pool).await?;
    let runs = sqlx::query_as!(
        JobRun,
        "select id, job, trigger, instance, started_at, finished_at, outcome, rows_affected, error
         from job_runs order by id desc limit 50"
    )
    .fetch_all(&mut *tx)
    .await?;
    let rows = sqlx::query!(
        r#"select j.name, j.description, j.every_seconds, j.enabled, j.next_run_at, j.requested_by is not null as "requested!",
                  (select count(*) from job_runs r where r.job = j.name and r.outcome = 'failed'
                     and r.started_at > now() - interval '24 hours') as "failures!",
                  last.id as "last_id?", last.trigger as "last_trigger?", last.instance as "last_instance?",
                  last.started_at as "last_started?", last.finished_at as last_finished, last.outcome as "last_outcome?",
                  last.rows_affected as last_rows, last.error as last_error
           from scheduled_jobs j
           left join lateral (select * from job_runs r where r.job = j.name order by r.id desc limit 1) last on true
           order by j.name"#
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let jobs = rows
        .into_iter()
        .map(|r| Job {
            last: match (
                r.last_id,
                r.last_trigger,
                r.last_instance,
                r.last_started,
                r.last_outcome,
            ) {
                (Some(id), Some(trigger), Some(instance), Some(started_at), Some(outcome)) => {
                    Some(JobRun {
                        id,
                        job: r.name.clone(),
                        trigger,
                        instance,
                        started_at,
                        finished_at: r.last_finished,
                        outcome,
                        rows_affected: r.last_rows,
                        error: r.last_error,
                    })
                }
                _ => None,
            },
            name: r.name,
            description: r.description,
            every_seconds: r.every_seconds,
            enabled: r.enabled,
            next_run_at: r.next_run_at,
            requested: r.requested,
            failures_24h: r.failures,
        })
        .collect();
    Ok(JobsPage {
        jobs,
        runs,
        can_run: false,
    })
}
