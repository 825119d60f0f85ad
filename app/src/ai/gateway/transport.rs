//! The HTTP transport under async-openai: the bare reqwest call (our own retries replace the
//! client's), plus one check. A provider that answers 200 with something other than an event
//! stream or JSON (a proxy's HTML error page, a web UI at the wrong base URL) is reported as
//! what it is: the status, the content type and the first bytes. Without this the stream
//! parser found no events and the user read "the model returned an empty answer".
use async_openai::{
    error::OpenAIError,
    middleware::{HttpRequestFactory, ReqwestService},
};
use std::{future::Future, pin::Pin};
use tower::Service;

/// How many bytes of an unexpected answer the message quotes.
const SAMPLE_BYTES: usize = 120;
/// How much of a rate-limit answer is read for its message.
const ERROR_BYTES: usize = 4096;

#[derive(Clone, Debug)]
pub(super) struct Transport {
    inner: ReqwestService,
}

impl Transport {
    pub(super) fn new(http: reqwest::Client) -> Self {
        Self {
            inner: ReqwestService::new(http),
        }
    }
}

/// A successful status with a body the gateway cannot read as an answer.
#[derive(Debug, thiserror::Error)]
#[error("the provider answered HTTP {status} with {content_type} instead of an answer: {sample:?}")]
pub(super) struct UnexpectedAnswer {
    pub status: u16,
    pub content_type: String,
    pub sample: String,
}

/// A 429, read here because the client would drop its `Retry-After` header.
#[derive(Debug, thiserror::Error)]
#[error("rate limited (HTTP 429): {body}")]
pub(super) struct RateLimited {
    pub retry_after: Option<std::time::Duration>,
    pub body: String,
}

/// `Retry-After` as seconds (the form providers send); an HTTP date is read as unknown.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<std::time::Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let secs: f64 = value.parse().ok()?;
    (secs.is_finite() && secs >= 0.0)
        .then(|| std::time::Duration::from_secs_f64(secs.min(86_400.0)))
}

impl Service<HttpRequestFactory> for Transport {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequestFactory) -> Self::Future {
        let call = self.inner.call(request);
        Box::pin(async move {
            let res = call.await?;
            if res.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
                let retry_after = retry_after(res.headers());
                return Err(OpenAIError::Boxed(Box::new(RateLimited {
                    retry_after,
                    body: sample_bytes(res, ERROR_BYTES).await,
                })));
            }
            if !res.status().is_success() {
                return Ok(res);
            }
            let content_type = res
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_ascii_lowercase();
            // Event streams, JSON, and plain text (some servers label their event stream so).
            if content_type.is_empty()
                || content_type.starts_with("text/event-stream")
                || content_type.starts_with("text/plain")
                || content_type.contains("json")
            {
                return Ok(res);
            }
            let status = res.status().as_u16();
            Err(OpenAIError::Boxed(Box::new(UnexpectedAnswer {
                status,
                content_type,
                sample: sample_bytes(res, SAMPLE_BYTES).await,
            })))
        })
    }
}

/// The first `limit` bytes of the body, as text; never waits for more than that.
async fn sample_bytes(mut res: reqwest::Response, limit: usize) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < limit {
        match tokio::time::timeout(std::time::Duration::from_secs(2), res.chunk()).await {
            Ok(Ok(Some(chunk))) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(limit);
    String::from_utf8_lossy(&bytes).trim().to_owned()
}
