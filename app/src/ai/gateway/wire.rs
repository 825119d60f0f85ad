//! The OpenAI wire format the gateway reads and writes, and how a provider's error becomes a
//! message a person can act on (and whether it is worth retrying).
use super::*;

/// Why one attempt failed.
#[derive(Debug)]
pub(super) struct AttemptError {
    pub(super) message: String,
    pub(super) retryable: bool,
    /// How long the provider asked us to wait (`Retry-After` on a 429).
    pub(super) retry_after: Option<Duration>,
}

impl AttemptError {
    pub(super) fn new(message: impl Into<String>, retryable: bool) -> Self {
        Self {
            message: message.into(),
            retryable,
            retry_after: None,
        }
    }

    pub(super) fn from_openai(err: OpenAIError) -> Self {
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
            OpenAIError::Boxed(e) => {
                if let Some(limited) = e.downcast_ref::<super::transport::RateLimited>() {
                    let message = serde_json::from_str::<serde_json::Value>(&limited.body)
                        .ok()
                        .and_then(|v| {
                            v.pointer("/error/message")
                                .and_then(|m| m.as_str())
                                .map(str::to_owned)
                        })
                        .unwrap_or_else(|| limited.body.clone());
                    let detail: String = message.chars().take(300).collect();
                    return Self {
                        message: format!("rate limited (HTTP 429): {}", detail.trim()),
                        retryable: true,
                        retry_after: limited.retry_after,
                    };
                }
                match e.downcast_ref::<super::transport::UnexpectedAnswer>() {
                    Some(unexpected) => Self::new(unexpected.to_string(), false),
                    None => Self::new(e.to_string(), false),
                }
            }
            other => Self::new(other.to_string(), false),
        }
    }
}

pub(super) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
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
pub(super) struct Message<'a> {
    pub(super) role: &'static str,
    pub(super) content: &'a str,
}

#[derive(Serialize)]
pub(super) struct StreamOptions {
    pub(super) include_usage: bool,
}

#[derive(Serialize)]
pub(super) struct ChatBody<'a> {
    pub(super) model: &'a str,
    pub(super) messages: [Message<'a>; 2],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) max_completion_tokens: Option<u32>,
    pub(super) temperature: f32,
    pub(super) stream: bool,
    pub(super) stream_options: StreamOptions,
}

/// A streamed chunk, read leniently: compatible servers differ in the fields they send.
#[derive(Deserialize)]
pub(super) struct Chunk {
    #[serde(default)]
    pub(super) choices: Vec<ChunkChoice>,
    #[serde(default)]
    pub(super) usage: Option<Usage>,
    #[serde(default)]
    pub(super) error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
pub(super) struct ChunkChoice {
    #[serde(default)]
    pub(super) delta: Option<ChunkDelta>,
    /// `stop`, `length`, …: present on the last chunk of a complete answer.
    #[serde(default)]
    pub(super) finish_reason: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ChunkDelta {
    #[serde(default)]
    pub(super) content: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
pub(super) struct Usage {
    pub(super) prompt_tokens: u32,
    pub(super) completion_tokens: u32,
}

/// What one attempt produced before it ended.
#[derive(Default)]
pub(super) struct Progress {
    pub(super) emitted: bool,
    /// Why the provider ended the answer; none means it never said it was done.
    pub(super) finish_reason: Option<String>,
    pub(super) ttft: Option<Duration>,
    pub(super) usage: Option<Usage>,
}
