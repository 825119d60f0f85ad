//! A legacy migration plan's form and its checks (browser and server); the models are checked
//! against the catalog by the server.
use crate::error::FieldError;
use serde::{Deserialize, Serialize};

/// A legacy migration plan as posted: a name, each legacy model's replacement ("" leaves it),
/// and the guard's settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlanForm {
    pub name: String,
    pub mapping: Vec<(String, String)>,
    pub guard_calls: String,
    /// Percent, 1 to 100.
    pub guard_max_error_pct: String,
    /// 0 to 100; empty: quality is not watched.
    pub guard_min_quality: String,
    pub guard_auto_rollback: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlanInput {
    pub name: String,
    pub mapping: Vec<(String, String)>,
    pub guard_calls: i32,
    pub guard_max_error_rate: f32,
    pub guard_min_quality: Option<f32>,
    pub guard_auto_rollback: bool,
}

/// How many models one plan may map.
pub const MAX_PLAN_PAIRS: usize = 20;

impl PlanForm {
    /// The checks that need no database; the server checks the models against the catalog.
    pub fn parse(&self) -> Result<PlanInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() {
            errors.push(FieldError::new("name", "Name the plan."));
        }
        FieldError::check_text(&mut errors, "name", &name, 120);
        let mut mapping: Vec<(String, String)> = Vec::new();
        for (from, to) in &self.mapping {
            let (from, to) = (from.trim(), to.trim());
            if to.is_empty() {
                continue;
            }
            if from == to {
                errors.push(FieldError::new(
                    "mapping",
                    format!("{from} cannot replace itself."),
                ));
            } else if mapping.iter().any(|(f, _)| f == from) {
                errors.push(FieldError::new(
                    "mapping",
                    format!("{from} is mapped twice."),
                ));
            } else {
                mapping.push((from.to_owned(), to.to_owned()));
            }
        }
        if mapping.is_empty() {
            errors.push(FieldError::new(
                "mapping",
                "Choose a replacement for at least one model.",
            ));
        }
        if mapping.len() > MAX_PLAN_PAIRS || self.mapping.len() > 100 {
            errors.push(FieldError::new(
                "mapping",
                format!("A plan maps at most {MAX_PLAN_PAIRS} models."),
            ));
        }
        let guard_calls = match self.guard_calls.trim().replace(',', "").parse::<i32>() {
            Ok(n) if (5..=100_000).contains(&n) => n,
            _ => {
                errors.push(FieldError::new(
                    "guard_calls",
                    "Watch between 5 and 100000 calls.",
                ));
                0
            }
        };
        let guard_max_error_rate = match self
            .guard_max_error_pct
            .trim()
            .trim_end_matches('%')
            .parse::<f32>()
        {
            Ok(p) if p.is_finite() && p > 0.0 && p <= 100.0 => p / 100.0,
            _ => {
                errors.push(FieldError::new(
                    "guard_max_error_pct",
                    "Enter the highest error rate to accept, in percent (above 0, at most 100).",
                ));
                0.0
            }
        };
        let raw = self.guard_min_quality.trim();
        let guard_min_quality = if raw.is_empty() {
            None
        } else {
            match raw.parse::<f32>() {
                Ok(q) if q.is_finite() && (0.0..=100.0).contains(&q) => Some(q),
                _ => {
                    errors.push(FieldError::new(
                        "guard_min_quality",
                        "Enter the lowest mean quality score to accept, 0 to 100, or leave it empty.",
                    ));
                    None
                }
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(PlanInput {
            name,
            mapping,
            guard_calls,
            guard_max_error_rate,
            guard_min_quality,
            guard_auto_rollback: self.guard_auto_rollback,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_needs_a_name_a_replacement_and_sane_guard_settings() {
        let form = PlanForm {
            name: " ".into(),
            mapping: vec![
                ("gpt-5.1".into(), "gpt-5.1".into()),
                ("gpt-4-turbo".into(), "".into()),
            ],
            guard_calls: "2".into(),
            guard_max_error_pct: "0".into(),
            guard_min_quality: "101".into(),
            guard_auto_rollback: false,
        };
        let fields: Vec<String> = form
            .parse()
            .expect_err("refused")
            .into_iter()
            .map(|e| e.field)
            .collect();
        for f in [
            "name",
            "mapping",
            "guard_calls",
            "guard_max_error_pct",
            "guard_min_quality",
        ] {
            assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
        }
        let ok = PlanForm {
            name: "5.1 to 5.2".into(),
            mapping: vec![
                ("gpt-5.1".into(), "gpt-5.2".into()),
                ("gpt-4-turbo".into(), "".into()),
            ],
            guard_calls: "50".into(),
            guard_max_error_pct: "20%".into(),
            guard_min_quality: "".into(),
            guard_auto_rollback: true,
        }
        .parse()
        .expect("valid");
        assert_eq!(
            ok.mapping,
            vec![("gpt-5.1".to_owned(), "gpt-5.2".to_owned())]
        );
        assert!((ok.guard_max_error_rate - 0.2).abs() < 1e-6);
        assert_eq!(ok.guard_min_quality, None);
    }
}
