//! The template editor's form and its validation: every field's error at once.
use super::{placeholders, TemplateVersion};
use crate::{error::FieldError, pipeline::catalog};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const MAX_NAME_CHARS: usize = 200;
pub use crate::pipeline::catalog::MAX_INDUSTRY_CHARS;
pub const MAX_BODY_CHARS: usize = 20_000;
pub const MAX_GUIDELINES_CHARS: usize = 4_000;
pub const MAX_NOTE_CHARS: usize = 300;

/// As posted. `id` is empty for a new template (or a copy of a built-in); `base_version` is
/// the newest version when the editor opened, so a save on top of someone else's is refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TemplateForm {
    pub id: String,
    pub base_version: String,
    pub name: String,
    pub output_type: String,
    pub industry: String,
    pub purpose: String,
    pub body: String,
    pub guidelines: String,
    pub note: String,
    /// "on": make the new version the live one at once.
    pub activate: Option<String>,
}

/// A checked new version.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionInput {
    pub name: String,
    pub output_type: String,
    pub industry: String,
    pub purpose: String,
    pub body: String,
    pub guidelines: String,
    pub placeholders: Vec<String>,
    pub note: String,
}

fn err(field: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, message)
}

impl TemplateForm {
    /// The editor opened on `v` of template `id` (None: a new template or a built-in's copy).
    pub fn of(id: Option<Uuid>, latest: i32, v: &TemplateVersion) -> Self {
        Self {
            id: id.map(|i| i.to_string()).unwrap_or_default(),
            base_version: latest.to_string(),
            name: v.name.clone(),
            output_type: v.output_type.clone(),
            industry: v.industry.clone(),
            purpose: v.purpose.clone(),
            body: v.body.clone(),
            guidelines: v.guidelines.clone(),
            note: String::new(),
            activate: None,
        }
    }

    /// The template and the version it was opened at, or None for a new one.
    pub fn target(&self) -> Result<Option<(Uuid, i32)>, FieldError> {
        if self.id.trim().is_empty() {
            return Ok(None);
        }
        let id = self
            .id
            .trim()
            .parse()
            .map_err(|_| err("id", "This form names no template. Reload the page."))?;
        let base = self.base_version.trim().parse().map_err(|_| {
            err(
                "base_version",
                "This form has no valid version. Reload the page.",
            )
        })?;
        Ok(Some((id, base)))
    }

    pub fn parse(&self) -> Result<VersionInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = self.name.trim().to_owned();
        FieldError::check_text(&mut errors, "name", &name, MAX_NAME_CHARS);
        if name.is_empty() {
            errors.push(err(
                "name",
                "Name the template, such as \"Spring promotion email\".",
            ));
        }
        let output_type = catalog::output_type(&mut errors, &self.output_type);
        let industry = catalog::industry(&mut errors, &self.industry);
        let purpose = catalog::purpose(&mut errors, &self.purpose, false);
        let body = self.body.trim_end().to_owned();
        FieldError::check_text(&mut errors, "body", &body, MAX_BODY_CHARS);
        let placeholders = if body.trim().is_empty() {
            errors.push(err("body", "Write the template's body."));
            Vec::new()
        } else {
            placeholders::check(&body).unwrap_or_else(|m| {
                errors.push(err("body", m));
                Vec::new()
            })
        };
        let guidelines = self.guidelines.trim().to_owned();
        FieldError::check_text(&mut errors, "guidelines", &guidelines, MAX_GUIDELINES_CHARS);
        let note = self.note.trim().to_owned();
        FieldError::check_text(&mut errors, "note", &note, MAX_NOTE_CHARS);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(VersionInput {
            name,
            output_type,
            industry,
            purpose,
            body,
            guidelines,
            placeholders,
            note,
        })
    }
}

impl VersionInput {
    /// The same content as `v` (a save that changes nothing writes no version).
    pub fn same_as(&self, v: &TemplateVersion) -> bool {
        self.name == v.name
            && self.output_type == v.output_type
            && self.industry == v.industry
            && self.purpose == v.purpose
            && self.body == v.body
            && self.guidelines == v.guidelines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> TemplateForm {
        TemplateForm {
            name: "Spring promotion".into(),
            output_type: "email".into(),
            purpose: "promotion".into(),
            body: "Subject: {{offer_headline}}\n\nHi {{first_name}},\n{{call_to_action}}\n".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_valid_form_lists_its_placeholders() {
        let v = form().parse().expect("valid");
        assert_eq!(
            v.placeholders,
            ["offer_headline", "first_name", "call_to_action"]
        );
        assert_eq!(form().target(), Ok(None));
    }

    #[test]
    fn every_bad_field_is_reported_and_an_unknown_placeholder_lists_the_known_ones() {
        let bad = TemplateForm {
            name: " ".into(),
            output_type: "fax".into(),
            purpose: "".into(),
            body: "Hi {{first_name}}, use {{promo_code}}".into(),
            ..Default::default()
        };
        let errors = bad.parse().expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "output_type", "purpose", "body"]);
        assert!(
            errors[3].message.contains("{{promo_code}}")
                && errors[3].message.contains("Available: business_name")
        );
    }
}
