//! Scores for a draft: readability, sentiment, brand alignment and compliance, each 0-100, and
//! one overall score with the parts shown (`super::report`). Pure functions: the worker supplies
//! the embedding similarities brand alignment needs.
mod compliance;
pub mod readability;

pub use compliance::{compliance, has_cta};

use super::{
    instructions::AiInstructions,
    report::{BrandPart, QualityReport, ReadabilityPart, SentimentPart, WEIGHTS},
};
use readability::Syllables;
use regex::Regex;
use std::sync::LazyLock;
use vader_sentimental::SentimentIntensityAnalyzer;

/// What the scorers need to know about the customer: a borrowed view of `crm::Customer`.
#[derive(Debug, Clone, Default)]
pub struct BrandRules<'a> {
    pub name: &'a str,
    pub website: Option<&'a str>,
    pub competitors: &'a [String],
    pub phrases_to_use: &'a [String],
    pub phrases_to_avoid: &'a [String],
    /// The workspace's other customers that the draft may name (the worker finds them): a
    /// draft about one business must not carry another's name.
    pub other_businesses: &'a [String],
    /// Text every draft must carry, word for word (the customer's compliance requirements).
    pub required_disclaimers: &'a [String],
    /// Claims no draft may make.
    pub forbidden_claims: &'a [String],
}

impl<'a> From<&'a crate::crm::Customer> for BrandRules<'a> {
    fn from(c: &'a crate::crm::Customer) -> Self {
        Self {
            name: &c.name,
            website: c.website.as_deref(),
            competitors: &c.competitors,
            phrases_to_use: &c.brand_voice.phrases_to_use,
            phrases_to_avoid: &c.brand_voice.phrases_to_avoid,
            other_businesses: &[],
            required_disclaimers: &c.compliance.required_disclaimers,
            forbidden_claims: &c.compliance.forbidden_claims,
        }
    }
}

/// Cosine similarities of the draft's embedding, all from one model.
#[derive(Debug, Clone, PartialEq)]
pub struct Similarities {
    pub model: String,
    pub voice: Option<f32>,
    pub best_positive: Option<f32>,
    pub best_negative: Option<f32>,
}

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a constant, valid pattern")
}

static TAG: LazyLock<Regex> = LazyLock::new(|| regex(r"(?s)<[^>]*>"));
pub fn visible_text(draft: &str, format: &str) -> String {
    if format != "html" {
        return draft.to_owned();
    }
    TAG.replace_all(draft, " ")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
        .replace("&#39;", "'")
        .replace("&rsquo;", "'")
        .replace("&quot;", "\"")
}

/// Whole-word, case-insensitive search for a phrase.
pub fn contains_phrase(text: &str, phrase: &str) -> bool {
    let phrase = phrase.trim();
    if phrase.is_empty() {
        return false;
    }
    let pattern = format!(r"(?i)(?:^|\W){}(?:\W|$)", regex::escape(phrase));
    Regex::new(&pattern).is_ok_and(|re| re.is_match(text))
}

fn to_score(x: f64) -> u8 {
    x.round().clamp(0.0, 100.0) as u8
}

pub fn sentiment(text: &str, target: Option<&str>) -> SentimentPart {
    static ANALYZER: LazyLock<SentimentIntensityAnalyzer<'static>> =
        LazyLock::new(SentimentIntensityAnalyzer::new);
    let compound = ANALYZER.polarity_scores(text).compound;
    let label = if compound >= 0.05 {
        "positive"
    } else if compound <= -0.05 {
        "negative"
    } else {
        "neutral"
    };
    // A match scores 100, neutral against a polar target (or the reverse) 50, opposites 0.
    let score = match (target, label) {
        (None, _) => 100,
        (Some(t), l) if t == l => 100,
        (Some(_), "neutral") | (Some("neutral"), _) => 50,
        _ => 0,
    };
    SentimentPart {
        score,
        compound,
        label: label.into(),
        target: target.map(str::to_owned),
    }
}

pub fn readability_part(
    text: &str,
    target_min: Option<f64>,
    syllables: &Syllables,
) -> ReadabilityPart {
    let r = readability::readability(text, syllables);
    let target = target_min.unwrap_or(60.0);
    // Full marks at or above the target; 2 points off per point below it.
    let score = to_score(100.0 - 2.0 * (target - r.flesch_reading_ease).max(0.0));
    ReadabilityPart {
        score,
        flesch_reading_ease: (r.flesch_reading_ease * 100.0).round() / 100.0,
        flesch_kincaid_grade: (r.flesch_kincaid_grade * 100.0).round() / 100.0,
        words: r.words,
        sentences: r.sentences,
        target_min,
        approximate: !syllables.has_dictionary(),
    }
}

/// Cosine similarity mapped to 0..1: MiniLM-style models put unrelated texts near 0.05 and
/// close paraphrases above 0.55.
fn closeness(cos: f32) -> f64 {
    ((f64::from(cos) - 0.05) / 0.5).clamp(0.0, 1.0)
}

pub fn brand(text: &str, customer: &BrandRules, sims: Option<&Similarities>) -> BrandPart {
    let (used, not_used): (Vec<String>, Vec<String>) = customer
        .phrases_to_use
        .iter()
        .map(|p| p.trim().to_owned())
        .partition(|p| contains_phrase(text, p));
    let avoided: Vec<String> = customer
        .phrases_to_avoid
        .iter()
        .filter(|p| contains_phrase(text, p))
        .map(|p| p.trim().to_owned())
        .collect();
    // Each available signal counts equally: voice, examples, phrases.
    let mut signals = Vec::new();
    if let Some(s) = sims {
        if let Some(v) = s.voice {
            signals.push(closeness(v));
        }
        if let Some(p) = s.best_positive {
            let mut e = closeness(p);
            if s.best_negative.is_some_and(|n| n > p) {
                e = (e - 0.3).max(0.0); // closer to what not to write than to what to write
            }
            signals.push(e);
        }
    }
    if !customer.phrases_to_use.is_empty() {
        signals.push(used.len() as f64 / customer.phrases_to_use.len() as f64);
    }
    let base = if signals.is_empty() {
        1.0
    } else {
        signals.iter().sum::<f64>() / signals.len() as f64
    };
    let score = to_score(100.0 * base - 15.0 * avoided.len() as f64);
    BrandPart {
        score,
        voice_similarity: sims.and_then(|s| s.voice),
        positive_example_similarity: sims.and_then(|s| s.best_positive),
        negative_example_similarity: sims.and_then(|s| s.best_negative),
        embedding_model: sims.map(|s| s.model.clone()),
        phrases_used: used,
        phrases_not_used: not_used,
        phrases_to_avoid_found: avoided,
    }
}

/// Every score for one draft.
pub fn score(
    draft: &str,
    instructions: &AiInstructions,
    customer: &BrandRules,
    sims: Option<&Similarities>,
    syllables: &Syllables,
) -> QualityReport {
    let text = visible_text(draft, &instructions.output_format);
    let readability = readability_part(
        &text,
        instructions.success_criteria.readability_score_min,
        syllables,
    );
    let sentiment = sentiment(
        &text,
        instructions.success_criteria.sentiment_target.as_deref(),
    );
    let brand = brand(&text, customer, sims);
    let compliance = compliance(&text, instructions, customer);
    let parts = [
        readability.score,
        sentiment.score,
        brand.score,
        compliance.score,
    ];
    let overall = parts
        .iter()
        .zip(WEIGHTS)
        .map(|(s, (_, w))| f64::from(*s) * f64::from(w))
        .sum::<f64>()
        / 100.0;
    QualityReport {
        overall: to_score(overall),
        readability,
        sentiment,
        brand,
        compliance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::instructions::{OutputLength, QualityThresholds, SuccessCriteria};

    fn instructions() -> AiInstructions {
        AiInstructions {
            brief: "Invite past clients to book a spring clean.".into(),
            output_type: "email".into(),
            output_format: "plain_text".into(),
            output_length: OutputLength {
                min_words: 30,
                max_words: 120,
            },
            must_include: vec!["business name".into(), "CTA".into(), "contact info".into()],
            must_not_include: vec!["competitor names".into(), "guaranteed results".into()],
            context_sources: vec![],
            success_criteria: SuccessCriteria {
                readability_score_min: Some(60.0),
                sentiment_target: Some("positive".into()),
                cta_present: true,
            },
            quality_thresholds: QualityThresholds::default(),
        }
    }

    fn syllables() -> Syllables {
        Syllables::load(&crate::ai::local::test_models_dir().join("cmudict/cmudict.dict"))
            .expect("CMU dictionary")
    }

    const COMPETITORS: [&str; 1] = ["Sparkle Bros"];

    fn customer<'a>(
        competitors: &'a [String],
        use_: &'a [String],
        avoid: &'a [String],
    ) -> BrandRules<'a> {
        BrandRules {
            name: "Bright Homes Cleaning",
            website: Some("https://brighthomes.example"),
            competitors,
            phrases_to_use: use_,
            phrases_to_avoid: avoid,
            other_businesses: &[],
            required_disclaimers: &[],
            forbidden_claims: &[],
        }
    }

    const GOOD: &str = "Hi Sam, spring is here and Bright Homes Cleaning would love to help you start the season fresh. \
        Our friendly team brings everything and leaves your home spotless. Book your spring clean this week and \
        enjoy a free window wash. Call us on 555-014-2200 or reply to this email. We look forward to seeing you!";

    #[test]
    fn a_good_draft_passes_every_check() {
        let competitors = COMPETITORS.map(String::from);
        let use_ = ["look forward".to_owned()];
        let c = customer(&competitors, &use_, &[]);
        let sims = Similarities {
            model: "m".into(),
            voice: Some(0.5),
            best_positive: Some(0.6),
            best_negative: Some(0.2),
        };
        let report = score(GOOD, &instructions(), &c, Some(&sims), &syllables());
        assert!(report.compliance.passed, "{:?}", report.compliance.failures);
        assert!(report.compliance.cta_found);
        assert_eq!(report.sentiment.label, "positive");
        assert_eq!(report.sentiment.score, 100);
        assert!(
            report.readability.flesch_reading_ease > 60.0,
            "{:?}",
            report.readability
        );
        assert_eq!(report.readability.score, 100);
        assert_eq!(report.brand.phrases_used, ["look forward"]);
        assert!(report.brand.score >= 90, "{:?}", report.brand);
        assert!(report.overall >= 90, "{report:?}");
        assert_eq!(
            report
                .parts()
                .iter()
                .map(|(_, _, w)| u32::from(*w))
                .sum::<u32>(),
            100
        );
    }

    #[test]
    fn each_compliance_failure_is_named() {
        let competitors = COMPETITORS.map(String::from);
        let c = customer(&competitors, &[], &[]);
        let draft =
            "We offer guaranteed results, unlike Sparkle Bros. Our cleaners are the best in town.";
        let report = compliance(draft, &instructions(), &c);
        let messages: Vec<&str> = report.failures.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "Required \"business name\" is missing",
                "Required \"CTA\" is missing",
                "Required \"contact info\" is missing",
                "Contains the forbidden phrase \"guaranteed results\"",
                "Names the competitor \"Sparkle Bros\"",
                "Too short: 14 words (minimum 30)",
            ]
        );
        assert!(!report.passed);
        assert_eq!(report.score, 0);
        let long = "Call Bright Homes Cleaning today at hello@brighthomes.example. ".repeat(30);
        let report = compliance(&long, &instructions(), &c);
        assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
        assert_eq!(report.failures[0].code, "too_long");
    }

    #[test]
    fn prompt_text_in_a_draft_is_a_named_failure_and_plain_copy_is_not() {
        let c = customer(&[], &[], &[]);
        let body = "Call Bright Homes Cleaning today at hello@brighthomes.example for a spotless spring. \
                    Our friendly team brings everything and leaves every room fresh. Book this week.";
        for leaked in [
            "# You are a senior copywriter producing marketing content.",
            "You are a helpful assistant.",
            "Business context:",
            "## Examples",
            "assistant: here is the email",
            "<|im_start|>",
            "Hi {{first_name}},",
        ] {
            let draft = format!("{leaked}\n{body}");
            let report = compliance(&draft, &instructions(), &c);
            let found: Vec<&str> = report
                .failures
                .iter()
                .filter(|f| f.code == "prompt_scaffolding")
                .map(|f| f.message.as_str())
                .collect();
            assert_eq!(found.len(), 1, "{leaked}: {:?}", report.failures);
            assert!(
                found[0].starts_with("Contains prompt text instead of content: \""),
                "{}",
                found[0]
            );
        }
        for fine in [
            "You are a valued member of our community, and we want to thank you.",
            "You are invited to our spring open day.",
            "Our brief: keep your home spotless.",
            "Examples of our work are on the website.",
        ] {
            let draft = format!("{fine}\n{body}");
            let report = compliance(&draft, &instructions(), &c);
            assert!(
                report
                    .failures
                    .iter()
                    .all(|f| f.code != "prompt_scaffolding"),
                "{fine}: {:?}",
                report.failures
            );
        }
    }

    #[test]
    fn another_customers_name_is_a_named_failure() {
        let others = ["Riverside Cycles".to_owned(), "Comfort Air".to_owned()];
        let c = BrandRules {
            other_businesses: &others,
            ..customer(&[], &[], &[])
        };
        let draft = "Call Bright Homes Cleaning today at hello@brighthomes.example for a spotless spring, \
                     just like Riverside Cycles did. Our friendly team brings everything and leaves every room fresh.";
        let report = compliance(draft, &instructions(), &c);
        let named: Vec<&str> = report
            .failures
            .iter()
            .filter(|f| f.code == "other_business")
            .map(|f| f.message.as_str())
            .collect();
        assert_eq!(named, ["Names another business: \"Riverside Cycles\""]);
    }

    #[test]
    fn the_customers_disclaimers_and_forbidden_claims_are_checked() {
        let disclaimers = ["Terms apply. Offer ends 31 May.".to_owned()];
        let claims = ["guaranteed results".to_owned()];
        let c = BrandRules {
            required_disclaimers: &disclaimers,
            forbidden_claims: &claims,
            ..customer(&[], &[], &[])
        };
        let codes = |draft: &str| -> Vec<String> {
            compliance(draft, &instructions(), &c)
                .failures
                .into_iter()
                .map(|f| f.code)
                .filter(|code| code == "missing_disclaimer" || code == "forbidden_claim")
                .collect()
        };
        assert_eq!(
            codes(&format!("{GOOD} Guaranteed results, every time.")),
            ["missing_disclaimer", "forbidden_claim"]
        );
        // The disclaimer may wrap across lines and change case; it is still there.
        assert!(codes(&format!("{GOOD}\nterms apply.\n  Offer ends 31 May.")).is_empty());
    }

    #[test]
    fn calls_to_action_are_recognised_and_mere_mentions_are_not() {
        for yes in [
            "Book your table now.",
            "Thanks for your time. Could we book thirty minutes next week?",
            "Questions? Just reply to this email.",
            "Visit brighthomes.example to see the offer.",
            "To get started, call us today.",
        ] {
            assert!(has_cta(yes), "{yes}");
        }
        for no in [
            "We had a good call last week.",
            "The booking system was updated.",
            "Our team visited the site.",
        ] {
            assert!(!has_cta(no), "{no}");
        }
    }

    #[test]
    fn sentiment_is_scored_against_the_target() {
        assert_eq!(
            sentiment(
                "We love working with you and are thrilled!",
                Some("positive")
            )
            .score,
            100
        );
        let bad = sentiment(
            "This is a terrible, awful disappointment.",
            Some("positive"),
        );
        assert_eq!((bad.label.as_str(), bad.score), ("negative", 0));
        assert_eq!(
            sentiment("The invoice is attached.", Some("positive")).score,
            50
        );
        assert_eq!(sentiment("The invoice is attached.", None).score, 100);
    }

    #[test]
    fn brand_alignment_weighs_voice_examples_and_phrases() {
        let avoid = ["cheap".to_owned()];
        let use_ = ["spotless".to_owned(), "hand-picked".to_owned()];
        let c = customer(&[], &use_, &avoid);
        let close = Similarities {
            model: "m".into(),
            voice: Some(0.55),
            best_positive: Some(0.55),
            best_negative: None,
        };
        let far = Similarities {
            model: "m".into(),
            voice: Some(0.05),
            best_positive: Some(0.1),
            best_negative: Some(0.4),
        };
        let on = brand("A spotless home, hand-picked cleaners.", &c, Some(&close));
        let off = brand("A cheap clean.", &c, Some(&far));
        assert_eq!(on.score, 100, "{on:?}");
        assert_eq!(off.phrases_to_avoid_found, ["cheap"]);
        assert_eq!(off.phrases_not_used, ["spotless", "hand-picked"]);
        assert_eq!(off.score, 0, "{off:?}");
        // Without embeddings, the phrases alone decide, and the report says no model was used.
        let phrases_only = brand("A spotless home.", &c, None);
        assert_eq!(
            (phrases_only.score, phrases_only.embedding_model.clone()),
            (50, None)
        );
    }

    #[test]
    fn html_drafts_are_scored_on_their_visible_text() {
        let html = "<p>Hi Sam,</p><p>Book your <strong>spring&nbsp;clean</strong> today.</p>";
        assert_eq!(
            visible_text(html, "html")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            "Hi Sam, Book your spring clean today."
        );
        assert_eq!(visible_text(html, "markdown"), html);
    }

    #[test]
    fn phrases_match_whole_words_only() {
        assert!(contains_phrase(
            "Call Bright Homes Cleaning!",
            "bright homes cleaning"
        ));
        assert!(!contains_phrase("The catalogue", "cat"));
        assert!(!contains_phrase("anything", ""));
    }
}
