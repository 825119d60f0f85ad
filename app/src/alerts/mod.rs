//! Alerts (issue 15): each workspace's rules (`rules.rs`), their evaluation (`evaluate.rs`,
//! run by the evaluate-alerts job and by "Check now"), and the alerts themselves, deduplicated
//! by condition and moved through open → acknowledged → resolved (or auto-resolved when the
//! condition clears). Features raise one-off alerts through `evaluate::raise`. The page and
//! the header badge are in `pages.rs`; the root puts the badge into the app shell.
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod evaluate;
pub mod pages;
pub mod rules;
pub mod server_fns;
pub mod webhook;
pub mod webhook_page;
#[cfg(feature = "ssr")]
pub mod webhook_send;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// The text a stuck task's status starts with once the detector escalated it; the stuck-task
/// rule keeps its alert open while such a task waits.
pub const STUCK_REASON_PREFIX: &str = "Stuck: ";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    StuckTask,
    FailureRate,
    EscalationBacklog,
    QualityDrift,
    Budget,
    ProviderErrors,
    LatencySla,
    /// Raised by a legacy migration plan's guard (no rule: it stays until someone resolves it).
    ModelPlanGuard,
}

impl AlertKind {
    /// The kinds a rule evaluates (and auto-resolves).
    pub const RULES: [AlertKind; 7] = [
        AlertKind::StuckTask,
        AlertKind::FailureRate,
        AlertKind::EscalationBacklog,
        AlertKind::QualityDrift,
        AlertKind::Budget,
        AlertKind::ProviderErrors,
        AlertKind::LatencySla,
    ];
    pub const ALL: [AlertKind; 8] = [
        AlertKind::StuckTask,
        AlertKind::FailureRate,
        AlertKind::EscalationBacklog,
        AlertKind::QualityDrift,
        AlertKind::Budget,
        AlertKind::ProviderErrors,
        AlertKind::LatencySla,
        AlertKind::ModelPlanGuard,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::StuckTask => "stuck_task",
            AlertKind::FailureRate => "failure_rate",
            AlertKind::EscalationBacklog => "escalation_backlog",
            AlertKind::QualityDrift => "quality_drift",
            AlertKind::Budget => "budget",
            AlertKind::ProviderErrors => "provider_errors",
            AlertKind::LatencySla => "latency_sla",
            AlertKind::ModelPlanGuard => "model_plan_guard",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            AlertKind::StuckTask => "Stuck tasks",
            AlertKind::FailureRate => "Failure rate",
            AlertKind::EscalationBacklog => "Escalation backlog",
            AlertKind::QualityDrift => "Quality drift",
            AlertKind::Budget => "AI budget",
            AlertKind::ProviderErrors => "Provider errors",
            AlertKind::LatencySla => "Model latency",
            AlertKind::ModelPlanGuard => "Migration guard",
        }
    }

    /// What the rule watches, for the rules page.
    pub fn explain(self) -> &'static str {
        match self {
            AlertKind::StuckTask => "A task stays in a state longer than that state's limit. The detect-stuck-tasks job escalates it to a person; the alert stays open while it waits.",
            AlertKind::FailureRate => "The share of attempts that failed (the task failed, or a step failed and was rescheduled) over a window.",
            AlertKind::EscalationBacklog => "Too many tasks wait for a person, or the oldest has waited too long.",
            AlertKind::QualityDrift => "The mean quality score of recent drafts fell against the trailing baseline.",
            AlertKind::Budget => "This month's AI spend passed the warning share, the soft limit or the whole monthly budget.",
            AlertKind::ProviderErrors => "A burst of errors from one AI provider.",
            AlertKind::LatencySla => "A model's p95 latency over its SLA (the upgrade guide's 2 s).",
            AlertKind::ModelPlanGuard => "A legacy migration plan's guard tripped on the new models' errors or quality.",
        }
    }

    pub fn is_rule(self) -> bool {
        self != AlertKind::ModelPlanGuard
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Open,
    Acknowledged,
    Resolved,
    AutoResolved,
}

impl AlertState {
    pub const ALL: [AlertState; 4] = [
        AlertState::Open,
        AlertState::Acknowledged,
        AlertState::Resolved,
        AlertState::AutoResolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Open => "open",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Resolved => "resolved",
            AlertState::AutoResolved => "auto_resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            AlertState::Open => "Open",
            AlertState::Acknowledged => "Acknowledged",
            AlertState::Resolved => "Resolved",
            AlertState::AutoResolved => "Auto-resolved",
        }
    }

    pub fn is_live(self) -> bool {
        matches!(self, AlertState::Open | AlertState::Acknowledged)
    }
}

/// How a person closed an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    Fixed,
    FalseAlarm,
    Accepted,
}

impl Resolution {
    pub const ALL: [Resolution; 3] = [
        Resolution::Fixed,
        Resolution::FalseAlarm,
        Resolution::Accepted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Fixed => "fixed",
            Resolution::FalseAlarm => "false_alarm",
            Resolution::Accepted => "accepted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Resolution::Fixed => "Fixed",
            Resolution::FalseAlarm => "False alarm",
            Resolution::Accepted => "Accepted as it is",
        }
    }
}

/// Longest note a resolution keeps.
pub const MAX_NOTE_CHARS: usize = 2000;
/// Alerts on one page of the list.
pub const PAGE_SIZE: i64 = 25;

/// Which alerts the list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateFilter {
    /// Open and acknowledged.
    #[default]
    Live,
    Only(AlertState),
    All,
}

impl StateFilter {
    pub fn param(self) -> &'static str {
        match self {
            StateFilter::Live => "live",
            StateFilter::Only(s) => s.as_str(),
            StateFilter::All => "all",
        }
    }

    pub fn from_param(s: &str) -> Self {
        match s {
            "all" => StateFilter::All,
            s => AlertState::parse(s).map_or(StateFilter::Live, StateFilter::Only),
        }
    }

    /// The states as the database names them.
    pub fn states(self) -> Vec<String> {
        let states: Vec<AlertState> = match self {
            StateFilter::Live => vec![AlertState::Open, AlertState::Acknowledged],
            StateFilter::Only(s) => vec![s],
            StateFilter::All => AlertState::ALL.to_vec(),
        };
        states.into_iter().map(|s| s.as_str().to_owned()).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: Uuid,
    pub kind: AlertKind,
    pub severity: String,
    pub title: String,
    pub detail: String,
    pub link: Option<String>,
    pub state: AlertState,
    pub occurrences: i32,
    pub opened_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<OffsetDateTime>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<OffsetDateTime>,
    pub resolution: Option<String>,
    pub resolution_note: String,
    pub version: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertsPage {
    pub alerts: Vec<Alert>,
    pub page: i64,
    pub has_more: bool,
    /// Open (not yet acknowledged) alerts in the workspace, whatever the filter.
    pub open: i64,
    pub acknowledged: i64,
    /// Whether the member may acknowledge and resolve (managers and admins).
    pub can_act: bool,
}

/// What one evaluation changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    pub opened: u64,
    pub updated: u64,
    pub resolved: u64,
}

impl Evaluation {
    pub fn summary(&self) -> String {
        if self.opened + self.updated + self.resolved == 0 {
            return "Checked: nothing needs attention.".to_owned();
        }
        let mut parts = Vec::new();
        if self.opened > 0 {
            parts.push(format!("{} opened", self.opened));
        }
        if self.updated > 0 {
            parts.push(format!("{} still firing", self.updated));
        }
        if self.resolved > 0 {
            parts.push(format!("{} cleared", self.resolved));
        }
        format!("Checked: {}.", parts.join(", "))
    }

    pub fn total(&self) -> u64 {
        self.opened + self.updated + self.resolved
    }
}

/// The rules page: the stored rules as a form, and who may change them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RulesPage {
    pub form: rules::AlertRulesForm,
    pub can_edit: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_filters_name_their_states() {
        for k in AlertKind::ALL {
            assert_eq!(AlertKind::parse(k.as_str()), Some(k));
        }
        for s in AlertState::ALL {
            assert_eq!(StateFilter::from_param(s.as_str()), StateFilter::Only(s));
        }
        assert_eq!(StateFilter::from_param("nonsense"), StateFilter::Live);
        assert_eq!(StateFilter::Live.states(), vec!["open", "acknowledged"]);
        assert_eq!(StateFilter::All.states().len(), 4);
    }

    #[test]
    fn the_check_summary_says_what_changed() {
        assert_eq!(
            Evaluation::default().summary(),
            "Checked: nothing needs attention."
        );
        let e = Evaluation {
            opened: 2,
            updated: 0,
            resolved: 1,
        };
        assert_eq!(e.summary(), "Checked: 2 opened, 1 cleared.");
    }
}
