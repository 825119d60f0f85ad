//! What happens to a scored draft, decided without any I/O: from the rules' decision, the
//! attempt and the scores to the task's next state, what changes with it and why; and the
//! context the rules decide on.
use super::{
    db::Changes,
    instructions::AiInstructions,
    report::QualityReport,
    rules::{Decision, RuleAction},
    state::TaskState,
};
use crate::crm::Customer;
use serde_json::{json, Value};

/// Where a scored draft's task goes next.
#[derive(Debug, Clone)]
pub struct Next {
    pub to: TaskState,
    pub changes: Changes,
    /// For the history row.
    pub reason: String,
    /// The decision as stored with the draft (approve, review, retry, reject, escalate).
    pub action: &'static str,
}

/// What a decision comes to on attempt `attempt` of `max_attempts`, as stored with the draft:
/// approve, review, reject, retry or escalate (a retry with no attempts left escalates). The
/// worker, the bench, simulations and shadow mode all name outcomes through here.
pub fn outcome(decision: &Decision, attempt: i64, max_attempts: i64) -> &'static str {
    match &decision.action {
        RuleAction::Approve => "approve",
        RuleAction::Review { .. } => "review",
        RuleAction::Reject { .. } => "reject",
        RuleAction::Escalate { .. } => "escalate",
        RuleAction::Retry { .. } if attempt >= max_attempts => "escalate",
        RuleAction::Retry { .. } => "retry",
    }
}

/// The outcome of a decision taken on a stored context (its `attempt` and `task.max_attempts`).
pub fn outcome_in(decision: &Decision, context: &Value) -> &'static str {
    let attempt = context.get("attempt").and_then(Value::as_i64).unwrap_or(1);
    let max = context
        .pointer("/task/max_attempts")
        .and_then(Value::as_i64)
        .unwrap_or(i64::MAX);
    outcome(decision, attempt, max)
}

/// The rules asked for `decision` on attempt `attempt` of `max_attempts`. A retry with no
/// attempts left escalates instead; a retry carries the rule's guidance plus every compliance
/// failure, so the next draft knows what to fix.
pub fn next(decision: &Decision, attempt: i16, max_attempts: i16, report: &QualityReport) -> Next {
    let summary = decision.summary();
    let out_of_attempts = attempt >= max_attempts;
    let (to, changes, reason) = match &decision.action {
        RuleAction::Approve => (TaskState::Approved, Changes::default(), summary),
        RuleAction::Review { reason } => (
            TaskState::AwaitingReview,
            Changes::waiting(reason_or(reason, &summary)),
            summary,
        ),
        RuleAction::Reject { reason } => (
            TaskState::Rejected,
            Changes::waiting(reason.clone()),
            summary,
        ),
        RuleAction::Escalate { reason } => (
            TaskState::Escalated,
            Changes::waiting(reason.clone()),
            summary,
        ),
        RuleAction::Retry { guidance } if out_of_attempts => {
            let why = format!(
                "Out of attempts: the rules asked for another ({guidance}) but all {max_attempts} are used"
            );
            (
                TaskState::Escalated,
                Changes::waiting(why.clone()),
                format!("{summary}; {why}"),
            )
        }
        RuleAction::Retry { guidance } => {
            let mut full = guidance.trim().to_owned();
            for f in &report.compliance.failures {
                full.push_str(&format!("\n- {}", f.message));
            }
            let changes = Changes {
                retry_guidance: Some(Some(full)),
                status_reason: Some(Some(summary.clone())),
                run_after_secs: Some(0.0),
                release_lease: true,
                ..Default::default()
            };
            (TaskState::RetryScheduled, changes, summary)
        }
    };
    Next {
        to,
        changes,
        reason,
        action: outcome(decision, attempt.into(), max_attempts.into()),
    }
}

fn reason_or(reason: &str, fallback: &str) -> String {
    if reason.trim().is_empty() {
        fallback.to_owned()
    } else {
        reason.to_owned()
    }
}

/// Which of the task's success criteria the draft met.
pub fn success_evaluation(i: &AiInstructions, r: &QualityReport) -> Value {
    let c = &i.success_criteria;
    json!({
        "readability_ok": c.readability_score_min.is_none_or(|m| r.readability.flesch_reading_ease >= m),
        "sentiment_ok": c.sentiment_target.as_deref().is_none_or(|t| t == r.sentiment.label),
        "cta_ok": !c.cta_present || r.compliance.cta_found,
        "compliance_passed": r.compliance.passed,
        "overall_ok": r.overall >= i.quality_thresholds.min_overall,
        "brand_ok": r.brand.score >= i.quality_thresholds.min_brand_alignment,
        "min_overall": i.quality_thresholds.min_overall,
    })
}

/// The task as the rules see it.
pub struct TaskFacts<'a> {
    pub title: &'a str,
    pub instructions: &'a AiInstructions,
    pub max_attempts: i16,
    pub age_hours: f64,
}

/// What the decision rules see: {task, customer, quality, attempt, deliverable}.
pub fn context(
    task: &TaskFacts,
    customer: &Customer,
    r: &QualityReport,
    attempt: i16,
    model: &str,
) -> Value {
    let i = task.instructions;
    let task = json!({
        "title": task.title,
        "output_type": i.output_type,
        "max_attempts": task.max_attempts,
        "min_overall": i.quality_thresholds.min_overall,
        "min_brand_alignment": i.quality_thresholds.min_brand_alignment,
        "age_hours": task.age_hours,
    });
    json!({
        "task": task,
        "customer": {"name": customer.name, "industry": customer.industry_category, "is_vip": customer.is_vip},
        "quality": {
            "overall": r.overall,
            "readability": r.readability.score,
            "sentiment": r.sentiment.score,
            "brand": r.brand.score,
            "compliance": {
                "passed": r.compliance.passed,
                "failure_count": r.compliance.failures.len(),
                "failures": r.compliance.failures.iter().map(|f| f.code.clone()).collect::<Vec<_>>(),
            },
            "flesch_reading_ease": r.readability.flesch_reading_ease,
            "sentiment_label": r.sentiment.label,
        },
        "attempt": attempt,
        "deliverable": {"words": r.compliance.word_count, "model": model},
    })
}
