//! Content templates under management: a list, an editor whose every save is an immutable
//! version, activation and rollback, diffs between versions, and a preview of the exact prompt
//! the worker would send (built by the worker's own `prompt::user_prompt`).
#[cfg(feature = "ssr")]
pub mod db;
pub mod form;
pub mod placeholders;
#[cfg(feature = "ssr")]
pub mod sample;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

pub const PAGE_SIZE: i64 = 25;
/// Versions listed on a template's page, newest first.
pub const MAX_VERSIONS_LISTED: i64 = 50;
pub const STATUSES: [&str; 3] = ["active", "draft", "inactive"];
/// What a template is for; the list filters by it.
pub const PURPOSES: [&str; 8] = [
    "promotion",
    "follow_up",
    "announcement",
    "education",
    "reminder",
    "welcome",
    "newsletter",
    "re_engagement",
];

/// "active" (the worker may use it), "draft" (never activated) or "inactive".
pub fn status(active: bool, active_version: Option<i32>) -> &'static str {
    match (active, active_version) {
        (true, Some(_)) => "active",
        (_, None) => "draft",
        (false, Some(_)) => "inactive",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateRow {
    pub id: Uuid,
    pub name: String,
    pub output_type: String,
    pub industry: String,
    pub purpose: String,
    pub status: String,
    pub active_version: Option<i32>,
    pub latest_version: i32,
    /// Shipped with SmartCRM for every workspace: read-only, copied to be changed.
    pub builtin: bool,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TemplateFilter {
    pub output_type: Option<String>,
    pub industry: Option<String>,
    pub purpose: Option<String>,
    pub status: Option<String>,
    pub after: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplatesPage {
    pub rows: Vec<TemplateRow>,
    pub next_after: Option<Uuid>,
    /// The industries templates are written for, for the filter.
    pub industries: Vec<String>,
    pub can_edit: bool,
}

/// One version in a template's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionInfo {
    pub version: i32,
    pub note: String,
    pub author: Option<String>,
    pub created_at: OffsetDateTime,
}

/// A version's whole content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateVersion {
    pub version: i32,
    pub name: String,
    pub output_type: String,
    pub industry: String,
    pub purpose: String,
    pub body: String,
    pub guidelines: String,
    pub placeholders: Vec<String>,
    pub note: String,
}

impl TemplateVersion {
    /// The version as text, field by field then the body, for diffs.
    pub fn as_text(&self) -> String {
        format!(
            "Name: {}\nType: {}\nIndustry: {}\nPurpose: {}\nGuidelines: {}\n\n{}\n",
            self.name,
            self.output_type,
            if self.industry.is_empty() {
                "any"
            } else {
                &self.industry
            },
            self.purpose,
            self.guidelines,
            self.body
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateDetail {
    pub id: Uuid,
    pub builtin: bool,
    pub status: String,
    pub active_version: Option<i32>,
    pub latest_version: i32,
    pub versions: Vec<VersionInfo>,
    /// The version the page shows (the newest unless another was asked for).
    pub shown: TemplateVersion,
    pub can_edit: bool,
}

/// One line of a diff: '+' added, '-' removed, ' ' the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffLine {
    pub tag: char,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateDiff {
    pub from: i32,
    pub to: i32,
    pub lines: Vec<DiffLine>,
}

/// The answer to a save: the template and the version written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionSaved {
    pub id: Uuid,
    pub version: i32,
    pub activated: bool,
}

/// An example the preview's prompt holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviewExample {
    pub polarity: String,
    pub similarity: f32,
    pub source: String,
    pub annotation: String,
}

/// The exact prompt the worker would send for this template version, customer and task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preview {
    pub system: String,
    pub user: String,
    /// The model the worker would route to.
    pub model: String,
    pub examples: Vec<PreviewExample>,
    pub examples_note: Option<String>,
    /// The brief the prompt was built for: the task's, or a sample one.
    pub brief: String,
}

/// A choice in the preview's pickers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviewChoice {
    pub id: Uuid,
    pub label: String,
}

/// One line of a sample's stream: the model writing, then the draft's scores and the decision
/// the rules would take (nothing is stored or delivered), or the real failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SampleEvent {
    Started {
        model: String,
        provider: String,
    },
    Delta {
        text: String,
    },
    /// The attempt that wrote the text so far failed and another starts: drop the text.
    Restart {
        reason: String,
    },
    Scored {
        model: String,
        latency_ms: u64,
        quality: crate::pipeline::report::QualityReport,
        decision: crate::pipeline::rules::Decision,
    },
    Failed {
        provider: String,
        model: String,
        after_ms: u64,
        message: String,
    },
}
