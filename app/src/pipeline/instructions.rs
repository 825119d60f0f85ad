//! A task's structured AI instructions (seed 001), validated field by field on the server (and
//! in the form, with the same code).
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const OUTPUT_TYPES: [(&str, &str); 6] = [
    ("email", "Email"),
    ("social_post", "Social post"),
    ("blog_post", "Blog post"),
    ("sms", "SMS"),
    ("ad_copy", "Ad copy"),
    ("landing_page", "Landing page"),
];
pub const OUTPUT_FORMATS: [&str; 3] = ["plain_text", "markdown", "html"];
/// What the worker may put in front of the model.
pub const CONTEXT_SOURCES: [&str; 7] = [
    "customer.business_description",
    "customer.unique_selling_points",
    "customer.products_services",
    "customer.target_audience",
    "customer.business_hours",
    "brand_voice",
    "content_preferences",
];
pub const SENTIMENTS: [&str; 3] = ["positive", "neutral", "negative"];
/// `must_include` items that name a kind of content rather than literal words.
pub const SEMANTIC_INCLUDES: [&str; 4] = ["business name", "cta", "contact info", "website"];
/// `must_not_include` items that name a kind of content rather than literal words.
pub const SEMANTIC_EXCLUDES: [&str; 1] = ["competitor names"];
pub const MAX_WORDS_LIMIT: u32 = 5_000;
pub const MAX_ATTEMPTS_LIMIT: u8 = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AiInstructions {
    /// What to write about, in the requester's words.
    pub brief: String,
    pub output_type: String,
    pub output_format: String,
    pub output_length: OutputLength,
    #[serde(default)]
    pub must_include: Vec<String>,
    #[serde(default)]
    pub must_not_include: Vec<String>,
    #[serde(default)]
    pub context_sources: Vec<String>,
    #[serde(default)]
    pub success_criteria: SuccessCriteria,
    #[serde(default)]
    pub quality_thresholds: QualityThresholds,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputLength {
    pub min_words: u32,
    pub max_words: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuccessCriteria {
    /// Minimum Flesch reading ease (0-100).
    #[serde(default)]
    pub readability_score_min: Option<f64>,
    #[serde(default)]
    pub sentiment_target: Option<String>,
    #[serde(default)]
    pub cta_present: bool,
}

impl Default for SuccessCriteria {
    fn default() -> Self {
        Self {
            readability_score_min: Some(60.0),
            sentiment_target: Some("positive".into()),
            cta_present: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualityThresholds {
    /// Overall score (0-100) the approval rules compare against.
    pub min_overall: u8,
    /// Brand alignment (0-100) below which the draft counts as off-brand.
    pub min_brand_alignment: u8,
}

impl Default for QualityThresholds {
    fn default() -> Self {
        Self {
            min_overall: 80,
            min_brand_alignment: 50,
        }
    }
}

pub use crate::error::FieldError;

fn err(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: crate::error::clip_quotes(&message.into()),
    }
}

fn check_phrases(field: &str, items: &[String], errors: &mut Vec<FieldError>) {
    if items.len() > 20 {
        errors.push(err(field, "at most 20 items"));
    }
    for (i, item) in items.iter().enumerate() {
        let t = item.trim();
        if t.is_empty() {
            errors.push(err(&format!("{field}[{i}]"), "must not be empty"));
        } else if t.chars().count() > 100 {
            errors.push(err(
                &format!("{field}[{i}]"),
                "must be at most 100 characters",
            ));
        }
    }
}

impl AiInstructions {
    /// Every problem at once, so a form can show them all.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let brief = self.brief.trim().chars().count();
        if brief < 10 {
            errors.push(err(
                "brief",
                "describe what to write in at least 10 characters",
            ));
        } else if brief > 2_000 {
            errors.push(err("brief", "must be at most 2,000 characters"));
        }
        if !OUTPUT_TYPES.iter().any(|(t, _)| *t == self.output_type) {
            errors.push(err(
                "output_type",
                format!(
                    "must be one of: {}",
                    OUTPUT_TYPES.map(|(t, _)| t).join(", ")
                ),
            ));
        }
        if !OUTPUT_FORMATS.contains(&self.output_format.as_str()) {
            errors.push(err(
                "output_format",
                format!("must be one of: {}", OUTPUT_FORMATS.join(", ")),
            ));
        }
        let OutputLength {
            min_words,
            max_words,
        } = self.output_length;
        if min_words == 0 {
            errors.push(err("output_length.min_words", "must be at least 1"));
        }
        if max_words > MAX_WORDS_LIMIT {
            errors.push(err(
                "output_length.max_words",
                format!("must be at most {MAX_WORDS_LIMIT}"),
            ));
        }
        if min_words > max_words {
            errors.push(err(
                "output_length.max_words",
                "must be at least the minimum",
            ));
        }
        check_phrases("must_include", &self.must_include, &mut errors);
        check_phrases("must_not_include", &self.must_not_include, &mut errors);
        for inc in &self.must_include {
            let inc = inc.trim().to_lowercase();
            if !inc.is_empty()
                && self
                    .must_not_include
                    .iter()
                    .any(|exc| exc.trim().to_lowercase() == inc)
            {
                errors.push(err(
                    "must_not_include",
                    format!("\"{inc}\" is also required"),
                ));
            }
        }
        for (i, source) in self.context_sources.iter().enumerate() {
            if !CONTEXT_SOURCES.contains(&source.as_str()) {
                errors.push(err(
                    &format!("context_sources[{i}]"),
                    format!(
                        "unknown source \"{source}\"; known: {}",
                        CONTEXT_SOURCES.join(", ")
                    ),
                ));
            }
        }
        if let Some(min) = self.success_criteria.readability_score_min {
            if !(0.0..=100.0).contains(&min) {
                errors.push(err(
                    "success_criteria.readability_score_min",
                    "must be between 0 and 100",
                ));
            }
        }
        if let Some(target) = &self.success_criteria.sentiment_target {
            if !SENTIMENTS.contains(&target.as_str()) {
                errors.push(err(
                    "success_criteria.sentiment_target",
                    format!("must be one of: {}", SENTIMENTS.join(", ")),
                ));
            }
        }
        for (field, value) in [
            (
                "quality_thresholds.min_overall",
                self.quality_thresholds.min_overall,
            ),
            (
                "quality_thresholds.min_brand_alignment",
                self.quality_thresholds.min_brand_alignment,
            ),
        ] {
            if value > 100 {
                errors.push(err(field, "must be between 0 and 100"));
            }
        }
        errors
    }

    /// Trims phrases and drops duplicates (case-insensitively), keeping the first spelling.
    pub fn normalized(mut self) -> Self {
        fn tidy(items: Vec<String>) -> Vec<String> {
            let mut seen = std::collections::HashSet::new();
            items
                .into_iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty() && seen.insert(s.to_lowercase()))
                .collect()
        }
        self.brief = self.brief.trim().to_owned();
        self.must_include = tidy(self.must_include);
        self.must_not_include = tidy(self.must_not_include);
        self.context_sources = tidy(self.context_sources);
        self
    }
}

/// The new-task form as the browser posts it: every field as typed (numbers too, so a typo gets
/// a message rather than a decoding error). `parse` is the one place its rules live; the server
/// runs it and the form shows what it says, field by field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewTaskForm {
    pub customer_id: String,
    pub project: String,
    pub title: String,
    pub max_attempts: String,
    pub brief: String,
    pub output_type: String,
    pub output_format: String,
    pub min_words: String,
    pub max_words: String,
    /// Comma- or line-separated.
    pub must_include: String,
    pub must_not_include: String,
    pub context_sources: Vec<String>,
    /// Minimum Flesch reading ease; empty for none.
    pub readability: String,
    /// Empty for any.
    pub sentiment: String,
    /// A checkbox: present when ticked.
    pub cta: Option<String>,
    pub min_overall: String,
}

/// A new task, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTask {
    pub customer_id: Uuid,
    pub project: String,
    pub title: String,
    pub max_attempts: i16,
    pub instructions: AiInstructions,
}

/// The longest project name and task title.
pub const MAX_NAME_CHARS: usize = 200;

fn split_list(raw: &str) -> Vec<String> {
    raw.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl NewTaskForm {
    /// The form as the new-task page first shows it.
    pub fn defaults() -> Self {
        Self {
            project: "Content".into(),
            max_attempts: "3".into(),
            output_type: "email".into(),
            output_format: "plain_text".into(),
            min_words: "80".into(),
            max_words: "200".into(),
            must_include: "business name, CTA".into(),
            must_not_include: "competitor names".into(),
            context_sources: CONTEXT_SOURCES.iter().map(|s| (*s).to_owned()).collect(),
            readability: "60".into(),
            sentiment: "positive".into(),
            cta: Some("on".into()),
            min_overall: "80".into(),
            ..Default::default()
        }
    }

    /// Every problem at once, each named by its field (the instructions' own paths for what
    /// goes into them), or the task.
    pub fn parse(&self) -> Result<NewTask, Vec<FieldError>> {
        let mut errors = Vec::new();
        let customer_id = self.customer_id.trim().parse::<Uuid>().ok();
        if customer_id.is_none() {
            errors.push(err("customer_id", "Choose a customer."));
        }
        let whole = |field: &str, raw: &str, errors: &mut Vec<FieldError>| -> u32 {
            raw.trim().parse::<u32>().unwrap_or_else(|_| {
                errors.push(err(field, "Enter a whole number."));
                0
            })
        };
        let min_words = whole("output_length.min_words", &self.min_words, &mut errors);
        let max_words = whole("output_length.max_words", &self.max_words, &mut errors);
        let min_overall = whole(
            "quality_thresholds.min_overall",
            &self.min_overall,
            &mut errors,
        );
        let attempts = whole("max_attempts", &self.max_attempts, &mut errors);
        if !(1..=u32::from(MAX_ATTEMPTS_LIMIT)).contains(&attempts) {
            errors.push(err(
                "max_attempts",
                format!("Allow between 1 and {MAX_ATTEMPTS_LIMIT} attempts."),
            ));
        }
        let readability = match self.readability.trim() {
            "" => None,
            raw => match raw.parse::<f64>() {
                Ok(v) if v.is_finite() => Some(v),
                _ => {
                    errors.push(err(
                        "success_criteria.readability_score_min",
                        "Enter a number from 0 to 100.",
                    ));
                    None
                }
            },
        };
        let project = self.project.trim();
        if project.is_empty() || project.chars().count() > MAX_NAME_CHARS {
            errors.push(err(
                "project",
                format!("Name the project (up to {MAX_NAME_CHARS} characters)."),
            ));
        }
        let title = self.title.trim();
        if title.is_empty() || title.chars().count() > MAX_NAME_CHARS {
            errors.push(err(
                "title",
                format!("Give the task a title (up to {MAX_NAME_CHARS} characters)."),
            ));
        }
        let instructions = AiInstructions {
            brief: self.brief.clone(),
            output_type: self.output_type.trim().to_owned(),
            output_format: self.output_format.trim().to_owned(),
            output_length: OutputLength {
                min_words,
                max_words,
            },
            must_include: split_list(&self.must_include),
            must_not_include: split_list(&self.must_not_include),
            context_sources: self.context_sources.clone(),
            success_criteria: SuccessCriteria {
                readability_score_min: readability,
                sentiment_target: Some(self.sentiment.trim().to_owned()).filter(|s| !s.is_empty()),
                cta_present: self.cta.is_some(),
            },
            quality_thresholds: QualityThresholds {
                min_overall: u8::try_from(min_overall).unwrap_or(u8::MAX),
                ..QualityThresholds::default()
            },
        }
        .normalized();
        errors.extend(instructions.validate());
        match customer_id {
            Some(customer_id) if errors.is_empty() => Ok(NewTask {
                customer_id,
                project: project.to_owned(),
                title: title.to_owned(),
                max_attempts: i16::try_from(attempts).unwrap_or(1),
                instructions,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_form_needs_only_a_customer_title_and_brief() {
        let errors = NewTaskForm::defaults().parse().expect_err("empty");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["customer_id", "title", "brief"]);
        let form = NewTaskForm {
            customer_id: Uuid::nil().to_string(),
            title: "Spring email".into(),
            brief: "Invite past clients to book a spring service.".into(),
            ..NewTaskForm::defaults()
        };
        let task = form.parse().expect("valid");
        assert_eq!(task.max_attempts, 3);
        assert_eq!(task.instructions.output_length.max_words, 200);
        assert_eq!(task.instructions.must_include, ["business name", "CTA"]);
        assert!(task.instructions.success_criteria.cta_present);
    }

    #[test]
    fn typed_numbers_that_are_not_numbers_are_named() {
        let form = NewTaskForm {
            min_words: "eighty".into(),
            max_attempts: "11".into(),
            ..NewTaskForm::defaults()
        };
        let errors = form.parse().expect_err("bad numbers");
        let find = |f: &str| {
            errors
                .iter()
                .find(|e| e.field == f)
                .map(|e| e.message.as_str())
        };
        assert_eq!(
            find("output_length.min_words"),
            Some("Enter a whole number.")
        );
        assert_eq!(
            find("max_attempts"),
            Some("Allow between 1 and 10 attempts.")
        );
    }

    fn good() -> AiInstructions {
        AiInstructions {
            brief: "Announce the spring cleaning offer to existing clients.".into(),
            output_type: "email".into(),
            output_format: "html".into(),
            output_length: OutputLength {
                min_words: 100,
                max_words: 300,
            },
            must_include: vec!["business name".into(), "CTA".into(), "contact info".into()],
            must_not_include: vec!["competitor names".into(), "guaranteed results".into()],
            context_sources: vec!["customer.business_description".into(), "brand_voice".into()],
            success_criteria: SuccessCriteria {
                readability_score_min: Some(60.0),
                sentiment_target: Some("positive".into()),
                cta_present: true,
            },
            quality_thresholds: QualityThresholds::default(),
        }
    }

    #[test]
    fn the_seed_example_is_valid_and_round_trips_as_json() {
        let i = good();
        assert_eq!(i.validate(), []);
        let json = serde_json::to_value(&i).expect("json");
        assert_eq!(json["output_length"]["max_words"], 300);
        assert_eq!(
            serde_json::from_value::<AiInstructions>(json).expect("back"),
            i
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut i = good();
        i.brief = "short".into();
        i.output_type = "fax".into();
        i.output_length = OutputLength {
            min_words: 400,
            max_words: 300,
        };
        i.must_include.push("  ".into());
        i.must_not_include.push("CTA".into());
        i.context_sources.push("customer.secret_notes".into());
        i.success_criteria.readability_score_min = Some(140.0);
        i.success_criteria.sentiment_target = Some("ecstatic".into());
        i.quality_thresholds.min_overall = 101;
        let fields: Vec<String> = i.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "brief",
                "output_type",
                "output_length.max_words",
                "must_include[3]",
                "must_not_include",
                "context_sources[2]",
                "success_criteria.readability_score_min",
                "success_criteria.sentiment_target",
                "quality_thresholds.min_overall",
            ]
        );
    }

    #[test]
    fn unknown_fields_are_refused_when_stored_json_is_read() {
        let mut json = serde_json::to_value(good()).expect("json");
        json["tone"] = "shouty".into();
        let err = serde_json::from_value::<AiInstructions>(json).expect_err("unknown field");
        assert!(err.to_string().contains("unknown field `tone`"), "{err}");
    }

    #[test]
    fn normalizing_trims_and_drops_duplicates() {
        let mut i = good();
        i.must_include = vec![" CTA ".into(), "cta".into(), "".into(), "phone".into()];
        assert_eq!(i.normalized().must_include, ["CTA", "phone"]);
    }
}
