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
