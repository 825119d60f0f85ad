//! The AI content pipeline: structured tasks, their state machine, quality scoring, decision
//! rules, the worker and the escalation queue.
//!
//! Inside, dependencies point one way: `pages` → `server_fns` → `review` / `worker` (services)
//! → `decision`, `quality`, `rules`, `prompt` (pure engines) → `db` (all SQL).
pub mod catalog;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod decision;
#[cfg(feature = "ssr")]
pub mod demo;
pub mod examples;
pub mod instructions;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod prompt;
#[cfg(feature = "ssr")]
pub mod quality;
pub mod report;
#[cfg(feature = "ssr")]
pub mod review;
#[cfg(feature = "ssr")]
pub mod rule_check;
pub mod rulebook;
pub mod rules;
#[cfg(all(test, feature = "ssr"))]
mod rules_semantics;
pub mod server_fns;
pub mod state;
#[cfg(feature = "ssr")]
pub mod stuck;
pub mod templates;
#[cfg(feature = "ssr")]
pub mod worker;
