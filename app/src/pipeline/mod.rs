//! The AI content pipeline: structured tasks, their state machine, quality scoring, decision
//! rules, the worker and the escalation queue.
#[cfg(feature = "ssr")]
pub mod quality;
