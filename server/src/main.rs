//! `smartcrm`: serves the app, applies migrations, seeds the demo workspaces.
use clap::{Parser, Subcommand};
use leptos::config::get_configuration;
use server::{config::Settings, demo, startup, telemetry};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "smartcrm", about = "SmartCRM, the AI-first CRM operations console")]
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
    /// Apply migrations and exit.
    Migrate,
    /// Apply migrations, seed the demo workspaces if missing, and exit.
    SeedDemo,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(err) => {
            eprintln!("smartcrm: configuration error: {err}");
            return ExitCode::FAILURE;
        }
    };
    telemetry::init_subscriber(telemetry::get_subscriber(settings.log_format));
    match run(cli.command.unwrap_or(Command::Serve { seed_demo: false }), settings).await {
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
    let (router, pool) = startup::build(&settings, leptos_options).await?;
    let seed = match command {
        Command::Migrate => return Ok(()),
        Command::SeedDemo => {
            demo::seed(&pool).await?;
            return Ok(());
        }
        Command::Serve { seed_demo } => seed_demo,
    };
    if seed {
        demo::seed(&pool).await?;
    }
    let cleanup = startup::spawn_session_cleanup(pool.clone());
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} (set SMARTCRM_ADDR to another address): {e}"))?;
    tracing::info!("listening on http://{addr}");
    axum::serve(listener, router.into_make_service())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    cleanup.abort();
    pool.close().await;
    tracing::info!("stopped");
    Ok(())
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
