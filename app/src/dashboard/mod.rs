//! The dashboard: the workspace at a glance. Members and sign-ins, and the operations view:
//! the pipeline's figures, the AI's per model, spend against budget and trend charts, all read
//! from daily rollups (`rollup`) that the refresh-dashboard job keeps current.
#[cfg(feature = "ssr")]
pub mod charts;
pub mod components;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod figures;
#[cfg(feature = "ssr")]
pub mod rollup;
pub mod server_fns;

use crate::{audit::AuditEntry, domain::Role};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DashboardStats {
    pub members_by_role: Vec<(Role, i64)>,
    pub sign_ins_7d: i64,
    pub active_members_7d: i64,
    /// The audit log's figures: admins only (`None` for every other role).
    pub audit: Option<AuditSummary>,
    pub operations: Operations,
}

/// The span the figures and charts cover, ending today (UTC days).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Period {
    #[default]
    Week,
    Month,
}

impl Period {
    pub fn days(self) -> i64 {
        match self {
            Period::Week => 7,
            Period::Month => 30,
        }
    }

    /// From the page's `?days=` (7 unless it says 30).
    pub fn from_query(days: Option<&str>) -> Self {
        match days.map(str::trim) {
            Some("30") => Period::Month,
            _ => Period::Week,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Period::Week => "Last 7 days",
            Period::Month => "Last 30 days",
        }
    }
}

/// The operations view: the pipeline for everyone, the AI and its spend for managers and admins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operations {
    pub period: Period,
    /// When the rollups were last rebuilt; `None` before the job first ran.
    pub refreshed_at: Option<time::OffsetDateTime>,
    /// Managers and admins may rebuild the figures at once.
    pub can_refresh: bool,
    pub pipeline: PipelineFigures,
    pub ai: Option<AiFigures>,
    pub charts: Vec<Chart>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineFigures {
    /// (state, label, tasks) for every state that has tasks, in the state machine's order.
    pub tasks_by_state: Vec<(String, String, i64)>,
    pub delivered: i64,
    /// Seconds from a task's creation to its delivery.
    pub delivery_p50_secs: Option<f64>,
    pub delivery_p90_secs: Option<f64>,
    /// Drafts scored and decided in the period, and each decision's share of them.
    pub scored: i64,
    pub rates: Vec<Rate>,
    /// The mean overall score and each part's mean.
    pub quality: Option<f64>,
    pub parts: Vec<(String, Option<f64>)>,
    /// Tasks waiting for a person (awaiting review, escalated, failed) now, and the oldest's age.
    pub backlog: i64,
    pub backlog_oldest_secs: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    pub label: String,
    pub count: i64,
    /// 0 to 1; `None` when nothing was decided.
    pub share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFigures {
    pub model: String,
    pub provider: String,
    pub calls: i64,
    /// Of the calls that reached the model (cache hits excluded).
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    pub error_rate: f64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cost_usd: f64,
    pub cache_hit_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AiFigures {
    /// Busiest first.
    pub models: Vec<ModelFigures>,
    /// This calendar month (UTC), against the workspace's budget when it has one.
    pub month_spend_usd: f64,
    pub budget_usd: Option<f64>,
    pub soft_limit_usd: Option<f64>,
}

/// A trend chart drawn on the server, with the same figures as a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    pub id: String,
    pub title: String,
    /// The value column's heading, with its unit ("Tasks", "USD").
    pub unit: String,
    /// A whole `<svg>` element (drawn by the server from numbers only).
    pub svg: String,
    /// (day, value as shown) for the table view.
    pub rows: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditSummary {
    pub events_7d: i64,
    pub recent: Vec<AuditEntry>,
}

impl DashboardStats {
    pub fn members_total(&self) -> i64 {
        self.members_by_role.iter().map(|(_, n)| n).sum()
    }
}
