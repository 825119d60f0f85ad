//! Model settings: a workspace's (admins) and each member's own fast/default/thinking models,
//! the models members may choose from, and the workspace's budget and request rate. What the
//! pages show, the forms and their checks (browser and server).
use super::ModelOption;
use crate::error::FieldError;
use serde::{Deserialize, Serialize};

/// Most US dollars a month a budget may name.
pub const MAX_BUDGET_USD: f64 = 10_000_000.0;
pub const MAX_REQUESTS_PER_MINUTE: i32 = 100_000;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TierChoice {
    pub fast: Option<String>,
    pub default: Option<String>,
    pub thinking: Option<String>,
}

impl TierChoice {
    pub fn iter(&self) -> [(&'static str, Option<&str>); 3] {
        [
            ("fast", self.fast.as_deref()),
            ("default", self.default.as_deref()),
            ("thinking", self.thinking.as_deref()),
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceModels {
    pub models: TierChoice,
    /// Empty: members may choose any active chat model.
    pub allowed: Vec<String>,
    pub monthly_budget_usd: Option<f64>,
    pub soft_limit_usd: Option<f64>,
    pub requests_per_minute: i32,
    pub version: i32,
}

/// This calendar month's AI use in the workspace (UTC).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MonthUse {
    pub calls: i64,
    pub tokens: i64,
    pub spent_usd: f64,
    /// Calls answered from the shared cache (no cost).
    pub cache_hits: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSettingsPage {
    pub workspace: WorkspaceModels,
    pub mine: TierChoice,
    pub my_version: i32,
    /// Every chat model, for admins' choices.
    pub models: Vec<ModelOption>,
    /// What a member may choose.
    pub allowed: Vec<ModelOption>,
    pub usage: MonthUse,
    pub can_edit_workspace: bool,
}

impl ModelSettingsPage {
    /// Spend as a share of the budget, 0 to 1+.
    pub fn budget_share(&self) -> Option<f64> {
        let budget = self.workspace.monthly_budget_usd?;
        (budget > 0.0).then(|| self.usage.spent_usd / budget)
    }
    pub fn over_soft_limit(&self) -> bool {
        self.workspace
            .soft_limit_usd
            .is_some_and(|soft| self.usage.spent_usd >= soft)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MyModelsForm {
    pub fast_model: String,
    pub default_model: String,
    pub thinking_model: String,
    pub version: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkspaceModelsForm {
    pub fast_model: String,
    pub default_model: String,
    pub thinking_model: String,
    pub allowed_models: Vec<String>,
    pub monthly_budget_usd: String,
    pub soft_limit_usd: String,
    pub requests_per_minute: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkspaceModelsInput {
    pub models: TierChoice,
    pub allowed: Vec<String>,
    pub monthly_budget_usd: Option<f64>,
    pub soft_limit_usd: Option<f64>,
    pub requests_per_minute: i32,
    pub version: i32,
}

fn choice(raw: &str) -> Option<String> {
    let v = raw.trim();
    (!v.is_empty()).then(|| v.chars().take(100).collect())
}

fn version(errors: &mut Vec<FieldError>, raw: &str) -> i32 {
    raw.trim().parse::<i32>().unwrap_or_else(|_| {
        errors.push(FieldError::new(
            "version",
            "This form has no version. Reload the page.",
        ));
        0
    })
}

fn dollars(errors: &mut Vec<FieldError>, field: &str, raw: &str) -> Option<f64> {
    let v = raw.trim().trim_start_matches('$').replace(',', "");
    if v.is_empty() {
        return None;
    }
    match v.parse::<f64>() {
        Ok(d) if d.is_finite() && d > 0.0 && d <= MAX_BUDGET_USD => {
            Some((d * 100.0).round() / 100.0)
        }
        _ => {
            errors.push(FieldError::new(
                field,
                "Enter US dollars above 0 (at most 10,000,000), or leave it empty.",
            ));
            None
        }
    }
}

impl MyModelsForm {
    pub fn parse(&self) -> Result<(TierChoice, i32), Vec<FieldError>> {
        let mut errors = Vec::new();
        let v = version(&mut errors, &self.version);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok((
            TierChoice {
                fast: choice(&self.fast_model),
                default: choice(&self.default_model),
                thinking: choice(&self.thinking_model),
            },
            v,
        ))
    }
}

impl WorkspaceModelsForm {
    pub fn parse(&self) -> Result<WorkspaceModelsInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let v = version(&mut errors, &self.version);
        let budget = dollars(&mut errors, "monthly_budget_usd", &self.monthly_budget_usd);
        let soft = dollars(&mut errors, "soft_limit_usd", &self.soft_limit_usd);
        match (budget, soft) {
            (None, Some(_)) => errors.push(FieldError::new(
                "soft_limit_usd",
                "Set a monthly budget first: the soft limit is a part of it.",
            )),
            (Some(b), Some(s)) if s > b => errors.push(FieldError::new(
                "soft_limit_usd",
                "The soft limit cannot be above the monthly budget.",
            )),
            _ => {}
        }
        let rpm = match self
            .requests_per_minute
            .trim()
            .replace(',', "")
            .parse::<i32>()
        {
            Ok(n) if (1..=MAX_REQUESTS_PER_MINUTE).contains(&n) => n,
            _ => {
                errors.push(FieldError::new(
                    "requests_per_minute",
                    "Enter the AI requests a minute the workspace may make, from 1 to 100000.",
                ));
                0
            }
        };
        let mut allowed: Vec<String> = self
            .allowed_models
            .iter()
            .filter_map(|m| choice(m))
            .collect();
        allowed.sort();
        allowed.dedup();
        if allowed.len() > 100 || self.allowed_models.len() > 500 {
            errors.push(FieldError::new(
                "allowed_models",
                "Allow at most 100 models.",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(WorkspaceModelsInput {
            models: TierChoice {
                fast: choice(&self.fast_model),
                default: choice(&self.default_model),
                thinking: choice(&self.thinking_model),
            },
            allowed,
            monthly_budget_usd: budget,
            soft_limit_usd: soft,
            requests_per_minute: rpm,
            version: v,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workspace_form_checks_money_limits_and_the_rate() {
        let form = WorkspaceModelsForm {
            monthly_budget_usd: "".into(),
            soft_limit_usd: "50".into(),
            requests_per_minute: "0".into(),
            version: "1".into(),
            ..Default::default()
        };
        let fields: Vec<String> = form
            .parse()
            .expect_err("refused")
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["soft_limit_usd", "requests_per_minute"]);
        let over = WorkspaceModelsForm {
            monthly_budget_usd: "$100".into(),
            soft_limit_usd: "150".into(),
            requests_per_minute: "60".into(),
            version: "1".into(),
            ..Default::default()
        };
        assert_eq!(
            over.parse().expect_err("refused")[0].field,
            "soft_limit_usd"
        );
        let ok = WorkspaceModelsForm {
            default_model: " gpt-5.2 ".into(),
            allowed_models: vec!["b".into(), "a".into(), "a".into(), " ".into()],
            monthly_budget_usd: "1,000".into(),
            soft_limit_usd: "800.004".into(),
            requests_per_minute: "120".into(),
            version: "3".into(),
            ..Default::default()
        }
        .parse()
        .expect("valid");
        assert_eq!(ok.models.default.as_deref(), Some("gpt-5.2"));
        assert_eq!(ok.models.fast, None);
        assert_eq!(ok.allowed, ["a", "b"]);
        assert_eq!(
            (ok.monthly_budget_usd, ok.soft_limit_usd),
            (Some(1000.0), Some(800.0))
        );
    }
}
