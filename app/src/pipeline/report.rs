//! What the quality scorers found in a draft, stored with the deliverable and shown on the task
//! page. Every part is 0-100; the overall score weighs them (`WEIGHTS`).
use serde::{Deserialize, Serialize};

/// (part, weight in percent) of the overall score.
pub const WEIGHTS: [(&str, u8); 4] = [
    ("readability", 25),
    ("sentiment", 15),
    ("brand", 30),
    ("compliance", 30),
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityReport {
    pub overall: u8,
    pub readability: ReadabilityPart,
    pub sentiment: SentimentPart,
    pub brand: BrandPart,
    pub compliance: CompliancePart,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadabilityPart {
    pub score: u8,
    pub flesch_reading_ease: f64,
    pub flesch_kincaid_grade: f64,
    pub words: usize,
    pub sentences: usize,
    pub target_min: Option<f64>,
    /// Syllables were estimated from hyphenation patterns (no CMU dictionary installed).
    pub approximate: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentimentPart {
    pub score: u8,
    /// VADER's compound score, -1 to 1.
    pub compound: f64,
    /// positive (compound >= 0.05), negative (<= -0.05) or neutral.
    pub label: String,
    pub target: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrandPart {
    pub score: u8,
    /// Cosine similarity of the draft to the brand voice description.
    pub voice_similarity: Option<f32>,
    /// Highest cosine similarity to a positive example, and to a negative one.
    pub positive_example_similarity: Option<f32>,
    pub negative_example_similarity: Option<f32>,
    /// The model the similarities come from; none when no embeddings were available.
    pub embedding_model: Option<String>,
    pub phrases_used: Vec<String>,
    pub phrases_not_used: Vec<String>,
    pub phrases_to_avoid_found: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompliancePart {
    pub score: u8,
    pub passed: bool,
    pub failures: Vec<ComplianceFailure>,
    pub word_count: usize,
    pub cta_found: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplianceFailure {
    /// missing_required | forbidden_phrase | competitor_named | too_short | too_long | no_cta
    pub code: String,
    pub message: String,
}

impl QualityReport {
    /// The parts in display order with their scores and weights.
    pub fn parts(&self) -> [(&'static str, u8, u8); 4] {
        [
            ("Readability", self.readability.score, WEIGHTS[0].1),
            ("Sentiment", self.sentiment.score, WEIGHTS[1].1),
            ("Brand alignment", self.brand.score, WEIGHTS[2].1),
            ("Compliance", self.compliance.score, WEIGHTS[3].1),
        ]
    }
}
