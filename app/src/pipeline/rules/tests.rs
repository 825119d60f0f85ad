//! The decision rules' tests, and the rules they share with other tests (`rule`, the seeded
//! `defaults`).
use super::*;
use serde_json::json;

pub(crate) fn rule(
    n: u128,
    name: &str,
    category: RuleCategory,
    priority: i32,
    condition: Value,
    action: RuleAction,
) -> DecisionRule {
    DecisionRule {
        id: Uuid::from_u128(n),
        name: name.into(),
        category,
        priority,
        condition,
        action,
        enabled: true,
        version: 1,
    }
}

/// The defaults the migration seeds.
pub fn defaults() -> Vec<DecisionRule> {
    vec![
        rule(
            1,
            "Out of attempts",
            RuleCategory::Escalation,
            10,
            json!({">=": [{"var": "attempt"}, {"var": "task.max_attempts"}]}),
            RuleAction::Escalate {
                reason: "Out of attempts".into(),
            },
        ),
        rule(
            2,
            "Compliance failure",
            RuleCategory::Retry,
            20,
            json!({"!": {"var": "quality.compliance.passed"}}),
            RuleAction::Retry {
                guidance: "Fix every compliance failure listed.".into(),
            },
        ),
        rule(
            3,
            "VIP customer",
            RuleCategory::Approval,
            30,
            json!({"==": [{"var": "customer.is_vip"}, true]}),
            RuleAction::Review {
                reason: "VIP customers get a human check".into(),
            },
        ),
        rule(
            4,
            "Quality gate",
            RuleCategory::Approval,
            40,
            json!({"and": [{">=": [{"var": "quality.overall"}, 80]}, {"var": "quality.compliance.passed"}]}),
            RuleAction::Approve,
        ),
    ]
}

fn context(overall: u8, passed: bool, attempt: u32, vip: bool) -> Value {
    json!({
        "task": {"max_attempts": 3, "output_type": "email"},
        "customer": {"is_vip": vip, "industry": "home_services"},
        "quality": {"overall": overall, "compliance": {"passed": passed, "failures": []}},
        "attempt": attempt,
        "deliverable": {"words": 120}
    })
}

#[test]
fn each_default_rule_decides_its_case_with_a_readable_trace() {
    let engine = RuleEngine::new();
    let rules = defaults();
    let d = engine.decide_explained(&rules, &context(84, true, 1, false));
    assert_eq!(
        (d.action.clone(), d.rule.as_deref()),
        (RuleAction::Approve, Some("Quality gate"))
    );
    assert_eq!(
        d.summary(),
        "Rule 'Quality gate' matched: quality.overall 84 >= 80 and quality.compliance.passed true → approve"
    );
    let gate = d
        .trace
        .iter()
        .find(|t| t.rule == "Quality gate")
        .expect("traced");
    assert_eq!(
        gate.values,
        [
            ("quality.overall".to_owned(), json!(84)),
            ("quality.compliance.passed".to_owned(), json!(true))
        ]
    );

    let d = engine.decide(&rules, &context(60, false, 1, false));
    assert!(matches!(d.action, RuleAction::Retry { .. }), "{d:?}");
    let d = engine.decide(&rules, &context(60, false, 3, false));
    assert_eq!(d.rule.as_deref(), Some("Out of attempts"));
    let d = engine.decide(&rules, &context(95, true, 1, true));
    assert_eq!(d.rule.as_deref(), Some("VIP customer"));
    // The quality gate came after the VIP rule in the same category: it did not run.
    let gate = d
        .trace
        .iter()
        .find(|t| t.rule == "Quality gate")
        .expect("traced");
    assert_eq!(gate.outcome, TraceOutcome::Skipped);
    assert_eq!(
        gate.sentence(),
        "Rule 'Quality gate' v1 was not run: an earlier approval rule had matched"
    );
    let d = engine.decide(&rules, &context(70, true, 1, false));
    assert_eq!(
        (d.rule.clone(), d.summary()),
        (None, NO_RULE_MATCHED.to_owned())
    );
    assert!(matches!(d.action, RuleAction::Review { .. }));
}

#[test]
fn a_broken_rule_is_traced_as_an_error_and_never_crashes_the_decision() {
    let engine = RuleEngine::new();
    let mut rules = defaults();
    rules.push(rule(
        9,
        "Broken",
        RuleCategory::Escalation,
        1,
        json!({"frobnicate": [1, 2]}),
        RuleAction::Escalate { reason: "x".into() },
    ));
    let d = engine.decide(&rules, &context(84, true, 1, false));
    assert_eq!(d.rule.as_deref(), Some("Quality gate"));
    let broken = d.trace.iter().find(|t| t.rule == "Broken").expect("traced");
    assert!(
        matches!(&broken.outcome, TraceOutcome::Error { message } if message.contains("frobnicate")),
        "{broken:?}"
    );
    assert!(validate_condition(&json!({"frobnicate": [1]})).is_err());
    assert!(validate_condition(&json!("quality > 80")).is_err());
    assert!(validate_condition(&json!({">=": [{"var": "quality.overall"}, 80]})).is_ok());
}

#[test]
fn each_rule_version_is_compiled_once_and_disabled_rules_do_not_run() {
    let engine = RuleEngine::new();
    let mut rules = defaults();
    rules[3].enabled = false;
    for _ in 0..5 {
        engine.decide(&rules, &context(84, true, 1, false));
    }
    assert_eq!(engine.cached(), 3);
    let d = engine.decide(&rules, &context(84, true, 1, false));
    assert!(d.trace.iter().all(|t| t.rule != "Quality gate"));
    rules[0].version = 2;
    engine.decide(&rules, &context(84, true, 1, false));
    assert_eq!(engine.cached(), 4);
}

#[test]
fn actions_need_their_words_and_round_trip_as_json() {
    assert!(RuleAction::Retry {
        guidance: " ".into()
    }
    .validate()
    .is_err());
    assert!(RuleAction::Approve.validate().is_ok());
    let a: RuleAction =
        serde_json::from_value(json!({"type": "escalate", "reason": "VIP"})).expect("action");
    assert_eq!(
        a,
        RuleAction::Escalate {
            reason: "VIP".into()
        }
    );
    assert!(serde_json::from_value::<RuleAction>(json!({"type": "delete_everything"})).is_err());
}

#[test]
fn missing_values_are_explained_not_fatal() {
    let c = json!({"quality": {}});
    assert_eq!(
        explain(&json!({">=": [{"var": "quality.overall"}, 80]}), &c),
        "quality.overall missing >= 80"
    );
    assert_eq!(explain(&json!(true), &c), "always true");
    let failed = json!({"quality": {"compliance": {"passed": false}}});
    assert_eq!(
        explain(&json!({"!": {"var": "quality.compliance.passed"}}), &failed),
        "quality.compliance.passed is false"
    );
    assert_eq!(
        explain(&json!({"!": {">": [{"var": "quality.overall"}, 1]}}), &c),
        "not (quality.overall missing > 1)"
    );
    assert_eq!(
        variables(&json!({"in": [{"var": ["customer.industry", "x"]}, ["a", "b"]]})),
        ["customer.industry"]
    );
}
