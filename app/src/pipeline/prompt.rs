//! What the drafting model is given: the customer's business context, the task's instructions,
//! the template, similar annotated examples and any guidance from an earlier attempt.
use super::instructions::AiInstructions;
use crate::crm::{industry_line, Customer};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Template {
    pub id: Uuid,
    pub version: i32,
    pub name: String,
    pub body: String,
    pub guidelines: String,
}

/// An annotated example found by similarity to the brief.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Example {
    pub id: Uuid,
    pub polarity: String,
    pub content: String,
    pub annotation: String,
    /// What to copy from it, or what to avoid.
    #[serde(default)]
    pub takeaways: String,
    pub similarity: f32,
    /// Whose example it is, as the selection preferred it.
    #[serde(default)]
    pub source: ExampleSource,
    #[serde(skip)]
    pub embedding: Vec<f32>,
}

/// Where a similar example came from: the customer's own, its industry's, or any business's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExampleSource {
    Customer,
    Industry,
    #[default]
    Any,
}

impl ExampleSource {
    pub fn from_tier(tier: i32) -> Self {
        match tier {
            0 => Self::Customer,
            1 => Self::Industry,
            _ => Self::Any,
        }
    }

    /// "2 from this customer, 1 from its industry, 2 from other businesses".
    pub fn summary(examples: &[Example]) -> String {
        let count = |s: ExampleSource| examples.iter().filter(|e| e.source == s).count();
        [
            (count(Self::Customer), "from this customer"),
            (count(Self::Industry), "from its industry"),
            (count(Self::Any), "from other businesses"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect::<Vec<_>>()
        .join(", ")
    }
}

fn wants(instructions: &AiInstructions, source: &str) -> bool {
    // No sources listed: everything relevant is given.
    instructions.context_sources.is_empty()
        || instructions.context_sources.iter().any(|s| s == source)
}

pub fn customer_section(c: &Customer, instructions: &AiInstructions) -> String {
    let mut out = format!("Business: {}", c.name);
    let industry = industry_line(&c.industry_category, &c.industry_subcategory);
    if !industry.is_empty() {
        out.push_str(&format!("\nIndustry: {industry}"));
    }
    if let Some(w) = &c.website {
        out.push_str(&format!("\nWebsite: {w}"));
    }
    if wants(instructions, "customer.business_description") && !c.business_description.is_empty() {
        out.push_str(&format!("\nAbout: {}", c.business_description));
    }
    if wants(instructions, "customer.unique_selling_points") && !c.unique_selling_points.is_empty()
    {
        out.push_str(&format!(
            "\nWhat sets them apart: {}",
            c.unique_selling_points.join("; ")
        ));
    }
    if wants(instructions, "customer.products_services") && !c.products_services.is_empty() {
        let items: Vec<String> = c
            .products_services
            .iter()
            .map(|o| format!("{} ({})", o.name, o.description))
            .collect();
        out.push_str(&format!("\nProducts and services: {}", items.join("; ")));
    }
    if wants(instructions, "customer.target_audience") && !c.target_audience.description.is_empty()
    {
        let a = &c.target_audience;
        out.push_str(&format!("\nAudience: {}", a.description));
        if !a.pain_points.is_empty() {
            out.push_str(&format!(" Their concerns: {}.", a.pain_points.join("; ")));
        }
    }
    if wants(instructions, "brand_voice") {
        let v = &c.brand_voice;
        if !v.tone.is_empty() {
            out.push_str(&format!("\nBrand voice: {}", v.tone));
            if !v.personality.is_empty() {
                out.push_str(&format!(" ({})", v.personality.join(", ")));
            }
        }
        if !v.style.is_empty() {
            out.push_str(&format!("\nWriting style: {}", v.style));
        }
        if !v.phrases_to_use.is_empty() {
            out.push_str(&format!(
                "\nPhrases they use: {}",
                v.phrases_to_use.join("; ")
            ));
        }
        if !v.phrases_to_avoid.is_empty() {
            out.push_str(&format!("\nNever say: {}", v.phrases_to_avoid.join("; ")));
        }
    }
    // Compliance is never optional: whatever the task lists, the draft must respect it.
    let rules = &c.compliance;
    if !rules.required_disclaimers.is_empty() {
        out.push_str(&format!(
            "\nInclude word for word: {}",
            rules
                .required_disclaimers
                .iter()
                .map(|d| format!("\"{}\"", d.trim()))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    if !rules.forbidden_claims.is_empty() {
        out.push_str(&format!(
            "\nNever claim: {}",
            rules.forbidden_claims.join("; ")
        ));
    }
    if wants(instructions, "content_preferences") {
        let p = &c.content_preferences;
        if !p.cta_style.is_empty() {
            out.push_str(&format!("\nCall-to-action style: {}", p.cta_style));
        }
        out.push_str(if p.emoji {
            "\nEmoji: allowed sparingly"
        } else {
            "\nEmoji: none"
        });
    }
    out
}

pub fn instructions_section(i: &AiInstructions, competitors: &[String]) -> String {
    let mut out = format!(
        "Output: {} as {}, between {} and {} words.",
        i.output_type.replace('_', " "),
        i.output_format.replace('_', " "),
        i.output_length.min_words,
        i.output_length.max_words
    );
    let musts: Vec<String> = i
        .must_include
        .iter()
        .map(|m| match m.trim().to_lowercase().as_str() {
            "business name" => "the business name".to_owned(),
            "cta" | "call to action" => "one clear call to action".to_owned(),
            "contact info" | "contact information" => "the contact details given above".to_owned(),
            "website" => "the website".to_owned(),
            _ => format!("\"{}\"", m.trim()),
        })
        .collect();
    if !musts.is_empty() {
        out.push_str(&format!("\nMust include: {}.", musts.join(", ")));
    }
    let mut nots: Vec<String> = i
        .must_not_include
        .iter()
        .filter(|m| !m.trim().eq_ignore_ascii_case("competitor names"))
        .map(|m| format!("\"{}\"", m.trim()))
        .collect();
    if i.must_not_include
        .iter()
        .any(|m| m.trim().eq_ignore_ascii_case("competitor names"))
    {
        if competitors.is_empty() {
            nots.push("any competitor's name".to_owned());
        } else {
            nots.extend(
                competitors
                    .iter()
                    .map(|c| format!("\"{c}\" (a competitor)")),
            );
        }
    }
    if !nots.is_empty() {
        out.push_str(&format!("\nMust not include: {}.", nots.join(", ")));
    }
    let c = &i.success_criteria;
    if let Some(min) = c.readability_score_min {
        out.push_str(&format!("\nReadability: Flesch reading ease of at least {min:.0} (short sentences, everyday words)."));
    }
    if let Some(t) = &c.sentiment_target {
        out.push_str(&format!("\nOverall tone: {t}."));
    }
    if c.cta_present {
        out.push_str("\nEnd with a call to action.");
    }
    out
}

pub fn template_section(t: Option<&Template>) -> String {
    match t {
        Some(t) => format!("{} (guidelines: {})\n{}", t.name, t.guidelines, t.body),
        None => "None for this content type: use a clear, conventional structure.".to_owned(),
    }
}

pub fn examples_section(examples: &[Example], note: Option<&str>) -> String {
    if examples.is_empty() {
        return note.unwrap_or("None yet.").to_owned();
    }
    let mut out = String::new();
    for e in examples {
        let label = if e.polarity == "positive" {
            "Good example (write like this)"
        } else {
            "Bad example (avoid this)"
        };
        let takeaways = match (e.takeaways.trim(), e.polarity.as_str()) {
            ("", _) => String::new(),
            (t, "positive") => format!(" Copy: {t}"),
            (t, _) => format!(" Avoid: {t}"),
        };
        out.push_str(&format!(
            "--- {label}. Why: {}{takeaways}\n{}\n",
            e.annotation,
            e.content.trim()
        ));
    }
    out
}

pub fn guidance_section(guidance: Option<&str>) -> String {
    match guidance.map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) => {
            format!("\nA previous attempt was not accepted. Fix this in the new version:\n{g}")
        }
        None => String::new(),
    }
}

/// The text whose embedding finds a draft's similar examples: the brief and the content type.
pub fn example_query(i: &AiInstructions) -> String {
    format!("{} ({})", i.brief, i.output_type.replace('_', " "))
}

/// What one draft is written from.
pub struct DraftInputs<'a> {
    pub customer: &'a Customer,
    pub instructions: &'a AiInstructions,
    pub template: Option<&'a Template>,
    pub examples: &'a [Example],
    pub examples_note: Option<&'a str>,
    pub guidance: Option<&'a str>,
}

/// The user prompt the drafting model gets: `prompt_template` (the `content_generation`
/// prompt) filled with the sections above. The worker sends exactly this.
pub fn user_prompt(prompt_template: &str, d: &DraftInputs) -> Result<String, String> {
    let customer = customer_section(d.customer, d.instructions);
    let instructions = instructions_section(d.instructions, &d.customer.competitors);
    let template = template_section(d.template);
    let examples = examples_section(d.examples, d.examples_note);
    let guidance = guidance_section(d.guidance);
    crate::ai::prompts::render(
        prompt_template,
        &[
            ("customer_name", &d.customer.name),
            ("brief", &d.instructions.brief),
            ("customer", &customer),
            ("instructions", &instructions),
            ("template", &template),
            ("examples", &examples),
            ("guidance", &guidance),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::instructions::{OutputLength, QualityThresholds, SuccessCriteria};

    fn instructions() -> AiInstructions {
        AiInstructions {
            brief: "Spring offer".into(),
            output_type: "social_post".into(),
            output_format: "plain_text".into(),
            output_length: OutputLength {
                min_words: 20,
                max_words: 60,
            },
            must_include: vec!["business name".into(), "CTA".into(), "spring".into()],
            must_not_include: vec!["competitor names".into(), "cheapest".into()],
            context_sources: vec!["brand_voice".into()],
            success_criteria: SuccessCriteria::default(),
            quality_thresholds: QualityThresholds::default(),
        }
    }

    #[test]
    fn instructions_read_as_plain_requirements() {
        let text = instructions_section(&instructions(), &["Sparkle Bros".into()]);
        assert!(
            text.starts_with("Output: social post as plain text, between 20 and 60 words."),
            "{text}"
        );
        assert!(
            text.contains("Must include: the business name, one clear call to action, \"spring\"."),
            "{text}"
        );
        assert!(
            text.contains("Must not include: \"cheapest\", \"Sparkle Bros\" (a competitor)."),
            "{text}"
        );
    }

    #[test]
    fn only_the_listed_context_sources_are_given() {
        let c = Customer {
            id: uuid::Uuid::nil(),
            name: "Bright Homes".into(),
            website: None,
            industry_category: String::new(),
            industry_subcategory: String::new(),
            business_description: "Eco cleaning".into(),
            unique_selling_points: Vec::new(),
            products_services: Vec::new(),
            target_audience: Default::default(),
            business_hours: Default::default(),
            brand_voice: crate::crm::BrandVoice {
                tone: "warm".into(),
                ..Default::default()
            },
            content_preferences: Default::default(),
            competitors: Vec::new(),
            compliance: Default::default(),
            is_vip: false,
            updated_at: time::OffsetDateTime::UNIX_EPOCH,
        };
        let text = customer_section(&c, &instructions());
        assert!(text.contains("Brand voice: warm"));
        assert!(!text.contains("Eco cleaning"), "{text}");
        let mut all = instructions();
        all.context_sources.clear();
        assert!(customer_section(&c, &all).contains("About: Eco cleaning"));
    }

    #[test]
    fn an_examples_takeaways_say_what_to_copy_or_avoid() {
        let example = |polarity: &str, takeaways: &str| Example {
            id: Uuid::nil(),
            polarity: polarity.into(),
            content: "Text".into(),
            annotation: "Reason".into(),
            takeaways: takeaways.into(),
            similarity: 0.9,
            source: ExampleSource::Any,
            embedding: Vec::new(),
        };
        let text = examples_section(
            &[
                example("positive", "the short opener"),
                example("negative", "the countdown"),
                example("positive", ""),
            ],
            None,
        );
        assert!(
            text.contains("Why: Reason Copy: the short opener\n"),
            "{text}"
        );
        assert!(
            text.contains("Why: Reason Avoid: the countdown\n"),
            "{text}"
        );
        assert!(
            text.contains("(write like this). Why: Reason\nText"),
            "{text}"
        );
    }
}
