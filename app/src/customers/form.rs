//! The business context form: what the editor posts (text, one list item per line), its
//! validation (every field's error at once), and the field-by-field diff the audit log keeps.
use crate::crm::{
    BrandVoice, ComplianceRules, ContentPreferences, Customer, Offering, TargetAudience,
};
use crate::error::FieldError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const MAX_NAME_CHARS: usize = 200;
/// One-line fields: industry, tone, length, call-to-action style.
pub const MAX_SHORT_CHARS: usize = 200;
/// Paragraphs: the description, the audience, the writing style.
pub const MAX_LONG_CHARS: usize = 2_000;
pub const MAX_WEBSITE_CHARS: usize = 300;
/// Each list (selling points, phrases, competitors, …): this many lines of this length.
pub const MAX_ITEMS: usize = 25;
pub const MAX_ITEM_CHARS: usize = 300;

/// The editor's fields as posted. Lists are one item per line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BusinessContextForm {
    pub id: String,
    pub version: String,
    pub name: String,
    pub website: String,
    pub industry_category: String,
    pub industry_subcategory: String,
    pub business_description: String,
    pub unique_selling_points: String,
    /// "Name: description" per line.
    pub products_services: String,
    pub audience_description: String,
    pub audience_segments: String,
    pub pain_points: String,
    pub tone: String,
    pub style: String,
    pub personality: String,
    pub phrases_to_use: String,
    pub phrases_to_avoid: String,
    pub competitors: String,
    pub formats: String,
    pub length: String,
    pub cta_style: String,
    pub emoji: Option<String>,
    pub required_disclaimers: String,
    pub forbidden_claims: String,
    pub is_vip: Option<String>,
}

/// A validated business context: everything the editor changes on a customer.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessContext {
    pub name: String,
    pub website: Option<String>,
    pub industry_category: String,
    pub industry_subcategory: String,
    pub business_description: String,
    pub unique_selling_points: Vec<String>,
    pub products_services: Vec<Offering>,
    pub target_audience: TargetAudience,
    pub brand_voice: BrandVoice,
    pub competitors: Vec<String>,
    pub content_preferences: ContentPreferences,
    pub compliance: ComplianceRules,
    pub is_vip: bool,
}

fn lines(items: &[String]) -> String {
    items.join("\n")
}

impl BusinessContextForm {
    /// The form as it opens for `c`.
    pub fn from_customer(c: &Customer) -> Self {
        let offerings: Vec<String> = c
            .products_services
            .iter()
            .map(|o| {
                if o.description.is_empty() {
                    o.name.clone()
                } else {
                    format!("{}: {}", o.name, o.description)
                }
            })
            .collect();
        Self {
            id: c.id.to_string(),
            version: super::version_of(c),
            name: c.name.clone(),
            website: c.website.clone().unwrap_or_default(),
            industry_category: c.industry_category.clone(),
            industry_subcategory: c.industry_subcategory.clone(),
            business_description: c.business_description.clone(),
            unique_selling_points: lines(&c.unique_selling_points),
            products_services: offerings.join("\n"),
            audience_description: c.target_audience.description.clone(),
            audience_segments: lines(&c.target_audience.segments),
            pain_points: lines(&c.target_audience.pain_points),
            tone: c.brand_voice.tone.clone(),
            style: c.brand_voice.style.clone(),
            personality: lines(&c.brand_voice.personality),
            phrases_to_use: lines(&c.brand_voice.phrases_to_use),
            phrases_to_avoid: lines(&c.brand_voice.phrases_to_avoid),
            competitors: lines(&c.competitors),
            formats: lines(&c.content_preferences.formats),
            length: c.content_preferences.length.clone(),
            cta_style: c.content_preferences.cta_style.clone(),
            emoji: c.content_preferences.emoji.then(|| "on".to_owned()),
            required_disclaimers: lines(&c.compliance.required_disclaimers),
            forbidden_claims: lines(&c.compliance.forbidden_claims),
            is_vip: c.is_vip.then(|| "on".to_owned()),
        }
    }

    pub fn customer_id(&self) -> Result<Uuid, FieldError> {
        self.id
            .trim()
            .parse()
            .map_err(|_| err("id", "This form does not name a customer. Reload the page."))
    }

    /// The nanosecond `updated_at` the form was opened at.
    pub fn opened_at(&self) -> Result<time::OffsetDateTime, FieldError> {
        FieldError::opened_at(&self.version)
    }

    /// Checks every field and returns all the errors at once.
    pub fn parse(&self) -> Result<BusinessContext, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() {
            errors.push(err("name", "Enter the customer's name."));
        }
        text(&mut errors, "name", &name, MAX_NAME_CHARS);
        let website = match self.website.trim() {
            "" => None,
            w => {
                if w.chars().count() > MAX_WEBSITE_CHARS {
                    errors.push(err(
                        "website",
                        format!("Keep the website under {MAX_WEBSITE_CHARS} characters."),
                    ));
                } else if !is_web_address(w) {
                    errors.push(err(
                        "website",
                        "Enter a web address starting with https:// or http://, such as https://example.com.",
                    ));
                }
                Some(w.to_owned())
            }
        };
        let short = |errors: &mut Vec<FieldError>, field: &str, raw: &str| {
            let v = raw.trim().to_owned();
            text(errors, field, &v, MAX_SHORT_CHARS);
            v
        };
        let long = |errors: &mut Vec<FieldError>, field: &str, raw: &str| {
            let v = raw.trim().to_owned();
            text(errors, field, &v, MAX_LONG_CHARS);
            v
        };
        let industry_category = short(&mut errors, "industry_category", &self.industry_category);
        let industry_subcategory = short(
            &mut errors,
            "industry_subcategory",
            &self.industry_subcategory,
        );
        if industry_category.is_empty() && !industry_subcategory.is_empty() {
            errors.push(err(
                "industry_category",
                "Enter the industry the sub-industry belongs to.",
            ));
        }
        let business_description = long(
            &mut errors,
            "business_description",
            &self.business_description,
        );
        let list = |errors: &mut Vec<FieldError>, field: &str, raw: &str| list(errors, field, raw);
        let unique_selling_points = list(
            &mut errors,
            "unique_selling_points",
            &self.unique_selling_points,
        );
        let products_services = list(&mut errors, "products_services", &self.products_services)
            .into_iter()
            .map(|line| match line.split_once(':') {
                Some((n, d)) if !n.trim().is_empty() => Offering {
                    name: n.trim().to_owned(),
                    description: d.trim().to_owned(),
                },
                _ => Offering {
                    name: line,
                    description: String::new(),
                },
            })
            .collect();
        let target_audience = TargetAudience {
            description: long(
                &mut errors,
                "audience_description",
                &self.audience_description,
            ),
            segments: list(&mut errors, "audience_segments", &self.audience_segments),
            pain_points: list(&mut errors, "pain_points", &self.pain_points),
        };
        let brand_voice = BrandVoice {
            tone: short(&mut errors, "tone", &self.tone),
            style: long(&mut errors, "style", &self.style),
            personality: list(&mut errors, "personality", &self.personality),
            phrases_to_use: list(&mut errors, "phrases_to_use", &self.phrases_to_use),
            phrases_to_avoid: list(&mut errors, "phrases_to_avoid", &self.phrases_to_avoid),
        };
        if let Some(both) = brand_voice.phrases_to_avoid.iter().find(|p| {
            brand_voice
                .phrases_to_use
                .iter()
                .any(|u| u.eq_ignore_ascii_case(p))
        }) {
            errors.push(err(
                "phrases_to_avoid",
                format!("\"{both}\" is also a phrase to use. Keep it in one list."),
            ));
        }
        let competitors = list(&mut errors, "competitors", &self.competitors);
        if competitors.iter().any(|c| c.eq_ignore_ascii_case(&name)) {
            errors.push(err(
                "competitors",
                "A customer cannot be its own competitor: remove its name from this list.",
            ));
        }
        let content_preferences = ContentPreferences {
            formats: list(&mut errors, "formats", &self.formats),
            length: short(&mut errors, "length", &self.length),
            emoji: self.emoji.is_some(),
            cta_style: short(&mut errors, "cta_style", &self.cta_style),
        };
        let compliance = ComplianceRules {
            required_disclaimers: list(
                &mut errors,
                "required_disclaimers",
                &self.required_disclaimers,
            ),
            forbidden_claims: list(&mut errors, "forbidden_claims", &self.forbidden_claims),
        };
        if let Some(both) = compliance.forbidden_claims.iter().find(|claim| {
            compliance
                .required_disclaimers
                .iter()
                .any(|d| d.to_lowercase().contains(&claim.to_lowercase()))
        }) {
            errors.push(err(
                "forbidden_claims",
                format!("\"{both}\" is forbidden but a required disclaimer contains it. Change one of them."),
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(BusinessContext {
            name,
            website,
            industry_category,
            industry_subcategory,
            business_description,
            unique_selling_points,
            products_services,
            target_audience,
            brand_voice,
            competitors,
            content_preferences,
            compliance,
            is_vip: self.is_vip.is_some(),
        })
    }
}

impl BusinessContext {
    pub fn of(c: &Customer) -> Self {
        Self {
            name: c.name.clone(),
            website: c.website.clone(),
            industry_category: c.industry_category.clone(),
            industry_subcategory: c.industry_subcategory.clone(),
            business_description: c.business_description.clone(),
            unique_selling_points: c.unique_selling_points.clone(),
            products_services: c.products_services.clone(),
            target_audience: c.target_audience.clone(),
            brand_voice: c.brand_voice.clone(),
            competitors: c.competitors.clone(),
            content_preferences: c.content_preferences.clone(),
            compliance: c.compliance.clone(),
            is_vip: c.is_vip,
        }
    }

    /// Every field as (label, readable value), in the editor's order.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let join = |v: &[String]| v.join("; ");
        let offerings: Vec<String> = self
            .products_services
            .iter()
            .map(|o| format!("{}: {}", o.name, o.description))
            .collect();
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
        vec![
            ("Name", self.name.clone()),
            ("Website", self.website.clone().unwrap_or_default()),
            ("Industry", self.industry_category.clone()),
            ("Sub-industry", self.industry_subcategory.clone()),
            ("Description", self.business_description.clone()),
            ("Unique selling points", join(&self.unique_selling_points)),
            ("Products and services", offerings.join("; ")),
            ("Audience", self.target_audience.description.clone()),
            ("Audience segments", join(&self.target_audience.segments)),
            ("Pain points", join(&self.target_audience.pain_points)),
            ("Tone", self.brand_voice.tone.clone()),
            ("Style", self.brand_voice.style.clone()),
            ("Personality", join(&self.brand_voice.personality)),
            ("Phrases to use", join(&self.brand_voice.phrases_to_use)),
            ("Phrases to avoid", join(&self.brand_voice.phrases_to_avoid)),
            ("Competitors", join(&self.competitors)),
            ("Formats", join(&self.content_preferences.formats)),
            ("Length", self.content_preferences.length.clone()),
            (
                "Call-to-action style",
                self.content_preferences.cta_style.clone(),
            ),
            ("Emoji", yes_no(self.content_preferences.emoji)),
            (
                "Required disclaimers",
                join(&self.compliance.required_disclaimers),
            ),
            ("Forbidden claims", join(&self.compliance.forbidden_claims)),
            ("VIP", yes_no(self.is_vip)),
        ]
    }

    /// The fields that differ from `before`: (label, before, after).
    pub fn changes_from(&self, before: &BusinessContext) -> Vec<(&'static str, String, String)> {
        before
            .fields()
            .into_iter()
            .zip(self.fields())
            .filter(|((_, a), (_, b))| a != b)
            .map(|((label, a), (_, b))| (label, a, b))
            .collect()
    }
}

fn err(field: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, message)
}

fn text(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) {
    FieldError::check_text(errors, field, value, max)
}

/// One item per line: blank lines dropped, repeats (ignoring case) kept once.
fn list(errors: &mut Vec<FieldError>, field: &str, raw: &str) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for (i, line) in raw.lines().map(str::trim).enumerate() {
        if line.is_empty() || items.iter().any(|x| x.eq_ignore_ascii_case(line)) {
            continue;
        }
        let n = line.chars().count();
        if n > MAX_ITEM_CHARS {
            errors.push(err(
                field,
                format!(
                    "Line {} is {n} characters; keep each line to {MAX_ITEM_CHARS}.",
                    i + 1
                ),
            ));
            return items;
        }
        items.push(line.to_owned());
    }
    if items.len() > MAX_ITEMS {
        errors.push(err(
            field,
            format!(
                "List at most {MAX_ITEMS} items, one per line (this has {}).",
                items.len()
            ),
        ));
    }
    text(
        errors,
        field,
        &items.join("\n"),
        MAX_ITEMS * (MAX_ITEM_CHARS + 1),
    );
    items
}

fn is_web_address(w: &str) -> bool {
    let rest = w
        .strip_prefix("https://")
        .or_else(|| w.strip_prefix("http://"));
    match rest {
        Some(rest) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            !w.chars().any(char::is_whitespace)
                && host.contains('.')
                && !host.starts_with('.')
                && !host.ends_with('.')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> BusinessContextForm {
        BusinessContextForm {
            id: Uuid::nil().to_string(),
            version: "0".into(),
            name: "Bright Homes".into(),
            website: "https://brighthomes.example".into(),
            industry_category: "Home services".into(),
            tone: "Warm".into(),
            phrases_to_use: "spotless\nfriendly team\n\nSpotless".into(),
            products_services: "Deep clean: top to bottom\nWindows".into(),
            ..Default::default()
        }
    }

    fn fields(e: Vec<FieldError>) -> Vec<String> {
        e.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_good_form_parses_with_lists_trimmed_and_deduplicated() {
        let ctx = form().parse().expect("valid");
        assert_eq!(
            ctx.brand_voice.phrases_to_use,
            ["spotless", "friendly team"]
        );
        assert_eq!(ctx.products_services[0].name, "Deep clean");
        assert_eq!(ctx.products_services[1].description, "");
        assert_eq!(ctx.website.as_deref(), Some("https://brighthomes.example"));
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let bad = BusinessContextForm {
            name: " ".into(),
            website: "brighthomes".into(),
            industry_category: String::new(),
            industry_subcategory: "Cleaning".into(),
            tone: "x".repeat(MAX_SHORT_CHARS + 1),
            phrases_to_avoid: "Friendly team".into(),
            competitors: (0..=MAX_ITEMS).map(|i| format!("Rival {i}\n")).collect(),
            ..form()
        };
        assert_eq!(
            fields(bad.parse().expect_err("invalid")),
            [
                "name",
                "website",
                "industry_category",
                "tone",
                "phrases_to_avoid",
                "competitors"
            ]
        );
    }

    #[test]
    fn a_customer_cannot_be_its_own_competitor_nor_forbid_its_disclaimer() {
        let bad = BusinessContextForm {
            competitors: "bright homes".into(),
            required_disclaimers: "Results guaranteed in writing.".into(),
            forbidden_claims: "guaranteed".into(),
            ..form()
        };
        assert_eq!(
            fields(bad.parse().expect_err("invalid")),
            ["competitors", "forbidden_claims"]
        );
    }

    #[test]
    fn the_diff_names_only_the_fields_that_changed() {
        let before = form().parse().expect("valid");
        let after = BusinessContextForm {
            tone: "Playful".into(),
            is_vip: Some("on".into()),
            ..form()
        }
        .parse()
        .expect("valid");
        assert_eq!(
            after.changes_from(&before),
            [
                ("Tone", "Warm".to_owned(), "Playful".to_owned()),
                ("VIP", "no".to_owned(), "yes".to_owned())
            ]
        );
    }

    #[test]
    fn web_addresses_need_a_scheme_and_a_host() {
        for ok in ["https://a.example", "http://a.example/path?q=1"] {
            assert!(is_web_address(ok), "{ok}");
        }
        for bad in [
            "a.example",
            "https://",
            "https://localhost",
            "https://a .example",
            "ftp://a.example",
        ] {
            assert!(!is_web_address(bad), "{bad}");
        }
    }
}
