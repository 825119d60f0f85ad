//! The AI gateway: every AI call in the product goes through here.
//!
//! It routes a task to a model (task kind → tier → model, overridable by environment), calls
//! any OpenAI-compatible endpoint through async-openai with streaming, bounds every attempt by a
//! timeout, retries rate limits, server errors and timeouts with exponential backoff and jitter,
//! then tries the fallback model, and records every call in `ai_calls` with a tracing span
//! holding model, task, latency, tokens and cost. It never makes up an answer: when every
//! attempt fails the caller gets the real failure.
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

/// An OpenAI-compatible endpoint (OpenAI, Ollama's /v1, vLLM, llama.cpp server, LiteLLM).
#[derive(Clone)]
pub struct RemoteConfig {
    /// `None`: OpenAI's own API.
    pub base_url: Option<String>,
    pub api_key: Option<String>,
}

impl std::fmt::Debug for RemoteConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[set]"))
            .finish()
    }
}

impl RemoteConfig {
    /// The name calls are recorded under: `openai`, `ollama`, or the endpoint's host.
    pub fn provider_name(&self) -> String {
        let Some(url) = self.base_url.as_deref() else {
            return "openai".to_owned();
        };
        let host = url
            .split("://")
            .nth(1)
            .unwrap_or(url)
            .split('/')
            .next()
            .unwrap_or(url);
        if host.contains("api.openai.com") {
            "openai".to_owned()
        } else if host.ends_with(":11434") {
            "ollama".to_owned()
        } else {
            format!("openai-compatible@{host}")
        }
    }

    /// OpenAI's current models take `max_completion_tokens`; other servers know `max_tokens`.
    fn speaks_openai(&self) -> bool {
        self.base_url
            .as_deref()
            .is_none_or(|u| u.contains("api.openai.com"))
    }
}

#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// `None`: only the built-in local provider answers.
    pub remote: Option<RemoteConfig>,
    pub local: LocalConfig,
    /// `SMARTCRM_EMBEDDING_MODEL`; `None` means the local embedding model.
    pub embedding_model: Option<String>,
    /// `SMARTCRM_MODEL`, `SMARTCRM_FAST_MODEL`, `SMARTCRM_THINKING_MODEL`.
    pub tier_overrides: HashMap<Tier, String>,
    /// `LLM_FALLBACK_MODEL`: tried once the routed model has failed every retry.
    pub fallback_model: Option<String>,
    /// Bound on one attempt, from request to last token.
    pub timeout: Duration,
    /// Retries of one model after its first attempt.
    pub max_retries: u32,
    /// First backoff delay; doubles each retry, with jitter, up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            remote: None,
            local: LocalConfig::default(),
            embedding_model: None,
            tier_overrides: HashMap::new(),
            fallback_model: None,
            timeout: Duration::from_secs(60),
            max_retries: 2,
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(4),
        }
    }
}

/// One entry of the `ai_models` catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub id: String,
    pub provider: String,
    pub display_name: String,
    pub input_cost_per_1k: f64,
    pub output_cost_per_1k: f64,
    pub context_window: i32,
    pub tier: String,
    pub recommended: bool,
    pub active: bool,
    /// `chat` or `embedding`.
    pub kind: String,
    pub dimensions: Option<i32>,
}

impl ModelInfo {
    pub fn cost(&self, prompt_tokens: u32, completion_tokens: u32) -> f64 {
        (f64::from(prompt_tokens) * self.input_cost_per_1k
            + f64::from(completion_tokens) * self.output_cost_per_1k)
            / 1000.0
    }
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    models: HashMap<String, ModelInfo>,
}

impl Catalog {
    pub async fn load(pool: &PgPool) -> Result<Catalog, sqlx::Error> {
        let models = sqlx::query_as!(
            ModelInfo,
            "select id, provider, display_name, input_cost_per_1k, output_cost_per_1k, context_window, tier, recommended, active,
                    kind, dimensions
             from ai_models"
        )
        .fetch_all(pool)
        .await?;
        Ok(Catalog {
            models: models.into_iter().map(|m| (m.id.clone(), m)).collect(),
        })
    }

    pub fn get(&self, id: &str) -> Option<&ModelInfo> {
        self.models.get(id)
    }

    pub fn active(&self, id: &str) -> Option<&ModelInfo> {
        self.models.get(id).filter(|m| m.active)
    }

    /// An active model of this kind (`chat` or `embedding`).
    pub fn active_of(&self, id: &str, kind: &str) -> Option<&ModelInfo> {
        self.active(id).filter(|m| m.kind == kind)
    }

    pub fn recommended(&self, tier: Tier) -> Option<&ModelInfo> {
        self.models
            .values()
            .find(|m| m.active && m.recommended && m.kind == "chat" && m.tier == tier.as_str())
    }

    /// Active model ids of one kind, sorted, for error messages.
    pub fn known_ids(&self, kind: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .models
            .values()
            .filter(|m| m.active && m.kind == kind)
            .map(|m| m.id.clone())
            .collect();
        ids.sort();
        ids
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("{var}: unknown model {model:?}; the catalog's active {kind} models are: {}", known.join(", "))]
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
    Done(CallOutcome),
    Failed(AiFailure),
}

/// Why one attempt failed.
#[derive(Debug)]
struct AttemptError {
    message: String,
    retryable: bool,
}

impl AttemptError {
    fn new(message: impl Into<String>, retryable: bool) -> Self {
        Self {
            message: message.into(),
            retryable,
        }
    }

    fn from_openai(err: OpenAIError) -> Self {
        match err {
            OpenAIError::ApiError(resp) => {
                let status = resp.status_code;
                // Server errors arrive as raw bodies; most are still OpenAI-shaped JSON.
                let message = serde_json::from_str::<serde_json::Value>(&resp.api_error.message)
                    .ok()
                    .and_then(|v| {
                        v.pointer("/error/message")
                            .and_then(|m| m.as_str())
                            .map(str::to_owned)
                    })
                    .unwrap_or_else(|| resp.api_error.message.clone());
                if resp.api_error.code.as_deref() == Some("insufficient_quota") {
                    return Self::new(
                        format!(
                            "quota exhausted (HTTP {}): {}",
                            status.as_u16(),
                            message.trim()
                        ),
                        false,
                    );
                }
                let retryable =
                    status.as_u16() == 429 || status.as_u16() == 408 || status.is_server_error();
                let what = match status.as_u16() {
                    429 => "rate limited",
                    s if s >= 500 => "provider error",
                    401 | 403 => "not authorised (check OPENAI_API_KEY)",
                    404 => "not found (is the model name right for this provider?)",
                    _ => "request refused",
                };
                let detail: String = message.chars().take(300).collect();
                Self::new(
                    format!("{what} (HTTP {}): {}", status.as_u16(), detail.trim()),
                    retryable,
                )
            }
            OpenAIError::Reqwest(e) => {
                let what = if e.is_connect() {
                    "could not connect to the provider"
                } else {
                    "network error"
                };
                Self::new(format!("{what}: {}", error_chain(&e)), true)
            }
            OpenAIError::JSONDeserialize(e, content) => {
                let sample: String = content.chars().take(120).collect();
                Self::new(
                    format!("malformed response from the provider ({e}): {sample:?}"),
                    false,
                )
            }
            OpenAIError::StreamError(e) => {
                Self::new(format!("the response stream broke: {e}"), true)
            }
            other => Self::new(other.to_string(), false),
        }
    }
}

fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Serialize)]
struct ChatBody<'a> {
    model: &'a str,
    messages: [Message<'a>; 2],
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    temperature: f32,
    stream: bool,
    stream_options: StreamOptions,
}

/// A streamed chunk, read leniently: compatible servers differ in the fields they send.
#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Option<ChunkDelta>,
}

#[derive(Deserialize)]
struct ChunkDelta {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
struct Usage {
    prompt_tokens: u32,
    completion_tokens: u32,
}

/// What one attempt produced before it ended.
#[derive(Default)]
struct Progress {
    emitted: bool,
    ttft: Option<Duration>,
    usage: Option<Usage>,
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
                if catalog.active_of(model, kind).is_none() {
                    return Err(GatewayError::UnknownModel {
                        var,
                        model: model.to_owned(),
                        kind,
                        known: catalog.known_ids(kind),
                    });
                }
                Ok(())
            };
        for (tier, model) in &config.tier_overrides {
            check(tier.env_var(), model, "chat")?;
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
                    .with_http_service(async_openai::middleware::ReqwestService::new(http));
                (Some(client), remote.provider_name())
            }
        };
        let recorder = CallRecorder::spawn(pool.clone());
        let local = LocalProvider::new(config.local.clone());
        Ok(Gateway {
            config,
            client,
            provider,
            local,
            catalog: RwLock::new(Arc::new(catalog)),
            pool,
            recorder,
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

    pub fn remote_base_url(&self) -> Option<&str> {
        self.config
            .remote
            .as_ref()
            .map(|r| r.base_url.as_deref().unwrap_or("https://api.openai.com/v1"))
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
        match self.catalog.write() {
            Ok(mut c) => *c = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        Ok(())
    }

    /// The model for a task: the environment's override for the task's tier, else the prompt's
    /// own model, else the tier's recommended model. With no remote provider configured, a
    /// remote model is answered by the built-in local model instead.
    pub fn route(&self, task: TaskKind, prompt_model: Option<&str>) -> Result<String, String> {
        let catalog = self.catalog();
        let chosen = self
            .config
            .tier_overrides
            .get(&task.tier())
            .map(String::as_str)
            .or(prompt_model)
            .map(str::to_owned)
            .or_else(|| catalog.recommended(task.tier()).map(|m| m.id.clone()));
        match chosen {
            Some(id) if catalog.active_of(&id, "chat").is_some() => {
                if !local::is_local(&id) && !self.has_remote() {
                    return Ok(local::CHAT_MODEL.to_owned());
                }
                Ok(id)
            }
            Some(id) => Err(format!(
                "model {id:?} is not an active chat model in the catalog"
            )),
            None => Err(format!(
                "no model is recommended for the {} tier",
                task.tier().as_str()
            )),
        }
    }

    /// The model every vector is made with.
    pub fn embedding_model(&self) -> &str {
        self.config
            .embedding_model
            .as_deref()
            .unwrap_or(local::EMBEDDING_MODEL)
    }

    /// Embeds texts with the configured embedding model, recorded in `ai_calls` like any call.
    /// Remote models are asked for 384 dimensions so one `vector(384)` column serves both.
    pub async fn embed(&self, meta: &CallMeta, texts: &[String]) -> Result<Embedded, AiFailure> {
        self.embed_with(self.embedding_model(), meta, texts).await
    }

    /// Embeds with a given embedding model (the settings page tests each one).
    pub async fn embed_with(
        &self,
        model: &str,
        meta: &CallMeta,
        texts: &[String],
    ) -> Result<Embedded, AiFailure> {
        let model = model.to_owned();
        let provider = self.provider_of(&model).to_owned();
        let started = Instant::now();
        let span = tracing::info_span!(
            "ai_call", task = "embedding", tenant_id = %meta.scope.tenant_id, model = %model, provider = %provider,
            texts = texts.len(), status = Empty, latency_ms = Empty, prompt_tokens = Empty, cost_usd = Empty,
        );
        let result = async {
            if self.catalog().active_of(&model, "embedding").is_none() {
                return Err(format!(
                    "{model} is not an active embedding model in the catalog"
                ));
            }
            if local::is_local(&model) {
                let out = self.local.embed(texts.to_vec()).await?;
                Ok::<_, String>((out.vectors, out.tokens as u32))
            } else {
                self.embed_remote(&model, texts).await
            }
        }
        .instrument(span.clone())
        .await;
        let latency_ms = started.elapsed().as_millis() as i32;
        span.record("latency_ms", latency_ms);
        let mut record = CallRecord::new(meta, &model, &provider, "ok");
        record.latency_ms = latency_ms;
        record.attempts = 1;
        let outcome = match result {
            Ok((vectors, tokens)) => {
                let cost = self.catalog().get(&model).map(|m| m.cost(tokens, 0));
                span.record("status", "ok");
                span.record("prompt_tokens", tokens);
                if let Some(c) = cost {
                    span.record("cost_usd", c);
                }
                record.model = Some(model.clone());
                record.prompt_tokens = Some(tokens as i32);
                record.cost_usd = cost;
                Ok(Embedded { model, vectors })
            }
            Err(message) => {
                span.record("status", "error");
                tracing::warn!(parent: &span, error = %message, "embedding failed");
                record.status = "error";
                record.error = Some(message.clone());
                Err(AiFailure {
                    provider,
                    model,
                    message,
                    after_ms: latency_ms as u64,
                    attempts: 1,
                })
            }
        };
        self.recorder.record(record);
        outcome
    }

    async fn embed_remote(
        &self,
        model: &str,
        texts: &[String],
    ) -> Result<(Vec<Vec<f32>>, u32), String> {
        let Some(client) = &self.client else {
            return Err(format!(
                "{model} is a remote model and no remote provider is configured. {REMOTE_HINT}"
            ));
        };
        #[derive(Serialize)]
        struct Body<'a> {
            model: &'a str,
            input: &'a [String],
            dimensions: usize,
            encoding_format: &'static str,
        }
        #[derive(Deserialize)]
        struct Item {
            index: usize,
            embedding: Vec<f32>,
        }
        #[derive(Deserialize)]
        struct EmbedUsage {
            #[serde(default)]
            prompt_tokens: u32,
        }
        #[derive(Deserialize)]
        struct Response {
            data: Vec<Item>,
            #[serde(default)]
            usage: Option<EmbedUsage>,
        }
        let body = Body {
            model,
            input: texts,
            dimensions: local::EMBEDDING_DIMS,
            encoding_format: "float",
        };
        let timeout = self.config.timeout;
        let response: Response =
            tokio::time::timeout(timeout, client.embeddings().create_byot(body))
                .await
                .map_err(|_| format!("timed out after {:.1} s", timeout.as_secs_f64()))?
                .map_err(|e| AttemptError::from_openai(e).message)?;
        let mut vectors = vec![Vec::new(); texts.len()];
        for item in response.data {
            if item.embedding.len() != local::EMBEDDING_DIMS {
                return Err(format!(
                    "the provider returned {}-dimensional vectors; SmartCRM stores {}",
                    item.embedding.len(),
                    local::EMBEDDING_DIMS
                ));
            }
            match vectors.get_mut(item.index) {
                Some(slot) => *slot = item.embedding,
                None => {
                    return Err(format!(
                        "the provider returned a vector for input {} of {}",
                        item.index,
                        texts.len()
                    ))
                }
            }
        }
        if vectors.iter().any(Vec::is_empty) {
            return Err("the provider returned fewer vectors than texts".into());
        }
        Ok((vectors, response.usage.map_or(0, |u| u.prompt_tokens)))
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
        'models: for (index, model) in models.iter().enumerate() {
            last_model = model.clone();
            for retry in 0..=self.config.max_retries {
                if retry > 0 {
                    tokio::time::sleep(backoff(
                        self.config.backoff_base,
                        self.config.backoff_max,
                        retry,
                    ))
                    .await;
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
                        tracing::warn!(model = %model, attempt = attempts, retryable = err.retryable, error = %err.message, "AI attempt failed");
                        last_error = err.message;
                        // Text already shown cannot be taken back, so a broken stream is final.
                        if progress.emitted {
                            break 'models;
                        }
                        if !err.retryable {
                            continue 'models;
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

    /// One request to one model. `Err(None)`: the caller went away.
    async fn attempt(
        &self,
        model: &str,
        req: &ChatRequest,
        tx: &mpsc::Sender<GatewayEvent>,
        progress: &mut Progress,
        call_started: Instant,
    ) -> Result<(), Option<AttemptError>> {
        let Some(client) = &self.client else {
            return Err(Some(AttemptError::new(
                format!(
                    "{model} is a remote model and no remote provider is configured. {REMOTE_HINT}"
                ),
                false,
            )));
        };
        let openai = self
            .config
            .remote
            .as_ref()
            .is_some_and(RemoteConfig::speaks_openai);
        let body = ChatBody {
            model,
            messages: [
                Message {
                    role: "system",
                    content: &req.system,
                },
                Message {
                    role: "user",
                    content: &req.user,
                },
            ],
            max_tokens: (!openai).then_some(req.max_tokens),
            max_completion_tokens: openai.then_some(req.max_tokens),
            temperature: req.temperature,
            stream: true,
            stream_options: StreamOptions {
                include_usage: true,
            },
        };
        let timeout = self.config.timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        let timed_out = || {
            Some(AttemptError::new(
                format!("timed out after {:.1} s", timeout.as_secs_f64()),
                true,
            ))
        };
        let mut stream = match tokio::time::timeout_at(
            deadline,
            client.chat().create_stream_byot::<_, Chunk>(body),
        )
        .await
        {
            Err(_) => return Err(timed_out()),
            Ok(Err(e)) => return Err(Some(AttemptError::from_openai(e))),
            Ok(Ok(stream)) => stream,
        };
        loop {
            let chunk = match tokio::time::timeout_at(deadline, stream.next()).await {
                Err(_) => return Err(timed_out()),
                Ok(None) => break,
                Ok(Some(Err(e))) => return Err(Some(AttemptError::from_openai(e))),
                Ok(Some(Ok(chunk))) => chunk,
            };
            if let Some(error) = chunk.error {
                let message = error
                    .get("message")
                    .and_then(|m| m.as_str())
                    .map(str::to_owned)
                    .unwrap_or_else(|| error.to_string());
                return Err(Some(AttemptError::new(
                    format!("the provider reported an error mid-stream: {message}"),
                    !progress.emitted,
                )));
            }
            if let Some(usage) = chunk.usage {
                progress.usage = Some(usage);
            }
            for choice in chunk.choices {
                let Some(text) = choice
                    .delta
                    .and_then(|d| d.content)
                    .filter(|t| !t.is_empty())
                else {
                    continue;
                };
                if !progress.emitted {
                    progress.emitted = true;
                    progress.ttft = Some(call_started.elapsed());
                }
                if tx.send(GatewayEvent::Delta(text)).await.is_err() {
                    return Err(None);
                }
            }
        }
        if !progress.emitted {
            return Err(Some(AttemptError::new(
                "the model returned an empty answer",
                false,
            )));
        }
        Ok(())
    }

    /// One generation by the built-in local model. Its progress is observable, so the time
    /// limit is a stall limit: it starts when the model takes the request (not while it waits
    /// in the queue, which is bounded instead) and restarts with every chunk of prompt read and
    /// every piece of text. The
    /// length is bounded by `max_tokens` and the context window. On a busy 2-core machine a
    /// 600-token answer can take longer than the per-call limit while streaming steadily.
    async fn attempt_local(
        &self,
        req: &ChatRequest,
        tx: &mpsc::Sender<GatewayEvent>,
        progress: &mut Progress,
        call_started: Instant,
    ) -> Result<(), Option<AttemptError>> {
        let chat = self
            .local
            .chat()
            .await
            .map_err(|e| Some(AttemptError::new(format!("the local model is {e}"), false)))?;
        let prompt = chat
            .prompt_tokens(&req.system, &req.user)
            .map_err(|e| Some(AttemptError::new(e, false)))?;
        let seed = rand::rng().random::<u64>();
        let mut sub = chat
            .submit(
                prompt,
                req.max_tokens as usize,
                f64::from(req.temperature),
                seed,
            )
            .map_err(|e| {
                Some(AttemptError::new(
                    e.clone(),
                    e.starts_with("the local model is busy"),
                ))
            })?;
        let timeout = self.config.timeout;
        let mut deadline: Option<tokio::time::Instant> = None;
        let mut last_ahead = None;
        let mut finished = sub.finished.clone();
        loop {
            if deadline.is_none() {
                let ahead = sub.ahead();
                if last_ahead != Some(ahead) {
                    last_ahead = Some(ahead);
                    if tx.send(GatewayEvent::Queued { ahead }).await.is_err() {
                        return Err(None);
                    }
                }
            }
            let far = tokio::time::Instant::now() + Duration::from_secs(86_400);
            let event = tokio::select! {
                event = sub.events.recv() => event,
                changed = finished.changed(), if deadline.is_none() => {
                    if changed.is_err() {
                        return Err(Some(AttemptError::new("the local model stopped", false)));
                    }
                    continue;
                }
                _ = tokio::time::sleep_until(deadline.unwrap_or(far)) => {
                    let what = if progress.emitted { "stalled: no new text" } else { "timed out: no text" };
                    return Err(Some(AttemptError::new(format!("{what} for {:.1} s", timeout.as_secs_f64()), false)));
                }
                _ = tx.closed() => return Err(None),
            };
            match event {
                None => {
                    return Err(Some(AttemptError::new(
                        "the local model stopped without an answer",
                        false,
                    )))
                }
                Some(LocalEvent::Started) => {
                    deadline = Some(tokio::time::Instant::now() + timeout);
                    if last_ahead != Some(0)
                        && tx.send(GatewayEvent::Queued { ahead: 0 }).await.is_err()
                    {
                        return Err(None);
                    }
                }
                Some(LocalEvent::Reading { .. }) => {
                    deadline = Some(tokio::time::Instant::now() + timeout)
                }
                Some(LocalEvent::Text(text)) => {
                    deadline = Some(tokio::time::Instant::now() + timeout);
                    if !progress.emitted {
                        progress.emitted = true;
                        progress.ttft = Some(call_started.elapsed());
                    }
                    if tx.send(GatewayEvent::Delta(text)).await.is_err() {
                        return Err(None);
                    }
                }
                Some(LocalEvent::Done {
                    prompt_tokens,
                    completion_tokens,
                }) => {
                    progress.usage = Some(Usage {
                        prompt_tokens,
                        completion_tokens,
                    });
                    if !progress.emitted {
                        return Err(Some(AttemptError::new(
                            "the model returned an empty answer",
                            false,
                        )));
                    }
                    return Ok(());
                }
                Some(LocalEvent::Failed(message)) => {
                    return Err(Some(AttemptError::new(message, false)))
                }
            }
        }
    }

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

/// reqwest is built without a default TLS backend (aws-lc needs a long C build); ring is the
/// one we ship. Idempotent; call before building any HTTP client.
pub fn ensure_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Delay before retry number `retry` (1-based): `base` doubled each retry up to `max`, with
/// equal jitter (half fixed, half random) so clients that failed together do not retry together.
pub fn backoff(base: Duration, max: Duration, retry: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << retry.saturating_sub(1).min(16));
    let half = exp.min(max) / 2;
    let jitter = rand::rng().random_range(0..=u64::try_from(half.as_micros()).unwrap_or(u64::MAX));
    half + Duration::from_micros(jitter)
}

/// One row of `ai_calls`.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub tenant_id: Uuid,
    pub user_id: Option<Uuid>,
    pub task_kind: &'static str,
    pub prompt_name: Option<String>,
    pub prompt_version: Option<i32>,
    pub subject_id: Option<Uuid>,
    pub requested_model: String,
    pub model: Option<String>,
    pub provider: String,
    pub status: &'static str,
    pub error: Option<String>,
    pub attempts: i16,
    pub latency_ms: i32,
    pub ttft_ms: Option<i32>,
    pub prompt_tokens: Option<i32>,
    pub completion_tokens: Option<i32>,
    pub cost_usd: Option<f64>,
    pub cache_hit: bool,
    pub request_id: Option<String>,
}

impl CallRecord {
    pub fn new(
        meta: &CallMeta,
        requested_model: &str,
        provider: &str,
        status: &'static str,
    ) -> Self {
        CallRecord {
            tenant_id: meta.scope.tenant_id,
            user_id: Some(meta.scope.user_id).filter(|u| !u.is_nil()),
            task_kind: meta.task.as_str(),
            prompt_name: meta.prompt_name.clone(),
            prompt_version: meta.prompt_version,
            subject_id: meta.subject_id,
            requested_model: requested_model.to_owned(),
            model: None,
            provider: provider.to_owned(),
            status,
            error: None,
            attempts: 0,
            latency_ms: 0,
            ttft_ms: None,
            prompt_tokens: None,
            completion_tokens: None,
            cost_usd: None,
            cache_hit: false,
            request_id: meta.request_id.clone(),
        }
    }
}

/// Writes `ai_calls` off the request path. Records queue up and a background task writes
/// whatever has queued in one insert per tenant, so a burst of calls costs a few statements
/// instead of one transaction each.
#[derive(Clone)]
pub struct CallRecorder {
    tx: mpsc::Sender<CallRecord>,
}

impl CallRecorder {
    const BATCH: usize = 500;

    pub fn spawn(pool: PgPool) -> CallRecorder {
        let (tx, mut rx) = mpsc::channel::<CallRecord>(20_000);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(Self::BATCH);
            while let Some(first) = rx.recv().await {
                batch.push(first);
                while batch.len() < Self::BATCH {
                    match rx.try_recv() {
                        Ok(record) => batch.push(record),
                        Err(_) => break,
                    }
                }
                if let Err(err) = write_calls(&pool, &batch).await {
                    tracing::warn!(error = %err, rows = batch.len(), "could not record AI calls");
                }
                batch.clear();
            }
        });
        CallRecorder { tx }
    }

    pub fn record(&self, record: CallRecord) {
        if let Err(err) = self.tx.try_send(record) {
            tracing::warn!(error = %err, "AI call not recorded: the recorder is behind or stopped");
        }
    }
}

async fn write_calls(pool: &PgPool, records: &[CallRecord]) -> Result<(), sqlx::Error> {
    let mut tenants: Vec<Uuid> = records.iter().map(|r| r.tenant_id).collect();
    tenants.sort();
    tenants.dedup();
    for tenant in tenants {
        let rows: Vec<&CallRecord> = records.iter().filter(|r| r.tenant_id == tenant).collect();
        let col =
            |f: fn(&CallRecord) -> Option<String>| rows.iter().map(|r| f(r)).collect::<Vec<_>>();
        let mut tx = tenancy::begin(
            pool,
            Scope {
                tenant_id: tenant,
                user_id: Uuid::nil(),
            },
        )
        .await?;
        sqlx::query(
            "insert into ai_calls (tenant_id, user_id, task_kind, prompt_name, prompt_version, subject_id, requested_model,
                                   model, provider, status, error, attempts, latency_ms, ttft_ms, prompt_tokens,
                                   completion_tokens, cost_usd, cache_hit, request_id)
             select $1, u.* from unnest($2::uuid[], $3::text[], $4::text[], $5::int4[], $6::uuid[], $7::text[], $8::text[],
                                        $9::text[], $10::text[], $11::text[], $12::int2[], $13::int4[], $14::int4[],
                                        $15::int4[], $16::int4[], $17::float8[], $18::bool[], $19::text[]) as u",
        )
        .bind(tenant)
        .bind(rows.iter().map(|r| r.user_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.task_kind).collect::<Vec<_>>())
        .bind(col(|r| r.prompt_name.clone()))
        .bind(rows.iter().map(|r| r.prompt_version).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.subject_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.requested_model.as_str()).collect::<Vec<_>>())
        .bind(col(|r| r.model.clone()))
        .bind(rows.iter().map(|r| r.provider.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.status).collect::<Vec<_>>())
        .bind(col(|r| r.error.clone()))
        .bind(rows.iter().map(|r| r.attempts).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.latency_ms).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.ttft_ms).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.prompt_tokens).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.completion_tokens).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.cost_usd).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.cache_hit).collect::<Vec<_>>())
        .bind(col(|r| r.request_id.clone()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
    Ok(())
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
            input_cost_per_1k: 0.002,
            output_cost_per_1k: 0.01,
            context_window: 1000,
            tier: "default".into(),
            recommended: true,
            active: true,
            kind: "chat".into(),
            dimensions: None,
        };
        assert!((m.cost(1500, 500) - 0.008).abs() < 1e-12);
    }
}
