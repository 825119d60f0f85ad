//! JSON Logic's semantics where rules depend on them, as datalogic-rs evaluates them through
//! the one path every decision takes (`RuleEngine::decide`): truthiness, missing variables,
//! comparisons of mixed types, `in` on text and lists, and arithmetic on null. A rule author
//! can read here what a condition will do; an upgrade of the crate that changes any of it fails
//! here first.
use super::rules::{tests::rule, RuleAction, RuleCategory, RuleEngine, TraceOutcome};
use serde_json::{json, Value};

/// How the engine takes `condition` on `data`: matched, not matched, or an error.
fn outcome(condition: Value, data: &Value) -> TraceOutcome {
    let r = rule(
        1,
        "probe",
        RuleCategory::Approval,
        1,
        condition,
        RuleAction::Approve,
    );
    let decision = RuleEngine::new().decide(&[r], data);
    decision.trace[0].outcome.clone()
}

fn matches(condition: Value, data: &Value) -> bool {
    match outcome(condition, data) {
        TraceOutcome::Matched => true,
        TraceOutcome::NotMatched => false,
        other => panic!("{other:?}"),
    }
}

fn data() -> Value {
    json!({
        "n": 80, "text": "80", "zero": 0, "empty": "", "list": [], "items": ["vip", "legal"],
        "flag": false, "nothing": null, "name": "Bright Homes"
    })
}

#[test]
fn truthiness_follows_json_logic() {
    let d = data();
    // Zero, the empty text, the empty list, false and null are false; anything else is true,
    // including the text "0".
    for falsy in ["zero", "empty", "list", "flag", "nothing", "absent"] {
        assert!(!matches(json!({"!!": {"var": falsy}}), &d), "{falsy}");
    }
    assert!(matches(json!({"!!": [{"var": "items"}]}), &d));
    assert!(matches(json!({"!!": ["0"]}), &d));
}

#[test]
fn a_missing_variable_is_null_which_compares_as_zero() {
    let d = data();
    // A threshold from above does not match a missing score...
    assert!(!matches(json!({">=": [{"var": "absent"}, 80]}), &d));
    // ...but one from below does: null < 80 holds, as 0 < 80. A rule such as "retry when
    // quality.brand < 60" matches a context without a brand score; guard it with `missing` or
    // give the variable a default.
    assert!(matches(json!({"<": [{"var": "absent.deeper"}, 80]}), &d));
    assert!(!matches(json!({"<": [{"var": ["absent", 100]}, 80]}), &d));
    assert!(matches(json!({"==": [{"var": "absent"}, null]}), &d));
    // `missing` lists what is absent, so it is true when anything is.
    assert!(matches(json!({"missing": ["absent", "n"]}), &d));
    assert!(!matches(json!({"missing": ["n"]}), &d));
}

#[test]
fn mixed_types_compare_loosely_with_double_equals_and_strictly_with_triple() {
    let d = data();
    assert!(matches(json!({"==": [{"var": "text"}, 80]}), &d));
    assert!(!matches(json!({"===": [{"var": "text"}, 80]}), &d));
    assert!(matches(json!({">": [{"var": "text"}, 79]}), &d));
    assert!(matches(json!({"<=": [{"var": "n"}, "80"]}), &d));
}

#[test]
fn in_finds_text_within_text_and_items_within_lists() {
    let d = data();
    assert!(matches(json!({"in": ["Homes", {"var": "name"}]}), &d));
    assert!(
        !matches(json!({"in": ["homes", {"var": "name"}]}), &d),
        "case matters"
    );
    assert!(matches(json!({"in": ["legal", {"var": "items"}]}), &d));
    assert!(
        !matches(json!({"in": ["leg", {"var": "items"}]}), &d),
        "whole items only"
    );
}

#[test]
fn arithmetic_takes_null_as_zero() {
    let d = data();
    assert!(matches(
        json!({"==": [{"+": [{"var": "absent"}, 1]}, 1]}),
        &d
    ));
    assert!(matches(
        json!({"==": [{"-": [{"var": "absent"}, 1]}, -1]}),
        &d
    ));
    assert!(matches(
        json!({"==": [{"*": [{"var": "absent"}, 2]}, 0]}),
        &d
    ));
    assert!(matches(
        json!({"==": [{"/": [{"var": "absent"}, 2]}, 0]}),
        &d
    ));
    assert!(
        matches(
            json!({"==": [{"+": [{"var": "n"}, {"var": "text"}]}, 160]}),
            &d
        ),
        "numeric text adds as a number"
    );
}
