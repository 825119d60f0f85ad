//! The audit log: who did what, when, in a workspace. Admins read it page by page.
pub mod components;
#[cfg(feature = "ssr")]
pub mod db;
pub mod server_fns;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: OffsetDateTime,
    pub actor_name: Option<String>,
    pub action: String,
    pub target: Option<String>,
    /// Where the target can be seen, while it still exists.
    pub link: Option<String>,
    /// The fields the change touched, with their values before and after.
    pub changes: Vec<AuditChange>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditChange {
    pub field: String,
    pub from: String,
    pub to: String,
}

impl AuditEntry {
    /// A readable sentence for known actions; the raw action name otherwise.
    pub fn describe(&self) -> String {
        match self.action.as_str() {
            "auth.sign_in" => "signed in".to_owned(),
            "auth.sign_out" => "signed out".to_owned(),
            "customer.business_context_changed" => "changed the business context of".to_owned(),
            "contact.created" => "added the contact".to_owned(),
            "contact.updated" => "edited the contact".to_owned(),
            "contact.archived" => "archived the contact".to_owned(),
            "contact.restored" => "restored the contact".to_owned(),
            "deal.created" => "added a deal for".to_owned(),
            "deal.updated" => "changed a deal of".to_owned(),
            "deal.archived" => "archived a deal of".to_owned(),
            "activity.logged" => "logged an activity with".to_owned(),
            "contacts.imported" => "imported".to_owned(),
            "examples.imported" => "imported".to_owned(),
            "template.version_saved" => "saved a new version of the template".to_owned(),
            "template.activated" => "made live a version of the template".to_owned(),
            "template.rolled_back" => "rolled back the template".to_owned(),
            "template.deactivated" => "took out of use the template".to_owned(),
            "rule.version_saved" => "saved a new version of the decision rule".to_owned(),
            "rule.activated" => "made live a version of the decision rule".to_owned(),
            "rule.rolled_back" => "rolled back the decision rule".to_owned(),
            "rule.enabled" => "turned on the decision rule".to_owned(),
            "rule.disabled" => "turned off the decision rule".to_owned(),
            "rules.activation_overridden" => {
                "activated over failing test cases the decision rules".to_owned()
            }
            "rule_test_case.saved" => "saved the rule test case".to_owned(),
            "rule_test_case.deleted" => "deleted the rule test case".to_owned(),
            "rules.shadow_started" => "started shadowing draft rules:".to_owned(),
            "rules.shadow_stopped" => "stopped the".to_owned(),
            "rules.shadow_promoted" => "made live the drafts of the".to_owned(),
            other => other.replace(['.', '_'], " "),
        }
    }
}

/// One page of the audit log, newest first; `next_before` fetches the page after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next_before: Option<i64>,
}

pub const PAGE_SIZE: i64 = 25;
