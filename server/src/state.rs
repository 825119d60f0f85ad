//! Builds the shared state: the database pool (as the non-owner app role) and settings.
//! Migrations run as the schema owner, on a connection of their own.
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
    #[error(
        "the database is not migrated to version {0}: run `smartcrm migrate` with the owner's \
         URL, or set SMARTCRM_OWNER_DATABASE_URL so start-up migrates (README, Database roles)"
    )]
    NotMigrated(i64),
    #[error(
        "DATABASE_URL signs in as {login}, which {why}. The app must sign in as a role with \
         only smartcrm_app's rights; migrations run as the owner through \
         SMARTCRM_OWNER_DATABASE_URL (README, Database roles)"
    )]
    PrivilegedLogin { login: String, why: String },
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Ai(#[from] app::ai::gateway::GatewayError),
    #[error("the content pipeline cannot start: {0}")]
    Pipeline(String),
    #[error("database error during start-up: {0}")]
    Db(#[from] sqlx::Error),
}

/// Where SmartCRM connects: the app's own login role, and the schema owner for migrations.
#[derive(Debug, Clone)]
pub struct Databases {
    pub app: PgConnectOptions,
    pub owner: Option<PgConnectOptions>,
}

impl Databases {
    pub fn from_settings(settings: &Settings) -> Result<Self, StartupError> {
        Ok(Self {
            app: connect_options(&settings.database_url)?,
            owner: settings
                .owner_database_url
                .as_ref()
                .map(connect_options)
                .transpose()?,
        })
    }
}

pub fn connect_options(url: &secrecy::SecretString) -> Result<PgConnectOptions, StartupError> {
    Ok(PgConnectOptions::from_str(url.expose_secret())
        .map_err(StartupError::BadUrl)?
        .application_name("smartcrm")
        .log_statements(tracing::log::LevelFilter::Trace))
}

/// Checks pgvector and applies migrations as the owner. Then lets the app role read the ledger,
/// and gives `app_login` (the role DATABASE_URL signs in as) the rights of `smartcrm_app`.
pub async fn migrate(
    owner: &PgConnectOptions,
    app_login: Option<&str>,
) -> Result<(), StartupError> {
    let mut conn = PgConnection::connect_with(owner)
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
    if let Some(login) = app_login {
        grant_app_rights(&mut conn, login).await?;
    }
    conn.close().await?;
    Ok(())
}

/// Makes the workspace `slug` the one whose admins edit the shared model catalog (and no other);
/// a slug that names no workspace yet is reported and changes nothing.
pub async fn set_catalog_operator(
    owner: &PgConnectOptions,
    slug: &str,
) -> Result<(), StartupError> {
    let mut conn = PgConnection::connect_with(owner)
        .await
        .map_err(StartupError::Connect)?;
    let exists: bool = sqlx::query_scalar("select exists (select 1 from tenants where slug = $1)")
        .bind(slug)
        .fetch_one(&mut conn)
        .await?;
    if exists {
        sqlx::query("update tenants set operates_catalog = (slug = $1) where operates_catalog <> (slug = $1)")
            .bind(slug)
            .execute(&mut conn)
            .await?;
        tracing::info!(
            workspace = slug,
            "this workspace edits the shared model catalog"
        );
    } else {
        tracing::warn!(
            workspace = slug,
            "SMARTCRM_CATALOG_WORKSPACE names no workspace; the catalog operator is unchanged"
        );
    }
    conn.close().await?;
    Ok(())
}

/// Makes `login` a member of `smartcrm_app` (unless it is the owner itself, or already one).
/// Processes migrating at once may race on the grant: one retry settles it, and the role check
/// at start-up reports a grant that still did not happen.
async fn grant_app_rights(conn: &mut PgConnection, login: &str) -> Result<(), StartupError> {
    for attempt in 0..3 {
        // Plain queries: a role name is an identifier, quoted by format(%I) in the server.
        let grant: Option<String> = sqlx::query_scalar(
            "select format('grant smartcrm_app to %I', rolname) from pg_roles
              where rolname = $1 and rolname <> current_user
                and not pg_has_role(rolname, 'smartcrm_app', 'member')",
        )
        .bind(login)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(grant) = grant else { return Ok(()) };
        match conn.execute(grant.as_str()).await {
            Ok(_) => return Ok(()),
            Err(err) => {
                tracing::debug!(error = %err, login, attempt, "granting smartcrm_app failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    Ok(())
}

/// With no owner URL nothing migrates: the schema must already be up to date.
pub async fn check_migrated(pool: &PgPool) -> Result<(), StartupError> {
    let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or_default();
    let applied = sqlx::query_scalar::<_, bool>(
        "select exists(select 1 from _sqlx_migrations where version = $1 and success)",
    )
    .bind(latest)
    .fetch_one(pool)
    .await;
    match applied {
        Ok(true) => Ok(()),
        Ok(false) | Err(_) => Err(StartupError::NotMigrated(latest)),
    }
}

/// Refuses an app login that could step around row-level security: a superuser, a role with
/// BYPASSRLS, or one that owns (or may become the owner of) SmartCRM's tables.
pub async fn check_app_role(pool: &PgPool) -> Result<(), StartupError> {
    let (login, superuser, bypass, owners): (String, bool, bool, Vec<String>) = sqlx::query_as(
        "select r.rolname::text, r.rolsuper, r.rolbypassrls,
                array(select distinct c.relowner::regrole::text
                        from pg_class c join pg_namespace n on n.oid = c.relnamespace
                       where n.nspname in ('public', 'tower_sessions')
                         and c.relkind in ('r', 'p')
                         and pg_has_role(session_user, c.relowner, 'member')
                       order by 1)
           from pg_roles r where r.rolname = session_user",
    )
    .fetch_one(pool)
    .await?;
    let why = if superuser {
        "is a superuser".to_owned()
    } else if bypass {
        "may bypass row-level security".to_owned()
    } else if !owners.is_empty() {
        format!(
            "owns, or may become, the owner of the tables ({})",
            owners.join(", ")
        )
    } else {
        return Ok(());
    };
    Err(StartupError::PrivilegedLogin { login, why })
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
    sessions: PgPool,
    settings: &Settings,
) -> Result<AppState, StartupError> {
    use app::{ai::gateway::Gateway, analyses::cache::AnalysisHub};
    use std::sync::Arc;
    let gateway_config = settings.ai.gateway_config();
    // A claim outlives the longest possible generation.
    let claim =
        gateway_config.call_budget(1 + usize::from(gateway_config.fallback_model.is_some()));
    let ai = Arc::new(Gateway::new(pool.clone(), gateway_config).await?);
    let stopping = tokio_util::sync::CancellationToken::new();
    ai.watch_catalog(stopping.clone());
    let analyses = Arc::new(AnalysisHub::new(
        Duration::from_secs(settings.ai.cache_ttl_secs),
        claim,
        stopping.clone(),
    ));
    let syllables = Arc::new(syllables(&settings.ai.models_dir).await?);
    let pipeline = app::pipeline::worker::Pipeline::new(pool.clone(), ai.clone(), syllables);
    let live = app::live::hub::LiveHub::new(settings.http.live, stopping.clone());
    live.listen(&pool);
    Ok(AppState {
        leptos_options,
        pool,
        ai,
        analyses,
        analysis_limits: Arc::new(app::analyses::limits::UserLimits::new(
            settings.ai.analysis_quota,
        )),
        sessions: app::ssr::SessionPool(sessions),
        pipeline,
        stopping,
        live,
        auth: AuthSettings {
            max_failures: settings.signin_max_failures,
            max_per_address: settings.signin_max_per_address,
            failure_window_secs: settings.signin_window_secs,
            lockout_secs: settings.signin_lockout_secs,
            trusted_proxies: settings.http.trusted_proxies.clone(),
            session_max_age_secs: settings.session_max_age_secs,
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
