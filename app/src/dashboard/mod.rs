//! The dashboard: the workspace at a glance, from real counts.
pub mod components;
#[cfg(feature = "ssr")]
pub mod db;
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
