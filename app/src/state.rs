//! The application state, built once at start-up. This is the composition root: it knows every
//! engine, and hands each one to the request as its own context (`provide`), so a feature asks
//! for just what it uses (`ssr::from_context::<PgPool>()`) and never depends on this module.
use crate::ai::gateway::Gateway;
use crate::analyses::cache::AnalysisHub;
use crate::auth::AuthSettings;
use crate::pipeline::worker::Pipeline;
use axum::extract::FromRef;
use leptos::prelude::{provide_context, LeptosOptions};
use sqlx::PgPool;
use std::sync::Arc;

/// Everything a request handler or server function may need, built once at start-up.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub auth: AuthSettings,
    pub password_gate: crate::ssr::password::Gate,
    pub ai: Arc<Gateway>,
    pub analyses: Arc<AnalysisHub>,
    pub analysis_limits: Arc<crate::analyses::limits::UserLimits>,
    /// A small pool of its own for the session store and sign-in, which AI and pipeline work
    /// on `pool` cannot starve.
    pub sessions: crate::ssr::SessionPool,
    pub pipeline: Arc<Pipeline>,
    /// Cancelled when the process starts to stop (Ctrl-C, SIGTERM): open streams end with a
    /// "restarting" event and the workers let go of their tasks.
    pub stopping: tokio_util::sync::CancellationToken,
    /// Live updates: this process's listener and its browsers' event streams.
    pub live: Arc<crate::live::hub::LiveHub>,
}

impl AppState {
    /// Makes each part available to server functions and pages of this request.
    pub fn provide(&self) {
        provide_context(self.leptos_options.clone());
        provide_context(self.pool.clone());
        provide_context(self.auth.clone());
        provide_context(self.password_gate.clone());
        provide_context(self.ai.clone());
        provide_context(self.analyses.clone());
        provide_context(self.analysis_limits.clone());
        provide_context(self.sessions.clone());
        provide_context(self.pipeline.clone());
    }
}
