//! The HTTP application: routes, sessions, request ids, tracing, health probes.
use crate::{
    config::Settings,
    limits::{self, RequestLimits},
    state::{self, Databases, StartupError, MIGRATOR},
};
use app::{auth::guard::require_sign_in, shell, state::AppState, App};
use axum::{
    extract::State,
    http::{header, HeaderValue, Request, StatusCode},
    middleware,
    response::{IntoResponse, Redirect},
    routing::get,
    Router,
};
use leptos::prelude::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::PgPool;
use tower::ServiceBuilder;
use tower_http::{
    compression::{
        predicate::{DefaultPredicate, NotForContentType, Predicate},
        CompressionLayer,
    },
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer},
};
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;
use tracing::Level;

/// Session cookie settings and the limits on every request.
#[derive(Debug, Clone, Copy)]
pub struct HttpConfig {
    pub idle_minutes: i64,
    pub secure_cookie: bool,
    /// Every response says "HTTPS only" (the public URL is https).
    pub hsts: bool,
    pub limits: RequestLimits,
}

impl From<&Settings> for HttpConfig {
    fn from(s: &Settings) -> Self {
        Self {
            idle_minutes: s.session_idle_minutes,
            secure_cookie: s.secure_cookie,
            hsts: s
                .public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://")),
            limits: s.http.limits(),
        }
    }
}

pub const SESSION_COOKIE: &str = "smartcrm_session";
/// A year of HTTPS only, subdomains included, once a browser has seen the https public URL.
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

pub fn router(state: AppState, http: HttpConfig) -> Router {
    let routes = generate_route_list(App);
    let context = {
        let state = state.clone();
        move || state.provide()
    };
    let render_shell = {
        let options = state.leptos_options.clone();
        move || shell(options.clone())
    };
    let session_layer = SessionManagerLayer::new(PostgresStore::new(state.sessions.0.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(http.secure_cookie)
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(
            http.idle_minutes,
        )));

    Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard") }))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route(app::live::EVENTS_PATH, get(app::live::hub::events))
        .leptos_routes_with_context(&state, routes, context.clone(), render_shell)
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request<_>| {
                            let request_id = req
                                .headers()
                                .get("x-request-id")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("-");
                            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id)
                        })
                        .on_response(DefaultOnResponse::new().level(Level::INFO))
                        .on_failure(DefaultOnFailure::new().level(Level::ERROR)),
                )
                .layer(PropagateRequestIdLayer::x_request_id())
                .option_layer(http.hsts.then(|| {
                    SetResponseHeaderLayer::if_not_present(
                        header::STRICT_TRANSPORT_SECURITY,
                        HeaderValue::from_static(HSTS),
                    )
                }))
                // Size, time and text limits, before the session store or any handler.
                .layer(middleware::from_fn_with_state(http.limits, limits::guard))
                // Streamed server-function answers (AI analyses) must not wait in a compressor's buffer.
                .layer(CompressionLayer::new().compress_when(
                    DefaultPredicate::new().and(NotForContentType::const_new("application/octet-stream")),
                ))
                .layer(session_layer)
                .layer(middleware::from_fn(require_sign_in))
                .layer(middleware::from_fn(app::ssr::error_status)),
        )
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers and the newest migration is applied.
async fn readyz(State(pool): State<PgPool>) -> impl IntoResponse {
    let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or_default();
    // Plain query: the ledger table is sqlx's own, not part of our schema.
    let applied = sqlx::query_scalar::<_, bool>(
        "select exists(select 1 from _sqlx_migrations where version = $1 and success)",
    )
    .bind(latest)
    .fetch_one(&pool)
    .await;
    match applied {
        Ok(true) => (StatusCode::OK, "ready"),
        Ok(false) => (StatusCode::SERVICE_UNAVAILABLE, "migrations pending"),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}

/// The pipeline workers this process runs. They stop when the state's `stopping` token is
/// cancelled (or `stop` is called), each task letting go of its lease.
pub struct Workers {
    stop: tokio_util::sync::CancellationToken,
    handles: Vec<tokio::task::JoinHandle<()>>,
    /// Pipeline workers among the handles (the rest: the example embedder).
    workers: usize,
}

impl Workers {
    pub fn none() -> Self {
        Self {
            stop: tokio_util::sync::CancellationToken::new(),
            handles: Vec::new(),
            workers: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.workers
    }

    pub fn is_empty(&self) -> bool {
        self.workers == 0
    }

    /// Stops the workers and waits for them, a little longer than they give their tasks.
    pub async fn stop(self) {
        self.stop.cancel();
        let all = async {
            for h in self.handles {
                let _ = h.await;
            }
        };
        let grace = app::pipeline::worker::STOP_GRACE + std::time::Duration::from_millis(500);
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!("pipeline workers still stopping after {grace:?}; leaving them");
        }
    }
}

/// A name no other worker has: host, process and number.
pub fn worker_name(n: usize) -> String {
    format!("{}-{}-w{n}", host_name(), std::process::id())
}

/// How often the example embedder looks for work.
pub const EMBED_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Starts `count` pipeline workers on the shared state (and, if any, the example embedder).
pub fn spawn_workers(
    state: &AppState,
    settings: &crate::config::PipelineSettings,
    count: usize,
) -> Workers {
    use app::pipeline::worker::WorkerSettings;
    let stop = state.stopping.child_token();
    let mut handles: Vec<_> = (1..=count)
        .map(|n| {
            let mut ws = WorkerSettings::named(worker_name(n));
            ws.concurrency = settings.concurrency;
            ws.lease = std::time::Duration::from_secs(settings.lease_secs);
            tokio::spawn(state.pipeline.clone().run(ws, stop.clone()))
        })
        .collect();
    // With the workers, the background pass that keeps example vectors current.
    if count > 0 {
        handles.push(tokio::spawn(app::pipeline::examples::embedder::run(
            state.pool.clone(),
            state.ai.clone(),
            EMBED_EVERY,
            stop.clone(),
        )));
    }
    Workers {
        stop,
        handles,
        workers: count,
    }
}

/// A migrated database, a pool and a router, ready to serve.
/// The built-in local models start loading in the background, so the first click does not
/// wait for them and start-up never does.
pub async fn build(
    settings: &Settings,
    leptos_options: LeptosOptions,
) -> Result<(Router, PgPool, AppState), StartupError> {
    let (router, pool, state) = assemble(
        Databases::from_settings(settings)?,
        settings,
        leptos_options,
    )
    .await?;
    let gateway = state.ai.clone();
    tokio::spawn(async move { gateway.local().warm_up().await });
    Ok((router, pool, state))
}

/// As `build`, with the connections given directly (tests use their own database). The local
/// models load on first use, and no pipeline workers start: tests run their own.
pub async fn build_with(
    databases: Databases,
    settings: &Settings,
    leptos_options: LeptosOptions,
) -> Result<(Router, PgPool, AppState), StartupError> {
    assemble(databases, settings, leptos_options).await
}

/// Migrates as the owner (when given), then connects as the app's login role, refusing one
/// that could step around row-level security.
async fn assemble(
    databases: Databases,
    settings: &Settings,
    leptos_options: LeptosOptions,
) -> Result<(Router, PgPool, AppState), StartupError> {
    if let Some(owner) = &databases.owner {
        state::migrate(owner, Some(databases.app.get_username())).await?;
        if let Some(slug) = &settings.catalog_workspace {
            state::set_catalog_operator(owner, slug).await?;
        }
    }
    let pool = state::pool(databases.app.clone(), settings.db_max_connections).await?;
    state::check_app_role(&pool).await?;
    if databases.owner.is_none() {
        state::check_migrated(&pool).await?;
    }
    let sessions = state::pool(databases.app, settings.db_session_connections).await?;
    let app_state = state::app_state(leptos_options, pool.clone(), sessions, settings).await?;
    Ok((
        router(app_state.clone(), HttpConfig::from(settings)),
        pool,
        app_state,
    ))
}

/// The scheduled jobs this process can run (issue 15), by the names of `scheduled_jobs`.
pub fn jobs(state: &AppState, signin_window_secs: i64) -> app::jobs::scheduler::Registry {
    use tower_sessions::session_store::ExpiredDeletion;
    let sessions = state.sessions.0.clone();
    app::jobs::scheduler::Registry::default()
        .with("detect-stuck-tasks", |pool| async move {
            app::pipeline::stuck::detect_all(&pool).await
        })
        .with("evaluate-alerts", |pool| async move {
            app::alerts::evaluate::evaluate_all(&pool).await
        })
        .with("deliver-webhooks", |pool| async move {
            app::alerts::webhook_send::deliver_due(&pool).await
        })
        .with("refresh-dashboard", |pool| async move {
            app::dashboard::rollup::refresh_all(&pool).await
        })
        .with("model-plan-guard", |pool| async move {
            app::models::plans::guard_sweep(&pool)
                .await
                .map(|n| n as u64)
        })
        .with("purge-expired", move |pool| {
            let sessions = sessions.clone();
            async move {
                let store = PostgresStore::new(sessions.clone());
                ExpiredDeletion::delete_expired(&store)
                    .await
                    .map_err(|e| format!("deleting expired sessions: {e}"))?;
                let attempts = app::auth::purge_attempts(&sessions, signin_window_secs)
                    .await
                    .map_err(|e| format!("purging sign-in counts: {e}"))?;
                let cache = app::analyses::cache::purge_expired(&pool)
                    .await
                    .map_err(|e| format!("purging the analysis cache: {e}"))?;
                let runs = app::jobs::scheduler::purge_runs(&pool)
                    .await
                    .map_err(|e| format!("purging job runs: {e}"))?;
                Ok::<_, String>(attempts + cache + runs)
            }
        })
}

/// The scheduler of this process: takes due jobs (each run by one process only) until the
/// server stops. Every minute it also forgets the analysis allowances of idle members (they
/// live in this process's memory).
pub fn spawn_scheduler(state: &AppState, signin_window_secs: i64) -> tokio::task::JoinHandle<()> {
    let registry = jobs(state, signin_window_secs);
    let limits = state.analysis_limits.clone();
    let stop = state.stopping.clone();
    tokio::spawn({
        let stop = stop.clone();
        async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tick.tick() => limits.forget_idle(),
                }
            }
        }
    });
    tokio::spawn(app::jobs::scheduler::run(
        registry,
        state.pool.clone(),
        format!("{}-{}", host_name(), std::process::id()),
        stop,
    ))
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "smartcrm".to_owned())
}
