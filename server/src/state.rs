//! Builds the shared state: the database pool (as the non-owner app role) and settings.
use crate::config::Settings;
use app::{auth::AuthSettings, state::AppState};
use leptos::prelude::LeptosOptions;
use secrecy::ExposeSecret;
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    ConnectOptions, Connection, Executor, PgConnection, PgPool,
};
use std::{str::FromStr, time::Duration};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("DATABASE_URL is not a valid PostgreSQL URL: {0}")]
    BadUrl(sqlx::Error),
    #[error("cannot connect to the database: {0}")]
    Connect(sqlx::Error),
    #[error(
        "the database has no `vector` extension available. SmartCRM needs PostgreSQL with pgvector >= 0.8 \
         (scripts/run.sh starts one; on your own server install pgvector)"
    )]
    NoPgvector,
    #[error("pgvector {0} is too old: SmartCRM needs 0.8 or newer (iterative index scans)")]
    OldPgvector(String),
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Ai(#[from] app::ai::gateway::GatewayError),
    #[error("the content pipeline cannot start: {0}")]
    Pipeline(String),
    #[error("database error during start-up: {0}")]
    Db(#[from] sqlx::Error),
}

pub fn connect_options(settings: &Settings) -> Result<PgConnectOptions, StartupError> {
    Ok(
        PgConnectOptions::from_str(settings.database_url.expose_secret())
            .map_err(StartupError::BadUrl)?
            .application_name("smartcrm")
            .log_statements(tracing::log::LevelFilter::Trace),
    )
}

/// Checks pgvector, applies migrations as the owner, and lets the app role read the ledger.
pub async fn migrate(options: &PgConnectOptions) -> Result<(), StartupError> {
    let mut conn = PgConnection::connect_with(options)
        .await
        .map_err(StartupError::Connect)?;
    let available: Option<String> = sqlx::query_scalar(
        "select default_version from pg_available_extensions where name = 'vector'",
    )
    .fetch_optional(&mut conn)
    .await?;
    let version = available.ok_or(StartupError::NoPgvector)?;
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    if (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) < (0, 8) {
        return Err(StartupError::OldPgvector(version));
    }
    MIGRATOR.run(&mut conn).await?;
    conn.execute("grant select on _sqlx_migrations to smartcrm_app")
        .await?;
    conn.close().await?;
    Ok(())
}

/// A pool whose connections act as `smartcrm_app`, which row-level security applies to.
pub async fn pool(options: PgConnectOptions, max: u32) -> Result<PgPool, StartupError> {
    PgPoolOptions::new()
        .max_connections(max)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("set role smartcrm_app").await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(StartupError::Connect)
}

/// The shared state, with the AI gateway checked against the model catalog.
pub async fn app_state(
    leptos_options: LeptosOptions,
    pool: PgPool,
    settings: &Settings,
) -> Result<AppState, StartupError> {
    use app::{ai::gateway::Gateway, analyses::cache::AnalysisHub};
    use std::sync::Arc;
    let gateway_config = settings.ai.gateway_config();
    // A claim outlives the longest possible generation: every attempt timing out, plus backoff.
    let attempts = u64::from(gateway_config.max_retries + 1)
        * if gateway_config.fallback_model.is_some() {
            2
        } else {
            1
        };
    let claim = gateway_config.timeout.saturating_mul(attempts as u32)
        + gateway_config.backoff_max.saturating_mul(attempts as u32);
    let ai = Arc::new(Gateway::new(pool.clone(), gateway_config).await?);
    let analyses = Arc::new(AnalysisHub::new(
        Duration::from_secs(settings.ai.cache_ttl_secs),
        claim,
    ));
    let syllables = Arc::new(syllables(&settings.ai.models_dir).await?);
    let pipeline = app::pipeline::worker::Pipeline::new(pool.clone(), ai.clone(), syllables);
    Ok(AppState {
        leptos_options,
        pool,
        ai,
        analyses,
        pipeline,
        auth: AuthSettings {
            max_failures: settings.signin_max_failures,
            max_per_address: settings.signin_max_per_address,
            failure_window_secs: settings.signin_window_secs,
            lockout_secs: settings.signin_lockout_secs,
            trusted_proxies: settings.http.trusted_proxies.clone(),
        },
        password_gate: app::ssr::password::Gate::new(settings.signin_concurrency),
    })
}

/// Syllable counts for the readability scores: the CMU dictionary the run and test commands
/// fetch, or (with a warning) hyphenation patterns alone, which score less exactly.
async fn syllables(
    models_dir: &std::path::Path,
) -> Result<app::pipeline::quality::readability::Syllables, StartupError> {
    use app::pipeline::quality::readability::Syllables;
    let path = models_dir.join("cmudict/cmudict.dict");
    let loaded = tokio::task::spawn_blocking(move || Syllables::load(&path))
        .await
        .map_err(|e| StartupError::Pipeline(format!("loading the CMU dictionary failed: {e}")))?;
    match loaded {
        Ok(s) => Ok(s),
        Err(why) => {
            tracing::warn!(
                "{why}; readability scores use hyphenation patterns alone (run scripts/fetch-models.sh)"
            );
            Syllables::without_dictionary().map_err(StartupError::Pipeline)
        }
    }
}
