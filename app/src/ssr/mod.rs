//! Server-only infrastructure under every feature: tenant-scoped transactions, password hashing,
//! the audit-log writer, state parts from the request context and the server-function error
//! boundary. Nothing here imports a feature.
pub mod audit;
pub mod password;
pub mod tenancy;

use crate::error::AppError;

/// reqwest is built without a default TLS backend (aws-lc needs a long C build); ring is the
/// one we ship. Idempotent; call before building any HTTP client (building one without it
/// panics).
pub fn ensure_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The pool behind the session store and sign-in: small and separate, so requests that hold
/// the main pool (AI analyses, pipeline workers) cannot keep members from signing in or
/// loading their session.
#[derive(Clone, Debug)]
pub struct SessionPool(pub sqlx::PgPool);

/// One part of the application state (the pool, the AI gateway, …), as the server provided it
/// to this request. Missing is a server fault, reported with the request id.
pub fn from_context<T: Clone + Send + Sync + 'static>() -> Result<T, AppError> {
    leptos::prelude::use_context::<T>().ok_or_else(|| {
        tracing::error!(
            part = std::any::type_name::<T>(),
            "the server did not provide this part of the state"
        );
        AppError::Internal {
            request_id: crate::error::current_request_id(),
        }
    })
}

/// Every server function ends here: a failure sets the HTTP status that matches the error,
/// so a refused call is a real 401/403/422 and not a 500.
///
/// A plain HTML form post (a form submitted before the page is hydrated, or with JavaScript
/// off) is the exception: leptos sends it back to its page with the error in the address, and
/// the page's form shows it there; a 4xx status would leave the browser on a bare error body.
pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(err) = &result {
        if let Some(opts) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            if !is_plain_form_post() {
                opts.set_status(err.status());
            }
            if let Some(secs) = err.retry_after_secs() {
                opts.insert_header(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
            }
        }
    }
    result
}

/// Whether this request is a browser's own form submission to a server function (a POST under
/// `/api/` that accepts HTML), not a call from the app's script or a page being rendered.
fn is_plain_form_post() -> bool {
    leptos::prelude::use_context::<http::request::Parts>().is_some_and(|parts| {
        parts.method == http::Method::POST
            && parts.uri.path().starts_with("/api/")
            && parts
                .headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
    })
}

/// An error as a plain route answers it (server functions answer theirs the same way): its
/// status, `Retry-After` when it has one, and the `AppError` as JSON, which the browser's
/// server-function client decodes into the same message.
pub fn error_response(err: AppError) -> axum::response::Response {
    use axum::response::IntoResponse;
    let body = serde_json::to_vec(&err).unwrap_or_default();
    let mut res = (
        err.status(),
        [(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    if let Some(secs) = err.retry_after_secs() {
        res.headers_mut()
            .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
    }
    res
}

/// Gives server-function error responses the status of their `AppError`.
///
/// Errors our functions return already carry it (`respond`), but errors the server-function
/// layer raises itself, such as arguments that do not decode, always answer 500. This corrects
/// them, so bad input is a 422 and never looks like a server fault.
pub async fn error_status(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::body::Body;
    let res = next.run(req).await;
    let is_fn_error = res
        .headers()
        .contains_key(leptos::server_fn::error::SERVER_FN_ERROR_HEADER);
    if !is_fn_error || res.status() != http::StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(bytes) => bytes,
        Err(_) => return axum::response::Response::from_parts(parts, Body::empty()),
    };
    if let Ok(err) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = err.status();
    }
    axum::response::Response::from_parts(parts, Body::from(bytes))
}
