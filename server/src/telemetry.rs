//! Logging: an EnvFilter (RUST_LOG) and pretty or JSON output.
use crate::config::LogFormat;
use tracing::Subscriber;
use tracing_subscriber::{fmt, layer::SubscriberExt, EnvFilter, Registry};

pub const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_sessions=warn";

pub fn get_subscriber(format: LogFormat) -> Box<dyn Subscriber + Send + Sync> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let registry = Registry::default().with(filter);
    match format {
        LogFormat::Json => Box::new(
            registry.with(
                fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false),
            ),
        ),
        LogFormat::Pretty => Box::new(registry.with(fmt::layer().compact().with_target(false))),
    }
}

pub fn init_subscriber(subscriber: Box<dyn Subscriber + Send + Sync>) {
    // A second call (tests) keeps the first subscriber.
    let _ = tracing::subscriber::set_global_default(subscriber);
}
