//! The task state machine. `check` is the single authority on which moves are legal and who
//! may make them; the database layer (`db::transition`) applies a move only after asking it.
//!
//! ```text
//! pending -> context_loading -> generating -> evaluating
//!     -> approved | awaiting_review | retry_scheduled | rejected | escalated
//! approved -> delivered
//! ```
//! plus `failed` and `cancelled`. A crashed worker's task goes back from any in-flight state to
//! `context_loading` when another worker takes over its expired lease.
pub use crate::domain::TaskState;
use serde::{Deserialize, Serialize};

/// Who moves a task: the AI's own decision, a person, or the pipeline's machinery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Ai,
    User,
    System,
}

impl Actor {
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Ai => "ai",
            Actor::User => "user",
            Actor::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Actor::Ai, Actor::User, Actor::System]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("a task cannot move from {from} to {to}")]
    Illegal { from: TaskState, to: TaskState },
    #[error("a task moves from {from} to {to} by {allowed}, not by {actor}")]
    WrongActor {
        from: TaskState,
        to: TaskState,
        actor: &'static str,
        allowed: &'static str,
    },
}

/// Whether `actor` may move a task from `from` to `to`.
pub fn check(from: TaskState, to: TaskState, actor: Actor) -> Result<(), TransitionError> {
    use Actor::{Ai, System, User};
    use TaskState::*;
    let allowed: &[Actor] = match (from, to) {
        // A worker claims the task (again, after a retry was scheduled).
        (Pending | RetryScheduled, ContextLoading) => &[System],
        // Another worker resumes a task whose worker's lease expired.
        (ContextLoading | Generating | Evaluating, ContextLoading) => &[System],
        (ContextLoading, Generating) => &[System],
        (Generating, Evaluating) => &[System],
        // A step failed (the provider, the database): try again later while attempts remain.
        (ContextLoading | Generating, RetryScheduled) => &[System],
        (Evaluating, RetryScheduled) => &[Ai, System],
        (ContextLoading | Generating | Evaluating, Failed) => &[System],
        // The decision rules settle the draft.
        (Evaluating, Approved | AwaitingReview | Rejected) => &[Ai],
        // The rules escalate a draft; the stuck-task detector escalates a task held too long.
        (Evaluating, Escalated) => &[Ai, System],
        (Pending | RetryScheduled | ContextLoading | Generating | Approved, Escalated) => &[System],
        (Approved, Delivered) => &[System],
        // People settle what the AI could not (a failed task included); a stuck review can be
        // escalated by the system.
        (AwaitingReview | Escalated | Failed, Approved | Rejected | RetryScheduled) => &[User],
        (AwaitingReview, Escalated) => &[User, System],
        (Pending | RetryScheduled | AwaitingReview | Escalated | Failed | Approved, Cancelled) => {
            &[User]
        }
        _ => return Err(TransitionError::Illegal { from, to }),
    };
    if allowed.contains(&actor) {
        Ok(())
    } else {
        Err(TransitionError::WrongActor {
            from,
            to,
            actor: actor.as_str(),
            allowed: match allowed {
                [Ai] => "the AI",
                [User] => "a person",
                [System] => "the pipeline",
                [Ai, System] => "the AI or the pipeline",
                _ => "a person or the pipeline",
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Actor::*;
    use TaskState::*;

    #[test]
    fn the_happy_path_is_legal_step_by_step() {
        let path = [
            (Pending, ContextLoading, System),
            (ContextLoading, Generating, System),
            (Generating, Evaluating, System),
            (Evaluating, Approved, Ai),
            (Approved, Delivered, System),
        ];
        for (from, to, actor) in path {
            assert_eq!(check(from, to, actor), Ok(()), "{from} -> {to}");
        }
    }

    #[test]
    fn every_decision_outcome_is_reachable_from_evaluating_by_the_ai() {
        for to in [
            Approved,
            AwaitingReview,
            RetryScheduled,
            Rejected,
            Escalated,
        ] {
            assert_eq!(check(Evaluating, to, Ai), Ok(()));
            assert!(matches!(
                check(Evaluating, to, User),
                Err(TransitionError::WrongActor { .. })
            ));
        }
    }

    #[test]
    fn final_states_never_move() {
        for from in TaskState::ALL.into_iter().filter(|s| s.is_final()) {
            for to in TaskState::ALL {
                for actor in [Ai, User, System] {
                    assert_eq!(
                        check(from, to, actor),
                        Err(TransitionError::Illegal { from, to }),
                        "{from} -> {to}"
                    );
                }
            }
        }
    }

    #[test]
    fn skipping_steps_and_going_backwards_are_refused_with_the_states_named() {
        let err = check(Pending, Approved, System).expect_err("skips generation");
        assert_eq!(
            err.to_string(),
            "a task cannot move from pending to approved"
        );
        assert!(check(Evaluating, Generating, System).is_err());
        assert!(check(Pending, Delivered, User).is_err());
        assert!(check(AwaitingReview, Delivered, User).is_err());
        let err = check(AwaitingReview, Approved, Ai).expect_err("people settle reviews");
        assert_eq!(
            err.to_string(),
            "a task moves from awaiting_review to approved by a person, not by ai"
        );
    }

    #[test]
    fn people_settle_the_queue_and_a_lost_lease_resumes_from_context_loading() {
        for from in [AwaitingReview, Escalated, Failed] {
            for to in [Approved, Rejected, RetryScheduled, Cancelled] {
                assert_eq!(check(from, to, User), Ok(()), "{from} -> {to}");
            }
        }
        for from in [ContextLoading, Generating, Evaluating] {
            assert_eq!(check(from, ContextLoading, System), Ok(()));
            assert_eq!(check(from, Failed, System), Ok(()));
            // A step that failed is tried again later, by the pipeline only.
            assert_eq!(check(from, RetryScheduled, System), Ok(()));
            assert!(check(from, RetryScheduled, User).is_err());
        }
    }

    #[test]
    fn only_the_pipeline_escalates_a_stuck_task_that_no_person_or_rule_holds() {
        for from in [
            Pending,
            RetryScheduled,
            ContextLoading,
            Generating,
            Evaluating,
            Approved,
            AwaitingReview,
        ] {
            assert_eq!(check(from, Escalated, System), Ok(()), "{from}");
            assert!(
                check(from, Escalated, User).is_err() || from == AwaitingReview,
                "{from}"
            );
        }
        assert!(check(Pending, Escalated, Ai).is_err());
        assert!(check(Escalated, Escalated, System).is_err());
    }

    #[test]
    fn names_round_trip() {
        for s in TaskState::ALL {
            assert_eq!(TaskState::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).expect("json"),
                format!("\"{}\"", s.as_str())
            );
        }
        assert_eq!(TaskState::parse("done"), None);
    }
}
