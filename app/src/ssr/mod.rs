//! Server-only infrastructure shared by the features: state, tenant-scoped transactions,
//! password hashing and the server-function error boundary.
pub mod password;
pub mod state;
pub mod tenancy;

pub use state::{AppState, AuthSettings};

use crate::error::AppError;

/// The state the server provided to this request.
pub fn app_state() -> Result<AppState, AppError> {
    leptos::prelude::use_context::<AppState>().ok_or_else(|| AppError::Internal {
        request_id: crate::error::current_request_id(),
    })
}

/// Every server function ends here: a failure sets the HTTP status that matches the error,
/// so a refused call is a real 401/403/422 and not a 500.
pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(err) = &result {
        if let Some(opts) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            opts.set_status(err.status());
        }
    }
    result
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
