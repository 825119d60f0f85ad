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
use tokio::sync::{watch, Semaphore};
use tracing::Instrument;

/// How many similar examples of each polarity the model sees.
const POSITIVE_EXAMPLES: i64 = 3;
const NEGATIVE_EXAMPLES: i64 = 2;
/// Examples embedded per pass when some have no vector yet.
const EMBED_BATCH: i64 = 32;

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

    /// Works until `shutdown` turns true, then waits (up to one lease) for tasks in progress.
    /// Tasks still unfinished then keep their lease and another worker resumes them.
    pub async fn run(
        self: Arc<Self>,
        settings: WorkerSettings,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let slots = Arc::new(Semaphore::new(settings.concurrency.max(1)));
        let settings = Arc::new(settings);
        tracing::info!(worker = %settings.name, concurrency = settings.concurrency, "pipeline worker started");
        // A dropped sender counts as the signal to stop.
        while !*shutdown.borrow() && shutdown.has_changed().is_ok() {
            let free = slots.available_permits();
            if free == 0 {
                tokio::select! {
                    permit = slots.clone().acquire_owned() => drop(permit),
                    _ = shutdown.changed() => {}
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
                    _ = tokio::time::sleep(settings.idle_poll) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            for c in claimed {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    return;
                };
                let (me, settings) = (self.clone(), settings.clone());
                tokio::spawn(async move {
                    me.process(c, &settings).await;
                    drop(permit);
                });
            }
        }
        let all = u32::try_from(settings.concurrency.max(1)).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(settings.lease, slots.acquire_many(all)).await;
        tracing::info!(worker = %settings.name, "pipeline worker stopped");
    }

    /// Takes one claimed task as far as it goes now. Never panics; problems are logged, and a
    /// task whose worker gave up is resumed by another when the lease expires.
    pub async fn process(&self, c: Claimed, settings: &WorkerSettings) {
        let span = tracing::info_span!("pipeline_task", task_id = %c.task_id, tenant_id = %c.tenant_id, worker = %settings.name, from = %c.state);
        let held = Held {
            c,
            version: c.version,
            worker: &settings.name,
        };
        let result = async {
            match c.state {
                TaskState::Approved => self.deliver(&held).await,
                s if s == TaskState::Pending
                    || s == TaskState::RetryScheduled
                    || s.is_in_flight() =>
                {
                    self.attempt(held, settings.lease).await
                }
                other => Err(StepError::Illegal(format!(
                    "claimed a task in state {other}"
                ))),
            }
        }
        .instrument(span)
        .await;
        match result {
            Ok(()) => {}
            Err(StepError::LeaseLost(why)) => {
                tracing::info!(task_id = %c.task_id, why, "stopped: another worker has the task")
            }
            Err(e) => {
                tracing::warn!(task_id = %c.task_id, error = %e, "task step failed; it is resumed when the lease expires")
            }
        }
    }
}
