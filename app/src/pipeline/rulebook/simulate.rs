//! What a draft rule set would change: the newest evaluated drafts are replayed, each on the
//! context the rules saw when it was scored, through the live set and the draft set alike.
use super::{
    db, sets, Agreement, Changed, Simulation, MAX_CHANGED_LISTED, MAX_SIMULATED, OUTCOMES,
};
use crate::{
    error::AppError,
    pipeline::rules::{DecisionRule, RuleEngine},
    ssr::tenancy::Tx,
};
use std::time::Instant;
use uuid::Uuid;

/// What a reviewer's verdict comes to as a decision.
fn verdict_outcome(verdict: &str) -> Option<&'static str> {
    match verdict {
        "approved" | "edited_and_approved" => Some("approve"),
        "rejected" => Some("reject"),
        "sent_back" => Some("retry"),
        _ => None,
    }
}

fn index(outcome: &str) -> usize {
    OUTCOMES.iter().position(|o| *o == outcome).unwrap_or(1)
}

/// Goes to a person: the review and escalation queue.
fn queued(outcome: &str) -> bool {
    outcome == "review" || outcome == "escalate"
}

/// Replays `rows` through both sets (the pure part, which the benchmark also times).
pub fn compare(
    engine: &RuleEngine,
    live: &[DecisionRule],
    draft: &[DecisionRule],
    rows: &[db::Replayed],
) -> Simulation {
    let mut matrix = [[0u32; 5]; 5];
    let mut changed = Vec::new();
    let mut changed_count = 0u32;
    let mut agreement = Agreement::default();
    let (mut queue_live, mut queue_draft) = (0u32, 0u32);
    for r in rows {
        let (_, old) = sets::outcome(engine, live, &r.context);
        let (_, new) = sets::outcome(engine, draft, &r.context);
        matrix[index(old)][index(new)] += 1;
        if old != new {
            changed_count += 1;
            if changed.len() < MAX_CHANGED_LISTED {
                changed.push(Changed {
                    task_id: r.task_id,
                    title: r.title.clone(),
                    from: old.to_owned(),
                    to: new.to_owned(),
                    at: r.created_at,
                });
            }
        }
        queue_live += u32::from(queued(old));
        queue_draft += u32::from(queued(new));
        if let Some(human) = r.verdict.as_deref().and_then(verdict_outcome) {
            agreement.settled += 1;
            agreement.live_agreed += u32::from(old == human);
            agreement.draft_agreed += u32::from(new == human);
            agreement.live_deferred += u32::from(queued(old));
            agreement.draft_deferred += u32::from(queued(new));
        }
    }
    // The days the drafts span: rows are newest first.
    let days = match (rows.first(), rows.last()) {
        (Some(newest), Some(oldest)) => {
            ((newest.created_at - oldest.created_at).as_seconds_f64() / 86_400.0).max(1.0)
        }
        _ => 1.0,
    };
    Simulation {
        total: u32::try_from(rows.len()).unwrap_or(u32::MAX),
        matrix,
        changed_count,
        changed,
        agreement,
        days,
        queue_per_day_live: f64::from(queue_live) / days,
        queue_per_day_draft: f64::from(queue_draft) / days,
        drafts: Vec::new(),
        elapsed_ms: 0,
    }
}

/// Replays the newest `limit` evaluated drafts (500 by default, 10,000 at most) through the
/// live set and the set `with` names.
pub async fn simulate(
    tx: &mut Tx,
    tenant: Uuid,
    engine: &RuleEngine,
    with: sets::With,
    limit: Option<u32>,
) -> Result<Simulation, AppError> {
    let started = Instant::now();
    let limit = limit.unwrap_or(super::DEFAULT_SIMULATED);
    if !(1..=MAX_SIMULATED).contains(&limit) {
        return Err(AppError::validation(
            "limit",
            format!("Replay from 1 to {MAX_SIMULATED} drafts."),
        ));
    }
    let draft = sets::resolve(tx, tenant, with).await?;
    if draft.drafts.is_empty() {
        return Err(AppError::validation(
            "with",
            "There is no draft to simulate: save a new version of a rule first.",
        ));
    }
    let rows = db::replay(tx, tenant, i64::from(limit)).await?;
    let mut sim = compare(engine, &draft.live, &draft.rules, &rows);
    sim.drafts = draft.drafts;
    sim.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    tracing::info!(
        total = sim.total,
        changed = sim.changed_count,
        elapsed_ms = sim.elapsed_ms,
        "rule simulation"
    );
    Ok(sim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::rules::{tests::rule, RuleAction, RuleCategory};
    use serde_json::json;
    use time::{Duration, OffsetDateTime};

    fn row(overall: i64, verdict: Option<&str>, days_ago: i64) -> db::Replayed {
        db::Replayed {
            task_id: Uuid::new_v4(),
            title: format!("Task at {overall}"),
            context: json!({"quality": {"overall": overall}, "attempt": 1, "task": {"max_attempts": 3}}),
            created_at: OffsetDateTime::UNIX_EPOCH + Duration::days(100 - days_ago),
            verdict: verdict.map(str::to_owned),
        }
    }

    fn gate(n: u128, at: i64) -> DecisionRule {
        rule(
            n,
            "Quality gate",
            RuleCategory::Approval,
            50,
            json!({">=": [{"var": "quality.overall"}, at]}),
            RuleAction::Approve,
        )
    }

    #[test]
    fn the_matrix_changes_agreement_and_queue_load_are_counted() {
        // Live approves at 80, the draft at 70; anything else goes to review.
        let rows = vec![
            row(90, None, 0),
            row(75, Some("approved"), 1),
            row(72, Some("rejected"), 2),
            row(60, Some("sent_back"), 3),
        ];
        let sim = compare(&RuleEngine::new(), &[gate(1, 80)], &[gate(2, 70)], &rows);
        assert_eq!(sim.total, 4);
        assert_eq!(sim.matrix[index("approve")][index("approve")], 1);
        assert_eq!(sim.matrix[index("review")][index("approve")], 2);
        assert_eq!(sim.matrix[index("review")][index("review")], 1);
        assert_eq!(sim.changed_count, 2);
        assert_eq!(sim.changed.len(), 2);
        assert_eq!(
            (sim.changed[0].from.as_str(), sim.changed[0].to.as_str()),
            ("review", "approve")
        );
        assert_eq!(sim.agreement.settled, 3);
        assert_eq!(
            (sim.agreement.live_agreed, sim.agreement.draft_agreed),
            (0, 1)
        );
        assert_eq!(
            (sim.agreement.live_deferred, sim.agreement.draft_deferred),
            (3, 1)
        );
        assert_eq!(sim.days, 3.0);
        assert_eq!(sim.queue_per_day_live, 1.0);
        assert!((sim.queue_per_day_draft - 1.0 / 3.0).abs() < 1e-9);
    }
}
