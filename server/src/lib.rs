//! The SmartCRM server: configuration, telemetry, start-up and the demo data.
#![recursion_limit = "256"]
pub mod benchkit;
pub mod config;
pub mod demo;
pub mod limits;
pub mod startup;
pub mod state;
pub mod telemetry;
