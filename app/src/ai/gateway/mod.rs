//! The AI gateway: every AI call in the product goes through here.
//!
//! It routes a task to a model (task kind → tier → model, overridable by environment), calls
//! any OpenAI-compatible endpoint through async-openai with streaming, bounds every attempt by a
//! timeout, retries rate limits, server errors and timeouts with exponential backoff and jitter,
//! then tries the fallback model, and records every call in `ai_calls` with a tracing span
//! holding model, task, latency, tokens and cost. It never makes up an answer: when every
//! attempt fails the caller gets the real failure.
mod attempt;
mod catalog;
mod config;
mod embed;
mod rate;
mod recorder;
mod resolve;
mod transport;
mod wire;

pub use catalog::{Catalog, ModelInfo, Price};
pub use config::{GatewayConfig, RemoteConfig};
pub use recorder::{CallRecord, CallRecorder};
pub use resolve::{Levels, RouteQuery, RouteTag, Routed, RunningExperiment, TierModels};
use wire::*;

use super::{
    local::{self, LocalConfig, LocalEvent, LocalProvider},
    AiFailure, TaskKind, Tier,
};
use crate::ssr::tenancy::{self, Scope};
use async_openai::{config::OpenAIConfig, error::OpenAIError};
use futures::StreamExt;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};
use tokio::sync::mpsc;
use tracing::{field::Empty, Instrument};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("{var}: unknown model {model:?}; the catalog's {kind} models are: {}", known.join(", "))]
    UnknownModel {
        var: &'static str,
        model: String,
        kind: &'static str,
        known: Vec<String>,
    },
    #[error("cannot read the model catalog: {0}")]
    Catalog(#[from] sqlx::Error),
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}

/// Who asked and why; recorded with the call.
#[derive(Debug, Clone)]
pub struct CallMeta {
    pub scope: Scope,
    pub task: TaskKind,
    pub prompt_name: Option<String>,
    pub prompt_version: Option<i32>,
    pub subject_id: Option<Uuid>,
    pub request_id: Option<String>,
    /// How the model was chosen (experiment arm, level); empty when the caller chose it.
    pub route: RouteTag,
}

#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub model: String,
    pub system: String,
    pub user: String,
    pub max_tokens: u32,
    pub temperature: f32,
    pub meta: CallMeta,
}

/// How a finished call went.
#[derive(Debug, Clone, PartialEq)]
pub struct CallOutcome {
    pub model: String,
    pub provider: String,
    pub attempts: u32,
    pub latency: Duration,
    pub ttft: Option<Duration>,
    pub prompt_tokens: Option<u32>,
    pub completion_tokens: Option<u32>,
    pub cost_usd: Option<f64>,
    pub fallback_used: bool,
    /// The model stopped at the token limit (`finish_reason: length`): the answer is cut.
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum GatewayEvent {
    /// An attempt began (the first, a retry, or the fallback model).
    Attempt {
        model: String,
        provider: String,
        attempt: u32,
    },
    /// The local model runs one request at a time: this many must finish before ours starts
    /// (0: ours has started).
    Queued {
        ahead: u64,
    },
    Delta(String),
    /// The text sent so far is void: the attempt that wrote it failed (`reason`) and another
    /// starts. Consumers drop what they collected.
    Restart {
        reason: String,
    },
    Done(CallOutcome),
    Failed(AiFailure),
}

pub struct Gateway {
    config: GatewayConfig,
    client: Option<async_openai::Client<OpenAIConfig>>,
    /// The remote provider's name, or "none".
    provider: String,
    local: LocalProvider,
    catalog: RwLock<Arc<Catalog>>,
    pool: PgPool,
    recorder: CallRecorder,
    /// Credentials of the remote configuration, blanked out of every message.
    secrets: Vec<String>,
    /// Each workspace's month-to-date spend and when it was summed (`resolve.rs`).
    spend: std::sync::Mutex<HashMap<Uuid, (Instant, f64)>>,
    /// Each workspace's request-rate bucket (`rate.rs`).
    rates: rate::Buckets,
}

/// How to configure a remote provider, for messages that need one.
pub const REMOTE_HINT: &str = "To use a remote model, set OPENAI_API_KEY for OpenAI, or OPENAI_BASE_URL for an \
     OpenAI-compatible server (Ollama: http://localhost:11434/v1; vLLM, llama.cpp server and LiteLLM work too), then \
     restart SmartCRM.";

/// The local provider's name in records and messages.
pub const LOCAL_PROVIDER: &str = "local";

/// The vectors one embedding call made, tagged with the model that made them: vectors from
/// different models are never compared.
#[derive(Debug, Clone)]
pub struct Embedded {
    pub model: String,
    pub vectors: Vec<Vec<f32>>,
}

impl Gateway {
    /// Loads the catalog and checks every configured model name against it.
    pub async fn new(pool: PgPool, config: GatewayConfig) -> Result<Gateway, GatewayError> {
        let catalog = Catalog::load(&pool).await?;
        let check =
            |var: &'static str, model: &str, kind: &'static str| -> Result<(), GatewayError> {
                if catalog.usable(model, kind).is_none() {
                    return Err(GatewayError::UnknownModel {
                        var,
                        model: model.to_owned(),
                        kind,
                        known: catalog.known_ids(kind),
                    });
                }
                Ok(())
            };
        for (tier, model) in &config.tier_defaults {
            check(tier.env_var(), model, "chat")?;
        }
        for (tier, model) in &config.overrides {
            check(tier.override_var(), model, "chat")?;
        }
        if let Some(model) = &config.fallback_model {
            check("LLM_FALLBACK_MODEL", model, "chat")?;
        }
        if let Some(model) = &config.embedding_model {
            check("SMARTCRM_EMBEDDING_MODEL", model, "embedding")?;
        }
        let (client, provider) = match &config.remote {
            None => (None, "none".to_owned()),
            Some(remote) => {
                ensure_tls_provider();
                let http = reqwest::Client::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .pool_idle_timeout(Duration::from_secs(90))
                    .build()
                    .map_err(|e| GatewayError::Http(error_chain(&e)))?;
                let mut oa = OpenAIConfig::new();
                if let Some(base) = &remote.base_url {
                    oa = oa.with_api_base(base.trim_end_matches('/'));
                }
                // Local servers need no key; an empty bearer is what they expect.
                oa = oa.with_api_key(remote.api_key.clone().unwrap_or_default());
                // Retries are ours (bounded, recorded, then the fallback), so the client's own
                // retry layer is replaced by the bare transport.
                let client = async_openai::Client::with_config(oa)
                    .with_http_client(http.clone())
                    .with_http_service(transport::Transport::new(http));
                (Some(client), remote.provider_name())
            }
        };
        let recorder = CallRecorder::spawn(pool.clone());
        let local = LocalProvider::new(config.local.clone());
        let secrets = config
            .remote
            .as_ref()
            .map(RemoteConfig::secrets)
            .unwrap_or_default();
        Ok(Gateway {
            secrets,
            config,
            client,
            provider,
            local,
            catalog: RwLock::new(Arc::new(catalog)),
            pool,
            recorder,
            spend: std::sync::Mutex::new(HashMap::new()),
            rates: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// Whether a remote (OpenAI-compatible) provider is configured.
    pub fn has_remote(&self) -> bool {
        self.client.is_some()
    }

    /// The remote provider's name ("openai", "ollama", "openai-compatible@host"), or "none".
    pub fn remote_provider(&self) -> &str {
        &self.provider
    }

    /// The remote endpoint as it may be shown, credentials redacted.
    pub fn remote_base_url(&self) -> Option<String> {
        self.config.remote.as_ref().map(RemoteConfig::display_url)
    }

    /// `text` with the remote provider's credentials replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        config::redact_with(&self.secrets, text)
    }

    /// The provider that serves a model.
    pub fn provider_of(&self, model: &str) -> &str {
        if local::is_local(model) {
            LOCAL_PROVIDER
        } else {
            &self.provider
        }
    }

    pub fn local(&self) -> &LocalProvider {
        &self.local
    }

    pub fn recorder(&self) -> &CallRecorder {
        &self.recorder
    }

    pub fn catalog(&self) -> Arc<Catalog> {
        match self.catalog.read() {
            Ok(c) => Arc::clone(&c),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Re-reads the catalog after it changed.
    pub async fn reload_catalog(&self) -> Result<(), sqlx::Error> {
        let fresh = Arc::new(Catalog::load(&self.pool).await?);
        tracing::debug!("model catalog reloaded");
        match self.catalog.write() {
            Ok(mut c) => *c = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        Ok(())
    }

    /// The model every vector is made with.
    pub fn embedding_model(&self) -> &str {
        self.config
            .embedding_model
            .as_deref()
            .unwrap_or(local::EMBEDDING_MODEL)
    }

    /// Starts a streamed call. Events arrive on the receiver; dropping it cancels the call.
    pub fn stream(self: &Arc<Self>, req: ChatRequest) -> mpsc::Receiver<GatewayEvent> {
        let (tx, rx) = mpsc::channel(64);
        let span = tracing::info_span!(
            "ai_call",
            task = req.meta.task.as_str(),
            prompt = req.meta.prompt_name.as_deref().unwrap_or("-"),
            tenant_id = %req.meta.scope.tenant_id,
            requested_model = %req.model,
            provider = Empty,
            model = Empty,
            status = Empty,
            attempts = Empty,
            latency_ms = Empty,
            ttft_ms = Empty,
            prompt_tokens = Empty,
            completion_tokens = Empty,
            cost_usd = Empty,
        );
        let this = Arc::clone(self);
        tokio::spawn(async move { this.run(req, tx).await }.instrument(span));
        rx
    }

    async fn run(&self, req: ChatRequest, tx: mpsc::Sender<GatewayEvent>) {
        let started = Instant::now();
        let mut models = vec![req.model.clone()];
        if let Some(fallback) = &self.config.fallback_model {
            if *fallback != req.model {
                models.push(fallback.clone());
            }
        }
        let mut attempts = 0u32;
        let mut last_error = String::new();
        let mut last_model = req.model.clone();
        let mut cancelled = false;
        // Everything the call may take: a Retry-After longer than what is left is not waited.
        let call_deadline = started + self.config.call_budget(models.len());
        'models: for (index, model) in models.iter().enumerate() {
            last_model = model.clone();
            let mut asked_wait: Option<Duration> = None;
            for retry in 0..=self.config.max_retries {
                if retry > 0 {
                    let wait = asked_wait.take().unwrap_or_else(|| {
                        backoff(self.config.backoff_base, self.config.backoff_max, retry)
                    });
                    tokio::time::sleep(wait).await;
                }
                attempts += 1;
                let provider = self.provider_of(model).to_owned();
                tracing::Span::current().record("provider", provider.as_str());
                let attempt_event = GatewayEvent::Attempt {
                    model: model.clone(),
                    provider: provider.clone(),
                    attempt: attempts,
                };
                if tx.send(attempt_event).await.is_err() {
                    cancelled = true;
                    break 'models;
                }
                let mut progress = Progress::default();
                let result = if local::is_local(model) {
                    self.attempt_local(&req, &tx, &mut progress, started).await
                } else {
                    self.attempt(model, &req, &tx, &mut progress, started).await
                };
                match result {
                    Ok(()) => {
                        let usage = progress.usage;
                        let outcome = CallOutcome {
                            model: model.clone(),
                            provider,
                            attempts,
                            latency: started.elapsed(),
                            ttft: progress.ttft,
                            prompt_tokens: usage.map(|u| u.prompt_tokens),
                            completion_tokens: usage.map(|u| u.completion_tokens),
                            cost_usd: usage.and_then(|u| {
                                self.catalog()
                                    .get(model)
                                    .map(|m| m.cost(u.prompt_tokens, u.completion_tokens))
                            }),
                            fallback_used: index > 0,
                            truncated: progress.finish_reason.as_deref() == Some("length"),
                        };
                        // The answer goes out first; recording it is not the caller's wait.
                        let _ = tx.send(GatewayEvent::Done(outcome.clone())).await;
                        self.finish(&req, Ok(&outcome), attempts, started);
                        return;
                    }
                    Err(None) => {
                        cancelled = true;
                        break 'models;
                    }
                    Err(Some(err)) => {
                        let message = self.redact(&err.message);
                        tracing::warn!(model = %model, attempt = attempts, retryable = err.retryable, error = %message, "AI attempt failed");
                        last_error = message;
                        // What this attempt wrote is void; the next attempt starts over.
                        if progress.emitted {
                            let restart = GatewayEvent::Restart {
                                reason: last_error.clone(),
                            };
                            if tx.send(restart).await.is_err() {
                                cancelled = true;
                                break 'models;
                            }
                        }
                        if !err.retryable {
                            continue 'models;
                        }
                        if let Some(wait) = err.retry_after {
                            let left = call_deadline.saturating_duration_since(Instant::now());
                            if wait > left {
                                last_error = format!(
                                    "{last_error}; the provider asks to wait {:.0} s, more than the {:.0} s this call has left",
                                    wait.as_secs_f64().ceil(),
                                    left.as_secs_f64()
                                );
                                continue 'models;
                            }
                            asked_wait = Some(wait);
                        }
                    }
                }
            }
        }
        if cancelled {
            self.finish(
                &req,
                Err(("cancelled: the caller went away", &last_model, true)),
                attempts,
                started,
            );
            return;
        }
        let failure = AiFailure {
            provider: self.provider_of(&last_model).to_owned(),
            model: last_model.clone(),
            message: last_error,
            after_ms: started.elapsed().as_millis() as u64,
            attempts,
        };
        let _ = tx.send(GatewayEvent::Failed(failure.clone())).await;
        self.finish(
            &req,
            Err((&failure.message, &last_model, false)),
            attempts,
            started,
        );
    }

    // (embed.rs: embeddings; attempt.rs: one attempt at one model; catalog.rs: watch_catalog)

    /// Records the call in `ai_calls` and on the span. A failure to record is logged, never
    /// turned into a failure of the call.
    fn finish(
        &self,
        req: &ChatRequest,
        result: Result<&CallOutcome, (&str, &str, bool)>,
        attempts: u32,
        started: Instant,
    ) {
        let span = tracing::Span::current();
        let latency_ms = started.elapsed().as_millis() as i32;
        span.record("attempts", attempts);
        span.record("latency_ms", latency_ms);
        let (status, model, error, ttft_ms, pt, ct, cost) = match result {
            Ok(o) => {
                span.record("model", o.model.as_str());
                if let Some(t) = o.ttft {
                    span.record("ttft_ms", t.as_millis() as u64);
                }
                if let Some(p) = o.prompt_tokens {
                    span.record("prompt_tokens", p);
                }
                if let Some(c) = o.completion_tokens {
                    span.record("completion_tokens", c);
                }
                if let Some(c) = o.cost_usd {
                    span.record("cost_usd", c);
                }
                (
                    "ok",
                    Some(o.model.clone()),
                    None,
                    o.ttft.map(|t| t.as_millis() as i32),
                    o.prompt_tokens.map(|v| v as i32),
                    o.completion_tokens.map(|v| v as i32),
                    o.cost_usd,
                )
            }
            Err((message, model, cancelled)) => {
                span.record("model", model);
                let status = if cancelled { "cancelled" } else { "error" };
                (
                    status,
                    None,
                    Some(message.to_owned()),
                    None,
                    None,
                    None,
                    None,
                )
            }
        };
        span.record("status", status);
        if status == "ok" {
            tracing::info!("AI call completed");
        } else {
            tracing::warn!(
                error = error.as_deref().unwrap_or(""),
                "AI call did not complete"
            );
        }
        let provider = match result {
            Ok(o) => o.provider.clone(),
            Err((_, model, _)) => self.provider_of(model).to_owned(),
        };
        let mut record = CallRecord::new(&req.meta, &req.model, &provider, status);
        record.model = model;
        record.error = error;
        record.attempts = i16::try_from(attempts).unwrap_or(i16::MAX);
        record.latency_ms = latency_ms;
        record.ttft_ms = ttft_ms;
        record.prompt_tokens = pt;
        record.completion_tokens = ct;
        record.cost_usd = cost;
        self.recorder.record(record);
    }
}

pub use crate::ssr::ensure_tls_provider;

/// Delay before retry number `retry` (1-based): `base` doubled each retry up to `max`, with
/// equal jitter (half fixed, half random) so clients that failed together do not retry together.
pub fn backoff(base: Duration, max: Duration, retry: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << retry.saturating_sub(1).min(16));
    let half = exp.min(max) / 2;
    let jitter = rand::rng().random_range(0..=u64::try_from(half.as_micros()).unwrap_or(u64::MAX));
    half + Duration::from_micros(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_names_come_from_the_endpoint() {
        let r = |u: Option<&str>| {
            RemoteConfig {
                base_url: u.map(str::to_owned),
                api_key: None,
            }
            .provider_name()
        };
        assert_eq!(r(None), "openai");
        assert_eq!(r(Some("https://api.openai.com/v1")), "openai");
        assert_eq!(r(Some("http://localhost:11434/v1")), "ollama");
        assert_eq!(
            r(Some("http://10.0.0.5:8000/v1")),
            "openai-compatible@10.0.0.5:8000"
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let base = Duration::from_millis(100);
        let max = Duration::from_millis(1000);
        for _ in 0..50 {
            let first = backoff(base, max, 1);
            assert!(
                first >= Duration::from_millis(50) && first <= base,
                "{first:?}"
            );
            let third = backoff(base, max, 3);
            assert!(
                third >= Duration::from_millis(200) && third <= Duration::from_millis(400),
                "{third:?}"
            );
            let late = backoff(base, max, 30);
            assert!(late >= max / 2 && late <= max, "{late:?}");
        }
    }

    #[test]
    fn the_api_key_is_never_printed() {
        let r = RemoteConfig {
            base_url: None,
            api_key: Some("sk-secret".into()),
        };
        assert!(!format!("{r:?}").contains("sk-secret"));
    }

    #[test]
    fn cost_uses_the_per_1k_prices() {
        let m = ModelInfo {
            id: "m".into(),
            provider: "openai".into(),
            display_name: "M".into(),
            context_window: 1000,
            tier: "default".into(),
            recommended: true,
            status: "active".into(),
            kind: "chat".into(),
            dimensions: None,
            prices: vec![
                Price {
                    effective_from: time::macros::datetime!(2026-01-01 0:00 UTC),
                    input_cost_per_1k: 0.002,
                    output_cost_per_1k: 0.01,
                },
                Price {
                    effective_from: time::macros::datetime!(2026-06-01 0:00 UTC),
                    input_cost_per_1k: 0.004,
                    output_cost_per_1k: 0.02,
                },
            ],
        };
        let may = time::macros::datetime!(2026-05-31 23:59 UTC);
        let june = time::macros::datetime!(2026-06-01 0:00 UTC);
        assert!((m.cost_at(may, 1500, 500) - 0.008).abs() < 1e-12);
        assert!((m.cost_at(june, 1500, 500) - 0.016).abs() < 1e-12);
        let before = time::macros::datetime!(2025-01-01 0:00 UTC);
        assert!((m.cost_at(before, 1500, 500) - 0.008).abs() < 1e-12);
    }
}
