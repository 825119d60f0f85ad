//! The catalog's and the prompt editor's forms and their validation, shared by browser and
//! server: every field's error at once.
use crate::error::FieldError;
use serde::{Deserialize, Serialize};

pub use super::plan_form::{PlanForm, PlanInput, MAX_PLAN_PAIRS};

pub const TIERS: [&str; 3] = ["fast", "default", "thinking"];
pub const STATUSES: [&str; 3] = ["active", "deprecated", "legacy"];
pub const KINDS: [&str; 2] = ["chat", "embedding"];
/// US dollars per 1,000 tokens; no provider charges near this.
pub const MAX_PRICE_PER_1K: f64 = 1000.0;
pub const MAX_CONTEXT_WINDOW: i64 = 10_000_000;

/// A model as posted: a new one (`is_new` set, with its first price) or an edit of one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelForm {
    pub is_new: String,
    pub id: String,
    pub provider: String,
    pub display_name: String,
    pub tier: String,
    pub kind: String,
    pub context_window: String,
    pub dimensions: String,
    pub status: String,
    /// "on" when ticked.
    pub recommended: String,
    /// Only for a new model: its first price, in effect at once.
    pub input_cost_per_1k: String,
    pub output_cost_per_1k: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelInput {
    pub is_new: bool,
    pub id: String,
    pub provider: String,
    pub display_name: String,
    pub tier: String,
    pub kind: String,
    pub context_window: i32,
    pub dimensions: Option<i32>,
    pub status: String,
    pub recommended: bool,
    pub price: Option<(f64, f64)>,
}

fn one_of(errors: &mut Vec<FieldError>, field: &str, value: &str, allowed: &[&str]) -> String {
    let v = value.trim();
    if !allowed.contains(&v) {
        errors.push(FieldError::new(
            field,
            format!("Choose one of: {}.", allowed.join(", ")),
        ));
    }
    v.to_owned()
}

/// A price per 1,000 tokens: a number from 0 to 1,000, dollars.
pub fn parse_price(errors: &mut Vec<FieldError>, field: &str, raw: &str) -> f64 {
    let t = raw.trim().trim_start_matches('$');
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=MAX_PRICE_PER_1K).contains(&v) => v,
        Ok(_) => {
            errors.push(FieldError::new(
                field,
                format!("Enter a price from 0 to {MAX_PRICE_PER_1K} dollars per 1,000 tokens."),
            ));
            0.0
        }
        Err(_) => {
            errors.push(FieldError::new(
                field,
                "Enter the price in dollars per 1,000 tokens, like 0.00175.",
            ));
            0.0
        }
    }
}

fn is_model_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && id.len() <= 100
        && chars.all(|c| c.is_ascii_alphanumeric() || "._:/-".contains(c))
}

impl ModelForm {
    pub fn parse(&self) -> Result<ModelInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let is_new = !self.is_new.trim().is_empty();
        let id = self.id.trim().to_owned();
        if id.is_empty() {
            errors.push(FieldError::new(
                "id",
                "Enter the model's id, as the provider names it.",
            ));
        } else if !is_model_id(&id) {
            errors.push(FieldError::new(
                "id",
                "Use at most 100 letters, digits and . _ : / - (starting with a letter or digit), like gpt-5.2.",
            ));
        }
        let provider = self.provider.trim().to_lowercase();
        let provider_ok = !provider.is_empty()
            && provider.len() <= 40
            && provider.starts_with(|c: char| c.is_ascii_alphanumeric())
            && provider
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !provider_ok {
            errors.push(FieldError::new(
                "provider",
                "Enter the provider in lower case (openai, ollama, local…), at most 40 characters.",
            ));
        }
        let display_name = self.display_name.trim().to_owned();
        if display_name.is_empty() {
            errors.push(FieldError::new(
                "display_name",
                "Enter a name people will recognise.",
            ));
        }
        FieldError::check_text(&mut errors, "display_name", &display_name, 120);
        let tier = one_of(&mut errors, "tier", &self.tier, &TIERS);
        let kind = one_of(&mut errors, "kind", &self.kind, &KINDS);
        let status = one_of(&mut errors, "status", &self.status, &STATUSES);
        let context_window = match self
            .context_window
            .trim()
            .replace([',', '_'], "")
            .parse::<i64>()
        {
            Ok(n) if (1..=MAX_CONTEXT_WINDOW).contains(&n) => n as i32,
            _ => {
                errors.push(FieldError::new(
                    "context_window",
                    format!("Enter the context window in tokens, from 1 to {MAX_CONTEXT_WINDOW}."),
                ));
                0
            }
        };
        let dimensions = match (kind.as_str(), self.dimensions.trim()) {
            ("embedding", raw) => match raw.parse::<i32>() {
                Ok(n) if (1..=65_536).contains(&n) => Some(n),
                _ => {
                    errors.push(FieldError::new(
                        "dimensions",
                        "An embedding model needs its vector size, from 1 to 65536.",
                    ));
                    None
                }
            },
            _ => None,
        };
        let recommended = !self.recommended.trim().is_empty();
        if recommended && kind == "embedding" {
            errors.push(FieldError::new(
                "recommended",
                "Only a chat model can be a tier's recommended model.",
            ));
        }
        if recommended && status != "active" && STATUSES.contains(&status.as_str()) {
            errors.push(FieldError::new(
                "recommended",
                "A deprecated or legacy model cannot be recommended: pick an active one for the tier.",
            ));
        }
        let price = is_new.then(|| {
            (
                parse_price(&mut errors, "input_cost_per_1k", &self.input_cost_per_1k),
                parse_price(&mut errors, "output_cost_per_1k", &self.output_cost_per_1k),
            )
        });
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ModelInput {
            is_new,
            id,
            provider,
            display_name,
            tier,
            kind,
            context_window,
            dimensions,
            status,
            recommended,
            price,
        })
    }
}

/// A new price for a model, from a date on (today or later, UTC).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PriceForm {
    pub model_id: String,
    /// YYYY-MM-DD; empty: now.
    pub effective_from: String,
    pub input_cost_per_1k: String,
    pub output_cost_per_1k: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PriceInput {
    pub model_id: String,
    /// `None`: now.
    pub effective_from: Option<time::Date>,
    pub input: f64,
    pub output: f64,
}

impl PriceForm {
    /// `today` is the UTC date: a price may not start in the past, so the cost recorded for
    /// past calls always matches the price table.
    pub fn parse(&self, today: time::Date) -> Result<PriceInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let input = parse_price(&mut errors, "input_cost_per_1k", &self.input_cost_per_1k);
        let output = parse_price(&mut errors, "output_cost_per_1k", &self.output_cost_per_1k);
        let raw = self.effective_from.trim();
        let effective_from = if raw.is_empty() {
            None
        } else {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            match time::Date::parse(raw, &format) {
                Ok(d) if d < today => {
                    errors.push(FieldError::new(
                        "effective_from",
                        "A price cannot start in the past: past calls keep the price of their day. Use today or a later date.",
                    ));
                    None
                }
                Ok(d) if d == today => None,
                Ok(d) => Some(d),
                Err(_) => {
                    errors.push(FieldError::new(
                        "effective_from",
                        "Enter the date as YYYY-MM-DD.",
                    ));
                    None
                }
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(PriceInput {
            model_id: self.model_id.trim().to_owned(),
            effective_from,
            input,
            output,
        })
    }
}

pub const MAX_SYSTEM_CHARS: usize = 20_000;
pub const MAX_TEMPLATE_CHARS: usize = 50_000;
pub const MAX_PROMPT_NOTE_CHARS: usize = 500;
pub const LABELS: [&str; 2] = ["production", "staging"];

/// A new version of a prompt, as posted. `base_version` is the newest version when the editor
/// opened, so a save on top of someone else's is refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PromptForm {
    pub name: String,
    pub base_version: String,
    pub description: String,
    pub system_prompt: String,
    pub template: String,
    pub ai_model: String,
    pub max_tokens: String,
    pub temperature: String,
    pub note: String,
    /// "", "staging" or "production": a label to point at the new version.
    pub label: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PromptInput {
    pub name: String,
    pub base_version: i32,
    pub description: String,
    pub system_prompt: String,
    pub template: String,
    pub ai_model: String,
    pub max_tokens: i32,
    pub temperature: f32,
    pub note: String,
    pub label: Option<String>,
}

impl PromptForm {
    /// The checks that need no database: required fields, lengths, numbers. The model's place
    /// in the catalog and the placeholders are checked by the server.
    pub fn parse(&self) -> Result<PromptInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let base_version = self.base_version.trim().parse::<i32>().unwrap_or_else(|_| {
            errors.push(FieldError::new(
                "base_version",
                "This form has no version. Reload the page.",
            ));
            0
        });
        let ai_model = self.ai_model.trim().to_owned();
        if ai_model.is_empty() {
            errors.push(FieldError::new(
                "ai_model",
                "Choose the model this prompt runs on.",
            ));
        }
        if self.system_prompt.trim().is_empty() {
            errors.push(FieldError::new("system_prompt", "Enter the system prompt."));
        }
        FieldError::check_text(
            &mut errors,
            "system_prompt",
            &self.system_prompt,
            MAX_SYSTEM_CHARS,
        );
        if self.template.trim().is_empty() {
            errors.push(FieldError::new("template", "Enter the prompt's body."));
        }
        FieldError::check_text(&mut errors, "template", &self.template, MAX_TEMPLATE_CHARS);
        FieldError::check_text(&mut errors, "description", self.description.trim(), 500);
        FieldError::check_text(&mut errors, "note", self.note.trim(), MAX_PROMPT_NOTE_CHARS);
        let max_tokens = match self.max_tokens.trim().replace(',', "").parse::<i32>() {
            Ok(n) if (1..=32_000).contains(&n) => n,
            _ => {
                errors.push(FieldError::new(
                    "max_tokens",
                    "Enter the answer's limit in tokens, from 1 to 32000.",
                ));
                0
            }
        };
        let temperature = match self.temperature.trim().parse::<f32>() {
            Ok(t) if t.is_finite() && (0.0..=2.0).contains(&t) => t,
            _ => {
                errors.push(FieldError::new(
                    "temperature",
                    "Enter a temperature from 0 to 2, like 0.4.",
                ));
                0.0
            }
        };
        let label = match self.label.trim() {
            "" => None,
            l if LABELS.contains(&l) => Some(l.to_owned()),
            _ => {
                errors.push(FieldError::new(
                    "label",
                    "Choose production, staging or no label.",
                ));
                None
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(PromptInput {
            name: self.name.trim().to_owned(),
            base_version,
            description: self.description.trim().to_owned(),
            system_prompt: self.system_prompt.replace("\r\n", "\n"),
            template: self.template.replace("\r\n", "\n"),
            ai_model,
            max_tokens,
            temperature,
            note: self.note.trim().to_owned(),
            label,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn model() -> ModelForm {
        ModelForm {
            is_new: "1".into(),
            id: "gpt-6".into(),
            provider: "openai".into(),
            display_name: "GPT-6".into(),
            tier: "default".into(),
            kind: "chat".into(),
            context_window: "256,000".into(),
            status: "active".into(),
            input_cost_per_1k: "0.002".into(),
            output_cost_per_1k: "$0.01".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_good_model_parses() {
        let m = model().parse().expect("valid");
        assert_eq!(m.context_window, 256_000);
        assert_eq!(m.price, Some((0.002, 0.01)));
    }

    #[test]
    fn every_bad_field_is_named() {
        let form = ModelForm {
            id: "-bad id".into(),
            provider: "Open AI".into(),
            display_name: " ".into(),
            tier: "turbo".into(),
            kind: "embedding".into(),
            context_window: "0".into(),
            status: "legacy".into(),
            recommended: "on".into(),
            input_cost_per_1k: "-1".into(),
            output_cost_per_1k: "lots".into(),
            ..model()
        };
        let errors = form.parse().expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "id",
            "provider",
            "display_name",
            "tier",
            "context_window",
            "dimensions",
            "recommended",
            "input_cost_per_1k",
            "output_cost_per_1k",
        ] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
    }

    #[test]
    fn prices_start_today_or_later() {
        let today = date!(2026 - 11 - 24);
        let form = |d: &str| PriceForm {
            model_id: "gpt-5.2".into(),
            effective_from: d.into(),
            input_cost_per_1k: "0.001".into(),
            output_cost_per_1k: "0.002".into(),
        };
        assert_eq!(form("").parse(today).expect("now").effective_from, None);
        assert_eq!(
            form("2026-12-01")
                .parse(today)
                .expect("later")
                .effective_from,
            Some(date!(2026 - 12 - 01))
        );
        let err = form("2026-11-01").parse(today).expect_err("past");
        assert_eq!(err[0].field, "effective_from");
        assert!(form("01/12/2026").parse(today).is_err());
    }

    #[test]
    fn a_prompt_needs_a_model_and_sane_numbers() {
        let form = PromptForm {
            name: "relationship_health".into(),
            base_version: "1".into(),
            system_prompt: "Be direct.".into(),
            template: "{{contact}}".into(),
            ai_model: " ".into(),
            max_tokens: "40000".into(),
            temperature: "3".into(),
            label: "live".into(),
            ..Default::default()
        };
        let errors = form.parse().expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["ai_model", "max_tokens", "temperature", "label"]);
        let ok = PromptForm {
            ai_model: "gpt-5.2".into(),
            max_tokens: "500".into(),
            temperature: "0.2".into(),
            label: "staging".into(),
            ..form
        };
        assert_eq!(ok.parse().expect("valid").label.as_deref(), Some("staging"));
    }
}
