//! The rule editor's form and its validation: every field's error at once. The JSON syntax
//! check runs in the browser too; the condition's deeper checks (size, depth, operators, known
//! variables, and a trial run in the engine) run on the server.
use super::RuleVersion;
use crate::{
    error::FieldError,
    pipeline::rules::{RuleAction, RuleCategory},
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

pub const MAX_NAME_CHARS: usize = 120;
pub const MAX_DESCRIPTION_CHARS: usize = 1_000;
pub const MAX_NOTE_CHARS: usize = 300;
pub const MAX_PRIORITY: i32 = 100_000;
/// The condition as typed, before it is parsed (the checked limit is on compact JSON).
pub const MAX_CONDITION_CHARS: usize = 64 * 1024;
pub const ACTIONS: [&str; 5] = ["approve", "review", "reject", "retry", "escalate"];

/// As posted. `id` is empty for a new rule; `base_version` is the newest version when the
/// editor opened, so a save on top of someone else's is refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuleForm {
    pub id: String,
    pub base_version: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub priority: String,
    pub action: String,
    /// The reason (review, reject, escalate) or the guidance (retry).
    pub action_text: String,
    pub condition: String,
    pub note: String,
}

/// A checked new version.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleInput {
    pub name: String,
    pub description: String,
    pub category: RuleCategory,
    pub priority: i32,
    pub condition: Value,
    pub action: RuleAction,
    pub note: String,
}

/// The action's type and its words (reason or guidance; empty for approve).
pub fn action_parts(a: &RuleAction) -> (&'static str, &str) {
    match a {
        RuleAction::Approve => ("approve", ""),
        RuleAction::Review { reason } => ("review", reason),
        RuleAction::Reject { reason } => ("reject", reason),
        RuleAction::Retry { guidance } => ("retry", guidance),
        RuleAction::Escalate { reason } => ("escalate", reason),
    }
}

/// What the action's text is called for this type ("Guidance" for retry).
pub fn action_text_label(action: &str) -> Option<&'static str> {
    match action {
        "retry" => Some("Guidance for the next attempt"),
        "review" => Some("Reason (optional)"),
        "reject" | "escalate" => Some("Reason"),
        _ => None,
    }
}

fn err(field: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, message)
}

/// The condition's JSON, or where its syntax breaks ("line 3, column 14: expected `,`").
pub fn parse_condition(text: &str) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Err(
            "Write the condition, such as {\">=\": [{\"var\": \"quality.overall\"}, 80]}.".into(),
        );
    }
    serde_json::from_str(text).map_err(|e| {
        let what = e.to_string();
        let what = what.split(" at line").next().unwrap_or(&what).to_owned();
        format!(
            "The JSON breaks at line {}, column {}: {what}.",
            e.line(),
            e.column()
        )
    })
}

impl RuleForm {
    /// The editor opened on `v` of rule `id` (None: a new rule).
    pub fn of(id: Option<Uuid>, latest: i32, v: &RuleVersion) -> Self {
        let (action, text) = action_parts(&v.action);
        Self {
            id: id.map(|i| i.to_string()).unwrap_or_default(),
            base_version: latest.to_string(),
            name: v.name.clone(),
            description: v.description.clone(),
            category: v.category.clone(),
            priority: v.priority.to_string(),
            action: action.to_owned(),
            action_text: text.to_owned(),
            condition: v.condition.clone(),
            note: String::new(),
        }
    }

    /// The rule and the version it was opened at, or None for a new one.
    pub fn target(&self) -> Result<Option<(Uuid, i32)>, FieldError> {
        if self.id.trim().is_empty() {
            return Ok(None);
        }
        let id = self
            .id
            .trim()
            .parse()
            .map_err(|_| err("id", "This form names no rule. Reload the page."))?;
        let base = self.base_version.trim().parse().map_err(|_| {
            err(
                "base_version",
                "This form has no valid version. Reload the page.",
            )
        })?;
        Ok(Some((id, base)))
    }

    /// The action as typed, or its field error.
    fn action(&self) -> Result<RuleAction, FieldError> {
        let text = self.action_text.trim().to_owned();
        let action = match self.action.trim() {
            "approve" => RuleAction::Approve,
            "review" => RuleAction::Review { reason: text },
            "reject" => RuleAction::Reject { reason: text },
            "retry" => RuleAction::Retry { guidance: text },
            "escalate" => RuleAction::Escalate { reason: text },
            _ => {
                return Err(err(
                    "action",
                    format!("Choose what the rule does: {}.", ACTIONS.join(", ")),
                ))
            }
        };
        action.validate().map_err(|m| {
            let mut m = m;
            if let Some(first) = m.get(0..1) {
                m = format!("{}{}.", first.to_uppercase(), &m[1..]);
            }
            err("action_text", m)
        })?;
        Ok(action)
    }

    pub fn parse(&self) -> Result<RuleInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = self.name.trim().to_owned();
        FieldError::check_text(&mut errors, "name", &name, MAX_NAME_CHARS);
        if name.is_empty() {
            errors.push(err("name", "Name the rule, such as \"VIP customer\"."));
        }
        let description = self.description.trim().to_owned();
        FieldError::check_text(
            &mut errors,
            "description",
            &description,
            MAX_DESCRIPTION_CHARS,
        );
        let category = RuleCategory::parse(self.category.trim());
        if category.is_none() {
            errors.push(err(
                "category",
                "Choose a category: escalation, retry, approval, selection or routing.",
            ));
        }
        let priority = match self.priority.trim().parse::<i32>() {
            Ok(p) if (0..=MAX_PRIORITY).contains(&p) => Some(p),
            _ => {
                errors.push(err(
                    "priority",
                    format!("Give a whole number from 0 to {MAX_PRIORITY}; lower runs first."),
                ));
                None
            }
        };
        let action = self.action().map_err(|e| errors.push(e)).ok();
        let condition = if self.condition.chars().count() > MAX_CONDITION_CHARS {
            errors.push(err(
                "condition",
                format!(
                    "The condition is over {} KiB as typed; a rule may have at most 16 KiB.",
                    MAX_CONDITION_CHARS / 1024
                ),
            ));
            None
        } else {
            match parse_condition(&self.condition) {
                Ok(v) => {
                    #[cfg(feature = "ssr")]
                    for problem in check_condition(&v) {
                        errors.push(err("condition", problem));
                    }
                    Some(v)
                }
                Err(m) => {
                    errors.push(err("condition", m));
                    None
                }
            }
        };
        let note = self.note.trim().to_owned();
        FieldError::check_text(&mut errors, "note", &note, MAX_NOTE_CHARS);
        match (category, priority, action, condition) {
            (Some(category), Some(priority), Some(action), Some(condition))
                if errors.is_empty() =>
            {
                Ok(RuleInput {
                    name,
                    description,
                    category,
                    priority,
                    condition,
                    action,
                    note,
                })
            }
            _ => Err(errors),
        }
    }
}

/// The server's checks of a parsed condition: `rule_check` (size, depth, operators, known
/// variables), then the engine itself compiles it and runs it on the sample context.
#[cfg(feature = "ssr")]
pub fn check_condition(condition: &Value) -> Vec<String> {
    let problems = crate::pipeline::rule_check::check(condition);
    if !problems.is_empty() {
        return problems;
    }
    match crate::pipeline::rules::validate_condition(condition) {
        Ok(()) => Vec::new(),
        Err(m) => vec![format!("The engine refuses it: {m}.")],
    }
}

impl RuleInput {
    /// The same content as `v` (a save that changes nothing writes no version).
    pub fn same_as(&self, v: &RuleVersion) -> bool {
        self.name == v.name
            && self.description == v.description
            && self.category.as_str() == v.category
            && self.priority == v.priority
            && serde_json::from_str::<Value>(&v.condition).ok().as_ref() == Some(&self.condition)
            && self.action == v.action
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> RuleForm {
        RuleForm {
            name: "Quality gate".into(),
            category: "approval".into(),
            priority: "50".into(),
            action: "approve".into(),
            condition: r#"{">=": [{"var": "quality.overall"}, {"var": "task.min_overall"}]}"#
                .into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_valid_form_parses() {
        let v = form().parse().expect("valid");
        assert_eq!(v.category, RuleCategory::Approval);
        assert_eq!(v.priority, 50);
        assert_eq!(v.action, RuleAction::Approve);
        assert_eq!(form().target(), Ok(None));
    }

    #[test]
    fn every_bad_field_is_reported_with_where_the_json_breaks() {
        let bad = RuleForm {
            name: " ".into(),
            category: "other".into(),
            priority: "-4".into(),
            action: "retry".into(),
            action_text: "  ".into(),
            condition: "{\">=\": [\n  {\"var\": \"quality.overall\"} 80]}".into(),
            ..Default::default()
        };
        let errors = bad.parse().expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["name", "category", "priority", "action_text", "condition"]
        );
        assert!(
            errors[4]
                .message
                .starts_with("The JSON breaks at line 2, column 30"),
            "{}",
            errors[4].message
        );
        assert!(errors[3]
            .message
            .starts_with("The retry action needs a guidance"));
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn the_server_checks_operators_and_variables_as_field_errors() {
        let bad = RuleForm {
            condition: r#"{"some": [{"var": "quality.overal"}, true]}"#.into(),
            ..form()
        };
        let errors = bad.parse().expect_err("invalid");
        assert!(errors.iter().all(|e| e.field == "condition"));
        let text: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert!(
            text.iter()
                .any(|m| m.contains("\"some\" is not an operator")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|m| m.contains("quality.overall")),
            "{text:?}"
        );
    }
}
