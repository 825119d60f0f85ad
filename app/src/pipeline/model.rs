//! The pipeline's data model as the pages see it: what the server functions return and take.
use super::{
    instructions::AiInstructions, report::QualityReport, rules::Decision, state::TaskState,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

pub const BOARD_PAGE_SIZE: i64 = 25;
pub const QUEUE_PAGE_SIZE: i64 = 20;

/// The pipeline page's filters (all optional), from its address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BoardFilter {
    pub customer: Option<Uuid>,
    pub state: Option<String>,
    pub output_type: Option<String>,
    /// Only tasks created within this many hours.
    pub max_age_hours: Option<i32>,
    /// Keyset cursor: tasks older than this one.
    pub before: Option<Uuid>,
}

impl BoardFilter {
    pub fn is_filtered(&self) -> bool {
        self.customer.is_some()
            || self.state.is_some()
            || self.output_type.is_some()
            || self.max_age_hours.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoardRow {
    pub id: Uuid,
    pub title: String,
    pub customer_name: String,
    pub output_type: String,
    pub state: TaskState,
    pub attempts: i16,
    pub max_attempts: i16,
    pub quality: Option<i16>,
    pub status_reason: Option<String>,
    pub created_at: OffsetDateTime,
    /// Seconds in the current state, as the server counted them.
    pub state_age_secs: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Board {
    /// Changes whenever any task of the workspace changes; the page polls with it.
    pub etag: String,
    /// Tasks per state under the current filters (except the state filter itself).
    pub counts: Vec<(TaskState, i64)>,
    pub rows: Vec<BoardRow>,
    pub next_before: Option<Uuid>,
    /// Whether the viewer may create tasks (the page shows "New task" only then).
    #[serde(default)]
    pub can_act: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BoardResponse {
    /// Nothing changed since the etag the page sent.
    Unchanged,
    Changed(Board),
}

/// A customer to pick in filters and the new-task form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerOption {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExampleUsed {
    pub id: Uuid,
    pub polarity: String,
    pub similarity: f32,
    /// "customer", "industry" or "any": whose example the selection found.
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub annotation: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptView {
    pub id: Uuid,
    pub attempt: i16,
    pub content: String,
    pub edited_content: Option<String>,
    pub model: Option<String>,
    pub provider: Option<String>,
    /// "Promotion email v3": the template and the version the draft was written from.
    pub template: Option<String>,
    pub template_id: Option<uuid::Uuid>,
    pub examples: Vec<ExampleUsed>,
    pub quality: Option<QualityReport>,
    pub decision: Option<Decision>,
    pub delivered_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    /// The customer's business context changed after this draft was written.
    #[serde(default)]
    pub context_outdated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransitionView {
    pub from: String,
    pub to: String,
    pub actor: String,
    pub actor_name: Option<String>,
    pub worker: Option<String>,
    pub reason: String,
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackView {
    pub verdict: String,
    pub reviewer: Option<String>,
    pub reason: String,
    pub guidance: String,
    pub edit_diff: Vec<DiffLine>,
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffLine {
    /// keep | add | remove
    pub op: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskDetail {
    pub id: Uuid,
    pub title: String,
    pub project: String,
    pub customer_name: String,
    pub state: TaskState,
    pub version: i32,
    pub attempts: i16,
    pub max_attempts: i16,
    pub instructions: AiInstructions,
    pub status_reason: Option<String>,
    pub retry_guidance: Option<String>,
    pub created_at: OffsetDateTime,
    pub attempt_views: Vec<AttemptView>,
    pub transitions: Vec<TransitionView>,
    pub feedback: Vec<FeedbackView>,
    /// Whether the reader may make a delivered draft an annotated example.
    #[serde(default)]
    pub can_promote: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueItem {
    pub id: Uuid,
    pub version: i32,
    pub title: String,
    pub customer_name: String,
    pub state: TaskState,
    pub reason: Option<String>,
    pub waiting_since: OffsetDateTime,
    pub waiting_secs: i64,
    pub attempts: i16,
    pub max_attempts: i16,
    pub draft: Option<String>,
    pub quality: Option<i16>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuePage {
    pub items: Vec<QueueItem>,
    /// Cursor for the next page: items waiting since after this one.
    pub next_after: Option<Uuid>,
    pub total: i64,
    /// Whether the viewer may settle tasks (QA sees the drafts without the buttons).
    #[serde(default)]
    pub can_act: bool,
}

/// A manager's decision on a task in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Approve,
    EditAndApprove,
    Reject,
    SendBack,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approve => "approve",
            Verdict::EditAndApprove => "edit_and_approve",
            Verdict::Reject => "reject",
            Verdict::SendBack => "send_back",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Verdict::Approve,
            Verdict::EditAndApprove,
            Verdict::Reject,
            Verdict::SendBack,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// "3 min", "2 h", "4 d": how long ago, for ages in lists.
pub fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..=59 => format!("{s} s"),
        60..=3_599 => format!("{} min", s / 60),
        3_600..=172_799 => format!("{} h", s / 3_600),
        _ => format!("{} d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age(5), "5 s");
        assert_eq!(age(125), "2 min");
        assert_eq!(age(7_300), "2 h");
        assert_eq!(age(400_000), "4 d");
        assert_eq!(age(-3), "0 s");
    }
}
