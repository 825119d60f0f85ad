//! The AI content pipeline: structured tasks, their state machine, quality scoring, decision
//! rules, the worker and the escalation queue.
pub mod instructions;
#[cfg(feature = "ssr")]
pub mod quality;
pub mod report;
pub mod rules;
pub mod state;
