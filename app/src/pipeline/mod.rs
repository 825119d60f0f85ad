//! The AI content pipeline: structured tasks, their state machine, quality scoring, decision
//! rules, the worker and the escalation queue.
#[cfg(feature = "ssr")]
pub mod db;
pub mod instructions;
#[cfg(feature = "ssr")]
pub mod prompt;
#[cfg(feature = "ssr")]
pub mod quality;
pub mod report;
pub mod rules;
pub mod state;
#[cfg(feature = "ssr")]
pub mod worker;
