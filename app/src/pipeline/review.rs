//! Reviewers' verdicts as a service: which verdicts need what, how each one moves the task
//! (an approval is delivered at once), and the feedback the learning loop reads. The SQL is in
//! `db`; the server function only authorises and parses.
use super::{
    db::{self, tasks::Feedback, Changes, Move, MoveError},
    instructions::MAX_ATTEMPTS_LIMIT,
    model::{DiffLine, Verdict},
    state::{Actor, TaskState},
};
use crate::{
    error::AppError,
    ssr::tenancy::{Scope, Tx},
};
use uuid::Uuid;

/// The longest reason or guidance a reviewer may give.
pub const MAX_NOTE_CHARS: usize = 2_000;
/// The longest edited draft.
pub const MAX_EDIT_CHARS: usize = 50_000;

/// A verdict with what it needs, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    pub verdict: Verdict,
    pub content: Option<String>,
    pub reason: String,
    pub guidance: String,
}

impl Review {
    /// Checks the form's fields for `verdict`; every message names its field.
    pub fn parse(
        verdict: &str,
        content: Option<String>,
        reason: Option<String>,
        guidance: Option<String>,
    ) -> Result<Review, AppError> {
        let verdict = Verdict::parse(verdict).ok_or_else(|| {
            AppError::validation(
                "verdict",
                "Choose approve, edit and approve, reject or send back.",
            )
        })?;
        let reason = reason.unwrap_or_default().trim().to_owned();
        let guidance = guidance.unwrap_or_default().trim().to_owned();
        let content = content.map(|c| c.trim().to_owned());
        match verdict {
            Verdict::Reject if reason.is_empty() => {
                return Err(AppError::validation(
                    "reason",
                    "Say why the draft is rejected.",
                ));
            }
            Verdict::SendBack if guidance.is_empty() => {
                return Err(AppError::validation(
                    "guidance",
                    "Tell the AI what to change.",
                ));
            }
            Verdict::EditAndApprove if content.as_deref().is_none_or(str::is_empty) => {
                return Err(AppError::validation(
                    "content",
                    "The edited draft is empty.",
                ));
            }
            _ => {}
        }
        if reason.chars().count() > MAX_NOTE_CHARS || guidance.chars().count() > MAX_NOTE_CHARS {
            return Err(AppError::validation(
                "reason",
                "Keep the reason and guidance under 2,000 characters.",
            ));
        }
        if content
            .as_ref()
            .is_some_and(|c| c.chars().count() > MAX_EDIT_CHARS)
        {
            return Err(AppError::validation(
                "content",
                "The edited draft is longer than 50,000 characters.",
            ));
        }
        Ok(Review {
            verdict,
            content,
            reason,
            guidance,
        })
    }

    /// Where the verdict takes the task, what changes with it, and why (for the history).
    fn next(&self) -> (TaskState, Changes, String) {
        match self.verdict {
            Verdict::Approve => (
                TaskState::Approved,
                Changes {
                    status_reason: Some(None),
                    ..Default::default()
                },
                "Approved by a reviewer".into(),
            ),
            Verdict::EditAndApprove => (
                TaskState::Approved,
                Changes {
                    status_reason: Some(None),
                    ..Default::default()
                },
                "Edited and approved by a reviewer".into(),
            ),
            Verdict::Reject => (
                TaskState::Rejected,
                Changes {
                    status_reason: Some(Some(self.reason.clone())),
                    ..Default::default()
                },
                format!("Rejected by a reviewer: {}", self.reason),
            ),
            Verdict::SendBack => (
                TaskState::RetryScheduled,
                Changes {
                    retry_guidance: Some(Some(self.guidance.clone())),
                    status_reason: Some(Some(format!("Sent back: {}", self.guidance))),
                    run_after_secs: Some(0.0),
                    ..Default::default()
                },
                format!("Sent back by a reviewer: {}", self.guidance),
            ),
        }
    }
}

/// Applies a reviewer's verdict to the task at `version` (the one the reviewer saw): moves the
/// task, delivering an approval at once, stores an edit, and records the feedback.
#[tracing::instrument(skip_all, fields(task_id = %id, verdict = review.verdict.as_str()))]
pub async fn apply(
    tx: &mut Tx,
    scope: Scope,
    id: Uuid,
    version: i32,
    review: &Review,
) -> Result<(), AppError> {
    let Some((state, current)) = db::current(tx, id).await? else {
        return Err(AppError::NotFound);
    };
    if current != version || !state.needs_a_person() {
        return Err(AppError::validation(
            "",
            format!(
                "This task changed meanwhile (it is now {}). Reload to see it.",
                state.label().to_lowercase()
            ),
        ));
    }
    // A failed task may have no draft: it can still be sent back or rejected.
    let latest = db::tasks::latest_draft(tx, id).await?;
    if latest.is_none() && matches!(review.verdict, Verdict::Approve | Verdict::EditAndApprove) {
        return Err(AppError::validation(
            "",
            "This task has no draft to approve. Send it back to the AI or reject it.",
        ));
    }
    if review.verdict == Verdict::SendBack {
        let standing = db::work::standing(tx, id).await?;
        if standing.attempts >= i16::from(MAX_ATTEMPTS_LIMIT) {
            return Err(AppError::validation(
                "guidance",
                format!(
                    "This task has used all {MAX_ATTEMPTS_LIMIT} attempts a task may have. Edit and approve the draft, or reject it."
                ),
            ));
        }
    }
    let (to, changes, why) = review.next();
    let m = Move {
        user_id: Some(scope.user_id),
        ..Move::by(Actor::User, id, version, state, to, None, &why)
    };
    let version = db::transition(tx, &m, &changes).await.map_err(move_error)?;
    if review.verdict == Verdict::SendBack {
        db::tasks::allow_another_attempt(tx, id).await?;
    }
    let Some((draft_id, draft)) = latest else {
        return Ok(());
    };
    let edited = match (review.verdict, review.content.as_deref()) {
        (Verdict::EditAndApprove, Some(c)) if c != draft.trim() => Some(c),
        _ => None,
    };
    if let Some(c) = edited {
        db::tasks::store_edit(tx, draft_id, c).await?;
    }
    if to == TaskState::Approved {
        db::deliver(tx, id, version, None, "Delivered on approval")
            .await
            .map_err(move_error)?;
    }
    let verdict = match (review.verdict, edited.is_some()) {
        (Verdict::Approve, _) | (Verdict::EditAndApprove, false) => "approved",
        (Verdict::EditAndApprove, true) => "edited_and_approved",
        (Verdict::Reject, _) => "rejected",
        (Verdict::SendBack, _) => "sent_back",
    };
    let feedback = Feedback {
        task_id: id,
        deliverable_id: draft_id,
        verdict,
        reason: &review.reason,
        guidance: &review.guidance,
        original: &draft,
        edited,
        diff: edited.map(|c| line_diff(&draft, c)),
    };
    db::tasks::insert_feedback(tx, scope, feedback).await?;
    Ok(())
}

fn move_error(e: MoveError) -> AppError {
    match e {
        MoveError::Db(e) => AppError::from(e),
        other => AppError::validation("", format!("{other}. Reload to see the task as it is now.")),
    }
}

/// A line diff from `before` to `after` (the `similar` crate), for the feedback record.
pub fn line_diff(before: &str, after: &str) -> Vec<DiffLine> {
    use similar::{ChangeTag, TextDiff};
    TextDiff::from_lines(before, after)
        .iter_all_changes()
        .map(|c| DiffLine {
            op: match c.tag() {
                ChangeTag::Equal => "keep",
                ChangeTag::Insert => "add",
                ChangeTag::Delete => "remove",
            }
            .into(),
            text: c.value().trim_end_matches('\n').to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diff_keeps_what_stayed_and_names_what_changed() {
        let d = line_diff(
            "Hi Sam,\nBuy now!\nThanks",
            "Hi Sam,\nBook your visit today.\nThanks",
        );
        let ops: Vec<(&str, &str)> = d.iter().map(|l| (l.op.as_str(), l.text.as_str())).collect();
        assert_eq!(
            ops,
            [
                ("keep", "Hi Sam,"),
                ("remove", "Buy now!"),
                ("add", "Book your visit today."),
                ("keep", "Thanks")
            ]
        );
    }

    #[test]
    fn a_rejection_needs_a_reason_and_a_send_back_needs_guidance() {
        let err = Review::parse("reject", None, Some("  ".into()), None).expect_err("no reason");
        assert_eq!(
            err.field_message("reason").as_deref(),
            Some("Say why the draft is rejected.")
        );
        let err = Review::parse("send_back", None, None, None).expect_err("no guidance");
        assert!(err.field_message("guidance").is_some());
        let err = Review::parse("maybe", None, None, None).expect_err("unknown verdict");
        assert!(err.field_message("verdict").is_some());
        let ok = Review::parse("approve", None, None, None).expect("approve needs nothing");
        assert_eq!(ok.verdict, Verdict::Approve);
    }
}
