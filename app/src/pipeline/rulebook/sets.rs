//! Rule sets as the engine runs them: the live set (read by the worker's own loader), the live
//! set with draft versions standing in for theirs, and the one evaluation the bench, test
//! cases, simulations and shadow mode share with the worker: `RuleEngine::decide` (with words:
//! `decide_explained`), its outcome named by `decision::outcome_in`.
use super::{db, CaseResult};
use crate::{
    error::AppError,
    pipeline::{
        db::work,
        decision,
        rules::{Decision, DecisionRule, RuleEngine},
    },
    ssr::tenancy::Tx,
};
use serde_json::Value;
use uuid::Uuid;

/// A rule set with the drafts in it, and the drafts by name ("Quality gate v3").
#[derive(Debug, Clone, Default)]
pub struct Drafted {
    pub rules: Vec<DecisionRule>,
    /// The live set the drafts stand in.
    pub live: Vec<DecisionRule>,
    pub drafts: Vec<String>,
    /// The versions standing in, as asked for.
    pub versions: Vec<(Uuid, i32)>,
}

/// The live set with each draft in place of its rule's live version (or of the built-in it is
/// a copy of); a draft of a rule that was never live joins the set.
pub fn with_drafts(live: Vec<DecisionRule>, drafts: &[db::StoredVersion]) -> Drafted {
    let mut rules = live.clone();
    let mut names = Vec::new();
    let mut versions = Vec::new();
    for d in drafts {
        let Some(rule) = d.rule() else {
            tracing::warn!(rule = %d.rule_id, version = d.version, "a stored rule version cannot be read");
            continue;
        };
        rules.retain(|r| r.id != d.rule_id && Some(r.id) != d.replaces);
        names.push(format!("{} v{}", rule.name, rule.version));
        versions.push((d.rule_id, d.version));
        rules.push(rule);
    }
    Drafted {
        rules,
        live,
        drafts: names,
        versions,
    }
}

/// The workspace's live set with these versions standing in. A version the workspace cannot
/// see is a field error naming it.
pub async fn drafted(
    tx: &mut Tx,
    tenant: Uuid,
    wanted: &[(Uuid, i32)],
) -> Result<Drafted, AppError> {
    let live = work::load_rules(tx, tenant).await?;
    let stored = db::stored_versions(tx, tenant, wanted).await?;
    if let Some((id, v)) = wanted
        .iter()
        .find(|(id, v)| !stored.iter().any(|s| s.rule_id == *id && s.version == *v))
    {
        return Err(AppError::validation(
            "version",
            format!("There is no version {v} of rule {id} in this workspace."),
        ));
    }
    Ok(with_drafts(live, &stored))
}

/// Which drafts stand in for live versions on the bench and in a simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum With {
    /// The live set alone.
    Live,
    /// Every draft of the workspace.
    Drafts,
    /// One rule's newest version.
    Rule(Uuid),
}

impl With {
    /// "live", "drafts" or a rule's id.
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        match raw.trim() {
            "" | "live" => Ok(With::Live),
            "drafts" => Ok(With::Drafts),
            id => id.parse().map(With::Rule).map_err(|_| {
                AppError::validation(
                    "with",
                    "Choose the live rules, the live rules with every draft, or one rule's draft.",
                )
            }),
        }
    }
}

/// The set `with` names.
pub async fn resolve(tx: &mut Tx, tenant: Uuid, with: With) -> Result<Drafted, AppError> {
    let wanted = match with {
        With::Live => Vec::new(),
        With::Drafts => db::drafts(tx, tenant).await?,
        With::Rule(id) => {
            let head = db::head(tx, tenant, id, false)
                .await?
                .ok_or(AppError::NotFound)?;
            if head.live && head.latest_version == head.version {
                Vec::new()
            } else {
                vec![(id, head.latest_version)]
            }
        }
    };
    drafted(tx, tenant, &wanted).await
}

/// Decides as the worker does, with the trace in words, and names the outcome.
pub fn evaluate(
    engine: &RuleEngine,
    rules: &[DecisionRule],
    context: &Value,
) -> (Decision, &'static str) {
    let d = engine.decide_explained(rules, context);
    let outcome = decision::outcome_in(&d, context);
    (d, outcome)
}

/// The same decision without the words, where only the outcome is kept (simulations).
pub fn outcome(
    engine: &RuleEngine,
    rules: &[DecisionRule],
    context: &Value,
) -> (Decision, &'static str) {
    let d = engine.decide(rules, context);
    let outcome = decision::outcome_in(&d, context);
    (d, outcome)
}

/// Every saved test case against `rules`.
pub fn run_cases(
    engine: &RuleEngine,
    rules: &[DecisionRule],
    cases: &[db::CaseRow],
) -> Vec<CaseResult> {
    cases
        .iter()
        .map(|c| {
            let (d, got) = outcome(engine, rules, &c.context);
            CaseResult {
                id: c.id,
                name: c.name.clone(),
                expected: c.expected.clone(),
                got: got.to_owned(),
                rule: d.rule,
                passed: got == c.expected,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::rules::{tests::rule, RuleAction, RuleCategory};

    fn stored(of: &DecisionRule, version: i32, replaces: Option<Uuid>) -> db::StoredVersion {
        db::StoredVersion {
            rule_id: of.id,
            version,
            name: of.name.clone(),
            description: String::new(),
            category: of.category.as_str().to_owned(),
            priority: of.priority,
            condition: of.condition.clone(),
            action: serde_json::to_value(&of.action).unwrap_or_default(),
            note: String::new(),
            enabled: true,
            replaces,
        }
    }

    #[test]
    fn a_draft_stands_in_for_its_rule_or_the_builtin_it_copies() {
        let gate = rule(
            1,
            "Quality gate",
            RuleCategory::Approval,
            50,
            serde_json::json!(true),
            RuleAction::Approve,
        );
        let vip = rule(
            2,
            "VIP",
            RuleCategory::Approval,
            40,
            serde_json::json!(false),
            RuleAction::Approve,
        );
        let live = vec![gate.clone(), vip.clone()];
        // A new version of the gate, and a copy of VIP (another id) that replaces it.
        let mut copy = vip.clone();
        copy.id = Uuid::new_v4();
        let set = with_drafts(
            live,
            &[stored(&gate, 2, None), stored(&copy, 1, Some(vip.id))],
        );
        assert_eq!(set.rules.len(), 2);
        assert!(set.rules.iter().any(|r| r.id == gate.id && r.version == 2));
        assert!(
            set.rules.iter().any(|r| r.id == copy.id) && !set.rules.iter().any(|r| r.id == vip.id)
        );
        assert_eq!(set.drafts, ["Quality gate v2", "VIP v1"]);
    }

    #[test]
    fn cases_pass_or_fail_on_the_outcome_a_retry_out_of_attempts_escalates() {
        let retry = rule(
            3,
            "Low quality",
            RuleCategory::Retry,
            30,
            serde_json::json!({"<": [{"var": "quality.overall"}, 75]}),
            RuleAction::Retry {
                guidance: "Do better.".into(),
            },
        );
        let case = |name: &str, attempt: i64, expected: &str| db::CaseRow {
            id: Uuid::new_v4(),
            name: name.into(),
            context: serde_json::json!({"quality": {"overall": 50}, "attempt": attempt, "task": {"max_attempts": 3}}),
            expected: expected.into(),
        };
        let results = run_cases(
            &RuleEngine::new(),
            &[retry],
            &[case("first", 1, "retry"), case("last", 3, "retry")],
        );
        assert!(results[0].passed);
        assert!(!results[1].passed);
        assert_eq!(results[1].got, "escalate");
        assert_eq!(CaseResult::failing(&results).len(), 1);
    }
}
