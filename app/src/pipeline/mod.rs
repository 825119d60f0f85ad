//! The AI content pipeline: structured tasks, their state machine, quality scoring, decision
//! rules, the worker and the escalation queue.
pub mod components;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod demo;
pub mod instructions;
#[cfg(feature = "ssr")]
pub mod prompt;
#[cfg(feature = "ssr")]
pub mod quality;
#[cfg(feature = "ssr")]
pub mod queries;
pub mod report;
pub mod rules;
pub mod server_fns;
pub mod state;
pub mod views;
#[cfg(feature = "ssr")]
pub mod worker;
