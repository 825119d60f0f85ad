//! A content task's execution states, their names and labels: shared by the pipeline, which
//! owns the state machine (`pipeline::state`), and the pages that count tasks by state.
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    Pending,
    ContextLoading,
    Generating,
    Evaluating,
    Approved,
    AwaitingReview,
    RetryScheduled,
    Rejected,
    Escalated,
    Delivered,
    Failed,
    Cancelled,
}

impl TaskState {
    pub const ALL: [TaskState; 12] = [
        TaskState::Pending,
        TaskState::ContextLoading,
        TaskState::Generating,
        TaskState::Evaluating,
        TaskState::Approved,
        TaskState::AwaitingReview,
        TaskState::RetryScheduled,
        TaskState::Rejected,
        TaskState::Escalated,
        TaskState::Delivered,
        TaskState::Failed,
        TaskState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Pending => "pending",
            TaskState::ContextLoading => "context_loading",
            TaskState::Generating => "generating",
            TaskState::Evaluating => "evaluating",
            TaskState::Approved => "approved",
            TaskState::AwaitingReview => "awaiting_review",
            TaskState::RetryScheduled => "retry_scheduled",
            TaskState::Rejected => "rejected",
            TaskState::Escalated => "escalated",
            TaskState::Delivered => "delivered",
            TaskState::Failed => "failed",
            TaskState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            TaskState::Pending => "Pending",
            TaskState::ContextLoading => "Loading context",
            TaskState::Generating => "Generating",
            TaskState::Evaluating => "Evaluating",
            TaskState::Approved => "Approved",
            TaskState::AwaitingReview => "Awaiting review",
            TaskState::RetryScheduled => "Retry scheduled",
            TaskState::Rejected => "Rejected",
            TaskState::Escalated => "Escalated",
            TaskState::Delivered => "Delivered",
            TaskState::Failed => "Failed",
            TaskState::Cancelled => "Cancelled",
        }
    }

    /// Nothing moves a task out of these.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TaskState::Delivered | TaskState::Rejected | TaskState::Cancelled
        )
    }

    /// A worker holds the task (under a lease) while it is in one of these.
    pub fn is_in_flight(self) -> bool {
        matches!(
            self,
            TaskState::ContextLoading | TaskState::Generating | TaskState::Evaluating
        )
    }

    /// A person has to act: the escalation queue shows these (a failed task too: it never
    /// moves again by itself).
    pub fn needs_a_person(self) -> bool {
        matches!(
            self,
            TaskState::AwaitingReview | TaskState::Escalated | TaskState::Failed
        )
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
