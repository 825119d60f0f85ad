//! A workspace's alert rules: which are on and their thresholds. One table of fields (`FIELDS`)
//! drives the defaults, the form, the checks and the stored JSON, so they cannot disagree.
use super::AlertKind;
use crate::error::FieldError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One threshold of one rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Field {
    pub key: &'static str,
    pub kind: AlertKind,
    pub label: &'static str,
    pub unit: &'static str,
    pub min: i32,
    pub max: i32,
    pub default: i32,
}

const fn f(
    key: &'static str,
    kind: AlertKind,
    label: &'static str,
    unit: &'static str,
    (min, max, default): (i32, i32, i32),
) -> Field {
    Field {
        key,
        kind,
        label,
        unit,
        min,
        max,
        default,
    }
}

use AlertKind::*;

/// The task states the stuck-task rule watches, with their labels (the pipeline's names).
pub const STUCK_STATES: [(&str, &str); 8] = [
    ("pending", "Pending"),
    ("context_loading", "Loading context"),
    ("generating", "Generating"),
    ("evaluating", "Evaluating"),
    ("retry_scheduled", "Retry scheduled"),
    ("approved", "Approved"),
    ("awaiting_review", "Awaiting review"),
    ("escalated", "Escalated"),
];

/// A week, in minutes: the longest a state limit may be.
const WEEK_MIN: i32 = 7 * 24 * 60;

pub const FIELDS: [Field; 23] = [
    f(
        "stuck.pending",
        StuckTask,
        "Pending",
        "min",
        (1, WEEK_MIN, 240),
    ),
    f(
        "stuck.context_loading",
        StuckTask,
        "Loading context",
        "min",
        (1, WEEK_MIN, 10),
    ),
    f(
        "stuck.generating",
        StuckTask,
        "Generating",
        "min",
        (1, WEEK_MIN, 15),
    ),
    f(
        "stuck.evaluating",
        StuckTask,
        "Evaluating",
        "min",
        (1, WEEK_MIN, 10),
    ),
    f(
        "stuck.retry_scheduled",
        StuckTask,
        "Retry scheduled (after its time came)",
        "min",
        (1, WEEK_MIN, 120),
    ),
    f(
        "stuck.approved",
        StuckTask,
        "Approved, not delivered",
        "min",
        (1, WEEK_MIN, 30),
    ),
    f(
        "stuck.awaiting_review",
        StuckTask,
        "Awaiting review",
        "min",
        (1, WEEK_MIN, 1440),
    ),
    f(
        "stuck.escalated",
        StuckTask,
        "Escalated",
        "min",
        (1, WEEK_MIN, 2880),
    ),
    f(
        "failure.percent",
        FailureRate,
        "Failure rate over",
        "%",
        (1, 100, 20),
    ),
    f(
        "failure.window_minutes",
        FailureRate,
        "Window",
        "min",
        (5, 1440, 60),
    ),
    f(
        "failure.min_attempts",
        FailureRate,
        "At least this many attempts in the window",
        "attempts",
        (1, 100_000, 5),
    ),
    f(
        "escalations.max_pending",
        EscalationBacklog,
        "Tasks waiting for a person over",
        "tasks",
        (1, 100_000, 25),
    ),
    f(
        "escalations.max_age_hours",
        EscalationBacklog,
        "Or the oldest waiting over",
        "h",
        (1, 720, 24),
    ),
    f(
        "drift.drop_points",
        QualityDrift,
        "Mean quality down by at least",
        "points",
        (1, 100, 10),
    ),
    f(
        "drift.window_hours",
        QualityDrift,
        "Recent window",
        "h",
        (1, 168, 24),
    ),
    f(
        "drift.baseline_days",
        QualityDrift,
        "Against the trailing",
        "days",
        (1, 90, 7),
    ),
    f(
        "drift.min_samples",
        QualityDrift,
        "At least this many scored drafts on each side",
        "drafts",
        (1, 10_000, 10),
    ),
    f(
        "budget.warn_percent",
        Budget,
        "Warn at",
        "% of the monthly budget",
        (1, 99, 80),
    ),
    f(
        "errors.count",
        ProviderErrors,
        "Provider errors at least",
        "errors",
        (1, 100_000, 10),
    ),
    f(
        "errors.window_minutes",
        ProviderErrors,
        "Within",
        "min",
        (1, 1440, 5),
    ),
    f(
        "latency.p95_ms",
        LatencySla,
        "A model's p95 latency over",
        "ms",
        (100, 600_000, 2000),
    ),
    f(
        "latency.window_minutes",
        LatencySla,
        "Window",
        "min",
        (5, 1440, 60),
    ),
    f(
        "latency.min_calls",
        LatencySla,
        "At least this many calls in the window",
        "calls",
        (1, 100_000, 20),
    ),
];

/// The stored rules: which kinds are off, and the thresholds that differ from the defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertRules {
    /// Kinds turned off (every rule is on by default).
    pub disabled: Vec<AlertKind>,
    pub values: BTreeMap<String, i32>,
}

impl AlertRules {
    pub fn enabled(&self, kind: AlertKind) -> bool {
        !self.disabled.contains(&kind)
    }

    /// A threshold, or its default when unset or out of range (stored rules were checked, so
    /// that only happens after the range changes).
    pub fn get(&self, key: &str) -> i32 {
        let Some(field) = FIELDS.iter().find(|f| f.key == key) else {
            return 0;
        };
        self.values
            .get(key)
            .copied()
            .filter(|v| (field.min..=field.max).contains(v))
            .unwrap_or(field.default)
    }

    /// The stuck-task limits in seconds, by state name.
    pub fn stuck_limits(&self) -> Vec<(String, i32)> {
        STUCK_STATES
            .iter()
            .map(|(state, _)| {
                let minutes = self.get(&format!("stuck.{state}"));
                ((*state).to_owned(), minutes.saturating_mul(60))
            })
            .collect()
    }

    /// The form's values as text, field by field.
    pub fn to_form(&self, version: i32) -> AlertRulesForm {
        AlertRulesForm {
            enabled: AlertKind::RULES
                .into_iter()
                .filter(|k| self.enabled(*k))
                .collect(),
            values: FIELDS
                .iter()
                .map(|f| (f.key.to_owned(), self.get(f.key).to_string()))
                .collect(),
            version,
        }
    }
}

/// What the rules form sends: the kinds turned on, each field's text, the version it was
/// opened at.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertRulesForm {
    pub enabled: Vec<AlertKind>,
    pub values: Vec<(String, String)>,
    pub version: i32,
}

impl AlertRulesForm {
    /// Every field checked at once; unknown fields are refused, missing ones keep defaults.
    pub fn parse(&self) -> Result<AlertRules, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut values = BTreeMap::new();
        if self.values.len() > FIELDS.len() {
            errors.push(FieldError::new(
                "",
                "The form has more fields than there are thresholds.",
            ));
        }
        for (key, raw) in &self.values {
            let Some(field) = FIELDS.iter().find(|f| f.key == key) else {
                errors.push(FieldError::new(
                    "",
                    format!(
                        "There is no threshold called \"{}\".",
                        crate::error::clip_quotes(key)
                    ),
                ));
                continue;
            };
            match raw.trim().parse::<i32>() {
                Ok(v) if (field.min..=field.max).contains(&v) => {
                    if v != field.default {
                        values.insert(field.key.to_owned(), v);
                    }
                }
                Ok(_) | Err(_) if raw.trim().is_empty() => {
                    errors.push(FieldError::new(field.key, "Enter a whole number."))
                }
                Ok(_) | Err(_) => errors.push(FieldError::new(
                    field.key,
                    format!(
                        "Enter a whole number from {} to {} ({}).",
                        field.min, field.max, field.unit
                    ),
                )),
            }
        }
        if self.enabled.iter().any(|k| !k.is_rule()) {
            errors.push(FieldError::new(
                "",
                "Only the listed rules can be turned on or off.",
            ));
        }
        if errors.is_empty() {
            Ok(AlertRules {
                disabled: AlertKind::RULES
                    .into_iter()
                    .filter(|k| !self.enabled.contains(k))
                    .collect(),
                values,
            })
        } else {
            Err(errors)
        }
    }
}

/// "2 h 5 min", "45 min", "3 d 4 h": an age for people.
pub fn duration_label(secs: i64) -> String {
    let secs = secs.max(0);
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (d, h, m) {
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_through_the_form_and_store_nothing() {
        let rules = AlertRules::default();
        let parsed = rules.to_form(1).parse().expect("defaults are valid");
        assert_eq!(parsed, rules);
        assert_eq!(parsed.get("latency.p95_ms"), 2000);
        for f in FIELDS {
            assert!((f.min..=f.max).contains(&f.default), "{}", f.key);
        }
    }

    #[test]
    fn every_field_is_checked_at_once_with_its_range() {
        let form = AlertRulesForm {
            enabled: vec![AlertKind::StuckTask],
            values: vec![
                ("failure.percent".into(), "150".into()),
                ("stuck.generating".into(), "abc".into()),
                ("errors.count".into(), " ".into()),
                ("latency.p95_ms".into(), "1500".into()),
            ],
            version: 1,
        };
        let errors = form.parse().expect_err("three bad fields");
        let msg = |k: &str| {
            errors
                .iter()
                .find(|e| e.field == k)
                .map(|e| e.message.clone())
        };
        assert_eq!(
            msg("failure.percent").as_deref(),
            Some("Enter a whole number from 1 to 100 (%).")
        );
        assert_eq!(
            msg("stuck.generating").as_deref(),
            Some(&format!("Enter a whole number from 1 to {WEEK_MIN} (min).")[..])
        );
        assert_eq!(
            msg("errors.count").as_deref(),
            Some("Enter a whole number.")
        );
        assert_eq!(errors.len(), 3);
    }

    #[test]
    fn turned_off_kinds_and_changed_values_are_kept() {
        let form = AlertRulesForm {
            enabled: vec![AlertKind::StuckTask, AlertKind::Budget],
            values: vec![("stuck.generating".into(), "5".into())],
            version: 1,
        };
        let rules = form.parse().expect("valid");
        assert!(rules.enabled(AlertKind::StuckTask));
        assert!(!rules.enabled(AlertKind::LatencySla));
        assert_eq!(rules.get("stuck.generating"), 5);
        let limits = rules.stuck_limits();
        assert!(limits.contains(&("generating".to_owned(), 300)));
        assert!(limits.contains(&("escalated".to_owned(), 2880 * 60)));
        let unknown = AlertRulesForm {
            values: vec![("stuck.nap".into(), "5".into())],
            ..form
        };
        assert!(unknown.parse().is_err());
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(duration_label(59), "0 min");
        assert_eq!(duration_label(45 * 60), "45 min");
        assert_eq!(duration_label(2 * 3600 + 5 * 60), "2 h 5 min");
        assert_eq!(duration_label(3 * 3600), "3 h");
        assert_eq!(duration_label(3 * 86_400 + 4 * 3600 + 60), "3 d 4 h");
    }
}
