//! The SmartCRM server: configuration, telemetry, start-up and the demo data.
pub mod benchkit;
pub mod config;
pub mod demo;
pub mod limits;
pub mod startup;
pub mod state;
pub mod telemetry;
