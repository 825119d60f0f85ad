use crate::ai::{cache::AnalysisHub, gateway::Gateway};
use crate::pipeline::worker::Pipeline;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use sqlx::PgPool;
use std::sync::Arc;

/// Everything a request handler or server function may need, built once at start-up.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub auth: AuthSettings,
    pub ai: Arc<Gateway>,
    pub analyses: Arc<AnalysisHub>,
    pub pipeline: Arc<Pipeline>,
}

/// Sign-in throttling: after `max_failures` failures within `failure_window_secs`, the
/// email is locked for `lockout_secs`.
#[derive(Clone, Debug)]
pub struct AuthSettings {
    pub max_failures: i32,
    pub failure_window_secs: i64,
    pub lockout_secs: i64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            max_failures: 5,
            failure_window_secs: 900,
            lockout_secs: 300,
        }
    }
}
