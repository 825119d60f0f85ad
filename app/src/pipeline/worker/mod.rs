//! The pipeline worker: orchestration only. Runs inside the server (`SMARTCRM_WORKERS`, may be
//! 0) and alone as `smartcrm worker`; any number of them share the work through PostgreSQL:
//!
//! - `db::work::claim` leases claimable tasks (`FOR UPDATE SKIP LOCKED`) and bumps their version;
//! - each step is a `db::transition` at the version it was decided on, so a worker that lost
//!   its lease (it stalled and another took over) fails its next move and stops;
//! - a worker renews its lease while the model writes; a crashed worker's lease expires and
//!   another resumes the task from `context_loading`;
//! - delivery is the move to `delivered`, which marks the draft delivered, unique per task: a
//!   task is never delivered twice.
//!
//! This file is the runtime (claiming, concurrency, shutdown); `steps` takes one task through
//! an attempt. The SQL is in `db`, the prompt in `prompt`, the scores in `quality`, the rules in
//! `rules` and what a decision means for the task in `decision`.
mod steps;
use super::{
    db::{self, work::Claimed, MoveError},
    quality::readability::Syllables,
    rules::RuleEngine,
    state::TaskState,
};
use crate::{ai::gateway::Gateway, ssr::tenancy};
use sqlx::PgPool;
use std::{sync::Arc, time::Duration};
use steps::Held;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// How many similar examples of each polarity the model sees.
/// Examples embedded per pass when some have no vector yet.
const EMBED_BATCH: i64 = 32;
/// How long a stopping worker gives its tasks to let go.
pub const STOP_GRACE: Duration = Duration::from_millis(1500);
/// A failed attempt waits this long times the attempts made before the next one.
const RETRY_PAUSE_SECS: f64 = 30.0;

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Unique per worker: recorded as the lease owner and in the history.
    pub name: String,
    pub lease: Duration,
    /// How long an idle worker waits before looking for work again.
    pub idle_poll: Duration,
    /// Tasks in progress at once in this worker.
    pub concurrency: usize,
}

impl WorkerSettings {
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            lease: Duration::from_secs(60),
            idle_poll: Duration::from_millis(500),
            concurrency: 16,
        }
    }
}

/// What the workers share: the database, the AI gateway, compiled rules and the dictionary.
pub struct Pipeline {
    pool: PgPool,
    gateway: Arc<Gateway>,
    rules: RuleEngine,
    syllables: Arc<Syllables>,
}

/// Why a task's processing stopped early. Only `Db` is unexpected: the others are the
/// pipeline working as designed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("lease lost: {0}")]
    LeaseLost(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Illegal(String),
    /// The process is stopping.
    #[error("the worker is stopping")]
    Stopped,
}

impl From<MoveError> for StepError {
    fn from(e: MoveError) -> Self {
        match e {
            MoveError::Conflict { .. } => StepError::LeaseLost(e.to_string()),
            MoveError::Db(e) => StepError::Db(e),
            MoveError::Illegal(_) | MoveError::DeliverOnly => StepError::Illegal(e.to_string()),
        }
    }
}

impl Pipeline {
    pub fn new(pool: PgPool, gateway: Arc<Gateway>, syllables: Arc<Syllables>) -> Arc<Self> {
        Arc::new(Self {
            pool,
            gateway,
            rules: RuleEngine::new(),
            syllables,
        })
    }

    pub fn rules(&self) -> &RuleEngine {
        &self.rules
    }

    pub fn syllables(&self) -> &Syllables {
        &self.syllables
    }

    /// Leases up to `limit` claimable tasks of any workspace.
    pub async fn claim(
        &self,
        worker: &str,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<Claimed>, sqlx::Error> {
        let mut tx = tenancy::begin_anonymous(&self.pool).await?;
        let claimed = db::work::claim(&mut tx, worker, lease, limit).await?;
        tx.commit().await?;
        Ok(claimed)
    }

    /// Works until `stop` is cancelled, then gives the tasks in progress `STOP_GRACE` to let
    /// go: each one stops where it is and expires its lease, so another worker resumes it at
    /// once (the interrupted attempt counts).
    pub async fn run(self: Arc<Self>, settings: WorkerSettings, stop: CancellationToken) {
        let slots = Arc::new(Semaphore::new(settings.concurrency.max(1)));
        let settings = Arc::new(settings);
        tracing::info!(worker = %settings.name, concurrency = settings.concurrency, "pipeline worker started");
        while !stop.is_cancelled() {
            let free = slots.available_permits();
            if free == 0 {
                tokio::select! {
                    permit = slots.clone().acquire_owned() => drop(permit),
                    () = stop.cancelled() => {}
                }
                continue;
            }
            let claimed = match self.claim(&settings.name, settings.lease, free).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(worker = %settings.name, error = %e, "claiming tasks failed");
                    Vec::new()
                }
            };
            if claimed.is_empty() {
                tokio::select! {
                    () = tokio::time::sleep(settings.idle_poll) => {}
                    () = stop.cancelled() => {}
                }
                continue;
            }
            for c in claimed {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    return;
                };
                let (me, settings, stop) = (self.clone(), settings.clone(), stop.clone());
                tokio::spawn(async move {
                    me.process_until(c, &settings, &stop).await;
                    drop(permit);
                });
            }
        }
        let all = u32::try_from(settings.concurrency.max(1)).unwrap_or(u32::MAX);
        if tokio::time::timeout(STOP_GRACE, slots.acquire_many(all))
            .await
            .is_err()
        {
            tracing::warn!(worker = %settings.name, "tasks still letting go after {STOP_GRACE:?}; their leases expire by themselves");
        }
        tracing::info!(worker = %settings.name, "pipeline worker stopped");
    }

    /// `process_until` with nothing to stop it.
    pub async fn process(&self, c: Claimed, settings: &WorkerSettings) {
        self.process_until(c, settings, &CancellationToken::new())
            .await;
    }

    /// Takes one claimed task as far as it goes now, renewing its lease through every step
    /// (embedding and scoring as much as generation). Never panics. A step that fails is tried
    /// again later, and a task out of attempts fails with the error (`set_back`); a task whose
    /// worker died is resumed by another when the lease expires, and that counts as an attempt.
    /// When `stop` is cancelled the task stops where it is and its lease expires at once.
    pub async fn process_until(
        &self,
        c: Claimed,
        settings: &WorkerSettings,
        stop: &CancellationToken,
    ) {
        let span = tracing::info_span!("pipeline_task", task_id = %c.task_id, tenant_id = %c.tenant_id, worker = %settings.name, from = %c.state);
        let held = Held {
            c,
            version: c.version,
            worker: &settings.name,
        };
        let work = async {
            match c.state {
                TaskState::Approved => self.deliver(&held).await,
                s if s == TaskState::Pending
                    || s == TaskState::RetryScheduled
                    || s.is_in_flight() =>
                {
                    self.attempt(held).await
                }
                other => Err(StepError::Illegal(format!(
                    "claimed a task in state {other}"
                ))),
            }
        }
        .instrument(span.clone());
        let result = tokio::select! {
            r = work => r,
            lost = self.keep_lease(&c, &settings.name, settings.lease) => Err(lost),
            () = stop.cancelled() => Err(StepError::Stopped),
        };
        match result {
            Ok(()) => {}
            Err(StepError::Stopped) => {
                let let_go = tokio::time::timeout(STOP_GRACE, self.let_go(&c, &settings.name));
                match let_go.await {
                    Ok(Ok(())) => {
                        tracing::info!(parent: &span, task_id = %c.task_id, "stopped; the lease is expired for the next worker")
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(parent: &span, task_id = %c.task_id, error = %e, "stopped; expiring the lease failed, so it expires by itself")
                    }
                    Err(_) => {
                        tracing::warn!(parent: &span, task_id = %c.task_id, "stopped; expiring the lease timed out, so it expires by itself")
                    }
                }
            }
            Err(StepError::LeaseLost(why)) => {
                tracing::info!(parent: &span, task_id = %c.task_id, why, "stopped: another worker has the task")
            }
            Err(e) => {
                tracing::warn!(parent: &span, task_id = %c.task_id, error = %e, "task step failed");
                if let Err(again) = self.set_back(&c, &settings.name, &e.to_string()).await {
                    tracing::warn!(parent: &span, task_id = %c.task_id, error = %again, "could not set the task back; it is resumed when the lease expires");
                }
            }
        }
    }

    /// Renews the lease every third of its length; returns only when it was lost.
    async fn keep_lease(&self, c: &Claimed, worker: &str, lease: Duration) -> StepError {
        let scope = tenancy::Scope {
            tenant_id: c.tenant_id,
            user_id: uuid::Uuid::nil(),
        };
        loop {
            tokio::time::sleep(lease / 3).await;
            let renewed = async {
                let mut tx = tenancy::begin(&self.pool, scope).await?;
                let kept = db::work::renew_lease(&mut tx, c.task_id, worker, lease).await?;
                tx.commit().await?;
                Ok::<_, sqlx::Error>(kept)
            }
            .await;
            match renewed {
                Ok(true) => {}
                Ok(false) => {
                    return StepError::LeaseLost("another worker took over the task".into())
                }
                Err(e) => {
                    tracing::warn!(task_id = %c.task_id, error = %e, "renewing the lease failed; trying again")
                }
            }
        }
    }

    /// Lets go of a task on the way out: its lease ends now, so the next claim resumes it.
    async fn let_go(&self, c: &Claimed, worker: &str) -> Result<(), sqlx::Error> {
        let scope = tenancy::Scope {
            tenant_id: c.tenant_id,
            user_id: uuid::Uuid::nil(),
        };
        let mut tx = tenancy::begin(&self.pool, scope).await?;
        db::work::expire_lease(&mut tx, c.task_id, worker).await?;
        tx.commit().await
    }

    /// A step failed with `error`: the task is tried again after a pause while attempts remain,
    /// else it fails with the error (and waits in the escalation queue). Nothing happens when
    /// the task is no longer this worker's.
    async fn set_back(&self, c: &Claimed, worker: &str, error: &str) -> Result<(), MoveError> {
        let scope = tenancy::Scope {
            tenant_id: c.tenant_id,
            user_id: uuid::Uuid::nil(),
        };
        let mut tx = tenancy::begin(&self.pool, scope).await?;
        let Some(h) = db::work::held(&mut tx, c.task_id, worker).await? else {
            return Ok(());
        };
        if !h.state.is_in_flight() {
            return Ok(());
        }
        let error = crate::error::shorten_quotes(error);
        if h.attempts >= h.max_attempts {
            let why = format!(
                "Failed on attempt {} of {}: {error}",
                h.attempts, h.max_attempts
            );
            db::fail(&mut tx, c.task_id, h.version, h.state, worker, &why).await?;
        } else {
            let wait = RETRY_PAUSE_SECS * f64::from(h.attempts.max(1));
            let why = format!("Attempt {} failed: {error}", h.attempts);
            let reason = format!("{why}; trying again in {wait:.0} s");
            let m = db::Move::system(
                c.task_id,
                h.version,
                h.state,
                TaskState::RetryScheduled,
                Some(worker),
                &reason,
            );
            let changes = db::Changes {
                status_reason: Some(Some(why)),
                run_after_secs: Some(wait),
                release_lease: true,
                ..Default::default()
            };
            db::transition(&mut tx, &m, &changes).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
