//! Compliance: what the instructions require and forbid, competitors and other customers
//! named, the customer's required disclaimers and forbidden claims, prompt text that leaked into the draft, length and the call to action. Each failure
//! is named, so a retry's guidance can say what to fix.
use super::{contains_phrase, readability, regex, to_score, BrandRules};
use crate::pipeline::{
    instructions::AiInstructions,
    report::{ComplianceFailure, CompliancePart},
};
use regex::Regex;
use std::sync::LazyLock;

static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)\b[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}\b"));
static PHONE: LazyLock<Regex> = LazyLock::new(|| regex(r"(?:\+|\b)\d[\d ().-]{6,}\d\b"));
/// Prompt text that leaked into a draft: the system prompt's opening, the drafting prompt's
/// section labels or headings, role labels, chat-template tokens, unfilled placeholders.
static SCAFFOLDING: LazyLock<Regex> = LazyLock::new(|| {
    regex(concat!(
        r"(?im)^[ \t]*#*[ \t]*you are an? (?:senior |expert |professional |helpful )?(?:copywriter|assistant|ai\b|writer|marketer|language model)",
        r"|^[ \t]*(?:brief|business context|requirements|template to follow|examples|guidance)[ \t]*:[ \t]*$",
        r"|^[ \t]*#{1,6}[ \t]*(?:instructions|brief|business context|requirements|template|examples|system)\b",
        r"|^[ \t]*(?:system|assistant)[ \t]*:",
        r"|<\|[a-z_]+\|>",
        r"|\{\{[ \t]*[a-z_][a-z0-9_]*[ \t]*\}\}",
    ))
});
static URL: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?i)\b(?:https?://|www\.)\S+|\b[a-z0-9-]+\.(?:com|org|net|io|co|biz|info|shop|store)\b")
});
/// A sentence that asks the reader to act: an imperative opening, a request, or a link or
/// number to act on.
static CTA: LazyLock<Regex> = LazyLock::new(|| {
    regex(concat!(
        r"(?im)(?:^|[.!?]\s+|\n)\s*(?:please\s+|so\s+|just\s+)?",
        r"(?:call|book|schedule|reply|contact|visit|sign\s+up|register|order|buy|shop|reserve|request|",
        r"get\s+started|learn\s+more|join|claim|download|try|subscribe|email|text|click|start|apply|",
        r"grab|save|discover|explore|message|drop\s+by|stop\s+by|come\s+in|let\s+us\s+know|get\s+in\s+touch|reach\s+out)\b",
        r"|\b(?:could|can|shall)\s+we\s+(?:book|schedule|set\s+up|find|meet|talk|chat|hop)\b",
        r"|\bwould\s+you\s+like\s+to\b|\b(?:call|contact|email|text|visit)\s+us\b|\bclick\s+here\b|\b(?:book|order|shop|call)\s+(?:now|today)\b",
    ))
});

/// The draft as the reader sees it: HTML tags removed, entities for spaces and ampersands read.

pub fn has_cta(text: &str) -> bool {
    CTA.is_match(text)
}

fn has_contact_info(text: &str, customer: &BrandRules) -> bool {
    EMAIL.is_match(text) || PHONE.is_match(text) || has_website(text, customer)
}

fn has_website(text: &str, customer: &BrandRules) -> bool {
    let domain = customer
        .website
        .map(|w| {
            w.trim()
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_start_matches("www.")
        })
        .map(|w| w.trim_end_matches('/'))
        .filter(|w| !w.is_empty());
    URL.is_match(text) || domain.is_some_and(|d| text.to_lowercase().contains(&d.to_lowercase()))
}

/// Lower case with every run of white space one space, so a disclaimer matches across lines.
fn flatten(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

pub fn compliance(
    text: &str,
    instructions: &AiInstructions,
    customer: &BrandRules,
) -> CompliancePart {
    let mut failures = Vec::new();
    let mut fail = |code: &str, message: String| {
        failures.push(ComplianceFailure {
            code: code.into(),
            message,
        })
    };
    let word_count = readability::word_count(text);
    let cta_found = has_cta(text);
    for item in &instructions.must_include {
        let present = match item.trim().to_lowercase().as_str() {
            "business name" => contains_phrase(text, customer.name),
            "cta" | "call to action" => cta_found,
            "contact info" | "contact information" => has_contact_info(text, customer),
            "website" => has_website(text, customer),
            _ => contains_phrase(text, item),
        };
        if !present {
            fail(
                "missing_required",
                format!("Required \"{}\" is missing", item.trim()),
            );
        }
    }
    for item in &instructions.must_not_include {
        if item.trim().eq_ignore_ascii_case("competitor names") {
            continue; // checked below, for every competitor on record
        }
        if contains_phrase(text, item) {
            fail(
                "forbidden_phrase",
                format!("Contains the forbidden phrase \"{}\"", item.trim()),
            );
        }
    }
    for competitor in customer.competitors {
        if contains_phrase(text, competitor) {
            fail(
                "competitor_named",
                format!("Names the competitor \"{}\"", competitor.trim()),
            );
        }
    }
    for other in customer.other_businesses {
        if !other.eq_ignore_ascii_case(customer.name) && contains_phrase(text, other) {
            fail(
                "other_business",
                format!("Names another business: \"{}\"", other.trim()),
            );
        }
    }
    let flat = flatten(text);
    for disclaimer in customer.required_disclaimers {
        let wanted = flatten(disclaimer);
        if !wanted.is_empty() && !flat.contains(&wanted) {
            fail(
                "missing_disclaimer",
                format!(
                    "The required disclaimer is missing: \"{}\"",
                    disclaimer.trim()
                ),
            );
        }
    }
    for claim in customer.forbidden_claims {
        if contains_phrase(text, claim) {
            fail(
                "forbidden_claim",
                format!("Makes a claim the customer forbids: \"{}\"", claim.trim()),
            );
        }
    }
    if let Some(found) = SCAFFOLDING.find(text) {
        let quoted: String = found.as_str().trim().chars().take(40).collect();
        fail(
            "prompt_scaffolding",
            format!("Contains prompt text instead of content: \"{quoted}\""),
        );
    }
    let length = instructions.output_length;
    if word_count < length.min_words as usize {
        fail(
            "too_short",
            format!(
                "Too short: {word_count} words (minimum {})",
                length.min_words
            ),
        );
    } else if word_count > length.max_words as usize {
        fail(
            "too_long",
            format!(
                "Too long: {word_count} words (maximum {})",
                length.max_words
            ),
        );
    }
    // Said once, even when "CTA" is also a required item.
    let cta_listed = instructions
        .must_include
        .iter()
        .any(|i| matches!(i.trim().to_lowercase().as_str(), "cta" | "call to action"));
    if instructions.success_criteria.cta_present && !cta_found && !cta_listed {
        fail("no_cta", "No call to action".into());
    }
    let score = to_score(100.0 - 25.0 * failures.len() as f64);
    CompliancePart {
        score,
        passed: failures.is_empty(),
        failures,
        word_count,
        cta_found,
    }
}
