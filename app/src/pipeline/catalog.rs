//! What templates and examples are filed under: content type, industry and purpose. Their
//! lists filter by these and their forms check them, both through here.
use super::{instructions::OUTPUT_TYPES, templates::PURPOSES};
use crate::error::{AppError, FieldError};

pub const MAX_INDUSTRY_CHARS: usize = 100;

/// A filter value as typed: trimmed, and none when blank.
pub fn given(v: Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The list filters, checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filed {
    pub output_type: Option<String>,
    pub industry: Option<String>,
    pub purpose: Option<String>,
}

impl Filed {
    pub fn checked(
        output_type: Option<String>,
        industry: Option<String>,
        purpose: Option<String>,
    ) -> Result<Self, AppError> {
        let f = Self {
            output_type: given(output_type),
            industry: given(industry),
            purpose: given(purpose),
        };
        if f.output_type.as_deref().is_some_and(|t| !is_output_type(t)) {
            return Err(AppError::validation(
                "output_type",
                "Choose a content type from the list.",
            ));
        }
        if f.purpose.as_deref().is_some_and(|p| !PURPOSES.contains(&p)) {
            return Err(AppError::validation(
                "purpose",
                "Choose a purpose from the list.",
            ));
        }
        if f.industry
            .as_deref()
            .is_some_and(|i| i.chars().count() > MAX_INDUSTRY_CHARS)
        {
            return Err(AppError::validation(
                "industry",
                "Choose an industry from the list.",
            ));
        }
        Ok(f)
    }
}

fn is_output_type(t: &str) -> bool {
    OUTPUT_TYPES.iter().any(|(k, _)| *k == t)
}

/// A form's content type, trimmed; an unknown one is an error listing those there are.
pub fn output_type(errors: &mut Vec<FieldError>, raw: &str) -> String {
    let t = raw.trim().to_owned();
    if !is_output_type(&t) {
        let types: Vec<&str> = OUTPUT_TYPES.iter().map(|(t, _)| *t).collect();
        errors.push(FieldError::new(
            "output_type",
            format!("Choose one of: {}.", types.join(", ")),
        ));
    }
    t
}

/// A form's industry ("" for any), trimmed and bounded.
pub fn industry(errors: &mut Vec<FieldError>, raw: &str) -> String {
    let i = raw.trim().to_owned();
    FieldError::check_text(errors, "industry", &i, MAX_INDUSTRY_CHARS);
    i
}

/// A form's purpose, one of `PURPOSES` (or none, when `optional`).
pub fn purpose(errors: &mut Vec<FieldError>, raw: &str, optional: bool) -> String {
    let p = raw.trim().to_owned();
    if !(PURPOSES.contains(&p.as_str()) || optional && p.is_empty()) {
        let none = if optional { ", or none" } else { "" };
        errors.push(FieldError::new(
            "purpose",
            format!("Choose one of: {}{none}.", PURPOSES.join(", ")),
        ));
    }
    p
}
