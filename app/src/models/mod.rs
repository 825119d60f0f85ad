//! Feature: prompts and models under control (issue 14). The model catalog with its prices
//! and 30-day usage (`catalog.rs`); versioned prompts with labels and per-version metrics
//! (`prompts.rs`); bulk reassignment with its cost forecast and undo (`bulk.rs`); legacy
//! migration plans with their guard (`plans.rs`); A/B experiments (`experiments.rs`, statistics
//! in `experiment_stats.rs`); workspace and member model settings (`settings.rs`,
//! `settings_store.rs`). Moves of a prompt or a setting to another model, with their backups,
//! go through `reassign.rs`. All of it through `server_fns.rs`; the pages are in `pages/`. Which
//! model answers a call is decided by the shared `ai::routing` order, which the AI gateway
//! applies.
pub mod experiment_stats;
pub mod form;
pub mod pages;
pub mod plan_form;
pub mod server_fns;
pub mod settings;

#[cfg(feature = "ssr")]
pub mod bulk;
#[cfg(feature = "ssr")]
pub mod catalog;
#[cfg(feature = "ssr")]
pub mod demo;
#[cfg(feature = "ssr")]
pub mod experiments;
#[cfg(feature = "ssr")]
pub mod plans;
#[cfg(feature = "ssr")]
pub mod prompts;
#[cfg(feature = "ssr")]
pub mod reassign;
#[cfg(feature = "ssr")]
pub mod settings_store;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A price, from a moment on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceRow {
    pub effective_from: OffsetDateTime,
    pub input_cost_per_1k: f64,
    pub output_cost_per_1k: f64,
}

/// One model's calls in this workspace over the last 30 days (cache hits left out).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub calls: i64,
    pub tokens: i64,
    pub cost_usd: f64,
    pub p50_ms: Option<f64>,
    /// Share of calls that failed, 0 to 1.
    pub error_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRow {
    pub id: String,
    pub provider: String,
    pub display_name: String,
    pub tier: String,
    pub kind: String,
    pub status: String,
    pub recommended: bool,
    pub context_window: i32,
    pub dimensions: Option<i32>,
    /// The price in effect now.
    pub price: Option<PriceRow>,
    /// A price that starts later, if one is set.
    pub upcoming: Option<PriceRow>,
    /// Every price, newest first.
    pub history: Vec<PriceRow>,
    pub usage: Usage,
    /// Prompts of this workspace whose production version names it.
    pub prompts: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogPage {
    pub models: Vec<ModelRow>,
    /// Whether this workspace edits the shared catalog.
    pub can_edit: bool,
}

impl ModelRow {
    /// "$0.00175 in / $0.014 out per 1K tokens".
    pub fn price_label(&self) -> String {
        match &self.price {
            Some(p) => price_label(p.input_cost_per_1k, p.output_cost_per_1k),
            None => "no price".to_owned(),
        }
    }
}

pub fn price_label(input: f64, output: f64) -> String {
    format!("${input} in / ${output} out per 1K tokens")
}

/// A count of tokens, short: 128K, 1.2M.
pub fn tokens_label(n: i64) -> String {
    match n {
        n if n >= 1_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{}K", n / 1_000),
        n => n.to_string(),
    }
}

/// A provider badge's colours.
pub fn provider_badge(provider: &str) -> &'static str {
    match provider {
        "openai" => "bg-emerald-50 text-emerald-800 ring-emerald-200",
        "local" => "bg-slate-100 text-slate-700 ring-slate-200",
        "ollama" => "bg-sky-50 text-sky-800 ring-sky-200",
        _ => "bg-violet-50 text-violet-800 ring-violet-200",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bulk_summary_counts_and_names_the_reasons() {
        assert_eq!(bulk_message(3, &[]), "3 updated.");
        let skipped = [
            ("a".to_owned(), "already on that model".to_owned()),
            ("b".to_owned(), "already on that model".to_owned()),
        ];
        assert_eq!(
            bulk_message(12, &skipped),
            "12 updated, 2 skipped: already on that model."
        );
    }

    #[test]
    fn a_forecast_projects_the_changed_prompts_onto_a_month() {
        let row = |name: &str, now: f64, target: f64, skip: Option<&str>| ForecastRow {
            name: name.into(),
            current_model: "m".into(),
            calls: 1,
            prompt_tokens: 0,
            completion_tokens: 0,
            cost_now: now,
            cost_target: target,
            skip: skip.map(str::to_owned),
        };
        let f = Forecast {
            target: ModelOption {
                id: "t".into(),
                display_name: "T".into(),
                provider: "openai".into(),
                tier: "fast".into(),
                status: "active".into(),
                recommended: false,
                context_window: 1000,
                input_cost_per_1k: 0.0,
                output_cost_per_1k: 0.0,
            },
            rows: vec![
                row("a", 3.0, 1.0, None),
                row("b", 5.0, 5.0, Some("already on that model")),
            ],
        };
        assert_eq!(f.to_change(), 1);
        assert!((f.delta() + 2.0).abs() < 1e-12);
        assert!((f.monthly_delta() + 2.0 / 30.0 * 30.4375).abs() < 1e-9);
        assert!((f.monthly_target() - 30.4375 / 30.0).abs() < 1e-9);
    }

    #[test]
    fn token_counts_are_short() {
        assert_eq!(tokens_label(128_000), "128K");
        assert_eq!(tokens_label(1_250_000), "1.2M");
        assert_eq!(tokens_label(512), "512");
    }
}

/// A model as the prompt editor's dropdown offers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelOption {
    pub id: String,
    pub display_name: String,
    pub provider: String,
    pub tier: String,
    pub status: String,
    pub recommended: bool,
    pub context_window: i32,
    pub input_cost_per_1k: f64,
    pub output_cost_per_1k: f64,
}

impl ModelOption {
    /// "GPT-5.2 · openai · $0.00175 in / $0.014 out per 1K tokens · 128K window".
    pub fn describe(&self) -> String {
        format!(
            "{} · {} · {} · {} window",
            self.display_name,
            self.provider,
            price_label(self.input_cost_per_1k, self.output_cost_per_1k),
            tokens_label(i64::from(self.context_window))
        )
    }
}

/// One prompt in the listing: the version that serves it and its model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptRow {
    pub name: String,
    pub task_kind: String,
    pub tier: String,
    pub description: String,
    pub version: i32,
    /// The serving version is the built-in one (the workspace has not deployed its own).
    pub builtin: bool,
    pub staging: Option<i32>,
    pub model: ModelOption,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PromptFilter {
    pub model: Option<String>,
    pub provider: Option<String>,
    pub task: Option<String>,
    pub q: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptsPage {
    /// This page's prompts.
    pub rows: Vec<PromptRow>,
    /// How many match the filter, over every page.
    pub total: usize,
    pub page: usize,
    pub pages: usize,
    /// Every model, for the filter and the dropdowns.
    pub models: Vec<ModelOption>,
    pub tasks: Vec<String>,
    pub can_edit: bool,
}

/// One version in a prompt's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptVersion {
    pub version: i32,
    pub builtin: bool,
    pub ai_model: String,
    pub note: String,
    pub author: Option<String>,
    pub created_at: OffsetDateTime,
    /// The labels pointing at it here: `production`, `staging`.
    pub labels: Vec<String>,
}

/// One version's text and settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptText {
    pub version: i32,
    pub description: String,
    pub system_prompt: String,
    pub template: String,
    pub ai_model: String,
    pub max_tokens: i32,
    pub temperature: f32,
}

/// What one version did over its calls in this workspace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VersionMetrics {
    pub version: i32,
    pub calls: i64,
    pub p50_ms: Option<f64>,
    pub cost_usd: f64,
    pub error_rate: Option<f64>,
    /// Pipeline prompts: the mean quality score of its drafts (0 to 100).
    pub quality: Option<f64>,
    /// Pipeline prompts: the share of reviewed drafts a person approved.
    pub approval_rate: Option<f64>,
    /// Mean prompt tokens per call: the typical filled-in size.
    pub prompt_tokens: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptDetail {
    pub name: String,
    pub task_kind: String,
    pub tier: String,
    /// The model a new version starts with when it names none: the tier's default.
    pub tier_default: Option<String>,
    pub versions: Vec<PromptVersion>,
    pub shown: PromptText,
    pub newest: i32,
    pub metrics: Vec<VersionMetrics>,
    pub placeholders: Vec<String>,
    pub models: Vec<ModelOption>,
    pub can_edit: bool,
}

impl PromptDetail {
    /// The typical filled-in prompt in tokens: the serving version's mean, else any version's.
    pub fn typical_tokens(&self) -> Option<f64> {
        self.metrics
            .iter()
            .filter_map(|m| m.prompt_tokens)
            .fold(None, |a: Option<f64>, t| Some(a.map_or(t, |a| a.max(t))))
    }
}

/// What a save or a label move did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptSaved {
    pub version: i32,
    pub message: String,
}

/// A warning when the typical filled-in prompt plus the answer comes near a model's window
/// (over 80% of it), or `None`.
pub fn window_warning(typical_prompt: Option<f64>, max_tokens: i32, window: i32) -> Option<String> {
    let prompt = typical_prompt?;
    let needed = prompt + f64::from(max_tokens.max(0));
    let share = needed / f64::from(window.max(1));
    (share > 0.8).then(|| {
        format!(
            "The typical filled-in prompt ({prompt:.0} tokens) plus the answer ({max_tokens}) is {:.0}% of this model's {} context window.",
            share * 100.0,
            tokens_label(i64::from(window))
        )
    })
}

/// The prompts a bulk action covers: the names ticked, or every prompt the filter matches
/// (select all, across pages).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    pub names: Vec<String>,
    pub all_matching: Option<PromptFilter>,
}

/// How many prompts one bulk action may cover.
pub const MAX_SELECTED: usize = 200;

/// Days of calls a forecast reprices, and the days of an average month it projects onto.
pub const FORECAST_DAYS: i32 = 30;
const DAYS_PER_MONTH: f64 = 365.25 / 12.0;

/// One prompt's last 30 days of calls, as they cost and as they would cost on the target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastRow {
    pub name: String,
    pub current_model: String,
    pub calls: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    /// What the calls cost, at the prices of their day.
    pub cost_now: f64,
    /// The same tokens at the target's price in effect now.
    pub cost_target: f64,
    /// Why the prompt would be left alone ("already on that model").
    pub skip: Option<String>,
}

impl ForecastRow {
    pub fn delta(&self) -> f64 {
        if self.skip.is_some() {
            0.0
        } else {
            self.cost_target - self.cost_now
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    pub target: ModelOption,
    pub rows: Vec<ForecastRow>,
}

impl Forecast {
    pub fn to_change(&self) -> usize {
        self.rows.iter().filter(|r| r.skip.is_none()).count()
    }
    /// The change over the repriced 30 days.
    pub fn delta(&self) -> f64 {
        self.rows.iter().map(ForecastRow::delta).sum()
    }
    /// The 30 days' change spread over an average month.
    pub fn monthly_delta(&self) -> f64 {
        self.delta() / f64::from(FORECAST_DAYS) * DAYS_PER_MONTH
    }
    /// What the changed prompts would cost a month on the target.
    pub fn monthly_target(&self) -> f64 {
        self.rows
            .iter()
            .filter(|r| r.skip.is_none())
            .map(|r| r.cost_target)
            .sum::<f64>()
            / f64::from(FORECAST_DAYS)
            * DAYS_PER_MONTH
    }
}

/// What a bulk reassignment or its undo did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkSummary {
    pub id: uuid::Uuid,
    pub updated: Vec<String>,
    /// Each prompt left alone, and why.
    pub skipped: Vec<(String, String)>,
    pub message: String,
}

/// "12 updated, 2 skipped: already on that model".
pub fn bulk_message(updated: usize, skipped: &[(String, String)]) -> String {
    let mut reasons: Vec<&str> = skipped.iter().map(|(_, why)| why.as_str()).collect();
    reasons.sort_unstable();
    reasons.dedup();
    match skipped.len() {
        0 => format!("{updated} updated."),
        n => format!("{updated} updated, {n} skipped: {}.", reasons.join("; ")),
    }
}

/// One row a legacy migration plan changes (or, once applied, changed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanChange {
    /// `prompt`, `user_setting` or `workspace_setting`.
    pub target: String,
    /// The prompt's name, the member's name, or "Workspace".
    pub label: String,
    /// The settings' tier ("" for a prompt).
    pub tier: String,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRow {
    pub id: uuid::Uuid,
    pub name: String,
    /// Legacy model → its replacement.
    pub mapping: Vec<(String, String)>,
    pub status: String,
    pub guard_calls: i32,
    pub guard_max_error_rate: f32,
    pub guard_min_quality: Option<f32>,
    pub guard_auto_rollback: bool,
    pub guard_state: Option<String>,
    pub guard_note: Option<String>,
    pub created_at: OffsetDateTime,
    pub applied_at: Option<OffsetDateTime>,
    pub rolled_back_at: Option<OffsetDateTime>,
    /// Draft: what applying would change now. Applied or rolled back: what it changed.
    pub changes: Vec<PlanChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlansPage {
    pub plans: Vec<PlanRow>,
    pub models: Vec<ModelOption>,
}

/// An experiment on a prompt with its arms side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentView {
    pub id: uuid::Uuid,
    pub prompt_name: String,
    pub candidate_model: String,
    /// The model the prompt's production version names now.
    pub control_model: String,
    pub percent: i16,
    pub sticky_by: String,
    /// `running`, `promoted` or `stopped`.
    pub status: String,
    pub started_at: OffsetDateTime,
    pub ended_at: Option<OffsetDateTime>,
    pub metrics: Vec<experiment_stats::MetricRow>,
}
