//! Decision-rule management: the list, an editor whose every save is an immutable version
//! (activation and rollback, diffs), the testing bench with saved test cases that gate
//! activation, simulations against the stored contexts of real drafts, and shadow mode. Every
//! evaluation goes through the worker's own `RuleEngine::decide` (see `sets.rs`).
#[cfg(feature = "ssr")]
pub mod bench;
#[cfg(feature = "ssr")]
pub mod db;
pub mod form;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod sets;
#[cfg(feature = "ssr")]
pub mod shadow;
#[cfg(feature = "ssr")]
pub mod simulate;

use crate::pipeline::rules::RuleAction;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// The outcomes a decision comes to, in the order the matrix shows them.
pub const OUTCOMES: [&str; 5] = ["approve", "review", "retry", "reject", "escalate"];
/// Drafts a simulation replays by default, and at most.
pub const DEFAULT_SIMULATED: u32 = 500;
pub const MAX_SIMULATED: u32 = 10_000;
/// Changed tasks a simulation lists (the count covers them all).
pub const MAX_CHANGED_LISTED: usize = 200;
/// Saved test cases per workspace.
pub const MAX_TEST_CASES: i64 = 200;
/// Disagreements a shadow run keeps (it goes on counting past them).
pub const MAX_DISAGREEMENTS_KEPT: i32 = 10_000;
/// Versions listed on a rule's page, newest first.
pub const MAX_VERSIONS_LISTED: i64 = 50;

/// One rule in the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleRow {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub category: String,
    pub priority: i32,
    /// What it does when it matches ("approve", "retry", ...).
    pub action: String,
    pub enabled: bool,
    /// The live version; None for a rule never activated.
    pub live_version: Option<i32>,
    pub latest_version: i32,
    /// Shipped with SmartCRM; changing it makes the workspace's own copy.
    pub builtin: bool,
    /// The built-in this workspace's copy stands in for, by name.
    pub replaces: Option<String>,
    /// Drafts it ran on over the last 30 days, and how many it matched.
    pub matched_30d: i64,
}

/// The rules by category, in the order categories decide, each in priority order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RulesPage {
    pub groups: Vec<(String, Vec<RuleRow>)>,
    /// Drafts decided over the last 30 days (what the match counts are out of).
    pub decided_30d: i64,
    pub test_cases: i64,
    pub shadow: Option<ShadowInfo>,
    pub can_edit: bool,
}

/// One version in a rule's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionInfo {
    pub version: i32,
    pub note: String,
    pub author: Option<String>,
    pub created_at: OffsetDateTime,
}

/// A version's whole content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleVersion {
    pub version: i32,
    pub name: String,
    pub description: String,
    pub category: String,
    pub priority: i32,
    /// The JSON Logic condition, pretty-printed.
    pub condition: String,
    pub action: RuleAction,
    pub note: String,
}

impl RuleVersion {
    /// The version as text, field by field then the condition, for diffs.
    pub fn as_text(&self) -> String {
        let (verb, words) = form::action_parts(&self.action);
        format!(
            "Name: {}\nDescription: {}\nCategory: {}\nPriority: {}\nAction: {verb}\nAction text: {words}\nCondition:\n{}\n",
            self.name, self.description, self.category, self.priority, self.condition
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleDetail {
    /// None for a new rule.
    pub id: Option<Uuid>,
    pub builtin: bool,
    pub enabled: bool,
    pub live_version: Option<i32>,
    pub latest_version: i32,
    pub versions: Vec<VersionInfo>,
    pub shown: RuleVersion,
    /// The context variables a condition may read, each with a sample value.
    pub variables: Vec<(String, String)>,
    pub can_edit: bool,
    /// Only admins may activate over failing test cases.
    pub can_override: bool,
}

/// One line of a diff: '+' added, '-' removed, ' ' the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffLine {
    pub tag: char,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleDiff {
    pub from: i32,
    pub to: i32,
    pub lines: Vec<DiffLine>,
}

/// A saved test case's result against a rule set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    pub id: Uuid,
    pub name: String,
    pub expected: String,
    pub got: String,
    /// The rule that decided, if one matched.
    pub rule: Option<String>,
    pub passed: bool,
}

impl CaseResult {
    pub fn failing(results: &[CaseResult]) -> Vec<&CaseResult> {
        results.iter().filter(|r| !r.passed).collect()
    }
}

/// The answer to a save: the version written and every test case run with it in the set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleSaved {
    pub id: Uuid,
    pub version: i32,
    pub cases: Vec<CaseResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestCase {
    pub id: Uuid,
    pub name: String,
    pub expected: String,
    /// The context, pretty-printed.
    pub context: String,
}

/// One rule's part in a bench run, ready to show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceLine {
    pub rule: String,
    pub version: i32,
    pub category: String,
    /// "matched", "not matched", "not run" or "error".
    pub outcome: String,
    pub values: Vec<(String, String)>,
    pub sentence: String,
    /// A draft version standing in for the live one.
    pub draft: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchRun {
    /// approve, review, retry, reject or escalate.
    pub outcome: String,
    pub summary: String,
    pub trace: Vec<TraceLine>,
    /// The drafts that stood in for live versions ("Quality gate v3").
    pub drafts: Vec<String>,
}

/// A decision that would change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Changed {
    pub task_id: Uuid,
    pub title: String,
    pub from: String,
    pub to: String,
    pub at: OffsetDateTime,
}

/// How often the rules would have done what the reviewer did, where one settled the task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    /// Drafts a person settled (approved, edited, rejected or sent back).
    pub settled: u32,
    pub live_agreed: u32,
    pub draft_agreed: u32,
    /// Left to a person (review or escalate): neither agreeing nor not.
    pub live_deferred: u32,
    pub draft_deferred: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Simulation {
    /// Drafts replayed.
    pub total: u32,
    /// matrix[live][draft], both indexed as OUTCOMES.
    pub matrix: [[u32; 5]; 5],
    pub changed_count: u32,
    /// The first MAX_CHANGED_LISTED changes, newest first.
    pub changed: Vec<Changed>,
    pub agreement: Agreement,
    /// The days the replayed drafts span (at least one).
    pub days: f64,
    /// Drafts a day the review and escalation queue would get, live set against draft set.
    pub queue_per_day_live: f64,
    pub queue_per_day_draft: f64,
    pub drafts: Vec<String>,
    /// Server time, for the page.
    pub elapsed_ms: u64,
}

/// A shadow run of a draft rule set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShadowInfo {
    pub id: Uuid,
    pub started_at: OffsetDateTime,
    pub started_by: Option<String>,
    /// The drafts it runs ("Quality gate v3").
    pub drafts: Vec<String>,
    pub evaluated: i32,
    pub disagreed: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Disagreement {
    pub task_id: Uuid,
    pub title: String,
    pub live: String,
    pub shadow: String,
    pub live_rule: Option<String>,
    pub shadow_rule: Option<String>,
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShadowPage {
    pub shadow: Option<ShadowInfo>,
    pub disagreements: Vec<Disagreement>,
    /// Drafts a new shadow run would take.
    pub drafts: Vec<String>,
    pub can_edit: bool,
    pub can_override: bool,
}
