//! Scores for a draft: readability, sentiment, brand alignment and compliance, each 0-100,
//! and one overall score with the parts shown. Pure functions; the worker supplies the
//! embeddings brand alignment needs.
pub mod readability;
