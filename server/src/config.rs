//! Settings from the environment. A bad value stops start-up with a message naming the variable.
use secrecy::SecretString;
use std::{net::SocketAddr, str::FromStr};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub addr: Option<SocketAddr>,
    /// `DATABASE_URL`: the app's login role, which must not own the tables (see README,
    /// "Database roles").
    pub database_url: SecretString,
    /// `SMARTCRM_OWNER_DATABASE_URL`: the role that owns the schema and runs migrations. Unset:
    /// the schema must already be migrated (`smartcrm migrate` with the owner's URL).
    pub owner_database_url: Option<SecretString>,
    pub db_max_connections: u32,
    /// `SMARTCRM_DB_SESSION_CONNECTIONS`: a small pool of its own for session reads and
    /// sign-in, so AI and pipeline work cannot starve them.
    pub db_session_connections: u32,
    pub log_format: LogFormat,
    pub session_idle_minutes: i64,
    /// `SMARTCRM_SESSION_MAX_AGE_SECS` (default 24 h): a session ends this long after sign-in,
    /// however active it is.
    pub session_max_age_secs: i64,
    /// `SMARTCRM_PUBLIC_URL`: the address users reach SmartCRM at. When it is https, the
    /// session cookie is Secure and every response carries HSTS.
    pub public_url: Option<String>,
    /// `SMARTCRM_CATALOG_WORKSPACE`: the slug of the workspace whose admins edit the shared model
    /// catalog (applied at start-up with the owner's URL). Unset: the first demo workspace.
    pub catalog_workspace: Option<String>,
    /// Secure session cookie: `SMARTCRM_SECURE_COOKIE`, by default on when the public URL is
    /// https.
    pub secure_cookie: bool,
    pub signin_max_failures: i32,
    pub signin_window_secs: i64,
    pub signin_lockout_secs: i64,
    /// `SMARTCRM_SIGNIN_MAX_PER_ADDRESS`: sign-in attempts one client address may make in a
    /// window, over all emails (stops one password being sprayed across many accounts).
    pub signin_max_per_address: i32,
    /// `SMARTCRM_SIGNIN_CONCURRENCY`: password checks at once (each takes 19 MiB and a core
    /// for about 50 ms); more wait briefly, and past that the answer is 503.
    pub signin_concurrency: usize,
    pub http: HttpSettings,
    pub ai: AiSettings,
    pub pipeline: PipelineSettings,
}

/// Limits on every request, and which proxy may name the client's address.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSettings {
    /// `SMARTCRM_MAX_BODY_BYTES` (default 1 MiB): a larger body is answered 413.
    pub max_body_bytes: usize,
    /// `SMARTCRM_REQUEST_TIMEOUT_SECS` (default 60): time to the response head.
    pub request_timeout_secs: u64,
    /// `SMARTCRM_TRUSTED_PROXIES`: comma-separated addresses whose `X-Forwarded-For` is
    /// believed. Empty: the peer address is the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Live updates: `SMARTCRM_LIVE_MAX_STREAMS` (5,000) open event streams in this process,
    /// `SMARTCRM_LIVE_STREAMS_PER_MEMBER` (12) per member, each ended (and reopened by the
    /// browser) after `SMARTCRM_LIVE_STREAM_MAX_AGE_SECS` (600).
    pub live: app::live::hub::StreamLimits,
}

impl HttpSettings {
    fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let trusted_proxies = match src.get("SMARTCRM_TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(raw) => raw
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse().map_err(|e| ConfigError {
                        var: "SMARTCRM_TRUSTED_PROXIES",
                        message: format!(
                            "expected IP addresses separated by commas, got {s:?} ({e})"
                        ),
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(Self {
            max_body_bytes: ranged(
                "SMARTCRM_MAX_BODY_BYTES",
                parse(src, "SMARTCRM_MAX_BODY_BYTES", 1 << 20, "a number of bytes")?,
                4 << 10,
                256 << 20,
            )?,
            request_timeout_secs: ranged(
                "SMARTCRM_REQUEST_TIMEOUT_SECS",
                parse(
                    src,
                    "SMARTCRM_REQUEST_TIMEOUT_SECS",
                    60,
                    "a whole number of seconds",
                )?,
                1,
                3600,
            )?,
            trusted_proxies,
            live: app::live::hub::StreamLimits {
                per_process: ranged(
                    "SMARTCRM_LIVE_MAX_STREAMS",
                    parse(src, "SMARTCRM_LIVE_MAX_STREAMS", 5_000, "a whole number")?,
                    1,
                    100_000,
                )?,
                per_member: ranged(
                    "SMARTCRM_LIVE_STREAMS_PER_MEMBER",
                    parse(
                        src,
                        "SMARTCRM_LIVE_STREAMS_PER_MEMBER",
                        12,
                        "a whole number",
                    )?,
                    1,
                    10_000,
                )?,
                max_age: std::time::Duration::from_secs(ranged(
                    "SMARTCRM_LIVE_STREAM_MAX_AGE_SECS",
                    parse(
                        src,
                        "SMARTCRM_LIVE_STREAM_MAX_AGE_SECS",
                        600,
                        "a whole number of seconds",
                    )?,
                    2,
                    86_400,
                )?),
            },
        })
    }

    pub fn limits(&self) -> crate::limits::RequestLimits {
        crate::limits::RequestLimits {
            max_body_bytes: self.max_body_bytes,
            timeout: std::time::Duration::from_secs(self.request_timeout_secs),
        }
    }
}

/// The content pipeline's workers in this process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PipelineSettings {
    /// `SMARTCRM_WORKERS`: pipeline workers inside the server (0: none; run `smartcrm worker`).
    pub workers: usize,
    /// `SMARTCRM_WORKER_CONCURRENCY`: tasks each worker has in progress at once.
    pub concurrency: usize,
    /// `SMARTCRM_TASK_LEASE_SECS`: how long a task stays with a worker that stops renewing.
    pub lease_secs: u64,
}

impl PipelineSettings {
    fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        Ok(Self {
            workers: ranged(
                "SMARTCRM_WORKERS",
                parse(src, "SMARTCRM_WORKERS", 1, "a whole number")?,
                0,
                64,
            )?,
            concurrency: ranged(
                "SMARTCRM_WORKER_CONCURRENCY",
                parse(src, "SMARTCRM_WORKER_CONCURRENCY", 16, "a whole number")?,
                1,
                256,
            )?,
            lease_secs: ranged(
                "SMARTCRM_TASK_LEASE_SECS",
                parse(
                    src,
                    "SMARTCRM_TASK_LEASE_SECS",
                    60,
                    "a whole number of seconds",
                )?,
                2,
                3600,
            )?,
        })
    }
}

/// The AI gateway's settings. Model names are checked against the catalog at start-up.
#[derive(Debug, Clone, Default)]
pub struct AiSettings {
    pub openai_api_key: Option<SecretString>,
    pub openai_base_url: Option<String>,
    pub default_model: Option<String>,
    pub fast_model: Option<String>,
    pub thinking_model: Option<String>,
    /// `SMARTCRM_OVERRIDE_MODEL`, `SMARTCRM_OVERRIDE_FAST_MODEL`, `SMARTCRM_OVERRIDE_THINKING_MODEL`:
    /// the operator's emergency override, which beats every other level.
    pub override_models: Vec<(app::ai::Tier, String)>,
    pub fallback_model: Option<String>,
    /// `SMARTCRM_AI_TIMEOUT_SECS` (300): one attempt, request to last token.
    pub timeout_secs: u64,
    /// `SMARTCRM_AI_STALL_SECS` (30): no bytes from the provider for this long ends an attempt.
    pub stall_secs: u64,
    pub max_retries: u32,
    pub backoff_ms: u64,
    pub cache_ttl_secs: u64,
    /// `SMARTCRM_EMBEDDING_MODEL`: the model every vector is made with (default: the local one).
    pub embedding_model: Option<String>,
    /// `SMARTCRM_MODELS_DIR`: where `scripts/fetch-models.sh` put the local models.
    pub models_dir: std::path::PathBuf,
    /// `SMARTCRM_LOCAL_QUEUE`: local chat requests that may wait for the model.
    pub local_queue: usize,
    /// `SMARTCRM_ANALYSES_PER_MINUTE` (60) and `SMARTCRM_REFRESHES_PER_MINUTE` (10): what one
    /// member may ask of the AI panel; past that the answer is 429 with the wait.
    pub analysis_quota: app::analyses::limits::AnalysisQuota,
}

impl AiSettings {
    fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let openai_base_url = match src.get("OPENAI_BASE_URL") {
            None => None,
            Some(url) => {
                let url = url.trim().trim_end_matches('/').to_owned();
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(ConfigError {
                        var: "OPENAI_BASE_URL",
                        message: format!("must start with http:// or https:// (for Ollama: http://localhost:11434/v1), got {url:?}"),
                    });
                }
                Some(url)
            }
        };
        let model = |var: &'static str| src.get(var).map(|m| m.trim().to_owned());
        Ok(AiSettings {
            openai_api_key: src
                .get("OPENAI_API_KEY")
                .map(|k| SecretString::from(k.trim().to_owned())),
            openai_base_url,
            default_model: model("SMARTCRM_MODEL"),
            fast_model: model("SMARTCRM_FAST_MODEL"),
            thinking_model: model("SMARTCRM_THINKING_MODEL"),
            override_models: app::ai::Tier::ALL
                .into_iter()
                .filter_map(|t| {
                    model(t.override_var())
                        .filter(|m| !m.is_empty())
                        .map(|m| (t, m))
                })
                .collect(),
            fallback_model: model("LLM_FALLBACK_MODEL"),
            stall_secs: ranged(
                "SMARTCRM_AI_STALL_SECS",
                parse(
                    src,
                    "SMARTCRM_AI_STALL_SECS",
                    30,
                    "a whole number of seconds",
                )?,
                1,
                600,
            )?,
            timeout_secs: ranged(
                "SMARTCRM_AI_TIMEOUT_SECS",
                parse(
                    src,
                    "SMARTCRM_AI_TIMEOUT_SECS",
                    300,
                    "a whole number of seconds",
                )?,
                1,
                3600,
            )?,
            max_retries: ranged(
                "SMARTCRM_AI_MAX_RETRIES",
                parse(src, "SMARTCRM_AI_MAX_RETRIES", 2, "a whole number")?,
                0,
                10,
            )?,
            backoff_ms: ranged(
                "SMARTCRM_AI_BACKOFF_MS",
                parse(
                    src,
                    "SMARTCRM_AI_BACKOFF_MS",
                    250,
                    "a whole number of milliseconds",
                )?,
                1,
                60_000,
            )?,
            cache_ttl_secs: ranged(
                "SMARTCRM_AI_CACHE_TTL_SECS",
                parse(
                    src,
                    "SMARTCRM_AI_CACHE_TTL_SECS",
                    300,
                    "a whole number of seconds",
                )?,
                1,
                86_400,
            )?,
            embedding_model: model("SMARTCRM_EMBEDDING_MODEL"),
            models_dir: src
                .get("SMARTCRM_MODELS_DIR")
                .map_or_else(|| ".data/models".into(), |d| d.trim().into()),
            local_queue: ranged(
                "SMARTCRM_LOCAL_QUEUE",
                parse(src, "SMARTCRM_LOCAL_QUEUE", 8, "a whole number")?,
                1,
                256,
            )?,
            analysis_quota: {
                let d = app::analyses::limits::AnalysisQuota::default();
                app::analyses::limits::AnalysisQuota {
                    per_minute: per_minute(
                        src,
                        "SMARTCRM_ANALYSES_PER_MINUTE",
                        d.per_minute.get(),
                    )?,
                    refreshes_per_minute: per_minute(
                        src,
                        "SMARTCRM_REFRESHES_PER_MINUTE",
                        d.refreshes_per_minute.get(),
                    )?,
                }
            },
        })
    }

    /// A remote provider is configured by a key (OpenAI) or a base URL (any compatible server).
    pub fn gateway_config(&self) -> app::ai::gateway::GatewayConfig {
        use app::ai::{
            gateway::{GatewayConfig, RemoteConfig},
            local::LocalConfig,
            Tier,
        };
        use secrecy::ExposeSecret;
        let remote = (self.openai_api_key.is_some() || self.openai_base_url.is_some()).then(|| {
            RemoteConfig {
                base_url: self.openai_base_url.clone(),
                api_key: self
                    .openai_api_key
                    .as_ref()
                    .map(|k| k.expose_secret().to_owned()),
            }
        });
        let mut tier_defaults = std::collections::HashMap::new();
        for (tier, model) in [
            (Tier::Default, &self.default_model),
            (Tier::Fast, &self.fast_model),
            (Tier::Thinking, &self.thinking_model),
        ] {
            if let Some(m) = model {
                tier_defaults.insert(tier, m.clone());
            }
        }
        GatewayConfig {
            remote,
            local: LocalConfig {
                models_dir: self.models_dir.clone(),
                queue_capacity: self.local_queue,
            },
            embedding_model: self.embedding_model.clone(),
            tier_defaults,
            overrides: self.override_models.iter().cloned().collect(),
            fallback_model: self.fallback_model.clone(),
            timeout: std::time::Duration::from_secs(self.timeout_secs),
            stall: std::time::Duration::from_secs(self.stall_secs),
            max_retries: self.max_retries,
            backoff_base: std::time::Duration::from_millis(self.backoff_ms),
            backoff_max: std::time::Duration::from_millis(self.backoff_ms.saturating_mul(16)),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

/// Where settings come from; the process environment in production, a map in tests.
pub trait Source {
    fn get(&self, key: &str) -> Option<String>;
}

pub struct Env;

impl Source for Env {
    fn get(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.trim().is_empty())
    }
}

impl<const N: usize> Source for [(&str, &str); N] {
    fn get(&self, key: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| (*v).to_owned())
    }
}

/// An http(s) URL with a host, kept without a trailing slash.
fn public_url(raw: &str) -> Result<String, ConfigError> {
    let bad = |why: &str| ConfigError {
        var: "SMARTCRM_PUBLIC_URL",
        message: format!(
            "{why}; expected the address users open, like https://crm.example.com, got {:?}",
            clip(raw)
        ),
    };
    let uri: http::Uri = raw.parse().map_err(|_| bad("not a URL"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err(bad("the scheme must be http or https")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("the host is missing"));
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

/// At most a few dozen characters of a value, for messages.
fn clip(raw: &str) -> String {
    let mut out: String = raw.chars().take(60).collect();
    if out.len() < raw.len() {
        out.push('…');
    }
    out
}

fn parse<T: FromStr>(
    src: &impl Source,
    var: &'static str,
    default: T,
    what: &str,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match src.get(var) {
        None => Ok(default),
        Some(raw) => raw.trim().parse().map_err(|e| ConfigError {
            var,
            message: format!("expected {what}, got {raw:?} ({e})"),
        }),
    }
}

fn ranged<T: PartialOrd + std::fmt::Display + Copy>(
    var: &'static str,
    value: T,
    min: T,
    max: T,
) -> Result<T, ConfigError> {
    if value < min || value > max {
        return Err(ConfigError {
            var,
            message: format!("must be between {min} and {max}, got {value}"),
        });
    }
    Ok(value)
}

fn per_minute(
    src: &impl Source,
    var: &'static str,
    default: u32,
) -> Result<std::num::NonZeroU32, ConfigError> {
    let n = ranged(var, parse(src, var, default, "a whole number")?, 1, 100_000)?;
    std::num::NonZeroU32::new(n).ok_or(ConfigError {
        var,
        message: "must be at least 1".into(),
    })
}

fn postgres_url(var: &'static str, url: String) -> Result<SecretString, ConfigError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(SecretString::from(url))
    } else {
        Err(ConfigError {
            var,
            message: "must start with postgres:// or postgresql://".into(),
        })
    }
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env)
    }

    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let database_url = src.get("DATABASE_URL").ok_or(ConfigError {
            var: "DATABASE_URL",
            message: "is not set; use postgres://user:password@host:port/database (scripts/run.sh sets it for the embedded database)".into(),
        })?;
        let database_url = postgres_url("DATABASE_URL", database_url)?;
        let owner_database_url = src
            .get("SMARTCRM_OWNER_DATABASE_URL")
            .filter(|u| !u.trim().is_empty())
            .map(|u| postgres_url("SMARTCRM_OWNER_DATABASE_URL", u))
            .transpose()?;
        let addr = match src.get("SMARTCRM_ADDR") {
            None => None,
            Some(raw) => Some(raw.trim().parse().map_err(|e| ConfigError {
                var: "SMARTCRM_ADDR",
                message: format!("expected an address like 127.0.0.1:3000, got {raw:?} ({e})"),
            })?),
        };
        let public_url = src
            .get("SMARTCRM_PUBLIC_URL")
            .filter(|u| !u.trim().is_empty())
            .map(|u| public_url(u.trim()))
            .transpose()?;
        let https = public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"));
        let log_format = match src.get("SMARTCRM_LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError {
                    var: "SMARTCRM_LOG_FORMAT",
                    message: format!("expected pretty or json, got {other:?}"),
                })
            }
        };
        Ok(Settings {
            addr,
            database_url,
            owner_database_url,
            db_max_connections: ranged(
                "SMARTCRM_DB_MAX_CONNECTIONS",
                parse(src, "SMARTCRM_DB_MAX_CONNECTIONS", 20, "a whole number")?,
                1,
                1000,
            )?,
            db_session_connections: ranged(
                "SMARTCRM_DB_SESSION_CONNECTIONS",
                parse(src, "SMARTCRM_DB_SESSION_CONNECTIONS", 4, "a whole number")?,
                1,
                100,
            )?,
            log_format,
            session_idle_minutes: ranged(
                "SMARTCRM_SESSION_IDLE_MINUTES",
                parse(
                    src,
                    "SMARTCRM_SESSION_IDLE_MINUTES",
                    480,
                    "a whole number of minutes",
                )?,
                1,
                60 * 24 * 30,
            )?,
            session_max_age_secs: ranged(
                "SMARTCRM_SESSION_MAX_AGE_SECS",
                parse(
                    src,
                    "SMARTCRM_SESSION_MAX_AGE_SECS",
                    24 * 3600,
                    "a whole number of seconds",
                )?,
                1,
                30 * 24 * 3600,
            )?,
            secure_cookie: parse(src, "SMARTCRM_SECURE_COOKIE", https, "true or false")?,
            public_url,
            catalog_workspace: src
                .get("SMARTCRM_CATALOG_WORKSPACE")
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
            signin_max_failures: ranged(
                "SMARTCRM_SIGNIN_MAX_FAILURES",
                parse(src, "SMARTCRM_SIGNIN_MAX_FAILURES", 5, "a whole number")?,
                1,
                1000,
            )?,
            signin_window_secs: ranged(
                "SMARTCRM_SIGNIN_WINDOW_SECS",
                parse(
                    src,
                    "SMARTCRM_SIGNIN_WINDOW_SECS",
                    900,
                    "a whole number of seconds",
                )?,
                1,
                86_400,
            )?,
            signin_lockout_secs: ranged(
                "SMARTCRM_SIGNIN_LOCKOUT_SECS",
                parse(
                    src,
                    "SMARTCRM_SIGNIN_LOCKOUT_SECS",
                    300,
                    "a whole number of seconds",
                )?,
                1,
                86_400,
            )?,
            signin_max_per_address: ranged(
                "SMARTCRM_SIGNIN_MAX_PER_ADDRESS",
                parse(
                    src,
                    "SMARTCRM_SIGNIN_MAX_PER_ADDRESS",
                    100,
                    "a whole number",
                )?,
                1,
                100_000,
            )?,
            signin_concurrency: ranged(
                "SMARTCRM_SIGNIN_CONCURRENCY",
                parse(
                    src,
                    "SMARTCRM_SIGNIN_CONCURRENCY",
                    std::thread::available_parallelism().map_or(2, |n| n.get()) * 2,
                    "a whole number",
                )?,
                1,
                256,
            )?,
            http: HttpSettings::from_source(src)?,
            ai: AiSettings::from_source(src)?,
            pipeline: PipelineSettings::from_source(src)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const URL: (&str, &str) = ("DATABASE_URL", "postgres://u@127.0.0.1:5432/db");

    #[test]
    fn defaults_apply_when_only_the_database_is_given() {
        let s = Settings::from_source(&[URL]).expect("valid");
        assert_eq!(s.database_url.expose_secret(), URL.1);
        assert_eq!(s.session_idle_minutes, 480);
        assert_eq!(s.log_format, LogFormat::Pretty);
        assert!(!s.secure_cookie);
        assert_eq!(s.session_max_age_secs, 24 * 3600);
        assert_eq!(s.addr, None);
    }

    #[test]
    fn an_https_public_url_makes_the_cookie_secure_unless_told_otherwise() {
        let s = Settings::from_source(&[URL, ("SMARTCRM_PUBLIC_URL", "https://crm.example.com/")])
            .expect("valid");
        assert_eq!(s.public_url.as_deref(), Some("https://crm.example.com"));
        assert!(s.secure_cookie);
        let s = Settings::from_source(&[
            URL,
            ("SMARTCRM_PUBLIC_URL", "https://crm.example.com"),
            ("SMARTCRM_SECURE_COOKIE", "false"),
        ])
        .expect("valid");
        assert!(!s.secure_cookie);
        let s = Settings::from_source(&[URL, ("SMARTCRM_PUBLIC_URL", "http://localhost:3000")])
            .expect("valid");
        assert!(!s.secure_cookie);
        for bad in ["crm.example.com", "ftp://crm.example.com", "https://"] {
            let err = Settings::from_source(&[URL, ("SMARTCRM_PUBLIC_URL", bad)]).expect_err(bad);
            assert_eq!(err.var, "SMARTCRM_PUBLIC_URL", "{bad}");
            assert!(
                err.message.contains("https://crm.example.com"),
                "{}",
                err.message
            );
        }
    }

    #[test]
    fn request_limits_default_to_one_mebibyte_and_a_minute() {
        let s = Settings::from_source(&[URL]).expect("valid");
        assert_eq!(s.http.max_body_bytes, 1 << 20);
        assert_eq!(s.http.request_timeout_secs, 60);
        assert!(s.http.trusted_proxies.is_empty());
        let err = Settings::from_source(&[URL, ("SMARTCRM_TRUSTED_PROXIES", "10.0.0.1, nope")])
            .expect_err("bad proxy");
        assert_eq!(err.var, "SMARTCRM_TRUSTED_PROXIES");
    }

    #[test]
    fn a_missing_database_url_names_the_variable() {
        let err = Settings::from_source(&[("SMARTCRM_LOG_FORMAT", "json")]).expect_err("must fail");
        assert_eq!(err.var, "DATABASE_URL");
    }

    #[test]
    fn a_bad_address_names_the_variable_and_the_value() {
        let err =
            Settings::from_source(&[URL, ("SMARTCRM_ADDR", "localhost")]).expect_err("must fail");
        assert_eq!(err.var, "SMARTCRM_ADDR");
        assert!(err.to_string().contains("\"localhost\""), "{err}");
    }

    #[test]
    fn a_non_numeric_idle_timeout_is_refused() {
        let err = Settings::from_source(&[URL, ("SMARTCRM_SESSION_IDLE_MINUTES", "soon")])
            .expect_err("must fail");
        assert_eq!(err.var, "SMARTCRM_SESSION_IDLE_MINUTES");
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let err = Settings::from_source(&[URL, ("SMARTCRM_DB_MAX_CONNECTIONS", "0")])
            .expect_err("must fail");
        assert_eq!(err.var, "SMARTCRM_DB_MAX_CONNECTIONS");
    }

    #[test]
    fn unknown_log_format_is_refused() {
        let err =
            Settings::from_source(&[URL, ("SMARTCRM_LOG_FORMAT", "xml")]).expect_err("must fail");
        assert_eq!(err.var, "SMARTCRM_LOG_FORMAT");
    }

    #[test]
    fn ai_settings_default_to_no_provider_and_a_five_minute_cache() {
        let s = Settings::from_source(&[URL]).expect("valid");
        assert!(s.ai.gateway_config().remote.is_none());
        assert_eq!(s.ai.cache_ttl_secs, 300);
        assert_eq!(s.ai.max_retries, 2);
    }

    #[test]
    fn a_base_url_alone_configures_a_keyless_provider() {
        let s = Settings::from_source(&[URL, ("OPENAI_BASE_URL", "http://localhost:11434/v1/")])
            .expect("valid");
        let remote = s.ai.gateway_config().remote.expect("configured");
        assert_eq!(
            remote.base_url.as_deref(),
            Some("http://localhost:11434/v1")
        );
        assert_eq!(remote.provider_name(), "ollama");
    }

    #[test]
    fn a_base_url_without_a_scheme_is_refused() {
        let err = Settings::from_source(&[URL, ("OPENAI_BASE_URL", "localhost:11434")])
            .expect_err("must fail");
        assert_eq!(err.var, "OPENAI_BASE_URL");
    }

    #[test]
    fn tier_models_come_from_their_variables() {
        let s = Settings::from_source(&[
            URL,
            ("SMARTCRM_THINKING_MODEL", "gpt-5.1-thinking"),
            ("SMARTCRM_OVERRIDE_FAST_MODEL", "gpt-5.1-instant"),
        ])
        .expect("valid");
        let cfg = s.ai.gateway_config();
        assert_eq!(
            cfg.tier_defaults
                .get(&app::ai::Tier::Thinking)
                .map(String::as_str),
            Some("gpt-5.1-thinking")
        );
        assert_eq!(cfg.tier_defaults.len(), 1);
        assert_eq!(
            cfg.overrides.get(&app::ai::Tier::Fast).map(String::as_str),
            Some("gpt-5.1-instant")
        );
        assert_eq!(cfg.overrides.len(), 1);
    }

    #[test]
    fn a_non_postgres_url_is_refused() {
        let err = Settings::from_source(&[("DATABASE_URL", "mysql://x")]).expect_err("must fail");
        assert_eq!(err.var, "DATABASE_URL");
    }

    #[test]
    fn the_owner_url_is_optional_and_checked() {
        let s = Settings::from_source(&[URL]).expect("settings");
        assert!(s.owner_database_url.is_none());
        let s = Settings::from_source(&[URL, ("SMARTCRM_OWNER_DATABASE_URL", "postgres://o@h/db")])
            .expect("settings");
        assert_eq!(
            s.owner_database_url.as_ref().map(|u| u.expose_secret()),
            Some("postgres://o@h/db")
        );
        let err = Settings::from_source(&[URL, ("SMARTCRM_OWNER_DATABASE_URL", "o@h/db")])
            .expect_err("must fail");
        assert_eq!(err.var, "SMARTCRM_OWNER_DATABASE_URL");
    }
}
