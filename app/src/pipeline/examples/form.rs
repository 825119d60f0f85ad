//! The example editor's form and its validation: every field's error at once.
use super::POLARITIES;
use crate::{error::FieldError, pipeline::catalog};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

pub const MAX_CONTENT_CHARS: usize = 20_000;
pub const MAX_ANNOTATION_CHARS: usize = 2_000;
pub use crate::pipeline::catalog::MAX_INDUSTRY_CHARS;

/// As posted. `id` and `version` are empty for a new example.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExampleForm {
    pub id: String,
    pub version: String,
    pub polarity: String,
    pub output_type: String,
    pub industry: String,
    pub purpose: String,
    pub customer_id: String,
    pub content: String,
    /// Why it is good or bad.
    pub annotation: String,
    /// What to copy, or what to avoid.
    pub takeaways: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExampleInput {
    pub polarity: String,
    pub output_type: String,
    pub industry: String,
    pub purpose: String,
    pub customer_id: Option<Uuid>,
    pub content: String,
    pub annotation: String,
    pub takeaways: String,
}

fn err(field: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, message)
}

impl ExampleForm {
    /// The example being edited and the version it was opened at; None for a new one.
    pub fn target(&self) -> Result<Option<(Uuid, OffsetDateTime)>, FieldError> {
        if self.id.trim().is_empty() {
            return Ok(None);
        }
        let id = self
            .id
            .trim()
            .parse()
            .map_err(|_| err("id", "This form names no example. Reload the page."))?;
        let at = FieldError::opened_at(&self.version)?;
        Ok(Some((id, at)))
    }

    pub fn parse(&self) -> Result<ExampleInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let polarity = self.polarity.trim().to_owned();
        if !POLARITIES.contains(&polarity.as_str()) {
            errors.push(err(
                "polarity",
                "Say whether this is a good (positive) or bad (negative) example.",
            ));
        }
        let output_type = catalog::output_type(&mut errors, &self.output_type);
        let industry = catalog::industry(&mut errors, &self.industry);
        let purpose = catalog::purpose(&mut errors, &self.purpose, true);
        let customer_id = match self.customer_id.trim() {
            "" => None,
            s => match s.parse() {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.push(err("customer_id", "Choose the customer from the list."));
                    None
                }
            },
        };
        let content = self.content.trim().to_owned();
        FieldError::check_text(&mut errors, "content", &content, MAX_CONTENT_CHARS);
        if content.is_empty() {
            errors.push(err("content", "Paste the example's text."));
        }
        let annotation = self.annotation.trim().to_owned();
        FieldError::check_text(&mut errors, "annotation", &annotation, MAX_ANNOTATION_CHARS);
        if annotation.is_empty() {
            errors.push(err(
                "annotation",
                "Say why it is good or bad: the AI learns from the reason, not just the text.",
            ));
        }
        let takeaways = self.takeaways.trim().to_owned();
        FieldError::check_text(&mut errors, "takeaways", &takeaways, MAX_ANNOTATION_CHARS);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ExampleInput {
            polarity,
            output_type,
            industry,
            purpose,
            customer_id,
            content,
            annotation,
            takeaways,
        })
    }
}

impl ExampleInput {
    pub fn fields(&self, customer: &str) -> Vec<(&'static str, String)> {
        vec![
            ("Polarity", self.polarity.clone()),
            ("Type", self.output_type.clone()),
            ("Industry", self.industry.clone()),
            ("Purpose", self.purpose.clone()),
            ("Customer", customer.to_owned()),
            ("Content", self.content.clone()),
            ("Why", self.annotation.clone()),
            ("Copy or avoid", self.takeaways.clone()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_example_needs_a_polarity_a_type_its_text_and_a_reason() {
        let errors = ExampleForm {
            polarity: "meh".into(),
            output_type: "fax".into(),
            purpose: "spam".into(),
            customer_id: "x".into(),
            ..Default::default()
        }
        .parse()
        .expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "polarity",
                "output_type",
                "purpose",
                "customer_id",
                "content",
                "annotation"
            ]
        );
        let ok = ExampleForm {
            polarity: "negative".into(),
            output_type: "email".into(),
            content: " Dear Valued Customer ".into(),
            annotation: "Generic greeting".into(),
            ..Default::default()
        }
        .parse()
        .expect("valid");
        assert_eq!(
            (ok.content.as_str(), ok.customer_id, ok.purpose.as_str()),
            ("Dear Valued Customer", None, "")
        );
    }
}
