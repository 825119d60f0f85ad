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
    /// The name calls are recorded under: `openai`, `ollama`, or the endpoint's host (never
    /// the credentials a URL may carry).
    pub fn provider_name(&self) -> String {
        let Some(url) = self.base_url.as_deref() else {
            return "openai".to_owned();
        };
        let host = match reqwest::Url::parse(url) {
            Ok(u) => match (u.host_str(), u.port()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_owned(),
                (None, _) => "unknown-host".to_owned(),
            },
            Err(_) => "unparsable-url".to_owned(),
        };
        if host.contains("api.openai.com") {
            "openai".to_owned()
        } else if host.ends_with(":11434") {
            "ollama".to_owned()
        } else {
            format!("openai-compatible@{host}")
        }
    }

    /// The endpoint as it may be shown: credentials in it (`user:key@`, `?api-key=…`) are
    /// replaced by `***`.
    pub fn display_url(&self) -> String {
        match self.base_url.as_deref() {
            None => "https://api.openai.com/v1".to_owned(),
            Some(url) => self.redact(url),
        }
    }

    /// Every credential the configuration holds, as it may appear in a message: the API key,
    /// and the user, password and secret-looking query values of the base URL (raw and
    /// percent-decoded).
    pub(super) fn secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = self.api_key.iter().cloned().collect();
        if let Some(url) = self
            .base_url
            .as_deref()
            .and_then(|u| reqwest::Url::parse(u).ok())
        {
            out.push(url.username().to_owned());
            out.extend(url.password().map(str::to_owned));
            if let Some(query) = url.query() {
                for pair in query.split('&') {
                    if let Some((key, value)) = pair.split_once('=') {
                        let key = key.to_ascii_lowercase();
                        if ["key", "token", "secret", "password", "auth", "sig"]
                            .iter()
                            .any(|k| key.contains(k))
                        {
                            out.push(value.to_owned());
                        }
                    }
                }
            }
        }
        let decoded: Vec<String> = out
            .iter()
            .filter_map(|s| {
                let d = percent_encoding::percent_decode_str(s).decode_utf8_lossy();
                (d != s.as_str()).then(|| d.into_owned())
            })
            .collect();
        out.extend(decoded);
        // Too short to be a secret, and replacing it would garble the message.
        out.retain(|s| s.len() >= 4);
        out.sort_by_key(|s| std::cmp::Reverse(s.len()));
        out.dedup();
        out
    }

    /// `text` with every credential of this configuration replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        redact_with(&self.secrets(), text)
    }
    /// OpenAI's current models take `max_completion_tokens`; other servers know `max_tokens`.
    pub(super) fn speaks_openai(&self) -> bool {
        self.base_url
            .as_deref()
            .is_none_or(|u| u.contains("api.openai.com"))
    }
}

/// `text` with each of `secrets` (longest first) replaced by `***`.
pub(super) fn redact_with(secrets: &[String], text: &str) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "***");
        }
    }
    out
}

#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// `None`: only the built-in local provider answers.
    pub remote: Option<RemoteConfig>,
    pub local: LocalConfig,
    /// `SMARTCRM_EMBEDDING_MODEL`; `None` means the local embedding model.
    pub embedding_model: Option<String>,
    /// `SMARTCRM_MODEL`, `SMARTCRM_FAST_MODEL`, `SMARTCRM_THINKING_MODEL`: each tier's default,
    /// the last level of the resolution order (before the catalog's recommended model).
    pub tier_defaults: HashMap<Tier, String>,
    /// `SMARTCRM_OVERRIDE_MODEL`, `SMARTCRM_OVERRIDE_FAST_MODEL`,
    /// `SMARTCRM_OVERRIDE_THINKING_MODEL`: the operator's emergency override, the first level.
    pub overrides: HashMap<Tier, String>,
    /// `LLM_FALLBACK_MODEL`: tried once the routed model has failed every retry.
    pub fallback_model: Option<String>,
    /// Bound on one attempt, from request to last token (`SMARTCRM_AI_TIMEOUT_SECS`).
    pub timeout: Duration,
    /// Bound on a silence: no bytes from the provider for this long ends the attempt
    /// (`SMARTCRM_AI_STALL_SECS`), while an answer that keeps coming runs to `timeout`.
    pub stall: Duration,
    /// Retries of one model after its first attempt.
    pub max_retries: u32,
    /// First backoff delay; doubles each retry, with jitter, up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl GatewayConfig {
    /// The longest one call may take over `models` models: every attempt running out its
    /// time, plus the longest backoff between them. Analysis claims outlive it.
    pub fn call_budget(&self, models: usize) -> Duration {
        let attempts = (self.max_retries + 1).saturating_mul(models.max(1) as u32);
        self.timeout.saturating_mul(attempts) + self.backoff_max.saturating_mul(attempts)
    }
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            remote: None,
            local: LocalConfig::default(),
            embedding_model: None,
            tier_defaults: HashMap::new(),
            overrides: HashMap::new(),
            fallback_model: None,
            timeout: Duration::from_secs(300),
            stall: Duration::from_secs(30),
            max_retries: 2,
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(4),
        }
    }
}
