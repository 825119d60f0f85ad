//! The shared analysis cache and single flight.
//!
//! Analyses live in Postgres (`ai_analysis_cache`), so every app instance serves the same
//! cached answer. A row is valid while its context fingerprint matches and it is younger than
//! the TTL. To generate, an instance first claims the row (`status = 'pending'`); other
//! instances see the claim and wait for the answer instead of calling the model again. Inside
//! one process, concurrent requests for the same analysis join the one generation in flight and
//! all see its tokens stream in.
use super::AnalysisKind;
use crate::ai::{
    gateway::{ChatRequest, Gateway, GatewayEvent},
    AiFailure,
};
use crate::ssr::tenancy::{self, Scope, Tx};
use sqlx::PgPool;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// What open streams are told when the server stops under them.
pub const RESTARTING: &str = "the server is restarting, so this answer stopped; retry in a moment";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub tenant_id: Uuid,
    pub contact_id: Uuid,
    pub kind: AnalysisKind,
}

/// A cached analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct Cached {
    pub text: String,
    pub model: String,
    pub provider: String,
    pub age_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub enum Phase {
    #[default]
    Starting,
    /// Another instance holds the claim.
    Waiting,
    /// The local model is busy with this many requests before ours.
    Queued {
        ahead: u64,
    },
    Streaming,
    Done {
        latency_ms: u64,
        fallback_used: bool,
        truncated: bool,
    },
    /// Finished elsewhere while we waited; served like a cache hit.
    FromCache {
        age_secs: u64,
    },
    Failed(AiFailure),
}

/// The state of one generation, as every listener sees it.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub text: String,
    pub model: String,
    pub provider: String,
    pub attempt: u32,
    pub phase: Phase,
    /// How many times the text so far was voided (an attempt failed after writing), and why
    /// the last time.
    pub restarts: u32,
    pub restart_reason: String,
    /// After a failure: the previous good answer, which the cache still holds.
    pub kept: Option<Cached>,
}

impl Snapshot {
    /// The answer another request or instance finished, served like a cache hit.
    fn serve_cached(&mut self, cached: Cached) {
        self.text = cached.text;
        self.model = cached.model;
        self.provider = cached.provider;
        self.phase = Phase::FromCache {
            age_secs: cached.age_secs,
        };
    }
}

struct Flight {
    fingerprint: String,
    /// Listeners subscribe here. The hub holds no receiver itself, so when the last listener
    /// goes away the generation sees it and stops.
    tx: Arc<watch::Sender<Snapshot>>,
}

pub struct AnalysisHub {
    inflight: Mutex<HashMap<Key, Flight>>,
    pub ttl: Duration,
    /// How long a claim holds before another instance may take over (the generation's bound).
    pub claim: Duration,
    pub poll: Duration,
    /// Cancelled when the server stops: generations end with a "restarting" failure, so open
    /// streams close at once and the claims are freed for another instance.
    stopping: CancellationToken,
}

/// Everything a generation needs.
pub struct Job {
    pub key: Key,
    pub scope: Scope,
    pub fingerprint: String,
    pub refresh: bool,
    pub request: ChatRequest,
}

enum Claim {
    Ours,
    Ready(Cached),
    Busy,
}

impl AnalysisHub {
    pub fn new(ttl: Duration, claim: Duration, stopping: CancellationToken) -> Self {
        Self {
            inflight: Mutex::new(HashMap::new()),
            ttl,
            claim,
            poll: Duration::from_millis(200),
            stopping,
        }
    }

    fn flights(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Flight>> {
        self.inflight
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The cached analysis for this fingerprint, if it is younger than the TTL.
    pub async fn lookup(
        &self,
        tx: &mut Tx,
        key: &Key,
        fingerprint: &str,
    ) -> Result<Option<Cached>, sqlx::Error> {
        let row = sqlx::query!(
            r#"select content as "content!", coalesce(model, '') as "model!", coalesce(provider, '') as "provider!",
                      greatest(extract(epoch from now() - created_at), 0)::float8 as "age!"
               from ai_analysis_cache
               where tenant_id = $1 and contact_id = $2 and kind = $3 and fingerprint = $4 and status = 'ready'
                 and created_at > now() - make_interval(secs => $5)"#,
            key.tenant_id,
            key.contact_id,
            key.kind.as_str(),
            fingerprint,
            self.ttl.as_secs_f64()
        )
        .fetch_optional(&mut **tx)
        .await?;
        Ok(row.map(|r| Cached {
            text: r.content,
            model: r.model,
            provider: r.provider,
            age_secs: r.age as u64,
        }))
    }

    /// Joins the generation of this analysis in flight in this process, or starts one.
    pub fn join_or_start(
        self: &Arc<Self>,
        gateway: Arc<Gateway>,
        pool: PgPool,
        job: Job,
    ) -> watch::Receiver<Snapshot> {
        let mut flights = self.flights();
        if let Some(flight) = flights.get(&job.key) {
            if flight.fingerprint == job.fingerprint
                && !matches!(flight.tx.borrow().phase, Phase::Failed(_))
                && !flight.tx.is_closed()
            {
                return flight.tx.subscribe();
            }
        }
        let (tx, rx) = watch::channel(Snapshot::default());
        let tx = Arc::new(tx);
        flights.insert(
            job.key.clone(),
            Flight {
                fingerprint: job.fingerprint.clone(),
                tx: Arc::clone(&tx),
            },
        );
        drop(flights);
        let hub = Arc::clone(self);
        tokio::spawn(async move {
            let key = job.key.clone();
            hub.lead(gateway, pool, job, &tx).await;
            let mut flights = hub.flights();
            if flights.get(&key).is_some_and(|f| Arc::ptr_eq(&f.tx, &tx)) {
                flights.remove(&key);
            }
        });
        rx
    }

    async fn lead(
        &self,
        gateway: Arc<Gateway>,
        pool: PgPool,
        job: Job,
        tx: &watch::Sender<Snapshot>,
    ) {
        let fail = |message: String| {
            tx.send_modify(|s| {
                s.phase = Phase::Failed(AiFailure {
                    provider: gateway.provider_of(&job.request.model).to_owned(),
                    model: job.request.model.clone(),
                    message,
                    after_ms: 0,
                    attempts: 0,
                })
            })
        };
        let mut refresh = job.refresh;
        loop {
            match self.claim(&pool, &job, refresh).await {
                Err(err) => {
                    tracing::error!(error = %err, "analysis cache claim failed");
                    fail(format!("the analysis cache is unavailable: {err}"));
                    return;
                }
                Ok(Claim::Ready(cached)) => {
                    tx.send_modify(|s| s.serve_cached(cached));
                    return;
                }
                Ok(Claim::Ours) => {
                    self.generate(&gateway, &pool, &job, tx).await;
                    return;
                }
                Ok(Claim::Busy) => {
                    tx.send_modify(|s| s.phase = Phase::Waiting);
                    // Someone else's refresh already does what ours would.
                    refresh = false;
                    let deadline = tokio::time::Instant::now() + self.claim;
                    loop {
                        tokio::select! {
                            () = tokio::time::sleep(self.poll) => {}
                            () = self.stopping.cancelled() => {
                                fail(RESTARTING.into());
                                return;
                            }
                        }
                        if tx.is_closed() {
                            return;
                        }
                        let state = self.peek(&pool, &job).await;
                        match state {
                            Ok(Peek::Ready(cached)) => {
                                tx.send_modify(|s| s.serve_cached(cached));
                                return;
                            }
                            Ok(Peek::Pending) if tokio::time::Instant::now() < deadline => continue,
                            // Gone, expired, or made from another context: try to claim again.
                            Ok(_) => break,
                            Err(err) => {
                                fail(format!("the analysis cache is unavailable: {err}"));
                                return;
                            }
                        }
                    }
                }
            }
        }
    }

    async fn generate(
        &self,
        gateway: &Arc<Gateway>,
        pool: &PgPool,
        job: &Job,
        tx: &watch::Sender<Snapshot>,
    ) {
        let mut events = gateway.stream(job.request.clone());
        loop {
            let event = tokio::select! {
                event = events.recv() => event,
                () = tx.closed() => {
                    // Every listener went away: stop the model (dropping the receiver cancels
                    // the call) and free the claim for the next request.
                    drop(events);
                    tracing::info!(kind = job.key.kind.as_str(), "analysis cancelled: every listener left");
                    if let Err(err) = self.release(pool, job).await {
                        tracing::warn!(error = %err, "could not release the analysis claim");
                    }
                    return;
                }
                () = self.stopping.cancelled() => {
                    // The server is stopping: stop the model, free the claim (keeping the
                    // previous answer), and tell every listener why.
                    drop(events);
                    let kept = tokio::time::timeout(Duration::from_secs(1), self.release(pool, job))
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .flatten();
                    tx.send_modify(|s| {
                        s.kept = kept;
                        s.phase = Phase::Failed(AiFailure {
                            provider: s.provider.clone(),
                            model: s.model.clone(),
                            message: RESTARTING.into(),
                            after_ms: 0,
                            attempts: s.attempt,
                        });
                    });
                    return;
                }
            };
            let Some(event) = event else { break };
            match event {
                GatewayEvent::Attempt {
                    model,
                    provider,
                    attempt,
                } => tx.send_modify(|s| {
                    s.model = model;
                    s.provider = provider;
                    s.attempt = attempt;
                    s.phase = Phase::Streaming;
                }),
                GatewayEvent::Queued { ahead } => tx.send_modify(|s| {
                    s.phase = if ahead > 0 {
                        Phase::Queued { ahead }
                    } else {
                        Phase::Streaming
                    };
                }),
                GatewayEvent::Delta(text) => tx.send_modify(|s| {
                    s.text.push_str(&text);
                    s.phase = Phase::Streaming;
                }),
                GatewayEvent::Restart { reason } => tx.send_modify(|s| {
                    s.text.clear();
                    s.restarts += 1;
                    s.restart_reason = reason;
                }),
                GatewayEvent::Done(outcome) => {
                    // A cut answer is shown as such, never cached as if it were whole.
                    if outcome.truncated {
                        if let Err(err) = self.release(pool, job).await {
                            tracing::warn!(error = %err, "could not release the analysis claim");
                        }
                    } else {
                        let text = tx.borrow().text.clone();
                        if let Err(err) = self
                            .store(pool, job, &text, &outcome.model, &outcome.provider)
                            .await
                        {
                            tracing::warn!(error = %err, "could not store the analysis in the cache");
                        }
                    }
                    tx.send_modify(|s| {
                        s.model = outcome.model.clone();
                        s.provider = outcome.provider.clone();
                        s.phase = Phase::Done {
                            latency_ms: outcome.latency.as_millis() as u64,
                            fallback_used: outcome.fallback_used,
                            truncated: outcome.truncated,
                        };
                    });
                    return;
                }
                GatewayEvent::Failed(failure) => {
                    let kept = self.release(pool, job).await.unwrap_or_else(|err| {
                        tracing::warn!(error = %err, "could not release the analysis claim");
                        None
                    });
                    tx.send_modify(|s| {
                        s.kept = kept;
                        s.phase = Phase::Failed(failure);
                    });
                    return;
                }
            }
        }
        // The gateway always ends with Done or Failed; reaching here means it stopped early.
        let _ = self.release(pool, job).await;
        tx.send_modify(|s| {
            s.phase = Phase::Failed(AiFailure {
                provider: gateway.provider_of(&job.request.model).to_owned(),
                model: job.request.model.clone(),
                message: "the AI call stopped without an answer".into(),
                after_ms: 0,
                attempts: s.attempt,
            })
        });
    }

    async fn claim(&self, pool: &PgPool, job: &Job, refresh: bool) -> Result<Claim, sqlx::Error> {
        let mut tx = tenancy::begin(pool, job.scope).await?;
        let claimed = sqlx::query_scalar!(
            r#"insert into ai_analysis_cache (tenant_id, contact_id, kind, fingerprint, status, claimed_until)
               values ($1, $2, $3, $4, 'pending', now() + make_interval(secs => $5))
               on conflict (tenant_id, contact_id, kind) do update
                 set fingerprint = excluded.fingerprint, status = 'pending', content = null, model = null,
                     provider = null, claimed_until = excluded.claimed_until, created_at = now(),
                     kept_content = case when ai_analysis_cache.status = 'ready' then ai_analysis_cache.content else ai_analysis_cache.kept_content end,
                     kept_model = case when ai_analysis_cache.status = 'ready' then ai_analysis_cache.model else ai_analysis_cache.kept_model end,
                     kept_provider = case when ai_analysis_cache.status = 'ready' then ai_analysis_cache.provider else ai_analysis_cache.kept_provider end,
                     kept_fingerprint = case when ai_analysis_cache.status = 'ready' then ai_analysis_cache.fingerprint else ai_analysis_cache.kept_fingerprint end,
                     kept_created_at = case when ai_analysis_cache.status = 'ready' then ai_analysis_cache.created_at else ai_analysis_cache.kept_created_at end
                 where (ai_analysis_cache.status = 'pending' and ai_analysis_cache.claimed_until < now())
                    or (ai_analysis_cache.status = 'ready'
                        and ($6 or ai_analysis_cache.fingerprint <> excluded.fingerprint
                             or ai_analysis_cache.created_at <= now() - make_interval(secs => $7)))
               returning true as "claimed!""#,
            job.key.tenant_id,
            job.key.contact_id,
            job.key.kind.as_str(),
            job.fingerprint,
            self.claim.as_secs_f64(),
            refresh,
            self.ttl.as_secs_f64()
        )
        .fetch_optional(&mut *tx)
        .await?;
        let result = if claimed.is_some() {
            Claim::Ours
        } else {
            match self.lookup(&mut tx, &job.key, &job.fingerprint).await? {
                Some(cached) => Claim::Ready(cached),
                None => Claim::Busy,
            }
        };
        tx.commit().await?;
        Ok(result)
    }

    async fn peek(&self, pool: &PgPool, job: &Job) -> Result<Peek, sqlx::Error> {
        let mut tx = tenancy::begin(pool, job.scope).await?;
        if let Some(cached) = self.lookup(&mut tx, &job.key, &job.fingerprint).await? {
            tx.commit().await?;
            return Ok(Peek::Ready(cached));
        }
        let pending = sqlx::query_scalar!(
            r#"select true as "pending!" from ai_analysis_cache
               where tenant_id = $1 and contact_id = $2 and kind = $3 and status = 'pending' and claimed_until > now()"#,
            job.key.tenant_id,
            job.key.contact_id,
            job.key.kind.as_str(),
        )
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(if pending.is_some() {
            Peek::Pending
        } else {
            Peek::Gone
        })
    }

    async fn store(
        &self,
        pool: &PgPool,
        job: &Job,
        text: &str,
        model: &str,
        provider: &str,
    ) -> Result<(), sqlx::Error> {
        let mut tx = tenancy::begin(pool, job.scope).await?;
        sqlx::query!(
            "update ai_analysis_cache
             set status = 'ready', content = $5, model = $6, provider = $7, created_at = now(), claimed_until = null,
                 kept_content = null, kept_model = null, kept_provider = null, kept_fingerprint = null, kept_created_at = null
             where tenant_id = $1 and contact_id = $2 and kind = $3 and fingerprint = $4 and status = 'pending'",
            job.key.tenant_id,
            job.key.contact_id,
            job.key.kind.as_str(),
            job.fingerprint,
            text,
            model,
            provider
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// Gives up our claim. The answer it was meant to replace, if there was one, is put back
    /// and returned; otherwise the claim row goes.
    async fn release(&self, pool: &PgPool, job: &Job) -> Result<Option<Cached>, sqlx::Error> {
        let mut tx = tenancy::begin(pool, job.scope).await?;
        let restored = sqlx::query!(
            r#"update ai_analysis_cache
               set status = 'ready', content = kept_content, model = kept_model, provider = kept_provider,
                   fingerprint = kept_fingerprint, created_at = kept_created_at, claimed_until = null,
                   kept_content = null, kept_model = null, kept_provider = null, kept_fingerprint = null,
                   kept_created_at = null
               where tenant_id = $1 and contact_id = $2 and kind = $3 and fingerprint = $4 and status = 'pending'
                 and kept_content is not null and kept_fingerprint is not null and kept_created_at is not null
               returning content as "content!", coalesce(model, '') as "model!", coalesce(provider, '') as "provider!",
                         greatest(extract(epoch from now() - created_at), 0)::float8 as "age!""#,
            job.key.tenant_id,
            job.key.contact_id,
            job.key.kind.as_str(),
            job.fingerprint
        )
        .fetch_optional(&mut *tx)
        .await?;
        if restored.is_none() {
            sqlx::query!(
                "delete from ai_analysis_cache
                 where tenant_id = $1 and contact_id = $2 and kind = $3 and fingerprint = $4 and status = 'pending'",
                job.key.tenant_id,
                job.key.contact_id,
                job.key.kind.as_str(),
                job.fingerprint
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(restored.map(|r| Cached {
            text: r.content,
            model: r.model,
            provider: r.provider,
            age_secs: r.age as u64,
        }))
    }
}

enum Peek {
    Ready(Cached),
    Pending,
    Gone,
}

/// The purge-expired job's part: answers older than a day (long past the cache's life, and no
/// longer worth showing while a new one is written) and claims abandoned over an hour ago, in
/// every workspace.
pub async fn purge_expired(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let mut purged = 0;
    for tenant_id in tenancy::workspace_ids(pool).await? {
        let mut tx = tenancy::begin(
            pool,
            tenancy::Scope {
                tenant_id,
                user_id: uuid::Uuid::nil(),
            },
        )
        .await?;
        purged += sqlx::query!(
            "delete from ai_analysis_cache
             where tenant_id = $1 and ((status = 'ready' and created_at < now() - interval '1 day')
                or (status = 'pending' and claimed_until < now() - interval '1 hour'))",
            tenant_id
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
    }
    Ok(purged)
}
