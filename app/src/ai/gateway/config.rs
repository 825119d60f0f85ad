//! The gateway's configuration: the remote OpenAI-compatible endpoint, tier overrides, the
//! fallback model, timeouts, retries and the local provider.
use super::*;

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
    pub(super) fn speaks_openai(&self) -> bool {
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
