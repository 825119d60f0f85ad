//! `smartcrm`: serves the app, applies migrations, seeds the demo workspaces.
use clap::{Parser, Subcommand};
use leptos::config::get_configuration;
use server::{config::Settings, demo, startup, state, telemetry};
use std::{process::ExitCode, time::Duration};

#[derive(Parser)]
#[command(
    name = "smartcrm",
    about = "SmartCRM, the AI-first CRM operations console"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations and serve the app (the default).
    Serve {
        /// Seed the demo workspaces first if they do not exist yet.
        #[arg(long)]
        seed_demo: bool,
    },
    /// Apply migrations and run content-pipeline workers only (no web server) until Ctrl-C.
    /// Any number of these, on any machines, share the work through the database.
    Worker {
        /// How many workers this process runs (default: SMARTCRM_WORKERS, at least 1).
        #[arg(long)]
        count: Option<usize>,
    },
    /// Apply migrations and exit: as SMARTCRM_OWNER_DATABASE_URL if set, else as DATABASE_URL
    /// (which must then be the schema owner).
    Migrate,
    /// Apply migrations, seed the demo workspaces if missing, and exit.
    SeedDemo,
    /// Generate realistic CRM records for a demo workspace (the same for the same seed).
    GenerateDemo {
        /// The demo workspace: acme or globex.
        #[arg(long, default_value = "acme")]
        workspace: String,
        #[arg(long, default_value_t = 1000)]
        contacts: usize,
        /// Average activities per contact.
        #[arg(long, default_value_t = 10)]
        activities_per_contact: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Delete the workspace's existing customers, contacts, deals and activities first.
        #[arg(long)]
        replace: bool,
    },
}

/// How long open connections get to finish after the stop signal (streams are told at once).
const HTTP_GRACE: Duration = Duration::from_secs(2);
/// How long the pool and the runtime's blocking threads get on the way out.
const CLOSE_GRACE: Duration = Duration::from_millis(300);

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(err) => {
            eprintln!("smartcrm: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async_main());
    // Blocking work still running (a model loading, a password hash) does not hold the exit.
    runtime.shutdown_timeout(CLOSE_GRACE);
    code
}

async fn async_main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(err) => {
            eprintln!("smartcrm: configuration error: {err}");
            return ExitCode::FAILURE;
        }
    };
    telemetry::init_subscriber(telemetry::get_subscriber(settings.log_format));
    match run(
        cli.command.unwrap_or(Command::Serve { seed_demo: false }),
        settings,
    )
    .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            eprintln!("smartcrm: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> Result<(), Box<dyn std::error::Error>> {
    let mut leptos_options = get_configuration(None)?.leptos_options;
    if let Some(addr) = settings.addr {
        leptos_options.site_addr = addr;
    }
    let addr = leptos_options.site_addr;
    if let Command::Migrate = command {
        let databases = state::Databases::from_settings(&settings)?;
        match &databases.owner {
            Some(owner) => state::migrate(owner, Some(databases.app.get_username())).await?,
            None => state::migrate(&databases.app, None).await?,
        }
        println!("migrations applied");
        return Ok(());
    }
    let (router, pool, state) = startup::build(&settings, leptos_options).await?;
    let seed = match command {
        Command::Migrate => return Ok(()),
        Command::Worker { count } => {
            let count = count.unwrap_or(settings.pipeline.workers).max(1);
            let workers = startup::spawn_workers(&state, &settings.pipeline, count);
            let scheduler = startup::spawn_scheduler(&state, settings.signin_window_secs);
            tracing::info!(
                workers = workers.len(),
                "pipeline workers running; Ctrl-C stops them"
            );
            shutdown_signal().await;
            tracing::info!("stopping: the workers let go of their tasks");
            workers.stop().await;
            state.stopping.cancel();
            let _ = tokio::time::timeout(CLOSE_GRACE, scheduler).await;
            close(pool).await;
            return Ok(());
        }
        Command::SeedDemo => {
            demo::seed(&pool).await?;
            return Ok(());
        }
        Command::GenerateDemo {
            workspace,
            contacts,
            activities_per_contact,
            seed,
            replace,
        } => {
            let started = std::time::Instant::now();
            let plan = app::crm::demo::Plan {
                seed,
                contacts,
                activities_per_contact,
            };
            let made = demo::generate_for(&pool, &workspace, plan, replace).await?;
            // Fresh statistics (as the owner; the app role may not analyze), so the planner
            // sees the new table sizes at once. Without the owner's URL, autovacuum will.
            if let Some(url) = &settings.owner_database_url {
                use sqlx::{Connection, Executor};
                let mut owner =
                    sqlx::PgConnection::connect_with(&state::connect_options(url)?).await?;
                owner
                    .execute("analyze customers, contacts, deals, activities")
                    .await?;
            }
            println!(
                "generated {} customers, {} contacts, {} deals, {} activities in {:.1} s",
                made.customers,
                made.contacts,
                made.deals,
                made.activities,
                started.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        Command::Serve { seed_demo } => seed_demo,
    };
    if seed {
        demo::seed(&pool).await?;
        demo::seed_tasks(&pool).await?;
    }
    let scheduler = startup::spawn_scheduler(&state, settings.signin_window_secs);
    let workers = startup::spawn_workers(&state, &settings.pipeline, settings.pipeline.workers);
    if !workers.is_empty() {
        tracing::info!(workers = workers.len(), "pipeline workers running");
    }
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        format!("cannot listen on {addr} (set SMARTCRM_ADDR to another address): {e}")
    })?;
    tracing::info!("listening on http://{addr}");
    // One signal stops everything at once: the listener, open streams (each told that the
    // server is restarting) and the workers (each task's lease expired for the next worker).
    let stopping = state.stopping.clone();
    tokio::spawn({
        let stopping = stopping.clone();
        async move {
            shutdown_signal().await;
            tracing::info!("stopping: open streams are told, workers let go of their tasks");
            stopping.cancel();
        }
    });
    let serve = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(stopping.clone().cancelled_owned());
    tokio::select! {
        served = std::future::IntoFuture::into_future(serve) => served?,
        () = async { stopping.cancelled().await; tokio::time::sleep(HTTP_GRACE).await } => {
            tracing::warn!("connections still open {HTTP_GRACE:?} after the stop signal; closing them");
        }
    }
    workers.stop().await;
    // A job in the middle of a run finishes it (or is marked abandoned later).
    let _ = tokio::time::timeout(CLOSE_GRACE, scheduler).await;
    close(pool).await;
    tracing::info!("stopped");
    Ok(())
}

/// Closes the pool, waiting a moment for connections in use.
async fn close(pool: sqlx::PgPool) {
    if tokio::time::timeout(CLOSE_GRACE, pool.close())
        .await
        .is_err()
    {
        tracing::warn!("database connections still in use at exit");
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
}
